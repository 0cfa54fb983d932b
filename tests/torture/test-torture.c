/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Torture test: many threads drive a small pool of loop managers with random
 * operations (submissions of all three result forms and both timer kinds,
 * alone and in bursts, waits with random timeouts, cancellation, stops in
 * every mode, restarts, registry lookups, queue bounds and submit timeouts
 * changed on the fly, managers dropped with work queued, work that submits
 * to and waits on other managers) for a fixed time or count. A ledger with
 * one entry per submission attempt is checked at the end.
 *
 * Pools (TetherPool, issue 18) take part beside the managers: two pool
 * slots of 1 to 3 threads share the managers' slot numbers, so the same
 * draws submit, post and submit_async to them (through TetherExecutor),
 * cancel their futures and cancellables, nest work into and out of them,
 * bound their queues (a full one refuses at once with BUSY), stop them in
 * DRAIN and CANCEL mode and with stop_async(), restart and replace them
 * (the replaced pool's last reference goes with its last queued item). Work
 * on a pool thread waits without limit on futures of its own pool, which
 * the pool must refuse with WOULD_DEADLOCK or see end. Pools have no timers,
 * stop_within() or registry entries, so those draws stay with managers.
 * Pools release a submission's data as managers do, on one of their
 * threads and never inside submit() or cancel(); TETHER_TORTURE_POOL_STRICT=0
 * counts a release elsewhere instead of failing (pools used to release the
 * data of work cancelled before it ran on the cancelling thread). Self-stops
 * are skipped on pools. --pool-known-bugs runs minimal checks of the four
 * pool bugs this test and fuzz-pool found, all fixed (see the end).
 *
 * Running it:
 *
 *   meson test -C _build torture-short        the CI run: 8 threads, 3 s
 *   ./_build/tests/torture/test-torture --seconds 3 --threads 8 [--seed N]
 *   ./_build/tests/torture/test-torture --submissions 10000000 --threads 8 --seed 42
 *
 * The last is the long run: the workers make 10^7 submissions (work makes
 * a few more), in about 90 s on a 2-core machine and 500 MB of ledger.
 * --quiet prints only the verdict; --watchdog S changes the stall limit
 * (30 s, 10 times that under valgrind).
 *
 * The random choices each thread makes derive from the seed and the thread's
 * index only, so a seed replays the same choices; the interleaving of the
 * threads, and so what each choice meets, is up to the scheduler and is not
 * reproducible. A failure may need a few runs of its seed to show again.
 *
 * The invariants (any break is a VIOLATION line naming the submission, and
 * the run fails):
 *
 * - Every attempt is answered once: accepted, or rejected with NOT_RUNNING,
 *   UNKNOWN_TASK_TYPE or BUSY, or (nested work waiting for room in a cycle)
 *   WOULD_DEADLOCK, and nothing else. A rejected submission never
 *   runs, and its data is released once, inside the submit call (an async
 *   one also says so in its callback).
 * - Every accepted submission ends exactly once, and none is lost: its data
 *   is released once, on a manager's thread, after its work returned; after
 *   every manager has stopped nothing is left in flight.
 * - Work runs at most once, on its manager's thread and context. The
 *   outcome is what the work did: succeeded with the very value it
 *   returned, failed with its error, ABANDONED when it dropped its handle,
 *   or cancelled. A cancellation needs a cause: a cancel call, a timer
 *   caught by a stop, or a stop that may cancel, begun before the
 *   submission and not yet returned. A pre-cancelled submission never runs.
 * - Waits agree with the future: TRUE only for success, TIMED_OUT only with
 *   a limit, WOULD_DEADLOCK only on a manager's thread, always for its own
 *   work, and, for a cycle of managers, naming the waiting manager and then
 *   the one it would wait on. Async and wait_async callbacks run on the
 *   thread that asked, never inside a submit call, and only once done.
 * - Managers: start() succeeds or finds the manager running, stop_within()
 *   works from other threads and fails with WOULD_DEADLOCK on the manager's
 *   own; registry lookups find the manager the main thread registered,
 *   FORCE_CREATE makes a stopped one, FORCE_CREATE | STRICT is invalid.
 * - No thread makes no progress for the watchdog's limit: a stall aborts
 *   with a dump of what each thread, and each manager's work, waits on.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tether.h>

#define N_SLOTS        4
#define N_POOL_SLOTS   2
#define N_ALL_SLOTS    (N_SLOTS + N_POOL_SLOTS)
#define N_REG_IDS      2
#define CHUNK_SIZE     16384
#define MAX_HELD       64
#define MAX_ASYNC      128
#define MAX_REPORTS    20
#define N_TASK_TYPES   3

/* ------------------------------------------------------------------ */
/* The ledger                                                          */

typedef enum
{
  KIND_FUTURE,
  KIND_AFTER,
  KIND_AT,
  KIND_ASYNC,
  KIND_POST,
  N_KINDS
} Kind;

static const char *kind_names[N_KINDS] = { "submit", "submit_after", "submit_at", "submit_async", "post" };

/* What the work function does when it runs. */
typedef enum
{
  B_TRIVIAL,
  B_SLEEP,
  B_FAIL,
  B_DEFER,        /* returns later, from a timeout on the manager's context */
  B_SPIN,         /* busy until cancelled or 30 us have passed */
  B_ABANDON,      /* drops its TetherWork without returning */
  B_NESTED_WAIT,  /* submits to a pool manager and waits with a short timeout */
  B_NESTED_CHAIN, /* submits to a pool manager and returns from wait_async() */
  B_NESTED_ASYNC, /* submit_async() to a pool manager, returns from the callback */
  B_NESTED_POST,  /* posts to a pool manager */
  B_SELF_STOP,    /* stops its own manager, in either mode */
  N_BEHAVIOURS
} Behaviour;

static const char *behaviour_names[N_BEHAVIOURS] = {
  "trivial", "sleep", "fail", "defer", "spin", "abandon",
  "nested-wait", "nested-chain", "nested-async", "nested-post", "self-stop",
};

typedef enum
{
  ACC_NONE,
  ACC_ACCEPTED,
  ACC_NOT_RUNNING,
  ACC_TASK_TYPE,
  ACC_BUSY,
  ACC_OTHER,
  N_ACCEPTS
} Accept;

static const char *accept_names[N_ACCEPTS] = {
  "unknown", "accepted", "not-running", "unknown-task-type", "busy", "other",
};

typedef enum
{
  OUT_NONE,
  OUT_SUCCEEDED,
  OUT_FAILED,
  OUT_ABANDONED,
  OUT_CANCELLED,
  OUT_REJECTED,   /* async only: the callback reported the rejection */
  N_OUTCOMES
} Outcome;

static const char *outcome_names[N_OUTCOMES] = {
  "none", "succeeded", "failed", "abandoned", "cancelled", "rejected",
};

/* What the work itself ended with, recorded just before it says so. */
typedef enum
{
  RET_NONE,
  RET_VALUE,
  RET_ERROR,
  RET_CANCELLED,
  RET_ABANDONED,
  N_RETURNS
} Returned;

static const char *returned_names[N_RETURNS] = { "nothing", "value", "error", "cancelled", "abandoned" };

enum
{
  F_USED                = 1 << 0,
  F_CHILD               = 1 << 1,  /* submitted by work, on a manager's thread */
  F_ATTEMPTED           = 1 << 2,  /* a child its parent got to submit */
  F_TIMER               = 1 << 3,
  F_CANCEL_REQUESTED    = 1 << 4,  /* set before the cancel call, so never seen late */
  F_PRECANCELLED        = 1 << 5,
  F_FORGOTTEN           = 1 << 6,  /* future dropped unobserved: outcome inferred */
  F_DESTROYED_IN_SUBMIT = 1 << 7,
  F_DESTROYED_ON_WORKER = 1 << 8,
};

typedef struct _ManagerRecord ManagerRecord;
typedef struct _Worker Worker;

/* One submission attempt. Children (submissions made by nested work) sit
 * right after their parent, so manager threads never allocate entries. */
typedef struct
{
  ManagerRecord *mgr;          /* atomic for children: set on the manager's thread */
  guint32        seq;
  guint16        worker;
  guint8         kind;
  guint8         behaviour;
  guint8         nest_slot;
  guint8         nest_wait;
  int            cancel_base;  /* the manager's cancel_finished before submitting */
  int            flags;        /* atomic */
  int            ran;          /* atomic */
  int            destroyed;    /* atomic */
  int            returned;     /* atomic */
  int            accept;       /* atomic */
  int            outcome;      /* atomic */
} Entry;

/* One manager object. Kept until the end, so entries can point at it after
 * the manager is gone. */
struct _ManagerRecord
{
  char         *id;
  int           slot;            /* -1 for registry managers */
  GMainContext *context;         /* identity only, never used after the manager dies */
  gboolean      blocking;        /* submit-timeout -1: never a target of nested work */
  int           task_type;       /* atomic: index of the type it was last started with */
  int           cancel_started;  /* atomic: CANCEL-capable stops begun ... */
  int           cancel_finished; /* atomic: ... and returned */
  const char   *work_state;      /* atomic: what work on it blocks in */
  ManagerRecord *work_target;    /* atomic */
  gboolean      is_pool;         /* a TetherPool: context is NULL, its threads' ids start with prefix */
  char         *prefix;          /* "<id>/" for a pool */
};

typedef struct
{
  guint64 waits;
  guint64 wait_timeouts;
  guint64 cancels;
  guint64 drops;
  guint64 forgets;
  guint64 stops[3];
  guint64 within_ran;
  guint64 within_cancelled;
  guint64 starts;
  guint64 starts_raced;
  guint64 replacements;
  guint64 lookups;
  guint64 lookups_not_found;
  guint64 lookups_invalid;
  guint64 configs;
  guint64 pool_stops[3];       /* DRAIN, CANCEL, stop_async() */
  guint64 pool_starts;
  guint64 pool_starts_raced;
  guint64 pool_replacements;
  guint64 pool_configs;
} Stats;

typedef struct
{
  Entry        *entry;
  TetherFuture *future;
  GCancellable *cancellable;
} Held;

struct _Worker
{
  guint         index;
  char         *name;
  GThread      *thread;
  GRand        *rand;
  GMainContext *context;
  GPtrArray    *chunks;
  guint         chunk_used;
  gsize         n_entries;     /* entries taken, children's included */
  gsize         n_submitted;   /* atomic (pointer-sized): submissions it made itself */
  gsize         quota;         /* of n_submitted; 0 for a timed run */
  GPtrArray    *held;          /* Held */
  GPtrArray    *asyncs;        /* AsyncCall with a cancellable to pick from */
  int           n_async;       /* callbacks still to come */
  int           n_wait_async;
  int           n_stop_async;  /* pool stop_async() callbacks still to come */
  gboolean      forced[N_REG_IDS];
  Stats         stats;

  /* For the watchdog. */
  int           progress;      /* atomic */
  int           finished;      /* atomic */
  const char   *state;         /* atomic */
  ManagerRecord *state_record; /* atomic */
  gint64        state_timeout; /* racy, for the dump only */
};

typedef struct
{
  GMutex             mutex;
  TetherLoopManager *manager;
  ManagerRecord     *record;
  int                generation;
} Slot;

typedef struct
{
  GMutex             mutex;
  TetherPool        *pool;
  ManagerRecord     *record;
  int                generation;
} PoolSlot;

typedef struct
{
  Entry        *entry;
  Worker       *worker;       /* NULL when submitted by work */
  GThread      *thread;       /* the submitter: the callback must run there */
  GCancellable *cancellable;
  TetherWork   *outer;        /* nested: the work to end from the callback */
  Entry        *outer_entry;
  GObject      *target;       /* nested: keeps the target off this thread's last unref */
} AsyncCall;

/* ------------------------------------------------------------------ */
/* The mix                                                             */

/* Every table of weights is out of 10000. The mix is tuned for throughput
 * as much as for coverage: the long run has to make 10^7 submissions on a
 * small machine, and what costs most is not the work but waiting:
 * submitters ping-ponging with a manager whose tiny queue is full (half the
 * throughput, measured), waits on far timers, manager threads held in
 * nested waits, thread start-ups after stops. So every kind of operation
 * and every slow variant stays, but the slow ones are rare and short. */

typedef enum
{
  OP_SUBMIT,
  OP_BURST,       /* several submissions in a row to one manager */
  OP_WAIT,
  OP_CANCEL,
  OP_DROP,
  OP_REGISTRY,
  OP_STOP,
  OP_REPLACE,
  OP_CONFIG,
  N_OPS
} Op;

/* A burst averages 9 submissions, so about 4 in 5 submissions come in
 * bursts. A stop comes every ~2800 submissions, a replacement every ~14000:
 * about 50 stops a second on 2 cores, each racing submissions, but few
 * enough that thread start-ups (a restart follows most stops) do not
 * dominate. */
static const guint op_weights[N_OPS] = { 6000, 2500, 800, 350, 250, 60, 10, 2, 28 };

#define MAX_BURST      16

/* Posts are the cheapest form and the one with no outcome channel. */
static const guint kind_weights[N_KINDS] = { 3000, 700, 600, 2200, 3500 };

/* Sleeps cost ~60 us whatever they ask for (timer slack); a self-stop
 * costs a thread start-up, usually raced by several workers. */
static const guint behaviour_weights[N_BEHAVIOURS] = {
  8511, 60, 300, 400, 60, 150, 200, 150, 150, 18, 1,
};

/* Timers: due, overdue or soon. A few milliseconds is enough for stops to
 * catch thousands of them pending in a long run. */
static const gint64 after_delays[] = { 0, 50, 500, 5000 };
static const gint64 at_offsets[] = { -1000, 0, 200, 2000 };
G_STATIC_ASSERT (G_N_ELEMENTS (after_delays) == G_N_ELEMENTS (at_offsets));

/* A worker's waits: mostly a peek or a short wait, rarely without limit. */
static const gint64 wait_choices[] = { 0, 50, 1000, 10000, -1 };
static const guint wait_weights[] = { 3500, 3000, 2500, 800, 200 };
G_STATIC_ASSERT (G_N_ELEMENTS (wait_weights) == G_N_ELEMENTS (wait_choices));

/* A nested wait holds a manager's thread, and so everyone submitting to
 * it: keep it short. */
static const gint64 nest_wait_choices[] = { 0, 50, 500 };

static const gint64 within_choices[] = { 0, 100, 1000, 5000, -1 };

/* Queue bounds and submit timeouts. A tiny bound with a timeout makes every
 * submitter wait on the manager's thread in turn, so tiny bounds are drawn
 * rarely; bursts are what fills them (and the BUSY count stays high). */
static const guint max_pending_choices[] = { 0, 0, 0, 0, 4, 64, 1024 };
static const guint config_max_pending[] = { 0, 0, 0, 0, 1, 8, 64, 4096 };
static const gint64 submit_timeout_choices[] = { 0, 0, 50, 500 };

/* ------------------------------------------------------------------ */
/* Global state                                                        */

static guint64  opt_seed;
static int      opt_threads = 8;
static double   opt_seconds = 3.0;
static gint64   opt_submissions;
static gboolean opt_quiet;
static int      opt_watchdog = 30;
static gboolean opt_known_bugs;

static const char *task_types[N_TASK_TYPES] = { NULL, "io", "cpu" };
static const char *reg_ids[N_REG_IDS] = { "torture-reg-0", "torture-reg-1" };

static Slot slots[N_SLOTS];
static PoolSlot pool_slots[N_POOL_SLOTS];
static Worker **workers;
static Worker main_worker;

static GMutex records_lock;
static GPtrArray *records;
static GQuark record_quark;

static GMutex graveyard_lock;
static GPtrArray *graveyard;  /* managers work let go of, for a worker to drop */

static GMutex orphans_lock;
static GPtrArray *orphans;    /* Held: futures work waited on, outcome unrecorded */

static TetherLoopManager *registered0;

static int inflight;          /* atomic: submitted, data not yet released */
static int max_inflight;      /* atomic */
static int violations;        /* atomic */
static int time_up;           /* atomic */

/* Counted on manager threads, where there is no per-thread Stats. */
static int nested_own_deadlock;   /* refused: the wait was on the manager's own thread */
static int nested_cycle_deadlock; /* refused: it would have closed a cycle of managers */
static int nested_timed_out;
static int nested_skipped;
static int self_stops;
static int nested_pool_deadlock;  /* refused: every other thread of the pool waits too */
static int nested_pool_forever;   /* waits without limit on the waiting thread's own pool */
static int pool_self_skipped;     /* self-stops drawn for pool work: see pool_self_stop_async_bug() */
static int pool_data_on_worker;   /* pool data released on a submitting thread (cancelled unrun) */
static int pool_data_in_submit;   /* accepted pool submission released inside submit (pre-cancelled) */
static int pool_data_early;       /* pool data released when the function returned, work kept */
static gboolean opt_pool_strict;  /* TETHER_TORTURE_POOL_STRICT=1: the above are violations */

static GMutex watchdog_lock;
static GCond watchdog_cond;
static gboolean watchdog_quit;

static __thread Worker *tls_worker;
static __thread Entry *tls_submitting;

static GQuark
torture_error_quark (void)
{
  return g_quark_from_static_string ("torture-error-quark");
}

static void
violation (const char *format,
           ...) G_GNUC_PRINTF (1, 2);

static void
violation (const char *format,
           ...)
{
  va_list args;

  if (g_atomic_int_add (&violations, 1) >= MAX_REPORTS)
    return;

  va_start (args, format);
  fprintf (stderr, "torture: VIOLATION (seed %" G_GUINT64_FORMAT "): ", opt_seed);
  vfprintf (stderr, format, args);
  fputc ('\n', stderr);
  fflush (stderr);
  va_end (args);
}

static int
entry_tag (Entry *e)
{
  return (int) ((GPOINTER_TO_SIZE (e) >> 4) & G_MAXINT);
}

static char *
describe (Entry *e)
{
  ManagerRecord *rec = g_atomic_pointer_get (&e->mgr);
  int flags = g_atomic_int_get (&e->flags);

  return g_strdup_printf ("submission w%u#%u (%s%s, %s, manager '%s'%s%s%s%s; ran %d, "
                          "data released %d, %s, outcome %s, work returned %s)",
                          e->worker, e->seq,
                          (flags & F_CHILD) ? "nested " : "",
                          kind_names[e->kind], behaviour_names[e->behaviour],
                          rec != NULL ? rec->id : "?",
                          (flags & F_TIMER) ? ", timer" : "",
                          (flags & F_CANCEL_REQUESTED) ? ", cancel requested" : "",
                          (flags & F_PRECANCELLED) ? ", pre-cancelled" : "",
                          (flags & F_FORGOTTEN) ? ", future dropped" : "",
                          g_atomic_int_get (&e->ran), g_atomic_int_get (&e->destroyed),
                          accept_names[g_atomic_int_get (&e->accept)],
                          outcome_names[g_atomic_int_get (&e->outcome)],
                          returned_names[g_atomic_int_get (&e->returned)]);
}

static void
entry_violation (Entry      *e,
                 const char *what)
{
  g_autofree char *text = describe (e);

  violation ("%s: %s", text, what);
}

static void
set_state (Worker        *w,
           const char    *what,
           ManagerRecord *rec,
           gint64         timeout)
{
  w->state_timeout = timeout;
  g_atomic_pointer_set (&w->state_record, rec);
  g_atomic_pointer_set (&w->state, what);
}

static void
set_work_state (ManagerRecord *rec,
                const char    *what,
                ManagerRecord *target)
{
  g_atomic_pointer_set (&rec->work_target, target);
  g_atomic_pointer_set (&rec->work_state, what);
}

static void
inflight_inc (void)
{
  int now = g_atomic_int_add (&inflight, 1) + 1;
  int max = g_atomic_int_get (&max_inflight);

  while (now > max && !g_atomic_int_compare_and_exchange_full (&max_inflight, max, now, &max))
    ;
}

static guint
pick (GRand       *rand,
      const guint *weights,
      guint        n)
{
  int draw = g_rand_int_range (rand, 0, 10000);

  for (guint i = 0; i < n; i++)
    {
      draw -= weights[i];
      if (draw < 0)
        return i;
    }
  return 0;
}

static Entry *
entry_alloc (Worker *w,
             guint   n)
{
  Entry *chunk;
  Entry *e;

  if (w->chunks->len == 0 || w->chunk_used + n > CHUNK_SIZE)
    {
      g_ptr_array_add (w->chunks, g_new0 (Entry, CHUNK_SIZE));
      w->chunk_used = 0;
    }
  chunk = g_ptr_array_index (w->chunks, w->chunks->len - 1);
  e = &chunk[w->chunk_used];
  w->chunk_used += n;
  for (guint i = 0; i < n; i++)
    {
      e[i].flags = F_USED;
      e[i].worker = w->index;
      e[i].seq = (guint32) (w->n_entries + i);
    }
  w->n_entries += n;
  return e;
}

/* ------------------------------------------------------------------ */
/* Managers                                                            */

static ManagerRecord *
record_new (const char        *id,
            int                slot,
            TetherLoopManager *manager)
{
  ManagerRecord *rec = g_new0 (ManagerRecord, 1);

  rec->id = g_strdup (id);
  rec->slot = slot;
  rec->context = tether_loop_manager_get_context (manager);

  g_mutex_lock (&records_lock);
  g_ptr_array_add (records, rec);
  g_mutex_unlock (&records_lock);

  return rec;
}

/* Registry managers are made inside get_or_create(): their record is found
 * or made on first sight. */
static ManagerRecord *
record_for_registered (TetherLoopManager *manager)
{
  ManagerRecord *rec;

  g_mutex_lock (&records_lock);
  rec = g_object_get_qdata (G_OBJECT (manager), record_quark);
  g_mutex_unlock (&records_lock);
  if (rec != NULL)
    return rec;

  rec = record_new (tether_loop_manager_get_id (manager), -1, manager);
  g_mutex_lock (&records_lock);
  if (g_object_get_qdata (G_OBJECT (manager), record_quark) == NULL)
    g_object_set_qdata (G_OBJECT (manager), record_quark, rec);
  else
    rec = g_object_get_qdata (G_OBJECT (manager), record_quark);  /* the spare stays in records */
  g_mutex_unlock (&records_lock);

  return rec;
}

static TetherLoopManager *
slot_acquire (guint           index,
              ManagerRecord **record)
{
  Slot *slot = &slots[index];
  TetherLoopManager *ret;

  g_mutex_lock (&slot->mutex);
  ret = slot->manager != NULL ? g_object_ref (slot->manager) : NULL;
  *record = slot->record;
  g_mutex_unlock (&slot->mutex);

  return ret;
}

/* Work must not drop what may be the last reference to another manager:
 * that joins it from this thread, and the other may have work waiting
 * (through wait_async, which no cycle check sees) on work queued here. A
 * worker drops it instead. Its own manager it drops itself, which is the
 * last-unref-on-the-manager's-thread path. */
static gboolean on_pool_thread (ManagerRecord *rec);

static void
release_on_manager_thread (gpointer       object,
                           ManagerRecord *rec)
{
  if (rec->is_pool ? on_pool_thread (rec) : rec->context == g_main_context_get_thread_default ())
    {
      g_object_unref (object);
      return;
    }

  g_mutex_lock (&graveyard_lock);
  g_ptr_array_add (graveyard, object);
  g_mutex_unlock (&graveyard_lock);
}

static void
graveyard_drain (Worker *w)
{
  GPtrArray *dead;

  g_mutex_lock (&graveyard_lock);
  if (graveyard->len == 0)
    {
      g_mutex_unlock (&graveyard_lock);
      return;
    }
  dead = graveyard;
  graveyard = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_unlock (&graveyard_lock);

  set_state (w, "dropping managers that work let go of", NULL, 0);
  g_ptr_array_unref (dead);
  set_state (w, "running", NULL, 0);
}

static void
manager_start (Worker            *w,
               TetherLoopManager *manager,
               ManagerRecord     *rec,
               guint              type)
{
  g_autoptr(GError) error = NULL;

  set_state (w, "starting manager", rec, 0);
  if (tether_loop_manager_start (manager, task_types[type], &error))
    {
      g_atomic_int_set (&rec->task_type, type);
      w->stats.starts++;
    }
  else if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING))
    w->stats.starts_raced++;
  else
    violation ("starting manager '%s' failed: %s", rec->id, error->message);
  set_state (w, "running", NULL, 0);
}

/* Modes: 0 DRAIN, 1 CANCEL, 2 stop_within(). Any stop that may cancel is
 * bracketed by cancel_started/cancel_finished, which is what lets the
 * ledger tell "CANCEL cancelled it" from "cancelled for no reason". */
static void
manager_stop (Worker            *w,
              TetherLoopManager *manager,
              ManagerRecord     *rec,
              guint              mode,
              gint64             within)
{
  gboolean may_cancel = mode == 1 || (mode == 2 && within >= 0);
  g_autoptr(GError) error = NULL;
  guint n_ran = 0, n_cancelled = 0;

  if (may_cancel)
    g_atomic_int_inc (&rec->cancel_started);

  switch (mode)
    {
    case 0:
      set_state (w, "stopping (DRAIN) manager", rec, -1);
      tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
      break;

    case 1:
      set_state (w, "stopping (CANCEL) manager", rec, -1);
      tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);
      break;

    default:
      set_state (w, "stopping within a deadline manager", rec, within);
      if (!tether_loop_manager_stop_within (manager, within, &n_ran, &n_cancelled, &error))
        violation ("stop_within() on manager '%s' from a worker failed: %s", rec->id, error->message);
      w->stats.within_ran += n_ran;
      w->stats.within_cancelled += n_cancelled;
      break;
    }

  if (may_cancel)
    g_atomic_int_inc (&rec->cancel_finished);
  w->stats.stops[mode]++;
  set_state (w, "running", NULL, 0);
}

/* Makes a new manager for a slot and drops the one it replaces, which may
 * still have work queued: its last unref stops it in DRAIN mode. */
static void
slot_replace (Worker *w,
              guint   index,
              guint   max_pending_draw,
              guint   timeout_draw,
              guint   type)
{
  Slot *slot = &slots[index];
  g_autofree char *id = NULL;
  TetherLoopManager *manager;
  TetherLoopManager *old;
  ManagerRecord *rec;

  id = g_strdup_printf ("p%u.%d", index, g_atomic_int_add (&slot->generation, 1));
  manager = tether_loop_manager_new (id);
  rec = record_new (id, (int) index, manager);
  rec->blocking = timeout_draw % 8 == 0;
  tether_loop_manager_set_max_pending (manager, max_pending_choices[max_pending_draw % G_N_ELEMENTS (max_pending_choices)]);
  tether_loop_manager_set_submit_timeout (manager,
                                          rec->blocking ? -1
                                          : submit_timeout_choices[timeout_draw % G_N_ELEMENTS (submit_timeout_choices)]);
  manager_start (w, manager, rec, type);

  g_mutex_lock (&slot->mutex);
  old = slot->manager;
  slot->manager = manager;
  slot->record = rec;
  g_mutex_unlock (&slot->mutex);

  if (old != NULL)
    {
      set_state (w, "dropping a replaced manager", NULL, 0);
      g_object_unref (old);
      set_state (w, "running", NULL, 0);
    }
}


/* ------------------------------------------------------------------ */
/* Pools                                                               */

/* Pools sit in slots N_SLOTS.. of the same index space as the managers, so
 * that one draw picks a manager or a pool, and the submissions, cancels,
 * waits and nested work that both support go through TetherExecutor. What
 * only one has (timers, stop_within(), submit timeouts, the registry;
 * stop_async()) stays apart. */

static ManagerRecord *
pool_record_new (const char *id,
                 int         slot)
{
  ManagerRecord *rec = g_new0 (ManagerRecord, 1);

  rec->id = g_strdup (id);
  rec->slot = slot;
  rec->is_pool = TRUE;
  rec->prefix = g_strdup_printf ("%s/", id);

  g_mutex_lock (&records_lock);
  g_ptr_array_add (records, rec);
  g_mutex_unlock (&records_lock);

  return rec;
}

/* Whether this thread is one of @rec's pool's threads (whose managers are
 * named "<pool id>/<n>"). A manager being disposed has no current manager:
 * then it cannot tell, and says yes. */
static gboolean
on_pool_thread (ManagerRecord *rec)
{
  g_autoptr(TetherLoopManager) current = NULL;

  if (tls_worker != NULL)
    return FALSE;
  current = tether_loop_manager_ref_current ();
  if (current == NULL)
    return g_main_context_get_thread_default () != NULL;
  return g_str_has_prefix (tether_loop_manager_get_id (current), rec->prefix);
}

/* A manager slot below N_SLOTS, a pool slot from there: a reference to what
 * it holds, as a TetherExecutor. */
static TetherExecutor *
exec_acquire (guint           index,
              ManagerRecord **record)
{
  PoolSlot *slot;
  TetherPool *ret;

  if (index < N_SLOTS)
    return (TetherExecutor *) slot_acquire (index, record);

  slot = &pool_slots[index - N_SLOTS];
  g_mutex_lock (&slot->mutex);
  ret = slot->pool != NULL ? g_object_ref (slot->pool) : NULL;
  *record = slot->record;
  g_mutex_unlock (&slot->mutex);

  return (TetherExecutor *) ret;
}

static void
pool_start (Worker        *w,
            TetherPool    *pool,
            ManagerRecord *rec,
            guint          type)
{
  g_autoptr(GError) error = NULL;

  set_state (w, "starting pool", rec, 0);
  if (tether_pool_start (pool, task_types[type], &error))
    {
      g_atomic_int_set (&rec->task_type, type);
      w->stats.pool_starts++;
    }
  else if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING))
    w->stats.pool_starts_raced++;
  else
    violation ("starting pool '%s' failed: %s", rec->id, error->message);
  set_state (w, "running", NULL, 0);
}

/* Starts a manager or a pool. */
static void
exec_start (Worker         *w,
            TetherExecutor *executor,
            ManagerRecord  *rec,
            guint           type)
{
  if (rec->is_pool)
    pool_start (w, TETHER_POOL (executor), rec, type);
  else
    manager_start (w, TETHER_LOOP_MANAGER (executor), rec, type);
}

typedef struct
{
  Worker        *worker;
  ManagerRecord *record;
  gboolean       may_cancel;
} PoolStop;

static void
pool_stop_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PoolStop *stop = user_data;
  g_autoptr(GError) error = NULL;

  if (tls_worker != stop->worker)
    violation ("stop_async() on pool '%s' called back on another thread", stop->record->id);
  if (!tether_pool_stop_finish (TETHER_POOL (source), result, &error))
    violation ("stop_async() on pool '%s' failed: %s", stop->record->id, error->message);
  if (stop->may_cancel)
    g_atomic_int_inc (&stop->record->cancel_finished);
  stop->worker->n_stop_async--;
  g_free (stop);
}

/* Modes: 0 DRAIN, 1 CANCEL, 2 stop_async() in either mode (its callback
 * comes in this worker's context). A CANCEL is bracketed by cancel_started
 * and cancel_finished, as for managers. */
static void
pool_stop (Worker        *w,
           TetherPool    *pool,
           ManagerRecord *rec,
           guint          mode,
           gboolean       async_cancel)
{
  gboolean may_cancel = mode == 1 || (mode == 2 && async_cancel);

  if (may_cancel)
    g_atomic_int_inc (&rec->cancel_started);

  switch (mode)
    {
    case 0:
      set_state (w, "stopping (DRAIN) pool", rec, -1);
      tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
      break;

    case 1:
      set_state (w, "stopping (CANCEL) pool", rec, -1);
      tether_pool_stop (pool, TETHER_STOP_MODE_CANCEL);
      break;

    default:
      {
        PoolStop *stop = g_new0 (PoolStop, 1);

        stop->worker = w;
        stop->record = rec;
        stop->may_cancel = may_cancel;
        w->n_stop_async++;
        set_state (w, "starting stop_async() of pool", rec, 0);
        tether_pool_stop_async (pool, async_cancel ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN,
                                NULL, pool_stop_cb, stop);
        /* Refused from now on, until someone starts it again: a start
         * before the stop ran would be refused, as the stop is under way. */
        may_cancel = FALSE;   /* cancel_finished comes from the callback */
      }
      break;
    }

  if (may_cancel)
    g_atomic_int_inc (&rec->cancel_finished);
  w->stats.pool_stops[mode]++;
  set_state (w, "running", NULL, 0);
}

static const guint pool_sizes[] = { 2, 2, 2, 1, 3 };

/* Makes a new pool for a pool slot and drops the one it replaces, which may
 * still have work queued: its queued items hold it, and the last of them to
 * end (on one of its own threads, or a future dropped anywhere) is its last
 * unref. */
static void
pool_slot_replace (Worker *w,
                   guint   index,
                   guint   size_draw,
                   guint   max_pending_draw,
                   guint   type)
{
  PoolSlot *slot = &pool_slots[index];
  g_autofree char *id = NULL;
  TetherPool *pool;
  TetherPool *old;
  ManagerRecord *rec;

  id = g_strdup_printf ("q%u.%d", index, g_atomic_int_add (&slot->generation, 1));
  pool = tether_pool_new (id, pool_sizes[size_draw % G_N_ELEMENTS (pool_sizes)]);
  rec = pool_record_new (id, (int) (N_SLOTS + index));
  tether_pool_set_max_pending (pool, max_pending_choices[max_pending_draw % G_N_ELEMENTS (max_pending_choices)]);
  pool_start (w, pool, rec, type);

  g_mutex_lock (&slot->mutex);
  old = slot->pool;
  slot->pool = pool;
  slot->record = rec;
  g_mutex_unlock (&slot->mutex);

  if (old != NULL)
    {
      set_state (w, "dropping a replaced pool", NULL, 0);
      g_object_unref (old);
      set_state (w, "running", NULL, 0);
    }
}

/* ------------------------------------------------------------------ */
/* Outcomes                                                            */

static void
set_returned (Entry    *e,
              Returned  how)
{
  if (!g_atomic_int_compare_and_exchange (&e->returned, RET_NONE, how))
    entry_violation (e, "the work returned twice (a bug in the torture test)");
}

static void
record_outcome (Entry      *e,
                Outcome     outcome,
                const char *via)
{
  if (!g_atomic_int_compare_and_exchange (&e->outcome, OUT_NONE, outcome))
    {
      g_autofree char *what = g_strdup_printf ("a second completion (%s, via %s)",
                                               outcome_names[outcome], via);
      entry_violation (e, what);
    }
}

static void
set_accept (Entry  *e,
            Accept  accept)
{
  if (!g_atomic_int_compare_and_exchange (&e->accept, ACC_NONE, accept))
    entry_violation (e, "acceptance reported twice");
}

static Accept
classify_rejection (Entry        *e,
                    const GError *error)
{
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING))
    return ACC_NOT_RUNNING;
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE))
    return ACC_TASK_TYPE;
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_BUSY))
    return ACC_BUSY;
  /* Nested work waiting for room in a queue that only a thread waiting,
   * directly or not, for the submitting manager can empty. */
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK) &&
      (g_atomic_int_get (&e->flags) & F_CHILD))
    return ACC_BUSY;

  {
    g_autofree char *what = g_strdup_printf ("rejected with an unexpected error: %s", error->message);
    entry_violation (e, what);
  }
  return ACC_OTHER;
}

static gboolean
is_rejection (const GError *error)
{
  return g_error_matches (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING) ||
         g_error_matches (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE) ||
         g_error_matches (error, TETHER_ERROR, TETHER_ERROR_BUSY) ||
         g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
}

/* Maps an error an accepted submission ended with. */
static Outcome
outcome_of_error (Entry        *e,
                  const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return OUT_CANCELLED;
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ABANDONED))
    return OUT_ABANDONED;
  if (error->domain == torture_error_quark ())
    return OUT_FAILED;

  {
    g_autofree char *what = g_strdup_printf ("ended with an unexpected error: %s", error->message);
    entry_violation (e, what);
  }
  return OUT_FAILED;
}

static void
check_value (Entry        *e,
             const GValue *value)
{
  if (!G_IS_VALUE (value) || !G_VALUE_HOLDS_INT (value) || g_value_get_int (value) != entry_tag (e))
    entry_violation (e, "succeeded with a value that is not the one its work returned");
}

static void
record_future_outcome (Entry        *e,
                       TetherFuture *future,
                       const char   *via)
{
  g_autoptr(GError) error = NULL;

  switch (tether_future_get_status (future))
    {
    case TETHER_FUTURE_STATUS_SUCCEEDED:
      check_value (e, tether_future_get_value (future));
      record_outcome (e, OUT_SUCCEEDED, via);
      break;

    case TETHER_FUTURE_STATUS_FAILED:
      error = tether_future_dup_error (future);
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        entry_violation (e, "status FAILED with a G_IO_ERROR_CANCELLED error");
      record_outcome (e, outcome_of_error (e, error), via);
      break;

    case TETHER_FUTURE_STATUS_CANCELLED:
      error = tether_future_dup_error (future);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        entry_violation (e, "status CANCELLED without a G_IO_ERROR_CANCELLED error");
      record_outcome (e, OUT_CANCELLED, via);
      break;

    case TETHER_FUTURE_STATUS_PENDING:
    default:
      entry_violation (e, "outcome recorded from a pending future (a bug in the torture test)");
      break;
    }
}

/* Checks what tether_future_wait() said against the future's state. */
static void
check_wait (Entry        *e,
            TetherFuture *future,
            gboolean      ok,
            const GError *error,
            gint64        timeout,
            gboolean      on_own_manager)
{
  TetherFutureStatus status = tether_future_get_status (future);

  if (ok)
    {
      if (status != TETHER_FUTURE_STATUS_SUCCEEDED)
        entry_violation (e, "tether_future_wait() returned TRUE for a future that did not succeed");
    }
  else if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
    {
      if (timeout < 0)
        entry_violation (e, "a wait without a time limit timed out");
      else if (on_own_manager && timeout != 0)
        entry_violation (e, "a wait on the manager's own thread timed out instead of failing "
                            "with WOULD_DEADLOCK");
    }
  else if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
    {
      if (tls_worker != NULL)
        entry_violation (e, "a wait on a thread that is no manager's failed with WOULD_DEADLOCK");
    }
  else if (tls_worker == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
           strstr (error->message, "The wait was ended because manager") != NULL)
    {
      /* A CANCEL stop of the waiting manager ended the wait, so that its
       * work can return; the future waited for goes on, in any state. */
    }
  else if (status == TETHER_FUTURE_STATUS_PENDING)
    {
      g_autofree char *what = g_strdup_printf ("tether_future_wait() failed with '%s' while the "
                                               "future is pending", error->message);
      entry_violation (e, what);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) !=
           (status == TETHER_FUTURE_STATUS_CANCELLED))
    entry_violation (e, "tether_future_wait()'s error disagrees with the future's status");
}

/* A nested wait refused as a deadlock: either it was on the manager's own
 * thread, or it would have closed a cycle of managers whose work waits on
 * each other, and then the message names the cycle from the waiting
 * manager to the one it was about to wait on. */
static void
check_cycle (Entry         *child,
             const GError  *error,
             ManagerRecord *rec,
             ManagerRecord *trec,
             gboolean       own)
{
  g_autofree char *link = NULL;

  if (own)
    {
      g_atomic_int_inc (&nested_own_deadlock);
      return;
    }

  g_atomic_int_inc (&nested_cycle_deadlock);
  /* Waiting on a pool's thread: the cycle names that thread's manager. */
  if (rec->is_pool)
    link = g_strdup_printf ("-> '%s'", trec->id);
  else
    link = g_strdup_printf ("'%s' -> '%s'", rec->id, trec->id);
  if (strstr (error->message, link) == NULL)
    {
      g_autofree char *what = g_strdup_printf ("a wait refused as closing a cycle, with a message "
                                               "that does not name %s: %s", link, error->message);
      entry_violation (child, what);
    }
}

static void
entry_destroy (gpointer data)
{
  Entry *e = data;
  int flags = 0;

  if (tls_submitting == e)
    flags |= F_DESTROYED_IN_SUBMIT;
  if (tls_worker != NULL)
    flags |= F_DESTROYED_ON_WORKER;
  if (flags != 0)
    g_atomic_int_or (&e->flags, flags);

  if (g_atomic_int_get (&e->ran) != 0 && g_atomic_int_get (&e->returned) == RET_NONE)
    {
      /* Pools released it as soon as the function returned, even when the
       * work was kept to end later (fixed; see pool_data_early_bug()). */
      entry_violation (e, "its data was released while the work had not returned");
    }
  if (g_atomic_int_add (&e->destroyed, 1) != 0)
    entry_violation (e, "its data was released twice");
  g_atomic_int_add (&inflight, -1);
}

/* ------------------------------------------------------------------ */
/* Work                                                                */

static void work_func (TetherWork *work,
                       gpointer    data);
static void post_func (gpointer data);
static void async_cb  (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data);

static void
work_enter (Entry *e)
{
  ManagerRecord *rec = g_atomic_pointer_get (&e->mgr);

  if (g_atomic_int_add (&e->ran, 1) != 0)
    entry_violation (e, "the work ran twice");
  if (tls_worker != NULL)
    entry_violation (e, "the work ran on a submitting thread");
  else if (rec->is_pool ? !on_pool_thread (rec) : g_main_context_get_thread_default () != rec->context)
    entry_violation (e, rec->is_pool ? "the work ran outside its pool's threads"
                                     : "the work ran outside its manager's context");
}

static void
finish_value (TetherWork *work,
              Entry      *e)
{
  set_returned (e, RET_VALUE);
  tether_work_return_int (work, entry_tag (e));
}

/* Work returns a value unless it saw cancellation. */
static void
finish (TetherWork *work,
        Entry      *e)
{
  if (tether_work_is_cancelled (work))
    {
      set_returned (e, RET_CANCELLED);
      tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                    "the work saw its cancellation");
    }
  else
    finish_value (work, e);
}

typedef struct
{
  TetherWork *work;
  Entry      *entry;
} Deferred;

static gboolean
deferred_fire (gpointer data)
{
  Deferred *d = data;

  finish (d->work, d->entry);
  return G_SOURCE_REMOVE;
}

static void
deferred_free (gpointer data)
{
  Deferred *d = data;

  g_object_unref (d->work);
  g_free (d);
}

typedef struct
{
  TetherWork   *outer;
  Entry        *outer_entry;
  Entry        *child;
  TetherFuture *future;
} Chain;

static void
chain_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Chain *chain = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = tether_future_wait_finish (chain->future, result, &error);

  if (!tether_future_is_done (chain->future))
    entry_violation (chain->child, "wait_async() called back before the future was done");
  else
    {
      check_wait (chain->child, chain->future, ok, error, -1, FALSE);
      record_future_outcome (chain->child, chain->future, "wait_async");
    }

  finish (chain->outer, chain->outer_entry);
  g_object_unref (chain->outer);
  g_object_unref (chain->future);
  g_free (chain);
}

static void
orphan_push (Entry        *e,
             TetherFuture *future)
{
  Held *h = g_new0 (Held, 1);

  h->entry = e;
  h->future = future;
  g_mutex_lock (&orphans_lock);
  g_ptr_array_add (orphans, h);
  g_mutex_unlock (&orphans_lock);
}

/* Nested work whose child is a post: the outer work ends at once. */
static void
nested_post (TetherWork     *work,
             Entry          *e,
             TetherExecutor *target,
             const char     *type)
{
  Entry *child = e + 1;
  g_autoptr(GError) error = NULL;
  gboolean ok = tether_executor_post (target, type, post_func, child, entry_destroy, &error);

  tls_submitting = NULL;
  set_accept (child, ok ? ACC_ACCEPTED : classify_rejection (child, error));
  if (work != NULL)
    finish (work, e);
}

/* The outer work ends from the child's callback, on this manager's thread. */
static void
nested_async (TetherWork     *work,
              Entry          *e,
              TetherExecutor *target,
              const char     *type)
{
  Entry *child = e + 1;
  AsyncCall *call = g_new0 (AsyncCall, 1);

  call->entry = child;
  call->thread = g_thread_self ();
  call->outer = g_object_ref (work);
  call->outer_entry = e;
  call->target = (GObject *) g_object_ref (target);
  tether_executor_submit_async (target, type, work_func, child, entry_destroy,
                                G_PRIORITY_DEFAULT,
                                NULL, async_cb, call);
  tls_submitting = NULL;
}

/* A blocking wait on a manager's thread: the one place WOULD_DEADLOCK can
 * come from, for the manager's own work or for a cycle of managers. The
 * child's outcome is recorded later, from the orphan list. */
static void
nested_wait (TetherWork    *work,
             Entry         *e,
             TetherFuture  *future,
             ManagerRecord *trec,
             gboolean       own)
{
  ManagerRecord *rec = g_atomic_pointer_get (&e->mgr);
  Entry *child = e + 1;
  gint64 timeout = nest_wait_choices[e->nest_wait % G_N_ELEMENTS (nest_wait_choices)];
  g_autoptr(GError) error = NULL;
  gboolean ok;

  /* On a thread of the pool waited on: a wait without limit, which the
   * pool must either refuse (WOULD_DEADLOCK: no other thread of it could
   * run the work) or see end. The watchdog is what catches a hang. Kept
   * work included: a wait on it from its own thread, or through threads
   * blocked on each other, is refused (it was not: see
   * pool_wait_on_kept_work_bug()). */
  if (own && trec->is_pool && e->nest_wait % 2 == 0)
    {
      timeout = -1;
      g_atomic_int_inc (&nested_pool_forever);
    }

  set_work_state (rec, "waiting on a nested future of", trec);
  ok = tether_future_wait (future, timeout, NULL, &error);
  check_wait (child, future, ok, error, timeout, own && !trec->is_pool);
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
    {
      if (trec->is_pool && own)
        g_atomic_int_inc (&nested_pool_deadlock);
      else if (trec->is_pool)
        entry_violation (child, "a wait on a pool's future, from a thread not of that pool, failed "
                                "with WOULD_DEADLOCK");
      else
        check_cycle (child, error, rec, trec, own);
    }
  else if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
    g_atomic_int_inc (&nested_timed_out);
  orphan_push (child, future);
  finish (work, e);
}

/* The outer work ends from wait_async(), like a coroutine awaiting. */
static void
nested_chain (TetherWork   *work,
              Entry        *e,
              TetherFuture *future)
{
  Chain *chain = g_new0 (Chain, 1);

  chain->outer = g_object_ref (work);
  chain->outer_entry = e;
  chain->child = e + 1;
  chain->future = future;
  tether_future_wait_async (future, NULL, chain_cb, chain);
}

static void
nested_future (TetherWork     *work,
               Entry          *e,
               TetherExecutor *target,
               ManagerRecord  *trec,
               const char     *type,
               gboolean        own)
{
  Entry *child = e + 1;
  g_autoptr(GError) error = NULL;
  TetherFuture *future = tether_executor_submit (target, type, work_func, child,
                                                 entry_destroy, NULL, &error);

  tls_submitting = NULL;
  if (future == NULL)
    {
      set_accept (child, classify_rejection (child, error));
      finish (work, e);
      return;
    }

  set_accept (child, ACC_ACCEPTED);
  if (e->behaviour == B_NESTED_WAIT)
    nested_wait (work, e, future, trec, own);
  else
    nested_chain (work, e, future);
}

/* Nested work: submits a child to a pool manager, from the manager's thread.
 * @work is NULL for a post (whose child is a post too). */
static void
nested_submit (TetherWork *work,
               Entry      *e)
{
  ManagerRecord *rec = g_atomic_pointer_get (&e->mgr);
  Entry *child = e + 1;
  ManagerRecord *trec = NULL;
  TetherExecutor *target = exec_acquire (e->nest_slot, &trec);
  const char *type;
  gboolean own;

  /* A full queue with no submit timeout blocks its submitter; two managers
   * doing that to each other never wake. That is the caller's deadlock,
   * not Tether's, so work leaves those managers alone. */
  if (target == NULL || trec->blocking)
    {
      g_atomic_int_inc (&nested_skipped);
      if (target != NULL)
        release_on_manager_thread (target, trec);
      if (work != NULL)
        finish (work, e);
      return;
    }

  own = trec->is_pool ? on_pool_thread (trec) : trec->context == g_main_context_get_thread_default ();
  type = task_types[g_atomic_int_get (&trec->task_type)];
  g_atomic_pointer_set (&child->mgr, trec);
  g_atomic_int_or (&child->flags, F_ATTEMPTED);
  child->cancel_base = g_atomic_int_get (&trec->cancel_finished);
  inflight_inc ();

  set_work_state (rec, "submitting nested work to", trec);
  tls_submitting = child;
  if (child->kind == KIND_POST)
    nested_post (work, e, target, type);
  else if (child->kind == KIND_ASYNC)
    nested_async (work, e, target, type);
  else
    nested_future (work, e, target, trec, type, own);

  set_work_state (rec, NULL, NULL);
  release_on_manager_thread (target, trec);
}

static void
self_stop (TetherWork *work,
           Entry      *e)
{
  ManagerRecord *rec = g_atomic_pointer_get (&e->mgr);
  TetherLoopManager *self = tether_loop_manager_ref_current ();
  g_autoptr(GError) error = NULL;
  gboolean cancel = (e->seq & 1) != 0;

  /* A pool cannot be stopped from its own threads but by stop_async(),
   * whose callback never comes there: see pool_self_stop_async_bug(). */
  if (rec->is_pool)
    {
      g_atomic_int_inc (&pool_self_skipped);
      g_clear_object (&self);
    }

  /* NULL while the manager is being disposed. */
  if (self != NULL)
    {
      g_atomic_int_inc (&self_stops);
      set_work_state (rec, "stopping its own manager", rec);
      if (cancel)
        g_atomic_int_inc (&rec->cancel_started);
      tether_loop_manager_stop (self, cancel ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN);
      if (cancel)
        g_atomic_int_inc (&rec->cancel_finished);

      if (tether_loop_manager_stop_within (self, 0, NULL, NULL, &error) ||
          !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
        entry_violation (e, "stop_within() on the manager's own thread did not fail with "
                            "WOULD_DEADLOCK");
      set_work_state (rec, NULL, NULL);
      g_object_unref (self);
    }

  /* A value returned after cancellation is still the outcome. */
  finish_value (work, e);
}

/* Returns later, from a source on the manager's context: the coroutine
 * pattern. Mostly the next iteration; sometimes a millisecond, which a stop
 * or a waiter may well catch. */
static void
work_defer (TetherWork *work,
            Entry      *e)
{
  Deferred *d = g_new0 (Deferred, 1);
  GSource *source = g_timeout_source_new (e->seq % 4 == 0 ? 1 : 0);

  d->work = g_object_ref (work);
  d->entry = e;
  g_source_set_callback (source, deferred_fire, d, deferred_free);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

/* Long synchronous work that polls its cancellable: what a CANCEL stop
 * must reach from the stopping thread. */
static void
work_spin (TetherWork *work,
           Entry      *e)
{
  gint64 deadline = g_get_monotonic_time () + 30;

  while (!tether_work_is_cancelled (work) && g_get_monotonic_time () < deadline)
    ;
  finish (work, e);
}

static void
work_func (TetherWork *work,
           gpointer    data)
{
  Entry *e = data;
  ManagerRecord *rec = g_atomic_pointer_get (&e->mgr);

  work_enter (e);
  if (rec->is_pool ? !g_str_has_prefix (tether_work_get_manager_id (work), rec->prefix)
                   : strcmp (tether_work_get_manager_id (work), rec->id) != 0)
    entry_violation (e, "the work's manager id is not the manager (or a thread of the pool) it "
                        "was submitted to");

  switch (e->behaviour)
    {
    case B_SLEEP:
      g_usleep (1 + e->seq % 20);
      finish (work, e);
      break;

    case B_FAIL:
      set_returned (e, RET_ERROR);
      tether_work_return_new_error (work, torture_error_quark (), 1, "planned failure");
      break;

    case B_DEFER:
      work_defer (work, e);
      break;

    case B_SPIN:
      work_spin (work, e);
      break;

    case B_ABANDON:
      set_returned (e, RET_ABANDONED);
      break;

    case B_NESTED_WAIT:
    case B_NESTED_CHAIN:
    case B_NESTED_ASYNC:
    case B_NESTED_POST:
      nested_submit (work, e);
      break;

    case B_SELF_STOP:
      self_stop (work, e);
      break;

    case B_TRIVIAL:
    default:
      finish_value (work, e);
      break;
    }
}

static void
post_func (gpointer data)
{
  Entry *e = data;

  work_enter (e);
  if (e->behaviour == B_SLEEP)
    g_usleep (1 + e->seq % 20);
  else if (e->behaviour == B_NESTED_POST)
    nested_submit (NULL, e);
  set_returned (e, RET_VALUE);
}

static void
async_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  AsyncCall *call = user_data;
  Entry *e = call->entry;
  g_autoptr(GError) error = NULL;
  GValue value = G_VALUE_INIT;

  if (g_thread_self () != call->thread)
    entry_violation (e, "the async callback ran on a thread other than the submitter's");
  if (tls_submitting != NULL)
    entry_violation (e, "the async callback ran inside a submit call");

  if (tether_executor_submit_finish (TETHER_EXECUTOR (source), result, &value, &error))
    {
      set_accept (e, ACC_ACCEPTED);
      check_value (e, &value);
      record_outcome (e, OUT_SUCCEEDED, "async callback");
      g_value_unset (&value);
    }
  else if (is_rejection (error))
    {
      set_accept (e, classify_rejection (e, error));
      record_outcome (e, OUT_REJECTED, "async callback");
    }
  else
    {
      set_accept (e, ACC_ACCEPTED);
      record_outcome (e, outcome_of_error (e, error), "async callback");
    }

  if (call->outer != NULL)
    {
      finish (call->outer, call->outer_entry);
      g_object_unref (call->outer);
    }
  if (call->target != NULL)
    release_on_manager_thread (call->target, g_atomic_pointer_get (&e->mgr));
  if (call->worker != NULL)
    {
      g_ptr_array_remove_fast (call->worker->asyncs, call);
      call->worker->n_async--;
    }
  g_clear_object (&call->cancellable);
  g_free (call);
}

/* ------------------------------------------------------------------ */
/* Worker operations                                                   */

static void
held_free (gpointer data)
{
  Held *h = data;

  g_clear_object (&h->future);
  g_clear_object (&h->cancellable);
  g_free (h);
}

static void
held_wait (Worker *w,
           guint   index,
           gint64  timeout)
{
  Held *h = g_ptr_array_index (w->held, index);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  set_state (w, "waiting on a future of manager", h->entry->mgr, timeout);
  ok = tether_future_wait (h->future, timeout, NULL, &error);
  set_state (w, "running", NULL, 0);

  w->stats.waits++;
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
    w->stats.wait_timeouts++;
  check_wait (h->entry, h->future, ok, error, timeout, FALSE);

  if (tether_future_is_done (h->future))
    {
      record_future_outcome (h->entry, h->future, "a worker's wait");
      g_ptr_array_remove_index_fast (w->held, index);
    }
}

static void
held_poll (Worker *w)
{
  for (guint i = 0; i < w->held->len;)
    {
      Held *h = g_ptr_array_index (w->held, i);

      if (tether_future_is_done (h->future))
        {
          record_future_outcome (h->entry, h->future, "a worker's poll");
          g_ptr_array_remove_index_fast (w->held, i);
        }
      else
        i++;
    }
}

/* Records the outcome of the futures work waited on, once they are done. */
static void
orphans_reap (gboolean final)
{
  GPtrArray *mine;

  g_mutex_lock (&orphans_lock);
  mine = orphans;
  orphans = g_ptr_array_new ();
  g_mutex_unlock (&orphans_lock);

  for (guint i = 0; i < mine->len; i++)
    {
      Held *h = g_ptr_array_index (mine, i);

      if (tether_future_is_done (h->future))
        {
          record_future_outcome (h->entry, h->future, "the orphan list");
          held_free (h);
        }
      else if (final)
        {
          entry_violation (h->entry, "its future is still pending after every manager stopped");
          held_free (h);
        }
      else
        {
          g_mutex_lock (&orphans_lock);
          g_ptr_array_add (orphans, h);
          g_mutex_unlock (&orphans_lock);
        }
    }
  g_ptr_array_unref (mine);
}

typedef struct
{
  Worker       *worker;
  Entry        *entry;
  TetherFuture *future;
} Drop;

static void
drop_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Drop *drop = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = tether_future_wait_finish (drop->future, result, &error);

  if (tls_worker != drop->worker)
    entry_violation (drop->entry, "wait_async() called back on another thread");
  if (!tether_future_is_done (drop->future))
    entry_violation (drop->entry, "wait_async() called back before the future was done");
  else
    {
      check_wait (drop->entry, drop->future, ok, error, -1, FALSE);
      record_future_outcome (drop->entry, drop->future, "wait_async");
    }
  drop->worker->n_wait_async--;
  g_object_unref (drop->future);
  g_free (drop);
}

typedef struct
{
  guint kind;
  guint behaviour;
  guint child_behaviour;
  guint type_draw;
  guint cancel_draw;
  guint delay_draw;
  guint restart_draw;
  guint restart_type;
  guint nest_slot;
  guint nest_wait;
} Draws;

static void
draw_submission (GRand *rand,
                 Draws *d)
{
  d->kind = pick (rand, kind_weights, N_KINDS);
  d->behaviour = pick (rand, behaviour_weights, N_BEHAVIOURS);
  d->child_behaviour = g_rand_int_range (rand, 0, 100);
  d->type_draw = g_rand_int_range (rand, 0, 100);
  d->cancel_draw = g_rand_int_range (rand, 0, 100);
  d->delay_draw = g_rand_int_range (rand, 0, G_N_ELEMENTS (after_delays));
  d->restart_draw = g_rand_int_range (rand, 0, 100);
  d->restart_type = g_rand_int_range (rand, 0, N_TASK_TYPES);
  d->nest_slot = g_rand_int_range (rand, 0, N_ALL_SLOTS);
  d->nest_wait = g_rand_int_range (rand, 0, G_N_ELEMENTS (nest_wait_choices));
}

static gboolean
is_nested (guint behaviour)
{
  return behaviour >= B_NESTED_WAIT && behaviour <= B_NESTED_POST;
}

/* Mostly the type the manager was last started with; sometimes another. */
static const char *
choose_task_type (ManagerRecord *rec,
                  guint          draw)
{
  if (draw < 92)
    return task_types[g_atomic_int_get (&rec->task_type)];
  return task_types[draw % N_TASK_TYPES];
}

/* What a nested submission's child does: mostly trivial work, some of
 * every kind that ends it another way. */
static Behaviour
child_behaviour (guint draw)
{
  return draw < 75 ? B_TRIVIAL
         : draw < 82 ? B_SLEEP
         : draw < 88 ? B_FAIL
         : draw < 97 ? B_DEFER
         : B_ABANDON;
}

/* Takes the entry (and its child's, for nested work) and fills in what is
 * known before submitting. */
static Entry *
entry_prepare (Worker        *w,
               ManagerRecord *rec,
               const Draws   *d)
{
  guint behaviour = d->behaviour;
  Entry *e;

  /* Posts have no TetherWork: only what needs none. */
  if (d->kind == KIND_POST && behaviour != B_SLEEP && behaviour != B_NESTED_POST)
    behaviour = B_TRIVIAL;

  e = entry_alloc (w, is_nested (behaviour) ? 2 : 1);
  g_atomic_pointer_add (&w->n_submitted, 1);
  /* Pools have no timers. */
  e->kind = rec->is_pool && (d->kind == KIND_AFTER || d->kind == KIND_AT) ? KIND_FUTURE : d->kind;
  e->behaviour = behaviour;
  e->mgr = rec;
  e->nest_slot = d->nest_slot;
  e->nest_wait = d->nest_wait;
  if (e->kind == KIND_AFTER || e->kind == KIND_AT)
    e->flags |= F_TIMER;
  g_assert (e->nest_slot < N_ALL_SLOTS);

  if (is_nested (behaviour))
    {
      Entry *child = e + 1;

      child->flags |= F_CHILD;
      child->kind = behaviour == B_NESTED_ASYNC ? KIND_ASYNC
                    : behaviour == B_NESTED_POST ? KIND_POST
                    : KIND_FUTURE;
      child->behaviour = child->kind == KIND_POST ? B_TRIVIAL : child_behaviour (d->child_behaviour);
    }

  return e;
}

/* Keeps an accepted future for later waits, cancels and drops. */
static void
held_add (Worker       *w,
          Entry        *e,
          TetherFuture *future,
          GCancellable *cancellable)
{
  Held *h = g_new0 (Held, 1);

  /* Full: make room, by a wait without limit if polling finds nothing
   * done. */
  if (w->held->len >= MAX_HELD)
    held_poll (w);
  if (w->held->len >= MAX_HELD)
    held_wait (w, 0, -1);

  h->entry = e;
  h->future = future;
  h->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  g_ptr_array_add (w->held, h);
}

static void
submit_future (Worker            *w,
               TetherExecutor    *executor,
               const char        *type,
               Entry             *e,
               const Draws       *d,
               GCancellable      *cancellable,
               GError           **error)
{
  TetherLoopManager *manager = (TetherLoopManager *) executor;  /* for the timers */
  TetherFuture *future;

  if (e->kind == KIND_AFTER)
    future = tether_loop_manager_submit_after (manager, type, after_delays[d->delay_draw], work_func, e, entry_destroy,
                                               cancellable, error);
  else if (e->kind == KIND_AT)
    future = tether_loop_manager_submit_at (manager, type,
                                            g_get_monotonic_time () + at_offsets[d->delay_draw], work_func, e, entry_destroy,
                                            cancellable, error);
  else
    future = tether_executor_submit (executor, type, work_func, e,
                                     entry_destroy, cancellable, error);
  tls_submitting = NULL;

  if (future == NULL)
    {
      set_accept (e, classify_rejection (e, *error));
      return;
    }
  set_accept (e, ACC_ACCEPTED);
  held_add (w, e, future, cancellable);
}

/* Acceptance and outcome both arrive in async_cb(), in this thread's
 * context. */
static void
submit_async (Worker            *w,
              TetherExecutor    *executor,
              const char        *type,
              Entry             *e,
              GCancellable      *cancellable)
{
  AsyncCall *call = g_new0 (AsyncCall, 1);

  call->entry = e;
  call->worker = w;
  call->thread = g_thread_self ();
  call->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  g_ptr_array_add (w->asyncs, call);
  w->n_async++;
  tether_executor_submit_async (executor, type, work_func, e, entry_destroy,
                                G_PRIORITY_DEFAULT,
                                cancellable, async_cb, call);
  tls_submitting = NULL;
}

static void
submit_post (TetherExecutor *executor,
             const char     *type,
             Entry          *e,
             GError        **error)
{
  gboolean ok = tether_executor_post (executor, type, post_func, e, entry_destroy, error);

  tls_submitting = NULL;
  set_accept (e, ok ? ACC_ACCEPTED : classify_rejection (e, *error));
}

/* One submission attempt from a worker, in the form and with the work
 * @d drew. */
static void
submit_entry (Worker         *w,
              TetherExecutor *manager,
              ManagerRecord  *rec,
              const Draws    *d)
{
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GError) error = NULL;
  const char *type = choose_task_type (rec, d->type_draw);
  Entry *e = entry_prepare (w, rec, d);

  if (d->kind != KIND_POST && d->cancel_draw < 9)
    {
      cancellable = g_cancellable_new ();
      if (d->cancel_draw == 0)
        {
          e->flags |= F_PRECANCELLED | F_CANCEL_REQUESTED;
          g_cancellable_cancel (cancellable);
        }
    }

  /* Read before submitting: a CANCEL stop that finished earlier cannot
   * explain a cancellation. */
  e->cancel_base = g_atomic_int_get (&rec->cancel_finished);
  inflight_inc ();
  set_state (w, rec->is_pool ? "submitting to pool" : "submitting to manager", rec, 0);
  tls_submitting = e;

  switch (d->kind)
    {
    case KIND_FUTURE:
    case KIND_AFTER:
    case KIND_AT:
      submit_future (w, manager, type, e, d, cancellable, &error);
      break;
    case KIND_ASYNC:
      submit_async (w, manager, type, e, cancellable);
      break;
    case KIND_POST:
    default:
      submit_post (manager, type, e, &error);
      break;
    }
  set_state (w, "running", NULL, 0);

  /* Someone stopped it: now and then, be the one who starts it again. */
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING) && d->restart_draw < 30)
    exec_start (w, manager, rec, rec->slot >= 0 ? d->restart_type : 0);
}

static void
op_submit (Worker *w)
{
  guint slot = g_rand_int_range (w->rand, 0, N_ALL_SLOTS);
  ManagerRecord *rec = NULL;
  TetherExecutor *manager;
  Draws d;

  draw_submission (w->rand, &d);
  manager = exec_acquire (slot, &rec);
  submit_entry (w, manager, rec, &d);
  set_state (w, "dropping a pool manager", rec, 0);
  g_object_unref (manager);
  set_state (w, "running", NULL, 0);
}

/* The cheap way to submit a lot: one slot lookup for the lot, and a manager
 * thread that finds a batch queued rather than being woken for each. It is
 * also what fills bounded queues, and what a stop most often cuts in two. */
static void
op_burst (Worker *w)
{
  guint slot = g_rand_int_range (w->rand, 0, N_ALL_SLOTS);
  guint n = g_rand_int_range (w->rand, 2, MAX_BURST + 1);
  ManagerRecord *rec = NULL;
  TetherExecutor *manager = exec_acquire (slot, &rec);

  for (guint i = 0; i < n; i++)
    {
      Draws d;

      draw_submission (w->rand, &d);
      submit_entry (w, manager, rec, &d);
    }
  set_state (w, "dropping a pool manager", rec, 0);
  g_object_unref (manager);
  set_state (w, "running", NULL, 0);
}

static void
op_wait (Worker *w)
{
  guint index = g_rand_int (w->rand);
  gint64 timeout = wait_choices[pick (w->rand, wait_weights, G_N_ELEMENTS (wait_weights))];

  if (w->held->len > 0)
    held_wait (w, index % w->held->len, timeout);
}

static void
op_cancel (Worker *w)
{
  guint how = g_rand_int_range (w->rand, 0, 100);
  guint index = g_rand_int (w->rand);

  if (how < 60 && w->held->len > 0)
    {
      Held *h = g_ptr_array_index (w->held, index % w->held->len);

      g_atomic_int_or (&h->entry->flags, F_CANCEL_REQUESTED);
      if (how < 20 && h->cancellable != NULL)
        g_cancellable_cancel (h->cancellable);
      else
        tether_future_cancel (h->future);
      w->stats.cancels++;
    }
  else if (w->asyncs->len > 0)
    {
      AsyncCall *call = g_ptr_array_index (w->asyncs, index % w->asyncs->len);

      if (call->cancellable != NULL)
        {
          g_atomic_int_or (&call->entry->flags, F_CANCEL_REQUESTED);
          g_cancellable_cancel (call->cancellable);
          w->stats.cancels++;
        }
    }
}

/* Lets go of a future before it is done: with a wait_async() that records
 * its outcome, or with nothing at all (the outcome is then inferred). */
static void
op_drop (Worker *w)
{
  guint index = g_rand_int (w->rand);
  gboolean forget = g_rand_int_range (w->rand, 0, 100) < 40;
  Held *h;

  if (w->held->len == 0)
    return;

  h = g_ptr_array_steal_index_fast (w->held, index % w->held->len);
  if (forget)
    {
      g_atomic_int_or (&h->entry->flags, F_FORGOTTEN);
      w->stats.forgets++;
    }
  else
    {
      Drop *drop = g_new0 (Drop, 1);

      drop->worker = w;
      drop->entry = h->entry;
      drop->future = g_object_ref (h->future);
      w->n_wait_async++;
      tether_future_wait_async (h->future, NULL, drop_cb, drop);
      w->stats.drops++;
    }
  held_free (h);
}

static void
op_stop (Worker *w)
{
  guint slot = g_rand_int_range (w->rand, 0, N_ALL_SLOTS);
  guint mode = g_rand_int_range (w->rand, 0, 100);
  gint64 within = within_choices[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (within_choices))];
  gboolean restart = g_rand_int_range (w->rand, 0, 100) < 80;
  guint type = g_rand_int_range (w->rand, 0, N_TASK_TYPES);
  ManagerRecord *rec = NULL;
  TetherExecutor *manager = exec_acquire (slot, &rec);

  if (rec->is_pool)
    pool_stop (w, TETHER_POOL (manager), rec, mode < 40 ? 0 : mode < 75 ? 1 : 2, (within & 1) != 0);
  else
    manager_stop (w, TETHER_LOOP_MANAGER (manager), rec, mode < 40 ? 0 : mode < 75 ? 1 : 2, within);
  if (restart)
    exec_start (w, manager, rec, type);
  set_state (w, "dropping a pool manager", rec, 0);
  g_object_unref (manager);
  set_state (w, "running", NULL, 0);
}

static void
op_replace (Worker *w)
{
  guint slot = g_rand_int_range (w->rand, 0, N_ALL_SLOTS);
  guint max_pending_draw = g_rand_int (w->rand);
  guint timeout_draw = g_rand_int (w->rand);
  guint type = g_rand_int_range (w->rand, 0, N_TASK_TYPES);

  if (slot >= N_SLOTS)
    {
      pool_slot_replace (w, slot - N_SLOTS, timeout_draw, max_pending_draw, type);
      w->stats.pool_replacements++;
      return;
    }
  slot_replace (w, slot, max_pending_draw, timeout_draw, type);
  w->stats.replacements++;
}

static void
op_config (Worker *w)
{
  guint slot = g_rand_int_range (w->rand, 0, N_ALL_SLOTS);
  guint max_pending = config_max_pending[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (config_max_pending))];
  gint64 timeout = submit_timeout_choices[g_rand_int_range (w->rand, 0, G_N_ELEMENTS (submit_timeout_choices))];
  ManagerRecord *rec = NULL;
  TetherLoopManager *manager;

  if (slot >= N_SLOTS)
    {
      TetherExecutor *pool = exec_acquire (slot, &rec);

      /* A full queue refuses at once with BUSY: pools never block a
       * submitter. */
      tether_pool_set_max_pending (TETHER_POOL (pool), max_pending);
      w->stats.pool_configs++;
      set_state (w, "dropping a pool", rec, 0);
      g_object_unref (pool);
      set_state (w, "running", NULL, 0);
      return;
    }
  manager = slot_acquire (slot, &rec);

  tether_loop_manager_set_max_pending (manager, max_pending);
  /* A blocking manager stays blocking: see nested_submit(). */
  if (!rec->blocking)
    tether_loop_manager_set_submit_timeout (manager, timeout);
  w->stats.configs++;
  set_state (w, "dropping a pool manager", rec, 0);
  g_object_unref (manager);
  set_state (w, "running", NULL, 0);
}

/* get_or_create() in its three modes (and the invalid fourth), then a few
 * submissions to what it returns. FORCE_CREATE replaces this thread's entry,
 * dropping the previous manager with whatever it still has queued. */
static void
op_registry (Worker *w)
{
  guint id_index = g_rand_int_range (w->rand, 0, N_REG_IDS);
  guint how = g_rand_int_range (w->rand, 0, 100);
  guint type = g_rand_int_range (w->rand, 0, N_TASK_TYPES);
  guint n_submit = g_rand_int_range (w->rand, 1, 5);
  guint stop = g_rand_int_range (w->rand, 0, 100);
  TetherLookupFlags flags = how < 55 ? TETHER_LOOKUP_FLAGS_NONE
                            : how < 80 ? TETHER_LOOKUP_FLAGS_STRICT
                            : how < 96 ? TETHER_LOOKUP_FLAGS_FORCE_CREATE
                            : TETHER_LOOKUP_FLAGS_FORCE_CREATE | TETHER_LOOKUP_FLAGS_STRICT;
  g_autoptr(GError) error = NULL;
  TetherLoopManager *manager;
  ManagerRecord *rec;

  w->stats.lookups++;
  set_state (w, "looking up a registry manager", NULL, 0);
  manager = tether_loop_manager_get_or_create (reg_ids[id_index], flags, &error);
  set_state (w, "running", NULL, 0);

  if (flags == (TETHER_LOOKUP_FLAGS_FORCE_CREATE | TETHER_LOOKUP_FLAGS_STRICT))
    {
      if (manager != NULL || !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT))
        violation ("get_or_create() with FORCE_CREATE | STRICT did not fail with INVALID_ARGUMENT");
      w->stats.lookups_invalid++;
      g_clear_object (&manager);
      return;
    }
  if (manager == NULL)
    {
      /* Only an id no ancestor registered can be missing. */
      if (flags != TETHER_LOOKUP_FLAGS_STRICT || id_index == 0 ||
          !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_MANAGER_NOT_FOUND))
        violation ("get_or_create ('%s', %d) failed: %s", reg_ids[id_index], flags, error->message);
      w->stats.lookups_not_found++;
      return;
    }

  if (flags == TETHER_LOOKUP_FLAGS_FORCE_CREATE)
    {
      if (tether_loop_manager_is_running (manager))
        violation ("get_or_create() with FORCE_CREATE returned a running manager");
      w->forced[id_index] = TRUE;
    }
  else if (id_index == 0 && !w->forced[0] && manager != registered0)
    violation ("get_or_create ('%s') on a worker did not resolve to the manager the main thread "
               "registered", reg_ids[0]);

  rec = record_for_registered (manager);
  if (!tether_loop_manager_is_running (manager))
    manager_start (w, manager, rec, type);

  for (guint i = 0; i < n_submit; i++)
    {
      Draws d;

      draw_submission (w->rand, &d);
      submit_entry (w, (TetherExecutor *) manager, rec, &d);
    }

  if (stop < 8)
    manager_stop (w, manager, rec, stop % 3, 1000);

  set_state (w, "dropping a registry manager", rec, 0);
  g_object_unref (manager);
  set_state (w, "running", NULL, 0);
}

static void
worker_step (Worker *w)
{
  switch (pick (w->rand, op_weights, N_OPS))
    {
    case OP_BURST:
      op_burst (w);
      break;
    case OP_WAIT:
      op_wait (w);
      break;
    case OP_CANCEL:
      op_cancel (w);
      break;
    case OP_DROP:
      op_drop (w);
      break;
    case OP_REGISTRY:
      op_registry (w);
      break;
    case OP_STOP:
      op_stop (w);
      break;
    case OP_REPLACE:
      op_replace (w);
      break;
    case OP_CONFIG:
      op_config (w);
      break;
    case OP_SUBMIT:
    default:
      op_submit (w);
      break;
    }
}

static void
iterate_pending (Worker *w)
{
  while (g_main_context_iteration (w->context, FALSE))
    ;
}

static gpointer
worker_main (gpointer data)
{
  Worker *w = data;
  guint32 seed[4] = { (guint32) opt_seed, (guint32) (opt_seed >> 32), w->index, 0x746f7274 };

  tls_worker = w;
  w->rand = g_rand_new_with_seed_array (seed, G_N_ELEMENTS (seed));
  w->context = g_main_context_new ();
  g_main_context_push_thread_default (w->context);
  set_state (w, "running", NULL, 0);

  for (guint64 step = 0;; step++)
    {
      if (w->quota > 0 ? GPOINTER_TO_SIZE (g_atomic_pointer_get (&w->n_submitted)) >= w->quota
                       : g_atomic_int_get (&time_up))
        break;

      worker_step (w);

      if ((step & 15) == 0)
        iterate_pending (w);
      if ((step & 31) == 0)
        held_poll (w);
      if ((step & 127) == 0)
        graveyard_drain (w);
      if ((step & 1023) == 0)
        orphans_reap (FALSE);
      if (w->n_async > MAX_ASYNC)
        {
          set_state (w, "waiting for async callbacks", NULL, -1);
          while (w->n_async > MAX_ASYNC / 2)
            g_main_context_iteration (w->context, TRUE);
          set_state (w, "running", NULL, 0);
        }
      g_atomic_int_inc (&w->progress);
    }

  /* Every future this thread holds ends, and every callback it is owed
   * arrives, whatever became of the managers. */
  while (w->held->len > 0)
    {
      held_wait (w, w->held->len - 1, -1);
      g_atomic_int_inc (&w->progress);
    }
  set_state (w, "waiting for its last async callbacks", NULL, -1);
  while (w->n_async > 0 || w->n_wait_async > 0 || w->n_stop_async > 0)
    {
      g_main_context_iteration (w->context, TRUE);
      g_atomic_int_inc (&w->progress);
    }
  iterate_pending (w);
  set_state (w, "exiting (releasing the managers it registered)", NULL, 0);

  g_main_context_pop_thread_default (w->context);
  g_clear_pointer (&w->context, g_main_context_unref);
  g_clear_pointer (&w->rand, g_rand_free);
  tls_worker = NULL;
  g_atomic_int_set (&w->finished, TRUE);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Watchdog                                                            */

static void
dump_worker (Worker *w)
{
  const char *state = g_atomic_pointer_get (&w->state);
  ManagerRecord *rec = g_atomic_pointer_get (&w->state_record);

  fprintf (stderr, "  %-12s %s", w->name, state != NULL ? state : "(not started)");
  if (rec != NULL)
    fprintf (stderr, " '%s'", rec->id);
  if (w->state_timeout != 0)
    fprintf (stderr, " (timeout %" G_GINT64_FORMAT " us)", w->state_timeout);
  fprintf (stderr, "; %d steps%s\n", g_atomic_int_get (&w->progress),
           g_atomic_int_get (&w->finished) ? ", finished" : "");
}

static void
dump_and_abort (const char *why)
{
  fprintf (stderr, "\ntorture: WATCHDOG (seed %" G_GUINT64_FORMAT "): %s\n", opt_seed, why);
  fprintf (stderr, "torture: %d submissions in flight; what each thread is doing:\n",
           g_atomic_int_get (&inflight));
  dump_worker (&main_worker);
  for (int i = 0; i < opt_threads; i++)
    dump_worker (workers[i]);

  if (g_mutex_trylock (&records_lock))
    {
      for (guint i = 0; i < records->len; i++)
        {
          ManagerRecord *rec = g_ptr_array_index (records, i);
          const char *state = g_atomic_pointer_get (&rec->work_state);
          ManagerRecord *target = g_atomic_pointer_get (&rec->work_target);

          if (state != NULL)
            fprintf (stderr, "  work on manager '%s': %s '%s'\n",
                     rec->id, state, target != NULL ? target->id : "?");
        }
      g_mutex_unlock (&records_lock);
    }
  fflush (stderr);

  /* Last: these take the managers' locks, which a bug could hold. */
  for (guint i = 0; i < N_SLOTS; i++)
    {
      TetherLoopManager *manager = NULL;
      ManagerRecord *rec = NULL;

      if (g_mutex_trylock (&slots[i].mutex))
        {
          manager = slots[i].manager != NULL ? g_object_ref (slots[i].manager) : NULL;
          rec = slots[i].record;
          g_mutex_unlock (&slots[i].mutex);
        }
      if (manager == NULL)
        {
          fprintf (stderr, "  slot %u: no manager, or its lock is held\n", i);
          continue;
        }
      fprintf (stderr, "  slot %u: manager '%s'%s", i, rec->id, rec->blocking ? " (blocking)" : "");
      fflush (stderr);
      fprintf (stderr, ": running %s, %u queued, max-pending %u, submit-timeout %" G_GINT64_FORMAT "\n",
               tether_loop_manager_is_running (manager) ? "yes" : "no",
               tether_loop_manager_get_n_pending (manager),
               tether_loop_manager_get_max_pending (manager),
               tether_loop_manager_get_submit_timeout (manager));
      fflush (stderr);
    }
  for (guint i = 0; i < N_POOL_SLOTS; i++)
    {
      TetherPool *pool = NULL;
      ManagerRecord *rec = NULL;

      if (g_mutex_trylock (&pool_slots[i].mutex))
        {
          pool = pool_slots[i].pool != NULL ? g_object_ref (pool_slots[i].pool) : NULL;
          rec = pool_slots[i].record;
          g_mutex_unlock (&pool_slots[i].mutex);
        }
      if (pool == NULL)
        {
          fprintf (stderr, "  pool slot %u: no pool, or its lock is held\n", i);
          continue;
        }
      fprintf (stderr, "  pool slot %u: pool '%s'", i, rec->id);
      fflush (stderr);
      fprintf (stderr, ": running %s, %u threads, %u idle, %u queued, max-pending %u\n",
               tether_pool_is_running (pool) ? "yes" : "no", tether_pool_get_n_threads (pool),
               tether_pool_get_n_idle (pool), tether_pool_get_n_pending (pool),
               tether_pool_get_max_pending (pool));
      fflush (stderr);
    }
  abort ();
}

static gpointer
watchdog_main (gpointer data)
{
  gint64 limit = (gint64) opt_watchdog * G_USEC_PER_SEC;
  int n = opt_threads + 1;
  int *last = g_new0 (int, n);
  gint64 *since = g_new0 (gint64, n);
  gint64 now = g_get_monotonic_time ();

  for (int i = 0; i < n; i++)
    since[i] = now;

  g_mutex_lock (&watchdog_lock);
  while (!watchdog_quit)
    {
      g_cond_wait_until (&watchdog_cond, &watchdog_lock, g_get_monotonic_time () + G_USEC_PER_SEC / 5);
      now = g_get_monotonic_time ();
      for (int i = 0; i < n && !watchdog_quit; i++)
        {
          Worker *w = i < opt_threads ? workers[i] : &main_worker;
          int progress = g_atomic_int_get (&w->progress);

          if (progress != last[i] || g_atomic_int_get (&w->finished))
            {
              last[i] = progress;
              since[i] = now;
            }
          else if (now - since[i] > limit)
            {
              g_autofree char *why = g_strdup_printf ("%s made no progress for %d s",
                                                      w->name, opt_watchdog);
              dump_and_abort (why);
            }
        }
    }
  g_mutex_unlock (&watchdog_lock);

  g_free (last);
  g_free (since);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Verification                                                        */

typedef struct
{
  guint64 attempted;
  guint64 by_kind[N_KINDS];
  guint64 nested;
  guint64 accepted;
  guint64 rejected[N_ACCEPTS];
  guint64 outcomes[N_OUTCOMES];
  guint64 cancelled_unrun;
  guint64 cancelled_running;
  guint64 inferred;
  guint64 ran;
  guint64 lost;
  guint64 unknown;
  guint64 bad;
  guint64 pool_attempted;
  guint64 pool_accepted;
} Totals;

/* Posts and dropped futures have no outcome channel: what the work did is
 * the outcome. */
static Outcome
inferred_outcome (int destroyed,
                  int ran,
                  int returned)
{
  if (destroyed == 0)
    return OUT_NONE;
  if (ran == 0)
    return OUT_CANCELLED;
  return returned == RET_VALUE ? OUT_SUCCEEDED
         : returned == RET_ERROR ? OUT_FAILED
         : returned == RET_CANCELLED ? OUT_CANCELLED
         : returned == RET_ABANDONED ? OUT_ABANDONED
         : OUT_NONE;
}

static const char *
verify_rejected (Entry  *e,
                 Totals *t)
{
  int accept = e->accept;

  t->rejected[accept]++;
  if (accept == ACC_OTHER)
    return "rejected for an unexpected reason";
  if (e->ran != 0)
    return "rejected, yet it ran";
  if (e->destroyed != 1)
    return "rejected, and its data was never released";
  if (!(e->flags & F_DESTROYED_IN_SUBMIT))
    return "rejected, but its data was not released inside the submit call";
  if (e->kind == KIND_ASYNC && e->outcome != OUT_REJECTED)
    return "rejected, but its async callback did not say so";
  return NULL;
}

/* Whether the outcome of an accepted submission is one its history allows. */
static const char *
check_outcome (Entry   *e,
               Outcome  outcome)
{
  int flags = e->flags;
  int ran = e->ran;
  int returned = e->returned;
  /* Something that could have cancelled it: a cancel call, a timer (any
   * stop cancels those), or a stop that may cancel, begun on its manager
   * and not yet returned when it was submitted. */
  gboolean cancel_cause = (flags & (F_CANCEL_REQUESTED | F_TIMER)) != 0 ||
                          g_atomic_int_get (&e->mgr->cancel_started) > e->cancel_base;

  /* A pool releases the data of work cancelled before it ran on the
   * thread that cancelled it: inside submit() for a cancellable cancelled
   * already, on a worker for a cancel or a CANCEL stop made there. */
  if (e->mgr->is_pool && !opt_pool_strict && ran == 0 && outcome == OUT_CANCELLED &&
      (flags & (F_DESTROYED_IN_SUBMIT | F_DESTROYED_ON_WORKER)))
    {
      if (flags & F_DESTROYED_IN_SUBMIT)
        pool_data_in_submit++;
      else
        pool_data_on_worker++;
    }
  else if (flags & F_DESTROYED_IN_SUBMIT)
    return "accepted, but its data was released inside the submit call";
  else if (flags & F_DESTROYED_ON_WORKER)
    return "accepted, but its data was released on a submitting thread";
  if (outcome == OUT_REJECTED)
    return "accepted, but its async callback reported a rejection";
  if (outcome == OUT_SUCCEEDED && (ran != 1 || returned != RET_VALUE))
    return "succeeded, but its work did not run and return a value";
  if (outcome == OUT_FAILED && (ran != 1 || returned != RET_ERROR))
    return "failed, but its work did not run and return an error";
  if (outcome == OUT_ABANDONED && (ran != 1 || returned != RET_ABANDONED))
    return "abandoned, but its work did not run and drop its handle";
  if (outcome == OUT_CANCELLED && ran == 0 && !cancel_cause)
    return "cancelled before it ran, with no cancel call and no CANCEL stop (DRAIN must run it)";
  if (outcome == OUT_CANCELLED && ran == 1 && returned != RET_CANCELLED)
    return "cancelled, but its work ran and returned something else";
  if ((flags & F_PRECANCELLED) && (ran != 0 || outcome != OUT_CANCELLED))
    return "submitted with a cancelled cancellable, yet it ran or did not end cancelled";
  if (returned == RET_CANCELLED && !cancel_cause)
    return "its work saw a cancellation nobody asked for";
  return NULL;
}

static const char *
verify_accepted (Entry  *e,
                 Totals *t)
{
  Outcome outcome = e->outcome;

  t->accepted++;
  if (e->kind == KIND_POST || (e->flags & F_FORGOTTEN))
    {
      t->inferred++;
      outcome = inferred_outcome (e->destroyed, e->ran, e->returned);
    }

  if (e->destroyed == 0 || outcome == OUT_NONE)
    {
      t->lost++;
      return e->destroyed == 0 ? "accepted, and its data was never released (lost)"
                               : "accepted, and it never ended (lost)";
    }

  t->outcomes[outcome]++;
  if (outcome == OUT_CANCELLED)
    {
      if (e->ran == 0)
        t->cancelled_unrun++;
      else
        t->cancelled_running++;
    }
  return check_outcome (e, outcome);
}

/* Runs after every thread is joined or idle: plain reads are fine. */
static void
verify_entry (Entry  *e,
              Totals *t)
{
  int flags = e->flags;
  const char *problem = NULL;

  if (!(flags & F_USED))
    return;

  if ((flags & F_CHILD) && !(flags & F_ATTEMPTED))
    {
      if (e->ran != 0 || e->destroyed != 0)
        problem = "a nested submission that was never made ran or was released";
    }
  else
    {
      t->attempted++;
      t->by_kind[e->kind]++;
      if (e->mgr->is_pool)
        {
          t->pool_attempted++;
          if (e->accept == ACC_ACCEPTED)
            t->pool_accepted++;
        }
      if (flags & F_CHILD)
        t->nested++;
      t->ran += e->ran;

      if (e->ran > 1)
        problem = "ran more than once";
      else if (e->destroyed > 1)
        problem = "its data was released more than once";
      else if (e->accept == ACC_NONE)
        {
          problem = "never learned whether it was accepted: its async callback never ran (lost)";
          t->unknown++;
          t->lost++;
        }
      else if (e->accept != ACC_ACCEPTED)
        problem = verify_rejected (e, t);
      else
        problem = verify_accepted (e, t);
    }

  if (problem != NULL)
    {
      t->bad++;
      entry_violation (e, problem);
    }
}

/* ------------------------------------------------------------------ */
/* Known pool bugs (issue 18): minimal checks                          */

/* Run with --pool-known-bugs; the meson test torture-pool-known-bugs runs
 * them only with TETHER_TORTURE_KNOWN_BUGS=1 (else it is skipped), so that
 * the normal run stays green until src/tether-pool.c is fixed. Each check
 * runs the same thing on a manager first, as the reference, and every
 * blocking step has a deadline. */

typedef struct
{
  int ended;       /* atomic: the kept work returned */
  int destroyed;   /* atomic */
  int early;       /* atomic: destroyed before the work returned */
} Kept;

static void
kept_destroy (gpointer data)
{
  Kept *k = data;

  if (!g_atomic_int_get (&k->ended))
    g_atomic_int_set (&k->early, 1);
  g_atomic_int_set (&k->destroyed, 1);
}

static gboolean
kept_finish (gpointer data)
{
  TetherWork *work = data;
  Kept *k = g_object_get_data (G_OBJECT (work), "kept");

  g_atomic_int_set (&k->ended, 1);
  tether_work_return_int (work, 1);
  return G_SOURCE_REMOVE;
}

/* The work keeps its TetherWork and returns from a timeout on its thread's
 * context (the coroutine pattern), after 20 ms. */
static void
kept_work (TetherWork *work,
           gpointer    data)
{
  GSource *source = g_timeout_source_new (20);

  g_object_set_data (G_OBJECT (work), "kept", data);
  g_source_set_callback (source, kept_finish, g_object_ref (work), g_object_unref);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

static gboolean
kept_run (TetherExecutor *executor,
          const char     *what)
{
  Kept k = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = tether_executor_submit (executor, NULL, kept_work, &k,
                                                           kept_destroy, NULL, &error);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_assert_no_error (error);
  if (!tether_future_wait (future, 10 * G_USEC_PER_SEC, NULL, &error))
    {
      printf ("  %s: the kept work did not end within 10 s: %s\n", what, error->message);
      return FALSE;
    }
  /* The data goes after the outcome is in, on the work's thread: wait for
   * it under a deadline (the only poll here, 1 ms at a time). */
  while (!g_atomic_int_get (&k.destroyed) && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  printf ("  %s: data released %s\n", what,
          !g_atomic_int_get (&k.destroyed) ? "never (within 10 s)"
          : g_atomic_int_get (&k.early) ? "BEFORE the kept work returned"
          : "after the kept work returned");
  return g_atomic_int_get (&k.destroyed) && !g_atomic_int_get (&k.early);
}

/* Bug: tether_pool_submit() documents func_data_destroy as freeing the data
 * "once the work has ended", as a manager does; item_run() in
 * src/tether-pool.c calls item_release_data() as soon as the function
 * returns, although the work kept its TetherWork to return later, so work
 * that reads its data when it returns later reads freed memory. */
static gboolean
pool_data_early_bug (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("known-bugs-manager");
  g_autoptr(TetherPool) pool = tether_pool_new ("known-bugs-pool", 2);
  gboolean manager_ok, pool_ok;

  printf ("pool data released before kept work returns:\n");
  g_assert_true (tether_loop_manager_start (manager, NULL, NULL));
  g_assert_true (tether_pool_start (pool, NULL, NULL));
  manager_ok = kept_run (TETHER_EXECUTOR (manager), "manager (reference)");
  pool_ok = kept_run (TETHER_EXECUTOR (pool), "pool");
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  return manager_ok && pool_ok;
}

typedef struct
{
  GMutex     lock;
  GCond      cond;
  gboolean   called;
  TetherPool *pool;
} SelfStop;

static void
self_stop_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  SelfStop *s = user_data;

  tether_pool_stop_finish (TETHER_POOL (source), result, NULL);
  g_mutex_lock (&s->lock);
  s->called = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);
}

static void
self_stop_work (TetherWork *work,
                gpointer    data)
{
  SelfStop *s = data;

  tether_pool_stop_async (s->pool, TETHER_STOP_MODE_DRAIN, NULL, self_stop_cb, s);
  tether_work_return_int (work, 1);
}

/* Bug: tether_pool_stop_async() says "Thread: any thread whose
 * thread-default context is running, the pool's own threads included", and
 * that the callback comes in the caller's thread-default context once the
 * threads have exited. From a pool thread that context is the thread's
 * manager's, which the stop ends: the callback never runs (the GTask's idle
 * stays on a context nobody iterates, holding the task and the pool). */
static gboolean
pool_self_stop_async_bug (void)
{
  SelfStop s = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = NULL;
  gint64 deadline;
  gboolean called;

  printf ("pool stop_async() from one of the pool's threads:\n");
  g_mutex_init (&s.lock);
  g_cond_init (&s.cond);
  s.pool = tether_pool_new ("known-bugs-self-stop", 2);
  g_assert_true (tether_pool_start (s.pool, NULL, NULL));
  future = tether_pool_submit (s.pool, NULL, self_stop_work, &s, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, 10 * G_USEC_PER_SEC, NULL, NULL));

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  g_mutex_lock (&s.lock);
  while (!s.called && g_cond_wait_until (&s.cond, &s.lock, deadline))
    ;
  called = s.called;
  g_mutex_unlock (&s.lock);
  printf ("  callback %s; pool running: %s\n", called ? "ran" : "NEVER ran (waited 5 s)",
          tether_pool_is_running (s.pool) ? "yes" : "no");

  /* What is left (the task, and the pool it holds) is leaked on failure. */
  if (called)
    g_object_unref (s.pool);
  return called;
}

typedef struct
{
  TetherPool *pool;
  gboolean    ok;       /* the wait ended, or was refused */
  char       *error;
} DirectWait;

static void
trivial_work (TetherWork *work,
              gpointer    data)
{
  tether_work_return_int (work, 7);
}

/* Runs on thread 0's manager, submitted there directly: waits (2 s at
 * most) on a future of its own pool. */
static void
direct_wait_work (TetherWork *work,
                  gpointer    data)
{
  DirectWait *d = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = tether_pool_submit (d->pool, NULL, trivial_work, NULL, NULL,
                                                       NULL, &error);

  g_assert_no_error (error);
  d->ok = tether_future_wait (future, 2 * G_USEC_PER_SEC, NULL, &error) ||
          g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  d->error = error != NULL ? g_strdup (error->message) : NULL;
  tether_work_return_int (work, 1);
}

/* Bug (found by fuzz-pool): work submitted to one of a pool's threads
 * directly (tether_pool_ref_thread(), as the docs suggest for follow-ups
 * that must stay on that thread) that waits on a future of its pool hangs,
 * even with the pool's other thread idle: the pool does not count that
 * thread busy (Worker.busy is only set for the pool's own jobs), so
 * pool_pump() hands the new item to the lowest "idle" index, the waiting
 * thread itself, where it queues behind the wait; wait_would_deadlock_locked()
 * sees an item ASSIGNED but not running and allows the wait. It is not
 * refused with WOULD_DEADLOCK and never ends (here: a 2 s timeout). The
 * same miscount breaks "a long job never holds up queued work while another
 * thread is idle" for direct work, without any wait. */
static gboolean
pool_direct_thread_wait_bug (void)
{
  DirectWait d = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) thread0 = NULL;
  g_autoptr(TetherFuture) future = NULL;

  printf ("a wait on a pool's future from work submitted to its thread 0 directly (2 threads):\n");
  d.pool = tether_pool_new ("known-bugs-direct", 2);
  g_assert_true (tether_pool_start (d.pool, NULL, NULL));
  thread0 = tether_pool_ref_thread (d.pool, 0);
  future = tether_loop_manager_submit (thread0, NULL, direct_wait_work, &d, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, 10 * G_USEC_PER_SEC, NULL, NULL));
  printf ("  %s%s%s\n", d.ok ? "ended or refused" : "NEITHER ended NOR refused: ",
          d.error != NULL ? d.error : "", d.ok ? "" : " (the pool gave the item to the waiting thread)");
  tether_pool_stop (d.pool, TETHER_STOP_MODE_DRAIN);
  g_clear_object (&d.pool);
  g_free (d.error);
  return d.ok;
}

static gboolean
kept_return (gpointer data)
{
  tether_work_return_int (data, 3);
  return G_SOURCE_REMOVE;
}

/* Keeps its work, to return from a timeout on its thread's context. */
static void
kept_300ms_work (TetherWork *work,
                 gpointer    data)
{
  GSource *source = g_timeout_source_new (300);

  g_source_set_callback (source, kept_return, g_object_ref (work), g_object_unref);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

typedef struct
{
  TetherFuture *kept;
  gboolean      refused;
  gboolean      timed_out;
} KeptWait;

static void
kept_wait_work (TetherWork *work,
                gpointer    data)
{
  KeptWait *k = data;
  g_autoptr(GError) error = NULL;

  if (!tether_future_wait (k->kept, 2 * G_USEC_PER_SEC, NULL, &error))
    {
      k->refused = g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
      k->timed_out = g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT);
    }
  tether_work_return_int (work, 1);
}

/* Bug (found by fuzz-pool): a wait, on a pool thread, for work of the same
 * pool whose function returned but which kept its TetherWork to return
 * later from its thread's context is allowed even when that thread is the
 * waiting one (or is itself blocked in such a wait): wait_would_deadlock_locked()
 * returns FALSE for an item ASSIGNED but not running ("deferred past its
 * function") instead of following it to the thread whose context must run
 * to end it. On a 1-thread pool: the kept work returns, the next job waits
 * for it on the same thread and blocks that thread's context, so the kept
 * work cannot end: the wait times out (here after 2 s; without a limit it
 * hangs), where a manager refuses the same wait with WOULD_DEADLOCK. With
 * two threads, each waiting on work kept on the other, it deadlocks. */
static gboolean
pool_wait_on_kept_work_bug (void)
{
  KeptWait k = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) pool = tether_pool_new ("known-bugs-kept", 1);
  g_autoptr(TetherFuture) waiter = NULL;

  printf ("a wait, on a 1-thread pool, on the pool's kept work (which ends from that thread's context):\n");
  g_assert_true (tether_pool_start (pool, NULL, NULL));
  k.kept = tether_pool_submit (pool, NULL, kept_300ms_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  waiter = tether_pool_submit (pool, NULL, kept_wait_work, &k, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (waiter, 10 * G_USEC_PER_SEC, NULL, NULL));
  printf ("  %s\n", k.refused ? "refused with WOULD_DEADLOCK"
                   : k.timed_out ? "NOT refused: it timed out after 2 s (the thread's context was blocked)"
                   : "ended (?)");
  g_assert_true (tether_future_wait (k.kept, 10 * G_USEC_PER_SEC, NULL, NULL));
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_clear_object (&k.kept);
  return k.refused;
}

static int
run_known_bugs (void)
{
  gboolean ok = TRUE;

  /* Fixed: these are regression checks now. */
  ok &= pool_data_early_bug ();
  ok &= pool_self_stop_async_bug ();
  ok &= pool_direct_thread_wait_bug ();
  ok &= pool_wait_on_kept_work_bug ();
  printf ("torture: pool bugs found by this test: %s\n", ok ? "PASS (fixed)" : "FAIL (back)");
  return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */

/* The weights are read as parts of 10000 by pick(): one that does not add
 * up would silently skew the mix. */
static void
check_weights (const char  *what,
               const guint *weights,
               guint        n)
{
  guint sum = 0;

  for (guint i = 0; i < n; i++)
    sum += weights[i];
  if (sum != 10000)
    g_error ("torture: the %s weights add up to %u, not 10000", what, sum);
}

static void
check_mix (void)
{
  check_weights ("operation", op_weights, N_OPS);
  check_weights ("kind", kind_weights, N_KINDS);
  check_weights ("behaviour", behaviour_weights, N_BEHAVIOURS);
  check_weights ("wait", wait_weights, G_N_ELEMENTS (wait_weights));
}

static gboolean
parse_options (int   *argc,
               char **argv[])
{
  g_autoptr(GOptionContext) option_context = NULL;
  g_autoptr(GError) error = NULL;
  gint64 seed_arg = -1;
  GOptionEntry entries[] = {
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed_arg, "Seed of every thread's choices (default: random)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &opt_threads, "Worker threads (default 8)", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "Run this long (default 3)", "S" },
    { "submissions", 0, 0, G_OPTION_ARG_INT64, &opt_submissions, "Run until the workers made this many submissions instead", "N" },
    { "watchdog", 0, 0, G_OPTION_ARG_INT, &opt_watchdog, "Abort if a thread makes no progress this long (default 30)", "S" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print only the verdict", NULL },
    { "pool-known-bugs", 0, 0, G_OPTION_ARG_NONE, &opt_known_bugs, "Run only the minimal checks of known pool bugs", NULL },
    G_OPTION_ENTRY_NULL
  };
  const char *preload = g_getenv ("LD_PRELOAD");

  option_context = g_option_context_new ("- Tether torture test");
  g_option_context_add_main_entries (option_context, entries, NULL);
  if (!g_option_context_parse (option_context, argc, argv, &error))
    {
      fprintf (stderr, "test-torture: %s\n", error->message);
      return FALSE;
    }
  if (opt_threads < 1 || opt_threads > 1000 || opt_seconds <= 0 || opt_submissions < 0 || opt_watchdog < 1)
    {
      fprintf (stderr, "test-torture: --threads must be 1..1000, --seconds, --watchdog positive\n");
      return FALSE;
    }

  opt_seed = seed_arg >= 0 ? (guint64) seed_arg
                           : (((guint64) g_random_int () << 31) ^ g_random_int ()) & G_MAXINT64;
  /* valgrind runs everything on one core, many times slower. */
  if (preload != NULL && strstr (preload, "valgrind") != NULL)
    opt_watchdog *= 10;
  opt_pool_strict = g_strcmp0 (g_getenv ("TETHER_TORTURE_POOL_STRICT"), "0") != 0;
  return TRUE;
}

/* The pool's managers, and the registry manager every worker resolves to. */
static void
setup_managers (void)
{
  g_autoptr(GError) error = NULL;

  record_quark = g_quark_from_static_string ("torture-record");
  records = g_ptr_array_new ();
  graveyard = g_ptr_array_new_with_free_func (g_object_unref);
  orphans = g_ptr_array_new ();

  main_worker.name = g_strdup ("main");
  main_worker.rand = g_rand_new_with_seed ((guint32) opt_seed);
  set_state (&main_worker, "setting up", NULL, 0);

  for (guint i = 0; i < N_SLOTS; i++)
    {
      g_mutex_init (&slots[i].mutex);
      slot_replace (&main_worker, i, g_rand_int (main_worker.rand), g_rand_int (main_worker.rand),
                    g_rand_int_range (main_worker.rand, 0, N_TASK_TYPES));
    }

  for (guint i = 0; i < N_POOL_SLOTS; i++)
    {
      g_mutex_init (&pool_slots[i].mutex);
      pool_slot_replace (&main_worker, i, g_rand_int (main_worker.rand), g_rand_int (main_worker.rand),
                         g_rand_int_range (main_worker.rand, 0, N_TASK_TYPES));
    }

  /* Registered on the main thread, so every worker resolves to it. */
  registered0 = tether_loop_manager_get_or_create (reg_ids[0], TETHER_LOOKUP_FLAGS_NONE, &error);
  g_assert_no_error (error);
  manager_start (&main_worker, registered0, record_for_registered (registered0), 0);
}

static void
setup_workers (void)
{
  workers = g_new0 (Worker *, opt_threads);
  for (int i = 0; i < opt_threads; i++)
    {
      Worker *w = g_new0 (Worker, 1);

      w->index = i;
      w->name = g_strdup_printf ("worker-%d", i);
      w->chunks = g_ptr_array_new_with_free_func (g_free);
      w->held = g_ptr_array_new_with_free_func (held_free);
      w->asyncs = g_ptr_array_new ();
      if (opt_submissions > 0)
        w->quota = (opt_submissions + opt_threads - 1) / opt_threads;
      workers[i] = w;
    }
}

static void
progress_line (gint64 start)
{
  gsize total = 0;

  for (int i = 0; i < opt_threads; i++)
    total += GPOINTER_TO_SIZE (g_atomic_pointer_get (&workers[i]->n_submitted));
  fprintf (stderr, "torture: %.0f s, %" G_GSIZE_FORMAT " submissions made by workers, %d in flight\n",
           (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC, total,
           g_atomic_int_get (&inflight));
}

static gboolean
all_finished (void)
{
  for (int i = 0; i < opt_threads; i++)
    if (!g_atomic_int_get (&workers[i]->finished))
      return FALSE;
  return TRUE;
}

/* Starts the workers, lets them run for the time or the count, and joins
 * them: by then each has seen all its futures and callbacks end. */
static void
run_workers (gint64 start)
{
  gint64 last_line = start;

  for (int i = 0; i < opt_threads; i++)
    workers[i]->thread = tether_thread_new (workers[i]->name, worker_main, workers[i]);

  set_state (&main_worker, "waiting for the run to end", NULL, 0);
  while (opt_submissions > 0 ? !all_finished ()
                             : g_get_monotonic_time () - start < (gint64) (opt_seconds * G_USEC_PER_SEC))
    {
      g_usleep (G_USEC_PER_SEC / 50);
      g_atomic_int_inc (&main_worker.progress);
      if (!opt_quiet && g_get_monotonic_time () - last_line >= 10 * G_USEC_PER_SEC)
        {
          progress_line (start);
          last_line = g_get_monotonic_time ();
        }
    }
  g_atomic_int_set (&time_up, TRUE);

  for (int i = 0; i < opt_threads; i++)
    {
      set_state (&main_worker, "joining a worker", NULL, -1);
      g_thread_join (workers[i]->thread);
      g_atomic_int_inc (&main_worker.progress);
    }
}

/* Every manager stops in DRAIN mode: what is queued still runs. Then the
 * ones work dropped on their own thread, which drain and exit by
 * themselves: waits for the last data to be released. */
static void
stop_everything (void)
{
  gint64 deadline;
  int last = -1;

  graveyard_drain (&main_worker);
  for (guint i = 0; i < N_SLOTS; i++)
    {
      TetherLoopManager *manager;
      ManagerRecord *rec;

      g_mutex_lock (&slots[i].mutex);
      manager = g_steal_pointer (&slots[i].manager);
      rec = slots[i].record;
      g_mutex_unlock (&slots[i].mutex);

      set_state (&main_worker, "stopping (DRAIN) manager", rec, -1);
      tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
      g_object_unref (manager);
      g_atomic_int_inc (&main_worker.progress);
    }
  for (guint i = 0; i < N_POOL_SLOTS; i++)
    {
      TetherPool *pool;
      ManagerRecord *rec;

      g_mutex_lock (&pool_slots[i].mutex);
      pool = g_steal_pointer (&pool_slots[i].pool);
      rec = pool_slots[i].record;
      g_mutex_unlock (&pool_slots[i].mutex);

      set_state (&main_worker, "stopping (DRAIN) pool", rec, -1);
      tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
      g_object_unref (pool);
      g_atomic_int_inc (&main_worker.progress);
    }
  set_state (&main_worker, "stopping (DRAIN) manager", record_for_registered (registered0), -1);
  tether_loop_manager_stop (registered0, TETHER_STOP_MODE_DRAIN);

  set_state (&main_worker, "waiting for every submission's data to be released", NULL, -1);
  deadline = g_get_monotonic_time () + (gint64) opt_watchdog * G_USEC_PER_SEC / 2;
  while (g_atomic_int_get (&inflight) > 0 && g_get_monotonic_time () < deadline)
    {
      int now = g_atomic_int_get (&inflight);

      graveyard_drain (&main_worker);
      if (now != last)
        {
          g_atomic_int_inc (&main_worker.progress);
          last = now;
        }
      g_usleep (1000);
    }
  graveyard_drain (&main_worker);
  orphans_reap (TRUE);
}

static void
stop_watchdog (GThread *watchdog)
{
  g_mutex_lock (&watchdog_lock);
  watchdog_quit = TRUE;
  g_cond_signal (&watchdog_cond);
  g_mutex_unlock (&watchdog_lock);
  g_thread_join (watchdog);
}

static void
stats_add (Stats       *sum,
           const Stats *w)
{
  sum->waits += w->waits;
  sum->wait_timeouts += w->wait_timeouts;
  sum->cancels += w->cancels;
  sum->drops += w->drops;
  sum->forgets += w->forgets;
  for (guint m = 0; m < G_N_ELEMENTS (sum->stops); m++)
    sum->stops[m] += w->stops[m];
  sum->within_ran += w->within_ran;
  sum->within_cancelled += w->within_cancelled;
  sum->starts += w->starts;
  sum->starts_raced += w->starts_raced;
  sum->replacements += w->replacements;
  sum->lookups += w->lookups;
  sum->lookups_not_found += w->lookups_not_found;
  sum->lookups_invalid += w->lookups_invalid;
  sum->configs += w->configs;
  for (guint m = 0; m < G_N_ELEMENTS (sum->pool_stops); m++)
    sum->pool_stops[m] += w->pool_stops[m];
  sum->pool_starts += w->pool_starts;
  sum->pool_starts_raced += w->pool_starts_raced;
  sum->pool_replacements += w->pool_replacements;
  sum->pool_configs += w->pool_configs;
}

/* Checks every entry of the ledger, then that the totals add up. */
static void
verify_all (Totals *t,
            Stats  *stats)
{
  for (int i = 0; i < opt_threads; i++)
    {
      Worker *w = workers[i];

      for (guint c = 0; c < w->chunks->len; c++)
        {
          Entry *chunk = g_ptr_array_index (w->chunks, c);

          for (guint k = 0; k < CHUNK_SIZE; k++)
            verify_entry (&chunk[k], t);
        }
      stats_add (stats, &w->stats);
    }

  if (t->accepted != t->outcomes[OUT_SUCCEEDED] + t->outcomes[OUT_FAILED] + t->outcomes[OUT_ABANDONED] +
                     t->outcomes[OUT_CANCELLED] + t->lost)
    violation ("the counts do not add up: accepted != succeeded + failed + abandoned + cancelled + lost");
  if (t->attempted != t->accepted + t->rejected[ACC_NOT_RUNNING] + t->rejected[ACC_TASK_TYPE] +
                      t->rejected[ACC_BUSY] + t->rejected[ACC_OTHER] + t->unknown)
    violation ("the counts do not add up: attempted != accepted + rejected + never answered");
  if (g_atomic_int_get (&inflight) != 0)
    violation ("%d submissions still hold their data after every manager stopped",
               g_atomic_int_get (&inflight));
}

#define ROW "  %-22s "
#define U64 "%" G_GUINT64_FORMAT

static void
print_summary (const Totals *t,
               const Stats  *stats,
               gint64        elapsed)
{
  double seconds = elapsed / (double) G_USEC_PER_SEC;

  printf ("submissions\n");
  printf (ROW U64 " (submit " U64 ", submit_after " U64 ", submit_at " U64 ", submit_async " U64
          ", post " U64 "; " U64 " of them made by work on a manager's thread)\n",
          "attempted", t->attempted, t->by_kind[KIND_FUTURE], t->by_kind[KIND_AFTER],
          t->by_kind[KIND_AT], t->by_kind[KIND_ASYNC], t->by_kind[KIND_POST], t->nested);
  printf (ROW U64 "\n", "accepted", t->accepted);
  printf (ROW U64 " (" U64 " accepted)\n", "of which to pools", t->pool_attempted, t->pool_accepted);
  printf (ROW U64 " (not-running " U64 ", unknown-task-type " U64 ", busy " U64 ", other " U64 ")\n",
          "rejected", t->rejected[ACC_NOT_RUNNING] + t->rejected[ACC_TASK_TYPE] +
          t->rejected[ACC_BUSY] + t->rejected[ACC_OTHER],
          t->rejected[ACC_NOT_RUNNING], t->rejected[ACC_TASK_TYPE], t->rejected[ACC_BUSY],
          t->rejected[ACC_OTHER]);
  printf ("how the accepted ones ended (" U64 " inferred from what their work did: posts, "
          "futures dropped unobserved)\n", t->inferred);
  printf (ROW U64 "\n", "succeeded", t->outcomes[OUT_SUCCEEDED]);
  printf (ROW U64 " (+" U64 " abandoned: the work dropped its handle)\n",
          "failed", t->outcomes[OUT_FAILED], t->outcomes[OUT_ABANDONED]);
  printf (ROW U64 " (" U64 " before running, " U64 " while running)\n", "cancelled",
          t->outcomes[OUT_CANCELLED], t->cancelled_unrun, t->cancelled_running);
  printf (ROW U64 "\n", "lost", t->lost);
  printf (ROW U64 " (work functions called)\n", "ran", t->ran);
  printf (ROW "%d (submitted, data not yet released)\n", "max in flight", g_atomic_int_get (&max_inflight));

  printf ("operations\n");
  printf (ROW U64 " (" U64 " timed out), cancels " U64 ", futures dropped " U64
          " (+" U64 " unobserved)\n", "waits", stats->waits, stats->wait_timeouts, stats->cancels,
          stats->drops, stats->forgets);
  printf (ROW "timed out %d; refused: own thread %d, closing a cycle %d; "
          "nested submissions skipped %d\n", "nested waits",
          g_atomic_int_get (&nested_timed_out), g_atomic_int_get (&nested_own_deadlock),
          g_atomic_int_get (&nested_cycle_deadlock), g_atomic_int_get (&nested_skipped));
  printf (ROW "DRAIN " U64 ", CANCEL " U64 ", within a deadline " U64 " (" U64 " ran, " U64
          " cancelled), by work on its own manager %d\n", "stops", stats->stops[0], stats->stops[1],
          stats->stops[2], stats->within_ran, stats->within_cancelled, g_atomic_int_get (&self_stops));
  printf (ROW U64 " (+" U64 " already running), replaced " U64 ", reconfigured " U64
          ", %u made in all\n", "manager starts", stats->starts, stats->starts_raced,
          stats->replacements, stats->configs, records->len);
  printf (ROW "DRAIN " U64 ", CANCEL " U64 ", stop_async " U64 "; starts " U64 " (+" U64
          " already running or stopping), replaced " U64 ", reconfigured " U64 "\n", "pool stops",
          stats->pool_stops[0], stats->pool_stops[1], stats->pool_stops[2], stats->pool_starts,
          stats->pool_starts_raced, stats->pool_replacements, stats->pool_configs);
  printf (ROW "waits without limit on the own pool %d, refused WOULD_DEADLOCK %d; "
          "self-stops skipped %d\n", "pool nested waits", g_atomic_int_get (&nested_pool_forever),
          g_atomic_int_get (&nested_pool_deadlock), g_atomic_int_get (&pool_self_skipped));
  printf (ROW "released before the kept work ended %d; cancelled unrun, released inside "
          "submit %d, on a worker %d%s\n", "pool data (known)", g_atomic_int_get (&pool_data_early),
          pool_data_in_submit, pool_data_on_worker,
          opt_pool_strict ? "" : " (TETHER_TORTURE_POOL_STRICT=0: counted, not failed)");
  printf (ROW U64 " (" U64 " not found, " U64 " invalid flags)\n", "registry lookups",
          stats->lookups, stats->lookups_not_found, stats->lookups_invalid);
  printf (ROW "%.2f s, %.0f submissions/s\n", "wall time", seconds, t->attempted / seconds);
}

#undef ROW
#undef U64

/* Everything goes, so valgrind and LeakSanitizer see no leak. */
static void
free_everything (void)
{
  g_object_unref (registered0);
  for (int i = 0; i < opt_threads; i++)
    {
      Worker *w = workers[i];

      g_ptr_array_unref (w->chunks);
      g_ptr_array_unref (w->held);
      g_ptr_array_unref (w->asyncs);
      g_free (w->name);
      g_free (w);
    }
  g_free (workers);
  for (guint i = 0; i < records->len; i++)
    {
      ManagerRecord *rec = g_ptr_array_index (records, i);

      g_free (rec->id);
      g_free (rec->prefix);
      g_free (rec);
    }
  g_ptr_array_unref (records);
  g_ptr_array_unref (graveyard);
  g_ptr_array_unref (orphans);
  for (guint i = 0; i < N_SLOTS; i++)
    g_mutex_clear (&slots[i].mutex);
  for (guint i = 0; i < N_POOL_SLOTS; i++)
    g_mutex_clear (&pool_slots[i].mutex);
  g_rand_free (main_worker.rand);
  g_free (main_worker.name);
}

int
main (int   argc,
      char *argv[])
{
  GThread *watchdog;
  gint64 start, elapsed;
  Stats stats = { 0 };
  Totals t = { 0 };
  gboolean pass;

  if (!parse_options (&argc, &argv))
    return 2;
  if (opt_known_bugs)
    return run_known_bugs ();
  check_mix ();

  if (opt_submissions > 0)
    printf ("torture: seed %" G_GUINT64_FORMAT ", %d threads, %" G_GINT64_FORMAT " submissions\n",
            opt_seed, opt_threads, opt_submissions);
  else
    printf ("torture: seed %" G_GUINT64_FORMAT ", %d threads, %.1f s\n", opt_seed, opt_threads, opt_seconds);
  printf ("torture: rerun with --seed %" G_GUINT64_FORMAT " to replay each thread's choices "
          "(thread interleaving is not reproducible)\n", opt_seed);
  fflush (stdout);

  setup_managers ();
  setup_workers ();
  watchdog = g_thread_new ("torture-watchdog", watchdog_main, NULL);

  start = g_get_monotonic_time ();
  run_workers (start);
  stop_everything ();
  elapsed = g_get_monotonic_time () - start;
  stop_watchdog (watchdog);

  verify_all (&t, &stats);
  pass = g_atomic_int_get (&violations) == 0 && t.lost == 0;
  if (!opt_quiet)
    print_summary (&t, &stats, elapsed);
  printf ("torture: seed %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT " submissions, %" G_GUINT64_FORMAT
          " lost, %d violations: %s\n",
          opt_seed, t.attempted, t.lost, g_atomic_int_get (&violations), pass ? "PASS" : "FAIL");

  free_everything ();
  /* Managers whose last reference went while they ran drain on their own:
   * a leak checker must find them gone. */
  if (!tether_loop_manager_wait_detached (60 * G_USEC_PER_SEC))
    {
      printf ("torture: detached manager threads still draining after 60 s: FAIL\n");
      pass = FALSE;
    }
  return pass ? 0 : 1;
}

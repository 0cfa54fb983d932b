/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-manager: a libFuzzer harness for the loop manager's ledger.
 *
 * Each input is decoded into at most 64 operations of 4 bytes each, spread
 * over the fuzzer's own thread and two helper threads (made with
 * tether_thread_new(), so they are children of the fuzzer's thread), acting
 * on three manager slots. Work runs in many shapes: returning at once, failing,
 * finishing later from a timeout on the manager's loop, abandoning its handle,
 * polling its cancellable, submitting to another manager (or to its own, and
 * waiting: WOULD_DEADLOCK), stopping its own manager, looking up the registry,
 * bounding its own queue. Around it the actors start, stop (DRAIN, CANCEL,
 * within a deadline), replace and bound managers, cancel and wait for
 * futures, cancel cancellables, and look up, create and adopt through the
 * lineage registry (only in the helpers: what the fuzzer's thread registers
 * would outlive the input).
 * At the end of the input every manager is stopped and dropped, every async
 * callback is collected, the helpers are joined, and the ledger is checked:
 * every submission's func_data_destroy ran exactly once, a rejected one never
 * ran, no work ran twice, no future is pending, and every outcome is the one
 * the work produced (or "cancelled" for accepted work that never ran).
 * Any violation aborts with a message naming the submission.
 *
 * Build (clang 14 with libclang-rt-14-dev), in the configuration of the ASan
 * build of tests/run-all plus -Dfuzzing=true (run-all uses _build-asan).
 * tests/fuzz/meson.build compiles the library again with coverage
 * (-fsanitize=fuzzer-no-link) on top of the project's ASan and UBSan, and
 * links the harness with -fsanitize=fuzzer:
 *
 *   CC=clang meson setup _build-fuzz -Db_sanitize=address,undefined -Db_lundef=false \
 *     -Dc_args=-fno-sanitize=function -Dintrospection=disabled -Dfuzzing=true
 *   ninja -C _build-fuzz tests/fuzz/fuzz-manager
 *
 * CI (meson test -C _build-fuzz --suite fuzz): fuzz-corpus runs every file in
 * tests/fuzz/corpus once, fuzz-smoke fuzzes for 20 s from it, writing new
 * inputs to a scratch directory only (tests/fuzz/run-fuzz.sh). By hand:
 *
 *   find tests/fuzz/corpus -type f | xargs ./_build-fuzz/tests/fuzz/fuzz-manager
 *   mkdir -p /tmp/fuzz-new
 *   ./_build-fuzz/tests/fuzz/fuzz-manager -max_total_time=20 -timeout=30 -max_len=256 \
 *     -rss_limit_mb=4096 /tmp/fuzz-new tests/fuzz/corpus
 *
 * A long run (the first directory collects what it finds; the committed
 * corpus is only read), then a merge that keeps what adds edge coverage:
 *
 *   mkdir -p /tmp/fuzz-long /tmp/fuzz-min
 *   ./_build-fuzz/tests/fuzz/fuzz-manager -max_total_time=3600 -timeout=30 -max_len=256 \
 *     -len_control=0 -rss_limit_mb=4096 -print_final_stats=1 /tmp/fuzz-long tests/fuzz/corpus
 *   ./_build-fuzz/tests/fuzz/fuzz-manager -merge=1 -use_counters=0 -max_len=256 \
 *     /tmp/fuzz-min tests/fuzz/corpus /tmp/fuzz-long
 *
 * then copy the inputs of /tmp/fuzz-min that are not in tests/fuzz/corpus
 * yet into it. Threads make the edges an input reaches vary from run to
 * run, so keep the hand-written seed-* files and only the found-* inputs
 * that add several edges.
 *
 * A crash leaves crash-<sha1> (or timeout-<sha1>) in the working directory.
 * Interleavings vary, so replay it many times, with the decoded operations
 * and submissions traced on stderr:
 *
 *   FUZZ_TETHER_TRACE=1 ./_build-fuzz/tests/fuzz/fuzz-manager -runs=100 crash-<sha1>
 *
 * Input format: 4 bytes per operation, [op][a][b][c]. The low 5 bits of op
 * pick the operation (modulo the number of operations), bits 5-6 the thread
 * (0 the fuzzer's, 1 and 2 the helpers, 3 the fuzzer's again); a, b and c are
 * its arguments (see run_op()). A work mode byte picks the shape of the work
 * (modulo N_MODES) and, in its upper part, a parameter.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tether.h>

#define N_SLOTS       3
#define N_ACTORS      3
#define MAX_OPS       64
#define OP_SIZE       4
#define MAX_SUBS      512
#define MAX_WAITS     128
#define MAX_DEPTH     2
#define DEADLINE_USEC (5 * G_USEC_PER_SEC)
#define VALUE_BASE    1000

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef enum
{
  OP_START,
  OP_STOP,
  OP_RECREATE,
  OP_SUBMIT,
  OP_SUBMIT_AFTER,
  OP_SUBMIT_AT,
  OP_SUBMIT_ASYNC,
  OP_POST,
  OP_FUTURE_CANCEL,
  OP_FUTURE_WAIT,
  OP_WAIT_ASYNC,
  OP_CANCEL_SHARED,
  OP_LINEAGE,
  OP_ADOPT,
  OP_ITERATE,
  OP_SLEEP,
  OP_SNAPSHOT,
  OP_SET_MAX_PENDING,
  OP_SET_SUBMIT_TIMEOUT,
  OP_STOP_WITHIN,
  OP_TUNE,
  OP_STATS,
  N_OPS,
  OP_END = 255,
} OpKind;

static const char *op_names[N_OPS] = {
  "start", "stop", "recreate", "submit", "submit_after", "submit_at", "submit_async", "post",
  "future_cancel", "future_wait", "wait_async", "cancel_shared", "lineage", "adopt", "iterate",
  "sleep", "snapshot", "set_max_pending", "set_submit_timeout", "stop_within", "tune", "stats",
};

typedef enum
{
  W_VALUE,
  W_ERROR,
  W_DEFER,
  W_ABANDON,
  W_ABANDON_LATER,
  W_CANCEL_AWARE,
  W_NESTED,
  W_SELF_STOP,
  W_WAIT_OWN,
  W_LINEAGE,
  W_SPIN,
  W_LIMITS,
  N_MODES,
} WorkMode;

static const char *mode_names[N_MODES] = {
  "value", "error", "defer", "abandon", "abandon-later", "cancel-aware", "nested", "self-stop",
  "wait-own", "lineage", "spin", "limits",
};

typedef enum
{
  K_FUTURE,
  K_AFTER,
  K_AT,
  K_ASYNC,
  K_POST,
  K_CHILD,
} SubKind;

typedef enum
{
  R_NONE,
  R_VALUE,
  R_ERROR,
  R_CANCELLED,
  R_ABANDONED,
} Returned;

typedef struct _State State;
typedef struct _Box   Box;

typedef struct
{
  guint8 kind;
  guint8 a;
  guint8 b;
  guint8 c;
} Op;

/* One manager object seen during the input. */
struct _Box
{
  int           index;
  gpointer      manager;   /* identity only */
  GMainContext *context;   /* the manager's, constant for its life */
  int           in_work;   /* atomic */
  int           gone;      /* atomic: finalized */
  int           n_subs;    /* atomic: submissions made to it */
  int           last_seq[N_ACTORS];
};

/* One submission. */
typedef struct
{
  State         *st;
  int            id;
  SubKind        kind;
  int            mode;
  int            param;
  int            depth;
  int            actor;         /* submitting actor, -1 from inside work */
  int            seq;
  gboolean       queued_order;  /* runs in submission order with its actor's others */
  gboolean       precancelled;
  Box           *box;
  int            ran;           /* atomic */
  int            destroyed;     /* atomic */
  int            returned;      /* atomic Returned */
  int            rejected;      /* atomic */
  int            callbacks;     /* atomic, async only */
  gboolean       cb_ok;
  int            cb_value;
  GQuark         cb_domain;
  int            cb_code;
  TetherFuture  *future;        /* owned, set once */
} Sub;

typedef struct
{
  Sub *sub;
  int  calls;   /* atomic */
} WaitRec;

typedef struct
{
  Sub *sub;
} Ticket;

typedef struct
{
  State         *st;
  int            index;
  GMainContext  *context;
  GCancellable  *shared;
  int            seq;
  int            cb_expected;
  int            cb_got;
  gboolean       in_submit;
  GAsyncQueue   *ops;
  GThread       *thread;
} Actor;

struct _State
{
  GMutex              lock;
  TetherLoopManager  *slots[N_SLOTS];
  GPtrArray          *boxes;
  GPtrArray          *graveyard;
  GPtrArray          *with_future;
  TetherLineage      *tokens[N_ACTORS];
  Sub                 subs[MAX_SUBS];
  int                 n_subs;
  WaitRec             waits[MAX_WAITS];
  int                 n_waits;
  Actor               actors[N_ACTORS];
  GAsyncQueue        *done;
};

static const char *task_types[3] = { NULL, "alpha", "beta" };
static const char *lineage_ids[3] = { "fz-a", "fz-b", NULL };

static int live_managers;
static int live_threads;
static gboolean trace;
static GQuark box_quark;

static void thread_marker_gone (gpointer data);
static GPrivate thread_marker = G_PRIVATE_INIT (thread_marker_gone);

static GQuark
fuzz_error_quark (void)
{
  return g_quark_from_static_string ("fuzz-manager-error");
}

G_GNUC_NORETURN G_GNUC_PRINTF (1, 2) static void
die (const char *format,
     ...)
{
  va_list args;

  fprintf (stderr, "fuzz-manager: invariant violated: ");
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fprintf (stderr, "\n");
  fflush (stderr);
  abort ();
}

G_GNUC_PRINTF (1, 2) static void
say (const char *format,
     ...)
{
  va_list args;

  if (!trace)
    return;
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fprintf (stderr, "\n");
}

static void
thread_marker_gone (gpointer data)
{
  g_atomic_int_add (&live_threads, -1);
}

/* Counts the manager threads that ran our work until they exit. */
static void
mark_thread (void)
{
  if (g_private_get (&thread_marker) == NULL)
    {
      g_atomic_int_inc (&live_threads);
      g_private_set (&thread_marker, GINT_TO_POINTER (1));
    }
}

static gboolean
is_rejection (const GError *error)
{
  return g_error_matches (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING) ||
         g_error_matches (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE) ||
         g_error_matches (error, TETHER_ERROR, TETHER_ERROR_BUSY);
}

/* The errors accepted work can end with, given what it returned. */
static gboolean
is_work_error (const GError *error)
{
  return g_error_matches (error, fuzz_error_quark (), 7) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ABANDONED);
}

static void
manager_gone (gpointer  data,
              GObject  *where_the_object_was)
{
  Box *box = data;

  g_atomic_int_set (&box->gone, TRUE);
  g_atomic_int_add (&live_managers, -1);
}

/* Caller holds st->lock. */
static Box *
box_for_locked (State             *st,
                TetherLoopManager *manager,
                gboolean          *fresh)
{
  Box *box = g_object_get_qdata (G_OBJECT (manager), box_quark);

  *fresh = box == NULL;
  if (box != NULL)
    return box;

  box = g_new0 (Box, 1);
  box->index = st->boxes->len;
  box->manager = manager;
  box->context = tether_loop_manager_get_context (manager);
  for (int i = 0; i < N_ACTORS; i++)
    box->last_seq[i] = -1;
  g_ptr_array_add (st->boxes, box);
  say ("  (manager %d is '%s')", box->index, tether_loop_manager_get_id (manager));
  g_object_set_qdata (G_OBJECT (manager), box_quark, box);
  g_atomic_int_inc (&live_managers);
  g_object_weak_ref (G_OBJECT (manager), manager_gone, box);
  return box;
}

static Box *
box_for_new (State             *st,
             TetherLoopManager *manager,
             gboolean          *fresh)
{
  Box *box;

  g_mutex_lock (&st->lock);
  box = box_for_locked (st, manager, fresh);
  g_mutex_unlock (&st->lock);
  return box;
}

static Box *
box_for (State             *st,
         TetherLoopManager *manager)
{
  gboolean fresh;

  return box_for_new (st, manager, &fresh);
}

static TetherLoopManager *
slot_ref (State *st,
          int    slot)
{
  TetherLoopManager *manager;

  g_mutex_lock (&st->lock);
  manager = st->slots[slot] != NULL ? g_object_ref (st->slots[slot]) : NULL;
  g_mutex_unlock (&st->lock);
  return manager;
}

/* Drops a manager reference at the end of the input, on the fuzzer's thread:
 * work must not drop the last reference to another manager, since that
 * blocks until the other manager's thread has drained, and two managers
 * doing it to each other would wait forever. */
static void
bury (State             *st,
      TetherLoopManager *manager)
{
  g_mutex_lock (&st->lock);
  g_ptr_array_add (st->graveyard, manager);
  g_mutex_unlock (&st->lock);
}

static Sub *
sub_new (State   *st,
         SubKind  kind,
         Box     *box,
         int      mode_byte,
         int      depth,
         int      actor)
{
  int i = g_atomic_int_add (&st->n_subs, 1);
  Sub *sub;

  if (i >= MAX_SUBS)
    return NULL;
  sub = &st->subs[i];
  g_atomic_int_inc (&box->n_subs);
  sub->st = st;
  sub->id = i;
  sub->kind = kind;
  sub->box = box;
  sub->mode = mode_byte % N_MODES;
  sub->param = mode_byte / N_MODES;
  sub->depth = depth;
  sub->actor = actor;
  if (depth >= MAX_DEPTH &&
      (sub->mode == W_NESTED || sub->mode == W_WAIT_OWN || sub->mode == W_LINEAGE))
    sub->mode = W_VALUE;
  return sub;
}

static void
ticket_free (gpointer data)
{
  Ticket *ticket = data;

  g_atomic_int_inc (&ticket->sub->destroyed);
  g_free (ticket);
}

static Ticket *
ticket_new (Sub *sub)
{
  Ticket *ticket = g_new0 (Ticket, 1);

  ticket->sub = sub;
  return ticket;
}

static void
set_returned (Sub      *sub,
              Returned  returned)
{
  if (!g_atomic_int_compare_and_exchange (&sub->returned, R_NONE, returned))
    die ("submission %d returned twice", sub->id);
}

static void
finish_value (TetherWork *work,
              Sub        *sub)
{
  set_returned (sub, R_VALUE);
  tether_work_return_int (work, VALUE_BASE + sub->id);
}

static void
finish_error (TetherWork *work,
              Sub        *sub)
{
  set_returned (sub, R_ERROR);
  tether_work_return_new_error (work, fuzz_error_quark (), 7, "work %d failed", sub->id);
}

static void
check_on_manager (Sub *sub)
{
  Box *box = sub->box;
  TetherLoopManager *current;

  if (g_main_context_get_thread_default () != box->context)
    die ("submission %d ran outside its manager's context", sub->id);

  current = tether_loop_manager_ref_current ();
  if (current != NULL && (gpointer) current != box->manager)
    die ("submission %d: ref_current() is another manager", sub->id);
  g_clear_object (&current);
}

static void
enter_run (Sub *sub)
{
  Box *box = sub->box;

  mark_thread ();
  if (g_atomic_int_add (&sub->ran, 1) != 0)
    die ("submission %d ran twice", sub->id);
  if (g_atomic_int_add (&box->in_work, 1) != 0)
    die ("submission %d ran while other work ran on manager %d", sub->id, box->index);
  if (sub->precancelled)
    die ("submission %d ran although its cancellable was cancelled before submission", sub->id);
  if (sub->queued_order)
    {
      int last = g_atomic_int_get (&box->last_seq[sub->actor]);

      if (sub->seq <= last)
        die ("submission %d (seq %d from actor %d) ran after seq %d on manager %d",
             sub->id, sub->seq, sub->actor, last, box->index);
      g_atomic_int_set (&box->last_seq[sub->actor], sub->seq);
    }
  check_on_manager (sub);
}

static void
leave_run (Sub *sub)
{
  g_atomic_int_add (&sub->box->in_work, -1);
}

typedef struct
{
  TetherWork *work;
  Sub        *sub;
  gboolean    abandon;
} Deferred;

static gboolean
deferred_fire (gpointer data)
{
  Deferred *deferred = data;
  Sub *sub = deferred->sub;

  if (g_main_context_get_thread_default () != sub->box->context)
    die ("deferred return of submission %d ran outside its manager's context", sub->id);

  if (deferred->abandon)
    set_returned (sub, R_ABANDONED);
  else if (sub->param & 2)
    finish_error (deferred->work, sub);
  else
    finish_value (deferred->work, sub);

  g_object_unref (deferred->work);
  g_free (deferred);
  return G_SOURCE_REMOVE;
}

static void
defer (TetherWork *work,
       Sub        *sub,
       gboolean    abandon)
{
  Deferred *deferred = g_new0 (Deferred, 1);
  GSource *source = g_timeout_source_new (sub->param & 1);

  deferred->work = g_object_ref (work);
  deferred->sub = sub;
  deferred->abandon = abandon;
  g_source_set_callback (source, deferred_fire, deferred, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
}

static void work_func (TetherWork *work, gpointer data);
static void post_func (gpointer data);

/* Work submits to another manager (a slot), and may wait a little for it. */
static void
work_nested (Sub *sub)
{
  State *st = sub->st;
  int slot = sub->param % N_SLOTS;
  TetherLoopManager *target = slot_ref (st, slot);
  g_autoptr(GError) error = NULL;
  TetherFuture *future;
  Box *target_box;
  Sub *child;

  if (target == NULL)
    return;
  target_box = box_for (st, target);
  child = sub_new (st, K_CHILD, target_box, sub->param / N_SLOTS, sub->depth + 1, -1);
  if (child == NULL)
    {
      bury (st, target);
      return;
    }

  future = tether_loop_manager_submit (target, task_types[(sub->param / 2) % 3],
                                       work_func, ticket_new (child), ticket_free, NULL, &error);
  if (future == NULL)
    {
      g_atomic_int_set (&child->rejected, TRUE);
      if (!is_rejection (error))
        die ("nested submission %d refused with %s", child->id, error->message);
      if (g_atomic_int_get (&child->destroyed) != 1)
        die ("nested submission %d rejected without its destroy notify", child->id);
    }
  else
    {
      child->future = future;
      if (sub->param & 1)
        {
          g_autoptr(GError) wait_error = NULL;

          if (!tether_future_wait (future, 300, NULL, &wait_error))
            {
              if (g_error_matches (wait_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
                {
                  /* On another manager: a cycle of waits (work on that
                   * manager waiting for this one). */
                }
              else if (g_error_matches (wait_error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
                {
                  if (target_box == sub->box)
                    die ("waiting on manager %d's own thread timed out instead of "
                         "reporting WOULD_DEADLOCK", sub->box->index);
                }
              else if (!is_work_error (wait_error))
                die ("nested wait for %d failed with %s", child->id, wait_error->message);
            }
        }
    }
  bury (st, target);
}

/* Work submits to its own manager and waits: only WOULD_DEADLOCK, or an
 * outcome if the child already ended (cancelled by a stop), is right. */
static void
work_wait_own (Sub *sub)
{
  State *st = sub->st;
  TetherLoopManager *self = tether_loop_manager_ref_current ();
  g_autoptr(GError) error = NULL;
  g_autofree char *task_type = NULL;
  TetherFuture *future;
  Sub *child;

  if (self == NULL)
    return;
  child = sub_new (st, K_CHILD, sub->box, sub->param, sub->depth + 1, -1);
  if (child == NULL)
    {
      bury (st, self);
      return;
    }
  task_type = tether_loop_manager_dup_task_type (self);
  future = tether_loop_manager_submit (self, task_type, work_func, ticket_new (child),
                                       ticket_free, NULL, &error);
  if (future == NULL)
    {
      g_atomic_int_set (&child->rejected, TRUE);
      if (!is_rejection (error))
        die ("submission %d to its own manager refused with %s", child->id, error->message);
    }
  else
    {
      g_autoptr(GError) wait_error = NULL;

      child->future = future;
      if (tether_future_wait (future, (sub->param & 1) ? -1 : 1000, NULL, &wait_error))
        {
          if (tether_future_get_status (future) != TETHER_FUTURE_STATUS_SUCCEEDED)
            die ("wait for %d succeeded on a future that did not", child->id);
        }
      else if (!g_error_matches (wait_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
        {
          if (!tether_future_is_done (future))
            die ("wait on the manager's own thread for queued %d: %s", child->id,
                 wait_error->message);
        }

      g_clear_error (&wait_error);
      if (!tether_future_wait (future, 0, NULL, &wait_error) &&
          !tether_future_is_done (future) &&
          !g_error_matches (wait_error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
        die ("zero-timeout wait for %d on its own thread: %s", child->id, wait_error->message);
    }
  bury (st, self);
}

/* Work stops its own manager: the stop only begins, and from then on
 * submissions from here fail with NOT_RUNNING. */
static void
work_self_stop (Sub *sub)
{
  TetherLoopManager *self = tether_loop_manager_ref_current ();
  g_autoptr(GError) error = NULL;
  Sub *child;

  if (self == NULL)
    return;

  tether_loop_manager_stop (self, (sub->param & 1) ? TETHER_STOP_MODE_CANCEL
                                                   : TETHER_STOP_MODE_DRAIN);
  if (tether_loop_manager_is_running (self))
    die ("manager %d still running after a stop from its own thread", sub->box->index);

  if (tether_loop_manager_start (self, NULL, &error))
    die ("manager %d restarted from its own thread while stopping", sub->box->index);
  if (!g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING))
    die ("start on a stopping manager's own thread: %s", error->message);
  g_clear_error (&error);

  child = sub_new (sub->st, K_CHILD, sub->box, W_VALUE, sub->depth + 1, -1);
  if (child != NULL)
    {
      if (tether_loop_manager_post (self, NULL, post_func, ticket_new (child), ticket_free,
                                    &error))
        die ("manager %d accepted a post from work it is draining", sub->box->index);
      g_atomic_int_set (&child->rejected, TRUE);
      if (!g_error_matches (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING))
        die ("post from work being drained: %s", error->message);
    }

  /* May be the last reference: the manager then finishes draining and its
   * thread exits by itself. */
  g_object_unref (self);
}

static void
check_lookup (TetherLoopManager *manager,
              TetherLookupFlags  flags,
              const GError      *error)
{
  if ((flags & TETHER_LOOKUP_FLAGS_FORCE_CREATE) && (flags & TETHER_LOOKUP_FLAGS_STRICT))
    {
      if (manager != NULL || !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT))
        die ("FORCE_CREATE|STRICT did not fail with INVALID_ARGUMENT");
    }
  else if (flags & TETHER_LOOKUP_FLAGS_STRICT)
    {
      if (manager == NULL && !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_MANAGER_NOT_FOUND))
        die ("STRICT lookup failed with %s", error->message);
    }
  else if (manager == NULL)
    {
      die ("lookup with flags %d failed: %s", flags, error->message);
    }
}

/* Work looks up the registry from a manager's thread, starts what it finds
 * if needed, and posts to it. */
static void
work_lineage (Sub *sub)
{
  State *st = sub->st;
  TetherLookupFlags flags = (sub->param / 3) % 4;
  g_autoptr(GError) error = NULL;
  TetherLoopManager *manager;
  gboolean fresh;
  Box *box;
  Sub *child;

  manager = tether_loop_manager_get_or_create (lineage_ids[sub->param % 3], flags, &error);
  check_lookup (manager, flags, error);
  if (manager == NULL)
    return;
  g_clear_error (&error);

  /* Only a manager this lookup created is started here: starting one found
   * in the registry could wait for its stop, and that stop could be waiting
   * for this very thread. */
  box = box_for_new (st, manager, &fresh);
  if (fresh &&
      !tether_loop_manager_start (manager, NULL, &error) &&
      !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING))
    die ("starting a registry manager from work: %s", error->message);
  g_clear_error (&error);

  child = sub_new (st, K_CHILD, box, W_VALUE, sub->depth + 1, -1);
  if (child != NULL &&
      !tether_loop_manager_post (manager, NULL, post_func, ticket_new (child), ticket_free,
                                 &error))
    {
      g_atomic_int_set (&child->rejected, TRUE);
      if (!is_rejection (error))
        die ("post to a registry manager refused with %s", error->message);
    }
  bury (st, manager);
}

/* Work tries the limits API on its own manager: stop_within() must refuse
 * to wait for itself, and a full queue refuses its own thread at once. */
static void
work_limits (Sub *sub)
{
  TetherLoopManager *self = tether_loop_manager_ref_current ();
  g_autoptr(GError) error = NULL;
  guint n_ran = 7, n_cancelled = 7;

  if (self == NULL)
    return;

  if (tether_loop_manager_stop_within (self, 0, &n_ran, &n_cancelled, &error))
    die ("stop_within() on manager %d's own thread did not fail", sub->box->index);
  if (!g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
    die ("stop_within() on its own thread: %s", error->message);
  if (n_ran != 7 || n_cancelled != 7)
    die ("stop_within() on its own thread wrote its counts");

  tether_loop_manager_set_max_pending (self, sub->param % 3);
  tether_loop_manager_set_submit_timeout (self, (sub->param & 4) ? 1000 : 0);
  (void) tether_loop_manager_get_n_pending (self);
  bury (sub->st, self);
}

static void
work_func (TetherWork *work,
           gpointer    data)
{
  Ticket *ticket = data;
  Sub *sub = ticket->sub;

  enter_run (sub);

  switch (sub->mode)
    {
    case W_VALUE:
      finish_value (work, sub);
      break;

    case W_ERROR:
      finish_error (work, sub);
      break;

    case W_DEFER:
      defer (work, sub, FALSE);
      break;

    case W_ABANDON:
      set_returned (sub, R_ABANDONED);
      break;

    case W_ABANDON_LATER:
      defer (work, sub, TRUE);
      break;

    case W_CANCEL_AWARE:
      {
        GCancellable *cancellable = tether_work_get_cancellable (work);
        gboolean cancelled = FALSE;

        for (int i = 0; i < 8 && !cancelled; i++)
          {
            cancelled = g_cancellable_is_cancelled (cancellable);
            if (cancelled && !tether_work_is_cancelled (work))
              die ("submission %d: cancellable fired but is_cancelled() is FALSE", sub->id);
            if (!cancelled)
              g_usleep (25);
          }
        if (cancelled)
          {
            set_returned (sub, R_CANCELLED);
            tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                          "work %d saw its cancellable", sub->id);
          }
        else
          finish_value (work, sub);
      }
      break;

    case W_NESTED:
      work_nested (sub);
      finish_value (work, sub);
      break;

    case W_SELF_STOP:
      work_self_stop (sub);
      finish_value (work, sub);
      break;

    case W_WAIT_OWN:
      work_wait_own (sub);
      finish_value (work, sub);
      break;

    case W_LINEAGE:
      work_lineage (sub);
      finish_value (work, sub);
      break;

    case W_LIMITS:
      work_limits (sub);
      finish_value (work, sub);
      break;

    case W_SPIN:
    default:
      {
        gint64 until = g_get_monotonic_time () + 50 + 50 * (sub->param % 4);

        while (g_get_monotonic_time () < until)
          ;
        finish_value (work, sub);
      }
      break;
    }

  if (tether_work_is_done (work) != (sub->mode != W_DEFER && sub->mode != W_ABANDON_LATER &&
                                     sub->mode != W_ABANDON))
    die ("submission %d: is_done() is wrong after the work function", sub->id);

  leave_run (sub);
}

static void
post_func (gpointer data)
{
  Ticket *ticket = data;
  Sub *sub = ticket->sub;

  enter_run (sub);
  set_returned (sub, R_VALUE);
  leave_run (sub);
}

/* Actors: the fuzzer's thread (0) and the helpers (1, 2). */

static GCancellable *
pick_cancellable (Actor    *actor,
                  int       choice,
                  gboolean *precancelled)
{
  GCancellable *cancellable = NULL;

  *precancelled = FALSE;
  switch (choice % 4)
    {
    case 1:
      cancellable = g_object_ref (actor->shared);
      break;
    case 2:
      cancellable = g_cancellable_new ();
      g_cancellable_cancel (cancellable);
      *precancelled = TRUE;
      break;
    case 3:
      cancellable = g_cancellable_new ();
      break;
    default:
      break;
    }
  return cancellable;
}

static void
after_rejection (Sub          *sub,
                 const GError *error)
{
  g_atomic_int_set (&sub->rejected, TRUE);
  if (!is_rejection (error))
    die ("submission %d refused with %s", sub->id, error->message);
  if (g_atomic_int_get (&sub->destroyed) != 1)
    die ("rejected submission %d: destroy notify ran %d times before the call returned",
         sub->id, g_atomic_int_get (&sub->destroyed));
  if (g_atomic_int_get (&sub->ran) != 0)
    die ("rejected submission %d ran", sub->id);
}

static void
after_future (State        *st,
              Sub          *sub,
              TetherFuture *future)
{
  sub->future = future;
  if (sub->precancelled && tether_future_get_status (future) != TETHER_FUTURE_STATUS_CANCELLED)
    die ("submission %d with a cancelled cancellable did not end cancelled at once", sub->id);
  g_mutex_lock (&st->lock);
  g_ptr_array_add (st->with_future, sub);
  g_mutex_unlock (&st->lock);
}

static void
async_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Sub *sub = user_data;
  State *st = sub->st;
  Actor *actor = &st->actors[sub->actor];
  g_autoptr(GError) error = NULL;
  GValue value = G_VALUE_INIT;

  if (actor->in_submit)
    die ("async callback of %d ran inside submit_async()", sub->id);
  if (g_main_context_get_thread_default () != actor->context)
    die ("async callback of %d ran outside its submitter's context", sub->id);

  sub->cb_ok = tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result,
                                                  &value, &error);
  if (sub->cb_ok)
    {
      if (!G_IS_VALUE (&value) || !G_VALUE_HOLDS_INT (&value))
        die ("async %d succeeded without an int", sub->id);
      sub->cb_value = g_value_get_int (&value);
      g_value_unset (&value);
    }
  else
    {
      sub->cb_domain = error->domain;
      sub->cb_code = error->code;
      if (is_rejection (error))
        g_atomic_int_set (&sub->rejected, TRUE);
      else if (!is_work_error (error))
        die ("async %d failed with %s", sub->id, error->message);
    }
  g_atomic_int_inc (&sub->callbacks);
  actor->cb_got++;
}

static void
op_submit (Actor  *actor,
           OpKind  kind,
           Op     *op)
{
  State *st = actor->st;
  TetherLoopManager *manager = slot_ref (st, op->a % N_SLOTS);
  const char *task_type = task_types[(op->a / N_SLOTS) % 3];
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GError) error = NULL;
  gboolean precancelled;
  TetherFuture *future = NULL;
  Box *box;
  Sub *sub;

  if (manager == NULL)
    return;
  box = box_for (st, manager);
  sub = sub_new (st, kind == OP_SUBMIT ? K_FUTURE : kind == OP_SUBMIT_AFTER ? K_AFTER :
                 kind == OP_SUBMIT_AT ? K_AT : kind == OP_SUBMIT_ASYNC ? K_ASYNC : K_POST,
                 box, op->b, 0, actor->index);
  if (sub == NULL)
    {
      g_object_unref (manager);
      return;
    }
  sub->seq = ++actor->seq;
  sub->queued_order = kind == OP_SUBMIT || kind == OP_SUBMIT_ASYNC || kind == OP_POST;
  cancellable = pick_cancellable (actor, kind == OP_POST ? 0 : op->c, &precancelled);
  sub->precancelled = precancelled;

  say ("  #%d %s to manager %d (slot %d), type %s, mode %s/%d, cancellable %d", sub->id,
       op_names[kind], box->index, op->a % N_SLOTS, task_type ? task_type : "(none)",
       mode_names[sub->mode], sub->param, op->c % 4);

  switch (kind)
    {
    case OP_SUBMIT:
      future = tether_loop_manager_submit (manager, task_type, work_func,
                                           ticket_new (sub), ticket_free, cancellable, &error);
      break;

    case OP_SUBMIT_AFTER:
      future = tether_loop_manager_submit_after (manager, task_type, (op->c >> 2) * 32, work_func, ticket_new (sub),
                                                 ticket_free,
                                                 cancellable, &error);
      break;

    case OP_SUBMIT_AT:
      future = tether_loop_manager_submit_at (manager, task_type,
                                              g_get_monotonic_time () + (op->c >> 2) * 32 - 1000, work_func, ticket_new (sub),
                                              ticket_free,
                                              cancellable, &error);
      break;

    case OP_SUBMIT_ASYNC:
      actor->cb_expected++;
      actor->in_submit = TRUE;
      tether_loop_manager_submit_async (manager, task_type, work_func, ticket_new (sub),
                                        ticket_free, G_PRIORITY_DEFAULT, cancellable, async_done, sub);
      actor->in_submit = FALSE;
      break;

    case OP_POST:
    default:
      if (!tether_loop_manager_post (manager, task_type, post_func, ticket_new (sub),
                                     ticket_free, &error))
        after_rejection (sub, error);
      break;
    }

  if (kind == OP_SUBMIT || kind == OP_SUBMIT_AFTER || kind == OP_SUBMIT_AT)
    {
      if (future == NULL)
        after_rejection (sub, error);
      else
        after_future (st, sub, future);
    }

  if (op->c % 4 == 3 && (op->c & 0x80) && cancellable != NULL)
    g_cancellable_cancel (cancellable);

  g_object_unref (manager);
}

static Sub *
pick_future (State         *st,
             int            index,
             TetherFuture **future)
{
  Sub *sub = NULL;

  g_mutex_lock (&st->lock);
  if (st->with_future->len > 0)
    {
      sub = g_ptr_array_index (st->with_future, index % st->with_future->len);
      *future = g_object_ref (sub->future);
    }
  g_mutex_unlock (&st->lock);
  return sub;
}

static void
check_future_outcome (Sub          *sub,
                      TetherFuture *future,
                      gboolean      ok,
                      const GError *error)
{
  TetherFutureStatus status = tether_future_get_status (future);

  if (ok)
    {
      if (status != TETHER_FUTURE_STATUS_SUCCEEDED)
        die ("wait for %d returned TRUE with status %d", sub->id, status);
      if (tether_future_get_int (future, NULL) != VALUE_BASE + sub->id)
        die ("future %d holds %d", sub->id, tether_future_get_int (future, NULL));
      return;
    }
  if (status == TETHER_FUTURE_STATUS_PENDING || status == TETHER_FUTURE_STATUS_SUCCEEDED)
    die ("wait for %d failed (%s) with status %d", sub->id, error->message, status);
  if ((status == TETHER_FUTURE_STATUS_CANCELLED) !=
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    die ("future %d: status %d does not match its error %s", sub->id, status, error->message);
  if (!is_work_error (error))
    die ("future %d failed with %s", sub->id, error->message);
}

static void
op_future_wait (Actor *actor,
                Op    *op)
{
  static const gint64 timeouts[4] = { 0, 100, 1000, -1 };
  gint64 timeout = timeouts[op->b % 4];
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  Sub *sub = pick_future (actor->st, op->a, &future);
  gboolean ok;

  if (sub == NULL)
    return;
  say ("  wait for #%d, timeout %" G_GINT64_FORMAT, sub->id, timeout);
  ok = tether_future_wait (future, timeout, NULL, &error);
  if (!ok && g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
    {
      if (timeout < 0)
        die ("wait without a timeout for %d timed out", sub->id);
      return;
    }
  check_future_outcome (sub, future, ok, error);
}

static void
wait_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  WaitRec *rec = user_data;
  Sub *sub = rec->sub;
  State *st = sub->st;
  Actor *actor = NULL;
  g_autoptr(GError) error = NULL;
  TetherFuture *future = TETHER_FUTURE (source);
  gboolean ok;

  for (int i = 0; i < N_ACTORS; i++)
    if (g_main_context_get_thread_default () == st->actors[i].context)
      actor = &st->actors[i];
  if (actor == NULL)
    die ("wait_async callback for %d ran outside any actor's context", sub->id);

  ok = tether_future_wait_finish (future, result, &error);
  if (!tether_future_is_done (future) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    die ("wait_async for %d finished while the future is pending", sub->id);
  if (tether_future_is_done (future) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    check_future_outcome (sub, future, ok, error);
  g_atomic_int_inc (&rec->calls);
  actor->cb_got++;
}

static void
op_wait_async (Actor *actor,
               Op    *op)
{
  State *st = actor->st;
  g_autoptr(TetherFuture) future = NULL;
  Sub *sub = pick_future (st, op->a, &future);
  int i;

  if (sub == NULL)
    return;
  i = g_atomic_int_add (&st->n_waits, 1);
  if (i >= MAX_WAITS)
    return;
  st->waits[i].sub = sub;
  say ("  wait_async for #%d%s", sub->id, (op->b & 1) ? " with the shared cancellable" : "");
  actor->cb_expected++;
  tether_future_wait_async (future, (op->b & 1) ? actor->shared : NULL, wait_done, &st->waits[i]);
}

static void
op_lineage (Actor *actor,
            Op    *op,
            gboolean adopt)
{
  State *st = actor->st;
  const char *id = lineage_ids[op->a % 3];
  TetherLookupFlags flags = op->b % 4;
  g_autoptr(GError) error = NULL;
  TetherLineage *token = NULL;
  TetherLoopManager *manager;

  if (adopt)
    {
      if (actor->index == 0)
        return;
      g_mutex_lock (&st->lock);
      if (st->tokens[3 - actor->index] != NULL)
        token = tether_lineage_ref (st->tokens[3 - actor->index]);
      g_mutex_unlock (&st->lock);
      if (token == NULL)
        return;
      tether_lineage_adopt (token);
    }
  else if (actor->index == 0)
    {
      /* Nothing may register on the fuzzer's own thread: it lives for the
       * whole process. A lookup there can only fail. */
      flags |= TETHER_LOOKUP_FLAGS_STRICT;
    }

  say ("  lookup '%s' flags %d%s", id ? id : "(null)", flags, adopt ? " (adopted)" : "");
  manager = tether_loop_manager_get_or_create (id, flags, &error);
  check_lookup (manager, flags, error);
  if (actor->index == 0 && manager != NULL)
    die ("a lookup on the fuzzer's thread found a manager");

  if (manager != NULL)
    {
      box_for (st, manager);
      g_clear_error (&error);
      switch (op->c % 3)
        {
        case 1:
          if (!tether_loop_manager_start (manager, task_types[(op->c >> 2) % 3], &error) &&
              !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING))
            die ("starting a registry manager: %s", error->message);
          break;

        case 2:
          if (!adopt)
            {
              TetherLoopManager *old;

              g_mutex_lock (&st->lock);
              old = st->slots[(op->c >> 2) % N_SLOTS];
              st->slots[(op->c >> 2) % N_SLOTS] = g_object_ref (manager);
              g_mutex_unlock (&st->lock);
              g_clear_object (&old);
            }
          break;

        default:
          break;
        }
      g_object_unref (manager);
    }

  if (adopt)
    {
      tether_lineage_leave ();
      tether_lineage_unref (token);
    }
}

/* Arguments (a slot is a % 3; a task type index picks NULL, "alpha", "beta"):
 *
 *   start              a slot, b task type
 *   stop               a slot, b & 1: CANCEL, else DRAIN
 *   recreate           a slot: a new stopped manager replaces it
 *   submit, submit_after, submit_at, submit_async, post
 *                      a slot and (a / 3) task type, b work mode, c % 4
 *                      cancellable (none, the actor's shared one, one cancelled
 *                      already, a fresh one cancelled after the call if c & 0x80),
 *                      c >> 2 the delay in units of 32 us (submit_at: minus 1 ms)
 *   future_cancel      a picks a future
 *   future_wait        a picks a future, b % 4 timeout: 0, 100 us, 1 ms, none
 *   wait_async         a picks a future, b & 1: with the shared cancellable
 *   cancel_shared      cancels the actor's shared cancellable, makes a new one
 *   lineage, adopt     a id ("fz-a", "fz-b", NULL), b flags, c % 3: drop, start
 *                      (task type c >> 2), put in slot (c >> 2)
 *   iterate            a % 8 + 1 iterations of the actor's context
 *   sleep              a % 16 times 64 us
 *   snapshot           tether_registry_snapshot()
 *   set_max_pending    a slot, b % 4: 0, 1, 2, 4
 *   set_submit_timeout a slot, b % 3: 0, 100 us, 1 ms
 *   stop_within        a slot, b % 4 timeout: 0, 100 us, 1 ms, none
 */
static void
run_op (Actor *actor,
        Op    *op)
{
  State *st = actor->st;
  OpKind kind = op->kind;

  say ("actor %d: %s %u %u %u", actor->index, op_names[kind], op->a, op->b, op->c);

  switch (kind)
    {
    case OP_START:
      {
        TetherLoopManager *manager = slot_ref (st, op->a % N_SLOTS);
        g_autoptr(GError) error = NULL;

        if (manager == NULL)
          break;
        if (!tether_loop_manager_start (manager, task_types[op->b % 3], &error) &&
            !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING))
          die ("start failed: %s", error->message);
        g_object_unref (manager);
      }
      break;

    case OP_STOP:
      {
        TetherLoopManager *manager = slot_ref (st, op->a % N_SLOTS);

        if (manager == NULL)
          break;
        tether_loop_manager_stop (manager, (op->b & 1) ? TETHER_STOP_MODE_CANCEL
                                                       : TETHER_STOP_MODE_DRAIN);
        g_object_unref (manager);
      }
      break;

    case OP_RECREATE:
      {
        g_autofree char *id = g_strdup_printf ("fz%d", op->a % N_SLOTS);
        TetherLoopManager *fresh = tether_loop_manager_new (id);
        TetherLoopManager *old;
        gboolean is_new;

        g_mutex_lock (&st->lock);
        box_for_locked (st, fresh, &is_new);
        old = st->slots[op->a % N_SLOTS];
        st->slots[op->a % N_SLOTS] = fresh;
        g_mutex_unlock (&st->lock);
        g_clear_object (&old);
      }
      break;

    case OP_SUBMIT:
    case OP_SUBMIT_AFTER:
    case OP_SUBMIT_AT:
    case OP_SUBMIT_ASYNC:
    case OP_POST:
      op_submit (actor, kind, op);
      break;

    case OP_FUTURE_CANCEL:
      {
        g_autoptr(TetherFuture) future = NULL;
        Sub *sub = pick_future (st, op->a, &future);

        if (sub != NULL)
          {
            say ("  cancel #%d", sub->id);
            tether_future_cancel (future);
          }
      }
      break;

    case OP_FUTURE_WAIT:
      op_future_wait (actor, op);
      break;

    case OP_WAIT_ASYNC:
      op_wait_async (actor, op);
      break;

    case OP_CANCEL_SHARED:
      g_cancellable_cancel (actor->shared);
      g_object_unref (actor->shared);
      actor->shared = g_cancellable_new ();
      break;

    case OP_LINEAGE:
      op_lineage (actor, op, FALSE);
      break;

    case OP_ADOPT:
      op_lineage (actor, op, TRUE);
      break;

    case OP_ITERATE:
      for (int i = 0; i <= op->a % 8; i++)
        g_main_context_iteration (actor->context, FALSE);
      break;

    case OP_SLEEP:
      g_usleep ((op->a % 16) * 64);
      break;

    case OP_SNAPSHOT:
      {
        g_autoptr(GVariant) snapshot = tether_registry_snapshot ();

        if (!g_variant_is_of_type (snapshot, G_VARIANT_TYPE ("aa{sv}")))
          die ("the registry snapshot is not aa{sv}");
      }
      break;

    case OP_SET_MAX_PENDING:
      {
        static const guint bounds[4] = { 0, 1, 2, 4 };
        TetherLoopManager *manager = slot_ref (st, op->a % N_SLOTS);

        if (manager == NULL)
          break;
        tether_loop_manager_set_max_pending (manager, bounds[op->b % 4]);
        if (op->b & 4)
          (void) tether_loop_manager_get_n_pending (manager);
        g_object_unref (manager);
      }
      break;

    case OP_SET_SUBMIT_TIMEOUT:
      {
        /* Never -1: two managers' work submitting to each other's full
         * queues would wait for each other forever. */
        static const gint64 timeouts[3] = { 0, 100, 1000 };
        TetherLoopManager *manager = slot_ref (st, op->a % N_SLOTS);

        if (manager == NULL)
          break;
        tether_loop_manager_set_submit_timeout (manager, timeouts[op->b % 3]);
        g_object_unref (manager);
      }
      break;

    case OP_STOP_WITHIN:
      {
        static const gint64 timeouts[4] = { 0, 100, 1000, -1 };
        TetherLoopManager *manager = slot_ref (st, op->a % N_SLOTS);
        g_autoptr(GError) error = NULL;
        guint n_ran = 0, n_cancelled = 0;
        Box *box;

        if (manager == NULL)
          break;
        box = box_for (st, manager);
        if (!tether_loop_manager_stop_within (manager, timeouts[op->b % 4], &n_ran, &n_cancelled,
                                              &error))
          die ("stop_within() from actor %d failed: %s", actor->index, error->message);
        say ("  stop_within: %u ran, %u cancelled", n_ran, n_cancelled);
        if (n_ran + n_cancelled > (guint) g_atomic_int_get (&box->n_subs))
          die ("stop_within() on manager %d counted %u + %u of %d submissions", box->index,
               n_ran, n_cancelled, g_atomic_int_get (&box->n_subs));
        g_object_unref (manager);
      }
      break;

    case OP_TUNE:
      {
        /* Spinning on both sides, and debug mode with a threshold no work
         * reaches (so the timing path runs without reports; dropped and
         * unretrieved reports go to the swallowing log writer). */
        static const gint64 spins[3] = { 0, 10, 100 };
        TetherLoopManager *manager = slot_ref (st, op->a % N_SLOTS);

        if (manager == NULL)
          break;
        tether_loop_manager_set_wait_spin (manager, spins[op->b % 3]);
        tether_loop_manager_set_loop_spin (manager, spins[(op->b / 3) % 3]);
        tether_loop_manager_set_slow_threshold (manager, 10 * G_USEC_PER_SEC);
        tether_loop_manager_set_debug_flags (manager, (op->b >> 4) & 7);
        g_object_unref (manager);
      }
      break;

    case OP_STATS:
      {
        TetherLoopManager *manager = slot_ref (st, op->a % N_SLOTS);
        g_autoptr(GVariant) stats = NULL;

        if (manager == NULL)
          break;
        stats = tether_loop_manager_dup_stats (manager);
        if (!g_variant_is_of_type (stats, G_VARIANT_TYPE_VARDICT) || g_variant_n_children (stats) != 17)
          die ("stats of manager %d are not the 17-key a{sv}", box_for (st, manager)->index);
        g_object_unref (manager);
      }
      break;

    case N_OPS:
    case OP_END:
    default:
      break;
    }
}

static guint64
stat (GVariant   *stats,
      const char *key)
{
  guint64 value = 0;

  if (!g_variant_lookup (stats, key, "t", &value))
    die ("stats have no '%s'", key);
  return value;
}

/* A stopped manager has ended everything it accepted: each ending is
 * counted once, as a value, an error or a cancellation. */
static void
check_stopped_stats (State             *st,
                     TetherLoopManager *manager)
{
  g_autoptr(GVariant) stats = tether_loop_manager_dup_stats (manager);
  guint64 submitted = stat (stats, "submitted");
  guint64 ended = stat (stats, "completed") + stat (stats, "failed") + stat (stats, "cancelled");
  guint32 queued = 0, running = 0;

  g_variant_lookup (stats, "queued", "u", &queued);
  g_variant_lookup (stats, "running", "u", &running);
  if (submitted != ended || queued != 0 || running != 0)
    die ("stopped manager %d: %" G_GUINT64_FORMAT " submitted, %" G_GUINT64_FORMAT
         " ended, %u queued, %u running", box_for (st, manager)->index, submitted, ended,
         queued, running);
}

/* Iterates an actor's context until every callback it expects has run. */
static void
collect_callbacks (Actor *actor)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_USEC;

  while (actor->cb_got < actor->cb_expected)
    {
      if (!g_main_context_iteration (actor->context, FALSE))
        g_usleep (50);
      if (g_get_monotonic_time () > deadline)
        die ("actor %d: %d of %d async callbacks arrived within 5 s", actor->index,
             actor->cb_got, actor->cb_expected);
    }
  while (g_main_context_iteration (actor->context, FALSE))
    ;
}

static gpointer
helper_main (gpointer data)
{
  Actor *actor = data;
  State *st = actor->st;
  TetherLineage *token;
  Op *op;

  g_main_context_push_thread_default (actor->context);
  token = tether_lineage_capture ();
  g_mutex_lock (&st->lock);
  st->tokens[actor->index] = token;
  g_mutex_unlock (&st->lock);

  while ((op = g_async_queue_pop (actor->ops))->kind != OP_END)
    {
      run_op (actor, op);
      g_free (op);
    }
  g_free (op);
  g_async_queue_push (st->done, GINT_TO_POINTER (actor->index));

  collect_callbacks (actor);
  g_main_context_pop_thread_default (actor->context);
  return NULL;
}

/* Dropping buried managers drains them, and their work may bury more. */
static void
empty_graveyard (State *st)
{
  for (;;)
    {
      g_autoptr(GPtrArray) buried = NULL;

      g_mutex_lock (&st->lock);
      buried = g_steal_pointer (&st->graveyard);
      st->graveyard = g_ptr_array_new_with_free_func (g_object_unref);
      g_mutex_unlock (&st->lock);
      if (buried->len == 0)
        break;
    }
}

static void
wait_for_zero (State      *st,
               int        *counter,
               const char *what)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_USEC;

  while (g_atomic_int_get (counter) != 0)
    {
      if (g_get_monotonic_time () > deadline)
        {
          g_autoptr(GString) alive = g_string_new (NULL);

          for (guint i = 0; i < st->boxes->len; i++)
            {
              Box *box = g_ptr_array_index (st->boxes, i);

              if (!g_atomic_int_get (&box->gone))
                g_string_append_printf (alive, " %d", box->index);
            }
          die ("%d %s still alive 5 s after the input ended (managers alive:%s)",
               g_atomic_int_get (counter), what, alive->str);
        }
      g_usleep (100);
      empty_graveyard (st);
    }
}

static void
check_ledger (State *st)
{
  int n = MIN (g_atomic_int_get (&st->n_subs), MAX_SUBS);
  int counts[5] = { 0, };

  for (int i = 0; i < n; i++)
    {
      Sub *sub = &st->subs[i];
      int ran = g_atomic_int_get (&sub->ran);
      int returned = g_atomic_int_get (&sub->returned);
      gboolean rejected = g_atomic_int_get (&sub->rejected);

      if (sub->box == NULL)
        die ("submission %d was never filled in", i);
      if (g_atomic_int_get (&sub->destroyed) != 1)
        die ("submission %d: destroy notify ran %d times", i, g_atomic_int_get (&sub->destroyed));
      if (ran > 1)
        die ("submission %d ran %d times", i, ran);
      if (sub->kind == K_ASYNC && g_atomic_int_get (&sub->callbacks) != 1)
        die ("async submission %d: callback ran %d times", i, g_atomic_int_get (&sub->callbacks));
      if (rejected)
        {
          if (ran != 0)
            die ("rejected submission %d ran", i);
          if (sub->future != NULL)
            die ("rejected submission %d has a future", i);
          continue;
        }
      if (ran == 1 && returned == R_NONE)
        die ("submission %d ran and never returned", i);
      if (ran == 0 && returned != R_NONE)
        die ("submission %d returned without running", i);

      if (sub->future != NULL)
        {
          TetherFutureStatus status = tether_future_get_status (sub->future);
          g_autoptr(GError) error = tether_future_dup_error (sub->future);

          counts[status]++;
          switch (ran == 0 ? R_CANCELLED : returned)
            {
            case R_VALUE:
              if (status != TETHER_FUTURE_STATUS_SUCCEEDED ||
                  tether_future_get_int (sub->future, NULL) != VALUE_BASE + i)
                die ("future %d: status %d, expected the work's value", i, status);
              break;
            case R_ERROR:
              if (status != TETHER_FUTURE_STATUS_FAILED ||
                  !g_error_matches (error, fuzz_error_quark (), 7))
                die ("future %d: status %d, expected the work's error", i, status);
              break;
            case R_CANCELLED:
              if (status != TETHER_FUTURE_STATUS_CANCELLED ||
                  !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                die ("future %d: status %d, expected cancelled (ran %d)", i, status, ran);
              break;
            case R_ABANDONED:
            default:
              if (status != TETHER_FUTURE_STATUS_FAILED ||
                  !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ABANDONED))
                die ("future %d: status %d, expected abandoned", i, status);
              break;
            }
        }
      else if (sub->kind == K_ASYNC)
        {
          switch (ran == 0 ? R_CANCELLED : returned)
            {
            case R_VALUE:
              if (!sub->cb_ok || sub->cb_value != VALUE_BASE + i)
                die ("async %d: expected the work's value", i);
              break;
            case R_ERROR:
              if (sub->cb_ok || sub->cb_domain != fuzz_error_quark ())
                die ("async %d: expected the work's error", i);
              break;
            case R_CANCELLED:
              if (sub->cb_ok || sub->cb_domain != G_IO_ERROR ||
                  sub->cb_code != G_IO_ERROR_CANCELLED)
                die ("async %d: expected cancelled (ran %d)", i, ran);
              break;
            case R_ABANDONED:
            default:
              if (sub->cb_ok || sub->cb_domain != TETHER_ERROR ||
                  sub->cb_code != TETHER_ERROR_ABANDONED)
                die ("async %d: expected abandoned", i);
              break;
            }
        }
      else if (sub->kind != K_POST && sub->kind != K_CHILD)
        {
          die ("accepted submission %d has no future", i);
        }
    }

  for (int i = 0; i < MIN (g_atomic_int_get (&st->n_waits), MAX_WAITS); i++)
    if (g_atomic_int_get (&st->waits[i].calls) != 1)
      die ("wait_async %d for %d: callback ran %d times", i, st->waits[i].sub->id,
           g_atomic_int_get (&st->waits[i].calls));

  if (counts[TETHER_FUTURE_STATUS_PENDING] != 0)
    die ("%d futures still pending", counts[TETHER_FUTURE_STATUS_PENDING]);
  say ("ledger: %d submissions; futures %d succeeded, %d failed, %d cancelled; %u managers",
       n, counts[1], counts[2], counts[3], st->boxes->len);
}

/* Debug mode's reports (they carry TETHER_MANAGER) are expected here; any
 * other warning is a finding and stays fatal. */
static GLogWriterOutput
swallow_debug_reports (GLogLevelFlags   level,
                       const GLogField *fields,
                       gsize            n_fields,
                       gpointer         user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "TETHER_MANAGER"))
      return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* GSlice keeps freed blocks in magazines that hide leaks from
   * LeakSanitizer, and GLib may have used it before this runs: start again
   * with it off from the first allocation. */
  if (g_strcmp0 (getenv ("G_SLICE"), "always-malloc") != 0)
    {
      setenv ("G_SLICE", "always-malloc", 1);
      execv ("/proc/self/exe", *argv);
      perror ("fuzz-manager: cannot restart with G_SLICE=always-malloc");
    }
  trace = getenv ("FUZZ_TETHER_TRACE") != NULL;
  g_log_set_writer_func (swallow_debug_reports, NULL, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  box_quark = g_quark_from_static_string ("fuzz-manager-box");
  fuzz_error_quark ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  State *st = g_new0 (State, 1);
  size_t n_ops = MIN (size / OP_SIZE, MAX_OPS);
  gboolean is_new;

  g_mutex_init (&st->lock);
  st->boxes = g_ptr_array_new_with_free_func (g_free);
  st->graveyard = g_ptr_array_new_with_free_func (g_object_unref);
  st->with_future = g_ptr_array_new ();
  st->done = g_async_queue_new ();
  for (int i = 0; i < N_SLOTS; i++)
    {
      g_autofree char *id = g_strdup_printf ("fz%d", i);

      st->slots[i] = tether_loop_manager_new (id);
      box_for_locked (st, st->slots[i], &is_new);
    }

  for (int i = 0; i < N_ACTORS; i++)
    {
      Actor *actor = &st->actors[i];

      actor->st = st;
      actor->index = i;
      actor->context = g_main_context_new ();
      actor->shared = g_cancellable_new ();
      actor->ops = g_async_queue_new ();
    }
  g_main_context_push_thread_default (st->actors[0].context);
  for (int i = 1; i < N_ACTORS; i++)
    {
      g_autofree char *name = g_strdup_printf ("fz-helper-%d", i);

      st->actors[i].thread = tether_thread_new (name, helper_main, &st->actors[i]);
    }

  say ("input: %zu bytes, %zu operations", size, n_ops);
  for (size_t i = 0; i < n_ops; i++)
    {
      Op op = {
        .kind = (data[i * OP_SIZE] & 0x1f) % N_OPS,
        .a = data[i * OP_SIZE + 1],
        .b = data[i * OP_SIZE + 2],
        .c = data[i * OP_SIZE + 3],
      };
      int who = ((data[i * OP_SIZE] >> 5) & 3) % N_ACTORS;

      if (who == 0)
        run_op (&st->actors[0], &op);
      else
        g_async_queue_push (st->actors[who].ops, g_memdup2 (&op, sizeof op));
    }

  /* The end: no more operations, every manager stopped, every callback
   * collected, every thread gone, then the ledger. */
  for (int i = 1; i < N_ACTORS; i++)
    {
      Op end = { .kind = OP_END };

      g_async_queue_push (st->actors[i].ops, g_memdup2 (&end, sizeof end));
    }
  for (int i = 1; i < N_ACTORS; i++)
    g_async_queue_pop (st->done);

  for (int i = 0; i < N_SLOTS; i++)
    {
      TetherLoopManager *manager = slot_ref (st, i);

      if (manager != NULL)
        {
          tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
          if (tether_loop_manager_get_n_pending (manager) != 0)
            die ("manager %d has %u pending submissions after a stop",
                 box_for (st, manager)->index, tether_loop_manager_get_n_pending (manager));
          check_stopped_stats (st, manager);
          g_object_unref (manager);
        }
    }
  collect_callbacks (&st->actors[0]);
  for (int i = 1; i < N_ACTORS; i++)
    g_thread_join (st->actors[i].thread);

  for (int i = 0; i < N_SLOTS; i++)
    g_clear_object (&st->slots[i]);
  for (int i = 0; i < N_ACTORS; i++)
    g_clear_pointer (&st->tokens[i], tether_lineage_unref);
  empty_graveyard (st);
  while (g_main_context_iteration (st->actors[0].context, FALSE))
    ;

  wait_for_zero (st, &live_managers, "managers");
  wait_for_zero (st, &live_threads, "manager threads");

  /* A release may still be on its way (an async result's outcome travels to
   * the submitter's context, this thread's): give each one the deadline,
   * iterating that context, before the ledger checks it ran exactly once. */
  {
    gint64 deadline = g_get_monotonic_time () + DEADLINE_USEC;
    int n = MIN (g_atomic_int_get (&st->n_subs), MAX_SUBS);

    for (int i = 0; i < n; i++)
      while (g_atomic_int_get (&st->subs[i].destroyed) == 0 &&
             g_get_monotonic_time () < deadline)
        {
          while (g_main_context_iteration (st->actors[0].context, FALSE))
            ;
          g_usleep (100);
        }
  }

  check_ledger (st);

  g_main_context_pop_thread_default (st->actors[0].context);
  for (int i = 0; i < MIN (g_atomic_int_get (&st->n_subs), MAX_SUBS); i++)
    g_clear_object (&st->subs[i].future);
  for (int i = 0; i < N_ACTORS; i++)
    {
      g_main_context_unref (st->actors[i].context);
      g_object_unref (st->actors[i].shared);
      g_async_queue_unref (st->actors[i].ops);
    }
  g_async_queue_unref (st->done);
  g_ptr_array_unref (st->with_future);
  g_ptr_array_unref (st->graveyard);
  g_ptr_array_unref (st->boxes);
  g_mutex_clear (&st->lock);
  g_free (st);
  return 0;
}

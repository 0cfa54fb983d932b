/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-pool: a libFuzzer harness for the pool's ledger (issue 18), beside
 * fuzz-manager.c and built the same way (see its comment, and
 * tests/fuzz/meson.build):
 *
 *   ninja -C _build-fuzz tests/fuzz/fuzz-pool
 *   find tests/fuzz/corpus-pool -type f | xargs ./_build-fuzz/tests/fuzz/fuzz-pool
 *   FUZZ_TETHER_TRACE=1 ./_build-fuzz/tests/fuzz/fuzz-pool -runs=100 crash-<sha1>
 *
 * Each input is decoded into at most 64 operations of 4 bytes each,
 * [op][a][b][c]: the low 4 bits of op pick the operation (modulo their
 * number), bit 5 the actor (the fuzzer's thread, or a helper thread with its
 * own context, which runs its operations concurrently). They act on two
 * pool slots: start (with a task type), stop (DRAIN, CANCEL), stop_async(),
 * recreate (the old pool dropped with work queued, in a new size and
 * max-pending), set max-pending, submit, post and submit_async through
 * TetherExecutor, submit to one thread's manager (ref_thread()), cancel and
 * wait for futures, cancel a shared cancellable, iterate, read the stats.
 * Work returns a value or an error, returns later from its thread's
 * context, drops its handle, polls its cancellable, submits to or posts to
 * the other pool, or waits on a future of its own pool (which must be
 * refused with WOULD_DEADLOCK or end: it waits up to the deadline, and
 * timing out is a violation).
 *
 * At the end every pool is stopped (DRAIN) and dropped, callbacks are
 * collected, the helper is joined, and the ledger is checked: every
 * attempted submission's data was released exactly once; a refused one
 * never ran and was released inside the submit call; no work ran twice;
 * every accepted one ended once (a future is done, a callback came) with
 * the outcome its work produced, or cancelled with a cause (a cancel call,
 * a CANCEL stop begun before it ended) if it never ran.
 *
 * The pool bugs this harness and the torture test found are fixed and no
 * longer avoided (see test-torture.c --pool-known-bugs): data released as
 * soon as the work function returned although the work was kept (with
 * FUZZ_POOL_STRICT=0 counted, else a violation); work submitted to a
 * thread's manager directly (ref_thread()) waiting on its pool's future,
 * which hung (the input is tests/fuzz/known-bug-pool-direct-wait); a wait
 * on kept work whose thread is blocked, which was not refused. Data of
 * work cancelled before it ran is released on the cancelling thread, as
 * documented, which this harness allows.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tether.h>

#define N_SLOTS       2
#define N_ACTORS      2
#define MAX_OPS       64
#define OP_SIZE       4
#define MAX_SUBS      512
#define DEADLINE_USEC (5 * G_USEC_PER_SEC)
#define VALUE_BASE    1000

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

typedef enum
{
  OP_START,
  OP_STOP,
  OP_STOP_ASYNC,
  OP_RECREATE,
  OP_MAX_PENDING,
  OP_SUBMIT,
  OP_POST,
  OP_SUBMIT_ASYNC,
  OP_THREAD_SUBMIT,
  OP_FUTURE_CANCEL,
  OP_FUTURE_WAIT,
  OP_CANCEL_SHARED,
  OP_ITERATE,
  OP_STATS,
  N_OPS,
  OP_END = 255,
} OpKind;

static const char *op_names[N_OPS] = {
  "start", "stop", "stop_async", "recreate", "max_pending", "submit", "post", "submit_async",
  "thread_submit", "future_cancel", "future_wait", "cancel_shared", "iterate", "stats",
};

typedef enum
{
  W_VALUE,
  W_ERROR,
  W_DEFER,
  W_ABANDON,
  W_CANCEL_AWARE,
  W_NESTED,
  W_NESTED_POST,
  W_WAIT_OWN,
  N_MODES,
} WorkMode;

static const char *mode_names[N_MODES] = {
  "value", "error", "defer", "abandon", "cancel-aware", "nested", "nested-post", "wait-own",
};

typedef enum
{
  K_FUTURE,
  K_ASYNC,
  K_POST,
  K_THREAD,   /* to one thread's manager, through ref_thread() */
  K_CHILD,    /* submitted by work */
} SubKind;

typedef enum
{
  R_NONE,
  R_VALUE,
  R_ERROR,
  R_CANCELLED,
  R_ABANDONED,
} Returned;

typedef enum
{
  O_NONE,
  O_SUCCEEDED,
  O_FAILED,
  O_CANCELLED,
  O_REFUSED,
} Outcome;

typedef struct _State State;

typedef struct
{
  guint8 kind;
  guint8 a;
  guint8 b;
  guint8 c;
} Op;

/* One pool object seen during the input. */
typedef struct
{
  char *id;
  char *prefix;              /* "<id>/": its threads' managers */
  int   cancel_started;      /* atomic: CANCEL stops begun ... */
  int   cancel_finished;     /* atomic: ... and returned (or called back) */
} Rec;

typedef struct
{
  State        *st;
  int           id;
  SubKind       kind;
  int           mode;
  int           param;
  Rec          *rec;
  int           cancel_base;   /* rec->cancel_finished when submitted */
  int           cancel_requested;  /* atomic */
  int           accepted;      /* atomic: 0 unknown, 1 accepted, 2 refused */
  int           ran;           /* atomic */
  int           destroyed;     /* atomic */
  int           destroyed_in_submit;  /* atomic */
  int           returned;      /* atomic */
  int           outcome;       /* atomic, for async results */
  TetherFuture *future;        /* lock */
} Sub;

typedef struct
{
  State        *st;
  int           index;
  GThread      *thread;
  GMainContext *context;
  GCancellable *shared;
  GAsyncQueue  *ops;
  int           pending;       /* callbacks to come, this actor's thread only */
} Actor;

struct _State
{
  GMutex      lock;
  TetherPool *slots[N_SLOTS];
  Rec        *recs[N_SLOTS];
  GPtrArray  *all_recs;
  Actor       actors[N_ACTORS];
  Sub         subs[MAX_SUBS];
  int         n_subs;          /* atomic */
  GAsyncQueue *done;
  int         generation;
};

static gboolean trace;
static gboolean strict;
static int early_releases;   /* atomic: data released before kept work returned */
static __thread Sub *tls_submitting;
static __thread Actor *tls_actor;

static GQuark
fuzz_error_quark (void)
{
  return g_quark_from_static_string ("fuzz-pool-error");
}

G_GNUC_NORETURN G_GNUC_PRINTF (1, 2) static void
die (const char *format,
     ...)
{
  static GMutex dying;
  va_list args;

  /* The first violation reports: two threads aborting at once break
   * libFuzzer's crash handler, and no input is saved. */
  g_mutex_lock (&dying);
  fprintf (stderr, "fuzz-pool: invariant violated: ");
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

static gboolean
is_rejection (const GError *error)
{
  return g_error_matches (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING) ||
         g_error_matches (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE) ||
         g_error_matches (error, TETHER_ERROR, TETHER_ERROR_BUSY);
}

/* ------------------------------------------------------------------ */
/* Pools and submissions                                               */

static Rec *
rec_new (State      *st,
         const char *id)
{
  Rec *rec = g_new0 (Rec, 1);

  rec->id = g_strdup (id);
  rec->prefix = g_strdup_printf ("%s/", id);
  g_mutex_lock (&st->lock);
  g_ptr_array_add (st->all_recs, rec);
  g_mutex_unlock (&st->lock);
  return rec;
}

static void
rec_free (gpointer data)
{
  Rec *rec = data;

  g_free (rec->id);
  g_free (rec->prefix);
  g_free (rec);
}

static TetherPool *
slot_ref (State  *st,
          int     index,
          Rec   **rec)
{
  TetherPool *pool;

  g_mutex_lock (&st->lock);
  pool = st->slots[index] != NULL ? g_object_ref (st->slots[index]) : NULL;
  *rec = st->recs[index];
  g_mutex_unlock (&st->lock);
  return pool;
}

static Sub *
sub_new (State   *st,
         SubKind  kind,
         int      mode,
         int      param,
         Rec     *rec)
{
  int id = g_atomic_int_add (&st->n_subs, 1);
  Sub *sub;

  if (id >= MAX_SUBS)
    return NULL;
  sub = &st->subs[id];
  sub->st = st;
  sub->id = id;
  sub->kind = kind;
  sub->mode = mode % N_MODES;
  sub->param = param;
  sub->rec = rec;
  /* A CANCEL stop not yet finished when this was submitted may cancel it
   * (stop_async()'s stop runs later, on another thread). */
  sub->cancel_base = g_atomic_int_get (&rec->cancel_finished);
  return sub;
}

static void
sub_destroy (gpointer data)
{
  Sub *sub = data;

  if (tls_submitting == sub)
    g_atomic_int_set (&sub->destroyed_in_submit, 1);
  if (g_atomic_int_get (&sub->ran) && g_atomic_int_get (&sub->returned) == R_NONE)
    {
      if (strict)
        die ("submission %d (%s): data released while its kept work had not returned",
             sub->id, mode_names[sub->mode]);
      g_atomic_int_inc (&early_releases);
    }
  if (g_atomic_int_add (&sub->destroyed, 1) != 0)
    die ("submission %d: data released twice", sub->id);
}

static void
set_returned (Sub      *sub,
              Returned  how)
{
  if (!g_atomic_int_compare_and_exchange (&sub->returned, R_NONE, how))
    die ("submission %d: work returned twice (harness bug)", sub->id);
}

/* ------------------------------------------------------------------ */
/* Work                                                                */

static void work_func (TetherWork *work, gpointer data);
static void post_func (gpointer data);

static void
enter_run (Sub *sub)
{
  g_autoptr(TetherLoopManager) current = tether_loop_manager_ref_current ();

  if (g_atomic_int_add (&sub->ran, 1) != 0)
    die ("submission %d: ran twice", sub->id);
  if (tls_actor != NULL)
    die ("submission %d: ran on an actor's thread", sub->id);
  /* NULL only while the thread's manager is being disposed. */
  if (current != NULL && !g_str_has_prefix (tether_loop_manager_get_id (current), sub->rec->prefix))
    die ("submission %d: ran on '%s', not a thread of pool '%s'", sub->id,
         tether_loop_manager_get_id (current), sub->rec->id);
}

static void
finish (TetherWork *work,
        Sub        *sub)
{
  if (tether_work_is_cancelled (work))
    {
      set_returned (sub, R_CANCELLED);
      tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_CANCELLED, "saw cancellation");
    }
  else
    {
      set_returned (sub, R_VALUE);
      tether_work_return_int (work, VALUE_BASE + sub->id);
    }
}

typedef struct
{
  TetherWork *work;
  Sub        *sub;
} Deferred;

static gboolean
deferred_fire (gpointer data)
{
  Deferred *d = data;

  finish (d->work, d->sub);
  return G_SOURCE_REMOVE;
}

static void
deferred_free (gpointer data)
{
  Deferred *d = data;

  g_object_unref (d->work);
  g_free (d);
}

/* Submits a child to the other pool (or this one), from work. */
static void
work_nested (Sub     *sub,
             gboolean post)
{
  State *st = sub->st;
  int index = sub->param % N_SLOTS;
  Rec *rec = NULL;
  g_autoptr(TetherPool) pool = slot_ref (st, index, &rec);
  g_autoptr(GError) error = NULL;
  Sub *child;

  if (pool == NULL)
    return;
  child = sub_new (st, K_CHILD, post ? W_VALUE : (sub->param / 2) % W_NESTED, sub->param / 8, rec);
  if (child == NULL)
    return;
  tls_submitting = child;
  if (post)
    {
      if (tether_executor_post (TETHER_EXECUTOR (pool), NULL, post_func, child, sub_destroy, &error))
        g_atomic_int_set (&child->accepted, 1);
    }
  else
    {
      TetherFuture *future = tether_executor_submit (TETHER_EXECUTOR (pool), NULL, work_func, child,
                                                     sub_destroy, NULL, &error);

      if (future != NULL)
        {
          g_mutex_lock (&st->lock);
          child->future = future;
          g_mutex_unlock (&st->lock);
          g_atomic_int_set (&child->accepted, 1);
        }
    }
  tls_submitting = NULL;
  if (error != NULL)
    {
      /* Any task type pools were started with refuses NULL. */
      if (!is_rejection (error))
        die ("submission %d: nested submission refused with '%s'", sub->id, error->message);
      g_atomic_int_set (&child->accepted, 2);
    }
}

/* A wait on a future of the work's own pool, from one of its threads: the
 * pool refuses it (WOULD_DEADLOCK) when no other thread could run the
 * work, and otherwise it must end. */
static void
work_wait_own (Sub *sub)
{
  State *st = sub->st;
  g_autoptr(TetherPool) pool = NULL;
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  Rec *rec = NULL;
  Sub *child;
  int index;

  for (index = 0; index < N_SLOTS; index++)
    {
      pool = slot_ref (st, index, &rec);
      if (pool != NULL && rec == sub->rec)
        break;
      g_clear_object (&pool);
    }
  if (pool == NULL)
    return;   /* replaced meanwhile */

  child = sub_new (st, K_CHILD, sub->param % W_NESTED, sub->param / 8, rec);
  if (child == NULL)
    return;
  (void) strict;
  tls_submitting = child;
  future = tether_pool_submit (pool, NULL, work_func, child, sub_destroy, NULL, &error);
  tls_submitting = NULL;
  if (future == NULL)
    {
      if (!is_rejection (error))
        die ("submission %d: own-pool submission refused with '%s'", sub->id, error->message);
      g_atomic_int_set (&child->accepted, 2);
      return;
    }
  g_atomic_int_set (&child->accepted, 1);
  g_mutex_lock (&st->lock);
  child->future = g_object_ref (future);
  g_mutex_unlock (&st->lock);

  if (!tether_future_wait (future, DEADLINE_USEC, NULL, &error))
    {
      if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
        die ("submission %d: a wait on its own pool's future %d (%s) neither ended nor was "
             "refused within %d s", sub->id, child->id, mode_names[child->mode],
             (int) (DEADLINE_USEC / G_USEC_PER_SEC));
      say ("  wait-own %d on %d: %s", sub->id, child->id, error->message);
    }
}

static void
work_func (TetherWork *work,
           gpointer    data)
{
  Sub *sub = data;

  enter_run (sub);
  switch (sub->mode)
    {
    case W_ERROR:
      set_returned (sub, R_ERROR);
      tether_work_return_new_error (work, fuzz_error_quark (), 1, "planned");
      return;

    case W_DEFER:
      {
        Deferred *d = g_new0 (Deferred, 1);
        GSource *source = g_timeout_source_new (sub->param % 3);

        d->work = g_object_ref (work);
        d->sub = sub;
        g_source_set_callback (source, deferred_fire, d, deferred_free);
        g_source_attach (source, g_main_context_get_thread_default ());
        g_source_unref (source);
      }
      return;

    case W_ABANDON:
      set_returned (sub, R_ABANDONED);
      return;

    case W_CANCEL_AWARE:
      {
        gint64 end = g_get_monotonic_time () + 50 * (sub->param % 8);

        while (!tether_work_is_cancelled (work) && g_get_monotonic_time () < end)
          ;
      }
      break;

    case W_NESTED:
      work_nested (sub, FALSE);
      break;

    case W_NESTED_POST:
      work_nested (sub, TRUE);
      break;

    case W_WAIT_OWN:
      work_wait_own (sub);
      break;

    case W_VALUE:
    default:
      break;
    }
  finish (work, sub);
}

static void
post_func (gpointer data)
{
  Sub *sub = data;

  enter_run (sub);
  if (sub->mode == W_NESTED_POST)
    work_nested (sub, TRUE);
  set_returned (sub, R_VALUE);
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */

static void
async_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Sub *sub = user_data;
  g_autoptr(GError) error = NULL;
  GValue value = G_VALUE_INIT;
  Outcome outcome;

  if (tls_submitting != NULL)
    die ("submission %d: async callback inside a submit call", sub->id);
  if (tether_executor_submit_finish (TETHER_EXECUTOR (source), result, &value, &error))
    {
      if (!G_VALUE_HOLDS_INT (&value) || g_value_get_int (&value) != VALUE_BASE + sub->id)
        die ("submission %d: async result carries the wrong value", sub->id);
      outcome = O_SUCCEEDED;
    }
  else if (is_rejection (error))
    {
      g_atomic_int_set (&sub->accepted, 2);
      outcome = O_REFUSED;
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    outcome = O_CANCELLED;
  else
    outcome = O_FAILED;
  g_value_unset (&value);
  if (outcome != O_REFUSED)
    g_atomic_int_set (&sub->accepted, 1);
  if (!g_atomic_int_compare_and_exchange (&sub->outcome, O_NONE, outcome))
    die ("submission %d: async callback ran twice", sub->id);
  tls_actor->pending--;
}

typedef struct
{
  Actor   *actor;
  Rec     *rec;
  gboolean cancel;
} StopCall;

static void
stop_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  StopCall *call = user_data;
  g_autoptr(GError) error = NULL;

  if (tls_actor != call->actor)
    die ("stop_async() on pool '%s' called back on another thread", call->rec->id);
  if (!tether_pool_stop_finish (TETHER_POOL (source), result, &error))
    die ("stop_async() on pool '%s' failed: %s", call->rec->id, error->message);
  if (call->cancel)
    g_atomic_int_inc (&call->rec->cancel_finished);
  call->actor->pending--;
  g_free (call);
}

static const char *task_types[3] = { NULL, "alpha", "beta" };
static const guint max_pending_choices[4] = { 0, 1, 2, 8 };

static void
recreate (State *st,
          int    index,
          guint  size,
          guint  max_pending,
          int    type)
{
  g_autofree char *id = g_strdup_printf ("fzp%d.%d", index, g_atomic_int_add (&st->generation, 1));
  TetherPool *pool = tether_pool_new (id, 1 + size % 3);
  Rec *rec = rec_new (st, id);
  TetherPool *old;

  tether_pool_set_max_pending (pool, max_pending_choices[max_pending % 4]);
  if (type >= 0 && !tether_pool_start (pool, task_types[type % 3], NULL))
    die ("a new pool did not start");
  g_mutex_lock (&st->lock);
  old = st->slots[index];
  st->slots[index] = pool;
  st->recs[index] = rec;
  g_mutex_unlock (&st->lock);
  /* With work queued, the last reference goes with its last item. */
  g_clear_object (&old);
}

static Sub *
pick_future (State *st,
             guint  draw)
{
  int n = MIN (g_atomic_int_get (&st->n_subs), MAX_SUBS);

  for (int i = 0; i < n; i++)
    {
      Sub *sub = &st->subs[(draw + i) % n];

      if (g_atomic_int_get (&sub->accepted) == 1 && sub->future != NULL)
        return sub;
    }
  return NULL;
}

static void
run_op (Actor    *actor,
        const Op *op)
{
  State *st = actor->st;
  int index = op->a % N_SLOTS;
  Rec *rec = NULL;
  g_autoptr(TetherPool) pool = NULL;
  g_autoptr(GError) error = NULL;

  say ("actor %d: %s %u %u %u", actor->index, op_names[op->kind], op->a, op->b, op->c);
  switch (op->kind)
    {
    case OP_START:
      pool = slot_ref (st, index, &rec);
      if (!tether_pool_start (pool, task_types[op->b % 3], &error) &&
          !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING))
        die ("start of pool '%s' failed: %s", rec->id, error->message);
      break;

    case OP_STOP:
      pool = slot_ref (st, index, &rec);
      if (op->b & 1)
        g_atomic_int_inc (&rec->cancel_started);
      tether_pool_stop (pool, (op->b & 1) ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN);
      if (op->b & 1)
        g_atomic_int_inc (&rec->cancel_finished);
      if (tether_pool_is_running (pool) && tether_pool_get_n_idle (pool) > tether_pool_get_n_threads (pool))
        die ("pool '%s': more idle threads than threads", rec->id);
      break;

    case OP_STOP_ASYNC:
      {
        StopCall *call = g_new0 (StopCall, 1);

        pool = slot_ref (st, index, &rec);
        call->actor = actor;
        call->rec = rec;
        call->cancel = (op->b & 1) != 0;
        if (op->b & 1)
          g_atomic_int_inc (&rec->cancel_started);
        actor->pending++;
        tether_pool_stop_async (pool, (op->b & 1) ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN,
                                NULL, stop_done, call);
        /* Not checked: !is_running() here. The other actor may have
         * started the pool again since (it was stopped already). */
      }
      break;

    case OP_RECREATE:
      recreate (st, index, op->b, op->c, (op->c & 0x80) ? -1 : op->b % 3);
      break;

    case OP_MAX_PENDING:
      pool = slot_ref (st, index, &rec);
      tether_pool_set_max_pending (pool, max_pending_choices[op->b % 4]);
      break;

    case OP_SUBMIT:
    case OP_POST:
    case OP_SUBMIT_ASYNC:
    case OP_THREAD_SUBMIT:
      {
        SubKind kind = op->kind == OP_SUBMIT ? K_FUTURE : op->kind == OP_POST ? K_POST
                       : op->kind == OP_SUBMIT_ASYNC ? K_ASYNC : K_THREAD;
        const char *type = (op->c & 0xc0) == 0xc0 ? task_types[(op->c >> 4) % 3] : NULL;
        GCancellable *cancellable = (op->c & 0x30) == 0x10 ? actor->shared : NULL;
        Sub *sub;

        pool = slot_ref (st, index, &rec);
        sub = sub_new (st, kind, op->b, op->c & 0x0f, rec);
        if (sub == NULL)
          break;

        /* Mostly the type the pool runs with: it refuses any other. */
        if (type == NULL && (op->b & 0x80))
          type = task_types[1];
        if (cancellable != NULL && g_cancellable_is_cancelled (cancellable))
          g_atomic_int_set (&sub->cancel_requested, 1);
        tls_submitting = sub;
        if (kind == K_POST)
          {
            if (tether_executor_post (TETHER_EXECUTOR (pool), type, post_func, sub, sub_destroy, &error))
              g_atomic_int_set (&sub->accepted, 1);
          }
        else if (kind == K_ASYNC)
          {
            actor->pending++;
            tether_executor_submit_async (TETHER_EXECUTOR (pool), type, work_func, sub, sub_destroy,
                                          G_PRIORITY_DEFAULT, cancellable, async_done, sub);
          }
        else
          {
            TetherFuture *future = NULL;

            if (kind == K_THREAD)
              {
                g_autoptr(TetherLoopManager) thread =
                  tether_pool_ref_thread (pool, op->c % tether_pool_get_n_threads (pool));

                /* Never started: no threads. Then it goes to the pool. */
                if (thread != NULL)
                  future = tether_loop_manager_submit (thread, type, work_func, sub, sub_destroy,
                                                       cancellable, &error);
                else
                  future = tether_pool_submit (pool, type, work_func, sub, sub_destroy,
                                               cancellable, &error);
              }
            else
              future = tether_executor_submit (TETHER_EXECUTOR (pool), type, work_func, sub,
                                               sub_destroy, cancellable, &error);
            if (future != NULL)
              {
                g_mutex_lock (&st->lock);
                sub->future = future;
                g_mutex_unlock (&st->lock);
                g_atomic_int_set (&sub->accepted, 1);
              }
          }
        tls_submitting = NULL;
        if (error != NULL)
          {
            if (!is_rejection (error))
              die ("submission %d refused with '%s'", sub->id, error->message);
            g_atomic_int_set (&sub->accepted, 2);
          }
      }
      break;

    case OP_FUTURE_CANCEL:
      {
        Sub *sub;

        g_mutex_lock (&st->lock);
        sub = pick_future (st, op->b);
        if (sub != NULL)
          {
            g_atomic_int_set (&sub->cancel_requested, 1);
            tether_future_cancel (sub->future);
          }
        g_mutex_unlock (&st->lock);
      }
      break;

    case OP_FUTURE_WAIT:
      {
        TetherFuture *future = NULL;
        Sub *sub;
        gint64 timeout = (op->c & 1) ? DEADLINE_USEC : 100 * (op->c % 16);

        g_mutex_lock (&st->lock);
        sub = pick_future (st, op->b);
        if (sub != NULL)
          future = g_object_ref (sub->future);
        g_mutex_unlock (&st->lock);
        if (future == NULL)
          break;
        if (!tether_future_wait (future, timeout, NULL, &error) && timeout == DEADLINE_USEC &&
            g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
          die ("submission %d (%s, %s): a wait of %d s timed out", sub->id, mode_names[sub->mode],
               sub->rec->id, (int) (DEADLINE_USEC / G_USEC_PER_SEC));
        if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
          die ("submission %d: a wait on an actor's thread was refused as a deadlock", sub->id);
        g_object_unref (future);
      }
      break;

    case OP_CANCEL_SHARED:
      {
        int n = MIN (g_atomic_int_get (&st->n_subs), MAX_SUBS);

        /* Everything submitted with it may be cancelled from now on. */
        for (int i = 0; i < n; i++)
          g_atomic_int_set (&st->subs[i].cancel_requested, 1);
        g_cancellable_cancel (actor->shared);
        if (op->b & 1)
          {
            g_object_unref (actor->shared);
            actor->shared = g_cancellable_new ();
          }
      }
      break;

    case OP_ITERATE:
      while (g_main_context_iteration (actor->context, FALSE))
        ;
      break;

    case OP_STATS:
      {
        g_autoptr(GVariant) stats = NULL;
        guint32 threads = 0, idle = 0;

        pool = slot_ref (st, index, &rec);
        stats = tether_pool_dup_stats (pool);
        if (!g_variant_lookup (stats, "threads", "u", &threads) ||
            threads != tether_pool_get_n_threads (pool) ||
            !g_variant_lookup (stats, "idle", "u", &idle) || idle > threads)
          die ("pool '%s': stats disagree with the pool (threads %u, idle %u)", rec->id, threads, idle);
      }
      break;

    default:
      break;
    }
}

/* Every async callback this actor is owed, under the deadline. */
static void
collect_callbacks (Actor *actor)
{
  gint64 deadline = g_get_monotonic_time () + DEADLINE_USEC;

  while (actor->pending > 0)
    {
      if (g_get_monotonic_time () > deadline)
        die ("actor %d: %d callbacks still missing after %d s", actor->index, actor->pending,
             (int) (DEADLINE_USEC / G_USEC_PER_SEC));
      if (!g_main_context_iteration (actor->context, FALSE))
        g_usleep (100);
    }
}

static gpointer
helper_main (gpointer data)
{
  Actor *actor = data;

  tls_actor = actor;
  g_main_context_push_thread_default (actor->context);
  for (;;)
    {
      Op *op = g_async_queue_pop (actor->ops);
      gboolean end = op->kind == OP_END;

      if (!end)
        run_op (actor, op);
      g_free (op);
      while (g_main_context_iteration (actor->context, FALSE))
        ;
      if (end)
        break;
    }
  collect_callbacks (actor);
  g_main_context_pop_thread_default (actor->context);
  g_async_queue_push (actor->st->done, GINT_TO_POINTER (1));
  tls_actor = NULL;
  return NULL;
}

/* ------------------------------------------------------------------ */
/* The ledger                                                          */

static void
check_ledger (State *st)
{
  int n = MIN (g_atomic_int_get (&st->n_subs), MAX_SUBS);

  for (int i = 0; i < n; i++)
    {
      Sub *sub = &st->subs[i];
      gboolean cause = g_atomic_int_get (&sub->cancel_requested) ||
                       g_atomic_int_get (&sub->rec->cancel_started) > sub->cancel_base;
      TetherFutureStatus status;

      if (sub->st == NULL)
        continue;   /* its number was taken past MAX_SUBS */
      if (sub->destroyed != 1)
        die ("submission %d (%s, %s): data released %d times", i, mode_names[sub->mode],
             sub->rec->id, sub->destroyed);
      if (sub->ran > 1)
        die ("submission %d: ran %d times", i, sub->ran);
      if (sub->accepted == 0)
        die ("submission %d: never learned whether it was accepted", i);
      if (sub->accepted == 2)
        {
          if (sub->ran != 0)
            die ("submission %d: refused, yet it ran", i);
          if (!sub->destroyed_in_submit)
            die ("submission %d: refused, but its data was not released inside the submit call", i);
          continue;
        }

      if (sub->kind == K_POST || (sub->kind == K_CHILD && sub->future == NULL))
        {
          /* No outcome channel: it ran, or was cancelled with a cause. */
          if (sub->ran == 0 && !cause)
            die ("submission %d (post, %s): never ran, and nothing cancelled it", i, sub->rec->id);
          continue;
        }

      if (sub->kind == K_ASYNC)
        {
          Outcome outcome = sub->outcome;

          if ((outcome == O_SUCCEEDED && sub->returned != R_VALUE) ||
              (outcome == O_FAILED && sub->returned != R_ERROR && sub->returned != R_ABANDONED) ||
              (outcome == O_CANCELLED && sub->ran && sub->returned != R_CANCELLED) ||
              (outcome == O_CANCELLED && !cause) || outcome == O_NONE)
            die ("submission %d (async, %s): outcome %d, work returned %d, ran %d, cause %d", i,
                 mode_names[sub->mode], outcome, sub->returned, sub->ran, cause);
          continue;
        }

      status = tether_future_get_status (sub->future);
      switch (status)
        {
        case TETHER_FUTURE_STATUS_SUCCEEDED:
          {
            const GValue *value = tether_future_get_value (sub->future);

            if (sub->returned != R_VALUE || value == NULL || !G_VALUE_HOLDS_INT (value) ||
                g_value_get_int (value) != VALUE_BASE + i)
              die ("submission %d: succeeded with a value its work did not return", i);
          }
          break;

        case TETHER_FUTURE_STATUS_FAILED:
          if (sub->returned != R_ERROR && sub->returned != R_ABANDONED)
            die ("submission %d (%s): failed, but its work returned %d", i, mode_names[sub->mode],
                 sub->returned);
          break;

        case TETHER_FUTURE_STATUS_CANCELLED:
          if (!cause)
            die ("submission %d (%s, %s): cancelled with no cancel call and no CANCEL stop (ran %d)",
                 i, mode_names[sub->mode], sub->rec->id, sub->ran);
          if (sub->ran && sub->returned != R_CANCELLED)
            die ("submission %d: cancelled, but its work ran and returned %d", i, sub->returned);
          break;

        case TETHER_FUTURE_STATUS_PENDING:
        default:
          die ("submission %d (%s, %s): still pending after every pool stopped", i,
               mode_names[sub->mode], sub->rec->id);
        }
    }
}

static GLogWriterOutput
swallow_debug_reports (GLogLevelFlags   level,
                       const GLogField *fields,
                       gsize            n_fields,
                       gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO | G_LOG_LEVEL_MESSAGE))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* stop_async() stops on a thread of GTask's pool. GLib gives each new thread
 * per-thread blocks it never frees (its slice magazine, the current-source
 * stack: g_private_set_alloc0(), which only an ASan-built GLib marks as
 * ignored), so an input that makes GTask start a thread "leaks" ~2 KB and
 * LeakSanitizer fails it (when the thread exits: GLib ends idle pool
 * threads beyond two). Here GTask's threads are started once, before any
 * input, and kept: idle threads never exit. */
#define WARM_THREADS 10

static GMutex warm_lock;
static GCond  warm_cond;
static int    warm_running;
static int    warm_done;

static void
warm_task (GTask        *task,
           gpointer      source_object,
           gpointer      task_data,
           GCancellable *cancellable)
{
  g_autoptr(GPtrArray) slices = g_ptr_array_new ();
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  g_ptr_array_add (slices, NULL);   /* this thread's slice magazine */
  g_mutex_lock (&warm_lock);
  warm_running++;
  g_cond_broadcast (&warm_cond);
  while (warm_running < WARM_THREADS && g_cond_wait_until (&warm_cond, &warm_lock, deadline))
    ;
  g_mutex_unlock (&warm_lock);
  g_task_return_boolean (task, TRUE);
}

static void
warm_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  warm_done++;
}

static void
warm_task_threads (void)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  /* Idle threads wait for work without a time limit, and any number of
   * them may (GLib's default keeps 2 and ends the others). */
  g_thread_pool_set_max_idle_time (0);
  g_thread_pool_set_max_unused_threads (-1);
  for (int i = 0; i < WARM_THREADS; i++)
    {
      g_autoptr(GTask) task = g_task_new (NULL, NULL, warm_done_cb, NULL);

      g_task_run_in_thread (task, warm_task);
    }
  while (warm_done < WARM_THREADS && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* As in fuzz-manager.c: GSlice would hide leaks from LeakSanitizer. */
  if (g_strcmp0 (getenv ("G_SLICE"), "always-malloc") != 0)
    {
      setenv ("G_SLICE", "always-malloc", 1);
      execv ("/proc/self/exe", *argv);
      perror ("fuzz-pool: cannot restart with G_SLICE=always-malloc");
    }
  trace = getenv ("FUZZ_TETHER_TRACE") != NULL;
  strict = g_strcmp0 (getenv ("FUZZ_POOL_STRICT"), "0") != 0;
  g_log_set_writer_func (swallow_debug_reports, NULL, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  fuzz_error_quark ();
  warm_task_threads ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  State *st = g_new0 (State, 1);
  size_t n_ops = MIN (size / OP_SIZE, MAX_OPS);

  g_mutex_init (&st->lock);
  st->all_recs = g_ptr_array_new_with_free_func (rec_free);
  st->done = g_async_queue_new ();
  for (int i = 0; i < N_SLOTS; i++)
    recreate (st, i, i, 0, 0);

  for (int i = 0; i < N_ACTORS; i++)
    {
      Actor *actor = &st->actors[i];

      actor->st = st;
      actor->index = i;
      actor->context = g_main_context_new ();
      actor->shared = g_cancellable_new ();
      actor->ops = g_async_queue_new ();
    }
  tls_actor = &st->actors[0];
  g_main_context_push_thread_default (st->actors[0].context);
  for (int i = 1; i < N_ACTORS; i++)
    st->actors[i].thread = g_thread_new ("fzp-helper", helper_main, &st->actors[i]);

  say ("input: %zu bytes, %zu operations", size, n_ops);
  for (size_t i = 0; i < n_ops; i++)
    {
      Op op = {
        .kind = (data[i * OP_SIZE] & 0x1f) % N_OPS,
        .a = data[i * OP_SIZE + 1],
        .b = data[i * OP_SIZE + 2],
        .c = data[i * OP_SIZE + 3],
      };
      int who = ((data[i * OP_SIZE] >> 5) & 1) % N_ACTORS;

      if (who == 0)
        run_op (&st->actors[0], &op);
      else
        g_async_queue_push (st->actors[who].ops, g_memdup2 (&op, sizeof op));
    }

  for (int i = 1; i < N_ACTORS; i++)
    {
      Op end = { .kind = OP_END };

      g_async_queue_push (st->actors[i].ops, g_memdup2 (&end, sizeof end));
    }
  for (int i = 1; i < N_ACTORS; i++)
    g_async_queue_pop (st->done);
  for (int i = 1; i < N_ACTORS; i++)
    g_thread_join (st->actors[i].thread);

  /* The end: every pool drained and dropped (work no longer submits to a
   * slot once it is empty), every callback collected. */
  for (int i = 0; i < N_SLOTS; i++)
    {
      TetherPool *pool;

      g_mutex_lock (&st->lock);
      pool = g_steal_pointer (&st->slots[i]);
      g_mutex_unlock (&st->lock);
      tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
      if (tether_pool_get_n_pending (pool) != 0)
        die ("pool %d has %u queued submissions after a DRAIN stop", i, tether_pool_get_n_pending (pool));
      g_object_unref (pool);
    }
  collect_callbacks (&st->actors[0]);

  /* Pools dropped while work was queued drain by themselves: every
   * submission's data must be released within the deadline. */
  {
    gint64 deadline = g_get_monotonic_time () + DEADLINE_USEC;
    int n = MIN (g_atomic_int_get (&st->n_subs), MAX_SUBS);

    /* And their futures to end: a pool dropped with work queued lives
     * until its last item ends (the data of kept work may be gone already,
     * see above). */
    for (int i = 0; i < n; i++)
      while ((g_atomic_int_get (&st->subs[i].destroyed) == 0 ||
              (st->subs[i].future != NULL && !tether_future_is_done (st->subs[i].future))) &&
             g_get_monotonic_time () < deadline)
        {
          while (g_main_context_iteration (st->actors[0].context, FALSE))
            ;
          g_usleep (100);
        }
  }
  if (!tether_loop_manager_wait_detached (DEADLINE_USEC))
    die ("pool threads still draining %d s after the end", (int) (DEADLINE_USEC / G_USEC_PER_SEC));

  check_ledger (st);
  say ("%d submissions, %d released before kept work returned (known)",
       MIN (g_atomic_int_get (&st->n_subs), MAX_SUBS), g_atomic_int_get (&early_releases));

  g_main_context_pop_thread_default (st->actors[0].context);
  tls_actor = NULL;
  for (int i = 0; i < MIN (g_atomic_int_get (&st->n_subs), MAX_SUBS); i++)
    g_clear_object (&st->subs[i].future);
  for (int i = 0; i < N_ACTORS; i++)
    {
      g_main_context_unref (st->actors[i].context);
      g_object_unref (st->actors[i].shared);
      g_async_queue_unref (st->actors[i].ops);
    }
  g_async_queue_unref (st->done);
  g_ptr_array_unref (st->all_recs);
  g_mutex_clear (&st->lock);
  g_free (st);
  return 0;
}

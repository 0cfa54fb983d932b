/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TetherPool: N loop threads behind one queue. Every blocking call runs
 * under a watchdog; gates hold threads in work where order matters. */
#include "config.h"

#include <time.h>

#include <tether.h>

#include "test-util.h"

#define WATCHDOG_S 60
#define WAIT_USEC (30 * G_USEC_PER_SEC)

static TetherPool *
started_pool (const char *id,
              guint       n_threads,
              const char *task_type)
{
  g_autoptr(GError) error = NULL;
  TetherPool *pool = tether_pool_new (id, n_threads);

  g_assert_true (tether_pool_start (pool, task_type, &error));
  g_assert_no_error (error);
  return pool;
}

static void
square (TetherWork *work,
        gpointer    user_data)
{
  int n = GPOINTER_TO_INT (user_data);

  tether_work_return_int (work, n * n);
}

static void
test_pool_results (void)
{
  g_autoptr(TetherPool) pool = started_pool ("results", 2, NULL);
  TetherFuture *futures[200];

  watchdog_arm (WATCHDOG_S, "pool-results");
  g_assert_cmpuint (tether_pool_get_n_threads (pool), ==, 2);
  g_assert_cmpstr (tether_pool_get_id (pool), ==, "results");
  for (int i = 0; i < 200; i++)
    futures[i] = tether_pool_submit (pool, NULL, square, GINT_TO_POINTER (i), NULL, NULL, NULL);
  for (int i = 0; i < 200; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (tether_future_wait (futures[i], WAIT_USEC, NULL, &error));
      g_assert_cmpint (tether_future_get_int (futures[i], NULL), ==, i * i);
      g_object_unref (futures[i]);
    }
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_assert_false (tether_pool_is_running (pool));
  watchdog_disarm ();
}

/* A long job on one thread does not hold up queued work while the other
 * thread is idle; the thread-default context is the thread's own. */
typedef struct
{
  Gate               gate;
  GMainContext      *context;
  TetherLoopManager *manager;
} Held;

static void
hold_thread (TetherWork *work,
             gpointer    user_data)
{
  Held *held = user_data;

  held->manager = tether_loop_manager_ref_current ();
  held->context = g_main_context_ref_thread_default ();
  block_work (work, &held->gate);
}

static void
test_pool_no_hold_up (void)
{
  g_autoptr(TetherPool) pool = started_pool ("no-hold-up", 2, NULL);
  g_autoptr(TetherFuture) long_job = NULL;
  g_autoptr(GError) error = NULL;
  Held held = { 0 };

  watchdog_arm (WATCHDOG_S, "pool-no-hold-up");
  gate_init (&held.gate);
  long_job = tether_pool_submit (pool, NULL, hold_thread, &held, NULL, NULL, NULL);
  gate_wait_entered (&held.gate);
  g_assert_nonnull (held.manager);
  g_assert_true (held.context == tether_loop_manager_get_context (held.manager));
  /* Ten quick jobs behind it all run on the other thread meanwhile. */
  for (int i = 0; i < 10; i++)
    {
      g_autoptr(TetherFuture) quick = tether_pool_submit (pool, NULL, square, GINT_TO_POINTER (3),
                                                          NULL, NULL, NULL);

      g_assert_true (tether_future_wait (quick, WAIT_USEC, NULL, &error));
    }
  g_assert_false (tether_future_is_done (long_job));
  /* The other thread goes idle once its last job's function has returned,
   * just after that job's future completed. */
  poll_until (tether_pool_get_n_idle (pool) == 1);
  gate_open (&held.gate);
  g_assert_true (tether_future_wait (long_job, WAIT_USEC, NULL, &error));
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_main_context_unref (held.context);
  g_object_unref (held.manager);
  gate_clear (&held.gate);
  watchdog_disarm ();
}

/* One thread: work starts in submission order. */
typedef struct
{
  GMutex  lock;
  GArray *order;
} Order;

typedef struct
{
  Order *order;
  int    tag;
} Tagged;

static void
note_order (TetherWork *work,
            gpointer    user_data)
{
  Tagged *tagged = user_data;

  g_mutex_lock (&tagged->order->lock);
  g_array_append_val (tagged->order->order, tagged->tag);
  g_mutex_unlock (&tagged->order->lock);
  tether_work_return_boolean (work, TRUE);
}

static void
test_pool_fifo (void)
{
  g_autoptr(TetherPool) pool = started_pool ("fifo", 1, NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  Order order = { .order = g_array_new (FALSE, FALSE, sizeof (int)) };
  Tagged tagged[50];
  int posted[50] = { 0 };
  Gate gate;

  watchdog_arm (WATCHDOG_S, "pool-fifo");
  g_mutex_init (&order.lock);
  gate_init (&gate);
  blocker = tether_pool_submit (pool, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  for (int i = 0; i < 50; i++)
    {
      tagged[i].order = &order;
      tagged[i].tag = i;
      g_assert_true (tether_pool_post (pool, NULL, (TetherFunc) g_atomic_int_inc,
                                       &posted[i], NULL, NULL));
      g_object_unref (tether_pool_submit (pool, NULL, note_order, &tagged[i], NULL, NULL, NULL));
    }
  g_assert_cmpuint (tether_pool_get_n_pending (pool), ==, 100);
  gate_open (&gate);
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpuint (order.order->len, ==, 50);
  for (int i = 0; i < 50; i++)
    {
      g_assert_cmpint (g_array_index (order.order, int, i), ==, i);
      g_assert_cmpint (posted[i], ==, 1);   /* each post ran once */
    }
  g_array_unref (order.order);
  g_mutex_clear (&order.lock);
  gate_clear (&gate);
  watchdog_disarm ();
}

/* Cancelled while queued in the pool: by the future, by the cancellable;
 * a CANCEL stop ends queued work cancelled and cancels running work. */
static void
count_run (TetherWork *work,
           gpointer    user_data)
{
  g_atomic_int_inc ((int *) user_data);
  tether_work_return_boolean (work, TRUE);
}

static void
test_pool_cancel (void)
{
  g_autoptr(TetherPool) pool = started_pool ("cancel", 1, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TetherFuture) by_future = NULL;
  g_autoptr(TetherFuture) by_cancellable = NULL;
  g_autoptr(TetherFuture) by_stop = NULL;
  g_autoptr(TetherFuture) running = NULL;
  g_autoptr(GError) error = NULL;
  int ran = 0;
  Gate gate;

  watchdog_arm (WATCHDOG_S, "pool-cancel");
  gate_init (&gate);
  running = tether_pool_submit (pool, NULL, return_when_cancelled, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  by_future = tether_pool_submit (pool, NULL, count_run, &ran, NULL, NULL, NULL);
  by_cancellable = tether_pool_submit (pool, NULL, count_run, &ran, NULL, cancellable, NULL);
  by_stop = tether_pool_submit (pool, NULL, count_run, &ran, NULL, NULL, NULL);

  tether_future_cancel (by_future);
  g_assert_cmpint (tether_future_get_status (by_future), ==, TETHER_FUTURE_STATUS_CANCELLED);
  g_cancellable_cancel (cancellable);
  g_assert_false (tether_future_wait (by_cancellable, WAIT_USEC, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (tether_pool_get_n_pending (pool), ==, 1);

  tether_pool_stop (pool, TETHER_STOP_MODE_CANCEL);
  g_assert_cmpint (tether_future_get_status (by_stop), ==, TETHER_FUTURE_STATUS_CANCELLED);
  g_assert_false (tether_future_wait (running, WAIT_USEC, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);   /* it saw its cancellable */
  g_assert_cmpint (ran, ==, 0);
  gate_clear (&gate);
  watchdog_disarm ();
}

static void
test_pool_refused (void)
{
  g_autoptr(TetherPool) pool = tether_pool_new (NULL, 1);
  g_autoptr(TetherPool) typed = started_pool ("typed", 1, "io");
  g_autoptr(TetherFuture) ok = NULL;
  g_autoptr(GError) error = NULL;
  int ran = 0;

  watchdog_arm (WATCHDOG_S, "pool-refused");
  g_assert_true (g_str_has_prefix (tether_pool_get_id (pool), "pool-"));
  g_assert_cmpuint (tether_pool_get_n_idle (pool), ==, 0);
  g_assert_null (tether_pool_submit (pool, NULL, count_run, &ran, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&error);
  g_assert_null (tether_pool_submit (typed, "cpu", count_run, &ran, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_clear_error (&error);
  g_assert_false (tether_pool_start (typed, "io", &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING);
  g_clear_error (&error);
  ok = tether_pool_submit (typed, "io", count_run, &ran, NULL, NULL, &error);
  g_assert_true (tether_future_wait (ok, WAIT_USEC, NULL, &error));
  tether_pool_stop (typed, TETHER_STOP_MODE_DRAIN);
  /* A stopped pool starts again, with new threads. */
  g_assert_true (tether_pool_start (typed, NULL, &error));
  g_clear_object (&ok);
  ok = tether_pool_submit (typed, "any", count_run, &ran, NULL, NULL, &error);
  g_assert_true (tether_future_wait (ok, WAIT_USEC, NULL, &error));
  g_assert_cmpint (ran, ==, 2);
  tether_pool_stop (typed, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* Waiting, on a pool thread, for a future of the same pool. */
typedef struct
{
  TetherPool *pool;
  GError     *error;
  gboolean    ok;
} Nested;

static void
wait_for_nested (TetherWork *work,
                 gpointer    user_data)
{
  Nested *nested = user_data;
  g_autoptr(TetherFuture) inner = tether_pool_submit (nested->pool, NULL, square,
                                                      GINT_TO_POINTER (5), NULL, NULL, NULL);

  nested->ok = tether_future_wait (inner, WAIT_USEC, NULL, &nested->error);
  tether_work_return_boolean (work, TRUE);
}

static void
test_pool_wait_deadlock (void)
{
  watchdog_arm (WATCHDOG_S, "pool-wait-deadlock");
  /* One thread: nothing else could run the queued job. */
  {
    g_autoptr(TetherPool) pool = started_pool ("deadlock-1", 1, NULL);
    g_autoptr(TetherFuture) outer = NULL;
    Nested nested = { pool, NULL, FALSE };

    outer = tether_pool_submit (pool, NULL, wait_for_nested, &nested, NULL, NULL, NULL);
    g_assert_true (tether_future_wait (outer, WAIT_USEC, NULL, NULL));
    g_assert_false (nested.ok);
    g_assert_error (nested.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
    g_clear_error (&nested.error);
    tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  }
  /* Two threads: the other one runs it. */
  {
    g_autoptr(TetherPool) pool = started_pool ("deadlock-2", 2, NULL);
    g_autoptr(TetherFuture) outer = NULL;
    Nested nested = { pool, NULL, FALSE };

    outer = tether_pool_submit (pool, NULL, wait_for_nested, &nested, NULL, NULL, NULL);
    g_assert_true (tether_future_wait (outer, WAIT_USEC, NULL, NULL));
    g_assert_no_error (nested.error);
    g_assert_true (nested.ok);
    tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  }
  watchdog_disarm ();
}

/* Two threads each waiting for the job the other runs: the second wait is
 * refused, the first then completes. */
typedef struct
{
  TetherPool   *pool;
  Gate          both_running;   /* opened when both jobs run */
  int           n_running;
  TetherFuture *jobs[2];
  GMutex        lock;
  gboolean      ok[2];
  GError       *error[2];
} Crossed;

typedef struct
{
  Crossed *crossed;
  int      me;
} CrossedArg;

static void
wait_for_other (TetherWork *work,
                gpointer    user_data)
{
  CrossedArg *arg = user_data;
  Crossed *crossed = arg->crossed;
  TetherFuture *other;

  if (g_atomic_int_add (&crossed->n_running, 1) == 1)
    gate_open (&crossed->both_running);
  gate_wait_open (&crossed->both_running);
  g_mutex_lock (&crossed->lock);
  other = g_object_ref (crossed->jobs[1 - arg->me]);
  g_mutex_unlock (&crossed->lock);
  crossed->ok[arg->me] = tether_future_wait (other, WAIT_USEC, NULL, &crossed->error[arg->me]);
  g_object_unref (other);
  tether_work_return_boolean (work, TRUE);
}

static void
test_pool_crossed_waits (void)
{
  g_autoptr(TetherPool) pool = started_pool ("crossed", 2, NULL);
  Crossed crossed = { pool };
  CrossedArg args[2] = { { &crossed, 0 }, { &crossed, 1 } };

  watchdog_arm (WATCHDOG_S, "pool-crossed-waits");
  gate_init (&crossed.both_running);
  g_mutex_init (&crossed.lock);
  g_mutex_lock (&crossed.lock);
  for (int i = 0; i < 2; i++)
    crossed.jobs[i] = tether_pool_submit (pool, NULL, wait_for_other, &args[i], NULL, NULL, NULL);
  g_mutex_unlock (&crossed.lock);
  for (int i = 0; i < 2; i++)
    g_assert_true (tether_future_wait (crossed.jobs[i], WAIT_USEC, NULL, NULL));
  /* Exactly one of the two waits was refused. */
  g_assert_cmpint (crossed.ok[0] + crossed.ok[1], ==, 1);
  for (int i = 0; i < 2; i++)
    if (!crossed.ok[i])
      g_assert_error (crossed.error[i], TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
    else
      g_assert_no_error (crossed.error[i]);
  for (int i = 0; i < 2; i++)
    {
      g_clear_error (&crossed.error[i]);
      g_object_unref (crossed.jobs[i]);
    }
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_mutex_clear (&crossed.lock);
  gate_clear (&crossed.both_running);
  watchdog_disarm ();
}

/* Many submitters racing a stop: every accepted submission ends once. */
typedef struct
{
  TetherPool *pool;
  int         ran;
  int         accepted;
  int         ended;
} Race;

static void
race_job (TetherWork *work,
          gpointer    user_data)
{
  g_atomic_int_inc (&((Race *) user_data)->ran);
  tether_work_return_boolean (work, TRUE);
}

static gpointer
race_submitter (gpointer data)
{
  Race *race = data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherFuture) future = tether_pool_submit (race->pool, NULL, race_job, race, NULL,
                                                           NULL, &error);

      if (future == NULL)
        {
          g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
          return NULL;
        }
      g_atomic_int_inc (&race->accepted);
      if (tether_future_wait (future, WAIT_USEC, NULL, NULL) ||
          tether_future_get_status (future) == TETHER_FUTURE_STATUS_CANCELLED)
        g_atomic_int_inc (&race->ended);
    }
}

static void
test_pool_stop_race (void)
{
  watchdog_arm (WATCHDOG_S, "pool-stop-race");
  for (guint round = 0; round < 20; round++)
    {
      g_autoptr(TetherPool) pool = started_pool ("race", 2, NULL);
      Race race = { pool, 0, 0, 0 };
      GThread *threads[4];

      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        threads[i] = g_thread_new ("submitter", race_submitter, &race);
      g_usleep (500 * (round % 4));
      tether_pool_stop (pool, round % 2 ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN);
      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        g_thread_join (threads[i]);
      g_assert_cmpint (race.ended, ==, race.accepted);
      if (round % 2 == 0)
        g_assert_cmpint (race.ran, ==, race.accepted);
    }
  watchdog_disarm ();
}

/* Posts flood the pool from several threads while it stops: a post takes
 * no lock while the pool runs, so the stop must wait out posts half-way in
 * and then find each of them. Every accepted post has its data released
 * exactly once; in DRAIN it also ran; a refused one is released before
 * post() returns. */
typedef struct
{
  TetherPool *pool;
  int         ran;
  int         accepted;
  int         released;
  int         refused;
} PostRace;

static void
post_race_job (gpointer data)
{
  g_atomic_int_inc (&((PostRace *) data)->ran);
}

static void
post_race_release (gpointer data)
{
  g_atomic_int_inc (&((PostRace *) data)->released);
}

static gpointer
post_race_poster (gpointer data)
{
  PostRace *race = data;

  for (;;)
    {
      g_autoptr(GError) error = NULL;

      if (!tether_pool_post (race->pool, NULL, post_race_job, race, post_race_release, &error))
        {
          g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
          g_atomic_int_inc (&race->refused);
          return NULL;
        }
      g_atomic_int_inc (&race->accepted);
    }
}

static void
test_pool_post_stop_race (void)
{
  watchdog_arm (WATCHDOG_S, "pool-post-stop-race");
  for (guint round = 0; round < 20; round++)
    {
      g_autoptr(TetherPool) pool = started_pool ("post-race", 2, NULL);
      PostRace race = { pool, 0, 0, 0, 0 };
      GThread *threads[3];

      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        threads[i] = g_thread_new ("poster", post_race_poster, &race);
      g_usleep (200 * (round % 5));
      tether_pool_stop (pool, round % 2 ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN);
      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        g_thread_join (threads[i]);
      g_assert_cmpint (race.refused, ==, G_N_ELEMENTS (threads));
      /* Released before stop() returned, each once: refused ones too. */
      g_assert_cmpint (race.released, ==, race.accepted + race.refused);
      if (round % 2 == 0)
        g_assert_cmpint (race.ran, ==, race.accepted);
      else
        g_assert_cmpint (race.ran, <=, race.accepted);
    }
  watchdog_disarm ();
}

/* The last reference dropped with work queued: the queued work holds the
 * pool, which drains in the background and goes once the last job has run
 * (its threads' managers then drain as dropped managers do). */
static void
test_pool_last_unref_drains (void)
{
  TetherPool *pool = started_pool ("dropped", 2, NULL);
  int ran = 0;

  watchdog_arm (WATCHDOG_S, "pool-last-unref");
  for (int i = 0; i < 100; i++)
    g_assert_true (tether_pool_post (pool, NULL, (TetherFunc) g_atomic_int_inc, &ran, NULL, NULL));
  g_object_add_weak_pointer (G_OBJECT (pool), (gpointer *) &pool);
  g_object_unref (pool);
  poll_until (g_atomic_int_get (&ran) == 100);
  poll_until (g_atomic_pointer_get (&pool) == NULL);
  g_assert_true (tether_loop_manager_wait_detached (WAIT_USEC));
  watchdog_disarm ();
}

/* submit_async(): the callback runs in the caller's context, never inside
 * the call, for a refusal too; stop_async() refuses at once and calls back
 * once the threads are gone; dup_stats() counts what went through. */
typedef struct
{
  int      n_done;
  gboolean ok[2];
  int      value;
  GError  *error;
} Async;

static void
on_submitted (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Async *async = user_data;
  g_auto(GValue) value = G_VALUE_INIT;

  async->ok[async->n_done] = tether_pool_submit_finish (TETHER_POOL (source), result, &value,
                                                        async->n_done == 0 ? NULL : &async->error);
  if (G_VALUE_HOLDS_INT (&value))
    async->value = g_value_get_int (&value);
  async->n_done++;
}

static void
on_stopped (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_assert_true (tether_pool_stop_finish (TETHER_POOL (source), result, NULL));
  *(gboolean *) user_data = TRUE;
}

static void
test_pool_async (void)
{
  g_autoptr(TetherPool) pool = started_pool ("async", 2, "io");
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GVariant) stats = NULL;
  guint64 submitted = 0, completed = 0, rejected = 0;
  guint32 threads = 0;
  gboolean stopped = FALSE;
  Async async = { 0 };

  watchdog_arm (WATCHDOG_S, "pool-async");
  g_main_context_push_thread_default (context);
  tether_pool_submit_async (pool, "io", square, GINT_TO_POINTER (6), NULL, G_PRIORITY_DEFAULT,
                            NULL, on_submitted, &async);
  while (async.n_done < 1)
    g_main_context_iteration (context, TRUE);
  g_assert_true (async.ok[0]);
  g_assert_cmpint (async.value, ==, 36);

  tether_pool_submit_async (pool, "cpu", square, GINT_TO_POINTER (6), NULL, G_PRIORITY_DEFAULT,
                            NULL, on_submitted, &async);
  g_assert_cmpint (async.n_done, ==, 1);        /* not inside the call */
  while (async.n_done < 2)
    g_main_context_iteration (context, TRUE);
  g_assert_false (async.ok[1]);
  g_assert_error (async.error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_clear_error (&async.error);

  stats = tether_pool_dup_stats (pool);
  g_assert_true (g_variant_lookup (stats, "submitted", "t", &submitted));
  g_assert_true (g_variant_lookup (stats, "completed", "t", &completed));
  g_assert_true (g_variant_lookup (stats, "rejected", "t", &rejected));
  g_assert_true (g_variant_lookup (stats, "threads", "u", &threads));
  g_assert_cmpuint (submitted, ==, 1);
  g_assert_cmpuint (completed, ==, 1);
  g_assert_cmpuint (rejected, ==, 1);
  g_assert_cmpuint (threads, ==, 2);

  tether_pool_stop_async (pool, TETHER_STOP_MODE_DRAIN, NULL, on_stopped, &stopped);
  g_assert_false (tether_pool_is_running (pool));  /* refused from the start */
  while (!stopped)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpuint (tether_pool_get_n_idle (pool), ==, 0);
  g_main_context_pop_thread_default (context);
  watchdog_disarm ();
}

/* TetherExecutor: the same code submits to a manager and to a pool. */
static int
run_through_executor (TetherExecutor *executor)
{
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  int posted = 0;

  future = tether_executor_submit (executor, NULL, square, GINT_TO_POINTER (9), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, WAIT_USEC, NULL, &error));
  g_assert_true (tether_executor_post (executor, NULL, (TetherFunc) g_atomic_int_inc, &posted,
                                       NULL, &error));
  poll_until (g_atomic_int_get (&posted) == 1);
  return tether_future_get_int (future, NULL);
}

static void
test_pool_executor (void)
{
  g_autoptr(TetherPool) pool = started_pool ("executor", 2, NULL);
  g_autoptr(TetherLoopManager) manager = started ("executor-manager", NULL);

  watchdog_arm (WATCHDOG_S, "pool-executor");
  g_assert_true (TETHER_IS_EXECUTOR (pool));
  g_assert_true (TETHER_IS_EXECUTOR (manager));
  g_assert_cmpint (run_through_executor (TETHER_EXECUTOR (pool)), ==, 81);
  g_assert_cmpint (run_through_executor (TETHER_EXECUTOR (manager)), ==, 81);
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* Progress reported by pool work reaches the pool's future, in the
 * submitter's context. */
typedef struct
{
  Gate connected;   /* opened once the test listens */
  Gate done;
} Reporting;

static void
report_then_block (TetherWork *work,
                   gpointer    user_data)
{
  Reporting *reporting = user_data;

  gate_wait_open (&reporting->connected);
  tether_work_report_fraction (work, 0.5, "half");
  block_work (work, &reporting->done);
}

static void
on_progress (TetherFuture *future,
             GVariant     *progress,
             gpointer      user_data)
{
  double fraction = 0;
  const char *message = NULL;

  g_variant_get (progress, "(d&s)", &fraction, &message);
  if (fraction == 0.5 && g_str_equal (message, "half"))
    *(gboolean *) user_data = TRUE;
}

static void
test_pool_progress (void)
{
  g_autoptr(TetherPool) pool = started_pool ("progress", 1, NULL);
  g_autoptr(TetherFuture) future = NULL;
  gboolean seen = FALSE;
  Reporting reporting;

  watchdog_arm (WATCHDOG_S, "pool-progress");
  gate_init (&reporting.connected);
  gate_init (&reporting.done);
  future = tether_pool_submit (pool, NULL, report_then_block, &reporting, NULL, NULL, NULL);
  /* This thread did not own a context as it submitted: say where to deliver. */
  tether_future_set_progress_context (future, g_main_context_default ());
  g_signal_connect (future, "progress", G_CALLBACK (on_progress), &seen);
  gate_open (&reporting.connected);
  while (!seen)
    g_main_context_iteration (NULL, TRUE);
  gate_open (&reporting.done);
  g_assert_true (tether_future_wait (future, WAIT_USEC, NULL, NULL));
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  gate_clear (&reporting.connected);
  gate_clear (&reporting.done);
  watchdog_disarm ();
}

/* A full queue refuses at once with BUSY; room comes back as it drains. */
static void
test_pool_max_pending (void)
{
  g_autoptr(TetherPool) pool = started_pool ("busy", 1, NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) later = NULL;
  g_autoptr(GError) error = NULL;
  int ran = 0;
  Gate gate;

  watchdog_arm (WATCHDOG_S, "pool-max-pending");
  gate_init (&gate);
  tether_pool_set_max_pending (pool, 2);
  g_assert_cmpuint (tether_pool_get_max_pending (pool), ==, 2);
  blocker = tether_pool_submit (pool, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);                 /* handed to the thread: not queued */
  g_assert_true (tether_pool_post (pool, NULL, (TetherFunc) g_atomic_int_inc, &ran, NULL, NULL));
  g_assert_true (tether_pool_post (pool, NULL, (TetherFunc) g_atomic_int_inc, &ran, NULL, NULL));
  g_assert_false (tether_pool_post (pool, NULL, (TetherFunc) g_atomic_int_inc, &ran, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_null (tether_pool_submit (pool, NULL, count_run, &ran, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_BUSY);
  g_clear_error (&error);
  gate_open (&gate);
  poll_until (tether_pool_get_n_pending (pool) == 0);
  later = tether_pool_submit (pool, NULL, count_run, &ran, NULL, NULL, &error);
  g_assert_true (tether_future_wait (later, WAIT_USEC, NULL, &error));
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (ran, ==, 3);
  gate_clear (&gate);
  watchdog_disarm ();
}

/* Timers: due timers join the queue earliest deadline first (equal
 * deadlines in submission order), never before their time, on time while
 * the threads are busy; cancel and stop end those not yet due. */
static void
note_order_at (TetherWork *work,
               gpointer    user_data)
{
  note_order (work, user_data);
}

static void
note_time (TetherWork *work,
           gpointer    user_data)
{
  tether_work_return_int64 (work, g_get_monotonic_time ());
}

static void
count_destroy (gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

static void
test_pool_timers (void)
{
  g_autoptr(TetherPool) pool = started_pool ("timers", 1, NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) late = NULL;
  g_autoptr(TetherFuture) soon = NULL;
  g_autoptr(GError) error = NULL;
  Order order = { { 0 }, g_array_new (FALSE, FALSE, sizeof (int)) };
  Tagged tags[5];
  TetherFuture *futures[5];
  /* Deadlines (ms before a time half a second away, so that all are
   * submitted before the first is due) and the order they must run in. */
  const int before_ms[5] = { 10, 30, 20, 30, 10 };
  const int expected[5] = { 1, 3, 2, 0, 4 };
  gint64 base = g_get_monotonic_time () + G_USEC_PER_SEC / 2, submitted;
  int destroyed = 0;
  Gate gate;

  watchdog_arm (WATCHDOG_S, "pool-timers");
  g_mutex_init (&order.lock);
  gate_init (&gate);
  blocker = tether_pool_submit (pool, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  for (int i = 0; i < 5; i++)
    {
      tags[i] = (Tagged) { &order, i };
      futures[i] = tether_pool_submit_at (pool, NULL, base - before_ms[i] * 1000, note_order_at,
                                          &tags[i], NULL, NULL, &error);
      g_assert_no_error (error);
    }
  /* They join the queue when due, while the only thread is busy. */
  poll_until (tether_pool_get_n_pending (pool) == 5);
  /* A timer not yet due takes no room, and a cancel removes it unrun. */
  tether_pool_set_max_pending (pool, 5);
  late = tether_pool_submit_after (pool, NULL, G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, note_time,
                                   &destroyed, count_destroy, NULL, &error);
  g_assert_no_error (error);
  tether_future_cancel (late);
  g_assert_cmpint (tether_future_get_status (late), ==, TETHER_FUTURE_STATUS_CANCELLED);
  tether_pool_set_max_pending (pool, 0);
  gate_open (&gate);
  /* Its data goes on the pool's thread, once that is free. */
  poll_until (g_atomic_int_get (&destroyed) == 1);
  for (int i = 0; i < 5; i++)
    {
      g_assert_true (tether_future_wait (futures[i], WAIT_USEC, NULL, &error));
      g_object_unref (futures[i]);
    }
  g_assert_cmpuint (order.order->len, ==, 5);
  for (int i = 0; i < 5; i++)
    g_assert_cmpint (g_array_index (order.order, int, i), ==, expected[i]);

  /* Never before its time. */
  submitted = g_get_monotonic_time ();
  soon = tether_pool_submit_after (pool, NULL, 20 * 1000, note_time, NULL, NULL, NULL, &error);
  g_assert_true (tether_future_wait (soon, WAIT_USEC, NULL, &error));
  g_assert_cmpint (tether_future_get_int64 (soon, NULL), >=, submitted + 20 * 1000);

  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_array_unref (order.order);
  g_mutex_clear (&order.lock);
  gate_clear (&gate);
  watchdog_disarm ();
}

/* A timer joins the queue on time even while every thread is busy, and a
 * stop (either mode) ends the timers not yet due cancelled, promptly; a
 * restarted pool makes its timer thread again. */
static void
test_pool_timers_stop (void)
{
  for (int mode = TETHER_STOP_MODE_DRAIN; mode <= TETHER_STOP_MODE_CANCEL; mode++)
    {
      g_autoptr(TetherPool) pool = started_pool ("timers-stop", 2, NULL);
      g_autoptr(TetherFuture) pending = NULL;
      g_autoptr(TetherFuture) via_cancellable = NULL;
      g_autoptr(TetherFuture) after_restart = NULL;
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GError) error = NULL;
      int destroyed = 0;

      watchdog_arm (WATCHDOG_S, "pool-timers-stop");
      pending = tether_pool_submit_after (pool, NULL, G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, note_time,
                                          &destroyed, count_destroy, NULL, &error);
      via_cancellable = tether_pool_submit_after (pool, NULL, G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, note_time,
                                                  &destroyed, count_destroy, cancellable, &error);
      g_cancellable_cancel (cancellable);
      g_assert_cmpint (tether_future_get_status (via_cancellable), ==,
                       TETHER_FUTURE_STATUS_CANCELLED);
      tether_pool_stop (pool, mode);
      g_assert_cmpint (tether_future_get_status (pending), ==, TETHER_FUTURE_STATUS_CANCELLED);
      g_assert_cmpint (g_atomic_int_get (&destroyed), ==, 2);

      g_assert_true (tether_pool_start (pool, NULL, &error));
      after_restart = tether_pool_submit_after (pool, NULL, 1000, note_time, NULL, NULL, NULL,
                                                &error);
      g_assert_true (tether_future_wait (after_restart, WAIT_USEC, NULL, &error));
      tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
      watchdog_disarm ();
    }
}

/* submit-timeout: a full queue waits for room, up to the timeout (BUSY
 * after it), without limit at -1, and a stop ends the wait; on a pool's
 * only thread the wait is refused as a deadlock. */
typedef struct
{
  TetherPool *pool;
  GError     *error;
  int         accepted;
  int         ran;
} Submitter;

static void
count_ran (TetherWork *work,
           gpointer    user_data)
{
  g_atomic_int_inc (&((Submitter *) user_data)->ran);
  tether_work_return_boolean (work, TRUE);
}

static gpointer
submit_thread (gpointer data)
{
  Submitter *submitter = data;
  TetherFuture *future = tether_pool_submit (submitter->pool, NULL, count_ran, submitter, NULL,
                                             NULL, &submitter->error);

  if (future != NULL)
    {
      g_atomic_int_set (&submitter->accepted, 1);
      g_object_unref (future);
    }
  return NULL;
}

static void
submit_to_own_pool (TetherWork *work,
                    gpointer    user_data)
{
  Submitter *submitter = user_data;
  g_autoptr(TetherFuture) first = NULL;
  g_autoptr(TetherFuture) second = NULL;

  first = tether_pool_submit (submitter->pool, NULL, count_ran, submitter, NULL, NULL, NULL);
  g_assert_nonnull (first);
  second = tether_pool_submit (submitter->pool, NULL, count_ran, submitter, NULL, NULL,
                               &submitter->error);
  g_assert_null (second);
  tether_work_return_boolean (work, TRUE);
}

static void
test_pool_submit_timeout (void)
{
  g_autoptr(TetherPool) pool = started_pool ("submit-timeout", 1, NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) own = NULL;
  g_autoptr(GError) error = NULL;
  Submitter submitter = { pool, NULL, 0, 0 };
  GThread *thread;
  gint64 start;
  Gate gate;

  watchdog_arm (WATCHDOG_S, "pool-submit-timeout");
  gate_init (&gate);
  g_assert_cmpint (tether_pool_get_submit_timeout (pool), ==, 0);
  tether_pool_set_max_pending (pool, 1);
  blocker = tether_pool_submit (pool, NULL, return_when_cancelled, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  g_assert_true (tether_pool_post (pool, NULL, (TetherFunc) g_atomic_int_inc, &submitter.ran,
                                   NULL, NULL));

  /* A bounded wait ends BUSY, not before its time. */
  tether_pool_set_submit_timeout (pool, 20 * 1000);
  start = g_get_monotonic_time ();
  g_assert_null (tether_pool_submit (pool, NULL, count_ran, &submitter, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 20 * 1000);

  /* An unbounded one gets room when a thread takes the queued post. */
  tether_pool_set_submit_timeout (pool, -1);
  thread = g_thread_new ("submitter", submit_thread, &submitter);
  g_assert_false (g_atomic_int_get (&submitter.accepted));
  /* Finish the blocker: the thread takes the post, making room. */
  tether_future_cancel (blocker);
  g_thread_join (thread);
  g_assert_no_error (submitter.error);
  g_assert_true (submitter.accepted);
  poll_until (g_atomic_int_get (&submitter.ran) == 2);

  /* A stop ends a wait with NOT_RUNNING. */
  g_clear_object (&blocker);
  gate_clear (&gate);
  gate_init (&gate);
  blocker = tether_pool_submit (pool, NULL, return_when_cancelled, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  g_assert_true (tether_pool_post (pool, NULL, (TetherFunc) g_atomic_int_inc, &submitter.ran,
                                   NULL, NULL));
  submitter.accepted = 0;
  thread = g_thread_new ("submitter", submit_thread, &submitter);
  poll_until (tether_pool_get_n_pending (pool) == 1);
  tether_pool_stop (pool, TETHER_STOP_MODE_CANCEL);
  g_thread_join (thread);
  g_assert_false (submitter.accepted);
  g_assert_error (submitter.error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&submitter.error);

  /* The only thread cannot wait for room in its own queue. */
  g_assert_true (tether_pool_start (pool, NULL, &error));
  own = tether_pool_submit (pool, NULL, submit_to_own_pool, &submitter, NULL, NULL, &error);
  g_assert_true (tether_future_wait (own, WAIT_USEC, NULL, &error));
  g_assert_error (submitter.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_clear_error (&submitter.error);
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  gate_clear (&gate);
  watchdog_disarm ();
}

/* Debug settings reach the threads' managers, before and after start. */
static void
test_pool_debug_flags (void)
{
  g_autoptr(TetherPool) pool = tether_pool_new ("debug", 2);
  g_autoptr(GError) error = NULL;

  tether_pool_set_debug_flags (pool, TETHER_DEBUG_FLAGS_SLOW);
  tether_pool_set_slow_threshold (pool, 12345);
  g_assert_true (tether_pool_start (pool, NULL, &error));
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(TetherLoopManager) thread = tether_pool_ref_thread (pool, i);

      g_assert_cmpint (tether_loop_manager_get_debug_flags (thread), ==, TETHER_DEBUG_FLAGS_SLOW);
      g_assert_cmpint (tether_loop_manager_get_slow_threshold (thread), ==, 12345);
    }
  tether_pool_set_debug_flags (pool, TETHER_DEBUG_FLAGS_NONE);
  tether_pool_set_slow_threshold (pool, 777);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(TetherLoopManager) thread = tether_pool_ref_thread (pool, i);

      g_assert_cmpint (tether_loop_manager_get_debug_flags (thread), ==, TETHER_DEBUG_FLAGS_NONE);
      g_assert_cmpint (tether_loop_manager_get_slow_threshold (thread), ==, 777);
    }
  g_assert_cmpint (tether_pool_get_debug_flags (pool), ==, TETHER_DEBUG_FLAGS_NONE);
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
}

/* Work given to a pool thread's manager directly, waiting for a pool
 * future: the pool does not count that thread as busy, so a submission
 * from it goes to another thread if there is one, and on a one-thread pool
 * the wait is refused instead of waiting for itself. */
typedef struct
{
  TetherPool *pool;
  GError     *error;
  gboolean    waited;
} DirectWait;

static void
direct_waits_on_pool (TetherWork *work,
                      gpointer    user_data)
{
  DirectWait *direct = user_data;
  g_autoptr(TetherFuture) inner = tether_pool_submit (direct->pool, NULL, square,
                                                      GINT_TO_POINTER (5), NULL, NULL, NULL);

  direct->waited = tether_future_wait (inner, WAIT_USEC, NULL, &direct->error);
  tether_work_return_boolean (work, TRUE);
}

static void
test_pool_direct_work_waits (void)
{
  watchdog_arm (WATCHDOG_S, "pool-direct-work-waits");
  for (guint n_threads = 1; n_threads <= 2; n_threads++)
    {
      g_autoptr(TetherPool) pool = started_pool ("direct", n_threads, NULL);
      g_autoptr(TetherLoopManager) thread = tether_pool_ref_thread (pool, 0);
      g_autoptr(TetherFuture) outer = NULL;
      g_autoptr(GError) error = NULL;
      DirectWait direct = { pool, NULL, FALSE };

      outer = tether_loop_manager_submit (thread, NULL, direct_waits_on_pool, &direct, NULL,
                                          NULL, &error);
      g_assert_true (tether_future_wait (outer, WAIT_USEC, NULL, &error));
      if (n_threads == 1)
        {
          g_assert_false (direct.waited);
          g_assert_error (direct.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
        }
      else
        {
          g_assert_no_error (direct.error);
          g_assert_true (direct.waited);
        }
      g_clear_error (&direct.error);
      tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
    }
  watchdog_disarm ();
}

/* Work that keeps its Work to return later keeps its data until then. */
typedef struct
{
  TetherWork *kept;
  int         destroyed;
} Kept;

static void
keep_work (TetherWork *work,
           gpointer    user_data)
{
  Kept *kept = user_data;

  g_atomic_pointer_set (&kept->kept, g_object_ref (work));
}

static void
kept_destroyed (gpointer data)
{
  g_atomic_int_inc (&((Kept *) data)->destroyed);
}

static void
test_pool_kept_work_keeps_data (void)
{
  g_autoptr(TetherPool) pool = started_pool ("kept", 1, NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  Kept kept = { NULL, 0 };

  watchdog_arm (WATCHDOG_S, "pool-kept-work");
  future = tether_pool_submit (pool, NULL, keep_work, &kept, kept_destroyed, NULL, &error);
  /* The function has returned once the thread is idle again. */
  poll_until (g_atomic_pointer_get (&kept.kept) != NULL && tether_pool_get_n_idle (pool) == 1);
  g_assert_cmpint (g_atomic_int_get (&kept.destroyed), ==, 0);
  tether_work_return_int (kept.kept, 42);
  g_clear_object (&kept.kept);
  g_assert_true (tether_future_wait (future, WAIT_USEC, NULL, &error));
  g_assert_cmpint (tether_future_get_int (future, NULL), ==, 42);
  poll_until (g_atomic_int_get (&kept.destroyed) == 1);
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (kept.destroyed, ==, 1);
  watchdog_disarm ();
}

/* stop_async() from the pool's own work calls back, on that thread, once
 * the others have exited (it used to wait for a context that was gone). */
typedef struct
{
  TetherPool        *pool;
  TetherStopMode     mode;
  TetherLoopManager *caller;
  TetherLoopManager *called_back_on;
  int                called_back;
} SelfStop;

static void
on_self_stopped (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SelfStop *stop = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_pool_stop_finish (TETHER_POOL (source), result, &error));
  g_assert_no_error (error);
  stop->called_back_on = tether_loop_manager_ref_current ();
  g_atomic_int_set (&stop->called_back, 1);
}

static void
stop_own_pool (TetherWork *work,
               gpointer    user_data)
{
  SelfStop *stop = user_data;

  stop->caller = tether_loop_manager_ref_current ();
  tether_pool_stop_async (stop->pool, stop->mode, NULL, on_self_stopped, stop);
  tether_work_return_boolean (work, TRUE);
}

static void
test_pool_stop_async_from_own_thread (void)
{
  watchdog_arm (WATCHDOG_S, "pool-stop-async-own-thread");
  for (int mode = TETHER_STOP_MODE_DRAIN; mode <= TETHER_STOP_MODE_CANCEL; mode++)
    {
      g_autoptr(TetherPool) pool = started_pool ("self-stop", 2, NULL);
      g_autoptr(TetherFuture) future = NULL;
      SelfStop stop = { pool, mode, NULL, NULL, 0 };

      future = tether_pool_submit (pool, NULL, stop_own_pool, &stop, NULL, NULL, NULL);
      poll_until (g_atomic_int_get (&stop.called_back));
      g_assert_true (stop.called_back_on == stop.caller);
      g_assert_false (tether_pool_is_running (pool));
      g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
      g_clear_object (&stop.caller);
      g_clear_object (&stop.called_back_on);
    }
  watchdog_disarm ();
}

/* stop_within(): a drain with a deadline, and its counts. */
static void
sleep_a_millisecond (gpointer data)
{
  g_usleep (1000);
}

static void
stop_within_on_own_thread (TetherWork *work,
                           gpointer    user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (tether_pool_stop_within (user_data, 0, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  tether_work_return_boolean (work, TRUE);
}

static void
test_pool_stop_within (void)
{
  g_autoptr(TetherPool) pool = started_pool ("stop-within", 1, NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) own = NULL;
  g_autoptr(GError) error = NULL;
  TetherFuture *queued[3];
  guint n_ran = 99, n_cancelled = 99;
  Gate gate;

  watchdog_arm (WATCHDOG_S, "pool-stop-within");
  own = tether_pool_submit (pool, NULL, stop_within_on_own_thread, pool, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (own, WAIT_USEC, NULL, &error));

  /* The deadline catches a job that runs until cancelled and three queued
   * behind it. */
  gate_init (&gate);
  blocker = tether_pool_submit (pool, NULL, return_when_cancelled, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  for (int i = 0; i < 3; i++)
    queued[i] = tether_pool_submit (pool, NULL, square, GINT_TO_POINTER (i), NULL, NULL, NULL);
  g_assert_true (tether_pool_stop_within (pool, 20 * 1000, &n_ran, &n_cancelled, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_ran, ==, 0);
  g_assert_cmpuint (n_cancelled, ==, 4);
  g_assert_false (tether_pool_is_running (pool));
  for (int i = 0; i < 3; i++)
    {
      g_assert_cmpint (tether_future_get_status (queued[i]), ==, TETHER_FUTURE_STATUS_CANCELLED);
      g_object_unref (queued[i]);
    }

  /* Without a limit, everything queued runs. */
  g_assert_true (tether_pool_start (pool, NULL, &error));
  for (int i = 0; i < 3; i++)
    g_assert_true (tether_pool_post (pool, NULL, sleep_a_millisecond, NULL, NULL, NULL));
  g_assert_true (tether_pool_stop_within (pool, -1, &n_ran, &n_cancelled, &error));
  g_assert_cmpuint (n_ran, ==, 3);
  g_assert_cmpuint (n_cancelled, ==, 0);
  /* A stopped pool counts nothing. */
  g_assert_true (tether_pool_stop_within (pool, 0, &n_ran, &n_cancelled, &error));
  g_assert_cmpuint (n_ran + n_cancelled, ==, 0);
  gate_clear (&gate);
  watchdog_disarm ();
}

/* submit_with_closure(): a C closure is called as a TetherWorkFunc; the
 * pool drops its reference once the work has ended. */
static void
closure_square (TetherWork *work,
                gpointer    user_data)
{
  int n = GPOINTER_TO_INT (user_data);

  tether_work_return_int (work, n * n);
}

static void
closure_gone (gpointer  data,
              GClosure *closure)
{
  g_atomic_int_inc ((int *) data);
}

/* A post that counts its runs in the int at @data. */
static void
count_post (gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

static void
test_pool_submit_with_closure (void)
{
  g_autoptr(TetherPool) pool = started_pool ("closure", 2, NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  int gone = 0;
  GClosure *closure;

  watchdog_arm (WATCHDOG_S, "pool-submit-with-closure");
  closure = g_cclosure_new (G_CALLBACK (closure_square), GINT_TO_POINTER (7), NULL);
  g_closure_add_finalize_notifier (closure, &gone, closure_gone);
  future = tether_pool_submit_with_closure (pool, NULL, closure, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, WAIT_USEC, NULL, &error));
  g_assert_cmpint (tether_future_get_int (future, NULL), ==, 49);
  /* Sunk and kept by the pool until the work ended: the floating reference
   * was the pool's to take. */
  poll_until (g_atomic_int_get (&gone) == 1);

  /* A timer, the same way: it never runs before its time. */
  {
    g_autoptr(TetherFuture) timer = NULL;
    gint64 submitted = g_get_monotonic_time ();

    closure = g_cclosure_new (G_CALLBACK (note_time), NULL, NULL);
    timer = tether_pool_submit_at_with_closure (pool, NULL, submitted + 10 * 1000, closure, NULL,
                                                &error);
    g_assert_no_error (error);
    g_assert_true (tether_future_wait (timer, WAIT_USEC, NULL, &error));
    g_assert_cmpint (tether_future_get_int64 (timer, NULL), >=, submitted + 10 * 1000);
  }

  /* A post: a C closure's callback gets its data; the closure is let go
   * once it ran. */
  {
    int posted = 0;

    closure = g_cclosure_new (G_CALLBACK (count_post), &posted, NULL);
    g_closure_add_finalize_notifier (closure, &gone, closure_gone);
    g_assert_true (tether_pool_post_with_closure (pool, NULL, closure, &error));
    g_assert_no_error (error);
    poll_until (g_atomic_int_get (&gone) == 2);
    g_assert_cmpint (g_atomic_int_get (&posted), ==, 1);
  }
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* The watch after posts (TetherPool:post-spin). A post taken by the
 * watching thread that turns out to be long does not hold up what came
 * behind it while the other thread is idle: the long post waits for the
 * one behind it, and would time out if that one sat behind it. With a
 * 200 ms watch, each round's two posts arrive while a thread watches. */
typedef struct
{
  GMutex lock;
  GCond  cond;
  int    first_ran;
  int    second_ran;
  int    timed_out;
} Pair;

typedef struct
{
  Pair *pair;
  int   round;
} PairRound;

/* Counts a run in @count, one of @pair's counters, and wakes its waiters. */
static void
pair_note (Pair *pair,
           int  *count)
{
  g_mutex_lock (&pair->lock);
  (*count)++;
  g_cond_broadcast (&pair->cond);
  g_mutex_unlock (&pair->lock);
}

static void
pair_note_first (gpointer data)
{
  Pair *pair = data;

  pair_note (pair, &pair->first_ran);
}

/* A long post: runs until its round's second post has run. */
static void
pair_wait_second (gpointer data)
{
  PairRound *round = data;
  Pair *pair = round->pair;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_mutex_lock (&pair->lock);
  while (pair->second_ran < round->round)
    if (!g_cond_wait_until (&pair->cond, &pair->lock, deadline))
      {
        pair->timed_out++;
        break;
      }
  g_mutex_unlock (&pair->lock);
}

static void
pair_note_second (gpointer data)
{
  Pair *pair = data;

  pair_note (pair, &pair->second_ran);
}

static void
count_notify (gpointer data)
{
  (*(int *) data)++;
}

/* CPU time the whole process has used, in microseconds (POSIX). */
static gint64
process_cpu_usec (void)
{
  struct timespec ts;

  g_assert_cmpint (clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts), ==, 0);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static void
test_pool_post_spin (void)
{
  g_autoptr(TetherPool) pool = tether_pool_new ("post-spin", 2);
  g_autoptr(GError) error = NULL;
  Pair pair = { 0 };
  int notified = 0, posts = 0, n_rounds;

  watchdog_arm (WATCHDOG_S, "pool-post-spin");
  g_mutex_init (&pair.lock);
  g_cond_init (&pair.cond);
  g_assert_cmpint (tether_pool_get_post_spin (pool), ==, 20);
  g_signal_connect_swapped (pool, "notify::post-spin", G_CALLBACK (count_notify), &notified);
  tether_pool_set_post_spin (pool, G_USEC_PER_SEC / 5);
  tether_pool_set_post_spin (pool, G_USEC_PER_SEC / 5);
  g_assert_cmpint (notified, ==, 1);
  g_assert_true (tether_pool_start (pool, NULL, &error));

  /* Under valgrind, which runs one thread at a time, a watching thread
   * holds the CPU for its whole time slice: fewer rounds. */
  n_rounds = g_getenv ("TETHER_TEST_VALGRIND") != NULL ? 10 : 100;
  for (int round = 1; round <= n_rounds; round++)
    {
      PairRound *long_post;

      /* A quick post: its thread then watches the queue for a second. */
      g_assert_true (tether_pool_post (pool, NULL, pair_note_first, &pair, NULL, &error));
      g_mutex_lock (&pair.lock);
      while (pair.first_ran < round)
        g_cond_wait (&pair.cond, &pair.lock);
      g_mutex_unlock (&pair.lock);
      long_post = g_new (PairRound, 1);
      *long_post = (PairRound) { &pair, round };
      g_assert_true (tether_pool_post (pool, NULL, pair_wait_second, long_post, g_free, &error));
      g_assert_true (tether_pool_post (pool, NULL, pair_note_second, &pair, NULL, &error));
      g_mutex_lock (&pair.lock);
      while (pair.second_ran < round)
        g_cond_wait (&pair.cond, &pair.lock);
      g_mutex_unlock (&pair.lock);
      g_assert_cmpint (pair.timed_out, ==, 0);
    }

  /* The watch ends: once the posts have run, an idle pool burns no CPU.
   * A watcher that never stopped would burn the whole 300 ms. */
  tether_pool_set_post_spin (pool, 20);
  {
    gint64 before;
    int ran = 0;

    for (int i = 0; i < 100; i++)
      g_assert_true (tether_pool_post (pool, NULL, count_post, &ran, NULL, &error));
    poll_until (g_atomic_int_get (&ran) == 100);
    g_usleep (10 * 1000);
    before = process_cpu_usec ();
    g_usleep (300 * 1000);
    g_assert_cmpint (process_cpu_usec () - before, <, 100 * 1000);
  }

  /* Off: posts still all run. */
  tether_pool_set_post_spin (pool, 0);
  g_assert_cmpint (tether_pool_get_post_spin (pool), ==, 0);
  for (int i = 0; i < 1000; i++)
    g_assert_true (tether_pool_post (pool, NULL, count_post, &posts, NULL, &error));
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&posts), ==, 1000);
  g_mutex_clear (&pair.lock);
  g_cond_clear (&pair.cond);
  watchdog_disarm ();
}

/* Debug mode's UNRETRIEVED: a pool future that failed and was finalized
 * with nobody reading its error is reported under the pool's id; one whose
 * error was read, one cancelled, and any made with the flag off are not. */
static int n_unretrieved;

static GLogWriterOutput
unretrieved_writer (GLogLevelFlags   level,
                    const GLogField *fields,
                    gsize            n_fields,
                    gpointer         user_data)
{
  gboolean unretrieved = FALSE, ours = FALSE;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      unretrieved = strstr (fields[i].value, "without anyone reading its error") != NULL &&
                    strstr (fields[i].value, "failed on purpose") != NULL;
    else if (g_str_equal (fields[i].key, "TETHER_MANAGER"))
      ours = g_str_equal (fields[i].value, "unretrieved");
  if (!unretrieved)
    return g_log_writer_default (level, fields, n_fields, user_data);
  g_assert_true (ours);
  g_atomic_int_inc (&n_unretrieved);
  return G_LOG_WRITER_HANDLED;
}

static void
fail_on_purpose (TetherWork *work,
                 gpointer    user_data)
{
  tether_work_return_new_error (work, TETHER_ERROR, TETHER_ERROR_FAILED, "failed on purpose");
}

static TetherFuture *
settled (TetherPool   *pool,
         TetherWorkFunc func)
{
  TetherFuture *future = tether_pool_submit (pool, NULL, func, NULL, NULL, NULL, NULL);

  /* Waits without asking for the error: the failure stays unread. */
  g_assert_nonnull (future);
  g_assert_false (tether_future_wait (future, WAIT_USEC, NULL, NULL));
  return future;
}

/* Drops the caller's reference to @future and waits until it has been
 * finalized, wherever the last reference went: GObject clears an object's
 * data after the class's finalize (where the report is made) has run. */
static void
note_finalized (gpointer data)
{
  g_atomic_int_set ((int *) data, TRUE);
}

static void
drop_until_finalized (TetherFuture *future)
{
  int *finalized = g_new0 (int, 1);

  g_object_set_data_full (G_OBJECT (future), "test-finalized", finalized, note_finalized);
  g_object_unref (future);
  poll_until (g_atomic_int_get (finalized));
  g_free (finalized);
}

static void
test_pool_unretrieved (void)
{
  g_autoptr(TetherPool) pool = tether_pool_new ("unretrieved", 2);
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  TetherFuture *future;

  watchdog_arm (WATCHDOG_S, "pool-unretrieved");
  /* Set once per process (GLib allows no second writer); it passes every
   * other message on. */
  g_log_set_writer_func (unretrieved_writer, NULL, NULL);
  tether_pool_set_debug_flags (pool, TETHER_DEBUG_FLAGS_UNRETRIEVED);
  g_assert_true (tether_pool_start (pool, NULL, &error));

  /* Unread: reported once, when finalized (the pool may hold the future a
   * moment after the wait returns, and let go of it on its own thread). */
  future = settled (pool, fail_on_purpose);
  g_assert_cmpint (g_atomic_int_get (&n_unretrieved), ==, 0);
  drop_until_finalized (future);
  g_assert_cmpint (g_atomic_int_get (&n_unretrieved), ==, 1);

  /* Read: not reported. */
  future = settled (pool, fail_on_purpose);
  g_clear_error (&error);
  g_assert_false (tether_future_wait (future, 0, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_FAILED);
  drop_until_finalized (future);
  g_assert_cmpint (g_atomic_int_get (&n_unretrieved), ==, 1);

  /* Cancelled, not failed: not reported. */
  g_cancellable_cancel (cancellable);
  future = tether_pool_submit (pool, NULL, fail_on_purpose, NULL, NULL, cancellable, NULL);
  g_assert_false (tether_future_wait (future, WAIT_USEC, NULL, NULL));
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_CANCELLED);
  drop_until_finalized (future);
  g_assert_cmpint (g_atomic_int_get (&n_unretrieved), ==, 1);

  /* Flag off at submission: not reported. */
  tether_pool_set_debug_flags (pool, TETHER_DEBUG_FLAGS_NONE);
  future = settled (pool, fail_on_purpose);
  drop_until_finalized (future);
  g_assert_cmpint (g_atomic_int_get (&n_unretrieved), ==, 1);

  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pool/results", test_pool_results);
  g_test_add_func ("/pool/no-hold-up", test_pool_no_hold_up);
  g_test_add_func ("/pool/fifo", test_pool_fifo);
  g_test_add_func ("/pool/cancel", test_pool_cancel);
  g_test_add_func ("/pool/refused", test_pool_refused);
  g_test_add_func ("/pool/wait-deadlock", test_pool_wait_deadlock);
  g_test_add_func ("/pool/crossed-waits", test_pool_crossed_waits);
  g_test_add_func ("/pool/stop-race", test_pool_stop_race);
  g_test_add_func ("/pool/post-stop-race", test_pool_post_stop_race);
  g_test_add_func ("/pool/last-unref-drains", test_pool_last_unref_drains);
  g_test_add_func ("/pool/async", test_pool_async);
  g_test_add_func ("/pool/executor", test_pool_executor);
  g_test_add_func ("/pool/progress", test_pool_progress);
  g_test_add_func ("/pool/max-pending", test_pool_max_pending);
  g_test_add_func ("/pool/timers", test_pool_timers);
  g_test_add_func ("/pool/timers-stop", test_pool_timers_stop);
  g_test_add_func ("/pool/submit-timeout", test_pool_submit_timeout);
  g_test_add_func ("/pool/debug-flags", test_pool_debug_flags);
  g_test_add_func ("/pool/direct-work-waits", test_pool_direct_work_waits);
  g_test_add_func ("/pool/kept-work-keeps-data", test_pool_kept_work_keeps_data);
  g_test_add_func ("/pool/stop-async-from-own-thread", test_pool_stop_async_from_own_thread);
  g_test_add_func ("/pool/stop-within", test_pool_stop_within);
  g_test_add_func ("/pool/submit-with-closure", test_pool_submit_with_closure);
  g_test_add_func ("/pool/post-spin", test_pool_post_spin);
  g_test_add_func ("/pool/unretrieved", test_pool_unretrieved);

  return test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <tether.h>

#include "test-util.h"

/* The non-blocking lifecycle (issue 17, item 1): stop_async() from every
 * kind of thread, its cancellable, concurrent stops, and a last unref that
 * never waits for running work. Every blocking call runs under a watchdog;
 * nothing synchronises by sleeping. */

#define WATCHDOG_SECONDS 60

static guint
iterations (guint quick,
            guint thorough)
{
  if (g_getenv ("TETHER_TEST_VALGRIND") != NULL)
    return MAX (quick / 100, 1);
  return g_test_thorough () ? thorough : quick;
}

/* What a stop_async() callback saw. */
typedef struct
{
  int       called;        /* atomic */
  gboolean  stopped;
  GError   *error;
  GThread  *thread;        /* where the callback ran */
  gboolean  was_running;   /* is_running() in the callback */
  int      *exit_flag;     /* if set: must be set when the callback runs */
  gboolean  exit_flag_seen;
  Gate      done;          /* opened by the callback, for threads without a loop */
} Stopped;

static void
stopped_init (Stopped *s)
{
  memset (s, 0, sizeof *s);
  gate_init (&s->done);
}

static void
stopped_clear (Stopped *s)
{
  g_clear_error (&s->error);
  gate_clear (&s->done);
}

static void
on_stopped (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Stopped *s = user_data;

  g_assert_cmpint (g_atomic_int_get (&s->called), ==, 0);
  s->stopped = tether_loop_manager_stop_finish (TETHER_LOOP_MANAGER (source), result, &s->error);
  s->thread = g_thread_self ();
  s->was_running = tether_loop_manager_is_running (TETHER_LOOP_MANAGER (source));
  if (s->exit_flag != NULL)
    s->exit_flag_seen = g_atomic_int_get (s->exit_flag);
  g_atomic_int_set (&s->called, 1);
  gate_open (&s->done);
}

/* Iterates @context until the callback has run, under the watchdog. */
static void
iterate_until_stopped (GMainContext *context,
                       Stopped      *s)
{
  watchdog_arm (WATCHDOG_SECONDS, "a stop_async() callback");
  while (!g_atomic_int_get (&s->called))
    g_main_context_iteration (context, TRUE);
  watchdog_disarm ();
}

static void
set_flag (gpointer data)
{
  g_atomic_int_set ((int *) data, 1);
}

static void
count_post (gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

static void
yield_post (gpointer data)
{
  g_thread_yield ();
}

static void
count_work (TetherWork *work,
            gpointer    user_data)
{
  g_atomic_int_inc ((int *) user_data);
  tether_work_return_boolean (work, TRUE);
}

/* Called from a thread that runs a context: the stop begins inside the
 * call, the callback runs in that context afterwards, never inside the
 * call, once the drained work has run and the exit functions registered
 * before the stop have. */
static void
test_stop_async_drain (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *manager = started ("stopasync-drain", NULL);
  TetherFuture *blocked, *queued;
  int runs = 0, exited = 0;
  Stopped s;
  Gate gate;

  g_main_context_push_thread_default (context);
  stopped_init (&s);
  gate_init (&gate);
  s.exit_flag = &exited;
  g_assert_true (tether_loop_manager_add_exit_func (manager, set_flag, &exited, NULL, NULL));
  blocked = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  queued = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  gate_wait_entered (&gate);

  tether_loop_manager_stop_async (manager, TETHER_STOP_MODE_DRAIN, NULL, on_stopped, &s);
  g_assert_false (tether_loop_manager_is_running (manager));
  g_assert_cmpint (g_atomic_int_get (&s.called), ==, 0);
  /* Nothing is delivered while the drained work runs. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_assert_cmpint (g_atomic_int_get (&s.called), ==, 0);

  gate_open (&gate);
  iterate_until_stopped (context, &s);
  g_assert_true (s.stopped);
  g_assert_no_error (s.error);
  g_assert_true (s.thread == g_thread_self ());
  g_assert_false (s.was_running);
  g_assert_true (s.exit_flag_seen);
  g_assert_cmpint (runs, ==, 1);
  g_assert_cmpint (tether_future_get_status (blocked), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_cmpint (tether_future_get_status (queued), ==, TETHER_FUTURE_STATUS_SUCCEEDED);

  /* It can be started again, from here, and stopped again. */
  g_assert_true (tether_loop_manager_start (manager, NULL, NULL));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);

  g_object_unref (blocked);
  g_object_unref (queued);
  g_main_context_pop_thread_default (context);
  g_assert_finalize_object (manager);
  gate_clear (&gate);
  stopped_clear (&s);
}

/* A stopped or never-started manager completes with TRUE, from the
 * context, never inside the call. */
static void
test_stop_async_stopped (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *never = tether_loop_manager_new ("stopasync-never");
  TetherLoopManager *manager = started ("stopasync-stopped", NULL);
  Stopped s;

  g_main_context_push_thread_default (context);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);

  for (guint i = 0; i < 2; i++)
    {
      stopped_init (&s);
      tether_loop_manager_stop_async (i == 0 ? never : manager, TETHER_STOP_MODE_CANCEL, NULL,
                                      on_stopped, &s);
      g_assert_cmpint (g_atomic_int_get (&s.called), ==, 0);
      iterate_until_stopped (context, &s);
      g_assert_true (s.stopped);
      g_assert_no_error (s.error);
      stopped_clear (&s);
    }

  /* And again, with nothing left to stop. */
  stopped_init (&s);
  tether_loop_manager_stop_async (manager, TETHER_STOP_MODE_DRAIN, NULL, on_stopped, &s);
  iterate_until_stopped (context, &s);
  stopped_clear (&s);

  g_main_context_pop_thread_default (context);
  g_assert_finalize_object (never);
  g_assert_finalize_object (manager);
}

/* From a thread that runs a main loop, inside one of its sources. */
typedef struct
{
  TetherLoopManager *manager;
  GMainContext      *context;
  GMainLoop         *loop;
  Stopped            s;
  gboolean           inside;   /* the callback ran inside the call */
  gboolean           in_call;
} LoopThread;

static void
loop_thread_stopped (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  LoopThread *t = user_data;

  t->inside = t->in_call;
  on_stopped (source, result, &t->s);
  g_main_loop_quit (t->loop);
}

static gboolean
loop_thread_stop (gpointer data)
{
  LoopThread *t = data;

  t->in_call = TRUE;
  tether_loop_manager_stop_async (t->manager, TETHER_STOP_MODE_DRAIN, NULL,
                                  loop_thread_stopped, t);
  t->in_call = FALSE;
  return G_SOURCE_REMOVE;
}

static gpointer
loop_thread_func (gpointer data)
{
  LoopThread *t = data;

  g_main_context_push_thread_default (t->context);
  g_main_context_invoke (t->context, loop_thread_stop, t);
  g_main_loop_run (t->loop);
  g_main_context_pop_thread_default (t->context);
  return NULL;
}

static void
test_stop_async_loop_thread (void)
{
  guint n = iterations (50, 500);

  for (guint i = 0; i < n; i++)
    {
      LoopThread t = { 0 };
      int runs = 0;
      GThread *thread;

      t.manager = started ("stopasync-loop", NULL);
      t.context = g_main_context_new ();
      t.loop = g_main_loop_new (t.context, FALSE);
      stopped_init (&t.s);
      for (guint j = 0; j < 10; j++)
        tether_loop_manager_post (t.manager, NULL, count_post, &runs, NULL, NULL);

      watchdog_arm (WATCHDOG_SECONDS, "stop_async() from a thread running a loop");
      thread = g_thread_new ("loop", loop_thread_func, &t);
      g_thread_join (thread);
      watchdog_disarm ();

      g_assert_false (t.inside);
      g_assert_true (t.s.stopped);
      g_assert_true (t.s.thread == thread);
      g_assert_cmpint (runs, ==, 10);
      g_main_loop_unref (t.loop);
      g_main_context_unref (t.context);
      stopped_clear (&t.s);
      g_assert_finalize_object (t.manager);
    }
}

/* From the manager's own thread, in work: it never waits, and the callback
 * runs on that thread once the rest of the work has drained, as its last
 * exit function. */
typedef struct
{
  TetherLoopManager *manager;
  Stopped           *s;
  GThread           *thread;
  Gate               gate;
} OwnStop;

static void
stop_self_work (TetherWork *work,
                gpointer    user_data)
{
  OwnStop *own = user_data;

  own->thread = g_thread_self ();
  gate_enter (&own->gate);
  gate_wait_open (&own->gate);
  tether_loop_manager_stop_async (own->manager, TETHER_STOP_MODE_DRAIN, NULL, on_stopped, own->s);
  g_assert_cmpint (g_atomic_int_get (&own->s->called), ==, 0);
  tether_work_return_boolean (work, TRUE);
}

static void
add_exit_flag_work (TetherWork *work,
                    gpointer    user_data)
{
  /* Registered during the drain, after the stop began: still before the
   * callback. */
  g_assert_true (tether_loop_manager_add_current_exit_func (set_flag, user_data, NULL, NULL));
  tether_work_return_boolean (work, TRUE);
}

static void
test_stop_async_own_thread (void)
{
  guint n = iterations (50, 500);

  for (guint i = 0; i < n; i++)
    {
      TetherLoopManager *manager = started ("stopasync-own", NULL);
      OwnStop own = { 0 };
      TetherFuture *future, *after;
      int exited = 0;
      Stopped s;

      stopped_init (&s);
      gate_init (&own.gate);
      own.manager = manager;
      own.s = &s;
      s.exit_flag = &exited;
      future = tether_loop_manager_submit (manager, NULL, stop_self_work, &own, NULL, NULL, NULL);
      /* Queued behind the work that stops the manager, before the stop. */
      after = tether_loop_manager_submit (manager, NULL, add_exit_flag_work, &exited, NULL, NULL,
                                          NULL);
      gate_open (&own.gate);

      watchdog_arm (WATCHDOG_SECONDS, "stop_async() from the manager's own thread");
      gate_wait_open (&s.done);
      watchdog_disarm ();

      g_assert_true (s.stopped);
      g_assert_no_error (s.error);
      g_assert_true (s.thread == own.thread);
      g_assert_true (s.exit_flag_seen);
      g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
      g_assert_cmpint (tether_future_get_status (after), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
      /* Joins the thread. */
      tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
      g_object_unref (future);
      g_object_unref (after);
      gate_clear (&own.gate);
      stopped_clear (&s);
      g_assert_finalize_object (manager);
    }
}

/* From a thread that runs no loop: the callback is delivered in that
 * thread's thread-default context (here a context it pushed), which it
 * iterates when it likes. */
static gpointer
plain_thread_func (gpointer data)
{
  TetherLoopManager *manager = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  Stopped s;

  g_main_context_push_thread_default (context);
  stopped_init (&s);
  tether_loop_manager_stop_async (manager, TETHER_STOP_MODE_CANCEL, NULL, on_stopped, &s);
  while (!g_atomic_int_get (&s.called))
    g_main_context_iteration (context, TRUE);
  g_assert_true (s.stopped);
  g_assert_true (s.thread == g_thread_self ());
  stopped_clear (&s);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
test_stop_async_other_thread (void)
{
  TetherLoopManager *manager = started ("stopasync-thread", NULL);
  TetherFuture *future;
  GThread *thread;

  future = tether_loop_manager_submit (manager, NULL, return_when_cancelled, NULL, NULL, NULL,
                                       NULL);
  watchdog_arm (WATCHDOG_SECONDS, "stop_async() from another thread");
  thread = g_thread_new ("stopper", plain_thread_func, manager);
  g_thread_join (thread);
  watchdog_disarm ();
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_CANCELLED);
  g_object_unref (future);
  g_assert_finalize_object (manager);
}

/* stop_async() and stop() racing with different modes: one shutdown,
 * cancel wins, stop() returns once the thread has exited and the callback
 * says TRUE. */
typedef struct
{
  TetherLoopManager *manager;
  TetherStopMode     mode;
  Gate              *start;
} RacingStop;

static gpointer
racing_stop_func (gpointer data)
{
  RacingStop *r = data;

  gate_wait_open (r->start);
  tether_loop_manager_stop (r->manager, r->mode);
  g_assert_false (tether_loop_manager_is_running (r->manager));
  return NULL;
}

static void
test_stop_async_concurrent (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint n = iterations (100, 1000);

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < n; i++)
    {
      TetherStopMode async_mode = i % 2 ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN;
      TetherLoopManager *manager = started ("stopasync-race", NULL);
      RacingStop r = { manager, i % 2 ? TETHER_STOP_MODE_DRAIN : TETHER_STOP_MODE_CANCEL, NULL };
      TetherFuture *running, *queued;
      Gate start, entered;
      GThread *thread;
      Stopped s;

      gate_init (&start);
      gate_init (&entered);
      stopped_init (&s);
      r.start = &start;
      running = tether_loop_manager_submit (manager, NULL, return_when_cancelled, &entered, NULL,
                                            NULL, NULL);
      queued = tether_loop_manager_submit (manager, NULL, count_work, &(int){ 0 }, NULL, NULL,
                                           NULL);
      gate_wait_entered (&entered);

      watchdog_arm (WATCHDOG_SECONDS, "stop_async() racing stop()");
      thread = g_thread_new ("racing-stop", racing_stop_func, &r);
      gate_open (&start);
      tether_loop_manager_stop_async (manager, async_mode, NULL, on_stopped, &s);
      g_assert_cmpint (g_atomic_int_get (&s.called), ==, 0);
      g_thread_join (thread);
      /* Either stop was a CANCEL one: the running work saw it. */
      g_assert_cmpint (tether_future_get_status (running), ==, TETHER_FUTURE_STATUS_CANCELLED);
      g_assert_true (tether_future_is_done (queued));
      while (!g_atomic_int_get (&s.called))
        g_main_context_iteration (context, TRUE);
      watchdog_disarm ();

      g_assert_true (s.stopped);
      g_assert_no_error (s.error);
      g_object_unref (running);
      g_object_unref (queued);
      stopped_clear (&s);
      gate_clear (&start);
      gate_clear (&entered);
      g_assert_finalize_object (manager);
    }
  g_main_context_pop_thread_default (context);
}

/* Several stop_async() calls on one stop each hear of it once. */
static void
test_stop_async_many (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *manager = started ("stopasync-many", NULL);
  Stopped s[8];
  Gate gate;

  g_main_context_push_thread_default (context);
  gate_init (&gate);
  g_object_unref (tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL));
  gate_wait_entered (&gate);
  for (guint i = 0; i < G_N_ELEMENTS (s); i++)
    {
      TetherStopMode mode = i % 3 ? TETHER_STOP_MODE_DRAIN : TETHER_STOP_MODE_CANCEL;

      stopped_init (&s[i]);
      tether_loop_manager_stop_async (manager, mode, NULL, on_stopped, &s[i]);
    }
  gate_open (&gate);
  for (guint i = 0; i < G_N_ELEMENTS (s); i++)
    {
      iterate_until_stopped (context, &s[i]);
      g_assert_true (s[i].stopped);
      stopped_clear (&s[i]);
    }
  g_main_context_pop_thread_default (context);
  g_assert_finalize_object (manager);
  gate_clear (&gate);
}

/* The cancellable abandons the wait, never the stop: the callback comes
 * with G_IO_ERROR_CANCELLED while the drained work still runs, and the
 * queued work still runs after it. */
static void
test_stop_async_cancellable (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  TetherLoopManager *manager = started ("stopasync-cancellable", NULL);
  TetherFuture *blocked, *queued;
  int runs = 0;
  Stopped s, s2;
  Gate gate;

  g_main_context_push_thread_default (context);
  gate_init (&gate);
  stopped_init (&s);
  stopped_init (&s2);
  blocked = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  queued = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  gate_wait_entered (&gate);

  tether_loop_manager_stop_async (manager, TETHER_STOP_MODE_DRAIN, cancellable, on_stopped, &s);
  /* One already cancelled: the stop still happens, the wait ends at once. */
  g_cancellable_cancel (cancelled);
  tether_loop_manager_stop_async (manager, TETHER_STOP_MODE_DRAIN, cancelled, on_stopped, &s2);
  g_assert_cmpint (g_atomic_int_get (&s2.called), ==, 0);
  g_cancellable_cancel (cancellable);
  g_assert_cmpint (g_atomic_int_get (&s.called), ==, 0);
  iterate_until_stopped (context, &s);
  iterate_until_stopped (context, &s2);
  g_assert_false (s.stopped);
  g_assert_error (s.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (s2.stopped);
  g_assert_error (s2.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The stop goes on: still draining, nothing cancelled. */
  g_assert_false (tether_loop_manager_is_running (manager));
  g_assert_false (tether_future_is_done (blocked));
  g_assert_false (tether_future_is_done (queued));
  gate_open (&gate);
  watchdog_arm (WATCHDOG_SECONDS, "the stop after its wait was abandoned");
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  g_assert_cmpint (runs, ==, 1);
  g_assert_cmpint (tether_future_get_status (blocked), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_cmpint (tether_future_get_status (queued), ==, TETHER_FUTURE_STATUS_SUCCEEDED);

  g_object_unref (blocked);
  g_object_unref (queued);
  stopped_clear (&s);
  stopped_clear (&s2);
  gate_clear (&gate);
  g_main_context_pop_thread_default (context);
  g_assert_finalize_object (manager);
}

/* Cancelling after the stop finished but before the callback ran: either
 * answer is allowed (GIO reports the cancellation), but exactly one
 * callback. Racing the cancel against the end of the stop. */
static gpointer
cancel_func (gpointer data)
{
  g_cancellable_cancel (data);
  return NULL;
}

static void
test_stop_async_cancel_race (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint n = iterations (100, 1000);

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      TetherLoopManager *manager = started ("stopasync-cancelrace", NULL);
      GThread *thread;
      Stopped s;

      stopped_init (&s);
      tether_loop_manager_post (manager, NULL, yield_post, NULL, NULL, NULL);
      thread = g_thread_new ("cancel", cancel_func, cancellable);
      tether_loop_manager_stop_async (manager, TETHER_STOP_MODE_DRAIN, cancellable, on_stopped, &s);
      g_thread_join (thread);
      iterate_until_stopped (context, &s);
      if (!s.stopped)
        g_assert_error (s.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      /* No second callback is on its way. */
      while (g_main_context_iteration (context, FALSE))
        ;
      watchdog_arm (WATCHDOG_SECONDS, "stop() after a cancelled stop_async()");
      tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
      watchdog_disarm ();
      stopped_clear (&s);
      g_assert_finalize_object (manager);
    }
  g_main_context_pop_thread_default (context);
}

/* Without a callback: a stop that does not wait. */
static void
test_stop_async_no_callback (void)
{
  TetherLoopManager *manager = started ("stopasync-nocb", NULL);
  TetherFuture *future;
  Gate gate;

  gate_init (&gate);
  future = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  tether_loop_manager_stop_async (manager, TETHER_STOP_MODE_DRAIN, NULL, NULL, NULL);
  g_assert_false (tether_loop_manager_is_running (manager));
  g_assert_false (tether_future_is_done (future));
  gate_open (&gate);
  watchdog_arm (WATCHDOG_SECONDS, "stop() after stop_async() without a callback");
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_object_unref (future);
  gate_clear (&gate);
  g_assert_finalize_object (manager);
}

/* The last unref, made on a thread while work runs, returns before the
 * work ends (ordered by a gate, not by timing); wait_detached() then sees
 * the work finished. */
static gpointer
unref_func (gpointer data)
{
  g_object_unref (data);
  return NULL;
}

static void
test_last_unref_never_blocks (void)
{
  TetherLoopManager *manager = started ("stopasync-unref", NULL);
  TetherFuture *running, *queued;
  int runs = 0;
  gint64 before;
  GThread *thread;
  Gate gate;

  gate_init (&gate);
  running = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  queued = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  gate_wait_entered (&gate);

  watchdog_arm (WATCHDOG_SECONDS, "the last unref of a manager whose work runs");
  before = g_get_monotonic_time ();
  thread = g_thread_new ("unref", unref_func, manager);
  g_thread_join (thread);
  /* The gate is still shut: the unref did not wait for the work. */
  g_assert_cmpint (g_get_monotonic_time () - before, <, 30 * G_USEC_PER_SEC);
  g_assert_false (tether_future_is_done (running));
  g_assert_false (tether_future_is_done (queued));
  g_assert_false (tether_loop_manager_wait_detached (0));
  gate_open (&gate);
  g_assert_true (tether_loop_manager_wait_detached (-1));
  watchdog_disarm ();

  g_assert_cmpint (runs, ==, 1);
  g_assert_cmpint (tether_future_get_status (running), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_cmpint (tether_future_get_status (queued), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_object_unref (running);
  g_object_unref (queued);
  gate_clear (&gate);
}

/* A manager that stopped itself (stop_async() from its own work) and is
 * then dropped: its thread may still be dropping its context, running the
 * destroy notifies of sources its work left there. wait_detached() counts
 * it until it is done. */
static gboolean
never_dispatched (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
slow_destroy_notify (gpointer data)
{
  /* Work that must take time: the window wait_detached() has to cover. */
  g_usleep (50 * 1000);
  g_atomic_int_set ((int *) data, TRUE);
}

static void
self_stop_work (TetherWork *work,
                gpointer    data)
{
  g_autoptr(TetherLoopManager) self = tether_loop_manager_ref_current ();
  g_autoptr(GSource) source = g_timeout_source_new_seconds (3600);

  g_source_set_callback (source, never_dispatched, data, slow_destroy_notify);
  g_source_attach (source, g_main_context_get_thread_default ());
  tether_loop_manager_stop_async (self, TETHER_STOP_MODE_DRAIN, NULL, NULL, NULL);
  tether_work_return_boolean (work, TRUE);
}

static void
test_self_stopped_then_dropped (void)
{
  int destroyed = FALSE;
  TetherLoopManager *manager = started ("self-stop-drop", NULL);
  g_autoptr(TetherFuture) future = tether_loop_manager_submit (manager, NULL, self_stop_work,
                                                               &destroyed, NULL, NULL, NULL);

  g_assert_true (tether_future_wait (future, 30 * G_USEC_PER_SEC, NULL, NULL));
  poll_until (!tether_loop_manager_is_running (manager));
  /* stop_async() holds the manager until its exit function has run: the
   * last reference goes here or on the manager's thread, and either way
   * the thread is let go while it may still be dropping its context. */
  g_object_add_weak_pointer (G_OBJECT (manager), (gpointer *) &manager);
  g_object_unref (manager);
  poll_until (g_atomic_pointer_get (&manager) == NULL);
  g_assert_true (tether_loop_manager_wait_detached (30 * G_USEC_PER_SEC));
  g_assert_true (g_atomic_int_get (&destroyed));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Lifecycle/stop-async/drain", test_stop_async_drain);
  g_test_add_func ("/Tether/Lifecycle/stop-async/stopped", test_stop_async_stopped);
  g_test_add_func ("/Tether/Lifecycle/stop-async/loop-thread", test_stop_async_loop_thread);
  g_test_add_func ("/Tether/Lifecycle/stop-async/own-thread", test_stop_async_own_thread);
  g_test_add_func ("/Tether/Lifecycle/stop-async/other-thread", test_stop_async_other_thread);
  g_test_add_func ("/Tether/Lifecycle/stop-async/concurrent", test_stop_async_concurrent);
  g_test_add_func ("/Tether/Lifecycle/stop-async/many", test_stop_async_many);
  g_test_add_func ("/Tether/Lifecycle/stop-async/cancellable", test_stop_async_cancellable);
  g_test_add_func ("/Tether/Lifecycle/stop-async/cancel-race", test_stop_async_cancel_race);
  g_test_add_func ("/Tether/Lifecycle/stop-async/no-callback", test_stop_async_no_callback);
  g_test_add_func ("/Tether/Lifecycle/last-unref-never-blocks", test_last_unref_never_blocks);
  g_test_add_func ("/Tether/Lifecycle/self-stopped-then-dropped", test_self_stopped_then_dropped);

  return test_run ();
}

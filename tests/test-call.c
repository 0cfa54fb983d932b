/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tether_loop_manager_call() and _call_with_closure(): the blocking round
 * trip without a future. The call borrows its function and data, so every
 * test checks that it returns only once the function is not running and
 * never will. A watchdog turns a hang into a failure. */
#include "config.h"

#include <tether.h>

#include "test-util.h"

#define WATCHDOG_S 60

static void
return_sum (TetherWork *work,
            gpointer    user_data)
{
  int *pair = user_data;

  tether_work_return_int (work, pair[0] + pair[1]);
}

static void
return_nothing (TetherWork *work,
                gpointer    user_data)
{
  g_atomic_int_inc ((int *) user_data);
  tether_work_return_value (work, NULL);
}

static void
return_error (TetherWork *work,
              gpointer    user_data)
{
  tether_work_return_new_error (work, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no such thing");
}

static void
test_call_value (void)
{
  g_autoptr(TetherLoopManager) manager = started ("call-value", NULL);
  g_auto(GValue) value = G_VALUE_INIT;
  g_auto(GValue) none = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;
  int pair[2] = { 40, 2 };
  int ran = 0;

  watchdog_arm (WATCHDOG_S, "call-value");
  g_assert_true (tether_loop_manager_call (manager, NULL, return_sum, pair, NULL, &value, &error));
  g_assert_no_error (error);
  g_assert_true (G_VALUE_HOLDS_INT (&value));
  g_assert_cmpint (g_value_get_int (&value), ==, 42);

  /* No value: a NULL pointer, so that the result is always set. */
  g_assert_true (tether_loop_manager_call (manager, NULL, return_nothing, &ran, NULL, &none, &error));
  g_assert_true (G_VALUE_HOLDS_POINTER (&none));
  g_assert_null (g_value_get_pointer (&none));
  /* The result is optional. */
  g_assert_true (tether_loop_manager_call (manager, NULL, return_sum, pair, NULL, NULL, &error));
  g_assert_true (tether_loop_manager_call (manager, NULL, return_nothing, &ran, NULL, NULL, &error));
  g_assert_cmpint (ran, ==, 2);

  g_assert_false (tether_loop_manager_call (manager, NULL, return_error, NULL, NULL, NULL, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* A call counts in the stats as a submission does. */
static void
test_call_stats (void)
{
  g_autoptr(TetherLoopManager) manager = started ("call-stats", NULL);
  g_autoptr(GVariant) stats = NULL;
  g_autoptr(GError) error = NULL;
  guint64 submitted = 0, completed = 0, failed = 0;
  int pair[2] = { 1, 2 };

  watchdog_arm (WATCHDOG_S, "call-stats");
  for (guint i = 0; i < 10; i++)
    g_assert_true (tether_loop_manager_call (manager, NULL, return_sum, pair, NULL, NULL, NULL));
  g_assert_false (tether_loop_manager_call (manager, NULL, return_error, NULL, NULL, NULL, &error));
  stats = tether_loop_manager_dup_stats (manager);
  g_assert_true (g_variant_lookup (stats, "submitted", "t", &submitted));
  g_assert_true (g_variant_lookup (stats, "completed", "t", &completed));
  g_assert_true (g_variant_lookup (stats, "failed", "t", &failed));
  g_assert_cmpuint (submitted, ==, 11);
  g_assert_cmpuint (completed, ==, 10);
  g_assert_cmpuint (failed, ==, 1);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

static void
test_call_refused (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("call-refused");
  g_autoptr(TetherLoopManager) typed = started ("call-typed", "io");
  g_autoptr(GError) error = NULL;
  int ran = 0;

  watchdog_arm (WATCHDOG_S, "call-refused");
  g_assert_false (tether_loop_manager_call (manager, NULL, return_nothing, &ran, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&error);

  g_assert_false (tether_loop_manager_call (typed, "cpu", return_nothing, &ran, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_clear_error (&error);
  g_assert_true (tether_loop_manager_call (typed, "io", return_nothing, &ran, NULL, NULL, &error));
  g_assert_cmpint (ran, ==, 1);
  tether_loop_manager_stop (typed, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* On the manager's own thread: refused at once, nothing queued. */
typedef struct
{
  TetherLoopManager *manager;
  int                ran;
  GError            *error;
} Self;

static void
call_self (TetherWork *work,
           gpointer    user_data)
{
  Self *self = user_data;

  g_assert_false (tether_loop_manager_call (self->manager, NULL, return_nothing, &self->ran,
                                            NULL, NULL, &self->error));
  tether_work_return_boolean (work, TRUE);
}

static void
test_call_own_thread (void)
{
  g_autoptr(TetherLoopManager) manager = started ("call-self", NULL);
  Self self = { manager, 0, NULL };

  watchdog_arm (WATCHDOG_S, "call-own-thread");
  g_assert_true (tether_loop_manager_call (manager, NULL, call_self, &self, NULL, NULL, NULL));
  g_assert_error (self.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_clear_error (&self.error);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (self.ran, ==, 0);
  watchdog_disarm ();
}

/* A call made from a helper thread; the test looks at it from outside. */
typedef struct
{
  TetherLoopManager *manager;
  TetherWorkFunc     func;
  gpointer           data;
  GCancellable      *cancellable;
  gboolean           ok;
  GError            *error;
  int                returned;   /* atomic: the call returned */
} Caller;

static gpointer
caller_run (gpointer data)
{
  Caller *caller = data;

  caller->ok = tether_loop_manager_call (caller->manager, NULL, caller->func, caller->data,
                                         caller->cancellable, NULL, &caller->error);
  g_atomic_int_set (&caller->returned, TRUE);
  return NULL;
}

/* Cancelled while queued: the call returns at once, the function never runs. */
static void
test_call_cancel_queued (void)
{
  g_autoptr(TetherLoopManager) manager = started ("call-cancel-queued", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TetherFuture) blocker = NULL;
  Caller caller = { manager, return_nothing, NULL, cancellable, FALSE, NULL, 0 };
  int ran = 0;
  GThread *thread;
  Gate gate;

  watchdog_arm (WATCHDOG_S, "call-cancel-queued");
  gate_init (&gate);
  caller.data = &ran;
  blocker = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  thread = g_thread_new ("caller", caller_run, &caller);
  poll_until (tether_loop_manager_get_n_pending (manager) == 1);
  g_cancellable_cancel (cancellable);
  g_thread_join (thread);       /* while the manager's thread is still held */
  g_assert_false (caller.ok);
  g_assert_error (caller.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&caller.error);
  gate_open (&gate);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (ran, ==, 0);
  gate_clear (&gate);
  watchdog_disarm ();
}

/* Cancelled while running: the work sees its cancellable, and the call
 * waits for it to return. */
typedef struct
{
  Gate gate;
  int  returning;   /* atomic: set just before the function returns */
} Running;

static void
cancel_aware (TetherWork *work,
              gpointer    user_data)
{
  Running *running = user_data;

  wait_for_cancel (work, &running->gate);
  tether_work_return_int (work, 7);
  g_usleep (20 * 1000);   /* the call must not return meanwhile */
  g_atomic_int_set (&running->returning, TRUE);
}

static void
test_call_cancel_running (void)
{
  g_autoptr(TetherLoopManager) manager = started ("call-cancel-running", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Running running = { 0 };
  Caller caller = { manager, cancel_aware, &running, cancellable, FALSE, NULL, 0 };
  GThread *thread;

  watchdog_arm (WATCHDOG_S, "call-cancel-running");
  gate_init (&running.gate);
  thread = g_thread_new ("caller", caller_run, &caller);
  gate_wait_entered (&running.gate);
  g_cancellable_cancel (cancellable);
  g_thread_join (thread);
  /* The value returned wins over the cancellation, as for a future; and
   * the call came back only after the function had returned. */
  g_assert_no_error (caller.error);
  g_assert_true (caller.ok);
  g_assert_true (g_atomic_int_get (&running.returning));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  gate_clear (&running.gate);
  watchdog_disarm ();
}

/* The work keeps its handle and returns later from another thread: the
 * call waits for that return. */
static gpointer
return_later (gpointer data)
{
  TetherWork *work = data;

  g_usleep (20 * 1000);
  tether_work_return_int (work, 9);
  g_object_unref (work);
  return NULL;
}

static void
hand_off (TetherWork *work,
          gpointer    user_data)
{
  GThread **thread = user_data;

  *thread = g_thread_new ("returner", return_later, g_object_ref (work));
}

static void
test_call_returns_later (void)
{
  g_autoptr(TetherLoopManager) manager = started ("call-later", NULL);
  g_auto(GValue) value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;
  GThread *returner = NULL;

  watchdog_arm (WATCHDOG_S, "call-returns-later");
  g_assert_true (tether_loop_manager_call (manager, NULL, hand_off, &returner, NULL, &value, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_value_get_int (&value), ==, 9);
  g_thread_join (returner);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* Queued behind a job when the manager is stopped: DRAIN runs it, CANCEL
 * ends it cancelled without running it. */
static void
stop_with_call_queued (TetherStopMode mode)
{
  g_autoptr(TetherLoopManager) manager = started ("call-stop", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  Caller caller = { manager, return_nothing, NULL, NULL, FALSE, NULL, 0 };
  StopArgs stop = { manager, mode };
  GThread *thread, *stopper;
  int ran = 0;
  Gate gate;

  gate_init (&gate);
  caller.data = &ran;
  blocker = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  thread = g_thread_new ("caller", caller_run, &caller);
  poll_until (tether_loop_manager_get_n_pending (manager) == 1);
  stopper = g_thread_new ("stopper", stop_thread, &stop);
  if (mode == TETHER_STOP_MODE_CANCEL)
    {
      /* Ends at once, while the blocker still holds the thread. */
      g_thread_join (thread);
      g_assert_false (caller.ok);
      g_assert_error (caller.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&caller.error);
      gate_open (&gate);
    }
  else
    {
      poll_until (!tether_loop_manager_is_running (manager));
      g_assert_false (g_atomic_int_get (&caller.returned));
      gate_open (&gate);
      g_thread_join (thread);
      g_assert_no_error (caller.error);
      g_assert_true (caller.ok);
    }
  g_thread_join (stopper);
  g_assert_cmpint (ran, ==, mode == TETHER_STOP_MODE_DRAIN ? 1 : 0);
  gate_clear (&gate);
}

static void
test_call_stop (void)
{
  watchdog_arm (WATCHDOG_S, "call-stop");
  stop_with_call_queued (TETHER_STOP_MODE_DRAIN);
  stop_with_call_queued (TETHER_STOP_MODE_CANCEL);
  watchdog_disarm ();
}

/* Work on A calls B while work on B calls A: the call that would close the
 * cycle is refused (nothing runs), and the other one completes. */
typedef struct
{
  TetherLoopManager *a, *b;
  Gate               a_held;     /* work on A waits here before it calls B */
  gboolean           a_ok, b_ok;
  GError            *a_error, *b_error;
  int                ran;
} Cycle;

static void
b_calls_a (TetherWork *work,
           gpointer    user_data)
{
  Cycle *cycle = user_data;

  cycle->b_ok = tether_loop_manager_call (cycle->a, NULL, return_nothing, &cycle->ran, NULL,
                                          NULL, &cycle->b_error);
  tether_work_return_boolean (work, TRUE);
}

static void
a_calls_b (TetherWork *work,
           gpointer    user_data)
{
  Cycle *cycle = user_data;

  gate_enter (&cycle->a_held);
  gate_wait_open (&cycle->a_held);
  cycle->a_ok = tether_loop_manager_call (cycle->b, NULL, return_nothing, &cycle->ran, NULL,
                                          NULL, &cycle->a_error);
  tether_work_return_boolean (work, TRUE);
}

static void
test_call_cycle (void)
{
  Cycle cycle = { 0 };
  g_autoptr(TetherFuture) on_a = NULL;
  g_autoptr(TetherFuture) on_b = NULL;
  g_autoptr(GError) error = NULL;

  watchdog_arm (WATCHDOG_S, "call-cycle");
  cycle.a = started ("call-cycle-a", NULL);
  cycle.b = started ("call-cycle-b", NULL);
  gate_init (&cycle.a_held);
  on_a = tether_loop_manager_submit (cycle.a, NULL, a_calls_b, &cycle, NULL, NULL, NULL);
  gate_wait_entered (&cycle.a_held);
  /* B's thread now blocks in a call to A, which is busy. */
  on_b = tether_loop_manager_submit (cycle.b, NULL, b_calls_a, &cycle, NULL, NULL, NULL);
  poll_until (tether_loop_manager_get_n_pending (cycle.a) == 1);
  gate_open (&cycle.a_held);
  g_assert_true (tether_future_wait (on_a, -1, NULL, &error));
  g_assert_true (tether_future_wait (on_b, -1, NULL, &error));
  g_assert_false (cycle.a_ok);
  g_assert_error (cycle.a_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_true (cycle.b_ok);
  g_assert_no_error (cycle.b_error);
  g_assert_cmpint (cycle.ran, ==, 1);   /* B's call ran; A's never did */
  g_clear_error (&cycle.a_error);
  tether_loop_manager_stop (cycle.a, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (cycle.b, TETHER_STOP_MODE_DRAIN);
  g_object_unref (cycle.a);
  g_object_unref (cycle.b);
  gate_clear (&cycle.a_held);
  watchdog_disarm ();
}

/* A CANCEL stop of the manager whose thread is blocked in a call cancels
 * the job called for (queued: it ends at once) so that the stop finishes. */
typedef struct
{
  TetherLoopManager *target;
  gboolean           ok;
  GError            *error;
  int                ran;
} Outer;

static void
outer_call (TetherWork *work,
            gpointer    user_data)
{
  Outer *outer = user_data;

  outer->ok = tether_loop_manager_call (outer->target, NULL, return_nothing, &outer->ran, NULL,
                                        NULL, &outer->error);
  tether_work_return_boolean (work, TRUE);
}

static void
test_call_waiter_cancel_stop (void)
{
  g_autoptr(TetherLoopManager) waiter = started ("call-waiter", NULL);
  g_autoptr(TetherLoopManager) target = started ("call-target", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) outer_future = NULL;
  Outer outer = { target, FALSE, NULL, 0 };
  Gate gate;

  watchdog_arm (WATCHDOG_S, "call-waiter-cancel-stop");
  gate_init (&gate);
  blocker = tether_loop_manager_submit (target, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  outer_future = tether_loop_manager_submit (waiter, NULL, outer_call, &outer, NULL, NULL, NULL);
  poll_until (tether_loop_manager_get_n_pending (target) == 1);
  tether_loop_manager_stop (waiter, TETHER_STOP_MODE_CANCEL);
  g_assert_false (outer.ok);
  g_assert_error (outer.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&outer.error);
  gate_open (&gate);
  tether_loop_manager_stop (target, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (outer.ran, ==, 0);
  gate_clear (&gate);
  watchdog_disarm ();
}

/* Many threads calling at once: every call gets its own answer. */
#define N_THREADS 8
#define N_CALLS 2000

static void
echo (TetherWork *work,
      gpointer    user_data)
{
  tether_work_return_int (work, GPOINTER_TO_INT (user_data));
}

static gpointer
hammer (gpointer data)
{
  TetherLoopManager *manager = data;

  for (int i = 0; i < N_CALLS; i++)
    {
      g_auto(GValue) value = G_VALUE_INIT;

      g_assert_true (tether_loop_manager_call (manager, NULL, echo, GINT_TO_POINTER (i), NULL,
                                               &value, NULL));
      g_assert_cmpint (g_value_get_int (&value), ==, i);
    }
  return NULL;
}

static void
test_call_many_threads (void)
{
  g_autoptr(TetherLoopManager) manager = started ("call-many", NULL);
  GThread *threads[N_THREADS];

  watchdog_arm (WATCHDOG_S, "call-many-threads");
  /* Half of them with both sides spinning. */
  for (guint spin = 0; spin < 2; spin++)
    {
      tether_loop_manager_set_wait_spin (manager, spin ? 20 : 0);
      tether_loop_manager_set_loop_spin (manager, spin ? 20 : 0);
      for (guint i = 0; i < N_THREADS; i++)
        threads[i] = g_thread_new ("hammer", hammer, manager);
      for (guint i = 0; i < N_THREADS; i++)
        g_thread_join (threads[i]);
    }
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* Submissions racing a stop: every call ends, ran or refused or cancelled. */
static gpointer
call_until_refused (gpointer data)
{
  TetherLoopManager *manager = data;
  int ran = 0;

  for (;;)
    {
      g_autoptr(GError) error = NULL;

      if (!tether_loop_manager_call (manager, NULL, return_nothing, &ran, NULL, NULL, &error))
        {
          if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING))
            break;
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
        }
    }
  return NULL;
}

static void
test_call_during_stop (void)
{
  watchdog_arm (WATCHDOG_S, "call-during-stop");
  for (guint round = 0; round < 20; round++)
    {
      g_autoptr(TetherLoopManager) manager = started ("call-during-stop", NULL);
      GThread *threads[4];

      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        threads[i] = g_thread_new ("caller", call_until_refused, manager);
      g_usleep (1000 * (round % 4));
      tether_loop_manager_stop (manager, round % 2 ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN);
      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        g_thread_join (threads[i]);
    }
  watchdog_disarm ();
}

/* The closure form: the closure gets the work handle; the call holds its
 * own reference and releases it before returning. */
static void
closure_work (TetherWork *work,
              gpointer    user_data)
{
  tether_work_return_string (work, user_data);
}

static gboolean
say_done (TetherWork *work,
          gpointer    user_data)
{
  return GPOINTER_TO_INT (user_data);
}

static void
test_call_closure (void)
{
  g_autoptr(TetherLoopManager) manager = started ("call-closure", NULL);
  g_auto(GValue) value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;
  GClosure *closure = g_cclosure_new (G_CALLBACK (closure_work), (gpointer) "hello", NULL);

  watchdog_arm (WATCHDOG_S, "call-closure");
  g_closure_ref (closure);
  g_closure_sink (closure);
  g_assert_true (tether_loop_manager_call_with_closure (manager, NULL, closure, NULL, &value, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (g_value_get_string (&value), ==, "hello");
  g_assert_cmpuint (closure->ref_count, ==, 1);
  g_closure_unref (closure);
  g_value_unset (&value);

  /* A closure returning TRUE is done: its work ends with no value. One
   * returning FALSE without ending it has dropped it: abandoned. */
  closure = g_cclosure_new (G_CALLBACK (say_done), GINT_TO_POINTER (TRUE), NULL);
  g_closure_set_marshal (closure, g_cclosure_marshal_generic);
  g_assert_true (tether_loop_manager_call_with_closure (manager, NULL, closure, NULL, &value, &error));
  g_assert_no_error (error);
  g_assert_true (G_VALUE_HOLDS_POINTER (&value));
  g_value_unset (&value);
  closure = g_cclosure_new (G_CALLBACK (say_done), GINT_TO_POINTER (FALSE), NULL);
  g_closure_set_marshal (closure, g_cclosure_marshal_generic);
  g_assert_false (tether_loop_manager_call_with_closure (manager, NULL, closure, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ABANDONED);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* A loop spin no longer holds up the context's other sources: an idle
 * attached from another thread during a one-second spin runs at once. */
static gboolean
note_idle (gpointer user_data)
{
  g_atomic_int_set ((int *) user_data, TRUE);
  return G_SOURCE_REMOVE;
}

static void
test_loop_spin_sees_other_sources (void)
{
  g_autoptr(TetherLoopManager) manager = started ("spin-sources", NULL);
  int ran = 0, idle_ran = 0;
  gint64 start, took;

  watchdog_arm (WATCHDOG_S, "loop-spin-sees-other-sources");
  tether_loop_manager_set_loop_spin (manager, G_USEC_PER_SEC);
  /* A job, so that the thread goes back to poll() and spins. */
  g_assert_true (tether_loop_manager_call (manager, NULL, return_nothing, &ran, NULL, NULL, NULL));
  /* Time to reach the spin, which lasts a second. If the thread is late,
   * the idle runs before the spin and the test proves less, never fails. */
  g_usleep (100 * 1000);
  start = g_get_monotonic_time ();
  g_main_context_invoke (tether_loop_manager_get_context (manager), note_idle, &idle_ran);
  poll_until (g_atomic_int_get (&idle_ran));
  took = g_get_monotonic_time () - start;
  /* Before, it waited for the spin to end: a second. */
  g_assert_cmpint (took, <, G_USEC_PER_SEC / 2);
  tether_loop_manager_set_loop_spin (manager, 0);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/call/value", test_call_value);
  g_test_add_func ("/call/stats", test_call_stats);
  g_test_add_func ("/call/refused", test_call_refused);
  g_test_add_func ("/call/own-thread", test_call_own_thread);
  g_test_add_func ("/call/cancel-queued", test_call_cancel_queued);
  g_test_add_func ("/call/cancel-running", test_call_cancel_running);
  g_test_add_func ("/call/returns-later", test_call_returns_later);
  g_test_add_func ("/call/stop", test_call_stop);
  g_test_add_func ("/call/cycle", test_call_cycle);
  g_test_add_func ("/call/waiter-cancel-stop", test_call_waiter_cancel_stop);
  g_test_add_func ("/call/many-threads", test_call_many_threads);
  g_test_add_func ("/call/during-stop", test_call_during_stop);
  g_test_add_func ("/call/closure", test_call_closure);
  g_test_add_func ("/call/loop-spin-sees-other-sources", test_loop_spin_sees_other_sources);

  return test_run ();
}

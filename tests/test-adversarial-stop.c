/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Adversarial tests of the documented stop, unref and wait semantics, written
 * as an outside tester would: stops from callbacks, stops racing stops,
 * submissions and last unrefs, cycles of managers formed in every order,
 * waits for room in a full queue, timers and posts in flight. Every
 * blocking call runs under a watchdog: a hang fails the test. */
#include "config.h"

#include <tether.h>

#include "tether-core-private.h"
#include "test-util.h"

#define WATCHDOG_SECONDS 10

/* Blocks until @waiter's thread waits on @target, as the wait graph sees it. */
static void
until_waiting_on (TetherCore *waiter,
                  TetherCore *target)
{
  while (!tether_core_is_waiting_on (waiter, target))
    g_thread_yield ();
}

static void
core_work (TetherWork *work,
           gpointer    user_data)
{
  tether_work_return_pointer (work, tether_core_get_current (), NULL);
}

static TetherCore *
core_of (TetherLoopManager *manager)
{
  g_autoptr(TetherFuture) future = tether_loop_manager_submit (manager, NULL, NULL, core_work,
                                                               NULL, NULL, NULL);

  g_assert_true (tether_future_wait (future, -1, NULL));
  return tether_future_get_pointer (future);
}

static void
gate_pass (Gate *gate)
{
  g_mutex_lock (&gate->mutex);
  while (!gate->open)
    g_cond_wait (&gate->cond, &gate->mutex);
  g_mutex_unlock (&gate->mutex);
}

/* Returns 42, once the Gate in @user_data (if any) is open. */
static void
value_work (TetherWork *work,
            gpointer    user_data)
{
  if (user_data != NULL)
    {
      gate_enter (user_data);
      gate_pass (user_data);
    }
  tether_work_return_int (work, 42);
}

/* Blocking wait for @target, ending with its outcome (or the wait's error). */
typedef struct
{
  TetherFuture *target;
  Gate         *gate;   /* entered and passed first, if set */
  GError       *error;
} Waiter;

static void
waiter_work (TetherWork *work,
             gpointer    user_data)
{
  Waiter *w = user_data;

  if (w->gate != NULL)
    {
      gate_enter (w->gate);
      gate_pass (w->gate);
    }
  if (tether_future_wait (w->target, -1, &w->error))
    tether_work_return_int (work, tether_future_get_int (w->target));
  else
    tether_work_return_error (work, g_error_copy (w->error));
}

/* ------------------------------------------------------------------------ */
/* Waiting for room in a full queue is a blocking wait between managers. */

typedef struct
{
  TetherLoopManager *target;
  Gate              *gate;    /* entered and passed first, if set */
  TetherFuture      *future;  /* what the submission returned */
  GError            *error;
} Submitter;

static void
submitter_work (TetherWork *work,
                gpointer    user_data)
{
  Submitter *s = user_data;

  if (s->gate != NULL)
    {
      gate_enter (s->gate);
      gate_pass (s->gate);
    }
  s->future = tether_loop_manager_submit (s->target, NULL, NULL, value_work, NULL, NULL,
                                          &s->error);
  tether_work_return_boolean (work, s->future != NULL);
}

/* Work on B waits for Z, queued on A behind W; B's queue is full; then W
 * submits to B and would wait for room that only B's thread makes. That
 * wait closes a cycle: it is refused, not a hang. */
static void
test_room_wait_closes_cycle (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) w = NULL;
  g_autoptr(TetherFuture) z = NULL;
  g_autoptr(TetherFuture) v = NULL;
  g_autoptr(TetherFuture) filler = NULL;
  Gate w_gate;
  Submitter s = { b, &w_gate, NULL, NULL };
  Waiter vw = { NULL, NULL, NULL };

  gate_init (&w_gate);
  watchdog_arm (WATCHDOG_SECONDS, "a wait for room that closes a cycle");
  tether_loop_manager_set_max_pending (b, 1);
  tether_loop_manager_set_submit_timeout (b, -1);

  w = tether_loop_manager_submit (a, NULL, NULL, submitter_work, &s, NULL, NULL);
  gate_wait_entered (&w_gate);
  z = tether_loop_manager_submit (a, NULL, NULL, value_work, NULL, NULL, NULL);
  vw.target = z;
  v = tether_loop_manager_submit (b, NULL, NULL, waiter_work, &vw, NULL, NULL);
  until_waiting_on (b_core, a_core);
  filler = tether_loop_manager_submit (b, NULL, NULL, value_work, NULL, NULL, NULL);
  g_assert_nonnull (filler);
  g_assert_cmpuint (tether_loop_manager_get_n_pending (b), ==, 1);
  gate_open (&w_gate);

  g_assert_true (tether_future_wait (w, -1, NULL));
  g_assert_null (s.future);
  g_assert_error (s.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_nonnull (strstr (s.error->message, "'a' -> 'b' -> 'a'"));
  g_assert_true (tether_future_wait (v, -1, NULL));
  g_assert_cmpint (tether_future_get_int (v), ==, 42);
  g_assert_true (tether_future_wait (filler, -1, NULL));

  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  gate_clear (&w_gate);
  g_clear_error (&s.error);
  g_clear_error (&vw.error);
}

/* The converse: W on A waits for room in B first; then B's running work
 * waits for work queued on A. That wait closes the cycle and is refused;
 * B's work returns, room appears, and everything ends. */
static void
test_wait_on_room_waiter_closes_cycle (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) w = NULL;
  g_autoptr(TetherFuture) z = NULL;
  g_autoptr(TetherFuture) v = NULL;
  g_autoptr(TetherFuture) filler = NULL;
  Gate v_gate;
  Submitter s = { b, NULL, NULL, NULL };
  Waiter vw = { NULL, &v_gate, NULL };

  gate_init (&v_gate);
  watchdog_arm (WATCHDOG_SECONDS, "a wait on a manager whose thread waits for room");
  tether_loop_manager_set_max_pending (b, 1);
  tether_loop_manager_set_submit_timeout (b, -1);

  v = tether_loop_manager_submit (b, NULL, NULL, waiter_work, &vw, NULL, NULL);
  gate_wait_entered (&v_gate);
  filler = tether_loop_manager_submit (b, NULL, NULL, value_work, NULL, NULL, NULL);
  g_assert_nonnull (filler);
  w = tether_loop_manager_submit (a, NULL, NULL, submitter_work, &s, NULL, NULL);
  z = tether_loop_manager_submit (a, NULL, NULL, value_work, NULL, NULL, NULL);
  vw.target = z;
  /* A's thread now waits for room in B. */
  until_waiting_on (a_core, b_core);
  gate_open (&v_gate);

  g_assert_false (tether_future_wait (v, -1, NULL));
  g_assert_error (vw.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_nonnull (strstr (vw.error->message, "'b' -> 'a' -> 'b'"));
  g_assert_true (tether_future_wait (w, -1, NULL));
  g_assert_no_error (s.error);
  g_assert_true (tether_future_wait (s.future, -1, NULL));
  g_assert_true (tether_future_wait (z, -1, NULL));
  g_assert_true (tether_future_wait (filler, -1, NULL));

  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  g_clear_object (&s.future);
  gate_clear (&v_gate);
  g_clear_error (&vw.error);
}

/* A CANCEL stop of A ends the wait for room its running work is blocked
 * in, as it ends a blocking wait on a future: the submission is refused
 * with G_IO_ERROR_CANCELLED and the work can return. */
static void
test_cancel_ends_room_wait (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) w = NULL;
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) filler = NULL;
  Gate b_gate;
  Submitter s = { b, NULL, NULL, NULL };

  gate_init (&b_gate);
  watchdog_arm (WATCHDOG_SECONDS, "a CANCEL stop of a manager waiting for room");
  tether_loop_manager_set_max_pending (b, 1);
  tether_loop_manager_set_submit_timeout (b, -1);

  blocker = tether_loop_manager_submit (b, NULL, NULL, value_work, &b_gate, NULL, NULL);
  gate_wait_entered (&b_gate);
  filler = tether_loop_manager_submit (b, NULL, NULL, value_work, NULL, NULL, NULL);
  w = tether_loop_manager_submit (a, NULL, NULL, submitter_work, &s, NULL, NULL);
  until_waiting_on (a_core, b_core);

  tether_loop_manager_stop (a, TETHER_STOP_MODE_CANCEL);
  g_assert_true (tether_future_is_done (w));
  g_assert_null (s.future);
  g_assert_error (s.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  gate_open (&b_gate);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_future_wait (filler, -1, NULL));
  watchdog_disarm ();
  gate_clear (&b_gate);
  g_clear_error (&s.error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Adversarial/room/wait-closes-cycle", test_room_wait_closes_cycle);
  g_test_add_func ("/Tether/Adversarial/room/wait-on-room-waiter-closes-cycle",
                   test_wait_on_room_waiter_closes_cycle);
  g_test_add_func ("/Tether/Adversarial/room/cancel-ends-room-wait", test_cancel_ends_room_wait);

  return test_run ();
}

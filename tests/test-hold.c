/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tether_loop_manager_hold(): deferred work without a function, as the
 * Python override's lane uses it. */
#include "config.h"

#include <tether.h>

#include "test-util.h"

typedef struct
{
  TetherLoopManager *manager;
  TetherStopMode     mode;
  int                returned;    /* atomic: the stop has returned */
  guint              n_ran;
  guint              n_cancelled;
} Stopper;

static gpointer
stopper_func (gpointer data)
{
  Stopper *stopper = data;
  g_autoptr(GError) error = NULL;

  if (stopper->mode == TETHER_STOP_MODE_DRAIN)
    g_assert_true (tether_loop_manager_stop_within (stopper->manager, -1, &stopper->n_ran,
                                                    &stopper->n_cancelled, &error));
  else
    tether_loop_manager_stop (stopper->manager, stopper->mode);
  g_assert_no_error (error);
  g_atomic_int_set (&stopper->returned, TRUE);
  return NULL;
}

/* Spins until the stop has begun (is-running goes FALSE at its start). */
static void
wait_stop_began (TetherLoopManager *manager)
{
  while (tether_loop_manager_is_running (manager))
    g_thread_yield ();
}

static void
test_hold_refused_unless_running (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherWork) work = NULL;

  work = tether_loop_manager_hold (manager, &error);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_null (work);
  g_clear_error (&error);

  /* A typed manager: a hold belongs to no task type, and is accepted. */
  g_assert_true (tether_loop_manager_start (manager, "typed", &error));
  g_assert_no_error (error);
  work = tether_loop_manager_hold (manager, &error);
  g_assert_no_error (error);
  g_assert_true (TETHER_IS_WORK (work));
  g_assert_false (tether_work_is_done (work));
  tether_work_return_boolean (work, TRUE);
  g_assert_true (tether_work_is_done (work));
  g_clear_object (&work);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  work = tether_loop_manager_hold (manager, &error);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_null (work);
}

typedef struct
{
  TetherWork *work;
  Stopper    *stopper;
  gboolean    stop_was_waiting;
  GThread    *thread;
} Release;

/* Runs on the manager's context while the stop waits: the context still
 * iterates, and the hold is what keeps the stop waiting. */
static gboolean
release_on_manager (gpointer data)
{
  Release *release = data;

  g_assert_true (g_main_context_is_owner (tether_loop_manager_get_context (release->stopper->manager)));
  release->stop_was_waiting = !g_atomic_int_get (&release->stopper->returned);
  tether_work_return_boolean (release->work, TRUE);
  return G_SOURCE_REMOVE;
}

static void
test_hold_drain_waits (void)
{
  for (guint round = 0; round < 50; round++)
    {
      g_autoptr(TetherLoopManager) manager = started (NULL, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherWork) work = tether_loop_manager_hold (manager, &error);
      g_autoptr(TetherWork) refused = NULL;
      Stopper stopper = { manager, TETHER_STOP_MODE_DRAIN, FALSE, 0, 0 };
      Release release = { work, &stopper, FALSE, NULL };
      GThread *thread;

      g_assert_no_error (error);
      watchdog_arm (60, "a DRAIN stop waiting for a hold");
      thread = g_thread_new ("stopper", stopper_func, &stopper);
      wait_stop_began (manager);

      /* Once the stop began, holds are refused like submissions. */
      refused = tether_loop_manager_hold (manager, &error);
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
      g_assert_null (refused);
      g_assert_false (tether_work_is_cancelled (work));

      g_main_context_invoke (tether_loop_manager_get_context (manager),
                             release_on_manager, &release);
      g_thread_join (thread);
      watchdog_disarm ();

      g_assert_true (release.stop_was_waiting);
      g_assert_true (g_atomic_int_get (&stopper.returned));
      g_assert_cmpuint (stopper.n_ran, ==, 1);
      g_assert_cmpuint (stopper.n_cancelled, ==, 0);
      g_assert_false (tether_loop_manager_is_running (manager));
    }
}

static void
test_hold_cancel_fires_cancellable (void)
{
  for (guint round = 0; round < 50; round++)
    {
      g_autoptr(TetherLoopManager) manager = started (NULL, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherWork) work = tether_loop_manager_hold (manager, &error);
      Stopper stopper = { manager, TETHER_STOP_MODE_CANCEL, FALSE, 0, 0 };
      GCancellable *cancellable;
      g_autoptr(GVariant) stats = NULL;
      guint64 cancelled = 0;
      GThread *thread;

      g_assert_no_error (error);
      cancellable = tether_work_get_cancellable (work);
      watchdog_arm (60, "a CANCEL stop firing a hold's cancellable");
      thread = g_thread_new ("stopper", stopper_func, &stopper);
      while (!g_cancellable_is_cancelled (cancellable))
        g_thread_yield ();
      /* The stop fired it, and still waits for the holder to end it. */
      g_assert_false (g_atomic_int_get (&stopper.returned));
      tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_CANCELLED, "held, cancelled");
      g_thread_join (thread);
      watchdog_disarm ();

      g_assert_false (tether_loop_manager_is_running (manager));
      stats = tether_loop_manager_dup_stats (manager);
      g_assert_true (g_variant_lookup (stats, "cancelled", "t", &cancelled));
      g_assert_cmpuint (cancelled, ==, 1);
    }
}

/* Dropping the handle unreturned ends the hold (abandoned): the stop goes on. */
static void
test_hold_dropped_is_abandoned (void)
{
  g_autoptr(TetherLoopManager) manager = started (NULL, NULL);
  g_autoptr(GError) error = NULL;
  TetherWork *work = tether_loop_manager_hold (manager, &error);
  g_autoptr(GVariant) stats = NULL;
  guint64 failed = 0, submitted = 0;
  guint running = 1;

  g_assert_no_error (error);
  g_object_unref (work);
  watchdog_arm (60, "a stop after a hold was dropped");
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  stats = tether_loop_manager_dup_stats (manager);
  g_assert_true (g_variant_lookup (stats, "failed", "t", &failed));
  g_assert_true (g_variant_lookup (stats, "submitted", "t", &submitted));
  g_assert_true (g_variant_lookup (stats, "running", "u", &running));
  g_assert_cmpuint (failed, ==, 1);
  g_assert_cmpuint (submitted, ==, 1);
  g_assert_cmpuint (running, ==, 0);
}

static gpointer
return_later (gpointer data)
{
  TetherWork *work = data;

  tether_work_return_boolean (work, TRUE);
  g_object_unref (work);
  return NULL;
}

/* The last unref of a running manager drains detached: wait_detached()
 * waits for a hold returned later from another thread. */
static void
test_hold_last_unref_drains (void)
{
  TetherLoopManager *manager = started (NULL, NULL);
  g_autoptr(GError) error = NULL;
  TetherWork *work = tether_loop_manager_hold (manager, &error);
  GThread *thread;

  g_assert_no_error (error);
  /* The hold keeps the thread, not the object. */
  g_assert_finalize_object (manager);
  g_assert_false (tether_loop_manager_wait_detached (0));
  watchdog_arm (60, "wait_detached() for a hold");
  thread = g_thread_new ("returner", return_later, work);
  g_assert_true (tether_loop_manager_wait_detached (-1));
  g_thread_join (thread);
  watchdog_disarm ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Hold/refused-unless-running", test_hold_refused_unless_running);
  g_test_add_func ("/Tether/Hold/drain-waits", test_hold_drain_waits);
  g_test_add_func ("/Tether/Hold/cancel-fires-cancellable", test_hold_cancel_fires_cancellable);
  g_test_add_func ("/Tether/Hold/dropped-is-abandoned", test_hold_dropped_is_abandoned);
  g_test_add_func ("/Tether/Hold/last-unref-drains", test_hold_last_unref_drains);

  return test_run ();
}

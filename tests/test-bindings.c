/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <tether.h>

#include "test-util.h"

/* This process poses as one hosting GJS, which can release a JavaScript
 * function only on its own thread: func_data_destroy must come back to the
 * submitter's context instead of running on the manager's thread. It runs in
 * a process of its own because Tether looks for GJS once. */

typedef struct
{
  GThread *thread;   /* where the destroy notify ran */
  gboolean ran;
} Released;

static void
on_released (gpointer data)
{
  Released *released = data;

  released->thread = g_thread_self ();
  released->ran = TRUE;
}

static void
blocked_like_gjs (TetherWork *work,
                  gpointer    user_data)
{
  /* GJS refuses to run the JS function and returns without a word. */
}

static void
return_thread (TetherWork *work,
               gpointer    user_data)
{
  tether_work_return_pointer (work, g_thread_self (), NULL);
}

static void
test_destroy_returns_home (void)
{
  g_autoptr(TetherLoopManager) manager = started ("gjs-home", NULL);
  g_autoptr(GMainContext) home = g_main_context_new ();
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherFuture) where = NULL;
  g_autoptr(GError) error = NULL;
  Released released = { NULL, FALSE };

  g_main_context_push_thread_default (home);
  future = tether_loop_manager_submit (manager, NULL, blocked_like_gjs,
                                       &released, on_released, NULL, &error);
  g_assert_no_error (error);

  /* The work ends visibly, not with a hang. */
  g_assert_false (tether_future_wait (future, -1, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ABANDONED);
  g_assert_nonnull (strstr (error->message, "Work.return_*()"));
  g_clear_error (&error);

  /* The manager has retired the job (a later one ran), yet the destroy
   * notify waits for the home context. */
  where = tether_loop_manager_submit (manager, NULL, return_thread, NULL, NULL, NULL, &error);
  g_assert_true (tether_future_wait (where, -1, NULL, &error));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_false (released.ran);

  while (!released.ran)
    g_main_context_iteration (home, TRUE);
  g_assert_true (released.thread == g_thread_self ());
  g_assert_true (released.thread != tether_future_get_pointer (where, NULL));
  g_main_context_pop_thread_default (home);
}

static void
test_rejected_releases_inline (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("gjs-rejected");
  g_autoptr(GError) error = NULL;
  Released released = { NULL, FALSE };

  g_assert_null (tether_loop_manager_submit (manager, NULL, blocked_like_gjs,
                                             &released, on_released, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_true (released.ran);
  g_assert_true (released.thread == g_thread_self ());
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_type_register_static_simple (G_TYPE_OBJECT, "GjsContext", sizeof (GObjectClass), NULL,
                                 sizeof (GObject), NULL, 0);

  g_test_add_func ("/Tether/Bindings/gjs-destroy-returns-home", test_destroy_returns_home);
  g_test_add_func ("/Tether/Bindings/gjs-rejected-releases-inline", test_rejected_releases_inline);

  return test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program outside the Tether tree, built against it the two ways another
 * project would: as a meson subproject, and through pkg-config from an
 * installed prefix. It starts a manager, gets a result back, stops. */
#include <tether.h>

static void
answer (TetherWork *work,
        gpointer    user_data)
{
  tether_work_return_int (work, GPOINTER_TO_INT (user_data) * 2);
}

int
main (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("consumer");
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  /* The headers and the library found are the same release. */
  if (!TETHER_CHECK_VERSION (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION, 0) ||
      tether_check_version (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION, 0) != NULL)
    g_error ("version check failed: %s",
             tether_check_version (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION, 0));
  if (!tether_loop_manager_start (manager, NULL, &error))
    g_error ("start: %s", error->message);
  future = tether_loop_manager_submit (manager, NULL, answer, GINT_TO_POINTER (21),
                                       NULL, NULL, &error);
  if (future == NULL || !tether_future_wait (future, 10 * G_USEC_PER_SEC, NULL, &error))
    g_error ("submit: %s", error->message);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_print ("consumer: %d\n", tether_future_get_int (future, NULL));
  return tether_future_get_int (future, NULL) == 42 ? 0 : 1;
}

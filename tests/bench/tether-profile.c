/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fixed workload for valgrind --tool=callgrind, which counts instructions
 * where these VMs have no hardware counters: `post N` posts N jobs in bursts
 * of 100 that the manager's thread keeps up with (as in steady state: under
 * valgrind threads take turns, and one unbroken stream would only measure an
 * ever deeper queue); `submit N` makes N submit + wait round trips, `call N`
 * N blocking calls (tether_loop_manager_call()). Two runs
 * with different N give the instructions per job as the difference over the
 * difference (tests/bench/callgrind-per-job does that). Only public API. */
#include <tether.h>

#include <stdlib.h>
#include <string.h>

static gint counter;

static void
post_job (gpointer data)
{
  g_atomic_int_inc (&counter);
}

static void
work_job (TetherWork *work,
          gpointer    data)
{
  g_atomic_int_inc (&counter);
  tether_work_return_boolean (work, TRUE);
}

static void
wait_for_count (gint n)
{
  while (g_atomic_int_get (&counter) < n)
    g_usleep (20);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TetherLoopManager) manager = NULL;
  g_autoptr(GError) error = NULL;
  guint n;

  if (argc != 3 || (strcmp (argv[1], "post") != 0 && strcmp (argv[1], "submit") != 0 &&
                    strcmp (argv[1], "call") != 0))
    {
      g_printerr ("usage: %s post|submit|call N\n", argv[0]);
      return 2;
    }
  n = (guint) strtoul (argv[2], NULL, 10);

  manager = tether_loop_manager_new ("profile");
  if (!tether_loop_manager_start (manager, "profile", &error))
    g_error ("%s", error->message);

  for (guint i = 0; i < n; i++)
    {
      if (argv[1][0] == 'p')
        {
          if (!tether_loop_manager_post (manager, "profile", post_job, NULL, NULL, &error))
            g_error ("%s", error->message);
          if ((i + 1) % 100 == 0)
            wait_for_count ((gint) i + 1);
        }
      else if (argv[1][0] == 'c')
        {
          if (!tether_loop_manager_call (manager, "profile", work_job, NULL, NULL, NULL, &error))
            g_error ("%s", error->message);
        }
      else
        {
          g_autoptr(TetherFuture) future =
            tether_loop_manager_submit (manager, "profile", work_job, NULL, NULL, NULL, &error);

          if (future == NULL || !tether_future_wait (future, -1, NULL, &error))
            g_error ("%s", error->message);
        }
    }
  wait_for_count ((gint) n);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  return 0;
}

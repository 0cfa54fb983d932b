/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <tether.h>

#include "test-util.h"

/* Progress (issue 17, item 5): Work.report_progress() from any thread,
 * Future::progress in the submitter's context, coalesced, never after the
 * outcome. Every blocking call runs under a watchdog; nothing synchronises
 * by sleeping. */

#define WATCHDOG_SECONDS 60
#define N_REPORTS        100000

static guint
iterations (guint quick,
            guint thorough)
{
  if (g_getenv ("TETHER_TEST_VALGRIND") != NULL)
    return MAX (quick / 100, 1);
  return g_test_thorough () ? thorough : quick;
}

typedef struct
{
  guint     n_deliveries;
  guint     last;          /* the last value delivered */
  gboolean  status_seen;   /* notify::status came */
  gboolean  after_outcome; /* a delivery came after it */
} Seen;

static void
on_progress (TetherFuture *future,
             GVariant     *progress,
             gpointer      user_data)
{
  Seen *seen = user_data;

  g_assert_true (g_variant_is_of_type (progress, G_VARIANT_TYPE_UINT32));
  /* The future may be done by now (the work ends on its own thread), but
   * its outcome has not been delivered here. */
  if (seen->status_seen)
    seen->after_outcome = TRUE;
  seen->n_deliveries++;
  seen->last = g_variant_get_uint32 (progress);
}

static void
on_status (TetherFuture *future,
           GParamSpec   *pspec,
           gpointer      user_data)
{
  ((Seen *) user_data)->status_seen = TRUE;
}

/* Reports 0 .. N_REPORTS - 1, then waits at the gate before returning. */
static void
report_work (TetherWork *work,
             gpointer    user_data)
{
  Gate *gate = user_data;

  for (guint i = 0; i < N_REPORTS; i++)
    tether_work_report_progress (work, g_variant_new_uint32 (i));
  if (gate != NULL)
    {
      gate_enter (gate);
      gate_wait_open (gate);
    }
  tether_work_return_boolean (work, TRUE);
}

static void
iterate_until (GMainContext *context,
               gboolean     (*done) (gpointer),
               gpointer      data)
{
  watchdog_arm (WATCHDOG_SECONDS, "progress deliveries");
  while (!done (data))
    g_main_context_iteration (context, TRUE);
  watchdog_disarm ();
}

static gboolean
saw_last (gpointer data)
{
  return ((Seen *) data)->last == N_REPORTS - 1;
}

static gboolean
future_done (gpointer data)
{
  return tether_future_is_done (data);
}

/* 100,000 reports made while the receiving loop is not iterated: one
 * delivery, with the last value. */
static void
test_progress_coalesced (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *manager = started ("progress-coalesced", NULL);
  TetherFuture *future;
  g_autoptr(GVariant) latest = NULL;
  Seen seen = { 0 };
  Gate gate, go;

  g_main_context_push_thread_default (context);
  gate_init (&gate);
  gate_init (&go);
  /* Held until the handlers are connected: reports made before would not
   * be delivered (dup_progress() would still see them). */
  g_object_unref (tether_loop_manager_submit (manager, NULL, block_work, &go, NULL, NULL, NULL));
  future = tether_loop_manager_submit (manager, NULL, report_work, &gate, NULL, NULL, NULL);
  g_signal_connect (future, "progress", G_CALLBACK (on_progress), &seen);
  g_signal_connect (future, "notify::status", G_CALLBACK (on_status), &seen);
  gate_open (&go);
  /* Every report is made before the context runs. */
  gate_wait_entered (&gate);
  latest = tether_future_dup_progress (future);
  g_assert_cmpuint (g_variant_get_uint32 (latest), ==, N_REPORTS - 1);

  iterate_until (context, saw_last, &seen);
  g_assert_cmpuint (seen.n_deliveries, ==, 1);
  gate_open (&gate);
  iterate_until (context, future_done, future);
  while (!seen.status_seen)
    g_main_context_iteration (context, TRUE);
  g_assert_false (seen.after_outcome);

  g_object_unref (future);
  g_main_context_pop_thread_default (context);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_finalize_object (manager);
  gate_clear (&gate);
  gate_clear (&go);
}

/* The same while the receiving loop runs all along: a few deliveries, far
 * fewer than reports, the last one carrying the last value. */
static void
test_progress_coalesced_live (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *manager = started ("progress-live", NULL);
  TetherFuture *future;
  Seen seen = { 0 };
  Gate gate, go;

  g_main_context_push_thread_default (context);
  gate_init (&gate);
  gate_init (&go);
  /* Held until the handler is connected, so that every report counts. */
  g_object_unref (tether_loop_manager_submit (manager, NULL, block_work, &go, NULL, NULL, NULL));
  future = tether_loop_manager_submit (manager, NULL, report_work, &gate, NULL, NULL, NULL);
  g_signal_connect (future, "progress", G_CALLBACK (on_progress), &seen);
  gate_open (&go);

  iterate_until (context, saw_last, &seen);
  g_test_message ("%u reports, %u deliveries", N_REPORTS, seen.n_deliveries);
  g_assert_cmpuint (seen.n_deliveries, >=, 1);
  g_assert_cmpuint (seen.n_deliveries, <, N_REPORTS / 10);
  gate_open (&gate);
  /* No notify::status handler: nothing would wake the context. */
  watchdog_arm (WATCHDOG_SECONDS, "a future that reported");
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  watchdog_disarm ();

  g_object_unref (future);
  g_main_context_pop_thread_default (context);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_finalize_object (manager);
  gate_clear (&gate);
  gate_clear (&go);
}

/* Reports, then returns at once: whatever was on its way is dropped, since
 * the future is done before the idle runs; nothing is delivered after the
 * outcome, racing or not. */
static void
report_then_return (TetherWork *work,
                    gpointer    user_data)
{
  Gate *go = user_data;

  gate_wait_open (go);
  for (guint i = 0; i < 100; i++)
    tether_work_report_progress (work, g_variant_new_uint32 (i));
  tether_work_return_boolean (work, TRUE);
}

static void
test_progress_never_after_outcome (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *manager = started ("progress-outcome", NULL);
  guint n = iterations (200, 2000);

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < n; i++)
    {
      TetherFuture *future;
      Seen seen = { 0 };
      Gate go;

      gate_init (&go);
      future = tether_loop_manager_submit (manager, NULL, report_then_return, &go, NULL, NULL,
                                           NULL);
      g_signal_connect (future, "progress", G_CALLBACK (on_progress), &seen);
      g_signal_connect (future, "notify::status", G_CALLBACK (on_status), &seen);
      gate_open (&go);
      if (i % 2 == 0)
        {
          /* Done before the context runs: nothing at all is delivered. */
          watchdog_arm (WATCHDOG_SECONDS, "a future that reports");
          g_assert_true (tether_future_wait (future, -1, NULL, NULL));
          watchdog_disarm ();
        }
      iterate_until (context, future_done, future);
      while (!seen.status_seen)
        g_main_context_iteration (context, TRUE);
      while (g_main_context_iteration (context, FALSE))
        ;
      if (i % 2 == 0)
        g_assert_cmpuint (seen.n_deliveries, ==, 0);
      g_assert_false (seen.after_outcome);
      {
        g_autoptr(GVariant) latest = tether_future_dup_progress (future);

        g_assert_cmpuint (g_variant_get_uint32 (latest), ==, 99);
      }
      g_object_unref (future);
      gate_clear (&go);
    }
  g_main_context_pop_thread_default (context);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_finalize_object (manager);
}

/* The handle goes to a thread of its own, which reports and ends the work. */
typedef struct
{
  TetherWork *work;
  Gate        gate;
} Foreign;

static gpointer
foreign_reporter (gpointer data)
{
  Foreign *f = data;
  g_autoptr(TetherWork) work = g_steal_pointer (&f->work);

  for (guint i = 0; i < N_REPORTS; i++)
    tether_work_report_progress (work, g_variant_new_uint32 (i));
  gate_enter (&f->gate);
  gate_wait_open (&f->gate);
  tether_work_return_boolean (work, TRUE);
  return NULL;
}

static void
hand_off_work (TetherWork *work,
               gpointer    user_data)
{
  Foreign *f = user_data;

  f->work = g_object_ref (work);
  g_thread_unref (g_thread_new ("reporter", foreign_reporter, f));
}

static void
test_progress_foreign_thread (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *manager = started ("progress-foreign", NULL);
  TetherFuture *future;
  Seen seen = { 0 };
  Foreign f = { 0 };
  Gate go;

  g_main_context_push_thread_default (context);
  gate_init (&f.gate);
  gate_init (&go);
  g_object_unref (tether_loop_manager_submit (manager, NULL, block_work, &go, NULL, NULL, NULL));
  future = tether_loop_manager_submit (manager, NULL, hand_off_work, &f, NULL, NULL, NULL);
  g_signal_connect (future, "progress", G_CALLBACK (on_progress), &seen);
  g_signal_connect (future, "notify::status", G_CALLBACK (on_status), &seen);
  gate_open (&go);

  iterate_until (context, saw_last, &seen);
  g_assert_cmpuint (seen.n_deliveries, <, N_REPORTS / 10);
  gate_open (&f.gate);
  iterate_until (context, future_done, future);
  while (!seen.status_seen)
    g_main_context_iteration (context, TRUE);
  g_assert_false (seen.after_outcome);
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);

  g_object_unref (future);
  g_main_context_pop_thread_default (context);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_finalize_object (manager);
  gate_clear (&f.gate);
  gate_clear (&go);
}

/* report_fraction(): a "(ds)" variant, clamped, "" for no message. A
 * thread that runs no loop gets no signal but reads dup_progress(). */
static void
fraction_work (TetherWork *work,
               gpointer    user_data)
{
  tether_work_report_fraction (work, 0.25, "a quarter");
  tether_work_report_fraction (work, 7.0, NULL);
  tether_work_return_boolean (work, TRUE);
}

static void
nan_work (TetherWork *work,
          gpointer    user_data)
{
  tether_work_report_fraction (work, -1.0, "below");
  tether_work_return_boolean (work, TRUE);
}

static void
test_progress_fraction (void)
{
  TetherLoopManager *manager = started ("progress-fraction", NULL);
  TetherFuture *future;
  g_autoptr(GVariant) progress = NULL;
  const char *message;
  double fraction;

  watchdog_arm (WATCHDOG_SECONDS, "report_fraction() work");
  future = tether_loop_manager_submit (manager, NULL, fraction_work, NULL, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  progress = tether_future_dup_progress (future);
  g_assert_true (g_variant_is_of_type (progress, G_VARIANT_TYPE ("(ds)")));
  g_variant_get (progress, "(d&s)", &fraction, &message);
  g_assert_cmpfloat (fraction, ==, 1.0);
  g_assert_cmpstr (message, ==, "");
  g_clear_pointer (&progress, g_variant_unref);
  g_object_unref (future);

  future = tether_loop_manager_submit (manager, NULL, nan_work, NULL, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  progress = tether_future_dup_progress (future);
  g_variant_get (progress, "(d&s)", &fraction, &message);
  g_assert_cmpfloat (fraction, ==, 0.0);
  g_assert_cmpstr (message, ==, "below");
  g_object_unref (future);
  watchdog_disarm ();

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_finalize_object (manager);
}

/* Work whose future is already gone, or that was submitted with
 * submit_async() (no future): reports go nowhere, harmlessly. Racing the
 * last unref of the future against reports. */
static void
on_submitted (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_assert_true (tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result, NULL,
                                                    NULL));
  g_atomic_int_set ((int *) user_data, 1);
}

static void
test_progress_no_future (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *manager = started ("progress-nofuture", NULL);
  guint n = iterations (200, 2000);
  int submitted = 0;
  Seen seen = { 0 };

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < n; i++)
    {
      TetherFuture *future;

      future = tether_loop_manager_submit (manager, NULL, report_work, NULL, NULL, NULL, NULL);
      g_signal_connect (future, "progress", G_CALLBACK (on_progress), &seen);
      g_object_unref (future);
    }
  tether_loop_manager_submit_async (manager, NULL, report_work, NULL, NULL, G_PRIORITY_DEFAULT, NULL, on_submitted,
                                    &submitted);
  watchdog_arm (WATCHDOG_SECONDS, "work reporting to no future");
  while (!g_atomic_int_get (&submitted))
    g_main_context_iteration (context, TRUE);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  /* Deliveries already queued for futures now gone run harmlessly. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_assert_finalize_object (manager);
}

/* A submitter that runs no loop names a context that hears progress. */
static void
test_progress_context (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *manager = started ("progress-context", NULL);
  TetherFuture *future;
  Seen seen = { 0 };
  Gate gate, go;

  gate_init (&gate);
  gate_init (&go);
  g_object_unref (tether_loop_manager_submit (manager, NULL, block_work, &go, NULL, NULL, NULL));
  /* Submitted from this thread, which runs no context: no progress signal
   * unless a context is named. */
  future = tether_loop_manager_submit (manager, NULL, report_work, &gate, NULL, NULL, NULL);
  g_signal_connect (future, "progress", G_CALLBACK (on_progress), &seen);
  tether_future_set_progress_context (future, context);
  gate_open (&go);

  iterate_until (context, saw_last, &seen);
  g_assert_cmpuint (seen.n_deliveries, <, N_REPORTS / 10);
  gate_open (&gate);
  watchdog_arm (WATCHDOG_SECONDS, "a future that reported");
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  watchdog_disarm ();
  while (g_main_context_iteration (context, FALSE))
    ;
  g_assert_cmpuint (seen.last, ==, N_REPORTS - 1);

  g_object_unref (future);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_finalize_object (manager);
  gate_clear (&gate);
  gate_clear (&go);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Progress/coalesced", test_progress_coalesced);
  g_test_add_func ("/Tether/Progress/coalesced-live", test_progress_coalesced_live);
  g_test_add_func ("/Tether/Progress/never-after-outcome", test_progress_never_after_outcome);
  g_test_add_func ("/Tether/Progress/foreign-thread", test_progress_foreign_thread);
  g_test_add_func ("/Tether/Progress/fraction", test_progress_fraction);
  g_test_add_func ("/Tether/Progress/no-future", test_progress_no_future);
  g_test_add_func ("/Tether/Progress/context", test_progress_context);

  return test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Promises and combinators: TetherPromise, Future.all/any/first and the
 * then/catch/finally continuations. Racy cases loop; every wait has a
 * deadline. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <tether.h>

#include "test-util.h"

#define WATCHDOG (30 * G_USEC_PER_SEC)

static guint
iterations (guint quick)
{
  if (g_getenv ("TETHER_TEST_VALGRIND") != NULL)
    return MAX (quick / 50, 2);
  return g_test_thorough () ? quick * 10 : quick;
}

/* Waits for @future under the watchdog; returns its status. */
static TetherFutureStatus
settle (TetherFuture *future)
{
  g_autoptr(GError) error = NULL;

  if (!tether_future_wait (future, WATCHDOG, NULL, &error))
    g_assert_false (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT));
  return tether_future_get_status (future);
}

/* Runs @context until @flag is set, under the watchdog. */
static void
iterate_until (GMainContext *context,
               gboolean     *flag)
{
  gint64 deadline = g_get_monotonic_time () + WATCHDOG;

  while (!g_atomic_int_get (flag))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (context, FALSE);
      g_usleep (100);
    }
}

/* Promises. */

static gpointer
resolve_later (gpointer data)
{
  tether_promise_resolve_int (data, 42);
  return NULL;
}

static void
test_promise_resolve (void)
{
  g_autoptr(TetherPromise) promise = tether_promise_new ();
  g_autoptr(TetherFuture) future = g_object_ref (tether_promise_get_future (promise));
  g_autoptr(GError) error = NULL;
  GThread *thread;

  g_assert_false (tether_future_is_done (future));
  g_assert_false (tether_future_is_running (future));
  thread = g_thread_new ("resolver", resolve_later, promise);
  g_assert_true (tether_future_wait (future, WATCHDOG, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tether_future_get_int (future, &error), ==, 42);
  g_thread_join (thread);
}

static void
test_promise_values (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) object = g_object_new (G_TYPE_OBJECT, NULL);
  g_autofree char *string = NULL;
  g_autoptr(GObject) object_back = NULL;
  g_autoptr(GVariant) variant = NULL;
  TetherPromise *p[7];

  for (guint i = 0; i < G_N_ELEMENTS (p); i++)
    p[i] = tether_promise_new ();
  tether_promise_resolve_boolean (p[0], TRUE);
  tether_promise_resolve_int64 (p[1], G_GINT64_CONSTANT (1) << 40);
  tether_promise_resolve_double (p[2], 2.5);
  tether_promise_resolve_string (p[3], "text");
  tether_promise_resolve_object (p[4], object);
  tether_promise_resolve_variant (p[5], g_variant_new_int32 (7));
  tether_promise_resolve_pointer (p[6], g_strdup ("owned"), g_free);

  g_assert_true (tether_future_get_boolean (tether_promise_get_future (p[0]), &error));
  g_assert_cmpint (tether_future_get_int64 (tether_promise_get_future (p[1]), &error), ==,
                   G_GINT64_CONSTANT (1) << 40);
  g_assert_cmpfloat (tether_future_get_double (tether_promise_get_future (p[2]), &error), ==, 2.5);
  string = tether_future_dup_string (tether_promise_get_future (p[3]), &error);
  g_assert_cmpstr (string, ==, "text");
  object_back = tether_future_dup_object (tether_promise_get_future (p[4]), &error);
  g_assert_true (object_back == object);
  variant = tether_future_dup_variant (tether_promise_get_future (p[5]), &error);
  g_assert_cmpint (g_variant_get_int32 (variant), ==, 7);
  g_assert_cmpstr (tether_future_get_pointer (tether_promise_get_future (p[6]), &error), ==, "owned");
  g_assert_no_error (error);
  /* The wrong getter is a run-time error, as for work. */
  g_assert_cmpint (tether_future_get_int (tether_promise_get_future (p[3]), &error), ==, 0);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_TYPE);

  for (guint i = 0; i < G_N_ELEMENTS (p); i++)
    g_assert_finalize_object (p[i]);
}

static void
test_promise_reject (void)
{
  g_autoptr(TetherPromise) promise = tether_promise_new ();
  TetherFuture *future = tether_promise_get_future (promise);
  g_autoptr(GError) error = NULL;

  tether_promise_reject (promise, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "gone"));
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_FAILED);
  g_assert_false (tether_future_wait (future, 0, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
test_promise_twice (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(TetherPromise) promise = tether_promise_new ();
      g_autoptr(GError) error = NULL;

      tether_promise_resolve_int (promise, 1);
      g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL, "*resolved or rejected twice*");
      tether_promise_resolve_int (promise, 2);
      g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL, "*resolved or rejected twice*");
      tether_promise_reject (promise, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "x"));
      g_test_assert_expected_messages ();
      g_assert_cmpint (tether_future_get_int (tether_promise_get_future (promise), &error), ==, 1);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* Many threads resolve one promise at once: exactly one value wins, and
 * every other call is the programmer error it is. */
typedef struct
{
  TetherPromise *promise;
  int            value;
  Gate          *start;
} Racer;

static int twice_count;

static void
count_twice (const char     *log_domain,
             GLogLevelFlags  log_level,
             const char     *message,
             gpointer        user_data)
{
  g_assert_nonnull (strstr (message, "resolved or rejected twice"));
  g_atomic_int_inc (&twice_count);
}

static gpointer
racer_func (gpointer data)
{
  Racer *racer = data;

  gate_wait_open (racer->start);
  tether_promise_resolve_int (racer->promise, racer->value);
  return NULL;
}

static void
test_promise_race (void)
{
  guint rounds = iterations (200);
  /* Criticals from several threads at once: counted by a handler of the
   * domain, not fatal for the while. */
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  guint handler = g_log_set_handler ("Tether", G_LOG_LEVEL_CRITICAL, count_twice, NULL);

  for (guint r = 0; r < rounds; r++)
    {
      g_autoptr(TetherPromise) promise = tether_promise_new ();
      g_autoptr(GError) error = NULL;
      Racer racers[4];
      GThread *threads[4];
      Gate start;
      int value;

      gate_init (&start);
      g_atomic_int_set (&twice_count, 0);
      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        {
          racers[i] = (Racer) { promise, (int) i + 1, &start };
          threads[i] = g_thread_new ("racer", racer_func, &racers[i]);
        }
      gate_open (&start);
      for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
        g_thread_join (threads[i]);
      value = tether_future_get_int (tether_promise_get_future (promise), &error);
      g_assert_no_error (error);
      g_assert_cmpint (value, >=, 1);
      g_assert_cmpint (value, <=, 4);
      g_assert_cmpint (g_atomic_int_get (&twice_count), ==, 3);
      gate_clear (&start);
    }
  g_log_remove_handler ("Tether", handler);
  g_log_set_always_fatal (fatal);
}

typedef struct
{
  TetherFuture *future;
  gboolean      returned;   /* atomic */
  GError       *error;
} Waiter;

static gpointer
waiter_func (gpointer data)
{
  Waiter *waiter = data;

  tether_future_wait (waiter->future, WATCHDOG, NULL, &waiter->error);
  g_atomic_int_set (&waiter->returned, TRUE);
  return NULL;
}

static void
test_promise_abandoned (void)
{
  TetherPromise *promise = tether_promise_new ();
  g_autoptr(TetherFuture) future = g_object_ref (tether_promise_get_future (promise));
  Waiter waiter = { future, FALSE, NULL };
  GThread *thread = g_thread_new ("waiter", waiter_func, &waiter);

  /* Whether or not the waiter is asleep yet, the last unref ends it. */
  g_assert_finalize_object (promise);
  g_thread_join (thread);
  g_assert_true (waiter.returned);
  g_assert_error (waiter.error, TETHER_ERROR, TETHER_ERROR_ABANDONED);
  g_clear_error (&waiter.error);
}

static void
on_cancelled_flag (GCancellable *cancellable,
                   gpointer      data)
{
  g_atomic_int_set ((gboolean *) data, TRUE);
}

static void
test_promise_consumer_cancels (void)
{
  g_autoptr(TetherPromise) promise = tether_promise_new ();
  TetherFuture *future = tether_promise_get_future (promise);
  gboolean fired = FALSE;

  g_cancellable_connect (tether_promise_get_cancellable (promise), G_CALLBACK (on_cancelled_flag),
                         &fired, NULL);
  tether_future_cancel (future);
  g_assert_true (fired);
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_CANCELLED);
  /* The producer did not know: its resolve is ignored, not an error. */
  tether_promise_resolve_int (promise, 5);
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_CANCELLED);
}

static void
on_waited (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_future_wait_finish (TETHER_FUTURE (source), result, &error));
  g_atomic_int_set ((gboolean *) data, TRUE);
}

/* A wait_async() callback never runs inside the resolve. */
static void
test_promise_wait_async (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherPromise) promise = tether_promise_new ();
  gboolean called = FALSE;

  g_main_context_push_thread_default (context);
  tether_future_wait_async (tether_promise_get_future (promise), NULL, on_waited, &called);
  tether_promise_resolve_int (promise, 1);
  g_assert_false (called);
  iterate_until (context, &called);
  g_main_context_pop_thread_default (context);
}

/* Combinators. */

static TetherFuture *
resolved_int (int value)
{
  g_autoptr(TetherPromise) promise = tether_promise_new ();

  tether_promise_resolve_int (promise, value);
  return g_object_ref (tether_promise_get_future (promise));
}

static void
int_work (TetherWork *work,
          gpointer    data)
{
  tether_work_return_int (work, GPOINTER_TO_INT (data));
}

static void
test_all_across_managers (void)
{
  g_autoptr(TetherLoopManager) a = started ("comb-a", NULL);
  g_autoptr(TetherLoopManager) b = started ("comb-b", NULL);
  g_autoptr(TetherPromise) promise = tether_promise_new ();
  g_autoptr(GError) error = NULL;
  TetherFuture *inputs[3];
  g_autoptr(TetherFuture) all = NULL;

  inputs[0] = tether_loop_manager_submit (a, NULL, int_work, GINT_TO_POINTER (1), NULL, NULL, NULL);
  inputs[1] = tether_loop_manager_submit (b, NULL, int_work, GINT_TO_POINTER (2), NULL, NULL, NULL);
  inputs[2] = g_object_ref (tether_promise_get_future (promise));
  all = tether_future_all (inputs, 3, TETHER_COMBINE_FLAGS_NONE);
  tether_promise_resolve_int (promise, 3);
  g_assert_cmpint (settle (all), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_true (tether_future_get_boolean (all, &error));
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpint (tether_future_get_int (inputs[i], &error), ==, (int) i + 1);
      g_object_unref (inputs[i]);
    }
}

static void
test_all_first_error_cancels_rest (void)
{
  g_autoptr(GError) error = NULL;
  TetherFuture *inputs[2];

  for (guint round = 0; round < 2; round++)
    {
      gboolean cancel_rest = round == 0;
      g_autoptr(TetherPromise) slow = tether_promise_new ();
      g_autoptr(TetherPromise) bad = tether_promise_new ();
      g_autoptr(TetherFuture) all = NULL;

      inputs[0] = tether_promise_get_future (slow);
      inputs[1] = tether_promise_get_future (bad);
      all = tether_future_all (inputs, 2, cancel_rest ? TETHER_COMBINE_FLAGS_CANCEL_REST
                                                      : TETHER_COMBINE_FLAGS_NONE);
      tether_promise_reject (bad, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                                                       "no"));
      g_assert_cmpint (settle (all), ==, TETHER_FUTURE_STATUS_FAILED);
      g_assert_false (tether_future_wait (all, 0, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      g_clear_error (&error);
      g_assert_cmpint (tether_future_get_status (inputs[0]), ==,
                       cancel_rest ? TETHER_FUTURE_STATUS_CANCELLED : TETHER_FUTURE_STATUS_PENDING);
    }
}

static void
test_propagate_cancel (void)
{
  for (guint round = 0; round < 2; round++)
    {
      gboolean propagate = round == 0;
      g_autoptr(TetherPromise) p1 = tether_promise_new ();
      g_autoptr(TetherPromise) p2 = tether_promise_new ();
      TetherFuture *inputs[2] = { tether_promise_get_future (p1), tether_promise_get_future (p2) };
      g_autoptr(TetherFuture) any = tether_future_any (inputs, 2,
                                                        propagate
                                                        ? TETHER_COMBINE_FLAGS_PROPAGATE_CANCEL
                                                        : TETHER_COMBINE_FLAGS_NONE);

      tether_future_cancel (any);
      g_assert_cmpint (tether_future_get_status (any), ==, TETHER_FUTURE_STATUS_CANCELLED);
      for (guint i = 0; i < 2; i++)
        g_assert_cmpint (tether_future_get_status (inputs[i]), ==,
                         propagate ? TETHER_FUTURE_STATUS_CANCELLED : TETHER_FUTURE_STATUS_PENDING);
    }
}

static void
test_any (void)
{
  g_autoptr(TetherPromise) p1 = tether_promise_new ();
  g_autoptr(TetherPromise) p2 = tether_promise_new ();
  g_autoptr(TetherPromise) p3 = tether_promise_new ();
  TetherFuture *inputs[3] = { tether_promise_get_future (p1), tether_promise_get_future (p2),
                              tether_promise_get_future (p3) };
  g_autoptr(TetherFuture) any = tether_future_any (inputs, 3, TETHER_COMBINE_FLAGS_NONE);
  g_autoptr(TetherFuture) none = NULL;
  g_autoptr(GError) error = NULL;

  tether_promise_reject (p1, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "one"));
  g_assert_false (tether_future_is_done (any));
  tether_promise_resolve_string (p3, "three");
  tether_promise_resolve_string (p2, "two");
  g_assert_cmpint (settle (any), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  {
    g_autofree char *value = tether_future_dup_string (any, &error);

    g_assert_cmpstr (value, ==, "three");
  }

  /* Every input failed: one error naming each, each input keeping its own. */
  {
    g_autoptr(TetherPromise) q1 = tether_promise_new ();
    g_autoptr(TetherPromise) q2 = tether_promise_new ();
    TetherFuture *failing[2] = { tether_promise_get_future (q1), tether_promise_get_future (q2) };

    none = tether_future_any (failing, 2, TETHER_COMBINE_FLAGS_NONE);
    tether_promise_reject (q1, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "alpha"));
    tether_future_cancel (failing[1]);
    g_assert_false (tether_future_wait (none, WATCHDOG, NULL, &error) && FALSE);
    g_clear_error (&error);
    g_assert_false (tether_future_wait (none, 0, NULL, &error));
    g_assert_error (error, TETHER_ERROR, TETHER_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "alpha"));
    g_assert_nonnull (strstr (error->message, "cancelled"));
  }
}

static void
test_first_and_empty (void)
{
  g_autoptr(TetherPromise) p1 = tether_promise_new ();
  g_autoptr(TetherPromise) p2 = tether_promise_new ();
  TetherFuture *inputs[2] = { tether_promise_get_future (p1), tether_promise_get_future (p2) };
  g_autoptr(TetherFuture) first = tether_future_first (inputs, 2, TETHER_COMBINE_FLAGS_CANCEL_REST);
  g_autoptr(TetherFuture) all = tether_future_all (NULL, 0, TETHER_COMBINE_FLAGS_NONE);
  g_autoptr(TetherFuture) any = tether_future_any (NULL, 0, TETHER_COMBINE_FLAGS_NONE);
  g_autoptr(GError) error = NULL;

  tether_promise_reject (p2, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_BUSY, "busy"));
  g_assert_false (tether_future_wait (first, 0, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_cmpint (tether_future_get_status (inputs[0]), ==, TETHER_FUTURE_STATUS_CANCELLED);
  g_assert_cmpint (tether_future_get_status (all), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_cmpint (tether_future_get_status (any), ==, TETHER_FUTURE_STATUS_FAILED);
}

/* Inputs ending while the combinator is being built, on other threads:
 * each combined future ends exactly once, the right way. */
typedef struct
{
  TetherPromise **promises;
  guint           n;
  Gate           *start;
} Resolver;

static gpointer
resolver_func (gpointer data)
{
  Resolver *resolver = data;

  gate_wait_open (resolver->start);
  for (guint i = 0; i < resolver->n; i++)
    tether_promise_resolve_int (resolver->promises[i], (int) i);
  return NULL;
}

static void
test_race_with_building (void)
{
  guint rounds = iterations (300);

  for (guint r = 0; r < rounds; r++)
    {
      TetherPromise *promises[8];
      TetherFuture *inputs[8];
      g_autoptr(TetherFuture) all = NULL;
      g_autoptr(TetherFuture) any = NULL;
      g_autoptr(TetherFuture) first = NULL;
      Resolver resolver = { promises, 8, NULL };
      Gate start;
      GThread *thread;

      gate_init (&start);
      resolver.start = &start;
      for (guint i = 0; i < 8; i++)
        {
          promises[i] = tether_promise_new ();
          inputs[i] = tether_promise_get_future (promises[i]);
        }
      thread = g_thread_new ("resolver", resolver_func, &resolver);
      gate_open (&start);
      all = tether_future_all (inputs, 8, TETHER_COMBINE_FLAGS_NONE);
      any = tether_future_any (inputs, 8, TETHER_COMBINE_FLAGS_NONE);
      first = tether_future_first (inputs, 8, TETHER_COMBINE_FLAGS_NONE);
      g_thread_join (thread);

      g_assert_cmpint (settle (all), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
      g_assert_cmpint (settle (any), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
      g_assert_cmpint (settle (first), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
      for (guint i = 0; i < 8; i++)
        g_object_unref (promises[i]);
      gate_clear (&start);
    }
}

/* Continuations. */

typedef struct
{
  gboolean     creating;   /* set around the creating call */
  gboolean     ran;        /* atomic */
  gboolean     ran_inside; /* ran while creating */
  TetherLoopManager *on_manager;
} Probe;

static void
double_it (TetherFuture  *input,
           TetherPromise *output,
           gpointer       data)
{
  Probe *probe = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) current = tether_loop_manager_ref_current ();

  probe->ran_inside = probe->creating;
  probe->on_manager = current;
  g_atomic_int_set (&probe->ran, TRUE);
  /* Last: once the output is resolved, the test may return, and @probe
   * (on its stack) is gone. */
  tether_promise_resolve_int (output, 2 * tether_future_get_int (input, &error));
}

static void
test_then_on_manager (void)
{
  g_autoptr(TetherLoopManager) manager = started ("then-manager", NULL);
  g_autoptr(TetherFuture) input = resolved_int (21);
  g_autoptr(TetherFuture) output = NULL;
  g_autoptr(GError) error = NULL;
  Probe probe = { 0 };

  /* On the manager's thread, so never inside the call on this one (which
   * then-in-context checks): it may well run before this thread has
   * returned from tether_future_then(). */
  output = tether_future_then (input, manager, NULL, double_it, &probe, NULL);
  g_assert_cmpint (settle (output), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_cmpint (tether_future_get_int (output, &error), ==, 42);
  g_assert_true (probe.on_manager == manager);
}

static void
test_then_in_context (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherFuture) input = resolved_int (5);
  g_autoptr(TetherFuture) output = NULL;
  g_autoptr(GError) error = NULL;
  Probe probe = { 0 };

  g_main_context_push_thread_default (context);
  probe.creating = TRUE;
  output = tether_future_then (input, NULL, NULL, double_it, &probe, NULL);
  probe.creating = FALSE;
  /* Not inside the call: only when the context runs. */
  g_assert_false (g_atomic_int_get (&probe.ran));
  iterate_until (context, &probe.ran);
  g_assert_cmpint (tether_future_get_int (output, &error), ==, 10);
  g_main_context_pop_thread_default (context);
}

static void
recover (TetherFuture  *input,
         TetherPromise *output,
         gpointer       data)
{
  g_autoptr(GError) error = tether_future_dup_error (input);

  tether_promise_resolve_string (output, error->message);
}

static void
pass_on (TetherFuture  *input,
         TetherPromise *output,
         gpointer       data)
{
  g_atomic_int_inc ((int *) data);
  tether_promise_complete_from (output, input);
}

static void
test_catch_and_finally (void)
{
  g_autoptr(TetherLoopManager) manager = started ("catch-finally", NULL);
  g_autoptr(TetherPromise) failing = tether_promise_new ();
  g_autoptr(TetherFuture) caught = NULL;
  g_autoptr(TetherFuture) skipped = NULL;
  g_autoptr(TetherFuture) finished = NULL;
  g_autoptr(TetherFuture) ok = resolved_int (1);
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  int finally_ran = 0;

  caught = tether_future_catch (tether_promise_get_future (failing), manager, NULL, recover, NULL,
                                NULL);
  finished = tether_future_finally (tether_promise_get_future (failing), manager, NULL, pass_on,
                                    &finally_ran, NULL);
  skipped = tether_future_catch (ok, manager, NULL, recover, NULL, NULL);
  tether_promise_reject (failing, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "boom"));

  g_assert_cmpint (settle (caught), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  message = tether_future_dup_string (caught, &error);
  g_assert_cmpstr (message, ==, "boom");
  g_assert_cmpint (settle (finished), ==, TETHER_FUTURE_STATUS_FAILED);
  g_assert_cmpint (finally_ran, ==, 1);
  /* catch() passes a success on with its value, without running. */
  g_assert_cmpint (settle (skipped), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_cmpint (tether_future_get_int (skipped, &error), ==, 1);
  g_assert_no_error (error);
}

static void
never (TetherFuture  *input,
       TetherPromise *output,
       gpointer       data)
{
  g_assert_not_reached ();
}

static void
test_then_skips_failure_and_stopped_manager (void)
{
  g_autoptr(TetherLoopManager) stopped = tether_loop_manager_new ("then-stopped");
  g_autoptr(TetherPromise) failing = tether_promise_new ();
  g_autoptr(TetherFuture) skipped = NULL;
  g_autoptr(TetherFuture) refused = NULL;
  g_autoptr(TetherFuture) ok = resolved_int (1);
  g_autoptr(GError) error = NULL;

  skipped = tether_future_then (tether_promise_get_future (failing), stopped, NULL, never, NULL,
                                NULL);
  refused = tether_future_then (ok, stopped, NULL, never, NULL, NULL);
  tether_promise_reject (failing, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "x"));
  /* The failure passes on: the manager is not even asked. */
  g_assert_cmpint (settle (refused), ==, TETHER_FUTURE_STATUS_FAILED);
  g_assert_false (tether_future_wait (refused, 0, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&error);
  g_assert_cmpint (settle (skipped), ==, TETHER_FUTURE_STATUS_FAILED);
}

/* submit_gio(). */

static void
start_load (GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             callback_data,
            gpointer             user_data)
{
  g_file_load_contents_async (user_data, cancellable, callback, callback_data);
}

static void
finish_load (GObject      *source,
             GAsyncResult *result,
             TetherWork   *work,
             gpointer      user_data)
{
  g_autofree char *contents = NULL;
  GError *error = NULL;

  /* On the manager's thread, in its context. */
  g_assert_nonnull (tether_loop_manager_ref_current ());
  g_object_unref (tether_loop_manager_ref_current ());
  if (g_file_load_contents_finish (G_FILE (source), result, &contents, NULL, NULL, &error))
    tether_work_return_string (work, contents);
  else
    tether_work_return_error (work, error);
}

static void
finish_nothing (GObject      *source,
                GAsyncResult *result,
                TetherWork   *work,
                gpointer      user_data)
{
}

static void
test_submit_gio (void)
{
  g_autoptr(TetherLoopManager) manager = started ("gio", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(TetherFuture) loaded = NULL;
  g_autoptr(TetherFuture) missing = NULL;
  g_autoptr(TetherFuture) abandoned = NULL;
  int fd = g_file_open_tmp ("tether-gio-XXXXXX", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, "hello", -1, &error));

  loaded = tether_loop_manager_submit_gio (manager, NULL, start_load, finish_load,
                                           g_file_new_for_path (path), g_object_unref, NULL,
                                           &error);
  missing = tether_loop_manager_submit_gio (manager, NULL, start_load, finish_load,
                                            g_file_new_for_path ("/nonexistent/tether"),
                                            g_object_unref, NULL, &error);
  abandoned = tether_loop_manager_submit_gio (manager, NULL, start_load, finish_nothing,
                                              g_file_new_for_path (path), g_object_unref, NULL,
                                              &error);
  g_assert_no_error (error);
  g_assert_cmpint (settle (loaded), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  contents = tether_future_dup_string (loaded, &error);
  g_assert_cmpstr (contents, ==, "hello");
  g_assert_cmpint (settle (missing), ==, TETHER_FUTURE_STATUS_FAILED);
  g_assert_false (tether_future_wait (missing, 0, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (settle (abandoned), ==, TETHER_FUTURE_STATUS_FAILED);
  g_assert_false (tether_future_wait (abandoned, 0, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ABANDONED);
  g_unlink (path);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Promise/resolve", test_promise_resolve);
  g_test_add_func ("/Tether/Promise/values", test_promise_values);
  g_test_add_func ("/Tether/Promise/reject", test_promise_reject);
  g_test_add_func ("/Tether/Promise/twice", test_promise_twice);
  g_test_add_func ("/Tether/Promise/race", test_promise_race);
  g_test_add_func ("/Tether/Promise/abandoned", test_promise_abandoned);
  g_test_add_func ("/Tether/Promise/consumer-cancels", test_promise_consumer_cancels);
  g_test_add_func ("/Tether/Promise/wait-async", test_promise_wait_async);
  g_test_add_func ("/Tether/Combine/all-across-managers", test_all_across_managers);
  g_test_add_func ("/Tether/Combine/all-first-error", test_all_first_error_cancels_rest);
  g_test_add_func ("/Tether/Combine/propagate-cancel", test_propagate_cancel);
  g_test_add_func ("/Tether/Combine/any", test_any);
  g_test_add_func ("/Tether/Combine/first-and-empty", test_first_and_empty);
  g_test_add_func ("/Tether/Combine/race-with-building", test_race_with_building);
  g_test_add_func ("/Tether/Continue/then-on-manager", test_then_on_manager);
  g_test_add_func ("/Tether/Continue/then-in-context", test_then_in_context);
  g_test_add_func ("/Tether/Continue/catch-and-finally", test_catch_and_finally);
  g_test_add_func ("/Tether/Continue/then-skips-failure", test_then_skips_failure_and_stopped_manager);
  g_test_add_func ("/Tether/Gio/submit-gio", test_submit_gio);

  return g_test_run ();
}

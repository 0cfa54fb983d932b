/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the operating system does to managers: descriptor limits, fork(). */
#include "config.h"

#include <tether.h>

#ifdef G_OS_UNIX
#include <sys/resource.h>
#endif

#include "test-util.h"

static void
return_one (TetherWork *work,
            gpointer    user_data)
{
  tether_work_return_int (work, 1);
}

static void
assert_runs_work (TetherLoopManager *manager)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = tether_loop_manager_submit (manager, NULL, NULL, return_one,
                                                               NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, 60 * G_USEC_PER_SEC, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tether_future_get_int (future), ==, 1);
}

/* The context handed out is the manager's for its whole life. */
static void
test_context_kept_once_handed_out (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("kept");
  GMainContext *context = tether_loop_manager_get_context (manager);
  GMainContext *from_property = NULL;

  g_assert_nonnull (context);
  for (int i = 0; i < 3; i++)
    {
      g_assert_true (tether_loop_manager_start (manager, NULL, NULL));
      g_assert_true (tether_loop_manager_get_context (manager) == context);
      assert_runs_work (manager);
      tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
      g_assert_true (tether_loop_manager_get_context (manager) == context);
    }
  g_object_get (manager, "context", &from_property, NULL);
  g_assert_true (from_property == context);
  g_main_context_unref (from_property);
}

#ifdef G_OS_UNIX
#define DESCRIPTOR_LIMIT 64
#define MANY_MANAGERS 5000

/* Starts managers from @from on until one fails; returns how many ran. */
static guint
start_until_refused (GPtrArray *managers,
                     guint      from)
{
  g_autoptr(GError) error = NULL;
  guint i;

  for (i = from; i < managers->len; i++)
    if (!tether_loop_manager_start (g_ptr_array_index (managers, i), NULL, &error))
      break;

  g_assert_cmpuint (i, <, managers->len);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES);
  g_assert_nonnull (strstr (error->message, "RLIMIT_NOFILE"));
  g_assert_false (tether_loop_manager_is_running (g_ptr_array_index (managers, i)));
  return i - from;
}

static void
test_descriptors_run_out (void)
{
  g_autoptr(GPtrArray) managers = NULL;
  g_autoptr(GError) error = NULL;
  struct rlimit limit = { DESCRIPTOR_LIMIT, DESCRIPTOR_LIMIT };
  guint n_started, n_again;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);

  /* A manager that never started holds no descriptor. */
  managers = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < MANY_MANAGERS; i++)
    g_ptr_array_add (managers, tether_loop_manager_new (NULL));

  n_started = start_until_refused (managers, 0);
  g_test_message ("%u managers started under a limit of %d descriptors", n_started,
                  DESCRIPTOR_LIMIT);
  g_assert_cmpuint (n_started, >, 0);
  g_assert_cmpuint (n_started, <, DESCRIPTOR_LIMIT);

  /* The process goes on: the running managers still work. */
  assert_runs_work (g_ptr_array_index (managers, 0));
  assert_runs_work (g_ptr_array_index (managers, n_started - 1));

  /* Stopped managers give their descriptors back, and as many start again. */
  for (guint i = 0; i < n_started; i++)
    tether_loop_manager_stop (g_ptr_array_index (managers, i), TETHER_STOP_MODE_DRAIN);
  n_again = start_until_refused (managers, n_started);
  g_assert_cmpuint (n_again, ==, n_started);
  assert_runs_work (g_ptr_array_index (managers, n_started));

  for (guint i = n_started; i < 2 * n_started; i++)
    tether_loop_manager_stop (g_ptr_array_index (managers, i), TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_loop_manager_start (g_ptr_array_index (managers, 0), NULL, &error));
  g_assert_no_error (error);
  assert_runs_work (g_ptr_array_index (managers, 0));
}
#endif

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/OS/context-kept-once-handed-out", test_context_kept_once_handed_out);
#ifdef G_OS_UNIX
  g_test_add_func ("/Tether/OS/descriptors-run-out", test_descriptors_run_out);
#endif

  return g_test_run ();
}

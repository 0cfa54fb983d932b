/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <tether.h>

#include "test-util.h"

/* Misuse of the C API: each case ends in a g_return_if_fail()-style
 * critical or a TETHER_ERROR, never a crash, a hang or a leak. The
 * precondition checks are one table (MISUSE_CASES), a row each, each row
 * run in a subprocess; the cases that need more than one call follow it.
 * Waits are bounded so that a regression fails instead of hanging the
 * suite; the bounds are generous for valgrind. */

#define TIMEOUT_USEC (60 * G_USEC_PER_SEC)
#define SUBPROCESS_TIMEOUT_USEC (60 * G_USEC_PER_SEC)
#define HOUR_USEC (G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC)

/* Helpers (Gate, started () and block_work () come from test-util.c; the
 * waits here are bounded). */

static void
gate_wait_entered_within (Gate *gate)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_USEC;

  g_mutex_lock (&gate->mutex);
  while (!gate->entered)
    g_assert_true (g_cond_wait_until (&gate->cond, &gate->mutex, deadline) || gate->entered);
  g_mutex_unlock (&gate->mutex);
}

/* Says the gate was reached, then waits until the test opens it. */
static void
gate_pass (Gate *gate)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_USEC;

  g_mutex_lock (&gate->mutex);
  gate->entered = TRUE;
  g_cond_broadcast (&gate->cond);
  while (!gate->open)
    g_assert_true (g_cond_wait_until (&gate->cond, &gate->mutex, deadline) || gate->open);
  g_mutex_unlock (&gate->mutex);
}

/* Holds the manager's thread until the test opens the gate. */
static void
gate_work (TetherWork *work,
           gpointer    user_data)
{
  gate_pass (user_data);
  tether_work_return_boolean (work, TRUE);
}

static void
int_work (TetherWork *work,
          gpointer    user_data)
{
  tether_work_return_int (work, GPOINTER_TO_INT (user_data));
}

static void
seven_work (TetherWork *work,
            gpointer    user_data)
{
  tether_work_return_int (work, 7);
}

static void
string_work (TetherWork *work,
             gpointer    user_data)
{
  tether_work_return_string (work, "text");
}

static void
no_value_work (TetherWork *work,
               gpointer    user_data)
{
  tether_work_return_value (work, NULL);
}

static void
fail_work (TetherWork *work,
           gpointer    user_data)
{
  tether_work_return_new_error (work, TETHER_ERROR, TETHER_ERROR_FAILED, "failed on purpose");
}

static void
count_post (gpointer user_data)
{
  g_atomic_int_inc ((int *) user_data);
}

static void
count_work (TetherWork *work,
            gpointer    user_data)
{
  tether_work_return_int (work, g_atomic_int_add ((int *) user_data, 1) + 1);
}

static void
set_flag (gpointer data)
{
  g_atomic_int_set ((int *) data, 1);
}

static void
weak_notify_flag (gpointer  data,
                  GObject  *where_the_object_was)
{
  set_flag (data);
}

static gboolean
never_dispatched (gpointer user_data)
{
  g_assert_not_reached ();
  return G_SOURCE_CONTINUE;
}

/* Sets @flag once the manager's GMainContext is freed, that is once the
 * last reference to its core is gone: its thread has left the loop and
 * dropped its own reference. */
static void
watch_context (TetherLoopManager *manager,
               int               *flag)
{
  GSource *source = g_timeout_source_new_seconds (3600);

  g_source_set_callback (source, never_dispatched, flag, set_flag);
  g_source_set_static_name (source, "[test] context watch");
  g_source_attach (source, tether_loop_manager_get_context (manager));
  g_source_unref (source);
}

static void
wait_until_set (int *flag)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_USEC;

  while (!g_atomic_int_get (flag))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (1000);
    }
}

static void
wait_until_count (int *counter,
                  int  count)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_USEC;

  while (g_atomic_int_get (counter) < count)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (1000);
    }
  g_assert_cmpint (g_atomic_int_get (counter), ==, count);
}

/* Iterates @context until @flag is set, within the bound. */
static void
iterate_until_set (GMainContext *context,
                   int          *flag)
{
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_USEC;

  while (!g_atomic_int_get (flag))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (!g_main_context_iteration (context, FALSE))
        g_usleep (1000);
    }
}

static void
wait_ok (TetherFuture *future)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_future_wait (future, TIMEOUT_USEC, NULL, &error));
  g_assert_no_error (error);
}

/* Precondition checks: one row each in MISUSE_CASES below.
 *
 * A row is (name, path, setup, statement, message): the statement misuses
 * the API once and, where the call returns something, checks what it
 * returns; it runs in a subprocess, on what the setup prepared, and must
 * log exactly @message, a `Tether` critical (a glob, as for
 * g_test_expect_message()). The critical is expected, not fatal: the row
 * goes on past the misuse, so the value returned, the rest of the row and
 * the teardown (stopping the manager, freeing everything) all run too, and
 * must neither crash nor hang nor log anything else. */

/* The message of a g_return_if_fail() in @function on @expr. */
#define ASSERTION(function, expr) function ": assertion '*" expr "*' failed"
#define NOT_A_MANAGER(function) ASSERTION (function, "TETHER_IS_LOOP_MANAGER (self)")
#define NOT_A_FUTURE(function) ASSERTION (function, "TETHER_IS_FUTURE (self)")
#define NOT_A_WORK(function) ASSERTION (function, "TETHER_IS_WORK (self)")
#define ERROR_SET(function) ASSERTION (function, "error == NULL || *error == NULL")
#define RETURNED_TWICE "Work on manager 'misuse' returned twice*"

typedef enum
{
  SETUP_NONE,       /* nothing */
  SETUP_NEW,        /* f->manager: made, not started */
  SETUP_STARTED,    /* f->manager: started */
  SETUP_INT,        /* f->future: succeeded with the int 7 */
  SETUP_STRING,     /* f->future: succeeded with a string */
  SETUP_NOTHING,    /* f->future: succeeded with no value */
  SETUP_FAILED,     /* f->future: failed */
  SETUP_PENDING,    /* f->future: a timer an hour away */
  SETUP_CANCELLED,  /* f->future: that timer, cancelled */
  SETUP_IN_WORK,    /* the row runs as work, f->work, on f->manager's thread */
} Setup;

typedef struct
{
  TetherLoopManager *manager;
  TetherFuture      *future;
  TetherWork        *work;
} Fixture;

/* A GError already set: passing it as a GError ** is the misuse. */
static GError *
preset_error (void)
{
  return g_error_new_literal (TETHER_ERROR, TETHER_ERROR_FAILED, "already set");
}

static gboolean
return_again_later (gpointer user_data)
{
  tether_work_return_int (user_data, 2);
  return G_SOURCE_REMOVE;
}

/* Returns now, and again from a source on the manager's loop once the
 * work function has returned; the stop's drain runs that source. */
static void
return_now_and_later (TetherWork *work)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  tether_work_return_int (work, 1);
  g_source_set_callback (source, return_again_later, g_object_ref (work), g_object_unref);
  g_source_attach (source, g_main_context_get_thread_default ());
}

#define MISUSE_CASES(X)                                                                         \
  X (get_id_null, "manager/get-id-null", SETUP_NONE,                                            \
     g_assert_null (tether_loop_manager_get_id (NULL)),                                         \
     NOT_A_MANAGER ("tether_loop_manager_get_id"))                                              \
  X (dup_task_type_null, "manager/dup-task-type-null", SETUP_NONE,                              \
     g_assert_null (tether_loop_manager_dup_task_type (NULL)),                                  \
     NOT_A_MANAGER ("tether_loop_manager_dup_task_type"))                                       \
  X (is_running_null, "manager/is-running-null", SETUP_NONE,                                    \
     g_assert_false (tether_loop_manager_is_running (NULL)),                                    \
     NOT_A_MANAGER ("tether_loop_manager_is_running"))                                          \
  X (get_context_null, "manager/get-context-null", SETUP_NONE,                                  \
     g_assert_null (tether_loop_manager_get_context (NULL)),                                    \
     NOT_A_MANAGER ("tether_loop_manager_get_context"))                                         \
  X (start_null, "manager/start-null", SETUP_NONE,                                              \
     g_assert_false (tether_loop_manager_start (NULL, NULL, NULL)),                             \
     NOT_A_MANAGER ("tether_loop_manager_start"))                                               \
  X (start_error_set, "manager/start-error-set", SETUP_NEW,                                     \
     { GError *error = preset_error ();                                                         \
       g_assert_false (tether_loop_manager_start (f->manager, NULL, &error));                   \
       g_assert_false (tether_loop_manager_is_running (f->manager));                            \
       g_error_free (error); },                                                                 \
     ERROR_SET ("tether_loop_manager_start"))                                                   \
  X (stop_invalid_mode, "manager/stop-invalid-mode", SETUP_STARTED,                             \
     { tether_loop_manager_stop (f->manager, (TetherStopMode) 7);                               \
       g_assert_true (tether_loop_manager_is_running (f->manager)); },                          \
     ASSERTION ("tether_loop_manager_stop", "mode == TETHER_STOP_MODE_DRAIN"))                  \
  X (submit_null, "manager/submit-null", SETUP_NONE,                                            \
     g_assert_null (tether_loop_manager_submit (NULL, NULL, int_work, NULL, NULL, NULL, NULL)), \
     NOT_A_MANAGER ("tether_loop_manager_submit"))                                              \
  X (submit_not_a_cancellable, "manager/submit-not-a-cancellable", SETUP_STARTED,               \
     g_assert_null (tether_loop_manager_submit (f->manager, NULL,                               \
                                                int_work, NULL, NULL, (GCancellable *) f->manager, NULL)), \
     ASSERTION ("tether_loop_manager_submit", "G_IS_CANCELLABLE (cancellable)"))                \
  X (submit_error_set, "manager/submit-error-set", SETUP_STARTED,                               \
     { GError *error = preset_error ();                                                         \
       g_assert_null (tether_loop_manager_submit (f->manager, NULL, int_work, NULL, NULL, NULL, \
                                                  &error));                                     \
       g_error_free (error); },                                                                 \
     ERROR_SET ("tether_loop_manager_submit"))                                                  \
  X (submit_after_negative_delay, "manager/submit-after-negative-delay", SETUP_STARTED,         \
     g_assert_null (tether_loop_manager_submit_after (f->manager, NULL, -1, int_work,           \
                                                      NULL, NULL, NULL, NULL)),                 \
     ASSERTION ("tether_loop_manager_submit_after", "delay_usec >= 0"))                         \
  X (submit_after_null_func, "manager/submit-after-null-func", SETUP_STARTED,                   \
     g_assert_null (tether_loop_manager_submit_after (f->manager, NULL, 10, NULL, NULL,         \
                                                      NULL, NULL, NULL)),                       \
     ASSERTION ("tether_loop_manager_submit_after", "func != NULL"))                            \
  X (submit_at_null, "manager/submit-at-null", SETUP_NONE,                                      \
     g_assert_null (tether_loop_manager_submit_at (NULL, NULL, 0, int_work, NULL, NULL, NULL,   \
                                                   NULL)),                                      \
     NOT_A_MANAGER ("tether_loop_manager_submit_at"))                                           \
  X (submit_at_null_func, "manager/submit-at-null-func", SETUP_STARTED,                         \
     g_assert_null (tether_loop_manager_submit_at (f->manager, NULL, 0, NULL, NULL, NULL, NULL, \
                                                   NULL)),                                      \
     ASSERTION ("tether_loop_manager_submit_at", "func != NULL"))                               \
  X (submit_async_null, "manager/submit-async-null", SETUP_NONE,                                \
     tether_loop_manager_submit_async (NULL, NULL, int_work, NULL, NULL, G_PRIORITY_DEFAULT, NULL, NULL, NULL),     \
     NOT_A_MANAGER ("tether_loop_manager_submit_async"))                                        \
  X (submit_async_null_func, "manager/submit-async-null-func", SETUP_STARTED,                   \
     tether_loop_manager_submit_async (f->manager, NULL, NULL, NULL, NULL, G_PRIORITY_DEFAULT, NULL, NULL, NULL),   \
     ASSERTION ("tether_loop_manager_submit_async", "func != NULL"))                            \
  X (submit_finish_null_result, "manager/submit-finish-null-result", SETUP_NEW,                 \
     g_assert_false (tether_loop_manager_submit_finish (f->manager, NULL, NULL, NULL)),         \
     ASSERTION ("tether_loop_manager_submit_finish", "g_task_is_valid (result, self)"))         \
  X (submit_finish_foreign_result, "manager/submit-finish-foreign-result", SETUP_NEW,           \
     { g_autoptr(TetherLoopManager) other = tether_loop_manager_new ("other");                  \
       g_autoptr(GTask) task = g_task_new (other, NULL, NULL, NULL);                            \
       g_assert_false (tether_loop_manager_submit_finish (f->manager, G_ASYNC_RESULT (task),    \
                                                          NULL, NULL)); },                      \
     ASSERTION ("tether_loop_manager_submit_finish", "g_task_is_valid (result, self)"))         \
  X (stop_within_null, "manager/stop-within-null", SETUP_NONE,                                  \
     g_assert_false (tether_loop_manager_stop_within (NULL, -1, NULL, NULL, NULL)),             \
     NOT_A_MANAGER ("tether_loop_manager_stop_within"))                                         \
  X (stop_within_bad_timeout, "manager/stop-within-bad-timeout", SETUP_STARTED,                 \
     g_assert_false (tether_loop_manager_stop_within (f->manager, -2, NULL, NULL, NULL)),       \
     ASSERTION ("tether_loop_manager_stop_within", "timeout_usec >= -1"))                       \
  X (stop_within_error_set, "manager/stop-within-error-set", SETUP_STARTED,                     \
     { GError *error = preset_error ();                                                         \
       g_assert_false (tether_loop_manager_stop_within (f->manager, -1, NULL, NULL, &error));   \
       g_assert_true (tether_loop_manager_is_running (f->manager));                             \
       g_error_free (error); },                                                                 \
     ERROR_SET ("tether_loop_manager_stop_within"))                                             \
  X (get_max_pending_null, "manager/get-max-pending-null", SETUP_NONE,                          \
     g_assert_cmpuint (tether_loop_manager_get_max_pending (NULL), ==, 0),                      \
     NOT_A_MANAGER ("tether_loop_manager_get_max_pending"))                                     \
  X (set_max_pending_null, "manager/set-max-pending-null", SETUP_NONE,                          \
     tether_loop_manager_set_max_pending (NULL, 1),                                             \
     NOT_A_MANAGER ("tether_loop_manager_set_max_pending"))                                     \
  X (get_submit_timeout_null, "manager/get-submit-timeout-null", SETUP_NONE,                    \
     g_assert_cmpint (tether_loop_manager_get_submit_timeout (NULL), ==, 0),                    \
     NOT_A_MANAGER ("tether_loop_manager_get_submit_timeout"))                                  \
  X (set_submit_timeout_null, "manager/set-submit-timeout-null", SETUP_NONE,                    \
     tether_loop_manager_set_submit_timeout (NULL, 0),                                          \
     NOT_A_MANAGER ("tether_loop_manager_set_submit_timeout"))                                  \
  X (set_submit_timeout_bad, "manager/set-submit-timeout-bad", SETUP_NEW,                       \
     { gint64 before = tether_loop_manager_get_submit_timeout (f->manager);                     \
       tether_loop_manager_set_submit_timeout (f->manager, -2);                                 \
       g_assert_cmpint (tether_loop_manager_get_submit_timeout (f->manager), ==, before); },    \
     ASSERTION ("tether_loop_manager_set_submit_timeout", "timeout_usec >= -1"))                \
  X (get_n_pending_null, "manager/get-n-pending-null", SETUP_NONE,                              \
     g_assert_cmpuint (tether_loop_manager_get_n_pending (NULL), ==, 0),                        \
     NOT_A_MANAGER ("tether_loop_manager_get_n_pending"))                                       \
  X (dup_stats_null, "manager/dup-stats-null", SETUP_NONE,                                      \
     g_assert_null (tether_loop_manager_dup_stats (NULL)),                                      \
     NOT_A_MANAGER ("tether_loop_manager_dup_stats"))                                           \
  X (set_debug_flags_unknown, "manager/set-debug-flags-unknown", SETUP_NEW,                     \
     { tether_loop_manager_set_debug_flags (f->manager, 1 << 5);                                \
       g_assert_cmpint (tether_loop_manager_get_debug_flags (f->manager), ==,                   \
                        TETHER_DEBUG_FLAGS_NONE); },                                            \
     ASSERTION ("tether_loop_manager_set_debug_flags", "flags & ~"))                            \
  X (get_debug_flags_null, "manager/get-debug-flags-null", SETUP_NONE,                          \
     g_assert_cmpint (tether_loop_manager_get_debug_flags (NULL), ==, TETHER_DEBUG_FLAGS_NONE), \
     NOT_A_MANAGER ("tether_loop_manager_get_debug_flags"))                                     \
  X (set_slow_threshold_negative, "manager/set-slow-threshold-negative", SETUP_NEW,             \
     { gint64 before = tether_loop_manager_get_slow_threshold (f->manager);                     \
       tether_loop_manager_set_slow_threshold (f->manager, -1);                                 \
       g_assert_cmpint (tether_loop_manager_get_slow_threshold (f->manager), ==, before); },    \
     ASSERTION ("tether_loop_manager_set_slow_threshold", "threshold_usec >= 0"))               \
  X (set_wait_spin_too_long, "manager/set-wait-spin-too-long", SETUP_NEW,                       \
     { tether_loop_manager_set_wait_spin (f->manager, G_USEC_PER_SEC + 1);                      \
       g_assert_cmpint (tether_loop_manager_get_wait_spin (f->manager), ==, 0); },              \
     ASSERTION ("tether_loop_manager_set_wait_spin", "spin_usec <= G_USEC_PER_SEC"))            \
  X (set_loop_spin_negative, "manager/set-loop-spin-negative", SETUP_NEW,                       \
     { tether_loop_manager_set_loop_spin (f->manager, -5);                                      \
       g_assert_cmpint (tether_loop_manager_get_loop_spin (f->manager), ==, 0); },              \
     ASSERTION ("tether_loop_manager_set_loop_spin", "spin_usec >= 0"))                         \
  X (work_set_name_null, "work/set-name-null", SETUP_NONE,                                      \
     tether_work_set_name (NULL, "name"),                                                       \
     NOT_A_WORK ("tether_work_set_name"))                                                       \
  X (post_null, "manager/post-null", SETUP_NONE,                                                \
     g_assert_false (tether_loop_manager_post (NULL, NULL, count_post, NULL, NULL, NULL)),      \
     NOT_A_MANAGER ("tether_loop_manager_post"))                                                \
  X (post_null_func, "manager/post-null-func", SETUP_STARTED,                                   \
     g_assert_false (tether_loop_manager_post (f->manager, NULL, NULL, NULL, NULL, NULL)),      \
     ASSERTION ("tether_loop_manager_post", "func != NULL"))                                    \
  X (post_error_set, "manager/post-error-set", SETUP_STARTED,                                   \
     { GError *error = preset_error ();                                                         \
       g_assert_false (tether_loop_manager_post (f->manager, NULL, count_post, NULL, NULL,      \
                                                 &error));                                      \
       g_error_free (error); },                                                                 \
     ERROR_SET ("tether_loop_manager_post"))                                                    \
  X (get_or_create_error_set, "registry/get-or-create-error-set", SETUP_NONE,                   \
     { GError *error = preset_error ();                                                         \
       g_assert_null (tether_loop_manager_get_or_create ("misuse", TETHER_LOOKUP_FLAGS_NONE,    \
                                                         &error));                              \
       g_error_free (error); },                                                                 \
     ERROR_SET ("tether_loop_manager_get_or_create"))                                           \
  X (future_get_status_null, "future/get-status-null", SETUP_NONE,                              \
     g_assert_cmpint (tether_future_get_status (NULL), ==, TETHER_FUTURE_STATUS_PENDING),       \
     NOT_A_FUTURE ("tether_future_get_status"))                                                 \
  X (future_is_done_null, "future/is-done-null", SETUP_NONE,                                    \
     g_assert_false (tether_future_is_done (NULL)),                                             \
     NOT_A_FUTURE ("tether_future_get_status"))                                                 \
  X (future_cancel_null, "future/cancel-null", SETUP_NONE,                                      \
     tether_future_cancel (NULL),                                                               \
     NOT_A_FUTURE ("tether_future_cancel"))                                                     \
  X (future_wait_null, "future/wait-null", SETUP_NONE,                                          \
     g_assert_false (tether_future_wait (NULL, 0, NULL, NULL)),                                 \
     NOT_A_FUTURE ("tether_future_wait"))                                                       \
  X (future_wait_bad_timeout, "future/wait-bad-timeout", SETUP_INT,                             \
     g_assert_false (tether_future_wait (f->future, -2, NULL, NULL)),                           \
     ASSERTION ("tether_future_wait", "timeout_usec >= -1"))                                    \
  X (future_wait_error_set, "future/wait-error-set", SETUP_INT,                                 \
     { GError *error = preset_error ();                                                         \
       g_assert_false (tether_future_wait (f->future, 0, NULL, &error));                        \
       g_error_free (error); },                                                                 \
     ERROR_SET ("tether_future_wait"))                                                          \
  X (future_wait_async_null, "future/wait-async-null", SETUP_NONE,                              \
     tether_future_wait_async (NULL, NULL, NULL, NULL),                                         \
     NOT_A_FUTURE ("tether_future_wait_async"))                                                 \
  X (future_wait_async_not_a_cancellable, "future/wait-async-not-a-cancellable", SETUP_INT,     \
     tether_future_wait_async (f->future, (GCancellable *) f->manager, NULL, NULL),             \
     ASSERTION ("tether_future_wait_async", "G_IS_CANCELLABLE (cancellable)"))                  \
  X (future_wait_finish_foreign_result, "future/wait-finish-foreign-result", SETUP_INT,         \
     { g_autoptr(GTask) task = g_task_new (f->manager, NULL, NULL, NULL);                       \
       g_assert_false (tether_future_wait_finish (f->future, G_ASYNC_RESULT (task), NULL)); },  \
     ASSERTION ("tether_future_wait_finish", "g_task_is_valid (result, self)"))                 \
  X (future_get_value_pending, "future/get-value-pending", SETUP_PENDING,                       \
     g_assert_null (tether_future_get_value (f->future)),                                       \
     ASSERTION ("tether_future_get_value", "TETHER_FUTURE_STATUS_SUCCEEDED"))                   \
  X (future_get_value_failed, "future/get-value-failed", SETUP_FAILED,                          \
     g_assert_null (tether_future_get_value (f->future)),                                       \
     ASSERTION ("tether_future_get_value", "TETHER_FUTURE_STATUS_SUCCEEDED"))                   \
  X (future_dup_error_null, "future/dup-error-null", SETUP_NONE,                                \
     g_assert_null (tether_future_dup_error (NULL)),                                            \
     NOT_A_FUTURE ("tether_future_dup_error"))                                                  \
  X (future_dup_string_null, "future/dup-string-null", SETUP_NONE,                              \
     g_assert_null (tether_future_dup_string (NULL, NULL)),                                     \
     NOT_A_FUTURE ("tether_future_dup_string"))                                                 \
  X (work_return_twice, "work/return-twice", SETUP_IN_WORK,                                     \
     { tether_work_return_int (f->work, 1);                                                     \
       tether_work_return_int (f->work, 2); },                                                  \
     RETURNED_TWICE)                                                                            \
  X (work_return_value_then_error, "work/return-value-then-error", SETUP_IN_WORK,               \
     { tether_work_return_string (f->work, "first");                                            \
       tether_work_return_error (f->work, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED,   \
                                                               "second")); },                   \
     RETURNED_TWICE)                                                                            \
  X (work_return_later_twice, "work/return-later-twice", SETUP_IN_WORK,                         \
     return_now_and_later (f->work),                                                            \
     RETURNED_TWICE)                                                                            \
  X (work_return_null_error, "work/return-null-error", SETUP_IN_WORK,                           \
     tether_work_return_error (f->work, NULL),                                                  \
     ASSERTION ("tether_work_return_error", "error != NULL"))                                   \
  X (work_return_null_format, "work/return-null-format", SETUP_IN_WORK,                         \
     { const char *format = NULL;                                                               \
       tether_work_return_new_error (f->work, TETHER_ERROR, TETHER_ERROR_FAILED, format,        \
                                     NULL); },                                                  \
     ASSERTION ("tether_work_return_new_error", "format != NULL"))                              \
  X (work_return_unset_value, "work/return-unset-value", SETUP_IN_WORK,                         \
     { GValue value = G_VALUE_INIT;                                                             \
       tether_work_return_value (f->work, &value); },                                           \
     ASSERTION ("tether_work_return_value", "G_IS_VALUE (value)"))                              \
  X (work_return_non_object, "work/return-non-object", SETUP_IN_WORK,                           \
     { /* A GTypeInstance that is not a GObject. */                                             \
       GParamSpec *pspec = g_param_spec_ref_sink (g_param_spec_int ("x", NULL, NULL, 0, 1, 0,   \
                                                                    G_PARAM_READABLE));         \
       tether_work_return_object (f->work, pspec);                                              \
       g_param_spec_unref (pspec); },                                                           \
     ASSERTION ("tether_work_return_object", "G_IS_OBJECT (value)"))                            \
  X (work_return_int_null, "work/return-int-null", SETUP_NONE,                                  \
     tether_work_return_int (NULL, 1),                                                          \
     NOT_A_WORK ("tether_work_return_int"))                                                     \
  X (work_get_cancellable_null, "work/get-cancellable-null", SETUP_NONE,                        \
     g_assert_null (tether_work_get_cancellable (NULL)),                                        \
     NOT_A_WORK ("tether_work_get_cancellable"))                                                \
  X (work_is_cancelled_null, "work/is-cancelled-null", SETUP_NONE,                              \
     g_assert_false (tether_work_is_cancelled (NULL)),                                          \
     NOT_A_WORK ("tether_work_is_cancelled"))                                                   \
  X (work_get_manager_id_null, "work/get-manager-id-null", SETUP_NONE,                          \
     g_assert_null (tether_work_get_manager_id (NULL)),                                         \
     NOT_A_WORK ("tether_work_get_manager_id"))                                                 \
  X (work_is_done_null, "work/is-done-null", SETUP_NONE,                                        \
     g_assert_false (tether_work_is_done (NULL)),                                               \
     NOT_A_WORK ("tether_work_is_done"))                                                        \
  X (lineage_leave_without_adopt, "lineage/leave-without-adopt", SETUP_NONE,                    \
     tether_lineage_leave (),                                                                   \
     ASSERTION ("tether_lineage_leave", "stack->adopted != NULL"))                              \
  X (lineage_leave_twice, "lineage/leave-twice", SETUP_NONE,                                    \
     { g_autoptr(TetherLineage) token = tether_lineage_capture ();                              \
       tether_lineage_adopt (token);                                                            \
       tether_lineage_leave ();                                                                 \
       tether_lineage_leave (); },                                                              \
     ASSERTION ("tether_lineage_leave", "stack->adopted != NULL"))                              \
  X (lineage_adopt_null, "lineage/adopt-null", SETUP_NONE,                                      \
     tether_lineage_adopt (NULL),                                                               \
     ASSERTION ("tether_lineage_adopt", "lineage != NULL"))                                     \
  X (lineage_ref_null, "lineage/ref-null", SETUP_NONE,                                          \
     g_assert_null (tether_lineage_ref (NULL)),                                                 \
     ASSERTION ("tether_lineage_ref", "self != NULL"))                                          \
  X (lineage_unref_null, "lineage/unref-null", SETUP_NONE,                                      \
     tether_lineage_unref (NULL),                                                               \
     ASSERTION ("tether_lineage_unref", "self != NULL"))                                        \
  X (lineage_get_depth_null, "lineage/get-depth-null", SETUP_NONE,                              \
     g_assert_cmpuint (tether_lineage_get_depth (NULL), ==, 0),                                 \
     ASSERTION ("tether_lineage_get_depth", "self != NULL"))                                    \
  X (lineage_attach_null, "lineage/attach-null", SETUP_NONE,                                    \
     g_assert_false (tether_lineage_attach (NULL, NULL)),                                       \
     ASSERTION ("tether_lineage_attach", "parent != NULL"))                                     \
  X (lineage_attach_error_set, "lineage/attach-error-set", SETUP_NONE,                          \
     { g_autoptr(TetherLineage) token = tether_lineage_capture ();                              \
       GError *error = preset_error ();                                                         \
       g_assert_false (tether_lineage_attach (token, &error));                                  \
       g_error_free (error); },                                                                 \
     ERROR_SET ("tether_lineage_attach"))                                                       \
  X (thread_try_new_null_func, "lineage/thread-try-new-null-func", SETUP_NONE,                  \
     g_assert_null (tether_thread_try_new ("misuse", NULL, NULL, NULL)),                        \
     ASSERTION ("tether_thread_try_new", "func != NULL"))

typedef struct
{
  const char *path;
  Setup       setup;
  void      (*run) (Fixture *f);
  const char *message;
} MisuseCase;

/* One function per row, then the table of rows. */
#define MISUSE_FUNCTION(name, path, setup, statement, message) \
  static void                                                                                   \
  misuse_##name (Fixture *f)                                                                    \
  {                                                                                             \
    statement;                                                                                  \
  }
MISUSE_CASES (MISUSE_FUNCTION)
#undef MISUSE_FUNCTION

#define MISUSE_ROW(name, path, setup, statement, message) { path, setup, misuse_##name, message },
static const MisuseCase misuse_cases[] = {
  MISUSE_CASES (MISUSE_ROW)
};
#undef MISUSE_ROW

typedef struct
{
  const MisuseCase *c;
  Fixture          *f;
} InWork;

static void
run_in_work (TetherWork *work,
             gpointer    user_data)
{
  InWork *in = user_data;

  in->f->work = work;
  in->c->run (in->f);
  in->f->work = NULL;
  /* A misuse that was refused left the work to return. */
  if (!tether_work_is_done (work))
    tether_work_return_boolean (work, TRUE);
}

static TetherFuture *
settled (TetherFuture *future)
{
  g_assert_nonnull (future);
  tether_future_wait (future, TIMEOUT_USEC, NULL, NULL);
  g_assert_true (tether_future_is_done (future));
  return future;
}

static void
misuse_setup (Fixture *f,
              Setup    setup)
{
  static const TetherWorkFunc results[] = {
    [SETUP_INT] = seven_work,
    [SETUP_STRING] = string_work,
    [SETUP_NOTHING] = no_value_work,
    [SETUP_FAILED] = fail_work,
  };

  if (setup == SETUP_NONE)
    return;
  if (setup == SETUP_NEW)
    {
      f->manager = tether_loop_manager_new ("misuse");
      return;
    }
  f->manager = started ("misuse", NULL);
  if (setup == SETUP_PENDING || setup == SETUP_CANCELLED)
    {
      f->future = tether_loop_manager_submit_after (f->manager, NULL, HOUR_USEC, seven_work,
                                                    NULL, NULL, NULL, NULL);
      g_assert_nonnull (f->future);
      if (setup == SETUP_CANCELLED)
        tether_future_cancel (f->future);
    }
  else if (setup < G_N_ELEMENTS (results) && results[setup] != NULL)
    f->future = settled (tether_loop_manager_submit (f->manager, NULL, results[setup], NULL,
                                                     NULL, NULL, NULL));
}

static void
misuse_teardown (Fixture *f)
{
  if (f->future != NULL)
    {
      tether_future_cancel (f->future);
      g_clear_object (&f->future);
    }
  if (f->manager != NULL)
    {
      tether_loop_manager_stop (f->manager, TETHER_STOP_MODE_DRAIN);
      g_clear_object (&f->manager);
    }
}

static void
test_misuse (gconstpointer data)
{
  const MisuseCase *c = data;
  Fixture f = { NULL, NULL, NULL };
  /* Alive until the teardown's DRAIN stop: the work function may still be
   * running after its first return woke the wait below. */
  InWork in = { c, &f };

  /* The parent: the row passes if its subprocess does. */
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, SUBPROCESS_TIMEOUT_USEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  misuse_setup (&f, c->setup);
  g_test_expect_message ("Tether", G_LOG_LEVEL_CRITICAL, c->message);
  if (c->setup == SETUP_IN_WORK)
    g_object_unref (settled (tether_loop_manager_submit (f.manager, NULL, run_in_work, &in,
                                                         NULL, NULL, NULL)));
  else
    c->run (&f);
  /* After the teardown: a misuse may be reported from the manager's
   * thread, as late as the drain of its stop. */
  misuse_teardown (&f);
  g_test_assert_expected_messages ();
}

/* TETHER_ERROR cases */

/* Registry cases run in a thread made with tether_thread_new(), whose
 * entries are released (managers stopped and dropped) when it exits. */
static void
run_in_child_thread (GThreadFunc func,
                     gpointer    data)
{
  g_thread_join (tether_thread_new ("misuse-child", func, data));
}

static gpointer
empty_id_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) by_null = NULL;
  g_autoptr(TetherLoopManager) by_empty = NULL;
  g_autoptr(TetherLoopManager) strict = NULL;

  /* An empty id means no id, as for tether_loop_manager_new (""): here the
   * default namespace, the same manager NULL finds. */
  by_null = tether_loop_manager_get_or_create (NULL, TETHER_LOOKUP_FLAGS_NONE, &error);
  g_assert_no_error (error);
  by_empty = tether_loop_manager_get_or_create ("", TETHER_LOOKUP_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (by_null == by_empty);
  g_assert_cmpstr (tether_loop_manager_get_id (by_empty), ==, "default");
  strict = tether_loop_manager_get_or_create ("", TETHER_LOOKUP_FLAGS_STRICT, &error);
  g_assert_no_error (error);
  g_assert_true (strict == by_null);
  return NULL;
}

static void
test_empty_id (void)
{
  g_autoptr(TetherLoopManager) plain = tether_loop_manager_new ("");
  g_autoptr(TetherLoopManager) other = tether_loop_manager_new ("");
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  /* tether_loop_manager_new (""): the same as NULL, a generated id. */
  g_assert_true (g_str_has_prefix (tether_loop_manager_get_id (plain), "manager-"));
  g_assert_cmpstr (tether_loop_manager_get_id (plain), !=, tether_loop_manager_get_id (other));

  /* An empty task type is a task type like any other: not "any". */
  g_assert_true (tether_loop_manager_start (plain, "", &error));
  g_assert_no_error (error);
  g_assert_null (tether_loop_manager_submit (plain, NULL, seven_work, NULL, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_clear_error (&error);
  future = tether_loop_manager_submit (plain, "", seven_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  wait_ok (future);
  tether_loop_manager_stop (plain, TETHER_STOP_MODE_DRAIN);

  run_in_child_thread (empty_id_thread, NULL);
}

static gpointer
unknown_flags_thread (gpointer data)
{
  const TetherLookupFlags unknown = (TetherLookupFlags) (1 << 6);
  g_autoptr(GError) error = NULL;

  /* Bits Tether does not know are refused, alone or with known ones. */
  g_assert_null (tether_loop_manager_get_or_create ("flags", unknown, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "0x40"));
  g_clear_error (&error);
  g_assert_null (tether_loop_manager_get_or_create ("flags", unknown | TETHER_LOOKUP_FLAGS_STRICT,
                                                    &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (tether_loop_manager_get_or_create ("flags", (TetherLookupFlags) ~0u, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  return NULL;
}

static void
test_unknown_flags (void)
{
  run_in_child_thread (unknown_flags_thread, NULL);
}

static gpointer
force_create_strict_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (tether_loop_manager_get_or_create ("both", TETHER_LOOKUP_FLAGS_FORCE_CREATE |
                                                    TETHER_LOOKUP_FLAGS_STRICT, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "FORCE_CREATE"));
  g_assert_nonnull (strstr (error->message, "STRICT"));
  g_clear_error (&error);

  /* The refused call registered nothing. */
  g_assert_null (tether_loop_manager_get_or_create ("both", TETHER_LOOKUP_FLAGS_STRICT, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_MANAGER_NOT_FOUND);
  return NULL;
}

static void
test_force_create_strict (void)
{
  run_in_child_thread (force_create_strict_thread, NULL);
}

static void
start_own_work (TetherWork *work,
                gpointer    user_data)
{
  g_autoptr(TetherLoopManager) current = tether_loop_manager_ref_current ();
  g_autoptr(GError) error = NULL;

  g_assert_false (tether_loop_manager_start (current, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING);
  tether_work_return_boolean (work, TRUE);
}

static void
test_start_twice (void)
{
  g_autoptr(TetherLoopManager) manager = started ("twice", "a");
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *task_type = NULL;

  g_assert_false (tether_loop_manager_start (manager, "b", &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING);
  g_assert_nonnull (strstr (error->message, "'twice'"));
  g_clear_error (&error);

  /* The failed start changed nothing. */
  g_assert_true (tether_loop_manager_is_running (manager));
  task_type = tether_loop_manager_dup_task_type (manager);
  g_assert_cmpstr (task_type, ==, "a");

  /* Nor does a start from the manager's own thread. */
  future = tether_loop_manager_submit (manager, "a", start_own_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  wait_ok (future);
  g_assert_true (tether_loop_manager_is_running (manager));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  g_atomic_int_inc ((int *) user_data);
}

static void
test_double_stop (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("double");
  g_autoptr(GError) error = NULL;
  int notified = 0;

  g_signal_connect (manager, "notify::running", G_CALLBACK (count_notify), &notified);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (notified, ==, 1);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (notified, ==, 2);
  /* Further stops, in either mode, do nothing and say nothing. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);
  g_assert_cmpint (notified, ==, 2);
  g_assert_false (tether_loop_manager_is_running (manager));

  g_assert_false (tether_loop_manager_post (manager, NULL, count_post, &notified, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
}

static void
test_stop_never_started (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("never");
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  int notified = 0;

  g_signal_connect (manager, "notify::running", G_CALLBACK (count_notify), &notified);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (notified, ==, 0);
  g_assert_false (tether_loop_manager_is_running (manager));

  /* It still starts and works afterwards. */
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  future = tether_loop_manager_submit (manager, NULL, seven_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  wait_ok (future);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (notified, ==, 2);
}

typedef struct
{
  Gate               gate;
  TetherFuture      *own;        /* the future of the work that waits on it */
  TetherFuture      *sibling;    /* queued behind it on the same manager */
  TetherLoopManager *other;
  GError            *own_error;
  GError            *sibling_error;
  GError            *poll_error;
  int                other_value;
} OwnWait;

static void
own_wait_work (TetherWork *work,
               gpointer    user_data)
{
  OwnWait *data = user_data;
  g_autoptr(TetherFuture) elsewhere = NULL;

  /* Wait for the test to hand over the futures. */
  gate_pass (&data->gate);

  g_assert_false (tether_future_wait (data->own, -1, NULL, &data->own_error));
  g_assert_false (tether_future_wait (data->sibling, TIMEOUT_USEC, NULL, &data->sibling_error));
  /* A poll is not a wait: it reports the truth. */
  g_assert_false (tether_future_wait (data->sibling, 0, NULL, &data->poll_error));

  /* Work on another manager can be waited for. */
  elsewhere = tether_loop_manager_submit (data->other, NULL, seven_work, NULL, NULL, NULL, NULL);
  wait_ok (elsewhere);
  data->other_value = tether_future_get_int (elsewhere, NULL);
  tether_work_return_boolean (work, TRUE);
}

static void
test_wait_own_future (void)
{
  g_autoptr(TetherLoopManager) manager = started ("ownwait", NULL);
  g_autoptr(TetherLoopManager) other = started ("ownwait-other", NULL);
  g_autoptr(TetherFuture) own = NULL;
  g_autoptr(TetherFuture) sibling = NULL;
  OwnWait data = { 0 };

  gate_init (&data.gate);
  data.other = other;
  own = tether_loop_manager_submit (manager, NULL, own_wait_work, &data, NULL, NULL, NULL);
  sibling = tether_loop_manager_submit (manager, NULL, seven_work, NULL, NULL, NULL, NULL);
  data.own = own;
  data.sibling = sibling;
  gate_open (&data.gate);

  wait_ok (own);
  wait_ok (sibling);
  g_assert_error (data.own_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_nonnull (strstr (data.own_error->message, "'ownwait'"));
  g_assert_error (data.sibling_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_error (data.poll_error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT);
  g_assert_cmpint (data.other_value, ==, 7);
  g_clear_error (&data.own_error);
  g_clear_error (&data.sibling_error);
  g_clear_error (&data.poll_error);
  gate_clear (&data.gate);
}

typedef struct
{
  TetherLoopManager *manager;
  gboolean           returned;        /* the stop returned inside the work */
  gboolean           running_after;
  gboolean           cancelled_after;
  GError            *post_error;
  GError            *start_error;
} SelfStop;

static void
stop_own_work (TetherWork *work,
               gpointer    user_data)
{
  SelfStop *data = user_data;
  int runs = 0;

  tether_loop_manager_stop (data->manager, TETHER_STOP_MODE_CANCEL);
  data->returned = TRUE;
  data->running_after = tether_loop_manager_is_running (data->manager);
  /* CANCEL reaches the work that asked for it, too. */
  data->cancelled_after = tether_work_is_cancelled (work);
  tether_loop_manager_post (data->manager, NULL, count_post, &runs, NULL, &data->post_error);
  tether_loop_manager_start (data->manager, NULL, &data->start_error);
  /* A value returned after cancellation still wins. */
  tether_work_return_int (work, 7);
}

static void
test_work_stops_own_manager (void)
{
  g_autoptr(TetherLoopManager) manager = started ("selfstop", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  g_autoptr(GError) error = NULL;
  SelfStop data = { manager };
  int runs = 0;
  Gate gate;

  gate_init (&gate);
  blocker = tether_loop_manager_submit (manager, NULL, gate_work, &gate, NULL, NULL, NULL);
  future = tether_loop_manager_submit (manager, NULL, stop_own_work, &data, NULL, NULL, NULL);
  queued = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  gate_open (&gate);

  wait_ok (future);
  g_assert_cmpint (tether_future_get_int (future, NULL), ==, 7);
  g_assert_true (data.returned);
  g_assert_false (data.running_after);
  g_assert_true (data.cancelled_after);
  g_assert_error (data.post_error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_error (data.start_error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING);
  g_clear_error (&data.post_error);
  g_clear_error (&data.start_error);

  g_assert_false (tether_future_wait (queued, TIMEOUT_USEC, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (runs, ==, 0);
  g_assert_false (tether_loop_manager_is_running (manager));

  /* A stop from here joins the thread that stopped itself; so would a start. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  gate_clear (&gate);
}

static void
unref_own_work (TetherWork *work,
                gpointer    user_data)
{
  TetherLoopManager *manager = user_data;
  TetherLoopManager *current = tether_loop_manager_ref_current ();

  g_assert_true (current == manager);
  g_object_unref (current);

  /* The last reference: the manager is disposed here, on its own thread,
   * which then drains and exits by itself instead of joining itself. */
  g_object_unref (manager);
  g_assert_null (tether_loop_manager_ref_current ());
  tether_work_return_int (work, 7);
}

static void
test_work_unrefs_own_manager (void)
{
  TetherLoopManager *manager = started ("selfdrop", NULL);
  TetherFuture *blocker, *future, *after;
  int finalized = 0, context_gone = 0, runs = 0;
  Gate gate;

  gate_init (&gate);
  g_object_weak_ref (G_OBJECT (manager), weak_notify_flag, &finalized);
  watch_context (manager, &context_gone);

  blocker = tether_loop_manager_submit (manager, NULL, gate_work, &gate, NULL, NULL, NULL);
  /* Hands this test's only reference to the work. */
  future = tether_loop_manager_submit (manager, NULL, unref_own_work, manager, NULL, NULL, NULL);
  after = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &runs, NULL, NULL));
  manager = NULL;
  gate_open (&gate);

  wait_ok (future);
  g_assert_cmpint (tether_future_get_int (future, NULL), ==, 7);
  /* Work queued behind it was drained, not cancelled. */
  wait_ok (after);
  wait_until_count (&runs, 2);
  wait_until_set (&finalized);

  /* Futures keep the manager's core alive: once they are gone, the core
   * (and its context) is freed when its thread exits. */
  g_object_unref (blocker);
  g_object_unref (future);
  g_object_unref (after);
  wait_until_set (&context_gone);
  gate_clear (&gate);
}

static void
test_destroy_notify_unrefs_manager (void)
{
  TetherLoopManager *manager = started ("destroydrop", NULL);
  TetherFuture *blocker, *future, *after;
  int finalized = 0, context_gone = 0, runs = 0;
  Gate gate;

  gate_init (&gate);
  g_object_weak_ref (G_OBJECT (manager), weak_notify_flag, &finalized);
  watch_context (manager, &context_gone);

  blocker = tether_loop_manager_submit (manager, NULL, gate_work, &gate, NULL, NULL, NULL);
  /* The usual idiom, with the test's only reference: the destroy notify
   * drops the last one on the manager's own thread. */
  future = tether_loop_manager_submit (manager, NULL, seven_work, manager, g_object_unref, NULL, NULL);
  after = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  manager = NULL;
  gate_open (&gate);

  wait_ok (future);
  wait_ok (after);
  g_assert_cmpint (runs, ==, 1);
  wait_until_set (&finalized);
  g_object_unref (blocker);
  g_object_unref (future);
  g_object_unref (after);
  wait_until_set (&context_gone);
  gate_clear (&gate);
}

/* A destroy notify that submits more work: to @target, with itself as the
 * new work's destroy notify, @remaining times. */
typedef struct
{
  TetherLoopManager *target;
  int                remaining;
  int                destroys;
  int                accepted;
  int                rejected;
  int                runs;
  GThread           *destroy_thread;
  GThread           *run_thread;
} Resubmit;

static void
resubmit_post (gpointer data)
{
  Resubmit *r = data;

  r->run_thread = g_thread_self ();
  g_atomic_int_inc (&r->runs);
}

static void
resubmit_destroy (gpointer data)
{
  Resubmit *r = data;
  GError *error = NULL;

  r->destroy_thread = g_thread_self ();
  if (r->remaining > 0)
    {
      r->remaining--;
      /* The counters are updated before the call: a rejected submission
       * runs this again, inline, before post returns. */
      if (tether_loop_manager_post (r->target, NULL, resubmit_post, r, resubmit_destroy, &error))
        g_atomic_int_inc (&r->accepted);
      else
        {
          g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
          g_error_free (error);
          g_atomic_int_inc (&r->rejected);
        }
    }
  /* Last, so that a waiter on the count sees the counters above. */
  g_atomic_int_inc (&r->destroys);
}

static void
thread_work (TetherWork *work,
             gpointer    user_data)
{
  tether_work_return_pointer (work, g_thread_self (), NULL);
}

static GThread *
manager_thread (TetherLoopManager *manager)
{
  g_autoptr(TetherFuture) future = tether_loop_manager_submit (manager, NULL, thread_work,
                                                               NULL, NULL, NULL, NULL);
  wait_ok (future);
  return tether_future_get_pointer (future, NULL);
}

static void
test_destroy_notify_submits_running (void)
{
  g_autoptr(TetherLoopManager) manager = started ("resubmit", NULL);
  g_autoptr(TetherFuture) future = NULL;
  Resubmit r = { manager, 3 };

  future = tether_loop_manager_submit (manager, NULL, seven_work, &r, resubmit_destroy, NULL, NULL);
  wait_ok (future);
  /* The work and three posts, each followed by its destroy notify. */
  wait_until_count (&r.destroys, 4);
  g_assert_cmpint (r.accepted, ==, 3);
  g_assert_cmpint (r.rejected, ==, 0);
  g_assert_cmpint (r.runs, ==, 3);
  g_assert_true (r.destroy_thread == manager_thread (manager));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}


/* Begins a stop in another thread while @gate holds the manager's thread,
 * then lets the manager's thread go and waits for the stop to end. */
static void
stop_behind_gate (TetherLoopManager *manager,
                  TetherStopMode     mode,
                  Gate              *gate)
{
  StopArgs args = { manager, mode };
  GThread *stopper;
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_USEC;

  gate_wait_entered_within (gate);
  stopper = g_thread_new ("stopper", stop_thread, &args);
  while (tether_loop_manager_is_running (manager))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (1000);
    }
  gate_open (gate);
  g_thread_join (stopper);
}

static void
test_destroy_notify_submits_stopping (gconstpointer mode_data)
{
  TetherStopMode mode = GPOINTER_TO_INT (mode_data);
  g_autoptr(TetherLoopManager) manager = started ("resubmit-stop", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) future = NULL;
  GThread *thread = manager_thread (manager);
  Resubmit r = { manager, 3 };
  Gate gate;

  gate_init (&gate);
  blocker = tether_loop_manager_submit (manager, NULL, gate_work, &gate, NULL, NULL, NULL);
  future = tether_loop_manager_submit (manager, NULL, seven_work, &r, resubmit_destroy, NULL, NULL);
  stop_behind_gate (manager, mode, &gate);

  /* The work ran (DRAIN) or was cancelled (CANCEL); either way its destroy
   * notify ran on the manager's thread during the stop, and every
   * submission from it, and from the rejected ones' notifies, was refused. */
  g_assert_cmpint (tether_future_get_status (future), ==,
                   mode == TETHER_STOP_MODE_DRAIN ? TETHER_FUTURE_STATUS_SUCCEEDED
                                                  : TETHER_FUTURE_STATUS_CANCELLED);
  g_assert_cmpint (r.destroys, ==, 4);
  g_assert_cmpint (r.rejected, ==, 3);
  g_assert_cmpint (r.accepted, ==, 0);
  g_assert_cmpint (r.runs, ==, 0);
  g_assert_true (r.destroy_thread == thread);
  gate_clear (&gate);
}

static void
test_destroy_notify_submits_rejected (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("resubmit-rejected");
  g_autoptr(GError) error = NULL;
  Resubmit r = { manager, 3 };

  /* A rejected submission's destroy notify runs here, before the call
   * returns; it submits again, is refused again, three levels deep. */
  g_assert_null (tether_loop_manager_submit (manager, NULL, seven_work, &r, resubmit_destroy, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_cmpint (r.destroys, ==, 4);
  g_assert_cmpint (r.rejected, ==, 3);
  g_assert_cmpint (r.accepted, ==, 0);
  g_assert_true (r.destroy_thread == g_thread_self ());
}

static void
test_destroy_notify_submits_other (void)
{
  TetherLoopManager *manager = started ("resubmit-from", NULL);
  g_autoptr(TetherLoopManager) other = started ("resubmit-to", NULL);
  g_autoptr(TetherFuture) future = NULL;
  GThread *other_thread = manager_thread (other);
  Resubmit r = { other, 1 };
  Resubmit last = { other, 1 };

  future = tether_loop_manager_submit (manager, NULL, seven_work, &r, resubmit_destroy, NULL, NULL);
  wait_ok (future);
  wait_until_count (&r.destroys, 2);
  g_assert_cmpint (r.accepted, ==, 1);
  g_assert_cmpint (r.runs, ==, 1);
  g_assert_true (r.run_thread == other_thread);
  g_assert_true (r.destroy_thread == other_thread);

  /* Also while the first manager drains for its last reference. */
  g_clear_object (&future);
  future = tether_loop_manager_submit (manager, NULL, seven_work, &last, resubmit_destroy, NULL, NULL);
  /* The last reference: the object dies here, its thread drains on. */
  g_assert_finalize_object (manager);
  g_assert_true (tether_loop_manager_wait_detached (60 * G_USEC_PER_SEC));
  g_assert_true (tether_future_is_done (future));
  wait_until_count (&last.destroys, 2);
  g_assert_cmpint (last.accepted, ==, 1);
  g_assert_cmpint (last.runs, ==, 1);
  tether_loop_manager_stop (other, TETHER_STOP_MODE_DRAIN);
}

typedef struct
{
  GMainContext *context;
  int           calls;
  int           value;
  gboolean      running_after;
  GError       *error;
  int           finalized;
  int           runs;
} AsyncStop;

static void
on_rejected (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  AsyncStop *data = user_data;

  g_assert_false (tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result,
                                                     NULL, &data->error));
  data->calls++;
}

/* The second callback, after the first stopped the manager. */
static void
on_async_after_stop (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  TetherLoopManager *manager = TETHER_LOOP_MANAGER (source);
  AsyncStop *data = user_data;

  g_assert_true (tether_loop_manager_submit_finish (manager, result, NULL, NULL));
  data->calls++;
  /* Stopping again does nothing; a submission is refused through a callback. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);
  tether_loop_manager_submit_async (manager, NULL, seven_work, NULL, NULL, G_PRIORITY_DEFAULT, NULL, on_rejected, data);
}

static void
on_async_stop (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  TetherLoopManager *manager = TETHER_LOOP_MANAGER (source);
  AsyncStop *data = user_data;
  GValue value = G_VALUE_INIT;

  g_assert_true (tether_loop_manager_submit_finish (manager, result, &value, NULL));
  data->value = g_value_get_int (&value);
  g_value_unset (&value);
  data->calls++;
  /* A foreign thread for the manager: this blocks until it has drained
   * (the second submission runs) and its thread is joined. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  data->running_after = tether_loop_manager_is_running (manager);
}

static void
test_async_callback_stops_manager (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherLoopManager) manager = started ("asyncstop", NULL);
  AsyncStop data = { context };
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_USEC;

  g_main_context_push_thread_default (context);
  tether_loop_manager_submit_async (manager, NULL, seven_work, NULL, NULL, G_PRIORITY_DEFAULT, NULL, on_async_stop, &data);
  tether_loop_manager_submit_async (manager, NULL, int_work, GINT_TO_POINTER (8), NULL, G_PRIORITY_DEFAULT, NULL,
                                    on_async_after_stop, &data);
  while (data.calls < 3)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (!g_main_context_iteration (context, FALSE))
        g_usleep (1000);
    }
  g_main_context_pop_thread_default (context);

  g_assert_cmpint (data.value, ==, 7);
  g_assert_false (data.running_after);
  g_assert_error (data.error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&data.error);
  g_assert_false (tether_loop_manager_is_running (manager));
}

static void
on_async_unref (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  AsyncStop *data = user_data;

  g_assert_true (tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result, NULL, NULL));
  data->calls++;
  /* The test's reference; the async result holds the last one, dropped on
   * this thread once this returns: a foreign thread, so it drains and joins. */
  g_object_unref (source);
}

static void
test_async_callback_unrefs_manager (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  TetherLoopManager *manager = started ("asyncunref", NULL);
  AsyncStop data = { context };
  Gate gate;

  gate_init (&gate);
  g_main_context_push_thread_default (context);
  g_object_weak_ref (G_OBJECT (manager), weak_notify_flag, &data.finalized);
  tether_loop_manager_submit_async (manager, NULL, seven_work, NULL, NULL, G_PRIORITY_DEFAULT, NULL, on_async_unref, &data);
  /* Queued behind, held: it must still run when the last reference goes. */
  g_object_unref (tether_loop_manager_submit (manager, NULL, gate_work, &gate, NULL, NULL, NULL));
  g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &data.runs, NULL, NULL));
  manager = NULL;
  gate_open (&gate);

  iterate_until_set (context, &data.finalized);
  g_main_context_pop_thread_default (context);
  g_assert_cmpint (data.calls, ==, 1);
  /* Usually the last reference goes here, after the callback; if the
   * manager's thread dropped its task reference last, it went there, and
   * that thread drains by itself. */
  wait_until_count (&data.runs, 1);
  gate_clear (&gate);
}

typedef struct
{
  GError *post_error;
  GError *submit_error;
  GError *after_error;
  int     destroyed;
  int     runs;
} DrainSubmit;

static void
count_destroy (gpointer data)
{
  g_atomic_int_inc (&((DrainSubmit *) data)->destroyed);
}

static void
drain_submit_post (gpointer data)
{
  g_atomic_int_inc (&((DrainSubmit *) data)->runs);
}

static void
submit_while_draining_work (TetherWork *work,
                            gpointer    user_data)
{
  DrainSubmit *data = user_data;
  g_autoptr(TetherLoopManager) current = tether_loop_manager_ref_current ();
  TetherFuture *future;

  g_assert_nonnull (current);
  g_assert_false (tether_loop_manager_post (current, NULL, drain_submit_post, data, count_destroy,
                                            &data->post_error));
  future = tether_loop_manager_submit (current, NULL, seven_work, data, count_destroy, NULL,
                                       &data->submit_error);
  g_assert_null (future);
  future = tether_loop_manager_submit_after (current, NULL, 0, seven_work, data, count_destroy, NULL,
                                             &data->after_error);
  g_assert_null (future);
  tether_work_return_boolean (work, TRUE);
}

static void
test_post_during_drain (void)
{
  g_autoptr(TetherLoopManager) manager = started ("draining", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) future = NULL;
  DrainSubmit data = { 0 };
  Gate gate;

  gate_init (&gate);
  blocker = tether_loop_manager_submit (manager, NULL, gate_work, &gate, NULL, NULL, NULL);
  future = tether_loop_manager_submit (manager, NULL, submit_while_draining_work, &data, NULL, NULL, NULL);
  stop_behind_gate (manager, TETHER_STOP_MODE_DRAIN, &gate);

  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_error (data.post_error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_error (data.submit_error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_error (data.after_error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_nonnull (strstr (data.post_error->message, "stopping"));
  /* Rejected: never ran, data released at once. */
  g_assert_cmpint (data.runs, ==, 0);
  g_assert_cmpint (data.destroyed, ==, 3);
  g_clear_error (&data.post_error);
  g_clear_error (&data.submit_error);
  g_clear_error (&data.after_error);
  gate_clear (&gate);
}

typedef struct
{
  TetherLineage *token;
  gboolean       first;
  GError        *second_error;
  GError        *adopted_error;
  GError        *spawned_error;
} AttachData;

static gpointer
attach_twice_thread (gpointer user_data)
{
  AttachData *data = user_data;

  data->first = tether_lineage_attach (data->token, NULL);
  g_assert_false (tether_lineage_attach (data->token, &data->second_error));
  return NULL;
}

static gpointer
adopt_then_attach_thread (gpointer user_data)
{
  AttachData *data = user_data;

  tether_lineage_adopt (data->token);
  g_assert_false (tether_lineage_attach (data->token, &data->adopted_error));
  tether_lineage_leave ();
  return NULL;
}

static gpointer
spawned_attach_thread (gpointer user_data)
{
  AttachData *data = user_data;

  /* tether_thread_new() already attached this thread. */
  g_assert_false (tether_lineage_attach (data->token, &data->spawned_error));
  return NULL;
}

static void
test_lineage_attach_twice (void)
{
  AttachData data = { tether_lineage_capture () };

  g_thread_join (g_thread_new ("attach-twice", attach_twice_thread, &data));
  g_assert_true (data.first);
  g_assert_error (data.second_error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  /* The message names the thread, where the system can tell its name. */
#ifdef HAVE_PTHREAD_GETNAME_NP
  g_assert_nonnull (strstr (data.second_error->message, "'attach-twice'"));
#else
  g_assert_nonnull (strstr (data.second_error->message, "'(unnamed)'"));
#endif

  g_thread_join (g_thread_new ("adopt-attach", adopt_then_attach_thread, &data));
  g_assert_error (data.adopted_error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);

  g_thread_join (tether_thread_new ("spawned-attach", spawned_attach_thread, &data));
  g_assert_error (data.spawned_error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);

  g_clear_error (&data.second_error);
  g_clear_error (&data.adopted_error);
  g_clear_error (&data.spawned_error);
  tether_lineage_unref (data.token);
}

typedef struct
{
  TetherLoopManager *manager;
  int                about_to_unref;
} LastUnref;

static gpointer
last_unref_thread (gpointer user_data)
{
  LastUnref *data = user_data;

  g_atomic_int_set (&data->about_to_unref, 1);
  /* Blocks, draining, until the held work is let go. */
  g_object_unref (data->manager);
  return NULL;
}

static void
test_last_unref_on_other_thread (void)
{
  LastUnref data = { started ("otherunref", NULL) };
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  int finalized = 0;
  GThread *thread;
  Gate gate;

  gate_init (&gate);
  g_object_weak_ref (G_OBJECT (data.manager), weak_notify_flag, &finalized);
  blocker = tether_loop_manager_submit (data.manager, NULL, gate_work, &gate, NULL, NULL, NULL);
  queued = tether_loop_manager_submit (data.manager, NULL, int_work, GINT_TO_POINTER (5), NULL, NULL, NULL);
  gate_wait_entered_within (&gate);

  /* The only reference goes to the thread that drops it. */
  thread = g_thread_new ("last-unref", last_unref_thread, &data);
  wait_until_set (&data.about_to_unref);
  /* Not a synchronisation: the gate holds the queued work whether or not
   * the unref has begun yet; the pause only makes it likely that the gate
   * opens on an unref already draining, the case under test. */
  g_usleep (10000);
  g_assert_false (tether_future_is_done (queued));
  gate_open (&gate);

  wait_ok (queued);
  g_assert_cmpint (tether_future_get_int (queued, NULL), ==, 5);
  g_thread_join (thread);
  g_assert_true (g_atomic_int_get (&finalized));
  gate_clear (&gate);
}

static void
current_work (TetherWork *work,
              gpointer    user_data)
{
  g_autoptr(TetherLoopManager) current = tether_loop_manager_ref_current ();

  tether_work_return_object (work, current);
}

static gpointer
register_and_start_thread (gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  TetherLoopManager *manager = tether_loop_manager_get_or_create ("handoff", TETHER_LOOKUP_FLAGS_NONE,
                                                                  &error);

  g_assert_no_error (error);
  g_assert_true (tether_loop_manager_start (manager, "handoff", &error));
  g_assert_no_error (error);
  /* The caller gets this reference; the registry drops its own when this
   * thread exits, on this thread. */
  return manager;
}

static void
test_start_after_foreign_unref (void)
{
  TetherLoopManager *manager;
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) current = NULL;

  manager = g_thread_join (tether_thread_new ("registrar", register_and_start_thread, NULL));

  /* Still running, though the thread that started and registered it is
   * gone and the registry has dropped it there. */
  g_assert_true (tether_loop_manager_is_running (manager));
  future = tether_loop_manager_submit (manager, "handoff", seven_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  wait_ok (future);

  /* Stop and start it again from here: the restarted thread descends from
   * this one instead. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&future);
  future = tether_loop_manager_submit (manager, NULL, current_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  wait_ok (future);
  current = tether_future_dup_object (future, NULL);
  g_assert_true (current == (GObject *) manager);
  g_clear_object (&current);
  g_clear_object (&future);

  /* The work may still hold references for a moment after the future
   * ended; the stop joins its thread. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_finalize_object (manager);
}

static void
stop_on_running (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  TetherLoopManager *manager = TETHER_LOOP_MANAGER (object);

  g_atomic_int_inc ((int *) user_data);
  if (tether_loop_manager_is_running (manager))
    tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

static void
test_notify_running_stops (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("notifystop");
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  int notified = 0;
  gulong id;

  /* The handler stops the manager from inside start's notification: start
   * succeeds, and the manager is stopped and joined when it returns. */
  id = g_signal_connect (manager, "notify::running", G_CALLBACK (stop_on_running), &notified);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (notified, ==, 2);
  g_assert_false (tether_loop_manager_is_running (manager));
  g_assert_null (tether_loop_manager_submit (manager, NULL, seven_work, NULL, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&error);

  g_signal_handler_disconnect (manager, id);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  future = tether_loop_manager_submit (manager, NULL, seven_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  wait_ok (future);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

static void
test_stop_within_stopped (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("within-stopped");
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  guint ran = 99, cancelled = 99;
  int notified = 0;

  g_signal_connect (manager, "notify::running", G_CALLBACK (count_notify), &notified);

  /* Never started: stopped at once, nothing counted, nothing notified. */
  g_assert_true (tether_loop_manager_stop_within (manager, 0, &ran, &cancelled, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ran, ==, 0);
  g_assert_cmpuint (cancelled, ==, 0);

  /* Twice, after a stop_within that did the work. */
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  future = tether_loop_manager_submit_after (manager, NULL, HOUR_USEC, seven_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_loop_manager_stop_within (manager, -1, &ran, &cancelled, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ran, ==, 0);
  g_assert_cmpuint (cancelled, ==, 1);
  g_assert_true (tether_loop_manager_stop_within (manager, -1, &ran, &cancelled, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ran + cancelled, ==, 0);
  /* And after a plain stop. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);
  g_assert_true (tether_loop_manager_stop_within (manager, 0, NULL, NULL, NULL));
  g_assert_cmpint (notified, ==, 2);
}

typedef struct
{
  TetherLoopManager *manager;
  GError            *destroy_error;
  GError            *notify_error;
  gboolean           running_in_destroy;
  int                destroyed;
  int                notified;
} OwnWithin;

static void
stop_within_destroy (gpointer data)
{
  OwnWithin *own = data;

  /* func_data_destroy runs on the manager's thread: it cannot wait for it. */
  g_assert_false (tether_loop_manager_stop_within (own->manager, 0, NULL, NULL, &own->destroy_error));
  own->running_in_destroy = tether_loop_manager_is_running (own->manager);
  g_atomic_int_set (&own->destroyed, 1);
}

static void
stop_within_on_notify (GObject    *object,
                       GParamSpec *pspec,
                       gpointer    user_data)
{
  OwnWithin *own = user_data;
  g_autoptr(TetherLoopManager) current = tether_loop_manager_ref_current ();

  /* Only the notification emitted on the manager's own thread, by the stop
   * the work below makes. */
  if (current != own->manager)
    return;
  g_assert_false (tether_loop_manager_stop_within (own->manager, -1, NULL, NULL, &own->notify_error));
  own->notified++;
}

static void
stop_self_work (TetherWork *work,
                gpointer    user_data)
{
  OwnWithin *own = user_data;

  tether_loop_manager_stop (own->manager, TETHER_STOP_MODE_DRAIN);
  tether_work_return_boolean (work, TRUE);
}

static void
test_stop_within_own_thread_callbacks (void)
{
  g_autoptr(TetherLoopManager) manager = started ("within-own", NULL);
  g_autoptr(TetherFuture) future = NULL;
  OwnWithin own = { manager };
  guint ran = 0, cancelled = 0;

  future = tether_loop_manager_submit (manager, NULL, seven_work, &own, stop_within_destroy, NULL, NULL);
  wait_ok (future);
  wait_until_set (&own.destroyed);
  g_assert_error (own.destroy_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_true (own.running_in_destroy);
  g_assert_true (tether_loop_manager_is_running (manager));
  g_clear_error (&own.destroy_error);

  /* notify::running from a stop made by work: emitted on the manager's
   * thread, where stop_within refuses too. */
  g_signal_connect (manager, "notify::running", G_CALLBACK (stop_within_on_notify), &own);
  g_clear_object (&future);
  future = tether_loop_manager_submit (manager, NULL, stop_self_work, &own, NULL, NULL, NULL);
  wait_ok (future);
  /* From here, a foreign thread, it finishes the stop the work began. */
  g_assert_true (tether_loop_manager_stop_within (manager, TIMEOUT_USEC, &ran, &cancelled, NULL));
  g_assert_cmpint (own.notified, ==, 1);
  g_assert_error (own.notify_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_clear_error (&own.notify_error);
}

typedef struct
{
  Gate               gate;
  TetherLoopManager *manager;
  GError            *error;
  GThread           *thread;
  int                inner_destroyed;
  int                destroyed;
} FullQueue;

static void
full_queue_work (TetherWork *work,
                 gpointer    user_data)
{
  gate_work (work, &((FullQueue *) user_data)->gate);
}

static void
full_queue_post (gpointer data)
{
  g_assert_not_reached ();
}

static void
full_queue_inner_destroy (gpointer data)
{
  FullQueue *full = data;

  full->thread = g_thread_self ();
  g_atomic_int_inc (&full->inner_destroyed);
}

static void
full_queue_destroy (gpointer data)
{
  FullQueue *full = data;

  /* The queue is full and submit-timeout is -1, but the manager's own
   * thread never waits for room: only it could make some. */
  g_assert_false (tether_loop_manager_post (full->manager, NULL, full_queue_post, full,
                                            full_queue_inner_destroy, &full->error));
  g_atomic_int_set (&full->destroyed, 1);
}

static void
test_busy_destroy_notify_own_thread (void)
{
  g_autoptr(TetherLoopManager) manager = started ("busy-destroy", NULL);
  g_autoptr(TetherFuture) holder = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  g_autoptr(GError) error = NULL;
  FullQueue full = { .manager = manager };

  gate_init (&full.gate);
  tether_loop_manager_set_max_pending (manager, 1);
  holder = tether_loop_manager_submit (manager, NULL, full_queue_work, &full, full_queue_destroy, NULL, NULL);
  gate_wait_entered_within (&full.gate);
  queued = tether_loop_manager_submit (manager, NULL, seven_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tether_loop_manager_get_n_pending (manager), ==, 1);

  /* Full: from here, BUSY at once with the default submit-timeout of 0,
   * and the rejected work's data is released before the call returns. */
  g_assert_false (tether_loop_manager_post (manager, NULL, full_queue_post, &full,
                                            full_queue_inner_destroy, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_BUSY);
  g_clear_error (&error);
  g_assert_cmpint (full.inner_destroyed, ==, 1);
  g_assert_true (full.thread == g_thread_self ());

  /* The holder's destroy notify posts while the queue is still full. */
  tether_loop_manager_set_submit_timeout (manager, -1);
  gate_open (&full.gate);
  wait_ok (holder);
  wait_ok (queued);
  wait_until_set (&full.destroyed);
  g_assert_error (full.error, TETHER_ERROR, TETHER_ERROR_BUSY);
  g_assert_nonnull (strstr (full.error->message, "own thread"));
  g_clear_error (&full.error);
  g_assert_cmpint (full.inner_destroyed, ==, 2);
  g_assert_true (full.thread != g_thread_self ());
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  gate_clear (&full.gate);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (misuse_cases); i++)
    {
      g_autofree char *path = g_strconcat ("/Tether/Misuse/critical/", misuse_cases[i].path, NULL);

      g_test_add_data_func (path, &misuse_cases[i], test_misuse);
    }

  g_test_add_func ("/Tether/Misuse/empty-id", test_empty_id);
  g_test_add_func ("/Tether/Misuse/unknown-flags", test_unknown_flags);
  g_test_add_func ("/Tether/Misuse/force-create-strict", test_force_create_strict);
  g_test_add_func ("/Tether/Misuse/start-twice", test_start_twice);
  g_test_add_func ("/Tether/Misuse/double-stop", test_double_stop);
  g_test_add_func ("/Tether/Misuse/stop-never-started", test_stop_never_started);
  g_test_add_func ("/Tether/Misuse/wait-own-future", test_wait_own_future);
  g_test_add_func ("/Tether/Misuse/work-stops-own-manager", test_work_stops_own_manager);
  g_test_add_func ("/Tether/Misuse/work-unrefs-own-manager", test_work_unrefs_own_manager);
  g_test_add_func ("/Tether/Misuse/destroy-notify-unrefs-manager", test_destroy_notify_unrefs_manager);
  g_test_add_func ("/Tether/Misuse/destroy-notify-submits/running", test_destroy_notify_submits_running);
  g_test_add_data_func ("/Tether/Misuse/destroy-notify-submits/draining",
                        GINT_TO_POINTER (TETHER_STOP_MODE_DRAIN), test_destroy_notify_submits_stopping);
  g_test_add_data_func ("/Tether/Misuse/destroy-notify-submits/cancelling",
                        GINT_TO_POINTER (TETHER_STOP_MODE_CANCEL), test_destroy_notify_submits_stopping);
  g_test_add_func ("/Tether/Misuse/destroy-notify-submits/rejected", test_destroy_notify_submits_rejected);
  g_test_add_func ("/Tether/Misuse/destroy-notify-submits/other-manager", test_destroy_notify_submits_other);
  g_test_add_func ("/Tether/Misuse/async-callback-stops-manager", test_async_callback_stops_manager);
  g_test_add_func ("/Tether/Misuse/async-callback-unrefs-manager", test_async_callback_unrefs_manager);
  g_test_add_func ("/Tether/Misuse/post-during-drain", test_post_during_drain);
  g_test_add_func ("/Tether/Misuse/lineage-attach-twice", test_lineage_attach_twice);
  g_test_add_func ("/Tether/Misuse/last-unref-on-other-thread", test_last_unref_on_other_thread);
  g_test_add_func ("/Tether/Misuse/start-after-foreign-unref", test_start_after_foreign_unref);
  g_test_add_func ("/Tether/Misuse/notify-running-stops", test_notify_running_stops);
  g_test_add_func ("/Tether/Misuse/stop-within/stopped", test_stop_within_stopped);
  g_test_add_func ("/Tether/Misuse/stop-within/own-thread-callbacks", test_stop_within_own_thread_callbacks);
  g_test_add_func ("/Tether/Misuse/busy/destroy-notify-own-thread", test_busy_destroy_notify_own_thread);

  return test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <tether.h>

#include "test-util.h"

static void
count_work (TetherWork *work,
            gpointer    user_data)
{
  tether_work_return_int (work, g_atomic_int_add ((int *) user_data, 1) + 1);
}

static void
count_post (gpointer user_data)
{
  g_atomic_int_inc ((int *) user_data);
}

/* Destroy notifies get the work's data, so they count in one place. */
static int destroyed;

static void
count_destroy (gpointer user_data)
{
  g_atomic_int_inc (&destroyed);
}


static void
test_lifecycle (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("life");
  g_autoptr(GError) error = NULL;
  g_autofree char *task_type = NULL;
  GMainContext *context = NULL;
  gboolean running = TRUE;
  char *id = NULL;

  g_assert_cmpstr (tether_loop_manager_get_id (manager), ==, "life");
  g_assert_false (tether_loop_manager_is_running (manager));
  g_assert_nonnull (tether_loop_manager_get_context (manager));

  g_assert_true (tether_loop_manager_start (manager, "render", &error));
  g_assert_no_error (error);
  g_assert_true (tether_loop_manager_is_running (manager));
  task_type = tether_loop_manager_dup_task_type (manager);
  g_assert_cmpstr (task_type, ==, "render");

  g_assert_false (tether_loop_manager_start (manager, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING);
  g_clear_error (&error);

  g_object_get (manager, "id", &id, "running", &running, "context", &context, NULL);
  g_assert_cmpstr (id, ==, "life");
  g_assert_true (running);
  g_assert_true (context == tether_loop_manager_get_context (manager));
  g_free (id);
  g_main_context_unref (context);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_false (tether_loop_manager_is_running (manager));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);

  /* Restart with no task type. */
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&task_type, g_free);
  task_type = tether_loop_manager_dup_task_type (manager);
  g_assert_null (task_type);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

static void
test_generated_id (void)
{
  g_autoptr(TetherLoopManager) a = tether_loop_manager_new (NULL);
  g_autoptr(TetherLoopManager) b = tether_loop_manager_new ("");

  g_assert_true (g_str_has_prefix (tether_loop_manager_get_id (a), "manager-"));
  g_assert_cmpstr (tether_loop_manager_get_id (a), !=, tether_loop_manager_get_id (b));
}

typedef struct
{
  GThread           *thread;
  TetherLoopManager *current;
  gboolean           is_default;
} WhereData;

static void
where_work (TetherWork *work,
            gpointer    user_data)
{
  WhereData *where = user_data;
  g_autoptr(TetherLoopManager) current = tether_loop_manager_ref_current ();

  where->thread = g_thread_self ();
  where->current = current;
  where->is_default = g_main_context_get_thread_default () != NULL;
  tether_work_return_string (work, tether_work_get_manager_id (work));
}

static void
test_submit_future (void)
{
  g_autoptr(TetherLoopManager) manager = started ("future", NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  WhereData where = { 0 };

  future = tether_loop_manager_submit (manager, NULL, where_work, &where, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_true (tether_future_is_done (future));
  value = tether_future_dup_string (future, NULL);
  g_assert_cmpstr (value, ==, "future");
  g_assert_true (where.thread != g_thread_self ());
  g_assert_true (where.current == manager);
  g_assert_true (where.is_default);
  g_assert_null (tether_future_dup_error (future));
  g_assert_null (tether_loop_manager_ref_current ());
}

static void
value_work (TetherWork *work,
            gpointer    user_data)
{
  switch (GPOINTER_TO_INT (user_data))
    {
    case 0: tether_work_return_int64 (work, G_GINT64_CONSTANT (1) << 40); break;
    case 1: tether_work_return_double (work, 2.5); break;
    case 2: tether_work_return_variant (work, g_variant_new ("(si)", "x", 7)); break;
    case 3:
      {
        g_autoptr(GCancellable) object = g_cancellable_new ();

        tether_work_return_object (work, object);
        break;
      }
    case 4: tether_work_return_pointer (work, g_strdup ("ptr"), g_free); break;
    case 5: tether_work_return_value (work, NULL); break;
    default: tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no %s", "luck");
    }
}

static void
test_value_types (void)
{
  g_autoptr(TetherLoopManager) manager = started ("values", NULL);
  TetherFuture *f[7];
  g_autoptr(GVariant) variant = NULL;
  g_autoptr(GObject) object = NULL;
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 7; i++)
    {
      f[i] = tether_loop_manager_submit (manager, NULL, value_work, GINT_TO_POINTER (i), NULL, NULL, &error);
      g_assert_no_error (error);
    }
  for (int i = 0; i < 6; i++)
    {
      g_assert_true (tether_future_wait (f[i], -1, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (tether_future_get_int64 (f[0], NULL), ==, G_GINT64_CONSTANT (1) << 40);
  g_assert_cmpfloat (tether_future_get_double (f[1], NULL), ==, 2.5);
  variant = tether_future_dup_variant (f[2], NULL);
  g_assert_cmpstr (g_variant_get_type_string (variant), ==, "(si)");
  object = tether_future_dup_object (f[3], NULL);
  g_assert_true (G_IS_CANCELLABLE (object));
  g_assert_cmpstr (tether_future_get_pointer (f[4], NULL), ==, "ptr");
  g_assert_null (tether_future_get_value (f[5]));

  g_assert_false (tether_future_wait (f[6], -1, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "no luck");
  g_assert_cmpint (tether_future_get_status (f[6]), ==, TETHER_FUTURE_STATUS_FAILED);
  g_clear_error (&error);
  error = tether_future_dup_error (f[6]);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);

  for (int i = 0; i < 7; i++)
    g_object_unref (f[i]);
}

typedef struct
{
  GMainLoop    *loop;
  GThread      *thread;
  gboolean      ok;
  GValue        value;
  GError       *error;
  int           calls;
} AsyncData;

static void
on_submitted (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  AsyncData *data = user_data;

  data->calls++;
  data->thread = g_thread_self ();
  data->ok = tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (object), result,
                                                &data->value, &data->error);
  g_main_loop_quit (data->loop);
}

static void
test_submit_async (void)
{
  g_autoptr(TetherLoopManager) manager = started ("async", NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  AsyncData data = { 0 };
  int counter = 41;

  g_main_context_push_thread_default (context);
  data.loop = g_main_loop_new (context, FALSE);

  tether_loop_manager_submit_async (manager, NULL, count_work, &counter, NULL, G_PRIORITY_DEFAULT, NULL,
                                    on_submitted, &data);
  g_assert_cmpint (data.calls, ==, 0);
  g_main_loop_run (data.loop);
  g_assert_cmpint (data.calls, ==, 1);
  g_assert_true (data.thread == g_thread_self ());
  g_assert_true (data.ok);
  g_assert_no_error (data.error);
  g_assert_cmpint (g_value_get_int (&data.value), ==, 42);
  g_value_unset (&data.value);

  /* A rejection arrives through the callback too, never inside the call. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_submit_async (manager, NULL, count_work, &counter, NULL, G_PRIORITY_DEFAULT, NULL,
                                    on_submitted, &data);
  g_assert_cmpint (data.calls, ==, 1);
  g_main_loop_run (data.loop);
  g_assert_cmpint (data.calls, ==, 2);
  g_assert_false (data.ok);
  g_assert_error (data.error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&data.error);
  /* Never left uninitialized: on failure (and for work that returned no
   * value) it holds a NULL pointer, which bindings show as None/null. */
  g_assert_true (G_VALUE_HOLDS_POINTER (&data.value));
  g_assert_null (g_value_get_pointer (&data.value));
  g_value_unset (&data.value);

  g_main_loop_unref (data.loop);
  g_main_context_pop_thread_default (context);
}

static void
test_post (void)
{
  g_autoptr(TetherLoopManager) manager = started ("post", NULL);
  g_autoptr(GError) error = NULL;
  int runs = 0;

  destroyed = 0;

  for (int i = 0; i < 1000; i++)
    {
      g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &runs, NULL, &error));
      g_assert_no_error (error);
    }
  /* Runs once, then its destroy notify runs once. */
  g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &runs, count_destroy, &error));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (runs, ==, 1001);
  g_assert_cmpint (destroyed, ==, 1);
}

typedef struct
{
  TetherLoopManager *manager;
  int                ran;
  gboolean           inline_run;
} SelfPost;

static void
self_post_inner (gpointer user_data)
{
  SelfPost *sp = user_data;

  sp->ran++;
}

static void
self_post_outer (TetherWork *work,
                 gpointer    user_data)
{
  SelfPost *sp = user_data;

  g_assert_true (tether_loop_manager_post (sp->manager, NULL, self_post_inner, sp, NULL, NULL));
  /* Queued, never inline. */
  sp->inline_run = sp->ran != 0;
  tether_work_return_boolean (work, TRUE);
}

static void
test_post_own_thread_is_queued (void)
{
  g_autoptr(TetherLoopManager) manager = started ("selfpost", NULL);
  g_autoptr(TetherFuture) future = NULL;
  SelfPost sp = { manager, 0, TRUE };

  future = tether_loop_manager_submit (manager, NULL, self_post_outer, &sp, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_false (sp.inline_run);
  g_assert_cmpint (sp.ran, ==, 1);
}

static void
test_task_types (void)
{
  g_autoptr(TetherLoopManager) typed = started ("typed", "render");
  g_autoptr(TetherLoopManager) untyped = started ("untyped", NULL);
  g_autoptr(GError) error = NULL;
  TetherFuture *future;
  int runs = 0;

  destroyed = 0;

  future = tether_loop_manager_submit (typed, "update", count_work, &runs, count_destroy, NULL, &error);
  g_assert_null (future);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_assert_nonnull (strstr (error->message, "'render'"));
  g_assert_nonnull (strstr (error->message, "'update'"));
  g_assert_cmpint (destroyed, ==, 1);
  g_clear_error (&error);

  future = tether_loop_manager_submit (typed, NULL, count_work, &runs, count_destroy, NULL, &error);
  g_assert_null (future);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_assert_nonnull (strstr (error->message, "no task type"));
  g_clear_error (&error);

  g_assert_false (tether_loop_manager_post (typed, "x", count_post, &runs, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_clear_error (&error);

  future = tether_loop_manager_submit (typed, "render", count_work, &runs, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  g_clear_object (&future);

  future = tether_loop_manager_submit (untyped, "anything", count_work, &runs, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  g_clear_object (&future);

  tether_loop_manager_stop (typed, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (untyped, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (runs, ==, 2);
  g_assert_cmpint (destroyed, ==, 2);
}

static void
test_not_running (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("idle");
  g_autoptr(GError) error = NULL;
  int runs = 0;

  destroyed = 0;

  g_assert_null (tether_loop_manager_submit (manager, NULL, count_work, &runs, count_destroy, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_nonnull (strstr (error->message, "LoopManager.start()"));
  g_clear_error (&error);
  g_assert_false (tether_loop_manager_post (manager, NULL, count_post, &runs, count_destroy, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_cmpint (runs, ==, 0);
  g_assert_cmpint (destroyed, ==, 2);
}

static void
test_cancel_before_start (void)
{
  g_autoptr(TetherLoopManager) manager = started ("precancel", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  int runs = 0;

  destroyed = 0;

  g_cancellable_cancel (cancellable);
  future = tether_loop_manager_submit (manager, NULL, count_work, &runs, count_destroy, cancellable, &error);
  g_assert_no_error (error);
  g_assert_false (tether_future_wait (future, -1, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_CANCELLED);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (runs, ==, 0);
  g_assert_cmpint (destroyed, ==, 1);
}

static void
test_cancel_queued (void)
{
  g_autoptr(TetherLoopManager) manager = started ("cancelqueued", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) a = NULL;
  g_autoptr(TetherFuture) b = NULL;
  int runs = 0;
  Gate gate;

  gate_init (&gate);
  blocker = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  a = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  b = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, cancellable, NULL);

  /* Queued work ends at once when cancelled, while the thread is still busy. */
  tether_future_cancel (a);
  g_assert_cmpint (tether_future_get_status (a), ==, TETHER_FUTURE_STATUS_CANCELLED);
  g_cancellable_cancel (cancellable);
  g_assert_cmpint (tether_future_get_status (b), ==, TETHER_FUTURE_STATUS_CANCELLED);

  gate_open (&gate);
  g_assert_true (tether_future_wait (blocker, -1, NULL, NULL));
  tether_future_cancel (blocker);
  g_assert_cmpint (tether_future_get_status (blocker), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (runs, ==, 0);
  gate_clear (&gate);
}

/* Work that keeps the manager's thread busy until it is cancelled. */
static void
cancel_aware_work (TetherWork *work,
                   gpointer    user_data)
{
  wait_for_cancel (work, user_data);
  g_assert_true (tether_work_is_cancelled (work));
  /* A value returned after cancellation still wins. */
  tether_work_return_string (work, "finished anyway");
}

static void
test_cancel_running_value_wins (void)
{
  g_autoptr(TetherLoopManager) manager = started ("cancelrun", NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  Gate gate;

  gate_init (&gate);
  future = tether_loop_manager_submit (manager, NULL, cancel_aware_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  tether_future_cancel (future);
  g_assert_true (tether_future_wait (future, -1, NULL, &error));
  g_assert_no_error (error);
  value = tether_future_dup_string (future, NULL);
  g_assert_cmpstr (value, ==, "finished anyway");
  gate_clear (&gate);
}

static void
test_wait_timeout (void)
{
  g_autoptr(TetherLoopManager) manager = started ("timeout", NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  Gate gate;

  gate_init (&gate);
  future = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  g_assert_false (tether_future_wait (future, 0, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT);
  g_clear_error (&error);
  g_assert_false (tether_future_wait (future, 20000, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT);
  g_clear_error (&error);

  /* The timeout did not cancel the work. */
  gate_open (&gate);
  g_assert_true (tether_future_wait (future, -1, NULL, &error));
  g_assert_true (tether_future_get_boolean (future, NULL));
  gate_clear (&gate);
}

static void
fail_work (TetherWork *work,
           gpointer    user_data)
{
  tether_work_return_new_error (work, TETHER_ERROR, TETHER_ERROR_FAILED, "failed on purpose");
}

static void
test_wait_done (void)
{
  g_autoptr(TetherLoopManager) manager = started ("waitdone", NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherFuture) failed = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  Gate gate;

  /* A timeout is FALSE, with nothing to report, and leaves the work be. */
  gate_init (&gate);
  future = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  queued = tether_loop_manager_submit (manager, NULL, count_work, &(int) { 0 }, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  g_assert_false (tether_future_wait_done (future, 0));
  g_assert_false (tether_future_wait_done (future, 20000));
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_PENDING);

  /* Ended, however it ended: cancelled, succeeded, failed. */
  tether_future_cancel (queued);
  g_assert_true (tether_future_wait_done (queued, 0));
  g_assert_cmpint (tether_future_get_status (queued), ==, TETHER_FUTURE_STATUS_CANCELLED);
  gate_open (&gate);
  g_assert_true (tether_future_wait_done (future, -1));
  g_assert_cmpint (tether_future_get_status (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  failed = tether_loop_manager_submit (manager, NULL, fail_work, NULL, NULL, NULL, NULL);
  g_assert_true (tether_future_wait_done (failed, -1));
  g_assert_cmpint (tether_future_get_status (failed), ==, TETHER_FUTURE_STATUS_FAILED);
  gate_clear (&gate);
}

static void
wait_done_on_manager_thread (TetherWork *work,
                             gpointer    user_data)
{
  g_assert_false (tether_future_wait_done (user_data, -1));
  tether_work_return_boolean (work, TRUE);
}

static void
test_wait_done_on_manager_thread (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(TetherLoopManager) manager = started ("waitdonebad", NULL);
      g_autoptr(TetherLoopManager) other = started ("waitdoneother", NULL);
      g_autoptr(TetherFuture) elsewhere = NULL;
      g_autoptr(TetherFuture) future = NULL;
      Gate gate;

      gate_init (&gate);
      elsewhere = tether_loop_manager_submit (other, NULL, block_work, &gate, NULL, NULL, NULL);
      future = tether_loop_manager_submit (manager, NULL, wait_done_on_manager_thread,
                                           elsewhere, NULL, NULL, NULL);
      tether_future_wait (future, -1, NULL, NULL);
      gate_open (&gate);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*tether_future_wait_done*tether_core_get_current () == NULL*");
}

typedef struct
{
  TetherLoopManager *manager;
  GError            *error;
  int                runs;     /* outlives deadlock_work: the inner work runs later */
} DeadlockData;

static void
deadlock_work (TetherWork *work,
               gpointer    user_data)
{
  DeadlockData *data = user_data;
  g_autoptr(TetherFuture) inner = tether_loop_manager_submit (data->manager, NULL,
                                                              count_work, &data->runs, NULL, NULL, NULL);

  g_assert_false (tether_future_wait (inner, -1, NULL, &data->error));
  tether_work_return_boolean (work, TRUE);
}

static void
test_would_deadlock (void)
{
  g_autoptr(TetherLoopManager) manager = started ("deadlock", NULL);
  g_autoptr(TetherFuture) future = NULL;
  DeadlockData data = { manager, NULL, 0 };

  future = tether_loop_manager_submit (manager, NULL, deadlock_work, &data, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (data.runs, ==, 1);
  g_assert_error (data.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_nonnull (strstr (data.error->message, "deadlock"));
  g_clear_error (&data.error);
}

static void
abandon_work (TetherWork *work,
              gpointer    user_data)
{
}

static void
test_abandoned (void)
{
  g_autoptr(TetherLoopManager) manager = started ("abandon", NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  future = tether_loop_manager_submit (manager, NULL, abandon_work, NULL, NULL, NULL, NULL);
  g_assert_false (tether_future_wait (future, -1, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ABANDONED);
}

static gboolean
finish_later (gpointer user_data)
{
  tether_work_return_int (user_data, 7);
  return G_SOURCE_REMOVE;
}

static void
later_work (TetherWork *work,
            gpointer    user_data)
{
  /* The thread-default context is the manager's: finish from a source. */
  g_autoptr(GSource) source = g_timeout_source_new (10);

  g_source_set_callback (source, finish_later, g_object_ref (work), g_object_unref);
  g_source_attach (source, g_main_context_get_thread_default ());
}

static void
test_complete_later (void)
{
  g_autoptr(TetherLoopManager) manager = started ("later", NULL);
  g_autoptr(TetherFuture) future = NULL;

  future = tether_loop_manager_submit (manager, NULL, later_work, NULL, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (future, NULL), ==, 7);
}

/* Records its handle, keeps it (a reference) when asked, returns at once
 * otherwise. */
typedef struct
{
  TetherWork *seen;
  TetherWork *kept;
} HandleRecord;

static void
record_handle_work (TetherWork *work,
                    gpointer    user_data)
{
  HandleRecord *record = user_data;

  record->seen = work;
  tether_work_return_int (work, 1);
}

static void
keep_handle_work (TetherWork *work,
                  gpointer    user_data)
{
  HandleRecord *record = user_data;

  record->seen = work;
  record->kept = g_object_ref (work);
}

static void
borrow_handle_work (TetherWork *work,
                    gpointer    user_data)
{
  HandleRecord *record = user_data;
  TetherWork *borrowed = g_object_ref (work);

  record->seen = work;
  g_object_unref (borrowed);
  tether_work_return_int (work, 2);
}

/* A handle someone keeps is never handed to another job (so a late
 * tether_work_return_*() completes its own submission); one nobody kept,
 * even if it was referenced for a while, serves the next job. */
static void
test_handle_reuse (void)
{
  g_autoptr(TetherLoopManager) manager = started ("handles", NULL);
  HandleRecord kept = { NULL, NULL }, next = { NULL, NULL }, borrowed = { NULL, NULL };
  HandleRecord after = { NULL, NULL };
  g_autoptr(TetherFuture) kept_future = NULL;
  g_autoptr(TetherFuture) next_future = NULL;
  g_autoptr(TetherFuture) borrowed_future = NULL;
  g_autoptr(TetherFuture) after_future = NULL;
  g_autoptr(GError) error = NULL;

  kept_future = tether_loop_manager_submit (manager, NULL, keep_handle_work,
                                            &kept, NULL, NULL, NULL);
  next_future = tether_loop_manager_submit (manager, NULL, record_handle_work,
                                            &next, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (next_future, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (kept.kept != NULL);
  g_assert_true (next.seen != kept.seen);
  g_assert_false (tether_future_is_done (kept_future));

  /* From this thread, after the manager ran another job. */
  tether_work_return_int (kept.kept, 3);
  g_clear_object (&kept.kept);
  g_assert_true (tether_future_wait (kept_future, -1, NULL, &error));
  g_assert_cmpint (tether_future_get_int (kept_future, NULL), ==, 3);
  g_assert_cmpint (tether_future_get_int (next_future, NULL), ==, 1);

  borrowed_future = tether_loop_manager_submit (manager, NULL, borrow_handle_work,
                                                &borrowed, NULL, NULL, NULL);
  after_future = tether_loop_manager_submit (manager, NULL, record_handle_work,
                                             &after, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (after_future, -1, NULL, &error));
  g_assert_cmpint (tether_future_get_int (borrowed_future, NULL), ==, 2);
  g_assert_true (after.seen == borrowed.seen);
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

static TetherFuture *
waited (TetherLoopManager *manager,
        TetherWorkFunc     func)
{
  TetherFuture *future = tether_loop_manager_submit (manager, NULL, func, NULL, NULL, NULL, NULL);

  tether_future_wait (future, -1, NULL, NULL);
  g_assert_true (tether_future_is_done (future));
  return future;
}

/* A typed getter reports what stands between the caller and the value as a
 * GError, never a critical: the work's own error, PENDING, WRONG_TYPE. */
static void
test_typed_getter_errors (void)
{
  g_autoptr(TetherLoopManager) manager = started ("getters", NULL);
  g_autoptr(TetherFuture) text = waited (manager, string_work);
  g_autoptr(TetherFuture) nothing = waited (manager, no_value_work);
  g_autoptr(TetherFuture) failed = waited (manager, fail_work);
  g_autoptr(TetherFuture) later = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *copy = NULL;

  g_assert_cmpint (tether_future_get_int (text, &error), ==, 0);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_TYPE);
  g_assert_nonnull (strstr (error->message, "gchararray"));
  g_clear_error (&error);
  copy = tether_future_dup_string (text, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (copy, ==, "text");
  /* NULL for @error: the same answer, nothing logged. */
  g_assert_cmpint (tether_future_get_int64 (text, NULL), ==, 0);

  g_assert_null (tether_future_dup_object (nothing, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_TYPE);
  g_assert_nonnull (strstr (error->message, "no value"));
  g_clear_error (&error);

  g_assert_cmpfloat (tether_future_get_double (failed, &error), ==, 0.0);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "failed on purpose");
  g_clear_error (&error);

  later = tether_loop_manager_submit_after (manager, NULL, (gint64) G_USEC_PER_SEC * 3600,
                                            string_work, NULL, NULL, NULL, NULL);
  g_assert_false (tether_future_get_boolean (later, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
  g_clear_error (&error);
  tether_future_cancel (later);
  g_assert_null (tether_future_dup_variant (later, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static gpointer
cancel_when_entered (gpointer data)
{
  gpointer *args = data;

  gate_wait_entered (args[0]);
  g_cancellable_cancel (args[1]);
  return NULL;
}

/* A cancellable given to tether_future_wait() ends the wait, not the work;
 * an outcome already there wins over it. */
static void
test_wait_cancellable (void)
{
  g_autoptr(TetherLoopManager) manager = started ("wait-cancellable", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(TetherFuture) blocked = NULL;
  g_autoptr(GError) error = NULL;
  GThread *canceller;
  gpointer args[2];
  Gate gate;

  gate_init (&gate);
  blocked = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  args[0] = &gate;
  args[1] = cancellable;
  canceller = g_thread_new ("canceller", cancel_when_entered, args);
  g_assert_false (tether_future_wait (blocked, -1, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_thread_join (canceller);
  g_assert_false (tether_future_is_done (blocked));

  /* Already cancelled: fails at once, even with no timeout. */
  g_assert_false (tether_future_wait (blocked, -1, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  /* The work goes on, and its outcome wins over the cancelled cancellable. */
  gate_open (&gate);
  g_assert_true (tether_future_wait (blocked, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (blocked, -1, cancellable, &error));
  g_assert_no_error (error);
  gate_clear (&gate);
}

typedef struct
{
  GThread *thread;
  guint    count;
  TetherFutureStatus status;
} StatusNotes;

static void
on_status (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  StatusNotes *notes = user_data;

  notes->thread = g_thread_self ();
  notes->count++;
  notes->status = tether_future_get_status (TETHER_FUTURE (object));
}

static void
seven_work (TetherWork *work,
            gpointer    user_data)
{
  tether_work_return_int (work, 7);
}

/* notify::status comes once, in the submitter's thread-default context,
 * never inside the call that ended the future; a future nobody listens to
 * schedules nothing. */
static void
test_status_notifies (void)
{
  g_autoptr(TetherLoopManager) manager = started ("status-notify", NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherFuture) cancelled = NULL;
  g_autoptr(TetherFuture) unheard = NULL;
  StatusNotes cancelled_notes = { NULL, 0, 0 };

  /* Pushing the context acquires it: this thread runs it, as a loop
   * thread does, so its futures notify. */
  g_main_context_push_thread_default (context);

  cancelled = tether_loop_manager_submit_after (manager, NULL, (gint64) G_USEC_PER_SEC * 3600,
                                                seven_work, NULL, NULL, NULL, NULL);
  g_signal_connect (cancelled, "notify::status", G_CALLBACK (on_status), &cancelled_notes);
  tether_future_cancel (cancelled);
  g_assert_cmpuint (cancelled_notes.count, ==, 0);    /* not inside cancel() */
  g_assert_true (g_main_context_pending (context));
  while (g_main_context_pending (context))
    g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (cancelled_notes.count, ==, 1);
  g_assert_true (cancelled_notes.thread == g_thread_self ());
  g_assert_cmpint (cancelled_notes.status, ==, TETHER_FUTURE_STATUS_CANCELLED);

  unheard = tether_loop_manager_submit (manager, NULL, seven_work, NULL, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (unheard, -1, NULL, NULL));
  g_assert_false (g_main_context_pending (context));

  /* Connected before the work can end: always notified, on this thread. */
  {
    g_autoptr(TetherFuture) gated = NULL;
    StatusNotes notes = { NULL, 0, 0 };
    Gate gate;

    gate_init (&gate);
    gated = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
    g_signal_connect (gated, "notify::status", G_CALLBACK (on_status), &notes);
    gate_open (&gate);
    g_assert_true (tether_future_wait (gated, -1, NULL, NULL));
    g_assert_cmpuint (notes.count, ==, 0);
    while (notes.count == 0)
      g_main_context_iteration (context, TRUE);
    g_assert_true (notes.thread == g_thread_self ());
    g_assert_cmpint (notes.status, ==, TETHER_FUTURE_STATUS_SUCCEEDED);
    gate_clear (&gate);
  }

  g_main_context_pop_thread_default (context);

  /* Submitted from a thread that runs no context (this one, once it popped
   * its own, which pushing had acquired): never notified, even with a
   * handler. */
  {
    g_autoptr(TetherFuture) quiet = NULL;
    StatusNotes notes = { NULL, 0, 0 };
    Gate gate;

    gate_init (&gate);
    quiet = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
    g_signal_connect (quiet, "notify::status", G_CALLBACK (on_status), &notes);
    gate_open (&gate);
    g_assert_true (tether_future_wait (quiet, -1, NULL, NULL));
    while (g_main_context_iteration (NULL, FALSE))
      ;
    g_assert_cmpuint (notes.count, ==, 0);
    gate_clear (&gate);
  }
}

static void
stamp_work (TetherWork *work,
            gpointer    user_data)
{
  tether_work_return_int64 (work, g_get_monotonic_time ());
}

static void
test_timers (void)
{
  g_autoptr(TetherLoopManager) manager = started ("timers", NULL);
  g_autoptr(TetherFuture) later = NULL;
  g_autoptr(TetherFuture) at = NULL;
  g_autoptr(TetherFuture) cancelled = NULL;
  g_autoptr(TetherFuture) pending = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  int runs = 0;

  later = tether_loop_manager_submit_after (manager, NULL, 30000, stamp_work, NULL, NULL, NULL, &error);
  at = tether_loop_manager_submit_at (manager, NULL, start + 10000, stamp_work, NULL, NULL, NULL, &error);
  /* Due in ten seconds, not milliseconds: a loaded machine can hold this
   * thread up between the submission and the cancel for longer than a
   * short delay, and a timer that came due may rightly have run. */
  cancelled = tether_loop_manager_submit_after (manager, NULL, 10 * G_USEC_PER_SEC, count_work, &runs, NULL, NULL, &error);
  pending = tether_loop_manager_submit_after (manager, NULL, G_GINT64_CONSTANT (3600000000), count_work, &runs, NULL, NULL, &error);
  g_assert_no_error (error);

  tether_future_cancel (cancelled);
  g_assert_cmpint (tether_future_get_status (cancelled), ==, TETHER_FUTURE_STATUS_CANCELLED);

  g_assert_true (tether_future_wait (later, -1, NULL, NULL));
  g_assert_true (tether_future_wait (at, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int64 (later, NULL) - start, >=, 30000);
  g_assert_cmpint (tether_future_get_int64 (at, NULL) - start, >=, 10000);
  /* No order between the two is asserted: when both are overdue (a loaded
   * machine, valgrind) GLib dispatches ready sources of equal priority in
   * attach order, not by ready time. */

  /* A drain does not wait an hour: timers not yet due end cancelled. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (tether_future_get_status (pending), ==, TETHER_FUTURE_STATUS_CANCELLED);
  g_assert_cmpint (runs, ==, 0);
}

static void
stop_self_work (TetherWork *work,
                gpointer    user_data)
{
  TetherLoopManager *manager = user_data;
  g_autoptr(GError) error = NULL;

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_false (tether_loop_manager_is_running (manager));
  g_assert_false (tether_loop_manager_start (manager, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING);
  tether_work_return_boolean (work, TRUE);
}

static void
test_stop_from_work (void)
{
  g_autoptr(TetherLoopManager) manager = started ("selfstop", NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  g_autoptr(GError) error = NULL;
  int runs = 0;
  Gate gate;

  gate_init (&gate);
  future = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  g_clear_object (&future);
  future = tether_loop_manager_submit (manager, NULL, stop_self_work, manager, NULL, NULL, NULL);
  queued = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  gate_open (&gate);

  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  g_assert_true (tether_future_wait (queued, -1, NULL, NULL));
  g_assert_cmpint (runs, ==, 1);

  /* Start again from here: waits for the self-stop to finish, reaps its thread. */
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  gate_clear (&gate);
}

static void
unref_self_work (TetherWork *work,
                 gpointer    user_data)
{
  TetherLoopManager *manager = user_data;

  tether_work_return_boolean (work, TRUE);
  g_object_unref (manager);
}

static void
weak_notify_flag (gpointer  data,
                  GObject  *where)
{
  g_atomic_int_set ((int *) data, 1);
}

static void
test_last_unref_on_own_thread (void)
{
  TetherLoopManager *manager = started ("ownunref", NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherFuture) after = NULL;
  int finalized = 0, runs = 0;
  Gate gate;

  gate_init (&gate);
  g_object_weak_ref (G_OBJECT (manager), weak_notify_flag, &finalized);
  g_object_unref (tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL));
  future = tether_loop_manager_submit (manager, NULL, unref_self_work,
                                       g_object_ref (manager), NULL, NULL, NULL);
  after = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  /* The work now holds the only reference, and drops it on the manager's thread. */
  g_object_unref (manager);
  gate_open (&gate);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  g_assert_true (tether_future_wait (after, -1, NULL, NULL));
  g_assert_cmpint (runs, ==, 1);
  /* Finalized on the manager's thread, after the work's future completed. */
  poll_until (g_atomic_int_get (&finalized));
  gate_clear (&gate);
}

static void
test_unref_foreign_drains (void)
{
  TetherLoopManager *manager = started ("dropqueued", NULL);
  TetherFuture *futures[100];
  int runs = 0;
  Gate gate;

  destroyed = 0;
  gate_init (&gate);
  g_object_unref (tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL));
  gate_wait_entered (&gate);
  for (int i = 0; i < 100; i++)
    futures[i] = tether_loop_manager_submit (manager, NULL, count_work, &runs, count_destroy, NULL, NULL);
  /* The last unref returns while the work it drains is still blocked:
   * the manager's thread drains and exits on its own. */
  watchdog_arm (60, "the last unref of a manager whose work is blocked");
  g_assert_finalize_object (manager);
  watchdog_disarm ();
  g_assert_cmpint (runs, ==, 0);
  gate_open (&gate);
  g_assert_true (tether_loop_manager_wait_detached (60 * G_USEC_PER_SEC));
  g_assert_cmpint (runs, ==, 100);
  g_assert_cmpint (destroyed, ==, 100);
  for (int i = 0; i < 100; i++)
    {
      g_assert_cmpint (tether_future_get_status (futures[i]), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
      g_object_unref (futures[i]);
    }
  gate_clear (&gate);
}


static void
test_drain_vs_cancel (gconstpointer mode_data)
{
  TetherStopMode mode = GPOINTER_TO_INT (mode_data);
  g_autoptr(TetherLoopManager) manager = started ("modes", NULL);
  TetherFuture *futures[200];
  int runs = 0, posts = 0;
  guint succeeded = 0, cancelled = 0;
  StopArgs stop_args;
  TetherFuture *sentinel;
  int sentinel_runs = 0;
  GThread *stopper;
  Gate gate;

  destroyed = 0;
  gate_init (&gate);
  g_object_unref (tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL));
  gate_wait_entered (&gate);
  for (int i = 0; i < 200; i++)
    futures[i] = tether_loop_manager_submit (manager, NULL, count_work, &runs, count_destroy, NULL, NULL);
  for (int i = 0; i < 50; i++)
    g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &posts, count_destroy, NULL));

  /* Begin the stop while the thread is still held, so nothing queued has
   * run before the mode applies. */
  stop_args.manager = manager;
  stop_args.mode = mode;
  sentinel = tether_loop_manager_submit (manager, NULL, count_work, &sentinel_runs, NULL, NULL, NULL);
  stopper = g_thread_new ("stopper", stop_thread, &stop_args);
  poll_until (!tether_loop_manager_is_running (manager));
  /* CANCEL applies in submission order; the sentinel comes last. */
  if (mode == TETHER_STOP_MODE_CANCEL)
    poll_until (tether_future_is_done (sentinel));
  gate_open (&gate);
  g_thread_join (stopper);
  g_clear_object (&sentinel);

  for (int i = 0; i < 200; i++)
    {
      TetherFutureStatus status = tether_future_get_status (futures[i]);

      g_assert_cmpint (status, !=, TETHER_FUTURE_STATUS_PENDING);
      succeeded += status == TETHER_FUTURE_STATUS_SUCCEEDED;
      cancelled += status == TETHER_FUTURE_STATUS_CANCELLED;
      g_object_unref (futures[i]);
    }
  g_assert_cmpuint (succeeded + cancelled, ==, 200);
  g_assert_cmpuint (succeeded, ==, (guint) runs);
  g_assert_cmpint (destroyed, ==, 250);
  if (mode == TETHER_STOP_MODE_DRAIN)
    {
      g_assert_cmpuint (succeeded, ==, 200);
      g_assert_cmpint (posts, ==, 50);
    }
  else
    {
      g_assert_cmpuint (cancelled, ==, 200);
      g_assert_cmpint (posts, ==, 0);
    }
  gate_clear (&gate);
}

/* 8 threads submit (all three forms) while the main thread stops the
 * manager: each submission is rejected or ends exactly once. */
typedef struct
{
  TetherLoopManager *manager;
  int                accepted;
  int                rejected;
  int                ended;       /* posts' destroy notifies: exactly one each */
  int                post_runs;
  int                runs;
  GPtrArray         *futures;
  GMutex             mutex;
} Race;

static void
race_post (gpointer data)
{
  g_atomic_int_inc (&((Race *) data)->post_runs);
}

static void
race_destroy (gpointer data)
{
  g_atomic_int_inc (&((Race *) data)->ended);
}

static gpointer
race_thread (gpointer data)
{
  Race *race = data;

  for (int i = 0; i < 2000; i++)
    {
      GError *error = NULL;
      gboolean ok;

      if (i % 2 == 0)
        {
          TetherFuture *f = tether_loop_manager_submit (race->manager, NULL, count_work,
                                                        &race->runs, NULL, NULL, &error);
          ok = f != NULL;
          if (ok)
            {
              g_mutex_lock (&race->mutex);
              g_ptr_array_add (race->futures, f);
              g_mutex_unlock (&race->mutex);
            }
        }
      else
        {
          ok = tether_loop_manager_post (race->manager, NULL, race_post, race, race_destroy, &error);
        }
      if (ok)
        g_atomic_int_inc (&race->accepted);
      else
        {
          g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
          g_error_free (error);
          g_atomic_int_inc (&race->rejected);
        }
    }
  return NULL;
}

static void
test_race_submit_during_stop (gconstpointer mode_data)
{
  TetherStopMode mode = GPOINTER_TO_INT (mode_data);

  for (int round = 0; round < 10; round++)
    {
      g_autoptr(TetherLoopManager) manager = started ("race", NULL);
      Race race = { manager, 0, 0, 0, 0, 0, g_ptr_array_new_with_free_func (g_object_unref) };
      GThread *threads[8];
      int posted_accepted;
      guint ended_futures = 0;

      g_mutex_init (&race.mutex);
      for (int i = 0; i < 8; i++)
        threads[i] = g_thread_new ("racer", race_thread, &race);
      /* Each round stops at a later point of the race: once the racers
       * have made 200 more submissions than in the round before. */
      poll_until (g_atomic_int_get (&race.accepted) + g_atomic_int_get (&race.rejected) >= 200 * round);
      tether_loop_manager_stop (manager, mode);
      for (int i = 0; i < 8; i++)
        g_thread_join (threads[i]);

      g_assert_cmpint (race.accepted + race.rejected, ==, 8 * 2000);
      for (guint i = 0; i < race.futures->len; i++)
        ended_futures += tether_future_is_done (g_ptr_array_index (race.futures, i));
      g_assert_cmpuint (ended_futures, ==, race.futures->len);
      posted_accepted = race.accepted - (int) race.futures->len;
      /* Every post ends once: its data is released whether it ran or was
       * dropped, and a rejected one's before post() returned. */
      g_assert_cmpint (race.ended, ==, 8 * 1000);
      if (mode == TETHER_STOP_MODE_DRAIN)
        {
          g_assert_cmpint (race.post_runs, ==, posted_accepted);
          g_assert_cmpint (race.runs, ==, (int) race.futures->len);
        }
      else
        {
          g_assert_cmpint (race.post_runs, <=, posted_accepted);
        }
      g_ptr_array_unref (race.futures);
      g_mutex_clear (&race.mutex);
    }
}

static void
block_until_cancelled (TetherWork *work,
                       gpointer    user_data)
{
  wait_for_cancel (work, user_data);
  tether_work_return_error (work, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "stopped"));
}

static void
test_concurrent_stops (void)
{
  g_autoptr(TetherLoopManager) manager = started ("twostops", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  TetherFuture *futures[100];
  StopArgs drain = { manager, TETHER_STOP_MODE_DRAIN };
  GThread *drainer;
  int runs = 0;
  Gate gate;

  gate_init (&gate);
  blocker = tether_loop_manager_submit (manager, NULL, block_until_cancelled, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  for (int i = 0; i < 100; i++)
    futures[i] = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);

  /* A drain begins and waits on the busy thread ... */
  drainer = g_thread_new ("drain", stop_thread, &drain);
  poll_until (!tether_loop_manager_is_running (manager));

  /* ... then a cancel arrives: it fires the running work's cancellable from
   * this thread, and nothing queued behind it runs. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);
  g_thread_join (drainer);

  g_assert_cmpint (tether_future_get_status (blocker), ==, TETHER_FUTURE_STATUS_CANCELLED);
  g_assert_cmpint (runs, ==, 0);
  for (int i = 0; i < 100; i++)
    {
      g_assert_cmpint (tether_future_get_status (futures[i]), ==, TETHER_FUTURE_STATUS_CANCELLED);
      g_object_unref (futures[i]);
    }
  gate_clear (&gate);
}

static void
on_waited (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  AsyncData *data = user_data;

  data->calls++;
  data->thread = g_thread_self ();
  data->ok = tether_future_wait_finish (TETHER_FUTURE (object), result, &data->error);
  g_main_loop_quit (data->loop);
}

static void
test_future_wait_async (void)
{
  g_autoptr(TetherLoopManager) manager = started ("waitasync", NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherFuture) blocked = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  AsyncData data = { 0 };
  int runs = 0;
  Gate gate;

  gate_init (&gate);
  g_main_context_push_thread_default (context);
  data.loop = g_main_loop_new (context, FALSE);

  future = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  tether_future_wait_async (future, NULL, on_waited, &data);
  g_assert_cmpint (data.calls, ==, 0);
  g_main_loop_run (data.loop);
  g_assert_true (data.ok);
  g_assert_true (data.thread == g_thread_self ());

  /* Already done: still through the main loop, never inline. */
  tether_future_wait_async (future, NULL, on_waited, &data);
  g_assert_cmpint (data.calls, ==, 1);
  g_main_loop_run (data.loop);
  g_assert_cmpint (data.calls, ==, 2);

  /* Cancelling the wait leaves the work alone; cancelling the future
   * reaches waiters through their context, not inside cancel. */
  blocked = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  tether_future_wait_async (blocked, cancellable, on_waited, &data);
  g_cancellable_cancel (cancellable);
  g_main_loop_run (data.loop);
  g_assert_false (data.ok);
  g_assert_error (data.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&data.error);
  g_assert_false (tether_future_is_done (blocked));
  gate_open (&gate);
  g_assert_true (tether_future_wait (blocked, -1, NULL, NULL));

  g_main_loop_unref (data.loop);
  g_main_context_pop_thread_default (context);
  gate_clear (&gate);
}

static gpointer
drop_manager (gpointer data)
{
  /* The last reference, with work queued: the object dies here, on this
   * thread; the manager's thread drains on its own. */
  g_assert_finalize_object (data);
  return NULL;
}

static void
test_finalize_on_foreign_thread (void)
{
  TetherLoopManager *manager = started ("foreignfinal", NULL);
  TetherFuture *future;
  int runs = 0;
  GThread *thread;

  future = tether_loop_manager_submit (manager, NULL, count_work, &runs, NULL, NULL, NULL);
  thread = g_thread_new ("dropper", drop_manager, manager);
  g_thread_join (thread);
  g_assert_true (tether_loop_manager_wait_detached (60 * G_USEC_PER_SEC));
  g_assert_cmpint (runs, ==, 1);
  g_assert_true (tether_future_is_done (future));
  g_assert_finalize_object (future);
}

static void
test_programmer_errors (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("bad");

      TetherFuture *future = tether_loop_manager_submit (manager, NULL, NULL, NULL, NULL, NULL, NULL);

      g_assert_null (future);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*tether_loop_manager_submit*func != NULL*");
}

static void
test_programmer_errors_null_manager (void)
{
  if (g_test_subprocess ())
    {
      tether_loop_manager_stop (NULL, TETHER_STOP_MODE_DRAIN);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*CRITICAL*tether_loop_manager_stop*TETHER_IS_LOOP_MANAGER*");
}

static void
return_user_int (TetherWork *work,
                 gpointer    user_data)
{
  tether_work_return_int (work, GPOINTER_TO_INT (user_data));
}

/* Work queued behind a blocker can start only once the stop has cancelled
 * the blocker, so none of it may run: the manager's thread must not start
 * queued jobs the stopping thread has not reached yet. */
static void
test_stop_cancel_never_starts_queued (void)
{
  for (guint run = 0; run < 300; run++)
    {
      g_autoptr(TetherLoopManager) manager = started ("cancel-race", NULL);
      g_autoptr(TetherFuture) blocker = NULL;
      TetherFuture *queued[10];

      blocker = tether_loop_manager_submit (manager, NULL, return_when_cancelled,
                                            NULL, NULL, NULL, NULL);
      for (guint i = 0; i < G_N_ELEMENTS (queued); i++)
        queued[i] = tether_loop_manager_submit (manager, NULL, return_user_int,
                                                GINT_TO_POINTER (i), NULL, NULL, NULL);
      tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);
      for (guint i = 0; i < G_N_ELEMENTS (queued); i++)
        {
          g_assert_cmpint (tether_future_get_status (queued[i]), ==,
                           TETHER_FUTURE_STATUS_CANCELLED);
          g_object_unref (queued[i]);
        }
    }
}

static gpointer
stop_in_thread (gpointer data)
{
  tether_loop_manager_stop (data, TETHER_STOP_MODE_DRAIN);
  return GINT_TO_POINTER (TRUE);
}

static gpointer
start_in_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;

  /* ALREADY_RUNNING when it comes before the stop: both orders are fine. */
  tether_loop_manager_start (data, NULL, &error);
  return NULL;
}

/* A stop racing a start from another thread returns once the run it stopped
 * has ended; it must not join the thread of the run the start began. */
static void
test_stop_races_start (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("stop-start");

  for (guint i = 0; i < 500; i++)
    {
      GThread *stopper, *starter;

      if (!tether_loop_manager_is_running (manager))
        g_assert_true (tether_loop_manager_start (manager, NULL, NULL));
      stopper = g_thread_new ("stopper", stop_in_thread, manager);
      starter = g_thread_new ("starter", start_in_thread, manager);
      g_thread_join (starter);
      g_assert_true (g_thread_join (stopper));
    }
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

typedef struct
{
  GThread *thread;      /* the manager's thread, as its work saw it */
  GThread *exit_thread; /* the thread an exit func ran on */
  int      order[3];
  int      n_ran;
  int      work_done;   /* work had ended when the exit funcs ran */
  int      n_done;
} ExitState;

static void
note_thread_work (TetherWork *work,
                  gpointer    user_data)
{
  ExitState *state = user_data;

  state->thread = g_thread_self ();
  tether_work_return_int (work, 1);
  g_atomic_int_inc (&state->n_done);
}

static void
exit_second (gpointer user_data)
{
  ExitState *state = user_data;

  state->order[state->n_ran++] = 2;
}

static void
exit_first (gpointer user_data)
{
  ExitState *state = user_data;
  TetherLoopManager *current = tether_loop_manager_ref_current ();

  /* Still on the manager's thread, in its context, with work all ended. */
  g_assert_nonnull (current);
  g_object_unref (current);
  state->exit_thread = g_thread_self ();
  state->work_done = g_atomic_int_get (&state->n_done);
  state->order[state->n_ran++] = 1;
}

static void
exit_adds (gpointer user_data)
{
  ExitState *state = user_data;
  TetherLoopManager *current = tether_loop_manager_ref_current ();

  state->order[state->n_ran++] = 0;
  /* Added while the exit funcs run: it runs too. */
  g_assert_true (tether_loop_manager_add_exit_func (current, exit_second, state, NULL, NULL));
  g_object_unref (current);
}

static void
test_exit_funcs (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("exit");
  g_autoptr(GError) error = NULL;
  ExitState state = { 0, };

  destroyed = 0;
  g_assert_false (tether_loop_manager_add_exit_func (manager, exit_first, &state,
                                                     count_destroy, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_cmpint (destroyed, ==, 1);
  g_clear_error (&error);

  for (int run = 0; run < 2; run++)
    {
      g_autoptr(TetherFuture) future = NULL;

      memset (&state, 0, sizeof state);
      destroyed = 0;
      g_assert_true (tether_loop_manager_start (manager, NULL, &error));
      g_assert_true (tether_loop_manager_add_exit_func (manager, exit_first, &state,
                                                        count_destroy, &error));
      g_assert_true (tether_loop_manager_add_exit_func (manager, exit_adds, &state, NULL, &error));
      g_assert_no_error (error);
      future = tether_loop_manager_submit (manager, NULL, note_thread_work, &state, NULL, NULL,
                                           &error);
      g_assert_nonnull (future);
      tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);

      /* Newest first, then the one an exit func added; each once, per run. */
      g_assert_cmpint (state.n_ran, ==, 3);
      g_assert_cmpint (state.order[0], ==, 0);
      g_assert_cmpint (state.order[1], ==, 1);
      g_assert_cmpint (state.order[2], ==, 2);
      g_assert_true (state.exit_thread == state.thread);
      g_assert_cmpint (state.work_done, ==, 1);
      g_assert_cmpint (destroyed, ==, 1);
    }

  g_assert_false (tether_loop_manager_add_exit_func (manager, exit_first, &state, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
}

typedef struct
{
  Gate     gate;
  char    *id_seen;
  gboolean ref_was_null;
  gboolean added;
  int      exit_ran;
} CurrentExit;

static void
current_exit_func (gpointer user_data)
{
  CurrentExit *state = user_data;

  g_atomic_int_inc (&state->exit_ran);
}

/* Runs after the manager's last reference went: the object is gone, the
 * thread is not. */
static void
current_exit_work (gpointer user_data)
{
  CurrentExit *state = user_data;
  g_autoptr(TetherLoopManager) current = NULL;

  gate_enter (&state->gate);
  gate_wait_open (&state->gate);
  current = tether_loop_manager_ref_current ();
  state->ref_was_null = current == NULL;
  state->id_seen = tether_loop_manager_dup_current_id ();
  state->added = tether_loop_manager_add_current_exit_func (current_exit_func, state, NULL, NULL);
}

static void
test_current_exit_func_while_draining (void)
{
  CurrentExit state = { 0 };
  TetherLoopManager *manager = started ("current-exit", NULL);
  g_autoptr(GError) error = NULL;

  /* Off a manager's thread: refused, and the data released at once. */
  g_assert_null (tether_loop_manager_dup_current_id ());
  g_assert_false (tether_loop_manager_add_current_exit_func (current_exit_func, &state, NULL,
                                                             &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_cmpint (state.exit_ran, ==, 0);

  gate_init (&state.gate);
  g_assert_true (tether_loop_manager_post (manager, NULL, current_exit_work, &state, NULL, NULL));
  gate_wait_entered (&state.gate);
  g_assert_finalize_object (manager);   /* the last reference: the thread drains */
  gate_open (&state.gate);

  watchdog_arm (60, "waiting for a detached drain");
  g_assert_true (tether_loop_manager_wait_detached (-1));
  watchdog_disarm ();

  g_assert_true (state.ref_was_null);
  g_assert_cmpstr (state.id_seen, ==, "current-exit");
  g_assert_true (state.added);
  g_assert_cmpint (state.exit_ran, ==, 1);
  g_free (state.id_seen);
  gate_clear (&state.gate);
}

/* running(): queued, timer not due and ended work are not running; work
 * whose function runs, or that returned deferred, is. */
static void
defer_work (TetherWork *work,
            gpointer    user_data)
{
  TetherWork **out = user_data;

  /* Published to the test's thread, which polls it. */
  g_atomic_pointer_set (out, g_object_ref (work));
}

static void
test_future_is_running (void)
{
  g_autoptr(TetherLoopManager) manager = started ("running", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  g_autoptr(TetherFuture) timer = NULL;
  g_autoptr(TetherFuture) deferred = NULL;
  g_autoptr(GError) error = NULL;
  TetherWork *deferred_work = NULL;
  Gate gate;

  watchdog_arm (30, "future is-running");
  gate_init (&gate);
  blocker = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, &error);
  g_assert_no_error (error);
  queued = tether_loop_manager_submit (manager, NULL, defer_work, &deferred_work, NULL, NULL, &error);
  g_assert_no_error (error);
  timer = tether_loop_manager_submit_after (manager, NULL, G_USEC_PER_SEC * G_GINT64_CONSTANT (3600),
                                            block_work, &gate, NULL, NULL, &error);
  g_assert_no_error (error);

  gate_wait_entered (&gate);
  g_assert_true (tether_future_is_running (blocker));
  g_assert_false (tether_future_is_running (queued));
  g_assert_false (tether_future_is_running (timer));

  gate_open (&gate);
  g_assert_true (tether_future_wait (blocker, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (tether_future_is_running (blocker));

  /* The deferred work returned without an outcome: it runs until it has one. */
  deferred = g_object_ref (queued);
  while (g_atomic_pointer_get (&deferred_work) == NULL)
    g_thread_yield ();
  g_assert_false (tether_future_is_done (deferred));
  while (!tether_future_is_running (deferred))
    g_thread_yield ();
  tether_work_return_int (deferred_work, 7);
  g_assert_true (tether_future_wait (deferred, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (tether_future_is_running (deferred));
  g_clear_object (&deferred_work);

  tether_future_cancel (timer);
  g_assert_false (tether_future_is_running (timer));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  gate_clear (&gate);
  watchdog_disarm ();
}

/* The compile-time macros and the run-time calls agree. */
static void
test_version (void)
{
  g_assert_cmpuint (tether_get_major_version (), ==, TETHER_MAJOR_VERSION);
  g_assert_cmpuint (tether_get_minor_version (), ==, TETHER_MINOR_VERSION);
  g_assert_cmpuint (tether_get_micro_version (), ==, TETHER_MICRO_VERSION);
  g_assert_true (TETHER_CHECK_VERSION (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION,
                                       TETHER_MICRO_VERSION));
  g_assert_false (TETHER_CHECK_VERSION (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION + 1, 0));
  g_assert_null (tether_check_version (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION,
                                       TETHER_MICRO_VERSION));
  g_assert_null (tether_check_version (TETHER_MAJOR_VERSION, 0, 0));
  g_assert_nonnull (tether_check_version (TETHER_MAJOR_VERSION + 1, 0, 0));
  g_assert_nonnull (tether_check_version (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION + 1, 0));
  g_assert_nonnull (tether_check_version (TETHER_MAJOR_VERSION, TETHER_MINOR_VERSION,
                                          TETHER_MICRO_VERSION + 1));
  g_assert_cmpint (TETHER_VERSION_MIN_REQUIRED, <=, TETHER_VERSION_MAX_ALLOWED);
}

/* DRAIN runs what the last work left ready on the manager's context (an
 * idle, as a GTask callback aimed at the thread is) before the thread
 * ends, including an idle that idle adds; a source that is always ready
 * does not keep the thread from ending. */
typedef struct
{
  int chained;    /* atomic: idles that ran */
  int forever;    /* atomic: turns of the always-ready source */
} StopIdles;

static gboolean
idle_chained (gpointer data)
{
  StopIdles *idles = data;

  if (g_atomic_int_add (&idles->chained, 1) + 1 < 3)
    {
      GSource *next = g_idle_source_new ();

      g_source_set_callback (next, idle_chained, idles, NULL);
      g_source_attach (next, g_main_context_get_thread_default ());
      g_source_unref (next);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
idle_forever (gpointer data)
{
  g_atomic_int_inc (&((StopIdles *) data)->forever);
  return G_SOURCE_CONTINUE;
}

static void
leave_idles (gpointer data)
{
  GMainContext *context = g_main_context_get_thread_default ();
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, idle_chained, data, NULL);
  g_source_attach (source, context);
  g_source_unref (source);
  if (((StopIdles *) data)->forever == -1)
    {
      g_atomic_int_set (&((StopIdles *) data)->forever, 0);
      source = g_idle_source_new ();
      g_source_set_callback (source, idle_forever, data, NULL);
      g_source_attach (source, context);
      g_source_unref (source);
    }
}

/* The work runs after the stop was asked for, held back by a gate: the
 * dispatch that runs it is the last, so only the run's final round can run
 * the idles it leaves. */
static void
test_stop_runs_ready_idles (void)
{
  for (int forever = 0; forever < 2; forever++)
    {
      g_autoptr(TetherLoopManager) manager = started ("stop-idles", NULL);
      g_autoptr(TetherFuture) blocker = NULL;
      g_autoptr(GError) error = NULL;
      StopIdles idles = { 0, forever ? -1 : 0 };
      StopArgs args = { manager, TETHER_STOP_MODE_DRAIN };
      GThread *stopper;
      Gate gate;

      gate_init (&gate);
      blocker = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, &error);
      g_assert_no_error (error);
      gate_wait_entered (&gate);
      g_assert_true (tether_loop_manager_post (manager, NULL, leave_idles, &idles, NULL, &error));
      g_assert_no_error (error);

      watchdog_arm (60, "a DRAIN stop with idles left on the context");
      stopper = g_thread_new ("stopper", stop_thread, &args);
      poll_until (!tether_loop_manager_is_running (manager));
      gate_open (&gate);
      g_thread_join (stopper);
      watchdog_disarm ();

      g_assert_cmpint (g_atomic_int_get (&idles.chained), ==, 3);
      if (forever)
        g_assert_cmpint (g_atomic_int_get (&idles.forever), >, 0);
      gate_clear (&gate);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Manager/lifecycle", test_lifecycle);
  g_test_add_func ("/Tether/version", test_version);
  g_test_add_func ("/Tether/Manager/stop-runs-ready-idles", test_stop_runs_ready_idles);
  g_test_add_func ("/Tether/Manager/generated-id", test_generated_id);
  g_test_add_func ("/Tether/Manager/submit-future", test_submit_future);
  g_test_add_func ("/Tether/Manager/future-is-running", test_future_is_running);
  g_test_add_func ("/Tether/Manager/value-types", test_value_types);
  g_test_add_func ("/Tether/Manager/submit-async", test_submit_async);
  g_test_add_func ("/Tether/Manager/post", test_post);
  g_test_add_func ("/Tether/Manager/post-own-thread-is-queued", test_post_own_thread_is_queued);
  g_test_add_func ("/Tether/Manager/task-types", test_task_types);
  g_test_add_func ("/Tether/Manager/not-running", test_not_running);
  g_test_add_func ("/Tether/Manager/cancel-before-start", test_cancel_before_start);
  g_test_add_func ("/Tether/Manager/cancel-queued", test_cancel_queued);
  g_test_add_func ("/Tether/Manager/cancel-running-value-wins", test_cancel_running_value_wins);
  g_test_add_func ("/Tether/Manager/wait-timeout", test_wait_timeout);
  g_test_add_func ("/Tether/Future/wait-done", test_wait_done);
  g_test_add_func ("/Tether/Misuse/wait-done-on-manager-thread", test_wait_done_on_manager_thread);
  g_test_add_func ("/Tether/Manager/would-deadlock", test_would_deadlock);
  g_test_add_func ("/Tether/Manager/abandoned", test_abandoned);
  g_test_add_func ("/Tether/Manager/complete-later", test_complete_later);
  g_test_add_func ("/Tether/Manager/handle-reuse", test_handle_reuse);
  g_test_add_func ("/Tether/Manager/typed-getter-errors", test_typed_getter_errors);
  g_test_add_func ("/Tether/Manager/wait-cancellable", test_wait_cancellable);
  g_test_add_func ("/Tether/Manager/status-notifies", test_status_notifies);
  g_test_add_func ("/Tether/Manager/timers", test_timers);
  g_test_add_func ("/Tether/Manager/stop-from-work", test_stop_from_work);
  g_test_add_func ("/Tether/Manager/last-unref-own-thread", test_last_unref_on_own_thread);
  g_test_add_func ("/Tether/Manager/unref-foreign-drains", test_unref_foreign_drains);
  g_test_add_func ("/Tether/Manager/finalize-foreign-thread", test_finalize_on_foreign_thread);
  g_test_add_data_func ("/Tether/Manager/stop/drain", GINT_TO_POINTER (TETHER_STOP_MODE_DRAIN), test_drain_vs_cancel);
  g_test_add_data_func ("/Tether/Manager/stop/cancel", GINT_TO_POINTER (TETHER_STOP_MODE_CANCEL), test_drain_vs_cancel);
  g_test_add_func ("/Tether/Manager/stop/concurrent", test_concurrent_stops);
  g_test_add_data_func ("/Tether/Manager/race/submit-during-drain", GINT_TO_POINTER (TETHER_STOP_MODE_DRAIN), test_race_submit_during_stop);
  g_test_add_data_func ("/Tether/Manager/race/submit-during-cancel", GINT_TO_POINTER (TETHER_STOP_MODE_CANCEL), test_race_submit_during_stop);
  g_test_add_func ("/Tether/Future/wait-async", test_future_wait_async);
  g_test_add_func ("/Tether/Stop/cancel-never-starts-queued", test_stop_cancel_never_starts_queued);
  g_test_add_func ("/Tether/Stop/races-start", test_stop_races_start);
  g_test_add_func ("/Tether/Stop/exit-funcs", test_exit_funcs);
  g_test_add_func ("/Tether/Stop/current-exit-func-while-draining",
                   test_current_exit_func_while_draining);
  g_test_add_func ("/Tether/Misuse/null-func", test_programmer_errors);
  g_test_add_func ("/Tether/Misuse/null-manager", test_programmer_errors_null_manager);

  return test_run ();
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pthread_getname_np(), where meson found it (HAVE_PTHREAD_GETNAME_NP) */
#define _GNU_SOURCE

#include <pthread.h>

#include "tether-test.h"

/* A test-only library: C work functions that language-binding tests (Tether
 * rejects a JavaScript work function in a GJS process) submit to a
 * Tether manager, so that they can check real values, errors, cancellation
 * and threads. Nothing here is installed. */

typedef struct
{
  GValue value;     /* type G_TYPE_INVALID for "no value" */
  guint  delay_ms;
} ValueData;

typedef struct
{
  TetherWork *work;
  GValue      value;
} DelayedReturn;

/* Shared by a blocking work and its future, so that the test can wait for
 * the work to start. */
typedef struct
{
  gatomicrefcount ref_count;
  GMutex          mutex;
  GCond           cond;
  gboolean        started;
  gboolean        cancelled;
} Blocker;

#define BLOCKER_KEY "tethertest-blocker"

static void
copy_value (GValue       *dest,
            const GValue *src)
{
  if (src == NULL || G_VALUE_TYPE (src) == G_TYPE_INVALID)
    return;
  g_value_init (dest, G_VALUE_TYPE (src));
  g_value_copy (src, dest);
}

static const GValue *
value_or_null (const GValue *value)
{
  return G_VALUE_TYPE (value) != G_TYPE_INVALID ? value : NULL;
}

static void
clear_value (GValue *value)
{
  if (G_VALUE_TYPE (value) != G_TYPE_INVALID)
    g_value_unset (value);
}

static ValueData *
value_data_new (const GValue *value,
                guint         delay_ms)
{
  ValueData *data = g_new0 (ValueData, 1);

  copy_value (&data->value, value);
  data->delay_ms = delay_ms;
  return data;
}

static void
value_data_free (gpointer user_data)
{
  ValueData *data = user_data;

  clear_value (&data->value);
  g_free (data);
}

static void
delayed_return_free (gpointer user_data)
{
  DelayedReturn *later = user_data;

  /* If the timeout never fired, dropping the handle abandons the work. */
  g_object_unref (later->work);
  clear_value (&later->value);
  g_free (later);
}

static gboolean
delayed_return_cb (gpointer user_data)
{
  DelayedReturn *later = user_data;

  tether_work_return_value (later->work, value_or_null (&later->value));
  return G_SOURCE_REMOVE;
}

/* Returns the value at once, or from a timeout on the manager's context. */
static void
value_work (TetherWork *work,
            gpointer    user_data)
{
  ValueData *data = user_data;
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GSource) source = NULL;
  DelayedReturn *later;

  if (data->delay_ms == 0)
    {
      tether_work_return_value (work, value_or_null (&data->value));
      return;
    }

  later = g_new0 (DelayedReturn, 1);
  later->work = g_object_ref (work);
  copy_value (&later->value, &data->value);

  context = g_main_context_ref_thread_default ();
  source = g_timeout_source_new (data->delay_ms);
  g_source_set_name (source, "[tethertest] delayed value");
  g_source_set_callback (source, delayed_return_cb, later, delayed_return_free);
  g_source_attach (source, context);
}

static void
error_work (TetherWork *work,
            gpointer    user_data)
{
  const char *message = user_data;

  tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", message);
}

static gboolean
work_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  TetherWork *work = user_data;

  tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                "TetherTest work saw its cancellable fire");
  return G_SOURCE_REMOVE;
}

/* Returns at once and ends the work later, from a source on the manager's
 * context that dispatches when the work's cancellable fires. */
static void
until_cancelled_work (TetherWork *work,
                      gpointer    user_data)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  g_autoptr(GSource) source = g_cancellable_source_new (tether_work_get_cancellable (work));

  g_source_set_name (source, "[tethertest] until cancelled");
  g_source_set_callback (source, G_SOURCE_FUNC (work_cancelled_cb),
                         g_object_ref (work), g_object_unref);
  g_source_attach (source, context);
}

static Blocker *
blocker_new (void)
{
  Blocker *blocker = g_new0 (Blocker, 1);

  g_atomic_ref_count_init (&blocker->ref_count);
  g_mutex_init (&blocker->mutex);
  g_cond_init (&blocker->cond);
  return blocker;
}

static Blocker *
blocker_ref (Blocker *blocker)
{
  g_atomic_ref_count_inc (&blocker->ref_count);
  return blocker;
}

static void
blocker_unref (gpointer user_data)
{
  Blocker *blocker = user_data;

  if (!g_atomic_ref_count_dec (&blocker->ref_count))
    return;
  g_mutex_clear (&blocker->mutex);
  g_cond_clear (&blocker->cond);
  g_free (blocker);
}

static void
blocker_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  Blocker *blocker = user_data;

  g_mutex_lock (&blocker->mutex);
  blocker->cancelled = TRUE;
  g_cond_broadcast (&blocker->cond);
  g_mutex_unlock (&blocker->mutex);
}

/* Holds the manager's thread inside the work function until cancelled. */
static void
blocking_until_cancelled_work (TetherWork *work,
                               gpointer    user_data)
{
  Blocker *blocker = user_data;
  GCancellable *cancellable = tether_work_get_cancellable (work);
  gulong handler;

  g_mutex_lock (&blocker->mutex);
  blocker->started = TRUE;
  g_cond_broadcast (&blocker->cond);
  g_mutex_unlock (&blocker->mutex);

  /* Runs the handler at once (and returns 0) if already cancelled. */
  handler = g_cancellable_connect (cancellable, G_CALLBACK (blocker_cancelled_cb),
                                   blocker, NULL);

  g_mutex_lock (&blocker->mutex);
  while (!blocker->cancelled)
    g_cond_wait (&blocker->cond, &blocker->mutex);
  g_mutex_unlock (&blocker->mutex);

  /* Waits for a handler still running on the cancelling thread. */
  g_cancellable_disconnect (cancellable, handler);

  tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                "TetherTest blocking work saw its cancellable fire");
}

static void
thread_name_work (TetherWork *work,
                  gpointer    user_data)
{
  g_autofree char *name = tether_test_get_thread_name ();

  tether_work_return_string (work, name);
}

/**
 * tether_test_submit_value:
 * @manager: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @value: (nullable): the value the work returns, copied; %NULL for none
 * @delay_ms: how long the work takes, in milliseconds
 * @error: return location for an error
 *
 * Submits work that returns a copy of @value. With a @delay_ms of 0 the
 * work function returns it before it returns itself; otherwise it returns
 * it later, from a timeout on the manager's context, so the manager's
 * thread stays free meanwhile.
 *
 * Returns: (transfer full): the [class@Tether.Future] of the work, or %NULL
 *   with @error set as [method@Tether.LoopManager.submit] sets it if the
 *   manager rejects the submission
 */
TetherFuture *
tether_test_submit_value (TetherLoopManager  *manager,
                          const char         *task_type,
                          const GValue       *value,
                          guint               delay_ms,
                          GError            **error)
{
  g_return_val_if_fail (value == NULL || G_IS_VALUE (value), NULL);

  return tether_loop_manager_submit (manager, task_type, value_work,
                                     value_data_new (value, delay_ms), value_data_free, NULL,
                                     error);
}

/**
 * tether_test_submit_value_at:
 * @manager: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @value: (nullable): the value the work returns, copied; %NULL for none
 * @ready_time: when the work may start, in g_get_monotonic_time() microseconds
 * @error: return location for an error
 *
 * Submits the work of [func@TetherTest.submit_value] (with no delay) through
 * [method@Tether.LoopManager.submit_at]: a timer written in C, for callers
 * that cannot hand a manager a work function of their own.
 *
 * Returns: (transfer full): the [class@Tether.Future] of the work, or %NULL
 *   with @error set if the manager rejects the submission
 */
TetherFuture *
tether_test_submit_value_at (TetherLoopManager  *manager,
                             const char         *task_type,
                             const GValue       *value,
                             gint64              ready_time,
                             GError            **error)
{
  g_return_val_if_fail (value == NULL || G_IS_VALUE (value), NULL);

  return tether_loop_manager_submit_at (manager, task_type, ready_time, value_work,
                                        value_data_new (value, 0), value_data_free, NULL, error);
}

/**
 * tether_test_submit_value_async:
 * @manager: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @value: (nullable): the value the work returns, copied; %NULL for none
 * @delay_ms: how long the work takes, in milliseconds
 * @cancellable: (nullable): cancels the work
 * @callback: (scope async) (closure user_data): called in the caller's
 *   thread-default context when the work has ended
 * @user_data: data for @callback
 *
 * Submits the work of [func@TetherTest.submit_value] with
 * [method@Tether.LoopManager.submit_async]: @callback gets @manager as its
 * source object and finishes with [method@Tether.LoopManager.submit_finish].
 */
void
tether_test_submit_value_async (TetherLoopManager   *manager,
                                const char          *task_type,
                                const GValue        *value,
                                guint                delay_ms,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (value == NULL || G_IS_VALUE (value));

  tether_loop_manager_submit_async (manager, task_type, value_work,
                                    value_data_new (value, delay_ms), value_data_free,
                                    G_PRIORITY_DEFAULT,
                                    cancellable, callback, user_data);
}

/**
 * tether_test_submit_error:
 * @manager: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @message: the error message
 * @error: return location for an error
 *
 * Submits work that fails with a %G_IO_ERROR_FAILED error carrying
 * @message.
 *
 * Returns: (transfer full): the [class@Tether.Future] of the work, or %NULL
 *   with @error set as [method@Tether.LoopManager.submit] sets it if the
 *   manager rejects the submission
 */
TetherFuture *
tether_test_submit_error (TetherLoopManager  *manager,
                          const char         *task_type,
                          const char         *message,
                          GError            **error)
{
  g_return_val_if_fail (message != NULL, NULL);

  return tether_loop_manager_submit (manager, task_type, error_work,
                                     g_strdup (message), g_free, NULL, error);
}

/**
 * tether_test_submit_until_cancelled:
 * @manager: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @error: return location for an error
 *
 * Submits work that only ends when its cancellable fires
 * ([method@Tether.Future.cancel], or a stop in %TETHER_STOP_MODE_CANCEL),
 * with a %G_IO_ERROR_CANCELLED error whose message is
 * `TetherTest work saw its cancellable fire`. The work function returns at
 * once, so the manager's thread stays free meanwhile; a stop in
 * %TETHER_STOP_MODE_DRAIN waits for the work forever.
 *
 * Returns: (transfer full): the [class@Tether.Future] of the work, or %NULL
 *   with @error set as [method@Tether.LoopManager.submit] sets it if the
 *   manager rejects the submission
 */
TetherFuture *
tether_test_submit_until_cancelled (TetherLoopManager  *manager,
                                    const char         *task_type,
                                    GError            **error)
{
  return tether_loop_manager_submit (manager, task_type, until_cancelled_work,
                                     NULL, NULL, NULL, error);
}

/**
 * tether_test_submit_blocking_until_cancelled:
 * @manager: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @error: return location for an error
 *
 * Submits work whose function blocks the manager's thread until its
 * cancellable fires, then fails with a %G_IO_ERROR_CANCELLED error whose
 * message is `TetherTest blocking work saw its cancellable fire`. Work
 * submitted after it stays queued until then.
 * [func@TetherTest.wait_started] tells when the work has started.
 *
 * Returns: (transfer full): the [class@Tether.Future] of the work, or %NULL
 *   with @error set as [method@Tether.LoopManager.submit] sets it if the
 *   manager rejects the submission
 */
TetherFuture *
tether_test_submit_blocking_until_cancelled (TetherLoopManager  *manager,
                                             const char         *task_type,
                                             GError            **error)
{
  Blocker *blocker = blocker_new ();
  TetherFuture *future;

  future = tether_loop_manager_submit (manager, task_type, blocking_until_cancelled_work,
                                       blocker_ref (blocker), blocker_unref, NULL, error);
  if (future != NULL)
    g_object_set_data_full (G_OBJECT (future), BLOCKER_KEY, blocker_ref (blocker), blocker_unref);
  blocker_unref (blocker);
  return future;
}

/**
 * tether_test_wait_started:
 * @future: a [class@Tether.Future] from
 *   [func@TetherTest.submit_blocking_until_cancelled]
 * @timeout_usec: how long to wait, in microseconds; -1 waits without limit
 *
 * Waits until the work of @future has started, that is, until it holds the
 * manager's thread. Work cancelled before it started never does.
 *
 * Returns: %TRUE once the work has started; %FALSE if @timeout_usec passed
 *   first
 */
gboolean
tether_test_wait_started (TetherFuture *future,
                          gint64        timeout_usec)
{
  Blocker *blocker;
  gint64 deadline;
  gboolean started;

  g_return_val_if_fail (TETHER_IS_FUTURE (future), FALSE);
  blocker = g_object_get_data (G_OBJECT (future), BLOCKER_KEY);
  g_return_val_if_fail (blocker != NULL, FALSE);

  deadline = g_get_monotonic_time () + timeout_usec;
  g_mutex_lock (&blocker->mutex);
  while (!blocker->started)
    {
      if (timeout_usec < 0)
        g_cond_wait (&blocker->cond, &blocker->mutex);
      else if (!g_cond_wait_until (&blocker->cond, &blocker->mutex, deadline))
        break;
    }
  started = blocker->started;
  g_mutex_unlock (&blocker->mutex);

  return started;
}

static void
progress_work (TetherWork *work,
               gpointer    user_data)
{
  guint n_reports = GPOINTER_TO_UINT (user_data);

  for (guint i = 0; i < n_reports; i++)
    tether_work_report_progress (work, g_variant_new_uint32 (i));
  until_cancelled_work (work, NULL);
}

/**
 * tether_test_submit_progress:
 * @manager: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @n_reports: how many reports to make
 * @error: return location for an error
 *
 * Submits work that reports progress @n_reports times, the numbers 0 to
 * @n_reports - 1 as `u` variants, then ends only when its cancellable
 * fires, as [func@TetherTest.submit_until_cancelled] does.
 *
 * Returns: (transfer full): the [class@Tether.Future] of the work, or %NULL
 *   with @error set as [method@Tether.LoopManager.submit] sets it if the
 *   manager rejects the submission
 */
TetherFuture *
tether_test_submit_progress (TetherLoopManager  *manager,
                             const char         *task_type,
                             guint               n_reports,
                             GError            **error)
{
  return tether_loop_manager_submit (manager, task_type, progress_work,
                                     GUINT_TO_POINTER (n_reports), NULL, NULL, error);
}

/**
 * tether_test_submit_thread_name:
 * @manager: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @error: return location for an error
 *
 * Submits work that returns, as a string, the name of the thread it runs on,
 * as [func@TetherTest.get_thread_name] gives it.
 *
 * Returns: (transfer full): the [class@Tether.Future] of the work, or %NULL
 *   with @error set as [method@Tether.LoopManager.submit] sets it if the
 *   manager rejects the submission
 */
TetherFuture *
tether_test_submit_thread_name (TetherLoopManager  *manager,
                                const char         *task_type,
                                GError            **error)
{
  return tether_loop_manager_submit (manager, task_type, thread_name_work,
                                     NULL, NULL, NULL, error);
}

/**
 * tether_test_executor_submit_thread_name:
 * @executor: a [iface@Tether.Executor]: a manager or a pool
 * @task_type: (nullable): the submission's task type
 * @error: return location for an error
 *
 * [func@TetherTest.submit_thread_name] through [iface@Tether.Executor].
 *
 * Returns: (transfer full): the [class@Tether.Future] of the work, or %NULL
 *   with @error set
 */
TetherFuture *
tether_test_executor_submit_thread_name (TetherExecutor  *executor,
                                         const char      *task_type,
                                         GError         **error)
{
  return tether_executor_submit (executor, task_type, thread_name_work, NULL, NULL, NULL, error);
}

static int run_order;

static void
run_order_work (TetherWork *work,
                gpointer    user_data)
{
  tether_work_return_int (work, g_atomic_int_add (&run_order, 1));
}

/**
 * tether_test_submit_run_order:
 * @manager: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @priority: the priority, as for [method@Tether.LoopManager.submit_full]
 * @error: return location for an error
 *
 * Submits, at @priority, work that returns its place in the order such
 * works ran in, process-wide: 0 for the first, 1 for the next...
 *
 * Returns: (transfer full): the [class@Tether.Future] of the work, or %NULL
 *   with @error set as [method@Tether.LoopManager.submit] sets it if the
 *   manager rejects the submission
 */
TetherFuture *
tether_test_submit_run_order (TetherLoopManager  *manager,
                              const char         *task_type,
                              int                 priority,
                              GError            **error)
{
  return tether_loop_manager_submit_full (manager, task_type, priority, run_order_work,
                                          NULL, NULL, NULL, error);
}

/**
 * tether_test_get_thread_name:
 *
 * Gets the operating system's name for the calling thread, which Tether
 * shows in [func@Tether.registry_snapshot] for threads it did not make
 * (those it made show the name it gave them). Linux keeps at most 15 bytes
 * of a thread name, so a manager's thread is named `tether:<id>` in full
 * only for an id of at most 8 bytes.
 *
 * Returns: (transfer full): the name, empty if the system cannot tell
 */
char *
tether_test_get_thread_name (void)
{
  char name[64] = "";

#ifdef HAVE_PTHREAD_GETNAME_NP
  pthread_getname_np (pthread_self (), name, sizeof name);
#endif
  return g_strdup (name);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-executor.h"

/**
 * TetherExecutor:
 *
 * Something to submit work to: a [class@Tether.LoopManager] (one thread,
 * in order) or a [class@Tether.Pool] (N threads, whichever is idle). Code
 * that only submits takes a `TetherExecutor` and leaves the choice to its
 * caller:
 *
 * ```c
 * static void
 * thumbnail_all (TetherExecutor *executor,
 *                GPtrArray      *paths)
 * {
 *   for (guint i = 0; i < paths->len; i++)
 *     tether_executor_submit_async (executor, NULL, thumbnail_work,
 *                                   g_strdup (paths->pdata[i]), g_free,
 *                                   G_PRIORITY_DEFAULT, NULL, on_thumbnail, NULL);
 * }
 *
 * thumbnail_all (TETHER_EXECUTOR (pool), paths);      // in parallel
 * thumbnail_all (TETHER_EXECUTOR (manager), paths);   // one at a time, in order
 * ```
 *
 * Each method behaves as the implementation's own method of the same name
 * ([method@Tether.LoopManager.submit], [method@Tether.Pool.submit], ...),
 * including which threads may call it. Python's `Tether.Pool` is also a
 * `concurrent.futures.Executor`.
 *
 * Since: 1.0
 */

G_DEFINE_INTERFACE (TetherExecutor, tether_executor, G_TYPE_OBJECT)

static void
tether_executor_default_init (TetherExecutorInterface *iface)
{
}

/**
 * tether_executor_submit:
 * @self: a [iface@Tether.Executor]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data once the work has ended,
 *   or before this returns if it is refused
 * @cancellable: (nullable): cancels the work
 * @error: return location for an error
 *
 * Queues @func and returns a future for its outcome: see
 * [method@Tether.LoopManager.submit] and [method@Tether.Pool.submit].
 *
 * Thread: as the implementation's submit().
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with @error
 *   set, in which case @func never runs
 *
 * Since: 1.0
 */
TetherFuture *
tether_executor_submit (TetherExecutor  *self,
                        const char      *task_type,
                        TetherWorkFunc   func,
                        gpointer         func_data,
                        GDestroyNotify   func_data_destroy,
                        GCancellable    *cancellable,
                        GError         **error)
{
  g_return_val_if_fail (TETHER_IS_EXECUTOR (self), NULL);

  return TETHER_EXECUTOR_GET_IFACE (self)->submit (self, task_type, func, func_data,
                                                  func_data_destroy, cancellable, error);
}

/**
 * tether_executor_post:
 * @self: a [iface@Tether.Executor]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data once @func has run, or
 *   when it is dropped or refused
 * @error: return location for an error
 *
 * Queues @func without a future: see [method@Tether.LoopManager.post] and
 * [method@Tether.Pool.post].
 *
 * Thread: as the implementation's post().
 *
 * Returns: %TRUE if queued; %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
tether_executor_post (TetherExecutor  *self,
                      const char      *task_type,
                      TetherFunc       func,
                      gpointer         func_data,
                      GDestroyNotify   func_data_destroy,
                      GError         **error)
{
  g_return_val_if_fail (TETHER_IS_EXECUTOR (self), FALSE);

  return TETHER_EXECUTOR_GET_IFACE (self)->post (self, task_type, func, func_data,
                                                func_data_destroy, error);
}

/**
 * tether_executor_submit_async:
 * @self: a [iface@Tether.Executor]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for submit()
 * @io_priority: the priority of the callback's idle (and, on a manager, of
 *   the work among queued work)
 * @cancellable: (nullable): cancels the work
 * @callback: (scope async) (closure user_data): called in the caller's
 *   thread-default context when the work has ended
 * @user_data: data for @callback
 *
 * Queues @func and reports its outcome GIO style, never inside this call:
 * see [method@Tether.LoopManager.submit_async] and
 * [method@Tether.Pool.submit_async].
 *
 * Thread: any thread whose thread-default context is running.
 *
 * Since: 1.0
 */
void
tether_executor_submit_async (TetherExecutor      *self,
                              const char          *task_type,
                              TetherWorkFunc       func,
                              gpointer             func_data,
                              GDestroyNotify       func_data_destroy,
                              int                  io_priority,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (TETHER_IS_EXECUTOR (self));

  TETHER_EXECUTOR_GET_IFACE (self)->submit_async (self, task_type, func, func_data,
                                                 func_data_destroy, io_priority, cancellable,
                                                 callback, user_data);
}

/**
 * tether_executor_submit_finish:
 * @self: a [iface@Tether.Executor]
 * @result: the result passed to the callback
 * @value: (out caller-allocates) (optional): an uninitialized #GValue, always
 *   initialized by this: to the work's value, or a %G_TYPE_POINTER holding
 *   %NULL
 * @error: return location for an error
 *
 * Finishes [method@Tether.Executor.submit_async].
 *
 * Thread: the thread that called [method@Tether.Executor.submit_async].
 *
 * Returns: %TRUE if the work succeeded; %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
tether_executor_submit_finish (TetherExecutor  *self,
                               GAsyncResult    *result,
                               GValue          *value,
                               GError         **error)
{
  g_return_val_if_fail (TETHER_IS_EXECUTOR (self), FALSE);

  return TETHER_EXECUTOR_GET_IFACE (self)->submit_finish (self, result, value, error);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-future.h"
#include "tether-version-macros.h"
#include "tether-work.h"

G_BEGIN_DECLS

#define TETHER_TYPE_EXECUTOR (tether_executor_get_type ())

TETHER_AVAILABLE_IN_1_0
G_DECLARE_INTERFACE (TetherExecutor, tether_executor, TETHER, EXECUTOR, GObject)

/**
 * TetherFunc:
 * @user_data: the data given with the function
 *
 * Fire-and-forget work, run once on a manager's thread (or a pool's): see
 * [method@Tether.LoopManager.post] and [method@Tether.Pool.post].
 *
 * Since: 1.0
 */
typedef void (*TetherFunc) (gpointer user_data);

/**
 * TetherExecutorInterface:
 * @submit: see [method@Tether.Executor.submit]
 * @post: see [method@Tether.Executor.post]
 * @submit_async: see [method@Tether.Executor.submit_async]
 * @submit_finish: see [method@Tether.Executor.submit_finish]
 *
 * The virtual functions of [iface@Tether.Executor].
 *
 * Since: 1.0
 */
struct _TetherExecutorInterface
{
  GTypeInterface parent_iface;

  TetherFuture *(*submit)        (TetherExecutor      *self,
                                  const char          *task_type,
                                  TetherWorkFunc       func,
                                  gpointer             func_data,
                                  GDestroyNotify       func_data_destroy,
                                  GCancellable        *cancellable,
                                  GError             **error);
  gboolean      (*post)          (TetherExecutor      *self,
                                  const char          *task_type,
                                  TetherFunc           func,
                                  gpointer             func_data,
                                  GDestroyNotify       func_data_destroy,
                                  GError             **error);
  void          (*submit_async)  (TetherExecutor      *self,
                                  const char          *task_type,
                                  TetherWorkFunc       func,
                                  gpointer             func_data,
                                  GDestroyNotify       func_data_destroy,
                                  int                  io_priority,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);
  gboolean      (*submit_finish) (TetherExecutor      *self,
                                  GAsyncResult        *result,
                                  GValue              *value,
                                  GError             **error);
};

TETHER_AVAILABLE_IN_1_0
TetherFuture *tether_executor_submit        (TetherExecutor      *self,
                                             const char          *task_type,
                                             TetherWorkFunc       func,
                                             gpointer             func_data,
                                             GDestroyNotify       func_data_destroy,
                                             GCancellable        *cancellable,
                                             GError             **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gboolean      tether_executor_post          (TetherExecutor      *self,
                                             const char          *task_type,
                                             TetherFunc           func,
                                             gpointer             func_data,
                                             GDestroyNotify       func_data_destroy,
                                             GError             **error);
TETHER_AVAILABLE_IN_1_0
void          tether_executor_submit_async  (TetherExecutor      *self,
                                             const char          *task_type,
                                             TetherWorkFunc       func,
                                             gpointer             func_data,
                                             GDestroyNotify       func_data_destroy,
                                             int                  io_priority,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
TETHER_AVAILABLE_IN_1_0
gboolean      tether_executor_submit_finish (TetherExecutor      *self,
                                             GAsyncResult        *result,
                                             GValue              *value,
                                             GError             **error);

G_END_DECLS

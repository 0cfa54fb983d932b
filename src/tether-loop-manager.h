/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-enums.h"
#include "tether-executor.h"
#include "tether-future.h"
#include "tether-version-macros.h"
#include "tether-work.h"

G_BEGIN_DECLS

#define TETHER_TYPE_LOOP_MANAGER (tether_loop_manager_get_type ())

TETHER_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (TetherLoopManager, tether_loop_manager, TETHER, LOOP_MANAGER, GObject)

TETHER_AVAILABLE_IN_1_0
TetherLoopManager *tether_loop_manager_new              (const char           *id) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherLoopManager *tether_loop_manager_ref_current      (void) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
char              *tether_loop_manager_dup_current_id   (void) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_add_current_exit_func (TetherFunc      func,
                                                              gpointer        func_data,
                                                              GDestroyNotify  func_data_destroy,
                                                              GError        **error);
TETHER_AVAILABLE_IN_1_0
const char        *tether_loop_manager_get_id           (TetherLoopManager    *self);
TETHER_AVAILABLE_IN_1_0
char              *tether_loop_manager_dup_task_type    (TetherLoopManager    *self) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_is_running       (TetherLoopManager    *self);
TETHER_AVAILABLE_IN_1_0
GMainContext      *tether_loop_manager_get_context      (TetherLoopManager    *self);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_start            (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         GError              **error);
TETHER_AVAILABLE_IN_1_0
void               tether_loop_manager_stop             (TetherLoopManager    *self,
                                                         TetherStopMode        mode);
TETHER_AVAILABLE_IN_1_0
void               tether_loop_manager_stop_async       (TetherLoopManager    *self,
                                                         TetherStopMode        mode,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_stop_finish      (TetherLoopManager    *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_stop_within      (TetherLoopManager    *self,
                                                         gint64                timeout_usec,
                                                         guint                *n_ran,
                                                         guint                *n_cancelled,
                                                         GError              **error);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_wait_detached    (gint64                timeout_usec);
TETHER_AVAILABLE_IN_1_0
guint              tether_loop_manager_get_max_pending  (TetherLoopManager    *self);
TETHER_AVAILABLE_IN_1_0
void               tether_loop_manager_set_max_pending  (TetherLoopManager    *self,
                                                         guint                 max_pending);
TETHER_AVAILABLE_IN_1_0
gint64             tether_loop_manager_get_submit_timeout (TetherLoopManager  *self);
TETHER_AVAILABLE_IN_1_0
void               tether_loop_manager_set_submit_timeout (TetherLoopManager  *self,
                                                           gint64              timeout_usec);
TETHER_AVAILABLE_IN_1_0
guint              tether_loop_manager_get_n_pending    (TetherLoopManager    *self);
TETHER_AVAILABLE_IN_1_0
GVariant          *tether_loop_manager_dup_stats        (TetherLoopManager    *self) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherDebugFlags   tether_loop_manager_get_debug_flags  (TetherLoopManager    *self);
TETHER_AVAILABLE_IN_1_0
void               tether_loop_manager_set_debug_flags  (TetherLoopManager    *self,
                                                         TetherDebugFlags      flags);
TETHER_AVAILABLE_IN_1_0
gint64             tether_loop_manager_get_slow_threshold (TetherLoopManager  *self);
TETHER_AVAILABLE_IN_1_0
void               tether_loop_manager_set_slow_threshold (TetherLoopManager  *self,
                                                           gint64              threshold_usec);
TETHER_AVAILABLE_IN_1_0
gint64             tether_loop_manager_get_wait_spin    (TetherLoopManager    *self);
TETHER_AVAILABLE_IN_1_0
void               tether_loop_manager_set_wait_spin    (TetherLoopManager    *self,
                                                         gint64                spin_usec);
TETHER_AVAILABLE_IN_1_0
gint64             tether_loop_manager_get_loop_spin    (TetherLoopManager    *self);
TETHER_AVAILABLE_IN_1_0
void               tether_loop_manager_set_loop_spin    (TetherLoopManager    *self,
                                                         gint64                spin_usec);
TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_loop_manager_submit           (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         TetherWorkFunc        func,
                                                         gpointer              func_data,
                                                         GDestroyNotify        func_data_destroy,
                                                         GCancellable         *cancellable,
                                                         GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_call             (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         TetherWorkFunc        func,
                                                         gpointer              func_data,
                                                         GCancellable         *cancellable,
                                                         GValue               *result,
                                                         GError              **error);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_call_with_closure (TetherLoopManager   *self,
                                                          const char          *task_type,
                                                          GClosure            *closure,
                                                          GCancellable        *cancellable,
                                                          GValue              *result,
                                                          GError             **error);
TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_loop_manager_submit_full      (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         int                   priority,
                                                         TetherWorkFunc        func,
                                                         gpointer              func_data,
                                                         GDestroyNotify        func_data_destroy,
                                                         GCancellable         *cancellable,
                                                         GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_loop_manager_submit_after     (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         gint64                delay_usec,
                                                         TetherWorkFunc        func,
                                                         gpointer              func_data,
                                                         GDestroyNotify        func_data_destroy,
                                                         GCancellable         *cancellable,
                                                         GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_loop_manager_submit_at        (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         gint64                ready_time,
                                                         TetherWorkFunc        func,
                                                         gpointer              func_data,
                                                         GDestroyNotify        func_data_destroy,
                                                         GCancellable         *cancellable,
                                                         GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
void               tether_loop_manager_submit_async     (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         TetherWorkFunc        func,
                                                         gpointer              func_data,
                                                         GDestroyNotify        func_data_destroy,
                                                         int                   io_priority,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_submit_finish    (TetherLoopManager    *self,
                                                         GAsyncResult         *result,
                                                         GValue               *value,
                                                         GError              **error);
TETHER_AVAILABLE_IN_1_0
TetherWork        *tether_loop_manager_hold             (TetherLoopManager    *self,
                                                         GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_post             (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         TetherFunc            func,
                                                         gpointer              func_data,
                                                         GDestroyNotify        func_data_destroy,
                                                         GError              **error);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_post_full        (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         int                   priority,
                                                         TetherFunc            func,
                                                         gpointer              func_data,
                                                         GDestroyNotify        func_data_destroy,
                                                         GError              **error);

/**
 * TetherAsyncStartFunc:
 * @cancellable: the work's cancellable: pass it to the `_async()` call
 * @callback: pass it to the `_async()` call as its callback
 * @callback_data: pass it to the `_async()` call as its user data
 * @user_data: the data given to [method@Tether.LoopManager.submit_gio]
 *
 * Starts a GIO asynchronous operation on the manager's thread, for
 * [method@Tether.LoopManager.submit_gio].
 *
 * Since: 1.0
 */
typedef void (*TetherAsyncStartFunc)  (GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             callback_data,
                                       gpointer             user_data);

/**
 * TetherAsyncFinishFunc:
 * @source: (nullable): the operation's source object
 * @result: its result
 * @work: the submission: end it with `tether_work_return_*()`
 * @user_data: the data given to [method@Tether.LoopManager.submit_gio]
 *
 * Finishes the operation a [callback@Tether.AsyncStartFunc] started: calls
 * its `_finish()` and ends @work with the outcome. Runs on the manager's
 * thread.
 *
 * Since: 1.0
 */
typedef void (*TetherAsyncFinishFunc) (GObject             *source,
                                       GAsyncResult        *result,
                                       TetherWork          *work,
                                       gpointer             user_data);

TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_loop_manager_submit_gio       (TetherLoopManager    *self,
                                                         const char           *task_type,
                                                         TetherAsyncStartFunc  start,
                                                         TetherAsyncFinishFunc finish,
                                                         gpointer              user_data,
                                                         GDestroyNotify        user_data_destroy,
                                                         GCancellable         *cancellable,
                                                         GError              **error) G_GNUC_WARN_UNUSED_RESULT;

TETHER_AVAILABLE_IN_1_0
gboolean           tether_loop_manager_add_exit_func    (TetherLoopManager    *self,
                                                         TetherFunc            func,
                                                         gpointer              func_data,
                                                         GDestroyNotify        func_data_destroy,
                                                         GError              **error);

G_END_DECLS

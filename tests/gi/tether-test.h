/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <tether.h>

G_BEGIN_DECLS

TetherFuture *tether_test_submit_value                    (TetherLoopManager    *manager,
                                                           const char           *task_type,
                                                           const GValue         *value,
                                                           guint                 delay_ms,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TetherFuture *tether_test_submit_value_at                 (TetherLoopManager    *manager,
                                                           const char           *task_type,
                                                           const GValue         *value,
                                                           gint64                ready_time,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void          tether_test_submit_value_async              (TetherLoopManager    *manager,
                                                           const char           *task_type,
                                                           const GValue         *value,
                                                           guint                 delay_ms,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
TetherFuture *tether_test_submit_error                    (TetherLoopManager    *manager,
                                                           const char           *task_type,
                                                           const char           *message,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TetherFuture *tether_test_submit_until_cancelled          (TetherLoopManager    *manager,
                                                           const char           *task_type,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TetherFuture *tether_test_submit_blocking_until_cancelled (TetherLoopManager    *manager,
                                                           const char           *task_type,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean      tether_test_wait_started                    (TetherFuture         *future,
                                                           gint64                timeout_usec);
TetherFuture *tether_test_submit_run_order                (TetherLoopManager    *manager,
                                                           const char           *task_type,
                                                           int                   priority,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TetherFuture *tether_test_submit_progress                 (TetherLoopManager    *manager,
                                                           const char           *task_type,
                                                           guint                 n_reports,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TetherFuture *tether_test_submit_thread_name              (TetherLoopManager    *manager,
                                                           const char           *task_type,
                                                           GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TetherFuture *tether_test_executor_submit_thread_name (TetherExecutor  *executor,
                                                       const char      *task_type,
                                                       GError         **error);
char         *tether_test_get_thread_name                 (void) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

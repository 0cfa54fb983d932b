/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-enums.h"
#include "tether-version-macros.h"

G_BEGIN_DECLS

#define TETHER_TYPE_FUTURE (tether_future_get_type ())

TETHER_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (TetherFuture, tether_future, TETHER, FUTURE, GObject)

TETHER_AVAILABLE_IN_1_0
TetherFutureStatus  tether_future_get_status    (TetherFuture         *self);
TETHER_AVAILABLE_IN_1_0
gboolean            tether_future_is_done       (TetherFuture         *self);
TETHER_AVAILABLE_IN_1_0
gboolean            tether_future_is_running    (TetherFuture         *self);
TETHER_AVAILABLE_IN_1_0
void                tether_future_cancel        (TetherFuture         *self);
TETHER_AVAILABLE_IN_1_0
gboolean            tether_future_wait          (TetherFuture         *self,
                                                 gint64                timeout_usec,
                                                 GCancellable         *cancellable,
                                                 GError              **error);
TETHER_AVAILABLE_IN_1_0
gboolean            tether_future_wait_done     (TetherFuture         *self,
                                                 gint64                timeout_usec);
TETHER_AVAILABLE_IN_1_0
void                tether_future_wait_async    (TetherFuture         *self,
                                                 GCancellable         *cancellable,
                                                 GAsyncReadyCallback   callback,
                                                 gpointer              user_data);
TETHER_AVAILABLE_IN_1_0
gboolean            tether_future_wait_finish   (TetherFuture         *self,
                                                 GAsyncResult         *result,
                                                 GError              **error);
TETHER_AVAILABLE_IN_1_0
const GValue       *tether_future_get_value     (TetherFuture         *self);
TETHER_AVAILABLE_IN_1_0
GError             *tether_future_dup_error     (TetherFuture         *self);
TETHER_AVAILABLE_IN_1_0
gboolean            tether_future_get_boolean   (TetherFuture         *self,
                                                 GError              **error);
TETHER_AVAILABLE_IN_1_0
int                 tether_future_get_int       (TetherFuture         *self,
                                                 GError              **error);
TETHER_AVAILABLE_IN_1_0
gint64              tether_future_get_int64     (TetherFuture         *self,
                                                 GError              **error);
TETHER_AVAILABLE_IN_1_0
double              tether_future_get_double    (TetherFuture         *self,
                                                 GError              **error);
TETHER_AVAILABLE_IN_1_0
char               *tether_future_dup_string    (TetherFuture         *self,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gpointer            tether_future_dup_object    (TetherFuture         *self,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
GVariant           *tether_future_dup_variant   (TetherFuture         *self,
                                                 GError              **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gpointer            tether_future_get_pointer   (TetherFuture         *self,
                                                 GError              **error);
TETHER_AVAILABLE_IN_1_0
GVariant           *tether_future_dup_progress  (TetherFuture         *self) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
void                tether_future_set_progress_context (TetherFuture  *self,
                                                        GMainContext  *context);

/* Combinators: tether-combinators.c */
typedef struct _TetherPromise TetherPromise;
typedef struct _TetherLoopManager TetherLoopManager;

/**
 * TetherContinuationFunc:
 * @input: the future the continuation follows, ended
 * @output: the promise of the future the continuation returned: complete
 *   it (dropping it unsettled ends that future with
 *   %TETHER_ERROR_ABANDONED)
 * @user_data: the data passed with the function
 *
 * A continuation, for [method@Tether.Future.then], [method@Tether.Future.catch]
 * and [method@Tether.Future.finally].
 *
 * Since: 1.0
 */
typedef void (*TetherContinuationFunc) (TetherFuture  *input,
                                        TetherPromise *output,
                                        gpointer       user_data);

TETHER_AVAILABLE_IN_1_0
TetherFuture       *tether_future_all           (TetherFuture        **futures,
                                                 guint                 n_futures,
                                                 TetherCombineFlags    flags) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture       *tether_future_any           (TetherFuture        **futures,
                                                 guint                 n_futures,
                                                 TetherCombineFlags    flags) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture       *tether_future_first         (TetherFuture        **futures,
                                                 guint                 n_futures,
                                                 TetherCombineFlags    flags) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture       *tether_future_then          (TetherFuture         *self,
                                                 TetherLoopManager    *manager,
                                                 GMainContext         *context,
                                                 TetherContinuationFunc func,
                                                 gpointer              user_data,
                                                 GDestroyNotify        user_data_destroy) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture       *tether_future_catch         (TetherFuture         *self,
                                                 TetherLoopManager    *manager,
                                                 GMainContext         *context,
                                                 TetherContinuationFunc func,
                                                 gpointer              user_data,
                                                 GDestroyNotify        user_data_destroy) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture       *tether_future_finally       (TetherFuture         *self,
                                                 TetherLoopManager    *manager,
                                                 GMainContext         *context,
                                                 TetherContinuationFunc func,
                                                 gpointer              user_data,
                                                 GDestroyNotify        user_data_destroy) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

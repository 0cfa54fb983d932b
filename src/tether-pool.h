/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-enums.h"
#include "tether-future.h"
#include "tether-loop-manager.h"
#include "tether-version-macros.h"
#include "tether-work.h"

G_BEGIN_DECLS

#define TETHER_TYPE_POOL (tether_pool_get_type ())

TETHER_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (TetherPool, tether_pool, TETHER, POOL, GObject)

TETHER_AVAILABLE_IN_1_0
TetherPool        *tether_pool_new            (const char         *id,
                                               guint               n_threads) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
const char        *tether_pool_get_id         (TetherPool         *self);
TETHER_AVAILABLE_IN_1_0
guint              tether_pool_get_n_threads  (TetherPool         *self);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_pool_is_running     (TetherPool         *self);
TETHER_AVAILABLE_IN_1_0
guint              tether_pool_get_max_pending (TetherPool        *self);
TETHER_AVAILABLE_IN_1_0
void               tether_pool_set_max_pending (TetherPool        *self,
                                                guint              max_pending);
TETHER_AVAILABLE_IN_1_0
gint64             tether_pool_get_submit_timeout (TetherPool     *self);
TETHER_AVAILABLE_IN_1_0
void               tether_pool_set_submit_timeout (TetherPool     *self,
                                                   gint64          timeout_usec);
TETHER_AVAILABLE_IN_1_0
TetherDebugFlags   tether_pool_get_debug_flags (TetherPool        *self);
TETHER_AVAILABLE_IN_1_0
void               tether_pool_set_debug_flags (TetherPool        *self,
                                                TetherDebugFlags   flags);
TETHER_AVAILABLE_IN_1_0
gint64             tether_pool_get_slow_threshold (TetherPool     *self);
TETHER_AVAILABLE_IN_1_0
void               tether_pool_set_slow_threshold (TetherPool     *self,
                                                   gint64          threshold_usec);
TETHER_AVAILABLE_IN_1_0
gint64             tether_pool_get_post_spin  (TetherPool         *self);
TETHER_AVAILABLE_IN_1_0
void               tether_pool_set_post_spin  (TetherPool         *self,
                                               gint64              spin_usec);
TETHER_AVAILABLE_IN_1_0
guint              tether_pool_get_n_pending  (TetherPool         *self);
TETHER_AVAILABLE_IN_1_0
guint              tether_pool_get_n_idle     (TetherPool         *self);
TETHER_AVAILABLE_IN_1_0
TetherLoopManager *tether_pool_ref_thread     (TetherPool         *self,
                                               guint               index) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gboolean           tether_pool_start          (TetherPool         *self,
                                               const char         *task_type,
                                               GError            **error);
TETHER_AVAILABLE_IN_1_0
void               tether_pool_stop           (TetherPool         *self,
                                               TetherStopMode      mode);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_pool_stop_within    (TetherPool         *self,
                                               gint64              timeout_usec,
                                               guint              *n_ran,
                                               guint              *n_cancelled,
                                               GError            **error);
TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_pool_submit         (TetherPool         *self,
                                               const char         *task_type,
                                               TetherWorkFunc      func,
                                               gpointer            func_data,
                                               GDestroyNotify      func_data_destroy,
                                               GCancellable       *cancellable,
                                               GError            **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_pool_submit_with_closure (TetherPool    *self,
                                                    const char    *task_type,
                                                    GClosure      *closure,
                                                    GCancellable  *cancellable,
                                                    GError       **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_pool_submit_at_with_closure (TetherPool    *self,
                                                       const char    *task_type,
                                                       gint64         ready_time,
                                                       GClosure      *closure,
                                                       GCancellable  *cancellable,
                                                       GError       **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gboolean           tether_pool_post_with_closure (TetherPool   *self,
                                                  const char   *task_type,
                                                  GClosure     *closure,
                                                  GError      **error);
TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_pool_submit_after   (TetherPool         *self,
                                               const char         *task_type,
                                               gint64              delay_usec,
                                               TetherWorkFunc      func,
                                               gpointer            func_data,
                                               GDestroyNotify      func_data_destroy,
                                               GCancellable       *cancellable,
                                               GError            **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture      *tether_pool_submit_at      (TetherPool         *self,
                                               const char         *task_type,
                                               gint64              ready_time,
                                               TetherWorkFunc      func,
                                               gpointer            func_data,
                                               GDestroyNotify      func_data_destroy,
                                               GCancellable       *cancellable,
                                               GError            **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
gboolean           tether_pool_post           (TetherPool         *self,
                                               const char         *task_type,
                                               TetherFunc          func,
                                               gpointer            func_data,
                                               GDestroyNotify      func_data_destroy,
                                               GError            **error);

TETHER_AVAILABLE_IN_1_0
void               tether_pool_submit_async   (TetherPool          *self,
                                               const char          *task_type,
                                               TetherWorkFunc       func,
                                               gpointer             func_data,
                                               GDestroyNotify       func_data_destroy,
                                               int                  io_priority,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_pool_submit_finish  (TetherPool          *self,
                                               GAsyncResult        *result,
                                               GValue              *value,
                                               GError             **error);
TETHER_AVAILABLE_IN_1_0
void               tether_pool_stop_async     (TetherPool          *self,
                                               TetherStopMode       mode,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
TETHER_AVAILABLE_IN_1_0
gboolean           tether_pool_stop_finish    (TetherPool          *self,
                                               GAsyncResult        *result,
                                               GError             **error);
TETHER_AVAILABLE_IN_1_0
GVariant          *tether_pool_dup_stats      (TetherPool          *self) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherPool        *tether_pool_ref_current    (void) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

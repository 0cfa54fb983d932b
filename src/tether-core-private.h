/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-core-private.h"
#endif

#include "tether-enums.h"
#include "tether-event-private.h"
#include "tether-job-private.h"
#include "tether-lineage-private.h"

G_BEGIN_DECLS

/* The monotonic time @usec from now, saturated: G_MAXINT64 means never. */
static inline gint64
tether_time_after (gint64 usec)
{
  gint64 now = g_get_monotonic_time ();

  return usec > G_MAXINT64 - now ? G_MAXINT64 : now + usec;
}


typedef struct _TetherCore TetherCore;

TetherCore *tether_core_new            (const char     *id);
TetherJob  *tether_core_new_job        (TetherCore     *core,
                                        TetherJobKind   kind);
TetherCore *tether_core_of_job         (TetherJob      *job);
TetherCore *tether_core_ref            (TetherCore     *core);
void        tether_core_unref          (TetherCore     *core);
const char *tether_core_get_id         (TetherCore     *core);
const char *tether_core_get_label      (TetherCore     *core);
void        tether_core_set_manager    (TetherCore     *core,
                                        gpointer        manager);
gpointer    tether_core_ref_manager    (TetherCore     *core);
gboolean    tether_core_is_running     (TetherCore     *core);
gboolean    tether_core_is_cancelling  (TetherCore     *core);
void        tether_core_get_post_counts (TetherCore    *core,
                                         gsize         *ran,
                                         gsize         *dropped);

/* The manager's settings (its properties), each read and written whole,
 * from any thread. */
typedef enum
{
  TETHER_CORE_MAX_PENDING,
  TETHER_CORE_SUBMIT_TIMEOUT,
  TETHER_CORE_DEBUG_FLAGS,
  TETHER_CORE_SLOW_THRESHOLD,
  TETHER_CORE_WAIT_SPIN,
  TETHER_CORE_LOOP_SPIN,
} TetherCoreSetting;

gint64      tether_core_get_setting    (TetherCore        *core,
                                        TetherCoreSetting  setting);
gboolean    tether_core_set_setting    (TetherCore        *core,
                                        TetherCoreSetting  setting,
                                        gint64             value);
char       *tether_core_dup_task_type  (TetherCore     *core);
GMainContext *tether_core_get_context  (TetherCore     *core);
gboolean    tether_core_is_current     (TetherCore     *core);
TetherCore *tether_core_get_current    (void);
gboolean    tether_core_start          (TetherCore     *core,
                                        const char     *task_type,
                                        GError        **error);
gboolean    tether_core_ensure_started (TetherCore     *core,
                                        const char     *task_type,
                                        gboolean       *started,
                                        GError        **error);
gboolean    tether_core_request_stop   (TetherCore     *core,
                                        TetherStopMode  mode,
                                        const guint    *only_generation,
                                        guint          *generation,
                                        GPtrArray     **live,
                                        gsize           posts[2]);
gboolean    tether_core_wait_stopped   (TetherCore     *core,
                                        guint           generation,
                                        gint64          deadline);
gboolean    tether_core_accept         (TetherCore     *core,
                                        TetherJob      *job,
                                        const char     *task_type,
                                        int             priority,
                                        GCancellable   *cancellable,
                                        gint64          ready_time,
                                        GError        **error);
TetherJob  *tether_core_hold           (TetherCore     *core,
                                        GError        **error);
gboolean    tether_core_post           (TetherCore     *core,
                                        const char     *task_type,
                                        int             priority,
                                        TetherFunc      func,
                                        gpointer        func_data,
                                        GDestroyNotify  func_data_destroy,
                                        GError        **error);
void        tether_core_note_rejected  (TetherCore     *core);
guint       tether_core_get_n_pending  (TetherCore     *core);
GVariant   *tether_core_dup_stats      (TetherCore     *core);
gboolean    tether_core_begin_wait     (TetherCore     *target,
                                        TetherEvent    *event,
                                        char          **cycle);
gboolean    tether_core_begin_stop_wait (TetherCore    *target,
                                         char         **cycle);
gboolean    tether_core_begin_room_wait (TetherCore    *target,
                                         char         **cycle);
void        tether_core_end_wait       (void);
gboolean    tether_core_begin_async_wait (TetherCore   *target,
                                          TetherCore  **waiter,
                                          char        **cycle);
gboolean    tether_core_is_waiting_on  (TetherCore     *waiter,
                                        TetherCore     *target);
void        tether_core_end_async_wait (TetherCore     *waiter,
                                        TetherCore     *target);
gboolean    tether_core_wait_cancelled (void);
void        tether_core_detach         (TetherCore     *core);
gboolean    tether_core_add_exit_func  (TetherCore     *core,
                                        TetherFunc      func,
                                        gpointer        func_data,
                                        GDestroyNotify  func_data_destroy,
                                        GError        **error);
void        tether_core_lock_all_for_fork (void);
void        tether_core_unlock_all_in_parent (void);
void        tether_core_unlock_all_in_child (void);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-version-macros.h"

G_BEGIN_DECLS

#define TETHER_TYPE_WORK (tether_work_get_type ())

TETHER_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (TetherWork, tether_work, TETHER, WORK, GObject)

/**
 * TetherWorkFunc:
 * @work: (transfer none): the completion handle of this submission
 * @user_data: the data passed at submission
 *
 * A unit of work. It runs on the manager's thread, with the manager's
 * context as the thread-default context, and ends the submission by calling
 * one of the `tether_work_return_*()` functions on @work, either before it
 * returns or later (keep a reference to @work for that).
 *
 * Since: 1.0
 */
typedef void (*TetherWorkFunc) (TetherWork *work,
                                gpointer    user_data);

TETHER_AVAILABLE_IN_1_0
GCancellable *tether_work_get_cancellable  (TetherWork    *self);
TETHER_AVAILABLE_IN_1_0
gboolean      tether_work_is_cancelled     (TetherWork    *self);
TETHER_AVAILABLE_IN_1_0
const char   *tether_work_get_manager_id   (TetherWork    *self);
TETHER_AVAILABLE_IN_1_0
void          tether_work_set_name         (TetherWork    *self,
                                            const char    *name);
TETHER_AVAILABLE_IN_1_0
gboolean      tether_work_is_done          (TetherWork    *self);
TETHER_AVAILABLE_IN_1_0
void          tether_work_report_progress  (TetherWork    *self,
                                            GVariant      *progress);
TETHER_AVAILABLE_IN_1_0
void          tether_work_report_fraction  (TetherWork    *self,
                                            double         fraction,
                                            const char    *message);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_value     (TetherWork    *self,
                                            const GValue  *value);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_boolean   (TetherWork    *self,
                                            gboolean       value);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_int       (TetherWork    *self,
                                            int            value);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_int64     (TetherWork    *self,
                                            gint64         value);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_double    (TetherWork    *self,
                                            double         value);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_string    (TetherWork    *self,
                                            const char    *value);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_object    (TetherWork    *self,
                                            gpointer       value);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_variant   (TetherWork    *self,
                                            GVariant      *value);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_pointer   (TetherWork    *self,
                                            gpointer       value,
                                            GDestroyNotify value_destroy);
TETHER_AVAILABLE_IN_1_0
gpointer      tether_value_get_pointer     (const GValue  *value);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_error     (TetherWork    *self,
                                            GError        *error);
TETHER_AVAILABLE_IN_1_0
void          tether_work_return_new_error (TetherWork    *self,
                                            GQuark         domain,
                                            int            code,
                                            const char    *format,
                                            ...) G_GNUC_PRINTF (4, 5);

G_END_DECLS

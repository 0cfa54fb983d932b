/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <glib-object.h>

#include "tether-version-macros.h"

G_BEGIN_DECLS

#define TETHER_TYPE_LINEAGE (tether_lineage_get_type ())

typedef struct _TetherLineage TetherLineage;

TETHER_AVAILABLE_IN_1_0
GType          tether_lineage_get_type (void) G_GNUC_CONST;
TETHER_AVAILABLE_IN_1_0
TetherLineage *tether_lineage_capture  (void) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherLineage *tether_lineage_ref      (TetherLineage  *self);
TETHER_AVAILABLE_IN_1_0
void           tether_lineage_unref    (TetherLineage  *self);
TETHER_AVAILABLE_IN_1_0
guint          tether_lineage_get_depth (TetherLineage *self);
TETHER_AVAILABLE_IN_1_0
void           tether_lineage_adopt    (TetherLineage  *lineage);
TETHER_AVAILABLE_IN_1_0
void           tether_lineage_leave    (void);
TETHER_AVAILABLE_IN_1_0
gboolean       tether_lineage_attach   (TetherLineage  *parent,
                                        GError        **error);
TETHER_AVAILABLE_IN_1_0
GThread       *tether_thread_new       (const char     *name,
                                        GThreadFunc     func,
                                        gpointer        data);
TETHER_AVAILABLE_IN_1_0
GThread       *tether_thread_try_new   (const char     *name,
                                        GThreadFunc     func,
                                        gpointer        data,
                                        GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherLineage, tether_lineage_unref)

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <glib-object.h>

#include "tether-enums.h"
#include "tether-loop-manager.h"
#include "tether-pool.h"
#include "tether-version-macros.h"

G_BEGIN_DECLS

TETHER_AVAILABLE_IN_1_0
TetherLoopManager *tether_loop_manager_get_or_create (const char         *id,
                                                      TetherLookupFlags   flags,
                                                      GError            **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherLoopManager *tether_loop_manager_get_or_start  (const char         *id,
                                                      TetherLookupFlags   flags,
                                                      const char         *task_type,
                                                      GError            **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherPool        *tether_pool_get_or_create         (const char         *id,
                                                      guint               n_threads,
                                                      TetherLookupFlags   flags,
                                                      GError            **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherPool        *tether_pool_get_or_start          (const char         *id,
                                                      guint               n_threads,
                                                      TetherLookupFlags   flags,
                                                      const char         *task_type,
                                                      GError            **error) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
GVariant          *tether_registry_snapshot          (void) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS

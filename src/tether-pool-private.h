/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-pool-private.h"
#endif

#include "tether-pool.h"

G_BEGIN_DECLS

/* tether_pool_start(), except that a pool already running with @task_type
 * is success: see tether_pool_get_or_start(). */
gboolean tether_pool_ensure_started (TetherPool   *self,
                                     const char   *task_type,
                                     GError      **error);
/* The task type given to the last start, for snapshots. */
char    *tether_pool_dup_task_type  (TetherPool   *self);
/* Marks @manager as a thread of @self for tether_pool_ref_current(), or
 * (@self %NULL) as no longer one. */
void     tether_pool_mark_thread    (TetherPool        *self,
                                     TetherLoopManager *manager);

G_END_DECLS

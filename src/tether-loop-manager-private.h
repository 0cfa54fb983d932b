/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "tether-loop-manager.h"

G_BEGIN_DECLS

/* tether_loop_manager_start(), except that a manager already running with
 * @task_type is success: see tether_loop_manager_get_or_start(). */
gboolean tether_loop_manager_ensure_started (TetherLoopManager  *self,
                                             const char         *task_type,
                                             GError            **error);

G_END_DECLS

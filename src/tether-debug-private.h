/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-debug-private.h"
#endif

#include "tether-enums.h"

G_BEGIN_DECLS

#define TETHER_DEBUG_DEFAULT_SLOW_USEC (100 * 1000)

/* How many characters of an id, task type or work name a message quotes. */
#define TETHER_NAME_MAX_CHARS 64

TetherDebugFlags tether_debug_get_default_flags          (void);
gint64           tether_debug_get_default_slow_threshold (void);
char            *tether_describe_name        (const char       *name);
char            *tether_debug_describe_func  (gpointer          func);
void             tether_debug_log_slow       (const char       *manager,
                                              const char       *task_type,
                                              const char       *work,
                                              gint64            usec,
                                              gint64            threshold);
void             tether_debug_log_dropped    (const char       *manager,
                                              const char       *task_type,
                                              const char       *work,
                                              const char       *why);
void             tether_debug_log_unretrieved (const char      *manager,
                                               const char      *task_type,
                                               const char      *work,
                                               const GError    *error);

G_END_DECLS

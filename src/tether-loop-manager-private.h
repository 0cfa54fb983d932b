/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-loop-manager-private.h"
#endif

#include "tether-job-private.h"

G_BEGIN_DECLS

/* The monotonic time @usec from now, saturated: G_MAXINT64 means never. */
static inline gint64
tether_time_after (gint64 usec)
{
  gint64 now = g_get_monotonic_time ();

  return usec > G_MAXINT64 - now ? G_MAXINT64 : now + usec;
}

TetherCore *tether_core_ref            (TetherCore *core);
void        tether_core_unref          (TetherCore *core);
const char *tether_core_get_id         (TetherCore *core);
gboolean    tether_core_is_current     (TetherCore *core);
void        tether_core_schedule_retire (TetherCore *core,
                                         TetherJob  *job);
void        tether_core_wake_timer     (TetherCore *core,
                                        TetherJob  *job);
gboolean    tether_core_begin_wait     (TetherCore *target,
                                        GError    **error);
void        tether_core_end_wait       (void);

G_END_DECLS

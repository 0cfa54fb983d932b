/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-stats-private.h"
#endif

#include <glib.h>

G_BEGIN_DECLS

#define TETHER_STATS_WINDOW 1024

/* The counters a manager keeps about its work, and a ring of the latest
 * latency samples. Counters are atomics, each with one writer where the hot
 * path allows; the ring has a lock of its own, taken by the manager's thread
 * only for sampled jobs. */
typedef struct
{
  guint64  completed;      /* atomic */
  guint64  failed;         /* atomic */
  guint64  cancelled;      /* atomic */
  guint64  rejected;       /* atomic */
  guint64  timers;         /* atomic: accepted timers and holds (the queue counts the rest) */
  guint64  wakeups;        /* atomic: times a submitter woke the manager's thread */
  guint    running;        /* atomic: started, not ended */
  guint    high_water;     /* atomic */

  GMutex   ring_lock;
  guint    ring_next;
  guint    ring_len;
  gint64   queue_wait[TETHER_STATS_WINDOW];
  gint64   run_time[TETHER_STATS_WINDOW];
} TetherStats;

void      tether_stats_init       (TetherStats *stats);
void      tether_stats_clear      (TetherStats *stats);
void      tether_stats_record     (TetherStats *stats,
                                   gint64       queue_wait,
                                   gint64       run_time);
void      tether_stats_note_depth (TetherStats *stats,
                                   guint        depth);
GVariant *tether_stats_dup_variant (TetherStats *stats,
                                    guint64      submitted,
                                    guint        queued,
                                    guint        running_extra,
                                    guint64      completed_extra,
                                    guint64      cancelled_extra);

static inline void
tether_stats_add (guint64 *counter,
                  guint64  n)
{
  __atomic_fetch_add (counter, n, __ATOMIC_RELAXED);
}

G_END_DECLS

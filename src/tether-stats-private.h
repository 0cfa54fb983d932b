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
 * only for sampled jobs.
 *
 * GLib has no 64-bit atomics, so the totals are gsize, which
 * g_atomic_pointer_add() handles: 64 bits on 64-bit systems, where they
 * never wrap; on 32-bit ones they wrap after 2^32 events (the statistics
 * report them modulo 2^32 there). The gauges are guint, bounded by the
 * number of jobs alive at once. */
typedef struct
{
  gsize    completed;      /* atomic */
  gsize    failed;         /* atomic */
  gsize    cancelled;      /* atomic */
  gsize    rejected;       /* atomic */
  gsize    timers;         /* atomic: accepted timers and holds (the queue counts the rest) */
  gsize    wakeups;        /* atomic: times a submitter woke the manager's thread */
  guint    running;        /* atomic: started, not ended */
  guint    high_water;     /* atomic */

  /* The ring: allocated with the first sample (16 KB that a manager
   * which never samples, as most short-lived ones, does not zero). */
  GMutex   ring_lock;
  guint    ring_next;
  guint    ring_len;
  gint64  *queue_wait;     /* TETHER_STATS_WINDOW, then run_time's */
  gint64  *run_time;
} TetherStats;

/* Fire-and-forget posts, counted by the manager's thread alone (posts are
 * not jobs: they have no TetherStats traffic of their own), on a line no
 * other thread writes. dup_stats() adds them in. */
typedef struct
{
  gsize    ran;       /* atomic, one writer */
  gsize    dropped;   /* atomic, one writer */
  guint    running;   /* atomic, one writer: 1 while a post runs */
} TetherPostCounts;

void      tether_stats_init       (TetherStats *stats);
void      tether_stats_clear      (TetherStats *stats);
void      tether_stats_record     (TetherStats *stats,
                                   gint64       queue_wait,
                                   gint64       run_time);
void      tether_stats_note_depth (TetherStats *stats,
                                   guint        depth);
GVariant *tether_stats_dup_variant (TetherStats      *stats,
                                    TetherPostCounts *posts,
                                    guint64           submitted,
                                    guint             queued,
                                    guint             waiting_for_room);

static inline void
tether_stats_add (gsize *counter,
                  gsize  n)
{
  g_atomic_pointer_add (counter, n);
}

/* A counter with one writer, which needs no read-modify-write: its own
 * plain read races with no write, and the store is atomic for readers. */
static inline void
tether_stats_bump_own (gsize *counter)
{
  g_atomic_pointer_set (counter, *counter + 1);
}


G_END_DECLS

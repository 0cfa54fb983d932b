/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tether-stats-private.h"

void
tether_stats_init (TetherStats *stats)
{
  memset (stats, 0, sizeof *stats);
  g_mutex_init (&stats->ring_lock);
}

void
tether_stats_clear (TetherStats *stats)
{
  g_clear_pointer (&stats->queue_wait, g_free);
  g_mutex_clear (&stats->ring_lock);
}

/* Manager thread only. */
void
tether_stats_record (TetherStats *stats,
                     gint64       queue_wait,
                     gint64       run_time)
{
  g_mutex_lock (&stats->ring_lock);
  if (stats->queue_wait == NULL)
    {
      stats->queue_wait = g_new (gint64, 2 * TETHER_STATS_WINDOW);
      stats->run_time = stats->queue_wait + TETHER_STATS_WINDOW;
    }
  stats->queue_wait[stats->ring_next] = MAX (queue_wait, 0);
  stats->run_time[stats->ring_next] = MAX (run_time, 0);
  stats->ring_next = (stats->ring_next + 1) % TETHER_STATS_WINDOW;
  stats->ring_len = MIN (stats->ring_len + 1, TETHER_STATS_WINDOW);
  g_mutex_unlock (&stats->ring_lock);
}

void
tether_stats_note_depth (TetherStats *stats,
                         guint        depth)
{
  guint seen = g_atomic_int_get (&stats->high_water);

  /* A failed exchange leaves the value it found in @seen. */
  while (depth > seen &&
         !g_atomic_int_compare_and_exchange_full (&stats->high_water, seen, depth, &seen))
    ;
}

static int
compare_gint64 (const void *a,
                const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of @n sorted samples; 0 when there are none. */
static gint64
percentile (const gint64 *sorted,
            guint         n,
            guint         pct)
{
  guint rank;

  if (n == 0)
    return 0;
  rank = (n * pct + 99) / 100;
  return sorted[MAX (rank, 1) - 1];
}

static void
add_percentiles (GVariantDict *dict,
                 const char   *prefix,
                 gint64       *samples,
                 guint         n)
{
  static const guint pcts[] = { 50, 90, 99 };

  qsort (samples, n, sizeof *samples, compare_gint64);
  for (guint i = 0; i < G_N_ELEMENTS (pcts); i++)
    {
      g_autofree char *key = g_strdup_printf ("%s-p%u-usec", prefix, pcts[i]);

      g_variant_dict_insert (dict, key, "x", percentile (samples, n, pcts[i]));
    }
}

GVariant *
tether_stats_dup_variant (TetherStats      *stats,
                          TetherPostCounts *posts,
                          guint64           submitted,
                          guint             queued,
                          guint             waiting_for_room)
{
  /* Posts are counted apart, on the manager's thread, without
   * read-modify-writes; they are added in here. */
  guint running_extra = (guint) g_atomic_int_get (&posts->running);
  guint64 completed_extra = (gsize) g_atomic_pointer_get (&posts->ran);
  guint64 cancelled_extra = (gsize) g_atomic_pointer_get (&posts->dropped);
  g_autofree gint64 *wait = g_new (gint64, TETHER_STATS_WINDOW);
  g_autofree gint64 *run = g_new (gint64, TETHER_STATS_WINDOW);
  GVariantDict dict;
  guint n;

  g_mutex_lock (&stats->ring_lock);
  n = stats->ring_len;
  if (n > 0)
    {
      memcpy (wait, stats->queue_wait, n * sizeof *wait);
      memcpy (run, stats->run_time, n * sizeof *run);
    }
  g_mutex_unlock (&stats->ring_lock);

  /* A queue deeper now than any the manager's thread has come back to. */
  tether_stats_note_depth (stats, queued);

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "submitted", "t", submitted);
  g_variant_dict_insert (&dict, "completed", "t",
                         (guint64) g_atomic_pointer_get (&stats->completed) + completed_extra);
  g_variant_dict_insert (&dict, "failed", "t", (guint64) g_atomic_pointer_get (&stats->failed));
  g_variant_dict_insert (&dict, "cancelled", "t",
                         (guint64) g_atomic_pointer_get (&stats->cancelled) + cancelled_extra);
  g_variant_dict_insert (&dict, "rejected", "t", (guint64) g_atomic_pointer_get (&stats->rejected));
  g_variant_dict_insert (&dict, "queued", "u", queued);
  g_variant_dict_insert (&dict, "running", "u",
                         (guint) g_atomic_int_get (&stats->running) + running_extra);
  g_variant_dict_insert (&dict, "wakeups", "t", (guint64) g_atomic_pointer_get (&stats->wakeups));
  g_variant_dict_insert (&dict, "waiting-for-room", "u", waiting_for_room);
  g_variant_dict_insert (&dict, "queue-high-water", "u",
                         (guint) g_atomic_int_get (&stats->high_water));
  g_variant_dict_insert (&dict, "latency-samples", "u", n);
  add_percentiles (&dict, "queue-wait", wait, n);
  add_percentiles (&dict, "run-time", run, n);

  return g_variant_ref_sink (g_variant_dict_end (&dict));
}

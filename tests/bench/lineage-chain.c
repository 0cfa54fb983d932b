/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A worker that respawns itself through tether_thread_new() N times (100,000
 * by default): prints the memory each dead generation costs and how long a
 * lookup from the last generation takes, for a manager the first thread
 * registered. Linux only (reads /proc/self/statm). No assertions: a figure
 * to compare builds with. */
#include <stdio.h>
#include <stdlib.h>

#include <tether.h>

static guint depth;
static gsize rss_base;
static GMutex lock;
static GCond cond;
static gboolean done;

static gsize
rss_bytes (void)
{
  g_autofree char *text = NULL;
  gsize size = 0, rss = 0;

  if (g_file_get_contents ("/proc/self/statm", &text, NULL, NULL))
    sscanf (text, "%zu %zu", &size, &rss);
  return rss * 4096;
}

static void
measure_at_leaf (void)
{
  g_autoptr(TetherLineage) here = tether_lineage_capture ();
  gsize rss = rss_bytes ();
  const guint n = 1000;
  gint64 start;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    g_object_unref (tether_loop_manager_get_or_create ("root", TETHER_LOOKUP_FLAGS_STRICT, NULL));
  printf ("depth %u: %+.0f B of RSS per generation, lookup %.2f us\n",
          tether_lineage_get_depth (here), ((double) rss - rss_base) / depth,
          (double) (g_get_monotonic_time () - start) / n);
}

static gpointer
generation (gpointer data)
{
  guint left = GPOINTER_TO_UINT (data);

  if (left > 0)
    {
      g_thread_unref (tether_thread_new ("generation", generation, GUINT_TO_POINTER (left - 1)));
      return NULL;
    }
  measure_at_leaf ();
  g_mutex_lock (&lock);
  done = TRUE;
  g_cond_signal (&cond);
  g_mutex_unlock (&lock);
  return NULL;
}

static gpointer
nothing (gpointer data)
{
  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(TetherLoopManager) root = tether_loop_manager_get_or_create ("root", 0, NULL);
  gint64 start;

  depth = argc > 1 ? (guint) strtoul (argv[1], NULL, 10) : 100000;
  if (depth == 0)
    depth = 1;
  /* Warm up the allocator and GLib's thread machinery. */
  for (int i = 0; i < 100; i++)
    g_thread_join (tether_thread_new ("warm-up", nothing, NULL));
  rss_base = rss_bytes ();

  start = g_get_monotonic_time ();
  g_thread_unref (tether_thread_new ("generation", generation, GUINT_TO_POINTER (depth)));
  g_mutex_lock (&lock);
  while (!done)
    g_cond_wait (&cond, &lock);
  g_mutex_unlock (&lock);
  printf ("%u generations in %.1f s\n", depth, (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC);
  return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Measures Tether against GLib's own mechanisms in the same run and prints
 * a table of absolute figures and ratios. No timing assertions: read it. */
#include "config.h"

#include <tether.h>

static gboolean quick;

static double
now_ns (void)
{
  return (double) g_get_monotonic_time () * 1000.0;
}

/* Registry: lookups that hit at a given depth below the registering thread. */
typedef struct
{
  guint   depth;
  guint   iterations;
  double  ns_per_op;
} LookupArgs;

static gpointer
lookup_at_depth (gpointer data)
{
  LookupArgs *args = data;

  if (args->depth > 0)
    {
      args->depth--;
      g_thread_join (tether_thread_new ("bench-depth", lookup_at_depth, args));
      return NULL;
    }

  {
    double start = now_ns ();

    for (guint i = 0; i < args->iterations; i++)
      {
        TetherLoopManager *m = tether_loop_manager_get_or_create ("bench", TETHER_LOOKUP_FLAGS_STRICT, NULL);

        g_object_unref (m);
      }
    args->ns_per_op = (now_ns () - start) / args->iterations;
  }
  return NULL;
}

static GPrivate baseline_key;
static GMutex baseline_mutex;

/* The hand-rolled equivalent: a thread-local table behind a mutex. */
static double
baseline_lookup (guint iterations)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_object_unref);
  double start;

  g_hash_table_insert (table, (gpointer) "bench", tether_loop_manager_new ("baseline"));
  g_private_set (&baseline_key, table);
  start = now_ns ();
  for (guint i = 0; i < iterations; i++)
    {
      GObject *m;

      g_mutex_lock (&baseline_mutex);
      m = g_object_ref (g_hash_table_lookup (g_private_get (&baseline_key), "bench"));
      g_mutex_unlock (&baseline_mutex);
      g_object_unref (m);
    }
  start = (now_ns () - start) / iterations;
  g_hash_table_unref (table);
  return start;
}

static void
bench_registry (void)
{
  guint iterations = quick ? 20000 : 2000000;
  g_autoptr(TetherLoopManager) m = tether_loop_manager_get_or_create ("bench", TETHER_LOOKUP_FLAGS_FORCE_CREATE, NULL);
  guint depths[] = { 0, 1, 10 };
  double base = baseline_lookup (iterations);

  /* Registered on this thread: the depth-0 lookups hit it. */
  g_assert_nonnull (m);
  g_print ("\nRegistry lookup (get_or_create STRICT hit, incl. ref/unref), %u lookups each\n", iterations);
  g_print ("%-44s %12s %10s\n", "mechanism", "ns/lookup", "ratio");
  g_print ("%-44s %12.1f %10.2f\n", "GPrivate + GHashTable + GMutex (baseline)", base, 1.0);
  for (guint i = 0; i < G_N_ELEMENTS (depths); i++)
    {
      LookupArgs args = { depths[i], iterations, 0 };
      g_autofree char *label = g_strdup_printf ("Tether, hit %u level%s up", depths[i], depths[i] == 1 ? "" : "s");

      lookup_at_depth (&args);
      g_print ("%-44s %12.1f %10.2f\n", label, args.ns_per_op, args.ns_per_op / base);
    }
}

int
main (int   argc,
      char *argv[])
{
  GOptionEntry entries[] = {
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, "Few iterations: a smoke test, not a measurement", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- Tether benchmarks");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  g_print ("Tether %s benchmark%s; %u CPUs\n", TETHER_VERSION_S, quick ? " (--quick)" : "",
           g_get_num_processors ());
  bench_registry ();
  return 0;
}

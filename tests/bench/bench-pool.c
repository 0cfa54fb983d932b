/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Section 6 of tests/tether-bench: pools. CPU-bound jobs of a fixed amount
 * of arithmetic (calibrated to about 1 ms on one core, so that more threads
 * than cores show as no gain, not as a false one), and trivial jobs for the
 * per-job overhead, on a Tether pool, one manager, GThreadPool and GTask's
 * pool, in the same run. */
#include <tether.h>

#include "bench-pool.h"

static volatile guint64 sink_value;
static guint64 work_iterations = 200000;

/* A fixed amount of arithmetic: an LCG the compiler cannot fold. */
static void
burn (void)
{
  guint64 x = 1;

  for (guint64 i = 0; i < work_iterations; i++)
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  sink_value = x;
}

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

/* Sets work_iterations so that burn() takes about 1 ms here. */
static void
calibrate (void)
{
  double t0 = now_s ();

  work_iterations = 200000;
  burn ();
  work_iterations = (guint64) (work_iterations * (0.001 / MAX (now_s () - t0, 1e-6)));
  t0 = now_s ();
  burn ();
  work_iterations = (guint64) (work_iterations * (0.001 / MAX (now_s () - t0, 1e-6)));
}

typedef struct
{
  gboolean  burn;
  int       done;      /* atomic */
  int       expected;
  GMutex    lock;
  GCond     cond;
} Batch;

static void
batch_one_done (Batch *batch)
{
  if (g_atomic_int_add (&batch->done, 1) + 1 == batch->expected)
    {
      g_mutex_lock (&batch->lock);
      g_cond_broadcast (&batch->cond);
      g_mutex_unlock (&batch->lock);
    }
}

static void
batch_wait (Batch *batch)
{
  g_mutex_lock (&batch->lock);
  while (g_atomic_int_get (&batch->done) < batch->expected)
    g_cond_wait (&batch->cond, &batch->lock);
  g_mutex_unlock (&batch->lock);
}

static void
job_func (gpointer data)
{
  Batch *batch = data;

  if (batch->burn)
    burn ();
  batch_one_done (batch);
}

static void
pool_job (gpointer data,
          gpointer user_data)
{
  job_func (data);
}

static void
task_job (GTask        *task,
          gpointer      source_object,
          gpointer      task_data,
          GCancellable *cancellable)
{
  job_func (task_data);
  g_task_return_boolean (task, TRUE);
}

typedef enum { MECH_MANAGER, MECH_POOL, MECH_GTHREADPOOL, MECH_GTASK } Mech;

/* What one producer posts to. */
typedef struct
{
  Mech               mech;
  TetherLoopManager *manager;
  TetherPool        *pool;
  GThreadPool       *gpool;
  Batch             *batch;
  guint              n;
} Producer;

static void
produce (Producer *producer)
{
  for (guint i = 0; i < producer->n; i++)
    {
      switch (producer->mech)
        {
        case MECH_MANAGER:
          tether_loop_manager_post (producer->manager, NULL, job_func, producer->batch, NULL, NULL);
          break;
        case MECH_POOL:
          tether_pool_post (producer->pool, NULL, job_func, producer->batch, NULL, NULL);
          break;
        case MECH_GTHREADPOOL:
          g_thread_pool_push (producer->gpool, producer->batch, NULL);
          break;
        case MECH_GTASK:
        default:
          {
            GTask *task = g_task_new (NULL, NULL, NULL, NULL);

            g_task_set_task_data (task, producer->batch, NULL);
            g_task_run_in_thread (task, task_job);
            g_object_unref (task);
          }
          break;
        }
    }
}

static gpointer
producer_thread (gpointer data)
{
  produce (data);
  return NULL;
}

/* Seconds to run @n jobs on @mech (posts, no futures) from @n_producers
 * threads (1: this one) at once, from the first submission to the last
 * job's end. */
static double
run_batch_from (Mech      mech,
                guint     n_threads,
                guint     n,
                gboolean  cpu,
                guint     n_producers)
{
  Batch batch = { .burn = cpu, .expected = (int) n };
  g_autoptr(TetherLoopManager) manager = NULL;
  g_autoptr(TetherPool) pool = NULL;
  GThreadPool *gpool = NULL;
  Producer producers[2];
  GThread *threads[2] = { NULL, NULL };
  double t0, t1;

  g_assert (n_producers >= 1 && n_producers <= G_N_ELEMENTS (producers));

  g_mutex_init (&batch.lock);
  g_cond_init (&batch.cond);
  if (mech == MECH_MANAGER)
    {
      manager = tether_loop_manager_new ("bench-pool-manager");
      tether_loop_manager_start (manager, NULL, NULL);
    }
  else if (mech == MECH_POOL)
    {
      pool = tether_pool_new ("bench-pool", n_threads);
      tether_pool_start (pool, NULL, NULL);
    }
  else if (mech == MECH_GTHREADPOOL)
    {
      gpool = g_thread_pool_new (pool_job, NULL, (int) n_threads, TRUE, NULL);
    }

  for (guint p = 0; p < n_producers; p++)
    producers[p] = (Producer) { mech, manager, pool, gpool, &batch,
                                n / n_producers + (p == 0 ? n % n_producers : 0) };
  t0 = now_s ();
  for (guint p = 1; p < n_producers; p++)
    threads[p] = g_thread_new ("bench-producer", producer_thread, &producers[p]);
  produce (&producers[0]);
  batch_wait (&batch);
  t1 = now_s ();
  for (guint p = 1; p < n_producers; p++)
    g_thread_join (threads[p]);

  if (manager != NULL)
    tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  if (pool != NULL)
    tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  if (gpool != NULL)
    g_thread_pool_free (gpool, FALSE, TRUE);
  /* GTask's idle completions for the default context. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_cond_clear (&batch.cond);
  g_mutex_clear (&batch.lock);
  return t1 - t0;
}

static double
run_batch (Mech      mech,
           guint     n_threads,
           guint     n,
           gboolean  cpu)
{
  return run_batch_from (mech, n_threads, n, cpu, 1);
}

/* The median of three runs from @n_producers threads; @spread, if not
 * NULL, gets the fastest and slowest. */
int
bench_compare_doubles (const void *a,
                       const void *b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

double
bench_median (double *values,
              guint   n)
{
  qsort (values, n, sizeof (double), bench_compare_doubles);
  return values[n / 2];
}

static double
median_batch_from (Mech     mech,
                   guint    n_threads,
                   guint    n,
                   guint    n_producers,
                   double   spread[2])
{
  double r[3], median;

  for (guint i = 0; i < 3; i++)
    r[i] = run_batch_from (mech, n_threads, n, FALSE, n_producers);
  median = bench_median (r, 3);
  spread[0] = r[0];
  spread[1] = r[2];
  return median;
}

#define POOL_ROUNDS 3
#define TRIVIAL_ROUNDS 5

void
bench_pool (gboolean     quick,
            BenchPoolResults *results)
{
  guint n_cpu = quick ? 100 : 2000;
  guint n_trivial = quick ? 2000 : 100000;

  calibrate ();
  /* Every mechanism runs once per round, in turn, and each ratio is the
   * median of the ratios within rounds: the VM's speed drifts by a third
   * over minutes, which timing one mechanism's runs after another's would
   * read as a difference between them. */
  {
    static const struct { Mech mech; guint n_threads; } cpu_rows[] = {
      { MECH_MANAGER, 1 }, { MECH_POOL, 1 }, { MECH_POOL, 2 }, { MECH_POOL, 4 },
      { MECH_GTHREADPOOL, 2 }, { MECH_GTASK, 0 },
    };
    static const char *cpu_names[] = {
      "Tether LoopManager (one thread)", "Tether Pool, 1 thread", "Tether Pool, 2 threads",
      "Tether Pool, 4 threads (2 CPUs)", "GThreadPool, 2 threads", "GTask run_in_thread (GLib's pool)",
    };
    guint rounds = quick ? 1 : POOL_ROUNDS;
    double secs[G_N_ELEMENTS (cpu_rows)][POOL_ROUNDS];
    double speedup[POOL_ROUNDS], vs_gpool[POOL_ROUNDS], vs_gtask[POOL_ROUNDS];
    double med[G_N_ELEMENTS (cpu_rows)];

    g_print ("\n6. Pools: %u CPU-bound jobs of ~1 ms each (%" G_GUINT64_FORMAT " LCG steps), "
             "posted at once, until the last ended;\n"
             "   median of %u rounds, each running every mechanism in turn\n"
             "   ratio = one manager's time / X; > 1 means faster than one manager\n",
             n_cpu, work_iterations, rounds);
    for (guint r = 0; r < rounds; r++)
      {
        for (guint m = 0; m < G_N_ELEMENTS (cpu_rows); m++)
          secs[m][r] = run_batch (cpu_rows[m].mech, cpu_rows[m].n_threads, n_cpu, TRUE);
        speedup[r] = secs[0][r] / secs[2][r];
        vs_gpool[r] = secs[4][r] / secs[2][r];
        vs_gtask[r] = secs[5][r] / secs[2][r];
      }
    g_print ("%-40s %12s %10s  %s\n", "mechanism", "seconds", "ratio", "seconds per round");
    for (guint m = 0; m < G_N_ELEMENTS (cpu_rows); m++)
      {
        GString *each = g_string_new (NULL);

        for (guint r = 0; r < rounds; r++)
          g_string_append_printf (each, "%s%.3f", r > 0 ? " " : "", secs[m][r]);
        med[m] = bench_median (secs[m], rounds);
        g_print ("%-40s %12.3f %10.2f  %s\n", cpu_names[m], med[m], med[0] / med[m], each->str);
        g_string_free (each, TRUE);
      }
    results->speedup_2 = bench_median (speedup, rounds);
    results->vs_gthreadpool = bench_median (vs_gpool, rounds);
    results->vs_gtask = bench_median (vs_gtask, rounds);
    g_print ("   within rounds, 2-thread pool: %.2fx one manager, %.2fx GThreadPool's speed (%.2f-%.2f),\n"
             "   %.2fx GTask's (%.2f-%.2f)\n",
             results->speedup_2, results->vs_gthreadpool, vs_gpool[0], vs_gpool[rounds - 1],
             results->vs_gtask, vs_gtask[0], vs_gtask[rounds - 1]);
  }

  {
    guint rounds = quick ? 1 : TRIVIAL_ROUNDS;
    double gpool[TRIVIAL_ROUNDS], pool[TRIVIAL_ROUNDS], manager[TRIVIAL_ROUNDS], ratio[TRIVIAL_ROUNDS];
    double gpool_med, pool_med, manager_med;

    for (guint r = 0; r < rounds; r++)
      {
        gpool[r] = run_batch (MECH_GTHREADPOOL, 2, n_trivial, FALSE) * 1e6 / n_trivial;
        pool[r] = run_batch (MECH_POOL, 2, n_trivial, FALSE) * 1e6 / n_trivial;
        manager[r] = run_batch (MECH_MANAGER, 1, n_trivial, FALSE) * 1e6 / n_trivial;
        ratio[r] = pool[r] / gpool[r];
      }
    gpool_med = bench_median (gpool, rounds);
    pool_med = bench_median (pool, rounds);
    manager_med = bench_median (manager, rounds);
    results->trivial_vs_gthreadpool = bench_median (ratio, rounds);
    g_print ("\n   %u trivial jobs (an atomic increment), posted at once; us per job, median of %u rounds,\n"
             "   each running the three in turn; ratio = X / GThreadPool's (2 threads); < 1 means cheaper\n",
             n_trivial, rounds);
    g_print ("%-40s %12s %10s  %s\n", "mechanism", "us/job", "ratio", "spread (min-max)");
    g_print ("%-40s %12.3f %10.2f  %.3f-%.3f\n", "GThreadPool, 2 threads", gpool_med, 1.0,
             gpool[0], gpool[rounds - 1]);
    g_print ("%-40s %12.3f %10.2f  %.3f-%.3f\n", "Tether Pool, 2 threads", pool_med, pool_med / gpool_med,
             pool[0], pool[rounds - 1]);
    g_print ("%-40s %12.3f %10.2f  %.3f-%.3f\n", "Tether LoopManager post (one thread)", manager_med,
             manager_med / gpool_med, manager[0], manager[rounds - 1]);
    g_print ("   pool / GThreadPool within rounds: median %.2f (%.2f-%.2f)\n",
             results->trivial_vs_gthreadpool, ratio[0], ratio[rounds - 1]);
  }

  g_print ("\n   fire and forget: %u trivial posts from 2 producer threads at once; "
           "M jobs/s, median of 3 (min-max)\n", n_trivial);
  g_print ("%-40s %12s %16s\n", "mechanism", "M jobs/s", "spread");
  {
    static const struct { Mech mech; guint n_threads; const char *name; } rows[] = {
      { MECH_MANAGER, 1, "Tether LoopManager (one thread)" },
      { MECH_POOL, 2, "Tether Pool, 2 threads" },
      { MECH_GTHREADPOOL, 2, "GThreadPool, 2 threads" },
    };

    for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
      {
        double spread[2];
        double median = median_batch_from (rows[r].mech, rows[r].n_threads, n_trivial, 2, spread);

        g_print ("%-40s %12.2f %7.2f-%-7.2f\n", rows[r].name, n_trivial / median / 1e6,
                 n_trivial / spread[1] / 1e6, n_trivial / spread[0] / 1e6);
      }
  }

}

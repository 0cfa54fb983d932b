/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Measures Tether against GLib's own mechanisms in the same run and prints
 * a table of absolute figures and ratios. No timing assertions: read it. */
#include "config.h"

#include <tether.h>

#include "bench-pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#if __GLIBC_PREREQ(2, 33)
#define BENCH_HAVE_MALLINFO2 1
#endif
#endif
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

static gboolean quick;

static double
now_ns (void)
{
  return (double) g_get_monotonic_time () * 1000.0;
}

/* Nanosecond clock for single round trips (g_get_monotonic_time is in us). */
static double
precise_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
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

/* Loop-thread mechanisms: a shared rig of one GMainContext run by a
 * GMainLoop in a GThread, a GAsyncQueue source on it, a one-thread
 * GThreadPool, a Tether manager and, on Linux, a futex ping-pong thread.
 * Every job, whatever carried it, ends in rig_job(). */

#define BENCH_TASK_TYPE "bench"
#define DRAIN_DEADLINE_USEC (60 * G_USEC_PER_SEC)
/* The spin of the "spinning" rows, on both sides: waiter and loop thread. */
#define SPIN_USEC 50
#define THROUGHPUT_RUNS 5

/* What the targets at the end are checked against. */
static struct
{
  double rt_invoke, rt_futex, rt_spin, rt_tether, rt_tether_spin, rt_glib_best;
  double iteration;   /* one GMainContext iteration, one ready source, no poll() */
  double rt_tether_call, rt_tether_call_spin;
  double ff_invoke[2], ff_pool[2], ff_tether[2], ff_ring[2];
  double managers_seconds, stop_ratio;
  guint  n_managers;
} results;

typedef struct
{
  GMutex   mutex;
  GCond    cond;
  gboolean done;
} Done;

typedef struct
{
  GMainContext *context;
  GMainLoop    *loop;
  GThread      *thread;
} LoopThread;

typedef struct
{
  GSource      base;
  GAsyncQueue *queue;
} QueueSource;

/* The machine's floors: a bounded multi-producer ring (Dmitry Vyukov's
 * bounded queue, used with one consumer) whose consumer thread either
 * sleeps on a futex when it finds the ring empty (a producer wakes it only
 * if it said it sleeps, as Tether does) or spins; and two threads spinning
 * on one cache line. No main loop, no allocation, no function pointers. */
#define RING_SIZE 4096

typedef struct
{
  gsize    seq;    /* atomic */
  gpointer data;
} RingCell;

typedef struct
{
  RingCell  cells[RING_SIZE];
  gsize     tail __attribute__ ((aligned (64)));  /* atomic: producers */
  gsize     head __attribute__ ((aligned (64)));  /* the consumer's */
  gint      sleeping __attribute__ ((aligned (64)));  /* atomic: the futex word */
  gint      quit;      /* atomic */
  gboolean  spin;
  GThread  *thread;
} Ring;

typedef struct
{
  gint      word __attribute__ ((aligned (64)));  /* atomic: 0 idle, 1 request, 2 done, 3 quit */
  GThread  *thread;
} SpinPong;

typedef struct
{
  LoopThread         lt;
  QueueSource       *queue_source;
  GThreadPool       *pool;
  TetherLoopManager *manager;
  TetherLoopManager *spin_manager;  /* wait-spin and loop-spin set */
  Done               done;
  gint               counter;
  gboolean           round_trip;
  Ring              *ring;        /* while a ring row is measured */
  SpinPong          *pong;        /* while the spin ping-pong row is measured */
#ifdef __linux__
  gint               futex_word;
  GThread           *futex_thread;
#endif
} Rig;

typedef void (*RigFunc) (Rig *rig);

static void
done_signal (Done *done)
{
  g_mutex_lock (&done->mutex);
  done->done = TRUE;
  g_cond_signal (&done->cond);
  g_mutex_unlock (&done->mutex);
}

static void
done_wait (Done *done)
{
  g_mutex_lock (&done->mutex);
  while (!done->done)
    g_cond_wait (&done->cond, &done->mutex);
  done->done = FALSE;
  g_mutex_unlock (&done->mutex);
}

static void
done_clear (Done *done)
{
  g_mutex_clear (&done->mutex);
  g_cond_clear (&done->cond);
}

static void
rig_job (Rig *rig)
{
  g_atomic_int_inc (&rig->counter);
  if (rig->round_trip)
    done_signal (&rig->done);
}

static gboolean
source_job (gpointer data)
{
  rig_job (data);
  return G_SOURCE_REMOVE;
}

static void
pool_job (gpointer data,
          gpointer user_data)
{
  rig_job (data);
}

static void
tether_post_job (gpointer data)
{
  rig_job (data);
}

static void
tether_work_job (TetherWork *work,
                 gpointer    data)
{
  Rig *rig = data;

  g_atomic_int_inc (&rig->counter);
  tether_work_return_boolean (work, TRUE);
}

static void
task_job (GTask        *task,
          gpointer      source_object,
          gpointer      task_data,
          GCancellable *cancellable)
{
  Rig *rig = task_data;

  g_atomic_int_inc (&rig->counter);
  g_task_return_boolean (task, TRUE);
}

static gboolean
signal_done (gpointer data)
{
  done_signal (data);
  return G_SOURCE_REMOVE;
}

static gpointer
loop_thread_run (gpointer data)
{
  LoopThread *lt = data;

  g_main_context_push_thread_default (lt->context);
  g_main_loop_run (lt->loop);
  g_main_context_pop_thread_default (lt->context);
  return NULL;
}

/* Returns once the loop runs, so that a quit cannot precede the run. */
static void
loop_thread_start (LoopThread *lt)
{
  Done ready = { 0 };

  lt->context = g_main_context_new ();
  lt->loop = g_main_loop_new (lt->context, FALSE);
  lt->thread = g_thread_new ("bench-loop", loop_thread_run, lt);
  g_main_context_invoke_full (lt->context, G_PRIORITY_DEFAULT, signal_done, &ready, NULL);
  done_wait (&ready);
  done_clear (&ready);
}

static void
loop_thread_stop (LoopThread *lt)
{
  g_main_loop_quit (lt->loop);
  g_thread_join (lt->thread);
  g_main_loop_unref (lt->loop);
  g_main_context_unref (lt->context);
}

static gboolean
queue_source_ready (GSource *source)
{
  return g_async_queue_length (((QueueSource *) source)->queue) > 0;
}

static gboolean
queue_source_prepare (GSource *source,
                      gint    *timeout)
{
  *timeout = -1;
  return queue_source_ready (source);
}

static gboolean
queue_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  GAsyncQueue *queue = ((QueueSource *) source)->queue;
  gpointer item;

  while ((item = g_async_queue_try_pop (queue)) != NULL)
    rig_job (item);
  return G_SOURCE_CONTINUE;
}

static void
queue_source_finalize (GSource *source)
{
  g_async_queue_unref (((QueueSource *) source)->queue);
}

static GSourceFuncs queue_source_funcs = {
  queue_source_prepare,
  queue_source_ready,
  queue_source_dispatch,
  queue_source_finalize,
};

#ifdef __linux__
enum { FUTEX_IDLE, FUTEX_REQUEST, FUTEX_DONE, FUTEX_QUIT };

static void
futex_wait_while (gint *word,
                  gint  value)
{
  syscall (SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void
futex_wake_one (gint *word)
{
  syscall (SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static gpointer
futex_thread_run (gpointer data)
{
  Rig *rig = data;

  for (;;)
    {
      gint value = g_atomic_int_get (&rig->futex_word);

      if (value == FUTEX_QUIT)
        return NULL;
      if (value == FUTEX_REQUEST)
        {
          g_atomic_int_inc (&rig->counter);
          g_atomic_int_set (&rig->futex_word, FUTEX_DONE);
          futex_wake_one (&rig->futex_word);
        }
      else
        futex_wait_while (&rig->futex_word, value);
    }
}

static void
rt_futex (Rig *rig)
{
  gint value;

  g_atomic_int_set (&rig->futex_word, FUTEX_REQUEST);
  futex_wake_one (&rig->futex_word);
  while ((value = g_atomic_int_get (&rig->futex_word)) != FUTEX_DONE)
    futex_wait_while (&rig->futex_word, value);
}
#endif

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

static gboolean
ring_push (Ring     *ring,
           gpointer  data)
{
  gsize pos = (gsize) g_atomic_pointer_get (&ring->tail);

  for (;;)
    {
      RingCell *cell = &ring->cells[pos & (RING_SIZE - 1)];
      gssize diff = (gssize) ((gsize) g_atomic_pointer_get (&cell->seq) - pos);

      if (diff == 0)
        {
          if (g_atomic_pointer_compare_and_exchange (&ring->tail, pos, pos + 1))
            {
              cell->data = data;
              g_atomic_pointer_set (&cell->seq, pos + 1);
              return TRUE;
            }
          pos = (gsize) g_atomic_pointer_get (&ring->tail);
        }
      else if (diff < 0)
        return FALSE;   /* full */
      else
        pos = (gsize) g_atomic_pointer_get (&ring->tail);
    }
}

static gpointer
ring_pop (Ring *ring)
{
  RingCell *cell = &ring->cells[ring->head & (RING_SIZE - 1)];
  gpointer data;

  if ((gsize) g_atomic_pointer_get (&cell->seq) != ring->head + 1)
    return NULL;
  data = cell->data;
  g_atomic_pointer_set (&cell->seq, ring->head + RING_SIZE);
  ring->head++;
  return data;
}

static void rig_job (Rig *rig);

static gpointer
ring_consumer (gpointer data)
{
  Ring *ring = data;

  while (!g_atomic_int_get (&ring->quit))
    {
      gpointer item = ring_pop (ring);

      if (item != NULL)
        {
          rig_job (item);
          continue;
        }
      if (ring->spin)
        {
          cpu_relax ();
          continue;
        }
#ifdef __linux__
      /* Say it sleeps, then look once more: a producer that pushed in
       * between either is seen here or sees the flag and wakes it. */
      g_atomic_int_set (&ring->sleeping, 1);
      if ((item = ring_pop (ring)) != NULL)
        {
          g_atomic_int_set (&ring->sleeping, 0);
          rig_job (item);
          continue;
        }
      if (!g_atomic_int_get (&ring->quit))
        syscall (SYS_futex, &ring->sleeping, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
      g_atomic_int_set (&ring->sleeping, 0);
#else
      g_thread_yield ();
#endif
    }
  return NULL;
}

static void
ring_wake (Ring *ring)
{
#ifdef __linux__
  if (g_atomic_int_get (&ring->sleeping) &&
      g_atomic_int_compare_and_exchange (&ring->sleeping, 1, 0))
    syscall (SYS_futex, &ring->sleeping, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#endif
}

static void
ring_start (Rig      *rig,
            gboolean  spin)
{
  Ring *ring = g_aligned_alloc0 (1, sizeof (Ring), 64);

  for (gsize i = 0; i < RING_SIZE; i++)
    ring->cells[i].seq = i;
  ring->spin = spin;
  ring->thread = g_thread_new ("bench-ring", ring_consumer, ring);
  rig->ring = ring;
}

static void
ring_stop (Rig *rig)
{
  Ring *ring = g_steal_pointer (&rig->ring);

  g_atomic_int_set (&ring->quit, TRUE);
#ifdef __linux__
  g_atomic_int_set (&ring->sleeping, 0);
  syscall (SYS_futex, &ring->sleeping, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#endif
  g_thread_join (ring->thread);
  g_aligned_free (ring);
}

static void
ring_start_sleeping (Rig *rig)
{
  ring_start (rig, FALSE);
}

static void
ring_start_spinning (Rig *rig)
{
  ring_start (rig, TRUE);
}

static void
post_ring (Rig *rig)
{
  while (!ring_push (rig->ring, rig))
    g_thread_yield ();   /* full: the consumer is behind */
  if (!rig->ring->spin)
    ring_wake (rig->ring);
}

static gpointer
spin_pong_run (gpointer data)
{
  SpinPong *pong = data;

  for (;;)
    {
      gint word = g_atomic_int_get (&pong->word);

      if (word == 3)
        return NULL;
      if (word == 1)
        g_atomic_int_set (&pong->word, 2);
      else
        cpu_relax ();
    }
}

static void
spin_pong_start (Rig *rig)
{
  rig->pong = g_aligned_alloc0 (1, sizeof (SpinPong), 64);
  rig->pong->thread = g_thread_new ("bench-spin", spin_pong_run, rig->pong);
}

static void
spin_pong_stop (Rig *rig)
{
  SpinPong *pong = g_steal_pointer (&rig->pong);

  g_atomic_int_set (&pong->word, 3);
  g_thread_join (pong->thread);
  g_aligned_free (pong);
}

static void
rt_spin_pong (Rig *rig)
{
  g_atomic_int_set (&rig->pong->word, 1);
  while (g_atomic_int_get (&rig->pong->word) != 2)
    cpu_relax ();
  g_atomic_int_set (&rig->pong->word, 0);
  g_atomic_int_inc (&rig->counter);
}

static void
rig_init (Rig *rig)
{
  g_autoptr(GError) error = NULL;

  memset (rig, 0, sizeof *rig);
  loop_thread_start (&rig->lt);
  rig->queue_source = (QueueSource *) g_source_new (&queue_source_funcs, sizeof (QueueSource));
  rig->queue_source->queue = g_async_queue_new ();
  g_source_attach ((GSource *) rig->queue_source, rig->lt.context);
  rig->pool = g_thread_pool_new (pool_job, NULL, 1, TRUE, &error);
  g_assert_no_error (error);
  rig->manager = tether_loop_manager_new ("bench-rig");
  if (!tether_loop_manager_start (rig->manager, BENCH_TASK_TYPE, &error))
    g_error ("start: %s", error->message);
  rig->spin_manager = g_object_new (TETHER_TYPE_LOOP_MANAGER, "id", "bench-spin",
                                    "wait-spin", (gint64) SPIN_USEC, "loop-spin", (gint64) SPIN_USEC,
                                    NULL);
  if (!tether_loop_manager_start (rig->spin_manager, BENCH_TASK_TYPE, &error))
    g_error ("start: %s", error->message);
#ifdef __linux__
  rig->futex_thread = g_thread_new ("bench-futex", futex_thread_run, rig);
#endif
}

static void
rig_clear (Rig *rig)
{
#ifdef __linux__
  g_atomic_int_set (&rig->futex_word, FUTEX_QUIT);
  futex_wake_one (&rig->futex_word);
  g_thread_join (rig->futex_thread);
#endif
  tether_loop_manager_stop (rig->manager, TETHER_STOP_MODE_DRAIN);
  g_clear_object (&rig->manager);
  tether_loop_manager_stop (rig->spin_manager, TETHER_STOP_MODE_DRAIN);
  g_clear_object (&rig->spin_manager);
  g_thread_pool_free (rig->pool, FALSE, TRUE);
  g_source_destroy ((GSource *) rig->queue_source);
  g_source_unref ((GSource *) rig->queue_source);
  loop_thread_stop (&rig->lt);
  done_clear (&rig->done);
}

/* Fire-and-forget: hand one job over and return. */
static void
post_invoke (Rig *rig)
{
  g_main_context_invoke_full (rig->lt.context, G_PRIORITY_DEFAULT, source_job, rig, NULL);
}

static void
post_idle (Rig *rig)
{
  GSource *source = g_idle_source_new ();

  g_source_set_callback (source, source_job, rig, NULL);
  g_source_attach (source, rig->lt.context);
  g_source_unref (source);
}

static void
post_queue (Rig *rig)
{
  g_async_queue_push (rig->queue_source->queue, rig);
  g_main_context_wakeup (rig->lt.context);
}

static void
post_task (Rig *rig)
{
  GTask *task = g_task_new (NULL, NULL, NULL, NULL);

  g_task_set_task_data (task, rig, NULL);
  g_task_run_in_thread (task, task_job);
  g_object_unref (task);
}

static void
post_pool (Rig *rig)
{
  g_autoptr(GError) error = NULL;

  if (!g_thread_pool_push (rig->pool, rig, &error))
    g_error ("pool push: %s", error->message);
}

static void
post_tether (Rig *rig)
{
  g_autoptr(GError) error = NULL;

  if (!tether_loop_manager_post (rig->manager, BENCH_TASK_TYPE, tether_post_job, rig, NULL, &error))
    g_error ("post: %s", error->message);
}

static void
post_tether_spin (Rig *rig)
{
  g_autoptr(GError) error = NULL;

  if (!tether_loop_manager_post (rig->spin_manager, BENCH_TASK_TYPE, tether_post_job, rig, NULL, &error))
    g_error ("post: %s", error->message);
}

/* Round trips whose completion the mechanism provides itself. */
static void
rt_task (Rig *rig)
{
  GTask *task = g_task_new (NULL, NULL, NULL, NULL);

  g_task_set_task_data (task, rig, NULL);
  g_task_run_in_thread_sync (task, task_job);
  if (!g_task_propagate_boolean (task, NULL))
    g_error ("GTask failed");
  g_object_unref (task);
}

static void
rt_tether (Rig *rig)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = tether_loop_manager_submit (rig->manager, BENCH_TASK_TYPE,
                                                               tether_work_job, rig, NULL, NULL, &error);

  if (future == NULL || !tether_future_wait (future, -1, NULL, &error))
    g_error ("submit: %s", error->message);
}

static void
rt_tether_spin (Rig *rig)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = tether_loop_manager_submit (rig->spin_manager, BENCH_TASK_TYPE,
                                                               tether_work_job, rig, NULL, NULL, &error);

  if (future == NULL || !tether_future_wait (future, -1, NULL, &error))
    g_error ("submit: %s", error->message);
}

/* A blocking call: the same work, no future. */
static void
rt_tether_call_on (TetherLoopManager *manager,
                   Rig               *rig)
{
  g_autoptr(GError) error = NULL;

  if (!tether_loop_manager_call (manager, BENCH_TASK_TYPE, tether_work_job, rig, NULL, NULL, &error))
    g_error ("call: %s", error->message);
}

static void
rt_tether_call (Rig *rig)
{
  rt_tether_call_on (rig->manager, rig);
}

static void
rt_tether_call_spin (Rig *rig)
{
  rt_tether_call_on (rig->spin_manager, rig);
}

typedef struct
{
  const char *name;
  RigFunc     post;       /* NULL: a round-trip row only */
  RigFunc     round_trip;  /* NULL: post, then wait for rig->done */
  gboolean    glib;        /* one of GLib's own mechanisms */
  RigFunc     setup;       /* around the measurement, if not NULL */
  RigFunc     teardown;
} Mechanism;

static const Mechanism mechanisms[] = {
  { "g_main_context_invoke_full", post_invoke, NULL, TRUE },
  { "idle GSource attach", post_idle, NULL, TRUE },
  { "GAsyncQueue + custom GSource + wakeup", post_queue, NULL, TRUE },
  { "GTask run_in_thread(_sync)", post_task, rt_task, TRUE },
  { "GThreadPool push (1 thread)", post_pool, NULL, TRUE },
  { "Tether submit + future_wait / post", post_tether, rt_tether },
  { "Tether, both sides spin " G_STRINGIFY (SPIN_USEC) " us", post_tether_spin, rt_tether_spin },
  { "Tether call (no future)", NULL, rt_tether_call },
  { "Tether call, both sides spin " G_STRINGIFY (SPIN_USEC) " us", NULL, rt_tether_call_spin },
  /* Last, so that the rows above run where they always have: a spinning
   * consumer thread just stopped leaves the machine in another state. */
  { "raw MPSC ring, consumer sleeps (floor)", post_ring, NULL, FALSE,
    ring_start_sleeping, ring_stop },
  { "raw MPSC ring, consumer spins (floor)", post_ring, NULL, FALSE,
    ring_start_spinning, ring_stop },
};

/* Shared helpers: percentiles, lost-job check, table output. */

/* The median of @n values (sorted in place), and their min and max as
 * percentages of it. */
static double
median_spread (double *values,
               guint   n,
               double  spread[2])
{
  double median = bench_median (values, n);

  spread[0] = median > 0 ? 100.0 * values[0] / median : 0;
  spread[1] = median > 0 ? 100.0 * values[n - 1] / median : 0;
  return median;
}

static double
percentile (double *sorted,
            guint   n,
            guint   pct)
{
  guint index = (guint) (((guint64) n * pct) / 100);

  return sorted[MIN (index, n - 1)];
}

static gboolean
check_count (Rig        *rig,
             const char *what,
             guint       expected)
{
  guint got = (guint) g_atomic_int_get (&rig->counter);

  if (got == expected)
    return TRUE;
  g_printerr ("LOST JOBS in %s: %u of %u ran\n", what, got, expected);
  return FALSE;
}

/* Blocks until rig->counter reaches @total, or the deadline passes. */
static gboolean
wait_for_count (Rig  *rig,
                guint total)
{
  gint64 deadline = g_get_monotonic_time () + DRAIN_DEADLINE_USEC;

  while ((guint) g_atomic_int_get (&rig->counter) < total)
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (20);
    }
  return TRUE;
}

static void
print_row (const char *name,
           double      value,
           double      value2,
           double      base)
{
  if (value2 < 0)
    g_print ("%-40s %14.1f %10s %9.2f\n", name, value, "", value / base);
  else
    g_print ("%-40s %14.2f %10.2f %9.2f\n", name, value, value2, value / base);
}

/* Measures @n round trips of @one (after a tenth as many warm-ups) and
 * returns the median and p99 in microseconds. */
static gboolean
measure_round_trip (Rig        *rig,
                    const char *name,
                    RigFunc     one,
                    RigFunc     post,
                    guint       n,
                    double     *median,
                    double     *p99)
{
  g_autofree double *samples = g_new (double, n);
  guint warmup = n / 10 + 1;

  rig->counter = 0;
  rig->round_trip = TRUE;
  for (guint i = 0; i < warmup + n; i++)
    {
      double start = precise_ns ();

      if (one != NULL)
        one (rig);
      else
        {
          post (rig);
          done_wait (&rig->done);
        }
      if (i >= warmup)
        samples[i - warmup] = (precise_ns () - start) / 1000.0;
    }
  rig->round_trip = FALSE;
  qsort (samples, n, sizeof (double), bench_compare_doubles);
  *median = percentile (samples, n, 50);
  *p99 = percentile (samples, n, 99);
  return check_count (rig, name, warmup + n);
}

/* GLib's floor for anything a GMainContext dispatches: one
 * g_main_context_iteration() of a context whose one source is always ready,
 * with a poll function that makes no system call (as a spinning manager's
 * does). A spinning round trip through a context costs at least this on
 * the loop's thread plus the cache-line hand-overs of a spin ping-pong. */
static gboolean
always_ready (GSource *source,
              gint    *timeout)
{
  *timeout = -1;
  return TRUE;
}

static gboolean
dispatch_nothing (GSource     *source,
                  GSourceFunc  callback,
                  gpointer     user_data)
{
  return G_SOURCE_CONTINUE;
}

static gint
poll_nothing (GPollFD *fds,
              guint    n_fds,
              gint     timeout)
{
  return 0;
}

static double
measure_iteration_us (guint n)
{
  static GSourceFuncs funcs = { always_ready, NULL, dispatch_nothing, NULL, NULL, NULL };
  GMainContext *context = g_main_context_new ();
  GSource *source = g_source_new (&funcs, sizeof (GSource));
  double runs[5], t0;

  g_source_attach (source, context);
  g_main_context_set_poll_func (context, poll_nothing);
  g_main_context_acquire (context);
  for (guint r = 0; r < G_N_ELEMENTS (runs); r++)
    {
      t0 = precise_ns ();
      for (guint i = 0; i < n; i++)
        g_main_context_iteration (context, FALSE);
      runs[r] = (precise_ns () - t0) / 1000.0 / n;
    }
  g_main_context_release (context);
  g_source_destroy (source);
  g_source_unref (source);
  g_main_context_unref (context);
  return bench_median (runs, G_N_ELEMENTS (runs));
}

static gboolean
bench_round_trip (Rig *rig)
{
  guint n = quick ? 200 : 20000;
  double base_median = 0, base_p99 = 0;
  gboolean ok = TRUE;

  g_print ("\n1. Round trip: one job to a loop thread, caller blocks until it ran; %u samples each\n"
           "   latency in us; completion via GMutex+GCond unless the mechanism has its own;\n"
           "   ratio = X / invoke_full; < 1 means faster\n", n);
  g_print ("%-40s %14s %10s %9s\n", "mechanism", "median us", "p99 us", "ratio(med)");
  ok &= measure_round_trip (rig, "invoke_full", NULL, post_invoke, n, &base_median, &base_p99);
#ifdef __linux__
  {
    double median, p99;

    ok &= measure_round_trip (rig, "futex", rt_futex, NULL, n, &median, &p99);
    results.rt_futex = median;
    g_print ("%-40s %14.2f %10.2f %9.2f\n", "futex ping-pong (floor)", median, p99, median / base_median);
  }
#else
  g_print ("%-40s %14s\n", "futex ping-pong (floor)", "n/a (not Linux)");
#endif
  {
    double median, p99;

    spin_pong_start (rig);
    ok &= measure_round_trip (rig, "spin", rt_spin_pong, NULL, n, &median, &p99);
    spin_pong_stop (rig);
    results.rt_spin = median;
    g_print ("%-40s %14.2f %10.2f %9.2f\n", "spin ping-pong (floor)", median, p99, median / base_median);
  }
  results.iteration = measure_iteration_us (quick ? 2000 : 200000);
  g_print ("%-40s %14.2f %10s %9.2f\n", "1 GMainContext iteration (GLib floor)", results.iteration,
           "-", results.iteration / base_median);
  results.rt_glib_best = base_median;
  for (guint i = 0; i < G_N_ELEMENTS (mechanisms); i++)
    {
      double median, p99;

      if (mechanisms[i].setup != NULL)
        mechanisms[i].setup (rig);
      ok &= measure_round_trip (rig, mechanisms[i].name, mechanisms[i].round_trip, mechanisms[i].post,
                                n, &median, &p99);
      if (mechanisms[i].teardown != NULL)
        mechanisms[i].teardown (rig);
      print_row (mechanisms[i].name, median, p99, base_median);
      if (mechanisms[i].glib)
        results.rt_glib_best = MIN (results.rt_glib_best, median);
      if (mechanisms[i].round_trip == rt_tether)
        results.rt_tether = median;
      else if (mechanisms[i].round_trip == rt_tether_spin)
        results.rt_tether_spin = median;
      else if (mechanisms[i].round_trip == rt_tether_call)
        results.rt_tether_call = median;
      else if (mechanisms[i].round_trip == rt_tether_call_spin)
        results.rt_tether_call_spin = median;
    }
  results.rt_invoke = base_median;
  return ok;
}

typedef struct
{
  Rig    *rig;
  RigFunc post;
  guint   n;
} Producer;

static gpointer
producer_run (gpointer data)
{
  Producer *producer = data;

  for (guint i = 0; i < producer->n; i++)
    producer->post (producer->rig);
  return NULL;
}

/* Jobs per second with @n_producers threads posting @n_each jobs each,
 * timed until the last job has run; negative if some never ran. */
static double
measure_throughput (Rig     *rig,
                    RigFunc  post,
                    guint    n_producers,
                    guint    n_each)
{
  Producer producer = { rig, post, n_each };
  GThread *threads[2];
  guint total = n_producers * n_each;
  double start, elapsed;

  g_assert (n_producers <= G_N_ELEMENTS (threads));
  rig->counter = 0;
  start = precise_ns ();
  for (guint i = 0; i < n_producers; i++)
    threads[i] = g_thread_new ("bench-producer", producer_run, &producer);
  for (guint i = 0; i < n_producers; i++)
    g_thread_join (threads[i]);
  if (!wait_for_count (rig, total))
    return -1;
  elapsed = precise_ns () - start;
  return total / (elapsed / 1e9);
}

static gboolean
bench_throughput (Rig *rig)
{
  guint n_each = quick ? 2000 : 200000;
  double base[2] = { 0, 0 };
  gboolean ok = TRUE;

  g_print ("\n2. Fire-and-forget throughput: %u jobs per producer, each an atomic increment\n"
           "   jobs/s until the last ran, median of %u runs; ratio = X / invoke_full; > 1 means faster\n",
           n_each, THROUGHPUT_RUNS);
  g_print ("%-40s %14s %10s %9s %9s  %s\n", "mechanism", "1 prod j/s", "2 prod j/s", "ratio(1)",
           "ratio(2)", "spread (min-max, % of median)");
  for (guint i = 0; i < G_N_ELEMENTS (mechanisms); i++)
    {
      double rate[2], spread[2][2];

      if (mechanisms[i].post == NULL)
        continue;
      if (mechanisms[i].setup != NULL)
        mechanisms[i].setup (rig);
      for (guint p = 0; p < 2; p++)
        {
          double runs[THROUGHPUT_RUNS];

          /* The median of a few runs: one run is a few tens of
           * milliseconds, and a 2-CPU machine's other work shows in it. */
          for (guint r = 0; r < THROUGHPUT_RUNS; r++)
            {
              runs[r] = measure_throughput (rig, mechanisms[i].post, p + 1, n_each);
              if (runs[r] < 0)
                {
                  ok &= check_count (rig, mechanisms[i].name, (p + 1) * n_each);
                  runs[r] = 0;
                }
            }
          rate[p] = median_spread (runs, THROUGHPUT_RUNS, spread[p]);
          if (i == 0)
            base[p] = results.ff_invoke[p] = rate[p];
          else if (mechanisms[i].post == post_pool)
            results.ff_pool[p] = rate[p];
          else if (mechanisms[i].post == post_tether)
            results.ff_tether[p] = rate[p];
          else if (mechanisms[i].setup == ring_start_sleeping)
            results.ff_ring[p] = rate[p];
        }
      if (mechanisms[i].teardown != NULL)
        mechanisms[i].teardown (rig);
      g_print ("%-40s %14.0f %10.0f %9.2f %9.2f  %3.0f-%3.0f / %3.0f-%3.0f\n", mechanisms[i].name,
               rate[0], rate[1], rate[0] / base[0], rate[1] / base[1],
               spread[0][0], spread[0][1], spread[1][0], spread[1][1]);
    }
  /* GTask without a callback may leave completions for the default context. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return ok;
}

/* Lifecycle: what starting and stopping a loop thread costs. */
static void
measure_plain_loops (guint   n,
                     double *start_per_s,
                     double *stop_per_s)
{
  g_autofree LoopThread *lts = g_new0 (LoopThread, n);
  double t0, t1;

  t0 = precise_ns ();
  for (guint i = 0; i < n; i++)
    loop_thread_start (&lts[i]);
  t1 = precise_ns ();
  for (guint i = 0; i < n; i++)
    loop_thread_stop (&lts[i]);
  *start_per_s = n / ((t1 - t0) / 1e9);
  *stop_per_s = n / ((precise_ns () - t1) / 1e9);
}

static void
measure_managers (guint   n,
                  double *start_per_s,
                  double *stop_per_s)
{
  g_autofree TetherLoopManager **managers = g_new0 (TetherLoopManager *, n);
  double t0, t1;

  t0 = precise_ns ();
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;

      managers[i] = tether_loop_manager_new ("bench-life");
      if (!tether_loop_manager_start (managers[i], BENCH_TASK_TYPE, &error))
        g_error ("start: %s", error->message);
    }
  t1 = precise_ns ();
  for (guint i = 0; i < n; i++)
    {
      tether_loop_manager_stop (managers[i], TETHER_STOP_MODE_DRAIN);
      g_object_unref (managers[i]);
    }
  *start_per_s = n / ((t1 - t0) / 1e9);
  *stop_per_s = n / ((precise_ns () - t1) / 1e9);
}

static gsize
heap_in_use (void)
{
#ifdef BENCH_HAVE_MALLINFO2
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
#else
  unsigned long size = 0, resident = 0;
  FILE *statm = fopen ("/proc/self/statm", "r");

  if (statm != NULL)
    {
      if (fscanf (statm, "%lu %lu", &size, &resident) != 2)
        resident = 0;
      fclose (statm);
    }
  return (gsize) resident * (gsize) sysconf (_SC_PAGESIZE);
#endif
}

static const char *
heap_source (void)
{
#ifdef BENCH_HAVE_MALLINFO2
  return "mallinfo2() uordblks + hblkhd";
#else
  return "RSS from /proc/self/statm";
#endif
}

typedef struct
{
  Done entered;
  Done gate;
} Blocker;

static void
blocker_run (Blocker *blocker)
{
  done_signal (&blocker->entered);
  done_wait (&blocker->gate);
}

static gboolean
blocker_source (gpointer data)
{
  blocker_run (data);
  return G_SOURCE_REMOVE;
}

static void
blocker_post (gpointer data)
{
  blocker_run (data);
}

/* Heap growth per job queued behind a blocked loop thread. */
static double
measure_queued_bytes (Rig     *rig,
                      RigFunc  post,
                      guint    n,
                      gboolean *ok)
{
  Blocker blocker = { 0 };
  g_autoptr(GError) error = NULL;
  gsize before;
  double bytes;

  if (post == post_tether)
    {
      if (!tether_loop_manager_post (rig->manager, BENCH_TASK_TYPE, blocker_post, &blocker, NULL, &error))
        g_error ("post: %s", error->message);
    }
  else
    g_main_context_invoke_full (rig->lt.context, G_PRIORITY_DEFAULT, blocker_source, &blocker, NULL);
  done_wait (&blocker.entered);
  rig->counter = 0;
  before = heap_in_use ();
  for (guint i = 0; i < n; i++)
    post (rig);
  bytes = ((double) heap_in_use () - (double) before) / n;
  done_signal (&blocker.gate);
  if (!wait_for_count (rig, n))
    *ok = check_count (rig, "queued bytes", n);
  done_clear (&blocker.entered);
  done_clear (&blocker.gate);
  return bytes;
}

/* Rounds of the lifecycle measurement, GLib's and Tether's alternating:
 * on a VM a round's figures move by a third from one to the next, and for
 * minutes at a time, so a ratio is only as good as its rounds are
 * interleaved. */
#define LIFECYCLE_ROUNDS 5

static gboolean
bench_lifecycle (Rig *rig)
{
  guint n_loops = quick ? 50 : 1000;
  guint n_queued = quick ? 1000 : 100000;
  guint rounds = quick ? 1 : LIFECYCLE_ROUNDS;
  double plain_start[LIFECYCLE_ROUNDS], plain_stop[LIFECYCLE_ROUNDS];
  double tether_start[LIFECYCLE_ROUNDS], tether_stop[LIFECYCLE_ROUNDS];
  double tether_total[LIFECYCLE_ROUNDS], stop_ratio[LIFECYCLE_ROUNDS];
  double spread[6][2];
  double med[6];
  double plain_bytes, tether_bytes;
  gboolean ok = TRUE;

  for (guint r = 0; r < rounds; r++)
    {
      measure_plain_loops (n_loops, &plain_start[r], &plain_stop[r]);
      measure_managers (n_loops, &tether_start[r], &tether_stop[r]);
      tether_total[r] = n_loops / tether_start[r] + n_loops / tether_stop[r];
      stop_ratio[r] = tether_stop[r] / plain_stop[r];
    }
  med[0] = median_spread (plain_start, rounds, spread[0]);
  med[1] = median_spread (plain_stop, rounds, spread[1]);
  med[2] = median_spread (tether_start, rounds, spread[2]);
  med[3] = median_spread (tether_stop, rounds, spread[3]);
  med[4] = median_spread (tether_total, rounds, spread[4]);
  med[5] = median_spread (stop_ratio, rounds, spread[5]);

  g_print ("\n3a. Lifecycle: %u loop threads started, then all stopped; median of %u rounds, GLib's and\n"
           "    Tether's alternating; per second; ratio = X / (GMainContext + GMainLoop + GThread);\n"
           "    > 1 means faster\n", n_loops, rounds);
  g_print ("%-40s %14s %10s %9s %9s  %s\n", "mechanism", "start/s", "stop/s", "ratio(st)", "ratio(sp)",
           "spread (min-max, % of median: start / stop)");
  g_print ("%-40s %14.0f %10.0f %9.2f %9.2f  %3.0f-%3.0f / %3.0f-%3.0f\n", "GMainContext+GMainLoop+GThread",
           med[0], med[1], 1.0, 1.0, spread[0][0], spread[0][1], spread[1][0], spread[1][1]);
  g_print ("%-40s %14.0f %10.0f %9.2f %9.2f  %3.0f-%3.0f / %3.0f-%3.0f\n", "Tether new+start / stop(DRAIN)+unref",
           med[2], med[3], med[2] / med[0], med[3] / med[1],
           spread[2][0], spread[2][1], spread[3][0], spread[3][1]);
  g_print ("    stop ratio within each round: median %.2f (%.2f-%.2f); Tether's start+stop of all %u:\n"
           "    median %.3f s (%.3f-%.3f)\n", med[5], med[5] * spread[5][0] / 100, med[5] * spread[5][1] / 100,
           n_loops, med[4], med[4] * spread[4][0] / 100, med[4] * spread[4][1] / 100);
  results.stop_ratio = med[5];
  results.managers_seconds = med[4];
  results.n_managers = n_loops;

  plain_bytes = measure_queued_bytes (rig, post_invoke, n_queued, &ok);
  tether_bytes = measure_queued_bytes (rig, post_tether, n_queued, &ok);
  g_print ("\n3b. Memory per queued job: %u jobs behind a blocked loop thread, heap = %s\n"
           "    bytes/job; ratio = X / invoke_full; < 1 means smaller\n", n_queued, heap_source ());
  g_print ("%-40s %14s %10s %9s\n", "mechanism", "bytes/job", "", "ratio");
  print_row ("g_main_context_invoke_full", plain_bytes, -1, plain_bytes);
  print_row ("Tether post", tether_bytes, -1, plain_bytes);
  return ok;
}

/* 3c. A job of high priority submitted behind a backlog of low-priority
 * ones on a blocked loop thread: the time from unblocking to the job
 * running. Each backlog job is an empty post; each mechanism gets its own
 * backlog. */
typedef struct
{
  double ran_at;   /* ns, written before `ran` */
  gint   ran;      /* atomic */
} Marker;

static void
noop_post (gpointer data)
{
}

static gboolean
noop_source (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
mark_post (gpointer data)
{
  Marker *marker = data;

  marker->ran_at = precise_ns ();
  g_atomic_int_set (&marker->ran, TRUE);
}

static gboolean
mark_source (gpointer data)
{
  mark_post (data);
  return G_SOURCE_REMOVE;
}

typedef enum
{
  PRIO_TETHER_HIGH,     /* backlog LOW, job HIGH: priorities */
  PRIO_TETHER_FIFO,     /* backlog and job at the default priority: FIFO */
  PRIO_INVOKE_HIGH,     /* g_main_context_invoke_full(): backlog LOW, job HIGH */
} PrioCase;

static double
measure_priority_once (Rig      *rig,
                       PrioCase  which,
                       guint     backlog)
{
  Blocker blocker = { 0 };
  Marker marker = { 0 };
  g_autoptr(GError) error = NULL;
  double released;
  gboolean tether = which != PRIO_INVOKE_HIGH;
  int low = which == PRIO_TETHER_FIFO ? G_PRIORITY_DEFAULT : G_PRIORITY_LOW;
  int high = which == PRIO_TETHER_FIFO ? G_PRIORITY_DEFAULT : G_PRIORITY_HIGH;

  if (tether)
    {
      if (!tether_loop_manager_post (rig->manager, BENCH_TASK_TYPE, blocker_post, &blocker, NULL, &error))
        g_error ("post: %s", error->message);
    }
  else
    g_main_context_invoke_full (rig->lt.context, G_PRIORITY_HIGH, blocker_source, &blocker, NULL);
  done_wait (&blocker.entered);

  for (guint i = 0; i < backlog; i++)
    {
      if (tether)
        tether_loop_manager_post_full (rig->manager, BENCH_TASK_TYPE, low, noop_post, NULL, NULL, NULL);
      else
        g_main_context_invoke_full (rig->lt.context, low, noop_source, NULL, NULL);
    }
  if (tether)
    tether_loop_manager_post_full (rig->manager, BENCH_TASK_TYPE, high, mark_post, &marker, NULL, NULL);
  else
    g_main_context_invoke_full (rig->lt.context, high, mark_source, &marker, NULL);

  released = precise_ns ();
  done_signal (&blocker.gate);
  while (!g_atomic_int_get (&marker.ran))
    g_thread_yield ();

  /* Let the backlog drain before the next run. */
  if (tether)
    {
      while (tether_loop_manager_get_n_pending (rig->manager) > 0)
        g_thread_yield ();
    }
  else
    {
      Done drained = { 0 };

      g_main_context_invoke_full (rig->lt.context, G_PRIORITY_LOW + 1, signal_done, &drained, NULL);
      done_wait (&drained);
      done_clear (&drained);
    }
  done_clear (&blocker.entered);
  done_clear (&blocker.gate);
  return (marker.ran_at - released) / 1000.0;
}

static void
bench_priority (Rig *rig)
{
  static const struct { PrioCase which; const char *name; } cases[] = {
    { PRIO_INVOKE_HIGH, "invoke_full HIGH behind LOW idles" },
    { PRIO_TETHER_HIGH, "Tether post_full HIGH behind LOW" },
    { PRIO_TETHER_FIFO, "Tether post DEFAULT behind DEFAULT (FIFO)" },
  };
  guint backlog = quick ? 1000 : 10000;
  guint runs = quick ? 3 : 9;
  double base = 0;

  g_print ("\n3c. Priority: one job submitted behind %u queued jobs on a blocked loop thread\n"
           "    us from unblocking to the job running, median of %u runs; ratio = X / invoke_full\n",
           backlog, runs);
  g_print ("%-44s %10s %10s %9s\n", "mechanism", "median us", "max us", "ratio");
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree double *samples = g_new (double, runs);
      double median;

      for (guint r = 0; r < runs; r++)
        samples[r] = measure_priority_once (rig, cases[c].which, backlog);
      median = bench_median (samples, runs);
      if (c == 0)
        base = median;
      g_print ("%-44s %10.1f %10.1f %9.2f\n", cases[c].name, median, samples[runs - 1],
               median / base);
    }
}

static void
print_target (const char *what,
              double      measured,
              const char *unit,
              gboolean    met)
{
  g_print ("%-58s %12.2f %-4s %s\n", what, measured, unit, met ? "met" : "MISSED");
}

static BenchPoolResults pool_results;

/* The targets of issue 6 (and issue 18's pool rows), as ratios within this run. */
static void
print_targets (void)
{
  g_print ("\n4. Targets (ratios within this run)\n");
  g_print ("%-58s %17s %s\n", "target", "measured", "");
  print_target ("fire-and-forget, 1 producer: >= 10x invoke_full",
                results.ff_tether[0] / results.ff_invoke[0], "x", results.ff_tether[0] >= 10 * results.ff_invoke[0]);
  print_target ("fire-and-forget, 1 producer: >= 2x GThreadPool",
                results.ff_tether[0] / results.ff_pool[0], "x", results.ff_tether[0] >= 2 * results.ff_pool[0]);
#ifdef __linux__
  print_target ("sleeping round trip: <= 1.1x futex ping-pong (median)",
                results.rt_tether / results.rt_futex, "x", results.rt_tether <= 1.1 * results.rt_futex);
#endif
  print_target ("round trip with spinning: <= 2 us median",
                results.rt_tether_spin, "us", results.rt_tether_spin <= 2.0);
  g_print ("%-58s %12.2f %-4s %s\n", "1,000 managers started and stopped: <= 1 s",
           results.managers_seconds * 1000.0 / MAX (results.n_managers, 1), "s",
           quick ? "(quick: scaled from fewer)" :
           results.managers_seconds <= 1.0 ? "met" : "MISSED");

  g_print ("%-58s %12.2f %-4s %s\n", "pool: 2,000 ~1 ms jobs, 2 threads >= 1.8x one manager",
           pool_results.speedup_2, "x", pool_results.speedup_2 >= 1.8 ? "met" : "MISSED");
  print_target ("pool: 2 threads at least as fast as GThreadPool (2)",
                pool_results.vs_gthreadpool, "x", pool_results.vs_gthreadpool >= 1.0);
  print_target ("pool: 2 threads at least as fast as GTask's pool",
                pool_results.vs_gtask, "x", pool_results.vs_gtask >= 1.0);
  print_target ("pool: trivial job cost <= 1.5x GThreadPool's",
                pool_results.trivial_vs_gthreadpool, "x",
                pool_results.trivial_vs_gthreadpool <= 1.5);

  g_print ("\n5. Against the machine's floors (issue 16's targets, ratios within this run)\n");
  g_print ("%-58s %17s %s\n", "target", "measured", "");
  print_target ("spinning round trip (submit+wait): <= 2x spin ping-pong",
                results.rt_tether_spin / results.rt_spin, "x",
                results.rt_tether_spin <= 2 * results.rt_spin);
  print_target ("spinning round trip (call): <= 2x spin ping-pong",
                results.rt_tether_call_spin / results.rt_spin, "x",
                results.rt_tether_call_spin <= 2 * results.rt_spin);
  /* Not a target: what the two above can reach while a GMainContext
   * dispatches the work (the design's fixed point). */
  g_print ("%-58s %12.2f %-4s %s\n", "  floor through a context: spin ping-pong + 1 iteration",
           (results.rt_spin + results.iteration) / results.rt_spin, "x", "(of spin ping-pong)");
  print_target ("post, 1 producer: >= 50% of the raw MPSC ring (sleeping)",
                100.0 * results.ff_tether[0] / results.ff_ring[0], "%",
                results.ff_tether[0] >= 0.5 * results.ff_ring[0]);
  print_target ("post, 2 producers: >= 40% of the raw MPSC ring (sleeping)",
                100.0 * results.ff_tether[1] / results.ff_ring[1], "%",
                results.ff_tether[1] >= 0.4 * results.ff_ring[1]);
  print_target ("sleeping round trip (submit+wait): <= fastest GLib's",
                results.rt_tether / results.rt_glib_best, "x",
                results.rt_tether <= results.rt_glib_best);
  print_target ("sleeping round trip (call): <= fastest GLib's",
                results.rt_tether_call / results.rt_glib_best, "x",
                results.rt_tether_call <= results.rt_glib_best);
  print_target ("stops per second: >= 1x GMainContext+GMainLoop+GThread",
                results.stop_ratio, "x", results.stop_ratio >= 1.0);
  g_print ("%-58s %12.2f %-4s %s\n", "1,000 managers started and stopped: <= 0.2 s",
           results.managers_seconds * 1000.0 / MAX (results.n_managers, 1), "s",
           quick ? "(quick: scaled from fewer)" :
           results.managers_seconds <= 0.2 ? "met" : "MISSED");
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
  Rig rig;
  gboolean ok = TRUE;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  g_print ("Tether %s benchmark%s\n", TETHER_VERSION_S, quick ? " (--quick)" : "");
  g_print ("Machine: %u CPUs (nproc), GLib %u.%u.%u at run time (built against %d.%d.%d)\n",
           g_get_num_processors (), glib_major_version, glib_minor_version, glib_micro_version,
           GLIB_MAJOR_VERSION, GLIB_MINOR_VERSION, GLIB_MICRO_VERSION);
  bench_registry ();
  rig_init (&rig);
  ok &= bench_round_trip (&rig);
  ok &= bench_throughput (&rig);
  ok &= bench_lifecycle (&rig);
  bench_priority (&rig);
  rig_clear (&rig);
  bench_pool (quick, &pool_results);
  print_targets ();
  if (!ok)
    g_printerr ("FAILED: some jobs were lost\n");
  return ok ? 0 : 1;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Priorities: submit_full(), post_full(), submit_async()'s io_priority.
 * Each test holds the manager's thread in a gated job, queues work, opens
 * the gate and reads the order the work ran in. Every wait has a deadline. */
#include "config.h"

#include <tether.h>

#include "test-util.h"

#define WATCHDOG (30 * G_USEC_PER_SEC)

/* The order items ran in: each appends its tag, on the manager's thread. */
typedef struct
{
  GMutex  mutex;
  GArray *tags;   /* int */
  guint   expected;
  GCond   cond;
} Log;

typedef struct
{
  Log *log;
  int  tag;
} Entry;

static void
log_init (Log   *log,
          guint  expected)
{
  g_mutex_init (&log->mutex);
  g_cond_init (&log->cond);
  log->tags = g_array_new (FALSE, FALSE, sizeof (int));
  log->expected = expected;
}

static void
log_clear (Log *log)
{
  g_array_unref (log->tags);
  g_cond_clear (&log->cond);
  g_mutex_clear (&log->mutex);
}

static void
log_append (Log *log,
            int  tag)
{
  g_mutex_lock (&log->mutex);
  g_array_append_val (log->tags, tag);
  if (log->tags->len >= log->expected)
    g_cond_broadcast (&log->cond);
  g_mutex_unlock (&log->mutex);
}

static void
log_wait (Log *log)
{
  gint64 deadline = g_get_monotonic_time () + WATCHDOG;

  g_mutex_lock (&log->mutex);
  while (log->tags->len < log->expected)
    if (!g_cond_wait_until (&log->cond, &log->mutex, deadline))
      g_error ("only %u of %u items ran within the watchdog", log->tags->len, log->expected);
  g_mutex_unlock (&log->mutex);
}

static Entry *
entry_new (Log *log,
           int  tag)
{
  Entry *entry = g_new (Entry, 1);

  entry->log = log;
  entry->tag = tag;
  return entry;
}

static void
log_post (gpointer user_data)
{
  Entry *entry = user_data;

  log_append (entry->log, entry->tag);
}

static void
log_work (TetherWork *work,
          gpointer    user_data)
{
  Entry *entry = user_data;

  log_append (entry->log, entry->tag);
  tether_work_return_int (work, entry->tag);
}

/* Holds the manager's thread until the gate opens. */
static TetherFuture *
hold_thread (TetherLoopManager *manager,
             Gate              *gate)
{
  g_autoptr(GError) error = NULL;
  TetherFuture *blocker;

  blocker = tether_loop_manager_submit (manager, NULL, block_work, gate, NULL, NULL, &error);
  g_assert_no_error (error);
  gate_wait_entered (gate);
  return blocker;
}

static void
release_thread (TetherFuture *blocker,
                Gate         *gate)
{
  g_autoptr(GError) error = NULL;

  gate_open (gate);
  g_assert_true (tether_future_wait (blocker, WATCHDOG, NULL, &error));
  g_assert_no_error (error);
  g_object_unref (blocker);
}

static void
post_at (TetherLoopManager *manager,
         Log               *log,
         int                priority,
         int                tag)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_loop_manager_post_full (manager, NULL, priority, log_post,
                                                entry_new (log, tag), g_free, &error));
  g_assert_no_error (error);
}

/* Tags encode priority * 1000 + submission index, so the expected order is
 * the tags sorted: by priority, then by submission. */
static int
compare_int (gconstpointer a,
             gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

static const int priorities[] = { G_PRIORITY_LOW, G_PRIORITY_DEFAULT, G_PRIORITY_HIGH,
                                  G_PRIORITY_DEFAULT_IDLE, G_PRIORITY_HIGH_IDLE };

static void
test_priority_order (void)
{
  g_autoptr(TetherLoopManager) manager = started ("priority-order", NULL);
  g_autoptr(GArray) sorted = NULL;
  Gate gate;
  Log log;
  TetherFuture *blocker;
  guint n = 100;

  gate_init (&gate);
  log_init (&log, n);
  blocker = hold_thread (manager, &gate);

  for (guint i = 0; i < n; i++)
    {
      int priority = priorities[g_random_int_range (0, G_N_ELEMENTS (priorities))];

      /* Posts and futures share one order. */
      if (i % 2 == 0)
        post_at (manager, &log, priority, (priority + 1000) * 1000 + (int) i);
      else
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(TetherFuture) future = NULL;

          future = tether_loop_manager_submit_full (manager, NULL, priority, log_work,
                                                    entry_new (&log, (priority + 1000) * 1000 +
                                                               (int) i),
                                                    g_free, NULL, &error);
          g_assert_no_error (error);
        }
    }
  g_assert_cmpuint (tether_loop_manager_get_n_pending (manager), ==, n);
  release_thread (blocker, &gate);
  log_wait (&log);

  sorted = g_array_copy (log.tags);
  g_array_sort (sorted, compare_int);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (g_array_index (log.tags, int, i), ==, g_array_index (sorted, int, i));

  log_clear (&log);
  gate_clear (&gate);
}

/* A flood of high-priority work does not keep lower priorities waiting for
 * ever: each waiting priority starts one item in every 128 x n. */
static void
test_no_starvation (void)
{
  g_autoptr(TetherLoopManager) manager = started ("priority-fair", NULL);
  Gate gate;
  Log log;
  TetherFuture *blocker;
  guint n_high = 2000;
  gint low_at = -1, default_at = -1;

  gate_init (&gate);
  log_init (&log, n_high + 2);
  blocker = hold_thread (manager, &gate);

  post_at (manager, &log, G_PRIORITY_LOW, -2);
  post_at (manager, &log, G_PRIORITY_DEFAULT, -1);
  for (guint i = 0; i < n_high; i++)
    post_at (manager, &log, G_PRIORITY_HIGH, (int) i);
  release_thread (blocker, &gate);
  log_wait (&log);

  for (guint i = 0; i < log.tags->len; i++)
    {
      int tag = g_array_index (log.tags, int, i);

      if (tag == -2)
        low_at = (int) i;
      else if (tag == -1)
        default_at = (int) i;
    }
  g_test_message ("default ran at %d, low at %d, of %u", default_at, low_at, log.tags->len);
  /* Three priorities wait: each gets the fair slot once in three batches. */
  g_assert_cmpint (default_at, >=, 0);
  g_assert_cmpint (low_at, >=, 0);
  g_assert_cmpint (default_at, <, 3 * 128);
  g_assert_cmpint (low_at, <, 3 * 128);
  /* And not before the high-priority work had its batch. */
  g_assert_cmpint (default_at, >=, 127);
  g_assert_cmpint (low_at, >=, 127);

  log_clear (&log);
  gate_clear (&gate);
}

/* The default priority keeps its place among others: a low-priority item
 * waits behind a flood of default posts only for the fair slot. */
static void
test_low_behind_default_flood (void)
{
  g_autoptr(TetherLoopManager) manager = started ("priority-default-flood", NULL);
  Gate gate;
  Log log;
  TetherFuture *blocker;
  guint n = 1000;
  gint low_at = -1;

  gate_init (&gate);
  log_init (&log, n + 1);
  blocker = hold_thread (manager, &gate);
  post_at (manager, &log, G_PRIORITY_LOW, -1);
  for (guint i = 0; i < n; i++)
    g_assert_true (tether_loop_manager_post (manager, NULL, log_post, entry_new (&log, (int) i),
                                             g_free, NULL));
  release_thread (blocker, &gate);
  log_wait (&log);

  for (guint i = 0; i < log.tags->len; i++)
    if (g_array_index (log.tags, int, i) == -1)
      low_at = (int) i;
  g_assert_cmpint (low_at, >=, 127);
  g_assert_cmpint (low_at, <, 2 * 128);
  /* The default posts kept their own order around it. */
  for (guint i = 1, last = 0; i < log.tags->len; i++)
    {
      int tag = g_array_index (log.tags, int, i);

      if (tag < 0 || i == 0)
        continue;
      if (g_array_index (log.tags, int, last) >= 0)
        g_assert_cmpint (tag, >, g_array_index (log.tags, int, last));
      last = i;
    }

  log_clear (&log);
  gate_clear (&gate);
}

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_auto(GValue) value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;
  guint *n_done = user_data;

  g_assert_true (tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result,
                                                    &value, &error));
  g_assert_no_error (error);
  (*n_done)++;
}

/* submit_async()'s io_priority orders the work as submit_full()'s does. */
static void
test_async_io_priority (void)
{
  g_autoptr(TetherLoopManager) manager = started ("priority-async", NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  gint64 deadline = g_get_monotonic_time () + WATCHDOG;
  Gate gate;
  Log log;
  TetherFuture *blocker;
  guint n_done = 0;

  g_main_context_push_thread_default (context);
  gate_init (&gate);
  log_init (&log, 3);
  blocker = hold_thread (manager, &gate);
  tether_loop_manager_submit_async (manager, NULL, log_work, entry_new (&log, 3), g_free,
                                    G_PRIORITY_LOW, NULL, on_async_done, &n_done);
  tether_loop_manager_submit_async (manager, NULL, log_work, entry_new (&log, 2), g_free,
                                    G_PRIORITY_DEFAULT, NULL, on_async_done, &n_done);
  tether_loop_manager_submit_async (manager, NULL, log_work, entry_new (&log, 1), g_free,
                                    G_PRIORITY_HIGH, NULL, on_async_done, &n_done);
  release_thread (blocker, &gate);
  while (n_done < 3)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (context, TRUE);
    }
  for (guint i = 0; i < 3; i++)
    g_assert_cmpint (g_array_index (log.tags, int, i), ==, (int) i + 1);

  log_clear (&log);
  gate_clear (&gate);
  g_main_context_pop_thread_default (context);
}

/* A CANCEL stop ends queued prioritized work exactly once: futures end
 * cancelled, posts are dropped (their data released); a DRAIN stop runs
 * it all. */
static void
test_stop_with_ranked_work (void)
{
  for (guint round = 0; round < 2; round++)
    {
      TetherStopMode mode = round == 0 ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN;
      g_autoptr(TetherLoopManager) manager = started ("priority-stop", NULL);
      g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
      Gate gate;
      Log log;
      TetherFuture *blocker;
      guint n = 50;

      gate_init (&gate);
      log_init (&log, 0);
      if (mode == TETHER_STOP_MODE_CANCEL)
        {
          /* Held until the stop fires its cancellable. */
          blocker = tether_loop_manager_submit (manager, NULL, return_when_cancelled, &gate,
                                                NULL, NULL, NULL);
          gate_wait_entered (&gate);
        }
      else
        {
          blocker = hold_thread (manager, &gate);
        }
      for (guint i = 0; i < n; i++)
        {
          int priority = i % 2 ? G_PRIORITY_HIGH : G_PRIORITY_LOW;

          post_at (manager, &log, priority, (int) i);
          g_ptr_array_add (futures,
                           tether_loop_manager_submit_full (manager, NULL, priority, log_work,
                                                            entry_new (&log, (int) i), g_free,
                                                            NULL, NULL));
        }
      if (mode == TETHER_STOP_MODE_DRAIN)
        gate_open (&gate);
      tether_loop_manager_stop (manager, mode);
      gate_open (&gate);
      g_object_unref (blocker);

      for (guint i = 0; i < futures->len; i++)
        {
          TetherFuture *future = g_ptr_array_index (futures, i);

          g_autoptr(GError) error = NULL;

          /* Done already: the stop has returned. */
          tether_future_wait (future, 0, NULL, &error);
          g_assert_cmpint (tether_future_get_status (future), ==,
                           mode == TETHER_STOP_MODE_DRAIN ? TETHER_FUTURE_STATUS_SUCCEEDED
                                                          : TETHER_FUTURE_STATUS_CANCELLED);
        }
      g_assert_cmpuint (log.tags->len, ==, mode == TETHER_STOP_MODE_DRAIN ? 2 * n : 0);
      g_assert_cmpuint (tether_loop_manager_get_n_pending (manager), ==, 0);

      log_clear (&log);
      gate_clear (&gate);
    }
}

/* Many threads submitting at mixed priorities: every item runs exactly
 * once, and each thread's items of one priority run in its order. */
typedef struct
{
  TetherLoopManager *manager;
  Log               *log;
  guint              index;
} Submitter;

#define PER_THREAD 2000

static gpointer
submitter_func (gpointer data)
{
  Submitter *submitter = data;

  for (guint i = 0; i < PER_THREAD; i++)
    {
      int priority = i % 3 == 0 ? G_PRIORITY_HIGH : i % 3 == 1 ? G_PRIORITY_DEFAULT
                                                                 : G_PRIORITY_LOW;

      post_at (submitter->manager, submitter->log, priority,
               (int) (submitter->index * PER_THREAD + i));
    }
  return NULL;
}

static void
test_many_threads (void)
{
  g_autoptr(TetherLoopManager) manager = started ("priority-threads", NULL);
  Submitter submitters[4];
  GThread *threads[4];
  g_autofree guint *last = g_new0 (guint, G_N_ELEMENTS (threads) * 3);
  g_autofree gboolean *seen = g_new0 (gboolean, G_N_ELEMENTS (threads) * PER_THREAD);
  Log log;

  log_init (&log, G_N_ELEMENTS (threads) * PER_THREAD);
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    {
      submitters[t] = (Submitter) { manager, &log, t };
      threads[t] = g_thread_new ("submitter", submitter_func, &submitters[t]);
    }
  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    g_thread_join (threads[t]);
  log_wait (&log);

  for (guint i = 0; i < log.tags->len; i++)
    {
      guint tag = (guint) g_array_index (log.tags, int, i);
      guint t = tag / PER_THREAD, k = tag % PER_THREAD, level = k % 3;

      g_assert_false (seen[tag]);
      seen[tag] = TRUE;
      /* Within one thread and one priority, in submission order. */
      g_assert_cmpuint (k + 1, >, last[t * 3 + level]);
      last[t * 3 + level] = k + 1;
    }
  log_clear (&log);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Priority/order", test_priority_order);
  g_test_add_func ("/Tether/Priority/no-starvation", test_no_starvation);
  g_test_add_func ("/Tether/Priority/low-behind-default-flood", test_low_behind_default_flood);
  g_test_add_func ("/Tether/Priority/async-io-priority", test_async_io_priority);
  g_test_add_func ("/Tether/Priority/stop", test_stop_with_ranked_work);
  g_test_add_func ("/Tether/Priority/many-threads", test_many_threads);

  return g_test_run ();
}

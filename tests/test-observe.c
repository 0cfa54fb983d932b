/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stats, debug mode and the spin knobs: what a user sees of a manager's
 * health, and that the fast paths keep their promises. */
#define _GNU_SOURCE  /* gettid() */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test-util.h"

#define SECOND G_USEC_PER_SEC

/* Tether's debug reports are warnings, which GTest makes fatal: a writer of
 * our own collects the `Tether` domain's structured messages instead. */
static GMutex    log_lock;
static GPtrArray *log_messages;  /* "MANAGER|TASK_TYPE|WORK|MESSAGE" */

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  const char *domain = NULL, *manager = "", *task_type = "", *work = "", *message = "";

  for (gsize i = 0; i < n_fields; i++)
    {
      const char *value = fields[i].value;

      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = value;
      else if (g_str_equal (fields[i].key, "TETHER_MANAGER"))
        manager = value;
      else if (g_str_equal (fields[i].key, "TETHER_TASK_TYPE"))
        task_type = value;
      else if (g_str_equal (fields[i].key, "TETHER_WORK"))
        work = value;
      else if (g_str_equal (fields[i].key, "MESSAGE"))
        message = value;
    }

  if (g_strcmp0 (domain, "Tether") != 0 || manager[0] == '\0')
    return g_log_writer_default (level, fields, n_fields, user_data);

  g_mutex_lock (&log_lock);
  g_ptr_array_add (log_messages,
                   g_strdup_printf ("%s|%s|%s|%s", manager, task_type, work, message));
  g_mutex_unlock (&log_lock);
  return G_LOG_WRITER_HANDLED;
}

/* How many captured messages contain every one of the NULL-terminated
 * needles; clears the capture. */
static guint
take_logged (const char *first,
             ...)
{
  guint n = 0;

  g_mutex_lock (&log_lock);
  for (guint i = 0; i < log_messages->len; i++)
    {
      const char *line = g_ptr_array_index (log_messages, i);
      gboolean all = TRUE;
      va_list args;

      va_start (args, first);
      for (const char *needle = first; needle != NULL; needle = va_arg (args, const char *))
        all = all && strstr (line, needle) != NULL;
      va_end (args);
      if (all)
        n++;
      else
        g_test_message ("logged: %s", line);
    }
  g_ptr_array_set_size (log_messages, 0);
  g_mutex_unlock (&log_lock);
  return n;
}

static guint
n_logged (void)
{
  guint n;

  g_mutex_lock (&log_lock);
  n = log_messages->len;
  g_mutex_unlock (&log_lock);
  return n;
}

static guint64
stat_u64 (TetherLoopManager *manager,
          const char        *key)
{
  g_autoptr(GVariant) stats = tether_loop_manager_dup_stats (manager);
  g_autoptr(GVariant) value = g_variant_lookup_value (stats, key, NULL);

  g_assert_nonnull (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  return (guint64) g_variant_get_int64 (value);
}

/* A job's latency is recorded once its function has returned, which can be
 * just after its future completed: samples are polled for. */
static void
wait_for_samples (TetherLoopManager *manager,
                  guint64            n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * SECOND;

  while (stat_u64 (manager, "latency-samples") < n && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpuint (stat_u64 (manager, "latency-samples"), ==, n);
}

static void
count_post (gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

static void
return_int (TetherWork *work,
            gpointer    user_data)
{
  tether_work_return_int (work, GPOINTER_TO_INT (user_data));
}

static void
return_error (TetherWork *work,
              gpointer    user_data)
{
  tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_FAILED, "failed on purpose");
}

static void
sleep_work (TetherWork *work,
            gpointer    user_data)
{
  g_usleep (GPOINTER_TO_UINT (user_data));
  tether_work_return_int (work, 1);
}

static void
test_stats_keys (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("stats-keys");
  g_autoptr(GVariant) stats = tether_loop_manager_dup_stats (manager);
  static const struct { const char *key; const char *type; } keys[] = {
    { "submitted", "t" }, { "completed", "t" }, { "failed", "t" }, { "cancelled", "t" },
    { "rejected", "t" }, { "queued", "u" }, { "running", "u" }, { "wakeups", "t" },
    { "waiting-for-room", "u" },
    { "queue-high-water", "u" },
    { "latency-samples", "u" },
    { "queue-wait-p50-usec", "x" }, { "queue-wait-p90-usec", "x" }, { "queue-wait-p99-usec", "x" },
    { "run-time-p50-usec", "x" }, { "run-time-p90-usec", "x" }, { "run-time-p99-usec", "x" },
  };

  g_assert_true (g_variant_is_of_type (stats, G_VARIANT_TYPE_VARDICT));
  g_assert_false (g_variant_is_floating (stats));
  g_assert_cmpuint (g_variant_n_children (stats), ==, G_N_ELEMENTS (keys));
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(GVariant) value = g_variant_lookup_value (stats, keys[i].key, NULL);

      g_assert_nonnull (value);
      g_assert_cmpstr (g_variant_get_type_string (value), ==, keys[i].type);
    }
  g_assert_cmpuint (stat_u64 (manager, "submitted"), ==, 0);
  g_assert_cmpuint (stat_u64 (manager, "latency-samples"), ==, 0);
}

/* Every way a submission can end shows up in exactly one counter. */
static void
test_stats_counts (void)
{
  g_autoptr(TetherLoopManager) manager = started ("stats-counts", "io");
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  g_autoptr(GError) error = NULL;
  Gate gate;
  int posts = 0;

  gate_init (&gate);

  for (int i = 0; i < 5; i++)
    {
      g_autoptr(TetherFuture) future =
        tether_loop_manager_submit (manager, "io", return_int, GINT_TO_POINTER (i), NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_true (tether_future_wait (future, -1, NULL, NULL));
    }
  {
    g_autoptr(TetherFuture) failing =
      tether_loop_manager_submit (manager, "io", return_error, NULL, NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_false (tether_future_wait (failing, -1, NULL, NULL));
  }
  g_assert_cmpuint (stat_u64 (manager, "completed"), ==, 5);
  g_assert_cmpuint (stat_u64 (manager, "failed"), ==, 1);
  wait_for_samples (manager, 6);

  /* Hold the thread and queue behind it: queued and running show it. */
  blocker = tether_loop_manager_submit (manager, "io", block_work, &gate, NULL, NULL, &error);
  g_assert_no_error (error);
  gate_wait_entered (&gate);
  for (int i = 0; i < 40; i++)
    g_assert_true (tether_loop_manager_post (manager, "io", count_post, &posts, NULL, &error));
  queued = tether_loop_manager_submit (manager, "io", return_int, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stat_u64 (manager, "queued"), ==, 41);
  g_assert_cmpuint (stat_u64 (manager, "running"), ==, 1);
  g_assert_cmpuint (stat_u64 (manager, "queue-high-water"), >=, 41);

  /* Rejections: a wrong task type, a post without one. */
  g_assert_null (tether_loop_manager_submit (manager, "cpu", return_int, NULL, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_clear_error (&error);
  g_assert_false (tether_loop_manager_post (manager, NULL, count_post, &posts, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_clear_error (&error);
  g_assert_cmpuint (stat_u64 (manager, "rejected"), ==, 2);

  tether_future_cancel (queued);
  g_assert_cmpuint (stat_u64 (manager, "cancelled"), ==, 1);
  gate_open (&gate);
  g_assert_true (tether_future_wait (blocker, -1, NULL, NULL));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);

  g_assert_cmpint (posts, ==, 40);
  /* 5 + 1 failing + blocker + 40 posts + the cancelled one. */
  g_assert_cmpuint (stat_u64 (manager, "submitted"), ==, 48);
  g_assert_cmpuint (stat_u64 (manager, "completed"), ==, 5 + 1 + 40);
  g_assert_cmpuint (stat_u64 (manager, "failed"), ==, 1);
  g_assert_cmpuint (stat_u64 (manager, "cancelled"), ==, 1);
  g_assert_cmpuint (stat_u64 (manager, "queued"), ==, 0);
  g_assert_cmpuint (stat_u64 (manager, "running"), ==, 0);

  /* After the stop, everything is rejected, and counted. */
  g_assert_false (tether_loop_manager_post (manager, "io", count_post, &posts, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_cmpuint (stat_u64 (manager, "rejected"), ==, 3);
  gate_clear (&gate);
}

/* A CANCEL stop drops queued posts unrun: they count as cancelled. */
static void
test_stats_cancel_stop (void)
{
  g_autoptr(TetherLoopManager) manager = started ("stats-cancel", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(GError) error = NULL;
  StopArgs args = { manager, TETHER_STOP_MODE_CANCEL };
  GThread *stopper;
  int posts = 0;
  Gate gate;

  gate_init (&gate);
  blocker = tether_loop_manager_submit (manager, NULL, return_when_cancelled, &gate, NULL, NULL, &error);
  g_assert_no_error (error);
  gate_wait_entered (&gate);
  for (int i = 0; i < 10; i++)
    g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &posts, NULL, &error));

  stopper = g_thread_new ("stopper", stop_thread, &args);
  g_thread_join (stopper);

  g_assert_cmpint (posts, ==, 0);
  g_assert_cmpuint (stat_u64 (manager, "cancelled"), ==, 11);
  g_assert_cmpuint (stat_u64 (manager, "completed"), ==, 0);
  gate_clear (&gate);
}

/* Latency percentiles come from real measurements: 20 jobs of ~2 ms. */
static void
test_stats_latency (void)
{
  g_autoptr(TetherLoopManager) manager = started ("stats-latency", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);

  for (int i = 0; i < 20; i++)
    g_ptr_array_add (futures, tether_loop_manager_submit (manager, NULL, sleep_work,
                                                          GUINT_TO_POINTER (2000), NULL, NULL, &error));
  for (guint i = 0; i < futures->len; i++)
    g_assert_true (tether_future_wait (g_ptr_array_index (futures, i), -1, NULL, NULL));

  wait_for_samples (manager, 20);
  g_assert_cmpint ((gint64) stat_u64 (manager, "run-time-p50-usec"), >=, 2000);
  g_assert_cmpint ((gint64) stat_u64 (manager, "run-time-p99-usec"), >=,
                   (gint64) stat_u64 (manager, "run-time-p50-usec"));
  /* The last job queued behind 19 others of 2 ms each. */
  g_assert_cmpint ((gint64) stat_u64 (manager, "queue-wait-p99-usec"), >=, 19 * 2000);
  g_assert_cmpint ((gint64) stat_u64 (manager, "queue-wait-p90-usec"), >=,
                   (gint64) stat_u64 (manager, "queue-wait-p50-usec"));
}

/* Posts are sampled one in 16; the window keeps the latest 1024. */
static void
test_stats_window (void)
{
  g_autoptr(TetherLoopManager) manager = started ("stats-window", NULL);
  g_autoptr(GError) error = NULL;
  int posts = 0;

  for (int i = 0; i < 1600; i++)
    g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &posts, NULL, &error));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (posts, ==, 1600);
  g_assert_cmpuint (stat_u64 (manager, "latency-samples"), ==, 100);
  g_assert_cmpuint (stat_u64 (manager, "completed"), ==, 1600);

  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  for (int i = 0; i < 1100; i++)
    {
      g_autoptr(TetherFuture) future =
        tether_loop_manager_submit (manager, NULL, return_int, NULL, NULL, NULL, &error);

      g_assert_true (tether_future_wait (future, -1, NULL, NULL));
    }
  wait_for_samples (manager, 1024);
  /* Counters survive the restart. */
  g_assert_cmpuint (stat_u64 (manager, "completed"), ==, 2700);
}

static void
slow_named (TetherWork *work,
            gpointer    user_data)
{
  tether_work_set_name (work, "named-slow-work");
  g_usleep (30 * 1000);
  tether_work_return_int (work, 1);
}

static void
slow_post (gpointer user_data)
{
  g_usleep (30 * 1000);
}

static void
test_debug_slow (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("debug-slow");
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (tether_loop_manager_get_slow_threshold (manager), ==, 100 * 1000);
  tether_loop_manager_set_slow_threshold (manager, 10 * 1000);
  g_assert_true (tether_loop_manager_start (manager, "disk", &error));

  /* Off: nothing is logged. */
  tether_loop_manager_set_debug_flags (manager, TETHER_DEBUG_FLAGS_NONE);
  future = tether_loop_manager_submit (manager, "disk", slow_named, NULL, NULL, NULL, &error);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  g_clear_object (&future);
  /* The waiter can wake before the manager's thread is done with the work
   * (the report, if any, comes after): a job queued behind it is a barrier,
   * so that the flags do not change under that report. */
  future = tether_loop_manager_submit (manager, "disk", return_int, NULL, NULL, NULL, &error);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  g_clear_object (&future);
  g_assert_cmpuint (take_logged ("", NULL), ==, 0);

  tether_loop_manager_set_debug_flags (manager, TETHER_DEBUG_FLAGS_SLOW);
  g_assert_cmpint (tether_loop_manager_get_debug_flags (manager), ==, TETHER_DEBUG_FLAGS_SLOW);
  future = tether_loop_manager_submit (manager, "disk", slow_named, NULL, NULL, NULL, &error);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  /* The report is made once the work has returned, which may be after the
   * waiter woke: wait for it before the threshold changes. */
  {
    gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

    while (n_logged () < 1)
      {
        g_assert_cmpint (g_get_monotonic_time (), <, deadline);
        g_usleep (1000);
      }
  }
  /* A job under the threshold is not reported. The threshold goes up for
   * it, so that a loaded machine cannot make a trivial job look slow. */
  g_clear_object (&future);
  tether_loop_manager_set_slow_threshold (manager, 10 * G_USEC_PER_SEC);
  future = tether_loop_manager_submit (manager, "disk", return_int, NULL, NULL, NULL, &error);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);

  g_assert_cmpuint (n_logged (), ==, 1);
  g_assert_cmpuint (take_logged ("debug-slow|disk|named-slow-work|", "slow-work threshold", NULL), ==, 1);
}

static void
test_debug_slow_post (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("debug-slow-post");
  g_autoptr(GError) error = NULL;

  tether_loop_manager_set_slow_threshold (manager, 10 * 1000);
  tether_loop_manager_set_debug_flags (manager, TETHER_DEBUG_FLAGS_SLOW);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_true (tether_loop_manager_post (manager, NULL, slow_post, NULL, NULL, &error));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);

  /* Not exported from the test binary: named by module and offset. */
  g_assert_cmpuint (n_logged (), ==, 1);
  g_assert_cmpuint (take_logged ("debug-slow-post||test-observe+0x", "ms", NULL), ==, 1);
}

static void
test_debug_dropped (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("debug-dropped");
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  g_autoptr(GError) error = NULL;
  StopArgs args = { manager, TETHER_STOP_MODE_CANCEL };
  int posts = 0;
  Gate gate;

  gate_init (&gate);
  tether_loop_manager_set_debug_flags (manager, TETHER_DEBUG_FLAGS_DROPPED);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  blocker = tether_loop_manager_submit (manager, NULL, return_when_cancelled, &gate, NULL, NULL, &error);
  gate_wait_entered (&gate);
  queued = tether_loop_manager_submit (manager, NULL, return_int, NULL, NULL, NULL, &error);
  for (int i = 0; i < 3; i++)
    g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &posts, NULL, &error));
  g_thread_join (g_thread_new ("stopper", stop_thread, &args));

  g_assert_cmpint (tether_future_get_status (queued), ==, TETHER_FUTURE_STATUS_CANCELLED);
  /* One queued future and three posts; the running blocker was not dropped. */
  g_assert_cmpuint (n_logged (), ==, 4);
  g_assert_cmpuint (take_logged ("debug-dropped|", "dropped unrun", "TETHER_STOP_MODE_CANCEL", NULL), ==, 4);
  gate_clear (&gate);
}

static void
test_debug_unretrieved (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("debug-unretrieved");
  g_autoptr(GError) error = NULL;
  TetherFuture *future;

  tether_loop_manager_set_debug_flags (manager, TETHER_DEBUG_FLAGS_UNRETRIEVED);
  g_assert_true (tether_loop_manager_start (manager, "net", &error));

  /* Nobody reads the error: logged when the future goes, which may be on
   * the manager's thread, just after it completed the future. */
  future = tether_loop_manager_submit (manager, "net", return_error, NULL, NULL, NULL, &error);
  g_object_add_weak_pointer (G_OBJECT (future), (gpointer *) &future);
  poll_until (tether_future_is_done (future));
  g_object_unref (future);
  /* The manager's thread may still hold a reference, briefly. */
  poll_until (g_atomic_pointer_get (&future) == NULL);
  g_assert_cmpuint (take_logged ("debug-unretrieved|net|", "failed on purpose",
                                 "without anyone reading its error", NULL), ==, 1);

  /* Read through wait(): not logged. */
  future = tether_loop_manager_submit (manager, "net", return_error, NULL, NULL, NULL, &error);
  g_assert_false (tether_future_wait (future, -1, NULL, &error));
  g_clear_error (&error);
  g_object_unref (future);

  /* Read through dup_error(): not logged. A success is never logged. */
  future = tether_loop_manager_submit (manager, "net", return_error, NULL, NULL, NULL, &error);
  poll_until (tether_future_is_done (future));
  g_clear_error (&error);
  error = tether_future_dup_error (future);
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_object_unref (future);
  future = tether_loop_manager_submit (manager, "net", return_int, NULL, NULL, NULL, &error);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  g_object_unref (future);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpuint (n_logged (), ==, 0);
}

static void
store_tid (TetherWork *work,
           gpointer    user_data)
{
  tether_work_return_int (work, gettid ());
}

static guint64
context_switches (pid_t tid)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%d/status", tid);
  g_autofree char *contents = NULL;
  guint64 total = 0;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  for (char *line = strtok (contents, "\n"); line != NULL; line = strtok (NULL, "\n"))
    {
      guint64 n;

      if (sscanf (line, "voluntary_ctxt_switches: %" G_GUINT64_FORMAT, &n) == 1 ||
          sscanf (line, "nonvoluntary_ctxt_switches: %" G_GUINT64_FORMAT, &n) == 1)
        total += n;
    }
  return total;
}

/* TRUE if thread @tid of this process is blocked (state S) in poll() or
 * ppoll(): what the kernel reports in /proc, not a guess from elapsed time. */
static gboolean
is_blocked_in_poll (pid_t tid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/self/task/%d/stat", tid);
  g_autofree char *syscall_path = g_strdup_printf ("/proc/self/task/%d/syscall", tid);
  g_autofree char *stat = NULL;
  g_autofree char *call = NULL;
  const char *state;
  gint64 nr;

  if (!g_file_get_contents (stat_path, &stat, NULL, NULL) ||
      !g_file_get_contents (syscall_path, &call, NULL, NULL))
    return FALSE;
  /* "tid (comm) S ...": the comm may hold spaces and parentheses. */
  state = strrchr (stat, ')');
  if (state == NULL || state[1] != ' ' || state[2] != 'S')
    return FALSE;
  /* "running", or the number of the system call it is blocked in. */
  if (!g_ascii_isdigit (call[0]))
    return FALSE;
  nr = g_ascii_strtoll (call, NULL, 10);
#ifdef SYS_poll
  if (nr == SYS_poll)
    return TRUE;
#endif
  return nr == SYS_ppoll;
}

/* Waits until the manager's thread @tid is asleep in poll(): past any loop
 * spin, with nothing to do. */
static void
wait_until_asleep (pid_t tid)
{
  poll_until (is_blocked_in_poll (tid));
}

static pid_t
manager_tid (TetherLoopManager *manager)
{
  g_autoptr(TetherFuture) future = NULL;

  future = tether_loop_manager_submit (manager, NULL, store_tid, NULL, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  return tether_future_get_int (future, NULL);
}

/* An idle manager sleeps in poll() and nothing wakes it: not with the
 * defaults, and not with a loop spin, which spins once and then sleeps. */
static void
check_idle (gint64 loop_spin)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("idle");
  g_autoptr(GError) error = NULL;
  guint64 before, after;
  pid_t tid;

  tether_loop_manager_set_loop_spin (manager, loop_spin);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  tid = manager_tid (manager);

  /* Past the spin, if any. */
  wait_until_asleep (tid);
  before = context_switches (tid);
  /* Not a synchronisation: the property is "nothing happens for a
   * while", which takes a while to observe. */
  g_usleep (SECOND);
  after = context_switches (tid);
  g_assert_cmpuint (after - before, ==, 0);
}

static void
test_idle_no_wakeups (void)
{
  check_idle (0);
}

static void
test_idle_no_wakeups_spin (void)
{
  check_idle (1000);
}

/* Spinning changes how fast results arrive, never what they are. */
static void
test_spin_round_trips (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("spin");
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (tether_loop_manager_get_wait_spin (manager), ==, 0);
  g_assert_cmpint (tether_loop_manager_get_loop_spin (manager), ==, 0);
  g_object_set (manager, "wait-spin", (gint64) 200, "loop-spin", (gint64) 200, NULL);
  g_assert_cmpint (tether_loop_manager_get_wait_spin (manager), ==, 200);
  g_assert_cmpint (tether_loop_manager_get_loop_spin (manager), ==, 200);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));

  for (int i = 0; i < 2000; i++)
    {
      g_autoptr(TetherFuture) future =
        tether_loop_manager_submit (manager, NULL, return_int, GINT_TO_POINTER (i), NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_true (tether_future_wait (future, -1, NULL, &error));
      g_assert_cmpint (tether_future_get_int (future, NULL), ==, i);
    }

  /* Work longer than the spin: the waiter falls back to sleeping. */
  {
    g_autoptr(TetherFuture) future =
      tether_loop_manager_submit (manager, NULL, sleep_work, GUINT_TO_POINTER (20000), NULL, NULL, &error);

    g_assert_true (tether_future_wait (future, -1, NULL, &error));
  }
  /* A timed wait shorter than the spin still times out. The work is held
   * by a gate, not a sleep: it cannot end during the wait. */
  {
    g_autoptr(TetherFuture) future = NULL;
    Gate gate;

    gate_init (&gate);
    future = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, &error);
    g_assert_false (tether_future_wait (future, 100, NULL, &error));
    g_assert_error (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT);
    g_clear_error (&error);
    gate_open (&gate);
    g_assert_true (tether_future_wait (future, -1, NULL, &error));
    gate_clear (&gate);
  }
}

static void
poll_func_is_glibs (TetherWork *work,
                    gpointer    user_data)
{
  GMainContext *context = g_main_context_get_thread_default ();

  tether_work_return_boolean (work, g_main_context_get_poll_func (context) == g_poll);
}

static gboolean
manager_polls_with_g_poll (TetherLoopManager *manager)
{
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  future = tether_loop_manager_submit (manager, NULL, poll_func_is_glibs, NULL, NULL, NULL,
                                       &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, -1, NULL, &error));
  return tether_future_get_boolean (future, NULL);
}

/* The switch happens as the thread next prepares an iteration. A job may be
 * taken in the iteration under way (a loaded machine can keep the thread
 * in one dispatch across many round trips), so ask with a timer: it runs in
 * an iteration prepared after it was set, unless the thread was held up
 * for its whole delay in between; a few tries make that negligible. */
static gboolean
manager_switches_to (TetherLoopManager *manager,
                     gboolean           g_poll_expected)
{
  for (int i = 0; i < 20; i++)
    {
      g_autoptr(TetherFuture) future = NULL;

      future = tether_loop_manager_submit_after (manager, NULL, 10 * 1000, poll_func_is_glibs,
                                                 NULL, NULL, NULL, NULL);
      g_assert_true (tether_future_wait (future, -1, NULL, NULL));
      if (tether_future_get_boolean (future, NULL) == g_poll_expected)
        return TRUE;
    }
  return FALSE;
}

/* The manager's context keeps GLib's poll function unless a loop spin is
 * set, and gets it back when the spin returns to 0. */
static void
test_poll_func_only_while_spinning (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("poll-func");
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_true (manager_polls_with_g_poll (manager));
  tether_loop_manager_set_loop_spin (manager, 100);
  g_assert_true (manager_switches_to (manager, FALSE));
  tether_loop_manager_set_loop_spin (manager, 0);
  g_assert_true (manager_switches_to (manager, TRUE));
  g_assert_true (manager_polls_with_g_poll (manager));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);

  /* Set before the start: spinning from the first iteration. */
  tether_loop_manager_set_loop_spin (manager, 100);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_false (manager_polls_with_g_poll (manager));
}

typedef struct
{
  TetherLoopManager *manager;
  int               *counter;
  guint              n;
} Producer;

static gpointer
produce (gpointer data)
{
  Producer *p = data;

  for (guint i = 0; i < p->n; i++)
    g_assert_true (tether_loop_manager_post (p->manager, NULL, count_post, p->counter, NULL, NULL));
  return NULL;
}

/* Producers on every core against a spinning loop: nothing is lost, and the
 * counters add up. */
static void
test_spin_many_producers (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("spin-many");
  g_autoptr(GError) error = NULL;
  Producer p;
  GThread *threads[4];
  int counter = 0;

  tether_loop_manager_set_loop_spin (manager, 50);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  p = (Producer) { manager, &counter, 50000 };
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("producer", produce, &p);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);

  g_assert_cmpint (counter, ==, 4 * 50000);
  g_assert_cmpuint (stat_u64 (manager, "submitted"), ==, 4 * 50000);
  g_assert_cmpuint (stat_u64 (manager, "completed"), ==, 4 * 50000);
}

static void
wait_for_int (int *counter,
              int  n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * SECOND;

  while (g_atomic_int_get (counter) < n && g_get_monotonic_time () < deadline)
    g_usleep (100);
  g_assert_cmpint (g_atomic_int_get (counter), ==, n);
}

/* Posts one job at a time until a post wakes the manager's thread from
 * its sleep: each post must add no wake-up (the thread was awake or
 * spinning) or exactly one. Returns the number of posts that ran; if
 * @posted_at is not %NULL, it receives the time just before the post that
 * woke the thread (its work, and so any spin after it, began later). */
static int
post_until_one_wakeup (TetherLoopManager *manager,
                       int               *posts,
                       gint64             rest_usec,
                       gint64            *posted_at)
{
  gint64 deadline = g_get_monotonic_time () + 30 * SECOND;

  for (int n = g_atomic_int_get (posts) + 1; g_get_monotonic_time () < deadline; n++)
    {
      guint64 before = stat_u64 (manager, "wakeups");
      guint64 after;

      if (posted_at != NULL)
        *posted_at = g_get_monotonic_time ();
      g_assert_true (tether_loop_manager_post (manager, NULL, count_post, posts, NULL, NULL));
      wait_for_int (posts, n);
      after = stat_u64 (manager, "wakeups");
      g_assert_cmpuint (after, <=, before + 1);
      if (after == before + 1)
        return n;
      g_usleep (rest_usec);   /* time to fall asleep (past any spin); then look again */
    }
  g_assert_not_reached ();
}

/* A submission wakes the manager's thread only if it is asleep in poll():
 * a burst that finds it busy wakes nothing, and one post to an idle
 * manager wakes it exactly once. */
static void
test_wakeups_only_when_asleep (void)
{
  g_autoptr(TetherLoopManager) manager = started ("wakeups", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(GError) error = NULL;
  guint64 before;
  int posts = 0, ran;
  Gate gate;

  gate_init (&gate);
  /* Once the thread is asleep, a post wakes it exactly once. Whether it
   * is asleep yet is not observable from here, so post until one post
   * finds it asleep: a post that found it awake must wake nothing. */
  ran = post_until_one_wakeup (manager, &posts, 10 * 1000, NULL);

  /* Busy in work: a thousand posts, and then their draining, wake nothing. */
  blocker = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, &error);
  gate_wait_entered (&gate);
  before = stat_u64 (manager, "wakeups");
  for (int i = 0; i < 1000; i++)
    g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &posts, NULL, &error));
  gate_open (&gate);
  wait_for_int (&posts, ran + 1000);
  g_assert_cmpuint (stat_u64 (manager, "wakeups"), ==, before);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  gate_clear (&gate);
}

/* A spinning manager's thread is not asleep: what arrives during the spin
 * needs no wake-up either. */
static void
test_wakeups_not_while_spinning (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("wakeups-spin");
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 30 * SECOND;
  int posts = 0, judged = 0;

  tether_loop_manager_set_loop_spin (manager, G_USEC_PER_SEC / 2);
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  /* Past the first spin, a post wakes the thread once; then it spins for
   * half a second, and a post in that time needs no wake-up. The spin
   * starts after the waking post's work, so it surely lasts until half a
   * second after that post was made; a post this thread only made later
   * (descheduled on a loaded machine) proves nothing, and the round is
   * tried again. */
  while (judged == 0 && g_get_monotonic_time () < deadline)
    {
      gint64 woke_at, posted_by;
      guint64 before;
      int ran;

      ran = post_until_one_wakeup (manager, &posts, G_USEC_PER_SEC * 6 / 10, &woke_at);
      before = stat_u64 (manager, "wakeups");
      g_assert_true (tether_loop_manager_post (manager, NULL, count_post, &posts, NULL, &error));
      posted_by = g_get_monotonic_time ();
      wait_for_int (&posts, ran + 1);
      if (posted_by - woke_at >= G_USEC_PER_SEC * 4 / 10)
        continue;
      g_assert_cmpuint (stat_u64 (manager, "wakeups"), ==, before);
      judged++;
    }
  g_assert_cmpint (judged, ==, 1);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

static gboolean
count_tick (gpointer data)
{
  g_atomic_int_inc ((int *) data);
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  TetherLoopManager *manager;
  int                runs;
  int                stop;
} Chain;

/* Each run queues the next: the queue is never empty, so a manager that
 * drained it to the end before returning to its context would never return. */
static void
repost (gpointer data)
{
  Chain *chain = data;

  g_atomic_int_inc (&chain->runs);
  /* Refused only once the test has asked the chain to stop and stopped the
   * manager, which can come between the look and the post. */
  if (!g_atomic_int_get (&chain->stop) &&
      !tether_loop_manager_post (chain->manager, NULL, repost, chain, NULL, NULL))
    g_assert_true (g_atomic_int_get (&chain->stop));
}

/* The manager's thread drains its queue in batches and goes back to its
 * context between them: an endless stream of posts does not starve a
 * timeout attached to the same context. */
static void
test_flood_does_not_starve_sources (void)
{
  g_autoptr(TetherLoopManager) manager = started ("flood", NULL);
  g_autoptr(GSource) timeout = g_timeout_source_new (5);
  Chain chain = { manager, 0, 0 };
  int ticks = 0;
  gint64 deadline = g_get_monotonic_time () + 30 * SECOND;

  g_source_set_callback (timeout, count_tick, &ticks, NULL);
  g_source_attach (timeout, tether_loop_manager_get_context (manager));

  for (int i = 0; i < 4; i++)
    g_assert_true (tether_loop_manager_post (manager, NULL, repost, &chain, NULL, NULL));
  while (g_atomic_int_get (&ticks) < 10 && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_atomic_int_set (&chain.stop, 1);
  g_source_destroy (timeout);
  /* The posts still queued use this frame: drain them before it goes. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);

  g_assert_cmpint (g_atomic_int_get (&ticks), >=, 10);
  /* And the stream kept running meanwhile, many batches' worth. */
  g_assert_cmpint (g_atomic_int_get (&chain.runs), >, 10 * 128);
}

int
main (int   argc,
      char *argv[])
{
  /* The process default must not leak into these tests. */
  g_unsetenv ("TETHER_DEBUG");
  log_messages = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (capture_writer, NULL, NULL);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Observe/stats-keys", test_stats_keys);
  g_test_add_func ("/Tether/Observe/stats-counts", test_stats_counts);
  g_test_add_func ("/Tether/Observe/stats-cancel-stop", test_stats_cancel_stop);
  g_test_add_func ("/Tether/Observe/stats-latency", test_stats_latency);
  g_test_add_func ("/Tether/Observe/stats-window", test_stats_window);
  g_test_add_func ("/Tether/Observe/debug-slow", test_debug_slow);
  g_test_add_func ("/Tether/Observe/debug-slow-post", test_debug_slow_post);
  g_test_add_func ("/Tether/Observe/debug-dropped", test_debug_dropped);
  g_test_add_func ("/Tether/Observe/debug-unretrieved", test_debug_unretrieved);
  g_test_add_func ("/Tether/Observe/idle-no-wakeups", test_idle_no_wakeups);
  g_test_add_func ("/Tether/Observe/idle-no-wakeups-loop-spin", test_idle_no_wakeups_spin);
  g_test_add_func ("/Tether/Observe/spin-round-trips", test_spin_round_trips);
  g_test_add_func ("/Tether/Observe/poll-func-only-while-spinning", test_poll_func_only_while_spinning);
  g_test_add_func ("/Tether/Observe/spin-many-producers", test_spin_many_producers);
  g_test_add_func ("/Tether/Observe/flood-does-not-starve-sources", test_flood_does_not_starve_sources);
  g_test_add_func ("/Tether/Observe/wakeups-only-when-asleep", test_wakeups_only_when_asleep);
  g_test_add_func ("/Tether/Observe/wakeups-not-while-spinning", test_wakeups_not_while_spinning);

  return test_run ();
}

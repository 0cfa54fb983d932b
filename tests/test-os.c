/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the operating system does to managers: descriptor limits, fork(). */
#include "config.h"

#include <tether.h>

#include <errno.h>
#include <stdlib.h>

#ifdef G_OS_UNIX
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "test-util.h"

#ifdef G_OS_UNIX
#include <fcntl.h>
#endif

static void
return_one (TetherWork *work,
            gpointer    user_data)
{
  tether_work_return_int (work, 1);
}

static void
assert_runs_work (TetherLoopManager *manager)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = tether_loop_manager_submit (manager, NULL, return_one,
                                                               NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, 60 * G_USEC_PER_SEC, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tether_future_get_int (future, NULL), ==, 1);
}

/* The context handed out is the manager's for its whole life. */
static void
test_context_kept_once_handed_out (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("kept");
  GMainContext *context = tether_loop_manager_get_context (manager);
  GMainContext *from_property = NULL;

  g_assert_nonnull (context);
  for (int i = 0; i < 3; i++)
    {
      g_assert_true (tether_loop_manager_start (manager, NULL, NULL));
      g_assert_true (tether_loop_manager_get_context (manager) == context);
      assert_runs_work (manager);
      tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
      g_assert_true (tether_loop_manager_get_context (manager) == context);
    }
  g_object_get (manager, "context", &from_property, NULL);
  g_assert_true (from_property == context);
  g_main_context_unref (from_property);
}

#ifdef G_OS_UNIX
#define DESCRIPTOR_LIMIT 64
#define MANY_MANAGERS 5000

/* How many descriptors below DESCRIPTOR_LIMIT are open. */
static guint
count_open_descriptors (void)
{
  guint n = 0;

  for (int fd = 0; fd < DESCRIPTOR_LIMIT; fd++)
    if (fcntl (fd, F_GETFD) != -1)
      n++;
  return n;
}

/* Starts managers from @from on until one fails; returns how many ran. */
static guint
start_until_refused (GPtrArray *managers,
                     guint      from)
{
  g_autoptr(GError) error = NULL;
  guint i;

  for (i = from; i < managers->len; i++)
    if (!tether_loop_manager_start (g_ptr_array_index (managers, i), NULL, &error))
      break;

  g_assert_cmpuint (i, <, managers->len);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES);
  g_assert_nonnull (strstr (error->message, "RLIMIT_NOFILE"));
  g_assert_false (tether_loop_manager_is_running (g_ptr_array_index (managers, i)));
  return i - from;
}

static void
test_descriptors_run_out (void)
{
  g_autoptr(GPtrArray) managers = NULL;
  g_autoptr(GError) error = NULL;
  struct rlimit limit = { DESCRIPTOR_LIMIT, DESCRIPTOR_LIMIT };
  guint n_started, n_again, open_before, open_again;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  /* What GLib opens once, lazily, for a process that runs a manager and
   * waits for its work (a descriptor of its own, which came now before the
   * first round and now between the rounds), is opened before counting. */
  {
    g_autoptr(TetherLoopManager) warm_up = tether_loop_manager_new ("warm-up");

    g_assert_true (tether_loop_manager_start (warm_up, NULL, NULL));
    assert_runs_work (warm_up);
    tether_loop_manager_stop (warm_up, TETHER_STOP_MODE_DRAIN);
  }
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);

  /* A manager that never started holds no descriptor. */
  managers = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < MANY_MANAGERS; i++)
    g_ptr_array_add (managers, tether_loop_manager_new (NULL));

  open_before = count_open_descriptors ();
  n_started = start_until_refused (managers, 0);
  g_test_message ("%u managers started under a limit of %d descriptors", n_started,
                  DESCRIPTOR_LIMIT);
  g_assert_cmpuint (n_started, >, 0);
  g_assert_cmpuint (n_started, <, DESCRIPTOR_LIMIT);

  /* The process goes on: the running managers still work. */
  assert_runs_work (g_ptr_array_index (managers, 0));
  assert_runs_work (g_ptr_array_index (managers, n_started - 1));

  /* Stopped managers give their descriptors back, and as many start again. */
  for (guint i = 0; i < n_started; i++)
    tether_loop_manager_stop (g_ptr_array_index (managers, i), TETHER_STOP_MODE_DRAIN);
  /* Every descriptor the stopped managers held is free again. */
  open_again = count_open_descriptors ();
  g_test_message ("open descriptors: %u before the first round, %u after the stops",
                  open_before, open_again);
  g_assert_cmpuint (open_again, ==, open_before);
  n_again = start_until_refused (managers, n_started);
  g_assert_cmpuint (n_again, ==, n_started);
  assert_runs_work (g_ptr_array_index (managers, n_started));

  for (guint i = n_started; i < 2 * n_started; i++)
    tether_loop_manager_stop (g_ptr_array_index (managers, i), TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_loop_manager_start (g_ptr_array_index (managers, 0), NULL, &error));
  g_assert_no_error (error);
  assert_runs_work (g_ptr_array_index (managers, 0));
}
#endif

#ifdef G_OS_UNIX
/* fork() ------------------------------------------------------------------ */

/* How long a forked child may take before its watchdog kills it: a hang
 * fails the test instead of hanging it. */
#define CHILD_WATCHDOG_SECONDS 60

typedef void (*ChildFunc) (gpointer data);

/* Runs @func in a forked child under a watchdog and checks that it ends
 * normally. */
static void
in_forked_child (ChildFunc func,
                 gpointer  data)
{
  int status = 0;
  pid_t pid;

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      /* SIGALRM's default action ends the child: the parent sees a signal. */
      alarm (CHILD_WATCHDOG_SECONDS);
      func (data);
      /* A child of a threaded process ends by exec(), as POSIX advises. It
       * also spares it valgrind's leak report at exit, about the stacks and
       * thread-local data of the parent's threads, out of its reach. */
      execlp ("true", "true", (char *) NULL);
      _exit (0);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  if (WIFSIGNALED (status))
    g_error ("the forked child was killed by signal %d%s", WTERMSIG (status),
             WTERMSIG (status) == SIGALRM ? " (its watchdog: it hung)" : "");
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

static void
nothing (gpointer data)
{
}

static void
count_post (gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

/* What every manager inherited from the parent must do in the child. */
static void
check_inherited (TetherLoopManager *manager)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) refused = NULL;
  guint n_ran = 99, n_cancelled = 99;

  g_assert_false (tether_loop_manager_is_running (manager));
  refused = tether_loop_manager_submit (manager, NULL, return_one, NULL, NULL, NULL, &error);
  g_assert_null (refused);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&error);
  g_assert_false (tether_loop_manager_post (manager, NULL, nothing, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&error);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);
  g_assert_true (tether_loop_manager_stop_within (manager, 0, &n_ran, &n_cancelled, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_ran, ==, 0);
  g_assert_cmpuint (n_cancelled, ==, 0);

  /* Startable again, with a context of its own. */
  g_assert_true (tether_loop_manager_start (manager, NULL, &error));
  g_assert_no_error (error);
  assert_runs_work (manager);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_false (tether_loop_manager_is_running (manager));
}

/* A manager made in the child, registered and snapshotted. */
static void
check_fresh_manager (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) fresh = NULL;
  g_autoptr(GVariant) snapshot = NULL;

  fresh = tether_loop_manager_get_or_create ("fork-fresh", TETHER_LOOKUP_FLAGS_FORCE_CREATE, &error);
  g_assert_no_error (error);
  g_assert_true (tether_loop_manager_start (fresh, NULL, &error));
  g_assert_no_error (error);
  assert_runs_work (fresh);
  snapshot = tether_registry_snapshot ();
  g_assert_cmpuint (g_variant_n_children (snapshot), >, 0);
  tether_loop_manager_stop (fresh, TETHER_STOP_MODE_DRAIN);
}

typedef struct
{
  TetherLoopManager *never_started;
  TetherLoopManager *idle;
  TetherLoopManager *busy;      /* running, its thread held in a gate, work queued */
  TetherLoopManager *stopped;
  TetherLoopManager *registered;
  TetherLoopManager *context_handed_out;
  TetherLoopManager *stopping;  /* a CANCEL stop under way, its stopper blocked */
  GMainContext      *parent_context;
} Managers;

typedef struct
{
  Gate started;
  Gate cancelled;
} StopGates;

/* Sees the stop's cancellation, then keeps the manager's thread (and the
 * stop) until the test lets it go. */
static void
cancelled_then_block (TetherWork *work,
                      gpointer    user_data)
{
  StopGates *gates = user_data;

  wait_for_cancel (work, &gates->started);
  block_work (work, &gates->cancelled);
}

static void
child_of_managers (gpointer data)
{
  Managers *m = data;
  g_autoptr(GVariant) snapshot = NULL;
  gboolean seen = FALSE;

  snapshot = tether_registry_snapshot ();
  for (gsize i = 0; i < g_variant_n_children (snapshot); i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (snapshot, i);
      const char *id = NULL;
      gboolean running = TRUE;

      g_variant_lookup (entry, "id", "&s", &id);
      g_variant_lookup (entry, "running", "b", &running);
      g_assert_false (running);
      seen |= g_strcmp0 (id, "fork-registered") == 0;
    }
  g_assert_true (seen);

  g_assert_true (tether_loop_manager_get_context (m->context_handed_out) != m->parent_context);
  check_inherited (m->never_started);
  check_inherited (m->idle);
  check_inherited (m->busy);
  check_inherited (m->stopped);
  check_inherited (m->registered);
  check_inherited (m->context_handed_out);
  check_inherited (m->stopping);
  check_fresh_manager ();

  /* Unreffing a manager whose thread was in the parent does not wait. */
  g_object_unref (m->idle);
  g_object_unref (m->busy);
  g_object_unref (m->never_started);
  g_object_unref (m->stopped);
  g_object_unref (m->registered);
  g_object_unref (m->context_handed_out);
  g_object_unref (m->stopping);
}

static void
test_fork_managers (void)
{
  Managers m = { 0 };
  Gate gate;
  StopGates stop_gates;
  StopArgs stop_args;
  GThread *stopper;
  g_autoptr(TetherFuture) stopped_work = NULL;
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  int posts_ran = 0;

  gate_init (&gate);
  m.never_started = tether_loop_manager_new ("fork-never");
  m.idle = started ("fork-idle", NULL);
  m.busy = started ("fork-busy", NULL);
  m.stopped = started ("fork-stopped", NULL);
  tether_loop_manager_stop (m.stopped, TETHER_STOP_MODE_DRAIN);
  m.registered = tether_loop_manager_get_or_create ("fork-registered", TETHER_LOOKUP_FLAGS_FORCE_CREATE,
                                                    &error);
  g_assert_no_error (error);
  g_assert_true (tether_loop_manager_start (m.registered, NULL, NULL));
  m.context_handed_out = started ("fork-context", NULL);
  m.parent_context = tether_loop_manager_get_context (m.context_handed_out);

  g_ptr_array_add (futures, tether_loop_manager_submit (m.busy, NULL, block_work, &gate,
                                                        NULL, NULL, &error));
  gate_wait_entered (&gate);
  for (int i = 0; i < 100; i++)
    {
      g_ptr_array_add (futures, tether_loop_manager_submit (m.busy, NULL, return_one,
                                                            NULL, NULL, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (tether_loop_manager_post (m.busy, NULL, count_post, &posts_ran, NULL, &error));
    }

  gate_init (&stop_gates.started);
  gate_init (&stop_gates.cancelled);
  m.stopping = started ("fork-stopping", NULL);
  stopped_work = tether_loop_manager_submit (m.stopping, NULL, cancelled_then_block,
                                             &stop_gates, NULL, NULL, &error);
  g_assert_no_error (error);
  gate_wait_entered (&stop_gates.started);
  stop_args.manager = m.stopping;
  stop_args.mode = TETHER_STOP_MODE_CANCEL;
  stopper = g_thread_new ("stopper", stop_thread, &stop_args);
  gate_wait_entered (&stop_gates.cancelled);

  in_forked_child (child_of_managers, &m);

  gate_open (&stop_gates.cancelled);
  g_thread_join (stopper);
  g_assert_true (tether_future_is_done (stopped_work));
  gate_clear (&stop_gates.started);
  gate_clear (&stop_gates.cancelled);

  /* The parent is untouched: its work runs and ends as ever. */
  g_assert_true (tether_loop_manager_is_running (m.busy));
  gate_open (&gate);
  for (guint i = 0; i < futures->len; i++)
    g_assert_true (tether_future_wait (g_ptr_array_index (futures, i), 60 * G_USEC_PER_SEC, NULL, NULL));
  tether_loop_manager_stop (m.busy, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (g_atomic_int_get (&posts_ran), ==, 100);
  assert_runs_work (m.idle);
  assert_runs_work (m.context_handed_out);
  g_assert_true (tether_loop_manager_get_context (m.context_handed_out) == m.parent_context);

  g_object_unref (m.never_started);
  g_object_unref (m.idle);
  g_object_unref (m.busy);
  g_object_unref (m.stopped);
  g_object_unref (m.registered);
  g_object_unref (m.context_handed_out);
  g_object_unref (m.stopping);
  gate_clear (&gate);
}

/* fork() while other threads post, and look up, capture and adopt in the
 * registry: every lock those take is Tether's. (GLib's own global locks,
 * such as GObject's signal and notification locks taken to make and
 * finalize objects, or GVariant's type table, have no fork handlers: a
 * child forked while another thread is inside one can hang in GLib, which
 * Tether cannot prevent.) */
typedef struct
{
  TetherLoopManager *target;
  int                stop;
} Hammer;

static gpointer
post_hammer (gpointer data)
{
  Hammer *hammer = data;

  while (!g_atomic_int_get (&hammer->stop))
    {
      for (int i = 0; i < 64; i++)
        tether_loop_manager_post (hammer->target, NULL, nothing, NULL, NULL, NULL);
      tether_loop_manager_get_n_pending (hammer->target);
    }
  return NULL;
}

static gpointer
registry_hammer (gpointer data)
{
  Hammer *hammer = data;

  while (!g_atomic_int_get (&hammer->stop))
    {
      g_autoptr(TetherLoopManager) found =
        tether_loop_manager_get_or_create ("fork-target", TETHER_LOOKUP_FLAGS_STRICT, NULL);
      g_autofree char *task_type = tether_loop_manager_dup_task_type (found);
      TetherLineage *token = tether_lineage_capture ();

      g_assert_true (found == hammer->target);
      g_assert_null (task_type);
      g_assert_true (tether_loop_manager_is_running (found));
      tether_lineage_adopt (token);
      tether_lineage_leave ();
      tether_lineage_unref (token);
    }
  return NULL;
}

static void
child_while_hammered (gpointer data)
{
  Hammer *hammer = data;
  g_autoptr(GVariant) snapshot = tether_registry_snapshot ();

  g_assert_cmpuint (g_variant_n_children (snapshot), >, 0);
  check_inherited (hammer->target);
  check_fresh_manager ();
  g_object_unref (hammer->target);
}

static void
test_fork_while_submitting (void)
{
  Hammer hammer = { 0 };
  GThread *threads[2];
  guint iterations = g_test_slow () ? 500 : 100;

  if (strstr (g_getenv ("LD_PRELOAD") ? g_getenv ("LD_PRELOAD") : "", "valgrind") != NULL)
    iterations = 5;
  /* ASan's allocator (LLVM 14) has no fork handlers: a child forked while
   * the hammers allocate hangs in malloc(), before Tether is involved. */
  if (g_getenv ("TETHER_TEST_SANITIZED") != NULL)
    {
      g_test_skip ("the sanitizers' allocator is not fork-safe");
      return;
    }

  hammer.target = tether_loop_manager_get_or_create ("fork-target", TETHER_LOOKUP_FLAGS_FORCE_CREATE,
                                                     NULL);
  g_assert_true (tether_loop_manager_start (hammer.target, NULL, NULL));
  threads[0] = g_thread_new ("post-hammer", post_hammer, &hammer);
  threads[1] = tether_thread_new ("registry-hammer", registry_hammer, &hammer);

  for (guint i = 0; i < iterations; i++)
    in_forked_child (child_while_hammered, &hammer);

  g_atomic_int_set (&hammer.stop, TRUE);
  g_thread_join (threads[0]);
  g_thread_join (threads[1]);
  g_assert_true (tether_loop_manager_is_running (hammer.target));
  assert_runs_work (hammer.target);
  g_object_unref (hammer.target);
}

/* The parent's fork handlers leave the parent as it was. */
static void
child_exits (gpointer data)
{
}

/* Work that forks a child which only execs, as g_spawn*() does. */
static void
fork_from_work (TetherWork *work,
                gpointer    user_data)
{
  in_forked_child (child_exits, NULL);
  tether_work_return_int (work, 1);
}

static void
test_fork_parent_unaffected (void)
{
  g_autoptr(TetherLoopManager) manager = started ("fork-parent", NULL);
  g_autoptr(TetherFuture) future = NULL;

  for (int i = 0; i < 20; i++)
    {
      in_forked_child (child_exits, NULL);
      assert_runs_work (manager);
    }

  future = tether_loop_manager_submit (manager, NULL, fork_from_work, NULL, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (future, 60 * G_USEC_PER_SEC, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (future, NULL), ==, 1);
  assert_runs_work (manager);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}
#endif

typedef struct
{
  TetherLoopManager *timers;   /* running, with timers armed far in the future */
  GPtrArray         *futures;
} DetachedAndTimers;

/* The parent has a drain that a last unref detached, still running, and a
 * manager with armed timers: in the child there is no drain to wait for,
 * and the timers' manager starts again with no timer of the parent's. */
static void
child_detached_and_timers (gpointer data)
{
  DetachedAndTimers *d = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) soon = NULL;

  g_assert_true (tether_loop_manager_wait_detached (-1));
  check_inherited (d->timers);
  g_assert_true (tether_loop_manager_start (d->timers, NULL, &error));
  g_assert_no_error (error);
  soon = tether_loop_manager_submit_after (d->timers, NULL, 1000, return_one, NULL, NULL, NULL,
                                           &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (soon, -1, NULL, &error));
  g_assert_no_error (error);
  tether_loop_manager_stop (d->timers, TETHER_STOP_MODE_CANCEL);
}

static void
test_fork_detached_and_timers (void)
{
  DetachedAndTimers d = { 0 };
  TetherLoopManager *dropped = started ("fork-dropped", NULL);
  g_autoptr(TetherFuture) held = NULL;
  Gate gate;

  gate_init (&gate);
  d.timers = started ("fork-timers", NULL);
  d.futures = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (d.futures,
                     tether_loop_manager_submit_after (d.timers, NULL, (gint64) 3600 * G_USEC_PER_SEC, return_one, NULL, NULL,
                                                       NULL, NULL));

  /* A drain the last unref detached, held in a gate during the fork. */
  held = tether_loop_manager_submit (dropped, NULL, block_work, &gate, NULL, NULL, NULL);
  g_assert_nonnull (held);
  gate_wait_entered (&gate);
  g_object_unref (dropped);

  watchdog_arm (120, "fork with a detached drain and armed timers");
  in_forked_child (child_detached_and_timers, &d);

  /* The parent is untouched: its drain ends, its timers are still armed. */
  gate_open (&gate);
  g_assert_true (tether_loop_manager_wait_detached (-1));
  g_assert_true (tether_future_wait (held, 0, NULL, NULL));
  for (guint i = 0; i < d.futures->len; i++)
    g_assert_false (tether_future_is_done (g_ptr_array_index (d.futures, i)));
  tether_loop_manager_stop (d.timers, TETHER_STOP_MODE_DRAIN);
  for (guint i = 0; i < d.futures->len; i++)
    g_assert_cmpint (tether_future_get_status (g_ptr_array_index (d.futures, i)), ==,
                     TETHER_FUTURE_STATUS_CANCELLED);
  watchdog_disarm ();

  g_ptr_array_unref (d.futures);
  g_object_unref (d.timers);
  gate_clear (&gate);
}

int
main (int   argc,
      char *argv[])
{
#ifdef G_OS_UNIX
  /* GLib before 2.76 has a slice allocator (under GObject and GVariant)
   * whose locks have no fork handlers: a child forked while another thread
   * allocates can hang in it, whatever Tether does. Its malloc mode has no
   * lock of its own; GLib reads the choice when it loads, so start again. */
  if (g_strcmp0 (getenv ("G_SLICE"), "always-malloc") != 0)
    {
      setenv ("G_SLICE", "always-malloc", 1);
      execv (argv[0], argv);
      g_error ("cannot restart %s with G_SLICE=always-malloc: %s", argv[0], g_strerror (errno));
    }
#endif
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/OS/context-kept-once-handed-out", test_context_kept_once_handed_out);
#ifdef G_OS_UNIX
  g_test_add_func ("/Tether/OS/descriptors-run-out", test_descriptors_run_out);
  g_test_add_func ("/Tether/OS/fork-managers", test_fork_managers);
  g_test_add_func ("/Tether/OS/fork-while-submitting", test_fork_while_submitting);
  g_test_add_func ("/Tether/OS/fork-parent-unaffected", test_fork_parent_unaffected);
  g_test_add_func ("/Tether/OS/fork-detached-and-timers", test_fork_detached_and_timers);
#endif

  return g_test_run ();
}

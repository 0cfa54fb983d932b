/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <tether.h>

#include "test-util.h"

#define N_RACERS 8

/* Racers wait at one gate, so that their calls overlap as much as the
 * scheduler allows. */
typedef struct
{
  Gate               *gate;
  TetherLineage      *lineage;   /* adopted by the racer, or NULL */
  const char         *id;
  const char         *task_type;
  TetherLoopManager  *found;
} Racer;

static gpointer
racer_func (gpointer data)
{
  Racer *racer = data;
  g_autoptr(GError) error = NULL;

  if (racer->lineage != NULL)
    tether_lineage_adopt (racer->lineage);
  gate_wait_open (racer->gate);
  racer->found = tether_loop_manager_get_or_start (racer->id, TETHER_LOOKUP_FLAGS_NONE,
                                                   racer->task_type, &error);
  g_assert_no_error (error);
  g_assert_nonnull (racer->found);
  if (racer->lineage != NULL)
    tether_lineage_leave ();
  return NULL;
}

/* Runs N_RACERS threads on one id; they all must get @expected (if not
 * NULL), running with the task type asked for. Returns the manager. */
static TetherLoopManager *
race (TetherLineage     *lineage,
      const char        *id,
      TetherLoopManager *expected)
{
  Gate gate;
  Racer racers[N_RACERS];
  GThread *threads[N_RACERS];
  TetherLoopManager *found;
  g_autofree char *task_type = NULL;

  gate_init (&gate);
  for (guint i = 0; i < N_RACERS; i++)
    {
      racers[i] = (Racer) { &gate, lineage, id, "io", NULL };
      /* tether_thread_new(): a child finds what this thread registered. */
      threads[i] = lineage != NULL ? g_thread_new ("racer", racer_func, &racers[i])
                                   : tether_thread_new ("racer", racer_func, &racers[i]);
    }
  gate_open (&gate);
  for (guint i = 0; i < N_RACERS; i++)
    g_thread_join (threads[i]);
  gate_clear (&gate);

  found = racers[0].found;
  if (expected != NULL)
    g_assert_true (found == expected);
  for (guint i = 0; i < N_RACERS; i++)
    g_assert_true (racers[i].found == found);
  g_assert_true (tether_loop_manager_is_running (found));
  task_type = tether_loop_manager_dup_task_type (found);
  g_assert_cmpstr (task_type, ==, "io");
  for (guint i = 1; i < N_RACERS; i++)
    g_object_unref (racers[i].found);
  return found;
}

static void
count_start (GObject    *object,
             GParamSpec *pspec,
             gpointer    user_data)
{
  /* task-type is notified by starts only, on the starting thread. */
  g_atomic_int_inc ((int *) user_data);
}

/* A registered, stopped manager: racing children start it exactly once,
 * and again exactly once after each stop. */
static void
test_race_start (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) manager =
    tether_loop_manager_get_or_create ("gos-race-start", TETHER_LOOKUP_FLAGS_FORCE_CREATE, &error);
  int starts = 0;
  guint rounds = g_test_thorough () ? 200 : 40;

  g_assert_no_error (error);
  g_signal_connect (manager, "notify::task-type", G_CALLBACK (count_start), &starts);
  watchdog_arm (240, "get_or_start() races on a registered manager");
  for (guint round = 0; round < rounds; round++)
    {
      TetherLoopManager *found = race (NULL, "gos-race-start", manager);

      g_assert_cmpint (g_atomic_int_get (&starts), ==, (int) round + 1);
      tether_loop_manager_stop (found, round % 2 ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN);
      g_object_unref (found);
    }
  watchdog_disarm ();
  g_signal_handlers_disconnect_by_func (manager, count_start, &starts);
}

/* A fresh id, racers adopted into one place in the lineage: the registry
 * makes them agree on one manager and the start on one run. */
static void
test_race_create (void)
{
  guint rounds = g_test_thorough () ? 200 : 40;

  watchdog_arm (240, "get_or_start() races to create a manager");
  for (guint round = 0; round < rounds; round++)
    {
      g_autofree char *id = g_strdup_printf ("gos-race-create-%u", round);
      TetherLineage *lineage = tether_lineage_capture ();
      g_autoptr(GError) error = NULL;
      g_autoptr(TetherLoopManager) found = race (lineage, id, NULL);
      g_autoptr(TetherLoopManager) registered =
        tether_loop_manager_get_or_create (id, TETHER_LOOKUP_FLAGS_STRICT, &error);

      g_assert_no_error (error);
      g_assert_true (registered == found);
      tether_lineage_unref (lineage);
      tether_loop_manager_stop (found, TETHER_STOP_MODE_DRAIN);
    }
  watchdog_disarm ();
}

static void
assert_get_or_start_fails (const char        *id,
                           TetherLookupFlags  flags,
                           const char        *task_type,
                           int                code)
{
  g_autoptr(GError) error = NULL;
  TetherLoopManager *manager = tether_loop_manager_get_or_start (id, flags, task_type, &error);

  g_assert_null (manager);
  g_assert_error (error, TETHER_ERROR, code);
  g_test_message ("%s", error->message);
}

static void
test_task_types (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) typed = NULL;
  g_autoptr(TetherLoopManager) again = NULL;
  g_autoptr(TetherLoopManager) untyped = NULL;
  g_autoptr(TetherLoopManager) untyped_again = NULL;
  g_autofree char *task_type = NULL;

  watchdog_arm (60, "get_or_start() with task types");
  typed = tether_loop_manager_get_or_start ("gos-typed", TETHER_LOOKUP_FLAGS_NONE, "io", &error);
  g_assert_no_error (error);
  g_assert_true (tether_loop_manager_is_running (typed));

  /* The same task type: the same running manager, no ALREADY_RUNNING. */
  again = tether_loop_manager_get_or_start ("gos-typed", TETHER_LOOKUP_FLAGS_NONE, "io", &error);
  g_assert_no_error (error);
  g_assert_true (again == typed);

  assert_get_or_start_fails ("gos-typed", TETHER_LOOKUP_FLAGS_NONE, "cpu",
                             TETHER_ERROR_UNKNOWN_TASK_TYPE);
  /* Untyped does not match typed, nor typed untyped. */
  assert_get_or_start_fails ("gos-typed", TETHER_LOOKUP_FLAGS_NONE, NULL,
                             TETHER_ERROR_UNKNOWN_TASK_TYPE);
  task_type = tether_loop_manager_dup_task_type (typed);
  g_assert_cmpstr (task_type, ==, "io");
  g_assert_true (tether_loop_manager_is_running (typed));

  untyped = tether_loop_manager_get_or_start ("gos-untyped", TETHER_LOOKUP_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  untyped_again = tether_loop_manager_get_or_start ("gos-untyped", TETHER_LOOKUP_FLAGS_NONE, NULL,
                                                    &error);
  g_assert_no_error (error);
  g_assert_true (untyped_again == untyped);
  assert_get_or_start_fails ("gos-untyped", TETHER_LOOKUP_FLAGS_NONE, "io",
                             TETHER_ERROR_UNKNOWN_TASK_TYPE);

  /* A stopped manager is started again, with the task type asked for. */
  tether_loop_manager_stop (typed, TETHER_STOP_MODE_DRAIN);
  g_clear_object (&again);
  again = tether_loop_manager_get_or_start ("gos-typed", TETHER_LOOKUP_FLAGS_NONE, "cpu", &error);
  g_assert_no_error (error);
  g_assert_true (again == typed);
  g_clear_pointer (&task_type, g_free);
  task_type = tether_loop_manager_dup_task_type (typed);
  g_assert_cmpstr (task_type, ==, "cpu");

  tether_loop_manager_stop (typed, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (untyped, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

static void
test_flags (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) registered = NULL;
  g_autoptr(TetherLoopManager) found = NULL;
  g_autoptr(TetherLoopManager) forced = NULL;

  watchdog_arm (60, "get_or_start() with lookup flags");
  /* STRICT finds nothing, and registers nothing. */
  assert_get_or_start_fails ("gos-strict", TETHER_LOOKUP_FLAGS_STRICT, NULL,
                             TETHER_ERROR_MANAGER_NOT_FOUND);
  assert_get_or_start_fails ("gos-strict", TETHER_LOOKUP_FLAGS_STRICT, NULL,
                             TETHER_ERROR_MANAGER_NOT_FOUND);
  assert_get_or_start_fails ("gos-strict",
                             TETHER_LOOKUP_FLAGS_STRICT | TETHER_LOOKUP_FLAGS_FORCE_CREATE, NULL,
                             TETHER_ERROR_INVALID_ARGUMENT);

  /* STRICT starts a registered, stopped manager. */
  registered = tether_loop_manager_get_or_create ("gos-strict", TETHER_LOOKUP_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_false (tether_loop_manager_is_running (registered));
  found = tether_loop_manager_get_or_start ("gos-strict", TETHER_LOOKUP_FLAGS_STRICT, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (found == registered);
  g_assert_true (tether_loop_manager_is_running (registered));

  /* FORCE_CREATE replaces it with a new one, started. */
  forced = tether_loop_manager_get_or_start ("gos-strict", TETHER_LOOKUP_FLAGS_FORCE_CREATE, "io",
                                             &error);
  g_assert_no_error (error);
  g_assert_true (forced != registered);
  g_assert_true (tether_loop_manager_is_running (forced));

  tether_loop_manager_stop (registered, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (forced, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

static void
own_thread_work (TetherWork *work,
                 gpointer    user_data)
{
  GError *error = NULL;
  TetherLoopManager *current;
  TetherLoopManager *found = tether_loop_manager_get_or_start (user_data, TETHER_LOOKUP_FLAGS_NONE,
                                                               "io", &error);

  if (found == NULL)
    {
      tether_work_return_error (work, error);
      return;
    }
  current = tether_loop_manager_ref_current ();
  tether_work_return_boolean (work, found == current);
  g_object_unref (current);
  g_object_unref (found);
}

/* On the manager's own thread, a running manager is returned as is. */
static void
test_own_thread (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) manager =
    tether_loop_manager_get_or_start ("gos-own", TETHER_LOOKUP_FLAGS_NONE, "io", &error);
  g_autoptr(TetherFuture) future = NULL;

  g_assert_no_error (error);
  watchdog_arm (60, "get_or_start() on the manager's own thread");
  future = tether_loop_manager_submit (manager, "io", own_thread_work, (gpointer) "gos-own",
                                       NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (tether_future_wait (future, -1, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tether_future_get_boolean (future, NULL));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

static void
running_changed (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  if (!tether_loop_manager_is_running (TETHER_LOOP_MANAGER (object)))
    gate_open (user_data);
}

/* Not stop_thread(): the manager may run again before it could check. */
static gpointer
drain_func (gpointer data)
{
  tether_loop_manager_stop (data, TETHER_STOP_MODE_DRAIN);
  return NULL;
}

typedef struct
{
  Gate              *began;
  TetherLoopManager *found;
  GError            *error;
} Restarter;

static gpointer
restart_func (gpointer data)
{
  Restarter *restarter = data;

  gate_wait_open (restarter->began);
  restarter->found = tether_loop_manager_get_or_start ("gos-stopping", TETHER_LOOKUP_FLAGS_NONE,
                                                       "new", &restarter->error);
  return NULL;
}

/* A stop in progress: from another thread, the call waits for it and then
 * starts the manager again with its own task type, as start() does. */
static void
test_while_stopping (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) manager =
    tether_loop_manager_get_or_start ("gos-stopping", TETHER_LOOKUP_FLAGS_NONE, "old", &error);
  g_autoptr(TetherFuture) future = NULL;
  g_autofree char *task_type = NULL;
  Gate work_gate, began;
  Restarter restarter = { &began, NULL, NULL };
  GThread *stopper, *restart;

  g_assert_no_error (error);
  gate_init (&work_gate);
  gate_init (&began);
  watchdog_arm (60, "get_or_start() during a stop");
  future = tether_loop_manager_submit (manager, "old", block_work, &work_gate, NULL, NULL, &error);
  g_assert_no_error (error);
  gate_wait_entered (&work_gate);

  g_signal_connect (manager, "notify::running", G_CALLBACK (running_changed), &began);
  stopper = g_thread_new ("stopper", drain_func, manager);
  restart = tether_thread_new ("restarter", restart_func, &restarter);
  gate_wait_open (&began);
  g_signal_handlers_disconnect_by_func (manager, running_changed, &began);
  /* The stop drains the blocked work once it may return. */
  gate_open (&work_gate);
  g_thread_join (stopper);
  g_thread_join (restart);

  g_assert_no_error (restarter.error);
  g_assert_true (restarter.found == manager);
  g_assert_true (tether_loop_manager_is_running (manager));
  task_type = tether_loop_manager_dup_task_type (manager);
  g_assert_cmpstr (task_type, ==, "new");
  g_assert_true (tether_future_get_boolean (future, NULL));
  g_object_unref (restarter.found);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  gate_clear (&work_gate);
  gate_clear (&began);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/GetOrStart/race-start", test_race_start);
  g_test_add_func ("/Tether/GetOrStart/race-create", test_race_create);
  g_test_add_func ("/Tether/GetOrStart/task-types", test_task_types);
  g_test_add_func ("/Tether/GetOrStart/flags", test_flags);
  g_test_add_func ("/Tether/GetOrStart/own-thread", test_own_thread);
  g_test_add_func ("/Tether/GetOrStart/while-stopping", test_while_stopping);

  return test_run ();
}

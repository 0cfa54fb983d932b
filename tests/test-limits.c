/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <tether.h>

#include "test-util.h"

#define SECOND ((gint64) G_USEC_PER_SEC)

static void
return_one (TetherWork *work,
            gpointer    user_data)
{
  tether_work_return_int (work, 1);
}

static void
nothing (gpointer user_data)
{
}

/* Holds the manager's thread in a gate and fills the queue up to @n. */
static GPtrArray *
fill (TetherLoopManager *manager,
      Gate              *gate,
      guint              n)
{
  GPtrArray *futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (futures, tether_loop_manager_submit (manager, NULL, block_work,
                                                        gate, NULL, NULL, &error));
  gate_wait_entered (gate);
  for (guint i = 0; i < n; i++)
    {
      g_ptr_array_add (futures, tether_loop_manager_submit (manager, NULL, return_one,
                                                            NULL, NULL, NULL, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpuint (tether_loop_manager_get_n_pending (manager), ==, n);
  return futures;
}

static void
test_busy_fails_at_once (void)
{
  g_autoptr(TetherLoopManager) manager = started ("busy", NULL);
  g_autoptr(GPtrArray) futures = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) timer = NULL;
  Gate gate;

  gate_init (&gate);
  tether_loop_manager_set_max_pending (manager, 4);
  g_assert_cmpuint (tether_loop_manager_get_max_pending (manager), ==, 4);
  g_assert_cmpint (tether_loop_manager_get_submit_timeout (manager), ==, 0);
  futures = fill (manager, &gate, 4);

  g_assert_null (tether_loop_manager_submit (manager, NULL, return_one, NULL, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_BUSY);
  g_assert_nonnull (strstr (error->message, "max-pending"));
  g_clear_error (&error);
  g_assert_false (tether_loop_manager_post (manager, NULL, nothing, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_BUSY);
  g_clear_error (&error);

  /* Timers wait in the context, not the queue. */
  timer = tether_loop_manager_submit_after (manager, NULL, 3600 * SECOND, return_one,
                                            NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  /* Raising the bound makes room at once. */
  tether_loop_manager_set_max_pending (manager, 5);
  g_ptr_array_add (futures, tether_loop_manager_submit (manager, NULL, return_one,
                                                        NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  gate_open (&gate);
  for (guint i = 0; i < futures->len; i++)
    g_assert_true (tether_future_wait (g_ptr_array_index (futures, i), -1, NULL, NULL));
  g_assert_cmpuint (tether_loop_manager_get_n_pending (manager), ==, 0);
  tether_future_cancel (timer);
  gate_clear (&gate);
}

typedef struct
{
  TetherLoopManager *manager;
  TetherFuture      *future;
  GError            *error;
  gint64             waited;
  int                returned;    /* atomic: set once the submit returned */
} Submitter;

/* Submitters blocked waiting for room, as dup_stats() reports them. */
static guint
waiting_for_room (TetherLoopManager *manager)
{
  g_autoptr(GVariant) stats = tether_loop_manager_dup_stats (manager);
  guint n = 0;

  g_assert_true (g_variant_lookup (stats, "waiting-for-room", "u", &n));
  return n;
}

static gpointer
submit_thread (gpointer data)
{
  Submitter *submitter = data;
  gint64 start = g_get_monotonic_time ();

  submitter->future = tether_loop_manager_submit (submitter->manager, NULL, return_one,
                                                  NULL, NULL, NULL, &submitter->error);
  submitter->waited = g_get_monotonic_time () - start;
  g_atomic_int_set (&submitter->returned, 1);
  return NULL;
}

static void
test_busy_blocks_for_room (void)
{
  g_autoptr(TetherLoopManager) manager = started ("room", NULL);
  g_autoptr(GPtrArray) futures = NULL;
  Submitter submitter = { manager, NULL, NULL, 0, 0 };
  GThread *thread;
  Gate gate;

  gate_init (&gate);
  tether_loop_manager_set_max_pending (manager, 2);
  tether_loop_manager_set_submit_timeout (manager, -1);
  futures = fill (manager, &gate, 2);

  thread = g_thread_new ("submitter", submit_thread, &submitter);
  /* The submitter blocks until the manager's thread takes work, which the
   * gate prevents: once the stats show it waiting for room, it cannot have
   * returned. */
  poll_until (waiting_for_room (manager) == 1);
  g_assert_false (g_atomic_int_get (&submitter.returned));
  gate_open (&gate);
  g_thread_join (thread);

  g_assert_no_error (submitter.error);
  g_assert_true (tether_future_wait (submitter.future, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (submitter.future, NULL), ==, 1);
  g_object_unref (submitter.future);
  gate_clear (&gate);
}

static void
test_busy_times_out (void)
{
  g_autoptr(TetherLoopManager) manager = started ("room-timeout", NULL);
  g_autoptr(GPtrArray) futures = NULL;
  Submitter submitter = { manager, NULL, NULL, 0, 0 };
  Gate gate;

  gate_init (&gate);
  tether_loop_manager_set_max_pending (manager, 1);
  tether_loop_manager_set_submit_timeout (manager, 30 * 1000);
  futures = fill (manager, &gate, 1);

  submit_thread (&submitter);
  g_assert_null (submitter.future);
  g_assert_error (submitter.error, TETHER_ERROR, TETHER_ERROR_BUSY);
  g_assert_cmpint (submitter.waited, >=, 30 * 1000);
  g_clear_error (&submitter.error);

  gate_open (&gate);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  gate_clear (&gate);
}

/* A stop that begins while a submitter waits for room ends the wait. */
static void
test_busy_wait_ends_on_stop (void)
{
  g_autoptr(TetherLoopManager) manager = started ("room-stop", NULL);
  g_autoptr(TetherFuture) running = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  Submitter submitter = { manager, NULL, NULL, 0, 0 };
  GThread *thread;
  Gate gate;

  gate_init (&gate);
  tether_loop_manager_set_max_pending (manager, 1);
  tether_loop_manager_set_submit_timeout (manager, -1);
  running = tether_loop_manager_submit (manager, NULL, return_when_cancelled, &gate,
                                        NULL, NULL, NULL);
  gate_wait_entered (&gate);
  queued = tether_loop_manager_submit (manager, NULL, return_one, NULL, NULL, NULL, NULL);
  g_assert_cmpuint (tether_loop_manager_get_n_pending (manager), ==, 1);

  thread = g_thread_new ("submitter", submit_thread, &submitter);
  /* The stop comes while the submitter waits for room (the stats show it
   * waiting): it is refused, NOT_RUNNING. */
  poll_until (waiting_for_room (manager) == 1);
  g_assert_false (g_atomic_int_get (&submitter.returned));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_CANCEL);
  g_thread_join (thread);

  g_assert_null (submitter.future);
  g_assert_error (submitter.error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_clear_error (&submitter.error);
  g_assert_cmpint (tether_future_get_status (queued), ==, TETHER_FUTURE_STATUS_CANCELLED);
  g_assert_cmpint (tether_future_get_status (running), ==, TETHER_FUTURE_STATUS_CANCELLED);
  gate_clear (&gate);
}

typedef struct
{
  TetherLoopManager *manager;
  GError            *first;
  GError            *second;
} OwnThread;

static void
post_twice (TetherWork *work,
            gpointer    user_data)
{
  OwnThread *own = user_data;

  tether_loop_manager_post (own->manager, NULL, nothing, NULL, NULL, &own->first);
  tether_loop_manager_post (own->manager, NULL, nothing, NULL, NULL, &own->second);
  tether_work_return_boolean (work, TRUE);
}

/* The manager's own thread never waits for room: only it could make some. */
static void
test_busy_own_thread_never_waits (void)
{
  g_autoptr(TetherLoopManager) manager = started ("room-own", NULL);
  g_autoptr(TetherFuture) future = NULL;
  OwnThread own = { manager, NULL, NULL };

  tether_loop_manager_set_max_pending (manager, 1);
  tether_loop_manager_set_submit_timeout (manager, -1);
  future = tether_loop_manager_submit (manager, NULL, post_twice, &own, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (future, 10 * SECOND, NULL, NULL));
  g_assert_no_error (own.first);
  g_assert_error (own.second, TETHER_ERROR, TETHER_ERROR_BUSY);
  g_assert_nonnull (strstr (own.second->message, "own thread"));
  g_clear_error (&own.second);
}

typedef struct
{
  TetherLoopManager *manager;
  Gate              *gate;
} Opener;

static gpointer
opener_thread (gpointer data)
{
  Opener *opener = data;

  poll_until (!tether_loop_manager_is_running (opener->manager));
  gate_open (opener->gate);
  g_free (opener);
  return NULL;
}

static void
open_when_stopping (TetherLoopManager *manager,
                    Gate              *gate)
{
  Opener *opener = g_new0 (Opener, 1);

  opener->manager = manager;
  opener->gate = gate;
  g_thread_unref (g_thread_new ("opener", opener_thread, opener));
}

static void
test_stop_within_all_ran (void)
{
  g_autoptr(TetherLoopManager) manager = started ("within", NULL);
  g_autoptr(GPtrArray) futures = NULL;
  g_autoptr(GError) error = NULL;
  guint ran = 99, cancelled = 99;
  Gate gate;

  gate_init (&gate);
  futures = fill (manager, &gate, 10);
  /* Opened only once the stop has begun, so all 11 were unfinished then. */
  open_when_stopping (manager, &gate);
  g_assert_true (tether_loop_manager_stop_within (manager, 60 * SECOND, &ran, &cancelled, &error));
  g_assert_no_error (error);
  g_assert_false (tether_loop_manager_is_running (manager));
  g_assert_cmpuint (ran, ==, 11);
  g_assert_cmpuint (cancelled, ==, 0);

  /* A stopped manager counts nothing. */
  g_assert_true (tether_loop_manager_stop_within (manager, 0, &ran, &cancelled, NULL));
  g_assert_cmpuint (ran + cancelled, ==, 0);
  gate_clear (&gate);
}

static void
test_stop_within_deadline_cancels (void)
{
  g_autoptr(TetherLoopManager) manager = started ("within-deadline", NULL);
  g_autoptr(TetherFuture) running = NULL;
  g_autoptr(TetherFuture) timer = NULL;
  TetherFuture *queued[5];
  g_autoptr(GError) error = NULL;
  guint ran = 0, cancelled = 0;
  gint64 start;

  running = tether_loop_manager_submit (manager, NULL, return_when_cancelled, NULL, NULL, NULL,
                                        NULL);
  for (guint i = 0; i < G_N_ELEMENTS (queued); i++)
    queued[i] = tether_loop_manager_submit (manager, NULL, return_one, NULL, NULL, NULL, NULL);
  timer = tether_loop_manager_submit_after (manager, NULL, 3600 * SECOND, return_one,
                                            NULL, NULL, NULL, NULL);

  start = g_get_monotonic_time ();
  g_assert_true (tether_loop_manager_stop_within (manager, 50 * 1000, &ran, &cancelled, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 50 * 1000);

  /* The running work saw its cancellable, the queued never ran, the timer
   * was cancelled by the drain. */
  g_assert_cmpuint (ran, ==, 0);
  g_assert_cmpuint (cancelled, ==, 7);
  g_assert_cmpint (tether_future_get_status (running), ==, TETHER_FUTURE_STATUS_CANCELLED);
  for (guint i = 0; i < G_N_ELEMENTS (queued); i++)
    {
      g_assert_cmpint (tether_future_get_status (queued[i]), ==, TETHER_FUTURE_STATUS_CANCELLED);
      g_object_unref (queued[i]);
    }
  g_assert_cmpint (tether_future_get_status (timer), ==, TETHER_FUTURE_STATUS_CANCELLED);
}

static void
stop_within_own_thread (TetherWork *work,
                        gpointer    user_data)
{
  TetherLoopManager *manager = user_data;
  GError *error = NULL;

  g_assert_false (tether_loop_manager_stop_within (manager, 0, NULL, NULL, &error));
  tether_work_return_error (work, error);
}

static void
test_stop_within_own_thread (void)
{
  g_autoptr(TetherLoopManager) manager = started ("within-own", NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;

  future = tether_loop_manager_submit (manager, NULL, stop_within_own_thread, manager,
                                       NULL, NULL, NULL);
  g_assert_false (tether_future_wait (future, -1, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_true (tether_loop_manager_is_running (manager));
}

/* A ring of managers: the work at each depth submits the next depth to the
 * next manager and waits for it; the last depth returns at once. With as
 * many waiting depths as managers, the last wait would close a cycle. */
typedef struct
{
  TetherLoopManager *managers[3];
  guint              n;
} Ring;

typedef struct
{
  Ring  *ring;
  guint  depth;
} Hop;

static void
hop_work (TetherWork *work,
          gpointer    user_data)
{
  Hop *hop = user_data;
  Ring *ring = hop->ring;
  g_autoptr(TetherFuture) future = NULL;
  GError *error = NULL;
  Hop *next;

  if (hop->depth == ring->n)
    {
      tether_work_return_boolean (work, TRUE);
      return;
    }

  next = g_new0 (Hop, 1);
  next->ring = ring;
  next->depth = hop->depth + 1;
  future = tether_loop_manager_submit (ring->managers[next->depth % ring->n], NULL,
                                       hop_work, next, g_free, NULL, NULL);
  if (tether_future_wait (future, 30 * SECOND, NULL, &error))
    tether_work_return_boolean (work, TRUE);
  else
    tether_work_return_error (work, error);
}

static void
run_ring (guint n)
{
  Ring ring = { { NULL }, n };
  Hop first = { &ring, 0 };
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) hops = NULL;
  char id[16];

  for (guint i = 0; i < n; i++)
    {
      g_snprintf (id, sizeof id, "ring%u", i);
      ring.managers[i] = started (id, NULL);
    }

  future = tether_loop_manager_submit (ring.managers[0], NULL, hop_work, &first, NULL, NULL,
                                       NULL);
  /* Whichever wait closes the cycle is refused (threads decide which); the
   * refusal travels back down the chain as each wait's error. */
  g_assert_false (tether_future_wait (future, -1, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);

  /* "'ringA' -> 'ringB' -> ... -> 'ringA'": every manager, closed. */
  hops = g_strsplit (strstr (error->message, "'ring"), " -> ", -1);
  g_assert_cmpuint (g_strv_length (hops), >=, n + 1);
  for (guint i = 0; i < n; i++)
    {
      g_snprintf (id, sizeof id, "'ring%u'", i);
      g_assert_nonnull (strstr (error->message, id));
    }
  g_assert_true (g_str_has_prefix (hops[n], hops[0]));

  for (guint i = 0; i < n; i++)
    {
      tether_loop_manager_stop (ring.managers[i], TETHER_STOP_MODE_DRAIN);
      g_object_unref (ring.managers[i]);
    }
}

static void
test_wait_cycle_two (void)
{
  run_ring (2);
}

static void
test_wait_cycle_three (void)
{
  run_ring (3);
}

static void
wait_on_other (TetherWork *work,
               gpointer    user_data)
{
  TetherLoopManager *other = user_data;
  g_autoptr(TetherFuture) future = NULL;
  GError *error = NULL;

  future = tether_loop_manager_submit (other, NULL, return_one, NULL, NULL, NULL, NULL);
  if (tether_future_wait (future, 10 * SECOND, NULL, &error))
    tether_work_return_int (work, tether_future_get_int (future, NULL) + 1);
  else
    tether_work_return_error (work, error);
}

/* Waiting on another manager that is not waiting back is fine. */
static void
test_wait_across_managers_without_cycle (void)
{
  g_autoptr(TetherLoopManager) a = started ("across-a", NULL);
  g_autoptr(TetherLoopManager) b = started ("across-b", NULL);

  for (guint i = 0; i < 100; i++)
    {
      g_autoptr(TetherFuture) future = NULL;
      g_autoptr(GError) error = NULL;

      future = tether_loop_manager_submit (a, NULL, wait_on_other, b, NULL, NULL, NULL);
      g_assert_true (tether_future_wait (future, -1, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpint (tether_future_get_int (future, NULL), ==, 2);
    }
}

/* Huge timeouts mean "never", not a wrapped-around "now". */
static void
test_huge_timeouts (void)
{
  g_autoptr(TetherLoopManager) manager = started ("huge", NULL);
  g_autoptr(TetherFuture) never = NULL;
  g_autoptr(TetherFuture) soon = NULL;
  g_autoptr(GError) error = NULL;
  guint ran = 0, cancelled = 0;

  never = tether_loop_manager_submit_after (manager, NULL, G_MAXINT64, return_one, NULL,
                                            NULL, NULL, &error);
  g_assert_no_error (error);
  soon = tether_loop_manager_submit (manager, NULL, return_one, NULL, NULL, NULL, &error);
  g_assert_true (tether_future_wait (soon, G_MAXINT64, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (tether_future_get_status (never), ==, TETHER_FUTURE_STATUS_PENDING);

  tether_loop_manager_set_submit_timeout (manager, G_MAXINT64);
  g_assert_true (tether_loop_manager_stop_within (manager, G_MAXINT64, &ran, &cancelled, &error));
  g_assert_cmpuint (cancelled, ==, 1);
  g_assert_cmpint (tether_future_get_status (never), ==, TETHER_FUTURE_STATUS_CANCELLED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Limits/busy-fails-at-once", test_busy_fails_at_once);
  g_test_add_func ("/Tether/Limits/busy-blocks-for-room", test_busy_blocks_for_room);
  g_test_add_func ("/Tether/Limits/busy-times-out", test_busy_times_out);
  g_test_add_func ("/Tether/Limits/busy-wait-ends-on-stop", test_busy_wait_ends_on_stop);
  g_test_add_func ("/Tether/Limits/busy-own-thread", test_busy_own_thread_never_waits);
  g_test_add_func ("/Tether/Limits/stop-within-all-ran", test_stop_within_all_ran);
  g_test_add_func ("/Tether/Limits/stop-within-deadline", test_stop_within_deadline_cancels);
  g_test_add_func ("/Tether/Limits/stop-within-own-thread", test_stop_within_own_thread);
  g_test_add_func ("/Tether/Limits/wait-cycle-two", test_wait_cycle_two);
  g_test_add_func ("/Tether/Limits/wait-cycle-three", test_wait_cycle_three);
  g_test_add_func ("/Tether/Limits/wait-across-managers", test_wait_across_managers_without_cycle);
  g_test_add_func ("/Tether/Limits/huge-timeouts", test_huge_timeouts);

  return test_run ();
}

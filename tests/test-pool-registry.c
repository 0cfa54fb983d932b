/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pools in the registry (Pool.get_or_create, Pool.get_or_start, the
 * snapshot) and "the current pool" (Pool.ref_current). Every blocking call
 * runs under a watchdog or with a deadline; gates hold threads in work
 * where order matters. */
#include "config.h"

#include <tether.h>

#include "test-util.h"

#define WATCHDOG_S 60
#define WAIT_USEC (30 * G_USEC_PER_SEC)
#define N_RACERS 8

static guint
iterations (guint quick,
            guint thorough)
{
  if (g_getenv ("TETHER_TEST_VALGRIND") != NULL)
    return MAX (quick / 10, 1);
  return g_test_thorough () ? thorough : quick;
}

static TetherPool *
pool_lookup (const char        *id,
             guint              n_threads,
             TetherLookupFlags  flags)
{
  g_autoptr(GError) error = NULL;
  TetherPool *pool = tether_pool_get_or_create (id, n_threads, flags, &error);

  g_assert_no_error (error);
  g_assert_true (TETHER_IS_POOL (pool));
  return pool;
}

/* Waits for @future under its deadline; returns whether it succeeded. */
static gboolean
wait_ok (TetherFuture *future)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = tether_future_wait (future, WAIT_USEC, NULL, &error);

  g_assert_no_error (error);
  return ok;
}

/* -- Lookups ---------------------------------------------------------- */

static void
test_flags (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) missing = NULL;
  g_autoptr(TetherPool) first = NULL;
  g_autoptr(TetherPool) again = NULL;
  g_autoptr(TetherPool) strict = NULL;
  g_autoptr(TetherPool) forced = NULL;
  g_autoptr(TetherPool) after = NULL;

  /* STRICT finds nothing: not found, and nothing registered. */
  missing = tether_pool_get_or_create ("preg-flags", 0, TETHER_LOOKUP_FLAGS_STRICT, &error);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_MANAGER_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "No pool with id 'preg-flags'"));
  g_assert_nonnull (strstr (error->message, "Pool.get_or_create()"));
  g_assert_null (missing);
  g_clear_error (&error);

  first = pool_lookup ("preg-flags", 2, TETHER_LOOKUP_FLAGS_NONE);
  g_assert_cmpstr (tether_pool_get_id (first), ==, "preg-flags");
  g_assert_cmpuint (tether_pool_get_n_threads (first), ==, 2);
  g_assert_false (tether_pool_is_running (first));   /* made, not started */

  again = pool_lookup ("preg-flags", 0, TETHER_LOOKUP_FLAGS_NONE);
  g_assert_true (again == first);
  strict = pool_lookup ("preg-flags", 2, TETHER_LOOKUP_FLAGS_STRICT);
  g_assert_true (strict == first);

  /* FORCE_CREATE replaces the entry; later lookups find the new one. */
  forced = pool_lookup ("preg-flags", 3, TETHER_LOOKUP_FLAGS_FORCE_CREATE);
  g_assert_true (forced != first);
  g_assert_cmpuint (tether_pool_get_n_threads (forced), ==, 3);
  after = pool_lookup ("preg-flags", 0, TETHER_LOOKUP_FLAGS_NONE);
  g_assert_true (after == forced);

  /* Both flags, or unknown ones, are refused as for managers. */
  g_assert_null (tether_pool_get_or_create ("preg-flags", 0,
                                            TETHER_LOOKUP_FLAGS_FORCE_CREATE |
                                            TETHER_LOOKUP_FLAGS_STRICT, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (tether_pool_get_or_create ("preg-flags", 0, 1 << 7, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* NULL and "" are the default namespace, as for managers. */
  {
    g_autoptr(TetherPool) a = pool_lookup ("preg-default-ns", 1, TETHER_LOOKUP_FLAGS_NONE);

    g_assert_cmpstr (tether_pool_get_id (a), ==, "preg-default-ns");
  }
}

static void
test_n_threads (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) pool = pool_lookup ("preg-size", 3, TETHER_LOOKUP_FLAGS_NONE);
  g_autoptr(TetherPool) any = pool_lookup ("preg-size", 0, TETHER_LOOKUP_FLAGS_NONE);
  g_autoptr(TetherPool) same = pool_lookup ("preg-size", 3, TETHER_LOOKUP_FLAGS_NONE);
  g_autoptr(TetherPool) other = NULL;
  g_autoptr(TetherPool) sized = NULL;

  g_assert_true (any == pool);
  g_assert_true (same == pool);
  other = tether_pool_get_or_create ("preg-size", 2, TETHER_LOOKUP_FLAGS_NONE, &error);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "3 threads, not 2"));
  g_assert_null (other);
  g_clear_error (&error);

  /* 0 when making: one thread per processor, as tether_pool_new(). */
  sized = pool_lookup ("preg-size-any", 0, TETHER_LOOKUP_FLAGS_NONE);
  g_assert_cmpuint (tether_pool_get_n_threads (sized), ==, MAX (1, g_get_num_processors ()));
}

/* Ids are one namespace: a pool lookup that meets a manager fails, and the
 * reverse, STRICT or not, and so does get_or_start. */
static void
test_kind_mismatch (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) manager = NULL;
  g_autoptr(TetherPool) pool = NULL;
  TetherLookupFlags flags[] = { TETHER_LOOKUP_FLAGS_NONE, TETHER_LOOKUP_FLAGS_STRICT };

  manager = tether_loop_manager_get_or_create ("preg-kind-m", TETHER_LOOKUP_FLAGS_NONE, &error);
  g_assert_no_error (error);
  pool = pool_lookup ("preg-kind-p", 1, TETHER_LOOKUP_FLAGS_NONE);

  for (guint i = 0; i < G_N_ELEMENTS (flags); i++)
    {
      g_autoptr(TetherPool) p = NULL;
      g_autoptr(TetherLoopManager) m = NULL;

      p = tether_pool_get_or_create ("preg-kind-m", 0, flags[i], &error);
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "registered as a manager, not a pool"));
      g_assert_null (p);
      g_clear_error (&error);

      m = tether_loop_manager_get_or_create ("preg-kind-p", flags[i], &error);
      g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "registered as a pool, not a manager"));
      g_assert_null (m);
      g_clear_error (&error);
    }

  {
    g_autoptr(TetherPool) p = tether_pool_get_or_start ("preg-kind-m", 0, TETHER_LOOKUP_FLAGS_NONE,
                                                        NULL, &error);
    g_autoptr(TetherLoopManager) m = NULL;

    g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
    g_assert_null (p);
    g_clear_error (&error);
    m = tether_loop_manager_get_or_start ("preg-kind-p", TETHER_LOOKUP_FLAGS_NONE, NULL, &error);
    g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
    g_assert_null (m);
    g_clear_error (&error);
  }

  /* The entries are untouched. */
  {
    g_autoptr(TetherLoopManager) m = tether_loop_manager_get_or_create ("preg-kind-m",
                                                                         TETHER_LOOKUP_FLAGS_STRICT,
                                                                         &error);
    g_autoptr(TetherPool) p = pool_lookup ("preg-kind-p", 0, TETHER_LOOKUP_FLAGS_STRICT);

    g_assert_no_error (error);
    g_assert_true (m == manager);
    g_assert_true (p == pool);
  }

  /* FORCE_CREATE replaces the calling thread's entry whatever its kind. */
  {
    g_autoptr(TetherPool) p = pool_lookup ("preg-kind-m", 1, TETHER_LOOKUP_FLAGS_FORCE_CREATE);
    g_autoptr(TetherLoopManager) m = tether_loop_manager_get_or_create ("preg-kind-m",
                                                                         TETHER_LOOKUP_FLAGS_NONE,
                                                                         &error);

    g_assert_nonnull (p);
    g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
    g_assert_null (m);
    g_clear_error (&error);
  }
}

/* A child thread (tether_thread_new()) resolves through its parent. */
typedef struct
{
  TetherPool *found;
  gboolean    strict_missing_failed;
} ChildLookup;

static gpointer
child_lookup_thread (gpointer data)
{
  ChildLookup *lookup = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) missing = NULL;

  lookup->found = tether_pool_get_or_create ("preg-lineage", 0, TETHER_LOOKUP_FLAGS_STRICT, &error);
  g_assert_no_error (error);
  missing = tether_pool_get_or_create ("preg-lineage-none", 0, TETHER_LOOKUP_FLAGS_STRICT, &error);
  lookup->strict_missing_failed = missing == NULL &&
                                  g_error_matches (error, TETHER_ERROR, TETHER_ERROR_MANAGER_NOT_FOUND);
  return NULL;
}

static void
test_child_thread (void)
{
  g_autoptr(TetherPool) pool = pool_lookup ("preg-lineage", 1, TETHER_LOOKUP_FLAGS_NONE);
  ChildLookup lookup = { NULL, FALSE };

  watchdog_arm (WATCHDOG_S, "pool-registry child-thread");
  g_thread_join (tether_thread_new ("preg-child", child_lookup_thread, &lookup));
  watchdog_disarm ();
  g_assert_true (lookup.found == pool);
  g_assert_true (lookup.strict_missing_failed);
  g_object_unref (lookup.found);
}

/* Inside pool work: the pool's threads resolve through the thread that
 * started the pool, so they find the pool itself and what that thread
 * registered; and Pool.ref_current() is the pool. */
typedef struct
{
  TetherPool        *pool;
  TetherLoopManager *manager;
} Expected;

static void
lookup_in_work (TetherWork *work,
                gpointer    user_data)
{
  Expected *expected = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) pool = tether_pool_get_or_create ("preg-inside", 0,
                                                          TETHER_LOOKUP_FLAGS_STRICT, &error);
  g_autoptr(TetherLoopManager) manager = NULL;
  g_autoptr(TetherPool) current = tether_pool_ref_current ();
  g_autoptr(TetherPool) running = NULL;

  if (pool == NULL)
    {
      tether_work_return_error (work, g_steal_pointer (&error));
      return;
    }
  manager = tether_loop_manager_get_or_create ("preg-inside-m", TETHER_LOOKUP_FLAGS_STRICT, &error);
  if (manager == NULL)
    {
      tether_work_return_error (work, g_steal_pointer (&error));
      return;
    }
  /* get_or_start on its own running pool returns at once. */
  running = tether_pool_get_or_start ("preg-inside", 0, TETHER_LOOKUP_FLAGS_NONE, "inside", &error);
  if (running == NULL)
    {
      tether_work_return_error (work, g_steal_pointer (&error));
      return;
    }
  tether_work_return_boolean (work, pool == expected->pool && manager == expected->manager &&
                                    current == expected->pool && running == expected->pool);
}

static void
test_inside_work (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) manager =
    tether_loop_manager_get_or_create ("preg-inside-m", TETHER_LOOKUP_FLAGS_NONE, &error);
  g_autoptr(TetherPool) pool = tether_pool_get_or_start ("preg-inside", 2, TETHER_LOOKUP_FLAGS_NONE,
                                                         "inside", &error);
  Expected expected = { pool, manager };
  TetherFuture *futures[16];

  g_assert_no_error (error);
  watchdog_arm (WATCHDOG_S, "pool-registry inside-work");
  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    {
      futures[i] = tether_pool_submit (pool, "inside", lookup_in_work, &expected, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    {
      g_assert_true (wait_ok (futures[i]));
      g_assert_true (tether_future_get_boolean (futures[i], &error));
      g_assert_no_error (error);
      g_object_unref (futures[i]);
    }
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* -- get_or_start ----------------------------------------------------- */

static void
test_get_or_start (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) pool = NULL;
  g_autoptr(TetherPool) same = NULL;
  g_autoptr(TetherPool) other = NULL;
  g_autoptr(TetherPool) untyped = NULL;
  g_autoptr(TetherPool) restarted = NULL;

  watchdog_arm (WATCHDOG_S, "pool-registry get-or-start");
  pool = tether_pool_get_or_start ("preg-start", 2, TETHER_LOOKUP_FLAGS_NONE, "io", &error);
  g_assert_no_error (error);
  g_assert_true (tether_pool_is_running (pool));

  same = tether_pool_get_or_start ("preg-start", 0, TETHER_LOOKUP_FLAGS_STRICT, "io", &error);
  g_assert_no_error (error);
  g_assert_true (same == pool);

  other = tether_pool_get_or_start ("preg-start", 0, TETHER_LOOKUP_FLAGS_NONE, "cpu", &error);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_assert_null (other);
  g_clear_error (&error);
  untyped = tether_pool_get_or_start ("preg-start", 0, TETHER_LOOKUP_FLAGS_NONE, NULL, &error);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_assert_null (untyped);
  g_clear_error (&error);

  /* A stopped pool starts again, with the task type asked for now. */
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_assert_false (tether_pool_is_running (pool));
  restarted = tether_pool_get_or_start ("preg-start", 0, TETHER_LOOKUP_FLAGS_NONE, "cpu", &error);
  g_assert_no_error (error);
  g_assert_true (restarted == pool);
  g_assert_true (tether_pool_is_running (pool));
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

typedef struct
{
  Gate          *gate;
  TetherLineage *lineage;   /* adopted by the racer, or NULL */
  const char    *id;
  TetherPool    *found;
} Racer;

static gpointer
racer_func (gpointer data)
{
  Racer *racer = data;
  g_autoptr(GError) error = NULL;

  if (racer->lineage != NULL)
    tether_lineage_adopt (racer->lineage);
  gate_wait_open (racer->gate);
  racer->found = tether_pool_get_or_start (racer->id, 2, TETHER_LOOKUP_FLAGS_NONE, "io", &error);
  g_assert_no_error (error);
  g_assert_nonnull (racer->found);
  if (racer->lineage != NULL)
    tether_lineage_leave ();
  return NULL;
}

static void
square (TetherWork *work,
        gpointer    user_data)
{
  int n = GPOINTER_TO_INT (user_data);

  tether_work_return_int (work, n * n);
}

/* N_RACERS threads race get_or_start on one id: all get one pool, running
 * with their task type, and it runs work. */
static void
race (TetherLineage *lineage,
      const char    *id,
      TetherPool    *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = NULL;
  Gate gate;
  Racer racers[N_RACERS];
  GThread *threads[N_RACERS];
  TetherPool *found;

  gate_init (&gate);
  for (guint i = 0; i < N_RACERS; i++)
    {
      racers[i] = (Racer) { &gate, lineage, id, NULL };
      threads[i] = lineage != NULL ? g_thread_new ("preg-racer", racer_func, &racers[i])
                                   : tether_thread_new ("preg-racer", racer_func, &racers[i]);
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
  g_assert_true (tether_pool_is_running (found));
  future = tether_pool_submit (found, "io", square, GINT_TO_POINTER (7), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_ok (future));
  g_assert_cmpint (tether_future_get_int (future, NULL), ==, 49);
  /* Another task type is refused: the one start used "io". Looked up from
   * the racers' place, where the registration is. */
  if (lineage != NULL)
    tether_lineage_adopt (lineage);
  {
    g_autoptr(TetherPool) other = tether_pool_get_or_start (id, 0, TETHER_LOOKUP_FLAGS_NONE, NULL, &error);

    g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
    g_assert_null (other);
    g_clear_error (&error);
  }
  if (lineage != NULL)
    tether_lineage_leave ();
  tether_pool_stop (found, TETHER_STOP_MODE_DRAIN);
  for (guint i = 0; i < N_RACERS; i++)
    g_object_unref (racers[i].found);
}

static gpointer
capture_lineage (gpointer data)
{
  return tether_lineage_capture ();
}

static void
test_get_or_start_race (void)
{
  guint rounds = iterations (20, 200);

  watchdog_arm (WATCHDOG_S * 2, "pool-registry get-or-start-race");
  for (guint round = 0; round < rounds; round++)
    {
      g_autofree char *id = g_strdup_printf ("preg-race-%u", round);
      g_autofree char *adopted_id = g_strdup_printf ("preg-race-adopted-%u", round);
      g_autoptr(TetherPool) registered = pool_lookup (id, 2, TETHER_LOOKUP_FLAGS_NONE);
      TetherLineage *token;

      /* Registered (stopped) by the parent: the children race the start. */
      race (NULL, id, registered);

      /* Nothing registered, one adopted place: they race the creation too.
       * The token is a fresh child's place, so the registration goes there
       * and leaves with the token. */
      token = g_thread_join (tether_thread_new ("preg-owner", capture_lineage, NULL));
      race (token, adopted_id, NULL);
      tether_lineage_unref (token);
    }
  watchdog_disarm ();
}

/* On one of the pool's threads, while a stop waits for that thread,
 * get_or_start fails at once instead of waiting for the stop. */
typedef struct
{
  Gate gate;
} StopInside;

static void
get_or_start_while_stopping (TetherWork *work,
                             gpointer    user_data)
{
  StopInside *inside = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) pool = NULL;

  gate_enter (&inside->gate);
  gate_wait_open (&inside->gate);
  pool = tether_pool_get_or_start ("preg-stopping", 0, TETHER_LOOKUP_FLAGS_NONE, NULL, &error);
  if (pool != NULL)
    tether_work_return_boolean (work, FALSE);
  else
    tether_work_return_error (work, g_steal_pointer (&error));
}

static gpointer
stop_pool_thread (gpointer data)
{
  tether_pool_stop (data, TETHER_STOP_MODE_DRAIN);
  return NULL;
}

static void
test_get_or_start_while_stopping (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) pool = tether_pool_get_or_start ("preg-stopping", 2, TETHER_LOOKUP_FLAGS_NONE,
                                                         NULL, &error);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherPool) again = NULL;
  StopInside inside;
  GThread *stopper;

  g_assert_no_error (error);
  gate_init (&inside.gate);
  watchdog_arm (WATCHDOG_S, "pool-registry get-or-start-while-stopping");
  future = tether_pool_submit (pool, NULL, get_or_start_while_stopping, &inside, NULL, NULL, &error);
  g_assert_no_error (error);
  gate_wait_entered (&inside.gate);
  stopper = g_thread_new ("preg-stopper", stop_pool_thread, pool);
  poll_until (!tether_pool_is_running (pool));
  gate_open (&inside.gate);
  g_thread_join (stopper);

  g_assert_false (tether_future_wait (future, WAIT_USEC, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING);
  g_clear_error (&error);

  /* From another thread, after the stop: started again. */
  again = tether_pool_get_or_start ("preg-stopping", 0, TETHER_LOOKUP_FLAGS_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (again == pool);
  g_assert_true (tether_pool_is_running (pool));
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  gate_clear (&inside.gate);
}

/* A pool registered by a thread that exits: the registry lets it go once
 * nothing resolves through that thread any more, and the pool stops,
 * draining (its work still runs), as on its last unref. */
typedef struct
{
  TetherPool   *weak;
  TetherFuture *future;
} ExitingOwner;

static gpointer
exiting_owner_thread (gpointer data)
{
  ExitingOwner *owner = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) pool = tether_pool_get_or_start ("preg-exit", 1, TETHER_LOOKUP_FLAGS_NONE,
                                                         NULL, &error);

  g_assert_no_error (error);
  owner->weak = pool;
  g_object_add_weak_pointer (G_OBJECT (pool), (gpointer *) &owner->weak);
  owner->future = tether_pool_submit (pool, NULL, square, GINT_TO_POINTER (5), NULL, NULL, &error);
  g_assert_no_error (error);
  return NULL;
}

static void
test_registering_thread_exits (void)
{
  ExitingOwner owner = { NULL, NULL };
  g_autoptr(TetherPool) here = NULL;

  watchdog_arm (WATCHDOG_S, "pool-registry registering-thread-exits");
  g_thread_join (tether_thread_new ("preg-exiting", exiting_owner_thread, &owner));
  g_assert_true (wait_ok (owner.future));
  g_assert_cmpint (tether_future_get_int (owner.future, NULL), ==, 25);
  g_clear_object (&owner.future);   /* its item holds the pool */
  poll_until (g_atomic_pointer_get (&owner.weak) == NULL);
  /* The id is free again here: the main thread never saw it. */
  here = pool_lookup ("preg-exit", 0, TETHER_LOOKUP_FLAGS_NONE);
  g_assert_false (tether_pool_is_running (here));
  watchdog_disarm ();
}

/* -- Snapshot --------------------------------------------------------- */

static GVariant *
snapshot_entry (GVariant   *snapshot,
                const char *id)
{
  for (gsize i = 0; i < g_variant_n_children (snapshot); i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (snapshot, i);
      const char *entry_id = NULL;

      if (g_variant_lookup (entry, "id", "&s", &entry_id) && g_strcmp0 (entry_id, id) == 0)
        return g_steal_pointer (&entry);
    }
  return NULL;
}

static void
test_snapshot (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) pool = tether_pool_get_or_start ("preg-snap-p", 3, TETHER_LOOKUP_FLAGS_NONE,
                                                         "snap", &error);
  g_autoptr(TetherLoopManager) manager =
    tether_loop_manager_get_or_create ("preg-snap-m", TETHER_LOOKUP_FLAGS_NONE, &error);
  g_autoptr(GVariant) snapshot = NULL;
  g_autoptr(GVariant) p = NULL;
  g_autoptr(GVariant) m = NULL;
  const char *kind = NULL;
  const char *task_type = NULL;
  gboolean running = FALSE;
  guint n_threads = 0;
  guint depth = 0;
  guint64 address = 0;

  g_assert_no_error (error);
  g_assert_nonnull (manager);
  watchdog_arm (WATCHDOG_S, "pool-registry snapshot");
  snapshot = tether_registry_snapshot ();
  g_assert_true (g_variant_is_of_type (snapshot, G_VARIANT_TYPE ("aa{sv}")));
  p = snapshot_entry (snapshot, "preg-snap-p");
  m = snapshot_entry (snapshot, "preg-snap-m");
  g_assert_nonnull (p);
  g_assert_nonnull (m);

  g_assert_true (g_variant_lookup (p, "kind", "&s", &kind));
  g_assert_cmpstr (kind, ==, "pool");
  g_assert_true (g_variant_lookup (p, "running", "b", &running));
  g_assert_true (running);
  g_assert_true (g_variant_lookup (p, "task-type", "&s", &task_type));
  g_assert_cmpstr (task_type, ==, "snap");
  g_assert_true (g_variant_lookup (p, "n-threads", "u", &n_threads));
  g_assert_cmpuint (n_threads, ==, 3);
  g_assert_true (g_variant_lookup (p, "depth", "u", &depth));
  g_assert_true (g_variant_lookup (p, "thread-address", "t", &address));
  g_assert_cmpuint (address, !=, 0);

  g_assert_true (g_variant_lookup (m, "kind", "&s", &kind));
  g_assert_cmpstr (kind, ==, "manager");
  g_assert_true (g_variant_lookup (m, "running", "b", &running));
  g_assert_false (running);
  g_assert_true (g_variant_lookup (m, "task-type", "&s", &task_type));
  g_assert_cmpstr (task_type, ==, "");
  g_assert_false (g_variant_lookup (m, "n-threads", "u", &n_threads));

  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_clear_pointer (&snapshot, g_variant_unref);
  g_clear_pointer (&p, g_variant_unref);
  snapshot = tether_registry_snapshot ();
  p = snapshot_entry (snapshot, "preg-snap-p");
  g_assert_true (g_variant_lookup (p, "running", "b", &running));
  g_assert_false (running);
  watchdog_disarm ();
}

/* -- ref_current ------------------------------------------------------ */

static void
ref_current_work (TetherWork *work,
                  gpointer    user_data)
{
  g_autoptr(TetherPool) current = tether_pool_ref_current ();

  tether_work_return_pointer (work, current, NULL);
}

static void
test_ref_current (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherPool) pool = tether_pool_new ("preg-current", 2);
  g_autoptr(TetherLoopManager) manager = started ("preg-current-m", NULL);
  g_autoptr(TetherLoopManager) thread = NULL;
  g_autoptr(TetherFuture) on_manager = NULL;
  g_autoptr(TetherFuture) on_thread = NULL;
  g_autoptr(TetherFuture) after_stop = NULL;
  TetherFuture *futures[8];

  watchdog_arm (WATCHDOG_S, "pool-registry ref-current");
  g_assert_null (tether_pool_ref_current ());   /* the main thread */
  g_assert_true (tether_pool_start (pool, NULL, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    futures[i] = tether_pool_submit (pool, NULL, ref_current_work, NULL, NULL, NULL, &error);
  for (guint i = 0; i < G_N_ELEMENTS (futures); i++)
    {
      g_assert_true (wait_ok (futures[i]));
      g_assert_true (tether_future_get_pointer (futures[i], &error) == pool);
      g_object_unref (futures[i]);
    }

  /* Work given to one of its threads' managers directly is on the pool's
   * thread too; work on a plain manager is not. */
  thread = tether_pool_ref_thread (pool, 1);
  on_thread = tether_loop_manager_submit (thread, NULL, ref_current_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_ok (on_thread));
  g_assert_true (tether_future_get_pointer (on_thread, NULL) == pool);

  on_manager = tether_loop_manager_submit (manager, NULL, ref_current_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_ok (on_manager));
  g_assert_null (tether_future_get_pointer (on_manager, NULL));

  /* Stopped, its threads are no longer the pool's, even restarted by hand. */
  tether_pool_stop (pool, TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_loop_manager_start (thread, NULL, &error));
  g_assert_no_error (error);
  after_stop = tether_loop_manager_submit (thread, NULL, ref_current_work, NULL, NULL, NULL, &error);
  g_assert_true (wait_ok (after_stop));
  g_assert_null (tether_future_get_pointer (after_stop, NULL));
  tether_loop_manager_stop (thread, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* The last reference dropped inside the pool's own work: once the pool is
 * gone, its thread (kept alive here through its manager) sees no pool (the
 * weak reference), and nothing dangles. */
static void
drop_ref_work (TetherWork *work,
               gpointer    user_data)
{
  TetherPool **pool = user_data;
  g_autoptr(TetherPool) current = tether_pool_ref_current ();

  tether_work_return_boolean (work, current == *pool);
  g_clear_object (pool);
}

static void
test_ref_current_last_unref (void)
{
  g_autoptr(GError) error = NULL;
  TetherPool *pool = tether_pool_new ("preg-last", 1);
  TetherPool *weak = pool;
  g_autoptr(TetherLoopManager) thread = NULL;
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherFuture) after = NULL;

  watchdog_arm (WATCHDOG_S, "pool-registry ref-current-last-unref");
  g_assert_true (tether_pool_start (pool, NULL, &error));
  g_assert_no_error (error);
  thread = tether_pool_ref_thread (pool, 0);
  g_object_add_weak_pointer (G_OBJECT (pool), (gpointer *) &weak);
  future = tether_pool_submit (pool, NULL, drop_ref_work, &pool, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_ok (future));
  g_assert_true (tether_future_get_boolean (future, NULL));
  g_clear_object (&future);   /* its item holds the pool */
  poll_until (g_atomic_pointer_get (&weak) == NULL);

  if (!tether_loop_manager_is_running (thread))
    {
      g_assert_true (tether_loop_manager_start (thread, NULL, &error));
      g_assert_no_error (error);
    }
  after = tether_loop_manager_submit (thread, NULL, ref_current_work, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (wait_ok (after));
  g_assert_null (tether_future_get_pointer (after, NULL));
  tether_loop_manager_stop (thread, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/pool-registry/flags", test_flags);
  g_test_add_func ("/pool-registry/n-threads", test_n_threads);
  g_test_add_func ("/pool-registry/kind-mismatch", test_kind_mismatch);
  g_test_add_func ("/pool-registry/child-thread", test_child_thread);
  g_test_add_func ("/pool-registry/inside-work", test_inside_work);
  g_test_add_func ("/pool-registry/get-or-start", test_get_or_start);
  g_test_add_func ("/pool-registry/get-or-start-race", test_get_or_start_race);
  g_test_add_func ("/pool-registry/get-or-start-while-stopping", test_get_or_start_while_stopping);
  g_test_add_func ("/pool-registry/registering-thread-exits", test_registering_thread_exits);
  g_test_add_func ("/pool-registry/snapshot", test_snapshot);
  g_test_add_func ("/pool-registry/ref-current", test_ref_current);
  g_test_add_func ("/pool-registry/ref-current-last-unref", test_ref_current_last_unref);

  return test_run ();
}

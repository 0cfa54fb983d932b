/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-debug-private.h"
#include "tether-detached-private.h"
#include "tether-error.h"
#include "tether-i18n-private.h"
#include "tether-lineage-private.h"
#include "tether-loop-manager-private.h"
#include "tether-pool-private.h"
#include "tether-registry-private.h"
#include "tether-registry.h"

#define DEFAULT_ID "default"

/* The registry's data: a table per lineage node that has registered
 * something, attached to the node (tether_lineage_attach_data()) so that a
 * lookup finds it without a search, and on the list of every table for
 * snapshots and fork(). The lineage asks through TetherLineageDataFuncs
 * whether a table still holds anything and hands it back when its node
 * dies; the table is then detached, and released after the lineage lock
 * is, since dropping its managers stops and joins them.
 *
 * Locks: a table's mutex guards its entries; tables_lock the list. Order:
 * the lineage lock, then tables_lock, then a table's mutex, then
 * tether-detached.c's. No user code runs under any of them. */
typedef struct
{
  GMutex         mutex;
  GHashTable    *entries;  /* mutex: id -> TetherLoopManager or TetherPool */
  /* The thread that registered, as its node was made, for snapshots: a
   * copy, since a reference would keep a dead node in its parent's
   * children for the whole of a cascade of releases. */
  char          *thread_name;
  gpointer       thread;
  guint          depth;
  GList          link;     /* in tables, tables_lock */
} RegistryTable;

static GMutex tables_lock;
static GQueue tables;

/* A snapshot row's thread. */
typedef struct
{
  gpointer thread;
  guint    depth;
} Place;

static void
table_free (RegistryTable *table)
{
  g_hash_table_unref (table->entries);
  g_free (table->thread_name);
  g_mutex_clear (&table->mutex);
  g_free (table);
}

static gboolean
table_has_entries (gpointer data)
{
  RegistryTable *table = data;
  gboolean ret;

  g_mutex_lock (&table->mutex);
  ret = g_hash_table_size (table->entries) > 0;
  g_mutex_unlock (&table->mutex);
  return ret;
}

/* Under the lineage lock: its node died. From here to table_release() its
 * managers are in no lookup's reach but not yet let go:
 * tether_detached_wait() counts them, so a program that waits for detached
 * drains once the registry looks empty cannot miss one. */
static void
table_detach (gpointer data)
{
  tether_detached_add ();
}

/* After the lineage lock: drops the managers (a last unref among them
 * detaches its drain before the count ends). */
static void
table_release (gpointer data)
{
  RegistryTable *table = data;

  g_mutex_lock (&tables_lock);
  g_queue_unlink (&tables, &table->link);
  g_mutex_unlock (&tables_lock);

  table_free (table);
  tether_detached_remove ();
}

/* fork(): the list, then every table, after the lineage lock (see
 * tether-fork.c). */
static void
tables_lock_all (void)
{
  g_mutex_lock (&tables_lock);
  for (GList *l = tables.head; l != NULL; l = l->next)
    g_mutex_lock (&((RegistryTable *) l->data)->mutex);
}

static void
tables_unlock_all (void)
{
  for (GList *l = tables.tail; l != NULL; l = l->prev)
    g_mutex_unlock (&((RegistryTable *) l->data)->mutex);
  g_mutex_unlock (&tables_lock);
}

static const TetherLineageDataFuncs table_funcs = {
  .has_entries = table_has_entries,
  .detach = table_detach,
  .release = table_release,
  .lock_all = tables_lock_all,
  .unlock_all = tables_unlock_all,
};

/* The calling thread owns @node: its table, made now if it has none. */
static RegistryTable *
table_for (TetherLineage *node)
{
  static gsize funcs_set;
  RegistryTable *table = tether_lineage_get_data (node);

  if (table != NULL)
    return table;

  if (g_once_init_enter (&funcs_set))
    {
      tether_lineage_set_data_funcs (&table_funcs);
      g_once_init_leave (&funcs_set, 1);
    }
  table = g_new0 (RegistryTable, 1);
  g_mutex_init (&table->mutex);
  table->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  table->thread_name = g_strdup (tether_lineage_get_thread_name (node));
  table->thread = tether_lineage_get_thread (node);
  table->depth = tether_lineage_get_depth (node);
  table->link.data = table;
  g_mutex_lock (&tables_lock);
  g_queue_push_tail_link (&tables, &table->link);
  g_mutex_unlock (&tables_lock);

  if (tether_lineage_attach_data (node, table))
    return table;

  /* Another thread adopted into the same node attached one first. */
  g_mutex_lock (&tables_lock);
  g_queue_unlink (&tables, &table->link);
  g_mutex_unlock (&tables_lock);
  table_free (table);
  return tether_lineage_get_data (node);
}

static gpointer
table_lookup (gpointer data,
              gpointer key)
{
  RegistryTable *table = data;
  GObject *ret;

  g_mutex_lock (&table->mutex);
  ret = g_hash_table_lookup (table->entries, key);
  if (ret != NULL)
    g_object_ref (ret);
  g_mutex_unlock (&table->mutex);
  return ret;
}

void
tether_registry_insert_object (TetherLineage *node,
                               const char    *key,
                               gpointer       object)
{
  RegistryTable *table = table_for (node);

  g_mutex_lock (&table->mutex);
  g_hash_table_insert (table->entries, g_strdup (key), g_object_ref (object));
  g_mutex_unlock (&table->mutex);
}


/* What a lookup makes or expects: a manager, or a pool of @n_threads
 * (0: any size found; one per processor when made). */
typedef struct
{
  GType type;
  guint n_threads;
} Kind;

static gboolean
kind_is_pool (const Kind *kind)
{
  return kind->type == TETHER_TYPE_POOL;
}

/* Whether @found, registered under @key, is what @kind asks for. Ids are
 * one namespace: a pool lookup that finds a manager fails, and the reverse,
 * rather than shadow the entry with one of the other kind. */
static gboolean
check_found (const Kind  *kind,
             GObject     *found,
             const char  *key,
             GError     **error)
{
  g_autofree char *key_shown = NULL;

  if (G_TYPE_CHECK_INSTANCE_TYPE (found, kind->type))
    {
      guint n_threads;

      if (!kind_is_pool (kind) || kind->n_threads == 0)
        return TRUE;
      n_threads = tether_pool_get_n_threads (TETHER_POOL (found));
      if (n_threads == kind->n_threads)
        return TRUE;
      key_shown = tether_describe_name (key);
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   _("Pool '%s' is registered with %u threads, not %u; pass 0 threads to get "
                     "it whatever its size, or register this pool under another id"),
                   key_shown, n_threads, kind->n_threads);
      return FALSE;
    }

  key_shown = tether_describe_name (key);
  if (kind_is_pool (kind))
    g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                 _("Id '%s' is registered as a manager, not a pool; look it up with "
                   "LoopManager.get_or_create(), or give the pool another id"),
                 key_shown);
  else
    g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                 _("Id '%s' is registered as a pool, not a manager; look it up with "
                   "Pool.get_or_create(), or give the manager another id"),
                 key_shown);
  return FALSE;
}

/* The lookup of get_or_create() for managers and pools alike: @kind says
 * what to make, and what a found entry must be. */
static gpointer
registry_resolve (const Kind         *kind,
                  const char         *id,
                  TetherLookupFlags   flags,
                  GError            **error)
{
  const TetherLookupFlags known = TETHER_LOOKUP_FLAGS_FORCE_CREATE | TETHER_LOOKUP_FLAGS_STRICT;
  TetherLineage *node;
  RegistryTable *table;
  g_autofree char *valid_id = NULL;
  const char *key;
  GObject *found = NULL;
  GObject *replaced = NULL;
  g_autofree char *replaced_key = NULL;
  GObject *created;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((flags & TETHER_LOOKUP_FLAGS_FORCE_CREATE) && (flags & TETHER_LOOKUP_FLAGS_STRICT))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   _("FORCE_CREATE and STRICT cannot be combined: pass FORCE_CREATE to always "
                     "make a new manager, or STRICT to only find an existing one"));
      return NULL;
    }
  if ((flags & ~known) != 0)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   _("Lookup flags 0x%x are not LookupFlags; pass NONE, FORCE_CREATE or STRICT"), (guint) (flags & ~known));
      return NULL;
    }
  /* The same rule as tether_loop_manager_new(), which makes the manager. */
  if (id == NULL || id[0] == '\0')
    key = DEFAULT_ID;
  else if (!g_utf8_validate (id, -1, NULL))
    key = valid_id = g_utf8_make_valid (id, -1);
  else
    key = id;

  /* Only a valid lookup gives the thread a place in the lineage. */
  node = tether_lineage_get_current ();

  if (!(flags & TETHER_LOOKUP_FLAGS_FORCE_CREATE))
    found = tether_lineage_find (node, table_lookup, (gpointer) key);
  if (found != NULL)
    {
      if (check_found (kind, found, key, error))
        return found;
      g_object_unref (found);
      return NULL;
    }

  if (flags & TETHER_LOOKUP_FLAGS_STRICT)
    {
      g_autofree char *key_shown = tether_describe_name (key);
      /* Empty where the system cannot name threads Tether did not make. */
      g_autofree char *thread_shown =
        tether_describe_name (tether_lineage_get_thread_name (node)[0] != '\0'
                              ? tether_lineage_get_thread_name (node) : "(unnamed)");

      if (kind_is_pool (kind))
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_MANAGER_NOT_FOUND,
                     _("No pool with id '%s' is registered on thread '%s' or its ancestors; "
                       "create it with Pool.get_or_create() without STRICT, or adopt the "
                       "lineage of the thread that registered it"),
                     key_shown, thread_shown);
      else
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_MANAGER_NOT_FOUND,
                     _("No manager with id '%s' is registered on thread '%s' or its ancestors; "
                       "create it with LoopManager.get_or_create() without STRICT, or adopt the "
                       "lineage of the thread that registered it"),
                     key_shown, thread_shown);
      return NULL;
    }

  if (kind_is_pool (kind))
    created = G_OBJECT (tether_pool_new (key, kind->n_threads));
  else
    created = G_OBJECT (tether_loop_manager_new (key));

  /* Another thread adopted into this node may have registered one meanwhile:
   * without FORCE_CREATE, the first registration wins. FORCE_CREATE
   * replaces the node's entry whatever its kind, as it always creates. */
  table = table_for (node);
  g_mutex_lock (&table->mutex);
  found = (flags & TETHER_LOOKUP_FLAGS_FORCE_CREATE) ? NULL : g_hash_table_lookup (table->entries, key);
  if (found != NULL)
    g_object_ref (found);
  else
    {
      /* Steal the entry being replaced: dropping it may stop and join a
       * manager whose thread looks this node up, so never under its lock. */
      g_hash_table_steal_extended (table->entries, key, (gpointer *) &replaced_key, (gpointer *) &replaced);
      g_hash_table_insert (table->entries, g_strdup (key), g_object_ref (created));
    }
  g_mutex_unlock (&table->mutex);

  g_clear_object (&replaced);
  if (found != NULL)
    {
      g_object_unref (created);
      if (check_found (kind, found, key, error))
        return found;
      g_object_unref (found);
      return NULL;
    }
  return created;
}

/**
 * tether_loop_manager_get_or_create:
 * @id: (nullable): the domain's id; %NULL (or "") is the default namespace,
 *   "default"
 * @flags: how to resolve @id
 * @error: return location for an error
 *
 * Gets the manager for a domain, resolved through the calling thread's
 * lineage (see [struct@Tether.Lineage]): a worker thread finds the manager
 * its parent registered instead of failing for lack of a loop. Distinct ids
 * never share a manager.
 *
 * Ids follow the rule of [property@Tether.LoopManager:id]: an empty id means
 * no id (here the default namespace, as %NULL does), and bytes that are not
 * valid UTF-8 are replaced with U+FFFD before the lookup, so ids differing
 * only in such bytes name the same domain.
 *
 * A returned manager is not started for you. A manager this call created is
 * stopped, so [property@Tether.LoopManager:running] is %FALSE; one registered
 * earlier is usually running already. Start a fresh one with
 * [method@Tether.LoopManager.start]; %TETHER_ERROR_ALREADY_RUNNING from a
 * racing start by another thread is harmless. To get a manager that runs
 * with a given task type, whoever else races for it, call
 * [func@Tether.LoopManager.get_or_start] instead.
 *
 * The registry holds its own reference to the managers it creates, until the
 * thread they are registered on has exited and no descendant thread or
 * [struct@Tether.Lineage] token can still resolve through it.
 *
 * Thread: any thread.
 *
 * Ids name managers and pools alike (see [func@Tether.Pool.get_or_create]):
 * an id that resolves to a pool fails with %TETHER_ERROR_INVALID_ARGUMENT
 * instead of registering a manager beside it.
 *
 * Returns: (transfer full): the manager, or %NULL with
 *   %TETHER_ERROR_MANAGER_NOT_FOUND (with %TETHER_LOOKUP_FLAGS_STRICT) or
 *   %TETHER_ERROR_INVALID_ARGUMENT (FORCE_CREATE together with STRICT,
 *   flags outside #TetherLookupFlags, or @id registered as a pool)
 *
 * Since: 1.0
 */
TetherLoopManager *
tether_loop_manager_get_or_create (const char         *id,
                                   TetherLookupFlags   flags,
                                   GError            **error)
{
  const Kind kind = { TETHER_TYPE_LOOP_MANAGER, 0 };

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return registry_resolve (&kind, id, flags, error);
}

/**
 * tether_loop_manager_get_or_start:
 * @id: (nullable): the domain's id; %NULL (or "") is the default namespace,
 *   "default"
 * @flags: how to resolve @id, as for [func@Tether.LoopManager.get_or_create]
 * @task_type: (nullable): the only task type the manager should accept, or
 *   %NULL for any
 * @error: return location for an error
 *
 * Gets the manager for a domain and makes sure it runs with @task_type, in
 * one call: [func@Tether.LoopManager.get_or_create] followed by
 * [method@Tether.LoopManager.start] is a race when threads share the
 * manager (the loser's start fails with %TETHER_ERROR_ALREADY_RUNNING, and
 * nothing tells it whether the winner started it with the same task type).
 *
 * @id and @flags are resolved exactly as by
 * [func@Tether.LoopManager.get_or_create], through the calling thread's
 * lineage. Then:
 *
 * - a stopped (or never started) manager is started with @task_type;
 * - a running manager is returned if it runs with @task_type. Task types
 *   match only if they are equal: %NULL matches only a manager started with
 *   %NULL. An untyped request does not match a typed manager, which would
 *   refuse the caller's untyped submissions, and a typed request does not
 *   match an untyped manager, which would take other task types too. Any
 *   other running manager fails with %TETHER_ERROR_UNKNOWN_TASK_TYPE;
 * - a manager whose stop is in progress is handled as
 *   [method@Tether.LoopManager.start] handles it: from another thread this
 *   waits for the stop to finish (a wait that takes part in wait-cycle
 *   detection, failing with %TETHER_ERROR_WOULD_DEADLOCK where it would
 *   close a cycle), then starts the manager again with @task_type; on the
 *   stopping manager's own thread it fails with
 *   %TETHER_ERROR_ALREADY_RUNNING.
 *
 * Threads that resolve @id to the same manager may race on this call: the
 * check and the start are made under the manager's own lock, the one
 * [method@Tether.LoopManager.start] holds, so exactly one of them starts it
 * and all of them get the same running manager (unless some thread stops it
 * meanwhile). Resolution itself follows the registry's rules: threads that
 * share a place in the lineage (adopted with [method@Tether.Lineage.adopt]
 * from one token) or whose ancestor registered @id get one manager, while
 * sibling threads with places of their own each register their own, as with
 * [func@Tether.LoopManager.get_or_create].
 *
 * Thread: any thread but the manager's own while it is stopping (see above).
 *
 * Returns: (transfer full): the manager, running; or %NULL with the errors
 *   of [func@Tether.LoopManager.get_or_create], of
 *   [method@Tether.LoopManager.start] (never %TETHER_ERROR_ALREADY_RUNNING
 *   for a manager running with @task_type), or
 *   %TETHER_ERROR_UNKNOWN_TASK_TYPE if it runs with another task type
 *
 * Since: 1.0
 */
TetherLoopManager *
tether_loop_manager_get_or_start (const char         *id,
                                  TetherLookupFlags   flags,
                                  const char         *task_type,
                                  GError            **error)
{
  g_autoptr(TetherLoopManager) manager = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* No lock of its own: the registry makes racing lookups agree on one
   * manager, and the manager's core lock makes their starts agree on one
   * run. A lock held across both would serialise every domain's starts. */
  manager = tether_loop_manager_get_or_create (id, flags, error);
  if (manager == NULL)
    return NULL;
  if (!tether_loop_manager_ensure_started (manager, task_type, error))
    return NULL;
  return g_steal_pointer (&manager);
}

/**
 * tether_pool_get_or_create:
 * @id: (nullable): the domain's id; %NULL (or "") is the default namespace,
 *   "default"
 * @n_threads: the pool's size: 0 finds a registered pool whatever its size
 *   (and makes one thread per processor); any other value must match a
 *   registered pool's [property@Tether.Pool:n-threads]
 * @flags: how to resolve @id, as for [func@Tether.LoopManager.get_or_create]
 * @error: return location for an error
 *
 * Gets the pool for a domain, resolved through the calling thread's lineage
 * exactly as [func@Tether.LoopManager.get_or_create] resolves a manager:
 * a worker thread (made with [func@Tether.thread_new], or work running on a
 * manager or pool its parent started) finds the pool its parent
 * registered.
 *
 * Managers and pools share one namespace of ids, resolved with the same
 * lookup flags: the nearest registration of @id wins, and if it is a manager
 * this fails with %TETHER_ERROR_INVALID_ARGUMENT rather than register a
 * pool beside it (and [func@Tether.LoopManager.get_or_create] fails the
 * same way on a pool). %TETHER_LOOKUP_FLAGS_FORCE_CREATE replaces the
 * calling thread's entry, whatever it was.
 *
 * A registered pool whose size is not @n_threads fails with
 * %TETHER_ERROR_INVALID_ARGUMENT: asking for a size is asking for that
 * size, even where another thread registered the pool first. Pass 0 to take
 * the registered pool as it is.
 *
 * ```c
 * g_autoptr(GError) error = NULL;
 * g_autoptr(TetherPool) pool = tether_pool_get_or_create ("thumbnails", 0,
 *                                                         TETHER_LOOKUP_FLAGS_NONE,
 *                                                         &error);
 * ```
 *
 * A returned pool is not started for you: see
 * [func@Tether.Pool.get_or_start]. The registry holds its own reference to
 * the pools it creates, as to managers, until the thread they are
 * registered on has exited and nothing resolves through it. If that is the
 * last reference, it stops a running pool, draining, as a pool's last unref
 * does: unlike a manager's, that drain blocks the thread that lets go (most
 * often the registering thread, as it exits) until the queued work has run.
 * Stop a pool you registered yourself before its thread exits if that
 * matters.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the pool, or %NULL with
 *   %TETHER_ERROR_MANAGER_NOT_FOUND (with %TETHER_LOOKUP_FLAGS_STRICT) or
 *   %TETHER_ERROR_INVALID_ARGUMENT (FORCE_CREATE together with STRICT,
 *   flags outside #TetherLookupFlags, @id registered as a manager, or a pool
 *   of another size than a nonzero @n_threads)
 *
 * Since: 1.0
 */
TetherPool *
tether_pool_get_or_create (const char         *id,
                           guint               n_threads,
                           TetherLookupFlags   flags,
                           GError            **error)
{
  const Kind kind = { TETHER_TYPE_POOL, n_threads };

  g_return_val_if_fail (n_threads <= 1024, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return registry_resolve (&kind, id, flags, error);
}

/**
 * tether_pool_get_or_start:
 * @id: (nullable): the domain's id; %NULL (or "") is the default namespace,
 *   "default"
 * @n_threads: the pool's size, as for [func@Tether.Pool.get_or_create]
 * @flags: how to resolve @id, as for [func@Tether.LoopManager.get_or_create]
 * @task_type: (nullable): the only task type the pool should accept, or
 *   %NULL for any
 * @error: return location for an error
 *
 * Gets the pool for a domain and makes sure it runs with @task_type, in one
 * call, as [func@Tether.LoopManager.get_or_start] does for a manager:
 *
 * - a stopped (or never started) pool is started with @task_type;
 * - a running pool is returned if it runs with @task_type (task types match
 *   only if equal, %NULL only %NULL); otherwise this fails with
 *   %TETHER_ERROR_UNKNOWN_TASK_TYPE;
 * - while a stop of the pool is in progress, this waits for it to end, then
 *   starts the pool again; on one of the pool's own threads (which the stop
 *   waits for) it fails with %TETHER_ERROR_ALREADY_RUNNING instead. Unlike
 *   a manager's, this wait takes no part in wait-cycle detection: do not
 *   call this from a thread the pool's running work waits for.
 *
 * Any number of threads that resolve @id to the same pool may race on this
 * call: exactly one starts it and all get it, running (unless some thread
 * stops it meanwhile).
 *
 * ```c
 * g_autoptr(TetherPool) pool = tether_pool_get_or_start ("thumbnails", 0,
 *                                                        TETHER_LOOKUP_FLAGS_NONE,
 *                                                        NULL, &error);
 * if (pool == NULL)
 *   return FALSE;
 * future = tether_pool_submit (pool, NULL, scale_work, data, g_free, NULL, &error);
 * ```
 *
 * Thread: any thread but the pool's own while it is stopping (see above).
 *
 * Returns: (transfer full): the pool, running; or %NULL with the errors of
 *   [func@Tether.Pool.get_or_create], %TETHER_ERROR_UNKNOWN_TASK_TYPE if it
 *   runs with another task type, or %TETHER_ERROR_ALREADY_RUNNING (above)
 *
 * Since: 1.0
 */
TetherPool *
tether_pool_get_or_start (const char         *id,
                          guint               n_threads,
                          TetherLookupFlags   flags,
                          const char         *task_type,
                          GError            **error)
{
  g_autoptr(TetherPool) pool = NULL;

  g_return_val_if_fail (n_threads <= 1024, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  pool = tether_pool_get_or_create (id, n_threads, flags, error);
  if (pool == NULL)
    return NULL;
  if (!tether_pool_ensure_started (pool, task_type, error))
    return NULL;
  return g_steal_pointer (&pool);
}

/* Ids are valid UTF-8 from creation; task types and thread names are
 * whatever bytes the application gave, and a GVariant string must not be. */
static void
insert_utf8 (GVariantDict *dict,
             const char   *key,
             const char   *str)
{
  g_autofree char *valid = NULL;

  if (!g_utf8_validate (str, -1, NULL))
    str = valid = g_utf8_make_valid (str, -1);
  g_variant_dict_insert (dict, key, "s", str);
}

/**
 * tether_registry_snapshot:
 *
 * Describes every manager and pool the registry holds, for debugging. Each
 * element is a dictionary with `kind` (s, "manager" or "pool"), `id` (s),
 * `task-type` (s, empty if none), `running` (b), for a pool `n-threads`
 * (u), and `thread` (s, the name of the thread that registered it: the name
 * Tether gave it if [func@Tether.thread_new] or a manager made it, else the
 * system's name for it, empty where the system cannot tell),
 * `thread-address` (t, its GThread address, only for telling threads apart)
 * and `depth` (u, that thread's lineage depth). Every string is valid
 * UTF-8: bytes of a task type or thread name that are not are replaced with
 * U+FFFD.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a `aa{sv}` [struct@GLib.Variant]
 *
 * Since: 1.0
 */
GVariant *
tether_registry_snapshot (void)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) threads = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) places = g_array_new (FALSE, FALSE, sizeof (Place));
  GVariantBuilder builder;

  /* Copied under the locks, described after them: describing a manager
   * takes its core's lock, which comes before these. */
  g_mutex_lock (&tables_lock);
  for (GList *l = tables.head; l != NULL; l = l->next)
    {
      RegistryTable *table = l->data;
      GHashTableIter iter;
      gpointer value;

      g_mutex_lock (&table->mutex);
      g_hash_table_iter_init (&iter, table->entries);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          Place place = { table->thread, table->depth };

          g_ptr_array_add (entries, g_object_ref (value));
          g_ptr_array_add (threads, g_strdup (table->thread_name));
          g_array_append_val (places, place);
        }
      g_mutex_unlock (&table->mutex);
    }
  g_mutex_unlock (&tables_lock);

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < entries->len; i++)
    {
      GObject *entry = g_ptr_array_index (entries, i);
      Place *place = &g_array_index (places, Place, i);
      g_autofree char *task_type = NULL;
      GVariantDict dict;

      g_variant_dict_init (&dict, NULL);
      if (TETHER_IS_POOL (entry))
        {
          TetherPool *pool = TETHER_POOL (entry);

          task_type = tether_pool_dup_task_type (pool);
          g_variant_dict_insert (&dict, "kind", "s", "pool");
          g_variant_dict_insert (&dict, "id", "s", tether_pool_get_id (pool));
          g_variant_dict_insert (&dict, "running", "b", tether_pool_is_running (pool));
          g_variant_dict_insert (&dict, "n-threads", "u", tether_pool_get_n_threads (pool));
        }
      else if (TETHER_IS_LOOP_MANAGER (entry))
        {
          TetherLoopManager *manager = TETHER_LOOP_MANAGER (entry);

          task_type = tether_loop_manager_dup_task_type (manager);
          g_variant_dict_insert (&dict, "kind", "s", "manager");
          g_variant_dict_insert (&dict, "id", "s", tether_loop_manager_get_id (manager));
          g_variant_dict_insert (&dict, "running", "b", tether_loop_manager_is_running (manager));
        }
      else
        {
          /* Tests register other objects (tether_registry_insert_object()). */
          g_variant_dict_clear (&dict);
          continue;
        }
      insert_utf8 (&dict, "task-type", task_type ? task_type : "");
      insert_utf8 (&dict, "thread", g_ptr_array_index (threads, i));
      g_variant_dict_insert (&dict, "thread-address", "t", (guint64) GPOINTER_TO_SIZE (place->thread));
      g_variant_dict_insert (&dict, "depth", "u", place->depth);
      g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
    }

  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

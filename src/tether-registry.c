/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-debug-private.h"
#include "tether-error.h"
#include "tether-i18n-private.h"
#include "tether-lineage-private.h"
#include "tether-loop-manager-private.h"
#include "tether-registry.h"

#define DEFAULT_ID "default"

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
 * Returns: (transfer full): the manager, or %NULL with
 *   %TETHER_ERROR_MANAGER_NOT_FOUND (with %TETHER_LOOKUP_FLAGS_STRICT) or
 *   %TETHER_ERROR_INVALID_ARGUMENT (FORCE_CREATE together with STRICT, or
 *   flags outside #TetherLookupFlags)
 *
 * Since: 1.0
 */
TetherLoopManager *
tether_loop_manager_get_or_create (const char         *id,
                                   TetherLookupFlags   flags,
                                   GError            **error)
{
  const TetherLookupFlags known = TETHER_LOOKUP_FLAGS_FORCE_CREATE | TETHER_LOOKUP_FLAGS_STRICT;
  TetherLineage *node;
  g_autofree char *valid_id = NULL;
  const char *key;
  TetherLoopManager *found = NULL;
  TetherLoopManager *replaced = NULL;
  g_autofree char *replaced_key = NULL;
  TetherLoopManager *created;

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
    found = tether_lineage_lookup (node, key);
  if (found != NULL)
    return found;

  if (flags & TETHER_LOOKUP_FLAGS_STRICT)
    {
      g_autofree char *key_shown = tether_describe_name (key);
      /* Empty where the system cannot name threads Tether did not make. */
      g_autofree char *thread_shown =
        tether_describe_name (node->thread_name != NULL && node->thread_name[0] != '\0'
                              ? node->thread_name : "(unnamed)");

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_MANAGER_NOT_FOUND,
                   _("No manager with id '%s' is registered on thread '%s' or its ancestors; "
                     "create it with LoopManager.get_or_create() without STRICT, or adopt the "
                     "lineage of the thread that registered it"),
                   key_shown, thread_shown);
      return NULL;
    }

  created = tether_loop_manager_new (key);

  /* Another thread adopted into this node may have registered one meanwhile:
   * without FORCE_CREATE, the first registration wins. */
  g_mutex_lock (&node->mutex);
  if (node->entries == NULL)
    node->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  found = (flags & TETHER_LOOKUP_FLAGS_FORCE_CREATE) ? NULL : g_hash_table_lookup (node->entries, key);
  if (found != NULL)
    g_object_ref (found);
  else
    {
      /* Steal the entry being replaced: dropping it may stop and join a
       * manager whose thread looks this node up, so never under its lock. */
      g_hash_table_steal_extended (node->entries, key, (gpointer *) &replaced_key, (gpointer *) &replaced);
      g_hash_table_insert (node->entries, g_strdup (key), g_object_ref (created));
    }
  g_mutex_unlock (&node->mutex);

  g_clear_object (&replaced);
  if (found != NULL)
    {
      g_object_unref (created);
      return found;
    }
  return created;
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
 * Describes every manager the registry holds, for debugging. Each element
 * is a dictionary with `id` (s), `task-type` (s, empty if none), `running`
 * (b), `thread` (s, the name of the thread that registered it: the name
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
  g_autoptr(GPtrArray) nodes = tether_lineage_dup_all ();
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));

  for (guint i = 0; i < nodes->len; i++)
    {
      TetherLineage *node = g_ptr_array_index (nodes, i);
      g_autoptr(GPtrArray) managers = g_ptr_array_new_with_free_func (g_object_unref);
      GHashTableIter iter;
      gpointer value;

      g_mutex_lock (&node->mutex);
      if (node->entries != NULL)
        {
          g_hash_table_iter_init (&iter, node->entries);
          while (g_hash_table_iter_next (&iter, NULL, &value))
            g_ptr_array_add (managers, g_object_ref (value));
        }
      g_mutex_unlock (&node->mutex);

      for (guint j = 0; j < managers->len; j++)
        {
          TetherLoopManager *manager = g_ptr_array_index (managers, j);
          g_autofree char *task_type = tether_loop_manager_dup_task_type (manager);
          GVariantDict dict;

          g_variant_dict_init (&dict, NULL);
          g_variant_dict_insert (&dict, "id", "s", tether_loop_manager_get_id (manager));
          insert_utf8 (&dict, "task-type", task_type ? task_type : "");
          g_variant_dict_insert (&dict, "running", "b", tether_loop_manager_is_running (manager));
          insert_utf8 (&dict, "thread", node->thread_name);
          g_variant_dict_insert (&dict, "thread-address", "t", (guint64) GPOINTER_TO_SIZE (node->thread));
          g_variant_dict_insert (&dict, "depth", "u", node->depth);
          g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
        }
    }

  return g_variant_ref_sink (g_variant_builder_end (&builder));
}

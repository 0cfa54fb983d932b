/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pthread_getname_np() */
#define _GNU_SOURCE
#include "config.h"

#include <pthread.h>

#include "tether-error.h"
#include "tether-lineage-private.h"

/**
 * TetherLineage:
 *
 * A token for a thread's place in a lineage: the chain of threads that
 * [func@Tether.LoopManager.get_or_create] walks to find the manager an
 * ancestor registered.
 *
 * Threads made with [func@Tether.thread_new] join their parent's lineage by
 * themselves, and a manager's own thread is a child of the thread that
 * started it. Threads Tether did not create (a [struct@GLib.ThreadPool]
 * worker, GTask's pool, a Python `threading.Thread`, a raw pthread) join
 * explicitly: the parent calls [func@Tether.Lineage.capture], hands the token
 * over, and the child calls [method@Tether.Lineage.adopt] and later
 * [func@Tether.Lineage.leave].
 *
 * A token keeps the entries of the thread it was captured on alive, as does
 * any live descendant: a thread's registered managers are released when the
 * thread has exited and no descendant or token can resolve through them.
 * Lineage is tracked by refcounted nodes, never by thread ids, which the
 * system reuses.
 *
 * Since: 1.0
 */

typedef struct
{
  TetherLineage *root;     /* made on first use; never left */
  GSList        *adopted;  /* innermost first */
} Stack;

static GMutex all_lock;
static GQueue all_nodes;

static void stack_free (gpointer data);
static GPrivate stack_key = G_PRIVATE_INIT (stack_free);

G_DEFINE_BOXED_TYPE (TetherLineage, tether_lineage, tether_lineage_ref, tether_lineage_unref)

static TetherLineage *
node_ref (TetherLineage *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

static void
node_unref (TetherLineage *self)
{
  gboolean last;

  /* The last unref and the unlink are one step under the global lock, so
   * tether_lineage_dup_all() never refs a node that is being freed. */
  g_mutex_lock (&all_lock);
  last = g_atomic_ref_count_dec (&self->ref_count);
  if (last)
    g_queue_unlink (&all_nodes, &self->all_link);
  g_mutex_unlock (&all_lock);

  if (!last)
    return;

  g_assert (g_atomic_int_get (&self->holders) == 0);

  g_clear_pointer (&self->parent, node_unref);
  g_clear_pointer (&self->entries, g_hash_table_unref);
  g_mutex_clear (&self->mutex);
  g_free (self->thread_name);
  g_free (self);
}

TetherLineage *
tether_lineage_ref_memory (TetherLineage *self)
{
  return node_ref (self);
}

void
tether_lineage_unref_memory (TetherLineage *self)
{
  node_unref (self);
}

static char *
current_thread_name (void)
{
  char name[64] = "";

  pthread_getname_np (pthread_self (), name, sizeof name);
  return g_strdup (name);
}

/* Returns a node held once, by the caller. */
static TetherLineage *
node_new (TetherLineage *parent,
          gboolean       holds_parent)
{
  TetherLineage *self = g_new0 (TetherLineage, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->holders = 1;
  self->parent = parent != NULL ? node_ref (parent) : NULL;
  self->holds_parent = parent != NULL && holds_parent;
  if (self->holds_parent)
    tether_lineage_hold (parent);
  self->depth = parent != NULL ? parent->depth + 1 : 0;
  self->thread_name = current_thread_name ();
  self->thread = g_thread_self ();
  g_mutex_init (&self->mutex);
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->all_link.data = self;

  g_mutex_lock (&all_lock);
  g_queue_push_tail_link (&all_nodes, &self->all_link);
  g_mutex_unlock (&all_lock);

  return self;
}

TetherLineage *
tether_lineage_hold (TetherLineage *self)
{
  g_assert (g_atomic_int_get (&self->holders) > 0);

  g_atomic_int_inc (&self->holders);
  return node_ref (self);
}

void
tether_lineage_release (TetherLineage *self)
{
  if (g_atomic_int_dec_and_test (&self->holders))
    {
      g_autoptr(GHashTable) entries = NULL;

      g_mutex_lock (&self->mutex);
      entries = g_steal_pointer (&self->entries);
      self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
      g_mutex_unlock (&self->mutex);

      /* Dropping managers stops and joins them: never under a lock. */
      g_clear_pointer (&entries, g_hash_table_unref);

      if (self->holds_parent)
        tether_lineage_release (self->parent);
    }
  node_unref (self);
}

static void
stack_free (gpointer data)
{
  Stack *stack = data;

  while (stack->adopted != NULL)
    {
      tether_lineage_release (stack->adopted->data);
      stack->adopted = g_slist_delete_link (stack->adopted, stack->adopted);
    }
  g_clear_pointer (&stack->root, tether_lineage_release);
  g_free (stack);
}

static Stack *
get_stack (void)
{
  Stack *stack = g_private_get (&stack_key);

  if (stack == NULL)
    {
      stack = g_new0 (Stack, 1);
      g_private_set (&stack_key, stack);
    }
  return stack;
}

/* Borrowed: valid while the calling thread runs. */
TetherLineage *
tether_lineage_get_current (void)
{
  Stack *stack = get_stack ();

  if (stack->adopted != NULL)
    return stack->adopted->data;
  if (stack->root == NULL)
    stack->root = node_new (NULL, FALSE);
  return stack->root;
}

/* A manager's thread resolves through the thread that started it, but does
 * not keep that thread's entries (which hold the manager) alive: that would
 * be a cycle. */
void
tether_lineage_enter_manager_thread (TetherLineage *starter)
{
  Stack *stack = get_stack ();

  g_assert (stack->root == NULL);
  stack->root = node_new (starter, FALSE);
}

void
tether_lineage_exit_manager_thread (void)
{
  Stack *stack = g_private_get (&stack_key);

  /* g_private_set(), unlike _replace(), does not run the destroy notify. */
  g_private_set (&stack_key, NULL);
  if (stack != NULL)
    stack_free (stack);
}

GPtrArray *
tether_lineage_dup_all (void)
{
  GPtrArray *ret = g_ptr_array_new_with_free_func ((GDestroyNotify) node_unref);

  g_mutex_lock (&all_lock);
  for (GList *l = all_nodes.head; l != NULL; l = l->next)
    g_ptr_array_add (ret, node_ref (l->data));
  g_mutex_unlock (&all_lock);

  return ret;
}

/**
 * tether_lineage_capture:
 *
 * Captures the calling thread's place in its lineage, to hand to a thread
 * that Tether did not create. The token keeps this thread's registered
 * managers alive until it is released.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a token for [method@Tether.Lineage.adopt]
 *
 * Since: 1.0
 */
TetherLineage *
tether_lineage_capture (void)
{
  return tether_lineage_hold (tether_lineage_get_current ());
}

/**
 * tether_lineage_ref:
 * @self: a token
 *
 * Takes another reference to a token.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): @self
 *
 * Since: 1.0
 */
TetherLineage *
tether_lineage_ref (TetherLineage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return tether_lineage_hold (self);
}

/**
 * tether_lineage_unref:
 * @self: (transfer full): a token
 *
 * Releases a token.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_lineage_unref (TetherLineage *self)
{
  g_return_if_fail (self != NULL);

  tether_lineage_release (self);
}

/**
 * tether_lineage_get_depth:
 * @self: a token
 *
 * Gets how many ancestors the token's thread has: 0 for a thread that
 * joined no lineage.
 *
 * Thread: any thread.
 *
 * Returns: the depth
 *
 * Since: 1.0
 */
guint
tether_lineage_get_depth (TetherLineage *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->depth;
}

/**
 * tether_lineage_adopt:
 * @lineage: a token from [func@Tether.Lineage.capture]
 *
 * Makes the calling thread act on behalf of @lineage's thread until
 * [func@Tether.Lineage.leave]: lookups resolve from that thread's place in
 * the lineage, and managers created here are registered on that thread, so
 * concurrent jobs adopted from one submitter share one manager per id
 * instead of creating one per worker. (A thread made with
 * [func@Tether.thread_new] is different: it gets a place of its own, one
 * level below its parent.) Adoptions nest. A pool worker adopts at the start
 * of each job and leaves at its end; see the README for the
 * [struct@GLib.ThreadPool] recipe.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_lineage_adopt (TetherLineage *lineage)
{
  Stack *stack;

  g_return_if_fail (lineage != NULL);

  stack = get_stack ();
  stack->adopted = g_slist_prepend (stack->adopted, tether_lineage_hold (lineage));
}

/**
 * tether_lineage_leave:
 *
 * Undoes the innermost [method@Tether.Lineage.adopt] of the calling thread.
 *
 * Thread: a thread that adopted a lineage.
 *
 * Since: 1.0
 */
void
tether_lineage_leave (void)
{
  Stack *stack = g_private_get (&stack_key);
  TetherLineage *node;

  g_return_if_fail (stack != NULL && stack->adopted != NULL);

  node = stack->adopted->data;
  stack->adopted = g_slist_delete_link (stack->adopted, stack->adopted);
  tether_lineage_release (node);
}

/**
 * tether_lineage_attach:
 * @parent: a token from [func@Tether.Lineage.capture], taken on the thread
 *   that should become the parent
 * @error: return location for an error
 *
 * Gives the calling thread a place of its own in the lineage, one level
 * below @parent, for the rest of its life: what [func@Tether.thread_new]
 * does for the threads it makes, for a thread Tether did not create (a
 * Python `threading.Thread`, a pthread). Unlike [method@Tether.Lineage.adopt],
 * managers this thread registers (or force-creates) are its own and are seen
 * only by it and its descendants, not by its parent or siblings.
 *
 * Call it first thing in the thread. A thread already has a place once it
 * has looked up, registered, captured or attached; attaching then fails
 * with %TETHER_ERROR_INVALID_ARGUMENT.
 *
 * Thread: any thread Tether did not create, before it uses the registry.
 *
 * Returns: %TRUE if the thread is now a child of @parent
 *
 * Since: 1.0
 */
gboolean
tether_lineage_attach (TetherLineage  *parent,
                       GError        **error)
{
  Stack *stack;

  g_return_val_if_fail (parent != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  stack = get_stack ();
  if (stack->root != NULL || stack->adopted != NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   "Thread '%s' already has a place in the lineage; call "
                   "tether_lineage_attach() before the thread uses the registry, or use "
                   "tether_lineage_adopt() to act on behalf of another thread for a while",
                   stack->root != NULL ? stack->root->thread_name : "(adopted)");
      return FALSE;
    }

  stack->root = node_new (parent, TRUE);
  return TRUE;
}

typedef struct
{
  GThreadFunc    func;
  gpointer       data;
  TetherLineage *parent;
} Spawn;

static gpointer
spawn_func (gpointer data)
{
  Spawn *spawn = data;
  gpointer ret;

  /* A place of its own, one level below the parent. */
  if (!tether_lineage_attach (spawn->parent, NULL))
    g_assert_not_reached ();
  tether_lineage_release (spawn->parent);
  ret = spawn->func (spawn->data);
  g_free (spawn);
  /* The node is released when the thread exits, like its root. */
  return ret;
}

/**
 * tether_thread_try_new:
 * @name: (nullable): the thread's name
 * @func: (scope async): the thread's function
 * @data: data for @func
 * @error: return location for an error
 *
 * Like g_thread_try_new(), and the new thread is a child of the calling
 * thread in the lineage: [func@Tether.LoopManager.get_or_create] in it
 * finds the managers this thread and its ancestors registered.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the new [struct@GLib.Thread], or %NULL with @error set
 *
 * Since: 1.0
 */
GThread *
tether_thread_try_new (const char   *name,
                       GThreadFunc   func,
                       gpointer      data,
                       GError      **error)
{
  Spawn *spawn;
  GThread *thread;

  g_return_val_if_fail (func != NULL, NULL);

  spawn = g_new0 (Spawn, 1);
  spawn->func = func;
  spawn->data = data;
  spawn->parent = tether_lineage_capture ();

  thread = g_thread_try_new (name, spawn_func, spawn, error);
  if (thread == NULL)
    {
      tether_lineage_release (spawn->parent);
      g_free (spawn);
    }
  return thread;
}

/**
 * tether_thread_new:
 * @name: (nullable): the thread's name
 * @func: (scope async): the thread's function
 * @data: data for @func
 *
 * Like g_thread_new(), and the new thread is a child of the calling thread
 * in the lineage. Aborts if no thread can be made, as g_thread_new() does.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the new [struct@GLib.Thread]
 *
 * Since: 1.0
 */
GThread *
tether_thread_new (const char  *name,
                   GThreadFunc  func,
                   gpointer     data)
{
  g_autoptr(GError) error = NULL;
  GThread *thread;

  g_return_val_if_fail (func != NULL, NULL);

  thread = tether_thread_try_new (name, func, data, &error);
  if (thread == NULL)
    g_error ("tether_thread_new: %s", error->message);
  return thread;
}

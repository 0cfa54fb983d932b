/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pthread_getname_np(), where the build found it (HAVE_PTHREAD_GETNAME_NP) */
#define _GNU_SOURCE
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "tether-error.h"
#include "tether-i18n-private.h"
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
 * A thread that has exited, holds no token and registered nothing is only
 * a link: its descendants resolve straight through to its nearest ancestor
 * that did register something, and it costs no memory. A worker that
 * respawns itself through [func@Tether.thread_new] any number of times
 * costs memory and lookup time in proportion to the live generations and
 * the generations that registered managers, not to the depth.
 *
 * Since: 1.0
 */

/* A node's `owners` are what may still register things on it: the thread
 * itself while it runs, tokens and adoptions. Its `holders` are the owners
 * plus the children that keep its data alive; when they reach zero the node
 * is dead and its data is handed back. `ref_count` only keeps the memory.
 *
 * A node with no owner and no entry is a mere link: its children are
 * re-pointed at its parent (taking over its hold there) and it dies, so a
 * chain of threads that each spawn the next and exit costs memory and
 * lookup time for the live and the registering generations only. No user
 * code runs under the lineage lock: data is released after it. */
struct _TetherLineage
{
  gatomicrefcount  ref_count; /* the last unref happens under the write lock */
  guint            owners;    /* lineage lock */
  guint            holders;   /* lineage lock: owners + children that hold this */
  TetherLineage   *parent;    /* lineage lock; strong memory ref */
  gboolean         holds_parent; /* lineage lock */
  guint            depth;     /* as created, counting bypassed ancestors */
  char            *thread_name;
  gpointer         thread;    /* identity only, for snapshots */
  gpointer         data;      /* atomic: attached by the registry, see data_funcs */
  GList            all_link;  /* global list, lineage lock */
  GList            child_link; /* in parent->children, lineage lock */
  GQueue           children;  /* lineage lock: the nodes whose parent this is */
};

typedef struct
{
  TetherLineage *root;     /* made on first use; never left */
  GSList        *adopted;  /* innermost first */
} Stack;

/* The structure of the lineage: every node's counts, parent and children,
 * and the list of all nodes. Lookups walk under the read lock; everything
 * that changes a count or a link takes the write lock. */
static GRWLock lineage_lock;
static GQueue all_nodes;

/* Set once by the owner of attached data (the registry) before it attaches
 * any. */
static const TetherLineageDataFuncs *data_funcs;

static void stack_free (gpointer data);
static GPrivate stack_key = G_PRIVATE_INIT (stack_free);

G_DEFINE_BOXED_TYPE (TetherLineage, tether_lineage, tether_lineage_ref, tether_lineage_unref)

static TetherLineage *
node_ref (TetherLineage *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/* Under the write lock, so that tether_lineage_dup_all() never refs a node
 * being freed. Iterative: freeing a node drops its parent's memory, and a
 * lineage can be any depth. */
static void
node_unref_locked (TetherLineage *self)
{
  while (self != NULL && g_atomic_ref_count_dec (&self->ref_count))
    {
      TetherLineage *parent = self->parent;

      g_assert (self->holders == 0 && self->data == NULL && self->children.length == 0);

      g_queue_unlink (&all_nodes, &self->all_link);
      if (parent != NULL)
        g_queue_unlink (&parent->children, &self->child_link);
      g_free (self->thread_name);
      g_free (self);
      self = parent;
    }
}

/* The data of dead nodes, released once the lock is released: releasing
 * the registry's entries drops managers, which stops and joins them, and
 * their threads leave the lineage too. */
static void
drop_garbage (GSList *garbage)
{
  for (GSList *l = garbage; l != NULL; l = l->next)
    data_funcs->release (l->data);
  g_slist_free (garbage);
}

static void
node_unref (TetherLineage *self)
{
  g_rw_lock_writer_lock (&lineage_lock);
  node_unref_locked (self);
  g_rw_lock_writer_unlock (&lineage_lock);
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

/* The name a thread Tether made was given: its manager's, or the one passed
 * to tether_thread_new(). */
static GPrivate given_name_key = G_PRIVATE_INIT (g_free);

/* Called first thing on a thread Tether made, with the name it asked GLib to
 * give it (%NULL for none). */
void
tether_lineage_name_current_thread (const char *name)
{
  g_private_replace (&given_name_key, g_strdup (name));
}

/* The thread's name, for messages and snapshots only: the name Tether gave
 * it if it made the thread (in full, where Linux would have refused a name
 * over 15 bytes), else the system's name for it where the C library can
 * tell (glibc, musl, the BSDs and macOS have pthread_getname_np()), else an
 * empty one. */
static char *
current_thread_name (void)
{
  const char *given = g_private_get (&given_name_key);
  char name[64] = "";

  if (given != NULL)
    return g_strdup (given);
#ifdef HAVE_PTHREAD_GETNAME_NP
  pthread_getname_np (pthread_self (), name, sizeof name);
#endif
  return g_strdup (name);
}

/* Under the write lock. */
static gboolean
node_has_entries (TetherLineage *self)
{
  gpointer data = g_atomic_pointer_get (&self->data);

  return data != NULL && data_funcs->has_entries (data);
}

/* Under the write lock: re-points every child of @self at its parent. A
 * child that held @self now holds the parent instead, if @self held it
 * (else it holds nothing: @self kept nothing above it alive either). The
 * caller holds a reference of its own to @self. */
static void
node_bypass_locked (TetherLineage *self)
{
  TetherLineage *parent = self->parent;
  GList *link;

  while ((link = self->children.head) != NULL)
    {
      TetherLineage *child = link->data;

      g_queue_unlink (&self->children, link);
      if (child->holds_parent)
        {
          self->holders--;
          child->holds_parent = parent != NULL && self->holds_parent;
          if (child->holds_parent)
            parent->holders++;
        }
      child->parent = parent != NULL ? node_ref (parent) : NULL;
      if (parent != NULL)
        g_queue_push_tail_link (&parent->children, &child->child_link);
      if (g_atomic_ref_count_dec (&self->ref_count))
        g_assert_not_reached ();
    }
}

/* Under the write lock: drops one hold on @self (an owner's, if @owner),
 * and what that hold kept alive, iteratively. Tables of released entries
 * are added to @garbage. */
static void
node_drop_hold_locked (TetherLineage  *self,
                       gboolean        owner,
                       GSList        **garbage)
{
  /* A reference of our own to the node at hand: bypassing drops those of
   * its children, and in a cascade nothing else may keep it. */
  node_ref (self);
  while (self != NULL)
    {
      TetherLineage *next = NULL;

      g_assert (self->holders > 0 && (!owner || self->owners > 0));
      if (owner)
        self->owners--;
      self->holders--;

      /* Nothing can be registered here any more: with nothing registered,
       * the node is only a link, and its children skip it. That drops the
       * holds they had on it. */
      if (self->owners == 0 && self->holders > 0 && !node_has_entries (self))
        node_bypass_locked (self);

      if (self->holders == 0)
        {
          /* Nobody can attach data to a dead node: only its owners do. */
          gpointer data = g_atomic_pointer_exchange (&self->data, NULL);

          if (data != NULL)
            {
              data_funcs->detach (data);
              *garbage = g_slist_prepend (*garbage, data);
            }

          /* Children that only keep the memory (managers' threads) skip a
           * dead node too. */
          node_bypass_locked (self);
          if (self->holds_parent)
            {
              self->holds_parent = FALSE;
              next = node_ref (self->parent);
            }
        }

      node_unref_locked (self);
      self = next;
      owner = FALSE;
    }
}

/* Returns a node owned once, by the caller. */
static TetherLineage *
node_new (TetherLineage *parent,
          gboolean       holds_parent)
{
  TetherLineage *self = g_new0 (TetherLineage, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->owners = 1;
  self->holders = 1;
  self->depth = parent != NULL ? parent->depth + 1 : 0;
  self->thread_name = current_thread_name ();
  self->thread = g_thread_self ();
  self->all_link.data = self;
  self->child_link.data = self;

  g_rw_lock_writer_lock (&lineage_lock);
  /* Only a manager's thread starts below a node that may be dead (its
   * starter's): a dead node is only a link, so start below its nearest
   * live ancestor instead. */
  while (parent != NULL && parent->holders == 0)
    {
      g_assert (!holds_parent);
      parent = parent->parent;
    }
  if (parent != NULL)
    {
      self->parent = node_ref (parent);
      g_queue_push_tail_link (&parent->children, &self->child_link);
      self->holds_parent = holds_parent;
      if (holds_parent)
        parent->holders++;
    }
  g_queue_push_tail_link (&all_nodes, &self->all_link);
  g_rw_lock_writer_unlock (&lineage_lock);

  return self;
}

/* Another owner: a token or an adoption. */
TetherLineage *
tether_lineage_hold (TetherLineage *self)
{
  g_rw_lock_writer_lock (&lineage_lock);
  g_assert (self->owners > 0);
  self->owners++;
  self->holders++;
  node_ref (self);
  g_rw_lock_writer_unlock (&lineage_lock);

  return self;
}

void
tether_lineage_release (TetherLineage *self)
{
  GSList *garbage = NULL;

  g_rw_lock_writer_lock (&lineage_lock);
  node_drop_hold_locked (self, TRUE, &garbage);
  node_unref_locked (self);
  g_rw_lock_writer_unlock (&lineage_lock);

  drop_garbage (garbage);
}

/* A new node one level below @parent, holding it, owned once by the
 * caller: what tether_lineage_attach() gives a thread. */
TetherLineage *
tether_lineage_new_child (TetherLineage *parent)
{
  return node_new (parent, TRUE);
}

/* Once, by the owner of attached data, before it attaches any. */
void
tether_lineage_set_data_funcs (const TetherLineageDataFuncs *funcs)
{
  g_atomic_pointer_set (&data_funcs, funcs);
}

/* A thread that owns @self (its own place, or one it adopted), so that the
 * node cannot die meanwhile: attaches @data unless some is attached
 * already (another thread adopted into the same node got there first). */
gboolean
tether_lineage_attach_data (TetherLineage *self,
                            gpointer       data)
{
  g_assert (data_funcs != NULL);
  return g_atomic_pointer_compare_and_exchange (&self->data, NULL, data);
}

/* The same threads: the data attached to @self, or %NULL. */
gpointer
tether_lineage_get_data (TetherLineage *self)
{
  return g_atomic_pointer_get (&self->data);
}

/* Any thread whose place @self is (or that owns a token of it): calls
 * @func on the data of @self and then of each ancestor that has some,
 * nearest first, under the read lock (so no node on the way dies), until
 * it returns non-%NULL, which this returns. */
gpointer
tether_lineage_find (TetherLineage         *self,
                     TetherLineageFindFunc  func,
                     gpointer               user_data)
{
  gpointer ret = NULL;

  g_rw_lock_reader_lock (&lineage_lock);
  for (TetherLineage *n = self; n != NULL && ret == NULL; n = n->parent)
    {
      gpointer data = g_atomic_pointer_get (&n->data);

      if (data != NULL)
        ret = func (data, user_data);
    }
  g_rw_lock_reader_unlock (&lineage_lock);

  return ret;
}

/* The thread's name and identity as the node was made, for messages and
 * snapshots. */
const char *
tether_lineage_get_thread_name (TetherLineage *self)
{
  return self->thread_name;
}

gpointer
tether_lineage_get_thread (TetherLineage *self)
{
  return self->thread;
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

  g_rw_lock_reader_lock (&lineage_lock);
  for (GList *l = all_nodes.head; l != NULL; l = l->next)
    g_ptr_array_add (ret, node_ref (l->data));
  g_rw_lock_reader_unlock (&lineage_lock);

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
 * joined no lineage. Ancestors that have exited count, whether or not
 * lookups still pass through them.
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
      const char *name = stack->root != NULL ? stack->root->thread_name : "(adopted)";

      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   _("Thread '%s' already has a place in the lineage; call Lineage.attach() "
                     "before the thread uses the registry, or use Lineage.adopt()"),
                   name != NULL && *name != '\0' ? name : "(unnamed)");
      return FALSE;
    }

  stack->root = tether_lineage_new_child (parent);
  return TRUE;
}

typedef struct
{
  GThreadFunc    func;
  gpointer       data;
  TetherLineage *parent;
  char          *name;
} Spawn;

static gpointer
spawn_func (gpointer data)
{
  Spawn *spawn = data;
  gpointer ret;

  tether_lineage_name_current_thread (spawn->name);
  g_clear_pointer (&spawn->name, g_free);
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
  spawn->name = g_strdup (name);

  thread = g_thread_try_new (name, spawn_func, spawn, error);
  if (thread == NULL)
    {
      tether_lineage_release (spawn->parent);
      g_free (spawn->name);
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

/* fork(): the prepare handler takes the lineage lock, so that no other
 * thread is half-way through changing the lineage when the process is
 * copied (the registry's locks come after it). */
void
tether_lineage_lock_all (void)
{
  g_rw_lock_writer_lock (&lineage_lock);
  if (data_funcs != NULL)
    data_funcs->lock_all ();
}

void
tether_lineage_unlock_all (gboolean in_child)
{
  if (data_funcs != NULL)
    data_funcs->unlock_all ();

  /* A POSIX reader-writer lock may remember its writer by thread id, which
   * the child's thread does not share with the parent's: the child starts
   * from a fresh lock instead, as a static GRWLock starts zeroed. */
  if (in_child)
    memset (&lineage_lock, 0, sizeof lineage_lock);
  else
    g_rw_lock_writer_unlock (&lineage_lock);
}

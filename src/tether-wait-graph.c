/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-wait-graph-private.h"

/* Blocking waits made on manager threads form a graph in which each
 * manager's thread waits on at most one other manager: for the work of a
 * future (tether_future_wait()), for its thread to stop (a stop, or a start
 * that waits for a stop) or for room in its queue. A wait that would close
 * a cycle is refused, and the message names the managers on it. The lock
 * is a leaf: nothing else is taken while it is held. */
static GMutex lock;

void
tether_wait_node_init (TetherWaitNode *node,
                       const char     *label,
                       const guint    *running)
{
  *node = (TetherWaitNode) { .label = label, .running = running };
}

/* Once nothing can wait on @node any more. */
void
tether_wait_node_clear (TetherWaitNode *node)
{
  g_clear_pointer (&node->async_waits, g_ptr_array_unref);
}

typedef struct
{
  TetherWaitNode *node;
  gboolean        whole_stop; /* reached as a stop target: its whole drain matters */
  int             from;       /* index of the hop it was reached from */
} Hop;

static void
hop_add (GArray         *hops,
         TetherWaitNode *node,
         gboolean        whole_stop,
         int             from)
{
  Hop hop = { node, whole_stop, from };

  for (guint i = 0; i < hops->len; i++)
    {
      Hop *seen = &g_array_index (hops, Hop, i);

      if (seen->node == node && (seen->whole_stop || !whole_stop))
        return;
    }
  g_array_append_val (hops, hop);
}

/* With the lock held: whether a wait of @self on @target would close a
 * cycle, and which managers it would go through. A wait on a future needs
 * the target's thread free: its blocking wait counts. A stop needs the
 * target's whole drain: its deferred work may also wait for the futures
 * its thread awaits with wait_async(). */
static char *
find_cycle_locked (TetherWaitNode *self,
                   TetherWaitNode *target,
                   gboolean        stop)
{
  g_autoptr(GArray) hops = g_array_new (FALSE, FALSE, sizeof (Hop));
  g_autoptr(GPtrArray) path = NULL;
  GString *cycle;
  int found = -1;

  hop_add (hops, target, stop, -1);
  for (guint i = 0; i < hops->len && found < 0; i++)
    {
      Hop hop = g_array_index (hops, Hop, i);

      if (hop.node == self)
        {
          found = i;
          break;
        }
      /* Once a drain matters, so does every drain and deferred work it
       * waits for. */
      if (hop.node->waiting_on != NULL)
        hop_add (hops, hop.node->waiting_on, hop.whole_stop || hop.node->waiting_on_stop, i);
      /* Only deferred work, started and not ended, can be waiting for them. */
      if (!hop.whole_stop || g_atomic_int_get (hop.node->running) == 0)
        continue;
      for (guint j = 0; hop.node->async_waits != NULL && j < hop.node->async_waits->len; j++)
        hop_add (hops, g_ptr_array_index (hop.node->async_waits, j), TRUE, i);
    }
  if (found < 0)
    return NULL;

  path = g_ptr_array_new ();
  for (int i = found; i >= 0; i = g_array_index (hops, Hop, i).from)
    g_ptr_array_add (path, g_array_index (hops, Hop, i).node);
  cycle = g_string_new (NULL);
  g_string_append_printf (cycle, "'%s'", self->label);
  for (guint i = path->len; i > 0; i--)
    g_string_append_printf (cycle, " -> '%s'",
                            ((TetherWaitNode *) g_ptr_array_index (path, i - 1))->label);
  return g_string_free (cycle, FALSE);
}

/* Registers @self's thread as blocked on @target (its work; its stop if
 * @stop; room in its queue if @room), sleeping on @event if not %NULL, so
 * that tether_wait_graph_interrupt() can wake it. Returns %NULL, or,
 * registering nothing, the managers on the cycle the wait would close. */
char *
tether_wait_graph_begin (TetherWaitNode *self,
                         TetherWaitNode *target,
                         gboolean        stop,
                         gboolean        room,
                         TetherEvent    *event)
{
  char *found;

  g_mutex_lock (&lock);
  /* No target (a future no manager completes): nothing to search. */
  found = target != NULL ? find_cycle_locked (self, target, stop) : NULL;
  if (found == NULL)
    {
      self->waiting_on = target;
      self->waiting_on_stop = stop;
      self->waiting_for_room = room;
      self->wait_event = event;
    }
  g_mutex_unlock (&lock);

  return found;
}

void
tether_wait_graph_end (TetherWaitNode *self)
{
  g_mutex_lock (&lock);
  self->waiting_on = NULL;
  self->waiting_on_stop = FALSE;
  self->waiting_for_room = FALSE;
  self->wait_event = NULL;
  g_mutex_unlock (&lock);
}

/* Records a wait_async() made on @self's thread for work of @target: not a
 * blocking wait, but @self's deferred work may wait for it before it
 * returns, so a stop of @self depends on it. Returns %NULL, or, recording
 * nothing, the cycle if @target's thread is blocked, directly or through
 * other managers, waiting for @self's thread to exit: @target's work cannot
 * run before that thread has left its loop. */
char *
tether_wait_graph_begin_async (TetherWaitNode *self,
                               TetherWaitNode *target)
{
  GString *found = NULL;

  g_mutex_lock (&lock);
  for (TetherWaitNode *n = target; n != NULL && n != self; n = n->waiting_on)
    if (n->waiting_on == self && n->waiting_on_stop)
      {
        found = g_string_new (NULL);
        g_string_append_printf (found, "'%s'", self->label);
        for (TetherWaitNode *d = target; d != self; d = d->waiting_on)
          g_string_append_printf (found, " -> '%s'", d->label);
        g_string_append_printf (found, " -> '%s'", self->label);
        break;
      }
  if (found == NULL)
    {
      if (self->async_waits == NULL)
        self->async_waits = g_ptr_array_new ();
      g_ptr_array_add (self->async_waits, target);
    }
  g_mutex_unlock (&lock);

  return found != NULL ? g_string_free (found, FALSE) : NULL;
}

void
tether_wait_graph_end_async (TetherWaitNode *self,
                             TetherWaitNode *target)
{
  g_mutex_lock (&lock);
  g_ptr_array_remove_fast (self->async_waits, target);
  g_mutex_unlock (&lock);
}

/* For tests: whether @waiter's thread is blocked on @target, or has a
 * wait_async() on its work pending. */
gboolean
tether_wait_graph_is_waiting_on (TetherWaitNode *waiter,
                                 TetherWaitNode *target)
{
  gboolean ret;

  g_mutex_lock (&lock);
  ret = waiter->waiting_on == target ||
        (waiter->async_waits != NULL && g_ptr_array_find (waiter->async_waits, target, NULL));
  g_mutex_unlock (&lock);

  return ret;
}

/* Wakes @self's thread if it sleeps in a future's wait. If it waits for
 * room in another manager's queue instead, returns what @ref_room gives for
 * that manager's node, called under the lock (the waiter unregisters under
 * it, so the node is alive there): the caller wakes the room waiters. */
gpointer
tether_wait_graph_interrupt (TetherWaitNode  *self,
                             gpointer       (*ref_room) (TetherWaitNode *node))
{
  gpointer room = NULL;

  g_mutex_lock (&lock);
  if (self->wait_event != NULL)
    tether_event_nudge (self->wait_event);
  else if (self->waiting_for_room)
    room = ref_room (self->waiting_on);
  g_mutex_unlock (&lock);

  return room;
}

/* fork(): a leaf lock (see tether-fork.c). */
void
tether_wait_graph_lock (void)
{
  g_mutex_lock (&lock);
}

void
tether_wait_graph_unlock (void)
{
  g_mutex_unlock (&lock);
}

/* fork(), in the child, with the lock held: the parent's threads, and
 * their waits, do not exist here. */
void
tether_wait_node_reset_in_child (TetherWaitNode *node)
{
  node->waiting_on = NULL;
  node->waiting_on_stop = FALSE;
  node->waiting_for_room = FALSE;
  node->wait_event = NULL;
  if (node->async_waits != NULL)
    g_ptr_array_set_size (node->async_waits, 0);
}

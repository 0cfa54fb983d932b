/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-event-private.h"
#include "tether-queue-source-private.h"

#define BATCH_SIZE TETHER_QUEUE_SOURCE_BATCH

#define AWAKE TETHER_QUEUE_SOURCE_AWAKE
#define SLEEPING TETHER_QUEUE_SOURCE_SLEEPING
#define SPINNING TETHER_QUEUE_SOURCE_SPINNING
#define GONE TETHER_QUEUE_SOURCE_GONE

typedef struct
{
  GSource            parent;
  TetherQueueSource *self;
} QueueGSource;

/* The items of one priority other than the default, oldest first, linked
 * through their nodes. */
typedef struct
{
  int         priority;
  guint       length;
  TetherNode *head;
  TetherNode *tail;
} RankedLevel;

/* Levels left empty are kept for reuse, up to this many. */
#define MAX_EMPTY_LEVELS 8

/* The source of the manager whose thread this is, for spinning_poll(),
 * which GLib calls without user data. */
static GPrivate current_source;

void
tether_queue_source_init (TetherQueueSource     *self,
                          TetherQueueSourceFunc  dispatch,
                          gpointer               data,
                          gsize                 *wakeups)
{
  tether_queue_init (&self->queue);
  self->sleeping = GONE;
  self->dispatch = dispatch;
  self->data = data;
  self->wakeups = wakeups;
  self->fair_turn = G_MININT;
  g_mutex_init (&self->ranked_lock);
  self->levels = g_array_new (FALSE, FALSE, sizeof (RankedLevel));
}

/* The last owner, with nothing queued. */
void
tether_queue_source_clear (TetherQueueSource *self)
{
  g_assert (self->n_ranked == 0);
  g_array_unref (self->levels);
  g_mutex_clear (&self->ranked_lock);
}

/* Whether the manager's thread has anything to look at. */
static inline gboolean
has_work (TetherQueueSource *self)
{
  return g_atomic_int_get (&self->poke) ||
         tether_queue_maybe_nonempty (&self->queue) ||
         g_atomic_int_get (&self->n_ranked) != 0;
}

/* Wakers run on any thread without a lock, so each counts itself in
 * `wakers` before it looks at `sleeping`; the exiting thread sets `sleeping`
 * to GONE and then waits for the count to drain (see close()). Either a
 * waker sees GONE and leaves the context alone, or the thread sees the
 * waker and waits for it (both sides are sequentially consistent). Called
 * by a submitter that saw `sleeping` SLEEPING after its push. */
void
tether_queue_source_wake_sleeper (TetherQueueSource *self)
{
  g_atomic_int_inc (&self->wakers);
  if (g_atomic_int_compare_and_exchange (&self->sleeping, SLEEPING, AWAKE))
    {
      g_atomic_pointer_add (self->wakeups, 1);
      g_main_context_wakeup (g_atomic_pointer_get (&self->context));
    }
  g_atomic_int_add (&self->wakers, -1);
}

/* With ranked_lock held: the level of @priority, made if needed, keeping
 * the levels sorted. */
static RankedLevel *
level_for (TetherQueueSource *self,
           int                priority)
{
  RankedLevel level = { priority, 0, NULL, NULL };
  guint i;

  for (i = 0; i < self->levels->len; i++)
    {
      RankedLevel *l = &g_array_index (self->levels, RankedLevel, i);

      if (l->priority == priority)
        return l;
      if (l->priority > priority)
        break;
    }
  g_array_insert_val (self->levels, i, level);
  return &g_array_index (self->levels, RankedLevel, i);
}

/* Any thread: queues @node at @priority (not the default one), behind
 * the items of the same priority, and wakes the manager's thread as
 * tether_queue_source_push() does. The sequentially consistent increment
 * of n_ranked plays the push's part in the sleep handshake. */
void
tether_queue_source_push_ranked (TetherQueueSource *self,
                                 TetherNode        *node,
                                 int                priority)
{
  RankedLevel *level;

  node->next = NULL;
  g_mutex_lock (&self->ranked_lock);
  level = level_for (self, priority);
  if (level->tail != NULL)
    level->tail->next = node;
  else
    level->head = node;
  level->tail = node;
  level->length++;
  g_atomic_int_inc (&self->n_ranked);
  g_mutex_unlock (&self->ranked_lock);
  if (g_atomic_int_get (&self->sleeping) == SLEEPING)
    tether_queue_source_wake_sleeper (self);
}

/* With ranked_lock held: the oldest item of @level. */
static TetherNode *
level_pop (TetherQueueSource *self,
           guint              index)
{
  RankedLevel *level = &g_array_index (self->levels, RankedLevel, index);
  TetherNode *node = level->head;

  level->head = node->next;
  if (level->head == NULL)
    level->tail = NULL;
  level->length--;
  g_atomic_int_add (&self->n_ranked, -1);

  if (level->length == 0 && self->levels->len > MAX_EMPTY_LEVELS)
    g_array_remove_index (self->levels, index);
  return node;
}

/* With ranked_lock held: the index of the first non-empty level, or -1. */
static int
first_level (TetherQueueSource *self)
{
  for (guint i = 0; i < self->levels->len; i++)
    if (g_array_index (self->levels, RankedLevel, i).length > 0)
      return (int) i;
  return -1;
}

/* With ranked_lock held: the fair slot's item. Its turn goes round every
 * priority that has items waiting, the default one included, in order of
 * priority, starting after the one whose turn it was last. */
static TetherNode *
take_fair_locked (TetherQueueSource *self)
{
  gboolean default_waits = tether_queue_maybe_nonempty (&self->queue);
  int chosen = -1;
  int chosen_priority = G_MAXINT;
  int lowest = -1;
  int lowest_priority = G_MAXINT;
  TetherNode *node = NULL;

  for (guint i = 0; i < self->levels->len; i++)
    {
      RankedLevel *l = &g_array_index (self->levels, RankedLevel, i);

      if (l->length == 0)
        continue;
      if (lowest < 0)
        {
          lowest = (int) i;
          lowest_priority = l->priority;
        }
      if (chosen < 0 && l->priority > self->fair_turn)
        {
          chosen = (int) i;
          chosen_priority = l->priority;
        }
    }
  /* The default priority, if its queue has items, is a candidate too. */
  if (default_waits && G_PRIORITY_DEFAULT > self->fair_turn &&
      G_PRIORITY_DEFAULT < chosen_priority)
    {
      self->fair_turn = G_PRIORITY_DEFAULT;
      if ((node = tether_queue_pop (&self->queue)) != NULL)
        return node;
    }
  else if (chosen >= 0)
    {
      self->fair_turn = chosen_priority;
      return level_pop (self, (guint) chosen);
    }
  /* Wrap around. */
  if (default_waits && G_PRIORITY_DEFAULT < lowest_priority)
    {
      self->fair_turn = G_PRIORITY_DEFAULT;
      if ((node = tether_queue_pop (&self->queue)) != NULL)
        return node;
    }
  if (lowest >= 0)
    {
      self->fair_turn = lowest_priority;
      return level_pop (self, (guint) lowest);
    }
  return NULL;
}

/* The manager's thread, some item ranked: the next item to take. Higher
 * priorities (lower values) first, the default queue in its place, FIFO
 * within each; the fair slot goes by turns (see take_fair_locked()). */
TetherNode *
tether_queue_source_take_ranked (TetherQueueSource *self,
                                 gboolean           fair_slot)
{
  TetherNode *node = NULL;
  int first;

  g_mutex_lock (&self->ranked_lock);
  if (fair_slot)
    node = take_fair_locked (self);
  if (node == NULL && (first = first_level (self)) >= 0 &&
      g_array_index (self->levels, RankedLevel, first).priority < G_PRIORITY_DEFAULT)
    node = level_pop (self, (guint) first);
  g_mutex_unlock (&self->ranked_lock);
  if (node != NULL)
    return node;

  if ((node = tether_queue_pop (&self->queue)) != NULL)
    return node;

  /* Nothing of default priority: the lower ones. */
  g_mutex_lock (&self->ranked_lock);
  if ((first = first_level (self)) >= 0)
    node = level_pop (self, (guint) first);
  g_mutex_unlock (&self->ranked_lock);
  return node;
}

/* Any thread: makes the manager's thread dispatch once, queue or not (to
 * look at its stop state). */
void
tether_queue_source_poke (TetherQueueSource *self)
{
  g_atomic_int_set (&self->poke, TRUE);
  g_atomic_int_inc (&self->wakers);
  if (g_atomic_int_get (&self->sleeping) != GONE)
    g_main_context_wakeup (g_atomic_pointer_get (&self->context));
  g_atomic_int_add (&self->wakers, -1);
}

/* Consumer side (the manager's thread, or a stopped manager's owner). */
gboolean
tether_queue_source_is_empty (TetherQueueSource *self)
{
  return !tether_queue_maybe_nonempty (&self->queue);
}

/* With the manager's lock held, before its thread starts: wakers may touch
 * the context from here on. */
void
tether_queue_source_open (TetherQueueSource *self)
{
  g_atomic_int_set (&self->sleeping, AWAKE);
}

/* The manager's thread on its way out (or a start that failed to make it):
 * from here no waker touches the context, which may then be dropped. */
void
tether_queue_source_close (TetherQueueSource *self)
{
  g_atomic_int_set (&self->sleeping, GONE);
  while (g_atomic_int_get (&self->wakers) != 0)
    g_thread_yield ();
}

int
tether_queue_source_get_loop_spin (TetherQueueSource *self)
{
  return g_atomic_int_get (&self->loop_spin);
}

/* Any thread; returns whether the value changed. */
gboolean
tether_queue_source_set_loop_spin (TetherQueueSource *self,
                                   int                usec)
{
  return g_atomic_int_exchange (&self->loop_spin, usec) != usec;
}

/* The manager's thread, while it runs its loop. */
void
tether_queue_source_enter_thread (TetherQueueSource *self)
{
  g_private_set (&current_source, self);
}

void
tether_queue_source_exit_thread (TetherQueueSource *self)
{
  g_private_set (&current_source, NULL);
}

static void
set_awake (TetherQueueSource *self)
{
  /* Most calls find it awake: a load is cheaper than a store. */
  if (g_atomic_int_get (&self->sleeping) != AWAKE)
    g_atomic_int_set (&self->sleeping, AWAKE);
}

/* How often, in microseconds, the spin of spinning_poll() polls the
 * context's descriptors. A poll is a system call of about a microsecond on
 * a VM: polled every microsecond, as first written, the spinning thread
 * spent half its spin in the kernel, and work that arrived meanwhile waited
 * for the call to return (round trip 4.4 us instead of 2.x, tests/bench).
 * Every 10 us is still sooner than a sleeping thread wakes up (about 20 us
 * across CPUs on such a machine), so a spin never makes another source
 * later than sleeping would. */
#define SPIN_POLL_INTERVAL_USEC 10

/* What the spin of spinning_poll() watches: the queue at every turn, and
 * the context's descriptors (its own wake-up descriptor among them, which
 * g_main_context_wakeup() and every other thread's change to the context
 * write) with a poll that does not block, every SPIN_POLL_INTERVAL_USEC, so
 * that other sources are not held up by the spin. The clock is read every
 * 32 turns: it costs more than a turn. */
typedef struct
{
  TetherQueueSource *self;
  GPollFD           *fds;
  guint              nfds;
  guint              turn;
  gint64             next_poll; /* monotonic */
  gint               n_ready;   /* what the last poll returned */
} SpinWatch;

static gboolean
spin_watch_done (gpointer data)
{
  SpinWatch *watch = data;
  gint64 now;

  if (has_work (watch->self))
    return TRUE;
  if (++watch->turn % 32 != 0 || (now = g_get_monotonic_time ()) < watch->next_poll)
    return FALSE;
  watch->next_poll = now + SPIN_POLL_INTERVAL_USEC;
  watch->n_ready = g_poll (watch->fds, watch->nfds, 0);
  return watch->n_ready != 0;
}

/* The context's poll function while a loop spin is set (see
 * choose_poll_func()): the thread polls its queue for that long before
 * blocking, so that a submission in the meantime costs neither a wake-up
 * nor a sleep (round trip 2.2 us instead of 45 us in tests/bench). Other
 * sources end the spin too (see SpinWatch): one that becomes ready, or a
 * thread that wakes the context, is seen within about 10 us. */
static gint
spinning_poll (GPollFD *fds,
               guint    nfds,
               gint     timeout)
{
  TetherQueueSource *self = g_private_get (&current_source);
  SpinWatch watch = { self, fds, nfds, 0, 0, 0 };
  gint64 spin, end;

  if (self == NULL || timeout == 0 ||
      (spin = g_atomic_int_get (&self->loop_spin)) <= 0 ||
      !g_atomic_int_compare_and_exchange (&self->sleeping, SLEEPING, SPINNING))
    return g_poll (fds, nfds, timeout);

  if (timeout > 0)
    spin = MIN (spin, (gint64) timeout * 1000);
  watch.next_poll = g_get_monotonic_time ();
  end = watch.next_poll + spin;
  watch.next_poll += SPIN_POLL_INTERVAL_USEC;
  if (!tether_spin_until (spin_watch_done, &watch, end))
    {
      /* Back to sleeping, then one more look: a push in between either is
       * seen here or sees the thread asleep and wakes it. */
      g_atomic_int_set (&self->sleeping, SLEEPING);
      if (!has_work (self))
        return g_poll (fds, nfds, timeout);
    }
  set_awake (self);
  /* A descriptor became ready: that poll's answer stands (a poll error,
   * -1, is GLib's to report, as from g_poll()). */
  if (watch.n_ready != 0)
    return watch.n_ready;
  /* Work arrived during the spin. With nothing to poll but the context's
   * own wake-up descriptor (GLib's query has already zeroed every revents),
   * "nothing ready" is the answer without a system call; the descriptor
   * is polled again on the next iteration. */
  return nfds <= 1 ? 0 : g_poll (fds, nfds, 0);
}

/* The context keeps GLib's poll function unless a loop spin is set: only
 * then is spinning_poll() installed, and it is taken out again when the
 * spin goes back to 0. The manager's thread makes the switch here, before
 * the context reads its poll function for this iteration (GLib calls
 * prepare without the context lock), so that no other thread ever changes
 * it. A program that installs its own poll function on a manager's context
 * must leave the loop spin at 0. */
static void
choose_poll_func (TetherQueueSource *self,
                  GMainContext      *context)
{
  gboolean spin = g_atomic_int_get (&self->loop_spin) > 0;

  if (spin != self->spin_poll)
    {
      self->spin_poll = spin;
      g_main_context_set_poll_func (context, spin ? spinning_poll : NULL);
    }
}

static gboolean
source_prepare (GSource *source,
                gint    *timeout)
{
  TetherQueueSource *self = ((QueueGSource *) source)->self;

  *timeout = -1;
  choose_poll_func (self, g_source_get_context (source));
  if (has_work (self))
    {
      set_awake (self);
      return TRUE;
    }
  g_atomic_int_set (&self->sleeping, SLEEPING);
  if (has_work (self))
    {
      set_awake (self);
      return TRUE;
    }
  return FALSE;
}

static gboolean
source_check (GSource *source)
{
  TetherQueueSource *self = ((QueueGSource *) source)->self;

  set_awake (self);
  return has_work (self);
}

static gboolean
source_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  TetherQueueSource *self = ((QueueGSource *) source)->self;

  g_atomic_int_set (&self->poke, FALSE);
  self->dispatch (self->data);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs queue_source_funcs = {
  .prepare = source_prepare,
  .check = source_check,
  .dispatch = source_dispatch,
};

/* With the manager's lock held, whenever it makes a new context: the
 * GSource that drains the queue there, attached, for the caller to own.
 * The context starts with GLib's poll function. */
GSource *
tether_queue_source_new_source (TetherQueueSource *self,
                                GMainContext      *context)
{
  QueueGSource *source = (QueueGSource *) g_source_new (&queue_source_funcs,
                                                        sizeof (QueueGSource));

  source->self = self;
  g_source_set_static_name ((GSource *) source, "[tether] manager queue");
  g_source_attach ((GSource *) source, context);
  self->spin_poll = FALSE;
  g_atomic_pointer_set (&self->context, context);
  return (GSource *) source;
}

/* fork(), in the child: the manager's thread is the parent's, and a
 * submitter may have been half-way through a push. */
void
tether_queue_source_reset_in_child (TetherQueueSource *self)
{
  tether_queue_init (&self->queue);
  self->context = NULL;
  self->sleeping = GONE;
  self->wakers = 0;
  self->poke = FALSE;
  g_array_set_size (self->levels, 0);
  self->n_ranked = 0;
}

/* fork(): a leaf lock, after the core's others. */
void
tether_queue_source_lock (TetherQueueSource *self)
{
  g_mutex_lock (&self->ranked_lock);
}

void
tether_queue_source_unlock (TetherQueueSource *self)
{
  g_mutex_unlock (&self->ranked_lock);
}

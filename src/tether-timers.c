/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-timers-private.h"

/* At most this many timers start per dispatch, so that other sources run
 * in between (the queue's batch size). */
#define BATCH_SIZE 128

/* An entry's index before it is added; G_MAXUINT once it is out of the
 * heap (fired, removed, or removed before it was ever added). */
#define NOT_YET_ADDED (G_MAXUINT - 1)

typedef struct
{
  GSource       parent;
  TetherTimers *self;
} TimerSource;

void
tether_timer_entry_init (TetherTimerEntry *entry,
                         gint64            deadline)
{
  entry->deadline = deadline;
  entry->seq = 0;
  entry->index = NOT_YET_ADDED;
}

void
tether_timers_init (TetherTimers         *self,
                    TetherTimersFireFunc  fire,
                    gpointer              data)
{
  g_mutex_init (&self->lock);
  self->heap = g_ptr_array_new ();
  self->fire = fire;
  self->data = data;
}

/* The last owner: no timer is left, and the context, if any, goes after
 * this (the source is attached to it). */
void
tether_timers_clear (TetherTimers *self)
{
  g_assert (self->heap->len == 0);
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  g_ptr_array_unref (self->heap);
  g_mutex_clear (&self->lock);
}

static inline gboolean
before (TetherTimerEntry *a,
        TetherTimerEntry *b)
{
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void
place (GPtrArray        *heap,
       guint             i,
       TetherTimerEntry *entry)
{
  heap->pdata[i] = entry;
  entry->index = i;
}

static void
sift_up (GPtrArray *heap,
         guint      i)
{
  TetherTimerEntry *entry = heap->pdata[i];

  while (i > 0 && before (entry, heap->pdata[(i - 1) / 2]))
    {
      place (heap, i, heap->pdata[(i - 1) / 2]);
      i = (i - 1) / 2;
    }
  place (heap, i, entry);
}

static void
sift_down (GPtrArray *heap,
           guint      i)
{
  TetherTimerEntry *entry = heap->pdata[i];

  for (;;)
    {
      guint child = 2 * i + 1;

      if (child >= heap->len)
        break;
      if (child + 1 < heap->len && before (heap->pdata[child + 1], heap->pdata[child]))
        child++;
      if (!before (heap->pdata[child], entry))
        break;
      place (heap, i, heap->pdata[child]);
      i = child;
    }
  place (heap, i, entry);
}

static void
heap_remove (GPtrArray        *heap,
             TetherTimerEntry *entry)
{
  guint i = entry->index;
  TetherTimerEntry *last = g_ptr_array_steal_index (heap, heap->len - 1);

  entry->index = G_MAXUINT;
  if (last == entry)
    return;
  place (heap, i, last);
  sift_up (heap, i);
  sift_down (heap, last->index);
}

/* With the lock held: the source fires when the earliest timer is due. */
static void
rearm_locked (TetherTimers *self)
{
  g_source_set_ready_time (self->source,
                           self->heap->len > 0
                           ? ((TetherTimerEntry *) self->heap->pdata[0])->deadline : -1);
}

/* Runs the timers due when this iteration began, earliest deadline first
 * and, for equal deadlines, in the order they were added, as asyncio does;
 * at most a batch at a time, so that other sources run in between. */
static gboolean
source_dispatch (GSource     *source,
                 GSourceFunc  callback,
                 gpointer     user_data)
{
  TetherTimers *self = ((TimerSource *) source)->self;
  gint64 now = g_source_get_time (source);
  TetherTimerEntry *due[BATCH_SIZE];
  guint n = 0;

  g_mutex_lock (&self->lock);
  while (n < BATCH_SIZE && self->heap->len > 0 &&
         ((TetherTimerEntry *) self->heap->pdata[0])->deadline <= now)
    {
      due[n] = self->heap->pdata[0];
      heap_remove (self->heap, due[n++]);
    }
  rearm_locked (self);
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < n; i++)
    self->fire (self->data, due[i]);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = {
  .dispatch = source_dispatch,
};

/* Any thread, with the manager running on @context: @entry joins the heap.
 * Returns %FALSE, adding nothing, if tether_timers_remove() came first (the
 * item ended before its timer was even added): whoever gets %FALSE from
 * add() or %TRUE from remove() is the one that takes the item on, exactly
 * once; an entry that fires goes to the fire function instead. */
gboolean
tether_timers_add (TetherTimers     *self,
                   GMainContext     *context,
                   TetherTimerEntry *entry)
{
  g_mutex_lock (&self->lock);
  if (entry->index != NOT_YET_ADDED)
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  if (self->source == NULL)
    {
      /* Made with the first timer: every source on the context costs each
       * main loop iteration a look, and most managers never use timers. */
      self->source = g_source_new (&timer_source_funcs, sizeof (TimerSource));
      ((TimerSource *) self->source)->self = self;
      g_source_set_static_name (self->source, "[tether] timers");
      g_source_attach (self->source, context);
    }
  entry->seq = self->seq++;
  g_ptr_array_add (self->heap, entry);
  sift_up (self->heap, self->heap->len - 1);
  if (entry->index == 0)
    rearm_locked (self);
  g_mutex_unlock (&self->lock);

  return TRUE;
}

/* Any thread: takes @entry out of the heap before it fires. Returns whether
 * it did; %FALSE means the manager's thread took it first (it fires, or has
 * fired), or that it was not added yet (then tether_timers_add() will
 * refuse it). */
gboolean
tether_timers_remove (TetherTimers     *self,
                      TetherTimerEntry *entry)
{
  gboolean removed = FALSE;

  g_mutex_lock (&self->lock);
  if (entry->index == NOT_YET_ADDED)
    entry->index = G_MAXUINT;
  else if (entry->index != G_MAXUINT)
    {
      gboolean was_first = entry->index == 0;

      heap_remove (self->heap, entry);
      if (was_first)
        rearm_locked (self);
      removed = TRUE;
    }
  g_mutex_unlock (&self->lock);

  return removed;
}

/* The manager stopped and its context goes: so does the source, made again
 * with the next run's first timer. A stop ends every timer, so the heap is
 * empty. */
GSource *
tether_timers_steal_source (TetherTimers *self)
{
  GSource *ret;

  g_mutex_lock (&self->lock);
  g_assert (self->heap->len == 0);
  ret = g_steal_pointer (&self->source);
  g_mutex_unlock (&self->lock);

  return ret;
}

void
tether_timers_lock (TetherTimers *self)
{
  g_mutex_lock (&self->lock);
}

void
tether_timers_unlock (TetherTimers *self)
{
  g_mutex_unlock (&self->lock);
}

/* fork(), in the child, with the lock held: the parent's timers belong to
 * its thread's run, and their source went with the abandoned context. */
void
tether_timers_reset_in_child (TetherTimers *self)
{
  g_ptr_array_set_size (self->heap, 0);
  self->source = NULL;
}

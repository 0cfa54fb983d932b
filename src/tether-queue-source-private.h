/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-queue-source-private.h"
#endif

#include "tether-queue-private.h"

G_BEGIN_DECLS

/* A manager's way in: the lock-free queue, the GSource that drains it on
 * the manager's thread, and the sleep/wake handshake between the two (a
 * submitter writes the context's wake-up descriptor only when the thread
 * may be asleep in poll()), with the optional spin before sleeping.
 *
 * Items of the default priority (G_PRIORITY_DEFAULT) travel in the
 * lock-free queue; items of any other priority wait in ranked levels, one
 * FIFO per priority under a lock, and `n_ranked` tells the dispatch (one
 * load per item) whether there are any. See tether-queue-source.c for the
 * order items are taken in. The
 * fields are tether-queue-source.c's: the struct is in this header only so
 * that the core can embed it where its cache lines fall. */
typedef struct _TetherQueueSource TetherQueueSource;

/* `sleeping`: what the manager's thread said it is doing. */
enum {
  TETHER_QUEUE_SOURCE_AWAKE,     /* it will look at the queue again */
  TETHER_QUEUE_SOURCE_SLEEPING,  /* it may be blocked in poll(): a submitter must wake it */
  TETHER_QUEUE_SOURCE_SPINNING,  /* it is polling the queue in a loop: no wake-up needed */
  TETHER_QUEUE_SOURCE_GONE,      /* no thread, and maybe no context: nothing to wake */
};

/* What the source calls on the manager's thread when it dispatches: the
 * callee takes at most TETHER_QUEUE_SOURCE_BATCH items with
 * tether_queue_source_take() and routes each. */
typedef void (*TetherQueueSourceFunc) (gpointer data);

/* How many items the manager's thread takes per dispatch before it lets
 * the other sources on its context run: enough to make a main loop
 * iteration (a poll and the context's lock, about a microsecond) cheap per
 * item. The last slot of a full batch is the fair slot (see
 * tether_queue_source_take()). */
#define TETHER_QUEUE_SOURCE_BATCH 128

struct _TetherQueueSource
{
  /* Submitters write the tail, the manager's thread the head. */
  TetherQueue                   queue;

  /* Read on every submission, written rarely. */
  int                           sleeping TETHER_CACHELINE_ALIGNED; /* atomic: AWAKE, SLEEPING, SPINNING or GONE */
  int                           wakers;    /* atomic: threads that may be touching the context */
  int                           poke;      /* atomic: dispatch even if the queue is empty */
  int                           loop_spin; /* atomic, usec (at most a second) */
  guint                         n_ranked;  /* atomic: items waiting in the ranked levels */
  GMainContext                 *context;   /* atomic: whose descriptor wakers write */
  gsize                        *wakeups;   /* the stats counter of wake-ups */
  TetherQueueSourceFunc         dispatch;
  gpointer                      data;

  /* The manager's thread. */
  gboolean                      spin_poll; /* its poll function is the spinning one */
  int                           fair_turn; /* the priority whose turn the fair slot was last */

  GMutex                        ranked_lock;
  GArray                       *levels;    /* ranked_lock: RankedLevel, by priority */
};

void        tether_queue_source_init    (TetherQueueSource            *self,
                                         TetherQueueSourceFunc         dispatch,
                                         gpointer                      data,
                                         gsize                        *wakeups);
TetherNode *tether_queue_source_take_ranked (TetherQueueSource        *self,
                                             gboolean                  fair_slot);
GSource    *tether_queue_source_new_source (TetherQueueSource         *self,
                                            GMainContext              *context);
void        tether_queue_source_open    (TetherQueueSource            *self);
void        tether_queue_source_close   (TetherQueueSource            *self);
void        tether_queue_source_clear   (TetherQueueSource            *self);
void        tether_queue_source_wake_sleeper (TetherQueueSource       *self);
void        tether_queue_source_push_ranked (TetherQueueSource        *self,
                                             TetherNode               *node,
                                             int                       priority);
void        tether_queue_source_poke    (TetherQueueSource            *self);
gboolean    tether_queue_source_is_empty (TetherQueueSource           *self);
int         tether_queue_source_get_loop_spin (TetherQueueSource      *self);
gboolean    tether_queue_source_set_loop_spin (TetherQueueSource      *self,
                                               int                     usec);
void        tether_queue_source_enter_thread (TetherQueueSource       *self);
void        tether_queue_source_exit_thread  (TetherQueueSource       *self);
void        tether_queue_source_lock    (TetherQueueSource            *self);
void        tether_queue_source_unlock  (TetherQueueSource            *self);
void        tether_queue_source_reset_in_child (TetherQueueSource     *self);

/* Any thread: queues @node and wakes the manager's thread only if it may be
 * blocked in poll(), so a burst of submissions costs one wake-up. The
 * sequentially consistent push before the read of `sleeping` pairs with the
 * store in the source's prepare: either the thread sees the item, or this
 * sees it asleep. Inline: it is most of a post's cost on the submitting
 * side. */
static inline void
tether_queue_source_push (TetherQueueSource *self,
                          TetherNode        *node)
{
  tether_queue_push (&self->queue, node);
  if (g_atomic_int_get (&self->sleeping) == TETHER_QUEUE_SOURCE_SLEEPING)
    tether_queue_source_wake_sleeper (self);
}

/* The manager's thread, dispatching: the next item, or %NULL; the
 * @index-th of this dispatch. When nothing is ranked, which is one load,
 * it is the lock-free queue's. */
static inline TetherNode *
tether_queue_source_take (TetherQueueSource *self,
                          guint              index)
{
  if (G_LIKELY (g_atomic_int_get (&self->n_ranked) == 0))
    return tether_queue_pop (&self->queue);
  return tether_queue_source_take_ranked (self, index == TETHER_QUEUE_SOURCE_BATCH - 1);
}

/* The manager's thread, after a batch that took nothing: whether a
 * submitter is between the two halves of a push (the queue is not empty,
 * but its item cannot be taken yet). */
static inline gboolean
tether_queue_source_is_busy (TetherQueueSource *self)
{
  return tether_queue_maybe_nonempty (&self->queue);
}

G_END_DECLS

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

/* What the source calls on the manager's thread: @begin once per dispatch,
 * @node for each item popped (at most a batch), @end after the batch. */
typedef struct
{
  void (*begin) (gpointer data);
  void (*node)  (gpointer data,
                 TetherNode *node);
  void (*end)   (gpointer data);
} TetherQueueSourceFuncs;

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
  const TetherQueueSourceFuncs *funcs;
  gpointer                      data;

  /* The manager's thread. */
  gboolean                      spin_poll; /* its poll function is the spinning one */
  int                           fair_turn; /* the priority whose turn the fair slot was last */

  GMutex                        ranked_lock;
  GArray                       *levels;    /* ranked_lock: RankedLevel, by priority */
};

void        tether_queue_source_init    (TetherQueueSource            *self,
                                         const TetherQueueSourceFuncs *funcs,
                                         gpointer                      data,
                                         gsize                        *wakeups);
GSource    *tether_queue_source_new_source (TetherQueueSource         *self,
                                            GMainContext              *context);
void        tether_queue_source_open    (TetherQueueSource            *self);
void        tether_queue_source_close   (TetherQueueSource            *self);
void        tether_queue_source_clear   (TetherQueueSource            *self);
void        tether_queue_source_push    (TetherQueueSource            *self,
                                         TetherNode                   *node);
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

G_END_DECLS

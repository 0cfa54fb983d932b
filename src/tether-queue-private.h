/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-queue-private.h"
#endif

#include <glib.h>

G_BEGIN_DECLS

/* An intrusive multi-producer, single-consumer queue (Dmitry Vyukov's):
 * pushing is one atomic exchange and one store, from any thread, and never
 * waits; only the manager's thread pops. The node lives inside the item, so
 * queueing allocates nothing. */
typedef struct _TetherNode TetherNode;

struct _TetherNode
{
  TetherNode *next;
  gboolean    is_post;  /* what the node is embedded in: TetherPost or TetherJob */
};

#define TETHER_CACHELINE 64
#define TETHER_CACHELINE_ALIGNED __attribute__ ((aligned (TETHER_CACHELINE)))

/* Producers write the tail, the consumer the head: one cache line each. */
typedef struct
{
  TetherNode *tail TETHER_CACHELINE_ALIGNED;
  TetherNode *head TETHER_CACHELINE_ALIGNED;
  TetherNode  stub;
} TetherQueue;

static inline void
tether_queue_init (TetherQueue *queue)
{
  queue->stub.next = NULL;
  queue->head = &queue->stub;
  queue->tail = &queue->stub;
}

static inline void
tether_queue_push (TetherQueue *queue,
                   TetherNode  *node)
{
  TetherNode *prev;

  __atomic_store_n (&node->next, NULL, __ATOMIC_RELAXED);
  /* Sequentially consistent: the caller next reads whether the consumer
   * sleeps, and that read must not pass this write. */
  prev = __atomic_exchange_n (&queue->tail, node, __ATOMIC_SEQ_CST);
  /* Between the exchange and this store the queue is not empty, but the
   * consumer cannot reach @node yet; pop() reports that as "busy". */
  __atomic_store_n (&prev->next, node, __ATOMIC_RELEASE);
}

/* Consumer only: whether anything was pushed that pop() has not returned.
 * Sequentially consistent, to pair with push() in the sleep handshake. */
static inline gboolean
tether_queue_maybe_nonempty (TetherQueue *queue)
{
  return queue->head != &queue->stub ||
         __atomic_load_n (&queue->tail, __ATOMIC_SEQ_CST) != &queue->stub;
}

/* Consumer only. Returns the oldest node, or %NULL when the queue is empty
 * or a producer is half-way through a push (maybe_nonempty() tells). */
static inline TetherNode *
tether_queue_pop (TetherQueue *queue)
{
  TetherNode *head = queue->head;
  TetherNode *next = __atomic_load_n (&head->next, __ATOMIC_ACQUIRE);

  if (head == &queue->stub)
    {
      if (next == NULL)
        return NULL;
      queue->head = head = next;
      next = __atomic_load_n (&head->next, __ATOMIC_ACQUIRE);
    }
  if (next != NULL)
    {
      queue->head = next;
      return head;
    }
  if (head != __atomic_load_n (&queue->tail, __ATOMIC_ACQUIRE))
    return NULL;
  /* @head is the last node: put the stub behind it so it can be taken. */
  tether_queue_push (queue, &queue->stub);
  next = __atomic_load_n (&head->next, __ATOMIC_ACQUIRE);
  if (next != NULL)
    {
      queue->head = next;
      return head;
    }
  return NULL;
}

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-queue-private.h"
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Atomics, here and in every lock-free part of Tether (the manager's sleep
 * handshake in tether-queue-source.c, the counters in tether-admission.c
 * and tether-stats-private.h, the post magazines, the futures'
 * event, the statistics): GLib's g_atomic_*() only, no compiler builtins
 * and no <stdatomic.h>. Every g_atomic_*() operation is sequentially
 * consistent, a full barrier: at least as strong as any ordering a protocol
 * here needs, so arguing that it holds under sequential consistency is
 * enough, and the comments say where that consistency is what matters (a
 * store followed by a load of another variable, as in the sleep handshake:
 * push, then look whether the consumer sleeps; announce sleeping, then look
 * at the queue). An atomic location is accessed plainly only where no
 * other thread can touch it at the same time (a node before it is
 * published, a counter's only writer reading it back, a fork's child), and
 * the code says so.
 *
 * What it costs: on x86-64 a sequentially consistent load is a plain mov,
 * and a store an xchg (a locked instruction) instead of a mov; the hot
 * paths make few stores (a push's link, the manager's per-item counters).
 *
 * 64-bit counters are gsize, through g_atomic_pointer_*(), which GLib
 * defines for pointer-sized integers (see tether-stats-private.h). */

/* An intrusive multi-producer, single-consumer queue (Dmitry Vyukov's):
 * pushing is one atomic exchange and one store, from any thread, and never
 * waits; only the manager's thread pops. The node lives inside the item, so
 * queueing allocates nothing. */
typedef struct _TetherNode TetherNode;

/* What a node is embedded in, and why it was queued. A job has one node
 * for each reason, so no node is ever in the queue twice. */
typedef enum
{
  TETHER_NODE_POST,        /* a TetherPost, to run */
  TETHER_NODE_JOB_START,   /* a TetherJob's start_node, to start */
  TETHER_NODE_JOB_RETIRE,  /* a TetherJob's retire_node, to retire */
} TetherNodeKind;

struct _TetherNode
{
  TetherNode     *next;
  TetherNodeKind  kind;
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

  /* A plain store: nobody else can reach @node until the exchange below,
   * a full barrier, publishes it. */
  node->next = NULL;
  /* Sequentially consistent: the caller next reads whether the consumer
   * sleeps, and that read must not pass this write. */
  prev = g_atomic_pointer_exchange (&queue->tail, node);
  /* Between the exchange and this store the queue is not empty, but the
   * consumer cannot reach @node yet; pop() reports that as "busy". The
   * store publishes @node (and what the producer wrote into its item) to
   * the consumer's load of prev->next. */
  g_atomic_pointer_set (&prev->next, node);
}

/* Consumer only: whether anything was pushed that pop() has not returned.
 * Sequentially consistent, to pair with push() in the sleep handshake. */
static inline gboolean
tether_queue_maybe_nonempty (TetherQueue *queue)
{
  return queue->head != &queue->stub ||
         g_atomic_pointer_get (&queue->tail) != &queue->stub;
}

/* Consumer only. Returns the oldest node, or %NULL when the queue is empty
 * or a producer is half-way through a push (maybe_nonempty() tells). */
static inline TetherNode *
tether_queue_pop (TetherQueue *queue)
{
  TetherNode *head = queue->head;
  TetherNode *next = g_atomic_pointer_get (&head->next);

  if (head == &queue->stub)
    {
      if (next == NULL)
        return NULL;
      queue->head = head = next;
      next = g_atomic_pointer_get (&head->next);
    }
  if (next != NULL)
    {
      queue->head = next;
      return head;
    }
  if (head != g_atomic_pointer_get (&queue->tail))
    return NULL;
  /* @head is the last node: put the stub behind it so it can be taken. */
  tether_queue_push (queue, &queue->stub);
  next = g_atomic_pointer_get (&head->next);
  if (next != NULL)
    {
      queue->head = next;
      return head;
    }
  return NULL;
}

G_END_DECLS

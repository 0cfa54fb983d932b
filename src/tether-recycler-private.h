/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-recycler-private.h"
#endif

#include "tether-queue-private.h"

G_BEGIN_DECLS

/* Small blocks that one thread allocates and another frees, sent back to
 * the allocating side in magazines instead of through malloc(): glibc
 * returns memory freed on another thread to the allocating arena under its
 * lock, so a producer and a consumer that allocate and free in a tight loop
 * take turns at that lock, with futex calls on both sides. A block starts
 * with a TetherNode, which links it while it is spare.
 *
 * A freeing thread fills a magazine of its own (one per kind of block) and
 * hands it to the block's recycler when full; the recycler holds a few
 * (TETHER_RECYCLER_SLOTS: the pool's threads give theirs together), for
 * allocating threads to take whole; each thread keeps at most one, per
 * kind, that it is using up. So memory stays bounded (two magazines per
 * thread and kind, a few per recycler) whatever the threads do. */
typedef enum
{
  TETHER_RECYCLE_POST,          /* TetherPost, a manager's post */
  TETHER_RECYCLE_POOL_ITEM,     /* a TetherPool's queued item */
  TETHER_RECYCLE_N_KINDS,
} TetherRecycleKind;

#define TETHER_RECYCLER_SLOTS 4

typedef struct
{
  TetherNode *full[TETHER_RECYCLER_SLOTS];  /* atomic: magazines, or NULL */
} TetherRecycler;

#define TETHER_RECYCLER_MAGAZINE 256

/* A magazine one thread is filling with freed blocks. */
typedef struct
{
  TetherNode *chain;
  guint       n;
} TetherRecyclerFilling;

/* Whether freed blocks may be kept for reuse: not in sanitizer builds nor
 * under valgrind, where a reused block would hide a use after free, unless
 * TETHER_FORCE_RECYCLE is set in the environment. */
gboolean tether_recycling_allowed (void);

/* Any thread: a block of @size bytes (the same for every block of @kind),
 * not cleared: from this thread's magazine, else @recycler's, else
 * malloc(). */
gpointer tether_recycler_alloc (TetherRecycler    *recycler,
                                TetherRecycleKind  kind,
                                gsize              size);

/* Any thread: one of @recycler's magazines, taken whole, or %NULL. */
TetherNode *tether_recycler_take (TetherRecycler  *recycler);

/* Any thread: hands over @chain, blocks linked through their nodes' next,
 * as one of @recycler's magazines if a slot is free; otherwise frees
 * them. */
void     tether_recycler_give  (TetherRecycler    *recycler,
                                TetherNode        *chain);


/* Any thread: @node's block, of @kind, is free. It goes into this
 * thread's magazine for @kind, which goes to @recycler when full. A thread
 * that puts blocks of one kind for two recyclers in turn frees the
 * magazine it filled for the first one. */
void     tether_recycler_put   (TetherRecycler    *recycler,
                                TetherRecycleKind  kind,
                                TetherNode        *node);

/* Frees the blocks of @chain. */
void     tether_recycler_free_chain (TetherNode   *chain);

/* The thread that owns @filling: frees what it holds. */
void     tether_recycler_filling_clear (TetherRecyclerFilling *filling);

/* No other thread uses @recycler any more: frees its magazines. */
void     tether_recycler_clear (TetherRecycler    *recycler);

/* The thread that owns @filling: adds @node's block to it, and hands the
 * magazine to @recycler once it is full. Inline: a manager's thread does
 * it for every post. */
static inline void
tether_recycler_fill (TetherRecycler        *recycler,
                      TetherRecyclerFilling *filling,
                      TetherNode            *node)
{
  node->next = filling->chain;
  filling->chain = node;
  if (++filling->n < TETHER_RECYCLER_MAGAZINE)
    return;
  tether_recycler_give (recycler, g_steal_pointer (&filling->chain));
  filling->n = 0;
}


G_END_DECLS

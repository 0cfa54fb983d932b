/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-post-private.h"

/* Any thread: a node from this thread's magazine, else the pool's full
 * one, else the allocator. */
TetherPost *
tether_post_alloc (TetherPostPool *pool)
{
  return tether_recycler_alloc (&pool->recycler, TETHER_RECYCLE_POST, sizeof (TetherPost));
}

void
tether_post_pool_init (TetherPostPool *pool)
{
  pool->recycle = tether_recycling_allowed ();
}

/* The manager's thread only. */
void
tether_post_recycle (TetherPostPool *pool,
                     TetherPost     *post)
{
  if (!pool->recycle)
    {
      g_free (post);
      return;
    }
  tether_recycler_fill (&pool->recycler, &pool->filling, &post->node);
}

void
tether_post_pool_clear (TetherPostPool *pool)
{
  tether_recycler_clear (&pool->recycler);
  tether_recycler_filling_clear (&pool->filling);
}

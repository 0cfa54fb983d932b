/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-post-private.h"

/* Each submitting thread keeps the magazine it is using up. */
typedef struct
{
  TetherNode *head;
} PostCache;

static void
free_chain (TetherNode *node)
{
  while (node != NULL)
    {
      TetherNode *next = node->next;

      g_free (node);
      node = next;
    }
}

static void
post_cache_free (gpointer data)
{
  PostCache *cache = data;

  free_chain (cache->head);
  g_free (cache);
}

static GPrivate post_cache = G_PRIVATE_INIT (post_cache_free);

/* Any thread. Takes a node from this thread's magazine, else the pool's
 * full one, else the allocator. The pool's magazine is taken whole with one
 * exchange, so there is no ABA to fear: nobody follows a pointer that may
 * have been reused under it. */
TetherPost *
tether_post_alloc (TetherPostPool *pool)
{
  PostCache *cache = g_private_get (&post_cache);
  TetherNode *node;

  if (G_UNLIKELY (cache == NULL))
    {
      cache = g_new0 (PostCache, 1);
      g_private_set (&post_cache, cache);
    }
  if (cache->head == NULL &&
      g_atomic_pointer_get (&pool->full) != NULL)
    cache->head = g_atomic_pointer_exchange (&pool->full, NULL);
  node = cache->head;
  if (node == NULL)
    return g_new (TetherPost, 1);
  cache->head = node->next;
  return (TetherPost *) node;
}

/* The manager's thread only. A magazine is handed over only when the last
 * one has been taken, so the pool holds at most two; otherwise it is freed,
 * and memory stays bounded whatever the producers do. */
void
tether_post_recycle (TetherPostPool *pool,
                     TetherPost     *post)
{
  post->node.next = pool->filling;
  pool->filling = &post->node;
  if (++pool->n_filling < TETHER_POST_MAGAZINE)
    return;

  /* Only this thread makes the pointer non-NULL, so seeing NULL is enough. */
  if (g_atomic_pointer_get (&pool->full) == NULL)
    g_atomic_pointer_set (&pool->full, pool->filling);
  else
    free_chain (pool->filling);
  pool->filling = NULL;
  pool->n_filling = 0;
}

void
tether_post_pool_clear (TetherPostPool *pool)
{
  free_chain (g_atomic_pointer_exchange (&pool->full, NULL));
  free_chain (g_steal_pointer (&pool->filling));
  pool->n_filling = 0;
}

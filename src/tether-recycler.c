/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-recycler-private.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
# define SANITIZED 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#  define SANITIZED 1
# endif
#endif

#ifdef HAVE_VALGRIND_H
# include <valgrind/valgrind.h>
#endif

/* TETHER_FORCE_RECYCLE turns it on where it is off: for
 * tests/bench/callgrind-per-job, which counts the instructions of the path
 * a program runs outside valgrind, and for a TSan run that checks the
 * recycler's own hand-overs (docs/tsan.md). */
static gboolean
decide_recycling (void)
{
  if (g_getenv ("TETHER_FORCE_RECYCLE") != NULL)
    return TRUE;
#if defined(SANITIZED)
  return FALSE;
#elif defined(HAVE_VALGRIND_H)
  return !RUNNING_ON_VALGRIND;
#else
  return TRUE;
#endif
}

/* Decided once: asked for every job and pool item. */
gboolean
tether_recycling_allowed (void)
{
  static int decided;   /* atomic: 0 not yet, 1 allowed, 2 not */
  int value = g_atomic_int_get (&decided);

  if (G_UNLIKELY (value == 0))
    {
      value = decide_recycling () ? 1 : 2;
      g_atomic_int_set (&decided, value);
    }
  return value == 1;
}

/* A magazine a thread fills for @recycler, which is compared, never
 * followed: the recycler may be gone since. */
typedef struct
{
  TetherRecyclerFilling  magazine;
  TetherRecycler        *recycler;
} Filling;

/* What a thread is using up, and filling, per kind. */
typedef struct
{
  TetherNode *head[TETHER_RECYCLE_N_KINDS];
  Filling     filling[TETHER_RECYCLE_N_KINDS];
} ThreadCache;

void
tether_recycler_free_chain (TetherNode *chain)
{
  while (chain != NULL)
    {
      TetherNode *next = chain->next;

      g_free (chain);
      chain = next;
    }
}

static void
thread_cache_free (gpointer data)
{
  ThreadCache *cache = data;

  for (guint i = 0; i < TETHER_RECYCLE_N_KINDS; i++)
    {
      tether_recycler_free_chain (cache->head[i]);
      tether_recycler_filling_clear (&cache->filling[i].magazine);
    }
  g_free (cache);
}

static GPrivate thread_cache = G_PRIVATE_INIT (thread_cache_free);

static ThreadCache *
get_thread_cache (void)
{
  ThreadCache *cache = g_private_get (&thread_cache);

  if (G_UNLIKELY (cache == NULL))
    {
      cache = g_new0 (ThreadCache, 1);
      g_private_set (&thread_cache, cache);
    }
  return cache;
}

/* A magazine is taken whole with one exchange, so there is no ABA to fear:
 * nobody follows a pointer that may have been reused under it. */
TetherNode *
tether_recycler_take (TetherRecycler *recycler)
{
  for (guint i = 0; i < TETHER_RECYCLER_SLOTS; i++)
    {
      TetherNode *chain;

      if (g_atomic_pointer_get (&recycler->full[i]) != NULL &&
          (chain = g_atomic_pointer_exchange (&recycler->full[i], NULL)) != NULL)
        return chain;
    }
  return NULL;
}

gpointer
tether_recycler_alloc (TetherRecycler    *recycler,
                       TetherRecycleKind  kind,
                       gsize              size)
{
  ThreadCache *cache = get_thread_cache ();
  TetherNode *node;

  if (cache->head[kind] == NULL)
    cache->head[kind] = tether_recycler_take (recycler);
  node = cache->head[kind];
  if (node == NULL)
    return g_malloc (size);
  cache->head[kind] = node->next;
  return node;
}

/* A slot is filled only where it is NULL (by a compare-and-exchange:
 * several threads may give at once), so each holds one magazine at most. */
void
tether_recycler_give (TetherRecycler *recycler,
                      TetherNode     *chain)
{
  for (guint i = 0; i < TETHER_RECYCLER_SLOTS; i++)
    if (g_atomic_pointer_get (&recycler->full[i]) == NULL &&
        g_atomic_pointer_compare_and_exchange (&recycler->full[i], NULL, chain))
      return;
  tether_recycler_free_chain (chain);
}

void
tether_recycler_put (TetherRecycler    *recycler,
                     TetherRecycleKind  kind,
                     TetherNode        *node)
{
  Filling *filling;

  if (!tether_recycling_allowed ())
    {
      g_free (node);
      return;
    }
  filling = &get_thread_cache ()->filling[kind];
  if (filling->recycler != recycler)
    {
      tether_recycler_filling_clear (&filling->magazine);
      filling->recycler = recycler;
    }
  tether_recycler_fill (recycler, &filling->magazine, node);
}

void
tether_recycler_filling_clear (TetherRecyclerFilling *filling)
{
  tether_recycler_free_chain (g_steal_pointer (&filling->chain));
  filling->n = 0;
}

void
tether_recycler_clear (TetherRecycler *recycler)
{
  TetherNode *chain;

  while ((chain = tether_recycler_take (recycler)) != NULL)
    tether_recycler_free_chain (chain);
}

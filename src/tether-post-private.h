/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-post-private.h"
#endif

#include "tether-job-private.h"
#include "tether-loop-manager.h"
#include "tether-queue-private.h"
#include "tether-recycler-private.h"
#include "tether-stats-private.h"

G_BEGIN_DECLS

/* A fire-and-forget submission: one small node, owned by the queue and then
 * by the manager's thread, which runs or drops it and recycles it. Its
 * whole life is here; the core only admits it and routes it. */
typedef struct
{
  TetherNode      node;
  TetherFunc      func;
  gpointer        func_data;
  GDestroyNotify  func_data_destroy;
  GMainContext   *home;        /* where func_data_destroy runs, if not here */
  gint64          queued_at;   /* monotonic; 0 when not sampled */
} TetherPost;

/* Where a manager's thread returns the nodes it is done with, in
 * magazines: a TetherRecycler (see there why not free()). The manager's
 * thread fills its magazine here rather than in a thread-local one: a post
 * is a few hundred instructions, and the lookup would be a tenth more. */
typedef struct
{
  TetherRecycler         recycler;  /* shared, touched once per magazine */
  gboolean               recycle;   /* tether_recycling_allowed(), asked once */
  TetherRecyclerFilling  filling;   /* the manager's thread only */
} TetherPostPool;

TetherPost *tether_post_alloc   (TetherPostPool   *pool);
void        tether_post_recycle (TetherPostPool   *pool,
                                 TetherPost       *post);
void        tether_post_pool_init  (TetherPostPool *pool);
void        tether_post_pool_clear (TetherPostPool *pool);

/* The per-post steps are inline: a post costs about 300 instructions end
 * to end, and a call each would add a tenth. */

/* Any thread, once the manager admitted the post: a node ready to queue.
 * @home is where @func_data_destroy must run, if not on the manager's
 * thread (owned). A @sampled post has its latency recorded. */
static inline TetherPost *
tether_post_new (TetherPostPool *pool,
                 TetherFunc      func,
                 gpointer        func_data,
                 GDestroyNotify  func_data_destroy,
                 GMainContext   *home,
                 gboolean        sampled)
{
  TetherPost *post = tether_post_alloc (pool);

  post->node.kind = TETHER_NODE_POST;
  post->func = func;
  post->func_data = func_data;
  post->func_data_destroy = func_data_destroy;
  post->home = home;
  post->queued_at = sampled ? g_get_monotonic_time () : 0;
  return post;
}

static inline void
tether_post_release (TetherPost *post)
{
  tether_release_func_data (post->home, post->func_data, post->func_data_destroy);
  g_clear_pointer (&post->home, g_main_context_unref);
}

/* The manager's thread: runs the post, then releases its data. The
 * running flag is read only by dup_stats(). Its stores were relaxed: as
 * sequentially consistent ones they are two full barriers per post, on a
 * line no other thread writes, so cheap beside the call. */
static inline void
tether_post_run (TetherPost       *post,
                 TetherPostCounts *counts)
{
  g_atomic_int_set (&counts->running, 1);
  post->func (post->func_data);
  g_atomic_int_set (&counts->running, 0);
  tether_post_release (post);
  tether_stats_bump_own (&counts->ran);
}

/* The manager's thread: a CANCEL stop drops the post unrun. */
static inline void
tether_post_drop (TetherPost       *post,
                  TetherPostCounts *counts)
{
  tether_post_release (post);
  tether_stats_bump_own (&counts->dropped);
}
G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-post-private.h"
#endif

#include "tether-loop-manager.h"
#include "tether-queue-private.h"
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

/* Where a manager's thread returns the nodes it is done with. Producers and
 * the manager's thread are different threads, so plain malloc() and free()
 * would send every node through the allocator's slow, cross-thread path:
 * instead nodes travel back in magazines of TETHER_POST_MAGAZINE. */
typedef struct
{
  TetherNode *full;     /* atomic: one magazine for the next producer to take */
  TetherNode *filling;  /* the manager's thread only */
  guint       n_filling;
} TetherPostPool;

#define TETHER_POST_MAGAZINE 256

TetherPost *tether_post_new     (TetherPostPool   *pool,
                                 TetherFunc        func,
                                 gpointer          func_data,
                                 GDestroyNotify    func_data_destroy,
                                 GMainContext     *home,
                                 gboolean          sampled);
void        tether_post_run     (TetherPost       *post,
                                 TetherPostCounts *counts);
void        tether_post_drop    (TetherPost       *post,
                                 TetherPostCounts *counts);
void        tether_post_recycle (TetherPostPool   *pool,
                                 TetherPost       *post);
void        tether_post_pool_clear (TetherPostPool *pool);

G_END_DECLS

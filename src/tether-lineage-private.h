/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-lineage-private.h"
#endif

#include "tether-lineage.h"
#include "tether-loop-manager.h"

G_BEGIN_DECLS

/* A node per thread (and per adoption). `holders` counts the threads and
 * tokens that may still resolve through the node's entries; when it reaches
 * zero the entries are released. `ref_count` only keeps the memory. */
struct _TetherLineage
{
  gatomicrefcount  ref_count;
  int              holders;   /* atomic */
  TetherLineage   *parent;    /* strong memory ref */
  gboolean         holds_parent;
  guint            depth;
  char            *thread_name;
  gpointer         thread;    /* identity only, for snapshots */
  GMutex           mutex;
  GHashTable      *entries;   /* id -> TetherLoopManager, under mutex */
  GList            all_link;  /* global list, under the global lock */
};

TetherLineage *tether_lineage_get_current     (void);
TetherLineage *tether_lineage_hold            (TetherLineage *self);
void           tether_lineage_release         (TetherLineage *self);
void           tether_lineage_enter_manager_thread (TetherLineage *starter);
void           tether_lineage_exit_manager_thread  (void);
GPtrArray     *tether_lineage_dup_all         (void);
TetherLineage *tether_lineage_ref_memory      (TetherLineage *self);
void           tether_lineage_unref_memory    (TetherLineage *self);

G_END_DECLS

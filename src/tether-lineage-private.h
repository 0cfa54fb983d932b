/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-lineage-private.h"
#endif

#include "tether-lineage.h"
#include "tether-loop-manager.h"

G_BEGIN_DECLS

/* A node per thread (and per adoption). Its `owners` are what may still
 * register managers on it: the thread itself while it runs, tokens and
 * adoptions. Its `holders` are the owners plus the children that keep its
 * entries alive; when they reach zero the node is dead and its entries are
 * released. `ref_count` only keeps the memory.
 *
 * A node with no owner and no entry is a mere link: its children are
 * re-pointed at its parent (taking over its hold there) and it dies, so a
 * chain of threads that each spawn the next and exit costs memory and
 * lookup time for the live and the registering generations only.
 *
 * Lock order: a core's mutex, then the lineage lock, then a node's mutex.
 * No user code runs under either: entries are dropped after both. */
struct _TetherLineage
{
  gatomicrefcount  ref_count; /* the last unref happens under the write lock */
  guint            owners;    /* lineage lock */
  guint            holders;   /* lineage lock: owners + children that hold this */
  TetherLineage   *parent;    /* lineage lock; strong memory ref */
  gboolean         holds_parent; /* lineage lock */
  guint            depth;     /* as created, counting bypassed ancestors */
  char            *thread_name;
  gpointer         thread;    /* identity only, for snapshots */
  GMutex           mutex;
  GHashTable      *entries;   /* id -> TetherLoopManager, under mutex; NULL while empty */
  GList            all_link;  /* global list, lineage lock */
  GList            child_link; /* in parent->children, lineage lock */
  GQueue           children;  /* lineage lock: the nodes whose parent this is */
};

TetherLineage *tether_lineage_get_current     (void);
TetherLineage *tether_lineage_hold            (TetherLineage *self);
void           tether_lineage_release         (TetherLineage *self);
TetherLineage *tether_lineage_new_child       (TetherLineage *parent);
TetherLoopManager *tether_lineage_lookup      (TetherLineage *self,
                                               const char    *key);
void           tether_lineage_lock_all        (void);
void           tether_lineage_unlock_all      (gboolean       in_child);
void           tether_lineage_name_current_thread (const char *name);
void           tether_lineage_enter_manager_thread (TetherLineage *starter);
void           tether_lineage_exit_manager_thread  (void);
GPtrArray     *tether_lineage_dup_all         (void);
TetherLineage *tether_lineage_ref_memory      (TetherLineage *self);
void           tether_lineage_unref_memory    (TetherLineage *self);

G_END_DECLS

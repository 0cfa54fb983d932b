/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-lineage-private.h"
#endif

#include "tether-lineage.h"

G_BEGIN_DECLS

/* A node per thread (and per adoption); its struct is tether-lineage.c's.
 *
 * The lineage knows nothing of what is registered on a node: it carries one
 * pointer of attached data per node for whoever registers things there (the
 * registry, tether-registry.c), asks that owner through
 * TetherLineageDataFuncs whether a node still holds anything (a node that
 * does not is only a link, and its children skip it), and hands the data
 * back when the node dies.
 *
 * Lock order: a core's mutex, then the lineage lock, then whatever the data
 * funcs take (the registry's locks), then tether-detached.c's. */
typedef struct
{
  /* Under the lineage lock, written: whether @data still holds anything. */
  gboolean (*has_entries) (gpointer data);
  /* Under the lineage lock, written: the node of @data died; its owner may
   * not release it yet (that may run user code). */
  void     (*detach)      (gpointer data);
  /* After the lineage lock is released: let @data go. */
  void     (*release)     (gpointer data);
  /* fork(), under the lineage lock: hold, then let go of, every lock of
   * the data's owner. */
  void     (*lock_all)    (void);
  void     (*unlock_all)  (void);
} TetherLineageDataFuncs;

/* For tether_lineage_find(): returns non-%NULL to stop the walk. */
typedef gpointer (*TetherLineageFindFunc) (gpointer data,
                                           gpointer user_data);

TetherLineage *tether_lineage_get_current     (void);
TetherLineage *tether_lineage_hold            (TetherLineage *self);
void           tether_lineage_release         (TetherLineage *self);
TetherLineage *tether_lineage_new_child       (TetherLineage *parent);
void           tether_lineage_set_data_funcs  (const TetherLineageDataFuncs *funcs);
gboolean       tether_lineage_attach_data     (TetherLineage *self,
                                               gpointer       data);
gpointer       tether_lineage_get_data        (TetherLineage *self);
gpointer       tether_lineage_find            (TetherLineage        *self,
                                               TetherLineageFindFunc func,
                                               gpointer              user_data);
const char    *tether_lineage_get_thread_name (TetherLineage *self);
gpointer       tether_lineage_get_thread      (TetherLineage *self);
void           tether_lineage_lock_all        (void);
void           tether_lineage_unlock_all      (gboolean       in_child);
void           tether_lineage_name_current_thread (const char *name);
void           tether_lineage_enter_manager_thread (TetherLineage *starter);
void           tether_lineage_exit_manager_thread  (void);
GPtrArray     *tether_lineage_dup_all         (void);
TetherLineage *tether_lineage_ref_memory      (TetherLineage *self);
void           tether_lineage_unref_memory    (TetherLineage *self);

G_END_DECLS

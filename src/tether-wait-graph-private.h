/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef TETHER_COMPILATION
# error "tether-wait-graph-private.h is internal to libtether"
#endif

#include <glib.h>

#include "tether-event-private.h"

G_BEGIN_DECLS

/* A manager's place in the wait graph: what its thread is blocked on, and
 * the wait_async() calls its work has pending. Embedded in the manager's
 * core; every field belongs to tether-wait-graph.c and its lock. */
typedef struct _TetherWaitNode TetherWaitNode;

struct _TetherWaitNode
{
  TetherWaitNode *waiting_on;       /* whose work or stop this thread blocks on */
  gboolean        waiting_on_stop;  /* for its thread to exit, not its work */
  gboolean        waiting_for_room; /* for room in its queue */
  TetherEvent    *wait_event;       /* the future's event it sleeps on, if any */
  GPtrArray      *async_waits;      /* nodes, once per pending wait_async() made here */
  const char     *label;            /* the manager's id, as messages quote it */
  const guint    *running;          /* atomic: the manager's running jobs */
};

void     tether_wait_node_init        (TetherWaitNode  *node,
                                       const char      *label,
                                       const guint     *running);
void     tether_wait_node_clear       (TetherWaitNode  *node);

char    *tether_wait_graph_begin      (TetherWaitNode  *self,
                                       TetherWaitNode  *target,
                                       gboolean         stop,
                                       gboolean         room,
                                       TetherEvent     *event) G_GNUC_WARN_UNUSED_RESULT;
void     tether_wait_graph_end        (TetherWaitNode  *self);
char    *tether_wait_graph_begin_async (TetherWaitNode *self,
                                        TetherWaitNode *target) G_GNUC_WARN_UNUSED_RESULT;
void     tether_wait_graph_end_async  (TetherWaitNode  *self,
                                       TetherWaitNode  *target);
gboolean tether_wait_graph_is_waiting_on (TetherWaitNode *waiter,
                                          TetherWaitNode *target);
gpointer tether_wait_graph_interrupt  (TetherWaitNode  *self,
                                       gpointer       (*ref_room) (TetherWaitNode *node));

void     tether_wait_graph_lock       (void);
void     tether_wait_graph_unlock     (void);
void     tether_wait_node_reset_in_child (TetherWaitNode *node);

G_END_DECLS

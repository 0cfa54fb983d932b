/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-timers-private.h"
#endif

#include <glib.h>

G_BEGIN_DECLS

/* A manager's timers: a heap, earliest deadline first and, for equal
 * deadlines, in the order they were added, behind one GSource made with the
 * first timer. An entry lives inside the item it times (a job); the heap
 * never learns what that is. The fields of both structs are
 * tether-timers.c's: they are in this header so that they can be embedded. */
typedef struct
{
  gint64   deadline;  /* monotonic */
  guint64  seq;       /* orders equal deadlines */
  guint    index;     /* place in the heap, or a mark: see tether-timers.c */
} TetherTimerEntry;

/* Called on the manager's thread for each entry that is due, after it has
 * left the heap. */
typedef void (*TetherTimersFireFunc) (gpointer          data,
                                      TetherTimerEntry *entry);

typedef struct
{
  GMutex                lock;
  GPtrArray            *heap;    /* lock: TetherTimerEntry, a binary min-heap */
  guint64               seq;     /* lock */
  GSource              *source;  /* lock; made with the first timer */
  TetherTimersFireFunc  fire;
  gpointer              data;
} TetherTimers;

void     tether_timer_entry_init  (TetherTimerEntry     *entry,
                                   gint64                deadline);
void     tether_timers_init       (TetherTimers         *self,
                                   TetherTimersFireFunc  fire,
                                   gpointer              data);
void     tether_timers_clear      (TetherTimers         *self);
gboolean tether_timers_add        (TetherTimers         *self,
                                   GMainContext         *context,
                                   TetherTimerEntry     *entry);
gboolean tether_timers_remove     (TetherTimers         *self,
                                   TetherTimerEntry     *entry);
GSource *tether_timers_steal_source (TetherTimers       *self);
void     tether_timers_lock       (TetherTimers         *self);
void     tether_timers_unlock     (TetherTimers         *self);
void     tether_timers_reset_in_child (TetherTimers     *self);

G_END_DECLS

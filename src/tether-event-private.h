/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-event-private.h"
#endif

#include <glib.h>

G_BEGIN_DECLS

/* A one-shot event: one int, set once, waited on by any number of threads.
 * Setting it costs one atomic exchange, plus a wake-up only if someone is
 * asleep on it; a waiter may spin a while before it sleeps.
 *
 * Threads sleep on the word itself with a futex where the build found one
 * (HAVE_FUTEX: Linux, unless configured with -Dfutex=disabled). Elsewhere
 * each event has a mutex and a condition of its own, touched only when a
 * waiter actually sleeps; GLib's GMutex and GCond are a pointer or two
 * each and, where GLib implements them with futexes, need no allocation. */
typedef struct
{
  int     word;   /* TETHER_EVENT_UNSET, _SLEEPERS or _SET */
#ifndef HAVE_FUTEX
  GMutex  mutex;  /* guards sleeping on word, and setting it over sleepers */
  GCond   cond;
#endif
} TetherEvent;

void tether_event_init  (TetherEvent *event);
void tether_event_clear (TetherEvent *event);

static inline gboolean
tether_event_is_set (TetherEvent *event)
{
  return g_atomic_int_get (&event->word) == 2;
}

typedef gboolean (*TetherSpinDone) (gpointer data);

void     tether_event_set        (TetherEvent *event);
gboolean tether_spin_until       (TetherSpinDone  done,
                                  gpointer        data,
                                  gint64          end);
gboolean tether_event_wait_until (TetherEvent *event,
                                  gint64       spin_usec,
                                  gint64       deadline);
gboolean tether_event_wait_until_or (TetherEvent    *event,
                                     gint64          spin_usec,
                                     gint64          deadline,
                                     TetherSpinDone  abort,
                                     gpointer        abort_data);
void     tether_event_nudge      (TetherEvent *event);

/* A pause instruction for spin loops: it lets a sibling hyperthread run and
 * saves power, without giving up the CPU. */
static inline void
tether_cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__ ("yield");
#endif
}

G_END_DECLS

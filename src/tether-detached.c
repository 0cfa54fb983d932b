/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-detached-private.h"

/* What tether_loop_manager_wait_detached() waits for: manager threads that
 * the last unref of their manager let go of while they drain (nobody joins
 * them), and registry tables on their way to letting their managers go
 * (whose last unref will detach a drain). Each is added once and removed
 * once; the count is process-wide. */
static GMutex lock;
static GCond  cond;
static guint  n_pending;

/* Any thread. */
void
tether_detached_add (void)
{
  g_mutex_lock (&lock);
  n_pending++;
  g_mutex_unlock (&lock);
}

/* Any thread: one tether_detached_add() has ended (the thread is about to
 * exit, or the table's managers are let go). */
void
tether_detached_remove (void)
{
  g_mutex_lock (&lock);
  g_assert (n_pending > 0);
  if (--n_pending == 0)
    g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
}

/* Any thread: waits until nothing is pending, or @deadline (monotonic; -1:
 * no limit) passes. Returns whether nothing is pending. */
gboolean
tether_detached_wait (gint64 deadline)
{
  gboolean none;

  g_mutex_lock (&lock);
  while (n_pending > 0)
    {
      if (deadline < 0)
        g_cond_wait (&cond, &lock);
      else if (!g_cond_wait_until (&cond, &lock, deadline))
        break;
    }
  none = n_pending == 0;
  g_mutex_unlock (&lock);

  return none;
}

/* fork(): a leaf lock, taken last (see tether-fork.c). */
void
tether_detached_lock (void)
{
  g_mutex_lock (&lock);
}

void
tether_detached_unlock (void)
{
  g_mutex_unlock (&lock);
}

/* fork(), in the child, with the lock held: the threads counted were the
 * parent's, and nobody here will see them end. */
void
tether_detached_reset_in_child (void)
{
  n_pending = 0;
  g_cond_init (&cond);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#ifdef G_OS_UNIX
#include <pthread.h>
#endif

#include "tether-core-private.h"
#include "tether-detached-private.h"
#include "tether-fork-private.h"
#include "tether-lineage-private.h"

/* fork() copies one thread. Every lock another thread held at that moment
 * stays locked in the child for ever, and whatever it protected may be half
 * changed; the managers' threads are gone, though their managers still say
 * they run. So around fork() Tether holds every lock it has, and in the
 * child it turns each manager into a stopped one that can start again.
 *
 * Lock order, for all of Tether (fork's prepare handler takes them all in
 * this order; nothing may take them in another):
 *
 *  1. tether-core.c's list of cores. Never taken while a core's mutex is
 *     held, so a core's last reference is never dropped there.
 *  2. each core's mutex, in list order: never two at once elsewhere;
 *  3. that core's timers lock, then its statistics ring lock (leaves);
 *  4. tether-core.c's context_lock and runs_lock, then
 *     tether-wait-graph.c's lock (leaves);
 *  5. the lineage lock (tether-lineage.c), then the registry's list of
 *     tables and each table's mutex (tether-registry.c, which the lineage
 *     asks through its data funcs);
 *  7. tether-detached.c's lock, a leaf taken under the lineage lock (a
 *     registry table whose node dies is counted there). It came before the
 *     lineage lock once, and ThreadSanitizer found the inversion: a thread
 *     exiting while another forked could deadlock.
 *
 * What no lock protects is lock-free and reset in the child: the submission
 * queue (a producer may have been half-way through a push) and the counters.
 * Post magazines are lists that are consistent at every step: they stay.
 * Locks that are not Tether's (a job's, a future's, GLib's own) are not
 * covered: see the LoopManager documentation for what that means. */

#ifdef G_OS_UNIX
static void
fork_prepare (void)
{
  tether_core_lock_all_for_fork ();
  tether_lineage_lock_all ();
  tether_detached_lock ();
}

static void
fork_parent (void)
{
  tether_detached_unlock ();
  tether_lineage_unlock_all (FALSE);
  tether_core_unlock_all_in_parent ();
}

static void
fork_child (void)
{
  /* The threads that last unrefs detached were the parent's, and nobody
   * here will see them end. */
  tether_detached_reset_in_child ();
  tether_detached_unlock ();
  tether_lineage_unlock_all (TRUE);
  tether_core_unlock_all_in_child ();
}
#endif

/* Once, before the first manager exists (TetherLoopManager's class_init):
 * registers the handlers. */
void
tether_fork_init (void)
{
#ifdef G_OS_UNIX
  static gsize registered;

  if (g_once_init_enter (&registered))
    {
      if (pthread_atfork (fork_prepare, fork_parent, fork_child) != 0)
        g_error ("Tether could not register its fork() handlers");
      g_once_init_leave (&registered, 1);
    }
#endif
}

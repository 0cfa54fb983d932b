/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-admission-private.h"

/* Counters are gsize, which g_atomic_pointer_*() handles: 64 bits wide on
 * 64-bit systems, where they never wrap. On 32-bit ones they wrap after 2^32
 * (as the statistics then do), which is harmless where they are compared:
 * the pending count and the drained check use differences, exact modulo
 * 2^32 while fewer than 2^31 submissions are pending. */
static inline gsize
load_count (gsize *counter)
{
  return g_atomic_pointer_get (counter);
}

void
tether_admission_init (TetherAdmission   *self,
                       TetherQueueSource *source)
{
  self->closed = TRUE;
  self->source = source;
  g_cond_init (&self->room_cond);
}

void
tether_admission_clear (TetherAdmission *self)
{
  g_cond_clear (&self->room_cond);
}

/* With the manager's lock held, as it starts: lock-free submissions may
 * enter. */
void
tether_admission_open (TetherAdmission *self)
{
  g_atomic_int_set (&self->closed, FALSE);
}

/* Any thread, without the lock. */
gboolean
tether_admission_is_open (TetherAdmission *self)
{
  return !g_atomic_int_get (&self->closed);
}

/* With the manager's lock held, as a stop begins: from here every
 * submission is refused; lock-free ones already past their check are
 * counted in n_accepted, and the drain waits for them. Submitters waiting
 * for room wake up to be refused. */
void
tether_admission_close_locked (TetherAdmission *self)
{
  g_atomic_int_set (&self->closed, TRUE);
  /* Waiters count themselves under the same lock before they wait: with
   * none counted, there is nobody to wake, and a stop saves a futex call. */
  if (g_atomic_int_get (&self->room_waiters) > 0)
    g_cond_broadcast (&self->room_cond);
}

/* Takes back the count of a tether_admission_try_enter() that returned
 * %TRUE, for a submission refused after all (the wrong task type), and
 * pokes the manager's thread, which may be waiting for exactly that
 * count to drain. */
void
tether_admission_leave (TetherAdmission *self)
{
  g_atomic_pointer_add (&self->n_accepted, -1);
  tether_queue_source_poke (self->source);
}

/* Accepted and not yet taken by the manager's thread, as it was at one
 * instant. The two counters move independently, so reading them one after
 * the other could pair a stale n_taken with a newer n_accepted and count
 * work twice (twice max-pending, with busy submitters). If n_taken did not
 * move around the read of n_accepted, both held together at that read; if
 * the manager's thread keeps moving it, reading n_accepted first gives a
 * figure no higher than the truth at that read. Under the manager's lock
 * with a max-pending, n_accepted does not move and the figure is exact. */
guint
tether_admission_get_n_pending (TetherAdmission *self)
{
  gsize taken, accepted, taken_after = load_count (&self->n_taken);
  gssize pending;

  for (guint tries = 0; tries < 16; tries++)
    {
      taken = taken_after;
      accepted = load_count (&self->n_accepted);
      taken_after = load_count (&self->n_taken);
      if (taken == taken_after)
        break;
    }

  /* A signed difference, so that it holds across a 32-bit wrap. */
  pending = (gssize) (accepted - taken_after);
  return pending > 0 ? (guint) MIN ((gsize) pending, G_MAXUINT) : 0;
}

gsize
tether_admission_get_n_accepted (TetherAdmission *self)
{
  return load_count (&self->n_accepted);
}

/* With the manager's lock held, once closed: every accepted submission was
 * taken. Sequentially consistent, like the closing store and the
 * submitters' count-then-look: a submitter that counted itself before the
 * close is seen here, and the drain waits for its push. */
gboolean
tether_admission_is_drained (TetherAdmission *self)
{
  return load_count (&self->n_accepted) == load_count (&self->n_taken);
}

gboolean
tether_admission_is_bounded (TetherAdmission *self)
{
  return g_atomic_int_get (&self->max_pending) != 0;
}

gboolean
tether_admission_has_room (TetherAdmission *self)
{
  guint max_pending = g_atomic_int_get (&self->max_pending);

  return max_pending == 0 || tether_admission_get_n_pending (self) < max_pending;
}

guint
tether_admission_get_max_pending (TetherAdmission *self)
{
  return g_atomic_int_get (&self->max_pending);
}

/* Any thread; returns whether the bound changed. A raised bound makes room
 * now: the exchange, then the waiters' count, as after taking jobs. */
gboolean
tether_admission_set_max_pending (TetherAdmission *self,
                                  GMutex          *lock,
                                  guint            max_pending)
{
  gboolean changed = (guint) g_atomic_int_exchange (&self->max_pending, max_pending) != max_pending;

  tether_admission_wake_waiters (self, lock);
  return changed;
}

gint64
tether_admission_get_submit_timeout_locked (TetherAdmission *self)
{
  return self->submit_timeout;
}

gboolean
tether_admission_set_submit_timeout_locked (TetherAdmission *self,
                                            gint64           usec)
{
  gboolean changed = self->submit_timeout != usec;

  self->submit_timeout = usec;
  return changed;
}

/* Any thread: the submitters blocked right now waiting for room. */
guint
tether_admission_get_n_waiting (TetherAdmission *self)
{
  return g_atomic_int_get (&self->room_waiters);
}

/* With the manager's lock held, the queue full: one wait for room, until
 * the manager's thread takes jobs, a stop begins, the bound is raised, a
 * CANCEL stop of the caller's own manager interrupts it, or @deadline (-1:
 * none). The caller loops and rechecks everything.
 *
 * Count this waiter, then look at the room once more: the manager's
 * thread takes jobs (or the bound is raised) and then reads the count,
 * without the lock. All four accesses are sequentially consistent, so
 * either this look sees the room made, or that read sees this waiter and
 * broadcasts under the lock, which is held here until the wait releases
 * it. Looking only before counting lost that wake-up: the manager could
 * take the last jobs and read a zero count in between, and then sleep with
 * the queue empty while this waited for room forever. */
void
tether_admission_wait_locked (TetherAdmission *self,
                              GMutex          *lock,
                              gint64           deadline)
{
  g_atomic_int_inc (&self->room_waiters);
  if (!tether_admission_has_room (self))
    {
      if (deadline < 0)
        g_cond_wait (&self->room_cond, lock);
      else
        g_cond_wait_until (&self->room_cond, lock, deadline);
    }
  g_atomic_int_add (&self->room_waiters, -1);
}

/* Any thread, after making room (taking jobs, raising the bound) with a
 * sequentially consistent write: a waiter that counted itself before this
 * read is woken, one that counts itself after it sees the room. */
void
tether_admission_wake_waiters (TetherAdmission *self,
                               GMutex          *lock)
{
  if (g_atomic_int_get (&self->room_waiters) == 0)
    return;
  g_mutex_lock (lock);
  g_cond_broadcast (&self->room_cond);
  g_mutex_unlock (lock);
}

/* The same with the lock held, for waits that other events end (a CANCEL
 * stop of the waiter's own manager). */
void
tether_admission_wake_waiters_locked (TetherAdmission *self)
{
  g_cond_broadcast (&self->room_cond);
}

/* fork(), in the child: the manager's thread is the parent's, and so is
 * the work it accepted, which never ends here; nobody waits. */
void
tether_admission_reset_in_child (TetherAdmission *self)
{
  self->closed = TRUE;
  self->room_waiters = 0;
  self->n_taken = self->n_accepted;
  g_cond_init (&self->room_cond);
}

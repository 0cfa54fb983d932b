/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-event-private.h"

#ifdef HAVE_FUTEX
# include <linux/futex.h>
# include <sys/syscall.h>
# include <time.h>
# include <unistd.h>
#endif

enum {
  EVENT_UNSET,
  EVENT_SLEEPERS,  /* unset, and at least one thread may be asleep on it */
  EVENT_SET,
};

/* How a waiter sleeps and a setter wakes it, in either build: event_sleep()
 * returns at once unless the word still reads SLEEPERS once the sleeper is
 * committed to sleeping (so a change made before that is never missed), and
 * event_wake_all(), called once the word has left SLEEPERS, wakes every
 * thread asleep on the event. */
#ifdef HAVE_FUTEX

/* GLib keeps its futex wrapper private; the raw syscall is all it is. */
static void
event_sleep (TetherEvent *event,
             gint64       deadline)
{
  struct timespec timeout;

  if (deadline >= 0)
    {
      gint64 left = MAX (deadline - g_get_monotonic_time (), 0);

      timeout.tv_sec = left / G_USEC_PER_SEC;
      timeout.tv_nsec = (left % G_USEC_PER_SEC) * 1000;
    }
  syscall (SYS_futex, &event->word, FUTEX_WAIT_PRIVATE, EVENT_SLEEPERS,
           deadline >= 0 ? &timeout : NULL, NULL, 0);
}

static void
event_wake_all (TetherEvent *event)
{
  syscall (SYS_futex, &event->word, FUTEX_WAKE_PRIVATE, G_MAXINT, NULL, NULL, 0);
}

void
tether_event_init (TetherEvent *event)
{
  event->word = EVENT_UNSET;
}

void
tether_event_clear (TetherEvent *event)
{
}

void
tether_event_set (TetherEvent *event)
{
  /* The wake-up after the exchange is a system call on the word's address,
   * which does not touch the memory: a waiter that saw the word set may
   * already have freed it. */
  if (g_atomic_int_exchange (&event->word, EVENT_SET) == EVENT_SLEEPERS)
    event_wake_all (event);
}

#else /* !HAVE_FUTEX */

/* The event's own lock and condition stand in for the futex: the sleeper
 * checks the word under the lock, and every change of the word away from
 * SLEEPERS is followed by (or made under) the lock and a broadcast. */
static void
event_sleep (TetherEvent *event,
             gint64       deadline)
{
  g_mutex_lock (&event->mutex);
  if (g_atomic_int_get (&event->word) == EVENT_SLEEPERS)
    {
      if (deadline < 0)
        g_cond_wait (&event->cond, &event->mutex);
      else
        g_cond_wait_until (&event->cond, &event->mutex, deadline);
    }
  g_mutex_unlock (&event->mutex);
}

static void
event_wake_all (TetherEvent *event)
{
  g_mutex_lock (&event->mutex);
  g_cond_broadcast (&event->cond);
  g_mutex_unlock (&event->mutex);
}

void
tether_event_init (TetherEvent *event)
{
  event->word = EVENT_UNSET;
  g_mutex_init (&event->mutex);
  g_cond_init (&event->cond);
}

/* A set() that found sleepers publishes the word under the lock and wakes
 * them before it lets go: taking the lock once here waits for it to be done
 * with the event, whoever saw the word set and dropped the owner. */
void
tether_event_clear (TetherEvent *event)
{
  g_mutex_lock (&event->mutex);
  g_mutex_unlock (&event->mutex);
  g_cond_clear (&event->cond);
  g_mutex_clear (&event->mutex);
}

void
tether_event_set (TetherEvent *event)
{
  int word;

  /* Nobody asleep: one compare-and-exchange, and no touch after it. */
  if (g_atomic_int_compare_and_exchange_full (&event->word, EVENT_UNSET, EVENT_SET, &word))
    return;
  /* Sleepers (or a nudge in between took them back to UNSET: set anyway;
   * the broadcast is then merely spare). */
  g_mutex_lock (&event->mutex);
  g_atomic_int_set (&event->word, EVENT_SET);
  g_cond_broadcast (&event->cond);
  g_mutex_unlock (&event->mutex);
}

#endif /* HAVE_FUTEX */

/* Spins, pausing the CPU, until @done says so or the monotonic time @end
 * passes. Returns whether @done did. */
gboolean
tether_spin_until (TetherSpinDone  done,
                   gpointer        data,
                   gint64          end)
{
  for (guint i = 1; !done (data); i++)
    {
      tether_cpu_relax ();
      /* The clock costs more than a pause: look at it now and then. */
      if (i % 64 == 0 && g_get_monotonic_time () >= end)
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  TetherEvent    *event;
  TetherSpinDone  abort;
  gpointer        abort_data;
} WaitArgs;

static gboolean
event_is_set_or_aborted (gpointer data)
{
  WaitArgs *args = data;

  return tether_event_is_set (args->event) ||
         (args->abort != NULL && args->abort (args->abort_data));
}

/* Wakes the threads asleep on @event without setting it, so that they look
 * at their abort condition again; whoever makes that condition true does so
 * before calling this. Taking the word back from SLEEPERS makes the wake-up
 * stick: a sleeper that announced itself before this call either finds the
 * word changed when it commits to sleeping (in the futex, or under the
 * event's lock), or is asleep and is woken; one that announces itself after
 * this call checks its condition after announcing. The caller keeps @event
 * alive for the call (see core_interrupt_wait()). */
void
tether_event_nudge (TetherEvent *event)
{
  if (g_atomic_int_compare_and_exchange (&event->word, EVENT_SLEEPERS, EVENT_UNSET))
    event_wake_all (event);
}

/* Spins up to @spin_usec, then sleeps until the event is set, @abort (if
 * not %NULL) returns %TRUE after a tether_event_nudge(), or @deadline
 * (monotonic; -1 for none) passes. Returns whether the event is set. */
gboolean
tether_event_wait_until_or (TetherEvent    *event,
                            gint64          spin_usec,
                            gint64          deadline,
                            TetherSpinDone  abort,
                            gpointer        abort_data)
{
  WaitArgs args = { event, abort, abort_data };

  if (spin_usec > 0)
    {
      gint64 spin_end = g_get_monotonic_time () + spin_usec;

      if (deadline >= 0)
        spin_end = MIN (spin_end, deadline);
      tether_spin_until (event_is_set_or_aborted, &args, spin_end);
    }

  for (;;)
    {
      int word;

      if (tether_event_is_set (event))
        return TRUE;
      if (abort != NULL && abort (abort_data))
        return FALSE;
      if (deadline >= 0 && g_get_monotonic_time () >= deadline)
        return FALSE;
      /* Announce a sleeper, so that set() knows to wake; a set() in between
       * makes the exchange fail and the loop sees it. */
      if (!g_atomic_int_compare_and_exchange_full (&event->word, EVENT_UNSET,
                                                   EVENT_SLEEPERS, &word) &&
          word != EVENT_SLEEPERS)
        continue;
      /* After the announcement: a nudge that came before it is seen here. */
      if (abort != NULL && abort (abort_data))
        return FALSE;
      event_sleep (event, deadline);
    }
}

gboolean
tether_event_wait_until (TetherEvent *event,
                         gint64       spin_usec,
                         gint64       deadline)
{
  return tether_event_wait_until_or (event, spin_usec, deadline, NULL, NULL);
}

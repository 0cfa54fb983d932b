/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-event-private.h"

#ifdef __linux__
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

#ifdef __linux__

/* GLib keeps its futex wrapper private; the raw syscall is all it is. */
static void
futex_wait (int    *word,
            int     expected,
            gint64  deadline)
{
  struct timespec timeout;

  if (deadline >= 0)
    {
      gint64 left = MAX (deadline - g_get_monotonic_time (), 0);

      timeout.tv_sec = left / G_USEC_PER_SEC;
      timeout.tv_nsec = (left % G_USEC_PER_SEC) * 1000;
    }
  syscall (SYS_futex, word, FUTEX_WAIT_PRIVATE, expected,
           deadline >= 0 ? &timeout : NULL, NULL, 0);
}

static void
futex_wake_all (int *word)
{
  syscall (SYS_futex, word, FUTEX_WAKE_PRIVATE, G_MAXINT, NULL, NULL, 0);
}

#else

/* Elsewhere, one mutex and condition for every event in the process: they
 * are touched only when a waiter actually sleeps. */
static GMutex sleep_mutex;
static GCond  sleep_cond;

static void
futex_wait (int    *word,
            int     expected,
            gint64  deadline)
{
  g_mutex_lock (&sleep_mutex);
  if (__atomic_load_n (word, __ATOMIC_ACQUIRE) == expected)
    {
      if (deadline < 0)
        g_cond_wait (&sleep_cond, &sleep_mutex);
      else
        g_cond_wait_until (&sleep_cond, &sleep_mutex, deadline);
    }
  g_mutex_unlock (&sleep_mutex);
}

static void
futex_wake_all (int *word)
{
  g_mutex_lock (&sleep_mutex);
  g_cond_broadcast (&sleep_cond);
  g_mutex_unlock (&sleep_mutex);
}

#endif

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

void
tether_event_set (TetherEvent *event)
{
  if (__atomic_exchange_n (&event->word, EVENT_SET, __ATOMIC_ACQ_REL) == EVENT_SLEEPERS)
    futex_wake_all (&event->word);
}

/* Wakes the threads asleep on @event without setting it, so that they look
 * at their abort condition again; whoever makes that condition true does so
 * before calling this. Taking the word back from SLEEPERS makes the wake-up
 * stick: a sleeper that announced itself before this call either finds the
 * word changed when it enters the futex, or is in it and is woken; one that
 * announces itself after this call checks its condition after announcing. */
void
tether_event_nudge (TetherEvent *event)
{
  int word = EVENT_SLEEPERS;

  if (__atomic_compare_exchange_n (&event->word, &word, EVENT_UNSET, FALSE,
                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
    futex_wake_all (&event->word);
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
      int word = EVENT_UNSET;

      if (tether_event_is_set (event))
        return TRUE;
      if (abort != NULL && abort (abort_data))
        return FALSE;
      if (deadline >= 0 && g_get_monotonic_time () >= deadline)
        return FALSE;
      /* Announce a sleeper, so that set() knows to wake; a set() in between
       * makes the exchange fail and the loop sees it. */
      if (!__atomic_compare_exchange_n (&event->word, &word, EVENT_SLEEPERS, FALSE,
                                        __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE) &&
          word != EVENT_SLEEPERS)
        continue;
      /* After the announcement: a nudge that came before it is seen here. */
      if (abort != NULL && abort (abort_data))
        return FALSE;
      futex_wait (&event->word, EVENT_SLEEPERS, deadline);
    }
}

gboolean
tether_event_wait_until (TetherEvent *event,
                         gint64       spin_usec,
                         gint64       deadline)
{
  return tether_event_wait_until_or (event, spin_usec, deadline, NULL, NULL);
}

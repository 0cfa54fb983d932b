/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one-shot event futures sleep on, in whichever form the build chose:
 * a futex, or (-Dfutex=disabled, and systems without futexes) a GMutex and
 * GCond of the event's own. */
#include "config.h"

#include <glib.h>

#include "tether-event-private.h"
#include "test-util.h"

#define ROUNDS 300

typedef struct
{
  TetherEvent *event;
  gint64       deadline;
  int         *abort_flag;
  gboolean     result;
} Waiter;

static gboolean
flag_is_set (gpointer data)
{
  return g_atomic_int_get ((int *) data) != 0;
}

static gpointer
wait_thread (gpointer data)
{
  Waiter *waiter = data;

  /* No spin: sleep at once, so the sleeping path is what is tested. */
  waiter->result = tether_event_wait_until_or (waiter->event, 0, waiter->deadline,
                                               waiter->abort_flag != NULL ? flag_is_set : NULL,
                                               waiter->abort_flag);
  return NULL;
}

/* Every waiter wakes, whether it was asleep, on its way to sleep, or not
 * yet waiting when the event was set: no wake-up is lost. */
static void
test_set_wakes_all (void)
{
  watchdog_arm (60, "event: a waiter missed the set");
  for (guint round = 0; round < ROUNDS; round++)
    {
      TetherEvent event;
      Waiter waiters[4];
      GThread *threads[4];

      tether_event_init (&event);
      for (guint i = 0; i < G_N_ELEMENTS (waiters); i++)
        {
          waiters[i] = (Waiter) { &event, -1, NULL, FALSE };
          threads[i] = g_thread_new ("waiter", wait_thread, &waiters[i]);
        }
      tether_event_set (&event);
      for (guint i = 0; i < G_N_ELEMENTS (waiters); i++)
        {
          g_thread_join (threads[i]);
          g_assert_true (waiters[i].result);
        }
      g_assert_true (tether_event_is_set (&event));
      tether_event_clear (&event);
    }
  watchdog_disarm ();
}

typedef struct
{
  TetherEvent *event;
  gboolean     result;
} Owner;

/* The waiter owns the event and frees it as soon as it sees it set, while
 * the setter may still be inside tether_event_set(): the set must be its
 * last touch (under valgrind or ASan, a late touch is an error). */
static gpointer
wait_and_free_thread (gpointer data)
{
  Owner *owner = data;

  owner->result = tether_event_wait_until (owner->event, 0, -1);
  tether_event_clear (owner->event);
  g_free (owner->event);
  return NULL;
}

static void
test_free_after_set (void)
{
  watchdog_arm (60, "event: a waiter missed the set");
  for (guint round = 0; round < ROUNDS; round++)
    {
      Owner owner = { g_new (TetherEvent, 1), FALSE };
      GThread *thread;

      tether_event_init (owner.event);
      thread = g_thread_new ("owner", wait_and_free_thread, &owner);
      /* Half the rounds yield first, so the waiter is more often asleep. */
      if (round % 2 == 0)
        g_thread_yield ();
      tether_event_set (owner.event);
      g_thread_join (thread);
      g_assert_true (owner.result);
    }
  watchdog_disarm ();
}

/* A nudge after the abort condition became true ends every wait with
 * %FALSE, and leaves the event unset. */
static void
test_nudge (void)
{
  watchdog_arm (60, "event: a waiter missed the nudge");
  for (guint round = 0; round < ROUNDS; round++)
    {
      TetherEvent event;
      int abort_flag = 0;
      Waiter waiters[2];
      GThread *threads[2];

      tether_event_init (&event);
      for (guint i = 0; i < G_N_ELEMENTS (waiters); i++)
        {
          waiters[i] = (Waiter) { &event, -1, &abort_flag, TRUE };
          threads[i] = g_thread_new ("waiter", wait_thread, &waiters[i]);
        }
      g_atomic_int_set (&abort_flag, 1);
      tether_event_nudge (&event);
      for (guint i = 0; i < G_N_ELEMENTS (waiters); i++)
        {
          g_thread_join (threads[i]);
          g_assert_false (waiters[i].result);
        }
      g_assert_false (tether_event_is_set (&event));
      tether_event_clear (&event);
    }
  watchdog_disarm ();
}

/* An unset event: the wait ends at its deadline; a set one: at once. */
static void
test_deadline (void)
{
  TetherEvent event;
  gint64 start, deadline;

  tether_event_init (&event);
  start = g_get_monotonic_time ();
  deadline = start + 20 * 1000;
  g_assert_false (tether_event_wait_until (&event, 0, deadline));
  g_assert_cmpint (g_get_monotonic_time (), >=, deadline);
  /* With a spin too, shorter than the deadline. */
  deadline = g_get_monotonic_time () + 20 * 1000;
  g_assert_false (tether_event_wait_until (&event, 5 * 1000, deadline));
  g_assert_cmpint (g_get_monotonic_time (), >=, deadline);

  tether_event_set (&event);
  g_assert_true (tether_event_wait_until (&event, 0, -1));
  g_assert_true (tether_event_wait_until (&event, 0, 0));
  tether_event_clear (&event);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#ifdef HAVE_FUTEX
  g_test_message ("events sleep on a futex");
#else
  g_test_message ("events sleep on a GMutex and GCond of their own");
#endif
  g_test_add_func ("/Tether/Event/set-wakes-all", test_set_wakes_all);
  g_test_add_func ("/Tether/Event/free-after-set", test_free_after_set);
  g_test_add_func ("/Tether/Event/nudge", test_nudge);
  g_test_add_func ("/Tether/Event/deadline", test_deadline);

  return test_run ();
}

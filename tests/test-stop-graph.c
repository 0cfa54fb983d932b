/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stops take part in wait-cycle detection: work on one manager stopping
 * another whose work waits for it, in every stop mode, with blocking and
 * asynchronous waits, across two and three managers. Every test runs under
 * a watchdog: a hang fails it. */
#include "config.h"

#include <tether.h>

#include "tether-core-private.h"
#include "test-util.h"

#define WATCHDOG_SECONDS 120

typedef enum
{
  STOP_DRAIN,
  STOP_CANCEL,
  STOP_WITHIN,
  STOP_UNREF,
} StopKind;

typedef enum
{
  WAIT_BLOCKING,
  WAIT_ASYNC,
} WaitKind;

static const char *stop_names[] = { "drain", "cancel", "within", "unref" };
static const char *wait_names[] = { "wait", "wait-async" };

/* Blocks until @waiter's thread waits on @target, as the wait graph sees
 * it. The thread yields: the polled thread needs no help to get there. */
static void
until_waiting_on (TetherCore *waiter,
                  TetherCore *target)
{
  while (!tether_core_is_waiting_on (waiter, target))
    g_thread_yield ();
}

static void
core_work (TetherWork *work,
           gpointer    user_data)
{
  tether_work_return_pointer (work, tether_core_get_current (), NULL);
}

/* The shared state of a manager, for tests that look at the wait graph. */
static TetherCore *
core_of (TetherLoopManager *manager)
{
  g_autoptr(TetherFuture) future = tether_loop_manager_submit (manager, NULL, core_work,
                                                               NULL, NULL, NULL, NULL);

  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  return tether_future_get_pointer (future, NULL);
}

/* Returns 42, once the Gate in @user_data (if any) is open. */
static void
value_work (TetherWork *work,
            gpointer    user_data)
{
  if (user_data != NULL)
    gate_wait_open (user_data);
  tether_work_return_int (work, 42);
}

/* One hop of a chain: work that waits for @target (a future of the next
 * manager), blocking or asynchronously, and returns its outcome. */
typedef struct
{
  TetherFuture *target;
  WaitKind      wait;
  Gate         *gate;        /* entered and waited for first, if set */
  GError       *wait_error;  /* what the wait said */
  gboolean      waited;
} Waiter;

static void
async_waited (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  TetherWork *work = user_data;
  Waiter *w = g_object_get_data (G_OBJECT (work), "waiter");

  if (tether_future_wait_finish (TETHER_FUTURE (source), result, &w->wait_error))
    tether_work_return_int (work, tether_future_get_int (TETHER_FUTURE (source), NULL));
  else
    tether_work_return_error (work, g_error_copy (w->wait_error));
  g_atomic_int_set (&w->waited, TRUE);
  g_object_unref (work);
}

static void
waiter_work (TetherWork *work,
             gpointer    user_data)
{
  Waiter *w = user_data;

  if (w->gate != NULL)
    {
      gate_enter (w->gate);
      gate_wait_open (w->gate);
    }

  if (w->wait == WAIT_ASYNC)
    {
      /* Deferred: the work ends from the callback. */
      g_object_set_data (G_OBJECT (work), "waiter", w);
      tether_future_wait_async (w->target, tether_work_get_cancellable (work),
                                async_waited, g_object_ref (work));
      return;
    }

  if (tether_future_wait (w->target, -1, NULL, &w->wait_error))
    tether_work_return_int (work, tether_future_get_int (w->target, NULL));
  else
    tether_work_return_error (work, g_error_copy (w->wait_error));
  g_atomic_int_set (&w->waited, TRUE);
}

/* Work that stops a manager, once the wait graph shows each pair of @poll
 * waiting (waiter, target, waiter, target...) and @go is open (if set). */
typedef struct
{
  TetherLoopManager *victim;       /* a reference, given away by STOP_UNREF */
  StopKind           stop;
  TetherCore        *poll[4];
  Gate              *go;
  gboolean           stop_ok;
  GError            *stop_error;
  TetherFuture      *victim_work;
  gboolean           victim_work_done; /* when the stop returned */
} Stopper;

static void
stopper_work (TetherWork *work,
              gpointer    user_data)
{
  Stopper *s = user_data;

  for (guint i = 0; i < G_N_ELEMENTS (s->poll) && s->poll[i] != NULL; i += 2)
    until_waiting_on (s->poll[i], s->poll[i + 1]);
  if (s->go != NULL)
    gate_wait_open (s->go);

  switch (s->stop)
    {
    case STOP_DRAIN:
      tether_loop_manager_stop (s->victim, TETHER_STOP_MODE_DRAIN);
      s->stop_ok = TRUE;
      break;
    case STOP_CANCEL:
      tether_loop_manager_stop (s->victim, TETHER_STOP_MODE_CANCEL);
      s->stop_ok = TRUE;
      break;
    case STOP_WITHIN:
      s->stop_ok = tether_loop_manager_stop_within (s->victim, 100 * 1000, NULL, NULL,
                                                    &s->stop_error);
      break;
    case STOP_UNREF:
      g_assert_finalize_object (g_steal_pointer (&s->victim));
      s->stop_ok = TRUE;
      break;
    }
  s->victim_work_done = s->victim_work != NULL && tether_future_is_done (s->victim_work);
  tether_work_return_boolean (work, TRUE);
}

typedef struct
{
  StopKind stop;
  WaitKind wait;
} Combo;

static Combo *
combo_new (StopKind stop,
           WaitKind wait)
{
  Combo *c = g_new (Combo, 1);

  c->stop = stop;
  c->wait = wait;
  return c;
}

/* Work on A waits for work on B (blocking or not); then work on B stops A.
 * The stop closes a cycle: stop() begins it and returns, stop_within()
 * fails and stops nothing, the last unref never waits. */
static void
test_stop_waiter (gconstpointer data)
{
  const Combo *c = data;
  TetherLoopManager *a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) stop_future = NULL;
  g_autoptr(TetherFuture) y = NULL;
  g_autoptr(TetherFuture) w_future = NULL;
  g_autoptr(GError) error = NULL;
  Gate go;
  Stopper s = { g_object_ref (a), c->stop, { a_core, b_core }, &go, FALSE, NULL, NULL, FALSE };
  Waiter w = { NULL, c->wait, NULL, NULL, FALSE };
  Gate y_gate;

  gate_init (&go);
  gate_init (&y_gate);
  watchdog_arm (WATCHDOG_SECONDS, "a stop that closes a cycle");

  /* B runs the stopper first; Y, which A's work waits for, is queued behind it. */
  stop_future = tether_loop_manager_submit (b, NULL, stopper_work, &s, NULL, NULL, NULL);
  /* Y waits for its gate: in CANCEL mode until the wait it ends has been
   * seen to end, so that Y cannot complete first. */
  if (c->stop != STOP_CANCEL)
    gate_open (&y_gate);
  y = tether_loop_manager_submit (b, NULL, value_work, &y_gate, NULL, NULL, NULL);
  w.target = y;
  w_future = tether_loop_manager_submit (a, NULL, waiter_work, &w, NULL, NULL, NULL);
  s.victim_work = w_future;
  g_clear_object (&a);
  if (c->stop != STOP_UNREF)
    a = g_object_ref (s.victim);
  gate_open (&go);

  g_assert_true (tether_future_wait (stop_future, -1, NULL, NULL));
  /* It did not wait for A, whose work waits for B. (A CANCEL stop ends
   * that wait, so A's work may have ended by now.) */
  if (c->stop != STOP_CANCEL)
    g_assert_false (s.victim_work_done);
  if (c->stop == STOP_WITHIN)
    {
      g_assert_false (s.stop_ok);
      g_assert_error (s.stop_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
      g_assert_nonnull (strstr (s.stop_error->message, "'b' -> 'a' -> 'b'"));
      /* It stopped nothing. */
      g_assert_true (tether_loop_manager_is_running (a));
    }
  else
    {
      g_assert_true (s.stop_ok);
    }

  tether_future_wait (w_future, -1, NULL, &error);
  gate_open (&y_gate);
  g_assert_true (tether_future_wait (y, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (y, NULL), ==, 42);
  if (c->stop == STOP_CANCEL)
    {
      /* The CANCEL stop ended the blocking wait (the work's cancellable the
       * asynchronous one), and left Y alone. */
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (tether_future_get_status (w_future), ==, TETHER_FUTURE_STATUS_CANCELLED);
      g_assert_error (w.wait_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    }
  else
    {
      g_assert_no_error (error);
      g_assert_cmpint (tether_future_get_int (w_future, NULL), ==, 42);
    }

  /* Later stops do not hang. */
  if (a != NULL)
    {
      tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
      g_assert_false (tether_loop_manager_is_running (a));
      g_clear_object (&a);
    }
  g_clear_object (&s.victim);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_loop_manager_wait_detached (-1));
  watchdog_disarm ();

  gate_clear (&go);
  gate_clear (&y_gate);
  g_clear_error (&s.stop_error);
  g_clear_error (&w.wait_error);
}

/* The converse: B's work is blocked stopping A (A's work holds its thread),
 * and then A's work waits for work on B. That wait would close the cycle
 * and is refused; the stop then finishes. */
static void
test_waiter_after_stop (gconstpointer data)
{
  const Combo *c = data;
  TetherLoopManager *a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) stop_future = NULL;
  g_autoptr(TetherFuture) y = NULL;
  g_autoptr(TetherFuture) w_future = NULL;
  Gate gate, go;
  Stopper s = { g_object_ref (a), c->stop, { NULL }, &go, FALSE, NULL, NULL, FALSE };
  Waiter w = { NULL, c->wait, &gate, NULL, FALSE };

  gate_init (&gate);
  gate_init (&go);
  watchdog_arm (WATCHDOG_SECONDS, "a wait on a manager that is stopping the waiter");

  w_future = tether_loop_manager_submit (a, NULL, waiter_work, &w, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  stop_future = tether_loop_manager_submit (b, NULL, stopper_work, &s, NULL, NULL, NULL);
  y = tether_loop_manager_submit (b, NULL, value_work, NULL, NULL, NULL, NULL);
  w.target = y;
  g_clear_object (&a);
  gate_open (&go);

  /* B's thread now waits for A's to exit (the last unref does not). */
  if (c->stop != STOP_UNREF)
    until_waiting_on (b_core, a_core);
  else
    g_assert_true (tether_future_wait (stop_future, -1, NULL, NULL));
  gate_open (&gate);

  g_assert_true (tether_future_wait (stop_future, -1, NULL, NULL));
  g_assert_true (s.stop_ok);
  g_assert_no_error (s.stop_error);
  g_assert_true (tether_future_wait (y, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (y, NULL), ==, 42);
  tether_future_wait (w_future, -1, NULL, NULL);

  if (c->stop == STOP_UNREF)
    {
      /* Nothing waits for A: its work's wait is an ordinary one. */
      g_assert_no_error (w.wait_error);
      g_assert_cmpint (tether_future_get_int (w_future, NULL), ==, 42);
    }
  else
    {
      /* Refused, whatever the mode, and the work it waited for still ran.
       * An asynchronous wait given the work's cancellable, which a CANCEL
       * stop (or a deadline) has fired, reports the cancellation first. */
      if (!(c->wait == WAIT_ASYNC && c->stop != STOP_DRAIN &&
            g_error_matches (w.wait_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
        {
          g_assert_error (w.wait_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
          g_assert_nonnull (strstr (w.wait_error->message, "'a' -> 'b' -> 'a'"));
        }
    }

  g_clear_object (&s.victim);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_loop_manager_wait_detached (-1));
  watchdog_disarm ();
  gate_clear (&gate);
  gate_clear (&go);
  g_clear_error (&w.wait_error);
}

/* Three managers, A -> B -> C: work on A waits for work on B, whose work
 * waits for work on C; then work on C stops A, which closes a cycle
 * through B. */
static void
test_chain_of_three (gconstpointer data)
{
  const Combo *c = data;
  TetherLoopManager *a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  g_autoptr(TetherLoopManager) cm = started ("c", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  TetherCore *c_core = core_of (cm);
  g_autoptr(TetherFuture) stop_future = NULL;
  g_autoptr(TetherFuture) z = NULL;
  g_autoptr(TetherFuture) by = NULL;
  g_autoptr(TetherFuture) aw = NULL;
  Gate go;
  Stopper s = { g_object_ref (a), c->stop, { b_core, c_core, a_core, b_core }, &go,
                FALSE, NULL, NULL, FALSE };
  Waiter wb = { NULL, c->wait, NULL, NULL, FALSE };
  Waiter wa = { NULL, c->wait, NULL, NULL, FALSE };
  Gate z_gate;

  gate_init (&go);
  gate_init (&z_gate);
  watchdog_arm (WATCHDOG_SECONDS, "a stop that closes a cycle of three managers");

  stop_future = tether_loop_manager_submit (cm, NULL, stopper_work, &s, NULL, NULL, NULL);
  if (c->stop != STOP_CANCEL)
    gate_open (&z_gate);
  z = tether_loop_manager_submit (cm, NULL, value_work, &z_gate, NULL, NULL, NULL);
  wb.target = z;
  by = tether_loop_manager_submit (b, NULL, waiter_work, &wb, NULL, NULL, NULL);
  wa.target = by;
  aw = tether_loop_manager_submit (a, NULL, waiter_work, &wa, NULL, NULL, NULL);
  s.victim_work = aw;
  g_clear_object (&a);
  if (c->stop != STOP_UNREF)
    a = g_object_ref (s.victim);
  gate_open (&go);

  g_assert_true (tether_future_wait (stop_future, -1, NULL, NULL));
  if (c->stop != STOP_CANCEL)
    g_assert_false (s.victim_work_done);
  if (c->stop == STOP_WITHIN)
    {
      g_assert_error (s.stop_error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
      g_assert_nonnull (strstr (s.stop_error->message, "'c' -> 'a' -> 'b' -> 'c'"));
    }

  tether_future_wait (aw, -1, NULL, NULL);
  gate_open (&z_gate);
  g_assert_true (tether_future_wait (z, -1, NULL, NULL));
  g_assert_true (tether_future_wait (by, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (by, NULL), ==, 42);
  if (c->stop == STOP_CANCEL)
    g_assert_cmpint (tether_future_get_status (aw), ==, TETHER_FUTURE_STATUS_CANCELLED);
  else
    g_assert_cmpint (tether_future_get_int (aw, NULL), ==, 42);

  /* Later stops do not hang. */
  if (a != NULL)
    tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  g_clear_object (&a);
  g_clear_object (&s.victim);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (cm, TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_loop_manager_wait_detached (-1));
  watchdog_disarm ();
  gate_clear (&go);
  gate_clear (&z_gate);
  g_clear_error (&s.stop_error);
  g_clear_error (&wa.wait_error);
  g_clear_error (&wb.wait_error);
}

typedef struct
{
  Gate     *gate;
  GThread  *thread;
  int       notified;
  gboolean  running;
} Notified;

static void
on_running (GObject    *object,
            GParamSpec *pspec,
            gpointer    user_data)
{
  Notified *n = user_data;

  n->notified++;
  n->thread = g_thread_self ();
  n->running = tether_loop_manager_is_running (TETHER_LOOP_MANAGER (object));
  /* The stop has not joined yet: the work it waits for still holds the
   * manager's thread, and returns once this opens its gate. */
  gate_open (n->gate);
}

/* notify::running fires when the stop begins, on the stopping thread, with
 * is_running() already FALSE, before the stop waits for the thread. */
static void
test_notify_running_when_stop_begins (gconstpointer data)
{
  StopKind stop = GPOINTER_TO_INT (data);
  g_autoptr(TetherLoopManager) manager = started ("notify", NULL);
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(GError) error = NULL;
  Gate gate;
  Notified n = { &gate, NULL, 0, TRUE };

  gate_init (&gate);
  blocker = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  g_signal_connect (manager, "notify::running", G_CALLBACK (on_running), &n);

  watchdog_arm (WATCHDOG_SECONDS, "a stop whose notify::running waits for the join");
  if (stop == STOP_WITHIN)
    g_assert_true (tether_loop_manager_stop_within (manager, -1, NULL, NULL, &error));
  else
    tether_loop_manager_stop (manager, stop == STOP_DRAIN ? TETHER_STOP_MODE_DRAIN
                                                          : TETHER_STOP_MODE_CANCEL);
  watchdog_disarm ();

  g_assert_no_error (error);
  g_assert_cmpint (n.notified, ==, 1);
  g_assert_true (n.thread == g_thread_self ());
  g_assert_false (n.running);
  g_assert_true (tether_future_is_done (blocker));
  /* A second stop begins nothing and says nothing. */
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (n.notified, ==, 1);
  gate_clear (&gate);
}

/* Waits, from work on its manager, for work on another manager that waits
 * for this manager's queued work: the wait is refused, and the work it
 * waited for stays queued and runs later. */
typedef struct
{
  TetherFuture *target;
  Gate         *gate;
  GError       *error;
} Refused;

static void
refused_work (TetherWork *work,
              gpointer    user_data)
{
  Refused *r = user_data;

  gate_enter (r->gate);
  gate_wait_open (r->gate);
  g_assert_false (tether_future_wait (r->target, -1, NULL, &r->error));
  tether_work_return_boolean (work, TRUE);
}

static void
test_refused_wait_leaves_work_queued (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) w = NULL;
  g_autoptr(TetherFuture) z = NULL;
  g_autoptr(TetherFuture) v = NULL;
  g_autoptr(TetherFuture) y = NULL;
  Gate gate;
  Refused r = { NULL, &gate, NULL };
  Waiter vw = { NULL, WAIT_BLOCKING, NULL, NULL, FALSE };

  gate_init (&gate);
  watchdog_arm (WATCHDOG_SECONDS, "a refused wait");

  /* A runs W, with Z queued behind it; B runs V, which waits for Z, with Y
   * queued behind it. Then W waits for Y: a cycle. */
  w = tether_loop_manager_submit (a, NULL, refused_work, &r, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  z = tether_loop_manager_submit (a, NULL, value_work, NULL, NULL, NULL, NULL);
  vw.target = z;
  v = tether_loop_manager_submit (b, NULL, waiter_work, &vw, NULL, NULL, NULL);
  y = tether_loop_manager_submit (b, NULL, value_work, NULL, NULL, NULL, NULL);
  r.target = y;
  until_waiting_on (b_core, a_core);
  g_assert_cmpint (tether_future_get_status (y), ==, TETHER_FUTURE_STATUS_PENDING);
  gate_open (&gate);

  g_assert_true (tether_future_wait (w, -1, NULL, NULL));
  g_assert_error (r.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_nonnull (strstr (r.error->message, "'a' -> 'b' -> 'a'"));
  /* Y was neither run nor cancelled by the refusal: it runs after V. */
  g_assert_true (tether_future_wait (v, -1, NULL, NULL));
  g_assert_true (tether_future_wait (y, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (y, NULL), ==, 42);
  g_assert_cmpint (tether_future_get_int (z, NULL), ==, 42);

  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  gate_clear (&gate);
  g_clear_error (&r.error);
}

/* The same on the manager's own thread: the work waited for runs once the
 * waiting work has returned. */
static void
own_refused_work (TetherWork *work,
                  gpointer    user_data)
{
  TetherLoopManager *manager = user_data;
  g_autoptr(GError) error = NULL;
  TetherFuture *inner = tether_loop_manager_submit (manager, NULL, value_work,
                                                    NULL, NULL, NULL, NULL);

  g_assert_false (tether_future_wait (inner, -1, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_cmpint (tether_future_get_status (inner), ==, TETHER_FUTURE_STATUS_PENDING);
  tether_work_return_object (work, inner);
  g_object_unref (inner);
}

static void
test_refused_own_wait_leaves_work_queued (void)
{
  g_autoptr(TetherLoopManager) manager = started ("own", NULL);
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherFuture) inner = NULL;

  watchdog_arm (WATCHDOG_SECONDS, "a refused wait on the manager's own thread");
  future = tether_loop_manager_submit (manager, NULL, own_refused_work, manager, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (future, -1, NULL, NULL));
  inner = tether_future_dup_object (future, NULL);
  g_assert_true (tether_future_wait (inner, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (inner, NULL), ==, 42);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
}

/* A start made by work on B of a manager A whose stop waits for B would
 * wait for ever: it fails with WOULD_DEADLOCK instead. */
typedef struct
{
  TetherLoopManager *victim;
  Gate              *go;
  GError            *error;
  gboolean           started;
} Restarter;

static void
restart_work (TetherWork *work,
              gpointer    user_data)
{
  Restarter *r = user_data;

  gate_wait_open (r->go);
  tether_loop_manager_stop (r->victim, TETHER_STOP_MODE_DRAIN);
  r->started = tether_loop_manager_start (r->victim, NULL, &r->error);
  tether_work_return_boolean (work, TRUE);
}

static void
test_start_while_stop_waits_for_us (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) rf = NULL;
  g_autoptr(TetherFuture) y = NULL;
  g_autoptr(TetherFuture) w = NULL;
  Gate go;
  Restarter r = { a, &go, NULL, FALSE };
  Waiter ww = { NULL, WAIT_BLOCKING, NULL, NULL, FALSE };

  gate_init (&go);
  watchdog_arm (WATCHDOG_SECONDS, "a start that waits for a stop that waits for it");
  rf = tether_loop_manager_submit (b, NULL, restart_work, &r, NULL, NULL, NULL);
  y = tether_loop_manager_submit (b, NULL, value_work, NULL, NULL, NULL, NULL);
  ww.target = y;
  w = tether_loop_manager_submit (a, NULL, waiter_work, &ww, NULL, NULL, NULL);
  until_waiting_on (a_core, b_core);
  gate_open (&go);

  g_assert_true (tether_future_wait (rf, -1, NULL, NULL));
  g_assert_false (r.started);
  g_assert_error (r.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_true (tether_future_wait (w, -1, NULL, NULL));
  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_loop_manager_start (a, NULL, NULL));
  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  gate_clear (&go);
  g_clear_error (&r.error);
}

/* A CANCEL stop from a foreign thread ends the wait of the stopped
 * manager's work, many times over: the wake-up is never lost. */
static void
test_cancel_ends_wait_race (void)
{
  watchdog_arm (WATCHDOG_SECONDS * 2, "CANCEL stops racing waits");
  for (int i = 0; i < 300; i++)
    {
      g_autoptr(TetherLoopManager) a = started ("a", NULL);
      g_autoptr(TetherLoopManager) b = started ("b", NULL);
      g_autoptr(TetherFuture) y = NULL;
      g_autoptr(TetherFuture) w = NULL;
      g_autoptr(GError) error = NULL;
      Gate y_gate;
      Waiter ww = { NULL, WAIT_BLOCKING, NULL, NULL, FALSE };

      gate_init (&y_gate);
      y = tether_loop_manager_submit (b, NULL, value_work, &y_gate, NULL, NULL, NULL);
      ww.target = y;
      w = tether_loop_manager_submit (a, NULL, waiter_work, &ww, NULL, NULL, NULL);
      /* Anywhere: before the wait, while it spins or while it sleeps. */
      if (i % 2)
        tether_loop_manager_set_wait_spin (b, 50);
      if (i % 3 == 0)
        g_thread_yield ();
      tether_loop_manager_stop (a, TETHER_STOP_MODE_CANCEL);
      g_assert_false (tether_future_wait (w, -1, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_cmpint (tether_future_get_status (y), ==, TETHER_FUTURE_STATUS_PENDING);
      gate_open (&y_gate);
      tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
      g_assert_cmpint (tether_future_get_int (y, NULL), ==, 42);
      gate_clear (&y_gate);
      g_clear_error (&ww.wait_error);
    }
  watchdog_disarm ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (StopKind stop = STOP_DRAIN; stop <= STOP_UNREF; stop++)
    for (WaitKind wait = WAIT_BLOCKING; wait <= WAIT_ASYNC; wait++)
      {
        g_autofree char *p1 = g_strdup_printf ("/Tether/StopGraph/two/%s/%s",
                                               wait_names[wait], stop_names[stop]);
        g_autofree char *p2 = g_strdup_printf ("/Tether/StopGraph/converse/%s/%s",
                                               wait_names[wait], stop_names[stop]);
        g_autofree char *p3 = g_strdup_printf ("/Tether/StopGraph/three/%s/%s",
                                               wait_names[wait], stop_names[stop]);

        g_test_add_data_func_full (p1, combo_new (stop, wait), test_stop_waiter, g_free);
        g_test_add_data_func_full (p2, combo_new (stop, wait), test_waiter_after_stop, g_free);
        g_test_add_data_func_full (p3, combo_new (stop, wait), test_chain_of_three, g_free);
      }

  for (StopKind stop = STOP_DRAIN; stop <= STOP_WITHIN; stop++)
    {
      g_autofree char *path = g_strdup_printf ("/Tether/StopGraph/notify-running/%s",
                                               stop_names[stop]);

      g_test_add_data_func (path, GINT_TO_POINTER (stop), test_notify_running_when_stop_begins);
    }
  g_test_add_func ("/Tether/StopGraph/refused-wait-leaves-work-queued",
                   test_refused_wait_leaves_work_queued);
  g_test_add_func ("/Tether/StopGraph/refused-own-wait-leaves-work-queued",
                   test_refused_own_wait_leaves_work_queued);
  g_test_add_func ("/Tether/StopGraph/start-while-stop-waits-for-us",
                   test_start_while_stop_waits_for_us);
  g_test_add_func ("/Tether/StopGraph/cancel-ends-wait-race", test_cancel_ends_wait_race);

  return test_run ();
}

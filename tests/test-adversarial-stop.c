/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Adversarial tests of the documented stop, unref and wait semantics, written
 * as an outside tester would: stops from callbacks, stops racing stops,
 * submissions and last unrefs, cycles of managers formed in every order,
 * waits for room in a full queue, timers and posts in flight. Every
 * blocking call runs under a watchdog: a hang fails the test. */
#include "config.h"

#include <tether.h>

#include "tether-core-private.h"
#include "test-util.h"

#define WATCHDOG_SECONDS 120

/* Blocks until @waiter's thread waits on @target, as the wait graph sees it. */
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
    {
      gate_enter (user_data);
      gate_wait_open (user_data);
    }
  tether_work_return_int (work, 42);
}

/* Blocking wait for @target, ending with its outcome (or the wait's error). */
typedef struct
{
  TetherFuture *target;
  Gate         *gate;   /* entered and passed first, if set */
  GError       *error;
} Waiter;

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
  if (tether_future_wait (w->target, -1, NULL, &w->error))
    tether_work_return_int (work, tether_future_get_int (w->target, NULL));
  else
    tether_work_return_error (work, g_error_copy (w->error));
}

/* ------------------------------------------------------------------------ */
/* Waiting for room in a full queue is a blocking wait between managers. */

typedef struct
{
  TetherLoopManager *target;
  Gate              *gate;    /* entered and passed first, if set */
  TetherFuture      *future;  /* what the submission returned */
  GError            *error;
} Submitter;

static void
submitter_work (TetherWork *work,
                gpointer    user_data)
{
  Submitter *s = user_data;

  if (s->gate != NULL)
    {
      gate_enter (s->gate);
      gate_wait_open (s->gate);
    }
  s->future = tether_loop_manager_submit (s->target, NULL, value_work, NULL, NULL, NULL,
                                          &s->error);
  tether_work_return_boolean (work, s->future != NULL);
}

/* Work on B waits for Z, queued on A behind W; B's queue is full; then W
 * submits to B and would wait for room that only B's thread makes. That
 * wait closes a cycle: it is refused, not a hang. */
static void
test_room_wait_closes_cycle (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) w = NULL;
  g_autoptr(TetherFuture) z = NULL;
  g_autoptr(TetherFuture) v = NULL;
  g_autoptr(TetherFuture) filler = NULL;
  Gate w_gate;
  Submitter s = { b, &w_gate, NULL, NULL };
  Waiter vw = { NULL, NULL, NULL };

  gate_init (&w_gate);
  watchdog_arm (WATCHDOG_SECONDS, "a wait for room that closes a cycle");
  tether_loop_manager_set_max_pending (b, 1);
  tether_loop_manager_set_submit_timeout (b, -1);

  w = tether_loop_manager_submit (a, NULL, submitter_work, &s, NULL, NULL, NULL);
  gate_wait_entered (&w_gate);
  z = tether_loop_manager_submit (a, NULL, value_work, NULL, NULL, NULL, NULL);
  vw.target = z;
  v = tether_loop_manager_submit (b, NULL, waiter_work, &vw, NULL, NULL, NULL);
  until_waiting_on (b_core, a_core);
  filler = tether_loop_manager_submit (b, NULL, value_work, NULL, NULL, NULL, NULL);
  g_assert_nonnull (filler);
  g_assert_cmpuint (tether_loop_manager_get_n_pending (b), ==, 1);
  gate_open (&w_gate);

  g_assert_true (tether_future_wait (w, -1, NULL, NULL));
  g_assert_null (s.future);
  g_assert_error (s.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_nonnull (strstr (s.error->message, "'a' -> 'b' -> 'a'"));
  g_assert_true (tether_future_wait (v, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (v, NULL), ==, 42);
  g_assert_true (tether_future_wait (filler, -1, NULL, NULL));

  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  gate_clear (&w_gate);
  g_clear_error (&s.error);
  g_clear_error (&vw.error);
}

/* The converse: W on A waits for room in B first; then B's running work
 * waits for work queued on A. That wait closes the cycle and is refused;
 * B's work returns, room appears, and everything ends. */
static void
test_wait_on_room_waiter_closes_cycle (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) w = NULL;
  g_autoptr(TetherFuture) z = NULL;
  g_autoptr(TetherFuture) v = NULL;
  g_autoptr(TetherFuture) filler = NULL;
  Gate v_gate;
  Submitter s = { b, NULL, NULL, NULL };
  Waiter vw = { NULL, &v_gate, NULL };

  gate_init (&v_gate);
  watchdog_arm (WATCHDOG_SECONDS, "a wait on a manager whose thread waits for room");
  tether_loop_manager_set_max_pending (b, 1);
  tether_loop_manager_set_submit_timeout (b, -1);

  v = tether_loop_manager_submit (b, NULL, waiter_work, &vw, NULL, NULL, NULL);
  gate_wait_entered (&v_gate);
  filler = tether_loop_manager_submit (b, NULL, value_work, NULL, NULL, NULL, NULL);
  g_assert_nonnull (filler);
  w = tether_loop_manager_submit (a, NULL, submitter_work, &s, NULL, NULL, NULL);
  z = tether_loop_manager_submit (a, NULL, value_work, NULL, NULL, NULL, NULL);
  vw.target = z;
  /* A's thread now waits for room in B. */
  until_waiting_on (a_core, b_core);
  gate_open (&v_gate);

  g_assert_false (tether_future_wait (v, -1, NULL, NULL));
  g_assert_error (vw.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_assert_nonnull (strstr (vw.error->message, "'b' -> 'a' -> 'b'"));
  g_assert_true (tether_future_wait (w, -1, NULL, NULL));
  g_assert_no_error (s.error);
  g_assert_true (tether_future_wait (s.future, -1, NULL, NULL));
  g_assert_true (tether_future_wait (z, -1, NULL, NULL));
  g_assert_true (tether_future_wait (filler, -1, NULL, NULL));

  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  g_clear_object (&s.future);
  gate_clear (&v_gate);
  g_clear_error (&vw.error);
}

/* A CANCEL stop of A ends the wait for room its running work is blocked
 * in, as it ends a blocking wait on a future: the submission is refused
 * with TETHER_ERROR_BUSY, as by a timeout, and the work can return. */
static void
test_cancel_ends_room_wait (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) w = NULL;
  g_autoptr(TetherFuture) blocker = NULL;
  g_autoptr(TetherFuture) filler = NULL;
  Gate b_gate;
  Submitter s = { b, NULL, NULL, NULL };

  gate_init (&b_gate);
  watchdog_arm (WATCHDOG_SECONDS, "a CANCEL stop of a manager waiting for room");
  tether_loop_manager_set_max_pending (b, 1);
  tether_loop_manager_set_submit_timeout (b, -1);

  blocker = tether_loop_manager_submit (b, NULL, value_work, &b_gate, NULL, NULL, NULL);
  gate_wait_entered (&b_gate);
  filler = tether_loop_manager_submit (b, NULL, value_work, NULL, NULL, NULL, NULL);
  w = tether_loop_manager_submit (a, NULL, submitter_work, &s, NULL, NULL, NULL);
  until_waiting_on (a_core, b_core);

  tether_loop_manager_stop (a, TETHER_STOP_MODE_CANCEL);
  g_assert_true (tether_future_is_done (w));
  g_assert_null (s.future);
  g_assert_error (s.error, TETHER_ERROR, TETHER_ERROR_BUSY);

  gate_open (&b_gate);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  g_assert_true (tether_future_wait (filler, -1, NULL, NULL));
  watchdog_disarm ();
  gate_clear (&b_gate);
  g_clear_error (&s.error);
}

/* B's work stops A while A's work waits for room in B's full queue: the
 * stop closes a cycle through the wait for room, so stop() begins and
 * returns (a CANCEL stop also ends the wait for room), and stop_within()
 * fails with WOULD_DEADLOCK. */
typedef struct
{
  TetherLoopManager *victim;
  TetherCore        *victim_core;
  TetherCore        *self_core;
  int                kind;  /* 0 drain, 1 cancel, 2 within */
  Gate              *gate;
  GError            *error;
  gboolean           ok;
} RoomStopper;

static void
room_stopper_work (TetherWork *work,
                   gpointer    user_data)
{
  RoomStopper *r = user_data;

  gate_enter (r->gate);
  gate_wait_open (r->gate);
  /* B's queue stays full while this runs: only B's thread makes room. */
  until_waiting_on (r->victim_core, r->self_core);
  if (r->kind == 2)
    r->ok = tether_loop_manager_stop_within (r->victim, 1000, NULL, NULL, &r->error);
  else
    {
      tether_loop_manager_stop (r->victim, r->kind ? TETHER_STOP_MODE_CANCEL
                                                   : TETHER_STOP_MODE_DRAIN);
      r->ok = TRUE;
    }
  tether_work_return_boolean (work, TRUE);
}

static void
test_stop_of_room_waiter (gconstpointer data)
{
  int kind = GPOINTER_TO_INT (data);
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) stopper = NULL;
  g_autoptr(TetherFuture) filler = NULL;
  g_autoptr(TetherFuture) w = NULL;
  Gate gate;
  RoomStopper r = { a, a_core, b_core, kind, &gate, NULL, FALSE };
  Submitter s = { b, NULL, NULL, NULL };

  gate_init (&gate);
  watchdog_arm (WATCHDOG_SECONDS, "a stop of a manager waiting for room in the stopper's");
  tether_loop_manager_set_max_pending (b, 1);
  tether_loop_manager_set_submit_timeout (b, -1);
  /* B runs the stopper, with a filler queued behind it: full. */
  stopper = tether_loop_manager_submit (b, NULL, room_stopper_work, &r, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  filler = tether_loop_manager_submit (b, NULL, value_work, NULL, NULL, NULL, NULL);
  w = tether_loop_manager_submit (a, NULL, submitter_work, &s, NULL, NULL, NULL);
  until_waiting_on (a_core, b_core);
  gate_open (&gate);

  g_assert_true (tether_future_wait (stopper, -1, NULL, NULL));
  if (kind == 2)
    {
      g_assert_false (r.ok);
      g_assert_error (r.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
      g_assert_nonnull (strstr (r.error->message, "'b' -> 'a' -> 'b'"));
    }
  else
    g_assert_true (r.ok);
  g_assert_true (tether_future_wait (w, -1, NULL, NULL));
  if (kind == 1 && s.error != NULL)
    g_assert_error (s.error, TETHER_ERROR, TETHER_ERROR_BUSY);
  else
    {
      g_assert_no_error (s.error);
      g_assert_true (tether_future_wait (s.future, -1, NULL, NULL));
    }
  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  g_clear_object (&s.future);
  g_clear_error (&s.error);
  g_clear_error (&r.error);
  gate_clear (&gate);
}

/* ------------------------------------------------------------------------ */
/* What a CANCEL stop does to the waits of its manager's running work. */

typedef struct
{
  TetherLoopManager *self;     /* the manager the work runs on */
  TetherFuture      *pending;  /* never done during the test */
  TetherFuture      *done;     /* done before the work starts */
  Gate              *gate;
  GError            *first;    /* blocking wait, ended by the stop */
  GError            *later;    /* a second blocking wait, after that */
  GError            *timed;    /* a wait with a timeout, after that */
  GError            *poll;     /* a wait that only polls */
  gboolean           done_ok;  /* a wait on a finished future */
  gboolean           saw_request; /* tether_work_is_cancelled() once the wait ended */
} CancelWaits;

static void
cancel_waits_work (TetherWork *work,
                   gpointer    user_data)
{
  CancelWaits *c = user_data;

  gate_enter (c->gate);
  tether_future_wait (c->pending, -1, NULL, &c->first);
  c->saw_request = tether_work_is_cancelled (work);
  tether_future_wait (c->pending, -1, NULL, &c->later);
  tether_future_wait (c->pending, 10 * G_USEC_PER_SEC, NULL, &c->timed);
  tether_future_wait (c->pending, 0, NULL, &c->poll);
  c->done_ok = tether_future_wait (c->done, -1, NULL, NULL);
  tether_work_return_boolean (work, TRUE);
}

/* The documented promises: a CANCEL stop ends the blocking wait with
 * G_IO_ERROR_CANCELLED, every later blocking wait there too (with a timeout
 * as well), a wait that only polls is not ended that way, a finished
 * future still gives its value, and the future waited for is left alone. */
static void
test_cancel_wait_promises (gconstpointer data)
{
  gboolean within = GPOINTER_TO_INT (data);
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) pending = NULL;
  g_autoptr(TetherFuture) done = NULL;
  g_autoptr(TetherFuture) w = NULL;
  g_autoptr(GError) error = NULL;
  Gate b_gate, a_gate;
  CancelWaits c = { a, NULL, NULL, &a_gate, NULL, NULL, NULL, NULL, FALSE, FALSE };
  guint n_ran = 0, n_cancelled = 0;

  gate_init (&b_gate);
  gate_init (&a_gate);
  watchdog_arm (WATCHDOG_SECONDS, "waits ended by a CANCEL stop");
  done = tether_loop_manager_submit (b, NULL, value_work, NULL, NULL, NULL, NULL);
  g_assert_true (tether_future_wait (done, -1, NULL, NULL));
  pending = tether_loop_manager_submit (b, NULL, value_work, &b_gate, NULL, NULL, NULL);
  c.pending = pending;
  c.done = done;
  w = tether_loop_manager_submit (a, NULL, cancel_waits_work, &c, NULL, NULL, NULL);
  until_waiting_on (a_core, b_core);

  if (within)
    {
      g_assert_true (tether_loop_manager_stop_within (a, 1000, &n_ran, &n_cancelled, &error));
      g_assert_no_error (error);
      /* W ended with a value of its own, after its cancellable fired. */
      g_assert_cmpuint (n_ran, ==, 1);
      g_assert_cmpuint (n_cancelled, ==, 0);
    }
  else
    {
      tether_loop_manager_stop (a, TETHER_STOP_MODE_CANCEL);
    }
  g_assert_true (tether_future_is_done (w));
  g_assert_error (c.first, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (c.later, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (c.timed, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (c.poll, TETHER_ERROR, TETHER_ERROR_TIMED_OUT);
  g_assert_true (c.done_ok);
  g_assert_true (c.saw_request);
  g_assert_cmpint (tether_future_get_status (pending), ==, TETHER_FUTURE_STATUS_PENDING);

  gate_open (&b_gate);
  g_assert_true (tether_future_wait (pending, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_int (pending, NULL), ==, 42);
  /* The stopped manager starts again, and its waits are ordinary again. */
  g_assert_true (tether_loop_manager_start (a, NULL, NULL));
  {
    g_autoptr(TetherFuture) y = tether_loop_manager_submit (b, NULL, value_work, NULL,
                                                            NULL, NULL, NULL);
    Waiter ww = { y, NULL, NULL };
    g_autoptr(TetherFuture) again = tether_loop_manager_submit (a, NULL, waiter_work,
                                                                &ww, NULL, NULL, NULL);

    g_assert_true (tether_future_wait (again, -1, NULL, NULL));
    g_assert_cmpint (tether_future_get_int (again, NULL), ==, 42);
  }
  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  gate_clear (&a_gate);
  gate_clear (&b_gate);
  g_clear_error (&c.first);
  g_clear_error (&c.later);
  g_clear_error (&c.timed);
  g_clear_error (&c.poll);
}

/* Work that cancels its own manager, then waits: the wait ends at once. */
static void
self_cancel_work (TetherWork *work,
                  gpointer    user_data)
{
  Waiter *w = user_data;
  g_autoptr(TetherLoopManager) self = tether_loop_manager_ref_current ();

  gate_wait_open (w->gate);
  tether_loop_manager_stop (self, TETHER_STOP_MODE_CANCEL);
  g_assert_false (tether_future_wait (w->target, -1, NULL, &w->error));
  tether_work_return_boolean (work, TRUE);
}

static void
test_self_cancel_then_wait (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  g_autoptr(TetherFuture) y = NULL;
  g_autoptr(TetherFuture) w = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  Gate gate, go;
  Waiter ww = { NULL, &go, NULL };

  gate_init (&gate);
  gate_init (&go);
  watchdog_arm (WATCHDOG_SECONDS, "a wait after the work cancelled its own manager");
  y = tether_loop_manager_submit (b, NULL, value_work, &gate, NULL, NULL, NULL);
  ww.target = y;
  w = tether_loop_manager_submit (a, NULL, self_cancel_work, &ww, NULL, NULL, NULL);
  queued = tether_loop_manager_submit (a, NULL, value_work, NULL, NULL, NULL, NULL);
  gate_open (&go);
  g_assert_true (tether_future_wait (w, -1, NULL, NULL));
  g_assert_error (ww.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (tether_future_wait (queued, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_status (queued), ==, TETHER_FUTURE_STATUS_CANCELLED);
  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  gate_open (&gate);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (tether_future_get_int (y, NULL), ==, 42);
  watchdog_disarm ();
  gate_clear (&gate);
  gate_clear (&go);
  g_clear_error (&ww.error);
}

/* A "cancelled" handler of the running work's cancellable runs on the
 * stopping thread, inside the CANCEL stop. If it blocks on the stopped
 * manager (a nested stop here), the work's wait must already have been
 * ended: it is, before any handler runs. */
typedef struct
{
  TetherLoopManager *manager;
  TetherFuture      *target;
  Gate              *gate;
  GError            *error;
  int                handled;
} NestedStop;

static void
on_work_cancelled (GCancellable *cancellable,
                   gpointer      user_data)
{
  NestedStop *n = user_data;

  /* Blocks until the manager's thread has exited: the work must return. */
  tether_loop_manager_stop (n->manager, TETHER_STOP_MODE_CANCEL);
  g_atomic_int_inc (&n->handled);
}

static void
nested_stop_work (TetherWork *work,
                  gpointer    user_data)
{
  NestedStop *n = user_data;

  g_signal_connect (tether_work_get_cancellable (work), "cancelled",
                    G_CALLBACK (on_work_cancelled), n);
  gate_enter (n->gate);
  tether_future_wait (n->target, -1, NULL, &n->error);
  tether_work_return_boolean (work, TRUE);
}

static void
test_cancelled_handler_blocks_on_stop (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) y = NULL;
  g_autoptr(TetherFuture) w = NULL;
  Gate y_gate, w_gate;
  NestedStop n = { a, NULL, &w_gate, NULL, 0 };

  gate_init (&y_gate);
  gate_init (&w_gate);
  watchdog_arm (WATCHDOG_SECONDS, "a cancelled handler that stops the manager again");
  y = tether_loop_manager_submit (b, NULL, value_work, &y_gate, NULL, NULL, NULL);
  n.target = y;
  w = tether_loop_manager_submit (a, NULL, nested_stop_work, &n, NULL, NULL, NULL);
  gate_wait_entered (&w_gate);
  until_waiting_on (a_core, b_core);
  tether_loop_manager_stop (a, TETHER_STOP_MODE_CANCEL);
  g_assert_cmpint (n.handled, ==, 1);
  g_assert_error (n.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  gate_open (&y_gate);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  gate_clear (&y_gate);
  gate_clear (&w_gate);
  g_clear_error (&n.error);
}

/* ------------------------------------------------------------------------ */
/* Three managers, each one's work acting on the next (waiting for its work,
 * or stopping it), the three edges formed in every order: the edge that
 * closes the cycle is refused (a wait, stop_within) or begins and returns
 * (stop), and then everything ends. */

typedef enum
{
  EDGE_WAIT,
  EDGE_DRAIN,
  EDGE_CANCEL,
  EDGE_WITHIN,
} EdgeKind;

static const char *edge_names[] = { "wait", "drain", "cancel", "within" };

typedef struct
{
  EdgeKind           kind;
  TetherLoopManager *next;
  TetherFuture      *next_value;  /* for EDGE_WAIT */
  Gate               gate;
  GError            *error;
  gboolean           ok;
  int                acted;
} Edge;

static void
edge_work (TetherWork *work,
           gpointer    user_data)
{
  Edge *e = user_data;

  gate_enter (&e->gate);
  gate_wait_open (&e->gate);
  switch (e->kind)
    {
    case EDGE_WAIT:
      e->ok = tether_future_wait (e->next_value, -1, NULL, &e->error);
      break;
    case EDGE_DRAIN:
      tether_loop_manager_stop (e->next, TETHER_STOP_MODE_DRAIN);
      e->ok = TRUE;
      break;
    case EDGE_CANCEL:
      tether_loop_manager_stop (e->next, TETHER_STOP_MODE_CANCEL);
      e->ok = TRUE;
      break;
    case EDGE_WITHIN:
      e->ok = tether_loop_manager_stop_within (e->next, 50 * 1000, NULL, NULL, &e->error);
      break;
    }
  g_atomic_int_set (&e->acted, TRUE);
  tether_work_return_boolean (work, TRUE);
}

typedef struct
{
  guint    perm;  /* index into perms */
  EdgeKind kinds[3];
} Ring;

static const guint perms[6][3] = {
  { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
};

static void
test_ring_of_three (gconstpointer data)
{
  const Ring *r = data;
  TetherLoopManager *m[3];
  TetherCore *cores[3];
  TetherFuture *w[3], *v[3];
  Edge e[3];
  guint closing = perms[r->perm][2];
  gboolean any_cancel = FALSE;

  watchdog_arm (WATCHDOG_SECONDS, "a ring of three managers");
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);

      m[i] = started (id, NULL);
      cores[i] = core_of (m[i]);
    }
  for (guint i = 0; i < 3; i++)
    {
      memset (&e[i], 0, sizeof e[i]);
      e[i].kind = r->kinds[i];
      e[i].next = m[(i + 1) % 3];
      gate_init (&e[i].gate);
      any_cancel |= r->kinds[i] == EDGE_CANCEL;
      w[i] = tether_loop_manager_submit (m[i], NULL, edge_work, &e[i], NULL, NULL, NULL);
      gate_wait_entered (&e[i].gate);
      /* Queued behind the edge's work: what the previous manager waits for. */
      v[i] = tether_loop_manager_submit (m[i], NULL, value_work, NULL, NULL, NULL, NULL);
    }
  for (guint i = 0; i < 3; i++)
    e[i].next_value = v[(i + 1) % 3];

  for (guint k = 0; k < 3; k++)
    {
      guint i = perms[r->perm][k];

      gate_open (&e[i].gate);
      /* Formed (or already over: a CANCEL stop ends the waits it reaches). */
      while (!tether_core_is_waiting_on (cores[i], cores[(i + 1) % 3]) &&
             !g_atomic_int_get (&e[i].acted))
        g_thread_yield ();
    }

  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (tether_future_wait (w[i], -1, NULL, NULL));
      tether_future_wait (v[i], -1, NULL, NULL);
    }

  /* The closing edge did not wait. (A CANCEL stop may have broken the ring
   * before it closed: then only the ends matter.) */
  if (!any_cancel)
    switch (e[closing].kind)
      {
      case EDGE_WAIT:
      case EDGE_WITHIN:
        g_assert_false (e[closing].ok);
        g_assert_error (e[closing].error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
        break;
      default:
        g_assert_true (e[closing].ok);
        break;
      }
  /* A wait that was not refused, with no CANCEL stop anywhere, got its value. */
  for (guint i = 0; i < 3; i++)
    if (!any_cancel && i != closing && e[i].kind == EDGE_WAIT)
      {
        g_assert_no_error (e[i].error);
        g_assert_true (e[i].ok);
      }

  for (guint i = 0; i < 3; i++)
    {
      tether_loop_manager_stop (m[i], TETHER_STOP_MODE_DRAIN);
      g_assert_false (tether_loop_manager_is_running (m[i]));
    }
  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (tether_future_is_done (v[i]));
      g_object_unref (w[i]);
      g_object_unref (v[i]);
      g_object_unref (m[i]);
      gate_clear (&e[i].gate);
      g_clear_error (&e[i].error);
    }
  g_assert_true (tether_loop_manager_wait_detached (-1));
  watchdog_disarm ();
}

/* ------------------------------------------------------------------------ */
/* Concurrent stops of every mode from many threads, racing submissions of
 * every form, restarts and the last unref (on any thread, the manager's own
 * included, from a destroy notify): every submission ends exactly once. */

typedef struct
{
  int ran;
  int destroyed;
  int called_back;  /* submit_async: the callback ran */
  int async_ok;     /* submit_async: it reported success */
} Entry;

typedef struct
{
  Entry             *entry;
  TetherLoopManager *hold;   /* a reference the destroy notify drops, or NULL */
  TetherLoopManager *other;  /* for posts that wait on another manager */
} Item;

static void
item_destroy (gpointer data)
{
  Item *item = data;

  /* May be the last reference, on the manager's own thread. */
  g_clear_object (&item->hold);
  g_atomic_int_inc (&item->entry->destroyed);
  g_free (item);
}

static void
item_work (TetherWork *work,
           gpointer    user_data)
{
  Item *item = user_data;

  g_atomic_int_inc (&item->entry->ran);
  tether_work_return_int (work, 42);
}

static void
item_post (gpointer user_data)
{
  Item *item = user_data;

  g_atomic_int_inc (&item->entry->ran);
  if (item->other != NULL)
    {
      /* Blocks the manager's thread on another manager, which may be ended
       * by a CANCEL stop, or find the other refusing work. */
      g_autoptr(TetherFuture) f = tether_loop_manager_submit (item->other, NULL,
                                                              value_work, NULL, NULL, NULL, NULL);

      if (f != NULL)
        tether_future_wait (f, -1, NULL, NULL);
    }
}

enum { KIND_SUBMIT, KIND_AFTER, KIND_POST, KIND_POST_WAIT, KIND_HOLD, KIND_ASYNC, KIND_CANCELLED,
       N_KINDS };

typedef struct
{
  TetherLoopManager *manager;
  Entry             *entry;
} AsyncCall;

static void
async_called_back (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  AsyncCall *call = user_data;
  GValue value = G_VALUE_INIT;
  g_autoptr(GError) error = NULL;

  call->entry->async_ok = tether_loop_manager_submit_finish (call->manager, result, &value,
                                                             &error);
  if (G_IS_VALUE (&value))
    {
      g_value_unset (&value);
    }
  g_atomic_int_inc (&call->entry->called_back);
  g_object_unref (call->manager);
  g_free (call);
}

typedef struct
{
  TetherLoopManager *manager;  /* this thread's own reference */
  TetherLoopManager *other;
  guint              seed;
  guint              n;
  Entry             *entries;
  int               *kinds;
  gboolean          *accepted;
  TetherFuture     **futures;
  Gate              *go;
  gboolean           keeps_ref;  /* the test holds a reference until the end */
} Racer;

static gpointer
submitter_thread (gpointer data)
{
  Racer *r = data;
  GRand *rand = g_rand_new_with_seed (r->seed);
  GMainContext *context = g_main_context_new ();
  guint n_async = 0, n_called_back = 0;

  g_main_context_push_thread_default (context);
  gate_wait_open (r->go);
  for (guint i = 0; i < r->n; i++)
    {
      Item *item = g_new0 (Item, 1);
      int kind = g_rand_int_range (rand, 0, N_KINDS);

      /* Without a reference of the test's own, queued work holding the
       * manager would keep a restarted manager running for ever. */
      if (kind == KIND_HOLD && !r->keeps_ref)
        kind = KIND_SUBMIT;

      item->entry = &r->entries[i];
      r->kinds[i] = kind;
      switch (kind)
        {
        case KIND_SUBMIT:
          r->futures[i] = tether_loop_manager_submit (r->manager, NULL, item_work, item,
                                                      item_destroy, NULL, NULL);
          r->accepted[i] = r->futures[i] != NULL;
          break;
        case KIND_AFTER:
          r->futures[i] = tether_loop_manager_submit_after (r->manager, NULL,
                                                            g_rand_int_range (rand, 0, 200), item_work, item, item_destroy,
                                                            NULL,
                                                            NULL);
          r->accepted[i] = r->futures[i] != NULL;
          break;
        case KIND_HOLD:
          item->hold = g_object_ref (r->manager);
          r->futures[i] = tether_loop_manager_submit (r->manager, NULL, item_work, item,
                                                      item_destroy, NULL, NULL);
          r->accepted[i] = r->futures[i] != NULL;
          break;
        case KIND_ASYNC:
          {
            AsyncCall *call = g_new0 (AsyncCall, 1);

            call->manager = g_object_ref (r->manager);
            call->entry = item->entry;
            n_async++;
            tether_loop_manager_submit_async (r->manager, NULL, item_work, item, item_destroy,
                                              G_PRIORITY_DEFAULT,
                                              NULL, async_called_back, call);
            /* Accepted or not, the callback tells. */
            r->accepted[i] = TRUE;
          }
          break;
        case KIND_CANCELLED:
          {
            g_autoptr(GCancellable) cancellable = g_cancellable_new ();

            r->futures[i] = tether_loop_manager_submit (r->manager, NULL, item_work,
                                                        item, item_destroy, cancellable, NULL);
            r->accepted[i] = r->futures[i] != NULL;
            g_cancellable_cancel (cancellable);
          }
          break;
        case KIND_POST_WAIT:
          item->other = r->other;
          G_GNUC_FALLTHROUGH;
        case KIND_POST:
          {
            g_autoptr(GError) error = NULL;

            r->accepted[i] = tether_loop_manager_post (r->manager, NULL, item_post, item,
                                                       item_destroy, &error);
            if (!r->accepted[i] && !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING))
              g_assert_error (error, TETHER_ERROR, TETHER_ERROR_BUSY);
          }
          break;
        }
      if (i % 16 == 0)
        g_thread_yield ();
      while (g_main_context_iteration (context, FALSE))
        ;
    }
  g_rand_free (rand);
  g_clear_object (&r->manager);
  /* Every submit_async() hears back exactly once, here. The manager may
   * still be draining (a last unref does not wait): iterate until then. */
  for (;;)
    {
      n_called_back = 0;
      for (guint i = 0; i < r->n; i++)
        n_called_back += g_atomic_int_get (&r->entries[i].called_back);
      if (n_called_back == n_async)
        break;
      g_main_context_iteration (context, TRUE);
    }
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static gpointer
stopper_race_thread (gpointer data)
{
  Racer *r = data;
  GRand *rand = g_rand_new_with_seed (r->seed);

  gate_wait_open (r->go);
  for (guint i = 0; i < r->n; i++)
    {
      guint spin = g_rand_int_range (rand, 0, 200000);
      g_autoptr(GError) error = NULL;

      /* A random moment, without system calls: yields under load can take
       * a time slice each. */
      for (volatile guint k = 0; k < spin; k++)
        ;
      switch (g_rand_int_range (rand, 0, 4))
        {
        case 0:
          tether_loop_manager_stop (r->manager, TETHER_STOP_MODE_DRAIN);
          break;
        case 1:
          tether_loop_manager_stop (r->manager, TETHER_STOP_MODE_CANCEL);
          break;
        case 2:
          g_assert_true (tether_loop_manager_stop_within (r->manager,
                                                          g_rand_int_range (rand, 0, 100),
                                                          NULL, NULL, &error));
          g_assert_no_error (error);
          break;
        case 3:
          if (!tether_loop_manager_start (r->manager, NULL, &error))
            g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING);
          break;
        }
    }
  g_rand_free (rand);
  g_clear_object (&r->manager);
  return NULL;
}

#define RACE_SUBMITTERS 3
#define RACE_STOPPERS   3
#define RACE_PER_THREAD 300

static void
test_race_stops_submissions_unrefs (void)
{
  guint rounds = g_test_slow () ? 100 : 15;
  guint n_accepted = 0, n_ran = 0;

  watchdog_arm (WATCHDOG_SECONDS * 2, "stops racing submissions and last unrefs");
  for (guint round = 0; round < rounds; round++)
    {
      TetherLoopManager *a = started ("race", NULL);
      g_autoptr(TetherLoopManager) b = started ("other", NULL);
      Racer racers[RACE_SUBMITTERS + RACE_STOPPERS];
      GThread *threads[RACE_SUBMITTERS + RACE_STOPPERS];
      Gate go;

      gate_init (&go);
      /* A third of the rounds bounded: submitters then wait for room (or
       * are refused), on the locked paths, while the stops race them. */
      if (round % 3 == 1)
        {
          tether_loop_manager_set_max_pending (a, 16);
          tether_loop_manager_set_submit_timeout (a, round % 2 ? -1 : 200);
        }
      for (guint t = 0; t < G_N_ELEMENTS (racers); t++)
        {
          Racer *r = &racers[t];
          gboolean submitter = t < RACE_SUBMITTERS;

          memset (r, 0, sizeof *r);
          r->manager = g_object_ref (a);
          r->other = b;
          r->seed = round * 100 + t;
          r->keeps_ref = round % 2 == 0;
          r->go = &go;
          r->n = submitter ? RACE_PER_THREAD : 6;
          if (submitter)
            {
              r->entries = g_new0 (Entry, r->n);
              r->kinds = g_new0 (int, r->n);
              r->accepted = g_new0 (gboolean, r->n);
              r->futures = g_new0 (TetherFuture *, r->n);
            }
          threads[t] = g_thread_new ("racer", submitter ? submitter_thread : stopper_race_thread,
                                     r);
        }
      /* Odd rounds: the last reference is a racer's, or a destroy
       * notify's on the manager's own thread. Even rounds keep one here and
       * stop once the racers are done: if a racer's start came last, the
       * queued work holding references (KIND_HOLD) would keep the manager
       * running, not yet dropped, so wait_detached() could not see it. */
      if (round % 2)
        g_clear_object (&a);
      gate_open (&go);
      for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
        g_thread_join (threads[t]);
      if (a != NULL)
        {
          tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
          g_clear_object (&a);
        }
      g_assert_true (tether_loop_manager_wait_detached (-1));

      for (guint t = 0; t < RACE_SUBMITTERS; t++)
        {
          Racer *r = &racers[t];

          for (guint i = 0; i < r->n; i++)
            {
              Entry *e = &r->entries[i];

              g_assert_cmpint (g_atomic_int_get (&e->destroyed), ==, 1);
              n_accepted += r->accepted[i];
              n_ran += e->ran;
              g_assert_cmpint (g_atomic_int_get (&e->ran), <=, 1);
              if (!r->accepted[i])
                g_assert_cmpint (e->ran, ==, 0);
              if (r->kinds[i] == KIND_ASYNC)
                {
                  g_assert_cmpint (e->called_back, ==, 1);
                  g_assert_cmpint (e->async_ok, ==, e->ran);
                }
              else
                g_assert_cmpint (e->called_back, ==, 0);
              if (r->futures[i] != NULL)
                {
                  TetherFutureStatus status = tether_future_get_status (r->futures[i]);

                  if (status == TETHER_FUTURE_STATUS_SUCCEEDED)
                    g_assert_cmpint (e->ran, ==, 1);
                  else
                    {
                      g_assert_cmpint (status, ==, TETHER_FUTURE_STATUS_CANCELLED);
                      g_assert_cmpint (e->ran, ==, 0);
                    }
                  g_object_unref (r->futures[i]);
                }
            }
          g_free (r->entries);
          g_free (r->kinds);
          g_free (r->accepted);
          g_free (r->futures);
        }
      tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
      gate_clear (&go);
    }
  g_test_message ("%u accepted, %u ran, of %u", n_accepted, n_ran,
                  rounds * RACE_SUBMITTERS * RACE_PER_THREAD);
  /* Not an assertion on timing: only that the race took place at all. */
  g_assert_cmpuint (n_accepted, >, 0);
  watchdog_disarm ();
}

/* ------------------------------------------------------------------------ */
/* Stops from inside wait_async() callbacks, on a manager's thread. */

typedef struct
{
  TetherLoopManager *self;    /* B: the manager the deferred work runs on */
  TetherLoopManager *victim;  /* A */
  TetherFuture      *target;  /* A's work, waited for asynchronously */
  TetherWork        *work;
  gboolean           restarted;
  GError            *wait_error;
  GError            *start_error;
} CallbackStop;

static void
callback_stops (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  CallbackStop *c = user_data;

  tether_future_wait_finish (TETHER_FUTURE (source), result, &c->wait_error);
  /* On B's thread: its own stop begins and returns; A's waits for A. */
  tether_loop_manager_stop (c->self, TETHER_STOP_MODE_CANCEL);
  tether_loop_manager_stop (c->victim, TETHER_STOP_MODE_DRAIN);
  g_assert_false (tether_loop_manager_is_running (c->victim));
  /* And A starts again from here: its stop does not wait for B. */
  c->restarted = tether_loop_manager_start (c->victim, NULL, &c->start_error);
  tether_work_return_boolean (c->work, TRUE);
  g_clear_object (&c->work);
}

static void
deferred_wait_work (TetherWork *work,
                    gpointer    user_data)
{
  CallbackStop *c = user_data;

  c->work = g_object_ref (work);
  tether_future_wait_async (c->target, NULL, callback_stops, c);
}

/* A's work X waits (blocking) for a timer Y on B that would fire much
 * later; B's deferred work D waits asynchronously for X. A CANCEL stop of A
 * from here ends X's wait; D's callback then stops B (its own manager) in
 * CANCEL mode, which cancels Y, stops A again and starts it again. */
static void
test_stop_from_wait_async_callback (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  TetherCore *a_core = core_of (a);
  TetherCore *b_core = core_of (b);
  g_autoptr(TetherFuture) y = NULL;
  g_autoptr(TetherFuture) x = NULL;
  g_autoptr(TetherFuture) d = NULL;
  Waiter xw = { NULL, NULL, NULL };
  CallbackStop c = { b, a, NULL, NULL, FALSE, NULL, NULL };

  watchdog_arm (WATCHDOG_SECONDS, "stops from a wait_async() callback");
  y = tether_loop_manager_submit_after (b, NULL, G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, value_work,
                                        NULL, NULL, NULL, NULL);
  xw.target = y;
  x = tether_loop_manager_submit (a, NULL, waiter_work, &xw, NULL, NULL, NULL);
  c.target = x;
  d = tether_loop_manager_submit (b, NULL, deferred_wait_work, &c, NULL, NULL, NULL);
  until_waiting_on (a_core, b_core);
  until_waiting_on (b_core, a_core);

  tether_loop_manager_stop (a, TETHER_STOP_MODE_CANCEL);
  g_assert_error (xw.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (tether_future_wait (d, -1, NULL, NULL));
  g_assert_error (c.wait_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (c.restarted);
  g_assert_no_error (c.start_error);
  g_assert_true (tether_loop_manager_is_running (a));
  /* B's own CANCEL stop cancelled the timer. */
  g_assert_false (tether_future_wait (y, -1, NULL, NULL));
  g_assert_cmpint (tether_future_get_status (y), ==, TETHER_FUTURE_STATUS_CANCELLED);
  tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
  g_assert_false (tether_loop_manager_is_running (b));
  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  watchdog_disarm ();
  g_clear_error (&xw.error);
  g_clear_error (&c.wait_error);
}

/* The same from the main thread's context: the callback stops the manager
 * whose work it waited for and the one that work waits on. */
typedef struct
{
  TetherLoopManager *a, *b;
  gboolean           done;
} MainStop;

static void
main_callback_stops (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  MainStop *m = user_data;

  tether_future_wait_finish (TETHER_FUTURE (source), result, NULL);
  tether_loop_manager_stop (m->b, TETHER_STOP_MODE_CANCEL);
  tether_loop_manager_stop (m->a, TETHER_STOP_MODE_CANCEL);
  m->done = TRUE;
}

static void
test_stop_from_main_wait_async_callback (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherLoopManager) b = started ("b", NULL);
  g_autoptr(TetherFuture) first = NULL;
  g_autoptr(TetherFuture) y = NULL;
  g_autoptr(TetherFuture) x = NULL;
  Waiter xw = { NULL, NULL, NULL };
  MainStop m = { a, b, FALSE };

  watchdog_arm (WATCHDOG_SECONDS, "stops from a wait_async() callback on the main thread");
  g_main_context_push_thread_default (context);
  y = tether_loop_manager_submit_after (b, NULL, G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC, value_work,
                                        NULL, NULL, NULL, NULL);
  xw.target = y;
  x = tether_loop_manager_submit (a, NULL, waiter_work, &xw, NULL, NULL, NULL);
  first = tether_loop_manager_submit (b, NULL, value_work, NULL, NULL, NULL, NULL);
  tether_future_wait_async (first, NULL, main_callback_stops, &m);
  while (!m.done)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  g_assert_cmpint (tether_future_get_status (y), ==, TETHER_FUTURE_STATUS_CANCELLED);
  g_assert_true (tether_future_is_done (x));
  watchdog_disarm ();
  g_clear_error (&xw.error);
}

/* ------------------------------------------------------------------------ */
/* A manager stopping itself and another, while a third waits on both. */

typedef struct
{
  TetherLoopManager *other;
  TetherStopMode     mode;
  Gate              *gate;
} SelfAndOther;

static void
self_and_other_work (TetherWork *work,
                     gpointer    user_data)
{
  SelfAndOther *s = user_data;
  g_autoptr(TetherLoopManager) self = tether_loop_manager_ref_current ();

  gate_wait_open (s->gate);
  tether_loop_manager_stop (self, s->mode);
  tether_loop_manager_stop (s->other, s->mode);
  tether_work_return_int (work, 42);
}

typedef struct
{
  TetherFuture *first, *second;
  GError       *e1, *e2;
} BothWaiter;

static void
both_waiter_work (TetherWork *work,
                  gpointer    user_data)
{
  BothWaiter *w = user_data;

  tether_future_wait (w->first, -1, NULL, &w->e1);
  tether_future_wait (w->second, -1, NULL, &w->e2);
  tether_work_return_boolean (work, TRUE);
}

static void
test_stop_self_and_other (gconstpointer data)
{
  TetherStopMode mode = GPOINTER_TO_INT (data);

  watchdog_arm (WATCHDOG_SECONDS, "a manager stopping itself and another");
  for (int i = 0; i < 50; i++)
    {
      g_autoptr(TetherLoopManager) a = started ("a", NULL);
      g_autoptr(TetherLoopManager) b = started ("b", NULL);
      g_autoptr(TetherLoopManager) c = started ("c", NULL);
      g_autoptr(TetherFuture) fa = NULL;
      g_autoptr(TetherFuture) fb = NULL;
      g_autoptr(TetherFuture) fc = NULL;
      g_autoptr(TetherFuture) fc_back = NULL;
      Gate a_gate;
      SelfAndOther s = { b, mode, &a_gate };
      BothWaiter w = { NULL, NULL, NULL, NULL };
      Gate b_gate;
      Waiter bw = { NULL, &b_gate, NULL };

      gate_init (&b_gate);
      gate_init (&a_gate);

      /* C waits on A's and B's work; B's work waits on C's queued work;
       * A's work stops A, then B, which closes B -> C -> A ... -> B. */
      fa = tether_loop_manager_submit (a, NULL, self_and_other_work, &s, NULL, NULL, NULL);
      w.first = fa;
      fb = tether_loop_manager_submit (b, NULL, waiter_work, &bw, NULL, NULL, NULL);
      w.second = fb;
      fc = tether_loop_manager_submit (c, NULL, both_waiter_work, &w, NULL, NULL, NULL);
      fc_back = tether_loop_manager_submit (c, NULL, value_work, NULL, NULL, NULL, NULL);
      /* B's work waits for the value queued on C behind C's waiter. */
      bw.target = fc_back;
      gate_open (&b_gate);
      if (i % 2)
        g_thread_yield ();
      gate_open (&a_gate);

      g_assert_true (tether_future_wait (fc, -1, NULL, NULL));
      g_assert_true (tether_future_wait (fa, -1, NULL, NULL));
      tether_future_wait (fb, -1, NULL, NULL);
      tether_future_wait (fc_back, -1, NULL, NULL);
      tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
      tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
      tether_loop_manager_stop (c, TETHER_STOP_MODE_DRAIN);
      g_assert_false (tether_loop_manager_is_running (a));
      g_assert_false (tether_loop_manager_is_running (b));
      g_clear_error (&w.e1);
      g_clear_error (&w.e2);
      g_clear_error (&bw.error);
      gate_clear (&b_gate);
      gate_clear (&a_gate);
    }
  watchdog_disarm ();
}

/* ------------------------------------------------------------------------ */
/* Last unrefs, detached drains and restarts. */

/* The last unref, on a foreign thread, of a manager whose work waits on
 * another manager: it returns at once, the drain finishes later, and
 * wait_detached() sees it through. */
typedef struct
{
  TetherLoopManager *manager;
} Dropper;

static gpointer
drop_thread (gpointer data)
{
  Dropper *d = data;

  g_object_unref (d->manager);
  return NULL;
}

static void
test_foreign_unref_while_waiting (void)
{
  watchdog_arm (WATCHDOG_SECONDS, "a last unref while the work waits on another manager");
  for (int i = 0; i < 100; i++)
    {
      TetherLoopManager *a = started ("a", NULL);
      g_autoptr(TetherLoopManager) b = started ("b", NULL);
      TetherCore *a_core = core_of (a);
      TetherCore *b_core = core_of (b);
      g_autoptr(TetherFuture) y = NULL;
      g_autoptr(TetherFuture) x = NULL;
      g_autoptr(TetherFuture) queued = NULL;
      Waiter xw = { NULL, NULL, NULL };
      Gate gate;
      Dropper d = { a };
      GThread *thread;

      gate_init (&gate);
      y = tether_loop_manager_submit (b, NULL, value_work, &gate, NULL, NULL, NULL);
      xw.target = y;
      x = tether_loop_manager_submit (a, NULL, waiter_work, &xw, NULL, NULL, NULL);
      queued = tether_loop_manager_submit (a, NULL, value_work, NULL, NULL, NULL, NULL);
      if (i % 2)
        until_waiting_on (a_core, b_core);
      thread = g_thread_new ("dropper", drop_thread, &d);
      g_thread_join (thread);
      /* Drained, not cancelled: the waits go on. */
      gate_open (&gate);
      g_assert_true (tether_future_wait (x, -1, NULL, NULL));
      g_assert_cmpint (tether_future_get_int (x, NULL), ==, 42);
      g_assert_true (tether_future_wait (queued, -1, NULL, NULL));
      g_assert_true (tether_loop_manager_wait_detached (-1));
      tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
      gate_clear (&gate);
    }
  watchdog_disarm ();
}

/* g_object_run_dispose() stops the manager without waiting, as the last
 * unref does; it can be started again at once, and every submission of the
 * old run and the new one ends once. */
static void
test_restart_after_dispose (void)
{
  watchdog_arm (WATCHDOG_SECONDS, "a restart right after a dispose");
  for (int i = 0; i < 200; i++)
    {
      g_autoptr(TetherLoopManager) a = started ("a", NULL);
      g_autoptr(TetherFuture) before = NULL;
      g_autoptr(TetherFuture) after = NULL;
      g_autoptr(TetherFuture) timer = NULL;
      g_autoptr(GError) error = NULL;
      Gate gate;

      gate_init (&gate);
      before = tether_loop_manager_submit (a, NULL, value_work, &gate, NULL, NULL, NULL);
      timer = tether_loop_manager_submit_after (a, NULL, i % 3 == 0 ? 0 : 1000 * G_USEC_PER_SEC, value_work, NULL, NULL,
                                                NULL, NULL);
      if (i % 2)
        gate_wait_entered (&gate);
      g_object_run_dispose (G_OBJECT (a));
      g_assert_false (tether_loop_manager_is_running (a));
      gate_open (&gate);
      g_assert_true (tether_loop_manager_start (a, NULL, &error));
      g_assert_no_error (error);
      after = tether_loop_manager_submit (a, NULL, value_work, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (tether_future_wait (before, -1, NULL, NULL));
      g_assert_true (tether_future_wait (after, -1, NULL, NULL));
      tether_future_wait (timer, -1, NULL, NULL);
      gate_clear (&gate);
    }
  g_assert_true (tether_loop_manager_wait_detached (-1));
  watchdog_disarm ();
}

/* Work on B stops A while A's work waits on B: the stop begins and
 * returns, leaving A's thread unjoined. A start from here right away waits
 * for that stop and works; so does a last unref instead. */
typedef struct
{
  TetherLoopManager *victim;
  TetherStopMode     mode;
} CycleStop;

static void
cycle_stop_work (TetherWork *work,
                 gpointer    user_data)
{
  CycleStop *c = user_data;

  tether_loop_manager_stop (c->victim, c->mode);
  tether_work_return_int (work, 42);
}

static void
test_restart_after_cycle_stop (void)
{
  watchdog_arm (WATCHDOG_SECONDS, "a restart after a stop that closed a cycle");
  for (int i = 0; i < 100; i++)
    {
      TetherLoopManager *a = started ("a", NULL);
      g_autoptr(TetherLoopManager) b = started ("b", NULL);
      TetherCore *a_core = core_of (a);
      TetherCore *b_core = core_of (b);
      g_autoptr(TetherFuture) x = NULL;
      g_autoptr(TetherFuture) stopper = NULL;
      g_autoptr(TetherFuture) y = NULL;
      g_autoptr(TetherFuture) after = NULL;
      g_autoptr(GError) error = NULL;
      Waiter xw = { NULL, NULL, NULL };
      Gate gate;
      CycleStop c = { a, i % 2 ? TETHER_STOP_MODE_CANCEL : TETHER_STOP_MODE_DRAIN };

      gate_init (&gate);
      /* B: a blocker, then the stopper, then Y which A's work waits for. */
      y = tether_loop_manager_submit (b, NULL, value_work, &gate, NULL, NULL, NULL);
      gate_wait_entered (&gate);
      stopper = tether_loop_manager_submit (b, NULL, cycle_stop_work, &c, NULL, NULL, NULL);
      {
        g_autoptr(TetherFuture) y2 = tether_loop_manager_submit (b, NULL, value_work,
                                                                 NULL, NULL, NULL, NULL);
        xw.target = y2;
        x = tether_loop_manager_submit (a, NULL, waiter_work, &xw, NULL, NULL, NULL);
        until_waiting_on (a_core, b_core);
        gate_open (&gate);
        g_assert_true (tether_future_wait (stopper, -1, NULL, NULL));
        if (i % 4 < 2)
          {
            /* Started again at once: waits for A's stop, which needs Y2. */
            g_assert_true (tether_loop_manager_start (a, NULL, &error));
            g_assert_no_error (error);
            after = tether_loop_manager_submit (a, NULL, value_work, NULL, NULL, NULL, &error);
            g_assert_no_error (error);
            g_assert_true (tether_future_wait (after, -1, NULL, NULL));
            tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
            g_object_unref (a);
          }
        else
          {
            g_object_unref (a);
          }
        tether_future_wait (x, -1, NULL, NULL);
        g_assert_true (tether_future_wait (y2, -1, NULL, NULL));
      }
      g_assert_true (tether_loop_manager_wait_detached (-1));
      tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
      gate_clear (&gate);
      g_clear_error (&xw.error);
    }
  watchdog_disarm ();
}

/* wait_detached() racing new detached drains: it returns once none is
 * left, and every drained post ran. */
typedef struct
{
  int      n;
  int      ran;
  gboolean stop;
} Churn;

static void
count_post (gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

static gpointer
churn_thread (gpointer data)
{
  Churn *c = data;

  for (int i = 0; i < c->n; i++)
    {
      TetherLoopManager *m = started (NULL, NULL);

      for (int k = 0; k < 20; k++)
        g_assert_true (tether_loop_manager_post (m, NULL, count_post, &c->ran, NULL, NULL));
      g_assert_finalize_object (m);   /* posts hold no reference: it dies here */
    }
  return NULL;
}

static gpointer
detached_waiter_thread (gpointer data)
{
  Churn *c = data;

  while (!g_atomic_int_get (&c->stop))
    tether_loop_manager_wait_detached (g_atomic_int_get (&c->stop) ? -1 : 1000);
  g_assert_true (tether_loop_manager_wait_detached (-1));
  return NULL;
}

static void
test_wait_detached_races_drains (void)
{
  Churn churn[2] = { { 100, 0, FALSE }, { 100, 0, FALSE } };
  GThread *producers[2], *waiters[2];

  watchdog_arm (WATCHDOG_SECONDS, "wait_detached() racing new detached drains");
  for (int t = 0; t < 2; t++)
    {
      producers[t] = g_thread_new ("churn", churn_thread, &churn[t]);
      waiters[t] = g_thread_new ("waiter", detached_waiter_thread, &churn[t]);
    }
  for (int t = 0; t < 2; t++)
    g_thread_join (producers[t]);
  for (int t = 0; t < 2; t++)
    g_atomic_int_set (&churn[t].stop, TRUE);
  for (int t = 0; t < 2; t++)
    g_thread_join (waiters[t]);
  g_assert_true (tether_loop_manager_wait_detached (-1));
  for (int t = 0; t < 2; t++)
    g_assert_cmpint (g_atomic_int_get (&churn[t].ran), ==, churn[t].n * 20);
  watchdog_disarm ();
}

/* ------------------------------------------------------------------------ */
/* stop_within() with tiny deadlines, where the stopped manager's work waits
 * on another manager; from a foreign thread (the deadline ends the wait)
 * and from the other manager's work (a cycle: refused). */

typedef struct
{
  TetherLoopManager *victim;
  TetherCore        *victim_core;
  TetherCore        *self_core;
  gboolean           until_cycle;
  Gate              *go;
} WithinFromB;

static void
within_from_b_work (TetherWork *work,
                    gpointer    user_data)
{
  WithinFromB *c = user_data;
  g_autoptr(GError) error = NULL;

  gate_wait_open (c->go);
  if (c->until_cycle)
    until_waiting_on (c->victim_core, c->self_core);
  if (tether_loop_manager_stop_within (c->victim, 1, NULL, NULL, &error))
    tether_work_return_int (work, 1);
  else
    tether_work_return_error (work, g_steal_pointer (&error));
}

static void
test_stop_within_tiny_in_cycles (void)
{
  watchdog_arm (WATCHDOG_SECONDS * 2, "stop_within() with tiny deadlines in cycles");
  for (int i = 0; i < 200; i++)
    {
      g_autoptr(TetherLoopManager) a = started ("a", NULL);
      g_autoptr(TetherLoopManager) b = started ("b", NULL);
      TetherCore *a_core = core_of (a);
      TetherCore *b_core = core_of (b);
      g_autoptr(TetherFuture) y = NULL;
      g_autoptr(TetherFuture) x = NULL;
      g_autoptr(TetherFuture) queued = NULL;
      g_autoptr(TetherFuture) timer = NULL;
      g_autoptr(TetherFuture) f = NULL;
      g_autoptr(GError) error = NULL;
      Waiter xw = { NULL, NULL, NULL };
      Gate gate;
      guint n_ran = 0, n_cancelled = 0;
      int posts_ran = 0;
      Gate go;
      WithinFromB c = { a, a_core, b_core, i % 4 != 1, &go };

      gate_init (&gate);
      gate_init (&go);
      if (i % 2)
        /* B's work stops A within a microsecond, ahead of Y on B. */
        f = tether_loop_manager_submit (b, NULL, within_from_b_work, &c, NULL, NULL, NULL);
      y = tether_loop_manager_submit (b, NULL, value_work, &gate, NULL, NULL, NULL);
      xw.target = y;
      x = tether_loop_manager_submit (a, NULL, waiter_work, &xw, NULL, NULL, NULL);
      queued = tether_loop_manager_submit (a, NULL, value_work, NULL, NULL, NULL, NULL);
      timer = tether_loop_manager_submit_after (a, NULL, i % 5, value_work, NULL, NULL, NULL,
                                                NULL);
      g_assert_true (tether_loop_manager_post (a, NULL, count_post, &posts_ran, NULL, NULL));

      gate_open (&go);
      if (f != NULL)
        {
          gate_open (&gate);
          if (!tether_future_wait (f, -1, NULL, &error))
            {
              /* Refused: it closed the cycle, and stopped nothing. */
              g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
              g_assert_nonnull (strstr (error->message, "'b' -> 'a' -> 'b'"));
            }
          else
            {
              /* It went first: A's wait for B was refused, or cut short by
               * the deadline. */
              g_assert_false (c.until_cycle);
              g_assert_true (tether_future_is_done (x));
            }
          g_assert_true (tether_future_wait (y, -1, NULL, NULL));
          tether_future_wait (x, -1, NULL, NULL);
          tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
        }
      else
        {
          g_assert_true (tether_loop_manager_stop_within (a, i % 7, &n_ran, &n_cancelled, &error));
          g_assert_no_error (error);
          /* X, the queued work, the timer and the post were unfinished,
           * unless they had already ended. */
          g_assert_cmpuint (n_ran + n_cancelled, <=, 4);
          g_assert_true (tether_future_is_done (x));
          g_assert_true (tether_future_is_done (queued));
          g_assert_true (tether_future_is_done (timer));
          gate_open (&gate);
        }
      g_assert_true (tether_future_wait (y, -1, NULL, NULL));
      g_assert_cmpint (tether_future_get_int (y, NULL), ==, 42);
      tether_loop_manager_stop (b, TETHER_STOP_MODE_DRAIN);
      gate_clear (&gate);
      gate_clear (&go);
      gate_clear (&go);
      g_clear_error (&xw.error);
    }
  watchdog_disarm ();
}

/* Work that has returned its value but whose function has not returned yet
 * has finished before a stop that begins then: stop_within() does not count
 * it among the submissions that ended during the stop. */
static void
return_then_block_work (TetherWork *work,
                        gpointer    user_data)
{
  tether_work_return_int (work, 42);
  gate_enter (user_data);
  gate_wait_open (user_data);
}

typedef struct
{
  TetherLoopManager *manager;
  guint              n_ran, n_cancelled;
  gboolean           ok;
} WithinArgs;

static gpointer
within_thread (gpointer data)
{
  WithinArgs *w = data;

  w->ok = tether_loop_manager_stop_within (w->manager, -1, &w->n_ran, &w->n_cancelled, NULL);
  return NULL;
}

static void
test_stop_within_counts_only_unfinished (void)
{
  g_autoptr(TetherLoopManager) a = started ("a", NULL);
  g_autoptr(TetherFuture) done = NULL;
  g_autoptr(TetherFuture) queued = NULL;
  Gate gate;
  WithinArgs w = { a, 0, 0, FALSE };
  GThread *thread;

  gate_init (&gate);
  watchdog_arm (WATCHDOG_SECONDS, "stop_within() counting finished work");
  done = tether_loop_manager_submit (a, NULL, return_then_block_work, &gate, NULL, NULL, NULL);
  queued = tether_loop_manager_submit (a, NULL, value_work, NULL, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  g_assert_true (tether_future_is_done (done));

  thread = g_thread_new ("within", within_thread, &w);
  while (tether_loop_manager_is_running (a))
    g_thread_yield ();
  gate_open (&gate);
  g_thread_join (thread);

  g_assert_true (w.ok);
  /* Only the queued work was unfinished when the stop began; it ran. */
  g_assert_cmpuint (w.n_ran, ==, 1);
  g_assert_cmpuint (w.n_cancelled, ==, 0);
  g_assert_cmpint (tether_future_get_int (queued, NULL), ==, 42);
  watchdog_disarm ();
  gate_clear (&gate);
}

/* ------------------------------------------------------------------------ */
/* A random walk through the graph: work on three managers waits for work
 * of the others, submits to their bounded queues (waiting for room),
 * stops them in every mode, stops them with tiny deadlines and starts them
 * again, in random orders. Nothing here is a deadlock the documentation
 * leaves to the user: every wait is on plain work, so any hang is a
 * library bug, and every submission must end exactly once. */

#define GRAPH_MANAGERS 3

static int graph_refused, graph_cancelled, graph_within_refused;

typedef struct
{
  TetherLoopManager *managers[GRAPH_MANAGERS];
  GMutex             lock;
  GPtrArray         *pool;     /* futures of plain work, any manager */
  int                ran;      /* plain work that ran */
  int                destroyed;
  int                attempts; /* plain submissions made, accepted or not */
  int                posts_ran;
  int                async_ended;
} Graph;

typedef struct
{
  Graph *graph;
  guint  self;
  guint  seed;
} Actor;

static void
graph_value_destroy (gpointer data)
{
  g_atomic_int_inc (&((Graph *) data)->destroyed);
}

static void
graph_value_work (TetherWork *work,
                  gpointer    user_data)
{
  g_atomic_int_inc (&((Graph *) user_data)->ran);
  tether_work_return_int (work, 42);
}

static void
graph_post (gpointer user_data)
{
  g_atomic_int_inc (&((Graph *) user_data)->posts_ran);
}

static void
graph_submit (Graph *g,
              guint  target)
{
  GError *error = NULL;
  TetherFuture *f;

  g_atomic_int_inc (&g->attempts);
  switch (g_random_int_range (0, 4))
    {
    case 0:
      /* Fire-and-forget: only its release is counted. */
      if (!tether_loop_manager_post (g->managers[target], NULL, graph_post, g,
                                     graph_value_destroy, &error))
        g_assert_true (error != NULL);
      g_clear_error (&error);
      return;
    case 1:
      f = tether_loop_manager_submit_after (g->managers[target], NULL,
                                            g_random_int_range (0, 100),
                                            graph_value_work, g, graph_value_destroy, NULL, &error);
      break;
    default:
      f = tether_loop_manager_submit (g->managers[target], NULL, graph_value_work, g,
                                      graph_value_destroy, NULL, &error);
      break;
    }

  if (f != NULL)
    {
      g_mutex_lock (&g->lock);
      g_ptr_array_add (g->pool, f);
      g_mutex_unlock (&g->lock);
    }
  else if (!g_error_matches (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING) &&
           !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_BUSY))
    g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
  g_clear_error (&error);
}

static void
actor_work (TetherWork *work,
            gpointer    user_data)
{
  Actor *a = user_data;
  Graph *g = a->graph;
  GRand *rand = g_rand_new_with_seed (a->seed);

  for (int step = 0; step < 12; step++)
    {
      guint other = (a->self + 1 + g_rand_int_range (rand, 0, GRAPH_MANAGERS - 1)) %
                    GRAPH_MANAGERS;
      TetherLoopManager *m = g->managers[other];
      GError *error = NULL;

      switch (g_rand_int_range (rand, 0, 8))
        {
        case 0: case 1: case 2:
          {
            TetherFuture *f = NULL;

            g_mutex_lock (&g->lock);
            if (g->pool->len > 0)
              f = g_object_ref (g_ptr_array_index (g->pool,
                                                   g_rand_int_range (rand, 0, g->pool->len)));
            g_mutex_unlock (&g->lock);
            if (f != NULL && !tether_future_wait (f, -1, NULL, &error))
              {
                if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
                  g_atomic_int_inc (&graph_refused);
                else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                  g_atomic_int_inc (&graph_cancelled);
                else
                  g_error ("unexpected wait error: %s", error->message);
              }
            g_clear_object (&f);
          }
          break;
        case 3: case 4:
          graph_submit (g, other);
          break;
        case 5:
          tether_loop_manager_stop (m, g_rand_boolean (rand) ? TETHER_STOP_MODE_DRAIN
                                                             : TETHER_STOP_MODE_CANCEL);
          break;
        case 6:
          if (!tether_loop_manager_stop_within (m, g_rand_int_range (rand, 0, 50), NULL, NULL,
                                                &error))
            {
              g_assert_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK);
              g_atomic_int_inc (&graph_within_refused);
            }
          break;
        case 7:
          if (!tether_loop_manager_start (m, NULL, &error) &&
              !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
            g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING);
          break;
        }
      g_clear_error (&error);
    }
  g_rand_free (rand);
  tether_work_return_boolean (work, TRUE);
}

/* Deferred work that waits asynchronously for a plain future (with its
 * cancellable, which a CANCEL stop fires, or without), then, from the
 * callback on its manager's thread, stops or starts another manager or
 * submits to it, and only then returns. */
typedef struct
{
  Actor       actor;
  TetherWork *work;
} AsyncActor;

static void
async_actor_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  AsyncActor *aa = user_data;
  Graph *g = aa->actor.graph;
  guint other = (aa->actor.self + 1 + g_random_int_range (0, GRAPH_MANAGERS - 1)) %
                GRAPH_MANAGERS;
  GError *error = NULL;

  if (!tether_future_wait_finish (TETHER_FUTURE (source), result, &error) &&
      !g_error_matches (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK))
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  switch (g_random_int_range (0, 3))
    {
    case 0:
      tether_loop_manager_stop (g->managers[other], g_random_boolean ()
                                ? TETHER_STOP_MODE_DRAIN : TETHER_STOP_MODE_CANCEL);
      break;
    case 1:
      tether_loop_manager_start (g->managers[other], NULL, NULL);
      break;
    default:
      graph_submit (g, other);
      break;
    }
  g_atomic_int_inc (&g->async_ended);
  tether_work_return_boolean (aa->work, TRUE);
  g_clear_object (&aa->work);
}

static void
async_actor_work (TetherWork *work,
                  gpointer    user_data)
{
  AsyncActor *aa = user_data;
  Graph *g = aa->actor.graph;
  TetherFuture *f = NULL;

  g_mutex_lock (&g->lock);
  if (g->pool->len > 0)
    f = g_object_ref (g_ptr_array_index (g->pool, g_random_int_range (0, g->pool->len)));
  g_mutex_unlock (&g->lock);
  if (f == NULL)
    {
      g_atomic_int_inc (&g->async_ended);
      tether_work_return_boolean (work, FALSE);
      return;
    }
  aa->work = g_object_ref (work);
  tether_future_wait_async (f, g_random_boolean () ? tether_work_get_cancellable (work) : NULL,
                            async_actor_done, aa);
  g_object_unref (f);
}

static void
test_graph_random_walk (void)
{
  guint rounds = g_test_slow () ? 400 : 60;

  watchdog_arm (WATCHDOG_SECONDS * 2, "a random walk through the wait graph");
  for (guint round = 0; round < rounds; round++)
    {
      Graph g = { { NULL } };
      g_autoptr(GPtrArray) actors = g_ptr_array_new_with_free_func (g_object_unref);
      Actor actor_data[GRAPH_MANAGERS * 3];
      AsyncActor async_data[GRAPH_MANAGERS * 2];
      g_autoptr(GPtrArray) async_futures = g_ptr_array_new_with_free_func (g_object_unref);
      int n_succeeded = 0;

      g_mutex_init (&g.lock);
      g.pool = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; i < GRAPH_MANAGERS; i++)
        {
          g_autofree char *id = g_strdup_printf ("g%u", i);

          g.managers[i] = started (id, NULL);
          if (round % 2)
            {
              tether_loop_manager_set_max_pending (g.managers[i], 2);
              tether_loop_manager_set_submit_timeout (g.managers[i], -1);
            }
        }
      for (guint i = 0; i < GRAPH_MANAGERS; i++)
        graph_submit (&g, i);
      for (guint k = 0; k < G_N_ELEMENTS (actor_data); k++)
        {
          Actor *a = &actor_data[k];
          TetherFuture *f;

          a->graph = &g;
          a->self = k % GRAPH_MANAGERS;
          a->seed = round * 1000 + k;
          /* From this thread (not a manager's): a full queue waits here. */
          f = tether_loop_manager_submit (g.managers[a->self], NULL, actor_work, a,
                                          NULL, NULL, NULL);
          if (f != NULL)
            g_ptr_array_add (actors, f);
        }

      for (guint k = 0; k < G_N_ELEMENTS (async_data); k++)
        {
          AsyncActor *aa = &async_data[k];
          TetherFuture *f;

          aa->actor.graph = &g;
          aa->actor.self = k % GRAPH_MANAGERS;
          aa->work = NULL;
          f = tether_loop_manager_submit (g.managers[aa->actor.self], NULL,
                                          async_actor_work, aa, NULL, NULL, NULL);
          if (f != NULL)
            g_ptr_array_add (async_futures, f);
        }

      for (guint k = 0; k < actors->len; k++)
        tether_future_wait (g_ptr_array_index (actors, k), -1, NULL, NULL);
      for (guint k = 0; k < async_futures->len; k++)
        tether_future_wait (g_ptr_array_index (async_futures, k), -1, NULL, NULL);
      for (guint i = 0; i < GRAPH_MANAGERS; i++)
        tether_loop_manager_stop (g.managers[i], TETHER_STOP_MODE_DRAIN);
      for (guint k = 0; k < actors->len; k++)
        g_assert_true (tether_future_is_done (g_ptr_array_index (actors, k)));
      for (guint k = 0; k < async_futures->len; k++)
        g_assert_true (tether_future_is_done (g_ptr_array_index (async_futures, k)));

      for (guint k = 0; k < g.pool->len; k++)
        {
          TetherFuture *f = g_ptr_array_index (g.pool, k);
          TetherFutureStatus status = tether_future_get_status (f);

          g_assert_true (status == TETHER_FUTURE_STATUS_SUCCEEDED ||
                         status == TETHER_FUTURE_STATUS_CANCELLED);
          n_succeeded += status == TETHER_FUTURE_STATUS_SUCCEEDED;
        }
      for (guint i = 0; i < GRAPH_MANAGERS; i++)
        g_object_unref (g.managers[i]);
      g_assert_true (tether_loop_manager_wait_detached (-1));
      /* Every plain submission, accepted or not, was released once; the
       * accepted ones that ran are exactly those that succeeded. */
      g_assert_cmpint (g_atomic_int_get (&g.destroyed), ==, g.attempts);
      g_assert_cmpint (g_atomic_int_get (&g.ran), ==, n_succeeded);
      g_ptr_array_unref (g.pool);
      g_mutex_clear (&g.lock);
    }
  g_test_message ("waits refused %d, waits ended by CANCEL stops %d, stop_within refused %d",
                  graph_refused, graph_cancelled, graph_within_refused);
  watchdog_disarm ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Adversarial/room/wait-closes-cycle", test_room_wait_closes_cycle);
  g_test_add_func ("/Tether/Adversarial/room/wait-on-room-waiter-closes-cycle",
                   test_wait_on_room_waiter_closes_cycle);
  g_test_add_func ("/Tether/Adversarial/room/cancel-ends-room-wait", test_cancel_ends_room_wait);
  g_test_add_data_func ("/Tether/Adversarial/room/stop-of-room-waiter/drain",
                        GINT_TO_POINTER (0), test_stop_of_room_waiter);
  g_test_add_data_func ("/Tether/Adversarial/room/stop-of-room-waiter/cancel",
                        GINT_TO_POINTER (1), test_stop_of_room_waiter);
  g_test_add_data_func ("/Tether/Adversarial/room/stop-of-room-waiter/within",
                        GINT_TO_POINTER (2), test_stop_of_room_waiter);

  g_test_add_data_func ("/Tether/Adversarial/cancel/wait-promises/stop",
                        GINT_TO_POINTER (FALSE), test_cancel_wait_promises);
  g_test_add_data_func ("/Tether/Adversarial/cancel/wait-promises/stop-within",
                        GINT_TO_POINTER (TRUE), test_cancel_wait_promises);
  g_test_add_func ("/Tether/Adversarial/cancel/self-cancel-then-wait", test_self_cancel_then_wait);
  g_test_add_func ("/Tether/Adversarial/cancel/cancelled-handler-blocks-on-stop",
                   test_cancelled_handler_blocks_on_stop);

  /* Rings: all waits, and one or two edges replaced by stops. */
  {
    static const EdgeKind sets[][3] = {
      { EDGE_WAIT, EDGE_WAIT, EDGE_WAIT },
      { EDGE_DRAIN, EDGE_WAIT, EDGE_WAIT },
      { EDGE_CANCEL, EDGE_WAIT, EDGE_WAIT },
      { EDGE_WITHIN, EDGE_WAIT, EDGE_WAIT },
      { EDGE_DRAIN, EDGE_CANCEL, EDGE_WAIT },
      { EDGE_WITHIN, EDGE_DRAIN, EDGE_WAIT },
      { EDGE_DRAIN, EDGE_DRAIN, EDGE_DRAIN },
      { EDGE_WITHIN, EDGE_WITHIN, EDGE_WITHIN },
    };

    for (guint s = 0; s < G_N_ELEMENTS (sets); s++)
      for (guint p = 0; p < G_N_ELEMENTS (perms); p++)
        {
          Ring *ring = g_new0 (Ring, 1);
          g_autofree char *path = NULL;

          ring->perm = p;
          memcpy (ring->kinds, sets[s], sizeof ring->kinds);
          path = g_strdup_printf ("/Tether/Adversarial/ring/%s-%s-%s/order%u%u%u",
                                  edge_names[sets[s][0]], edge_names[sets[s][1]],
                                  edge_names[sets[s][2]], perms[p][0], perms[p][1], perms[p][2]);
          g_test_add_data_func_full (path, ring, test_ring_of_three, g_free);
        }
  }

  g_test_add_func ("/Tether/Adversarial/race/stops-submissions-unrefs",
                   test_race_stops_submissions_unrefs);

  g_test_add_func ("/Tether/Adversarial/callback/stop-from-wait-async-callback",
                   test_stop_from_wait_async_callback);
  g_test_add_func ("/Tether/Adversarial/callback/stop-from-main-wait-async-callback",
                   test_stop_from_main_wait_async_callback);
  g_test_add_data_func ("/Tether/Adversarial/self-and-other/drain",
                        GINT_TO_POINTER (TETHER_STOP_MODE_DRAIN), test_stop_self_and_other);
  g_test_add_data_func ("/Tether/Adversarial/self-and-other/cancel",
                        GINT_TO_POINTER (TETHER_STOP_MODE_CANCEL), test_stop_self_and_other);

  g_test_add_func ("/Tether/Adversarial/unref/foreign-unref-while-waiting",
                   test_foreign_unref_while_waiting);
  g_test_add_func ("/Tether/Adversarial/unref/restart-after-dispose", test_restart_after_dispose);
  g_test_add_func ("/Tether/Adversarial/unref/restart-after-cycle-stop",
                   test_restart_after_cycle_stop);
  g_test_add_func ("/Tether/Adversarial/unref/wait-detached-races-drains",
                   test_wait_detached_races_drains);
  g_test_add_func ("/Tether/Adversarial/within/tiny-deadlines-in-cycles",
                   test_stop_within_tiny_in_cycles);

  g_test_add_func ("/Tether/Adversarial/within/counts-only-unfinished",
                   test_stop_within_counts_only_unfinished);

  g_test_add_func ("/Tether/Adversarial/graph/random-walk", test_graph_random_walk);

  return test_run ();
}

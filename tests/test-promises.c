/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <tether.h>

#include "test-util.h"

/* Regression tests for promises the README makes (issue 12, items 4-9, 11
 * and 18). Racy cases run many iterations; every blocking call has a
 * deadline, so that a hang fails instead of hanging. */

#define WATCHDOG (30 * G_USEC_PER_SEC)

static guint
iterations (guint quick,
            guint thorough)
{
  /* Memcheck runs one thread at a time, some fifty times slower: it looks
   * for memory errors, which a hundredth of the runs shows as well. */
  if (g_getenv ("TETHER_TEST_VALGRIND") != NULL)
    return MAX (quick / 100, 1);
  return g_test_thorough () ? thorough : quick;
}

/* Waits for @future under the watchdog; returns its status. */
static TetherFutureStatus
settle (TetherFuture *future)
{
  g_autoptr(GError) error = NULL;

  tether_future_wait (future, WATCHDOG, NULL, &error);
  if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
    g_error ("watchdog: a future did not end within %d s", (int) (WATCHDOG / G_USEC_PER_SEC));
  return tether_future_get_status (future);
}

/* As settle(), without reading the error: it stays unretrieved. */
static TetherFutureStatus
settle_quietly (TetherFuture *future)
{
  tether_future_wait (future, WATCHDOG, NULL, NULL);
  if (!tether_future_is_done (future))
    g_error ("watchdog: a future did not end within %d s", (int) (WATCHDOG / G_USEC_PER_SEC));
  return tether_future_get_status (future);
}

static gboolean
watchdog_fired (gpointer data)
{
  g_error ("watchdog: the main context never delivered");
  return G_SOURCE_REMOVE;
}

/* Iterates @context until *@flag is set, blocking in between (so that a
 * delivery is dispatched the moment it arrives), under the watchdog. */
static void
iterate_until (GMainContext *context,
               gboolean     *flag)
{
  g_autoptr(GSource) watchdog = g_timeout_source_new (WATCHDOG / 1000);

  g_source_set_callback (watchdog, watchdog_fired, NULL, NULL);
  g_source_attach (watchdog, context);
  while (!g_atomic_int_get (flag))
    g_main_context_iteration (context, TRUE);
  g_source_destroy (watchdog);
}

/* A one-shot flag with a bounded wait. */
typedef struct
{
  GMutex   mutex;
  GCond    cond;
  gboolean set;
} Flag;

static void
flag_set (Flag *flag)
{
  g_mutex_lock (&flag->mutex);
  flag->set = TRUE;
  g_cond_broadcast (&flag->cond);
  g_mutex_unlock (&flag->mutex);
}

static gboolean
flag_wait (Flag   *flag,
           gint64  usec)
{
  gint64 deadline = g_get_monotonic_time () + usec;
  gboolean set;

  g_mutex_lock (&flag->mutex);
  while (!flag->set && g_cond_wait_until (&flag->cond, &flag->mutex, deadline))
    ;
  set = flag->set;
  g_mutex_unlock (&flag->mutex);
  return set;
}

static void
count_work (TetherWork *work,
            gpointer    user_data)
{
  g_atomic_int_inc ((int *) user_data);
  tether_work_return_boolean (work, TRUE);
}

static void
set_flag_work (TetherWork *work,
               gpointer    user_data)
{
  flag_set (user_data);
  tether_work_return_boolean (work, TRUE);
}

/* Item 4. */

#define N_SHARED 1000

typedef struct
{
  Gate    *gate;
  Flag     marker;     /* set by work queued behind the N_SHARED jobs */
  gboolean slow;       /* wait for the marker inside the handler */
} CancelHandler;

/* The application's "cancelled" handler, connected before the jobs': it lets
 * the manager's thread go, and (when slow) holds g_cancellable_cancel()
 * until the thread has been through every job, before their own handlers
 * have run. */
static void
on_app_cancelled (GCancellable *cancellable,
                  gpointer      user_data)
{
  CancelHandler *handler = user_data;

  gate_open (handler->gate);
  if (handler->slow)
    flag_wait (&handler->marker, 10 * G_USEC_PER_SEC);
  else
    g_thread_yield ();
}

static void
test_cancel_shared_cancellable (void)
{
  g_autoptr(TetherLoopManager) manager = started ("cancel-shared", NULL);
  guint n_iterations = iterations (20, 200);

  for (guint it = 0; it < n_iterations; it++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(TetherFuture) blocker = NULL;
      g_autoptr(TetherFuture) marker = NULL;
      g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
      CancelHandler handler = { 0 };
      Gate gate;
      int ran = 0;
      gulong id;

      gate_init (&gate);
      g_mutex_init (&handler.marker.mutex);
      g_cond_init (&handler.marker.cond);
      handler.gate = &gate;
      handler.slow = it % 2 == 0;
      id = g_cancellable_connect (cancellable, G_CALLBACK (on_app_cancelled), &handler, NULL);

      blocker = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
      gate_wait_entered (&gate);
      for (guint i = 0; i < N_SHARED; i++)
        g_ptr_array_add (futures,
                         tether_loop_manager_submit (manager, NULL, count_work,
                                                     &ran, NULL, cancellable, NULL));
      marker = tether_loop_manager_submit (manager, NULL, set_flag_work,
                                           &handler.marker, NULL, NULL, NULL);

      g_cancellable_cancel (cancellable);

      /* From here no job sharing the cancellable may start. */
      for (guint i = 0; i < N_SHARED; i++)
        g_assert_cmpint (settle (g_ptr_array_index (futures, i)), ==,
                         TETHER_FUTURE_STATUS_CANCELLED);
      g_assert_cmpint (g_atomic_int_get (&ran), ==, 0);
      g_assert_cmpint (settle (marker), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
      g_assert_cmpint (settle (blocker), ==, TETHER_FUTURE_STATUS_SUCCEEDED);

      g_cancellable_disconnect (cancellable, id);
      g_mutex_clear (&handler.marker.mutex);
      g_cond_clear (&handler.marker.cond);
      gate_clear (&gate);
    }

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

/* A job that cancels through its cancellable while queued behind a busy
 * thread, with the work checking its cancellable at start: the work never
 * sees it cancelled, because such a job does not start. */
static void
fail_if_cancelled_work (TetherWork *work,
                        gpointer    user_data)
{
  GCancellable *given = user_data;

  g_assert_false (g_cancellable_is_cancelled (given));
  tether_work_return_boolean (work, TRUE);
}

static void
test_cancel_never_seen_at_start (void)
{
  g_autoptr(TetherLoopManager) manager = started ("cancel-start", NULL);
  guint n_iterations = iterations (200, 2000);

  for (guint it = 0; it < n_iterations; it++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(TetherFuture) future = NULL;
      TetherFutureStatus status;

      future = tether_loop_manager_submit (manager, NULL, fail_if_cancelled_work,
                                           cancellable, NULL, cancellable, NULL);
      g_cancellable_cancel (cancellable);
      status = settle (future);
      /* Either it started before the cancel (and saw nothing), or it ended
       * cancelled without running. */
      g_assert_true (status == TETHER_FUTURE_STATUS_SUCCEEDED ||
                     status == TETHER_FUTURE_STATUS_CANCELLED);
    }
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

/* Item 5: a witness object records the thread that finalizes it. */

#define TEST_TYPE_WITNESS (test_witness_get_type ())
G_DECLARE_FINAL_TYPE (TestWitness, test_witness, TEST, WITNESS, GObject)

struct _TestWitness
{
  GObject   parent_instance;
  GThread **finalized_on;
};

G_DEFINE_FINAL_TYPE (TestWitness, test_witness, G_TYPE_OBJECT)

static void
test_witness_finalize (GObject *object)
{
  TestWitness *self = TEST_WITNESS (object);

  g_atomic_pointer_set (self->finalized_on, g_thread_self ());
  G_OBJECT_CLASS (test_witness_parent_class)->finalize (object);
}

static void
test_witness_class_init (TestWitnessClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_witness_finalize;
}

static void
test_witness_init (TestWitness *self)
{
}

static TestWitness *
witness_new (GThread **finalized_on)
{
  TestWitness *witness = g_object_new (TEST_TYPE_WITNESS, NULL);

  witness->finalized_on = finalized_on;
  return witness;
}

/* The work never touches the witness after returning it: the test thread
 * made it and drops its own reference once the work has ended, so the
 * result holds the only one. */
static void
return_witness_work (TetherWork *work,
                     gpointer    user_data)
{
  tether_work_return_object (work, user_data);
}

/* The work hands its only reference over with the result. */
static void
return_owned_witness_work (TetherWork *work,
                           gpointer    user_data)
{
  tether_work_return_pointer (work, witness_new (user_data), g_object_unref);
}

static void
record_thread (gpointer data)
{
  g_atomic_pointer_set ((GThread **) data, g_thread_self ());
}

static void
return_pointer_work (TetherWork *work,
                     gpointer    user_data)
{
  tether_work_return_pointer (work, user_data, record_thread);
}

static void
test_result_released_by_future_owner (void)
{
  g_autoptr(TetherLoopManager) manager = started ("release-future", NULL);
  guint n_iterations = iterations (500, 5000);

  for (guint it = 0; it < n_iterations; it++)
    {
      GThread *finalized_on = NULL;
      TestWitness *witness = NULL;
      TetherFuture *future;

      switch (it % 3)
        {
        case 0:
          witness = witness_new (&finalized_on);
          future = tether_loop_manager_submit (manager, NULL, return_witness_work,
                                               witness, NULL, NULL, NULL);
          break;
        case 1:
          future = tether_loop_manager_submit (manager, NULL, return_owned_witness_work,
                                               &finalized_on, NULL, NULL, NULL);
          break;
        default:
          future = tether_loop_manager_submit (manager, NULL, return_pointer_work,
                                               &finalized_on, NULL, NULL, NULL);
          break;
        }
      g_assert_cmpint (settle (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
      g_clear_object (&witness);
      g_assert_null (g_atomic_pointer_get (&finalized_on));
      /* This is the last reference: the future and its value die here, in
       * this call. */
      g_assert_finalize_object (future);
      g_assert_true (g_atomic_pointer_get (&finalized_on) == g_thread_self ());
    }

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

/* A future dropped before its work ends: nobody else can hold the value,
 * which then goes where the work ended; no leak, no crash. */
static void
test_result_of_dropped_future (void)
{
  g_autoptr(TetherLoopManager) manager = started ("release-dropped", NULL);
  g_autoptr(TetherFuture) last = NULL;
  GThread *finalized_on[64] = { NULL };
  Gate gate;

  gate_init (&gate);
  g_object_unref (tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL));
  gate_wait_entered (&gate);
  for (guint i = 0; i < G_N_ELEMENTS (finalized_on); i++)
    g_object_unref (tether_loop_manager_submit (manager, NULL, return_owned_witness_work,
                                                &finalized_on[i], NULL, NULL, NULL));
  last = tether_loop_manager_submit (manager, NULL, count_work, &(int) { 0 }, NULL, NULL, NULL);
  gate_open (&gate);
  settle (last);
  for (guint i = 0; i < G_N_ELEMENTS (finalized_on); i++)
    g_assert_nonnull (g_atomic_pointer_get (&finalized_on[i]));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  gate_clear (&gate);
}

typedef struct
{
  gboolean finish;
  gboolean called;
} AsyncCase;

static void
on_submitted (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  AsyncCase *c = user_data;

  if (c->finish)
    {
      g_autoptr(GError) error = NULL;
      GValue value = G_VALUE_INIT;

      g_assert_true (tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result,
                                                        &value, &error));
      g_assert_no_error (error);
      g_value_unset (&value);
    }
  g_atomic_int_set (&c->called, TRUE);
}

/* For async results: finished or not, the value dies on the thread whose
 * context ran the callback, never on the manager's. */
static void
test_result_released_by_async_owner (void)
{
  g_autoptr(TetherLoopManager) manager = started ("release-async", NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint n_iterations = iterations (300, 3000);

  g_main_context_push_thread_default (context);
  for (guint it = 0; it < n_iterations; it++)
    {
      GThread *finalized_on = NULL;
      AsyncCase c = { .finish = it % 2 == 0 };

      tether_loop_manager_submit_async (manager, NULL,
                                        it % 4 < 2 ? return_owned_witness_work : return_pointer_work,
                                        &finalized_on, NULL, G_PRIORITY_DEFAULT, NULL, on_submitted, &c);
      iterate_until (context, &c.called);
      /* The task is released in the same dispatch, right after the callback. */
      g_assert_true (g_atomic_pointer_get (&finalized_on) == g_thread_self ());
    }
  g_main_context_pop_thread_default (context);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

/* Item 6: with UNRETRIEVED on, futures are finalized while the manager
 * restarts with another task type. Run under ASan or TSan to see a race;
 * here it must at least report every failure with a readable task type. */

static GMutex     log_lock;
static guint      n_unretrieved;

/* Reads every field, the task type included, as a real writer would. */
static GLogWriterOutput
count_writer (GLogLevelFlags   level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  gboolean unretrieved = FALSE;
  const char *task_type = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      unretrieved = strstr (fields[i].value, "without anyone reading its error") != NULL;
    else if (g_str_equal (fields[i].key, "TETHER_TASK_TYPE"))
      task_type = fields[i].value;
  if (!unretrieved)
    return g_log_writer_default (level, fields, n_fields, user_data);

  g_assert_nonnull (task_type);
  g_assert_true (task_type[0] == '\0' || g_str_has_prefix (task_type, "type-"));
  g_mutex_lock (&log_lock);
  n_unretrieved++;
  g_mutex_unlock (&log_lock);
  return G_LOG_WRITER_HANDLED;
}

static void
fail_work (TetherWork *work,
           gpointer    user_data)
{
  tether_work_return_new_error (work, TETHER_ERROR, TETHER_ERROR_FAILED, "failed on purpose");
}

typedef struct
{
  TetherLoopManager *manager;
  int                stop;
  int                restarts;
} Restarter;

static gpointer
restart_thread (gpointer data)
{
  Restarter *r = data;

  for (guint i = 0; !g_atomic_int_get (&r->stop); i++)
    {
      g_autofree char *task_type = g_strdup_printf ("type-%u", i % 7);

      tether_loop_manager_stop (r->manager, TETHER_STOP_MODE_DRAIN);
      g_assert_true (tether_loop_manager_start (r->manager, task_type, NULL));
      g_atomic_int_inc (&r->restarts);
    }
  return NULL;
}

static void
test_unretrieved_during_restart (void)
{
  g_autoptr(TetherLoopManager) manager = started ("unretrieved-restart", "type-0");
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  guint n_iterations = iterations (20000, 100000);
  Restarter r = { manager, FALSE, 0 };
  guint n_failed = 0;
  GThread *thread;

  tether_loop_manager_set_debug_flags (manager, TETHER_DEBUG_FLAGS_UNRETRIEVED);
  g_log_set_writer_func (count_writer, NULL, NULL);

  /* Failed futures, made while the manager runs with one task type. */
  for (guint i = 0; i < n_iterations; i++)
    {
      TetherFuture *future = tether_loop_manager_submit (manager, "type-0", fail_work,
                                                         NULL, NULL, NULL, NULL);

      g_assert_nonnull (future);
      g_ptr_array_add (futures, future);
    }
  for (guint i = 0; i < futures->len; i++)
    if (settle_quietly (g_ptr_array_index (futures, i)) == TETHER_FUTURE_STATUS_FAILED)
      n_failed++;

  /* Finalized while another thread restarts the manager, freeing and
   * replacing its task type each time. */
  thread = g_thread_new ("restarter", restart_thread, &r);
  while (g_atomic_int_get (&r.restarts) == 0)
    g_thread_yield ();
  while (futures->len > 0)
    g_ptr_array_remove_index (futures, futures->len - 1);
  g_atomic_int_set (&r.stop, TRUE);
  g_thread_join (thread);

  g_mutex_lock (&log_lock);
  g_assert_cmpuint (n_unretrieved, ==, n_failed);
  g_mutex_unlock (&log_lock);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

/* Item 7. */

static void
on_finished_twice (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GValue value = G_VALUE_INIT;

  /* The first finish takes the outcome, whatever it is. */
  tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result, &value, &error);
  g_clear_error (&error);
  g_value_unset (&value);

  /* A second finish gets nothing: the value stays unset. */
  g_assert_false (tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result,
                                                     &value, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "already finished"));
  g_assert_true (G_VALUE_HOLDS_POINTER (&value));
  g_assert_null (g_value_get_pointer (&value));
  g_atomic_int_set ((gboolean *) user_data, TRUE);
}

static void
on_waited_twice (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (tether_future_wait_finish (TETHER_FUTURE (source), result, &error));
  g_assert_no_error (error);
  g_assert_false (tether_future_wait_finish (TETHER_FUTURE (source), result, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_atomic_int_set ((gboolean *) user_data, TRUE);
}

static void
test_finish_twice (void)
{
  g_autoptr(TetherLoopManager) manager = started ("finish-twice", NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  for (guint i = 0; i < 2; i++)
    {
      gboolean called = FALSE;

      tether_loop_manager_submit_async (manager, NULL, i == 0 ? count_work : fail_work,
                                        &(int) { 0 }, NULL, G_PRIORITY_DEFAULT, NULL, on_finished_twice, &called);
      iterate_until (context, &called);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(TetherFuture) future = NULL;
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      gboolean called = FALSE;

      future = tether_loop_manager_submit (manager, NULL, count_work, &(int) { 0 },
                                           NULL, NULL, NULL);
      if (i == 1)
        settle (future);
      tether_future_wait_async (future, cancellable, on_waited_twice, &called);
      iterate_until (context, &called);
    }
  g_main_context_pop_thread_default (context);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

/* Item 8: n_pending never above max-pending while submitters wait for room
 * and the manager's thread takes work as fast as it can. */

typedef struct
{
  TetherLoopManager *manager;
  guint              n;
  int                done;
} Submitter;

static void
nothing_post (gpointer user_data)
{
}

static gpointer
submit_thread (gpointer data)
{
  Submitter *s = data;

  for (guint i = 0; i < s->n; i++)
    g_assert_true (tether_loop_manager_post (s->manager, NULL, nothing_post, NULL, NULL, NULL));
  g_atomic_int_inc (&s->done);
  return NULL;
}

#define N_SUBMITTERS 2

/* More readers than cores, so that readers are preempted at every point of
 * the read, between the two counters too. */
static gpointer
read_pending_thread (gpointer data)
{
  Submitter *s = data;
  guint max_seen = 0;

  while (g_atomic_int_get (&s->done) < N_SUBMITTERS)
    max_seen = MAX (max_seen, tether_loop_manager_get_n_pending (s->manager));
  return GUINT_TO_POINTER (max_seen);
}

static void
test_n_pending_bounded (void)
{
  g_autoptr(TetherLoopManager) manager = started ("pending-bounded", NULL);
  Submitter s = { manager, iterations (500000, 2000000) };
  GThread *submitters[N_SUBMITTERS];
  GThread *readers[4];
  guint max_seen = 0;

  tether_loop_manager_set_max_pending (manager, 100);
  tether_loop_manager_set_submit_timeout (manager, -1);
  for (guint i = 0; i < G_N_ELEMENTS (submitters); i++)
    submitters[i] = g_thread_new ("submitter", submit_thread, &s);
  for (guint i = 0; i < G_N_ELEMENTS (readers); i++)
    readers[i] = g_thread_new ("reader", read_pending_thread, &s);

  for (guint i = 0; i < G_N_ELEMENTS (submitters); i++)
    g_thread_join (submitters[i]);
  for (guint i = 0; i < G_N_ELEMENTS (readers); i++)
    {
      guint seen = GPOINTER_TO_UINT (g_thread_join (readers[i]));

      max_seen = MAX (max_seen, seen);
    }

  g_test_message ("largest n_pending seen: %u", max_seen);
  g_assert_cmpuint (max_seen, <=, 100);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

static void
self_cancel_work (TetherWork *work,
                  gpointer    user_data)
{
  GCancellable *cancellable = tether_work_get_cancellable (work);

  g_assert_false (tether_work_is_cancelled (work));
  g_cancellable_cancel (cancellable);
  g_assert_true (g_cancellable_is_cancelled (cancellable));
  g_assert_true (tether_work_is_cancelled (work));
  tether_work_return_boolean (work, TRUE);
}

static void
test_work_cancels_itself (void)
{
  g_autoptr(TetherLoopManager) manager = started ("self-cancel", NULL);
  g_autoptr(TetherFuture) future = NULL;

  future = tether_loop_manager_submit (manager, NULL, self_cancel_work, NULL, NULL, NULL, NULL);
  g_assert_cmpint (settle (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

/* Item 9. */

typedef struct
{
  GMutex  lock;
  GArray *order;
} Order;

typedef struct
{
  Order *order;
  int    tag;
} Tagged;

static void
record_order_work (TetherWork *work,
                   gpointer    user_data)
{
  Tagged *t = user_data;

  g_mutex_lock (&t->order->lock);
  g_array_append_val (t->order->order, t->tag);
  g_mutex_unlock (&t->order->lock);
  tether_work_return_boolean (work, TRUE);
}

static void
test_due_timers_by_deadline (void)
{
  g_autoptr(TetherLoopManager) manager = started ("timer-order", NULL);
  g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(TetherFuture) blocker = NULL;
  /* Offsets from a time long past, in submission order; tags say the
   * expected order: deadline first, then submission. */
  const struct { gint64 offset; int tag; } timers[] = {
    { 30, 5 }, { 10, 1 }, { 20, 3 }, { 10, 2 }, { 40, 6 }, { 20, 4 }, { 0, 0 },
  };
  Tagged tagged[G_N_ELEMENTS (timers)];
  Order order = { .order = g_array_new (FALSE, FALSE, sizeof (int)) };
  gint64 base = g_get_monotonic_time () - 10 * G_USEC_PER_SEC;
  Gate gate;

  g_mutex_init (&order.lock);
  gate_init (&gate);
  /* Hold the thread, so that every timer is due before any runs. */
  blocker = tether_loop_manager_submit (manager, NULL, block_work, &gate, NULL, NULL, NULL);
  gate_wait_entered (&gate);
  for (guint i = 0; i < G_N_ELEMENTS (timers); i++)
    {
      tagged[i] = (Tagged) { &order, timers[i].tag };
      g_ptr_array_add (futures,
                       tether_loop_manager_submit_at (manager, NULL, base + timers[i].offset,
                                                      record_order_work, &tagged[i], NULL, NULL, NULL));
    }
  gate_open (&gate);
  for (guint i = 0; i < futures->len; i++)
    g_assert_cmpint (settle (g_ptr_array_index (futures, i)), ==, TETHER_FUTURE_STATUS_SUCCEEDED);

  g_assert_cmpuint (order.order->len, ==, G_N_ELEMENTS (timers));
  for (guint i = 0; i < order.order->len; i++)
    g_assert_cmpint (g_array_index (order.order, int, i), ==, (int) i);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_array_unref (order.order);
  g_mutex_clear (&order.lock);
  gate_clear (&gate);
}

/* Timers cancelled, fired and stopped at random: each ends exactly once. */
static void
test_timers_cancel_and_stop (void)
{
  g_autoptr(TetherLoopManager) manager = started ("timer-churn", NULL);
  guint n_iterations = iterations (50, 500);
  int ran = 0;

  for (guint it = 0; it < n_iterations; it++)
    {
      g_autoptr(GPtrArray) futures = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();

      for (guint i = 0; i < 40; i++)
        g_ptr_array_add (futures,
                         tether_loop_manager_submit_after (manager, NULL, (i % 5) * 200,
                                                           count_work, &ran, NULL,
                                                           i % 3 == 0 ? cancellable : NULL, NULL));
      for (guint i = 1; i < futures->len; i += 4)
        tether_future_cancel (g_ptr_array_index (futures, i));
      g_cancellable_cancel (cancellable);
      if (it % 5 == 4)
        {
          tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
          g_assert_true (tether_loop_manager_start (manager, NULL, NULL));
        }
      for (guint i = 0; i < futures->len; i++)
        g_assert_cmpint (settle (g_ptr_array_index (futures, i)), !=, TETHER_FUTURE_STATUS_PENDING);
    }
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

/* Item 11. */

static int pointer_target = 42;

static void
count_destroy (gpointer data)
{
  g_atomic_int_inc ((int *) data);
}

typedef struct
{
  int      destroyed;
  gboolean called;
} PointerCase;

static void
return_counted_pointer_work (TetherWork *work,
                             gpointer    user_data)
{
  PointerCase *c = user_data;

  /* The pointer is the target; the destroy notify counts on the case. */
  tether_work_return_pointer (work, &pointer_target, NULL);
  (void) c;
}

static void
on_pointer_submitted (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  GValue value = G_VALUE_INIT;

  g_assert_true (tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result,
                                                    &value, &error));
  g_assert_no_error (error);
  g_assert_true (G_IS_VALUE (&value));
  g_assert_true (tether_value_get_pointer (&value) == &pointer_target);
  g_value_unset (&value);
  g_atomic_int_set (&((PointerCase *) user_data)->called, TRUE);
}

static void
return_destroyed_pointer_work (TetherWork *work,
                               gpointer    user_data)
{
  tether_work_return_pointer (work, user_data, count_destroy);
}

static void
on_destroyed_pointer (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  PointerCase *c = user_data;
  GValue value = G_VALUE_INIT;

  g_assert_true (tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result,
                                                    &value, NULL));
  g_assert_true (tether_value_get_pointer (&value) == &c->destroyed);
  g_assert_cmpint (c->destroyed, ==, 0);
  g_value_unset (&value);
  g_assert_cmpint (c->destroyed, ==, 1);
  g_atomic_int_set (&c->called, TRUE);
}

static void
test_pointer_from_submit_finish (void)
{
  g_autoptr(TetherLoopManager) manager = started ("pointer-finish", NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(TetherFuture) future = NULL;
  PointerCase a = { 0 }, b = { 0 };

  g_main_context_push_thread_default (context);
  tether_loop_manager_submit_async (manager, NULL, return_counted_pointer_work, &a, NULL, G_PRIORITY_DEFAULT, NULL,
                                    on_pointer_submitted, &a);
  iterate_until (context, &a.called);
  tether_loop_manager_submit_async (manager, NULL, return_destroyed_pointer_work, &b.destroyed,
                                    NULL, G_PRIORITY_DEFAULT, NULL, on_destroyed_pointer, &b);
  iterate_until (context, &b.called);
  g_main_context_pop_thread_default (context);

  /* The same getter reads a future's value. */
  future = tether_loop_manager_submit (manager, NULL, return_counted_pointer_work, &a,
                                       NULL, NULL, NULL);
  g_assert_cmpint (settle (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  g_assert_true (tether_value_get_pointer (tether_future_get_value (future)) == &pointer_target);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

/* Item 18. */

static void
test_non_utf8_ids (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("bad\xff" "id");
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherFuture) future = NULL;

  g_assert_true (g_utf8_validate (tether_loop_manager_get_id (manager), -1, NULL));
  g_assert_cmpstr (tether_loop_manager_get_id (manager), ==, "bad\xef\xbf\xbd" "id");

  /* Task types are any bytes, compared as bytes; messages stay UTF-8. */
  g_assert_true (tether_loop_manager_start (manager, "type\xfe", &error));
  g_assert_no_error (error);
  g_assert_null (tether_loop_manager_submit (manager, "other\xff", count_work,
                                             &(int) { 0 }, NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_clear_error (&error);
  future = tether_loop_manager_submit (manager, "type\xfe", count_work, &(int) { 0 },
                                       NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (settle (future), ==, TETHER_FUTURE_STATUS_SUCCEEDED);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
}

static gpointer
registry_non_utf8_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TetherLoopManager) a = NULL;
  g_autoptr(TetherLoopManager) b = NULL;
  g_autoptr(GVariant) snapshot = NULL;
  g_autofree char *text = NULL;

  a = tether_loop_manager_get_or_create ("reg\xff", TETHER_LOOKUP_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (tether_loop_manager_start (a, "t\xff", &error));
  g_assert_no_error (error);
  /* The same rule as new(): the valid form names the same domain. */
  b = tether_loop_manager_get_or_create ("reg\xef\xbf\xbd", TETHER_LOOKUP_FLAGS_STRICT, &error);
  g_assert_no_error (error);
  g_assert_true (a == b);

  /* Criticals are fatal here: a non-UTF-8 string in a GVariant is one. */
  snapshot = tether_registry_snapshot ();
  text = g_variant_print (snapshot, FALSE);
  g_assert_nonnull (strstr (text, "reg\xef\xbf\xbd"));
  tether_loop_manager_stop (a, TETHER_STOP_MODE_DRAIN);
  return NULL;
}

static void
test_registry_non_utf8 (void)
{
  g_thread_join (tether_thread_new ("non-utf8", registry_non_utf8_thread, NULL));
}

static void
test_huge_names_in_messages (void)
{
  gsize huge = 1024 * 1024;
  g_autofree char *task_type = g_malloc (huge + 1);
  g_autofree char *id = g_malloc (huge + 1);
  g_autoptr(TetherLoopManager) manager = NULL;
  g_autoptr(GError) error = NULL;

  memset (task_type, 't', huge);
  task_type[huge] = '\0';
  memset (id, 'i', huge);
  id[huge] = '\0';

  manager = tether_loop_manager_new (id);
  g_assert_cmpuint (strlen (tether_loop_manager_get_id (manager)), ==, huge);
  g_assert_true (tether_loop_manager_start (manager, task_type, &error));
  g_assert_no_error (error);
  g_assert_null (tether_loop_manager_submit (manager, "other", count_work, &(int) { 0 },
                                             NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE);
  g_test_message ("%s", error->message);
  g_assert_cmpuint (strlen (error->message), <, 1024);
  g_assert_nonnull (strstr (error->message, "…"));
  g_clear_error (&error);

  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_null (tether_loop_manager_submit (manager, NULL, count_work, &(int) { 0 },
                                             NULL, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_cmpuint (strlen (error->message), <, 1024);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/Tether/Promises/cancel-shared-cancellable", test_cancel_shared_cancellable);
  g_test_add_func ("/Tether/Promises/cancel-never-seen-at-start", test_cancel_never_seen_at_start);
  g_test_add_func ("/Tether/Promises/result-released-by-future-owner",
                   test_result_released_by_future_owner);
  g_test_add_func ("/Tether/Promises/result-of-dropped-future", test_result_of_dropped_future);
  g_test_add_func ("/Tether/Promises/result-released-by-async-owner",
                   test_result_released_by_async_owner);
  g_test_add_func ("/Tether/Promises/unretrieved-during-restart", test_unretrieved_during_restart);
  g_test_add_func ("/Tether/Promises/finish-twice", test_finish_twice);
  g_test_add_func ("/Tether/Promises/n-pending-bounded", test_n_pending_bounded);
  g_test_add_func ("/Tether/Promises/work-cancels-itself", test_work_cancels_itself);
  g_test_add_func ("/Tether/Promises/due-timers-by-deadline", test_due_timers_by_deadline);
  g_test_add_func ("/Tether/Promises/timers-cancel-and-stop", test_timers_cancel_and_stop);
  g_test_add_func ("/Tether/Promises/pointer-from-submit-finish", test_pointer_from_submit_finish);
  g_test_add_func ("/Tether/Promises/non-utf8-ids", test_non_utf8_ids);
  g_test_add_func ("/Tether/Promises/registry-non-utf8", test_registry_non_utf8);
  g_test_add_func ("/Tether/Promises/huge-names-in-messages", test_huge_names_in_messages);

  return g_test_run ();
}

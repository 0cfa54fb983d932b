/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-debug-private.h"
#include "tether-enum-types.h"
#include "tether-error.h"
#include "tether-event-private.h"
#include "tether-future-private.h"
#include "tether-core-private.h"
#include "tether-work-private.h"

/**
 * TetherFuture:
 *
 * The outcome of one submission, for callers that block or poll.
 *
 * A future is returned by [method@Tether.LoopManager.submit] and its timer
 * variants. It ends exactly once: with a value, an error, or cancelled.
 * Every method may be called from any thread.
 *
 * Semantics worth knowing:
 *
 * - [method@Tether.Future.wait] with a timeout that expires fails with
 *   %TETHER_ERROR_TIMED_OUT and does not cancel the work; call
 *   [method@Tether.Future.cancel] for that.
 * - Dropping the last reference to a future does not cancel its work: the
 *   work still runs, as with fire-and-forget.
 * - The value (an object, a variant, a pointer's destroy notify) is released
 *   by the thread that drops the last reference to the future: the manager's
 *   thread holds none once the work has ended. If the future was dropped
 *   before the work ended, the value is released where the work ends.
 * - [method@Tether.Future.cancel] on work that has not started ends it at
 *   once as %TETHER_FUTURE_STATUS_CANCELLED; it will never run. On work that
 *   is running it fires the work's cancellable, and what the work returns
 *   afterwards is the outcome.
 * - Waiting on the manager's own thread for work queued on that manager
 *   fails at once with %TETHER_ERROR_WOULD_DEADLOCK: only that thread could
 *   run the work. Use [method@Tether.Future.wait_async] there. A refused
 *   wait cancels nothing: the work still runs later.
 * - A blocking wait made by work on a manager ends with
 *   %G_IO_ERROR_CANCELLED when that manager is stopped in
 *   %TETHER_STOP_MODE_CANCEL, so that the work can return; the future
 *   waited for is left alone.
 *
 * Since: 1.0
 */
struct _TetherFuture
{
  GObject             parent_instance;

  TetherJob          *job;      /* immutable; cancellation and deadlock checks */

  /* Blocking waiters sleep on the event, not on a lock: completing a
   * future nobody blocks on costs one atomic exchange and no system call. */
  TetherEvent         done;
  TetherFutureStatus  status;    /* atomic reads; written once, before done is set */
  GValue             *value;     /* immutable once status != PENDING */
  GError             *error;     /* immutable once status != PENDING */
  int                 retrieved; /* atomic: someone has read the error */
  GMutex              mutex;     /* protects waiters */
  GQueue              waiters;   /* GTask of wait_async() */
};

enum {
  PROP_0,
  PROP_STATUS,
  N_PROPS
};

static GParamSpec *properties [N_PROPS];

G_DEFINE_FINAL_TYPE (TetherFuture, tether_future, G_TYPE_OBJECT)

static void
tether_future_finalize (GObject *object)
{
  TetherFuture *self = (TetherFuture *) object;

  /* Setting the event is the completion's last touch of the future: once
   * it is set, the value and error are final and nobody else will touch
   * them. Before that, detaching waits for a completion in progress, and
   * one still to come frees its outcome itself. Either way what the future
   * holds is released here, on the thread that dropped the last reference. */
  if (!tether_event_is_set (&self->done))
    tether_job_detach_future (self->job, self);

  g_assert (self->waiters.length == 0);

  if (self->error != NULL && !g_atomic_int_get (&self->retrieved) &&
      self->status == TETHER_FUTURE_STATUS_FAILED &&
      (g_atomic_int_get (&self->job->core->debug_flags) & TETHER_DEBUG_FLAGS_UNRETRIEVED))
    {
      g_autofree char *name = tether_job_dup_name (self->job);
      /* Read under the core lock: a restart frees the task type. */
      g_autofree char *task_type = tether_core_dup_task_type (self->job->core);

      tether_debug_log_unretrieved (tether_core_get_label (self->job->core),
                                    task_type, name, self->error);
    }

  if (self->value != NULL)
    {
      g_value_unset (self->value);
      g_free (self->value);
    }
  g_clear_error (&self->error);
  g_clear_pointer (&self->job, tether_job_unref);
  g_mutex_clear (&self->mutex);
  /* Without futexes, a completion that woke sleepers may still be letting
   * go of the event's lock: this waits for it. */
  tether_event_clear (&self->done);

  G_OBJECT_CLASS (tether_future_parent_class)->finalize (object);
}

static void
tether_future_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  TetherFuture *self = TETHER_FUTURE (object);

  switch (prop_id)
    {
    case PROP_STATUS:
      g_value_set_enum (value, tether_future_get_status (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_future_class_init (TetherFutureClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tether_future_finalize;
  object_class->get_property = tether_future_get_property;

  /**
   * TetherFuture:status:
   *
   * The future's [enum@Tether.FutureStatus]. It changes once, from
   * %TETHER_FUTURE_STATUS_PENDING to a final state, on the thread that ends
   * the work; no `notify` is emitted for it, because that thread is usually
   * not the one that owns the future. Use [method@Tether.Future.wait_async]
   * to be told in your own context.
   *
   * Since: 1.0
   */
  properties [PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL,
                       TETHER_TYPE_FUTURE_STATUS,
                       TETHER_FUTURE_STATUS_PENDING,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_future_init (TetherFuture *self)
{
  g_mutex_init (&self->mutex);
  tether_event_init (&self->done);
  self->status = TETHER_FUTURE_STATUS_PENDING;
}

TetherFuture *
tether_future_new (TetherJob *job)
{
  TetherFuture *self = g_object_new (TETHER_TYPE_FUTURE, NULL);

  self->job = tether_job_ref (job);
  return self;
}

/* The task data of a wait_async() task. */
typedef struct
{
  gulong      handler;  /* on the wait's cancellable; the caller's thread only */
  TetherCore *waiter;   /* set before the task is queued; see tether_core_begin_async_wait() */
  gboolean    finished; /* by wait_finish(), on the caller's thread */
} AsyncWait;

static void
async_wait_free (gpointer data)
{
  AsyncWait *wait = data;

  g_assert (wait->waiter == NULL);
  g_free (wait);
}

/* Once the task has left the waiters queue: the wait is no longer pending. */
static void
async_wait_ended (TetherFuture *self,
                  GTask        *task)
{
  AsyncWait *wait = g_task_get_task_data (task);

  if (wait->waiter != NULL)
    tether_core_end_async_wait (g_steal_pointer (&wait->waiter), self->job->core);
}

static gboolean
return_waiter (gpointer data)
{
  GTask *task = data;
  AsyncWait *wait = g_task_get_task_data (task);

  if (wait->handler != 0)
    g_signal_handler_disconnect (g_task_get_cancellable (task), wait->handler);
  g_task_return_boolean (task, TRUE);
  return G_SOURCE_REMOVE;
}

/* Waiters hear back through an idle in their own context, never inside the
 * call (cancel, a work return) that ended the future. */
static void
schedule_waiter (GTask *task)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, g_task_get_priority (task));
  g_source_set_static_name (source, "[tether] future waiter");
  g_source_set_callback (source, return_waiter, task, g_object_unref);
  g_source_attach (source, g_task_get_context (task));
}

void
tether_future_complete (TetherFuture *self,
                        GValue       *value,
                        GError       *error)
{
  TetherFutureStatus status;
  GQueue waiters;

  if (error == NULL)
    status = TETHER_FUTURE_STATUS_SUCCEEDED;
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    status = TETHER_FUTURE_STATUS_CANCELLED;
  else
    status = TETHER_FUTURE_STATUS_FAILED;

  g_assert (self->status == TETHER_FUTURE_STATUS_PENDING);
  self->value = value;
  self->error = error;
  g_atomic_int_set (&self->status, status);

  /* wait_async() looks at the status under this lock: it either queued its
   * task before the status changed, and finds it here, or saw it done. */
  g_mutex_lock (&self->mutex);
  waiters = self->waiters;
  g_queue_init (&self->waiters);
  g_mutex_unlock (&self->mutex);

  /* The last touch of @self: a waiter woken here may drop it at once (see
   * tether_future_finalize()). The waiters' tasks hold references of their
   * own. */
  tether_event_set (&self->done);

  for (GList *l = waiters.head; l != NULL; l = l->next)
    {
      async_wait_ended (self, l->data);
      schedule_waiter (l->data);
    }
  g_list_free (waiters.head);
}

/**
 * tether_future_get_status:
 * @self: a [class@Tether.Future]
 *
 * Gets the future's state without blocking.
 *
 * Thread: any thread.
 *
 * Returns: the [enum@Tether.FutureStatus]
 *
 * Since: 1.0
 */
TetherFutureStatus
tether_future_get_status (TetherFuture *self)
{
  g_return_val_if_fail (TETHER_IS_FUTURE (self), TETHER_FUTURE_STATUS_PENDING);

  return g_atomic_int_get (&self->status);
}

/**
 * tether_future_is_done:
 * @self: a [class@Tether.Future]
 *
 * Checks whether the work has ended, whatever the outcome.
 *
 * Thread: any thread.
 *
 * Returns: %TRUE if the status is final
 *
 * Since: 1.0
 */
gboolean
tether_future_is_done (TetherFuture *self)
{
  return tether_future_get_status (self) != TETHER_FUTURE_STATUS_PENDING;
}

/**
 * tether_future_is_running:
 * @self: a [class@Tether.Future]
 *
 * Whether the work has started and not ended yet: its function runs, or it
 * returned and the work is deferred (it finishes later with
 * `tether_work_return_*()`), or an `async def` function awaits. Queued
 * work, timers not yet due and ended work are not running. Like
 * `concurrent.futures.Future.running()`, the answer may be stale as soon as
 * it is read, since another thread runs the work.
 *
 * Thread: any thread.
 *
 * Returns: %TRUE if the work has started and not ended
 *
 * Since: 1.0
 */
gboolean
tether_future_is_running (TetherFuture *self)
{
  g_return_val_if_fail (TETHER_IS_FUTURE (self), FALSE);

  return !tether_future_is_done (self) &&
         g_atomic_int_get (&self->job->state) == TETHER_JOB_RUNNING;
}

/**
 * tether_future_cancel:
 * @self: a [class@Tether.Future]
 *
 * Cancels the work. Work that has not started ends at once with
 * %G_IO_ERROR_CANCELLED and never runs; running work sees its cancellable
 * fire and decides its own outcome. Cancelling a finished future does
 * nothing. No callback of yours runs inside this call, apart from "cancelled"
 * handlers you connected to the work's cancellable.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_future_cancel (TetherFuture *self)
{
  g_return_if_fail (TETHER_IS_FUTURE (self));

  if (!tether_future_is_done (self))
    tether_job_request_cancel (self->job);
}

static gboolean
outcome (TetherFuture  *self,
         GError       **error)
{
  if (self->error != NULL)
    {
      if (error != NULL)
        {
          *error = g_error_copy (self->error);
          g_atomic_int_set (&self->retrieved, TRUE);
        }
      return FALSE;
    }
  return TRUE;
}

/* The abort condition of a wait on a manager's thread: a CANCEL stop of
 * that manager ends it. */
static gboolean
waiter_cancelled (gpointer data)
{
  TetherCore *waiter = data;

  return g_atomic_int_get (&waiter->cancelling);
}

/**
 * tether_future_wait:
 * @self: a [class@Tether.Future]
 * @timeout_usec: how long to wait, in microseconds; -1 waits without limit,
 *   0 only polls
 *
 * Blocks until the work ends or @timeout_usec passes. From Python the GIL
 * is released while waiting.
 *
 * A timeout fails with %TETHER_ERROR_TIMED_OUT and leaves the work running.
 * Called on the manager's own thread for work that manager has not finished,
 * it fails at once with %TETHER_ERROR_WOULD_DEADLOCK. So does a wait that
 * would close a cycle of managers waiting on each other: work on manager A
 * waiting for work on B while work on B waits for work on A (or through any
 * number of managers); the message names the managers in the cycle, and the
 * wait that would close it is the one refused. A manager's thread blocked in
 * [method@Tether.LoopManager.stop] or [method@Tether.LoopManager.stop_within]
 * of another manager waits on that manager too: work on A waiting for work
 * on B while B's thread is stopping A is refused the same way. Waits from
 * threads that are not managers' cannot close a cycle and pay nothing for
 * the check.
 *
 * The check sees what manager threads are blocked in, not what deferred
 * work needs: a wait, on a manager's thread, for deferred work that ends
 * from a [method@Tether.Future.wait_async] callback is not checked, and if
 * that callback waits for work only the waiting thread can run, the wait
 * never ends. Wait for such work with [method@Tether.Future.wait_async].
 *
 * A refused wait changes nothing else: the work it would have waited for is
 * not cancelled. It stays queued (or running) and ends later as if nobody
 * had waited, and the future completes then; wait for it again from
 * somewhere that can, with [method@Tether.Future.wait_async], or cancel it
 * with [method@Tether.Future.cancel] if its outcome is no longer wanted.
 *
 * On a manager's thread, a stop of that manager in
 * %TETHER_STOP_MODE_CANCEL (or the deadline of
 * [method@Tether.LoopManager.stop_within]) ends the wait: it returns
 * %FALSE with %G_IO_ERROR_CANCELLED at once, and so does every later
 * blocking wait there until the manager's thread has exited, so that the
 * cancelled work can return and the stop can finish. Only the wait ends:
 * the work waited for, on the other manager, goes on, and its future
 * completes when it ends. A wait with a @timeout_usec of 0 only polls and
 * is never ended this way.
 *
 * Thread: any thread; see above for the manager's own.
 *
 * Returns: %TRUE if the work succeeded; %FALSE with @error set to the work's
 *   error, a %G_IO_ERROR_CANCELLED error (the work was cancelled, or the
 *   wait was ended by a CANCEL stop of the waiting manager), or one of the
 *   above
 *
 * Since: 1.0
 */
gboolean
tether_future_wait (TetherFuture  *self,
                    gint64         timeout_usec,
                    GError       **error)
{
  gint64 deadline;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (tether_future_is_done (self))
    return outcome (self, error);

  if (timeout_usec != 0 && tether_core_is_current (self->job->core))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                   "tether_future_wait() was called on the thread of manager '%s' for work "
                   "that only this thread can run; it would never return. Use "
                   "tether_future_wait_async() or finish the work from a callback instead",
                   tether_core_get_label (self->job->core));
      return FALSE;
    }

  if (timeout_usec != 0)
    {
      TetherCore *waiter = tether_core_get_current ();
      g_autofree char *cycle = NULL;

      /* Only a wait on a manager's thread can close a cycle, or be ended by
       * a CANCEL stop of its manager: elsewhere this returns at once. */
      if (!tether_core_begin_wait (self->job->core, &self->done, &cycle))
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                       "Waiting here would deadlock: %s each wait for the next (for work or "
                       "for a stop), and none can go on. The work waited for is not cancelled: it "
                       "still runs. Use tether_future_wait_async() or finish the work from a callback "
                       "instead",
                       cycle);
          return FALSE;
        }
      deadline = timeout_usec > 0 ? tether_time_after (timeout_usec) : -1;
      tether_event_wait_until_or (&self->done,
                                  g_atomic_int_get (&self->job->core->wait_spin),
                                  deadline,
                                  waiter != NULL ? waiter_cancelled : NULL, waiter);
      tether_core_end_wait ();
    }

  if (!tether_future_is_done (self))
    {
      if (timeout_usec != 0 && tether_core_wait_cancelled ())
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                     "The wait was ended because manager '%s', whose thread waited, was stopped "
                     "with TETHER_STOP_MODE_CANCEL; the work waited for, on manager '%s', goes on",
                     tether_core_get_label (tether_core_get_current ()),
                     tether_core_get_label (self->job->core));
      else
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT,
                     "Work on manager '%s' did not finish within %" G_GINT64_FORMAT " us; it "
                     "is still running. Wait again, or call tether_future_cancel() to stop it",
                     tether_core_get_label (self->job->core), timeout_usec);
      return FALSE;
    }

  return outcome (self, error);
}

/**
 * tether_future_wait_done:
 * @self: a [class@Tether.Future]
 * @timeout_usec: how long to wait, in microseconds; -1 waits without limit,
 *   0 only polls
 *
 * Blocks until the work ends or @timeout_usec passes, as
 * [method@Tether.Future.wait] does (with the same spin), but only says
 * whether the work has ended: a timeout is %FALSE, not an error, and the
 * outcome is left to [method@Tether.Future.get_status] and the getters.
 *
 * It is for waiting in slices from code that must not be handed an error
 * while a signal may be pending: PyGObject runs Python code to turn a
 * #GError into an exception, and a signal handler raising there (Ctrl-C's
 * `KeyboardInterrupt`) loses its exception. The Python override waits with
 * it in the main thread. From Python, the GIL is released while waiting.
 *
 * Thread: any thread that is not a manager's thread, where a wait can
 * neither close a cycle of managers waiting on each other nor be ended by
 * a stop; there, use [method@Tether.Future.wait]. Called on a manager's
 * thread it is a programmer error and returns %FALSE at once.
 *
 * Returns: %TRUE if the work has ended, however it ended; %FALSE if
 *   @timeout_usec passed first
 *
 * Since: 1.0
 */
gboolean
tether_future_wait_done (TetherFuture *self,
                         gint64        timeout_usec)
{
  g_return_val_if_fail (TETHER_IS_FUTURE (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);
  g_return_val_if_fail (tether_core_get_current () == NULL, FALSE);

  if (timeout_usec != 0 && !tether_future_is_done (self))
    tether_event_wait_until (&self->done,
                             g_atomic_int_get (&self->job->core->wait_spin),
                             timeout_usec > 0 ? tether_time_after (timeout_usec) : -1);

  return tether_future_is_done (self);
}

static void
on_waiter_cancelled (GCancellable *cancellable,
                     gpointer      user_data)
{
  GTask *task = user_data;
  TetherFuture *self = g_task_get_source_object (task);
  gboolean removed;

  g_mutex_lock (&self->mutex);
  removed = g_queue_remove (&self->waiters, task);
  g_mutex_unlock (&self->mutex);

  /* Errors from GTask always reach the callback through an idle. */
  if (removed)
    {
      async_wait_ended (self, task);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The wait was cancelled; the work goes on");
      g_object_unref (task);
    }
}

/**
 * tether_future_wait_async:
 * @self: a [class@Tether.Future]
 * @cancellable: (nullable): cancels the wait, not the work
 * @callback: (scope async): called in the thread-default context of the
 *   caller once the work has ended
 * @user_data: data for @callback
 *
 * Waits for the work without blocking. @callback always runs from an idle
 * in the caller's thread-default context, even if the future is already
 * done, and never inside this call. This is safe on the manager's own thread.
 *
 * Called on a manager's thread, a pending wait counts for wait-cycle
 * detection of stops (see [method@Tether.LoopManager.stop]): the deferred
 * work of that manager may need it before it returns. If the thread of the
 * manager whose work this waits for is blocked, directly or through other
 * managers, stopping the calling manager, that work cannot run before the
 * calling thread has left its loop: @callback then receives
 * %TETHER_ERROR_WOULD_DEADLOCK (or %G_IO_ERROR_CANCELLED if @cancellable
 * has fired), and the work waited for is left alone.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_future_wait_async (TetherFuture        *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *cycle = NULL;
  AsyncWait *wait;
  gboolean done, refused = FALSE;

  g_return_if_fail (TETHER_IS_FUTURE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, tether_future_wait_async);
  wait = g_new0 (AsyncWait, 1);
  g_task_set_task_data (task, wait, async_wait_free);

  g_mutex_lock (&self->mutex);
  done = g_atomic_int_get (&self->status) != TETHER_FUTURE_STATUS_PENDING;
  /* Recorded for wait-cycle detection while it is pending; whoever takes
   * the task off the queue ends it. */
  if (!done &&
      !(refused = !tether_core_begin_async_wait (self->job->core, &wait->waiter, &cycle)))
    g_queue_push_tail (&self->waiters, g_object_ref (task));
  g_mutex_unlock (&self->mutex);

  if (refused)
    g_task_return_new_error (task, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                             "Waiting here would deadlock: %s each wait for the next, and "
                             "the last waits for this manager's thread to exit, so the work "
                             "waited for cannot run while this thread runs its loop. The work "
                             "waited for is not cancelled: it still runs",
                             cycle);
  else if (done)
    schedule_waiter (g_object_ref (task));
  else if (cancellable != NULL)
    wait->handler = g_cancellable_connect (cancellable, G_CALLBACK (on_waiter_cancelled),
                                           g_object_ref (task), g_object_unref);
}

/**
 * tether_future_wait_finish:
 * @self: a [class@Tether.Future]
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Tether.Future.wait_async]. Each result is finished
 * once: a second call fails with %TETHER_ERROR_INVALID_ARGUMENT.
 *
 * Thread: the thread that called [method@Tether.Future.wait_async].
 *
 * Returns: %TRUE if the work succeeded, as [method@Tether.Future.wait]
 *
 * Since: 1.0
 */
gboolean
tether_future_wait_finish (TetherFuture  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  AsyncWait *wait;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  wait = g_task_get_task_data (G_TASK (result));
  if (wait->finished)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   "This result of tether_future_wait_async() for manager '%s' was already "
                   "finished; call tether_future_wait_finish() once per result",
                   tether_core_get_label (self->job->core));
      return FALSE;
    }
  wait->finished = TRUE;

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  return outcome (self, error);
}

/**
 * tether_future_get_value:
 * @self: a [class@Tether.Future]
 *
 * Gets the work's value. Only valid once the future succeeded.
 *
 * Thread: any thread.
 *
 * Returns: (transfer none) (nullable): the value, owned by @self, or %NULL if
 *   the work returned no value
 *
 * Since: 1.0
 */
const GValue *
tether_future_get_value (TetherFuture *self)
{
  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  g_return_val_if_fail (tether_future_get_status (self) == TETHER_FUTURE_STATUS_SUCCEEDED, NULL);

  return self->value;
}

/**
 * tether_future_dup_error:
 * @self: a [class@Tether.Future]
 *
 * Gets a copy of the error the work ended with, including the
 * %G_IO_ERROR_CANCELLED error of a cancelled future.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): the error, or %NULL if the future is
 *   pending or succeeded
 *
 * Since: 1.0
 */
GError *
tether_future_dup_error (TetherFuture *self)
{
  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);

  if (!tether_future_is_done (self) || self->error == NULL)
    return NULL;
  g_atomic_int_set (&self->retrieved, TRUE);
  return g_error_copy (self->error);
}

static const GValue *
typed_value (TetherFuture *self,
             GType         type)
{
  if (tether_future_get_status (self) != TETHER_FUTURE_STATUS_SUCCEEDED)
    {
      g_critical ("TetherFuture of manager '%s' read before it succeeded",
                  tether_core_get_label (self->job->core));
      return NULL;
    }
  if (self->value == NULL || !G_VALUE_HOLDS (self->value, type))
    {
      g_critical ("TetherFuture of manager '%s' holds %s, not %s",
                  tether_core_get_label (self->job->core),
                  self->value != NULL ? G_VALUE_TYPE_NAME (self->value) : "no value",
                  g_type_name (type));
      return NULL;
    }
  return self->value;
}

/**
 * tether_future_get_boolean:
 * @self: a succeeded [class@Tether.Future] holding a boolean
 *
 * Gets the boolean a succeeded future holds, without blocking: call it once
 * [method@Tether.Future.wait] returned %TRUE or the status is
 * %TETHER_FUTURE_STATUS_SUCCEEDED.
 *
 * Thread: any thread.
 *
 * Returns: the value, or %FALSE with a critical on a type mismatch
 *
 * Since: 1.0
 */
gboolean
tether_future_get_boolean (TetherFuture *self)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), FALSE);
  v = typed_value (self, G_TYPE_BOOLEAN);
  return v != NULL ? g_value_get_boolean (v) : FALSE;
}

/**
 * tether_future_get_int:
 * @self: a succeeded [class@Tether.Future] holding an int
 *
 * Gets the int a succeeded future holds, without blocking: call it once
 * [method@Tether.Future.wait] returned %TRUE or the status is
 * %TETHER_FUTURE_STATUS_SUCCEEDED.
 *
 * Thread: any thread.
 *
 * Returns: the value, or 0 with a critical on a type mismatch
 *
 * Since: 1.0
 */
int
tether_future_get_int (TetherFuture *self)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), 0);
  v = typed_value (self, G_TYPE_INT);
  return v != NULL ? g_value_get_int (v) : 0;
}

/**
 * tether_future_get_int64:
 * @self: a succeeded [class@Tether.Future] holding an int64
 *
 * Gets the 64-bit integer a succeeded future holds, without blocking: call it
 * once [method@Tether.Future.wait] returned %TRUE or the status is
 * %TETHER_FUTURE_STATUS_SUCCEEDED.
 *
 * Thread: any thread.
 *
 * Returns: the value, or 0 with a critical on a type mismatch
 *
 * Since: 1.0
 */
gint64
tether_future_get_int64 (TetherFuture *self)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), 0);
  v = typed_value (self, G_TYPE_INT64);
  return v != NULL ? g_value_get_int64 (v) : 0;
}

/**
 * tether_future_get_double:
 * @self: a succeeded [class@Tether.Future] holding a double
 *
 * Gets the double a succeeded future holds, without blocking: call it once
 * [method@Tether.Future.wait] returned %TRUE or the status is
 * %TETHER_FUTURE_STATUS_SUCCEEDED.
 *
 * Thread: any thread.
 *
 * Returns: the value, or 0 with a critical on a type mismatch
 *
 * Since: 1.0
 */
double
tether_future_get_double (TetherFuture *self)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), 0.0);
  v = typed_value (self, G_TYPE_DOUBLE);
  return v != NULL ? g_value_get_double (v) : 0.0;
}

/**
 * tether_future_dup_string:
 * @self: a succeeded [class@Tether.Future] holding a string
 *
 * Copies the string a succeeded future holds, without blocking: call it once
 * [method@Tether.Future.wait] returned %TRUE or the status is
 * %TETHER_FUTURE_STATUS_SUCCEEDED.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): a copy of the value
 *
 * Since: 1.0
 */
char *
tether_future_dup_string (TetherFuture *self)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  v = typed_value (self, G_TYPE_STRING);
  return v != NULL ? g_value_dup_string (v) : NULL;
}

/**
 * tether_future_dup_object:
 * @self: a succeeded [class@Tether.Future] holding an object
 *
 * Gets a new reference to the object a succeeded future holds, without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE or the
 * status is %TETHER_FUTURE_STATUS_SUCCEEDED.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (type GObject) (nullable): a new reference to the value
 *
 * Since: 1.0
 */
gpointer
tether_future_dup_object (TetherFuture *self)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  v = typed_value (self, G_TYPE_OBJECT);
  return v != NULL ? g_value_dup_object (v) : NULL;
}

/**
 * tether_future_dup_variant:
 * @self: a succeeded [class@Tether.Future] holding a variant
 *
 * Gets a new reference to the variant a succeeded future holds, without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE or the
 * status is %TETHER_FUTURE_STATUS_SUCCEEDED.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): a new reference to the value
 *
 * Since: 1.0
 */
GVariant *
tether_future_dup_variant (TetherFuture *self)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  v = typed_value (self, G_TYPE_VARIANT);
  return v != NULL ? g_value_dup_variant (v) : NULL;
}

/**
 * tether_future_get_pointer: (skip)
 * @self: a succeeded [class@Tether.Future] set by [method@Tether.Work.return_pointer]
 *
 * Gets the pointer a succeeded future holds, without blocking; it stays owned
 * by the future, which frees it with the destroy notify given to
 * [method@Tether.Work.return_pointer] when it is finalized.
 *
 * Thread: any thread.
 *
 * Returns: (transfer none) (nullable): the pointer, owned by @self
 *
 * Since: 1.0
 */
gpointer
tether_future_get_pointer (TetherFuture *self)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  v = typed_value (self, tether_owned_pointer_get_type ());
  return v != NULL ? tether_owned_pointer_get (v) : NULL;
}

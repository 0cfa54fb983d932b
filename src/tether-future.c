/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-debug-private.h"
#include "tether-enum-types.h"
#include "tether-error.h"
#include "tether-event-private.h"
#include "tether-future-private.h"
#include "tether-core-private.h"
#include "tether-i18n-private.h"
#include "tether-work-private.h"

/* What the UNRETRIEVED report of a future completed by code names. */
typedef struct
{
  char *owner;
  char *task_type;
  char *work;
} UnretrievedReport;

static void
unretrieved_report_free (UnretrievedReport *report)
{
  g_free (report->owner);
  g_free (report->task_type);
  g_free (report->work);
  g_free (report);
}

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

  TetherJob          *job;      /* immutable; cancellation and deadlock checks;
                                 * NULL for a future completed by code */

  /* Blocking waiters sleep on the event, not on a lock: completing a
   * future nobody blocks on costs one atomic exchange and no system call. */
  TetherEvent         done;
  TetherFutureStatus  status;    /* atomic reads; written once, before done is set */
  GValue             *value;     /* immutable once status != PENDING */
  GError             *error;     /* immutable once status != PENDING */
  int                 retrieved; /* atomic: someone has read the error */
  GMutex              mutex;     /* protects waiters and listeners */
  GQueue              waiters;   /* GTask of wait_async() */
  GSList             *listeners; /* Listener: told on the completing thread */
  GMainContext       *home;      /* the creator's thread-default context: notify::status */

  /* Progress (see the end of this file). */
  GVariant           *progress;        /* mutex: the latest reported */
  GMainContext       *progress_home;   /* mutex: set_progress_context(), else @home */
  gboolean            progress_queued; /* mutex: an idle holds a reference to deliver it */
  int                 progress_used;   /* atomic: a report looked at @disposed */
  int                 disposed;        /* atomic: no report may take a reference any more */

  /* A future completed by code (a promise, a combinator): no job. Several
   * parties may race to complete it (the producer, a consumer's cancel, an
   * input of a combinator); the first to claim it does. */
  int                 claimed;     /* atomic */
  char               *label;       /* what messages call it */
  TetherFutureCancelFunc cancel_func;  /* tether_future_cancel(); NULL: end it cancelled */
  gpointer            cancel_data;
  GDestroyNotify      cancel_destroy;
  const TetherFutureWaitHooks *wait_hooks;  /* set before the future is shared */
  TetherFuture       *progress_forward;     /* mutex: see tether_future_forward_progress() */
  UnretrievedReport  *unretrieved;          /* set before shared; NULL: no report */
};

enum {
  PROP_0,
  PROP_STATUS,
  N_PROPS
};

static GParamSpec *properties [N_PROPS];
static guint       progress_signal;
static guint       notify_signal;
static GQuark      status_quark;

G_DEFINE_FINAL_TYPE (TetherFuture, tether_future, G_TYPE_OBJECT)

/* A report takes a reference only under the mutex and only while @disposed
 * is unset, and dispose runs before the count can reach zero: so no report
 * references a future on its way to finalize. The lock is taken here only
 * if a report could be in its critical section (both flags are sequentially
 * consistent: one of the two sides sees the other's). */
static void
tether_future_dispose (GObject *object)
{
  TetherFuture *self = (TetherFuture *) object;

  g_atomic_int_set (&self->disposed, TRUE);
  if (g_atomic_int_get (&self->progress_used))
    {
      g_mutex_lock (&self->mutex);
      g_mutex_unlock (&self->mutex);
    }

  G_OBJECT_CLASS (tether_future_parent_class)->dispose (object);
}

static void
tether_future_finalize (GObject *object)
{
  TetherFuture *self = (TetherFuture *) object;

  /* Setting the event is the completion's last touch of the future: once
   * it is set, the value and error are final and nobody else will touch
   * them. Before that, detaching waits for a completion in progress, and
   * one still to come frees its outcome itself. Either way what the future
   * holds is released here, on the thread that dropped the last reference. */
  if (self->job != NULL && !tether_event_is_set (&self->done))
    tether_job_detach_sink (self->job, self);

  g_assert (self->waiters.length == 0);
  g_clear_object (&self->progress_forward);

  if (self->job != NULL && self->error != NULL && !g_atomic_int_get (&self->retrieved) &&
      self->status == TETHER_FUTURE_STATUS_FAILED &&
      (tether_core_get_setting (tether_core_of_job (self->job), TETHER_CORE_DEBUG_FLAGS) &
       TETHER_DEBUG_FLAGS_UNRETRIEVED))
    {
      g_autofree char *name = tether_job_dup_name (self->job);
      /* Read under the core lock: a restart frees the task type. */
      g_autofree char *task_type = tether_core_dup_task_type (tether_core_of_job (self->job));

      tether_debug_log_unretrieved (tether_core_get_label (tether_core_of_job (self->job)),
                                    task_type, name, self->error);
    }
  else if (self->unretrieved != NULL && self->error != NULL &&
           !g_atomic_int_get (&self->retrieved) && self->status == TETHER_FUTURE_STATUS_FAILED)
    tether_debug_log_unretrieved (self->unretrieved->owner, self->unretrieved->task_type,
                                  self->unretrieved->work, self->error);
  g_clear_pointer (&self->unretrieved, unretrieved_report_free);

  if (self->value != NULL)
    {
      g_value_unset (self->value);
      g_free (self->value);
    }
  g_clear_error (&self->error);
  g_clear_pointer (&self->progress, g_variant_unref);
  g_clear_pointer (&self->progress_home, g_main_context_unref);
  g_clear_pointer (&self->job, tether_job_unref);
  if (self->cancel_destroy != NULL)
    self->cancel_destroy (self->cancel_data);
  g_free (self->label);
  g_clear_pointer (&self->home, g_main_context_unref);
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

  object_class->dispose = tether_future_dispose;
  object_class->finalize = tether_future_finalize;
  object_class->get_property = tether_future_get_property;

  /**
   * TetherFuture:status:
   *
   * The future's [enum@Tether.FutureStatus]. It changes once, from
   * %TETHER_FUTURE_STATUS_PENDING to a final state, on the thread that ends
   * the work.
   *
   * `notify::status` is emitted in the thread-default main context of the
   * thread that submitted the work (where the future was created), from an
   * idle source, never on the thread that ended the work and never inside
   * the call that ended it. It is emitted if the submitting thread was
   * running that context when it submitted (it owned it, as a thread in
   * g_main_loop_run() or a GTK application's main thread does; see
   * g_main_context_is_owner()), and a handler for `notify` was connected
   * when the work ended; one connected later reads the status instead.
   * Futures submitted from a thread that runs no loop (one that blocks in
   * [method@Tether.Future.wait]) never notify, and pay nothing for it. A
   * future is not released until its notification has been dispatched.
   *
   * Since: 1.0
   */
  properties [PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL,
                       TETHER_TYPE_FUTURE_STATUS,
                       TETHER_FUTURE_STATUS_PENDING,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * TetherFuture::progress:
   * @future: the future
   * @progress: the latest progress the work reported
   *
   * The work reported progress, with [method@Tether.Work.report_progress]
   * or [method@Tether.Work.report_fraction].
   *
   * Emitted in the thread-default main context of the thread that
   * submitted the work, from an idle source, under the same condition as
   * `notify::status` (see [property@Tether.Future:status]): the submitting
   * thread ran that context when it submitted, and a handler was connected
   * when the progress was reported.
   * [method@Tether.Future.set_progress_context] names another context (for
   * a submitter that runs no loop).
   *
   * Reports are coalesced: at most one delivery is pending per future, and
   * it carries the latest value when it runs, so a work that reports a
   * million times floods nobody; the last value reported before the outcome
   * is delivered unless the outcome comes first. It is not emitted once the
   * future is done, so never after `notify::status` nor after a
   * [method@Tether.Future.wait_async] callback that ran in the same context
   * (the work, on its own thread, may still end while a handler runs).
   * [method@Tether.Future.dup_progress] reads the latest value from any
   * thread.
   *
   * Since: 1.0
   */
  progress_signal = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_VARIANT);

  notify_signal = g_signal_lookup ("notify", G_TYPE_OBJECT);
  status_quark = g_quark_from_static_string ("status");
}

static void
tether_future_init (TetherFuture *self)
{
  g_mutex_init (&self->mutex);
  tether_event_init (&self->done);
  self->status = TETHER_FUTURE_STATUS_PENDING;
}

/* The context notify::status is delivered in: the thread-default context
 * of the submitting thread if that thread runs it (owns it, as a thread
 * iterating its loop does), else none. A thread that blocks on its futures
 * runs no loop, and its completions then skip the handler lookup, which
 * takes GObject's global signal lock: 0.2 us of a 0.9 us spinning round
 * trip. */
static GMainContext *
home_of_caller (void)
{
  GMainContext *context = g_main_context_get_thread_default ();

  if (context == NULL)
    context = g_main_context_default ();
  return g_main_context_is_owner (context) ? g_main_context_ref (context) : NULL;
}

TetherFuture *
tether_future_new (TetherJob *job)
{
  TetherFuture *self = g_object_new (TETHER_TYPE_FUTURE, NULL);

  self->job = tether_job_ref (job);
  self->home = home_of_caller ();
  return self;
}

/* A future no job completes: tether_future_try_complete() does, from any
 * thread. @label is what messages call it ("a promise"); @cancel_func, if
 * not %NULL, is what tether_future_cancel() does instead of ending it
 * cancelled (it runs on the cancelling thread, and must not call back into
 * user code that could block). */
TetherFuture *
tether_future_new_detached (const char             *label,
                            TetherFutureCancelFunc  cancel_func,
                            gpointer                cancel_data,
                            GDestroyNotify          cancel_destroy)
{
  TetherFuture *self = g_object_new (TETHER_TYPE_FUTURE, NULL);

  self->label = g_strdup (label);
  self->cancel_func = cancel_func;
  self->cancel_data = cancel_data;
  self->cancel_destroy = cancel_destroy;
  self->home = home_of_caller ();
  return self;
}

/* Any thread holding a reference to a future made by
 * tether_future_new_detached(): ends it with @value or @error (both taken),
 * unless it has ended already; returns whether this call ended it. Waiters
 * hear of it through idles in their own contexts, never in here. */
gboolean
tether_future_try_complete (TetherFuture *self,
                            GValue       *value,
                            GError       *error)
{
  g_assert (self->job == NULL);

  if (!g_atomic_int_compare_and_exchange (&self->claimed, FALSE, TRUE))
    {
      if (value != NULL)
        {
          g_value_unset (value);
          g_free (value);
        }
      g_clear_error (&error);
      return FALSE;
    }
  tether_future_complete (self, value, error);
  return TRUE;
}

/* Before @self (made by tether_future_new_detached()) is handed out. */
void
tether_future_set_wait_hooks (TetherFuture                *self,
                              const TetherFutureWaitHooks *hooks)
{
  g_assert (self->job == NULL);
  self->wait_hooks = hooks;
}

/* Before @self (made by tether_future_new_detached()) is handed out: if it
 * fails and is finalized without anyone reading its error, debug mode's
 * %TETHER_DEBUG_FLAGS_UNRETRIEVED report names @owner, @task_type and
 * @work, as a job's future names its manager and work. The caller decides
 * whether the flag is on: a detached future has no manager to ask. */
void
tether_future_report_unretrieved (TetherFuture *self,
                                  const char   *owner,
                                  const char   *task_type,
                                  const char   *work)
{
  g_assert (self->job == NULL && self->unretrieved == NULL);
  self->unretrieved = g_new (UnretrievedReport, 1);
  self->unretrieved->owner = g_strdup (owner);
  self->unretrieved->task_type = g_strdup (task_type != NULL ? task_type : "");
  self->unretrieved->work = g_strdup (work);
}

/* Whether @self ends by code rather than by a job. */
gboolean
tether_future_is_detached (TetherFuture *self)
{
  return self->job == NULL;
}

/* The manager whose work the future is, or %NULL for one completed by
 * code. */
static inline TetherCore *
future_core (TetherFuture *self)
{
  return self->job != NULL ? tether_core_of_job (self->job) : NULL;
}

/* Internal completion listeners (combinators, continuations, promises'
 * consumers): each holds a reference to the future, dropped after it is
 * told, so the future lives through the call. */
typedef struct
{
  TetherFutureListenFunc func;
  gpointer               data;
} Listener;

/* Any thread: @func runs once @self has ended, on the thread that ended it
 * (or here, at once, if it has ended already), with no lock held. It must
 * be short and must not block: combinators count and complete other
 * futures; continuations schedule themselves elsewhere. */
void
tether_future_listen (TetherFuture           *self,
                      TetherFutureListenFunc  func,
                      gpointer                data)
{
  gboolean done;

  g_mutex_lock (&self->mutex);
  done = g_atomic_int_get (&self->status) != TETHER_FUTURE_STATUS_PENDING;
  if (!done)
    {
      Listener *listener = g_new (Listener, 1);

      listener->func = func;
      listener->data = data;
      self->listeners = g_slist_prepend (self->listeners, listener);
      g_object_ref (self);
    }
  g_mutex_unlock (&self->mutex);

  if (done)
    func (self, data);
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
    tether_core_end_async_wait (g_steal_pointer (&wait->waiter), future_core (self));
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
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, g_task_get_priority (task));
  g_source_set_static_name (source, "[tether] future waiter");
  g_source_set_callback (source, return_waiter, task, g_object_unref);
  tether_attach_and_unref (source, g_task_get_context (task));
}

static gboolean
notify_status (gpointer data)
{
  g_object_notify_by_pspec (data, properties [PROP_STATUS]);
  return G_SOURCE_REMOVE;
}

/* In the creator's context, from an idle: see TetherFuture:status. */
static void
schedule_notify (TetherFuture *self)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_static_name (source, "[tether] future status");
  g_source_set_callback (source, notify_status, self, g_object_unref);
  tether_attach_and_unref (source, self->home);
}

void
tether_future_complete (TetherFuture *self,
                        GValue       *value,
                        GError       *error)
{
  TetherFutureStatus status;
  TetherFuture *notify = NULL;
  GQueue waiters;
  GSList *listeners;

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
  listeners = g_slist_reverse (g_steal_pointer (&self->listeners));
  g_mutex_unlock (&self->mutex);

  /* Before the event is set: after it, @self may be gone. Signal handlers
   * are only looked up (under GObject's signal lock) for a future made on
   * a thread that runs its context, so a completion nobody can hear pays
   * nothing, and one nobody listens to a lookup and no allocation. */
  if (self->home != NULL &&
      g_signal_has_handler_pending (self, notify_signal, status_quark, FALSE))
    notify = g_object_ref (self);

  /* The last touch of @self: a waiter woken here may drop it at once (see
   * tether_future_finalize()). The waiters' tasks hold references of their
   * own. */
  tether_event_set (&self->done);

  if (notify != NULL)
    schedule_notify (notify);

  for (GList *l = waiters.head; l != NULL; l = l->next)
    {
      async_wait_ended (self, l->data);
      schedule_waiter (l->data);
    }
  g_list_free (waiters.head);

  /* Each listener holds a reference, so @self lives through these. */
  for (GSList *l = listeners; l != NULL; l = l->next)
    {
      Listener *listener = l->data;

      listener->func (self, listener->data);
      g_object_unref (self);
      g_free (listener);
    }
  g_slist_free (listeners);
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

  return self->job != NULL && !tether_future_is_done (self) &&
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

  if (tether_future_is_done (self))
    return;
  if (self->job != NULL)
    tether_job_request_cancel (self->job);
  else if (self->cancel_func != NULL)
    self->cancel_func (self, self->cancel_data);
  else
    {
      g_object_ref (self);
      tether_future_try_complete (self, NULL,
                                  g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               _("%s was cancelled"), self->label));
      g_object_unref (self);
    }
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

/* What ends a blocking wait early, besides the work ending and the
 * deadline: a CANCEL stop of the manager whose thread waits, and the
 * caller's cancellable. */
typedef struct
{
  TetherCore   *waiter;
  GCancellable *cancellable;
} WaitAbort;

static gboolean
wait_aborted (gpointer data)
{
  WaitAbort *abort = data;

  return (abort->waiter != NULL && tether_core_is_cancelling (abort->waiter)) ||
         g_cancellable_is_cancelled (abort->cancellable);
}

/* The caller's cancellable fired, on whatever thread cancelled it: the
 * sleepers look at wait_aborted() again. */
static void
wake_waiters (GCancellable *cancellable,
              gpointer      data)
{
  tether_event_nudge (data);
}

/**
 * tether_future_wait:
 * @self: a [class@Tether.Future]
 * @timeout_usec: how long to wait, in microseconds; -1 waits without limit,
 *   0 only polls
 * @cancellable: (nullable): a [class@Gio.Cancellable] that ends the wait
 *
 * Blocks until the work ends, @timeout_usec passes or @cancellable is
 * cancelled. From Python the GIL is released while waiting.
 *
 * @cancellable abandons the wait, not the work: the wait fails with
 * %G_IO_ERROR_CANCELLED and the work goes on (cancel it with
 * [method@Tether.Future.cancel], or give the cancellable to the submission
 * as well). An outcome already there wins over a cancelled @cancellable.
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
 * For example, waiting 100 ms for work that returns an `int`:
 *
 * ```c
 * g_autoptr(GError) error = NULL;
 *
 * if (tether_future_wait (future, 100 * 1000, NULL, &error))
 *   g_print ("%d\n", tether_future_get_int (future, NULL));
 * else if (g_error_matches (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT))
 *   tether_future_cancel (future);   // the work still runs: cancel it
 * else
 *   g_warning ("The work failed: %s", error->message);
 * ```
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
                    GCancellable  *cancellable,
                    GError       **error)
{
  WaitAbort abort = { NULL, NULL };
  gulong handler = 0;
  gint64 deadline;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (tether_future_is_done (self))
    return outcome (self, error);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (timeout_usec != 0 && self->job != NULL && tether_core_is_current (future_core (self)))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                   _("Future.wait() on the thread of manager '%s' would deadlock: only this "
                     "thread can run the work; use Future.wait_async() instead"),
                   tether_core_get_label (tether_core_of_job (self->job)));
      return FALSE;
    }

  if (timeout_usec != 0 && self->wait_hooks != NULL &&
      !self->wait_hooks->begin (self, self->cancel_data, error))
    return FALSE;

  if (timeout_usec != 0)
    {
      TetherCore *waiter = tether_core_get_current ();
      g_autofree char *cycle = NULL;

      /* Only a wait on a manager's thread can close a cycle, or be ended by
       * a CANCEL stop of its manager: elsewhere this returns at once. */
      if (!tether_core_begin_wait (future_core (self), &self->done, &cycle))
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                       _("Waiting here would deadlock: %s each wait for the next; the work still "
                         "runs: use Future.wait_async() instead"),
                       cycle);
          if (self->wait_hooks != NULL)
            self->wait_hooks->end (self, self->cancel_data);
          return FALSE;
        }
      deadline = timeout_usec > 0 ? tether_time_after (timeout_usec) : -1;
      abort.waiter = waiter;
      abort.cancellable = cancellable;
      if (cancellable != NULL)
        handler = g_cancellable_connect (cancellable, G_CALLBACK (wake_waiters),
                                         &self->done, NULL);
      tether_event_wait_until_or (&self->done,
                                  self->job != NULL
                                  ? tether_core_get_setting (future_core (self), TETHER_CORE_WAIT_SPIN)
                                  : 0,
                                  deadline,
                                  waiter != NULL || cancellable != NULL ? wait_aborted : NULL,
                                  &abort);
      /* Blocks while the handler runs on another thread: after this, it
       * no longer touches the event. */
      g_cancellable_disconnect (cancellable, handler);
      tether_core_end_wait ();
      if (self->wait_hooks != NULL)
        self->wait_hooks->end (self, self->cancel_data);
    }

  if (!tether_future_is_done (self))
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (timeout_usec != 0 && tether_core_wait_cancelled ())
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                     _("The wait was ended because manager '%s', whose thread waited, was "
                       "stopped with StopMode.CANCEL; the work on manager '%s' goes on"),
                     tether_core_get_label (tether_core_get_current ()),
                     self->job != NULL ? tether_core_get_label (future_core (self)) : self->label);
      else if (self->job == NULL)
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT,
                     _("%s did not end within %lld µs; wait again, or call Future.cancel()"),
                     self->label, (long long) timeout_usec);
      else
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_TIMED_OUT,
                     _("Work on manager '%s' did not finish within %lld µs; it still runs: wait "
                       "again, or call Future.cancel() to stop it"),
                     tether_core_get_label (future_core (self)), (long long) timeout_usec);
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
                             self->job != NULL
                             ? tether_core_get_setting (future_core (self), TETHER_CORE_WAIT_SPIN)
                             : 0,
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
                               _("The wait was cancelled; the work goes on"));
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
      !(refused = self->job != NULL &&
                  !tether_core_begin_async_wait (future_core (self), &wait->waiter, &cycle)))
    g_queue_push_tail (&self->waiters, g_object_ref (task));
  g_mutex_unlock (&self->mutex);

  if (refused)
    g_task_return_new_error (task, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                             _("Waiting here would deadlock: %s each wait for the next, and the "
                               "last waits for this manager's thread to exit; the work still runs"),
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
                   _("This result of Future.wait_async() on manager '%s' was already finished; "
                     "call Future.wait_finish() once per result"),
                   self->job != NULL ? tether_core_get_label (future_core (self)) : self->label);
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

/* The value of a succeeded future if it holds @type; else %NULL with @error
 * set: the work's own error if it failed or was cancelled, %G_IO_ERROR_PENDING
 * if it has not ended, %TETHER_ERROR_WRONG_TYPE if it holds another type. */
static const GValue *
typed_value (TetherFuture  *self,
             GType          type,
             GError       **error)
{
  if (!tether_future_is_done (self))
    {
      if (self->job == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                     _("%s has not ended; wait for it first"), self->label);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                     _("The work on manager '%s' has not finished; wait for it first"),
                     tether_core_get_label (future_core (self)));
      return NULL;
    }
  if (!outcome (self, error))
    return NULL;
  if (self->value == NULL || !G_VALUE_HOLDS (self->value, type))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WRONG_TYPE,
                   _("The work on manager '%s' returned %s, not %s; use the getter for that "
                     "type, or Future.get_value()"),
                   self->job != NULL ? tether_core_get_label (future_core (self)) : self->label,
                   self->value != NULL ? G_VALUE_TYPE_NAME (self->value) : "no value",
                   g_type_name (type));
      return NULL;
    }
  return self->value;
}

/**
 * tether_future_get_boolean:
 * @self: a [class@Tether.Future]
 * @error: return location for a #GError
 *
 * Gets the value of a future whose work returned a boolean, without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE, or from
 * a [method@Tether.Future.wait_async] callback. If the work failed or was
 * cancelled, @error is set to its error (as [method@Tether.Future.wait] sets
 * it); if it has not ended, to %G_IO_ERROR_PENDING; if it returned a value of
 * another type (or none), to %TETHER_ERROR_WRONG_TYPE.
 *
 * Thread: any thread.
 *
 * Returns: the value, or %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
tether_future_get_boolean (TetherFuture  *self,
                          GError       **error)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  v = typed_value (self, G_TYPE_BOOLEAN, error);
  return v != NULL ? g_value_get_boolean (v) : FALSE;
}

/**
 * tether_future_get_int:
 * @self: a [class@Tether.Future]
 * @error: return location for a #GError
 *
 * Gets the value of a future whose work returned an int, without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE, or from
 * a [method@Tether.Future.wait_async] callback. If the work failed or was
 * cancelled, @error is set to its error (as [method@Tether.Future.wait] sets
 * it); if it has not ended, to %G_IO_ERROR_PENDING; if it returned a value of
 * another type (or none), to %TETHER_ERROR_WRONG_TYPE.
 *
 * Thread: any thread.
 *
 * Returns: the value, or 0 with @error set
 *
 * Since: 1.0
 */
int
tether_future_get_int (TetherFuture  *self,
                      GError       **error)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  v = typed_value (self, G_TYPE_INT, error);
  return v != NULL ? g_value_get_int (v) : 0;
}

/**
 * tether_future_get_int64:
 * @self: a [class@Tether.Future]
 * @error: return location for a #GError
 *
 * Gets the value of a future whose work returned a 64-bit integer, without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE, or from
 * a [method@Tether.Future.wait_async] callback. If the work failed or was
 * cancelled, @error is set to its error (as [method@Tether.Future.wait] sets
 * it); if it has not ended, to %G_IO_ERROR_PENDING; if it returned a value of
 * another type (or none), to %TETHER_ERROR_WRONG_TYPE.
 *
 * Thread: any thread.
 *
 * Returns: the value, or 0 with @error set
 *
 * Since: 1.0
 */
gint64
tether_future_get_int64 (TetherFuture  *self,
                        GError       **error)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  v = typed_value (self, G_TYPE_INT64, error);
  return v != NULL ? g_value_get_int64 (v) : 0;
}

/**
 * tether_future_get_double:
 * @self: a [class@Tether.Future]
 * @error: return location for a #GError
 *
 * Gets the value of a future whose work returned a double, without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE, or from
 * a [method@Tether.Future.wait_async] callback. If the work failed or was
 * cancelled, @error is set to its error (as [method@Tether.Future.wait] sets
 * it); if it has not ended, to %G_IO_ERROR_PENDING; if it returned a value of
 * another type (or none), to %TETHER_ERROR_WRONG_TYPE.
 *
 * Thread: any thread.
 *
 * Returns: the value, or 0.0 with @error set
 *
 * Since: 1.0
 */
double
tether_future_get_double (TetherFuture  *self,
                         GError       **error)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), 0.0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0.0);

  v = typed_value (self, G_TYPE_DOUBLE, error);
  return v != NULL ? g_value_get_double (v) : 0.0;
}

/**
 * tether_future_dup_string:
 * @self: a [class@Tether.Future]
 * @error: return location for a #GError
 *
 * Gets the value of a future whose work returned a string, without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE, or from
 * a [method@Tether.Future.wait_async] callback. If the work failed or was
 * cancelled, @error is set to its error (as [method@Tether.Future.wait] sets
 * it); if it has not ended, to %G_IO_ERROR_PENDING; if it returned a value of
 * another type (or none), to %TETHER_ERROR_WRONG_TYPE.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): a copy of the value, or %NULL with @error set (or if the work returned a %NULL string)
 *
 * Since: 1.0
 */
char *
tether_future_dup_string (TetherFuture  *self,
                         GError       **error)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  v = typed_value (self, G_TYPE_STRING, error);
  return v != NULL ? g_value_dup_string (v) : NULL;
}

/**
 * tether_future_dup_object:
 * @self: a [class@Tether.Future]
 * @error: return location for a #GError
 *
 * Gets the value of a future whose work returned an object, without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE, or from
 * a [method@Tether.Future.wait_async] callback. If the work failed or was
 * cancelled, @error is set to its error (as [method@Tether.Future.wait] sets
 * it); if it has not ended, to %G_IO_ERROR_PENDING; if it returned a value of
 * another type (or none), to %TETHER_ERROR_WRONG_TYPE.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (type GObject) (nullable): a new reference to the value, or %NULL with @error set (or if the work returned %NULL)
 *
 * Since: 1.0
 */
gpointer
tether_future_dup_object (TetherFuture  *self,
                         GError       **error)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  v = typed_value (self, G_TYPE_OBJECT, error);
  return v != NULL ? g_value_dup_object (v) : NULL;
}

/**
 * tether_future_dup_variant:
 * @self: a [class@Tether.Future]
 * @error: return location for a #GError
 *
 * Gets the value of a future whose work returned a variant, without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE, or from
 * a [method@Tether.Future.wait_async] callback. If the work failed or was
 * cancelled, @error is set to its error (as [method@Tether.Future.wait] sets
 * it); if it has not ended, to %G_IO_ERROR_PENDING; if it returned a value of
 * another type (or none), to %TETHER_ERROR_WRONG_TYPE.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): a new reference to the value, or %NULL with @error set (or if the work returned %NULL)
 *
 * Since: 1.0
 */
GVariant *
tether_future_dup_variant (TetherFuture  *self,
                          GError       **error)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  v = typed_value (self, G_TYPE_VARIANT, error);
  return v != NULL ? g_value_dup_variant (v) : NULL;
}

/**
 * tether_future_get_pointer: (skip)
 * @self: a [class@Tether.Future]
 * @error: return location for a #GError
 *
 * Gets the value of a future whose work returned a pointer set by [method@Tether.Work.return_pointer], without
 * blocking: call it once [method@Tether.Future.wait] returned %TRUE, or from
 * a [method@Tether.Future.wait_async] callback. If the work failed or was
 * cancelled, @error is set to its error (as [method@Tether.Future.wait] sets
 * it); if it has not ended, to %G_IO_ERROR_PENDING; if it returned a value of
 * another type (or none), to %TETHER_ERROR_WRONG_TYPE.
 *
 * Thread: any thread.
 *
 * Returns: (transfer none) (nullable): the pointer, owned by @self (freed with the destroy notify given to [method@Tether.Work.return_pointer] when @self is finalized), or %NULL with @error set
 *
 * Since: 1.0
 */
gpointer
tether_future_get_pointer (TetherFuture  *self,
                          GError       **error)
{
  const GValue *v;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  v = typed_value (self, tether_owned_pointer_get_type (), error);
  return v != NULL ? tether_owned_pointer_get (v) : NULL;
}

/* Progress: tether_work_report_progress() → tether_job_report_progress()
 * → here, with the job's lock held, so @self is not finalized meanwhile. The
 * latest value is kept; one idle at a time carries it to the creator's
 * context. */

static gboolean
deliver_progress (gpointer data)
{
  TetherFuture *self = data;
  GVariant *progress;

  g_mutex_lock (&self->mutex);
  self->progress_queued = FALSE;
  progress = self->progress != NULL ? g_variant_ref (self->progress) : NULL;
  g_mutex_unlock (&self->mutex);

  /* On this thread, the outcome's notify and callbacks come after the
   * status changed: none has run if it has not. */
  if (progress != NULL && !tether_future_is_done (self))
    g_signal_emit (self, progress_signal, 0, progress);
  g_clear_pointer (&progress, g_variant_unref);
  return G_SOURCE_REMOVE;
}

void
tether_future_report_progress (TetherFuture *self,
                               GVariant     *progress)
{
  GMainContext *home = NULL;
  TetherFuture *forward;
  GVariant *old;

  g_mutex_lock (&self->mutex);
  forward = self->progress_forward != NULL ? g_object_ref (self->progress_forward) : NULL;
  old = self->progress;
  self->progress = g_variant_ref (progress);
  home = self->progress_home != NULL ? self->progress_home : self->home;
  if (!self->progress_queued && home != NULL && !tether_future_is_done (self))
    {
      g_atomic_int_set (&self->progress_used, TRUE);
      if (!g_atomic_int_get (&self->disposed) &&
          g_signal_has_handler_pending (self, progress_signal, 0, FALSE))
        {
          self->progress_queued = TRUE;
          g_object_ref (self);
          g_main_context_ref (home);
        }
      else
        home = NULL;
    }
  else
    home = NULL;
  g_mutex_unlock (&self->mutex);
  g_clear_pointer (&old, g_variant_unref);

  if (home != NULL)
    {
      GSource *source = g_idle_source_new ();

      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_static_name (source, "[tether] future progress");
      g_source_set_callback (source, deliver_progress, self, g_object_unref);
      tether_attach_and_unref (source, home);
      g_main_context_unref (home);
    }

  if (forward != NULL)
    {
      tether_future_report_progress (forward, progress);
      g_object_unref (forward);
    }
}

/* Any thread: from now on every report to @self is also reported to @to,
 * on the reporting thread (a pool's future gets its thread's reports
 * without waiting for that thread's context); %NULL stops that. */
void
tether_future_forward_progress (TetherFuture *self,
                                TetherFuture *to)
{
  TetherFuture *old;

  g_mutex_lock (&self->mutex);
  old = self->progress_forward;
  self->progress_forward = to != NULL ? g_object_ref (to) : NULL;
  g_mutex_unlock (&self->mutex);
  g_clear_object (&old);
}

/**
 * tether_future_set_progress_context:
 * @self: a [class@Tether.Future]
 * @context: (nullable): where [signal@Tether.Future::progress] is emitted
 *   from now on; %NULL for the submitter's context again
 *
 * Chooses the context that hears the work's progress. By default it is the
 * thread-default context of the submitting thread, if that thread ran it
 * when it submitted (a GTK application's main thread does); a submitter
 * that runs no loop (a plain thread, an asyncio event loop) names a context
 * that some thread iterates instead. A delivery already on its way goes
 * where it was sent. Coalescing and the rule that no progress comes once
 * the future is done hold in @context as in the default one.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_future_set_progress_context (TetherFuture *self,
                                    GMainContext *context)
{
  GMainContext *old;

  g_return_if_fail (TETHER_IS_FUTURE (self));

  g_mutex_lock (&self->mutex);
  old = self->progress_home;
  self->progress_home = context != NULL ? g_main_context_ref (context) : NULL;
  g_mutex_unlock (&self->mutex);
  g_clear_pointer (&old, g_main_context_unref);
}

/**
 * tether_future_dup_progress:
 * @self: a [class@Tether.Future]
 *
 * Gets the latest progress the work reported with
 * [method@Tether.Work.report_progress] (or
 * [method@Tether.Work.report_fraction], as a `(ds)` variant), whether or not
 * the [signal@Tether.Future::progress] signal delivered it. It stays
 * readable once the future is done.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): the latest progress, or %NULL if
 *   none was reported
 *
 * Since: 1.0
 */
GVariant *
tether_future_dup_progress (TetherFuture *self)
{
  GVariant *progress;

  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);

  g_mutex_lock (&self->mutex);
  progress = self->progress != NULL ? g_variant_ref (self->progress) : NULL;
  g_mutex_unlock (&self->mutex);

  return progress;
}

static void
sink_complete (gpointer  target,
               GValue   *value,
               GError   *error)
{
  tether_future_complete (target, value, error);
}

static void
sink_progress (gpointer  target,
               GVariant *progress)
{
  tether_future_report_progress (target, progress);
}

const TetherJobSinkFuncs tether_future_sink = {
  .complete = sink_complete,
  .progress = sink_progress,
};

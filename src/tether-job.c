/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "tether-debug-private.h"
#include "tether-gjs-private.h"
#include "tether-i18n-private.h"
#include "tether-job-private.h"
#include "tether-recycler-private.h"

/* A few freed jobs, kept for the next tether_job_new(). A job is made on
 * the submitting thread and usually freed on the manager's. glibc's
 * calloc() always goes to the allocating arena, and memory freed on
 * another thread goes back to that arena under its lock: in a tight round
 * trip the two threads took turns at one lock, with futex calls on both
 * sides (a fifth of a spinning round trip's time in tests/bench). A
 * recycler's slots, each a "magazine" of one job here: a round trip reuses
 * the job it just freed, where the magazines of 256 that posts use would
 * first fill up. Off where tether_recycling_allowed() says so (sanitizer
 * builds, valgrind), so that a use after free still shows. */
static TetherRecycler spare_jobs;

static TetherJob *
job_alloc (void)
{
  TetherJob *job;

  if (tether_recycling_allowed () &&
      (job = (TetherJob *) tether_recycler_take (&spare_jobs)) != NULL)
    {
      memset (job, 0, sizeof *job);
      return job;
    }
  return g_new0 (TetherJob, 1);
}

static void
job_release (TetherJob *job)
{
  TetherNode *node = (TetherNode *) job;   /* a freed job is only memory now */

  if (!tether_recycling_allowed ())
    {
      g_free (job);
      return;
    }
  node->next = NULL;
  tether_recycler_give (&spare_jobs, node);
}

TetherJob *
tether_job_new (const TetherJobOwnerFuncs *owner_funcs,
                gpointer                   owner,
                TetherJobKind              kind)
{
  TetherJob *job = job_alloc ();

  g_atomic_ref_count_init (&job->ref_count);
  job->start_node.kind = TETHER_NODE_JOB_START;
  job->retire_node.kind = TETHER_NODE_JOB_RETIRE;
  job->owner = owner_funcs->ref (owner);
  job->owner_funcs = owner_funcs;
  job->kind = kind;
  job->state = TETHER_JOB_QUEUED;
  job->retire_tokens = 2;
  job->live_link.data = job;
  tether_timer_entry_init (&job->timer_entry, 0);
  g_mutex_init (&job->lock);

  return job;
}

/* Before the job is accepted: @target receives the outcome and progress,
 * through @sink, unless it detaches first (a future's finalize). Not a
 * reference: see deliver(). */
void
tether_job_attach_sink (TetherJob                *job,
                        gpointer                  target,
                        const TetherJobSinkFuncs *sink)
{
  job->sink_target = target;
  job->sink = sink;
}

/* The id of the manager that made the job, and the same as messages quote
 * it. */
const char *
tether_job_get_manager_id (TetherJob *job)
{
  return job->owner_funcs->get_id (job->owner);
}

const char *
tether_job_get_manager_label (TetherJob *job)
{
  return job->owner_funcs->get_label (job->owner);
}

/* The manager, under its lock, as it accepts the job: counted in its stats
 * from here; a timer (@ready_time >= 0) due then, other work queued now.
 * The caller's @cancellable is connected before the manager's thread can
 * see the job, which disconnects it on retire; one already cancelled ends
 * the job right here (it is still queued and retired like any other). */
void
tether_job_accept (TetherJob    *job,
                   gint64        ready_time,
                   GCancellable *cancellable)
{
  job->accepted = TRUE;
  if (ready_time >= 0)
    {
      /* Before the cancellable's handler can see the job. */
      job->timer = TRUE;
      job->queued_at = ready_time;
      tether_timer_entry_init (&job->timer_entry, ready_time);
    }
  else
    {
      job->queued_at = g_get_monotonic_time ();
    }
  tether_job_connect_user_cancellable (job, cancellable);
}

/* The manager, under its lock: a hold runs from the moment it is accepted
 * and has no function, so no "function returned" token to give. */
void
tether_job_accept_hold (TetherJob *job)
{
  job->accepted = TRUE;
  job->queued_at = g_get_monotonic_time ();
  job->state = TETHER_JOB_RUNNING;
  job->retire_tokens = 1;
}

/* The manager's thread: moves a queued job to running. %FALSE if it ended
 * first (cancelled, or a stop). */
gboolean
tether_job_try_start (TetherJob *job)
{
  return g_atomic_int_compare_and_exchange (&job->state, TETHER_JOB_QUEUED, TETHER_JOB_RUNNING);
}

/* The manager's thread, the job started: calls its function. */
void
tether_job_run (TetherJob  *job,
                TetherWork *work)
{
  job->func (work, job->func_data);
}

/* Gives back one of the two retire tokens ("function returned",
 * "completed"); returns whether it was the last, so the job can retire. */
gboolean
tether_job_give_retire_token (TetherJob *job)
{
  return g_atomic_int_dec_and_test (&job->retire_tokens);
}

/* g_cancellable_cancel() marks its cancellable cancelled, then runs the
 * "cancelled" handlers one by one: the application's, and the one of every
 * job sharing it, each of which ends its job if still queued. The manager's
 * thread can reach a job in between, before its handler has run. Looking at
 * the cancellable after the job is marked running closes that window: either
 * this sees it cancelled, or the cancellation came after the start (then the
 * handler finds the job running and fires its cancellable, as for any
 * running work). So once g_cancellable_cancel() returns, no job sharing the
 * cancellable can start. */
gboolean
tether_job_is_user_cancelled (TetherJob *job)
{
  return job->user_cancellable != NULL && g_cancellable_is_cancelled (job->user_cancellable);
}

/* The manager's thread, as it retires the job. The handler owns a job
 * reference, so it may still be running on another thread after this. */
void
tether_job_disconnect_user_cancellable (TetherJob *job)
{
  if (job->user_cancel_id != 0)
    {
      g_signal_handler_disconnect (job->user_cancellable, job->user_cancel_id);
      job->user_cancel_id = 0;
    }
}

/* The job of a node the manager's queue gave back. */
TetherJob *
tether_job_from_node (TetherNode *node)
{
  switch (node->kind)
    {
    case TETHER_NODE_JOB_START:
      return G_STRUCT_MEMBER_P (node, -G_STRUCT_OFFSET (TetherJob, start_node));
    case TETHER_NODE_JOB_RETIRE:
      return G_STRUCT_MEMBER_P (node, -G_STRUCT_OFFSET (TetherJob, retire_node));
    case TETHER_NODE_POST:
    default:
      g_assert_not_reached ();
    }
}

TetherJob *
tether_job_from_timer_entry (TetherTimerEntry *entry)
{
  return G_STRUCT_MEMBER_P (entry, -G_STRUCT_OFFSET (TetherJob, timer_entry));
}

TetherJob *
tether_job_ref (TetherJob *job)
{
  g_atomic_ref_count_inc (&job->ref_count);
  return job;
}

/* TetherFuture's finalize: from here on, completion frees the outcome
 * itself. Waits for a completion in progress, which keeps the target. */
void
tether_job_detach_sink (TetherJob *job,
                        gpointer   target)
{
  g_mutex_lock (&job->lock);
  if (job->sink_target == target)
    job->sink_target = NULL;
  g_mutex_unlock (&job->lock);
}

void
tether_job_unref (TetherJob *job)
{
  if (!g_atomic_ref_count_dec (&job->ref_count))
    return;

  /* Completion always hands the sink on before the last reference goes. */
  g_assert (job->sink_target == NULL);
  g_assert (job->task == NULL);

  g_clear_pointer (&job->home, g_main_context_unref);
  g_clear_object (&job->user_cancellable);
  g_clear_object (&job->cancellable);
  g_free (job->name);
  g_mutex_clear (&job->lock);
  job->owner_funcs->unref (job->owner);
  job_release (job);
}

void
tether_job_set_func (TetherJob      *job,
                     TetherWorkFunc  func,
                     gpointer        func_data,
                     GDestroyNotify  func_data_destroy)
{
  job->func = func;
  job->func_data = func_data;
  job->func_data_destroy = func_data_destroy;
  job->javascript = tether_func_is_javascript ((gpointer) func, func_data_destroy, &job->home);
}

static gboolean
release_in_home (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* Any thread. Attaches @source to @context and drops the caller's
 * reference to it, holding @context throughout. Once attached, it may run on
 * @context's thread, drop what kept @context alive (a task, a future), and
 * be destroyed, and that thread may stop and free @context, all before
 * g_source_attach() returns here; g_source_unref() then locks the context
 * the source still points to. Holding a reference until after the unref
 * closes that window (a hang seen under MALLOC_PERTURB_: the freed
 * context's lock read as taken). */
void
tether_attach_and_unref (GSource      *source,
                         GMainContext *context)
{
  g_main_context_ref (context);
  g_source_attach (source, context);
  g_source_unref (source);
  g_main_context_unref (context);
}

/* Runs @func_data_destroy here, or in @home if there is one (then the
 * source's destroy notify is the one that runs it). */
void
tether_release_func_data (GMainContext   *home,
                          gpointer        func_data,
                          GDestroyNotify  func_data_destroy)
{
  if (func_data_destroy == NULL)
    return;
  if (home != NULL)
    g_main_context_invoke_full (home, G_PRIORITY_DEFAULT, release_in_home,
                                func_data, func_data_destroy);
  else
    func_data_destroy (func_data);
}

void
tether_job_release_func_data (TetherJob *job)
{
  gpointer func_data = g_steal_pointer (&job->func_data);
  GDestroyNotify func_data_destroy = g_steal_pointer (&job->func_data_destroy);

  tether_release_func_data (job->home, func_data, func_data_destroy);
}

char *
tether_job_dup_name (TetherJob *job)
{
  char *name;

  g_mutex_lock (&job->lock);
  name = g_strdup (job->name);
  g_mutex_unlock (&job->lock);

  return name != NULL ? name : tether_debug_describe_func ((gpointer) job->func);
}

void
tether_job_set_name (TetherJob  *job,
                     const char *name)
{
  g_mutex_lock (&job->lock);
  g_free (job->name);
  job->name = g_strdup (name);
  g_mutex_unlock (&job->lock);
}

static void
free_value (gpointer data)
{
  GValue *value = data;

  g_value_unset (value);
  g_free (value);
}

/* An outcome on its way to a GTask's context. */
typedef struct
{
  GTask  *task;
  GValue *value;
  GError *error;
} TaskReturn;

static gboolean
task_return_cb (gpointer data)
{
  TaskReturn *ret = data;

  /* In the task's own context, GTask calls the callback right here. */
  if (ret->error != NULL)
    g_task_return_error (ret->task, g_steal_pointer (&ret->error));
  else if (ret->value != NULL)
    g_task_return_pointer (ret->task, g_steal_pointer (&ret->value), free_value);
  else
    g_task_return_pointer (ret->task, NULL, NULL);
  return G_SOURCE_REMOVE;
}

static void
task_return_free (gpointer data)
{
  TaskReturn *ret = data;

  if (ret->value != NULL)
    free_value (ret->value);
  g_clear_error (&ret->error);
  g_object_unref (ret->task);
  g_free (ret);
}

/* Returning a GTask from another thread leaves the returner holding a
 * reference while the callback runs in the task's context; if it drops that
 * reference last, the task and its result (the value the work returned) are
 * finalized on the returning thread, a manager's (gio/gtask.c,
 * "Thread-safety considerations"). So the outcome and the only reference
 * travel together to the task's context, and the task is returned there:
 * every reference the manager's side held is then dropped in that context,
 * after the callback, and the result dies with the last reference the
 * application holds. It costs what GTask's own idle would. */
static void
task_return_in_context (GTask  *task,
                        GValue *value,
                        GError *error)
{
  TaskReturn *ret = g_new (TaskReturn, 1);
  GSource *source = g_idle_source_new ();

  ret->task = task;
  ret->value = value;
  ret->error = error;
  g_source_set_priority (source, g_task_get_priority (task));
  g_source_set_static_name (source, "[tether] submit result");
  g_source_set_callback (source, task_return_cb, ret, task_return_free);
  /* The idle may return the task, and the task drop its context, first. */
  tether_attach_and_unref (source, g_task_get_context (task));
}

static void
deliver (TetherJob *job,
         GValue    *value,
         GError    *error)
{
  gpointer target;

  switch (job->kind)
    {
    case TETHER_JOB_KIND_FUTURE:
      /* The job holds no reference to its future, so this thread never
       * drops the last one: the future's finalize detaches it under this
       * lock, and then the outcome has nobody to go to. Completing under the
       * lock keeps the future alive until the waiters are woken. */
      g_mutex_lock (&job->lock);
      target = g_steal_pointer (&job->sink_target);
      if (target != NULL)
        job->sink->complete (target, value, error);
      g_mutex_unlock (&job->lock);
      if (target == NULL)
        {
          if (value != NULL)
            free_value (value);
          g_clear_error (&error);
        }
      break;

    case TETHER_JOB_KIND_TASK:
      task_return_in_context (g_steal_pointer (&job->task), value, error);
      break;

    default:
      g_assert_not_reached ();
      if (value != NULL)
        free_value (value);
      g_clear_error (&error);
      break;
    }
}

/* The one place a job ends: the compare-and-swap on @state picks exactly one
 * winner among the work, cancellation and shutdown. */
static gboolean
complete_from (TetherJob *job,
               gboolean   only_if_queued,
               GValue    *value,
               GError    *error)
{
  int state = g_atomic_int_get (&job->state);

  for (;;)
    {
      if (state == TETHER_JOB_DONE || (only_if_queued && state != TETHER_JOB_QUEUED))
        {
          if (value != NULL)
            free_value (value);
          g_clear_error (&error);
          return FALSE;
        }
      if (g_atomic_int_compare_and_exchange (&job->state, state, TETHER_JOB_DONE))
        break;
      state = g_atomic_int_get (&job->state);
    }

  /* Only the winner writes it; readers see it after the job is retired. */
  job->ended_cancelled = error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  if (job->accepted)
    job->owner_funcs->ended (job->owner, job, error, state == TETHER_JOB_RUNNING);

  /* Keep the job alive through delivery: a sink's finalizer may drop the
   * reference that was keeping it. */
  tether_job_ref (job);
  deliver (job, value, error);

  if (state == TETHER_JOB_RUNNING)
    {
      if (g_atomic_int_dec_and_test (&job->retire_tokens))
        job->owner_funcs->retire (job->owner, job);
    }
  else if (job->timer)
    {
      job->owner_funcs->timer_ended (job->owner, job);
    }

  tether_job_unref (job);
  return TRUE;
}

gboolean
tether_job_complete (TetherJob *job,
                     GValue    *value,
                     GError    *error)
{
  return complete_from (job, FALSE, value, error);
}

gboolean
tether_job_cancel_queued (TetherJob  *job,
                          const char *why)
{
  if (g_atomic_int_get (&job->state) != TETHER_JOB_QUEUED)
    return FALSE;

  return complete_from (job, TRUE, NULL,
                        g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                     _("Work on manager '%s' was cancelled before it started (%s)"),
                                     tether_job_get_manager_label (job), why));
}

void
tether_job_request_cancel (TetherJob *job)
{
  g_autoptr(GCancellable) cancellable = NULL;

  g_mutex_lock (&job->lock);
  job->cancel_requested = TRUE;
  if (job->cancellable != NULL)
    cancellable = g_object_ref (job->cancellable);
  g_mutex_unlock (&job->lock);

  if (!tether_job_cancel_queued (job, "cancellation requested") && cancellable != NULL)
    g_cancellable_cancel (cancellable);
}

/* Records the request without firing the cancellable (and so without
 * running "cancelled" handlers); tether_job_request_cancel() fires it. */
void
tether_job_mark_cancel_requested (TetherJob *job)
{
  g_mutex_lock (&job->lock);
  job->cancel_requested = TRUE;
  g_mutex_unlock (&job->lock);
}

/* A request, or the job's own cancellable cancelled by anyone, the work
 * itself included: so it agrees with g_cancellable_is_cancelled() on that
 * cancellable, except while a request is firing it, when this already says
 * TRUE. It never turns back to FALSE. */
gboolean
tether_job_is_cancel_requested (TetherJob *job)
{
  g_autoptr(GCancellable) cancellable = NULL;
  gboolean ret;

  g_mutex_lock (&job->lock);
  ret = job->cancel_requested;
  if (job->cancellable != NULL)
    cancellable = g_object_ref (job->cancellable);
  g_mutex_unlock (&job->lock);

  return ret || (cancellable != NULL && g_cancellable_is_cancelled (cancellable));
}

GCancellable *
tether_job_get_cancellable (TetherJob *job)
{
  gboolean cancel_now = FALSE;
  GCancellable *ret;

  g_mutex_lock (&job->lock);
  if (job->cancellable == NULL)
    {
      job->cancellable = g_cancellable_new ();
      cancel_now = job->cancel_requested;
    }
  ret = job->cancellable;
  g_mutex_unlock (&job->lock);

  /* Outside the lock: "cancelled" handlers are user code. */
  if (cancel_now)
    g_cancellable_cancel (ret);

  return ret;
}

static void
on_user_cancelled (GCancellable *cancellable,
                   gpointer      user_data)
{
  tether_job_request_cancel (user_data);
}

void
tether_job_connect_user_cancellable (TetherJob    *job,
                                     GCancellable *cancellable)
{
  if (cancellable == NULL)
    return;

  job->user_cancellable = g_object_ref (cancellable);
  /* The handler owns a job reference, so it may still be running on another
   * thread after the manager thread disconnects it. */
  job->user_cancel_id = g_cancellable_connect (cancellable,
                                               G_CALLBACK (on_user_cancelled),
                                               tether_job_ref (job),
                                               (GDestroyNotify) tether_job_unref);
}

/* Progress (tether_work_report_progress()), from any thread: to the
 * sink's target, if the job has one and it still waits for the outcome.
 * Under the lock, so a future is not finalized meanwhile (see deliver()). */
void
tether_job_report_progress (TetherJob *job,
                            GVariant  *progress)
{
  g_mutex_lock (&job->lock);
  if (job->sink_target != NULL)
    job->sink->progress (job->sink_target, progress);
  g_mutex_unlock (&job->lock);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <gio/gio.h>

#include "tether-call-private.h"
#include "tether-error.h"
#include "tether-gjs-private.h"
#include "tether-i18n-private.h"

/* A blocking call: a job like a future's, whose outcome goes to a waiter on
 * the caller's stack instead of a TetherFuture. No GObject is made or
 * finalized and the caller's function and data are borrowed, so the call
 * may return only once the function is not running and never will. Two
 * things end a call, in either order: the job completes (its sink), and
 * its function returns (the trampoline); a job that completes without
 * starting (cancelled while queued, refused, a stop) has no function to
 * wait for. Whoever of the two comes last wakes the caller, and nothing
 * touches the waiter after that. */

enum
{
  CALL_STARTED   = 1 << 0,  /* the trampoline began: the function will run */
  CALL_RETURNED  = 1 << 1,  /* the function returned */
  CALL_COMPLETED = 1 << 2,  /* the job's outcome is in */
};

typedef struct
{
  TetherEvent     done;
  int             phases;     /* atomic CALL_* */
  TetherWorkFunc  func;
  gpointer        func_data;
  GValue         *value;      /* the outcome, written before CALL_COMPLETED */
  GError         *error;
} CallWaiter;

/* The manager's thread. A running job completes only through its work
 * handle, which exists only from here on, so CALL_STARTED is set before any
 * completion of a job that runs. */
static void
call_trampoline (TetherWork *work,
                 gpointer    data)
{
  CallWaiter *waiter = data;

  g_atomic_int_or (&waiter->phases, CALL_STARTED);
  waiter->func (work, waiter->func_data);
  if (g_atomic_int_or (&waiter->phases, CALL_RETURNED) & CALL_COMPLETED)
    tether_event_set (&waiter->done);
}

/* Any thread, once, under the job's lock (see deliver() in tether-job.c). */
static void
call_complete (gpointer  target,
               GValue   *value,
               GError   *error)
{
  CallWaiter *waiter = target;
  int phases;

  waiter->value = value;
  waiter->error = error;
  phases = g_atomic_int_or (&waiter->phases, CALL_COMPLETED);
  if (!(phases & CALL_STARTED) || (phases & CALL_RETURNED))
    tether_event_set (&waiter->done);
}

/* Nobody watches a call's progress. */
static void
call_progress (gpointer  target,
               GVariant *progress)
{
}

static const TetherJobSinkFuncs call_sink = {
  .complete = call_complete,
  .progress = call_progress,
};

/* What ends a call's wait early: a CANCEL stop of the manager whose thread
 * waits. The call still waits for the job to end, but asks it to cancel. */
static gboolean
call_wait_aborted (gpointer data)
{
  return tether_core_is_cancelling (data);
}

/* Waits for the job; if the waiting thread's manager is stopped in CANCEL
 * mode meanwhile, cancels the job (which ends at once if still queued) and
 * waits for it to end. */
static void
call_wait (TetherCore *core,
           TetherJob  *job,
           CallWaiter *waiter)
{
  TetherCore *waiting = tether_core_get_current ();
  gint64 spin = tether_core_get_setting (core, TETHER_CORE_WAIT_SPIN);

  if (waiting != NULL &&
      !tether_event_wait_until_or (&waiter->done, spin, -1, call_wait_aborted, waiting))
    tether_job_request_cancel (job);
  tether_event_wait_until (&waiter->done, spin, -1);
}

static gboolean
call_outcome (CallWaiter  *waiter,
              GValue      *result,
              GError     **error)
{
  if (waiter->error != NULL)
    {
      g_propagate_error (error, waiter->error);
      return FALSE;
    }
  if (waiter->value != NULL)
    {
      if (result != NULL)
        {
          g_value_unset (result);
          *result = *waiter->value;        /* moved: the copy owns it now */
        }
      else
        {
          g_value_unset (waiter->value);
        }
      g_free (waiter->value);
    }
  return TRUE;
}

/* A binding's closure as a TetherWorkFunc (for call_with_closure() and a
 * pool's submit_with_closure()): @closure is called with the work handle
 * as its one parameter, as GLib calls a signal's closure, and may return
 * %TRUE to say it is done: then, if it ended nothing, the work ends with no
 * value here, without a binding's call back into C for it. */
void
tether_closure_work (TetherWork *work,
                     gpointer    data)
{
  GValue param = G_VALUE_INIT;
  GValue done = G_VALUE_INIT;

  g_value_init (&param, TETHER_TYPE_WORK);
  g_value_set_object (&param, work);
  g_value_init (&done, G_TYPE_BOOLEAN);
  g_closure_invoke (data, &done, 1, &param, NULL);
  if (g_value_get_boolean (&done) && !tether_work_is_done (work))
    tether_work_return_value (work, NULL);
  g_value_unset (&param);
}

gboolean
tether_call_run (TetherCore     *core,
                 const char     *task_type,
                 int             priority,
                 TetherWorkFunc  func,
                 gpointer        func_data,
                 GCancellable   *cancellable,
                 GValue         *result,
                 GError        **error)
{
  CallWaiter waiter = { .func = func, .func_data = func_data };
  g_autofree char *cycle = NULL;
  GError *local_error = NULL;
  TetherJob *job;
  gboolean ok;

  /* @result is always set, to a NULL pointer if there is no value (GJS
   * converts an out value even when an error is thrown). */
  if (result != NULL)
    g_value_init (result, G_TYPE_POINTER);

  if (tether_core_is_current (core))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                   _("LoopManager.call() on the thread of manager '%s' would deadlock: only this "
                     "thread can run the work; call the function directly, or submit() it and "
                     "use Future.wait_async()"),
                   tether_core_get_label (core));
      return FALSE;
    }

  tether_event_init (&waiter.done);
  job = tether_core_new_job (core, TETHER_JOB_KIND_FUTURE);
  tether_job_set_func (job, call_trampoline, &waiter, NULL);
  tether_job_attach_sink (job, &waiter, &call_sink);

  /* The reference tether_core_new_job() gave goes to the manager's live
   * list once the job is accepted; the call holds its own while it waits. */
  tether_job_ref (job);
  if (!tether_core_accept (core, job, task_type, priority, cancellable, -1, &local_error))
    {
      /* Never accepted: it ends here, the error going through the sink,
       * and the reference meant for the live list goes. */
      tether_job_complete (job, NULL, local_error);
      tether_job_unref (job);
    }
  else if (!tether_core_begin_wait (core, &waiter.done, &cycle))
    {
      /* The job waited for would wait, through other managers, for this
       * thread: it cannot have started, so cancelling it ends it. */
      tether_job_request_cancel (job);
      tether_event_wait_until (&waiter.done, 0, -1);
      if (waiter.error != NULL && g_error_matches (waiter.error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_error (&waiter.error);
          g_set_error (&waiter.error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                       _("LoopManager.call() would deadlock: %s each wait for the next; nothing "
                         "ran: submit() the work and use Future.wait_async() instead"),
                       cycle);
        }
    }
  else
    {
      call_wait (core, job, &waiter);
      tether_core_end_wait ();
    }

  tether_job_unref (job);
  ok = call_outcome (&waiter, result, error);
  tether_event_clear (&waiter.done);
  return ok;
}

/* GJS calls JavaScript only on its own thread: elsewhere it skips the call
 * with a warning, and the work would end abandoned. In a process that hosts
 * GJS, only a C closure (one without a marshaller) may run on Tether's
 * threads, so that a JavaScript function is refused with an error that
 * says why. */
gboolean
tether_closure_is_javascript (GClosure *closure)
{
  return tether_process_hosts_javascript () && !G_CLOSURE_NEEDS_MARSHAL (closure);
}

/* A reference to @closure for the work, sunk; a C closure is called as a
 * TetherWorkFunc, the work being its instance (as g_source_set_closure()
 * gives C closures a marshaller). */
static void
take_with_marshal (GClosure        *closure,
                   GClosureMarshal  c_marshal)
{
  g_closure_ref (closure);
  g_closure_sink (closure);
  if (G_CLOSURE_NEEDS_MARSHAL (closure))
    g_closure_set_marshal (closure, c_marshal);
}

void
tether_closure_take (GClosure *closure)
{
  take_with_marshal (closure, g_cclosure_marshal_VOID__VOID);
}

/* A C closure taken as a post: its callback gets its data alone. */
static void
marshal_post (GClosure     *closure,
              GValue       *return_value,
              guint         n_param_values,
              const GValue *param_values,
              gpointer      invocation_hint,
              gpointer      marshal_data)
{
  GCClosure *cclosure = (GCClosure *) closure;
  TetherFunc callback = (TetherFunc) (marshal_data != NULL ? marshal_data : cclosure->callback);

  callback (closure->data);
}

/* As tether_closure_take(), for a closure run as a post
 * (tether_closure_post()): a C closure's callback is a TetherFunc. */
void
tether_closure_take_post (GClosure *closure)
{
  take_with_marshal (closure, marshal_post);
}

/* A binding's closure as a TetherFunc (a pool's post_with_closure()):
 * called with no parameters, its return value ignored. */
void
tether_closure_post (gpointer data)
{
  g_closure_invoke (data, NULL, 0, NULL, NULL);
}

/* tether_call_run() for a binding's closure. The caller keeps its reference
 * until this returns, so the closure is invalidated and freed (and a
 * binding's data with it) on the caller's thread, never the manager's. */
gboolean
tether_call_run_closure (TetherCore     *core,
                         const char     *task_type,
                         GClosure       *closure,
                         GCancellable   *cancellable,
                         GValue         *result,
                         GError        **error)
{
  gboolean ok;

  if (tether_closure_is_javascript (closure))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   _("LoopManager.call_with_closure() cannot run a JavaScript function on manager "
                     "'%s': GJS runs JavaScript only on its own thread; call work written in C"),
                   tether_core_get_label (core));
      if (result != NULL)
        g_value_init (result, G_TYPE_POINTER);
      return FALSE;
    }

  tether_closure_take (closure);
  ok = tether_call_run (core, task_type, G_PRIORITY_DEFAULT, tether_closure_work, closure,
                        cancellable, result, error);
  g_closure_unref (closure);
  return ok;
}

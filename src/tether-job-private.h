/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-job-private.h"
#endif

#include "tether-future.h"
#include "tether-queue-private.h"
#include "tether-timers-private.h"
#include "tether-loop-manager.h"
#include "tether-work.h"

G_BEGIN_DECLS

typedef struct _TetherJob  TetherJob;

typedef enum
{
  TETHER_JOB_QUEUED,
  TETHER_JOB_RUNNING,
  TETHER_JOB_DONE,
} TetherJobState;

/* Fire-and-forget posts are not jobs: see TetherPost. */
typedef enum
{
  TETHER_JOB_KIND_FUTURE,
  TETHER_JOB_KIND_TASK,
} TetherJobKind;

/* What a job tells the manager that made it (the core implements these):
 * the job knows its manager only through them, so tether-job.c depends on
 * no file above it. @ended counts the outcome, on the thread that ended
 * the job; @retire hands a job whose outcome is in and whose function has
 * returned to the manager's thread to be retired; @timer_ended does the
 * same for a timer that ended before it fired. */
typedef struct
{
  gpointer    (*ref)         (gpointer owner);
  void        (*unref)       (gpointer owner);
  const char *(*get_id)      (gpointer owner);
  const char *(*get_label)   (gpointer owner);
  void        (*ended)       (gpointer      owner,
                              TetherJob    *job,
                              const GError *error,
                              gboolean      was_running);
  void        (*retire)      (gpointer      owner,
                              TetherJob    *job);
  void        (*timer_ended) (gpointer      owner,
                              TetherJob    *job);
} TetherJobOwnerFuncs;

/* Where a future-kind job's outcome and progress go: a TetherFuture
 * (tether-future.c's sink), or the caller blocked in
 * tether_loop_manager_call() (tether-call.c's). @complete is called once,
 * when the job has ended and its function is not running and never will:
 * either it returned, or it never started. */
typedef struct
{
  void (*complete) (gpointer      target,
                    GValue       *value,
                    GError       *error);
  void (*progress) (gpointer      target,
                    GVariant     *progress);
} TetherJobSinkFuncs;

/* One accepted submission. The manager's live list owns one reference from
 * acceptance until the job is retired on the manager's thread. */
struct _TetherJob
{
  TetherNode       start_node;    /* in the manager's queue, to start */
  TetherNode       retire_node;   /* in the manager's queue, to retire */
  gatomicrefcount  ref_count;
  gpointer         owner;         /* a reference: the manager's core */
  const TetherJobOwnerFuncs *owner_funcs;
  int              state;         /* atomic TetherJobState */
  int              retire_tokens; /* atomic: "func returned" + "completed" */
  TetherJobKind    kind;

  TetherWorkFunc   func;
  gpointer         func_data;
  GDestroyNotify   func_data_destroy;
  GMainContext    *home;          /* where func_data_destroy runs, if not here */
  gboolean         javascript;    /* func is a GJS function: refused at submission */
  gboolean         accepted;      /* counted in the manager's stats */
  gint64           queued_at;     /* monotonic */
  gboolean         ended_cancelled; /* set once, before the job is marked done */

  /* The caller's cancellable; its handler holds a job reference. */
  GCancellable    *user_cancellable;
  gulong           user_cancel_id;

  GMutex           lock;          /* protects the three fields below, and sink_target */
  GCancellable    *cancellable;   /* the job's own, made on demand */
  gboolean         cancel_requested;
  char            *name;          /* tether_work_set_name() */

  gpointer         sink_target;   /* lock; not a reference: see deliver() */
  const TetherJobSinkFuncs *sink;
  GTask           *task;          /* owned until completion */

  gboolean         timer;         /* a timer: set before it can be cancelled */
  TetherTimerEntry timer_entry;   /* tether-timers.c's */

  GList            live_link;     /* core lock */
};

TetherJob    *tether_job_new            (const TetherJobOwnerFuncs *owner_funcs,
                                         gpointer        owner,
                                         TetherJobKind   kind);
void          tether_job_attach_sink    (TetherJob      *job,
                                         gpointer        target,
                                         const TetherJobSinkFuncs *sink);
const char   *tether_job_get_manager_id (TetherJob      *job);
const char   *tether_job_get_manager_label (TetherJob   *job);
void          tether_job_accept         (TetherJob      *job,
                                         gint64          ready_time,
                                         GCancellable   *cancellable);
void          tether_job_accept_hold    (TetherJob      *job);
gboolean      tether_job_try_start      (TetherJob      *job);
void          tether_job_run            (TetherJob      *job,
                                         TetherWork     *work);
gboolean      tether_job_give_retire_token (TetherJob   *job);
gboolean      tether_job_is_user_cancelled (TetherJob   *job);
void          tether_job_disconnect_user_cancellable (TetherJob *job);
TetherJob    *tether_job_from_node      (TetherNode     *node);
TetherJob    *tether_job_from_timer_entry (TetherTimerEntry *entry);

/* Read-only views for the manager. */
static inline gint64
tether_job_get_queued_at (TetherJob *job)
{
  return job->queued_at;
}

static inline gboolean
tether_job_is_timer (TetherJob *job)
{
  return job->timer;
}

static inline gboolean
tether_job_is_javascript (TetherJob *job)
{
  return job->javascript;
}

static inline gboolean
tether_job_is_done (TetherJob *job)
{
  return g_atomic_int_get (&job->state) == TETHER_JOB_DONE;
}

TetherJob    *tether_job_ref            (TetherJob      *job);
void          tether_job_unref          (TetherJob      *job);
void          tether_job_detach_sink    (TetherJob      *job,
                                         gpointer        target);
void          tether_job_set_func       (TetherJob      *job,
                                         TetherWorkFunc  func,
                                         gpointer        func_data,
                                         GDestroyNotify  func_data_destroy);
void          tether_job_release_func_data (TetherJob   *job);
char         *tether_job_dup_name       (TetherJob      *job);
void          tether_job_set_name       (TetherJob      *job,
                                         const char     *name);
void          tether_attach_and_unref   (GSource        *source,
                                         GMainContext   *context);
void          tether_release_func_data  (GMainContext   *home,
                                         gpointer        func_data,
                                         GDestroyNotify  func_data_destroy);
gboolean      tether_job_complete       (TetherJob      *job,
                                         GValue         *value,
                                         GError         *error);
gboolean      tether_job_cancel_queued  (TetherJob      *job,
                                         const char     *why);
void          tether_job_request_cancel (TetherJob      *job);
void          tether_job_mark_cancel_requested (TetherJob *job);
GCancellable *tether_job_get_cancellable (TetherJob     *job);
gboolean      tether_job_is_cancel_requested (TetherJob *job);
void          tether_job_connect_user_cancellable (TetherJob    *job,
                                                   GCancellable *cancellable);
void          tether_job_report_progress (TetherJob     *job,
                                          GVariant      *progress);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TetherJob, tether_job_unref)

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-job-private.h"
#endif

#include "tether-future.h"
#include "tether-queue-private.h"
#include "tether-loop-manager.h"
#include "tether-work.h"

G_BEGIN_DECLS

typedef struct _TetherCore TetherCore;
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

/* One accepted submission. The manager's live list owns one reference from
 * acceptance until the job is retired on the manager's thread. */
struct _TetherJob
{
  TetherNode       node;          /* in the core's queue: to start, then to retire */
  gatomicrefcount  ref_count;
  TetherCore      *core;
  int              state;         /* atomic TetherJobState */
  int              retire_tokens; /* atomic: "func returned" + "completed" */
  TetherJobKind    kind;

  TetherWorkFunc   func;
  gpointer         func_data;
  GDestroyNotify   func_data_destroy;
  GMainContext    *home;          /* where func_data_destroy runs, if not here */
  gboolean         javascript;    /* func is a GJS function: refused at submission */
  gboolean         accepted;      /* counted in the manager's stats */
  gboolean         queued;        /* in the queue to start: counted as pending */
  gint64           queued_at;     /* monotonic */
  gboolean         ended_cancelled; /* set once, before the job is marked done */

  /* The caller's cancellable; its handler holds a job reference. */
  GCancellable    *user_cancellable;
  gulong           user_cancel_id;

  GMutex           lock;          /* protects the three fields below, and future */
  GCancellable    *cancellable;   /* the job's own, made on demand */
  gboolean         cancel_requested;
  char            *name;          /* tether_work_set_name() */

  TetherFuture    *future;        /* lock; not a reference: see deliver() */
  GTask           *task;          /* owned until completion */

  gboolean         timer;         /* a timer: set before it can be cancelled */
  guint64          timer_seq;     /* core timers_lock: orders equal deadlines */
  guint            timer_index;   /* core timers_lock: place in the heap, or G_MAXUINT */

  GList            live_link;     /* core lock */
};

TetherJob    *tether_job_new            (TetherCore     *core,
                                         TetherJobKind   kind);
TetherJob    *tether_job_ref            (TetherJob      *job);
void          tether_job_unref          (TetherJob      *job);
void          tether_job_detach_future  (TetherJob      *job,
                                         TetherFuture   *future);
void          tether_job_set_func_data  (TetherJob      *job,
                                         gpointer        func_data,
                                         GDestroyNotify  func_data_destroy);
void          tether_job_release_func_data (TetherJob   *job);
char         *tether_job_dup_name       (TetherJob      *job);
void          tether_job_set_name       (TetherJob      *job,
                                         const char     *name);
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

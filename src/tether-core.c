/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#ifdef G_OS_UNIX
#include <unistd.h>
#endif

#include <gio/gio.h>

#include "tether-admission-private.h"
#include "tether-core-private.h"
#include "tether-debug-private.h"
#include "tether-detached-private.h"
#include "tether-event-private.h"
#include "tether-error.h"
#include "tether-gjs-private.h"
#include "tether-i18n-private.h"
#include "tether-post-private.h"
#include "tether-queue-source-private.h"
#include "tether-stats-private.h"
#include "tether-timers-private.h"
#include "tether-wait-graph-private.h"
#include "tether-work-private.h"

/* One run's thread, shared by the core (while it is the current run's) and
 * the thread itself, under runs_lock (a leaf: the thread takes it as it
 * ends, when a start may hold the core lock to join it). A thread let go
 * unjoined (by a last unref, tether_core_detach()) is counted by
 * tether-detached.c from then until it is done with everything it
 * touches, user code included: dropping its context runs the destroy
 * notifies of sources work left there. Per run, since a new run may start
 * while the last one's thread is still on its way out. */
typedef struct
{
  gboolean done;      /* the thread is past everything but its exit */
  gboolean detached;  /* counted in tether-detached.c */
} ThreadRun;

typedef enum
{
  CORE_STOPPED,
  CORE_RUNNING,
  CORE_STOPPING,
} CoreState;

/* What the manager object and its thread share; the thread keeps a
 * reference, so that dropping the manager on its own thread never has to
 * join it. This file owns the lifecycle (start, stop, the thread, exit
 * functions, detaching) and routes each queued item; the parts with a life
 * of their own are embedded, each owned by its file: the queue and its
 * GSource (tether-queue-source.c), admission and backpressure
 * (tether-admission.c), the timers (tether-timers.c), the wait graph
 * (tether-wait-graph.c), the statistics (tether-stats.c) and the post pool
 * (tether-post.c). Fields are grouped by who writes them, one cache line
 * each, so that submitters and the manager's thread do not steal lines
 * from each other on every job. */
struct _TetherCore
{
  /* Submitters push at the tail; the manager's thread pops and sleeps. */
  TetherQueueSource source;
  /* Submitters count, the manager's thread counts what it takes. */
  TetherAdmission  admission;

  /* The manager's thread. */
  TetherPostCounts post_counts TETHER_CACHELINE_ALIGNED;
  TetherWork      *spare_work;    /* a completion handle to reuse */
  TetherPostPool   posts;         /* its slots are shared, touched once per magazine */

  /* Read on every submission, written rarely. */
  int              cancelling TETHER_CACHELINE_ALIGNED; /* atomic: a CANCEL stop began */
  int              debug_flags;  /* atomic TetherDebugFlags */
  gssize           slow_threshold; /* atomic, usec (at most G_MAXSSIZE: see the setter) */
  int              wait_spin;    /* atomic, usec (at most a second) */

  gatomicrefcount  ref_count TETHER_CACHELINE_ALIGNED;
  char            *id;
  char            *label;        /* the id as messages quote it */
  GMainContext    *context;      /* core lock to change; NULL while stopped, unless kept */
  gboolean         quit;         /* manager's thread only: the run's loop ends */
  GSource         *queue_source;
  gboolean         context_kept; /* core lock: handed out, so it lives as long as the core */
  GWeakRef         manager;

  /* Its own line: submitters of futures and the manager's thread both take
   * it for every job, and the reference count above is touched by every
   * job's creation and end. */
  GMutex           mutex TETHER_CACHELINE_ALIGNED;
  GCond            cond;
  guint            n_cond_waiters;  /* mutex: threads waiting on @cond */
  CoreState        state;
  TetherStopMode   stop_mode;
  guint            generation;   /* counts starts: which run a stopper waits for */
  TetherWaitNode   wait;         /* tether-wait-graph.c's: what this thread blocks on */
  ThreadRun       *run;          /* the current run's thread, until it has exited */
  char            *task_type;    /* written only while closed */
  GThread         *thread;       /* not yet joined */
  TetherLineage   *starter;      /* memory ref: the lineage the thread descends from */
  GQueue           live;         /* futures, async results, timers: accepted, not retired */
  GSList          *exit_funcs;   /* TetherExitFunc: run when this run's thread ends */
  gboolean         exit_closed;  /* the thread is past its exit funcs: add none */

  TetherTimers     timers;
  GList            all_link;     /* in the list of every core, for fork() */

  TetherStats      stats;
};

/* One fire-and-forget post in this many has its latency sampled: reading
 * the clock for every post would cost more than the post itself. */
#define POST_SAMPLE_MASK 15

static GPrivate current_core;

/* Every core, for fork(): see tether-fork.c, which takes this lock first. */
static GMutex cores_lock;
static GQueue cores;

static GMutex runs_lock;

static void core_interrupt_wait  (TetherCore *core);
static void core_schedule_retire (TetherCore *core,
                                  TetherJob  *job);

static void
core_drop_source (GSource *source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

static void
core_drop_context (GMainContext *context,
                   GSource      *source)
{
  g_clear_pointer (&source, core_drop_source);
  g_clear_pointer (&context, g_main_context_unref);
}

/* With the core lock held, the manager stopped: takes the context and what
 * is attached to it for core_drop_context(), so that the next start makes
 * new ones. The timers' source, made with the first timer, goes too; the
 * stop has ended every timer. */
static void
core_steal_context_locked (TetherCore    *core,
                           GMainContext **context,
                           GSource      **source,
                           GSource      **timer_source)
{
  *context = g_steal_pointer (&core->context);
  *source = g_steal_pointer (&core->queue_source);
  *timer_source = tether_timers_steal_source (&core->timers);
}

TetherCore *
tether_core_ref (TetherCore *core)
{
  g_atomic_ref_count_inc (&core->ref_count);
  return core;
}

void
tether_core_unref (TetherCore *core)
{
  if (!g_atomic_ref_count_dec (&core->ref_count))
    return;

  g_mutex_lock (&cores_lock);
  g_queue_unlink (&cores, &core->all_link);
  g_mutex_unlock (&cores_lock);
  g_assert (core->thread == NULL);
  g_assert (core->run == NULL);
  g_assert (core->live.length == 0);
  g_assert (tether_queue_source_is_empty (&core->source));

  /* The timers' source is attached to the context: it goes first. */
  tether_timers_clear (&core->timers);
  core_drop_context (g_steal_pointer (&core->context), g_steal_pointer (&core->queue_source));
  g_weak_ref_clear (&core->manager);
  g_mutex_clear (&core->mutex);
  g_cond_clear (&core->cond);
  tether_admission_clear (&core->admission);
  tether_queue_source_clear (&core->source);
  g_clear_pointer (&core->starter, tether_lineage_unref_memory);
  tether_wait_node_clear (&core->wait);
  tether_stats_clear (&core->stats);
  tether_post_pool_clear (&core->posts);
  g_free (core->task_type);
  g_free (core->label);
  g_free (core->id);
  g_aligned_free (core);
}

const char *
tether_core_get_id (TetherCore *core)
{
  return core->id;
}

/* The id for messages: see tether_describe_name(). */
const char *
tether_core_get_label (TetherCore *core)
{
  return core->label;
}

/* Any thread: the object that owns @core, as a weak reference (the core
 * outlives it while its thread drains). */
void
tether_core_set_manager (TetherCore *core,
                         gpointer    manager)
{
  g_weak_ref_set (&core->manager, manager);
}

/* Any thread: a new reference to the manager, or %NULL once it is gone. */
gpointer
tether_core_ref_manager (TetherCore *core)
{
  return g_weak_ref_get (&core->manager);
}

gboolean
tether_core_is_running (TetherCore *core)
{
  gboolean ret;

  g_mutex_lock (&core->mutex);
  ret = core->state == CORE_RUNNING;
  g_mutex_unlock (&core->mutex);

  return ret;
}

/* Any thread: a CANCEL stop began (what ends blocking waits made on this
 * manager's thread). */
gboolean
tether_core_is_cancelling (TetherCore *core)
{
  return g_atomic_int_get (&core->cancelling);
}

/* fork(): the core's own locks, in the order tether-fork.c documents. */
static void
core_lock_for_fork (TetherCore *core)
{
  g_mutex_lock (&core->mutex);
  tether_timers_lock (&core->timers);
  g_mutex_lock (&core->stats.ring_lock);
  tether_queue_source_lock (&core->source);
}

static void
core_unlock_for_fork (TetherCore *core)
{
  tether_queue_source_unlock (&core->source);
  g_mutex_unlock (&core->stats.ring_lock);
  tether_timers_unlock (&core->timers);
  g_mutex_unlock (&core->mutex);
}

/* Any thread: how many posts have run and been dropped, ever. */
void
tether_core_get_post_counts (TetherCore *core,
                             gsize      *ran,
                             gsize      *dropped)
{
  *ran = (gsize) g_atomic_pointer_get (&core->post_counts.ran);
  *dropped = (gsize) g_atomic_pointer_get (&core->post_counts.dropped);
}

gint64
tether_core_get_setting (TetherCore        *core,
                         TetherCoreSetting  setting)
{
  gint64 ret = 0;

  switch (setting)
    {
    case TETHER_CORE_MAX_PENDING:
      return tether_admission_get_max_pending (&core->admission);
    case TETHER_CORE_SUBMIT_TIMEOUT:
      /* Read with the waits for room, under the lock. */
      g_mutex_lock (&core->mutex);
      ret = tether_admission_get_submit_timeout_locked (&core->admission);
      g_mutex_unlock (&core->mutex);
      return ret;
    case TETHER_CORE_DEBUG_FLAGS:
      return (guint) g_atomic_int_get (&core->debug_flags);
    case TETHER_CORE_SLOW_THRESHOLD:
      return (gssize) g_atomic_pointer_get (&core->slow_threshold);
    case TETHER_CORE_WAIT_SPIN:
      return g_atomic_int_get (&core->wait_spin);
    case TETHER_CORE_LOOP_SPIN:
      return tether_queue_source_get_loop_spin (&core->source);
    default:
      g_assert_not_reached ();
    }
}

/* Returns whether the value changed (the caller notifies). @value is in
 * range: the manager's setters check it. */
gboolean
tether_core_set_setting (TetherCore        *core,
                         TetherCoreSetting  setting,
                         gint64             value)
{
  gboolean changed;

  switch (setting)
    {
    case TETHER_CORE_MAX_PENDING:
      return tether_admission_set_max_pending (&core->admission, &core->mutex, (guint) value);
    case TETHER_CORE_SUBMIT_TIMEOUT:
      g_mutex_lock (&core->mutex);
      changed = tether_admission_set_submit_timeout_locked (&core->admission, value);
      g_mutex_unlock (&core->mutex);
      return changed;
    case TETHER_CORE_DEBUG_FLAGS:
      return (guint) g_atomic_int_exchange (&core->debug_flags, (int) value) != (guint) value;
    case TETHER_CORE_SLOW_THRESHOLD:
      /* g_atomic_pointer_*() handle pointer-sized integers: all of a
       * gint64 on 64-bit systems, so MIN() is a no-op there. */
      value = MIN (value, G_MAXSSIZE);
      return (gssize) g_atomic_pointer_exchange (&core->slow_threshold, (gssize) value) !=
             (gssize) value;
    case TETHER_CORE_WAIT_SPIN:
      return g_atomic_int_exchange (&core->wait_spin, (int) value) != (int) value;
    case TETHER_CORE_LOOP_SPIN:
      return tether_queue_source_set_loop_spin (&core->source, (int) value);
    default:
      g_assert_not_reached ();
    }
}

/* Any thread: a restart frees the task type, under the lock. */
char *
tether_core_dup_task_type (TetherCore *core)
{
  char *ret;

  g_mutex_lock (&core->mutex);
  ret = g_strdup (core->task_type);
  g_mutex_unlock (&core->mutex);

  return ret;
}

TetherCore *
tether_core_get_current (void)
{
  return g_private_get (&current_core);
}

gboolean
tether_core_is_current (TetherCore *core)
{
  return g_private_get (&current_core) == core;
}

/* With the core lock held: the loop ends once a stop has begun and every
 * accepted submission has been taken and retired. */
static void
core_quit_if_drained_locked (TetherCore *core)
{
  /* Sequentially consistent, like the closing store and the submitters'
   * count-then-look: a submitter that counted itself before the manager
   * closed is seen here, and the loop waits for its push. */
  if (core->state == CORE_STOPPING && core->live.length == 0 &&
      tether_admission_is_drained (&core->admission))
    core->quit = TRUE;
}

static void
core_quit_if_drained (TetherCore *core)
{
  if (tether_admission_is_open (&core->admission))
    return;
  g_mutex_lock (&core->mutex);
  core_quit_if_drained_locked (core);
  g_mutex_unlock (&core->mutex);
}

/* The manager's thread will retire @job: its outcome is in and its
 * function has returned (or it never had one to run). Through the queue,
 * so that retiring always happens on the manager's thread, in order. */
static void
core_schedule_retire (TetherCore *core,
                      TetherJob  *job)
{
  tether_queue_source_push (&core->source, &job->retire_node);
}

/* Manager thread only: records the latency of one item, and warns about
 * slow work if the manager's debug mode asked for it when the item started
 * (@watch_slow): a flag set while the item runs, perhaps by a waiter the
 * item has already woken, does not reach back to it. */
static void
core_note_timing (TetherCore *core,
                  gint64      queued_at,
                  gint64      started,
                  gboolean    watch_slow,
                  gpointer    func,
                  TetherJob  *job)
{
  gint64 ended = g_get_monotonic_time ();
  gint64 threshold;

  if (queued_at != 0)
    tether_stats_record (&core->stats, started - queued_at, ended - started);

  if (watch_slow &&
      ended - started > (threshold = g_atomic_pointer_get (&core->slow_threshold)))
    {
      g_autofree char *name = job != NULL ? tether_job_dup_name (job)
                                          : tether_debug_describe_func (func);
      g_autofree char *task_type = tether_core_dup_task_type (core);

      tether_debug_log_slow (core->label, task_type, name, ended - started, threshold);
    }
}

/* Whether debug mode watches for slow work: read as an item starts. */
static inline gboolean
core_watches_slow (TetherCore *core)
{
  return (g_atomic_int_get (&core->debug_flags) & TETHER_DEBUG_FLAGS_SLOW) != 0;
}

static void
core_log_dropped (TetherCore *core,
                  gpointer    func,
                  TetherJob  *job,
                  const char *why)
{
  g_autofree char *name = NULL;
  g_autofree char *task_type = NULL;

  if (!(g_atomic_int_get (&core->debug_flags) & TETHER_DEBUG_FLAGS_DROPPED))
    return;
  name = job != NULL ? tether_job_dup_name (job) : tether_debug_describe_func (func);
  task_type = tether_core_dup_task_type (core);
  tether_debug_log_dropped (core->label, task_type, name, why);
}

#define CANCEL_STOP_REASON "the manager was stopped with TETHER_STOP_MODE_CANCEL"

/* Manager thread only. */
static void
core_run_post (TetherCore *core,
               TetherPost *post)
{
  tether_admission_note_taken (&core->admission);

  if (g_atomic_int_get (&core->cancelling))
    {
      core_log_dropped (core, (gpointer) post->func, NULL, CANCEL_STOP_REASON);
      tether_post_drop (post, &core->post_counts);
    }
  else
    {
      gboolean watch_slow = core_watches_slow (core);
      gint64 queued_at = post->queued_at;
      gpointer func = (gpointer) post->func;
      gint64 started = 0;

      if (queued_at != 0 || watch_slow)
        started = g_get_monotonic_time ();
      tether_post_run (post, &core->post_counts);
      if (started != 0)
        core_note_timing (core, queued_at, started, watch_slow, func, NULL);
    }

  tether_post_recycle (&core->posts, post);
}

/* Manager thread only, after the work has ended and its function returned. */
static void
core_retire (TetherCore *core,
             TetherJob  *job)
{
  tether_job_disconnect_user_cancellable (job);
  tether_job_release_func_data (job);

  g_mutex_lock (&core->mutex);
  g_queue_unlink (&core->live, &job->live_link);
  core_quit_if_drained_locked (core);
  g_mutex_unlock (&core->mutex);

  tether_job_unref (job);
}

static void
core_run (TetherCore *core,
          TetherJob  *job)
{
  TetherWork *work;
  gint64 started = 0;
  gboolean watch_slow = core_watches_slow (core);
  gint64 queued_at = tether_job_get_queued_at (job);

  if (queued_at != 0 || watch_slow)
    started = g_get_monotonic_time ();

  work = tether_work_new_reusable (job, g_steal_pointer (&core->spare_work));
  tether_job_run (job, work);
  /* Dropping an unfinished handle ends the job as abandoned. */
  core->spare_work = tether_work_release (work);

  if (started != 0)
    core_note_timing (core, queued_at, started, watch_slow, NULL, job);

  if (tether_job_give_retire_token (job))
    core_retire (core, job);
}

/* Manager thread only: a job marked running whose cancellable had fired
 * ends cancelled without running. */
static void
core_end_unstarted (TetherCore *core,
                    TetherJob  *job)
{
  const char *why = "its cancellable was cancelled";

  if (tether_job_complete (job, NULL,
                           g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                        _("Work on manager '%s' was cancelled before it started "
                                          "(%s)"),
                                        core->label, why)))
    core_log_dropped (core, NULL, job, why);
  if (tether_job_give_retire_token (job))
    core_retire (core, job);
}

static void
core_start_or_retire (TetherCore *core,
                      TetherJob  *job)
{
  /* The stopping thread may not have reached this job yet: it must not start
   * behind the stop's back. */
  if (g_atomic_int_get (&core->cancelling) &&
      tether_job_cancel_queued (job, CANCEL_STOP_REASON))
    core_log_dropped (core, NULL, job, CANCEL_STOP_REASON);
  if (tether_job_try_start (job))
    {
      g_atomic_int_inc (&core->stats.running);
      /* Its cancellable may have fired just before the start: see
       * tether_job_is_user_cancelled(). */
      if (G_UNLIKELY (tether_job_is_user_cancelled (job)))
        core_end_unstarted (core, job);
      else
        core_run (core, job);
    }
  else
    {
      core_retire (core, job);
    }
}

/* The queue's source, on the manager's thread: takes at most a batch of
 * items and routes each by what it is. */
static void
core_dispatch (gpointer data)
{
  TetherCore *core = data;
  TetherNode *node = NULL;
  guint i;

  tether_stats_note_depth (&core->stats, tether_admission_get_n_pending (&core->admission));

  for (i = 0;
       i < TETHER_QUEUE_SOURCE_BATCH && (node = tether_queue_source_take (&core->source, i)) != NULL;
       i++)
    {
      switch (node->kind)
        {
        case TETHER_NODE_POST:
          core_run_post (core, (TetherPost *) node);
          break;
        case TETHER_NODE_JOB_START:
          tether_admission_note_taken (&core->admission);
          core_start_or_retire (core, tether_job_from_node (node));
          break;
        case TETHER_NODE_JOB_RETIRE:
          core_retire (core, tether_job_from_node (node));
          break;
        default:
          g_assert_not_reached ();
        }
    }
  /* A submitter is between the two halves of a push: let it finish. */
  if (i == 0 && tether_queue_source_is_busy (&core->source))
    g_thread_yield ();

  /* Taking items made room. */
  tether_admission_wake_waiters (&core->admission, &core->mutex);
  core_quit_if_drained (core);
}

/* The timers' source, on the manager's thread: a timer is due. */
static void
core_fire_timer (gpointer          data,
                 TetherTimerEntry *entry)
{
  core_start_or_retire (data, tether_job_from_timer_entry (entry));
}

TetherCore *
tether_core_new (const char *id)
{
  TetherCore *core = g_aligned_alloc0 (1, sizeof (TetherCore), TETHER_CACHELINE);

  g_atomic_ref_count_init (&core->ref_count);
  tether_queue_source_init (&core->source, core_dispatch, core, &core->stats.wakeups);
  tether_admission_init (&core->admission, &core->source);
  tether_post_pool_init (&core->posts);
  core->debug_flags = tether_debug_get_default_flags ();
  core->slow_threshold = (gssize) MIN (tether_debug_get_default_slow_threshold (), G_MAXSSIZE);
  core->id = g_strdup (id);
  core->label = tether_describe_name (id);
  tether_wait_node_init (&core->wait, core->label, &core->stats.running);
  tether_timers_init (&core->timers, core_fire_timer, core);
  g_mutex_init (&core->mutex);
  g_cond_init (&core->cond);
  g_weak_ref_init (&core->manager, NULL);
  tether_stats_init (&core->stats);
  core->all_link.data = core;
  g_mutex_lock (&cores_lock);
  g_queue_push_tail_link (&cores, &core->all_link);
  g_mutex_unlock (&cores_lock);

  return core;
}

/* Every context Tether makes is made under this lock, so that the check
 * for a free descriptor and the creation are not interleaved with another
 * manager's. */
static GMutex context_lock;

/* GLib aborts the process when a new context cannot have its wake-up
 * descriptor (an eventfd, else a pipe). Checking with a pipe, which needs
 * one descriptor more than an eventfd, is portable and keeps one spare.
 * Another thread of the application can still take the last descriptors
 * between this check and the creation; Tether's own contexts cannot. */
static gboolean
check_descriptors (const char  *id,
                   GError     **error)
{
#ifdef G_OS_UNIX
  int fds[2];
  int saved_errno;

  if (pipe (fds) == 0)
    {
      close (fds[0]);
      close (fds[1]);
      return TRUE;
    }
  saved_errno = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               _("Manager '%s' cannot start: no file descriptor is left for its main context "
                 "(%s); free other managers or files, or raise RLIMIT_NOFILE (ulimit -n)"),
               id, g_strerror (saved_errno));
  return FALSE;
#else
  return TRUE;
#endif
}

/* With the core lock held: makes the context and queue source,
 * unless they exist. */
static gboolean
core_ensure_context_locked (TetherCore  *core,
                            GError     **error)
{
  GMainContext *context;

  if (core->context != NULL)
    return TRUE;

  g_mutex_lock (&context_lock);
  if (!check_descriptors (core->id, error))
    {
      g_mutex_unlock (&context_lock);
      return FALSE;
    }
  context = g_main_context_new ();
  g_mutex_unlock (&context_lock);

  core->queue_source = tether_queue_source_new_source (&core->source, context);
  core->context = context;
  return TRUE;
}

/* Any thread: the context, made now if the manager has none, and kept for
 * the manager's life from here on, since the caller may keep it or attach
 * sources to it. */
GMainContext *
tether_core_get_context (TetherCore *core)
{
  g_autoptr(GError) error = NULL;
  GMainContext *ret;

  g_mutex_lock (&core->mutex);
  if (!core_ensure_context_locked (core, &error))
    g_error ("%s", error->message);
  core->context_kept = TRUE;
  ret = core->context;
  g_mutex_unlock (&core->mutex);

  return ret;
}

typedef struct
{
  TetherFunc     func;
  gpointer       func_data;
  GDestroyNotify func_data_destroy;
} ExitFunc;

/* Manager thread only, once its loop has quit: the exit funcs, newest
 * first, including any that an exit func adds. */
static void
core_run_exit_funcs (TetherCore *core)
{
  GSList *funcs;

  g_mutex_lock (&core->mutex);
  while ((funcs = g_steal_pointer (&core->exit_funcs)) != NULL)
    {
      g_mutex_unlock (&core->mutex);
      for (GSList *l = funcs; l != NULL; l = l->next)
        {
          ExitFunc *exit_func = l->data;

          exit_func->func (exit_func->func_data);
          if (exit_func->func_data_destroy != NULL)
            exit_func->func_data_destroy (exit_func->func_data);
          g_free (exit_func);
        }
      g_slist_free (funcs);
      g_mutex_lock (&core->mutex);
    }
  core->exit_closed = TRUE;
  g_mutex_unlock (&core->mutex);
}

gboolean
tether_core_add_exit_func (TetherCore      *core,
                           TetherFunc       func,
                           gpointer         func_data,
                           GDestroyNotify   func_data_destroy,
                           GError         **error)
{
  GMainContext *home = NULL;
  ExitFunc *exit_func;

  if (tether_func_is_javascript ((gpointer) func, func_data_destroy, &home))
    {
      g_main_context_unref (home);
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   _("Manager '%s' cannot run a JavaScript function: GJS runs JavaScript only on "
                     "its own thread"),
                   core->id);
      return FALSE;
    }
  g_clear_pointer (&home, g_main_context_unref);

  g_mutex_lock (&core->mutex);
  if (core->state == CORE_STOPPED || core->exit_closed)
    {
      g_mutex_unlock (&core->mutex);
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING,
                   _("Manager '%s' is not running, or its thread is exiting; add exit functions "
                     "while it runs"),
                   core->id);
      return FALSE;
    }
  exit_func = g_new (ExitFunc, 1);
  exit_func->func = func;
  exit_func->func_data = func_data;
  exit_func->func_data_destroy = func_data_destroy;
  core->exit_funcs = g_slist_prepend (core->exit_funcs, exit_func);
  g_mutex_unlock (&core->mutex);

  return TRUE;
}

/* With the lock held: waits on the core's condition, up to @deadline (-1:
 * no limit); whether woken before the deadline. The waiters are counted so
 * that the thread's exit, which a stop usually waits for by joining it,
 * broadcasts only when somebody waits. */
static gboolean
core_cond_wait_locked (TetherCore *core,
                       gint64      deadline)
{
  gboolean woken = TRUE;

  core->n_cond_waiters++;
  if (deadline < 0)
    g_cond_wait (&core->cond, &core->mutex);
  else
    woken = g_cond_wait_until (&core->cond, &core->mutex, deadline);
  core->n_cond_waiters--;
  return woken;
}

/* Linux refuses thread names over 15 bytes, and GLib then silently keeps the
 * creator's name: cut at a character boundary instead. */
static char *
thread_name_for (const char *id)
{
  char *name = g_strdup_printf ("tether:%s", id);
  gsize len = strlen (name);

  if (len > 15)
    {
      len = 15;
      while (len > 0 && ((guchar) name[len] & 0xC0) == 0x80)
        len--;
      name[len] = '\0';
    }
  return name;
}

/* One iteration of @context, acquired by this thread, that dispatches what
 * is ready without polling: sources ready in their prepare (idles, and
 * anything whose ready time has come) run; descriptors are not looked at.
 * g_main_context_iteration (context, FALSE) polls them with a zero
 * timeout, a system call on every stop, for sources that a stopping
 * manager's thread has no reason to wait for. */
static gboolean
core_dispatch_ready (GMainContext *context)
{
  GPollFD stack_fds[16];
  g_autofree GPollFD *heap_fds = NULL;
  GPollFD *fds = stack_fds;
  gint max_priority, timeout, n_fds;
  gboolean ready;

  g_main_context_prepare (context, &max_priority);
  n_fds = g_main_context_query (context, max_priority, &timeout, fds, G_N_ELEMENTS (stack_fds));
  if (n_fds > (gint) G_N_ELEMENTS (stack_fds))
    {
      fds = heap_fds = g_new (GPollFD, n_fds);
      n_fds = g_main_context_query (context, max_priority, &timeout, fds, n_fds);
    }
  /* The query left every revents at 0: nothing polled is ready. */
  ready = g_main_context_check (context, max_priority, fds, n_fds);
  if (ready)
    g_main_context_dispatch (context);
  return ready;
}

static gpointer
core_thread_func (gpointer data)
{
  TetherCore *core = data;
  char *name;
  ThreadRun *run;
  gboolean detached;
  GMainContext *context = NULL;
  GSource *source = NULL;
  GSource *timer_source = NULL;

  name = thread_name_for (core->id);
  tether_lineage_name_current_thread (name);
  g_clear_pointer (&name, g_free);
  g_mutex_lock (&core->mutex);
  tether_lineage_enter_manager_thread (core->starter);
  g_mutex_unlock (&core->mutex);
  g_mutex_lock (&runs_lock);
  run = core->run;
  g_mutex_unlock (&runs_lock);
  g_main_context_push_thread_default (core->context);
  g_private_set (&current_core, core);
  tether_queue_source_enter_thread (&core->source);

  /* A loop of its own rather than a GMainLoop: the loop only ever ends
   * from its own thread, in dispatch (core_quit_if_drained_locked()), where
   * g_main_loop_quit() would write the context's wake-up descriptor and
   * broadcast its condition for nothing, and the iteration below would then
   * read the wake-up back: three system calls a stop does not need. The
   * context is acquired once for the run, as g_main_loop_run() does. */
  g_main_context_acquire (core->context);
  while (!core->quit)
    g_main_context_iteration (core->context, TRUE);

  /* Let idles queued by finished work (GTask callbacks aimed at this
   * context, for example) run, without spinning on a source that never
   * stops being ready. */
  for (guint i = 0; i < 100 && core_dispatch_ready (core->context); i++)
    ;
  g_main_context_release (core->context);

  core_run_exit_funcs (core);

  g_clear_pointer (&core->spare_work, tether_work_discard);
  tether_queue_source_exit_thread (&core->source);
  g_private_set (&current_core, NULL);
  g_main_context_pop_thread_default (core->context);
  tether_lineage_exit_manager_thread ();
  tether_queue_source_close (&core->source);

  g_mutex_lock (&core->mutex);
  /* A stopped manager holds no descriptor, unless its context was handed
   * out: then it is the same for the manager's whole life. */
  if (!core->context_kept)
    core_steal_context_locked (core, &context, &source, &timer_source);
  core->state = CORE_STOPPED;
  /* Usually nobody: a plain stop() joins the thread instead. */
  if (core->n_cond_waiters > 0)
    g_cond_broadcast (&core->cond);
  g_mutex_unlock (&core->mutex);

  /* Sources still attached by work go with it. */
  g_clear_pointer (&timer_source, core_drop_source);
  core_drop_context (context, source);

  g_mutex_lock (&runs_lock);
  run->done = TRUE;
  detached = run->detached;
  if (core->run == run)
    core->run = NULL;
  g_mutex_unlock (&runs_lock);
  g_free (run);

  tether_core_unref (core);
  /* Last: whoever waits for detached threads may free what this used. */
  if (detached)
    tether_detached_remove ();
  return NULL;
}

/* With the core lock held, which this releases: a running manager is what
 * an ensure-start asked for only with the very same task type (NULL only
 * matches NULL: an untyped manager would also take others' work, and a
 * typed one refuses untyped submissions). */
static gboolean
core_check_running_locked (TetherCore  *core,
                           const char  *task_type,
                           gboolean    *started,
                           GError     **error)
{
  g_autofree char *running_type = g_strdup (core->task_type);

  g_mutex_unlock (&core->mutex);
  *started = FALSE;
  if (g_strcmp0 (running_type, task_type) == 0)
    return TRUE;
  if (running_type == NULL)
    g_set_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE,
                 _("Manager '%s' already runs for any task type, not only '%s'; call "
                   "LoopManager.stop() first, or use another id for '%s'"),
                 core->label, task_type, task_type);
  else if (task_type == NULL)
    g_set_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE,
                 _("Manager '%s' already runs with task type '%s' and refuses work without one; "
                   "ask for '%s', call LoopManager.stop() first, or use another id"),
                 core->label, running_type, running_type);
  else
    g_set_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE,
                 _("Manager '%s' already runs with task type '%s', not '%s'; ask for '%s', call "
                   "LoopManager.stop() first, or use another id for '%s'"),
                 core->label, running_type, task_type, running_type, task_type);
  return FALSE;
}

/* With @ensure, a manager already running with @task_type is success
 * (*@started says whether this call started it) and one running with
 * another task type is TETHER_ERROR_UNKNOWN_TASK_TYPE: the check and the
 * start are made under the core lock, so racing callers see exactly one
 * start and the same run. */
static gboolean
core_start (TetherCore  *core,
            const char  *task_type,
            gboolean     ensure,
            gboolean    *started,
            GError     **error)
{
  GThread *old_thread;
  g_autofree char *name = NULL;
  GError *local_error = NULL;

  g_mutex_lock (&core->mutex);
  if (core->state == CORE_STOPPING && tether_core_is_current (core))
    {
      g_mutex_unlock (&core->mutex);
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING,
                   _("Manager '%s' is stopping and this is its own thread; start it again from "
                     "another thread once LoopManager.stop() has returned"),
                   core->label);
      return FALSE;
    }
  /* Waiting for a stop is a wait on the manager's thread, like a stop's. */
  if (core->state == CORE_STOPPING)
    {
      g_autofree char *cycle = NULL;

      if (!tether_core_begin_stop_wait (core, &cycle))
        {
          g_mutex_unlock (&core->mutex);
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                       _("Manager '%s' is stopping and its stop waits for this thread: %s each "
                         "wait for the next; start it again once this work has returned"),
                       core->label, cycle);
          return FALSE;
        }
      while (core->state == CORE_STOPPING)
        core_cond_wait_locked (core, -1);
      tether_core_end_wait ();
    }
  if (core->state == CORE_RUNNING && ensure)
    return core_check_running_locked (core, task_type, started, error);
  if (core->state == CORE_RUNNING)
    {
      g_mutex_unlock (&core->mutex);
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING,
                   _("Manager '%s' is already running; call LoopManager.stop() before starting "
                     "it again"),
                   core->label);
      return FALSE;
    }

  /* A thread that stopped itself exits without a joiner; reap it now. */
  old_thread = g_steal_pointer (&core->thread);
  if (old_thread != NULL)
    g_thread_join (old_thread);

  if (!core_ensure_context_locked (core, error))
    {
      g_mutex_unlock (&core->mutex);
      return FALSE;
    }
  tether_queue_source_open (&core->source);
  core->quit = FALSE;

  g_clear_pointer (&core->starter, tether_lineage_unref_memory);
  core->starter = tether_lineage_ref_memory (tether_lineage_get_current ());
  name = thread_name_for (core->id);
  /* Read by the new thread under this lock, so set before it starts. A
   * previous run's thread still on its way out keeps its own. */
  g_mutex_lock (&runs_lock);
  core->run = g_new0 (ThreadRun, 1);
  g_mutex_unlock (&runs_lock);
  core->thread = g_thread_try_new (name, core_thread_func, tether_core_ref (core), &local_error);
  if (core->thread == NULL)
    {
      GMainContext *context = NULL;
      GSource *source = NULL;
      GSource *timer_source = NULL;

      g_mutex_lock (&runs_lock);
      g_clear_pointer (&core->run, g_free);
      g_mutex_unlock (&runs_lock);
      tether_queue_source_close (&core->source);
      if (!core->context_kept)
        core_steal_context_locked (core, &context, &source, &timer_source);
      g_mutex_unlock (&core->mutex);
      g_clear_pointer (&timer_source, core_drop_source);
      core_drop_context (context, source);
      tether_core_unref (core);
      g_propagate_prefixed_error (error, local_error,
                                  "Manager '%s' could not start its thread: ", core->label);
      return FALSE;
    }
  /* Lock-free submitters read the task type once they see the manager
   * open, so it is written first. */
  g_free (core->task_type);
  core->task_type = g_strdup (task_type);
  core->state = CORE_RUNNING;
  core->exit_closed = FALSE;
  core->generation++;
  g_atomic_int_set (&core->cancelling, FALSE);
  tether_admission_open (&core->admission);
  g_mutex_unlock (&core->mutex);

  if (started != NULL)
    *started = TRUE;
  return TRUE;
}

gboolean
tether_core_start (TetherCore  *core,
                   const char  *task_type,
                   GError     **error)
{
  return core_start (core, task_type, FALSE, NULL, error);
}

gboolean
tether_core_ensure_started (TetherCore  *core,
                            const char  *task_type,
                            gboolean    *started,
                            GError     **error)
{
  *started = FALSE;
  return core_start (core, task_type, TRUE, started, error);
}

/* With the core lock held: a reference to every accepted job that has not
 * ended yet. A job stays live until it is retired, after its outcome was
 * delivered (its function may not even have returned): such a job is
 * finished, so a stop has nothing to apply to it and stop_within() must
 * not count it among those that ended during the stop. */
static GPtrArray *
core_dup_live_locked (TetherCore *core)
{
  GPtrArray *jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_job_unref);

  for (GList *l = core->live.head; l != NULL; l = l->next)
    {
      TetherJob *job = l->data;

      if (!tether_job_is_done (job))
        g_ptr_array_add (jobs, tether_job_ref (job));
    }
  return jobs;
}

static void
core_apply_stop (TetherCore     *core,
                 TetherStopMode  mode,
                 GPtrArray      *jobs)
{
  /* Queued work first: once running work sees its cancellable and returns,
   * the manager's thread would otherwise start what is queued behind it. */
  for (guint i = 0; i < jobs->len; i++)
    {
      TetherJob *job = g_ptr_array_index (jobs, i);
      const char *why = NULL;

      if (mode == TETHER_STOP_MODE_CANCEL)
        why = CANCEL_STOP_REASON;
      else if (tether_job_is_timer (job))
        why = "the manager stopped before its timer fired";
      if (why != NULL && tether_job_cancel_queued (job, why))
        core_log_dropped (core, NULL, job, why);
    }

  if (mode == TETHER_STOP_MODE_CANCEL)
    for (guint i = 0; i < jobs->len; i++)
      tether_job_request_cancel (g_ptr_array_index (jobs, i));
}

/* Begins a stop, or escalates one in progress from DRAIN to CANCEL, and
 * applies the mode to the accepted work right here on the calling thread,
 * so that running work sees its cancellable fire even while it keeps the
 * manager's thread busy. Fire-and-forget posts are not tracked one by one:
 * the manager's thread drops the queued ones itself. Returns whether this
 * call moved the manager out of RUNNING. With @only_generation, does
 * nothing unless that run is current; @generation receives the run this
 * stop applies to, @live the jobs it covers, @posts how many posts had run
 * and been dropped when it began. */
gboolean
tether_core_request_stop (TetherCore     *core,
                          TetherStopMode  mode,
                          const guint    *only_generation,
                          guint          *generation,
                          GPtrArray     **live,
                          gsize           posts[2])
{
  g_autoptr(GPtrArray) jobs = NULL;
  gboolean began = FALSE;
  gboolean apply = FALSE;

  g_mutex_lock (&core->mutex);
  if (only_generation != NULL && *only_generation != core->generation)
    {
      g_mutex_unlock (&core->mutex);
      return FALSE;
    }
  if (generation != NULL)
    *generation = core->generation;
  if (live != NULL)
    *live = core_dup_live_locked (core);
  if (posts != NULL)
    {
      tether_core_get_post_counts (core, &posts[0], &posts[1]);
    }
  if (core->state == CORE_RUNNING)
    {
      core->state = CORE_STOPPING;
      core->stop_mode = mode;
      /* From here every submission is refused. */
      tether_admission_close_locked (&core->admission);
      began = apply = TRUE;
    }
  else if (core->state == CORE_STOPPING &&
           mode == TETHER_STOP_MODE_CANCEL &&
           core->stop_mode == TETHER_STOP_MODE_DRAIN)
    {
      core->stop_mode = TETHER_STOP_MODE_CANCEL;
      apply = TRUE;
    }
  if (apply)
    {
      if (mode == TETHER_STOP_MODE_CANCEL)
        g_atomic_int_set (&core->cancelling, TRUE);
      /* No job can be accepted from here on, so this set is complete. */
      jobs = live != NULL ? g_ptr_array_ref (*live) : core_dup_live_locked (core);
    }
  g_mutex_unlock (&core->mutex);

  if (apply)
    {
      /* First end the wait the running work may be blocked in, so that it
       * can return, before any user code runs below: a "cancelled" handler
       * or a GTask callback may block on this manager (a nested stop, a
       * wait for its work), which needs that work to return. The work
       * already sees the request through tether_work_is_cancelled(); its
       * cancellable fires next. */
      if (mode == TETHER_STOP_MODE_CANCEL)
        {
          for (guint i = 0; i < jobs->len; i++)
            tether_job_mark_cancel_requested (g_ptr_array_index (jobs, i));
          core_interrupt_wait (core);
        }
      /* Outside the lock: cancelling runs "cancelled" handlers, user code. */
      core_apply_stop (core, mode, jobs);
      tether_queue_source_poke (&core->source);
    }

  return began;
}

/* Not on the manager's own thread, and on another manager's thread only
 * inside tether_core_begin_wait(): waits, up to @deadline (-1: no limit), until run
 * @generation has left its loop, and joins its thread. A start() that came
 * in between has joined that thread already, and the run now going is not
 * this stopper's business. */
gboolean
tether_core_wait_stopped (TetherCore *core,
                          guint       generation,
                          gint64      deadline)
{
  GThread *thread = NULL;
  gboolean stopped;

  g_mutex_lock (&core->mutex);
  while (core->generation == generation && core->state == CORE_STOPPING)
    {
      /* Without a deadline, the stopper that can join the thread just
       * joins it: the thread marks itself stopped before it exits, so the
       * join is the whole wait, one wake-up instead of two (the condition,
       * then the join). Other stoppers wait for the condition. */
      if (deadline < 0 && core->thread != NULL)
        {
          thread = g_steal_pointer (&core->thread);
          g_mutex_unlock (&core->mutex);
          g_thread_join (g_steal_pointer (&thread));
          g_mutex_lock (&core->mutex);
        }
      else if (!core_cond_wait_locked (core, deadline))
        break;
    }
  stopped = core->generation != generation || core->state != CORE_STOPPING;
  if (stopped && core->generation == generation)
    thread = g_steal_pointer (&core->thread);
  g_mutex_unlock (&core->mutex);

  if (thread != NULL)
    g_thread_join (thread);
  return stopped;
}

guint
tether_core_get_n_pending (TetherCore *core)
{
  return tether_admission_get_n_pending (&core->admission);
}

/* With the core lock held: whether the job can be accepted now. */
static gboolean
core_check_locked (TetherCore  *core,
                   const char  *task_type,
                   GError     **error)
{
  if (core->state != CORE_RUNNING)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING,
                   core->state == CORE_STOPPING
                   ? _("Manager '%s' is stopping and accepts no new work; submit to another "
                       "manager")
                   : _("Manager '%s' is not running; call LoopManager.start() before submitting "
                       "work"),
                   core->label);
      return FALSE;
    }

  if (core->task_type != NULL && g_strcmp0 (core->task_type, task_type) != 0)
    {
      g_autofree char *accepted = tether_describe_name (core->task_type);
      g_autofree char *given = tether_describe_name (task_type);

      if (task_type != NULL)
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE,
                     _("Manager '%s' only accepts task type '%s', not '%s'; submit with task "
                       "type '%s', or use a manager started for '%s'"),
                     core->label, accepted, given, accepted, given);
      else
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE,
                     _("Manager '%s' only accepts task type '%s'; this submission has no task "
                       "type: pass '%s'"),
                     core->label, accepted, accepted);
      return FALSE;
    }

  return TRUE;
}

/* With the core lock held: waits for room in the queue, as the manager's
 * max-pending and submit-timeout say. Rechecks everything after a wait.
 * On another manager's thread the wait is one of the wait graph, as a wait
 * on a future is: only @core's thread makes room. *registered says whether
 * it was recorded there. */
static gboolean
core_wait_for_room_inner_locked (TetherCore  *core,
                                 const char  *task_type,
                                 gboolean    *registered,
                                 GError     **error)
{
  gint64 deadline = -1;

  for (;;)
    {
      gint64 submit_timeout = tether_admission_get_submit_timeout_locked (&core->admission);

      if (!core_check_locked (core, task_type, error))
        return FALSE;
      if (tether_admission_has_room (&core->admission))
        return TRUE;

      if (submit_timeout == 0 || tether_core_is_current (core) ||
          (deadline >= 0 && g_get_monotonic_time () >= deadline))
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_BUSY,
                       _("Manager '%s' already has %u submissions queued (its max-pending)%s; "
                         "retry later, raise max-pending, or set a submit timeout"),
                       core->label, tether_core_get_n_pending (core),
                       tether_core_is_current (core)
                       ? " (its own thread never waits for room: nothing would make any)" : "");
          return FALSE;
        }

      if (!*registered)
        {
          g_autofree char *cycle = NULL;

          if (!tether_core_begin_room_wait (core, &cycle))
            {
              g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                           _("Waiting for room on manager '%s' would deadlock: %s each wait for "
                             "the next, and only the thread of '%s' makes room; nothing was "
                             "submitted"),
                           core->label, cycle, core->label);
              return FALSE;
            }
          *registered = TRUE;
        }
      /* After registering: a CANCEL stop of the caller's manager that came
       * earlier is seen here, a later one wakes this wait. */
      if (tether_core_wait_cancelled ())
        {
          /* BUSY, as when a submit timeout passes: the queue is still full,
           * and the error stays a rejection for every form of submission
           * (a cancellation error would read as accepted work cancelled). */
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_BUSY,
                       _("Manager '%s' has no room, and the wait for room ended because manager "
                         "'%s' was stopped with StopMode.CANCEL; nothing was submitted"),
                       core->label, tether_core_get_label (tether_core_get_current ()));
          return FALSE;
        }

      if (deadline < 0 && submit_timeout > 0)
        deadline = tether_time_after (submit_timeout);
      /* Woken when the manager's thread takes jobs, when a stop begins, by
       * a CANCEL stop of the caller's manager, or by the deadline; the loop
       * rechecks all of them. */
      tether_admission_wait_locked (&core->admission, &core->mutex, deadline);
    }
}

static gboolean
core_wait_for_room_locked (TetherCore  *core,
                           const char  *task_type,
                           GError     **error)
{
  gboolean registered = FALSE;
  gboolean ret = core_wait_for_room_inner_locked (core, task_type, &registered, error);

  if (registered)
    tether_core_end_wait ();
  return ret;
}

/* With the core lock held: the timer joins the heap, unless it has ended
 * already (its cancellable had fired, and tether_timers_remove() came
 * first), when it goes straight to be retired. */
static void
core_add_timer_locked (TetherCore *core,
                       TetherJob  *job)
{
  if (!tether_timers_add (&core->timers, core->context, &job->timer_entry))
    core_schedule_retire (core, job);
  tether_stats_add (&core->stats.timers, 1);
}

void
tether_core_note_rejected (TetherCore *core)
{
  tether_stats_add (&core->stats.rejected, 1);
}

/* What a job tells its manager (TetherJobOwnerFuncs). */
static gpointer
job_owner_ref (gpointer owner)
{
  return tether_core_ref (owner);
}

static void
job_owner_unref (gpointer owner)
{
  tether_core_unref (owner);
}

static const char *
job_owner_get_id (gpointer owner)
{
  return tether_core_get_id (owner);
}

static const char *
job_owner_get_label (gpointer owner)
{
  return tether_core_get_label (owner);
}

/* Any thread: the job's one ending, before it is delivered. */
static void
job_owner_ended (gpointer      owner,
                 TetherJob    *job,
                 const GError *error,
                 gboolean      was_running)
{
  TetherCore *core = owner;

  if (error == NULL)
    tether_stats_add (&core->stats.completed, 1);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    tether_stats_add (&core->stats.cancelled, 1);
  else
    tether_stats_add (&core->stats.failed, 1);
  if (was_running)
    g_atomic_int_add (&core->stats.running, -1);
}

/* Any thread: running work ended after its function returned. */
static void
job_owner_retire (gpointer   owner,
                  TetherJob *job)
{
  core_schedule_retire (owner, job);
}

/* Any thread: a timer ended before it fired. Whoever takes it out of the
 * heap (this, or the manager's thread firing it) has it retired. */
static void
job_owner_timer_ended (gpointer   owner,
                       TetherJob *job)
{
  TetherCore *core = owner;

  if (tether_timers_remove (&core->timers, &job->timer_entry))
    core_schedule_retire (core, job);
}

static const TetherJobOwnerFuncs job_owner_funcs = {
  .ref = job_owner_ref,
  .unref = job_owner_unref,
  .get_id = job_owner_get_id,
  .get_label = job_owner_get_label,
  .ended = job_owner_ended,
  .retire = job_owner_retire,
  .timer_ended = job_owner_timer_ended,
};

/* Any thread: a job for this manager, to accept with tether_core_accept(). */
TetherJob *
tether_core_new_job (TetherCore    *core,
                     TetherJobKind  kind)
{
  return tether_job_new (&job_owner_funcs, core, kind);
}

/* The manager that made @job (every job is made by tether_core_new_job()). */
TetherCore *
tether_core_of_job (TetherJob *job)
{
  g_assert (job->owner_funcs == &job_owner_funcs);
  return job->owner;
}

static gboolean
core_refuse_javascript (TetherCore  *core,
                        GError     **error)
{
  g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
               _("Manager '%s' cannot run a JavaScript function: GJS runs JavaScript only on its "
                 "own thread; submit work written in C or Python"),
               core->label);
  tether_core_note_rejected (core);
  return FALSE;
}

/* Queues an item admitted at @priority: the default priority through
 * the lock-free queue, any other in its ranked level. */
static inline void
core_push (TetherCore *core,
           TetherNode *node,
           int         priority)
{
  if (G_LIKELY (priority == G_PRIORITY_DEFAULT))
    tether_queue_source_push (&core->source, node);
  else
    tether_queue_source_push_ranked (&core->source, node, priority);
}

/* Futures, async results and timers: accepted under the core lock, which
 * also puts them on the live list a stop walks. A timer (@ready_time >= 0)
 * starts when due, whatever its @priority. */
gboolean
tether_core_accept (TetherCore    *core,
                    TetherJob     *job,
                    const char    *task_type,
                    int            priority,
                    GCancellable  *cancellable,
                    gint64         ready_time,
                    GError       **error)
{
  if (tether_job_is_javascript (job))
    return core_refuse_javascript (core, error);

  g_mutex_lock (&core->mutex);

  /* Timers wait in the context, not the queue: they take no room. */
  if (!(ready_time < 0 ? core_wait_for_room_locked (core, task_type, error)
                       : core_check_locked (core, task_type, error)))
    {
      g_mutex_unlock (&core->mutex);
      tether_core_note_rejected (core);
      return FALSE;
    }

  tether_job_accept (job, ready_time, cancellable);
  g_queue_push_tail_link (&core->live, &job->live_link);

  if (ready_time >= 0)
    {
      core_add_timer_locked (core, job);
      g_mutex_unlock (&core->mutex);
      return TRUE;
    }

  tether_admission_count (&core->admission);
  g_mutex_unlock (&core->mutex);

  /* Outside the lock: the job is live and counted, so neither a stop nor
   * the loop's end can pass it by. */
  core_push (core, &job->start_node, priority);

  return TRUE;
}

/* A hold: deferred work without a function, running from the moment it
 * is accepted. It is on the live list, so a DRAIN stop waits for it and a
 * CANCEL stop fires its cancellable; it has no "function returned" token to
 * give, so its completion alone retires it (on the manager's thread, through
 * the queue, like any work that ends after its function returned). Counted
 * in the stats as a submission that started at once. */
TetherJob *
tether_core_hold (TetherCore  *core,
                  GError     **error)
{
  TetherJob *job;

  g_mutex_lock (&core->mutex);
  /* The manager's own task type: a hold belongs to no task type. */
  if (!core_check_locked (core, core->task_type, error))
    {
      g_mutex_unlock (&core->mutex);
      tether_core_note_rejected (core);
      return NULL;
    }
  job = tether_core_new_job (core, TETHER_JOB_KIND_FUTURE);
  tether_job_accept_hold (job);
  g_queue_push_tail_link (&core->live, &job->live_link);
  tether_stats_add (&core->stats.timers, 1);
  g_atomic_int_inc (&core->stats.running);
  g_mutex_unlock (&core->mutex);

  return job;
}

/* The lock-free way in (see tether_admission_try_enter()), and the task
 * type: written before the manager opened, and not again until it has
 * stopped, which waits for a post that entered. */
static gboolean
core_try_enter (TetherCore *core,
                const char *task_type,
                gsize      *ticket)
{
  const char *accepted_type;

  if (!tether_admission_try_enter (&core->admission, ticket))
    return FALSE;
  accepted_type = core->task_type;
  if (accepted_type == NULL || g_strcmp0 (accepted_type, task_type) == 0)
    return TRUE;
  tether_admission_leave (&core->admission);
  return FALSE;
}

gboolean
tether_core_post (TetherCore      *core,
                  const char      *task_type,
                  int              priority,
                  TetherFunc       func,
                  gpointer         func_data,
                  GDestroyNotify   func_data_destroy,
                  GError         **error)
{
  GMainContext *home = NULL;
  gsize ticket;

  if (tether_func_is_javascript ((gpointer) func, func_data_destroy, &home))
    {
      g_main_context_unref (home);
      return core_refuse_javascript (core, error);
    }

  if (!core_try_enter (core, task_type, &ticket))
    {
      /* Bounded, stopped, or the wrong task type: the locked path waits for
       * room or says precisely why not. */
      g_mutex_lock (&core->mutex);
      if (!core_wait_for_room_locked (core, task_type, error))
        {
          g_mutex_unlock (&core->mutex);
          g_clear_pointer (&home, g_main_context_unref);
          tether_core_note_rejected (core);
          return FALSE;
        }
      ticket = tether_admission_count (&core->admission);
      g_mutex_unlock (&core->mutex);
    }

  core_push (core,
             &tether_post_new (&core->posts, func, func_data, func_data_destroy, home,
                               (ticket & POST_SAMPLE_MASK) == 0)->node,
             priority);

  return TRUE;
}

GVariant *
tether_core_dup_stats (TetherCore *core)
{
  return tether_stats_dup_variant (&core->stats, &core->post_counts,
                                   tether_admission_get_n_accepted (&core->admission) +
                                   (gsize) g_atomic_pointer_get (&core->stats.timers),
                                   tether_core_get_n_pending (core),
                                   tether_admission_get_n_waiting (&core->admission));
}

/* The wait graph (tether-wait-graph.c), seen from the calling thread: a
 * thread that is not a manager's cannot close a cycle, and registers
 * nothing. */
static gboolean
core_begin_wait (TetherCore   *target,
                 gboolean      stop,
                 gboolean      room,
                 TetherEvent  *event,
                 char        **cycle)
{
  TetherCore *self = g_private_get (&current_core);

  if (self == NULL)
    return TRUE;
  /* A future completed by code has no manager: its wait closes no cycle
   * Tether can see, but a CANCEL stop must still be able to end it. */
  *cycle = tether_wait_graph_begin (&self->wait, target != NULL ? &target->wait : NULL, stop, room,
                                    event);
  return *cycle == NULL;
}

/* Registers the calling thread, if it is a manager's, as blocked on work of
 * @target, and @event as what it sleeps on, so that a CANCEL stop of its
 * manager can wake it. Returns %FALSE, registering nothing, with @cycle
 * describing the managers if the wait would close a cycle. */
gboolean
tether_core_begin_wait (TetherCore   *target,
                        TetherEvent  *event,
                        char        **cycle)
{
  return core_begin_wait (target, FALSE, FALSE, event, cycle);
}

/* The same, for a wait until @target's thread has exited. */
gboolean
tether_core_begin_stop_wait (TetherCore  *target,
                             char       **cycle)
{
  return core_begin_wait (target, TRUE, FALSE, NULL, cycle);
}

/* The same, for a wait for room in @target's queue, which only @target's
 * thread makes. Called with @target's lock held. */
gboolean
tether_core_begin_room_wait (TetherCore  *target,
                             char       **cycle)
{
  return core_begin_wait (target, FALSE, TRUE, NULL, cycle);
}

/* Records a wait_async() made on a manager's thread for work of another
 * manager (see tether_wait_graph_begin_async()). Returns %FALSE, recording
 * nothing, with @cycle set if the callback could never run. Otherwise
 * @waiter receives the calling manager's core (a reference) for
 * tether_core_end_async_wait(), or %NULL if there is nothing to record. */
gboolean
tether_core_begin_async_wait (TetherCore  *target,
                              TetherCore **waiter,
                              char       **cycle)
{
  TetherCore *self = g_private_get (&current_core);

  *waiter = NULL;
  if (self == NULL || self == target)
    return TRUE;
  *cycle = tether_wait_graph_begin_async (&self->wait, &target->wait);
  if (*cycle != NULL)
    return FALSE;
  *waiter = tether_core_ref (self);
  return TRUE;
}

/* For tests: whether @waiter's thread is blocked on @target, or has a
 * wait_async() on its work pending. */
gboolean
tether_core_is_waiting_on (TetherCore *waiter,
                           TetherCore *target)
{
  return tether_wait_graph_is_waiting_on (&waiter->wait, &target->wait);
}

void
tether_core_end_async_wait (TetherCore *waiter,
                            TetherCore *target)
{
  tether_wait_graph_end_async (&waiter->wait, &target->wait);
  tether_core_unref (waiter);
}

void
tether_core_end_wait (void)
{
  TetherCore *self = g_private_get (&current_core);

  if (self != NULL)
    tether_wait_graph_end (&self->wait);
}

/* Whether the calling thread is a manager's whose manager a CANCEL stop has
 * reached: its blocking waits end, so that its work can return. */
gboolean
tether_core_wait_cancelled (void)
{
  TetherCore *self = g_private_get (&current_core);

  return self != NULL && g_atomic_int_get (&self->cancelling);
}

static gpointer
core_ref_of_node (TetherWaitNode *node)
{
  return tether_core_ref ((TetherCore *) ((char *) node - G_STRUCT_OFFSET (TetherCore, wait)));
}

/* After a CANCEL stop set core->cancelling: wakes the manager's thread if it
 * sleeps in a future's wait, or waits for room in another manager's queue
 * (that manager is referenced, because its lock, which the waiter holds
 * while it registers, cannot be taken under the wait graph's). */
static void
core_interrupt_wait (TetherCore *core)
{
  TetherCore *room = tether_wait_graph_interrupt (&core->wait, core_ref_of_node);

  if (room != NULL)
    {
      /* The waiter checks its manager's cancelling flag under this lock
       * before it sleeps: either it sees the flag, or it is asleep. */
      g_mutex_lock (&room->mutex);
      tether_admission_wake_waiters_locked (&room->admission);
      g_mutex_unlock (&room->mutex);
      tether_core_unref (room);
    }
}

/* Any thread, once a stop has begun: gives up the right to join the
 * manager's thread, which finishes and exits on its own. A thread that has
 * not yet marked itself stopped is counted until it has released the core. */
void
tether_core_detach (TetherCore *core)
{
  GThread *thread;

  g_mutex_lock (&core->mutex);
  thread = g_steal_pointer (&core->thread);
  /* Counted until the thread is done, even if it has marked the manager
   * stopped already (a stop from its own thread, or stop_async()): it may
   * still be dropping its context, running user code. */
  g_mutex_lock (&runs_lock);
  if (thread != NULL && core->run != NULL && !core->run->done && !core->run->detached)
    {
      core->run->detached = TRUE;
      tether_detached_add ();
    }
  g_mutex_unlock (&runs_lock);
  g_mutex_unlock (&core->mutex);

  g_clear_pointer (&thread, g_thread_unref);
}

/* fork(): every core's locks, in list order, then the statics, in the
 * lock order tether-fork.c documents. The statics are leaves: nothing is
 * taken while one is held. */
void
tether_core_lock_all_for_fork (void)
{
  g_mutex_lock (&cores_lock);
  for (GList *l = cores.head; l != NULL; l = l->next)
    core_lock_for_fork (l->data);
  g_mutex_lock (&context_lock);
  g_mutex_lock (&runs_lock);
  tether_wait_graph_lock ();
}

static void
core_unlock_statics (void)
{
  tether_wait_graph_unlock ();
  g_mutex_unlock (&runs_lock);
  g_mutex_unlock (&context_lock);
}

void
tether_core_unlock_all_in_parent (void)
{
  core_unlock_statics ();
  for (GList *l = cores.tail; l != NULL; l = l->prev)
    core_unlock_for_fork (l->data);
  g_mutex_unlock (&cores_lock);
}

static gboolean core_reset_in_child (TetherCore *core);

/* fork(), in the child: each core becomes a stopped one that can start
 * again. */
void
tether_core_unlock_all_in_child (void)
{
  GSList *orphans = NULL;

  core_unlock_statics ();
  for (GList *l = cores.tail; l != NULL; l = l->prev)
    {
      TetherCore *core = l->data;

      if (core_reset_in_child (core))
        orphans = g_slist_prepend (orphans, core);
      core_unlock_for_fork (core);
    }
  g_mutex_unlock (&cores_lock);

  /* The references the parent's manager threads held: nobody's here. The
   * last one frees its core, which takes cores_lock: after the loop. */
  g_slist_free_full (orphans, (GDestroyNotify) tether_core_unref);
}

/* fork(), in the child, with every Tether lock held by this thread. The
 * manager's thread does not exist here: the manager becomes a stopped one
 * that can be started again. Returns whether the reference that thread
 * held is now nobody's. */
static gboolean
core_reset_in_child (TetherCore *core)
{
  gboolean had_thread = core->state != CORE_STOPPED;

  /* Work on this manager's thread called fork(): that thread is this one,
   * and it is inside the manager's loop. Leave the manager as it is. */
  if (tether_core_is_current (core))
    return FALSE;

  /* Abandoned, not freed: its lock may be held by a thread that does not
   * exist here, and its wake-up descriptor is shared with the parent's copy.
   * The next start or get_context() makes a new one. */
  core->context = NULL;
  core->queue_source = NULL;
  core->context_kept = FALSE;
  /* Joining or detaching a thread of the parent would be undefined. */
  core->thread = NULL;
  core->spare_work = NULL;

  core->state = CORE_STOPPED;
  core->cancelling = FALSE;
  core->post_counts.running = 0;
  tether_wait_node_reset_in_child (&core->wait);
  /* The parent's thread: nobody here will see it end. */
  core->run = NULL;
  core->stats.running = 0;

  /* The parent's timers and exit functions belong to its thread's run: the
   * timers' source went with the abandoned context, and the exit functions'
   * data is abandoned too (it may belong to a language runtime the child
   * cannot run here). */
  tether_timers_reset_in_child (&core->timers);
  g_slist_free (g_steal_pointer (&core->exit_funcs));
  core->exit_closed = FALSE;

  /* Accepted work belongs to the parent, whose thread runs it: here it
   * never ends. A submitter may have been half-way through a push. */
  tether_queue_source_reset_in_child (&core->source);
  tether_admission_reset_in_child (&core->admission);
  g_queue_init (&core->live);

  /* Threads that waited on this exist in the parent only. */
  g_cond_init (&core->cond);

  return had_thread;
}

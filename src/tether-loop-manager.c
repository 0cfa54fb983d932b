/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-enum-types.h"
#include "tether-error.h"
#include "tether-future-private.h"
#include "tether-lineage-private.h"
#include "tether-loop-manager-private.h"
#include "tether-work-private.h"

/**
 * TetherLoopManager:
 *
 * A [struct@GLib.MainContext] running on a thread of its own, to which any
 * thread can hand work.
 *
 * [method@Tether.LoopManager.start] spawns the thread; it makes the
 * manager's context its thread-default context and runs a main loop on it
 * until [method@Tether.LoopManager.stop]. Work runs there, one item at a
 * time, in submission order; it may start asynchronous GIO operations on the
 * context and end later through its [class@Tether.Work].
 *
 * The outcome comes back in one of three ways:
 *
 * - [method@Tether.LoopManager.submit] returns a [class@Tether.Future] to
 *   block on or poll;
 * - [method@Tether.LoopManager.submit_async] calls back in the submitter's
 *   thread-default context, GIO style;
 * - [method@Tether.LoopManager.post] is fire-and-forget.
 *
 * Promises the manager keeps:
 *
 * - Every accepted submission ends exactly once: a value, an error, or
 *   %G_IO_ERROR_CANCELLED. A rejected one (not running, wrong task type)
 *   never runs and reports a %TETHER_ERROR.
 * - Work is always queued, never run inline, even when posted from the
 *   manager's own thread; async callbacks never run inside the submit call.
 * - Once a stop begins, every new submission fails with
 *   %TETHER_ERROR_NOT_RUNNING, including submissions made by work the stop
 *   is draining.
 * - A started manager with a task type accepts only submissions of that
 *   type; a submission without a type is rejected too.
 * - Dropping the last reference stops the manager in
 *   %TETHER_STOP_MODE_DRAIN: queued work still runs. On a foreign thread
 *   that blocks until the thread has exited; on the manager's own thread the
 *   thread finishes draining and exits by itself.
 * - The `func_data_destroy` of a submission runs on the manager's thread once
 *   the work has ended (on the submitter's thread, before the call returns,
 *   if the submission is rejected). In a process that hosts GJS it runs
 *   instead in the thread-default context the submitter had, because GJS
 *   can release a JavaScript function only on its own thread.
 * - A JavaScript function submitted from GJS is refused at once with
 *   %TETHER_ERROR_INVALID_ARGUMENT: GJS runs JavaScript only on its own
 *   thread, so it could never run on the manager's.
 *
 * Since: 1.0
 */

#define BATCH_SIZE 64

typedef enum
{
  CORE_STOPPED,
  CORE_RUNNING,
  CORE_STOPPING,
} CoreState;

/* What the manager object and its thread share. The thread keeps a reference
 * so that dropping the manager on its own thread never has to join it. */
struct _TetherCore
{
  gatomicrefcount  ref_count;
  char            *id;
  GMainContext    *context;
  GMainLoop       *loop;
  GSource         *source;
  GWeakRef         manager;

  GMutex           mutex;
  GCond            cond;
  CoreState        state;
  TetherStopMode   stop_mode;
  guint            generation;   /* counts starts: which run a stopper waits for */
  int              cancelling;   /* atomic: a CANCEL stop began; start nothing queued */
  guint            max_pending;  /* 0: unbounded */
  gint64           submit_timeout; /* usec a submitter waits for room; -1: no limit */
  guint            n_pending;    /* accepted, not yet taken by the manager's thread */
  guint            room_waiters; /* submitters blocked in core_accept() */
  GCond            room_cond;
  TetherCore      *waiting_on;   /* wait_graph_lock: whose work this thread blocks on */
  gboolean         wake_pending; /* source ready time is 0 */
  char            *task_type;
  GThread         *thread;       /* not yet joined */
  TetherLineage   *starter;      /* memory ref: the lineage the thread descends from */
  GQueue           queue;        /* jobs to start or to retire */
  GQueue           live;         /* accepted, not yet retired */
};

typedef struct
{
  GSource     parent;
  TetherCore *core;
} CoreSource;

typedef struct
{
  GSource    parent;
  TetherJob *job;
} TimerSource;

struct _TetherLoopManager
{
  GObject     parent_instance;
  TetherCore *core;
  char       *id;
};

enum {
  PROP_0,
  PROP_ID,
  PROP_TASK_TYPE,
  PROP_RUNNING,
  PROP_CONTEXT,
  PROP_MAX_PENDING,
  PROP_SUBMIT_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties [N_PROPS];
static GPrivate current_core;

G_DEFINE_FINAL_TYPE (TetherLoopManager, tether_loop_manager, G_TYPE_OBJECT)

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

  g_assert (core->thread == NULL);
  g_assert (core->live.length == 0);

  g_source_destroy (core->source);
  g_source_unref (core->source);
  g_main_loop_unref (core->loop);
  g_main_context_unref (core->context);
  g_weak_ref_clear (&core->manager);
  g_mutex_clear (&core->mutex);
  g_cond_clear (&core->cond);
  g_cond_clear (&core->room_cond);
  g_clear_pointer (&core->starter, tether_lineage_unref_memory);
  g_free (core->task_type);
  g_free (core->id);
  g_free (core);
}

const char *
tether_core_get_id (TetherCore *core)
{
  return core->id;
}

gboolean
tether_core_is_current (TetherCore *core)
{
  return g_private_get (&current_core) == core;
}

/* Called with the core lock held; returns whether the caller must arm the
 * source once the lock is dropped. */
static gboolean
core_push_locked (TetherCore *core,
                  TetherJob  *job)
{
  g_queue_push_tail_link (&core->queue, &job->queue_link);
  if (core->wake_pending)
    return FALSE;
  core->wake_pending = TRUE;
  return TRUE;
}

static void
core_wake (TetherCore *core)
{
  g_source_set_ready_time (core->source, 0);
}

void
tether_core_schedule_retire (TetherCore *core,
                             TetherJob  *job)
{
  gboolean wake;

  g_mutex_lock (&core->mutex);
  wake = core_push_locked (core, job);
  g_mutex_unlock (&core->mutex);

  if (wake)
    core_wake (core);
}

void
tether_core_wake_timer (TetherCore *core,
                        TetherJob  *job)
{
  g_source_set_ready_time (job->timer, 0);
}

/* The loop ends once a stop has begun and the last accepted job is retired. */
static void
core_quit_if_drained_locked (TetherCore *core)
{
  if (core->state == CORE_STOPPING && core->live.length == 0)
    g_main_loop_quit (core->loop);
}

/* Manager thread only, after the work has ended and its function returned. */
static void
core_retire (TetherCore *core,
             TetherJob  *job)
{
  if (job->user_cancel_id != 0)
    {
      g_signal_handler_disconnect (job->user_cancellable, job->user_cancel_id);
      job->user_cancel_id = 0;
    }
  if (job->timer != NULL)
    g_source_destroy (job->timer);
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
  if (job->kind == TETHER_JOB_KIND_POST)
    {
      job->func.post (job->func_data);
      tether_job_complete (job, NULL, NULL);
    }
  else
    {
      TetherWork *work = tether_work_new (job);

      job->func.work (work, job->func_data);
      /* Dropping an unfinished handle ends the job as abandoned. */
      g_object_unref (work);
    }

  if (g_atomic_int_dec_and_test (&job->retire_tokens))
    core_retire (core, job);
}

static void
core_start_or_retire (TetherCore *core,
                      TetherJob  *job)
{
  /* The stopping thread may not have reached this job yet: it must not start
   * behind the stop's back. */
  if (g_atomic_int_get (&core->cancelling))
    tether_job_cancel_queued (job, "the manager was stopped with TETHER_STOP_MODE_CANCEL");
  if (g_atomic_int_compare_and_exchange (&job->state, TETHER_JOB_QUEUED, TETHER_JOB_RUNNING))
    core_run (core, job);
  else
    core_retire (core, job);
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

      if (mode == TETHER_STOP_MODE_CANCEL)
        tether_job_cancel_queued (job, "the manager was stopped with TETHER_STOP_MODE_CANCEL");
      else if (job->timer != NULL)
        tether_job_cancel_queued (job, "the manager stopped before its timer fired");
    }

  if (mode == TETHER_STOP_MODE_CANCEL)
    for (guint i = 0; i < jobs->len; i++)
      tether_job_request_cancel (g_ptr_array_index (jobs, i));
}

static gboolean
core_source_dispatch (GSource     *source,
                      GSourceFunc  callback,
                      gpointer     user_data)
{
  TetherCore *core = ((CoreSource *) source)->core;
  GQueue batch = G_QUEUE_INIT;
  GList *link;

  g_mutex_lock (&core->mutex);
  for (guint i = 0; i < BATCH_SIZE && (link = g_queue_pop_head_link (&core->queue)); i++)
    {
      TetherJob *job = link->data;

      if (job->queued)
        {
          job->queued = FALSE;
          core->n_pending--;
        }
      g_queue_push_tail_link (&batch, link);
    }
  if (core->room_waiters > 0)
    g_cond_broadcast (&core->room_cond);
  if (core->queue.length == 0)
    {
      /* Disarm under the lock: a producer that finds wake_pending unset
       * re-arms after this point, so no wake-up is lost. */
      core->wake_pending = FALSE;
      g_source_set_ready_time (source, -1);
    }
  g_mutex_unlock (&core->mutex);

  while ((link = g_queue_pop_head_link (&batch)))
    core_start_or_retire (core, link->data);

  /* A stop with nothing left to retire still has to end the loop. */
  g_mutex_lock (&core->mutex);
  core_quit_if_drained_locked (core);
  g_mutex_unlock (&core->mutex);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs core_source_funcs = {
  .dispatch = core_source_dispatch,
};

static gboolean
timer_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  TetherJob *job = ((TimerSource *) source)->job;

  g_source_set_ready_time (source, -1);
  core_start_or_retire (job->core, job);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = {
  .dispatch = timer_source_dispatch,
};

static TetherCore *
core_new (const char *id)
{
  TetherCore *core = g_new0 (TetherCore, 1);
  CoreSource *source;

  g_atomic_ref_count_init (&core->ref_count);
  core->id = g_strdup (id);
  core->context = g_main_context_new ();
  core->loop = g_main_loop_new (core->context, FALSE);
  g_mutex_init (&core->mutex);
  g_cond_init (&core->cond);
  g_cond_init (&core->room_cond);
  g_weak_ref_init (&core->manager, NULL);

  source = (CoreSource *) g_source_new (&core_source_funcs, sizeof (CoreSource));
  source->core = core;
  core->source = (GSource *) source;
  g_source_set_static_name (core->source, "[tether] manager queue");
  g_source_set_ready_time (core->source, -1);
  g_source_attach (core->source, core->context);

  return core;
}

static gpointer
core_thread_func (gpointer data)
{
  TetherCore *core = data;

  g_mutex_lock (&core->mutex);
  tether_lineage_enter_manager_thread (core->starter);
  g_mutex_unlock (&core->mutex);
  g_main_context_push_thread_default (core->context);
  g_private_set (&current_core, core);

  g_main_loop_run (core->loop);

  /* Let idles queued by finished work (GTask callbacks aimed at this
   * context, for example) run, without spinning on a source that never
   * stops being ready. */
  for (guint i = 0; i < 100 && g_main_context_iteration (core->context, FALSE); i++)
    ;

  g_private_set (&current_core, NULL);
  g_main_context_pop_thread_default (core->context);
  tether_lineage_exit_manager_thread ();

  g_mutex_lock (&core->mutex);
  core->state = CORE_STOPPED;
  g_cond_broadcast (&core->cond);
  g_mutex_unlock (&core->mutex);

  tether_core_unref (core);
  return NULL;
}

/* With the core lock held: a reference to every accepted, unretired job. */
static GPtrArray *
core_dup_live_locked (TetherCore *core)
{
  GPtrArray *jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) tether_job_unref);

  for (GList *l = core->live.head; l != NULL; l = l->next)
    g_ptr_array_add (jobs, tether_job_ref (l->data));
  return jobs;
}

/* Begins a stop, or escalates one in progress from DRAIN to CANCEL, and
 * applies the mode to the accepted work right here on the calling thread,
 * so that running work sees its cancellable fire even while it keeps the
 * manager's thread busy. Returns whether this call moved the manager out of
 * RUNNING. With @only_generation, does nothing unless that run is current;
 * @generation receives the run this stop applies to, @live the jobs it
 * covers. */
static gboolean
core_request_stop (TetherCore     *core,
                   TetherStopMode  mode,
                   const guint    *only_generation,
                   guint          *generation,
                   GPtrArray     **live)
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
  if (core->state == CORE_RUNNING)
    {
      core->state = CORE_STOPPING;
      core->stop_mode = mode;
      began = apply = TRUE;
      g_cond_broadcast (&core->room_cond);
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
      core->wake_pending = TRUE;
    }
  g_mutex_unlock (&core->mutex);

  if (apply)
    {
      /* Outside the lock: cancelling runs "cancelled" handlers, user code. */
      core_apply_stop (core, mode, jobs);
      core_wake (core);
    }

  return began;
}

/* Foreign threads only: waits, up to @deadline (-1: no limit), until run
 * @generation has left its loop, and joins its thread. A start() that came
 * in between has joined that thread already, and the run now going is not
 * this stopper's business. */
static gboolean
core_wait_stopped (TetherCore *core,
                   guint       generation,
                   gint64      deadline)
{
  GThread *thread = NULL;
  gboolean stopped;

  g_mutex_lock (&core->mutex);
  while (core->generation == generation && core->state == CORE_STOPPING)
    {
      if (deadline < 0)
        g_cond_wait (&core->cond, &core->mutex);
      else if (!g_cond_wait_until (&core->cond, &core->mutex, deadline))
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

static void
tether_loop_manager_constructed (GObject *object)
{
  TetherLoopManager *self = (TetherLoopManager *) object;
  static guint counter;

  G_OBJECT_CLASS (tether_loop_manager_parent_class)->constructed (object);

  if (self->id == NULL || self->id[0] == '\0')
    {
      g_free (self->id);
      self->id = g_strdup_printf ("manager-%u", g_atomic_int_add (&counter, 1) + 1);
    }
  self->core = core_new (self->id);
  g_weak_ref_set (&self->core->manager, self);
}

/* Stops in DRAIN mode and, except on the manager's own thread (which drains
 * and exits by itself), joins the thread. The core stays, so a disposed
 * manager still answers its methods. */
static void
manager_shut_down (TetherLoopManager *self)
{
  guint generation;

  core_request_stop (self->core, TETHER_STOP_MODE_DRAIN, NULL, &generation, NULL);

  if (tether_core_is_current (self->core))
    {
      GThread *thread;

      /* Cannot join ourselves: detach, and the thread drains and exits. */
      g_mutex_lock (&self->core->mutex);
      thread = g_steal_pointer (&self->core->thread);
      g_mutex_unlock (&self->core->mutex);
      g_clear_pointer (&thread, g_thread_unref);
    }
  else
    {
      core_wait_stopped (self->core, generation, -1);
    }
}

static void
tether_loop_manager_dispose (GObject *object)
{
  manager_shut_down ((TetherLoopManager *) object);

  G_OBJECT_CLASS (tether_loop_manager_parent_class)->dispose (object);
}

static void
tether_loop_manager_finalize (GObject *object)
{
  TetherLoopManager *self = (TetherLoopManager *) object;

  /* Started again after g_object_run_dispose()? Stop that run too. */
  manager_shut_down (self);
  g_clear_pointer (&self->core, tether_core_unref);
  g_free (self->id);

  G_OBJECT_CLASS (tether_loop_manager_parent_class)->finalize (object);
}

static void
tether_loop_manager_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  TetherLoopManager *self = TETHER_LOOP_MANAGER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;

    case PROP_TASK_TYPE:
      g_value_take_string (value, tether_loop_manager_dup_task_type (self));
      break;

    case PROP_RUNNING:
      g_value_set_boolean (value, tether_loop_manager_is_running (self));
      break;

    case PROP_CONTEXT:
      g_value_set_boxed (value, tether_loop_manager_get_context (self));
      break;

    case PROP_MAX_PENDING:
      g_value_set_uint (value, tether_loop_manager_get_max_pending (self));
      break;

    case PROP_SUBMIT_TIMEOUT:
      g_value_set_int64 (value, tether_loop_manager_get_submit_timeout (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_loop_manager_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  TetherLoopManager *self = TETHER_LOOP_MANAGER (object);

  switch (prop_id)
    {
    case PROP_ID:
      self->id = g_value_dup_string (value);
      break;

    case PROP_MAX_PENDING:
      tether_loop_manager_set_max_pending (self, g_value_get_uint (value));
      break;

    case PROP_SUBMIT_TIMEOUT:
      tether_loop_manager_set_submit_timeout (self, g_value_get_int64 (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_loop_manager_class_init (TetherLoopManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = tether_loop_manager_constructed;
  object_class->dispose = tether_loop_manager_dispose;
  object_class->finalize = tether_loop_manager_finalize;
  object_class->get_property = tether_loop_manager_get_property;
  object_class->set_property = tether_loop_manager_set_property;

  /**
   * TetherLoopManager:id:
   *
   * The manager's name, used in error messages and its thread's name.
   * If none is given at construction, a unique `manager-N` is chosen.
   *
   * Since: 1.0
   */
  properties [PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherLoopManager:task-type:
   *
   * The only task type the manager accepts while running, or %NULL if it
   * accepts every submission. Set by [method@Tether.LoopManager.start].
   * `notify` is emitted on the thread that called start.
   *
   * Since: 1.0
   */
  properties [PROP_TASK_TYPE] =
    g_param_spec_string ("task-type", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherLoopManager:running:
   *
   * Whether the manager accepts work: %TRUE from
   * [method@Tether.LoopManager.start] until a stop begins. `notify` is
   * emitted on the thread that called start or stop.
   *
   * Since: 1.0
   */
  properties [PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherLoopManager:context:
   *
   * The [struct@GLib.MainContext] the manager's thread runs. It is the same
   * for the manager's whole life, across restarts; sources you attach to it
   * stay attached while the manager is stopped.
   *
   * Since: 1.0
   */
  properties [PROP_CONTEXT] =
    g_param_spec_boxed ("context", NULL, NULL, G_TYPE_MAIN_CONTEXT,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * TetherLoopManager:max-pending:
   *
   * How many submissions may wait in the queue before new ones wait for
   * room or fail with %TETHER_ERROR_BUSY; 0, the default, for no bound. See
   * [method@Tether.LoopManager.set_max_pending]. Notified on the thread that
   * changes it.
   *
   * Since: 1.0
   */
  properties [PROP_MAX_PENDING] =
    g_param_spec_uint ("max-pending", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherLoopManager:submit-timeout:
   *
   * How long, in microseconds, a submission waits for room in a full queue:
   * 0, the default, fails at once with %TETHER_ERROR_BUSY; -1 waits without
   * limit. See [method@Tether.LoopManager.set_submit_timeout]. Notified on the
   * thread that changes it.
   *
   * Since: 1.0
   */
  properties [PROP_SUBMIT_TIMEOUT] =
    g_param_spec_int64 ("submit-timeout", NULL, NULL, -1, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_loop_manager_init (TetherLoopManager *self)
{
}

/**
 * tether_loop_manager_new:
 * @id: (nullable): the manager's name, or %NULL for a generated one
 *
 * Creates a stopped manager. Call [method@Tether.LoopManager.start] before
 * submitting work.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a new [class@Tether.LoopManager]
 *
 * Since: 1.0
 */
TetherLoopManager *
tether_loop_manager_new (const char *id)
{
  return g_object_new (TETHER_TYPE_LOOP_MANAGER, "id", id, NULL);
}

/**
 * tether_loop_manager_ref_current:
 *
 * Gets the manager whose thread is calling, for work that wants to submit
 * more work to its own manager.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): the manager running on this thread,
 *   or %NULL if this is not a manager's thread
 *
 * Since: 1.0
 */
TetherLoopManager *
tether_loop_manager_ref_current (void)
{
  TetherCore *core = g_private_get (&current_core);

  return core != NULL ? g_weak_ref_get (&core->manager) : NULL;
}

/**
 * tether_loop_manager_get_id:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the manager's id.
 *
 * Thread: any thread.
 *
 * Returns: (transfer none): the id, valid for the manager's life
 *
 * Since: 1.0
 */
const char *
tether_loop_manager_get_id (TetherLoopManager *self)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);

  return self->id;
}

/**
 * tether_loop_manager_dup_task_type:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the task type given to the last [method@Tether.LoopManager.start].
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): the task type, or %NULL if the
 *   manager accepts every submission
 *
 * Since: 1.0
 */
char *
tether_loop_manager_dup_task_type (TetherLoopManager *self)
{
  char *ret;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);

  g_mutex_lock (&self->core->mutex);
  ret = g_strdup (self->core->task_type);
  g_mutex_unlock (&self->core->mutex);

  return ret;
}

/**
 * tether_loop_manager_is_running:
 * @self: a [class@Tether.LoopManager]
 *
 * Checks whether the manager accepts work. The answer can change at once if
 * another thread stops the manager; submit and handle
 * %TETHER_ERROR_NOT_RUNNING rather than checking first.
 *
 * Thread: any thread.
 *
 * Returns: %TRUE between start and the beginning of a stop
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_is_running (TetherLoopManager *self)
{
  gboolean ret;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);

  g_mutex_lock (&self->core->mutex);
  ret = self->core->state == CORE_RUNNING;
  g_mutex_unlock (&self->core->mutex);

  return ret;
}

/**
 * tether_loop_manager_get_context:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the context the manager's thread runs, to attach your own sources.
 *
 * Thread: any thread.
 *
 * Returns: (transfer none): the manager's [struct@GLib.MainContext]
 *
 * Since: 1.0
 */
GMainContext *
tether_loop_manager_get_context (TetherLoopManager *self)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);

  return self->core->context;
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

/**
 * tether_loop_manager_start:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the only task type to accept, or %NULL for any
 * @error: return location for an error
 *
 * Spawns the manager's thread, named after its id, and starts accepting
 * work. A manager that was stopped can be started again, with the same or
 * another task type. If a stop is still in progress on another thread, this
 * waits for it to finish first.
 *
 * Thread: any thread but the manager's own.
 *
 * Returns: %TRUE on success; %FALSE with %TETHER_ERROR_ALREADY_RUNNING if it
 *   runs (or is stopping and this is its own thread), or a
 *   %G_THREAD_ERROR if no thread could be made
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_start (TetherLoopManager  *self,
                           const char         *task_type,
                           GError            **error)
{
  TetherCore *core;
  GThread *old_thread;
  g_autofree char *name = NULL;
  GError *local_error = NULL;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  core = self->core;

  g_mutex_lock (&core->mutex);
  if (core->state == CORE_STOPPING && tether_core_is_current (core))
    {
      g_mutex_unlock (&core->mutex);
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING,
                   "Manager '%s' is stopping and this is its own thread; start it again "
                   "from another thread once tether_loop_manager_stop() has returned",
                   core->id);
      return FALSE;
    }
  while (core->state == CORE_STOPPING)
    g_cond_wait (&core->cond, &core->mutex);
  if (core->state == CORE_RUNNING)
    {
      g_mutex_unlock (&core->mutex);
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_ALREADY_RUNNING,
                   "Manager '%s' is already running; call tether_loop_manager_stop() "
                   "before starting it again",
                   core->id);
      return FALSE;
    }

  /* A thread that stopped itself exits without a joiner; reap it now. */
  old_thread = g_steal_pointer (&core->thread);
  if (old_thread != NULL)
    g_thread_join (old_thread);

  g_clear_pointer (&core->starter, tether_lineage_unref_memory);
  core->starter = tether_lineage_ref_memory (tether_lineage_get_current ());
  name = thread_name_for (core->id);
  core->thread = g_thread_try_new (name, core_thread_func, tether_core_ref (core), &local_error);
  if (core->thread == NULL)
    {
      g_mutex_unlock (&core->mutex);
      tether_core_unref (core);
      g_propagate_prefixed_error (error, local_error,
                                  "Manager '%s' could not start its thread: ", core->id);
      return FALSE;
    }
  g_free (core->task_type);
  core->task_type = g_strdup (task_type);
  core->state = CORE_RUNNING;
  core->generation++;
  g_atomic_int_set (&core->cancelling, FALSE);
  g_mutex_unlock (&core->mutex);

  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_TASK_TYPE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_RUNNING]);

  return TRUE;
}

/**
 * tether_loop_manager_stop:
 * @self: a [class@Tether.LoopManager]
 * @mode: what happens to work accepted before the stop
 *
 * Stops accepting work at once, ends the accepted work as @mode says, then
 * stops the thread. Every accepted submission still ends exactly once.
 *
 * From a foreign thread this blocks until the manager's thread has exited
 * and is joined. From the manager's own thread (inside work) it only begins
 * the stop and returns; the thread finishes and exits after the current
 * work returns.
 *
 * The mode is applied on the calling thread before this waits: in
 * %TETHER_STOP_MODE_CANCEL queued work ends cancelled at once and the
 * cancellable of running work fires, even if that work keeps the manager's
 * thread busy without returning to its loop.
 *
 * Stopping a stopped manager does nothing. Concurrent stops all wait for the
 * same shutdown; if any asks for %TETHER_STOP_MODE_CANCEL, cancel wins, even
 * over a drain already under way (work already run stays run).
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_loop_manager_stop (TetherLoopManager *self,
                          TetherStopMode     mode)
{
  gboolean began;
  guint generation;

  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail (mode == TETHER_STOP_MODE_DRAIN || mode == TETHER_STOP_MODE_CANCEL);

  began = core_request_stop (self->core, mode, NULL, &generation, NULL);

  if (!tether_core_is_current (self->core))
    core_wait_stopped (self->core, generation, -1);

  if (began)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_RUNNING]);
}

/**
 * tether_loop_manager_stop_within:
 * @self: a [class@Tether.LoopManager]
 * @timeout_usec: how long the drain may take, in microseconds; -1 for no
 *   limit (then this is [method@Tether.LoopManager.stop] with
 *   %TETHER_STOP_MODE_DRAIN, plus the counts)
 * @n_ran: (out) (optional): return location for how many submissions ran
 * @n_cancelled: (out) (optional): return location for how many ended cancelled
 * @error: return location for an error
 *
 * Stops the manager in %TETHER_STOP_MODE_DRAIN, with a deadline: whatever
 * has not finished @timeout_usec after the call is cancelled, as by
 * %TETHER_STOP_MODE_CANCEL (queued work ends cancelled without running, and
 * running work sees its cancellable fire). Then it waits for the thread to
 * exit, as [method@Tether.LoopManager.stop] does: work that ignores its
 * cancellable keeps the stop waiting past the deadline.
 *
 * The counts cover the submissions that were accepted and unfinished when
 * the stop began: @n_ran those that ended with a value or an error of their
 * own, @n_cancelled those that ended with %G_IO_ERROR_CANCELLED (timers that
 * had not fired, queued work the deadline caught, and running work that
 * answered its cancellable). Stopping a stopped manager counts nothing.
 *
 * Thread: any thread but the manager's own, where it would wait for itself:
 * there it fails with %TETHER_ERROR_WOULD_DEADLOCK and stops nothing.
 *
 * Returns: %TRUE once the manager has stopped; %FALSE with @error set on the
 *   manager's own thread
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_stop_within (TetherLoopManager  *self,
                                 gint64              timeout_usec,
                                 guint              *n_ran,
                                 guint              *n_cancelled,
                                 GError            **error)
{
  g_autoptr(GPtrArray) live = NULL;
  gint64 deadline;
  gboolean began;
  guint generation;
  guint ran = 0, cancelled = 0;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (tether_core_is_current (self->core))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                   "tether_loop_manager_stop_within() was called on the thread of manager "
                   "'%s', which cannot wait for itself; call tether_loop_manager_stop() "
                   "there, or stop it within a deadline from another thread",
                   self->core->id);
      return FALSE;
    }

  deadline = timeout_usec < 0 ? -1 : tether_time_after (timeout_usec);
  began = core_request_stop (self->core, TETHER_STOP_MODE_DRAIN, NULL, &generation, &live);
  if (!core_wait_stopped (self->core, generation, deadline))
    {
      /* Only the run this call stopped is escalated, never a later one. */
      core_request_stop (self->core, TETHER_STOP_MODE_CANCEL, &generation, NULL, NULL);
      core_wait_stopped (self->core, generation, -1);
    }

  /* A stopped manager has retired every job, so each outcome is final. */
  for (guint i = 0; live != NULL && i < live->len; i++)
    {
      TetherJob *job = g_ptr_array_index (live, i);

      g_assert (g_atomic_int_get (&job->state) == TETHER_JOB_DONE);
      if (job->ended_cancelled)
        cancelled++;
      else
        ran++;
    }
  if (n_ran != NULL)
    *n_ran = ran;
  if (n_cancelled != NULL)
    *n_cancelled = cancelled;

  if (began)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_RUNNING]);
  return TRUE;
}

/**
 * tether_loop_manager_get_max_pending:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the [property@Tether.LoopManager:max-pending] bound.
 *
 * Thread: any thread.
 *
 * Returns: the bound; 0 for none
 *
 * Since: 1.0
 */
guint
tether_loop_manager_get_max_pending (TetherLoopManager *self)
{
  guint ret;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), 0);

  g_mutex_lock (&self->core->mutex);
  ret = self->core->max_pending;
  g_mutex_unlock (&self->core->mutex);
  return ret;
}

/**
 * tether_loop_manager_set_max_pending:
 * @self: a [class@Tether.LoopManager]
 * @max_pending: how many submissions may wait in the queue; 0 for no bound
 *
 * Bounds the manager's queue: submissions accepted but not yet taken by the
 * manager's thread (work queued behind running work, fire-and-forget
 * included; timers not yet due are not counted). A submission that finds the
 * queue full waits for room as [property@Tether.LoopManager:submit-timeout]
 * says, then fails with %TETHER_ERROR_BUSY. Lowering the bound below the
 * current queue drops nothing.
 *
 * Thread: any thread; takes effect for the next submission.
 *
 * Since: 1.0
 */
void
tether_loop_manager_set_max_pending (TetherLoopManager *self,
                                     guint              max_pending)
{
  gboolean changed;

  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));

  g_mutex_lock (&self->core->mutex);
  changed = self->core->max_pending != max_pending;
  self->core->max_pending = max_pending;
  /* A raised bound makes room now. */
  if (self->core->room_waiters > 0)
    g_cond_broadcast (&self->core->room_cond);
  g_mutex_unlock (&self->core->mutex);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_MAX_PENDING]);
}

/**
 * tether_loop_manager_get_submit_timeout:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the [property@Tether.LoopManager:submit-timeout].
 *
 * Thread: any thread.
 *
 * Returns: the timeout in microseconds; 0 fails at once, -1 waits without limit
 *
 * Since: 1.0
 */
gint64
tether_loop_manager_get_submit_timeout (TetherLoopManager *self)
{
  gint64 ret;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), 0);

  g_mutex_lock (&self->core->mutex);
  ret = self->core->submit_timeout;
  g_mutex_unlock (&self->core->mutex);
  return ret;
}

/**
 * tether_loop_manager_set_submit_timeout:
 * @self: a [class@Tether.LoopManager]
 * @timeout_usec: how long a submission waits for room in a full queue, in
 *   microseconds: 0 (the default) fails at once with %TETHER_ERROR_BUSY, -1
 *   waits without limit
 *
 * Chooses what a submission does when [property@Tether.LoopManager:max-pending]
 * is reached: fail at once, or block its caller until the manager's thread
 * takes work from the queue, up to @timeout_usec, and then fail with
 * %TETHER_ERROR_BUSY. A stop that begins meanwhile ends the wait with
 * %TETHER_ERROR_NOT_RUNNING. Submissions made on the manager's own thread
 * never wait (only that thread makes room) and fail with %TETHER_ERROR_BUSY
 * at once; [method@Tether.LoopManager.submit_async] blocks like the others.
 *
 * Thread: any thread; takes effect for the next submission.
 *
 * Since: 1.0
 */
void
tether_loop_manager_set_submit_timeout (TetherLoopManager *self,
                                        gint64             timeout_usec)
{
  gboolean changed;

  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail (timeout_usec >= -1);

  g_mutex_lock (&self->core->mutex);
  changed = self->core->submit_timeout != timeout_usec;
  self->core->submit_timeout = timeout_usec;
  g_mutex_unlock (&self->core->mutex);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_SUBMIT_TIMEOUT]);
}

/**
 * tether_loop_manager_get_n_pending:
 * @self: a [class@Tether.LoopManager]
 *
 * Counts the submissions waiting in the queue, as
 * [property@Tether.LoopManager:max-pending] counts them. The answer may be
 * out of date as soon as it returns.
 *
 * Thread: any thread.
 *
 * Returns: the number of queued submissions
 *
 * Since: 1.0
 */
guint
tether_loop_manager_get_n_pending (TetherLoopManager *self)
{
  guint ret;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), 0);

  g_mutex_lock (&self->core->mutex);
  ret = self->core->n_pending;
  g_mutex_unlock (&self->core->mutex);
  return ret;
}

/* Blocking waits made on manager threads form a graph in which each manager
 * waits on at most one other: a wait that would close a cycle is refused. */
static GMutex wait_graph_lock;

gboolean
tether_core_begin_wait (TetherCore  *target,
                        GError     **error)
{
  TetherCore *self = g_private_get (&current_core);
  g_autoptr(GString) cycle = NULL;

  if (self == NULL)
    return TRUE;

  g_mutex_lock (&wait_graph_lock);
  for (TetherCore *c = target; c != NULL; c = c->waiting_on)
    if (c == self)
      {
        cycle = g_string_new (NULL);
        g_string_append_printf (cycle, "'%s'", self->id);
        for (TetherCore *d = target; d != self; d = d->waiting_on)
          g_string_append_printf (cycle, " -> '%s'", d->id);
        g_string_append_printf (cycle, " -> '%s'", self->id);
        break;
      }
  if (cycle == NULL)
    self->waiting_on = target;
  g_mutex_unlock (&wait_graph_lock);

  if (cycle != NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                   "Waiting here would deadlock: %s each wait for the next, and none can "
                   "run the work the others wait for. Use tether_future_wait_async() or "
                   "finish the work from a callback instead",
                   cycle->str);
      return FALSE;
    }
  return TRUE;
}

void
tether_core_end_wait (void)
{
  TetherCore *self = g_private_get (&current_core);

  if (self == NULL)
    return;

  g_mutex_lock (&wait_graph_lock);
  self->waiting_on = NULL;
  g_mutex_unlock (&wait_graph_lock);
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
                   ? "Manager '%s' is stopping and accepts no new work; submit to another "
                     "manager or start it again once the stop has finished"
                   : "Manager '%s' is not running; call tether_loop_manager_start() "
                     "before submitting work",
                   core->id);
      return FALSE;
    }

  if (core->task_type != NULL && g_strcmp0 (core->task_type, task_type) != 0)
    {
      if (task_type != NULL)
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE,
                     "Manager '%s' only accepts task type '%s', not '%s'; submit with "
                     "task type '%s', or use a manager started for '%s'",
                     core->id, core->task_type, task_type, core->task_type, task_type);
      else
        g_set_error (error, TETHER_ERROR, TETHER_ERROR_UNKNOWN_TASK_TYPE,
                     "Manager '%s' only accepts task type '%s', and this submission has no "
                     "task type; pass task type '%s'",
                     core->id, core->task_type, core->task_type);
      return FALSE;
    }

  return TRUE;
}

/* With the core lock held: waits for room in the queue, as the manager's
 * max-pending and submit-timeout say. Rechecks everything after a wait. */
static gboolean
core_wait_for_room_locked (TetherCore  *core,
                           const char  *task_type,
                           GError     **error)
{
  gint64 deadline = -1;

  for (;;)
    {
      if (!core_check_locked (core, task_type, error))
        return FALSE;
      if (core->max_pending == 0 || core->n_pending < core->max_pending)
        return TRUE;

      if (core->submit_timeout == 0 || tether_core_is_current (core) ||
          (deadline >= 0 && g_get_monotonic_time () >= deadline))
        {
          g_set_error (error, TETHER_ERROR, TETHER_ERROR_BUSY,
                       "Manager '%s' already has %u submissions queued, its max-pending%s; "
                       "retry later, raise max-pending, or set a submit timeout to wait for room",
                       core->id, core->n_pending,
                       tether_core_is_current (core)
                       ? " (its own thread never waits for room: nothing would make any)" : "");
          return FALSE;
        }

      if (deadline < 0 && core->submit_timeout > 0)
        deadline = tether_time_after (core->submit_timeout);
      /* Woken when the manager's thread takes jobs, when a stop begins, or
       * by the deadline; the loop rechecks all three. */
      core->room_waiters++;
      if (deadline < 0)
        g_cond_wait (&core->room_cond, &core->mutex);
      else
        g_cond_wait_until (&core->room_cond, &core->mutex, deadline);
      core->room_waiters--;
    }
}

static gboolean
core_accept (TetherCore    *core,
             TetherJob     *job,
             const char    *task_type,
             GCancellable  *cancellable,
             gint64         ready_time,
             GError       **error)
{
  gboolean wake = FALSE;

  if (job->javascript)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   "Manager '%s' cannot run a JavaScript function: GJS runs JavaScript only "
                   "on its own thread. Submit work written in C or Python, and await the "
                   "future or async result here instead",
                   core->id);
      return FALSE;
    }

  g_mutex_lock (&core->mutex);

  /* Timers wait in the context, not the queue: they take no room. */
  if (!(ready_time < 0 ? core_wait_for_room_locked (core, task_type, error)
                       : core_check_locked (core, task_type, error)))
    {
      g_mutex_unlock (&core->mutex);
      return FALSE;
    }

  /* Connected before the job is visible to the manager thread, which
   * disconnects it on retire. An already-cancelled cancellable ends the job
   * right here; it is still queued and retired like any other. */
  tether_job_connect_user_cancellable (job, cancellable);
  g_queue_push_tail_link (&core->live, &job->live_link);

  if (ready_time < 0)
    {
      job->queued = TRUE;
      core->n_pending++;
      wake = core_push_locked (core, job);
    }
  else
    {
      TimerSource *timer = (TimerSource *) g_source_new (&timer_source_funcs, sizeof (TimerSource));

      timer->job = job;
      job->timer = (GSource *) timer;
      g_source_set_static_name (job->timer, "[tether] timer");
      g_source_set_ready_time (job->timer,
                               g_atomic_int_get (&job->state) == TETHER_JOB_QUEUED ? ready_time : 0);
      g_source_attach (job->timer, core->context);
    }

  g_mutex_unlock (&core->mutex);

  if (wake)
    core_wake (core);

  return TRUE;
}

/* A rejected job never ran: it ends here, on the submitter's thread. */
static void
reject (TetherJob *job,
        GError    *error)
{
  tether_job_complete (job, NULL, error);
  tether_job_release_func_data (job);
  tether_job_unref (job);
}

static TetherFuture *
submit_future (TetherLoopManager  *self,
               const char         *task_type,
               gint64              ready_time,
               GCancellable       *cancellable,
               TetherWorkFunc      func,
               gpointer            func_data,
               GDestroyNotify      func_data_destroy,
               GError            **error)
{
  TetherJob *job = tether_job_new (self->core, TETHER_JOB_KIND_FUTURE);
  TetherFuture *future = tether_future_new (job);
  GError *local_error = NULL;

  job->func.work = func;
  tether_job_set_func_data (job, func_data, func_data_destroy);
  job->future = g_object_ref (future);

  if (!core_accept (self->core, job, task_type, cancellable, ready_time, &local_error))
    {
      g_propagate_error (error, g_error_copy (local_error));
      reject (job, local_error);
      g_object_unref (future);
      return NULL;
    }

  return future;
}

/**
 * tether_loop_manager_submit:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @cancellable: (nullable): cancels the work: before it starts it never
 *   runs; while it runs its [method@Tether.Work.get_cancellable] fires
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data on the manager's thread
 *   once the work has ended, or before this returns if it is rejected
 * @error: return location for an error
 *
 * Queues @func to run on the manager's thread, and returns a future for its
 * outcome. The work is queued even when this is called on the manager's own
 * thread; it never runs inside this call.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with
 *   %TETHER_ERROR_NOT_RUNNING or %TETHER_ERROR_UNKNOWN_TASK_TYPE, in which
 *   case @func never runs
 *
 * Since: 1.0
 */
TetherFuture *
tether_loop_manager_submit (TetherLoopManager  *self,
                            const char         *task_type,
                            GCancellable       *cancellable,
                            TetherWorkFunc      func,
                            gpointer            func_data,
                            GDestroyNotify      func_data_destroy,
                            GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return submit_future (self, task_type, -1, cancellable,
                        func, func_data, func_data_destroy, error);
}

/**
 * tether_loop_manager_submit_after:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @delay_usec: how long to wait before running, in microseconds (>= 0)
 * @cancellable: (nullable): cancels the work, as for [method@Tether.LoopManager.submit]
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.LoopManager.submit]
 * @error: return location for an error
 *
 * Like [method@Tether.LoopManager.submit], but runs @func once @delay_usec
 * has passed (asyncio's `call_later`). [method@Tether.Future.cancel] on the
 * returned future removes the timer. A stop in either mode cancels timers
 * that have not fired yet.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with an error
 *   as for [method@Tether.LoopManager.submit]
 *
 * Since: 1.0
 */
TetherFuture *
tether_loop_manager_submit_after (TetherLoopManager  *self,
                                  const char         *task_type,
                                  gint64              delay_usec,
                                  GCancellable       *cancellable,
                                  TetherWorkFunc      func,
                                  gpointer            func_data,
                                  GDestroyNotify      func_data_destroy,
                                  GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);
  g_return_val_if_fail (delay_usec >= 0, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return submit_future (self, task_type, tether_time_after (delay_usec), cancellable,
                        func, func_data, func_data_destroy, error);
}

/**
 * tether_loop_manager_submit_at:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @ready_time: when to run, on the g_get_monotonic_time() clock; a time in
 *   the past runs as soon as possible
 * @cancellable: (nullable): cancels the work, as for [method@Tether.LoopManager.submit]
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.LoopManager.submit]
 * @error: return location for an error
 *
 * Like [method@Tether.LoopManager.submit_after], at a monotonic time
 * (asyncio's `call_at`).
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with an error
 *   as for [method@Tether.LoopManager.submit]
 *
 * Since: 1.0
 */
TetherFuture *
tether_loop_manager_submit_at (TetherLoopManager  *self,
                               const char         *task_type,
                               gint64              ready_time,
                               GCancellable       *cancellable,
                               TetherWorkFunc      func,
                               gpointer            func_data,
                               GDestroyNotify      func_data_destroy,
                               GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return submit_future (self, task_type, MAX (ready_time, 0), cancellable,
                        func, func_data, func_data_destroy, error);
}

/**
 * tether_loop_manager_submit_async:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.LoopManager.submit]
 * @cancellable: (nullable): cancels the work, as for [method@Tether.LoopManager.submit]
 * @callback: (scope async) (closure user_data): called in the caller's
 *   thread-default context when the work has ended
 * @user_data: data for @callback
 *
 * Queues @func and reports its outcome GIO style: @callback runs in the
 * thread-default context of the thread calling this, never inside this
 * call, and calls [method@Tether.LoopManager.submit_finish]. A rejected
 * submission reaches @callback with its error the same way.
 *
 * If @cancellable fires while the work runs and the work still returns a
 * value, the value is the outcome.
 *
 * Thread: any thread whose thread-default context is running.
 *
 * Since: 1.0
 */
void
tether_loop_manager_submit_async (TetherLoopManager   *self,
                                  const char          *task_type,
                                  TetherWorkFunc       func,
                                  gpointer             func_data,
                                  GDestroyNotify       func_data_destroy,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  TetherJob *job;
  GError *error = NULL;

  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (func != NULL);

  job = tether_job_new (self->core, TETHER_JOB_KIND_TASK);
  job->func.work = func;
  tether_job_set_func_data (job, func_data, func_data_destroy);
  job->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (job->task, tether_loop_manager_submit_async);
  g_task_set_name (job->task, "[tether] submit");
  /* The work's outcome wins over a late cancellation. */
  g_task_set_check_cancellable (job->task, FALSE);

  if (!core_accept (self->core, job, task_type, cancellable, -1, &error))
    reject (job, error);
}

/**
 * tether_loop_manager_submit_finish:
 * @self: a [class@Tether.LoopManager]
 * @result: the result passed to the callback
 * @value: (out) (optional) (nullable) (transfer full): return location for
 *   the work's value, or %NULL if it returned none; free it with
 *   `g_boxed_free (G_TYPE_VALUE, value)`
 * @error: return location for an error
 *
 * Finishes [method@Tether.LoopManager.submit_async]. @value is only set
 * when the call returns %TRUE.
 *
 * Thread: the thread that called [method@Tether.LoopManager.submit_async].
 *
 * Returns: %TRUE if the work succeeded; %FALSE with the work's error, a
 *   %G_IO_ERROR_CANCELLED error, or the submission's rejection
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_submit_finish (TetherLoopManager  *self,
                                   GAsyncResult       *result,
                                   GValue            **value,
                                   GError            **error)
{
  GValue *result_value;
  GError *local_error = NULL;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  result_value = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }

  if (value != NULL)
    *value = result_value;
  else if (result_value != NULL)
    g_boxed_free (G_TYPE_VALUE, result_value);

  return TRUE;
}

/**
 * tether_loop_manager_post:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.LoopManager.submit]
 * @error: return location for an error
 *
 * Queues @func without any way to learn its outcome: one small allocation
 * and no future. It is queued, never run inline, even when posted from the
 * manager's own thread. A stop in %TETHER_STOP_MODE_CANCEL drops it unrun
 * (its @func_data_destroy still runs).
 *
 * Thread: any thread.
 *
 * Returns: %TRUE if accepted; %FALSE with %TETHER_ERROR_NOT_RUNNING or
 *   %TETHER_ERROR_UNKNOWN_TASK_TYPE
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_post (TetherLoopManager  *self,
                          const char         *task_type,
                          TetherFunc          func,
                          gpointer            func_data,
                          GDestroyNotify      func_data_destroy,
                          GError            **error)
{
  TetherJob *job;
  GError *local_error = NULL;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  job = tether_job_new (self->core, TETHER_JOB_KIND_POST);
  job->func.post = func;
  tether_job_set_func_data (job, func_data, func_data_destroy);

  if (!core_accept (self->core, job, task_type, NULL, -1, &local_error))
    {
      g_propagate_error (error, g_error_copy (local_error));
      reject (job, local_error);
      return FALSE;
    }

  return TRUE;
}

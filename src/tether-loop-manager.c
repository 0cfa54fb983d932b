/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-detached-private.h"
#include "tether-enum-types.h"
#include "tether-error.h"
#include "tether-fork-private.h"
#include "tether-future-private.h"
#include "tether-i18n-private.h"
#include "tether-lineage-private.h"
#include "tether-loop-manager-private.h"
#include "tether-call-private.h"
#include "tether-core-private.h"
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
 * time, by priority and then in submission order (see
 * [method@Tether.LoopManager.submit_full]); it may start asynchronous GIO
 * operations on the context and end later through its [class@Tether.Work].
 *
 * The outcome comes back in one of three ways:
 *
 * - [method@Tether.LoopManager.submit] returns a [class@Tether.Future] to
 *   block on or poll;
 * - [method@Tether.LoopManager.submit_async] calls back in the submitter's
 *   thread-default context, GIO style;
 * - [method@Tether.LoopManager.post] is fire-and-forget.
 *
 * A manager runs from [method@Tether.LoopManager.start] to
 * [method@Tether.LoopManager.stop], and can be started again:
 *
 * ```c
 * g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("thumbnails");
 * g_autoptr(GError) error = NULL;
 *
 * if (!tether_loop_manager_start (manager, "thumbnail", &error))
 *   {
 *     g_warning ("Could not start the manager: %s", error->message);
 *     return;
 *   }
 *
 * // Any thread may now submit work of task type "thumbnail".
 *
 * tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
 * ```
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
 *   %TETHER_STOP_MODE_DRAIN: queued work still runs. It never waits for that
 *   work, on any thread: the manager's thread finishes draining and exits by
 *   itself, and nobody joins it. [func@Tether.LoopManager.wait_detached]
 *   waits until every such thread has exited, for example before the
 *   program exits; call [method@Tether.LoopManager.stop] before dropping the
 *   manager to wait for one manager's work, or
 *   [method@Tether.LoopManager.stop_async] to hear when it is done without
 *   blocking (from a GTK thread, for one).
 * - A stop that waits (from a thread other than the manager's own) takes
 *   part in wait-cycle detection, like [method@Tether.Future.wait]: a stop
 *   that would wait for a manager whose work waits, directly or through
 *   other managers, for the stopping thread never blocks.
 * - The `func_data_destroy` of a submission runs on the manager's thread once
 *   the work has ended (on the submitter's thread, before the call returns,
 *   if the submission is rejected). In a process that hosts GJS it runs
 *   instead in the thread-default context the submitter had, because GJS
 *   can release a JavaScript function only on its own thread.
 * - A JavaScript function submitted from GJS is refused at once with
 *   %TETHER_ERROR_INVALID_ARGUMENT: GJS runs JavaScript only on its own
 *   thread, so it could never run on the manager's.
 * - A stopped or never-started manager holds no file descriptor (see
 *   [property@Tether.LoopManager:context]); when none is left,
 *   [method@Tether.LoopManager.start] fails with
 *   %G_IO_ERROR_TOO_MANY_OPEN_FILES instead of GLib aborting the process.
 *
 * After `fork()` (on Unix), in the child every manager inherited from the
 * parent is stopped, since its thread exists only in the parent: it reports
 * not running, refuses work with %TETHER_ERROR_NOT_RUNNING, stops and is
 * finalized without waiting, and can be started again, with a new context.
 * Tether holds all of its locks around `fork()` so that none is left held
 * in the child. Work accepted in the parent never ends in the child: do not
 * wait on its futures there. A child forked by work on a manager's own
 * thread should only exec() or _exit(). GLib's own locks (GObject's signal
 * and notification locks, GVariant's type table, the slice allocator before
 * 2.76) have no fork handlers: a child forked while another thread holds
 * one can hang in GLib. See the threading model document.
 *
 * Since: 1.0
 */

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
  PROP_DEBUG_FLAGS,
  PROP_SLOW_THRESHOLD,
  PROP_WAIT_SPIN,
  PROP_LOOP_SPIN,
  N_PROPS
};

static GParamSpec *properties [N_PROPS];

static void tether_loop_manager_executor_init (TetherExecutorInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TetherLoopManager, tether_loop_manager, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (TETHER_TYPE_EXECUTOR,
                                                      tether_loop_manager_executor_init))

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
  else if (!g_utf8_validate (self->id, -1, NULL))
    {
      char *valid = g_utf8_make_valid (self->id, -1);

      g_free (self->id);
      self->id = valid;
    }
  self->core = tether_core_new (self->id);
  tether_core_set_manager (self->core, self);
}

/* Stops in DRAIN mode without waiting, on any thread: the manager's thread
 * drains and exits by itself, unjoined, and is counted until it has exited
 * for tether_loop_manager_wait_detached(). Waiting here would block the
 * caller of the last unref on running work, which may need what the caller
 * holds (Python's GIL, for one). The core stays, so a disposed manager still
 * answers its methods. */
static void
manager_shut_down (TetherLoopManager *self)
{
  tether_core_request_stop (self->core, TETHER_STOP_MODE_DRAIN, NULL, NULL, NULL, NULL);
  tether_core_detach (self->core);
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

    case PROP_DEBUG_FLAGS:
      g_value_set_flags (value, tether_loop_manager_get_debug_flags (self));
      break;

    case PROP_SLOW_THRESHOLD:
      g_value_set_int64 (value, tether_loop_manager_get_slow_threshold (self));
      break;

    case PROP_WAIT_SPIN:
      g_value_set_int64 (value, tether_loop_manager_get_wait_spin (self));
      break;

    case PROP_LOOP_SPIN:
      g_value_set_int64 (value, tether_loop_manager_get_loop_spin (self));
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

    case PROP_DEBUG_FLAGS:
      tether_loop_manager_set_debug_flags (self, g_value_get_flags (value));
      break;

    case PROP_SLOW_THRESHOLD:
      tether_loop_manager_set_slow_threshold (self, g_value_get_int64 (value));
      break;

    case PROP_WAIT_SPIN:
      tether_loop_manager_set_wait_spin (self, g_value_get_int64 (value));
      break;

    case PROP_LOOP_SPIN:
      tether_loop_manager_set_loop_spin (self, g_value_get_int64 (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
tether_loop_manager_class_init (TetherLoopManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  tether_fork_init ();

  object_class->constructed = tether_loop_manager_constructed;
  object_class->dispose = tether_loop_manager_dispose;
  object_class->finalize = tether_loop_manager_finalize;
  object_class->get_property = tether_loop_manager_get_property;
  object_class->set_property = tether_loop_manager_set_property;

  /**
   * TetherLoopManager:id:
   *
   * The manager's name, used in error messages and its thread's name.
   * If none is given at construction, or an empty one, a unique
   * `manager-N` is chosen: an empty id means no id, here as in
   * [func@Tether.LoopManager.get_or_create]. An id is UTF-8: bytes that are
   * not valid UTF-8 are replaced with U+FFFD, as g_utf8_make_valid() does.
   * Messages quote at most its first 64 characters, then "…".
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
   * emitted on the thread that called start or stop: for a stop, as soon as
   * it begins, before the stop waits for the manager's thread. Dropping the
   * last reference emits nothing.
   *
   * Since: 1.0
   */
  properties [PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherLoopManager:context:
   *
   * The [struct@GLib.MainContext] the manager's thread runs.
   *
   * A context holds a file descriptor, so a manager makes it only when it
   * needs it: on its first start, or when this property or
   * [method@Tether.LoopManager.get_context] is first read. Once read, it is
   * the same for the manager's whole life, across restarts, and sources you
   * attach to it stay attached while the manager is stopped. A context that
   * was never handed out is dropped when the manager's thread exits, with
   * whatever work left attached to it, and the next start makes a new one:
   * a stopped manager then holds no descriptor.
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

  /**
   * TetherLoopManager:debug-flags:
   *
   * What the manager's debug mode reports, as [flags@Tether.DebugFlags]. The
   * default comes from the `TETHER_DEBUG` environment variable, read once
   * per process: a list of `slow`, `dropped`, `unretrieved` or `all`,
   * separated by commas, plus `slow-ms=N` for the default
   * [property@Tether.LoopManager:slow-threshold]; `help` lists the keys.
   * For example `TETHER_DEBUG=slow,dropped,slow-ms=20`. Each report is one
   * `g_log_structured()` warning in the `Tether` log domain, with the fields
   * `TETHER_MANAGER`, `TETHER_TASK_TYPE` and `TETHER_WORK` (the name given
   * with [method@Tether.Work.set_name], else the work function's symbol when
   * the dynamic linker knows it, else its module and offset). With no flags
   * set, debug mode costs one atomic load per job.
   *
   * Since: 1.0
   */
  properties [PROP_DEBUG_FLAGS] =
    g_param_spec_flags ("debug-flags", NULL, NULL,
                        TETHER_TYPE_DEBUG_FLAGS, TETHER_DEBUG_FLAGS_NONE,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherLoopManager:slow-threshold:
   *
   * How long, in microseconds, one work function may run before
   * %TETHER_DEBUG_FLAGS_SLOW reports it, once it has returned. The default is
   * 100 ms, or what `slow-ms=N` in `TETHER_DEBUG` says.
   *
   * Since: 1.0
   */
  properties [PROP_SLOW_THRESHOLD] =
    g_param_spec_int64 ("slow-threshold", NULL, NULL, 0, G_MAXINT64, 100 * 1000,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherLoopManager:wait-spin:
   *
   * How long, in microseconds, [method@Tether.Future.wait] on this manager's
   * futures polls before it sleeps. Spinning trades a CPU for latency: a
   * result that arrives within the spin is seen in well under a microsecond,
   * instead of after a futex wake-up (several microseconds). 0, the default,
   * sleeps at once.
   *
   * Since: 1.0
   */
  properties [PROP_WAIT_SPIN] =
    g_param_spec_int64 ("wait-spin", NULL, NULL, 0, G_USEC_PER_SEC, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * TetherLoopManager:loop-spin:
   *
   * How long, in microseconds, the manager's thread polls its queue before
   * blocking in `poll()` when it runs out of work. Work submitted within the
   * spin starts without a wake-up. The spin also polls the context's
   * descriptors, without blocking, every 10 microseconds, so other
   * sources attached to the context (and a g_main_context_wakeup() from
   * another thread) end it as well. A spinning thread keeps a CPU busy, so
   * it is 0 (off) by default. An idle manager spins once after its
   * last job and then sleeps: it makes no wake-ups while idle.
   *
   * Since: 1.0
   */
  properties [PROP_LOOP_SPIN] =
    g_param_spec_int64 ("loop-spin", NULL, NULL, 0, G_USEC_PER_SEC, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
tether_loop_manager_init (TetherLoopManager *self)
{
}

/**
 * tether_loop_manager_new:
 * @id: (nullable): the manager's name, or %NULL (or "") for a generated one
 *
 * Creates a stopped manager. Call [method@Tether.LoopManager.start] before
 * submitting work. See [property@Tether.LoopManager:id] for what an id may
 * be.
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
 * Once the manager's last reference has been dropped, its thread may still
 * be draining queued work (see [func@Tether.LoopManager.wait_detached]):
 * that work gets %NULL here, since the manager object is gone. It can still
 * learn the manager's id with [func@Tether.LoopManager.dup_current_id] and
 * add exit functions with
 * [func@Tether.LoopManager.add_current_exit_func].
 *
 * Returns: (transfer full) (nullable): the manager running on this thread,
 *   or %NULL if this is not a manager's thread or the manager is gone
 *
 * Since: 1.0
 */
TetherLoopManager *
tether_loop_manager_ref_current (void)
{
  TetherCore *core = tether_core_get_current ();

  return core != NULL ? tether_core_ref_manager (core) : NULL;
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

  ret = tether_core_dup_task_type (self->core);

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

  ret = tether_core_is_running (self->core);

  return ret;
}

/**
 * tether_loop_manager_get_context:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the context the manager's thread runs, to attach your own sources.
 * It is made now if the manager has none, and from then on it is the
 * manager's for its whole life, across restarts; see
 * [property@Tether.LoopManager:context]. Like g_main_context_new(), this
 * aborts if the process has no file descriptor left for it.
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

  return tether_core_get_context (self->core);
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
 * waits for it to finish first. That wait takes part in wait-cycle
 * detection, like a stop's: on another manager's thread, if the stopping
 * manager's work waits (directly or through other managers) for the calling
 * manager, it fails with %TETHER_ERROR_WOULD_DEADLOCK instead.
 *
 * Thread: any thread but the manager's own.
 *
 * The manager's context needs a file descriptor (see
 * [property@Tether.LoopManager:context]). If the process has none left,
 * this fails with %G_IO_ERROR_TOO_MANY_OPEN_FILES and the process goes on;
 * stopped and never-started managers hold none, so stopping or freeing
 * some makes room. The check is made just before the context is; another
 * thread of the application that takes the last descriptors in between
 * can still make GLib abort.
 *
 * Returns: %TRUE on success; %FALSE with %TETHER_ERROR_ALREADY_RUNNING if it
 *   runs (or is stopping and this is its own thread),
 *   %TETHER_ERROR_WOULD_DEADLOCK (see above), a %G_THREAD_ERROR if no
 *   thread could be made, or a %G_IO_ERROR (usually
 *   %G_IO_ERROR_TOO_MANY_OPEN_FILES) if no file descriptor could be had
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_start (TetherLoopManager  *self,
                           const char         *task_type,
                           GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!tether_core_start (self->core, task_type, error))
    return FALSE;

  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_TASK_TYPE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_RUNNING]);

  return TRUE;
}

gboolean
tether_loop_manager_ensure_started (TetherLoopManager  *self,
                                    const char         *task_type,
                                    GError            **error)
{
  gboolean started;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!tether_core_ensure_started (self->core, task_type, &started, error))
    return FALSE;

  /* Only the caller that started it says so, as start() would have. */
  if (started)
    {
      g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_TASK_TYPE]);
      g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_RUNNING]);
    }

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
 * From another manager's thread it blocks the same way, and that wait takes
 * part in wait-cycle detection, like [method@Tether.Future.wait]: if the
 * stopped manager's work waits, directly or through other managers, for the
 * manager whose thread calls this (work on A blocked in
 * [method@Tether.Future.wait] on a future of B, and work on B stopping A),
 * waiting would deadlock, so this begins the stop and returns at once, as on
 * the manager's own thread. The stopped manager then finishes on its own:
 * in %TETHER_STOP_MODE_DRAIN once the work it waits for has run, in
 * %TETHER_STOP_MODE_CANCEL at once (see below). Its thread is joined by the
 * next stop, start or last unref. While this call does block, a
 * [method@Tether.Future.wait] by the stopped manager's work on the stopping
 * manager's work would close a cycle and fails with
 * %TETHER_ERROR_WOULD_DEADLOCK.
 *
 * The mode is applied on the calling thread before this waits: in
 * %TETHER_STOP_MODE_CANCEL queued work ends cancelled at once and the
 * cancellable of running work fires, even if that work keeps the manager's
 * thread busy without returning to its loop. If that work is blocked in
 * [method@Tether.Future.wait] on another manager's future, the wait ends with
 * %G_IO_ERROR_CANCELLED (the future it waited for is left alone), so that
 * the work can return.
 *
 * The [property@Tether.LoopManager:running] property is notified, on the
 * calling thread, as soon as the stop has begun and before this waits:
 * [method@Tether.LoopManager.is_running] already returns %FALSE then.
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
  g_autofree char *cycle = NULL;
  gboolean began;
  guint generation;

  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail (mode == TETHER_STOP_MODE_DRAIN || mode == TETHER_STOP_MODE_CANCEL);

  began = tether_core_request_stop (self->core, mode, NULL, &generation, NULL, NULL);
  /* is_running() says FALSE from here: say so now, not after the join. */
  if (began)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_RUNNING]);

  /* The manager's own thread cannot wait for itself, and another manager's
   * thread waits only where that closes no cycle. */
  if (!tether_core_is_current (self->core) &&
      tether_core_begin_stop_wait (self->core, &cycle))
    {
      tether_core_wait_stopped (self->core, generation, -1);
      tether_core_end_wait ();
    }
}

/* What a stop_async() with a callback waits with. The call, the exit
 * function on the manager's thread and the cancellable's handler each hold
 * a reference; whichever ends the wait first (the compare-and-swap on
 * @ended) returns the task. */
typedef struct
{
  GTask        *task;         /* returned and dropped by the winner of @ended */
  GCancellable *cancellable;
  gpointer      handler;      /* atomic: the handler's id, taken by whoever disconnects it */
  TetherCore   *core;
  int           ended;        /* atomic */
  gboolean      second_round; /* manager's thread: the exit function has gone last once */
} StopWait;

static StopWait *
stop_wait_ref (StopWait *wait)
{
  return g_atomic_rc_box_acquire (wait);
}

static void
stop_wait_clear (gpointer data)
{
  StopWait *wait = data;

  g_assert (wait->task == NULL);
  g_clear_object (&wait->cancellable);
  tether_core_unref (wait->core);
}

static void
stop_wait_unref (gpointer data)
{
  g_atomic_rc_box_release_full (data, stop_wait_clear);
}

/* Never on the thread that runs the handler, which would deadlock in
 * g_cancellable_disconnect(): the call and the exit function do it. */
static void
stop_wait_disconnect (StopWait *wait)
{
  gulong handler = GPOINTER_TO_SIZE (g_atomic_pointer_exchange (&wait->handler, NULL));

  if (handler != 0)
    g_cancellable_disconnect (wait->cancellable, handler);
}

/* Takes the task if this call is the one that ends the wait. */
static GTask *
stop_wait_take (StopWait *wait)
{
  if (!g_atomic_int_compare_and_exchange (&wait->ended, FALSE, TRUE))
    return NULL;
  return g_steal_pointer (&wait->task);
}

/* An outcome on its way to the task's context, with the only reference
 * to the task: returned there, from this idle, so that the callback never
 * runs inside stop_async() or g_cancellable_cancel(), and the task (with
 * its reference to the manager) is released in that context, not on the
 * manager's thread after the callback has run (see task_return_in_context()
 * in tether-job.c). */
typedef struct
{
  GTask  *task;
  GError *error;
} StopReturn;

static gboolean
stop_return_cb (gpointer data)
{
  StopReturn *ret = data;

  if (ret->error != NULL)
    g_task_return_error (ret->task, g_steal_pointer (&ret->error));
  else
    g_task_return_boolean (ret->task, TRUE);
  return G_SOURCE_REMOVE;
}

static void
stop_return_free (gpointer data)
{
  StopReturn *ret = data;

  g_clear_error (&ret->error);
  g_object_unref (ret->task);
  g_free (ret);
}

static void
stop_return_in_context (GTask  *task,
                        GError *error)
{
  StopReturn *ret = g_new (StopReturn, 1);
  GSource *source = g_idle_source_new ();

  ret->task = task;
  ret->error = error;
  g_source_set_priority (source, g_task_get_priority (task));
  g_source_set_static_name (source, "[tether] stop result");
  g_source_set_callback (source, stop_return_cb, ret, stop_return_free);
  /* The idle may return the task, and the task drop its context, first. */
  tether_attach_and_unref (source, g_task_get_context (task));
}

static void
stop_wait_cancelled (GCancellable *cancellable,
                     gpointer      data)
{
  GTask *task = stop_wait_take (data);

  if (task == NULL)
    return;
  stop_return_in_context (task,
                          g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                       _("The wait for manager '%s' to stop was cancelled; the "
                                         "stop goes on"),
                                       tether_core_get_label (((StopWait *) data)->core)));
}

/* The stop stopped: in stop_async() when the run had already ended, or on
 * the manager's thread, among its exit functions (@on_exit). */
static void
stop_wait_succeed (StopWait *wait,
                   gboolean  on_exit)
{
  GTask *task;
  GMainContext *context;

  stop_wait_disconnect (wait);
  task = stop_wait_take (wait);
  if (task == NULL)
    return;

  context = g_task_get_context (task);
  if (on_exit && context == g_main_context_get_thread_default ())
    {
      /* stop_async() was called on the manager's own thread, whose loop
       * has quit: nothing would dispatch the task's idle. Dispatch it here,
       * the thread's last act on its context, before the context goes. */
      g_task_set_priority (task, G_PRIORITY_HIGH);
      g_task_return_boolean (task, TRUE);
      while (!g_task_get_completed (task))
        g_main_context_iteration (context, FALSE);
      g_object_unref (task);
    }
  else
    {
      stop_return_in_context (task, NULL);
    }
}

/* Manager's thread, after its loop has quit. The first call is made among
 * the exit functions registered before it (it is the newest, so it runs
 * first); it goes again into the next round, so that the callback hears of
 * the stop once they have all run. */
static void
stop_wait_on_exit (gpointer data)
{
  StopWait *wait = data;

  if (!wait->second_round)
    {
      wait->second_round = TRUE;
      if (tether_core_add_exit_func (wait->core, stop_wait_on_exit, stop_wait_ref (wait),
                                     stop_wait_unref, NULL))
        return;
      stop_wait_unref (wait);
    }
  stop_wait_succeed (wait, TRUE);
}

/**
 * tether_loop_manager_stop_async:
 * @self: a [class@Tether.LoopManager]
 * @mode: what happens to work accepted before the stop, as in
 *   [method@Tether.LoopManager.stop]
 * @cancellable: (nullable): a [class@Gio.Cancellable] that abandons the wait
 *   (never the stop)
 * @callback: (nullable): called once the manager has stopped, in the
 *   thread-default main context of the calling thread
 * @user_data: data for @callback
 *
 * Stops the manager as [method@Tether.LoopManager.stop] does, without
 * blocking: the stop begins, and @mode is applied, before this returns;
 * @callback runs once the manager's thread has finished: every accepted
 * submission has ended and the exit functions registered before the stop
 * have run. Call [method@Tether.LoopManager.stop_finish] from it.
 *
 * The [property@Tether.LoopManager:running] property is notified on the
 * calling thread, inside this call, as soon as the stop has begun. The
 * callback never runs inside this call, even when the manager is already
 * stopped (then it runs on the next iteration of the context).
 *
 * Concurrent stops and stop_async() calls all end with the same shutdown;
 * if any asks for %TETHER_STOP_MODE_CANCEL, cancel wins, even over a drain
 * already under way. A stop_async() of a stopped manager (or one whose stop
 * has already finished) completes with %TRUE. The callback is about the run
 * that was current when this was called: if another thread starts the
 * manager again before the callback runs, the manager is running again by
 * then.
 *
 * Cancelling @cancellable abandons the wait, not the stop: the callback
 * then runs soon, and stop_finish() fails with %G_IO_ERROR_CANCELLED, while
 * the manager goes on stopping.
 *
 * This never blocks, so it may be called where [method@Tether.LoopManager.stop]
 * would wait too long or could not wait: the GTK thread, or work on the
 * manager itself. Called on the manager's own thread, the callback runs on
 * that thread, in the manager's context, as the last of its exit functions
 * (that context has stopped running its loop by then): from there, start
 * the manager again from another thread, not from the callback. The
 * manager's thread is joined by the next start, stop or last unref, as
 * after a stop made on the manager's own thread.
 *
 * For example, closing a window without freezing it:
 *
 * ```c
 * static void
 * manager_stopped (GObject      *source,
 *                  GAsyncResult *result,
 *                  gpointer      user_data)
 * {
 *   g_autoptr(MyWindow) self = user_data;
 *
 *   tether_loop_manager_stop_finish (TETHER_LOOP_MANAGER (source), result, NULL);
 *   gtk_window_destroy (GTK_WINDOW (self));
 * }
 *
 * static gboolean
 * on_close_request (MyWindow *self)
 * {
 *   gtk_widget_set_sensitive (GTK_WIDGET (self), FALSE);
 *   tether_loop_manager_stop_async (self->manager, TETHER_STOP_MODE_CANCEL, NULL,
 *                                   manager_stopped, g_object_ref (self));
 *   return TRUE;   // closed by manager_stopped()
 * }
 * ```
 *
 * Thread: any thread, the manager's own included.
 *
 * Since: 1.0
 */
void
tether_loop_manager_stop_async (TetherLoopManager   *self,
                                TetherStopMode       mode,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  StopWait *wait;
  guint generation, current;
  gboolean ended = FALSE;

  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail (mode == TETHER_STOP_MODE_DRAIN || mode == TETHER_STOP_MODE_CANCEL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (tether_core_request_stop (self->core, mode, NULL, &generation, NULL, NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_RUNNING]);
  if (callback == NULL)
    return;

  wait = g_atomic_rc_box_new0 (StopWait);
  wait->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (wait->task, tether_loop_manager_stop_async);
  g_task_set_name (wait->task, "[tether] stop");
  wait->core = tether_core_ref (self->core);
  if (cancellable != NULL)
    {
      gulong handler;

      wait->cancellable = g_object_ref (cancellable);
      handler = g_cancellable_connect (cancellable, G_CALLBACK (stop_wait_cancelled),
                                       stop_wait_ref (wait), stop_wait_unref);
      g_atomic_pointer_set (&wait->handler, GSIZE_TO_POINTER (handler));
    }

  /* The exit function joins the run current now. If that is the run this
   * stop applies to (still current below), it hears the end of it; if that
   * run has already gone (ended, or ended and another started), the stop
   * is over now, and an exit function added to a later run does nothing. */
  if (!tether_core_add_exit_func (self->core, stop_wait_on_exit, stop_wait_ref (wait),
                                  stop_wait_unref, NULL))
    {
      stop_wait_unref (wait);
      ended = TRUE;
    }
  else
    {
      /* Changes nothing: that run is stopping or stopped, and a DRAIN
       * request never downgrades a stop. It only says whether it is
       * current. */
      current = generation + 1;
      tether_core_request_stop (self->core, TETHER_STOP_MODE_DRAIN, &generation, &current,
                                NULL, NULL);
      ended = current != generation;
    }
  if (ended)
    stop_wait_succeed (wait, FALSE);
  stop_wait_unref (wait);
}

/**
 * tether_loop_manager_stop_finish:
 * @self: a [class@Tether.LoopManager]
 * @result: the [iface@Gio.AsyncResult] given to the callback
 * @error: return location for an error
 *
 * Finishes [method@Tether.LoopManager.stop_async].
 *
 * Thread: the thread of the callback.
 *
 * Returns: %TRUE once the manager has stopped; %FALSE with
 *   %G_IO_ERROR_CANCELLED if the wait was abandoned through its cancellable
 *   (the stop still goes on)
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_stop_finish (TetherLoopManager  *self,
                                 GAsyncResult       *result,
                                 GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tether_loop_manager_stop_async,
                        FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
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
 * Like [method@Tether.LoopManager.stop], the wait takes part in wait-cycle
 * detection. On another manager's thread, if the stopped manager's work
 * waits, directly or through other managers, for the calling manager, this
 * could never return: it fails at once with %TETHER_ERROR_WOULD_DEADLOCK and
 * stops nothing, as on the manager's own thread, because a deadline nobody
 * is left to enforce would be a broken promise. Call
 * [method@Tether.LoopManager.stop] there instead, which begins the stop and
 * returns. While this call waits, a [method@Tether.Future.wait] by the
 * stopped manager's work on the calling manager's work fails with
 * %TETHER_ERROR_WOULD_DEADLOCK, and once the deadline has passed, a wait by
 * the stopped manager's running work on any future ends with
 * %G_IO_ERROR_CANCELLED, as in a %TETHER_STOP_MODE_CANCEL stop.
 *
 * The [property@Tether.LoopManager:running] property is notified as soon as
 * the stop has begun, on the calling thread, before this waits.
 *
 * Thread: any thread but the manager's own, where it would wait for itself:
 * there it fails with %TETHER_ERROR_WOULD_DEADLOCK and stops nothing.
 *
 * Returns: %TRUE once the manager has stopped; %FALSE with
 *   %TETHER_ERROR_WOULD_DEADLOCK, having stopped nothing, on the manager's
 *   own thread or where waiting would close a cycle
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
  g_autofree char *cycle = NULL;
  gint64 deadline;
  gboolean began;
  guint generation;
  gsize posts[2];
  guint ran = 0, cancelled = 0;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (timeout_usec >= -1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (tether_core_is_current (self->core))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                   _("LoopManager.stop_within() on the own thread of manager '%s' cannot wait "
                     "for itself; use LoopManager.stop() there, or stop it from another thread"),
                   tether_core_get_id (self->core));
      return FALSE;
    }

  /* Registered before the stop begins: from here a wait by the stopped
   * manager's work on this thread's manager is refused. */
  if (!tether_core_begin_stop_wait (self->core, &cycle))
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_WOULD_DEADLOCK,
                   _("LoopManager.stop_within() would deadlock: %s each wait for the next, so "
                     "manager '%s' cannot stop while this thread waits; nothing was stopped: use "
                     "LoopManager.stop() here, or stop it from another thread"),
                   cycle, tether_core_get_id (self->core));
      return FALSE;
    }

  deadline = timeout_usec < 0 ? -1 : tether_time_after (timeout_usec);
  began = tether_core_request_stop (self->core, TETHER_STOP_MODE_DRAIN, NULL, &generation,
                                    &live, posts);
  if (began)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_RUNNING]);
  if (!tether_core_wait_stopped (self->core, generation, deadline))
    {
      /* Only the run this call stopped is escalated, never a later one. */
      tether_core_request_stop (self->core, TETHER_STOP_MODE_CANCEL, &generation, NULL, NULL, NULL);
      tether_core_wait_stopped (self->core, generation, -1);
    }
  tether_core_end_wait ();

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
  /* Posts are counted, not tracked: those that ended during the stop. */
  {
    gsize posts_ran, posts_dropped;

    tether_core_get_post_counts (self->core, &posts_ran, &posts_dropped);
    ran += posts_ran - posts[0];
    cancelled += posts_dropped - posts[1];
  }
  if (n_ran != NULL)
    *n_ran = ran;
  if (n_cancelled != NULL)
    *n_cancelled = cancelled;

  return TRUE;
}

/**
 * tether_loop_manager_wait_detached:
 * @timeout_usec: how long to wait, in microseconds; -1 for no limit, 0
 *   only checks
 *
 * Waits until every manager thread that was left to finish on its own has
 * exited. Dropping the last reference to a running manager stops it in
 * %TETHER_STOP_MODE_DRAIN without waiting: its thread drains the accepted
 * work and exits unjoined. Call this before the program exits (or, in a
 * test, before checking for leaks or for work that must have run) to let
 * that work finish and the threads release what they hold. Threads stopped
 * with [method@Tether.LoopManager.stop] are not counted: that call waits for
 * its thread itself.
 *
 * From Python, the GIL is released while this waits, so that the draining
 * threads can run queued Python work.
 *
 * Thread: any thread that is not a manager's thread. A manager's thread
 * could be waiting for its own drain, or for a drain whose work waits for
 * it; calling this there is a programmer error: it returns %FALSE at once
 * with a critical.
 *
 * Returns: %TRUE once no such thread is left; %FALSE if @timeout_usec
 *   passed first
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_wait_detached (gint64 timeout_usec)
{
  g_return_val_if_fail (timeout_usec >= -1, FALSE);
  g_return_val_if_fail (tether_core_get_current () == NULL, FALSE);

  return tether_detached_wait (timeout_usec < 0 ? -1 : tether_time_after (timeout_usec));
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
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), 0);

  return (guint) tether_core_get_setting (self->core, TETHER_CORE_MAX_PENDING);
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

  changed = tether_core_set_setting (self->core, TETHER_CORE_MAX_PENDING, max_pending);

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

  ret = tether_core_get_setting (self->core, TETHER_CORE_SUBMIT_TIMEOUT);
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
 * On another manager's thread the wait for room takes part in wait-cycle
 * detection, like [method@Tether.Future.wait]: if this manager's thread
 * waits, directly or through other managers, for the calling manager, the
 * submission fails at once with %TETHER_ERROR_WOULD_DEADLOCK (and a wait by
 * this manager's work on the blocked caller's manager is refused the same
 * way). A %TETHER_STOP_MODE_CANCEL stop of the calling manager (or the
 * deadline of its [method@Tether.LoopManager.stop_within]) ends the wait
 * with %TETHER_ERROR_BUSY, as a timeout would, so that the cancelled work
 * can return. In every case nothing is submitted, and `func_data_destroy`
 * runs before the call returns.
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

  changed = tether_core_set_setting (self->core, TETHER_CORE_SUBMIT_TIMEOUT, timeout_usec);

  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_SUBMIT_TIMEOUT]);
}

/**
 * tether_loop_manager_get_n_pending:
 * @self: a [class@Tether.LoopManager]
 *
 * Counts the submissions waiting in the queue, as
 * [property@Tether.LoopManager:max-pending] counts them. The answer is the
 * count at one instant during the call, or, when the manager's thread takes
 * work too fast for that, a count no higher than the one at some instant:
 * it never counts a submission twice, so it never exceeds a max-pending
 * that has not been lowered meanwhile. It may be out of date as soon as it
 * returns.
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
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), 0);

  return tether_core_get_n_pending (self->core);
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
               int                 priority,
               gint64              ready_time,
               GCancellable       *cancellable,
               TetherWorkFunc      func,
               gpointer            func_data,
               GDestroyNotify      func_data_destroy,
               GError            **error)
{
  TetherJob *job = tether_core_new_job (self->core, TETHER_JOB_KIND_FUTURE);
  TetherFuture *future = tether_future_new (job);
  GError *local_error = NULL;

  tether_job_set_func (job, func, func_data, func_data_destroy);
  tether_job_attach_sink (job, future, &tether_future_sink);

  if (!tether_core_accept (self->core, job, task_type, priority, cancellable, ready_time,
                           &local_error))
    {
      g_propagate_error (error, g_error_copy (local_error));
      reject (job, local_error);
      g_object_unref (future);
      return NULL;
    }

  return future;
}

/**
 * tether_loop_manager_dup_stats:
 * @self: a [class@Tether.LoopManager]
 *
 * Takes a snapshot of the manager's health, as a `a{sv}` dictionary:
 *
 * - `submitted` (`t`): submissions accepted, timers included
 * - `completed` (`t`): ended with a value (fire-and-forget: ran)
 * - `failed` (`t`): ended with an error other than cancellation
 * - `cancelled` (`t`): ended with %G_IO_ERROR_CANCELLED, or dropped unrun
 * - `rejected` (`t`): refused at submission (not running, wrong task type,
 *   queue full, JavaScript work)
 * - `queued` (`u`): accepted, not yet taken by the manager's thread
 * - `running` (`u`): started and not yet ended, including work that
 *   returned early and will finish later through its [class@Tether.Work]
 * - `wakeups` (`t`): how many times a submission had to wake the manager's
 *   thread from `poll()`. Submissions that find it busy, or spinning, wake
 *   nothing, so a burst costs one wake-up; far fewer wake-ups than
 *   submissions means work arrives in batches.
 * - `waiting-for-room` (`u`): submitters blocked right now waiting for room
 *   in a full queue (see [property@Tether.LoopManager:submit-timeout])
 * - `queue-high-water` (`u`): the deepest queue seen, either by the
 *   manager's thread when it came back for more work or by this call
 * - `latency-samples` (`u`): how many jobs the percentiles below cover: the
 *   latest 1024 sampled jobs. Futures, async results and timers are all
 *   sampled; fire-and-forget posts one in 16, because reading the clock for
 *   each would cost more than the post itself.
 * - `queue-wait-p50-usec`, `queue-wait-p90-usec`, `queue-wait-p99-usec`
 *   (`x`): time from acceptance (for timers, from the time they were due)
 *   to start, in microseconds; 0 with no samples
 * - `run-time-p50-usec`, `run-time-p90-usec`, `run-time-p99-usec` (`x`):
 *   time the work function took to return, in microseconds
 *
 * Counters survive restarts. Each value is read atomically but the set is
 * not one instant: a job may show as completed and still queued. A job is
 * counted as ended before its outcome is delivered, but its latency sample
 * is recorded once its function has returned, which can be just after a
 * waiter saw the future complete.
 *
 * From Python, `manager.dup_stats().unpack()` gives a dict; from GJS,
 * `manager.dup_stats().recursiveUnpack()` an object.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a new `a{sv}` [struct@GLib.Variant], not floating
 *
 * Since: 1.0
 */
GVariant *
tether_loop_manager_dup_stats (TetherLoopManager *self)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);

  return tether_core_dup_stats (self->core);
}

/* The four tuning knobs are plain atomics: the hot paths read them without
 * any lock. The spins are ints (at most a second); the slow threshold is a
 * gssize, as GLib has no 64-bit atomics (see set_slow_threshold()). */
/**
 * tether_loop_manager_get_debug_flags:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the [property@Tether.LoopManager:debug-flags].
 *
 * Thread: any thread.
 *
 * Returns: the flags
 *
 * Since: 1.0
 */
TetherDebugFlags
tether_loop_manager_get_debug_flags (TetherLoopManager *self)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), TETHER_DEBUG_FLAGS_NONE);

  return (TetherDebugFlags) tether_core_get_setting (self->core, TETHER_CORE_DEBUG_FLAGS);
}

/**
 * tether_loop_manager_set_debug_flags:
 * @self: a [class@Tether.LoopManager]
 * @flags: what to report
 *
 * Sets the [property@Tether.LoopManager:debug-flags], overriding
 * `TETHER_DEBUG` for this manager.
 *
 * Thread: any thread; takes effect for the next job.
 *
 * Since: 1.0
 */
void
tether_loop_manager_set_debug_flags (TetherLoopManager *self,
                                     TetherDebugFlags   flags)
{
  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail ((flags & ~(TETHER_DEBUG_FLAGS_SLOW | TETHER_DEBUG_FLAGS_DROPPED |
                               TETHER_DEBUG_FLAGS_UNRETRIEVED)) == 0);

  if (tether_core_set_setting (self->core, TETHER_CORE_DEBUG_FLAGS, flags))
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_DEBUG_FLAGS]);
}

/**
 * tether_loop_manager_get_slow_threshold:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the [property@Tether.LoopManager:slow-threshold].
 *
 * Thread: any thread.
 *
 * Returns: the threshold in microseconds
 *
 * Since: 1.0
 */
gint64
tether_loop_manager_get_slow_threshold (TetherLoopManager *self)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), 0);

  return tether_core_get_setting (self->core, TETHER_CORE_SLOW_THRESHOLD);
}

/**
 * tether_loop_manager_set_slow_threshold:
 * @self: a [class@Tether.LoopManager]
 * @threshold_usec: the threshold in microseconds (>= 0)
 *
 * Sets the [property@Tether.LoopManager:slow-threshold]. Where pointers
 * are 32 bits wide, a threshold over %G_MAXSSIZE microseconds (about 35
 * minutes) is taken as %G_MAXSSIZE.
 *
 * Thread: any thread; takes effect for the next job.
 *
 * Since: 1.0
 */
void
tether_loop_manager_set_slow_threshold (TetherLoopManager *self,
                                        gint64             threshold_usec)
{
  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail (threshold_usec >= 0);

  if (tether_core_set_setting (self->core, TETHER_CORE_SLOW_THRESHOLD, threshold_usec))
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_SLOW_THRESHOLD]);
}

/**
 * tether_loop_manager_get_wait_spin:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the [property@Tether.LoopManager:wait-spin].
 *
 * Thread: any thread.
 *
 * Returns: the spin in microseconds
 *
 * Since: 1.0
 */
gint64
tether_loop_manager_get_wait_spin (TetherLoopManager *self)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), 0);

  return tether_core_get_setting (self->core, TETHER_CORE_WAIT_SPIN);
}

/**
 * tether_loop_manager_set_wait_spin:
 * @self: a [class@Tether.LoopManager]
 * @spin_usec: how long a blocking wait polls before sleeping, in
 *   microseconds, from 0 (never) to one second
 *
 * Sets the [property@Tether.LoopManager:wait-spin].
 *
 * Thread: any thread; takes effect for the next wait.
 *
 * Since: 1.0
 */
void
tether_loop_manager_set_wait_spin (TetherLoopManager *self,
                                   gint64             spin_usec)
{
  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail (spin_usec >= 0 && spin_usec <= G_USEC_PER_SEC);

  if (tether_core_set_setting (self->core, TETHER_CORE_WAIT_SPIN, spin_usec))
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_WAIT_SPIN]);
}

/**
 * tether_loop_manager_get_loop_spin:
 * @self: a [class@Tether.LoopManager]
 *
 * Gets the [property@Tether.LoopManager:loop-spin].
 *
 * Thread: any thread.
 *
 * Returns: the spin in microseconds
 *
 * Since: 1.0
 */
gint64
tether_loop_manager_get_loop_spin (TetherLoopManager *self)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), 0);

  return tether_core_get_setting (self->core, TETHER_CORE_LOOP_SPIN);
}

/**
 * tether_loop_manager_set_loop_spin:
 * @self: a [class@Tether.LoopManager]
 * @spin_usec: how long the manager's thread polls its queue before
 *   sleeping, in microseconds, from 0 (never) to one second
 *
 * Sets the [property@Tether.LoopManager:loop-spin].
 *
 * While the spin is above 0, the manager's context polls through Tether's
 * own poll function (see g_main_context_set_poll_func()), which spins, then
 * calls g_poll(); at 0, the default, the context keeps GLib's. A program
 * that installs its own poll function on the manager's context must leave
 * the spin at 0.
 *
 * Thread: any thread; takes effect as the manager's thread next prepares an
 * iteration of its context.
 *
 * Since: 1.0
 */
void
tether_loop_manager_set_loop_spin (TetherLoopManager *self,
                                   gint64             spin_usec)
{
  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail (spin_usec >= 0 && spin_usec <= G_USEC_PER_SEC);

  if (tether_core_set_setting (self->core, TETHER_CORE_LOOP_SPIN, spin_usec))
    g_object_notify_by_pspec (G_OBJECT (self), properties [PROP_LOOP_SPIN]);
}

/**
 * tether_loop_manager_submit:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data on the manager's thread
 *   once the work has ended, or before this returns if it is rejected
 * @cancellable: (nullable): cancels the work: before it starts it never
 *   runs; while it runs its [method@Tether.Work.get_cancellable] fires
 * @error: return location for an error
 *
 * Queues @func to run on the manager's thread, and returns a future for its
 * outcome. The work is queued even when this is called on the manager's own
 * thread; it never runs inside this call.
 *
 * To read a file on the manager's thread and block for its contents:
 *
 * ```c
 * static void
 * load_work (TetherWork *work,
 *            gpointer    user_data)
 * {
 *   const char *path = user_data;
 *   g_autofree char *contents = NULL;
 *   GError *error = NULL;
 *
 *   if (g_file_get_contents (path, &contents, NULL, &error))
 *     tether_work_return_string (work, contents);
 *   else
 *     tether_work_return_error (work, error);
 * }
 *
 * static char *
 * load_file (TetherLoopManager  *manager,
 *            const char         *path,
 *            GError            **error)
 * {
 *   g_autoptr(TetherFuture) future = NULL;
 *
 *   future = tether_loop_manager_submit (manager, "io", load_work,
 *                                        g_strdup (path), g_free, NULL, error);
 *   if (future == NULL || !tether_future_wait (future, 5 * G_USEC_PER_SEC, NULL, error))
 *     return NULL;
 *
 *   return tether_future_dup_string (future, error);
 * }
 * ```
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with
 *   %TETHER_ERROR_NOT_RUNNING, %TETHER_ERROR_UNKNOWN_TASK_TYPE,
 *   %TETHER_ERROR_BUSY (the queue is at its
 *   [property@Tether.LoopManager:max-pending]),
 *   %TETHER_ERROR_WOULD_DEADLOCK (a wait for room that would close a cycle,
 *   see [method@Tether.LoopManager.set_submit_timeout]) or
 *   %TETHER_ERROR_INVALID_ARGUMENT (a JavaScript function), in which case
 *   @func never runs
 *
 * Since: 1.0
 */
TetherFuture *
tether_loop_manager_submit (TetherLoopManager  *self,
                            const char         *task_type,
                            TetherWorkFunc      func,
                            gpointer            func_data,
                            GDestroyNotify      func_data_destroy,
                            GCancellable       *cancellable,
                            GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return submit_future (self, task_type, G_PRIORITY_DEFAULT, -1, cancellable,
                        func, func_data, func_data_destroy, error);
}

/**
 * tether_loop_manager_call:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @func: (scope call) (closure func_data): the work
 * @func_data: data for @func, borrowed for the call
 * @cancellable: (nullable): cancels the work: before it starts it never
 *   runs; while it runs its [method@Tether.Work.get_cancellable] fires
 * @result: (out caller-allocates) (optional): an uninitialized
 *   [struct@GObject.Value] that receives what @func returned with a
 *   `return_*()` method of its [class@Tether.Work]. It is always
 *   initialized when this returns: to a %G_TYPE_POINTER value holding
 *   %NULL if @func returned no value (`tether_work_return_value (work,
 *   NULL)`) or the call failed
 * @error: return location for an error
 *
 * Runs @func on the manager's thread and blocks until it has ended: the
 * blocking round trip of [method@Tether.LoopManager.submit] and
 * [method@Tether.Future.wait] in one call, without a future. @func is the
 * same kind of function as submit()'s and ends the same way, through its
 * [class@Tether.Work]; it is queued in order with other work, counted in the
 * manager's stats, and waited for with the manager's
 * [property@Tether.LoopManager:wait-spin].
 *
 * This call returns only once @func is not running and never will, so
 * @func and @func_data are borrowed, not owned (no destroy notify):
 *
 * - there is no timeout: a call whose work must be abandoned after a while
 *   is a submission and a timed wait;
 * - @cancellable ends a call at once while the work is still queued (it
 *   never runs; %G_IO_ERROR_CANCELLED), and while it runs only asks it to
 *   stop: the call still waits for @func to return;
 * - a [class@Tether.Work] that @func keeps, to return later from another
 *   thread, makes the call wait for that return; if @func returns a value
 *   and goes on running, the call waits for it to return as well.
 *
 * From Python the GIL is released for the whole call, so the manager's
 * thread runs Python work without waiting for it; see the override's
 * `LoopManager.call(fn, *args)`, which returns what `fn` returns.
 *
 * The same waits are refused as by [method@Tether.Future.wait]: on the
 * manager's own thread it fails at once with %TETHER_ERROR_WOULD_DEADLOCK,
 * and so does a call that would close a cycle of managers waiting on each
 * other (then the work is withdrawn before it runs). On a manager's thread,
 * a stop of that manager in %TETHER_STOP_MODE_CANCEL cancels the work
 * called for (it ends at once if still queued) and the call returns when it
 * has ended.
 *
 * For example, reading a setting that only the manager's thread may touch:
 *
 * ```c
 * static void
 * read_setting (TetherWork *work,
 *               gpointer    user_data)
 * {
 *   Settings *settings = user_data;
 *
 *   tether_work_return_int (work, settings->volume);
 * }
 *
 * g_auto(GValue) volume = G_VALUE_INIT;
 *
 * if (!tether_loop_manager_call (manager, NULL, read_setting, settings, NULL, &volume, &error))
 *   return FALSE;
 * g_print ("%d\n", g_value_get_int (&volume));
 * ```
 *
 * Thread: any thread but the manager's own.
 *
 * Returns: %TRUE if the work succeeded; %FALSE with @error set to its error,
 *   %G_IO_ERROR_CANCELLED, or one of the errors of
 *   [method@Tether.LoopManager.submit] (then @func never ran)
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_call (TetherLoopManager  *self,
                          const char         *task_type,
                          TetherWorkFunc      func,
                          gpointer            func_data,
                          GCancellable       *cancellable,
                          GValue             *result,
                          GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (result == NULL || !G_IS_VALUE (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return tether_call_run (self->core, task_type, G_PRIORITY_DEFAULT, func, func_data,
                          cancellable, result, error);
}

/**
 * tether_loop_manager_call_with_closure:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @closure: the work: a [struct@GObject.Closure] called on the manager's
 *   thread with the [class@Tether.Work] as its one parameter, which may
 *   return a boolean: %TRUE if it is done, see below
 * @cancellable: (nullable): as for [method@Tether.LoopManager.call]
 * @result: (out caller-allocates) (optional): as for
 *   [method@Tether.LoopManager.call]
 * @error: return location for an error
 *
 * [method@Tether.LoopManager.call] with a [struct@GObject.Closure] instead
 * of a function and its data, as g_bus_own_name_with_closures() is to
 * g_bus_own_name(): for bindings. PyGObject 3.42 leaks about 110 bytes of
 * libffi closure for every function it passes as a callback, even one
 * scoped to the call; a [struct@GObject.Closure] it makes for a Python
 * callable is freed with its last reference. The Python override's
 * `LoopManager.call(fn, *args)` uses this, so a service that calls from
 * Python in a loop keeps a flat memory footprint.
 *
 * The closure is referenced (and sunk) for the call and released before
 * this returns, on the calling thread. A C closure without a marshaller is
 * called as a [callback@Tether.WorkFunc]: the work, then the closure's
 * data. The closure ends its work as a function given to
 * [method@Tether.LoopManager.call] does, through the [class@Tether.Work],
 * or by returning %TRUE, which ends the work with no value if it has not
 * ended (a binding saves a call back into C; the Python override keeps the
 * value on its side). Returning %FALSE or nothing and dropping the last
 * reference to the work unreturned ends the call with
 * %TETHER_ERROR_ABANDONED; a reference kept (by a binding's lingering
 * exception traceback, say) keeps the call waiting until the work is
 * returned or dropped.
 *
 * GJS runs JavaScript only on its own thread, so in a process that has
 * loaded GJS only a C closure without a marshaller is taken; any other
 * fails with %TETHER_ERROR_INVALID_ARGUMENT and nothing runs. (A JavaScript
 * function given to [method@Tether.LoopManager.call] cannot be told apart:
 * GJS refuses to run it on the manager's thread with a warning, and the call
 * fails with %TETHER_ERROR_ABANDONED.)
 *
 * Thread: any thread but the manager's own.
 *
 * Returns: as [method@Tether.LoopManager.call]
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_call_with_closure (TetherLoopManager  *self,
                                       const char         *task_type,
                                       GClosure           *closure,
                                       GCancellable       *cancellable,
                                       GValue             *result,
                                       GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (closure != NULL, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (result == NULL || !G_IS_VALUE (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return tether_call_run_closure (self->core, task_type, closure, cancellable, result, error);
}

/**
 * tether_loop_manager_submit_full:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @priority: the priority among queued work, as GLib's (%G_PRIORITY_HIGH,
 *   %G_PRIORITY_DEFAULT, %G_PRIORITY_LOW...: lower values run first)
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.LoopManager.submit]
 * @cancellable: (nullable): cancels the work, as for [method@Tether.LoopManager.submit]
 * @error: return location for an error
 *
 * Queues @func at @priority, and returns a future for its outcome; in every
 * other way it is [method@Tether.LoopManager.submit], which queues at
 * %G_PRIORITY_DEFAULT.
 *
 * Queued work of a higher priority starts before queued work of a lower
 * one, whatever the order it was submitted in; work of one priority, posts
 * and futures alike, starts in submission order. Running work is never
 * interrupted. Nothing waits for ever: the manager's thread starts at most
 * 128 queued items per turn of its loop, and the last of each full turn
 * goes, by turns, to each priority that has work waiting, so while work of
 * higher priority keeps coming, each waiting priority still starts at least
 * one item in every 128 × n (n: the priorities with work waiting). Work of
 * the default priority takes the lock-free path; other priorities take a
 * lock per submission and per start.
 *
 * To answer a user's request ahead of a bulk import already queued:
 *
 * ```c
 * g_autoptr(TetherFuture) future = NULL;
 *
 * future = tether_loop_manager_submit_full (manager, NULL, G_PRIORITY_HIGH,
 *                                           lookup_work, g_strdup (key), g_free,
 *                                           NULL, &error);
 * ```
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with an error
 *   as for [method@Tether.LoopManager.submit]
 *
 * Since: 1.0
 */
TetherFuture *
tether_loop_manager_submit_full (TetherLoopManager  *self,
                                 const char         *task_type,
                                 int                 priority,
                                 TetherWorkFunc      func,
                                 gpointer            func_data,
                                 GDestroyNotify      func_data_destroy,
                                 GCancellable       *cancellable,
                                 GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return submit_future (self, task_type, priority, -1, cancellable,
                        func, func_data, func_data_destroy, error);
}

/**
 * tether_loop_manager_submit_after:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @delay_usec: how long to wait before running, in microseconds (>= 0)
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.LoopManager.submit]
 * @cancellable: (nullable): cancels the work, as for [method@Tether.LoopManager.submit]
 * @error: return location for an error
 *
 * Like [method@Tether.LoopManager.submit], but runs @func once @delay_usec
 * has passed (asyncio's `call_later`). [method@Tether.Future.cancel] on the
 * returned future removes the timer. A stop in either mode cancels timers
 * that have not fired yet.
 *
 * Timers that are due together (the manager's thread was busy while their
 * times passed, or their times are in the past) run earliest deadline first,
 * and those with the same deadline in submission order, as asyncio runs its
 * scheduled callbacks; not in the order they were submitted. A timer never
 * runs before its time. Timers take no room in the queue: they do not count
 * against [property@Tether.LoopManager:max-pending].
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
                                  TetherWorkFunc      func,
                                  gpointer            func_data,
                                  GDestroyNotify      func_data_destroy,
                                  GCancellable       *cancellable,
                                  GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);
  g_return_val_if_fail (delay_usec >= 0, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return submit_future (self, task_type, G_PRIORITY_DEFAULT, tether_time_after (delay_usec),
                        cancellable,
                        func, func_data, func_data_destroy, error);
}

/**
 * tether_loop_manager_submit_at:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @ready_time: when to run, on the g_get_monotonic_time() clock; a time in
 *   the past runs as soon as possible
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.LoopManager.submit]
 * @cancellable: (nullable): cancels the work, as for [method@Tether.LoopManager.submit]
 * @error: return location for an error
 *
 * Like [method@Tether.LoopManager.submit_after], at a monotonic time
 * (asyncio's `call_at`). Due timers run earliest @ready_time first, times
 * in the past included (the earlier, the sooner; a negative time counts as
 * 0), and those with equal times in submission order.
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
                               TetherWorkFunc      func,
                               gpointer            func_data,
                               GDestroyNotify      func_data_destroy,
                               GCancellable       *cancellable,
                               GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (func != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return submit_future (self, task_type, G_PRIORITY_DEFAULT, MAX (ready_time, 0),
                        cancellable,
                        func, func_data, func_data_destroy, error);
}

/**
 * tether_loop_manager_submit_async:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.LoopManager.submit]
 * @io_priority: the priority among queued work, as for
 *   [method@Tether.LoopManager.submit_full], and of the callback's idle in
 *   the caller's context
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
 * For example, with a `parse_work()` that ends with
 * `tether_work_return_int (work, atoi (user_data))`:
 *
 * ```c
 * static void
 * on_parsed (GObject      *source,
 *            GAsyncResult *result,
 *            gpointer      user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *   g_auto(GValue) value = G_VALUE_INIT;
 *
 *   if (!tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (source), result,
 *                                           &value, &error))
 *     {
 *       g_warning ("Parsing failed: %s", error->message);
 *       return;
 *     }
 *
 *   g_print ("%d\n", g_value_get_int (&value));
 * }
 *
 * tether_loop_manager_submit_async (manager, "parse", parse_work,
 *                                   g_strdup ("42"), g_free, G_PRIORITY_DEFAULT,
 *                                   cancellable, on_parsed, NULL);
 * ```
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
                                  int                  io_priority,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  TetherJob *job;
  GError *error = NULL;

  g_return_if_fail (TETHER_IS_LOOP_MANAGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (func != NULL);

  job = tether_core_new_job (self->core, TETHER_JOB_KIND_TASK);
  tether_job_set_func (job, func, func_data, func_data_destroy);
  job->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (job->task, tether_loop_manager_submit_async);
  g_task_set_priority (job->task, io_priority);
  g_task_set_name (job->task, "[tether] submit");
  /* The work's outcome wins over a late cancellation. */
  g_task_set_check_cancellable (job->task, FALSE);
  /* Cleared by the first submit_finish(): GIO cannot tell a second one. */
  g_task_set_task_data (job->task, GINT_TO_POINTER (TRUE), NULL);

  if (!tether_core_accept (self->core, job, task_type, io_priority, cancellable, -1, &error))
    reject (job, error);
}

/**
 * tether_loop_manager_submit_finish:
 * @self: a [class@Tether.LoopManager]
 * @result: the result passed to the callback
 * @value: (out caller-allocates) (optional): return location for the work's
 *   value: an uninitialized (%G_VALUE_INIT) #GValue, which this always
 *   initializes: to the work's value when it succeeded with one, else to a
 *   %G_TYPE_POINTER holding %NULL (which bindings show as `None` or
 *   `null`). Free it with g_value_unset().
 * @error: return location for an error
 *
 * Finishes [method@Tether.LoopManager.submit_async], in the shape of
 * g_task_propagate_value(). A value set by
 * [method@Tether.Work.return_pointer] is read with
 * [func@Tether.value_get_pointer].
 *
 * Each result is finished once. A second call returns %FALSE with
 * %TETHER_ERROR_INVALID_ARGUMENT and sets @value to a %NULL pointer: the
 * outcome went to the first caller.
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
                                   GValue             *value,
                                   GError            **error)
{
  GValue *result_value;
  GError *local_error = NULL;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == tether_loop_manager_submit_async, FALSE);
  g_return_val_if_fail (value == NULL || !G_IS_VALUE (value), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Never left uninitialized: bindings convert it even when this fails. */
  if (value != NULL)
    g_value_init (value, G_TYPE_POINTER);

  if (g_task_get_task_data (G_TASK (result)) == NULL)
    {
      g_set_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                   _("This result of LoopManager.submit_async() on manager '%s' was already "
                     "finished; call LoopManager.submit_finish() once per result"),
                   tether_core_get_label (self->core));
      return FALSE;
    }
  g_task_set_task_data (G_TASK (result), NULL, NULL);

  result_value = g_task_propagate_pointer (G_TASK (result), &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }

  if (result_value != NULL)
    {
      /* Moved, not copied: the GValue's contents change hands. */
      if (value != NULL)
        {
          g_value_unset (value);
          *value = *result_value;
        }
      else
        g_value_unset (result_value);
      g_free (result_value);
    }

  return TRUE;
}

/* submit_gio(): the start and finish functions, for the work. */
typedef struct
{
  TetherAsyncStartFunc  start;
  TetherAsyncFinishFunc finish;
  gpointer              user_data;
  GDestroyNotify        user_data_destroy;
} GioCall;

static void
gio_call_free (gpointer data)
{
  GioCall *call = data;

  if (call->user_data_destroy != NULL)
    call->user_data_destroy (call->user_data);
  g_free (call);
}

/* One operation in flight: the work and its functions. */
typedef struct
{
  TetherWork *work;   /* owned */
  GioCall    *call;   /* the job's func_data: alive until it retires */
} GioPending;

/* The operation's callback, on the manager's thread (its context is the
 * thread-default one while the work runs): the call is still alive, since
 * the job retires only after this returns, on this thread. */
static void
gio_ready (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  GioPending *pending = data;

  pending->call->finish (source, result, pending->work, pending->call->user_data);
  /* A finish that did not end the work leaves it ABANDONED as it goes. */
  g_object_unref (pending->work);
  g_free (pending);
}

static void
gio_work (TetherWork *work,
          gpointer    data)
{
  GioPending *pending = g_new (GioPending, 1);

  pending->work = g_object_ref (work);
  pending->call = data;
  pending->call->start (tether_work_get_cancellable (work), gio_ready, pending,
                        pending->call->user_data);
}

/**
 * tether_loop_manager_submit_gio: (skip)
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @start: starts the `_async()` call on the manager's thread
 * @finish: calls the `_finish()` and ends the work with its outcome
 * @user_data: data for @start and @finish
 * @user_data_destroy: (nullable): frees @user_data once the work has ended
 * @cancellable: (nullable): cancels the operation, as for
 *   [method@Tether.LoopManager.submit]: @start receives the work's
 *   cancellable, which fires with it
 * @error: return location for an error
 *
 * Turns a GIO `_async()`/`_finish()` pair into a [class@Tether.Future]: @start
 * runs on the manager's thread and starts the operation there, so that it
 * completes in the manager's context; @finish runs there when it does, and
 * ends the work with `tether_work_return_*()`. A @finish that does not end
 * the work leaves the future %TETHER_ERROR_ABANDONED.
 *
 * ```c
 * static void
 * start_load (GCancellable        *cancellable,
 *             GAsyncReadyCallback  callback,
 *             gpointer             callback_data,
 *             gpointer             user_data)
 * {
 *   g_file_load_contents_async (user_data, cancellable, callback, callback_data);
 * }
 *
 * static void
 * finish_load (GObject      *source,
 *              GAsyncResult *result,
 *              TetherWork   *work,
 *              gpointer      user_data)
 * {
 *   g_autofree char *contents = NULL;
 *   GError *error = NULL;
 *
 *   if (g_file_load_contents_finish (G_FILE (source), result, &contents, NULL, NULL, &error))
 *     tether_work_return_string (work, contents);
 *   else
 *     tether_work_return_error (work, error);
 * }
 *
 * future = tether_loop_manager_submit_gio (manager, NULL, start_load, finish_load,
 *                                          g_file_new_for_path (path), g_object_unref,
 *                                          NULL, &error);
 * ```
 *
 * From Python, an `async def` function submitted with
 * [method@Tether.LoopManager.submit] awaits GIO calls on the manager's
 * asyncio loop instead; GJS cannot run JavaScript on a manager's thread.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a [class@Tether.Future], or %NULL with an error as
 *   for [method@Tether.LoopManager.submit] (@user_data is then released)
 *
 * Since: 1.0
 */
TetherFuture *
tether_loop_manager_submit_gio (TetherLoopManager      *self,
                                const char             *task_type,
                                TetherAsyncStartFunc    start,
                                TetherAsyncFinishFunc   finish,
                                gpointer                user_data,
                                GDestroyNotify          user_data_destroy,
                                GCancellable           *cancellable,
                                GError                **error)
{
  GioCall *call;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);
  g_return_val_if_fail (start != NULL && finish != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  call = g_new0 (GioCall, 1);
  call->start = start;
  call->finish = finish;
  call->user_data = user_data;
  call->user_data_destroy = user_data_destroy;
  return submit_future (self, task_type, G_PRIORITY_DEFAULT, -1, cancellable,
                        gio_work, call, gio_call_free, error);
}

/**
 * tether_loop_manager_hold:
 * @self: a [class@Tether.LoopManager]
 * @error: return location for an error
 *
 * Registers deferred work that has no function, as g_application_hold()
 * keeps an application running: it counts as one accepted submission that
 * is running from this call on, until the holder ends it with one of the
 * `tether_work_return_*()` functions on the returned handle (any thread).
 * Meanwhile a %TETHER_STOP_MODE_DRAIN stop waits for it (the manager's
 * thread keeps iterating its context, so sources attached there go on
 * running), a %TETHER_STOP_MODE_CANCEL stop fires its cancellable
 * ([method@Tether.Work.get_cancellable]) and still waits for it to end,
 * and [method@Tether.LoopManager.stop_within] and
 * [func@Tether.LoopManager.wait_detached] see it like any other work.
 *
 * Language bindings use it to run work queued outside the manager's queue
 * (a batch of jobs drained by a source on the manager's context, say) under
 * the manager's accounting without one submission per job. The hold takes
 * no room in the queue ([property@Tether.LoopManager:max-pending] does not
 * count it), belongs to no task type, counts as one in the `submitted` and
 * `running` statistics until it ends and in the counts a stop reports, and
 * its outcome goes nowhere. Dropping the last reference to the handle
 * without returning ends it as %TETHER_ERROR_ABANDONED.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the handle that ends the hold, or %NULL with
 *   %TETHER_ERROR_NOT_RUNNING if the manager is not running or has begun to
 *   stop (checked under the same lock as submissions, so a stop that began
 *   never misses a hold it did not refuse)
 *
 * Since: 1.0
 */
TetherWork *
tether_loop_manager_hold (TetherLoopManager  *self,
                          GError            **error)
{
  TetherJob *job;

  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  job = tether_core_hold (self->core, error);
  if (job == NULL)
    return NULL;
  /* The job's first reference is the live list's, dropped as it retires. */
  return tether_work_new (job);
}

/* The arguments checked: post() and post_full() check them each, so that
 * a critical names the call the application made, and share the rest. */
static gboolean
post (TetherLoopManager  *self,
      const char         *task_type,
      int                 priority,
      TetherFunc          func,
      gpointer            func_data,
      GDestroyNotify      func_data_destroy,
      GError            **error)
{
  if (!tether_core_post (self->core, task_type, priority, func, func_data, func_data_destroy,
                         error))
    {
      /* Rejected: it never ran, and its data is released here. */
      if (func_data_destroy != NULL)
        func_data_destroy (func_data);
      return FALSE;
    }

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
 * Queues @func without any way to learn its outcome: no future, and one
 * 64-byte node that the manager recycles. On an unbounded manager (no
 * [property@Tether.LoopManager:max-pending]) this takes no lock: an atomic
 * count, an atomic exchange to queue, and a wake-up only if the manager's
 * thread may be asleep. It is queued, never run inline, even when posted
 * from the manager's own thread. A stop in %TETHER_STOP_MODE_CANCEL drops it
 * unrun (its @func_data_destroy still runs).
 *
 * For example, to print lines in order on the manager's thread:
 *
 * ```c
 * static void
 * log_line (gpointer user_data)
 * {
 *   g_print ("%s\n", (const char *) user_data);
 * }
 *
 * if (!tether_loop_manager_post (manager, NULL, log_line, g_strdup (line), g_free, &error))
 *   g_warning ("Log line dropped: %s", error->message);
 * ```
 *
 * Thread: any thread.
 *
 * Returns: %TRUE if accepted; %FALSE with an error as for
 *   [method@Tether.LoopManager.submit], in which case @func never runs and
 *   @func_data_destroy has run before this returns
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
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return post (self, task_type, G_PRIORITY_DEFAULT, func, func_data, func_data_destroy, error);
}

/**
 * tether_loop_manager_post_full:
 * @self: a [class@Tether.LoopManager]
 * @task_type: (nullable): the submission's task type
 * @priority: the priority among queued work, as for
 *   [method@Tether.LoopManager.submit_full]
 * @func: (scope notified) (closure func_data) (destroy func_data_destroy): the work
 * @func_data: data for @func
 * @func_data_destroy: (nullable): frees @func_data, as for [method@Tether.LoopManager.submit]
 * @error: return location for an error
 *
 * Queues @func at @priority, without any way to learn its outcome; in every
 * other way it is [method@Tether.LoopManager.post], which posts at
 * %G_PRIORITY_DEFAULT, the only priority whose posts take no lock.
 *
 * ```c
 * tether_loop_manager_post_full (manager, NULL, G_PRIORITY_LOW,
 *                                rebuild_index, index, NULL, NULL);
 * ```
 *
 * Thread: any thread.
 *
 * Returns: %TRUE if accepted; %FALSE with an error as for
 *   [method@Tether.LoopManager.post]
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_post_full (TetherLoopManager  *self,
                               const char         *task_type,
                               int                 priority,
                               TetherFunc          func,
                               gpointer            func_data,
                               GDestroyNotify      func_data_destroy,
                               GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return post (self, task_type, priority, func, func_data, func_data_destroy, error);
}

/**
 * tether_loop_manager_add_exit_func:
 * @self: a [class@Tether.LoopManager]
 * @func: (scope notified): the function to run on the manager's thread
 *   when it exits
 * @func_data: data for @func
 * @func_data_destroy: (nullable): releases @func_data after @func has run
 *
 * Runs @func on the manager's thread when the current run of that thread
 * ends: after its main loop has quit, which is once a stop has begun and
 * every accepted submission has ended, and after the sources still ready on
 * its context have had a last turn. The manager's context is still the
 * thread-default context then, so @func may iterate it, to let callbacks it
 * owns finish.
 *
 * This is for state a language binding or a library keeps per manager
 * thread (an event loop of its own on the manager's context, say) and must
 * release on that thread. Exit functions run once, newest first, then
 * @func_data_destroy runs; a function added by an exit function runs too.
 * They belong to one run of the thread: a manager started again begins with
 * none.
 *
 * Thread: any thread. On the manager's own thread (inside work) the function
 *   belongs to the run that thread is part of.
 *
 * Returns: %TRUE if @func will run; %FALSE with %TETHER_ERROR_NOT_RUNNING if
 *   the manager is stopped or its thread is already running its exit
 *   functions, or %TETHER_ERROR_INVALID_ARGUMENT for a JavaScript function
 *   (GJS cannot run it on another thread). Then @func never runs and
 *   @func_data_destroy has run before this returns.
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_add_exit_func (TetherLoopManager  *self,
                                   TetherFunc          func,
                                   gpointer            func_data,
                                   GDestroyNotify      func_data_destroy,
                                   GError            **error)
{
  g_return_val_if_fail (TETHER_IS_LOOP_MANAGER (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!tether_core_add_exit_func (self->core, func, func_data, func_data_destroy, error))
    {
      if (func_data_destroy != NULL)
        func_data_destroy (func_data);
      return FALSE;
    }

  return TRUE;
}

/**
 * tether_loop_manager_dup_current_id:
 *
 * Gets the id of the manager whose thread is calling. Unlike
 * [func@Tether.LoopManager.ref_current], this works also while the thread
 * drains work after the manager's last reference was dropped.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full) (nullable): the id, or %NULL if this is not a
 *   manager's thread
 *
 * Since: 1.0
 */
char *
tether_loop_manager_dup_current_id (void)
{
  TetherCore *core = tether_core_get_current ();

  return core != NULL ? g_strdup (tether_core_get_id (core)) : NULL;
}

/**
 * tether_loop_manager_add_current_exit_func:
 * @func: (scope notified): the function to run on this thread when it exits
 * @func_data: data for @func
 * @func_data_destroy: (nullable): releases @func_data after @func has run
 *
 * [method@Tether.LoopManager.add_exit_func] for the manager whose thread is
 * calling. Unlike a call through [func@Tether.LoopManager.ref_current], it
 * works also while the thread drains work after the manager's last
 * reference was dropped, which is when a language binding that keeps state
 * per manager thread most needs it.
 *
 * Thread: a manager's thread (inside work); elsewhere it fails.
 *
 * Returns: %TRUE if @func will run; %FALSE with %TETHER_ERROR_NOT_RUNNING
 *   if this is not a manager's thread or its thread is already running its
 *   exit functions, or %TETHER_ERROR_INVALID_ARGUMENT for a JavaScript
 *   function. Then @func never runs and @func_data_destroy has run before
 *   this returns.
 *
 * Since: 1.0
 */
gboolean
tether_loop_manager_add_current_exit_func (TetherFunc       func,
                                           gpointer         func_data,
                                           GDestroyNotify   func_data_destroy,
                                           GError         **error)
{
  TetherCore *core = tether_core_get_current ();
  gboolean added;

  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (core == NULL)
    {
      g_set_error_literal (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING,
                           "This is not a manager's thread; add exit functions from work "
                           "running on the manager, or give the manager to add_exit_func()");
      added = FALSE;
    }
  else
    {
      added = tether_core_add_exit_func (core, func, func_data, func_data_destroy, error);
    }

  if (!added && func_data_destroy != NULL)
    func_data_destroy (func_data);
  return added;
}

/* TetherExecutor: a manager's own methods. */
static TetherFuture *
executor_submit (TetherExecutor  *executor,
                 const char      *task_type,
                 TetherWorkFunc   func,
                 gpointer         func_data,
                 GDestroyNotify   func_data_destroy,
                 GCancellable    *cancellable,
                 GError         **error)
{
  return tether_loop_manager_submit (TETHER_LOOP_MANAGER (executor), task_type, func, func_data,
                                     func_data_destroy, cancellable, error);
}

static gboolean
executor_post (TetherExecutor  *executor,
               const char      *task_type,
               TetherFunc       func,
               gpointer         func_data,
               GDestroyNotify   func_data_destroy,
               GError         **error)
{
  return tether_loop_manager_post (TETHER_LOOP_MANAGER (executor), task_type, func, func_data,
                                   func_data_destroy, error);
}

static void
executor_submit_async (TetherExecutor      *executor,
                       const char          *task_type,
                       TetherWorkFunc       func,
                       gpointer             func_data,
                       GDestroyNotify       func_data_destroy,
                       int                  io_priority,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  tether_loop_manager_submit_async (TETHER_LOOP_MANAGER (executor), task_type, func, func_data,
                                    func_data_destroy, io_priority, cancellable, callback,
                                    user_data);
}

static gboolean
executor_submit_finish (TetherExecutor  *executor,
                        GAsyncResult    *result,
                        GValue          *value,
                        GError         **error)
{
  return tether_loop_manager_submit_finish (TETHER_LOOP_MANAGER (executor), result, value, error);
}

static void
tether_loop_manager_executor_init (TetherExecutorInterface *iface)
{
  iface->submit = executor_submit;
  iface->post = executor_post;
  iface->submit_async = executor_submit_async;
  iface->submit_finish = executor_submit_finish;
}

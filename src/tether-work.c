/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-error.h"
#include "tether-i18n-private.h"
#include "tether-work-private.h"

/**
 * TetherWork:
 *
 * The completion handle a [callback@Tether.WorkFunc] receives.
 *
 * A submission ends when one of the `tether_work_return_*()` functions is
 * called on its handle. The first call wins; a second one is a programmer
 * error and is ignored with a critical. The call may come from any thread,
 * so work can start asynchronous GIO operations on the manager's context
 * (the thread-default context while it runs) and return from their
 * callbacks. A work function that wants to finish later keeps a reference
 * with g_object_ref().
 *
 * If the last reference to an unfinished handle is dropped, the submission
 * ends with %TETHER_ERROR_ABANDONED instead of leaving its waiters hanging.
 *
 * Cancellation is advisory once the work runs: [method@Tether.Work.get_cancellable]
 * fires when the submission is cancelled, and whatever the work returns
 * after that (a value or an error) is the outcome.
 *
 * A work function that ends its submission before it returns:
 *
 * ```c
 * static void
 * count_work (TetherWork *work,
 *             gpointer    user_data)
 * {
 *   GPtrArray *items = user_data;
 *
 *   if (items->len == 0)
 *     tether_work_return_new_error (work, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
 *                                   "Nothing to count");
 *   else
 *     tether_work_return_int (work, (int) items->len);
 * }
 * ```
 *
 * One that keeps a reference to its handle and returns later, from the
 * callback of an asynchronous read it started on the manager's context:
 *
 * ```c
 * static void
 * on_read (GObject      *source,
 *          GAsyncResult *result,
 *          gpointer      user_data)
 * {
 *   g_autoptr(TetherWork) work = user_data;
 *   g_autoptr(GBytes) bytes = NULL;
 *   GError *error = NULL;
 *
 *   bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
 *   if (bytes == NULL)
 *     tether_work_return_error (work, error);
 *   else
 *     tether_work_return_int64 (work, (gint64) g_bytes_get_size (bytes));
 * }
 *
 * static void
 * read_work (TetherWork *work,
 *            gpointer    user_data)
 * {
 *   GInputStream *stream = user_data;
 *
 *   // on_read() runs on the manager's thread too: its context is the
 *   // thread-default one here. The reference keeps the submission open.
 *   g_input_stream_read_bytes_async (stream, 4096, G_PRIORITY_DEFAULT,
 *                                    tether_work_get_cancellable (work),
 *                                    on_read, g_object_ref (work));
 * }
 * ```
 *
 * Since: 1.0
 */
struct _TetherWork
{
  GObject    parent_instance;
  TetherJob *job;
  /* While the manager keeps the handle for reuse: TRUE while anyone but
   * the manager holds a reference (see work_toggled()). */
  gint       shared;
};

G_DEFINE_FINAL_TYPE (TetherWork, tether_work, G_TYPE_OBJECT)

/* Ends the job as abandoned if nobody returned, and lets it go. */
static void
work_detach (TetherWork *self)
{
  if (g_atomic_int_get (&self->job->state) != TETHER_JOB_DONE)
    tether_job_complete (self->job, NULL,
                         g_error_new (TETHER_ERROR, TETHER_ERROR_ABANDONED,
                                      _("Work on manager '%s' dropped its Tether.Work without "
                                        "returning; call Work.return_*() before dropping the "
                                        "last reference"),
                                      tether_job_get_manager_label (self->job)));
  g_clear_pointer (&self->job, tether_job_unref);
}

static void
tether_work_finalize (GObject *object)
{
  TetherWork *self = (TetherWork *) object;

  if (self->job != NULL)
    work_detach (self);

  G_OBJECT_CLASS (tether_work_parent_class)->finalize (object);
}

static void
tether_work_class_init (TetherWorkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = tether_work_finalize;
}

static void
tether_work_init (TetherWork *self)
{
}

/* The manager holds a handle it may reuse through a toggle reference: GLib
 * calls this, on the thread that changes the count, when a second reference
 * appears (@is_last_ref FALSE) and when the manager's is again the only one
 * (TRUE). That is how the manager learns, through public API, whether
 * anyone kept the handle; a binding's wrapper (PyGObject, GJS) holds a
 * reference, or a toggle reference of its own, which silences this one
 * until it is gone, so a wrapped handle is not reused while it is
 * wrapped. */
static void
work_toggled (gpointer  data,
              GObject  *object,
              gboolean  is_last_ref)
{
  g_atomic_int_set (&((TetherWork *) object)->shared, !is_last_ref);
}

/* Any thread. A handle for @job that the caller owns. */
TetherWork *
tether_work_new (TetherJob *job)
{
  TetherWork *self = g_object_new (TETHER_TYPE_WORK, NULL);

  self->job = tether_job_ref (job);
  return self;
}

/* Manager's thread. A handle for @job held through the manager's toggle
 * reference: @spare if the manager kept one (see tether_work_release()),
 * else a new one. */
TetherWork *
tether_work_new_reusable (TetherJob  *job,
                          TetherWork *spare)
{
  TetherWork *self = spare;

  if (self == NULL)
    {
      self = g_object_new (TETHER_TYPE_WORK, NULL);
      g_object_add_toggle_ref (G_OBJECT (self), work_toggled, NULL);
      g_object_unref (self);
    }
  self->job = tether_job_ref (job);
  return self;
}

/* Manager's thread, once the work function has returned. Creating and
 * finalizing a GObject is over a third of a round trip's instructions (2,400
 * of 6,700 in tests/bench/callgrind-per-job), so the manager keeps the
 * handle for the next job when nobody else holds a reference to it:
 * returns it then, detached from its job (which ends as abandoned if it did
 * not return). Otherwise the manager lets its reference go and the other
 * holder's last unref finalizes the handle. A work function that wants to
 * use its handle after returning must therefore take a reference, as
 * documented; one that keeps only a pointer may find it serving another
 * job. */
TetherWork *
tether_work_release (TetherWork *self)
{
  if (!g_atomic_int_get (&self->shared))
    {
      work_detach (self);
      return self;
    }
  g_object_remove_toggle_ref (G_OBJECT (self), work_toggled, NULL);
  return NULL;
}

/* Manager's thread: lets a handle tether_work_release() kept go. */
void
tether_work_discard (TetherWork *self)
{
  g_object_remove_toggle_ref (G_OBJECT (self), work_toggled, NULL);
}

/**
 * tether_work_get_cancellable:
 * @self: a [class@Tether.Work]
 *
 * Gets a cancellable that fires when the submission is cancelled: through
 * the cancellable given at submission, [method@Tether.Future.cancel], or a
 * stop in %TETHER_STOP_MODE_CANCEL. Pass it to the GIO calls the work makes.
 *
 * Thread: any thread.
 *
 * Returns: (transfer none): a [class@Gio.Cancellable] owned by @self
 *
 * Since: 1.0
 */
GCancellable *
tether_work_get_cancellable (TetherWork *self)
{
  g_return_val_if_fail (TETHER_IS_WORK (self), NULL);

  return tether_job_get_cancellable (self->job);
}

/**
 * tether_work_is_cancelled:
 * @self: a [class@Tether.Work]
 *
 * Checks whether the submission was asked to cancel, without creating a
 * cancellable: through the cancellable given at submission (once its
 * "cancelled" handlers have reached this work's),
 * [method@Tether.Future.cancel], a stop in %TETHER_STOP_MODE_CANCEL, or
 * g_cancellable_cancel() on [method@Tether.Work.get_cancellable] by anyone,
 * the work itself included. It agrees with g_cancellable_is_cancelled() on
 * that cancellable, except that while another thread is cancelling it this
 * may say %TRUE a moment before the cancellable does. Once %TRUE it stays
 * %TRUE.
 *
 * Thread: any thread.
 *
 * Returns: %TRUE if cancellation was requested
 *
 * Since: 1.0
 */
gboolean
tether_work_is_cancelled (TetherWork *self)
{
  g_return_val_if_fail (TETHER_IS_WORK (self), FALSE);

  return tether_job_is_cancel_requested (self->job);
}

/**
 * tether_work_set_name:
 * @self: a [class@Tether.Work]
 * @name: (nullable): a name for the work, or %NULL for the default
 *
 * Names the work in debug reports (see
 * [property@Tether.LoopManager:debug-flags]): slow-work warnings, dropped
 * work and unretrieved errors. Without a name the work function's C symbol
 * is used when the dynamic linker knows it. The Python override names
 * Python work after its function's qualified name.
 *
 * Thread: any thread holding @self.
 *
 * Since: 1.0
 */
void
tether_work_set_name (TetherWork *self,
                      const char *name)
{
  g_return_if_fail (TETHER_IS_WORK (self));

  tether_job_set_name (self->job, name);
}

/**
 * tether_work_get_manager_id:
 * @self: a [class@Tether.Work]
 *
 * Gets the id of the manager running this work.
 *
 * Thread: any thread.
 *
 * Returns: (transfer none): the manager's id, valid as long as @self
 *
 * Since: 1.0
 */
const char *
tether_work_get_manager_id (TetherWork *self)
{
  g_return_val_if_fail (TETHER_IS_WORK (self), NULL);

  return tether_job_get_manager_id (self->job);
}

/**
 * tether_work_is_done:
 * @self: a [class@Tether.Work]
 *
 * Checks whether the submission has ended, by a return or otherwise.
 *
 * Thread: any thread.
 *
 * Returns: %TRUE once the submission has its outcome
 *
 * Since: 1.0
 */
gboolean
tether_work_is_done (TetherWork *self)
{
  g_return_val_if_fail (TETHER_IS_WORK (self), FALSE);

  return g_atomic_int_get (&self->job->state) == TETHER_JOB_DONE;
}

/**
 * tether_work_report_progress:
 * @self: a [class@Tether.Work]
 * @progress: how far the work has got, in any shape the submitter
 *   understands; a floating reference is sunk
 *
 * Reports progress to the submitter: its future emits
 * [signal@Tether.Future::progress] in the submitter's thread-default
 * context, and [method@Tether.Future.dup_progress] returns it.
 *
 * Call it as often as is convenient: reports are coalesced, so that at
 * most one delivery per future is ever pending and it carries the latest
 * value; the receiving loop sees a few deliveries, not one per call. A
 * report costs a lock and, when no delivery is pending, an idle source.
 * Progress is dropped once the work has ended, and never delivered after
 * the outcome; work submitted with [method@Tether.LoopManager.submit_async]
 * has no future, and its progress goes nowhere.
 *
 * The handle may be passed to another thread (keep a reference while
 * using it there), which may report too.
 *
 * ```c
 * static void
 * copy_work (TetherWork *work,
 *            gpointer    user_data)
 * {
 *   CopyJob *job = user_data;
 *
 *   for (guint i = 0; i < job->n_files; i++)
 *     {
 *       copy_one (job, i);
 *       tether_work_report_progress (work, g_variant_new ("(uu)", i + 1, job->n_files));
 *     }
 *   tether_work_return_boolean (work, TRUE);
 * }
 * ```
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_report_progress (TetherWork *self,
                             GVariant   *progress)
{
  g_return_if_fail (TETHER_IS_WORK (self));
  g_return_if_fail (progress != NULL);

  g_variant_ref_sink (progress);
  tether_job_report_progress (self->job, progress);
  g_variant_unref (progress);
}

/**
 * tether_work_report_fraction:
 * @self: a [class@Tether.Work]
 * @fraction: the part done, from 0 to 1 (clamped to that range)
 * @message: (nullable): what the work is doing, for a person to read
 *
 * [method@Tether.Work.report_progress] with a `(ds)` variant: @fraction and
 * @message (an empty string for %NULL), what a progress bar shows. The
 * submitter reads them back with `g_variant_get (progress, "(d&s)",
 * &fraction, &message)`.
 *
 * ```c
 * // In the work:
 * tether_work_report_fraction (work, (double) done / total, "Hashing");
 *
 * // On the GTK thread, which submitted it:
 * static void
 * on_progress (TetherFuture *future,
 *              GVariant     *progress,
 *              gpointer      user_data)
 * {
 *   double fraction;
 *   const char *message;
 *
 *   g_variant_get (progress, "(d&s)", &fraction, &message);
 *   gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (user_data), fraction);
 *   gtk_progress_bar_set_text (GTK_PROGRESS_BAR (user_data), message);
 * }
 *
 * future = tether_loop_manager_submit (manager, NULL, hash_work, job, NULL, NULL, &error);
 * g_signal_connect (future, "progress", G_CALLBACK (on_progress), bar);
 * ```
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_report_fraction (TetherWork *self,
                             double      fraction,
                             const char *message)
{
  g_return_if_fail (TETHER_IS_WORK (self));

  if (!(fraction >= 0.0))   /* NaN too */
    fraction = 0.0;
  else if (fraction > 1.0)
    fraction = 1.0;
  tether_work_report_progress (self,
                               g_variant_new ("(ds)", fraction, message != NULL ? message : ""));
}

static void
return_owned (TetherWork *self,
              GValue     *value,
              GError     *error)
{
  if (!tether_job_complete (self->job, value, error))
    g_critical ("Work on manager '%s' returned twice; only the first return counts",
                tether_job_get_manager_label (self->job));
}

static GValue *
value_new (GType type)
{
  GValue *value = g_new0 (GValue, 1);

  return g_value_init (value, type);
}

/**
 * tether_work_return_value:
 * @self: a [class@Tether.Work]
 * @value: (nullable): the result, copied; %NULL for "no value"
 *
 * Ends the submission with @value. The future's status becomes
 * %TETHER_FUTURE_STATUS_SUCCEEDED even if cancellation was requested
 * while the work ran: a returned value always wins.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_value (TetherWork   *self,
                          const GValue *value)
{
  GValue *copy = NULL;

  g_return_if_fail (TETHER_IS_WORK (self));
  g_return_if_fail (value == NULL || G_IS_VALUE (value));

  if (value != NULL)
    {
      copy = value_new (G_VALUE_TYPE (value));
      g_value_copy (value, copy);
    }
  return_owned (self, copy, NULL);
}

/**
 * tether_work_return_boolean:
 * @self: a [class@Tether.Work]
 * @value: the result
 *
 * Ends the submission with a %G_TYPE_BOOLEAN value.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_boolean (TetherWork *self,
                            gboolean    value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_WORK (self));

  v = value_new (G_TYPE_BOOLEAN);
  g_value_set_boolean (v, value);
  return_owned (self, v, NULL);
}

/**
 * tether_work_return_int:
 * @self: a [class@Tether.Work]
 * @value: the result
 *
 * Ends the submission with a %G_TYPE_INT value.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_int (TetherWork *self,
                        int         value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_WORK (self));

  v = value_new (G_TYPE_INT);
  g_value_set_int (v, value);
  return_owned (self, v, NULL);
}

/**
 * tether_work_return_int64:
 * @self: a [class@Tether.Work]
 * @value: the result
 *
 * Ends the submission with a %G_TYPE_INT64 value.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_int64 (TetherWork *self,
                          gint64      value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_WORK (self));

  v = value_new (G_TYPE_INT64);
  g_value_set_int64 (v, value);
  return_owned (self, v, NULL);
}

/**
 * tether_work_return_double:
 * @self: a [class@Tether.Work]
 * @value: the result
 *
 * Ends the submission with a %G_TYPE_DOUBLE value.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_double (TetherWork *self,
                           double      value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_WORK (self));

  v = value_new (G_TYPE_DOUBLE);
  g_value_set_double (v, value);
  return_owned (self, v, NULL);
}

/**
 * tether_work_return_string:
 * @self: a [class@Tether.Work]
 * @value: (nullable): the result, copied
 *
 * Ends the submission with a %G_TYPE_STRING value.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_string (TetherWork *self,
                           const char *value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_WORK (self));

  v = value_new (G_TYPE_STRING);
  g_value_set_string (v, value);
  return_owned (self, v, NULL);
}

/**
 * tether_work_return_object:
 * @self: a [class@Tether.Work]
 * @value: (type GObject) (nullable): the result; a reference is taken
 *
 * Ends the submission with an object value of @value's type. The result
 * holds a reference, released by whichever thread drops the last reference
 * to the future (or, for [method@Tether.LoopManager.submit_async], by the
 * thread that finishes it, or in its context if nobody does): the manager's
 * thread keeps no reference once the submission has ended. So an object
 * that must die on its owner's thread (a GTK widget) dies there, as long as
 * that thread drops the future last and the work dropped its own references.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_object (TetherWork *self,
                           gpointer    value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_WORK (self));
  g_return_if_fail (value == NULL || G_IS_OBJECT (value));

  v = value_new (value != NULL ? G_OBJECT_TYPE (value) : G_TYPE_OBJECT);
  g_value_set_object (v, value);
  return_owned (self, v, NULL);
}

/**
 * tether_work_return_variant:
 * @self: a [class@Tether.Work]
 * @value: (nullable): the result; a floating reference is sunk
 *
 * Ends the submission with a %G_TYPE_VARIANT value.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_variant (TetherWork *self,
                            GVariant   *value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_WORK (self));

  v = value_new (G_TYPE_VARIANT);
  g_value_set_variant (v, value);
  return_owned (self, v, NULL);
}

/* A C pointer result, shared by GValue copies and freed by the last one. */
typedef struct
{
  gpointer       data;
  GDestroyNotify destroy;
} OwnedPointer;

typedef OwnedPointer TetherOwnedPointer;

static gpointer
owned_pointer_copy (gpointer boxed)
{
  return g_atomic_rc_box_acquire (boxed);
}

static void
owned_pointer_clear (gpointer boxed)
{
  OwnedPointer *p = boxed;

  if (p->destroy != NULL)
    p->destroy (p->data);
}

static void
owned_pointer_free (gpointer boxed)
{
  g_atomic_rc_box_release_full (boxed, owned_pointer_clear);
}

G_DEFINE_BOXED_TYPE (TetherOwnedPointer, tether_owned_pointer, owned_pointer_copy, owned_pointer_free)

/* A new GValue holding @data, which @destroy frees with the last copy. */
GValue *
tether_owned_pointer_value_new (gpointer       data,
                                GDestroyNotify destroy)
{
  OwnedPointer *p = g_atomic_rc_box_new0 (OwnedPointer);
  GValue *v;

  p->data = data;
  p->destroy = destroy;
  v = value_new (tether_owned_pointer_get_type ());
  g_value_take_boxed (v, p);
  return v;
}

gpointer
tether_owned_pointer_get (const GValue *value)
{
  OwnedPointer *p = g_value_get_boxed (value);

  return p != NULL ? p->data : NULL;
}

/**
 * tether_work_return_pointer: (skip)
 * @self: a [class@Tether.Work]
 * @value: (nullable): the result
 * @value_destroy: (nullable): frees @value when the future is finalized
 *
 * Ends the submission with a C pointer, read back with
 * [method@Tether.Future.get_pointer], or with [func@Tether.value_get_pointer]
 * on the value [method@Tether.LoopManager.submit_finish] gives.
 * @value_destroy runs on whichever thread drops the last reference to the
 * result: the last reference to the future, or the value submit_finish()
 * gave (freed with g_boxed_free()), or the async result if nobody finished
 * it; never on the manager's thread while any of those is still held.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_pointer (TetherWork     *self,
                            gpointer        value,
                            GDestroyNotify  value_destroy)
{
  OwnedPointer *p;
  GValue *v;

  g_return_if_fail (TETHER_IS_WORK (self));

  p = g_atomic_rc_box_new0 (OwnedPointer);
  p->data = value;
  p->destroy = value_destroy;
  v = value_new (tether_owned_pointer_get_type ());
  g_value_take_boxed (v, p);
  return_owned (self, v, NULL);
}

/**
 * tether_value_get_pointer: (skip)
 * @value: a value holding a pointer set by [method@Tether.Work.return_pointer],
 *   as [method@Tether.LoopManager.submit_finish] or
 *   [method@Tether.Future.get_value] give it
 *
 * Reads the C pointer a work returned. The pointer stays owned by @value
 * (and its copies): its destroy notify runs when the last of them is
 * unset, so keep @value for as long as you use the pointer.
 *
 * Thread: any thread holding @value.
 *
 * Returns: (transfer none) (nullable): the pointer
 *
 * Since: 1.0
 */
gpointer
tether_value_get_pointer (const GValue *value)
{
  g_return_val_if_fail (G_IS_VALUE (value), NULL);
  g_return_val_if_fail (G_VALUE_HOLDS (value, tether_owned_pointer_get_type ()), NULL);

  return tether_owned_pointer_get (value);
}

/**
 * tether_work_return_error:
 * @self: a [class@Tether.Work]
 * @error: (transfer full): the error
 *
 * Ends the submission with @error. A %G_IO_ERROR_CANCELLED error gives the
 * future the status %TETHER_FUTURE_STATUS_CANCELLED, any other
 * %TETHER_FUTURE_STATUS_FAILED.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_error (TetherWork *self,
                          GError     *error)
{
  g_return_if_fail (TETHER_IS_WORK (self));
  g_return_if_fail (error != NULL);

  return_owned (self, NULL, error);
}

/**
 * tether_work_return_new_error: (skip)
 * @self: a [class@Tether.Work]
 * @domain: the error domain
 * @code: the error code
 * @format: a printf() format for the message
 * @...: the format's arguments
 *
 * Ends the submission with a new error; see [method@Tether.Work.return_error].
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_work_return_new_error (TetherWork *self,
                              GQuark      domain,
                              int         code,
                              const char *format,
                              ...)
{
  GError *error;
  va_list args;

  g_return_if_fail (TETHER_IS_WORK (self));
  g_return_if_fail (format != NULL);

  va_start (args, format);
  error = g_error_new_valist (domain, code, format, args);
  va_end (args);

  return_owned (self, NULL, error);
}

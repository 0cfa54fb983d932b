/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-error.h"
#include "tether-future-private.h"
#include "tether-i18n-private.h"
#include "tether-promise.h"
#include "tether-work-private.h"

/**
 * TetherPromise:
 *
 * The producing side of a [class@Tether.Future] that code completes rather
 * than submitted work: the result of a signal, a D-Bus reply, another
 * library's callback.
 *
 * Hand out the future ([method@Tether.Promise.get_future]) and keep the
 * promise; resolve it with a value (`tether_promise_resolve_*()`) or reject
 * it with an error, once, from any thread. The future then behaves as any
 * other: [method@Tether.Future.wait], [method@Tether.Future.wait_async],
 * the typed getters, `notify::status` and the combinators.
 *
 * ```c
 * static void
 * on_name_appeared (GDBusConnection *connection,
 *                   const char      *name,
 *                   const char      *owner,
 *                   gpointer         user_data)
 * {
 *   tether_promise_resolve_string (user_data, owner);
 * }
 *
 * TetherPromise *promise = tether_promise_new ();
 * g_bus_watch_name (G_BUS_TYPE_SESSION, "org.example.Service",
 *                   G_BUS_NAME_WATCHER_FLAGS_NONE, on_name_appeared, NULL,
 *                   promise, g_object_unref);
 * return g_object_ref (tether_promise_get_future (promise));
 * ```
 *
 * Semantics:
 *
 * - The first resolve or reject wins. Calling either again is a programmer
 *   error (a critical) and changes nothing.
 * - A consumer's [method@Tether.Future.cancel] ends the future at once with
 *   %G_IO_ERROR_CANCELLED and fires the promise's cancellable
 *   ([method@Tether.Promise.get_cancellable]), so that the producer can stop
 *   its work; a resolve after that is not an error and is ignored.
 * - Dropping the last reference to a promise that was neither resolved nor
 *   rejected ends its future with %TETHER_ERROR_ABANDONED: its waiters never
 *   hang on a result nobody can give any more.
 * - No callback of a consumer runs inside a resolve, a reject or a cancel:
 *   [method@Tether.Future.wait_async] callbacks and `notify::status` arrive
 *   through idles in the consumers' own contexts.
 *
 * Since: 1.0
 */
struct _TetherPromise
{
  GObject        parent_instance;

  TetherFuture  *future;       /* owned */
  GCancellable  *cancellable;  /* fired when a consumer cancels the future */
  int            settled;      /* atomic: resolved or rejected by the producer */
};

G_DEFINE_FINAL_TYPE (TetherPromise, tether_promise, G_TYPE_OBJECT)

static void
tether_promise_finalize (GObject *object)
{
  TetherPromise *self = (TetherPromise *) object;

  if (!g_atomic_int_get (&self->settled))
    tether_future_try_complete (self->future, NULL,
                                g_error_new (TETHER_ERROR, TETHER_ERROR_ABANDONED,
                                             _("The promise was dropped without a result; "
                                               "nothing will complete this future")));
  g_clear_object (&self->future);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (tether_promise_parent_class)->finalize (object);
}

static void
tether_promise_class_init (TetherPromiseClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tether_promise_finalize;
}

/* A consumer cancelled the future: end it now, and tell the producer. The
 * cancellable is the promise's, which the future holds (not the promise:
 * the future must not keep its producer alive). */
static void
cancel_future (TetherFuture *future,
               gpointer      data)
{
  GCancellable *cancellable = data;

  g_object_ref (future);
  if (tether_future_try_complete (future, NULL,
                                  g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               _("The promise's future was cancelled"))))
    g_cancellable_cancel (cancellable);
  g_object_unref (future);
}

static void
tether_promise_init (TetherPromise *self)
{
  self->cancellable = g_cancellable_new ();
  self->future = tether_future_new_detached ("a promise", cancel_future,
                                             g_object_ref (self->cancellable), g_object_unref);
}

/**
 * tether_promise_new:
 *
 * Creates a promise and its pending future.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): a new [class@Tether.Promise]
 *
 * Since: 1.0
 */
TetherPromise *
tether_promise_new (void)
{
  return g_object_new (TETHER_TYPE_PROMISE, NULL);
}

/**
 * tether_promise_get_future:
 * @self: a [class@Tether.Promise]
 *
 * Gets the future this promise completes. Hand it to consumers (with a
 * reference of their own); it outlives the promise.
 *
 * Thread: any thread.
 *
 * Returns: (transfer none): the [class@Tether.Future]
 *
 * Since: 1.0
 */
TetherFuture *
tether_promise_get_future (TetherPromise *self)
{
  g_return_val_if_fail (TETHER_IS_PROMISE (self), NULL);

  return self->future;
}

/**
 * tether_promise_get_cancellable:
 * @self: a [class@Tether.Promise]
 *
 * Gets the cancellable that fires when a consumer cancels the future, so
 * that the producer can stop what it was doing. It fires on the thread that
 * called [method@Tether.Future.cancel].
 *
 * Thread: any thread.
 *
 * Returns: (transfer none): a [class@Gio.Cancellable]
 *
 * Since: 1.0
 */
GCancellable *
tether_promise_get_cancellable (TetherPromise *self)
{
  g_return_val_if_fail (TETHER_IS_PROMISE (self), NULL);

  return self->cancellable;
}

/* The producer's one completion; a second is a programmer error. @value
 * and @error are taken. */
static void
settle (TetherPromise *self,
        GValue        *value,
        GError        *error)
{
  if (!g_atomic_int_compare_and_exchange (&self->settled, FALSE, TRUE))
    {
      if (value != NULL)
        {
          g_value_unset (value);
          g_free (value);
        }
      g_clear_error (&error);
      g_critical ("A promise was resolved or rejected twice; only the first counts");
      return;
    }
  /* A consumer may have cancelled it first: then this is ignored. */
  tether_future_try_complete (self->future, value, error);
}

static GValue *
value_new (GType type)
{
  GValue *value = g_new0 (GValue, 1);

  return g_value_init (value, type);
}

/**
 * tether_promise_resolve_value:
 * @self: a [class@Tether.Promise]
 * @value: (nullable): the result, copied; %NULL for "no value"
 *
 * Resolves the promise: its future succeeds with @value.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_resolve_value (TetherPromise *self,
                              const GValue  *value)
{
  GValue *copy = NULL;

  g_return_if_fail (TETHER_IS_PROMISE (self));
  g_return_if_fail (value == NULL || G_IS_VALUE (value));

  if (value != NULL)
    {
      copy = value_new (G_VALUE_TYPE (value));
      g_value_copy (value, copy);
    }
  settle (self, copy, NULL);
}

/**
 * tether_promise_resolve_boolean:
 * @self: a [class@Tether.Promise]
 * @value: the result
 *
 * Resolves the promise with a boolean, read back with
 * [method@Tether.Future.get_boolean].
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_resolve_boolean (TetherPromise *self,
                                gboolean       value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_PROMISE (self));

  v = value_new (G_TYPE_BOOLEAN);
  g_value_set_boolean (v, value);
  settle (self, v, NULL);
}

/**
 * tether_promise_resolve_int:
 * @self: a [class@Tether.Promise]
 * @value: the result
 *
 * Resolves the promise with an `int`, read back with
 * [method@Tether.Future.get_int].
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_resolve_int (TetherPromise *self,
                            int            value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_PROMISE (self));

  v = value_new (G_TYPE_INT);
  g_value_set_int (v, value);
  settle (self, v, NULL);
}

/**
 * tether_promise_resolve_int64:
 * @self: a [class@Tether.Promise]
 * @value: the result
 *
 * Resolves the promise with a 64-bit integer, read back with
 * [method@Tether.Future.get_int64].
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_resolve_int64 (TetherPromise *self,
                              gint64         value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_PROMISE (self));

  v = value_new (G_TYPE_INT64);
  g_value_set_int64 (v, value);
  settle (self, v, NULL);
}

/**
 * tether_promise_resolve_double:
 * @self: a [class@Tether.Promise]
 * @value: the result
 *
 * Resolves the promise with a double, read back with
 * [method@Tether.Future.get_double].
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_resolve_double (TetherPromise *self,
                               double         value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_PROMISE (self));

  v = value_new (G_TYPE_DOUBLE);
  g_value_set_double (v, value);
  settle (self, v, NULL);
}

/**
 * tether_promise_resolve_string:
 * @self: a [class@Tether.Promise]
 * @value: (nullable): the result, copied
 *
 * Resolves the promise with a string, read back with
 * [method@Tether.Future.dup_string].
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_resolve_string (TetherPromise *self,
                               const char    *value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_PROMISE (self));

  v = value_new (G_TYPE_STRING);
  g_value_set_string (v, value);
  settle (self, v, NULL);
}

/**
 * tether_promise_resolve_object:
 * @self: a [class@Tether.Promise]
 * @value: (type GObject) (nullable): the result; the future takes a
 *   reference
 *
 * Resolves the promise with an object, read back with
 * [method@Tether.Future.dup_object].
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_resolve_object (TetherPromise *self,
                               gpointer       value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_PROMISE (self));
  g_return_if_fail (value == NULL || G_IS_OBJECT (value));

  v = value_new (value != NULL ? G_OBJECT_TYPE (value) : G_TYPE_OBJECT);
  g_value_set_object (v, value);
  settle (self, v, NULL);
}

/**
 * tether_promise_resolve_variant:
 * @self: a [class@Tether.Promise]
 * @value: (nullable): the result; a floating reference is sunk
 *
 * Resolves the promise with a variant, read back with
 * [method@Tether.Future.dup_variant].
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_resolve_variant (TetherPromise *self,
                                GVariant      *value)
{
  GValue *v;

  g_return_if_fail (TETHER_IS_PROMISE (self));

  v = value_new (G_TYPE_VARIANT);
  g_value_set_variant (v, value);
  settle (self, v, NULL);
}

/**
 * tether_promise_resolve_pointer: (skip)
 * @self: a [class@Tether.Promise]
 * @value: (nullable): the result
 * @value_destroy: (nullable): frees @value with the last copy of the result
 *
 * Resolves the promise with a C pointer, read back with
 * [method@Tether.Future.get_pointer]; @value_destroy runs on the thread
 * that drops the last reference to the result.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_resolve_pointer (TetherPromise  *self,
                                gpointer        value,
                                GDestroyNotify  value_destroy)
{
  g_return_if_fail (TETHER_IS_PROMISE (self));

  settle (self, tether_owned_pointer_value_new (value, value_destroy), NULL);
}

/**
 * tether_promise_reject:
 * @self: a [class@Tether.Promise]
 * @error: (transfer full): the error
 *
 * Rejects the promise: its future fails with @error, or ends cancelled if
 * @error is %G_IO_ERROR_CANCELLED.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_reject (TetherPromise *self,
                       GError        *error)
{
  g_return_if_fail (TETHER_IS_PROMISE (self));
  g_return_if_fail (error != NULL);

  settle (self, NULL, error);
}

/**
 * tether_promise_complete_from:
 * @self: a [class@Tether.Promise]
 * @future: a finished [class@Tether.Future]
 *
 * Completes the promise the way @future ended: with a copy of its value,
 * or its error. Handy in a continuation (see [method@Tether.Future.finally])
 * that passes its input's outcome on.
 *
 * Thread: any thread.
 *
 * Since: 1.0
 */
void
tether_promise_complete_from (TetherPromise *self,
                              TetherFuture  *future)
{
  g_return_if_fail (TETHER_IS_PROMISE (self));
  g_return_if_fail (TETHER_IS_FUTURE (future));
  g_return_if_fail (tether_future_is_done (future));

  if (tether_future_get_status (future) == TETHER_FUTURE_STATUS_SUCCEEDED)
    tether_promise_resolve_value (self, tether_future_get_value (future));
  else
    tether_promise_reject (self, tether_future_dup_error (future));
}

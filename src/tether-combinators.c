/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Futures made of futures: all, any, first, and the continuations then,
 * catch and finally. Each result is a future no job completes
 * (tether_future_new_detached()); inputs report to it through completion
 * listeners, which run on whatever thread ended the input and only count,
 * copy an outcome, complete the result (whose waiters hear of it through
 * idles in their own contexts) or schedule a continuation elsewhere. */
#include "config.h"

#include "tether-error.h"
#include "tether-future-private.h"
#include "tether-gjs-private.h"
#include "tether-i18n-private.h"
#include "tether-loop-manager.h"
#include "tether-promise.h"

typedef enum
{
  COMBINE_ALL,
  COMBINE_ANY,
  COMBINE_FIRST,
} CombineKind;

/* One combined future: each input's listener holds a reference. */
typedef struct
{
  gatomicrefcount     ref_count;
  CombineKind         kind;
  TetherCombineFlags  flags;
  TetherFuture       *result;     /* owned */
  GPtrArray          *inputs;     /* owned references, shared with the cancel hook */
  int                 remaining;  /* atomic: inputs not ended yet */
} Combine;

static Combine *
combine_ref (Combine *combine)
{
  g_atomic_ref_count_inc (&combine->ref_count);
  return combine;
}

static void
combine_unref (Combine *combine)
{
  if (!g_atomic_ref_count_dec (&combine->ref_count))
    return;
  g_object_unref (combine->result);
  g_ptr_array_unref (combine->inputs);
  g_free (combine);
}

static GValue *
copy_value (const GValue *value)
{
  GValue *copy;

  if (value == NULL)
    return NULL;
  copy = g_new0 (GValue, 1);
  g_value_init (copy, G_VALUE_TYPE (value));
  g_value_copy (value, copy);
  return copy;
}

static GValue *
boolean_value (gboolean b)
{
  GValue *value = g_new0 (GValue, 1);

  g_value_init (value, G_TYPE_BOOLEAN);
  g_value_set_boolean (value, b);
  return value;
}

/* Cancels every input but @except that has not ended (on this thread: a
 * job's cancellable fires here, a queued one ends cancelled). */
static void
cancel_inputs (GPtrArray    *inputs,
               TetherFuture *except)
{
  for (guint i = 0; i < inputs->len; i++)
    {
      TetherFuture *input = g_ptr_array_index (inputs, i);

      if (input != except && !tether_future_is_done (input))
        tether_future_cancel (input);
    }
}

/* Every input failed (any()): one error that names each, in input order;
 * each input keeps its own error for Future.dup_error(). */
static GError *
all_failed_error (GPtrArray *inputs)
{
  GString *messages = g_string_new (NULL);
  GError *ret;

  for (guint i = 0; i < inputs->len; i++)
    {
      g_autoptr(GError) error = tether_future_dup_error (g_ptr_array_index (inputs, i));

      g_string_append_printf (messages, "%s%u: %s", i > 0 ? "; " : "", i,
                              error != NULL ? error->message : "?");
    }
  ret = g_error_new (TETHER_ERROR, TETHER_ERROR_FAILED,
                     _("All %u futures failed (%s); each input's error is its own"),
                     inputs->len, messages->str);
  g_string_free (messages, TRUE);
  return ret;
}

static void
on_input_done (TetherFuture *input,
               gpointer      data)
{
  Combine *combine = data;
  gboolean succeeded = tether_future_get_status (input) == TETHER_FUTURE_STATUS_SUCCEEDED;
  gboolean last = g_atomic_int_dec_and_test (&combine->remaining);
  gboolean decided = FALSE;

  switch (combine->kind)
    {
    case COMBINE_ALL:
      if (!succeeded)
        decided = tether_future_try_complete (combine->result, NULL,
                                              tether_future_dup_error (input));
      else if (last)
        tether_future_try_complete (combine->result, boolean_value (TRUE), NULL);
      break;

    case COMBINE_ANY:
      if (succeeded)
        decided = tether_future_try_complete (combine->result,
                                              copy_value (tether_future_get_value (input)),
                                              NULL);
      else if (last)
        tether_future_try_complete (combine->result, NULL, all_failed_error (combine->inputs));
      break;

    case COMBINE_FIRST:
      decided = succeeded
                ? tether_future_try_complete (combine->result,
                                              copy_value (tether_future_get_value (input)), NULL)
                : tether_future_try_complete (combine->result, NULL,
                                              tether_future_dup_error (input));
      break;

    default:
      g_assert_not_reached ();
    }

  if (decided && (combine->flags & TETHER_COMBINE_FLAGS_CANCEL_REST))
    cancel_inputs (combine->inputs, input);
  combine_unref (combine);
}

/* tether_future_cancel() on the combined future: it ends cancelled at
 * once; with PROPAGATE_CANCEL, so do the inputs. The hook holds the inputs,
 * not the combine, which holds the result: no cycle. */
typedef struct
{
  GPtrArray          *inputs;
  TetherCombineFlags  flags;
} CancelHook;

static void
cancel_hook_free (gpointer data)
{
  CancelHook *hook = data;

  g_ptr_array_unref (hook->inputs);
  g_free (hook);
}

static void
cancel_combined (TetherFuture *future,
                 gpointer      data)
{
  CancelHook *hook = data;

  g_object_ref (future);
  if (tether_future_try_complete (future, NULL,
                                  g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               _("The combined future was cancelled"))) &&
      (hook->flags & TETHER_COMBINE_FLAGS_PROPAGATE_CANCEL))
    cancel_inputs (hook->inputs, NULL);
  g_object_unref (future);
}

static TetherFuture *
combine (CombineKind          kind,
         const char          *label,
         TetherFuture       **futures,
         guint                n_futures,
         TetherCombineFlags   flags)
{
  Combine *self = g_new0 (Combine, 1);
  CancelHook *hook = g_new0 (CancelHook, 1);
  TetherFuture *ret;

  g_atomic_ref_count_init (&self->ref_count);
  self->kind = kind;
  self->flags = flags;
  self->inputs = g_ptr_array_new_full (n_futures, g_object_unref);
  for (guint i = 0; i < n_futures; i++)
    g_ptr_array_add (self->inputs, g_object_ref (futures[i]));
  self->remaining = (int) n_futures;

  hook->inputs = g_ptr_array_ref (self->inputs);
  hook->flags = flags;
  self->result = tether_future_new_detached (label, cancel_combined, hook, cancel_hook_free);
  ret = g_object_ref (self->result);

  if (n_futures == 0)
    {
      /* Nothing to wait for: all() succeeds, any() fails. */
      if (kind == COMBINE_ALL)
        tether_future_try_complete (self->result, boolean_value (TRUE), NULL);
      else
        tether_future_try_complete (self->result, NULL,
                                    g_error_new (TETHER_ERROR, TETHER_ERROR_FAILED,
                                                 _("Future.any() of no futures: none can "
                                                   "succeed")));
    }
  /* An input already ended reports here, at once: the result may be
   * complete when this returns, but its waiters hear of it later, in their
   * own contexts. */
  for (guint i = 0; i < n_futures; i++)
    tether_future_listen (futures[i], on_input_done, combine_ref (self));
  combine_unref (self);

  return ret;
}

static gboolean
check_futures (TetherFuture **futures,
               guint          n_futures)
{
  for (guint i = 0; i < n_futures; i++)
    if (!TETHER_IS_FUTURE (futures[i]))
      return FALSE;
  return TRUE;
}

/**
 * tether_future_all:
 * @futures: (array length=n_futures): the futures to wait for
 * @n_futures: how many
 * @flags: %TETHER_COMBINE_FLAGS_CANCEL_REST to cancel the others on the
 *   first failure; %TETHER_COMBINE_FLAGS_PROPAGATE_CANCEL to cancel the
 *   inputs when the result is cancelled
 *
 * A future that succeeds, with the boolean %TRUE, once every input has
 * succeeded, and fails with (a copy of) the first error or cancellation
 * among them as soon as one ends that way. Read each value from its input.
 * No futures: it succeeds at once. The inputs may belong to different
 * managers, or be promises or other combined futures.
 *
 * To wait for three loads, or the first error:
 *
 * ```c
 * TetherFuture *loads[] = { a, b, c };
 * g_autoptr(TetherFuture) all = tether_future_all (loads, 3, TETHER_COMBINE_FLAGS_CANCEL_REST);
 *
 * if (!tether_future_wait (all, -1, NULL, &error))
 *   g_warning ("A load failed: %s", error->message);
 * ```
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the combined [class@Tether.Future]
 *
 * Since: 1.0
 */
TetherFuture *
tether_future_all (TetherFuture       **futures,
                   guint                n_futures,
                   TetherCombineFlags   flags)
{
  g_return_val_if_fail (futures != NULL || n_futures == 0, NULL);
  g_return_val_if_fail (check_futures (futures, n_futures), NULL);

  return combine (COMBINE_ALL, "Future.all()", futures, n_futures, flags);
}

/**
 * tether_future_any:
 * @futures: (array length=n_futures): the futures to wait for
 * @n_futures: how many
 * @flags: %TETHER_COMBINE_FLAGS_CANCEL_REST to cancel the others on the
 *   first success; %TETHER_COMBINE_FLAGS_PROPAGATE_CANCEL to cancel the
 *   inputs when the result is cancelled
 *
 * A future that succeeds with (a copy of) the value of the first input to
 * succeed, and fails with %TETHER_ERROR_FAILED once every input has failed
 * or been cancelled: its message lists each input's error, and each input
 * keeps its own ([method@Tether.Future.dup_error]). No futures: it fails at
 * once.
 *
 * To take whichever mirror answers first and drop the others:
 *
 * ```c
 * TetherFuture *mirrors[] = { from_a, from_b };
 * g_autoptr(TetherFuture) fastest =
 *   tether_future_any (mirrors, 2, TETHER_COMBINE_FLAGS_CANCEL_REST);
 * ```
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the combined [class@Tether.Future]
 *
 * Since: 1.0
 */
TetherFuture *
tether_future_any (TetherFuture       **futures,
                   guint                n_futures,
                   TetherCombineFlags   flags)
{
  g_return_val_if_fail (futures != NULL || n_futures == 0, NULL);
  g_return_val_if_fail (check_futures (futures, n_futures), NULL);

  return combine (COMBINE_ANY, "Future.any()", futures, n_futures, flags);
}

/**
 * tether_future_first:
 * @futures: (array length=n_futures): the futures to wait for, at least one
 * @n_futures: how many
 * @flags: %TETHER_COMBINE_FLAGS_CANCEL_REST to cancel the others once one
 *   has ended; %TETHER_COMBINE_FLAGS_PROPAGATE_CANCEL to cancel the inputs
 *   when the result is cancelled
 *
 * A future that ends the way the first input to end does: with a copy of
 * its value, its error, or cancelled.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the combined [class@Tether.Future]
 *
 * Since: 1.0
 */
TetherFuture *
tether_future_first (TetherFuture       **futures,
                     guint                n_futures,
                     TetherCombineFlags   flags)
{
  g_return_val_if_fail (futures != NULL && n_futures > 0, NULL);
  g_return_val_if_fail (check_futures (futures, n_futures), NULL);

  return combine (COMBINE_FIRST, "Future.first()", futures, n_futures, flags);
}

/* Continuations. */

typedef enum
{
  WHEN_SUCCEEDED,
  WHEN_FAILED,
  WHEN_ENDED,
} When;

typedef struct
{
  When                    when;
  TetherFuture           *input;     /* owned */
  TetherPromise          *output;    /* owned */
  TetherLoopManager      *manager;   /* owned, or NULL */
  GMainContext           *context;   /* owned, or NULL with a manager */
  TetherContinuationFunc  func;
  gpointer                user_data;
  GDestroyNotify          user_data_destroy;
} Continuation;

static void
continuation_free (gpointer data)
{
  Continuation *self = data;

  if (self->user_data_destroy != NULL)
    self->user_data_destroy (self->user_data);
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->manager);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self);
}

/* In the continuation's place: run it, or pass the outcome on. */
static void
continuation_run (Continuation *self)
{
  TetherFutureStatus status = tether_future_get_status (self->input);
  gboolean run;

  switch (self->when)
    {
    case WHEN_SUCCEEDED:
      run = status == TETHER_FUTURE_STATUS_SUCCEEDED;
      break;
    case WHEN_FAILED:
      run = status != TETHER_FUTURE_STATUS_SUCCEEDED;
      break;
    case WHEN_ENDED:
    default:
      run = TRUE;
      break;
    }

  if (run)
    self->func (self->input, self->output, self->user_data);
  else
    tether_promise_complete_from (self->output, self->input);
}

static gboolean
continuation_idle (gpointer data)
{
  continuation_run (data);
  return G_SOURCE_REMOVE;
}

static void
continuation_post (gpointer data)
{
  continuation_run (data);
}

/* The input ended, on whatever thread: schedule the continuation in its
 * place, never here. */
static void
on_continuation_input_done (TetherFuture *input,
                            gpointer      data)
{
  Continuation *self = data;

  if (self->manager != NULL)
    {
      g_autoptr(TetherPromise) output = g_object_ref (self->output);
      GError *error = NULL;

      /* A post a CANCEL stop drops unrun releases @self, and with it the
       * last reference to an unsettled promise: the future ends
       * ABANDONED. A post refused now (the manager stopped) has released
       * @self too: the future ends with the reason. */
      if (!tether_loop_manager_post (self->manager, NULL, continuation_post, self,
                                     continuation_free, &error))
        tether_promise_reject (output, error);
    }
  else
    {
      GSource *source = g_idle_source_new ();

      g_source_set_static_name (source, "[tether] future continuation");
      g_source_set_callback (source, continuation_idle, self, continuation_free);
      /* The idle may free @self, and its reference to the context, first. */
      tether_attach_and_unref (source, self->context);
    }
}

static TetherFuture *
continue_with (TetherFuture           *input,
               When                    when,
               TetherLoopManager      *manager,
               GMainContext           *context,
               TetherContinuationFunc  func,
               gpointer                user_data,
               GDestroyNotify          user_data_destroy)
{
  Continuation *self = g_new0 (Continuation, 1);
  GMainContext *home = NULL;
  TetherFuture *ret;

  /* A JavaScript continuation cannot run on a manager's thread (GJS runs
   * JavaScript only on its own): its future fails at once, and the data is
   * released in the caller's context as any JavaScript data is. */
  if (manager != NULL && tether_func_is_javascript ((gpointer) func, user_data_destroy, &home))
    {
      g_autoptr(TetherPromise) refused = tether_promise_new ();

      g_main_context_unref (home);
      tether_promise_reject (refused,
                             g_error_new (TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT,
                                          _("A JavaScript continuation cannot run on manager "
                                            "'%s': GJS runs JavaScript only on its own thread; "
                                            "pass no manager"),
                                          tether_loop_manager_get_id (manager)));
      if (user_data_destroy != NULL)
        user_data_destroy (user_data);
      g_free (self);
      return g_object_ref (tether_promise_get_future (refused));
    }
  g_clear_pointer (&home, g_main_context_unref);

  self->when = when;
  self->input = g_object_ref (input);
  self->output = tether_promise_new ();
  self->func = func;
  self->user_data = user_data;
  self->user_data_destroy = user_data_destroy;
  if (manager != NULL)
    self->manager = g_object_ref (manager);
  else if (context != NULL)
    self->context = g_main_context_ref (context);
  else
    self->context = g_main_context_ref_thread_default ();
  ret = g_object_ref (tether_promise_get_future (self->output));

  tether_future_listen (input, on_continuation_input_done, self);
  return ret;
}

/**
 * tether_future_then:
 * @self: a [class@Tether.Future]
 * @manager: (nullable): the manager whose thread runs @func, or %NULL
 * @context: (nullable): the context that runs @func, if no @manager; %NULL:
 *   the thread-default context of the caller
 * @func: (scope notified) (closure user_data) (destroy user_data_destroy): the continuation
 * @user_data: data for @func
 * @user_data_destroy: (nullable): frees @user_data once @func has run, or
 *   will not
 *
 * A future that follows @self: once @self has succeeded, @func runs on
 * @manager's thread (posted to it) or in @context, and completes the new
 * future through the promise it is given. If @self failed or was
 * cancelled, @func does not run and the new future ends the same way.
 * @func never runs inside this call, even if @self has ended already.
 *
 * ```c
 * static void
 * parse_json (TetherFuture  *input,
 *             TetherPromise *output,
 *             gpointer       user_data)
 * {
 *   g_autofree char *text = tether_future_dup_string (input, NULL);
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(JsonNode) node = json_from_string (text, &error);
 *
 *   if (node == NULL)
 *     tether_promise_reject (output, g_steal_pointer (&error));
 *   else
 *     tether_promise_resolve_pointer (output, g_steal_pointer (&node),
 *                                     (GDestroyNotify) json_node_unref);
 * }
 *
 * parsed = tether_future_then (download, parser, NULL, parse_json, NULL, NULL);
 * ```
 *
 * If @manager refuses the continuation (it is not running), the new future
 * ends with that error; if a CANCEL stop drops it unrun, with
 * %TETHER_ERROR_ABANDONED. Cancelling the new future does not cancel @self.
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the continuation's [class@Tether.Future]
 *
 * Since: 1.0
 */
TetherFuture *
tether_future_then (TetherFuture           *self,
                    TetherLoopManager      *manager,
                    GMainContext           *context,
                    TetherContinuationFunc  func,
                    gpointer                user_data,
                    GDestroyNotify          user_data_destroy)
{
  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  g_return_val_if_fail (manager == NULL || TETHER_IS_LOOP_MANAGER (manager), NULL);
  g_return_val_if_fail (func != NULL, NULL);

  return continue_with (self, WHEN_SUCCEEDED, manager, context, func, user_data,
                        user_data_destroy);
}

/**
 * tether_future_catch:
 * @self: a [class@Tether.Future]
 * @manager: (nullable): the manager whose thread runs @func, or %NULL
 * @context: (nullable): the context that runs @func, if no @manager; %NULL:
 *   the thread-default context of the caller
 * @func: (scope notified) (closure user_data) (destroy user_data_destroy): the continuation
 * @user_data: data for @func
 * @user_data_destroy: (nullable): frees @user_data once @func has run, or
 *   will not
 *
 * As [method@Tether.Future.then], for the other outcome: @func runs once
 * @self has failed or been cancelled (it reads the error with
 * [method@Tether.Future.dup_error]), and can recover by resolving the
 * promise; if @self succeeded, the new future succeeds with a copy of its
 * value and @func does not run.
 *
 * ```c
 * static void
 * use_cached (TetherFuture  *input,
 *             TetherPromise *output,
 *             gpointer       user_data)
 * {
 *   tether_promise_resolve_string (output, user_data);
 * }
 *
 * page = tether_future_catch (download, NULL, NULL, use_cached,
 *                             g_strdup (cached_page), g_free);
 * ```
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the continuation's [class@Tether.Future]
 *
 * Since: 1.0
 */
TetherFuture *
tether_future_catch (TetherFuture           *self,
                     TetherLoopManager      *manager,
                     GMainContext           *context,
                     TetherContinuationFunc  func,
                     gpointer                user_data,
                     GDestroyNotify          user_data_destroy)
{
  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  g_return_val_if_fail (manager == NULL || TETHER_IS_LOOP_MANAGER (manager), NULL);
  g_return_val_if_fail (func != NULL, NULL);

  return continue_with (self, WHEN_FAILED, manager, context, func, user_data,
                        user_data_destroy);
}

/**
 * tether_future_finally:
 * @self: a [class@Tether.Future]
 * @manager: (nullable): the manager whose thread runs @func, or %NULL
 * @context: (nullable): the context that runs @func, if no @manager; %NULL:
 *   the thread-default context of the caller
 * @func: (scope notified) (closure user_data) (destroy user_data_destroy): the continuation
 * @user_data: data for @func
 * @user_data_destroy: (nullable): frees @user_data once @func has run, or
 *   will not
 *
 * As [method@Tether.Future.then], whatever the outcome: @func runs once
 * @self has ended, however, and completes the new future (to pass the
 * outcome on unchanged, call [method@Tether.Promise.complete_from] with
 * @self).
 *
 * Thread: any thread.
 *
 * Returns: (transfer full): the continuation's [class@Tether.Future]
 *
 * Since: 1.0
 */
TetherFuture *
tether_future_finally (TetherFuture           *self,
                       TetherLoopManager      *manager,
                       GMainContext           *context,
                       TetherContinuationFunc  func,
                       gpointer                user_data,
                       GDestroyNotify          user_data_destroy)
{
  g_return_val_if_fail (TETHER_IS_FUTURE (self), NULL);
  g_return_val_if_fail (manager == NULL || TETHER_IS_LOOP_MANAGER (manager), NULL);
  g_return_val_if_fail (func != NULL, NULL);

  return continue_with (self, WHEN_ENDED, manager, context, func, user_data,
                        user_data_destroy);
}

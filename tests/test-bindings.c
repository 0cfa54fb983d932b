/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <tether.h>
#ifdef HAVE_GIREPOSITORY
# include <girepository.h>
# include <girffi.h>
#endif

#include "test-util.h"

/* This process poses as one hosting GJS, which can release a JavaScript
 * function only on its own thread: func_data_destroy must come back to the
 * submitter's context instead of running on the manager's thread, and a
 * function made at run time the way every introspection binding makes one
 * is taken for JavaScript and refused. It runs in a process of its own
 * because Tether looks for GJS once. */

typedef struct
{
  GThread *thread;   /* where the destroy notify ran */
  gboolean ran;
} Released;

static void
on_released (gpointer data)
{
  Released *released = data;

  released->thread = g_thread_self ();
  released->ran = TRUE;
}

static void
blocked_like_gjs (TetherWork *work,
                  gpointer    user_data)
{
  /* GJS refuses to run the JS function and returns without a word. */
}

static void
return_thread (TetherWork *work,
               gpointer    user_data)
{
  tether_work_return_pointer (work, g_thread_self (), NULL);
}

static void
test_destroy_returns_home (void)
{
  g_autoptr(TetherLoopManager) manager = started ("gjs-home", NULL);
  g_autoptr(GMainContext) home = g_main_context_new ();
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(TetherFuture) where = NULL;
  g_autoptr(GError) error = NULL;
  Released released = { NULL, FALSE };

  g_main_context_push_thread_default (home);
  future = tether_loop_manager_submit (manager, NULL, blocked_like_gjs,
                                       &released, on_released, NULL, &error);
  g_assert_no_error (error);

  /* The work ends visibly, not with a hang. */
  g_assert_false (tether_future_wait (future, -1, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_ABANDONED);
  g_assert_nonnull (strstr (error->message, "Work.return_*()"));
  g_clear_error (&error);

  /* The manager has retired the job (a later one ran), yet the destroy
   * notify waits for the home context. */
  where = tether_loop_manager_submit (manager, NULL, return_thread, NULL, NULL, NULL, &error);
  g_assert_true (tether_future_wait (where, -1, NULL, &error));
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_false (released.ran);

  while (!released.ran)
    g_main_context_iteration (home, TRUE);
  g_assert_true (released.thread == g_thread_self ());
  g_assert_true (released.thread != tether_future_get_pointer (where, NULL));
  g_main_context_pop_thread_default (home);
}

static void
test_rejected_releases_inline (void)
{
  g_autoptr(TetherLoopManager) manager = tether_loop_manager_new ("gjs-rejected");
  g_autoptr(GError) error = NULL;
  Released released = { NULL, FALSE };

  g_assert_null (tether_loop_manager_submit (manager, NULL, blocked_like_gjs,
                                             &released, on_released, NULL, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_NOT_RUNNING);
  g_assert_true (released.ran);
  g_assert_true (released.thread == g_thread_self ());
}

/* Iterates @context until @released says the data went, for at most 10 s. */
static void
await_release (GMainContext *context,
               Released     *released)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!released->ran && g_get_monotonic_time () < end)
    g_main_context_iteration (context, FALSE);
  g_assert_true (released->ran);
  g_assert_true (released->thread == g_thread_self ());
}

#ifdef HAVE_GIREPOSITORY
/* A native function made as GJS makes one for a JavaScript function:
 * libgirepository's closure for a callback type, here GLib's
 * DestroyNotify (void (*) (gpointer), a TetherFunc's signature) or Func
 * (void (*) (gpointer, gpointer), a TetherWorkFunc's). */
typedef struct
{
  GICallableInfo *info;
  ffi_cif         cif;
  ffi_closure    *closure;
  gpointer        code;
  int             calls;
} RuntimeFunc;

static void
runtime_func_called (ffi_cif  *cif,
                     void     *ret,
                     void    **args,
                     void     *data)
{
  RuntimeFunc *func = data;

  g_atomic_int_inc (&func->calls);
}

static void
runtime_func_init (RuntimeFunc *func,
                   const char  *callback_name)
{
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (g_irepository_require (NULL, "GLib", "2.0", 0, &error));
  g_assert_no_error (error);
  func->info = (GICallableInfo *) g_irepository_find_by_name (NULL, "GLib", callback_name);
  g_assert_nonnull (func->info);
  func->closure = g_callable_info_create_closure (func->info, &func->cif, runtime_func_called, func);
  g_assert_nonnull (func->closure);
  func->code = g_callable_info_get_closure_native_address (func->info, func->closure);
  func->calls = 0;
}

static void
runtime_func_clear (RuntimeFunc *func)
{
  g_callable_info_destroy_closure (func->info, func->closure);
  g_base_info_unref ((GIBaseInfo *) func->info);
}

static void
test_runtime_function_refused (void)
{
  g_autoptr(TetherLoopManager) manager = started ("gjs-runtime", NULL);
  g_autoptr(GMainContext) home = g_main_context_new ();
  g_autoptr(TetherFuture) future = NULL;
  g_autoptr(GError) error = NULL;
  RuntimeFunc post_func, work_func;
  Released released = { NULL, FALSE };

  g_main_context_push_thread_default (home);
  runtime_func_init (&post_func, "DestroyNotify");
  runtime_func_init (&work_func, "Func");

  /* The closure is a working function: called directly, it runs. */
  ((GDestroyNotify) post_func.code) (NULL);
  g_assert_cmpint (post_func.calls, ==, 1);

  g_assert_false (tether_loop_manager_post (manager, NULL, (TetherFunc) post_func.code,
                                            &released, on_released, &error));
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "JavaScript"));
  g_clear_error (&error);
  await_release (home, &released);

  released.ran = FALSE;
  future = tether_loop_manager_submit (manager, NULL, (TetherWorkFunc) work_func.code,
                                       &released, on_released, NULL, &error);
  g_assert_null (future);
  g_assert_error (error, TETHER_ERROR, TETHER_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  await_release (home, &released);

  /* Without a destroy notify nothing is kept beyond the call: GJS gives
   * one for every function C keeps, so this is C's to vouch for. */
  g_assert_true (tether_loop_manager_post (manager, NULL, (TetherFunc) post_func.code,
                                           NULL, NULL, &error));
  g_assert_no_error (error);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_cmpint (post_func.calls, ==, 2);
  g_assert_cmpint (work_func.calls, ==, 0);

  runtime_func_clear (&post_func);
  runtime_func_clear (&work_func);
  g_main_context_pop_thread_default (home);
}
#endif

/* A C function with a destroy notify, in a process that hosts GJS, is C's:
 * it runs on the manager's thread, and its data is released at home. */
static GThread *c_function_thread;

static void
post_thread (gpointer data)
{
  g_atomic_pointer_set (&c_function_thread, g_thread_self ());
}

static void
test_c_function_runs (void)
{
  g_autoptr(TetherLoopManager) manager = started ("gjs-c", NULL);
  g_autoptr(GMainContext) home = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  Released released = { NULL, FALSE };

  g_main_context_push_thread_default (home);
  g_assert_true (tether_loop_manager_post (manager, NULL, post_thread, &released, on_released, &error));
  g_assert_no_error (error);
  tether_loop_manager_stop (manager, TETHER_STOP_MODE_DRAIN);
  g_assert_nonnull (c_function_thread);
  g_assert_true (c_function_thread != g_thread_self ());
  await_release (home, &released);
  g_main_context_pop_thread_default (home);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_type_register_static_simple (G_TYPE_OBJECT, "GjsContext", sizeof (GObjectClass), NULL,
                                 sizeof (GObject), NULL, 0);

  g_test_add_func ("/Tether/Bindings/gjs-destroy-returns-home", test_destroy_returns_home);
  g_test_add_func ("/Tether/Bindings/gjs-rejected-releases-inline", test_rejected_releases_inline);
  g_test_add_func ("/Tether/Bindings/gjs-c-function-runs", test_c_function_runs);
#ifdef HAVE_GIREPOSITORY
  g_test_add_func ("/Tether/Bindings/gjs-runtime-function-refused", test_runtime_function_refused);
#endif

  return test_run ();
}

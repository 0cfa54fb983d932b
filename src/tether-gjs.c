/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE  /* dladdr() */
#include "config.h"

#ifdef HAVE_DLADDR
# include <dlfcn.h>
#endif

#include <glib-object.h>

#include "tether-gjs-private.h"

/* The one place that knows about GJS.
 *
 * GJS can run a JavaScript function, and release one, only on its own
 * thread: a call from another thread is refused, and releasing one while its
 * thread collects garbage crashes the process. So a JavaScript function must
 * never be run on a manager's thread, and its data must be released back on
 * the submitter's thread. GJS offers no public way to recognise its
 * functions. What is public is how any GObject-Introspection binding hands
 * a function to C: the binding asks libgirepository for a native entry point
 * (g_callable_info_create_closure(), a libffi closure), code made at run
 * time that no library or executable contains. So a function is taken for
 * JavaScript when:
 *
 * - the process hosts GJS: GJS registers its GjsContext type before any
 *   script can reach Tether (a GObject type name, public, asked once);
 * - the function comes with a destroy notify (GJS always gives one for a
 *   function C keeps beyond the call);
 * - and dladdr() finds no loaded object that contains the function's code.
 *
 * Nothing else in a GJS process makes functions at run time, and a C
 * function, even in a module loaded later, lies in a loaded object.
 * tests/js/testGjsThreads.js fails if this stops being true (a JavaScript
 * work function must be refused with TETHER_ERROR_INVALID_ARGUMENT, and its
 * data released on the JavaScript thread), and test-bindings checks that a
 * C function with a destroy notify is still taken for C in a process that
 * registers the type. Where dladdr() is missing (HAVE_DLADDR unset) a
 * process hosting GJS has every function with a destroy notify treated as
 * JavaScript: C work submitted from such a process must then pass a NULL
 * destroy notify. That is the safe side: refusing C work is an error the
 * caller sees; running JavaScript elsewhere crashes. */

static gboolean
process_hosts_gjs (void)
{
  static gsize hosts_gjs = 0;

  if (g_once_init_enter (&hosts_gjs))
    g_once_init_leave (&hosts_gjs, g_type_from_name ("GjsContext") != 0 ? 2 : 1);
  return hosts_gjs == 2;
}

/* Whether @code was made at run time: no loaded object contains it. */
static gboolean
is_runtime_code (gpointer code)
{
#ifdef HAVE_DLADDR
  Dl_info info;

  return dladdr (code, &info) == 0;
#else
  return TRUE;
#endif
}

/* Any thread. Whether @func, given with @func_data_destroy, is a JavaScript
 * function; in a process that hosts GJS, @home receives (a reference to)
 * the context in which its data must be released. */
gboolean
tether_func_is_javascript (gpointer         func,
                           GDestroyNotify   func_data_destroy,
                           GMainContext   **home)
{
  if (func_data_destroy == NULL || !process_hosts_gjs ())
    return FALSE;
  *home = g_main_context_ref_thread_default ();
  return is_runtime_code (func);
}

/* Any thread. Whether GJS is loaded: a closure made here may then be a
 * JavaScript function, which only GJS's thread may call. */
gboolean
tether_process_hosts_javascript (void)
{
  return process_hosts_gjs ();
}

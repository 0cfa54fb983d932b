/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE  /* dladdr() */
#include "config.h"

#include <string.h>
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
 * functions, so this file uses two facts about GJS 1.74:
 *
 * - GJS registers the GjsContext type before any script can reach Tether
 *   (a GObject type name: public API, and cheap to ask once);
 * - a JavaScript function reaches C with GJS's own destroy notify, which is
 *   code in libgjs: dladdr() names the library it lives in.
 *
 * tests/js/testGjsThreads.js fails if either stops being true (a JavaScript
 * work function must be refused with TETHER_ERROR_INVALID_ARGUMENT, and its
 * data released on the JavaScript thread). Where dladdr() is missing
 * (HAVE_DLADDR unset) a process hosting GJS has every function with a
 * destroy notify treated as JavaScript: C work submitted from such a process
 * must then pass a NULL destroy notify. That is the safe side: refusing C
 * work is an error the caller sees; running JavaScript elsewhere crashes. */

static gboolean
process_hosts_gjs (void)
{
  static gsize hosts_gjs = 0;

  if (g_once_init_enter (&hosts_gjs))
    g_once_init_leave (&hosts_gjs, g_type_from_name ("GjsContext") != 0 ? 2 : 1);
  return hosts_gjs == 2;
}

static gboolean
is_gjs_destroy_notify (GDestroyNotify func_data_destroy)
{
#ifdef HAVE_DLADDR
  Dl_info info;
  const char *base;

  if (dladdr ((gpointer) func_data_destroy, &info) == 0 || info.dli_fname == NULL)
    return FALSE;
  base = strrchr (info.dli_fname, '/');
  return g_str_has_prefix (base != NULL ? base + 1 : info.dli_fname, "libgjs");
#else
  return TRUE;
#endif
}

/* Any thread. Whether @func_data_destroy shows its data to be a JavaScript
 * function; in a process that hosts GJS, @home receives (a reference to)
 * the context in which the data must be released. */
gboolean
tether_func_data_is_javascript (GDestroyNotify   func_data_destroy,
                                GMainContext   **home)
{
  if (func_data_destroy == NULL || !process_hosts_gjs ())
    return FALSE;
  *home = g_main_context_ref_thread_default ();
  return is_gjs_destroy_notify (func_data_destroy);
}

/* Any thread. Whether GJS is loaded: a closure made here may then be a
 * JavaScript function, which only GJS's thread may call. */
gboolean
tether_process_hosts_javascript (void)
{
  return process_hosts_gjs ();
}

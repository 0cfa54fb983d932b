/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE  /* dladdr() */
#include "config.h"

#ifdef HAVE_DLADDR
# include <dlfcn.h>
#endif
#include <stdio.h>

#include "tether-debug-private.h"

/* The process-wide defaults come from TETHER_DEBUG, read once. */
static TetherDebugFlags default_flags;
static gint64           default_slow_usec = TETHER_DEBUG_DEFAULT_SLOW_USEC;

static const GDebugKey debug_keys[] = {
  { "slow",        TETHER_DEBUG_FLAGS_SLOW },
  { "dropped",     TETHER_DEBUG_FLAGS_DROPPED },
  { "unretrieved", TETHER_DEBUG_FLAGS_UNRETRIEVED },
};

/* TETHER_DEBUG is a list of the keys above (or "all"), separated by commas,
 * colons, semicolons or spaces, plus "slow-ms=N" for the threshold. GLib's
 * parser handles "all" and "help"; the threshold is picked out first. */
static void
parse_env (void)
{
  const char *env = g_getenv ("TETHER_DEBUG");
  g_auto(GStrv) tokens = NULL;
  g_autoptr(GString) keys = g_string_new (NULL);

  if (env == NULL || env[0] == '\0')
    return;

  tokens = g_strsplit_set (env, ",:; ", -1);
  for (guint i = 0; tokens[i] != NULL; i++)
    {
      if (g_str_has_prefix (tokens[i], "slow-ms="))
        {
          guint64 ms;

          if (g_ascii_string_to_unsigned (tokens[i] + 8, 10, 0, G_MAXINT64 / 1000, &ms, NULL))
            default_slow_usec = (gint64) ms * 1000;
          else
            g_warning ("TETHER_DEBUG: '%s' is not slow-ms=<milliseconds>; keeping %" G_GINT64_FORMAT " ms",
                       tokens[i], default_slow_usec / 1000);
          continue;
        }
      if (tokens[i][0] == '\0')
        continue;
      if (keys->len > 0)
        g_string_append_c (keys, ',');
      g_string_append (keys, tokens[i]);
    }

  if (g_str_equal (keys->str, "help"))
    fprintf (stderr, "TETHER_DEBUG also takes slow-ms=N (the slow-work threshold, default 100)\n");
  default_flags = g_parse_debug_string (keys->str, debug_keys, G_N_ELEMENTS (debug_keys));
}

static void
ensure_parsed (void)
{
  static gsize parsed = 0;

  if (g_once_init_enter (&parsed))
    {
      parse_env ();
      g_once_init_leave (&parsed, 1);
    }
}

TetherDebugFlags
tether_debug_get_default_flags (void)
{
  ensure_parsed ();
  return default_flags;
}

gint64
tether_debug_get_default_slow_threshold (void)
{
  ensure_parsed ();
  return default_slow_usec;
}

/* A name (manager id, task type, work name) as every message quotes it:
 * valid UTF-8, so that the message is too, and at most
 * TETHER_NAME_MAX_CHARS characters followed by "…", so that a huge name does
 * not make a huge message. Returns %NULL for %NULL. */
char *
tether_describe_name (const char *name)
{
  g_autofree char *valid = NULL;
  const char *end;
  guint n;

  if (name == NULL)
    return NULL;
  if (!g_utf8_validate (name, -1, NULL))
    name = valid = g_utf8_make_valid (name, -1);

  for (end = name, n = 0; *end != '\0' && n < TETHER_NAME_MAX_CHARS; n++)
    end = g_utf8_next_char (end);
  if (*end == '\0')
    return g_strdup (name);
  return g_strdup_printf ("%.*s…", (int) (end - name), name);
}

/* The C symbol of a work function when the dynamic linker knows it (exported
 * functions, or everything with -rdynamic), else its module and address. */
char *
tether_debug_describe_func (gpointer func)
{
#ifdef HAVE_DLADDR
  Dl_info info;

  if (dladdr (func, &info) != 0)
    {
      if (info.dli_sname != NULL && info.dli_saddr == func)
        return g_strdup (info.dli_sname);
      if (info.dli_fname != NULL)
        {
          g_autofree char *base = g_path_get_basename (info.dli_fname);

          return g_strdup_printf ("%s+0x%" G_GINTPTR_MODIFIER "x", base,
                                  (guintptr) func - (guintptr) info.dli_fbase);
        }
    }
#endif
  return g_strdup_printf ("%p", func);
}

/* Every name is quoted as tether_describe_name() makes it, in the message
 * and in the fields alike. */
static void
log_warning (const char *manager,
             const char *task_type,
             const char *work,
             const char *message)
{
  g_autofree char *task_type_shown = tether_describe_name (task_type);
  const GLogField fields[] = {
    { "GLIB_DOMAIN", "Tether", -1 },
    { "PRIORITY", "4", -1 },
    { "MESSAGE", message, -1 },
    { "TETHER_MANAGER", manager, -1 },
    { "TETHER_TASK_TYPE", task_type_shown != NULL ? task_type_shown : "", -1 },
    { "TETHER_WORK", work, -1 },
  };

  g_log_structured_array (G_LOG_LEVEL_WARNING, fields, G_N_ELEMENTS (fields));
}

void
tether_debug_log_slow (const char *manager,
                       const char *task_type,
                       const char *work,
                       gint64      usec,
                       gint64      threshold)
{
  g_autofree char *manager_shown = tether_describe_name (manager);
  g_autofree char *work_shown = tether_describe_name (work);
  g_autofree char *message =
    g_strdup_printf ("Work %s on manager '%s' ran for %.3f ms, over the %.3f ms slow-work "
                     "threshold; nothing else on that manager ran meanwhile. Split it, or "
                     "move it to a manager of its own",
                     work_shown, manager_shown, usec / 1000.0, threshold / 1000.0);

  log_warning (manager_shown, task_type, work_shown, message);
}

void
tether_debug_log_dropped (const char *manager,
                          const char *task_type,
                          const char *work,
                          const char *why)
{
  g_autofree char *manager_shown = tether_describe_name (manager);
  g_autofree char *work_shown = tether_describe_name (work);
  g_autofree char *message =
    g_strdup_printf ("Work %s queued on manager '%s' was dropped unrun: %s",
                     work_shown, manager_shown, why);

  log_warning (manager_shown, task_type, work_shown, message);
}

void
tether_debug_log_unretrieved (const char   *manager,
                              const char   *task_type,
                              const char   *work,
                              const GError *error)
{
  g_autofree char *manager_shown = tether_describe_name (manager);
  g_autofree char *work_shown = tether_describe_name (work);
  g_autofree char *message =
    g_strdup_printf ("A future for work %s on manager '%s' failed and was finalized without "
                     "anyone reading its error: %s (%s, %d). Wait on the future or read "
                     "tether_future_dup_error()",
                     work_shown, manager_shown, error->message,
                     g_quark_to_string (error->domain), error->code);

  log_warning (manager_shown, task_type, work_shown, message);
}

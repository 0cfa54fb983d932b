/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <libintl.h>

#include "tether-i18n-private.h"

/* Any thread. The text domain is bound on first use, so that a program
 * that never meets an error pays nothing, and one installed in a prefix
 * other than gettext's default still finds its catalogues. */
const char *
tether_gettext (const char *message)
{
  static gsize bound = 0;

  if (g_once_init_enter (&bound))
    {
      bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
      g_once_init_leave (&bound, 1);
    }
  return g_dgettext (GETTEXT_PACKAGE, message);
}

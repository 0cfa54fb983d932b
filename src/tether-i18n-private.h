/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef TETHER_COMPILATION
# error "tether-i18n-private.h is internal to libtether"
#endif

#include <glib.h>

G_BEGIN_DECLS

/* Marks a message for translation (po/POTFILES.in lists the files that use
 * it) and translates it in Tether's text domain. */
#define _(message) tether_gettext (message)
#define N_(message) (message)

const char *tether_gettext (const char *message) G_GNUC_FORMAT (1);

G_END_DECLS

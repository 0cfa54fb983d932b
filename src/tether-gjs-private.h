/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef TETHER_COMPILATION
# error "tether-gjs-private.h is internal to libtether"
#endif

#include <glib.h>

G_BEGIN_DECLS

gboolean tether_func_is_javascript (gpointer         func,
                                    GDestroyNotify   func_data_destroy,
                                    GMainContext   **home);

gboolean tether_process_hosts_javascript (void);

G_END_DECLS

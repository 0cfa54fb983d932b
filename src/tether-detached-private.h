/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef TETHER_COMPILATION
# error "tether-detached-private.h is internal to libtether"
#endif

#include <glib.h>

G_BEGIN_DECLS

void     tether_detached_add    (void);
void     tether_detached_remove (void);
gboolean tether_detached_wait   (gint64 deadline);
void     tether_detached_lock   (void);
void     tether_detached_unlock (void);
void     tether_detached_reset_in_child (void);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-fork-private.h"
#endif

#include <glib.h>

G_BEGIN_DECLS

void tether_fork_init (void);

G_END_DECLS

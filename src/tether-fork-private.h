/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-fork-private.h"
#endif

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TetherCore TetherCore;

void tether_fork_track   (TetherCore *core);
void tether_fork_untrack (TetherCore *core);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-registry-private.h"
#endif

#include <glib.h>

G_BEGIN_DECLS

#include "tether-lineage.h"

/* Tests: registers @object (any GObject) as @key on @node, owned by the
 * calling thread, as a registration would, without a manager. */
void tether_registry_insert_object (TetherLineage *node,
                                    const char    *key,
                                    gpointer       object);

G_END_DECLS

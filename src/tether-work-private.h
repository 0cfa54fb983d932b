/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-work-private.h"
#endif

#include "tether-job-private.h"

G_BEGIN_DECLS

TetherWork *tether_work_new     (TetherJob  *job);
TetherWork *tether_work_new_reusable (TetherJob  *job,
                                      TetherWork *spare);
TetherWork *tether_work_release (TetherWork *self);
void        tether_work_discard (TetherWork *self);

G_END_DECLS

G_BEGIN_DECLS

GType    tether_owned_pointer_get_type (void) G_GNUC_CONST;
gpointer tether_owned_pointer_get      (const GValue *value);
GValue  *tether_owned_pointer_value_new (gpointer       data,
                                         GDestroyNotify destroy);

G_END_DECLS

/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-future-private.h"
#endif

#include "tether-job-private.h"

G_BEGIN_DECLS

TetherFuture *tether_future_new      (TetherJob    *job);
void          tether_future_complete (TetherFuture *self,
                                      GValue       *value,
                                      GError       *error);
void          tether_future_report_progress (TetherFuture *self,
                                             GVariant     *progress);

/* What a job needs of its future. */
extern const TetherJobSinkFuncs tether_future_sink;

G_END_DECLS

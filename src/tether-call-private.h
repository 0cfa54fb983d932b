/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-call-private.h"
#endif

#include "tether-core-private.h"

G_BEGIN_DECLS

gboolean tether_call_run (TetherCore     *core,
                          const char     *task_type,
                          int             priority,
                          TetherWorkFunc  func,
                          gpointer        func_data,
                          GCancellable   *cancellable,
                          GValue         *result,
                          GError        **error);

gboolean tether_closure_is_javascript (GClosure   *closure);
void     tether_closure_take          (GClosure   *closure);
void     tether_closure_work          (TetherWork *work,
                                       gpointer    data);
void     tether_closure_take_post     (GClosure   *closure);
void     tether_closure_post          (gpointer    data);

gboolean tether_call_run_closure (TetherCore     *core,
                                  const char     *task_type,
                                  GClosure       *closure,
                                  GCancellable   *cancellable,
                                  GValue         *result,
                                  GError        **error);

G_END_DECLS

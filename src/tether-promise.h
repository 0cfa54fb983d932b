/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <gio/gio.h>

#include "tether-future.h"
#include "tether-version-macros.h"

G_BEGIN_DECLS

#define TETHER_TYPE_PROMISE (tether_promise_get_type ())

TETHER_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (TetherPromise, tether_promise, TETHER, PROMISE, GObject)

TETHER_AVAILABLE_IN_1_0
TetherPromise *tether_promise_new              (void) G_GNUC_WARN_UNUSED_RESULT;
TETHER_AVAILABLE_IN_1_0
TetherFuture  *tether_promise_get_future       (TetherPromise  *self);
TETHER_AVAILABLE_IN_1_0
GCancellable  *tether_promise_get_cancellable  (TetherPromise  *self);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_resolve_value    (TetherPromise  *self,
                                                const GValue   *value);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_resolve_boolean  (TetherPromise  *self,
                                                gboolean        value);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_resolve_int      (TetherPromise  *self,
                                                int             value);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_resolve_int64    (TetherPromise  *self,
                                                gint64          value);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_resolve_double   (TetherPromise  *self,
                                                double          value);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_resolve_string   (TetherPromise  *self,
                                                const char     *value);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_resolve_object   (TetherPromise  *self,
                                                gpointer        value);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_resolve_variant  (TetherPromise  *self,
                                                GVariant       *value);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_resolve_pointer  (TetherPromise  *self,
                                                gpointer        value,
                                                GDestroyNotify  value_destroy);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_reject           (TetherPromise  *self,
                                                GError         *error);
TETHER_AVAILABLE_IN_1_0
void           tether_promise_complete_from    (TetherPromise  *self,
                                                TetherFuture   *future);


G_END_DECLS

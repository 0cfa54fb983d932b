/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#ifndef PACKAGE_VERSION
# error "config.h must be included before tether-future-private.h"
#endif

#include "tether-job-private.h"

G_BEGIN_DECLS

/* What tether_future_cancel() does to a future completed by code. */
typedef void (*TetherFutureCancelFunc) (TetherFuture *future,
                                        gpointer      data);

TetherFuture *tether_future_new      (TetherJob    *job);
TetherFuture *tether_future_new_detached (const char             *label,
                                          TetherFutureCancelFunc  cancel_func,
                                          gpointer                cancel_data,
                                          GDestroyNotify          cancel_destroy);
gboolean      tether_future_try_complete (TetherFuture *self,
                                          GValue       *value,
                                          GError       *error);
gboolean      tether_future_is_detached (TetherFuture *self);
void          tether_future_report_unretrieved (TetherFuture *self,
                                                const char   *owner,
                                                const char   *task_type,
                                                const char   *work);

typedef void (*TetherFutureListenFunc) (TetherFuture *future,
                                        gpointer      data);
void          tether_future_listen   (TetherFuture           *self,
                                      TetherFutureListenFunc  func,
                                      gpointer                data);
void          tether_future_complete (TetherFuture *self,
                                      GValue       *value,
                                      GError       *error);
void          tether_future_report_progress (TetherFuture *self,
                                             GVariant     *progress);
void          tether_future_forward_progress (TetherFuture *self,
                                              TetherFuture *to);

/* For a future completed by code whose producer can tell that a blocking
 * wait could never end (a pool: see tether-pool.c): @begin runs before a
 * blocking wait and may refuse it with an error; @end runs after a wait
 * @begin let through. Both get the future's cancel data. */
typedef struct
{
  gboolean (*begin) (TetherFuture  *future,
                     gpointer       data,
                     GError       **error);
  void     (*end)   (TetherFuture  *future,
                     gpointer       data);
} TetherFutureWaitHooks;

void          tether_future_set_wait_hooks (TetherFuture                *self,
                                            const TetherFutureWaitHooks *hooks);

/* What a job needs of its future. */
extern const TetherJobSinkFuncs tether_future_sink;

G_END_DECLS

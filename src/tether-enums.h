/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <glib.h>

G_BEGIN_DECLS

/**
 * TetherStopMode:
 * @TETHER_STOP_MODE_DRAIN: run every submission already accepted, wait for
 *   work still in flight, then stop. Timers that have not fired yet end
 *   cancelled.
 * @TETHER_STOP_MODE_CANCEL: accepted work that has not started ends with
 *   %G_IO_ERROR_CANCELLED without running; work already running sees its
 *   cancellable fire and the stop waits for it to end.
 *
 * How [method@Tether.LoopManager.stop] treats work that was accepted before
 * the stop began.
 *
 * Since: 1.0
 */
typedef enum
{
  TETHER_STOP_MODE_DRAIN,
  TETHER_STOP_MODE_CANCEL,
} TetherStopMode;

/**
 * TetherFutureStatus:
 * @TETHER_FUTURE_STATUS_PENDING: the work has not ended yet
 * @TETHER_FUTURE_STATUS_SUCCEEDED: the work returned, with or without a value
 * @TETHER_FUTURE_STATUS_FAILED: the work returned an error
 * @TETHER_FUTURE_STATUS_CANCELLED: the work was cancelled before it ran, or
 *   returned a %G_IO_ERROR_CANCELLED error
 *
 * The state of a [class@Tether.Future]. Every state but
 * %TETHER_FUTURE_STATUS_PENDING is final.
 *
 * Since: 1.0
 */
typedef enum
{
  TETHER_FUTURE_STATUS_PENDING,
  TETHER_FUTURE_STATUS_SUCCEEDED,
  TETHER_FUTURE_STATUS_FAILED,
  TETHER_FUTURE_STATUS_CANCELLED,
} TetherFutureStatus;

/**
 * TetherLookupFlags:
 * @TETHER_LOOKUP_FLAGS_NONE: walk from the calling thread up through its
 *   ancestors; the first manager (or pool) registered under the id wins; if
 *   there is none, create one and register it on the calling thread
 * @TETHER_LOOKUP_FLAGS_FORCE_CREATE: always create a new manager and
 *   register it on the calling thread, replacing that thread's entry; in a
 *   thread that adopted a lineage, that is the adopted thread's entry, seen
 *   by everyone who resolves through it
 * @TETHER_LOOKUP_FLAGS_STRICT: never create; fail with
 *   %TETHER_ERROR_MANAGER_NOT_FOUND instead
 *
 * How [func@Tether.LoopManager.get_or_create] and
 * [func@Tether.Pool.get_or_create] resolve an id.
 *
 * Since: 1.0
 */
typedef enum /*< flags >*/
{
  TETHER_LOOKUP_FLAGS_NONE         = 0,
  TETHER_LOOKUP_FLAGS_FORCE_CREATE = 1 << 0,
  TETHER_LOOKUP_FLAGS_STRICT       = 1 << 1,
} TetherLookupFlags;

/**
 * TetherDebugFlags:
 * @TETHER_DEBUG_FLAGS_NONE: no debug output
 * @TETHER_DEBUG_FLAGS_SLOW: warn when one work function runs longer than the
 *   manager's [property@Tether.LoopManager:slow-threshold]
 * @TETHER_DEBUG_FLAGS_DROPPED: when a stop cancels queued work unrun, log
 *   each submission it drops
 * @TETHER_DEBUG_FLAGS_UNRETRIEVED: when a future that failed is finalized
 *   without anyone having read its error, log the error
 *
 * What a manager's debug mode reports, through `g_log_structured()` under
 * the `Tether` log domain. See [property@Tether.LoopManager:debug-flags] and
 * the `TETHER_DEBUG` environment variable.
 *
 * Since: 1.0
 */
typedef enum /*< flags >*/
{
  TETHER_DEBUG_FLAGS_NONE        = 0,
  TETHER_DEBUG_FLAGS_SLOW        = 1 << 0,
  TETHER_DEBUG_FLAGS_DROPPED     = 1 << 1,
  TETHER_DEBUG_FLAGS_UNRETRIEVED = 1 << 2,
} TetherDebugFlags;

/**
 * TetherCombineFlags:
 * @TETHER_COMBINE_FLAGS_NONE: leave the inputs alone
 * @TETHER_COMBINE_FLAGS_CANCEL_REST: once the combined future's outcome is
 *   decided, cancel the inputs still pending ([func@Tether.Future.all] on
 *   the first error, [func@Tether.Future.any] on the first success,
 *   [func@Tether.Future.first] on the first to end)
 * @TETHER_COMBINE_FLAGS_PROPAGATE_CANCEL: cancelling the combined future
 *   cancels every input still pending
 *
 * How a combined future treats its inputs.
 *
 * Since: 1.0
 */
typedef enum /*< flags >*/
{
  TETHER_COMBINE_FLAGS_NONE             = 0,
  TETHER_COMBINE_FLAGS_CANCEL_REST      = 1 << 0,
  TETHER_COMBINE_FLAGS_PROPAGATE_CANCEL = 1 << 1,
} TetherCombineFlags;

G_END_DECLS

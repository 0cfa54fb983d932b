/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#if !defined (TETHER_INSIDE) && !defined (TETHER_COMPILATION)
# error "Only <tether.h> can be included directly."
#endif

#include <glib.h>

#include "tether-version-macros.h"

G_BEGIN_DECLS

/**
 * TETHER_ERROR:
 *
 * The error domain of Tether: errors in it carry a [error@Tether.Error] code.
 *
 * Since: 1.0
 */
#define TETHER_ERROR (tether_error_quark ())

/**
 * TetherError:
 * @TETHER_ERROR_NOT_RUNNING: the manager is not running or has begun stopping
 * @TETHER_ERROR_ALREADY_RUNNING: the manager is already running
 * @TETHER_ERROR_MANAGER_NOT_FOUND: no manager (or, for a pool lookup, no
 *   pool) is registered for that id
 * @TETHER_ERROR_UNKNOWN_TASK_TYPE: the submission's task type is not the one
 *   the manager accepts
 * @TETHER_ERROR_WOULD_DEADLOCK: the wait could never end, because the
 *   waiting thread is the one that must complete the work
 * @TETHER_ERROR_BUSY: the manager's queue is full
 * @TETHER_ERROR_TIMED_OUT: the wait ran out of time; the work goes on
 * @TETHER_ERROR_INVALID_ARGUMENT: an argument combination that cannot be honoured,
 *   or a JavaScript function submitted as work from GJS
 * @TETHER_ERROR_ABANDONED: the work dropped its [class@Tether.Work] without
 *   returning a value or an error
 * @TETHER_ERROR_FAILED: work written in a language binding raised an
 *   exception; the message starts with the exception's type, as in
 *   `ValueError: bad input`
 * @TETHER_ERROR_WRONG_TYPE: a typed getter of [class@Tether.Future] was
 *   called on a future whose work returned a value of another type
 *
 * Error codes in the %TETHER_ERROR domain.
 *
 * Since: 1.0
 */
typedef enum
{
  TETHER_ERROR_NOT_RUNNING,
  TETHER_ERROR_ALREADY_RUNNING,
  TETHER_ERROR_MANAGER_NOT_FOUND,
  TETHER_ERROR_UNKNOWN_TASK_TYPE,
  TETHER_ERROR_WOULD_DEADLOCK,
  TETHER_ERROR_BUSY,
  TETHER_ERROR_TIMED_OUT,
  TETHER_ERROR_INVALID_ARGUMENT,
  TETHER_ERROR_ABANDONED,
  TETHER_ERROR_FAILED,
  TETHER_ERROR_WRONG_TYPE,
} TetherError;

TETHER_AVAILABLE_IN_1_0
GQuark tether_error_quark (void);

G_END_DECLS

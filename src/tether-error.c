/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-error.h"

/**
 * tether_error_quark:
 *
 * The quark behind %TETHER_ERROR.
 *
 * Thread: any thread.
 *
 * Returns: the error domain of Tether
 *
 * Since: 1.0
 */
G_DEFINE_QUARK (tether-error-quark, tether_error)

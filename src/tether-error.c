/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tether-error.h"

G_DEFINE_QUARK (tether-error-quark, tether_error)

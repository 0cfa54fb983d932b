/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define TETHER_INSIDE
# include "tether-version.h"
# include "tether-version-macros.h"
# include "tether-enums.h"
# include "tether-enum-types.h"
# include "tether-error.h"
# include "tether-work.h"
# include "tether-executor.h"
# include "tether-future.h"
# include "tether-promise.h"
# include "tether-lineage.h"
# include "tether-loop-manager.h"
# include "tether-pool.h"
# include "tether-registry.h"
#undef TETHER_INSIDE

G_END_DECLS

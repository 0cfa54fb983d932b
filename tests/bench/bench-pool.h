/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  double speedup_2;               /* one manager's time / a 2-thread pool's */
  double vs_gthreadpool;          /* GThreadPool's time / the pool's (2 threads) */
  double vs_gtask;                /* GTask's time / the pool's */
  double trivial_vs_gthreadpool;  /* per-job cost, pool / GThreadPool */
} BenchPoolResults;

void bench_pool (gboolean          quick,
                 BenchPoolResults *results);

G_END_DECLS

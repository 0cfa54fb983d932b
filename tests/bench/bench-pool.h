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

/* Shared with tether-bench.c: qsort()'s comparison of doubles, and the
 * median of @n values, which it sorts in place (so values[0] and
 * values[n - 1] are then the min and max). */
int    bench_compare_doubles (const void *a,
                              const void *b);
double bench_median          (double     *values,
                              guint       n);

void bench_pool (gboolean          quick,
                 BenchPoolResults *results);

G_END_DECLS

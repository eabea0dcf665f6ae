/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Small helpers the benchmark programs share. */
#ifndef XLB_BENCHUTIL_H
#define XLB_BENCHUTIL_H

#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* qsort comparator for doubles (medians). */
static inline int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif /* XLB_BENCHUTIL_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Small helpers the benchmark programs share. */
#ifndef XLB_BENCHUTIL_H
#define XLB_BENCHUTIL_H

#include "lib/util.h"

/* qsort comparator for doubles (medians). */
static inline int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#endif /* XLB_BENCHUTIL_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Small helpers every program of xlb needs once. */
#ifndef XLB_LIB_UTIL_H
#define XLB_LIB_UTIL_H

#include <linux/types.h>

/* CLOCK_MONOTONIC: the clock of bpf_ktime_get_ns(), so of the datapath's
 * deadlines, and of every interval the agent measures. */
__u64 xlb_mono_ns(void);

static inline __u64 xlb_mono_ms(void)
{
	return xlb_mono_ns() / 1000000;
}

#endif /* XLB_LIB_UTIL_H */

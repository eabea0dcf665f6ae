/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Internet checksum helpers for XDP, where packets carry full checksums.
 * Incremental updates follow RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'),
 * which never produces -0. Words are summed as they lie in memory: the
 * one's complement sum is byte-order independent as long as the field is
 * read the same way, so no swapping is needed.
 */
#ifndef XLB_BPF_CSUM_H
#define XLB_BPF_CSUM_H

#include "common.h"

static __always_inline __u16 csum_fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __always_inline void csum_replace4(__u16 *sum, __u32 from, __u32 to)
{
	__u32 s = (__u16) ~*sum;

	from = ~from;
	s += (from & 0xffff) + (from >> 16);
	s += (to & 0xffff) + (to >> 16);
	*sum = csum_fold32(s);
}

static __always_inline void csum_replace2(__u16 *sum, __u16 from, __u16 to)
{
	__u32 s = (__u16) ~*sum;

	s += (__u16)~from;
	s += to;
	*sum = csum_fold32(s);
}

#endif /* XLB_BPF_CSUM_H */

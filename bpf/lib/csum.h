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

/* The sum of ~@from + @to over the four words of two IPv6 addresses: what
 * a checksum covering the address changes by when it goes from @from to
 * @to (add it to ~HC, then fold). Read both before writing either: @from
 * may be the packet's own field. The helper, not C: four words in
 * registers beside the path's live values make clang spill, and the
 * spills sit on the 512-byte stack of the whole call chain. */
static __always_inline __u32 csum_diff16(const __be32 *from, const __be32 *to)
{
	__s64 d = bpf_csum_diff((__be32 *)from, 16, (__be32 *)to, 16, 0);

	return d < 0 ? 0 : (__u32)d;
}

/* HC' = ~(~HC + diff), RFC 1624 eqn. 3 with a precomputed difference. */
static __always_inline void csum_add_diff(__u16 *sum, __u32 diff)
{
	__u32 s = (__u16) ~*sum;

	s += (diff & 0xffff) + (diff >> 16);
	*sum = csum_fold32(s);
}

#endif /* XLB_BPF_CSUM_H */

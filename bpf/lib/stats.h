/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counters: one per verdict reason and one per service port, per CPU, so
 * the fast path never takes an atomic. xlbctl sums the CPUs.
 */
#ifndef XLB_BPF_STATS_H
#define XLB_BPF_STATS_H

#include "maps.h"

static __always_inline void xlb_count_reason(__u32 reason, __u64 bytes)
{
	struct xlb_counter *c = bpf_map_lookup_elem(&xlb_reasons, &reason);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void xlb_count_svc(__u32 svc_id, __u64 bytes)
{
	struct xlb_counter *c = bpf_map_lookup_elem(&xlb_svc_stats, &svc_id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

#endif /* XLB_BPF_STATS_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The forwarding benchmark's sinks (xdp_sink.bpf.c, tc_sink.bpf.c): one
 * per-CPU counter, and the frames they count and drop: IPv4/UDP. Every
 * other frame (ARP, IPv6 neighbour discovery) goes on to the stack.
 */
#ifndef XLB_BENCH_SINK_H
#define XLB_BENCH_SINK_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

/* Counts the frame [data, end) if it is IPv4/UDP; non-zero: drop it. */
static __always_inline int sink_take(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 k = 0;
	__u64 *c;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP)
		return 0;
	c = bpf_map_lookup_elem(&sink_count, &k);
	if (c)
		*c += 1;
	return 1;
}

#endif

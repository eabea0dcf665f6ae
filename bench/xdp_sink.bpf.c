// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Forwarding benchmark sink: count and drop every frame. On the Pod's veth
 * it is a cheap receiver (the packets a contender delivered are counted,
 * nothing above XDP runs); on the node's uplink it measures the traffic
 * generator's own ceiling (what the node receives at best).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&sink_count, &k);

	if (c)
		*c += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

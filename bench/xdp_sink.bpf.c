// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Forwarding benchmark sink, XDP: count and drop every IPv4/UDP frame, pass
 * everything else. On the node's uplink it is the XDP floor (what the node
 * pays at best to see a frame: on a veth, the skb-to-XDP-buffer copy and
 * the program). The Pod side uses bench/tc_sink.bpf.c instead: a packet a
 * contender delivers with bpf_redirect_peer never meets the Pod veth's XDP.
 */
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

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 k = 0;
	__u64 *c;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	c = bpf_map_lookup_elem(&sink_count, &k);
	if (c)
		*c += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Forwarding benchmark sink, tc ingress (clsact): count and drop every
 * IPv4/UDP frame, pass everything else (ARP, IPv6 neighbour discovery) to
 * the stack. On the Pod's eth0 it counts what a contender delivered, by the
 * stack or by bpf_redirect_peer alike (a peer redirect skips the Pod veth's
 * XDP and NAPI but not its tc ingress); on the node's uplink it is the tc
 * floor: what the node pays to receive an skb, and nothing more.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_count SEC(".maps");

SEC("tc")
int tc_sink(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 k = 0;
	__u64 *c;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP)
		return TC_ACT_OK;
	c = bpf_map_lookup_elem(&sink_count, &k);
	if (c)
		*c += 1;
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

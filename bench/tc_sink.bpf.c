// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Forwarding benchmark sink, tc ingress (clsact): count and drop every
 * IPv4/UDP frame, pass everything else (ARP, IPv6 neighbour discovery) to
 * the stack. On the Pod's eth0 it counts what a contender delivered, by the
 * stack or by bpf_redirect_peer alike (a peer redirect skips the Pod veth's
 * XDP and NAPI but not its tc ingress); on the node's uplink it is the tc
 * floor: what the node pays to receive an skb, and nothing more.
 */
#include "sink.h"
#include <linux/pkt_cls.h>

SEC("tc")
int tc_sink(struct __sk_buff *skb)
{
	return sink_take((void *)(long)skb->data, (void *)(long)skb->data_end) ? TC_ACT_SHOT :
										 TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

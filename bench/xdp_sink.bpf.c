// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Forwarding benchmark sink, XDP: count and drop every IPv4/UDP frame, pass
 * everything else. On the node's uplink it is the XDP floor (what the node
 * pays at best to see a frame: on a veth, the skb-to-XDP-buffer copy and
 * the program). The Pod side uses bench/tc_sink.bpf.c instead: a packet a
 * contender delivers with bpf_redirect_peer never meets the Pod veth's XDP.
 */
#include "sink.h"

SEC("xdp")
int xdp_sink(struct xdp_md *ctx)
{
	return sink_take((void *)(long)ctx->data, (void *)(long)ctx->data_end) ? XDP_DROP :
										 XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

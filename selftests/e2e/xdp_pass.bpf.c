// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * e2e helper: a do-nothing XDP program. Attached to the peer of a veth that
 * receives XDP_TX / XDP_REDIRECT frames (the client's c0, node2's n2n1) so
 * that veth has NAPI and the frames are delivered instead of dropped.
 */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Sending a translated packet on from XDP: a FIB lookup gives the egress
 * interface and both MACs; the packet leaves with XDP_TX (same interface)
 * or bpf_redirect. When the FIB cannot give a usable next hop (no
 * neighbour entry yet, a VLAN frame, TTL about to expire) the already
 * translated packet is passed to the stack, which forwards it and does
 * the neighbour resolution / ICMP time-exceeded itself.
 */
#ifndef XLB_BPF_FWD_H
#define XLB_BPF_FWD_H

#include "csum.h"
#include "parse.h"

static __always_inline int xlb_fib4(struct xdp_md *ctx, const struct xlb_pkt *p,
				    __be32 saddr, __be32 daddr,
				    struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->ip->tos;
	fib->l4_protocol = p->tuple.proto;
	fib->tot_len = bpf_ntohs(p->ip->tot_len);
	fib->ifindex = ctx->ingress_ifindex;
	fib->ipv4_src = saddr;
	fib->ipv4_dst = daddr;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/* @fib_rc/@fib: a lookup made for the packet's (translated) destination.
 * Returns the XDP verdict; *@passed says whether the stack got it. */
static __always_inline int xlb_xmit4(struct xdp_md *ctx, struct xlb_pkt *p,
				     int fib_rc, const struct bpf_fib_lookup *fib,
				     bool *passed)
{
	struct iphdr *ip = p->ip;

	*passed = true;
	if (fib_rc != BPF_FIB_LKUP_RET_SUCCESS || p->vlan || ip->ttl <= 1)
		return XDP_PASS;
	/* We route: TTL down by one, checksum follows (TTL is the high byte
	 * of its 16-bit word). */
	csum_replace2(&ip->check, bpf_htons((__u16)ip->ttl << 8),
		      bpf_htons((__u16)(ip->ttl - 1) << 8));
	ip->ttl--;
	__builtin_memcpy(p->eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, fib->smac, ETH_ALEN);
	*passed = false;
	if (fib->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib->ifindex, 0);
}

#endif /* XLB_BPF_FWD_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Sending a translated packet on from XDP: a FIB lookup gives the egress
 * interface and both MACs; the packet leaves with XDP_TX (same interface)
 * or bpf_redirect.
 *
 * When the next hop's MAC is not known yet (NO_NEIGH), XDP cannot resolve
 * it, and handing the packet to the stack's forwarding path fails: its
 * source is now one of the node's own addresses, which the stack drops as
 * martian. So XDP leaves a note in the packet's metadata (egress ifindex)
 * and passes it; xlb_tc_ingress finds the note and sends the packet with
 * bpf_redirect_neigh, which resolves the neighbour like locally generated
 * traffic. For the same reason nothing translated is ever passed to the
 * stack to forward: a VLAN-tagged frame for a remote backend and a packet
 * whose TTL would expire are dropped, counted.
 */
#ifndef XLB_BPF_FWD_H
#define XLB_BPF_FWD_H

#include "csum.h"
#include "parse.h"

#define XLB_META_MAGIC 0x786c6231u	/* "xlb1" */

/* XDP -> tc ingress note, in the packet's metadata area. */
struct xlb_meta {
	__u32 magic;
	__u32 ifindex;		/* egress for bpf_redirect_neigh */
};

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

/* XLB_R_MAX when the packet can be sent on, else the drop reason. */
static __always_inline __u32 xlb_xmit4_check(const struct xlb_pkt *p, int fib_rc)
{
	if (fib_rc != BPF_FIB_LKUP_RET_SUCCESS && fib_rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return XLB_R_DROP_FIB;
	if (p->vlan)
		return XLB_R_DROP_VLAN_REMOTE;
	if (p->ip->ttl <= 1)
		return XLB_R_DROP_TTL;
	return XLB_R_MAX;
}

/* @fib_rc/@fib: a lookup made for the packet's (translated) destination.
 * Returns the XDP verdict; *@reason says what was done. */
static __always_inline int xlb_xmit4(struct xdp_md *ctx, struct xlb_pkt *p,
				     int fib_rc, const struct bpf_fib_lookup *fib,
				     __u32 *reason)
{
	struct iphdr *ip = p->ip;
	struct xlb_meta *meta;
	void *data;
	__u32 ifindex;

	*reason = xlb_xmit4_check(p, fib_rc);
	if (*reason != XLB_R_MAX)
		return XDP_DROP;
	/* We route: TTL down by one, checksum follows (TTL is the high byte
	 * of its 16-bit word). */
	csum_replace2(&ip->check, bpf_htons((__u16)ip->ttl << 8),
		      bpf_htons((__u16)(ip->ttl - 1) << 8));
	ip->ttl--;

	if (fib_rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		ifindex = fib->ifindex;
		*reason = XLB_R_FWD_NEIGH;
		if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
			return XDP_PASS;	/* the stack's own chance */
		meta = (void *)(long)ctx->data_meta;
		data = (void *)(long)ctx->data;
		if ((void *)(meta + 1) > data)
			return XDP_PASS;
		meta->magic = XLB_META_MAGIC;
		meta->ifindex = ifindex;
		return XDP_PASS;
	}
	__builtin_memcpy(p->eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, fib->smac, ETH_ALEN);
	*reason = XLB_R_FWD_REMOTE;
	if (fib->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib->ifindex, 0);
}

#endif /* XLB_BPF_FWD_H */

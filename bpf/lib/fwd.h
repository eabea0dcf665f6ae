/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Sending a translated packet on. The FIB lookup is made for the
 * translated tuple (source, destination, ports: what the flow's later
 * packets look like, so policy routing and L4 ECMP pick one path for the
 * whole flow) before anything is written, so a packet that cannot be sent
 * leaves untouched and counted.
 *
 * XDP finishes the job only where it can: the egress is an XDP-capable
 * uplink (in the xlb_tx_devs DEVMAP, or the ingress itself: XDP_TX) and the
 * next hop's MAC is known. A lookup miss in the DEVMAP is a decision, not a
 * silent driver drop: the packet (already translated) goes to tc ingress
 * with a note in its metadata, and xlb_tc_ingress sends it with
 * bpf_redirect_neigh, which goes through the stack's xmit and neighbour
 * code and so works for tunnel (VXLAN, IPIP, WireGuard), VLAN and any
 * other device, and resolves unknown neighbours. Handing a translated
 * packet to the stack's forwarding path instead fails: its source is now
 * one of the node's own addresses, which the stack drops as martian.
 *
 * tc sends remote packets with bpf_redirect_neigh directly, and delivers
 * a local Pod's packet straight into the Pod's veth with bpf_redirect_peer
 * (no second pass through the stack; the Pod sees the client's address),
 * when the FIB's device is a Pod veth the agent listed in xlb_peer_devs.
 * Anything else local goes up the stack (DNAT only: not martian).
 */
#ifndef XLB_BPF_FWD_H
#define XLB_BPF_FWD_H

#include "csum.h"
#include "ctx.h"
#include "maps.h"
#include "parse.h"

#define XLB_META_MAGIC 0x786c6231u	/* "xlb1": bpf_redirect_neigh */
#define XLB_META_PEER  0x786c6232u	/* "xlb2": bpf_redirect_peer */

/* XDP -> tc ingress note, in the packet's metadata area. */
struct xlb_meta {
	__u32 magic;		/* what tc is to do */
	__u32 ifindex;		/* where */
};

static __always_inline int xlb_fib4(struct xlb_ctx *c, const struct xlb_pkt *p,
				    __be32 saddr, __be32 daddr, __be16 sport, __be16 dport,
				    struct bpf_fib_lookup *fib, __u32 flags)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->tos;
	fib->l4_protocol = p->tuple.proto;
	fib->sport = sport;
	fib->dport = dport;
	/* tot_len is checked against the route's MTU. A GSO skb leaves it 0
	 * so the kernel checks the skb itself, segment-wise (a 64 KB GSO
	 * skb fits a 1500 MTU). */
	fib->tot_len = p->gso ? 0 : p->tot_len;
	fib->ifindex = c->ifindex;
	fib->ipv4_src = saddr;
	fib->ipv4_dst = daddr;
	return bpf_fib_lookup(c->ctx, fib, sizeof(*fib), flags);
}

/* XLB_R_MAX when the packet can be routed by us, else the drop reason. */
static __always_inline __u32 xlb_route_check(const struct xlb_ctx *c,
					     const struct xlb_pkt *p)
{
	/* XDP would send a tagged frame's translation untagged; tc sees the
	 * VLAN device's own skbs (the tag is metadata there). */
	if (p->vlan && !xlb_is_tc(c))
		return XLB_R_DROP_VLAN_REMOTE;
	if (p->ttl <= 1)
		return XLB_R_DROP_TTL;
	return XLB_R_MAX;
}

/* We route: TTL down by one, checksum follows (TTL is the high byte of its
 * 16-bit word, the protocol the low one). */
static __always_inline int xlb_ttl_dec(struct xlb_ctx *c, struct xlb_pkt *p)
{
	__u8 proto = p->icmp_err ? IPPROTO_ICMP : p->tuple.proto;
	__be16 from = bpf_htons((__u16)p->ttl << 8 | proto);
	__be16 to = bpf_htons((__u16)(p->ttl - 1) << 8 | proto);
	__u8 ttl = p->ttl - 1;
	if (xlb_is_tc(c)) {
		struct __sk_buff *skb = c->ctx;
		int err = bpf_l3_csum_replace(skb, p->l3_off + offsetof(struct iphdr, check),
					      from, to, sizeof(to));

		return err ? err : bpf_skb_store_bytes(skb, p->l3_off + offsetof(struct iphdr, ttl),
						       &ttl, 1, 0);
	}
	csum_replace2(&p->ip->check, from, to);
	p->ip->ttl = ttl;
	return 0;
}

static __always_inline int xlb_set_macs(struct xlb_ctx *c, struct xlb_pkt *p,
					const struct bpf_fib_lookup *fib)
{
	if (xlb_is_tc(c)) {
		int err = bpf_skb_store_bytes(c->ctx, 0, fib->dmac, ETH_ALEN, 0);

		return err ? err : bpf_skb_store_bytes(c->ctx, ETH_ALEN, fib->smac, ETH_ALEN, 0);
	}
	__builtin_memcpy(p->eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, fib->smac, ETH_ALEN);
	return 0;
}

/* XDP: leave tc a note in the metadata (XLB_R_MAX), or the reason why
 * not. Packet pointers are gone afterwards. */
static __always_inline __u32 xlb_meta_note(struct xlb_ctx *c, __u32 ifindex, __u32 magic)
{
	struct xdp_md *ctx = c->ctx;
	struct xlb_meta *meta;

	/* Drivers without metadata (ena, hv_netvsc) are never given XDP by
	 * --attach auto; with --attach xdp the packet cannot be handed on. */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return XLB_R_DROP_NO_META;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return XLB_R_DROP_NO_META;
	meta->magic = magic;
	meta->ifindex = ifindex;
	return XLB_R_MAX;
}

#endif /* XLB_BPF_FWD_H */

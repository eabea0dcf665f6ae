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
#include "icmp.h"
#include "icmp_xlate.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"
#include "stats.h"

#define XLB_META_MAGIC 0x786c6231u /* "xlb1": bpf_redirect_neigh */
#define XLB_META_PEER  0x786c6232u /* "xlb2": bpf_redirect_peer */

/* XDP -> tc ingress note, in the packet's metadata area. */
struct xlb_meta {
	__u32 magic;   /* what tc is to do */
	__u32 ifindex; /* where */
};

/* A FIB lookup for @p's family from @saddr (NULL: any) to @daddr. */
static __always_inline int xlb_fib(struct xlb_ctx *c, const struct xlb_pkt *p,
				   const union xlb_addr *saddr, const union xlb_addr *daddr,
				   __be16 sport, __be16 dport, struct bpf_fib_lookup *fib,
				   __u32 flags)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->l4_protocol = p->tuple.proto;
	fib->sport = sport;
	fib->dport = dport;
	/* tot_len is checked against the route's MTU. A GSO skb leaves it 0
	 * so the kernel checks the skb itself, segment-wise (a 64 KB GSO
	 * skb fits a 1500 MTU). */
	fib->tot_len = p->gso ? 0 : p->tot_len;
	fib->ifindex = c->ifindex;
	if (xlb_v6(c, p)) {
		fib->family = AF_INET6;
		/* The header is unchanged until after every lookup. */
		if (p->ip6)
			fib->flowinfo = p->ip6->vtc_flow & bpf_htonl(0x0fffffff);
		if (saddr)
			__builtin_memcpy(fib->ipv6_src, saddr, 16);
		__builtin_memcpy(fib->ipv6_dst, daddr, 16);
	} else {
		fib->family = AF_INET;
		fib->tos = p->tos;
		if (saddr)
			fib->ipv4_src = saddr->v4;
		fib->ipv4_dst = daddr->v4;
	}
	return bpf_fib_lookup(c->ctx, fib, sizeof(*fib), flags);
}

/* XLB_R_MAX when the packet can be routed by us, else the drop reason. */
static __always_inline __u32 xlb_route_check(const struct xlb_ctx *c, const struct xlb_pkt *p)
{
	/* XDP would send a tagged frame's translation untagged; tc sees the
	 * VLAN device's own skbs (the tag is metadata there). */
	if (p->vlan && !xlb_is_tc(c))
		return XLB_R_DROP_VLAN_REMOTE;
	if (p->ttl <= 1)
		return XLB_R_DROP_TTL;
	return XLB_R_MAX;
}

/* We route: TTL (hop limit) down by one. IPv4's checksum follows (TTL is
 * the high byte of its 16-bit word, the protocol the low one); IPv6 has
 * no header checksum and the hop limit is in no pseudo-header. */
static __always_inline int xlb_ttl_dec(struct xlb_ctx *c, struct xlb_pkt *p)
{
	__u8 proto = p->icmp_err ? IPPROTO_ICMP : p->tuple.proto;
	__be16 from = bpf_htons((__u16)p->ttl << 8 | proto);
	__be16 to = bpf_htons((__u16)(p->ttl - 1) << 8 | proto);
	__u8 ttl = p->ttl - 1;

	if (xlb_v6(c, p)) {
		if (xlb_is_tc(c))
			return bpf_skb_store_bytes(c->ctx,
						   p->l3_off + offsetof(struct xlb_ip6, hop_limit),
						   &ttl, 1, 0);
		p->ip6->hop_limit = ttl;
		return 0;
	}
	if (xlb_is_tc(c)) {
		struct __sk_buff *skb = c->ctx;
		int err = bpf_l3_csum_replace(skb, p->l3_off + offsetof(struct iphdr, check), from,
					      to, sizeof(to));

		return err ? err :
			     bpf_skb_store_bytes(skb, p->l3_off + offsetof(struct iphdr, ttl), &ttl,
						 1, 0);
	}
	if (!p->ip) /* never: the verifier cannot tell the families apart */
		return -1;
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

static __always_inline bool xlb_is_node_addr(const union xlb_addr *a, __u8 family)
{
	struct xlb_addr_key k = { .addr = *a, .family = family };

	return bpf_map_lookup_elem(&xlb_node_addrs, &k) != NULL;
}

/* Rewrite @p per @ct; an ICMP error is rewritten per the entry of the
 * flow it is about. 0 or negative. */
static __always_inline int xlb_rewrite(struct xlb_ctx *c, struct xlb_pkt *p,
				       const struct xlb_ct *ct)
{
	if (p->icmp_err)
		return xlb_icmp_xlate(c, p, ct);
	return xlb_nat(c, p, ct);
}

/*
 * A local Pod: DNAT only. When the FIB's device is a Pod veth the agent
 * listed and the Pod's MAC is known, the packet skips the stack: tc
 * delivers it with bpf_redirect_peer; XDP cannot redirect into a veth
 * whose peer (the Pod's eth0) runs no XDP, so it leaves a note and
 * xlb_tc_ingress does the same. Else the stack routes it (its source is
 * the client: not martian).
 */
static __always_inline int xlb_emit_local(struct xlb_ctx *c, struct xlb_pkt *p,
					  const struct xlb_ct *ct, const union xlb_addr *daddr,
					  struct bpf_fib_lookup *fib, __u32 pass_reason)
{
	int rc = -1;
	__u32 ifindex = 0, why;

	if (p->ttl > 1 && !(xlb_cfg.flags & XLB_CFG_F_LOCAL_STACK)) {
		rc = xlb_fib(c, p, &p->tuple.saddr, daddr, ct->nat_sport, ct->nat_dport, fib, 0);
		ifindex = fib->ifindex;
		if (rc == BPF_FIB_LKUP_RET_SUCCESS &&
		    !bpf_map_lookup_elem(&xlb_peer_devs, &ifindex))
			rc = -1;
	}
	if (xlb_rewrite(c, p, ct))
		return verdict(xlb_act_drop(c), XLB_R_DROP_NAT_FAILED, c->bytes);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return verdict(xlb_act_pass(c), pass_reason, c->bytes);
	/* Skipping the stack skips its TTL decrement and MAC rewrite. */
	if (xlb_ttl_dec(c, p) || xlb_set_macs(c, p, fib))
		return verdict(xlb_act_drop(c), XLB_R_DROP_NAT_FAILED, c->bytes);
	if (xlb_is_tc(c))
		return verdict(bpf_redirect_peer(ifindex, 0), XLB_R_FWD_PEER, c->bytes);
	/* Rewritten for the Pod: without the note the stack would drop it
	 * (not our MAC), so a driver without metadata is a counted drop
	 * (--attach auto never gives such a driver XDP). */
	why = xlb_meta_note(c, ifindex, XLB_META_PEER);
	if (why != XLB_R_MAX)
		return verdict(XDP_DROP, why, c->bytes);
	return verdict(XDP_PASS, XLB_R_FWD_PEER, c->bytes);
}

/*
 * Rewrite per @ct (which may live in the map or in scratch space) and
 * send on. @fib: scratch space for the lookup.
 */
static __always_inline int xlb_emit(struct xlb_ctx *c, struct xlb_pkt *p, const struct xlb_ct *ct,
				    struct bpf_fib_lookup *fib, __u64 now)
{
	const union xlb_addr *saddr = &ct->nat_saddr, *daddr = &ct->nat_daddr;
	__be16 sport = ct->nat_sport, dport = ct->nat_dport;
	__u32 reason = XLB_R_FWD_REMOTE, ifindex;
	int rc;

	if (p->icmp_err) {
		/* The error travels to the flow's other end (see
		 * xlb_icmp_xlate); no ports to route by. Its source stays
		 * unless the endpoint itself sent it (read in place: the
		 * header is unchanged until after the lookup). */
		if (xlb_v6(c, p)) {
			if (p->ip6 &&
			    !xlb_addr_eq((union xlb_addr *)p->ip6->saddr, &p->tuple.daddr))
				saddr = (const union xlb_addr *)p->ip6->saddr;
		} else if (p->ip && p->ip->saddr != p->tuple.daddr.v4) {
			saddr = (const union xlb_addr *)&p->ip->saddr;
		}
		sport = dport = 0;
		reason = XLB_R_ICMP_XLATE;
	} else if (ct->kind == XLB_CT_REPLY_SNAT) {
		reason = XLB_R_REPLY_SNAT;
	}
	if (ct->kind == XLB_CT_FWD_LOCAL)
		return xlb_emit_local(c, p, ct, daddr, fib,
				      p->icmp_err ? XLB_R_ICMP_XLATE : XLB_R_FWD_LOCAL);

	ifindex = xlb_route_check(c, p);
	if (ifindex != XLB_R_MAX)
		return verdict(xlb_act_drop(c), ifindex, c->bytes);
	rc = xlb_fib(c, p, saddr, daddr, sport, dport, fib,
		     xlb_is_tc(c) ? BPF_FIB_LOOKUP_SKIP_NEIGH : 0);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && !p->icmp_err)
		return xlb_too_big(c, p, fib->mtu_result, now);
	/* A reply to a client that is this node (hairpin through a router):
	 * up the stack; its new source is a frontend, not martian. */
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED && xlb_is_node_addr(daddr, p->tuple.family)) {
		if (xlb_rewrite(c, p, ct))
			return verdict(xlb_act_drop(c), XLB_R_DROP_NAT_FAILED, c->bytes);
		return verdict(xlb_act_pass(c), reason, c->bytes);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return verdict(xlb_act_drop(c), XLB_R_DROP_FIB, c->bytes);
	ifindex = fib->ifindex;

	if (xlb_rewrite(c, p, ct) || xlb_ttl_dec(c, p))
		return verdict(xlb_act_drop(c), XLB_R_DROP_NAT_FAILED, c->bytes);
	if (xlb_is_tc(c))
		return verdict(bpf_redirect_neigh(ifindex, NULL, 0, 0), reason, c->bytes);

	/* XDP_TX too only into a listed device: the agent leaves out
	 * devices that would lose the frame (a veth whose peer has no XDP). */
	if (rc == BPF_FIB_LKUP_RET_SUCCESS && bpf_map_lookup_elem(&xlb_tx_devs, &ifindex)) {
		xlb_set_macs(c, p, fib);
		if (ifindex == c->ifindex)
			return verdict(XDP_TX, reason, c->bytes);
		return verdict(bpf_redirect_map(&xlb_tx_devs, ifindex, 0), reason, c->bytes);
	}
	rc = rc == BPF_FIB_LKUP_RET_NO_NEIGH ? XLB_R_FWD_NEIGH : XLB_R_FWD_TC;
	ifindex = xlb_meta_note(c, ifindex, XLB_META_MAGIC);
	if (ifindex != XLB_R_MAX)
		return verdict(XDP_DROP, ifindex, c->bytes);
	return verdict(XDP_PASS, rc, c->bytes);
}

#endif /* XLB_BPF_FWD_H */

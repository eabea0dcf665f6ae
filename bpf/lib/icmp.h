/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ICMP errors xlb sends itself, built in place from the packet they are
 * about and sent back out of the interface it came in on:
 *   - reject: a packet for a frontend with no endpoints becomes an ICMP
 *     port-unreachable; a TCP client in SYN_SENT takes it as a hard error
 *     (ECONNREFUSED at once), as kube-proxy's REJECT rule gives;
 *   - frag-needed: a packet with DF set that does not fit the egress MTU
 *     the FIB reports gets type 3 code 4 with that MTU, so the sender's
 *     PMTU discovery works through the translation (the quote is the
 *     packet as the sender sent it: nothing is rewritten before).
 * Rate-limited node-wide (all CPUs share one bucket), sent from the
 * ingress interface's MAC, never to what is not one host (RFC 1122 3.2.2).
 *
 * XDP rewrites the frame and XDP_TXes it. tc cannot move data inside the
 * skb, so it keeps the quoted 28 bytes, sets the skb's length with
 * bpf_skb_change_tail and stores the new headers over the front with
 * bpf_skb_store_bytes (BPF_F_RECOMPUTE_CSUM keeps a CHECKSUM_COMPLETE
 * skb->csum true), then bpf_redirects it to the same device's egress.
 * No helper clears CHECKSUM_PARTIAL: an skb that came in partial (only a
 * sender on this host or a VM does that) keeps its mark and goes back to
 * that sender, whose stack trusts it; our checksums are complete anyway.
 *
 * Frame before:  L2 | IPv4 (20) | first 8 bytes of L4 | rest
 * Frame after:   L2 (MACs swapped) | IPv4 (20) | ICMP (8) | IPv4 (20) | 8
 * Only IPv4 without options is answered (the quoted header is then a fixed
 * 28 bytes, which keeps the checksum a constant-size helper call).
 */
#ifndef XLB_BPF_ICMP_H
#define XLB_BPF_ICMP_H

#include "csum.h"
#include "ctx.h"
#include "maps.h"
#include "parse.h"
#include "stats.h"

#define XLB_ICMP_GROW  (sizeof(struct iphdr) + sizeof(struct icmphdr))
#define XLB_ICMP_QUOTE (sizeof(struct iphdr) + 8)

/*
 * One bucket for all CPUs, as GCRA: the state is a single word, the
 * theoretical arrival time (tat) of the next reply, moved by one cost per
 * reply with a compare-and-swap. A reply is allowed while tat is at most
 * burst costs ahead of now. A lost race denies (rejects are a courtesy).
 */
static __always_inline bool xlb_icmp_allowed(__u64 now)
{
	__u32 zero = 0;
	struct xlb_bucket *b = bpf_map_lookup_elem(&xlb_icmp_bucket, &zero);
	__u64 cost, tat, next;

	if (!b || !xlb_cfg.icmp_rate)
		return false;
	cost = NS_PER_SEC / xlb_cfg.icmp_rate;
	tat = *(volatile __u64 *)&b->tat_ns;
	next = (tat > now ? tat : now) + cost;
	if (next - now > cost * xlb_cfg.icmp_burst)
		return false;
	return __sync_val_compare_and_swap(&b->tat_ns, tat, next) == tat;
}

/* RFC 1122 3.2.2: never answer a source that is not one host (0/8,
 * loopback, multicast, class E with limited broadcast), nor a frame sent
 * to a link-layer group address, nor a packet with IP options (the quote
 * is then a fixed 28 bytes, which keeps the checksums constant-size). */
static __always_inline bool xlb_icmp_may_answer4(const struct xlb_pkt *p)
{
	__u32 src = bpf_ntohl(p->tuple.saddr.v4);
	__u8 top = src >> 24;

	return p->ip && p->ip->ihl == 5 && top != 0 && top != 127 && (top & 0xe0) != 0xe0;
}

/* IPv6 (RFC 4443 2.4): never to the unspecified address, loopback, a
 * multicast source or an IPv4-mapped one; only packets without extension
 * headers are answered (the quote is then a fixed 48 bytes, as IPv4's is
 * 28: a receiver matches it by the addresses and the 8 bytes of L4). */
static __always_inline bool xlb_icmp_may_answer6(const struct xlb_pkt *p)
{
	const union xlb_addr *s = &p->tuple.saddr;

	bool lead0 = !s->v6[0] && !s->v6[1];

	if (s->bytes[0] == 0xff)
		return false;
	if (lead0 && !s->v6[2] && (!s->v6[3] || s->v6[3] == bpf_htonl(1)))
		return false; /* :: and ::1 */
	if (lead0 && s->v6[2] == bpf_htonl(0xffff))
		return false; /* ::ffff:0:0/96 */
	return p->ip6 && p->l4_off == p->l3_off + sizeof(struct xlb_ip6);
}

static __always_inline bool xlb_icmp_may_answer(const struct xlb_ctx *c, const struct xlb_pkt *p,
						__u64 now)
{
	if (p->icmp_err || p->frag == XLB_FRAG_LATER || (p->eth->h_dest[0] & 1))
		return false;
	if (xlb_v6(c, p) ? !xlb_icmp_may_answer6(p) : !xlb_icmp_may_answer4(p))
		return false;
	return xlb_icmp_allowed(now);
}

/* The MAC replies leave from: the interface's own, else (unknown) the one
 * the frame was sent to, which may_answer made sure is unicast. */
static __always_inline void xlb_icmp_smac(const struct xlb_ctx *c, const struct xlb_pkt *p,
					  __u8 *smac)
{
	__u32 ifindex = c->ifindex;
	struct xlb_iface *ifc = bpf_map_lookup_elem(&xlb_ifaces, &ifindex);

	if (ifc &&
	    (ifc->mac[0] | ifc->mac[1] | ifc->mac[2] | ifc->mac[3] | ifc->mac[4] | ifc->mac[5]))
		__builtin_memcpy(smac, ifc->mac, ETH_ALEN);
	else
		__builtin_memcpy(smac, p->eth->h_dest, ETH_ALEN);
}

static __always_inline void xlb_icmp_fill(struct iphdr *ip, struct icmphdr *icmp, __be32 saddr,
					  __be32 daddr, __u8 type, __u8 code, __u16 mtu)
{
	__u32 sum;

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(XLB_ICMP_GROW + XLB_ICMP_QUOTE);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	ip->check = 0;
	ip->saddr = saddr;
	ip->daddr = daddr;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)ip, sizeof(*ip), 0);
	ip->check = csum_fold32(sum);

	icmp->type = type;
	icmp->code = code;
	icmp->checksum = 0;
	icmp->un.gateway = 0;
	icmp->un.frag.mtu = bpf_htons(mtu);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)icmp, sizeof(*icmp) + XLB_ICMP_QUOTE, 0);
	icmp->checksum = csum_fold32(sum);
}

/* The reply's layout after L2, for the tc builder (scratch space). */
struct xlb_icmp_msg {
	struct iphdr ip;
	struct icmphdr icmp;
	__u8 quote[XLB_ICMP_QUOTE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_icmp_msg);
} xlb_icmp_scratch SEC(".maps");

/*
 * tc, both families: the frame becomes @l2 bytes of its own header, then
 * the @len-byte reply @m, with @macs (destination, source) swapped in, and
 * goes back out where it came from. Packet pointers are gone after this.
 */
static __always_inline int xlb_icmp_emit_tc(struct xlb_ctx *c, __u32 l2, const void *m, __u32 len,
					    const __u8 *macs)
{
	struct __sk_buff *skb = c->ctx;

	if (bpf_skb_change_tail(skb, l2 + len, 0) ||
	    bpf_skb_store_bytes(skb, l2, m, len, BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, 0, macs, 2 * ETH_ALEN, BPF_F_RECOMPUTE_CSUM))
		return TC_ACT_SHOT;
	return bpf_redirect(c->ifindex, 0);
}

static __always_inline int xlb_icmp_reply_tc(struct xlb_ctx *c, struct xlb_pkt *p, __u8 type,
					     __u8 code, __u32 mtu)
{
	__u32 l2 = p->l3_off, zero = 0;
	struct xlb_icmp_msg *m = bpf_map_lookup_elem(&xlb_icmp_scratch, &zero);
	__u8 macs[2 * ETH_ALEN];

	if (!m || !p->ip || (void *)p->ip + XLB_ICMP_QUOTE > xlb_data_end(c))
		return -1;
	__builtin_memcpy(m->quote, p->ip, XLB_ICMP_QUOTE);
	__builtin_memcpy(macs, p->eth->h_source, ETH_ALEN);
	xlb_icmp_smac(c, p, macs + ETH_ALEN);
	xlb_icmp_fill(&m->ip, &m->icmp, p->tuple.daddr.v4, p->tuple.saddr.v4, type, code, mtu);
	return xlb_icmp_emit_tc(c, l2, m, sizeof(*m), macs);
}

/* Returns XDP_TX when the reply was built, -1 when the packet must be
 * dropped instead (the frame is untouched in that case only if
 * resizing failed before any write). */
static __always_inline int xlb_icmp_reply_xdp(struct xlb_ctx *c, struct xlb_pkt *p, __u8 type,
					      __u8 code, __u32 mtu)
{
	struct xdp_md *ctx = c->ctx;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l2 = p->vlan ? ETH_HLEN + sizeof(struct xlb_vlan_hdr) : ETH_HLEN;
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	struct xlb_vlan_hdr vh = {};
	struct iphdr *ip, *qip;
	struct icmphdr *icmp;
	struct ethhdr *eth;
	__u32 keep = l2 + XLB_ICMP_QUOTE;
	int len = data_end - data;

	__be16 tpid = p->eth->h_proto;
	bool vlan = p->vlan;

	__builtin_memcpy(dmac, p->eth->h_source, ETH_ALEN);
	xlb_icmp_smac(c, p, smac);
	if (p->vlan)
		vh = *(struct xlb_vlan_hdr *)(p->eth + 1);

	if (len > (int)keep && bpf_xdp_adjust_tail(ctx, (int)keep - len))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)XLB_ICMP_GROW))
		return -1;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* One constant bound per layout, checked before any write, so the
	 * verifier never depends on how clang lowers the choice of l2. */
	if (vlan) {
		if (data + ETH_HLEN + sizeof(struct xlb_vlan_hdr) + XLB_ICMP_GROW + XLB_ICMP_QUOTE >
		    data_end)
			return -1;
		ip = data + ETH_HLEN + sizeof(struct xlb_vlan_hdr);
	} else {
		if (data + ETH_HLEN + XLB_ICMP_GROW + XLB_ICMP_QUOTE > data_end)
			return -1;
		ip = data + ETH_HLEN;
	}

	eth = data;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	if (vlan) {
		eth->h_proto = tpid; /* 802.1Q or 802.1ad, as it came */
		*(struct xlb_vlan_hdr *)(eth + 1) = vh;
	} else {
		eth->h_proto = bpf_htons(ETH_P_IP);
	}

	icmp = (void *)(ip + 1);
	qip = (void *)(icmp + 1); /* the original header, where it was */
	xlb_icmp_fill(ip, icmp, qip->daddr, qip->saddr, type, code, mtu);
	return XDP_TX;
}

/*
 * ICMPv6 errors, the same way: the frame becomes
 *   L2 (MACs swapped) | IPv6 (40) | ICMPv6 (8) | IPv6 (40) | 8
 * the quote being the packet's own IPv6 header and first 8 bytes of L4.
 * The ICMPv6 checksum covers a pseudo-header (RFC 4443 2.3).
 */
#define XLB_ICMP6_GROW	(sizeof(struct xlb_ip6) + sizeof(struct xlb_icmp6))
#define XLB_ICMP6_QUOTE (sizeof(struct xlb_ip6) + 8)

struct xlb_icmp6_msg {
	struct xlb_ip6 ip6;
	struct xlb_icmp6 icmp;
	__u8 quote[XLB_ICMP6_QUOTE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_icmp6_msg);
} xlb_icmp6_scratch SEC(".maps");

/* The ICMPv6 checksum of the message after @ip6 (@len bytes, header
 * included, its checksum field zero). */
static __always_inline __u16 xlb_icmp6_csum(struct xlb_ip6 *ip6, void *msg, __u32 len)
{
	__be32 pseudo[2] = { bpf_htonl(len), bpf_htonl(XLB_IPPROTO_ICMPV6) };
	__s64 sum;

	sum = bpf_csum_diff(NULL, 0, (__be32 *)ip6->saddr, 32, 0);
	sum = bpf_csum_diff(NULL, 0, pseudo, sizeof(pseudo), (__wsum)sum);
	sum = bpf_csum_diff(NULL, 0, msg, len, (__wsum)sum);
	return csum_fold32((__u32)sum);
}

static __always_inline void xlb_icmp6_fill(struct xlb_ip6 *ip6, struct xlb_icmp6 *icmp,
					   const void *saddr, const void *daddr, __u8 type,
					   __u8 code, __u32 mtu)
{
	ip6->vtc_flow = bpf_htonl(0x60000000);
	ip6->payload_len = bpf_htons(sizeof(*icmp) + XLB_ICMP6_QUOTE);
	ip6->nexthdr = XLB_IPPROTO_ICMPV6;
	ip6->hop_limit = 64;
	__builtin_memcpy(ip6->saddr, saddr, 16);
	__builtin_memcpy(ip6->daddr, daddr, 16);
	icmp->type = type;
	icmp->code = code;
	icmp->checksum = 0;
	icmp->data = bpf_htonl(mtu);
	icmp->checksum = xlb_icmp6_csum(ip6, icmp, sizeof(*icmp) + XLB_ICMP6_QUOTE);
}

static __always_inline int xlb_icmp6_reply_tc(struct xlb_ctx *c, struct xlb_pkt *p, __u8 type,
					      __u8 code, __u32 mtu)
{
	__u32 l2 = p->l3_off, zero = 0;
	struct xlb_icmp6_msg *m = bpf_map_lookup_elem(&xlb_icmp6_scratch, &zero);
	__u8 macs[2 * ETH_ALEN];

	if (!m || !p->ip6 || (void *)p->ip6 + XLB_ICMP6_QUOTE > xlb_data_end(c))
		return -1;
	__builtin_memcpy(m->quote, p->ip6, XLB_ICMP6_QUOTE);
	__builtin_memcpy(macs, p->eth->h_source, ETH_ALEN);
	xlb_icmp_smac(c, p, macs + ETH_ALEN);
	xlb_icmp6_fill(&m->ip6, &m->icmp, &p->tuple.daddr, &p->tuple.saddr, type, code, mtu);
	return xlb_icmp_emit_tc(c, l2, m, sizeof(*m), macs);
}

static __always_inline int xlb_icmp6_reply_xdp(struct xlb_ctx *c, struct xlb_pkt *p, __u8 type,
					       __u8 code, __u32 mtu)
{
	struct xdp_md *ctx = c->ctx;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l2 = p->vlan ? ETH_HLEN + sizeof(struct xlb_vlan_hdr) : ETH_HLEN;
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
	struct xlb_vlan_hdr vh = {};
	struct xlb_ip6 *ip6, *qip;
	struct xlb_icmp6 *icmp;
	struct ethhdr *eth;
	__u32 keep = l2 + XLB_ICMP6_QUOTE;
	int len = data_end - data;
	__be16 tpid = p->eth->h_proto;
	bool vlan = p->vlan;

	__builtin_memcpy(dmac, p->eth->h_source, ETH_ALEN);
	xlb_icmp_smac(c, p, smac);
	if (p->vlan)
		vh = *(struct xlb_vlan_hdr *)(p->eth + 1);

	if (len > (int)keep && bpf_xdp_adjust_tail(ctx, (int)keep - len))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)XLB_ICMP6_GROW))
		return -1;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (vlan) {
		if (data + ETH_HLEN + sizeof(struct xlb_vlan_hdr) + XLB_ICMP6_GROW +
			    XLB_ICMP6_QUOTE >
		    data_end)
			return -1;
		ip6 = data + ETH_HLEN + sizeof(struct xlb_vlan_hdr);
	} else {
		if (data + ETH_HLEN + XLB_ICMP6_GROW + XLB_ICMP6_QUOTE > data_end)
			return -1;
		ip6 = data + ETH_HLEN;
	}

	eth = data;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	if (vlan) {
		eth->h_proto = tpid;
		*(struct xlb_vlan_hdr *)(eth + 1) = vh;
	} else {
		eth->h_proto = bpf_htons(ETH_P_IPV6);
	}
	icmp = (void *)(ip6 + 1);
	qip = (void *)(icmp + 1); /* the original header, where it was */
	xlb_icmp6_fill(ip6, icmp, qip->daddr, qip->saddr, type, code, mtu);
	return XDP_TX;
}

/* Answer @p with an ICMP error: the verdict, or -1 when no answer may or
 * can be sent (the packet is then to be dropped). @type, @code: ICMP's;
 * IPv6 packets get the ICMPv6 equivalent (port unreachable: destination
 * unreachable, code 4; frag-needed: Packet Too Big with @mtu). */
static __always_inline int xlb_icmp_reply(struct xlb_ctx *c, struct xlb_pkt *p, __u8 type,
					  __u8 code, __u32 mtu, __u64 now)
{
	if (!xlb_icmp_may_answer(c, p, now))
		return -1;
	if (xlb_v6(c, p)) {
		__u8 t6 = code == ICMP_FRAG_NEEDED ? ICMPV6_PKT_TOOBIG : ICMPV6_DEST_UNREACH;
		__u8 c6 = code == ICMP_FRAG_NEEDED ? 0 : ICMPV6_PORT_UNREACH;

		if (xlb_is_tc(c))
			return xlb_icmp6_reply_tc(c, p, t6, c6, mtu);
		return xlb_icmp6_reply_xdp(c, p, t6, c6, mtu);
	}
	if (xlb_is_tc(c))
		return xlb_icmp_reply_tc(c, p, type, code, mtu);
	return xlb_icmp_reply_xdp(c, p, type, code, mtu);
}

/* A DF packet (every IPv6 one) too big for the egress: frag-needed
 * (Packet Too Big) back to its sender (before any rewrite, so it quotes
 * what the sender sent). An IPv6 route below the IPv6 minimum MTU is a
 * broken link: its packets are dropped, counted. */
static __always_inline int xlb_too_big(struct xlb_ctx *c, struct xlb_pkt *p, __u32 mtu, __u64 now)
{
	int act;

	if (!p->df || mtu > 0xffff || (xlb_v6(c, p) && mtu < XLB_IP6_MIN_MTU))
		return verdict(xlb_act_drop(c), XLB_R_DROP_FRAG_NEEDED, c->bytes);
	act = xlb_icmp_reply(c, p, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu, now);
	if (act < 0)
		return verdict(xlb_act_drop(c), XLB_R_DROP_FRAG_NEEDED, c->bytes);
	return verdict(act, XLB_R_ICMP_FRAG_NEEDED, c->bytes);
}

#endif /* XLB_BPF_ICMP_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Rewriting a packet to the tuple a conntrack entry names, with
 * incremental checksum updates.
 *
 * XDP sees frames with full checksums (what NICs deliver), so it patches
 * the fields in place with RFC 1624 updates. tc sees skbs that may be
 * CHECKSUM_PARTIAL (a local Pod's TCP stack leaves the L4 checksum to the
 * device); there the kernel's csum helpers are used because they know how
 * to update a partial checksum (pseudo-header only) correctly.
 *
 * A UDP checksum of zero means "none" (IPv4) and stays zero; a computed
 * zero is sent as 0xffff (RFC 768). IPv6 UDP always has a checksum (RFC
 * 8200 8.1; a zero one never gets here: newflow.h drops it).
 *
 * IPv6 has no header checksum; its addresses are 128 bits in the L4
 * pseudo-header. XDP adds the difference of the four words of each
 * changed address (csum_diff16) to the L4 checksum. tc has bpf_csum_diff
 * compute it and gives it to bpf_l4_csum_replace as a difference (size
 * 0) with BPF_F_PSEUDO_HDR (a CHECKSUM_PARTIAL skb holds only the
 * pseudo-header sum) and BPF_F_IPV6 (no IP header checksum absorbs the
 * change: the kernel must leave a CHECKSUM_COMPLETE skb->csum alone, since
 * address and L4 checksum changes cancel; kernel 6.16+).
 */
#ifndef XLB_BPF_NAT_H
#define XLB_BPF_NAT_H

#include "csum.h"
#include "ctx.h"
#include "parse.h"

static __always_inline void nat4_xdp(struct xlb_pkt *p, const struct xlb_ct *ct)
{
	struct iphdr *ip = p->ip;
	__u16 *l4sum = p->l4_csum;
	bool l4;
	__be16 *sport, *dport;

	if (!ip) /* never: the verifier cannot tell the families apart */
		return;
	/* A later fragment has no L4 header: only the addresses change (the
	 * L4 checksum, in the first fragment, already covers them). No L4
	 * checksum pointer also means no L4 header (the verifier cannot know
	 * that only ICMP errors, which never come here, lack one). */
	if (p->frag == XLB_FRAG_LATER || !l4sum) {
		if (ip->saddr != ct->nat_saddr.v4) {
			csum_replace4(&ip->check, ip->saddr, ct->nat_saddr.v4);
			ip->saddr = ct->nat_saddr.v4;
		}
		if (ip->daddr != ct->nat_daddr.v4) {
			csum_replace4(&ip->check, ip->daddr, ct->nat_daddr.v4);
			ip->daddr = ct->nat_daddr.v4;
		}
		return;
	}
	l4 = p->tuple.proto == IPPROTO_TCP || *l4sum != 0;
	if (p->tuple.proto == IPPROTO_TCP) {
		sport = &p->tcp->source;
		dport = &p->tcp->dest;
	} else {
		sport = &p->udp->source;
		dport = &p->udp->dest;
	}

	if (ip->saddr != ct->nat_saddr.v4) {
		csum_replace4(&ip->check, ip->saddr, ct->nat_saddr.v4);
		if (l4)
			csum_replace4(l4sum, ip->saddr, ct->nat_saddr.v4);
		ip->saddr = ct->nat_saddr.v4;
	}
	if (ip->daddr != ct->nat_daddr.v4) {
		csum_replace4(&ip->check, ip->daddr, ct->nat_daddr.v4);
		if (l4)
			csum_replace4(l4sum, ip->daddr, ct->nat_daddr.v4);
		ip->daddr = ct->nat_daddr.v4;
	}
	if (*sport != ct->nat_sport) {
		if (l4)
			csum_replace2(l4sum, *sport, ct->nat_sport);
		*sport = ct->nat_sport;
	}
	if (*dport != ct->nat_dport) {
		if (l4)
			csum_replace2(l4sum, *dport, ct->nat_dport);
		*dport = ct->nat_dport;
	}
	if (l4 && p->tuple.proto == IPPROTO_UDP && *l4sum == 0)
		*l4sum = 0xffff;
}

/*
 * tc: rewrite one 4-byte address (@field_off from the IPv4 header) and/or
 * one port. Offsets are from the start of the packet. Returns 0 or a
 * negative helper error, in which case the packet may be half rewritten and
 * must be dropped by the caller.
 */
static __always_inline int nat4_tc_addr(struct __sk_buff *skb, const struct xlb_pkt *p,
					__u32 field_off, __be32 from, __be32 to)
{
	__u32 l4_csum_off = p->l4_off + (p->tuple.proto == IPPROTO_TCP ?
						 offsetof(struct tcphdr, check) :
						 offsetof(struct udphdr, check));
	__u64 l4_flags = BPF_F_PSEUDO_HDR | sizeof(to);
	int err;

	if (p->tuple.proto == IPPROTO_UDP)
		l4_flags |= BPF_F_MARK_MANGLED_0;
	if (p->frag != XLB_FRAG_LATER) {
		err = bpf_l4_csum_replace(skb, l4_csum_off, from, to, l4_flags);
		if (err)
			return err;
	}
	err = bpf_l3_csum_replace(skb, p->l3_off + offsetof(struct iphdr, check), from, to,
				  sizeof(to));
	if (err)
		return err;
	return bpf_skb_store_bytes(skb, p->l3_off + field_off, &to, sizeof(to), 0);
}

static __always_inline int nat4_tc_port(struct __sk_buff *skb, const struct xlb_pkt *p,
					__u32 field_off, __be16 from, __be16 to)
{
	__u32 l4_csum_off = p->l4_off + (p->tuple.proto == IPPROTO_TCP ?
						 offsetof(struct tcphdr, check) :
						 offsetof(struct udphdr, check));
	__u64 l4_flags = sizeof(to);
	int err;

	if (p->tuple.proto == IPPROTO_UDP)
		l4_flags |= BPF_F_MARK_MANGLED_0;
	err = bpf_l4_csum_replace(skb, l4_csum_off, from, to, l4_flags);
	if (err)
		return err;
	return bpf_skb_store_bytes(skb, p->l4_off + field_off, &to, sizeof(to), 0);
}

/* Source and destination ports sit at the same offsets in TCP and UDP. */
static __always_inline int nat4_tc(struct __sk_buff *skb, const struct xlb_pkt *p,
				   const struct xlb_ct *ct)
{
	const struct xlb_ct_key *t = &p->tuple;
	int err = 0;

	if (t->saddr.v4 != ct->nat_saddr.v4)
		err = nat4_tc_addr(skb, p, offsetof(struct iphdr, saddr), t->saddr.v4,
				   ct->nat_saddr.v4);
	if (!err && t->daddr.v4 != ct->nat_daddr.v4)
		err = nat4_tc_addr(skb, p, offsetof(struct iphdr, daddr), t->daddr.v4,
				   ct->nat_daddr.v4);
	if (p->frag == XLB_FRAG_LATER)
		return err;
	if (!err && t->sport != ct->nat_sport)
		err = nat4_tc_port(skb, p, offsetof(struct udphdr, source), t->sport,
				   ct->nat_sport);
	if (!err && t->dport != ct->nat_dport)
		err = nat4_tc_port(skb, p, offsetof(struct udphdr, dest), t->dport, ct->nat_dport);
	return err;
}

static __always_inline void nat6_xdp(struct xlb_pkt *p, const struct xlb_ct *ct)
{
	struct xlb_ip6 *ip6 = p->ip6;
	__u16 *l4sum = p->l4_csum;
	__u32 ds, dd;
	bool sdiff, ddiff, l4;
	__be16 *sport, *dport;

	if (!ip6)
		return;
	sdiff = !xlb_addr_eq((union xlb_addr *)ip6->saddr, &ct->nat_saddr);
	ddiff = !xlb_addr_eq((union xlb_addr *)ip6->daddr, &ct->nat_daddr);
	/* A later fragment: the first one's L4 checksum covers the
	 * addresses already (as for IPv4). */
	l4 = p->frag != XLB_FRAG_LATER && l4sum;
	if (l4 && sdiff) {
		ds = csum_diff16((__be32 *)ip6->saddr, ct->nat_saddr.v6);
		csum_add_diff(l4sum, ds);
	}
	if (l4 && ddiff) {
		dd = csum_diff16((__be32 *)ip6->daddr, ct->nat_daddr.v6);
		csum_add_diff(l4sum, dd);
	}
	if (sdiff)
		__builtin_memcpy(ip6->saddr, &ct->nat_saddr, 16);
	if (ddiff)
		__builtin_memcpy(ip6->daddr, &ct->nat_daddr, 16);
	if (!l4)
		return;
	if (p->tuple.proto == IPPROTO_TCP) {
		sport = &p->tcp->source;
		dport = &p->tcp->dest;
	} else {
		sport = &p->udp->source;
		dport = &p->udp->dest;
	}
	if (*sport != ct->nat_sport) {
		csum_replace2(l4sum, *sport, ct->nat_sport);
		*sport = ct->nat_sport;
	}
	if (*dport != ct->nat_dport) {
		csum_replace2(l4sum, *dport, ct->nat_dport);
		*dport = ct->nat_dport;
	}
	if (p->tuple.proto == IPPROTO_UDP && *l4sum == 0)
		*l4sum = 0xffff;
}

#ifndef BPF_F_IPV6
#define BPF_F_IPV6 (1ULL << 7)
#endif

/* tc: one IPv6 address (@field_off from the IPv6 header), from @from to
 * @to (both 16 bytes, not in the packet). */
static __always_inline int nat6_tc_addr(struct __sk_buff *skb, const struct xlb_pkt *p,
					__u32 field_off, const union xlb_addr *from,
					const union xlb_addr *to)
{
	__u32 l4_csum_off = p->l4_off + (p->tuple.proto == IPPROTO_TCP ?
						 offsetof(struct tcphdr, check) :
						 offsetof(struct udphdr, check));
	__u64 flags = BPF_F_PSEUDO_HDR | BPF_F_IPV6;
	__s64 diff;
	int err;

	if (p->frag != XLB_FRAG_LATER) {
		diff = bpf_csum_diff((__be32 *)from, 16, (__be32 *)to, 16, 0);
		if (diff < 0)
			return (int)diff;
		if (p->tuple.proto == IPPROTO_UDP)
			flags |= BPF_F_MARK_MANGLED_0;
		err = bpf_l4_csum_replace(skb, l4_csum_off, 0, diff, flags);
		if (err)
			return err;
	}
	return bpf_skb_store_bytes(skb, p->l3_off + field_off, to, 16, 0);
}

static __always_inline int nat6_tc(struct __sk_buff *skb, const struct xlb_pkt *p,
				   const struct xlb_ct *ct)
{
	const struct xlb_ct_key *t = &p->tuple;
	int err = 0;

	if (!xlb_addr_eq(&t->saddr, &ct->nat_saddr))
		err = nat6_tc_addr(skb, p, offsetof(struct xlb_ip6, saddr), &t->saddr,
				   &ct->nat_saddr);
	if (!err && !xlb_addr_eq(&t->daddr, &ct->nat_daddr))
		err = nat6_tc_addr(skb, p, offsetof(struct xlb_ip6, daddr), &t->daddr,
				   &ct->nat_daddr);
	if (p->frag == XLB_FRAG_LATER)
		return err;
	/* Ports: the same helpers as IPv4 (no pseudo-header involved). */
	if (!err && t->sport != ct->nat_sport)
		err = nat4_tc_port(skb, p, offsetof(struct udphdr, source), t->sport,
				   ct->nat_sport);
	if (!err && t->dport != ct->nat_dport)
		err = nat4_tc_port(skb, p, offsetof(struct udphdr, dest), t->dport, ct->nat_dport);
	return err;
}

/* tc: the flow's rewrite of @p, either family. */
static __always_inline int nat_tc(const struct xlb_ctx *c, const struct xlb_pkt *p,
				  const struct xlb_ct *ct)
{
	if (xlb_v6(c, p))
		return nat6_tc(c->ctx, p, ct);
	return nat4_tc(c->ctx, p, ct);
}

/* The flow's rewrite, by the hook's means. 0 or a negative helper error
 * (tc: the packet may be half rewritten and must be dropped). */
static __always_inline int xlb_nat(struct xlb_ctx *c, struct xlb_pkt *p, const struct xlb_ct *ct)
{
	if (xlb_is_tc(c))
		return nat_tc(c, p, ct);
	if (xlb_v6(c, p))
		nat6_xdp(p, ct);
	else
		nat4_xdp(p, ct);
	return 0;
}

#endif /* XLB_BPF_NAT_H */

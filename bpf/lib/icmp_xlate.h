/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ICMP errors about flows xlb translated (unreachable, frag-needed, time
 * exceeded, from a router on the path or from the endpoint itself): the
 * error quotes the packet as translated, which its original sender would
 * not recognise, so outer and quoted headers are translated back per the
 * entry of the flow's other direction, and the error is sent on to that
 * sender (fwd.h). The errors xlb sends itself are icmp.h's.
 */
#ifndef XLB_BPF_ICMP_XLATE_H
#define XLB_BPF_ICMP_XLATE_H

#include "csum.h"
#include "ctx.h"
#include "icmp.h"
#include "maps.h"
#include "parse.h"

struct xlb_icmp_pair {
	struct xlb_icmp_msg old;
	struct xlb_icmp_msg new;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_icmp_pair);
} xlb_icmp_xlate_scratch SEC(".maps");

/* An ICMP error is about a packet its receiver sent: the outer
 * destination is the quoted packet's source. Anything else (an off-path
 * sender spraying errors that quote {SNAT address:port -> backend} for
 * every port, transit or promiscuous frames) is not translated: it would
 * reach live flows' clients as a refusal or a lowered path MTU. */
static __always_inline bool xlb_icmp_to_sender(const struct xlb_ctx *c, const struct xlb_pkt *p)
{
	if (xlb_v6(c, p))
		return p->ip6 && xlb_addr_eq((union xlb_addr *)p->ip6->daddr, &p->tuple.saddr);
	return p->ip && p->ip->daddr == p->tuple.saddr.v4;
}

struct xlb_icmp6_pair {
	struct xlb_icmp6_msg old;
	struct xlb_icmp6_msg new;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_icmp6_pair);
} xlb_icmp6_xlate_scratch SEC(".maps");

/*
 * The same for ICMPv6 (destination unreachable, packet too big, time
 * exceeded), right after its IPv6 header (parse.h makes sure): outer
 * addresses and the quote's addresses and ports as for IPv4. No IP header
 * checksums; the ICMPv6 checksum covers the outer addresses (pseudo-
 * header) and the message, so it is updated by the difference of both.
 */
static __always_inline int xlb_icmp6_xlate(struct xlb_ctx *c, struct xlb_pkt *p,
					   const struct xlb_ct *e)
{
	__u32 zero = 0;
	struct xlb_icmp6_pair *m = bpf_map_lookup_elem(&xlb_icmp6_xlate_scratch, &zero);
	struct xlb_ip6 *q;
	__be16 *ports;
	__u16 old_sum;
	__s64 sum;

	/* Copied by the helpers, not memcpy: 96 bytes through registers
	 * spill onto the call chain's stack. */
	if (!m || !p->ip6 || (void *)p->ip6 + sizeof(m->old) > xlb_data_end(c))
		return -1;
	if (xlb_is_tc(c) ? bpf_skb_load_bytes(c->ctx, p->l3_off, &m->old, sizeof(m->old)) :
			   bpf_xdp_load_bytes(c->ctx, p->l3_off, &m->old, sizeof(m->old)))
		return -1;
	m->new = m->old;
	q = (struct xlb_ip6 *)m->new.quote;
	ports = (__be16 *)(m->new.quote + sizeof(*q));
	if (xlb_addr_eq((union xlb_addr *)m->new.ip6.saddr, (union xlb_addr *)q->daddr))
		__builtin_memcpy(m->new.ip6.saddr, &e->nat_saddr, 16);
	__builtin_memcpy(m->new.ip6.daddr, &e->nat_daddr, 16);
	__builtin_memcpy(q->saddr, &e->nat_daddr, 16);
	__builtin_memcpy(q->daddr, &e->nat_saddr, 16);
	ports[0] = e->nat_dport;
	ports[1] = e->nat_sport;

	old_sum = m->old.icmp.checksum;
	m->old.icmp.checksum = 0;
	m->new.icmp.checksum = 0;
	sum = bpf_csum_diff((__be32 *)m->old.ip6.saddr, 32, (__be32 *)m->new.ip6.saddr, 32,
			    (__u16)~old_sum);
	sum = bpf_csum_diff((__be32 *)&m->old.icmp, sizeof(m->old) - sizeof(m->old.ip6),
			    (__be32 *)&m->new.icmp, sizeof(m->new) - sizeof(m->new.ip6),
			    (__wsum)sum);
	m->new.icmp.checksum = csum_fold32((__u32)sum);

	if (xlb_is_tc(c))
		return bpf_skb_store_bytes(c->ctx, p->l3_off, &m->new, sizeof(m->new),
					   BPF_F_RECOMPUTE_CSUM) ?
			       -1 :
			       0;
	return bpf_xdp_store_bytes(c->ctx, p->l3_off, &m->new, sizeof(m->new)) ? -1 : 0;
}

/*
 * @p quotes a packet X' this node sent translated; @e is the entry its
 * swapped tuple hits (the flow's other direction), whose rewrite names
 * X as it was before translation. The error goes to X's sender: outer
 * destination X.saddr, the quote becomes X, and an outer source that was
 * X''s destination (the endpoint itself answered) becomes X's. Outer and
 * inner IPv4 checksums are recomputed (both headers are 20 bytes), the
 * ICMP checksum is updated by the difference of the 56 bytes (the quote
 * may be longer than what is rewritten). The quoted L4 checksum is left:
 * receivers match the quote by addresses and ports only.
 * 0 or -1.
 */
static __always_inline int xlb_icmp_xlate(struct xlb_ctx *c, struct xlb_pkt *p,
					  const struct xlb_ct *e)
{
	__u32 zero = 0;
	struct xlb_icmp_pair *m = bpf_map_lookup_elem(&xlb_icmp_xlate_scratch, &zero);
	struct iphdr *q;
	__be16 *ports;
	__u16 old_sum;
	__u32 sum;

	if (xlb_v6(c, p))
		return xlb_icmp6_xlate(c, p, e);
	if (!m || !p->ip || (void *)p->ip + sizeof(m->old) > xlb_data_end(c))
		return -1;
	__builtin_memcpy(&m->old, p->ip, sizeof(m->old));
	m->new = m->old;
	q = (struct iphdr *)m->new.quote;
	ports = (__be16 *)(m->new.quote + sizeof(*q));
	if (m->new.ip.saddr == q->daddr)
		m->new.ip.saddr = e->nat_saddr.v4;
	m->new.ip.daddr = e->nat_daddr.v4;
	q->saddr = e->nat_daddr.v4;
	q->daddr = e->nat_saddr.v4;
	ports[0] = e->nat_dport;
	ports[1] = e->nat_sport;

	q->check = 0;
	q->check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)q, sizeof(*q), 0));
	m->new.ip.check = 0;
	m->new.ip.check = csum_fold32(
		bpf_csum_diff(NULL, 0, (__be32 *)&m->new.ip, sizeof(m->new.ip), 0));
	old_sum = m->old.icmp.checksum;
	m->old.icmp.checksum = 0;
	m->new.icmp.checksum = 0;
	sum = bpf_csum_diff((__be32 *)&m->old.icmp, sizeof(m->old) - sizeof(m->old.ip),
			    (__be32 *)&m->new.icmp, sizeof(m->new) - sizeof(m->new.ip),
			    (__u16)~old_sum);
	m->new.icmp.checksum = csum_fold32(sum);

	if (xlb_is_tc(c))
		return bpf_skb_store_bytes(c->ctx, p->l3_off, &m->new, sizeof(m->new),
					   BPF_F_RECOMPUTE_CSUM) ?
			       -1 :
			       0;
	__builtin_memcpy(p->ip, &m->new, sizeof(m->new));
	return 0;
}

#endif /* XLB_BPF_ICMP_XLATE_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet parsing for XDP and tc: Ethernet (one 802.1Q/802.1ad tag), IPv4,
 * TCP/UDP, ICMP errors. Every header is bounds-checked before it is read;
 * on success the header pointers in struct xlb_pkt are valid until the
 * packet is changed by a tc helper or resized (tc code uses the offsets
 * and the scalar copies after that). The parser only reads; a packet it
 * refuses is left exactly as it came.
 *
 * IPv4 fragments: the first one (offset 0, MF) carries the L4 header and
 * is parsed like any packet (its UDP length names the whole datagram);
 * a later one has no L4 header: it is returned with XLB_FRAG_LATER and no
 * ports, which the caller takes from the first fragment (frag.h).
 *
 * IPv6: the extension headers between the IPv6 header and TCP/UDP/ICMPv6
 * are walked in a fixed bound, XLB_IP6_MAX_EXT headers of at most
 * XLB_IP6_MAX_EXT_BYTES together: hop-by-hop (first only, RFC 8200 4.1),
 * destination options, routing (segments left 0 only: otherwise this node
 * is a waypoint, not the destination the addresses name) and one fragment
 * header (the same first/later split as IPv4, with its 32-bit id). Anything
 * else (a longer chain, AH, ESP, No Next Header, an unknown header) is
 * XLB_R_PASS_IPV6_EXT and left to the stack. The walk is a global function
 * (verified once, on its own): its result is an opaque offset to the
 * verifier, so every chain length reaches the rest of the path as one
 * state instead of one per chain.
 */
#ifndef XLB_BPF_PARSE_H
#define XLB_BPF_PARSE_H

#include "common.h"

struct xlb_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct xlb_pkt {
	struct ethhdr *eth;
	struct iphdr *ip;    /* IPv4 header; NULL for IPv6 */
	struct xlb_ip6 *ip6; /* IPv6 header; NULL for IPv4 */
	union {
		struct tcphdr *tcp;
		struct udphdr *udp;
	};
	__u16 *l4_csum;	      /* TCP or UDP checksum field */
	struct icmphdr *icmp; /* icmp_err: the ICMP (ICMPv6) header ... */
	union {		      /* ... and the header it quotes */
		struct iphdr *inner;
		struct xlb_ip6 *inner6;
	};
	__u32 l3_off;  /* offset of the IP header (14 or 18) */
	__u32 l4_off;  /* offset of the TCP/UDP/ICMP header */
	__u16 tot_len; /* IP length incl. header, host order (BIG
				 * TCP: taken from the skb) */
	__be16 ip_id;
	__be32 frag_id; /* IPv6 fragment header's identification */
	__u8 tos;
	__u8 ttl;	/* IPv4 TTL, IPv6 hop limit */
	__u8 tcp_flags; /* TCP_F_* below; 0 for UDP */
	__u8 frag;	/* enum xlb_frag_kind */
	bool df;	/* Don't Fragment set (always, IPv6) */
	bool icmp_err;	/* ICMP error: tuple is the quoted packet's */
	bool gso;	/* tc: a GSO skb */
	bool vlan;
	struct xlb_ct_key tuple; /* the packet's tuple, as a CT key */
};

enum xlb_frag_kind {
	XLB_FRAG_NONE,
	XLB_FRAG_FIRST, /* offset 0, MF: has the L4 header */
	XLB_FRAG_LATER, /* offset > 0: no L4 header, no ports */
};

#define XLB_TCP_FIN 0x01
#define XLB_TCP_SYN 0x02
#define XLB_TCP_RST 0x04
#define XLB_TCP_ACK 0x10

/*
 * An ICMP error (unreachable, time exceeded) quoting an IPv4 TCP/UDP
 * header without options: p->tuple is then the *quoted* packet's tuple
 * and p->icmp_err set, so the caller can look up the flow it is about.
 * Anything else ICMP is XLB_R_PASS_NOT_L4, as before.
 */
static __always_inline int xlb_parse_icmp_err(void *cur, void *data_end, struct xlb_pkt *p)
{
	struct icmphdr *icmp = cur;
	struct iphdr *in;
	__be16 *ports;

	if ((void *)(icmp + 1) > data_end)
		return XLB_R_PASS_MALFORMED;
	if (icmp->type != ICMP_DEST_UNREACH && icmp->type != ICMP_TIME_EXCEEDED)
		return XLB_R_PASS_NOT_L4;
	in = (void *)(icmp + 1);
	if ((void *)(in + 1) + 8 > data_end)
		return XLB_R_PASS_NOT_L4;
	if (in->version != 4 || in->ihl != 5 ||
	    (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP) ||
	    (in->frag_off & bpf_htons(IP_OFFSET)))
		return XLB_R_PASS_NOT_L4;
	ports = (void *)(in + 1);
	p->icmp = icmp;
	p->inner = in;
	p->icmp_err = true;
	p->tuple.saddr.v4 = in->saddr;
	p->tuple.daddr.v4 = in->daddr;
	p->tuple.sport = ports[0];
	p->tuple.dport = ports[1];
	p->tuple.proto = in->protocol;
	return -1;
}

/*
 * ICMPv6 errors (destination unreachable, packet too big, time exceeded)
 * quoting an IPv6 TCP/UDP header with no extension headers: p->tuple is
 * the quoted packet's, as for IPv4. Every other ICMPv6 message (Neighbor
 * Discovery, echo, MLD, parameter problem, ...) is XLB_R_PASS_NOT_L4.
 */
static __always_inline int xlb_parse_icmp6_err(void *cur, void *data_end, struct xlb_pkt *p)
{
	struct icmphdr *icmp = cur;
	struct xlb_ip6 *in;
	__be16 *ports;

	if ((void *)icmp + sizeof(struct xlb_icmp6) > data_end)
		return XLB_R_PASS_MALFORMED;
	if (icmp->type != ICMPV6_DEST_UNREACH && icmp->type != ICMPV6_PKT_TOOBIG &&
	    icmp->type != ICMPV6_TIME_EXCEED)
		return XLB_R_PASS_NOT_L4;
	in = (void *)icmp + sizeof(struct xlb_icmp6);
	if ((void *)(in + 1) + 8 > data_end)
		return XLB_R_PASS_NOT_L4;
	if ((in->vtc_flow & bpf_htonl(0xf0000000)) != bpf_htonl(0x60000000) ||
	    (in->nexthdr != IPPROTO_TCP && in->nexthdr != IPPROTO_UDP))
		return XLB_R_PASS_NOT_L4;
	ports = (void *)(in + 1);
	p->icmp = icmp;
	p->inner6 = in;
	p->icmp_err = true;
	__builtin_memcpy(&p->tuple.saddr, in->saddr, 16);
	__builtin_memcpy(&p->tuple.daddr, in->daddr, 16);
	p->tuple.sport = ports[0];
	p->tuple.dport = ports[1];
	p->tuple.proto = in->nexthdr;
	return -1;
}

/* Ethernet and at most one VLAN tag: what follows them, with its
 * EtherType in *@proto; NULL when the frame is too short. */
static __always_inline void *xlb_parse_eth(void *data, void *data_end, struct xlb_pkt *p,
					   __be16 *proto)
{
	struct ethhdr *eth = data;
	struct xlb_vlan_hdr *vh;

	if ((void *)(eth + 1) > data_end)
		return NULL;
	p->eth = eth;
	*proto = eth->h_proto;
	if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
		return eth + 1;
	vh = (void *)(eth + 1);
	if ((void *)(vh + 1) > data_end)
		return NULL;
	*proto = vh->proto;
	p->vlan = true;
	return vh + 1;
}

/* The TCP header at @cur, in an IPv4 payload of @l4_len bytes. */
static __always_inline int xlb_parse_tcp(void *cur, void *data_end, __u32 l4_len, struct xlb_pkt *p)
{
	struct tcphdr *th = cur;

	if ((void *)(th + 1) > data_end)
		return XLB_R_PASS_MALFORMED;
	if (th->doff < 5 || th->doff * 4 > l4_len)
		return XLB_R_PASS_MALFORMED;
	p->tcp = th;
	p->l4_csum = &th->check;
	p->tuple.sport = th->source;
	p->tuple.dport = th->dest;
	p->tcp_flags = ((__u8 *)th)[13];
	return -1;
}

static __always_inline int xlb_parse_udp(void *cur, void *data_end, __u32 l4_len, struct xlb_pkt *p)
{
	struct udphdr *uh = cur;

	if ((void *)(uh + 1) > data_end)
		return XLB_R_PASS_MALFORMED;
	/* A first fragment's UDP length is the whole datagram's. */
	if (bpf_ntohs(uh->len) < sizeof(*uh) ||
	    (p->frag == XLB_FRAG_NONE && bpf_ntohs(uh->len) > l4_len))
		return XLB_R_PASS_MALFORMED;
	p->udp = uh;
	p->l4_csum = &uh->check;
	p->tuple.sport = uh->source;
	p->tuple.dport = uh->dest;
	return -1;
}

#define XLB_IP6_MAX_EXT	      5	  /* HBH, dst, routing, fragment, dst */
#define XLB_IP6_MAX_EXT_BYTES 256 /* the chain's bytes, together */
/* The L4 header lies no further out than this (VLAN, IPv6, the chain). */
#define XLB_IP6_MAX_L4_OFF (ETH_HLEN + 4 + 40 + XLB_IP6_MAX_EXT_BYTES)

/* What the extension header walk found (scalars only: a global
 * function's memory argument; per-CPU scratch, xlb_walk_scratch). */
struct xlb_ip6_walk {
	__u32 l4_off; /* offset of the upper-layer header */
	__be32 frag_id;
	__u8 nexthdr; /* the upper-layer protocol */
	__u8 frag;    /* enum xlb_frag_kind */
	__u8 pad[2];
};

/* Its result, per CPU: the stack is the path's. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_ip6_walk);
} xlb_walk_scratch SEC(".maps");

/* The walk itself; -1 or the reason to pass. @vlan: the IPv6 header
 * follows a VLAN tag (a flag, not an offset: the verifier sees the
 * argument as any value). */
static __always_inline int xlb_ip6_walk(void *data, void *data_end, __u32 vlan,
					struct xlb_ip6_walk *w)
{
	__u32 l3_off = vlan ? ETH_HLEN + sizeof(struct xlb_vlan_hdr) : ETH_HLEN;
	struct xlb_ip6 *ip6;
	__u32 ext = 0;
	bool frag = false;
	void *cur;
	__u8 nh;

	if (!w)
		return XLB_R_PASS_MALFORMED;
	ip6 = data + l3_off;
	if ((void *)(ip6 + 1) > data_end)
		return XLB_R_PASS_MALFORMED;
	nh = ip6->nexthdr;
	cur = ip6 + 1;
	w->frag = XLB_FRAG_NONE;
	w->frag_id = 0;
#pragma unroll
	for (int i = 0; i < XLB_IP6_MAX_EXT; i++) {
		struct xlb_ip6_opt *o = cur;
		__u32 len;

		if (nh != XLB_IPPROTO_HOPOPTS && nh != XLB_IPPROTO_ROUTING &&
		    nh != XLB_IPPROTO_DSTOPTS && nh != XLB_IPPROTO_FRAGMENT)
			break;
		if ((void *)o + 8 > data_end)
			return XLB_R_PASS_MALFORMED;
		if (nh == XLB_IPPROTO_HOPOPTS && i)
			return XLB_R_PASS_IPV6_EXT;
		if (nh == XLB_IPPROTO_FRAGMENT) {
			struct xlb_ip6_frag *f = cur;
			__u16 fo = bpf_ntohs(f->frag_off);

			if (frag)
				return XLB_R_PASS_IPV6_EXT;
			frag = true;
			w->frag_id = f->id;
			if (fo & 0xfff8)
				w->frag = XLB_FRAG_LATER;
			else if (fo & 1)
				w->frag = XLB_FRAG_FIRST;
			len = 8;
		} else {
			if (nh == XLB_IPPROTO_ROUTING && o->segs)
				return XLB_R_PASS_IPV6_EXT;
			len = ((__u32)o->hdrlen + 1) * 8;
		}
		ext += len;
		if (ext > XLB_IP6_MAX_EXT_BYTES)
			return XLB_R_PASS_IPV6_EXT;
		nh = o->nexthdr;
		cur += len;
		/* Past a later fragment's header is payload, not headers. */
		if (w->frag == XLB_FRAG_LATER)
			break;
	}
	/* Longer than we walk, or an extension header we do not walk (RFC
	 * 8200 4, IANA's list: ESP, AH, No Next Header, Mobility, HIP,
	 * Shim6, the experimental 253/254). Other upper layers (SCTP, GRE,
	 * ...) are XLB_R_PASS_NOT_L4, as for IPv4. */
	if (w->frag != XLB_FRAG_LATER &&
	    (nh == XLB_IPPROTO_HOPOPTS || nh == XLB_IPPROTO_ROUTING || nh == XLB_IPPROTO_DSTOPTS ||
	     nh == XLB_IPPROTO_FRAGMENT || nh == 50 || nh == 51 || nh == 59 || nh == 135 ||
	     nh == 139 || nh == 140 || nh == 253 || nh == 254))
		return XLB_R_PASS_IPV6_EXT;
	w->nexthdr = nh;
	w->l4_off = l3_off + sizeof(*ip6) + ext;
	return -1;
}

__noinline int xlb_ip6_walk_xdp(struct xdp_md *ctx, __u32 vlan, struct xlb_ip6_walk *w)
{
	return xlb_ip6_walk((void *)(long)ctx->data, (void *)(long)ctx->data_end, vlan, w);
}

__noinline int xlb_ip6_walk_tc(struct __sk_buff *skb, __u32 vlan, struct xlb_ip6_walk *w)
{
	return xlb_ip6_walk((void *)(long)skb->data, (void *)(long)skb->data_end, vlan, w);
}

/*
 * IPv6 after its Ethernet header at @cur: the header, its extension
 * headers (through @ctx's walk: struct xdp_md or struct __sk_buff), then
 * TCP/UDP/ICMPv6 as for IPv4.
 */
static __always_inline int xlb_parse6(void *ctx, bool tc, void *data, void *data_end, void *cur,
				      __u32 pkt_len, bool gso, struct xlb_pkt *p)
{
	struct xlb_ip6 *ip6 = cur;
	__u32 plen, l3_off = cur - data, end, l4_len, zero = 0;
	struct xlb_ip6_walk *w;
	int r;

	if ((void *)(ip6 + 1) > data_end)
		return XLB_R_PASS_MALFORMED;
	if ((ip6->vtc_flow & bpf_htonl(0xf0000000)) != bpf_htonl(0x60000000))
		return XLB_R_PASS_MALFORMED;
	plen = bpf_ntohs(ip6->payload_len);
	/* IPv6 BIG TCP: the stack's GSO packets above 64 KB carry 0. */
	if (!plen && gso && pkt_len - l3_off - sizeof(*ip6) > 0xffff)
		plen = pkt_len - l3_off - sizeof(*ip6);
	end = l3_off + sizeof(*ip6) + plen;
	if (end > pkt_len)
		return XLB_R_PASS_MALFORMED;
	p->ip6 = ip6;
	p->gso = gso;
	p->l3_off = l3_off;
	p->tot_len = end - l3_off > 0xffff ? 0xffff : end - l3_off;
	p->ttl = ip6->hop_limit;
	p->tos = bpf_ntohl(ip6->vtc_flow) >> 20;
	p->df = true; /* routers never fragment IPv6 */
	__builtin_memcpy(&p->tuple.saddr, ip6->saddr, 16);
	__builtin_memcpy(&p->tuple.daddr, ip6->daddr, 16);
	p->tuple.family = XLB_AF_INET6;

	w = bpf_map_lookup_elem(&xlb_walk_scratch, &zero);
	if (!w)
		return XLB_R_PASS_MALFORMED;
	r = tc ? xlb_ip6_walk_tc(ctx, p->vlan, w) : xlb_ip6_walk_xdp(ctx, p->vlan, w);
	if (r >= 0)
		return r;
	if (w->l4_off > XLB_IP6_MAX_L4_OFF || w->l4_off > end)
		return XLB_R_PASS_MALFORMED;
	p->l4_off = w->l4_off;
	p->frag = w->frag;
	p->frag_id = w->frag_id;
	p->tuple.proto = w->nexthdr;
	l4_len = end - p->l4_off;
	cur = data + p->l4_off;

	if (p->frag == XLB_FRAG_LATER)
		return p->tuple.proto == IPPROTO_TCP || p->tuple.proto == IPPROTO_UDP ?
			       -1 :
			       XLB_R_PASS_FRAGMENT;
	if (p->tuple.proto == IPPROTO_TCP)
		return xlb_parse_tcp(cur, data_end, l4_len, p);
	if (p->tuple.proto == IPPROTO_UDP)
		return xlb_parse_udp(cur, data_end, l4_len, p);
	/* Errors are translated only right after the IPv6 header (the
	 * rewrite is then fixed-size, as IPv4's without options). */
	if (p->tuple.proto == XLB_IPPROTO_ICMPV6 && p->frag == XLB_FRAG_NONE &&
	    p->l4_off == l3_off + sizeof(*ip6))
		return xlb_parse_icmp6_err(cur, data_end, p);
	return XLB_R_PASS_NOT_L4;
}

/*
 * Returns -1 when the packet is IPv4 TCP/UDP and fully parsed, or the
 * enum xlb_reason to count when it is to be passed untouched.
 *
 * @pkt_len is the whole packet's length. It differs from data_end - data
 * for a tc skb whose payload sits in pages: the headers must be in the
 * linear part, the IP length is checked against the whole packet.
 * @gso: the skb is a GSO packet (tc). An IPv4 BIG TCP packet (above 64 KB)
 * has tot_len 0; its length is then the skb's.
 */
/* @family: XLB_AF_INET (IPv6 frames are XLB_R_PASS_NOT_IP: the entry
 * programs hand them to their IPv6 program before), XLB_AF_INET6 (IPv4
 * frames are XLB_R_PASS_NOT_IP), 0: both (tc egress). A constant. */
static __always_inline int xlb_parse(void *ctx, bool tc, void *data, void *data_end, __u32 pkt_len,
				     bool gso, struct xlb_pkt *p, __u8 family)
{
	struct iphdr *ip;
	__u32 ihl_len, tot_len;
	__be16 proto;
	void *cur;

	cur = xlb_parse_eth(data, data_end, p, &proto);
	if (!cur)
		return XLB_R_PASS_MALFORMED;
	if (proto == bpf_htons(ETH_P_IPV6) && family != XLB_AF_INET)
		return xlb_parse6(ctx, tc, data, data_end, cur, pkt_len, gso, p);
	if (proto != bpf_htons(ETH_P_IP) || family == XLB_AF_INET6)
		return XLB_R_PASS_NOT_IP;

	ip = cur;
	if ((void *)(ip + 1) > data_end)
		return XLB_R_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return XLB_R_PASS_MALFORMED;
	ihl_len = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	if (!tot_len && gso && pkt_len - (cur - data) > 0xffff)
		tot_len = pkt_len - (cur - data);
	/* Trailing Ethernet padding is fine; a length past the frame is not. */
	if (tot_len < ihl_len || (cur - data) + tot_len > pkt_len)
		return XLB_R_PASS_MALFORMED;
	p->ip = ip;
	p->gso = gso;
	p->l3_off = cur - data;
	p->tot_len = tot_len > 0xffff ? 0xffff : tot_len;
	p->ip_id = ip->id;
	p->tos = ip->tos;
	p->ttl = ip->ttl;
	p->df = !!(ip->frag_off & bpf_htons(0x4000));
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		p->frag = XLB_FRAG_LATER;
	else if (ip->frag_off & bpf_htons(IP_MF))
		p->frag = XLB_FRAG_FIRST;
	cur += ihl_len;
	p->l4_off = cur - data;

	p->tuple.saddr.v4 = ip->saddr;
	p->tuple.daddr.v4 = ip->daddr;
	p->tuple.proto = ip->protocol;
	p->tuple.family = XLB_AF_INET;

	if (p->frag == XLB_FRAG_LATER)
		return ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP ?
			       -1 :
			       XLB_R_PASS_FRAGMENT;
	if (ip->protocol == IPPROTO_TCP)
		return xlb_parse_tcp(cur, data_end, tot_len - ihl_len, p);
	if (ip->protocol == IPPROTO_UDP)
		return xlb_parse_udp(cur, data_end, tot_len - ihl_len, p);
	if (ip->protocol == IPPROTO_ICMP && p->frag == XLB_FRAG_NONE && ihl_len == 20)
		return xlb_parse_icmp_err(cur, data_end, p);
	return XLB_R_PASS_NOT_L4;
}

/* Headers tc may need in the linear area: VLAN Ethernet + IPv6 with the
 * longest extension chain walked (longer than IPv4 with options) + an
 * ICMPv6 error with its quote (longer than TCP without options). */
#define XLB_TC_PULL (XLB_IP6_MAX_L4_OFF + 8 + 40 + 8)

/* Parse an skb; headers not all in the linear part are pulled first. */
static __always_inline int xlb_tc_parse(struct __sk_buff *skb, struct xlb_pkt *p, __u8 family)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	bool gso = skb->gso_size != 0;
	int r;

	r = xlb_parse(skb, true, data, data_end, skb->len, gso, p, family);
	if ((r == XLB_R_PASS_MALFORMED || r == XLB_R_PASS_NOT_L4) && skb->len > data_end - data) {
		bpf_skb_pull_data(skb, skb->len < XLB_TC_PULL ? skb->len : XLB_TC_PULL);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		__builtin_memset(p, 0, sizeof(*p));
		r = xlb_parse(skb, true, data, data_end, skb->len, gso, p, family);
	}
	return r;
}

/* Is the frame IPv6 (after at most one VLAN tag)? The entry programs ask
 * before parsing, to hand it to their IPv6 program. */
static __always_inline bool xlb_frame_is_ip6(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct xlb_vlan_hdr *vh = (void *)(eth + 1);

	if ((void *)(eth + 1) > data_end)
		return false;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return true;
	if (eth->h_proto != bpf_htons(ETH_P_8021Q) && eth->h_proto != bpf_htons(ETH_P_8021AD))
		return false;
	return (void *)(vh + 1) <= data_end && vh->proto == bpf_htons(ETH_P_IPV6);
}

#endif /* XLB_BPF_PARSE_H */

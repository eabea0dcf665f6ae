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
	struct iphdr *ip;
	union {
		struct tcphdr *tcp;
		struct udphdr *udp;
	};
	__u16 *l4_csum;	      /* TCP or UDP checksum field */
	struct icmphdr *icmp; /* icmp_err: the ICMP header ... */
	struct iphdr *inner;  /* ... and the IPv4 header it quotes */
	__u32 l3_off;	      /* offset of the IPv4 header (14 or 18) */
	__u32 l4_off;	      /* offset of the TCP/UDP header */
	__u16 tot_len;	      /* IPv4 total length, host order (BIG TCP:
				 * taken from the skb) */
	__be16 ip_id;
	__u8 tos;
	__u8 ttl;
	__u8 tcp_flags; /* TCP_F_* below; 0 for UDP */
	__u8 frag;	/* enum xlb_frag_kind */
	bool df;	/* Don't Fragment set */
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
static __always_inline int xlb_parse(void *data, void *data_end, __u32 pkt_len, bool gso,
				     struct xlb_pkt *p)
{
	struct iphdr *ip;
	__u32 ihl_len, tot_len;
	__be16 proto;
	void *cur;

	cur = xlb_parse_eth(data, data_end, p, &proto);
	if (!cur)
		return XLB_R_PASS_MALFORMED;
	if (proto != bpf_htons(ETH_P_IP))
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

/* Headers tc may need in the linear area: VLAN Ethernet + IPv4 with
 * options + TCP without options, or an ICMP error with its quote. */
#define XLB_TC_PULL (ETH_HLEN + 4 + 60 + 20 + 8)

/* Parse an skb; headers not all in the linear part are pulled first. */
static __always_inline int xlb_tc_parse(struct __sk_buff *skb, struct xlb_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	bool gso = skb->gso_size != 0;
	int r;

	r = xlb_parse(data, data_end, skb->len, gso, p);
	if ((r == XLB_R_PASS_MALFORMED || r == XLB_R_PASS_NOT_L4) && skb->len > data_end - data) {
		bpf_skb_pull_data(skb, skb->len < XLB_TC_PULL ? skb->len : XLB_TC_PULL);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		__builtin_memset(p, 0, sizeof(*p));
		r = xlb_parse(data, data_end, skb->len, gso, p);
	}
	return r;
}

#endif /* XLB_BPF_PARSE_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet parsing for XDP and tc: Ethernet (one 802.1Q/802.1ad tag), IPv4,
 * TCP/UDP. Every header is bounds-checked before it is read; on success the
 * header pointers in struct xlb_pkt are valid until the packet is resized.
 * The parser only reads; a packet it refuses is left exactly as it came.
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
	__u16 *l4_csum;		/* TCP or UDP checksum field */
	__u32 l3_off;		/* offset of the IPv4 header (14 or 18) */
	__u32 l4_off;		/* offset of the TCP/UDP header */
	__u8 tcp_flags;		/* TCP_F_* below; 0 for UDP */
	bool vlan;
	struct xlb_ct_key tuple;	/* the packet's tuple, as a CT key */
};

#define XLB_TCP_FIN 0x01
#define XLB_TCP_SYN 0x02
#define XLB_TCP_RST 0x04
#define XLB_TCP_ACK 0x10

/*
 * Returns -1 when the packet is IPv4 TCP/UDP and fully parsed, or the
 * enum xlb_reason to count when it is to be passed untouched.
 *
 * @pkt_len is the whole packet's length. It differs from data_end - data
 * for a tc skb whose payload sits in pages: the headers must be in the
 * linear part, the IP length is checked against the whole packet.
 */
static __always_inline int xlb_parse(void *data, void *data_end, __u32 pkt_len,
				     struct xlb_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 ihl_len, tot_len;
	__be16 proto;
	void *cur;

	if ((void *)(eth + 1) > data_end)
		return XLB_R_PASS_MALFORMED;
	p->eth = eth;
	proto = eth->h_proto;
	cur = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct xlb_vlan_hdr *vh = cur;

		if ((void *)(vh + 1) > data_end)
			return XLB_R_PASS_MALFORMED;
		proto = vh->proto;
		cur = vh + 1;
		p->vlan = true;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return XLB_R_PASS_NOT_IP;

	ip = cur;
	if ((void *)(ip + 1) > data_end)
		return XLB_R_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return XLB_R_PASS_MALFORMED;
	ihl_len = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	/* Trailing Ethernet padding is fine; a length past the frame is not. */
	if (tot_len < ihl_len || (cur - data) + tot_len > pkt_len)
		return XLB_R_PASS_MALFORMED;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return XLB_R_PASS_FRAGMENT;
	p->ip = ip;
	p->l3_off = cur - data;
	cur += ihl_len;
	p->l4_off = cur - data;

	p->tuple.saddr.v4 = ip->saddr;
	p->tuple.daddr.v4 = ip->daddr;
	p->tuple.proto = ip->protocol;
	p->tuple.family = XLB_AF_INET;

	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *th = cur;

		if ((void *)(th + 1) > data_end)
			return XLB_R_PASS_MALFORMED;
		if (th->doff < 5 || th->doff * 4 > tot_len - ihl_len)
			return XLB_R_PASS_MALFORMED;
		p->tcp = th;
		p->l4_csum = &th->check;
		p->tuple.sport = th->source;
		p->tuple.dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return -1;
	}
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *uh = cur;

		if ((void *)(uh + 1) > data_end)
			return XLB_R_PASS_MALFORMED;
		if (bpf_ntohs(uh->len) < sizeof(*uh) ||
		    bpf_ntohs(uh->len) > tot_len - ihl_len)
			return XLB_R_PASS_MALFORMED;
		p->udp = uh;
		p->l4_csum = &uh->check;
		p->tuple.sport = uh->source;
		p->tuple.dport = uh->dest;
		return -1;
	}
	return XLB_R_PASS_NOT_L4;
}

#endif /* XLB_BPF_PARSE_H */

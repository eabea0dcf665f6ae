/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * L2 announcement: answer ARP requests (IPv4) and Neighbor Solicitations
 * (IPv6) for the LoadBalancer VIPs this node owns, from xlb_l2 entries the
 * agent writes and keeps fresh. The VIP is not configured on any interface,
 * so the kernel itself never answers; only this code does, and only while
 * the entry's deadline lies ahead (a dead agent's node goes quiet by
 * itself).
 *
 * It runs at tc ingress, not XDP: a few packets a second need no fast path,
 * and tc can send the answer back out of the interface it came from on
 * every device (XDP_TX into a veth is lost unless the peer runs XDP, and a
 * Neighbor Advertisement may be longer than the solicitation, which
 * bpf_skb_change_tail handles). The answer is built in place and sent with
 * bpf_redirect to the arrival interface's egress.
 */
#ifndef XLB_BPF_ARP_H
#define XLB_BPF_ARP_H

#include "csum.h"
#include "maps.h"
#include "stats.h"

#ifndef ETH_P_ARP
#define ETH_P_ARP 0x0806
#endif
#define XLB_ARPHRD_ETHER    1
#define XLB_ARPOP_REQUEST   1
#define XLB_ARPOP_REPLY	    2
#define XLB_ND_NS	    135
#define XLB_ND_NA	    136
#define XLB_ND_OPT_TLLA	    2
#define XLB_ND_NA_SOLICITED 0x40000000u
#define XLB_ND_NA_OVERRIDE  0x20000000u

/* RFC 826 for Ethernet + IPv4: the IPv4 fields are not 4-byte aligned. */
struct xlb_arp_eth4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 oper;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

/* NS/NA with one 8-byte link-layer option (RFC 4861 §4.3, §4.4), spelled
 * out to keep libc headers out (the IPv6 header is in common.h). */
struct xlb_nd {
	__u8 type;
	__u8 code;
	__sum16 csum;
	__be32 flags; /* NA: R S O bits; NS: reserved */
	__u8 target[16];
	__u8 opt_type;
	__u8 opt_len; /* units of 8 bytes */
	__u8 opt_mac[ETH_ALEN];
};

#define XLB_NA_FRAME (ETH_HLEN + sizeof(struct xlb_ip6) + sizeof(struct xlb_nd))

static __always_inline struct xlb_l2 *xlb_l2_owned(struct __sk_buff *skb, struct xlb_l2_scratch *sc,
						   __u8 family, const void *addr, __u64 bytes)
{
	struct xlb_l2_key *k = &sc->key;
	struct xlb_l2 *e;

	__builtin_memset(k, 0, sizeof(*k));
	k->ifindex = skb->ifindex;
	k->family = family;
	__builtin_memcpy(k->addr.bytes, addr, family == XLB_AF_INET ? 4 : 16);
	e = bpf_map_lookup_elem(&xlb_l2, k);
	if (!e)
		return NULL;
	if (e->expires_ns <= bpf_ktime_get_coarse_ns()) {
		xlb_count_reason(XLB_R_PASS_L2_EXPIRED, bytes);
		return NULL;
	}
	return e;
}

/* TC_ACT_REDIRECT with the reply, or -1: not ours, go on. */
static __always_inline int xlb_arp_answer(struct __sk_buff *skb, struct xlb_l2_scratch *sc)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct xlb_arp_eth4 *arp = (void *)(eth + 1);
	__u8 *vip = sc->target;
	struct xlb_l2 *e;

	if ((void *)(arp + 1) > data_end)
		return -1;
	if (arp->htype != bpf_htons(XLB_ARPHRD_ETHER) || arp->ptype != bpf_htons(ETH_P_IP) ||
	    arp->hlen != ETH_ALEN || arp->plen != 4 || arp->oper != bpf_htons(XLB_ARPOP_REQUEST))
		return -1;
	/* A gratuitous request (sender = target) announces, it asks nothing. */
	if (!__builtin_memcmp(arp->spa, arp->tpa, 4))
		return -1;
	__builtin_memcpy(vip, arp->tpa, 4);
	e = xlb_l2_owned(skb, sc, XLB_AF_INET, vip, skb->len);
	if (!e)
		return -1;
	/* Reply to the asker (an RFC 5227 probe, sender 0.0.0.0, gets its
	 * answer too: the address is in use). */
	arp->oper = bpf_htons(XLB_ARPOP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->tpa, arp->spa, 4);
	__builtin_memcpy(arp->sha, e->mac, ETH_ALEN);
	__builtin_memcpy(arp->spa, vip, 4);
	__builtin_memcpy(eth->h_dest, arp->tha, ETH_ALEN);
	__builtin_memcpy(eth->h_source, e->mac, ETH_ALEN);
	xlb_count_reason(XLB_R_ARP_REPLY, skb->len);
	return bpf_redirect(skb->ifindex, 0);
}

/* The Neighbor Advertisement for @sc's target, over the frame (resized
 * to XLB_NA_FRAME): to the asker, or to all nodes after DAD. */
static __always_inline void xlb_na_fill(struct ethhdr *eth, struct xlb_ip6 *ip6, struct xlb_nd *nd,
					const struct xlb_l2_scratch *sc, bool dad)
{
	const __u8 *target = sc->target, *asker = sc->asker, *asker_mac = sc->asker_mac,
		   *mac = sc->mac;

	if (dad) {
		static const __u8 all_nodes_mac[ETH_ALEN] = { 0x33, 0x33, 0, 0, 0, 1 };

		__builtin_memcpy(eth->h_dest, all_nodes_mac, ETH_ALEN);
		__builtin_memset(ip6->daddr, 0, 16);
		ip6->daddr[0] = 0xff;
		ip6->daddr[1] = 0x02;
		ip6->daddr[15] = 1;
	} else {
		__builtin_memcpy(eth->h_dest, asker_mac, ETH_ALEN);
		__builtin_memcpy(ip6->daddr, asker, 16);
	}
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	ip6->vtc_flow = bpf_htonl(0x60000000);
	ip6->payload_len = bpf_htons(sizeof(struct xlb_nd));
	ip6->nexthdr = XLB_IPPROTO_ICMPV6;
	ip6->hop_limit = 255;
	__builtin_memcpy(ip6->saddr, target, 16);
	nd->type = XLB_ND_NA;
	nd->code = 0;
	nd->csum = 0;
	nd->flags = bpf_htonl(XLB_ND_NA_OVERRIDE | (dad ? 0 : XLB_ND_NA_SOLICITED));
	__builtin_memcpy(nd->target, target, 16);
	nd->opt_type = XLB_ND_OPT_TLLA;
	nd->opt_len = 1;
	__builtin_memcpy(nd->opt_mac, mac, ETH_ALEN);
}

/* The NA's ICMPv6 checksum, from scratch: pseudo-header (addresses,
 * length, next header) + the 32-byte message. Negative: a helper refused. */
static __always_inline __s64 xlb_na_csum(struct xlb_ip6 *ip6, struct xlb_nd *nd,
					 struct xlb_l2_scratch *sc)
{
	__be32 *pseudo = sc->pseudo;
	__s64 sum;

	pseudo[0] = bpf_htonl(sizeof(struct xlb_nd));
	pseudo[1] = bpf_htonl(XLB_IPPROTO_ICMPV6);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)ip6->saddr, 32, 0);
	if (sum < 0)
		return sum;
	sum = bpf_csum_diff(NULL, 0, pseudo, sizeof(sc->pseudo), (__wsum)sum);
	if (sum < 0)
		return sum;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)nd, sizeof(*nd), (__wsum)sum);
	if (sum < 0)
		return sum;
	return csum_fold32((__u32)sum);
}

static __always_inline int xlb_ndp_answer(struct __sk_buff *skb, struct xlb_l2_scratch *sc)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct xlb_ip6 *ip6 = (void *)(eth + 1);
	struct xlb_nd *nd = (void *)(ip6 + 1);
	__u8 *target = sc->target, *asker = sc->asker, *asker_mac = sc->asker_mac, *mac = sc->mac;
	struct xlb_l2 *e;
	bool dad;
	__s64 sum;

	/* The fixed part of an NS (24 bytes); options are not needed. */
	if ((void *)nd + 24 > data_end)
		return -1;
	if (ip6->nexthdr != XLB_IPPROTO_ICMPV6 || ip6->hop_limit != 255 || nd->type != XLB_ND_NS ||
	    nd->code != 0 || bpf_ntohs(ip6->payload_len) < 24)
		return -1;
	__builtin_memcpy(target, nd->target, 16);
	if (target[0] == 0xff)
		return -1; /* never a multicast target */
	e = xlb_l2_owned(skb, sc, XLB_AF_INET6, target, skb->len);
	if (!e)
		return -1;
	__builtin_memcpy(mac, e->mac, ETH_ALEN);
	__builtin_memcpy(asker, ip6->saddr, 16);
	__builtin_memcpy(asker_mac, eth->h_source, ETH_ALEN);
	/* Duplicate address detection asks from ::; the answer then goes to
	 * all nodes, unsolicited (RFC 4861 §7.2.4). */
	dad = !(asker[0] | asker[1] | asker[2] | asker[3] | asker[4] | asker[5] | asker[6] |
		asker[7] | asker[8] | asker[9] | asker[10] | asker[11] | asker[12] | asker[13] |
		asker[14] | asker[15]);

	/* The NA has exactly one option (target link-layer address). */
	if (bpf_skb_change_tail(skb, XLB_NA_FRAME, 0)) {
		xlb_count_reason(XLB_R_PASS_MALFORMED, skb->len);
		return TC_ACT_OK;
	}
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	ip6 = (void *)(eth + 1);
	nd = (void *)(ip6 + 1);
	if ((void *)(nd + 1) > data_end) {
		xlb_count_reason(XLB_R_PASS_MALFORMED, skb->len);
		return TC_ACT_OK;
	}
	xlb_na_fill(eth, ip6, nd, sc, dad);
	sum = xlb_na_csum(ip6, nd, sc);
	if (sum < 0)
		return TC_ACT_SHOT;
	nd->csum = (__u16)sum;
	xlb_count_reason(XLB_R_NDP_ADVERT, skb->len);
	return bpf_redirect(skb->ifindex, 0);
}

/*
 * ARP request or NS for an owned VIP: answer it (TC_ACT_REDIRECT).
 * Anything else: -1, the caller goes on. Frames with a VLAN tag are not
 * answered (VIPs are announced on untagged uplinks). A function of its
 * own: its stack must not add to the frame of a caller that goes on to
 * the whole datapath (512 bytes for the deepest call chain).
 */
static __noinline int xlb_l2_answer(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct xlb_l2_scratch *sc;
	__u32 zero = 0;

	if ((void *)(eth + 1) > data_end)
		return -1;
	if (eth->h_proto != bpf_htons(ETH_P_ARP) && eth->h_proto != bpf_htons(ETH_P_IPV6))
		return -1;
	sc = bpf_map_lookup_elem(&xlb_l2_scratch, &zero);
	if (!sc)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		if (data_end - data < (long)(ETH_HLEN + sizeof(struct xlb_arp_eth4)) &&
		    bpf_skb_pull_data(skb, ETH_HLEN + sizeof(struct xlb_arp_eth4)))
			return -1;
		return xlb_arp_answer(skb, sc);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if (data_end - data < (long)(ETH_HLEN + sizeof(struct xlb_ip6) + 24) &&
		    bpf_skb_pull_data(skb, ETH_HLEN + sizeof(struct xlb_ip6) + 24))
			return -1;
		return xlb_ndp_answer(skb, sc);
	}
	return -1;
}

#endif /* XLB_BPF_ARP_H */

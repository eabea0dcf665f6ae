/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reject: turn a packet for a frontend with no endpoints into an ICMP
 * port-unreachable back to its sender, in place, and XDP_TX it. A TCP
 * client in SYN_SENT takes it as a hard error (ECONNREFUSED at once), as
 * kube-proxy's REJECT rule gives. Rate-limited by a per-CPU token bucket.
 *
 * Frame before:  L2 | IPv4 (20) | first 8 bytes of L4 | rest
 * Frame after:   L2 (MACs swapped) | IPv4 (20) | ICMP (8) | IPv4 (20) | 8
 * Only IPv4 without options is answered (the quoted header is then a fixed
 * 28 bytes, which keeps the checksum a constant-size helper call).
 */
#ifndef XLB_BPF_ICMP_H
#define XLB_BPF_ICMP_H

#include "csum.h"
#include "maps.h"
#include "parse.h"

#define XLB_ICMP_GROW (sizeof(struct iphdr) + sizeof(struct icmphdr))
#define XLB_ICMP_QUOTE (sizeof(struct iphdr) + 8)

static __always_inline bool xlb_icmp_allowed(__u64 now)
{
	__u32 zero = 0;
	struct xlb_bucket *b = bpf_map_lookup_elem(&xlb_icmp_bucket, &zero);
	__u64 cost, cap;

	if (!b || !xlb_cfg.icmp_rate)
		return false;
	/* Credit is kept in nanoseconds of refill time: one token costs
	 * 1s/rate, the bucket holds burst tokens. */
	cost = NS_PER_SEC / xlb_cfg.icmp_rate;
	cap = cost * xlb_cfg.icmp_burst;
	b->tokens_ns += now - b->last_ns;
	b->last_ns = now;
	if (b->tokens_ns > cap)
		b->tokens_ns = cap;
	if (b->tokens_ns < cost)
		return false;
	b->tokens_ns -= cost;
	return true;
}

/* Returns XDP_TX when the reply was built, -1 when the packet must be
 * dropped instead (the frame is untouched in that case only if
 * resizing failed before any write). */
static __always_inline int xlb_icmp_reject(struct xdp_md *ctx, struct xlb_pkt *p,
					   __u64 now)
{
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
	__u32 sum;

	__be16 tpid = p->eth->h_proto;
	__u32 src = bpf_ntohl(p->ip->saddr);

	/* Never answer a source that is not one host (RFC 1122 3.2.2):
	 * 0.0.0.0/8, multicast, limited broadcast. */
	if (p->ip->ihl != 5 || (src >> 24) == 0 || (src >> 28) == 0xe ||
	    src == 0xffffffff || !xlb_icmp_allowed(now))
		return -1;
	__builtin_memcpy(dmac, p->eth->h_source, ETH_ALEN);
	__builtin_memcpy(smac, p->eth->h_dest, ETH_ALEN);
	if (p->vlan)
		vh = *(struct xlb_vlan_hdr *)(p->eth + 1);

	if (len > (int)keep && bpf_xdp_adjust_tail(ctx, (int)keep - len))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)XLB_ICMP_GROW))
		return -1;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* l2 is 14 or 18: bound it for the verifier. */
	if (l2 > ETH_HLEN + sizeof(struct xlb_vlan_hdr))
		return -1;
	if (data + l2 + XLB_ICMP_GROW + XLB_ICMP_QUOTE > data_end)
		return -1;

	eth = data;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	if (p->vlan) {
		eth->h_proto = tpid;	/* 802.1Q or 802.1ad, as it came */
		*(struct xlb_vlan_hdr *)(eth + 1) = vh;
	} else {
		eth->h_proto = bpf_htons(ETH_P_IP);
	}

	ip = data + l2;
	icmp = (void *)(ip + 1);
	qip = (void *)(icmp + 1);	/* the original header, where it was */

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(XLB_ICMP_GROW + XLB_ICMP_QUOTE);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP;
	ip->check = 0;
	ip->saddr = qip->daddr;
	ip->daddr = qip->saddr;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)ip, sizeof(*ip), 0);
	ip->check = csum_fold32(sum);

	icmp->type = ICMP_DEST_UNREACH;
	icmp->code = ICMP_PORT_UNREACH;
	icmp->checksum = 0;
	icmp->un.gateway = 0;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)icmp,
			    sizeof(*icmp) + XLB_ICMP_QUOTE, 0);
	icmp->checksum = csum_fold32(sum);
	return XDP_TX;
}

#endif /* XLB_BPF_ICMP_H */

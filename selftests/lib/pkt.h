/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet building and checking for the BPF packet tests and benchmarks:
 * frames are described by a struct pkt_spec and built with all checksums
 * computed from scratch, so an expected output frame is correct by
 * construction and an actual one can be verified independently.
 */
#ifndef XLB_SELFTEST_PKT_H
#define XLB_SELFTEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct pkt_spec {
	__u8 smac[6];
	__u8 dmac[6];
	bool vlan;   /* one 802.1Q tag, VID 100 */
	__u32 saddr; /* network order */
	__u32 daddr;
	__u8 proto;  /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_ICMP */
	__u16 sport; /* host order */
	__u16 dport;
	__u8 tcp_flags;	 /* TH_* bits */
	__u8 ttl;	 /* 0: 64 */
	__u16 payload;	 /* payload bytes after the L4 header */
	bool udp_nocsum; /* UDP checksum 0 (none) */
	__u16 frag_off;	 /* IPv4 flags + offset, host order (0x4000 DF,
				 * 0x2000 MF) */
	/* IPv6: saddr6/daddr6 instead of saddr/daddr; proto IPPROTO_ICMPV6
	 * is an echo request. ext[] lists the extension headers in chain
	 * order (0 hop-by-hop, 60 destination options, 43 routing with
	 * segments left ext_segs, 44 fragment with frag6 and frag_id, 51 an
	 * AH-shaped 8 bytes), each 8 bytes long. */
	bool v6;
	__u8 saddr6[16];
	__u8 daddr6[16];
	__u8 n_ext;
	__u8 ext[8];
	__u8 ext_segs;
	__u16 frag6;   /* the fragment header's offset << 3 | M, host order */
	__u32 frag_id; /* host order */
	__u8 tclass;
};

#define PKT_MAX 2048

/* pkt_spec.tcp_flags */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

/* Build the frame into buf (PKT_MAX), return its length. */
size_t pkt_build(const struct pkt_spec *s, __u8 *buf);
/* An ICMPv6 error frame from @outer's addresses, MACs and hop limit (its
 * proto, ports and payload are ignored) quoting @qlen bytes of @quote (an
 * IPv6 packet from its header on), with the checksum computed from
 * scratch. Returns the frame's length. */
size_t pkt_build_icmp6_err(const struct pkt_spec *outer, const __u8 *quote, size_t qlen, __u8 type,
			   __u8 code, __u32 mtu, __u8 *buf);
/* 0 if every checksum in the frame (IPv4 header, TCP/UDP/ICMP incl. the
 * quoted packet of an ICMP error) verifies; else a negative code naming
 * the layer: -1 IP, -2 L4, -3 ICMP, -4 not parseable. */
int pkt_verify_csums(const __u8 *buf, size_t len);
/* Human-readable one-line summary for failure messages. */
void pkt_describe(const __u8 *buf, size_t len, char *out, size_t out_len);
/* Offset of the IP header (14 or 18). */
size_t pkt_l3_off(const __u8 *buf);

__u32 ip4(const char *dotted);
/* IPv6 text to 16 bytes (aborts the test binary on a typo). */
void ip6(const char *text, __u8 *out);

/*
 * A node, for running the programs with BPF_PROG_TEST_RUN where
 * bpf_fib_lookup answers as on a real node. Enters a new network
 * namespace (gone when the process exits) holding:
 *
 *   client 10.0.0.2, .3 (02:..:02), host 10.0.0.50 (02:..:50)
 *         --- xn0 10.0.0.1 [node] xn1 10.0.1.1 --- next hop 10.0.1.2 (02:..:01:02)
 *   IPv6 the same: xn0 fd00::1/64 (clients fd00::2, ::3, host fd00::50),
 *   xn1 fd00:1::1/64 (next hop fd00:1::2), fd00:2::/48 via fd00:1::2,
 *   fd00:3::/48 via fd00:1::3 (MAC unknown), fd00:4::/48 MTU 1280, the Pod
 *   fd00:1:1::2 on xp0
 *   routes: 10.2.0.0/16 via 10.0.1.2; 10.3.0.0/16 via 10.0.1.3 (MAC unknown);
 *           10.4.0.0/16 via 10.0.1.2 with MTU 1000;
 *           10.1.1.2 (02:..:10:02) on the Pod veth xp0
 */
struct pkt_node {
	int if_xn0, if_xn1, if_xp0;
	__u8 mac_xn0[6], mac_xn1[6], mac_xp0[6];
};

int pkt_node_netns(struct pkt_node *n);

/* The neighbours' MACs pkt_node_netns installs: the clients, the host
 * 10.0.0.50 and the next hop 10.0.1.2. */
extern const __u8 pkt_mac_client[6], pkt_mac_h50[6], pkt_mac_gw1[6];

#endif /* XLB_SELFTEST_PKT_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Includes and small definitions every xlb BPF header needs. The maps live
 * in maps.h; this file holds no state.
 *
 * Only kernel uapi headers and libbpf's own headers: no glibc. A BPF object
 * compiled against glibc's headers picks its 32-bit stubs (gnu/stubs-32.h,
 * absent on a plain amd64 machine), and the build checks that no libc
 * header was read (BPF_COMPILE in the Makefile). linux/icmp.h is the one
 * uapi header the datapath wants that drags in <sys/socket.h> (through
 * linux/if.h), so the ICMP wire format is spelled out below instead.
 */
#ifndef XLB_BPF_COMMON_H
#define XLB_BPF_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include <xlb/abi.h>

#define NS_PER_SEC 1000000000ull

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef IP_MF
#define IP_MF 0x2000
#endif
#ifndef IP_OFFSET
#define IP_OFFSET 0x1fff
#endif

/* RFC 792 header, as linux/icmp.h has it (see the note at the top). */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
		__u8 reserved[4];
	} un;
};

#define ICMP_ECHOREPLY	   0
#define ICMP_DEST_UNREACH  3
#define ICMP_ECHO	   8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP_NET_UNREACH   0
#define ICMP_HOST_UNREACH  1
#define ICMP_PROT_UNREACH  2
#define ICMP_PORT_UNREACH  3
#define ICMP_FRAG_NEEDED   4

/* IPv6 (RFC 8200), ICMPv6 (RFC 4443) and the extension headers the
 * parser walks, spelled out for the same reason: linux/ipv6.h and
 * linux/icmpv6.h pull in linux/in6.h and its libc-compat dance. */
struct xlb_ip6 {
	__be32 vtc_flow; /* version 4, traffic class 8, flow label 20 */
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* Hop-by-hop, routing and destination options share this front. */
struct xlb_ip6_opt {
	__u8 nexthdr;
	__u8 hdrlen; /* 8-byte units beyond the first 8 */
	__u8 type;   /* routing: routing type */
	__u8 segs;   /* routing: segments left */
};

struct xlb_ip6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 id;
};

struct xlb_icmp6 {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 data; /* Packet Too Big: MTU; else unused */
};

#define XLB_IPPROTO_HOPOPTS  0
#define XLB_IPPROTO_ROUTING  43
#define XLB_IPPROTO_FRAGMENT 44
#define XLB_IPPROTO_ICMPV6   58
#define XLB_IPPROTO_DSTOPTS  60

#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG   2
#define ICMPV6_TIME_EXCEED  3
#define ICMPV6_PORT_UNREACH 4 /* code of ICMPV6_DEST_UNREACH */
#define XLB_IP6_MIN_MTU	    1280

#ifndef ETH_P_IPV6
#define ETH_P_IPV6 0x86DD
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* Addresses compare whole: IPv4 leaves bytes 4..15 zero everywhere (the
 * parser's tuple, the agent's entries), so one test serves both families. */
static __inline bool xlb_addr_eq(const union xlb_addr *a, const union xlb_addr *b)
{
	return !((a->v6[0] ^ b->v6[0]) | (a->v6[1] ^ b->v6[1]) | (a->v6[2] ^ b->v6[2]) |
		 (a->v6[3] ^ b->v6[3]));
}

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif /* XLB_BPF_COMMON_H */

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

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif /* XLB_BPF_COMMON_H */

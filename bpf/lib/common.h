/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Includes and small definitions every xlb BPF header needs. The maps live
 * in maps.h; this file holds no state.
 */
#ifndef XLB_BPF_COMMON_H
#define XLB_BPF_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/icmp.h>
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

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif /* XLB_BPF_COMMON_H */

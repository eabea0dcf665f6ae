/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Addresses and prefixes as xlb keeps them (union xlb_addr, XLB_AF_*). */
#ifndef XLB_LIB_NET_H
#define XLB_LIB_NET_H

#include <stddef.h>
#include <xlb/abi.h>

/* An address prefix: loadBalancerSourceRanges, --nodeport-addresses. */
struct xlb_cidr {
	union xlb_addr addr;
	__u8 family; /* XLB_AF_INET / XLB_AF_INET6 */
	__u8 prefix_len;
};

/* qsort/bsearch order: family, address bytes, prefix length. */
int xlb_cidr_cmp(const void *a, const void *b);

/* @a of @family as text in @buf ("?family<n>" for another family, "?"
 * when it does not fit); returns the text. */
const char *xlb_addr_str(__u8 family, const union xlb_addr *a, char *buf, size_t len);

#endif /* XLB_LIB_NET_H */

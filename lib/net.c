// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "lib/net.h"

int xlb_cidr_cmp(const void *a, const void *b)
{
	const struct xlb_cidr *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr.bytes, y->addr.bytes, sizeof(x->addr.bytes));
	return c ? c : (int)x->prefix_len - (int)y->prefix_len;
}

const char *xlb_addr_str(__u8 family, const union xlb_addr *a, char *buf, size_t len)
{
	if (family == XLB_AF_INET6)
		return inet_ntop(AF_INET6, a->bytes, buf, len) ? buf : "?";
	if (family == XLB_AF_INET)
		return inet_ntop(AF_INET, &a->v4, buf, len) ? buf : "?";
	snprintf(buf, len, "?family%u", family);
	return buf;
}

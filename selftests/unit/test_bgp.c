// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bgp: the routes xlb writes for BIRD, checked against the kernel in a
 * private network namespace, and read back with iproute2 (a parser that is
 * not ours), the way BIRD and an operator see them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb/bgp.h"
#include "../lib/xtest.h"

static bool have_netns;

int xt_setup(void)
{
	/* A namespace of our own: the host's tables are never touched. */
	have_netns = geteuid() == 0 && !unshare(CLONE_NEWNET);
	if (have_netns && system("ip link set lo up"))
		have_netns = false;
	return 0;
}

static struct k8s_ip ip_of(const char *s)
{
	struct k8s_ip ip = { 0 };

	if (inet_pton(AF_INET, s, &ip.addr.v4) == 1)
		ip.family = XLB_AF_INET;
	else if (inet_pton(AF_INET6, s, &ip.addr) == 1)
		ip.family = XLB_AF_INET6;
	return ip;
}

/* `ip [-6] route show table T` as one string, lines joined by '|'. */
static const char *ip_route(int v6, unsigned int table)
{
	static char out[4096];
	char cmd[128], line[256];
	size_t len = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ip %s route show table %u 2>&1", v6 ? "-6" : "-4", table);
	out[0] = 0;
	p = popen(cmd, "r");
	if (!p)
		return "popen failed";
	while (fgets(line, sizeof(line), p)) {
		size_t l;

		line[strcspn(line, "\n")] = 0;
		/* iproute2 ends lines with a space */
		for (l = strlen(line); l && line[l - 1] == ' '; l--)
			line[l - 1] = 0;
		len += snprintf(out + len, sizeof(out) - len, "%s%s", len ? "|" : "", line);
		if (len >= sizeof(out))
			break;
	}
	pclose(p);
	return out;
}

static bool need_netns(void)
{
	if (!have_netns)
		xt_skip("needs root and a private network namespace");
	return have_netns;
}

XT_TEST(bgp_announce_withdraw)
{
	struct k8s_ip v[3] = { ip_of("10.80.0.2"), ip_of("10.80.0.1"), ip_of("10.80.0.2") };
	struct xlb_bgp *b;

	if (!need_netns())
		return;
	b = xlb_bgp_open(200);
	if (!ASSERT_TRUE(b, "open table 200"))
		return;
	ASSERT_EQ(xlb_bgp_count(b), 0, "empty table adopts nothing");
	ASSERT_OK(xlb_bgp_set(b, v, 3, XLB_BGP_ANNOUNCE), "announce");
	ASSERT_EQ(xlb_bgp_count(b), 2, "duplicates count once");
	ASSERT_STREQ(ip_route(0, 200), "blackhole 10.80.0.1 proto 88|blackhole 10.80.0.2 proto 88",
		     "ip route show table 200");
	/* The main table is not touched. */
	ASSERT_TRUE(!strstr(ip_route(0, 254), "10.80.0."), "main table untouched");

	/* WITHDRAW only removes; ANNOUNCE only adds. */
	v[0] = ip_of("10.80.0.3");
	ASSERT_OK(xlb_bgp_set(b, v, 2, XLB_BGP_WITHDRAW), "withdraw phase");
	ASSERT_STREQ(ip_route(0, 200), "blackhole 10.80.0.1 proto 88",
		     "withdraw phase removed .2, did not add .3");
	ASSERT_OK(xlb_bgp_set(b, v, 2, XLB_BGP_ANNOUNCE), "announce phase");
	ASSERT_STREQ(ip_route(0, 200), "blackhole 10.80.0.1 proto 88|blackhole 10.80.0.3 proto 88",
		     "announce phase added .3");
	ASSERT_OK(xlb_bgp_withdraw_all(b), "withdraw all");
	ASSERT_STREQ(ip_route(0, 200), "", "table empty");
	xlb_bgp_close(b);
}

XT_TEST(bgp_adopt_and_foreign_routes)
{
	struct k8s_ip v[2] = { ip_of("10.81.0.1"), ip_of("10.81.0.2") };
	struct xlb_bgp *b, *b2;
	struct k8s_ip *d;
	size_t n;

	if (!need_netns())
		return;
	/* Someone else's routes in the same table: one for another prefix,
	 * one for an address xlb wants. Neither may be replaced or removed. */
	if (!ASSERT_OK(system("ip route add blackhole 10.81.0.0/24 table 201 proto static && "
			      "ip route add unreachable 10.81.0.2 table 201 proto static"),
		       "foreign routes"))
		return;
	b = xlb_bgp_open(201);
	if (!ASSERT_TRUE(b, "open table 201"))
		return;
	ASSERT_EQ(xlb_bgp_count(b), 0, "foreign routes are not adopted");
	ASSERT_EQ(xlb_bgp_set(b, v, 2, XLB_BGP_BOTH), -EEXIST,
		  "a foreign route for a wanted address is reported");
	ASSERT_EQ(xlb_bgp_count(b), 1, "the other address is announced");
	ASSERT_STREQ(ip_route(0, 201),
		     "blackhole 10.81.0.0/24 proto static|blackhole 10.81.0.1 proto 88|"
		     "unreachable 10.81.0.2 proto static",
		     "foreign routes kept");

	/* A restarted agent adopts the table as it is. */
	b2 = xlb_bgp_open(201);
	if (ASSERT_TRUE(b2, "reopen")) {
		ASSERT_EQ(xlb_bgp_count(b2), 1, "adopted one route");
		ASSERT_OK(xlb_bgp_withdraw_all(b2), "withdraw all");
		xlb_bgp_close(b2);
	}
	ASSERT_STREQ(ip_route(0, 201),
		     "blackhole 10.81.0.0/24 proto static|unreachable 10.81.0.2 proto static",
		     "only xlb's route went");
	ASSERT_OK(xlb_bgp_dump(201, &d, &n), "dump");
	ASSERT_EQ(n, 0, "dump sees none of ours");
	free(d);
	xlb_bgp_close(b);
	ASSERT_OK(system("ip route flush table 201"), "flush");
}

XT_TEST(bgp_ipv6_and_large_table)
{
	struct k8s_ip v[2] = { ip_of("fd00:80::1"), ip_of("10.82.0.1") };
	struct k8s_ip *d;
	struct xlb_bgp *b;
	size_t n;

	if (!need_netns())
		return;
	/* Table ids above 255 exist only in RTA_TABLE. */
	b = xlb_bgp_open(70000);
	if (!ASSERT_TRUE(b, "open table 70000"))
		return;
	ASSERT_OK(xlb_bgp_set(b, v, 2, XLB_BGP_BOTH), "announce v4 + v6");
	ASSERT_STREQ(ip_route(1, 70000),
		     "blackhole fd00:80::1 dev lo proto 88 metric 1024 pref medium",
		     "ip -6 route show table 70000");
	ASSERT_STREQ(ip_route(0, 70000), "blackhole 10.82.0.1 proto 88", "ip -4 route");
	ASSERT_OK(xlb_bgp_dump(70000, &d, &n), "dump");
	if (ASSERT_EQ(n, 2, "dump: two routes")) {
		ASSERT_EQ(d[0].family, XLB_AF_INET, "IPv4 sorts first");
		ASSERT_TRUE(!k8s_ip_cmp(&d[1], &v[0]), "IPv6 address read back");
	}
	free(d);
	ASSERT_OK(xlb_bgp_withdraw_all(b), "withdraw all");
	ASSERT_STREQ(ip_route(1, 70000), "", "v6 gone");
	xlb_bgp_close(b);
}

XT_TEST(bgp_bad_tables)
{
	static const unsigned int bad[] = { 0, 253, 254, 255 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ASSERT_TRUE(!xlb_bgp_open(bad[i]), "reserved table refused");
		ASSERT_EQ(errno, EINVAL, "EINVAL");
	}
}

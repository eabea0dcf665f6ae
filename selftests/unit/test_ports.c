// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The port sysctl helpers against files shaped like the kernel's, and the
 * real sysctl of a network namespace of our own. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ports.h"
#include "../lib/xtest.h"

static char tmp[] = "/tmp/xlb-ports-XXXXXX";

static void put(const char *s)
{
	FILE *f = fopen(tmp, "w");

	fputs(s, f);
	fclose(f);
}

static void get(char *buf, size_t len)
{
	FILE *f = fopen(tmp, "r");

	buf[0] = '\0';
	if (f && !fgets(buf, (int)len, f))
		buf[0] = '\0';
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

int xt_setup(void)
{
	int fd = mkstemp(tmp);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void xt_teardown(void)
{
	unlink(tmp);
}

XT_TEST(covered)
{
	ASSERT_TRUE(xlb_ports_covered("61000-65000", 61000, 65000), "exact range");
	ASSERT_TRUE(xlb_ports_covered("22,61000-62000,62001-65535", 61000, 65000),
		    "two adjacent ranges");
	ASSERT_TRUE(xlb_ports_covered("62001-65535,61000-62000", 61000, 65000), "out of order");
	ASSERT_TRUE(!xlb_ports_covered("61000-64999", 61000, 65000), "one port short");
	ASSERT_TRUE(!xlb_ports_covered("", 61000, 65000), "empty");
	ASSERT_TRUE(!xlb_ports_covered("61000,61002-65000", 61000, 65000), "a hole");
}

XT_TEST(reserve_appends_once)
{
	char buf[256];
	__u32 lo, hi;

	put("8080\n");
	ASSERT_EQ(xlb_ports_reserve(tmp, 61000, 65000), 1, "written");
	get(buf, sizeof(buf));
	ASSERT_STREQ(buf, "8080,61000-65000", "appended to what was there");
	ASSERT_EQ(xlb_ports_reserve(tmp, 61000, 65000), 0, "second time: nothing to do");
	put("\n");
	ASSERT_EQ(xlb_ports_reserve(tmp, 61000, 65000), 1, "written");
	get(buf, sizeof(buf));
	ASSERT_STREQ(buf, "61000-65000", "alone");

	put("32768\t60999\n");
	ASSERT_OK(xlb_port_range_read(tmp, &lo, &hi), "range read");
	ASSERT_EQ(lo, 32768, "low");
	ASSERT_EQ(hi, 60999, "high");
	put("junk\n");
	ASSERT_TRUE(xlb_port_range_read(tmp, &lo, &hi) < 0, "junk refused");
}

/* The kernel's own sysctl, in a namespace of ours: it takes the list. */
XT_TEST(reserve_real_sysctl)
{
	char buf[256];
	FILE *f;

	if (unshare(CLONE_NEWNET)) {
		xt_skip("unshare(CLONE_NEWNET) not permitted");
		return;
	}
	ASSERT_EQ(xlb_ports_reserve(XLB_SYSCTL_RESERVED, 61000, 65000), 1, "written");
	f = fopen(XLB_SYSCTL_RESERVED, "r");
	if (!ASSERT_TRUE(f, "read back"))
		return;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	ASSERT_STREQ(buf, "61000-65000", "the kernel holds the range");
	ASSERT_EQ(xlb_ports_reserve(XLB_SYSCTL_RESERVED, 61000, 65000), 0, "covered now");
}

XT_TEST(masquerade_overlap)
{
	char line[128];

	ASSERT_TRUE(
		xlb_masq_overlaps(
			"*nat\n-A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE --random-fully\nCOMMIT\n",
			61000, 65000, line, sizeof(line)),
		"iptables --random-fully");
	ASSERT_TRUE(strstr(line, "--random-fully") != NULL, "the offending rule is named");
	ASSERT_TRUE(xlb_masq_overlaps("-A KUBE-POSTROUTING -j MASQUERADE --to-ports 60000-62000\n",
				      61000, 65000, line, sizeof(line)),
		    "iptables --to-ports overlapping");
	ASSERT_TRUE(!xlb_masq_overlaps("-A KUBE-POSTROUTING -j MASQUERADE --to-ports 32768-60999\n",
				       61000, 65000, line, sizeof(line)),
		    "--to-ports beside the range");
	ASSERT_TRUE(!xlb_masq_overlaps("-A KUBE-POSTROUTING -m mark --mark 0x4000 -j MASQUERADE\n",
				       61000, 65000, line, sizeof(line)),
		    "plain MASQUERADE keeps ports");
	ASSERT_TRUE(
		xlb_masq_overlaps(
			"table ip nat {\n chain post {\n  oifname \"eth0\" masquerade fully-random\n }\n}\n",
			61000, 65000, line, sizeof(line)),
		"nft fully-random");
	ASSERT_TRUE(xlb_masq_overlaps("  masquerade to :64000-64100\n", 61000, 65000, line,
				      sizeof(line)),
		    "nft port range inside");
	ASSERT_TRUE(!xlb_masq_overlaps("  masquerade to :1024-2000\n", 61000, 65000, line,
				       sizeof(line)),
		    "nft port range outside");
}

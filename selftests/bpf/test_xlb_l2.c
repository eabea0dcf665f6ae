// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Packet tests of the L2 announcement responder (bpf/lib/arp.h) in both
 * tc ingress programs (xlb_tc_ingress beside XDP, xlb_tc on uplinks
 * without XDP), through BPF_PROG_TEST_RUN with the skb arriving on a
 * real interface of a private network namespace: ARP requests and
 * Neighbor Solicitations for an owned VIP are answered byte for byte as
 * RFC 826 / RFC 4861 say, with checksums verified here from scratch;
 * expired entries, other interfaces, gratuitous ARP and replies are not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "datapath.h"
#include "lib/log.h"
#include "../lib/xtest.h"
#include "../lib/pkt.h"
#include "lib/util.h"

static struct xlb_dp *dp;
static int if_xn0, if_xn1;
static const __u8 mac_vip[6] = { 0x02, 0xaa, 0, 0, 0, 0x01 }; /* "uplink" */
static const char *VIP4 = "192.0.2.10", *VIP6 = "2001:db8::10";

int xt_setup(void)
{
	struct xlb_dp_opts o = { .cfg = XLB_CFG_DEFAULT, .max_ct = 1024, .max_tables = 16 };
	struct pkt_node n;

	xlb_log_hook_libs();
	xlb_log_set_level(getenv("XLB_DEBUG") ? XLB_LOG_DEBUG : XLB_LOG_WARN);
	if (pkt_node_netns(&n))
		return -1;
	if_xn0 = n.if_xn0;
	if_xn1 = n.if_xn1;
	dp = xlb_dp_load(&o);
	return dp ? 0 : -1;
}

void xt_teardown(void)
{
	xlb_dp_close(dp);
}

/* An answer entry for @vip on @ifindex expiring @ttl_ms from now (<0: in
 * the past). */
static void own(const char *vip, int ifindex, int ttl_ms)
{
	struct xlb_l2_key k = { .ifindex = ifindex };
	struct xlb_l2 v = { .expires_ns = xlb_mono_ns() + (__s64)ttl_ms * 1000000 };

	k.family = strchr(vip, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	inet_pton(k.family == XLB_AF_INET6 ? AF_INET6 : AF_INET, vip, k.addr.bytes);
	memcpy(v.mac, mac_vip, 6);
	ASSERT_OK(xlb_dp_l2_set(dp, &k, &v), "l2 entry");
}

static void disown(const char *vip, int ifindex)
{
	struct xlb_l2_key k = { .ifindex = ifindex };

	k.family = strchr(vip, ':') ? XLB_AF_INET6 : XLB_AF_INET;
	inet_pton(k.family == XLB_AF_INET6 ? AF_INET6 : AF_INET, vip, k.addr.bytes);
	xlb_dp_l2_del(dp, &k);
}

static __u64 reason(enum xlb_reason r)
{
	int ncpu = xlb_dp_ncpus(), fd = xlb_dp_map_fd(dp, XLB_DPM_REASONS);
	struct xlb_counter vals[ncpu];
	__u32 key = r;
	__u64 sum = 0;

	if (bpf_map_lookup_elem(fd, &key, vals))
		return 0;
	for (int c = 0; c < ncpu; c++)
		sum += vals[c].packets;
	return sum;
}

struct out {
	int ret;
	__u8 buf[256];
	__u32 len;
};

/* Which tc ingress program answers: the one beside XDP, or the whole
 * datapath on uplinks without XDP (veth). Each test runs on both. */
static int prog_fd;

static bool run(const __u8 *in, size_t len, int ifindex, struct out *o)
{
	struct __sk_buff ctx = { .ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in, .data_size_in = len, .data_out = o->buf,
		    .data_size_out = sizeof(o->buf), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);

	if (!ASSERT_OK(bpf_prog_test_run_opts(prog_fd, &t) ? -errno : 0, "test run"))
		return false;
	o->ret = t.retval;
	o->len = t.data_size_out;
	return true;
}

/* Ethernet + ARP (RFC 826) frame. */
static size_t arp_frame(__u8 *b, const __u8 *dmac, const __u8 *smac, __u16 op, const __u8 *sha,
			const char *spa, const __u8 *tha, const char *tpa)
{
	__u8 *a = b + 14;

	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	b[12] = 0x08, b[13] = 0x06;
	a[0] = 0, a[1] = 1, a[2] = 0x08, a[3] = 0, a[4] = 6, a[5] = 4;
	a[6] = 0, a[7] = op;
	memcpy(a + 8, sha, 6);
	inet_pton(AF_INET, spa, a + 14);
	memcpy(a + 18, tha, 6);
	inet_pton(AF_INET, tpa, a + 24);
	return 42;
}

static const __u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, zero6[6];

static void arp_request_for_owned_vip_answered_on(void);

XT_TEST(arp_request_for_owned_vip_answered_tc_ingress)
{
	prog_fd = xlb_dp_tc_ingress_fd(dp);
	arp_request_for_owned_vip_answered_on();
}

XT_TEST(arp_request_for_owned_vip_answered_tc_full)
{
	prog_fd = xlb_dp_tc_full_fd(dp);
	arp_request_for_owned_vip_answered_on();
}

static void arp_request_for_owned_vip_answered_on(void)
{
	__u8 in[64], exp[64];
	size_t n = arp_frame(in, bcast, pkt_mac_client, 1, pkt_mac_client, "10.0.0.2", zero6, VIP4);
	__u64 before = reason(XLB_R_ARP_REPLY);
	struct out o;

	own(VIP4, if_xn0, 5000);
	arp_frame(exp, pkt_mac_client, mac_vip, 2, mac_vip, VIP4, pkt_mac_client, "10.0.0.2");
	if (run(in, n, if_xn0, &o)) {
		ASSERT_EQ(o.ret, TC_ACT_REDIRECT, "verdict");
		ASSERT_EQ(o.len, n, "length");
		ASSERT_MEMEQ(o.buf, exp, n, "ARP reply bytes");
		ASSERT_EQ(reason(XLB_R_ARP_REPLY) - before, 1, "arp_reply counted");
	}
	/* An RFC 5227 probe (sender 0.0.0.0) learns the address is taken. */
	n = arp_frame(in, bcast, pkt_mac_client, 1, pkt_mac_client, "0.0.0.0", zero6, VIP4);
	arp_frame(exp, pkt_mac_client, mac_vip, 2, mac_vip, VIP4, pkt_mac_client, "0.0.0.0");
	if (run(in, n, if_xn0, &o)) {
		ASSERT_EQ(o.ret, TC_ACT_REDIRECT, "probe verdict");
		ASSERT_MEMEQ(o.buf, exp, n, "probe reply bytes");
	}
	disown(VIP4, if_xn0);
}

static void arp_not_answered_when_not_ours_on(void);

XT_TEST(arp_not_answered_when_not_ours_tc_ingress)
{
	prog_fd = xlb_dp_tc_ingress_fd(dp);
	arp_not_answered_when_not_ours_on();
}

XT_TEST(arp_not_answered_when_not_ours_tc_full)
{
	prog_fd = xlb_dp_tc_full_fd(dp);
	arp_not_answered_when_not_ours_on();
}

static void arp_not_answered_when_not_ours_on(void)
{
	__u8 in[64];
	size_t n = arp_frame(in, bcast, pkt_mac_client, 1, pkt_mac_client, "10.0.0.2", zero6, VIP4);
	__u64 expired = reason(XLB_R_PASS_L2_EXPIRED), replies = reason(XLB_R_ARP_REPLY);
	struct out o;

	/* no entry at all */
	if (run(in, n, if_xn0, &o)) {
		ASSERT_EQ(o.ret, TC_ACT_OK, "no entry: passed");
		ASSERT_MEMEQ(o.buf, in, n, "untouched");
	}
	/* an entry for another interface (the pool's interfaces) */
	own(VIP4, if_xn1, 5000);
	if (run(in, n, if_xn0, &o))
		ASSERT_EQ(o.ret, TC_ACT_OK, "other interface: passed");
	disown(VIP4, if_xn1);
	/* past its deadline: the agent stopped refreshing it */
	own(VIP4, if_xn0, -100); /* beyond the coarse clock's tick */
	if (run(in, n, if_xn0, &o)) {
		ASSERT_EQ(o.ret, TC_ACT_OK, "expired: passed");
		ASSERT_MEMEQ(o.buf, in, n, "expired: untouched");
		ASSERT_EQ(reason(XLB_R_PASS_L2_EXPIRED) - expired, 1, "pass_l2_expired counted");
	}
	own(VIP4, if_xn0, 5000);
	/* gratuitous ARP from another node, and ARP replies, ask nothing */
	n = arp_frame(in, bcast, pkt_mac_client, 1, pkt_mac_client, VIP4, zero6, VIP4);
	if (run(in, n, if_xn0, &o))
		ASSERT_EQ(o.ret, TC_ACT_OK, "gratuitous request: passed");
	n = arp_frame(in, mac_vip, pkt_mac_client, 2, pkt_mac_client, "10.0.0.2", mac_vip, VIP4);
	if (run(in, n, if_xn0, &o))
		ASSERT_EQ(o.ret, TC_ACT_OK, "reply: passed");
	/* a truncated request */
	n = arp_frame(in, bcast, pkt_mac_client, 1, pkt_mac_client, "10.0.0.2", zero6, VIP4);
	if (run(in, 38, if_xn0, &o))
		ASSERT_EQ(o.ret, TC_ACT_OK, "truncated: passed");
	ASSERT_EQ(reason(XLB_R_ARP_REPLY) - replies, 0, "nothing answered");
	disown(VIP4, if_xn0);
}

/* RFC 1071 sum over the IPv6 pseudo-header and the ICMPv6 message. */
static __u16 icmp6_csum(const __u8 *ip6, const __u8 *msg, size_t len)
{
	__u32 s = 0;

	for (int i = 8; i < 40; i += 2)
		s += ip6[i] << 8 | ip6[i + 1];
	s += (__u32)len + 58;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += msg[i] << 8 | msg[i + 1];
	if (len & 1)
		s += msg[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* Ethernet + IPv6 + NS/NA; @mac_opt: a link-layer option of @opt_type. */
static size_t nd_frame(__u8 *b, const __u8 *dmac, const __u8 *smac, const char *src,
		       const char *dst, __u8 type, __u32 flags, const char *target, __u8 opt_type,
		       const __u8 *mac_opt)
{
	__u8 *ip = b + 14, *nd = ip + 40;
	size_t plen = mac_opt ? 32 : 24;
	__u16 c;

	memset(b, 0, 14 + 40 + plen);
	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	b[12] = 0x86, b[13] = 0xdd;
	ip[0] = 0x60;
	ip[4] = 0, ip[5] = plen;
	ip[6] = 58, ip[7] = 255;
	inet_pton(AF_INET6, src, ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	nd[0] = type;
	nd[4] = flags >> 24;
	inet_pton(AF_INET6, target, nd + 8);
	if (mac_opt) {
		nd[24] = opt_type, nd[25] = 1;
		memcpy(nd + 26, mac_opt, 6);
	}
	c = icmp6_csum(ip, nd, plen);
	nd[2] = c >> 8, nd[3] = c & 0xff;
	return 14 + 40 + plen;
}

static void check_na(const struct out *o, const __u8 *exp, size_t n, const char *what)
{
	ASSERT_EQ(o->ret, TC_ACT_REDIRECT, what);
	ASSERT_EQ(o->len, n, what);
	if (!ASSERT_MEMEQ(o->buf, exp, n, what))
		for (size_t i = 0; i < n; i++)
			if (o->buf[i] != exp[i])
				xt_log("byte %zu: got %02x want %02x", i, o->buf[i], exp[i]);
	ASSERT_EQ(icmp6_csum(o->buf + 14, o->buf + 54, o->len - 54), 0, "NA checksum verifies");
}

static void neighbor_solicitation_answered_on(void);

XT_TEST(neighbor_solicitation_answered_tc_ingress)
{
	prog_fd = xlb_dp_tc_ingress_fd(dp);
	neighbor_solicitation_answered_on();
}

XT_TEST(neighbor_solicitation_answered_tc_full)
{
	prog_fd = xlb_dp_tc_full_fd(dp);
	neighbor_solicitation_answered_on();
}

static void neighbor_solicitation_answered_on(void)
{
	static const __u8 snmc[6] = { 0x33, 0x33, 0xff, 0, 0, 0x10 };
	static const __u8 allnodes[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	__u8 in[128], exp[128];
	__u64 before = reason(XLB_R_NDP_ADVERT);
	struct out o;
	size_t n, m;

	own(VIP6, if_xn0, 5000);
	/* NS with source link-layer option, from a configured address */
	n = nd_frame(in, snmc, pkt_mac_client, "2001:db8::2", "ff02::1:ff00:10", 135, 0, VIP6, 1,
		     pkt_mac_client);
	m = nd_frame(exp, pkt_mac_client, mac_vip, VIP6, "2001:db8::2", 136, 0x60000000, VIP6, 2,
		     mac_vip);
	if (run(in, n, if_xn0, &o))
		check_na(&o, exp, m, "solicited NA");
	/* DAD: from ::, no option (24 bytes): the NA grows by its option and
	 * goes to all nodes, not solicited */
	n = nd_frame(in, snmc, pkt_mac_client, "::", "ff02::1:ff00:10", 135, 0, VIP6, 0, NULL);
	m = nd_frame(exp, allnodes, mac_vip, VIP6, "ff02::1", 136, 0x20000000, VIP6, 2, mac_vip);
	if (run(in, n, if_xn0, &o))
		check_na(&o, exp, m, "DAD NA");
	ASSERT_EQ(reason(XLB_R_NDP_ADVERT) - before, 2, "ndp_advert counted");

	/* not ours: another target; hop limit not 255 (off-link) */
	n = nd_frame(in, snmc, pkt_mac_client, "2001:db8::2", "ff02::1:ff00:11", 135, 0,
		     "2001:db8::11", 1, pkt_mac_client);
	if (run(in, n, if_xn0, &o))
		ASSERT_EQ(o.ret, TC_ACT_OK, "other target: passed");
	n = nd_frame(in, snmc, pkt_mac_client, "2001:db8::2", "ff02::1:ff00:10", 135, 0, VIP6, 1,
		     pkt_mac_client);
	in[14 + 7] = 64;
	if (run(in, n, if_xn0, &o)) {
		ASSERT_EQ(o.ret, TC_ACT_OK, "hop limit 64: passed");
		ASSERT_MEMEQ(o.buf, in, n, "untouched");
	}
	disown(VIP6, if_xn0);
	n = nd_frame(in, snmc, pkt_mac_client, "2001:db8::2", "ff02::1:ff00:10", 135, 0, VIP6, 1,
		     pkt_mac_client);
	if (run(in, n, if_xn0, &o))
		ASSERT_EQ(o.ret, TC_ACT_OK, "no entry: passed");
}

static void non_l2_traffic_untouched_on(void);

XT_TEST(non_l2_traffic_untouched_tc_ingress)
{
	prog_fd = xlb_dp_tc_ingress_fd(dp);
	non_l2_traffic_untouched_on();
}

XT_TEST(non_l2_traffic_untouched_tc_full)
{
	prog_fd = xlb_dp_tc_full_fd(dp);
	non_l2_traffic_untouched_on();
}

static void non_l2_traffic_untouched_on(void)
{
	struct pkt_spec s = { .saddr = ip4("10.0.0.2"),
			      .daddr = ip4(VIP4),
			      .proto = IPPROTO_UDP,
			      .sport = 1000,
			      .dport = 53 };
	__u8 in[PKT_MAX];
	size_t n;
	struct out o;

	memcpy(s.smac, pkt_mac_client, 6);
	memcpy(s.dmac, mac_vip, 6);
	n = pkt_build(&s, in);
	own(VIP4, if_xn0, 5000);
	if (run(in, n, if_xn0, &o)) {
		ASSERT_EQ(o.ret, TC_ACT_OK, "IPv4 UDP to the VIP: passed");
		ASSERT_MEMEQ(o.buf, in, n, "untouched");
	}
	disown(VIP4, if_xn0);
}

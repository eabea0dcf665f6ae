// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IPv6 packet tests of the XDP and tc programs through BPF_PROG_TEST_RUN,
 * the IPv6 counterpart of test_xlb_pkt.c (same node, same checks): each
 * case builds the input and the expected output frame from scratch
 * (pkt_build: checksums right by construction), runs the program, and
 * compares verdict, reason counter, every byte, and the output's checksums
 * verified from scratch. IPv6 frames reach xlb_xdp6 / xlb_tc6 through the
 * tail call of xlb_xdp / xlb_tc, which is what runs here.
 *
 * The node (pkt_node_netns): clients fd00::2, fd00::3 on xn0 (fd00::1),
 * next hop fd00:1::2 on xn1 (fd00:1::1), remote Pods fd00:2::/48, the
 * local Pod fd00:1:1::2 behind the veth xp0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "datapath.h"
#include "lib/log.h"
#include "../lib/xtest.h"
#include "../lib/pkt.h"

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif

static struct xlb_dp *dp;
static int if_xn0, if_xn1, if_xp0;
static __u8 mac_xn0[6], mac_xn1[6], mac_xp0[6];

static __u8 A_CLIENT[16], A_NODE[16], A_NODE1[16], A_VIP[16], A_LOCAL[16], A_REMOTE[16], A_MTU[16],
	A_GW1[16];

enum {
	BE_LOCAL = 1,
	BE_REMOTE = 3,
	BE_MTU = 6,
};

int xt_setup(void)
{
	struct xlb_dp_opts o = { .cfg = XLB_CFG_DEFAULT, .max_ct = 65536, .max_tables = 1024 };
	struct pkt_node n;

	xlb_log_hook_libs();
	xlb_log_set_level(getenv("XLB_DEBUG") ? XLB_LOG_DEBUG : XLB_LOG_WARN);
	if (pkt_node_netns(&n))
		return -1;
	if_xn0 = n.if_xn0;
	if_xn1 = n.if_xn1;
	if_xp0 = n.if_xp0;
	memcpy(mac_xp0, n.mac_xp0, 6);
	memcpy(mac_xn0, n.mac_xn0, 6);
	memcpy(mac_xn1, n.mac_xn1, 6);

	ip6("fd00::2", A_CLIENT);
	ip6("fd00::1", A_NODE);
	ip6("fd00:1::1", A_NODE1);
	ip6("2001:db8::10", A_VIP);
	ip6("fd00:1:1::2", A_LOCAL);
	ip6("fd00:2::12", A_REMOTE);
	ip6("fd00:4::12", A_MTU);
	ip6("fd00:1::2", A_GW1);

	o.cfg.snat_port_min = 61000;
	o.cfg.snat_port_max = 61015;
	o.cfg.icmp_rate = 1000;
	o.cfg.icmp_burst = 1000;
	dp = xlb_dp_load(&o);
	if (!dp) {
		fprintf(stderr, "load: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

void xt_teardown(void)
{
	xlb_dp_close(dp);
}

/* ---- maps ---- */

static void flush_all(struct xlb_dp *d)
{
	static const enum xlb_dp_map ms[] = { XLB_DPM_SVC,	  XLB_DPM_BACKENDS,
					      XLB_DPM_NODE_ADDRS, XLB_DPM_IFACES,
					      XLB_DPM_CT,	  XLB_DPM_AFFINITY,
					      XLB_DPM_SRC_RANGES, XLB_DPM_FRAGS6,
					      XLB_DPM_TX_DEVS,	  XLB_DPM_PEER_DEVS };
	char key[64], next[64];

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		int fd = xlb_dp_map_fd_rw(d, ms[i]);

		while (!bpf_map_get_next_key(fd, NULL, next)) {
			memcpy(key, next, sizeof(key));
			bpf_map_delete_elem(fd, key);
		}
	}
}

static void backend(__u32 id, const __u8 *addr, __u16 port, bool local, __u32 svc_id)
{
	struct xlb_backend b = { .port = htons(port),
				 .family = XLB_AF_INET6,
				 .flags = local ? XLB_BE_F_LOCAL : 0,
				 .svc_id = svc_id };

	memcpy(&b.addr, addr, 16);
	xlb_dp_backend_set(dp, id, &b);
}

/* A service whose table (M = 251) spreads @ids round robin. */
static void service(__u8 scope, const __u8 *addr, __u16 port, __u8 proto, __u32 svc_id,
		    const __u32 *ids, __u16 n, __u16 total, __u32 flags)
{
	struct xlb_svc_key k = {
		.port = htons(port), .proto = proto, .family = XLB_AF_INET6, .scope = scope
	};
	struct xlb_svc v = { .svc_id = svc_id,
			     .table_id = svc_id,
			     .backend_count = n,
			     .total_count = total,
			     .flags = flags };
	__u32 table[251];

	if (addr)
		memcpy(&k.addr, addr, 16);
	if (n) {
		for (int i = 0; i < 251; i++)
			table[i] = ids[i % n];
		xlb_dp_table_set(dp, svc_id, table, 251);
		v.maglev_size = 251;
	}
	xlb_dp_svc_set(dp, &k, &v);
}

static void node_setup(void)
{
	struct xlb_addr_key na = { .family = XLB_AF_INET6 }, na1 = { .family = XLB_AF_INET6 };
	struct xlb_iface i0 = {}, i1 = {};

	memcpy(&na.addr, A_NODE, 16);
	memcpy(&na1.addr, A_NODE1, 16);
	memcpy(&i0.snat6, A_NODE, 16);
	memcpy(&i1.snat6, A_NODE1, 16);
	memcpy(i0.mac, mac_xn0, 6);
	memcpy(i1.mac, mac_xn1, 6);
	flush_all(dp);
	xlb_dp_node_addr_set(dp, &na, 0);
	xlb_dp_node_addr_set(dp, &na1, 0);
	xlb_dp_iface_set(dp, if_xn0, &i0);
	xlb_dp_iface_set(dp, if_xn1, &i1);
	xlb_dp_tx_dev_set(dp, if_xn0);
	xlb_dp_tx_dev_set(dp, if_xn1);
	backend(BE_LOCAL, A_LOCAL, 8080, true, 0);
	backend(BE_REMOTE, A_REMOTE, 8080, false, 0);
	backend(BE_MTU, A_MTU, 8080, false, 0);
}

static bool ct_get(const __u8 *s, __u16 sp, const __u8 *da, __u16 dp_, __u8 proto,
		   struct xlb_ct *out)
{
	struct xlb_ct_key k = {
		.sport = htons(sp), .dport = htons(dp_), .proto = proto, .family = XLB_AF_INET6
	};

	memcpy(&k.saddr, s, 16);
	memcpy(&k.daddr, da, 16);
	return !bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_CT), &k, out);
}

/* ---- running ---- */

struct run {
	int ret;
	__u8 out[PKT_MAX];
	__u32 len;
	__u64 reasons[XLB_R_MAX];
};

static void reasons_read(__u64 *out)
{
	int ncpu = xlb_dp_ncpus(), fd = xlb_dp_map_fd(dp, XLB_DPM_REASONS);
	struct xlb_counter vals[ncpu];

	for (__u32 r = 0; r < XLB_R_MAX; r++) {
		out[r] = 0;
		if (bpf_map_lookup_elem(fd, &r, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[r] += vals[c].packets;
	}
}

enum hook { XDP, TC_FULL, TC_EGRESS };

/* Run @in through the program of @h, as arriving at (tc egress: leaving
 * through) @ifindex; r->reasons gets the per-reason deltas. */
static int run_on(enum hook h, const __u8 *in, size_t len, int ifindex, struct run *r)
{
	struct xdp_md xctx = { .data_end = len, .ingress_ifindex = ifindex };
	struct __sk_buff sctx = { .ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = r->out,
		    .data_size_out = sizeof(r->out), .repeat = 1);
	__u64 before[XLB_R_MAX];
	int fd;

	if (h == XDP) {
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
		fd = xlb_dp_xdp_fd(dp);
	} else if (h == TC_FULL) {
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
		fd = xlb_dp_tc_full_fd(dp);
	} else {
		fd = xlb_dp_tc_fd(dp);
	}
	reasons_read(before);
	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	r->ret = o.retval;
	r->len = o.data_size_out;
	reasons_read(r->reasons);
	for (int i = 0; i < XLB_R_MAX; i++)
		r->reasons[i] -= before[i];
	return 0;
}

/* Verdict, exactly one count on @reason (and no other), and the output
 * equal to @exp (or to @in when @exp is NULL), its checksums verifying. */
static bool check_run(const char *what, const struct run *r, int verdict, int reason,
		      const __u8 *exp, size_t exp_len)
{
	char got[200], want[200];
	bool ok = true;
	int seen = -1, n = 0;

	if (r->ret != verdict) {
		xt_fail_at(__FILE__, __LINE__, "%s: verdict %d, want %d", what, r->ret, verdict);
		ok = false;
	}
	for (int i = 0; i < XLB_R_MAX; i++)
		if (r->reasons[i]) {
			seen = i;
			n += r->reasons[i];
		}
	if (r->reasons[reason] != 1 || n != 1) {
		xt_fail_at(__FILE__, __LINE__, "%s: reason %s not counted once alone (counted: %s)",
			   what, xlb_reason_names[reason],
			   seen >= 0 ? xlb_reason_names[seen] : "none");
		ok = false;
	}
	if (!exp)
		return ok;
	if (r->len != exp_len || memcmp(r->out, exp, exp_len)) {
		pkt_describe(r->out, r->len, got, sizeof(got));
		pkt_describe(exp, exp_len, want, sizeof(want));
		xt_fail_at(__FILE__, __LINE__, "%s: output differs\n      got:  %s\n      want: %s",
			   what, got, want);
		for (size_t i = 0; i < exp_len && i < r->len; i++)
			if (r->out[i] != exp[i]) {
				xt_log("  first difference at byte %zu: 0x%02x != 0x%02x", i,
				       r->out[i], exp[i]);
				break;
			}
		ok = false;
	}
	if (pkt_verify_csums(r->out, r->len)) {
		xt_fail_at(__FILE__, __LINE__, "%s: output checksum does not verify (%d)", what,
			   pkt_verify_csums(r->out, r->len));
		ok = false;
	}
	return ok;
}

/* One case: @in through @h at @ifindex; @out the expected frame, NULL:
 * untouched. */
static bool pkt_case(enum hook h, const char *what, const struct pkt_spec *in, int ifindex,
		     int verdict, int reason, const struct pkt_spec *out)
{
	__u8 ibuf[PKT_MAX], obuf[PKT_MAX];
	size_t ilen = pkt_build(in, ibuf), olen = 0;
	struct run r;

	if (out)
		olen = pkt_build(out, obuf);
	if (!ASSERT_OK(run_on(h, ibuf, ilen, ifindex, &r), what))
		return false;
	if (!out)
		return check_run(what, &r, verdict, reason, ibuf, ilen);
	return check_run(what, &r, verdict, reason, obuf, olen);
}

static struct pkt_spec from_client(const __u8 *saddr, __u16 sport, const __u8 *daddr, __u16 dport,
				   __u8 proto, __u8 flags)
{
	struct pkt_spec s = { .v6 = true,
			      .sport = sport,
			      .dport = dport,
			      .proto = proto,
			      .tcp_flags = flags,
			      .payload = proto == IPPROTO_UDP ? 32 : 0 };

	memcpy(s.saddr6, saddr, 16);
	memcpy(s.daddr6, daddr, 16);
	memcpy(s.smac, pkt_mac_client, 6);
	memcpy(s.dmac, mac_xn0, 6);
	return s;
}

static struct pkt_spec to_pod(const struct pkt_spec *s)
{
	struct pkt_spec e = *s;

	memcpy(e.daddr6, A_LOCAL, 16);
	e.dport = 8080;
	return e;
}

/* ---- forward paths ---- */

XT_TEST(nodeport6_to_local_backend)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s, e;
	struct xlb_ct fwd, rev;

	node_setup();
	service(XLB_SCOPE_NODEPORT, NULL, 30080, IPPROTO_TCP, 10, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 40000, A_NODE, 30080, IPPROTO_TCP, TH_SYN);
	e = to_pod(&s);
	pkt_case(XDP, "SYN to [node]:30080", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL, &e);
	if (ASSERT_TRUE(ct_get(A_CLIENT, 40000, A_NODE, 30080, IPPROTO_TCP, &fwd), "fwd entry")) {
		ASSERT_EQ(fwd.kind, XLB_CT_FWD_LOCAL, "fwd kind");
		ASSERT_EQ(fwd.backend_id, BE_LOCAL, "fwd backend");
		ASSERT_MEMEQ(&fwd.nat_daddr, A_LOCAL, 16, "fwd DNAT address");
	}
	if (ASSERT_TRUE(ct_get(A_LOCAL, 8080, A_CLIENT, 40000, IPPROTO_TCP, &rev), "reply entry")) {
		ASSERT_EQ(rev.kind, XLB_CT_REPLY_LOCAL, "reply kind");
		ASSERT_MEMEQ(&rev.nat_saddr, A_NODE, 16, "reply source address");
		ASSERT_EQ(ntohs(rev.nat_sport), 30080, "reply source port");
	}
	/* The next packet hits conntrack the same way. */
	s.tcp_flags = TH_ACK;
	e = to_pod(&s);
	pkt_case(XDP, "ACK to [node]:30080", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL, &e);
}

XT_TEST(local_reply6_restored_by_tc)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s, rs, e;
	struct run r;
	__u8 in[PKT_MAX];

	node_setup();
	service(XLB_SCOPE_NODEPORT, NULL, 30080, IPPROTO_TCP, 10, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 40001, A_NODE, 30080, IPPROTO_TCP, TH_SYN);
	if (!ASSERT_OK(run_on(XDP, in, pkt_build(&s, in), if_xn0, &r), "xdp run"))
		return;
	rs = (struct pkt_spec){ .v6 = true,
				.sport = 8080,
				.dport = 40001,
				.proto = IPPROTO_TCP,
				.tcp_flags = TH_SYN | TH_ACK,
				.ttl = 63 };
	memcpy(rs.saddr6, A_LOCAL, 16);
	memcpy(rs.daddr6, A_CLIENT, 16);
	memcpy(rs.smac, mac_xn0, 6);
	memcpy(rs.dmac, pkt_mac_client, 6);
	e = rs;
	memcpy(e.saddr6, A_NODE, 16);
	e.sport = 30080;
	pkt_case(TC_EGRESS, "SYN-ACK from local Pod", &rs, if_xn0, TC_ACT_OK, XLB_R_REPLY_LOCAL,
		 &e);
	rs.sport = 22;
	pkt_case(TC_EGRESS, "unrelated egress", &rs, if_xn0, TC_ACT_OK, XLB_R_TC_PASS, NULL);
	/* UDP too (checksum through the 128-bit pseudo-header). */
	service(XLB_SCOPE_VIP, A_VIP, 53, IPPROTO_UDP, 11, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 5353, A_VIP, 53, IPPROTO_UDP, 0);
	if (!ASSERT_OK(run_on(XDP, in, pkt_build(&s, in), if_xn0, &r), "xdp run"))
		return;
	rs.proto = IPPROTO_UDP;
	rs.sport = 8080;
	rs.dport = 5353;
	rs.payload = 40;
	e = rs;
	memcpy(e.saddr6, A_VIP, 16);
	e.sport = 53;
	pkt_case(TC_EGRESS, "UDP reply from local Pod", &rs, if_xn0, TC_ACT_OK, XLB_R_REPLY_LOCAL,
		 &e);
}

XT_TEST(lb_vip6_to_local_backend)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s, e;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 12, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 40002, A_VIP, 80, IPPROTO_TCP, TH_SYN);
	e = to_pod(&s);
	pkt_case(XDP, "SYN to [VIP]:80", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL, &e);
	s = from_client(A_CLIENT, 40003, A_VIP, 80, IPPROTO_TCP, TH_SYN);
	s.vlan = true;
	e = to_pod(&s);
	pkt_case(XDP, "802.1Q SYN to [VIP]:80", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL, &e);
	/* Not a frontend: untouched. */
	s = from_client(A_CLIENT, 40004, A_VIP, 81, IPPROTO_TCP, TH_SYN);
	pkt_case(XDP, "SYN to [VIP]:81", &s, if_xn0, XDP_PASS, XLB_R_PASS_NOT_FRONTEND, NULL);
}

/* DNAT+SNAT to a remote backend from the egress's snat6, hop limit down
 * by one, then the backend's reply reverse-translated. */
static void remote_case(enum hook h)
{
	__u32 ids[] = { BE_REMOTE };
	struct pkt_spec s, e, rs;
	struct xlb_ct fwd, rev;
	__u8 in[PKT_MAX], exp[PKT_MAX];
	__u16 snat_port;
	struct run r;
	int act = h == XDP ? XDP_REDIRECT : TC_ACT_REDIRECT;

	node_setup();
	service(XLB_SCOPE_NODEPORT, NULL, 30081, IPPROTO_TCP, 13, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 40010, A_NODE, 30081, IPPROTO_TCP, TH_SYN);
	if (!ASSERT_OK(run_on(h, in, pkt_build(&s, in), if_xn0, &r), "run") ||
	    !ASSERT_TRUE(ct_get(A_CLIENT, 40010, A_NODE, 30081, IPPROTO_TCP, &fwd), "fwd entry"))
		return;
	ASSERT_EQ(fwd.kind, XLB_CT_FWD_REMOTE, "fwd kind");
	ASSERT_MEMEQ(&fwd.nat_saddr, A_NODE1, 16, "SNAT address is xn1's snat6");
	snat_port = ntohs(fwd.nat_sport);
	ASSERT_TRUE(snat_port >= 61000 && snat_port <= 61015, "SNAT port in range");
	e = s;
	memcpy(e.saddr6, A_NODE1, 16);
	memcpy(e.daddr6, A_REMOTE, 16);
	e.sport = snat_port;
	e.dport = 8080;
	e.ttl = 63;
	if (h == XDP) { /* tc leaves the MACs to bpf_redirect_neigh */
		memcpy(e.smac, mac_xn1, 6);
		memcpy(e.dmac, pkt_mac_gw1, 6);
	}
	check_run("SYN to remote backend", &r, act, XLB_R_FWD_REMOTE, exp, pkt_build(&e, exp));
	if (!ASSERT_TRUE(ct_get(A_REMOTE, 8080, A_NODE1, snat_port, IPPROTO_TCP, &rev),
			 "reply entry"))
		return;
	ASSERT_EQ(rev.kind, XLB_CT_REPLY_SNAT, "reply kind");

	rs = (struct pkt_spec){ .v6 = true,
				.sport = 8080,
				.dport = snat_port,
				.proto = IPPROTO_TCP,
				.tcp_flags = TH_SYN | TH_ACK,
				.ttl = 62 };
	memcpy(rs.saddr6, A_REMOTE, 16);
	memcpy(rs.daddr6, A_NODE1, 16);
	memcpy(rs.smac, pkt_mac_gw1, 6);
	memcpy(rs.dmac, mac_xn1, 6);
	e = rs;
	memcpy(e.saddr6, A_NODE, 16);
	memcpy(e.daddr6, A_CLIENT, 16);
	e.sport = 30081;
	e.dport = 40010;
	e.ttl = 61;
	if (h == XDP) {
		memcpy(e.smac, mac_xn0, 6);
		memcpy(e.dmac, pkt_mac_client, 6);
	}
	pkt_case(h, "SYN-ACK from remote backend", &rs, if_xn1, act, XLB_R_REPLY_SNAT, &e);
}

XT_TEST(remote_backend6_snat_and_reply_xdp)
{
	remote_case(XDP);
}

XT_TEST(remote_backend6_snat_and_reply_tc)
{
	remote_case(TC_FULL);
}

XT_TEST(tc_path6_local_backend)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s, e;

	node_setup();
	service(XLB_SCOPE_NODEPORT, NULL, 30080, IPPROTO_UDP, 10, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 41000, A_NODE, 30080, IPPROTO_UDP, 0);
	e = to_pod(&s);
	pkt_case(TC_FULL, "tc: UDP to local backend", &s, if_xn0, TC_ACT_OK, XLB_R_FWD_LOCAL, &e);
}

/* A local Pod's veth listed: tc delivers with bpf_redirect_peer (hop
 * limit down, the Pod's MAC), XDP leaves the note for tc ingress. */
XT_TEST(local_pod6_veth_skips_the_stack)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s, e;
	static const __u8 pod_mac[6] = { 2, 0, 0, 0, 0x10, 2 };

	node_setup();
	xlb_dp_peer_dev_set(dp, if_xp0);
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 12, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 42000, A_VIP, 80, IPPROTO_TCP, TH_SYN);
	e = to_pod(&s);
	e.ttl = 63;
	memcpy(e.smac, mac_xp0, 6);
	memcpy(e.dmac, pod_mac, 6);
	pkt_case(TC_FULL, "tc: SYN into the Pod's veth", &s, if_xn0, TC_ACT_REDIRECT,
		 XLB_R_FWD_PEER, &e);
	xlb_dp_peer_dev_del(dp, if_xp0);
}

XT_TEST(source_ranges6_etp_and_affinity)
{
	__u32 ids[] = { BE_LOCAL }, remote[] = { BE_REMOTE };
	struct xlb_src_key k = { .prefixlen = 32 + 64, .id = xlb_src_id(20, XLB_AF_INET6) };
	struct pkt_spec s, e;
	__u32 v = 0;
	struct xlb_svc_key sk = { .port = htons(443),
				  .proto = IPPROTO_TCP,
				  .family = XLB_AF_INET6,
				  .scope = XLB_SCOPE_VIP };
	struct xlb_svc sv;

	node_setup();
	memcpy(k.addr, A_CLIENT, 8); /* fd00::/64: both clients */
	ASSERT_OK(bpf_map_update_elem(xlb_dp_map_fd_rw(dp, XLB_DPM_SRC_RANGES), &k, &v, 0),
		  "range");
	service(XLB_SCOPE_VIP, A_VIP, 443, IPPROTO_TCP, 20, ids, 1, 1, XLB_SVC_F_SOURCE_RANGES);
	s = from_client(A_CLIENT, 43000, A_VIP, 443, IPPROTO_TCP, TH_SYN);
	e = to_pod(&s);
	pkt_case(XDP, "client inside fd00::/64", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL, &e);
	ip6("fd01::2", s.saddr6);
	pkt_case(XDP, "client outside", &s, if_xn0, XDP_DROP, XLB_R_DROP_SOURCE_RANGE, NULL);

	/* ETP Local without a local backend (endpoints elsewhere): drop. */
	service(XLB_SCOPE_VIP, A_VIP, 444, IPPROTO_TCP, 21, remote, 0, 2, XLB_SVC_F_ETP_LOCAL);
	s = from_client(A_CLIENT, 43001, A_VIP, 444, IPPROTO_TCP, TH_SYN);
	pkt_case(XDP, "ETP Local, none here", &s, if_xn0, XDP_DROP, XLB_R_DROP_NO_LOCAL_BACKEND,
		 NULL);

	/* Affinity: the client's second connection goes where the first
	 * went, though the table now names another backend. */
	backend(BE_LOCAL, A_LOCAL, 8080, true, 22); /* it serves port 22 */
	service(XLB_SCOPE_VIP, A_VIP, 445, IPPROTO_TCP, 22, ids, 1, 1, 0);
	sk.port = htons(445);
	memcpy(&sk.addr, A_VIP, 16);
	ASSERT_OK(bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_SVC), &sk, &sv), "svc");
	sv.affinity_timeout = 60;
	xlb_dp_svc_set(dp, &sk, &sv);
	s = from_client(A_CLIENT, 43002, A_VIP, 445, IPPROTO_TCP, TH_SYN);
	e = to_pod(&s);
	pkt_case(XDP, "affinity: first", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL, &e);
	service(XLB_SCOPE_VIP, A_VIP, 445, IPPROTO_TCP, 22, remote, 1, 1, 0);
	ASSERT_OK(bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_SVC), &sk, &sv), "svc");
	sv.affinity_timeout = 60;
	xlb_dp_svc_set(dp, &sk, &sv);
	s.sport = 43003;
	e = to_pod(&s);
	pkt_case(XDP, "affinity: second keeps its backend", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL,
		 &e);
}

/* A removed backend: the flow's next SYN is balanced afresh (terminating
 * fallback aside, as for IPv4). */
XT_TEST(removed_backend6_rebalanced_on_syn)
{
	__u32 ids[] = { BE_LOCAL }, remote[] = { BE_REMOTE };
	struct pkt_spec s, e;
	struct xlb_ct fwd;
	__u32 id = BE_LOCAL;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 12, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 44000, A_VIP, 80, IPPROTO_TCP, TH_SYN);
	e = to_pod(&s);
	pkt_case(XDP, "first SYN", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL, &e);
	bpf_map_delete_elem(xlb_dp_map_fd_rw(dp, XLB_DPM_BACKENDS), &id);
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 12, remote, 1, 1, 0);
	{
		__u8 in[PKT_MAX];
		struct run r;

		if (ASSERT_OK(run_on(XDP, in, pkt_build(&s, in), if_xn0, &r), "run"))
			check_run("SYN again", &r, XDP_REDIRECT, XLB_R_FWD_REMOTE, NULL, 0);
	}
	if (ASSERT_TRUE(ct_get(A_CLIENT, 44000, A_VIP, 80, IPPROTO_TCP, &fwd), "fwd entry"))
		ASSERT_EQ(fwd.backend_id, BE_REMOTE, "rebalanced to the remaining backend");
}

/* ---- extension headers ---- */

XT_TEST(ext_headers_bounded_chain_forwarded)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s, e;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 12, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 45000, A_VIP, 80, IPPROTO_TCP, TH_SYN);
	s.n_ext = 4;
	memcpy(s.ext, (__u8[]){ 0, 60, 43, 60 }, 4);
	e = to_pod(&s);
	pkt_case(XDP, "HBH, DST, RT(0 left), DST", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL, &e);
	s.sport = 45001;
	e = to_pod(&s);
	pkt_case(TC_FULL, "tc: the same chain", &s, if_xn0, TC_ACT_OK, XLB_R_FWD_LOCAL, &e);
}

XT_TEST(ext_headers_refused_untouched)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 12, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 45100, A_VIP, 80, IPPROTO_TCP, TH_SYN);
	s.n_ext = 6;
	memcpy(s.ext, (__u8[]){ 0, 60, 43, 60, 60, 60 }, 6);
	pkt_case(XDP, "six extension headers", &s, if_xn0, XDP_PASS, XLB_R_PASS_IPV6_EXT, NULL);
	pkt_case(TC_FULL, "tc: six extension headers", &s, if_xn0, TC_ACT_OK, XLB_R_PASS_IPV6_EXT,
		 NULL);
	s.n_ext = 1;
	s.ext[0] = 51;
	pkt_case(XDP, "AH", &s, if_xn0, XDP_PASS, XLB_R_PASS_IPV6_EXT, NULL);
	s.n_ext = 2;
	memcpy(s.ext, (__u8[]){ 60, 0 }, 2);
	pkt_case(XDP, "hop-by-hop not first", &s, if_xn0, XDP_PASS, XLB_R_PASS_IPV6_EXT, NULL);
	s.n_ext = 1;
	s.ext[0] = 43;
	s.ext_segs = 1;
	pkt_case(XDP, "routing header, 1 segment left", &s, if_xn0, XDP_PASS, XLB_R_PASS_IPV6_EXT,
		 NULL);
	/* Nothing of the flow was made. */
	{
		struct xlb_ct ct;

		ASSERT_TRUE(!ct_get(A_CLIENT, 45100, A_VIP, 80, IPPROTO_TCP, &ct), "no ct entry");
	}
}

/* ---- fragments ---- */

XT_TEST(fragments6_follow_their_flow)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s, e;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 53, IPPROTO_UDP, 11, ids, 1, 1, 0);
	/* First fragment: offset 0, M; its UDP length names the datagram. */
	s = from_client(A_CLIENT, 5300, A_VIP, 53, IPPROTO_UDP, 0);
	s.n_ext = 1;
	s.ext[0] = 44;
	s.frag6 = 1;
	s.frag_id = 0x01020304;
	s.payload = 64;
	e = to_pod(&s);
	pkt_case(XDP, "first fragment", &s, if_xn0, XDP_PASS, XLB_R_FWD_LOCAL, &e);
	/* A later one has no ports: it takes the first one's, and only its
	 * address changes (the bytes where the builder puts "ports" are
	 * payload and stay). */
	s.frag6 = 72; /* offset 72 bytes (9 units << 3), no M: the last */
	{
		__u8 in[PKT_MAX], exp[PKT_MAX];
		size_t len = pkt_build(&s, in);
		struct run r;

		memcpy(exp, in, len);
		memcpy(exp + 14 + 24, A_LOCAL, 16);
		if (ASSERT_OK(run_on(XDP, in, len, if_xn0, &r), "run"))
			check_run("later fragment", &r, XDP_PASS, XLB_R_FWD_LOCAL, exp, len);
		if (ASSERT_OK(run_on(TC_FULL, in, len, if_xn0, &r), "run"))
			check_run("tc: later fragment", &r, TC_ACT_OK, XLB_R_FWD_LOCAL, exp, len);
	}
	/* Another datagram's later fragment, its first unseen. */
	s.frag_id = 0x0a0b0c0d;
	pkt_case(XDP, "later fragment, first unseen", &s, if_xn0, XDP_PASS, XLB_R_PASS_FRAG_UNKNOWN,
		 NULL);
}

/* ---- ICMPv6 ---- */

XT_TEST(ndp_and_other_icmpv6_pass)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s;
	__u8 in[PKT_MAX], ns[32] = { 0 };
	size_t len;
	struct run r;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 12, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 0, A_VIP, 0, IPPROTO_ICMPV6, 0);
	s.payload = 16;
	pkt_case(XDP, "echo request to the VIP", &s, if_xn0, XDP_PASS, XLB_R_PASS_NOT_L4, NULL);
	/* A Neighbor Solicitation for the VIP (the tc responder answers it,
	 * test_xlb_l2; the forward path leaves it alone). */
	memcpy(ns + 4, A_VIP, 16);
	ns[20] = 1; /* source link-layer address option */
	ns[21] = 1;
	memcpy(ns + 22, pkt_mac_client, 6);
	s.ttl = 255;
	len = pkt_build_icmp6_err(&s, ns + 4, 28, 135, 0, 0, in);
	if (ASSERT_OK(run_on(XDP, in, len, if_xn0, &r), "run"))
		check_run("Neighbor Solicitation", &r, XDP_PASS, XLB_R_PASS_NOT_L4, in, len);
}

/* The ICMPv6 error xlb sends for @s (as it arrived): from its
 * destination, to its source, quoting its IPv6 header and 8 bytes. */
static size_t icmp6_reply_of(const struct pkt_spec *s, __u8 type, __u8 code, __u32 mtu, __u8 *out)
{
	__u8 orig[PKT_MAX];
	struct pkt_spec o = *s;
	size_t l3 = s->vlan ? 18 : 14;

	pkt_build(s, orig);
	memcpy(o.saddr6, s->daddr6, 16);
	memcpy(o.daddr6, s->saddr6, 16);
	memcpy(o.smac, s->dmac, 6);
	memcpy(o.dmac, s->smac, 6);
	o.ttl = 64;
	o.tclass = 0;
	return pkt_build_icmp6_err(&o, orig + l3, 48, type, code, mtu, out);
}

static void reject_case(enum hook h, __u8 proto, bool vlan)
{
	__u8 in[PKT_MAX], exp[PKT_MAX];
	struct pkt_spec s;
	size_t len, elen;
	struct run r;
	char what[64];

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, proto, 30, NULL, 0, 0, 0);
	s = from_client(A_CLIENT, 46000, A_VIP, 80, proto, TH_SYN);
	s.vlan = vlan;
	s.payload = 100;
	len = pkt_build(&s, in);
	elen = icmp6_reply_of(&s, 1, 4, 0, exp);
	snprintf(what, sizeof(what), "%s reject %s%s", h == XDP ? "xdp" : "tc",
		 proto == IPPROTO_TCP ? "TCP" : "UDP", vlan ? " 802.1Q" : "");
	if (ASSERT_OK(run_on(h, in, len, if_xn0, &r), what))
		check_run(what, &r, h == XDP ? XDP_TX : TC_ACT_REDIRECT, XLB_R_REJECT_NO_BACKEND,
			  exp, elen);
}

XT_TEST(no_endpoint6_reject_port_unreachable)
{
	reject_case(XDP, IPPROTO_TCP, false);
	reject_case(XDP, IPPROTO_UDP, false);
	reject_case(XDP, IPPROTO_TCP, true);
	reject_case(TC_FULL, IPPROTO_TCP, false);
	reject_case(TC_FULL, IPPROTO_UDP, false);
}

XT_TEST(no_reject6_to_multicast_or_unspecified)
{
	static const char *const srcs[] = { "::", "::1", "ff02::1", "::ffff:10.0.0.2" };
	struct pkt_spec s;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 30, NULL, 0, 0, 0);
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		s = from_client(A_CLIENT, 46100, A_VIP, 80, IPPROTO_TCP, TH_SYN);
		ip6(srcs[i], s.saddr6);
		pkt_case(XDP, srcs[i], &s, if_xn0, XDP_DROP, XLB_R_DROP_NO_BACKEND, NULL);
	}
	/* With extension headers the quote would not be a fixed 48 bytes:
	 * not answered (as IPv4 with options). */
	s = from_client(A_CLIENT, 46101, A_VIP, 80, IPPROTO_TCP, TH_SYN);
	s.n_ext = 1;
	s.ext[0] = 60;
	pkt_case(XDP, "with a destination options header", &s, if_xn0, XDP_DROP,
		 XLB_R_DROP_NO_BACKEND, NULL);
}

/* The node-wide bucket: a dp of its own with burst 3, rate 1/s. */
XT_TEST(reject6_rate_limited)
{
	struct xlb_dp_opts o = { .cfg = XLB_CFG_DEFAULT, .max_ct = 1024, .max_tables = 64 };
	struct xlb_dp *keep = dp;
	struct pkt_spec s;
	int sent = 0, dropped = 0;

	o.cfg.icmp_rate = 1;
	o.cfg.icmp_burst = 3;
	dp = xlb_dp_load(&o);
	if (!ASSERT_TRUE(dp, "load a second instance")) {
		dp = keep;
		return;
	}
	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 30, NULL, 0, 0, 0);
	for (int i = 0; i < 8; i++) {
		__u8 in[PKT_MAX];
		struct run r;

		s = from_client(A_CLIENT, 47000 + i, A_VIP, 80, IPPROTO_TCP, TH_SYN);
		if (!ASSERT_OK(run_on(XDP, in, pkt_build(&s, in), if_xn0, &r), "run"))
			break;
		sent += r.reasons[XLB_R_REJECT_NO_BACKEND];
		dropped += r.reasons[XLB_R_DROP_NO_BACKEND];
	}
	xlb_dp_close(dp);
	dp = keep;
	/* The burst lets 3 through (4 if a second ticked over meanwhile). */
	ASSERT_TRUE(sent >= 3 && sent <= 4, "rejects within the burst");
	ASSERT_EQ(sent + dropped, 8, "every other one dropped, counted");
}

/* Packet Too Big from a router on the SNATed path: translated back (outer
 * and quote) and sent on to the client. */
XT_TEST(icmp6_error_about_snat_flow_translated)
{
	__u32 ids[] = { BE_REMOTE };
	__u8 in[PKT_MAX], q[PKT_MAX], exp[PKT_MAX], orig[PKT_MAX];
	struct pkt_spec s, sent, router, out;
	struct xlb_ct fwd;
	struct run r;
	size_t len, elen;

	node_setup();
	service(XLB_SCOPE_NODEPORT, NULL, 30081, IPPROTO_TCP, 13, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 48000, A_NODE, 30081, IPPROTO_TCP, TH_ACK);
	s.payload = 200;
	if (!ASSERT_OK(run_on(XDP, in, pkt_build(&s, in), if_xn0, &r), "run") ||
	    !ASSERT_TRUE(ct_get(A_CLIENT, 48000, A_NODE, 30081, IPPROTO_TCP, &fwd), "fwd entry"))
		return;
	/* What the node sent: [node1]:snat -> [remote]:8080. */
	sent = s;
	memcpy(sent.saddr6, A_NODE1, 16);
	memcpy(sent.daddr6, A_REMOTE, 16);
	sent.sport = ntohs(fwd.nat_sport);
	sent.dport = 8080;
	sent.ttl = 63;
	pkt_build(&sent, q);
	router = (struct pkt_spec){ .v6 = true, .ttl = 60 };
	memcpy(router.saddr6, A_GW1, 16);
	memcpy(router.daddr6, A_NODE1, 16);
	memcpy(router.smac, pkt_mac_gw1, 6);
	memcpy(router.dmac, mac_xn1, 6);
	len = pkt_build_icmp6_err(&router, q + 14, 48, 2, 0, 1280, in);
	/* Expected: router -> client, quoting the client's own packet. */
	pkt_build(&s, orig);
	out = router;
	memcpy(out.daddr6, A_CLIENT, 16);
	out.ttl = 59;
	memcpy(out.smac, mac_xn0, 6);
	memcpy(out.dmac, pkt_mac_client, 6);
	elen = pkt_build_icmp6_err(&out, orig + 14, 48, 2, 0, 1280, exp);
	/* The quote keeps the hop limit the node sent (63), as IPv4's keeps
	 * its TTL: only addresses and ports are translated back. */
	exp[14 + 48 + 7] = 63;
	{
		__u8 *ic = exp + 14 + 40;
		__u32 sum = 0;
		size_t n = 8 + 48;

		ic[2] = ic[3] = 0;
		for (size_t i = 0; i < 32; i += 2)
			sum += (exp[22 + i] << 8) | exp[22 + i + 1];
		sum += n + 58;
		for (size_t i = 0; i < n; i += 2)
			sum += (ic[i] << 8) | ic[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		ic[2] = (~sum >> 8) & 0xff;
		ic[3] = ~sum & 0xff;
	}
	if (ASSERT_OK(run_on(XDP, in, len, if_xn1, &r), "run"))
		check_run("Packet Too Big, translated", &r, XDP_REDIRECT, XLB_R_ICMP_XLATE, exp,
			  elen);
	/* Not addressed to the quoted packet's sender: untouched. */
	memcpy(router.daddr6, A_NODE, 16);
	len = pkt_build_icmp6_err(&router, q + 14, 48, 2, 0, 1280, in);
	if (ASSERT_OK(run_on(XDP, in, len, if_xn1, &r), "run"))
		check_run("foreign Packet Too Big", &r, XDP_PASS, XLB_R_PASS_ICMP_FOREIGN, in, len);
}

/* An error a local Pod sends about a client's packet, at tc egress: the
 * quote becomes the client's packet as sent (to the VIP), the outer source
 * the VIP. */
XT_TEST(icmp6_error_from_local_pod_translated_at_egress)
{
	__u32 ids[] = { BE_LOCAL };
	__u8 in[PKT_MAX], q[PKT_MAX], exp[PKT_MAX];
	struct pkt_spec s, got, pod, out;
	struct run r;
	size_t len, elen;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_UDP, 12, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 50000, A_VIP, 80, IPPROTO_UDP, 0);
	if (!ASSERT_OK(run_on(XDP, in, pkt_build(&s, in), if_xn0, &r), "run"))
		return;
	got = to_pod(&s); /* what the Pod received */
	pkt_build(&got, q);
	pod = (struct pkt_spec){ .v6 = true, .ttl = 64 };
	memcpy(pod.saddr6, A_LOCAL, 16);
	memcpy(pod.daddr6, A_CLIENT, 16);
	memcpy(pod.smac, mac_xn0, 6);
	memcpy(pod.dmac, pkt_mac_client, 6);
	len = pkt_build_icmp6_err(&pod, q + 14, 48, 1, 4, 0, in);
	{
		__u8 c0 = q[14 + 40 + 6], c1 = q[14 + 40 + 7];

		/* The quoted UDP checksum is left as the Pod's quote has it
		 * (receivers match by addresses and ports, as for IPv4). */
		pkt_build(&s, q);
		q[14 + 40 + 6] = c0;
		q[14 + 40 + 7] = c1;
	}
	out = pod;
	memcpy(out.saddr6, A_VIP, 16);
	elen = pkt_build_icmp6_err(&out, q + 14, 48, 1, 4, 0, exp);
	if (ASSERT_OK(run_on(TC_EGRESS, in, len, if_xn0, &r), "run"))
		check_run("Pod's port unreachable, at egress", &r, TC_ACT_OK, XLB_R_ICMP_XLATE, exp,
			  elen);
}

/* Hop limit 1 for a remote backend: dropped before any state (as TTL). */
XT_TEST(hop_limit6_expires_on_our_hop)
{
	__u32 ids[] = { BE_REMOTE };
	struct pkt_spec s;
	struct xlb_ct ct;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 13, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 51000, A_VIP, 80, IPPROTO_TCP, TH_SYN);
	s.ttl = 1;
	pkt_case(XDP, "hop limit 1", &s, if_xn0, XDP_DROP, XLB_R_DROP_TTL, NULL);
	ASSERT_TRUE(!ct_get(A_CLIENT, 51000, A_VIP, 80, IPPROTO_TCP, &ct), "no ct entry");
}

/* A packet above the egress MTU: Packet Too Big back, with that MTU. */
XT_TEST(path_mtu6_packet_too_big)
{
	__u32 ids[] = { BE_MTU };
	__u8 exp[PKT_MAX];
	struct pkt_spec s;
	struct run r;
	__u8 in[PKT_MAX];
	size_t len;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 80, IPPROTO_TCP, 31, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 49000, A_VIP, 80, IPPROTO_TCP, TH_SYN);
	s.payload = 1400;
	len = pkt_build(&s, in);
	if (ASSERT_OK(run_on(XDP, in, len, if_xn0, &r), "run"))
		check_run("1460 bytes over a 1280 route", &r, XDP_TX, XLB_R_ICMP_FRAG_NEEDED, exp,
			  icmp6_reply_of(&s, 2, 0, 1280, exp));
	s.sport = 49001;
	len = pkt_build(&s, in);
	if (ASSERT_OK(run_on(TC_FULL, in, len, if_xn0, &r), "run"))
		check_run("tc: 1460 bytes over a 1280 route", &r, TC_ACT_REDIRECT,
			  XLB_R_ICMP_FRAG_NEEDED, exp, icmp6_reply_of(&s, 2, 0, 1280, exp));
	s.payload = 1000;
	len = pkt_build(&s, in);
	if (ASSERT_OK(run_on(XDP, in, len, if_xn0, &r), "run"))
		check_run("1060 bytes fit", &r, XDP_REDIRECT, XLB_R_FWD_REMOTE, NULL, 0);
}

/* RFC 8200 8.1: a zero UDP checksum is refused for a frontend, and left
 * alone otherwise (a tunnel endpoint of the node may accept it). */
XT_TEST(udp6_zero_checksum)
{
	__u32 ids[] = { BE_LOCAL };
	struct pkt_spec s;

	node_setup();
	service(XLB_SCOPE_VIP, A_VIP, 53, IPPROTO_UDP, 11, ids, 1, 1, 0);
	s = from_client(A_CLIENT, 5400, A_VIP, 53, IPPROTO_UDP, 0);
	s.udp_nocsum = true;
	pkt_case(XDP, "zero checksum to a frontend", &s, if_xn0, XDP_DROP, XLB_R_DROP_UDP6_NO_CSUM,
		 NULL);
	pkt_case(TC_FULL, "tc: zero checksum to a frontend", &s, if_xn0, TC_ACT_SHOT,
		 XLB_R_DROP_UDP6_NO_CSUM, NULL);
	s.dport = 4789;
	pkt_case(XDP, "zero checksum elsewhere", &s, if_xn0, XDP_PASS, XLB_R_PASS_NOT_FRONTEND,
		 NULL);
}

/* @prog_fd's verified instructions, and those of the program in slot 0 of
 * the tail call array it uses (its IPv6 program), if any. */
static void verified(int prog_fd, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[32], n;

	info.nr_map_ids = 32;
	info.map_ids = (__u64)(unsigned long)ids;
	if (!ASSERT_OK(bpf_obj_get_info_by_fd(prog_fd, &info, &len), name))
		return;
	xt_log("%s: %u instructions verified", name, info.verified_insns);
	ASSERT_TRUE(info.verified_insns > 0 && info.verified_insns < 1000000, name);
	n = info.nr_map_ids < 32 ? info.nr_map_ids : 32;
	for (__u32 i = 0; i < n; i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi), zero = 0, pid;
		int mfd = bpf_map_get_fd_by_id(ids[i]), pfd;

		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &ml) && mi.type == BPF_MAP_TYPE_PROG_ARRAY &&
		    !bpf_map_lookup_elem(mfd, &zero, &pid) &&
		    (pfd = bpf_prog_get_fd_by_id(pid)) >= 0) {
			struct bpf_prog_info pi = {};
			__u32 pl = sizeof(pi);

			if (ASSERT_OK(bpf_obj_get_info_by_fd(pfd, &pi, &pl), "IPv6 program")) {
				xt_log("  its IPv6 program %s: %u instructions verified", pi.name,
				       pi.verified_insns);
				ASSERT_TRUE(pi.verified_insns > 0 && pi.verified_insns < 1000000,
					    pi.name);
			}
			close(pfd);
		}
		close(mfd);
	}
}

XT_TEST(programs6_verified)
{
	verified(xlb_dp_xdp_fd(dp), "xlb_xdp");
	verified(xlb_dp_tc_full_fd(dp), "xlb_tc");
	verified(xlb_dp_tc_fd(dp), "xlb_tc_egress");
}

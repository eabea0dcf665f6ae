// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-packet cost of xlb's programs through BPF_PROG_TEST_RUN, next to a
 * no-op XDP program and a parse-and-swap-MACs XDP_TX program measured in
 * the same run, at 1, 10k and 100k services.
 *
 *   pktbench [-q] [-o out.json] [-d dir-with-bench-bpf-objects]
 *
 * Two ways of timing, both read the kernel's own figure (test_run's
 * duration, which times only the program runs):
 *
 *  repeat  One 64-byte frame run `repeat` (1M) times in the kernel. test_run
 *          runs the program again on its own output, so a DNATing program
 *          would measure a conntrack miss from the second run on: every
 *          program goes through a harness (harness.bpf.c) that puts the
 *          original frame back and tail-calls it. The harness's own cost
 *          is the "harness -> no-op" row; rows are compared with it.
 *          The no-op and swap programs are also timed directly.
 *  call    One test_run (repeat = 1) per packet over `flows` (200k) distinct
 *          5-tuples, the mean of the kernel-reported per-run durations: new
 *          flows (TCP SYN, Maglev pick + two conntrack inserts), the same
 *          flows' first ACK (flags update), then established hits over the
 *          same 200k flows, and the no-op on the same frames. Each call's
 *          figure holds one ktime read pair; the no-op row shows that floor.
 *  flows   The same flows in one test_run each (harness.bpf.c's xdp_flows),
 *          code warm: spread over all services, and all to the middle one
 *          while the others exist (flat as services grow, apart from the
 *          data spread traffic touches).
 *
 * levers  The flows cases (warm and per call) at 1 service with the conntrack
 *          map as built and with the other LRU flavour (one LRU list, or
 *          one per CPU: BPF_F_NO_COMMON_LRU), runs interleaved so both see
 *          the same machine.
 *
 * ct levers  Issue 12's conntrack layout levers, in the kernel
 *          (ctlever.bpf.c, through the same xdp_flows harness and frames):
 *          the conntrack part alone of a hit and of a new flow with the
 *          product's 40-byte key / 56-byte value and with a 16-byte IPv4
 *          key / 32-byte value, two or one entries per new flow, the bare
 *          lookup of a hot vs a cold key, a 256k-entry table; each run
 *          interleaved with the product's own 1-service flows cases.
 *
 * Every run checks the verdict and the reason counter xlb counted, so a
 * figure never silently measures a different path.
 *
 * Runs in a network namespace of its own (unshare) with the veths, routes
 * and permanent neighbours bpf_fib_lookup needs, like test_xlb_pkt.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "datapath.h"
#include "lib/log.h"
#include "../selftests/lib/pkt.h"
#include "benchutil.h"

#define FRAME	 64
#define MAX_RUNS 32
#define TBL_M	 251

static int if_xn0, if_xn1;
static __u8 mac_xn0[6], mac_xn1[6];

static unsigned int opt_runs = 5, opt_flows = 200000, opt_repeat = 1000000;
static const char *opt_dir = "build/bench";
static bool opt_quick;
static unsigned int opt_max_ct = 1u << 20, opt_nscales = 3;
static int opt_ct_lru; /* dp_setup's conntrack flavour (loader.h) */
static FILE *jout;

/* ---------------------------------------------------------------- helpers */

struct stat3 {
	double med, min, max;
	bool ok; /* every run counted the expected reason */
};

static struct stat3 summarize(const double *v, unsigned int n, bool ok)
{
	double s[MAX_RUNS];
	struct stat3 r = { .ok = ok };

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_d);
	r.min = s[0];
	r.max = s[n - 1];
	r.med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return r;
}

static void jstat(const char *name, const struct stat3 *s, bool last)
{
	fprintf(jout, "\"%s\": {\"median\": %.2f, \"min\": %.2f, \"max\": %.2f, \"ok\": %s}%s",
		name, s->med, s->min, s->max, s->ok ? "true" : "false", last ? "" : ", ");
}

/* -------------------------------------------------------------- programs */

struct bench_progs {
	struct bpf_object *noop_obj, *swap_obj, *harness_obj;
	int noop, tc_noop, swap, xdp_restore, tc_restore, xdp_flows;
	int frame_map, xdp_target, tc_target, flows_map;
};

static int prog_fd(struct bpf_object *o, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(o, name);

	return p ? bpf_program__fd(p) : -1;
}

static int map_fd(struct bpf_object *o, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(o, name);

	return m ? bpf_map__fd(m) : -1;
}

/* The loader gives xlb_xdp no expected attach type (it is tail-called
 * from its entry: loader.c), and a prog array takes only programs of its
 * owner's (kernels from 6.17 check it), so the harness and everything it
 * tail-calls carry none either. @max_ct: the LRU_HASH maps get xlb_ct's
 * size (0: as built). */
static struct bpf_object *load_obj_ct(const char *file, unsigned int max_ct)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	char path[512];
	struct bpf_object *o;

	snprintf(path, sizeof(path), "%s/%s", opt_dir, file);
	o = bpf_object__open_file(path, NULL);
	if (!o) {
		fprintf(stderr, "pktbench: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	bpf_object__for_each_program (prog, o)
		if (bpf_program__type(prog) == BPF_PROG_TYPE_XDP)
			bpf_program__set_expected_attach_type(prog, 0);
	bpf_object__for_each_map (map, o)
		if (max_ct && bpf_map__type(map) == BPF_MAP_TYPE_LRU_HASH &&
		    strcmp(bpf_map__name(map), "ct_v4s"))
			bpf_map__set_max_entries(map, max_ct);
	if (bpf_object__load(o)) {
		fprintf(stderr, "pktbench: cannot load %s: %s\n", path, strerror(errno));
		bpf_object__close(o);
		return NULL;
	}
	return o;
}

static struct bpf_object *load_obj(const char *file)
{
	return load_obj_ct(file, 0);
}

static int progs_load(struct bench_progs *b)
{
	b->noop_obj = load_obj("xdp_noop.bpf.o");
	b->swap_obj = load_obj("xdp_swap.bpf.o");
	b->harness_obj = load_obj("harness.bpf.o");
	if (!b->noop_obj || !b->swap_obj || !b->harness_obj)
		return -1;
	b->noop = prog_fd(b->noop_obj, "xdp_noop");
	b->tc_noop = prog_fd(b->noop_obj, "tc_noop");
	b->swap = prog_fd(b->swap_obj, "xdp_swap");
	b->xdp_restore = prog_fd(b->harness_obj, "xdp_restore");
	b->tc_restore = prog_fd(b->harness_obj, "tc_restore");
	b->xdp_flows = prog_fd(b->harness_obj, "xdp_flows");
	b->flows_map = map_fd(b->harness_obj, "flows");
	b->frame_map = map_fd(b->harness_obj, "frame");
	b->xdp_target = map_fd(b->harness_obj, "xdp_target");
	b->tc_target = map_fd(b->harness_obj, "tc_target");
	return 0;
}

/* One test_run; *dur gets the kernel's mean ns per repeat. */
static int run_xdp(int fd, const __u8 *in, size_t len, int ifindex, __u32 repeat, __u32 *retval,
		   __u32 *dur)
{
	__u8 out[PKT_MAX];
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	*retval = o.retval;
	*dur = o.duration;
	return 0;
}

static int run_tc(int fd, const __u8 *in, size_t len, __u32 repeat, __u32 *retval, __u32 *dur)
{
	__u8 out[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o))
		return -errno;
	*retval = o.retval;
	*dur = o.duration;
	return 0;
}

/* ------------------------------------------------------------- datapath */

static __u64 reason_sum(struct xlb_dp *dp, __u32 r)
{
	int ncpu = xlb_dp_ncpus(), fd = xlb_dp_map_fd(dp, XLB_DPM_REASONS);
	struct xlb_counter vals[ncpu];
	__u64 s = 0;

	if (bpf_map_lookup_elem(fd, &r, vals))
		return 0;
	for (int c = 0; c < ncpu; c++)
		s += vals[c].packets;
	return s;
}

static __u32 A_NODE, A_NODE1, A_CLIENT, A_LOCAL, A_REMOTE;

enum { BE_LOCAL = 1, BE_REMOTE = 2, BE_FILL = 100 };
enum { SVC_NP_LOCAL = 0, SVC_NP_REMOTE = 1, SVC_VIP0 = 2 };

static __u32 vip_addr(__u32 i)
{
	return htonl(0xac100000u + i);
} /* 172.16/12 */
static void vip6_addr(__u32 i, __u8 *out)
{
	ip6("2001:db8::", out);
	out[12] = i >> 24;
	out[13] = i >> 16;
	out[14] = i >> 8;
	out[15] = i;
} /* 2001:db8::/96 */
static __u32 fill_be_addr(__u32 i)
{
	return htonl(0x0a800000u + i);
} /* 10.128/9 */

static void svc_with_table(struct xlb_dp *dp, __u8 scope, __u32 addr, __u16 port, __u32 svc_id,
			   __u32 be_id, __u32 *table)
{
	struct xlb_svc_key k = { .addr.v4 = addr,
				 .port = htons(port),
				 .proto = IPPROTO_TCP,
				 .family = XLB_AF_INET,
				 .scope = scope };
	struct xlb_svc v = { .svc_id = svc_id,
			     .table_id = svc_id,
			     .maglev_size = TBL_M,
			     .backend_count = 1,
			     .total_count = 1 };

	for (int i = 0; i < TBL_M; i++)
		table[i] = be_id;
	if (xlb_dp_table_set(dp, svc_id, table, TBL_M) || xlb_dp_svc_set(dp, &k, &v))
		fprintf(stderr, "pktbench: service %u not written\n", svc_id);
}

static struct xlb_dp *dp_setup(unsigned int nsvc)
{
	struct xlb_dp_opts o = { .cfg = XLB_CFG_DEFAULT,
				 .max_ct = opt_max_ct,
				 /* nsvc IPv4 and nsvc IPv6 services */
				 .max_services = 262144,
				 .max_tables = 262144,
				 .max_backends = 262144,
				 .ct_lru = opt_ct_lru };
	struct xlb_addr_key na = { .addr.v4 = A_NODE, .family = XLB_AF_INET };
	struct xlb_addr_key na1 = { .addr.v4 = A_NODE1, .family = XLB_AF_INET };
	struct xlb_iface i0 = { .snat4.v4 = A_NODE }, i1 = { .snat4.v4 = A_NODE1 };
	struct xlb_backend bl = { .addr.v4 = A_LOCAL,
				  .port = htons(8080),
				  .family = XLB_AF_INET,
				  .flags = XLB_BE_F_LOCAL };
	struct xlb_backend br = { .addr.v4 = A_REMOTE, .port = htons(8080), .family = XLB_AF_INET };
	__u32 table[TBL_M];
	struct xlb_dp *dp;

	dp = xlb_dp_load(&o);
	if (!dp) {
		fprintf(stderr, "pktbench: xlb_dp_load: %s\n", strerror(errno));
		return NULL;
	}
	xlb_dp_node_addr_set(dp, &na, 0);
	xlb_dp_node_addr_set(dp, &na1, 0);
	xlb_dp_iface_set(dp, if_xn0, &i0);
	xlb_dp_iface_set(dp, if_xn1, &i1);
	/* Both uplinks native XDP, as on a node XDP serves. */
	xlb_dp_tx_dev_set(dp, if_xn0);
	xlb_dp_tx_dev_set(dp, if_xn1);
	xlb_dp_backend_set(dp, BE_LOCAL, &bl);
	xlb_dp_backend_set(dp, BE_REMOTE, &br);
	svc_with_table(dp, XLB_SCOPE_NODEPORT, 0, 30080, SVC_NP_LOCAL, BE_LOCAL, table);
	svc_with_table(dp, XLB_SCOPE_NODEPORT, 0, 30081, SVC_NP_REMOTE, BE_REMOTE, table);
	/* IPv6: the same, [2001:db8::i]:80 -> its own local Pod fd00:80::i
	 * (the IPv6 call rows; xlb_xdp tail-calls xlb_xdp6 for them). */
	for (__u32 i = 0; i < nsvc; i++) {
		struct xlb_backend b = { .port = htons(8080),
					 .family = XLB_AF_INET6,
					 .flags = XLB_BE_F_LOCAL };
		struct xlb_svc_key k = { .port = htons(80),
					 .proto = IPPROTO_TCP,
					 .family = XLB_AF_INET6,
					 .scope = XLB_SCOPE_VIP };
		struct xlb_svc v = { .svc_id = SVC_VIP0 + nsvc + i,
				     .table_id = SVC_VIP0 + nsvc + i,
				     .maglev_size = TBL_M,
				     .backend_count = 1,
				     .total_count = 1 };

		vip6_addr(i, k.addr.bytes);
		ip6("fd00:80::", b.addr.bytes);
		b.addr.v6[3] = htonl(i + 1);
		xlb_dp_backend_set(dp, BE_FILL + nsvc + i, &b);
		for (int j = 0; j < TBL_M; j++)
			table[j] = BE_FILL + nsvc + i;
		if (xlb_dp_table_set(dp, v.table_id, table, TBL_M) || xlb_dp_svc_set(dp, &k, &v))
			fprintf(stderr, "pktbench: IPv6 service %u not written\n", i);
	}
	/* The services the new flows go to: VIP i:80 -> its own local Pod. */
	for (__u32 i = 0; i < nsvc; i++) {
		struct xlb_backend b = { .addr.v4 = fill_be_addr(i),
					 .port = htons(8080),
					 .family = XLB_AF_INET,
					 .flags = XLB_BE_F_LOCAL };

		xlb_dp_backend_set(dp, BE_FILL + i, &b);
		svc_with_table(dp, XLB_SCOPE_VIP, vip_addr(i), 80, SVC_VIP0 + i, BE_FILL + i,
			       table);
	}
	return dp;
}

/* Empty conntrack (between runs: each run starts from the same state). */
static void ct_clear(struct xlb_dp *dp)
{
	enum { B = 8192 };
	static struct xlb_ct_key keys[B];
	static struct xlb_ct vals[B];
	int fd = xlb_dp_map_fd_rw(dp, XLB_DPM_CT);
	__u64 in = 0, out = 0;
	bool first = true;

	for (;;) {
		__u32 count = B;
		int err;

		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in, &out, keys, vals,
						      &count, &bo);
		first = false;
		if (err && errno != ENOENT) {
			/* fall back to one by one */
			struct xlb_ct_key k, n;

			while (!bpf_map_get_next_key(fd, NULL, &n)) {
				k = n;
				bpf_map_delete_elem(fd, &k);
			}
			return;
		}
		if (err) /* ENOENT: done */
			return;
		in = out;
	}
}

static size_t frame_tcp(__u8 *buf, __u32 saddr, __u16 sport, __u32 daddr, __u16 dport, __u8 flags,
			bool from_pod_side)
{
	struct pkt_spec s = { .saddr = saddr,
			      .daddr = daddr,
			      .sport = sport,
			      .dport = dport,
			      .proto = IPPROTO_TCP,
			      .tcp_flags = flags,
			      .payload = FRAME - 14 - 20 - 20 };

	memcpy(s.smac, from_pod_side ? pkt_mac_gw1 : pkt_mac_client, 6);
	memcpy(s.dmac, from_pod_side ? mac_xn1 : mac_xn0, 6);
	return pkt_build(&s, buf);
}

/* ------------------------------------------------------------ scenarios */

enum rep_case {
	RC_NOOP_DIRECT,
	RC_SWAP_DIRECT,
	RC_H_NOOP,
	RC_H_SWAP,
	RC_HIT_LOCAL,
	RC_HIT_REMOTE,
	RC_REPLY_SNAT,
	RC_PASS,
	RC_TC_NOOP_DIRECT,
	RC_H_TC_NOOP,
	RC_TC_REPLY_LOCAL,
	RC_TC_PASS,
	RC_HIT_LOCAL_MON,
	RC_MAX,
};

static const char *const rep_names[RC_MAX] = {
	[RC_NOOP_DIRECT] = "noop_direct",
	[RC_SWAP_DIRECT] = "swap_direct",
	[RC_H_NOOP] = "harness_noop",
	[RC_H_SWAP] = "harness_swap",
	[RC_HIT_LOCAL] = "hit_local",
	[RC_HIT_REMOTE] = "hit_remote_snat",
	[RC_REPLY_SNAT] = "reply_snat",
	[RC_PASS] = "pass_not_service",
	[RC_TC_NOOP_DIRECT] = "tc_noop_direct",
	[RC_H_TC_NOOP] = "harness_tc_noop",
	[RC_TC_REPLY_LOCAL] = "tc_reply_local",
	[RC_TC_PASS] = "tc_pass",
	[RC_HIT_LOCAL_MON] = "hit_local_monitor",
};

enum call_case { CC_NOOP, CC_NEW, CC_FIRST_ACK, CC_HIT, CC_NEW6, CC_HIT6, CC_MAX };
static const char *const call_names[CC_MAX] = {
	[CC_NOOP] = "noop", [CC_NEW] = "new_flow",	 [CC_FIRST_ACK] = "first_ack",
	[CC_HIT] = "hit",   [CC_NEW6] = "new_flow_ipv6", [CC_HIT6] = "hit_ipv6",
};

enum warm_case { WC_NOOP, WC_NEW, WC_FIRST_ACK, WC_HIT, WC_MAX };
static const char *const warm_names[WC_MAX] = {
	[WC_NOOP] = "harness_noop",
	[WC_NEW] = "new_flow",
	[WC_FIRST_ACK] = "first_ack",
	[WC_HIT] = "hit",
};

/* The warm new-flow and hit passes with all flows to one Service (the
 * middle one) while the others exist: "flat as Services grow" apart from
 * "traffic spread over all Services touches more data". */
enum one_case { OC_NEW, OC_HIT, OC_MAX };
static const char *const one_names[OC_MAX] = {
	[OC_NEW] = "new_flow",
	[OC_HIT] = "hit",
};

struct scale_res {
	unsigned int nsvc;
	double setup_s;
	double one[OC_MAX][MAX_RUNS];
	bool one_ok[OC_MAX];
	unsigned int hit_retries; /* warm hit passes rerun (hit_pass) */
	double rep[RC_MAX][MAX_RUNS];
	bool rep_ok[RC_MAX];
	double call[CC_MAX][MAX_RUNS];
	bool call_ok[CC_MAX];
	double warm[WC_MAX][MAX_RUNS];
	bool warm_ok[WC_MAX];
};

/* Run @target through the harness (or directly when @direct) @opt_repeat
 * times on @frame; check that @reason (if >= 0) was counted each time. */
static double rep_one(struct bench_progs *b, struct xlb_dp *dp, int target, bool tc, bool direct,
		      const __u8 *frame, int ifindex, int reason, int want_ret, bool *ok)
{
	__u32 k = 0, ret = 0, dur = 0;
	__u64 before = reason >= 0 ? reason_sum(dp, reason) : 0;
	int err;

	if (!direct) {
		__u8 val[FRAME];

		memcpy(val, frame, FRAME);
		if (bpf_map_update_elem(b->frame_map, &k, val, BPF_ANY) ||
		    bpf_map_update_elem(tc ? b->tc_target : b->xdp_target, &k, &target, BPF_ANY)) {
			fprintf(stderr, "pktbench: harness setup: %s\n", strerror(errno));
			*ok = false;
			return 0;
		}
		target = tc ? b->tc_restore : b->xdp_restore;
	}
	err = tc ? run_tc(target, frame, FRAME, opt_repeat, &ret, &dur) :
		   run_xdp(target, frame, FRAME, ifindex, opt_repeat, &ret, &dur);
	if (err) {
		fprintf(stderr, "pktbench: test_run: %s\n", strerror(-err));
		*ok = false;
		return 0;
	}
	if ((int)ret != want_ret)
		*ok = false;
	if (reason >= 0 && reason_sum(dp, reason) - before != opt_repeat)
		*ok = false;
	return dur;
}

static __u32 flow_saddr(__u32 i)
{
	return htonl(0xc6120000u + (i >> 14));
} /* 198.18/15 */
static __u16 flow_sport(__u32 i)
{
	return 1024 + (i & 16383);
}

/* Mean per-call duration over all flows. */
static double call_pass(struct xlb_dp *dp, int fd, unsigned int nsvc, __u8 flags, int reason,
			int want_ret, bool *ok)
{
	__u8 buf[PKT_MAX];
	__u64 sum = 0, before = reason >= 0 ? reason_sum(dp, reason) : 0;
	unsigned int bad = 0;

	for (__u32 i = 0; i < opt_flows; i++) {
		__u32 ret, dur;
		size_t len = frame_tcp(buf, flow_saddr(i), flow_sport(i), vip_addr(i % nsvc), 80,
				       flags, false);

		if (run_xdp(fd, buf, len, if_xn0, 1, &ret, &dur)) {
			*ok = false;
			return 0;
		}
		if ((int)ret != want_ret)
			bad++;
		sum += dur;
	}
	if (bad || (reason >= 0 && reason_sum(dp, reason) - before != opt_flows)) {
		*ok = false;
		fprintf(stderr, "pktbench: %u calls with an unexpected verdict\n", bad);
	}
	return (double)sum / opt_flows;
}

/* call_pass for IPv6: flow i from [fd01::<i>]:<port> to [VIP6 i % nsvc]:80,
 * 74-byte frames (the IPv4 rows' are 64: IPv6's header is 20 bytes more). */
static double call_pass6(struct xlb_dp *dp, int fd, unsigned int nsvc, __u8 flags, int reason,
			 int want_ret, bool *ok)
{
	__u8 buf[PKT_MAX];
	__u64 sum = 0, before = reason >= 0 ? reason_sum(dp, reason) : 0;
	unsigned int bad = 0;

	for (__u32 i = 0; i < opt_flows; i++) {
		struct pkt_spec s = { .v6 = true,
				      .sport = flow_sport(i),
				      .dport = 80,
				      .proto = IPPROTO_TCP,
				      .tcp_flags = flags };
		__u32 ret, dur;
		size_t len;

		ip6("fd01::", s.saddr6);
		s.saddr6[12] = i >> 24;
		s.saddr6[13] = i >> 16;
		s.saddr6[14] = (i >> 14) >> 8;
		s.saddr6[15] = i >> 14;
		vip6_addr(i % nsvc, s.daddr6);
		memcpy(s.smac, pkt_mac_client, 6);
		memcpy(s.dmac, mac_xn0, 6);
		len = pkt_build(&s, buf);
		if (run_xdp(fd, buf, len, if_xn0, 1, &ret, &dur)) {
			*ok = false;
			return 0;
		}
		if ((int)ret != want_ret)
			bad++;
		sum += dur;
	}
	if (bad || (reason >= 0 && reason_sum(dp, reason) - before != opt_flows)) {
		*ok = false;
		fprintf(stderr, "pktbench: %u IPv6 calls with an unexpected verdict\n", bad);
	}
	return (double)sum / opt_flows;
}

/* One test_run of opt_flows repeats through the xdp_flows harness: run i
 * is flow i to VIP first + i % nsvc (see harness.bpf.c), code warm. */
static double warm_pass_to(struct bench_progs *b, struct xlb_dp *dp, int target, unsigned int first,
			   unsigned int nsvc, __u8 flags, int reason, int want_ret, bool *ok)
{
	struct {
		__u32 next, nflows, nsvc, first;
	} cfg = { 0, opt_flows, nsvc, first };
	__u8 buf[PKT_MAX];
	__u64 before = reason >= 0 ? reason_sum(dp, reason) : 0;
	__u32 k = 0, ret, dur;

	frame_tcp(buf, flow_saddr(0), flow_sport(0), vip_addr(0), 80, flags, false);
	if (bpf_map_update_elem(b->frame_map, &k, buf, BPF_ANY) ||
	    bpf_map_update_elem(b->flows_map, &k, &cfg, BPF_ANY) ||
	    bpf_map_update_elem(b->xdp_target, &k, &target, BPF_ANY) ||
	    run_xdp(b->xdp_flows, buf, FRAME, if_xn0, opt_flows, &ret, &dur)) {
		fprintf(stderr, "pktbench: flows harness: %s\n", strerror(errno));
		*ok = false;
		return 0;
	}
	if ((int)ret != want_ret || (reason >= 0 && reason_sum(dp, reason) - before != opt_flows))
		*ok = false;
	return dur;
}

static double warm_pass(struct bench_progs *b, struct xlb_dp *dp, int target, unsigned int nsvc,
			__u8 flags, int reason, int want_ret, bool *ok)
{
	return warm_pass_to(b, dp, target, 0, nsvc, flags, reason, want_ret, ok);
}

/*
 * The deadlines of every HIT_SAMPLE-th flow's forward entry, into @exp; how
 * many differ from @old (when given) or are missing. A hit rewrites the deadline, and
 * looks the peer up, only when a second or more has passed since the last
 * rewrite (ct_touch): on a loaded machine the first-ACK pass and the hit
 * pass can be that far apart for some flows, and the pass then measures
 * that write path, not the plain hit.
 */
#define HIT_SAMPLE 64
static unsigned int ct_deadlines(struct xlb_dp *dp, unsigned int first, unsigned int nsvc,
				 __u64 *exp, const __u64 *old)
{
	int fd = xlb_dp_map_fd(dp, XLB_DPM_CT);
	unsigned int changed = 0, n = 0;

	for (__u32 i = 0; i < opt_flows; i += HIT_SAMPLE, n++) {
		struct xlb_ct_key k = { .saddr.v4 = flow_saddr(i),
					.daddr.v4 = vip_addr(first + i % nsvc),
					.sport = htons(flow_sport(i)),
					.dport = htons(80),
					.proto = IPPROTO_TCP,
					.family = XLB_AF_INET };
		struct xlb_ct v = { 0 };

		/* A missing entry counts as changed: never a silent pass. */
		if (bpf_map_lookup_elem(fd, &k, &v) || (old && old[n] != v.expires_ns))
			changed++;
		exp[n] = v.expires_ns;
	}
	return changed;
}

/* The warm hit pass right after the first-ACK pass; run again (at once,
 * well within the second) while sampled flows show that it took
 * ct_touch's write path; not ok when it still does after two reruns. */
static double hit_pass(struct bench_progs *b, struct xlb_dp *dp, int target, unsigned int first,
		       unsigned int nsvc, bool *ok, unsigned int *retries)
{
	static __u64 e0[200000 / HIT_SAMPLE + 2], e1[200000 / HIT_SAMPLE + 2];
	double d = 0;

	if (opt_flows > 200000) {
		fprintf(stderr, "pktbench: hit_pass: at most 200000 flows\n");
		*ok = false;
		return 0;
	}
	for (int t = 0; t < 3; t++) {
		unsigned int w;

		ct_deadlines(dp, first, nsvc, e0, NULL);
		d = warm_pass_to(b, dp, target, first, nsvc, TH_ACK, XLB_R_FWD_LOCAL, XDP_PASS, ok);
		w = ct_deadlines(dp, first, nsvc, e1, e0);
		if (!w)
			return d;
		fprintf(stderr,
			"pktbench: warm hit pass rewrote (or lost) %u of %u sampled deadlines%s\n",
			w, (opt_flows + HIT_SAMPLE - 1) / HIT_SAMPLE, t < 2 ? ", again" : "");
		if (t < 2)
			(*retries)++;
	}
	*ok = false;
	return d;
}

static int bench_scale(struct bench_progs *b, unsigned int nsvc, struct scale_res *r)
{
	__u8 f_hit[PKT_MAX], f_rem[PKT_MAX], f_reply[PKT_MAX], f_pass[PKT_MAX], f_tcreply[PKT_MAX];
	double t0 = xlb_mono_ns() / 1e9;
	struct xlb_dp *dp = dp_setup(nsvc);
	int xlb, tc;

	if (!dp)
		return -1;
	r->nsvc = nsvc;
	r->setup_s = xlb_mono_ns() / 1e9 - t0;
	xlb = xlb_dp_xdp_fd(dp);
	tc = xlb_dp_tc_fd(dp);
	for (int c = 0; c < RC_MAX; c++)
		r->rep_ok[c] = true;
	for (int c = 0; c < CC_MAX; c++)
		r->call_ok[c] = true;
	for (int c = 0; c < WC_MAX; c++)
		r->warm_ok[c] = true;
	for (int c = 0; c < OC_MAX; c++)
		r->one_ok[c] = true;
	fprintf(stderr, "pktbench: %u services ready in %.1f s\n", nsvc, r->setup_s);

	frame_tcp(f_hit, A_CLIENT, 40000, A_NODE, 30080, TH_ACK, false);
	frame_tcp(f_rem, A_CLIENT, 40001, A_NODE, 30081, TH_ACK, false);
	frame_tcp(f_pass, A_CLIENT, 40002, A_NODE, 22, TH_ACK, false);
	frame_tcp(f_tcreply, A_LOCAL, 8080, A_CLIENT, 40000, TH_ACK, false);

	for (unsigned int run = 0; run < opt_runs; run++) {
		__u32 ret, dur;
		struct xlb_ct_key k = { .saddr.v4 = A_CLIENT,
					.daddr.v4 = A_NODE,
					.sport = htons(40001),
					.dport = htons(30081),
					.proto = IPPROTO_TCP,
					.family = XLB_AF_INET };
		struct xlb_ct fwd;

		/* Establish the two flows the repeat cases hit. */
		run_xdp(xlb, f_hit, FRAME, if_xn0, 1, &ret, &dur);
		run_xdp(xlb, f_rem, FRAME, if_xn0, 1, &ret, &dur);
		if (bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_CT), &k, &fwd)) {
			fprintf(stderr, "pktbench: remote flow not in conntrack\n");
			xlb_dp_close(dp);
			return -1;
		}
		frame_tcp(f_reply, A_REMOTE, 8080, A_NODE1, ntohs(fwd.nat_sport), TH_ACK, true);

		r->rep[RC_NOOP_DIRECT][run] = rep_one(b, dp, b->noop, false, true, f_hit, if_xn0,
						      -1, XDP_PASS, &r->rep_ok[RC_NOOP_DIRECT]);
		r->rep[RC_SWAP_DIRECT][run] = rep_one(b, dp, b->swap, false, true, f_hit, if_xn0,
						      -1, XDP_TX, &r->rep_ok[RC_SWAP_DIRECT]);
		r->rep[RC_H_NOOP][run] = rep_one(b, dp, b->noop, false, false, f_hit, if_xn0, -1,
						 XDP_PASS, &r->rep_ok[RC_H_NOOP]);
		r->rep[RC_H_SWAP][run] = rep_one(b, dp, b->swap, false, false, f_hit, if_xn0, -1,
						 XDP_TX, &r->rep_ok[RC_H_SWAP]);
		r->rep[RC_HIT_LOCAL][run] = rep_one(b, dp, xlb, false, false, f_hit, if_xn0,
						    XLB_R_FWD_LOCAL, XDP_PASS,
						    &r->rep_ok[RC_HIT_LOCAL]);
		/* The same hit while `xlbctl monitor` listens (its default:
		 * drops and rejects), interleaved with the plain one so both
		 * see the same machine. */
		{
			struct xlb_monitor_cfg on = { .rate = 1000, .burst = 1000 }, off = { 0 };

			for (int rr = 0; rr < XLB_R_MAX; rr++)
				if (!strncmp(xlb_reason_names[rr], "drop_", 5) ||
				    !strncmp(xlb_reason_names[rr], "reject_", 7))
					on.reason_mask |= 1ull << rr;
			xlb_dp_monitor_set(dp, &on);
			r->rep[RC_HIT_LOCAL_MON][run] = rep_one(b, dp, xlb, false, false, f_hit,
								if_xn0, XLB_R_FWD_LOCAL, XDP_PASS,
								&r->rep_ok[RC_HIT_LOCAL_MON]);
			xlb_dp_monitor_set(dp, &off);
		}
		r->rep[RC_HIT_REMOTE][run] = rep_one(b, dp, xlb, false, false, f_rem, if_xn0,
						     XLB_R_FWD_REMOTE, XDP_REDIRECT,
						     &r->rep_ok[RC_HIT_REMOTE]);
		r->rep[RC_REPLY_SNAT][run] = rep_one(b, dp, xlb, false, false, f_reply, if_xn1,
						     XLB_R_REPLY_SNAT, XDP_REDIRECT,
						     &r->rep_ok[RC_REPLY_SNAT]);
		r->rep[RC_PASS][run] = rep_one(b, dp, xlb, false, false, f_pass, if_xn0,
					       XLB_R_PASS_NOT_FRONTEND, XDP_PASS,
					       &r->rep_ok[RC_PASS]);
		r->rep[RC_TC_NOOP_DIRECT][run] = rep_one(b, dp, b->tc_noop, true, true, f_tcreply,
							 0, -1, TC_ACT_OK,
							 &r->rep_ok[RC_TC_NOOP_DIRECT]);
		r->rep[RC_H_TC_NOOP][run] = rep_one(b, dp, b->tc_noop, true, false, f_tcreply, 0,
						    -1, TC_ACT_OK, &r->rep_ok[RC_H_TC_NOOP]);
		r->rep[RC_TC_REPLY_LOCAL][run] = rep_one(b, dp, tc, true, false, f_tcreply, 0,
							 XLB_R_REPLY_LOCAL, TC_ACT_OK,
							 &r->rep_ok[RC_TC_REPLY_LOCAL]);
		r->rep[RC_TC_PASS][run] = rep_one(b, dp, tc, true, false, f_hit, 0, XLB_R_TC_PASS,
						  TC_ACT_OK, &r->rep_ok[RC_TC_PASS]);

		/* Per-call: noop floor, new flows, first ACK, established hits. */
		r->call[CC_NOOP][run] = call_pass(dp, b->noop, nsvc, TH_SYN, -1, XDP_PASS,
						  &r->call_ok[CC_NOOP]);
		r->call[CC_NEW][run] = call_pass(dp, xlb, nsvc, TH_SYN, XLB_R_FWD_LOCAL, XDP_PASS,
						 &r->call_ok[CC_NEW]);
		r->call[CC_FIRST_ACK][run] = call_pass(dp, xlb, nsvc, TH_ACK, XLB_R_FWD_LOCAL,
						       XDP_PASS, &r->call_ok[CC_FIRST_ACK]);
		r->call[CC_HIT][run] = call_pass(dp, xlb, nsvc, TH_ACK, XLB_R_FWD_LOCAL, XDP_PASS,
						 &r->call_ok[CC_HIT]);
		/* IPv6 next to it: new flows, the first ACK (not a row), hits. */
		{
			bool ack_ok = true;

			r->call[CC_NEW6][run] = call_pass6(dp, xlb, nsvc, TH_SYN, XLB_R_FWD_LOCAL,
							   XDP_PASS, &r->call_ok[CC_NEW6]);
			call_pass6(dp, xlb, nsvc, TH_ACK, XLB_R_FWD_LOCAL, XDP_PASS, &ack_ok);
			r->call[CC_HIT6][run] = call_pass6(dp, xlb, nsvc, TH_ACK, XLB_R_FWD_LOCAL,
							   XDP_PASS, &r->call_ok[CC_HIT6]);
			r->call_ok[CC_HIT6] = r->call_ok[CC_HIT6] && ack_ok;
		}
		ct_clear(dp);
		/* The same with warm code: one test_run over all flows. */
		r->warm[WC_NOOP][run] = warm_pass(b, dp, b->noop, nsvc, TH_SYN, -1, XDP_PASS,
						  &r->warm_ok[WC_NOOP]);
		r->warm[WC_NEW][run] = warm_pass(b, dp, xlb, nsvc, TH_SYN, XLB_R_FWD_LOCAL,
						 XDP_PASS, &r->warm_ok[WC_NEW]);
		r->warm[WC_FIRST_ACK][run] = warm_pass(b, dp, xlb, nsvc, TH_ACK, XLB_R_FWD_LOCAL,
						       XDP_PASS, &r->warm_ok[WC_FIRST_ACK]);
		r->warm[WC_HIT][run] = hit_pass(b, dp, xlb, 0, nsvc, &r->warm_ok[WC_HIT],
						&r->hit_retries);
		ct_clear(dp);
		/* The same flows all to the middle Service (bench/fwd.sh's
		 * target) while the other nsvc - 1 exist. */
		{
			bool ack_ok = true;

			r->one[OC_NEW][run] = warm_pass_to(b, dp, xlb, nsvc / 2, 1, TH_SYN,
							   XLB_R_FWD_LOCAL, XDP_PASS,
							   &r->one_ok[OC_NEW]);
			warm_pass_to(b, dp, xlb, nsvc / 2, 1, TH_ACK, XLB_R_FWD_LOCAL, XDP_PASS,
				     &ack_ok);
			r->one[OC_HIT][run] = hit_pass(b, dp, xlb, nsvc / 2, 1, &r->one_ok[OC_HIT],
						       &r->hit_retries);
			r->one_ok[OC_HIT] = r->one_ok[OC_HIT] && ack_ok;
		}
		ct_clear(dp);
		fprintf(stderr,
			"pktbench: %u services run %u: warm flows: harness noop %.0f "
			"new %.0f hit %.0f ns; to one Service: new %.0f hit %.0f ns\n",
			nsvc, run + 1, r->warm[WC_NOOP][run], r->warm[WC_NEW][run],
			r->warm[WC_HIT][run], r->one[OC_NEW][run], r->one[OC_HIT][run]);
		fprintf(stderr,
			"pktbench: %u services run %u: hit %.1f (harness noop %.1f) "
			"ns; per call: noop %.1f new %.1f hit %.1f ns; IPv6 new %.1f hit %.1f ns\n",
			nsvc, run + 1, r->rep[RC_HIT_LOCAL][run], r->rep[RC_H_NOOP][run],
			r->call[CC_NOOP][run], r->call[CC_NEW][run], r->call[CC_HIT][run],
			r->call[CC_NEW6][run], r->call[CC_HIT6][run]);
	}
	xlb_dp_close(dp);
	return 0;
}

/* The conntrack levers: the flows cases under each LRU flavour. */
struct lever_res {
	const char *name;
	int ct_lru;
	double call[CC_MAX][MAX_RUNS];
	bool call_ok[CC_MAX];
	double warm[WC_MAX][MAX_RUNS];
	bool warm_ok[WC_MAX];
};

static int bench_levers(struct bench_progs *b, struct lever_res *lv, int n)
{
	struct xlb_dp *dp[4] = { 0 };
	int err = 0;

	for (int i = 0; i < n; i++) {
		opt_ct_lru = lv[i].ct_lru;
		dp[i] = dp_setup(1);
		if (!dp[i])
			err = -1;
		for (int c = 0; c < CC_MAX; c++)
			lv[i].call_ok[c] = true;
		for (int c = 0; c < WC_MAX; c++)
			lv[i].warm_ok[c] = true;
	}
	opt_ct_lru = 0;
	for (unsigned int run = 0; !err && run < opt_runs; run++) {
		for (int i = 0; i < n; i++) {
			struct lever_res *l = &lv[i];
			int xlb = xlb_dp_xdp_fd(dp[i]);

			l->call[CC_NOOP][run] = call_pass(dp[i], b->noop, 1, TH_SYN, -1, XDP_PASS,
							  &l->call_ok[CC_NOOP]);
			l->call[CC_NEW][run] = call_pass(dp[i], xlb, 1, TH_SYN, XLB_R_FWD_LOCAL,
							 XDP_PASS, &l->call_ok[CC_NEW]);
			l->call[CC_FIRST_ACK][run] = call_pass(dp[i], xlb, 1, TH_ACK,
							       XLB_R_FWD_LOCAL, XDP_PASS,
							       &l->call_ok[CC_FIRST_ACK]);
			l->call[CC_HIT][run] = call_pass(dp[i], xlb, 1, TH_ACK, XLB_R_FWD_LOCAL,
							 XDP_PASS, &l->call_ok[CC_HIT]);
			ct_clear(dp[i]);
			l->warm[WC_NOOP][run] = warm_pass(b, dp[i], b->noop, 1, TH_SYN, -1,
							  XDP_PASS, &l->warm_ok[WC_NOOP]);
			l->warm[WC_NEW][run] = warm_pass(b, dp[i], xlb, 1, TH_SYN, XLB_R_FWD_LOCAL,
							 XDP_PASS, &l->warm_ok[WC_NEW]);
			l->warm[WC_FIRST_ACK][run] = warm_pass(b, dp[i], xlb, 1, TH_ACK,
							       XLB_R_FWD_LOCAL, XDP_PASS,
							       &l->warm_ok[WC_FIRST_ACK]);
			l->warm[WC_HIT][run] = warm_pass(b, dp[i], xlb, 1, TH_ACK, XLB_R_FWD_LOCAL,
							 XDP_PASS, &l->warm_ok[WC_HIT]);
			ct_clear(dp[i]);
			fprintf(stderr,
				"pktbench: lever %s run %u: warm new %.0f hit %.0f ns; "
				"per call new %.0f hit %.0f ns\n",
				l->name, run + 1, l->warm[WC_NEW][run], l->warm[WC_HIT][run],
				l->call[CC_NEW][run], l->call[CC_HIT][run]);
		}
	}
	for (int i = 0; i < n; i++)
		xlb_dp_close(dp[i]);
	return err;
}

/*
 * Issue 12's key-layout and entries-per-flow levers (ctlever.bpf.c): the
 * conntrack part of a hit and of a new flow, with the product's 40-byte
 * key / 56-byte value and with a 16-byte IPv4 key / 32-byte value, two or
 * one entries per new flow, and the bare lookup of a cold vs a hot key,
 * all through the xdp_flows harness over the same frames, interleaved in
 * each run with the product's own flows cases (1 service) so the ratios
 * are of one machine state.
 */
enum ctl_case {
	CL_NOOP,
	CL_PROD_NEW,
	CL_PROD_HIT,
	CL_WIDE_NEW2,
	CL_WIDE_HIT2,
	CL_WIDE_NEW1,
	CL_WIDE_HIT1,
	CL_WIDE_COLD,
	CL_WIDE_HOT,
	CL_V4_NEW2,
	CL_V4_HIT2,
	CL_V4_NEW1,
	CL_V4_HIT1,
	CL_V4_COLD,
	CL_V4_HOT,
	CL_V4S_NEW1,
	CL_V4S_COLD,
	CL_MAX,
};

static const char *const ctl_names[CL_MAX] = {
	[CL_NOOP] = "harness_noop",
	[CL_PROD_NEW] = "product_new_flow",
	[CL_PROD_HIT] = "product_hit",
	[CL_WIDE_NEW2] = "wide_new2",
	[CL_WIDE_HIT2] = "wide_hit2",
	[CL_WIDE_NEW1] = "wide_new1",
	[CL_WIDE_HIT1] = "wide_hit1",
	[CL_WIDE_COLD] = "wide_lookup_cold",
	[CL_WIDE_HOT] = "wide_lookup_hot",
	[CL_V4_NEW2] = "v4_new2",
	[CL_V4_HIT2] = "v4_hit2",
	[CL_V4_NEW1] = "v4_new1",
	[CL_V4_HIT1] = "v4_hit1",
	[CL_V4_COLD] = "v4_lookup_cold",
	[CL_V4_HOT] = "v4_lookup_hot",
	[CL_V4S_NEW1] = "v4_small_new1",
	[CL_V4S_COLD] = "v4_small_lookup_cold",
};

/* One step of a run: the same case for the wide and the v4 layout (and
 * the small v4 table), then maybe empty the maps. */
static const struct ctl_step {
	int c[3];
	const char *prog[3];
	bool hot, clear;
	__u8 flags;
} ctl_steps[] = {
	{ { CL_WIDE_NEW2, CL_V4_NEW2 }, { "wide_new2", "v4_new2" }, false, false, TH_SYN },
	{ { CL_WIDE_HIT2, CL_V4_HIT2 }, { "wide_hit", "v4_hit" }, false, true, TH_ACK },
	{ { CL_WIDE_NEW1, CL_V4_NEW1, CL_V4S_NEW1 },
	  { "wide_new1", "v4_new1", "v4s_new1" },
	  false,
	  false,
	  TH_SYN },
	{ { CL_WIDE_HIT1, CL_V4_HIT1 }, { "wide_hit", "v4_hit" }, false, false, TH_ACK },
	{ { CL_WIDE_COLD, CL_V4_COLD, CL_V4S_COLD },
	  { "wide_lookup", "v4_lookup", "v4s_lookup" },
	  false,
	  false,
	  TH_ACK },
	{ { CL_WIDE_HOT, CL_V4_HOT }, { "wide_lookup", "v4_lookup" }, true, true, TH_ACK },
};

struct ctl_res {
	double v[CL_MAX][MAX_RUNS];
	bool ok[CL_MAX];
	unsigned long long memlock_prod, memlock_wide, memlock_v4, memlock_v4s;
	unsigned int max_v4s;
};

/* The kernel's memory figure for a map (fdinfo memlock: for a
 * preallocated hash, its buckets and all its elements). */
static unsigned long long map_memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Empty a hash map, batched. */
static void map_clear(int fd, size_t ksz, size_t vsz)
{
	enum { B = 8192 };
	void *keys = malloc(B * ksz), *vals = malloc(B * vsz);
	__u64 in = 0, out = 0;
	bool first = true;

	while (keys && vals) {
		__u32 count = B;

		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		if (bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in, &out, keys, vals,
						    &count, &bo))
			break; /* ENOENT: done */
		first = false;
		in = out;
	}
	free(keys);
	free(vals);
}

/* One test_run of opt_flows repeats of @target through xdp_flows over
 * @nflows flows (1: one hot flow); every run must count itself in ct_ok. */
static double ctl_pass(struct bench_progs *b, int target, int ok_fd, unsigned int nflows,
		       __u8 flags, bool *ok)
{
	struct {
		__u32 next, nflows, nsvc, pad;
	} cfg = { 0, nflows, 1, 0 };
	__u64 n0 = 0, n1 = 0;
	__u8 buf[PKT_MAX];
	__u32 k = 0, ret, dur;

	frame_tcp(buf, flow_saddr(0), flow_sport(0), vip_addr(0), 80, flags, false);
	bpf_map_lookup_elem(ok_fd, &k, &n0);
	if (bpf_map_update_elem(b->frame_map, &k, buf, BPF_ANY) ||
	    bpf_map_update_elem(b->flows_map, &k, &cfg, BPF_ANY) ||
	    bpf_map_update_elem(b->xdp_target, &k, &target, BPF_ANY) ||
	    run_xdp(b->xdp_flows, buf, FRAME, if_xn0, opt_flows, &ret, &dur)) {
		fprintf(stderr, "pktbench: ct lever harness: %s\n", strerror(errno));
		*ok = false;
		return 0;
	}
	bpf_map_lookup_elem(ok_fd, &k, &n1);
	if (ret != XDP_PASS || n1 - n0 != opt_flows) {
		fprintf(stderr, "pktbench: ct lever: %llu of %u runs took the path (last %u)\n",
			(unsigned long long)(n1 - n0), opt_flows, ret);
		*ok = false;
	}
	return dur;
}

static int bench_ctlevers(struct bench_progs *b, struct ctl_res *r)
{
	struct bpf_object *o = load_obj_ct("ctlever.bpf.o", opt_max_ct);
	struct xlb_dp *dp = dp_setup(1);
	int wide = -1, v4 = -1, v4s = -1, ok_fd = -1, xlb;
	int err = -1;

	if (!o || !dp)
		goto out;
	wide = map_fd(o, "ct_wide");
	v4 = map_fd(o, "ct_v4");
	v4s = map_fd(o, "ct_v4s");
	r->max_v4s = bpf_map__max_entries(bpf_object__find_map_by_name(o, "ct_v4s"));
	ok_fd = map_fd(o, "ct_ok");
	xlb = xlb_dp_xdp_fd(dp);
	r->memlock_prod = map_memlock(xlb_dp_map_fd(dp, XLB_DPM_CT));
	r->memlock_wide = map_memlock(wide);
	r->memlock_v4 = map_memlock(v4);
	r->memlock_v4s = map_memlock(v4s);
	for (int c = 0; c < CL_MAX; c++)
		r->ok[c] = true;
	/* Unrecorded: fill and empty every map once, so every run starts
	 * where the later ones do. A fresh map hands out its elements in
	 * address order, so flows made and then hit in order walk memory
	 * sequentially; after a delete the free list is in hash order, as
	 * on a node whose flows come and go. */
	{
		bool dummy = true;

		warm_pass(b, dp, xlb, 1, TH_SYN, XLB_R_FWD_LOCAL, XDP_PASS, &dummy);
		ct_clear(dp);
		ctl_pass(b, prog_fd(o, "wide_new2"), ok_fd, opt_flows, TH_SYN, &dummy);
		ctl_pass(b, prog_fd(o, "v4_new2"), ok_fd, opt_flows, TH_SYN, &dummy);
		if (r->max_v4s >= opt_flows)
			ctl_pass(b, prog_fd(o, "v4s_new1"), ok_fd, opt_flows, TH_SYN, &dummy);
		map_clear(wide, sizeof(struct xlb_ct_key), sizeof(struct xlb_ct));
		map_clear(v4, 16, 32);
		map_clear(v4s, 16, 32);
	}
	for (unsigned int run = 0; run < opt_runs; run++) {
		bool ack_ok = true;

		r->v[CL_NOOP][run] = warm_pass(b, dp, b->noop, 1, TH_SYN, -1, XDP_PASS,
					       &r->ok[CL_NOOP]);
		r->v[CL_PROD_NEW][run] = warm_pass(b, dp, xlb, 1, TH_SYN, XLB_R_FWD_LOCAL, XDP_PASS,
						   &r->ok[CL_PROD_NEW]);
		warm_pass(b, dp, xlb, 1, TH_ACK, XLB_R_FWD_LOCAL, XDP_PASS, &ack_ok);
		r->v[CL_PROD_HIT][run] = warm_pass(b, dp, xlb, 1, TH_ACK, XLB_R_FWD_LOCAL, XDP_PASS,
						   &r->ok[CL_PROD_HIT]);
		r->ok[CL_PROD_HIT] = r->ok[CL_PROD_HIT] && ack_ok;
		ct_clear(dp);
		/* Both layouts step by step, the order swapped every run: the
		 * two figures of a pair are taken seconds apart. */
		for (size_t i = 0; i < sizeof(ctl_steps) / sizeof(ctl_steps[0]); i++) {
			const struct ctl_step *st = &ctl_steps[i];

			for (int j = 0; j < 3; j++) {
				int l = j == 2 ? 2 : (j ^ (run & 1));

				if (!st->prog[l])
					continue;
				if (l == 2 && r->max_v4s < opt_flows) {
					/* It must hold every flow: else LRU evictions. */
					r->ok[st->c[l]] = false;
					continue;
				}
				r->v[st->c[l]][run] = ctl_pass(b, prog_fd(o, st->prog[l]), ok_fd,
							       st->hot ? 1 : opt_flows, st->flags,
							       &r->ok[st->c[l]]);
			}
			if (st->clear) {
				map_clear(wide, sizeof(struct xlb_ct_key), sizeof(struct xlb_ct));
				map_clear(v4, 16, 32);
				map_clear(v4s, 16, 32);
			}
		}
		fprintf(stderr,
			"pktbench: ct levers run %u: product new %.0f hit %.0f; "
			"wide new2 %.0f new1 %.0f hit %.0f cold %.0f hot %.0f; "
			"v4 new2 %.0f new1 %.0f hit %.0f cold %.0f hot %.0f; "
			"v4 256k-entry table new1 %.0f cold %.0f ns\n",
			run + 1, r->v[CL_PROD_NEW][run], r->v[CL_PROD_HIT][run],
			r->v[CL_WIDE_NEW2][run], r->v[CL_WIDE_NEW1][run], r->v[CL_WIDE_HIT2][run],
			r->v[CL_WIDE_COLD][run], r->v[CL_WIDE_HOT][run], r->v[CL_V4_NEW2][run],
			r->v[CL_V4_NEW1][run], r->v[CL_V4_HIT2][run], r->v[CL_V4_COLD][run],
			r->v[CL_V4_HOT][run], r->v[CL_V4S_NEW1][run], r->v[CL_V4S_COLD][run]);
	}
	err = 0;
out:
	xlb_dp_close(dp);
	bpf_object__close(o);
	return err;
}

static void ctl_json(const struct ctl_res *r)
{
	fprintf(jout,
		"\"ctlever\": {\"max_entries\": %u, \"layouts\": {"
		"\"product\": {\"key_bytes\": %zu, \"value_bytes\": %zu, \"memlock\": %llu}, "
		"\"wide\": {\"key_bytes\": %zu, \"value_bytes\": %zu, \"memlock\": %llu}, "
		"\"v4\": {\"key_bytes\": 16, \"value_bytes\": 32, \"memlock\": %llu}, "
		"\"v4_small\": {\"key_bytes\": 16, \"value_bytes\": 32, \"memlock\": %llu, "
		"\"max_entries\": %u}}, \"flows\": {",
		opt_max_ct, sizeof(struct xlb_ct_key), sizeof(struct xlb_ct), r->memlock_prod,
		sizeof(struct xlb_ct_key), sizeof(struct xlb_ct), r->memlock_wide, r->memlock_v4,
		r->memlock_v4s, r->max_v4s);
	for (int c = 0; c < CL_MAX; c++) {
		struct stat3 st = summarize(r->v[c], opt_runs, r->ok[c]);

		jstat(ctl_names[c], &st, c + 1 == CL_MAX);
	}
	/* Per run, for same-run ratios of pairs. */
	fprintf(jout, "}, \"runs\": {");
	for (int c = 0; c < CL_MAX; c++) {
		fprintf(jout, "\"%s\": [", ctl_names[c]);
		for (unsigned int i = 0; i < opt_runs; i++)
			fprintf(jout, "%.1f%s", r->v[c][i], i + 1 < opt_runs ? ", " : "");
		fprintf(jout, "]%s", c + 1 < CL_MAX ? ", " : "");
	}
	fprintf(jout, "}}, ");
}

static void verified_insns(struct xlb_dp *dp)
{
	const struct {
		const char *name;
		int fd;
	} p[] = {
		{ "xlb_xdp", xlb_dp_xdp_fd(dp) },
		{ "xlb_tc_egress", xlb_dp_tc_fd(dp) },
		{ "xlb_tc_ingress", xlb_dp_tc_ingress_fd(dp) },
	};

	fprintf(jout, "\"programs\": {");
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		bpf_obj_get_info_by_fd(p[i].fd, &info, &len);
		fprintf(jout,
			"\"%s\": {\"verified_insns\": %u, \"xlated_insns\": %u, "
			"\"jited_bytes\": %u}%s",
			p[i].name, info.verified_insns, info.xlated_prog_len / 8,
			info.jited_prog_len, i + 1 < sizeof(p) / sizeof(p[0]) ? ", " : "");
		fprintf(stderr, "pktbench: %s verified_insns %u\n", p[i].name, info.verified_insns);
	}
	fprintf(jout, "}, ");
}

static int setup_netns(void)
{
	struct pkt_node n;

	if (pkt_node_netns(&n))
		return -1;
	if_xn0 = n.if_xn0;
	if_xn1 = n.if_xn1;
	memcpy(mac_xn0, n.mac_xn0, 6);
	memcpy(mac_xn1, n.mac_xn1, 6);
	A_NODE = ip4("10.0.0.1");
	A_NODE1 = ip4("10.0.1.1");
	A_CLIENT = ip4("10.0.0.2");
	A_LOCAL = ip4("10.1.1.2");
	A_REMOTE = ip4("10.2.1.2");
	return 0;
}

int main(int argc, char **argv)
{
	static struct scale_res res[3];
	unsigned int scales[3] = { 1, 10000, 100000 };
	const char *out = NULL;
	struct bench_progs b = {};
	int c;

	while ((c = getopt(argc, argv, "qo:d:r:f:n:c:s:")) != -1) {
		switch (c) {
		case 'q':
			opt_quick = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'd':
			opt_dir = optarg;
			break;
		case 'r':
			opt_repeat = atoi(optarg);
			break;
		case 'f':
			opt_flows = atoi(optarg);
			break;
		case 'n':
			opt_runs = atoi(optarg);
			break;
		case 'c':
			opt_max_ct = atoi(optarg);
			break;
		case 's':
			opt_nscales = atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: pktbench [-q] [-o out.json] [-d objdir] "
				"[-r repeat] [-f flows] [-n runs]\n");
			return 2;
		}
	}
	if (opt_quick) {
		opt_runs = 3;
		opt_flows = 20000;
		opt_repeat = 200000;
	}
	if (opt_runs < 1 || opt_runs > MAX_RUNS || !opt_flows || !opt_repeat)
		return 2;
	xlb_log_hook_libs();
	xlb_log_set_level(XLB_LOG_WARN);
	if (setup_netns() || progs_load(&b))
		return 1;
	jout = out ? fopen(out, "w") : stdout;
	if (!jout)
		return 1;
	fprintf(jout, "{\"repeat\": %u, \"flows\": %u, \"runs\": %u, \"frame_bytes\": %d, ",
		opt_repeat, opt_flows, opt_runs, FRAME);
	for (int s = 0; s < (int)opt_nscales; s++) {
		if (bench_scale(&b, scales[s], &res[s]))
			return 1;
		if (s == 0) {
			struct xlb_dp *dp = dp_setup(1);

			if (!dp)
				return 1;
			verified_insns(dp);
			xlb_dp_close(dp);
		}
	}
	{
		struct lever_res lv[2] = { { .name = "common_lru", .ct_lru = XLB_CT_LRU_COMMON },
					   { .name = "percpu_lru", .ct_lru = XLB_CT_LRU_PERCPU } };

		if (bench_levers(&b, lv, 2))
			return 1;
		fprintf(jout, "\"levers\": {");
		for (int i = 0; i < 2; i++) {
			fprintf(jout, "\"%s\": {\"call\": {", lv[i].name);
			for (int c = 0; c < CC_MAX; c++) {
				struct stat3 st = summarize(lv[i].call[c], opt_runs,
							    lv[i].call_ok[c]);

				jstat(call_names[c], &st, c + 1 == CC_MAX);
			}
			fprintf(jout, "}, \"flows\": {");
			for (int c = 0; c < WC_MAX; c++) {
				struct stat3 st = summarize(lv[i].warm[c], opt_runs,
							    lv[i].warm_ok[c]);

				jstat(warm_names[c], &st, c + 1 == WC_MAX);
			}
			fprintf(jout, "}}%s", i + 1 < 2 ? ", " : "");
		}
		fprintf(jout, "}, ");
	}
	{
		static struct ctl_res cl;

		if (bench_ctlevers(&b, &cl))
			return 1;
		ctl_json(&cl);
	}
	fprintf(jout, "\"max_ct\": %u, \"scales\": [", opt_max_ct);
	for (int s = 0; s < (int)opt_nscales; s++) {
		struct scale_res *r = &res[s];

		fprintf(jout, "{\"services\": %u, \"setup_s\": %.2f, \"repeat\": {", r->nsvc,
			r->setup_s);
		for (int i = 0; i < RC_MAX; i++) {
			struct stat3 st = summarize(r->rep[i], opt_runs, r->rep_ok[i]);

			jstat(rep_names[i], &st, i + 1 == RC_MAX);
		}
		fprintf(jout, "}, \"call\": {");
		for (int i = 0; i < CC_MAX; i++) {
			struct stat3 st = summarize(r->call[i], opt_runs, r->call_ok[i]);

			jstat(call_names[i], &st, i + 1 == CC_MAX);
		}
		fprintf(jout, "}, \"flows\": {");
		for (int i = 0; i < WC_MAX; i++) {
			struct stat3 st = summarize(r->warm[i], opt_runs, r->warm_ok[i]);

			jstat(warm_names[i], &st, i + 1 == WC_MAX);
		}
		fprintf(jout, "}, \"flows_one_svc\": {");
		for (int i = 0; i < OC_MAX; i++) {
			struct stat3 st = summarize(r->one[i], opt_runs, r->one_ok[i]);

			jstat(one_names[i], &st, i + 1 == OC_MAX);
		}
		fprintf(jout, "}, \"hit_retries\": %u}%s", r->hit_retries,
			s + 1 < (int)opt_nscales ? ", " : "");
	}
	fprintf(jout, "]}\n");
	if (jout != stdout)
		fclose(jout);
	return 0;
}

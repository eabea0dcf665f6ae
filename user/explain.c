// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * explain: a private instance of the datapath on the live read-only maps,
 * see explain.h. Writes only maps it created itself; the live maps are
 * read (lookups) and handed to the instance, which the verifier holds to
 * the program's own accesses.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "xlb.skel.h"
#include "lib/maps.h"
#include "explain.h"

/* Private conntrack and affinity maps: a flow makes at most four entries. */
#define PRIV_ENTRIES 1024

static int fail(char *buf, size_t len, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *buf, size_t len, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf && len) {
		va_start(ap, fmt);
		n = vsnprintf(buf, len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < len)
			snprintf(buf + n, len - n, ": %s", strerror(-err));
	}
	return err;
}

/* The live program's .rodata (its load-time configuration): the map of
 * prog_xdp that is an ARRAY named "*.rodata" of our rodata's size. */
static int live_rodata(int prog_fd, void *buf, size_t size)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[64], n;
	int err = -ENOENT;

	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	n = info.nr_map_ids < 64 ? info.nr_map_ids : 64;
	for (__u32 i = 0; i < n && err; i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi), zero = 0;
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &ml) && mi.type == BPF_MAP_TYPE_ARRAY &&
		    strstr(mi.name, ".rodata") && mi.value_size == size)
			err = bpf_map_lookup_elem(fd, &zero, buf) ? -errno : 0;
		close(fd);
	}
	return err;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 csum_add(__u32 sum, const void *p, size_t len)
{
	const __u8 *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

/* TCP (20 bytes) or UDP (8 bytes, 8 of payload) at @l4; its length. */
static size_t build_l4(const struct xlb_explain_req *r, void *l4)
{
	size_t l4_len = r->tuple.proto == IPPROTO_TCP ? sizeof(struct tcphdr) :
							sizeof(struct udphdr) + 8;

	if (r->tuple.proto == IPPROTO_TCP) {
		struct tcphdr *t = l4;

		t->source = r->tuple.sport;
		t->dest = r->tuple.dport;
		t->seq = htonl(1);
		t->doff = 5;
		((__u8 *)t)[13] = r->tcp_flags;
		if (r->tcp_flags & 0x10)
			t->ack_seq = htonl(1);
		t->window = htons(64240);
	} else {
		struct udphdr *u = l4;

		u->source = r->tuple.sport;
		u->dest = r->tuple.dport;
		u->len = htons(l4_len);
		memcpy(u + 1, "explain!", 8);
	}
	return l4_len;
}

/* The L4 checksum over the pseudo header (@alen-byte addresses at @addrs,
 * source then destination) and the L4 header and payload. */
static void l4_csum(const struct xlb_explain_req *r, const void *addrs, size_t alen, void *l4,
		    size_t l4_len)
{
	__u32 sum = csum_add(0, addrs, 2 * alen);
	__u16 c;

	sum += r->tuple.proto + l4_len;
	sum = csum_add(sum, l4, l4_len);
	c = csum_fold(sum);
	if (r->tuple.proto == IPPROTO_TCP)
		((struct tcphdr *)l4)->check = htons(c);
	else
		((struct udphdr *)l4)->check = htons(c ? c : 0xffff); /* never 0 over IPv6 */
}

/* Ethernet + IPv4 or IPv6 + TCP or UDP, with every checksum right.
 * Returns the length. */
static size_t build_packet(const struct xlb_explain_req *r, unsigned char *pkt)
{
	struct ethhdr *eth = (void *)pkt;
	size_t l4_len;

	memset(pkt, 0, sizeof(*eth) + sizeof(struct ipv6hdr) + sizeof(struct udphdr) + 8 + 20);
	memcpy(eth->h_dest, "\x02\x00\x00\x00\x00\x01", ETH_ALEN);
	memcpy(eth->h_source, "\x02\x00\x00\x00\x00\x02", ETH_ALEN);
	if (r->tuple.family == XLB_AF_INET6) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IPV6);
		l4_len = build_l4(r, ip6 + 1);
		ip6->version = 6;
		ip6->payload_len = htons(l4_len);
		ip6->nexthdr = r->tuple.proto;
		ip6->hop_limit = 64;
		memcpy(&ip6->saddr, &r->tuple.saddr, 16);
		memcpy(&ip6->daddr, &r->tuple.daddr, 16);
		l4_csum(r, &ip6->saddr, 16, ip6 + 1, l4_len);
		return sizeof(*eth) + sizeof(*ip6) + l4_len;
	} else {
		struct iphdr *ip = (void *)(eth + 1);

		eth->h_proto = htons(ETH_P_IP);
		l4_len = build_l4(r, ip + 1);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(sizeof(*ip) + l4_len);
		ip->id = htons(1);
		ip->frag_off = htons(0x4000); /* DF */
		ip->ttl = 64;
		ip->protocol = r->tuple.proto;
		ip->saddr = r->tuple.saddr.v4;
		ip->daddr = r->tuple.daddr.v4;
		ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));
		l4_csum(r, &ip->saddr, 4, ip + 1, l4_len);
		return sizeof(*eth) + sizeof(*ip) + l4_len;
	}
}

/* Copy the live entry @key of @live_fd into @priv_fd; true if there was one. */
static bool seed(int live_fd, int priv_fd, const void *key, void *val)
{
	return !bpf_map_lookup_elem(live_fd, key, val) &&
	       !bpf_map_update_elem(priv_fd, key, val, BPF_ANY);
}

/* The service the packet addresses, as xlb_svc_lookup() finds it. */
static bool find_svc(const struct xlb_dp *live, const struct xlb_ct_key *t, struct xlb_svc *svc)
{
	struct xlb_svc_key k = { .addr = t->daddr,
				 .port = t->dport,
				 .proto = t->proto,
				 .family = t->family,
				 .scope = XLB_SCOPE_VIP };
	struct xlb_addr_key node = { .addr = t->daddr, .family = t->family };
	struct xlb_node_addr na;

	if (!bpf_map_lookup_elem(xlb_dp_map_fd(live, XLB_DPM_SVC), &k, svc))
		return true;
	if (bpf_map_lookup_elem(xlb_dp_map_fd(live, XLB_DPM_NODE_ADDRS), &node, &na))
		return false;
	memset(&k.addr, 0, sizeof(k.addr));
	k.scope = XLB_SCOPE_NODEPORT;
	return !bpf_map_lookup_elem(xlb_dp_map_fd(live, XLB_DPM_SVC), &k, svc);
}

static void seed_state(const struct xlb_dp *live, struct xlb_bpf *skel,
		       const struct xlb_explain_req *r, struct xlb_explain_res *res)
{
	int live_ct = xlb_dp_map_fd(live, XLB_DPM_CT), priv_ct = bpf_map__fd(skel->maps.xlb_ct);
	struct xlb_ct v;
	struct xlb_svc svc;

	res->ct_seeded = seed(live_ct, priv_ct, &r->tuple, &res->ct_live);
	if (res->ct_seeded) {
		/* The peer: its rewritten tuple swapped (ct_peer_key). */
		struct xlb_ct_key pk = {
			.saddr = res->ct_live.nat_daddr,
			.daddr = res->ct_live.nat_saddr,
			.sport = res->ct_live.nat_dport,
			.dport = res->ct_live.nat_sport,
			.proto = r->tuple.proto,
			.family = r->tuple.family,
		};

		res->peer_seeded = seed(live_ct, priv_ct, &pk, &v);
	}
	if (find_svc(live, &r->tuple, &svc) && svc.affinity_timeout) {
		struct xlb_affinity_key ak = { .client = r->tuple.saddr,
					       .svc_id = svc.svc_id,
					       .family = r->tuple.family };
		struct xlb_affinity av;

		res->affinity_seeded = seed(xlb_dp_map_fd(live, XLB_DPM_AFFINITY),
					    bpf_map__fd(skel->maps.xlb_affinity), &ak, &av);
	}
}

int xlb_explain_run(const struct xlb_explain_req *r, struct xlb_explain_res *res, char *errbuf,
		    size_t errlen)
{
	static const enum xlb_dp_map shared[] = {
		XLB_DPM_SVC,	    XLB_DPM_BACKENDS, XLB_DPM_MAGLEV,
		XLB_DPM_NODE_ADDRS, XLB_DPM_IFACES,   XLB_DPM_SRC_RANGES,
		XLB_DPM_SVC_META,   XLB_DPM_TX_DEVS,  XLB_DPM_PEER_DEVS,
	};
	unsigned char pkt[128], out[256];
	char path[PATH_MAX];
	struct xdp_md md = { .ingress_ifindex = r->ifindex };
	struct xlb_dp *live = NULL;
	struct xlb_bpf *skel = NULL;
	struct bpf_program *prog;
	struct bpf_map *m;
	size_t len;
	__u32 zero = 0;
	int prog_fd = -1, err;

	memset(res, 0, sizeof(*res));
	live = xlb_dp_open_pinned(r->pin_dir);
	if (!live)
		return fail(errbuf, errlen, -errno, "open pinned maps under %s", r->pin_dir);
	snprintf(path, sizeof(path), "%s/prog_xdp", r->pin_dir);
	prog_fd = bpf_obj_get(path);
	if (prog_fd < 0) {
		err = fail(errbuf, errlen, -errno, "open %s", path);
		goto out;
	}
	skel = xlb_bpf__open();
	if (!skel) {
		err = fail(errbuf, errlen, -errno, "open BPF object");
		goto out;
	}
	err = live_rodata(prog_fd, skel->rodata, bpf_map__value_size(skel->maps.rodata));
	if (err) {
		fail(errbuf, errlen, err,
		     "read the live program's configuration (%s; another xlb version?)", path);
		goto out;
	}
	skel->rodata->xlb_explain = true;
	/* Only XDP is explained, IPv6 (xlb_xdp6, a tail call away) too. */
	bpf_object__for_each_program (prog, skel->obj)
		if (prog != skel->progs.xlb_xdp && prog != skel->progs.xlb_xdp6)
			bpf_program__set_autoload(prog, false);
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		const char *name = xlb_dp_map_names[shared[i]];

		m = bpf_object__find_map_by_name(skel->obj, name);
		err = m ? bpf_map__reuse_fd(m, xlb_dp_map_fd(live, shared[i])) : -ENOENT;
		if (err) {
			fail(errbuf, errlen, err, "use live map %s", name);
			goto out;
		}
	}
	/* Private maps: small where they hold flows, as large as the live
	 * one where the program indexes by id. */
	bpf_map__set_max_entries(skel->maps.xlb_ct, PRIV_ENTRIES);
	bpf_map__set_max_entries(skel->maps.xlb_affinity, PRIV_ENTRIES);
	bpf_map__set_max_entries(skel->maps.xlb_events,
				 4096 > getpagesize() ? 4096 : getpagesize());
	{
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi);

		if (!bpf_obj_get_info_by_fd(xlb_dp_map_fd(live, XLB_DPM_SVC_STATS), &mi, &ml))
			bpf_map__set_max_entries(skel->maps.xlb_svc_stats, mi.max_entries);
	}
	err = xlb_bpf__load(skel);
	if (err) {
		fail(errbuf, errlen, err, "load the explain instance");
		goto out;
	}
	{
		__u32 zero = 0;
		int fd6 = bpf_program__fd(skel->progs.xlb_xdp6);

		if (bpf_map_update_elem(bpf_map__fd(skel->maps.xlb_xdp_progs6), &zero, &fd6, 0)) {
			err = fail(errbuf, errlen, -errno, "add xlb_xdp6 to the explain instance");
			goto out;
		}
	}
	seed_state(live, skel, r, res);

	len = build_packet(r, pkt);
	/* Addressed to the interface as a real frame would be: only frames to
	 * the uplink's MAC start flows (xlb_for_us). */
	if (r->ifindex) {
		struct xlb_iface ifc;
		__u32 ifindex = r->ifindex;

		if (!bpf_map_lookup_elem(xlb_dp_map_fd(live, XLB_DPM_IFACES), &ifindex, &ifc))
			memcpy(((struct ethhdr *)pkt)->h_dest, ifc.mac, ETH_ALEN);
	}
	/* The kernel takes data_end as the linear length (the rest would be
	 * frags): the whole packet is linear, as on a real uplink. */
	md.data_end = len;
	{
		struct xdp_md md_out = {};
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out),
			    /* Always a context: with ctx_out the kernel takes
			     * data_end from it (ingress_ifindex 0: none). */
			    .ctx_in = &md, .ctx_size_in = sizeof(md), .ctx_out = &md_out,
			    .ctx_size_out = sizeof(md_out), .repeat = 1);
		__u32 skip;

		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xlb_xdp), &o);
		if (err) {
			err = fail(errbuf, errlen, -errno, "BPF_PROG_TEST_RUN");
			goto out;
		}
		res->retval = o.retval;
		/* The output starts at the metadata (a note for tc ingress,
		 * e.g. a local Pod's veth): the frame is md_out.data on. */
		skip = md_out.data <= o.data_size_out ? md_out.data : 0;
		res->out_len = o.data_size_out - skip;
		memcpy(res->out, out + skip,
		       res->out_len < sizeof(res->out) ? res->out_len : sizeof(res->out));
	}
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xlb_trace), &zero, &res->trace))
		err = fail(errbuf, errlen, -errno, "read the trace");
out:
	xlb_bpf__destroy(skel);
	if (prog_fd >= 0)
		close(prog_fd);
	xlb_dp_close(live);
	return err;
}

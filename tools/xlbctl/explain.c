// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * explain PROTO SRC DST: what the datapath does with one packet, run in a
 * private instance on the live maps (user/explain.c), and why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/bpf.h>

#include <bpf/bpf.h>

#include "explain.h"
#include "xlbctl.h"

/* "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6) */
static int parse_endpoint(const char *s, __u8 *family, union xlb_addr *a, __be16 *port)
{
	char buf[64];
	const char *colon = strrchr(s, ':');
	bool br = s[0] == '[';
	unsigned long p;
	char *end;

	if (!colon || (size_t)(colon - s) >= sizeof(buf) || (br && colon[-1] != ']'))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", (int)(colon - s) - (br ? 2 : 0), s + br);
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p > 65535 || ctl_parse_addr(buf, family, a) ||
	    br != (*family == XLB_AF_INET6))
		return -EINVAL;
	*port = htons((__u16)p);
	return 0;
}

static int parse_tcp_flags(const char *s, __u8 *flags)
{
	static const struct {
		const char *n;
		__u8 f;
	} names[] = {
		{ "fin", 0x01 }, { "syn", 0x02 }, { "rst", 0x04 },
		{ "psh", 0x08 }, { "ack", 0x10 }, { "urg", 0x20 },
	};
	char buf[64], *tok, *save = NULL;

	*flags = 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",|+", &save); tok; tok = strtok_r(NULL, ",|+", &save)) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcasecmp(tok, names[i].n))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -EINVAL;
		*flags |= names[i].f;
	}
	return 0;
}

static void tcp_flags_str(__u8 f, char *buf, size_t len)
{
	static const char *const n[] = { "fin", "syn", "rst", "psh", "ack", "urg" };
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < 6; i++)
		if (f & (1 << i))
			o += snprintf(buf + o, len - o, "%s%s", o ? "," : "", n[i]);
}

static void ep_str(__u8 family, const union xlb_addr *a, __be16 port, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	snprintf(buf, len, family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u",
		 xlb_addr_str(family, a, s, sizeof(s)), ntohs(port));
}

/* The default ingress: the lowest-numbered interface xlb serves that
 * exists here (xlb_ifaces lists the agent's --iface interfaces). */
static __u32 default_iface(void)
{
	__u32 key, *prev = NULL, best = 0;
	char name[IF_NAMESIZE];

	while (!bpf_map_get_next_key(ctl_map_fd(XLB_DPM_IFACES), prev, &key)) {
		if ((!best || key < best) && if_indextoname(key, name))
			best = key;
		prev = &key;
	}
	return best;
}

/* The headers of the packet explain's run sent: proto, src, dst. */
static void add_out(cJSON *doc, const struct xlb_explain_res *res)
{
	const unsigned char *p = res->out;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], buf[80];
	__u32 l3 = 14, l4, need;
	__u16 eth_proto;
	__u8 proto;
	bool v6;

	if (res->retval == XDP_DROP || res->out_len < l3 + 20)
		goto none;
	eth_proto = p[12] << 8 | p[13];
	if (eth_proto == 0x8100 || eth_proto == 0x88a8) {
		l3 += 4;
		eth_proto = p[l3 - 2] << 8 | p[l3 - 1];
	}
	v6 = (p[l3] >> 4) == 6;
	if (v6) {
		/* Extension headers are not walked: the next header as sent. */
		l4 = l3 + 40;
		need = l4;
		proto = p[l3 + 6];
		if (res->out_len < need || need > sizeof(res->out))
			goto none;
		inet_ntop(AF_INET6, p + l3 + 8, a, sizeof(a));
		inet_ntop(AF_INET6, p + l3 + 24, b, sizeof(b));
	} else {
		__u32 ihl = (p[l3] & 0xf) * 4;

		l4 = l3 + ihl;
		if (res->out_len < l4 + 4 || ihl < 20)
			goto none;
		proto = p[l3 + 9];
		inet_ntop(AF_INET, p + l3 + 12, a, sizeof(a));
		inet_ntop(AF_INET, p + l3 + 16, b, sizeof(b));
	}
	cJSON_AddStringToObject(doc, "out_proto",
				proto == 1  ? "icmp" :
				proto == 58 ? "icmpv6" :
					      ctl_proto_str(proto));
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && l4 + 4 <= res->out_len &&
	    l4 + 4 <= sizeof(res->out)) {
		snprintf(buf, sizeof(buf), v6 ? "[%s]:%u" : "%s:%u", a, p[l4] << 8 | p[l4 + 1]);
		cJSON_AddStringToObject(doc, "out_src", buf);
		snprintf(buf, sizeof(buf), v6 ? "[%s]:%u" : "%s:%u", b, p[l4 + 2] << 8 | p[l4 + 3]);
		cJSON_AddStringToObject(doc, "out_dst", buf);
	} else {
		cJSON_AddStringToObject(doc, "out_src", a);
		cJSON_AddStringToObject(doc, "out_dst", b);
	}
	return;
none:
	cJSON_AddNullToObject(doc, "out_proto");
	cJSON_AddNullToObject(doc, "out_src");
	cJSON_AddNullToObject(doc, "out_dst");
}

/* How the backend was chosen, which one, and the rewrite of the flow. */
static void add_choice(cJSON *doc, const struct xlb_trace *t, __u8 f)
{
	const struct be_ent *be;
	char buf[128];

	cJSON_AddStringToObject(doc, "choice",
				t->choice == XLB_CHOICE_CONNTRACK ? "conntrack" :
				t->choice == XLB_CHOICE_AFFINITY  ? "affinity" :
				t->choice == XLB_CHOICE_MAGLEV	  ? "maglev" :
								    "none");
	if (t->choice == XLB_CHOICE_MAGLEV) {
		cJSON_AddNumberToObject(doc, "maglev_slot", t->slot);
		cJSON_AddNumberToObject(doc, "maglev_size", t->svc.maglev_size);
		cJSON_AddNumberToObject(doc, "hash", t->hash);
	} else {
		cJSON_AddNullToObject(doc, "maglev_slot");
		cJSON_AddNullToObject(doc, "maglev_size");
		cJSON_AddNullToObject(doc, "hash");
	}
	be = t->choice != XLB_CHOICE_NONE ? ctl_find_backend(t->backend_id) : NULL;
	if (t->choice != XLB_CHOICE_NONE)
		cJSON_AddNumberToObject(doc, "backend_id", t->backend_id);
	else
		cJSON_AddNullToObject(doc, "backend_id");
	if (be) {
		ep_str(be->v.family, &be->v.addr, be->v.port, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "backend", buf);
		cJSON_AddBoolToObject(doc, "backend_local", !!(be->v.flags & XLB_BE_F_LOCAL));
	} else if (t->flags & XLB_TRACE_F_REWRITE) {
		/* A conntrack entry whose backend left: its rewrite says where. */
		ep_str(f, &t->ct.nat_daddr, t->ct.nat_dport, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "backend", buf);
		cJSON_AddNullToObject(doc, "backend_local");
	} else {
		cJSON_AddNullToObject(doc, "backend");
		cJSON_AddNullToObject(doc, "backend_local");
	}
	if (t->flags & XLB_TRACE_F_REWRITE) {
		cJSON_AddStringToObject(doc, "ct_kind", ctl_kind_str(t->ct.kind));
		ep_str(f, &t->ct.nat_saddr, t->ct.nat_sport, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "rewrite_src", buf);
		ep_str(f, &t->ct.nat_daddr, t->ct.nat_dport, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "rewrite_dst", buf);
	} else {
		cJSON_AddNullToObject(doc, "ct_kind");
		cJSON_AddNullToObject(doc, "rewrite_src");
		cJSON_AddNullToObject(doc, "rewrite_dst");
	}
}

static cJSON *explain_doc(const struct xlb_explain_req *r, const struct xlb_explain_res *res)
{
	const struct xlb_trace *t = &res->trace;
	cJSON *doc = cJSON_CreateObject();
	char buf[128], ifn[IF_NAMESIZE];

	if (!doc)
		return NULL;
	cJSON_AddStringToObject(doc, "verdict", ctl_xdp_action_str(res->retval));
	cJSON_AddStringToObject(doc, "reason", ctl_reason_str(t->reason));
	cJSON_AddStringToObject(doc, "proto", ctl_proto_str(r->tuple.proto));
	ep_str(r->tuple.family, &r->tuple.saddr, r->tuple.sport, buf, sizeof(buf));
	cJSON_AddStringToObject(doc, "src", buf);
	ep_str(r->tuple.family, &r->tuple.daddr, r->tuple.dport, buf, sizeof(buf));
	cJSON_AddStringToObject(doc, "dst", buf);
	if (r->tuple.proto == IPPROTO_TCP) {
		tcp_flags_str(r->tcp_flags, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "tcp_flags", buf);
	} else {
		cJSON_AddNullToObject(doc, "tcp_flags");
	}
	if (r->ifindex && if_indextoname(r->ifindex, ifn))
		cJSON_AddStringToObject(doc, "iface", ifn);
	else
		cJSON_AddNullToObject(doc, "iface");
	if (t->flags & (XLB_TRACE_F_FRONTEND | XLB_TRACE_F_CT_HIT)) {
		cJSON_AddStringToObject(doc, "service", ctl_svc_name(t->svc.svc_id));
		cJSON_AddNumberToObject(doc, "svc_id", t->svc.svc_id);
	} else {
		cJSON_AddNullToObject(doc, "service");
		cJSON_AddNullToObject(doc, "svc_id");
	}
	cJSON_AddBoolToObject(doc, "frontend_matched", !!(t->flags & XLB_TRACE_F_FRONTEND));
	cJSON_AddStringToObject(doc, "conntrack",
				!(t->flags & XLB_TRACE_F_CT_HIT)  ? "miss" :
				(t->flags & XLB_TRACE_F_NEW_FLOW) ? "hit, flow re-balanced" :
								    "hit");
	cJSON_AddBoolToObject(doc, "new_flow", !!(t->flags & XLB_TRACE_F_NEW_FLOW));
	add_choice(doc, t, r->tuple.family);
	add_out(doc, res);
	cJSON_AddBoolToObject(doc, "conntrack_copied", res->ct_seeded);
	cJSON_AddBoolToObject(doc, "peer_copied", res->peer_seeded);
	cJSON_AddBoolToObject(doc, "affinity_copied", res->affinity_seeded);
	cJSON_AddBoolToObject(doc, "snat_port_illustrative",
			      (t->flags & XLB_TRACE_F_NEW_FLOW) && t->ct.kind == XLB_CT_FWD_REMOTE);
	return doc;
}

static const struct xlb_col explain_fields[] = { { "verdict", "verdict" },
						 { "reason", "reason" },
						 { "packet", .cell = NULL, .key = "proto" },
						 { "src", "src" },
						 { "dst", "dst" },
						 { "tcp flags", "tcp_flags" },
						 { "iface", "iface" },
						 { "service", "service" },
						 { "frontend matched", "frontend_matched" },
						 { "conntrack", "conntrack" },
						 { "backend chosen by", "choice" },
						 { "maglev slot", "maglev_slot" },
						 { "maglev size", "maglev_size" },
						 { "backend id", "backend_id" },
						 { "backend", "backend" },
						 { "backend local", "backend_local" },
						 { "ct kind", "ct_kind" },
						 { "rewrite src", "rewrite_src" },
						 { "rewrite dst", "rewrite_dst" },
						 { "out", "out_proto" },
						 { "out src", "out_src" },
						 { "out dst", "out_dst" },
						 {} };

const struct xlb_view explain_view = { .fields = explain_fields };

static void explain_usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG
		" explain PROTO SRC:PORT DST:PORT [--iface IF] [--flags F[,F...]]\n"
		"  SRC, DST := IPv4ADDR:PORT | [IPv6ADDR]:PORT (one family)\n"
		"PROTO := { tcp | udp }   F := { syn | ack | fin | rst | psh | urg } (default syn)\n"
		"  Runs the live XDP program (BPF_PROG_TEST_RUN) on this packet in a private\n"
		"  instance: it reads the live service, backend and Maglev maps and a copy of\n"
		"  the flow's conntrack and affinity entries, and writes no live map. Prints\n"
		"  the verdict, reason, frontend, backend and why, and the rewrite. A SNAT\n"
		"  port shown is one free in the copy; the live datapath may pick another.\n"
		"  --iface: ingress interface (default: the first one xlb serves here).\n");
}

/* PROTO SRC DST and the options into @r and @iface; 1 after `help`. */
static int parse_args(int argc, char **argv, struct xlb_explain_req *r, const char **iface)
{
	int pos = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "help")) {
			explain_usage(stdout);
			return 1;
		}
		if (!strcmp(a, "--iface") || !strcmp(a, "--flags")) {
			if (i + 1 >= argc)
				return ctl_usage_error(explain_usage, "%s needs a value", a);
			if (a[2] == 'i')
				*iface = argv[++i];
			else if (parse_tcp_flags(argv[++i], &r->tcp_flags))
				return ctl_usage_error(
					explain_usage,
					"--flags: '%s': want syn,ack,fin,rst,psh,urg", argv[i]);
			continue;
		}
		switch (pos++) {
		case 0:
			if (!strcasecmp(a, "tcp"))
				r->tuple.proto = IPPROTO_TCP;
			else if (!strcasecmp(a, "udp"))
				r->tuple.proto = IPPROTO_UDP;
			else
				return ctl_usage_error(explain_usage, "'%s': want tcp or udp", a);
			break;
		case 1:
		case 2: {
			__u8 fam;

			if (parse_endpoint(a, &fam, pos == 2 ? &r->tuple.saddr : &r->tuple.daddr,
					   pos == 2 ? &r->tuple.sport : &r->tuple.dport))
				return ctl_usage_error(
					explain_usage,
					"'%s': want IPv4ADDR:PORT or [IPv6ADDR]:PORT", a);
			if (pos == 3 && fam != r->tuple.family)
				return ctl_usage_error(explain_usage,
						       "'%s': not of the source's family", a);
			r->tuple.family = fam;
			break;
		}
		default:
			return ctl_usage_error(explain_usage, "unexpected argument '%s'", a);
		}
	}
	if (pos < 3)
		return ctl_usage_error(explain_usage, "want PROTO SRC:PORT DST:PORT");
	return 0;
}

int explain_run(int argc, char **argv, cJSON **doc)
{
	struct xlb_explain_req r = { .pin_dir = ctl.pin_dir, .tcp_flags = 0x02 };
	struct xlb_explain_res res;
	const char *iface = NULL;
	char msg[512];
	int err;

	err = parse_args(argc, argv, &r, &iface);
	if (err)
		return err < 0 ? err : 0;
	if (r.tuple.proto != IPPROTO_TCP)
		r.tcp_flags = 0;
	err = ctl_need(CTL_METAS | CTL_BACKENDS);
	if (err)
		return err;
	if (iface) {
		r.ifindex = if_nametoindex(iface);
		if (!r.ifindex) {
			err = -errno;
			ctl_err("interface %s: %s", iface, strerror(-err));
			return err;
		}
	} else {
		r.ifindex = default_iface();
	}
	err = xlb_explain_run(&r, &res, msg, sizeof(msg));
	if (err) {
		ctl_err("%s", msg);
		return err;
	}
	*doc = explain_doc(&r, &res);
	return *doc ? 0 : -ENOMEM;
}

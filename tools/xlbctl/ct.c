// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ct list: the conntrack entries, filtered and sorted. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>

#include "xlbctl.h"

void ct_usage(FILE *f)
{
	fprintf(f, "Usage: " PROG
		   " ct { list [FILTER...] | help }\n"
		   "FILTER := { --src ADDR | --dst ADDR | --port N | --proto { tcp | udp } |\n"
		   "            --kind { fwd_local | fwd_remote | reply_local | reply_snat } }\n"
		   "  --src/--dst match the original or the rewritten address; --port\n"
		   "  matches any of the four ports. Filters combine with AND.\n");
}

static bool addr_eq(const union xlb_addr *a, const union xlb_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static bool ct_match(const struct ct_filter *f, const struct ct_ent *e)
{
	const struct xlb_ct_key *k = &e->k;
	const struct xlb_ct *v = &e->v;

	if (f->kind >= 0 && v->kind != f->kind)
		return false;
	if (f->proto >= 0 && k->proto != f->proto)
		return false;
	if (f->port >= 0 && ntohs(k->sport) != f->port && ntohs(k->dport) != f->port &&
	    ntohs(v->nat_sport) != f->port && ntohs(v->nat_dport) != f->port)
		return false;
	if (f->src && (k->family != f->saddr.family ||
		       (!addr_eq(&k->saddr, &f->saddr.a) && !addr_eq(&v->nat_saddr, &f->saddr.a))))
		return false;
	if (f->dst && (k->family != f->daddr.family ||
		       (!addr_eq(&k->daddr, &f->daddr.a) && !addr_eq(&v->nat_daddr, &f->daddr.a))))
		return false;
	return true;
}

static int cmp_ct(const void *a, const void *b)
{
	const struct ct_ent *x = a, *y = b;
	int r;

	if (x->v.kind != y->v.kind)
		return x->v.kind - y->v.kind;
	if (x->k.family != y->k.family)
		return x->k.family - y->k.family;
	if (x->k.proto != y->k.proto)
		return x->k.proto - y->k.proto;
	r = memcmp(&x->k.saddr, &y->k.saddr, sizeof(x->k.saddr));
	if (r)
		return r;
	if (x->k.sport != y->k.sport)
		return ntohs(x->k.sport) - ntohs(y->k.sport);
	r = memcmp(&x->k.daddr, &y->k.daddr, sizeof(x->k.daddr));
	if (r)
		return r;
	return ntohs(x->k.dport) - ntohs(y->k.dport);
}

int ctl_load_ct(const struct ct_filter *f, struct ct_ent **ents, size_t *n)
{
	size_t all, kept = 0;
	int err = CTL_DUMP(XLB_DPM_CT, struct ct_ent, NULL, ents, &all);

	if (err)
		return err;
	for (size_t i = 0; i < all; i++)
		if (ct_match(f, &(*ents)[i]))
			(*ents)[kept++] = (*ents)[i];
	*n = kept;
	qsort(*ents, kept, sizeof(**ents), cmp_ct);
	return 0;
}

/* One filter option: --NAME VALUE or --NAME=VALUE. */
static int parse_ct_opt(const char *name, const char *val, struct ct_filter *f)
{
	if (!strcmp(name, "--src") || !strcmp(name, "--dst")) {
		bool src = name[2] == 's';

		if (ctl_parse_addr(val, src ? &f->saddr.family : &f->daddr.family,
				   src ? &f->saddr.a : &f->daddr.a))
			return ctl_usage_error(ct_usage, "%s: '%s' is not an IP address", name,
					       val);
		if (src)
			f->src = true;
		else
			f->dst = true;
	} else if (!strcmp(name, "--port")) {
		char *end;
		long p = strtol(val, &end, 10);

		if (!*val || *end || p < 0 || p > 65535)
			return ctl_usage_error(ct_usage, "--port: '%s' is not a port", val);
		f->port = p;
	} else if (!strcmp(name, "--proto")) {
		if (!strcasecmp(val, "tcp"))
			f->proto = IPPROTO_TCP;
		else if (!strcasecmp(val, "udp"))
			f->proto = IPPROTO_UDP;
		else
			return ctl_usage_error(ct_usage, "--proto: '%s' is not tcp or udp", val);
	} else if (!strcmp(name, "--kind")) {
		f->kind = -1;
		for (int k = XLB_CT_FWD_LOCAL; k <= XLB_CT_REPLY_SNAT; k++)
			if (!strcmp(val, ctl_kind_str(k)))
				f->kind = k;
		if (f->kind < 0)
			return ctl_usage_error(ct_usage, "--kind: unknown kind '%s'", val);
	} else {
		return ctl_usage_error(ct_usage, "unknown option '%s'", name);
	}
	return 0;
}

/* 0 and *help set when an argument is `help`. */
static int parse_ct_filter(int argc, char **argv, struct ct_filter *f, bool *help)
{
	*f = CT_FILTER_KIND(-1);
	*help = false;
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i], *val;
		const char *eq = strchr(opt, '=');
		char name[16];
		int err;

		if (!strcmp(opt, "help")) {
			ct_usage(stdout);
			*help = true;
			return 0;
		}
		if (strncmp(opt, "--", 2))
			return ctl_usage_error(ct_usage, "unexpected argument '%s'", opt);
		if (eq) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - opt), opt);
			val = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", opt);
			if (i + 1 >= argc)
				return ctl_usage_error(ct_usage, "%s needs a value", opt);
			val = argv[++i];
		}
		err = parse_ct_opt(name, val, f);
		if (err)
			return err;
	}
	return 0;
}

static void ct_tuple_cell(const cJSON *row, char *buf, size_t len)
{
	char s[128], d[128];

	ctl_endpoint(row, "saddr", "sport", s, sizeof(s));
	ctl_endpoint(row, "daddr", "dport", d, sizeof(d));
	snprintf(buf, len, "%s -> %s", s, d);
}

static void ct_rewrite_cell(const cJSON *row, char *buf, size_t len)
{
	char s[128], d[128];

	ctl_endpoint(row, "nat_saddr", "nat_sport", s, sizeof(s));
	ctl_endpoint(row, "nat_daddr", "nat_dport", d, sizeof(d));
	snprintf(buf, len, "%s -> %s", s, d);
}

static const struct xlb_col ct_cols[] = { { "KIND", "kind" },
					  { "PROTO", "proto" },
					  { "TUPLE", .cell = ct_tuple_cell },
					  { "REWRITE", .cell = ct_rewrite_cell },
					  { "SERVICE", "service" },
					  { "BACKEND", "backend_id" },
					  { "FLAGS", "flags" },
					  { "TTL", .cell = ctl_ttl_cell },
					  {} };

/* enum xlb_ct_flags, bit by bit. */
static const char *const ct_flag_names[] = {
	"established",	     "rst",	    "seen_reply", "fin_client", "fin_backend",
	"backend_time_wait", "rst_backend",
};

static int add_ct(cJSON *doc, const struct ct_ent *e, __u64 now)
{
	const struct xlb_ct_key *k = &e->k;
	const struct xlb_ct *v = &e->v;
	cJSON *row = ctl_add_row(doc), *flags;

	if (!row)
		return -ENOMEM;
	cJSON_AddStringToObject(row, "kind", ctl_kind_str(v->kind));
	cJSON_AddStringToObject(row, "proto", ctl_proto_str(k->proto));
	ctl_add_addr(row, "saddr", k->family, &k->saddr);
	cJSON_AddNumberToObject(row, "sport", ntohs(k->sport));
	ctl_add_addr(row, "daddr", k->family, &k->daddr);
	cJSON_AddNumberToObject(row, "dport", ntohs(k->dport));
	ctl_add_addr(row, "nat_saddr", k->family, &v->nat_saddr);
	cJSON_AddNumberToObject(row, "nat_sport", ntohs(v->nat_sport));
	ctl_add_addr(row, "nat_daddr", k->family, &v->nat_daddr);
	cJSON_AddNumberToObject(row, "nat_dport", ntohs(v->nat_dport));
	cJSON_AddNumberToObject(row, "svc_id", v->svc_id);
	cJSON_AddStringToObject(row, "service", ctl_svc_name(v->svc_id));
	cJSON_AddNumberToObject(row, "backend_id", v->backend_id);
	flags = cJSON_AddArrayToObject(row, "flags");
	for (size_t b = 0; b < sizeof(ct_flag_names) / sizeof(ct_flag_names[0]); b++)
		if (v->flags & (1u << b))
			cJSON_AddItemToArray(flags, cJSON_CreateString(ct_flag_names[b]));
	ctl_add_ttl(row, v->expires_ns, now);
	return 0;
}

static int ct_list(int argc, char **argv, cJSON **doc)
{
	struct ct_ent *ents = NULL;
	struct ct_filter f;
	size_t n = 0;
	bool help;
	__u64 now;
	int err;

	err = parse_ct_filter(argc, argv, &f, &help);
	if (err || help)
		return err;
	err = ctl_need(CTL_METAS);
	if (!err)
		err = ctl_load_ct(&f, &ents, &n);
	if (err)
		return err;
	now = xlb_mono_ns();
	*doc = cJSON_CreateArray();
	err = *doc ? 0 : -ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		err = add_ct(*doc, &ents[i], now);
	free(ents);
	return err;
}

static const struct xlb_table ct_tables[] = { { .cols = ct_cols }, {} };
static const struct xlb_view ct_view = { .tables = ct_tables };

const struct ctl_cmd ct_verbs[] = { { "list", "show", ct_list, &ct_view, .args = true }, {} };

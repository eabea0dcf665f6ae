// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * snat list: the SNAT port bindings. A REPLY_SNAT entry is keyed by the
 * backend's reply as it reaches the node (backend -> node addr:SNAT port)
 * and rewrites it to come from the frontend and go to the client: that is
 * the binding of the node's port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xlbctl.h"

void snat_usage(FILE *f)
{
	fprintf(f, "Usage: " PROG
		   " snat { list | help }\n"
		   "  SNAT bindings: node addr:port <-> client via frontend, backend.\n");
}

static void snat_node_cell(const cJSON *row, char *buf, size_t len)
{
	ctl_endpoint(row, "node_addr", "node_port", buf, len);
}

static void snat_client_cell(const cJSON *row, char *buf, size_t len)
{
	ctl_endpoint(row, "client_addr", "client_port", buf, len);
}

static void snat_frontend_cell(const cJSON *row, char *buf, size_t len)
{
	ctl_endpoint(row, "frontend_addr", "frontend_port", buf, len);
}

static void snat_backend_cell(const cJSON *row, char *buf, size_t len)
{
	char ep[128];

	ctl_endpoint(row, "backend_addr", "backend_port", ep, sizeof(ep));
	snprintf(buf, len, "%s #%llu", ep, xlb_json_get_u64(row, "backend_id", 0));
}

static const struct xlb_col snat_cols[] = { { "PROTO", "proto" },
					    { "NODE", .cell = snat_node_cell },
					    { "CLIENT", .cell = snat_client_cell },
					    { "FRONTEND", .cell = snat_frontend_cell },
					    { "BACKEND", .cell = snat_backend_cell },
					    { "SERVICE", "service" },
					    { "TTL", .cell = ctl_ttl_cell },
					    {} };

static int cmp_snat(const void *a, const void *b)
{
	const struct ct_ent *x = a, *y = b;
	int r;

	if (x->k.family != y->k.family)
		return x->k.family - y->k.family;
	r = memcmp(&x->k.daddr, &y->k.daddr, sizeof(x->k.daddr));
	if (r)
		return r;
	if (x->k.dport != y->k.dport)
		return ntohs(x->k.dport) - ntohs(y->k.dport);
	return x->k.proto - y->k.proto;
}

static int add_binding(cJSON *doc, const struct ct_ent *e, __u64 now)
{
	const struct xlb_ct_key *k = &e->k;
	const struct xlb_ct *v = &e->v;
	cJSON *row = ctl_add_row(doc);

	if (!row)
		return -ENOMEM;
	cJSON_AddStringToObject(row, "proto", ctl_proto_str(k->proto));
	ctl_add_addr(row, "node_addr", k->family, &k->daddr);
	cJSON_AddNumberToObject(row, "node_port", ntohs(k->dport));
	ctl_add_addr(row, "client_addr", k->family, &v->nat_daddr);
	cJSON_AddNumberToObject(row, "client_port", ntohs(v->nat_dport));
	ctl_add_addr(row, "frontend_addr", k->family, &v->nat_saddr);
	cJSON_AddNumberToObject(row, "frontend_port", ntohs(v->nat_sport));
	ctl_add_addr(row, "backend_addr", k->family, &k->saddr);
	cJSON_AddNumberToObject(row, "backend_port", ntohs(k->sport));
	cJSON_AddNumberToObject(row, "backend_id", v->backend_id);
	cJSON_AddNumberToObject(row, "svc_id", v->svc_id);
	cJSON_AddStringToObject(row, "service", ctl_svc_name(v->svc_id));
	ctl_add_ttl(row, v->expires_ns, now);
	return 0;
}

static int snat_list(int argc, char **argv, cJSON **doc)
{
	struct ct_filter f = CT_FILTER_KIND(XLB_CT_REPLY_SNAT);
	struct ct_ent *ents = NULL;
	size_t n = 0;
	__u64 now;
	int err;

	err = ctl_need(CTL_METAS);
	if (!err)
		err = ctl_load_ct(&f, &ents, &n);
	if (err)
		return err;
	qsort(ents, n, sizeof(*ents), cmp_snat);
	now = xlb_mono_ns();
	*doc = cJSON_CreateArray();
	err = *doc ? 0 : -ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		err = add_binding(*doc, &ents[i], now);
	free(ents);
	return err;
}

static const struct xlb_table snat_tables[] = { { .cols = snat_cols }, {} };
static const struct xlb_view snat_view = { .tables = snat_tables };

const struct ctl_cmd snat_verbs[] = { { "list", "show", snat_list, &snat_view }, {} };

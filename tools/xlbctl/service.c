// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* service list: one row per frontend (VIP or NodePort), with its counters. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xlbctl.h"

void service_usage(FILE *f)
{
	fprintf(f, "Usage: " PROG
		   " service { list | help }\n"
		   "  One row per frontend (VIP or NodePort) in " XLB_MAP_SVC ".\n");
}

static int cmp_svc(const void *a, const void *b)
{
	const struct svc_ent *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	if (x->k.scope != y->k.scope)
		return x->k.scope - y->k.scope;
	if (x->k.family != y->k.family)
		return x->k.family - y->k.family;
	r = memcmp(x->k.addr.bytes, y->k.addr.bytes, sizeof(x->k.addr));
	if (r)
		return r;
	if (x->k.port != y->k.port)
		return ntohs(x->k.port) - ntohs(y->k.port);
	return x->k.proto - y->k.proto;
}

static void frontend_str(const struct xlb_svc_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN + 16], p[16];
	const char *proto = ctl_proto_str(k->proto);
	size_t i;

	/* Kubernetes spells protocols in capitals: 80/TCP. */
	for (i = 0; i < sizeof(p) - 1 && proto[i]; i++)
		p[i] = toupper((unsigned char)proto[i]);
	p[i] = '\0';
	if (k->scope == XLB_SCOPE_NODEPORT)
		snprintf(buf, len, "%s:%u/%s nodeport", k->family == XLB_AF_INET6 ? "[*]" : "*",
			 ntohs(k->port), p);
	else if (k->family == XLB_AF_INET6)
		snprintf(buf, len, "[%s]:%u/%s", xlb_addr_str(k->family, &k->addr, a, sizeof(a)),
			 ntohs(k->port), p);
	else
		snprintf(buf, len, "%s:%u/%s", xlb_addr_str(k->family, &k->addr, a, sizeof(a)),
			 ntohs(k->port), p);
}

static void svc_flags_cell(const cJSON *row, char *buf, size_t len)
{
	const char *etp = xlb_json_get_str(row, "etp");
	const cJSON *aff = cJSON_GetObjectItemCaseSensitive(row, "affinity_timeout");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(row, "source_ranges");
	int n = snprintf(buf, len, "etp=%s", etp ? etp : "-");

	if (n > 0 && (size_t)n < len && cJSON_IsNumber(aff) && aff->valueint > 0)
		n += snprintf(buf + n, len - n, ",affinity=%ds", aff->valueint);
	if (n > 0 && (size_t)n < len && cJSON_IsTrue(src))
		snprintf(buf + n, len - n, ",src_ranges");
}

static void svc_backends_cell(const cJSON *row, char *buf, size_t len)
{
	snprintf(buf, len, "%llu/%llu", xlb_json_get_u64(row, "backend_count", 0),
		 xlb_json_get_u64(row, "total_count", 0));
}

static const struct xlb_col service_cols[] = { { "NAME", "name" },
					       { "FRONTEND", "frontend" },
					       { "SVC_ID", "svc_id" },
					       { "FLAGS", .cell = svc_flags_cell },
					       { "BACKENDS", .cell = svc_backends_cell },
					       { "TABLE_ID", "table_id" },
					       { "M", "maglev_size" },
					       { "PACKETS", "packets" },
					       { "BYTES", "bytes" },
					       {} };

static int add_service(cJSON *doc, const struct svc_ent *s)
{
	char fe[INET6_ADDRSTRLEN + 48];
	cJSON *row = ctl_add_row(doc);
	struct xlb_counter c;
	int err;

	if (!row)
		return -ENOMEM;
	err = ctl_counter_sum(XLB_DPM_SVC_STATS, s->v.svc_id, &c);
	if (err)
		return err;
	frontend_str(&s->k, fe, sizeof(fe));
	cJSON_AddStringToObject(row, "name", s->name);
	cJSON_AddStringToObject(row, "frontend", fe);
	cJSON_AddStringToObject(row, "scope",
				s->k.scope == XLB_SCOPE_NODEPORT ? "nodeport" : "vip");
	if (s->k.scope == XLB_SCOPE_NODEPORT)
		cJSON_AddNullToObject(row, "address");
	else
		ctl_add_addr(row, "address", s->k.family, &s->k.addr);
	cJSON_AddNumberToObject(row, "port", ntohs(s->k.port));
	cJSON_AddStringToObject(row, "proto", ctl_proto_str(s->k.proto));
	cJSON_AddNumberToObject(row, "svc_id", s->v.svc_id);
	cJSON_AddStringToObject(row, "etp", s->v.flags & XLB_SVC_F_ETP_LOCAL ? "Local" : "Cluster");
	cJSON_AddNumberToObject(row, "affinity_timeout", s->v.affinity_timeout);
	cJSON_AddBoolToObject(row, "source_ranges", !!(s->v.flags & XLB_SVC_F_SOURCE_RANGES));
	cJSON_AddNumberToObject(row, "backend_count", s->v.backend_count);
	cJSON_AddNumberToObject(row, "total_count", s->v.total_count);
	cJSON_AddNumberToObject(row, "table_id", s->v.table_id);
	cJSON_AddNumberToObject(row, "maglev_size", s->v.maglev_size);
	xlb_json_add_u64(row, "packets", c.packets);
	xlb_json_add_u64(row, "bytes", c.bytes);
	return 0;
}

static int service_list(int argc, char **argv, cJSON **doc)
{
	struct svc_ent *svcs = NULL;
	size_t n = 0;
	int err;

	err = ctl_need(CTL_METAS);
	if (!err)
		err = ctl_load_svcs(&svcs, &n);
	if (err)
		return err;
	qsort(svcs, n, sizeof(*svcs), cmp_svc);
	*doc = cJSON_CreateArray();
	err = *doc ? 0 : -ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		err = add_service(*doc, &svcs[i]);
	free(svcs);
	return err;
}

static const struct xlb_table service_tables[] = { { .cols = service_cols }, {} };
static const struct xlb_view service_view = { .tables = service_tables };

const struct ctl_cmd service_verbs[] = { { "list", "show", service_list, &service_view }, {} };

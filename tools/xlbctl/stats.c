// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stats: packets and bytes per verdict reason and per service, and the
 * SNAT ports in use per pool.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "xlbctl.h"

void stats_usage(FILE *f)
{
	fprintf(f, "Usage: " PROG " stats [{ show | help }]\n");
}

static const struct xlb_col reason_cols[] = {
	{ "REASON", "reason" }, { "PACKETS", "packets" }, { "BYTES", "bytes" }, {}
};

static const struct xlb_col svc_stat_cols[] = { { "SVC_ID", "svc_id" },
						{ "SERVICE", "name" },
						{ "PACKETS", "packets" },
						{ "BYTES", "bytes" },
						{} };

static void pool_backend_cell(const cJSON *row, char *buf, size_t len)
{
	ctl_endpoint(row, "backend_addr", "backend_port", buf, len);
}

/* SNAT ports in use per (backend endpoint, SNAT address): each is a pool
 * of its own. "unanswered" are those whose backend never replied (an
 * unanswered SYN flood shows there), which are reclaimed first. */
static const struct xlb_col snat_pool_cols[] = { { "BACKEND", .cell = pool_backend_cell },
						 { "PROTO", "proto" },
						 { "SNAT_ADDR", "snat_addr" },
						 { "PORTS_IN_USE", "ports_in_use" },
						 { "UNANSWERED", "unanswered" },
						 {} };

static int cmp_pool(const void *a, const void *b)
{
	const struct ct_ent *x = a, *y = b;
	int r = memcmp(&x->k.saddr, &y->k.saddr, sizeof(x->k.saddr));

	if (r)
		return r;
	if (x->k.sport != y->k.sport)
		return ntohs(x->k.sport) - ntohs(y->k.sport);
	if (x->k.proto != y->k.proto)
		return x->k.proto - y->k.proto;
	return memcmp(&x->k.daddr, &y->k.daddr, sizeof(x->k.daddr));
}

static int add_snat_pools(cJSON *pools)
{
	struct ct_filter f = CT_FILTER_KIND(XLB_CT_REPLY_SNAT);
	struct ct_ent *ents = NULL;
	__u64 now = xlb_mono_ns();
	size_t n = 0, live = 0;
	int err = ctl_load_ct(&f, &ents, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (ents[i].v.expires_ns > now)
			ents[live++] = ents[i];
	qsort(ents, live, sizeof(*ents), cmp_pool);
	for (size_t i = 0; i < live;) {
		const struct xlb_ct_key *k = &ents[i].k;
		size_t j = i, unanswered = 0;
		cJSON *row;

		for (; j < live && !cmp_pool(&ents[i], &ents[j]); j++)
			unanswered += !(ents[j].v.flags & XLB_CT_F_SEEN_REPLY);
		row = ctl_add_row(pools);
		if (!row) {
			free(ents);
			return -ENOMEM;
		}
		ctl_add_addr(row, "backend_addr", k->family, &k->saddr);
		cJSON_AddNumberToObject(row, "backend_port", ntohs(k->sport));
		cJSON_AddStringToObject(row, "proto",
					k->proto == IPPROTO_TCP ? "TCP" :
					k->proto == IPPROTO_UDP ? "UDP" :
								  "?");
		ctl_add_addr(row, "snat_addr", k->family, &k->daddr);
		cJSON_AddNumberToObject(row, "ports_in_use", (double)(j - i));
		cJSON_AddNumberToObject(row, "unanswered", (double)unanswered);
		i = j;
	}
	free(ents);
	return 0;
}

/* The sum of counter @slot of @m as the members packets and bytes of
 * @row (NULL: out of memory; cJSON's adders take a NULL object). */
static int add_counter(cJSON *row, enum xlb_dp_map m, __u32 slot)
{
	struct xlb_counter c;
	int err;

	if (!row)
		return -ENOMEM;
	err = ctl_counter_sum(m, slot, &c);
	if (err)
		return err;
	xlb_json_add_u64(row, "packets", c.packets);
	xlb_json_add_u64(row, "bytes", c.bytes);
	return 0;
}

static int stats_show(int argc, char **argv, cJSON **doc)
{
	struct svc_ent *svcs = NULL;
	cJSON *reasons, *services, *pools;
	size_t n = 0, nids = 0;
	__u32 *ids = NULL;
	int err;

	err = ctl_need(CTL_METAS);
	if (!err)
		err = ctl_load_svcs(&svcs, &n);
	if (err)
		return err;

	/* Services: every svc_id a frontend or the agent's metadata names. */
	ids = calloc(n + ctl.n_metas + 1, sizeof(*ids));
	*doc = cJSON_CreateObject();
	reasons = cJSON_AddArrayToObject(*doc, "reasons");
	services = cJSON_AddArrayToObject(*doc, "services");
	pools = cJSON_AddArrayToObject(*doc, "snat_pools");
	if (!ids || !reasons || !services || !pools) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		ids[nids++] = svcs[i].v.svc_id;
	for (size_t i = 0; i < ctl.n_metas; i++)
		ids[nids++] = ctl.metas[i].k;
	qsort(ids, nids, sizeof(*ids), ctl_cmp_id);

	for (__u32 r = 0; !err && r < XLB_R_MAX; r++) {
		cJSON *row = ctl_add_row(reasons);

		cJSON_AddStringToObject(row, "reason", xlb_reason_names[r]);
		err = add_counter(row, XLB_DPM_REASONS, r);
	}
	for (size_t i = 0; !err && i < nids; i++) {
		cJSON *row;

		if (i && ids[i] == ids[i - 1])
			continue;
		row = ctl_add_row(services);
		cJSON_AddNumberToObject(row, "svc_id", ids[i]);
		cJSON_AddStringToObject(row, "name", ctl_svc_name(ids[i]));
		err = add_counter(row, XLB_DPM_SVC_STATS, ids[i]);
	}
	if (!err)
		err = add_snat_pools(pools);
out:
	free(ids);
	free(svcs);
	return err;
}

static const struct xlb_table stats_tables[] = { { "reasons", NULL, reason_cols },
						 { "services", NULL, svc_stat_cols },
						 { "snat_pools", NULL, snat_pool_cols },
						 {} };
static const struct xlb_view stats_view = { .tables = stats_tables };

const struct ctl_cmd stats_verbs[] = { { "show", "list", stats_show, &stats_view }, {} };

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * vip list: the LoadBalancer VIPs the agent knows, and whether this node
 * answers for each now (ARP/NDP from the L2 map, BGP from the kernel's
 * route table BIRD reads).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lb/bgp.h"
#include "xlbctl.h"

void vip_usage(FILE *f)
{
	fprintf(f, "Usage: " PROG
		   " vip { list | help }\n"
		   "  One row per LoadBalancer VIP the agent knows (" XLB_MAP_VIP_META
		   "); ANSWERING\n"
		   "  is what the datapath does now: an " XLB_MAP_L2
		   " entry within its deadline.\n"
		   "  BGP is what BIRD can learn now: this node's route for the address in the\n"
		   "  agent's --bgp-table (run it in the node's network namespace); \"-\" when\n"
		   "  the pool does not announce by BGP. bgp_wanted: the agent's plan.\n");
}

static const struct xlb_col vip_cols[] = { { "ADDRESS", "address" },
					   { "SERVICE", "service" },
					   { "POOL", "pool" },
					   { "OWNER", "owner" },
					   { "ANSWERING", "answering" },
					   { "BGP", "bgp" },
					   { "INTERFACES", "interfaces" },
					   {} };

struct vip_ent {
	struct xlb_addr_key k;
	struct xlb_vip_meta v;
};

struct l2_ent {
	struct xlb_l2_key k;
	struct xlb_l2 v;
};

/* The kernel table's routes, read once per table the VIPs name. */
struct routes {
	__u32 table;
	struct k8s_ip *ips;
	size_t n;
};

static int cmp_vip(const void *a, const void *b)
{
	const struct xlb_addr_key *x = &((const struct vip_ent *)a)->k;
	const struct xlb_addr_key *y = &((const struct vip_ent *)b)->k;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr.bytes, y->addr.bytes, 16);
}

static bool answering(const struct vip_ent *e, const struct l2_ent *l2, size_t n_l2, __u64 now)
{
	for (size_t j = 0; j < n_l2; j++)
		if (l2[j].k.family == e->k.family && !memcmp(&l2[j].k.addr, &e->k.addr, 16) &&
		    l2[j].v.expires_ns > now)
			return true;
	return false;
}

static void add_bgp(cJSON *row, const struct vip_ent *e, struct routes *rt)
{
	struct k8s_ip ip = { .addr = e->k.addr, .family = e->k.family };
	bool routed = false;

	if (!(e->v.flags & XLB_VIP_F_BGP && e->v.bgp_table)) {
		cJSON_AddNullToObject(row, "bgp");
		return;
	}
	/* The kernel table, not the agent's word: what BIRD sees. */
	if (e->v.bgp_table != rt->table) {
		free(rt->ips);
		rt->table = e->v.bgp_table;
		if (xlb_bgp_dump(rt->table, &rt->ips, &rt->n))
			rt->n = 0;
	}
	for (size_t j = 0; j < rt->n && !routed; j++)
		routed = !k8s_ip_cmp(&rt->ips[j], &ip);
	cJSON_AddBoolToObject(row, "bgp", routed);
	cJSON_AddNumberToObject(row, "bgp_table", e->v.bgp_table);
}

static int add_vip(cJSON *doc, const struct vip_ent *e, bool up, struct routes *rt)
{
	const struct xlb_vip_meta *m = &e->v;
	char names[sizeof(m->interfaces) + 1], *save = NULL, *tok;
	cJSON *row = ctl_add_row(doc), *ifs;

	if (!row)
		return -ENOMEM;
	ifs = cJSON_CreateArray();
	if (!ifs)
		return -ENOMEM;
	/* Names from the agent: xlbctl may run in another network
	 * namespace, where the ifindexes mean other devices. */
	memcpy(names, m->interfaces, sizeof(m->interfaces));
	names[sizeof(m->interfaces)] = '\0';
	for (tok = strtok_r(names, ",", &save); up && tok; tok = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(ifs, cJSON_CreateString(tok));
	ctl_add_addr(row, "address", e->k.family, &e->k.addr);
	cJSON_AddStringToObject(row, "service", m->service);
	cJSON_AddStringToObject(row, "pool", m->pool);
	cJSON_AddStringToObject(row, "owner", m->owner);
	cJSON_AddBoolToObject(row, "answering", up);
	add_bgp(row, e, rt);
	cJSON_AddBoolToObject(row, "bgp_wanted", !!(m->flags & XLB_VIP_F_BGP_MINE));
	cJSON_AddItemToObject(row, "interfaces", ifs);
	return 0;
}

static int vip_list(int argc, char **argv, cJSON **doc)
{
	struct vip_ent *vips = NULL;
	struct l2_ent *l2 = NULL;
	struct routes rt = {};
	size_t n = 0, n_l2 = 0;
	__u64 now;
	int err;

	err = ctl_need(0);
	if (!err)
		err = CTL_DUMP(XLB_DPM_VIP_META, struct vip_ent, cmp_vip, &vips, &n);
	if (!err)
		err = CTL_DUMP(XLB_DPM_L2, struct l2_ent, NULL, &l2, &n_l2);
	if (err)
		goto out;
	now = xlb_mono_ns();
	*doc = cJSON_CreateArray();
	err = *doc ? 0 : -ENOMEM;
	for (size_t i = 0; !err && i < n; i++)
		err = add_vip(*doc, &vips[i], answering(&vips[i], l2, n_l2, now), &rt);
out:
	free(rt.ips);
	free(vips);
	free(l2);
	return err;
}

static const struct xlb_table vip_tables[] = { { .cols = vip_cols }, {} };
static const struct xlb_view vip_view = { .tables = vip_tables };

const struct ctl_cmd vip_verbs[] = { { "list", "show", vip_list, &vip_view }, {} };

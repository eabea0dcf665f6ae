// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * node list: the node's addresses as the datapath has them, both
 * families: the NodePort addresses (xlb_node_addrs), the SNAT-only ones
 * (--snat-address), and which interfaces SNAT from each (xlb_ifaces).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>

#include <bpf/bpf.h>

#include "xlbctl.h"

void node_usage(FILE *f)
{
	fprintf(f, "Usage: " PROG
		   " node { list | help }\n"
		   "  The node's addresses: NodePort, SNAT source (per interface), SNAT-only.\n");
}

struct naddr {
	struct xlb_addr_key k;
	bool nodeport, snat_only;
	char ifs[128]; /* interfaces that SNAT from it, comma list */
};

static int cmp_naddr(const void *a, const void *b)
{
	const struct naddr *x = a, *y = b;

	if (x->k.family != y->k.family)
		return x->k.family - y->k.family;
	return memcmp(&x->k.addr, &y->k.addr, sizeof(x->k.addr));
}

static struct naddr *find_or_add(struct naddr **v, size_t *n, const struct xlb_addr_key *k)
{
	struct naddr *g;

	for (size_t i = 0; i < *n; i++)
		if (!memcmp(&(*v)[i].k, k, sizeof(*k)))
			return &(*v)[i];
	g = realloc(*v, (*n + 1) * sizeof(**v));
	if (!g)
		return NULL;
	*v = g;
	memset(&g[*n], 0, sizeof(g[*n]));
	g[*n].k = *k;
	return &g[(*n)++];
}

static void snat_from(struct naddr *a, __u32 ifindex)
{
	char name[IF_NAMESIZE], one[IF_NAMESIZE + 16];
	size_t len = strlen(a->ifs);

	/* Names in xlbctl's network namespace: run it in the agent's. */
	if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "#%u", ifindex);
	snprintf(one, sizeof(one), "%s%s", len ? "," : "", name);
	snprintf(a->ifs + len, sizeof(a->ifs) - len, "%s", one);
}

static int collect(struct naddr **v, size_t *n)
{
	int afd = ctl_map_fd(XLB_DPM_NODE_ADDRS), ifd = ctl_map_fd(XLB_DPM_IFACES);
	struct xlb_addr_key ak, *aprev = NULL;
	__u32 ik, *iprev = NULL;

	while (!bpf_map_get_next_key(afd, aprev, &ak)) {
		struct xlb_node_addr na;
		struct naddr *a;

		aprev = &ak;
		if (bpf_map_lookup_elem(afd, &ak, &na))
			continue;
		a = find_or_add(v, n, &ak);
		if (!a)
			return -ENOMEM;
		a->snat_only = na.flags & XLB_NA_F_SNAT_ONLY;
		a->nodeport = !a->snat_only;
	}
	while (!bpf_map_get_next_key(ifd, iprev, &ik)) {
		struct xlb_addr_key k4 = { .family = XLB_AF_INET }, k6 = { .family = XLB_AF_INET6 };
		static const union xlb_addr zero;
		struct xlb_iface ifv;
		struct naddr *a;

		iprev = &ik;
		if (bpf_map_lookup_elem(ifd, &ik, &ifv))
			continue;
		k4.addr.v4 = ifv.snat4.v4;
		k6.addr = ifv.snat6;
		if (k4.addr.v4) {
			if (!(a = find_or_add(v, n, &k4)))
				return -ENOMEM;
			snat_from(a, ik);
		}
		if (memcmp(&k6.addr, &zero, sizeof(zero))) {
			if (!(a = find_or_add(v, n, &k6)))
				return -ENOMEM;
			snat_from(a, ik);
		}
	}
	return 0;
}

static const struct xlb_col node_cols[] = {
	{ "ADDRESS", "address" },	    { "FAMILY", "family" },
	{ "NODEPORT", "nodeport" },	    { "SNAT_ONLY", "snat_only" },
	{ "SNAT_FROM", "snat_interfaces" }, {}
};

static int node_list(int argc, char **argv, cJSON **doc)
{
	struct naddr *v = NULL;
	size_t n = 0;
	int err = ctl_need(0);

	err = err ?: collect(&v, &n);
	if (!err && n)
		qsort(v, n, sizeof(*v), cmp_naddr);
	*doc = err ? NULL : cJSON_CreateArray();
	if (!err && !*doc)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < n; i++) {
		cJSON *row = ctl_add_row(*doc), *ifs;
		char buf[sizeof(v->ifs)], *save = NULL, *tok;

		if (!row || !(ifs = cJSON_CreateArray())) {
			err = -ENOMEM;
			break;
		}
		ctl_add_addr(row, "address", v[i].k.family, &v[i].k.addr);
		cJSON_AddStringToObject(row, "family",
					v[i].k.family == XLB_AF_INET6 ? "IPv6" : "IPv4");
		cJSON_AddBoolToObject(row, "nodeport", v[i].nodeport);
		cJSON_AddBoolToObject(row, "snat_only", v[i].snat_only);
		memcpy(buf, v[i].ifs, sizeof(buf));
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			cJSON_AddItemToArray(ifs, cJSON_CreateString(tok));
		cJSON_AddItemToObject(row, "snat_interfaces", ifs);
	}
	free(v);
	return err;
}

static const struct xlb_table node_tables[] = { { .cols = node_cols }, {} };
static const struct xlb_view node_view = { .tables = node_tables };

const struct ctl_cmd node_verbs[] = { { "list", "show", node_list, &node_view }, {} };

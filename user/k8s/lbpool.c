// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlb.io/v1alpha1 LoadBalancerIPPool: address blocks, the Services and
 * nodes it serves, and how its addresses are announced.
 */

#include <stdio.h>
#include <string.h>

#include "k8s/walk.h"

/* ---- LoadBalancerIPPool ---------------------------------------------- */

static bool cidr_to_block(const struct k8s_cidr *c, struct k8s_pool_block *b)
{
	int bits = c->ip.family == XLB_AF_INET ? 32 : 128;

	b->first = c->ip;
	b->last = c->ip;
	for (int i = c->prefix_len; i < bits; i++) {
		uint8_t m = 0x80 >> (i % 8);

		b->first.addr.bytes[i / 8] &= ~m;
		b->last.addr.bytes[i / 8] |= m;
	}
	/* A CIDR written with host bits set is a typo, not a pool. */
	return !k8s_ip_cmp(&b->first, &c->ip);
}

static void parse_pool_block(struct pctx *p, knode *item, size_t i)
{
	struct k8s_lbpool *pool = &p->o->pool;
	struct k8s_pool_block *b = &pool->blocks[pool->n_blocks];
	const char *cidr, *start, *stop;
	char path[64];
	struct k8s_cidr c;

	if (!item || !k8s_is_map(p, item)) {
		k8s_oerr(p, item, "spec.blocks[%zu]: expected a mapping", i);
		return;
	}
	snprintf(path, sizeof(path), "spec.blocks[%zu]", i);
	cidr = k8s_get_str(p, item, "cidr", path);
	start = k8s_get_str(p, item, "start", path);
	stop = k8s_get_str(p, item, "stop", path);
	if (cidr && (start || stop)) {
		k8s_oerr(p, item, "%s: give either cidr or start/stop, not both", path);
		return;
	}
	if (cidr) {
		if (!k8s_parse_cidr(cidr, &c)) {
			k8s_oerr(p, item, "%s.cidr: invalid CIDR \"%s\"", path, cidr);
			return;
		}
		if (!cidr_to_block(&c, b)) {
			k8s_oerr(p, item, "%s.cidr: \"%s\" has host bits set", path, cidr);
			return;
		}
	} else if (start && stop) {
		if (!k8s_parse_ip(start, &b->first)) {
			k8s_oerr(p, item, "%s.start: invalid IP address \"%s\"", path, start);
			return;
		}
		if (!k8s_parse_ip(stop, &b->last)) {
			k8s_oerr(p, item, "%s.stop: invalid IP address \"%s\"", path, stop);
			return;
		}
		if (b->first.family != b->last.family) {
			k8s_oerr(p, item, "%s: start and stop of different IP families", path);
			return;
		}
		if (k8s_ip_cmp(&b->first, &b->last) > 0) {
			k8s_oerr(p, item, "%s: start %s is after stop %s", path, start, stop);
			return;
		}
	} else {
		k8s_oerr(p, item, "%s: needs cidr, or start and stop", path);
		return;
	}
	for (size_t j = 0; j < pool->n_blocks; j++) {
		const struct k8s_pool_block *o = &pool->blocks[j];

		if (o->first.family == b->first.family && k8s_ip_cmp(&b->first, &o->last) <= 0 &&
		    k8s_ip_cmp(&o->first, &b->last) <= 0) {
			k8s_oerr(p, item, "%s: overlaps spec.blocks[%zu]", path, j);
			return;
		}
	}
	pool->n_blocks++;
}

static void parse_str_list(struct pctx *p, knode *parent, const char *key, const char *path,
			   const char ***out, size_t *n_out)
{
	knode *seq = k8s_get_seq(p, parent, key, path);
	size_t n;

	if (!seq)
		return;
	n = k8s_seq_len(p, seq);
	*out = k8s_oalloc(p, n, sizeof(**out));
	if (!*out)
		return;
	for (size_t i = 0; i < n; i++) {
		knode *item = k8s_seq_item(p, seq, i);

		if (!item || !k8s_is_scalar(p, item) || !*k8s_scalar(p, item)) {
			k8s_oerr(p, item, "%s[%zu]: expected a non-empty string", path, i);
			continue;
		}
		(*out)[(*n_out)++] = k8s_ostrdup(p, k8s_scalar(p, item));
	}
}

/* matchLabels only: matchExpressions would be silently widened if ignored,
 * so it is refused. */
static void parse_label_selector(struct pctx *p, knode *spec, const char *key, const char *path,
				 struct k8s_label **out, size_t *n_out)
{
	knode *sel = k8s_get_map(p, spec, key, path);
	char sub[64];

	if (!sel)
		return;
	if (k8s_map_get(p, sel, "matchExpressions"))
		k8s_oerr(p, k8s_map_get(p, sel, "matchExpressions"),
			 "%s.matchExpressions: not supported; use matchLabels", path);
	snprintf(sub, sizeof(sub), "%s.matchLabels", path);
	k8s_parse_string_map(p, k8s_get_map(p, sel, "matchLabels", sub), sub, out, n_out);
}

void k8s_parse_lbpool(struct pctx *p, knode *obj)
{
	struct k8s_lbpool *pool = &p->o->pool;
	knode *spec = k8s_get_map(p, obj, "spec", "spec");
	knode *blocks;
	const char *v;
	size_t n;

	/* Cluster-scoped: a namespace in the manifest means nothing. */
	p->o->meta.namespace = "";
	p->ns = "";
	pool->auto_assign = true;
	if (!spec) {
		if (!k8s_map_get(p, obj, "spec"))
			k8s_oerr(p, obj, "spec: missing");
		return;
	}
	blocks = k8s_get_seq(p, spec, "blocks", "spec.blocks");
	if (!blocks) {
		k8s_oerr(p, spec, "spec.blocks: at least one block is needed");
		return;
	}
	n = k8s_seq_len(p, blocks);
	pool->blocks = k8s_oalloc(p, n, sizeof(*pool->blocks));
	if (!pool->blocks)
		return;
	for (size_t i = 0; i < n; i++)
		parse_pool_block(p, k8s_seq_item(p, blocks, i), i);
	parse_label_selector(p, spec, "serviceSelector", "spec.serviceSelector",
			     &pool->svc_selector, &pool->n_svc_selector);
	parse_str_list(p, spec, "namespaces", "spec.namespaces", &pool->namespaces,
		       &pool->n_namespaces);
	k8s_get_bool(p, spec, "autoAssign", "spec.autoAssign", &pool->auto_assign);
	k8s_get_bool(p, spec, "avoidBuggyIPs", "spec.avoidBuggyIPs", &pool->avoid_buggy_ips);
	parse_label_selector(p, spec, "nodeSelector", "spec.nodeSelector", &pool->node_selector,
			     &pool->n_node_selector);
	parse_str_list(p, spec, "interfaces", "spec.interfaces", &pool->interfaces,
		       &pool->n_interfaces);
	v = k8s_get_str(p, spec, "announce", "spec.announce");
	if (!v || !*v || !strcmp(v, "L2"))
		pool->announce = K8S_ANNOUNCE_L2;
	else if (!strcmp(v, "None"))
		pool->announce = K8S_ANNOUNCE_NONE;
	else if (!strcmp(v, "BGP"))
		pool->announce = K8S_ANNOUNCE_BGP;
	else
		k8s_oerr(p, k8s_map_get(p, spec, "announce"),
			 "spec.announce: \"%s\" is not L2, BGP or None", v);
}

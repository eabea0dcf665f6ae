// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests of the L2 ownership ranking and plan (user/lb/announce.c): the
 * same owner on every node for the same input, whatever order the nodes
 * are listed in; MetalLB's sha256(node#ip) order (expected owners computed
 * independently with Python's hashlib); only live, selected nodes, and for
 * externalTrafficPolicy Local only nodes with a ready local endpoint.
 */
#include <stdlib.h>

#include "lb/announce.h"
#include "k8s/cache.h"
#include "../lib/xtest.h"
#include "k8s_msgs.h"

static struct k8s_ip ip(const char *s)
{
	struct k8s_ip v;

	k8s_parse_ip(s, &v);
	return v;
}

XT_TEST(rank_matches_sha256_order)
{
	/* python3: sorted(nodes, key=lambda n: sha256((n+'#'+ip).encode()).digest()) */
	static const struct {
		const char *ip, *owner, *second;
	} cases[] = {
		{ "192.0.2.1", "node-c", "node-a" },
		{ "192.0.2.2", "node-b", "node-c" },
		{ "2001:db8::1", "node-b", "node-a" },
	};
	const char *nodes[] = { "node-a", "node-b", "node-c" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct k8s_ip v = ip(cases[i].ip);
		const char *rest[2];
		size_t n = 0;
		int w = xlb_announce_rank(&v, nodes, 3);

		if (!ASSERT_TRUE(w >= 0, "owner"))
			return;
		ASSERT_STREQ(nodes[w], cases[i].owner, cases[i].ip);
		/* the owner gone, the next in the order takes over */
		for (int j = 0; j < 3; j++)
			if (j != w)
				rest[n++] = nodes[j];
		w = xlb_announce_rank(&v, rest, 2);
		ASSERT_STREQ(rest[w], cases[i].second, "after the owner left");
	}
	{
		struct k8s_ip v = ip("192.0.2.1");

		ASSERT_EQ(xlb_announce_rank(&v, nodes, 0), -1, "no candidates");
	}
}

XT_TEST(rank_same_on_every_node)
{
	const char *a[] = { "n1", "n2", "n3", "n4", "n5" };
	const char *b[] = { "n4", "n2", "n5", "n1", "n3" };
	int owned[5] = { 0 };

	for (int i = 0; i < 200; i++) {
		char s[32];
		struct k8s_ip v;
		int wa, wb;

		snprintf(s, sizeof(s), "10.0.%d.%d", i / 250, i % 250);
		v = ip(s);
		wa = xlb_announce_rank(&v, a, 5);
		wb = xlb_announce_rank(&v, b, 5);
		if (!ASSERT_STREQ(a[wa], b[wb], s))
			return;
		owned[wa]++;
		/* a node that is not the owner leaving changes nothing */
		{
			const char *c[4];
			size_t n = 0;
			int other = (wa + 1) % 5, wc;

			for (int j = 0; j < 5; j++)
				if (j != other)
					c[n++] = a[j];
			wc = xlb_announce_rank(&v, c, 4);
			if (!ASSERT_STREQ(c[wc], a[wa], "non-owner left"))
				return;
		}
	}
	/* spread: 200 VIPs over 5 nodes, none left out or overloaded */
	for (int j = 0; j < 5; j++) {
		ASSERT_TRUE(owned[j] >= 20, "every node owns some VIPs");
		ASSERT_LE(owned[j], 70, "no node owns most VIPs");
	}
}

static const char *const PLAN_YAML =
	"apiVersion: xlb.io/v1alpha1\nkind: LoadBalancerIPPool\nmetadata: {name: lan}\n"
	"spec: {blocks: [{cidr: 192.0.2.0/24}]}\n"
	"---\napiVersion: xlb.io/v1alpha1\nkind: LoadBalancerIPPool\nmetadata: {name: edge}\n"
	"spec:\n  blocks: [{cidr: 198.51.100.0/24}]\n  nodeSelector: {matchLabels: {edge: 'yes'}}\n"
	"  interfaces: [eth1]\n"
	"---\napiVersion: xlb.io/v1alpha1\nkind: LoadBalancerIPPool\nmetadata: {name: routed}\n"
	"spec: {blocks: [{cidr: 203.0.113.0/24}], announce: None}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: cluster}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}]}\n"
	"status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: local}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}], externalTrafficPolicy: Local}\n"
	"status: {loadBalancer: {ingress: [{ip: 192.0.2.2}]}}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {namespace: ns, name: local-1, labels: {kubernetes.io/service-name: local}}\n"
	"addressType: IPv4\nports: [{name: '', port: 8080}]\nendpoints:\n"
	"- {addresses: [10.1.0.5], nodeName: node-a, conditions: {ready: false}}\n"
	"- {addresses: [10.1.0.6], nodeName: node-c}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: local-none}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}], externalTrafficPolicy: Local}\n"
	"status: {loadBalancer: {ingress: [{ip: 192.0.2.3}]}}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: edge}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}]}\n"
	"status: {loadBalancer: {ingress: [{ip: 198.51.100.1}]}}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: routed}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}]}\n"
	"status: {loadBalancer: {ingress: [{ip: 203.0.113.1}]}}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: foreign}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}]}\n"
	"status: {loadBalancer: {ingress: [{ip: 100.64.0.1}]}}\n";

static const struct xlb_vip *vip_of(const struct xlb_vip_plan *p, const char *s)
{
	struct k8s_ip v = ip(s);

	for (size_t i = 0; i < p->n; i++)
		if (!k8s_ip_cmp(&p->v[i].ip, &v))
			return &p->v[i];
	return NULL;
}

XT_TEST(plan_candidates)
{
	static const struct k8s_label edge[] = { { "edge", "yes" } };
	const struct xlb_node_info live[] = {
		{ "node-a", NULL, 0 },
		{ "node-b", edge, 1 },
		{ "node-c", NULL, 0 },
	};
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_vip_plan p = { 0 };
	struct k8s_cache *c = NULL;
	const struct xlb_vip *v;

	if (!ASSERT_OK(k8s_cache_load_buf(PLAN_YAML, strlen(PLAN_YAML), "t", &c, &errs), "parse") ||
	    !ASSERT_EQ(errs.n_errors, 0, "parse errors")) {
		dump_msgs(&errs);
		goto out;
	}
	if (!ASSERT_OK(xlb_announce_plan(c, live, 3, "node-c", &p), "plan"))
		goto out;
	ASSERT_EQ(p.n, 6, "every VIP listed");
	v = vip_of(&p, "192.0.2.1"); /* Cluster: all three nodes */
	if (ASSERT_TRUE(v, "192.0.2.1")) {
		ASSERT_STREQ(v->owner, "node-c", "sha256 order owner");
		ASSERT_STREQ(v->service, "ns/cluster", "service");
		ASSERT_STREQ(v->pool, "lan", "pool");
		ASSERT_TRUE(v->l2 && v->mine, "node-c answers it");
	}
	v = vip_of(&p, "192.0.2.2"); /* Local: only node-c has a ready endpoint */
	if (ASSERT_TRUE(v, "192.0.2.2"))
		ASSERT_STREQ(v->owner, "node-c", "ETP Local owner");
	v = vip_of(&p, "192.0.2.3"); /* Local with no endpoint: nobody */
	if (ASSERT_TRUE(v, "192.0.2.3")) {
		ASSERT_STREQ(v->owner, "", "no owner");
		ASSERT_TRUE(!v->mine, "not answered");
	}
	v = vip_of(&p, "198.51.100.1"); /* nodeSelector: node-b only */
	if (ASSERT_TRUE(v, "198.51.100.1")) {
		ASSERT_STREQ(v->owner, "node-b", "selected node");
		ASSERT_EQ(v->n_interfaces, 1, "pool interfaces");
	}
	v = vip_of(&p, "203.0.113.1"); /* announce: None */
	if (ASSERT_TRUE(v, "203.0.113.1"))
		ASSERT_TRUE(!v->l2 && !v->mine, "not announced by L2");
	v = vip_of(&p, "100.64.0.1"); /* in no pool: someone else's */
	if (ASSERT_TRUE(v, "100.64.0.1")) {
		ASSERT_STREQ(v->pool, "", "no pool");
		ASSERT_TRUE(!v->mine, "not announced");
	}
	xlb_vip_plan_free(&p);

	/* node-c gone: the Local VIP has no candidate left; the Cluster one
	 * moves to the next node of its order (node-a) */
	if (!ASSERT_OK(xlb_announce_plan(c, live, 2, "node-a", &p), "plan without node-c"))
		goto out;
	ASSERT_STREQ(vip_of(&p, "192.0.2.1")->owner, "node-a", "failover owner");
	ASSERT_TRUE(vip_of(&p, "192.0.2.1")->mine, "node-a answers it now");
	ASSERT_STREQ(vip_of(&p, "192.0.2.2")->owner, "", "Local VIP without endpoint node");
out:
	xlb_vip_plan_free(&p);
	k8s_errors_free(&errs);
	k8s_cache_free(c);
}

/*
 * BGP pools: no owner; every candidate announces. Cluster: every node the
 * nodeSelector allows, but only while the Service has an endpoint somewhere;
 * Local: only nodes with a ready local endpoint.
 */
static const char *const BGP_YAML =
	"apiVersion: xlb.io/v1alpha1\nkind: LoadBalancerIPPool\nmetadata: {name: bgp}\n"
	"spec: {blocks: [{cidr: 192.0.2.0/24}], announce: BGP}\n"
	"---\napiVersion: xlb.io/v1alpha1\nkind: LoadBalancerIPPool\nmetadata: {name: rack}\n"
	"spec:\n  blocks: [{cidr: 198.51.100.0/24}]\n  announce: BGP\n"
	"  nodeSelector: {matchLabels: {rack: r1}}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: cluster}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}]}\n"
	"status: {loadBalancer: {ingress: [{ip: 192.0.2.1}]}}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {namespace: ns, name: cluster-1, labels: {kubernetes.io/service-name: cluster}}\n"
	"addressType: IPv4\nports: [{name: '', port: 8080}]\nendpoints:\n"
	"- {addresses: [10.1.0.9], nodeName: node-b}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: empty}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}]}\n"
	"status: {loadBalancer: {ingress: [{ip: 192.0.2.2}]}}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {namespace: ns, name: empty-1, labels: {kubernetes.io/service-name: empty}}\n"
	"addressType: IPv4\nports: [{name: '', port: 8080}]\nendpoints:\n"
	"- {addresses: [10.1.0.8], nodeName: node-a, conditions: {ready: false, serving: false}}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: local}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}], externalTrafficPolicy: Local}\n"
	"status: {loadBalancer: {ingress: [{ip: 192.0.2.3}]}}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {namespace: ns, name: local-1, labels: {kubernetes.io/service-name: local}}\n"
	"addressType: IPv4\nports: [{name: '', port: 8080}]\nendpoints:\n"
	"- {addresses: [10.1.0.5], nodeName: node-a}\n"
	"- {addresses: [10.1.0.6], nodeName: node-b, conditions: {ready: false}}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {namespace: ns, name: rack}\n"
	"spec: {type: LoadBalancer, ports: [{port: 80}]}\n"
	"status: {loadBalancer: {ingress: [{ip: 198.51.100.1}]}}\n"
	"---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
	"metadata: {namespace: ns, name: rack-1, labels: {kubernetes.io/service-name: rack}}\n"
	"addressType: IPv4\nports: [{name: '', port: 8080}]\nendpoints:\n"
	"- {addresses: [10.1.0.7], nodeName: node-a}\n";

XT_TEST(plan_bgp)
{
	static const struct k8s_label r1[] = { { "rack", "r1" } };
	const struct xlb_node_info live[] = { { "node-a", NULL, 0 }, { "node-b", r1, 1 } };
	static const struct {
		const char *vip;
		bool a, b; /* node-a, node-b announce */
	} want[] = {
		{ "192.0.2.1", true, true },	 /* Cluster, endpoint on node-b only */
		{ "192.0.2.2", false, false },	 /* Cluster, no usable endpoint */
		{ "192.0.2.3", true, false },	 /* Local: node-b's endpoint not ready */
		{ "198.51.100.1", false, true }, /* nodeSelector rack=r1 */
	};
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;

	if (!ASSERT_OK(k8s_cache_load_buf(BGP_YAML, strlen(BGP_YAML), "t", &c, &errs), "parse") ||
	    !ASSERT_EQ(errs.n_errors, 0, "parse errors")) {
		dump_msgs(&errs);
		goto out;
	}
	for (int node = 0; node < 2; node++) {
		struct xlb_vip_plan p = { 0 };

		if (!ASSERT_OK(xlb_announce_plan(c, live, 2, live[node].name, &p), "plan"))
			break;
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			const struct xlb_vip *v = vip_of(&p, want[i].vip);
			char what[96];

			snprintf(what, sizeof(what), "%s on %s", want[i].vip, live[node].name);
			if (!ASSERT_TRUE(v, what))
				continue;
			ASSERT_TRUE(v->bgp && !v->l2 && !v->mine, "BGP pool, no L2 answer");
			ASSERT_STREQ(v->owner, "", "no single owner");
			ASSERT_EQ(v->bgp_mine, node ? want[i].b : want[i].a, what);
		}
		xlb_vip_plan_free(&p);
	}
out:
	k8s_errors_free(&errs);
	k8s_cache_free(c);
}

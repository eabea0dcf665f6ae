// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for the LoadBalancer IP allocator (user/lb/ipam.c) and for the
 * LoadBalancerIPPool parser. Inputs are YAML as a user writes it; each
 * result is compared as one string per Service, "ns/name=ip[,ip]@pool" or
 * "ns/name!message", so a failure shows the whole allocation.
 */
#include <stdlib.h>

#include "lb/ipam.h"
#include "k8s/cache.h"
#include "../lib/xtest.h"
#include "k8s_msgs.h"

#define POOL_HDR "apiVersion: xlb.io/v1alpha1\nkind: LoadBalancerIPPool\n"

/* A LoadBalancer Service; @extra is more YAML under metadata (annotations,
 * labels), @spec more under spec. */
#define SVC(ns, name, meta, spec, status)                                                   \
	"---\napiVersion: v1\nkind: Service\nmetadata:\n  namespace: " ns "\n  name: " name \
	"\n" meta "spec:\n  type: LoadBalancer\n" spec status "\n"

#define PORTS_80 "  ports: [{port: 80}]\n"

struct run {
	struct k8s_cache *c;
	const struct k8s_object **pools, **svcs;
	size_t n_pools, n_svcs;
	struct xlb_ipam_result *res;
	char out[2048];
};

static void run_free(struct run *r)
{
	free(r->pools);
	free(r->svcs);
	free(r->res);
	k8s_cache_free(r->c);
	memset(r, 0, sizeof(*r));
}

/* Parse, allocate (Services in @reverse order if asked), render. */
static bool run_yaml(struct run *r, const char *yaml, const char *lb_class, bool reverse)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_ipam_opts o = { .lb_class = lb_class };
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	if (!ASSERT_OK(k8s_cache_load_buf(yaml, strlen(yaml), "test", &r->c, &errs), "parse"))
		goto fail;
	if (!ASSERT_EQ(errs.n_errors, 0, "parse errors"))
		goto fail;
	k8s_errors_free(&errs);
	k8s_cache_list(r->c, K8S_KIND_LBPOOL, &r->pools, &r->n_pools);
	k8s_cache_list(r->c, K8S_KIND_SERVICE, &r->svcs, &r->n_svcs);
	if (reverse)
		for (size_t i = 0; i < r->n_svcs / 2; i++) {
			const struct k8s_object *t = r->svcs[i];

			r->svcs[i] = r->svcs[r->n_svcs - 1 - i];
			r->svcs[r->n_svcs - 1 - i] = t;
		}
	r->res = calloc(r->n_svcs + 1, sizeof(*r->res));
	if (!ASSERT_OK(xlb_ipam_allocate(r->pools, r->n_pools, r->svcs, r->n_svcs, &o, r->res),
		       "allocate"))
		return false;
	/* Render in name order whatever the input order was. */
	for (size_t k = 0; k < r->n_svcs; k++) {
		size_t i = reverse ? r->n_svcs - 1 - k : k;
		const struct xlb_ipam_result *x = &r->res[i];
		const struct k8s_object *s = r->svcs[i];

		off += snprintf(r->out + off, sizeof(r->out) - off, "%s%s/%s", k ? " " : "",
				s->meta.namespace, s->meta.name);
		if (x->status == XLB_IPAM_SKIP) {
			off += snprintf(r->out + off, sizeof(r->out) - off, "-");
		} else if (x->status == XLB_IPAM_FAILED) {
			off += snprintf(r->out + off, sizeof(r->out) - off, "!%s", x->message);
		} else {
			for (size_t j = 0; j < x->n_ips; j++) {
				char b[64];

				off += snprintf(r->out + off, sizeof(r->out) - off, "%c%s",
						j ? ',' : '=',
						k8s_ip_str(&x->ips[j], b, sizeof(b)));
			}
			off += snprintf(r->out + off, sizeof(r->out) - off, "@%s%s", x->pool,
					x->changed ? "" : "(kept)");
		}
	}
	return true;
fail:
	dump_msgs(&errs);
	k8s_errors_free(&errs);
	return false;
}

static const char *result_of(struct run *r, const char *ns, const char *name)
{
	for (size_t i = 0; i < r->n_svcs; i++)
		if (!strcmp(r->svcs[i]->meta.namespace, ns) && !strcmp(r->svcs[i]->meta.name, name))
			return r->res[i].status == XLB_IPAM_FAILED ? r->res[i].message : "";
	return NULL;
}

static const char *const BASIC = POOL_HDR
	"metadata: {name: lan}\nspec:\n  avoidBuggyIPs: true\n"
	"  blocks:\n  - {start: 192.0.2.255, stop: 192.0.3.2}\n" SVC("shop", "a", "", PORTS_80, "")
		SVC("shop", "b", "", PORTS_80, "")
			SVC("shop", "c", "", "  ports: [{port: 81}]\n",
			    "") "---\napiVersion: v1\nkind: Service\nmetadata: {name: np}\n"
				"spec: {type: NodePort, ports: [{port: 80}]}\n";

XT_TEST(auto_lowest_free_skips_buggy)
{
	struct run r;

	if (run_yaml(&r, BASIC, NULL, false))
		ASSERT_STREQ(r.out,
			     "default/np- shop/a=192.0.3.1@lan shop/b=192.0.3.2@lan "
			     "shop/c!no free IPv4 address in any pool allowed for this Service "
			     "(pools exhausted); add addresses or use a sharing key",
			     "allocation");
	run_free(&r);
}

XT_TEST(result_independent_of_input_order)
{
	struct run a, b;

	if (run_yaml(&a, BASIC, NULL, false) && run_yaml(&b, BASIC, NULL, true))
		ASSERT_STREQ(b.out, a.out, "reversed input");
	run_free(&a);
	run_free(&b);
}

XT_TEST(status_is_source_of_truth)
{
	struct run r;
	const char *y = POOL_HDR "metadata: {name: lan}\nspec:\n  blocks: [{cidr: 192.0.2.0/29}]\n"
		/* b already has .5: it keeps it though .0 is free; a takes .0 */
		SVC("ns", "a", "", PORTS_80, "")
			SVC("ns", "b", "", PORTS_80,
			    "status: {loadBalancer: {ingress: [{ip: 192.0.2.5}]}}")
		/* an address no pool holds any more is released */
		SVC("ns", "c", "", PORTS_80,
		    "status: {loadBalancer: {ingress: [{ip: 198.51.100.7}]}}");

	if (run_yaml(&r, y, NULL, false))
		ASSERT_STREQ(r.out,
			     "ns/a=192.0.2.0@lan ns/b=192.0.2.5@lan(kept) "
			     "ns/c=192.0.2.1@lan",
			     "allocation");
	run_free(&r);
}

XT_TEST(requests)
{
	struct run r;
	const char *y = POOL_HDR
		"metadata: {name: lan}\nspec:\n  blocks: [{cidr: 192.0.2.0/29}]\n"
		"---\n" POOL_HDR
		"metadata: {name: v6}\nspec:\n  autoAssign: false\n"
		"  blocks: [{cidr: '2001:db8::/126'}]\n" SVC("ns", "auto", "", PORTS_80, "") SVC(
			"ns", "spec", "", PORTS_80 "  loadBalancerIP: 192.0.2.3\n", "")
			SVC("ns", "xlb",
			    "  annotations: {xlb.io/loadBalancerIPs: '192.0.2.4, 2001:db8::2'}\n",
			    PORTS_80
			    "  ipFamilies: [IPv4, IPv6]\n  ipFamilyPolicy: RequireDualStack\n",
			    "") SVC("ns", "mlb",
				    "  annotations: {metallb.io/loadBalancerIPs: 192.0.2.6}\n",
				    PORTS_80,
				    "") SVC("ns", "both",
					    "  annotations: {xlb.io/loadBalancerIPs: 192.0.2.7}\n",
					    PORTS_80 "  loadBalancerIP: 192.0.2.7\n",
					    "") SVC("ns", "outside", "",
						    PORTS_80 "  loadBalancerIP: 203.0.113.9\n", "")
				SVC("ns", "bad",
				    "  annotations: {xlb.io/loadBalancerIPs: 192.0.2.300}\n",
				    PORTS_80, "") SVC("ns", "taken", "",
						      PORTS_80 "  loadBalancerIP: 192.0.2.3\n", "")
					SVC("ns", "v6pool",
					    "  annotations: {metallb.io/address-pool: v6}\n",
					    PORTS_80 "  ipFamilies: [IPv6]\n", "");

	if (!run_yaml(&r, y, NULL, false))
		goto out;
	ASSERT_STREQ(result_of(&r, "ns", "auto"), "", "auto ok");
	ASSERT_TRUE(strstr(r.out, "ns/auto=192.0.2.0@lan"), r.out);
	ASSERT_TRUE(strstr(r.out, "ns/spec=192.0.2.3@lan"), r.out);
	/* one pool must hold every address of a Service (the pool annotation
	 * names one pool) */
	ASSERT_TRUE(strstr(r.out, "ns/xlb!requested IPs are in different pools (lan, v6)"), r.out);
	ASSERT_TRUE(strstr(r.out, "ns/mlb=192.0.2.6@lan"), r.out);
	ASSERT_TRUE(strstr(result_of(&r, "ns", "both"),
			   "both spec.loadBalancerIP and annotation xlb.io/loadBalancerIPs"),
		    r.out);
	ASSERT_TRUE(strstr(result_of(&r, "ns", "outside"), "203.0.113.9 is outside every pool"),
		    r.out);
	ASSERT_TRUE(strstr(result_of(&r, "ns", "bad"), "\"192.0.2.300\" is not an IP address"),
		    r.out);
	ASSERT_TRUE(strstr(result_of(&r, "ns", "taken"), "used by Service ns/spec"), r.out);
	/* autoAssign: false pools serve only explicit pool requests */
	ASSERT_TRUE(strstr(r.out, "ns/v6pool=2001:db8::@v6"), r.out);
out:
	run_free(&r);
}

XT_TEST(sharing_key_and_ports)
{
	struct run r;
	const char *y = POOL_HDR
		"metadata: {name: lan}\nspec:\n  blocks: [{cidr: 192.0.2.0/30}]\n" SVC(
			"ns", "dns-tcp", "  annotations: {metallb.io/allow-shared-ip: dns}\n",
			"  ports: [{port: 53, protocol: TCP}]\n  loadBalancerIP: 192.0.2.0\n", "")
			SVC("ns", "dns-udp", "  annotations: {xlb.io/allow-shared-ip: dns}\n",
			    "  ports: [{port: 53, protocol: UDP}]\n", "")
		/* same key, same port: not on the shared address */
		SVC("ns", "dns-udp2", "  annotations: {xlb.io/allow-shared-ip: dns}\n",
		    "  ports: [{port: 53, protocol: UDP}]\n", "")
		/* requests the shared address without the key (requests are
		 * served by name: dns-tcp got it first) */
		SVC("ns", "intruder", "", "  ports: [{port: 99}]\n  loadBalancerIP: 192.0.2.0\n",
		    "")
		/* ETP Local needs the same selector to share */
		SVC("ns", "loc1", "  annotations: {xlb.io/allow-shared-ip: loc}\n",
		    "  ports: [{port: 1}]\n  externalTrafficPolicy: Local\n  selector: {app: x}\n",
		    "") SVC("ns", "loc2", "  annotations: {xlb.io/allow-shared-ip: loc}\n",
			    "  ports: [{port: 2}]\n  externalTrafficPolicy: Local\n  selector: {app: y}\n",
			    "");

	if (!run_yaml(&r, y, NULL, false))
		goto out;
	ASSERT_TRUE(strstr(r.out, "ns/dns-tcp=192.0.2.0@lan"), r.out);
	ASSERT_TRUE(strstr(r.out, "ns/dns-udp=192.0.2.0@lan"), r.out);
	ASSERT_TRUE(strstr(r.out, "ns/dns-udp2=192.0.2.1@lan"), r.out);
	ASSERT_TRUE(strstr(result_of(&r, "ns", "intruder"), "no common sharing key"), r.out);
	ASSERT_TRUE(strstr(r.out, "ns/loc1=192.0.2.2@lan"), r.out);
	ASSERT_TRUE(strstr(r.out, "ns/loc2=192.0.2.3@lan"), r.out);
out:
	run_free(&r);
}

XT_TEST(dual_stack_by_family_policy)
{
	struct run r;
	const char *y = POOL_HDR
		"metadata: {name: a-v4only}\nspec:\n  blocks: [{cidr: 192.0.2.0/31}]\n"
		"---\n" POOL_HDR
		"metadata: {name: b-dual}\nspec:\n  blocks:\n"
		"  - {cidr: 198.51.100.0/31}\n  - {start: '2001:db8::10', stop: '2001:db8::11'}\n" SVC(
			"ns", "req", "",
			PORTS_80
			"  ipFamilies: [IPv6, IPv4]\n"
			"  ipFamilyPolicy: RequireDualStack\n",
			"") SVC("ns", "single", "", PORTS_80 "  ipFamilies: [IPv6]\n", "")
		/* the v6 addresses are gone: Prefer takes what it can, Require
		 * takes nothing */
		SVC("ns", "t-prefer", "",
		    PORTS_80
		    "  ipFamilies: [IPv4, IPv6]\n"
		    "  ipFamilyPolicy: PreferDualStack\n",
		    "") SVC("ns", "u-require", "",
			    PORTS_80
			    "  ipFamilies: [IPv4, IPv6]\n"
			    "  ipFamilyPolicy: RequireDualStack\n",
			    "") SVC("ns", "v4", "", PORTS_80, "");

	if (run_yaml(&r, y, NULL, false))
		ASSERT_STREQ(r.out,
			     "ns/req=2001:db8::10,198.51.100.0@b-dual "
			     "ns/single=2001:db8::11@b-dual ns/t-prefer=192.0.2.0@a-v4only "
			     "ns/u-require!no free dual-stack address in any pool allowed for this "
			     "Service (pools exhausted); add addresses or use a sharing key "
			     "ns/v4=192.0.2.1@a-v4only",
			     "allocation");
	run_free(&r);
}

XT_TEST(class_and_pool_selection)
{
	struct run r;
	const char *y = POOL_HDR
		"metadata: {name: general}\nspec:\n  blocks: [{cidr: 192.0.2.0/30}]\n"
		"---\n" POOL_HDR
		"metadata: {name: team}\nspec:\n  namespaces: [team]\n"
		"  serviceSelector: {matchLabels: {tier: web}}\n"
		"  blocks: [{cidr: 198.51.100.0/30}]\n" SVC("team", "web",
							    "  labels: {tier: web}\n", PORTS_80,
							    "") SVC("team", "db", "", PORTS_80, "")
			SVC("other", "web", "  labels: {tier: web}\n", PORTS_80, "")
				SVC("ns", "classy", "",
				    PORTS_80 "  loadBalancerClass: example.com/other\n", "");

	if (run_yaml(&r, y, NULL, false))
		ASSERT_STREQ(r.out,
			     "ns/classy- other/web=192.0.2.0@general "
			     "team/db=192.0.2.1@general team/web=198.51.100.0@team",
			     "no class");
	run_free(&r);
	if (run_yaml(&r, y, "example.com/other", false))
		ASSERT_STREQ(r.out, "ns/classy=192.0.2.0@general other/web- team/db- team/web-",
			     "--lb-class");
	run_free(&r);
}

XT_TEST(exhausted_and_released)
{
	struct run r;
	const char *y = POOL_HDR
		"metadata: {name: tiny}\nspec:\n  blocks: [{start: 192.0.2.9, stop: 192.0.2.9}]\n" SVC(
			"ns", "a", "", PORTS_80,
			"status: {loadBalancer: {ingress: [{ip: 192.0.2.9}]}}")
			SVC("ns", "b", "", PORTS_80,
			    "status: {loadBalancer: {ingress: [{ip: 192.0.2.9}]}}");

	/* Two Services claim one address in their status (a split brain or a
	 * hand edit): the first by name keeps it, the other fails and its
	 * status is to be cleared. */
	if (run_yaml(&r, y, NULL, false)) {
		ASSERT_TRUE(strstr(r.out, "ns/a=192.0.2.9@tiny(kept)"), r.out);
		ASSERT_TRUE(strstr(result_of(&r, "ns", "b"), "pools exhausted"), r.out);
		ASSERT_TRUE(r.res[1].changed, "b's status must be cleared");
	}
	run_free(&r);
}

static void expect_pool_rejected(const char *spec, const char *msg)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;
	char y[512];

	snprintf(y, sizeof(y), POOL_HDR "metadata: {name: p}\nspec:\n%s", spec);
	if (ASSERT_OK(k8s_cache_load_buf(y, strlen(y), "t", &c, &errs), "parse")) {
		ASSERT_EQ(k8s_cache_count(c), 0, "rejected whole");
		if (!ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR, "LoadBalancerIPPool p", msg), msg))
			dump_msgs(&errs);
	}
	k8s_errors_free(&errs);
	k8s_cache_free(c);
}

XT_TEST(pool_validation)
{
	expect_pool_rejected("  blocks: []\n", "spec.blocks: at least one block");
	expect_pool_rejected("  blocks: [{cidr: 192.0.2.1/24}]\n", "has host bits set");
	expect_pool_rejected("  blocks: [{cidr: 192.0.2.0/33}]\n", "invalid CIDR");
	expect_pool_rejected("  blocks: [{start: 192.0.2.9, stop: 192.0.2.1}]\n", "is after stop");
	expect_pool_rejected("  blocks: [{start: 192.0.2.9, stop: '2001:db8::1'}]\n",
			     "different IP families");
	expect_pool_rejected(
		"  blocks: [{cidr: 192.0.2.0/24}, {start: 192.0.2.9, stop: 192.0.2.20}]\n",
		"overlaps spec.blocks[0]");
	expect_pool_rejected("  blocks: [{cidr: 192.0.2.0/24, start: 192.0.2.1}]\n",
			     "either cidr or start/stop");
	/* Values are case-sensitive, as the API server's enum is. */
	expect_pool_rejected("  blocks: [{cidr: 192.0.2.0/24}]\n  announce: bgp\n",
			     "spec.announce: \"bgp\" is not L2, BGP or None");
	expect_pool_rejected(
		"  blocks: [{cidr: 192.0.2.0/24}]\n"
		"  serviceSelector: {matchExpressions: [{key: a, operator: Exists}]}\n",
		"matchExpressions: not supported");
	expect_pool_rejected("  blocks: [{cidr: 192.0.2.0/24}]\n  autoAssign: maybe\n",
			     "spec.autoAssign: expected true or false");
}

XT_TEST(pool_fields)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;
	const struct k8s_object *p;
	const char *y = POOL_HDR
		"metadata: {name: p, namespace: ignored}\nspec:\n"
		"  blocks: [{cidr: '2001:db8::/64'}]\n  autoAssign: false\n"
		"  nodeSelector: {matchLabels: {role: edge}}\n  interfaces: [eth1]\n"
		"  announce: None\n";

	if (!ASSERT_OK(k8s_cache_load_buf(y, strlen(y), "t", &c, &errs), "parse"))
		goto out;
	p = k8s_cache_get(c, K8S_KIND_LBPOOL, "", "p");
	if (!ASSERT_TRUE(p, "cluster-scoped pool under namespace \"\""))
		goto out;
	ASSERT_EQ(p->pool.n_blocks, 1, "blocks");
	ASSERT_EQ(p->pool.blocks[0].last.addr.bytes[15], 0xff, "last of /64");
	ASSERT_EQ(p->pool.blocks[0].last.addr.bytes[7], 0, "last of /64 (network part)");
	ASSERT_EQ(p->pool.auto_assign, false, "autoAssign");
	ASSERT_EQ(p->pool.n_node_selector, 1, "nodeSelector");
	ASSERT_STREQ(p->pool.interfaces[0], "eth1", "interfaces");
	ASSERT_EQ(p->pool.announce, K8S_ANNOUNCE_NONE, "announce");
out:
	k8s_errors_free(&errs);
	k8s_cache_free(c);
}

/* File mode: with no pool xlb is not the allocator; addresses another
 * controller wrote stay. With a pool, a status outside it is released and
 * the Service gets an address of the pool. */
XT_TEST(apply_cache_without_pools_touches_nothing)
{
	const char *svc = SVC("ns", "a", "", PORTS_80,
			      "status: {loadBalancer: {ingress: [{ip: 198.51.100.7}]}}");
	char with_pool[1024];
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;
	const struct k8s_object *o;
	char b[64];

	if (!ASSERT_OK(k8s_cache_load_buf(svc, strlen(svc), "t", &c, &errs), "parse"))
		goto out;
	ASSERT_EQ(xlb_ipam_apply_cache(c, NULL), 0, "no failures");
	o = k8s_cache_get(c, K8S_KIND_SERVICE, "ns", "a");
	if (ASSERT_TRUE(o && o->svc.n_ingress == 1, "status kept"))
		ASSERT_STREQ(k8s_ip_str(&o->svc.ingress[0].ip, b, sizeof(b)), "198.51.100.7",
			     "same IP");
	k8s_cache_free(c);
	c = NULL;
	snprintf(with_pool, sizeof(with_pool), "%s%s",
		 POOL_HDR "metadata: {name: lan}\nspec: {blocks: [{cidr: 192.0.2.0/30}]}\n", svc);
	if (!ASSERT_OK(k8s_cache_load_buf(with_pool, strlen(with_pool), "t", &c, &errs), "parse"))
		goto out;
	ASSERT_EQ(xlb_ipam_apply_cache(c, NULL), 0, "no failures");
	o = k8s_cache_get(c, K8S_KIND_SERVICE, "ns", "a");
	if (ASSERT_TRUE(o && o->svc.n_ingress == 1, "one address"))
		ASSERT_STREQ(k8s_ip_str(&o->svc.ingress[0].ip, b, sizeof(b)), "192.0.2.0",
			     "released, re-allocated from the pool");
out:
	k8s_errors_free(&errs);
	k8s_cache_free(c);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for translate (user/translate.c): kubectl-shaped fixtures in,
 * desired state out. Frontends and backends are compared as strings
 * ("192.0.2.10:80/TCP *:30080/TCP", "10.1.1.2:8080/local/term"), so a
 * failure shows the whole set at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "k8s/cache.h"
#include "translate.h"
#include "../lib/xtest.h"
#include "k8s_msgs.h"

#define FIXTURE(name) "selftests/unit/fixtures/" name

/* Load repository files (NULL-terminated) into one new cache. */
static struct k8s_cache *load(const char *const *files)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = k8s_cache_new();
	char path[PATH_MAX];

	if (!ASSERT_TRUE(c, "cache"))
		return NULL;
	for (; *files; files++) {
		struct k8s_object_list l = { 0 };

		if (!ASSERT_TRUE(xt_repo_file(*files, path, sizeof(path)), *files))
			goto fail;
		if (!ASSERT_OK(k8s_parse_file(path, &l, &errs), *files) ||
		    !ASSERT_OK(k8s_cache_put_list(c, &l, &errs), *files)) {
			k8s_object_list_free(&l);
			goto fail;
		}
	}
	if (!ASSERT_EQ(errs.n_errors, 0, "fixture errors"))
		goto fail;
	k8s_errors_free(&errs);
	return c;
fail:
	dump_msgs(&errs);
	k8s_errors_free(&errs);
	k8s_cache_free(c);
	return NULL;
}

static struct k8s_cache *load1(const char *file)
{
	const char *files[] = { file, NULL };

	return load(files);
}

static int run(const struct k8s_cache *c, const char *node, struct xlb_desired *d,
	       struct k8s_errors *errs)
{
	struct xlb_translate_opts o = { .node_name = node };

	return xlb_translate(c, &o, d, errs);
}

static void frontends_str(const struct xlb_desired_svcport *sp, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sp->n_frontends && off < size; i++) {
		char one[80];

		if (xlb_frontend_str(&sp->frontends[i].key, one, sizeof(one)))
			snprintf(one, sizeof(one), "?");
		off += snprintf(buf + off, size - off, "%s%s", i ? " " : "", one);
	}
}

static void backends_str(const struct xlb_desired_svcport *sp, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sp->n_backends && off < size; i++) {
		const struct xlb_desired_backend *b = &sp->backends[i];
		bool v6 = b->family == XLB_AF_INET6;
		char a[INET6_ADDRSTRLEN];

		inet_ntop(v6 ? AF_INET6 : AF_INET, b->addr.bytes, a, sizeof(a));
		off += snprintf(buf + off, size - off, "%s%s%s%s:%u%s%s", i ? " " : "",
				v6 ? "[" : "", a, v6 ? "]" : "", b->port, b->local ? "/local" : "",
				b->terminating ? "/term" : "");
	}
}

/*
 * Check one service port: its frontends and backends as strings and its
 * endpoint counts. Returns the port (NULL when absent) for more checks.
 */
static const struct xlb_desired_svcport *check_port(const struct xlb_desired *d, const char *name,
						    const char *fe, const char *be,
						    uint32_t total_ready)
{
	const struct xlb_desired_svcport *sp = xlb_desired_find(d, name);
	char buf[1024];

	if (!ASSERT_TRUE(sp, name))
		return NULL;
	frontends_str(sp, buf, sizeof(buf));
	if (!ASSERT_STREQ(buf, fe, name))
		xt_log("frontends of %s", name);
	backends_str(sp, buf, sizeof(buf));
	if (!ASSERT_STREQ(buf, be, name))
		xt_log("backends of %s", name);
	if (!ASSERT_EQ(sp->total_ready, total_ready, name))
		xt_log("total_ready of %s", name);
	return sp;
}

static void dump_desired(const struct xlb_desired *d)
{
	char fe[1024], be[1024];

	for (size_t i = 0; i < d->n; i++) {
		frontends_str(&d->svcports[i], fe, sizeof(fe));
		backends_str(&d->svcports[i], be, sizeof(be));
		xt_log("%s fe=[%s] be=[%s] total=%u local=%u", d->svcports[i].name, fe, be,
		       d->svcports[i].total_ready, d->svcports[i].n_local_ready);
	}
}

/* ---- the shipped examples --------------------------------------------- */

XT_TEST(test_examples)
{
	const char *files[] = { "examples/nodeport.yaml", "examples/loadbalancer.yaml", NULL };
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_desired d = { 0 };
	const struct xlb_desired_svcport *sp;
	struct k8s_cache *c = load(files);

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node1", &d, &errs), "translate"))
		goto out;
	ASSERT_EQ(errs.n_errors + errs.n_warnings, 0, "clean");
	ASSERT_EQ(d.n, 2, "two service ports");

	sp = check_port(&d, "default/web:/TCP", "*:30080/TCP", "10.1.1.2:8080/local 10.2.1.2:8080",
			2);
	if (sp) {
		ASSERT_EQ(sp->proto, IPPROTO_TCP, "proto");
		ASSERT_TRUE(!sp->etp_local, "eTP Cluster");
		ASSERT_EQ(sp->health_check_node_port, 0, "no hcnp");
		ASSERT_EQ(sp->n_local_ready, 1, "local ready");
		ASSERT_STREQ(sp->backends[0].node_name, "node1", "node name");
		ASSERT_STREQ(sp->svc_namespace, "default", "namespace");
		ASSERT_STREQ(sp->svc_name, "web", "name");
		ASSERT_EQ(sp->port, 80, "service port");
	}
	sp = check_port(&d, "default/shop:http/TCP", "192.0.2.10:80/TCP *:30081/TCP",
			"10.1.1.2:8080/local", 2);
	if (sp) {
		ASSERT_TRUE(sp->etp_local, "eTP Local");
		ASSERT_EQ(sp->health_check_node_port, 30999, "hcnp");
		ASSERT_EQ(sp->n_local_ready, 1, "local ready");
	}
	xlb_desired_free(&d);

	/* A node without endpoints: ETP Local drops (total_ready > 0). */
	if (!ASSERT_OK(run(c, "node3", &d, &errs), "translate node3"))
		goto out;
	sp = check_port(&d, "default/shop:http/TCP", "192.0.2.10:80/TCP *:30081/TCP", "", 2);
	if (sp)
		ASSERT_EQ(sp->n_local_ready, 0, "no local endpoint");
	check_port(&d, "default/web:/TCP", "*:30080/TCP", "10.1.1.2:8080 10.2.1.2:8080", 2);
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

/* Each example file on its own, as `xlb --file` would load it. */
XT_TEST(test_examples_alone)
{
	static const char *const files[] = { "examples/nodeport.yaml",
					     "examples/loadbalancer.yaml" };

	for (size_t i = 0; i < 2; i++) {
		struct k8s_errors errs = K8S_ERRORS_INIT;
		struct xlb_desired d = { 0 };
		struct k8s_cache *c = NULL;
		char path[PATH_MAX];

		if (!ASSERT_TRUE(xt_repo_file(files[i], path, sizeof(path)), files[i]))
			continue;
		ASSERT_OK(k8s_cache_load_file(path, &c, &errs), files[i]);
		ASSERT_OK(run(c, "node2", &d, &errs), files[i]);
		ASSERT_EQ(d.n, 1, files[i]);
		if (d.n == 1) {
			ASSERT_EQ(d.svcports[0].n_backends, 1 + (i == 0), files[i]);
			ASSERT_EQ(d.svcports[0].total_ready, 2, files[i]);
		}
		ASSERT_EQ(errs.n_errors, 0, files[i]);
		xlb_desired_free(&d);
		k8s_cache_free(c);
		k8s_errors_free(&errs);
	}
}

/* The frontend keys are map keys: exact bytes, pads zero. */
XT_TEST(test_frontend_key_bytes)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1("examples/loadbalancer.yaml");
	const struct xlb_desired_svcport *sp;
	struct xlb_svc_key want;

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node1", &d, NULL), "translate"))
		goto out;
	sp = xlb_desired_find(&d, "default/shop:http/TCP");
	if (!ASSERT_TRUE(sp, "svcport") || !ASSERT_EQ(sp->n_frontends, 2, "frontends"))
		goto out;

	memset(&want, 0, sizeof(want));
	want.addr.v4 = htonl(0xc000020a); /* 192.0.2.10 */
	want.port = htons(80);
	want.proto = IPPROTO_TCP;
	want.family = XLB_AF_INET;
	want.scope = XLB_SCOPE_VIP;
	ASSERT_MEMEQ(&sp->frontends[0].key, &want, sizeof(want), "VIP key");

	memset(&want, 0, sizeof(want));
	want.port = htons(30081);
	want.proto = IPPROTO_TCP;
	want.family = XLB_AF_INET;
	want.scope = XLB_SCOPE_NODEPORT;
	ASSERT_MEMEQ(&sp->frontends[1].key, &want, sizeof(want), "NodePort key");

	ASSERT_EQ(sp->backends[0].addr.v4, htonl(0x0a010102), "10.1.1.2");
	ASSERT_EQ(sp->backends[0].port, 8080, "host order port");
	ASSERT_EQ(sp->backends[0].family, XLB_AF_INET, "family");
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

/* ---- translate_cases.yaml --------------------------------------------- */

XT_TEST(test_nodeport)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));
	const struct xlb_desired_svcport *sp;

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, NULL), "translate"))
		goto out;
	/* 10.244.2.11 is neither ready nor serving: never used. */
	sp = check_port(&d, "t/np:/TCP", "*:30100/TCP", "10.244.1.10:8080/local 10.244.2.10:8080",
			2);
	if (sp)
		ASSERT_STREQ(sp->backends[1].node_name, "node-b", "node");
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

XT_TEST(test_loadbalancer_ingress)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, &errs), "translate"))
		goto out;
	/* 192.0.2.21 is ipMode Proxy and lb.example.com has no ip: no VIP;
	 * 192.0.2.22 defaults to VIP; the externalIP is a VIP too. Named
	 * targetPort "http" resolved through the slice port. */
	check_port(&d, "t/lb:http/TCP",
		   "192.0.2.20:80/TCP 192.0.2.22:80/TCP 198.51.100.20:80/TCP *:30101/TCP",
		   "10.244.1.20:8080/local", 1);
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_DEBUG, "Service t/lb:", "192.0.2.21 has ipMode Proxy"),
		    "Proxy noted");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_DEBUG, "Service t/lb:", "lb.example.com"),
		    "hostname noted");
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

XT_TEST(test_external_ips)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, NULL), "translate"))
		goto out;
	/* ClusterIP type: the externalIP is its only frontend. */
	check_port(&d, "t/cip-ext:https/TCP", "198.51.100.30:443/TCP", "10.244.2.30:8443", 1);
	/* Plain ClusterIP: nothing for xlb. */
	ASSERT_TRUE(!xlb_desired_find(&d, "t/cip:/TCP"), "ClusterIP ignored");
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

XT_TEST(test_etp_local)
{
	static const struct {
		const char *node;
		const char *be;
		uint32_t local_ready;
	} cases[] = {
		{ "node-a", "10.244.1.40:8080/local 10.244.1.41:8080/local", 2 },
		/* node-b: the ready local one wins over the terminating. */
		{ "node-b", "10.244.2.40:8080/local", 1 },
		/* node-c: none here, endpoints elsewhere: drop. */
		{ "node-c", "", 0 },
	};
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));

	if (!c)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xlb_desired d = { 0 };
		const struct xlb_desired_svcport *sp;

		if (!ASSERT_OK(run(c, cases[i].node, &d, NULL), cases[i].node))
			continue;
		/* total_ready counts all ready endpoints cluster-wide. */
		sp = check_port(&d, "t/local:/TCP", "192.0.2.40:80/TCP *:30102/TCP", cases[i].be,
				3);
		if (sp) {
			ASSERT_TRUE(sp->etp_local, cases[i].node);
			ASSERT_EQ(sp->health_check_node_port, 32100, cases[i].node);
			ASSERT_EQ(sp->n_local_ready, cases[i].local_ready, cases[i].node);
		}
		xlb_desired_free(&d);
	}
	k8s_cache_free(c);
}

/* ETP Local: the serving+terminating fallback applies to the local set
 * even though another node has a ready endpoint (k8s-spec §4.1). */
XT_TEST(test_etp_local_fallback)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));
	const struct xlb_desired_svcport *sp;

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, NULL), "translate"))
		goto out;
	sp = check_port(&d, "t/local-term:/TCP", "*:30103/TCP", "10.244.1.50:8080/local/term", 1);
	if (sp) {
		/* Terminating local endpoints fail the health check. */
		ASSERT_EQ(sp->n_local_ready, 0, "local ready");
		ASSERT_EQ(sp->health_check_node_port, 0, "NodePort: no hcnp");
	}
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

XT_TEST(test_fallback_terminating)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, NULL), "translate"))
		goto out;
	/* No ready endpoint: the serving+terminating ones, not the one that
	 * stopped serving (.61) nor the unready non-terminating one (.62). */
	check_port(&d, "t/fallback:/TCP", "*:30104/TCP",
		   "10.244.1.60:8080/local/term 10.244.2.60:8080/term", 2);
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

XT_TEST(test_ready_wins_over_terminating)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, NULL), "translate"))
		goto out;
	check_port(&d, "t/mixed:/TCP", "*:30105/TCP", "10.244.1.70:8080", 1);
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

/*
 * Three ports (UDP and TCP on 53, named http), two slices merged. Pods
 * resolved the named port to 8080 in one slice and 8081 in the other.
 * 10.244.2.80:5353 is in both slices, terminating in one and ready in the
 * other: the non-terminating copy wins (k8s-spec §3).
 */
XT_TEST(test_multi_port_two_slices)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));
	const struct xlb_desired_svcport *sp;

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, NULL), "translate"))
		goto out;
	sp = check_port(&d, "t/multi:dns/UDP", "*:30053/UDP",
			"10.244.1.80:5353/local 10.244.2.80:5353 10.244.3.80:5353", 3);
	if (sp)
		ASSERT_EQ(sp->proto, IPPROTO_UDP, "UDP");
	sp = check_port(&d, "t/multi:dns-tcp/TCP", "*:30053/TCP",
			"10.244.1.80:5353/local 10.244.2.80:5353 10.244.3.80:5353", 3);
	if (sp)
		ASSERT_EQ(sp->proto, IPPROTO_TCP, "TCP");
	check_port(&d, "t/multi:http/TCP", "*:30106/TCP",
		   "10.244.1.80:8080/local 10.244.2.80:8081 10.244.3.80:8081", 3);
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

XT_TEST(test_ignored_services)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));
	char prefix[XLB_SVCPORT_NAME_MAX];

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, &errs), "translate"))
		goto out;
	for (size_t i = 0; i < d.n; i++) {
		snprintf(prefix, sizeof(prefix), "%s", d.svcports[i].name);
		ASSERT_TRUE(strncmp(prefix, "t/headless:", 11) &&
				    strncmp(prefix, "t/extname:", 10) &&
				    strncmp(prefix, "t/other-proxy:", 14) &&
				    strncmp(prefix, "t/cip:", 6),
			    prefix);
	}
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_DEBUG, "Service t/headless:", "headless"), "headless");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_DEBUG, "Service t/extname:", "ExternalName"),
		    "ExternalName");
	ASSERT_TRUE(
		has_msg(&errs, K8S_SEV_DEBUG, "Service t/other-proxy:", "service-proxy-name=other"),
		"service-proxy-name");
	/* np lb cip-ext local local-term fallback mixed multi(3) noslice
	 * sctp(1): 12 service ports. */
	if (!ASSERT_EQ(d.n, 12, "service ports"))
		dump_desired(&d);
	ASSERT_EQ(errs.n_errors + errs.n_warnings, 0, "clean");
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

XT_TEST(test_no_slice)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_cases.yaml"));
	const struct xlb_desired_svcport *sp;

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, NULL), "translate"))
		goto out;
	/* No endpoints anywhere: reject. */
	sp = check_port(&d, "t/noslice:/TCP", "*:30108/TCP", "", 0);
	if (sp) {
		ASSERT_EQ(sp->n_backends, 0, "no backends");
		ASSERT_TRUE(!sp->backends, "no array");
		ASSERT_EQ(sp->n_local_ready, 0, "no local");
	}
	/* The SCTP port of t/sctp is gone, its TCP port stays. */
	check_port(&d, "t/sctp:web/TCP", "*:30109/TCP", "10.244.1.99:8080/local", 1);
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

/* ---- shop.json (k8s-spec §7) ------------------------------------------ */

XT_TEST(test_named_target_port)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("shop.json"));
	const struct xlb_desired_svcport *sp;

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, NULL), "translate"))
		goto out;
	ASSERT_EQ(d.n, 2, "web's two ports; default/kubernetes is ClusterIP");
	/* targetPort "http" -> slice port http = 8080. */
	sp = check_port(&d, "shop/web:http/TCP", "192.0.2.10:80/TCP *:31380/TCP",
			"10.244.1.17:8080/local", 1);
	if (sp) {
		ASSERT_EQ(sp->health_check_node_port, 32001, "hcnp");
		ASSERT_EQ(sp->n_local_ready, 1, "local ready");
		ASSERT_EQ(sp->affinity_timeout, 0, "no affinity");
		/* loadBalancerSourceRanges guard the LB VIP only. */
		if (ASSERT_EQ(sp->n_source_ranges, 1, "source ranges")) {
			ASSERT_EQ(sp->source_ranges[0].addr.v4, htonl(0xcb007100), "203.0.113.0");
			ASSERT_EQ(sp->source_ranges[0].prefix_len, 24, "/24");
			ASSERT_EQ(sp->source_ranges[0].family, XLB_AF_INET, "family");
		}
		ASSERT_TRUE(sp->frontends[0].source_ranges, "VIP filtered");
		ASSERT_TRUE(!sp->frontends[1].source_ranges, "NodePort bypasses the ranges");
	}
	check_port(&d, "shop/web:metrics/TCP", "192.0.2.10:9100/TCP *:30910/TCP",
		   "10.244.1.17:9100/local", 1);
	xlb_desired_free(&d);

	/* node-b has only the terminating Pod: ETP Local falls back to it,
	 * and the health check reports 0 (k8s-spec §4.4). */
	if (!ASSERT_OK(run(c, "node-b", &d, NULL), "translate node-b"))
		goto out;
	sp = check_port(&d, "shop/web:http/TCP", "192.0.2.10:80/TCP *:31380/TCP",
			"10.244.2.9:8080/local/term", 1);
	if (sp)
		ASSERT_EQ(sp->n_local_ready, 0, "local ready");
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

/* ---- conflicts -------------------------------------------------------- */

static void check_conflicts(const struct xlb_desired *d, const struct k8s_errors *errs)
{
	check_port(d, "c/a:http/TCP", "192.0.2.50:80/TCP *:30200/TCP", "", 0);
	/* c/b:http/TCP lost its only frontend: gone. c/b:alt stays. */
	ASSERT_TRUE(!xlb_desired_find(d, "c/b:http/TCP"), "c/b:http dropped");
	check_port(d, "c/b:alt/TCP", "192.0.2.50:8080/TCP", "", 0);
	ASSERT_TRUE(!xlb_desired_find(d, "c/c:http/TCP"), "c/c:http dropped");
	/* Same nodePort over UDP: no conflict. */
	check_port(d, "c/d:dns/UDP", "*:30200/UDP", "", 0);
	ASSERT_EQ(d->n, 3, "service ports");

	ASSERT_EQ(errs->n_errors, 2, "two conflicts");
	ASSERT_TRUE(has_msg(errs, K8S_SEV_ERROR, "c/b:http/TCP: frontend 192.0.2.50:80/TCP",
			    "already used by c/a:http/TCP"),
		    "VIP conflict");
	ASSERT_TRUE(has_msg(errs, K8S_SEV_ERROR, "c/c:http/TCP: frontend *:30200/TCP",
			    "already used by c/a:http/TCP"),
		    "nodePort conflict");
}

XT_TEST(test_duplicate_frontend)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_object_list l = { 0 };
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_conflict.yaml"));
	char path[PATH_MAX];

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, &errs), "translate"))
		goto out;
	check_conflicts(&d, &errs);
	xlb_desired_free(&d);
	k8s_errors_free(&errs);
	k8s_cache_free(c);

	/* Deterministic: the same winner whatever the input order. */
	c = k8s_cache_new();
	if (!ASSERT_TRUE(c, "cache") ||
	    !ASSERT_TRUE(xt_repo_file(FIXTURE("translate_conflict.yaml"), path, sizeof(path)),
			 "fixture") ||
	    !ASSERT_OK(k8s_parse_file(path, &l, NULL), "parse"))
		goto out;
	for (size_t i = l.n; i-- > 0;) {
		ASSERT_OK(k8s_cache_put(c, l.v[i]), "put");
		l.v[i] = NULL;
	}
	l.n = 0;
	if (!ASSERT_OK(run(c, "node-a", &d, &errs), "translate reversed"))
		goto out;
	check_conflicts(&d, &errs);
out:
	k8s_object_list_free(&l);
	xlb_desired_free(&d);
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

/* ---- IPv6 ------------------------------------------------------------- */

XT_TEST(test_dual_stack)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1(FIXTURE("translate_dual.yaml"));
	const struct xlb_desired_svcport *sp;

	if (!c)
		return;
	if (!ASSERT_OK(run(c, "node-a", &d, &errs), "translate"))
		goto out;
	sp = check_port(
		&d, "d/dual:http/TCP",
		"192.0.2.60:80/TCP [2001:db8::60]:80/TCP [2001:db8::61]:80/TCP *:30300/TCP [*]:30300/TCP",
		"10.244.1.90:8080/local [fd00:244:1::90]:8080/local [fd00:244:2::90]:8080", 3);
	if (sp) {
		ASSERT_EQ(sp->total_ready_v4, 1, "v4");
		ASSERT_EQ(sp->total_ready_v6, 2, "v6");
		ASSERT_EQ(sp->n_local_ready, 2, "distinct local IPs");
		ASSERT_EQ(sp->frontends[1].key.family, XLB_AF_INET6, "family");
		ASSERT_EQ(sp->backends[1].family, XLB_AF_INET6, "be family");
	}
	/* Single-stack IPv4: the IPv6 externalIP and slice are ignored. */
	check_port(&d, "d/v4only:/TCP", "*:30301/TCP", "10.244.1.91:8080/local", 1);
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_WARN, "Service d/v4only:", "externalIP 2001:db8::62"),
		    "warned");
	ASSERT_EQ(errs.n_errors, 0, "no errors");
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

/* ---- properties ------------------------------------------------------- */

static bool same_desired(const struct xlb_desired *a, const struct xlb_desired *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct xlb_desired_svcport *x = &a->svcports[i];
		const struct xlb_desired_svcport *y = &b->svcports[i];

		if (strcmp(x->name, y->name) || x->proto != y->proto ||
		    x->etp_local != y->etp_local ||
		    x->health_check_node_port != y->health_check_node_port ||
		    x->total_ready != y->total_ready || x->n_local_ready != y->n_local_ready ||
		    x->n_frontends != y->n_frontends || x->n_backends != y->n_backends ||
		    x->affinity_timeout != y->affinity_timeout ||
		    x->n_source_ranges != y->n_source_ranges ||
		    (x->n_backends &&
		     memcmp(x->backends, y->backends, x->n_backends * sizeof(*x->backends))) ||
		    (x->n_source_ranges && memcmp(x->source_ranges, y->source_ranges,
						  x->n_source_ranges * sizeof(*x->source_ranges))))
			return false;
		for (size_t j = 0; j < x->n_frontends; j++)
			if (memcmp(&x->frontends[j].key, &y->frontends[j].key,
				   sizeof(x->frontends[j].key)) ||
			    x->frontends[j].source_ranges != y->frontends[j].source_ranges)
				return false;
	}
	return true;
}

/* Same objects in another order, same bytes out. */
XT_TEST(test_deterministic)
{
	static const char *const files[] = {
		FIXTURE("translate_cases.yaml"),
		FIXTURE("translate_dual.yaml"),
		FIXTURE("shop.json"),
		"examples/nodeport.yaml",
	};
	struct k8s_object_list a = { 0 }, b = { 0 };
	struct k8s_cache *c1 = k8s_cache_new(), *c2 = k8s_cache_new();
	struct xlb_desired d1 = { 0 }, d2 = { 0 }, d3 = { 0 };
	char path[PATH_MAX];
	size_t n;

	if (!ASSERT_TRUE(c1 && c2, "caches"))
		goto out;
	/* Parse everything twice: a goes into c1 in file order, b into c2
	 * in reverse order. */
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!ASSERT_TRUE(xt_repo_file(files[i], path, sizeof(path)), files[i]) ||
		    !ASSERT_OK(k8s_parse_file(path, &a, NULL), files[i]) ||
		    !ASSERT_OK(k8s_parse_file(path, &b, NULL), files[i]))
			goto out;
	if (!ASSERT_EQ(a.n, b.n, "same objects"))
		goto out;
	n = a.n;
	for (size_t i = 0; i < n; i++) {
		if (!ASSERT_OK(k8s_cache_put(c1, a.v[i]), "put c1") ||
		    !ASSERT_OK(k8s_cache_put(c2, b.v[n - 1 - i]), "put c2"))
			goto out;
		a.v[i] = NULL;
		b.v[n - 1 - i] = NULL;
	}
	ASSERT_OK(run(c1, "node-a", &d1, NULL), "translate c1");
	ASSERT_OK(run(c2, "node-a", &d2, NULL), "translate c2");
	ASSERT_OK(run(c1, "node-a", &d3, NULL), "translate c1 again");
	ASSERT_TRUE(d1.n > 15, "many service ports");
	ASSERT_TRUE(same_desired(&d1, &d2), "order of insertion");
	ASSERT_TRUE(same_desired(&d1, &d3), "repeatable");
	for (size_t i = 1; i < d1.n; i++)
		if (!ASSERT_TRUE(strcmp(d1.svcports[i - 1].name, d1.svcports[i].name) < 0,
				 "sorted"))
			break;
out:
	/* Entries moved into a cache are NULL; freeing NULL is a no-op. */
	k8s_object_list_free(&a);
	k8s_object_list_free(&b);
	xlb_desired_free(&d1);
	xlb_desired_free(&d2);
	xlb_desired_free(&d3);
	k8s_cache_free(c1);
	k8s_cache_free(c2);
}

/* Watch-style updates through the cache change the output. */
XT_TEST(test_cache_updates)
{
	static const char slice_v2[] =
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata:\n  name: web-6jx4k\n  namespace: default\n"
		"  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv4\n"
		"endpoints:\n- addresses: [10.2.1.3]\n  nodeName: node2\n"
		"ports:\n- port: 8080\n";
	struct k8s_object_list l = { 0 };
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1("examples/nodeport.yaml");

	if (!c)
		return;
	ASSERT_OK(k8s_cache_delete(c, K8S_KIND_ENDPOINTSLICE, "default", "web-6jx4k"),
		  "delete slice");
	ASSERT_OK(run(c, "node1", &d, NULL), "translate");
	check_port(&d, "default/web:/TCP", "*:30080/TCP", "", 0);
	xlb_desired_free(&d);

	ASSERT_OK(k8s_parse_buf(slice_v2, strlen(slice_v2), "v2", &l, NULL), "parse");
	ASSERT_OK(k8s_cache_put_list(c, &l, NULL), "put");
	ASSERT_OK(run(c, "node1", &d, NULL), "translate");
	check_port(&d, "default/web:/TCP", "*:30080/TCP", "10.2.1.3:8080", 1);
	xlb_desired_free(&d);

	ASSERT_OK(k8s_cache_delete(c, K8S_KIND_SERVICE, "default", "web"), "delete service");
	ASSERT_OK(run(c, "node1", &d, NULL), "translate");
	ASSERT_EQ(d.n, 0, "nothing left");
	ASSERT_TRUE(!d.svcports, "no array");
	xlb_desired_free(&d);
	k8s_object_list_free(&l);
	k8s_cache_free(c);
}

/* Slice ports match by name AND protocol, never by number (k8s-spec §3):
 * a Service switched to UDP while its slice still says TCP has no
 * backends yet. */
XT_TEST(test_slice_port_protocol)
{
	static const char text[] =
		"apiVersion: v1\nkind: Service\n"
		"metadata: {name: dns, namespace: p}\n"
		"spec:\n  type: NodePort\n  clusterIP: 10.96.9.1\n"
		"  ports:\n  - {port: 53, protocol: UDP, nodePort: 30120}\n"
		"---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		"metadata:\n  name: dns-1\n  namespace: p\n"
		"  labels: {kubernetes.io/service-name: dns}\n"
		"addressType: IPv4\n"
		"endpoints:\n- addresses: [10.244.9.1]\n"
		"ports:\n- {name: \"\", port: 53, protocol: TCP}\n";
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = NULL;

	if (!ASSERT_OK(k8s_cache_load_buf(text, strlen(text), "inline", &c, NULL), "load"))
		return;
	ASSERT_OK(run(c, "node-a", &d, NULL), "translate");
	check_port(&d, "p/dns:/UDP", "*:30120/UDP", "", 0);
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

/* One address as both externalIP and ingress IP of the same Service: one
 * frontend, and no conflict error. Also affinity and source ranges. */
XT_TEST(test_same_vip_twice)
{
	static const char text[] =
		"apiVersion: v1\nkind: Service\n"
		"metadata: {name: twice, namespace: p}\n"
		"spec:\n  type: LoadBalancer\n  clusterIP: 10.96.9.2\n"
		"  externalIPs: [192.0.2.70, 198.51.100.70]\n"
		"  sessionAffinity: ClientIP\n"
		"  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n"
		"  loadBalancerSourceRanges: [\" 198.51.100.0/24 \", 10.1.2.3/8,\n"
		"    10.0.0.0/8, \"2001:db8::/32\"]\n"
		"  ports:\n  - {port: 80, nodePort: 30121}\n"
		"status:\n  loadBalancer:\n    ingress: [{ip: 192.0.2.70, ipMode: VIP}]\n";
	const struct xlb_desired_svcport *sp;
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = NULL;

	if (!ASSERT_OK(k8s_cache_load_buf(text, strlen(text), "inline", &c, &errs), "load"))
		goto out;
	ASSERT_OK(run(c, "node-a", &d, &errs), "translate");
	sp = check_port(&d, "p/twice:/TCP", "192.0.2.70:80/TCP 198.51.100.70:80/TCP *:30121/TCP",
			"", 0);
	ASSERT_EQ(errs.n_errors, 0, "no conflict with itself");
	if (!sp)
		goto out;
	ASSERT_EQ(sp->affinity_timeout, 600, "affinity timeout");
	/* Host bits cleared, duplicates merged, the IPv6 range dropped
	 * (single-stack IPv4 Service), sorted. */
	if (ASSERT_EQ(sp->n_source_ranges, 2, "ranges")) {
		ASSERT_EQ(sp->source_ranges[0].addr.v4, htonl(0x0a000000), "10.0.0.0");
		ASSERT_EQ(sp->source_ranges[0].prefix_len, 8, "/8");
		ASSERT_EQ(sp->source_ranges[1].addr.v4, htonl(0xc6336400), "198.51.100.0");
		ASSERT_EQ(sp->source_ranges[1].prefix_len, 24, "/24");
	}
	/* The ingress IP (also an externalIP) is filtered; the plain
	 * externalIP and the NodePort are not. */
	ASSERT_TRUE(sp->frontends[0].source_ranges, "ingress VIP");
	ASSERT_TRUE(!sp->frontends[1].source_ranges, "externalIP");
	ASSERT_TRUE(!sp->frontends[2].source_ranges, "NodePort");
out:
	xlb_desired_free(&d);
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

XT_TEST(test_no_node_name)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = load1("examples/loadbalancer.yaml");
	const struct xlb_desired_svcport *sp;

	if (!c)
		return;
	/* No opts: nothing is local, so ETP Local has no backend. */
	ASSERT_OK(xlb_translate(c, NULL, &d, NULL), "translate");
	sp = check_port(&d, "default/shop:http/TCP", "192.0.2.10:80/TCP *:30081/TCP", "", 2);
	if (sp)
		ASSERT_EQ(sp->n_local_ready, 0, "local");
	xlb_desired_free(&d);
	xlb_desired_free(NULL);
	ASSERT_EQ(xlb_translate(NULL, NULL, &d, NULL), -EINVAL, "NULL cache");
	k8s_cache_free(c);
}

XT_TEST(test_empty_cache)
{
	struct xlb_desired d = { 0 };
	struct k8s_cache *c = k8s_cache_new();

	if (!ASSERT_TRUE(c, "cache"))
		return;
	ASSERT_OK(run(c, "node-a", &d, NULL), "translate");
	ASSERT_EQ(d.n, 0, "empty");
	ASSERT_TRUE(!xlb_desired_find(&d, "x"), "find");
	xlb_desired_free(&d);
	k8s_cache_free(c);
}

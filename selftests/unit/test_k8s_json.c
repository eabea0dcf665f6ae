// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The JSON front end of the object parser (k8s_parse_json, used for API
 * objects) against the YAML one (files): the same objects and the same
 * verdicts; strings libyaml cannot read; one bad item alone rejected. And
 * the LIST body splitter of the reflector (kube_items_*), fed in every
 * possible split.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "k8s/cache.h"
#include "kube/reflector.h"
#include "../lib/xtest.h"

static char *slurp(const char *rel)
{
	char path[PATH_MAX], *buf = NULL;
	size_t cap = 0, n = 0;
	FILE *f;

	if (!xt_repo_file(rel, path, sizeof(path)) || !(f = fopen(path, "r")))
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);

		n += got;
		if (!got)
			break;
	}
	buf[n] = 0;
	fclose(f);
	return buf;
}

static bool ip_eq(const struct k8s_ip *a, const struct k8s_ip *b)
{
	return a->family == b->family && !memcmp(a->addr.bytes, b->addr.bytes, 16);
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Every field the agent reads, compared. */
static bool same_object(const struct k8s_object *a, const struct k8s_object *b)
{
	if (a->kind != b->kind || !str_eq(a->meta.namespace, b->meta.namespace) ||
	    !str_eq(a->meta.name, b->meta.name) || !str_eq(a->meta.uid, b->meta.uid) ||
	    !str_eq(a->meta.resource_version, b->meta.resource_version) ||
	    a->meta.n_labels != b->meta.n_labels)
		return false;
	for (size_t i = 0; i < a->meta.n_labels; i++)
		if (!str_eq(a->meta.labels[i].key, b->meta.labels[i].key) ||
		    !str_eq(a->meta.labels[i].value, b->meta.labels[i].value))
			return false;
	if (a->kind == K8S_KIND_SERVICE) {
		const struct k8s_service *x = &a->svc, *y = &b->svc;

		if (x->type != y->type || x->headless != y->headless ||
		    x->n_cluster_ips != y->n_cluster_ips || x->n_ports != y->n_ports ||
		    x->n_external_ips != y->n_external_ips ||
		    x->n_ip_families != y->n_ip_families ||
		    x->external_traffic_policy != y->external_traffic_policy ||
		    x->internal_traffic_policy != y->internal_traffic_policy ||
		    x->health_check_node_port != y->health_check_node_port ||
		    x->session_affinity != y->session_affinity ||
		    x->affinity_timeout != y->affinity_timeout ||
		    x->n_source_ranges != y->n_source_ranges || x->n_ingress != y->n_ingress)
			return false;
		for (size_t i = 0; i < x->n_cluster_ips; i++)
			if (!ip_eq(&x->cluster_ips[i], &y->cluster_ips[i]))
				return false;
		for (size_t i = 0; i < x->n_external_ips; i++)
			if (!ip_eq(&x->external_ips[i], &y->external_ips[i]))
				return false;
		for (size_t i = 0; i < x->n_ports; i++) {
			const struct k8s_svc_port *p = &x->ports[i], *q = &y->ports[i];

			if (!str_eq(p->name, q->name) || p->proto != q->proto ||
			    p->port != q->port || p->target_port != q->target_port ||
			    p->node_port != q->node_port ||
			    !str_eq(p->target_port_name, q->target_port_name))
				return false;
		}
		for (size_t i = 0; i < x->n_ingress; i++)
			if (x->ingress[i].has_ip != y->ingress[i].has_ip ||
			    !ip_eq(&x->ingress[i].ip, &y->ingress[i].ip) ||
			    x->ingress[i].ip_mode != y->ingress[i].ip_mode ||
			    !str_eq(x->ingress[i].hostname, y->ingress[i].hostname))
				return false;
		for (size_t i = 0; i < x->n_source_ranges; i++)
			if (!ip_eq(&x->source_ranges[i].ip, &y->source_ranges[i].ip) ||
			    x->source_ranges[i].prefix_len != y->source_ranges[i].prefix_len)
				return false;
		return true;
	}
	if (!str_eq(a->eps.service_name, b->eps.service_name) ||
	    a->eps.addr_type != b->eps.addr_type || a->eps.n_endpoints != b->eps.n_endpoints ||
	    a->eps.n_ports != b->eps.n_ports)
		return false;
	for (size_t i = 0; i < a->eps.n_endpoints; i++) {
		const struct k8s_endpoint *p = &a->eps.endpoints[i], *q = &b->eps.endpoints[i];

		if (p->n_addrs != q->n_addrs || p->ready != q->ready || p->serving != q->serving ||
		    p->terminating != q->terminating || !str_eq(p->node_name, q->node_name) ||
		    !str_eq(p->zone, q->zone))
			return false;
		for (size_t j = 0; j < p->n_addrs; j++)
			if (!ip_eq(&p->addrs[j], &q->addrs[j]))
				return false;
	}
	for (size_t i = 0; i < a->eps.n_ports; i++)
		if (!str_eq(a->eps.ports[i].name, b->eps.ports[i].name) ||
		    a->eps.ports[i].proto != b->eps.ports[i].proto ||
		    a->eps.ports[i].port != b->eps.ports[i].port)
			return false;
	return true;
}

/* kubectl -o json of k8s-spec §7: both front ends build the same objects. */
XT_TEST(test_json_matches_yaml_front_end)
{
	struct k8s_errors ey = K8S_ERRORS_INIT, ej = K8S_ERRORS_INIT;
	struct k8s_object_list ly = { 0 }, lj = { 0 };
	char *text = slurp("selftests/unit/fixtures/shop.json");
	cJSON *root = text ? cJSON_Parse(text) : NULL;

	if (!ASSERT_TRUE(root, "fixture parsed"))
		goto out;
	ASSERT_OK(k8s_parse_buf(text, strlen(text), "shop.json", &ly, &ey), "yaml front end");
	ASSERT_OK(k8s_parse_json(root, "api", NULL, &lj, &ej), "json front end");
	if (!ASSERT_EQ(lj.n, ly.n, "same number of objects") || !ASSERT_EQ(ly.n, 3, "three"))
		goto out;
	for (size_t i = 0; i < ly.n; i++)
		ASSERT_TRUE(same_object(ly.v[i], lj.v[i]), ly.v[i]->meta.name);
	ASSERT_EQ(ej.n_errors, ey.n_errors, "same errors");
	ASSERT_EQ(ej.n_warnings, ey.n_warnings, "same warnings");
out:
	cJSON_Delete(root);
	free(text);
	k8s_object_list_free(&ly);
	k8s_object_list_free(&lj);
	k8s_errors_free(&ey);
	k8s_errors_free(&ej);
}

/* Same verdict and message from both front ends for JSON-typed mistakes. */
XT_TEST(test_json_same_verdicts)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":\"80\"}]}}",
		  "spec.ports[0].port: expected an integer, got \"80\"" },
		{ "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":80.5}]}}",
		  "spec.ports[0].port: expected an integer, got \"80.5\"" },
		{ "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":70000}]}}",
		  "spec.ports[0].port: 70000 out of range 1..65535" },
		{ "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":1e30}]}}",
		  "spec.ports[0].port: expected an integer" },
		{ "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":true}]}}",
		  "spec.ports[0].port: expected an integer, got \"true\"" },
		{ "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":[1]}},\"spec\":{\"ports\":[{\"port\":80}]}}",
		  "metadata.labels: expected string keys and values" },
		{ "{\"kind\":\"Service\",\"metadata\":{\"name\":\"a\"},\"spec\":[]}",
		  "spec: expected a mapping" },
		{ "{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"a-1\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],\"conditions\":{\"ready\":\"true\"}}]}",
		  "conditions.ready: expected true or false" },
		{ "{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"a-1\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[10]}]}",
		  "endpoints[0].addresses[0]: invalid IP address \"10\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct k8s_errors ey = K8S_ERRORS_INIT, ej = K8S_ERRORS_INIT;
		struct k8s_object_list ly = { 0 }, lj = { 0 };
		cJSON *o = cJSON_Parse(cases[i].json);
		int found = 0;

		ASSERT_OK(k8s_parse_buf(cases[i].json, strlen(cases[i].json), "f", &ly, &ey),
			  "yaml");
		ASSERT_OK(k8s_parse_json(o, "api", NULL, &lj, &ej), "json");
		ASSERT_EQ(ly.n, 0, cases[i].msg);
		ASSERT_EQ(lj.n, 0, cases[i].msg);
		ASSERT_EQ(ej.n_rejected, 1, "rejected");
		/* 1: the JSON front end said it, 2: the YAML one too */
		for (size_t k = 0; k < ej.n; k++)
			if (strstr(ej.v[k].msg, cases[i].msg))
				found = 1;
		for (size_t k = 0; k < ey.n && found; k++)
			if (strstr(ey.v[k].msg, cases[i].msg))
				found = 2;
		if (!ASSERT_EQ(found, 2, cases[i].msg))
			for (size_t k = 0; k < ej.n; k++)
				xt_log("json: %s", ej.v[k].msg);
		cJSON_Delete(o);
		k8s_object_list_free(&ly);
		k8s_object_list_free(&lj);
		k8s_errors_free(&ey);
		k8s_errors_free(&ej);
	}
}

/*
 * Finding C1: strings that JSON allows and libyaml refuses. Printed to text
 * and read by libyaml, the whole list is lost; decoded from the cJSON tree
 * both Services come through, the annotation is simply not read, and a
 * third, invalid Service is rejected alone.
 */
XT_TEST(test_json_hostile_strings)
{
	static const char *const bad[] = {
		"\\u007f", "\\u0080",	    "\\u009f",	     "\\uffff",
		"\\ufffe", "x\\u2028--- y", "x\\u2029--- y", "x\\u0085--- y",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct k8s_errors errs = K8S_ERRORS_INIT;
		struct k8s_object_list l = { 0 };
		char *text, *printed;
		cJSON *root;

		if (asprintf(
			    &text,
			    "{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"items\":["
			    "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"ports\":[{\"port\":80}]}},"
			    "{\"metadata\":{\"name\":\"b\",\"annotations\":{\"note\":\"%s\"},"
			    "\"labels\":{\"app\":\"b\"}},\"spec\":{\"ports\":[{\"port\":81}]},"
			    "\"status\":{\"conditions\":[{\"message\":\"%s\"}]}},"
			    "{\"metadata\":{\"name\":\"c\"},\"spec\":{\"ports\":[{\"port\":0}]}}]}",
			    bad[i], bad[i]) < 0)
			return;
		root = cJSON_Parse(text);
		printed = cJSON_PrintUnformatted(root);
		/* The old path: cJSON prints the characters raw. */
		if (i < 5 || strstr(bad[i], "2028"))
			ASSERT_EQ(k8s_parse_buf(printed, strlen(printed), "printed", &l, NULL),
				  -EBADMSG, bad[i]);
		k8s_object_list_free(&l);
		ASSERT_OK(k8s_parse_json(root, "api", NULL, &l, &errs), bad[i]);
		if (ASSERT_EQ(l.n, 2, bad[i])) {
			ASSERT_STREQ(l.v[0]->meta.name, "a", "first");
			ASSERT_STREQ(l.v[1]->meta.name, "b", "the annotated one");
			ASSERT_EQ(l.v[1]->svc.ports[0].port, 81, "its port");
		}
		if (ASSERT_EQ(errs.n_rejected, 1, "one rejected"))
			ASSERT_STREQ(errs.rejected[0].name, "c", "the invalid one");
		k8s_object_list_free(&l);
		k8s_errors_free(&errs);
		cJSON_free(printed);
		cJSON_Delete(root);
		free(text);
	}
}

/* ---- LIST body splitter ----------------------------------------------- */

struct got {
	char items[16][256];
	size_t n;
	int stop_at;
};

static int on_item(void *ctx, const char *item, size_t len)
{
	struct got *g = ctx;

	if (g->n < 16)
		snprintf(g->items[g->n], sizeof(g->items[0]), "%.*s", (int)len, item);
	g->n++;
	return g->stop_at && (int)g->n == g->stop_at ? 7 : 0;
}

static const char list_body[] =
	"{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"42\","
	"\"continue\":\"tok\"},\"items\":[{\"metadata\":{\"name\":\"a\",\"x\":\"]},{\\\"\"}},"
	" {\"metadata\":{\"name\":\"b\"},\"l\":[[1],{\"items\":[2]}]} ,\n{}],\"tail\":{\"items\":[9]}}";

/* Every way of cutting the body into two chunks gives the same items. */
XT_TEST(test_items_every_split)
{
	for (size_t cut = 0; cut <= sizeof(list_body) - 1; cut++) {
		struct got g = { 0 };
		struct kube_items s = { .fn = on_item, .ctx = &g };
		cJSON *rest;
		int err;
		char what[32];

		snprintf(what, sizeof(what), "cut at %zu", cut);
		ASSERT_OK(kube_items_feed(&s, list_body, cut), what);
		ASSERT_OK(kube_items_feed(&s, list_body + cut, sizeof(list_body) - 1 - cut), what);
		rest = kube_items_finish(&s, &err);
		if (!ASSERT_OK(err, what) || !ASSERT_EQ(g.n, 3, what)) {
			kube_items_reset(&s);
			continue;
		}
		ASSERT_STREQ(g.items[0], "{\"metadata\":{\"name\":\"a\",\"x\":\"]},{\\\"\"}}",
			     what);
		ASSERT_STREQ(g.items[1],
			     "{\"metadata\":{\"name\":\"b\"},\"l\":[[1],{\"items\":[2]}]} ", what);
		ASSERT_STREQ(g.items[2], "{}", what);
		ASSERT_STREQ(cJSON_GetObjectItem(cJSON_GetObjectItem(rest, "metadata"),
						 "resourceVersion")
				     ->valuestring,
			     "42", what);
		ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(rest, "items")), 0, what);
		/* Only the top-level "items" is split. */
		ASSERT_EQ(cJSON_GetArraySize(
				  cJSON_GetObjectItem(cJSON_GetObjectItem(rest, "tail"), "items")),
			  1, what);
		cJSON_Delete(rest);
		kube_items_reset(&s);
	}
}

XT_TEST(test_items_errors)
{
	struct got g = { .stop_at = 2 };
	struct kube_items s = { .fn = on_item, .ctx = &g };
	int err;

	ASSERT_EQ(kube_items_feed(&s, list_body, sizeof(list_body) - 1), 7, "callback stops");
	ASSERT_EQ(g.n, 2, "stopped at the second item");
	kube_items_reset(&s);

	g = (struct got){ 0 };
	ASSERT_OK(kube_items_feed(&s, list_body, 60), "half");
	ASSERT_TRUE(!kube_items_finish(&s, &err), "truncated body");
	ASSERT_EQ(err, -EBADMSG, "truncated: EBADMSG");
	kube_items_reset(&s);

	ASSERT_OK(kube_items_feed(&s, "[1,2]", 5), "not an object");
	ASSERT_TRUE(!kube_items_finish(&s, &err), "array body");
	kube_items_reset(&s);

	ASSERT_EQ(kube_items_feed(&s, "{}}", 3), -EBADMSG, "unbalanced");
	kube_items_reset(&s);

	s.max = 64;
	g = (struct got){ 0 };
	{
		char big[300];

		memset(big, 'x', sizeof(big));
		ASSERT_OK(kube_items_feed(&s, "{\"items\":[\"", 11), "start");
		ASSERT_EQ(kube_items_feed(&s, big, sizeof(big)), -EBADMSG, "item over the limit");
	}
	kube_items_reset(&s);
	kube_items_reset(&s);
}

XT_TEST(test_strip)
{
	cJSON *o = cJSON_Parse(
		"{\"metadata\":{\"name\":\"a\",\"managedFields\":[{}],"
		"\"annotations\":{\"x\":\"y\"},\"labels\":{\"k\":\"v\"}},"
		"\"status\":{\"conditions\":[{}],\"loadBalancer\":{}}}");
	cJSON *m = cJSON_GetObjectItem(o, "metadata"), *st = cJSON_GetObjectItem(o, "status");

	kube_strip(o);
	ASSERT_TRUE(!cJSON_GetObjectItem(m, "managedFields"), "managedFields gone");
	ASSERT_TRUE(!cJSON_GetObjectItem(m, "annotations"), "annotations gone");
	ASSERT_TRUE(cJSON_GetObjectItem(m, "labels"), "labels kept");
	ASSERT_TRUE(!cJSON_GetObjectItem(st, "conditions"), "conditions gone");
	ASSERT_TRUE(cJSON_GetObjectItem(st, "loadBalancer"), "loadBalancer kept");
	cJSON_Delete(o);
	kube_strip(NULL);
}

/* Review L9: legacy leading-zero IPv4, read as decimal like kube-proxy. */
XT_TEST(test_leading_zero_ipv4)
{
	static const char text[] =
		"{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"a-1\"},\"addressType\":\"IPv4\","
		"\"endpoints\":[{\"addresses\":[\"010.000.001.002\"]}]}";
	static const char *const bad[] = { "1.2.3", "1.2.3.256", "1.2.3.4.5", "0001.2.3.4",
					   "1..2.3" };
	struct k8s_object_list l = { 0 };
	struct k8s_errors errs = K8S_ERRORS_INIT;
	cJSON *o = cJSON_Parse(text);

	ASSERT_OK(k8s_parse_json(o, "api", NULL, &l, &errs), "parse");
	if (ASSERT_EQ(l.n, 1, "accepted") &&
	    ASSERT_EQ(l.v[0]->eps.endpoints[0].n_addrs, 1, "addr")) {
		const uint8_t *a = (const uint8_t *)&l.v[0]->eps.endpoints[0].addrs[0].addr.v4;

		ASSERT_TRUE(a[0] == 10 && a[1] == 0 && a[2] == 1 && a[3] == 2,
			    "decimal, not octal");
	}
	cJSON_Delete(o);
	k8s_object_list_free(&l);
	k8s_errors_free(&errs);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t;

		if (asprintf(&t,
			     "{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"a-1\"},"
			     "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"%s\"]}]}",
			     bad[i]) < 0)
			return;
		o = cJSON_Parse(t);
		ASSERT_OK(k8s_parse_json(o, "api", NULL, &l, NULL), bad[i]);
		ASSERT_EQ(l.n, 0, bad[i]);
		k8s_object_list_free(&l);
		cJSON_Delete(o);
		free(t);
	}
}

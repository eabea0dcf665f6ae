// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for the Kubernetes object parser and cache (user/k8s/):
 * kubectl-shaped fixtures in YAML and JSON, single objects, lists and
 * multi-document files, defaults, validation errors and the cache API.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "k8s/cache.h"
#include "../lib/xtest.h"
#include "k8s_msgs.h"

#define FIXTURE(name) "selftests/unit/fixtures/" name

/* Does some message of severity sev contain all of a, b (b may be NULL)? */

static bool ip_is(const struct k8s_ip *ip, const char *s)
{
	struct k8s_ip want = { 0 };

	if (strchr(s, ':')) {
		want.family = XLB_AF_INET6;
		inet_pton(AF_INET6, s, want.addr.bytes);
	} else {
		want.family = XLB_AF_INET;
		inet_pton(AF_INET, s, &want.addr.v4);
	}
	return ip->family == want.family && !memcmp(ip->addr.bytes, want.addr.bytes, 16);
}

static int load_buf(const char *text, struct k8s_cache **c, struct k8s_errors *errs)
{
	return k8s_cache_load_buf(text, strlen(text), "inline", c, errs);
}

/* k8s-spec §7.1-7.3 as `kubectl get svc,endpointslices -o json`. */
XT_TEST(test_json_list)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;
	const struct k8s_object *o;
	const struct k8s_service *s;
	const struct k8s_endpointslice *e;
	char path[PATH_MAX];

	if (!ASSERT_TRUE(xt_repo_file(FIXTURE("shop.json"), path, sizeof(path)), "fixture"))
		return;
	if (!ASSERT_OK(k8s_cache_load_file(path, &c, &errs), "load"))
		goto out;
	ASSERT_EQ(errs.n_errors, 0, "errors");
	ASSERT_EQ(errs.n_warnings, 0, "warnings");
	ASSERT_EQ(k8s_cache_count(c), 3, "objects");

	o = k8s_cache_get(c, K8S_KIND_SERVICE, "shop", "web");
	if (!ASSERT_TRUE(o, "shop/web"))
		goto out;
	s = &o->svc;
	ASSERT_STREQ(o->meta.uid, "5f0c3c7e-6a3e-4d0b-9a57-2d1b1f0e8c11", "uid");
	ASSERT_STREQ(o->meta.resource_version, "184203", "resourceVersion");
	ASSERT_STREQ(k8s_label(o, "app"), "web", "label app");
	ASSERT_EQ(s->type, K8S_SVC_LOAD_BALANCER, "type");
	ASSERT_TRUE(!s->headless, "not headless");
	if (ASSERT_EQ(s->n_cluster_ips, 1, "clusterIPs"))
		ASSERT_TRUE(ip_is(&s->cluster_ips[0], "10.96.12.34"), "clusterIP");
	if (ASSERT_EQ(s->n_ports, 2, "ports")) {
		ASSERT_STREQ(s->ports[0].name, "http", "port 0 name");
		ASSERT_EQ(s->ports[0].proto, IPPROTO_TCP, "port 0 proto");
		ASSERT_EQ(s->ports[0].port, 80, "port 0 port");
		ASSERT_EQ(s->ports[0].target_port, 0, "port 0 target number");
		ASSERT_STREQ(s->ports[0].target_port_name, "http", "port 0 named targetPort");
		ASSERT_EQ(s->ports[0].node_port, 31380, "port 0 nodePort");
		ASSERT_EQ(s->ports[1].target_port, 9100, "port 1 targetPort");
		ASSERT_TRUE(!s->ports[1].target_port_name, "port 1 not named");
	}
	ASSERT_EQ(s->external_traffic_policy, K8S_TP_LOCAL, "eTP");
	ASSERT_EQ(s->internal_traffic_policy, K8S_TP_CLUSTER, "iTP");
	ASSERT_EQ(s->health_check_node_port, 32001, "healthCheckNodePort");
	ASSERT_EQ(s->session_affinity, K8S_AFFINITY_NONE, "affinity");
	if (ASSERT_EQ(s->n_source_ranges, 1, "source ranges")) {
		ASSERT_TRUE(ip_is(&s->source_ranges[0].ip, "203.0.113.0"), "range addr");
		ASSERT_EQ(s->source_ranges[0].prefix_len, 24, "range len");
	}
	if (ASSERT_EQ(s->n_ip_families, 1, "ipFamilies"))
		ASSERT_EQ(s->ip_families[0], XLB_AF_INET, "IPv4");
	if (ASSERT_EQ(s->n_ingress, 1, "ingress")) {
		ASSERT_TRUE(s->ingress[0].has_ip, "ingress ip");
		ASSERT_TRUE(ip_is(&s->ingress[0].ip, "192.0.2.10"), "ingress");
		ASSERT_EQ(s->ingress[0].ip_mode, K8S_IP_MODE_VIP, "ipMode");
	}

	o = k8s_cache_get(c, K8S_KIND_ENDPOINTSLICE, "shop", "web-7xk2p");
	if (!ASSERT_TRUE(o, "shop/web-7xk2p"))
		goto out;
	e = &o->eps;
	ASSERT_STREQ(e->service_name, "web", "service-name label");
	ASSERT_EQ(e->addr_type, K8S_ADDR_IPV4, "addressType");
	if (ASSERT_EQ(e->n_endpoints, 2, "endpoints")) {
		ASSERT_TRUE(ip_is(&e->endpoints[0].addrs[0], "10.244.1.17"), "ep 0 addr");
		ASSERT_TRUE(e->endpoints[0].ready, "ep 0 ready");
		ASSERT_STREQ(e->endpoints[0].node_name, "node-a", "ep 0 node");
		ASSERT_STREQ(e->endpoints[0].zone, "zone-1", "ep 0 zone");
		ASSERT_TRUE(!e->endpoints[1].ready, "ep 1 not ready");
		ASSERT_TRUE(e->endpoints[1].serving, "ep 1 serving");
		ASSERT_TRUE(e->endpoints[1].terminating, "ep 1 terminating");
	}
	if (ASSERT_EQ(e->n_ports, 2, "slice ports")) {
		ASSERT_STREQ(e->ports[0].name, "http", "slice port 0");
		ASSERT_EQ(e->ports[0].port, 8080, "slice port 0 number");
	}
	ASSERT_TRUE(k8s_cache_get(c, K8S_KIND_SERVICE, "default", "kubernetes"),
		    "default/kubernetes");
out:
	if (errs.n_errors)
		dump_msgs(&errs);
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

/* Two YAML documents, as the example ships them. */
XT_TEST(test_multidoc_yaml)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_object_list l = { 0 };
	char path[PATH_MAX];

	if (!ASSERT_TRUE(xt_repo_file("examples/nodeport.yaml", path, sizeof(path)), "example"))
		return;
	if (!ASSERT_OK(k8s_parse_file(path, &l, &errs), "parse"))
		goto out;
	ASSERT_EQ(errs.n_errors, 0, "errors");
	if (!ASSERT_EQ(l.n, 2, "objects"))
		goto out;
	ASSERT_EQ(l.v[0]->kind, K8S_KIND_SERVICE, "first is the Service");
	ASSERT_STREQ(l.v[0]->meta.name, "web", "Service name");
	ASSERT_EQ(l.v[0]->svc.type, K8S_SVC_NODE_PORT, "NodePort");
	ASSERT_EQ(l.v[0]->svc.ports[0].node_port, 30080, "nodePort");
	ASSERT_STREQ(l.v[0]->svc.ports[0].name, "", "unnamed port");
	ASSERT_EQ(l.v[1]->kind, K8S_KIND_ENDPOINTSLICE, "then the slice");
	ASSERT_STREQ(l.v[1]->eps.ports[0].name, "", "slice port name \"\"");
	ASSERT_EQ(l.v[1]->eps.n_endpoints, 2, "endpoints");
	ASSERT_TRUE(l.v[1]->line > 60, "line of the second document");
out:
	k8s_object_list_free(&l);
	k8s_errors_free(&errs);
}

/* `kubectl get svc,endpointslices -o yaml` prints a `kind: List`. */
XT_TEST(test_yaml_list)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;
	const struct k8s_object *o;
	char path[PATH_MAX];

	if (!ASSERT_TRUE(xt_repo_file("examples/loadbalancer.yaml", path, sizeof(path)), "example"))
		return;
	if (!ASSERT_OK(k8s_cache_load_file(path, &c, &errs), "load"))
		goto out;
	ASSERT_EQ(errs.n_errors + errs.n_warnings, 0, "errors, warnings");
	ASSERT_EQ(k8s_cache_count(c), 2, "objects");
	o = k8s_cache_get(c, K8S_KIND_SERVICE, "default", "shop");
	if (ASSERT_TRUE(o, "Service")) {
		ASSERT_EQ(o->svc.type, K8S_SVC_LOAD_BALANCER, "type");
		ASSERT_EQ(o->svc.health_check_node_port, 30999, "hcnp");
		ASSERT_EQ(o->svc.external_traffic_policy, K8S_TP_LOCAL, "eTP");
	}
	ASSERT_TRUE(k8s_cache_get(c, K8S_KIND_ENDPOINTSLICE, "default", "shop-p8v2d"), "slice");
out:
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

/* A typed list from the API (GET /api/v1/services): items have no kind. */
XT_TEST(test_typed_list)
{
	static const char text[] =
		"{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"184230\"},\n"
		" \"items\":[\n"
		"  {\"metadata\":{\"name\":\"api\",\"namespace\":\"shop\",\"uid\":\"c3d4\",\"resourceVersion\":\"184240\"},\n"
		"   \"spec\":{\"ports\":[{\"name\":\"grpc\",\"protocol\":\"TCP\",\"port\":9000,\"targetPort\":9000,\"nodePort\":30900}],\n"
		"\t\"clusterIP\":\"10.96.40.2\",\"type\":\"NodePort\",\"externalTrafficPolicy\":\"Cluster\"},\n"
		"   \"status\":{\"loadBalancer\":{}}}]}\n";
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;
	const struct k8s_object *o;

	if (!ASSERT_OK(load_buf(text, &c, &errs), "load"))
		goto out;
	o = k8s_cache_get(c, K8S_KIND_SERVICE, "shop", "api");
	if (ASSERT_TRUE(o, "shop/api")) {
		ASSERT_EQ(o->svc.ports[0].node_port, 30900, "nodePort");
		ASSERT_STREQ(o->meta.resource_version, "184240", "rv");
	}
out:
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

/* What the API server would default, for hand-written manifests. */
XT_TEST(test_defaults)
{
	static const char text[] =
		"apiVersion: v1\n"
		"kind: Service\n"
		"metadata:\n"
		"  name: plain\n"
		"spec:\n"
		"  ports:\n"
		"  - port: 80\n"
		"  externalTrafficPolicy: Global\n"
		"  sessionAffinity: ClientIP\n"
		"status:\n"
		"  loadBalancer:\n"
		"    ingress:\n"
		"    - ip: 192.0.2.1\n"
		"    - hostname: lb.example.com\n"
		"---\n"
		"apiVersion: discovery.k8s.io/v1\n"
		"kind: EndpointSlice\n"
		"metadata:\n"
		"  name: plain-1\n"
		"  labels:\n"
		"    kubernetes.io/service-name: plain\n"
		"addressType: IPv4\n"
		"endpoints:\n"
		"- addresses: [10.0.0.1]\n"
		"- addresses: [10.0.0.2]\n"
		"  conditions: {ready: false, terminating: true}\n"
		"- addresses: []\n"
		"ports:\n"
		"- port: 8080\n"
		"---\n";
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;
	const struct k8s_object *o;

	if (!ASSERT_OK(load_buf(text, &c, &errs), "load"))
		goto out;
	ASSERT_EQ(errs.n_errors, 0, "errors");
	o = k8s_cache_get(c, K8S_KIND_SERVICE, "default", "plain");
	if (ASSERT_TRUE(o, "namespace defaults to default")) {
		const struct k8s_service *s = &o->svc;

		ASSERT_EQ(s->type, K8S_SVC_CLUSTER_IP, "type ClusterIP");
		ASSERT_EQ(s->ports[0].proto, IPPROTO_TCP, "protocol TCP");
		ASSERT_EQ(s->ports[0].target_port, 80, "targetPort = port");
		ASSERT_EQ(s->external_traffic_policy, K8S_TP_CLUSTER, "Global = Cluster");
		ASSERT_EQ(s->session_affinity, K8S_AFFINITY_CLIENT_IP, "ClientIP");
		ASSERT_EQ(s->affinity_timeout, 10800, "timeout default");
		ASSERT_EQ(s->n_cluster_ips, 0, "no clusterIP yet");
		if (ASSERT_EQ(s->n_ingress, 2, "ingress")) {
			ASSERT_EQ(s->ingress[0].ip_mode, K8S_IP_MODE_VIP, "ipMode VIP");
			ASSERT_TRUE(!s->ingress[1].has_ip, "hostname only");
			ASSERT_STREQ(s->ingress[1].hostname, "lb.example.com", "hostname");
		}
	}
	o = k8s_cache_get(c, K8S_KIND_ENDPOINTSLICE, "default", "plain-1");
	if (ASSERT_TRUE(o, "slice") && ASSERT_EQ(o->eps.n_endpoints, 3, "eps")) {
		const struct k8s_endpoint *ep = o->eps.endpoints;

		/* k8s-spec §3: ready nil -> true, serving nil -> true,
		 * terminating nil -> false. */
		ASSERT_TRUE(ep[0].ready && ep[0].serving && !ep[0].terminating, "nil conditions");
		ASSERT_TRUE(!ep[1].ready && ep[1].serving && ep[1].terminating,
			    "serving nil with ready false");
		ASSERT_EQ(ep[2].n_addrs, 0, "no address");
		ASSERT_STREQ(o->eps.ports[0].name, "", "port name \"\"");
		ASSERT_EQ(o->eps.ports[0].proto, IPPROTO_TCP, "port TCP");
	}
out:
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

XT_TEST(test_syntax_error)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_object_list l = { 0 };
	struct k8s_cache *c = (struct k8s_cache *)&l; /* must be reset */
	char path[PATH_MAX];
	int err;

	if (!ASSERT_TRUE(xt_repo_file(FIXTURE("bad_syntax.yaml"), path, sizeof(path)), "fixture"))
		return;
	err = k8s_parse_file(path, &l, &errs);
	ASSERT_EQ(err, -EBADMSG, "parse fails");
	ASSERT_EQ(l.n, 0, "no objects, not even the good first document");
	ASSERT_EQ(errs.n, 1, "one message");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR, "bad_syntax.yaml:20:3:", "line 19"),
		    "names line and column");
	dump_msgs(&errs);
	k8s_errors_free(&errs);

	err = k8s_cache_load_file(path, &c, &errs);
	ASSERT_EQ(err, -EBADMSG, "load fails");
	ASSERT_TRUE(c == NULL, "no cache");
	k8s_errors_free(&errs);

	err = k8s_cache_load_file("/nonexistent/xlb.yaml", &c, &errs);
	ASSERT_EQ(err, -ENOENT, "missing file");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR, "/nonexistent/xlb.yaml", "No such file"),
		    "names the file");
	k8s_errors_free(&errs);

	/* Invalid UTF-8 is a reader error, with a byte offset. */
	err = k8s_parse_buf("a: \xff\xfe\n", 6, "bin", &l, &errs);
	ASSERT_EQ(err, -EBADMSG, "binary input");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR, "bin:", "offset"), "offset");
	k8s_errors_free(&errs);
}

XT_TEST(test_invalid_objects)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;
	const struct k8s_object *o;
	char path[PATH_MAX];

	if (!ASSERT_TRUE(xt_repo_file(FIXTURE("invalid_objects.yaml"), path, sizeof(path)),
			 "fixture"))
		return;
	if (!ASSERT_OK(k8s_cache_load_file(path, &c, &errs), "load"))
		goto out;
	ASSERT_EQ(k8s_cache_count(c), 3, "good, good-4sj2k, sctp-only kept");
	ASSERT_TRUE(k8s_cache_get(c, K8S_KIND_SERVICE, "bad", "good"), "good");
	ASSERT_TRUE(k8s_cache_get(c, K8S_KIND_ENDPOINTSLICE, "bad", "good-4sj2k"), "good slice");
	o = k8s_cache_get(c, K8S_KIND_SERVICE, "bad", "sctp-only");
	if (ASSERT_TRUE(o, "SCTP-only Service kept"))
		ASSERT_EQ(o->svc.n_ports, 0, "its SCTP port dropped");
	ASSERT_TRUE(!k8s_cache_get(c, K8S_KIND_SERVICE, "bad", "badport"), "badport rejected");

	ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR,
			    "Service bad/badport: spec.ports[0].port: 70000 out of range 1..65535",
			    "invalid_objects.yaml:35)"),
		    "bad port, with line");
	ASSERT_TRUE(
		has_msg(&errs, K8S_SEV_ERROR,
			"EndpointSlice bad/badip-9dk3m: endpoints[0].addresses[0]: invalid IP address \"10.0.0.300\"",
			":65)"),
		"bad IP, with line");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR,
			    "Service bad/badnodeport: spec.ports[0].nodePort: 65536 out of range",
			    NULL),
		    "bad nodePort");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR,
			    "Service bad/dupname:", "duplicate port name \"http\""),
		    "duplicate name");
	ASSERT_TRUE(
		has_msg(&errs, K8S_SEV_ERROR, "Service bad/<unnamed>:", "metadata.name: missing"),
		"missing name");
	ASSERT_TRUE(
		has_msg(&errs, K8S_SEV_ERROR, "Service bad/badproto:", "unknown protocol \"ICMP\""),
		"protocol");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR,
			    "Service bad/badext:", "invalid IP address \"not-an-ip\""),
		    "externalIP");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_WARN, "Service bad/sctp-only:", "SCTP"), "SCTP warning");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_DEBUG, "ConfigMap bad/settings", "ignored"),
		    "other kinds at debug level");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_DEBUG, "Deployment bad/web", NULL),
		    "Deployment ignored");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR, "Service bad/badport:", "object rejected"),
		    "rejection summary");
	/* badport, badip, badnodeport, dupname, noname, badproto, badext:
	 * each one error plus its summary. */
	ASSERT_EQ(errs.n_errors, 14, "error count");
	ASSERT_EQ(errs.n_warnings, 1, "warning count");
	/* Rejected objects are named, so the agent can keep their last good
	 * version. */
	ASSERT_EQ(errs.n_rejected, 7, "rejected keys");
	{
		bool port = false, ip = false;

		for (size_t i = 0; i < errs.n_rejected; i++) {
			const struct k8s_objkey *k = &errs.rejected[i];

			port |= k->kind == K8S_KIND_SERVICE && !strcmp(k->ns, "bad") &&
				!strcmp(k->name, "badport");
			ip |= k->kind == K8S_KIND_ENDPOINTSLICE && !strcmp(k->ns, "bad") &&
			      !strcmp(k->name, "badip-9dk3m");
		}
		ASSERT_TRUE(port, "Service bad/badport named as rejected");
		ASSERT_TRUE(ip, "EndpointSlice bad/badip-9dk3m named as rejected");
	}
out:
	if (errs.n_errors != 14)
		dump_msgs(&errs);
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

/* One message per problem, so a user fixes everything in one go. */
XT_TEST(test_validation_details)
{
	static const struct {
		const char *what;
		const char *yaml;
		const char *msg;
	} cases[] = {
		{ "quoted number is not a port name",
		  "kind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80, targetPort: \"8080\"}]}\n",
		  "targetPort: \"8080\" is neither" },
		{ "port missing",
		  "kind: Service\nmetadata: {name: a}\nspec: {ports: [{name: x}]}\n",
		  "spec.ports[0].port: missing" },
		{ "port not a number",
		  "kind: Service\nmetadata: {name: a}\nspec: {ports: [{port: http}]}\n",
		  "expected an integer, got \"http\"" },
		{ "multi-port needs names",
		  "kind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}, {port: 81, name: b}]}\n",
		  "required when the Service has more than one port" },
		{ "duplicate port/protocol",
		  "kind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80, name: a}, {port: 80, name: b}]}\n",
		  "duplicate port 80/TCP" },
		{ "bad type",
		  "kind: Service\nmetadata: {name: a}\nspec: {type: Nodeport, ports: [{port: 80}]}\n",
		  "unknown type \"Nodeport\"" },
		{ "bad policy",
		  "kind: Service\nmetadata: {name: a}\nspec: {externalTrafficPolicy: local, ports: [{port: 80}]}\n",
		  "is not Cluster or Local" },
		{ "bad clusterIP",
		  "kind: Service\nmetadata: {name: a}\nspec: {clusterIP: 10.96.0.256, ports: [{port: 80}]}\n",
		  "spec.clusterIP: invalid IP address" },
		{ "bad ingress ip",
		  "kind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 80}]}\nstatus: {loadBalancer: {ingress: [{ip: 1.2.3}]}}\n",
		  "status.loadBalancer.ingress[0].ip: invalid IP address" },
		{ "bad source range",
		  "kind: Service\nmetadata: {name: a}\nspec: {loadBalancerSourceRanges: [10.0.0.0/33], ports: [{port: 80}]}\n",
		  "invalid CIDR \"10.0.0.0/33\"" },
		{ "affinity timeout",
		  "kind: Service\nmetadata: {name: a}\nspec: {sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}, ports: [{port: 80}]}\n",
		  "timeoutSeconds: 0 out of range 1..86400" },
		{ "bad name",
		  "kind: Service\nmetadata: {name: Web_1}\nspec: {ports: [{port: 80}]}\n",
		  "not a valid DNS-1035 label" },
		{ "family mismatch",
		  "kind: Service\nmetadata: {name: a}\nspec: {clusterIPs: [\"fd00::1\"], ipFamilies: [IPv4], ports: [{port: 80}]}\n",
		  "family does not match" },
		{ "slice without addressType",
		  "kind: EndpointSlice\nmetadata: {name: a-1}\nendpoints: []\n",
		  "addressType: missing" },
		{ "slice address of the wrong family",
		  "kind: EndpointSlice\nmetadata: {name: a-1}\naddressType: IPv4\nendpoints: [{addresses: [\"fd00::1\"]}]\n",
		  "does not match addressType IPv4" },
		{ "slice condition not a bool",
		  "kind: EndpointSlice\nmetadata: {name: a-1}\naddressType: IPv4\nendpoints: [{addresses: [10.0.0.1], conditions: {ready: \"yes\"}}]\n",
		  "conditions.ready: expected true or false" },
		{ "slice port range",
		  "kind: EndpointSlice\nmetadata: {name: a-1}\naddressType: IPv4\nports: [{port: -1}]\n",
		  "ports[0].port: -1 out of range" },
		{ "slice duplicate port name",
		  "kind: EndpointSlice\nmetadata: {name: a-1}\naddressType: IPv4\nports: [{port: 1}, {port: 2}]\n",
		  "duplicate port name \"\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct k8s_errors errs = K8S_ERRORS_INIT;
		struct k8s_object_list l = { 0 };
		int err;

		err = k8s_parse_buf(cases[i].yaml, strlen(cases[i].yaml), "case", &l, &errs);
		ASSERT_OK(err, cases[i].what);
		ASSERT_EQ(l.n, 0, cases[i].what);
		if (!ASSERT_TRUE(has_msg(&errs, K8S_SEV_ERROR, cases[i].msg, NULL), cases[i].what))
			dump_msgs(&errs);
		k8s_object_list_free(&l);
		k8s_errors_free(&errs);
	}
}

/* libyaml as a JSON reader: escapes, tabs, unicode, nulls. */
XT_TEST(test_json_quirks)
{
	static const char text[] =
		"{\"kind\":\"Service\",\"apiVersion\":\"v1\",\n"
		"\t\"metadata\":{\"name\":\"j\",\"namespace\":null,\n"
		"\t\t\"labels\":{\"a\\/b\":\"\\u00e9\",\"empty\":\"\"}},\n"
		"\t\"spec\":{\"ports\":[{\"port\":80,\"nodePort\":30001}],\"type\":\"NodePort\",\n"
		"\t\t\"externalIPs\":null,\"sessionAffinityConfig\":null}}";
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_object_list l = { 0 };

	if (!ASSERT_OK(k8s_parse_buf(text, strlen(text), "json", &l, &errs), "parse"))
		goto out;
	if (!ASSERT_EQ(l.n, 1, "one object")) {
		dump_msgs(&errs);
		goto out;
	}
	ASSERT_STREQ(l.v[0]->meta.namespace, "default", "null namespace");
	ASSERT_STREQ(k8s_label(l.v[0], "a/b"), "\xc3\xa9", "escapes");
	ASSERT_STREQ(k8s_label(l.v[0], "empty"), "", "empty label");
	ASSERT_TRUE(!k8s_label(l.v[0], "missing"), "missing label");
	ASSERT_EQ(l.v[0]->svc.n_external_ips, 0, "null list");
out:
	k8s_object_list_free(&l);
	k8s_errors_free(&errs);
}

XT_TEST(test_cache_ops)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_object_list l = { 0 };
	struct k8s_cache *c = k8s_cache_new();
	const struct k8s_object **v = NULL;
	const struct k8s_object *o;
	char text[256];
	size_t n = 0;

	if (!ASSERT_TRUE(c, "new"))
		return;
	/* Enough objects to make the table grow a few times, inserted in
	 * an order that is not the sorted one. */
	for (int i = 0; i < 300; i++) {
		int k = (i * 7) % 300;
		int len = snprintf(
			text, sizeof(text),
			"kind: Service\nmetadata: {name: s%03d, namespace: ns%d, resourceVersion: \"1\"}\n"
			"spec: {ports: [{port: 80}]}\n",
			k, k % 3);

		ASSERT_OK(k8s_parse_buf(text, len, "gen", &l, &errs), "parse");
	}
	ASSERT_EQ(l.n, 300, "parsed");
	ASSERT_OK(k8s_cache_put_list(c, &l, &errs), "put list");
	ASSERT_EQ(l.n, 0, "list emptied");
	ASSERT_EQ(k8s_cache_count(c), 300, "count");

	ASSERT_OK(k8s_cache_list(c, K8S_KIND_SERVICE, &v, &n), "list");
	if (ASSERT_EQ(n, 300, "listed")) {
		ASSERT_STREQ(v[0]->meta.namespace, "ns0", "first ns");
		ASSERT_STREQ(v[0]->meta.name, "s000", "first name");
		ASSERT_STREQ(v[299]->meta.name, "s299", "last name");
		for (size_t i = 1; i < n; i++) {
			int r = strcmp(v[i - 1]->meta.namespace, v[i]->meta.namespace);

			if (!ASSERT_TRUE(r < 0 || (!r && strcmp(v[i - 1]->meta.name,
								v[i]->meta.name) < 0),
					 "sorted"))
				break;
		}
	}
	free(v);
	ASSERT_OK(k8s_cache_list(c, K8S_KIND_ENDPOINTSLICE, &v, &n), "list");
	ASSERT_EQ(n, 0, "no slices");
	ASSERT_TRUE(!v, "NULL array");

	/* Replace: same key, new resourceVersion; kinds do not collide. */
	snprintf(
		text, sizeof(text),
		"kind: Service\nmetadata: {name: s003, namespace: ns0, resourceVersion: \"2\"}\n"
		"spec: {ports: [{port: 81}]}\n---\n"
		"kind: EndpointSlice\nmetadata: {name: s003, namespace: ns0}\naddressType: IPv4\n");
	ASSERT_OK(k8s_parse_buf(text, strlen(text), "gen", &l, &errs), "parse");
	ASSERT_OK(k8s_cache_put_list(c, &l, &errs), "put");
	ASSERT_EQ(k8s_cache_count(c), 301, "replaced, slice added");
	o = k8s_cache_get(c, K8S_KIND_SERVICE, "ns0", "s003");
	if (ASSERT_TRUE(o, "get")) {
		ASSERT_STREQ(o->meta.resource_version, "2", "new version");
		ASSERT_EQ(o->svc.ports[0].port, 81, "new port");
	}
	ASSERT_TRUE(k8s_cache_get(c, K8S_KIND_ENDPOINTSLICE, "ns0", "s003"),
		    "slice of the same name");

	ASSERT_OK(k8s_cache_delete(c, K8S_KIND_SERVICE, "ns0", "s003"), "delete");
	ASSERT_EQ(k8s_cache_delete(c, K8S_KIND_SERVICE, "ns0", "s003"), -ENOENT, "delete twice");
	ASSERT_TRUE(!k8s_cache_get(c, K8S_KIND_SERVICE, "ns0", "s003"), "gone");
	ASSERT_TRUE(k8s_cache_get(c, K8S_KIND_ENDPOINTSLICE, "ns0", "s003"), "slice stays");
	ASSERT_EQ(k8s_cache_count(c), 300, "count after delete");
	ASSERT_EQ(errs.n_errors, 0, "no errors");

	k8s_cache_free(c);
	k8s_cache_free(NULL);
	k8s_object_free(NULL);
	k8s_object_list_free(NULL);
	k8s_errors_free(&errs);
	k8s_errors_free(NULL);
}

/* The same object twice in one file: the later one wins, with a warning. */
XT_TEST(test_duplicate_in_file)
{
	static const char text[] =
		"apiVersion: v1\nkind: List\nitems:\n"
		"- kind: Service\n  metadata: {name: twice}\n  spec: {ports: [{port: 80}]}\n"
		"- kind: Service\n  metadata: {name: twice}\n  spec: {ports: [{port: 81}]}\n";
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_cache *c = NULL;
	const struct k8s_object *o;

	if (!ASSERT_OK(load_buf(text, &c, &errs), "load"))
		goto out;
	o = k8s_cache_get(c, K8S_KIND_SERVICE, "default", "twice");
	if (ASSERT_TRUE(o, "present"))
		ASSERT_EQ(o->svc.ports[0].port, 81, "last wins");
	ASSERT_TRUE(has_msg(&errs, K8S_SEV_WARN, "Service default/twice", "more than once"),
		    "warned");
out:
	k8s_cache_free(c);
	k8s_errors_free(&errs);
}

/* Empty input, comments only, empty documents, NULL errs. */
XT_TEST(test_empty_inputs)
{
	static const char *const texts[] = {
		"",
		"# nothing\n",
		"---\n---\n",
		"---\n# c\n...\n",
		"apiVersion: v1\nkind: List\nitems: []\n",
	};
	struct k8s_object_list l = { 0 };

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		ASSERT_OK(k8s_parse_buf(texts[i], strlen(texts[i]), NULL, &l, NULL), texts[i]);
		ASSERT_EQ(l.n, 0, texts[i]);
	}
	ASSERT_EQ(k8s_parse_buf("a: [", 4, NULL, &l, NULL), -EBADMSG, "syntax error without errs");
	ASSERT_EQ(k8s_parse_buf(NULL, 0, NULL, &l, NULL), -EINVAL, "NULL");
	k8s_object_list_free(&l);
}

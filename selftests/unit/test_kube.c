// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for the pure pieces of Kubernetes mode: kubeconfig and
 * in-cluster configuration (user/kube/client.c), watch line splitting,
 * event decoding and backoff (user/kube/reflector.c), Node parsing
 * (user/k8s/node.c) and the health check body (user/serve/health.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "serve/health.h"
#include "kube/source.h"
#include "kube/client.h"
#include "kube/reflector.h"
#include "../lib/xtest.h"

static char tmpdir[] = "/tmp/xlb-test-kube.XXXXXX";

int xt_setup(void)
{
	return mkdtemp(tmpdir) ? 0 : -errno;
}

void xt_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static const char *write_tmp(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

/* ---- base64 ----------------------------------------------------------- */

XT_TEST(test_base64)
{
	char out[64];

	ASSERT_EQ(kube_base64_decode("aGVsbG8=", 8, out), 5, "hello length");
	ASSERT_STREQ(out, "hello", "hello");
	ASSERT_EQ(kube_base64_decode("aGVs\nbG8h", 9, out), 6, "newline ignored");
	ASSERT_STREQ(out, "hello!", "hello!");
	ASSERT_EQ(kube_base64_decode("", 0, out), 0, "empty");
	ASSERT_EQ(kube_base64_decode("a$==", 4, out), -EINVAL, "bad character");
	ASSERT_EQ(kube_base64_decode("aGVsbG8=x", 9, out), -EINVAL, "data after padding");
}

/* ---- kubeconfig ------------------------------------------------------- */

XT_TEST(test_kubeconfig_token_file_and_ca_path)
{
	struct kube_config c;
	char err[256] = "";
	const char *p;

	p = write_tmp("kc1",
		      "apiVersion: v1\n"
		      "kind: Config\n"
		      "current-context: b\n"
		      "clusters:\n"
		      "- name: one\n  cluster: {server: 'https://10.0.0.9:6443'}\n"
		      "- name: two\n  cluster:\n    server: https://127.0.0.1:6443/\n"
		      "    certificate-authority: pki/ca.crt\n"
		      "    tls-server-name: kubernetes\n"
		      "users:\n"
		      "- name: u\n  user:\n    tokenFile: /run/token\n"
		      "contexts:\n"
		      "- name: a\n  context: {cluster: one, user: u}\n"
		      "- name: b\n  context: {cluster: two, user: u, namespace: kube-system}\n");
	if (!ASSERT_OK(kube_config_load_kubeconfig(p, &c, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(c.server, "https://127.0.0.1:6443", "server, trailing / dropped");
	ASSERT_TRUE(c.ca_file && strstr(c.ca_file, tmpdir) == c.ca_file &&
			    !strcmp(c.ca_file + strlen(tmpdir), "/pki/ca.crt"),
		    "relative CA path resolved against the kubeconfig's directory");
	ASSERT_STREQ(c.token_file, "/run/token", "absolute tokenFile kept");
	ASSERT_STREQ(c.tls_server_name, "kubernetes", "tls-server-name");
	ASSERT_STREQ(c.namespace, "kube-system", "namespace");
	ASSERT_TRUE(!c.token && !c.ca_data && !c.cert_file, "nothing else set");
	kube_config_free(&c);
	kube_config_free(NULL);
}

XT_TEST(test_kubeconfig_json_data_fields)
{
	struct kube_config c;
	char err[256] = "";
	const char *p;

	/* JSON is YAML; *-data are base64 of PEM ("PEMCA", "CERT", "KEY"). */
	p = write_tmp(
		"kc2.json",
		"{\"current-context\":\"x\",\"contexts\":[{\"name\":\"x\",\"context\":"
		"{\"cluster\":\"c\",\"user\":\"u\"}}],\"clusters\":[{\"name\":\"c\",\"cluster\":"
		"{\"server\":\"https://[fd00::1]:443\",\"certificate-authority-data\":\"UEVNQ0E=\"}}],"
		"\"users\":[{\"name\":\"u\",\"user\":{\"token\":\"abc.def\","
		"\"client-certificate-data\":\"Q0VSVA==\",\"client-key-data\":\"S0VZ\"}}]}");
	if (!ASSERT_OK(kube_config_load_kubeconfig(p, &c, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(c.server, "https://[fd00::1]:443", "server");
	ASSERT_EQ(c.ca_data_len, 5, "CA data length");
	ASSERT_STREQ(c.ca_data, "PEMCA", "CA data decoded");
	ASSERT_STREQ(c.cert_data, "CERT", "client cert decoded");
	ASSERT_STREQ(c.key_data, "KEY", "client key decoded");
	ASSERT_STREQ(c.token, "abc.def", "inline token");
	ASSERT_STREQ(c.namespace, "", "no namespace");
	kube_config_free(&c);
}

XT_TEST(test_kubeconfig_rejects)
{
	static const struct {
		const char *what, *text, *msg;
	} cases[] = {
		{ "no current-context", "clusters: []\n", "no current-context" },
		{ "missing context", "current-context: q\ncontexts: []\n",
		  "context \"q\" not found" },
		{ "missing cluster",
		  "current-context: a\ncontexts: [{name: a, context: {cluster: z}}]\n",
		  "cluster \"z\"" },
		{ "http server",
		  "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
		  "clusters: [{name: c, cluster: {server: 'http://x:80'}}]\n",
		  "https://" },
		{ "insecure",
		  "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://x', insecure-skip-tls-verify: true}}]\n",
		  "insecure-skip-tls-verify" },
		{ "exec plugin",
		  "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
		  "users: [{name: u, user: {exec: {command: aws}}}]\n",
		  "not supported" },
		{ "bad base64",
		  "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
		  "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: '@@'}}]\n",
		  "not base64" },
		{ "not YAML", "current-context: [\n", ":" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_config c;
		char err[256] = "";
		const char *p = write_tmp("bad", cases[i].text);
		int ret = kube_config_load_kubeconfig(p, &c, err, sizeof(err));

		ASSERT_EQ(ret, -EINVAL, cases[i].what);
		if (!ASSERT_TRUE(strstr(err, cases[i].msg) != NULL, cases[i].what))
			xt_log("message: %s\n", err);
		ASSERT_TRUE(c.server == NULL, "freed on error");
	}
	{
		struct kube_config c;
		char err[256];

		ASSERT_EQ(kube_config_load_kubeconfig("/nonexistent/kc", &c, err, sizeof(err)),
			  -ENOENT, "missing file");
	}
}

XT_TEST(test_in_cluster)
{
	struct kube_config c;
	char err[256], dir[300];
	FILE *f;

	unsetenv("KUBERNETES_SERVICE_HOST");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ASSERT_EQ(kube_config_in_cluster(&c, tmpdir, err, sizeof(err)), -ENOENT, "no host");
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	snprintf(dir, sizeof(dir), "%s/namespace", tmpdir);
	f = fopen(dir, "w");
	if (f) {
		fputs("kube-system\n", f);
		fclose(f);
	}
	if (!ASSERT_OK(kube_config_in_cluster(&c, tmpdir, err, sizeof(err)), "in cluster"))
		return;
	ASSERT_STREQ(c.server, "https://[fd00::1]:443", "IPv6 host bracketed");
	ASSERT_STREQ(c.namespace, "kube-system", "namespace trimmed");
	ASSERT_TRUE(c.token_file && strstr(c.token_file, "/token"), "token file");
	ASSERT_TRUE(c.ca_file && strstr(c.ca_file, "/ca.crt"), "CA file");
	kube_config_free(&c);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	if (ASSERT_OK(kube_config_in_cluster(&c, tmpdir, err, sizeof(err)), "v4"))
		ASSERT_STREQ(c.server, "https://10.96.0.1:443", "IPv4 host");
	kube_config_free(&c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

XT_TEST(test_token_reread)
{
	struct kube_config c = { 0 };
	struct kube_client *kc;
	const char *p = write_tmp("token", "  first\n");
	char tok[64];

	c.server = strdup("https://127.0.0.1:1");
	c.token_file = strdup(p);
	kc = kube_client_new(&c, NULL);
	if (!ASSERT_TRUE(kc != NULL, "client"))
		return;
	ASSERT_TRUE(c.server == NULL, "config taken over");
	ASSERT_OK(kube_client_token(kc, tok, sizeof(tok)), "token");
	ASSERT_STREQ(tok, "first", "whitespace trimmed");
	write_tmp("token", "second\n");
	kube_client_token(kc, tok, sizeof(tok));
	ASSERT_STREQ(tok, "first", "cached for up to 60 s");
	kube_client_token_invalidate(kc); /* what a 401 does */
	kube_client_token(kc, tok, sizeof(tok));
	ASSERT_STREQ(tok, "second", "re-read after invalidate");
	kube_client_free(kc);
	kube_client_free(NULL);
}

/* ---- watch framing ---------------------------------------------------- */

struct lines {
	char v[8][128];
	int n;
	int stop_at; /* return 1 at this line (1-based), 0: never */
};

static int collect(void *ctx, char *line, size_t len)
{
	struct lines *l = ctx;

	if (l->n < 8)
		snprintf(l->v[l->n], sizeof(l->v[0]), "%.*s", (int)len, line);
	l->n++;
	return l->stop_at && l->n == l->stop_at;
}

XT_TEST(test_linebuf_split_and_join)
{
	struct kube_linebuf lb = { 0 };
	struct lines l = { 0 };

	/* one event split over three reads, then two in one read */
	ASSERT_OK(kube_linebuf_feed(&lb, "{\"type\":", 8, collect, &l), "part 1");
	ASSERT_OK(kube_linebuf_feed(&lb, "\"ADDED\"", 7, collect, &l), "part 2");
	ASSERT_EQ(l.n, 0, "no line yet");
	{
		const char *s = "}\n{\"a\":1}\r\n\n{\"b\":2}\n{\"c\"";

		ASSERT_OK(kube_linebuf_feed(&lb, s, strlen(s), collect, &l),
			  "rest + two more + partial");
	}
	ASSERT_EQ(l.n, 3, "three lines (empty one skipped)");
	ASSERT_STREQ(l.v[0], "{\"type\":\"ADDED\"}", "joined line");
	ASSERT_STREQ(l.v[1], "{\"a\":1}", "CR stripped");
	ASSERT_STREQ(l.v[2], "{\"b\":2}", "third");
	ASSERT_EQ(lb.len, 4, "partial kept");
	ASSERT_OK(kube_linebuf_feed(&lb, ":3}\n", 4, collect, &l), "finish");
	ASSERT_STREQ(l.v[3], "{\"c\":3}", "partial completed");
	kube_linebuf_free(&lb);
	kube_linebuf_free(NULL);
}

XT_TEST(test_linebuf_stop_and_limit)
{
	struct kube_linebuf lb = { .max = 16 };
	struct lines l = { .stop_at = 1 };
	char big[40];

	ASSERT_EQ(kube_linebuf_feed(&lb, "a\nb\n", 4, collect, &l), 1, "callback stop returned");
	ASSERT_EQ(l.n, 1, "stopped after the first line");
	kube_linebuf_reset(&lb);
	memset(big, 'x', sizeof(big));
	ASSERT_EQ(kube_linebuf_feed(&lb, big, sizeof(big), collect, &l), -EMSGSIZE, "too long");
	ASSERT_EQ(lb.len, 0, "emptied");
	kube_linebuf_free(&lb);
}

XT_TEST(test_event_decode)
{
	struct kube_event ev;
	const char *why = NULL;

	ASSERT_OK(kube_event_decode("{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Service\","
				    "\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"42\"}}}",
				    &ev, &why),
		  "MODIFIED");
	ASSERT_EQ(ev.type, KUBE_EVENT_MODIFIED, "type");
	ASSERT_STREQ(ev.rv, "42", "rv");
	kube_event_free(&ev);

	ASSERT_OK(kube_event_decode(
			  "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\","
			  "\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"184260\"},"
			  "\"spec\":{},\"status\":{\"loadBalancer\":{}}}}",
			  &ev, &why),
		  "BOOKMARK");
	ASSERT_EQ(ev.type, KUBE_EVENT_BOOKMARK, "bookmark type");
	ASSERT_STREQ(ev.rv, "184260", "bookmark rv");
	kube_event_free(&ev);

	ASSERT_OK(
		kube_event_decode(
			"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
			"\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource "
			"version: 1000 (184203)\",\"reason\":\"Expired\",\"code\":410}}",
			&ev, &why),
		"ERROR");
	ASSERT_EQ(ev.type, KUBE_EVENT_ERROR, "error type");
	ASSERT_EQ(ev.code, 410, "code");
	ASSERT_STREQ(ev.reason, "Expired", "reason");
	kube_event_free(&ev);

	ASSERT_EQ(kube_event_decode("{\"type\":\"MODIFIED\",\"object\":{\"kind\":", &ev, &why),
		  -EBADMSG, "truncated JSON");
	ASSERT_STREQ(why, "not a JSON object", "why");
	ASSERT_TRUE(ev.root == NULL, "nothing left to free");
	ASSERT_EQ(kube_event_decode("{\"type\":\"RENAMED\",\"object\":{}}", &ev, &why), -EBADMSG,
		  "unknown type");
	ASSERT_EQ(kube_event_decode("{\"object\":{}}", &ev, &why), -EBADMSG, "no type");
	ASSERT_EQ(kube_event_decode("{\"type\":\"ADDED\"}", &ev, &why), -EBADMSG, "no object");
	ASSERT_EQ(kube_event_decode("{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}", &ev, &why),
		  -EBADMSG, "no resourceVersion");
	ASSERT_EQ(kube_event_decode("[1]", &ev, &why), -EBADMSG, "array");
	kube_event_free(NULL);
}

/* ---- backoff ---------------------------------------------------------- */

XT_TEST(test_backoff)
{
	struct kube_backoff b = KUBE_BACKOFF_INIT;
	static const uint32_t want[] = { 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000 };
	uint64_t t = 1000;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char what[32];

		snprintf(what, sizeof(what), "step %zu", i);
		ASSERT_EQ(kube_backoff_next(&b, t, 0), want[i], what);
		t += 1000;
	}
	ASSERT_EQ(kube_backoff_next(&b, t, 0.5), 45000, "jitter 0.5 on the cap");
	ASSERT_EQ(kube_backoff_next(&b, t + 119999, 0), 30000, "still backed off before 2 min");
	ASSERT_EQ(kube_backoff_next(&b, t + 119999 + 120000, 0), 800, "reset after 2 min quiet");
	ASSERT_EQ(kube_backoff_next(&b, t + 240000, 0.999), 1600 + 1598, "jitter < 1");
}

/* ---- Node ------------------------------------------------------------- */

XT_TEST(test_node_state)
{
	struct k8s_node_state n;
	char a[INET6_ADDRSTRLEN];

	ASSERT_OK(
		k8s_node_state_parse(
			"{\"kind\":\"Node\",\"metadata\":{\"name\":\"node1\"},\"spec\":{\"taints\":"
			"[{\"key\":\"node.kubernetes.io/unschedulable\",\"effect\":\"NoSchedule\"}]},"
			"\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"node1\"},"
			"{\"type\":\"ExternalIP\",\"address\":\"203.0.113.7\"},"
			"{\"type\":\"InternalIP\",\"address\":\"10.0.0.1\"},"
			"{\"type\":\"InternalIP\",\"address\":\"fd00::1\"}]}}",
			&n),
		"parse");
	ASSERT_TRUE(n.known && n.eligible, "known, eligible (other taints do not matter)");
	ASSERT_EQ(n.n_addrs, 3, "InternalIP x2 + ExternalIP, not Hostname");
	inet_ntop(AF_INET, &n.addrs[0].addr.v4, a, sizeof(a));
	ASSERT_STREQ(a, "10.0.0.1", "InternalIP first");
	ASSERT_EQ(n.addrs[1].family, XLB_AF_INET6, "v6 InternalIP second");
	inet_ntop(AF_INET, &n.addrs[2].addr.v4, a, sizeof(a));
	ASSERT_STREQ(a, "203.0.113.7", "ExternalIP last");

	ASSERT_OK(k8s_node_state_parse("{\"metadata\":{\"name\":\"n\",\"deletionTimestamp\":"
				       "\"2025-03-14T09:41:20Z\"}}",
				       &n),
		  "deleting");
	ASSERT_TRUE(!n.eligible, "deletionTimestamp: not eligible");
	ASSERT_OK(
		k8s_node_state_parse("{\"metadata\":{\"name\":\"n\"},\"spec\":{\"taints\":"
				     "[{\"key\":\"ToBeDeletedByClusterAutoscaler\",\"value\":\"1\","
				     "\"effect\":\"NoSchedule\"}]}}",
				     &n),
		"autoscaler taint");
	ASSERT_TRUE(!n.eligible, "ToBeDeletedByClusterAutoscaler: not eligible");
	ASSERT_EQ(k8s_node_state_parse("nope", &n), -EINVAL, "not JSON");
}

/* ---- health ----------------------------------------------------------- */

XT_TEST(test_health_body)
{
	char buf[256];

	ASSERT_OK(xlb_health_svc_body(buf, sizeof(buf), "shop", "web", 2, true), "body");
	ASSERT_STREQ(buf,
		     "{\n\t\"service\": {\n\t\t\"namespace\": \"shop\",\n\t\t\"name\": \"web\"\n"
		     "\t},\n\t\"localEndpoints\": 2,\n\t\"serviceProxyHealthy\": true\n}",
		     "kube-proxy's body, tab-indented, no newline");
	ASSERT_EQ(xlb_health_svc_body(buf, 10, "shop", "web", 2, true), -ENOSPC, "too small");
}

XT_TEST(test_hostport)
{
	struct sockaddr_storage ss;

	ASSERT_OK(xlb_parse_hostport("0.0.0.0:10256", &ss), "v4");
	ASSERT_EQ(ss.ss_family, AF_INET, "family v4");
	ASSERT_EQ(ntohs(((struct sockaddr_in *)&ss)->sin_port), 10256, "port");
	ASSERT_OK(xlb_parse_hostport("[::1]:8080", &ss), "v6");
	ASSERT_EQ(ss.ss_family, AF_INET6, "family v6");
	ASSERT_OK(xlb_parse_hostport(":10256", &ss), "empty host = any");
	ASSERT_EQ(xlb_parse_hostport("10256", &ss), -EINVAL, "no colon");
	ASSERT_EQ(xlb_parse_hostport("1.2.3.4:70000", &ss), -EINVAL, "port range");
	ASSERT_EQ(xlb_parse_hostport("nohost:80", &ss), -EINVAL, "names not resolved");
}

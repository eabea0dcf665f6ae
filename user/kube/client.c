// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kube_client: API server configuration and HTTPS GETs, see kube/client.h.
 */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yaml.h>

#include "kube/client.h"
#include "lib/log.h"
#include "lib/util.h"

#define TOKEN_MAX_AGE_S 60
#define TOKEN_MAX	16384

static void seterr(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* ---- small helpers ---------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long kube_base64_decode(const char *in, size_t len, char *out)
{
	unsigned int acc = 0;
	int bits = 0, pad = 0;
	long n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i], v;

		if (isspace(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64val(c);
		if (v < 0 || pad)
			return -EINVAL;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (pad > 2 || bits >= 6)
		return -EINVAL;
	out[n] = 0;
	return n;
}

static char *join_path(const char *dir, const char *p)
{
	char *s;

	if (p[0] == '/' || !dir)
		return strdup(p);
	if (asprintf(&s, "%s/%s", dir, p) < 0)
		return NULL;
	return s;
}

/* ---- kubeconfig ------------------------------------------------------- */

static const char *scalar(yaml_document_t *d, yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(d, yaml_document_get_node(d, p->key));

		if (k && !strcmp(k, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

static const char *map_str(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	return scalar(d, map_get(d, m, key));
}

/* In list @key of the root, the entry whose name is @name: its @inner map. */
static yaml_node_t *named(yaml_document_t *d, yaml_node_t *root, const char *key, const char *name,
			  const char *inner)
{
	yaml_node_t *l = map_get(d, root, key);

	if (!l || l->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = l->data.sequence.items.start; i < l->data.sequence.items.top;
	     i++) {
		yaml_node_t *e = yaml_document_get_node(d, *i);
		const char *n = map_str(d, e, "name");

		if (n && !strcmp(n, name))
			return map_get(d, e, inner);
	}
	return NULL;
}

static int set_path(char **dst, const char *dir, const char *v)
{
	if (!v || !*v)
		return 0;
	*dst = join_path(dir, v);
	return *dst ? 0 : -ENOMEM;
}

static int set_data(char **dst, size_t *dlen, const char *v)
{
	size_t len;
	long n;

	if (!v || !*v)
		return 0;
	len = strlen(v);
	*dst = malloc(len * 3 / 4 + 3);
	if (!*dst)
		return -ENOMEM;
	n = kube_base64_decode(v, len, *dst);
	if (n < 0) {
		free(*dst);
		*dst = NULL;
		return -EINVAL;
	}
	*dlen = (size_t)n;
	return 0;
}

static bool yaml_true(const char *v)
{
	return v && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "yes"));
}

/* The current context of a kubeconfig and what it names. */
struct kc_context {
	const char *path;	    /* the file, for messages */
	yaml_node_t *ctx, *cl, *us; /* us: NULL when the context names no user */
	const char *cur, *cname, *uname;
};

/* Find the current context, its cluster and user; refuse what we cannot
 * honour (plain HTTP, unverified TLS, credential plugins). */
static int kc_select(yaml_document_t *d, struct kc_context *k, char *err, size_t err_len)
{
	yaml_node_t *root = yaml_document_get_root_node(d);
	const char *path = k->path, *v;

	k->cur = map_str(d, root, "current-context");
	if (!k->cur || !*k->cur) {
		seterr(err, err_len, "%s: no current-context", path);
		return -EINVAL;
	}
	k->ctx = named(d, root, "contexts", k->cur, "context");
	if (!k->ctx) {
		seterr(err, err_len, "%s: context \"%s\" not found", path, k->cur);
		return -EINVAL;
	}
	k->cname = map_str(d, k->ctx, "cluster");
	k->uname = map_str(d, k->ctx, "user");
	k->cl = k->cname ? named(d, root, "clusters", k->cname, "cluster") : NULL;
	if (!k->cl) {
		seterr(err, err_len, "%s: cluster \"%s\" of context \"%s\" not found", path,
		       k->cname ? k->cname : "", k->cur);
		return -EINVAL;
	}
	k->us = k->uname ? named(d, root, "users", k->uname, "user") : NULL;
	if (k->uname && !k->us) {
		seterr(err, err_len, "%s: user \"%s\" of context \"%s\" not found", path, k->uname,
		       k->cur);
		return -EINVAL;
	}
	v = map_str(d, k->cl, "server");
	if (!v || strncmp(v, "https://", 8)) {
		seterr(err, err_len, "%s: cluster \"%s\": server must be an https:// URL", path,
		       k->cname);
		return -EINVAL;
	}
	if (yaml_true(map_str(d, k->cl, "insecure-skip-tls-verify"))) {
		seterr(err, err_len,
		       "%s: cluster \"%s\": insecure-skip-tls-verify is not supported: TLS is always verified",
		       path, k->cname);
		return -EINVAL;
	}
	if (k->us && (map_get(d, k->us, "exec") || map_get(d, k->us, "auth-provider"))) {
		seterr(err, err_len,
		       "%s: user \"%s\": exec and auth-provider plugins are not supported; use a token, tokenFile or client certificate",
		       path, k->uname);
		return -EINVAL;
	}
	return 0;
}

/* The cluster's server and CA, and the context's namespace; relative
 * paths are relative to @dir, the kubeconfig's directory. */
static int kc_cluster(yaml_document_t *d, const struct kc_context *k, const char *dir,
		      struct kube_config *c, char *err, size_t err_len)
{
	const char *v;
	int ret;

	if (kube_config_set_server(c, map_str(d, k->cl, "server")) ||
	    set_path(&c->ca_file, dir, map_str(d, k->cl, "certificate-authority")))
		return -ENOMEM;
	v = map_str(d, k->cl, "tls-server-name");
	if (v && *v && !(c->tls_server_name = strdup(v)))
		return -ENOMEM;
	v = map_str(d, k->ctx, "namespace");
	if (!(c->namespace = strdup(v ? v : "")))
		return -ENOMEM;
	ret = set_data(&c->ca_data, &c->ca_data_len,
		       map_str(d, k->cl, "certificate-authority-data"));
	if (ret == -EINVAL)
		seterr(err, err_len, "%s: cluster \"%s\": certificate-authority-data is not base64",
		       k->path, k->cname);
	return ret;
}

/* The user's token or client certificate, inline or in files. */
static int kc_user(yaml_document_t *d, const struct kc_context *k, const char *dir,
		   struct kube_config *c, char *err, size_t err_len)
{
	yaml_node_t *us = k->us;
	const char *v;
	int ret;

	if (!us)
		return 0;
	v = map_str(d, us, "token");
	if (v && *v && !(c->token = strdup(v)))
		return -ENOMEM;
	if (set_path(&c->token_file, dir, map_str(d, us, "tokenFile")) ||
	    set_path(&c->cert_file, dir, map_str(d, us, "client-certificate")) ||
	    set_path(&c->key_file, dir, map_str(d, us, "client-key")))
		return -ENOMEM;
	ret = set_data(&c->cert_data, &c->cert_data_len, map_str(d, us, "client-certificate-data"));
	if (!ret)
		ret = set_data(&c->key_data, &c->key_data_len, map_str(d, us, "client-key-data"));
	if (ret == -EINVAL)
		seterr(err, err_len, "%s: user \"%s\": client-*-data is not base64", k->path,
		       k->uname);
	return ret;
}

int kube_config_load_kubeconfig(const char *path, struct kube_config *c, char *err, size_t err_len)
{
	struct kc_context k = { .path = path };
	yaml_parser_t p;
	yaml_document_t d;
	char *buf = NULL, *tmp = NULL, *dir;
	size_t len;
	int ret;

	memset(c, 0, sizeof(*c));
	ret = xlb_read_file(path, 4 << 20, &buf, &len);
	if (ret) {
		seterr(err, err_len, "read %s: %s", path, strerror(-ret));
		return ret;
	}
	tmp = strdup(path);
	if (!tmp) {
		free(buf);
		return -ENOMEM;
	}
	dir = dirname(tmp);
	if (!yaml_parser_initialize(&p)) {
		free(buf);
		free(tmp);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &d)) {
		seterr(err, err_len, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1,
		       p.problem_mark.column + 1, p.problem ? p.problem : "not valid YAML");
		yaml_parser_delete(&p);
		free(buf);
		free(tmp);
		return -EINVAL;
	}
	ret = kc_select(&d, &k, err, err_len);
	if (!ret)
		ret = kc_cluster(&d, &k, dir, c, err, err_len);
	if (!ret)
		ret = kc_user(&d, &k, dir, c, err, err_len);
	if (ret)
		kube_config_free(c);
	yaml_document_delete(&d);
	yaml_parser_delete(&p);
	free(buf);
	free(tmp);
	return ret;
}

int kube_config_in_cluster(struct kube_config *c, const char *sa_dir, char *err, size_t err_len)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *ns = NULL;
	int ret;

	memset(c, 0, sizeof(*c));
	if (!host || !*host || !port || !*port) {
		seterr(err, err_len,
		       "not in a cluster: KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT unset");
		return -ENOENT;
	}
	if (!sa_dir)
		sa_dir = KUBE_SA_DIR;
	if (asprintf(&c->server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		     port) < 0) {
		c->server = NULL;
		return -ENOMEM;
	}
	if (asprintf(&c->token_file, "%s/token", sa_dir) < 0) {
		c->token_file = NULL;
		goto nomem;
	}
	if (asprintf(&c->ca_file, "%s/ca.crt", sa_dir) < 0) {
		c->ca_file = NULL;
		goto nomem;
	}
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/namespace", sa_dir);
		ret = xlb_read_file(path, 256, &ns, NULL);
		c->namespace = strdup(ret ? "" : trim(ns));
		free(ns);
		if (!c->namespace)
			goto nomem;
	}
	return 0;
nomem:
	kube_config_free(c);
	return -ENOMEM;
}

int kube_config_set_server(struct kube_config *c, const char *url)
{
	char *s = strdup(url);
	size_t n;

	if (!s)
		return -ENOMEM;
	n = strlen(s);
	while (n && s[n - 1] == '/')
		s[--n] = 0;
	free(c->server);
	c->server = s;
	return 0;
}

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->token);
	free(c->token_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	free(c->key_data);
	free(c->tls_server_name);
	free(c->namespace);
	memset(c, 0, sizeof(*c));
}

/* ---- client ----------------------------------------------------------- */

struct kube_client {
	struct kube_config cfg;
	const int *stop;
	pthread_mutex_t lock; /* token cache */
	char *token;	      /* cached token (file) */
	time_t token_read;    /* CLOCK_MONOTONIC seconds, 0: stale */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct kube_client *kube_client_new(struct kube_config *c, const int *stop)
{
	struct kube_client *kc;

	if (!c->server) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&curl_once, curl_init_once);
	kc = calloc(1, sizeof(*kc));
	if (!kc)
		return NULL;
	kc->cfg = *c;
	memset(c, 0, sizeof(*c));
	kc->stop = stop;
	pthread_mutex_init(&kc->lock, NULL);
	return kc;
}

void kube_client_free(struct kube_client *kc)
{
	if (!kc)
		return;
	kube_config_free(&kc->cfg);
	free(kc->token);
	pthread_mutex_destroy(&kc->lock);
	free(kc);
}

void kube_client_set_stop(struct kube_client *kc, const int *stop)
{
	kc->stop = stop;
}

const char *kube_client_server(const struct kube_client *kc)
{
	return kc->cfg.server;
}

static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int kube_client_token(struct kube_client *kc, char *buf, size_t size)
{
	int ret = 0;

	if (!kc->cfg.token_file) {
		snprintf(buf, size, "%s", kc->cfg.token ? kc->cfg.token : "");
		return 0;
	}
	pthread_mutex_lock(&kc->lock);
	if (!kc->token || !kc->token_read || mono_s() - kc->token_read >= TOKEN_MAX_AGE_S) {
		char *raw = NULL, *t;

		ret = xlb_read_file(kc->cfg.token_file, TOKEN_MAX, &raw, NULL);
		if (!ret) {
			t = strdup(trim(raw));
			if (t) {
				if (kc->token && strcmp(kc->token, t))
					pr_info("kube: bearer token in %s changed: using the new one\n",
						kc->cfg.token_file);
				free(kc->token);
				kc->token = t;
				kc->token_read = mono_s();
			} else {
				ret = -ENOMEM;
			}
			free(raw);
		} else {
			pr_warn("kube: read token file %s: %s%s\n", kc->cfg.token_file,
				strerror(-ret), kc->token ? "; using the cached token" : "");
			if (kc->token)
				ret = 0;
		}
	}
	snprintf(buf, size, "%s", kc->token ? kc->token : "");
	pthread_mutex_unlock(&kc->lock);
	return ret;
}

void kube_client_token_invalidate(struct kube_client *kc)
{
	pthread_mutex_lock(&kc->lock);
	kc->token_read = 0;
	pthread_mutex_unlock(&kc->lock);
}

void kube_resp_free(struct kube_resp *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

struct xfer {
	struct kube_client *kc;
	CURL *h;
	struct kube_resp *r;
	kube_data_fn on_data; /* NULL: collect the body */
	void *ctx;
	bool cancelled;
};

static int body_append(struct kube_resp *r, const char *p, size_t n)
{
	char *b = realloc(r->body, r->len + n + 1);

	if (!b)
		return -ENOMEM;
	memcpy(b + r->len, p, n);
	r->len += n;
	b[r->len] = 0;
	r->body = b;
	return 0;
}

static size_t write_cb(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	size_t n = sz * nm;
	long status = 0;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (x->on_data && status == 200) {
		if (x->on_data(x->ctx, p, n)) {
			x->cancelled = true;
			return 0;
		}
		return n;
	}
	/* Error bodies are small Status objects; keep at most 64 KiB. */
	if (x->on_data && x->r->len > 65536)
		return n;
	return body_append(x->r, p, n) ? 0 : n;
}

static size_t header_cb(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	size_t n = sz * nm;

	if (n > 12 && !strncasecmp(p, "Retry-After:", 12)) {
		char v[32];
		size_t l = n - 12 < sizeof(v) - 1 ? n - 12 : sizeof(v) - 1;

		memcpy(v, p + 12, l);
		v[l] = 0;
		x->r->retry_after = atoi(trim(v));
	}
	return n;
}

static int progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = arg;

	return x->kc->stop && __atomic_load_n(x->kc->stop, __ATOMIC_RELAXED);
}

static int set_server_name(struct kube_client *kc, CURL *h, const char *path, char **url,
			   struct curl_slist **cto)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *prefix = NULL, *c = NULL, *nurl = NULL;
	size_t pl;
	int ret = -ENOMEM;

	if (!u || curl_url_set(u, CURLUPART_URL, kc->cfg.server, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ||
	    curl_url_get(u, CURLUPART_PATH, &prefix, 0))
		goto out;
	/* Keep the server URL's path (https://rancher/k8s/clusters/c-x). */
	pl = strlen(prefix);
	while (pl && prefix[pl - 1] == '/')
		prefix[--pl] = 0;
	if (asprintf(&c, "%s:%s:%s:%s", kc->cfg.tls_server_name, port, host, port) < 0) {
		c = NULL;
		goto out;
	}
	if (asprintf(&nurl, "https://%s:%s%s%s", kc->cfg.tls_server_name, port, prefix, path) < 0) {
		nurl = NULL;
		goto out;
	}
	*cto = curl_slist_append(NULL, c);
	if (!*cto)
		goto out;
	curl_easy_setopt(h, CURLOPT_CONNECT_TO, *cto);
	curl_easy_setopt(h, CURLOPT_URL, nurl);
	free(*url);
	*url = nurl;
	nurl = NULL;
	ret = 0;
out:
	free(nurl);
	free(c);
	curl_free(host);
	curl_free(port);
	curl_free(prefix);
	curl_url_cleanup(u);
	return ret;
}

/* Accept, a write's Content-Type and the bearer token; *@auth keeps the
 * token's line for the caller to wipe. NULL: out of memory. */
static struct curl_slist *request_headers(struct kube_client *kc, const struct kube_body *w,
					  char **auth)
{
	struct curl_slist *hdrs = NULL, *t;
	char token[TOKEN_MAX];

	*auth = NULL;
	kube_client_token(kc, token, sizeof(token));
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (hdrs && w && w->content_type) {
		char ct[96];

		snprintf(ct, sizeof(ct), "Content-Type: %s", w->content_type);
		t = curl_slist_append(hdrs, ct);
		if (!t)
			curl_slist_free_all(hdrs);
		hdrs = t;
	}
	if (hdrs && *token) {
		if (asprintf(auth, "Authorization: Bearer %s", token) < 0)
			*auth = NULL;
		t = *auth ? curl_slist_append(hdrs, *auth) : NULL;
		if (!t) {
			curl_slist_free_all(hdrs);
			hdrs = NULL;
		} else {
			hdrs = t;
		}
	}
	explicit_bzero(token, sizeof(token));
	return hdrs;
}

/* The transfer itself: callbacks into @x, timeouts, keepalive, HTTPS only. */
static void set_transfer(CURL *h, const char *url, struct curl_slist *hdrs, struct xfer *x,
			 bool watch)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "xlb-agent/0.1 (linux) kubernetes/unknown");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->r->err);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	/* A watch asks the server to end it within 600 s (timeoutSeconds);
	 * one that hangs but keeps TCP alive is cut here, as client-go does. */
	curl_easy_setopt(h, CURLOPT_TIMEOUT, watch ? 630L : 120L);
}

/* A write's method, body and deadline. */
static void set_write(CURL *h, const struct kube_body *w)
{
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, w->method);
	if (w->data) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, w->data);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(w->data));
	}
	if (w->timeout_ms) {
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)w->timeout_ms);
	}
}

/*
 * The configured CA and client certificate, inline or in files. The
 * configured CA is the only trust anchor (client-go's pool): Debian's
 * libcurl also loads CAPATH (/etc/ssl/certs) by default, and a blob does
 * not replace it, nor the default CAINFO bundle.
 */
static void set_tls(const struct kube_client *kc, CURL *h)
{
	if (kc->cfg.ca_data) {
		struct curl_blob b = { kc->cfg.ca_data, kc->cfg.ca_data_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	} else if (kc->cfg.ca_file) {
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(h, CURLOPT_CAINFO, kc->cfg.ca_file);
	}
	if (kc->cfg.cert_data) {
		struct curl_blob b = { kc->cfg.cert_data, kc->cfg.cert_data_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (kc->cfg.cert_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, kc->cfg.cert_file);
	}
	if (kc->cfg.key_data) {
		struct curl_blob b = { kc->cfg.key_data, kc->cfg.key_data_len, CURL_BLOB_NOCOPY };

		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (kc->cfg.key_file) {
		curl_easy_setopt(h, CURLOPT_SSLKEY, kc->cfg.key_file);
	}
}

static int perform(struct kube_client *kc, CURL *h, const char *path, bool watch,
		   kube_data_fn on_data, void *ctx, struct kube_resp *r, const struct kube_body *w)
{
	struct xfer x = { .kc = kc, .h = h, .r = r, .on_data = on_data, .ctx = ctx };
	struct curl_slist *hdrs, *cto = NULL;
	char *auth = NULL, *url = NULL;
	int ret;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	if (asprintf(&url, "%s%s", kc->cfg.server, path) < 0)
		return -ENOMEM;
	hdrs = request_headers(kc, w, &auth);
	if (!hdrs) {
		free(url);
		free(auth);
		return -ENOMEM;
	}
	set_transfer(h, url, hdrs, &x, watch);
	if (w)
		set_write(h, w);
	set_tls(kc, h);
	/* tls-server-name: present and verify that name while connecting to
	 * the server URL's address (the URL carries the name, CONNECT_TO the
	 * address). */
	if (kc->cfg.tls_server_name && set_server_name(kc, h, path, &url, &cto)) {
		ret = -ENOMEM;
		goto out;
	}
	r->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (x.cancelled || r->cc == CURLE_ABORTED_BY_CALLBACK)
		ret = -ECANCELED;
	else if (r->cc != CURLE_OK)
		ret = (r->cc == CURLE_WRITE_ERROR && !x.on_data) ? -ENOMEM : -EIO;
	else
		ret = 0;
	if (r->cc != CURLE_OK && !r->err[0])
		snprintf(r->err, sizeof(r->err), "%s", curl_easy_strerror(r->cc));
out:
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_CONNECT_TO, NULL);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(cto);
	if (auth)
		explicit_bzero(auth, strlen(auth));
	free(auth);
	free(url);
	return ret;
}

/* One retry after a 401 with a freshly read token (client-go does the
 * same): a rotated token file is picked up at once. */
static int request(struct kube_client *kc, CURL *h, const char *path, bool watch,
		   kube_data_fn on_data, void *ctx, struct kube_resp *r)
{
	int ret = perform(kc, h, path, watch, on_data, ctx, r, NULL);

	if (ret || r->status != 401 || !kc->cfg.token_file)
		return ret;
	pr_info("kube: GET %s: 401 Unauthorized: re-reading the token and retrying\n", path);
	kube_client_token_invalidate(kc);
	kube_resp_free(r);
	return perform(kc, h, path, watch, on_data, ctx, r, NULL);
}

int kube_write(struct kube_client *kc, CURL *h, const char *path, const struct kube_body *w,
	       struct kube_resp *r)
{
	int ret = perform(kc, h, path, false, NULL, NULL, r, w);

	if (ret || r->status != 401 || !kc->cfg.token_file)
		return ret;
	pr_info("kube: %s %s: 401 Unauthorized: re-reading the token and retrying\n", w->method,
		path);
	kube_client_token_invalidate(kc);
	kube_resp_free(r);
	return perform(kc, h, path, false, NULL, NULL, r, w);
}

int kube_get(struct kube_client *kc, CURL *h, const char *path, struct kube_resp *r)
{
	return request(kc, h, path, false, NULL, NULL, r);
}

int kube_get_stream(struct kube_client *kc, CURL *h, const char *path, kube_data_fn on_data,
		    void *ctx, struct kube_resp *r)
{
	return request(kc, h, path, false, on_data, ctx, r);
}

int kube_watch(struct kube_client *kc, CURL *h, const char *path, kube_data_fn on_data, void *ctx,
	       struct kube_resp *r)
{
	return request(kc, h, path, true, on_data, ctx, r);
}

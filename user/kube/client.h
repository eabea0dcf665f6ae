/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * kube_client: how to reach the Kubernetes API server (k8s-spec §1.1-1.3)
 * and plain HTTPS GETs against it through libcurl.
 *
 * A kube_config says where the server is and how to prove who we are:
 * from a kubeconfig file (current-context -> cluster + user; CA, client
 * certificate and key as files or base64 data; a bearer token inline or in
 * a file), or in-cluster (KUBERNETES_SERVICE_HOST/PORT and the service
 * account's token, ca.crt and namespace files). TLS is always verified:
 * insecure-skip-tls-verify is refused, and exec/auth-provider plugins are
 * not supported.
 *
 * A kube_client is shared by the reflector threads. The bearer token is
 * re-read from its file when the cached copy is older than 60 s and after
 * a 401 (the request is then retried once), as client-go does, so a token
 * the kubelet rotates on disk is picked up.
 */
#ifndef XLB_KUBE_CLIENT_H
#define XLB_KUBE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config {
	char *server;  /* "https://host:port", no trailing '/' */
	char *ca_file; /* PEM bundle path, or ... */
	char *ca_data; /* ... the PEM itself (decoded *-data) */
	size_t ca_data_len;
	char *token;		    /* static bearer token, or ... */
	char *token_file;	    /* ... a file holding it (re-read) */
	char *cert_file, *key_file; /* TLS client certificate, or ... */
	char *cert_data, *key_data; /* ... PEM data */
	size_t cert_data_len, key_data_len;
	char *tls_server_name; /* SNI / name checked in the cert */
	char *namespace;       /* own namespace ("" when unknown) */
};

/*
 * Fill @c from a kubeconfig file (YAML or JSON). Relative paths are taken
 * relative to the file's directory. On failure returns -errno (-EINVAL
 * for content problems) and writes a reason to @err.
 */
int kube_config_load_kubeconfig(const char *path, struct kube_config *c, char *err, size_t err_len);
/*
 * Fill @c for a Pod: server from KUBERNETES_SERVICE_HOST/PORT (IPv6
 * bracketed), token file, CA and namespace from @sa_dir (NULL:
 * KUBE_SA_DIR). -ENOENT when not in a cluster.
 */
int kube_config_in_cluster(struct kube_config *c, const char *sa_dir, char *err, size_t err_len);
/* Replace the server URL (--apiserver). */
int kube_config_set_server(struct kube_config *c, const char *url);
void kube_config_free(struct kube_config *c);

/* Decode base64 (standard alphabet, '=' padding, whitespace ignored).
 * Returns the length or -EINVAL; @out must hold 3 * len / 4 + 3 bytes
 * and is NUL-terminated. */
long kube_base64_decode(const char *in, size_t len, char *out);

struct kube_client;

/* Takes ownership of *@c (it is zeroed); @stop as kube_client_set_stop()
 * (may be NULL). NULL with errno on failure. */
struct kube_client *kube_client_new(struct kube_config *c, const int *stop);
void kube_client_free(struct kube_client *kc);
/* Requests in flight end (-ECANCELED) soon after *@stop becomes non-zero. */
void kube_client_set_stop(struct kube_client *kc, const int *stop);
const char *kube_client_server(const struct kube_client *kc);

struct kube_resp {
	long status;		   /* HTTP status, 0 when none was received */
	CURLcode cc;		   /* transfer result */
	char err[CURL_ERROR_SIZE]; /* curl's message when cc != 0 */
	char *body;		   /* whole body (kube_get, and for errors
				 * kube_watch), NUL-terminated */
	size_t len;
	int retry_after; /* Retry-After seconds, -1 when absent */
};

void kube_resp_free(struct kube_resp *r);

/*
 * GET @path (with query) and collect the body in @r. Returns 0 when a
 * response was received (whatever its status), -EIO for a transfer error
 * (r->cc, r->err say which), -ECANCELED when *stop became set.
 */
int kube_get(struct kube_client *kc, CURL *h, const char *path, struct kube_resp *r);

/*
 * GET a watch @path and hand each received chunk of a 200 response to
 * @on_data; the call returns when the server ends the stream, the
 * transfer fails, @on_data returns non-zero (-ECANCELED is returned) or
 * *stop becomes set. A non-200 body is collected in @r. Return values as
 * kube_get().
 */
typedef int (*kube_data_fn)(void *ctx, const char *data, size_t len);
int kube_watch(struct kube_client *kc, CURL *h, const char *path, kube_data_fn on_data, void *ctx,
	       struct kube_resp *r);

/*
 * GET @path (not a watch: the usual request timeout applies) and hand each
 * chunk of a 200 body to @on_data as it arrives, like kube_watch(): a big
 * LIST is decoded while it streams in and never held whole.
 */
int kube_get_stream(struct kube_client *kc, CURL *h, const char *path, kube_data_fn on_data,
		    void *ctx, struct kube_resp *r);

/* A request with a body: POST, PUT, PATCH (merge patches), DELETE. */
struct kube_body {
	const char *method;	  /* "POST", "PUT", "PATCH", "DELETE" */
	const char *content_type; /* "application/json",
				 * "application/merge-patch+json"; NULL: none */
	const char *data;	  /* NUL-terminated JSON, NULL: no body */
	unsigned int timeout_ms;  /* whole request; 0: 120 s */
};

/* Send @w to @path and collect the answer in @r; return values as
 * kube_get() (any HTTP status is 0: look at r->status). */
int kube_write(struct kube_client *kc, CURL *h, const char *path, const struct kube_body *w,
	       struct kube_resp *r);

/* The current bearer token ("" when none), re-read from its file when
 * older than 60 s or invalidated. */
int kube_client_token(struct kube_client *kc, char *buf, size_t size);
void kube_client_token_invalidate(struct kube_client *kc);

#endif /* XLB_KUBE_CLIENT_H */

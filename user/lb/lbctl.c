// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lbctl: allocation written back to the API server (see lbctl.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "lb/ipam.h"
#include "lb/lbctl.h"
#include "lib/log.h"

/* One write the controller decided under the cache lock, done after it. */
struct write {
	char ns[64], name[254], uid[64], rv[32];
	bool ok;     /* allocated (else failed) */
	bool status; /* status must be written */
	bool ann;    /* the pool annotation must be written */
	char ips[XLB_IPAM_MAX_IPS][64];
	size_t n_ips;
	char pool[64];
	char reason[32];
	char message[320];
};

struct told {
	char key[320];	/* "ns/name" */
	char what[400]; /* outcome last reported */
};

struct xlb_lbctl {
	struct kube_source *src;
	struct kube_client *kc;
	CURL *h;
	char *lb_class, *node;
	struct told *told; /* Events already sent */
	size_t n_told;
	bool warned_no_pools;
};

struct plan_ctx {
	struct xlb_lbctl *c;
	struct write *w;
	size_t n;
	size_t n_pools;
};

static void copy(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

/* Under the cache lock: allocate, note what must be written. */
static int plan(const struct k8s_cache *cache, void *arg)
{
	struct plan_ctx *p = arg;
	const struct k8s_object **pools = NULL, **svcs = NULL;
	size_t n_svcs = 0;
	struct xlb_ipam_result *res = NULL;
	struct xlb_ipam_opts o = { .lb_class = p->c->lb_class };
	int err = -ENOMEM;

	if (k8s_cache_list(cache, K8S_KIND_LBPOOL, &pools, &p->n_pools) ||
	    k8s_cache_list(cache, K8S_KIND_SERVICE, &svcs, &n_svcs))
		goto out;
	if (!p->n_pools) {
		err = 0;
		goto out;
	}
	res = calloc(n_svcs + 1, sizeof(*res));
	p->w = calloc(n_svcs + 1, sizeof(*p->w));
	if (!res || !p->w || xlb_ipam_allocate(pools, p->n_pools, svcs, n_svcs, &o, res))
		goto out;
	for (size_t i = 0; i < n_svcs; i++) {
		const struct xlb_ipam_result *r = &res[i];
		const struct k8s_object *s = svcs[i];
		const char *ann = k8s_annotation(s, XLB_ANN_ALLOCATED);
		struct write *w;

		if (r->status == XLB_IPAM_SKIP)
			continue;
		/* Nothing to write when status and annotation are right and
		 * the outcome was told already. */
		w = &p->w[p->n];
		memset(w, 0, sizeof(*w));
		copy(w->ns, sizeof(w->ns), s->meta.namespace);
		copy(w->name, sizeof(w->name), s->meta.name);
		copy(w->uid, sizeof(w->uid), s->meta.uid);
		copy(w->rv, sizeof(w->rv), s->meta.resource_version);
		w->ok = r->status == XLB_IPAM_OK;
		w->status = r->changed;
		for (size_t j = 0; j < r->n_ips; j++)
			k8s_ip_str(&r->ips[j], w->ips[j], sizeof(w->ips[j]));
		w->n_ips = r->n_ips;
		copy(w->pool, sizeof(w->pool), r->pool);
		copy(w->reason, sizeof(w->reason), w->ok ? "IPAllocated" : r->reason);
		copy(w->message, sizeof(w->message), r->message);
		w->ann = w->ok ? !ann || strcmp(ann, w->pool) : ann != NULL;
		p->n++;
	}
	err = 0;
out:
	free(res);
	free(svcs);
	free(pools);
	return err;
}

static int patch(struct xlb_lbctl *c, const char *path, cJSON *body, long *status)
{
	struct kube_body b = { .method = "PATCH",
			       .content_type = "application/merge-patch+json",
			       .timeout_ms = 5000 };
	struct kube_resp r;
	char *data = cJSON_PrintUnformatted(body);
	int err;

	*status = 0;
	if (!data)
		return -ENOMEM;
	b.data = data;
	err = kube_write(c->kc, c->h, path, &b, &r);
	free(data);
	*status = r.status;
	if (!err && (r.status < 200 || r.status >= 300) && r.status != 409)
		pr_warn("lbctl: PATCH %s: HTTP %ld: %.300s\n", path, r.status,
			r.body ? r.body : "");
	if (err)
		pr_warn("lbctl: PATCH %s: %s\n", path, r.err);
	kube_resp_free(&r);
	return err;
}

static int write_status(struct xlb_lbctl *c, const struct write *w)
{
	char path[512];
	cJSON *body = cJSON_CreateObject(), *m, *st, *lb, *ing;
	long code;
	int err = -ENOMEM;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services/%s/status", w->ns, w->name);
	if (!body)
		return -ENOMEM;
	m = cJSON_AddObjectToObject(body, "metadata");
	/* Precondition: the version the allocation was computed from. */
	cJSON_AddStringToObject(m, "resourceVersion", w->rv);
	st = cJSON_AddObjectToObject(body, "status");
	lb = cJSON_AddObjectToObject(st, "loadBalancer");
	if (w->ok) {
		ing = cJSON_AddArrayToObject(lb, "ingress");
		for (size_t i = 0; ing && i < w->n_ips; i++) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "ip", w->ips[i]);
			cJSON_AddStringToObject(e, "ipMode", "VIP");
			cJSON_AddItemToArray(ing, e);
		}
	} else {
		cJSON_AddNullToObject(lb, "ingress");
	}
	if (m && lb)
		err = patch(c, path, body, &code);
	cJSON_Delete(body);
	if (!err && code == 409)
		return -EAGAIN; /* a newer version comes with the watch */
	return err ? err : (code == 200 ? 0 : -EIO);
}

static int write_annotation(struct xlb_lbctl *c, const struct write *w)
{
	char path[512];
	cJSON *body = cJSON_CreateObject(), *m, *a;
	long code;
	int err = -ENOMEM;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services/%s", w->ns, w->name);
	if (!body)
		return -ENOMEM;
	m = cJSON_AddObjectToObject(body, "metadata");
	a = cJSON_AddObjectToObject(m, "annotations");
	if (a && w->ok)
		cJSON_AddStringToObject(a, XLB_ANN_ALLOCATED, w->pool);
	else if (a)
		cJSON_AddNullToObject(a, XLB_ANN_ALLOCATED);
	if (a)
		err = patch(c, path, body, &code);
	cJSON_Delete(body);
	return err ? err : (code == 200 ? 0 : -EIO);
}

static void rfc3339(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int post_event(struct xlb_lbctl *c, const struct write *w, const char *what)
{
	struct kube_body b = { .method = "POST",
			       .content_type = "application/json",
			       .timeout_ms = 5000 };
	cJSON *e = cJSON_CreateObject(), *m, *io, *src;
	struct kube_resp r;
	char path[256], now[32], gen[300];
	char *data;
	int err;

	if (!e)
		return -ENOMEM;
	rfc3339(now, sizeof(now));
	snprintf(gen, sizeof(gen), "%s.", w->name);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", w->ns);
	cJSON_AddStringToObject(e, "apiVersion", "v1");
	cJSON_AddStringToObject(e, "kind", "Event");
	m = cJSON_AddObjectToObject(e, "metadata");
	cJSON_AddStringToObject(m, "generateName", gen);
	cJSON_AddStringToObject(m, "namespace", w->ns);
	io = cJSON_AddObjectToObject(e, "involvedObject");
	cJSON_AddStringToObject(io, "apiVersion", "v1");
	cJSON_AddStringToObject(io, "kind", "Service");
	cJSON_AddStringToObject(io, "namespace", w->ns);
	cJSON_AddStringToObject(io, "name", w->name);
	cJSON_AddStringToObject(io, "uid", w->uid);
	cJSON_AddStringToObject(e, "reason", w->reason);
	cJSON_AddStringToObject(e, "message", what);
	cJSON_AddStringToObject(e, "type", w->ok ? "Normal" : "Warning");
	src = cJSON_AddObjectToObject(e, "source");
	cJSON_AddStringToObject(src, "component", "xlb-controller");
	cJSON_AddStringToObject(e, "reportingComponent", "xlb.io/controller");
	cJSON_AddStringToObject(e, "reportingInstance", c->node);
	cJSON_AddStringToObject(e, "firstTimestamp", now);
	cJSON_AddStringToObject(e, "lastTimestamp", now);
	cJSON_AddNumberToObject(e, "count", 1);
	data = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	if (!data)
		return -ENOMEM;
	b.data = data;
	err = kube_write(c->kc, c->h, path, &b, &r);
	free(data);
	if (!err && r.status != 201) {
		pr_warn("lbctl: Event for Service %s/%s: HTTP %ld\n", w->ns, w->name, r.status);
		err = -EIO;
	}
	kube_resp_free(&r);
	return err;
}

static struct told *told_find(struct xlb_lbctl *c, const char *key)
{
	for (size_t i = 0; i < c->n_told; i++)
		if (!strcmp(c->told[i].key, key))
			return &c->told[i];
	return NULL;
}

int xlb_lbctl_run(struct xlb_lbctl *c)
{
	struct plan_ctx p = { .c = c };
	int err, failed = 0;

	if (!kube_source_pools_synced(c->src))
		return 0;
	err = kube_source_with_cache(c->src, plan, &p);
	if (err) {
		free(p.w);
		return err;
	}
	if (!p.n_pools) {
		if (!c->warned_no_pools)
			pr_warn("lbctl: no LoadBalancerIPPool: nothing allocated, no status changed\n");
		c->warned_no_pools = true;
		free(p.w);
		return 0;
	}
	c->warned_no_pools = false;
	for (size_t i = 0; i < p.n; i++) {
		const struct write *w = &p.w[i];
		char key[320], what[400];
		struct told *t;

		snprintf(key, sizeof(key), "%s/%s", w->ns, w->name);
		if (w->ok)
			snprintf(what, sizeof(what), "Assigned IP [%s%s%s] from pool %s", w->ips[0],
				 w->n_ips > 1 ? " " : "", w->n_ips > 1 ? w->ips[1] : "", w->pool);
		else
			snprintf(what, sizeof(what), "%s", w->message);
		if (w->status) {
			err = write_status(c, w);
			if (err) {
				failed++;
				continue; /* retried on the next event */
			}
			pr_info("Service %s: %s: %s\n", key, w->reason, what);
		}
		if (w->ann && write_annotation(c, w))
			failed++;
		t = told_find(c, key);
		if (t && !strcmp(t->what, what))
			continue;
		if (!w->ok)
			pr_warn("Service %s: %s: %s\n", key, w->reason, what);
		if (post_event(c, w, what)) {
			failed++;
			continue;
		}
		if (!t) {
			struct told *v = realloc(c->told, (c->n_told + 1) * sizeof(*v));

			if (!v)
				continue;
			c->told = v;
			t = &c->told[c->n_told++];
			copy(t->key, sizeof(t->key), key);
		}
		copy(t->what, sizeof(t->what), what);
	}
	free(p.w);
	return failed;
}

struct xlb_lbctl *xlb_lbctl_new(struct kube_source *src, const char *lb_class, const char *node)
{
	struct xlb_lbctl *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->src = src;
	c->kc = kube_source_client(src);
	c->h = curl_easy_init();
	c->lb_class = lb_class ? strdup(lb_class) : NULL;
	c->node = strdup(node);
	if (!c->h || !c->node || (lb_class && !c->lb_class)) {
		xlb_lbctl_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void xlb_lbctl_free(struct xlb_lbctl *c)
{
	if (!c)
		return;
	if (c->h)
		curl_easy_cleanup(c->h);
	free(c->told);
	free(c->lb_class);
	free(c->node);
	free(c);
}

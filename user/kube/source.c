// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kube_source: reflectors feeding the object cache, see kube/source.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <cjson/cJSON.h>

#include "k8s/cache.h"
#include "k8s/node.h"
#include "kube/source.h"
#include "lib/log.h"
#include "lib/util.h"
#include "kube/reflector.h"

struct kube_source;

struct keyset {
	char **v;
	size_t n, cap;
};

struct kind_ctx {
	struct kube_source *s;
	enum k8s_kind kind;
	/* a LIST in progress: the valid objects, and the names of all
	 * (rejected ones keep their last good version) */
	struct k8s_object_list staged;
	struct keyset names;
	size_t n_items, n_rejected;
};

struct kube_source {
	struct kube_client *kc;
	char *node_name;
	char *node_selector;
	int stop; /* atomic */
	int efd;

	pthread_mutex_t lock; /* everything below */
	struct k8s_cache *cache;
	struct k8s_node_state node;
	unsigned int changes;	  /* K8S_SRC_* */
	uint64_t pending_since;	  /* oldest object change not applied */
	uint64_t since_translate; /* oldest change after the last translate */
	/* Since the last translate: the Services ("ns/name") whose Service
	 * or EndpointSlices changed, or all of them (a LIST replaced a
	 * kind: the next translate is a full one). */
	struct keyset dirty;
	bool dirty_all;

	struct kube_reflector *svc, *eps, *nodes, *pools;
	struct kind_ctx svc_ctx, eps_ctx, pool_ctx;
};

/* Caller holds the lock. */
static void changed(struct kube_source *s, unsigned int what)
{
	uint64_t one = 1;

	if (what & KUBE_SRC_OBJECTS) {
		if (!s->pending_since)
			s->pending_since = xlb_mono_ms();
		if (!s->since_translate)
			s->since_translate = xlb_mono_ms();
	}
	s->changes |= what;
	if (write(s->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("kube: wake main loop: %s\n", strerror(errno));
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int keyset_add(struct keyset *k, const char *ns, const char *name)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		char **v = realloc(k->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	if (asprintf(&k->v[k->n], "%s/%s", ns, name) < 0)
		return -ENOMEM;
	k->n++;
	return 0;
}

static bool keyset_has(const struct keyset *k, const char *ns, const char *name)
{
	char buf[384], *p = buf;

	snprintf(buf, sizeof(buf), "%s/%s", ns, name);
	return k->n && bsearch(&p, k->v, k->n, sizeof(*k->v), cmpstr);
}

static void keyset_free(struct keyset *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

/* Caller holds the lock. The Service an object concerns is dirty: a
 * Service itself, or the one a slice names (before and after a change:
 * a slice can be relabelled). Pools translate into nothing. */
static void mark_dirty(struct kube_source *s, const struct k8s_object *o)
{
	const char *svc = NULL;

	if (!o || s->dirty_all)
		return;
	if (o->kind == K8S_KIND_SERVICE)
		svc = o->meta.name;
	else if (o->kind == K8S_KIND_ENDPOINTSLICE)
		svc = o->eps.service_name;
	if (svc && keyset_add(&s->dirty, o->meta.namespace, svc)) {
		/* No room to remember it: the next translate is full. */
		s->dirty_all = true;
		keyset_free(&s->dirty);
	}
}

/* Decode one API object through the file path's validators. */
static int decode(const cJSON *obj, struct k8s_object_list *l, size_t *rejected)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	int err = k8s_parse_json(obj, "apiserver", NULL, l, &errs);

	k8s_errors_log(&errs);
	if (rejected)
		*rejected += errs.n_rejected;
	k8s_errors_free(&errs);
	return err;
}

/* The namespace the cache keys an object by: pools are cluster-scoped. */
static const char *obj_ns(enum k8s_kind kind, const cJSON *obj)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(m, "namespace");

	if (kind == K8S_KIND_LBPOOL)
		return "";
	return cJSON_IsString(ns) && *ns->valuestring ? ns->valuestring : "default";
}

static const char *obj_name(const cJSON *obj)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(m, "name");

	return cJSON_IsString(nm) ? nm->valuestring : NULL;
}

static void list_reset(struct kind_ctx *kx)
{
	k8s_object_list_free(&kx->staged);
	keyset_free(&kx->names);
	kx->n_items = kx->n_rejected = 0;
}

static int obj_list_begin(void *arg)
{
	list_reset(arg);
	return 0;
}

/* One item of a LIST: decoded now (its JSON is freed right after), kept
 * aside until the whole LIST has arrived. */
static int obj_list_item(void *arg, const cJSON *item)
{
	struct kind_ctx *kx = arg;
	const char *name = obj_name(item);
	int err;

	kx->n_items++;
	err = decode(item, &kx->staged, &kx->n_rejected);
	if (err)
		return err;
	/* Named, valid or not: a rejected object keeps its last good
	 * version rather than being removed. */
	return name ? keyset_add(&kx->names, obj_ns(kx->kind, item), name) : 0;
}

/* The LIST is complete: it is the new set of objects of this kind. */
static int obj_list_end(void *arg, bool complete)
{
	struct kind_ctx *kx = arg;
	struct kube_source *s = kx->s;
	const struct k8s_object **old = NULL;
	struct keyset gone = { 0 };
	size_t n_old = 0, removed = 0;
	int err;

	if (!complete) {
		list_reset(kx);
		return 0;
	}
	if (kx->names.n)
		qsort(kx->names.v, kx->names.n, sizeof(*kx->names.v), cmpstr);
	pthread_mutex_lock(&s->lock);
	err = k8s_cache_list(s->cache, kx->kind, &old, &n_old);
	/* Collect names first: deleting invalidates the array. */
	for (size_t i = 0; !err && i < n_old; i++)
		if (!keyset_has(&kx->names, old[i]->meta.namespace, old[i]->meta.name))
			err = keyset_add(&gone, old[i]->meta.namespace, old[i]->meta.name);
	/* Removals only after every object is in: on -ENOMEM the LIST is
	 * retried, and nothing was removed on the strength of a partial set. */
	if (!err)
		err = k8s_cache_put_list(s->cache, &kx->staged, NULL);
	for (size_t i = 0; !err && i < gone.n; i++) {
		char *slash = strchr(gone.v[i], '/');

		*slash = 0;
		if (!k8s_cache_delete(s->cache, kx->kind, gone.v[i], slash + 1))
			removed++;
	}
	if (!err) {
		/* A relist is a full resync, as kube-proxy's. */
		if (kx->kind != K8S_KIND_LBPOOL) {
			s->dirty_all = true;
			keyset_free(&s->dirty);
		}
		changed(s, KUBE_SRC_OBJECTS);
	}
	pthread_mutex_unlock(&s->lock);
	free(old);
	keyset_free(&gone);
	if (err)
		pr_err("kube: apply %s list: %s; keeping the previous objects\n",
		       k8s_kind_name(kx->kind), strerror(-err));
	if (removed)
		pr_info("kube: %zu %s(s) gone since the last list: removed\n", removed,
			k8s_kind_name(kx->kind));
	if (kx->n_rejected)
		pr_warn("kube: %s list: %zu of %zu object(s) rejected, each keeping its last good version\n",
			k8s_kind_name(kx->kind), kx->n_rejected, kx->n_items);
	list_reset(kx);
	return err;
}

static void obj_event(void *arg, enum kube_event_type t, const cJSON *obj)
{
	struct kind_ctx *kx = arg;
	struct kube_source *s = kx->s;
	struct k8s_object_list l = { 0 };
	const char *name = obj_name(obj);
	size_t rejected = 0;
	int err;

	if (!name) {
		pr_err("kube: %s %s without metadata.name: skipped\n", kube_event_type_name(t),
		       k8s_kind_name(kx->kind));
		return;
	}
	if (t == KUBE_EVENT_DELETED) {
		struct k8s_object *o;

		pthread_mutex_lock(&s->lock);
		o = k8s_cache_take(s->cache, kx->kind, obj_ns(kx->kind, obj), name);
		if (o) {
			mark_dirty(s, o);
			changed(s, KUBE_SRC_OBJECTS);
		}
		pthread_mutex_unlock(&s->lock);
		k8s_object_free(o);
		return;
	}
	err = decode(obj, &l, &rejected);
	if (!err && l.n) {
		pthread_mutex_lock(&s->lock);
		/* Marking is cheap and never waits on a translate: the
		 * applier translates only what is marked. */
		for (size_t i = 0; i < l.n; i++) {
			mark_dirty(s, k8s_cache_get(s->cache, l.v[i]->kind, l.v[i]->meta.namespace,
						    l.v[i]->meta.name));
			mark_dirty(s, l.v[i]);
		}
		err = k8s_cache_put_list(s->cache, &l, NULL);
		changed(s, KUBE_SRC_OBJECTS);
		pthread_mutex_unlock(&s->lock);
	} else if (!err && rejected) {
		pr_warn("%s %s/%s: keeping its last good version\n", k8s_kind_name(kx->kind),
			obj_ns(kx->kind, obj), name);
	}
	if (err)
		pr_err("kube: %s %s %s: %s\n", kube_event_type_name(t), k8s_kind_name(kx->kind),
		       name, strerror(-err));
	k8s_object_list_free(&l);
}

static const struct kube_reflector_ops obj_ops = {
	.list_begin = obj_list_begin,
	.list_item = obj_list_item,
	.list_end = obj_list_end,
	.event = obj_event,
};

/* ---- Node ------------------------------------------------------------- */

static void node_set(struct kube_source *s, const struct k8s_node_state *n)
{
	pthread_mutex_lock(&s->lock);
	if (memcmp(&s->node, n, sizeof(*n))) {
		if (s->node.eligible != n->eligible || !s->node.known)
			pr_info("kube: node %s: %s, %zu address(es)\n", s->node_name,
				!n->known   ? "no Node object" :
				n->eligible ? "eligible" :
					      "marked for deletion (/healthz answers 503)",
				n->n_addrs);
		s->node = *n;
		changed(s, KUBE_SRC_NODE);
	}
	pthread_mutex_unlock(&s->lock);
}

static int node_replace(void *arg, const cJSON *items)
{
	struct kube_source *s = arg;
	struct k8s_node_state n = { .eligible = true, .labels = "{}" };
	bool known;

	if (cJSON_GetArraySize(items) > 0) {
		k8s_node_state_from_json(cJSON_GetArrayItem(items, 0), &n);
	} else {
		/* A Node we saw is gone from the relist: it was deleted while
		 * the watch was down, as if a DELETED event had come. */
		pthread_mutex_lock(&s->lock);
		known = s->node.known;
		pthread_mutex_unlock(&s->lock);
		if (known)
			n = (struct k8s_node_state){ .known = true };
	}
	node_set(s, &n);
	return 0;
}

static void node_event(void *arg, enum kube_event_type t, const cJSON *obj)
{
	struct kube_source *s = arg;
	struct k8s_node_state n = { 0 };

	/* A deleted Node is not eligible (kube-proxy's OnNodeDelete). */
	if (t == KUBE_EVENT_DELETED)
		n.known = true;
	else
		k8s_node_state_from_json(obj, &n);
	node_set(s, &n);
}

static const struct kube_reflector_ops node_ops = {
	.replace = node_replace,
	.event = node_event,
};

/* ---- source ----------------------------------------------------------- */

struct kube_source *kube_source_new(struct kube_client *kc, const char *node_name)
{
	struct kube_source *s = calloc(1, sizeof(*s));
	CURL *h = curl_easy_init();
	char *en;

	if (!s || !h)
		goto fail;
	en = curl_easy_escape(h, node_name, 0);
	if (!en || asprintf(&s->node_selector, "fieldSelector=metadata.name%%3D%s", en) < 0) {
		curl_free(en);
		s->node_selector = NULL;
		goto fail;
	}
	curl_free(en);
	curl_easy_cleanup(h);
	h = NULL;
	s->node_name = strdup(node_name);
	s->cache = k8s_cache_new();
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!s->node_name || !s->cache || s->efd < 0)
		goto fail;
	s->dirty_all = true; /* nothing translated yet */
	pthread_mutex_init(&s->lock, NULL);
	/* Eligible until a Node event says otherwise (k8s-spec §4.4). */
	s->node.eligible = true;
	s->kc = kc;
	kube_client_set_stop(kc, &s->stop);
	return s;
fail:
	if (h)
		curl_easy_cleanup(h);
	if (s) {
		if (s->efd > 0)
			close(s->efd);
		k8s_cache_free(s->cache);
		free(s->node_name);
		free(s->node_selector);
		free(s);
	}
	errno = ENOMEM;
	return NULL;
}

int kube_source_start(struct kube_source *s)
{
	const struct kube_reflector_spec svc = {
		.name = "services",
		.path = "/api/v1/services",
		.selector = KUBE_PROXY_SELECTOR,
		.kind = "Service",
		.api_version = "v1",
	};
	const struct kube_reflector_spec eps = {
		.name = "endpointslices",
		.path = "/apis/discovery.k8s.io/v1/endpointslices",
		.selector = KUBE_PROXY_SELECTOR,
		.kind = "EndpointSlice",
		.api_version = "discovery.k8s.io/v1",
	};
	const struct kube_reflector_spec node = {
		.name = "nodes",
		.path = "/api/v1/nodes",
		.selector = s->node_selector,
		.kind = "Node",
		.api_version = "v1",
	};
	/* Without the CRD installed this LIST fails and is retried with
	 * backoff; Services are served meanwhile, nothing is allocated. */
	const struct kube_reflector_spec pool = {
		.name = "loadbalancerippools",
		.path = "/apis/xlb.io/v1alpha1/loadbalancerippools",
		.kind = "LoadBalancerIPPool",
		.api_version = "xlb.io/v1alpha1",
	};

	s->svc_ctx = (struct kind_ctx){ s, K8S_KIND_SERVICE };
	s->eps_ctx = (struct kind_ctx){ s, K8S_KIND_ENDPOINTSLICE };
	pr_info("kube: watching %s (node %s)\n", kube_client_server(s->kc), s->node_name);
	s->svc = kube_reflector_start(s->kc, &svc, &obj_ops, &s->svc_ctx, &s->stop);
	if (!s->svc)
		return -errno;
	s->eps = kube_reflector_start(s->kc, &eps, &obj_ops, &s->eps_ctx, &s->stop);
	if (!s->eps)
		return -errno;
	s->nodes = kube_reflector_start(s->kc, &node, &node_ops, s, &s->stop);
	if (!s->nodes)
		return -errno;
	s->pool_ctx = (struct kind_ctx){ s, K8S_KIND_LBPOOL };
	s->pools = kube_reflector_start(s->kc, &pool, &obj_ops, &s->pool_ctx, &s->stop);
	if (!s->pools)
		return -errno;
	return 0;
}

void kube_source_free(struct kube_source *s)
{
	if (!s)
		return;
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
	kube_reflector_free(s->svc);
	kube_reflector_free(s->eps);
	kube_reflector_free(s->nodes);
	kube_reflector_free(s->pools);
	kube_client_free(s->kc);
	k8s_cache_free(s->cache);
	keyset_free(&s->dirty);
	pthread_mutex_destroy(&s->lock);
	close(s->efd);
	free(s->node_name);
	free(s->node_selector);
	free(s);
}

int kube_source_fd(const struct kube_source *s)
{
	return s->efd;
}

unsigned int kube_source_take_changes(struct kube_source *s)
{
	uint64_t v;
	unsigned int c;

	if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("kube: eventfd: %s\n", strerror(errno));
	pthread_mutex_lock(&s->lock);
	c = s->changes;
	s->changes &= ~KUBE_SRC_NODE; /* objects: cleared by translate */
	pthread_mutex_unlock(&s->lock);
	return c;
}

bool kube_source_synced(const struct kube_source *s)
{
	return kube_reflector_has_synced(s->svc) && kube_reflector_has_synced(s->eps);
}

uint64_t kube_source_pending_since(struct kube_source *s)
{
	uint64_t t;

	pthread_mutex_lock(&s->lock);
	t = s->pending_since;
	pthread_mutex_unlock(&s->lock);
	return t;
}

int kube_source_translate(struct kube_source *s, const struct xlb_translate_opts *o,
			  struct xlb_desired *out, struct k8s_errors *errs)
{
	int err;

	pthread_mutex_lock(&s->lock);
	err = xlb_translate(s->cache, o, out, errs);
	s->changes &= ~KUBE_SRC_OBJECTS;
	s->since_translate = 0;
	if (!err) {
		s->dirty_all = false;
		keyset_free(&s->dirty);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

int kube_source_translate_update(struct kube_source *s, const struct xlb_translate_opts *o,
				 struct xlb_desired *cur, size_t **changed, size_t *n_changed,
				 struct k8s_errors *errs)
{
	int err;

	*changed = NULL;
	*n_changed = 0;
	pthread_mutex_lock(&s->lock);
	err = s->dirty_all ? -EAGAIN :
			     xlb_translate_update(s->cache, o, (const char *const *)s->dirty.v,
						  s->dirty.n, cur, changed, n_changed, errs);
	if (!err) {
		s->changes &= ~KUBE_SRC_OBJECTS;
		s->since_translate = 0;
		keyset_free(&s->dirty);
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

void kube_source_applied(struct kube_source *s)
{
	pthread_mutex_lock(&s->lock);
	/* Changes that came after the translate are still pending. */
	s->pending_since = s->since_translate;
	pthread_mutex_unlock(&s->lock);
}

void kube_source_node(struct kube_source *s, struct k8s_node_state *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->node;
	pthread_mutex_unlock(&s->lock);
}

bool kube_source_pools_synced(const struct kube_source *s)
{
	return kube_reflector_has_synced(s->pools);
}

int kube_source_with_cache(struct kube_source *s, int (*fn)(const struct k8s_cache *c, void *ctx),
			   void *ctx)
{
	int err;

	pthread_mutex_lock(&s->lock);
	err = fn(s->cache, ctx);
	pthread_mutex_unlock(&s->lock);
	return err;
}

size_t kube_source_reflectors(const struct kube_source *s, const struct kube_reflector **out,
			      size_t max)
{
	const struct kube_reflector *all[] = { s->svc, s->eps, s->nodes, s->pools };
	size_t n = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && n < max; i++)
		if (all[i])
			out[n++] = all[i];
	return n;
}

struct kube_client *kube_source_client(const struct kube_source *s)
{
	return s->kc;
}

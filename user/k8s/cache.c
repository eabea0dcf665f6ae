// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The object cache: one table of objects keyed by kind, namespace and
 * name, fed by a file or by watch events (see k8s/cache.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/cache.h"

/* ---- object cache ----------------------------------------------------- */

/*
 * Chained hash table on (kind, namespace, name). Watch events insert and
 * delete one object at a time, so both are O(1); a full translate takes
 * sorted snapshots with k8s_cache_list(). EndpointSlices that name a
 * Service are also chained by (namespace, service name) in sbuckets, so
 * an incremental translate finds one Service's slices without a walk.
 */
struct k8s_cache {
	struct k8s_object **buckets;
	size_t n_buckets; /* power of two */
	size_t count;
	struct k8s_object **sbuckets;
	size_t n_sbuckets; /* power of two */
	size_t n_indexed;
};

static uint64_t key_hash(enum k8s_kind kind, const char *ns, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)kind; /* FNV-1a */

	for (; *ns; ns++)
		h = (h ^ (unsigned char)*ns) * 0x100000001b3ull;
	h = (h ^ '/') * 0x100000001b3ull;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static uint64_t svc_hash(const char *ns, const char *svc)
{
	return key_hash(K8S_KIND_SERVICE, ns, svc);
}

static bool indexed(const struct k8s_object *o)
{
	return o->kind == K8S_KIND_ENDPOINTSLICE && o->eps.service_name;
}

static void index_add(struct k8s_cache *c, struct k8s_object *o)
{
	size_t b;

	if (!indexed(o))
		return;
	b = svc_hash(o->meta.namespace, o->eps.service_name) & (c->n_sbuckets - 1);
	o->snext = c->sbuckets[b];
	c->sbuckets[b] = o;
	c->n_indexed++;
}

static void index_del(struct k8s_cache *c, struct k8s_object *o)
{
	struct k8s_object **pp;

	if (!indexed(o))
		return;
	pp = &c->sbuckets[svc_hash(o->meta.namespace, o->eps.service_name) & (c->n_sbuckets - 1)];
	for (; *pp; pp = &(*pp)->snext)
		if (*pp == o) {
			*pp = o->snext;
			o->snext = NULL;
			c->n_indexed--;
			return;
		}
}

static void index_grow(struct k8s_cache *c)
{
	size_t n = c->n_sbuckets * 2;
	struct k8s_object **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < c->n_sbuckets; i++) {
		struct k8s_object *o = c->sbuckets[i], *next;

		for (; o; o = next) {
			size_t b = svc_hash(o->meta.namespace, o->eps.service_name) & (n - 1);

			next = o->snext;
			o->snext = nb[b];
			nb[b] = o;
		}
	}
	free(c->sbuckets);
	c->sbuckets = nb;
	c->n_sbuckets = n;
}

static bool key_eq(const struct k8s_object *o, enum k8s_kind kind, const char *ns, const char *name)
{
	return o->kind == kind && !strcmp(o->meta.namespace, ns) && !strcmp(o->meta.name, name);
}

struct k8s_cache *k8s_cache_new(void)
{
	struct k8s_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->n_buckets = 64;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	c->n_sbuckets = 64;
	c->sbuckets = calloc(c->n_sbuckets, sizeof(*c->sbuckets));
	if (!c->buckets || !c->sbuckets) {
		free(c->buckets);
		free(c->sbuckets);
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void k8s_cache_free(struct k8s_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_buckets; i++) {
		struct k8s_object *o = c->buckets[i], *next;

		for (; o; o = next) {
			next = o->hnext;
			k8s_object_free(o);
		}
	}
	free(c->buckets);
	free(c->sbuckets);
	free(c);
}

size_t k8s_cache_count(const struct k8s_cache *c)
{
	return c ? c->count : 0;
}

static struct k8s_object **cache_slot(const struct k8s_cache *c, enum k8s_kind kind, const char *ns,
				      const char *name)
{
	size_t b = key_hash(kind, ns, name) & (c->n_buckets - 1);
	struct k8s_object **pp = &c->buckets[b];

	for (; *pp; pp = &(*pp)->hnext)
		if (key_eq(*pp, kind, ns, name))
			break;
	return pp;
}

static void cache_grow(struct k8s_cache *c)
{
	size_t n = c->n_buckets * 2;
	struct k8s_object **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < c->n_buckets; i++) {
		struct k8s_object *o = c->buckets[i], *next;

		for (; o; o = next) {
			size_t b = key_hash(o->kind, o->meta.namespace, o->meta.name) & (n - 1);

			next = o->hnext;
			o->hnext = nb[b];
			nb[b] = o;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->n_buckets = n;
}

static int cache_put(struct k8s_cache *c, struct k8s_object *o, bool *replaced)
{
	struct k8s_object **pp, *old;

	*replaced = false;
	if (!c || !o || !o->meta.namespace || !o->meta.name)
		return -EINVAL;
	pp = cache_slot(c, o->kind, o->meta.namespace, o->meta.name);
	old = *pp;
	if (old) {
		o->hnext = old->hnext;
		*pp = o;
		index_del(c, old);
		k8s_object_free(old);
		index_add(c, o);
		*replaced = true;
		return 0;
	}
	o->hnext = NULL;
	*pp = o;
	c->count++;
	index_add(c, o);
	if (c->count > c->n_buckets)
		cache_grow(c);
	if (c->n_indexed > c->n_sbuckets)
		index_grow(c);
	return 0;
}

int k8s_cache_put(struct k8s_cache *c, struct k8s_object *o)
{
	bool replaced;

	return cache_put(c, o, &replaced);
}

struct k8s_object *k8s_cache_take(struct k8s_cache *c, enum k8s_kind kind, const char *ns,
				  const char *name)
{
	struct k8s_object **pp, *o;

	if (!c || !ns || !name)
		return NULL;
	pp = cache_slot(c, kind, ns, name);
	o = *pp;
	if (!o)
		return NULL;
	*pp = o->hnext;
	o->hnext = NULL;
	index_del(c, o);
	c->count--;
	return o;
}

int k8s_cache_delete(struct k8s_cache *c, enum k8s_kind kind, const char *ns, const char *name)
{
	struct k8s_object **pp, *o;

	if (!c || !ns || !name)
		return -EINVAL;
	pp = cache_slot(c, kind, ns, name);
	o = *pp;
	if (!o)
		return -ENOENT;
	*pp = o->hnext;
	index_del(c, o);
	k8s_object_free(o);
	c->count--;
	return 0;
}

const struct k8s_object *k8s_cache_get(const struct k8s_cache *c, enum k8s_kind kind,
				       const char *ns, const char *name)
{
	if (!c || !ns || !name)
		return NULL;
	return *cache_slot(c, kind, ns, name);
}

struct k8s_object *k8s_cache_get_mut(struct k8s_cache *c, enum k8s_kind kind, const char *ns,
				     const char *name)
{
	if (!c || !ns || !name)
		return NULL;
	return *cache_slot(c, kind, ns, name);
}

static int cmp_obj_name(const void *a, const void *b)
{
	const struct k8s_object *x = *(const struct k8s_object *const *)a;
	const struct k8s_object *y = *(const struct k8s_object *const *)b;
	int r = strcmp(x->meta.namespace, y->meta.namespace);

	return r ? r : strcmp(x->meta.name, y->meta.name);
}

int k8s_cache_list(const struct k8s_cache *c, enum k8s_kind kind, const struct k8s_object ***out,
		   size_t *n)
{
	const struct k8s_object **v;
	size_t k = 0;

	if (!c || !out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if (!c->count)
		return 0;
	v = malloc(c->count * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_buckets; i++)
		for (const struct k8s_object *o = c->buckets[i]; o; o = o->hnext)
			if (o->kind == kind)
				v[k++] = o;
	if (!k) {
		free(v);
		return 0;
	}
	qsort(v, k, sizeof(*v), cmp_obj_name);
	*out = v;
	*n = k;
	return 0;
}

int k8s_cache_slices_of(const struct k8s_cache *c, const char *ns, const char *svc,
			const struct k8s_object ***out, size_t *n)
{
	const struct k8s_object **v = NULL, **nv;
	size_t k = 0;

	if (!c || !ns || !svc || !out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	for (const struct k8s_object *o = c->sbuckets[svc_hash(ns, svc) & (c->n_sbuckets - 1)]; o;
	     o = o->snext) {
		if (strcmp(o->meta.namespace, ns) || strcmp(o->eps.service_name, svc))
			continue;
		nv = realloc(v, (k + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[k++] = o;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_obj_name);
	*out = v;
	*n = k;
	return 0;
}

static int put_list(struct k8s_cache *c, struct k8s_object_list *l, struct k8s_errors *errs,
		    bool warn_dup)
{
	int err = 0;
	size_t i;

	if (!c || !l)
		return -EINVAL;
	for (i = 0; i < l->n; i++) {
		struct k8s_object *o = l->v[i];
		bool replaced;

		err = cache_put(c, o, &replaced);
		if (err)
			break;
		if (replaced && warn_dup)
			k8s_errors_add(
				errs, K8S_SEV_WARN,
				"%s %s/%s: appears more than once, the last one (line %u) wins",
				k8s_kind_name(o->kind), o->meta.namespace, o->meta.name, o->line);
	}
	/* On failure the rest stay in the list for the caller to free;
	 * on success the list is left empty, with nothing to free. */
	memmove(l->v, l->v + i, (l->n - i) * sizeof(*l->v));
	l->n -= i;
	if (!l->n)
		k8s_object_list_free(l);
	return err;
}

int k8s_cache_put_list(struct k8s_cache *c, struct k8s_object_list *l, struct k8s_errors *errs)
{
	return put_list(c, l, errs, false);
}

static int load(struct k8s_object_list *l, int err, struct k8s_cache **out, struct k8s_errors *errs)
{
	struct k8s_cache *c = NULL;

	if (!err) {
		c = k8s_cache_new();
		err = c ? put_list(c, l, errs, true) : -ENOMEM;
	}
	k8s_object_list_free(l);
	if (err) {
		k8s_cache_free(c);
		return err;
	}
	*out = c;
	return 0;
}

int k8s_cache_load_file(const char *path, struct k8s_cache **out, struct k8s_errors *errs)
{
	struct k8s_object_list l = { 0 };

	if (!out)
		return -EINVAL;
	*out = NULL;
	return load(&l, k8s_parse_file(path, &l, errs), out, errs);
}

int k8s_cache_load_buf(const char *buf, size_t len, const char *src, struct k8s_cache **out,
		       struct k8s_errors *errs)
{
	struct k8s_object_list l = { 0 };

	if (!out)
		return -EINVAL;
	*out = NULL;
	return load(&l, k8s_parse_buf(buf, len, src, &l, errs), out, errs);
}

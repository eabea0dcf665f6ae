// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Kubernetes objects: their arena and the accessors every stage uses (see
 * k8s/objects.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "k8s/objects.h"
#include "lib/net.h"
#include "k8s/walk.h"

/* ---- per-object arena ------------------------------------------------- */

/*
 * An object's strings and arrays come from a chain of chunks freed in one
 * go. Chunks start small (most objects need well under 1 KiB) and double.
 */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

#define ARENA_MIN 512
#define ARENA_MAX 65536

static void *k8s_arena_alloc(struct k8s_object *o, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct arena_chunk *c = o->arena;
	void *p;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = n ? (n + align - 1) & ~(align - 1) : align;
	if (!c || c->cap - c->used < n) {
		size_t cap = c ? c->cap * 2 : ARENA_MIN;

		if (cap > ARENA_MAX)
			cap = ARENA_MAX;
		if (cap < n)
			cap = n;
		c = calloc(1, sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->next = o->arena;
		o->arena = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

void *k8s_arena_array(struct k8s_object *o, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / 2 / size)
		return NULL;
	return k8s_arena_alloc(o, n * size);
}

char *k8s_arena_strdup(struct k8s_object *o, const char *s)
{
	size_t len = strlen(s);
	char *d = k8s_arena_alloc(o, len + 1);

	if (d)
		memcpy(d, s, len + 1);
	return d;
}

void k8s_object_free(struct k8s_object *o)
{
	struct arena_chunk *c, *next;

	if (!o)
		return;
	for (c = o->arena; c; c = next) {
		next = c->next;
		free(c);
	}
	free(o);
}

const char *k8s_kind_name(enum k8s_kind kind)
{
	switch (kind) {
	case K8S_KIND_SERVICE:
		return "Service";
	case K8S_KIND_ENDPOINTSLICE:
		return "EndpointSlice";
	case K8S_KIND_LBPOOL:
		return "LoadBalancerIPPool";
	}
	return "?";
}

const char *k8s_annotation(const struct k8s_object *o, const char *key)
{
	for (size_t i = 0; o && i < o->meta.n_annotations; i++)
		if (!strcmp(o->meta.annotations[i].key, key))
			return o->meta.annotations[i].value;
	return NULL;
}

bool k8s_labels_match(const struct k8s_label *sel, size_t n_sel, const struct k8s_label *labels,
		      size_t n_labels)
{
	for (size_t i = 0; i < n_sel; i++) {
		bool found = false;

		for (size_t j = 0; j < n_labels && !found; j++)
			found = !strcmp(sel[i].key, labels[j].key) &&
				!strcmp(sel[i].value, labels[j].value);
		if (!found)
			return false;
	}
	return true;
}

int k8s_svc_set_ingress(struct k8s_object *o, const struct k8s_ip *ips, size_t n)
{
	struct k8s_lb_ingress *in;

	if (!o || o->kind != K8S_KIND_SERVICE)
		return -EINVAL;
	in = n ? k8s_arena_array(o, n, sizeof(*in)) : NULL;
	if (n && !in)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		in[i].has_ip = true;
		in[i].ip = ips[i];
		in[i].ip_mode = K8S_IP_MODE_VIP;
	}
	o->svc.ingress = in;
	o->svc.n_ingress = n;
	return 0;
}

const char *k8s_ip_str(const struct k8s_ip *ip, char *buf, size_t len)
{
	return xlb_addr_str(ip->family, &ip->addr, buf, len);
}

int k8s_ip_cmp(const struct k8s_ip *a, const struct k8s_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr.bytes, b->addr.bytes, a->family == XLB_AF_INET ? 4 : 16);
}

const char *k8s_label(const struct k8s_object *o, const char *key)
{
	for (size_t i = 0; o && i < o->meta.n_labels; i++)
		if (!strcmp(o->meta.labels[i].key, key))
			return o->meta.labels[i].value;
	return NULL;
}

void k8s_object_list_free(struct k8s_object_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		k8s_object_free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int k8s_object_list_push(struct k8s_object_list *l, struct k8s_object *o)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct k8s_object **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = o;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sync's mirror: its entries, their orders and lookups, and its life. See
 * mirror.h and sync.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "sync/mirror.h"

__u32 mirror_id_alloc(__u8 *bits, __u32 max)
{
	for (__u32 i = 1; i < max; i++) {
		if (!bit_get(bits, i)) {
			bit_set(bits, i);
			return i;
		}
	}
	return 0;
}

int mirror_be_cmp(const void *a, const void *b)
{
	const struct mbe *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family - y->family;
	c = memcmp(&x->addr, &y->addr, sizeof(x->addr));
	if (c)
		return c;
	return (int)x->port - (int)y->port;
}

int mirror_fe_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct xlb_svc_key));
}

bool mirror_range_in(const struct msvc *m, const struct xlb_cidr *r)
{
	return bsearch(r, m->ranges, m->n_ranges, sizeof(*r), xlb_cidr_cmp) != NULL;
}

int mirror_svc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct msvc *)a)->name, ((const struct msvc *)b)->name);
}

void mirror_svc_release(struct msvc *m)
{
	free(m->bes);
	free(m->fes);
	free(m->ranges);
	m->bes = NULL;
	m->fes = NULL;
	m->ranges = NULL;
}

static struct msvc *find_by_id(struct xlb_sync *s, __u32 svc_id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->svcs[i].svc_id == svc_id)
			return &s->svcs[i];
	return NULL;
}

struct msvc *mirror_add(struct xlb_sync *s)
{
	struct msvc *v = realloc(s->svcs, (s->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	s->svcs = v;
	memset(&v[s->n], 0, sizeof(v[s->n]));
	return &v[s->n++];
}

int mirror_push(void **arr, size_t *n, size_t sz, const void *item)
{
	void *v = realloc(*arr, (*n + 1) * sz);

	if (!v)
		return -ENOMEM;
	memcpy((char *)v + *n * sz, item, sz);
	*arr = v;
	(*n)++;
	return 0;
}

struct msvc *mirror_orphan(struct xlb_sync *s, __u32 svc_id)
{
	struct msvc *m = find_by_id(s, svc_id);

	if (m || svc_id >= s->o.max_tables)
		return m;
	m = mirror_add(s);
	if (!m)
		return NULL;
	snprintf(m->name, sizeof(m->name), "\x01orphan#%u", svc_id);
	m->svc_id = svc_id;
	bit_set(s->svc_ids, svc_id);
	return m;
}

const struct mbe *mirror_be_find(const struct msvc *m, const struct mbe *b)
{
	const struct mbe *f = bsearch(b, m->bes, m->n_bes, sizeof(*b), mirror_be_cmp);

	return f && f->id == b->id ? f : NULL;
}

const struct mfe *mirror_fe_find(const struct msvc *m, const struct mfe *f)
{
	return bsearch(f, m->fes, m->n_fes, sizeof(*f), mirror_fe_cmp);
}

struct xlb_sync *xlb_sync_new(struct xlb_dp *dp, const struct xlb_sync_opts *o)
{
	struct xlb_sync *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->dp = dp;
	s->o = *o;
	if (!s->o.max_tables)
		s->o.max_tables = XLB_MAX_TABLES;
	if (!s->o.maglev_min)
		s->o.maglev_min = MAGLEV_M_MIN;
	if (!s->o.maglev_slots)
		s->o.maglev_slots = MAGLEV_SLOTS_DEFAULT;
	s->svc_ids = calloc(s->o.max_tables / 8 + 1, 1);
	s->table_ids = calloc(s->o.max_tables / 8 + 1, 1);
	s->table_buf = malloc(sizeof(__u32) * MAGLEV_M_MAX);
	if (!s->svc_ids || !s->table_ids || !s->table_buf) {
		err = -ENOMEM;
		goto err;
	}
	err = mirror_adopt(s);
	if (err)
		goto err;
	return s;
err:
	xlb_sync_free(s);
	errno = -err;
	return NULL;
}

void xlb_sync_free(struct xlb_sync *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		mirror_svc_release(&s->svcs[i]);
	free(s->svcs);
	free(s->svc_ids);
	free(s->table_ids);
	free(s->table_buf);
	free(s->stale_tables);
	free(s->addrs);
	free(s->ifs);
	free(s);
}

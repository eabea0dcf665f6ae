// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* sync: desired state -> maps, in an order the datapath can read at any
 * moment. See sync.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "log.h"
#include "maglev.h"
#include "sync.h"

/* A backend as the mirror keeps it. */
struct mbe {
	union xlb_addr addr;
	__u16 port;		/* host order */
	__u8 family;
	__u8 flags;		/* XLB_BE_F_* */
	__u32 id;
};

/* A frontend: its key and the flags only it carries (source ranges
 * apply to LB VIPs, not to the NodePort of the same service port). */
struct mfe {
	struct xlb_svc_key key;
	__u32 flags;
};

/* A service port as the mirror keeps it. */
struct msvc {
	char name[XLB_SVCPORT_NAME_MAX];
	__u32 svc_id;
	struct xlb_svc val;		/* what every frontend carries */
	struct mbe *bes;		/* sorted: family, addr, port */
	size_t n_bes;
	struct mfe *fes;		/* sorted by key (memcmp) */
	size_t n_fes;
	struct xlb_desired_cidr *ranges;	/* loadBalancerSourceRanges */
	size_t n_ranges;
	struct xlb_svc_meta meta;
	__u32 extra_table;		/* adopted: a second table its frontends
					 * named (crash mid-swap), to free */
	bool trusted;			/* maps known to match this entry */
};

struct xlb_sync {
	struct xlb_dp *dp;
	struct xlb_sync_opts o;
	struct msvc *svcs;		/* sorted by name */
	size_t n;
	__u8 *svc_ids;			/* in-use bitmaps, max_tables bits */
	__u8 *table_ids;
	__u32 next_be_id;
	__u32 *table_buf;		/* MAGLEV_M_MAX entries */
	__u32 *stale_tables;		/* adopted slots nobody names: freed
					 * by the first apply, at its end */
	size_t n_stale_tables;
	struct xlb_addr_key *addrs;
	size_t n_addrs;
	struct xlb_node_iface *ifs;
	size_t n_ifs;
};

static bool bit_get(const __u8 *b, __u32 i) { return b[i / 8] & (1u << (i % 8)); }
static void bit_set(__u8 *b, __u32 i) { b[i / 8] |= 1u << (i % 8); }
static void bit_clr(__u8 *b, __u32 i) { b[i / 8] &= ~(1u << (i % 8)); }

/* Id 0 is never handed out: a zero table_id means "no table". */
static __u32 id_alloc(__u8 *bits, __u32 max)
{
	for (__u32 i = 1; i < max; i++) {
		if (!bit_get(bits, i)) {
			bit_set(bits, i);
			return i;
		}
	}
	return 0;
}

static int be_cmp(const void *a, const void *b)
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

static int fe_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct xlb_svc_key));
}

static int range_cmp(const void *a, const void *b)
{
	const struct xlb_desired_cidr *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family - y->family;
	c = memcmp(&x->addr, &y->addr, sizeof(x->addr));
	return c ? c : x->prefix_len - y->prefix_len;
}

static bool range_in(const struct msvc *m, const struct xlb_desired_cidr *r)
{
	return bsearch(r, m->ranges, m->n_ranges, sizeof(*r), range_cmp) != NULL;
}

static int svc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct msvc *)a)->name, ((const struct msvc *)b)->name);
}

static void msvc_release(struct msvc *m)
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

static struct msvc *mirror_add(struct xlb_sync *s)
{
	struct msvc *v = realloc(s->svcs, (s->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	s->svcs = v;
	memset(&v[s->n], 0, sizeof(v[s->n]));
	return &v[s->n++];
}

static int push(void **arr, size_t *n, size_t sz, const void *item)
{
	void *v = realloc(*arr, (*n + 1) * sz);

	if (!v)
		return -ENOMEM;
	memcpy((char *)v + *n * sz, item, sz);
	*arr = v;
	(*n)++;
	return 0;
}

/* The mirror entry of an adopted svc id without a name, made on first use:
 * the first apply removes it like any service that went away. */
static struct msvc *orphan_for(struct xlb_sync *s, __u32 svc_id)
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

/*
 * Read back what an earlier agent left in the pinned maps: service names,
 * frontends, backends. Tables are not trusted (a crash may have stopped a
 * sync half way), so the first apply rebuilds them; Maglev gives the same
 * table for the same backends, so flows do not notice.
 */
static int adopt(struct xlb_sync *s)
{
	int meta_fd = xlb_dp_map_fd(s->dp, XLB_DPM_SVC_META);
	int svc_fd = xlb_dp_map_fd(s->dp, XLB_DPM_SVC);
	int be_fd = xlb_dp_map_fd(s->dp, XLB_DPM_BACKENDS);
	int mg_fd = xlb_dp_map_fd(s->dp, XLB_DPM_MAGLEV);
	struct xlb_svc_key fk, fnext;
	struct xlb_svc_meta meta;
	struct xlb_backend be;
	struct xlb_svc val;
	__u32 id, next;
	struct msvc *m;
	void *prev;

	for (prev = NULL; !bpf_map_get_next_key(meta_fd, prev, &next); prev = &id) {
		id = next;
		if (bpf_map_lookup_elem(meta_fd, &id, &meta) || id >= s->o.max_tables)
			continue;
		m = mirror_add(s);
		if (!m)
			return -ENOMEM;
		meta.name[sizeof(meta.name) - 1] = '\0';
		snprintf(m->name, sizeof(m->name), "%s", meta.name);
		m->svc_id = id;
		m->meta = meta;
		bit_set(s->svc_ids, id);
	}
	for (prev = NULL; !bpf_map_get_next_key(svc_fd, prev, &fnext); prev = &fk) {
		fk = fnext;
		if (bpf_map_lookup_elem(svc_fd, &fk, &val))
			continue;
		/* No name for it: an orphan, removed by the first apply. */
		m = orphan_for(s, val.svc_id);
		if (!m) {
			if (val.svc_id >= s->o.max_tables)
				continue;
			return -ENOMEM;
		}
		{
			struct mfe fe = { .key = fk,
					  .flags = val.flags & XLB_SVC_F_SOURCE_RANGES };

			val.flags &= ~XLB_SVC_F_SOURCE_RANGES;
			if (m->n_fes && m->val.table_id != val.table_id)
				m->extra_table = m->val.table_id;
			m->val = val;
			if (push((void **)&m->fes, &m->n_fes, sizeof(fe), &fe))
				return -ENOMEM;
		}
		if (val.table_id && val.table_id < s->o.max_tables)
			bit_set(s->table_ids, val.table_id);
	}
	for (prev = NULL; !bpf_map_get_next_key(be_fd, prev, &next); prev = &id) {
		struct mbe b;

		id = next;
		if (bpf_map_lookup_elem(be_fd, &id, &be))
			continue;
		if (id >= s->next_be_id)
			s->next_be_id = id + 1;
		/*
		 * Nothing here names it, but the program still attached may
		 * (an upgrade that replaced xlb_svc or xlb_svc_meta): deleting
		 * it now would drop that program's flows until the first sync.
		 * An orphan entry has the first apply remove it, after the new
		 * state is written.
		 */
		m = orphan_for(s, be.svc_id);
		if (!m) {
			if (be.svc_id >= s->o.max_tables)
				continue;
			return -ENOMEM;
		}
		b = (struct mbe){ .addr = be.addr, .port = ntohs(be.port),
				  .family = be.family, .flags = be.flags, .id = id };
		if (push((void **)&m->bes, &m->n_bes, sizeof(b), &b))
			return -ENOMEM;
	}
	{
		int rfd = xlb_dp_map_fd(s->dp, XLB_DPM_SRC_RANGES);
		struct xlb_src_key rk, rnext;
		void *rprev;

		for (rprev = NULL; !bpf_map_get_next_key(rfd, rprev, &rnext); rprev = &rk) {
			__u32 id = ntohl(rnext.id);
			struct xlb_desired_cidr c = { .family = id >> 24,
						      .prefix_len = rnext.prefixlen - 32 };

			rk = rnext;
			memcpy(&c.addr, rnext.addr, sizeof(c.addr));
			m = orphan_for(s, id & 0xffffff);
			if (!m) {
				if ((id & 0xffffff) >= s->o.max_tables)
					continue;
				return -ENOMEM;
			}
			if (push((void **)&m->ranges, &m->n_ranges, sizeof(c), &c))
				return -ENOMEM;
		}
	}
	/* Table slots nobody names: left by a crash mid-swap, or named by a
	 * replaced xlb_svc the running program still reads. Kept (and their
	 * ids taken) until the first apply has written the new state. */
	for (prev = NULL; !bpf_map_get_next_key(mg_fd, prev, &next); prev = &id) {
		__u32 tmp;

		id = next;
		if (id >= s->o.max_tables || bit_get(s->table_ids, id) ||
		    bpf_map_lookup_elem(mg_fd, &id, &tmp))
			continue;
		if (push((void **)&s->stale_tables, &s->n_stale_tables, sizeof(id), &id))
			return -ENOMEM;
		bit_set(s->table_ids, id);
	}
	/* Node addresses and SNAT sources, so stale ones are removed by the
	 * first xlb_sync_node(). */
	{
		int afd = xlb_dp_map_fd(s->dp, XLB_DPM_NODE_ADDRS);
		int ifd = xlb_dp_map_fd(s->dp, XLB_DPM_IFACES);
		struct xlb_addr_key ak, anext;
		struct xlb_iface iv;
		void *aprev;

		for (aprev = NULL; !bpf_map_get_next_key(afd, aprev, &anext); aprev = &ak) {
			ak = anext;
			if (push((void **)&s->addrs, &s->n_addrs, sizeof(ak), &ak))
				return -ENOMEM;
		}
		for (prev = NULL; !bpf_map_get_next_key(ifd, prev, &next); prev = &id) {
			struct xlb_node_iface ni;

			id = next;
			if (bpf_map_lookup_elem(ifd, &id, &iv))
				continue;
			ni = (struct xlb_node_iface){ .ifindex = id, .addr4 = iv.snat4.v4 };
			memcpy(ni.mac, iv.mac, sizeof(ni.mac));
			if (push((void **)&s->ifs, &s->n_ifs, sizeof(ni), &ni))
				return -ENOMEM;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		m = &s->svcs[i];
		qsort(m->bes, m->n_bes, sizeof(*m->bes), be_cmp);
		qsort(m->fes, m->n_fes, sizeof(*m->fes), fe_cmp);
		qsort(m->ranges, m->n_ranges, sizeof(*m->ranges), range_cmp);
	}
	qsort(s->svcs, s->n, sizeof(*s->svcs), svc_cmp);
	if (!s->next_be_id)
		s->next_be_id = 1;
	if (s->n)
		pr_info("sync: adopted %zu service ports from the pinned maps\n", s->n);
	return 0;
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
	err = adopt(s);
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
		msvc_release(&s->svcs[i]);
	free(s->svcs);
	free(s->svc_ids);
	free(s->table_ids);
	free(s->table_buf);
	free(s->stale_tables);
	free(s->addrs);
	free(s->ifs);
	free(s);
}

/* ---- apply ------------------------------------------------------------ */

struct plan {
	struct msvc old;	/* zero when the service port is new */
	struct msvc nw;		/* zero name when it goes away */
	bool has_old, has_new;
	bool table_new;		/* nw.val.table_id is a fresh table */
	bool keep;		/* planning failed: leave it as it is */
	bool need_table;	/* phase 2 builds a new table */
};

static void note_err(int *first, struct xlb_sync_stats *st, int err,
		     const char *what, const char *name)
{
	if (!err)
		return;
	pr_err("sync: %s for %s: %s\n", what, name, strerror(-err));
	st->errors++;
	if (!*first)
		*first = err;
}

/* Fill p->nw from the desired service port, reusing old ids. */
static int plan_new(struct xlb_sync *s, struct plan *p,
		    const struct xlb_desired_svcport *d)
{
	struct msvc *nw = &p->nw, *old = p->has_old ? &p->old : NULL;
	size_t j = 0;

	snprintf(nw->name, sizeof(nw->name), "%s", d->name);
	nw->svc_id = old ? old->svc_id : id_alloc(s->svc_ids, s->o.max_tables);
	if (!nw->svc_id)
		return -ENOSPC;

	/* The datapath is IPv4 today: IPv6 frontends and backends wait. */
	for (size_t i = 0; i < d->n_frontends; i++) {
		struct mfe fe = { .key = d->frontends[i].key };

		if (fe.key.family != XLB_AF_INET)
			continue;
		if (d->frontends[i].source_ranges)
			fe.flags = XLB_SVC_F_SOURCE_RANGES;
		if (push((void **)&nw->fes, &nw->n_fes, sizeof(fe), &fe))
			return -ENOMEM;
	}
	qsort(nw->fes, nw->n_fes, sizeof(*nw->fes), fe_cmp);
	for (size_t i = 0; i < d->n_source_ranges; i++) {
		if (d->source_ranges[i].family != XLB_AF_INET)
			continue;
		if (push((void **)&nw->ranges, &nw->n_ranges, sizeof(nw->ranges[0]),
			 &d->source_ranges[i]))
			return -ENOMEM;
	}
	qsort(nw->ranges, nw->n_ranges, sizeof(*nw->ranges), range_cmp);

	for (size_t i = 0; i < d->n_backends; i++) {
		const struct xlb_desired_backend *db = &d->backends[i];
		struct mbe b = { .addr = db->addr, .port = db->port,
				 .family = db->family,
				 .flags = db->local ? XLB_BE_F_LOCAL : 0 };

		if (db->family != XLB_AF_INET)
			continue;
		if (push((void **)&nw->bes, &nw->n_bes, sizeof(b), &b))
			return -ENOMEM;
	}
	qsort(nw->bes, nw->n_bes, sizeof(*nw->bes), be_cmp);
	/* Keep the ids of backends that stay (both lists sorted). */
	for (size_t i = 0; i < nw->n_bes; i++) {
		while (old && j < old->n_bes && be_cmp(&old->bes[j], &nw->bes[i]) < 0)
			j++;
		if (old && j < old->n_bes && !be_cmp(&old->bes[j], &nw->bes[i]))
			nw->bes[i].id = old->bes[j].id;
		else
			nw->bes[i].id = s->next_be_id++;
	}

	nw->val.svc_id = nw->svc_id;
	nw->val.backend_count = nw->n_bes > 0xffff ? 0xffff : nw->n_bes;
	nw->val.total_count = d->total_ready_v4 > 0xffff ? 0xffff : d->total_ready_v4;
	nw->val.flags = d->etp_local ? XLB_SVC_F_ETP_LOCAL : 0;
	nw->val.affinity_timeout = d->affinity_timeout;

	snprintf(nw->meta.name, sizeof(nw->meta.name), "%.*s",
		 (int)sizeof(nw->meta.name) - 1, d->name);
	nw->meta.flags = nw->val.flags;
	nw->meta.n_frontends = nw->n_fes;
	nw->meta.n_backends = nw->n_bes;
	nw->meta.total_ready = d->total_ready_v4;
	nw->trusted = true;
	return 0;
}

static bool same_backends(const struct msvc *a, const struct msvc *b)
{
	if (a->n_bes != b->n_bes)
		return false;
	for (size_t i = 0; i < a->n_bes; i++)
		if (be_cmp(&a->bes[i], &b->bes[i]) || a->bes[i].id != b->bes[i].id)
			return false;
	return true;
}

/*
 * Decide the table of a planned service port: keep the live one when the
 * backends and M are unchanged and the maps are known good, else mark a
 * new one to be built in phase 2. The only failure that depends on the
 * input (no table size fits the backends) is found here, before anything
 * is written.
 */
static int plan_table(struct xlb_sync *s, struct plan *p)
{
	struct msvc *nw = &p->nw;
	__u32 m;

	nw->val.table_id = 0;
	nw->val.maglev_size = 0;
	if (!nw->n_bes)
		return 0;
	m = maglev_pick_size_slots(nw->n_bes, s->o.maglev_min, s->o.maglev_slots);
	if (!m)
		return -E2BIG;
	nw->val.maglev_size = m;
	if (p->has_old && p->old.trusted && p->old.val.table_id &&
	    p->old.val.maglev_size == m && same_backends(&p->old, nw))
		nw->val.table_id = p->old.val.table_id;
	else
		p->need_table = true;
	return 0;
}

/*
 * Phase 2: build the table (one service at a time, in one shared buffer:
 * the agent never holds more than one table) into a fresh slot.
 */
static int write_table(struct xlb_sync *s, struct plan *p)
{
	struct msvc *nw = &p->nw;
	struct maglev_backend *mb;
	char (*keys)[64];
	__u32 tid;
	int err;

	if (!p->need_table)
		return 0;
	mb = calloc(nw->n_bes, sizeof(*mb));
	keys = calloc(nw->n_bes, sizeof(*keys));
	if (!mb || !keys) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nw->n_bes; i++) {
		char a[INET6_ADDRSTRLEN] = "";

		inet_ntop(nw->bes[i].family == XLB_AF_INET ? AF_INET : AF_INET6,
			  &nw->bes[i].addr, a, sizeof(a));
		/* The Maglev identity of a backend: the same on every node. */
		snprintf(keys[i], sizeof(keys[i]), "%s:%u", a, nw->bes[i].port);
		mb[i].key = keys[i];
		mb[i].key_len = strlen(keys[i]);
		mb[i].id = nw->bes[i].id;
	}
	err = maglev_build(mb, nw->n_bes, nw->val.maglev_size, s->table_buf);
	if (err)
		goto out;
	tid = id_alloc(s->table_ids, s->o.max_tables);
	if (!tid) {
		err = -ENOSPC;
		goto out;
	}
	err = xlb_dp_table_set(s->dp, tid, s->table_buf, nw->val.maglev_size);
	if (err) {
		bit_clr(s->table_ids, tid);
		goto out;
	}
	nw->val.table_id = tid;
	p->table_new = true;
out:
	free(mb);
	free(keys);
	return err;
}

/* The backend of @m with @b's id (lists are sorted by address, and an id
 * stands for one address within a service port). */
static const struct mbe *be_find(const struct msvc *m, const struct mbe *b)
{
	const struct mbe *f = bsearch(b, m->bes, m->n_bes, sizeof(*b), be_cmp);

	return f && f->id == b->id ? f : NULL;
}

/* Give up on a planned change: the service port stays as it was (or, if
 * it is new, does not appear); backends written for it are taken back. */
static void plan_abandon(struct xlb_sync *s, struct plan *p)
{
	for (size_t b = 0; b < p->nw.n_bes; b++)
		if (!p->has_old || !be_find(&p->old, &p->nw.bes[b]))
			xlb_dp_backend_del(s->dp, p->nw.bes[b].id);
	for (size_t r = 0; r < p->nw.n_ranges; r++) {
		if (!p->has_old || !range_in(&p->old, &p->nw.ranges[r]))
			xlb_dp_src_range_del(s->dp, p->nw.svc_id, p->nw.ranges[r].family,
					     &p->nw.ranges[r].addr,
					     p->nw.ranges[r].prefix_len);
	}
	if (!p->has_old && p->nw.svc_id)
		bit_clr(s->svc_ids, p->nw.svc_id);
	msvc_release(&p->nw);
	p->need_table = false;
	p->has_new = false;
	p->keep = p->has_old;
}

static const struct mfe *fe_find(const struct msvc *m, const struct mfe *f)
{
	return bsearch(f, m->fes, m->n_fes, sizeof(*f), fe_cmp);
}


int xlb_sync_apply(struct xlb_sync *s, const struct xlb_desired *d,
		   struct xlb_sync_stats *st)
{
	struct xlb_sync_stats dummy;
	struct mfe *owned = NULL;
	struct plan *plans;
	size_t np = 0, i = 0, j = 0, n_owned = 0;
	int first = 0, err;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	plans = calloc(s->n + d->n + 1, sizeof(*plans));
	if (!plans)
		return -ENOMEM;

	/* Merge the two sorted lists into plans; plans own the old entries. */
	while (i < s->n || j < d->n) {
		int c = i == s->n ? 1 : j == d->n ? -1 :
			strcmp(s->svcs[i].name, d->svcports[j].name);
		struct plan *p = &plans[np++];

		if (c <= 0) {
			p->old = s->svcs[i++];
			p->has_old = true;
		}
		if (c >= 0) {
			const struct xlb_desired_svcport *dsp = &d->svcports[j++];

			p->has_new = true;
			err = plan_new(s, p, dsp);
			if (!err)
				err = plan_table(s, p);
			if (err) {
				/* An existing service port keeps what it had. */
				note_err(&first, st, err, "plan", dsp->name);
				plan_abandon(s, p);
			}
		}
	}
	free(s->svcs);
	s->svcs = NULL;
	s->n = 0;

	/* 1. backends, new or changed */
	for (size_t k = 0; k < np; k++) {
		struct plan *p = &plans[k];

		if (!p->has_new)
			continue;
		err = 0;
		for (size_t b = 0; b < p->nw.n_bes; b++) {
			struct mbe *nb = &p->nw.bes[b];
			struct xlb_backend v = { .addr = nb->addr, .port = htons(nb->port),
						 .family = nb->family, .flags = nb->flags,
						 .svc_id = p->nw.svc_id };
			const struct mbe *ob = p->has_old && p->old.trusted ?
					       be_find(&p->old, nb) : NULL;

			if (ob && ob->flags == nb->flags)
				continue;
			err = xlb_dp_backend_set(s->dp, nb->id, &v);
			note_err(&first, st, err, "write backend", p->nw.name);
			if (err)
				break;
			st->backends_added++;
		}
		/* A table must not name a backend that is not there (its
		 * share of new flows would drop): the service port keeps its
		 * previous state whole, like a failed table write. */
		if (err)
			plan_abandon(s, p);
	}

	/* 1b. source ranges, before a frontend is told to check them */
	for (size_t k = 0; k < np; k++) {
		struct plan *p = &plans[k];

		if (!p->has_new)
			continue;
		err = 0;
		for (size_t r = 0; r < p->nw.n_ranges; r++) {
			const struct xlb_desired_cidr *c = &p->nw.ranges[r];

			if (p->has_old && p->old.trusted && range_in(&p->old, c))
				continue;
			err = xlb_dp_src_range_set(s->dp, p->nw.svc_id, c->family,
						   &c->addr, c->prefix_len);
			note_err(&first, st, err, "write source range", p->nw.name);
			if (err)
				break;
		}
		if (err)
			plan_abandon(s, p);
	}

	/* 2. tables */
	for (size_t k = 0; k < np; k++) {
		struct plan *p = &plans[k];

		if (!p->has_new)
			continue;
		err = write_table(s, p);
		note_err(&first, st, err, "write Maglev table", p->nw.name);
		if (err) {
			plan_abandon(s, p);
		} else if (p->table_new) {
			st->tables_built++;
			if (maglev_undersized(p->nw.n_bes, p->nw.val.maglev_size)) {
				st->tables_undersized++;
				pr_warn("sync: %s: %zu backends share the largest Maglev table (%u slots, %.0f each, designed for >= 100): more connections move when backends change\n",
					p->nw.name, p->nw.n_bes, p->nw.val.maglev_size,
					(double)p->nw.val.maglev_size / p->nw.n_bes);
			}
		}
	}

	/* Every frontend some service port owns after this apply: a key that
	 * moves from one service port to another is rewritten by its new
	 * owner in phase 3 and must not be deleted for the old one in 4. */
	for (size_t k = 0; k < np; k++) {
		const struct msvc *m = plans[k].has_new ? &plans[k].nw :
				       plans[k].keep ? &plans[k].old : NULL;

		for (size_t f = 0; m && f < m->n_fes; f++) {
			if (push((void **)&owned, &n_owned, sizeof(*owned), &m->fes[f])) {
				note_err(&first, st, -ENOMEM, "plan", m->name);
				break;
			}
		}
	}
	if (n_owned)
		qsort(owned, n_owned, sizeof(*owned), fe_cmp);

	/* 3. frontends and names */
	for (size_t k = 0; k < np; k++) {
		struct plan *p = &plans[k];
		bool changed;

		if (!p->has_new)
			continue;
		changed = !p->has_old || !p->old.trusted ||
			  memcmp(&p->old.val, &p->nw.val, sizeof(p->nw.val));
		for (size_t f = 0; f < p->nw.n_fes; f++) {
			const struct mfe *was = p->has_old ? fe_find(&p->old, &p->nw.fes[f]) : NULL;
			struct xlb_svc v = p->nw.val;

			if (!changed && was && was->flags == p->nw.fes[f].flags)
				continue;
			v.flags |= p->nw.fes[f].flags;
			err = xlb_dp_svc_set(s->dp, &p->nw.fes[f].key, &v);
			note_err(&first, st, err, "write frontend", p->nw.name);
			if (err)
				p->nw.trusted = false;
			else
				st->frontends_written++;
		}
		if (!p->has_old || memcmp(&p->old.meta, &p->nw.meta, sizeof(p->nw.meta))) {
			if (!p->has_old) {
				/* A fresh id starts its counters at zero. */
				int ncpu = xlb_dp_ncpus();
				struct xlb_counter *z = calloc(ncpu, sizeof(*z));

				if (z)
					bpf_map_update_elem(xlb_dp_map_fd(s->dp, XLB_DPM_SVC_STATS),
							    &p->nw.svc_id, z, BPF_ANY);
				free(z);
				st->svc_added++;
			} else {
				st->svc_changed++;
			}
			err = xlb_dp_svc_meta_set(s->dp, p->nw.svc_id, &p->nw.meta);
			note_err(&first, st, err, "write service name", p->nw.name);
		} else if (changed) {
			st->svc_changed++;
		}
	}

	/* 4. frontends that went away */
	for (size_t k = 0; k < np; k++) {
		struct plan *p = &plans[k];

		if (!p->has_old || p->keep)
			continue;
		for (size_t f = 0; f < p->old.n_fes; f++) {
			if (bsearch(&p->old.fes[f], owned, n_owned, sizeof(*owned), fe_cmp))
				continue;
			err = xlb_dp_svc_del(s->dp, &p->old.fes[f].key);
			note_err(&first, st, err, "remove frontend", p->old.name);
			if (!err)
				st->frontends_removed++;
		}
	}

	/* 5. tables nobody names now */
	for (size_t k = 0; k < np; k++) {
		struct plan *p = &plans[k];
		__u32 tid = p->has_old ? p->old.val.table_id : 0;

		if (p->has_old && p->old.extra_table && !p->keep &&
		    !(p->has_new && p->nw.val.table_id == p->old.extra_table)) {
			xlb_dp_table_del(s->dp, p->old.extra_table);
			bit_clr(s->table_ids, p->old.extra_table);
		}
		if (!tid || p->keep || (p->has_new && p->nw.val.table_id == tid))
			continue;
		err = xlb_dp_table_del(s->dp, tid);
		note_err(&first, st, err, "remove table", p->old.name);
		bit_clr(s->table_ids, tid);
	}

	/* 6. backends that went away, then names of removed services */
	for (size_t k = 0; k < np; k++) {
		struct plan *p = &plans[k];

		if (!p->has_old || p->keep)
			continue;
		for (size_t b = 0; b < p->old.n_bes; b++) {
			if (p->has_new && be_find(&p->nw, &p->old.bes[b]))
				continue;
			err = xlb_dp_backend_del(s->dp, p->old.bes[b].id);
			note_err(&first, st, err, "remove backend", p->old.name);
			if (!err)
				st->backends_removed++;
		}
		for (size_t r = 0; r < p->old.n_ranges; r++) {
			const struct xlb_desired_cidr *c = &p->old.ranges[r];

			if (p->has_new && range_in(&p->nw, c))
				continue;
			err = xlb_dp_src_range_del(s->dp, p->old.svc_id, c->family,
						   &c->addr, c->prefix_len);
			note_err(&first, st, err, "remove source range", p->old.name);
		}
		if (!p->has_new) {
			err = xlb_dp_svc_meta_del(s->dp, p->old.svc_id);
			note_err(&first, st, err, "remove service name", p->old.name);
			bit_clr(s->svc_ids, p->old.svc_id);
			st->svc_removed++;
		}
	}

	/* 7. (first apply only) adopted table slots nobody named: the new
	 * state is in place, nothing can need them now. */
	for (size_t t = 0; t < s->n_stale_tables; t++) {
		err = xlb_dp_table_del(s->dp, s->stale_tables[t]);
		note_err(&first, st, err, "remove unnamed table", "(adopted)");
		bit_clr(s->table_ids, s->stale_tables[t]);
	}
	free(s->stale_tables);
	s->stale_tables = NULL;
	s->n_stale_tables = 0;

	/* The new mirror, still sorted by name. */
	s->svcs = calloc(np + 1, sizeof(*s->svcs));
	for (size_t k = 0; k < np; k++) {
		struct plan *p = &plans[k];

		if (p->keep) {
			p->old.trusted = false;
			if (s->svcs)
				s->svcs[s->n++] = p->old;
			else
				msvc_release(&p->old);
			continue;
		}
		if (p->has_new && s->svcs)
			s->svcs[s->n++] = p->nw;
		else if (p->has_new)
			msvc_release(&p->nw);
		if (p->has_old)
			msvc_release(&p->old);
	}
	free(owned);
	if (!s->svcs && !first)
		first = -ENOMEM;
	free(plans);
	return first;
}

int xlb_sync_node(struct xlb_sync *s, const struct xlb_addr_key *addrs, size_t n_addrs,
		  const struct xlb_node_iface *ifs, size_t n_ifs)
{
	struct xlb_addr_key *na = NULL;
	struct xlb_node_iface *ni = NULL;
	int first = 0, err;

	/* Unchanged (same sets, same order): nothing to write. */
	if (n_addrs == s->n_addrs && n_ifs == s->n_ifs &&
	    (!n_addrs || !memcmp(addrs, s->addrs, n_addrs * sizeof(*addrs))) &&
	    (!n_ifs || !memcmp(ifs, s->ifs, n_ifs * sizeof(*ifs))))
		return 0;
	if (n_addrs && !(na = malloc(n_addrs * sizeof(*na))))
		return -ENOMEM;
	if (n_ifs && !(ni = malloc(n_ifs * sizeof(*ni)))) {
		free(na);
		return -ENOMEM;
	}
	if (n_addrs)
		memcpy(na, addrs, n_addrs * sizeof(*na));
	if (n_ifs)
		memcpy(ni, ifs, n_ifs * sizeof(*ni));

	/* Add before remove: an address that stays is never missing. */
	for (size_t i = 0; i < n_addrs; i++) {
		err = xlb_dp_node_addr_set(s->dp, &addrs[i], 0);
		if (err && !first)
			first = err;
	}
	for (size_t i = 0; i < n_ifs; i++) {
		struct xlb_iface v = { .snat4.v4 = ifs[i].addr4 };
		struct xlb_addr_key sk = { .addr.v4 = ifs[i].addr4, .family = XLB_AF_INET };

		/* A dedicated SNAT address before the interface names it, so
		 * the datapath knows its ports are all xlb's. */
		memcpy(v.mac, ifs[i].mac, sizeof(v.mac));
		err = ifs[i].snat_only ? xlb_dp_node_addr_set(s->dp, &sk, XLB_NA_F_SNAT_ONLY) : 0;
		err = err ?: xlb_dp_iface_set(s->dp, ifs[i].ifindex, &v);
		if (err && !first)
			first = err;
	}
	for (size_t i = 0; i < s->n_addrs; i++) {
		bool keep = false;

		for (size_t k = 0; k < n_addrs && !keep; k++)
			keep = !memcmp(&s->addrs[i], &addrs[k], sizeof(addrs[k]));
		for (size_t k = 0; k < n_ifs && !keep; k++)
			keep = ifs[k].snat_only && s->addrs[i].family == XLB_AF_INET &&
			       s->addrs[i].addr.v4 == ifs[k].addr4;
		if (!keep)
			xlb_dp_node_addr_del(s->dp, &s->addrs[i]);
	}
	for (size_t i = 0; i < s->n_ifs; i++) {
		bool keep = false;

		for (size_t k = 0; k < n_ifs && !keep; k++)
			keep = s->ifs[i].ifindex == ifs[k].ifindex;
		if (!keep)
			xlb_dp_iface_del(s->dp, s->ifs[i].ifindex);
	}
	free(s->addrs);
	free(s->ifs);
	s->addrs = na;
	s->n_addrs = n_addrs;
	s->ifs = ni;
	s->n_ifs = n_ifs;
	if (first)
		pr_err("sync: write node addresses: %s\n", strerror(-first));
	return first ? first : 1;
}

/* Make the map @m hold exactly the ifindexes @want (which @set writes). */
static int sync_dev_set(struct xlb_sync *s, enum xlb_dp_map m, const __u32 *want, size_t n,
			int (*set)(struct xlb_dp *, __u32), int (*del)(struct xlb_dp *, __u32))
{
	int fd = xlb_dp_map_fd(s->dp, m), first = 0, err;
	__u32 key, next, *stale = NULL;
	size_t n_stale = 0;
	bool more;

	for (size_t i = 0; i < n; i++) {
		err = set(s->dp, want[i]);
		if (err && !first)
			first = err;
	}
	/* Collect first, delete after: deleting while walking restarts
	 * the walk on a hash map. */
	more = !bpf_map_get_next_key(fd, NULL, &next);
	while (more) {
		bool keep = false;

		key = next;
		for (size_t i = 0; i < n && !keep; i++)
			keep = want[i] == key;
		if (!keep && push((void **)&stale, &n_stale, sizeof(key), &key))
			break;
		more = !bpf_map_get_next_key(fd, &key, &next);
	}
	for (size_t i = 0; i < n_stale; i++)
		del(s->dp, stale[i]);
	free(stale);
	return first;
}

int xlb_sync_devs(struct xlb_sync *s, const __u32 *tx, size_t n_tx,
		  const __u32 *peer, size_t n_peer)
{
	int err = sync_dev_set(s, XLB_DPM_TX_DEVS, tx, n_tx, xlb_dp_tx_dev_set,
			       xlb_dp_tx_dev_del);
	int e = sync_dev_set(s, XLB_DPM_PEER_DEVS, peer, n_peer, xlb_dp_peer_dev_set,
			     xlb_dp_peer_dev_del);

	err = err ? err : e;
	if (err)
		pr_err("sync: write device maps: %s\n", strerror(-err));
	return err;
}

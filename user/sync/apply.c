// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sync's apply: a desired state -> a plan per service port -> the writes
 * in the order of sync.h -> the next mirror. Also the node's addresses and
 * device sets. Every write goes through sync/write.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "lib/log.h"
#include "maglev.h"
#include "sync/mirror.h"
#include "sync/write.h"

struct plan {
	struct msvc old; /* zero when the service port is new */
	struct msvc nw;	 /* zero name when it goes away */
	bool has_old, has_new;
	bool table_new;	 /* nw.val.table_id is a fresh table */
	bool keep;	 /* planning failed: leave it as it is */
	bool need_table; /* phase 2 builds a new table */
	size_t mi;	 /* partial apply with has_old: its index in s->svcs */
};

static void note_err(int *first, struct xlb_sync_stats *st, int err, const char *what,
		     const char *name)
{
	if (!err)
		return;
	pr_err("sync: %s for %s: %s\n", what, name, strerror(-err));
	st->errors++;
	if (!*first)
		*first = err;
}

/*
 * A service port is written once per IP family it has frontends in, as two
 * mirror entries with their own svc id and table (the IPv6 one named with
 * XLB_SVC_V6_SUFFIX): a frontend of one family must only ever pick a
 * backend of that family, and each family counts its own ready endpoints
 * (k8s-spec §4.1).
 */
static int plan_frontends(struct msvc *nw, const struct xlb_desired_svcport *d, __u8 family)
{
	for (size_t i = 0; i < d->n_frontends; i++) {
		struct mfe fe = { .key = d->frontends[i].key };

		if (fe.key.family != family)
			continue;
		if (d->frontends[i].source_ranges)
			fe.flags = XLB_SVC_F_SOURCE_RANGES;
		if (mirror_push((void **)&nw->fes, &nw->n_fes, sizeof(fe), &fe))
			return -ENOMEM;
	}
	qsort(nw->fes, nw->n_fes, sizeof(*nw->fes), mirror_fe_cmp);
	return 0;
}

static int plan_ranges(struct msvc *nw, const struct xlb_desired_svcport *d, __u8 family)
{
	for (size_t i = 0; i < d->n_source_ranges; i++) {
		if (d->source_ranges[i].family != family)
			continue;
		if (mirror_push((void **)&nw->ranges, &nw->n_ranges, sizeof(nw->ranges[0]),
				&d->source_ranges[i]))
			return -ENOMEM;
	}
	qsort(nw->ranges, nw->n_ranges, sizeof(*nw->ranges), xlb_cidr_cmp);
	return 0;
}

/* The backends, keeping the ids of those in @old (NULL: a new service
 * port) and handing new ids to the others. */
static int plan_backends(struct xlb_sync *s, struct msvc *nw, const struct msvc *old,
			 const struct xlb_desired_svcport *d, __u8 family)
{
	size_t j = 0;

	for (size_t i = 0; i < d->n_backends; i++) {
		const struct xlb_desired_backend *db = &d->backends[i];
		struct mbe b = { .addr = db->addr,
				 .port = db->port,
				 .family = db->family,
				 .flags = db->local ? XLB_BE_F_LOCAL : 0 };

		if (db->family != family)
			continue;
		if (mirror_push((void **)&nw->bes, &nw->n_bes, sizeof(b), &b))
			return -ENOMEM;
	}
	qsort(nw->bes, nw->n_bes, sizeof(*nw->bes), mirror_be_cmp);
	/* Both lists sorted: one walk. */
	for (size_t i = 0; i < nw->n_bes; i++) {
		while (old && j < old->n_bes && mirror_be_cmp(&old->bes[j], &nw->bes[i]) < 0)
			j++;
		if (old && j < old->n_bes && !mirror_be_cmp(&old->bes[j], &nw->bes[i]))
			nw->bes[i].id = old->bes[j].id;
		else
			nw->bes[i].id = s->next_be_id++;
	}
	return 0;
}

/* What every frontend carries and the name entry (the table is
 * plan_table's). */
static void plan_values(struct msvc *nw, const struct xlb_desired_svcport *d, __u8 family)
{
	__u32 ready = family == XLB_AF_INET6 ? d->total_ready_v6 : d->total_ready_v4;

	nw->val.svc_id = nw->svc_id;
	nw->val.backend_count = nw->n_bes > 0xffff ? 0xffff : nw->n_bes;
	nw->val.total_count = ready > 0xffff ? 0xffff : ready;
	nw->val.flags = d->etp_local ? XLB_SVC_F_ETP_LOCAL : 0;
	nw->val.affinity_timeout = d->affinity_timeout;

	snprintf(nw->meta.name, sizeof(nw->meta.name), "%.*s", (int)sizeof(nw->meta.name) - 1,
		 nw->name);
	nw->meta.flags = nw->val.flags;
	nw->meta.n_frontends = nw->n_fes;
	nw->meta.n_backends = nw->n_bes;
	nw->meta.total_ready = ready;
}

/* One family of a desired service port, under its mirror name. */
struct view {
	char name[XLB_SVCPORT_NAME_MAX];
	const struct xlb_desired_svcport *d;
	__u8 family;
};

static int view_cmp(const void *a, const void *b)
{
	return strcmp(((const struct view *)a)->name, ((const struct view *)b)->name);
}

/* The views of @d (sorted by name, like the mirror): one per family that
 * has a frontend. NULL on ENOMEM. */
static struct view *views_of(const struct xlb_desired *d, size_t *n)
{
	struct view *v = calloc(2 * d->n + 1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; v && i < d->n; i++) {
		const struct xlb_desired_svcport *sp = &d->svcports[i];
		bool has4 = false, has6 = false;

		for (size_t f = 0; f < sp->n_frontends; f++) {
			has4 |= sp->frontends[f].key.family == XLB_AF_INET;
			has6 |= sp->frontends[f].key.family == XLB_AF_INET6;
		}
		if (has4) {
			v[*n] = (struct view){ .d = sp, .family = XLB_AF_INET };
			snprintf(v[(*n)++].name, sizeof(v->name), "%s", sp->name);
		}
		if (has6) {
			v[*n] = (struct view){ .d = sp, .family = XLB_AF_INET6 };
			snprintf(v[(*n)++].name, sizeof(v->name), "%.*s%s",
				 (int)(sizeof(v->name) - sizeof(XLB_SVC_V6_SUFFIX)), sp->name,
				 XLB_SVC_V6_SUFFIX);
		}
	}
	if (v)
		qsort(v, *n, sizeof(*v), view_cmp);
	return v;
}

/* Fill p->nw from one family of a desired service port, reusing old ids. */
static int plan_new(struct xlb_sync *s, struct plan *p, const struct view *v)
{
	struct msvc *nw = &p->nw, *old = p->has_old ? &p->old : NULL;
	const struct xlb_desired_svcport *d = v->d;
	int err;

	snprintf(nw->name, sizeof(nw->name), "%s", v->name);
	nw->svc_id = old ? old->svc_id : mirror_id_alloc(s->svc_ids, s->o.max_tables);
	if (!nw->svc_id)
		return -ENOSPC;
	err = plan_frontends(nw, d, v->family);
	err = err ?: plan_ranges(nw, d, v->family);
	err = err ?: plan_backends(s, nw, old, d, v->family);
	if (err)
		return err;
	plan_values(nw, d, v->family);
	nw->trusted = true;
	return 0;
}

static bool same_backends(const struct msvc *a, const struct msvc *b)
{
	if (a->n_bes != b->n_bes)
		return false;
	for (size_t i = 0; i < a->n_bes; i++)
		if (mirror_be_cmp(&a->bes[i], &b->bes[i]) || a->bes[i].id != b->bes[i].id)
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
	if (p->has_old && p->old.trusted && p->old.val.table_id && p->old.val.maglev_size == m &&
	    same_backends(&p->old, nw))
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
	char(*keys)[64];
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

		/* The Maglev identity of a backend: the same on every node. */
		snprintf(keys[i], sizeof(keys[i]), "%s:%u",
			 xlb_addr_str(nw->bes[i].family, &nw->bes[i].addr, a, sizeof(a)),
			 nw->bes[i].port);
		mb[i].key = keys[i];
		mb[i].key_len = strlen(keys[i]);
		mb[i].id = nw->bes[i].id;
	}
	err = maglev_build(mb, nw->n_bes, nw->val.maglev_size, s->table_buf);
	if (err)
		goto out;
	tid = mirror_id_alloc(s->table_ids, s->o.max_tables);
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

/* Give up on a planned change: the service port stays as it was (or, if
 * it is new, does not appear); backends written for it are taken back. */
static void plan_abandon(struct xlb_sync *s, struct plan *p)
{
	for (size_t b = 0; b < p->nw.n_bes; b++)
		if (!p->has_old || !mirror_be_find(&p->old, &p->nw.bes[b]))
			xlb_dp_backend_del(s->dp, p->nw.bes[b].id);
	for (size_t r = 0; r < p->nw.n_ranges; r++) {
		if (!p->has_old || !mirror_range_in(&p->old, &p->nw.ranges[r]))
			xlb_dp_src_range_del(s->dp, p->nw.svc_id, p->nw.ranges[r].family,
					     &p->nw.ranges[r].addr, p->nw.ranges[r].prefix_len);
	}
	if (!p->has_old && p->nw.svc_id)
		bit_clr(s->svc_ids, p->nw.svc_id);
	mirror_svc_release(&p->nw);
	p->need_table = false;
	p->has_new = false;
	p->keep = p->has_old;
}

/* One apply: the plans (one per service port, old and new merged by name)
 * and what the phases share. */
struct apply {
	struct xlb_sync *s;
	struct plan *plans;
	size_t np;
	struct mfe *owned; /* sorted: every frontend owned after the apply */
	size_t n_owned;
	struct xlb_sync_stats *st;
	int first;	 /* the first error */
	bool partial;	 /* only the plans' service ports; the rest of the
		       * mirror stays where it is */
	size_t *touched; /* partial: the plans' mirror indexes, ascending */
	size_t n_touched;
};

/* Plan the new side of @p from view @pv; a failure keeps what it had. */
static void plan_one(struct apply *a, struct plan *p, const struct view *pv)
{
	int err;

	p->has_new = true;
	err = plan_new(a->s, p, pv);
	if (!err)
		err = plan_table(a->s, p);
	if (err) {
		/* An existing service port keeps what it had. */
		note_err(&a->first, a->st, err, "plan", pv->name);
		plan_abandon(a->s, p);
	}
}

/* Merge the mirror and @d (both sorted by name) into plans; the plans own
 * the old entries from here on. */
static int plan_all(struct apply *a, const struct xlb_desired *d)
{
	struct xlb_sync *s = a->s;
	size_t i = 0, j = 0, nv;
	struct view *v = views_of(d, &nv);

	a->plans = v ? calloc(s->n + nv + 1, sizeof(*a->plans)) : NULL;
	if (!a->plans) {
		free(v);
		return -ENOMEM;
	}
	while (i < s->n || j < nv) {
		int c = i == s->n ? 1 : j == nv ? -1 : strcmp(s->svcs[i].name, v[j].name);
		struct plan *p = &a->plans[a->np++];

		if (c <= 0) {
			p->old = s->svcs[i++];
			p->has_old = true;
		}
		if (c >= 0)
			plan_one(a, p, &v[j++]);
	}
	free(v);
	free(s->svcs);
	s->svcs = NULL;
	s->n = 0;
	return 0;
}

/* 1. backends, new or changed */
static void write_backends(struct apply *a, struct plan *p)
{
	int err = 0;

	for (size_t b = 0; b < p->nw.n_bes; b++) {
		struct mbe *nb = &p->nw.bes[b];
		struct xlb_backend v = { .addr = nb->addr,
					 .port = htons(nb->port),
					 .family = nb->family,
					 .flags = nb->flags,
					 .svc_id = p->nw.svc_id };
		const struct mbe *ob = p->has_old && p->old.trusted ? mirror_be_find(&p->old, nb) :
								      NULL;

		if (ob && ob->flags == nb->flags)
			continue;
		err = xlb_dp_backend_set(a->s->dp, nb->id, &v);
		note_err(&a->first, a->st, err, "write backend", p->nw.name);
		if (err)
			break;
		a->st->backends_added++;
	}
	/* A table must not name a backend that is not there (its share of
	 * new flows would drop): the service port keeps its previous state
	 * whole, like a failed table write. */
	if (err)
		plan_abandon(a->s, p);
}

/* 1b. source ranges, before a frontend is told to check them */
static void write_ranges(struct apply *a, struct plan *p)
{
	int err = 0;

	for (size_t r = 0; r < p->nw.n_ranges; r++) {
		const struct xlb_cidr *c = &p->nw.ranges[r];

		if (p->has_old && p->old.trusted && mirror_range_in(&p->old, c))
			continue;
		err = xlb_dp_src_range_set(a->s->dp, p->nw.svc_id, c->family, &c->addr,
					   c->prefix_len);
		note_err(&a->first, a->st, err, "write source range", p->nw.name);
		if (err)
			break;
	}
	if (err)
		plan_abandon(a->s, p);
}

/* 2. tables */
static void write_tables(struct apply *a, struct plan *p)
{
	int err = write_table(a->s, p);

	note_err(&a->first, a->st, err, "write Maglev table", p->nw.name);
	if (err) {
		plan_abandon(a->s, p);
	} else if (p->table_new) {
		a->st->tables_built++;
		if (maglev_undersized(p->nw.n_bes, p->nw.val.maglev_size)) {
			a->st->tables_undersized++;
			pr_warn("sync: %s: %zu backends share the largest Maglev table (%u slots, %.0f each, designed for >= 100): more connections move when backends change\n",
				p->nw.name, p->nw.n_bes, p->nw.val.maglev_size,
				(double)p->nw.val.maglev_size / p->nw.n_bes);
		}
	}
}

/* Every frontend some service port owns after this apply: a key that
 * moves from one service port to another is rewritten by its new owner in
 * phase 3 and must not be deleted for the old one in 4. */
static void collect_owned(struct apply *a)
{
	for (size_t k = 0; k < a->np; k++) {
		const struct msvc *m = a->plans[k].has_new ? &a->plans[k].nw :
				       a->plans[k].keep	   ? &a->plans[k].old :
							     NULL;

		for (size_t f = 0; m && f < m->n_fes; f++) {
			if (mirror_push((void **)&a->owned, &a->n_owned, sizeof(*a->owned),
					&m->fes[f])) {
				note_err(&a->first, a->st, -ENOMEM, "plan", m->name);
				break;
			}
		}
	}
	if (a->n_owned)
		qsort(a->owned, a->n_owned, sizeof(*a->owned), mirror_fe_cmp);
}

/* 3. frontends and names */
static void write_frontends(struct apply *a, struct plan *p)
{
	bool changed = !p->has_old || !p->old.trusted ||
		       memcmp(&p->old.val, &p->nw.val, sizeof(p->nw.val));
	int err;

	for (size_t f = 0; f < p->nw.n_fes; f++) {
		const struct mfe *was = p->has_old ? mirror_fe_find(&p->old, &p->nw.fes[f]) : NULL;
		struct xlb_svc v = p->nw.val;

		if (!changed && was && was->flags == p->nw.fes[f].flags)
			continue;
		v.flags |= p->nw.fes[f].flags;
		err = xlb_dp_svc_set(a->s->dp, &p->nw.fes[f].key, &v);
		note_err(&a->first, a->st, err, "write frontend", p->nw.name);
		if (err)
			p->nw.trusted = false;
		else
			a->st->frontends_written++;
	}
	if (!p->has_old || memcmp(&p->old.meta, &p->nw.meta, sizeof(p->nw.meta))) {
		if (!p->has_old) {
			/* A fresh id starts its counters at zero. */
			xlb_dp_svc_stats_reset(a->s->dp, p->nw.svc_id);
			a->st->svc_added++;
		} else {
			a->st->svc_changed++;
		}
		err = xlb_dp_svc_meta_set(a->s->dp, p->nw.svc_id, &p->nw.meta);
		note_err(&a->first, a->st, err, "write service name", p->nw.name);
	} else if (changed) {
		a->st->svc_changed++;
	}
}

static int cmp_mi(const void *key, const void *elem)
{
	size_t k = *(const size_t *)key, m = *(const size_t *)elem;

	return k < m ? -1 : k > m;
}

/* Partial apply: does a service port outside the plans hold @f? (Only
 * asked for a frontend a plan gives up, which is rare: a walk.) */
static bool owned_elsewhere(const struct apply *a, const struct mfe *f)
{
	const struct xlb_sync *s = a->s;

	for (size_t i = 0; a->partial && i < s->n; i++) {
		if (bsearch(&i, a->touched, a->n_touched, sizeof(*a->touched), cmp_mi))
			continue;
		if (mirror_fe_find(&s->svcs[i], f))
			return true;
	}
	return false;
}

/* 4. frontends that went away */
static void remove_frontends(struct apply *a, struct plan *p)
{
	for (size_t f = 0; f < p->old.n_fes; f++) {
		int err;

		if (bsearch(&p->old.fes[f], a->owned, a->n_owned, sizeof(*a->owned),
			    mirror_fe_cmp) ||
		    owned_elsewhere(a, &p->old.fes[f]))
			continue;
		err = xlb_dp_svc_del(a->s->dp, &p->old.fes[f].key);
		note_err(&a->first, a->st, err, "remove frontend", p->old.name);
		if (!err)
			a->st->frontends_removed++;
	}
}

/* 5. tables nobody names now */
static void remove_tables(struct apply *a, struct plan *p)
{
	__u32 tid = p->has_old ? p->old.val.table_id : 0;
	int err;

	if (p->has_old && p->old.extra_table && !p->keep &&
	    !(p->has_new && p->nw.val.table_id == p->old.extra_table)) {
		xlb_dp_table_del(a->s->dp, p->old.extra_table);
		bit_clr(a->s->table_ids, p->old.extra_table);
	}
	if (!tid || p->keep || (p->has_new && p->nw.val.table_id == tid))
		return;
	err = xlb_dp_table_del(a->s->dp, tid);
	note_err(&a->first, a->st, err, "remove table", p->old.name);
	bit_clr(a->s->table_ids, tid);
}

/* 6. backends that went away, then names of removed services */
static void remove_backends(struct apply *a, struct plan *p)
{
	int err;

	for (size_t b = 0; b < p->old.n_bes; b++) {
		if (p->has_new && mirror_be_find(&p->nw, &p->old.bes[b]))
			continue;
		err = xlb_dp_backend_del(a->s->dp, p->old.bes[b].id);
		note_err(&a->first, a->st, err, "remove backend", p->old.name);
		if (!err)
			a->st->backends_removed++;
	}
	for (size_t r = 0; r < p->old.n_ranges; r++) {
		const struct xlb_cidr *c = &p->old.ranges[r];

		if (p->has_new && mirror_range_in(&p->nw, c))
			continue;
		err = xlb_dp_src_range_del(a->s->dp, p->old.svc_id, c->family, &c->addr,
					   c->prefix_len);
		note_err(&a->first, a->st, err, "remove source range", p->old.name);
	}
	if (!p->has_new) {
		err = xlb_dp_svc_meta_del(a->s->dp, p->old.svc_id);
		note_err(&a->first, a->st, err, "remove service name", p->old.name);
		bit_clr(a->s->svc_ids, p->old.svc_id);
		a->st->svc_removed++;
	}
}

/* 7. (first apply only) adopted table slots nobody named: the new state is
 * in place, nothing can need them now. */
static void remove_stale_tables(struct apply *a)
{
	struct xlb_sync *s = a->s;

	for (size_t t = 0; t < s->n_stale_tables; t++) {
		int err = xlb_dp_table_del(s->dp, s->stale_tables[t]);

		note_err(&a->first, a->st, err, "remove unnamed table", "(adopted)");
		bit_clr(s->table_ids, s->stale_tables[t]);
	}
	free(s->stale_tables);
	s->stale_tables = NULL;
	s->n_stale_tables = 0;
}

/* The new mirror, still sorted by name; the plans are spent. */
static void mirror_rebuild(struct apply *a)
{
	struct xlb_sync *s = a->s;

	s->svcs = calloc(a->np + 1, sizeof(*s->svcs));
	for (size_t k = 0; k < a->np; k++) {
		struct plan *p = &a->plans[k];

		if (p->keep) {
			p->old.trusted = false;
			if (s->svcs)
				s->svcs[s->n++] = p->old;
			else
				mirror_svc_release(&p->old);
			continue;
		}
		if (p->has_new && s->svcs)
			s->svcs[s->n++] = p->nw;
		else if (p->has_new)
			mirror_svc_release(&p->nw);
		if (p->has_old)
			mirror_svc_release(&p->old);
	}
	if (!s->svcs && !a->first)
		a->first = -ENOMEM;
}

/* Partial apply: the plans' entries back into the mirror, in place where
 * the service port stays, removed or inserted (in name order) where it
 * goes or comes; the rest of the mirror is untouched. */
static void mirror_patch(struct apply *a)
{
	struct xlb_sync *s = a->s;
	size_t n_ins = 0, gone = 0;

	for (size_t k = 0; k < a->np; k++) {
		struct plan *p = &a->plans[k];

		if (p->keep) {
			p->old.trusted = false;
			s->svcs[p->mi] = p->old;
		} else if (p->has_old && p->has_new) {
			mirror_svc_release(&p->old);
			s->svcs[p->mi] = p->nw;
		} else if (p->has_old) {
			mirror_svc_release(&p->old);
			s->svcs[p->mi].name[0] = 0; /* dropped below */
			gone++;
		} else if (p->has_new) {
			n_ins++;
		}
	}
	if (gone) {
		size_t w = 0;

		for (size_t i = 0; i < s->n; i++)
			if (s->svcs[i].name[0])
				s->svcs[w++] = s->svcs[i];
		s->n = w;
	}
	if (n_ins) {
		struct msvc *v = realloc(s->svcs, (s->n + n_ins + 1) * sizeof(*v));

		if (!v) {
			/* Written but not remembered: the next full apply
			 * adopts nothing for them and rewrites them. */
			for (size_t k = 0; k < a->np; k++)
				if (!a->plans[k].has_old && a->plans[k].has_new)
					mirror_svc_release(&a->plans[k].nw);
			if (!a->first)
				a->first = -ENOMEM;
			return;
		}
		s->svcs = v;
		for (size_t k = 0; k < a->np; k++) {
			struct plan *p = &a->plans[k];
			size_t lo = 0, hi = s->n;

			if (p->has_old || !p->has_new)
				continue;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;

				if (strcmp(s->svcs[mid].name, p->nw.name) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			memmove(&s->svcs[lo + 1], &s->svcs[lo], (s->n - lo) * sizeof(*s->svcs));
			s->svcs[lo] = p->nw;
			s->n++;
		}
	}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Plans for the service ports @names only (sorted, unique), each merged
 * from its mirror entry and its entry in @d; either may be absent. */
static int plan_some(struct apply *a, const struct xlb_desired *d, const char *const *names,
		     size_t n)
{
	struct xlb_sync *s = a->s;
	struct view *cv = calloc(2 * n + 1, sizeof(*cv));
	size_t ncv = 0;

	a->plans = calloc(2 * n + 1, sizeof(*a->plans));
	a->touched = calloc(2 * n + 1, sizeof(*a->touched));
	if (!cv || !a->plans || !a->touched) {
		free(cv);
		free(a->plans);
		free(a->touched);
		return -ENOMEM;
	}
	/* Each service port is a mirror entry per family (sync.h): both
	 * names are candidates, the view's d NULL when that family has no
	 * frontend (or the service port is gone). */
	for (size_t i = 0; i < n; i++) {
		const struct xlb_desired_svcport *dsp = xlb_desired_find(d, names[i]);

		for (int fam = 0; fam < 2; fam++) {
			struct view *v = &cv[ncv++];
			bool has = false;

			v->family = fam ? XLB_AF_INET6 : XLB_AF_INET;
			snprintf(v->name, sizeof(v->name), "%.*s%s",
				 (int)(sizeof(v->name) - sizeof(XLB_SVC_V6_SUFFIX)), names[i],
				 fam ? XLB_SVC_V6_SUFFIX : "");
			for (size_t f = 0; dsp && f < dsp->n_frontends && !has; f++)
				has = dsp->frontends[f].key.family == v->family;
			v->d = has ? dsp : NULL;
		}
	}
	qsort(cv, ncv, sizeof(*cv), view_cmp);
	for (size_t i = 0; i < ncv; i++) {
		struct plan *p = &a->plans[a->np];
		size_t lo = 0, hi = s->n;

		if (i && !strcmp(cv[i].name, cv[i - 1].name))
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(s->svcs[mid].name, cv[i].name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < s->n && !strcmp(s->svcs[lo].name, cv[i].name)) {
			p->old = s->svcs[lo];
			p->has_old = true;
			p->mi = lo;
			/* candidates and mirror both sorted: ascending */
			a->touched[a->n_touched++] = lo;
		} else if (!cv[i].d) {
			continue; /* neither here nor there */
		}
		a->np++;
		if (cv[i].d)
			plan_one(a, p, &cv[i]);
	}
	free(cv);
	return 0;
}

static bool is_new(const struct plan *p)
{
	return p->has_new;
}
/* The old entry goes or is replaced (not kept after a failed plan). */
static bool old_goes(const struct plan *p)
{
	return p->has_old && !p->keep;
}
static bool every(const struct plan *p)
{
	return true;
}

/* One phase: @fn on each plan @want selects, asked when its turn comes (a
 * phase before may have abandoned a plan). */
static void each(struct apply *a, bool (*want)(const struct plan *),
		 void (*fn)(struct apply *, struct plan *))
{
	for (size_t k = 0; k < a->np; k++)
		if (want(&a->plans[k]))
			fn(a, &a->plans[k]);
}

/* The phases of one apply over a->plans. */
static int apply_plans(struct apply *a)
{
	/* The order of sync.h: what is named before what names it. */
	each(a, is_new, write_backends);
	each(a, is_new, write_ranges);
	each(a, is_new, write_tables);
	collect_owned(a);
	each(a, is_new, write_frontends);
	each(a, old_goes, remove_frontends);
	each(a, every, remove_tables);
	each(a, old_goes, remove_backends);
	remove_stale_tables(a);
	if (a->partial)
		mirror_patch(a);
	else
		mirror_rebuild(a);
	free(a->owned);
	free(a->plans);
	free(a->touched);
	return a->first;
}

int xlb_sync_apply(struct xlb_sync *s, const struct xlb_desired *d, struct xlb_sync_stats *st)
{
	struct xlb_sync_stats dummy;
	struct apply a = { .s = s, .st = st ? st : &dummy };
	int err;

	memset(a.st, 0, sizeof(*a.st));
	err = plan_all(&a, d);
	return err ? err : apply_plans(&a);
}

int xlb_sync_apply_names(struct xlb_sync *s, const struct xlb_desired *d, const char *const *names,
			 size_t n, struct xlb_sync_stats *st)
{
	struct xlb_sync_stats dummy;
	struct apply a = { .s = s, .st = st ? st : &dummy, .partial = true };
	const char **v;
	size_t w = 0;
	int err;

	memset(a.st, 0, sizeof(*a.st));
	if (!n)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, names, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_name);
	for (size_t i = 0; i < n; i++)
		if (!w || strcmp(v[w - 1], v[i]))
			v[w++] = v[i];
	err = plan_some(&a, d, v, w);
	free(v);
	return err ? err : apply_plans(&a);
}

/* Add before remove: an address that stays is never missing. */
static int node_write(struct xlb_sync *s, const struct xlb_addr_key *addrs, size_t n_addrs,
		      const struct xlb_node_iface *ifs, size_t n_ifs)
{
	int first = 0, err;

	for (size_t i = 0; i < n_addrs; i++) {
		err = xlb_dp_node_addr_set(s->dp, &addrs[i], 0);
		if (err && !first)
			first = err;
	}
	for (size_t i = 0; i < n_ifs; i++) {
		struct xlb_iface v = { .snat4.v4 = ifs[i].addr4, .snat6 = ifs[i].addr6 };
		struct xlb_addr_key sk = { .addr.v4 = ifs[i].addr4, .family = XLB_AF_INET };
		struct xlb_addr_key sk6 = { .addr = ifs[i].addr6, .family = XLB_AF_INET6 };

		/* A dedicated SNAT address before the interface names it, so
		 * the datapath knows its ports are all xlb's. */
		memcpy(v.mac, ifs[i].mac, sizeof(v.mac));
		err = ifs[i].snat_only ? xlb_dp_node_addr_set(s->dp, &sk, XLB_NA_F_SNAT_ONLY) : 0;
		err = err ?:
			      ifs[i].snat6_only ?
			      xlb_dp_node_addr_set(s->dp, &sk6, XLB_NA_F_SNAT_ONLY) :
			      0;
		err = err ?: xlb_dp_iface_set(s->dp, ifs[i].ifindex, &v);
		if (err && !first)
			first = err;
	}
	return first;
}

/* Is @k one of the addresses the sets @addrs, @ifs (SNAT-only ones) write? */
static bool node_has(const struct xlb_addr_key *k, const struct xlb_addr_key *addrs, size_t n_addrs,
		     const struct xlb_node_iface *ifs, size_t n_ifs)
{
	for (size_t i = 0; i < n_addrs; i++)
		if (!memcmp(k, &addrs[i], sizeof(*k)))
			return true;
	for (size_t i = 0; i < n_ifs; i++)
		if ((ifs[i].snat_only && k->family == XLB_AF_INET && k->addr.v4 == ifs[i].addr4) ||
		    (ifs[i].snat6_only && k->family == XLB_AF_INET6 &&
		     !memcmp(&k->addr, &ifs[i].addr6, sizeof(k->addr))))
			return true;
	return false;
}

/* What the previous sets had and the new ones do not: NodePort addresses,
 * SNAT-only addresses and interfaces. */
static void node_remove_stale(struct xlb_sync *s, const struct xlb_addr_key *addrs, size_t n_addrs,
			      const struct xlb_node_iface *ifs, size_t n_ifs)
{
	for (size_t i = 0; i < s->n_addrs; i++)
		if (!node_has(&s->addrs[i], addrs, n_addrs, ifs, n_ifs))
			xlb_dp_node_addr_del(s->dp, &s->addrs[i]);
	for (size_t i = 0; i < s->n_ifs; i++) {
		struct xlb_addr_key k4 = { .addr.v4 = s->ifs[i].addr4, .family = XLB_AF_INET };
		struct xlb_addr_key k6 = { .addr = s->ifs[i].addr6, .family = XLB_AF_INET6 };

		if (s->ifs[i].snat_only && !node_has(&k4, addrs, n_addrs, ifs, n_ifs))
			xlb_dp_node_addr_del(s->dp, &k4);
		if (s->ifs[i].snat6_only && !node_has(&k6, addrs, n_addrs, ifs, n_ifs))
			xlb_dp_node_addr_del(s->dp, &k6);
	}
	for (size_t i = 0; i < s->n_ifs; i++) {
		bool keep = false;

		for (size_t k = 0; k < n_ifs && !keep; k++)
			keep = s->ifs[i].ifindex == ifs[k].ifindex;
		if (!keep)
			xlb_dp_iface_del(s->dp, s->ifs[i].ifindex);
	}
}

int xlb_sync_node(struct xlb_sync *s, const struct xlb_addr_key *addrs, size_t n_addrs,
		  const struct xlb_node_iface *ifs, size_t n_ifs)
{
	struct xlb_addr_key *na = NULL;
	struct xlb_node_iface *ni = NULL;
	int first;

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
	first = node_write(s, addrs, n_addrs, ifs, n_ifs);
	node_remove_stale(s, addrs, n_addrs, ifs, n_ifs);
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
		if (!keep && mirror_push((void **)&stale, &n_stale, sizeof(key), &key))
			break;
		more = !bpf_map_get_next_key(fd, &key, &next);
	}
	for (size_t i = 0; i < n_stale; i++)
		del(s->dp, stale[i]);
	free(stale);
	return first;
}

int xlb_sync_devs(struct xlb_sync *s, const __u32 *tx, size_t n_tx, const __u32 *peer,
		  size_t n_peer)
{
	int err = sync_dev_set(s, XLB_DPM_TX_DEVS, tx, n_tx, xlb_dp_tx_dev_set, xlb_dp_tx_dev_del);
	int e = sync_dev_set(s, XLB_DPM_PEER_DEVS, peer, n_peer, xlb_dp_peer_dev_set,
			     xlb_dp_peer_dev_del);

	err = err ? err : e;
	if (err)
		pr_err("sync: write device maps: %s\n", strerror(-err));
	return err;
}

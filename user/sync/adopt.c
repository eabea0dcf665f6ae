// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Read back what an earlier agent left in the pinned maps: service names,
 * frontends, backends. Tables are not trusted (a crash may have stopped a
 * sync half way), so the first apply rebuilds them; Maglev gives the same
 * table for the same backends, so flows do not notice. Reads only, through
 * the read-only fds of lib/maps.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "lib/log.h"
#include "sync/mirror.h"

/* The names: one mirror entry per xlb_svc_meta entry. */
static int adopt_names(struct xlb_sync *s)
{
	int fd = xlb_dp_map_fd(s->dp, XLB_DPM_SVC_META);
	struct xlb_svc_meta meta;
	__u32 id, next;
	struct msvc *m;
	void *prev;

	for (prev = NULL; !bpf_map_get_next_key(fd, prev, &next); prev = &id) {
		id = next;
		if (bpf_map_lookup_elem(fd, &id, &meta) || id >= s->o.max_tables)
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
	return 0;
}

static int adopt_frontends(struct xlb_sync *s)
{
	int fd = xlb_dp_map_fd(s->dp, XLB_DPM_SVC);
	struct xlb_svc_key fk, fnext;
	struct xlb_svc val;
	struct msvc *m;
	void *prev;

	for (prev = NULL; !bpf_map_get_next_key(fd, prev, &fnext); prev = &fk) {
		struct mfe fe;

		fk = fnext;
		if (bpf_map_lookup_elem(fd, &fk, &val))
			continue;
		/* No name for it: an orphan, removed by the first apply. */
		m = mirror_orphan(s, val.svc_id);
		if (!m) {
			if (val.svc_id >= s->o.max_tables)
				continue;
			return -ENOMEM;
		}
		fe = (struct mfe){ .key = fk, .flags = val.flags & XLB_SVC_F_SOURCE_RANGES };
		val.flags &= ~XLB_SVC_F_SOURCE_RANGES;
		if (m->n_fes && m->val.table_id != val.table_id)
			m->extra_table = m->val.table_id;
		m->val = val;
		if (mirror_push((void **)&m->fes, &m->n_fes, sizeof(fe), &fe))
			return -ENOMEM;
		if (val.table_id && val.table_id < s->o.max_tables)
			bit_set(s->table_ids, val.table_id);
	}
	return 0;
}

static int adopt_backends(struct xlb_sync *s)
{
	int fd = xlb_dp_map_fd(s->dp, XLB_DPM_BACKENDS);
	struct xlb_backend be;
	__u32 id, next;
	struct msvc *m;
	void *prev;

	for (prev = NULL; !bpf_map_get_next_key(fd, prev, &next); prev = &id) {
		struct mbe b;

		id = next;
		if (bpf_map_lookup_elem(fd, &id, &be))
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
		m = mirror_orphan(s, be.svc_id);
		if (!m) {
			if (be.svc_id >= s->o.max_tables)
				continue;
			return -ENOMEM;
		}
		b = (struct mbe){ .addr = be.addr,
				  .port = ntohs(be.port),
				  .family = be.family,
				  .flags = be.flags,
				  .id = id };
		if (mirror_push((void **)&m->bes, &m->n_bes, sizeof(b), &b))
			return -ENOMEM;
	}
	return 0;
}

static int adopt_ranges(struct xlb_sync *s)
{
	int fd = xlb_dp_map_fd(s->dp, XLB_DPM_SRC_RANGES);
	struct xlb_src_key rk, rnext;
	struct msvc *m;
	void *prev;

	for (prev = NULL; !bpf_map_get_next_key(fd, prev, &rnext); prev = &rk) {
		__u32 id = ntohl(rnext.id);
		struct xlb_cidr c = { .family = id >> 24, .prefix_len = rnext.prefixlen - 32 };

		rk = rnext;
		memcpy(&c.addr, rnext.addr, sizeof(c.addr));
		m = mirror_orphan(s, id & 0xffffff);
		if (!m) {
			if ((id & 0xffffff) >= s->o.max_tables)
				continue;
			return -ENOMEM;
		}
		if (mirror_push((void **)&m->ranges, &m->n_ranges, sizeof(c), &c))
			return -ENOMEM;
	}
	return 0;
}

/* Table slots nobody names: left by a crash mid-swap, or named by a
 * replaced xlb_svc the running program still reads. Kept (and their ids
 * taken) until the first apply has written the new state. */
static int adopt_stale_tables(struct xlb_sync *s)
{
	int fd = xlb_dp_map_fd(s->dp, XLB_DPM_MAGLEV);
	__u32 id, next, tmp;
	void *prev;

	for (prev = NULL; !bpf_map_get_next_key(fd, prev, &next); prev = &id) {
		id = next;
		if (id >= s->o.max_tables || bit_get(s->table_ids, id) ||
		    bpf_map_lookup_elem(fd, &id, &tmp))
			continue;
		if (mirror_push((void **)&s->stale_tables, &s->n_stale_tables, sizeof(id), &id))
			return -ENOMEM;
		bit_set(s->table_ids, id);
	}
	return 0;
}

/* Node addresses and SNAT sources, so stale ones are removed by the first
 * xlb_sync_node(). */
static int adopt_node(struct xlb_sync *s)
{
	int afd = xlb_dp_map_fd(s->dp, XLB_DPM_NODE_ADDRS);
	int ifd = xlb_dp_map_fd(s->dp, XLB_DPM_IFACES);
	struct xlb_addr_key ak, anext;
	struct xlb_iface iv;
	__u32 id, next;
	void *prev;

	for (prev = NULL; !bpf_map_get_next_key(afd, prev, &anext); prev = &ak) {
		ak = anext;
		if (mirror_push((void **)&s->addrs, &s->n_addrs, sizeof(ak), &ak))
			return -ENOMEM;
	}
	for (prev = NULL; !bpf_map_get_next_key(ifd, prev, &next); prev = &id) {
		struct xlb_node_iface ni;

		id = next;
		if (bpf_map_lookup_elem(ifd, &id, &iv))
			continue;
		ni = (struct xlb_node_iface){ .ifindex = id,
					      .addr4 = iv.snat4.v4,
					      .addr6 = iv.snat6 };
		memcpy(ni.mac, iv.mac, sizeof(ni.mac));
		if (mirror_push((void **)&s->ifs, &s->n_ifs, sizeof(ni), &ni))
			return -ENOMEM;
	}
	return 0;
}

int mirror_adopt(struct xlb_sync *s)
{
	/* Names first: the other maps' entries attach to them by svc id. */
	int err = adopt_names(s);

	err = err ?: adopt_frontends(s);
	err = err ?: adopt_backends(s);
	err = err ?: adopt_ranges(s);
	err = err ?: adopt_stale_tables(s); /* after the frontends took theirs */
	err = err ?: adopt_node(s);
	if (err)
		return err;
	for (size_t i = 0; i < s->n; i++) {
		struct msvc *m = &s->svcs[i];

		qsort(m->bes, m->n_bes, sizeof(*m->bes), mirror_be_cmp);
		qsort(m->fes, m->n_fes, sizeof(*m->fes), mirror_fe_cmp);
		qsort(m->ranges, m->n_ranges, sizeof(*m->ranges), xlb_cidr_cmp);
	}
	qsort(s->svcs, s->n, sizeof(*s->svcs), mirror_svc_cmp);
	if (!s->next_be_id)
		s->next_be_id = 1;
	if (s->n)
		pr_info("sync: adopted %zu service ports from the pinned maps\n", s->n);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The maps pinned under the pin dir, read as sorted arrays of records: one
 * dump for every map (batch lookups, or a key walk on kernels without
 * them), and the service names and backends most objects join on. The
 * only file of xlbctl that calls the datapath's API: lib/maps.h, read-only
 * fds, and sync/write.h for the one write xlbctl makes (the monitor
 * switch). xlbctl links neither the loader nor the BPF skeleton (explain's
 * private instance aside, user/explain.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sync/write.h"
#include "xlbctl.h"

/* The pinned maps, once ctl_need() opened them: the only handle on the
 * datapath, so this file is all that knows how pins are opened. */
static struct xlb_dp *dp;

static int open_maps(void)
{
	int err;

	if (dp)
		return 0;
	dp = xlb_dp_open_pinned(ctl.pin_dir);
	if (dp)
		return 0;
	err = -errno;
	if (err == -ENOENT) {
		char other[64];

		for (int m = 0; m < XLB_DPM_MAX; m++) {
			if (!xlb_dp_pinned_other(ctl.pin_dir, m, other, sizeof(other)))
				continue;
			ctl_err("open pinned maps under %s: %s is pinned in another layout than this xlbctl's %s: use the xlbctl of the agent's build",
				ctl.pin_dir, other, xlb_dp_pin_name(m));
			return err;
		}
	}
	ctl_err("open pinned maps under %s: %s%s", ctl.pin_dir, strerror(-err),
		err == -ENOENT			? " (is xlb-agent running, or --pin-dir wrong?)" :
		err == -EPERM || err == -EACCES ? " (xlbctl needs root or CAP_BPF)" :
						  "");
	return err;
}

int ctl_map_fd(enum xlb_dp_map m)
{
	return xlb_dp_map_fd(dp, m);
}

void ctl_close(void)
{
	xlb_dp_close(dp);
	free(ctl.metas);
	free(ctl.bes);
}

int ctl_monitor_set(const struct xlb_monitor_cfg *cfg)
{
	return xlb_dp_monitor_set(dp, cfg);
}

int ctl_read_table(__u32 table_id, __u32 **ids, __u32 *m)
{
	int err;

	*ids = NULL;
	err = xlb_dp_table_get(dp, table_id, NULL, m, 0);
	if (err)
		return err;
	*ids = calloc(*m + 1, sizeof(**ids));
	if (!*ids)
		return -ENOMEM;
	err = xlb_dp_table_get(dp, table_id, *ids, m, *m);
	if (err) {
		free(*ids);
		*ids = NULL;
	}
	return err;
}

/* Every entry of a hash map: keys and values in two parallel arrays. */
struct dump {
	void *keys;
	void *vals;
	size_t n;
	size_t ksz, vsz;
};

static void dump_free(struct dump *d)
{
	free(d->keys);
	free(d->vals);
	d->keys = d->vals = NULL;
	d->n = 0;
}

static int dump_grow(struct dump *d, size_t cap)
{
	void *k = realloc(d->keys, cap * d->ksz);

	if (!k)
		return -ENOMEM;
	d->keys = k;
	k = realloc(d->vals, cap * d->vsz);
	if (!k)
		return -ENOMEM;
	d->vals = k;
	return 0;
}

/* Without batch ops (kernels before 5.6): walk the keys. A key deleted
 * under us restarts the walk, so stop at a bound rather than loop. */
static int dump_walk(int fd, struct dump *d)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	size_t cap = 0, limit;
	char prev[64], next[64];
	void *cur = NULL;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	limit = 2 * (size_t)info.max_entries + 16;
	while (!bpf_map_get_next_key(fd, cur, next) && d->n < limit) {
		if (d->n == cap) {
			cap = cap ? 2 * cap : 256;
			err = dump_grow(d, cap);
			if (err)
				return err;
		}
		memcpy(prev, next, d->ksz);
		cur = prev;
		if (bpf_map_lookup_elem(fd, next, (char *)d->vals + d->n * d->vsz))
			continue; /* deleted since */
		memcpy((char *)d->keys + d->n * d->ksz, next, d->ksz);
		d->n++;
	}
	return 0;
}

static int dump_map(enum xlb_dp_map m, size_t ksz, size_t vsz, struct dump *d)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	/* Batch tokens: a u32 bucket index for hash maps. */
	__u64 in[8], outb[8];
	size_t chunk = 1024, cap = 0;
	bool first = true;
	int fd = ctl_map_fd(m), err;

	memset(d, 0, sizeof(*d));
	d->ksz = ksz;
	d->vsz = vsz;
	for (;;) {
		__u32 count;

		if (cap < d->n + chunk) {
			cap = d->n + chunk;
			err = dump_grow(d, cap);
			if (err)
				goto fail;
		}
		count = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : in, outb,
					   (char *)d->keys + d->n * ksz,
					   (char *)d->vals + d->n * vsz, &count, &opts);
		err = err ? -errno : 0;
		if (err && err != -ENOENT) {
			if (err == -ENOSPC && !count && chunk < (1u << 20)) {
				chunk *= 2; /* a bucket larger than the chunk */
				continue;
			}
			if (first && (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP)) {
				d->n = 0;
				err = dump_walk(fd, d);
				if (err)
					goto fail;
				return 0;
			}
			goto fail;
		}
		d->n += count;
		if (err == -ENOENT)
			return 0;
		memcpy(in, outb, sizeof(in));
		first = false;
	}
fail:
	ctl_err("read %s under %s: %s", xlb_dp_map_names[m], ctl.pin_dir, strerror(-err));
	dump_free(d);
	return err;
}

int ctl_dump(enum xlb_dp_map m, size_t ksz, size_t vsz, size_t rsz, size_t koff, size_t voff,
	     int (*cmp)(const void *, const void *), void **recs, size_t *n)
{
	struct dump d;
	char *r;
	int err;

	*recs = NULL;
	*n = 0;
	err = dump_map(m, ksz, vsz, &d);
	if (err)
		return err;
	r = calloc(d.n + 1, rsz);
	if (!r) {
		dump_free(&d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d.n; i++) {
		memcpy(r + i * rsz + koff, (char *)d.keys + i * ksz, ksz);
		memcpy(r + i * rsz + voff, (char *)d.vals + i * vsz, vsz);
	}
	*recs = r;
	*n = d.n;
	dump_free(&d);
	if (cmp)
		qsort(r, *n, rsz, cmp);
	return 0;
}

int ctl_counter_sum(enum xlb_dp_map m, __u32 key, struct xlb_counter *sum)
{
	int ncpus = xlb_dp_ncpus();
	struct xlb_counter *v;

	memset(sum, 0, sizeof(*sum));
	if (ncpus <= 0) {
		ctl_err("count possible CPUs: %s", strerror(ncpus ? -ncpus : EINVAL));
		return ncpus ? ncpus : -EINVAL;
	}
	v = calloc(ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(ctl_map_fd(m), &key, v)) {
		int err = -errno;

		free(v);
		if (err == -ENOENT) /* index past max_entries */
			return 0;
		ctl_err("read %s[%u] under %s: %s", xlb_dp_map_names[m], key, ctl.pin_dir,
			strerror(-err));
		return err;
	}
	for (int i = 0; i < ncpus; i++) {
		sum->packets += v[i].packets;
		sum->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

int ctl_cmp_u32(__u32 a, __u32 b)
{
	return a < b ? -1 : a > b;
}

int ctl_cmp_id(const void *a, const void *b)
{
	return ctl_cmp_u32(*(const __u32 *)a, *(const __u32 *)b);
}

int ctl_need(unsigned int need)
{
	int err = open_maps();

	if (!err && need & CTL_METAS && !ctl.metas) {
		err = CTL_DUMP(XLB_DPM_SVC_META, struct meta_ent, ctl_cmp_id, &ctl.metas,
			       &ctl.n_metas);
		for (size_t i = 0; !err && i < ctl.n_metas; i++)
			ctl.metas[i].v.name[sizeof(ctl.metas[i].v.name) - 1] = '\0';
	}
	if (!err && need & CTL_BACKENDS && !ctl.bes)
		err = CTL_DUMP(XLB_DPM_BACKENDS, struct be_ent, ctl_cmp_id, &ctl.bes, &ctl.n_bes);
	return err;
}

const struct be_ent *ctl_find_backend(__u32 id)
{
	return ctl.n_bes ? bsearch(&id, ctl.bes, ctl.n_bes, sizeof(*ctl.bes), ctl_cmp_id) : NULL;
}

const char *ctl_svc_name(__u32 id)
{
	static char buf[4][32];
	static int slot;
	const struct meta_ent *m;

	m = ctl.n_metas ? bsearch(&id, ctl.metas, ctl.n_metas, sizeof(*ctl.metas), ctl_cmp_id) :
			  NULL;
	if (m && m->v.name[0])
		return m->v.name;
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "svc#%u", id);
	return buf[slot];
}

int ctl_load_svcs(struct svc_ent **svcs, size_t *n)
{
	int err = CTL_DUMP(XLB_DPM_SVC, struct svc_ent, NULL, svcs, n);

	for (size_t i = 0; !err && i < *n; i++)
		snprintf((*svcs)[i].name, sizeof((*svcs)[i].name), "%s",
			 ctl_svc_name((*svcs)[i].v.svc_id));
	return err;
}

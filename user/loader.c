// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The loader: the BPF skeleton, its pins, the layout migration. See
 * loader.h.
 *
 * Map writes here are bounded to migrate(): entries of a pinned map of
 * another layout copied into ours, on the writable fds the skeleton made,
 * while xlb_dp_load() runs (before sync or our programs read them) and in
 * xlb_dp_migrate_finish() (after the swap, BPF_NOEXIST: never over what our
 * programs wrote). Every other write is sync/write.c's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <dirent.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "xlb.skel.h"
#include "lib/log.h"
#include "lib/maps_rw.h"
#include "attach.h"
#include "loader.h"
#include "maplayout.h"

#define PIN_XDP "prog_xdp"
#define PIN_TC	"prog_tc_egress"
#define PIN_TCI "prog_tc_ingress"
#define PIN_TCF "prog_tc"

#define MAX_OLD 4

/* A pinned map of another layout (an earlier or later build's): migrated
 * into ours after load, removed once our programs run. */
struct old_map {
	int fd;
	char path[PATH_MAX];
	struct btf *btf; /* the old map's own BTF, from the kernel */
	struct xlb_copy_plan key, val;
	__u32 type;
	__u64 copied;
};

/* What a loaded handle has beyond its map fds (lib/maps_rw.h). */
struct xlb_loader {
	struct xlb_bpf *skel;
	bool had_pin[XLB_DPM_MAX]; /* ours was pinned before this load */
	struct old_map old[XLB_DPM_MAX][MAX_OLD];
	int n_old[XLB_DPM_MAX];
};

static struct bpf_map *skel_map(struct xlb_bpf *s, enum xlb_dp_map m)
{
	switch (m) {
	case XLB_DPM_SVC:
		return s->maps.xlb_svc;
	case XLB_DPM_BACKENDS:
		return s->maps.xlb_backends;
	case XLB_DPM_MAGLEV:
		return s->maps.xlb_maglev;
	case XLB_DPM_CT:
		return s->maps.xlb_ct;
	case XLB_DPM_NODE_ADDRS:
		return s->maps.xlb_node_addrs;
	case XLB_DPM_IFACES:
		return s->maps.xlb_ifaces;
	case XLB_DPM_SVC_STATS:
		return s->maps.xlb_svc_stats;
	case XLB_DPM_REASONS:
		return s->maps.xlb_reasons;
	case XLB_DPM_SVC_META:
		return s->maps.xlb_svc_meta;
	case XLB_DPM_AFFINITY:
		return s->maps.xlb_affinity;
	case XLB_DPM_SRC_RANGES:
		return s->maps.xlb_src_ranges;
	case XLB_DPM_FRAGS:
		return s->maps.xlb_frags;
	case XLB_DPM_FRAGS6:
		return s->maps.xlb_frags6;
	case XLB_DPM_TX_DEVS:
		return s->maps.xlb_tx_devs;
	case XLB_DPM_PEER_DEVS:
		return s->maps.xlb_peer_devs;
	case XLB_DPM_SOCK_REV:
		return s->maps.xlb_sock_rev;
	case XLB_DPM_SOCK_REV6:
		return s->maps.xlb_sock_rev6;
	case XLB_DPM_L2:
		return s->maps.xlb_l2;
	case XLB_DPM_VIP_META:
		return s->maps.xlb_vip_meta;
	case XLB_DPM_MONITOR:
		return s->maps.xlb_monitor;
	case XLB_DPM_EVENTS:
		return s->maps.xlb_events;
	default:
		return NULL;
	}
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

int xlb_dp_ensure_bpffs(const char *pin_dir)
{
	char dir[PATH_MAX];
	char *slash;

	/* The default place: mount bpffs there when the host has not. */
	if (!strncmp(pin_dir, "/sys/fs/bpf", 11) && !on_bpffs("/sys/fs/bpf")) {
		mkdir("/sys/fs/bpf", 0700);
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			int err = -errno;

			pr_err("mount bpffs at /sys/fs/bpf: %s\n", strerror(-err));
			return err;
		}
		return 0;
	}
	/* Elsewhere the nearest existing ancestor must be a bpffs. */
	snprintf(dir, sizeof(dir), "%s", pin_dir);
	while (access(dir, F_OK)) {
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	if (!on_bpffs(dir)) {
		pr_err("pin dir %s is not on a bpf filesystem; mount one: mount -t bpf bpf %s\n",
		       pin_dir, dir);
		return -ENOTSUP;
	}
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int pin_prog(struct bpf_program *prog, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = xlb_dp_pin_path(path, sizeof(path), dir, name);

	if (err)
		return err;
	/* Replace an older program's pin: the new one is what runs next. */
	unlink(path);
	err = bpf_program__pin(prog, path);
	if (err)
		pr_err("pin %s: %s\n", path, strerror(-err));
	return err;
}

/*
 * A pinned map from an earlier agent whose shape differs from ours would
 * make the load fail. Conntrack and affinity hold state worth keeping: a
 * size change is resolved by keeping the pinned size. Every other map is
 * rebuilt by the first sync anyway (or holds only counters): a pinned one
 * of another shape is replaced.
 */
static void reconcile_pin(struct bpf_map *map, const char *path, bool keep_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		goto out;
	if (info.type == bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
	    info.value_size == bpf_map__value_size(map) &&
	    info.map_flags == bpf_map__map_flags(map)) {
		if (info.max_entries == bpf_map__max_entries(map))
			goto out;
		if (keep_size) {
			pr_warn("%s: keeping its pinned size %u (asked for %u) so its state survives\n",
				path, info.max_entries, bpf_map__max_entries(map));
			bpf_map__set_max_entries(map, info.max_entries);
			goto out;
		}
		/* A --max-* flag changed: a new map of the asked size; the
		 * running program keeps the old one until the agent has
		 * written its state into the new one and attached. */
		pr_warn("%s: pinned with %u entries, %u asked: replacing it\n", path,
			info.max_entries, bpf_map__max_entries(map));
		unlink(path);
		goto out;
	}
	pr_warn("%s: pinned map has another layout; replacing it%s\n", path,
		keep_size ? " (its state is lost)" : "");
	unlink(path);
out:
	close(fd);
}

/* Maps whose entries the programs create: losing them breaks flows, so an
 * agent that cannot carry them over refuses to start. The others are
 * rewritten by sync or only count. */
static bool holds_flows(enum xlb_dp_map m)
{
	return m == XLB_DPM_CT || m == XLB_DPM_AFFINITY || m == XLB_DPM_SOCK_REV ||
	       m == XLB_DPM_SOCK_REV6 || m == XLB_DPM_FRAGS || m == XLB_DPM_FRAGS6;
}

static bool is_percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_array(__u32 type)
{
	return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_ARRAY_OF_MAPS;
}

static void old_close(struct old_map *om)
{
	btf__free(om->btf);
	om->btf = NULL;
	if (om->fd >= 0)
		close(om->fd);
	om->fd = -1;
}

/* Plan carrying @path (a pin of @m in another layout) into our map. */
static int old_open(struct xlb_dp *dp, enum xlb_dp_map m, const char *path)
{
	struct bpf_map *map = skel_map(dp->ld->skel, m);
	const struct btf *nb = bpf_object__btf(dp->ld->skel->obj);
	struct old_map *om = &dp->ld->old[m][dp->ld->n_old[m]];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err = 0;

	if (dp->ld->n_old[m] >= MAX_OLD)
		return -E2BIG;
	*om = (struct old_map){ .fd = bpf_obj_get(path) };
	snprintf(om->path, sizeof(om->path), "%s", path);
	if (om->fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(om->fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	om->type = info.type;
	if (info.btf_id) {
		om->btf = btf__load_from_kernel_by_id(info.btf_id);
		if (!om->btf) {
			err = -errno;
			goto out;
		}
	}
	if (info.type != bpf_map__type(map)) {
		err = -EPROTOTYPE;
		goto out;
	}
	err = xlb_copy_plan(om->btf, info.btf_key_type_id, info.key_size, nb,
			    bpf_map__btf_key_type_id(map), bpf_map__key_size(map), &om->key);
	if (!err)
		err = xlb_copy_plan(om->btf, info.btf_value_type_id, info.value_size, nb,
				    bpf_map__btf_value_type_id(map), bpf_map__value_size(map),
				    &om->val);
	/* A field that changed size, or a key field that is gone, would turn
	 * two entries into one or make a key nobody looks up. */
	if (!err && (om->key.zeroed[0] || om->key.dropped[0]))
		err = -EINVAL;
out:
	if (err) {
		old_close(om);
		return err;
	}
	if (om->val.zeroed[0] || om->val.dropped[0])
		pr_info("%s: migrating by field name; new fields start zero: %s; dropped: %s\n",
			path, om->val.zeroed[0] ? om->val.zeroed : "none",
			om->val.dropped[0] ? om->val.dropped : "none");
	dp->ld->n_old[m]++;
	return 0;
}

/* Find the pins of other layouts before anything is created: a map with
 * flows that cannot be carried over stops the start, so the running
 * datapath (old programs on old maps) stays untouched. */
static int find_old(struct xlb_dp *dp, const char *pin_dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(pin_dir);
	int err = 0;

	if (!d)
		return 0;
	while (!err && (e = readdir(d))) {
		for (int m = 0; m < XLB_DPM_MAX && !err; m++) {
			if (!xlb_dp_is_pin_of(e->d_name, m) ||
			    !strcmp(e->d_name, xlb_dp_pin_name(m)))
				continue;
			err = xlb_dp_pin_path(path, sizeof(path), pin_dir, e->d_name);
			if (!err)
				err = old_open(dp, m, path);
			if (!err)
				continue;
			if (!holds_flows(m)) {
				pr_warn("%s: pinned by a build with another layout, cannot be carried over (%s); sync rebuilds it\n",
					path, strerror(-err));
				err = 0;
				continue;
			}
			pr_err("%s: pinned by a build with another layout that this agent cannot migrate into %s (%s); refusing to start so its flows are not flushed (the running datapath is untouched): run the build that made it, or xlb-agent --uninstall to start over\n",
			       path, xlb_dp_pin_name(m), strerror(-err));
		}
	}
	closedir(d);
	return err;
}

/*
 * Copy every entry of @om into @fd (our map) by the plan. @flags:
 * BPF_ANY into a fresh map, BPF_NOEXIST when ours may hold newer entries
 * (the second pass, or a map ours had pinned already): never overwrite
 * what our programs wrote.
 */
static int old_copy(struct old_map *om, int fd, const struct bpf_map *map, __u64 flags)
{
	struct bpf_map_info oi = {};
	__u32 len = sizeof(oi), nks = bpf_map__key_size(map), nvs = bpf_map__value_size(map);
	int ncpu = is_percpu(om->type) ? libbpf_num_possible_cpus() : 1;
	size_t ostride, nstride;
	void *ok = NULL, *nk = NULL, *ov = NULL, *nv = NULL, *prev = NULL;
	int err = 0;

	if (ncpu < 1 || bpf_obj_get_info_by_fd(om->fd, &oi, &len))
		return -EINVAL;
	ostride = ncpu > 1 || is_percpu(om->type) ? (oi.value_size + 7) & ~7u : oi.value_size;
	nstride = ncpu > 1 || is_percpu(om->type) ? (nvs + 7) & ~7u : nvs;
	ok = calloc(1, oi.key_size);
	nk = calloc(1, nks);
	ov = calloc(ncpu, ostride);
	nv = calloc(ncpu, nstride);
	if (!ok || !nk || !ov || !nv) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		int ufd = -1;

		if (bpf_map_get_next_key(om->fd, prev, ok))
			break; /* ENOENT: done */
		prev = ok;
		if (bpf_map_lookup_elem(om->fd, ok, ov))
			continue; /* gone meanwhile (LRU, expiry) */
		memset(nk, 0, nks);
		memset(nv, 0, (size_t)ncpu * nstride);
		xlb_copy_apply(&om->key, ok, nk);
		for (int c = 0; c < ncpu; c++)
			xlb_copy_apply(&om->val, (char *)ov + c * ostride,
				       (char *)nv + c * nstride);
		if (om->type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
			/* A lookup gives the inner map's id, an update wants an fd. */
			ufd = bpf_map_get_fd_by_id(*(__u32 *)ov);
			if (ufd < 0)
				continue;
			*(__u32 *)nv = ufd;
		}
		if (bpf_map_update_elem(fd, nk, nv, flags)) {
			if (errno != EEXIST && errno != E2BIG && !err)
				err = -errno;
		} else {
			om->copied++;
		}
		if (ufd >= 0)
			close(ufd);
	}
out:
	free(ok);
	free(nk);
	free(ov);
	free(nv);
	return err;
}

/* Carry the old layouts' entries into ours (@second: after the swap, only
 * the maps programs write, never overwriting). */
static void migrate(struct xlb_dp *dp, bool second)
{
	for (int m = 0; m < XLB_DPM_MAX; m++) {
		struct bpf_map *map = skel_map(dp->ld->skel, m);
		__u64 flags = second || dp->ld->had_pin[m] ? BPF_NOEXIST : BPF_ANY;

		if (second && !holds_flows(m))
			continue;
		/* Arrays have every key: only a fresh one takes the old values. */
		if (is_array(bpf_map__type(map)) && flags == BPF_NOEXIST)
			continue;
		for (int i = 0; i < dp->ld->n_old[m]; i++) {
			struct old_map *om = &dp->ld->old[m][i];
			__u64 before = om->copied;
			int err = old_copy(om, dp->rw[m], map, flags);

			if (err)
				pr_warn("migrate %s into %s: %s (after %llu entries)\n", om->path,
					xlb_dp_pin_name(m), strerror(-err),
					(unsigned long long)om->copied);
			else if (om->copied > before || !second)
				pr_info("%s: %llu entries carried into %s%s\n", om->path,
					(unsigned long long)(om->copied - before),
					xlb_dp_pin_name(m),
					second ? " (written by the old programs until the swap)" :
						 "");
		}
	}
}

int xlb_dp_migrate_finish(struct xlb_dp *dp)
{
	if (!dp->ld)
		return 0;
	migrate(dp, true);
	for (int m = 0; m < XLB_DPM_MAX; m++) {
		for (int i = 0; i < dp->ld->n_old[m]; i++) {
			struct old_map *om = &dp->ld->old[m][i];

			if (unlink(om->path) && errno != ENOENT)
				pr_warn("remove %s: %s\n", om->path, strerror(errno));
			else
				pr_info("removed %s: our programs run on %s\n", om->path,
					xlb_dp_pin_name(m));
			old_close(om);
		}
		dp->ld->n_old[m] = 0;
	}
	return 0;
}

/* The IPv6 programs into the tail call arrays of the IPv4 entries
 * (bpf/xlb.bpf.c), before anything is attached. */
static int fill_progs6(struct xlb_bpf *s)
{
	__u32 zero = 0;
	int fd = bpf_program__fd(s->progs.xlb_xdp6);

	if (bpf_map_update_elem(bpf_map__fd(s->maps.xlb_xdp_progs6), &zero, &fd, 0))
		goto fail;
	fd = bpf_program__fd(s->progs.xlb_tc6);
	if (bpf_map_update_elem(bpf_map__fd(s->maps.xlb_tc_progs6), &zero, &fd, 0))
		goto fail;
	return 0;
fail:
	fd = -errno;
	pr_err("xlb_xdp_progs6/xlb_tc_progs6: cannot add the IPv6 programs: %s\n", strerror(-fd));
	return fd;
}

/* The object with the sizes asked for; not loaded yet. */
static int open_object(struct xlb_loader *ld, const struct xlb_dp_opts *o)
{
	ld->skel = xlb_bpf__open();
	if (!ld->skel) {
		int err = -errno;

		pr_err("open BPF object: %s\n", strerror(-err));
		return err;
	}
	ld->skel->rodata->xlb_cfg = o->cfg;
	if (o->max_ct)
		bpf_map__set_max_entries(ld->skel->maps.xlb_ct, o->max_ct);
	if (o->ct_lru) {
		__u32 f = bpf_map__map_flags(ld->skel->maps.xlb_ct) & ~BPF_F_NO_COMMON_LRU;

		bpf_map__set_map_flags(ld->skel->maps.xlb_ct, o->ct_lru == XLB_CT_LRU_PERCPU ?
								      f | BPF_F_NO_COMMON_LRU :
								      f);
	}
	if (o->max_services)
		bpf_map__set_max_entries(ld->skel->maps.xlb_svc, o->max_services);
	if (o->max_backends)
		bpf_map__set_max_entries(ld->skel->maps.xlb_backends, o->max_backends);
	if (o->max_tables) {
		bpf_map__set_max_entries(ld->skel->maps.xlb_maglev, o->max_tables);
		bpf_map__set_max_entries(ld->skel->maps.xlb_svc_stats, o->max_tables);
		bpf_map__set_max_entries(ld->skel->maps.xlb_svc_meta, o->max_tables);
	}
	return 0;
}

/* Before the load: reconcile what is pinned under @pin_dir with our maps
 * and point each map at its pin (libbpf adopts a compatible pinned map or
 * pins a new one). */
static int prepare_pins(struct xlb_dp *dp, const char *pin_dir)
{
	char path[PATH_MAX];
	int err = xlb_dp_ensure_bpffs(pin_dir);

	if (err)
		return err;
	err = mkdir_p(pin_dir);
	if (err) {
		pr_err("create pin dir %s: %s\n", pin_dir, strerror(-err));
		return err;
	}
	for (int m = 0; m < XLB_DPM_MAX; m++) {
		err = xlb_dp_pin_path(path, sizeof(path), pin_dir, xlb_dp_pin_name(m));
		if (!err)
			reconcile_pin(skel_map(dp->ld->skel, m), path,
				      m == XLB_DPM_CT || m == XLB_DPM_AFFINITY);
		dp->ld->had_pin[m] = !err && !access(path, F_OK);
	}
	err = find_old(dp, pin_dir);
	if (err)
		return err;
	for (int m = 0; m < XLB_DPM_MAX; m++) {
		err = xlb_dp_pin_path(path, sizeof(path), pin_dir, xlb_dp_pin_name(m));
		if (!err)
			err = bpf_map__set_pin_path(skel_map(dp->ld->skel, m), path);
		if (err)
			return err;
	}
	return 0;
}

static int pin_progs(struct xlb_bpf *skel, const char *pin_dir)
{
	int err = pin_prog(skel->progs.xlb_xdp, pin_dir, PIN_XDP);

	if (!err)
		err = pin_prog(skel->progs.xlb_tc_egress, pin_dir, PIN_TC);
	if (!err)
		err = pin_prog(skel->progs.xlb_tc_ingress, pin_dir, PIN_TCI);
	if (!err)
		err = pin_prog(skel->progs.xlb_tc, pin_dir, PIN_TCF);
	return err;
}

static void unload(struct xlb_loader *ld)
{
	for (int m = 0; m < XLB_DPM_MAX; m++)
		for (int i = 0; i < ld->n_old[m]; i++)
			old_close(&ld->old[m][i]);
	xlb_bpf__destroy(ld->skel); /* closes the writable map fds */
	free(ld);
}

struct xlb_dp *xlb_dp_load(const struct xlb_dp_opts *o)
{
	struct xlb_dp *dp = xlb_dp_alloc(o->pin_dir);
	int err;

	if (!dp)
		return NULL;
	dp->ld = calloc(1, sizeof(*dp->ld));
	if (!dp->ld) {
		free(dp);
		return NULL;
	}
	dp->unload = unload;
	err = open_object(dp->ld, o);
	if (!err && o->pin_dir)
		err = prepare_pins(dp, o->pin_dir);
	if (err)
		goto err;
	/* xlb_xdp is tail-called from its entry (attach.c), and a prog array
	 * takes only programs of its owner's expected attach type (kernels
	 * from 6.17 check it). libxdp loads the entry as an extension with
	 * none (0), so xlb_xdp and the entry alone carry none either; and
	 * xlb_xdp6 too, tail-called through xlb_xdp_progs6, whose owner is
	 * xlb_xdp. */
	bpf_program__set_expected_attach_type(dp->ld->skel->progs.xlb_xdp, 0);
	bpf_program__set_expected_attach_type(dp->ld->skel->progs.xlb_xdp6, 0);
	err = xlb_bpf__load(dp->ld->skel);
	if (err) {
		pr_err("load BPF programs: %s%s\n", strerror(-err),
		       o->pin_dir ? " (a pinned map of another layout? try --uninstall)" : "");
		goto err;
	}
	err = fill_progs6(dp->ld->skel);
	if (err)
		goto err;
	for (int m = 0; m < XLB_DPM_MAX; m++)
		dp->rw[m] = bpf_map__fd(skel_map(dp->ld->skel, m));
	err = xlb_dp_ro_open(dp);
	if (err)
		goto err;
	/* Before sync adopts the maps (service and backend ids) and before
	 * our programs run: they start on the old state. */
	migrate(dp, false);
	if (o->pin_dir) {
		err = pin_progs(dp->ld->skel, o->pin_dir);
		if (err)
			goto err;
	}
	return dp;
err:
	xlb_dp_close(dp);
	errno = -err;
	return NULL;
}

int xlb_dp_unpin(const char *pin_dir)
{
	static const char *const progs[] = { PIN_XDP, PIN_TC, PIN_TCI, PIN_TCF, XLB_PIN_XDP_SLOT };
	char path[PATH_MAX];
	int err = 0;

	DIR *d = opendir(pin_dir);
	struct dirent *e;

	/* Every layout's pins: ours, older and newer builds'. */
	while (d && (e = readdir(d))) {
		for (int m = 0; m < XLB_DPM_MAX; m++) {
			if (xlb_dp_is_pin_of(e->d_name, m) &&
			    !xlb_dp_pin_path(path, sizeof(path), pin_dir, e->d_name) &&
			    unlink(path) && errno != ENOENT)
				err = -errno;
		}
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!xlb_dp_pin_path(path, sizeof(path), pin_dir, progs[i]) && unlink(path) &&
		    errno != ENOENT)
			err = -errno;
	}
	rmdir(pin_dir);
	return err;
}

int xlb_dp_xdp_fd(const struct xlb_dp *dp)
{
	return dp->ld ? bpf_program__fd(dp->ld->skel->progs.xlb_xdp) : -ENOENT;
}

int xlb_dp_sock_fd(const struct xlb_dp *dp, enum xlb_dp_sock which)
{
	struct bpf_program *p;

	if (!dp->ld)
		return -ENOENT;
	switch (which) {
	case XLB_SOCK_CONNECT4:
		p = dp->ld->skel->progs.xlb_sock_connect4;
		break;
	case XLB_SOCK_SENDMSG4:
		p = dp->ld->skel->progs.xlb_sock_sendmsg4;
		break;
	case XLB_SOCK_RECVMSG4:
		p = dp->ld->skel->progs.xlb_sock_recvmsg4;
		break;
	case XLB_SOCK_GETPEERNAME4:
		p = dp->ld->skel->progs.xlb_sock_getpeername4;
		break;
	case XLB_SOCK_CONNECT6:
		p = dp->ld->skel->progs.xlb_sock_connect6;
		break;
	case XLB_SOCK_SENDMSG6:
		p = dp->ld->skel->progs.xlb_sock_sendmsg6;
		break;
	case XLB_SOCK_RECVMSG6:
		p = dp->ld->skel->progs.xlb_sock_recvmsg6;
		break;
	case XLB_SOCK_GETPEERNAME6:
		p = dp->ld->skel->progs.xlb_sock_getpeername6;
		break;
	default:
		return -EINVAL;
	}
	return bpf_program__fd(p);
}

int xlb_dp_tc_full_fd(const struct xlb_dp *dp)
{
	return dp->ld ? bpf_program__fd(dp->ld->skel->progs.xlb_tc) : -ENOENT;
}

int xlb_dp_tc_fd(const struct xlb_dp *dp)
{
	return dp->ld ? bpf_program__fd(dp->ld->skel->progs.xlb_tc_egress) : -ENOENT;
}

int xlb_dp_tc_ingress_fd(const struct xlb_dp *dp)
{
	return dp->ld ? bpf_program__fd(dp->ld->skel->progs.xlb_tc_ingress) : -ENOENT;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
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
#include "datapath.h"
#include "log.h"
#include "maplayout.h"

#define PIN_XDP "prog_xdp"
#define PIN_TC  "prog_tc_egress"
#define PIN_TCI "prog_tc_ingress"
#define PIN_TCF "prog_tc"

const char *const xlb_dp_map_names[XLB_DPM_MAX] = {
	[XLB_DPM_SVC]		= XLB_MAP_SVC,
	[XLB_DPM_BACKENDS]	= XLB_MAP_BACKENDS,
	[XLB_DPM_MAGLEV]	= XLB_MAP_MAGLEV,
	[XLB_DPM_CT]		= XLB_MAP_CT,
	[XLB_DPM_NODE_ADDRS]	= XLB_MAP_NODE_ADDRS,
	[XLB_DPM_IFACES]	= XLB_MAP_IFACES,
	[XLB_DPM_SVC_STATS]	= XLB_MAP_SVC_STATS,
	[XLB_DPM_REASONS]	= XLB_MAP_REASONS,
	[XLB_DPM_SVC_META]	= XLB_MAP_SVC_META,
	[XLB_DPM_AFFINITY]	= XLB_MAP_AFFINITY,
	[XLB_DPM_SRC_RANGES]	= XLB_MAP_SRC_RANGES,
	[XLB_DPM_FRAGS]		= XLB_MAP_FRAGS,
	[XLB_DPM_TX_DEVS]	= XLB_MAP_TX_DEVS,
	[XLB_DPM_PEER_DEVS]	= XLB_MAP_PEER_DEVS,
	[XLB_DPM_SOCK_REV]	= XLB_MAP_SOCK_REV,
	[XLB_DPM_L2]		= XLB_MAP_L2,
	[XLB_DPM_VIP_META]	= XLB_MAP_VIP_META,
	[XLB_DPM_MONITOR]	= XLB_MAP_MONITOR,
	[XLB_DPM_EVENTS]	= XLB_MAP_EVENTS,
};

#define MAX_OLD 4

/* A pinned map of another layout (an earlier or later build's): migrated
 * into ours after load, removed once our programs run. */
struct old_map {
	int fd;
	char path[PATH_MAX];
	struct btf *btf;		/* the old map's own BTF, from the kernel */
	struct xlb_copy_plan key, val;
	__u32 type;
	__u64 copied;
};

struct xlb_dp {
	struct xlb_bpf *skel;		/* NULL when opened from pins */
	int fds[XLB_DPM_MAX];
	bool own_fds;			/* fds opened by us (pinned mode) */
	bool had_pin[XLB_DPM_MAX];	/* ours was pinned before this load */
	struct old_map old[XLB_DPM_MAX][MAX_OLD];
	int n_old[XLB_DPM_MAX];
};

static struct bpf_map *skel_map(struct xlb_bpf *s, enum xlb_dp_map m)
{
	switch (m) {
	case XLB_DPM_SVC:		return s->maps.xlb_svc;
	case XLB_DPM_BACKENDS:		return s->maps.xlb_backends;
	case XLB_DPM_MAGLEV:		return s->maps.xlb_maglev;
	case XLB_DPM_CT:		return s->maps.xlb_ct;
	case XLB_DPM_NODE_ADDRS:	return s->maps.xlb_node_addrs;
	case XLB_DPM_IFACES:		return s->maps.xlb_ifaces;
	case XLB_DPM_SVC_STATS:		return s->maps.xlb_svc_stats;
	case XLB_DPM_REASONS:		return s->maps.xlb_reasons;
	case XLB_DPM_SVC_META:		return s->maps.xlb_svc_meta;
	case XLB_DPM_AFFINITY:		return s->maps.xlb_affinity;
	case XLB_DPM_SRC_RANGES:	return s->maps.xlb_src_ranges;
	case XLB_DPM_FRAGS:		return s->maps.xlb_frags;
	case XLB_DPM_TX_DEVS:		return s->maps.xlb_tx_devs;
	case XLB_DPM_PEER_DEVS:		return s->maps.xlb_peer_devs;
	case XLB_DPM_SOCK_REV:		return s->maps.xlb_sock_rev;
	case XLB_DPM_L2:		return s->maps.xlb_l2;
	case XLB_DPM_VIP_META:		return s->maps.xlb_vip_meta;
	case XLB_DPM_MONITOR:		return s->maps.xlb_monitor;
	case XLB_DPM_EVENTS:		return s->maps.xlb_events;
	default:			return NULL;
	}
}

/*
 * Pin names carry the layout: "<map>_v<hash>", the hash over the map's
 * type, flags, and the BTF of its key and value (and an inner map's
 * sizes). A struct change in abi.h renames the pin by itself, so a program
 * only ever meets maps of its own layout; nobody has to remember to bump a
 * version.
 */
static char pin_names[XLB_DPM_MAX][48];

static __u32 map_layout(struct xlb_bpf *s, enum xlb_dp_map m)
{
	const struct btf *btf = bpf_object__btf(s->obj);
	struct bpf_map *map = skel_map(s, m), *inner = bpf_map__inner_map(map);
	__u32 h = XLB_LAYOUT_SEED, t[4];

	t[0] = bpf_map__type(map);
	t[1] = bpf_map__map_flags(map);
	t[2] = inner ? bpf_map__key_size(inner) : 0;
	t[3] = inner ? bpf_map__value_size(inner) : 0;
	h = xlb_layout_hash(NULL, 0, t[0] << 16 ^ t[1], h);
	h = xlb_layout_hash(NULL, 0, t[2] << 16 ^ t[3], h);
	h = xlb_layout_hash(btf, bpf_map__btf_key_type_id(map), bpf_map__key_size(map), h);
	return xlb_layout_hash(btf, bpf_map__btf_value_type_id(map),
			       bpf_map__value_size(map), h);
}

static int pin_names_init(struct xlb_bpf *s)
{
	struct xlb_bpf *own = NULL;

	if (pin_names[0][0])
		return 0;
	if (!s) {
		own = s = xlb_bpf__open();
		if (!s)
			return -errno;
	}
	for (int m = 0; m < XLB_DPM_MAX; m++)
		snprintf(pin_names[m], sizeof(pin_names[m]), "%s_v%08x",
			 xlb_dp_map_names[m], map_layout(s, m));
	xlb_bpf__destroy(own);
	return 0;
}

const char *xlb_dp_pin_name(enum xlb_dp_map m)
{
	if (m >= XLB_DPM_MAX || pin_names_init(NULL))
		return m < XLB_DPM_MAX ? xlb_dp_map_names[m] : "?";
	return pin_names[m];
}

/* Is @name a pin of map @m in some layout: "<map>" (before pins were
 * versioned) or "<map>_v<8 hex>"? */
static bool is_pin_of(const char *name, enum xlb_dp_map m)
{
	size_t n = strlen(xlb_dp_map_names[m]);

	if (strncmp(name, xlb_dp_map_names[m], n))
		return false;
	if (!name[n])
		return true;
	if (strncmp(name + n, "_v", 2) || strlen(name + n + 2) != 8)
		return false;
	return strspn(name + n + 2, "0123456789abcdef") == 8;
}

int xlb_dp_pinned_other(const char *pin_dir, enum xlb_dp_map m, char *buf, size_t n)
{
	DIR *d = opendir(pin_dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (is_pin_of(e->d_name, m) && strcmp(e->d_name, xlb_dp_pin_name(m))) {
			snprintf(buf, n, "%s", e->d_name);
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
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

static int pin_path(char *buf, size_t sz, const char *dir, const char *name)
{
	int n = snprintf(buf, sz, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

static int pin_prog(struct bpf_program *prog, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = pin_path(path, sizeof(path), dir, name);

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
	       m == XLB_DPM_FRAGS;
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
	struct bpf_map *map = skel_map(dp->skel, m);
	const struct btf *nb = bpf_object__btf(dp->skel->obj);
	struct old_map *om = &dp->old[m][dp->n_old[m]];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err = 0;

	if (dp->n_old[m] >= MAX_OLD)
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
				    bpf_map__btf_value_type_id(map),
				    bpf_map__value_size(map), &om->val);
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
	dp->n_old[m]++;
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
			if (!is_pin_of(e->d_name, m) || !strcmp(e->d_name, pin_names[m]))
				continue;
			err = pin_path(path, sizeof(path), pin_dir, e->d_name);
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
			       path, pin_names[m], strerror(-err));
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
			break;	/* ENOENT: done */
		prev = ok;
		if (bpf_map_lookup_elem(om->fd, ok, ov))
			continue;	/* gone meanwhile (LRU, expiry) */
		memset(nk, 0, nks);
		memset(nv, 0, (size_t)ncpu * nstride);
		xlb_copy_apply(&om->key, ok, nk);
		for (int c = 0; c < ncpu; c++)
			xlb_copy_apply(&om->val, (char *)ov + c * ostride, (char *)nv + c * nstride);
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
		struct bpf_map *map = skel_map(dp->skel, m);
		__u64 flags = second || dp->had_pin[m] ? BPF_NOEXIST : BPF_ANY;

		if (second && !holds_flows(m))
			continue;
		/* Arrays have every key: only a fresh one takes the old values. */
		if (is_array(bpf_map__type(map)) && flags == BPF_NOEXIST)
			continue;
		for (int i = 0; i < dp->n_old[m]; i++) {
			struct old_map *om = &dp->old[m][i];
			__u64 before = om->copied;
			int err = old_copy(om, dp->fds[m], map, flags);

			if (err)
				pr_warn("migrate %s into %s: %s (after %llu entries)\n",
					om->path, pin_names[m], strerror(-err),
					(unsigned long long)om->copied);
			else if (om->copied > before || !second)
				pr_info("%s: %llu entries carried into %s%s\n", om->path,
					(unsigned long long)(om->copied - before), pin_names[m],
					second ? " (written by the old programs until the swap)" : "");
		}
	}
}

int xlb_dp_migrate_finish(struct xlb_dp *dp)
{
	if (!dp->skel)
		return 0;
	migrate(dp, true);
	for (int m = 0; m < XLB_DPM_MAX; m++) {
		for (int i = 0; i < dp->n_old[m]; i++) {
			struct old_map *om = &dp->old[m][i];

			if (unlink(om->path) && errno != ENOENT)
				pr_warn("remove %s: %s\n", om->path, strerror(errno));
			else
				pr_info("removed %s: our programs run on %s\n", om->path,
					pin_names[m]);
			old_close(om);
		}
		dp->n_old[m] = 0;
	}
	return 0;
}

struct xlb_dp *xlb_dp_load(const struct xlb_dp_opts *o)
{
	struct xlb_dp *dp;
	char path[PATH_MAX];
	int err;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	dp->skel = xlb_bpf__open();
	if (!dp->skel) {
		err = -errno;
		pr_err("open BPF object: %s\n", strerror(-err));
		goto err_free;
	}
	dp->skel->rodata->xlb_cfg = o->cfg;

	if (o->max_ct)
		bpf_map__set_max_entries(dp->skel->maps.xlb_ct, o->max_ct);
	if (o->max_services)
		bpf_map__set_max_entries(dp->skel->maps.xlb_svc, o->max_services);
	if (o->max_backends)
		bpf_map__set_max_entries(dp->skel->maps.xlb_backends, o->max_backends);
	if (o->max_tables) {
		bpf_map__set_max_entries(dp->skel->maps.xlb_maglev, o->max_tables);
		bpf_map__set_max_entries(dp->skel->maps.xlb_svc_stats, o->max_tables);
		bpf_map__set_max_entries(dp->skel->maps.xlb_svc_meta, o->max_tables);
	}

	if (o->pin_dir) {
		err = xlb_dp_ensure_bpffs(o->pin_dir);
		if (err)
			goto err_destroy;
		err = mkdir_p(o->pin_dir);
		if (err) {
			pr_err("create pin dir %s: %s\n", o->pin_dir, strerror(-err));
			goto err_destroy;
		}
		err = pin_names_init(dp->skel);
		if (err)
			goto err_destroy;
		/* libbpf adopts a compatible pinned map or pins a new one. */
		for (int m = 0; m < XLB_DPM_MAX; m++) {
			err = pin_path(path, sizeof(path), o->pin_dir, pin_names[m]);
			if (!err)
				reconcile_pin(skel_map(dp->skel, m), path,
					      m == XLB_DPM_CT || m == XLB_DPM_AFFINITY);
			dp->had_pin[m] = !err && !access(path, F_OK);
		}
		err = find_old(dp, o->pin_dir);
		if (err)
			goto err_destroy;
		for (int m = 0; m < XLB_DPM_MAX; m++) {
			err = pin_path(path, sizeof(path), o->pin_dir, pin_names[m]);
			if (!err)
				err = bpf_map__set_pin_path(skel_map(dp->skel, m), path);
			if (err)
				goto err_destroy;
		}
	}

	err = xlb_bpf__load(dp->skel);
	if (err) {
		pr_err("load BPF programs: %s%s\n", strerror(-err),
		       o->pin_dir ? " (a pinned map of another layout? try --uninstall)" : "");
		goto err_destroy;
	}
	for (int m = 0; m < XLB_DPM_MAX; m++)
		dp->fds[m] = bpf_map__fd(skel_map(dp->skel, m));
	/* Before sync adopts the maps (service and backend ids) and before
	 * our programs run: they start on the old state. */
	migrate(dp, false);

	if (o->pin_dir) {
		err = pin_prog(dp->skel->progs.xlb_xdp, o->pin_dir, PIN_XDP);
		if (!err)
			err = pin_prog(dp->skel->progs.xlb_tc_egress, o->pin_dir, PIN_TC);
		if (!err)
			err = pin_prog(dp->skel->progs.xlb_tc_ingress, o->pin_dir, PIN_TCI);
		if (!err)
			err = pin_prog(dp->skel->progs.xlb_tc, o->pin_dir, PIN_TCF);
		if (err)
			goto err_destroy;
	}
	return dp;

err_destroy:
	for (int m = 0; m < XLB_DPM_MAX; m++)
		for (int i = 0; i < dp->n_old[m]; i++)
			old_close(&dp->old[m][i]);
	xlb_bpf__destroy(dp->skel);
err_free:
	free(dp);
	errno = -err;
	return NULL;
}

struct xlb_dp *xlb_dp_open_pinned(const char *pin_dir)
{
	char path[PATH_MAX];
	struct xlb_dp *dp;
	int err = 0;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return NULL;
	dp->own_fds = true;
	for (int m = 0; m < XLB_DPM_MAX; m++)
		dp->fds[m] = -1;
	for (int m = 0; m < XLB_DPM_MAX; m++) {
		err = pin_path(path, sizeof(path), pin_dir, xlb_dp_pin_name(m));
		if (err)
			break;
		dp->fds[m] = bpf_obj_get(path);
		if (dp->fds[m] < 0) {
			err = -errno;
			break;
		}
	}
	if (err) {
		xlb_dp_close(dp);
		errno = -err;
		return NULL;
	}
	return dp;
}

void xlb_dp_close(struct xlb_dp *dp)
{
	if (!dp)
		return;
	if (dp->own_fds) {
		for (int m = 0; m < XLB_DPM_MAX; m++)
			if (dp->fds[m] >= 0)
				close(dp->fds[m]);
	}
	for (int m = 0; m < XLB_DPM_MAX; m++)
		for (int i = 0; i < dp->n_old[m]; i++)
			old_close(&dp->old[m][i]);
	xlb_bpf__destroy(dp->skel);
	free(dp);
}

int xlb_dp_unpin(const char *pin_dir)
{
	static const char *const progs[] = { PIN_XDP, PIN_TC, PIN_TCI, PIN_TCF };
	char path[PATH_MAX];
	int err = 0;

	DIR *d = opendir(pin_dir);
	struct dirent *e;

	/* Every layout's pins: ours, older and newer builds'. */
	while (d && (e = readdir(d))) {
		for (int m = 0; m < XLB_DPM_MAX; m++) {
			if (is_pin_of(e->d_name, m) &&
			    !pin_path(path, sizeof(path), pin_dir, e->d_name) &&
			    unlink(path) && errno != ENOENT)
				err = -errno;
		}
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!pin_path(path, sizeof(path), pin_dir, progs[i]) &&
		    unlink(path) && errno != ENOENT)
			err = -errno;
	}
	rmdir(pin_dir);
	return err;
}

int xlb_dp_map_fd(const struct xlb_dp *dp, enum xlb_dp_map m)
{
	return m < XLB_DPM_MAX ? dp->fds[m] : -EINVAL;
}

int xlb_dp_xdp_fd(const struct xlb_dp *dp)
{
	return dp->skel ? bpf_program__fd(dp->skel->progs.xlb_xdp) : -ENOENT;
}

int xlb_dp_sock_fd(const struct xlb_dp *dp, enum xlb_dp_sock which)
{
	struct bpf_program *p;

	if (!dp->skel)
		return -ENOENT;
	switch (which) {
	case XLB_SOCK_CONNECT4:		p = dp->skel->progs.xlb_sock_connect4; break;
	case XLB_SOCK_SENDMSG4:		p = dp->skel->progs.xlb_sock_sendmsg4; break;
	case XLB_SOCK_RECVMSG4:		p = dp->skel->progs.xlb_sock_recvmsg4; break;
	case XLB_SOCK_GETPEERNAME4:	p = dp->skel->progs.xlb_sock_getpeername4; break;
	default:			return -EINVAL;
	}
	return bpf_program__fd(p);
}

int xlb_dp_tc_full_fd(const struct xlb_dp *dp)
{
	return dp->skel ? bpf_program__fd(dp->skel->progs.xlb_tc) : -ENOENT;
}

int xlb_dp_tc_fd(const struct xlb_dp *dp)
{
	return dp->skel ? bpf_program__fd(dp->skel->progs.xlb_tc_egress) : -ENOENT;
}

int xlb_dp_tc_ingress_fd(const struct xlb_dp *dp)
{
	return dp->skel ? bpf_program__fd(dp->skel->progs.xlb_tc_ingress) : -ENOENT;
}

struct xlb_bpf *xlb_dp_skel(const struct xlb_dp *dp)
{
	return dp->skel;
}

int xlb_dp_ncpus(void)
{
	return libbpf_num_possible_cpus();
}

static int upd(struct xlb_dp *dp, enum xlb_dp_map m, const void *k, const void *v)
{
	return bpf_map_update_elem(dp->fds[m], k, v, BPF_ANY) ? -errno : 0;
}

static int del(struct xlb_dp *dp, enum xlb_dp_map m, const void *k)
{
	return bpf_map_delete_elem(dp->fds[m], k) && errno != ENOENT ? -errno : 0;
}

int xlb_dp_backend_set(struct xlb_dp *dp, __u32 id, const struct xlb_backend *b)
{
	return upd(dp, XLB_DPM_BACKENDS, &id, b);
}

int xlb_dp_backend_del(struct xlb_dp *dp, __u32 id)
{
	return del(dp, XLB_DPM_BACKENDS, &id);
}

int xlb_dp_table_set(struct xlb_dp *dp, __u32 table_id, const __u32 *ids, __u32 m)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	__u32 *keys;
	int fd, err = 0;

	if (!m)
		return -EINVAL;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_maglev_tbl", sizeof(__u32),
			    sizeof(__u32), m, &opts);
	if (fd < 0)
		return -errno;
	keys = malloc(sizeof(*keys) * m);
	if (!keys) {
		err = -ENOMEM;
		goto out;
	}
	for (__u32 i = 0; i < m; i++)
		keys[i] = i;
	/* One syscall for the whole table. */
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 count = m;
	if (bpf_map_update_batch(fd, keys, ids, &count, &bopts)) {
		err = -errno;
		goto out;
	}
	err = upd(dp, XLB_DPM_MAGLEV, &table_id, &fd);
out:
	free(keys);
	close(fd);	/* the outer map holds the table now */
	return err;
}

int xlb_dp_table_del(struct xlb_dp *dp, __u32 table_id)
{
	return del(dp, XLB_DPM_MAGLEV, &table_id);
}

int xlb_dp_table_get(const struct xlb_dp *dp, __u32 table_id, __u32 *ids, __u32 *m,
		     __u32 cap)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info), inner_id;
	int fd, err = 0;

	if (bpf_map_lookup_elem(dp->fds[XLB_DPM_MAGLEV], &table_id, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
		err = -errno;
		goto out;
	}
	/* The slot may have been reused for a bigger table since the caller
	 * asked for the size: never report more entries than it can hold. */
	if (ids && cap && info.max_entries > cap) {
		err = -EAGAIN;
		goto out;
	}
	*m = info.max_entries;
	for (__u32 i = 0; i < info.max_entries && i < cap; i++) {
		if (bpf_map_lookup_elem(fd, &i, &ids[i])) {
			err = -errno;
			break;
		}
	}
out:
	close(fd);
	return err;
}

int xlb_dp_svc_set(struct xlb_dp *dp, const struct xlb_svc_key *k, const struct xlb_svc *v)
{
	return upd(dp, XLB_DPM_SVC, k, v);
}

int xlb_dp_svc_del(struct xlb_dp *dp, const struct xlb_svc_key *k)
{
	return del(dp, XLB_DPM_SVC, k);
}

int xlb_dp_svc_meta_set(struct xlb_dp *dp, __u32 svc_id, const struct xlb_svc_meta *m)
{
	return upd(dp, XLB_DPM_SVC_META, &svc_id, m);
}

int xlb_dp_svc_meta_del(struct xlb_dp *dp, __u32 svc_id)
{
	return del(dp, XLB_DPM_SVC_META, &svc_id);
}

static struct xlb_src_key src_key(__u32 svc_id, __u8 family,
				  const union xlb_addr *addr, __u8 plen)
{
	struct xlb_src_key k = { .prefixlen = 32 + plen,
				 .id = xlb_src_id(svc_id, family) };

	memcpy(k.addr, addr, sizeof(k.addr));
	return k;
}

int xlb_dp_src_range_set(struct xlb_dp *dp, __u32 svc_id, __u8 family,
			 const union xlb_addr *addr, __u8 plen)
{
	struct xlb_src_key k = src_key(svc_id, family, addr, plen);
	__u32 v = 0;

	return upd(dp, XLB_DPM_SRC_RANGES, &k, &v);
}

int xlb_dp_src_range_del(struct xlb_dp *dp, __u32 svc_id, __u8 family,
			 const union xlb_addr *addr, __u8 plen)
{
	struct xlb_src_key k = src_key(svc_id, family, addr, plen);

	return del(dp, XLB_DPM_SRC_RANGES, &k);
}

int xlb_dp_node_addr_set(struct xlb_dp *dp, const struct xlb_addr_key *k, __u32 flags)
{
	struct xlb_node_addr v = { .flags = flags };

	return upd(dp, XLB_DPM_NODE_ADDRS, k, &v);
}

int xlb_dp_node_addr_del(struct xlb_dp *dp, const struct xlb_addr_key *k)
{
	return del(dp, XLB_DPM_NODE_ADDRS, k);
}

int xlb_dp_iface_set(struct xlb_dp *dp, __u32 ifindex, const struct xlb_iface *v)
{
	return upd(dp, XLB_DPM_IFACES, &ifindex, v);
}

int xlb_dp_iface_del(struct xlb_dp *dp, __u32 ifindex)
{
	return del(dp, XLB_DPM_IFACES, &ifindex);
}

int xlb_dp_tx_dev_set(struct xlb_dp *dp, __u32 ifindex)
{
	return upd(dp, XLB_DPM_TX_DEVS, &ifindex, &ifindex);
}

int xlb_dp_tx_dev_del(struct xlb_dp *dp, __u32 ifindex)
{
	return del(dp, XLB_DPM_TX_DEVS, &ifindex);
}

int xlb_dp_peer_dev_set(struct xlb_dp *dp, __u32 ifindex)
{
	struct xlb_peer_dev v = { 0 };

	return upd(dp, XLB_DPM_PEER_DEVS, &ifindex, &v);
}

int xlb_dp_peer_dev_del(struct xlb_dp *dp, __u32 ifindex)
{
	return del(dp, XLB_DPM_PEER_DEVS, &ifindex);
}

int xlb_dp_l2_set(struct xlb_dp *dp, const struct xlb_l2_key *k, const struct xlb_l2 *v)
{
	return upd(dp, XLB_DPM_L2, k, v);
}

int xlb_dp_l2_del(struct xlb_dp *dp, const struct xlb_l2_key *k)
{
	return del(dp, XLB_DPM_L2, k);
}

int xlb_dp_vip_meta_set(struct xlb_dp *dp, const struct xlb_addr_key *k,
			const struct xlb_vip_meta *v)
{
	return upd(dp, XLB_DPM_VIP_META, k, v);
}

int xlb_dp_vip_meta_del(struct xlb_dp *dp, const struct xlb_addr_key *k)
{
	return del(dp, XLB_DPM_VIP_META, k);
}

int xlb_dp_monitor_set(struct xlb_dp *dp, const struct xlb_monitor_cfg *c)
{
	__u32 zero = 0;

	return upd(dp, XLB_DPM_MONITOR, &zero, c);
}

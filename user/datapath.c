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
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "xlb.skel.h"
#include "datapath.h"
#include "log.h"

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
};

struct xlb_dp {
	struct xlb_bpf *skel;		/* NULL when opened from pins */
	int fds[XLB_DPM_MAX];
	bool own_fds;			/* fds opened by us (pinned mode) */
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
	default:			return NULL;
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
		/* libbpf adopts a compatible pinned map or pins a new one. */
		for (int m = 0; m < XLB_DPM_MAX; m++) {
			err = pin_path(path, sizeof(path), o->pin_dir, xlb_dp_map_names[m]);
			if (!err)
				reconcile_pin(skel_map(dp->skel, m), path,
					      m == XLB_DPM_CT || m == XLB_DPM_AFFINITY);
		}
		for (int m = 0; m < XLB_DPM_MAX; m++) {
			err = pin_path(path, sizeof(path), o->pin_dir, xlb_dp_map_names[m]);
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
		err = pin_path(path, sizeof(path), pin_dir, xlb_dp_map_names[m]);
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
	xlb_bpf__destroy(dp->skel);
	free(dp);
}

int xlb_dp_unpin(const char *pin_dir)
{
	static const char *const progs[] = { PIN_XDP, PIN_TC, PIN_TCI, PIN_TCF };
	char path[PATH_MAX];
	int err = 0;

	for (int m = 0; m < XLB_DPM_MAX; m++) {
		if (!pin_path(path, sizeof(path), pin_dir, xlb_dp_map_names[m]) &&
		    unlink(path) && errno != ENOENT)
			err = -errno;
	}
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

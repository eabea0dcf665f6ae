// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The map writes. See write.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/maps_rw.h"
#include "sync/write.h"

/* A read-only handle (xlb_dp_open_pinned) has no writable fd: -EBADF. */
static int upd(struct xlb_dp *dp, enum xlb_dp_map m, const void *k, const void *v)
{
	return bpf_map_update_elem(dp->rw[m], k, v, BPF_ANY) ? -errno : 0;
}

static int del(struct xlb_dp *dp, enum xlb_dp_map m, const void *k)
{
	return bpf_map_delete_elem(dp->rw[m], k) && errno != ENOENT ? -errno : 0;
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
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_maglev_tbl", sizeof(__u32), sizeof(__u32), m,
			    &opts);
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
	close(fd); /* the outer map holds the table now */
	return err;
}

int xlb_dp_table_del(struct xlb_dp *dp, __u32 table_id)
{
	return del(dp, XLB_DPM_MAGLEV, &table_id);
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

int xlb_dp_svc_stats_reset(struct xlb_dp *dp, __u32 svc_id)
{
	struct xlb_counter *z = calloc(xlb_dp_ncpus(), sizeof(*z));
	int err;

	if (!z)
		return -ENOMEM;
	err = upd(dp, XLB_DPM_SVC_STATS, &svc_id, z);
	free(z);
	return err;
}

static struct xlb_src_key src_key(__u32 svc_id, __u8 family, const union xlb_addr *addr, __u8 plen)
{
	struct xlb_src_key k = { .prefixlen = 32 + plen, .id = xlb_src_id(svc_id, family) };

	memcpy(k.addr, addr, sizeof(k.addr));
	return k;
}

int xlb_dp_src_range_set(struct xlb_dp *dp, __u32 svc_id, __u8 family, const union xlb_addr *addr,
			 __u8 plen)
{
	struct xlb_src_key k = src_key(svc_id, family, addr, plen);
	__u32 v = 0;

	return upd(dp, XLB_DPM_SRC_RANGES, &k, &v);
}

int xlb_dp_src_range_del(struct xlb_dp *dp, __u32 svc_id, __u8 family, const union xlb_addr *addr,
			 __u8 plen)
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
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, err;

	if (dp->rw[XLB_DPM_MONITOR] >= 0)
		return upd(dp, XLB_DPM_MONITOR, &zero, c);
	/* xlbctl's read-only handle: the switch is the one map it writes. */
	err = xlb_dp_pin_path(path, sizeof(path), dp->pin_dir, xlb_dp_pin_name(XLB_DPM_MONITOR));
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_map_update_elem(fd, &zero, c, BPF_ANY) ? -errno : 0;
	close(fd);
	return err;
}

int xlb_dp_map_fd_rw(struct xlb_dp *dp, enum xlb_dp_map m)
{
	if (m >= XLB_DPM_MAX)
		return -EINVAL;
	return dp->rw[m] >= 0 ? dp->rw[m] : -EPERM;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Read-only access to the pinned maps. See maps.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/maps_rw.h"
#include "xlb_pins.h"

const char *const xlb_dp_map_names[XLB_DPM_MAX] = {
	[XLB_DPM_SVC] = XLB_MAP_SVC,
	[XLB_DPM_BACKENDS] = XLB_MAP_BACKENDS,
	[XLB_DPM_MAGLEV] = XLB_MAP_MAGLEV,
	[XLB_DPM_CT] = XLB_MAP_CT,
	[XLB_DPM_NODE_ADDRS] = XLB_MAP_NODE_ADDRS,
	[XLB_DPM_IFACES] = XLB_MAP_IFACES,
	[XLB_DPM_SVC_STATS] = XLB_MAP_SVC_STATS,
	[XLB_DPM_REASONS] = XLB_MAP_REASONS,
	[XLB_DPM_SVC_META] = XLB_MAP_SVC_META,
	[XLB_DPM_AFFINITY] = XLB_MAP_AFFINITY,
	[XLB_DPM_SRC_RANGES] = XLB_MAP_SRC_RANGES,
	[XLB_DPM_FRAGS] = XLB_MAP_FRAGS,
	[XLB_DPM_TX_DEVS] = XLB_MAP_TX_DEVS,
	[XLB_DPM_PEER_DEVS] = XLB_MAP_PEER_DEVS,
	[XLB_DPM_SOCK_REV] = XLB_MAP_SOCK_REV,
	[XLB_DPM_L2] = XLB_MAP_L2,
	[XLB_DPM_VIP_META] = XLB_MAP_VIP_META,
	[XLB_DPM_MONITOR] = XLB_MAP_MONITOR,
	[XLB_DPM_EVENTS] = XLB_MAP_EVENTS,
	[XLB_DPM_FRAGS6] = XLB_MAP_FRAGS6,
	[XLB_DPM_SOCK_REV6] = XLB_MAP_SOCK_REV6,
};

const char *xlb_dp_pin_name(enum xlb_dp_map m)
{
	if (m >= XLB_DPM_MAX)
		return "?";
	/* xlb_pins[] (generated) lists every map of the object by name. */
	for (size_t i = 0; i < sizeof(xlb_pins) / sizeof(xlb_pins[0]); i++)
		if (!strcmp(xlb_pins[i].map, xlb_dp_map_names[m]))
			return xlb_pins[i].pin;
	return xlb_dp_map_names[m];
}

bool xlb_dp_is_pin_of(const char *name, enum xlb_dp_map m)
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
		if (xlb_dp_is_pin_of(e->d_name, m) && strcmp(e->d_name, xlb_dp_pin_name(m))) {
			snprintf(buf, n, "%s", e->d_name);
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

int xlb_dp_pin_path(char *buf, size_t sz, const char *dir, const char *name)
{
	int n = snprintf(buf, sz, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= sz ? -ENAMETOOLONG : 0;
}

/*
 * The ring buffer is the one map opened for writing: its consumer maps
 * the consumer position writable, and the kernel has no update or delete
 * for a ring buffer, so the fd writes nothing but where the reader is.
 */
static __u32 ro_flags(enum xlb_dp_map m)
{
	return m == XLB_DPM_EVENTS ? 0 : BPF_F_RDONLY;
}

struct xlb_dp *xlb_dp_alloc(const char *pin_dir)
{
	struct xlb_dp *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return NULL;
	for (int m = 0; m < XLB_DPM_MAX; m++)
		dp->ro[m] = dp->rw[m] = -1;
	if (pin_dir)
		snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", pin_dir);
	return dp;
}

/* The read-only fd of map @m: its pin, when there is one (plain file
 * access), else by id (BPF_MAP_GET_FD_BY_ID needs CAP_SYS_ADMIN). */
static int ro_open(const struct xlb_dp *dp, enum xlb_dp_map m)
{
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, o, .open_flags = ro_flags(m));
	LIBBPF_OPTS(bpf_obj_get_opts, po, .file_flags = ro_flags(m));
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	if (dp->pin_dir[0]) {
		err = xlb_dp_pin_path(path, sizeof(path), dp->pin_dir, xlb_dp_pin_name(m));
		if (err)
			return err;
		fd = bpf_obj_get_opts(path, &po);
	} else if (bpf_obj_get_info_by_fd(dp->rw[m], &info, &len)) {
		return -errno;
	} else {
		fd = bpf_map_get_fd_by_id_opts(info.id, &o);
	}
	return fd < 0 ? -errno : fd;
}

int xlb_dp_ro_open(struct xlb_dp *dp)
{
	for (int m = 0; m < XLB_DPM_MAX; m++) {
		dp->ro[m] = ro_open(dp, m);
		if (dp->ro[m] < 0)
			return dp->ro[m];
	}
	return 0;
}

struct xlb_dp *xlb_dp_open_pinned(const char *pin_dir)
{
	struct xlb_dp *dp = xlb_dp_alloc(pin_dir);
	int err;

	if (!dp)
		return NULL;
	err = xlb_dp_ro_open(dp);
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
	for (int m = 0; m < XLB_DPM_MAX; m++)
		if (dp->ro[m] >= 0)
			close(dp->ro[m]);
	/* The writable fds belong to the loader's skeleton. */
	if (dp->unload)
		dp->unload(dp->ld);
	free(dp);
}

int xlb_dp_map_fd(const struct xlb_dp *dp, enum xlb_dp_map m)
{
	return m < XLB_DPM_MAX ? dp->ro[m] : -EINVAL;
}

int xlb_dp_table_get(const struct xlb_dp *dp, __u32 table_id, __u32 *ids, __u32 *m, __u32 cap)
{
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, o, .open_flags = BPF_F_RDONLY);
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info), inner_id;
	int fd, err = 0;

	if (bpf_map_lookup_elem(dp->ro[XLB_DPM_MAGLEV], &table_id, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id_opts(inner_id, &o);
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

int xlb_dp_ncpus(void)
{
	return libbpf_num_possible_cpus();
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "attach.h"
#include "lib/log.h"

/* Our tc filter's identity on the clsact egress hook. */
#define XLB_TC_HANDLE	0x786c
#define XLB_TC_PRIORITY 0x786c
#define XLB_XDP_NAME	"xlb_xdp"

int xlb_parse_attach(const char *s, enum xlb_attach *a)
{
	if (!strcmp(s, "auto"))
		*a = XLB_ATTACH_AUTO;
	else if (!strcmp(s, "xdp"))
		*a = XLB_ATTACH_XDP;
	else if (!strcmp(s, "tc"))
		*a = XLB_ATTACH_TC;
	else
		return -EINVAL;
	return 0;
}

int xlb_if_driver(const char *ifname, char *drv, size_t n)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	if (!err)
		snprintf(drv, n, "%s", info.driver);
	return err;
}

/*
 * Drivers with native XDP *and* a metadata area (bpf_xdp_adjust_meta),
 * which the XDP path needs to hand a packet on to tc. ena and hv_netvsc
 * have native XDP without metadata, so they get tc. veth has both, but
 * XDP there costs an skb-to-xdp copy per frame and XDP_TX into a veth is
 * lost unless its peer runs XDP: veth gets tc too, like every other
 * virtual device (bridge, bond, vlan, vxlan, macvlan, ...).
 */
static const char *const xdp_drivers[] = {
	"mlx5_core", "mlx4_en", "i40e", "ice", "ixgbe", "igc", "bnxt_en", "nfp", "virtio_net",
};

enum xlb_attach xlb_attach_choose(const char *ifname, enum xlb_attach want, char *why, size_t n)
{
	char drv[64];
	int err;

	if (want == XLB_ATTACH_XDP) {
		snprintf(why, n, "--attach xdp");
		return XLB_ATTACH_XDP;
	}
	if (want == XLB_ATTACH_TC) {
		snprintf(why, n, "--attach tc");
		return XLB_ATTACH_TC;
	}
	err = xlb_if_driver(ifname, drv, sizeof(drv));
	if (err) {
		snprintf(why, n, "driver unknown (%s): the skb path works on any device",
			 strerror(-err));
		return XLB_ATTACH_TC;
	}
	for (size_t i = 0; i < sizeof(xdp_drivers) / sizeof(xdp_drivers[0]); i++) {
		if (!strcmp(drv, xdp_drivers[i])) {
			snprintf(why, n, "driver %s has native XDP with metadata", drv);
			return XLB_ATTACH_XDP;
		}
	}
	if (!strcmp(drv, "veth"))
		snprintf(
			why, n,
			"driver veth: XDP_TX into a veth is lost unless its peer runs XDP, and XDP there copies every frame");
	else
		snprintf(why, n, "driver %s: no native XDP with metadata known (never generic XDP)",
			 drv);
	return XLB_ATTACH_TC;
}

static const char *hint(int err)
{
	if (err == -EOPNOTSUPP)
		return "; the driver has no native XDP: use --attach tc (or auto)";
	if (err == -EBUSY || err == -EEXIST)
		return "; another XDP program is attached: detach it, or use --attach tc (xlb shares the tc hook by priority)";
	return "";
}

/*
 * xlb does not join libxdp's dispatcher: libxdp loads a component program
 * itself (as a freplace extension of the dispatcher), from an object not
 * yet loaded, while xlb's XDP program is loaded with its maps and other
 * programs. Say so instead of letting libxdp fail with EOPNOTSUPP, which
 * reads like a driver without XDP.
 */
static int foreign_xdp(const char *ifname, struct xdp_multiprog *mp)
{
	struct xdp_program *p = NULL;
	const char *name = NULL;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && strcmp(xdp_program__name(p), XLB_XDP_NAME))
			name = xdp_program__name(p);
	} else {
		while ((p = xdp_multiprog__next_prog(p, mp)))
			if (strcmp(xdp_program__name(p), XLB_XDP_NAME))
				name = xdp_program__name(p);
	}
	if (!name)
		return 0;
	pr_err("attach XDP to %s: %s already runs there (%s); xlb does not share the XDP hook through libxdp's dispatcher yet: unload it (xdp-loader unload %s --all) or use --attach tc, which shares clsact by priority\n",
	       ifname, name, xdp_multiprog__is_legacy(mp) ? "single program" : "dispatcher",
	       ifname);
	return -EBUSY;
}

int xlb_attach_xdp(int ifindex, const char *ifname, int prog_fd)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *prog;
	int err;

	if (!libxdp_get_error(mp) && mp && xdp_multiprog__is_legacy(mp)) {
		struct xdp_program *old = xdp_multiprog__main_prog(mp);

		if (old && !strcmp(xdp_program__name(old), XLB_XDP_NAME)) {
			/* An earlier xlb: swap in one netlink call. */
			LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = xdp_program__fd(old));
			__u32 fl = XDP_FLAGS_REPLACE | XDP_FLAGS_DRV_MODE;

			err = bpf_xdp_attach(ifindex, prog_fd, fl, &o) ? -errno : 0;
			xdp_multiprog__close(mp);
			if (err)
				pr_err("replace XDP program on %s: %s (%d)%s\n", ifname,
				       strerror(-err), err, hint(err));
			else
				pr_info("replaced the XDP program on %s\n", ifname);
			return err;
		}
	}
	if (!libxdp_get_error(mp) && mp) {
		err = foreign_xdp(ifname, mp);
		xdp_multiprog__close(mp);
		if (err)
			return err;
	}

	prog = xdp_program__from_fd(prog_fd);
	err = libxdp_get_error(prog);
	if (err) {
		pr_err("XDP program from fd: %s\n", strerror(-err));
		return err;
	}
	err = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
	xdp_program__close(prog);
	if (err)
		pr_err("attach XDP to %s: %s (%d)%s\n", ifname, strerror(-err), err, hint(err));
	else
		pr_info("attached XDP to %s\n", ifname);
	return err;
}

static int attach_tc_one(int ifindex, const char *ifname, enum bpf_tc_attach_point ap, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XLB_TC_HANDLE, .priority = XLB_TC_PRIORITY,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	const char *dir = ap == BPF_TC_EGRESS ? "egress" : "ingress";
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_err("create clsact qdisc on %s: %s\n", ifname, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		pr_err("attach tc %s program to %s: %s\n", dir, ifname, strerror(-err));
	return err;
}

int xlb_attach_tc(int ifindex, const char *ifname, int egress_fd, int ingress_fd)
{
	int err = attach_tc_one(ifindex, ifname, BPF_TC_EGRESS, egress_fd);

	return err ? err : attach_tc_one(ifindex, ifname, BPF_TC_INGRESS, ingress_fd);
}

static int detach_tc_one(int ifindex, const char *ifname, enum bpf_tc_attach_point ap)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XLB_TC_HANDLE, .priority = XLB_TC_PRIORITY);
	int err = bpf_tc_detach(&hook, &opts);

	if (err && err != -ENOENT) {
		pr_err("detach tc program from %s: %s\n", ifname, strerror(-err));
		return err;
	}
	return 0;
}

int xlb_detach_xdp(int ifindex, const char *ifname)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	int err = 0, e;

	if (!libxdp_get_error(mp) && mp) {
		struct xdp_program *p = NULL;

		if (xdp_multiprog__is_legacy(mp)) {
			p = xdp_multiprog__main_prog(mp);
			if (p && !strcmp(xdp_program__name(p), XLB_XDP_NAME)) {
				LIBBPF_OPTS(bpf_xdp_attach_opts, o,
					    .old_prog_fd = xdp_program__fd(p));
				if (bpf_xdp_detach(ifindex, XDP_FLAGS_REPLACE, &o))
					err = -errno;
			}
		} else {
			while ((p = xdp_multiprog__next_prog(p, mp))) {
				if (strcmp(xdp_program__name(p), XLB_XDP_NAME))
					continue;
				e = xdp_program__detach(p, ifindex, XDP_MODE_UNSPEC, 0);
				if (e)
					err = e;
				break;
			}
		}
		xdp_multiprog__close(mp);
	}
	if (err)
		pr_err("detach XDP from %s: %s\n", ifname, strerror(-err));
	return err;
}

int xlb_detach(int ifindex, const char *ifname)
{
	int err = xlb_detach_xdp(ifindex, ifname), e;

	e = detach_tc_one(ifindex, ifname, BPF_TC_EGRESS);
	err = err ? err : e;
	e = detach_tc_one(ifindex, ifname, BPF_TC_INGRESS);
	return err ? err : e;
}

static const enum bpf_attach_type sock_types[4] = {
	BPF_CGROUP_INET4_CONNECT,
	BPF_CGROUP_UDP4_SENDMSG,
	BPF_CGROUP_UDP4_RECVMSG,
	BPF_CGROUP_INET4_GETPEERNAME,
};

/* Where cgroup v2 is: @path (default /sys/fs/cgroup) or its "unified"
 * child (hybrid hosts). */
static int cgroup_open(const char *path, char *used, size_t n)
{
	struct statfs st;
	int fd;

	/* A hybrid host's v2 hierarchy sits in "unified" below the root. */
	snprintf(used, n, "%s", path ? path : "/sys/fs/cgroup");
	if (statfs(used, &st) || st.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(used, n, "%s/unified", path ? path : "/sys/fs/cgroup");
		if (statfs(used, &st) || st.f_type != CGROUP2_SUPER_MAGIC)
			return -ENOENT;
	}
	path = used;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The id of an xlb program (by name) attached to @cg for @type, or 0. */
static __u32 cgroup_find_xlb(int cg, enum bpf_attach_type type)
{
	__u32 ids[64], cnt = 64, flags = 0;

	if (bpf_prog_query(cg, type, 0, &flags, ids, &cnt))
		return 0;
	for (__u32 i = 0; i < cnt; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);
		bool ours;

		if (fd < 0)
			continue;
		ours = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		       !strncmp(info.name, "xlb_sock_", 9);
		close(fd);
		if (ours)
			return ids[i];
	}
	return 0;
}

int xlb_attach_cgroup(const char *path, const int fds[4])
{
	char used[PATH_MAX];
	int cg = cgroup_open(path, used, sizeof(used)), err = 0;

	if (cg < 0) {
		pr_warn("open cgroup v2 %s: %s; local access (node and Pods to their own NodePort/VIP) is off: give --cgroup PATH of a cgroup v2 directory\n",
			path ? path : "root", strerror(-cg));
		return cg;
	}
	for (int i = 0; i < 4 && !err; i++) {
		__u32 old = cgroup_find_xlb(cg, sock_types[i]);
		int old_fd = old ? bpf_prog_get_fd_by_id(old) : -1;
		LIBBPF_OPTS(bpf_prog_attach_opts, o,
			    .flags = BPF_F_ALLOW_MULTI | (old_fd >= 0 ? BPF_F_REPLACE : 0),
			    .replace_prog_fd = old_fd >= 0 ? old_fd : 0);

		if (bpf_prog_attach_opts(fds[i], cg, sock_types[i], &o))
			err = -errno;
		if (old_fd >= 0)
			close(old_fd);
	}
	close(cg);
	if (err)
		pr_err("attach socket programs to cgroup %s: %s\n", used, strerror(-err));
	else
		pr_info("local access: socket programs on cgroup %s\n", used);
	return err;
}

int xlb_detach_cgroup(const char *path)
{
	char used[PATH_MAX];
	int cg = cgroup_open(path, used, sizeof(used)), err = 0;

	if (cg < 0)
		return 0; /* nothing attached where nothing is */
	for (int i = 0; i < 4; i++) {
		__u32 id = cgroup_find_xlb(cg, sock_types[i]);
		int fd = id ? bpf_prog_get_fd_by_id(id) : -1;

		if (fd < 0)
			continue;
		if (bpf_prog_detach2(fd, cg, sock_types[i]) && !err)
			err = -errno;
		close(fd);
	}
	close(cg);
	if (err)
		pr_err("detach socket programs from cgroup %s: %s\n", used, strerror(-err));
	return err;
}

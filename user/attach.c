// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "attach.h"
#include "log.h"

/* Our tc filter's identity on the clsact egress hook. */
#define XLB_TC_HANDLE   0x786c
#define XLB_TC_PRIORITY 0x786c
#define XLB_XDP_NAME    "xlb_xdp"

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
	"mlx5_core", "mlx4_en", "i40e", "ice", "ixgbe", "igc", "bnxt_en", "nfp",
	"virtio_net",
};

enum xlb_attach xlb_attach_choose(const char *ifname, enum xlb_attach want,
				  char *why, size_t n)
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
		snprintf(why, n, "driver veth: XDP_TX into a veth is lost unless its peer runs XDP, and XDP there copies every frame");
	else
		snprintf(why, n, "driver %s: no native XDP with metadata known (never generic XDP)", drv);
	return XLB_ATTACH_TC;
}

static const char *hint(int err)
{
	if (err == -EOPNOTSUPP)
		return "; the driver has no native XDP: use --attach tc (or auto)";
	if (err == -EBUSY || err == -EEXIST)
		return "; another XDP program is attached (xlb shares an interface only through libxdp's dispatcher)";
	return "";
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
	if (!libxdp_get_error(mp))
		xdp_multiprog__close(mp);

	prog = xdp_program__from_fd(prog_fd);
	err = libxdp_get_error(prog);
	if (err) {
		pr_err("XDP program from fd: %s\n", strerror(-err));
		return err;
	}
	err = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
	xdp_program__close(prog);
	if (err)
		pr_err("attach XDP to %s: %s (%d)%s\n", ifname, strerror(-err), err,
		       hint(err));
	else
		pr_info("attached XDP to %s\n", ifname);
	return err;
}

static int attach_tc_one(int ifindex, const char *ifname, enum bpf_tc_attach_point ap,
			 int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = ap);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = XLB_TC_HANDLE,
		    .priority = XLB_TC_PRIORITY, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
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

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "attach.h"
#include "log.h"

/* Our tc filter's identity on the clsact egress hook. */
#define XLB_TC_HANDLE   0x786c
#define XLB_TC_PRIORITY 0x786c
#define XLB_XDP_NAME    "xlb_xdp"

int xlb_parse_xdp_mode(const char *s, enum xlb_xdp_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = XLB_XDP_AUTO;
	else if (!strcmp(s, "native"))
		*mode = XLB_XDP_NATIVE;
	else if (!strcmp(s, "generic"))
		*mode = XLB_XDP_GENERIC;
	else
		return -EINVAL;
	return 0;
}

static enum xdp_attach_mode libxdp_mode(enum xlb_xdp_mode m)
{
	return m == XLB_XDP_NATIVE ? XDP_MODE_NATIVE :
	       m == XLB_XDP_GENERIC ? XDP_MODE_SKB : XDP_MODE_UNSPEC;
}

static __u32 xdp_flags(enum xlb_xdp_mode m)
{
	return m == XLB_XDP_NATIVE ? XDP_FLAGS_DRV_MODE :
	       m == XLB_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : 0;
}

static const char *hint(int err, enum xlb_xdp_mode mode)
{
	if (err == -EOPNOTSUPP && mode != XLB_XDP_GENERIC)
		return "; try --xdp-mode generic";
	if (err == -EBUSY || err == -EEXIST)
		return "; another XDP program is attached (xlb shares an interface only through libxdp's dispatcher)";
	return "";
}

int xlb_attach_xdp(int ifindex, const char *ifname, int prog_fd, enum xlb_xdp_mode mode)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *prog;
	int err;

	if (!libxdp_get_error(mp) && mp && xdp_multiprog__is_legacy(mp)) {
		struct xdp_program *old = xdp_multiprog__main_prog(mp);

		if (old && !strcmp(xdp_program__name(old), XLB_XDP_NAME)) {
			/* An earlier xlb: swap in one netlink call. */
			LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = xdp_program__fd(old));
			enum xdp_attach_mode am = xdp_multiprog__attach_mode(mp);
			__u32 fl = XDP_FLAGS_REPLACE |
				   (am == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE :
				    am == XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : xdp_flags(mode));

			err = bpf_xdp_attach(ifindex, prog_fd, fl, &o) ? -errno : 0;
			xdp_multiprog__close(mp);
			if (err)
				pr_err("replace XDP program on %s: %s (%d)%s\n", ifname,
				       strerror(-err), err, hint(err, mode));
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
	err = xdp_program__attach(prog, ifindex, libxdp_mode(mode), 0);
	xdp_program__close(prog);
	if (err)
		pr_err("attach XDP to %s: %s (%d)%s\n", ifname, strerror(-err), err,
		       hint(err, mode));
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

int xlb_detach(int ifindex, const char *ifname)
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
	e = detach_tc_one(ifindex, ifname, BPF_TC_EGRESS);
	err = err ? err : e;
	e = detach_tc_one(ifindex, ifname, BPF_TC_INGRESS);
	return err ? err : e;
}

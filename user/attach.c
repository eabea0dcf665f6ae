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
#include "xlb_entry.skel.h"

/* Our tc filter's identity on the clsact egress hook. */
#define XLB_TC_HANDLE	0x786c
#define XLB_TC_PRIORITY 0x786c
#define XLB_XDP_NAME	"xlb_xdp" /* builds before the entry attached it */
#define XLB_ENTRY_NAME	"xlb_xdp_entry"

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
		return "; another XDP program holds the hook (alone, or in a dispatcher of an older libxdp): load it through this libxdp (xdp-loader), or use --attach tc (xlb shares the tc hook by priority)";
	return "";
}

/*
 * The hook holds xlb's entry (bpf/xlb_entry.bpf.c), never xlb_xdp itself:
 * libxdp loads the entry as a freplace extension of its dispatcher (from
 * an object not yet loaded, which xlb_xdp, loaded with the skeleton, is
 * not), and the entry tail-calls xlb_xdp through a pinned one-slot program
 * array. A prog array owned by an extension takes programs of the type it
 * extends (the kernel resolves an EXT program's type to its target's), so
 * xlb_xdp goes in as the XDP program it is. Restarts and upgrades then
 * swap the slot: one atomic update, no gap, the dispatcher untouched.
 */

/* The slot: the pinned prog array (created and pinned the first time),
 * or -errno. */
static int slot_open(const char *pin_dir)
{
	char path[PATH_MAX];
	int fd;

	if (!pin_dir)
		return bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "xlb_xdp_slot", 4, 4, 1, NULL);
	snprintf(path, sizeof(path), "%s/%s", pin_dir, XLB_PIN_XDP_SLOT);
	fd = bpf_obj_get(path);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "xlb_xdp_slot", 4, 4, 1, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		close(fd);
		pr_err("pin the XDP slot at %s: %s\n", path, strerror(-err));
		return err;
	}
	return fd;
}

/* The one map write outside sync/write.c (scripts/check-writers.sh):
 * putting a program in the slot is attaching it. */
static int slot_set(int slot_fd, int prog_fd)
{
	__u32 k = 0;

	return bpf_map_update_elem(slot_fd, &k, &prog_fd, BPF_ANY) ? -errno : 0;
}

/* The prog array @prog_fd (an entry) tail-calls into, or -errno. */
static int entry_slot_fd(int prog_fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[4] = {};

	info.nr_map_ids = 4;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	for (__u32 i = 0; i < info.nr_map_ids && i < 4; i++) {
		struct bpf_map_info mi = {};
		__u32 ml = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &ml) && mi.type == BPF_MAP_TYPE_PROG_ARRAY)
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* The program named @name on @mp (in the dispatcher or alone), or NULL. */
static struct xdp_program *find_prog(struct xdp_multiprog *mp, const char *name)
{
	struct xdp_program *p = NULL;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		return p && !strcmp(xdp_program__name(p), name) ? p : NULL;
	}
	while ((p = xdp_multiprog__next_prog(p, mp)))
		if (!strcmp(xdp_program__name(p), name))
			return p;
	return NULL;
}

/* Why libxdp attached the entry alone: a phrase for the log. */
static void no_dispatcher_reason(int entry_fd, char *why, size_t n)
{
	const char *skip = getenv("LIBXDP_SKIP_DISPATCHER");
	const char *fs = getenv("LIBXDP_BPFFS");
	struct xlb_entry_bpf *probe;
	struct statfs st;
	int err;

	if (skip && !strcmp(skip, "1")) {
		snprintf(why, n, "LIBXDP_SKIP_DISPATCHER=1");
		return;
	}
	if (!fs)
		fs = "/sys/fs/bpf";
	if (statfs(fs, &st) || st.f_type != BPF_FS_MAGIC) {
		snprintf(
			why, n,
			"no bpffs at %s, where libxdp keeps the dispatcher's state (mount one, or set LIBXDP_BPFFS)",
			fs);
		return;
	}
	/* What libxdp's own check does: can an extension replace a
	 * function of a loaded XDP program? */
	probe = xlb_entry_bpf__open();
	err = probe ? 0 : -errno;
	if (!err) {
		bpf_program__set_type(probe->progs.xlb_xdp_entry, BPF_PROG_TYPE_EXT);
		bpf_program__set_expected_attach_type(probe->progs.xlb_xdp_entry, 0);
		err = bpf_program__set_attach_target(probe->progs.xlb_xdp_entry, entry_fd,
						     "xlb_xdp_entry");
		if (!err)
			err = xlb_entry_bpf__load(probe);
	}
	xlb_entry_bpf__destroy(probe);
	if (err)
		snprintf(why, n, "the kernel refuses freplace (BPF_PROG_TYPE_EXT) programs: %s",
			 strerror(-err));
	else
		snprintf(why, n,
			 "libxdp fell back to loading it alone (its messages above say why)");
}

/* Load the entry around @slot_fd and attach it through libxdp: into the
 * dispatcher at XLB_XDP_PRIO beside the programs there, or alone where
 * the dispatcher cannot be used. */
static int entry_attach(int ifindex, const char *ifname, int slot_fd)
{
	struct xlb_entry_bpf *skel = xlb_entry_bpf__open();
	struct xdp_multiprog *mp;
	struct xdp_program *prog;
	char why[200];
	int err;

	if (!skel) {
		err = -errno;
		pr_err("open xlb's XDP entry program: %s\n", strerror(-err));
		return err;
	}
	/* What libxdp gives an extension, and xlb_xdp has (loader.c): the
	 * slot takes one expected attach type. */
	bpf_program__set_expected_attach_type(skel->progs.xlb_xdp_entry, 0);
	err = bpf_map__reuse_fd(skel->maps.xlb_xdp_slot, slot_fd);
	prog = err ? NULL : xdp_program__from_bpf_obj(skel->obj, "xdp");
	if (!err)
		err = libxdp_get_error(prog);
	if (!err)
		err = xdp_program__set_run_prio(prog, XLB_XDP_PRIO);
	if (!err)
		err = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
	if (err) {
		pr_err("attach XDP to %s: %s (%d)%s\n", ifname, strerror(-err), err, hint(err));
		goto out;
	}
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!libxdp_get_error(mp) && mp && !xdp_multiprog__is_legacy(mp)) {
		pr_info("attached XDP to %s: xlb's entry in libxdp's dispatcher at priority %d (%d program(s) there; lower numbers run first)\n",
			ifname, XLB_XDP_PRIO, xdp_multiprog__program_count(mp));
	} else {
		no_dispatcher_reason(xdp_program__fd(prog), why, sizeof(why));
		pr_warn("attached XDP to %s in single-program mode, not through libxdp's dispatcher: %s; no other XDP program can share %s\n",
			ifname, why, ifname);
	}
	if (!libxdp_get_error(mp))
		xdp_multiprog__close(mp);
out:
	if (!libxdp_get_error(prog))
		xdp_program__close(prog);
	xlb_entry_bpf__destroy(skel);
	return err;
}

/* An earlier build's xlb_xdp alone in the hook: the entry replaces it in
 * one netlink call. libxdp cannot turn a single program into a dispatcher
 * without a gap, so the interface stays in single-program mode. */
static int entry_replace_legacy(int ifindex, const char *ifname, int slot_fd, int old_fd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = old_fd);
	struct xlb_entry_bpf *skel = xlb_entry_bpf__open();
	int err = skel ? 0 : -errno;

	if (!err) {
		bpf_program__set_expected_attach_type(skel->progs.xlb_xdp_entry, 0);
		err = bpf_map__reuse_fd(skel->maps.xlb_xdp_slot, slot_fd);
	}
	if (!err)
		err = xlb_entry_bpf__load(skel);
	if (!err && bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.xlb_xdp_entry),
				   XDP_FLAGS_REPLACE | XDP_FLAGS_DRV_MODE, &o))
		err = -errno;
	if (err)
		pr_err("replace the XDP program on %s: %s (%d)%s\n", ifname, strerror(-err), err,
		       hint(err));
	else
		pr_warn("replaced an earlier build's xlb_xdp on %s with xlb's entry in one step; %s stays in single-program mode (to share it through libxdp's dispatcher: xlb-agent --uninstall, then start, a short gap)\n",
			ifname, ifname);
	xlb_entry_bpf__destroy(skel);
	return err;
}

int xlb_attach_xdp(int ifindex, const char *ifname, int prog_fd, const char *pin_dir)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;
	int slot = slot_open(pin_dir), err;

	if (libxdp_get_error(mp))
		mp = NULL;
	if (slot < 0) {
		pr_err("XDP slot for %s: %s\n", ifname, strerror(-slot));
		err = slot;
		goto out;
	}
	/* Filled before any entry can run, so it never finds it empty. */
	err = slot_set(slot, prog_fd);
	if (err) {
		pr_err("put xlb_xdp in the XDP slot: %s\n", strerror(-err));
		goto out;
	}
	if (mp && (p = find_prog(mp, XLB_ENTRY_NAME))) {
		/* A running entry: swapping its slot was the attach. Its own
		 * array, should the pin have been recreated meanwhile. */
		int own = entry_slot_fd(xdp_program__fd(p));

		if (own >= 0) {
			err = slot_set(own, prog_fd);
			close(own);
		}
		if (err)
			pr_err("swap xlb_xdp into the running entry on %s: %s\n", ifname,
			       strerror(-err));
		else
			pr_info("XDP on %s: swapped xlb_xdp into the running entry's slot (%s; hook untouched)\n",
				ifname,
				xdp_multiprog__is_legacy(mp) ? "single-program mode" :
							       "libxdp's dispatcher");
		goto out;
	}
	if (mp && xdp_multiprog__is_legacy(mp) && (p = find_prog(mp, XLB_XDP_NAME))) {
		err = entry_replace_legacy(ifindex, ifname, slot, xdp_program__fd(p));
		goto out;
	}
	if (mp && xdp_multiprog__is_legacy(mp) && xdp_multiprog__main_prog(mp)) {
		pr_err("attach XDP to %s: %s already runs there alone, outside libxdp's dispatcher; xlb shares the XDP hook only through the dispatcher: load it with xdp-loader (xlb takes priority %d; lower numbers run first), or use --attach tc, which shares clsact by priority\n",
		       ifname, xdp_program__name(xdp_multiprog__main_prog(mp)), XLB_XDP_PRIO);
		err = -EBUSY;
		goto out;
	}
	err = entry_attach(ifindex, ifname, slot);
out:
	if (mp)
		xdp_multiprog__close(mp);
	if (slot >= 0)
		close(slot);
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

/* Remove xlb's program named @name from @mp's interface, if there. */
static int detach_named(int ifindex, struct xdp_multiprog *mp, const char *name)
{
	struct xdp_program *p = find_prog(mp, name);

	if (!p)
		return 0;
	if (xdp_multiprog__is_legacy(mp)) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = xdp_program__fd(p));

		return bpf_xdp_detach(ifindex, XDP_FLAGS_REPLACE, &o) ? -errno : 0;
	}
	/* libxdp rebuilds the dispatcher without it; the others stay. */
	return xdp_program__detach(p, ifindex, XDP_MODE_UNSPEC, 0);
}

int xlb_detach_xdp(int ifindex, const char *ifname)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	int err = 0;

	if (!libxdp_get_error(mp) && mp) {
		err = detach_named(ifindex, mp, XLB_ENTRY_NAME);
		/* An earlier build's program, attached directly. */
		if (!err)
			err = detach_named(ifindex, mp, XLB_XDP_NAME);
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

/* In enum xlb_dp_sock's order. */
static const enum bpf_attach_type sock_types[XLB_SOCK_MAX] = {
	BPF_CGROUP_INET4_CONNECT,     BPF_CGROUP_UDP4_SENDMSG,	    BPF_CGROUP_UDP4_RECVMSG,
	BPF_CGROUP_INET4_GETPEERNAME, BPF_CGROUP_INET6_CONNECT,	    BPF_CGROUP_UDP6_SENDMSG,
	BPF_CGROUP_UDP6_RECVMSG,      BPF_CGROUP_INET6_GETPEERNAME,
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

int xlb_attach_cgroup(const char *path, const int fds[XLB_SOCK_MAX])
{
	char used[PATH_MAX];
	int cg = cgroup_open(path, used, sizeof(used)), err = 0;

	if (cg < 0) {
		pr_warn("open cgroup v2 %s: %s; local access (node and Pods to their own NodePort/VIP) is off: give --cgroup PATH of a cgroup v2 directory\n",
			path ? path : "root", strerror(-cg));
		return cg;
	}
	for (int i = 0; i < XLB_SOCK_MAX && !err; i++) {
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
	for (int i = 0; i < XLB_SOCK_MAX; i++) {
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

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Attaching the programs to interfaces: XDP through libxdp (native mode
 * only: generic XDP runs after GRO on CHECKSUM_PARTIAL super-packets and
 * is never used), tc through a clsact qdisc. Both replace an earlier xlb
 * program in one step (the entry's slot / BPF_TC_F_REPLACE), so an agent
 * restart never leaves an interface without a program.
 *
 * Each uplink gets one hook for the datapath: XDP where the driver has
 * native XDP with a metadata area (what XDP cannot finish is handed to tc
 * through it), the tc (skb) path everywhere else.
 */
#ifndef XLB_ATTACH_H
#define XLB_ATTACH_H

#include <stdbool.h>

#include <stddef.h>

#include "loader.h" /* enum xlb_dp_sock */

enum xlb_attach { XLB_ATTACH_AUTO, XLB_ATTACH_XDP, XLB_ATTACH_TC };

int xlb_parse_attach(const char *s, enum xlb_attach *a);
/* The driver behind @ifname (ethtool's), or -errno. */
int xlb_if_driver(const char *ifname, char *drv, size_t n);
/* The hook for @ifname: XLB_ATTACH_XDP or XLB_ATTACH_TC; @why (a phrase
 * for the log) says why. */
enum xlb_attach xlb_attach_choose(const char *ifname, enum xlb_attach want, char *why, size_t n);
/*
 * XDP through xlb's entry program (bpf/xlb_entry.bpf.c), which tail-calls
 * xlb_xdp through the one-slot program array pinned as XLB_PIN_XDP_SLOT
 * under the pin dir. The entry joins libxdp's dispatcher at run priority
 * XLB_XDP_PRIO (lower numbers run first; the entry's chain-call action is
 * libxdp's default, XDP_PASS: programs after xlb see what it passes), or
 * runs alone where the dispatcher cannot be used (said at start, with the
 * reason). A running entry is kept: attaching again only swaps the slot.
 */
#define XLB_XDP_PRIO	 100
#define XLB_PIN_XDP_SLOT "xdp_slot"
/* Native XDP only. NULL @pin_dir: an unpinned slot. */
int xlb_attach_xdp(int ifindex, const char *ifname, int prog_fd, const char *pin_dir);
/* Remove xlb's XDP program, if any (an interface moving to tc, or
 * --uninstall); other programs in libxdp's dispatcher stay. */
int xlb_detach_xdp(int ifindex, const char *ifname);
/* tc programs: @egress_fd on egress (local replies), @ingress_fd on
 * ingress (beside XDP: sends what XDP handed on; without XDP: the whole
 * datapath). */
int xlb_attach_tc(int ifindex, const char *ifname, int egress_fd, int ingress_fd);
/* Local access: attach the cgroup sock_addr programs @fds (connect,
 * sendmsg, recvmsg, getpeername; IPv4 and IPv6: enum xlb_dp_sock's order)
 * to the cgroup v2 directory @path,
 * beside other programs (BPF_F_ALLOW_MULTI), replacing an earlier xlb's.
 * NULL @path: the host's cgroup v2 root. */
int xlb_attach_cgroup(const char *path, const int fds[XLB_SOCK_MAX]);
int xlb_detach_cgroup(const char *path);
/* Remove xlb's programs (only xlb's) from an interface. */
int xlb_detach(int ifindex, const char *ifname);

#endif /* XLB_ATTACH_H */

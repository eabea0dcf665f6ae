/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Attaching the programs to interfaces: XDP through libxdp, tc egress
 * through a clsact qdisc. Both replace an earlier xlb program in one step
 * (XDP_FLAGS_REPLACE / BPF_TC_F_REPLACE), so an agent restart never leaves
 * an interface without a program.
 */
#ifndef XLB_ATTACH_H
#define XLB_ATTACH_H

#include <stdbool.h>

enum xlb_xdp_mode { XLB_XDP_AUTO, XLB_XDP_NATIVE, XLB_XDP_GENERIC };

int xlb_parse_xdp_mode(const char *s, enum xlb_xdp_mode *mode);
int xlb_attach_xdp(int ifindex, const char *ifname, int prog_fd, enum xlb_xdp_mode mode);
/* tc programs: @egress_fd on egress (local replies), @ingress_fd on
 * ingress (next-hop resolution for what XDP could not send). */
int xlb_attach_tc(int ifindex, const char *ifname, int egress_fd, int ingress_fd);
/* Remove xlb's programs (only xlb's) from an interface. */
int xlb_detach(int ifindex, const char *ifname);

#endif /* XLB_ATTACH_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The loader: loads the BPF object (adopting maps already pinned under the
 * pin dir, so conntrack survives a restart), pins what it creates, carries
 * the entries of maps pinned in another layout into ours, and hands out
 * the programs for attaching. It makes the map handle; reading goes
 * through lib/maps.h, writing through sync/write.h.
 */
#ifndef XLB_LOADER_H
#define XLB_LOADER_H

#include "lib/maps.h"

struct xlb_dp_opts {
	const char *pin_dir; /* NULL: pin nothing (packet tests) */
	struct xlb_cfg cfg;
	__u32 max_ct; /* 0: default for each */
	__u32 max_services;
	__u32 max_backends;
	__u32 max_tables;
	/* pktbench's lever: 0 keeps the conntrack map's flags as built;
	 * XLB_CT_LRU_COMMON / XLB_CT_LRU_PERCPU load it with one LRU list,
	 * or one per CPU (BPF_F_NO_COMMON_LRU). */
	int ct_lru;
};

enum { XLB_CT_LRU_COMMON = 1, XLB_CT_LRU_PERCPU = 2 };

/* Load the programs; maps pinned under pin_dir are adopted, missing ones
 * created and pinned. Programs are pinned as prog_xdp, prog_tc_egress and
 * prog_tc_ingress. Closed by xlb_dp_close().
 * NULL with errno set on failure. */
struct xlb_dp *xlb_dp_load(const struct xlb_dp_opts *o);
/*
 * Upgrades: xlb_dp_load carries the entries of maps pinned in another
 * layout (an older or newer build) into ours, by field name, before sync
 * reads them. Once our programs are attached (the swap), this copies what
 * the old programs created meanwhile and removes the old pins. Not called
 * when the attach failed: the old programs keep their maps.
 */
int xlb_dp_migrate_finish(struct xlb_dp *dp);

int xlb_dp_xdp_fd(const struct xlb_dp *dp);
int xlb_dp_tc_fd(const struct xlb_dp *dp);
int xlb_dp_tc_ingress_fd(const struct xlb_dp *dp);
/* xlb_tc: the whole datapath at tc ingress (uplinks without XDP). */
int xlb_dp_tc_full_fd(const struct xlb_dp *dp);

/* The cgroup sock_addr programs (local access), in attach-type order. */
enum xlb_dp_sock {
	XLB_SOCK_CONNECT4,
	XLB_SOCK_SENDMSG4,
	XLB_SOCK_RECVMSG4,
	XLB_SOCK_GETPEERNAME4,
	XLB_SOCK_CONNECT6,
	XLB_SOCK_SENDMSG6,
	XLB_SOCK_RECVMSG6,
	XLB_SOCK_GETPEERNAME6,
	XLB_SOCK_MAX
};
int xlb_dp_sock_fd(const struct xlb_dp *dp, enum xlb_dp_sock which);

/* Remove every pin xlb_dp_load() creates under @pin_dir. */
int xlb_dp_unpin(const char *pin_dir);

/* Check @pin_dir is (or will be) on a bpffs; mount /sys/fs/bpf when the
 * pin dir is under it and nothing is mounted there. */
int xlb_dp_ensure_bpffs(const char *pin_dir);

#endif /* XLB_LOADER_H */

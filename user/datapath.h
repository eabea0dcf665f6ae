/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The datapath handle: loads the BPF object (adopting maps already pinned
 * under the pin dir, so conntrack survives a restart), pins what it
 * creates, and is the only code in xlb that writes BPF maps.
 *
 * Write order is the caller's contract (see docs/architecture.md): backends
 * before the tables naming them, tables before the services naming them;
 * removals in reverse.
 */
#ifndef XLB_DATAPATH_H
#define XLB_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <xlb/abi.h>

enum xlb_dp_map {
	XLB_DPM_SVC,
	XLB_DPM_BACKENDS,
	XLB_DPM_MAGLEV,
	XLB_DPM_CT,
	XLB_DPM_NODE_ADDRS,
	XLB_DPM_IFACES,
	XLB_DPM_SVC_STATS,
	XLB_DPM_REASONS,
	XLB_DPM_SVC_META,
	XLB_DPM_AFFINITY,
	XLB_DPM_SRC_RANGES,
	XLB_DPM_FRAGS,
	XLB_DPM_TX_DEVS,
	XLB_DPM_PEER_DEVS,
	XLB_DPM_SOCK_REV,
	XLB_DPM_L2,
	XLB_DPM_VIP_META,
	XLB_DPM_MONITOR,	/* xlbctl monitor's switch */
	XLB_DPM_EVENTS,		/* the monitor's ring buffer */
	XLB_DPM_MAX,
};

extern const char *const xlb_dp_map_names[XLB_DPM_MAX];
/* The pin name of map @m in this build's layout: "<name>_v<layout hash>". */
const char *xlb_dp_pin_name(enum xlb_dp_map m);
/* 1 and its name in @buf when @pin_dir holds map @m in another layout. */
int xlb_dp_pinned_other(const char *pin_dir, enum xlb_dp_map m, char *buf, size_t n);

struct xlb_dp_opts {
	const char *pin_dir;	/* NULL: pin nothing (packet tests) */
	struct xlb_cfg cfg;
	__u32 max_ct;		/* 0: default for each */
	__u32 max_services;
	__u32 max_backends;
	__u32 max_tables;
};

struct xlb_dp;
struct xlb_bpf;

/* Load the programs; maps pinned under pin_dir are adopted, missing ones
 * created and pinned. Programs are pinned as prog_xdp, prog_tc_egress and
 * prog_tc_ingress.
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
/* Open the pinned maps only (xlbctl, tools): no programs. */
struct xlb_dp *xlb_dp_open_pinned(const char *pin_dir);
void xlb_dp_close(struct xlb_dp *dp);

int xlb_dp_map_fd(const struct xlb_dp *dp, enum xlb_dp_map m);
int xlb_dp_xdp_fd(const struct xlb_dp *dp);
int xlb_dp_tc_fd(const struct xlb_dp *dp);
int xlb_dp_tc_ingress_fd(const struct xlb_dp *dp);
/* xlb_tc: the whole datapath at tc ingress (uplinks without XDP). */
int xlb_dp_tc_full_fd(const struct xlb_dp *dp);

/* The cgroup sock_addr programs (local access), in attach-type order. */
enum xlb_dp_sock { XLB_SOCK_CONNECT4, XLB_SOCK_SENDMSG4, XLB_SOCK_RECVMSG4,
		   XLB_SOCK_GETPEERNAME4, XLB_SOCK_MAX };
int xlb_dp_sock_fd(const struct xlb_dp *dp, enum xlb_dp_sock which);
struct xlb_bpf *xlb_dp_skel(const struct xlb_dp *dp);
/* Number of possible CPUs (per-CPU map value count). */
int xlb_dp_ncpus(void);

/* Map writes. All return 0 or -errno. */
int xlb_dp_backend_set(struct xlb_dp *dp, __u32 id, const struct xlb_backend *b);
int xlb_dp_backend_del(struct xlb_dp *dp, __u32 id);
/* Build a fresh inner map of @m entries from @ids and put it in slot
 * @table_id of xlb_maglev (one update: readers see old or new). */
int xlb_dp_table_set(struct xlb_dp *dp, __u32 table_id, const __u32 *ids, __u32 m);
int xlb_dp_table_del(struct xlb_dp *dp, __u32 table_id);
/* Read a table back (m entries into @ids); -ENOENT when the slot is empty,
 * -EAGAIN when the table is bigger than a non-zero @cap (its slot was
 * reused). @cap 0: just the size. */
int xlb_dp_table_get(const struct xlb_dp *dp, __u32 table_id, __u32 *ids, __u32 *m,
		     __u32 cap);
int xlb_dp_svc_set(struct xlb_dp *dp, const struct xlb_svc_key *k, const struct xlb_svc *v);
int xlb_dp_svc_del(struct xlb_dp *dp, const struct xlb_svc_key *k);
int xlb_dp_svc_meta_set(struct xlb_dp *dp, __u32 svc_id, const struct xlb_svc_meta *m);
int xlb_dp_svc_meta_del(struct xlb_dp *dp, __u32 svc_id);
/* loadBalancerSourceRanges entry: @addr/@plen for service port @svc_id. */
int xlb_dp_src_range_set(struct xlb_dp *dp, __u32 svc_id, __u8 family,
			 const union xlb_addr *addr, __u8 plen);
int xlb_dp_src_range_del(struct xlb_dp *dp, __u32 svc_id, __u8 family,
			 const union xlb_addr *addr, __u8 plen);
int xlb_dp_node_addr_set(struct xlb_dp *dp, const struct xlb_addr_key *k, __u32 flags);
int xlb_dp_node_addr_del(struct xlb_dp *dp, const struct xlb_addr_key *k);
int xlb_dp_iface_set(struct xlb_dp *dp, __u32 ifindex, const struct xlb_iface *v);
int xlb_dp_iface_del(struct xlb_dp *dp, __u32 ifindex);
/* xlb_tx_devs: uplinks in native XDP mode (XDP redirects only into these). */
int xlb_dp_tx_dev_set(struct xlb_dp *dp, __u32 ifindex);
int xlb_dp_tx_dev_del(struct xlb_dp *dp, __u32 ifindex);
/* xlb_peer_devs: host ends of Pod veths (tc bpf_redirect_peer). */
int xlb_dp_peer_dev_set(struct xlb_dp *dp, __u32 ifindex);
int xlb_dp_peer_dev_del(struct xlb_dp *dp, __u32 ifindex);
/* ARP/NDP answer for a VIP this node owns (see struct xlb_l2). */
int xlb_dp_l2_set(struct xlb_dp *dp, const struct xlb_l2_key *k, const struct xlb_l2 *v);
int xlb_dp_l2_del(struct xlb_dp *dp, const struct xlb_l2_key *k);
int xlb_dp_vip_meta_set(struct xlb_dp *dp, const struct xlb_addr_key *k,
			const struct xlb_vip_meta *v);
int xlb_dp_vip_meta_del(struct xlb_dp *dp, const struct xlb_addr_key *k);
/* Switch the monitor (xlbctl monitor, while it listens): what the
 * programs report to xlb_events; all zero switches it off. */
int xlb_dp_monitor_set(struct xlb_dp *dp, const struct xlb_monitor_cfg *c);
/* Remove every pin xlb_dp_load() creates under @pin_dir. */
int xlb_dp_unpin(const char *pin_dir);

/* Check @pin_dir is (or will be) on a bpffs; mount /sys/fs/bpf when the
 * pin dir is under it and nothing is mounted there. */
int xlb_dp_ensure_bpffs(const char *pin_dir);

#endif /* XLB_DATAPATH_H */

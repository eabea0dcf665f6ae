/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The map writes: the only code in xlb that updates or deletes entries of
 * the datapath's maps (the loader's layout migration aside, see
 * loader.c). `make check-writers` fails the build when a write appears
 * anywhere else.
 *
 * Write order is the caller's contract (see docs/architecture.md): backends
 * before the tables naming them, tables before the services naming them;
 * removals in reverse. All return 0 or -errno; deleting what is not there
 * is 0.
 */
#ifndef XLB_SYNC_WRITE_H
#define XLB_SYNC_WRITE_H

#include "lib/maps.h"

int xlb_dp_backend_set(struct xlb_dp *dp, __u32 id, const struct xlb_backend *b);
int xlb_dp_backend_del(struct xlb_dp *dp, __u32 id);
/* Build a fresh inner map of @m entries from @ids and put it in slot
 * @table_id of xlb_maglev (one update: readers see old or new). */
int xlb_dp_table_set(struct xlb_dp *dp, __u32 table_id, const __u32 *ids, __u32 m);
int xlb_dp_table_del(struct xlb_dp *dp, __u32 table_id);
int xlb_dp_svc_set(struct xlb_dp *dp, const struct xlb_svc_key *k, const struct xlb_svc *v);
int xlb_dp_svc_del(struct xlb_dp *dp, const struct xlb_svc_key *k);
int xlb_dp_svc_meta_set(struct xlb_dp *dp, __u32 svc_id, const struct xlb_svc_meta *m);
int xlb_dp_svc_meta_del(struct xlb_dp *dp, __u32 svc_id);
/* Zero the per-CPU counters of @svc_id (a fresh id starts at zero). */
int xlb_dp_svc_stats_reset(struct xlb_dp *dp, __u32 svc_id);
/* loadBalancerSourceRanges entry: @addr/@plen for service port @svc_id. */
int xlb_dp_src_range_set(struct xlb_dp *dp, __u32 svc_id, __u8 family, const union xlb_addr *addr,
			 __u8 plen);
int xlb_dp_src_range_del(struct xlb_dp *dp, __u32 svc_id, __u8 family, const union xlb_addr *addr,
			 __u8 plen);
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
 * programs report to xlb_events; all zero switches it off. On a handle
 * from xlb_dp_open_pinned() this opens the switch's pin for the write. */
int xlb_dp_monitor_set(struct xlb_dp *dp, const struct xlb_monitor_cfg *c);

/*
 * Test and bench harnesses only: a writable fd of map @m, to build states
 * the agent never writes (conntrack entries, counters) or to clear a map
 * between cases. -EPERM on a read-only handle. `make check-writers` keeps
 * it out of everything but selftests/ and bench/.
 */
int xlb_dp_map_fd_rw(struct xlb_dp *dp, enum xlb_dp_map m);

#endif /* XLB_SYNC_WRITE_H */

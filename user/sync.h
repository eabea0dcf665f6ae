/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sync: make the maps say what a desired state says, and nothing else.
 *
 * It keeps a mirror of what it wrote (adopted from the pinned maps when the
 * agent starts, so a restart changes nothing that need not change) and
 * diffs each new desired state against it. Writes are ordered so the
 * datapath never sees a half state:
 *   1. new and changed backends
 *   2. new Maglev tables, each built whole in a fresh inner map in a free
 *      slot of xlb_maglev
 *   3. frontends (xlb_svc): one atomic value replace per frontend switches
 *      table, table size and counts together
 *   4. removed frontends
 *   5. tables no frontend names any more
 *   6. removed backends (after no table names them)
 * Service ids are stable per service port name; backend ids are per
 * (service port, address, port) and never reused for another address while
 * the agent runs, so a conntrack entry's backend id cannot come to mean a
 * different Pod.
 */
#ifndef XLB_SYNC_H
#define XLB_SYNC_H

#include "lib/maps.h"
#include "translate.h"

/* A service port with frontends in both families is two service ports in
 * the maps (own svc id, table, counters): the IPv4 one under the service
 * port's name, the IPv6 one under the name with this suffix. */
#define XLB_SVC_V6_SUFFIX "/IPv6"

struct xlb_sync_opts {
	__u32 maglev_min;   /* smallest table size (prime from the list) */
	__u32 maglev_slots; /* table slots per backend (>= 100): more
				 * means less disruption when a backend
				 * leaves, at 4 bytes a slot; 0: default */
	__u32 max_tables;   /* capacity of xlb_maglev / svc ids */
	__u32 max_backends;
};

struct xlb_sync_stats {
	unsigned int svc_added, svc_changed, svc_removed;
	unsigned int tables_built;
	unsigned int tables_undersized; /* < 100 slots per backend */
	unsigned int backends_added, backends_removed;
	unsigned int frontends_written, frontends_removed;
	unsigned int errors;
};

struct xlb_sync;

/* Adopt what the pinned maps already hold. NULL with errno on failure. */
struct xlb_sync *xlb_sync_new(struct xlb_dp *dp, const struct xlb_sync_opts *o);
void xlb_sync_free(struct xlb_sync *s);

/* Bring the maps to @d. Returns 0, or -errno of the first failed write (the
 * rest is still attempted; the mirror reflects what was written). */
int xlb_sync_apply(struct xlb_sync *s, const struct xlb_desired *d, struct xlb_sync_stats *st);

/*
 * The same for the service ports @names only (each as @d has it now, or
 * gone when @d lacks it), in the same phases; every other service port, its
 * id, table and backends, stays as it is. What a full apply of @d would
 * write, when the others are as @d says (the caller's incremental
 * translate guarantees it; a full apply is the way back when it cannot).
 */
int xlb_sync_apply_names(struct xlb_sync *s, const struct xlb_desired *d, const char *const *names,
			 size_t n, struct xlb_sync_stats *st);

struct xlb_node_iface {
	__u32 ifindex;
	__be32 addr4;	 /* IPv4 SNAT source: the first IPv4 address, or
				 * --snat-address; 0: none */
	__u32 snat_only; /* addr4 is --snat-address: written to
				 * xlb_node_addrs as XLB_NA_F_SNAT_ONLY */
	__u8 mac[6];	 /* the interface's MAC; zero: unknown */
	__u8 pad[2];
	union xlb_addr addr6; /* IPv6 SNAT source: the first usable global
			       * IPv6 address, or --snat-address; zero: none */
	__u32 snat6_only;     /* addr6 is --snat-address (as snat_only) */
};

/* Node addresses (NodePort) and per-interface SNAT sources: replaces the
 * previous sets. Returns 1 when something changed, 0 when the sets are
 * the same as before, or -errno. */
int xlb_sync_node(struct xlb_sync *s, const struct xlb_addr_key *addrs, size_t n_addrs,
		  const struct xlb_node_iface *ifs, size_t n_ifs);

/* The uplinks XDP may redirect into (xlb_tx_devs) and the host ends of
 * Pod veths tc may deliver into (xlb_peer_devs): each map is made to hold
 * exactly the given ifindexes. 0 or -errno. */
int xlb_sync_devs(struct xlb_sync *s, const __u32 *tx, size_t n_tx, const __u32 *peer,
		  size_t n_peer);

#endif /* XLB_SYNC_H */

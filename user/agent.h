/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The agent's state, shared by the steps of the process: options.c fills
 * it, node.c and the sources (source/file.c, source/kube.c) feed it, apply.c
 * brings the datapath to it, and main_xlb-agent.c runs the loop over it.
 * Nothing outside the agent's own files includes this header.
 */
#ifndef XLB_AGENT_H
#define XLB_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <xlb/abi.h>

#include "attach.h"
#include "datapath.h"
#include "k8s/cache.h"
#include "lb/bgp.h"
#include "lb/lease.h"
#include "translate.h"
#include "lib/net.h"
#include "lib/util.h"

struct xlb_vip_plan;

#define MAX_IFACES	16
#define MAX_NP_CIDRS	16
#define MAX_NODE_LABELS 32
/* After a change arrives, wait this long for more before syncing. */
#define BATCH_MS 50
/* Idle this long: list Pod veths again; file mode also re-reads the
 * node's addresses and retries a failed sync. */
#define XLB_IDLE_MS 10000
/* Leader: retry failed status writes this often. */
#define LB_RETRY_MS 5000
/* How long start-up waits for the first LIST before attaching anyway. */
#define INITIAL_SYNC_MS 8000
/*
 * Map capacities for 10,000 Services x 3 ports x 10 endpoints: 30,000
 * service ports; 300,000 backends, twice that while every port changes
 * at once (new ones are written before old ones go); up to 60,000 tables
 * on the first sync after a restart (each rebuilt next to the adopted
 * one); frontends for several node addresses and LB IPs per port. The
 * hash maps allocate per entry (BPF_F_NO_PREALLOC), so headroom is cheap.
 */
#define XLB_AGENT_MAX_SERVICES 262144
#define XLB_AGENT_MAX_BACKENDS 1048576
#define XLB_AGENT_MAX_TABLES   65536
#define XLB_SYNC_PERIOD_S      900

struct agent {
	const char *ifnames[MAX_IFACES];
	int ifindex[MAX_IFACES];
	int n_ifaces;
	const char *config;
	const char *node_name;
	const char *pin_dir;
	enum xlb_attach attach;		  /* --attach */
	const char *cgroup;		  /* --cgroup; NULL: the v2 root */
	bool no_cgroup;			  /* --cgroup off */
	bool local_stack;		  /* --local-delivery stack (the default) */
	enum xlb_attach hook[MAX_IFACES]; /* what each uplink got */
	struct xlb_dp_opts dpo;
	__u32 maglev_min;
	__u32 maglev_slots;
	bool uninstall;
	bool retry; /* the last sync failed: try again when idle */
	/* Kubernetes mode: retry after a failed sync, periodic full sync */
	unsigned int sync_period_ms;
	unsigned int retry_ms;		  /* current backoff, 0: none pending */
	uint64_t next_retry, next_resync; /* monotonic ms */
	bool addrs_from_node;		  /* NodePort addresses came from the Node */
	bool last_bad_file;		  /* the file did not parse: wait for a change */
	const char *kubeconfig;
	const char *apiserver;
	const char *healthz_bind;
	const char *metrics_bind;
	struct xlb_cidr np_cidrs[MAX_NP_CIDRS]; /* --nodeport-addresses */
	/* --node-labels (file mode: no Node object to read them from) */
	struct k8s_label node_labels[MAX_NODE_LABELS];
	size_t n_node_labels;
	int n_np_cidrs;
	bool np_primary;	   /* --nodeport-addresses primary */
	__be32 snat_addr;	   /* --snat-address (IPv4); 0: none */
	union xlb_addr snat_addr6; /* --snat-address (IPv6); zero: none */
	bool has_snat6;

	struct xlb_dp *dp;
	struct xlb_sync *sync;
	struct k8s_cache *cache; /* file mode: last good objects */
	struct kube_source *src; /* Kubernetes mode */
	/* Kubernetes mode: the desired state the maps hold, kept current by
	 * incremental translates; !have_cur: the next sync is a full one. */
	struct xlb_desired cur;
	bool have_cur;
	uint64_t last_sync_ms; /* monotonic: when the last sync ended */
	struct xlb_health *health;
	struct xlb_metrics *metrics;
	bool synced_once;

	/* LoadBalancer IPs: allocation (file mode: here; Kubernetes mode:
	 * the elected leader) and L2 announcement. */
	const char *lb_class;		/* --lb-class */
	unsigned int lease_renew_ms;	/* --node-lease-renew */
	unsigned int lease_duration_ms; /* --node-lease-duration */
	unsigned int l2_hold_ms;	/* --l2-hold */
	struct xlb_announcer *announcer;
	const char *lease_ns; /* --lease-namespace */
	unsigned int le_duration_ms, le_renew_ms, le_retry_ms;
	struct xlb_leases *leases; /* Kubernetes mode */
	struct xlb_lbctl *lbctl;
	struct xlb_lease_state ls; /* live agents, leadership */
	bool withdrawn;		   /* answers taken back: our Lease lapsed */
	bool lb_retry;		   /* some status write failed: retry */
	uint64_t lb_last_ms;

	/* BGP: routes in a kernel table that BIRD learns (lb/bgp.h). */
	uint32_t bgp_table;    /* --bgp-table */
	bool withdraw_on_exit; /* --withdraw-on-exit */
	bool attached;	       /* programs serve: may announce */
	struct xlb_bgp *bgp;
	struct k8s_ip *bgp_want; /* what the last plan announces */
	size_t n_bgp_want;
	uint64_t next_refresh_ms;
	uint64_t last_idle_ms;
};

/* options.c: the command line; agent_parse_args() fills @a and checks it. */
void agent_usage(FILE *f);
int agent_parse_args(struct agent *a, int argc, char **argv);

/* node.c: this node's addresses (NodePort, SNAT), uplinks and Pod veths,
 * and the kernel's port ranges around SNAT. */
int agent_node_addresses(struct agent *a);
int agent_sync_devs(struct agent *a);
int agent_attach_uplinks(struct agent *a);
void agent_snat_ports_setup(struct agent *a);

/* apply.c: one sync of desired state into the maps and the health and
 * metrics servers, with the BGP routes around it. */
int agent_apply(struct agent *a, struct xlb_desired *d, const struct timespec *t0, bool first);
/* The same for the service ports @names of @d only (an incremental
 * translate's changes): every other one stays as the maps hold it. */
int agent_apply_names(struct agent *a, struct xlb_desired *d, const char *const *names, size_t n,
		      const struct timespec *t0);
int agent_bgp_plan(struct agent *a, const struct xlb_vip_plan *p, const struct xlb_desired *d);
void agent_bgp_update(struct agent *a, enum xlb_bgp_phase phase);

/* source/file.c: file mode (--config): watch the file, reload it. */
int agent_file_reload(struct agent *a, bool first);
int agent_file_watch(const char *path, char *base, size_t base_len);
bool agent_file_changed(int fd, const char *base);

/* source/kube.c: Kubernetes mode: start the source and the Leases, sync
 * with retry and period, announce and allocate LoadBalancer IPs. */
/* @full: translate and sync everything (start, SIGHUP, retry, period);
 * otherwise only the Services that changed, when the last state is known. */
void agent_kube_sync(struct agent *a, bool first, bool full);
int agent_kube_poll_timeout(const struct agent *a);
void agent_kube_lb(struct agent *a);
void agent_kube_leases_changed(struct agent *a);
int agent_kube_start(struct agent *a);
bool agent_kube_initial_sync(struct agent *a);

#endif /* XLB_AGENT_H */

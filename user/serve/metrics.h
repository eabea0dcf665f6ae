/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * metrics: /metrics in the Prometheus text format (version 0.0.4) on
 * --metrics-bind-address (kube-proxy's 0.0.0.0:10249), served by
 * libmicrohttpd in its own thread.
 *
 * Datapath figures are read from the maps at scrape time: per-CPU counters
 * are summed here, tables are read with batch lookups, so a scrape costs
 * the datapath nothing (no atomics, no extra writes). Agent figures (sync
 * durations and results, health check servers) are pushed in by the agent.
 * No label carries a client address.
 */
#ifndef XLB_METRICS_H
#define XLB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/maps.h"

#define XLB_METRICS_DEFAULT	"0.0.0.0:10249"
#define XLB_METRICS_MAX_WATCHES 8

struct kube_reflector;
struct xlb_vip_plan;

struct xlb_metrics_opts {
	const char *bind;	 /* "ADDR:PORT"; NULL, "" or "off": no server */
	const struct xlb_dp *dp; /* maps to read */
	__u32 snat_port_min;	 /* for xlb_snat_ports_limit */
	__u32 snat_port_max;
	/* Kubernetes mode: the API watches, by resource. */
	const struct kube_reflector *watches[XLB_METRICS_MAX_WATCHES];
	size_t n_watches;
};

struct xlb_metrics;

/* NULL with errno set (EINVAL: bad bind address; EADDRINUSE, ...). With
 * bind "off" a handle without a server is returned (render still works). */
struct xlb_metrics *xlb_metrics_new(const struct xlb_metrics_opts *o);
void xlb_metrics_free(struct xlb_metrics *m);

/* A sync took @seconds and succeeded (@ok) or not. */
void xlb_metrics_sync_done(struct xlb_metrics *m, double seconds, bool ok);
/* healthCheckNodePort servers wanted now. */
void xlb_metrics_set_health_servers(struct xlb_metrics *m, unsigned int n);

/* LoadBalancer state: the VIP plan this node applied (NULL: it withdrew
 * every answer and route, the addresses stay), and whether this agent is
 * the allocating leader (-1: no election, file mode). */
void xlb_metrics_set_lb(struct xlb_metrics *m, const struct xlb_vip_plan *p, int leader);

/* Write the whole exposition to @f: 0 or -errno. */
int xlb_metrics_render(struct xlb_metrics *m, FILE *f);

#endif /* XLB_METRICS_H */

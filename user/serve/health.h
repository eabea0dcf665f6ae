/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * health: kube-proxy compatible health endpoints (k8s-spec §4.4), served
 * by libmicrohttpd in its own threads.
 *
 *  - /healthz and /livez on --healthz-bind-address (default
 *    0.0.0.0:10256): healthy = no received Service/EndpointSlice change
 *    has waited longer than the health timeout to be applied; /healthz
 *    also needs the node to be eligible (no deletionTimestamp, no
 *    ToBeDeletedByClusterAutoscaler taint). 200 or 503, JSON body.
 *  - one server per healthCheckNodePort (LoadBalancer Services with
 *    externalTrafficPolicy Local) on each node address --nodeport-addresses
 *    selects (all addresses without it), any path: 200 when this node has ready
 *    local endpoints for the Service and the proxy is healthy, else 503,
 *    with the endpoint count in X-Load-Balancing-Endpoint-Weight.
 */
#ifndef XLB_HEALTH_H
#define XLB_HEALTH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "translate.h"

#define XLB_HEALTHZ_DEFAULT "0.0.0.0:10256"

struct xlb_health_opts {
	/* "ADDR:PORT" ("[v6]:PORT"); NULL, "" or "off": no /healthz server */
	const char *bind;
	/* Monotonic ms of the oldest change not applied yet, 0 if none;
	 * NULL: always healthy. */
	uint64_t (*pending_since)(void *ctx);
	void *ctx;
	uint32_t timeout_ms; /* 0: 60000 (kube-proxy: 2 x syncPeriod) */
};

struct xlb_health;

/* NULL with errno set on failure (-EINVAL: bad bind address; a port in
 * use gives EADDRINUSE). */
struct xlb_health *xlb_health_new(const struct xlb_health_opts *o);
void xlb_health_free(struct xlb_health *h);

/* Parse "ADDR:PORT" / "[ADDR]:PORT" (exposed for tests): 0 or -EINVAL. */
int xlb_parse_hostport(const char *s, struct sockaddr_storage *ss);

void xlb_health_set_node_eligible(struct xlb_health *h, bool eligible);
/* A sync finished: lastUpdated is now. */
void xlb_health_synced(struct xlb_health *h);
/*
 * Open, keep or close the per-Service health check servers to match @d
 * (one per Service with a health_check_node_port) and update their
 * endpoint counts. Returns 0 or the first -errno (a port that cannot be
 * opened is logged and retried on the next call).
 */
int xlb_health_set_services(struct xlb_health *h, const struct xlb_desired *d);

/*
 * Listen for healthCheckNodePorts only on these @n addresses (the node
 * addresses --nodeport-addresses selects; none at all when @n is 0);
 * @addrs NULL: on the wildcard address.
 * Open servers move to the new set. Returns 0 or the first -errno.
 */
int xlb_health_set_bind_addrs(struct xlb_health *h, const struct sockaddr_storage *addrs, size_t n);

/* The JSON body of a per-Service check (tab-indented, no newline). */
int xlb_health_svc_body(char *buf, size_t size, const char *ns, const char *name, uint32_t count,
			bool healthy);

#endif /* XLB_HEALTH_H */

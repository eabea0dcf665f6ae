/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * translate: Kubernetes objects in, desired datapath state out.
 *
 * A pure function of the object cache and the node's identity: no maps, no
 * clock, no I/O. The result is sorted everywhere (service ports by name,
 * frontends by key, backends by family/address/port), so the same input
 * always gives the same bytes and sync can diff it against the maps.
 *
 * One xlb_desired_svcport per Service port (namespace/name + port name +
 * protocol, kube-proxy's ServicePortName) that has at least one frontend:
 * the nodePort wildcard (NodePort and LoadBalancer Services), the
 * externalIPs (any type), and the VIP-mode ingress IPs of a LoadBalancer.
 * Cluster IPs are not handled by xlb and give no frontends.
 */
#ifndef XLB_TRANSLATE_H
#define XLB_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xlb/abi.h>

#include "k8s/cache.h"
#include "lib/net.h"

#define XLB_SVCPORT_NAME_MAX 320

struct xlb_desired_backend {
	union xlb_addr addr; /* Pod address */
	uint16_t port;	     /* target port, host order */
	uint8_t family;	     /* XLB_AF_INET / XLB_AF_INET6 */
	bool local;	     /* nodeName == opts.node_name */
	bool terminating;    /* chosen through the serving+terminating
				 * fallback (no ready endpoint) */
	char node_name[64];  /* "" when unknown; truncated if longer */
};

struct xlb_desired_frontend {
	struct xlb_svc_key key; /* VIP: addr = VIP, port = service port
				 * (network order), scope XLB_SCOPE_VIP;
				 * NodePort: addr zero, port = nodePort
				 * (network order), scope XLB_SCOPE_NODEPORT.
				 * Pad bytes are zero: usable as a map key. */
	bool source_ranges;	/* a VIP-mode LB ingress IP of a Service with
				 * loadBalancerSourceRanges of this family:
				 * only sources inside the svcport's
				 * source_ranges of key.family may use it
				 * (k8s-spec §4.6); never NodePorts or
				 * externalIPs (unless the address is also an
				 * ingress IP) */
};

struct xlb_desired_svcport {
	char name[XLB_SVCPORT_NAME_MAX]; /* "namespace/name:portname/PROTO"
						 * (portname may be empty):
						 * stable identity */
	uint8_t proto;			 /* IPPROTO_TCP / IPPROTO_UDP */
	bool etp_local;			 /* externalTrafficPolicy Local */
	uint16_t health_check_node_port; /* LB + ETP Local, else 0 */
	struct xlb_desired_frontend *frontends;
	size_t n_frontends;
	/*
	 * The endpoints traffic may go to, sorted (by family, addr, port)
	 * and de-duplicated; for ETP Local only the local ones. A dual-stack
	 * Service has backends of both families: a frontend uses only the
	 * backends of its own family.
	 */
	struct xlb_desired_backend *backends;
	size_t n_backends;
	/*
	 * Usable endpoints cluster-wide (before the ETP Local filter): the
	 * ready ones, or the serving+terminating ones when none is ready.
	 * With n_backends == 0 it decides drop (ETP Local, endpoints
	 * elsewhere) vs reject (no endpoints at all). Per family below.
	 */
	uint32_t total_ready;
	uint32_t total_ready_v4;
	uint32_t total_ready_v6;
	/* Distinct ready local endpoint IPs over all ports of the Service
	 * (k8s-spec §4.4): the health check node port answers 200 iff > 0. */
	uint32_t n_local_ready;
	/* sessionAffinity ClientIP: seconds a client sticks to its backend
	 * (k8s-spec §4.7); 0: no affinity. */
	uint32_t affinity_timeout;
	/* loadBalancerSourceRanges in the Service's families, host bits
	 * cleared, sorted (xlb_cidr_cmp) and de-duplicated; used by the
	 * frontends with source_ranges set. */
	struct xlb_cidr *source_ranges;
	size_t n_source_ranges;
	/* Where it came from, for messages and the health check body. */
	char svc_namespace[64];
	char svc_name[64];
	uint16_t port; /* service port, host order */
};

/*
 * A healthCheckNodePort to serve: one per LoadBalancer Service with
 * externalTrafficPolicy Local, whether or not it has frontends yet (no
 * ingress IP so far, ipMode Proxy, allocateLoadBalancerNodePorts false):
 * kube-proxy opens it whenever the Service needs a health check.
 */
struct xlb_desired_hc {
	char svc_namespace[64];
	char svc_name[64];
	uint16_t port;
	uint32_t n_local_ready; /* as xlb_desired_svcport's */
};

struct xlb_desired {
	struct xlb_desired_svcport *svcports; /* sorted by name */
	size_t n;
	struct xlb_desired_hc *hc; /* in Service order */
	size_t n_hc;
};

struct xlb_translate_opts {
	const char *node_name; /* this node; NULL or "": nothing is local */
	/* The node's own addresses: unused for now (NodePort frontends are
	 * wildcards matched against xlb_node_addrs by the datapath); kept for
	 * a future nodePortAddresses filter. */
	const struct xlb_addr_key *node_addrs;
	size_t n_node_addrs;
};

/*
 * Compute the desired state of every Service in `c`. Problems in single
 * Services (a frontend claimed twice, an externalIP of a family the Service
 * does not have) are reported in `errs` (may be NULL) and only skip what
 * they concern. Returns 0 with *out filled (free with xlb_desired_free()),
 * or -ENOMEM / -EINVAL with *out empty.
 */
int xlb_translate(const struct k8s_cache *c, const struct xlb_translate_opts *o,
		  struct xlb_desired *out, struct k8s_errors *errs);

/*
 * Incremental translate: bring @cur, the result of an earlier
 * xlb_translate() of @c (kept current by later calls), to @c's state for the
 * Services named in @keys ("namespace/name": those whose Service or
 * EndpointSlices changed since; a Service may be gone), in place, at the
 * cost of those Services alone. The result is what xlb_translate() would
 * give now. *changed (malloc'd, caller frees) gets the indexes in
 * cur->svcports that were rewritten. -EAGAIN when the change reaches beyond
 * the named Services (a service port or health check that comes or goes, a
 * frontend added, removed or in a conflict): @cur is unchanged and a full
 * xlb_translate() is needed. -ENOMEM / -EINVAL: @cur is unchanged.
 */
int xlb_translate_update(const struct k8s_cache *c, const struct xlb_translate_opts *o,
			 const char *const *keys, size_t n_keys, struct xlb_desired *cur,
			 size_t **changed, size_t *n_changed, struct k8s_errors *errs);

/* Free what xlb_translate() filled in; the struct is left empty. */
void xlb_desired_free(struct xlb_desired *d);

/* Find a service port by name (binary search); NULL when absent. */
const struct xlb_desired_svcport *xlb_desired_find(const struct xlb_desired *d, const char *name);

/* "192.0.2.10:80/TCP", "[2001:db8::1]:80/UDP", "*:30080/TCP" */
int xlb_frontend_str(const struct xlb_svc_key *k, char *buf, size_t size);

#endif /* XLB_TRANSLATE_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ipam: LoadBalancer IP allocation from LoadBalancerIPPool objects.
 *
 * A pure function: pools and Services in, one result per Service out; no
 * clock, no I/O, no randomness. The same input gives the same addresses on
 * every run and on every leader, which is what makes allocation survive
 * restarts and leader changes together with the rule that a Service's
 * existing status.loadBalancer.ingress is the source of truth: an address a
 * Service already has is kept whenever it is still allowed.
 *
 * Order of work: first every Service's existing addresses are re-reserved
 * (sorted by namespace/name), then requests (spec.loadBalancerIP,
 * xlb.io/loadBalancerIPs, metallb.io/loadBalancerIPs), then automatic
 * allocation. Sharing an address needs the same sharing key
 * (xlb.io/allow-shared-ip or metallb.io/allow-shared-ip), disjoint
 * (protocol, port) sets and the same backend key (ETP Local Services must
 * have identical selectors; Cluster ones share freely) — MetalLB's rules,
 * k8s-spec §5.1.
 */
#ifndef XLB_IPAM_H
#define XLB_IPAM_H

#include <stdbool.h>
#include <stddef.h>

#include "k8s/cache.h"

/* Annotations the allocator reads and writes. */
#define XLB_ANN_IPS	   "xlb.io/loadBalancerIPs"
#define XLB_ANN_POOL	   "xlb.io/address-pool"
#define XLB_ANN_SHARED	   "xlb.io/allow-shared-ip"
#define XLB_ANN_ALLOCATED  "xlb.io/ip-allocated-from-pool"
#define METALLB_ANN_IPS	   "metallb.io/loadBalancerIPs"
#define METALLB_ANN_POOL   "metallb.io/address-pool"
#define METALLB_ANN_SHARED "metallb.io/allow-shared-ip"

/* At most one address per family. */
#define XLB_IPAM_MAX_IPS 2

struct xlb_ipam_opts {
	const char *lb_class; /* --lb-class; NULL: only Services without
				 * spec.loadBalancerClass */
};

enum xlb_ipam_status {
	XLB_IPAM_SKIP = 0, /* not ours: not type LoadBalancer, or another
				 * loadBalancerClass; status left alone */
	XLB_IPAM_OK,	   /* ips[] is the Service's allocation */
	XLB_IPAM_FAILED,   /* nothing allocated: reason + message for an
				 * Event; the status is cleared */
};

struct xlb_ipam_result {
	enum xlb_ipam_status status;
	struct k8s_ip ips[XLB_IPAM_MAX_IPS]; /* in ipFamilies order */
	size_t n_ips;
	const char *pool;   /* pool's name (the pool object's memory);
				 * NULL unless OK */
	bool changed;	    /* ips differ from the Service's status:
				 * the status must be written */
	const char *reason; /* Event reason when FAILED:
				 * "AllocationFailed" */
	char message[320];  /* human text when FAILED, names the cause
				 * and a hint */
};

/*
 * Allocate for @svcs (objects of kind Service; any order) from @pools
 * (kind LoadBalancerIPPool). @out has @n_svcs entries, out[i] for
 * svcs[i]. Returns 0 or -ENOMEM (out is then undefined).
 */
int xlb_ipam_allocate(const struct k8s_object *const *pools, size_t n_pools,
		      const struct k8s_object *const *svcs, size_t n_svcs,
		      const struct xlb_ipam_opts *opts, struct xlb_ipam_result *out);

/* The pool holding @ip, or NULL (first by name when pools overlap). */
const struct k8s_object *xlb_ipam_pool_of(const struct k8s_object *const *pools, size_t n_pools,
					  const struct k8s_ip *ip);

/*
 * File mode, where no API server stores a status: allocate for the
 * LoadBalancer Services of @c and write each result into the Service's
 * status.loadBalancer.ingress in the cache (failures clear it and are
 * logged with the Service's name and the reason). Without any pool nothing
 * is touched (another allocator's addresses stay). Returns the number of
 * Services that failed, or -ENOMEM.
 */
int xlb_ipam_apply_cache(struct k8s_cache *c, const struct xlb_ipam_opts *opts);

#endif /* XLB_IPAM_H */

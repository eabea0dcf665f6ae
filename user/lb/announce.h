/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * announce: which node answers ARP/NDP for each LoadBalancer VIP, and this
 * node's part of it.
 *
 * The plan is a pure function every agent computes alike from the same
 * objects: for each VIP of a LoadBalancer Service (its status addresses)
 * in an L2 pool, the candidates are the live agents' nodes the pool's
 * nodeSelector allows, and for externalTrafficPolicy Local only those with
 * a ready local endpoint; the owner is the candidate with the lowest
 * sha256(node + "#" + VIP) (MetalLB's order, so the load spreads over the
 * nodes and one node's death moves only its own VIPs). No API writes per
 * Service: liveness comes from one Lease per node.
 *
 * The announcer applies the plan: one xlb_l2 entry per owned VIP and
 * interface (the pool's interfaces among the agent's uplinks, else all of
 * them) with a deadline it moves forward on every refresh, a gratuitous
 * ARP / unsolicited Neighbor Advertisement when it takes a VIP over, and a
 * row in xlb_vip_meta for every VIP (xlbctl vip list).
 */
#ifndef XLB_ANNOUNCE_H
#define XLB_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync/write.h"
#include "k8s/cache.h"

struct xlb_node_info {
	const char *name;
	const struct k8s_label *labels; /* Node labels (nodeSelector) */
	size_t n_labels;
};

struct xlb_vip {
	struct k8s_ip ip;
	char service[128];	       /* "namespace/name" (first by name when
				 * Services share the address) */
	char pool[64];		       /* "" when no pool holds it */
	char owner[64];		       /* "" when nobody may announce it */
	bool l2;		       /* the pool announces by L2 */
	bool mine;		       /* owner is this node and l2 */
	bool bgp;		       /* the pool announces by BGP */
	bool bgp_mine;		       /* this node should announce it by BGP:
				 * a candidate (pool nodeSelector, for
				 * Local a ready local endpoint) and, for
				 * Cluster, the Service has an endpoint */
	const char *const *interfaces; /* the pool's, NULL: every uplink */
	size_t n_interfaces;
};

struct xlb_vip_plan {
	struct xlb_vip *v; /* sorted by address */
	size_t n;
	uint32_t bgp_table; /* set by the agent: shown by xlbctl */
};

/*
 * Index of the owner of @vip among @nodes (lowest sha256(name#vip), ties
 * by name), or -1 when @n is 0. Pure, the same on every node.
 */
int xlb_announce_rank(const struct k8s_ip *vip, const char *const *nodes, size_t n);

/*
 * The plan for every VIP in @c (Services, EndpointSlices and pools):
 * @live are the nodes with a live agent, @me this node. 0 or -ENOMEM.
 */
int xlb_announce_plan(const struct k8s_cache *c, const struct xlb_node_info *live, size_t n_live,
		      const char *me, struct xlb_vip_plan *out);
void xlb_vip_plan_free(struct xlb_vip_plan *p);

struct xlb_announcer;

struct xlb_uplink {
	const char *name;
	int ifindex;
};

/* @hold_ms: the deadline each refresh gives the datapath's entries. */
struct xlb_announcer *xlb_announcer_new(struct xlb_dp *dp, const struct xlb_uplink *ups,
					size_t n_ups, unsigned int hold_ms);
void xlb_announcer_free(struct xlb_announcer *a);
/* Bring the datapath to @p (taking over: entries + gratuitous ARP/NA;
 * giving up: entries removed). Keeps a copy of what it needs. */
int xlb_announcer_apply(struct xlb_announcer *a, const struct xlb_vip_plan *p);
/* Move every owned entry's deadline to now + hold. */
int xlb_announcer_refresh(struct xlb_announcer *a);
/* Stop answering at once (the node lost its liveness, or shuts down). */
void xlb_announcer_withdraw(struct xlb_announcer *a);

#endif /* XLB_ANNOUNCE_H */

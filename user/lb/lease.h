/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lease: coordination.k8s.io/v1 Leases for the agents (k8s-spec §5.3).
 *
 * Two uses, one thread:
 *  - liveness: every agent holds the Lease "xlb-node-<node>" (label
 *    xlb.io/lease=node) and renews it every renew period; a watch on those
 *    Leases tells which agents are alive. As client-go does, a Lease is
 *    judged by the LOCAL time at which this agent last saw it change, plus
 *    its leaseDurationSeconds: no trust in other nodes' clocks. An agent
 *    that cannot renew its own Lease within the duration considers itself
 *    dead (and the announcer withdraws).
 *  - leader election for the allocator (one writer of Service status in
 *    the cluster): client-go's tryAcquireOrRenew on the Lease
 *    "xlb-leader": GET; 404 -> POST; held by another and not expired ->
 *    follower; else PUT with the read resourceVersion (409 -> lost the
 *    race). The acquire loop waits retryPeriod with 1.2 jitter, the leader
 *    renews every retryPeriod and steps down when it could not renew for
 *    renewDeadline. On shutdown the leader releases the Lease (holder "",
 *    duration 1 s) so a follower takes over at once.
 */
#ifndef XLB_LEASE_H
#define XLB_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "kube/client.h"

#define XLB_LEASE_LEADER      "xlb-leader"
#define XLB_LEASE_NODE_PREFIX "xlb-node-"

struct xlb_lease_opts {
	const char *ns;			   /* namespace of the Leases */
	const char *node;		   /* this node: the holder identity */
	unsigned int renew_ms;		   /* node Lease renew period */
	unsigned int duration_ms;	   /* node Lease duration */
	bool elect;			   /* take part in leader election */
	unsigned int le_duration_ms;	   /* client-go: 15 s */
	unsigned int le_renew_deadline_ms; /* 10 s */
	unsigned int le_retry_ms;	   /* 2 s */
};

struct xlb_lease_state {
	char **live;   /* node names with a live agent, sorted */
	char **labels; /* labels[i]: live[i]'s Node labels as a JSON
				 * object, carried on its Lease */
	size_t n_live;
	bool self_live; /* our own Lease renewed within its duration */
	bool leader;	/* we hold the leader Lease */
};

struct xlb_leases;

/* Start the thread (and the Lease watch), taking ownership of @kc (its own
 * client: stopping cancels its requests). NULL with errno set; @kc is then
 * still the caller's. */
struct xlb_leases *xlb_leases_start(struct kube_client *kc, const struct xlb_lease_opts *o);
/* This node's labels (a JSON object, from its Node), put on its Lease at
 * the next renewal so every agent can match pools' nodeSelector. */
void xlb_leases_set_labels(struct xlb_leases *l, const char *json);
/* Release the leader Lease if held, stop, free. NULL is fine. */
void xlb_leases_stop(struct xlb_leases *l);
/* Readable (eventfd) when the state changed; drain with xlb_leases_get. */
int xlb_leases_fd(const struct xlb_leases *l);
/* A copy of the state now (free with xlb_lease_state_free). 0 or -ENOMEM. */
int xlb_leases_get(struct xlb_leases *l, struct xlb_lease_state *out);
void xlb_lease_state_free(struct xlb_lease_state *s);

/* Was our own Lease renewed within its duration, by the clock now? (The
 * published state may lag, e.g. after the process was stopped.) */
bool xlb_leases_alive_now(const struct xlb_leases *l);
/* The Lease watch (for its counters). */
const struct kube_reflector *xlb_leases_reflector(const struct xlb_leases *l);

/* "2025-03-14T09:41:17.654321Z" for @t (CLOCK_REALTIME); exposed for tests. */
void xlb_micro_time(const struct timespec *t, char *buf, size_t len);

#endif /* XLB_LEASE_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * kube_source: the API side of Kubernetes mode. Three reflectors (Services and
 * EndpointSlices with kube-proxy's label selector, and this node's Node)
 * run in their own threads and keep one k8s_cache under a mutex; the main
 * loop polls kube_source_fd() and translates what changed: the Services the
 * events marked dirty (kube_source_translate_update()), or the whole cache
 * after a relist (kube_source_translate()). Events that arrive during a
 * sync are marked and go into the next one, so a burst of events costs a
 * few syncs, not one each.
 *
 * Objects are decoded from their cJSON tree (k8s_parse_json) by the same
 * validators as in file mode, one at a time as a LIST streams in: an
 * object the parser rejects is rejected alone and keeps its last good
 * version. The cache only loses an object on a DELETED event or when a
 * complete LIST no longer has it; a LIST that fails changes nothing, and
 * an unreachable API server changes nothing.
 */
#ifndef XLB_KUBE_SOURCE_H
#define XLB_KUBE_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include <xlb/abi.h>

#include "k8s/node.h"
#include "kube/client.h"
#include "translate.h"

/* kube-proxy's informer selector (k8s-spec §1.4), URL-encoded. */
#define KUBE_PROXY_SELECTOR \
	"labelSelector=%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name"

enum {
	KUBE_SRC_OBJECTS = 1 << 0, /* Services / EndpointSlices changed */
	KUBE_SRC_NODE = 1 << 1,	   /* the Node changed */
};

struct kube_source;
struct kube_reflector;

/* Takes ownership of @kc. NULL with errno set on failure. */
struct kube_source *kube_source_new(struct kube_client *kc, const char *node_name);
int kube_source_start(struct kube_source *s);
/* Stop the threads, free everything. NULL is fine. */
void kube_source_free(struct kube_source *s);

/* Readable (eventfd) when something changed. */
int kube_source_fd(const struct kube_source *s);
/* Drain the fd; K8S_SRC_* bits of what changed since the last call. */
unsigned int kube_source_take_changes(struct kube_source *s);
/* Have the Service and EndpointSlice reflectors both listed once? */
bool kube_source_synced(const struct kube_source *s);
/* Monotonic ms of the oldest object change not yet applied successfully
 * (what /healthz judges, like kube-proxy's lastQueued), 0 when none. */
uint64_t kube_source_pending_since(struct kube_source *s);

/* xlb_translate() over a consistent snapshot of the cache (a full pass:
 * start, relist, --sync-period, retry). */
int kube_source_translate(struct kube_source *s, const struct xlb_translate_opts *o,
			  struct xlb_desired *out, struct k8s_errors *errs);
/*
 * The incremental pass: xlb_translate_update() of @cur (the last translate's
 * result, kept current) for the Services the reflectors marked dirty since
 * the last translate, at their cost alone (the lock is held that long, not
 * a full translate's). -EAGAIN when a full pass is needed (a relist, or
 * a change beyond the marked Services): nothing taken, @cur unchanged.
 */
int kube_source_translate_update(struct kube_source *s, const struct xlb_translate_opts *o,
				 struct xlb_desired *cur, size_t **changed, size_t *n_changed,
				 struct k8s_errors *errs);
/* The last translate's result is in the maps: its changes are no longer
 * pending. A failed apply does not call this, so /healthz turns 503 once
 * the failure outlasts the health timeout. */
void kube_source_applied(struct kube_source *s);
void kube_source_node(struct kube_source *s, struct k8s_node_state *out);

/* Has the LoadBalancerIPPool reflector listed once? (Allocation waits
 * for it: without the pools every address would look disallowed.) */
bool kube_source_pools_synced(const struct kube_source *s);
/* Run @fn on the cache under the source's lock (a consistent snapshot);
 * returns what @fn returns. @fn must not block. */
int kube_source_with_cache(struct kube_source *s, int (*fn)(const struct k8s_cache *c, void *ctx),
			   void *ctx);
/* The client the reflectors use (shared; for the agent's own writes). */
struct kube_client *kube_source_client(const struct kube_source *s);
/* The source's reflectors (for their counters), at most @max: the number. */
size_t kube_source_reflectors(const struct kube_source *s, const struct kube_reflector **out,
			      size_t max);

#endif /* XLB_KUBE_SOURCE_H */

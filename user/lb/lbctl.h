/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lbctl: the LoadBalancer IP controller of Kubernetes mode, run only by the
 * elected leader. It runs the allocator (ipam.c) over the reflected
 * Services and pools and writes what changed:
 *   - status.loadBalancer.ingress with a JSON merge PATCH on the Service's
 *     /status subresource, preconditioned on the resourceVersion it was
 *     computed from (a 409 means a newer version is on its way: the next
 *     event recomputes);
 *   - the annotation xlb.io/ip-allocated-from-pool with a merge PATCH on
 *     the Service itself;
 *   - Events on the Service: IPAllocated (Normal), AllocationFailed
 *     (Warning: pool exhausted, requested IP outside every pool, sharing
 *     conflict, malformed request), each once per distinct outcome.
 * With no pool at all (or before the pools were listed) nothing is
 * written: an empty pool list must not release every address.
 */
#ifndef XLB_LBCTL_H
#define XLB_LBCTL_H

#include "kube/source.h"

struct xlb_lbctl;

/* @node: reportingInstance of the Events. NULL with errno set. */
struct xlb_lbctl *xlb_lbctl_new(struct kube_source *src, const char *lb_class, const char *node);
void xlb_lbctl_free(struct xlb_lbctl *c);
/* Allocate and write. Returns the number of failed writes (they are
 * retried on the next call), or -errno. */
int xlb_lbctl_run(struct xlb_lbctl *c);

#endif /* XLB_LBCTL_H */

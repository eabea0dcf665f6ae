/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the agent reads of its own v1 Node: whether it may serve (not being
 * deleted or drained), its addresses for NodePorts, and its labels for the
 * pools' nodeSelector. Kubernetes mode only: a file has no Node.
 */
#ifndef XLB_K8S_NODE_H
#define XLB_K8S_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include <xlb/abi.h>

#define K8S_NODE_MAX_ADDRS 16

struct k8s_node_state {
	bool known;				       /* a Node object was seen */
	bool eligible;				       /* no deletionTimestamp and no
				 * ToBeDeletedByClusterAutoscaler taint */
	struct xlb_addr_key addrs[K8S_NODE_MAX_ADDRS]; /* InternalIP, then
							 * ExternalIP */
	size_t n_addrs;
	char labels[4096]; /* metadata.labels as a JSON object ("{}"
				 * when none or too long): the node Lease
				 * carries them for pools' nodeSelector */
};

struct cJSON;
/* @o is a Node; anything else leaves @out unknown (-EINVAL). */
int k8s_node_state_from_json(const struct cJSON *o, struct k8s_node_state *out);
/* The same from JSON text: the unit tests' way in. */
int k8s_node_state_parse(const char *json, struct k8s_node_state *out);

#endif /* XLB_K8S_NODE_H */

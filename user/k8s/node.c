// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Node's state, read straight from its cJSON tree: a Node is never
 * cached or validated like a Service, only these three facts are kept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "k8s/node.h"

/* metadata.labels as JSON text; "{}" when none or too long. */
static void node_labels(const cJSON *meta, struct k8s_node_state *out)
{
	const cJSON *lb = cJSON_GetObjectItemCaseSensitive(meta, "labels");

	if (cJSON_IsObject(lb) &&
	    !cJSON_PrintPreallocated((cJSON *)lb, out->labels, sizeof(out->labels), 0))
		strcpy(out->labels, "{}");
}

/* Not being deleted, and not tainted by the autoscaler for removal. */
static bool node_eligible(const cJSON *meta, const cJSON *spec)
{
	const cJSON *taints = cJSON_GetObjectItemCaseSensitive(spec, "taints");
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(meta, "deletionTimestamp");
	const cJSON *it;

	if (dt && !cJSON_IsNull(dt))
		return false;
	cJSON_ArrayForEach(it, taints)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "key");

		if (cJSON_IsString(k) && !strcmp(k->valuestring, "ToBeDeletedByClusterAutoscaler"))
			return false;
	}
	return true;
}

/* status.addresses: every InternalIP, then every ExternalIP. */
static void node_addrs(const cJSON *st, struct k8s_node_state *out)
{
	const cJSON *addrs = cJSON_GetObjectItemCaseSensitive(st, "addresses");
	static const char *const types[] = { "InternalIP", "ExternalIP" };
	const cJSON *it;

	for (size_t t = 0; t < 2; t++) {
		cJSON_ArrayForEach(it, addrs)
		{
			const cJSON *ty = cJSON_GetObjectItemCaseSensitive(it, "type");
			const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "address");
			struct xlb_addr_key k = { 0 };

			if (!cJSON_IsString(ty) || !cJSON_IsString(a) ||
			    strcmp(ty->valuestring, types[t]) || out->n_addrs == K8S_NODE_MAX_ADDRS)
				continue;
			if (inet_pton(AF_INET, a->valuestring, &k.addr.v4) == 1)
				k.family = XLB_AF_INET;
			else if (inet_pton(AF_INET6, a->valuestring, &k.addr) == 1)
				k.family = XLB_AF_INET6;
			else
				continue;
			out->addrs[out->n_addrs++] = k;
		}
	}
}

int k8s_node_state_from_json(const cJSON *o, struct k8s_node_state *out)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(o, "metadata");

	memset(out, 0, sizeof(*out));
	strcpy(out->labels, "{}");
	if (!cJSON_IsObject(o))
		return -EINVAL;
	out->known = true;
	node_labels(meta, out);
	out->eligible = node_eligible(meta, cJSON_GetObjectItemCaseSensitive(o, "spec"));
	node_addrs(cJSON_GetObjectItemCaseSensitive(o, "status"), out);
	return 0;
}

int k8s_node_state_parse(const char *json, struct k8s_node_state *out)
{
	cJSON *o = cJSON_Parse(json);
	int err = k8s_node_state_from_json(o, out);

	cJSON_Delete(o);
	return err;
}

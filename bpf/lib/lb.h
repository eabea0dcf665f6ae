/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Frontend lookup and backend choice. The agent computes everything
 * (Maglev tables, counts, flags); the program only indexes.
 *
 * A frontend is either an exact VIP:port/proto or, for NodePort, the
 * wildcard key {0, nodePort, proto} which matches only when the packet's
 * destination is one of the node's own addresses (xlb_node_addrs).
 */
#ifndef XLB_BPF_LB_H
#define XLB_BPF_LB_H

#include "maps.h"
#include "parse.h"
#include "trace.h"

/* Murmur3's mixing steps over the ten words of the flow key: cheap, well
 * spread, and identical on every node (fixed seed), which Maglev's
 * consistency across nodes relies on. */
static __always_inline __u32 xlb_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 xlb_hash_tuple(const struct xlb_ct_key *k)
{
	const __u32 *w = (const __u32 *)k;
	__u32 h = XLB_HASH_SEED;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*k) / 4); i++) {
		__u32 x = w[i] * 0xcc9e2d51u;

		x = xlb_rotl32(x, 15) * 0x1b873593u;
		h = xlb_rotl32(h ^ x, 13) * 5 + 0xe6546b64u;
	}
	h ^= sizeof(*k);
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static __always_inline struct xlb_svc *xlb_svc_lookup(const struct xlb_ct_key *t)
{
	struct xlb_svc_key key = {
		.addr = t->daddr,
		.port = t->dport,
		.proto = t->proto,
		.family = t->family,
		.scope = XLB_SCOPE_VIP,
	};
	struct xlb_addr_key node = { .addr = t->daddr, .family = t->family };
	struct xlb_node_addr *na;
	struct xlb_svc *svc;

	svc = bpf_map_lookup_elem(&xlb_svc, &key);
	if (svc)
		return svc;
	na = bpf_map_lookup_elem(&xlb_node_addrs, &node);
	if (!na || (na->flags & XLB_NA_F_SNAT_ONLY))
		return NULL;
	__builtin_memset(&key.addr, 0, sizeof(key.addr));
	key.scope = XLB_SCOPE_NODEPORT;
	return bpf_map_lookup_elem(&xlb_svc, &key);
}

/* Maglev: hash the flow into the service's table. */
static __always_inline struct xlb_backend *
xlb_select_backend(const struct xlb_svc *svc, const struct xlb_ct_key *t, __u32 *backend_id)
{
	__u32 table_id = svc->table_id, idx, *id;
	void *table;

	if (!svc->maglev_size)
		return NULL;
	table = bpf_map_lookup_elem(&xlb_maglev, &table_id);
	if (!table)
		return NULL;
	idx = xlb_hash_tuple(t) % svc->maglev_size;
	id = bpf_map_lookup_elem(table, &idx);
	if (!id)
		return NULL;
	*backend_id = *id;
	XLB_TRACE(tr->choice = XLB_CHOICE_MAGLEV; tr->slot = idx; tr->backend_id = *id;
		  tr->hash = xlb_hash_tuple(t));
	return bpf_map_lookup_elem(&xlb_backends, id);
}

/* loadBalancerSourceRanges: is the client inside one of the service's
 * ranges? (Longest-prefix match on {service, family, address}.) */
static __always_inline bool xlb_source_allowed(const struct xlb_svc *svc,
					       const struct xlb_ct_key *t)
{
	struct xlb_src_key k = {
		.prefixlen = 32 + (t->family == XLB_AF_INET ? 32 : 128),
		.id = xlb_src_id(svc->svc_id, t->family),
	};

	__builtin_memcpy(k.addr, &t->saddr, sizeof(k.addr));
	return bpf_map_lookup_elem(&xlb_src_ranges, &k) != NULL;
}

/*
 * sessionAffinity ClientIP: the backend this client's last new connection
 * to the service went to, if that was within the timeout and the backend
 * still serves the service (k8s-spec §4.7). Using it refreshes it.
 */
static __always_inline struct xlb_backend *xlb_affinity_backend(const struct xlb_svc *svc,
								const struct xlb_ct_key *t,
								__u64 now, __u32 *backend_id)
{
	struct xlb_affinity_key k = { .client = t->saddr,
				      .svc_id = svc->svc_id,
				      .family = t->family };
	struct xlb_affinity *a = bpf_map_lookup_elem(&xlb_affinity, &k);
	struct xlb_backend *be;
	__u32 id;

	if (!a || now - a->last_ns > svc->affinity_timeout * NS_PER_SEC)
		return NULL;
	id = a->backend_id;
	be = bpf_map_lookup_elem(&xlb_backends, &id);
	if (!be || be->svc_id != svc->svc_id)
		return NULL;
	a->last_ns = now;
	*backend_id = id;
	return be;
}

static __always_inline void xlb_affinity_remember(const struct xlb_svc *svc,
						  const struct xlb_ct_key *t, __u32 backend_id,
						  __u64 now)
{
	struct xlb_affinity_key k = { .client = t->saddr,
				      .svc_id = svc->svc_id,
				      .family = t->family };
	struct xlb_affinity v = { .backend_id = backend_id, .last_ns = now };

	bpf_map_update_elem(&xlb_affinity, &k, &v, BPF_ANY);
}

/* Is the backend a conntrack entry points at still in its service? */
static __always_inline bool xlb_backend_alive(const struct xlb_ct *ct)
{
	__u32 id = ct->backend_id;
	struct xlb_backend *be = bpf_map_lookup_elem(&xlb_backends, &id);

	return be && xlb_addr_eq(&be->addr, &ct->nat_daddr) && be->port == ct->nat_dport;
}

#endif /* XLB_BPF_LB_H */

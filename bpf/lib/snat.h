/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * SNAT for flows to remote backends: the source address (the uplink's
 * configured one, else the route's) and the port. The port's reply entry
 * {backend -> SNAT address:port} in xlb_ct is the reservation: inserting it
 * with BPF_NOEXIST is what takes a port, so there is no second map to keep
 * consistent and the pool is per (backend endpoint, SNAT address).
 *
 * Candidates, in order:
 *  1. the client's own port, as MASQUERADE keeps it, when the kernel cannot
 *     be using that tuple itself: always on a dedicated --snat-address;
 *     on a shared node address only outside the node's ephemeral range and
 *     never a NodePort (a lost reply would look like a new client);
 *  2. independent pseudo-random ports of the SNAT range. The sequence is a
 *     keyed hash of the client's tuple, so a flow whose forward entry was
 *     lost walks the same ports again and finds its own reply entry.
 * A taken port whose entry has expired is taken over with a compare-and-
 * swap on its deadline (never delete-then-insert: two CPUs could both win).
 * When every candidate is live, an entry that was never answered or has
 * closed and has been quiet for a while is reclaimed (nf_conntrack's early
 * drop), so unanswered SYNs cannot hold the pool; failing that, a UDP
 * stream quiet for 15 s.
 */
#ifndef XLB_BPF_SNAT_H
#define XLB_BPF_SNAT_H

#include "ct.h"
#include "lb.h"

#define XLB_SNAT_TRIES 32
/* Deadlines move at most once a second, so 2 s since the last write means
 * at least 1 s without a packet. */
#define XLB_SNAT_QUIET_NS (2 * NS_PER_SEC)
/* A UDP stream quiet this long is taken only when nothing better is: a
 * client whose random source port came round again made it a "stream"
 * (as nf_conntrack would), and 120 s of that would hold the pool. */
#define XLB_SNAT_STREAM_QUIET_NS (15 * NS_PER_SEC)

static __always_inline __u32 snat_mix(__u32 x)
{
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

/*
 * May a live reply entry be reclaimed for another flow under pressure?
 * 1: yes, first choice (never answered, or closed, and quiet 2 s); 2: only
 * if no first choice (a UDP stream quiet 15 s); 0: never (an open TCP
 * connection, or one whose backend holds the tuple in TIME_WAIT: a new SYN
 * on it would meet the old connection).
 */
static __always_inline int ct_reclaimable(const struct xlb_ct *ct, __u64 exp, __u8 proto, __u64 now)
{
	__u8 f = ct->flags;
	/* exp - lifetime is when the deadline was last written. */
	__u64 since = now + ct_lifetime(proto, f) - exp;

	if (proto == IPPROTO_TCP) {
		if (f & XLB_CT_F_BACKEND_TW)
			return 0;
		if ((f & XLB_CT_F_ESTABLISHED) && !ct_closed(f))
			return 0;
	} else if (f & XLB_CT_F_ESTABLISHED) {
		return since >= XLB_SNAT_STREAM_QUIET_NS ? 2 : 0;
	}
	return since >= XLB_SNAT_QUIET_NS ? 1 : 0;
}

/*
 * Take over @old, seen with deadline @seen, for the flow in @v. The CAS to
 * XLB_CT_LOCKED decides the one winner; while locked the entry reads as
 * expired (a miss), and the new deadline is published last with an atomic
 * exchange. @prev gets the entry as it was, to release its old flow.
 */
static __always_inline bool ct_take_over(struct xlb_ct *old, __u64 seen, const struct xlb_ct *v,
					 struct xlb_ct *prev)
{
	if (seen == XLB_CT_LOCKED ||
	    __sync_val_compare_and_swap(&old->expires_ns, seen, XLB_CT_LOCKED) != seen)
		return false;
	*prev = *old;
	old->nat_saddr = v->nat_saddr;
	old->nat_daddr = v->nat_daddr;
	old->nat_sport = v->nat_sport;
	old->nat_dport = v->nat_dport;
	old->kind = v->kind;
	old->flags = v->flags;
	old->svc_id = v->svc_id;
	old->backend_id = v->backend_id;
	__sync_lock_test_and_set(&old->expires_ns, v->expires_ns);
	return true;
}

/* The flow that owned a taken-over reply entry @prev (SNAT port @rkey)
 * loses it: expire its forward entry if it still names that port, so its
 * next packet starts afresh instead of leaking into the new owner's. */
static __always_inline void
snat_release_prev(const struct xlb_ct *prev, const struct xlb_ct_key *rkey, struct xlb_ct_key *fkey)
{
	struct xlb_ct *f;

	ct_peer_key(prev, rkey, fkey);
	f = bpf_map_lookup_elem(&xlb_ct, fkey);
	if (f && f->kind == XLB_CT_FWD_REMOTE && f->nat_sport == rkey->dport &&
	    xlb_addr_eq(&f->nat_daddr, &rkey->saddr) && f->nat_dport == rkey->sport)
		f->expires_ns = 0;
}

/* Is the client's port kept for a flow leaving from @snat? The lookup
 * keys live in scratch space: the caller's stack is nearly full. */
static __always_inline bool snat_keep_port(const struct xlb_ct_key *t, const union xlb_addr *snat,
					   struct xlb_scratch *sc)
{
	struct xlb_addr_key *ak = &sc->ak;
	struct xlb_svc_key *sk = &sc->sk;
	struct xlb_node_addr *na;
	__u32 port = bpf_ntohs(t->sport);

	__builtin_memset(ak, 0, sizeof(*ak));
	__builtin_memset(sk, 0, sizeof(*sk));
	ak->addr = *snat;
	ak->family = t->family;
	sk->port = t->sport;
	sk->proto = t->proto;
	sk->family = t->family;
	sk->scope = XLB_SCOPE_NODEPORT;
	na = bpf_map_lookup_elem(&xlb_node_addrs, ak);

	if (na && (na->flags & XLB_NA_F_SNAT_ONLY))
		return true;
	if (!port || (port >= xlb_cfg.eph_port_min && port <= xlb_cfg.eph_port_max))
		return false;
	return !bpf_map_lookup_elem(&xlb_svc, sk);
}

/* Does a packet that missed conntrack go to a SNAT address:port that only
 * xlb hands out? Then its flow is gone and nobody else may answer it. */
static __always_inline bool snat_owned(const struct xlb_ct_key *t)
{
	struct xlb_addr_key ak = { .addr = t->daddr, .family = t->family };
	struct xlb_node_addr *na = bpf_map_lookup_elem(&xlb_node_addrs, &ak);
	__u32 port = bpf_ntohs(t->dport);

	if (!na)
		return false;
	return (na->flags & XLB_NA_F_SNAT_ONLY) ||
	       (port >= xlb_cfg.snat_port_min && port <= xlb_cfg.snat_port_max);
}

/*
 * The SNAT source for a remote flow leaving through @fib's device, into
 * *@out: the address configured for an uplink (xlb_ifaces: snat4, or
 * snat6 for IPv6), else the route's preferred source (BPF_FIB_LOOKUP_SRC:
 * what MASQUERADE would pick, e.g. flannel.1's address for an overlay
 * route). False: none.
 */
static __always_inline bool xlb_snat_source(const struct bpf_fib_lookup *fib, __u8 family,
					    union xlb_addr *out)
{
	__u32 ifindex = fib->ifindex;
	struct xlb_iface *ifc = bpf_map_lookup_elem(&xlb_ifaces, &ifindex);

	if (family == XLB_AF_INET6) {
		if (ifc &&
		    (ifc->snat6.v6[0] | ifc->snat6.v6[1] | ifc->snat6.v6[2] | ifc->snat6.v6[3]))
			*out = ifc->snat6;
		else
			__builtin_memcpy(out, fib->ipv6_src, 16);
		return out->v6[0] | out->v6[1] | out->v6[2] | out->v6[3];
	}
	out->v4 = ifc && ifc->snat4.v4 ? ifc->snat4.v4 : fib->ipv4_src;
	return out->v4;
}

/*
 * Reserve a SNAT port for the client packet with tuple @t and TCP flags
 * @tcp_flags: sc->rkey holds the reply key with every field but dport,
 * sc->rev the reply entry to insert. Returns 0 with rkey->dport set, or -1
 * when no port could be had. The reclaim candidates are kept in scratch
 * memory, not registers: the verifier does not fork its states on their
 * values, which keeps the probe loop's verification cost linear. If a live entry
 * on a candidate already leads back to this very flow (its forward entry
 * was lost, or a SYN reuses the tuple), it is kept with its port: a SYN
 * restarts its state, any other packet continues it (@rev gets its flags
 * and deadline).
 */
/* One probe, i of XLB_SNAT_TRIES (a bpf_loop callback: verified once, not
 * once per iteration and caller path). All state is in the scratch space
 * *@arg points to; sc->snat_done = 1 when a port is had. Returns 1 to
 * stop the loop. */
static long snat_probe(__u32 i, void *arg)
{
	struct xlb_scratch *sc = *(struct xlb_scratch **)arg;
	struct xlb_ct *old;
	__u32 port;
	__u64 exp;

	if (i == 0 && sc->snat_keep)
		port = bpf_ntohs(sc->tuple.sport);
	else
		port = sc->snat_min + snat_mix(sc->snat_h + i * 0x9e3779b9u) % sc->snat_range;
	sc->rkey.dport = bpf_htons((__u16)port);
	/* Look before inserting: an LRU insert takes a free node (evicting
	 * a live entry when there is none) before it finds the key taken,
	 * so a failed probe would cost a flow. */
	old = bpf_map_lookup_elem(&xlb_ct, &sc->rkey);
	if (!old) {
		if (!bpf_map_update_elem(&xlb_ct, &sc->rkey, &sc->rev, BPF_NOEXIST)) {
			sc->snat_done = 1;
			return 1;
		}
		old = bpf_map_lookup_elem(&xlb_ct, &sc->rkey);
		if (!old)
			return 0;
	}
	exp = ct_expires(old);
	if (exp == XLB_CT_LOCKED)
		return 0;
	if (exp <= sc->now) {
		if (ct_take_over(old, exp, &sc->rev, &sc->prev)) {
			snat_release_prev(&sc->prev, &sc->rkey, &sc->pkey);
			sc->snat_done = 1;
			return 1;
		}
		return 0;
	}
	if (old->kind == XLB_CT_REPLY_SNAT && ct_peer_matches(old, &sc->tuple)) {
		old->svc_id = sc->rev.svc_id;
		old->backend_id = sc->rev.backend_id;
		if (sc->snat_syn) {
			old->flags = sc->rev.flags;
			old->expires_ns = sc->rev.expires_ns;
		} else {
			sc->rev.flags = old->flags;
			sc->rev.expires_ns = exp;
		}
		sc->snat_done = 1;
		return 1;
	}
	{
		int rank = ct_reclaimable(old, exp, sc->tuple.proto, sc->now);

		/* The first candidate of each rank. */
		if (rank == 1 && !sc->victim[0]) {
			sc->victim[0] = port;
			sc->victim_exp[0] = exp;
		} else if (rank == 2 && !sc->victim[1]) {
			sc->victim[1] = port;
			sc->victim_exp[1] = exp;
		}
	}
	return 0;
}

static __always_inline int xlb_snat_alloc(const struct xlb_ct_key *t, __u32 tcp_flags,
					  struct xlb_scratch *sc, __u64 now)
{
	__u32 min = xlb_cfg.snat_port_min, max = xlb_cfg.snat_port_max;
	struct xlb_scratch *arg = sc;
	struct xlb_ct *old;

	if (max < min || max > 65535)
		return -1;
	sc->tuple = *t;
	sc->now = now;
	sc->victim[0] = sc->victim[1] = 0;
	sc->snat_done = 0;
	sc->snat_keep = snat_keep_port(t, &sc->rkey.daddr, sc);
	sc->snat_syn = (tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN;
	sc->snat_min = min;
	sc->snat_range = max - min + 1;
	sc->snat_h = xlb_hash_tuple(t) ^ xlb_cfg.snat_seed;
	bpf_loop(XLB_SNAT_TRIES, snat_probe, &arg, 0);
	if (sc->snat_done)
		return 0;
	if (!sc->victim[0]) {
		sc->victim[0] = sc->victim[1];
		sc->victim_exp[0] = sc->victim_exp[1];
	}
	if (!sc->victim[0])
		return -1;
	sc->rkey.dport = bpf_htons((__u16)sc->victim[0]);
	old = bpf_map_lookup_elem(&xlb_ct, &sc->rkey);
	if (!old || !ct_take_over(old, sc->victim_exp[0], &sc->rev, &sc->prev))
		return -1;
	snat_release_prev(&sc->prev, &sc->rkey, &sc->pkey);
	return 0;
}

#endif /* XLB_BPF_SNAT_H */

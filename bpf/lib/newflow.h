/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A packet that starts a flow (conntrack miss, or a flow balanced afresh):
 * its frontend (lb.h), whether it is let in (sent to us, source ranges,
 * endpoints), its backend (affinity, else Maglev), then the flow's two
 * conntrack entries: a local backend's reply entry is keyed as the Pod's
 * replies leave at tc egress; a remote backend's is the SNAT port
 * reservation (snat.h). Both are in before the packet is sent on (fwd.h).
 *
 * The steps below return a verdict, or -1 to go on (verdicts are never
 * negative: see verdict() in stats.h).
 */
#ifndef XLB_BPF_NEWFLOW_H
#define XLB_BPF_NEWFLOW_H

#include "ct.h"
#include "ctx.h"
#include "fwd.h"
#include "icmp.h"
#include "lb.h"
#include "maps.h"
#include "parse.h"
#include "snat.h"
#include "stats.h"
#include "trace.h"

static __always_inline bool mac_eq(const __u8 *a, const __u8 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) |
		 (a[5] ^ b[5]));
}

/* Was the frame sent to the ingress interface (its MAC in xlb_ifaces;
 * unknown: not filtered)? A group address never is. */
static __always_inline bool xlb_for_us(const struct xlb_ctx *c, const struct xlb_pkt *p)
{
	__u32 ifindex = c->ifindex;
	struct xlb_iface *ifc;

	if (p->eth->h_dest[0] & 1)
		return false;
	ifc = bpf_map_lookup_elem(&xlb_ifaces, &ifindex);
	if (!ifc ||
	    !(ifc->mac[0] | ifc->mac[1] | ifc->mac[2] | ifc->mac[3] | ifc->mac[4] | ifc->mac[5]))
		return true;
	return mac_eq(p->eth->h_dest, ifc->mac);
}

/*
 * IPv6 UDP with checksum 0: RFC 8200 8.1 has receivers discard it (RFC
 * 6935's exception is for tunnel endpoints that opt in, never a Service).
 * Translating it would hand the backend a datagram its stack discards
 * anyway, after a conntrack entry and a SNAT port were spent on it; only
 * packets for a frontend or a flow are refused, so the node's own
 * zero-checksum tunnels (VXLAN udp6zerocsumrx) pass untouched.
 */
static __always_inline bool xlb_udp6_no_csum(const struct xlb_ctx *c, const struct xlb_pkt *p)
{
	return xlb_v6(c, p) && p->tuple.proto == IPPROTO_UDP && p->frag != XLB_FRAG_LATER &&
	       p->udp && !p->udp->check;
}

/* The frontend @p starts a flow to (*@svcp), or the verdict when none. */
static __always_inline int xlb_flow_frontend(struct xlb_ctx *c, struct xlb_pkt *p,
					     struct xlb_svc **svcp)
{
	/* A later fragment alone cannot start a flow: no ports of its own. */
	if (p->frag == XLB_FRAG_LATER)
		return verdict(xlb_act_pass(c), XLB_R_PASS_FRAG_UNKNOWN, c->bytes);
	*svcp = xlb_svc_lookup(&p->tuple);
	if (!*svcp) {
		/* A backend's packet whose flow is gone: the stack would
		 * answer it with RST and kill a flow that may yet recover
		 * (its forward entry restores the reply entry). */
		if (snat_owned(&p->tuple))
			return verdict(xlb_act_drop(c), XLB_R_DROP_SNAT_MISS, c->bytes);
		return verdict(xlb_act_pass(c), XLB_R_PASS_NOT_FRONTEND, c->bytes);
	}
	/* Only frames sent to us start flows: a promiscuous uplink also
	 * sees frames for a VIP another node answers. */
	if (!xlb_for_us(c, p))
		return verdict(xlb_act_pass(c), XLB_R_PASS_OTHER_HOST, c->bytes);
	if (xlb_udp6_no_csum(c, p))
		return verdict(xlb_act_drop(c), XLB_R_DROP_UDP6_NO_CSUM, c->bytes);
	return -1;
}

static __always_inline int xlb_no_backend(struct xlb_ctx *c, struct xlb_pkt *p,
					  const struct xlb_svc *svc, __u64 now)
{
	int act;

	/* kube-proxy: ETP Local with endpoints elsewhere drops; a Service
	 * without any endpoint rejects. */
	if ((svc->flags & XLB_SVC_F_ETP_LOCAL) && svc->total_count)
		return verdict(xlb_act_drop(c), XLB_R_DROP_NO_LOCAL_BACKEND, c->bytes);
	act = xlb_icmp_reply(c, p, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, now);
	if (act >= 0)
		return verdict(act, XLB_R_REJECT_NO_BACKEND, c->bytes);
	return verdict(xlb_act_drop(c), XLB_R_DROP_NO_BACKEND, c->bytes);
}

/* May @p's client reach @svc's endpoints? */
static __always_inline int xlb_flow_admit(struct xlb_ctx *c, struct xlb_pkt *p,
					  const struct xlb_svc *svc, __u64 now)
{
	/* kube-proxy's firewall chain drops before anything else. */
	if ((svc->flags & XLB_SVC_F_SOURCE_RANGES) && !xlb_source_allowed(svc, &p->tuple))
		return verdict(xlb_act_drop(c), XLB_R_DROP_SOURCE_RANGE, c->bytes);
	if (!svc->backend_count)
		return xlb_no_backend(c, p, svc, now);
	return -1;
}

/* The client's affinity backend if it has one, else the Maglev pick
 * (which becomes its affinity backend). NULL: the service's table or
 * backend is missing. */
static __always_inline struct xlb_backend *
xlb_flow_backend(const struct xlb_svc *svc, const struct xlb_ct_key *t, __u64 now, __u32 *be_id)
{
	struct xlb_backend *be = NULL;

	if (svc->affinity_timeout)
		be = xlb_affinity_backend(svc, t, now, be_id);
	if (be) {
		XLB_TRACE(tr->choice = XLB_CHOICE_AFFINITY; tr->backend_id = *be_id);
		return be;
	}
	be = xlb_select_backend(svc, t, be_id);
	if (be && svc->affinity_timeout)
		xlb_affinity_remember(svc, t, *be_id, now);
	return be;
}

/* The flow's two entries, kinds aside, in the scratch space the caller
 * cleared: forward to the backend, reply to the client from the frontend. */
static __always_inline void xlb_flow_entries(struct xlb_scratch *sc, const struct xlb_pkt *p,
					     const struct xlb_svc *svc,
					     const struct xlb_backend *be, __u32 be_id, __u64 now)
{
	struct xlb_ct *fwd = &sc->fwd, *rev = &sc->rev;

	fwd->nat_saddr = p->tuple.saddr;
	fwd->nat_sport = p->tuple.sport;
	fwd->nat_daddr = be->addr;
	fwd->nat_dport = be->port;
	fwd->svc_id = svc->svc_id;
	fwd->backend_id = be_id;
	fwd->flags = ct_next_flags(0, p, false);
	fwd->expires_ns = now + ct_lifetime(p->tuple.proto, fwd->flags);

	rev->nat_saddr = p->tuple.daddr; /* the frontend */
	rev->nat_sport = p->tuple.dport;
	rev->nat_daddr = p->tuple.saddr; /* the client */
	rev->nat_dport = p->tuple.sport;
	rev->svc_id = fwd->svc_id;
	rev->backend_id = be_id;
	rev->flags = fwd->flags;
	rev->expires_ns = fwd->expires_ns;
}

/* A local backend: DNAT only; the reply entry is keyed by the Pod's
 * replies as they leave. */
static __always_inline int xlb_flow_local(struct xlb_ctx *c, struct xlb_pkt *p,
					  struct xlb_scratch *sc, __u64 now)
{
	int r;

	sc->fwd.kind = XLB_CT_FWD_LOCAL;
	sc->rev.kind = XLB_CT_REPLY_LOCAL;
	ct_peer_key(&sc->fwd, &p->tuple, &sc->rkey);
	r = xlb_reply_local_insert(sc, now);
	if (r)
		return verdict(xlb_act_drop(c), r, c->bytes);
	return -1;
}

/* A remote backend: DNAT and SNAT, from the egress's SNAT address and a
 * port of the pool (the reply entry reserves it). */
static __always_inline int xlb_flow_remote(struct xlb_ctx *c, struct xlb_pkt *p,
					   struct xlb_scratch *sc, const struct xlb_backend *be,
					   __u64 now)
{
	struct bpf_fib_lookup *fib = &sc->fib;
	__u32 why;
	int rc;

	/* Refuse before any state is made for a packet we cannot send. This
	 * lookup only picks the egress and its source; xlb_emit routes by
	 * the translated tuple, as it will for the flow's later packets. */
	why = xlb_route_check(c, p);
	if (why != XLB_R_MAX)
		return verdict(xlb_act_drop(c), why, c->bytes);
	rc = xlb_fib(c, p, NULL, &be->addr, 0, be->port, fib,
		     BPF_FIB_LOOKUP_SKIP_NEIGH | BPF_FIB_LOOKUP_SRC);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return xlb_too_big(c, p, fib->mtu_result, now);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_SRC_ADDR)
		return verdict(xlb_act_drop(c), XLB_R_DROP_FIB, c->bytes);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS ||
	    !xlb_snat_source(fib, p->tuple.family, &sc->fwd.nat_saddr))
		return verdict(xlb_act_drop(c), XLB_R_DROP_NO_SNAT_ADDR, c->bytes);
	sc->fwd.kind = XLB_CT_FWD_REMOTE;
	sc->rev.kind = XLB_CT_REPLY_SNAT;
	ct_peer_key(&sc->fwd, &p->tuple, &sc->rkey);
	if (xlb_snat_alloc(&p->tuple, p->tcp_flags, sc, now))
		return verdict(xlb_act_drop(c), XLB_R_DROP_SNAT_EXHAUSTED, c->bytes);
	sc->fwd.nat_sport = sc->rkey.dport;
	/* A flow found again keeps its state. */
	sc->fwd.flags = sc->rev.flags;
	sc->fwd.expires_ns = sc->rev.expires_ns;
	return -1;
}

/* The forward entry goes in last; the reply entry of the flow it
 * replaces (@stale_peer) goes, unless it is the one just made. */
static __always_inline int xlb_flow_commit(struct xlb_ctx *c, struct xlb_pkt *p,
					   struct xlb_scratch *sc,
					   const struct xlb_ct_key *stale_peer)
{
	const struct xlb_ct_key *rkey = &sc->rkey;

	if (bpf_map_update_elem(&xlb_ct, &p->tuple, &sc->fwd, BPF_ANY)) {
		bpf_map_delete_elem(&xlb_ct, rkey);
		return verdict(xlb_act_drop(c), XLB_R_DROP_CT_INSERT, c->bytes);
	}
	if (stale_peer && (!xlb_addr_eq(&stale_peer->saddr, &rkey->saddr) ||
			   !xlb_addr_eq(&stale_peer->daddr, &rkey->daddr) ||
			   stale_peer->sport != rkey->sport || stale_peer->dport != rkey->dport))
		bpf_map_delete_elem(&xlb_ct, stale_peer);
	return -1;
}

/*
 * A new flow, or one re-balanced (@stale_peer: the reply key of the entry
 * it replaces, whose reply entry and SNAT port are released).
 */
static __always_inline int xlb_new_flow(struct xlb_ctx *c, struct xlb_pkt *p, __u64 now,
					const struct xlb_ct_key *stale_peer)
{
	struct xlb_svc *svcp, *svc;
	struct xlb_scratch *sc;
	struct xlb_backend *be;
	__u32 be_id = 0;
	int r;

	r = xlb_flow_frontend(c, p, &svcp);
	if (r >= 0)
		return r;
	/* The flow's entries (and the Service's snapshot) are built in
	 * per-CPU scratch space: the stack (512 bytes for the whole call
	 * chain) cannot hold them. */
	sc = xlb_scratch_get();
	if (!sc)
		return verdict(xlb_act_drop(c), XLB_R_DROP_CT_INSERT, c->bytes);
	/* One consistent snapshot of the value for this packet. */
	sc->svc = *svcp;
	svc = &sc->svc;
	xlb_count_svc(svc->svc_id, c->bytes);
	XLB_TRACE(tr->flags |= XLB_TRACE_F_FRONTEND | XLB_TRACE_F_NEW_FLOW; tr->svc = *svc);
	/* Cleared here rather than in xlb_flow_entries: measured, the
	 * verifier then walks ~10k fewer instructions of xlb_xdp. */
	__builtin_memset(&sc->fwd, 0, sizeof(sc->fwd));
	__builtin_memset(&sc->rev, 0, sizeof(sc->rev));
	r = xlb_flow_admit(c, p, svc, now);
	if (r >= 0)
		return r;
	be = xlb_flow_backend(svc, &p->tuple, now, &be_id);
	if (!be)
		return verdict(xlb_act_drop(c), XLB_R_DROP_NO_TABLE, c->bytes);
	xlb_flow_entries(sc, p, svc, be, be_id, now);
	if (be->flags & XLB_BE_F_LOCAL)
		r = xlb_flow_local(c, p, sc, now);
	else
		r = xlb_flow_remote(c, p, sc, be, now);
	if (r >= 0)
		return r;
	r = xlb_flow_commit(c, p, sc, stale_peer);
	if (r >= 0)
		return r;
	XLB_TRACE(tr->flags |= XLB_TRACE_F_REWRITE; tr->ct = sc->fwd);
	return xlb_emit(c, p, &sc->fwd, &sc->fib, now);
}

#endif /* XLB_BPF_NEWFLOW_H */

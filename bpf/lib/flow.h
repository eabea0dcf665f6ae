/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The per-packet logic both hooks run (see ctx.h): conntrack hit or new
 * flow (frontend lookup, source ranges, backend choice, conntrack create
 * with SNAT port allocation), fragments, ICMP errors about translated
 * flows, then the rewrite and the send (fwd.h). Every verdict carries a
 * named reason (enum xlb_reason), counted by the entry programs through
 * xlb_account() (stats.h), which also reports it to `xlbctl monitor`.
 */
#ifndef XLB_BPF_FLOW_H
#define XLB_BPF_FLOW_H

#include "common.h"
#include "ctx.h"
#include "maps.h"
#include "stats.h"
#include "parse.h"
#include "csum.h"
#include "ct.h"
#include "lb.h"
#include "nat.h"
#include "fwd.h"
#include "icmp.h"
#include "snat.h"
#include "trace.h"

static __always_inline struct xlb_scratch *xlb_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xlb_scratch, &zero);
}

static __always_inline bool xlb_is_node_addr(__be32 a)
{
	struct xlb_addr_key k = { .addr.v4 = a, .family = XLB_AF_INET };

	return bpf_map_lookup_elem(&xlb_node_addrs, &k) != NULL;
}

/* ---- fragments ---- */

static __always_inline void xlb_frag_key(const struct xlb_pkt *p, struct xlb_frag_key *k)
{
	k->saddr = p->tuple.saddr.v4;
	k->daddr = p->tuple.daddr.v4;
	k->id = p->ip_id;
	k->proto = p->tuple.proto;
	k->pad = 0;
}

/* First fragment: remember its ports. Later fragment: take them; false
 * when the first one was not seen (it may come later: the stack
 * reassembles such datagrams). */
static __always_inline bool xlb_frag_ports(struct xlb_pkt *p)
{
	struct xlb_frag_key k;
	struct xlb_frag *f;

	if (p->frag == XLB_FRAG_NONE)
		return true;
	xlb_frag_key(p, &k);
	if (p->frag == XLB_FRAG_FIRST) {
		struct xlb_frag v = { .sport = p->tuple.sport, .dport = p->tuple.dport };

		bpf_map_update_elem(&xlb_frags, &k, &v, BPF_ANY);
		return true;
	}
	f = bpf_map_lookup_elem(&xlb_frags, &k);
	if (!f)
		return false;
	p->tuple.sport = f->sport;
	p->tuple.dport = f->dport;
	return true;
}

/* ---- ICMP errors about translated flows ---- */

struct xlb_icmp_pair {
	struct xlb_icmp_msg old;
	struct xlb_icmp_msg new;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_icmp_pair);
} xlb_icmp_xlate_scratch SEC(".maps");

/*
 * @p quotes a packet X' this node sent translated; @e is the entry its
 * swapped tuple hits (the flow's other direction), whose rewrite names
 * X as it was before translation. The error goes to X's sender: outer
 * destination X.saddr, the quote becomes X, and an outer source that was
 * X''s destination (the endpoint itself answered) becomes X's. Outer and
 * inner IPv4 checksums are recomputed (both headers are 20 bytes), the
 * ICMP checksum is updated by the difference of the 56 bytes (the quote
 * may be longer than what is rewritten). The quoted L4 checksum is left:
 * receivers match the quote by addresses and ports only.
 * 0 or -1.
 */
static __always_inline int xlb_icmp_xlate(struct xlb_ctx *c, struct xlb_pkt *p,
					  const struct xlb_ct *e)
{
	__u32 zero = 0;
	struct xlb_icmp_pair *m = bpf_map_lookup_elem(&xlb_icmp_xlate_scratch, &zero);
	struct iphdr *q;
	__be16 *ports;
	__u16 old_sum;
	__u32 sum;

	if (!m || (void *)p->ip + sizeof(m->old) > xlb_data_end(c))
		return -1;
	__builtin_memcpy(&m->old, p->ip, sizeof(m->old));
	m->new = m->old;
	q = (struct iphdr *)m->new.quote;
	ports = (__be16 *)(m->new.quote + sizeof(*q));
	if (m->new.ip.saddr == q->daddr)
		m->new.ip.saddr = e->nat_saddr.v4;
	m->new.ip.daddr = e->nat_daddr.v4;
	q->saddr = e->nat_daddr.v4;
	q->daddr = e->nat_saddr.v4;
	ports[0] = e->nat_dport;
	ports[1] = e->nat_sport;

	q->check = 0;
	q->check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)q, sizeof(*q), 0));
	m->new.ip.check = 0;
	m->new.ip.check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)&m->new.ip,
						    sizeof(m->new.ip), 0));
	old_sum = m->old.icmp.checksum;
	m->old.icmp.checksum = 0;
	m->new.icmp.checksum = 0;
	sum = bpf_csum_diff((__be32 *)&m->old.icmp, sizeof(m->old) - sizeof(m->old.ip),
			    (__be32 *)&m->new.icmp, sizeof(m->new) - sizeof(m->new.ip),
			    (__u16)~old_sum);
	m->new.icmp.checksum = csum_fold32(sum);

	if (xlb_is_tc(c))
		return bpf_skb_store_bytes(c->ctx, p->l3_off, &m->new, sizeof(m->new),
					   BPF_F_RECOMPUTE_CSUM) ? -1 : 0;
	__builtin_memcpy(p->ip, &m->new, sizeof(m->new));
	return 0;
}

/* ---- sending ---- */

/* A DF packet too big for the egress: frag-needed back to its sender
 * (before any rewrite, so it quotes what the sender sent). */
static __always_inline int xlb_too_big(struct xlb_ctx *c, struct xlb_pkt *p,
				       __u32 mtu, __u64 now)
{
	int act;

	if (!p->df || mtu > 0xffff)
		return verdict(xlb_act_drop(c), XLB_R_DROP_FRAG_NEEDED, c->bytes);
	act = xlb_icmp_reply(c, p, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu, now);
	if (act < 0)
		return verdict(xlb_act_drop(c), XLB_R_DROP_FRAG_NEEDED, c->bytes);
	return verdict(act, XLB_R_ICMP_FRAG_NEEDED, c->bytes);
}

/* Rewrite @p per @ct; an ICMP error is rewritten per the entry of the
 * flow it is about. 0 or negative. */
static __always_inline int xlb_rewrite(struct xlb_ctx *c, struct xlb_pkt *p,
				       const struct xlb_ct *ct)
{
	if (p->icmp_err)
		return xlb_icmp_xlate(c, p, ct);
	return nat4(c, p, ct);
}

/*
 * A local Pod: DNAT only. When the FIB's device is a Pod veth the agent
 * listed and the Pod's MAC is known, the packet skips the stack: tc
 * delivers it with bpf_redirect_peer; XDP cannot redirect into a veth
 * whose peer (the Pod's eth0) runs no XDP, so it leaves a note and
 * xlb_tc_ingress does the same. Else the stack routes it (its source is
 * the client: not martian).
 */
static __always_inline int xlb_emit_local(struct xlb_ctx *c, struct xlb_pkt *p,
					  const struct xlb_ct *ct, __be32 daddr,
					  struct bpf_fib_lookup *fib, __u32 pass_reason)
{
	int rc = -1;
	__u32 ifindex = 0, why;

	if (p->ttl > 1 && !(xlb_cfg.flags & XLB_CFG_F_LOCAL_STACK)) {
		rc = xlb_fib4(c, p, p->tuple.saddr.v4, daddr, ct->nat_sport, ct->nat_dport,
			      fib, 0);
		ifindex = fib->ifindex;
		if (rc == BPF_FIB_LKUP_RET_SUCCESS &&
		    !bpf_map_lookup_elem(&xlb_peer_devs, &ifindex))
			rc = -1;
	}
	if (xlb_rewrite(c, p, ct))
		return verdict(xlb_act_drop(c), XLB_R_DROP_NAT_FAILED, c->bytes);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return verdict(xlb_act_pass(c), pass_reason, c->bytes);
	/* Skipping the stack skips its TTL decrement and MAC rewrite. */
	if (xlb_ttl_dec(c, p) || xlb_set_macs(c, p, fib))
		return verdict(xlb_act_drop(c), XLB_R_DROP_NAT_FAILED, c->bytes);
	if (xlb_is_tc(c))
		return verdict(bpf_redirect_peer(ifindex, 0), XLB_R_FWD_PEER, c->bytes);
	/* Rewritten for the Pod: without the note the stack would drop it
	 * (not our MAC), so a driver without metadata is a counted drop
	 * (--attach auto never gives such a driver XDP). */
	why = xlb_meta_note(c, ifindex, XLB_META_PEER);
	if (why != XLB_R_MAX)
		return verdict(XDP_DROP, why, c->bytes);
	return verdict(XDP_PASS, XLB_R_FWD_PEER, c->bytes);
}

/*
 * Rewrite per @ct (which may live in the map or in scratch space) and
 * send on. @fib: scratch space for the lookup.
 */
static __always_inline int xlb_emit(struct xlb_ctx *c, struct xlb_pkt *p,
				    const struct xlb_ct *ct, struct bpf_fib_lookup *fib,
				    __u64 now)
{
	__be32 saddr = ct->nat_saddr.v4, daddr = ct->nat_daddr.v4;
	__be16 sport = ct->nat_sport, dport = ct->nat_dport;
	__u32 reason = XLB_R_FWD_REMOTE, ifindex;
	int rc;

	if (p->icmp_err) {
		/* The error travels to the flow's other end (see
		 * xlb_icmp_xlate); no ports to route by. */
		daddr = ct->nat_daddr.v4;
		saddr = p->ip->saddr == p->tuple.daddr.v4 ? ct->nat_saddr.v4 : p->ip->saddr;
		sport = dport = 0;
		reason = XLB_R_ICMP_XLATE;
	} else if (ct->kind == XLB_CT_REPLY_SNAT) {
		reason = XLB_R_REPLY_SNAT;
	}
	if (ct->kind == XLB_CT_FWD_LOCAL)
		return xlb_emit_local(c, p, ct, daddr, fib,
				      p->icmp_err ? XLB_R_ICMP_XLATE : XLB_R_FWD_LOCAL);

	ifindex = xlb_route_check(c, p);
	if (ifindex != XLB_R_MAX)
		return verdict(xlb_act_drop(c), ifindex, c->bytes);
	rc = xlb_fib4(c, p, saddr, daddr, sport, dport, fib,
		      xlb_is_tc(c) ? BPF_FIB_LOOKUP_SKIP_NEIGH : 0);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && !p->icmp_err)
		return xlb_too_big(c, p, fib->mtu_result, now);
	/* A reply to a client that is this node (hairpin through a router):
	 * up the stack; its new source is a frontend, not martian. */
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED && xlb_is_node_addr(daddr)) {
		if (xlb_rewrite(c, p, ct))
			return verdict(xlb_act_drop(c), XLB_R_DROP_NAT_FAILED, c->bytes);
		return verdict(xlb_act_pass(c), reason, c->bytes);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return verdict(xlb_act_drop(c), XLB_R_DROP_FIB, c->bytes);
	ifindex = fib->ifindex;

	if (xlb_rewrite(c, p, ct) || xlb_ttl_dec(c, p))
		return verdict(xlb_act_drop(c), XLB_R_DROP_NAT_FAILED, c->bytes);
	if (xlb_is_tc(c))
		return verdict(bpf_redirect_neigh(ifindex, NULL, 0, 0), reason, c->bytes);

	/* XDP_TX too only into a listed device: the agent leaves out
	 * devices that would lose the frame (a veth whose peer has no XDP). */
	if (rc == BPF_FIB_LKUP_RET_SUCCESS && bpf_map_lookup_elem(&xlb_tx_devs, &ifindex)) {
		xlb_set_macs(c, p, fib);
		if (ifindex == c->ifindex)
			return verdict(XDP_TX, reason, c->bytes);
		return verdict(bpf_redirect_map(&xlb_tx_devs, ifindex, 0), reason, c->bytes);
	}
	rc = rc == BPF_FIB_LKUP_RET_NO_NEIGH ? XLB_R_FWD_NEIGH : XLB_R_FWD_TC;
	ifindex = xlb_meta_note(c, ifindex, XLB_META_MAGIC);
	if (ifindex != XLB_R_MAX)
		return verdict(XDP_DROP, ifindex, c->bytes);
	return verdict(XDP_PASS, rc, c->bytes);
}

/* ---- new flows ---- */

static __always_inline bool mac_eq(const __u8 *a, const __u8 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
		 (a[3] ^ b[3]) | (a[4] ^ b[4]) | (a[5] ^ b[5]));
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
	if (!ifc || !(ifc->mac[0] | ifc->mac[1] | ifc->mac[2] | ifc->mac[3] | ifc->mac[4] |
		      ifc->mac[5]))
		return true;
	return mac_eq(p->eth->h_dest, ifc->mac);
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

/* A local Pod's reply entry: never clobber one that a live flow owns
 * (the same client port towards two frontends of one Pod). */
static __always_inline int xlb_reply_local_insert(const struct xlb_ct_key *rkey,
						  const struct xlb_ct *rev,
						  const struct xlb_ct_key *fwd_key, __u64 now)
{
	struct xlb_ct *old;

	if (!bpf_map_update_elem(&xlb_ct, rkey, rev, BPF_NOEXIST))
		return 0;
	old = bpf_map_lookup_elem(&xlb_ct, rkey);
	if (old && ct_alive(old, now) && !ct_peer_matches(old, fwd_key))
		return XLB_R_DROP_CT_CLASH;
	return bpf_map_update_elem(&xlb_ct, rkey, rev, BPF_ANY) ? XLB_R_DROP_CT_INSERT : 0;
}

/*
 * The SNAT source for a remote flow leaving through @fib's device: the
 * address configured for an uplink (xlb_ifaces), else the route's
 * preferred source (BPF_FIB_LOOKUP_SRC: what MASQUERADE would pick, e.g.
 * flannel.1's address for an overlay route). 0: none.
 */
static __always_inline __be32 xlb_snat_source(const struct bpf_fib_lookup *fib)
{
	__u32 ifindex = fib->ifindex;
	struct xlb_iface *ifc = bpf_map_lookup_elem(&xlb_ifaces, &ifindex);

	if (ifc && ifc->snat4.v4)
		return ifc->snat4.v4;
	return fib->ipv4_src;
}

/*
 * A new flow, or one re-balanced (@stale_peer: the reply key of the entry
 * it replaces, whose reply entry and SNAT port are released).
 */
static __always_inline int xlb_new_flow(struct xlb_ctx *c, struct xlb_pkt *p,
					__u64 now, const struct xlb_ct_key *stale_peer)
{
	struct xlb_scratch *sc;
	struct bpf_fib_lookup *fib;
	struct xlb_ct_key *rkey;
	struct xlb_ct *fwd, *rev;
	struct xlb_backend *be;
	struct xlb_svc *svcp, svc_copy, *svc = &svc_copy;
	__u32 be_id = 0;

	/* A later fragment alone cannot start a flow: no ports of its own. */
	if (p->frag == XLB_FRAG_LATER)
		return verdict(xlb_act_pass(c), XLB_R_PASS_FRAG_UNKNOWN, c->bytes);
	svcp = xlb_svc_lookup(&p->tuple);
	if (!svcp) {
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
	/* One consistent snapshot of the value for this packet. */
	svc_copy = *svcp;
	xlb_count_svc(svc->svc_id, c->bytes);
	XLB_TRACE(tr->flags |= XLB_TRACE_F_FRONTEND | XLB_TRACE_F_NEW_FLOW; tr->svc = svc_copy);
	/* The flow's entries are built in per-CPU scratch space: the stack
	 * (512 bytes for the whole call chain) cannot hold them. */
	sc = xlb_scratch_get();
	if (!sc)
		return verdict(xlb_act_drop(c), XLB_R_DROP_CT_INSERT, c->bytes);
	fib = &sc->fib;
	rkey = &sc->rkey;
	fwd = &sc->fwd;
	rev = &sc->rev;
	__builtin_memset(fwd, 0, sizeof(*fwd));
	__builtin_memset(rev, 0, sizeof(*rev));
	/* kube-proxy's firewall chain drops before anything else. */
	if ((svc->flags & XLB_SVC_F_SOURCE_RANGES) && !xlb_source_allowed(svc, &p->tuple))
		return verdict(xlb_act_drop(c), XLB_R_DROP_SOURCE_RANGE, c->bytes);
	if (!svc->backend_count)
		return xlb_no_backend(c, p, svc, now);
	be = NULL;
	if (svc->affinity_timeout)
		be = xlb_affinity_backend(svc, &p->tuple, now, &be_id);
	if (be)
		XLB_TRACE(tr->choice = XLB_CHOICE_AFFINITY; tr->backend_id = be_id);
	if (!be) {
		be = xlb_select_backend(svc, &p->tuple, &be_id);
		if (!be)
			return verdict(xlb_act_drop(c), XLB_R_DROP_NO_TABLE, c->bytes);
		if (svc->affinity_timeout)
			xlb_affinity_remember(svc, &p->tuple, be_id, now);
	}

	fwd->nat_saddr = p->tuple.saddr;
	fwd->nat_sport = p->tuple.sport;
	fwd->nat_daddr = be->addr;
	fwd->nat_dport = be->port;
	fwd->svc_id = svc->svc_id;
	fwd->backend_id = be_id;
	fwd->flags = ct_next_flags(0, p, false);
	fwd->expires_ns = now + ct_lifetime(p->tuple.proto, fwd->flags);

	rev->nat_saddr = p->tuple.daddr;		/* the frontend */
	rev->nat_sport = p->tuple.dport;
	rev->nat_daddr = p->tuple.saddr;		/* the client */
	rev->nat_dport = p->tuple.sport;
	rev->svc_id = fwd->svc_id;
	rev->backend_id = be_id;
	rev->flags = fwd->flags;
	rev->expires_ns = fwd->expires_ns;

	if (be->flags & XLB_BE_F_LOCAL) {
		int r;

		fwd->kind = XLB_CT_FWD_LOCAL;
		rev->kind = XLB_CT_REPLY_LOCAL;
		ct_peer_key(fwd, &p->tuple, rkey);
		r = xlb_reply_local_insert(rkey, rev, &p->tuple, now);
		if (r)
			return verdict(xlb_act_drop(c), r, c->bytes);
	} else {
		__u32 why;
		__be32 snat;
		int rc;

		/* Refuse before any state is made for a packet we cannot
		 * send. This lookup only picks the egress and its source;
		 * xlb_emit routes by the translated tuple, as it will for
		 * the flow's later packets. */
		why = xlb_route_check(c, p);
		if (why != XLB_R_MAX)
			return verdict(xlb_act_drop(c), why, c->bytes);
		rc = xlb_fib4(c, p, 0, be->addr.v4, 0, be->port, fib,
			      BPF_FIB_LOOKUP_SKIP_NEIGH | BPF_FIB_LOOKUP_SRC);
		if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
			return xlb_too_big(c, p, fib->mtu_result, now);
		if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_SRC_ADDR)
			return verdict(xlb_act_drop(c), XLB_R_DROP_FIB, c->bytes);
		snat = rc == BPF_FIB_LKUP_RET_SUCCESS ? xlb_snat_source(fib) : 0;
		if (!snat)
			return verdict(xlb_act_drop(c), XLB_R_DROP_NO_SNAT_ADDR, c->bytes);
		fwd->kind = XLB_CT_FWD_REMOTE;
		rev->kind = XLB_CT_REPLY_SNAT;
		fwd->nat_saddr.v4 = snat;
		ct_peer_key(fwd, &p->tuple, rkey);
		if (xlb_snat_alloc(&p->tuple, p->tcp_flags, sc, now))
			return verdict(xlb_act_drop(c), XLB_R_DROP_SNAT_EXHAUSTED, c->bytes);
		fwd->nat_sport = rkey->dport;
		/* A flow found again keeps its state. */
		fwd->flags = rev->flags;
		fwd->expires_ns = rev->expires_ns;
	}
	if (bpf_map_update_elem(&xlb_ct, &p->tuple, fwd, BPF_ANY)) {
		bpf_map_delete_elem(&xlb_ct, rkey);
		return verdict(xlb_act_drop(c), XLB_R_DROP_CT_INSERT, c->bytes);
	}
	if (stale_peer && (stale_peer->saddr.v4 != rkey->saddr.v4 ||
			   stale_peer->daddr.v4 != rkey->daddr.v4 ||
			   stale_peer->sport != rkey->sport || stale_peer->dport != rkey->dport))
		bpf_map_delete_elem(&xlb_ct, stale_peer);
	XLB_TRACE(tr->flags |= XLB_TRACE_F_REWRITE; tr->ct = *fwd);
	return xlb_emit(c, p, fwd, fib, now);
}

/* A conntrack hit: account it and send it on as recorded. */
static __always_inline int xlb_hit(struct xlb_ctx *c, struct xlb_pkt *p,
				   struct xlb_ct *ct, __u64 now)
{
	struct xlb_scratch *sc;

	ct_touch(ct, p, now);
	xlb_count_svc(ct->svc_id, c->bytes);
	XLB_TRACE(tr->flags |= XLB_TRACE_F_REWRITE; tr->choice = XLB_CHOICE_CONNTRACK;
		  tr->svc.svc_id = ct->svc_id; tr->backend_id = ct->backend_id; tr->ct = *ct);
	sc = xlb_scratch_get();
	if (!sc)
		return verdict(xlb_act_drop(c), XLB_R_DROP_FIB, c->bytes);
	return xlb_emit(c, p, ct, &sc->fib, now);
}

/*
 * The whole path for one parsed packet. @new_flow and @hit are the hook's
 * out-of-line instances of xlb_new_flow and xlb_hit (out of line so the
 * verifier walks each once, and so the entry's stack frame stays small:
 * the 512-byte limit is for the whole call chain).
 */
#define XLB_HANDLE(c, p, now, new_flow, hit)					\
({										\
	struct xlb_ct_key __stale;						\
	struct xlb_ct *__ct;							\
	int __r;								\
										\
	if (!xlb_frag_ports(p)) {						\
		__r = verdict(xlb_act_pass(c), XLB_R_PASS_FRAG_UNKNOWN, (c)->bytes); \
	} else if ((p)->icmp_err) {						\
		__r = hit((c)->ctx, p, NULL, now, (c)->bytes);			\
	} else {								\
		__ct = bpf_map_lookup_elem(&xlb_ct, &(p)->tuple);		\
		if (__ct && ct_alive(__ct, now))				\
			XLB_TRACE(tr->flags |= XLB_TRACE_F_CT_HIT);		\
		if (!__ct || !ct_alive(__ct, now)) {				\
			__r = new_flow((c)->ctx, p, now, (c)->bytes, NULL);	\
		} else if (xlb_restart(__ct, p)) {				\
			ct_peer_key(__ct, &(p)->tuple, &__stale);		\
			__r = new_flow((c)->ctx, p, now, (c)->bytes, &__stale); \
		} else if (__ct->kind == XLB_CT_REPLY_LOCAL) {			\
			/* A REPLY_LOCAL tuple arriving from outside: not ours. */ \
			__r = new_flow((c)->ctx, p, now, (c)->bytes, NULL);	\
		} else {							\
			__r = hit((c)->ctx, p, __ct, now, (c)->bytes);		\
		}								\
	}									\
	__r;									\
})

/*
 * A forward entry whose flow starts again: on a SYN for TCP, on any packet
 * for UDP, it is balanced afresh when its backend left (an established
 * TCP flow keeps its terminating backend to finish), or when a SYN reuses
 * the tuple of a closed connection (RST, or FIN both ways).
 */
static __always_inline bool xlb_restart(const struct xlb_ct *ct, const struct xlb_pkt *p)
{
	bool syn = (p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN;
	bool start = p->tuple.proto == IPPROTO_UDP || syn;

	if (ct->kind != XLB_CT_FWD_LOCAL && ct->kind != XLB_CT_FWD_REMOTE)
		return false;
	if (p->frag == XLB_FRAG_LATER)
		return false;
	return (start && !xlb_backend_alive(ct)) || (syn && ct_closed(ct->flags));
}

/* An ICMP error is about a packet its receiver sent: the outer
 * destination is the quoted packet's source. Anything else (an off-path
 * sender spraying errors that quote {SNAT address:port -> backend} for
 * every port, transit or promiscuous frames) is not translated: it would
 * reach live flows' clients as a refusal or a lowered path MTU. */
static __always_inline bool xlb_icmp_to_sender(const struct xlb_pkt *p)
{
	return p->ip->daddr == p->tuple.saddr.v4;
}

/* An ICMP error: about a flow we translated (its quoted tuple, swapped,
 * is the key of the flow's other direction), or not ours. */
static __always_inline int xlb_handle_icmp(struct xlb_ctx *c, struct xlb_pkt *p, __u64 now)
{
	struct xlb_ct_key k = {
		.saddr = p->tuple.daddr, .daddr = p->tuple.saddr,
		.sport = p->tuple.dport, .dport = p->tuple.sport,
		.proto = p->tuple.proto, .family = p->tuple.family,
	};
	struct xlb_scratch *sc;
	struct xlb_ct *e;

	if (!xlb_icmp_to_sender(p))
		return verdict(xlb_act_pass(c), XLB_R_PASS_ICMP_FOREIGN, c->bytes);
	e = bpf_map_lookup_elem(&xlb_ct, &k);
	/* REPLY_LOCAL: the Pod's own packets; their errors come from the
	 * client side only at tc egress (xlb_tc_egress). */
	if (!e || !ct_alive(e, now) || e->kind == XLB_CT_REPLY_LOCAL)
		return verdict(xlb_act_pass(c), XLB_R_PASS_NOT_L4, c->bytes);
	sc = xlb_scratch_get();
	if (!sc)
		return verdict(xlb_act_drop(c), XLB_R_DROP_FIB, c->bytes);
	return xlb_emit(c, p, e, &sc->fib, now);
}

#endif /* XLB_BPF_FLOW_H */

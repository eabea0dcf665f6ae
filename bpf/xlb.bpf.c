// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlb's datapath: the XDP program on the node's uplinks and the tc egress
 * program that restores the source of local Pods' replies.
 *
 * XDP, per packet: parse -> conntrack (hit: rewrite as recorded) -> frontend
 * lookup -> backend choice (Maglev) -> conntrack create (both directions;
 * SNAT port allocation for remote backends) -> rewrite -> pass up (local
 * Pod) or FIB + XDP_TX/redirect (remote Pod, SNATed reply). Every verdict
 * is counted under a named reason (enum xlb_reason).
 */
#include "lib/common.h"
#include "lib/maps.h"
#include "lib/stats.h"
#include "lib/parse.h"
#include "lib/csum.h"
#include "lib/ct.h"
#include "lib/lb.h"
#include "lib/nat.h"
#include "lib/fwd.h"
#include "lib/icmp.h"

/* SNAT ports tried before a new remote flow is dropped. */
#define XLB_SNAT_TRIES 16

static __always_inline int verdict(int action, __u32 reason, __u64 bytes)
{
	xlb_count_reason(reason, bytes);
	return action;
}

/*
 * Rewrite per @ct and send on; @ct may live in the map or on the stack.
 * @fib_rc < 0: no FIB lookup made yet (the hit path); it is made here, in
 * per-CPU scratch space, and only for packets that are routed by XDP.
 */
static __always_inline int xlb_emit(struct xdp_md *ctx, struct xlb_pkt *p,
				    const struct xlb_ct *ct, __u64 bytes,
				    int fib_rc, struct bpf_fib_lookup *fib)
{
	__u32 reason, zero = 0;
	int action;

	nat4_xdp(p, ct);
	if (ct->kind == XLB_CT_FWD_LOCAL)
		return verdict(XDP_PASS, XLB_R_FWD_LOCAL, bytes);
	if (fib_rc < 0) {
		struct xlb_scratch *sc = bpf_map_lookup_elem(&xlb_scratch, &zero);

		if (!sc)
			return verdict(XDP_DROP, XLB_R_DROP_FIB, bytes);
		fib = &sc->fib;
		fib_rc = xlb_fib4(ctx, p, p->ip->saddr, p->ip->daddr, fib);
	}
	action = xlb_xmit4(ctx, p, fib_rc, fib, &reason);
	if (reason == XLB_R_FWD_REMOTE && ct->kind == XLB_CT_REPLY_SNAT)
		reason = XLB_R_REPLY_SNAT;
	return verdict(action, reason, bytes);
}

/* Pick a free node port for a remote flow by inserting its reply entry
 * with BPF_NOEXIST: the insert is the reservation, so two CPUs can never
 * take one tuple. An expired entry's port is taken over. */
static __always_inline int xlb_snat_alloc(struct xlb_ct_key *rkey,
					  const struct xlb_ct *rev, __u64 now)
{
	__u32 min = xlb_cfg.snat_port_min, max = xlb_cfg.snat_port_max;
	__u32 range, start;

	if (max < min || max > 65535)
		return -1;
	range = max - min + 1;
	start = bpf_get_prandom_u32();
	for (int i = 0; i < XLB_SNAT_TRIES; i++) {
		struct xlb_ct *old;

		rkey->dport = bpf_htons((__u16)(min + (start + i) % range));
		if (!bpf_map_update_elem(&xlb_ct, rkey, rev, BPF_NOEXIST))
			return 0;
		/* Expired: delete, then reserve like any free port, so two
		 * CPUs taking it over cannot both win. */
		old = bpf_map_lookup_elem(&xlb_ct, rkey);
		if (old && !ct_alive(old, now)) {
			bpf_map_delete_elem(&xlb_ct, rkey);
			if (!bpf_map_update_elem(&xlb_ct, rkey, rev, BPF_NOEXIST))
				return 0;
		}
	}
	return -1;
}

static __always_inline int xlb_no_backend(struct xdp_md *ctx, struct xlb_pkt *p,
					  const struct xlb_svc *svc, __u64 now,
					  __u64 bytes)
{
	/* kube-proxy: ETP Local with endpoints elsewhere drops; a Service
	 * without any endpoint rejects. */
	if ((svc->flags & XLB_SVC_F_ETP_LOCAL) && svc->total_count)
		return verdict(XDP_DROP, XLB_R_DROP_NO_LOCAL_BACKEND, bytes);
	if (xlb_icmp_reject(ctx, p, now) == XDP_TX)
		return verdict(XDP_TX, XLB_R_REJECT_NO_BACKEND, bytes);
	return verdict(XDP_DROP, XLB_R_DROP_NO_BACKEND, bytes);
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
 * A new flow, or one re-balanced (@stale_peer: the reply key of the entry
 * it replaces, whose reply entry and SNAT port are released).
 */
static __noinline int xlb_new_flow(struct xdp_md *ctx, struct xlb_pkt *p,
					__u64 now, __u64 bytes,
					const struct xlb_ct_key *stale_peer)
{
	struct xlb_scratch *sc;
	struct bpf_fib_lookup *fib;
	struct xlb_ct_key *rkey;
	struct xlb_ct *fwd, *rev;
	struct xlb_backend *be;
	__u32 zero = 0;
	struct xlb_svc *svcp, svc_copy, *svc = &svc_copy;
	int fib_rc = -1;
	__u32 be_id = 0;

	svcp = xlb_svc_lookup(&p->tuple);
	if (!svcp)
		return verdict(XDP_PASS, XLB_R_PASS_NOT_FRONTEND, bytes);
	/* One consistent snapshot of the value for this packet. */
	svc_copy = *svcp;
	xlb_count_svc(svc->svc_id, bytes);
	/* The flow's entries are built in per-CPU scratch space: the stack
	 * (512 bytes for the whole call chain) cannot hold them. */
	sc = bpf_map_lookup_elem(&xlb_scratch, &zero);
	if (!sc)
		return verdict(XDP_DROP, XLB_R_DROP_CT_INSERT, bytes);
	fib = &sc->fib;
	rkey = &sc->rkey;
	fwd = &sc->fwd;
	rev = &sc->rev;
	__builtin_memset(fwd, 0, sizeof(*fwd));
	__builtin_memset(rev, 0, sizeof(*rev));
	/* kube-proxy's firewall chain drops before anything else. */
	if ((svc->flags & XLB_SVC_F_SOURCE_RANGES) && !xlb_source_allowed(svc, &p->tuple))
		return verdict(XDP_DROP, XLB_R_DROP_SOURCE_RANGE, bytes);
	if (!svc->backend_count)
		return xlb_no_backend(ctx, p, svc, now, bytes);
	be = NULL;
	if (svc->affinity_timeout)
		be = xlb_affinity_backend(svc, &p->tuple, now, &be_id);
	if (!be) {
		be = xlb_select_backend(svc, &p->tuple, &be_id);
		if (!be)
			return verdict(XDP_DROP, XLB_R_DROP_NO_TABLE, bytes);
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
			return verdict(XDP_DROP, r, bytes);
	} else {
		__u32 why;
		struct xlb_iface *ifc;
		__u32 ifindex;

		/* Read ctx first and on its own: clang would otherwise select
		 * between two pointers and dereference a modified ctx
		 * pointer, which the verifier refuses. */
		ifindex = ctx->ingress_ifindex;
		barrier_var(ifindex);
		fib_rc = xlb_fib4(ctx, p, 0, be->addr.v4, fib);
		/* NO_NEIGH knows the egress too: it is set before the
		 * neighbour lookup. */
		if (fib_rc == BPF_FIB_LKUP_RET_SUCCESS ||
		    fib_rc == BPF_FIB_LKUP_RET_NO_NEIGH)
			ifindex = fib->ifindex;
		/* Refuse before any state is made for a packet we cannot send. */
		why = xlb_xmit4_check(p, fib_rc);
		if (why != XLB_R_MAX)
			return verdict(XDP_DROP, why, bytes);
		ifc = bpf_map_lookup_elem(&xlb_ifaces, &ifindex);
		if (!ifc || !ifc->snat4.v4)
			return verdict(XDP_DROP, XLB_R_DROP_NO_SNAT_ADDR, bytes);
		fwd->kind = XLB_CT_FWD_REMOTE;
		rev->kind = XLB_CT_REPLY_SNAT;
		fwd->nat_saddr = ifc->snat4;
		ct_peer_key(fwd, &p->tuple, rkey);
		if (xlb_snat_alloc(rkey, rev, now))
			return verdict(XDP_DROP, XLB_R_DROP_SNAT_EXHAUSTED, bytes);
		fwd->nat_sport = rkey->dport;
	}
	if (bpf_map_update_elem(&xlb_ct, &p->tuple, fwd, BPF_ANY)) {
		bpf_map_delete_elem(&xlb_ct, rkey);
		return verdict(XDP_DROP, XLB_R_DROP_CT_INSERT, bytes);
	}
	if (stale_peer && (stale_peer->saddr.v4 != rkey->saddr.v4 ||
			   stale_peer->daddr.v4 != rkey->daddr.v4 ||
			   stale_peer->sport != rkey->sport || stale_peer->dport != rkey->dport))
		bpf_map_delete_elem(&xlb_ct, stale_peer);
	return xlb_emit(ctx, p, fwd, bytes, fib_rc, fib);
}

SEC("xdp")
int xlb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	struct xlb_ct_key stale;
	struct xlb_pkt p = {};
	struct xlb_ct *ct;
	__u64 now;
	int r;

	r = xlb_parse(data, data_end, bytes, &p);
	if (r >= 0)
		return verdict(XDP_PASS, r, bytes);

	/* Coarse time (one tick) is plenty for deadlines of seconds, and
	 * costs ~20 ns less per packet than bpf_ktime_get_ns on kvm-clock. */
	now = bpf_ktime_get_coarse_ns();
	ct = bpf_map_lookup_elem(&xlb_ct, &p.tuple);
	if (!ct || !ct_alive(ct, now))
		return xlb_new_flow(ctx, &p, now, bytes, NULL);

	if (ct->kind == XLB_CT_FWD_LOCAL || ct->kind == XLB_CT_FWD_REMOTE) {
		/* A flow (re)starts on a SYN for TCP, on any packet for UDP.
		 * It is balanced afresh when its backend left (an established
		 * TCP flow keeps its terminating backend to finish), or when
		 * a SYN reuses the tuple of a closing connection. */
		bool syn = (p.tcp_flags & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_SYN;
		bool start = p.tuple.proto == IPPROTO_UDP || syn;

		if ((start && !xlb_backend_alive(ct)) ||
		    (syn && (ct->flags & XLB_CT_F_CLOSING))) {
			ct_peer_key(ct, &p.tuple, &stale);
			return xlb_new_flow(ctx, &p, now, bytes, &stale);
		}
	} else if (ct->kind != XLB_CT_REPLY_SNAT) {
		/* A REPLY_LOCAL tuple arriving from outside: not ours. */
		return xlb_new_flow(ctx, &p, now, bytes, NULL);
	}
	ct_touch(ct, &p, now);
	xlb_count_svc(ct->svc_id, bytes);
	return xlb_emit(ctx, &p, ct, bytes, -1, NULL);
}

/* Headers tc may need in the linear area: VLAN Ethernet + IPv4 with
 * options + TCP without options. */
#define XLB_TC_PULL (ETH_HLEN + 4 + 60 + 20)

SEC("tc")
int xlb_tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u64 bytes = skb->len;
	struct xlb_pkt p = {};
	struct xlb_ct *ct;
	__u64 now;
	int r;

	r = xlb_parse(data, data_end, skb->len, &p);
	if (r == XLB_R_PASS_MALFORMED && skb->len > data_end - data) {
		/* Headers not all in the linear part: pull and look again. */
		bpf_skb_pull_data(skb, skb->len < XLB_TC_PULL ? skb->len : XLB_TC_PULL);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		__builtin_memset(&p, 0, sizeof(p));
		r = xlb_parse(data, data_end, skb->len, &p);
	}
	if (r >= 0)
		return verdict(TC_ACT_OK, XLB_R_TC_PASS, bytes);

	now = bpf_ktime_get_coarse_ns();
	ct = bpf_map_lookup_elem(&xlb_ct, &p.tuple);
	if (!ct || ct->kind != XLB_CT_REPLY_LOCAL || !ct_alive(ct, now))
		return verdict(TC_ACT_OK, XLB_R_TC_PASS, bytes);
	ct_touch(ct, &p, now);
	xlb_count_svc(ct->svc_id, bytes);
	if (nat4_tc(skb, &p, ct))
		return verdict(TC_ACT_SHOT, XLB_R_DROP_NAT_FAILED, bytes);
	return verdict(TC_ACT_OK, XLB_R_REPLY_LOCAL, bytes);
}

/*
 * tc ingress on the uplinks: packets XDP translated but could not send
 * because the next hop's MAC is unknown carry a note in their metadata;
 * bpf_redirect_neigh sends them out with neighbour resolution. Everything
 * else goes on untouched and uncounted (XDP counted it already).
 */
SEC("tc")
int xlb_tc_ingress(struct __sk_buff *skb)
{
	struct xlb_meta *meta = (void *)(long)skb->data_meta;
	void *data = (void *)(long)skb->data;

	if ((void *)(meta + 1) > data || meta->magic != XLB_META_MAGIC)
		return TC_ACT_OK;
	return bpf_redirect_neigh(meta->ifindex, NULL, 0, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

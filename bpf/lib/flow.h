/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The per-packet path both hooks run (see ctx.h), as XLB_HANDLE: the
 * fragment's ports (frag.h), then an ICMP error to the flow it is about
 * (icmp_xlate.h), a conntrack hit sent on as recorded (fwd.h), or a new
 * flow (newflow.h). Every verdict carries a named reason (enum
 * xlb_reason), counted by the entry programs through xlb_account()
 * (stats.h), which also reports it to `xlbctl monitor`.
 */
#ifndef XLB_BPF_FLOW_H
#define XLB_BPF_FLOW_H

#include "ct.h"
#include "ctx.h"
#include "frag.h"
#include "fwd.h"
#include "icmp_xlate.h"
#include "lb.h"
#include "maps.h"
#include "newflow.h"
#include "parse.h"
#include "stats.h"
#include "trace.h"

/* A conntrack hit: account it and send it on as recorded. */
static __always_inline int xlb_hit(struct xlb_ctx *c, struct xlb_pkt *p, struct xlb_ct *ct,
				   __u64 now)
{
	struct xlb_scratch *sc;

	if (xlb_udp6_no_csum(c, p))
		return verdict(xlb_act_drop(c), XLB_R_DROP_UDP6_NO_CSUM, c->bytes);
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

/* An ICMP error: about a flow we translated (its quoted tuple, swapped,
 * is the key of the flow's other direction), or not ours. */
static __always_inline int xlb_handle_icmp(struct xlb_ctx *c, struct xlb_pkt *p, __u64 now)
{
	struct xlb_ct_key k = {
		.saddr = p->tuple.daddr,
		.daddr = p->tuple.saddr,
		.sport = p->tuple.dport,
		.dport = p->tuple.sport,
		.proto = p->tuple.proto,
		.family = p->tuple.family,
	};
	struct xlb_scratch *sc;
	struct xlb_ct *e;

	if (!xlb_icmp_to_sender(c, p))
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

/*
 * The whole path for one parsed packet. @new_flow and @hit are the hook's
 * out-of-line instances of xlb_new_flow and xlb_hit (out of line so the
 * verifier walks each once, and so the entry's stack frame stays small:
 * the 512-byte limit is for the whole call chain).
 */
#define XLB_HANDLE(c, p, now, new_flow, hit)                                                 \
	({                                                                                   \
		struct xlb_ct_key __stale;                                                   \
		struct xlb_ct *__ct;                                                         \
		int __r;                                                                     \
                                                                                             \
		if (!xlb_frag_ports(c, p)) {                                                 \
			__r = verdict(xlb_act_pass(c), XLB_R_PASS_FRAG_UNKNOWN, (c)->bytes); \
		} else if ((p)->icmp_err) {                                                  \
			__r = hit((c)->ctx, p, NULL, now, (c)->bytes);                       \
		} else {                                                                     \
			__ct = bpf_map_lookup_elem(&xlb_ct, &(p)->tuple);                    \
			if (__ct && ct_alive(__ct, now))                                     \
				XLB_TRACE(tr->flags |= XLB_TRACE_F_CT_HIT);                  \
			if (!__ct || !ct_alive(__ct, now)) {                                 \
				__r = new_flow((c)->ctx, p, now, (c)->bytes, NULL);          \
			} else if (xlb_restart(__ct, p)) {                                   \
				ct_peer_key(__ct, &(p)->tuple, &__stale);                    \
				__r = new_flow((c)->ctx, p, now, (c)->bytes, &__stale);      \
			} else if (__ct->kind == XLB_CT_REPLY_LOCAL) {                       \
				/* A REPLY_LOCAL tuple arriving from outside: not ours. */   \
				__r = new_flow((c)->ctx, p, now, (c)->bytes, NULL);          \
			} else {                                                             \
				__r = hit((c)->ctx, p, __ct, now, (c)->bytes);               \
			}                                                                    \
		}                                                                            \
		__r;                                                                         \
	})

#endif /* XLB_BPF_FLOW_H */

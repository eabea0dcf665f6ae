/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tc egress on the uplinks: a local Pod answers a flow xlb DNATed to it
 * (FWD_LOCAL) from its own address, and the stack routes that reply out
 * without passing xlb's ingress path. Its REPLY_LOCAL entry, keyed as the
 * reply leaves, gives it the frontend back as its source; an ICMP error
 * the Pod (or its node) sends about such a flow is translated the same
 * way. Everything else leaves untouched.
 */
#ifndef XLB_BPF_EGRESS_H
#define XLB_BPF_EGRESS_H

#include "ct.h"
#include "ctx.h"
#include "icmp_xlate.h"
#include "maps.h"
#include "nat.h"
#include "parse.h"
#include "stats.h"

/* An error about a local Pod's flow, from the Pod (or its node): the
 * quote is the client's packet as the Pod got it. */
static __always_inline int xlb_egress_icmp(struct xlb_ctx *c, struct xlb_pkt *p, __u64 now)
{
	struct xlb_ct_key k = {
		.saddr = p->tuple.daddr,
		.daddr = p->tuple.saddr,
		.sport = p->tuple.dport,
		.dport = p->tuple.sport,
		.proto = p->tuple.proto,
		.family = p->tuple.family,
	};
	struct xlb_ct *e;

	if (!xlb_icmp_to_sender(c, p))
		return verdict(TC_ACT_OK, XLB_R_PASS_ICMP_FOREIGN, c->bytes);
	e = bpf_map_lookup_elem(&xlb_ct, &k);
	if (!e || e->kind != XLB_CT_REPLY_LOCAL || !ct_alive(e, now))
		return verdict(TC_ACT_OK, XLB_R_TC_PASS, c->bytes);
	if (xlb_icmp_xlate(c, p, e))
		return verdict(TC_ACT_SHOT, XLB_R_DROP_NAT_FAILED, c->bytes);
	return verdict(TC_ACT_OK, XLB_R_ICMP_XLATE, c->bytes);
}

/* A packet of a local Pod's flow: its reply entry's rewrite. */
static __always_inline int xlb_egress_reply(struct xlb_ctx *c, struct xlb_pkt *p, __u64 now)
{
	struct xlb_ct *ct = bpf_map_lookup_elem(&xlb_ct, &p->tuple);

	if (!ct || ct->kind != XLB_CT_REPLY_LOCAL || !ct_alive(ct, now))
		return verdict(TC_ACT_OK, XLB_R_TC_PASS, c->bytes);
	ct_touch(ct, p, now);
	xlb_count_svc(ct->svc_id, c->bytes);
	if (nat_tc(c, p, ct))
		return verdict(TC_ACT_SHOT, XLB_R_DROP_NAT_FAILED, c->bytes);
	return verdict(TC_ACT_OK, XLB_R_REPLY_LOCAL, c->bytes);
}

#endif /* XLB_BPF_EGRESS_H */

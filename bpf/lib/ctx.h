/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One datapath, two hooks. The lookup, conntrack and NAT logic is written
 * once against struct xlb_ctx and compiled for both XDP and tc (the way
 * Cilium's ctx_* overloads work, but in one object): every function that
 * touches the packet takes the context, and the hook is a constant the
 * entry program sets, so clang drops the other hook's branch after
 * inlining and the verifier never sees a helper of the wrong program type.
 *
 * What differs between the hooks lives here and in a few per-hook
 * pairs in nat.h, fwd.h and icmp.h:
 *   - verdict values (XDP_PASS vs TC_ACT_OK, ...);
 *   - packet writes: XDP writes through the parsed pointers and updates
 *     checksums by RFC 1624; tc writes through bpf_skb_store_bytes and the
 *     kernel's csum helpers, which know CHECKSUM_PARTIAL and COMPLETE skbs
 *     (a direct write would leave skb->csum stale). A helper that changes
 *     the skb invalidates every packet pointer, so tc code after the first
 *     write works with offsets and the scalars struct xlb_pkt saved.
 */
#ifndef XLB_BPF_CTX_H
#define XLB_BPF_CTX_H

#include "common.h"

enum xlb_hook {
	XLB_HOOK_XDP,
	XLB_HOOK_TC, /* tc ingress on an uplink */
};

struct xlb_ctx {
	void *ctx;	    /* struct xdp_md or struct __sk_buff */
	__u64 bytes;	    /* packet length, for the counters */
	__u32 ifindex;	    /* the interface the packet came in on */
	enum xlb_hook hook; /* a constant at every call site */
	__u8 family;	    /* enum xlb_family the code is compiled for, a
			     * constant like hook; 0: both (tc egress) */
};

#define xlb_is_tc(c) ((c)->hook == XLB_HOOK_TC)

/*
 * Is @p IPv6? Code that touches headers asks this, never tuple.family: a
 * family-compiled instance answers from the constant (clang drops the other
 * family's code, as for the hook); code for both asks the header pointer.
 * A byte inside a stack slot is unknown to the verifier, which would walk
 * the other family's header accesses too (with a NULL header).
 */
#define xlb_v6(c, p) ((c)->family ? (c)->family == XLB_AF_INET6 : (p)->ip6 != NULL)

static __always_inline int xlb_act_pass(const struct xlb_ctx *c)
{
	return xlb_is_tc(c) ? TC_ACT_OK : XDP_PASS;
}

static __always_inline int xlb_act_drop(const struct xlb_ctx *c)
{
	return xlb_is_tc(c) ? TC_ACT_SHOT : XDP_DROP;
}

static __always_inline void *xlb_data(const struct xlb_ctx *c)
{
	if (xlb_is_tc(c))
		return (void *)(long)((struct __sk_buff *)c->ctx)->data;
	return (void *)(long)((struct xdp_md *)c->ctx)->data;
}

static __always_inline void *xlb_data_end(const struct xlb_ctx *c)
{
	if (xlb_is_tc(c))
		return (void *)(long)((struct __sk_buff *)c->ctx)->data_end;
	return (void *)(long)((struct xdp_md *)c->ctx)->data_end;
}

#endif /* XLB_BPF_CTX_H */

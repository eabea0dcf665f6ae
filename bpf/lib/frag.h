/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IPv4 and IPv6 fragments of TCP/UDP: only the first one carries the ports
 * (see parse.h). It leaves them in xlb_frags (xlb_frags6) under
 * {addresses, IP ID (fragment header id), protocol} for the later ones, so every fragment of a datagram takes the flow's
 * path, at both hooks.
 */
#ifndef XLB_BPF_FRAG_H
#define XLB_BPF_FRAG_H

#include "ctx.h"
#include "maps.h"
#include "parse.h"

/* First fragment: remember its ports. Later fragment: take them; false
 * when the first one was not seen (it may come later: the stack
 * reassembles such datagrams). One body for both families: only the map
 * and its key differ. */
#define XLB_FRAG_PORTS(p, map, k)                                            \
	({                                                                   \
		struct xlb_frag *__f;                                        \
		bool __ok = true;                                            \
                                                                             \
		if ((p)->frag == XLB_FRAG_FIRST) {                           \
			struct xlb_frag __v = { .sport = (p)->tuple.sport,   \
						.dport = (p)->tuple.dport }; \
                                                                             \
			bpf_map_update_elem(&(map), &(k), &__v, BPF_ANY);    \
		} else {                                                     \
			__f = bpf_map_lookup_elem(&(map), &(k));             \
			if (__f) {                                           \
				(p)->tuple.sport = __f->sport;               \
				(p)->tuple.dport = __f->dport;               \
			} else {                                             \
				__ok = false;                                \
			}                                                    \
		}                                                            \
		__ok;                                                        \
	})

static __always_inline bool xlb_frag_ports(const struct xlb_ctx *c, struct xlb_pkt *p)
{
	if (p->frag == XLB_FRAG_NONE)
		return true;
	if (xlb_v6(c, p)) {
		struct xlb_frag6_key k = { .saddr = p->tuple.saddr,
					   .daddr = p->tuple.daddr,
					   .id = p->frag_id,
					   .proto = p->tuple.proto };

		return XLB_FRAG_PORTS(p, xlb_frags6, k);
	} else {
		struct xlb_frag_key k = { .saddr = p->tuple.saddr.v4,
					  .daddr = p->tuple.daddr.v4,
					  .id = p->ip_id,
					  .proto = p->tuple.proto };

		return XLB_FRAG_PORTS(p, xlb_frags, k);
	}
}

#endif /* XLB_BPF_FRAG_H */

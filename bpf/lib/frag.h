/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * IPv4 fragments of TCP/UDP: only the first one carries the ports (see
 * parse.h). It leaves them in xlb_frags under {addresses, IP ID, protocol}
 * for the later ones, so every fragment of a datagram takes the flow's
 * path, at both hooks.
 */
#ifndef XLB_BPF_FRAG_H
#define XLB_BPF_FRAG_H

#include "maps.h"
#include "parse.h"

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

#endif /* XLB_BPF_FRAG_H */

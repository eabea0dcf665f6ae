/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Connection tracking. Each translated flow has two entries in xlb_ct: the
 * one for the client's packets (FWD_*), keyed as they arrive at XDP, and
 * its peer for the backend's replies (REPLY_*), keyed as those arrive at the
 * hook that handles them. An entry's value is the full rewrite, so the peer
 * of any entry is its own rewritten tuple, swapped: one rule for all kinds.
 *
 * Expiry is a deadline in the value; an expired entry is a miss. To keep
 * cache lines quiet the deadline is written at most once a second per flow,
 * and when it is written the peer's deadline is moved along with it, so a
 * one-way UDP stream cannot lose its reply entry (and its SNAT port) while
 * the forward entry lives.
 */
#ifndef XLB_BPF_CT_H
#define XLB_BPF_CT_H

#include "maps.h"
#include "parse.h"

static __always_inline bool ct_alive(const struct xlb_ct *ct, __u64 now)
{
	return ct->expires_ns > now;
}

/* Read once: another CPU may be taking the entry over (XLB_CT_LOCKED). */
static __always_inline __u64 ct_expires(const struct xlb_ct *ct)
{
	return *(volatile const __u64 *)&ct->expires_ns;
}

/* The key under which the peer entry of @ct is stored. */
static __always_inline void ct_peer_key(const struct xlb_ct *ct, const struct xlb_ct_key *k,
					struct xlb_ct_key *peer)
{
	peer->saddr = ct->nat_daddr;
	peer->daddr = ct->nat_saddr;
	peer->sport = ct->nat_dport;
	peer->dport = ct->nat_sport;
	peer->proto = k->proto;
	peer->family = k->family;
	peer->pad[0] = 0;
	peer->pad[1] = 0;
}

static __always_inline bool ct_is_reply(__u8 kind)
{
	return kind == XLB_CT_REPLY_LOCAL || kind == XLB_CT_REPLY_SNAT;
}

static __always_inline __u8 ct_peer_kind(__u8 kind)
{
	switch (kind) {
	case XLB_CT_FWD_LOCAL:
		return XLB_CT_REPLY_LOCAL;
	case XLB_CT_REPLY_LOCAL:
		return XLB_CT_FWD_LOCAL;
	case XLB_CT_FWD_REMOTE:
		return XLB_CT_REPLY_SNAT;
	default:
		return XLB_CT_FWD_REMOTE;
	}
}

/*
 * New flags after a packet of the flow (@reply: sent by the backend).
 *
 * TCP follows the handshake: the backend's SYN-ACK sets SEEN_REPLY, and
 * only the client's ACK after it establishes the flow, so neither SYNs
 * nobody completes nor lone ACKs ever earn the long lifetime (and pin a
 * SNAT port with it). A blind ACK after a real SYN-ACK does establish it,
 * but the backend answers that with RST, which closes it again.
 *
 * FINs are kept per direction: one side's FIN is a half-close, and data
 * may flow the other way for as long as it likes. An RST closes the flow,
 * unless its sender is later seen sending again: then the RST was not its
 * own (out of window, spoofed) and it is forgotten. UDP becomes a stream
 * (ESTABLISHED) when the client speaks again after a reply.
 */
static __always_inline __u8 ct_next_flags(__u8 flags, const struct xlb_pkt *p, bool reply)
{
	__u8 tf = p->tcp_flags;

	if (p->tuple.proto != IPPROTO_TCP) {
		if (reply)
			return flags | XLB_CT_F_SEEN_REPLY;
		if (flags & XLB_CT_F_SEEN_REPLY)
			return flags | XLB_CT_F_ESTABLISHED;
		return flags;
	}
	if (tf & XLB_TCP_RST) {
		flags |= XLB_CT_F_RST;
		if (reply)
			return flags | XLB_CT_F_RST_BACKEND;
		return flags & ~XLB_CT_F_RST_BACKEND;
	}
	if ((flags & XLB_CT_F_RST) && reply == !!(flags & XLB_CT_F_RST_BACKEND))
		flags &= ~(XLB_CT_F_RST | XLB_CT_F_RST_BACKEND);
	if (reply && (tf & (XLB_TCP_SYN | XLB_TCP_ACK)) == (XLB_TCP_SYN | XLB_TCP_ACK))
		flags |= XLB_CT_F_SEEN_REPLY;
	else if (!reply && (tf & (XLB_TCP_SYN | XLB_TCP_ACK)) == XLB_TCP_ACK &&
		 (flags & XLB_CT_F_SEEN_REPLY))
		flags |= XLB_CT_F_ESTABLISHED;
	if (tf & XLB_TCP_FIN) {
		if (reply) {
			flags |= XLB_CT_F_FIN_BACKEND;
		} else {
			/* The backend's FIN came first: it is the active
			 * closer and keeps the tuple in TIME_WAIT. */
			if ((flags & XLB_CT_F_FIN_BACKEND) && !(flags & XLB_CT_F_FIN_CLIENT))
				flags |= XLB_CT_F_BACKEND_TW;
			flags |= XLB_CT_F_FIN_CLIENT;
		}
	}
	return flags;
}

/* TCP: RST seen, or both sides sent FIN: a SYN on the tuple is a new
 * connection. */
static __always_inline bool ct_closed(__u8 flags)
{
	return (flags & XLB_CT_F_RST) || (flags & XLB_CT_F_FINS) == XLB_CT_F_FINS;
}

/* TCP, not yet established, not closing. */
static __always_inline bool ct_handshake(__u8 proto, __u8 flags)
{
	return proto == IPPROTO_TCP &&
	       !(flags & (XLB_CT_F_ESTABLISHED | XLB_CT_F_RST | XLB_CT_F_FINS));
}

static __always_inline __u64 ct_lifetime(__u8 proto, __u8 flags)
{
	if (proto != IPPROTO_TCP)
		return flags & XLB_CT_F_ESTABLISHED ? xlb_cfg.ct_udp_stream_ns : xlb_cfg.ct_udp_ns;
	if (flags & XLB_CT_F_RST)
		return xlb_cfg.ct_tcp_close_ns;
	if ((flags & XLB_CT_F_FINS) == XLB_CT_F_FINS)
		return xlb_cfg.ct_tcp_time_wait_ns;
	if (flags & XLB_CT_F_FINS)
		return xlb_cfg.ct_tcp_half_closed_ns;
	if (flags & XLB_CT_F_ESTABLISHED)
		return xlb_cfg.ct_tcp_est_ns;
	if (flags & XLB_CT_F_SEEN_REPLY)
		return xlb_cfg.ct_tcp_syn_recv_ns;
	return xlb_cfg.ct_tcp_syn_sent_ns;
}

/* Does @peer lead back to the flow whose packet has tuple @k? */
static __always_inline bool ct_peer_matches(const struct xlb_ct *peer, const struct xlb_ct_key *k)
{
	return xlb_addr_eq(&peer->nat_saddr, &k->daddr) &&
	       xlb_addr_eq(&peer->nat_daddr, &k->saddr) && peer->nat_sport == k->dport &&
	       peer->nat_dport == k->sport;
}

/*
 * Account a packet of the flow to @ct (which lives in the map). When the
 * deadline is rewritten (at most once a second) the peer is checked too:
 * the LRU may have evicted it. A missing peer is put back; a peer slot that
 * another flow has taken since (its SNAT port was free) is left alone and
 * this flow is expired instead, so two flows never share one tuple.
 */
static __always_inline void ct_touch(struct xlb_ct *ct, const struct xlb_pkt *p, __u64 now)
{
	__u8 flags = ct_next_flags(ct->flags, p, ct_is_reply(ct->kind));
	__u64 expires = now + ct_lifetime(p->tuple.proto, flags);
	struct xlb_ct_key peer_key;
	struct xlb_ct *peer;

	/* Unsigned: also true when the new deadline is earlier (closing).
	 * A TCP handshake's deadline moves only when its state does: the
	 * backend retransmitting its SYN-ACK to a client that never answers
	 * (or a client repeating its SYN) does not keep it alive, and the
	 * time since its last change is what early reclaim measures. */
	if (flags == ct->flags &&
	    (expires - ct->expires_ns < NS_PER_SEC || ct_handshake(p->tuple.proto, flags)))
		return;
	ct->flags = flags;
	ct->expires_ns = expires;

	ct_peer_key(ct, &p->tuple, &peer_key);
	peer = bpf_map_lookup_elem(&xlb_ct, &peer_key);
	/* Locked: another flow is taking the SNAT port over right now. */
	if (peer && ct_expires(peer) == XLB_CT_LOCKED) {
		ct->expires_ns = 0;
	} else if (peer && ct_peer_matches(peer, &p->tuple)) {
		peer->flags = flags;
		peer->expires_ns = expires;
	} else if (peer && ct_alive(peer, now)) {
		ct->expires_ns = 0;
	} else {
		struct xlb_ct v = {
			.nat_saddr = p->tuple.daddr,
			.nat_daddr = p->tuple.saddr,
			.nat_sport = p->tuple.dport,
			.nat_dport = p->tuple.sport,
			.kind = ct_peer_kind(ct->kind),
			.flags = flags,
			.svc_id = ct->svc_id,
			.backend_id = ct->backend_id,
			.expires_ns = expires,
		};

		if (bpf_map_update_elem(&xlb_ct, &peer_key, &v, peer ? BPF_EXIST : BPF_NOEXIST))
			ct->expires_ns = 0;
	}
}

/* Do @a and @b make the same rewrite? */
static __always_inline bool ct_same_nat(const struct xlb_ct *a, const struct xlb_ct *b)
{
	return xlb_addr_eq(&a->nat_saddr, &b->nat_saddr) &&
	       xlb_addr_eq(&a->nat_daddr, &b->nat_daddr) && a->nat_sport == b->nat_sport &&
	       a->nat_dport == b->nat_dport;
}

/* Closed for certain: FIN both ways, or an RST the Pod sent (its own
 * packets reach us at tc; a client's RST is unchecked, since conntrack
 * keeps no sequence numbers, and could be spoofed). */
static __always_inline bool ct_closed_surely(__u8 flags)
{
	return (flags & XLB_CT_F_FINS) == XLB_CT_F_FINS ||
	       (flags & (XLB_CT_F_RST | XLB_CT_F_RST_BACKEND)) ==
		       (XLB_CT_F_RST | XLB_CT_F_RST_BACKEND);
}

/*
 * A local Pod's reply entry (sc->rev under sc->rkey): never clobber one
 * that a live flow owns (the same client port towards two frontends of one
 * Pod). A flow closed for certain gives the tuple up, as nf_conntrack
 * reopens a closed tuple on a SYN: clients reuse a port towards another
 * address at once. Not on a client's RST: a spoofed RST and SYN would
 * otherwise move a live connection's tuple (its challenge ACK would leave
 * as the other frontend, and the client's RST to that would reset it).
 * The old flow's forward entry goes with it, so its stragglers are not
 * rewritten onto the new flow's tuple. Keys on scratch space only
 * (sc->pkey is free on this path): the stack is full at this depth.
 */
static __always_inline int xlb_reply_local_insert(struct xlb_scratch *sc, __u64 now)
{
	struct xlb_ct *old;

	if (!bpf_map_update_elem(&xlb_ct, &sc->rkey, &sc->rev, BPF_NOEXIST))
		return 0;
	old = bpf_map_lookup_elem(&xlb_ct, &sc->rkey);
	if (old && ct_alive(old, now) && !ct_same_nat(old, &sc->rev)) {
		if (old->kind != XLB_CT_REPLY_LOCAL || !ct_closed_surely(old->flags))
			return XLB_R_DROP_CT_CLASH;
		ct_peer_key(old, &sc->rkey, &sc->pkey);
		old = bpf_map_lookup_elem(&xlb_ct, &sc->pkey);
		if (old && old->kind == XLB_CT_FWD_LOCAL && ct_peer_matches(old, &sc->rkey))
			bpf_map_delete_elem(&xlb_ct, &sc->pkey);
	}
	return bpf_map_update_elem(&xlb_ct, &sc->rkey, &sc->rev, BPF_ANY) ? XLB_R_DROP_CT_INSERT :
									    0;
}

#endif /* XLB_BPF_CT_H */

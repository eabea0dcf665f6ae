/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Local access: sockets on the node, and in its Pods, that talk to a
 * frontend (<node address>:<nodePort>, an LB VIP, an externalIP) are
 * translated at the socket, by cgroup sock_addr programs on the cgroup
 * the agent is given (the cgroup root by default: the host and every Pod).
 *
 * Why the socket and not tc on the Pod veths: such packets never cross an
 * uplink (the node's own traffic does not cross any device at all, it is
 * delivered through loopback to the node address, where nothing
 * listens). At connect()/sendmsg() the socket is simply pointed at a
 * backend chosen by the same Maglev table, so no per-packet NAT, no
 * conntrack entry and no SNAT port are needed: the kernel's own routing
 * and source selection take it from there (a remote backend sees the
 * node's or the Pod's address, as with kube-proxy's masquerade). The
 * price: getpeername() and recvmsg() would show the backend, so they are
 * translated back from xlb_sock_rev (IPv4 backends) and xlb_sock_rev6.
 *
 * IPv6 sockets run the *6 programs, also when they talk IPv4 through an
 * IPv4-mapped address (::ffff:a.b.c.d, a dual-stack socket): that is the
 * IPv4 frontend, its backend is written back mapped, and its translation
 * is kept in xlb_sock_rev like any IPv4 one.
 */
#ifndef XLB_BPF_SOCK_H
#define XLB_BPF_SOCK_H

#include "lb.h"
#include "stats.h"

/*
 * The backend for the socket of @ctx asking for frontend @t (daddr, dport,
 * proto, family), or NULL: not a frontend, or one not to short-circuit.
 * @t is the hash input afterwards; *@cookie the socket's cookie (read only
 * for a frontend: every connect() and datagram comes here).
 */
static __always_inline struct xlb_backend *
xlb_sock_backend(struct bpf_sock_addr *ctx, struct xlb_ct_key *t, __u64 *cookie, __u32 *svc_id)
{
	struct xlb_svc *svcp, svc;
	struct xlb_backend *be;
	__u32 id;

	if (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP)
		return NULL;
	svcp = xlb_svc_lookup(t);
	if (!svcp)
		return NULL;
	svc = *svcp;
	/* loadBalancerSourceRanges bind the node and its Pods too. The
	 * socket's source address is not chosen yet at connect(), so such a
	 * VIP is not short-circuited here: its packets take the network path
	 * (the router sends them back to the VIP's node), where the uplink
	 * datapath checks the ranges against the packet's real source. */
	if (svc.flags & XLB_SVC_F_SOURCE_RANGES)
		return NULL;
	/* No backend: let it go to the frontend address, where the node
	 * answers RST / port unreachable (a refusal, as kube-proxy gives). */
	if (!svc.backend_count)
		return NULL;
	/* The source port is not chosen yet: the socket's cookie spreads
	 * the flows over the table instead. */
	*cookie = bpf_get_socket_cookie(ctx);
	t->saddr.v4 = (__u32)(*cookie >> 32);
	t->sport = (__be16)*cookie;
	t->dport ^= (__be16)(*cookie >> 16);
	be = xlb_select_backend(&svc, t, &id);
	/* A service port's table holds one family (sync writes one per
	 * family); a backend of the other would be written as garbage. */
	if (!be || be->family != t->family)
		return NULL;
	*svc_id = svc.svc_id;
	return be;
}

static __always_inline void xlb_sock_counted(__u32 svc_id)
{
	xlb_count_svc(svc_id, 0);
	xlb_count_reason(XLB_R_SOCK_XLATE, 0);
}

/* An IPv4 backend for socket @cookie: remember the frontend it asked for. */
static __always_inline void xlb_sock_remember4(__u64 cookie, const struct xlb_backend *be,
					       __be32 fe_addr, __be16 fe_port)
{
	struct xlb_sock_key k = { .cookie = cookie, .addr = be->addr.v4, .port = be->port };
	struct xlb_sock_rev v = { .addr = fe_addr, .port = fe_port };

	bpf_map_update_elem(&xlb_sock_rev, &k, &v, BPF_ANY);
}

static __always_inline int xlb_sock_to_backend(struct bpf_sock_addr *ctx)
{
	struct xlb_ct_key t = {
		.daddr.v4 = ctx->user_ip4,
		.dport = (__be16)ctx->user_port,
		.proto = (__u8)ctx->protocol,
		.family = XLB_AF_INET,
	};
	struct xlb_backend *be;
	__u64 cookie;
	__u32 svc_id;

	be = xlb_sock_backend(ctx, &t, &cookie, &svc_id);
	if (!be)
		return 1;
	xlb_sock_remember4(cookie, be, ctx->user_ip4, (__be16)ctx->user_port);
	ctx->user_ip4 = be->addr.v4;
	ctx->user_port = (__u32)be->port;
	xlb_sock_counted(svc_id);
	return 1;
}

/* recvmsg/getpeername: show the frontend the socket asked for. */
static __always_inline int xlb_sock_to_frontend(struct bpf_sock_addr *ctx)
{
	struct xlb_sock_key k = {
		.cookie = bpf_get_socket_cookie(ctx),
		.addr = ctx->user_ip4,
		.port = (__be16)ctx->user_port,
	};
	struct xlb_sock_rev *v = bpf_map_lookup_elem(&xlb_sock_rev, &k);

	if (v) {
		ctx->user_ip4 = v->addr;
		ctx->user_port = (__u32)v->port;
	}
	return 1;
}

/* The socket's address (the ctx's user_ip6; 4-byte loads only). */
static __always_inline void xlb_sock_addr6(const struct bpf_sock_addr *ctx, union xlb_addr *a)
{
	a->v6[0] = ctx->user_ip6[0];
	a->v6[1] = ctx->user_ip6[1];
	a->v6[2] = ctx->user_ip6[2];
	a->v6[3] = ctx->user_ip6[3];
}

static __always_inline void xlb_sock_set_addr6(struct bpf_sock_addr *ctx, const union xlb_addr *a)
{
	ctx->user_ip6[0] = a->v6[0];
	ctx->user_ip6[1] = a->v6[1];
	ctx->user_ip6[2] = a->v6[2];
	ctx->user_ip6[3] = a->v6[3];
}

/* ::ffff:a.b.c.d (RFC 4291 2.5.5.2) */
static __always_inline bool xlb_v4mapped(const union xlb_addr *a)
{
	return !a->v6[0] && !a->v6[1] && a->v6[2] == bpf_htonl(0xffff);
}

static __always_inline int xlb_sock_to_backend6(struct bpf_sock_addr *ctx)
{
	struct xlb_ct_key t = {
		.dport = (__be16)ctx->user_port,
		.proto = (__u8)ctx->protocol,
		.family = XLB_AF_INET6,
	};
	union xlb_addr fe;
	struct xlb_backend *be;
	__u64 cookie;
	__u32 svc_id;

	xlb_sock_addr6(ctx, &fe);
	if (xlb_v4mapped(&fe)) {
		t.daddr.v4 = fe.v6[3];
		t.family = XLB_AF_INET;
	} else {
		t.daddr = fe;
	}
	be = xlb_sock_backend(ctx, &t, &cookie, &svc_id);
	if (!be)
		return 1;
	if (t.family == XLB_AF_INET) {
		xlb_sock_remember4(cookie, be, fe.v6[3], (__be16)ctx->user_port);
		ctx->user_ip6[3] = be->addr.v4;
	} else {
		struct xlb_sock6_key k = { .cookie = cookie, .addr = be->addr, .port = be->port };
		struct xlb_sock6_rev v = { .addr = fe, .port = (__be16)ctx->user_port };

		bpf_map_update_elem(&xlb_sock_rev6, &k, &v, BPF_ANY);
		xlb_sock_set_addr6(ctx, &be->addr);
	}
	ctx->user_port = (__u32)be->port;
	xlb_sock_counted(svc_id);
	return 1;
}

static __always_inline int xlb_sock_to_frontend6(struct bpf_sock_addr *ctx)
{
	struct xlb_sock6_key k = {
		.cookie = bpf_get_socket_cookie(ctx),
		.port = (__be16)ctx->user_port,
	};
	struct xlb_sock6_rev *v;

	xlb_sock_addr6(ctx, &k.addr);
	if (xlb_v4mapped(&k.addr)) {
		struct xlb_sock_key k4 = { .cookie = k.cookie,
					   .addr = k.addr.v6[3],
					   .port = k.port };
		struct xlb_sock_rev *v4 = bpf_map_lookup_elem(&xlb_sock_rev, &k4);

		if (v4) {
			ctx->user_ip6[3] = v4->addr;
			ctx->user_port = (__u32)v4->port;
		}
		return 1;
	}
	v = bpf_map_lookup_elem(&xlb_sock_rev6, &k);
	if (v) {
		xlb_sock_set_addr6(ctx, &v->addr);
		ctx->user_port = (__u32)v->port;
	}
	return 1;
}

#endif /* XLB_BPF_SOCK_H */

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
 * translated back from xlb_sock_rev.
 */
#ifndef XLB_BPF_SOCK_H
#define XLB_BPF_SOCK_H

#include "lb.h"
#include "stats.h"

static __always_inline int xlb_sock_to_backend(struct bpf_sock_addr *ctx)
{
	struct xlb_ct_key t = {
		.daddr.v4 = ctx->user_ip4,
		.dport = (__be16)ctx->user_port,
		.proto = (__u8)ctx->protocol,
		.family = XLB_AF_INET,
	};
	struct xlb_sock_key k = {};
	struct xlb_sock_rev v = {};
	struct xlb_svc *svcp, svc;
	struct xlb_backend *be;
	__u64 cookie;
	__u32 id;

	if (t.proto != IPPROTO_TCP && t.proto != IPPROTO_UDP)
		return 1;
	svcp = xlb_svc_lookup(&t);
	if (!svcp)
		return 1;
	svc = *svcp;
	/* loadBalancerSourceRanges bind the node and its Pods too. The
	 * socket's source address is not chosen yet at connect(), so such a
	 * VIP is not short-circuited here: its packets take the network path
	 * (the router sends them back to the VIP's node), where the uplink
	 * datapath checks the ranges against the packet's real source. */
	if (svc.flags & XLB_SVC_F_SOURCE_RANGES)
		return 1;
	/* No backend: let it go to the frontend address, where the node
	 * answers RST / port unreachable (a refusal, as kube-proxy gives). */
	if (!svc.backend_count)
		return 1;
	/* The source port is not chosen yet: the socket's cookie spreads
	 * the flows over the table instead. */
	cookie = bpf_get_socket_cookie(ctx);
	t.saddr.v4 = (__u32)(cookie >> 32);
	t.sport = (__be16)cookie;
	t.dport ^= (__be16)(cookie >> 16);
	be = xlb_select_backend(&svc, &t, &id);
	if (!be)
		return 1;
	k.cookie = cookie;
	k.addr = be->addr.v4;
	k.port = be->port;
	v.addr = ctx->user_ip4;
	v.port = (__be16)ctx->user_port;
	bpf_map_update_elem(&xlb_sock_rev, &k, &v, BPF_ANY);
	ctx->user_ip4 = be->addr.v4;
	ctx->user_port = (__u32)be->port;
	xlb_count_svc(svc.svc_id, 0);
	xlb_count_reason(XLB_R_SOCK_XLATE, 0);
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

#endif /* XLB_BPF_SOCK_H */

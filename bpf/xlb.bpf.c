// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlb's datapath entry programs: each parses, hands the packet to its
 * path in lib/ and counts the verdict. The ingress path is lib/flow.h,
 * compiled once per hook (lib/ctx.h):
 *
 *   xlb_xdp         XDP on uplinks whose driver has native XDP: the whole
 *                   path; what XDP cannot finish goes on to tc ingress
 *                   with a note in the metadata;
 *   xlb_tc_ingress  tc ingress beside xlb_xdp: only sends those noted
 *                   packets (bpf_redirect_neigh, bpf_redirect_peer) and
 *                   answers ARP/NS for owned LoadBalancer VIPs (lib/arp.h);
 *   xlb_tc          tc ingress on uplinks without XDP (veth and other
 *                   virtual devices, drivers without native XDP or
 *                   metadata): the whole path, on the skb, ARP/NS
 *                   answers included;
 *   xlb_tc_egress   tc egress on every uplink: a local Pod's replies get
 *                   the frontend back as their source (and errors about
 *                   them are translated: lib/egress.h);
 *   xlb_sock_*      cgroup sock_addr, IPv4 (*4) and IPv6 (*6): the node's and
 *                   its Pods' own sockets to a frontend go to a backend
 *                   (lib/sock.h).
 *
 * IPv6 runs the same path, compiled from the same code, in programs of
 * its own: xlb_xdp and xlb_tc hand IPv6 frames to xlb_xdp6 and xlb_tc6
 * with a tail call (xlb_xdp_progs6, xlb_tc_progs6). One program walking both families'
 * states would pass the verifier's 1M-instruction budget (measured:
 * 1M+ with both inline, against ~350k for IPv4 alone); each family's
 * program gets a budget of its own. xlb_tc_egress (small) takes both.
 */
#include "lib/arp.h"
#include "lib/egress.h"
#include "lib/flow.h"
#include "lib/sock.h"

/*
 * The out-of-line pieces of the path, one instance per hook and family
 * (the family, like the hook, is a constant of the instance's context).
 */
#define XLB_INSTANCES(fam, F)                                                                  \
	static __noinline int xlb_new_flow_xdp##fam(struct xdp_md *ctx, struct xlb_pkt *p,     \
						    __u64 now, __u64 bytes,                    \
						    const struct xlb_ct_key *stale)            \
	{                                                                                      \
		struct xlb_ctx c = { .ctx = ctx,                                               \
				     .bytes = bytes,                                           \
				     .ifindex = ctx->ingress_ifindex,                          \
				     .hook = XLB_HOOK_XDP,                                     \
				     .family = F };                                            \
                                                                                               \
		return xlb_new_flow(&c, p, now, stale);                                        \
	}                                                                                      \
                                                                                               \
	static __noinline int xlb_new_flow_tc##fam(struct __sk_buff *skb, struct xlb_pkt *p,   \
						   __u64 now, __u64 bytes,                     \
						   const struct xlb_ct_key *stale)             \
	{                                                                                      \
		struct xlb_ctx c = { .ctx = skb,                                               \
				     .bytes = bytes,                                           \
				     .ifindex = skb->ifindex,                                  \
				     .hook = XLB_HOOK_TC,                                      \
				     .family = F };                                            \
                                                                                               \
		return xlb_new_flow(&c, p, now, stale);                                        \
	}                                                                                      \
                                                                                               \
	/* @ct NULL: @p is an ICMP error, to be matched to its flow. */                        \
	static __noinline int xlb_hit_xdp##fam(struct xdp_md *ctx, struct xlb_pkt *p,          \
					       struct xlb_ct *ct, __u64 now, __u64 bytes)      \
	{                                                                                      \
		struct xlb_ctx c = { .ctx = ctx,                                               \
				     .bytes = bytes,                                           \
				     .ifindex = ctx->ingress_ifindex,                          \
				     .hook = XLB_HOOK_XDP,                                     \
				     .family = F };                                            \
                                                                                               \
		return ct ? xlb_hit(&c, p, ct, now) : xlb_handle_icmp(&c, p, now);             \
	}                                                                                      \
                                                                                               \
	static __noinline int xlb_hit_tc##fam(struct __sk_buff *skb, struct xlb_pkt *p,        \
					      struct xlb_ct *ct, __u64 now, __u64 bytes)       \
	{                                                                                      \
		struct xlb_ctx c = { .ctx = skb,                                               \
				     .bytes = bytes,                                           \
				     .ifindex = skb->ifindex,                                  \
				     .hook = XLB_HOOK_TC,                                      \
				     .family = F };                                            \
                                                                                               \
		return ct ? xlb_hit(&c, p, ct, now) : xlb_handle_icmp(&c, p, now);             \
	}                                                                                      \
                                                                                               \
	/* Out of line: the entry's frame (with the packet) plus this one's plus             \
	 * xlb_new_flow_tc's stay within the 512 bytes of the call chain. */ \
	static __noinline int xlb_tc_run##fam(struct xlb_ctx *c, struct xlb_pkt *p)            \
	{                                                                                      \
		__u64 now;                                                                     \
		int r;                                                                         \
                                                                                               \
		r = xlb_tc_parse(c->ctx, p, F);                                                \
		if (r >= 0)                                                                    \
			return verdict(TC_ACT_OK, r, c->bytes);                                \
		now = bpf_ktime_get_coarse_ns();                                               \
		return XLB_HANDLE(c, p, now, xlb_new_flow_tc##fam, xlb_hit_tc##fam);           \
	}

XLB_INSTANCES(4, XLB_AF_INET)
XLB_INSTANCES(6, XLB_AF_INET6)

static __always_inline int xlb_xdp_run(struct xlb_ctx *c, struct xlb_pkt *p, __u8 family)
{
	struct xdp_md *ctx = c->ctx;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 now;
	int r;

	r = xlb_parse(ctx, false, data, data_end, c->bytes, false, p, family);
	if (r >= 0)
		return verdict(XDP_PASS, r, c->bytes);
	/* Coarse time (one tick) is plenty for deadlines of seconds, and
	 * costs ~20 ns less per packet than bpf_ktime_get_ns on kvm-clock. */
	now = bpf_ktime_get_coarse_ns();
	if (family == XLB_AF_INET6)
		return XLB_HANDLE(c, p, now, xlb_new_flow_xdp6, xlb_hit_xdp6);
	return XLB_HANDLE(c, p, now, xlb_new_flow_xdp4, xlb_hit_xdp4);
}

/* Each entry counts (and reports) the verdict its path returned, from the
 * packet as it leaves: a reject or an ICMP rewrite may have resized it. */
static __always_inline int xlb_xdp_entry(struct xdp_md *ctx, __u8 family)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xlb_ctx c = { .ctx = ctx,
			     .bytes = data_end - data,
			     .ifindex = ctx->ingress_ifindex,
			     .hook = XLB_HOOK_XDP,
			     .family = family };
	struct xlb_pkt p = {};
	int r = xlb_xdp_run(&c, &p, family);

	return xlb_account(ctx, &p, r, c.bytes, c.ifindex, XLB_EV_XDP);
}

SEC("xdp")
int xlb_xdp6(struct xdp_md *ctx)
{
	return xlb_xdp_entry(ctx, XLB_AF_INET6);
}

/* The IPv6 programs, slot 0, put there by the loader after load (not by
 * libbpf's static slots: xlbctl explain loads xlb_xdp without the tc
 * programs). One array per program type: an array holds, and is used by,
 * programs of one type only. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xlb_xdp_progs6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xlb_tc_progs6 SEC(".maps");

/* The tail call is made here, in the entry's own frame: the kernel
 * refuses one from a subprogram whose callers' frames hold 256 bytes. A
 * failed call (no IPv6 program: never, the loader fills the array before
 * attaching) counts the frame as not IP. */
SEC("xdp")
int xlb_xdp(struct xdp_md *ctx)
{
	if (xlb_frame_is_ip6((void *)(long)ctx->data, (void *)(long)ctx->data_end))
		bpf_tail_call(ctx, &xlb_xdp_progs6, 0);
	return xlb_xdp_entry(ctx, XLB_AF_INET);
}

static __always_inline int xlb_tc_path(struct __sk_buff *skb, __u8 family)
{
	struct xlb_ctx c = { .ctx = skb,
			     .bytes = skb->len,
			     .ifindex = skb->ifindex,
			     .hook = XLB_HOOK_TC,
			     .family = family };
	struct xlb_pkt p = {};
	int r = family == XLB_AF_INET6 ? xlb_tc_run6(&c, &p) : xlb_tc_run4(&c, &p);

	return xlb_account(skb, &p, r, c.bytes, c.ifindex, XLB_EV_TC);
}

/* ARP requests and NS for owned VIPs are answered first (lib/arp.h), in a
 * subprogram called before the path's locals exist, so the frame the whole
 * path needs does not grow. */
SEC("tc")
int xlb_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) <= data_end &&
	    (eth->h_proto == bpf_htons(ETH_P_ARP) || eth->h_proto == bpf_htons(ETH_P_IPV6))) {
		int a = xlb_l2_answer(skb);

		if (a >= 0)
			return a;
	}
	/* xlb_l2_answer may have pulled: the pointers are read anew. */
	if (xlb_frame_is_ip6((void *)(long)skb->data, (void *)(long)skb->data_end))
		bpf_tail_call(skb, &xlb_tc_progs6, 0);
	return xlb_tc_path(skb, XLB_AF_INET);
}

SEC("tc")
int xlb_tc6(struct __sk_buff *skb)
{
	return xlb_tc_path(skb, XLB_AF_INET6);
}

static __always_inline int xlb_tc_egress_run(struct xlb_ctx *c, struct xlb_pkt *p)
{
	__u64 now;
	int r;

	r = xlb_tc_parse(c->ctx, p, 0);
	if (r >= 0 || !xlb_frag_ports(c, p))
		return verdict(TC_ACT_OK, XLB_R_TC_PASS, c->bytes);
	now = bpf_ktime_get_coarse_ns();
	if (p->icmp_err)
		return xlb_egress_icmp(c, p, now);
	return xlb_egress_reply(c, p, now);
}

SEC("tc")
int xlb_tc_egress(struct __sk_buff *skb)
{
	struct xlb_ctx c = {
		.ctx = skb, .bytes = skb->len, .ifindex = skb->ifindex, .hook = XLB_HOOK_TC
	};
	struct xlb_pkt p = {};
	int r = xlb_tc_egress_run(&c, &p);

	return xlb_account(skb, &p, r, c.bytes, c.ifindex, XLB_EV_TC_EGRESS);
}

/*
 * tc ingress beside XDP: packets XDP translated but could not send (next
 * hop's MAC unknown, or an egress that is not an XDP uplink) carry a note
 * in their metadata; bpf_redirect_neigh sends them out through the stack's
 * xmit. Packets for a local Pod's veth go in with bpf_redirect_peer.
 * ARP requests and Neighbor Solicitations for VIPs this node owns are
 * answered (lib/arp.h). Everything else goes on untouched and uncounted
 * (XDP counted it).
 */
SEC("tc")
int xlb_tc_ingress(struct __sk_buff *skb)
{
	struct xlb_meta *meta = (void *)(long)skb->data_meta;
	void *data = (void *)(long)skb->data;
	int r;

	if ((void *)(meta + 1) <= data) {
		if (meta->magic == XLB_META_PEER)
			return bpf_redirect_peer(meta->ifindex, 0);
		if (meta->magic == XLB_META_MAGIC)
			return bpf_redirect_neigh(meta->ifindex, NULL, 0, 0);
	}
	r = xlb_l2_answer(skb);
	return r < 0 ? TC_ACT_OK : r;
}

SEC("cgroup/connect4")
int xlb_sock_connect4(struct bpf_sock_addr *ctx)
{
	return xlb_sock_to_backend(ctx);
}

SEC("cgroup/sendmsg4")
int xlb_sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return xlb_sock_to_backend(ctx);
}

SEC("cgroup/recvmsg4")
int xlb_sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return xlb_sock_to_frontend(ctx);
}

SEC("cgroup/getpeername4")
int xlb_sock_getpeername4(struct bpf_sock_addr *ctx)
{
	return xlb_sock_to_frontend(ctx);
}

SEC("cgroup/connect6")
int xlb_sock_connect6(struct bpf_sock_addr *ctx)
{
	return xlb_sock_to_backend6(ctx);
}

SEC("cgroup/sendmsg6")
int xlb_sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	return xlb_sock_to_backend6(ctx);
}

SEC("cgroup/recvmsg6")
int xlb_sock_recvmsg6(struct bpf_sock_addr *ctx)
{
	return xlb_sock_to_frontend6(ctx);
}

SEC("cgroup/getpeername6")
int xlb_sock_getpeername6(struct bpf_sock_addr *ctx)
{
	return xlb_sock_to_frontend6(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

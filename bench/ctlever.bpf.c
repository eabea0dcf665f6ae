// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Issue 12's conntrack levers, measured in the kernel: the conntrack part
 * of a packet alone (no frontend, Maglev or counters), over the frames the
 * xdp_flows harness sends (harness.bpf.c tail-calls these), with two key
 * layouts in two maps of the same size and LRU flavour as xlb_ct:
 *
 *   wide  the product's struct xlb_ct_key (40 bytes: 16-byte addresses for
 *         both families) -> struct xlb_ct (56 bytes)
 *   v4    an IPv4-only key {saddr, daddr, sport, dport, proto, pad}
 *         (16 bytes) -> a value with what IPv4 needs (32 bytes)
 *
 * and per layout, what the product does with conntrack for:
 *
 *   hit     an established packet: lookup, expired?, kind, the deadline
 *           test of ct_touch (no write: within TOUCH_NS), DNAT from the
 *           value
 *   new2    a new flow as the product makes it: lookup (miss), the reply
 *           entry (BPF_NOEXIST) and the forward entry (BPF_ANY)
 *   new1    the same with the forward entry only (one entry per flow; the
 *           reply would need a second index, not modelled: this is the
 *           cost of 1 vs 2 inserts)
 *   lookup  the bare lookup, for a hot (one flow) vs cold (200k flows) key,
 *           and cold in a v4 table of 256k entries instead of 1M (v4s)
 *
 * A packet that took the measured path counts itself in ct_ok; pktbench
 * checks that every run did, so a figure never measures another path.
 * The backend is one local Pod, as pktbench's 1-service rows.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include <xlb/abi.h>

#define NS_PER_SEC 1000000000ull
#define LIFETIME   (120 * NS_PER_SEC) /* any: the deadline is only compared */
/* ct_touch moves the deadline when a second has passed; here ten, so that
 * on a loaded machine the seconds between the new-flow and the hit passes
 * never turn the hit into the write path (same test, same cost). */
#define TOUCH_NS (10 * NS_PER_SEC)
#define BE_ADDR	 bpf_htonl(0x0a800000u) /* 10.128.0.0:8080, pktbench's */
#define BE_PORT	 bpf_htons(8080)
#define SVC_ID	 2
#define BE_ID	 100

struct ct4_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};
_Static_assert(sizeof(struct ct4_key) == 16, "ct4_key size");

struct ct4 {
	__be32 nat_saddr;
	__be32 nat_daddr;
	__be16 nat_sport;
	__be16 nat_dport;
	__u8 kind;
	__u8 flags;
	__u16 pad;
	__u32 svc_id;
	__u32 backend_id;
	__u64 expires_ns;
};
_Static_assert(sizeof(struct ct4) == 32, "ct4 size");

/* max_entries and map_flags are set by pktbench to xlb_ct's. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_MAX_CT);
	__type(key, struct xlb_ct_key);
	__type(value, struct xlb_ct);
} ct_wide SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_MAX_CT);
	__type(key, struct ct4_key);
	__type(value, struct ct4);
} ct_v4 SEC(".maps");

/* The v4 layout in a table sized for the flows (256k entries; pktbench
 * leaves it so): the bucket array and elements span 4x fewer pages. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 262144);
	__type(key, struct ct4_key);
	__type(value, struct ct4);
} ct_v4s SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} ct_ok SEC(".maps");

static __always_inline int ok(void)
{
	__u32 k = 0;
	__u64 *n = bpf_map_lookup_elem(&ct_ok, &k);

	if (n)
		(*n)++; /* test_run runs on one CPU at a time here */
	return XDP_PASS;
}

/* Ethernet + IPv4 without options + TCP, bounds-checked. */
static __always_inline struct iphdr *parse(struct xdp_md *ctx, struct tcphdr **tcp)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *t = (void *)(ip + 1);

	if ((void *)(t + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_TCP)
		return NULL;
	*tcp = t;
	return ip;
}

/* ------------------------------------------------- the two layouts */

static __always_inline void wide_key(struct xlb_ct_key *k, const struct iphdr *ip,
				     const struct tcphdr *t)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr.v4 = ip->saddr;
	k->daddr.v4 = ip->daddr;
	k->sport = t->source;
	k->dport = t->dest;
	k->proto = IPPROTO_TCP;
	k->family = XLB_AF_INET;
}

static __always_inline void wide_flow(const struct xlb_ct_key *k, struct xlb_ct_key *rk,
				      struct xlb_ct *fwd, struct xlb_ct *rev, __u64 now)
{
	__builtin_memset(rk, 0, sizeof(*rk));
	__builtin_memset(fwd, 0, sizeof(*fwd));
	__builtin_memset(rev, 0, sizeof(*rev));
	fwd->nat_saddr = k->saddr;
	fwd->nat_sport = k->sport;
	fwd->nat_daddr.v4 = BE_ADDR;
	fwd->nat_dport = BE_PORT;
	fwd->kind = XLB_CT_FWD_LOCAL;
	fwd->svc_id = SVC_ID;
	fwd->backend_id = BE_ID;
	fwd->expires_ns = now + LIFETIME;
	rev->nat_saddr = k->daddr;
	rev->nat_sport = k->dport;
	rev->nat_daddr = k->saddr;
	rev->nat_dport = k->sport;
	rev->kind = XLB_CT_REPLY_LOCAL;
	rev->svc_id = SVC_ID;
	rev->backend_id = BE_ID;
	rev->expires_ns = fwd->expires_ns;
	rk->saddr = fwd->nat_daddr;
	rk->daddr = fwd->nat_saddr;
	rk->sport = fwd->nat_dport;
	rk->dport = fwd->nat_sport;
	rk->proto = k->proto;
	rk->family = k->family;
}

static __always_inline void v4_key(struct ct4_key *k, const struct iphdr *ip,
				   const struct tcphdr *t)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = ip->saddr;
	k->daddr = ip->daddr;
	k->sport = t->source;
	k->dport = t->dest;
	k->proto = IPPROTO_TCP;
}

static __always_inline void v4_flow(const struct ct4_key *k, struct ct4_key *rk, struct ct4 *fwd,
				    struct ct4 *rev, __u64 now)
{
	__builtin_memset(rk, 0, sizeof(*rk));
	__builtin_memset(fwd, 0, sizeof(*fwd));
	__builtin_memset(rev, 0, sizeof(*rev));
	fwd->nat_saddr = k->saddr;
	fwd->nat_sport = k->sport;
	fwd->nat_daddr = BE_ADDR;
	fwd->nat_dport = BE_PORT;
	fwd->kind = XLB_CT_FWD_LOCAL;
	fwd->svc_id = SVC_ID;
	fwd->backend_id = BE_ID;
	fwd->expires_ns = now + LIFETIME;
	rev->nat_saddr = k->daddr;
	rev->nat_sport = k->dport;
	rev->nat_daddr = k->saddr;
	rev->nat_dport = k->sport;
	rev->kind = XLB_CT_REPLY_LOCAL;
	rev->svc_id = SVC_ID;
	rev->backend_id = BE_ID;
	rev->expires_ns = fwd->expires_ns;
	rk->saddr = fwd->nat_daddr;
	rk->daddr = fwd->nat_saddr;
	rk->sport = fwd->nat_dport;
	rk->dport = fwd->nat_sport;
	rk->proto = k->proto;
}

static __always_inline __be32 wide_daddr(const struct xlb_ct *ct)
{
	return ct->nat_daddr.v4;
}

static __always_inline __be32 v4_daddr(const struct ct4 *ct)
{
	return ct->nat_daddr;
}

/* -------------------------------------- the operations, per layout */

#define CT_LEVER(L, MAP, KEY_T, VAL_T)                                            \
	SEC("xdp")                                                                \
	int L##_lookup(struct xdp_md *ctx)                                        \
	{                                                                         \
		struct tcphdr *t;                                                 \
		struct iphdr *ip = parse(ctx, &t);                                \
		KEY_T k;                                                          \
                                                                                  \
		if (!ip)                                                          \
			return XDP_ABORTED;                                       \
		L##_key(&k, ip, t);                                               \
		if (!bpf_map_lookup_elem(&MAP, &k))                               \
			return XDP_DROP;                                          \
		return ok();                                                      \
	}                                                                         \
                                                                                  \
	SEC("xdp")                                                                \
	int L##_hit(struct xdp_md *ctx)                                           \
	{                                                                         \
		__u64 now = bpf_ktime_get_coarse_ns();                            \
		struct tcphdr *t;                                                 \
		struct iphdr *ip = parse(ctx, &t);                                \
		VAL_T *ct;                                                        \
		KEY_T k;                                                          \
                                                                                  \
		if (!ip)                                                          \
			return XDP_ABORTED;                                       \
		L##_key(&k, ip, t);                                               \
		ct = bpf_map_lookup_elem(&MAP, &k);                               \
		if (!ct || ct->expires_ns <= now || ct->kind != XLB_CT_FWD_LOCAL) \
			return XDP_DROP;                                          \
		/* ct_touch: the deadline moves at most once a second; */         \
		/* a write is not the path measured, so it is not counted */      \
		if (now + LIFETIME - ct->expires_ns >= TOUCH_NS) {                \
			ct->expires_ns = now + LIFETIME;                          \
			return XDP_DROP;                                          \
		}                                                                 \
		ip->daddr = L##_daddr(ct);                                        \
		t->dest = ct->nat_dport;                                          \
		return ok();                                                      \
	}                                                                         \
                                                                                  \
	static __always_inline int L##_new(struct xdp_md *ctx, int reply)         \
	{                                                                         \
		__u64 now = bpf_ktime_get_coarse_ns();                            \
		struct tcphdr *t;                                                 \
		struct iphdr *ip = parse(ctx, &t);                                \
		KEY_T k, rk;                                                      \
		VAL_T *ct, fwd, rev;                                              \
                                                                                  \
		if (!ip)                                                          \
			return XDP_ABORTED;                                       \
		L##_key(&k, ip, t);                                               \
		ct = bpf_map_lookup_elem(&MAP, &k);                               \
		if (ct && ct->expires_ns > now)                                   \
			return XDP_DROP;                                          \
		L##_flow(&k, &rk, &fwd, &rev, now);                               \
		if (reply && bpf_map_update_elem(&MAP, &rk, &rev, BPF_NOEXIST))   \
			return XDP_DROP;                                          \
		if (bpf_map_update_elem(&MAP, &k, &fwd, BPF_ANY))                 \
			return XDP_DROP;                                          \
		ip->daddr = BE_ADDR;                                              \
		t->dest = BE_PORT;                                                \
		return ok();                                                      \
	}                                                                         \
                                                                                  \
	SEC("xdp")                                                                \
	int L##_new2(struct xdp_md *ctx)                                          \
	{                                                                         \
		return L##_new(ctx, 1);                                           \
	}                                                                         \
                                                                                  \
	SEC("xdp")                                                                \
	int L##_new1(struct xdp_md *ctx)                                          \
	{                                                                         \
		return L##_new(ctx, 0);                                           \
	}

CT_LEVER(wide, ct_wide, struct xlb_ct_key, struct xlb_ct)
CT_LEVER(v4, ct_v4, struct ct4_key, struct ct4)

#define v4s_key	  v4_key
#define v4s_flow  v4_flow
#define v4s_daddr v4_daddr
CT_LEVER(v4s, ct_v4s, struct ct4_key, struct ct4)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

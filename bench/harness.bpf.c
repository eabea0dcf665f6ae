// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * BPF_PROG_TEST_RUN with repeat > 1 runs the program again and again on
 * the same buffer, so a program that rewrites the packet (DNAT) sees its
 * own output from the second run on and measures some other path. These
 * wrappers put the original 64-byte frame back before every run and then
 * tail-call the program under test (slot 0 of the prog array). Their own
 * cost is measured with the no-op program as the target, in the same run,
 * so "xlb through the harness - no-op through the harness" is xlb's cost
 * above the no-op.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define FRAME 64

struct frame {
	__u64 w[FRAME / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frame);
} frame SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xdp_target SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tc_target SEC(".maps");

SEC("xdp")
int xdp_restore(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *p = data;
	struct frame *f;
	__u32 k = 0;

	f = bpf_map_lookup_elem(&frame, &k);
	if (!f || data + FRAME > data_end)
		return XDP_ABORTED;
#pragma unroll
	for (int i = 0; i < FRAME / 8; i++)
		p[i] = f->w[i];
	bpf_tail_call(ctx, &xdp_target, 0);
	return XDP_ABORTED;
}

/*
 * The same, and then a distinct 5-tuple per run: run i of a test_run gets
 * source 198.18.0.0 + (i >> 14), port 1024 + (i & 16383), destination VIP
 * 172.16.0.0 + first + (i % nsvc), as pktbench's per-call flows: spread
 * over all Services (first 0, nsvc all), or all to one (first its index,
 * nsvc 1). With repeat =
 * nflows every run is a new flow (or, in a second pass, a hit on a flow the
 * first pass created), with the programs' code warm as on a busy NIC queue.
 * Checksums are not fixed up: xlb updates them incrementally and never
 * verifies them, so the cost is the same.
 */
struct flows_cfg {
	__u32 next;
	__u32 nflows;
	__u32 nsvc;
	__u32 first;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flows_cfg);
} flows SEC(".maps");

SEC("xdp")
int xdp_flows(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *p = data;
	struct flows_cfg *c;
	struct frame *f;
	__u32 k = 0, i, n;

	f = bpf_map_lookup_elem(&frame, &k);
	c = bpf_map_lookup_elem(&flows, &k);
	if (!f || !c || data + FRAME > data_end)
		return XDP_ABORTED;
#pragma unroll
	for (int j = 0; j < FRAME / 8; j++)
		p[j] = f->w[j];
	i = c->next;
	n = i + 1;
	c->next = n >= c->nflows ? 0 : n;
	/* Ethernet 14 + IPv4 20: saddr at 26, daddr at 30, sport at 34 */
	*(__u32 *)(data + 26) = __builtin_bswap32(0xc6120000u + (i >> 14));
	*(__u32 *)(data + 30) = __builtin_bswap32(0xac100000u + c->first +
						  (c->nsvc ? i % c->nsvc : 0));
	*(__u16 *)(data + 34) = __builtin_bswap16((__u16)(1024 + (i & 16383)));
	bpf_tail_call(ctx, &xdp_target, 0);
	return XDP_ABORTED;
}

SEC("tc")
int tc_restore(struct __sk_buff *skb)
{
	struct frame *f;
	__u32 k = 0;

	f = bpf_map_lookup_elem(&frame, &k);
	if (!f || bpf_skb_store_bytes(skb, 0, f, FRAME, 0))
		return 2; /* TC_ACT_SHOT */
	bpf_tail_call(skb, &tc_target, 0);
	return 2;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

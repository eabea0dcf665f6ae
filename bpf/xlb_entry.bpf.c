// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlb's stable XDP entry: what sits in the XDP hook (in libxdp's
 * dispatcher, or alone where the dispatcher cannot be used). It tail-calls
 * xlb_xdp through the one-slot program array the agent pins as
 * "xdp_slot". A restart or an upgrade replaces only the slot, one atomic
 * map update: the hook, the dispatcher and the programs beside xlb stay.
 * The tail call's target keeps running as an XDP program, so XDP_TX,
 * redirects and the metadata hand-off to tc work as they do attached
 * directly. An empty slot (xlb uninstalled half way, or never started)
 * passes the frame on, counted.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xlb_xdp_slot SEC(".maps");

/* Frames that found the slot empty. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} xlb_entry_miss SEC(".maps");

SEC("xdp")
int xlb_xdp_entry(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *n;

	bpf_tail_call(ctx, &xlb_xdp_slot, 0);
	n = bpf_map_lookup_elem(&xlb_entry_miss, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

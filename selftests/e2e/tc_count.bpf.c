// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Another tool's tc filter on xlb's uplink (the coexistence test): counts
 * every packet and hands it on (TC_ACT_UNSPEC: the next filter, xlb's,
 * classifies it).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tc_count_pkts SEC(".maps");

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *n = bpf_map_lookup_elem(&tc_count_pkts, &k);

	if (n)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

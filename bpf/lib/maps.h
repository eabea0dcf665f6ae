/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The maps of xlb. Keys and values are the ABI types of include/xlb/abi.h;
 * max_entries here are defaults the loader resizes before load. All maps
 * are pinned by the loader under the pin dir, by name.
 */
#ifndef XLB_BPF_MAPS_H
#define XLB_BPF_MAPS_H

#include "common.h"

/*
 * xlb_svc and xlb_backends are replaced in place by sync. A preallocated
 * hash recycles a replaced element for the next update on that CPU at
 * once, so a reader could see another entry's value; without prealloc the
 * old element is freed only after readers are done.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XLB_MAX_SERVICES);
	__type(key, struct xlb_svc_key);
	__type(value, struct xlb_svc);
} xlb_svc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct xlb_backend);
} xlb_backends SEC(".maps");

/* Inner maps are created by user space, each sized to its table's M
 * (BPF_F_INNER_MAP lets them differ from this template). */
struct xlb_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XLB_MAX_TABLES);
	__type(key, __u32);
	__array(values, struct xlb_maglev_inner);
} xlb_maglev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_MAX_CT);
	__type(key, struct xlb_ct_key);
	__type(value, struct xlb_ct);
} xlb_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_NODE_ADDRS);
	__type(key, struct xlb_addr_key);
	__type(value, struct xlb_node_addr);
} xlb_node_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct xlb_iface);
} xlb_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_TABLES);
	__type(key, __u32);
	__type(value, struct xlb_counter);
} xlb_svc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_R_MAX);
	__type(key, __u32);
	__type(value, struct xlb_counter);
} xlb_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_MAX_AFFINITY);
	__type(key, struct xlb_affinity_key);
	__type(value, struct xlb_affinity);
} xlb_affinity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XLB_MAX_SRC_RANGES);
	__type(key, struct xlb_src_key);
	__type(value, __u32);
} xlb_src_ranges SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_MAX_FRAGS);
	__type(key, struct xlb_frag_key);
	__type(value, struct xlb_frag);
} xlb_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_MAX_FRAGS);
	__type(key, struct xlb_frag6_key);
	__type(value, struct xlb_frag);
} xlb_frags6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XLB_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} xlb_tx_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XLB_MAX_DEVS);
	__type(key, __u32);
	__type(value, struct xlb_peer_dev);
} xlb_peer_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_MAX_SOCK_REV);
	__type(key, struct xlb_sock_key);
	__type(value, struct xlb_sock_rev);
} xlb_sock_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_MAX_SOCK_REV);
	__type(key, struct xlb_sock6_key);
	__type(value, struct xlb_sock6_rev);
} xlb_sock_rev6 SEC(".maps");

/* Per-CPU scratch space of the ARP/NDP responder (lib/arp.h): it runs as
 * a subprogram of the whole tc path, whose frame leaves it little stack. */
struct xlb_l2_scratch {
	struct xlb_l2_key key;
	__u8 target[16];
	__u8 asker[16];
	__u8 asker_mac[8];
	__u8 mac[8];
	__be32 pseudo[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_l2_scratch);
} xlb_l2_scratch SEC(".maps");

/* Written by the agent's announcer only for VIPs this node owns; read by
 * tc ingress (lib/arp.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_L2);
	__type(key, struct xlb_l2_key);
	__type(value, struct xlb_l2);
} xlb_l2 SEC(".maps");

/* Not used by the programs: the agent's VIP table for xlbctl. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_L2);
	__type(key, struct xlb_addr_key);
	__type(value, struct xlb_vip_meta);
} xlb_vip_meta SEC(".maps");

/* Not used by the programs: user space keeps the service names here so
 * xlbctl can read everything from the pins. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_TABLES);
	__type(key, __u32);
	__type(value, struct xlb_svc_meta);
} xlb_svc_meta SEC(".maps");

/* Rate limit of ICMP rejects, node-wide: GCRA state (see icmp.h). */
struct xlb_bucket {
	__u64 tat_ns; /* theoretical arrival time of the next reject */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_bucket);
} xlb_icmp_bucket SEC(".maps");

/* Per-CPU scratch space for what does not fit the 512-byte stack. XDP
 * does not nest on a CPU, so one slot per CPU is enough. */
struct xlb_scratch {
	struct xlb_ct fwd;
	struct xlb_ct rev;
	struct xlb_ct_key rkey;
	struct xlb_svc svc;	/* the new flow's Service, as it was read */
	struct xlb_ct prev;	/* a taken-over SNAT entry, as it was */
	struct xlb_ct_key pkey; /* its forward key */
	__u64 victim_exp[2];	/* SNAT reclaim candidates by rank */
	__u32 victim[2];
	struct xlb_addr_key ak; /* snat_keep_port's lookup keys */
	struct xlb_svc_key sk;
	/* xlb_snat_alloc's state, for its bpf_loop callback */
	struct xlb_ct_key tuple; /* the client's */
	__u64 now;
	__u32 snat_h, snat_min, snat_range;
	__u8 snat_keep, snat_syn, snat_done, snat_pad;
	struct bpf_fib_lookup fib;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_scratch);
} xlb_scratch SEC(".maps");

static __always_inline struct xlb_scratch *xlb_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&xlb_scratch, &zero);
}

/* `xlbctl monitor` switches reporting on here while it listens. An
 * ARRAY lookup is inlined by the verifier (no helper call), so "off" costs
 * a load and a branch per packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_monitor_cfg);
} xlb_monitor SEC(".maps");

/* Per-CPU token bucket of the monitor: a flood of drops costs the ring a
 * bounded number of events per second and never a shared cache line. */
struct xlb_mon_bucket {
	__u64 tokens_ns; /* credit, in ns of refill time */
	__u64 last_ns;
	__u32 suppressed; /* refused since the last event */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_mon_bucket);
} xlb_mon_bucket SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, XLB_EVENTS_SIZE);
} xlb_events SEC(".maps");

/* `xlbctl explain` only: its private instance records the packet's path
 * here (never pinned; the live instance has no code that touches it). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_trace);
} xlb_trace SEC(".maps");

/* Key 0 of the one-slot arrays, in rodata: the lookups in the entry
 * programs' frames (monitor switch, trace) take no stack, and the entry
 * frame plus the deepest call must stay within 512 bytes. */
static const __u32 xlb_key0 = 0;

/* Load-time configuration (rodata): see struct xlb_cfg. */
const volatile struct xlb_cfg xlb_cfg = XLB_CFG_DEFAULT;
/* True only in xlbctl explain's private instance: with false the verifier
 * prunes every trace store, so the live datapath carries none. */
const volatile bool xlb_explain = false;

#endif /* XLB_BPF_MAPS_H */

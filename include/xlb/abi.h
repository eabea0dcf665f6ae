/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The ABI between xlb's BPF programs and user space (agent, xlbctl, tests).
 *
 * Every map key and value the kernel and user space both touch is defined
 * here and nowhere else. Rules: fixed-width types, __be* for wire-order
 * fields, explicit padding, no bitfields, a size assertion per struct.
 * A layout change renames the map (suffix _v2) so that a rolling upgrade
 * never reads a pinned map of the wrong shape.
 *
 * Addresses are 16 bytes wide everywhere (IPv4 uses v4 and leaves the rest
 * zero) so IPv6 does not need a second set of maps.
 */
#ifndef XLB_ABI_H
#define XLB_ABI_H

#include <linux/types.h>

#include "reasons.h"

#define XLB_PIN_DIR_DEFAULT "/sys/fs/bpf/xlb"

/* Map names as pinned under the pin dir. */
#define XLB_MAP_SVC	   "xlb_svc"
#define XLB_MAP_BACKENDS   "xlb_backends"
#define XLB_MAP_MAGLEV	   "xlb_maglev"
#define XLB_MAP_CT	   "xlb_ct"
#define XLB_MAP_NODE_ADDRS "xlb_node_addrs"
#define XLB_MAP_IFACES	   "xlb_ifaces"
#define XLB_MAP_SVC_STATS  "xlb_svc_stats"
#define XLB_MAP_REASONS	   "xlb_reasons"
#define XLB_MAP_SVC_META   "xlb_svc_meta"
#define XLB_MAP_AFFINITY   "xlb_affinity"
#define XLB_MAP_SRC_RANGES "xlb_src_ranges"
#define XLB_MAP_FRAGS	   "xlb_frags"
#define XLB_MAP_FRAGS6	   "xlb_frags6"
#define XLB_MAP_TX_DEVS	   "xlb_tx_devs"
#define XLB_MAP_PEER_DEVS  "xlb_peer_devs"
#define XLB_MAP_SOCK_REV   "xlb_sock_rev"
#define XLB_MAP_SOCK_REV6  "xlb_sock_rev6"
#define XLB_MAP_L2	   "xlb_l2"
#define XLB_MAP_VIP_META   "xlb_vip_meta"
#define XLB_MAP_MONITOR	   "xlb_monitor"
#define XLB_MAP_EVENTS	   "xlb_events"

/* Default capacities; the loader can change each before load. */
#define XLB_MAX_SERVICES   65536 /* frontends (xlb_svc entries) */
#define XLB_MAX_TABLES	   65536 /* Maglev tables (svc ids) */
#define XLB_MAX_BACKENDS   262144
#define XLB_MAX_CT	   1048576
#define XLB_MAX_NODE_ADDRS 256
#define XLB_MAX_IFACES	   64
#define XLB_MAX_AFFINITY   262144
#define XLB_MAX_SRC_RANGES 65536
#define XLB_MAX_FRAGS	   8192
#define XLB_MAX_DEVS	   1024 /* Pod veths (xlb_peer_devs) */
#define XLB_MAX_SOCK_REV   65536
#define XLB_MAX_L2	   16384

enum xlb_family {
	XLB_AF_INET = 4,
	XLB_AF_INET6 = 6,
};

union xlb_addr {
	__be32 v4;    /* IPv4, network order; bytes 4..15 zero */
	__be32 v6[4]; /* IPv6, network order */
	__u8 bytes[16];
};

/* Frontend scope: an exact VIP, or the NodePort wildcard that matches any
 * address in xlb_node_addrs (the key's addr is then all zero). */
enum xlb_scope {
	XLB_SCOPE_VIP = 0,	/* LoadBalancer ingress IP or externalIP */
	XLB_SCOPE_NODEPORT = 1, /* <node address>:<nodePort> */
};

/* xlb_svc: HASH, frontend -> service port. */
struct xlb_svc_key {
	union xlb_addr addr; /* VIP; zero for XLB_SCOPE_NODEPORT */
	__be16 port;	     /* frontend port, network order */
	__u8 proto;	     /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;	     /* enum xlb_family */
	__u8 scope;	     /* enum xlb_scope */
	__u8 pad[3];
};
_Static_assert(sizeof(struct xlb_svc_key) == 24, "xlb_svc_key size");

enum xlb_svc_flags {
	XLB_SVC_F_ETP_LOCAL = 1 << 0,	  /* externalTrafficPolicy: Local */
	XLB_SVC_F_SOURCE_RANGES = 1 << 1, /* LB VIP with
						 * loadBalancerSourceRanges:
						 * new flows only from
						 * xlb_src_ranges */
};

/*
 * The value is replaced whole by one map update (HASH updates are atomic
 * for readers), so the table it names, that table's size and the backend
 * count always change together: this is the one-step swap of a service.
 */
struct xlb_svc {
	__u32 svc_id;		/* stable id of the service port: stats index */
	__u32 table_id;		/* slot in xlb_maglev holding the live table */
	__u32 maglev_size;	/* M, prime, entries in that table */
	__u16 backend_count;	/* usable backends in the table; 0: none */
	__u16 total_count;	/* ready endpoints cluster-wide; with
				 * backend_count == 0 it decides drop
				 * (ETP Local, none here) vs reject */
	__u32 flags;		/* enum xlb_svc_flags */
	__u32 affinity_timeout; /* sessionAffinity ClientIP: seconds a
				 * client sticks to its backend; 0: none */
};
_Static_assert(sizeof(struct xlb_svc) == 24, "xlb_svc size");

/* xlb_backends: HASH, backend id (u32) -> backend. Ids are never reused
 * for a different address while a conntrack entry may still name them;
 * the datapath also compares the address it has in conntrack. */
enum xlb_backend_flags {
	XLB_BE_F_LOCAL = 1 << 0, /* Pod on this node: DNAT only */
};

struct xlb_backend {
	union xlb_addr addr; /* Pod address */
	__be16 port;	     /* targetPort, network order */
	__u8 family;	     /* enum xlb_family */
	__u8 flags;	     /* enum xlb_backend_flags */
	__u32 svc_id;	     /* service port it serves (ids are per service
				 * port); for xlbctl, unused by the programs */
};
_Static_assert(sizeof(struct xlb_backend) == 24, "xlb_backend size");

/* xlb_maglev: ARRAY_OF_MAPS, table id -> inner ARRAY (BPF_F_INNER_MAP, so
 * each inner map has its own size) of M backend ids. Built in user space. */

/* xlb_node_addrs: HASH, the node's own addresses (NodePort matches only
 * these). */
struct xlb_addr_key {
	union xlb_addr addr;
	__u8 family; /* enum xlb_family */
	__u8 pad[3];
};
_Static_assert(sizeof(struct xlb_addr_key) == 20, "xlb_addr_key size");

enum xlb_node_addr_flags {
	XLB_NA_F_SNAT_ONLY = 1 << 0, /* --snat-address: a source for SNAT
					 * only (its whole port space is xlb's);
					 * NodePorts do not answer on it */
};

struct xlb_node_addr {
	__u32 flags; /* enum xlb_node_addr_flags */
};
_Static_assert(sizeof(struct xlb_node_addr) == 4, "xlb_node_addr size");

/* xlb_ifaces: HASH, ifindex (u32) -> the served interface: the source
 * address SNAT uses for packets leaving through it, and its MAC (only
 * frames sent to it start flows; rejects leave from it). */
struct xlb_iface {
	union xlb_addr snat4; /* IPv4 SNAT source (v4 field) */
	union xlb_addr snat6; /* IPv6 SNAT source; zero: none */
	__u8 mac[6];	      /* the interface's MAC (a bond's own);
				 * zero: unknown, not filtered */
	__u8 pad[2];
};
_Static_assert(sizeof(struct xlb_iface) == 40, "xlb_iface size");

/*
 * xlb_ct: LRU_HASH. The key is a packet's tuple exactly as it arrives at
 * the hook that looks it up; the value says how to rewrite it. One map
 * holds all three kinds of entries, so XDP does a single lookup for both a
 * client's packet and a SNATed backend's reply.
 */
struct xlb_ct_key {
	union xlb_addr saddr;
	union xlb_addr daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* enum xlb_family */
	__u8 pad[2];
};
_Static_assert(sizeof(struct xlb_ct_key) == 40, "xlb_ct_key size");

enum xlb_ct_kind {
	XLB_CT_FWD_LOCAL = 1,	/* client -> frontend, XDP: DNAT, pass up */
	XLB_CT_FWD_REMOTE = 2,	/* client -> frontend, XDP: DNAT+SNAT, out */
	XLB_CT_REPLY_LOCAL = 3, /* local Pod -> client, tc egress: source
				 * back to the frontend */
	XLB_CT_REPLY_SNAT = 4,	/* backend -> node:snat port, XDP: back to
				 * frontend -> client, out */
};

/*
 * Flow state, the same in both entries of a flow ("client" and "backend"
 * are the two directions). TCP follows the handshake as nf_conntrack does:
 * SYN sent (no flag), SYN received (SEEN_REPLY: the backend's SYN-ACK),
 * established (the client's ACK after that), FIN seen per direction, RST.
 * The lifetime follows from the flags: ct_lifetime() in bpf/lib/ct.h.
 */
enum xlb_ct_flags {
	XLB_CT_F_ESTABLISHED = 1 << 0, /* TCP: the client ACKed the backend's
					 * SYN-ACK; UDP: the client spoke
					 * again after a reply (a stream).
					 * nf's ASSURED: never reclaimed early */
	XLB_CT_F_RST = 1 << 1,	       /* TCP: RST seen (either direction) */
	XLB_CT_F_SEEN_REPLY = 1 << 2,  /* the backend answered (TCP: SYN-ACK) */
	XLB_CT_F_FIN_CLIENT = 1 << 3,  /* TCP: the client sent FIN */
	XLB_CT_F_FIN_BACKEND = 1 << 4, /* TCP: the backend sent FIN */
	XLB_CT_F_BACKEND_TW = 1 << 5,  /* TCP: the backend closed first, so it
					 * holds the tuple in TIME_WAIT: the
					 * SNAT port is not reused early */
	XLB_CT_F_RST_BACKEND = 1 << 6, /* TCP: with RST, the backend sent it */
};

#define XLB_CT_F_FINS (XLB_CT_F_FIN_CLIENT | XLB_CT_F_FIN_BACKEND)

/* expires_ns of a reply entry being taken over: never a live deadline,
 * and not a value a second taker would compare-and-swap from. */
#define XLB_CT_LOCKED 1ull

struct xlb_ct {
#ifdef XLB_TEST_CT_LAYOUT
	/* Test builds only (make's upgrade variant): every field moves, so
	 * the upgrade test migrates between two real layouts. */
	__u64 test_generation;
#endif
	union xlb_addr nat_saddr; /* rewrite the source to this */
	union xlb_addr nat_daddr; /* rewrite the destination to this */
	__be16 nat_sport;
	__be16 nat_dport;
	__u8 kind;  /* enum xlb_ct_kind */
	__u8 flags; /* enum xlb_ct_flags */
	__u16 pad;
	__u32 svc_id;	  /* service port the flow belongs to */
	__u32 backend_id; /* backend chosen (xlb_backends key) */
	__u64 expires_ns; /* CLOCK_MONOTONIC deadline (coarse: the
				 * programs read bpf_ktime_get_coarse_ns) */
};
#ifdef XLB_TEST_CT_LAYOUT
_Static_assert(sizeof(struct xlb_ct) == 64, "xlb_ct size (test layout)");
#else
_Static_assert(sizeof(struct xlb_ct) == 56, "xlb_ct size");
#endif

/*
 * xlb_frags: LRU_HASH, an IPv4 datagram in fragments -> the ports of its
 * first fragment (the only one with an L4 header), so the later ones are
 * looked up and translated as the same flow. Entries are overwritten by
 * the next datagram with the same id; the LRU ages out the rest.
 */
struct xlb_frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id; /* IPv4 identification, network order */
	__u8 proto;
	__u8 pad;
};
_Static_assert(sizeof(struct xlb_frag_key) == 12, "xlb_frag_key size");

/* xlb_frags6: LRU_HASH, the same for IPv6 (fragment header id, 32 bits).
 * A map of its own rather than a wider xlb_frag_key: the IPv4 map keeps
 * its layout (and its pins) across the upgrade that brought IPv6. */
struct xlb_frag6_key {
	union xlb_addr saddr;
	union xlb_addr daddr;
	__be32 id; /* fragment header identification, network order */
	__u8 proto;
	__u8 pad[3];
};
_Static_assert(sizeof(struct xlb_frag6_key) == 40, "xlb_frag6_key size");

struct xlb_frag {
	__be16 sport; /* network order */
	__be16 dport;
};
_Static_assert(sizeof(struct xlb_frag) == 4, "xlb_frag size");

/*
 * xlb_tx_devs: DEVMAP_HASH, ifindex -> ifindex: the uplinks running XDP in
 * native mode, the only devices XDP redirects into (a miss goes to tc).
 * xlb_peer_devs: HASH, ifindex -> struct xlb_peer_dev: host ends of Pod
 * veths, which tc ingress may deliver into with bpf_redirect_peer.
 */
struct xlb_peer_dev {
	__u32 flags; /* reserved, 0 */
};
_Static_assert(sizeof(struct xlb_peer_dev) == 4, "xlb_peer_dev size");

/*
 * xlb_sock_rev: LRU_HASH, socket-level translation (cgroup connect4 /
 * sendmsg4) of a local socket's frontend to a backend -> the frontend, so
 * recvmsg4 and getpeername4 show the socket the address it asked for.
 */
struct xlb_sock_key {
	__u64 cookie; /* socket cookie */
	__be32 addr;  /* backend address, network order */
	__be16 port;  /* backend port, network order */
	__u16 pad;
};
_Static_assert(sizeof(struct xlb_sock_key) == 16, "xlb_sock_key size");

struct xlb_sock_rev {
	__be32 addr; /* frontend address, network order */
	__be16 port; /* frontend port, network order */
	__u16 pad;
};
_Static_assert(sizeof(struct xlb_sock_rev) == 8, "xlb_sock_rev size");

/*
 * xlb_sock_rev6: LRU_HASH, the same for IPv6 backends (cgroup connect6 /
 * sendmsg6; recvmsg6 and getpeername6 read it). An IPv6 socket that talks
 * IPv4 (an IPv4-mapped address, ::ffff:a.b.c.d) has an IPv4 backend: its
 * translation is in xlb_sock_rev, whatever the socket's family. A map of
 * its own, so xlb_sock_rev keeps its layout and pins across the upgrade.
 */
struct xlb_sock6_key {
	__u64 cookie;	     /* socket cookie */
	union xlb_addr addr; /* backend address, network order */
	__be16 port;	     /* backend port, network order */
	__u8 pad[6];
};
_Static_assert(sizeof(struct xlb_sock6_key) == 32, "xlb_sock6_key size");

struct xlb_sock6_rev {
	union xlb_addr addr; /* frontend address, network order */
	__be16 port;	     /* frontend port, network order */
	__u8 pad[6];
};
_Static_assert(sizeof(struct xlb_sock6_rev) == 24, "xlb_sock6_rev size");

/* xlb_svc_meta: HASH, svc_id -> what the agent knows of a service port
 * that the programs do not need; written by the agent, read by xlbctl. */
struct xlb_svc_meta {
	char name[240]; /* "namespace/name:port-name/PROTO", NUL-ended */
	__u32 flags;	/* enum xlb_svc_flags, as in xlb_svc */
	__u32 n_frontends;
	__u32 n_backends;  /* backends in the table */
	__u32 total_ready; /* cluster-wide usable endpoints */
};
_Static_assert(sizeof(struct xlb_svc_meta) == 256, "xlb_svc_meta size");

/* xlb_affinity: LRU_HASH, {service port, client address} -> the backend
 * the client's last new connection went to (sessionAffinity ClientIP). */
struct xlb_affinity_key {
	union xlb_addr client;
	__u32 svc_id;
	__u8 family; /* enum xlb_family */
	__u8 pad[3];
};
_Static_assert(sizeof(struct xlb_affinity_key) == 24, "xlb_affinity_key size");

struct xlb_affinity {
	__u32 backend_id;
	__u32 pad;
	__u64 last_ns; /* CLOCK_MONOTONIC of the last new connection */
};
_Static_assert(sizeof(struct xlb_affinity) == 16, "xlb_affinity size");

/* xlb_src_ranges: LPM_TRIE, the loadBalancerSourceRanges of each service
 * port. The service and family lead the key so one trie holds them all:
 * prefixlen = 32 + CIDR prefix length. Value: unused (0). */
struct xlb_src_key {
	__u32 prefixlen;
	__be32 id;     /* family << 24 | svc_id, network order */
	__u8 addr[16]; /* network order; IPv4 in the first 4 */
};
_Static_assert(sizeof(struct xlb_src_key) == 24, "xlb_src_key size");

static inline __be32 xlb_src_id(__u32 svc_id, __u8 family)
{
	__u32 id = ((__u32)family << 24) | (svc_id & 0xffffff);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap32(id);
#else
	return id;
#endif
}

/*
 * xlb_l2: HASH, {VIP, family, interface} -> the answer this node gives to
 * ARP requests (IPv4) and Neighbor Solicitations (IPv6) for a VIP it owns,
 * on that interface only. The agent keeps moving expires_ns forward (every
 * second by default); an entry past its deadline is not answered, so a node
 * whose agent died or froze goes silent on its own, before another node's
 * agent (which waits for the dead node's liveness Lease to expire, longer
 * than the deadline) takes the VIP over. No two nodes answer after a
 * handover.
 */
struct xlb_l2_key {
	union xlb_addr addr; /* VIP, network order */
	__u32 ifindex;	     /* interface the request arrives on */
	__u8 family;	     /* enum xlb_family */
	__u8 pad[3];
};
_Static_assert(sizeof(struct xlb_l2_key) == 24, "xlb_l2_key size");

struct xlb_l2 {
	__u8 mac[6]; /* answer with this MAC (the uplink's) */
	__u16 pad;
	__u32 flags;	  /* reserved, 0 */
	__u64 expires_ns; /* CLOCK_MONOTONIC; the programs read
				 * bpf_ktime_get_coarse_ns (same clock) */
};
_Static_assert(sizeof(struct xlb_l2) == 24, "xlb_l2 size");

/* xlb_vip_meta: HASH, xlb_addr_key -> what the agent knows of each
 * LoadBalancer VIP; written by the agent, read by xlbctl (vip list),
 * unused by the programs. */
enum xlb_vip_flags {
	XLB_VIP_F_ANSWERING = 1 << 0, /* this node answers ARP/NDP for it */
	XLB_VIP_F_L2 = 1 << 1,	      /* its pool announces by L2 */
	XLB_VIP_F_BGP = 1 << 2,	      /* its pool announces by BGP */
	XLB_VIP_F_BGP_MINE = 1 << 3,  /* this node should announce it by
					 * BGP (the route itself is the
					 * truth: bgp_table) */
};

struct xlb_vip_meta {
	char service[128];   /* "namespace/name", NUL-ended */
	char pool[64];	     /* "" when no pool holds the address */
	char owner[64];	     /* node that answers, "" when none */
	char interfaces[64]; /* uplinks this node answers on, comma list
				 * (names as the agent's namespace has them) */
	__u32 flags;	     /* enum xlb_vip_flags */
	__u32 bgp_table;     /* kernel table of the agent's BGP routes
				 * (0: none) */
};
_Static_assert(sizeof(struct xlb_vip_meta) == 328, "xlb_vip_meta size");

/* xlb_svc_stats: PERCPU_ARRAY indexed by svc_id; xlb_reasons: PERCPU_ARRAY
 * indexed by enum xlb_reason. */
struct xlb_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct xlb_counter) == 16, "xlb_counter size");

/*
 * Every verdict the programs reach has a reason, counted in xlb_reasons
 * (the list, with what each means, is in reasons.h).
 */
#define XLB_R_ENUM(name, label) XLB_R_##name,
enum xlb_reason {
	XLB_REASONS(XLB_R_ENUM) XLB_R_MAX,
};
#undef XLB_R_ENUM

/*
 * xlb_monitor: ARRAY of one, written by `xlbctl monitor` while it listens
 * and cleared when it stops. All zero (the default) means nobody listens:
 * the programs then read one word per verdict and emit nothing.
 */
struct xlb_monitor_cfg {
	__u64 reason_mask; /* bit r set: report verdicts with enum
				 * xlb_reason r; 0: monitor off */
	__u32 rate;	   /* events per second per CPU (token bucket) */
	__u32 burst;	   /* bucket depth, events */
};
_Static_assert(sizeof(struct xlb_monitor_cfg) == 16, "xlb_monitor_cfg size");
_Static_assert(XLB_R_MAX <= 64, "reason_mask holds every reason");

enum xlb_event_hook {
	XLB_EV_XDP = 0,	      /* xlb_xdp */
	XLB_EV_TC = 1,	      /* xlb_tc: the whole path at tc ingress */
	XLB_EV_TC_EGRESS = 2, /* xlb_tc_egress */
};

/* xlb_events: RINGBUF of these, one per reported verdict. */
struct xlb_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	struct xlb_ct_key orig; /* the packet's tuple as it arrived */
	struct xlb_ct_key out;	/* the headers as the packet left: the
				 * rewrite for a translated packet, the ICMP
				 * error (proto 1, ports 0) for a reject,
				 * equal to orig when untouched; zero when the
				 * packet is not IP (IPv6: ports only without
				 * extension headers) */
	__u32 ifindex;		/* interface the hook ran on */
	__u32 svc_id;		/* service port; XLB_EVENT_NO_SVC: none */
	__u32 len;		/* frame length as it arrived */
	__u16 reason;		/* enum xlb_reason */
	__u8 action;		/* XDP_* or TC_ACT_* verdict */
	__u8 hook;		/* enum xlb_event_hook */
	__u32 cpu;
	__u32 suppressed; /* events this CPU's bucket refused since the
				 * last one it let through */
};
_Static_assert(sizeof(struct xlb_event) == 112, "xlb_event size");

#define XLB_EVENT_NO_SVC 0xffffffffu
#define XLB_EVENTS_SIZE	 (256 * 1024) /* ring bytes: ~2300 events */

/*
 * `xlbctl explain`: a private instance of the programs records what it
 * did in a private ARRAY of one struct xlb_trace. The live instance is
 * loaded with the rodata flag xlb_explain false, so the verifier removes
 * every trace store from it.
 */
enum xlb_choice {
	XLB_CHOICE_NONE = 0,	  /* no backend chosen */
	XLB_CHOICE_CONNTRACK = 1, /* an existing flow's entry */
	XLB_CHOICE_AFFINITY = 2,  /* sessionAffinity ClientIP */
	XLB_CHOICE_MAGLEV = 3,	  /* hash of the tuple into the table */
};

enum xlb_trace_flags {
	XLB_TRACE_F_FRONTEND = 1 << 0, /* a service frontend matched */
	XLB_TRACE_F_CT_HIT = 1 << 1,   /* a live conntrack entry matched */
	XLB_TRACE_F_REWRITE = 1 << 2,  /* ct holds the rewrite applied */
	XLB_TRACE_F_NEW_FLOW = 1 << 3, /* the packet started a flow */
};

struct xlb_trace {
	__u32 flags;	    /* enum xlb_trace_flags */
	__u32 reason;	    /* enum xlb_reason */
	__u32 action;	    /* XDP_* */
	__u32 choice;	    /* enum xlb_choice */
	struct xlb_svc svc; /* the frontend's value (F_FRONTEND) */
	__u32 backend_id;
	__u32 hash; /* Maglev: hash of the tuple */
	__u32 slot; /* Maglev: hash % M */
	__u32 pad;
	struct xlb_ct ct; /* the entry applied (F_REWRITE) */
};
_Static_assert(sizeof(struct xlb_trace) == 56 + sizeof(struct xlb_ct), "xlb_trace size");

/*
 * Load-time configuration, set in the programs' rodata before load. Times
 * are nanoseconds; ports host order.
 */
struct xlb_cfg {
	__u64 ct_tcp_syn_sent_ns;    /* TCP: client SYN, no answer yet */
	__u64 ct_tcp_syn_recv_ns;    /* TCP: backend SYN-ACK, no client ACK */
	__u64 ct_tcp_est_ns;	     /* TCP: established */
	__u64 ct_tcp_half_closed_ns; /* TCP: FIN from one side only; data
					 * may still flow the other way */
	__u64 ct_tcp_time_wait_ns;   /* TCP: FIN from both sides */
	__u64 ct_tcp_close_ns;	     /* TCP: after RST */
	__u64 ct_udp_ns;	     /* UDP: one way, or one exchange */
	__u64 ct_udp_stream_ns;	     /* UDP: the client spoke after a reply */
	__u32 snat_port_min;	     /* SNAT port range, inclusive (the agent
				 * reserves it in ip_local_reserved_ports) */
	__u32 snat_port_max;
	__u32 eph_port_min; /* the node's ip_local_port_range: a client
				 * port inside it is not kept on a shared
				 * node address (the kernel may pick it for
				 * its own connections); 0-0: none */
	__u32 eph_port_max;
	__u32 snat_seed;  /* secret of the SNAT probe sequence */
	__u32 icmp_rate;  /* ICMP rejects per second, node-wide */
	__u32 icmp_burst; /* bucket depth */
	__u32 flags;	  /* enum xlb_cfg_flags */
};
_Static_assert(sizeof(struct xlb_cfg) == 96, "xlb_cfg size");

enum xlb_cfg_flags {
	XLB_CFG_F_LOCAL_STACK = 1 << 0, /* local Pods through the stack only
					 * (--local-delivery stack): no FIB
					 * lookup for bpf_redirect_peer */
};

#define XLB_CFG_DEFAULT                                                                            \
	{                                                                                          \
		.ct_tcp_syn_sent_ns = 60ull * 1000000000,                                          \
		.ct_tcp_syn_recv_ns = 60ull * 1000000000, .ct_tcp_est_ns = 86400ull * 1000000000,  \
		.ct_tcp_half_closed_ns = 3600ull * 1000000000,                                     \
		.ct_tcp_time_wait_ns = 120ull * 1000000000, .ct_tcp_close_ns = 10ull * 1000000000, \
		.ct_udp_ns = 30ull * 1000000000, .ct_udp_stream_ns = 120ull * 1000000000,          \
		.snat_port_min = 61000, .snat_port_max = 65000, .eph_port_min = 32768,             \
		.eph_port_max = 60999, .icmp_rate = 100, .icmp_burst = 200,                        \
	}

/* Maglev hash seed: the same on every node, so that every node picks the
 * same backend for a flow (ECMP failover keeps flows on their Pod). */
#define XLB_HASH_SEED 0x786c6231u /* "xlb1" */

#ifndef __bpf__
#define XLB_R_NAME(name, label) [XLB_R_##name] = label,
static const char *const xlb_reason_names[XLB_R_MAX] = { XLB_REASONS(XLB_R_NAME) };
#undef XLB_R_NAME
#endif

#endif /* XLB_ABI_H */

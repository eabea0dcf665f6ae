/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * explain: run the real XDP program on one built packet against the live
 * state, and change none of it.
 *
 * A second instance of the same BPF object is loaded with the rodata of the
 * live one (timeouts, SNAT range, ICMP rate) plus xlb_explain = true. The
 * maps the program only reads (services, backends, Maglev tables, node
 * addresses, interfaces, source ranges, names) are the live pinned maps,
 * reused by fd; the maps it writes (conntrack, affinity, counters, buckets,
 * scratch, monitor, ring, trace) are private to the instance, fresh, and
 * seeded with the live conntrack entries of the packet's flow (and its
 * peer) and the client's affinity entry. BPF_PROG_TEST_RUN then runs the
 * packet through it; the trace map says what the program did.
 *
 * What this cannot show: a SNAT port chosen here is one free in the private
 * conntrack map, so the live datapath may pick another; everything else
 * (frontend, backend, choice, verdict, reason) is the same computation on
 * the same inputs.
 */
#ifndef XLB_EXPLAIN_H
#define XLB_EXPLAIN_H

#include <stdbool.h>
#include <xlb/abi.h>

struct xlb_explain_req {
	const char *pin_dir;
	struct xlb_ct_key tuple; /* the packet's; IPv4 or IPv6 */
	__u8 tcp_flags;		 /* XLB_TCP_* bits (TCP only) */
	__u32 ifindex;		 /* ingress interface; 0: none */
};

struct xlb_explain_res {
	struct xlb_trace trace;
	__u32 retval;	/* XDP_* the program returned */
	bool ct_seeded; /* the flow's live entry was copied */
	bool peer_seeded;
	bool affinity_seeded;
	struct xlb_ct ct_live;	/* that entry (ct_seeded) */
	unsigned char out[128]; /* the packet as it left (head) */
	__u32 out_len;		/* whole length */
};

/* 0 or -errno; @err (may be NULL) gets a message on failure. */
int xlb_explain_run(const struct xlb_explain_req *r, struct xlb_explain_res *res, char *err,
		    size_t err_len);

#endif /* XLB_EXPLAIN_H */

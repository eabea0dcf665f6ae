/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bgp: the addresses this node announces by BGP, as routes in a dedicated
 * kernel routing table that BIRD learns.
 *
 * xlb speaks no BGP. For every LoadBalancer address this node should
 * announce it keeps one host route (/32, /128) of type blackhole, protocol
 * XLB_RTPROT, in table --bgp-table; BIRD's kernel protocol (`kernel table
 * N; learn;`) imports the table and a BGP export sends it to the peers.
 * Peers, ASNs, BFD, communities stay in BIRD's configuration. The table is
 * consulted by no ip rule, so the routes never steer this node's own
 * traffic (the datapath takes VIP packets before routing); blackhole is
 * the type because it needs no interface or gateway, and BIRD exports it
 * with next hop self.
 *
 * The kernel holds the state: BIRD can restart and re-learn it, the agent
 * can restart and adopt it (xlb_bgp_open dumps the table), and
 * `ip route show table N proto 88` shows an operator exactly what is
 * announced. Only routes of protocol XLB_RTPROT are ever touched (the
 * kernel matches the protocol on delete), so a shared table is safe.
 *
 * Netlink by a raw NETLINK_ROUTE socket: two requests (new/del route) and
 * one dump do not justify a runtime library (libmnl) in the image.
 */
#ifndef XLB_BGP_H
#define XLB_BGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s/objects.h"

/* rtm_protocol of xlb's routes (unassigned in rtnetlink.h; 'X'). */
#define XLB_RTPROT	      88
#define XLB_BGP_TABLE_DEFAULT 200

struct xlb_bgp;

/* Open netlink and adopt the routes of protocol XLB_RTPROT already in
 * @table (a previous agent's). NULL with errno set. */
struct xlb_bgp *xlb_bgp_open(uint32_t table);
void xlb_bgp_close(struct xlb_bgp *b);

/*
 * Bring the table to @want (@n addresses, any order, duplicates fine).
 * @phase XLB_BGP_WITHDRAW only removes what is not in @want (run before the
 * datapath stops serving an address); XLB_BGP_ANNOUNCE only adds what is
 * missing (run after the datapath serves it). Returns 0 or the first
 * -errno; the rest is still attempted, and what failed is retried on the
 * next call.
 */
enum xlb_bgp_phase {
	XLB_BGP_WITHDRAW = 1,
	XLB_BGP_ANNOUNCE = 2,
	XLB_BGP_BOTH = XLB_BGP_WITHDRAW | XLB_BGP_ANNOUNCE
};
int xlb_bgp_set(struct xlb_bgp *b, const struct k8s_ip *want, size_t n, enum xlb_bgp_phase phase);
/* Withdraw everything (agent exit with --withdraw-on-exit, node drained). */
int xlb_bgp_withdraw_all(struct xlb_bgp *b);
/* The addresses announced now (the agent's view). */
size_t xlb_bgp_count(const struct xlb_bgp *b);
uint32_t xlb_bgp_table(const struct xlb_bgp *b);

/*
 * Read the kernel's table: the host routes of protocol XLB_RTPROT in
 * @table, into a malloc'd array. For adoption and for xlbctl, which shows
 * what BIRD can see, not what the agent believes. 0 or -errno.
 */
int xlb_bgp_dump(uint32_t table, struct k8s_ip **out, size_t *n);

#endif /* XLB_BGP_H */

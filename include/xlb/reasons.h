/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Why a packet got its verdict: the one list of reasons. Each entry is
 * X(NAME, "label"); abi.h makes it enum xlb_reason (XLB_R_NAME, numbered
 * in list order: the values index the xlb_reasons counters) and, for user
 * space, xlb_reason_names (the label doubles as the metric label and the
 * name `xlbctl monitor` takes).
 */
#ifndef XLB_REASONS_H
#define XLB_REASONS_H

#define XLB_REASONS(X)                                                                 \
	/* DNAT to a local Pod, passed up */                                           \
	X(FWD_LOCAL, "fwd_local")                                                      \
	/* DNAT+SNAT to a remote Pod, sent */                                          \
	X(FWD_REMOTE, "fwd_remote")                                                    \
	/* remote backend reply translated, sent */                                    \
	X(REPLY_SNAT, "reply_snat")                                                    \
	/* tc: local Pod reply source restored */                                      \
	X(REPLY_LOCAL, "reply_local")                                                  \
	/* neither IPv4 nor IPv6 (ARP, ...) */                                         \
	X(PASS_NOT_IP, "pass_not_ip")                                                  \
	/* IPv4 but neither TCP nor UDP */                                             \
	X(PASS_NOT_L4, "pass_not_l4")                                                  \
	/* IPv4 fragment of neither TCP nor UDP */                                     \
	X(PASS_FRAGMENT, "pass_fragment")                                              \
	/* truncated or bad header: untouched */                                       \
	X(PASS_MALFORMED, "pass_malformed")                                            \
	/* no service at this address:port */                                          \
	X(PASS_NOT_FRONTEND, "pass_not_frontend")                                      \
	/* NATed, next hop not resolved yet: tc ingress sends it with			\
	 * bpf_redirect_neigh */              \
	X(FWD_NEIGH, "fwd_neigh")                                                      \
	/* no route to the translated address */                                       \
	X(DROP_FIB, "drop_fib")                                                        \
	/* ETP Local, no backend on this node */                                       \
	X(DROP_NO_LOCAL_BACKEND, "drop_no_local_backend")                              \
	/* no endpoints: ICMP unreachable sent */                                      \
	X(REJECT_NO_BACKEND, "reject_no_backend")                                      \
	/* no endpoints, ICMP rate limit hit or reject impossible (IP options) */      \
	X(DROP_NO_BACKEND, "drop_no_backend")                                          \
	/* service names a missing table/backend */                                    \
	X(DROP_NO_TABLE, "drop_no_table")                                              \
	/* egress interface has no SNAT address */                                     \
	X(DROP_NO_SNAT_ADDR, "drop_no_snat_addr")                                      \
	/* no free SNAT port after retries */                                          \
	X(DROP_SNAT_EXHAUSTED, "drop_snat_exhausted")                                  \
	/* conntrack insert failed */                                                  \
	X(DROP_CT_INSERT, "drop_ct_insert")                                            \
	/* tc: a csum/store helper failed */                                           \
	X(DROP_NAT_FAILED, "drop_nat_failed")                                          \
	/* tc: not a translated reply */                                               \
	X(TC_PASS, "tc_pass")                                                          \
	/* LB VIP: source outside loadBalancerSourceRanges */                          \
	X(DROP_SOURCE_RANGE, "drop_source_range")                                      \
	/* VLAN-tagged frame for a remote backend: not forwarded by XDP */             \
	X(DROP_VLAN_REMOTE, "drop_vlan_remote")                                        \
	/* TTL would expire on our hop */                                              \
	X(DROP_TTL, "drop_ttl")                                                        \
	/* a local Pod's reply tuple belongs to another live flow (same client port	\
	 * to two frontends of one Pod) */  \
	X(DROP_CT_CLASH, "drop_ct_clash")                                              \
	/* XDP: translated, egress not an XDP uplink: tc ingress sends it with		\
	 * bpf_redirect_neigh */      \
	X(FWD_TC, "fwd_tc")                                                            \
	/* tc: DNAT to a local Pod, delivered into its veth (bpf_redirect_peer) */     \
	X(FWD_PEER, "fwd_peer")                                                        \
	/* DF packet above the egress MTU: ICMP frag-needed sent back */               \
	X(ICMP_FRAG_NEEDED, "icmp_frag_needed")                                        \
	/* above the egress MTU without DF (or the ICMP could not be sent) */          \
	X(DROP_FRAG_NEEDED, "drop_frag_needed")                                        \
	/* ICMP error about a translated flow, translated back and sent on */          \
	X(ICMP_XLATE, "icmp_xlate")                                                    \
	/* later fragment whose first fragment was not seen: to the stack */           \
	X(PASS_FRAG_UNKNOWN, "pass_frag_unknown")                                      \
	/* XDP: must hand to tc, but the driver has no metadata area */                \
	X(DROP_NO_META, "drop_no_meta")                                                \
	/* cgroup: a local socket's frontend translated to a backend */                \
	X(SOCK_XLATE, "sock_xlate")                                                    \
	/* new flow in a frame not sent to the ingress interface's MAC (promiscuous	\
	 * uplink, group address): the kernel drops it as PACKET_OTHERHOST */  \
	X(PASS_OTHER_HOST, "pass_other_host")                                          \
	/* to a SNAT address:port of xlb's with no live conntrack entry (its flow is	\
	 * gone): the stack would RST it */ \
	X(DROP_SNAT_MISS, "drop_snat_miss")                                            \
	/* ICMP error quoting a translated flow but not addressed to the quoted		\
	 * packet's sender: untouched */     \
	X(PASS_ICMP_FOREIGN, "pass_icmp_foreign")                                      \
	/* tc: ARP request for an owned VIP answered */                                \
	X(ARP_REPLY, "arp_reply")                                                      \
	/* tc: Neighbor Solicitation for an owned VIP answered */                      \
	X(NDP_ADVERT, "ndp_advert")                                                    \
	/* tc: ARP/NS for a VIP whose answer entry passed its deadline (agent gone):	\
	 * not answered, passed */ \
	X(PASS_L2_EXPIRED, "pass_l2_expired")                                          \
	/* IPv6 extension header chain longer than the parser walks, an unknown	\
	 * or out-of-order header, or a routing header with segments left: untouched */      \
	X(PASS_IPV6_EXT, "pass_ipv6_ext")                                              \
	/* IPv6 UDP with checksum 0 (RFC 8200 8.1: receivers discard it) */            \
	X(DROP_UDP6_NO_CSUM, "drop_udp6_no_csum")

#endif /* XLB_REASONS_H */

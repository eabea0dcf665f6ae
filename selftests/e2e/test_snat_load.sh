#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# SNAT under load, end to end: node1's agent serves NodePorts whose two
# backends (P2, P3) both live on node2, so every flow is DNAT+SNAT.
#  1. A host (10.0.0.3 on the client namespace) floods 20,000 SYNs it never
#     completes (it drops the SYN-ACKs, so its stack never RSTs them); then
#     a normal client (10.0.0.2) opens 200 connections: every one succeeds.
#  2. A UDP client opens 500 new flows per second for 20 s (one query each,
#     a new source port each): at least 99.9% are answered.
# See lib.sh for the topology.
#
#   bash selftests/e2e/test_snat_load.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

P3=${PFX}P3
CFG=$TMP/services.yaml
{
	cfg_svc flood NodePort TCP 80 8080 30100
	cfg_eps flood TCP 8080 10.2.1.2@node2 10.2.2.2@node2
	cfg_svc dns NodePort UDP 53 5353 30101
	cfg_eps dns UDP 5353 10.2.1.2@node2 10.2.2.2@node2
} >"$CFG"

topo_up || t_abort topology "topo_up failed"
# A second Pod on node2.
pod_add "$N2" n2p3 10.2.2.1/24 "$P3" 10.2.2.2/24 &&
	ip -n "$N1" route add 10.2.2.0/24 via 10.0.1.2 || t_abort topology "second Pod on node2"
pod_server "$P2" P2 && pod_server "$P3" P3 || t_abort servers "pod servers did not start"
# The flooding host: its own address, and it drops its SYN-ACKs (as an
# attacker who never completes a handshake does).
ip -n "$C" addr add 10.0.0.3/24 dev c0 &&
	nsx "$C" nft -f - <<-'NFT' || t_abort flooder "nft in the client namespace"
	table ip xlbflood {
		chain in {
			type filter hook input priority 0;
			ip daddr 10.0.0.3 tcp flags & (syn | ack) == (syn | ack) drop
		}
	}
	NFT
# A CNI-style masquerade rule with --random-fully (matching no traffic
# here): the agent must warn that it may pick SNAT ports.
nsx "$N1" iptables -t nat -A POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 \
	-j MASQUERADE --random-fully || t_abort masquerade "iptables in node1"
agent_start a1 "$N1" "$CFG" || t_abort "agent start" "$(tail -20 "$(agent_log a1)")"
neigh_warm || true
if grep -q 'masquerade rule may pick SNAT ports 61000-65000' "$(agent_log a1)"; then
	t_pass "agent warns about a --random-fully masquerade rule"
else
	t_fail "agent warns about a --random-fully masquerade rule" "$(grep -i masq "$(agent_log a1)")"
fi

if nsx "$N1" cat /proc/sys/net/ipv4/ip_local_reserved_ports | grep -q '61000-65000'; then
	t_pass "SNAT range 61000-65000 reserved in the node's ip_local_reserved_ports"
else
	t_fail "SNAT range reserved" "$(nsx "$N1" cat /proc/sys/net/ipv4/ip_local_reserved_ports)"
fi
t_check "before the flood: a connection works" http_get 10.0.0.1 30100 3

# pools_json: the SNAT pools xlbctl reports, one line per pool.
pools() {
	xlbctl -j stats | "$PY" -c '
import json, sys
for p in json.load(sys.stdin)["snat_pools"]:
    print("%s:%d %s in_use=%d unanswered=%d" % (p["backend_addr"], p["backend_port"],
          p["proto"], p["ports_in_use"], p["unanswered"]))'
}

# 1. SYN flood, then 200 normal connections.
ex0=$(reason_count drop_snat_exhausted)
out=$(client synflood 10.0.0.1 30100 20000 10.0.0.3 2>&1)
note "$(tr '\n' ' ' <<<"$out")"
sleep 1
ex1=$(reason_count drop_snat_exhausted)
note "after the flood: drop_snat_exhausted $((ex1 - ex0)); pools: $(pools | tr '\n' ';')"
full=$(pools | awk '$2 == "TCP" { split($3, a, "="); if (a[2] >= 3900) n++ } END { print n + 0 }')
if [ "$full" = 2 ]; then
	t_pass "the flood filled both backends' SNAT pools (>= 3900 of 4001 ports)"
else
	t_fail "the flood filled both backends' SNAT pools" "$(pools | tr '\n' ';')"
fi
# The flood's entries become reclaimable once quiet for 2 s.
sleep 2
t0=$(date +%s%N)
out=$(http_many 10.0.0.1 30100 200 5 2>&1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if grep -q '^fail 0$' <<<"$out"; then
	t_pass "after 20,000 unanswered SYNs: 200 of 200 new connections succeed ($ms ms)"
else
	t_fail "after 20,000 unanswered SYNs: 200 new connections succeed" "$(tr '\n' ' ' <<<"$out")"
fi
note "  $(tr '\n' ' ' <<<"$out")"
note "  drop_snat_exhausted since the flood ended: $(( $(reason_count drop_snat_exhausted) - ex1 ))"

# 2. 500 new UDP flows per second for 20 s.
ex0=$(reason_count drop_snat_exhausted)
out=$(client udprate 10.0.0.1 30101 500 20 -t 1 2>&1)
note "$out; drop_snat_exhausted $(( $(reason_count drop_snat_exhausted) - ex0 )); pools: $(pools | grep UDP | tr '\n' ';')"
read -r sent answered secs < <(sed -nE 's/^sent ([0-9]+) answered ([0-9]+) seconds ([0-9.]+)$/\1 \2 \3/p' <<<"$out")
if [ -n "${sent:-}" ] && [ "$sent" -ge 10000 ] && [ $((answered * 1000)) -ge $((sent * 999)) ]; then
	t_pass "UDP: $answered of $sent new flows answered in $secs s (>= 99.9%)"
else
	t_fail "UDP: 500 new flows/s for 20 s, >= 99.9% answered" "$out"
fi

agent_stop a1 || t_fail "agent stop" "SIGTERM ignored"
t_summary

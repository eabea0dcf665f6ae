#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Sustained new-UDP-flow rate to one remote backend (DNAT + SNAT on node1):
# the client opens RATE new flows per second (a new socket, so a new source
# port, each; one query, answer within 1 s) for SECONDS through a NodePort
# whose only endpoint is a Pod on node2, at rising rates, through
#   direct    to the Pod's address, routed, no NAT (the generator's ceiling)
#   iptables  kube-proxy's shape: DNAT in PREROUTING, MASQUERADE towards the
#             backend (nf_conntrack keeps the client's port when it can)
#   xlb       the real agent, SNAT to node1's address (client ports inside
#             ip_local_port_range go to the 4001 ports of --snat-ports)
#   xlb-dedicated  the agent with --snat-address 10.0.1.100 (a /32 on
#             node1's link to node2): every client port is kept
# in the e2e topology (selftests/e2e/lib.sh). A contender sustains a rate
# when >= 99.9% of the flows are answered and the generator kept >= 95% of
# the pace. The figure is the highest such rate, next to iptables'.
#
#   bench/snat.sh BUILD OUT.json WORKDIR
set -u
BUILD=$1 OUT=$2 WORK=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${BENCH_QUICK:-0}
RATES=${BENCH_SNAT_RATES:-250 500 1000 2000}
SECS=${BENCH_SNAT_SECONDS:-20}
[ "$QUICK" = 1 ] && SECS=${BENCH_SNAT_SECONDS:-10}
CONTENDERS=${BENCH_SNAT_CONTENDERS:-direct iptables xlb xlb-dedicated}
RAW=$WORK/snat-raw.txt
: >"$RAW"
# shellcheck source=selftests/e2e/lib.sh
source "$ROOT/selftests/e2e/lib.sh" "$BUILD"
log() { echo "snat: $*" >&2; }

CFG=$TMP/snat.yaml
{
	cfg_svc dns NodePort UDP 53 5353 30101
	cfg_eps dns UDP 5353 10.2.1.2@node2
} >"$CFG"
topo_up >&2 || { log "topology failed"; exit 1; }
pod_server "$P2" P2 >&2 || { log "pod server"; exit 1; }

run_rates() {	# CONTENDER ADDR PORT
	local c=$1 r out
	for r in $RATES; do
		out=$(timeout $((SECS + 30)) ip netns exec "$C" "$PY" "$E2E_DIR/client.py" \
			udprate "$2" "$3" "$r" "$SECS" -t 1 2>&1)
		out=$(sed -nE 's/^sent ([0-9]+) answered ([0-9]+) seconds ([0-9.]+)$/\1 \2 \3/p' <<<"$out")
		[ -n "$out" ] || out="0 0 0"
		echo "$c $r $out" >>"$RAW"
		log "$c $r flows/s: sent/answered/seconds $out"
		# UDP flows live 30 s or more: let the last rate's state go
		# before the next rate measures a fresh pool.
		sleep 2
	done
}

for c in $CONTENDERS; do
	case $c in
	direct) run_rates direct 10.2.1.2 5353 ;;
	iptables)
		nsx "$N1" iptables -t nat -A PREROUTING -d 10.0.0.1 -p udp --dport 30101 \
			-j DNAT --to-destination 10.2.1.2:5353 &&
		nsx "$N1" iptables -t nat -A POSTROUTING -d 10.2.1.2 -p udp --dport 5353 \
			-j MASQUERADE || { log "iptables rules"; continue; }
		run_rates iptables 10.0.0.1 30101
		nsx "$N1" iptables -t nat -F ;;
	xlb)
		agent_start snat "$N1" "$CFG" --healthz-bind-address off >&2 || { log "agent"; continue; }
		neigh_warm >/dev/null 2>&1
		run_rates xlb 10.0.0.1 30101
		agent_stop snat >&2 ;;
	xlb-dedicated)
		ip -n "$N1" addr add 10.0.1.100/32 dev n1n2 || { log "SNAT address"; continue; }
		agent_start snatd "$N1" "$CFG" --healthz-bind-address off \
			--snat-address 10.0.1.100 >&2 || { log "agent"; continue; }
		neigh_warm >/dev/null 2>&1
		run_rates xlb-dedicated 10.0.0.1 30101
		agent_stop snatd >&2
		ip -n "$N1" addr del 10.0.1.100/32 dev n1n2 ;;
	esac
done

"$PY" - "$RAW" "$OUT" "$SECS" <<'PYEOF'
import json, sys
raw, out, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
res, best = [], {}
for line in open(raw):
    c, rate, sent, ans, el = line.split()
    rate, sent, ans, el = int(rate), int(sent), int(ans), float(el)
    ok = sent > 0 and ans * 1000 >= sent * 999 and el > 0 and sent / el >= 0.95 * rate
    res.append({"contender": c, "rate": rate, "sent": sent, "answered": ans, "elapsed_s": el,
                "sustained": ok})
    best.setdefault(c, 0)
    if ok:
        best[c] = max(best[c], rate)
json.dump({"seconds": secs, "results": res, "sustained": best}, open(out, "w"), indent=1)
PYEOF

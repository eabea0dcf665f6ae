#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Forwarding client → node → Pod (UDP, 60-byte frames + FCS = 64 on a wire):
# packets per second delivered to the Pod and the node's CPU cost per
# delivered packet, for
#   xlb       the real agent, N UDP NodePort Services (bench/svcgen.py), the
#             target's endpoint the local Pod (XDP DNAT + XDP_PASS: the stack
#             still routes the packet to the Pod's veth)
#   iptables  kube-proxy's iptables rules for the same Services (iptables-restore)
#   nft       kube-proxy's nftables rules (nft -f)
#   ceiling   the generator's own ceiling: the XDP_DROP sink on the node's uplink
# at N = 1 and 10000 Services (1 and 1000 with BENCH_QUICK=1; the target is
# Service N/2, the middle of kube-proxy's linear chains), three flow shapes:
#   one   one 5-tuple (after a warm-up: established)
#   many  16384 source ports round-robin, all created by a warm-up pass first
#         (established flows, a large flow table)
#   new   6000 flows per run from a fresh source address, each sent once: every
#         packet creates a flow (conntrack insert, NAT rules, Maglev pick).
#         Kept small because kube-proxy masquerades NodePort traffic: every
#         UDP flow holds one of ~64k SNAT ports for 30 s.
#
# Each contender gets fresh namespaces (bench/nslib.sh). The node's uplink and
# the Pod's veth run threaded NAPI pinned to CPU 0; the sender (bench/udpgen,
# AF_PACKET sendmmsg, retried while the receiving ring is full) runs on CPU 1.
# A run: read the sink's counter, CPU 0's busy ticks (/proc/stat: user+nice+
# system+irq+softirq) and the NAPI threads' run time (schedstat), send, read
# again. ns per packet = CPU 0 busy time / packets counted by the XDP_DROP sink
# on the Pod's veth (bench/xdp_sink.bpf.c); for "new" (runs of a few ms on the
# fast paths, 10 ms ticks) the NAPI threads' run time instead. A result whose
# CPU 0 was < 90% busy, or within 10% of the ceiling's rate, is generator-bound.
#
#   bench/fwd.sh BUILD OUT.json WORKDIR
set -u
BUILD=$1 OUT=$2 WORK=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${BENCH_QUICK:-0}
SCALES=${BENCH_FWD_SCALES:-1 10000}
RUNS=5 SECS=0.5
[ "$QUICK" = 1 ] && { SCALES=${BENCH_FWD_SCALES:-1 1000}; SECS=0.3; }
CONTENDERS=${BENCH_FWD_CONTENDERS:-ceiling xlb iptables nft}
MANY=16384 NEWF=6000
NAPI_PIDS=
PFX="xf$$"
GEN=$BUILD/bench/udpgen
SINK=$BUILD/bench/xdp_sink.bpf.o
HZ=$(getconf CLK_TCK)
RAW=$WORK/fwd-raw.txt
: >"$RAW"

# shellcheck source=bench/nslib.sh
. "$ROOT/bench/nslib.sh"
trap 'nsl_cleanup; trap - EXIT' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
log() { echo "fwd: $*" >&2; }

for f in "$GEN" "$SINK" "$BUILD/xlb-agent"; do
	[ -e "$f" ] || { log "$f missing"; exit 1; }
done

# sink_map NS DEV: id of the sink's counter map (the XDP program on DEV)
sink_map() {
	local pid
	pid=$(ip -n "$1" -j -d link show dev "$2" | python3 -c '
import json, sys
d = json.load(sys.stdin)[0]["xdp"]
print(d["prog"]["id"] if "prog" in d else d["attached"][0]["prog"]["id"])') || return 1
	bpftool -j prog show id "$pid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["map_ids"][0])'
}
sink_count() {
	bpftool -j map dump id "$1" | python3 -c '
import json, sys
t = 0
for e in json.load(sys.stdin):
    for v in e.get("values", []):
        x = v.get("value")
        t += x if isinstance(x, int) else int.from_bytes(bytes(int(b, 16) for b in x), "little")
print(t)'
}

napi_ns() {	# summed run time (ns) of our NAPI threads
	local p t=0
	for p in $NAPI_PIDS; do t=$(( t + $(cut -d' ' -f1 "/proc/$p/schedstat" 2>/dev/null || echo 0) )); done
	echo $t
}

# one contender at one scale: fresh topology, the three flow shapes
measure() {
	local name=$1 n=$2 map mac dport r c0 c1 b0 b1 s0 s1 t0 t1 out shape flows src sport cnt
	nsl_cleanup
	topo_up "${name:0:3}$n" || { log "topology failed"; return 1; }
	if ! contender_up "$name" "$n" udp; then log "$name at $n Services: setup failed"; return 1; fi
	if [ "$name" = ceiling ]; then
		ip -n "$N" link set dev fu0 xdpdrv obj "$SINK" sec xdp || return 1
		map=$(sink_map "$N" fu0)
	else
		ip -n "$P" link set dev fe0 xdpdrv obj "$SINK" sec xdp || return 1
		map=$(sink_map "$P" fe0)
	fi
	[ -n "$map" ] || { log "no sink map"; return 1; }
	napi_pin "$N" fu0 || log "threaded NAPI on fu0 failed"
	napi_pin "$P" fe0 2>/dev/null
	NAPI_PIDS=$(ps -e -o pid=,comm= | awk 'index($2, "napi/fu0-") == 1 || index($2, "napi/fe0-") == 1 { print $1 }')
	mac=$(node_mac)
	dport=$(( 30000 + ${NP_TARGET:-0} ))
	sleep 1		# let the agent / rule load settle
	for shape in one new many; do
		[ "$name" = ceiling ] && [ $shape = new ] && continue	# same as many for a sink
		src=$CLIENT_IP sport=10000
		case $shape in
		one) flows=1 ;;
		many) flows=$MANY sport=20000 ;;
		new) flows=$NEWF sport=40000 ;;
		esac
		gen() { taskset -c 1 ip netns exec "$C" "$GEN" -i fc0 -d "$mac" -s "$src" -D $NODE_IP \
			-p $dport -f $flows -P $sport "$@"; }
		# warm-up: every flow created once (the sender is paced by a full ring)
		if [ $shape != new ]; then
			gen -c $(( flows + 1000 )) >/dev/null || { log "udpgen failed"; return 1; }
			sleep 0.2
		fi
		for r in $(seq 1 "$RUNS"); do
			# new: NEWF flows from a source address of their own, each sent once
			[ $shape = new ] && src=10.0.0.$(( 100 + r ))
			cnt="-t $SECS"
			[ $shape = new ] && cnt="-c $NEWF"
			c0=$(sink_count "$map") b0=$(cpu0_busy) s0=$(napi_ns) t0=$(now)
			# shellcheck disable=SC2086
			out=$(gen $cnt) || { log "udpgen failed"; return 1; }
			sleep 0.05
			b1=$(cpu0_busy) s1=$(napi_ns) t1=$(now) c1=$(sink_count "$map")
			echo "$name $n $shape $flows $r $((c1 - c0)) $((b1 - b0)) $((s1 - s0)) $t0 $t1 ${out#sent }" >>"$RAW"
		done
		log "$name $n Services, $shape ($flows flows): $(tail -n "$RUNS" "$RAW" | awk -v hz="$HZ" '{
			printf "%.3fMpps/%.0fns/%.0fns ", $6 / $13 / 1e6, $6 ? $7 * 1e9 / hz / $6 : 0, $6 ? $8 / $6 : 0 }')"
	done
	nsl_cleanup
}

for n in $SCALES; do
	for c in $CONTENDERS; do
		[ "$c" = ceiling ] && [ "$n" != "${SCALES%% *}" ] && continue	# the ceiling does not depend on N
		measure "$c" "$n" || log "$c at $n Services failed"
	done
done

python3 - "$RAW" "$OUT" "$HZ" "$RUNS" "$SECS" "$MANY" "$NEWF" <<'EOF'
import json, statistics, sys
raw, out = sys.argv[1], sys.argv[2]
hz, runs, secs, many, newf = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
cells = {}
for line in open(raw):
    f = line.split()
    name, n, shape, flows, pk, busy, napi = f[0], int(f[1]), f[2], int(f[3]), int(f[5]), int(f[6]), int(f[7])
    wall, sent, gsecs = float(f[9]) - float(f[8]), int(f[10]), float(f[12])
    cells.setdefault((name, n, shape), []).append({
        "flows": flows, "pkts": pk, "mpps": pk / gsecs / 1e6 if gsecs else 0,
        "cpu0_ns_per_pkt": busy * 1e9 / hz / pk if pk else None,
        "napi_ns_per_pkt": napi / pk if pk else None,
        "cpu0_util": busy / hz / wall, "sent_mpps": sent / gsecs / 1e6 if gsecs else 0})
def st(xs):
    xs = [x for x in xs if x is not None]
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)} if xs else None
LBL = {"one": "1 flow", "many": "%d flows, established" % many, "new": "new flows (%d per run)" % newf}
res = []
ceil = {sh: statistics.median(r["mpps"] for r in v) for (c, n, sh), v in cells.items() if c == "ceiling"}
for (c, n, sh), v in cells.items():
    d = {"contender": c, "services": n if c != "ceiling" else 0, "shape": sh, "flows": v[0]["flows"],
         "flows_label": LBL[sh], "mpps": st([r["mpps"] for r in v]),
         "cpu0_ns_per_pkt": st([r["cpu0_ns_per_pkt"] for r in v]),
         "napi_ns_per_pkt": st([r["napi_ns_per_pkt"] for r in v]),
         "sent_mpps": st([r["sent_mpps"] for r in v]), "cpu0_util": st([r["cpu0_util"] for r in v])}
    # The CPU figure the table uses: CPU 0 busy time (/proc/stat). New-flow runs
    # last a few ms on fast paths (10 ms ticks), so there the NAPI threads' own
    # run time (schedstat, ns) is used.
    d["metric"] = "napi" if sh == "new" else "cpu0"
    d["ns_per_pkt"] = d["napi_ns_per_pkt"] if sh == "new" else d["cpu0_ns_per_pkt"]
    cu = d["cpu0_util"]["median"] if d["cpu0_util"] else 0
    d["of_ceiling"] = d["mpps"]["median"] / ceil[sh] if ceil.get(sh) and d["mpps"] else None
    d["generator_bound"] = sh != "new" and (cu < 0.9 or (c != "ceiling" and (d["of_ceiling"] or 0) > 0.9))
    res.append(d)
json.dump({"runs": runs, "seconds": secs, "frame_bytes": 64, "many_flows": many, "new_flows_per_run": newf,
           "target": "Service N/2", "results": res}, open(out, "w"), indent=1)
EOF

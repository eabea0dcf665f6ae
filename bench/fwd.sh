#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Forwarding client → node → Pod (UDP, 60-byte frames + FCS = 64 on a wire):
# packets per second delivered to the Pod and the node's CPU cost per
# delivered packet (issue 12), for
#   xlb       the real agent, N UDP NodePort Services (bench/svcgen.py), the
#             target's endpoint the local Pod, --local-delivery stack (the
#             default: XDP DNAT + XDP_PASS, the stack routes it to the Pod)
#   xlb-peer  the same with --local-delivery peer (XDP DNAT, a metadata note,
#             xlb_tc_ingress bpf_redirect_peer into the Pod's veth)
#   iptables  kube-proxy's iptables rules for the same Services (iptables-restore)
#   nft       kube-proxy's nftables rules (nft -f)
#   tcfloor   the tc floor: the tc sink on the node's uplink (skb receive only)
#   xdpfloor  the XDP floor: the XDP_DROP sink on the node's uplink
# and, path "remote" (SNAT), the target's endpoint a Pod on node2 behind the
# node's second link (bench/nslib.sh topo_remote_up): kube-proxy's rules with
# the target's endpoint swapped (DNAT + MASQUERADE, as for every NodePort
# flow with externalTrafficPolicy Cluster), and xlb with --snat-address
# 10.0.1.100 (a /32 on that link: SNAT keeps every client port, so 50000
# flows to one backend fit; on the shared node address only client ports
# outside ip_local_port_range and not a NodePort are kept, the rest share
# the 4001 ports of --snat-ports); the agent then serves fn0 as well
# (--iface fn0: an interface's SNAT source is its --snat-address). The delivered packets are counted by a tc-ingress sink
# (bench/tc_sink.bpf.c: clsact, per-CPU counter, TC_ACT_SHOT for IPv4/UDP) on
# the Pod's eth0 (fe0) and on node2's fh0, so stack delivery and peer
# delivery are counted alike; no XDP program on the Pod side.
# At N = 1 and 10000 Services (1 and 1000 with BENCH_QUICK=1; the target is
# Service N/2, the middle of kube-proxy's linear chains), three flow shapes:
#   one   one 5-tuple (after a warm-up: established)
#   many  50000 source ports round-robin, all created by a warm-up pass first
#         (established flows, a large flow table)
#   new   6000 flows per run from a fresh source address and its own source
#         ports (1024 + 6000 (run - 1) ..), each sent once: every packet
#         creates a flow (conntrack insert, NAT rules, Maglev pick, SNAT).
#         Kept small because kube-proxy masquerades NodePort traffic: every
#         UDP flow holds one of ~64k SNAT ports for 30 s.
# Before "many" the flow state of "new" is dropped (kube-proxy: the netfilter
# conntrack table flushed; xlb remote: a fresh agent with fresh maps), so
# 30000 new + 50000 established flows never share one backend's ~64k ports.
#
# Each contender gets fresh namespaces (bench/nslib.sh); kube-proxy's rules
# are loaded once and serve both paths. The node's uplink, the Pod's veth
# and node2's link run threaded NAPI pinned to CPU 0; the sender
# (bench/udpgen, AF_PACKET sendmmsg, retried while the receiving ring is
# full) runs on CPU 1. A run: read the sink's counter, CPU 0's busy ticks
# (/proc/stat: user+nice+system+irq+softirq) and the NAPI threads' run time
# (schedstat), send, read again. ns per packet = the NAPI threads' run time
# / packets the sink counted: all of a packet's node work runs in those
# threads (receive, XDP, tc, netfilter, forwarding, the Pod veth's
# receive). CPU 0's busy time per packet is kept beside it; it has 10 ms
# ticks (a "new" run lasts a few ms on the fast paths) and counts whatever
# else the shared machine runs on CPU 0. A result whose NAPI threads were
# busy < 90% of the run is generator-bound (the node had time to spare). For xlb the datapath's verdict counters (xlbctl stats)
# are read around every shape: the path claimed (fwd_local, fwd_peer,
# fwd_tc for the remote Pod: XDP's note, tc's bpf_redirect_neigh) is the
# path counted.
#
#   bench/fwd.sh BUILD OUT.json WORKDIR
set -u
BUILD=$1 OUT=$2 WORK=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${BENCH_QUICK:-0}
SCALES=${BENCH_FWD_SCALES:-1 10000}
RUNS=5 SECS=0.5
[ "$QUICK" = 1 ] && { SCALES=${BENCH_FWD_SCALES:-1 1000}; SECS=0.3; }
CONTENDERS=${BENCH_FWD_CONTENDERS:-tcfloor xdpfloor xlb iptables nft}
PATHS=${BENCH_FWD_PATHS:-local remote}
SHAPES=${BENCH_FWD_SHAPES:-one new many}
MANY=${BENCH_FWD_MANY:-50000} NEWF=6000
SNAT_ADDR=10.0.1.100
NAPI_PIDS=
PFX="xf$$"
GEN=$BUILD/bench/udpgen
TCSINK=$BUILD/bench/tc_sink.bpf.o
XDPSINK=$BUILD/bench/xdp_sink.bpf.o
XLBCTL=$BUILD/xlbctl
HZ=$(getconf CLK_TCK)
RAW=$WORK/fwd-raw.txt
REASONS=$WORK/fwd-reasons.txt
: >"$RAW"
: >"$REASONS"

# shellcheck source=bench/nslib.sh
. "$ROOT/bench/nslib.sh"
trap 'nsl_cleanup; trap - EXIT' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
log() { echo "fwd: $*" >&2; }

# ethtool: the uplink's GRO (without it the uplink has no NAPI to thread)
"$ROOT/scripts/deps.sh" ethtool || { log "needs ethtool"; exit 1; }
for f in "$GEN" "$TCSINK" "$XDPSINK" "$BUILD/xlb-agent" "$XLBCTL"; do
	[ -e "$f" ] || { log "$f missing"; exit 1; }
done

# sink_tc NS DEV / sink_xdp NS DEV: attach a sink, print its counter map's id
prog_map() { bpftool -j prog show id "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["map_ids"][0])'; }
sink_tc() {
	local pid
	tc -n "$1" qdisc add dev "$2" clsact &&
	tc -n "$1" filter add dev "$2" ingress bpf da obj "$TCSINK" sec tc || return 1
	pid=$(tc -n "$1" -j filter show dev "$2" ingress | python3 -c '
import json, sys
print([f for f in json.load(sys.stdin) if "options" in f][0]["options"]["prog"]["id"])') || return 1
	prog_map "$pid"
}
sink_xdp() {
	local pid
	ip -n "$1" link set dev "$2" xdpdrv obj "$XDPSINK" sec xdp || return 1
	pid=$(ip -n "$1" -j -d link show dev "$2" | python3 -c '
import json, sys
d = json.load(sys.stdin)[0]["xdp"]
print(d["prog"]["id"] if "prog" in d else d["attached"][0]["prog"]["id"])') || return 1
	prog_map "$pid"
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

# xlb's verdict counters (packets per reason, all CPUs), one "reason=N" a word
xlb_reasons() {
	"$XLBCTL" --pin-dir "$NSL_PIN" -j stats 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d.get("reasons", d) if isinstance(d, dict) else {}
out = []
if isinstance(r, list):
    r = {x.get("reason", x.get("name")): x.get("packets", 0) for x in r}
for k, v in r.items():
    if isinstance(v, dict):
        v = v.get("packets", 0)
    if isinstance(v, int) and v:
        out.append("%s=%d" % (k, v))
print(" ".join(out))' 2>/dev/null
}

# phase CONTENDER N PATH: make the running contender serve PATH
phase_up() {
	local c=$1 n=$2 path=$3
	case $c in
	iptables|nft)
		ct_flush "$N" || log "conntrack flush failed"
		[ "$path" = remote ] && { endpoint_remote "$c" "$n" udp || return 1; }
		return 0 ;;
	xlb|xlb-peer)
		agent_stop
		NSL_LOCAL_DELIVERY=stack NSL_AGENT_ARGS=''
		[ "$c" = xlb-peer ] && NSL_LOCAL_DELIVERY=peer
		if [ "$path" = remote ]; then
			# node2's link is an uplink of the agent's too: the SNAT
			# source of an interface is its --snat-address
			NSL_AGENT_ARGS="--iface fn0 --snat-address $SNAT_ADDR"
			contender_up xlb "$n" udp "$WORK/nsl-$n-udp-remote.yaml"
		else
			contender_up xlb "$n" udp
		fi ;;
	*) return 0 ;;
	esac
}
# state_reset CONTENDER N PATH: before "many", drop the flows "new" made
state_reset() {
	case $1 in
	iptables|nft) ct_flush "$N" ;;
	xlb|xlb-peer) [ "$3" = remote ] && phase_up "$@" ;;
	esac
	return 0
}

# shapes CONTENDER N PATH MAP: the flow shapes through one contender's path
shapes() {
	local name=$1 n=$2 path=$3 map=$4 mac dport r c0 c1 b0 b1 s0 s1 t0 t1 out shape flows src sport cnt
	local x0 x1 ctn
	mac=$(node_mac)
	dport=$(( 30000 + ${NP_TARGET:-0} ))
	for shape in $SHAPES; do
		# a sink does not care whether a flow is new: "new" would be "many"
		case $name:$path in *floor:*|*:beside) [ "$shape" = new ] && continue ;; esac
		[ "$shape" = many ] && state_reset "$name" "$n" "$path"
		src=$CLIENT_IP sport=10000
		case $shape in
		one) flows=1 ;;
		many) flows=$MANY ;;
		new) flows=$NEWF ;;
		esac
		gen() { taskset -c 1 ip netns exec "$C" "$GEN" -i fc0 -d "$mac" -s "$src" -D "$NODE_IP" \
			-p "$dport" -f "$flows" -P "$sport" "$@"; }
		# warm-up: every flow created once (the sender is paced by a full ring)
		if [ "$shape" != new ]; then
			gen -c $(( flows + 1000 )) >/dev/null || { log "udpgen failed"; return 1; }
			sleep 0.2
		fi
		ctn=$(ct_count "$N")
		x0=
		case $name:$path in *:beside) ;; xlb*) x0=$(xlb_reasons) ;; esac
		for r in $(seq 1 "$RUNS"); do
			# new: NEWF flows from a source address of their own, each
			# sent once; the runs' source ports do not overlap (on the
			# --snat-address every one is kept, no run probes for ports)
			[ "$shape" = new ] && src=10.0.0.$(( 100 + r )) sport=$(( 1024 + (r - 1) * NEWF ))
			cnt="-t $SECS"
			[ "$shape" = new ] && cnt="-c $NEWF"
			c0=$(sink_count "$map") b0=$(cpu0_busy) s0=$(napi_ns) t0=$(now)
			# shellcheck disable=SC2086
			out=$(gen $cnt) || { log "udpgen failed"; return 1; }
			sleep 0.05
			b1=$(cpu0_busy) s1=$(napi_ns) t1=$(now) c1=$(sink_count "$map")
			echo "$name $n $path $shape $flows $r $((c1 - c0)) $((b1 - b0)) $((s1 - s0)) $t0 $t1 ${out#sent }" >>"$RAW"
		done
		case $name:$path in *:beside) echo "$name $n $path $shape ct=$ctn" >>"$REASONS" ;;
		xlb*)
			x1=$(xlb_reasons)
			echo "$name $n $path $shape ct=$ctn before: $x0 after: $x1" >>"$REASONS" ;;
		*) echo "$name $n $path $shape ct=$ctn" >>"$REASONS" ;;
		esac
		log "$name $n Services, $path, $shape ($flows flows, nf_conntrack $ctn): $(tail -n "$RUNS" "$RAW" | awk -v hz="$HZ" '{
			printf "%.3fMpps/%.0fns/%.0fns ", $7 / $14 / 1e6, $7 ? $8 * 1e9 / hz / $7 : 0, $7 ? $9 / $7 : 0 }')"
		case $name:$path in *:beside) ;; xlb*) log "  xlb verdicts: $x1" ;; esac
	done
}

# napi_setup: threaded NAPI on the node's uplink, the Pod's and node2's
# veths (where they have NAPI), on CPU 0; NAPI_PIDS: the threads to count
napi_setup() {
	napi_pin "$N" fu0 || log "threaded NAPI on fu0 failed"
	napi_pin "$P" fe0 2>/dev/null
	napi_pin "$H" fh0 2>/dev/null
	NAPI_PIDS=$(ps -e -o pid=,comm= | awk 'index($2, "napi/fu0-") == 1 || index($2, "napi/fe0-") == 1 ||
		index($2, "napi/fh0-") == 1 { print $1 }')
	[ -n "$NAPI_PIDS" ] || { log "no NAPI threads: no figure"; return 1; }
	# The Pod's veth (and node2's) has no NAPI of its own (GRO off, the
	# default): what the node forwards to it is received through CPU 0's
	# backlog, in the softirq that the NAPI thread runs when it enables
	# bottom halves, or, past the softirq budget, in ksoftirqd/0.
	NAPI_PIDS="$NAPI_PIDS $(ps -e -o pid=,comm= | awk '$2 == "ksoftirqd/0" { print $1 }')"
}

# one contender at one scale: fresh topology, the tc floor beside it, both
# paths, the flow shapes
measure() {
	local name=$1 n=$2 map mlocal mremote p phases
	nsl_cleanup
	NSL_LOCAL_DELIVERY=stack NSL_AGENT_ARGS=''	# the default agent; phase_up changes them
	topo_up "${name:0:3}$n" && topo_remote_up || { log "topology failed"; return 1; }
	napi_setup || return 1
	# the tc floor beside this contender: the same topology, a minute
	# before it (the shared machine's load moves between contenders)
	case $name in *floor) ;; *)
		map=$(sink_tc "$N" fu0) || return 1
		sleep 0.5
		shapes "$name" "$n" beside "$map"
		tc -n "$N" qdisc del dev fu0 clsact || return 1 ;;
	esac
	if ! contender_up "$name" "$n" udp; then log "$name at $n Services: setup failed"; return 1; fi
	case $name in
	tcfloor) map=$(sink_tc "$N" fu0) ;;
	xdpfloor) map=$(sink_xdp "$N" fu0) ;;
	*) mlocal=$(sink_tc "$P" fe0) && mremote=$(sink_tc "$H" fh0) || return 1 ;;
	esac
	napi_setup || return 1
	case $name in
	*floor) [ -n "$map" ] || { log "no sink map"; return 1; }
		sleep 1
		shapes "$name" "$n" floor "$map"
		nsl_cleanup; return ;;
	xlb) phases="xlb:local xlb-peer:local xlb:remote"
		ip -n "$N" addr add $SNAT_ADDR/32 dev fn0 || return 1 ;;
	*) phases="$name:local $name:remote" ;;
	esac
	for p in $phases; do
		case " $PATHS " in *" ${p#*:} "*) ;; *) continue ;; esac
		if [ "$p" != xlb:local ]; then	# xlb:local is what contender_up started
			phase_up "${p%:*}" "$n" "${p#*:}" || { log "$p at $n Services: setup failed"; continue; }
		fi
		map=$mlocal
		[ "${p#*:}" = remote ] && map=$mremote
		sleep 1		# let the agent / rule load settle
		shapes "${p%:*}" "$n" "${p#*:}" "$map"
	done
	nsl_cleanup
}

for n in $SCALES; do
	for c in $CONTENDERS; do
		case $c in *floor) [ "$n" != "${SCALES%% *}" ] && continue ;; esac	# no Services on that path
		measure "$c" "$n" || log "$c at $n Services failed"
	done
done

python3 - "$RAW" "$OUT" "$HZ" "$RUNS" "$SECS" "$MANY" "$NEWF" "$REASONS" <<'EOF'
import json, statistics, sys
raw, out = sys.argv[1], sys.argv[2]
hz, runs, secs, many, newf = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
cells, starved = {}, {}
for line in open(raw):
    f = line.split()
    name, n, path, shape, flows, pk, busy, napi = f[0], int(f[1]), f[2], f[3], int(f[4]), int(f[6]), int(f[7]), int(f[8])
    wall, sent, gsecs = float(f[10]) - float(f[9]), int(f[11]), float(f[13])
    if not pk:	# nothing delivered: the sender or the node's threads got no CPU (shared machine)
        starved[(name, n, path, shape)] = starved.get((name, n, path, shape), 0) + 1
        continue
    cells.setdefault((name, n, path, shape), []).append({
        "flows": flows, "pkts": pk, "mpps": pk / gsecs / 1e6 if gsecs else 0,
        "cpu0_ns_per_pkt": busy * 1e9 / hz / pk if pk else None,
        "napi_ns_per_pkt": napi / pk if pk else None,
        "cpu0_util": busy / hz / wall, "napi_util": napi / 1e9 / gsecs if gsecs else 0, "sent": sent, "sent_mpps": sent / gsecs / 1e6 if gsecs else 0})
# verdict counters around each shape (xlb) and the node's nf_conntrack count after the warm-up
why = {}
for line in open(sys.argv[8]):
    f = line.split()
    key = (f[0], int(f[1]), f[2], f[3])
    d = {"nf_conntrack": int(f[4].split("=")[1])}
    if "before:" in f:
        i, j = f.index("before:"), f.index("after:")
        b = dict((w.split("=")[0], int(w.split("=")[1])) for w in f[i + 1:j])
        a = dict((w.split("=")[0], int(w.split("=")[1])) for w in f[j + 1:])
        d["verdicts"] = {k: v - b.get(k, 0) for k, v in a.items() if v - b.get(k, 0)}
    why[key] = d
def st(xs):
    xs = [x for x in xs if x is not None]
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)} if xs else None
LBL = {"one": "1 flow", "many": "%d flows, established" % many, "new": "new flows (%d per run)" % newf}
res = []
floor = {}
for (c, n, p, sh), v in cells.items():
    if c.endswith("floor"):
        floor[sh] = max(floor.get(sh, 0), statistics.median(r["mpps"] for r in v))
floor["new"] = floor.get("many")
for (c, n, p, sh), v in cells.items():
    fl = c.endswith("floor")
    d = {"contender": c, "services": 0 if fl else n, "path": p, "shape": sh, "flows": v[0]["flows"],
         "flows_label": LBL[sh], "mpps": st([r["mpps"] for r in v]),
         "cpu0_ns_per_pkt": st([r["cpu0_ns_per_pkt"] for r in v]),
         "napi_ns_per_pkt": st([r["napi_ns_per_pkt"] for r in v]),
         "sent_mpps": st([r["sent_mpps"] for r in v]), "cpu0_util": st([r["cpu0_util"] for r in v]),
         "napi_util": st([r["napi_util"] for r in v]),
         "delivered_of_sent": sum(r["pkts"] for r in v) / max(1, sum(r["sent"] for r in v))}
    d.update(why.get((c, n, p, sh), {}))
    d["starved_runs"] = starved.get((c, n, p, sh), 0)
    # The CPU figure the table uses: the NAPI threads' run time (schedstat, ns):
    # every packet's node work runs there (threaded NAPI on CPU 0: the uplink's
    # receive, XDP, tc, netfilter, forwarding, the Pod veth's receive). CPU 0's
    # busy time (/proc/stat, 10 ms ticks) also counts whatever else the shared
    # machine runs on CPU 0; it is kept beside it.
    d["metric"] = "napi"
    d["ns_per_pkt"] = d["napi_ns_per_pkt"]
    nu = d["napi_util"]["median"] if d["napi_util"] else 0
    d["of_floor"] = d["mpps"]["median"] / floor[sh] if floor.get(sh) and d["mpps"] else None
    # generator-bound: the node's threads had time to spare (busy < 90% of
    # the run). The floors' rate is no ceiling here: on a shared machine the
    # sender's CPU 1 is not the same from one contender to the next.
    d["generator_bound"] = sh != "new" and nu < 0.9
    res.append(d)
json.dump({"runs": runs, "seconds": secs, "frame_bytes": 64, "many_flows": many, "new_flows_per_run": newf,
           "target": "Service N/2", "remote_snat": "xlb --snat-address; kube-proxy MASQUERADE",
           "results": res}, open(out, "w"), indent=1)
EOF

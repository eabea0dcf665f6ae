#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# BGP announcement through BIRD, ECMP and BFD failover. Real BIRD daemons
# (Debian bird2), real BGP sessions and BFD, the router's real kernel ECMP
# routes, real TCP clients:
#
#   C  c0 10.70.0.2 ── rc 10.70.0.1  R (router: BIRD, ECMP, L4 hash)
#                                    r0 10.60.0.1 ─┐
#   N1 ul0 10.60.0.11 (xlb-agent + BIRD) ──────────┼─ br0 (SW, a switch)
#   N2 ul0 10.60.0.12 (xlb-agent + BIRD) ──────────┘
#   N1 n1p1 ── P1 10.1.1.2      N2 n2p2 ── P2 10.2.1.2
#
# Pool 10.80.0.0/24 announces by BGP: each agent writes the addresses its
# node announces into kernel table 200, its BIRD learns them and exports to
# the router (eBGP, BFD on). Cutting a node off is a switch port going down:
# the router's own link stays up, so only BFD can tell.
#
# Like users' nodes: default offloads everywhere, no helper programs on any
# peer (the nodes' uplinks are veths: --attach auto gives them the tc
# datapath).
#
#   bash selftests/e2e/test_bgp.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

R=${PFX}R
BIRD=$(command -v bird) BIRDC=$(command -v birdc)
if [ -z "$BIRD" ] || [ -z "$BIRDC" ]; then
	t_skip "all" "bird2 is not installed (make deps installs it; apt-get install bird2)"
	t_summary
	exit 0
fi
declare -A BIRD_PID=()

WEB=10.80.0.10 LOC=10.80.0.20 BOTH=10.80.0.30 IDLE=10.80.0.40

# ------------------------------------------------------------------ topology
bgp_topo_up() {
	local ns
	for ns in "$SW" "$R" "$C" "$N1" "$N2"; do ns_add "$ns" || return 1; done
	ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up || return 1
	veth_pair "$R" r0 "$SW" s-r && veth_pair "$N1" ul0 "$SW" s-n1 &&
	veth_pair "$N2" ul0 "$SW" s-n2 || return 1
	for ns in s-r s-n1 s-n2; do ip -n "$SW" link set "$ns" master br0 || return 1; done
	veth_pair "$C" c0 "$R" rc || return 1
	ip -n "$R" addr add 10.60.0.1/24 dev r0 && ip -n "$R" addr add 10.70.0.1/24 dev rc &&
	ip -n "$C" addr add 10.70.0.2/24 dev c0 && ip -n "$C" route add default via 10.70.0.1 ||
		return 1
	# A router hashes flows on the 5-tuple (L3 only would send every
	# connection of one client through one node).
	nsx "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 || return 1
	ip -n "$N1" addr add 10.60.0.11/24 dev ul0 && ip -n "$N2" addr add 10.60.0.12/24 dev ul0 ||
		return 1
	for ns in "$N1" "$N2"; do
		nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 || return 1
		ip -n "$ns" route add default via 10.60.0.1 || return 1
	done
	l2_pod_add "$N1" n1p1 10.1.1.1/24 "$P1" 10.1.1.2/24 &&
	l2_pod_add "$N2" n2p2 10.2.1.1/24 "$P2" 10.2.1.2/24 || return 1
	ip -n "$N1" route add 10.2.1.0/24 via 10.60.0.12 &&
	ip -n "$N2" route add 10.1.1.0/24 via 10.60.0.11 || return 1
	# The nodes' MACs are static on their switch ports: a port going down
	# (the cut below) then does not flush them, so the switch drops
	# frames for the dead node instead of flooding them to the live one.
	# Flooded frames are PACKET_OTHERHOST at the other node, which must
	# not serve them; the failover measured here is BGP/BFD's alone.
	bridge -n "$SW" fdb replace "$(mac_of "$N1" ul0)" dev s-n1 master static &&
	bridge -n "$SW" fdb replace "$(mac_of "$N2" ul0)" dev s-n2 master static || return 1
	mkdir -p "$TMP/bpf" && mount -t bpf bpf "$TMP/bpf" || return 1
	E2E_BPFFS=1
}

# ---------------------------------------------------------------------- BIRD
# Fast enough to measure, slow enough for a shared 2-core machine: BFD
# every 100 ms, down after 3 missed (300 ms); sessions come back within
# seconds after a failure (BIRD's defaults wait 60-120 s).
BFD_IFACE='min rx interval 100 ms; min tx interval 100 ms; multiplier 3;'
BGP_TIMERS='connect delay time 1; connect retry time 1; error wait time 1, 2;'

router_conf() {
	cat <<-EOF
	router id 10.60.0.1;
	log "$TMP/bird-r.log" all;
	protocol device { }
	protocol bfd { interface "r0" { $BFD_IFACE }; }
	# ECMP: one kernel route with a next hop per node announcing it.
	protocol kernel {
		merge paths on;
		ipv4 { import none; export where source = RTS_BGP; };
	}
	template bgp nodes {
		local 10.60.0.1 as 64500;
		bfd on;
		$BGP_TIMERS
		ipv4 { import all; export none; };
	}
	protocol bgp node1 from nodes { neighbor 10.60.0.11 as 64512; }
	protocol bgp node2 from nodes { neighbor 10.60.0.12 as 64512; }
	EOF
}

# The node side is manifests/bird.conf with this topology's addresses.
node_conf() {	# NODE_ADDR
	sed -e "s/@NODE_IP@/$1/g" -e "s/@PEER_IP@/10.60.0.1/g" -e "s/@LOCAL_AS@/64512/g" \
	    -e "s/@PEER_AS@/64500/g" -e "s/@XLB_TABLE@/200/g" -e "s/@UPLINK@/ul0/g" \
	    -e "s|^log .*|log \"$TMP/bird-$1.log\" all;|" "$ROOT/manifests/bird.conf"
}

bird_start() {	# NAME NS CONF
	local name=$1 ns=$2 conf=$TMP/bird-$1.conf sock=$TMP/bird-$1.ctl
	cat >"$conf"
	ip netns exec "$ns" "$BIRD" -f -c "$conf" -s "$sock" -P "$TMP/bird-$name.pid" \
		>>"$TMP/bird-$name.out" 2>&1 &
	BIRD_PID[$name]=$!
	E2E_PIDS+=($!)
	for i in $(seq 1 200); do
		[ -S "$sock" ] && return 0
		kill -0 "${BIRD_PID[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "bird $name did not start: $(cat "$TMP/bird-$name.out")" >&2
	return 1
}
birdc_() { timeout 10 "$BIRDC" -s "$TMP/bird-$1.ctl" "${@:2}"; }

# bgp_established NAME PROTO: is that BGP session up?
bgp_established() { birdc_ "$1" show protocols "$2" | grep -q 'Established'; }
wait_established() {	# NAME PROTO SECONDS
	local i
	for i in $(seq 1 $(( $3 * 10 ))); do bgp_established "$1" "$2" && return 0; sleep 0.1; done
	return 1
}

# router_via VIP: the router's next hops for VIP, sorted, space-separated.
router_via() {
	ip -n "$R" -4 route show "$1" | grep -oE 'via [0-9.]+' | awk '{ print $2 }' | sort | xargs
}
# wait_via VIP WANT SECONDS: until the router's next hops are WANT.
wait_via() {
	local i
	for i in $(seq 1 $(( $3 * 20 ))); do
		[ "$(router_via "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
# table200 NS: xlb's routes in NS's table 200.
table200() { ip -n "$1" -4 route show table 200 proto 88 | awk '{ print $2 }' | sort | xargs; }
# vipq NS NAME VIP FIELD: one field of `xlbctl vip list -j`, run in the
# node's namespace (the bgp field reads the node's kernel table).
vipq() {
	timeout 10 ip netns exec "$1" "$XLBCTL" --pin-dir "$TMP/bpf/$2" -j vip list | "$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    if r["address"] == sys.argv[1]:
        v = r[sys.argv[2]]
        print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)
        break
else:
    print("<none>")' "$3" "$4"
}
# vip_packets NAME VIP: packets the node's datapath counted for VIP.
# On a failure: what each node's datapath dropped, by reason (a lost
# connection is otherwise a bare timeout in the CI log).
e2e_on_fail() {
	local a
	for a in a1 a2; do
		note "$a drops: $(timeout 10 "$XLBCTL" --pin-dir "$TMP/bpf/$a" -j stats 2>/dev/null |
			"$PY" -c '
import json, sys
rows = json.load(sys.stdin).get("reasons", [])
print(" ".join("%s=%s" % (r["reason"], r["packets"]) for r in rows
               if r["reason"].startswith("drop_") and r.get("packets")) or "none")' 2>&1)"
	done
}
vip_packets() {
	timeout 10 "$XLBCTL" --pin-dir "$TMP/bpf/$1" -j service list | "$PY" -c '
import json, sys
print(sum(int(r["packets"]) for r in json.load(sys.stdin) if r.get("address") == sys.argv[1]))' "$2"
}

# ------------------------------------------------------------------- config
pool_bgp() {
	cat <<-YAML
	---
	apiVersion: xlb.io/v1alpha1
	kind: LoadBalancerIPPool
	metadata:
	  name: bgp
	spec:
	  announce: BGP
	  blocks:
	  - cidr: 10.80.0.0/24
	YAML
}
gen_cfg() {	# LOCAL_ENDPOINT (ADDR@NODE of Service loc)
	pool_bgp
	cfg_svc web LoadBalancer TCP 80 8080 30080 Cluster $WEB
	cfg_eps web TCP 8080 10.1.1.2@node1 10.2.1.2@node2
	cfg_svc loc LoadBalancer TCP 80 8080 30081 Local $LOC
	cfg_eps loc TCP 8080 "$1"
	cfg_svc both LoadBalancer TCP 80 8080 30082 Local $BOTH
	cfg_eps both TCP 8080 10.1.1.2@node1 10.2.1.2@node2
	cfg_svc idle LoadBalancer TCP 80 8080 30083 Cluster $IDLE
	cfg_eps idle TCP 8080
}
write_cfgs() {	# LOCAL_ENDPOINT
	local n
	for n in 1 2; do gen_cfg "$1" >"$TMP/node$n.yaml.new" && mv -f "$TMP/node$n.yaml.new" "$TMP/node$n.yaml"; done
}

# ---------------------------------------------------------------------- run
bgp_topo_up || t_abort "topology" "could not build the routed topology"
pod_server "$P1" p1 && pod_server "$P2" p2 || t_abort "servers" "pod servers did not start"
write_cfgs 10.1.1.2@node1
l2_agent_start a1 "$N1" node1 --config "$TMP/node1.yaml" --bgp-table 200 --withdraw-on-exit ||
	t_abort "agent" "node1's agent did not start"
l2_agent_start a2 "$N2" node2 --config "$TMP/node2.yaml" --bgp-table 200 ||
	t_abort "agent" "node2's agent did not start"
router_conf | bird_start r "$R" || t_abort "bird" "router BIRD did not start"
node_conf 10.60.0.11 | bird_start n1 "$N1" || t_abort "bird" "node1 BIRD did not start"
node_conf 10.60.0.12 | bird_start n2 "$N2" || t_abort "bird" "node2 BIRD did not start"
if wait_established r node1 30 && wait_established r node2 30; then
	t_pass "router has BGP sessions with both nodes"
else
	t_abort "bgp sessions" "$(birdc_ r show protocols 2>&1 | tr '\n' ' ')"
fi

# --- the agents' tables: what each node hands to BIRD
t_check "node1 table 200: web, loc, both (idle has no endpoint)" test "$(table200 "$N1")" = "$WEB $LOC $BOTH"
t_check "node2 table 200: web, both (no local endpoint of loc)" test "$(table200 "$N2")" = "$WEB $BOTH"
t_check "xlbctl: idle is known, wanted by no node" test \
	"$(vipq "$N1" a1 $IDLE service) $(vipq "$N1" a1 $IDLE bgp_wanted) $(vipq "$N2" a2 $IDLE bgp)" = \
	"default/idle false false"
t_check "xlbctl on node1: loc bgp true, wanted" test \
	"$(vipq "$N1" a1 $LOC bgp) $(vipq "$N1" a1 $LOC bgp_wanted) $(vipq "$N1" a1 $LOC pool)" = "true true bgp"
t_check "xlbctl on node2: loc bgp false, not wanted" test \
	"$(vipq "$N2" a2 $LOC bgp) $(vipq "$N2" a2 $LOC bgp_wanted)" = "false false"
t_check "xlbctl: a BGP pool answers no ARP" test "$(vipq "$N1" a1 $WEB answering)" = false

# --- the router learns web from both nodes (ECMP), loc only from node1
if wait_via $WEB "10.60.0.11 10.60.0.12" 15; then
	t_pass "router: $WEB via both nodes (one ECMP route)"
else
	t_fail "router ECMP for $WEB" "$(ip -n "$R" route show $WEB | xargs)"
fi
if wait_via $LOC "10.60.0.11" 15; then
	t_pass "router: $LOC (Local) via node1 only"
else
	t_fail "router route for $LOC" "$(ip -n "$R" route show $LOC | xargs)"
fi
if wait_via $BOTH "10.60.0.11 10.60.0.12" 15; then
	t_pass "router: $BOTH (Local, endpoints on both nodes) via both nodes"
else
	t_fail "router ECMP for $BOTH" "$(ip -n "$R" route show $BOTH | xargs)"
fi
t_check "router: no route for $IDLE (no endpoint anywhere)" test -z "$(ip -n "$R" route show $IDLE)"

# --- client connections spread over both nodes and all succeed (each
# node serves its own Pod: Local)
b1=$(vip_packets a1 $BOTH) b2=$(vip_packets a2 $BOTH)
out=$(http_many $BOTH 80 40)
t_check "40 connections to $BOTH through the router all succeed" grep -q '^fail 0$' <<<"$out"
d1=$(( $(vip_packets a1 $BOTH) - b1 )) d2=$(( $(vip_packets a2 $BOTH) - b2 ))
note "both: packets node1 $d1, node2 $d2; pods: $(grep -v fail <<<"$out" | xargs)"
t_check "connections spread over both nodes (node1 $d1, node2 $d2 packets)" \
	test "$d1" -gt 20 -a "$d2" -gt 20
t_check "both Pods served, each from its own node" test "$(grep -cE '^pod=p[12] ' <<<"$out")" = 2

# --- Cluster: both nodes carry web, and each forwards half its flows to
# the other node's Pod (Maglev on both nodes)
out=$(http_many $WEB 80 40)
note "web (Cluster): $(xargs <<<"$out")"
t_check "40 connections to $WEB (Cluster, Pods on both nodes) all succeed" grep -q '^fail 0$' <<<"$out"
t_check "both Pods served web" test "$(grep -cE '^pod=p[12] ' <<<"$out")" = 2

# --- Local: only node1 is routed; the Pod sees the client's address
out=$(http_many $LOC 80 10)
t_check "10 connections to $LOC all succeed, all on p1" grep -qx 'pod=p1 10' <<<"$out"
body=$(http_get $LOC 80)
t_check "p1 saw client 10.70.0.2 ($body)" grep -q 'client=10.70.0.2:' <<<"$body"

# --- scaling loc's endpoint to node2 moves the announcement
lines_before=$(wc -l <"$(agent_log a1)")
write_cfgs 10.2.1.2@node2
if wait_via $LOC "10.60.0.12" 15; then
	t_pass "router: $LOC moved to node2 with its endpoint"
else
	t_fail "announcement move" "router: $(ip -n "$R" route show $LOC | xargs); n1: $(table200 "$N1"); n2: $(table200 "$N2")"
fi
t_check "node1 withdrew $LOC, node2 announces it" test \
	"$(table200 "$N1")/$(table200 "$N2")" = "$WEB $BOTH/$WEB $LOC $BOTH"
# Withdraw before the datapath stops serving: in node1's log the route goes
# before the sync that follows the change.
wd=$(tail -n +$((lines_before + 1)) "$(agent_log a1)" | grep -n "bgp: $LOC withdrawn" | head -1 | cut -d: -f1)
sy=$(tail -n +$((lines_before + 1)) "$(agent_log a1)" | grep -n " sync: " | head -1 | cut -d: -f1)
t_check "node1 withdrew $LOC (log line ${wd:-none}) before it synced the datapath (line ${sy:-none})" \
	test "${wd:-999999}" -lt "${sy:-0}"
out=$(http_many $LOC 80 10)
t_check "10 connections to $LOC succeed, now on p2" grep -qx 'pod=p2 10' <<<"$out"

# --- BFD: cut node1 off (its switch port), 10 times
route_ms=() conn_ms=() fails=0
for run in $(seq 1 10); do
	if ! wait_via $BOTH "10.60.0.11 10.60.0.12" 30; then
		fails=$((fails + 1))
		note "run $run: router did not get both next hops back: $(ip -n "$R" route show $BOTH | xargs)"
		break
	fi
	sleep 0.5	# let both nodes' ECMP share settle
	res=$(timeout 30 "$PY" "$E2E_DIR/bgpfail.py" "$R" "$C" $BOTH 80 10.60.0.11 -- \
		ip -n "$SW" link set s-n1 down)
	rc=$?
	note "run $run: $res"
	ip -n "$SW" link set s-n1 up
	if [ $rc -ne 0 ]; then
		fails=$((fails + 1))
		continue
	fi
	route_ms+=("$(sed -E 's/.*"route_ms": ([0-9]+).*/\1/' <<<"$res")")
	conn_ms+=("$(sed -E 's/.*"conn_ms": ([0-9]+).*/\1/' <<<"$res")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
if [ ${#route_ms[@]} -eq 10 ]; then
	mr=$(median "${route_ms[@]}") mc=$(median "${conn_ms[@]}")
	note "BFD failover over 10 runs: route removed median $mr ms (goal 1000; runs ${route_ms[*]}), new connections median $mc ms (goal 2000; runs ${conn_ms[*]})"
	# BGP's hold timer is 240 s here: a route gone within seconds was
	# removed by BFD.
	t_pass "10 cuts: BFD removed node1's route every time, new connections succeeded after (route median $mr ms, connections median $mc ms)"
else
	t_fail "BFD failover" "$fails of 10 runs failed; $(tail -3 "$TMP/bird-r.log" | xargs)"
fi
wait_via $BOTH "10.60.0.11 10.60.0.12" 30

# --- --withdraw-on-exit: node1 withdraws everything, node2 carries on
agent_stop a1
t_check "node1's agent withdrew its routes on exit" test -z "$(table200 "$N1")"
if wait_via $WEB "10.60.0.12" 15; then
	t_pass "router: $WEB via node2 only after node1's agent left"
else
	t_fail "withdraw on exit" "$(ip -n "$R" route show $WEB | xargs)"
fi
# node1's datapath stays attached after its agent left: until the router
# drops node1 from $BOTH's route too, its share still lands on node1's p1.
wait_via $BOTH "10.60.0.12" 15 || note "router: $BOTH still $(ip -n "$R" route show $BOTH | xargs)"
out=$(http_many $BOTH 80 10)
t_check "10 connections to $BOTH still succeed, all on node2's p2" grep -qx 'pod=p2 10' <<<"$out"
agent_stop a2
t_check "node2's agent (no --withdraw-on-exit) left its routes: traffic flows on" \
	test "$(table200 "$N2")" = "$WEB $LOC $BOTH"

note "elapsed $(elapsed)"
t_summary

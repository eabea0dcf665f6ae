# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
#
# xlb end-to-end harness, sourced by selftests/e2e/test_*.sh:
#
#   source "$(dirname "$0")/lib.sh" "$@"     # $1: the build dir
#
# Topology (every name carries this run's prefix xe<pid>-, so two runs
# never collide; all traffic stays inside these namespaces):
#
#   C  c0 10.0.0.2/24 ── n1up 10.0.0.1/24  N1 (node1, runs xlb-agent)
#      (route 192.0.2.0/24 → 10.0.0.1)      n1p1  10.1.1.1/24 ── eth0 10.1.1.2  P1
#                                           n1p1b 10.1.1.1/32 ── eth0 10.1.1.3  P1b (optional)
#                                           n1n2  10.0.1.1/24 ── n2n1 10.0.1.2  N2 (node2)
#                                                               n2p2 10.2.1.1/24 ── eth0 10.2.1.2  P2
#
# Like users' nodes: default offloads everywhere (clients and Pods send
# CHECKSUM_PARTIAL and GSO skbs), no helper programs on any peer. node1's
# uplinks are veths, so xlb-agent --attach auto puts the tc datapath on
# them. BPF pins live on a private bpffs under the run's temp dir (ip netns
# exec hides /sys/fs/bpf).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3); fi

PFX="xe$$-"
C=${PFX}C N1=${PFX}N1 N2=${PFX}N2 P1=${PFX}P1 P2=${PFX}P2 P1B=${PFX}P1b
TMP=$(mktemp -d "/tmp/xlb-e2e.$$.XXXXXX")
PIN=$TMP/bpf/xlb
AGENT=$BUILD/xlb-agent
XLBCTL=$BUILD/xlbctl

E2E_NS=()			# namespaces we created (deleted at cleanup)
E2E_UNDO=()			# commands run at cleanup, last first
E2E_PIDS=()			# background processes we started
declare -A AGENT_PID=()
declare -A KA_PID=()
E2E_BPFFS=0
E2E_T0=$(date +%s.%N)

# ---------------------------------------------------------------- reporting
T_PASS=0 T_FAIL=0 T_SKIP=0
t_pass() { T_PASS=$((T_PASS + 1)); echo "PASS $1"; }
# A test may define e2e_on_fail NAME to print the state behind a failure
# (CI keeps the output only).
t_fail() {
	T_FAIL=$((T_FAIL + 1))
	echo "FAIL $1: $2"
	if declare -F e2e_on_fail >/dev/null; then e2e_on_fail "$1" || true; fi
}
t_skip() { T_SKIP=$((T_SKIP + 1)); echo "SKIP $1: $2"; }
t_summary() {
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}
# Give up on the rest of the test: record why and end with the summary.
t_abort() {
	t_fail "$1" "$2"
	t_summary
	exit 1
}
# t_check NAME CMD...: pass when CMD succeeds; else fail with its output.
t_check() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then t_pass "$name"; else t_fail "$name" "$(tail -5 <<<"$out")"; fi
}
elapsed() { awk -v a="$E2E_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }
note() { echo "# $*"; }

# ------------------------------------------------------------------ cleanup
e2e_cleanup() {
	local rc=$? ns p i
	trap - EXIT INT TERM
	for p in "${AGENT_PID[@]}" "${KA_PID[@]}" "${E2E_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	# Anything still running inside our own namespaces (by pid).
	for ns in "${E2E_NS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
	done
	for i in $(seq 1 30); do
		local alive=0
		for ns in "${E2E_NS[@]}"; do
			[ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && alive=1
		done
		for p in "${AGENT_PID[@]}" "${KA_PID[@]}" "${E2E_PIDS[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ $alive -eq 0 ] && break
		sleep 0.1
	done
	for ns in "${E2E_NS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	for p in "${AGENT_PID[@]}" "${KA_PID[@]}" "${E2E_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for ((i = ${#E2E_UNDO[@]} - 1; i >= 0; i--)); do eval "${E2E_UNDO[$i]}" 2>/dev/null; done
	# Deleting a namespace deletes its veths (and with them their XDP and
	# tc attachments).
	for ns in "${E2E_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	if [ "$E2E_BPFFS" = 1 ]; then
		umount "$TMP/bpf" 2>/dev/null || umount -l "$TMP/bpf" 2>/dev/null
	fi
	if [ -n "${E2E_KEEP_TMP:-}" ]; then
		echo "# kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	exit $rc
}
trap e2e_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# on_cleanup CMD: run CMD (a string, eval'ed) at cleanup.
on_cleanup() { E2E_UNDO+=("$1"); }

# cgroup_make: a private cgroup v2 directory for this run, in $CG (on a
# cgroup2 mount of our own under $TMP: ip netns exec hides /sys/fs/cgroup).
cgroup_make() {
	mkdir -p "$TMP/cg" && mount -t cgroup2 none "$TMP/cg" || return 1
	on_cleanup "umount '$TMP/cg' || umount -l '$TMP/cg'"
	CG=$TMP/cg/xlb-e2e-$$
	mkdir "$CG" || return 1
	on_cleanup "rmdir '$CG'"
}

# cg_run NS CMD...: run CMD inside NS as a member of $CG.
cg_run() {
	local ns=$1; shift
	timeout 60 sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec ip netns exec "$@"' \
		sh "$CG" "$ns" "$@"
}

# ------------------------------------------------------------------ topology
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

ns_add() {
	ip netns add "$1" || return 1
	E2E_NS+=("$1")
	ip -n "$1" link set lo up
}

# veth_pair NS_A IF_A NS_B IF_B
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" &&
	ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# A Pod namespace behind NODE_NS: pod_add NODE_NS NODE_IF NODE_ADDR POD_NS POD_ADDR/LEN
pod_add() {
	local node=$1 nif=$2 naddr=$3 pod=$4 paddr=$5 gw=${3%/*}
	ns_add "$pod" || return 1
	veth_pair "$node" "$nif" "$pod" eth0 || return 1
	ip -n "$node" addr add "$naddr" dev "$nif" &&
	ip -n "$pod" addr add "$paddr" dev eth0 &&
	ip -n "$pod" route add default via "$gw" || return 1
}

# topo_up [--p1b]: build the namespaces above.
topo_up() {
	local with_p1b=0 ns
	[ "${1:-}" = --p1b ] && with_p1b=1
	for ns in "$C" "$N1" "$N2"; do ns_add "$ns" || return 1; done
	for ns in "$N1" "$N2"; do
		nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 || return 1
	done
	# client <-> node1 uplink
	veth_pair "$C" c0 "$N1" n1up || return 1
	ip -n "$C" addr add 10.0.0.2/24 dev c0 &&
	ip -n "$C" route add default via 10.0.0.1 &&
	ip -n "$C" route add 192.0.2.0/24 via 10.0.0.1 &&
	ip -n "$N1" addr add 10.0.0.1/24 dev n1up || return 1
	# node1 <-> node2
	veth_pair "$N1" n1n2 "$N2" n2n1 || return 1
	ip -n "$N1" addr add 10.0.1.1/24 dev n1n2 &&
	ip -n "$N2" addr add 10.0.1.2/24 dev n2n1 &&
	ip -n "$N1" route add 10.2.1.0/24 via 10.0.1.2 &&
	ip -n "$N2" route add 10.1.1.0/24 via 10.0.1.1 &&
	ip -n "$N2" route add 10.0.0.0/24 via 10.0.1.1 || return 1
	# Pods
	pod_add "$N1" n1p1 10.1.1.1/24 "$P1" 10.1.1.2/24 || return 1
	pod_add "$N2" n2p2 10.2.1.1/24 "$P2" 10.2.1.2/24 || return 1
	if [ $with_p1b = 1 ]; then
		# Same /24 as P1: the node side owns 10.1.1.1/32 (it answers the
		# Pod's ARP for its gateway) and a /32 route picks this veth.
		pod_add "$N1" n1p1b 10.1.1.1/32 "$P1B" 10.1.1.3/24 || return 1
		ip -n "$N1" route add 10.1.1.3/32 dev n1p1b || return 1
	fi
	# Private bpffs for the agent's pins
	mkdir -p "$TMP/bpf" && mount -t bpf bpf "$TMP/bpf" || return 1
	E2E_BPFFS=1
}

# ------------------------------------------------------------------ servers
# pod_server NS NAME [ARGS...]: HTTP on 8080 and UDP echo on 5353 inside
# Pod NS (ARGS to podserver.py, e.g. --v6).
pod_server() {
	local ns=$1 name=$2 log=$TMP/server-$2.log i; shift 2
	nsx "$ns" "$PY" "$E2E_DIR/podserver.py" "$name" --http 8080 --udp 5353 "$@" >"$log" 2>&1 &
	E2E_PIDS+=($!)
	# A bound for a hung start, not a timing claim: Python starts slowly on
	# a loaded machine (5 s was once too short in the fresh root).
	for i in $(seq 1 200); do
		grep -q listening "$log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "server $name did not start: $(cat "$log")" >&2
	return 1
}

# ------------------------------------------------------------------ clients
# All run inside C, each bounded by its socket timeout and by timeout(1).
client() { timeout 60 ip netns exec "$C" "$PY" "$E2E_DIR/client.py" "$@"; }
http_get() { client get "$1" "$2" -t "${3:-3}"; }		# ADDR PORT [T]
http_many() { client many "$1" "$2" "$3" -t "${4:-3}"; }	# ADDR PORT N [T]
udp_ask() { client udp "$1" "$2" -t "${3:-3}"; }		# ADDR PORT [T]
tcp_connect_refused() { client refused "$1" "$2" -t "${3:-1}"; }
tcp_no_answer() { client noanswer "$1" "$2" -t "${3:-2}"; }

# Keep-alive client: ka_start NAME ADDR PORT holds one TCP connection;
# ka_get NAME sends one request on it and prints the body; ka_stop NAME.
ka_start() {
	local name=$1 log=$TMP/ka-$1.log i
	ip netns exec "$C" "$PY" "$E2E_DIR/client.py" keepalive "$2" "$3" "$TMP/ka-$name.sock" \
		-t 3 --life 900 >"$log" 2>&1 &
	KA_PID[$name]=$!
	for i in $(seq 1 200); do
		[ -S "$TMP/ka-$name.sock" ] && grep -q '^connected' "$log" && return 0
		kill -0 "${KA_PID[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "keepalive $name did not connect: $(cat "$log")" >&2
	return 1
}
ka_get() { timeout 20 "$PY" "$E2E_DIR/client.py" kactl "$TMP/ka-$1.sock" get -t 8; }
ka_stop() {
	local p=${KA_PID[$1]:-}
	[ -n "$p" ] || return 0
	timeout 5 "$PY" "$E2E_DIR/client.py" kactl "$TMP/ka-$1.sock" quit >/dev/null 2>&1
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	unset "KA_PID[$1]"
}

# -------------------------------------------------------------------- agent
agent_log() { echo "$TMP/$1.log"; }
agent_synced_count() { grep -c 'xlb-agent: synced' "$TMP/$1.log" 2>/dev/null || true; }

# agent_start NAME NS CONFIG [extra args]: run node1's agent in NS; wait
# (<= $AGENT_READY_S s, default 10) for "xlb-agent: ready". Its uplinks:
# $AGENT_IFACES.
AGENT_IFACES=${AGENT_IFACES:-"n1up n1n2"}
agent_ifaces() { local i; for i in $AGENT_IFACES; do printf -- '--iface %s ' "$i"; done; }
agent_start() {
	local name=$1 ns=$2 cfg=$3 log=$TMP/$1.log; shift 3
	# shellcheck disable=SC2046
	ip netns exec "$ns" "$AGENT" $(agent_ifaces) --config "$cfg" \
		--node-name node1 --pin-dir "$PIN" "$@" >>"$log" 2>&1 &
	agent_wait_ready "$name" $! "$log" "${AGENT_READY_S:-10}"
}

# agent_wait_ready NAME PID LOG SECONDS: record the agent's PID and wait
# for "xlb-agent: ready" in LOG while it lives; its log's tail on failure.
agent_wait_ready() {
	local name=$1 p=$2 log=$3 s=$4 i
	AGENT_PID[$name]=$p
	for i in $(seq 1 $(( s * 10 ))); do
		grep -q 'xlb-agent: ready' "$log" 2>/dev/null && return 0
		if ! kill -0 "$p" 2>/dev/null; then
			echo "agent $name exited before ready; log:" >&2
			tail -20 "$log" >&2
			unset "AGENT_PID[$name]"
			return 1
		fi
		sleep 0.1
	done
	echo "agent $name not ready after $s s; log:" >&2
	tail -20 "$log" >&2
	return 1
}

# api_server_start NS ARGS...: the test API server (apiserver.py) in NS,
# output in $KDIR/apiserver.out; waits (<= 20 s) until it listens.
api_server_start() {
	local ns=$1 i; shift
	nsx "$ns" "$PY" "$E2E_DIR/apiserver.py" "$@" >"$KDIR/apiserver.out" 2>&1 &
	E2E_PIDS+=($!)
	for i in $(seq 1 200); do
		grep -q listening "$KDIR/apiserver.out" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$KDIR/apiserver.out" >&2
	return 1
}

# agent_wait_synced NAME COUNT: wait (<= ${3:-10} s) until the log has more
# than COUNT "xlb-agent: synced" lines.
agent_wait_synced() {
	local i n=$(( ${3:-10} * 10 ))
	for i in $(seq 1 $n); do
		[ "$(agent_synced_count "$1")" -gt "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# agent_stop NAME: SIGTERM, wait <= 5 s (then SIGKILL, and fail).
agent_stop() {
	local p=${AGENT_PID[$1]:-} i
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; unset "AGENT_PID[$1]"; return 0; }
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	unset "AGENT_PID[$1]"
	echo "agent $1 ignored SIGTERM for 5 s" >&2
	return 1
}

agent_uninstall() {
	# shellcheck disable=SC2046
	timeout 20 ip netns exec "$N1" "$AGENT" --uninstall $(agent_ifaces) \
		--pin-dir "$PIN" "$@"
}

xlbctl() { timeout 10 "$XLBCTL" --pin-dir "$PIN" "$@"; }

# reason_count NAME: packets counted under drop/verdict reason NAME (summed
# over CPUs), from `xlbctl -j stats`.
reason_count() {
	xlbctl -j stats | "$PY" -c '
import json, sys
name = sys.argv[1]
doc = json.load(sys.stdin)
def num(v):
    if isinstance(v, (int, float)): return int(v)
    if isinstance(v, dict):
        for k in ("packets", "count", "value"):
            if k in v and isinstance(v[k], (int, float)): return int(v[k])
    return None
def walk(o):
    if isinstance(o, dict):
        if name in o and num(o[name]) is not None: return num(o[name])
        for k in ("reason", "name"):
            if o.get(k) == name:
                n = num(o)
                if n is not None: return n
        for v in o.values():
            r = walk(v)
            if r is not None: return r
    elif isinstance(o, list):
        for v in o:
            r = walk(v)
            if r is not None: return r
    return None
r = walk(doc)
if r is None: sys.exit("reason %s not in xlbctl stats output" % name)
print(r)' "$1"
}

# xdp_attached NS DEV: does ip link show an XDP program on DEV?
xdp_attached() { ip -n "$1" -d link show dev "$2" | grep -q 'prog/xdp'; }
# tc_prog NS DEV DIR: the name of the tc program on DEV's DIR hook.
tc_prog() {
	ip netns exec "$1" bpftool net show dev "$2" 2>/dev/null |
		awk -v h="clsact/$3" '$2 == h { sub(/:\[.*/, "", $3); print $3 }'
}

# require_build: the agent must exist (else the test fails: it cannot run
# without it, and that is a real failure, not a skip)
# (xlbctl missing only fails the assertions that use it).
require_build() {
	[ -x "$AGENT" ] || t_abort "build" "$AGENT missing (run make)"
	[ -x "$XLBCTL" ] || echo "# warning: $XLBCTL missing: xlbctl assertions will fail"
}
require_root() {
	[ "$(id -u)" = 0 ] || { t_skip "all" "needs root (network namespaces, XDP)"; t_summary; exit 0; }
}

# ------------------------------------------------------------------- config
# Kubernetes objects as `kubectl get -o yaml` prints them (multi-document).
#
# cfg_svc NAME TYPE PROTO PORT TARGET NODEPORT [ETP [LB_IP]]
#   TYPE NodePort|LoadBalancer; ETP Cluster|Local; the port is named "p".
cfg_svc() {
	local name=$1 type=$2 proto=$3 port=$4 target=$5 np=$6 etp=${7:-Cluster} lbip=${8:-}
	cat <<-YAML
	---
	apiVersion: v1
	kind: Service
	metadata:
	  name: $name
	  namespace: default
	  uid: 00000000-0000-4000-8000-$(printf '%012d' "$np")
	spec:
	  type: $type
	  clusterIP: 10.96.0.$((np % 250 + 1))
	  externalTrafficPolicy: $etp
	  ports:
	  - name: p
	    port: $port
	    protocol: $proto
	    targetPort: $target
	    nodePort: $np
	  selector:
	    app: $name
	YAML
	if [ -n "$lbip" ]; then
		cat <<-YAML
		status:
		  loadBalancer:
		    ingress:
		    - ip: $lbip
		      ipMode: VIP
		YAML
	else
		cat <<-YAML
		status:
		  loadBalancer: {}
		YAML
	fi
}

# cfg_eps SVC PROTO TARGET [ADDR@NODE ...]: one EndpointSlice for SVC.
cfg_eps() {
	local svc=$1 proto=$2 target=$3 e; shift 3
	cat <<-YAML
	---
	apiVersion: discovery.k8s.io/v1
	kind: EndpointSlice
	addressType: IPv4
	metadata:
	  name: $svc-abcde
	  namespace: default
	  labels:
	    kubernetes.io/service-name: $svc
	    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
	ports:
	- name: p
	  port: $target
	  protocol: $proto
	YAML
	if [ $# -eq 0 ]; then
		echo "endpoints: []"
		return
	fi
	echo "endpoints:"
	for e in "$@"; do
		cat <<-YAML
		- addresses:
		  - ${e%@*}
		  conditions:
		    ready: true
		    serving: true
		    terminating: false
		  nodeName: ${e#*@}
		YAML
	done
}

# neigh_warm: node1 learns node2's MAC (one UDP datagram from node1 to
# node2's discard port, inside our namespaces). XDP's bpf_fib_lookup gives
# a next hop only when the node has a neighbour entry for it.
neigh_warm() {
	timeout 5 ip netns exec "$N1" "$PY" -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"x", ("10.0.1.2", 9))
time.sleep(0.2)' 2>/dev/null
	ip -n "$N1" neigh show 10.0.1.2 dev n1n2 | grep -qE 'REACHABLE|STALE|DELAY|PROBE'
}
# neigh_cold: node1 forgets node2's MAC.
neigh_cold() { ip -n "$N1" neigh flush dev n1n2 2>/dev/null; true; }

# ------------------------------------------------------- L2 segment topology
# For the LoadBalancer tests: two nodes and a client on one Linux bridge (a
# switch, in its own namespace), default offloads, no helper programs:
#
#   C  c0 10.50.0.2/24 ─┐
#   N1 ul0 10.50.0.11/24 ─┼─ br0 (SW)      pool addresses: 10.50.0.200-...
#   N2 ul0 10.50.0.12/24 ─┘
#   N1 n1p1 10.1.1.1/24 ── eth0 10.1.1.2  P1     N2 n2p2 10.2.1.1/24 ── eth0 10.2.1.2  P2
#
# The client has no route to the VIPs: they are on its own segment, so it
# must ARP for them. Nodes route the other node's Pod subnet via its address.
SW=${PFX}SW
L2_NET=10.50.0
l2_pod_add() {	# NODE_NS NODE_IF NODE_ADDR/LEN POD_NS POD_ADDR/LEN
	local gw=${3%/*}
	ns_add "$4" || return 1
	veth_pair "$1" "$2" "$4" eth0 || return 1
	ip -n "$1" addr add "$3" dev "$2" &&
	ip -n "$4" addr add "$5" dev eth0 &&
	ip -n "$4" route add default via "$gw"
}
l2_topo_up() {
	local ns
	for ns in "$SW" "$C" "$N1" "$N2"; do ns_add "$ns" || return 1; done
	ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up || return 1
	veth_pair "$C" c0 "$SW" s-c && veth_pair "$N1" ul0 "$SW" s-n1 &&
	veth_pair "$N2" ul0 "$SW" s-n2 || return 1
	for ns in s-c s-n1 s-n2; do ip -n "$SW" link set "$ns" master br0 || return 1; done
	ip -n "$C" addr add $L2_NET.2/24 dev c0 &&
	ip -n "$N1" addr add $L2_NET.11/24 dev ul0 &&
	ip -n "$N2" addr add $L2_NET.12/24 dev ul0 || return 1
	for ns in "$N1" "$N2"; do
		nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 || return 1
	done
	l2_pod_add "$N1" n1p1 10.1.1.1/24 "$P1" 10.1.1.2/24 &&
	l2_pod_add "$N2" n2p2 10.2.1.1/24 "$P2" 10.2.1.2/24 || return 1
	ip -n "$N1" route add 10.2.1.0/24 via $L2_NET.12 &&
	ip -n "$N2" route add 10.1.1.0/24 via $L2_NET.11 || return 1
	mkdir -p "$TMP/bpf" && mount -t bpf bpf "$TMP/bpf" || return 1
	E2E_BPFFS=1
}
mac_of() { cat "/sys/class/net/$2/address" 2>/dev/null || ip -n "$1" -br link show dev "$2" | awk '{ print $3 }'; }
# l2_agent_start NAME NS NODE [args]: agent on NS's uplink ul0, pins under
# $TMP/bpf/NAME; waits (<= 10 s) for ready.
l2_agent_start() {
	local name=$1 ns=$2 node=$3 log=$TMP/$1.log; shift 3
	ip netns exec "$ns" "$AGENT" --iface ul0 --node-name "$node" \
		--pin-dir "$TMP/bpf/$name" --healthz-bind-address off "$@" >>"$log" 2>&1 &
	agent_wait_ready "$name" $! "$log" 10
}
# arp_probe VIP [SECONDS]: "reply MAC" lines and "replies N" from the client.
arp_probe() { timeout 10 ip netns exec "$C" "$PY" "$E2E_DIR/l2probe.py" arp c0 $L2_NET.2 "$1" -t "${2:-0.5}"; }
arp_replies() { arp_probe "$@" | awk '$1 == "replies" { print $2 }'; }
# vip_field NAME VIP FIELD: one field of `xlbctl vip list -j` for VIP.
vip_field() {
	timeout 10 "$XLBCTL" --pin-dir "$TMP/bpf/$1" -j vip list | "$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    if r["address"] == sys.argv[1]:
        v = r[sys.argv[2]]
        print(str(v).lower() if isinstance(v, bool) else v)
        break
else:
    print("<none>")' "$2" "$3"
}

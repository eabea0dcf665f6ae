# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Shared by bench/fwd.sh and bench/conn.sh: one client → node → Pod topology
# per contender, each in fresh namespaces, and the contenders' setup.
#
#   client ns  fc0 10.0.0.2/24 ── fu0 10.0.0.1/24  node ns  fp0 10.1.1.1/24 ── fe0 10.1.1.2/24  Pod ns
#
# The node has a permanent neighbour entry for the Pod (the XDP sink on fe0
# drops ARP too). The client sends with TSO/GSO off and the node's uplink has
# GRO on, so even without XDP the uplink queues to its NAPI (BENCH_NOTES.md):
# receive work is in the node's NAPI thread, not in the sender's context.
#
# Contenders (ns_contender NAME N): xlb (the real agent, N NodePort Services,
# the target's endpoint the local Pod), iptables (kube-proxy's rules,
# iptables-restore), nft (kube-proxy's nftables rules, nft -f), plain (no rules:
# the node only routes; "direct to the Pod" and the generator ceiling).
# Every name carries PFX; cleanup deletes what this run made.

NSL_NS=()
NSL_PIDS=()
NSL_BPFFS=
C= N= P=
NODE_IP=10.0.0.1 CLIENT_IP=10.0.0.2 POD_IP=10.1.1.2
NP_TARGET=	# target Service index (nodePort 30000 + it)

nsl_cleanup() {
	local p ns
	for p in "${NSL_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for ns in "${NSL_NS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
	done
	sleep 0.3
	for p in "${NSL_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for ns in "${NSL_NS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	wait 2>/dev/null
	for ns in "${NSL_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	NSL_NS=() NSL_PIDS=()
	if [ -n "$NSL_BPFFS" ]; then
		umount "$NSL_BPFFS" 2>/dev/null || umount -l "$NSL_BPFFS" 2>/dev/null
		rmdir "$NSL_BPFFS" 2>/dev/null
		NSL_BPFFS=
	fi
}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# topo_up TAG: fresh client/node/Pod namespaces named $PFX-TAG-{c,n,p}
topo_up() {
	local t=$PFX-$1 ns
	C=$t-c N=$t-n P=$t-p
	for ns in "$C" "$N" "$P"; do
		ip netns add "$ns" || return 1
		NSL_NS+=("$ns")
		ip -n "$ns" link set lo up
	done
	nsx "$N" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 || return 1
	ip link add fc0 netns "$C" type veth peer name fu0 netns "$N" || return 1
	ip link add fp0 netns "$N" type veth peer name fe0 netns "$P" || return 1
	ip -n "$C" addr add $CLIENT_IP/24 dev fc0 &&
	ip -n "$N" addr add $NODE_IP/24 dev fu0 &&
	ip -n "$N" addr add 10.1.1.1/24 dev fp0 &&
	ip -n "$P" addr add $POD_IP/24 dev fe0 || return 1
	local d
	for d in "$C fc0" "$N fu0" "$N fp0" "$P fe0"; do
		# shellcheck disable=SC2086
		ip -n ${d% *} link set ${d#* } up || return 1
	done
	ip -n "$C" route add default via $NODE_IP &&
	ip -n "$P" route add default via 10.1.1.1 || return 1
	# Measurement, not correctness: a veth queues skbs to its NAPI (so
	# threaded NAPI can put the node's receive work on its own CPU) only
	# when the sender has no TSO and the receiver GRO (BENCH_NOTES.md).
	# Checksum offloads stay at their defaults.
	nsx "$C" ethtool -K fc0 tso off gso off >/dev/null 2>&1
	nsx "$N" ethtool -K fu0 gro on >/dev/null 2>&1
	local pmac
	pmac=$(nsx "$P" cat /sys/class/net/fe0/address) || return 1
	ip -n "$N" neigh replace $POD_IP lladdr "$pmac" dev fp0 nud permanent || return 1
	ip -n "$C" neigh replace $NODE_IP lladdr "$(nsx "$N" cat /sys/class/net/fu0/address)" \
		dev fc0 nud permanent
}

node_mac() { nsx "$N" cat /sys/class/net/fu0/address; }

# napi_pin NS DEV: threaded NAPI for DEV, its threads on CPU 0
napi_pin() {
	local p
	nsx "$1" sh -c "echo 1 > /sys/class/net/$2/threaded" 2>/dev/null || return 1
	for p in $(ps -e -o pid=,comm= | awk -v d="napi/$2-" 'index($2, d) == 1 { print $1 }'); do
		taskset -pc 0 "$p" >/dev/null 2>&1
	done
}

# gen_svc N PROTO: generate N Services (one endpoint each; Service N/2 is the
# target: its endpoint is the Pod on node1) into $WORK/nsl-N-PROTO.*
gen_svc() {
	local n=$1 proto=$2 f=$WORK/nsl-$1-$2
	NP_TARGET=$(( n / 2 ))
	[ -f "$f.nft" ] && return 0
	python3 "$ROOT/bench/svcgen.py" --services "$n" --endpoints 1 --target "$NP_TARGET" \
		--target-ip $POD_IP --node node1 --node-ip $NODE_IP --proto "$proto" \
		--yaml "$f.yaml" --iptables "$f.ipt" --nft "$f.nft"
}

# contender_up NAME N PROTO: install contender NAME for N Services in $N
contender_up() {
	local name=$1 n=$2 proto=$3 f=$WORK/nsl-$2-$3 i log
	case $name in
	plain|direct|ceiling) return 0 ;;
	iptables) gen_svc "$n" "$proto" && timeout 300 ip netns exec "$N" iptables-restore "$f.ipt" ;;
	nft) gen_svc "$n" "$proto" && timeout 300 ip netns exec "$N" nft -f "$f.nft" ;;
	xlb)
		gen_svc "$n" "$proto" || return 1
		if [ -z "$NSL_BPFFS" ]; then
			NSL_BPFFS=$WORK/nsl-bpffs
			mkdir -p "$NSL_BPFFS" && mount -t bpf bpf "$NSL_BPFFS" || { NSL_BPFFS=; return 1; }
		fi
		log=$WORK/nsl-agent-$n-$proto.log
		# --attach xdp --local-delivery stack: this measures the XDP
		# path with XDP_PASS to the Pod, as before (bpf_redirect_peer
		# would skip the sink on the Pod's veth).
		ip netns exec "$N" "$BUILD/xlb-agent" --iface fu0 --attach xdp --local-delivery stack \
			--config "$f.yaml" --node-name node1 \
			--pin-dir "$NSL_BPFFS/xlb-$n-$proto" --healthz-bind-address off >"$log" 2>&1 &
		NSL_PIDS+=($!)
		for i in $(seq 1 1200); do
			grep -q 'xlb-agent: ready' "$log" && return 0
			kill -0 "${NSL_PIDS[-1]}" 2>/dev/null || break
			sleep 0.1
		done
		echo "xlb-agent not ready: $(tail -3 "$log")" >&2
		return 1 ;;
	*) return 1 ;;
	esac
}

# cpu0_busy: CPU 0 busy ticks (user nice system irq softirq) from /proc/stat
cpu0_busy() { awk '$1 == "cpu0" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
now() { date +%s.%N; }

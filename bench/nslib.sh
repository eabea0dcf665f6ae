# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# shellcheck shell=bash
# Shared by bench/fwd.sh and bench/conn.sh: one client → node → Pod topology
# per contender, each in fresh namespaces, and the contenders' setup.
#
#   client ns  fc0 10.0.0.2/24 ── fu0 10.0.0.1/24  node ns  fp0 10.1.1.1/24 ── fe0 10.1.1.2/24  Pod ns
#                                                    node ns  fn0 10.0.1.1/24 ── fh0 10.0.1.2/24  node2 ns
#                                                             (topo_remote_up: the remote Pod 10.2.1.2
#                                                              is an address on fh0, routed via 10.0.1.2)
#
# The node has permanent neighbour entries for the Pod and node2 (the
# benchmark's sinks drop the UDP they count and pass the rest, but nothing
# answers from there). The client sends with TSO/GSO off and the node's uplink has
# GRO on, so even without XDP the uplink queues to its NAPI (BENCH_NOTES.md):
# receive work is in the node's NAPI thread, not in the sender's context.
#
# Contenders (contender_up NAME N PROTO): xlb (the real agent, N NodePort
# Services, the target's endpoint the local Pod; NSL_AGENT_ARGS are added to
# its command line, NSL_LOCAL_DELIVERY picks --local-delivery, default stack),
# iptables (kube-proxy's rules,
# iptables-restore), nft (kube-proxy's nftables rules, nft -f), plain (no rules:
# the node only routes; "direct to the Pod" and the generator ceiling).
# Every name carries PFX; cleanup deletes what this run made.

NSL_NS=()
NSL_PIDS=()
NSL_BPFFS=
C='' N='' P='' H=''
NODE_IP=10.0.0.1 CLIENT_IP=10.0.0.2 POD_IP=10.1.1.2 REMOTE_POD_IP=10.2.1.2
NP_TARGET=	# target Service index (nodePort 30000 + it)
NSL_AGENT_ARGS='' NSL_LOCAL_DELIVERY=stack
NSL_AGENT_SEQ=0

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

# topo_remote_up: after topo_up, node2 ($PFX-TAG-h) behind the node's second
# link fn0; the remote Pod's address 10.2.1.2 sits on node2's fh0 (node2's
# own forwarding to a Pod is not the node under test), the node routes
# 10.2.1.0/24 via 10.0.1.2.
topo_remote_up() {
	H=${N%-n}-h
	ip netns add "$H" || return 1
	NSL_NS+=("$H")
	ip -n "$H" link set lo up
	ip link add fn0 netns "$N" type veth peer name fh0 netns "$H" || return 1
	ip -n "$N" addr add 10.0.1.1/24 dev fn0 &&
	ip -n "$H" addr add 10.0.1.2/24 dev fh0 &&
	ip -n "$H" addr add $REMOTE_POD_IP/32 dev fh0 &&
	ip -n "$N" link set fn0 up && ip -n "$H" link set fh0 up &&
	ip -n "$N" route add 10.2.1.0/24 via 10.0.1.2 dev fn0 &&
	ip -n "$H" route add default via 10.0.1.1 || return 1
	ip -n "$N" neigh replace 10.0.1.2 lladdr "$(nsx "$H" cat /sys/class/net/fh0/address)" \
		dev fn0 nud permanent
}

# ct_flush NS: empty the netfilter conntrack table of NS (ctnetlink
# IPCTNL_MSG_CT_DELETE without attributes, what `conntrack -F` sends)
ct_flush() {
	nsx "$1" python3 -c '
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)	# NETLINK_NETFILTER
msg = struct.pack("=BBH", socket.AF_INET, 0, 0)			# nfgenmsg
s.send(struct.pack("=IHHII", 16 + len(msg), (1 << 8) | 2, 1 | 4, 1, 0) + msg)	# CT_DELETE, REQUEST|ACK
r = s.recv(4096)
err = struct.unpack_from("=i", r, 16)[0]
raise SystemExit(1 if err else 0)'
}
ct_count() { nsx "$1" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0; }

# napi_pin NS DEV: threaded NAPI for DEV, its threads on CPU 0
napi_pin() {
	local p
	nsx "$1" sh -c "echo 1 > /sys/class/net/$2/threaded" 2>/dev/null || return 1
	for p in $(ps -e -o pid=,comm= | awk -v d="napi/$2-" 'index($2, d) == 1 { print $1 }'); do
		taskset -pc 0 "$p" >/dev/null 2>&1
	done
}

# gen_svc N PROTO: generate N Services (one endpoint each; Service N/2 is the
# target: its endpoint is the Pod on node1) into $WORK/nsl-N-PROTO.*, and
# the same with the target's endpoint the remote Pod on node2 into
# $WORK/nsl-N-PROTO-remote.yaml (xlb) and -remote.{ipt,nft} (only the target's
# endpoint chain, to load over the local rules: kube-proxy's rules for a
# local and a remote endpoint differ only in the DNAT address).
gen_svc() {
	local n=$1 proto=$2 f=$WORK/nsl-$1-$2 sep
	NP_TARGET=$(( n / 2 ))
	[ -f "$f.nft" ] && [ -f "$f-remote.nft" ] && return 0
	python3 "$ROOT/bench/svcgen.py" --services "$n" --endpoints 1 --target "$NP_TARGET" \
		--target-ip $POD_IP --node node1 --node-ip $NODE_IP --proto "$proto" \
		--yaml "$f.yaml" --iptables "$f.ipt" --nft "$f.nft" || return 1
	sed -e "s/^  - ${POD_IP//./\\.}\$/  - $REMOTE_POD_IP/" -e 's/^  nodeName: node1$/  nodeName: node2/' \
		"$f.yaml" >"$f-remote.yaml" || return 1
	sep=$(grep -- "--to-destination $POD_IP:" "$f.ipt" | awk '{ print $2 }')
	[ -n "$sep" ] || return 1
	{ echo '*nat'; echo ":$sep - [0:0]"
	  grep -- "^-A $sep " "$f.ipt" | sed "s/$POD_IP/$REMOTE_POD_IP/g"; echo COMMIT; } >"$f-remote.ipt"
	sep=$(grep -- " dnat to $POD_IP:" "$f.nft" | awk '{ print $5 }')
	[ -n "$sep" ] || return 1
	{ echo "flush chain ip kube-proxy $sep"
	  grep -- "^add rule ip kube-proxy $sep " "$f.nft" |
		sed -e "s/ ip saddr $POD_IP / ip saddr $REMOTE_POD_IP /" -e "s/ dnat to $POD_IP:/ dnat to $REMOTE_POD_IP:/"
	} >"$f-remote.nft"
}

# endpoint_remote NAME N PROTO: point the running kube-proxy contender's
# target at the remote Pod
endpoint_remote() {
	local f=$WORK/nsl-$2-$3-remote
	case $1 in
	iptables) nsx "$N" iptables-restore --noflush "$f.ipt" ;;
	nft) nsx "$N" nft -f "$f.nft" ;;
	*) return 1 ;;
	esac
}

# contender_up NAME N PROTO [CONFIG]: install contender NAME for N Services
# in $N (xlb: CONFIG instead of the generated local one)
contender_up() {
	local name=$1 n=$2 proto=$3 f=$WORK/nsl-$2-$3 i log cfg=${4:-}
	case $name in
	plain|direct|ceiling|*floor) return 0 ;;
	iptables) gen_svc "$n" "$proto" && timeout 300 ip netns exec "$N" iptables-restore "$f.ipt" ;;
	nft) gen_svc "$n" "$proto" && timeout 300 ip netns exec "$N" nft -f "$f.nft" ;;
	xlb)
		gen_svc "$n" "$proto" || return 1
		if [ -z "$NSL_BPFFS" ]; then
			NSL_BPFFS=$WORK/nsl-bpffs
			mkdir -p "$NSL_BPFFS" && mount -t bpf bpf "$NSL_BPFFS" || { NSL_BPFFS=; return 1; }
		fi
		NSL_AGENT_SEQ=$(( NSL_AGENT_SEQ + 1 ))
		NSL_PIN=$NSL_BPFFS/xlb-$n-$proto-$NSL_AGENT_SEQ
		log=$WORK/nsl-agent-$n-$proto-$NSL_AGENT_SEQ.log
		# --attach xdp: the XDP path on the uplink (a veth: translated
		# packets that leave by redirect go through tc ingress).
		# shellcheck disable=SC2086
		ip netns exec "$N" "$BUILD/xlb-agent" --iface fu0 --attach xdp \
			--local-delivery "$NSL_LOCAL_DELIVERY" $NSL_AGENT_ARGS \
			--config "${cfg:-$f.yaml}" --node-name node1 \
			--pin-dir "$NSL_PIN" --healthz-bind-address off >"$log" 2>&1 &
		NSL_PIDS+=($!)
		NSL_AGENT_PID=$!
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

# agent_stop: stop the agent contender_up started last (its programs stay
# attached until the next agent replaces them or the namespace goes)
agent_stop() {
	[ -n "${NSL_AGENT_PID:-}" ] || return 0
	kill -TERM "$NSL_AGENT_PID" 2>/dev/null
	wait "$NSL_AGENT_PID" 2>/dev/null
	NSL_AGENT_PID=
}

# cpu0_busy: CPU 0 busy ticks (user nice system irq softirq) from /proc/stat
cpu0_busy() { awk '$1 == "cpu0" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
now() { date +%s.%N; }

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End-to-end on the lab shapes users have: nodes whose uplinks are veths
# on one Linux bridge (a switch), default offloads, no helper programs on
# any peer; a remote Pod network reached through a VXLAN device
# (flannel-style: one vxlan per node, /32 address, onlink routes, static
# FDB), and a Pod link with a smaller MTU inside the path.
#
#   C  c0 10.0.0.2 ──┐
#   N1 n1up 10.0.0.1 ├── br0 in SW      N1: P1 10.1.1.2 (n1p1)
#   N2 n2up 10.0.0.3 ┘                  N2: P2 10.2.1.2 (n2p2, MTU 1400)
#                                           P3 10.244.2.2 (n2p3)
#   N1 → 10.2.1.0/24 via 10.0.0.3 (host-gw); N1 → 10.244.2.0/24 via vx0
#   (10.244.1.0/32) → VXLAN over the bridge → N2 vx0 (10.244.2.0/32).
#
# node1 runs xlb-agent --iface n1up --iface vx0 (auto: tc on both).
#
#   bash selftests/e2e/test_topologies.sh BUILD_DIR
set -u
AGENT_IFACES="n1up vx0"
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

SW=${PFX}SW P3=${PFX}P3

topo_bridge() {
	local ns m1 m2
	for ns in "$SW" "$C" "$N1" "$N2"; do ns_add "$ns" || return 1; done
	for ns in "$N1" "$N2"; do
		nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 || return 1
	done
	ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up || return 1
	veth_pair "$C" c0 "$SW" swc && veth_pair "$N1" n1up "$SW" sw1 &&
	veth_pair "$N2" n2up "$SW" sw2 || return 1
	for p in swc sw1 sw2; do ip -n "$SW" link set "$p" master br0 || return 1; done
	ip -n "$C" addr add 10.0.0.2/24 dev c0 &&
	ip -n "$N1" addr add 10.0.0.1/24 dev n1up &&
	ip -n "$N2" addr add 10.0.0.3/24 dev n2up || return 1
	ip -n "$C" route add default via 10.0.0.1 &&
	ip -n "$N1" route add 10.2.1.0/24 via 10.0.0.3 &&
	ip -n "$N2" route add 10.1.1.0/24 via 10.0.0.1 || return 1
	# C is also the router that announces LB VIPs (192.0.2.0/24) to node1:
	# node1 itself reaches them through C (hairpin).
	nsx "$C" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.c0.send_redirects=0 &&
	ip -n "$C" route add 192.0.2.0/24 via 10.0.0.1 &&
	ip -n "$N1" route add 192.0.2.0/24 via 10.0.0.2 || return 1

	pod_add "$N1" n1p1 10.1.1.1/24 "$P1" 10.1.1.2/24 || return 1
	pod_add "$N2" n2p2 10.2.1.1/24 "$P2" 10.2.1.2/24 || return 1
	ip -n "$N2" link set n2p2 mtu 1400 && ip -n "$P2" link set eth0 mtu 1400 || return 1
	pod_add "$N2" n2p3 10.244.2.1/24 "$P3" 10.244.2.2/24 || return 1

	# flannel's VXLAN backend, by hand
	for ns in "$N1" "$N2"; do
		local me=10.0.0.1 net=10.244.1.0
		[ "$ns" = "$N2" ] && me=10.0.0.3 net=10.244.2.0
		ip -n "$ns" link add vx0 type vxlan id 1 local $me dstport 4789 nolearning \
			dev "$( [ "$ns" = "$N1" ] && echo n1up || echo n2up)" &&
		ip -n "$ns" addr add $net/32 dev vx0 && ip -n "$ns" link set vx0 up || return 1
	done
	m1=$(nsx "$N1" cat /sys/class/net/vx0/address) m2=$(nsx "$N2" cat /sys/class/net/vx0/address)
	ip -n "$N1" route add 10.244.2.0/24 via 10.244.2.0 dev vx0 onlink &&
	ip -n "$N1" neigh add 10.244.2.0 lladdr "$m2" dev vx0 nud permanent &&
	nsx "$N1" bridge fdb append "$m2" dev vx0 dst 10.0.0.3 &&
	ip -n "$N2" route add 10.244.1.0/24 via 10.244.1.0 dev vx0 onlink &&
	ip -n "$N2" neigh add 10.244.1.0 lladdr "$m1" dev vx0 nud permanent &&
	nsx "$N2" bridge fdb append "$m1" dev vx0 dst 10.0.0.1 || return 1

	mkdir -p "$TMP/bpf" && mount -t bpf bpf "$TMP/bpf" || return 1
	E2E_BPFFS=1
}

CFG=$TMP/services.yaml
{
	cfg_svc web NodePort TCP 80 8080 30080
	cfg_eps web TCP 8080 10.1.1.2@node1 10.2.1.2@node2
	cfg_svc local NodePort TCP 80 8080 30083
	cfg_eps local TCP 8080 10.1.1.2@node1
	cfg_svc remote NodePort TCP 80 8080 30082
	cfg_eps remote TCP 8080 10.2.1.2@node2
	cfg_svc overlay NodePort TCP 80 8080 30086
	cfg_eps overlay TCP 8080 10.244.2.2@node2
	cfg_svc dnsremote NodePort UDP 53 5353 30054
	cfg_eps dnsremote UDP 5353 10.2.1.2@node2
	cfg_svc dnslocal NodePort UDP 53 5353 30056
	cfg_eps dnslocal UDP 5353 10.1.1.2@node1
	cfg_svc dnsoverlay NodePort UDP 53 5353 30055
	cfg_eps dnsoverlay UDP 5353 10.244.2.2@node2
	cfg_svc hairpin LoadBalancer TCP 80 8080 30087 Cluster 192.0.2.20
	cfg_eps hairpin TCP 8080 10.2.1.2@node2
	cfg_svc empty NodePort TCP 80 8080 30090
	cfg_eps empty TCP 8080
	# An LB VIP only 10.0.0.2 (the client) may reach: the ranges bind the
	# node's own sockets too (kube-proxy: "also for pods and the node").
	cfg_svc ranged LoadBalancer TCP 80 8080 30088 Cluster 192.0.2.21 |
		sed 's/^  type: LoadBalancer$/  type: LoadBalancer\n  loadBalancerSourceRanges: ["10.0.0.2\/32"]/'
	cfg_eps ranged TCP 8080 10.2.1.2@node2
} >"$CFG"

topo_bridge || t_abort topology "bridge/VXLAN topology failed"
cgroup_make || t_abort cgroup "no private cgroup v2 directory"
pod_server "$P1" P1 && pod_server "$P2" P2 && pod_server "$P3" P3 ||
	t_abort servers "pod servers did not start"
t_check "routing before xlb: client -> P1" http_get 10.1.1.2 8080
agent_start a1 "$N1" "$CFG" --cgroup "$CG" || t_abort "agent start" "$(tail -20 "$(agent_log a1)")"
if grep -q 'vx0: tc datapath (driver vxlan' "$(agent_log a1)"; then
	t_pass "auto: tc datapath on the VXLAN device, reason logged"
else
	t_fail "auto: tc datapath on the VXLAN device" "$(grep datapath "$(agent_log a1)")"
fi

expect() {
	local name=$1 re=$2 out; shift 2
	if out=$("$@" 2>&1) && grep -Eq "$re" <<<"$out"; then
		t_pass "$name"; note "  $(tr "\n" " " <<<"$out")"
	else
		t_fail "$name" "got: $(tail -3 <<<"$out" | tr '\n' ' ')"
	fi
}

# 1. Bridge: the client, node1 and node2 share one switch; the remote
#    backend is reached out of the same uplink the client came in on.
expect "bridge: local Pod keeps the client address (30083)" \
	'^pod=P1 client=10\.0\.0\.2:[0-9]+$' http_get 10.0.0.1 30083
expect "bridge: remote Pod via node2 on the same switch, SNAT 10.0.0.1 (30082)" \
	'^pod=P2 client=10\.0\.0\.1:6[0-9]{4}$' http_get 10.0.0.1 30082
out=$(http_many 10.0.0.1 30080 20 2>&1)
if grep -q '^pod=P1 ' <<<"$out" && grep -q '^pod=P2 ' <<<"$out" && grep -q '^fail 0$' <<<"$out"; then
	t_pass "bridge: 20 new connections reach both Pods ($(tr '\n' ' ' <<<"$out"))"
else
	t_fail "bridge: 20 new connections reach both Pods" "$(tr '\n' ' ' <<<"$out")"
fi
expect "bridge: UDP to a remote Pod answers (30054)" '^pod=P2 client=10\.0\.0\.1:' \
	udp_ask 10.0.0.1 30054
expect "bridge: no endpoints: ICMP reject reaches the client through the switch" \
	'^refused .*: refused after' tcp_connect_refused 10.0.0.1 30090 1
# TSO/GSO skbs with partial checksums from the client, both directions.
expect "bridge: 300 KB upload to a remote Pod with default offloads (GSO, CHECKSUM_PARTIAL)" \
	'^pod=P2 client=10\.0\.0\.1:[0-9]+ got=300000$' client post 10.0.0.1 30082 300000 -t 10
expect "bridge: 300 KB upload to a local Pod" \
	'^pod=P1 client=10\.0\.0\.2:[0-9]+ got=300000$' client post 10.0.0.1 30083 300000 -t 10

# 2. Fragments: a 4000-byte UDP answer leaves P2 in three fragments (MTU
#    1400); each is translated back to the client, which reassembles.
before=$(reason_count reply_snat 2>&1)
expect "fragmented UDP reply (4000 bytes) from a remote Pod reaches the client" \
	'^len=4000$' client udpbig 10.0.0.1 30054 4000
after=$(reason_count reply_snat 2>&1)
if [[ "$before" =~ ^[0-9]+$ && "$after" =~ ^[0-9]+$ ]] && [ $((after - before)) -ge 3 ]; then
	t_pass "fragments: each of the reply's fragments translated (reply_snat +$((after - before)))"
else
	t_fail "fragments: each fragment translated" "reply_snat $before -> $after"
fi

# The same from a local Pod: P1's 4000-byte answer leaves in fragments
# through node1's uplink, where tc egress gives each one the frontend.
before=$(reason_count reply_local 2>&1)
expect "fragmented UDP reply (4000 bytes) from a local Pod reaches the client" \
	'^len=4000$' client udpbig 10.0.0.1 30056 4000
after=$(reason_count reply_local 2>&1)
if [[ "$before" =~ ^[0-9]+$ && "$after" =~ ^[0-9]+$ ]] && [ $((after - before)) -ge 3 ]; then
	t_pass "fragments: each of the local reply's fragments translated (reply_local +$((after - before)))"
else
	t_fail "fragments: each local reply fragment translated" "reply_local $before -> $after"
fi

# 3. PMTU through SNAT: node2 cannot forward a 1450-byte DF datagram into
#    P2's 1400 link and answers node1's SNAT address with frag-needed;
#    xlb translates it back, so the client's kernel learns MTU 1400 for
#    the frontend it talks to.
before=$(reason_count icmp_xlate 2>&1)
expect "ICMP frag-needed from node2 reaches the client translated (path MTU 1400)" \
	'^mtu=1400$' client udpdf 10.0.0.1 30054 1450 -t 4
after=$(reason_count icmp_xlate 2>&1)
if [[ "$before" =~ ^[0-9]+$ && "$after" =~ ^[0-9]+$ ]] && [ "$after" -gt "$before" ]; then
	t_pass "xlbctl stats: icmp_xlate counted ($before -> $after)"
else
	t_fail "xlbctl stats: icmp_xlate counted" "$before -> $after"
fi

# 4. VXLAN: the route to P3 leaves through vx0; the SNAT source is vx0's
#    address, and P3's replies come back decapsulated on vx0.
expect "VXLAN: remote Pod behind the overlay, SNAT to vx0's 10.244.1.0 (30086)" \
	'^pod=P3 client=10\.244\.1\.0:6[0-9]{4}$' http_get 10.0.0.1 30086
expect "VXLAN: UDP through the overlay (30055)" '^pod=P3 client=10\.244\.1\.0:' \
	udp_ask 10.0.0.1 30055
expect "VXLAN: 300 KB upload through the overlay" \
	'^pod=P3 client=10\.244\.1\.0:[0-9]+ got=300000$' client post 10.0.0.1 30086 300000 -t 10
# xlb's own frag-needed: a 1472-byte DF datagram does not fit vx0 (MTU
# 1450); node1 answers the client with frag-needed 1450 from tc. (The
# client forgets the 1400 it learned for 10.0.0.1 above first.)
ip -n "$C" route flush cache
before=$(reason_count icmp_frag_needed 2>&1)
expect "VXLAN: DF datagram above vx0's MTU: the client learns 1450 from xlb" \
	'^mtu=1450$' client udpdf 10.0.0.1 30055 1472 -t 4
after=$(reason_count icmp_frag_needed 2>&1)
if [[ "$before" =~ ^[0-9]+$ && "$after" =~ ^[0-9]+$ ]] && [ "$after" -gt "$before" ]; then
	t_pass "xlbctl stats: icmp_frag_needed counted ($before -> $after)"
else
	t_fail "xlbctl stats: icmp_frag_needed counted" "$before -> $after"
fi
d=$(reason_count drop_no_snat_addr 2>&1)
[ "$d" = 0 ] && t_pass "no drop_no_snat_addr" || t_fail "no drop_no_snat_addr" "$d"

# 5. Local access: sockets in the cgroup the agent serves (on node1, and
#    in its Pod P1) reaching node1's own NodePort. A process outside it
#    is refused: nothing listens on the nodePort, the translation is what
#    serves it.
expect "node-local client of its own NodePort, local Pod (30083)" \
	'^pod=P1 client=10\.1\.1\.1:[0-9]+$' cg_run "$N1" "$PY" "$E2E_DIR/client.py" get 10.0.0.1 30083 -t 3
expect "node-local client of its own NodePort, remote Pod (30082)" \
	'^pod=P2 client=10\.0\.0\.1:[0-9]+$' cg_run "$N1" "$PY" "$E2E_DIR/client.py" get 10.0.0.1 30082 -t 3
expect "node-local UDP client of its own NodePort (30054)" \
	'^pod=P2 client=10\.0\.0\.1:' cg_run "$N1" "$PY" "$E2E_DIR/client.py" udp 10.0.0.1 30054 -t 3
expect "node-local client: getpeername shows the frontend" \
	'^peer=10\.0\.0\.1:30083$' cg_run "$N1" "$PY" "$E2E_DIR/client.py" peer 10.0.0.1 30083 -t 3
expect "Pod P1 to its own node's NodePort, remote Pod (30082)" \
	'^pod=P2 client=10\.1\.1\.2:[0-9]+$' cg_run "$P1" "$PY" "$E2E_DIR/client.py" get 10.0.0.1 30082 -t 3
expect "control: a node process outside the cgroup is refused" '^refused .*: refused after' \
	timeout 20 ip netns exec "$N1" "$PY" "$E2E_DIR/client.py" refused 10.0.0.1 30083 -t 1
# loadBalancerSourceRanges are not bypassed by local access: a socket in
# the cgroup is not short-circuited to the backend; its SYN takes the
# network path and the uplink drops it (its source, 10.0.0.1, is outside
# 10.0.0.2/32). The allowed client still gets through.
expect "source ranges: the client 10.0.0.2 reaches the ranged VIP 192.0.2.21" \
	'^pod=P2 client=10\.0\.0\.1:6[0-9]{4}$' http_get 192.0.2.21 80
xl0=$(reason_count sock_xlate 2>&1); sr0=$(reason_count drop_source_range 2>&1)
expect "source ranges bind node-local sockets too: 192.0.2.21 from node1 gets no answer" \
	'^noanswer .*: timeout after' cg_run "$N1" "$PY" "$E2E_DIR/client.py" noanswer 192.0.2.21 80 -t 2
xl1=$(reason_count sock_xlate 2>&1); sr1=$(reason_count drop_source_range 2>&1)
if [[ "$xl0$sr0" =~ ^[0-9]+$ ]] && [ "$xl1" = "$xl0" ] && [ "$sr1" -gt "$sr0" ]; then
	t_pass "ranged VIP: not translated at the socket (sock_xlate $xl0), dropped at the uplink (drop_source_range $sr0 -> $sr1)"
else
	t_fail "ranged VIP from a node socket" "sock_xlate $xl0 -> $xl1, drop_source_range $sr0 -> $sr1"
fi

# 6. Hairpin through the router: node1's own process (outside the cgroup,
#    so not translated at the socket) connects to an LB VIP; the SYN goes
#    to the router and comes back to node1's uplink with node1's own
#    address as source. The SNATed reply is for a node address: it goes up
#    the stack, its source the VIP.
expect "hairpin: node1 -> router -> node1's VIP 192.0.2.20 -> remote Pod" \
	'^pod=P2 client=10\.0\.0\.1:6[0-9]{4}$' \
	timeout 20 ip netns exec "$N1" "$PY" "$E2E_DIR/client.py" get 192.0.2.20 80 -t 3

if [ "$T_FAIL" -gt 0 ]; then
	echo "--- agent log (tail)"; tail -30 "$(agent_log a1)"
	echo "--- xlbctl -j stats"; xlbctl -j stats 2>&1 | head -c 3000; echo
fi
agent_stop a1 || t_fail "agent stops on SIGTERM" "still running after 5 s"
before=$(bpftool cgroup show "$CG" 2>&1 | grep -c xlb_sock_)
out=$(agent_uninstall --cgroup "$CG" 2>&1)
after=$(bpftool cgroup show "$CG" 2>&1 | grep -c xlb_sock_)
if [ "$before" = 8 ] && [ "$after" = 0 ]; then
	t_pass "socket programs stay after the agent stops (8), --uninstall removes them"
else
	t_fail "socket programs on the cgroup: 8 after stop, 0 after --uninstall" \
		"$before -> $after: $(tail -2 <<<"$out")"
fi
note "total $(elapsed)"
t_summary

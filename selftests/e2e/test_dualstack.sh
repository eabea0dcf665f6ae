#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Dual-stack Services end to end: a client and two nodes on one bridge
# (lib.sh l2_topo_up) with IPv6 added on every link, Pods with both
# families. One file-mode agent on node1 serves two dual-stack
# LoadBalancer Services (ipFamilies [IPv4, IPv6], RequireDualStack): one
# with its Pod on node1, one with its Pod on node2. Each answers over TCP
# and UDP on node1's IPv4 and IPv6 NodePorts and on its IPv4 and IPv6
# VIPs; a local Pod sees the client's own address in both families, a
# remote Pod sees node1's SNAT address of the family. node1's own sockets
# (in the agent's cgroup) reach them too, in both families and through
# IPv4-mapped addresses.
#
#   C  c0 10.50.0.2/24 fd00:50::2/64 ─┐
#   N1 ul0 10.50.0.11  fd00:50::11   ─┼─ br0 (SW)
#   N2 ul0 10.50.0.12  fd00:50::12   ─┘
#   N1 n1p1 10.1.1.1 fd00:1:1::1 ── eth0 10.1.1.2 fd00:1:1::2  P1
#   N2 n2p2 10.2.1.1 fd00:2:1::1 ── eth0 10.2.1.2 fd00:2:1::2  P2
#
# Every address is added with nodad (no duplicate address detection wait);
# default offloads, no helper programs on any peer.
#
#   bash selftests/e2e/test_dualstack.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

CFG=$TMP/dual.yaml
V6=fd00:50
VIP4_L=192.0.2.10 VIP6_L=2001:db8::10	# Service "here": its Pod on node1
VIP4_R=192.0.2.11 VIP6_R=2001:db8::11	# Service "there": its Pod on node2

six_up() {
	local ns
	ip -n "$C" addr add $V6::2/64 dev c0 nodad &&
	ip -n "$N1" addr add $V6::11/64 dev ul0 nodad &&
	ip -n "$N2" addr add $V6::12/64 dev ul0 nodad || return 1
	for ns in "$N1" "$N2"; do
		nsx "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	done
	ip -n "$N1" addr add fd00:1:1::1/64 dev n1p1 nodad &&
	ip -n "$P1" addr add fd00:1:1::2/64 dev eth0 nodad &&
	ip -n "$P1" -6 route add default via fd00:1:1::1 &&
	ip -n "$N2" addr add fd00:2:1::1/64 dev n2p2 nodad &&
	ip -n "$P2" addr add fd00:2:1::2/64 dev eth0 nodad &&
	ip -n "$P2" -6 route add default via fd00:2:1::1 || return 1
	ip -n "$N1" -6 route add fd00:2:1::/64 via $V6::12 &&
	ip -n "$N2" -6 route add fd00:1:1::/64 via $V6::11 || return 1
	# The VIPs are routed to node1, as a router announcing them would.
	ip -n "$C" route add 192.0.2.0/24 via 10.50.0.11 &&
	ip -n "$C" -6 route add 2001:db8::/64 via $V6::11
}

# dual NAME NP_TCP NP_UDP VIP4 VIP6 N: a dual-stack LoadBalancer Service
# (TCP 80 and UDP 53 to the Pods' 8080 and 5353), cluster IPs .N / ::N.
dual() {
	cat <<-YAML
	---
	apiVersion: v1
	kind: Service
	metadata: {name: $1, namespace: default}
	spec:
	  type: LoadBalancer
	  ipFamilyPolicy: RequireDualStack
	  ipFamilies: [IPv4, IPv6]
	  clusterIPs: [10.96.0.$6, 'fd00:96::$6']
	  clusterIP: 10.96.0.$6
	  externalTrafficPolicy: Cluster
	  ports:
	  - {name: http, port: 80, protocol: TCP, targetPort: 8080, nodePort: $2}
	  - {name: dns, port: 53, protocol: UDP, targetPort: 5353, nodePort: $3}
	  selector: {app: $1}
	status:
	  loadBalancer:
	    ingress: [{ip: $4, ipMode: VIP}, {ip: '$5', ipMode: VIP}]
	YAML
}

# slice NAME FAMILY ADDR NODE: that family's EndpointSlice of NAME.
slice() {
	cat <<-YAML
	---
	apiVersion: discovery.k8s.io/v1
	kind: EndpointSlice
	addressType: IPv$2
	metadata:
	  name: $1-v$2
	  namespace: default
	  labels: {kubernetes.io/service-name: $1}
	ports:
	- {name: http, port: 8080, protocol: TCP}
	- {name: dns, port: 5353, protocol: UDP}
	endpoints:
	- addresses: ['$3']
	  conditions: {ready: true, serving: true, terminating: false}
	  nodeName: $4
	YAML
}

{
	dual here 30080 30053 $VIP4_L $VIP6_L 10
	slice here 4 10.1.1.2 node1
	slice here 6 fd00:1:1::2 node1
	dual there 30081 30054 $VIP4_R $VIP6_R 11
	slice there 4 10.2.1.2 node2
	slice there 6 fd00:2:1::2 node2
} >"$CFG"

l2_topo_up || t_abort "topology" "could not build the L2 segment"
six_up || t_abort "topology" "could not add IPv6"
pod_server "$P1" P1 --v6 && pod_server "$P2" P2 --v6 || t_abort "servers" "pod server did not start"
# The Pods answer directly in both families before xlb is involved.
t_check "P2 reachable over IPv6 from node1 (routing sanity)" \
	timeout 10 ip netns exec "$N1" "$PY" "$E2E_DIR/client.py" get fd00:2:1::2 8080
cgroup_make || t_abort cgroup "no private cgroup v2 directory"
l2_agent_start a1 "$N1" node1 --config "$CFG" --cgroup "$CG" || t_abort "agent" "did not start"
PIN=$TMP/bpf/a1
LOG=$(agent_log a1)

# --- the control plane: node addresses, SNAT sources, both families' state
t_check "agent: node1's IPv4 and IPv6 addresses, not the link-local one" \
	grep -q 'node: 1 IPv4 and 1 IPv6 address(es) on 1 interface(s)' "$LOG"
# In node1's namespace: interface names are those of xlbctl's namespace.
node_json=$(nsx "$N1" timeout 10 "$XLBCTL" --pin-dir "$PIN" -j node list)
node_row() {	# ADDRESS: "nodeport snat_interfaces" of that row, or nothing
	"$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    if r["address"] == sys.argv[1]:
        print(str(r["nodeport"]).lower(), ",".join(r["snat_interfaces"])); break' "$1" <<<"$node_json"
}
t_check "node list: fd00:50::11 answers NodePorts and is ul0's IPv6 SNAT source" \
	test "$(node_row $V6::11)" = "true ul0"
t_check "node list: 10.50.0.11 answers NodePorts and is ul0's IPv4 SNAT source" \
	test "$(node_row 10.50.0.11)" = "true ul0"
t_check "node list: no link-local address" sh -c "! grep -q '\"fe80:' <<'EOF'
$node_json
EOF"
svc_json=$(xlbctl -j service list)
fe_of() {	# NAME FRONTEND: the svc_id of that row, or nothing
	"$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    if r["name"] == sys.argv[1] and r["frontend"] == sys.argv[2]:
        print(r["svc_id"], r["backend_count"]); break' "$1" "$2" <<<"$svc_json"
}
for fe in "[*]:30080/TCP nodeport" "[*]:30053/UDP nodeport" "[$VIP6_L]:80/TCP" "[$VIP6_L]:53/UDP"; do
	case $fe in *TCP*) n=default/here:http/TCP ;; *) n=default/here:dns/UDP ;; esac
	t_check "service list: $n/IPv6 $fe, one backend" test "$(fe_of "$n/IPv6" "$fe" | cut -d' ' -f2)" = 1
done
for fe in "*:30080/TCP nodeport" "$VIP4_L:80/TCP"; do
	t_check "service list: default/here:http/TCP $fe, one backend" \
		test "$(fe_of default/here:http/TCP "$fe" | cut -d' ' -f2)" = 1
done
t_check "the families are separate service ports" test \
	"$(fe_of default/here:http/TCP "$VIP4_L:80/TCP" | cut -d' ' -f1)" != \
	"$(fe_of default/here:http/TCP/IPv6 "[$VIP6_L]:80/TCP" | cut -d' ' -f1)"
has() { grep -qF -- "$1" <<<"$2"; }	# NEEDLE TEXT
be_json=$(xlbctl -j backend list)
t_check "backend list: the local IPv6 Pod" has '"fd00:1:1::2"' "$be_json"
t_check "backend list: the remote IPv6 Pod" has '"fd00:2:1::2"' "$be_json"
t_check "backend list table: [fd00:2:1::2]:8080" has '[fd00:2:1::2]:8080' "$(xlbctl backend list)"

# --- traffic
v6_served() {	# packets counted on the IPv6 service ports
	"$PY" -c '
import json, sys
print(sum(int(r["packets"]) for r in json.load(sys.stdin) if r["name"].endswith("/IPv6")))' \
		<<<"$(xlbctl -j service list)"
}

# expect NAME FAMILY REGEX CMD...: CMD's output matches REGEX.
expect() {
	local name=$1 re=$3 out; shift 3
	out=$("$@" 2>&1)
	if grep -qE "$re" <<<"$out"; then
		t_pass "$name"
	else
		t_fail "$name" "$(tr '\n' ' ' <<<"$out" | cut -c1-300)"
	fi
}

# Local Pod: the client's own address, both families, both protocols,
# NodePort and VIP. Remote Pod: node1's SNAT address of the family.
for fam in 4 6; do
	if [ $fam = 4 ]; then
		node=10.50.0.11 cli='10\.50\.0\.2' snat='10\.50\.0\.11' vl=$VIP4_L vr=$VIP4_R
	else
		node=$V6::11 cli='fd00:50::2' snat='fd00:50::11' vl=$VIP6_L vr=$VIP6_R
	fi
	for fe in "NodePort $node" "VIP"; do
		set -- $fe
		if [ "$1" = NodePort ]; then
			lt="$2 30080" lu="$2 30053" rt="$2 30081" ru="$2 30054"
		else
			lt="$vl 80" lu="$vl 53" rt="$vr 80" ru="$vr 53"
		fi
		# shellcheck disable=SC2086
		{
			expect "IPv$fam $1 TCP, local Pod sees the client" $fam \
				"^pod=P1 client=$cli:[0-9]+$" http_get $lt
			expect "IPv$fam $1 UDP, local Pod sees the client" $fam \
				"^pod=P1 client=$cli:[0-9]+$" udp_ask $lu
			expect "IPv$fam $1 TCP, remote Pod sees node1's SNAT address" $fam \
				"^pod=P2 client=$snat:[0-9]+$" http_get $rt
			expect "IPv$fam $1 UDP, remote Pod sees node1's SNAT address" $fam \
				"^pod=P2 client=$snat:[0-9]+$" udp_ask $ru
		}
	done
done

# Local access in both families: sockets in the agent's cgroup on node1
# reach node1's own NodePorts and VIPs through the cgroup programs (nothing
# listens there; a process outside the cgroup is refused). The kernel picks
# the source towards the backend: node1's Pod-side address for P1, its
# uplink address for P2. An IPv6 socket to an IPv4-mapped address is the
# IPv4 frontend; its backend is written back mapped.
t_check "cgroup: 8 socket programs (IPv4 and IPv6)" \
	test "$(bpftool cgroup show "$CG" 2>&1 | grep -c xlb_sock_)" = 8
cg_c() { cg_run "$N1" "$PY" "$E2E_DIR/client.py" "$@" -t 3; }
xl0=$(reason_count sock_xlate 2>&1)
expect "IPv6 local access: node1 to its own NodePort, local Pod" 6 \
	'^pod=P1 client=fd00:1:1::1:[0-9]+$' cg_c get $V6::11 30080
expect "IPv6 local access: node1 to its own NodePort, remote Pod" 6 \
	'^pod=P2 client=fd00:50::11:[0-9]+$' cg_c get $V6::11 30081
expect "IPv6 local access: node1 to its own VIP, remote Pod" 6 \
	'^pod=P2 client=fd00:50::11:[0-9]+$' cg_c get $VIP6_R 80
expect "IPv6 local access: getpeername shows the frontend" 6 \
	"^peer=fd00:50::11:30080\$" cg_c peer $V6::11 30080
expect "IPv6 local access: UDP connect + send, remote Pod" 6 \
	'^pod=P2 client=fd00:50::11:' cg_c udp $V6::11 30054
expect "IPv6 local access: UDP sendto, recvfrom names the frontend" 6 \
	"^from=$VIP6_L:53\$" cg_c udpto $VIP6_L 53
expect "IPv4-mapped: an IPv6 socket to ::ffff:10.50.0.11:30080 reaches the IPv4 Pod" 4 \
	'^pod=P1 client=(::ffff:)?10\.1\.1\.1:[0-9]+$' cg_c get ::ffff:10.50.0.11 30080
expect "IPv4-mapped: getpeername shows the mapped frontend" 4 \
	'^peer=::ffff:10\.50\.0\.11:30080$' cg_c peer ::ffff:10.50.0.11 30080
expect "IPv4-mapped: UDP sendto, recvfrom names the mapped VIP" 4 \
	"^from=::ffff:$VIP4_R:53\$" cg_c udpto ::ffff:$VIP4_R 53
expect "control: a node1 process outside the cgroup is refused on [fd00:50::11]:30080" 6 \
	'^refused .*: refused after' timeout 20 ip netns exec "$N1" "$PY" "$E2E_DIR/client.py" \
	refused $V6::11 30080 -t 1
xl1=$(reason_count sock_xlate 2>&1)
t_check "sock_xlate counted the socket translations ($xl0 -> $xl1)" \
	test "${xl1:-0}" -ge $(( ${xl0:-0} + 8 )) 2>/dev/null

# The IPv6 SNAT bindings in xlbctl, as the remote flows left them.
snat_tbl() { xlbctl snat list; }
expect "snat list: an IPv6 binding on [fd00:50::11]" 6 '\[fd00:50::11\]:[0-9]+' snat_tbl
expect "IPv6 service ports counted packets" 6 '^[1-9]' v6_served

agent_stop a1
t_summary

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Bare-metal LoadBalancer in Kubernetes mode: two agents (node1, node2) and
# a client on one bridge (lib.sh l2_topo_up), the test API server on the
# bridge's own address (10.50.0.254, inside the switch namespace, so a node
# whose uplink is down loses the API server like a real one would).
#
# The agents elect a leader by a Lease; the leader allocates from the
# LoadBalancerIPPool resources and writes status by merge PATCH on
# /status; each VIP is answered by exactly one node (sha256 ranking over
# the live agents' Leases, ETP Local: nodes with a local endpoint). The
# owner is cut off (agent frozen, uplink down) ten times: the other node
# takes over, the client's ARP entry moves by the gratuitous ARP, new
# connections succeed; the median failover time is reported next to the
# 3 s goal. Killing the leader keeps every allocation.
#
#   bash selftests/e2e/test_lb_k8s.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

API=10.50.0.254 API_PORT=6443 CTL_PORT=6444
KDIR=$TMP/k8s
TOKEN=xlb-lb-test-token
LNS=xlb-system
FAILOVERS=${XLB_FAILOVERS:-10}

command -v openssl >/dev/null || t_abort setup "openssl missing"
command -v curl >/dev/null || t_abort setup "curl missing"

make_certs() {
	mkdir -p "$KDIR" && cd "$KDIR" || return 1
	printf '[ext]\nsubjectAltName = IP:%s\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' \
		"$API" >ext.cnf
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 \
		-subj /CN=xlb-test-ca 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
		-subj /CN=kube-apiserver 2>/dev/null &&
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt \
		-days 1 -extfile ext.cnf -extensions ext 2>/dev/null
	local rc=$?
	echo "$TOKEN" >token
	cat >kubeconfig <<-EOF
	apiVersion: v1
	kind: Config
	current-context: t
	clusters:
	- name: t
	  cluster: {server: "https://$API:$API_PORT", certificate-authority: ca.crt}
	users:
	- name: u
	  user: {tokenFile: token}
	contexts:
	- name: t
	  context: {cluster: t, user: u}
	EOF
	cd - >/dev/null || return 1
	return $rc
}

api_start() {
	api_server_start "$SW" --listen $API:$API_PORT --ctl 127.0.0.1:$CTL_PORT \
		--cert "$KDIR/srv.crt" --key "$KDIR/srv.key" --token-file "$KDIR/token" \
		--log "$KDIR/requests.log"
}
ctl() {
	timeout 30 ip netns exec "$SW" curl -sS --max-time 20 -X POST -H 'Content-Type: application/json' \
		--data-binary "${2:-{\}}" "http://127.0.0.1:$CTL_PORT$1"
}
# api GET PATH: the real API, as a client with the token.
api() {
	timeout 10 ip netns exec "$SW" curl -sS --max-time 5 --cacert "$KDIR/ca.crt" \
		-H "Authorization: Bearer $TOKEN" "https://$API:$API_PORT$1"
}
jq_py() { "$PY" -c "import json,sys; d=json.load(sys.stdin); $1"; }
# status_ips SVC: "ip ip" of its status.loadBalancer.ingress
status_ips() {
	api "/api/v1/namespaces/default/services/$1" |
		jq_py 'print(" ".join(i.get("ip","") for i in (d.get("status",{}).get("loadBalancer",{}).get("ingress") or [])))'
}
leader() { api "/apis/coordination.k8s.io/v1/namespaces/$LNS/leases/xlb-leader" | jq_py 'print(d.get("spec",{}).get("holderIdentity",""))'; }

pool_json() {	# NAME START STOP AUTOASSIGN
	printf '{"apiVersion":"xlb.io/v1alpha1","kind":"LoadBalancerIPPool","metadata":{"name":"%s"},"spec":{"autoAssign":%s,"blocks":[{"start":"%s","stop":"%s"}]}}' \
		"$1" "$4" "$2" "$3"
}
# svc_json NAME PORT PROTO ETP ANNOTATIONS_JSON [EXTRA_SPEC_JSON]
svc_json() {
	printf '{"kind":"Service","apiVersion":"v1","metadata":{"name":"%s","namespace":"default","annotations":%s},"spec":{"type":"LoadBalancer","externalTrafficPolicy":"%s","selector":{"app":"%s"},"ports":[{"name":"p","protocol":"%s","port":%s,"targetPort":8080}]%s}}' \
		"$1" "${5:-{\}}" "$4" "$1" "$3" "$2" "${6:-}"
}
eps_json() {	# SVC ADDR@NODE...
	local svc=$1 e sep="" eps=""; shift
	for e in "$@"; do
		eps+="$sep{\"addresses\":[\"${e%@*}\"],\"conditions\":{\"ready\":true},\"nodeName\":\"${e#*@}\"}"
		sep=,
	done
	printf '{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"%s-x1","namespace":"default","labels":{"kubernetes.io/service-name":"%s"}},"addressType":"IPv4","endpoints":[%s],"ports":[{"name":"p","protocol":"TCP","port":8080}]}' \
		"$svc" "$svc" "$eps"
}

k8s_agent() {	# NAME NS NODE
	l2_agent_start "$1" "$2" "$3" --kubeconfig "$KDIR/kubeconfig" --lease-namespace $LNS \
		--leader-elect-lease-duration 3 --leader-elect-renew-deadline 2 \
		--leader-elect-retry-period 0.5 -v
}
ns_of() { [ "$1" = node1 ] && echo "$N1" || echo "$N2"; }
agent_of() { [ "$1" = node1 ] && echo a1 || echo a2; }
other() { [ "$1" = node1 ] && echo node2 || echo node1; }
mac_in() { ip netns exec "$(ns_of "$1")" cat /sys/class/net/ul0/address; }
client_mac() { ip -n "$C" neigh show "$1" dev c0 | awk '$3 ~ /:/ { print $3 }'; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_for SECONDS CMD...: retry every 0.1 s
wait_for() {
	local n=$(( $1 * 10 )) i; shift
	for i in $(seq 1 $n); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# ---------------------------------------------------------------- set up
l2_topo_up || t_abort topology "could not build the L2 segment"
ip -n "$SW" addr add $API/24 dev br0 || t_abort topology "bridge address"
make_certs || t_abort setup "certificates"
api_start || t_abort setup "API server did not start"
pod_server "$P1" p1 && pod_server "$P2" p2 || t_abort servers "pod servers did not start"
ctl /apply "$(pool_json lan 10.50.0.200 10.50.0.209 true)" >/dev/null
ctl /apply "$(pool_json tiny 10.50.0.220 10.50.0.220 false)" >/dev/null
# Pool edge: only nodes labelled edge=yes (node2) may announce it; its one
# address ranks node1 first by sha256, so only the selector puts it on node2.
ctl /apply '{"apiVersion":"xlb.io/v1alpha1","kind":"LoadBalancerIPPool","metadata":{"name":"edge"},"spec":{"autoAssign":false,"nodeSelector":{"matchLabels":{"edge":"yes"}},"blocks":[{"cidr":"10.50.0.230/32"}]}}' >/dev/null
ctl /apply '{"kind":"Node","apiVersion":"v1","metadata":{"name":"node1","labels":{"kubernetes.io/hostname":"node1"}},"status":{"addresses":[{"type":"InternalIP","address":"10.50.0.11"}]}}' >/dev/null
ctl /apply '{"kind":"Node","apiVersion":"v1","metadata":{"name":"node2","labels":{"kubernetes.io/hostname":"node2","edge":"yes"}},"status":{"addresses":[{"type":"InternalIP","address":"10.50.0.12"}]}}' >/dev/null
k8s_agent a1 "$N1" node1 || t_abort agent "node1's agent did not start"
k8s_agent a2 "$N2" node2 || t_abort agent "node2's agent did not start"
wait_for 15 sh -c "[ -n \"\$(ip netns exec $SW curl -s --cacert $KDIR/ca.crt -H 'Authorization: Bearer $TOKEN' https://$API:$API_PORT/apis/coordination.k8s.io/v1/namespaces/$LNS/leases/xlb-leader | grep -o '\"holderIdentity\":\"node[12]\"')\" ]"
LEADER=$(leader)
t_check "a leader is elected by the Lease ($LEADER)" test -n "$LEADER"
t_check "both node Leases exist" test "$(api "/apis/coordination.k8s.io/v1/namespaces/$LNS/leases?labelSelector=xlb.io%2Flease%3Dnode" |
	jq_py 'print(len(d["items"]))')" = 2

# The test server's write semantics the agents rely on: optimistic
# concurrency on Leases, /status apart from the rest.
# api_w METHOD PATH [BODY [CTYPE]]: prints the HTTP status, body in $KDIR/w.out
api_w() {
	local body=()
	[ -n "${3:-}" ] && body=(--data-binary "$3")
	timeout 10 ip netns exec "$SW" curl -sS --max-time 5 --cacert "$KDIR/ca.crt" \
		-H "Authorization: Bearer $TOKEN" -H "Content-Type: ${4:-application/json}" \
		-X "$1" "${body[@]}" -o "$KDIR/w.out" -w '%{http_code}' "https://$API:$API_PORT$2"
}
LP=/apis/coordination.k8s.io/v1/namespaces/$LNS/leases
api_w POST $LP '{"metadata":{"name":"probe"},"spec":{"holderIdentity":"t"}}' >/dev/null
rec=$(api $LP/probe)
t_check "Lease PUT with the current resourceVersion: 200" test "$(api_w PUT $LP/probe "$rec")" = 200
t_check "Lease PUT with a stale resourceVersion: 409 Conflict" test "$(api_w PUT $LP/probe "$rec")/$(jq_py 'print(d["reason"])' <"$KDIR/w.out")" = 409/Conflict
t_check "Lease POST of an existing name: 409 AlreadyExists" test \
	"$(api_w POST $LP '{"metadata":{"name":"probe"}}')/$(jq_py 'print(d["reason"])' <"$KDIR/w.out")" = 409/AlreadyExists
# Another class: the agents' allocator leaves it alone.
ctl /apply "$(svc_json probe 80 TCP Cluster '{}' ',"loadBalancerClass":"example.com/other"')" >/dev/null
SP=/api/v1/namespaces/default/services/probe
t_check "merge PATCH on /status changes status only" test "$(api_w PATCH $SP/status \
	'{"spec":{"type":"ClusterIP"},"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1"}]}}}' \
	application/merge-patch+json)/$(api $SP | jq_py 'print(d["spec"]["type"], d["status"]["loadBalancer"]["ingress"][0]["ip"], d["status"]["loadBalancer"]["ingress"][0]["ipMode"])')" = \
	"200/LoadBalancer 192.0.2.1 VIP"
t_check "PUT on the Service leaves status alone" test "$(api_w PUT $SP "$(api $SP | jq_py 'd["status"]={}; print(json.dumps(d))')")/$(api $SP/status | jq_py 'print(d["status"]["loadBalancer"]["ingress"][0]["ip"])')" = \
	"200/192.0.2.1"
api_w DELETE $LP/probe >/dev/null
ctl /delete '{"kind":"Service","namespace":"default","name":"probe"}' >/dev/null

# ------------------------------------------------- allocation within 2 s
ctl /apply "$(eps_json web 10.1.1.2@node1 10.2.1.2@node2)" >/dev/null
T0=$(ms_now)
ctl /apply "$(svc_json web 80 TCP Local)" >/dev/null
wait_for 10 sh -c "[ -n \"\$(ip netns exec $SW curl -s --cacert $KDIR/ca.crt -H 'Authorization: Bearer $TOKEN' https://$API:$API_PORT/api/v1/namespaces/default/services/web | grep -o '\"ingress\":\[{\"ip\"')\" ]"
ms=$(( $(ms_now) - T0 ))
WEB=$(status_ips web)
note "web: status.loadBalancer.ingress ${WEB:-none} written $ms ms after the Service was created (goal: 2000 ms)"
t_check "web got $WEB from pool lan in its status (merge PATCH on /status)" test "$WEB" = 10.50.0.200
t_check "pool annotation written" test "$(api /api/v1/namespaces/default/services/web |
	jq_py 'print(d["metadata"].get("annotations",{}).get("xlb.io/ip-allocated-from-pool",""))')" = lan
t_check "status written by PATCH on /status" grep -q "PATCH /api/v1/namespaces/default/services/web/status 200" "$KDIR/requests.log"

# ----------------------------------------------- exactly one MAC answers
wait_for 5 sh -c "[ \"\$(timeout 10 $XLBCTL --pin-dir $TMP/bpf/a1 -j vip list | grep -c '\"answering\":true')\$(timeout 10 $XLBCTL --pin-dir $TMP/bpf/a2 -j vip list | grep -c '\"answering\":true')\" != 00 ]"
O1=$(vip_field a1 10.50.0.200 owner) O2=$(vip_field a2 10.50.0.200 owner)
t_check "both agents rank the same owner ($O1, $O2)" test -n "$O1" -a "$O1" = "$O2"
OWNER=$O1
out=$(arp_probe 10.50.0.200 0.5)
t_check "ARP for web's VIP: one reply, from $OWNER ($(tr '\n' ' ' <<<"$out"))" \
	test "$(awk '$1 == "replies" { print $2 }' <<<"$out")/$(awk '$1 == "reply" { print $2 }' <<<"$out")" = "1/$(mac_in "$OWNER")"
t_check "vip list: $OWNER answering, $(other "$OWNER") not" test \
	"$(vip_field "$(agent_of "$OWNER")" 10.50.0.200 answering)/$(vip_field "$(agent_of "$(other "$OWNER")")" 10.50.0.200 answering)" = true/false
t_check "HTTP to web via its VIP" http_get 10.50.0.200 80

# ------------------------------------- request, sharing pair, exhausted
ctl /apply "$(svc_json fixed 80 TCP Cluster '{"metallb.io/loadBalancerIPs":"10.50.0.205"}')" >/dev/null
ctl /apply "$(svc_json dns-tcp 53 TCP Cluster '{"xlb.io/allow-shared-ip":"dns"}')" >/dev/null
ctl /apply "$(svc_json dns-udp 53 UDP Cluster '{"metallb.io/allow-shared-ip":"dns"}')" >/dev/null
ctl /apply "$(svc_json tiny-a 80 TCP Cluster '{"xlb.io/address-pool":"tiny"}')" >/dev/null
ctl /apply "$(svc_json tiny-b 80 TCP Cluster '{"xlb.io/address-pool":"tiny"}')" >/dev/null
ctl /apply "$(eps_json there 10.2.1.2@node2)" >/dev/null
ctl /apply "$(svc_json there 80 TCP Local)" >/dev/null
wait_for 10 sh -c "[ \"\$(ip netns exec $SW curl -s --cacert $KDIR/ca.crt -H 'Authorization: Bearer $TOKEN' 'https://$API:$API_PORT/api/v1/namespaces/default/events' | grep -c AllocationFailed)\" -ge 1 ]"
t_check "fixed got its requested 10.50.0.205" test "$(status_ips fixed)" = 10.50.0.205
t_check "dns-tcp and dns-udp share one address" test -n "$(status_ips dns-tcp)" -a "$(status_ips dns-tcp)" = "$(status_ips dns-udp)"
t_check "tiny-a got pool tiny's only address" test "$(status_ips tiny-a)" = 10.50.0.220
t_check "tiny-b: no address" test -z "$(status_ips tiny-b)"
ev=$(api /api/v1/namespaces/default/events | jq_py '
for e in d["items"]:
    if e["involvedObject"]["name"] == "tiny-b": print(e["type"], e["reason"], e["message"])')
t_check "tiny-b: Warning Event AllocationFailed, pool exhausted ($ev)" grep -q "Warning AllocationFailed pool tiny is exhausted" <<<"$ev"
t_check "both agents still running" kill -0 "${AGENT_PID[a1]}" "${AGENT_PID[a2]}"
THERE=$(status_ips there)
wait_for 5 test "$(vip_field a2 "${THERE:-none}" answering)" = true
out=$(arp_probe "${THERE:-none}" 0.5)
t_check "ETP Local with node2's endpoint only: node2 alone answers $THERE" \
	test "$(awk '$1 == "replies" { print $2 }' <<<"$out")/$(awk '$1 == "reply" { print $2 }' <<<"$out")" = "1/$(mac_in node2)"

# ------------------------------------------------------- nodeSelector
ctl /apply "$(svc_json edgy 80 TCP Cluster '{"xlb.io/address-pool":"edge"}')" >/dev/null
wait_for 10 test "$(status_ips edgy)" = 10.50.0.230
t_check "edgy got the edge pool's address" test "$(status_ips edgy)" = 10.50.0.230
t_check "node Leases carry the Node labels" test "$(api "/apis/coordination.k8s.io/v1/namespaces/$LNS/leases/xlb-node-node2" |
	jq_py 'print(d["metadata"]["labels"].get("edge",""))')" = yes
wait_for 5 test "$(vip_field a2 10.50.0.230 answering)" = true
out=$(arp_probe 10.50.0.230 0.5)
t_check "nodeSelector edge=yes: node2 alone answers 10.50.0.230 (sha256 alone would pick node1)" \
	test "$(awk '$1 == "replies" { print $2 }' <<<"$out")/$(awk '$1 == "reply" { print $2 }' <<<"$out")/$(vip_field a1 10.50.0.230 owner)" = \
	"1/$(mac_in node2)/node2"

# --------------------------------------------------------- /metrics
# Each agent's LoadBalancer gauges agree with what its datapath does
# (xlbctl vip list reads the maps), the leader gauge with the Lease, and
# the API watches count their events.
scrape_lb() {	# NODE: "pool vips answering" lines, then "leader N", "watch RES EVENTS"
	ip netns exec "$(ns_of "$1")" curl -sf --max-time 10 http://127.0.0.1:10249/metrics |
		"$PY" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fam = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
def by(name, key):
    return {s.labels[key]: int(s.value) for s in fam[name].samples} if name in fam else {}
vips, ans = by("xlb_lb_vips", "pool"), by("xlb_lb_vips_answering", "pool")
for p in sorted(vips):
    print("pool", p, vips[p], ans.get(p, 0))
print("leader", int(fam["xlb_lb_leader"].samples[0].value) if "xlb_lb_leader" in fam else -1)
for r, v in sorted(by("xlb_kube_watch_events", "resource").items()):
    print("watch", r, v)'
}
vips_of() {	# NODE: the same "pool vips answering" lines from xlbctl vip list
	timeout 10 "$XLBCTL" --pin-dir "$TMP/bpf/$(agent_of "$1")" -j vip list | "$PY" -c '
import json, sys, collections
n, a = collections.Counter(), collections.Counter()
for r in json.load(sys.stdin):
    n[r["pool"]] += 1
    a[r["pool"]] += bool(r["answering"])
for p in sorted(n):
    print("pool", p, n[p], a[p])'
}
leaders=0
for node in node1 node2; do
	m=$(scrape_lb $node 2>&1)
	t_check "$node /metrics: LoadBalancer gauges by pool = vip list ($(grep ^pool <<<"$m" | tr '\n' ';'))" \
		test -n "$(grep ^pool <<<"$m")" -a "$(grep ^pool <<<"$m")" = "$(vips_of $node)"
	t_check "$node /metrics: API watches counted (services, endpointslices, leases)" \
		test "$(awk '$1 == "watch" && $3 > 0 && ($2 == "services" || $2 == "endpointslices" || $2 == "leases")' <<<"$m" | wc -l)" = 3
	l=$(awk '$1 == "leader" { print $2 }' <<<"$m")
	[ "$node" = "$LEADER" ] && want=1 || want=0
	t_check "$node /metrics: xlb_lb_leader $l (leader is $LEADER)" test "$l" = "$want"
done

# --------------------------------------------------- owner failover x N
# Each round: a connection makes the client learn the owner's MAC; the
# owner is cut off (agent frozen, uplink down); time until the other node's
# gratuitous ARP reaches the client (the client never asks) and a new
# connection is served through the moved entry. A probe already running in
# the client measures both (l2probe.py failover), so the figure is the
# product's, not the cost of starting tools. Then the owner comes back and,
# being first in the ranking again, takes the VIP back with a gratuitous ARP
# of its own, even though its agent never saw itself lose the VIP.
times=()
fails=0 double=0 handback=0
# vips_of AGENT: the VIPs with an owner in AGENT's vip list
vips_of() {
	timeout 10 "$XLBCTL" --pin-dir "$TMP/bpf/$1" -j vip list |
		"$PY" -c 'import json,sys; print(" ".join(r["address"] for r in json.load(sys.stdin) if r["owner"]))'
}
# probe_start OUT ARGS...: l2probe.py ARGS in the client, in the background,
# output to OUT; returns once it listens (PROBE_PID).
probe_start() {
	local out=$1
	shift
	: >"$out"
	timeout 30 ip netns exec "$C" "$PY" "$E2E_DIR/l2probe.py" "$@" >"$out" 2>&1 &
	PROBE_PID=$!
	wait_for 10 grep -q '^ready' "$out"
}
for round in $(seq 1 "$FAILOVERS"); do
	OWNER=$(vip_field a1 10.50.0.200 owner)
	[ -n "$OWNER" ] || { fails=$((fails + 1)); note "round $round: no owner"; break; }
	NEW=$(other "$OWNER")
	http_get 10.50.0.200 80 >/dev/null 2>&1
	if [ "$(client_mac 10.50.0.200)" != "$(mac_in "$OWNER")" ]; then
		note "round $round: client entry $(client_mac 10.50.0.200) is not $OWNER's"
	fi
	OA=$(agent_of "$OWNER")
	probe_start "$TMP/fo.out" failover c0 10.50.0.200 80 "$(mac_in "$NEW")" -t 15 ||
		note "round $round: the failover probe did not start"
	T0=$(ms_now)
	kill -STOP "${AGENT_PID[$OA]}"
	ip -n "$(ns_of "$OWNER")" link set ul0 down
	wait "$PROBE_PID"
	t_garp=$(awk '$1 == "garp" { print $2 }' "$TMP/fo.out")
	t_served=$(awk '$1 == "served" { print $2 }' "$TMP/fo.out")
	mac_now=$(client_mac 10.50.0.200)
	if [ -n "$t_served" ] && [ "$mac_now" = "$(mac_in "$NEW")" ]; then
		times+=("$((t_served - T0))")
		note "round $round: $OWNER cut off; $NEW's gratuitous ARP at the client after $((t_garp - T0)) ms, new connection served after $((t_served - T0)) ms"
	else
		fails=$((fails + 1))
		note "round $round: no failover to $NEW within 15 s (probe: $(tr '\n' ' ' <"$TMP/fo.out"); client entry $mac_now)"
	fi
	# Bring the owner back; it takes the VIP back (first in the ranking).
	probe_start "$TMP/hb.out" watch c0 10.50.0.200 -t 15 --first "$(mac_in "$OWNER")" ||
		note "round $round: the gratuitous ARP watch did not start"
	ip -n "$(ns_of "$OWNER")" link set ul0 up
	kill -CONT "${AGENT_PID[$OA]}"
	wait "$PROBE_PID"
	if grep -qx "garp $(mac_in "$OWNER")" "$TMP/hb.out"; then
		handback=$((handback + 1))
	else
		note "round $round: no gratuitous ARP from $OWNER when it came back ($(tr '\n' ' ' <"$TMP/hb.out"))"
	fi
	wait_for 15 sh -c "[ \"\$(ip -n $C neigh show 10.50.0.200 dev c0 | awk '{print \$3}')\" = '$(mac_in "$OWNER")' ]" ||
		note "round $round: client entry did not move back to $OWNER"
	wait_for 10 test "$(vip_field "$(agent_of "$NEW")" 10.50.0.200 answering)" = false ||
		note "round $round: $NEW still answering after $OWNER came back"
	# The node that was cut off must not claim the other node's VIPs
	# with a stale view of the Leases: every VIP has one answer.
	for v in $(vips_of a1); do
		n=$(arp_replies "$v" 0.3)
		if [ "$n" != 1 ]; then
			double=$((double + 1))
			note "round $round: $v answered by $n nodes after $OWNER came back"
		fi
	done
done
t_check "hand-back: the returning owner sent a gratuitous ARP in $handback/$FAILOVERS rounds" \
	test "$handback" = "$FAILOVERS"
t_check "after each comeback every VIP has exactly one answer" test "$double" = 0
t_check "owner failover: $((FAILOVERS - fails))/$FAILOVERS rounds served by the other node" test $fails = 0
if [ ${#times[@]} -gt 0 ]; then
	MEDIAN=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }')
	note "failover: median ${MEDIAN} ms over ${#times[@]} rounds (goal: 3000 ms); all: ${times[*]}"
	echo "FAILOVER_MEDIAN_MS=$MEDIAN"
fi
out=$(arp_probe 10.50.0.200 0.5)
t_check "after the rounds: exactly one node answers" test "$(awk '$1 == "replies" { print $2 }' <<<"$out")" = 1

# ---------------------------------------------------- leader failover
before=""
for s in web fixed dns-tcp dns-udp tiny-a there edgy; do before+="$s=$(status_ips $s) "; done
LEADER=$(leader)
LA=$(agent_of "$LEADER")
kill -KILL "${AGENT_PID[$LA]}"
wait "${AGENT_PID[$LA]}" 2>/dev/null
unset "AGENT_PID[$LA]"
wait_for 15 test "$(leader)" = "$(other "$LEADER")"
t_check "leader $LEADER killed: $(other "$LEADER") holds the leader Lease" test "$(leader)" = "$(other "$LEADER")"
ctl /apply "$(eps_json late 10.1.1.2@node1 10.2.1.2@node2)" >/dev/null
ctl /apply "$(svc_json late 81 TCP Local)" >/dev/null
wait_for 10 test -n "$(status_ips late)"
t_check "the new leader allocates (late got $(status_ips late))" test -n "$(status_ips late)"
after=""
for s in web fixed dns-tcp dns-udp tiny-a there edgy; do after+="$s=$(status_ips $s) "; done
t_check "every allocation unchanged across the leader change" test "$before" = "$after"
t_check "one status write per Service in all, none by the new leader" test \
	"$(awk '$2 == "PATCH" && $4 == 200 && $3 ~ /services\/(web|fixed|dns-tcp|dns-udp|tiny-a|there|edgy)\/status$/' "$KDIR/requests.log" | wc -l)" = 7

agent_stop "$(agent_of "$(other "$LEADER")")"
t_summary

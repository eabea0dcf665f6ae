#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End-to-end test of the agent's Kubernetes mode against the test API
# server (apiserver.py): HTTPS with a CA made here, bearer token from a
# file named in a kubeconfig, LIST/WATCH of Services, EndpointSlices and
# the Node; changes reach the maps (xlbctl) and real traffic; fault cases
# (watch closed, 410 relist, server down 10 s, token rotation, 429,
# malformed event); health check node port and /healthz; a burst of 1000
# slice updates; the median change-to-map latency over 100 changes.
#
# The API server runs inside node1's namespace on 127.0.0.1 (HTTPS) with
# its control interface on another loopback port. See lib.sh for the
# topology.
#
#   bash selftests/e2e/test_k8s.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

API_PORT=6443 CTL_PORT=6444
KDIR=$TMP/k8s
KUBECONFIG_F=$KDIR/kubeconfig
TOKEN_F=$KDIR/token
REQLOG=$KDIR/requests.log
P1E=10.1.1.2@node1 P1BE=10.1.1.3@node1 P2E=10.2.1.2@node2

command -v openssl >/dev/null || t_abort setup "openssl missing"
command -v curl >/dev/null || t_abort setup "curl missing"

# ------------------------------------------------------------ certificates
make_certs() {
	mkdir -p "$KDIR" && cd "$KDIR" || return 1
	cat >ext.cnf <<-EOF
	[ext]
	subjectAltName = IP:127.0.0.1,DNS:localhost
	basicConstraints = CA:FALSE
	keyUsage = digitalSignature,keyEncipherment
	extendedKeyUsage = serverAuth
	EOF
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 \
		-subj /CN=xlb-test-ca 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
		-subj /CN=kube-apiserver 2>/dev/null &&
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt \
		-days 1 -extfile ext.cnf -extensions ext 2>/dev/null &&
	printf '[ext]\nextendedKeyUsage = clientAuth\n' >cli.cnf &&
	openssl req -newkey rsa:2048 -nodes -keyout cli.key -out cli.csr \
		-subj /CN=system:xlb-agent 2>/dev/null &&
	openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out cli.crt \
		-days 1 -extfile cli.cnf -extensions ext 2>/dev/null
	local rc=$?
	cd - >/dev/null || return 1
	return $rc
}

write_kubeconfig() {
	# JSON is YAML: the same parser reads both; this one is YAML.
	cat >"$KUBECONFIG_F" <<-EOF
	apiVersion: v1
	kind: Config
	current-context: test
	clusters:
	- name: test
	  cluster:
	    server: https://127.0.0.1:1
	    certificate-authority: ca.crt
	users:
	- name: xlb
	  user:
	    tokenFile: token
	contexts:
	- name: test
	  context: {cluster: test, user: xlb, namespace: kube-system}
	EOF
}

# kubeconfig_data FILE TLS_SERVER_NAME: JSON kubeconfig with inline CA and
# client certificate/key (*-data, base64) and no token.
kubeconfig_data() {
	printf '{"apiVersion":"v1","kind":"Config","current-context":"c","clusters":[{"name":"k","cluster":{"server":"https://127.0.0.1:1","certificate-authority-data":"%s","tls-server-name":"%s"}}],"users":[{"name":"u","user":{"client-certificate-data":"%s","client-key-data":"%s"}}],"contexts":[{"name":"c","context":{"cluster":"k","user":"u"}}]}\n' \
		"$(base64 -w0 "$KDIR/ca.crt")" "$2" "$(base64 -w0 "$KDIR/cli.crt")" \
		"$(base64 -w0 "$KDIR/cli.key")" >"$1"
}

# ------------------------------------------------------------- API server
api_start() {
	api_server_start "$N1" --listen 127.0.0.1:$API_PORT \
		--ctl 127.0.0.1:$CTL_PORT --cert "$KDIR/srv.crt" --key "$KDIR/srv.key" \
		--token-file "$TOKEN_F" --client-ca "$KDIR/ca.crt" --log "$REQLOG" --max-page 1
}

# ctl PATH [JSON]: POST to the control interface, print the answer.
ctl() {
	local data=${2:-'{}'}
	timeout 30 ip netns exec "$N1" curl -sS --max-time 20 -X POST \
		-H 'Content-Type: application/json' --data-binary "$data" \
		"http://127.0.0.1:$CTL_PORT$1"
}
fault() { ctl /fault "$1" >/dev/null; }

# Request log helpers: lines "TIME METHOD PATH STATUS NOTE".
req_count() { grep -cE "$1" "$REQLOG" 2>/dev/null || true; }
# lists PATH: LIST operations (first pages only: a continue page is part
# of the same LIST)
lists() { grep -E " $1\?[^ ]* 200 LIST" "$REQLOG" 2>/dev/null | grep -vc 'continue=' || true; }
WATCH_EPS=' /apis/discovery.k8s.io/v1/endpointslices\?watch=1[^ ]* 200 WATCH start'

# ---------------------------------------------------------------- objects
# svc_json NAME TYPE NODEPORT [ETP [HCPORT]]: port "p" 80 -> 8080 TCP
svc_json() {
	local hc=""
	[ -n "${5:-}" ] && hc=",\"healthCheckNodePort\":$5"
	printf '{"kind":"Service","apiVersion":"v1","metadata":{"name":"%s","namespace":"default","labels":{"app":"%s"}},"spec":{"type":"%s","externalTrafficPolicy":"%s","selector":{"app":"%s"},"ports":[{"name":"p","protocol":"TCP","port":80,"targetPort":8080,"nodePort":%s}]%s}}' \
		"$1" "$1" "$2" "${4:-Cluster}" "$1" "$3" "$hc"
}

# eps_json SVC [ADDR@NODE ...]: one ready endpoint per argument
eps_json() {
	local svc=$1 e sep="" eps=""; shift
	for e in "$@"; do
		eps+="$sep{\"addresses\":[\"${e%@*}\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false},\"nodeName\":\"${e#*@}\"}"
		sep=,
	done
	printf '{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"%s-abcde","namespace":"default","labels":{"kubernetes.io/service-name":"%s","endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io"}},"addressType":"IPv4","endpoints":[%s],"ports":[{"name":"p","protocol":"TCP","port":8080}]}' \
		"$svc" "$svc" "$eps"
}

# node_json [DELETING]: node1 with InternalIP 10.0.0.1
node_json() {
	local del=""
	[ "${1:-}" = deleting ] && del=',"deletionTimestamp":"2026-01-01T00:00:00Z"'
	printf '{"kind":"Node","apiVersion":"v1","metadata":{"name":"node1","labels":{"kubernetes.io/hostname":"node1"}%s},"spec":{},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"},{"type":"Hostname","address":"node1"}]}}' \
		"$del"
}

# A tenant's Service and slice whose annotations libyaml cannot read (DEL,
# C1 controls, U+2028 followed by a document marker, U+FFFF): valid API
# objects that anyone with `edit` in a namespace can create.
HOSTILE_ANN='"annotations":{"note":"\u007f","c1":"\u0085\u0080\u009f","sep":"x\u2028--- y","nc":"\uffff"}'
with_ann() { local s=$1; printf '%s' "${s/'"labels":'/"$HOSTILE_ANN"',"labels":'}"; }
tenant_svc_json() { with_ann "$(svc_json tenant NodePort 30083)"; }
tenant_eps_json() { with_ann "$(eps_json tenant "$P1BE")"; }
# badport: invalid (port is not a number); rejected on its own
badport_json() { svc_json badport NodePort 30084 | sed 's/"port":80,/"port":"eighty",/'; }

apply() { ctl /apply "$1" >/dev/null; }
delete() { ctl /delete "{\"kind\":\"$1\",\"namespace\":\"default\",\"name\":\"$2\"}" >/dev/null; }

# ------------------------------------------------------------------ agent
# k8s_agent_start NAME [args]: node1's agent in Kubernetes mode with
# kubeconfig $KC_FILE (default: the token one); wait (<= 15 s) for "ready".
k8s_agent_start() {
	local name=$1 log=$TMP/$1.log; shift
	ip netns exec "$N1" "$AGENT" --iface n1up --iface n1n2 --node-name node1 \
		--pin-dir "$PIN" --kubeconfig "${KC_FILE:-$KUBECONFIG_F}" \
		--apiserver "https://127.0.0.1:$API_PORT" "$@" >>"$log" 2>&1 &
	agent_wait_ready "$name" $! "$log" 15
}

log_size() { stat -c %s "$(agent_log "$1")" 2>/dev/null || echo 0; }
log_since() { tail -c +"$(( $2 + 1 ))" "$(agent_log "$1")"; }
log_wait() {
	local i n=$(( ${4:-10} * 10 ))
	for i in $(seq 1 $n); do
		log_since "$1" "$2" | grep -Eq "$3" && return 0
		sleep 0.1
	done
	return 1
}

# wait_for SECONDS CMD...: until CMD succeeds
wait_for() {
	local t=$1 i; shift
	for i in $(seq 1 $((t * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

pods_seen() { http_many 10.0.0.1 "$1" "${3:-20}" 2 | awk '/^pod=/ { sub("pod=", "", $1); print $1 }' | sort | tr '\n' ' '; }
# serves PORT "P1 P2 ": new connections reach exactly these Pods
serves() { [ "$(pods_seen "$1" "" "${3:-20}")" = "$2" ]; }
refused() { tcp_connect_refused 10.0.0.1 "$1" 1 | grep -q ': refused after'; }
# backends [SVC]: backend addresses in the maps (of default/SVC only)
backends() {
	xlbctl -j backend list 2>/dev/null | "$PY" -c '
import json, sys
svc = sys.argv[1] if len(sys.argv) > 1 else ""
rows = json.load(sys.stdin)
print(" ".join(sorted({r["address"] for r in rows
                       if not svc or r.get("service", "").startswith("default/%s:" % svc)})))' "$@"
}
svc_in_maps() { xlbctl -j service list 2>/dev/null | grep -q "default/$1:"; }

# check NAME CMD...: pass/fail on CMD
check() { local n=$1; shift; if "$@"; then t_pass "$n"; else t_fail "$n" "${WHY:-condition not met}"; fi; }

# http_status URL: "CODE WEIGHT" from node1's health servers, seen from C
http_status() {
	timeout 10 ip netns exec "$C" curl -s -o "$TMP/body" -D "$TMP/hdr" --max-time 3 \
		-w '%{http_code}' "$1" 2>/dev/null
	printf ' %s' "$(tr -d '\r' <"$TMP/hdr" 2>/dev/null | awk -F': ' 'tolower($1) == "x-load-balancing-endpoint-weight" { print $2 }')"
}

# ====================================================================== setup
make_certs || t_abort setup "openssl could not make the certificates"
echo "token-one" >"$TOKEN_F"
write_kubeconfig
topo_up --p1b || t_abort topology "topo_up failed"
pod_server "$P1" P1 && pod_server "$P1B" P1b && pod_server "$P2" P2 ||
	t_abort servers "pod servers did not start"
api_start || t_abort "api server" "did not start"
apply "$(node_json)"
apply "$(svc_json web NodePort 30080)"
apply "$(eps_json web $P1E $P2E)"
apply "$(svc_json gone NodePort 30082)"
apply "$(eps_json gone $P1E)"

# ----------------------------------------------------------- initial sync
t0=$(date +%s%N)
k8s_agent_start a1 || t_abort "agent start" "$(tail -20 "$(agent_log a1)")"
note "agent ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "initial sync: web (30080) reaches P1 and P2" serves 30080 "P1 P2 "
check "initial sync: gone (30082) reaches P1" serves 30082 "P1 " 5
WHY="$(xlbctl service list 2>&1 | head -5)"
check "initial sync: xlbctl lists default/web and default/gone" eval 'svc_in_maps web && svc_in_maps gone'
WHY=""
n_list_svc=$(lists /api/v1/services)
n_list_eps=$(lists /apis/discovery.k8s.io/v1/endpointslices)
check "initial sync: one LIST of services, one of endpointslices (got $n_list_svc, $n_list_eps)" \
	test "$n_list_svc" = 1 -a "$n_list_eps" = 1
grep -q 'labelSelector=%21service.kubernetes.io%2Fheadless%2C%21service.kubernetes.io%2Fservice-proxy-name' "$REQLOG" &&
	t_pass "LIST/WATCH carry kube-proxy's label selector" ||
	t_fail "LIST/WATCH carry kube-proxy's label selector" "$(head -3 "$REQLOG")"
# --max-page 1: two Services and two slices come in pages of one
grep -q 'initial LIST: 2 object(s) in 2 page(s)' "$(agent_log a1)" &&
	grep -qE 'services\?limit=500&continue=[^ ]*&labelSelector' "$REQLOG" &&
	t_pass "paginated LIST followed 'continue' (2 pages of Services, no resourceVersion with continue)" ||
	t_fail "paginated LIST" "$(grep 'initial LIST' "$(agent_log a1)")"
grep -q 'fieldSelector=metadata.name%3Dnode1' "$REQLOG" &&
	t_pass "Node watched with fieldSelector=metadata.name=node1" ||
	t_fail "Node watched with a field selector" "$(grep nodes "$REQLOG" | head -2)"

# ------------------------------------------------------ add, modify, delete
n=$(agent_synced_count a1)
apply "$(svc_json api NodePort 30081)"
apply "$(eps_json api $P1BE)"
agent_wait_synced a1 "$n" 10
check "add: Service api + slice -> 30081 reaches P1b" wait_for 10 serves 30081 "P1b " 5
WHY="api backends: $(backends api)"
check "add: xlbctl shows backend 10.1.1.3 for default/api" eval '[ "$(backends api)" = 10.1.1.3 ]'
apply "$(eps_json web $P2E)"
check "modify: web slice now P2 only -> 30080 reaches only P2" wait_for 10 serves 30080 "P2 "
WHY="web backends: $(backends web)"
check "modify: xlbctl shows only 10.2.1.2 for web" eval '[ "$(backends web)" = 10.2.1.2 ]'
WHY=""
delete Service api
check "delete: Service api -> 30081 refused by node1" wait_for 10 refused 30081
check "delete: xlbctl no longer lists default/api" wait_for 5 eval '! svc_in_maps api'

# --------------------- hostile annotations and an invalid object: alone
off=$(log_size a1)
apply "$(tenant_svc_json)"
apply "$(tenant_eps_json)"
apply "$(badport_json)"
check "hostile annotations: the tenant's Service itself is served (30083 -> P1b)" \
	wait_for 10 serves 30083 "P1b " 5
check "hostile annotations: web unaffected (30080 -> P2)" serves 30080 "P2 "
WHY="$(log_since a1 "$off" | grep -m2 -E 'badport|nothing loaded')"
check "invalid Service badport rejected on its own, named in the log" \
	eval 'log_since a1 "$off" | grep -q "Service default/badport: spec.ports\[0\].port: expected an integer"'
check "no input rejected whole ('nothing loaded' never logged)" eval '! grep -q "nothing loaded" "$(agent_log a1)"'
WHY=""

# ------------------------------------- watch closed by the server: resume
n_list_svc=$(lists /api/v1/services) n_list_eps=$(lists /apis/discovery.k8s.io/v1/endpointslices)
n_watch=$(req_count "$WATCH_EPS")
fault '{"op":"close_watches"}'
sleep 1.5
apply "$(eps_json web $P1E $P2E)"
check "watch closed: change after re-watch reaches traffic (P1 P2)" wait_for 10 serves 30080 "P1 P2 "
n2_watch=$(req_count "$WATCH_EPS")
check "watch closed: endpointslices re-watched ($n_watch -> $n2_watch WATCH requests)" \
	test "$n2_watch" -gt "$n_watch"
check "watch closed: no new LIST (services $n_list_svc -> $(lists /api/v1/services), slices $n_list_eps -> $(lists /apis/discovery.k8s.io/v1/endpointslices))" \
	test "$(lists /api/v1/services)" = "$n_list_svc" -a "$(lists /apis/discovery.k8s.io/v1/endpointslices)" = "$n_list_eps"

# -------------------------------------------------- token rotated on disk
off=$(log_size a1)
n401=$(req_count ' 401 ')
echo "token-two" >"$TOKEN_F.new" && mv "$TOKEN_F.new" "$TOKEN_F"
fault '{"op":"tokens","tokens":["token-two"]}'
fault '{"op":"close_watches"}'
sleep 2
apply "$(eps_json web $P1E $P2E)"
check "token rotated: change reaches traffic (P1 P2)" wait_for 20 serves 30080 "P1 P2 "
check "token rotated: server answered 401 to the old token ($n401 -> $(req_count ' 401 '))" \
	test "$(req_count ' 401 ')" -gt "$n401"
if log_since a1 "$off" | grep -q 'token in .* changed'; then
	t_pass "token rotated: agent re-read the token file"
else
	t_fail "token rotated: agent re-read the token file" "$(log_since a1 "$off" | tail -5)"
fi

# ----------------------------------------------------------------- 429
off=$(log_size a1)
fault '{"op":"fail","status":429,"retry_after":3,"count":2,"match":"endpointslices?watch=1"}'
fault '{"op":"close_watches"}'
sleep 1
apply "$(eps_json web $P2E)"
if wait_for 30 serves 30080 "P2 "; then
	t_pass "429: change converged after the throttled watch"
else
	t_fail "429: change converged within 30 s" "$(log_since a1 "$off" | tail -5)"
fi
# The retry after each 429 came >= Retry-After (3 s) later.
gaps=$(awk '/endpointslices\?watch=1/ { if (p) { printf "%.1f ", $1 - t; p = 0 } if ($4 == 429) { p = 1; t = $1 } }' "$REQLOG")
n429=$(req_count 'endpointslices\?watch=1[^ ]* 429')
ok429=1
for g in $gaps; do awk -v g="$g" 'BEGIN { exit !(g >= 2.9) }' || ok429=0; done
check "429: 2 throttled watches, each retried >= 3 s later (gaps: $gaps)" \
	test "$n429" = 2 -a "$ok429" = 1 -a -n "$gaps"
log_since a1 "$off" | grep -q 'HTTP 429' &&
	t_pass "429: reported ($(log_since a1 "$off" | grep -m1 'HTTP 429' | cut -c1-110))" ||
	t_fail "429: reported in the agent log" "$(log_since a1 "$off" | tail -3)"

# -------------------------------------------- malformed JSON in an event
off=$(log_size a1)
n_watch=$(req_count "$WATCH_EPS") n_list_eps=$(lists /apis/discovery.k8s.io/v1/endpointslices)
sleep 1
fault '{"op":"inject","resource":"endpointslices","line":"{\"type\":\"MODIFIED\",\"object\":{\"kind\":"}'
apply "$(eps_json web $P1E $P2E)"
check "malformed event: the next change still arrives (P1 P2)" wait_for 10 serves 30080 "P1 P2 "
if log_since a1 "$off" | grep -q 'malformed watch event'; then
	t_pass "malformed event: reported ($(log_since a1 "$off" | grep -m1 'malformed' | cut -c1-120))"
else
	t_fail "malformed event: reported" "$(log_since a1 "$off" | tail -3)"
fi
check "malformed event: same stream (no new WATCH or LIST of endpointslices)" \
	test "$(req_count "$WATCH_EPS")" = "$n_watch" -a "$(lists /apis/discovery.k8s.io/v1/endpointslices)" = "$n_list_eps"

# ---------------------------------- 410: relist removes a Service deleted meanwhile
# watch_metric FAMILY RESOURCE: the agent's counter from /metrics
watch_metric() {
	ip netns exec "$N1" curl -sf --max-time 10 http://127.0.0.1:10249/metrics | "$PY" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        if s.name == sys.argv[1] and s.labels.get("resource") == sys.argv[2]:
            print(int(s.value))' "$1" "$2"
}
off=$(log_size a1)
n_list_svc=$(lists /api/v1/services)
m_relists=$(watch_metric xlb_kube_relists_total services)
m_errors=$(watch_metric xlb_kube_watch_errors_total services)
fault '{"op":"down"}'
delete Service gone
delete EndpointSlice gone-abcde
fault '{"op":"compact"}'
fault '{"op":"up"}'
if log_wait a1 "$off" 'services: watch expired' 40; then
	t_pass "410: agent saw ERROR 410 ($(log_since a1 "$off" | grep -m1 'watch expired' | cut -c1-120))"
else
	t_fail "410: agent saw ERROR 410 within 40 s" "$(log_since a1 "$off" | tail -5)"
fi
check "410: services relisted ($(lists /api/v1/services) LISTs, was $n_list_svc)" \
	wait_for 10 test "$(lists /api/v1/services)" -gt "$n_list_svc"
check "410: Service gone (deleted while not watched) removed: 30082 refused" wait_for 15 refused 30082
check "410: /metrics xlb_kube_relists_total{resource=services} grew (was ${m_relists:-none})" \
	eval 'test -n "$m_relists" && test "$(watch_metric xlb_kube_relists_total services)" -gt "$m_relists"'
check "410: /metrics xlb_kube_watch_errors_total{resource=services} counted the outage (was ${m_errors:-none})" \
	eval 'test -n "$m_errors" && test "$(watch_metric xlb_kube_watch_errors_total services)" -gt "$m_errors"'
check "410: other Services unaffected: 30080 reaches P1 P2" serves 30080 "P1 P2 "
check "410: relist with the hostile objects in it: tenant (30083) still served" serves 30083 "P1b " 5
check "410: relist: badport rejected alone ('1 of 3 object(s) rejected')" \
	eval 'log_since a1 "$off" | grep -q "Service list: 1 of 3 object(s) rejected"'

# ------------- 504 ResourceVersionTooLarge: etcd restored from a backup
off=$(log_size a1)
fault '{"op":"rewind","by":300}'
fault '{"op":"close_watches"}'
sleep 1
apply "$(eps_json web $P1E)"
# The server says so as a watch ERROR event or, when the agent's next
# request (a re-watch or a relist at its RV) arrives first, as an HTTP 504:
# which one comes first is timing, both are ResourceVersionTooLarge.
if log_wait a1 "$off" 'server is behind resourceVersion|: HTTP 504' 20; then
	t_pass "504: ResourceVersionTooLarge seen ($(log_since a1 "$off" | grep -m1 -E 'server is behind|: HTTP 504' | cut -c1-100))"
else
	t_fail "504: ResourceVersionTooLarge seen" "$(log_since a1 "$off" | tail -5)"
fi
check "504: relisted with an unset resourceVersion; the change made after the restore arrives (P1)" \
	wait_for 40 serves 30080 "P1 "
apply "$(eps_json web $P1E $P2E)"
check "504: watching again after the relist (P1 P2)" wait_for 20 serves 30080 "P1 P2 "

# ------------------------------------------- server down 10 s: traffic flows
off=$(log_size a1)
fault '{"op":"down"}'
t_down=$(date +%s)
sleep 2
check "server down 2 s: 30080 still reaches P1 and P2" serves 30080 "P1 P2 "
apply "$(eps_json web $P1E $P2E $P1BE)"	# stored while the listener is down
sleep 6
check "server down 8 s: 30080 still reaches P1 and P2 (maps kept)" serves 30080 "P1 P2 "
WHY="web backends: $(backends web)"
check "server down: web's backends still in the maps" eval '[ "$(backends web)" = "10.1.1.2 10.2.1.2" ]'
WHY=""
sleep $(( 10 - ($(date +%s) - t_down) > 0 ? 10 - ($(date +%s) - t_down) : 0 ))
fault '{"op":"up"}'
t_up=$(date +%s)
if wait_for 90 serves 30080 "P1 P1b P2 " 30; then
	t_pass "server back: change made during the outage converged in $(( $(date +%s) - t_up )) s"
else
	t_fail "server back: change converged within 90 s" "$(pods_seen 30080) / $(log_since a1 "$off" | tail -5)"
fi

# ------------------------------------------------ healthCheckNodePort
# The Service reflector may still be backing off from the outage and the
# 410/504 errors before it (800 ms doubling to 30 s, as client-go, reset
# after 2 quiet minutes): its watch can come back 30 s after the server.
apply "$(svc_json lb LoadBalancer 30090 Local 32100)"
apply "$(eps_json lb $P1E $P2E)"
if wait_for 60 eval '[[ "$(http_status http://10.0.0.1:32100/healthz)" == "200 1" ]]'; then
	t_pass "healthCheckNodePort 32100: 200, X-Load-Balancing-Endpoint-Weight 1 (one local endpoint)"
else
	t_fail "healthCheckNodePort 32100: 200 with weight 1" "$(http_status http://10.0.0.1:32100/healthz) $(cat "$TMP/body" 2>/dev/null) / $(log_since a1 "$off" | grep -i 'services' | tail -3)"
fi
want=$(printf '{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "lb"\n\t},\n\t"localEndpoints": 1,\n\t"serviceProxyHealthy": true\n}')
[ "$(cat "$TMP/body")" = "$want" ] && t_pass "healthCheckNodePort: body is kube-proxy's JSON" ||
	t_fail "healthCheckNodePort: body" "$(cat "$TMP/body")"
apply "$(eps_json lb $P2E)"
if wait_for 10 eval '[[ "$(http_status http://10.0.0.1:32100/healthz)" == "503 0" ]]'; then
	t_pass "healthCheckNodePort: 503, weight 0 when the local endpoint goes"
else
	t_fail "healthCheckNodePort: 503 when no local endpoint" "$(http_status http://10.0.0.1:32100/healthz)"
fi
apply "$(eps_json lb $P1E $P1BE $P2E)"
check "healthCheckNodePort: 200, weight 2 when two local endpoints come" \
	wait_for 10 eval '[[ "$(http_status http://10.0.0.1:32100/healthz)" == "200 2" ]]'
delete Service lb
check "healthCheckNodePort: closed when the Service goes" \
	wait_for 10 eval '[[ "$(http_status http://10.0.0.1:32100/healthz)" == "000 " ]]'

# ------------------------------------------------------------- /healthz
check "/healthz 200 while the node is eligible" \
	eval '[[ "$(http_status http://10.0.0.1:10256/healthz)" == "200 " ]]'
apply "$(node_json deleting)"
if wait_for 10 eval '[[ "$(http_status http://10.0.0.1:10256/healthz)" == "503 " ]]'; then
	t_pass "/healthz 503 once the Node has a deletionTimestamp ($(cut -c1-100 "$TMP/body"))"
else
	t_fail "/healthz 503 when the Node is marked for deletion" "$(http_status http://10.0.0.1:10256/healthz) $(cat "$TMP/body")"
fi
grep -q '"nodeEligible":false' "$TMP/body" && t_pass "/healthz body says nodeEligible false" ||
	t_fail "/healthz body nodeEligible false" "$(cat "$TMP/body")"
check "/livez stays 200" eval '[[ "$(http_status http://10.0.0.1:10256/livez)" == "200 " ]]'
apply "$(node_json)"
check "/healthz 200 again when the mark is gone" \
	wait_for 10 eval '[[ "$(http_status http://10.0.0.1:10256/healthz)" == "200 " ]]'

# ------------------------------------------- burst: 1000 slice updates
apply "$(eps_json web $P1E $P2E)"
wait_for 10 serves 30080 "P1 P2 "
sleep 0.5
n=$(agent_synced_count a1)
t0=$(date +%s%N)
# alternating {P2} and {P1,P1b,P2}; the last (999th) is {P1,P1b,P2}
ctl /burst "{\"objects\":[$(eps_json web $P2E),$(eps_json web $P1E $P2E $P1BE)],\"count\":1000}" >/dev/null
burst_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# Done when no sync happened for 1.5 s (bounded: 60 s).
last=-1
for i in $(seq 1 40); do
	cur=$(agent_synced_count a1)
	[ "$cur" = "$last" ] && break
	last=$cur
	sleep 1.5
done
syncs=$(( $(agent_synced_count a1) - n ))
check "burst of 1000 slice updates (sent in $burst_ms ms) -> $syncs syncs (<= 20)" \
	test "$syncs" -ge 1 -a "$syncs" -le 20
check "burst: final state applied (P1 P1b P2)" serves 30080 "P1 P1b P2 " 30
WHY="web backends: $(backends web)"
check "burst: xlbctl shows the last update's backends" eval '[ "$(backends web)" = "10.1.1.2 10.1.1.3 10.2.1.2" ]'
WHY=""

# ------------------------------ latency: slice change -> maps, 100 changes
# Each change flips web's slice between {P1,P2} and {P1,P1b,P2}; it counts
# as applied at the first "synced" line after which xlbctl shows the new
# backend set (checked after the timestamp is taken).
lat=$(timeout 300 ip netns exec "$N1" "$PY" - "$CTL_PORT" "$(agent_log a1)" "$XLBCTL" "$PIN" \
	"$(eps_json web $P1E $P2E)" "$(eps_json web $P1E $P2E $P1BE)" <<-'EOF'
	import json, statistics, subprocess, sys, time, urllib.request
	port, log, xlbctl, pin, a, b = sys.argv[1:7]
	want = {0: {"10.1.1.2", "10.2.1.2"}, 1: {"10.1.1.2", "10.1.1.3", "10.2.1.2"}}
	def web_backends():
	    out = subprocess.run([xlbctl, "--pin-dir", pin, "-j", "backend", "list"],
	                         capture_output=True, text=True, timeout=10).stdout
	    return {r["address"] for r in json.loads(out) if r["service"].startswith("default/web:")}
	f = open(log)
	f.seek(0, 2)
	buf, lat = "", []
	for i in range(100):
	    r = urllib.request.urlopen(urllib.request.Request(
	        "http://127.0.0.1:%s/apply" % port, data=(a if i % 2 == 0 else b).encode(),
	        method="POST"), timeout=10)
	    t_change = json.load(r)["time"]
	    end, done = time.time() + 10, False
	    while not done and time.time() < end:
	        chunk = f.readline()
	        if not chunk:
	            time.sleep(0.001)
	            continue
	        buf += chunk
	        if not buf.endswith("\n"):
	            continue          # partial line: wait for the rest
	        line, buf = buf, ""
	        if "xlb-agent: synced" in line:
	            t = time.time()
	            if web_backends() == want[i % 2]:
	                lat.append((t - t_change) * 1000)
	                done = True
	    if not done:
	        print("change %d: maps not updated within 10 s" % i)
	        sys.exit(1)
	    time.sleep(0.1)
	lat.sort()
	print("%.1f %.1f %.1f %d" % (statistics.median(lat), lat[int(len(lat) * 0.9) - 1], lat[-1], len(lat)))
	EOF
)
if [[ "$lat" =~ ^([0-9.]+)\ ([0-9.]+)\ ([0-9.]+)\ 100$ ]]; then
	t_pass "latency EndpointSlice change -> maps updated: median ${BASH_REMATCH[1]} ms, p90 ${BASH_REMATCH[2]} ms, max ${BASH_REMATCH[3]} ms (100 changes)"
	note "LATENCY median_ms=${BASH_REMATCH[1]} p90_ms=${BASH_REMATCH[2]} max_ms=${BASH_REMATCH[3]}"
else
	t_fail "latency over 100 changes" "$lat"
fi
WHY="web backends: $(backends web)"
check "latency run: final maps hold the last change (P1 P1b P2)" eval '[ "$(backends web)" = "10.1.1.2 10.1.1.3 10.2.1.2" ]'
WHY=""

kill -0 "${AGENT_PID[a1]}" 2>/dev/null && t_pass "agent still running" ||
	t_fail "agent still running" "$(tail -5 "$(agent_log a1)")"
t0=$(date +%s%N)
if agent_stop a1 && grep -q ': exiting; programs stay attached' "$(agent_log a1)"; then
	t_pass "agent exits cleanly on SIGTERM with open watches ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
else
	t_fail "agent exits cleanly on SIGTERM" "$(tail -3 "$(agent_log a1)")"
fi

# ----------- restart with hostile and invalid objects in every LIST
if k8s_agent_start a1r && grep -q '^.* sync: [0-9]* service ports' "$(agent_log a1r)"; then
	t_pass "restart with hostile/invalid objects in the LISTs: synced"
else
	t_fail "restart with hostile/invalid objects: synced" "$(tail -5 "$(agent_log a1r)")"
fi
grep -Eq 'services: initial LIST: 3 object' "$(agent_log a1r)" &&
	t_pass "restart: all 3 Services listed ($(grep -m1 'services: initial LIST' "$(agent_log a1r)" | cut -c1-90))" ||
	t_fail "restart: 3 Services listed" "$(grep 'initial LIST' "$(agent_log a1r)")"
check "restart: web still served after the first sync (P1 P1b P2)" serves 30080 "P1 P1b P2 " 30
check "restart: the tenant's Service served (P1b)" serves 30083 "P1b " 5
WHY="$(xlbctl service list 2>&1 | head -5)"
check "restart: xlbctl lists web and tenant, not badport" \
	eval 'svc_in_maps web && svc_in_maps tenant && ! svc_in_maps badport'
WHY=""
agent_stop a1r || t_fail "agent a1r exits on SIGTERM" "needed SIGKILL"

# ------------------- restart while the API server is down: nothing flushed
fault '{"op":"down"}'
apply "$(eps_json web $P2E)"		# waits in the server for the agent
if k8s_agent_start a2; then
	t_pass "agent restarted with the API server down (ready after the initial-list wait)"
else
	t_fail "agent restarted with the API server down" "$(tail -5 "$(agent_log a2)")"
fi
grep -q 'serving the state the maps already hold' "$(agent_log a2)" &&
	t_pass "restart without API: agent says it serves the pinned state" ||
	t_fail "restart without API: agent says it serves the pinned state" "$(tail -5 "$(agent_log a2)")"
check "restart without API: 30080 still reaches P1 P1b P2 (pinned state kept)" serves 30080 "P1 P1b P2 " 30
fault '{"op":"up"}'
check "restart without API: converges once the server is back (P2 only)" wait_for 60 serves 30080 "P2 "
agent_stop a2 || t_fail "agent a2 exits on SIGTERM" "needed SIGKILL"

# ------------------------------------------------ --nodeport-addresses
k8s_agent_start a3 --nodeport-addresses 192.168.0.0/16 ||
	t_fail "agent with --nodeport-addresses" "$(tail -5 "$(agent_log a3)")"
check "--nodeport-addresses 192.168.0.0/16: no NodePort on 10.0.0.1 (refused by the stack)" \
	wait_for 10 refused 30080
grep -q 'node: 0 NodePort address(es) from the Node object' "$(agent_log a3)" &&
	t_pass "--nodeport-addresses: Node address 10.0.0.1 filtered out" ||
	t_fail "--nodeport-addresses: Node address filtered out" "$(grep 'node:' "$(agent_log a3)")"
agent_stop a3
apply "$(svc_json lb2 LoadBalancer 30091 Local 32101)"
apply "$(eps_json lb2 $P1E)"
k8s_agent_start a4 --nodeport-addresses 10.0.0.0/24 ||
	t_fail "agent with --nodeport-addresses 10.0.0.0/24" "$(tail -5 "$(agent_log a4)")"
check "--nodeport-addresses 10.0.0.0/24: NodePort on 10.0.0.1 (the Node's InternalIP) served" \
	wait_for 10 serves 30080 "P2 "
hc_listen() { ip netns exec "$N1" ss -Hltn "sport = :32101" | awk '{ print $4 }' | tr '\n' ' '; }
WHY="listening: $(hc_listen)"
check "--nodeport-addresses 10.0.0.0/24: healthCheckNodePort 32101 listens on 10.0.0.1 only" \
	wait_for 5 eval '[ "$(hc_listen)" = "10.0.0.1:32101 " ]'
WHY=""
agent_stop a4

# ------------------- client certificate auth, inline data, tls-server-name
kubeconfig_data "$KDIR/kubeconfig-cert.json" localhost
n_cert=$(req_count 'LIST [0-9]+ cert:system:xlb-agent')
if KC_FILE=$KDIR/kubeconfig-cert.json k8s_agent_start a5 &&
   grep -q 'initial LIST' "$(agent_log a5)"; then
	t_pass "JSON kubeconfig, CA and client cert/key as *-data, tls-server-name localhost: agent synced"
else
	t_fail "client certificate kubeconfig" "$(tail -5 "$(agent_log a5)")"
fi
check "client certificate: the server saw user system:xlb-agent on the LISTs" \
	test "$(req_count 'LIST [0-9]+ cert:system:xlb-agent')" -gt "$n_cert"
check "client certificate: 30080 reaches P2" serves 30080 "P2 "
agent_stop a5
kubeconfig_data "$KDIR/kubeconfig-badname.json" wrong-name.example
KC_FILE=$KDIR/kubeconfig-badname.json k8s_agent_start a6
if grep -Eqi 'ssl|certificate|subject name' "$(agent_log a6)" && ! grep -q 'initial LIST' "$(agent_log a6)"; then
	t_pass "tls-server-name not in the certificate: refused ($(grep -Eim1 'ssl|certificate|subject name' "$(agent_log a6)" | cut -c1-110))"
else
	t_fail "tls-server-name mismatch refused" "$(tail -5 "$(agent_log a6)")"
fi
check "tls-server-name mismatch: pinned state still served (P2)" serves 30080 "P2 "
agent_stop a6

# ------------ TLS: only the configured CA, never the system store (CAPATH)
# A second API server whose certificate comes from a CA that is in the
# system store (/etc/ssl/certs, bind-mounted over in a private mount
# namespace of the agent and of curl) but not the kubeconfig's CA.
capath_test() {
	local d=$KDIR/sysstore i
	mkdir -p "$d" && cd "$KDIR" || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout sysca.key -out sysca.crt -days 1 \
		-subj /CN=xlb-test-system-ca 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout srv2.key -out srv2.csr \
		-subj /CN=kube-apiserver 2>/dev/null &&
	openssl x509 -req -in srv2.csr -CA sysca.crt -CAkey sysca.key -CAcreateserial -out srv2.crt \
		-days 1 -extfile ext.cnf -extensions ext 2>/dev/null || { cd - >/dev/null; return 1; }
	cp sysca.crt "$d/" && ln -sf sysca.crt "$d/$(openssl x509 -hash -noout -in sysca.crt).0"
	cd - >/dev/null || return 1
	nsx "$N1" "$PY" "$E2E_DIR/apiserver.py" --listen 127.0.0.1:6445 --ctl 127.0.0.1:6446 \
		--cert "$KDIR/srv2.crt" --key "$KDIR/srv2.key" --token-file "$TOKEN_F" \
		>"$KDIR/apiserver2.out" 2>&1 &
	E2E_PIDS+=($!)
	for i in $(seq 1 200); do grep -q listening "$KDIR/apiserver2.out" && break; sleep 0.1; done
	# Proof that the store is in effect: curl given only the kubeconfig's
	# CA (--cacert), as the agent was, still trusts the server through
	# libcurl's default CAPATH.
	if ip netns exec "$N1" unshare -m sh -c "mount --bind '$d' /etc/ssl/certs &&
		curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert '$KDIR/ca.crt' \
		https://127.0.0.1:6445/api/v1/nodes" 2>"$KDIR/curl2.err" | grep -q 401; then
		t_pass "CAPATH: with only the kubeconfig's CA, libcurl's default CAPATH still trusts the second server (curl: 401, TLS ok)"
	else
		t_fail "CAPATH: system store set up" "$(cat "$KDIR/curl2.err")"
		return 1
	fi
	local log=$TMP/a8.log
	ip netns exec "$N1" unshare -m sh -c "mount --bind '$d' /etc/ssl/certs && exec '$AGENT' \
		--iface n1up --iface n1n2 --node-name node1 --pin-dir '$PIN' \
		--kubeconfig '$KUBECONFIG_F' --apiserver https://127.0.0.1:6445" >>"$log" 2>&1 &
	AGENT_PID[a8]=$!
	for i in $(seq 1 150); do
		grep -q 'xlb-agent: ready' "$log" 2>/dev/null && break
		sleep 0.1
	done
	if grep -Eqi 'ssl certificate problem|unable to get local issuer' "$log" &&
	   ! grep -q 'initial LIST' "$log"; then
		t_pass "CAPATH: a server certificate from a CA only in the system store is refused ($(grep -Eim1 'certificate problem|local issuer' "$log" | cut -c1-100))"
	else
		t_fail "CAPATH: server certificate from the system store refused" "$(tail -5 "$log")"
	fi
	agent_stop a8
}
capath_test

# ------------- health servers: idle connections from one address
apply "$(svc_json lb3 LoadBalancer 30092 Local 32102)"
apply "$(eps_json lb3 $P1E)"
k8s_agent_start a9 || t_fail "agent a9 start" "$(tail -5 "$(agent_log a9)")"
wait_for 10 eval '[[ "$(http_status http://10.0.0.1:32102/healthz)" == "200 1" ]]'
ip -n "$C" addr add 10.0.0.3/24 dev c0 2>/dev/null
idle=$(timeout 60 ip netns exec "$C" "$PY" - <<-'EOF'
	import socket, time
	held = []
	for i in range(64):
	    s = socket.socket()
	    s.settimeout(2)
	    try:
	        s.connect(("10.0.0.1", 32102))
	        s.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")   # never finished
	        held.append(s)
	    except OSError:
	        pass
	time.sleep(1)
	res = []
	for port in (32102, 10256):
	    c = socket.socket()
	    c.settimeout(5)
	    c.bind(("10.0.0.3", 0))
	    try:
	        c.connect(("10.0.0.1", port))
	        c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	        res.append(c.recv(64).split(b"\r\n")[0].decode() or "closed")
	    except OSError as e:
	        res.append("error " + str(e))
	print("%d|%s" % (len(held), "|".join(res)))
	EOF
)
check "64 idle connections from 10.0.0.2 do not lock 10.0.0.3 out of healthCheckNodePort 32102 ($idle)" \
	eval '[[ "$idle" == *"|HTTP/1.1 200 OK|"* ]]'
check "... nor out of :10256 /healthz ($idle)" eval '[[ "$idle" == *"|HTTP/1.1 200 OK" ]]'

# ------------- 2,000 healthCheckNodePorts
# Ports 30100-32099: inside the NodePort range like real ones, below the
# ephemeral ports (32768+) that the node's own connections use.
many=$("$PY" - <<-'EOF'
	import json
	objs = []
	for i in range(2000):
	    objs.append({"kind": "Service", "apiVersion": "v1",
	        "metadata": {"name": "hc%04d" % i, "namespace": "default"},
	        "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local",
	                 "allocateLoadBalancerNodePorts": False, "healthCheckNodePort": 30100 + i,
	                 "ports": [{"name": "p", "port": 80, "targetPort": 8080, "protocol": "TCP"}]},
	        # odd ones: no ingress IP yet and no nodePorts, so no frontend
	        # at all; kube-proxy serves their health check all the same
	        "status": {"loadBalancer": {"ingress": [
	            {"ip": "198.18.%d.%d" % (i // 200, i % 200 + 1), "ipMode": "VIP"}] if i % 2 == 0 else []}}})
	print(json.dumps({"objects": objs}))
	EOF
)
printf '%s' "$many" >"$KDIR/many.json"
timeout 120 ip netns exec "$N1" curl -sS --max-time 100 -X POST --data-binary @"$KDIR/many.json" \
	"http://127.0.0.1:$CTL_PORT/apply_many" >/dev/null
n_hc() { ip netns exec "$N1" ss -Hltn | awk '{ split($4, a, ":"); p = a[length(a)]; if (p >= 30100 && p < 32100) n++ } END { print n + 0 }'; }
wait_for 120 eval '[ "$(n_hc)" -ge 2000 ]'
check "2000 LoadBalancer Services with eTP=Local (half without any frontend yet): 2000 healthCheckNodePorts listening (got $(n_hc))" \
	test "$(n_hc)" -ge 2000
check "2000 healthCheckNodePorts: the last one (32099, a Service with no frontend yet) answers 503, no local endpoints" \
	eval '[[ "$(http_status http://10.0.0.1:32099/healthz)" == "503 0" ]]'
check "2000 healthCheckNodePorts: the others still answer (32102: 200)" \
	eval '[[ "$(http_status http://10.0.0.1:32102/healthz)" == "200 1" ]]'
WHY="$(grep -m3 'cannot listen' "$(agent_log a9)")"
check "2000 healthCheckNodePorts: no 'cannot listen'" eval '! grep -q "cannot listen" "$(agent_log a9)"'
WHY=""
"$PY" -c 'import json,sys; print(json.dumps({"objects": [{"kind": "Service", "name": "hc%04d" % i} for i in range(2000)]}))' >"$KDIR/many-del.json"
timeout 120 ip netns exec "$N1" curl -sS --max-time 100 -X POST --data-binary @"$KDIR/many-del.json" \
	"http://127.0.0.1:$CTL_PORT/delete_many" >/dev/null
check "2000 healthCheckNodePorts closed when the Services go" wait_for 60 eval '[ "$(n_hc)" = 0 ]'
agent_stop a9 || t_fail "agent a9 exits on SIGTERM" "needed SIGKILL"

# ------- a failed sync is retried with backoff; periodic full sync
n_be=$(xlbctl -j backend list 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
k8s_agent_start a10 --max-backends $(( n_be + 2 )) --sync-period 2 ||
	t_fail "agent a10 start" "$(tail -5 "$(agent_log a10)")"
off=$(log_size a10)
check "--sync-period 2: periodic full sync logged" log_wait a10 "$off" 'periodic full sync' 10
off=$(log_size a10)
apply "$(svc_json big NodePort 30093)"
apply "$(eps_json big $P1E $P1BE $P2E)"	# 3 more backends: one too many
if log_wait a10 "$off" 'retrying in 1 s' 10 && log_wait a10 "$off" 'retrying in 2 s' 10; then
	t_pass "backend map full: the failed sync is retried with backoff ($(log_since a10 "$off" | grep -c 'retrying in') retries)"
else
	t_fail "failed sync retried with backoff" "$(log_since a10 "$off" | tail -5)"
fi
check "backend map full: the other Services keep serving (web)" serves 30080 "P2 "
# It may have been synced with no endpoints first (Service before slice):
# then it keeps that state whole, with none of the new backends.
WHY="big backends: $(backends big)"
check "backend map full: big is not half-programmed (none of its backends in the maps)" \
	eval '[ -z "$(backends big)" ]'
WHY=""
delete Service big
delete EndpointSlice big-abcde
off=$(log_size a10)
sleep 6
check "big gone: syncs succeed again, no more retries" \
	eval '! log_since a10 "$off" | grep -q "retrying in"'
agent_stop a10 || t_fail "agent a10 exits on SIGTERM" "needed SIGKILL"

# ------------------------------------ file mode serves the health endpoints
cat >"$KDIR/file.yaml" <<-EOF
apiVersion: v1
kind: Service
metadata: {name: lbf, namespace: default}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  healthCheckNodePort: 32200
  clusterIP: 10.96.9.9
  ports: [{name: p, port: 80, targetPort: 8080, protocol: TCP, nodePort: 30095}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: lbf-1
  namespace: default
  labels: {kubernetes.io/service-name: lbf}
addressType: IPv4
ports: [{name: p, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [10.1.1.2], conditions: {ready: true}, nodeName: node1}
EOF
if agent_start a7 "$N1" "$KDIR/file.yaml"; then
	check "file mode: healthCheckNodePort 32200 answers 200, weight 1" \
		wait_for 10 eval '[[ "$(http_status http://10.0.0.1:32200/healthz)" == "200 1" ]]'
	check "file mode: /healthz 200" eval '[[ "$(http_status http://10.0.0.1:10256/healthz)" == "200 " ]]'
else
	t_fail "file mode agent start" "$(tail -5 "$(agent_log a7)")"
fi
agent_stop a7

if [ "$T_FAIL" -gt 0 ]; then
	for a in a2 a3 a4 a5 a6 a7; do echo "--- agent $a log (tail)"; tail -10 "$(agent_log $a)" 2>/dev/null; done
	echo "--- agent log (tail)"; tail -40 "$(agent_log a1)"
	echo "--- request log (tail)"; tail -20 "$REQLOG"
fi
note "total $(elapsed)"
t_summary

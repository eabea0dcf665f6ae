#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# An API server outage under load, in Kubernetes mode. The client holds
# 100 long-lived TCP connections through the NodePort (Maglev spreads them
# over the local Pod P1 and the remote Pod P2, SNATed) and two steady UDP
# streams (local and remote backend) while the test API server
# (apiserver.py, token auth over HTTPS) stops listening for $OUTAGE_S s,
# longer than the agent's connect timeout (10 s) and its backoff steps,
# twice: once it comes back with the same objects, once with web's
# EndpointSlice changed while it was down (P1b added). Its objects are kept
# across the outage, like etcd's; its watch history is not (a restarted
# API server's watch cache starts at the current resourceVersion), so a
# watch from an older resourceVersion gets 410 Gone and the agent relists.
#
# Asserted: during the outage the agent keeps running and serving its last
# good state (maps unchanged, new connections reach the same Pods); after
# it the agent watches again (relisting where its resourceVersion is gone)
# and applies the change; every TCP
# connection survives with the same Pod and client address; UDP loss within
# $UDP_LOSS_MAX per stream (the datapath does not depend on the API
# server, so the design bound is 0; the allowance covers a loaded
# machine, and datagrams the kernel counts as dropped for a full socket
# buffer in the client and Pods are added to it and reported); no
# conntrack entry of a live flow is lost.
# Figures: connections kept, datagrams lost, API-back-to-watching time.
#
#   bash selftests/e2e/test_outage_load.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

OUTAGE_S=${OUTAGE_S:-20}
UDP_LOSS_MAX=${UDP_LOSS_MAX:-5}
API_PORT=6443 CTL_PORT=6444
KDIR=$TMP/k8s
REQLOG=$KDIR/requests.log
LG=$TMP/load
P1E=10.1.1.2@node1 P1BE=10.1.1.3@node1 P2E=10.2.1.2@node2

command -v openssl >/dev/null || t_abort setup "openssl missing"
command -v curl >/dev/null || t_abort setup "curl missing"

# A CA and a server certificate for 127.0.0.1; the agent authenticates
# with a bearer token named in its kubeconfig (as test_k8s.sh does).
make_certs() {
	mkdir -p "$KDIR" && cd "$KDIR" || return 1
	printf '[ext]\nsubjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n' >ext.cnf
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 \
		-subj /CN=xlb-test-ca 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
		-subj /CN=kube-apiserver 2>/dev/null &&
	openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt \
		-days 1 -extfile ext.cnf -extensions ext 2>/dev/null
	local rc=$?
	cd - >/dev/null || return 1
	echo token-outage >"$KDIR/token"
	cat >"$KDIR/kubeconfig" <<-EOF
	apiVersion: v1
	kind: Config
	current-context: test
	clusters:
	- name: test
	  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: ca.crt}
	users:
	- name: xlb
	  user: {tokenFile: token}
	contexts:
	- name: test
	  context: {cluster: test, user: xlb}
	EOF
	return $rc
}

ctl() {
	timeout 30 ip netns exec "$N1" curl -sS --max-time 20 -X POST \
		-H 'Content-Type: application/json' --data-binary "${2:-{\}}" \
		"http://127.0.0.1:$CTL_PORT$1"
}
apply() { ctl /apply "$1" >/dev/null; }
fault() { ctl /fault "$1" >/dev/null; }

# svc_json NAME PROTO NODEPORT: NodePort Service, port "p" -> target
svc_json() {
	local tp=8080
	[ "$2" = UDP ] && tp=5353
	printf '{"kind":"Service","apiVersion":"v1","metadata":{"name":"%s","namespace":"default"},"spec":{"type":"NodePort","selector":{"app":"%s"},"ports":[{"name":"p","protocol":"%s","port":80,"targetPort":%d,"nodePort":%d}]}}' \
		"$1" "$1" "$2" "$tp" "$3"
}
# eps_json SVC PROTO ADDR@NODE...: one ready endpoint per argument
eps_json() {
	local svc=$1 proto=$2 e sep="" eps="" tp=8080; shift 2
	[ "$proto" = UDP ] && tp=5353
	for e in "$@"; do
		eps+="$sep{\"addresses\":[\"${e%@*}\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false},\"nodeName\":\"${e#*@}\"}"
		sep=,
	done
	printf '{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"%s-abcde","namespace":"default","labels":{"kubernetes.io/service-name":"%s","endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io"}},"addressType":"IPv4","endpoints":[%s],"ports":[{"name":"p","protocol":"%s","port":%d}]}' \
		"$svc" "$svc" "$eps" "$proto" "$tp"
}
node_json() {
	printf '{"kind":"Node","apiVersion":"v1","metadata":{"name":"node1","labels":{"kubernetes.io/hostname":"node1"}},"spec":{},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}}'
}

# backends SVC: backend addresses of default/SVC in the maps
backends() {
	xlbctl -j backend list 2>/dev/null | "$PY" -c '
import json, sys
rows = json.load(sys.stdin)
print(" ".join(sorted({r["address"] for r in rows
                       if r.get("service", "").startswith("default/%s:" % sys.argv[1])})))' "$1"
}
pods_seen() { http_many 10.0.0.1 "$1" 20 2 | awk '/^pod=/ { sub("pod=", "", $1); print $1 }' | sort -u | tr '\n' ' '; }

# ct_snapshot FILE: conntrack entries of the client's flows, one a line.
ct_snapshot() {
	xlbctl -j ct list | "$PY" -c '
import json, sys
for e in json.load(sys.stdin):
    if e["saddr"] != "10.0.0.2" and e["nat_daddr"] != "10.0.0.2":
        continue
    print("%s %s %s:%d>%s:%d => %s:%d>%s:%d be=%d" % (e["kind"], e["proto"],
          e["saddr"], e["sport"], e["daddr"], e["dport"], e["nat_saddr"],
          e["nat_sport"], e["nat_daddr"], e["nat_dport"], e["backend_id"]))' | sort >"$1"
}
ct_kept() {
	local missing
	ct_snapshot "$TMP/ct1" || { t_fail "$1" "xlbctl ct list failed"; return; }
	missing=$(comm -23 "$TMP/ct0" "$TMP/ct1")
	if [ -z "$missing" ]; then
		t_pass "$1 ($(wc -l <"$TMP/ct0") entries of live flows)"
	else
		t_fail "$1" "$(wc -l <<<"$missing") entries gone or changed, e.g. $(head -3 <<<"$missing" | tr '\n' ';')"
	fi
}

# watching SINCE_LINE: both reflectors WATCH again after request-log line
# SINCE_LINE. relisted SINCE_LINE: and both LISTed first.
watching() {
	local new
	new=$(tail -n +"$(( $1 + 1 ))" "$REQLOG" 2>/dev/null)
	grep -qE ' /api/v1/services\?watch=1[^ ]* 200 WATCH start' <<<"$new" &&
		grep -qE ' /apis/discovery.k8s.io/v1/endpointslices\?watch=1[^ ]* 200 WATCH start' <<<"$new"
}
relisted() {
	local new
	new=$(tail -n +"$(( $1 + 1 ))" "$REQLOG" 2>/dev/null)
	grep -qE ' /api/v1/services\?[^ ]* 200 LIST' <<<"$new" &&
		grep -qE ' /apis/discovery.k8s.io/v1/endpointslices\?[^ ]* 200 LIST' <<<"$new" &&
		watching "$1"
}
# wait_until CHECK: until CHECK "$REQ0" holds. The bound is liveness only:
# the reflectors back off as client-go's do (0.8 s doubling to 30 s,
# jitter up to as much again, reset after 2 min quiet), so the first retry
# after an outage may come a minute later.
wait_until() {
	local i
	for i in $(seq 1 1800); do "$1" "$REQ0" && return 0; sleep 0.1; done
	return 1
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# outage NAME [JSON]: the API server stops listening for $OUTAGE_S s (its
# open watches are cut), JSON is applied while it is down; then it comes
# back. Checks the agent serving the last good state meanwhile; prints
# nothing, sets UP_T0 and REQ0.
outage() {
	local name=$1 change=${2:-} t_down b0 p0
	b0=$(backends web) p0=$(pods_seen 30080)
	fault '{"op":"down"}'
	t_down=$(date +%s)
	[ -n "$change" ] && apply "$change"	# stored while the listener is down
	sleep $(( OUTAGE_S / 2 ))
	if [ -n "${AGENT_PID[a1]:-}" ] && kill -0 "${AGENT_PID[a1]}" 2>/dev/null &&
	   [ "$(backends web)" = "$b0" ] && [ "$(pods_seen 30080)" = "$p0" ]; then
		t_pass "$name: API server down $(( $(date +%s) - t_down )) s: agent running, maps unchanged ($b0), new connections reach $p0"
	else
		t_fail "$name: agent keeps its last good state while the API server is down" \
			"backends '$(backends web)' (was '$b0'), pods '$(pods_seen 30080)' (was '$p0'); $(tail -3 "$(agent_log a1)")"
	fi
	sleep $(( OUTAGE_S - ($(date +%s) - t_down) > 0 ? OUTAGE_S - ($(date +%s) - t_down) : 0 ))
	note "$name: the agent noticed: $(tail -c +"$LOG0" "$(agent_log a1)" | grep -E 'kube (services|endpointslices)' | tail -1)"
	REQ0=$(wc -l <"$REQLOG")
	# A restarted API server's watch cache starts at the current
	# resourceVersion: a watch from before the outage gets 410 Gone.
	fault '{"op":"compact"}'
	fault '{"op":"up"}'
	UP_T0=$(date +%s%N)
}

# ====================================================================== setup
make_certs || t_abort setup "openssl could not make the certificates"
topo_up --p1b || t_abort topology "topo_up failed"
pod_server "$P1" P1 && pod_server "$P1B" P1b && pod_server "$P2" P2 ||
	t_abort servers "pod servers did not start"
api_server_start "$N1" --listen 127.0.0.1:$API_PORT --ctl 127.0.0.1:$CTL_PORT \
	--cert "$KDIR/srv.crt" --key "$KDIR/srv.key" --token-file "$KDIR/token" \
	--log "$REQLOG" || t_abort "api server" "did not start"
apply "$(node_json)"
apply "$(svc_json web TCP 30080)"
apply "$(eps_json web TCP $P1E $P2E)"
apply "$(svc_json udpl UDP 30053)"
apply "$(eps_json udpl UDP $P1E)"
apply "$(svc_json udpr UDP 30054)"
apply "$(eps_json udpr UDP $P2E)"
neigh_warm

t0=$(date +%s%N)
ip netns exec "$N1" "$AGENT" --iface n1up --iface n1n2 --node-name node1 --pin-dir "$PIN" \
	--kubeconfig "$KDIR/kubeconfig" >>"$(agent_log a1)" 2>&1 &
agent_wait_ready a1 $! "$(agent_log a1)" 30 || t_abort "agent start" "$(tail -20 "$(agent_log a1)")"
note "agent ready in $(ms_since "$t0") ms"
[ "$(backends web)" = "10.1.1.2 10.2.1.2" ] && [ "$(backends udpl)" = 10.1.1.2 ] &&
	[ "$(backends udpr)" = 10.2.1.2 ] || t_abort "initial sync" "web: $(backends web), udpl: $(backends udpl), udpr: $(backends udpr)"

# udp_bufdrops: UDP datagrams the kernel dropped for a full socket buffer
# (RcvbufErrors) in the client's and the Pods' namespaces. Those are the
# loaded machine's, not the datapath's (it never sees them): they are
# added to the loss allowance, and reported.
udp_bufdrops() {
	local ns n sum=0
	for ns in "$C" "$P1" "$P2"; do
		n=$(ip netns exec "$ns" awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $6 }' /proc/net/snmp)
		sum=$((sum + ${n:-0}))
	done
	echo "$sum"
}
BUFDROPS0=$(udp_bufdrops)
mkdir -p "$LG"
ip netns exec "$C" "$PY" "$E2E_DIR/loadgen.py" "$LG" --tcp 10.0.0.1:30080:100 \
	--udp 10.0.0.1:30053 --udp 10.0.0.1:30054 --interval 1 --udp-rate 50 \
	>"$LG/summary.json" 2>"$LG/err.log" &
LG_PID=$!
E2E_PIDS+=("$LG_PID")
for i in $(seq 1 600); do
	[ -f "$LG/ready" ] && break
	kill -0 "$LG_PID" 2>/dev/null || break
	sleep 0.1
done
[ "$(cat "$LG/ready" 2>/dev/null)" = 100 ] ||
	t_abort "100 TCP connections established" "ready=$(cat "$LG/ready" 2>/dev/null); $(tail -3 "$LG/err.log")"
t_pass "100 TCP connections through NodePort 30080 answered, 2 UDP streams running"
sleep 2		# every UDP stream has its conntrack entries
ct_snapshot "$TMP/ct0"
n_ct=$(wc -l <"$TMP/ct0")
[ "$n_ct" -ge 204 ] && t_pass "conntrack holds both entries of every flow ($n_ct)" ||
	t_fail "conntrack holds both entries of every flow" "$n_ct entries, want >= 204"

# --- outage 1: back with the same objects
LOG0=$(( $(stat -c %s "$(agent_log a1)") + 1 ))
n_sync=$(agent_synced_count a1)
outage "outage 1 (same objects)"
# Nothing changed: a reflector whose resourceVersion is still the current
# one resumes its watch (valid after the restart too); one that is older
# gets 410 and relists. Either is client-go's behaviour.
RELIST_MS=()
if wait_until watching; then
	RELIST_MS+=("$(ms_since "$UP_T0")")
	how="resumed its watches"
	relisted "$REQ0" && how="relisted (410) and watches again"
	t_pass "outage 1: the agent $how ${RELIST_MS[-1]} ms after the API server came back"
else
	t_fail "outage 1: watching again after the API server came back" "$(tail -n +"$(( REQ0 + 1 ))" "$REQLOG" | grep -E 'services|endpointslices' | head -5 | tr '\n' ';')"
fi
sleep 2
[ "$(backends web)" = "10.1.1.2 10.2.1.2" ] && t_pass "outage 1: same objects, same backends after the relist" ||
	t_fail "outage 1: same backends after the relist" "$(backends web)"
ct_kept "outage 1: no conntrack entry of a live flow gone"

# --- outage 2: web's slice changes (P1b added) while the server is down
LOG0=$(( $(stat -c %s "$(agent_log a1)") + 1 ))
n_sync=$(agent_synced_count a1)
outage "outage 2 (P1b added meanwhile)" "$(eps_json web TCP $P1E $P2E $P1BE)"
# The slice changed meanwhile: the current resourceVersion is newer than
# any the reflectors saw, and the history is gone: both must relist.
if wait_until relisted; then
	RELIST_MS+=("$(ms_since "$UP_T0")")
	t_pass "outage 2: the agent relisted (410) and watches again ${RELIST_MS[-1]} ms after the API server came back"
else
	t_fail "outage 2: relist and watch after the API server came back" "$(tail -n +"$(( REQ0 + 1 ))" "$REQLOG" | head -5 | tr '\n' ';')"
fi
if agent_wait_synced a1 "$n_sync" 30 && [ "$(backends web)" = "10.1.1.2 10.1.1.3 10.2.1.2" ]; then
	t_pass "outage 2: the change made during the outage applied ($(ms_since "$UP_T0") ms after the server came back): backends $(backends web)"
else
	t_fail "outage 2: the change made during the outage applied" "backends $(backends web); $(tail -3 "$(agent_log a1)")"
fi
seen=$(pods_seen 30080)
[ "$seen" = "P1 P1b P2 " ] && t_pass "outage 2: new connections reach P1, P1b and P2" ||
	t_fail "outage 2: new connections reach P1, P1b and P2" "saw: $seen"
ct_kept "outage 2: no conntrack entry of a live flow gone"

# --- the verdict from the client's side
touch "$LG/stop"
wait "$LG_PID"
rc=$?
[ $rc = 0 ] && [ -s "$LG/summary.json" ] || t_abort "load generator summary" "exit $rc: $(tail -3 "$LG/err.log")"
BUFDROPS=$(( $(udp_bufdrops) - BUFDROPS0 ))
note "UDP datagrams dropped by full socket buffers in the client and Pods: $BUFDROPS"
"$PY" - "$LG/summary.json" "$((UDP_LOSS_MAX + BUFDROPS))" >"$LG/verdict" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
bound = int(sys.argv[2])
t = s["tcp"]
print("tcp kept %d of %d (answers %d, pods %s)" % (t["kept"], t["total"], t["answers"],
      " ".join("%s=%d" % kv for kv in sorted(t["pods"].items()))))
print("tcp_broken %d %s" % (len(t["broken"]), json.dumps(t["broken"][:3])))
print("tcp_pods %d" % len([p for p in ("P1", "P2") if t["pods"].get(p)]))
worst = 0
for u in s["udp"]:
    print("udp %s sent %d received %d lost %d dups %d pods %s peers %s" % (u["target"],
          u["sent"], u["received"], u["lost"], u["dups"], ",".join(u["pods"]),
          ",".join(u["peers"])))
    ok = u["lost"] <= bound and len(u["pods"]) == 1 and len(u["peers"]) == 1 and u["sent"] > 0
    worst = max(worst, u["lost"])
    print("udp_ok %d %s" % (ok, u["target"]))
print("udp_worst %d" % worst)
EOF
while read -r line; do note "$line"; done <"$LG/verdict"
if grep -q '^tcp_broken 0 ' "$LG/verdict" && grep -q '^tcp_pods 2' "$LG/verdict"; then
	t_pass "every TCP connection survived both outages, same Pod, same client address ($(grep '^tcp kept' "$LG/verdict"))"
else
	t_fail "every TCP connection survived both outages" "$(grep '^tcp' "$LG/verdict" | tr '\n' ';')"
fi
if ! grep -q '^udp_ok 0' "$LG/verdict" && [ "$(grep -c '^udp_ok 1' "$LG/verdict")" = 2 ]; then
	t_pass "UDP: 2 streams, at most $UDP_LOSS_MAX lost each beside $BUFDROPS socket-buffer drops (worst $(awk '/^udp_worst/ { print $2 }' "$LG/verdict")), one Pod and one client address per stream"
else
	t_fail "UDP loss within $UDP_LOSS_MAX per stream, one Pod per stream" "$(grep '^udp ' "$LG/verdict" | tr '\n' ';')"
fi
note "API server back -> agent watching again: ${RELIST_MS[*]} ms (outage ${OUTAGE_S} s each)"
agent_stop a1 || t_fail "agent exits on SIGTERM" "needed SIGKILL"
agent_uninstall >/dev/null 2>&1
[ -n "${E2E_KEEP:-}" ] && cp "$REQLOG" "$(agent_log a1)" "$E2E_KEEP/"
note "done in $(elapsed)"
t_summary

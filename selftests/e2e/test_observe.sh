#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End-to-end test of observability: the agent's /metrics (parsed with
# Debian's python3-prometheus-client, counters that move by exactly the
# packets sent), `xlbctl explain` (changes no live map, agrees with a real
# connection made right after) and `xlbctl monitor` (shows a source-range
# drop and a no-endpoint reject with their tuples, silent while off).
# Topology: lib.sh.
#
#   bash selftests/e2e/test_observe.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

P1E=10.1.1.2@node1 P2E=10.2.1.2@node2
CFG=$TMP/services.yaml
LBIP=192.0.2.10
XLBCTL_N1() { timeout 30 ip netns exec "$N1" "$XLBCTL" --pin-dir "$PIN" "$@"; }

{
	cfg_svc web NodePort TCP 80 8080 30080
	cfg_eps web TCP 8080 $P1E $P2E
	cfg_svc remote NodePort TCP 80 8080 30081
	cfg_eps remote TCP 8080 $P2E
	cfg_svc empty NodePort TCP 80 8080 30090
	cfg_eps empty TCP 8080
	# UDP to a port nobody listens on in P1: requests only, no replies
	# (the Pod's ICMP errors are not the service's packets).
	cfg_svc sink NodePort UDP 9 9999 30099
	cfg_eps sink UDP 9999 $P1E
	cat <<-YAML
	---
	apiVersion: v1
	kind: Service
	metadata:
	  name: guarded
	  namespace: default
	  uid: 00000000-0000-4000-8000-000000030070
	spec:
	  type: LoadBalancer
	  clusterIP: 10.96.0.70
	  externalTrafficPolicy: Cluster
	  loadBalancerSourceRanges:
	  - 10.99.0.0/16
	  ports:
	  - name: p
	    port: 80
	    protocol: TCP
	    targetPort: 8080
	    nodePort: 30070
	  selector:
	    app: guarded
	status:
	  loadBalancer:
	    ingress:
	    - ip: $LBIP
	      ipMode: VIP
	YAML
	cfg_eps guarded TCP 8080 $P1E
} >"$CFG"

topo_up || t_abort topology "topo_up failed"
# No IPv6 chatter (router solicitations) on the links: the map snapshots
# below must see only what the test sends.
for ns in "$C" "$N1" "$N2" "$P1" "$P2"; do
	nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
pod_server "$P1" P1 && pod_server "$P2" P2 || t_abort servers "pod servers did not start"
neigh_warm || note "node2's MAC not learnt yet"
agent_start a1 "$N1" "$CFG" || t_abort "agent start" "$(tail -20 "$(agent_log a1)")"
http_get 10.0.0.1 30080 >/dev/null || t_abort "first connection" "web does not answer"

# ------------------------------------------------------------------ metrics
# metric NAME [LABEL=VALUE ...]: the sample's value from a fresh scrape,
# parsed by prometheus_client; fails when the exposition does not parse.
scrape() { nsx "$N1" curl -sf --max-time 10 http://127.0.0.1:10249/metrics; }
metric() {
	scrape | "$PY" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
want, labels = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        if s.name == want and all(s.labels.get(k) == v for k, v in labels.items()):
            print(int(s.value) if s.value == int(s.value) else s.value)
            sys.exit(0)
sys.exit("no sample %s %s" % (want, labels))' "$@"
}

out=$(scrape | "$PY" -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
need = {"xlb_service_packets": "counter", "xlb_service_bytes": "counter",
        "xlb_datapath_packets": "counter", "xlb_conntrack_entries": "gauge",
        "xlb_conntrack_entries_limit": "gauge", "xlb_snat_ports_in_use": "gauge",
        "xlb_maglev_table_entries": "gauge", "xlb_sync_duration_seconds": "histogram",
        "xlb_syncs": "counter", "xlb_last_successful_sync_timestamp_seconds": "gauge",
        "xlb_health_check_servers": "gauge"}
bad = [n for n, t in need.items() if n not in fams or fams[n].type != t]
if bad: sys.exit("missing or mistyped: %s" % bad)
labels = {tuple(sorted(s.labels)) for s in fams["xlb_service_packets"].samples}
if labels != {("namespace", "port", "protocol", "service")}: sys.exit("labels %s" % labels)
print(len(fams), "families")' 2>&1)
t_check "/metrics parses as Prometheus text with the expected families and types ($out)" \
	test "${out% families}" -gt 10 2>/dev/null

v=$(metric xlb_last_successful_sync_timestamp_seconds 2>&1)
now=$(date +%s)
t_check "last successful sync time is now-ish ($v, now $now)" \
	"$PY" -c "import sys; sys.exit(0 if abs(float('$v') - $now) < 600 else 1)"
v=$(metric xlb_maglev_table_entries service=web 2>&1)
t_check "Maglev table size of web is exported ($v)" test "$v" -gt 0
v=$(metric xlb_conntrack_entries_limit 2>&1)
t_check "conntrack capacity is exported ($v)" test "$v" -gt 0

# The Grafana dashboard shipped in manifests/ asks only for what is there.
out=$(scrape | "$PY" -c '
import json, re, sys
from prometheus_client.parser import text_string_to_metric_families
have = set()
for f in text_string_to_metric_families(sys.stdin.read()):
    # a family with no series yet (no SNAT flow) is exported all the same
    have |= {f.name} | {s.name for s in f.samples}
dash = json.load(open(sys.argv[1]))
used = set()
for p in dash["panels"]:
    for t in p["targets"]:
        used |= set(re.findall(r"\bxlb_[a-z0-9_]+", t["expr"]))
missing = sorted(used - have)
print("%d metrics used by %d panels%s" % (len(used), len(dash["panels"]),
      ", missing: %s" % missing if missing else ""))
sys.exit(1 if missing or not used else 0)' "$ROOT/manifests/grafana-dashboard.json" 2>&1)
rc=$?
t_check "manifests/grafana-dashboard.json uses only exported metrics ($out)" test $rc -eq 0

N=25
p0=$(metric xlb_service_packets_total namespace=default service=sink port=p protocol=UDP)
b0=$(metric xlb_service_bytes_total namespace=default service=sink port=p protocol=UDP)
client udpsend 10.0.0.1 30099 $N
sleep 0.3
p1=$(metric xlb_service_packets_total namespace=default service=sink port=p protocol=UDP)
b1=$(metric xlb_service_bytes_total namespace=default service=sink port=p protocol=UDP)
# Frame: Ethernet 14 + IPv4 20 + UDP 8 + 10 bytes.
t_check "$N datagrams sent: xlb_service_packets_total{service=sink} $p0 -> $p1 (+$N)" \
	test "$((p1 - p0))" -eq $N
t_check "xlb_service_bytes_total{service=sink} $b0 -> $b1 (+$N x 52)" \
	test "$((b1 - b0))" -eq $((N * 52))

http_get 10.0.0.1 30081 >/dev/null
v=$(metric xlb_snat_ports_in_use backend=10.2.1.2:8080 2>&1)
t_check "SNAT ports in use towards the remote backend 10.2.1.2:8080 ($v)" test "$v" -ge 1
scrape | grep -E '^xlb_(service_packets_total\{.*sink|datapath_packets_total\{reason="(fwd_local|reject_no_backend)"|conntrack_entries|snat_ports|maglev_table_entries\{.*web|sync_duration_seconds_(count|sum)|syncs_total|last_succ)' |
	sed 's/^/# metrics: /'

# ------------------------------------------------------------------ explain
# The snapshots below compare the counters too: the hooked links must be
# quiet, so their neighbours are made permanent (no ARP refreshes).
freeze_neigh() {	# NS DEV PEER_NS PEER_DEV PEER_ADDR
	local mac
	mac=$(ip -n "$3" -br link show dev "$4" | awk '{ print $3 }')
	ip -n "$1" neigh replace "$5" lladdr "$mac" dev "$2" nud permanent
}
freeze_neigh "$C" c0 "$N1" n1up 10.0.0.1 &&
freeze_neigh "$N1" n1up "$C" c0 10.0.0.2 &&
freeze_neigh "$N1" n1n2 "$N2" n2n1 10.0.1.2 &&
freeze_neigh "$N2" n2n1 "$N1" n1n2 10.0.1.1 || note "could not pin the neighbours"
# Every pinned map's contents (sorted; inner Maglev tables too), one hash.
maps_digest() {
	"$PY" - "$PIN" <<-'PY'
	import hashlib, json, os, subprocess, sys
	pin = sys.argv[1]
	def bt(*a):
	    return json.loads(subprocess.run(["bpftool", "-j", *a], check=True,
	                                     capture_output=True, text=True).stdout or "null")
	for name in sorted(os.listdir(pin)):
	    h = hashlib.sha256()
	    path = os.path.join(pin, name)
	    info = bt("map", "show", "pinned", path) if not name.startswith("prog_") else None
	    if not info or info["type"] == "ringbuf":
	        continue            # programs; the ring has no entries to dump
	    dump = bt("map", "dump", "pinned", path)
	    h.update(name.encode() + json.dumps(sorted(json.dumps(e, sort_keys=True) for e in dump)).encode())
	    if info["type"] == "array_of_maps":
	        for e in dump:
	            inner = e.get("inner_map_id") or e.get("value")
	            if isinstance(inner, int):
	                h.update(json.dumps(sorted(json.dumps(x, sort_keys=True)
	                         for x in bt("map", "dump", "id", str(inner)))).encode())
	    print(name, h.hexdigest())
	PY
}
# digest_diff A B: the maps whose digests differ, or "none differ".
digest_diff() {
	local d
	d=$(diff <(echo "$1") <(echo "$2") | awk '/^[<>]/ { print $2 }' | sort -u | tr '\n' ' ')
	echo "${d:-$(wc -l <<<"$1") maps compared, none differ}"
}
jfield() { "$PY" -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("null" if v is None else v)' "$1"; }

# Five new flows explained back to back, then the same five connected
# for real: the maps must not move under the explains, and each real
# connection must land where its explain said.
ports="41001 41002 41003 41004 41005"
declare -A EX_BE=()
outs=0
stats0=$(xlbctl -j stats)
before=$(maps_digest)
for sport in $ports; do
	ex=$(XLBCTL_N1 -j explain tcp 10.0.0.2:$sport 10.0.0.1:30080 --iface n1up 2>&1)
	EX_BE[$sport]=$(jfield backend <<<"$ex")
	[ "$(jfield out_dst <<<"$ex")" = "${EX_BE[$sport]}" ] && outs=$((outs + 1))
done
after=$(maps_digest)
stats1=$(xlbctl -j stats)
[ "$before" = "$after" ] || note "stats before: $stats0 after: $stats1"
t_check "explain shows each packet leaving with its backend as destination ($outs of 5)" test $outs -eq 5
t_check "5 explains of new flows left every live map byte-identical ($(digest_diff "$before" "$after"))" \
	test -n "$before" -a "$before" = "$after"
agree=0 detail=""
for sport in $ports; do
	body=$(client get 10.0.0.1 30080 --sport $sport 2>/dev/null)
	case ${EX_BE[$sport]} in
	10.1.1.2:8080) want=P1 ;; 10.2.1.2:8080) want=P2 ;; *) want="?${EX_BE[$sport]}" ;;
	esac
	[[ "$body" == "pod=$want "* ]] && agree=$((agree + 1))
	detail+=" $sport:$want/${body%% *}"
done
t_check "explain's backend = the backend a real connection got right after (5 flows:$detail)" \
	test $agree -eq 5
note "explain sample: $ex"
XLBCTL_N1 explain tcp 10.0.0.2:41001 10.0.0.1:30080 --iface n1up | sed 's/^/#   /'

# A live established flow (a held keep-alive connection): an explain of
# its next packet hits conntrack, whose touch would write the entry in the
# live map; it must write only the private copy.
ka_start k1 10.0.0.1 30080 || t_fail "keep-alive connect" "$(cat "$TMP/ka-k1.log")"
body=$(ka_get k1 2>&1)		# "pod=P1 client=..."
kport=$(sed -nE 's/^connected local=[0-9.]+:([0-9]+)$/\1/p' "$TMP/ka-k1.log")
kpod=$(sed -nE 's/^pod=(P[12]) .*/\1/p' <<<"$body")
case $kpod in P1) kbe=10.1.1.2:8080 ;; P2) kbe=10.2.1.2:8080 ;; *) kbe="?" ;; esac
before=$(maps_digest)
ex=$(XLBCTL_N1 -j explain tcp 10.0.0.2:${kport:-1} 10.0.0.1:30080 --flags ack --iface n1up 2>&1)
after=$(maps_digest)
t_check "explain of the next packet of a live flow ($body): conntrack hit, its backend ($(jfield conntrack <<<"$ex"), $(jfield choice <<<"$ex"), $(jfield backend <<<"$ex"))" \
	test "$(jfield conntrack <<<"$ex")/$(jfield choice <<<"$ex")/$(jfield backend <<<"$ex")" = "hit/conntrack/$kbe"
t_check "an explain that hits conntrack left every live map byte-identical ($(digest_diff "$before" "$after"))" \
	test -n "$before" -a "$before" = "$after"
ka_stop k1
ex=$(XLBCTL_N1 -j explain tcp 10.0.0.2:42000 $LBIP:80 --iface n1up 2>&1)
t_check "explain: a source outside loadBalancerSourceRanges is dropped ($(jfield verdict <<<"$ex") $(jfield reason <<<"$ex"))" \
	test "$(jfield reason <<<"$ex")/$(jfield verdict <<<"$ex")" = drop_source_range/XDP_DROP
ex=$(XLBCTL_N1 -j explain tcp 10.0.0.2:42001 10.0.0.1:30090 --iface n1up 2>&1)
t_check "explain: a Service without endpoints rejects with ICMP ($(jfield reason <<<"$ex") $(jfield out_proto <<<"$ex") $(jfield out_src <<<"$ex") -> $(jfield out_dst <<<"$ex"))" \
	test "$(jfield reason <<<"$ex")/$(jfield verdict <<<"$ex")/$(jfield out_proto <<<"$ex")/$(jfield out_dst <<<"$ex")" = \
	reject_no_backend/XDP_TX/icmp/10.0.0.2

# ------------------------------------------------------------------ monitor
# The pin is named after its layout (xlb_monitor_v<hash>).
mon_flag() { bpftool -j map dump pinned "$(ls -d "$PIN"/xlb_monitor_v* | head -1)" | "$PY" -c '
import json, sys
e = json.load(sys.stdin)[0]
v = e.get("formatted", {}).get("value", e.get("value"))
print(v["reason_mask"] if isinstance(v, dict) else int("".join(
    x[2:] if x.startswith("0x") else x for x in reversed(v[:8])), 16))'; }
# mon_start NAME ARGS...: xlbctl monitor -j in the background; wait until
# it has switched the kernel side on.
mon_start() {
	local name=$1 i; shift
	ip netns exec "$N1" "$XLBCTL" --pin-dir "$PIN" -j monitor "$@" >"$TMP/mon-$name.out" \
		2>"$TMP/mon-$name.err" &
	MON_PID=$!
	E2E_PIDS+=($MON_PID)
	for i in $(seq 1 50); do
		[ "$(mon_flag)" != 0 ] && return 0
		sleep 0.1
	done
	return 1
}
mon_stop() {
	kill -TERM "$MON_PID" 2>/dev/null
	wait "$MON_PID" 2>/dev/null
}

t_check "monitor off by default: xlb_monitor reason_mask is 0" test "$(mon_flag)" = 0
# Drops while nobody listens: if the kernel reported them, they would
# wait in the ring for the next reader.
tcp_no_answer $LBIP 80 1 >/dev/null 2>&1
tcp_connect_refused 10.0.0.1 30090 >/dev/null 2>&1
mon_start all || t_fail "monitor switches itself on" "$(cat "$TMP/mon-all.err")"
sleep 0.5
t_check "monitor is silent about drops made while it was off" test ! -s "$TMP/mon-all.out"
http_get 10.0.0.1 30080 >/dev/null
client noanswer $LBIP 80 -t 1 --sport 43001 >/dev/null 2>&1
client refused 10.0.0.1 30090 --sport 43002 >/dev/null 2>&1
sleep 0.5
mon_stop
t_check "monitor switches the kernel side off when it exits" test "$(mon_flag)" = 0
note "monitor -j sample: $(cat "$TMP/mon-all.out")"
check_events() {
	"$PY" - "$TMP/mon-$1.out" "$2" <<-'PY'
	import json, sys
	evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	want = sys.argv[2]
	sr = [e for e in evs if e["reason"] == "drop_source_range"]
	rj = [e for e in evs if e["reason"] == "reject_no_backend"]
	fw = [e for e in evs if e["reason"].startswith("fwd_")]
	ok_sr = any(e["orig"] == {"proto": "tcp", "saddr": "10.0.0.2", "sport": 43001,
	                          "daddr": "192.0.2.10", "dport": 80}
	            and e["action"] == {"xdp": "XDP_DROP", "tc": "TC_ACT_SHOT"}.get(e["hook"])
	            and e["service"] == "default/guarded:p/TCP"
	            and e["iface"] == "n1up" and not e["translated"] for e in sr)
	# (the agent picks the hook per uplink: XDP, or tc on veths)
	ok_rj = any(e["orig"] == {"proto": "tcp", "saddr": "10.0.0.2", "sport": 43002,
	                          "daddr": "10.0.0.1", "dport": 30090}
	            and e["out"]["proto"] == "icmp" and e["out"]["saddr"] == "10.0.0.1"
	            and e["out"]["daddr"] == "10.0.0.2"
	            and e["action"] == {"xdp": "XDP_TX", "tc": "TC_ACT_REDIRECT"}.get(e["hook"])
	            and e["service"] == "default/empty:p/TCP" for e in rj)
	res = {"all": ok_sr and ok_rj and not fw,
	       "reject": ok_rj and not sr and not fw}[want]
	print("%d events: %d source-range, %d reject, %d forwards" % (len(evs), len(sr), len(rj), len(fw)))
	sys.exit(0 if res else 1)
	PY
}
t_check "monitor shows the source-range drop and the no-endpoint reject with their tuples, no forwards ($(check_events all all 2>&1))" \
	check_events all all

mon_start rej --reason reject_no_backend --service default/empty || t_fail "monitor --reason starts" "$(cat "$TMP/mon-rej.err")"
client noanswer $LBIP 80 -t 1 --sport 43001 >/dev/null 2>&1
client refused 10.0.0.1 30090 --sport 43002 >/dev/null 2>&1
sleep 0.5
mon_stop
t_check "monitor --reason reject_no_backend --service default/empty shows only the reject ($(check_events rej reject 2>&1))" \
	check_events rej reject

agent_stop a1
t_summary

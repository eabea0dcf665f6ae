#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Control plane and footprint at N Services x 10 endpoints (N = 10000; 2000
# with BENCH_QUICK=1):
#   - in-process agent pipeline (bench/cpbench): cold sync, one-endpoint
#     change p50/p99: the incremental path Kubernetes mode takes (200
#     changes) next to the full pass (30 changes, the baseline), at N, 1000
#     and 1 Services
#   - the real xlb-agent on the same file in a throwaway netns: time to
#     "xlb-agent: ready", VmRSS, BPF map memory (bytes_memlock of the maps
#     it created, Maglev inner tables included)
#   - the real xlb-agent in Kubernetes mode against the test API server
#     (selftests/e2e/apiserver.py) holding the same Services and slices as
#     a real cluster stores them (managedFields, last-applied annotation,
#     targetRefs; bench/svcgen.py --json): peak VmHWM next to file mode's,
#     goal <= 128 MiB; the first LIST at resourceVersion=0 comes in one
#     page, as from the watch cache
#   - iptables-restore (nf_tables backend, Debian's default), iptables-legacy-
#     restore and nft -f loading the rules kube-proxy would install for the
#     same Services (bench/svcgen.py), each in a fresh netns
# Writes JSON to $2 (argument 1: build dir, 2: out file, 3: work dir).
set -u
BUILD=$1 OUT=$2 WORK=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${BENCH_QUICK:-0}
N=10000
[ "$QUICK" = 1 ] && N=2000
RESTORE_TIMEOUT=${BENCH_RESTORE_TIMEOUT:-150}
PFX="xb$$"
NSS=()
AGENT_PID=
API_PID=
MNT=

cleanup() {
	trap - EXIT INT TERM
	[ -n "$AGENT_PID" ] && kill -TERM "$AGENT_PID" 2>/dev/null && sleep 0.5 &&
		kill -KILL "$AGENT_PID" 2>/dev/null
	[ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null
	wait 2>/dev/null
	for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	[ -n "$MNT" ] && { umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; }
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "cp: $*" >&2; }
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

declare -A R=()

# ---- generate the objects and the equivalent kube-proxy rules
for n in "$N" 1000 1; do
	[ -f "$WORK/svc$n.yaml" ] && [ -f "$WORK/svc$n.json" ] && continue
	log "generating $n Services x 10 endpoints"
	python3 "$ROOT/bench/svcgen.py" --services "$n" --yaml "$WORK/svc$n.yaml" \
		--iptables "$WORK/svc$n.ipt" --nft "$WORK/svc$n.nft" --json "$WORK/svc$n.json" || exit 1
done
R[yaml_bytes]=$(stat -c %s "$WORK/svc$N.yaml")
R[iptables_rules]=$(grep -c '^-A' "$WORK/svc$N.ipt")
R[iptables_chains]=$(grep -c '^:' "$WORK/svc$N.ipt")
R[nft_chains]=$(grep -c '^add chain' "$WORK/svc$N.nft")
R[nft_rules]=$(grep -c '^add rule' "$WORK/svc$N.nft")

# ---- in-process pipeline
log "cpbench $N Services"
timeout 300 "$BUILD/bench/cpbench" -f "$WORK/svc$N.yaml" -o "$WORK/cpbench_N.json" || log "cpbench $N failed"
for n in 1000 1; do
	log "cpbench $n Services"
	timeout 120 "$BUILD/bench/cpbench" -f "$WORK/svc$n.yaml" -o "$WORK/cpbench_$n.json" || log "cpbench $n failed"
done

# ---- the real agent
ns=${PFX}-agent
ip netns add "$ns" && NSS+=("$ns")
ip -n "$ns" link set lo up
ip -n "$ns" link add up0 type veth peer name up1
ip -n "$ns" addr add 10.0.0.1/24 dev up0
ip -n "$ns" link set up0 up && ip -n "$ns" link set up1 up
MNT=$WORK/bpffs
mkdir -p "$MNT" && mount -t bpf bpf "$MNT" || MNT=
# The map ids that exist before the agent starts, in a file: on a busy
# machine (another benchmark's 100k Maglev tables) they overflow an argv.
bpftool -j map show 2>/dev/null | python3 -c 'import json,sys; print(" ".join(str(m["id"]) for m in json.load(sys.stdin)))' >"$WORK/maps-before.txt"
before=$WORK/maps-before.txt
alog=$WORK/agent.log
t0=$(now)
ip netns exec "$ns" "$BUILD/xlb-agent" --iface up0 --config "$WORK/svc$N.yaml" --node-name node1 \
	--pin-dir "$MNT/xlb" --healthz-bind-address off >"$alog" 2>&1 &
AGENT_PID=$!
ready=0
for _ in $(seq 1 1200); do
	grep -q 'xlb-agent: ready' "$alog" && { ready=1; break; }
	kill -0 "$AGENT_PID" 2>/dev/null || break
	sleep 0.1
done
t1=$(now)
if [ $ready = 1 ]; then
	R[agent_ready_s]=$(dt "$t0" "$t1")
	sleep 1
	R[agent_rss_kib]=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT_PID/status")
	R[agent_hwm_kib]=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT_PID/status")
	bpftool -j map show 2>/dev/null | python3 -c '
import json, sys
before = set(int(x) for x in open(sys.argv[1]).read().split())
tot = tbl = n = nt = 0
for m in json.load(sys.stdin):
    if m["id"] in before or not m.get("name", "").startswith("xlb"):
        continue
    b = int(m.get("bytes_memlock", 0))
    tot += b; n += 1
    if m["name"].startswith("xlb_maglev_tb"):
        tbl += b; nt += 1
print(tot, n, tbl, nt)' "$before" >"$WORK/memlock.txt"
	read -r mem nmaps tblmem ntbl <"$WORK/memlock.txt"
	R[map_memlock_bytes]=$mem R[maps]=$nmaps R[table_memlock_bytes]=$tblmem R[tables]=$ntbl
	log "agent ready in ${R[agent_ready_s]} s, RSS ${R[agent_rss_kib]} KiB, maps $mem bytes ($nmaps maps, $ntbl tables)"
else
	log "agent not ready: $(tail -3 "$alog")"
fi
kill -TERM "$AGENT_PID" 2>/dev/null
for _ in $(seq 1 50); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$AGENT_PID" 2>/dev/null
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
API_PID=
umount "$MNT" 2>/dev/null && MNT=
ip netns del "$ns" 2>/dev/null

# ---- the real agent in Kubernetes mode, same objects from the API server
k8s_mode() {
	local ns=${PFX}-k8s kd=$WORK/k8s alog=$WORK/agent-k8s.log t0 t1 i ok=0
	mkdir -p "$kd"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$kd/ca.key" -out "$kd/ca.crt" -days 1 \
		-subj /CN=xlb-bench-ca 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout "$kd/srv.key" -out "$kd/srv.csr" \
		-subj /CN=kube-apiserver 2>/dev/null &&
	printf '[e]\nsubjectAltName = IP:127.0.0.1\n' >"$kd/ext.cnf" &&
	openssl x509 -req -in "$kd/srv.csr" -CA "$kd/ca.crt" -CAkey "$kd/ca.key" -CAcreateserial \
		-out "$kd/srv.crt" -days 1 -extfile "$kd/ext.cnf" -extensions e 2>/dev/null ||
		{ log "k8s mode: openssl failed"; return 1; }
	echo bench-token >"$kd/token"
	printf 'apiVersion: v1\nkind: Config\ncurrent-context: b\nclusters: [{name: b, cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.crt}}]\nusers: [{name: u, user: {tokenFile: token}}]\ncontexts: [{name: b, context: {cluster: b, user: u}}]\n' >"$kd/kubeconfig"
	ip netns add "$ns" && NSS+=("$ns")
	ip -n "$ns" link set lo up
	ip -n "$ns" link add up0 type veth peer name up1
	ip -n "$ns" addr add 10.0.0.1/24 dev up0
	ip -n "$ns" link set up0 up && ip -n "$ns" link set up1 up
	log "k8s mode: API server with $N Services + $N slices ($(stat -c %s "$WORK/svc$N.json") bytes of JSON)"
	ip netns exec "$ns" python3 "$ROOT/selftests/e2e/apiserver.py" --listen 127.0.0.1:6443 \
		--ctl 127.0.0.1:6444 --cert "$kd/srv.crt" --key "$kd/srv.key" --token-file "$kd/token" \
		--preload "$WORK/svc$N.json" >"$kd/apiserver.out" 2>&1 &
	API_PID=$!
	for i in $(seq 1 1200); do
		grep -q listening "$kd/apiserver.out" && break
		kill -0 "$API_PID" 2>/dev/null || break
		sleep 0.1
	done
	mkdir -p "$WORK/bpffs-k8s" && mount -t bpf bpf "$WORK/bpffs-k8s" || { kill "$API_PID"; return 1; }
	MNT=$WORK/bpffs-k8s
	t0=$(now)
	ip netns exec "$ns" "$BUILD/xlb-agent" --iface up0 --kubeconfig "$kd/kubeconfig" \
		--node-name node1 --pin-dir "$MNT/xlb" --healthz-bind-address off --cgroup off \
		>"$alog" 2>&1 &
	AGENT_PID=$!
	for i in $(seq 1 3000); do
		grep -q "sync: $N service ports" "$alog" && { ok=1; break; }
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	t1=$(now)
	if [ $ok = 1 ]; then
		sleep 1
		R[k8s_synced_s]=$(dt "$t0" "$t1")
		R[k8s_agent_rss_kib]=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT_PID/status")
		R[k8s_agent_hwm_kib]=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT_PID/status")
		R[k8s_json_bytes]=$(stat -c %s "$WORK/svc$N.json")
		log "k8s mode: first full sync after ${R[k8s_synced_s]} s, RSS ${R[k8s_agent_rss_kib]} KiB, peak ${R[k8s_agent_hwm_kib]} KiB"
	else
		log "k8s mode: agent did not sync $N service ports: $(tail -3 "$alog")"
	fi
	kill -TERM "$AGENT_PID" 2>/dev/null
	for i in $(seq 1 50); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	kill "$API_PID" 2>/dev/null
	wait "$API_PID" 2>/dev/null
	API_PID=
	umount "$MNT" 2>/dev/null && MNT=
	ip netns del "$ns" 2>/dev/null
}
k8s_mode

# ---- kube-proxy's rules: each loader in a fresh netns
load() {	# KEY CMD FILE
	local key=$1 cmd=$2 file=$3 ns=${PFX}-$1 t0 t1 rc
	ip netns add "$ns" && NSS+=("$ns")
	t0=$(now)
	timeout "$RESTORE_TIMEOUT" ip netns exec "$ns" $cmd "$file" >"$WORK/$key.log" 2>&1
	rc=$?
	t1=$(now)
	R[${key}_s]=$(dt "$t0" "$t1") R[${key}_rc]=$rc
	log "$key: ${R[${key}_s]} s (rc $rc)"
	ip netns del "$ns"
}
if command -v nft >/dev/null; then load nft "nft -f" "$WORK/svc$N.nft"; fi
if command -v iptables-legacy-restore >/dev/null; then
	load iptables_legacy iptables-legacy-restore "$WORK/svc$N.ipt"
fi
if command -v iptables-restore >/dev/null; then load iptables iptables-restore "$WORK/svc$N.ipt"; fi
R[iptables_version]=$(iptables --version 2>/dev/null)
R[nft_version]=$(nft --version 2>/dev/null)

# ---- JSON
{
	echo "{\"services\": $N, \"endpoints_per_service\": 10, \"restore_timeout_s\": $RESTORE_TIMEOUT,"
	for k in "${!R[@]}"; do
		v=${R[$k]}
		if [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then echo "\"$k\": $v,"; else echo "\"$k\": \"$v\","; fi
	done
	echo "\"cpbench\": $(cat "$WORK/cpbench_N.json" 2>/dev/null || echo null),"
	echo "\"cpbench_1000\": $(cat "$WORK/cpbench_1000.json" 2>/dev/null || echo null),"
	echo "\"cpbench_1\": $(cat "$WORK/cpbench_1.json" 2>/dev/null || echo null)"
	echo "}"
} >"$OUT"

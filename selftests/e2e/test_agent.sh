#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# End-to-end test of the agent's behaviour around the datapath: config
# changes under a live keep-alive connection, stop/restart with traffic
# flowing, broken configs, bad endpoints, --uninstall. See lib.sh for the
# topology (used here with the second Pod P1b on node1).
#
#   bash selftests/e2e/test_agent.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

P1E=10.1.1.2@node1 P1BE=10.1.1.3@node1 P2E=10.2.1.2@node2
CFG=$TMP/services.yaml

# gen_cfg [web endpoints...]: Service web (NodePort 30080) with the given
# endpoints, plus Service other (NodePort 30081, P1 only).
gen_cfg() {
	cfg_svc web NodePort TCP 80 8080 30080
	cfg_eps web TCP 8080 "$@"
	cfg_svc other NodePort TCP 80 8080 30081
	cfg_eps other TCP 8080 $P1E
}

# write_cfg MODE: stdin -> $CFG, "inplace" (truncate + write, like an
# editor without backup) or "rename" (write a temp file, mv over).
write_cfg() {
	if [ "$1" = rename ]; then
		cat >"$CFG.new" && mv -f "$CFG.new" "$CFG"
	else
		cat >"$CFG"
	fi
}

# ms_since T0_NS
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# log_wait NAME OFFSET REGEX [SECONDS]: wait until the agent log, past byte
# OFFSET, has a line matching REGEX (extended, case-insensitive).
log_wait() {
	local i n=$(( ${4:-10} * 10 ))
	for i in $(seq 1 $n); do
		tail -c +"$(( $2 + 1 ))" "$(agent_log "$1")" | grep -Eqi "$3" && return 0
		sleep 0.1
	done
	return 1
}
log_size() { stat -c %s "$(agent_log "$1")" 2>/dev/null || echo 0; }
log_since() { tail -c +"$(( $2 + 1 ))" "$(agent_log "$1")"; }

# many_check NAME FE PORT N REGEX_OF_PODS_THAT_MUST_APPEAR...
many_check() {
	local name=$1 addr=$2 port=$3 n=$4 out p missing="" fails; shift 4
	out=$(http_many "$addr" "$port" "$n" 2>&1)
	fails=$(awk '$1 == "fail" { print $2 }' <<<"$out")
	for p in "$@"; do
		grep -q "^pod=$p " <<<"$out" || missing+=" $p"
	done
	if [ "${fails:-1}" = 0 ] && [ -z "$missing" ]; then
		t_pass "$name ($(grep '^pod=' <<<"$out" | tr '\n' ' '))"
	else
		t_fail "$name" "missing:${missing:-none}; $(tr '\n' ' ' <<<"$out")"
	fi
}

# ka_same NAME: the keep-alive connection answers from the same Pod,
# same client port as at the start ($KA_FIRST).
ka_same() {
	local out
	out=$(ka_get k1 2>&1)
	if [ "$out" = "$KA_FIRST" ]; then
		t_pass "$1 ($out)"
	else
		t_fail "$1" "want '$KA_FIRST', got '$out'"
	fi
}

gen_cfg $P1E $P2E | write_cfg inplace
topo_up --p1b || t_abort topology "topo_up failed"
pod_server "$P1" P1 && pod_server "$P1B" P1b && pod_server "$P2" P2 ||
	t_abort servers "pod servers did not start"
t0=$(date +%s%N)
agent_start a1 "$N1" "$CFG" || t_abort "agent start" "$(tail -20 "$(agent_log a1)")"
note "agent ready in $(ms_since "$t0") ms"
many_check "initial: 20 new connections reach P1 and P2" 10.0.0.1 30080 20 P1 P2

# --- 1. endpoint added under a live keep-alive connection
ka_start k1 10.0.0.1 30080 || t_abort "keep-alive connect" "$(cat "$TMP/ka-k1.log")"
KA_FIRST=$(ka_get k1 2>&1)
if [[ "$KA_FIRST" =~ ^pod=(P1|P2)\ client= ]]; then
	t_pass "keep-alive connection established ($KA_FIRST)"
else
	t_abort "keep-alive first request" "$KA_FIRST"
fi

n=$(agent_synced_count a1)
t0=$(date +%s%N)
gen_cfg $P1E $P2E $P1BE | write_cfg inplace
if agent_wait_synced a1 "$n" 10; then
	t_pass "config rewritten in place (P1b added): agent synced in $(ms_since "$t0") ms"
else
	t_fail "config rewritten in place: agent synced within 10 s" "$(log_since a1 0 | tail -5)"
	kill -HUP "${AGENT_PID[a1]}" 2>/dev/null
	agent_wait_synced a1 "$n" 5
fi
ka_same "keep-alive connection keeps its Pod after the EndpointSlice changed"
many_check "added endpoint P1b gets new connections (30 new)" 10.0.0.1 30080 30 P1 P1b P2

# --- 2. agent stopped: programs and maps stay, traffic flows
agent_stop a1 && t_pass "agent exits on SIGTERM" || t_fail "agent exits on SIGTERM" "needed SIGKILL"
if [ "$(tc_prog "$N1" n1up ingress)" = xlb_tc ] && [ "$(tc_prog "$N1" n1n2 ingress)" = xlb_tc ]; then
	t_pass "agent stopped: tc datapath still attached on n1up, n1n2"
else
	t_fail "agent stopped: tc datapath still attached" "$(ip netns exec "$N1" bpftool net show 2>&1 | tr '\n' ' ')"
fi
ka_same "agent stopped: keep-alive connection still answers, same Pod"
many_check "agent stopped: new connections work (all three Pods)" 10.0.0.1 30080 30 P1 P1b P2

# --- 3. restart with the same pin dir: conntrack survives
t0=$(date +%s%N)
if agent_start a2 "$N1" "$CFG"; then
	t_pass "agent restarted on the same pin dir (ready in $(ms_since "$t0") ms)"
else
	t_abort "agent restart" "$(tail -20 "$(agent_log a2)")"
fi
ka_same "after restart: keep-alive connection still answers, same Pod"
many_check "after restart: new connections work (all three Pods)" 10.0.0.1 30080 30 P1 P1b P2

# --- 4. a broken config file changes nothing
svc_before=$(xlbctl -j service list 2>&1)
be_before=$(xlbctl -j backend list 2>&1)
off=$(log_size a2)
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: web\n  spec: [ports:\n\t- : :\n' | write_cfg inplace
if log_wait a2 "$off" 'not valid|invalid|error|fail| E ' 10; then
	t_pass "invalid YAML: agent log reports it ($(log_since a2 "$off" | grep -Eim1 'not valid|invalid|error|fail| E '))"
else
	t_fail "invalid YAML: agent log reports it within 10 s" "log since: $(log_since a2 "$off" | tail -5)"
fi
sleep 0.5
kill -0 "${AGENT_PID[a2]}" 2>/dev/null && t_pass "invalid YAML: agent keeps running" ||
	t_fail "invalid YAML: agent keeps running" "$(tail -5 "$(agent_log a2)")"
svc_after=$(xlbctl -j service list 2>&1)
be_after=$(xlbctl -j backend list 2>&1)
# Counters may move; compare the set of service names and backend addresses.
names() { grep -oE 'default/[a-z0-9-]+:[^"]*|10\.[0-9]+\.[0-9]+\.[0-9]+' | sort -u | tr '\n' ' '; }
if [ "$(names <<<"$svc_before$be_before")" = "$(names <<<"$svc_after$be_after")" ] &&
   [ -n "$(names <<<"$svc_after")" ]; then
	t_pass "invalid YAML: services and backends unchanged ($(names <<<"$svc_after"))"
else
	t_fail "invalid YAML: services and backends unchanged" \
		"before: $(names <<<"$svc_before$be_before") after: $(names <<<"$svc_after$be_after")"
fi
ka_same "invalid YAML: keep-alive connection still answers, same Pod"
many_check "invalid YAML: new connections still reach all three Pods" 10.0.0.1 30080 30 P1 P1b P2

# --- 5. a bad IP in one EndpointSlice: reported, the rest is applied
off=$(log_size a2)
n=$(agent_synced_count a2)
{
	gen_cfg $P1E $P2E $P1BE
	cfg_svc bad NodePort TCP 80 8080 30086
	cfg_eps bad TCP 8080 10.1.1.300@node1
	cfg_svc fresh NodePort TCP 80 8080 30087
	cfg_eps fresh TCP 8080 $P1BE
} | write_cfg rename
t0=$(date +%s%N)
if agent_wait_synced a2 "$n" 10; then
	t_pass "config replaced by rename: agent synced in $(ms_since "$t0") ms"
else
	t_fail "config replaced by rename: agent synced within 10 s" "log since: $(log_since a2 "$off" | tail -5)"
	kill -HUP "${AGENT_PID[a2]}" 2>/dev/null
	agent_wait_synced a2 "$n" 5
fi
if log_since a2 "$off" | grep -Eq '10\.1\.1\.300'; then
	t_pass "bad endpoint address reported ($(log_since a2 "$off" | grep -Em1 '10\.1\.1\.300'))"
else
	t_fail "bad endpoint address 10.1.1.300 reported in the agent log" "$(log_since a2 "$off" | tail -5)"
fi
kill -0 "${AGENT_PID[a2]}" 2>/dev/null || t_fail "agent alive after bad endpoint" "$(tail -5 "$(agent_log a2)")"
many_check "bad endpoint elsewhere: web (30080) still works" 10.0.0.1 30080 30 P1 P1b P2
many_check "bad endpoint elsewhere: other (30081) still works" 10.0.0.1 30081 3 P1
out=$(http_get 10.0.0.1 30087 2>&1)
if grep -q '^pod=P1b ' <<<"$out"; then
	t_pass "service added in the same change (30087 -> P1b) works"
else
	t_fail "service added in the same change (30087 -> P1b) works" "$out"
fi
ka_same "bad endpoint elsewhere: keep-alive connection still answers, same Pod"

# --- 6. --uninstall removes programs and pins
ka_stop k1
agent_stop a2 || t_fail "agent exits on SIGTERM (2)" "needed SIGKILL"
out=$(agent_uninstall 2>&1); rc=$?
[ $rc = 0 ] && t_pass "xlb-agent --uninstall exits 0" || t_fail "xlb-agent --uninstall exits 0" "rc $rc: $out"
if ! xdp_attached "$N1" n1up && ! xdp_attached "$N1" n1n2; then
	t_pass "uninstall: no XDP on n1up, n1n2"
else
	t_fail "uninstall: no XDP on n1up, n1n2" "$(ip -n "$N1" -d link show | grep -E '^[0-9]|xdp')"
fi
tcx=$(ip netns exec "$N1" bpftool net show 2>&1 | grep -E 'xlb' || true)
[ -z "$tcx" ] && t_pass "uninstall: no xlb program in bpftool net show (xdp, tc, tcx)" ||
	t_fail "uninstall: no xlb program left on node1's interfaces" "$tcx"
left=$(ls -A "$PIN" 2>/dev/null)
[ -z "$left" ] && t_pass "uninstall: pin dir empty or removed" ||
	t_fail "uninstall: pin dir empty or removed" "left: $(tr '\n' ' ' <<<"$left")"
expect_refused() {
	# Nothing listens on node1:30080 now: the node's stack answers RST.
	tcp_connect_refused 10.0.0.1 30080 1 | grep -q ': refused after'
}
t_check "uninstall: 10.0.0.1:30080 no longer served (RST from node1)" expect_refused

if [ "$T_FAIL" -gt 0 ]; then
	for a in a1 a2; do echo "--- agent $a log (tail)"; tail -25 "$(agent_log $a)" 2>/dev/null; done
fi
note "total $(elapsed)"
t_summary

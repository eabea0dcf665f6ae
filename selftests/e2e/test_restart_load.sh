#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Rolling restarts under load. The client holds 200 long-lived TCP
# connections (100 through the NodePort, 100 through the LB VIP; Maglev
# spreads them over the local Pod P1 and the remote Pod P2, SNATed) and
# four steady UDP streams (local and remote backend, NodePort and VIP)
# while node1's agent is restarted 10 times (SIGTERM), killed with SIGKILL,
# upgraded to a build whose conntrack layout differs (make upgrade-variant)
# and back, and the EndpointSlice churns. Asserted at the end: every TCP connection
# still answers, from the same Pod and seen from the same client address
# (no flow moved, no SNAT port changed); UDP loss within $UDP_LOSS_MAX
# datagrams per stream (the programs never detach, so the design bound is
# 0; the allowance covers socket-buffer drops on a loaded machine, not a
# restart); and every conntrack entry of a live flow, as `xlbctl -j ct
# list` shows it, is still there with the same rewrite and backend after
# every restart. Coexistence: another tool's counting tc filter at
# priority 1 on the uplink stays through all of it (and --uninstall) and
# sees every packet before xlb; --attach xdp beside another XDP program
# held alone (outside libxdp's dispatcher) is refused with a message,
# leaving that program. See lib.sh for the
# topology (with P1b on node1).
#
#   bash selftests/e2e/test_restart_load.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

RESTARTS=${RESTARTS:-10}
AGENT_READY_S=30	# liveness only: the machine may be loaded
UDP_LOSS_MAX=${UDP_LOSS_MAX:-5}
P1E=10.1.1.2@node1 P1BE=10.1.1.3@node1 P2E=10.2.1.2@node2
CFG=$TMP/services.yaml
LG=$TMP/load
VIP_TCP=192.0.2.10 VIP_UL=192.0.2.11 VIP_UR=192.0.2.12

# gen_cfg [web endpoints...]: web (TCP, LB VIP + NodePort 30080) on the
# given endpoints; udpl (UDP, local P1 only) and udpr (UDP, remote P2 only),
# each with a VIP and a NodePort.
gen_cfg() {
	cfg_svc web LoadBalancer TCP 80 8080 30080 Cluster $VIP_TCP
	cfg_eps web TCP 8080 "$@"
	cfg_svc udpl LoadBalancer UDP 53 5353 30053 Cluster $VIP_UL
	cfg_eps udpl UDP 5353 $P1E
	cfg_svc udpr LoadBalancer UDP 53 5353 30054 Cluster $VIP_UR
	cfg_eps udpr UDP 5353 $P2E
}
write_cfg() { cat >"$CFG.new" && mv -f "$CFG.new" "$CFG"; }

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# ct_snapshot FILE: the conntrack entries of the client's flows (client
# 10.0.0.2 as source, or as the rewrite's destination for replies), one
# line each: kind proto tuple -> rewrite backend.
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

# ct_kept NAME: every entry of $TMP/ct0 is still in conntrack, unchanged,
# except the flows of ports listed in $TMP/ct_gone (a removed backend's).
ct_kept() {
	local missing
	ct_snapshot "$TMP/ct1" || { t_fail "$1" "xlbctl ct list failed"; return; }
	missing=$(comm -23 "$TMP/ct0" "$TMP/ct1" | grep -vFf "$TMP/ct_gone")
	if [ -z "$missing" ]; then
		t_pass "$1 ($(wc -l <"$TMP/ct0") entries of live flows)"
	else
		t_fail "$1" "$(wc -l <<<"$missing") entries gone or changed, e.g. $(head -3 <<<"$missing" | tr '\n' ';')"
	fi
}

progress() { cat "$LG/progress" 2>/dev/null || echo "? ?"; }

# restart_once NAME HOW [BUILD]: stop the running agent (SIGTERM or
# SIGKILL), start NAME (from BUILD's xlb-agent, default ours; xlbctl too);
# record the restart-to-ready time.
CUR=a0
READY_MS=()
restart_once() {
	local name=$1 how=$2 build=${3:-$BUILD} p t0 ms
	AGENT=$build/xlb-agent XLBCTL=$build/xlbctl
	p=${AGENT_PID[$CUR]:-}
	if [ -z "$p" ]; then
		:	# stopped already
	elif [ "$how" = KILL ]; then
		kill -KILL "$p"; wait "$p" 2>/dev/null; unset "AGENT_PID[$CUR]"
	else
		agent_stop "$CUR" || t_fail "$CUR exits on SIGTERM" "needed SIGKILL"
	fi
	t0=$(date +%s%N)
	agent_start "$name" "$N1" "$CFG" || t_abort "$name start" "$(tail -20 "$(agent_log "$name")")"
	ms=$(ms_since "$t0")
	READY_MS+=("$ms")
	CUR=$name
	note "$name ($how before it) ready in $ms ms; load: $(progress) (answers, broken)"
}

gen_cfg $P1E $P2E $P1BE | write_cfg
topo_up --p1b || t_abort topology "topo_up failed"
pod_server "$P1" P1 && pod_server "$P1B" P1b && pod_server "$P2" P2 ||
	t_abort servers "pod servers did not start"
neigh_warm
# Another tool's tc filter on the uplink, before xlb's (priority 1 < xlb's
# 0x786c): it counts every packet and hands it on. It must stay through
# every restart, upgrade and --uninstall, and see the packets xlb handles.
TCC=$BUILD/selftests/e2e/tc_count.bpf.o
nsx "$N1" tc qdisc add dev n1up clsact &&
	nsx "$N1" tc filter add dev n1up ingress prio 1 handle 1 bpf da obj "$TCC" sec tc ||
	t_abort "foreign tc filter" "could not install $TCC on n1up"
# foreign_count: packets the foreign filter has seen ("none": it is gone)
foreign_count() {
	local id mid
	id=$(nsx "$N1" tc -j filter show dev n1up ingress | "$PY" -c '
import json, sys
for f in json.load(sys.stdin):
    o = f.get("options", {})
    if f.get("pref") == 1 and "prog" in o: print(o["prog"]["id"]); break')
	[ -n "$id" ] || { echo none; return; }
	mid=$(bpftool prog show id "$id" -j | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["map_ids"][0])')
	bpftool map lookup id "$mid" key 0 0 0 0 -j | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("formatted", d)
v = d["value"]
print(v if isinstance(v, int) else int.from_bytes(bytes(int(b, 16) for b in v), "little"))'
}
t0=$(date +%s%N)
agent_start a0 "$N1" "$CFG" || t_abort "agent start" "$(tail -20 "$(agent_log a0)")"
note "first agent ready in $(ms_since "$t0") ms"

mkdir -p "$LG"
ip netns exec "$C" "$PY" "$E2E_DIR/loadgen.py" "$LG" \
	--tcp 10.0.0.1:30080:100 --tcp $VIP_TCP:80:100 \
	--udp 10.0.0.1:30053 --udp $VIP_UL:53 --udp 10.0.0.1:30054 --udp $VIP_UR:53 \
	--interval 1 --udp-rate 50 >"$LG/summary.json" 2>"$LG/err.log" &
LG_PID=$!
E2E_PIDS+=("$LG_PID")
for i in $(seq 1 600); do
	[ -f "$LG/ready" ] && break
	kill -0 "$LG_PID" 2>/dev/null || break
	sleep 0.1
done
[ "$(cat "$LG/ready" 2>/dev/null)" = 200 ] ||
	t_abort "200 TCP connections established" "ready=$(cat "$LG/ready" 2>/dev/null); $(tail -3 "$LG/err.log")"
t_pass "200 TCP connections established and answered, 4 UDP streams running"
FOREIGN0=$(foreign_count)
sleep 2		# every UDP stream has its conntrack entries
: >"$TMP/ct_gone"
ct_snapshot "$TMP/ct0"
n_ct=$(wc -l <"$TMP/ct0")
# 200 TCP and 4 UDP flows, two entries each
if [ "$n_ct" -ge 408 ]; then
	t_pass "conntrack holds both entries of every flow ($n_ct)"
else
	t_fail "conntrack holds both entries of every flow" "$n_ct entries, want >= 408"
fi

# --- restarts: 10 x SIGTERM, then SIGKILL
for i in $(seq 1 "$RESTARTS"); do
	restart_once "a$i" TERM
done
ct_kept "after $RESTARTS restarts: no conntrack entry of a live flow gone"
restart_once ak KILL
ct_kept "after SIGKILL and restart: no conntrack entry of a live flow gone"

# --- upgrade to a build whose conntrack value has another layout, and back
# (make upgrade-variant: XLB_TEST_CT_LAYOUT moves every field of xlb_ct)
UPG=$BUILD/ct-layout
[ -x "$UPG/xlb-agent" ] && [ -x "$UPG/xlbctl" ] ||
	t_abort "upgrade build" "$UPG/xlb-agent missing (make upgrade-variant)"
ct_pins() { (cd "$PIN" && ls -d xlb_ct xlb_ct_v* 2>/dev/null | tr '\n' ' '); }
pins_before=$(ct_pins)
restart_once au KILL "$UPG"
pins_after=$(ct_pins)
if [ "$pins_before" != "$pins_after" ] && [ "$(wc -w <<<"$pins_after")" = 1 ]; then
	t_pass "upgrade: conntrack pinned under the new layout's name, the old one removed after the swap ($pins_before-> $pins_after)"
else
	t_fail "upgrade: one conntrack pin of the new layout" "before: $pins_before, after: $pins_after"
fi
carried=$(grep -E "entries carried into ${pins_after% }" "$(agent_log au)" | head -1)
if [ -n "$carried" ]; then
	t_pass "upgrade: the new agent migrated conntrack ($(sed 's/.*: \([0-9]* entries\).*/\1/' <<<"$carried"))"
else
	t_fail "upgrade: the new agent migrated conntrack" "$(grep -iE 'migrat|carried|layout' "$(agent_log au)" | tail -3)"
fi
if out=$(timeout 10 "$BUILD/xlbctl" --pin-dir "$PIN" ct list 2>&1); then
	t_fail "xlbctl of the old build refuses the new layout's maps" "it printed: $(head -2 <<<"$out")"
elif grep -q "another layout" <<<"$out"; then
	t_pass "xlbctl of the old build refuses the new layout's maps with a hint"
else
	t_fail "xlbctl of the old build: a message naming the layout" "$out"
fi
ct_kept "after the upgrade (other conntrack layout): no conntrack entry of a live flow gone"
restart_once ad TERM "$BUILD"
ct_kept "after the downgrade (back to our layout): no conntrack entry of a live flow gone"
[ "$(ct_pins)" = "$pins_before" ] && t_pass "downgrade: back on the original pin ($pins_before)" ||
	t_fail "downgrade: back on the original pin" "$(ct_pins)"

# --- upgrade from a build before versioned names: while no agent runs, the
# pins get their unversioned names (what that build pinned); the next agent
# carries every map over, Maglev tables (map-in-map) and per-CPU counters
# included.
agent_stop "$CUR" || t_fail "$CUR exits on SIGTERM" "needed SIGKILL"
for f in "$PIN"/xlb_*_v????????; do mv "$f" "${f%_v????????}"; done
restart_once al TERM
left=$(cd "$PIN" && ls | grep -E '^xlb_' | grep -vE '_v[0-9a-f]{8}$' | tr '\n' ' ')
nmig=$(grep -c 'entries carried into' "$(agent_log al)")
if [ -z "$left" ] && [ "$nmig" -ge 10 ]; then
	t_pass "upgrade from unversioned pins: $nmig maps carried over, none left behind"
else
	t_fail "upgrade from unversioned pins" "left: ${left:-none}; carried: $nmig; $(grep -iE 'migrat|layout' "$(agent_log al)" | tail -3)"
fi
ct_kept "after the upgrade from unversioned pins: no conntrack entry of a live flow gone"

# --- endpoint churn: P1b leaves and comes back twice; the flows on P1
# and P2 stay. P1b's established flows keep their (terminating) backend
# too, but that is not what this asserts: only survivors are checked.
echo "10.1.1.3:" >"$TMP/ct_gone"
for round in 1 2; do
	n=$(agent_synced_count "$CUR")
	gen_cfg $P1E $P2E | write_cfg
	agent_wait_synced "$CUR" "$n" 30 || t_fail "churn $round: P1b removed, agent synced" "$(tail -3 "$(agent_log "$CUR")")"
	sleep 1
	n=$(agent_synced_count "$CUR")
	gen_cfg $P1E $P2E $P1BE | write_cfg
	agent_wait_synced "$CUR" "$n" 30 || t_fail "churn $round: P1b back, agent synced" "$(tail -3 "$(agent_log "$CUR")")"
	sleep 1
done
ct_kept "after endpoint churn: conntrack entries of flows on P1 and P2 kept"

# --- the verdict from the client's side
touch "$LG/stop"
wait "$LG_PID"
rc=$?
[ $rc = 0 ] && [ -s "$LG/summary.json" ] || t_abort "load generator summary" "exit $rc: $(tail -3 "$LG/err.log")"
"$PY" - "$LG/summary.json" "$UDP_LOSS_MAX" >"$LG/verdict" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
bound = int(sys.argv[2])
t = s["tcp"]
survivors = [b for b in t["broken"] if not (b["first"] or "").startswith("pod=P1b ")]
print("tcp kept %d of %d (answers %d, pods %s)" % (t["kept"], t["total"], t["answers"],
      " ".join("%s=%d" % kv for kv in sorted(t["pods"].items()))))
print("tcp_broken_on_survivors %d %s" % (len(survivors), json.dumps(survivors[:3])))
print("tcp_broken_on_p1b %d" % (len(t["broken"]) - len(survivors)))
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
if grep -q '^tcp_broken_on_survivors 0 ' "$LG/verdict" && grep -q '^tcp_pods 2' "$LG/verdict"; then
	t_pass "every TCP connection on P1 and P2 survived and still exchanges data, same Pod, same client address ($(grep '^tcp kept' "$LG/verdict"))"
else
	t_fail "every TCP connection on P1 and P2 survived" "$(grep '^tcp' "$LG/verdict" | tr '\n' ';')"
fi
if grep -q '^tcp_broken_on_p1b 0$' "$LG/verdict"; then
	t_pass "TCP connections on P1b (removed twice, back) finished on their terminating backend too"
else
	note "P1b's connections: $(grep '^tcp_broken_on_p1b' "$LG/verdict") (not asserted: a removed backend)"
fi
if ! grep -q '^udp_ok 0' "$LG/verdict" && [ "$(grep -c '^udp_ok 1' "$LG/verdict")" = 4 ]; then
	t_pass "UDP: 4 streams, at most $UDP_LOSS_MAX lost each (worst $(awk '/^udp_worst/ { print $2 }' "$LG/verdict")), one Pod and one client address per stream"
else
	t_fail "UDP loss within $UDP_LOSS_MAX per stream, one Pod per stream" "$(grep '^udp ' "$LG/verdict" | tr '\n' ';')"
fi
foreign=$(foreign_count)
answers=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["tcp"]["answers"])' "$LG/summary.json")
if [ "$foreign" != none ] && [ "$FOREIGN0" != none ] && [ $((foreign - FOREIGN0)) -ge "$answers" ]; then
	t_pass "foreign tc filter (prio 1) stayed through every restart and upgrade and ran before xlb: $((foreign - FOREIGN0)) packets for $answers answers"
else
	t_fail "foreign tc filter stayed and ran before xlb" "count $FOREIGN0 -> $foreign, $answers answers"
fi
max=0 sum=0
for ms in "${READY_MS[@]}"; do sum=$((sum + ms)); [ "$ms" -gt "$max" ] && max=$ms; done
note "restart-to-ready: mean $((sum / ${#READY_MS[@]})) ms, max $max ms over ${#READY_MS[@]} restarts"
agent_stop "$CUR"
agent_uninstall >/dev/null 2>&1
if [ "$(foreign_count)" != none ] && [ -z "$(tc_prog "$N1" n1up ingress | grep xlb)" ]; then
	t_pass "--uninstall removed xlb's tc filters and left the foreign one"
else
	t_fail "--uninstall: only xlb's filters removed" "$(nsx "$N1" tc filter show dev n1up ingress | tr '\n' ' ')"
fi
# --- XDP: another tool's program alone in the uplink's hook (ip link, not
# libxdp's dispatcher): --attach xdp must say so and leave that program
# alone (test_xdp_share.sh: sharing through the dispatcher).
XC=$BUILD/selftests/e2e/xdp_count.bpf.o
if nsx "$N1" ip link set dev n1up xdpdrv obj "$XC" sec xdp; then
	AGENT_IFACES=n1up agent_start ax "$N1" "$CFG" --attach xdp 2>/dev/null && agent_stop ax
	if grep -q "xdp_count already runs there" "$(agent_log ax)" &&
	   ip -n "$N1" -d link show dev n1up | grep -q 'name xdp_count'; then
		t_pass "--attach xdp on an interface with another XDP program held alone: refused with a hint, the program stays ($(grep -o 'xlb shares the XDP hook only through[^:]*' "$(agent_log ax)"))"
	else
		t_fail "--attach xdp beside another XDP program: refused, that program stays" "$(tail -3 "$(agent_log ax)")"
	fi
else
	t_fail "foreign XDP program" "could not attach $XC to n1up"
fi
note "done in $(elapsed)"
t_summary

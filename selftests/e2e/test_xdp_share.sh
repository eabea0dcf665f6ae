#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# XDP that shares the hook. Another tool's program (xdp_count.bpf.c, which
# counts every frame and passes it) is installed on node1's uplink with
# xdp-loader at priority 10; xlb attaches its entry (bpf/xlb_entry.bpf.c)
# in native XDP mode (--attach xdp on the veth uplinks, as the other
# native-XDP checks do) and serves NodePort traffic to a local and a
# remote Pod under load: 50 long-lived TCP connections and a UDP stream,
# through 3 restarts, a SIGKILL, an upgrade to a build with another
# conntrack layout (make upgrade-variant) and back, and a start over an
# earlier build's xlb_xdp attached directly. Asserted: every restart only
# swaps the entry's slot (the hook's program ids stay), no frame ever finds
# the slot empty (the entry's miss counter stays 0), every connection
# survives on its Pod, UDP loss within $UDP_LOSS_MAX; --uninstall removes
# xlb's entry and its slot pin only.
#
# With libxdp's dispatcher (a kernel that loads freplace programs, a
# bpffs for libxdp's state: LIBXDP_BPFFS, the test's private one), the
# counting program runs first in the same dispatcher, sees every packet
# xlb answers, and stays through all of it and --uninstall. Where the
# dispatcher cannot be used, xlb refuses to attach beside the counter
# (held alone by the kernel), says why, and then runs alone: the
# coexistence checks are skipped, naming the reason xlb logged.
#
#   bash selftests/e2e/test_xdp_share.sh BUILD_DIR
set -u
source "$(dirname "$0")/lib.sh" "$@"
require_root
require_build

UDP_LOSS_MAX=${UDP_LOSS_MAX:-5}
AGENT_READY_S=30	# liveness only: the machine may be loaded
P1E=10.1.1.2@node1 P2E=10.2.1.2@node2
CFG=$TMP/services.yaml
LG=$TMP/load
XC=$BUILD/selftests/e2e/xdp_count.bpf.o
UPG=$BUILD/ct-layout
command -v xdp-loader >/dev/null || t_abort setup "xdp-loader missing (Debian xdp-tools; make deps)"
[ -x "$UPG/xlb-agent" ] || t_abort "upgrade build" "$UPG/xlb-agent missing (make upgrade-variant)"

cfg_svc web NodePort TCP 80 8080 30080 Cluster >"$CFG.new"
cfg_eps web TCP 8080 $P1E $P2E >>"$CFG.new"
cfg_svc udpr NodePort UDP 53 5353 30054 Cluster >>"$CFG.new"
cfg_eps udpr UDP 5353 $P2E >>"$CFG.new"
mv -f "$CFG.new" "$CFG"
topo_up || t_abort topology "topo_up failed"
pod_server "$P1" P1 && pod_server "$P2" P2 || t_abort servers "pod servers did not start"
neigh_warm
# libxdp's state (dispatcher links, lock) on the test's private bpffs,
# for xdp-loader and the agent alike (ip netns exec hides /sys/fs/bpf).
export LIBXDP_BPFFS=$TMP/bpf
mkdir -p "$TMP/bpf/xc"

# hook NS DEV: "NAME ID" of the program in DEV's XDP hook (the dispatcher
# or a program alone), "none" without one.
hook() {
	ip -n "$1" -d -j link show dev "$2" | "$PY" -c '
import json, sys
x = json.load(sys.stdin)[0].get("xdp", {})
p = x.get("prog") or next((a.get("prog") for a in x.get("attached", []) if a.get("prog")), None)
print("%s %s" % (p["name"], p["id"]) if p else "none")'
}
# prog_ids NAME: ids of loaded programs named NAME
prog_ids() {
	bpftool prog show name "$1" -j 2>/dev/null | "$PY" -c '
import json, sys
t = sys.stdin.read().strip()
print(" ".join(str(p["id"]) for p in (json.loads(t) if t else [])))'
}
# map_count PROG_NAME MAP_NAME: key 0 of MAP_NAME summed over the loaded
# programs named PROG_NAME (one entry per interface), "none" without one.
map_count() {
	local pid mid sum="" v
	for pid in $(prog_ids "$1"); do
		mid=$(bpftool prog show id "$pid" -j | "$PY" -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin).get("map_ids", []))))')
		for m in $mid; do
			bpftool map show id "$m" -j | grep -q "\"name\":\"$2\"" || continue
			v=$(bpftool map lookup id "$m" key 0 0 0 0 -j | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("formatted", d)
v = d["value"]
print(v if isinstance(v, int) else int.from_bytes(bytes(int(b, 16) for b in v), "little"))')
			sum=$(( ${sum:-0} + v ))
		done
	done
	echo "${sum:-none}"
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- another tool's program first, through libxdp
nsx "$N1" xdp-loader load -m native -P 10 -p "$TMP/bpf/xc" n1up "$XC" ||
	t_abort "xdp-loader" "could not load $XC on n1up"
if [ "$(hook "$N1" n1up | awk '{ print $1 }')" = xdp_dispatcher ]; then
	DISPATCHER=1
	t_pass "xdp-loader put xdp_count (priority 10) in libxdp's dispatcher on n1up"
else
	DISPATCHER=0
	note "xdp-loader attached xdp_count alone: libxdp's dispatcher is not usable here ($(hook "$N1" n1up))"
	AGENT_IFACES=n1up agent_start ax "$N1" "$CFG" --attach xdp >/dev/null 2>&1 && agent_stop ax
	if grep -q "xdp_count already runs there alone" "$(agent_log ax)" &&
	   [ "$(hook "$N1" n1up | awk '{ print $1 }')" = xdp_count ]; then
		t_pass "--attach xdp beside a program held alone (outside the dispatcher): refused with the way out, xdp_count stays"
	else
		t_fail "--attach xdp beside a program held alone: refused, that program stays" "$(grep -i xdp "$(agent_log ax)" | tail -2)"
	fi
	nsx "$N1" xdp-loader unload n1up --all || t_abort "xdp-loader" "could not unload xdp_count"
fi

# --- xlb in native XDP on both uplinks
t0=$(date +%s%N)
agent_start a0 "$N1" "$CFG" --attach xdp || t_abort "agent start" "$(tail -20 "$(agent_log a0)")"
note "agent ready in $(ms_since "$t0") ms"
if [ $DISPATCHER = 1 ]; then
	if grep -q "attached XDP to n1up: xlb's entry in libxdp's dispatcher at priority 100" "$(agent_log a0)" &&
	   nsx "$N1" xdp-loader status n1up | grep -q xlb_xdp_entry; then
		t_pass "xlb's entry joined the dispatcher at priority 100, beside xdp_count (10)"
	else
		t_fail "xlb's entry in the dispatcher beside xdp_count" "$(grep -i 'XDP' "$(agent_log a0)" | tail -2)"
	fi
else
	why=$(grep -o "single-program mode, not through libxdp's dispatcher: [^;]*" "$(agent_log a0)" | head -1)
	if [ -n "$why" ] && [ "$(hook "$N1" n1up | awk '{ print $1 }')" = xlb_xdp_entry ]; then
		t_pass "no dispatcher: xlb's entry attached alone and says why ($why)"
	else
		t_fail "no dispatcher: the entry attached alone, with the reason" "$(grep -i 'XDP' "$(agent_log a0)" | tail -2)"
	fi
	t_skip "another libxdp program runs first in the same dispatcher, sees every packet, stays through restarts and --uninstall" \
		"libxdp's dispatcher is not usable on this machine: ${why#*dispatcher: }"
fi
HOOK0="$(hook "$N1" n1up) / $(hook "$N1" n1n2)"
ENTRY0=$(prog_ids xlb_xdp_entry)

mkdir -p "$LG"
ip netns exec "$C" "$PY" "$E2E_DIR/loadgen.py" "$LG" --tcp 10.0.0.1:30080:50 \
	--udp 10.0.0.1:30054 --interval 1 --udp-rate 50 >"$LG/summary.json" 2>"$LG/err.log" &
LG_PID=$!
E2E_PIDS+=("$LG_PID")
for i in $(seq 1 600); do
	[ -f "$LG/ready" ] && break
	kill -0 "$LG_PID" 2>/dev/null || break
	sleep 0.1
done
[ "$(cat "$LG/ready" 2>/dev/null)" = 50 ] ||
	t_abort "50 TCP connections established" "ready=$(cat "$LG/ready" 2>/dev/null); $(tail -3 "$LG/err.log")"
t_pass "50 TCP connections through NodePort 30080 answered over XDP, a UDP stream to the remote Pod running"
[ $DISPATCHER = 1 ] && FOREIGN0=$(map_count xdp_count xdp_count_pkts)
FWD_TC0=$(reason_count fwd_tc)

# --- restarts and an upgrade: only the slot changes
CUR=a0
restart() {
	local name=$1 how=$2 build=${3:-$BUILD} p=${AGENT_PID[$CUR]:-} t0
	AGENT=$build/xlb-agent XLBCTL=$build/xlbctl
	if [ "$how" = KILL ] && [ -n "$p" ]; then
		kill -KILL "$p"; wait "$p" 2>/dev/null; unset "AGENT_PID[$CUR]"
	else
		agent_stop "$CUR" || t_fail "$CUR exits on SIGTERM" "needed SIGKILL"
	fi
	t0=$(date +%s%N)
	agent_start "$name" "$N1" "$CFG" --attach xdp || t_abort "$name start" "$(tail -20 "$(agent_log "$name")")"
	note "$name ($how before it) ready in $(ms_since "$t0") ms; load: $(cat "$LG/progress" 2>/dev/null)"
	CUR=$name
	if [ "$(grep -c "swapped xlb_xdp into the running entry's slot" "$(agent_log "$name")")" = 2 ] &&
	   [ "$(hook "$N1" n1up) / $(hook "$N1" n1n2)" = "$HOOK0" ]; then
		t_pass "$name: xlb_xdp swapped into the running entries' slot, hook untouched ($HOOK0)"
	else
		t_fail "$name: only the slot swapped" "hooks $(hook "$N1" n1up) / $(hook "$N1" n1n2), were $HOOK0; $(grep -i 'XDP' "$(agent_log "$name")" | tail -2)"
	fi
}
restart a1 TERM
restart a2 TERM
restart a3 TERM
restart ak KILL
restart au TERM "$UPG"
restart ad TERM "$BUILD"

# --- from an earlier build that attached xlb_xdp directly: swapped in
# place (ip -force: one netlink replace) while no agent runs, then the new
# agent puts its entry back in one step.
if [ $DISPATCHER = 0 ]; then
	agent_stop "$CUR" || t_fail "$CUR exits on SIGTERM" "needed SIGKILL"
	if nsx "$N1" ip -force link set dev n1up xdpdrv pinned "$PIN/prog_xdp"; then
		agent_start al "$N1" "$CFG" --attach xdp || t_abort "al start" "$(tail -20 "$(agent_log al)")"
		CUR=al
		if grep -q "replaced an earlier build's xlb_xdp on n1up with xlb's entry in one step" "$(agent_log al)" &&
		   [ "$(hook "$N1" n1up | awk '{ print $1 }')" = xlb_xdp_entry ]; then
			t_pass "over an earlier build's xlb_xdp: the entry replaced it in one step"
		else
			t_fail "over an earlier build's xlb_xdp: replaced by the entry" "$(hook "$N1" n1up); $(grep -i 'XDP' "$(agent_log al)" | tail -2)"
		fi
	else
		t_fail "attach xlb_xdp directly (an earlier build's way)" "ip link set xdpdrv pinned failed"
	fi
else
	t_skip "over an earlier build's xlb_xdp" "only without a dispatcher (a dispatcher holds the hook)"
fi

# fwd_tc: XDP's hand-off to tc of what it cannot send itself (remote
# packets on a veth); only xlb_xdp counts it, so it ran behind the entry.
fwd_tc=$(reason_count fwd_tc)
if [[ "$FWD_TC0" =~ ^[0-9]+$ ]] && [[ "$fwd_tc" =~ ^[0-9]+$ ]] && [ "$fwd_tc" -gt "$FWD_TC0" ]; then
	t_pass "xlb_xdp ran behind the entry: fwd_tc (XDP's hand-off to tc) $FWD_TC0 -> $fwd_tc"
else
	t_fail "xlb_xdp ran behind the entry" "fwd_tc $FWD_TC0 -> $fwd_tc"
fi
miss=$(map_count xlb_xdp_entry xlb_entry_miss)
if [ "$miss" = 0 ]; then
	t_pass "no frame found the entry's slot empty through every restart and the upgrade (miss counter 0)"
else
	t_fail "the entry's slot never empty" "miss counter: $miss"
fi

# --- the verdict from the client's side
touch "$LG/stop"
wait "$LG_PID"
rc=$?
[ $rc = 0 ] && [ -s "$LG/summary.json" ] || t_abort "load generator summary" "exit $rc: $(tail -3 "$LG/err.log")"
verdict=$("$PY" - "$LG/summary.json" "$UDP_LOSS_MAX" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
t = s["tcp"]
u = s["udp"][0]
ok = not t["broken"] and t["kept"] == t["total"] and len([p for p in ("P1", "P2") if t["pods"].get(p)]) == 2
print("tcp %d kept of %d (answers %d, pods %s) broken %d; udp sent %d lost %d pods %s: %s %s %d" % (
      t["kept"], t["total"], t["answers"],
      " ".join("%s=%d" % kv for kv in sorted(t["pods"].items())), len(t["broken"]),
      u["sent"], u["lost"], ",".join(u["pods"]),
      "TCPOK" if ok else "TCPBAD",
      "UDPOK" if u["lost"] <= int(sys.argv[2]) and len(u["pods"]) == 1 and u["sent"] else "UDPBAD",
      t["answers"]))
EOF
)
note "$verdict"
grep -q TCPOK <<<"$verdict" && t_pass "every TCP connection survived on its Pod (${verdict%%;*})" ||
	t_fail "every TCP connection survived" "$verdict"
grep -q UDPOK <<<"$verdict" && t_pass "UDP to the remote Pod: loss within $UDP_LOSS_MAX (${verdict#*; })" ||
	t_fail "UDP loss within $UDP_LOSS_MAX" "$verdict"
if [ $DISPATCHER = 1 ]; then
	foreign=$(map_count xdp_count xdp_count_pkts)
	answers=${verdict##* }
	if [ "$foreign" != none ] && [ $((foreign - FOREIGN0)) -ge "$answers" ]; then
		t_pass "xdp_count ran before xlb on every packet: $((foreign - FOREIGN0)) frames for $answers answers"
	else
		t_fail "xdp_count ran before xlb" "count $FOREIGN0 -> $foreign, $answers answers"
	fi
fi

# --- --uninstall: xlb's entry and slot pin go, nothing else
agent_stop "$CUR" || t_fail "$CUR exits on SIGTERM" "needed SIGKILL"
agent_uninstall >/dev/null 2>&1
left=$(prog_ids xlb_xdp_entry)
if [ $DISPATCHER = 1 ]; then
	if [ -z "$left" ] && nsx "$N1" xdp-loader status n1up | grep -q xdp_count && [ ! -e "$PIN/xdp_slot" ]; then
		t_pass "--uninstall removed xlb's entry and slot, xdp_count stays in the dispatcher"
	else
		t_fail "--uninstall: only xlb's entry removed" "entries left: '$left'; $(nsx "$N1" xdp-loader status n1up | tail -3 | tr '\n' ' ')"
	fi
else
	if [ -z "$left" ] && [ "$(hook "$N1" n1up)" = none ] && [ ! -e "$PIN/xdp_slot" ]; then
		t_pass "--uninstall removed xlb's entry (hook free) and its slot pin"
	else
		t_fail "--uninstall removed the entry and the slot pin" "entries left: '$left', hook $(hook "$N1" n1up), slot $(ls "$PIN" 2>/dev/null | tr '\n' ' ')"
	fi
fi
note "entries at start: $ENTRY0; done in $(elapsed)"
t_summary

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# make bench: run every benchmark, print the table, write
# bench/results/<timestamp>.json (+ latest.json) and regenerate BENCHMARKS.md.
#
#   bench/run.sh BUILD_DIR          (BENCH_QUICK=1: fewer runs, smaller sizes)
#   BENCH_ONLY="pkt maglev cp fwd conn snat"  run only these sections
#
# Benchmarks never fail the build for being slow: a section that fails is
# reported as missing and the script still writes what it has.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-pkt maglev cp fwd conn snat}
TS=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$(mktemp -d /tmp/xlb-bench.XXXXXX)
T_START=$(date +%s)

cleanup() {
	trap - EXIT INT TERM
	[ -n "${KEEP_WORK:-}" ] && { echo "bench: kept $WORK" >&2; return; }
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (BPF_PROG_TEST_RUN, network namespaces)" >&2
	exit 1
fi

: >"$WORK/commands.txt"
section() {	# NAME TIMEOUT CMD...: run one section, bounded, logging its command
	local name=$1 tmo=$2 t0 rc; shift 2
	case " $ONLY " in *" $name "*) ;; *) return 0 ;; esac
	echo "bench: == $name" >&2
	printf '%s\t%s\n' "$name" "$*" >>"$WORK/commands.txt"
	t0=$(date +%s)
	timeout -k 10 "$tmo" "$@" 2> >(tee "$WORK/$name.log" >&2)
	rc=$?
	echo "$name $rc $(( $(date +%s) - t0 ))" >>"$WORK/sections.txt"
	[ $rc = 0 ] || echo "bench: section $name failed (rc $rc)" >&2
}

QFLAG=
[ "$QUICK" = 1 ] && QFLAG=-q
section pkt 600 "$BUILD/bench/pktbench" $QFLAG -d "$BUILD/bench" -o "$WORK/pkt.json"
section maglev 120 "$BUILD/bench/maglevbench" $QFLAG -o "$WORK/maglev.json"
section cp 900 "$ROOT/bench/cp.sh" "$BUILD" "$WORK/cp.json" "$WORK"
section fwd 1800 "$ROOT/bench/fwd.sh" "$BUILD" "$WORK/fwd.json" "$WORK"
section conn 300 "$ROOT/bench/conn.sh" "$BUILD" "$WORK/conn.json" "$WORK"
section snat 600 "$ROOT/bench/snat.sh" "$BUILD" "$WORK/snat.json" "$WORK"

mkdir -p "$ROOT/bench/results"
python3 "$ROOT/bench/report.py" --work "$WORK" --quick "$QUICK" --ts "$TS" \
	--elapsed $(( $(date +%s) - T_START )) \
	--json "$ROOT/bench/results/$TS.json" --md "$ROOT/BENCHMARKS.md"
cp "$ROOT/bench/results/$TS.json" "$ROOT/bench/results/latest.json"
echo "bench: wrote bench/results/$TS.json, bench/results/latest.json, BENCHMARKS.md" \
	"($(( $(date +%s) - T_START )) s)" >&2
exit 0

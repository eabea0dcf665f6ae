#!/bin/bash
# Run every test binary and end-to-end script; add up their closing
# "N passed, N failed, N skipped" lines into one. Exits non-zero on any
# failure, including a test program that dies without its closing line.
#   selftests/run.sh BUILD_DIR [-t FILTER]   (FILTER is passed to each binary)
set -u
build=${1:-build}
shift || true
cd "$(dirname "$0")/.." || exit 2

passed=0 failed=0 skipped=0
run_one() {
	local name=$1; shift
	local out rc line
	echo "== $name"
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL $name: exited $rc without a result line"
		failed=$((failed + 1))
		return
	fi
	local p f s
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited $rc"
		failed=$((failed + 1))
	fi
}

for t in "$build"/selftests/unit/test_* "$build"/selftests/bpf/test_*; do
	[ -x "$t" ] && [ "${t%.d}" = "$t" ] || continue
	run_one "$(basename "$t")" "$t" "$@"
done
for t in selftests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t")" bash "$t" "$build"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

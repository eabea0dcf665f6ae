#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Connection setup through the NodePort: wrk in the client namespace (CPU 1,
# one thread, CONNS connections, `Connection: close`, so every request is a
# new TCP connection) against nginx-light in the Pod (one worker, CPU 0;
# returns a 3-byte body), through
#   xlb       the real agent, N TCP NodePort Services (bench/svcgen.py), target
#             Service N/2 with the Pod as its local endpoint
#   iptables  kube-proxy's iptables rules (iptables-restore)
#   nft       kube-proxy's nftables rules (nft -f)
#   direct    to the Pod's address, the node only routing (no rules)
# at N = 1 and 10000 Services (1 and 1000 with BENCH_QUICK=1), each in fresh
# namespaces (bench/nslib.sh). Requests/s and latency p50/p99 as wrk reports
# them (median [min–max] of RUNS runs of SECONDS each).
#
#   bench/conn.sh BUILD OUT.json WORKDIR
set -u
BUILD=$1 OUT=$2 WORK=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${BENCH_QUICK:-0}
SCALES=${BENCH_CONN_SCALES:-1 10000}
RUNS=5 SECS=2 CONNS=${BENCH_CONN_CONNS:-16}
[ "$QUICK" = 1 ] && { SCALES=${BENCH_CONN_SCALES:-1 1000}; SECS=1; }
CONTENDERS=${BENCH_CONN_CONTENDERS:-direct xlb iptables nft}
BENCH_PKGS="nginx-light wrk"
PFX="xc$$"
RAW=$WORK/conn-raw.txt
: >"$RAW"

# shellcheck source=bench/nslib.sh
. "$ROOT/bench/nslib.sh"
trap 'nsl_cleanup; trap - EXIT' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
log() { echo "conn: $*" >&2; }

# shellcheck disable=SC2086
"$ROOT/scripts/deps.sh" $BENCH_PKGS || { log "needs $BENCH_PKGS"; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

nginx_up() {	# in $P, on CPU 0
	local d=$WORK/nginx-$1 i
	mkdir -p "$d/tmp"
	cat >"$d/nginx.conf" <<-EOF
	worker_processes 1;
	daemon off;
	pid $d/nginx.pid;
	error_log $d/error.log warn;
	events { worker_connections 4096; }
	http {
	    access_log off;
	    client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
	    uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
	    server {
	        listen 8080 backlog=4096;
	        location / { return 200 "ok\n"; }
	    }
	}
	EOF
	ip netns exec "$P" taskset -c 0 "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" \
		>"$d/out.log" 2>&1 &
	NSL_PIDS+=($!)
	for i in $(seq 1 50); do
		nsx "$P" ss -ltn 2>/dev/null | grep -q ':8080 ' && return 0
		sleep 0.1
	done
	log "nginx did not start: $(cat "$d/error.log" "$d/out.log" 2>/dev/null | tail -3)"
	return 1
}

measure() {
	local name=$1 n=$2 url r out
	nsl_cleanup
	topo_up "${name:0:3}$n" || { log "topology failed"; return 1; }
	if ! contender_up "$name" "$n" tcp; then log "$name at $n Services: setup failed"; return 1; fi
	nginx_up "$name$n" || return 1
	if [ "$name" = direct ]; then url=http://$POD_IP:8080/
	else url=http://$NODE_IP:$(( 30000 + NP_TARGET ))/; fi
	# one short warm-up (ARP, conntrack, caches), then the runs
	taskset -c 1 ip netns exec "$C" wrk -t1 -c"$CONNS" -d1s -H 'Connection: close' "$url" >/dev/null 2>&1
	for r in $(seq 1 "$RUNS"); do
		out=$(taskset -c 1 timeout 30 ip netns exec "$C" wrk -t1 -c"$CONNS" -d"${SECS}s" --latency \
			-H 'Connection: close' "$url" 2>&1)
		printf '%s\n' "$out" >"$WORK/conn-$name-$n-$r.txt"
		echo "$name $n $r $(printf '%s\n' "$out" | awk '
			function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000;
			                 if (v ~ /m$/) return v * 60e6; if (v ~ /s$/) return v * 1e6; return v }
			/Requests\/sec:/ { rps = $2 }
			$1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) }
			/requests in/ { reqs = $1 }
			/Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
			/Non-2xx/ { err += $NF }
			END { printf "%s %s %s %s %d", rps ? rps : 0, p50 ? p50 : 0, p99 ? p99 : 0, reqs ? reqs : 0, err }')" >>"$RAW"
	done
	log "$name $n Services: $(tail -n "$RUNS" "$RAW" | awk '{ printf "%.0f req/s p50 %.0fus p99 %.0fus err %d; ", $4, $5, $6, $8 }')"
	nsl_cleanup
}

for n in $SCALES; do
	for c in $CONTENDERS; do
		[ "$c" = direct ] && [ "$n" != "${SCALES%% *}" ] && continue	# no Services on that path
		measure "$c" "$n" || log "$c at $n Services failed"
	done
done

python3 - "$RAW" "$OUT" "$RUNS" "$SECS" "$CONNS" "$(wrk --version 2>&1 | head -1)" \
	"$($NGINX -v 2>&1)" <<'EOF'
import json, statistics, sys
raw, out, runs, secs, conns, wv, nv = sys.argv[1:8]
cells = {}
for line in open(raw):
    f = line.split()
    cells.setdefault((f[0], int(f[1])), []).append(
        {"rps": float(f[3]), "p50_us": float(f[4]), "p99_us": float(f[5]), "requests": int(f[6]), "errors": int(f[7])})
def st(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)} if xs else None
res = []
for (c, n), v in cells.items():
    ok = [r for r in v if r["rps"] > 0]
    res.append({"contender": c, "services": 0 if c == "direct" else n, "rps": st([r["rps"] for r in ok]),
                "p50_us": st([r["p50_us"] for r in ok]), "p99_us": st([r["p99_us"] for r in ok]),
                "errors": sum(r["errors"] for r in v), "requests": sum(r["requests"] for r in v)})
json.dump({"runs": int(runs), "seconds": float(secs), "connections": int(conns), "wrk": wv.strip(),
           "server": nv.strip(), "target": "Service N/2", "results": res}, open(out, "w"), indent=1)
EOF

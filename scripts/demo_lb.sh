#!/bin/bash
# The LoadBalancer part of `make demo`: a client and two nodes on one
# Linux bridge (an L2 segment); node1's agent reads examples/pool.yaml, gives
# the LoadBalancer Service "shop" an address from the pool, answers the
# client's ARP for it from the datapath, and the client reaches the Service
# through it.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../selftests/e2e/lib.sh
source "$ROOT/selftests/e2e/lib.sh" "$BUILD"
require_root
require_build

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "L2 segment: client 10.50.0.2, node1 10.50.0.11 (xlb), node2 10.50.0.12 on one bridge; Pod P1 10.1.1.2 on node1"
l2_topo_up || { echo "demo: could not build the L2 topology" >&2; exit 1; }
pod_server "$P1" P1 || { echo "demo: Pod server did not start" >&2; exit 1; }

say "xlb-agent --iface ul0 --config examples/pool.yaml --node-name node1 (pool lan 10.50.0.200-209, Service shop without an address)"
l2_agent_start demo "$N1" node1 --config "$ROOT/examples/pool.yaml" ||
	{ echo "demo: the agent did not start" >&2; exit 1; }
grep -E "IPAllocated|AllocationFailed|announce" "$(agent_log demo)" | sed -e "s/^/  /"
VIP=$(timeout 10 "$XLBCTL" --pin-dir "$TMP/bpf/demo" -j vip list |
	"$PY" -c 'import json,sys; print([r["address"] for r in json.load(sys.stdin) if r["service"] == "default/shop"][0])')

say "xlbctl vip list"
"$XLBCTL" --pin-dir "$TMP/bpf/demo" vip list | sed -e 's/^/  /'

say "the client asks who has $VIP (ARP): node1's MAC is $(ip netns exec "$N1" cat /sys/class/net/ul0/address)"
arp_probe "$VIP" 0.5 | sed -e 's/^/  /'

say "4 connections from the client to http://$VIP/"
for i in 1 2 3 4; do
	printf '  request %d: %s\n' "$i" "$(http_get "$VIP" 80 3 2>&1 | head -1)"
done
say "the client's neighbour table"
ip -n "$C" neigh show "$VIP" | sed -e 's/^/  /'
say "cleaning up (namespaces, agent, pins)"

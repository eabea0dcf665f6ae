#!/bin/bash
# make demo: xlb on one throwaway node, end to end, in a minute.
#
# Builds a small namespace topology (a client, node1 running xlb-agent with
# one local Pod, node2 with a second Pod), starts the agent with
# examples/nodeport.yaml (Service "web": port 80 -> targetPort 8080,
# nodePort 30080, one endpoint on each node), sends requests from the
# client to 10.0.0.1:30080, shows which Pod answered and which client
# address it saw, prints what xlbctl reads from the kernel's maps, and
# removes everything again. Then scripts/demo_lb.sh: a LoadBalancer
# Service gets its address from a pool (examples/pool.yaml) and is reached
# through it on an L2 segment.
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../selftests/e2e/lib.sh
source "$ROOT/selftests/e2e/lib.sh" "$BUILD"
require_root
require_build

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "topology: client 10.0.0.2 -> node1 10.0.0.1 (xlb) -> Pod P1 10.1.1.2 (node1) / Pod P2 10.2.1.2 (node2)"
topo_up || { echo "demo: could not build the topology" >&2; exit 1; }
pod_server "$P1" P1 && pod_server "$P2" P2 || { echo "demo: Pod servers did not start" >&2; exit 1; }

say "xlb-agent --iface n1up --iface n1n2 --config examples/nodeport.yaml --node-name node1"
agent_start demo "$N1" "$ROOT/examples/nodeport.yaml" ||
	{ echo "demo: the agent did not start" >&2; exit 1; }
grep -v "libxdp\|libbpf" "$(agent_log demo)" | sed -e "s/^/  /"

say "8 new connections from the client to the NodePort 10.0.0.1:30080"
for i in $(seq 1 8); do
	printf '  request %d: %s\n' "$i" "$(http_get 10.0.0.1 30080 3 2>&1 | head -1)"
done
cat <<'TXT'

  P1 is on node1: xlb only rewrote the destination, so P1 sees the real
  client 10.0.0.2. P2 is on node2: xlb also rewrote the source to node1's
  address 10.0.1.1 (SNAT) so the reply comes back through node1, where the
  datapath translates it back (tc here: node1's uplinks are veths). Maglev spreads new connections over both Pods.
TXT

say "xlbctl service list"
"$XLBCTL" --pin-dir "$PIN" service list | sed -e 's/^/  /'
say "xlbctl ct list (conntrack: forward and reply entries of each flow)"
"$XLBCTL" --pin-dir "$PIN" ct list | head -20 | sed -e 's/^/  /'
say "xlbctl stats (every verdict has a named reason)"
"$XLBCTL" --pin-dir "$PIN" stats | awk 'NR == 1 || $2 != 0' | sed -e 's/^/  /'

say "cleaning up (namespaces, agent, pins)"
agent_stop demo
# Part two: a LoadBalancer Service that gets its address from a pool.
"$ROOT/scripts/demo_lb.sh" "$BUILD"

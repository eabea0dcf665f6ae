// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlb-agent: Services from a file or the Kubernetes API server into the
 * datapath.
 *
 *   file --inotify/SIGHUP--> parse --> object cache --> translate --> sync --> maps
 *   API server --list/watch (reflector threads)--> object cache --+
 *                                                 (batched, ~50 ms)
 *
 * Both modes serve kube-proxy's health endpoints: /healthz and /livez on
 * --healthz-bind-address and one server per healthCheckNodePort.
 *
 * SIGTERM/SIGINT leave the programs attached and the maps pinned: traffic
 * keeps flowing while no agent runs, and the next agent adopts the maps
 * (conntrack, SNAT bindings, service ids) and swaps in its programs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include "lb/announce.h"
#include "attach.h"
#include <cjson/cJSON.h>
#include "lb/bgp.h"
#include "datapath.h"
#include "serve/health.h"
#include "lb/ipam.h"
#include "lb/lbctl.h"
#include "lb/lease.h"
#include "k8s/cache.h"
#include "source/kube.h"
#include "kube/client.h"
#include "log.h"
#include "maglev.h"
#include "ports.h"
#include "serve/metrics.h"
#include "sync.h"
#include "translate.h"

#define MAX_IFACES 16
#define MAX_NP_CIDRS 16
/* After a change arrives, wait this long for more before syncing. */
#define BATCH_MS 50
/* Idle this long: list Pod veths again; file mode also re-reads the
 * node's addresses and retries a failed sync. */
#define XLB_IDLE_MS 10000
/* Leader: retry failed status writes this often. */
#define LB_RETRY_MS 5000
/* How long start-up waits for the first LIST before attaching anyway. */
#define INITIAL_SYNC_MS 8000
/*
 * Map capacities for 10,000 Services x 3 ports x 10 endpoints: 30,000
 * service ports; 300,000 backends, twice that while every port changes
 * at once (new ones are written before old ones go); up to 60,000 tables
 * on the first sync after a restart (each rebuilt next to the adopted
 * one); frontends for several node addresses and LB IPs per port. The
 * hash maps allocate per entry (BPF_F_NO_PREALLOC), so headroom is cheap.
 */
#define XLB_AGENT_MAX_SERVICES	262144
#define XLB_AGENT_MAX_BACKENDS	1048576
#define XLB_AGENT_MAX_TABLES	65536
#define XLB_SYNC_PERIOD_S	900

struct np_cidr {
	union xlb_addr addr;
	uint8_t family;
	uint8_t prefix_len;
};

struct agent {
	const char *ifnames[MAX_IFACES];
	int ifindex[MAX_IFACES];
	int n_ifaces;
	const char *config;
	const char *node_name;
	const char *pin_dir;
	enum xlb_attach attach;		/* --attach */
	const char *cgroup;		/* --cgroup; NULL: the v2 root */
	bool no_cgroup;			/* --cgroup off */
	bool local_stack;		/* --local-delivery stack (the default) */
	enum xlb_attach hook[MAX_IFACES];	/* what each uplink got */
	struct xlb_dp_opts dpo;
	__u32 maglev_min;
	__u32 maglev_slots;
	bool uninstall;
	bool retry;		/* the last sync failed: try again when idle */
	/* Kubernetes mode: retry after a failed sync, periodic full sync */
	unsigned int sync_period_ms;
	unsigned int retry_ms;	/* current backoff, 0: none pending */
	uint64_t next_retry, next_resync;	/* monotonic ms */
	bool addrs_from_node;	/* NodePort addresses came from the Node */
	bool last_bad_file;	/* the file did not parse: wait for a change */
	const char *kubeconfig;
	const char *apiserver;
	const char *healthz_bind;
	const char *metrics_bind;
	struct np_cidr np_cidrs[MAX_NP_CIDRS];	/* --nodeport-addresses */
	int n_np_cidrs;
	bool np_primary;			/* --nodeport-addresses primary */
	__be32 snat_addr;			/* --snat-address; 0: none */

	struct xlb_dp *dp;
	struct xlb_sync *sync;
	struct k8s_cache *cache;	/* file mode: last good objects */
	struct k8s_source *src;		/* Kubernetes mode */
	struct xlb_health *health;
	struct xlb_metrics *metrics;
	bool synced_once;

	/* LoadBalancer IPs: allocation (file mode: here; Kubernetes mode:
	 * the elected leader) and L2 announcement. */
	const char *lb_class;		/* --lb-class */
	unsigned int lease_renew_ms;	/* --node-lease-renew */
	unsigned int lease_duration_ms;	/* --node-lease-duration */
	unsigned int l2_hold_ms;	/* --l2-hold */
	struct xlb_announcer *announcer;
	const char *lease_ns;		/* --lease-namespace */
	unsigned int le_duration_ms, le_renew_ms, le_retry_ms;
	struct xlb_leases *leases;	/* Kubernetes mode */
	struct xlb_lbctl *lbctl;
	struct xlb_lease_state ls;	/* live agents, leadership */
	bool withdrawn;			/* answers taken back: our Lease lapsed */
	bool lb_retry;			/* some status write failed: retry */
	uint64_t lb_last_ms;

	/* BGP: routes in a kernel table that BIRD learns (bgp.h). */
	uint32_t bgp_table;		/* --bgp-table */
	bool withdraw_on_exit;		/* --withdraw-on-exit */
	bool attached;			/* programs serve: may announce */
	struct xlb_bgp *bgp;
	struct k8s_ip *bgp_want;	/* what the last plan announces */
	size_t n_bgp_want;
	uint64_t next_refresh_ms;
	uint64_t last_idle_ms;
};

/* Long-only options. */
enum { OPT_BGP_TABLE = 0x100, OPT_WITHDRAW_ON_EXIT, OPT_METRICS_BIND };

static void usage(FILE *f)
{
	fprintf(f,
"usage: xlb-agent --iface IF [--iface IF2 ...] --node-name NAME\n"
"                 (--config FILE | [--kubeconfig FILE] [--apiserver URL])\n"
"                 [--healthz-bind-address ADDR:PORT|off] [--metrics-bind-address ADDR:PORT|off]\n"
"                 [--nodeport-addresses CIDR,...]\n"
"                 [--pin-dir DIR] [--attach auto|xdp|tc] [--cgroup PATH|off]\n"
"                 [--local-delivery peer|stack]\n"
"                 [--snat-ports MIN-MAX] [--snat-address ADDR]\n"
"                 [--maglev-min M] [--maglev-slots N]\n"
"                 [--ct-max N] [--ct-timeouts NAME=S,...]\n"
"                 [--max-services N] [--max-backends N] [--max-tables N]\n"
"                 [--sync-period S]\n"
"                 [--lb-class CLASS] [--node-lease-renew S] [--node-lease-duration S]\n"
"                 [--l2-hold S] [--lease-namespace NS] [--leader-elect-lease-duration S]\n"
"                 [--leader-elect-renew-deadline S] [--leader-elect-retry-period S]\n"
"                 [--bgp-table N] [--withdraw-on-exit] [-v]\n"
"       xlb-agent --uninstall --iface IF [--iface IF2 ...] [--pin-dir DIR]\n"
"\n"
"  --iface IF        uplink to serve (NodePort answers on its addresses)\n"
"  --config FILE     file mode: Kubernetes Services and EndpointSlices, YAML\n"
"                    or JSON; re-read when it changes and on SIGHUP\n"
"  --kubeconfig FILE Kubernetes mode: list/watch the API server named there\n"
"  --apiserver URL   Kubernetes mode: this server (https://HOST:PORT), with the\n"
"                    kubeconfig's or the service account's credentials\n"
"                    (in a Pod, KUBERNETES_SERVICE_HOST alone is enough)\n"
"  --healthz-bind-address A:P  /healthz and /livez (default %s; off: none)\n"
"  --metrics-bind-address A:P  Prometheus /metrics (default %s; off: none)\n"
"  --nodeport-addresses L  NodePorts only on node addresses inside these CIDRs\n"
"                    (comma list), or \"primary\": the Node's first InternalIP\n"
"  --node-name NAME  this node: endpoints with this nodeName are local\n"
"  --pin-dir DIR     where maps and programs are pinned (default %s)\n"
"  --attach HOOK     datapath hook per uplink: xdp (native XDP only), tc (the\n"
"                    skb path), or auto (default): XDP where the driver has\n"
"                    native XDP with metadata, else tc; the log says why\n"
"  --cgroup PATH     local access (the node and its Pods to their own NodePort,\n"
"                    LB VIP or externalIP): socket programs on this cgroup v2\n"
"                    directory (default: the cgroup v2 root; off: none)\n"
"  --local-delivery M  stack (default): packets for a local Pod go through\n"
"                    the host's forwarding path (netfilter sees the flow, so\n"
"                    CNI masquerade rules and NetworkPolicy keep working);\n"
"                    peer: straight into the Pod's veth (bpf_redirect_peer),\n"
"                    only for nodes where nothing NATs or conntracks Pod\n"
"                    traffic in netfilter\n"
"  --snat-ports R    SNAT source ports for remote backends (default 61000-65000;\n"
"                    reserved in net.ipv4.ip_local_reserved_ports)\n"
"  --snat-address A  IPv4 address only xlb uses as a source (a /32 the node\n"
"                    answers ARP for, never its primary): SNAT keeps every\n"
"                    client port there; NodePorts do not answer on it\n"
"  --maglev-min M    smallest Maglev table (a prime of the supported list;\n"
"                    default 251)\n"
"  --maglev-slots N  table slots per backend, >= 100 (default 100: 400 bytes\n"
"                    per backend); 1000 halves the flows moved when one of\n"
"                    many backends leaves, at ten times the memory\n"
"  --ct-max N        conntrack entries (default %u)\n"
"  --ct-timeouts L   conntrack lifetimes in seconds (default tcp=86400,\n"
"                    tcp-syn-sent=60,tcp-syn-recv=60,tcp-half-closed=3600,\n"
"                    tcp-time-wait=120,tcp-close=10,udp=30,udp-stream=120);\n"
"                    tcp is established, tcp-syn sets both handshake states\n"
"  --max-services N  frontend entries (default %u)\n"
"  --max-backends N  backend entries (default %u)\n"
"  --max-tables N    service ports with a table, i.e. Maglev tables (default %u;\n"
"                    a restart briefly needs one more per service port)\n"
"  --sync-period S   Kubernetes mode: full sync every S seconds, also re-reading\n"
"                    interface addresses (default %u); a failed sync is\n"
"                    retried after 1 s doubling to 30 s\n"
"  --lb-class CLASS  allocate LoadBalancer IPs only for Services with this\n"
"                    spec.loadBalancerClass (default: only those without one)\n"
"  --node-lease-renew S     renew this node's liveness Lease every S seconds\n"
"                    (default 1; also how often ARP/NDP answers are refreshed)\n"
"  --node-lease-duration S  a node whose Lease is older is dead (default 3)\n"
"  --l2-hold S       the datapath answers ARP/NDP for an owned VIP until S\n"
"                    seconds after the last refresh (default 2; must be\n"
"                    below the Lease duration so a dead node goes quiet\n"
"                    before another takes over)\n"
"  --lease-namespace NS  Kubernetes mode: where the node and leader Leases\n"
"                    live (default kube-system)\n"
"  --leader-elect-lease-duration S, --leader-elect-renew-deadline S,\n"
"  --leader-elect-retry-period S  the allocator's leader election (client-go\n"
"                    defaults 15, 10, 2)\n"
"  --bgp-table N     kernel routing table for the BGP routes BIRD learns: one\n"
"                    blackhole host route (proto 88) per address of an\n"
"                    announce: BGP pool this node announces (default %u)\n"
"  --withdraw-on-exit  on SIGTERM/SIGINT withdraw BGP routes and ARP/NDP\n"
"                    answers first (the datapath keeps serving what still\n"
"                    arrives); default: leave them, traffic flows on\n"
"  --uninstall       detach the programs and remove the pins, then exit\n",
		XLB_HEALTHZ_DEFAULT, XLB_METRICS_DEFAULT, XLB_PIN_DIR_DEFAULT, XLB_MAX_CT, XLB_AGENT_MAX_SERVICES,
		XLB_AGENT_MAX_BACKENDS, XLB_AGENT_MAX_TABLES, XLB_SYNC_PERIOD_S,
		XLB_BGP_TABLE_DEFAULT);
}

/* --ct-timeouts names, each a lifetime of struct xlb_cfg. */
static const struct {
	const char *name;
	size_t off;
} ct_timeouts[] = {
	{ "tcp",		offsetof(struct xlb_cfg, ct_tcp_est_ns) },
	{ "tcp-syn-sent",	offsetof(struct xlb_cfg, ct_tcp_syn_sent_ns) },
	{ "tcp-syn-recv",	offsetof(struct xlb_cfg, ct_tcp_syn_recv_ns) },
	{ "tcp-half-closed",	offsetof(struct xlb_cfg, ct_tcp_half_closed_ns) },
	{ "tcp-time-wait",	offsetof(struct xlb_cfg, ct_tcp_time_wait_ns) },
	{ "tcp-close",		offsetof(struct xlb_cfg, ct_tcp_close_ns) },
	{ "udp",		offsetof(struct xlb_cfg, ct_udp_ns) },
	{ "udp-stream",		offsetof(struct xlb_cfg, ct_udp_stream_ns) },
};

/* "tcp=86400,tcp-syn-sent=60,udp=30" (any subset); tcp-syn sets both
 * handshake lifetimes. */
static int parse_ct_timeouts(struct xlb_cfg *cfg, const char *arg)
{
	char *dup = strdup(arg), *tok, *save = NULL;
	int ret = 0;

	if (!dup)
		return -1;
	for (tok = strtok_r(dup, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end = NULL;
		unsigned long v = 0;
		bool known = false;

		if (eq) {
			*eq = '\0';
			v = strtoul(eq + 1, &end, 10);
		}
		if (eq && *(eq + 1) && !*end && v && v <= 7 * 86400) {
			for (size_t i = 0; i < sizeof(ct_timeouts) / sizeof(ct_timeouts[0]); i++) {
				bool syn = !strcmp(tok, "tcp-syn") && !strncmp(ct_timeouts[i].name, "tcp-syn-", 8);

				if (syn || !strcmp(tok, ct_timeouts[i].name)) {
					*(__u64 *)((char *)cfg + ct_timeouts[i].off) = v * 1000000000ull;
					known = true;
				}
			}
		}
		if (!known) {
			fprintf(stderr, "xlb-agent: --ct-timeouts %s: want NAME=SECONDS (1..604800), NAME one of tcp, tcp-syn, tcp-syn-sent, tcp-syn-recv, tcp-half-closed, tcp-time-wait, tcp-close, udp, udp-stream\n",
				arg);
			ret = -1;
		}
	}
	free(dup);
	return ret;
}

/* "10.0.0.0/8,fd00::/64" or "primary" */
static int parse_np_cidrs(struct agent *a, const char *arg)
{
	char *dup = strdup(arg), *tok, *save = NULL;
	int ret = 0;

	if (!dup)
		return -1;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct np_cidr c = { 0 };
		char *slash = strchr(tok, '/'), *end;
		unsigned long plen;

		if (!strcmp(tok, "primary")) {
			a->np_primary = true;
			continue;
		}
		if (!slash || a->n_np_cidrs == MAX_NP_CIDRS)
			goto bad;
		*slash = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (*end || !slash[1])
			goto bad;
		if (inet_pton(AF_INET, tok, &c.addr.v4) == 1 && plen <= 32)
			c.family = XLB_AF_INET;
		else if (inet_pton(AF_INET6, tok, &c.addr) == 1 && plen <= 128)
			c.family = XLB_AF_INET6;
		else
			goto bad;
		c.prefix_len = (uint8_t)plen;
		a->np_cidrs[a->n_np_cidrs++] = c;
		continue;
bad:
		fprintf(stderr, "xlb-agent: --nodeport-addresses %s: want CIDR[,CIDR...] or primary\n",
			arg);
		ret = -1;
		break;
	}
	free(dup);
	return ret;
}

static bool in_cidr(const struct np_cidr *c, const struct xlb_addr_key *k)
{
	const uint8_t *a = (const uint8_t *)&c->addr, *b = (const uint8_t *)&k->addr;
	unsigned int bits = c->prefix_len;

	if (c->family != k->family)
		return false;
	for (unsigned int i = 0; bits; i++) {
		unsigned int n = bits >= 8 ? 8 : bits;
		uint8_t mask = (uint8_t)(0xff00 >> n);

		if ((a[i] ^ b[i]) & mask)
			return false;
		bits -= n;
	}
	return true;
}

/* --nodeport-addresses CIDRs keep only the addresses inside them. */
static bool np_allowed(const struct agent *a, const struct xlb_addr_key *k)
{
	if (!a->n_np_cidrs)
		return true;
	for (int i = 0; i < a->n_np_cidrs; i++)
		if (in_cidr(&a->np_cidrs[i], k))
			return true;
	return false;
}

static int parse_args(struct agent *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "node-name", required_argument, NULL, 'n' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "attach", required_argument, NULL, 'a' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "local-delivery", required_argument, NULL, 'L' },
		{ "xdp-mode", required_argument, NULL, 'x' },
		{ "snat-ports", required_argument, NULL, 's' },
		{ "snat-address", required_argument, NULL, 'R' },
		{ "maglev-min", required_argument, NULL, 'm' },
		{ "maglev-slots", required_argument, NULL, 'S' },
		{ "ct-timeouts", required_argument, NULL, 'T' },
		{ "ct-max", required_argument, NULL, 'C' },
		{ "uninstall", no_argument, NULL, 'U' },
		{ "kubeconfig", required_argument, NULL, 'K' },
		{ "apiserver", required_argument, NULL, 'A' },
		{ "healthz-bind-address", required_argument, NULL, 'H' },
		{ "metrics-bind-address", required_argument, NULL, OPT_METRICS_BIND },
		{ "nodeport-addresses", required_argument, NULL, 'N' },
		{ "max-services", required_argument, NULL, 'F' },
		{ "max-backends", required_argument, NULL, 'B' },
		{ "max-tables", required_argument, NULL, 'M' },
		{ "sync-period", required_argument, NULL, 'Y' },
		{ "lb-class", required_argument, NULL, 'b' },
		{ "node-lease-renew", required_argument, NULL, 'r' },
		{ "node-lease-duration", required_argument, NULL, 'D' },
		{ "l2-hold", required_argument, NULL, 'O' },
		{ "lease-namespace", required_argument, NULL, 'E' },
		{ "leader-elect-lease-duration", required_argument, NULL, '1' },
		{ "leader-elect-renew-deadline", required_argument, NULL, '2' },
		{ "leader-elect-retry-period", required_argument, NULL, '3' },
		/* Long-only options: codes no short option can take. */
		{ "bgp-table", required_argument, NULL, OPT_BGP_TABLE },
		{ "withdraw-on-exit", no_argument, NULL, OPT_WITHDRAW_ON_EXIT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt, verbose = 0;
	unsigned int lo, hi;
	char tail;

	a->pin_dir = XLB_PIN_DIR_DEFAULT;
	a->healthz_bind = XLB_HEALTHZ_DEFAULT;
	a->metrics_bind = XLB_METRICS_DEFAULT;
	a->dpo.cfg = (struct xlb_cfg)XLB_CFG_DEFAULT;
	a->maglev_min = MAGLEV_M_MIN;
	a->dpo.max_services = XLB_AGENT_MAX_SERVICES;
	a->dpo.max_backends = XLB_AGENT_MAX_BACKENDS;
	a->dpo.max_tables = XLB_AGENT_MAX_TABLES;
	a->sync_period_ms = XLB_SYNC_PERIOD_S * 1000;
	/* Stack by default: bpf_redirect_peer skips netfilter, so conntrack
	 * first sees a flow at the Pod's reply, and a CNI's Pod-egress
	 * MASQUERADE (flannel --ip-masq, Calico natOutgoing, kindnet) then
	 * rewrites that reply before tc egress can restore the frontend. */
	a->local_stack = true;
	a->lease_renew_ms = 1000;
	a->lease_duration_ms = 3000;
	a->l2_hold_ms = 2000;
	a->lease_ns = "kube-system";
	a->le_duration_ms = 15000;
	a->le_renew_ms = 10000;
	a->le_retry_ms = 2000;
	a->bgp_table = XLB_BGP_TABLE_DEFAULT;
	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (a->n_ifaces == MAX_IFACES) {
				fprintf(stderr, "xlb-agent: at most %d --iface\n", MAX_IFACES);
				return -1;
			}
			a->ifnames[a->n_ifaces++] = optarg;
			break;
		case 'c': a->config = optarg; break;
		case 'n': a->node_name = optarg; break;
		case 'P': a->pin_dir = optarg; break;
		case 'a':
			if (xlb_parse_attach(optarg, &a->attach)) {
				fprintf(stderr, "xlb-agent: --attach %s: want auto, xdp or tc\n",
					optarg);
				return -1;
			}
			break;
		case 'g':
			if (!strcmp(optarg, "off"))
				a->no_cgroup = true;
			else
				a->cgroup = optarg;
			break;
		case 'L':
			if (strcmp(optarg, "peer") && strcmp(optarg, "stack")) {
				fprintf(stderr, "xlb-agent: --local-delivery %s: want peer or stack\n",
					optarg);
				return -1;
			}
			a->local_stack = !strcmp(optarg, "stack");
			break;
		case 'x':
			/* The old flag: native and auto map onto --attach;
			 * generic XDP is not offered any more. */
			if (!strcmp(optarg, "native")) {
				a->attach = XLB_ATTACH_XDP;
			} else if (!strcmp(optarg, "auto")) {
				a->attach = XLB_ATTACH_AUTO;
			} else {
				fprintf(stderr, "xlb-agent: --xdp-mode %s: generic XDP sees GRO super-packets with partial checksums and is not supported; use --attach tc (or auto)\n",
					optarg);
				return -1;
			}
			break;
		case 's':
			if (sscanf(optarg, "%u-%u%c", &lo, &hi, &tail) != 2 || !lo ||
			    lo > hi || hi > 65535) {
				fprintf(stderr, "xlb-agent: --snat-ports %s: want MIN-MAX within 1-65535\n",
					optarg);
				return -1;
			}
			a->dpo.cfg.snat_port_min = lo;
			a->dpo.cfg.snat_port_max = hi;
			break;
		case 'R':
			if (inet_pton(AF_INET, optarg, &a->snat_addr) != 1 || !a->snat_addr) {
				fprintf(stderr, "xlb-agent: --snat-address %s: want an IPv4 address\n",
					optarg);
				return -1;
			}
			break;
		case 'm':
			a->maglev_min = strtoul(optarg, NULL, 10);
			if (!maglev_size_ok(a->maglev_min)) {
				fprintf(stderr, "xlb-agent: --maglev-min %s: want one of 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071\n",
					optarg);
				return -1;
			}
			break;
		case 'S':
			a->maglev_slots = strtoul(optarg, NULL, 10);
			if (a->maglev_slots < 100 || a->maglev_slots > 100000) {
				fprintf(stderr, "xlb-agent: --maglev-slots %s: want 100..100000\n", optarg);
				return -1;
			}
			break;
		case 'T':
			if (parse_ct_timeouts(&a->dpo.cfg, optarg))
				return -1;
			break;
		case 'C':
			a->dpo.max_ct = strtoul(optarg, NULL, 10);
			break;
		case 'U': a->uninstall = true; break;
		/* An empty value means "not given": a ConfigMap can leave
		 * these blank. */
		case 'K': a->kubeconfig = *optarg ? optarg : NULL; break;
		case 'A': a->apiserver = *optarg ? optarg : NULL; break;
		case 'H': a->healthz_bind = optarg; break;
		case OPT_METRICS_BIND: a->metrics_bind = optarg; break;
		case 'N':
			if (*optarg && parse_np_cidrs(a, optarg))
				return -1;
			break;
		case 'F':
		case 'B':
		case 'M':
		case 'Y': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !*optarg || !v || v > (opt == 'Y' ? 86400 : 1u << 24)) {
				fprintf(stderr, "xlb-agent: --%s %s: want 1..%u\n",
					opt == 'F' ? "max-services" : opt == 'B' ? "max-backends" :
					opt == 'M' ? "max-tables" : "sync-period", optarg,
					opt == 'Y' ? 86400 : 1u << 24);
				return -1;
			}
			if (opt == 'F')
				a->dpo.max_services = v;
			else if (opt == 'B')
				a->dpo.max_backends = v;
			else if (opt == 'M')
				a->dpo.max_tables = v;
			else
				a->sync_period_ms = v * 1000;
			break;
		}
		case 'b': a->lb_class = *optarg ? optarg : NULL; break;
		case 'E': a->lease_ns = optarg; break;
		case 'r':
		case 'D':
		case 'O':
		case '1':
		case '2':
		case '3': {
			unsigned int *dst = opt == 'r' ? &a->lease_renew_ms :
					    opt == 'D' ? &a->lease_duration_ms :
					    opt == 'O' ? &a->l2_hold_ms :
					    opt == '1' ? &a->le_duration_ms :
					    opt == '2' ? &a->le_renew_ms : &a->le_retry_ms;
			char *end;
			double v = strtod(optarg, &end);

			if (*end || v < 0.1 || v > 3600) {
				const char *name = "?";

				for (const struct option *op = opts; op->name; op++)
					if (op->val == opt)
						name = op->name;
				fprintf(stderr, "xlb-agent: --%s %s: want seconds, 0.1..3600\n",
					name, optarg);
				return -1;
			}
			*dst = (unsigned int)(v * 1000);
			break;
		}
		case OPT_BGP_TABLE: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			/* 0 is "unspecified"; 253..255 are default, main, local. */
			if (*end || !*optarg || !v || v > 0xffffffffUL || (v >= 253 && v <= 255)) {
				fprintf(stderr, "xlb-agent: --bgp-table %s: want a table id, 1..2^32-1 but not 253-255 (default, main, local)\n",
					optarg);
				return -1;
			}
			a->bgp_table = (uint32_t)v;
			break;
		}
		case OPT_WITHDRAW_ON_EXIT: a->withdraw_on_exit = true; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "xlb-agent: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	xlb_log_set_level(verbose > 1 ? XLB_LOG_DEBUG : verbose ? XLB_LOG_INFO : XLB_LOG_INFO);
	if (!a->n_ifaces) {
		fprintf(stderr, "xlb-agent: at least one --iface is needed\n");
		return -1;
	}
	if (a->config && (a->kubeconfig || a->apiserver)) {
		fprintf(stderr, "xlb-agent: one source only: --config FILE, or --kubeconfig/--apiserver\n");
		return -1;
	}
	if (!a->uninstall && !a->config && !a->kubeconfig && !a->apiserver &&
	    !getenv("KUBERNETES_SERVICE_HOST")) {
		fprintf(stderr, "xlb-agent: no source: give --config FILE, --kubeconfig FILE or --apiserver URL (or run in a Pod)\n");
		return -1;
	}
	/* A SNAT port inside the NodePort range would look like a NodePort
	 * once its reply entry is gone. */
	if (a->dpo.cfg.snat_port_min <= 32767 && a->dpo.cfg.snat_port_max >= 30000)
		pr_warn("--snat-ports %u-%u overlaps Kubernetes' default NodePort range 30000-32767\n",
			a->dpo.cfg.snat_port_min, a->dpo.cfg.snat_port_max);
	if (a->local_stack)
		a->dpo.cfg.flags |= XLB_CFG_F_LOCAL_STACK;
	if (a->l2_hold_ms <= a->lease_renew_ms ||
	    a->l2_hold_ms >= a->lease_duration_ms) {
		fprintf(stderr, "xlb-agent: want --node-lease-renew < --l2-hold < --node-lease-duration (%.1f, %.1f, %.1f s): answers must outlive one missed refresh and end before another node takes over\n",
			a->lease_renew_ms / 1e3, a->l2_hold_ms / 1e3, a->lease_duration_ms / 1e3);
		return -1;
	}
	if (a->le_retry_ms >= a->le_renew_ms || a->le_renew_ms >= a->le_duration_ms) {
		fprintf(stderr, "xlb-agent: want --leader-elect-retry-period < --leader-elect-renew-deadline < --leader-elect-lease-duration\n");
		return -1;
	}
	if (!a->uninstall && !a->node_name) {
		fprintf(stderr, "xlb-agent: --node-name is needed\n");
		return -1;
	}
	for (int i = 0; i < a->n_ifaces; i++) {
		a->ifindex[i] = if_nametoindex(a->ifnames[i]);
		if (!a->ifindex[i]) {
			fprintf(stderr, "xlb-agent: interface %s: %s\n", a->ifnames[i],
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The MAC of @ifname (a bond's own), in our network namespace. */
static int if_mac(const char *ifname, __u8 mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

/*
 * NodePort answers on the node's addresses: the Node object's InternalIP
 * and ExternalIP addresses in Kubernetes mode (only the first InternalIP,
 * else ExternalIP, per family with --nodeport-addresses primary), else the
 * IPv4 addresses of the served interfaces; --nodeport-addresses CIDRs
 * filter them. SNAT uses each interface's first IPv4 address.
 */
static int node_addresses(struct agent *a)
{
	struct xlb_addr_key addrs[64];
	struct xlb_node_iface ifs[MAX_IFACES];
	struct k8s_node_state node = { 0 };
	struct ifaddrs *ifa, *it;
	size_t na = 0, ni = 0, nn = 0;
	bool from_node = false;
	int err;

	if (a->src) {
		k8s_source_node(a->src, &node);
		if (a->leases)
			xlb_leases_set_labels(a->leases, node.known ? node.labels : "{}");
		from_node = node.known && node.n_addrs;
		xlb_health_set_node_eligible(a->health, node.eligible);
	}
	for (size_t i = 0; from_node && i < node.n_addrs; i++) {
		bool seen_family = false;

		for (size_t j = 0; j < na; j++)
			seen_family |= addrs[j].family == node.addrs[i].family;
		if (a->np_primary && seen_family)
			continue;
		if (np_allowed(a, &node.addrs[i]) &&
		    !(node.addrs[i].family == XLB_AF_INET && node.addrs[i].addr.v4 == a->snat_addr))
			addrs[na++] = node.addrs[i];
	}
	nn = na;

	if (getifaddrs(&ifa))
		return -errno;
	for (int i = 0; i < a->n_ifaces; i++) {
		__be32 first = 0;

		for (it = ifa; it; it = it->ifa_next) {
			struct sockaddr_in *sin = (void *)it->ifa_addr;

			if (!sin || sin->sin_family != AF_INET ||
			    strcmp(it->ifa_name, a->ifnames[i]))
				continue;
			if (!first)
				first = sin->sin_addr.s_addr;
			if (!from_node && na < sizeof(addrs) / sizeof(addrs[0])) {
				struct xlb_addr_key k = { .addr.v4 = sin->sin_addr.s_addr,
							  .family = XLB_AF_INET };

				if (np_allowed(a, &k) && k.addr.v4 != a->snat_addr)
					addrs[na++] = k;
			}
		}
		if (!first)
			pr_warn("interface %s has no IPv4 address: no NodePort on it, no SNAT through it\n",
				a->ifnames[i]);
		else {
			ifs[ni] = (struct xlb_node_iface){
				.ifindex = a->ifindex[i],
				.addr4 = a->snat_addr ? a->snat_addr : first,
				.snat_only = !!a->snat_addr,
			};
			if (if_mac(a->ifnames[i], ifs[ni].mac))
				pr_warn("interface %s: no MAC address read; frames to other hosts are not filtered on it\n",
					a->ifnames[i]);
			ni++;
		}
	}
	freeifaddrs(ifa);
	/* healthCheckNodePorts listen where NodePorts answer when
	 * --nodeport-addresses narrows that; else on every address. */
	{
		struct sockaddr_storage hc[64];
		size_t nh = 0;

		for (size_t i = 0; (a->n_np_cidrs || a->np_primary) && i < na; i++) {
			memset(&hc[nh], 0, sizeof(hc[nh]));
			if (addrs[i].family == XLB_AF_INET) {
				struct sockaddr_in *sin = (void *)&hc[nh];

				sin->sin_family = AF_INET;
				sin->sin_addr.s_addr = addrs[i].addr.v4;
			} else {
				struct sockaddr_in6 *sin6 = (void *)&hc[nh];

				sin6->sin6_family = AF_INET6;
				memcpy(&sin6->sin6_addr, &addrs[i].addr, sizeof(sin6->sin6_addr));
			}
			nh++;
		}
		xlb_health_set_bind_addrs(a->health, a->n_np_cidrs || a->np_primary ? hc : NULL,
					  nh);
	}
	err = xlb_sync_node(a->sync, addrs, na, ifs, ni);
	if (err > 0)
		err = 0;	/* changed */
	else if (!err && from_node == a->addrs_from_node)
		return 0;	/* as before: nothing to say */
	a->addrs_from_node = from_node;
	if (!err && from_node)
		pr_info("node: %zu NodePort address(es) from the Node object, %zu SNAT interface(s)\n",
			nn, ni);
	else if (!err)
		pr_info("node: %zu address(es) on %d interface(s)\n", na, a->n_ifaces);
	return err;
}

/*
 * The device maps: uplinks in XDP mode (the only XDP redirect targets) and
 * the host ends of Pod veths (every veth that is not an uplink: its peer
 * lives in a Pod's namespace), which tc delivers into directly.
 */
static int sync_devs(struct agent *a)
{
	__u32 tx[MAX_IFACES], peer[XLB_MAX_DEVS];
	struct if_nameindex *ni, *it;
	size_t ntx = 0, np = 0;
	char drv[32];

	for (int i = 0; i < a->n_ifaces; i++) {
		if (a->hook[i] != XLB_ATTACH_XDP)
			continue;
		/* XDP_TX/redirect into a veth is lost unless its peer runs
		 * XDP: XDP on a veth (--attach xdp) hands its translated
		 * packets to tc instead. */
		if (!xlb_if_driver(a->ifnames[i], drv, sizeof(drv)) && !strcmp(drv, "veth"))
			continue;
		tx[ntx++] = a->ifindex[i];
	}
	ni = a->local_stack ? NULL : if_nameindex();
	for (it = ni; it && it->if_index && np < XLB_MAX_DEVS; it++) {
		bool uplink = false;

		for (int i = 0; i < a->n_ifaces && !uplink; i++)
			uplink = a->ifindex[i] == (int)it->if_index;
		if (uplink || xlb_if_driver(it->if_name, drv, sizeof(drv)) ||
		    strcmp(drv, "veth"))
			continue;
		peer[np++] = it->if_index;
	}
	if (ni)
		if_freenameindex(ni);
	return xlb_sync_devs(a->sync, tx, ntx, peer, np);
}

/* Each uplink gets XDP (+ tc egress, + tc ingress for what XDP hands on)
 * or the tc path (ingress and egress), per --attach and its driver. */
static int attach_all(struct agent *a)
{
	char why[160];

	for (int i = 0; i < a->n_ifaces; i++) {
		char drv[32];

		a->hook[i] = xlb_attach_choose(a->ifnames[i], a->attach, why, sizeof(why));
		pr_info("%s: %s datapath (%s)\n", a->ifnames[i],
			a->hook[i] == XLB_ATTACH_XDP ? "XDP" : "tc", why);
		if (a->hook[i] == XLB_ATTACH_XDP &&
		    !xlb_if_driver(a->ifnames[i], drv, sizeof(drv)) && !strcmp(drv, "veth"))
			pr_warn("%s: XDP on a veth: translated packets leave through tc (XDP_TX into a veth is lost unless its peer runs XDP), frames from senders on this host arrive CHECKSUM_PARTIAL, which XDP cannot rewrite; --attach auto gives a veth the tc path\n",
				a->ifnames[i]);
	}
	/* Redirect targets before the programs that redirect into them. */
	if (sync_devs(a))
		return -1;
	for (int i = 0; i < a->n_ifaces; i++) {
		int err;

		if (a->hook[i] == XLB_ATTACH_XDP) {
			err = xlb_attach_tc(a->ifindex[i], a->ifnames[i], xlb_dp_tc_fd(a->dp),
					    xlb_dp_tc_ingress_fd(a->dp));
			if (!err)
				err = xlb_attach_xdp(a->ifindex[i], a->ifnames[i],
						     xlb_dp_xdp_fd(a->dp));
		} else {
			/* tc first, then XDP off: no gap where neither runs. */
			err = xlb_attach_tc(a->ifindex[i], a->ifnames[i], xlb_dp_tc_fd(a->dp),
					    xlb_dp_tc_full_fd(a->dp));
			if (!err)
				err = xlb_detach_xdp(a->ifindex[i], a->ifnames[i]);
		}
		if (err)
			return err;
	}
	return 0;
}

/* A masquerade rule (a CNI's, with --random-fully) that may pick the SNAT
 * range's ports on the node address: best effort, from whichever of
 * iptables-save and nft the node has. */
static void masq_check(__u32 lo, __u32 hi)
{
	static const struct { const char *tool, *cmd; } cmds[] = {
		{ "iptables", "iptables-save -t nat 2>/dev/null" },
		{ "nft", "nft list ruleset 2>/dev/null" },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		size_t cap = 1 << 20, n = 0, r;
		char *buf = malloc(cap + 1), line[160];
		FILE *f = buf ? popen(cmds[i].cmd, "r") : NULL;

		if (!f) {
			free(buf);
			continue;
		}
		while (n < cap && (r = fread(buf + n, 1, cap - n, f)) > 0)
			n += r;
		pclose(f);
		buf[n] = '\0';
		if (xlb_masq_overlaps(buf, lo, hi, line, sizeof(line)))
			pr_warn("%s: a masquerade rule may pick SNAT ports %u-%u on the node address: \"%s\"; use --snat-address or move --snat-ports\n",
				cmds[i].tool, lo, hi, line);
		free(buf);
	}
}

/*
 * The kernel cannot see xlb's SNAT tuples: reserve the SNAT range so it
 * never picks those ports for its own connections, and tell the datapath
 * the ephemeral range, whose client ports it must not keep on a shared
 * node address. A failure is only a warning: the datapath still works,
 * with the collisions the messages name.
 */
static void snat_ports_setup(struct agent *a)
{
	struct xlb_cfg *c = &a->dpo.cfg;
	__u32 lo, hi;
	int err;

	if (getrandom(&c->snat_seed, sizeof(c->snat_seed), 0) != sizeof(c->snat_seed))
		c->snat_seed = (__u32)time(NULL) ^ (__u32)getpid();
	err = xlb_port_range_read(XLB_SYSCTL_PORT_RANGE, &lo, &hi);
	if (err) {
		pr_warn("read %s: %s; assuming 32768-60999\n", XLB_SYSCTL_PORT_RANGE,
			strerror(-err));
	} else {
		c->eph_port_min = lo;
		c->eph_port_max = hi;
		if (lo <= c->snat_port_max && c->snat_port_min <= hi)
			pr_warn("ip_local_port_range %u-%u overlaps --snat-ports %u-%u: the reservation below keeps the kernel off them, but better move one of the two\n",
				lo, hi, c->snat_port_min, c->snat_port_max);
	}
	err = xlb_ports_reserve(XLB_SYSCTL_RESERVED, c->snat_port_min, c->snat_port_max);
	if (err < 0)
		pr_warn("reserve SNAT ports %u-%u in %s: %s; the node's own connections may collide with SNATed flows\n",
			c->snat_port_min, c->snat_port_max, XLB_SYSCTL_RESERVED, strerror(-err));
	else if (err)
		pr_info("SNAT ports %u-%u added to net.ipv4.ip_local_reserved_ports\n",
			c->snat_port_min, c->snat_port_max);
	masq_check(c->snat_port_min, c->snat_port_max);
	pr_info("SNAT: %s\n", a->snat_addr ? "dedicated --snat-address, client ports kept" :
		"node addresses, client ports kept outside ip_local_port_range");
}

static void print_errors(const struct k8s_errors *e)
{
	for (size_t i = 0; i < e->n; i++) {
		enum xlb_log_level l = e->v[i].sev == K8S_SEV_ERROR ? XLB_LOG_ERR :
				       e->v[i].sev == K8S_SEV_WARN ? XLB_LOG_WARN :
				       XLB_LOG_DEBUG;

		xlb_log(l, "%s\n", e->v[i].msg);
	}
}

/* Bring the maps and the health check servers to @d. */
static int apply(struct agent *a, struct xlb_desired *d, const struct timespec *t0,
		 bool first)
{
	struct xlb_sync_stats st;
	struct timespec t1;
	int err;

	err = xlb_sync_apply(a->sync, d, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pr_info("sync: %zu service ports; +%u ~%u -%u services, %u tables built "
		"(%u with < 100 slots per backend), "
		"+%u -%u backends, %u frontends written, %u removed, %u errors, %.1f ms\n",
		d->n, st.svc_added, st.svc_changed, st.svc_removed, st.tables_built,
		st.tables_undersized,
		st.backends_added, st.backends_removed, st.frontends_written,
		st.frontends_removed, st.errors,
		(t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6);
	xlb_health_set_services(a->health, d);
	xlb_metrics_sync_done(a->metrics, (t1.tv_sec - t0->tv_sec) +
			      (t1.tv_nsec - t0->tv_nsec) / 1e9, !err);
	{
		unsigned int hc = 0;

		for (size_t i = 0; i < d->n; i++)
			hc += d->svcports[i].health_check_node_port != 0;
		xlb_metrics_set_health_servers(a->metrics, hc);
	}
	if (!err)
		xlb_health_synced(a->health);
	/* Tests and scripts wait for this line (and "ready" after attach). */
	if (!first)
		fprintf(stderr, "xlb-agent: synced\n");
	a->synced_once = true;
	return err;
}

/* File mode: this node is the only live agent it knows of. */
static void announce_file(struct agent *a, const struct xlb_vip_plan *p)
{
	if (a->announcer && p)
		xlb_announcer_apply(a->announcer, p);
}

/* Does the datapath serve @ip once @d is synced? A VIP frontend of a
 * family the datapath handles (IPv4 today: sync skips IPv6). */
static bool servable(const struct xlb_desired *d, const struct k8s_ip *ip)
{
	if (ip->family != XLB_AF_INET)
		return false;
	for (size_t i = 0; i < d->n; i++) {
		const struct xlb_desired_svcport *sp = &d->svcports[i];

		for (size_t j = 0; j < sp->n_frontends; j++) {
			const struct xlb_svc_key *k = &sp->frontends[j].key;

			if (k->scope == XLB_SCOPE_VIP && k->family == ip->family &&
			    !memcmp(&k->addr, &ip->addr, sizeof(k->addr)))
				return true;
		}
	}
	return false;
}

/*
 * The addresses this node announces by BGP after @d is synced: the plan's
 * (a candidate for the VIP) that the datapath will serve. Replaces
 * a->bgp_want; keeps it on ENOMEM.
 */
static int bgp_plan(struct agent *a, const struct xlb_vip_plan *p, const struct xlb_desired *d)
{
	struct k8s_ip *w = calloc(p->n + 1, sizeof(*w));
	size_t n = 0;

	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		char s[64];

		if (!p->v[i].bgp_mine)
			continue;
		if (!servable(d, &p->v[i].ip)) {
			pr_warn("bgp: %s (%s): the datapath does not serve it; not announcing it\n",
				k8s_ip_str(&p->v[i].ip, s, sizeof(s)), p->v[i].service);
			continue;
		}
		w[n++] = p->v[i].ip;
	}
	free(a->bgp_want);
	a->bgp_want = w;
	a->n_bgp_want = n;
	return 0;
}

/* Routes to the last plan: WITHDRAW before the datapath changes, ANNOUNCE
 * after it serves (and only once the programs are attached). */
static void bgp_update(struct agent *a, enum xlb_bgp_phase phase)
{
	if (!a->bgp)
		return;
	if (!a->attached)
		phase &= ~XLB_BGP_ANNOUNCE;
	if (phase && xlb_bgp_set(a->bgp, a->bgp_want, a->n_bgp_want, phase))
		a->retry = true;	/* tried again when idle */
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Read the file and bring the datapath to it. A file that does not parse
 * changes nothing; objects that fail validation are reported and left out,
 * the rest is applied.
 */
static int reload(struct agent *a, bool first)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_translate_opts to = { .node_name = a->node_name };
	struct xlb_desired d = { 0 };
	struct xlb_vip_plan plan = { 0 };
	struct k8s_cache *c = NULL;
	struct timespec t0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = k8s_cache_load_file(a->config, &c, &errs);
	print_errors(&errs);
	a->last_bad_file = err != 0;
	if (err) {
		pr_err("config %s: %s; keeping the last good state\n", a->config,
		       err == -EBADMSG ? "not valid YAML/JSON" : strerror(-err));
		k8s_errors_free(&errs);
		return err;
	}
	/* A rejected object keeps serving its last good version. */
	for (size_t i = 0; i < errs.n_rejected; i++) {
		const struct k8s_objkey *k = &errs.rejected[i];
		struct k8s_object *o = k8s_cache_take(a->cache, k->kind, k->ns, k->name);

		if (!o)
			continue;
		if (k8s_cache_put(c, o)) {
			k8s_object_free(o);
			continue;
		}
		pr_warn("%s %s/%s: keeping its last good version\n",
			k8s_kind_name(k->kind), k->ns, k->name);
	}
	if (errs.n_errors)
		pr_warn("config %s: %zu object(s) rejected, the rest applied\n",
			a->config, errs.n_rejected);
	k8s_errors_free(&errs);

	/* No API server keeps a status in file mode: allocate here. */
	{
		struct xlb_ipam_opts io = { .lb_class = a->lb_class };

		if (xlb_ipam_apply_cache(c, &io) < 0) {
			pr_err("allocate LoadBalancer IPs: %s; keeping the last good state\n",
			       strerror(ENOMEM));
			k8s_cache_free(c);
			return -ENOMEM;
		}
	}
	err = xlb_translate(c, &to, &d, &errs);
	print_errors(&errs);
	k8s_errors_free(&errs);
	if (err) {
		pr_err("translate: %s; keeping the last good state\n", strerror(-err));
		k8s_cache_free(c);
		return err;
	}
	/* File mode: this node is the only live agent it knows of. */
	{
		const struct xlb_node_info me = { .name = a->node_name };

		if (xlb_announce_plan(c, &me, 1, a->node_name, &plan) ||
		    bgp_plan(a, &plan, &d)) {
			pr_err("announce: plan: %s; keeping the last good state\n", strerror(ENOMEM));
			xlb_vip_plan_free(&plan);
			xlb_desired_free(&d);
			k8s_cache_free(c);
			return -ENOMEM;
		}
		plan.bgp_table = a->bgp ? a->bgp_table : 0;
	}
	/* Withdraw first: routers stop sending an address before the
	 * datapath stops serving it. */
	bgp_update(a, XLB_BGP_WITHDRAW);
	err = apply(a, &d, &t0, first);
	xlb_desired_free(&d);
	k8s_cache_free(a->cache);
	a->cache = c;
	announce_file(a, &plan);
	xlb_vip_plan_free(&plan);
	/* A failed sync may have left a frontend out: announce nothing new
	 * until it succeeds (the idle retry). */
	if (!err)
		bgp_update(a, XLB_BGP_ANNOUNCE);
	return err;
}

/* Kubernetes mode: translate the cache as it is now and apply it. */
struct k8s_bgp_ctx {
	struct agent *a;
	const struct xlb_desired *d;
	const struct k8s_node_state *node;
};

/* Under the source's lock: this node's BGP plan against @d. */
static int k8s_bgp_locked(const struct k8s_cache *c, void *arg)
{
	struct k8s_bgp_ctx *x = arg;
	struct xlb_node_info me = { .name = x->a->node_name };
	cJSON *doc = cJSON_Parse(x->node->labels), *it;
	struct k8s_label *lb = calloc(cJSON_GetArraySize(doc) + 1, sizeof(*lb));
	struct xlb_vip_plan plan = { 0 };
	int err = -ENOMEM;

	if (!lb)
		goto out;
	me.labels = lb;
	cJSON_ArrayForEach(it, doc)
		if (cJSON_IsString(it))
			lb[me.n_labels++] = (struct k8s_label){ it->string, it->valuestring };
	err = xlb_announce_plan(c, &me, 1, x->a->node_name, &plan);
	if (!err)
		err = bgp_plan(x->a, &plan, x->d);
	xlb_vip_plan_free(&plan);
out:
	free(lb);
	cJSON_Delete(doc);
	return err;
}

static int k8s_sync(struct agent *a, bool first)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_translate_opts to = { .node_name = a->node_name };
	struct xlb_desired d = { 0 };
	struct timespec t0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = k8s_source_translate(a->src, &to, &d, &errs);
	print_errors(&errs);
	k8s_errors_free(&errs);
	if (err) {
		pr_err("translate: %s; keeping the last good state\n", strerror(-err));
		return err;
	}
	/*
	 * BGP needs no election: whether this node announces depends on
	 * this node only (its endpoints, its labels against the pool's
	 * nodeSelector, and that it is not being drained), so the live set
	 * is this node. Planned before the datapath changes: withdrawals go
	 * first.
	 */
	{
		struct k8s_node_state node;
		struct k8s_bgp_ctx x = { .a = a, .d = &d, .node = &node };

		k8s_source_node(a->src, &node);
		if (k8s_source_with_cache(a->src, k8s_bgp_locked, &x)) {
			pr_err("bgp: plan: %s; keeping the last good state\n", strerror(ENOMEM));
			xlb_desired_free(&d);
			return -ENOMEM;
		}
		if (node.known && !node.eligible) {
			if (xlb_bgp_count(a->bgp))
				pr_info("bgp: node is being deleted or drained: withdrawing every address\n");
			a->n_bgp_want = 0;
		}
	}
	bgp_update(a, XLB_BGP_WITHDRAW);
	err = apply(a, &d, &t0, first);
	xlb_desired_free(&d);
	if (!err) {
		k8s_source_applied(a->src);
		bgp_update(a, XLB_BGP_ANNOUNCE);
	}
	return err;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A full sync with kube-proxy's recovery: a failed one (a map write, no
 * memory) is retried after 1 s doubling to 30 s, and any sync puts off the
 * periodic one (--sync-period, configSyncPeriod).
 */
static void k8s_sync_sched(struct agent *a, bool first)
{
	int err = k8s_sync(a, first);
	uint64_t now = mono_ms();

	if (err) {
		a->retry_ms = a->retry_ms ? (a->retry_ms >= 15000 ? 30000 : a->retry_ms * 2) :
			      1000;
		a->next_retry = now + a->retry_ms;
		pr_warn("sync: %s; keeping what the maps hold, retrying in %.0f s\n",
			strerror(-err), a->retry_ms / 1000.0);
	} else {
		a->retry_ms = 0;
	}
	a->next_resync = now + a->sync_period_ms;
}

/* poll() timeout until the next retry or periodic sync, and at most the
 * idle period (device refresh). */
static int k8s_poll_timeout(const struct agent *a)
{
	uint64_t now = mono_ms(), next = a->next_resync;

	if (a->retry_ms && (!next || a->next_retry < next))
		next = a->next_retry;
	if (!next)
		return XLB_IDLE_MS;
	if (next <= now)
		return 0;
	return next - now > XLB_IDLE_MS ? XLB_IDLE_MS : (int)(next - now);
}

struct k8s_announce_ctx {
	struct agent *a;
	int err;
};

/* Under the source's lock: the plan points into the cached pools. */
static int k8s_announce_locked(const struct k8s_cache *c, void *arg)
{
	struct k8s_announce_ctx *x = arg;
	struct agent *a = x->a;
	struct xlb_node_info *live = calloc(a->ls.n_live + 1, sizeof(*live));
	struct k8s_label *lb = NULL;
	cJSON **docs = calloc(a->ls.n_live + 1, sizeof(*docs));
	struct xlb_vip_plan p;
	size_t n_lb = 0;

	x->err = -ENOMEM;
	if (!live || !docs)
		goto out;
	/* Each live node's labels come with its Lease (nodeSelector). */
	for (size_t i = 0; i < a->ls.n_live; i++) {
		docs[i] = cJSON_Parse(a->ls.labels[i]);
		n_lb += cJSON_GetArraySize(docs[i]);
	}
	lb = calloc(n_lb + 1, sizeof(*lb));
	if (!lb)
		goto out;
	n_lb = 0;
	for (size_t i = 0; i < a->ls.n_live; i++) {
		const cJSON *it;

		live[i].name = a->ls.live[i];
		live[i].labels = &lb[n_lb];
		cJSON_ArrayForEach(it, docs[i]) {
			if (!cJSON_IsString(it))
				continue;
			lb[n_lb++] = (struct k8s_label){ it->string, it->valuestring };
			live[i].n_labels++;
		}
	}
	x->err = xlb_announce_plan(c, live, a->ls.n_live, a->node_name, &p);
	if (!x->err) {
		p.bgp_table = a->bgp ? a->bgp_table : 0;	/* for xlbctl */
		xlb_announcer_apply(a->announcer, &p);
		xlb_vip_plan_free(&p);
	}
out:
	for (size_t i = 0; docs && i < a->ls.n_live; i++)
		cJSON_Delete(docs[i]);
	free(docs);
	free(lb);
	free(live);
	return x->err;
}

/*
 * Kubernetes mode, after any change of objects or Leases: announce what
 * this node owns (nothing while our own Lease is not renewed: the others
 * take over), and, on the leader, allocate and write status.
 */
static void k8s_lb(struct agent *a)
{
	struct k8s_announce_ctx x = { .a = a };

	if (!a->ls.self_live)
		xlb_announcer_withdraw(a->announcer);
	else if (k8s_source_with_cache(a->src, k8s_announce_locked, &x))
		pr_err("announce: plan: %s\n", strerror(-x.err));
	a->lb_retry = false;
	if (a->lbctl && a->ls.leader)
		a->lb_retry = xlb_lbctl_run(a->lbctl) != 0;
	a->lb_last_ms = now_ms();
}

static void k8s_leases_changed(struct agent *a)
{
	struct xlb_lease_state s;
	bool was_live = a->ls.self_live, was_leader = a->ls.leader;

	if (xlb_leases_get(a->leases, &s))
		return;
	xlb_lease_state_free(&a->ls);
	a->ls = s;
	if (was_live != s.self_live)
		pr_info("lease: this node is %s\n", s.self_live ? "live" :
			"not live (its Lease is not renewed): not answering ARP/NDP");
	if (was_leader != s.leader)
		pr_info("lease: %s\n", s.leader ? "leader: allocating LoadBalancer IPs" :
			"not the leader");
	pr_debug("lease: %zu live agent(s)\n", s.n_live);
	k8s_lb(a);
}

static uint64_t source_pending_since(void *ctx)
{
	return k8s_source_pending_since(ctx);
}

/* Start the Kubernetes source: kubeconfig, else in-cluster; --apiserver
 * replaces the server. */
/* The API server and credentials: kubeconfig, else in-cluster;
 * --apiserver replaces the server. */
static int kube_config_for(struct agent *a, struct kube_config *out)
{
	struct kube_config kc = { 0 };
	char err[512] = "";
	int ret;

	if (a->kubeconfig)
		ret = kube_config_load_kubeconfig(a->kubeconfig, &kc, err, sizeof(err));
	else
		ret = kube_config_in_cluster(&kc, NULL, err, sizeof(err));
	if (ret == -ENOENT && !a->kubeconfig && a->apiserver) {
		/* --apiserver alone, outside a Pod: the service account files
		 * may still be there (hostPath); else anonymous. */
		memset(&kc, 0, sizeof(kc));
		ret = 0;
		if (!access(KUBE_SA_DIR "/token", R_OK)) {
			kc.token_file = strdup(KUBE_SA_DIR "/token");
			kc.ca_file = strdup(KUBE_SA_DIR "/ca.crt");
		}
	}
	if (ret) {
		pr_err("Kubernetes configuration: %s\n", err);
		return ret;
	}
	if (a->apiserver) {
		if (strncmp(a->apiserver, "https://", 8)) {
			pr_err("--apiserver %s: want an https:// URL\n", a->apiserver);
			kube_config_free(&kc);
			return -EINVAL;
		}
		ret = kube_config_set_server(&kc, a->apiserver);
		if (ret) {
			kube_config_free(&kc);
			return ret;
		}
	}
	*out = kc;
	return 0;
}

static int k8s_start(struct agent *a)
{
	struct kube_config kc = { 0 }, kc2 = { 0 };
	struct kube_client *cl, *cl2;
	int ret;

	ret = kube_config_for(a, &kc);
	if (ret)
		return ret;
	cl = kube_client_new(&kc, NULL);
	if (!cl) {
		ret = -errno;
		kube_config_free(&kc);
		return ret;
	}
	a->src = k8s_source_new(cl, a->node_name);
	if (!a->src) {
		ret = -errno;
		kube_client_free(cl);
		return ret;
	}
	ret = k8s_source_start(a->src);
	if (ret)
		return ret;
	{
		struct xlb_lease_opts lo = {
			.ns = a->lease_ns, .node = a->node_name,
			.renew_ms = a->lease_renew_ms, .duration_ms = a->lease_duration_ms,
			.elect = true, .le_duration_ms = a->le_duration_ms,
			.le_renew_deadline_ms = a->le_renew_ms, .le_retry_ms = a->le_retry_ms,
		};

		/* The Leases get a client (and connection) of their own: a
		 * renewal never waits behind a list, and stopping them can
		 * cancel their watch without touching the source's. */
		ret = kube_config_for(a, &kc2);
		if (ret)
			return ret;
		cl2 = kube_client_new(&kc2, NULL);
		if (!cl2) {
			ret = -errno;
			kube_config_free(&kc2);
			return ret;
		}
		a->lbctl = xlb_lbctl_new(a->src, a->lb_class, a->node_name);
		a->leases = a->lbctl ? xlb_leases_start(cl2, &lo) : NULL;
		if (!a->leases) {
			ret = -errno;
			kube_client_free(cl2);
			return ret;
		}
	}
	return 0;
}

/* /healthz, /livez and the healthCheckNodePort servers. false: a bad
 * --healthz-bind-address; a port in use only costs the probes. */
static bool start_health(struct agent *a)
{
	struct xlb_health_opts ho = { .bind = a->healthz_bind };

	if (a->src) {
		ho.pending_since = source_pending_since;
		ho.ctx = a->src;
	}
	a->health = xlb_health_new(&ho);
	if (!a->health && errno == EINVAL) {
		pr_err("--healthz-bind-address %s: want ADDR:PORT, [ADDR]:PORT or off\n",
		       a->healthz_bind);
		return false;
	}
	if (!a->health) {
		/* Traffic matters more than probes: go on without. */
		pr_err("health: cannot serve /healthz on %s: %s; continuing without it\n",
		       a->healthz_bind, strerror(errno));
		ho.bind = NULL;
		a->health = xlb_health_new(&ho);
	}
	return a->health != NULL;
}

/* /metrics. false: a bad --metrics-bind-address; a port in use only
 * costs the scrapes. */
static bool start_metrics(struct agent *a)
{
	struct xlb_metrics_opts mo = {
		.bind = a->metrics_bind, .dp = a->dp,
		.snat_port_min = a->dpo.cfg.snat_port_min,
		.snat_port_max = a->dpo.cfg.snat_port_max,
	};

	a->metrics = xlb_metrics_new(&mo);
	if (!a->metrics && errno == EINVAL) {
		pr_err("--metrics-bind-address %s: want ADDR:PORT, [ADDR]:PORT or off\n",
		       a->metrics_bind);
		return false;
	}
	if (!a->metrics) {
		pr_err("metrics: cannot serve /metrics on %s: %s; continuing without it\n",
		       a->metrics_bind, strerror(errno));
		mo.bind = NULL;
		a->metrics = xlb_metrics_new(&mo);
	}
	return a->metrics != NULL;
}

/* Wait (bounded) for the first LIST of Services and EndpointSlices and
 * apply it. false: not there in time; the maps keep what they hold. */
static bool k8s_initial_sync(struct agent *a)
{
	struct pollfd p = { .fd = k8s_source_fd(a->src), .events = POLLIN };
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = INITIAL_SYNC_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
					       (t.tv_nsec - t0.tv_nsec) / 1000000);

		if (k8s_source_synced(a->src))
			break;
		if (left <= 0)
			return false;
		poll(&p, 1, (int)(left > 100 ? 100 : left));
	}
	if (k8s_source_take_changes(a->src) & K8S_SRC_NODE)
		node_addresses(a);
	/* The Node LIST usually lands with the others: give it a moment. */
	usleep(BATCH_MS * 1000);
	if (k8s_source_take_changes(a->src) & K8S_SRC_NODE)
		node_addresses(a);
	k8s_sync_sched(a, true);
	k8s_lb(a);
	return true;
}

static int watch_config(const char *path, char *base, size_t base_len)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	int fd;

	/* Watch the directory: editors and kubectl-style writers replace the
	 * file by rename, which a watch on the file itself would lose. */
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(base, base_len, "%s", basename(tmp));
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Only complete files: a write in progress (IN_MODIFY) could show
	 * a truncated file, which would parse as fewer Services. */
	if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Drain inotify events; true if one concerns the config file. */
static bool config_touched(int fd, const char *base)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (void *)p;

			/* A ConfigMap volume swaps its "..data" symlink. */
			if (ev->len && (!strcmp(ev->name, base) || !strcmp(ev->name, "..data")))
				hit = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return hit;
}

static void signal_mask(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
}

static int run(struct agent *a)
{
	char base[NAME_MAX + 1];
	struct pollfd pfd[3];
	sigset_t mask;
	int sfd, ifd, npfd = 2;

	/* Blocked in main() before any thread started: only this fd
	 * sees them. */
	signal_mask(&mask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	ifd = a->src ? k8s_source_fd(a->src) : watch_config(a->config, base, sizeof(base));
	if (sfd < 0 || ifd < 0) {
		pr_err("set up signal and file watches: %s\n",
		       strerror(sfd < 0 ? errno : -ifd));
		return 1;
	}
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = ifd, .events = POLLIN };
	if (a->leases)
		pfd[npfd++] = (struct pollfd){ .fd = xlb_leases_fd(a->leases), .events = POLLIN };
	for (;;) {
		struct signalfd_siginfo si;
		bool dirty = false;

		uint64_t t = now_ms();
		int timeout = a->next_refresh_ms > t ? (int)(a->next_refresh_ms - t) : 0;
		int polled;
		bool idle;

		/* Kubernetes mode: also wake for a sync retry or the
		 * periodic full sync. */
		if (a->src && k8s_poll_timeout(a) < timeout)
			timeout = k8s_poll_timeout(a);
		polled = poll(pfd, npfd, timeout);
		t = now_ms();
		if (t >= a->next_refresh_ms) {
			/* Keep the datapath's ARP/NDP answers alive, but
			 * only while our Lease tells the others we are:
			 * after a freeze the answers must not come back
			 * before the Lease does. */
			if (a->leases && !xlb_leases_alive_now(a->leases)) {
				xlb_announcer_withdraw(a->announcer);
				a->withdrawn = true;
			} else if (a->leases && a->withdrawn && a->ls.self_live) {
				a->withdrawn = false;
				k8s_lb(a);
			} else if (a->announcer) {
				xlb_announcer_refresh(a->announcer);
			}
			/* A failed status write (API server away) is retried
			 * even when no event comes to trigger it. */
			if (a->lb_retry && t - a->lb_last_ms >= LB_RETRY_MS)
				k8s_lb(a);
			a->next_refresh_ms = t + a->lease_renew_ms;
		}
		idle = !polled && t - a->last_idle_ms >= XLB_IDLE_MS;
		if (idle)
			a->last_idle_ms = t;

		if (polled < 0) {
			if (errno == EINTR)
				continue;
			pr_err("poll: %s\n", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				pr_info("SIGHUP: %s\n", a->src ? "full sync" : "reloading");
				dirty = true;
			} else {
				pr_info("%s: exiting; programs stay attached, maps pinned in %s\n",
					strsignal(si.ssi_signo), a->pin_dir);
				return 0;
			}
		}
		/* Quiet for a while: Pod veths come and go. */
		if (idle)
			sync_devs(a);
		if (a->src) {
			unsigned int ch = 0;

			if (pfd[1].revents & POLLIN) {
				/* Let a burst of events settle into one sync. */
				usleep(BATCH_MS * 1000);
				ch = k8s_source_take_changes(a->src);
			}
			if (ch & K8S_SRC_NODE)
				node_addresses(a);
			if (a->retry_ms && mono_ms() >= a->next_retry)
				dirty = true;
			if (a->next_resync && mono_ms() >= a->next_resync) {
				/* Also picks up interface address changes
				 * (the SNAT source), as file mode does. */
				pr_info("periodic full sync (--sync-period %u s)\n",
					a->sync_period_ms / 1000);
				node_addresses(a);
				dirty = true;
			}
			/* A Node change can end this node's eligibility (drain):
			 * BGP routes follow it at once. */
			if ((dirty || ch & (K8S_SRC_OBJECTS | K8S_SRC_NODE)) &&
			    k8s_source_synced(a->src))
				k8s_sync_sched(a, false);
			else if (dirty)
				a->next_resync = mono_ms() + a->sync_period_ms;
			if (npfd > 2 && pfd[2].revents & POLLIN)
				k8s_leases_changed(a);
			else if ((dirty || ch & K8S_SRC_OBJECTS) && k8s_source_synced(a->src))
				k8s_lb(a);
			continue;
		}
		if (pfd[1].revents & POLLIN && config_touched(ifd, base)) {
			/* Let a burst of writes settle into one reload: wait
			 * until 100 ms pass without an event (at most 1 s). */
			for (int i = 0; i < 10; i++) {
				struct pollfd q = { .fd = ifd, .events = POLLIN };

				if (poll(&q, 1, 100) <= 0)
					break;
				config_touched(ifd, base);
			}
			pr_info("%s changed: reloading\n", a->config);
			dirty = true;
		}
		if (idle) {
			/* Quiet for a while: pick up address changes (they
			 * are written only when they differ), and retry a
			 * sync that failed (e.g. a map was full). */
			node_addresses(a);
			dirty = a->retry;
		}
		if (dirty) {
			node_addresses(a);
			a->retry = reload(a, false) != 0 && !a->last_bad_file;
		}
	}
}

/*
 * Each healthCheckNodePort costs three descriptors per address (listen,
 * epoll, wakeup): thousands of LoadBalancer Services need more than the
 * usual soft limit of 1024. The hard limit is the administrator's choice.
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		pr_warn("raise the open-file limit to %llu: %s; healthCheckNodePorts may run out\n",
			(unsigned long long)rl.rlim_max, strerror(errno));
}

int main(int argc, char **argv)
{
	struct agent a = { 0 };
	struct xlb_sync_opts so = { 0 };
	int rc = 1;

	setvbuf(stderr, NULL, _IOLBF, 0);
	xlb_log_hook_libs();
	if (parse_args(&a, argc, argv)) {
		usage(stderr);
		return 2;
	}
	if (a.uninstall) {
		int err = 0;

		for (int i = 0; i < a.n_ifaces; i++)
			err |= xlb_detach(a.ifindex[i], a.ifnames[i]);
		if (!a.no_cgroup)
			err |= xlb_detach_cgroup(a.cgroup);
		err |= xlb_dp_unpin(a.pin_dir);
		pr_info("uninstalled from %d interface(s), pins under %s removed\n",
			a.n_ifaces, a.pin_dir);
		return err ? 1 : 0;
	}

	raise_nofile();
	/* Before any thread (reflectors, HTTP servers) starts, so they all
	 * inherit the mask and SIGTERM reaches run()'s signalfd instead of
	 * killing the process from another thread. */
	{
		sigset_t mask;

		signal_mask(&mask);
		pthread_sigmask(SIG_BLOCK, &mask, NULL);
	}
	snat_ports_setup(&a);
	a.dpo.pin_dir = a.pin_dir;
	a.dp = xlb_dp_load(&a.dpo);
	if (!a.dp)
		return 1;
	so.maglev_min = a.maglev_min;
	so.maglev_slots = a.maglev_slots;
	so.max_tables = a.dpo.max_tables;
	a.sync = xlb_sync_new(a.dp, &so);
	if (!a.sync) {
		pr_err("read pinned state: %s\n", strerror(errno));
		goto out;
	}
	{
		struct xlb_uplink ups[MAX_IFACES];

		for (int i = 0; i < a.n_ifaces; i++)
			ups[i] = (struct xlb_uplink){ a.ifnames[i], a.ifindex[i] };
		a.announcer = xlb_announcer_new(a.dp, ups, a.n_ifaces, a.l2_hold_ms);
		if (!a.announcer) {
			pr_err("announcer: %s\n", strerror(errno));
			goto out;
		}
	}
	a.bgp = xlb_bgp_open(a.bgp_table);
	if (!a.bgp) {
		pr_err("bgp: routing table %u: %s\n", a.bgp_table, strerror(errno));
		goto out;
	}
	/* Maps first, programs after: a new program never runs on maps
	 * that do not yet hold this node's addresses and services. */
	if (!a.config) {
		int err = k8s_start(&a);

		if (err) {
			pr_err("Kubernetes source: %s\n", strerror(-err));
			goto out;
		}
	}
	if (!start_health(&a) || !start_metrics(&a))
		goto out;
	if (node_addresses(&a))
		goto out;
	if (a.src) {
		if (!k8s_initial_sync(&a))
			pr_warn("API server: no complete list after %d s; serving the state the maps already hold until it comes\n",
				INITIAL_SYNC_MS / 1000);
	} else if (reload(&a, true) == -EBADMSG) {
		pr_warn("starting with the state the maps already hold\n");
	}
	if (attach_all(&a))
		goto out;
	if (!a.no_cgroup) {
		int fds[XLB_SOCK_MAX];

		for (int i = 0; i < XLB_SOCK_MAX; i++)
			fds[i] = xlb_dp_sock_fd(a.dp, i);
		/* Not fatal: the uplinks' datapath works without it. */
		xlb_attach_cgroup(a.cgroup, fds);
	}
	/* Our programs run now: the old layout's maps can go. */
	xlb_dp_migrate_finish(a.dp);
	/* Serving now: what the first sync wants may be announced. */
	a.attached = true;
	bgp_update(&a, XLB_BGP_ANNOUNCE);
	fprintf(stderr, "xlb-agent: ready\n");
	rc = run(&a);
	if (a.withdraw_on_exit) {
		/* Routes first: the programs stay attached and serve what
		 * the routers still send until they converge. */
		xlb_bgp_withdraw_all(a.bgp);
		xlb_announcer_withdraw(a.announcer);
		pr_info("--withdraw-on-exit: BGP routes and ARP/NDP answers withdrawn\n");
	}
out:
	/* Leases first: the leader releases its Lease while the client
	 * still works. */
	xlb_leases_stop(a.leases);
	xlb_lbctl_free(a.lbctl);
	xlb_lease_state_free(&a.ls);
	xlb_bgp_close(a.bgp);
	free(a.bgp_want);
	xlb_announcer_free(a.announcer);
	/* Health first: its threads ask the source how fresh it is. */
	xlb_health_free(a.health);
	xlb_metrics_free(a.metrics);
	k8s_source_free(a.src);
	xlb_sync_free(a.sync);
	k8s_cache_free(a.cache);
	xlb_dp_close(a.dp);
	return rc;
}

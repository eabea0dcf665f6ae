// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The agent's command line: every option, its default and its checks;
 * nothing here touches the node or the datapath except if_nametoindex().
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>

#include "agent.h"
#include "lib/log.h"
#include "k8s/objects.h"
#include "maglev.h"
#include "serve/health.h"
#include "serve/metrics.h"

/* Long-only options. */
enum { OPT_BGP_TABLE = 0x100, OPT_WITHDRAW_ON_EXIT, OPT_METRICS_BIND, OPT_NODE_LABELS };
void agent_usage(FILE *f)
{
	fprintf(f,
		"usage: xlb-agent --iface IF [--iface IF2 ...] --node-name NAME\n"
		"                 (--config FILE | [--kubeconfig FILE] [--apiserver URL])\n"
		"                 [--healthz-bind-address ADDR:PORT|off] [--metrics-bind-address ADDR:PORT|off]\n"
		"                 [--nodeport-addresses CIDR,...]\n"
		"                 [--pin-dir DIR] [--attach auto|xdp|tc] [--cgroup PATH|off]\n"
		"                 [--local-delivery peer|stack]\n"
		"                 [--snat-ports MIN-MAX] [--snat-address ADDR[,ADDR6]]\n"
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
		"  --snat-address A  addresses only xlb uses as a source, one per family\n"
		"                    (IPv4[,IPv6]: a /32 or /128 the node answers ARP/NDP\n"
		"                    for, never its primary): SNAT keeps every client port\n"
		"                    there; NodePorts do not answer on it. A family without\n"
		"                    one uses each interface's first address of it\n"
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
		"  --node-labels K=V,...  file mode: this node's labels, which a pool's\n"
		"                    nodeSelector matches (Kubernetes mode reads the Node)\n"
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
		XLB_HEALTHZ_DEFAULT, XLB_METRICS_DEFAULT, XLB_PIN_DIR_DEFAULT, XLB_MAX_CT,
		XLB_AGENT_MAX_SERVICES, XLB_AGENT_MAX_BACKENDS, XLB_AGENT_MAX_TABLES,
		XLB_SYNC_PERIOD_S, XLB_BGP_TABLE_DEFAULT);
}

/* --ct-timeouts names, each a lifetime of struct xlb_cfg. */
static const struct {
	const char *name;
	size_t off;
} ct_timeouts[] = {
	{ "tcp", offsetof(struct xlb_cfg, ct_tcp_est_ns) },
	{ "tcp-syn-sent", offsetof(struct xlb_cfg, ct_tcp_syn_sent_ns) },
	{ "tcp-syn-recv", offsetof(struct xlb_cfg, ct_tcp_syn_recv_ns) },
	{ "tcp-half-closed", offsetof(struct xlb_cfg, ct_tcp_half_closed_ns) },
	{ "tcp-time-wait", offsetof(struct xlb_cfg, ct_tcp_time_wait_ns) },
	{ "tcp-close", offsetof(struct xlb_cfg, ct_tcp_close_ns) },
	{ "udp", offsetof(struct xlb_cfg, ct_udp_ns) },
	{ "udp-stream", offsetof(struct xlb_cfg, ct_udp_stream_ns) },
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
				bool syn = !strcmp(tok, "tcp-syn") &&
					   !strncmp(ct_timeouts[i].name, "tcp-syn-", 8);

				if (syn || !strcmp(tok, ct_timeouts[i].name)) {
					*(__u64 *)((char *)cfg +
						   ct_timeouts[i].off) = v * 1000000000ull;
					known = true;
				}
			}
		}
		if (!known) {
			fprintf(stderr,
				"xlb-agent: --ct-timeouts %s: want NAME=SECONDS (1..604800), NAME one of tcp, tcp-syn, tcp-syn-sent, tcp-syn-recv, tcp-half-closed, tcp-time-wait, tcp-close, udp, udp-stream\n",
				arg);
			ret = -1;
		}
	}
	free(dup);
	return ret;
}

/*
 * "zone=a,rack=r1": this node's labels in file mode, where no Node object
 * tells them (a pool's nodeSelector matches them). The strings live as
 * long as the agent.
 */
static int parse_node_labels(struct agent *a, const char *arg)
{
	char *dup = strdup(arg), *tok, *save = NULL;

	if (!dup)
		return -1;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok || strlen(tok) > 253 + 1 + 63 || strlen(eq + 1) > 63 ||
		    a->n_node_labels == MAX_NODE_LABELS) {
			fprintf(stderr,
				"xlb-agent: --node-labels %s: want KEY=VALUE[,KEY=VALUE...] (at most %d)\n",
				arg, MAX_NODE_LABELS);
			free(dup);
			a->n_node_labels = 0;
			return -1;
		}
		*eq = '\0';
		a->node_labels[a->n_node_labels++] = (struct k8s_label){ .key = tok,
									 .value = eq + 1 };
	}
	return 0; /* dup stays: the labels point into it */
}

/* "10.0.0.0/8,fd00::/64" or "primary" */
/* --snat-address A[,B]: at most one address per family, neither
 * unspecified, multicast nor IPv6 link-local (SNAT leaves the link). */
static int parse_snat_addrs(struct agent *a, const char *arg)
{
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", arg);
	a->snat_addr = 0;
	a->has_snat6 = false;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct in6_addr a6;
		__be32 a4;

		if (inet_pton(AF_INET, tok, &a4) == 1 && a4 && !IN_MULTICAST(ntohl(a4)) &&
		    !a->snat_addr) {
			a->snat_addr = a4;
		} else if (inet_pton(AF_INET6, tok, &a6) == 1 && !IN6_IS_ADDR_UNSPECIFIED(&a6) &&
			   !IN6_IS_ADDR_MULTICAST(&a6) && !IN6_IS_ADDR_LINKLOCAL(&a6) &&
			   !IN6_IS_ADDR_V4MAPPED(&a6) && !a->has_snat6) {
			memcpy(&a->snat_addr6, &a6, sizeof(a6));
			a->has_snat6 = true;
		} else {
			fprintf(stderr,
				"xlb-agent: --snat-address %s: want one unicast address per family (IPv4[,IPv6]; no IPv6 link-local)\n",
				arg);
			return -1;
		}
	}
	if (!a->snat_addr && !a->has_snat6) {
		fprintf(stderr, "xlb-agent: --snat-address %s: no address\n", arg);
		return -1;
	}
	return 0;
}

static int parse_np_cidrs(struct agent *a, const char *arg)
{
	char *dup = strdup(arg), *tok, *save = NULL;
	int ret = 0;

	if (!dup)
		return -1;
	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct k8s_cidr c;

		if (!strcmp(tok, "primary")) {
			a->np_primary = true;
			continue;
		}
		/* The parser of loadBalancerSourceRanges: one CIDR syntax. */
		if (a->n_np_cidrs == MAX_NP_CIDRS || !k8s_parse_cidr(tok, &c))
			goto bad;
		a->np_cidrs[a->n_np_cidrs++] = (struct xlb_cidr){ .addr = c.ip.addr,
								  .family = c.ip.family,
								  .prefix_len = c.prefix_len };
		continue;
bad:
		fprintf(stderr,
			"xlb-agent: --nodeport-addresses %s: want CIDR[,CIDR...] or primary\n",
			arg);
		ret = -1;
		break;
	}
	free(dup);
	return ret;
}

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
	{ "node-labels", required_argument, NULL, OPT_NODE_LABELS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

/* The name of long option @opt, for messages. */
static const char *opt_name(int opt)
{
	for (const struct option *op = opts; op->name; op++)
		if (op->val == opt)
			return op->name;
	return "?";
}

static void set_defaults(struct agent *a)
{
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
}

/* What to serve and where from: uplinks, node, sources, HTTP servers. 1: not
 * one of these options. */
static int parse_input_opt(struct agent *a, int opt, const char *arg)
{
	switch (opt) {
	case 'i':
		if (a->n_ifaces == MAX_IFACES) {
			fprintf(stderr, "xlb-agent: at most %d --iface\n", MAX_IFACES);
			return -1;
		}
		a->ifnames[a->n_ifaces++] = arg;
		break;
	case 'c':
		a->config = arg;
		break;
	case 'n':
		a->node_name = arg;
		break;
	case 'P':
		a->pin_dir = arg;
		break;
	case 'U':
		a->uninstall = true;
		break;
	/* An empty value means "not given": a ConfigMap can leave
	 * these blank. */
	case 'K':
		a->kubeconfig = *arg ? arg : NULL;
		break;
	case 'A':
		a->apiserver = *arg ? arg : NULL;
		break;
	case 'H':
		a->healthz_bind = arg;
		break;
	case OPT_METRICS_BIND:
		a->metrics_bind = arg;
		break;
	case 'N':
		if (*arg && parse_np_cidrs(a, arg))
			return -1;
		break;
	case OPT_NODE_LABELS:
		if (parse_node_labels(a, arg))
			return -1;
		break;
	default:
		return 1; /* not one of these */
	}
	return 0;
}

/* Which hook each uplink gets and how local Pods are reached. */
static int parse_hook_opt(struct agent *a, int opt, const char *arg)
{
	switch (opt) {
	case 'a':
		if (xlb_parse_attach(arg, &a->attach)) {
			fprintf(stderr, "xlb-agent: --attach %s: want auto, xdp or tc\n", arg);
			return -1;
		}
		break;
	case 'g':
		if (!strcmp(arg, "off"))
			a->no_cgroup = true;
		else
			a->cgroup = arg;
		break;
	case 'L':
		if (strcmp(arg, "peer") && strcmp(arg, "stack")) {
			fprintf(stderr, "xlb-agent: --local-delivery %s: want peer or stack\n",
				arg);
			return -1;
		}
		a->local_stack = !strcmp(arg, "stack");
		break;
	case 'x':
		/* The old flag: native and auto map onto --attach;
		 * generic XDP is not offered any more. */
		if (!strcmp(arg, "native")) {
			a->attach = XLB_ATTACH_XDP;
		} else if (!strcmp(arg, "auto")) {
			a->attach = XLB_ATTACH_AUTO;
		} else {
			fprintf(stderr,
				"xlb-agent: --xdp-mode %s: generic XDP sees GRO super-packets with partial checksums and is not supported; use --attach tc (or auto)\n",
				arg);
			return -1;
		}
		break;
	default:
		return 1; /* not one of these */
	}
	return 0;
}

/* SNAT, Maglev and conntrack. */
static int parse_nat_opt(struct agent *a, int opt, const char *arg)
{
	unsigned int lo, hi;
	char tail;

	switch (opt) {
	case 's':
		if (sscanf(arg, "%u-%u%c", &lo, &hi, &tail) != 2 || !lo || lo > hi || hi > 65535) {
			fprintf(stderr, "xlb-agent: --snat-ports %s: want MIN-MAX within 1-65535\n",
				arg);
			return -1;
		}
		a->dpo.cfg.snat_port_min = lo;
		a->dpo.cfg.snat_port_max = hi;
		break;
	case 'R':
		if (parse_snat_addrs(a, arg))
			return -1;
		break;
	case 'm':
		a->maglev_min = strtoul(arg, NULL, 10);
		if (!maglev_size_ok(a->maglev_min)) {
			fprintf(stderr,
				"xlb-agent: --maglev-min %s: want one of 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071\n",
				arg);
			return -1;
		}
		break;
	case 'S':
		a->maglev_slots = strtoul(arg, NULL, 10);
		if (a->maglev_slots < 100 || a->maglev_slots > 100000) {
			fprintf(stderr, "xlb-agent: --maglev-slots %s: want 100..100000\n", arg);
			return -1;
		}
		break;
	case 'T':
		if (parse_ct_timeouts(&a->dpo.cfg, arg))
			return -1;
		break;
	case 'C':
		a->dpo.max_ct = strtoul(arg, NULL, 10);
		break;
	default:
		return 1; /* not one of these */
	}
	return 0;
}

/* Map sizes and the sync period: whole numbers with an upper bound. */
static int parse_limit_opt(struct agent *a, int opt, const char *arg)
{
	switch (opt) {
	case 'F':
	case 'B':
	case 'M':
	case 'Y': {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);

		if (*end || !*arg || !v || v > (opt == 'Y' ? 86400 : 1u << 24)) {
			fprintf(stderr, "xlb-agent: --%s %s: want 1..%u\n",
				opt == 'F' ? "max-services" :
				opt == 'B' ? "max-backends" :
				opt == 'M' ? "max-tables" :
					     "sync-period",
				arg, opt == 'Y' ? 86400 : 1u << 24);
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
	default:
		return 1; /* not one of these */
	}
	return 0;
}

/* LoadBalancer IPs: class, Leases, L2 hold, leader election, BGP. */
static int parse_lb_opt(struct agent *a, int opt, const char *arg)
{
	switch (opt) {
	case 'b':
		a->lb_class = *arg ? arg : NULL;
		break;
	case 'E':
		a->lease_ns = arg;
		break;
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
				    opt == '2' ? &a->le_renew_ms :
						 &a->le_retry_ms;
		char *end;
		double v = strtod(arg, &end);

		if (*end || v < 0.1 || v > 3600) {
			fprintf(stderr, "xlb-agent: --%s %s: want seconds, 0.1..3600\n",
				opt_name(opt), arg);
			return -1;
		}
		*dst = (unsigned int)(v * 1000);
		break;
	}
	case OPT_BGP_TABLE: {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);

		/* 0 is "unspecified"; 253..255 are default, main, local. */
		if (*end || !*arg || !v || v > 0xffffffffUL || (v >= 253 && v <= 255)) {
			fprintf(stderr,
				"xlb-agent: --bgp-table %s: want a table id, 1..2^32-1 but not 253-255 (default, main, local)\n",
				arg);
			return -1;
		}
		a->bgp_table = (uint32_t)v;
		break;
	}
	case OPT_WITHDRAW_ON_EXIT:
		a->withdraw_on_exit = true;
		break;
	default:
		return 1; /* not one of these */
	}
	return 0;
}

/* Options that only make sense together, and the uplinks resolved. */
static int check_args(struct agent *a)
{
	if (!a->n_ifaces) {
		fprintf(stderr, "xlb-agent: at least one --iface is needed\n");
		return -1;
	}
	if (a->config && (a->kubeconfig || a->apiserver)) {
		fprintf(stderr,
			"xlb-agent: one source only: --config FILE, or --kubeconfig/--apiserver\n");
		return -1;
	}
	if (a->n_node_labels && !a->config) {
		fprintf(stderr,
			"xlb-agent: --node-labels is for --config mode; in Kubernetes mode the Node object's labels count\n");
		return -1;
	}
	if (!a->uninstall && !a->config && !a->kubeconfig && !a->apiserver &&
	    !getenv("KUBERNETES_SERVICE_HOST")) {
		fprintf(stderr,
			"xlb-agent: no source: give --config FILE, --kubeconfig FILE or --apiserver URL (or run in a Pod)\n");
		return -1;
	}
	/* A SNAT port inside the NodePort range would look like a NodePort
	 * once its reply entry is gone. */
	if (a->dpo.cfg.snat_port_min <= 32767 && a->dpo.cfg.snat_port_max >= 30000)
		pr_warn("--snat-ports %u-%u overlaps Kubernetes' default NodePort range 30000-32767\n",
			a->dpo.cfg.snat_port_min, a->dpo.cfg.snat_port_max);
	if (a->local_stack)
		a->dpo.cfg.flags |= XLB_CFG_F_LOCAL_STACK;
	if (a->l2_hold_ms <= a->lease_renew_ms || a->l2_hold_ms >= a->lease_duration_ms) {
		fprintf(stderr,
			"xlb-agent: want --node-lease-renew < --l2-hold < --node-lease-duration (%.1f, %.1f, %.1f s): answers must outlive one missed refresh and end before another node takes over\n",
			a->lease_renew_ms / 1e3, a->l2_hold_ms / 1e3, a->lease_duration_ms / 1e3);
		return -1;
	}
	if (a->le_retry_ms >= a->le_renew_ms || a->le_renew_ms >= a->le_duration_ms) {
		fprintf(stderr,
			"xlb-agent: want --leader-elect-retry-period < --leader-elect-renew-deadline < --leader-elect-lease-duration\n");
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

int agent_parse_args(struct agent *a, int argc, char **argv)
{
	int opt, err, verbose = 0;

	set_defaults(a);
	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		if (opt == 'v') {
			verbose++;
			continue;
		}
		if (opt == 'h') {
			agent_usage(stdout);
			exit(0);
		}
		err = parse_input_opt(a, opt, optarg);
		if (err > 0)
			err = parse_hook_opt(a, opt, optarg);
		if (err > 0)
			err = parse_nat_opt(a, opt, optarg);
		if (err > 0)
			err = parse_limit_opt(a, opt, optarg);
		if (err > 0)
			err = parse_lb_opt(a, opt, optarg);
		if (err > 0)
			agent_usage(stderr);
		if (err)
			return -1;
	}
	if (optind != argc) {
		fprintf(stderr, "xlb-agent: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	xlb_log_set_level(verbose > 1 ? XLB_LOG_DEBUG : verbose ? XLB_LOG_INFO : XLB_LOG_INFO);
	return check_args(a);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlb-agent: Services from a file (or, later, the API server) into the
 * datapath.
 *
 *   file --inotify/SIGHUP--> parse --> object cache --> translate --> sync --> maps
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
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>

#include "attach.h"
#include "datapath.h"
#include "k8s.h"
#include "log.h"
#include "sync.h"
#include "translate.h"

#define MAX_IFACES 16

struct agent {
	const char *ifnames[MAX_IFACES];
	int ifindex[MAX_IFACES];
	int n_ifaces;
	const char *config;
	const char *node_name;
	const char *pin_dir;
	enum xlb_xdp_mode xdp_mode;
	struct xlb_dp_opts dpo;
	__u32 maglev_min;
	bool uninstall;

	struct xlb_dp *dp;
	struct xlb_sync *sync;
	struct k8s_cache *cache;	/* last good objects */
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: xlb-agent --iface IF [--iface IF2 ...] --config FILE --node-name NAME\n"
"                 [--pin-dir DIR] [--xdp-mode native|generic|auto]\n"
"                 [--snat-ports MIN-MAX] [--maglev-min M] [--ct-max N] [-v]\n"
"       xlb-agent --uninstall --iface IF [--iface IF2 ...] [--pin-dir DIR]\n"
"\n"
"  --iface IF        uplink to serve (NodePort answers on its addresses)\n"
"  --config FILE     Kubernetes Services and EndpointSlices, YAML or JSON;\n"
"                    re-read when it changes and on SIGHUP\n"
"  --node-name NAME  endpoints with this nodeName are local\n"
"  --pin-dir DIR     where maps and programs are pinned (default %s)\n"
"  --xdp-mode MODE   native, generic or auto (default auto)\n"
"  --snat-ports R    SNAT source ports for remote backends (default 61000-65000)\n"
"  --maglev-min M    smallest Maglev table (prime; default 16381)\n"
"  --ct-max N        conntrack entries (default %u)\n"
"  --uninstall       detach the programs and remove the pins, then exit\n",
		XLB_PIN_DIR_DEFAULT, XLB_MAX_CT);
}

static int parse_args(struct agent *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "config", required_argument, NULL, 'c' },
		{ "node-name", required_argument, NULL, 'n' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "xdp-mode", required_argument, NULL, 'x' },
		{ "snat-ports", required_argument, NULL, 's' },
		{ "maglev-min", required_argument, NULL, 'm' },
		{ "ct-max", required_argument, NULL, 'C' },
		{ "uninstall", no_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int opt, verbose = 0;
	unsigned int lo, hi;
	char tail;

	a->pin_dir = XLB_PIN_DIR_DEFAULT;
	a->dpo.cfg = (struct xlb_cfg)XLB_CFG_DEFAULT;
	a->maglev_min = 16381;
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
		case 'x':
			if (xlb_parse_xdp_mode(optarg, &a->xdp_mode)) {
				fprintf(stderr, "xlb-agent: --xdp-mode %s: want native, generic or auto\n",
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
		case 'm':
			a->maglev_min = strtoul(optarg, NULL, 10);
			break;
		case 'C':
			a->dpo.max_ct = strtoul(optarg, NULL, 10);
			break;
		case 'U': a->uninstall = true; break;
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
	if (!a->uninstall && (!a->config || !a->node_name)) {
		fprintf(stderr, "xlb-agent: --config and --node-name are needed\n");
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

/* The node's IPv4 addresses on the served interfaces: NodePort answers on
 * them, SNAT uses each interface's first one. */
static int node_addresses(struct agent *a)
{
	struct xlb_addr_key addrs[64];
	struct xlb_node_iface ifs[MAX_IFACES];
	struct ifaddrs *ifa, *it;
	size_t na = 0, ni = 0;
	int err;

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
			if (na < sizeof(addrs) / sizeof(addrs[0]))
				addrs[na++] = (struct xlb_addr_key){
					.addr.v4 = sin->sin_addr.s_addr,
					.family = XLB_AF_INET };
		}
		if (!first)
			pr_warn("interface %s has no IPv4 address: no NodePort on it, no SNAT through it\n",
				a->ifnames[i]);
		else
			ifs[ni++] = (struct xlb_node_iface){ .ifindex = a->ifindex[i],
							     .addr4 = first };
	}
	freeifaddrs(ifa);
	err = xlb_sync_node(a->sync, addrs, na, ifs, ni);
	if (!err)
		pr_info("node: %zu address(es) on %d interface(s)\n", na, a->n_ifaces);
	return err;
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
	struct xlb_sync_stats st;
	struct k8s_cache *c = NULL;
	struct timespec t0, t1;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = k8s_cache_load_file(a->config, &c, &errs);
	print_errors(&errs);
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

	err = xlb_translate(c, &to, &d, &errs);
	print_errors(&errs);
	k8s_errors_free(&errs);
	if (err) {
		pr_err("translate: %s; keeping the last good state\n", strerror(-err));
		k8s_cache_free(c);
		return err;
	}
	err = xlb_sync_apply(a->sync, &d, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pr_info("sync: %zu service ports; +%u ~%u -%u services, %u tables built, "
		"+%u -%u backends, %u frontends written, %u removed, %u errors, %.1f ms\n",
		d.n, st.svc_added, st.svc_changed, st.svc_removed, st.tables_built,
		st.backends_added, st.backends_removed, st.frontends_written,
		st.frontends_removed, st.errors,
		(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	xlb_desired_free(&d);
	k8s_cache_free(a->cache);
	a->cache = c;
	/* Tests and scripts wait for this line (and "ready" after attach). */
	if (!first)
		fprintf(stderr, "xlb-agent: synced\n");
	return err;
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
	if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE |
			      IN_DELETE | IN_MODIFY) < 0) {
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

			if (ev->len && !strcmp(ev->name, base))
				hit = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	return hit;
}

static int run(struct agent *a)
{
	char base[NAME_MAX + 1];
	struct pollfd pfd[2];
	sigset_t mask;
	int sfd, ifd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	ifd = watch_config(a->config, base, sizeof(base));
	if (sfd < 0 || ifd < 0) {
		pr_err("set up signal and file watches: %s\n",
		       strerror(sfd < 0 ? errno : -ifd));
		return 1;
	}
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = ifd, .events = POLLIN };
	for (;;) {
		struct signalfd_siginfo si;
		bool dirty = false;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("poll: %s\n", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				pr_info("SIGHUP: reloading %s\n", a->config);
				dirty = true;
			} else {
				pr_info("%s: exiting; programs stay attached, maps pinned in %s\n",
					strsignal(si.ssi_signo), a->pin_dir);
				return 0;
			}
		}
		if (pfd[1].revents & POLLIN && config_touched(ifd, base)) {
			/* Let a burst of writes settle into one reload. */
			usleep(100 * 1000);
			config_touched(ifd, base);
			pr_info("%s changed: reloading\n", a->config);
			dirty = true;
		}
		if (dirty) {
			node_addresses(a);
			reload(a, false);
		}
	}
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
		err |= xlb_dp_unpin(a.pin_dir);
		pr_info("uninstalled from %d interface(s), pins under %s removed\n",
			a.n_ifaces, a.pin_dir);
		return err ? 1 : 0;
	}

	a.dpo.pin_dir = a.pin_dir;
	a.dp = xlb_dp_load(&a.dpo);
	if (!a.dp)
		return 1;
	so.maglev_min = a.maglev_min;
	so.max_tables = a.dpo.max_tables;
	a.sync = xlb_sync_new(a.dp, &so);
	if (!a.sync) {
		pr_err("read pinned state: %s\n", strerror(errno));
		goto out;
	}
	/* Maps first, programs after: a new program never runs on maps
	 * that do not yet hold this node's addresses and services. */
	if (node_addresses(&a))
		goto out;
	if (reload(&a, true) == -EBADMSG)
		pr_warn("starting with the state the maps already hold\n");
	for (int i = 0; i < a.n_ifaces; i++) {
		if (xlb_attach_tc(a.ifindex[i], a.ifnames[i], xlb_dp_tc_fd(a.dp),
				  xlb_dp_tc_ingress_fd(a.dp)) ||
		    xlb_attach_xdp(a.ifindex[i], a.ifnames[i], xlb_dp_xdp_fd(a.dp),
				   a.xdp_mode))
			goto out;
	}
	fprintf(stderr, "xlb-agent: ready\n");
	rc = run(&a);
out:
	xlb_sync_free(a.sync);
	k8s_cache_free(a.cache);
	xlb_dp_close(a.dp);
	return rc;
}

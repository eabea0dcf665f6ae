// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlb-agent: Services from a file or the Kubernetes API server into the
 * datapath.
 *
 *   file --inotify/SIGHUP--> parse --> object cache --> translate --> sync --> maps
 *   API server --list/watch (reflector threads)--> object cache --+
 *                                                 (batched, ~50 ms)
 *
 * This file is the process: start-up, the run loop over signals, the
 * source's events and the timers, and shutdown. The steps live beside it
 * (agent.h names them): options.c, node.c, apply.c, source/{file,kube}.c.
 *
 * Both modes serve kube-proxy's health endpoints: /healthz and /livez on
 * --healthz-bind-address and one server per healthCheckNodePort.
 *
 * SIGTERM/SIGINT leave the programs attached and the maps pinned: traffic
 * keeps flowing while no agent runs, and the next agent adopts the maps
 * (conntrack, SNAT bindings, service ids) and swaps in its programs.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include "agent.h"
#include "kube/source.h"
#include "lb/announce.h"
#include "lb/lbctl.h"
#include "lib/log.h"
#include "serve/health.h"
#include "serve/metrics.h"
#include "sync.h"

static uint64_t source_pending_since(void *ctx)
{
	return kube_source_pending_since(ctx);
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
		.bind = a->metrics_bind,
		.dp = a->dp,
		.snat_port_min = a->dpo.cfg.snat_port_min,
		.snat_port_max = a->dpo.cfg.snat_port_max,
	};

	if (a->src) {
		mo.n_watches = kube_source_reflectors(a->src, mo.watches, XLB_METRICS_MAX_WATCHES);
		if (a->leases && mo.n_watches < XLB_METRICS_MAX_WATCHES &&
		    xlb_leases_reflector(a->leases))
			mo.watches[mo.n_watches++] = xlb_leases_reflector(a->leases);
	}

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

static void signal_mask(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
}

/* The next wake-up: the L2 refresh, and in Kubernetes mode a sync retry
 * or the periodic full sync. */
static int poll_timeout(const struct agent *a)
{
	uint64_t t = xlb_mono_ms();
	int timeout = a->next_refresh_ms > t ? (int)(a->next_refresh_ms - t) : 0;

	if (a->src && agent_kube_poll_timeout(a) < timeout)
		timeout = agent_kube_poll_timeout(a);
	return timeout;
}

/* Once per --node-lease-renew. */
static void lb_tick(struct agent *a, uint64_t t)
{
	/* Keep the datapath's ARP/NDP answers alive, but only while our
	 * Lease tells the others we are: after a freeze the answers must
	 * not come back before the Lease does. */
	if (a->leases && !xlb_leases_alive_now(a->leases)) {
		xlb_announcer_withdraw(a->announcer);
		a->withdrawn = true;
	} else if (a->leases && a->withdrawn && a->ls.self_live) {
		a->withdrawn = false;
		agent_kube_lb(a);
	} else if (a->announcer) {
		xlb_announcer_refresh(a->announcer);
	}
	/* A failed status write (API server away) is retried even when no
	 * event comes to trigger it. */
	if (a->lb_retry && t - a->lb_last_ms >= LB_RETRY_MS)
		agent_kube_lb(a);
	a->next_refresh_ms = t + a->lease_renew_ms;
}

/* 1: SIGHUP, sync everything again; -1: SIGTERM/SIGINT, exit; 0: none. */
static int on_signal(struct agent *a, int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP) {
		pr_info("SIGHUP: %s\n", a->src ? "full sync" : "reloading");
		return 1;
	}
	pr_info("%s: exiting; programs stay attached, maps pinned in %s\n", strsignal(si.ssi_signo),
		a->pin_dir);
	return -1;
}

/* Kubernetes mode: @events (the source's fd fired), @leases (the
 * Leases' did), @dirty (SIGHUP). */
static void kube_wakeup(struct agent *a, bool events, bool leases, bool dirty)
{
	unsigned int ch = 0;

	if (events) {
		/*
		 * Let a burst of events settle into one full sync. An
		 * incremental one costs the changed Services only: the first
		 * change after a quiet spell is applied at once, later ones
		 * at most every BATCH_MS (what arrives meanwhile is marked and
		 * goes into the next), like kube-proxy's minSyncPeriod.
		 */
		uint64_t now = xlb_mono_ms();

		if (!a->have_cur)
			usleep(BATCH_MS * 1000);
		else if (now < a->last_sync_ms + BATCH_MS)
			usleep((a->last_sync_ms + BATCH_MS - now) * 1000);
		ch = kube_source_take_changes(a->src);
	}
	if (ch & KUBE_SRC_NODE)
		agent_node_addresses(a);
	if (a->retry_ms && xlb_mono_ms() >= a->next_retry)
		dirty = true;
	if (a->next_resync && xlb_mono_ms() >= a->next_resync) {
		/* Also picks up interface address changes (the SNAT
		 * source), as file mode does. */
		pr_info("periodic full sync (--sync-period %u s)\n", a->sync_period_ms / 1000);
		agent_node_addresses(a);
		dirty = true;
	}
	/* A Node change can end this node's eligibility (drain): BGP routes
	 * follow it at once. */
	if ((dirty || ch & (KUBE_SRC_OBJECTS | KUBE_SRC_NODE)) && kube_source_synced(a->src))
		agent_kube_sync(a, false, dirty);
	else if (dirty)
		a->next_resync = xlb_mono_ms() + a->sync_period_ms;
	if (leases)
		agent_kube_leases_changed(a);
	else if ((dirty || ch & KUBE_SRC_OBJECTS) && kube_source_synced(a->src))
		agent_kube_lb(a);
}

/* File mode: @events (inotify fired on @ifd), @idle, @dirty (SIGHUP). */
static void file_wakeup(struct agent *a, int ifd, const char *base, bool events, bool idle,
			bool dirty)
{
	if (events && agent_file_changed(ifd, base)) {
		/* Let a burst of writes settle into one reload: wait until
		 * 100 ms pass without an event (at most 1 s). */
		for (int i = 0; i < 10; i++) {
			struct pollfd q = { .fd = ifd, .events = POLLIN };

			if (poll(&q, 1, 100) <= 0)
				break;
			agent_file_changed(ifd, base);
		}
		pr_info("%s changed: reloading\n", a->config);
		dirty = true;
	}
	if (idle) {
		/* Quiet for a while: pick up address changes (they are
		 * written only when they differ), and retry a sync that
		 * failed (e.g. a map was full). */
		agent_node_addresses(a);
		dirty = a->retry;
	}
	if (dirty) {
		agent_node_addresses(a);
		a->retry = agent_file_reload(a, false) != 0 && !a->last_bad_file;
	}
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
	ifd = a->src ? kube_source_fd(a->src) : agent_file_watch(a->config, base, sizeof(base));
	if (sfd < 0 || ifd < 0) {
		pr_err("set up signal and file watches: %s\n", strerror(sfd < 0 ? errno : -ifd));
		return 1;
	}
	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = ifd, .events = POLLIN };
	if (a->leases)
		pfd[npfd++] = (struct pollfd){ .fd = xlb_leases_fd(a->leases), .events = POLLIN };
	for (;;) {
		int polled = poll(pfd, npfd, poll_timeout(a)), sig = 0;
		uint64_t t = xlb_mono_ms();
		bool idle, events;

		if (t >= a->next_refresh_ms)
			lb_tick(a, t);
		idle = !polled && t - a->last_idle_ms >= XLB_IDLE_MS;
		if (idle)
			a->last_idle_ms = t;

		if (polled < 0) {
			if (errno == EINTR)
				continue;
			pr_err("poll: %s\n", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN)
			sig = on_signal(a, sfd);
		if (sig < 0)
			return 0;
		/* Quiet for a while: Pod veths come and go. */
		if (idle)
			agent_sync_devs(a);
		events = pfd[1].revents & POLLIN;
		if (a->src)
			kube_wakeup(a, events, npfd > 2 && pfd[2].revents & POLLIN, sig > 0);
		else
			file_wakeup(a, ifd, base, events, idle, sig > 0);
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

/* --uninstall: programs off every uplink and the cgroup, pins removed. */
static int uninstall(const struct agent *a)
{
	int err = 0;

	for (int i = 0; i < a->n_ifaces; i++)
		err |= xlb_detach(a->ifindex[i], a->ifnames[i]);
	if (!a->no_cgroup)
		err |= xlb_detach_cgroup(a->cgroup);
	err |= xlb_dp_unpin(a->pin_dir);
	pr_info("uninstalled from %d interface(s), pins under %s removed\n", a->n_ifaces,
		a->pin_dir);
	return err ? 1 : 0;
}

/* What the pinned maps already hold (sync adopts it), the ARP/NDP
 * announcer on the uplinks and the BGP routing table. */
static int open_state(struct agent *a)
{
	struct xlb_sync_opts so = {
		.maglev_min = a->maglev_min,
		.maglev_slots = a->maglev_slots,
		.max_tables = a->dpo.max_tables,
	};
	struct xlb_uplink ups[MAX_IFACES];

	a->sync = xlb_sync_new(a->dp, &so);
	if (!a->sync) {
		pr_err("read pinned state: %s\n", strerror(errno));
		return -1;
	}
	for (int i = 0; i < a->n_ifaces; i++)
		ups[i] = (struct xlb_uplink){ a->ifnames[i], a->ifindex[i] };
	a->announcer = xlb_announcer_new(a->dp, ups, a->n_ifaces, a->l2_hold_ms);
	if (!a->announcer) {
		pr_err("announcer: %s\n", strerror(errno));
		return -1;
	}
	a->bgp = xlb_bgp_open(a->bgp_table);
	if (!a->bgp) {
		pr_err("bgp: routing table %u: %s\n", a->bgp_table, strerror(errno));
		return -1;
	}
	return 0;
}

/* The source, the HTTP servers and the first sync. Maps first, programs
 * after: a new program never runs on maps that do not yet hold this node's
 * addresses and services. */
static int first_sync(struct agent *a)
{
	if (!a->config) {
		int err = agent_kube_start(a);

		if (err) {
			pr_err("Kubernetes source: %s\n", strerror(-err));
			return -1;
		}
	}
	if (!start_health(a) || !start_metrics(a))
		return -1;
	if (agent_node_addresses(a))
		return -1;
	if (a->src) {
		if (!agent_kube_initial_sync(a))
			pr_warn("API server: no complete list after %d s; serving the state the maps already hold until it comes\n",
				INITIAL_SYNC_MS / 1000);
	} else if (agent_file_reload(a, true) == -EBADMSG) {
		pr_warn("starting with the state the maps already hold\n");
	}
	return 0;
}

/* Our programs on the uplinks and the cgroup: from here on they serve. */
static int start_serving(struct agent *a)
{
	if (agent_attach_uplinks(a))
		return -1;
	if (!a->no_cgroup) {
		int fds[XLB_SOCK_MAX];

		for (int i = 0; i < XLB_SOCK_MAX; i++)
			fds[i] = xlb_dp_sock_fd(a->dp, i);
		/* Not fatal: the uplinks' datapath works without it. */
		xlb_attach_cgroup(a->cgroup, fds);
	}
	/* Our programs run now: the old layout's maps can go. */
	xlb_dp_migrate_finish(a->dp);
	/* Serving now: what the first sync wants may be announced. */
	a->attached = true;
	agent_bgp_update(a, XLB_BGP_ANNOUNCE);
	fprintf(stderr, "xlb-agent: ready\n");
	return 0;
}

/* Everything but the pins and the attached programs, which outlive us. */
static void teardown(struct agent *a)
{
	/* Leases first: the leader releases its Lease while the client
	 * still works. */
	xlb_leases_stop(a->leases);
	xlb_lbctl_free(a->lbctl);
	xlb_lease_state_free(&a->ls);
	xlb_bgp_close(a->bgp);
	free(a->bgp_want);
	xlb_announcer_free(a->announcer);
	/* Health first: its threads ask the source how fresh it is. */
	xlb_health_free(a->health);
	xlb_metrics_free(a->metrics);
	kube_source_free(a->src);
	xlb_desired_free(&a->cur);
	xlb_sync_free(a->sync);
	k8s_cache_free(a->cache);
	xlb_dp_close(a->dp);
}

int main(int argc, char **argv)
{
	struct agent a = { 0 };
	sigset_t mask;
	int rc = 1;

	setvbuf(stderr, NULL, _IOLBF, 0);
	xlb_log_hook_libs();
	if (agent_parse_args(&a, argc, argv)) {
		agent_usage(stderr);
		return 2;
	}
	if (a.uninstall)
		return uninstall(&a);

	raise_nofile();
	/* Before any thread (reflectors, HTTP servers) starts, so they all
	 * inherit the mask and SIGTERM reaches run()'s signalfd instead of
	 * killing the process from another thread. */
	signal_mask(&mask);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	agent_snat_ports_setup(&a);
	a.dpo.pin_dir = a.pin_dir;
	a.dp = xlb_dp_load(&a.dpo);
	if (!a.dp)
		return 1;
	if (open_state(&a) || first_sync(&a) || start_serving(&a))
		goto out;
	rc = run(&a);
	if (a.withdraw_on_exit) {
		/* Routes first: the programs stay attached and serve what
		 * the routers still send until they converge. */
		xlb_bgp_withdraw_all(a.bgp);
		xlb_announcer_withdraw(a.announcer);
		pr_info("--withdraw-on-exit: BGP routes and ARP/NDP answers withdrawn\n");
	}
out:
	teardown(&a);
	return rc;
}

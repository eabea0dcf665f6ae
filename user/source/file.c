// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * File mode (--config): Kubernetes objects from a YAML or JSON file,
 * watched with inotify and re-read on SIGHUP. A file that does not parse
 * changes nothing; a rejected object keeps its last good version. This
 * node is the only live agent the file knows of: it allocates the
 * LoadBalancer IPs itself and announces every one.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>

#include "agent.h"
#include "k8s/cache.h"
#include "lb/announce.h"
#include "lb/ipam.h"
#include "lib/log.h"
#include "serve/metrics.h"
#include "translate.h"

/* File mode: this node is the only live agent it knows of. */
static void announce_file(struct agent *a, const struct xlb_vip_plan *p)
{
	if (a->announcer && p) {
		xlb_announcer_apply(a->announcer, p);
		xlb_metrics_set_lb(a->metrics, p, -1);
	}
}

/* A rejected object keeps serving its last good version: move it from
 * the old cache into the new one. */
static void keep_rejected(struct agent *a, struct k8s_cache *c, const struct k8s_errors *errs)
{
	for (size_t i = 0; i < errs->n_rejected; i++) {
		const struct k8s_objkey *k = &errs->rejected[i];
		struct k8s_object *o = k8s_cache_take(a->cache, k->kind, k->ns, k->name);

		if (!o)
			continue;
		if (k8s_cache_put(c, o)) {
			k8s_object_free(o);
			continue;
		}
		pr_warn("%s %s/%s: keeping its last good version\n", k8s_kind_name(k->kind), k->ns,
			k->name);
	}
}

/* The file's objects into a new cache *@out; -errno: the file is not
 * there or does not parse. */
static int load(struct agent *a, struct k8s_cache **out)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	int err;

	err = k8s_cache_load_file(a->config, out, &errs);
	k8s_errors_log(&errs);
	a->last_bad_file = err != 0;
	if (err) {
		pr_err("config %s: %s; keeping the last good state\n", a->config,
		       err == -EBADMSG ? "not valid YAML/JSON" : strerror(-err));
		k8s_errors_free(&errs);
		return err;
	}
	keep_rejected(a, *out, &errs);
	if (errs.n_errors)
		pr_warn("config %s: %zu object(s) rejected, the rest applied\n", a->config,
			errs.n_rejected);
	k8s_errors_free(&errs);
	return 0;
}

/* LoadBalancer IPs allocated into @c, then the desired state and this
 * node's announcements from it. On failure @d and @plan hold nothing. */
static int prepare(struct agent *a, struct k8s_cache *c, struct xlb_desired *d,
		   struct xlb_vip_plan *plan)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_translate_opts to = { .node_name = a->node_name };
	struct xlb_ipam_opts io = { .lb_class = a->lb_class };
	/* This node is the only live agent it knows of. */
	const struct xlb_node_info me = { .name = a->node_name,
					  .labels = a->node_labels,
					  .n_labels = a->n_node_labels };
	int err;

	/* No API server keeps a status in file mode: allocate here. */
	if (xlb_ipam_apply_cache(c, &io) < 0) {
		pr_err("allocate LoadBalancer IPs: %s; keeping the last good state\n",
		       strerror(ENOMEM));
		return -ENOMEM;
	}
	err = xlb_translate(c, &to, d, &errs);
	k8s_errors_log(&errs);
	k8s_errors_free(&errs);
	if (err) {
		pr_err("translate: %s; keeping the last good state\n", strerror(-err));
		return err;
	}
	if (xlb_announce_plan(c, &me, 1, a->node_name, plan) || agent_bgp_plan(a, plan, d)) {
		pr_err("announce: plan: %s; keeping the last good state\n", strerror(ENOMEM));
		xlb_vip_plan_free(plan);
		xlb_desired_free(d);
		return -ENOMEM;
	}
	plan->bgp_table = a->bgp ? a->bgp_table : 0;
	return 0;
}

/*
 * Read the file and bring the datapath to it. A file that does not parse
 * changes nothing; objects that fail validation are reported and left out,
 * the rest is applied.
 */
int agent_file_reload(struct agent *a, bool first)
{
	struct xlb_desired d = { 0 };
	struct xlb_vip_plan plan = { 0 };
	struct k8s_cache *c = NULL;
	struct timespec t0;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = load(a, &c);
	if (err)
		return err;
	err = prepare(a, c, &d, &plan);
	if (err) {
		k8s_cache_free(c);
		return err;
	}
	/* Withdraw first: routers stop sending an address before the
	 * datapath stops serving it. */
	agent_bgp_update(a, XLB_BGP_WITHDRAW);
	err = agent_apply(a, &d, &t0, first);
	xlb_desired_free(&d);
	k8s_cache_free(a->cache);
	a->cache = c;
	announce_file(a, &plan);
	xlb_vip_plan_free(&plan);
	/* A failed sync may have left a frontend out: announce nothing new
	 * until it succeeds (the idle retry). */
	if (!err)
		agent_bgp_update(a, XLB_BGP_ANNOUNCE);
	return err;
}

int agent_file_watch(const char *path, char *base, size_t base_len)
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
bool agent_file_changed(int fd, const char *base)
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

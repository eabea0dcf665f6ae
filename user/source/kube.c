// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Kubernetes mode: the watch-fed source (kube/source.h) and the Leases
 * started from the kubeconfig or the Pod's service account, syncs batched,
 * retried and repeated like kube-proxy's, and after every change the
 * LoadBalancer steps: announce what this node owns, and on the leader
 * allocate and write status.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent.h"
#include "kube/client.h"
#include "kube/source.h"
#include "lb/announce.h"
#include "lb/lbctl.h"
#include "lb/lease.h"
#include "lib/log.h"
#include "serve/metrics.h"

struct bgp_ctx {
	struct agent *a;
	const struct xlb_desired *d;
	const struct k8s_node_state *node;
};

/* Under the source's lock: this node's BGP plan against @d. */
static int bgp_plan_locked(const struct k8s_cache *c, void *arg)
{
	struct bgp_ctx *x = arg;
	struct xlb_node_info me = { .name = x->a->node_name };
	cJSON *doc = cJSON_Parse(x->node->labels), *it;
	struct k8s_label *lb = calloc(cJSON_GetArraySize(doc) + 1, sizeof(*lb));
	struct xlb_vip_plan plan = { 0 };
	int err = -ENOMEM;

	if (!lb)
		goto out;
	me.labels = lb;
	cJSON_ArrayForEach(it, doc) if (cJSON_IsString(it))
		lb[me.n_labels++] = (struct k8s_label){ it->string, it->valuestring };
	err = xlb_announce_plan(c, &me, 1, x->a->node_name, &plan);
	if (!err)
		err = agent_bgp_plan(x->a, &plan, x->d);
	xlb_vip_plan_free(&plan);
out:
	free(lb);
	cJSON_Delete(doc);
	return err;
}

/* BGP needs no election: whether this node announces depends on this node
 * only (its endpoints, its labels against the pool's nodeSelector, and
 * that it is not being drained), so the live set is this node. Planned
 * before the datapath changes: withdrawals go first. */
static int bgp_plan(struct agent *a, const struct xlb_desired *d)
{
	struct k8s_node_state node;
	struct bgp_ctx x = { .a = a, .d = d, .node = &node };

	kube_source_node(a->src, &node);
	if (kube_source_with_cache(a->src, bgp_plan_locked, &x)) {
		pr_err("bgp: plan: %s; keeping the last good state\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (node.known && !node.eligible) {
		if (xlb_bgp_count(a->bgp))
			pr_info("bgp: node is being deleted or drained: withdrawing every address\n");
		a->n_bgp_want = 0;
	}
	return 0;
}

/*
 * Only the Services the reflectors marked since the last translate, into
 * a->cur in place, and only their service ports into the maps. -EAGAIN:
 * the change needs a full pass (nothing was applied).
 */
static int sync_incremental(struct agent *a, const struct timespec *t0)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_translate_opts to = { .node_name = a->node_name };
	const char **names = NULL;
	size_t *chg = NULL, n = 0;
	int err;

	err = kube_source_translate_update(a->src, &to, &a->cur, &chg, &n, &errs);
	k8s_errors_log(&errs);
	k8s_errors_free(&errs);
	if (err == -EAGAIN)
		return err;
	if (err) {
		pr_err("translate: %s; keeping the last good state\n", strerror(-err));
		return err;
	}
	names = calloc(n + 1, sizeof(*names));
	if (!names) {
		free(chg);
		a->have_cur = false; /* a->cur is ahead of the maps */
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		names[i] = a->cur.svcports[chg[i]].name;
	free(chg);
	err = bgp_plan(a, &a->cur);
	if (!err) {
		agent_bgp_update(a, XLB_BGP_WITHDRAW);
		err = agent_apply_names(a, &a->cur, names, n, t0);
	}
	free(names);
	return err;
}

/* Translate the cache as it is now and apply it: only what changed when
 * the last state is known and @full is not asked for, else everything. */
static int sync_once(struct agent *a, bool first, bool full)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_translate_opts to = { .node_name = a->node_name };
	struct xlb_desired d = { 0 };
	struct timespec t0;
	int err = -EAGAIN;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!full && a->have_cur)
		err = sync_incremental(a, &t0);
	if (err == -EAGAIN) {
		err = kube_source_translate(a->src, &to, &d, &errs);
		k8s_errors_log(&errs);
		k8s_errors_free(&errs);
		if (err) {
			pr_err("translate: %s; keeping the last good state\n", strerror(-err));
			return err;
		}
		err = bgp_plan(a, &d);
		if (err) {
			/* The marks went with the translate: full next time. */
			xlb_desired_free(&d);
			a->have_cur = false;
			return err;
		}
		agent_bgp_update(a, XLB_BGP_WITHDRAW);
		err = agent_apply(a, &d, &t0, first);
		xlb_desired_free(&a->cur);
		a->cur = d;
		a->have_cur = true;
	}
	if (err) {
		/* The maps hold part of it: the next sync is a full one. */
		a->have_cur = false;
		return err;
	}
	kube_source_applied(a->src);
	agent_bgp_update(a, XLB_BGP_ANNOUNCE);
	return 0;
}

/*
 * A sync with kube-proxy's recovery: a failed one (a map write, no memory)
 * is retried as a full one after 1 s doubling to 30 s. A full sync puts
 * off the periodic one (--sync-period, configSyncPeriod); an incremental
 * one does not: the period is what catches anything it might miss.
 */
void agent_kube_sync(struct agent *a, bool first, bool full)
{
	int err = sync_once(a, first, full || first);
	uint64_t now = xlb_mono_ms();

	if (err) {
		a->retry_ms = a->retry_ms ? (a->retry_ms >= 15000 ? 30000 : a->retry_ms * 2) : 1000;
		a->next_retry = now + a->retry_ms;
		pr_warn("sync: %s; keeping what the maps hold, retrying in %.0f s\n",
			strerror(-err), a->retry_ms / 1000.0);
	} else {
		a->retry_ms = 0;
	}
	if (full || first)
		a->next_resync = now + a->sync_period_ms;
	a->last_sync_ms = xlb_mono_ms();
}

/* poll() timeout until the next retry or periodic sync, and at most the
 * idle period (device refresh). */
int agent_kube_poll_timeout(const struct agent *a)
{
	uint64_t now = xlb_mono_ms(), next = a->next_resync;

	if (a->retry_ms && (!next || a->next_retry < next))
		next = a->next_retry;
	if (!next)
		return XLB_IDLE_MS;
	if (next <= now)
		return 0;
	return next - now > XLB_IDLE_MS ? XLB_IDLE_MS : (int)(next - now);
}

struct announce_ctx {
	struct agent *a;
	int err;
};

/* Under the source's lock: the plan points into the cached pools. */
static int announce_locked(const struct k8s_cache *c, void *arg)
{
	struct announce_ctx *x = arg;
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
		cJSON_ArrayForEach(it, docs[i])
		{
			if (!cJSON_IsString(it))
				continue;
			lb[n_lb++] = (struct k8s_label){ it->string, it->valuestring };
			live[i].n_labels++;
		}
	}
	x->err = xlb_announce_plan(c, live, a->ls.n_live, a->node_name, &p);
	if (!x->err) {
		p.bgp_table = a->bgp ? a->bgp_table : 0; /* for xlbctl */
		xlb_announcer_apply(a->announcer, &p);
		xlb_metrics_set_lb(a->metrics, &p, a->ls.leader);
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
void agent_kube_lb(struct agent *a)
{
	struct announce_ctx x = { .a = a };

	if (!a->ls.self_live) {
		xlb_announcer_withdraw(a->announcer);
		xlb_metrics_set_lb(a->metrics, NULL, a->ls.leader);
	} else if (kube_source_with_cache(a->src, announce_locked, &x))
		pr_err("announce: plan: %s\n", strerror(-x.err));
	a->lb_retry = false;
	if (a->lbctl && a->ls.leader)
		a->lb_retry = xlb_lbctl_run(a->lbctl) != 0;
	a->lb_last_ms = xlb_mono_ms();
}

void agent_kube_leases_changed(struct agent *a)
{
	struct xlb_lease_state s;
	bool was_live = a->ls.self_live, was_leader = a->ls.leader;

	if (xlb_leases_get(a->leases, &s))
		return;
	xlb_lease_state_free(&a->ls);
	a->ls = s;
	if (was_live != s.self_live)
		pr_info("lease: this node is %s\n",
			s.self_live ? "live" :
				      "not live (its Lease is not renewed): not answering ARP/NDP");
	if (was_leader != s.leader)
		pr_info("lease: %s\n",
			s.leader ? "leader: allocating LoadBalancer IPs" : "not the leader");
	pr_debug("lease: %zu live agent(s)\n", s.n_live);
	agent_kube_lb(a);
}

/* Start the Kubernetes source: kubeconfig, else in-cluster; --apiserver
 * replaces the server. */
/* The API server and credentials: kubeconfig, else in-cluster;
 * --apiserver replaces the server. */
static int config_for(struct agent *a, struct kube_config *out)
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

int agent_kube_start(struct agent *a)
{
	struct kube_config kc = { 0 }, kc2 = { 0 };
	struct kube_client *cl, *cl2;
	int ret;

	ret = config_for(a, &kc);
	if (ret)
		return ret;
	cl = kube_client_new(&kc, NULL);
	if (!cl) {
		ret = -errno;
		kube_config_free(&kc);
		return ret;
	}
	a->src = kube_source_new(cl, a->node_name);
	if (!a->src) {
		ret = -errno;
		kube_client_free(cl);
		return ret;
	}
	ret = kube_source_start(a->src);
	if (ret)
		return ret;
	{
		struct xlb_lease_opts lo = {
			.ns = a->lease_ns,
			.node = a->node_name,
			.renew_ms = a->lease_renew_ms,
			.duration_ms = a->lease_duration_ms,
			.elect = true,
			.le_duration_ms = a->le_duration_ms,
			.le_renew_deadline_ms = a->le_renew_ms,
			.le_retry_ms = a->le_retry_ms,
		};

		/* The Leases get a client (and connection) of their own: a
		 * renewal never waits behind a list, and stopping them can
		 * cancel their watch without touching the source's. */
		ret = config_for(a, &kc2);
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

/* Wait (bounded) for the first LIST of Services and EndpointSlices and
 * apply it. false: not there in time; the maps keep what they hold. */
bool agent_kube_initial_sync(struct agent *a)
{
	struct pollfd p = { .fd = kube_source_fd(a->src), .events = POLLIN };
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = INITIAL_SYNC_MS -
			    ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);

		if (kube_source_synced(a->src))
			break;
		if (left <= 0)
			return false;
		poll(&p, 1, (int)(left > 100 ? 100 : left));
	}
	if (kube_source_take_changes(a->src) & KUBE_SRC_NODE)
		agent_node_addresses(a);
	/* The Node LIST usually lands with the others: give it a moment. */
	usleep(BATCH_MS * 1000);
	if (kube_source_take_changes(a->src) & KUBE_SRC_NODE)
		agent_node_addresses(a);
	agent_kube_sync(a, true, true);
	agent_kube_lb(a);
	return true;
}

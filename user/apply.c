// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One sync, the same in both modes: desired state into the maps (sync.h),
 * the health check servers and the metrics, and the BGP routes that must
 * be withdrawn before it and announced after it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "lb/announce.h"
#include "lib/log.h"
#include "serve/health.h"
#include "serve/metrics.h"
#include "sync.h"

/* Bring the maps (all of them, or the service ports @names when @partial)
 * and the health check servers to @d. */
static int apply(struct agent *a, struct xlb_desired *d, bool partial, const char *const *names,
		 size_t n_names, const struct timespec *t0, bool first)
{
	struct xlb_sync_stats st;
	struct timespec t1;
	int err;

	err = partial ? xlb_sync_apply_names(a->sync, d, names, n_names, &st) :
			xlb_sync_apply(a->sync, d, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* An incremental sync that changed nothing (an event that did not
	 * change what translate makes of it) says so at debug level. */
	if (!partial || st.svc_added || st.svc_changed || st.svc_removed || st.errors)
		pr_info("sync: %zu service ports%s; +%u ~%u -%u services, %u tables built "
			"(%u with < 100 slots per backend), "
			"+%u -%u backends, %u frontends written, %u removed, %u errors, %.3f ms\n",
			d->n, partial ? " (incremental)" : "", st.svc_added, st.svc_changed,
			st.svc_removed, st.tables_built, st.tables_undersized, st.backends_added,
			st.backends_removed, st.frontends_written, st.frontends_removed, st.errors,
			(t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6);
	else
		pr_debug("sync: incremental, nothing changed\n");
	xlb_health_set_services(a->health, d);
	xlb_metrics_sync_done(a->metrics,
			      (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9, !err);
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

int agent_apply(struct agent *a, struct xlb_desired *d, const struct timespec *t0, bool first)
{
	return apply(a, d, false, NULL, 0, t0, first);
}

int agent_apply_names(struct agent *a, struct xlb_desired *d, const char *const *names, size_t n,
		      const struct timespec *t0)
{
	return apply(a, d, true, names, n, t0, false);
}

/* Does the datapath serve @ip once @d is synced? A VIP frontend of its
 * family (sync writes both). */
static bool servable(const struct xlb_desired *d, const struct k8s_ip *ip)
{
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
int agent_bgp_plan(struct agent *a, const struct xlb_vip_plan *p, const struct xlb_desired *d)
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
void agent_bgp_update(struct agent *a, enum xlb_bgp_phase phase)
{
	if (!a->bgp)
		return;
	if (!a->attached)
		phase &= ~XLB_BGP_ANNOUNCE;
	if (phase && xlb_bgp_set(a->bgp, a->bgp_want, a->n_bgp_want, phase))
		a->retry = true; /* tried again when idle */
}

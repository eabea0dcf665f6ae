// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lease: node liveness Leases and leader election (see lease.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <cjson/cJSON.h>

#include "lb/lease.h"
#include "lib/log.h"
#include "lib/util.h"
#include "kube/reflector.h"

#define MAX_NODES 4096

struct seen {
	char *holder; /* spec.holderIdentity ("" when released) */
	char *labels; /* metadata.labels, JSON */
	char *name;   /* metadata.name */
	char *rv;
	unsigned int duration_ms;
	uint64_t seen_ms; /* local time the record last changed */
};

struct xlb_leases {
	struct kube_client *kc;
	struct xlb_lease_opts o;
	char *ns, *node, *node_lease;
	char watch_path[256]; /* the reflector keeps pointing at it */
	CURL *h;
	pthread_t thread;
	bool started;
	int stop; /* atomic; stops the reflector and the client */
	int quit; /* atomic; stops the worker */
	int efd;
	struct kube_reflector *watch;

	pthread_mutex_t lock; /* seen, state, kick, labels */
	char *labels;	      /* our Node's labels, JSON */
	pthread_cond_t cond;
	struct seen *seen;
	size_t n_seen;
	bool kick;		    /* the watch changed something */
	struct xlb_lease_state pub; /* last published */

	/* thread-only */
	cJSON *mine;	     /* our node Lease as last written */
	uint64_t self_ok_ms; /* last successful renew of it */
	bool self_ever;
	cJSON *le_obs; /* leader Lease as last observed */
	char *le_obs_rv;
	uint64_t le_obs_ms; /* when it last changed (local) */
	bool leader;
	uint64_t le_ok_ms; /* last successful acquire/renew */
	uint64_t le_next_ms;
	uint64_t node_next_ms;
};

void xlb_micro_time(const struct timespec *t, char *buf, size_t len)
{
	struct tm tm;
	char s[32];

	gmtime_r(&t->tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.19s.%06uZ", s, (unsigned int)(t->tv_nsec / 1000) % 1000000u);
}

static void now_micro(char *buf, size_t len)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	xlb_micro_time(&t, buf, len);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- the watch on node Leases ----------------------------------------- */

static void seen_free(struct seen *s)
{
	free(s->labels);
	free(s->holder);
	free(s->name);
	free(s->rv);
}

/* Caller holds the lock. */
static void seen_put(struct xlb_leases *l, const cJSON *obj, uint64_t now)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds");
	const char *name = jstr(m, "name"), *rv = jstr(m, "resourceVersion");
	const char *holder = jstr(spec, "holderIdentity");
	struct seen *s = NULL;

	if (!name || !rv)
		return;
	for (size_t i = 0; i < l->n_seen; i++)
		if (!strcmp(l->seen[i].name, name))
			s = &l->seen[i];
	if (!s) {
		struct seen *v;

		if (l->n_seen == MAX_NODES)
			return;
		v = realloc(l->seen, (l->n_seen + 1) * sizeof(*v));
		if (!v)
			return;
		l->seen = v;
		s = &l->seen[l->n_seen++];
		memset(s, 0, sizeof(*s));
		s->name = strdup(name);
	} else if (s->rv && !strcmp(s->rv, rv)) {
		return; /* unchanged: its age keeps growing */
	}
	free(s->rv);
	free(s->holder);
	free(s->labels);
	s->rv = strdup(rv);
	s->holder = strdup(holder ? holder : "");
	{
		const cJSON *lb = cJSON_GetObjectItemCaseSensitive(m, "labels");

		s->labels = cJSON_IsObject(lb) ? cJSON_PrintUnformatted(lb) : strdup("{}");
	}
	s->duration_ms = cJSON_IsNumber(d) && d->valuedouble > 0 ?
				 (unsigned int)(d->valuedouble * 1000) :
				 l->o.duration_ms;
	s->seen_ms = now;
	if (!s->name || !s->rv || !s->holder || !s->labels) {
		seen_free(s);
		*s = l->seen[--l->n_seen];
	}
	l->kick = true;
}

static void seen_del(struct xlb_leases *l, const char *name)
{
	for (size_t i = 0; i < l->n_seen; i++) {
		if (strcmp(l->seen[i].name, name))
			continue;
		seen_free(&l->seen[i]);
		l->seen[i] = l->seen[--l->n_seen];
		l->kick = true;
		return;
	}
}

static int w_replace(void *ctx, const cJSON *items)
{
	struct xlb_leases *l = ctx;
	uint64_t now = xlb_mono_ms();
	const cJSON *it;

	pthread_mutex_lock(&l->lock);
	/* Drop what the list no longer has; keep the age of the rest. */
	for (size_t i = 0; i < l->n_seen;) {
		bool keep = false;

		cJSON_ArrayForEach(it, items)
		{
			const char *n = jstr(cJSON_GetObjectItemCaseSensitive(it, "metadata"),
					     "name");

			keep |= n && !strcmp(n, l->seen[i].name);
		}
		if (keep) {
			i++;
			continue;
		}
		seen_free(&l->seen[i]);
		l->seen[i] = l->seen[--l->n_seen];
		l->kick = true;
	}
	cJSON_ArrayForEach(it, items) seen_put(l, it, now);
	l->kick = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static void w_event(void *ctx, enum kube_event_type t, const cJSON *obj)
{
	struct xlb_leases *l = ctx;
	const char *name = jstr(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name");

	pthread_mutex_lock(&l->lock);
	if (t == KUBE_EVENT_DELETED && name)
		seen_del(l, name);
	else
		seen_put(l, obj, xlb_mono_ms());
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static const struct kube_reflector_ops watch_ops = { .replace = w_replace, .event = w_event };

/* ---- HTTP ------------------------------------------------------------- */

static int call(struct xlb_leases *l, const char *method, const char *path, const cJSON *body,
		unsigned int timeout_ms, cJSON **out, long *status)
{
	struct kube_body w = { .method = method, .timeout_ms = timeout_ms };
	struct kube_resp r;
	char *data = NULL;
	int err;

	*status = 0;
	if (out)
		*out = NULL;
	if (body) {
		data = cJSON_PrintUnformatted(body);
		if (!data)
			return -ENOMEM;
		w.content_type = "application/json";
		w.data = data;
	}
	err = kube_write(l->kc, l->h, path, &w, &r);
	free(data);
	if (err) {
		pr_debug("lease: %s %s: %s\n", method, path, r.err);
		kube_resp_free(&r);
		return err;
	}
	*status = r.status;
	if (out && r.body && r.status >= 200 && r.status < 300)
		*out = cJSON_Parse(r.body);
	if (r.status >= 300 && r.status != 404 && r.status != 409)
		pr_warn("lease: %s %s: HTTP %ld: %.200s\n", method, path, r.status,
			r.body ? r.body : "");
	kube_resp_free(&r);
	return 0;
}

static cJSON *lease_new(struct xlb_leases *l, const char *name, bool node_label,
			unsigned int duration_ms)
{
	cJSON *o = cJSON_CreateObject(), *m, *spec, *labels;
	char t[40];

	now_micro(t, sizeof(t));
	cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1");
	cJSON_AddStringToObject(o, "kind", "Lease");
	m = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddStringToObject(m, "namespace", l->ns);
	if (node_label) {
		labels = cJSON_AddObjectToObject(m, "labels");
		cJSON_AddStringToObject(labels, "xlb.io/lease", "node");
	}
	spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddStringToObject(spec, "holderIdentity", l->node);
	cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (duration_ms + 999) / 1000);
	cJSON_AddStringToObject(spec, "acquireTime", t);
	cJSON_AddStringToObject(spec, "renewTime", t);
	cJSON_AddNumberToObject(spec, "leaseTransitions", 0);
	return o;
}

static void set_str(cJSON *o, const char *k, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	cJSON_AddStringToObject(o, k, v);
}

static void set_num(cJSON *o, const char *k, double v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, k);
	cJSON_AddNumberToObject(o, k, v);
}

/* ---- node liveness ---------------------------------------------------- */

/* metadata.labels of our node Lease: the Node's labels and our marker. */
static void set_labels(struct xlb_leases *l, cJSON *lease)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(lease, "metadata"), *lb = NULL;

	if (!m)
		return;
	pthread_mutex_lock(&l->lock);
	if (l->labels && *l->labels)
		lb = cJSON_Parse(l->labels);
	pthread_mutex_unlock(&l->lock);
	if (!cJSON_IsObject(lb)) {
		cJSON_Delete(lb);
		lb = cJSON_CreateObject();
	}
	if (!lb)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(lb, "xlb.io/lease");
	cJSON_AddStringToObject(lb, "xlb.io/lease", "node");
	cJSON_DeleteItemFromObjectCaseSensitive(m, "labels");
	cJSON_AddItemToObject(m, "labels", lb);
}

void xlb_leases_set_labels(struct xlb_leases *l, const char *json)
{
	char *d = strdup(json ? json : "{}");

	if (!d)
		return;
	pthread_mutex_lock(&l->lock);
	free(l->labels);
	l->labels = d;
	pthread_mutex_unlock(&l->lock);
}

static void node_renew(struct xlb_leases *l)
{
	char coll[256], path[512], t[40];
	cJSON *got = NULL;
	long st;

	snprintf(coll, sizeof(coll), "/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->ns);
	snprintf(path, sizeof(path), "%s/%s", coll, l->node_lease);
	if (!l->mine) {
		/* No cached copy: read it (or create it). */
		if (call(l, "GET", path, NULL, l->o.renew_ms, &got, &st))
			return;
		if (st == 404) {
			cJSON *o = lease_new(l, l->node_lease, true, l->o.duration_ms);

			if (o)
				set_labels(l, o);
			if (o && !call(l, "POST", coll, o, l->o.renew_ms, &got, &st) && st == 201) {
				l->mine = got;
				__atomic_store_n(&l->self_ok_ms, xlb_mono_ms(), __ATOMIC_RELAXED);
				l->self_ever = true;
				pr_info("lease: %s/%s created: this node is live\n", l->ns,
					l->node_lease);
			} else {
				cJSON_Delete(got);
			}
			cJSON_Delete(o);
			return;
		}
		if (st != 200 || !got) {
			cJSON_Delete(got);
			return;
		}
		l->mine = got;
	}
	set_labels(l, l->mine);
	{
		cJSON *spec = cJSON_GetObjectItemCaseSensitive(l->mine, "spec");

		if (!spec)
			spec = cJSON_AddObjectToObject(l->mine, "spec");
		now_micro(t, sizeof(t));
		if (!jstr(spec, "holderIdentity") ||
		    strcmp(jstr(spec, "holderIdentity"), l->node)) {
			set_str(spec, "holderIdentity", l->node);
			set_str(spec, "acquireTime", t);
		}
		set_num(spec, "leaseDurationSeconds", (l->o.duration_ms + 999) / 1000);
		set_str(spec, "renewTime", t);
	}
	if (call(l, "PUT", path, l->mine, l->o.renew_ms, &got, &st))
		return;
	if (st == 200 && got) {
		cJSON_Delete(l->mine);
		l->mine = got;
		__atomic_store_n(&l->self_ok_ms, xlb_mono_ms(), __ATOMIC_RELAXED);
		l->self_ever = true;
		return;
	}
	/* 409 (someone wrote it) or 404 (deleted): read it afresh next time. */
	cJSON_Delete(got);
	cJSON_Delete(l->mine);
	l->mine = NULL;
}

/* ---- leader election (client-go tryAcquireOrRenew) -------------------- */

static void le_observe(struct xlb_leases *l, const cJSON *rec, uint64_t now)
{
	const char *rv = jstr(cJSON_GetObjectItemCaseSensitive(rec, "metadata"), "resourceVersion");

	if (rv && l->le_obs_rv && !strcmp(rv, l->le_obs_rv))
		return;
	free(l->le_obs_rv);
	l->le_obs_rv = rv ? strdup(rv) : NULL;
	l->le_obs_ms = now;
}

static bool le_try(struct xlb_leases *l)
{
	char coll[256], path[512], t[40];
	cJSON *got = NULL, *spec, *o;
	const cJSON *d;
	const char *holder;
	uint64_t now = xlb_mono_ms();
	unsigned int dur;
	long st;

	snprintf(coll, sizeof(coll), "/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->ns);
	snprintf(path, sizeof(path), "%s/" XLB_LEASE_LEADER, coll);
	if (call(l, "GET", path, NULL, l->o.le_retry_ms, &got, &st))
		return false;
	if (st == 404) {
		o = lease_new(l, XLB_LEASE_LEADER, false, l->o.le_duration_ms);
		if (!o)
			return false;
		if (call(l, "POST", coll, o, l->o.le_retry_ms, &got, &st) || st != 201) {
			cJSON_Delete(o);
			cJSON_Delete(got);
			return false; /* 409: another candidate created it first */
		}
		le_observe(l, got, now);
		cJSON_Delete(o);
		cJSON_Delete(got);
		return true;
	}
	if (st != 200 || !got) {
		cJSON_Delete(got);
		return false;
	}
	le_observe(l, got, now);
	spec = cJSON_GetObjectItemCaseSensitive(got, "spec");
	if (!spec)
		spec = cJSON_AddObjectToObject(got, "spec");
	holder = jstr(spec, "holderIdentity");
	d = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds");
	dur = cJSON_IsNumber(d) ? (unsigned int)(d->valuedouble * 1000) : l->o.le_duration_ms;
	/* Held by someone else and not expired by OUR clock: follower. */
	if (holder && *holder && strcmp(holder, l->node) && l->le_obs_ms + dur > now) {
		cJSON_Delete(got);
		return false;
	}
	now_micro(t, sizeof(t));
	if (!holder || strcmp(holder, l->node)) {
		const cJSON *tr = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");

		set_num(spec, "leaseTransitions", (cJSON_IsNumber(tr) ? tr->valuedouble : 0) + 1);
		set_str(spec, "acquireTime", t);
		set_str(spec, "holderIdentity", l->node);
	}
	set_str(spec, "renewTime", t);
	set_num(spec, "leaseDurationSeconds", (l->o.le_duration_ms + 999) / 1000);
	o = NULL;
	/* The PUT carries the resourceVersion we read: 409 if anyone wrote
	 * in between. */
	if (call(l, "PUT", path, got, l->o.le_retry_ms, &o, &st) || st != 200) {
		cJSON_Delete(got);
		cJSON_Delete(o);
		return false;
	}
	le_observe(l, o, now);
	cJSON_Delete(got);
	cJSON_Delete(o);
	return true;
}

static void le_release(struct xlb_leases *l)
{
	char path[512], t[40];
	cJSON *got = NULL, *spec;
	long st;

	snprintf(path, sizeof(path),
		 "/apis/coordination.k8s.io/v1/namespaces/%s/leases/" XLB_LEASE_LEADER, l->ns);
	if (call(l, "GET", path, NULL, 2000, &got, &st) || st != 200 || !got) {
		cJSON_Delete(got);
		return;
	}
	spec = cJSON_GetObjectItemCaseSensitive(got, "spec");
	if (spec && jstr(spec, "holderIdentity") &&
	    !strcmp(jstr(spec, "holderIdentity"), l->node)) {
		cJSON *o = NULL;

		now_micro(t, sizeof(t));
		set_str(spec, "holderIdentity", "");
		set_num(spec, "leaseDurationSeconds", 1);
		set_str(spec, "renewTime", t);
		set_str(spec, "acquireTime", t);
		if (!call(l, "PUT", path, got, 2000, &o, &st) && st == 200)
			pr_info("lease: leader Lease %s/%s released\n", l->ns, XLB_LEASE_LEADER);
		cJSON_Delete(o);
	}
	cJSON_Delete(got);
}

static void le_step(struct xlb_leases *l, uint64_t now)
{
	bool ok = le_try(l);
	uint64_t after = xlb_mono_ms();

	if (ok) {
		if (!l->leader)
			pr_info("lease: %s became the leader (Lease %s/%s)\n", l->node, l->ns,
				XLB_LEASE_LEADER);
		l->leader = true;
		l->le_ok_ms = after;
	} else if (l->leader && after - l->le_ok_ms >= l->o.le_renew_deadline_ms) {
		pr_warn("lease: %s could not renew the leader Lease for %u ms: no longer the leader\n",
			l->node, l->o.le_renew_deadline_ms);
		l->leader = false;
	}
	/* The leader renews every retryPeriod; candidates wait retryPeriod
	 * with client-go's 1.2 jitter. */
	l->le_next_ms =
		now + l->o.le_retry_ms +
		(l->leader ? 0 : (uint64_t)(l->o.le_retry_ms * 1.2 * (rand() / (RAND_MAX + 1.0))));
}

/* ---- state ------------------------------------------------------------ */

void xlb_lease_state_free(struct xlb_lease_state *s)
{
	for (size_t i = 0; s && i < s->n_live; i++) {
		free(s->live[i]);
		if (s->labels)
			free(s->labels[i]);
	}
	if (s) {
		free(s->live);
		free(s->labels);
	}
	if (s)
		memset(s, 0, sizeof(*s));
}

static bool state_eq(const struct xlb_lease_state *a, const struct xlb_lease_state *b)
{
	if (a->n_live != b->n_live || a->self_live != b->self_live || a->leader != b->leader)
		return false;
	for (size_t i = 0; i < a->n_live; i++)
		if (strcmp(a->live[i], b->live[i]) || strcmp(a->labels[i], b->labels[i]))
			return false;
	return true;
}

/* Names sorted, labels kept beside their name. */
static void sort_state(struct xlb_lease_state *s)
{
	for (size_t i = 1; i < s->n_live; i++)
		for (size_t j = i; j > 0 && strcmp(s->live[j - 1], s->live[j]) > 0; j--) {
			char *t = s->live[j], *u = s->labels[j];

			s->live[j] = s->live[j - 1];
			s->labels[j] = s->labels[j - 1];
			s->live[j - 1] = t;
			s->labels[j - 1] = u;
		}
}

/* Recompute under the lock; the earliest time a live node expires goes to
 * *next. Publishes (and wakes the main loop) when something changed. */
static void publish(struct xlb_leases *l, uint64_t now, uint64_t *next)
{
	struct xlb_lease_state s = { 0 };
	uint64_t one = 1;

	s.self_live = l->self_ever && now - l->self_ok_ms < l->o.duration_ms;
	s.leader = l->leader && s.self_live;
	if (s.self_live && l->self_ok_ms + l->o.duration_ms < *next)
		*next = l->self_ok_ms + l->o.duration_ms;
	pthread_mutex_lock(&l->lock);
	l->kick = false;
	s.live = calloc(l->n_seen + 2, sizeof(*s.live));
	s.labels = calloc(l->n_seen + 2, sizeof(*s.labels));
	for (size_t i = 0; s.live && s.labels && i < l->n_seen; i++) {
		const struct seen *e = &l->seen[i];
		uint64_t exp = e->seen_ms + e->duration_ms;

		if (!*e->holder || now >= exp || !strcmp(e->holder, l->node))
			continue;
		if (exp < *next)
			*next = exp;
		s.live[s.n_live] = strdup(e->holder);
		s.labels[s.n_live] = strdup(e->labels);
		if (s.live[s.n_live] && s.labels[s.n_live])
			s.n_live++;
		else
			free(s.live[s.n_live]), free(s.labels[s.n_live]);
	}
	/* Ourselves by our own renewals, not by the watch's delay. */
	if (s.live && s.labels && s.self_live) {
		s.live[s.n_live] = strdup(l->node);
		s.labels[s.n_live] = strdup(l->labels ? l->labels : "{}");
		if (s.live[s.n_live] && s.labels[s.n_live])
			s.n_live++;
		else
			free(s.live[s.n_live]), free(s.labels[s.n_live]);
	}
	sort_state(&s);
	if (s.live && s.labels && !state_eq(&s, &l->pub)) {
		xlb_lease_state_free(&l->pub);
		l->pub = s;
		pthread_mutex_unlock(&l->lock);
		if (write(l->efd, &one, sizeof(one)) < 0)
			pr_debug("lease: eventfd: %s\n", strerror(errno));
		return;
	}
	pthread_mutex_unlock(&l->lock);
	xlb_lease_state_free(&s);
}

/*
 * Read the node Leases directly. After our own Lease lapsed (a freeze, a
 * cut uplink) the watch may still be reconnecting with backoff, and its
 * old view would call every other node dead: this node would then claim
 * their VIPs too. A LIST tells which records changed meanwhile (a new
 * resourceVersion counts as seen now) and which did not.
 */
static void list_now(struct xlb_leases *l)
{
	char path[320];
	cJSON *got = NULL;
	long st;

	snprintf(path, sizeof(path), "%s?labelSelector=xlb.io%%2Flease%%3Dnode", l->watch_path);
	if (call(l, "GET", path, NULL, l->o.renew_ms, &got, &st) || st != 200 || !got) {
		cJSON_Delete(got);
		return;
	}
	w_replace(l, cJSON_GetObjectItemCaseSensitive(got, "items"));
	cJSON_Delete(got);
}

static void *run(void *arg)
{
	struct xlb_leases *l = arg;

	while (!__atomic_load_n(&l->quit, __ATOMIC_RELAXED)) {
		uint64_t now = xlb_mono_ms(), next;
		struct timespec ts;

		if (now >= l->node_next_ms) {
			bool lapsed = !l->self_ever || now - l->self_ok_ms >= l->o.duration_ms;

			node_renew(l);
			l->node_next_ms = now + l->o.renew_ms;
			if (lapsed && l->self_ok_ms &&
			    xlb_mono_ms() - l->self_ok_ms < l->o.duration_ms)
				list_now(l);
		}
		now = xlb_mono_ms();
		if (l->o.elect && now >= l->le_next_ms)
			le_step(l, now);
		now = xlb_mono_ms();
		next = l->node_next_ms;
		if (l->o.elect && l->le_next_ms < next)
			next = l->le_next_ms;
		publish(l, now, &next);
		now = xlb_mono_ms();
		if (next <= now)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (next - now) / 1000;
		ts.tv_nsec += ((next - now) % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&l->lock);
		if (!l->kick && !__atomic_load_n(&l->quit, __ATOMIC_RELAXED))
			pthread_cond_timedwait(&l->cond, &l->lock, &ts);
		pthread_mutex_unlock(&l->lock);
	}
	if (l->leader)
		le_release(l);
	return NULL;
}

struct xlb_leases *xlb_leases_start(struct kube_client *kc, const struct xlb_lease_opts *o)
{
	struct xlb_leases *l = calloc(1, sizeof(*l));
	char name[320];
	struct kube_reflector_spec spec = {
		.name = "leases",
		.selector = "labelSelector=xlb.io%2Flease%3Dnode",
		.kind = "Lease",
		.api_version = "coordination.k8s.io/v1",
	};
	int err = ENOMEM;

	if (!l)
		goto fail;
	l->kc = kc;
	kube_client_set_stop(kc, &l->stop);
	l->o = *o;
	l->efd = -1;
	snprintf(name, sizeof(name), XLB_LEASE_NODE_PREFIX "%s", o->node);
	l->ns = strdup(o->ns);
	l->node = strdup(o->node);
	l->node_lease = strdup(name);
	l->h = curl_easy_init();
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!l->ns || !l->node || !l->node_lease || !l->h || l->efd < 0)
		goto fail;
	l->o.ns = l->ns;
	l->o.node = l->node;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	snprintf(l->watch_path, sizeof(l->watch_path),
		 "/apis/coordination.k8s.io/v1/namespaces/%s/leases", l->ns);
	spec.path = l->watch_path;
	l->watch = kube_reflector_start(kc, &spec, &watch_ops, l, &l->stop);
	if (!l->watch) {
		err = errno;
		goto fail;
	}
	err = pthread_create(&l->thread, NULL, run, l);
	if (err)
		goto fail;
	l->started = true;
	pr_info("lease: node Lease %s/%s every %u ms (duration %u ms)%s\n", l->ns, l->node_lease,
		o->renew_ms, o->duration_ms, o->elect ? "; candidate for leader" : "");
	return l;
fail:
	if (l)
		l->kc = NULL; /* still the caller's */
	xlb_leases_stop(l);
	errno = err;
	return NULL;
}

void xlb_leases_stop(struct xlb_leases *l)
{
	if (!l)
		return;
	/* The worker first (it releases the leader Lease, which needs the
	 * client), then the client's requests are cancelled for the watch. */
	__atomic_store_n(&l->quit, 1, __ATOMIC_RELAXED);
	if (l->started) {
		pthread_mutex_lock(&l->lock);
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
	}
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELAXED);
	kube_reflector_free(l->watch);
	if (l->kc)
		kube_client_free(l->kc);
	if (l->h)
		curl_easy_cleanup(l->h);
	if (l->efd >= 0)
		close(l->efd);
	for (size_t i = 0; i < l->n_seen; i++)
		seen_free(&l->seen[i]);
	free(l->seen);
	xlb_lease_state_free(&l->pub);
	free(l->labels);
	cJSON_Delete(l->mine);
	cJSON_Delete(l->le_obs);
	free(l->le_obs_rv);
	free(l->ns);
	free(l->node);
	free(l->node_lease);
	free(l);
}

int xlb_leases_fd(const struct xlb_leases *l)
{
	return l->efd;
}

int xlb_leases_get(struct xlb_leases *l, struct xlb_lease_state *out)
{
	uint64_t v;
	int err = 0;

	if (read(l->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("lease: eventfd: %s\n", strerror(errno));
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&l->lock);
	out->self_live = l->pub.self_live;
	out->leader = l->pub.leader;
	out->live = calloc(l->pub.n_live + 1, sizeof(*out->live));
	out->labels = calloc(l->pub.n_live + 1, sizeof(*out->labels));
	if (!out->live || !out->labels)
		err = -ENOMEM;
	for (size_t i = 0; !err && i < l->pub.n_live; i++) {
		out->live[i] = strdup(l->pub.live[i]);
		out->labels[i] = strdup(l->pub.labels[i]);
		if (!out->live[i] || !out->labels[i]) {
			free(out->live[i]);
			free(out->labels[i]);
			err = -ENOMEM;
		} else {
			out->n_live++;
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (err)
		xlb_lease_state_free(out);
	return err;
}

bool xlb_leases_alive_now(const struct xlb_leases *l)
{
	uint64_t ok = __atomic_load_n(&l->self_ok_ms, __ATOMIC_RELAXED);

	return ok && xlb_mono_ms() - ok < l->o.duration_ms;
}

const struct kube_reflector *xlb_leases_reflector(const struct xlb_leases *l)
{
	return l->watch;
}

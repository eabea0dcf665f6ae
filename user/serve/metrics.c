// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * metrics: the Prometheus exposition, see metrics.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>

#include "lb/announce.h"
#include "serve/health.h"
#include "lib/log.h"
#include "lib/util.h"
#include "serve/metrics.h"
#include "kube/reflector.h"

/* kube-proxy's sync histogram buckets: 1 ms doubling to ~16 s. */
#define SYNC_BUCKETS 15

struct xlb_metrics {
	struct xlb_metrics_opts o;
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	/* under lock */
	__u64 sync_bucket[SYNC_BUCKETS]; /* not cumulative */
	__u64 sync_count;
	double sync_sum;
	__u64 sync_ok, sync_err;
	double last_ok_s; /* realtime; 0: never */
	unsigned int hc_servers;
	struct lb_pool_row *pools; /* from the last VIP plan */
	size_t n_pools;
	bool have_lb;
	int leader; /* -1: no election */
};

/* LoadBalancer addresses of one pool, as this node applied them. */
struct lb_pool_row {
	char pool[64];
	unsigned int vips, answering, bgp;
};

/* Batch reads: a chunk per syscall, so a million conntrack entries are
 * read in a few hundred calls without holding them all in memory. */
#define CHUNK 4096

typedef void (*each_fn)(void *ctx, const void *key, const void *val);

static int batch_each(int fd, size_t ksz, size_t vsz, each_fn fn, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 in[8], outb[8];
	bool first = true;
	char *keys, *vals;
	int err = 0;

	keys = malloc(CHUNK * ksz);
	vals = malloc(CHUNK * vsz);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = CHUNK;

		err = bpf_map_lookup_batch(fd, first ? NULL : in, outb, keys, vals, &count, &opts) ?
			      -errno :
			      0;
		if (err && err != -ENOENT)
			break;
		for (__u32 i = 0; i < count; i++)
			fn(ctx, keys + i * ksz, vals + i * vsz);
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		memcpy(in, outb, sizeof(in));
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

static __u32 max_entries(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

/*
 * Sum the per-CPU counters of keys [0, n) into @sum. Per-CPU values come
 * back as ncpus slots of the value size rounded up to 8 bytes; struct
 * xlb_counter is 16.
 */
static int counters_sum(int fd, __u32 n, struct xlb_counter *sum)
{
	int ncpus = libbpf_num_possible_cpus();
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct xlb_counter *vals;
	__u32 *keys, in = 0, outb, done = 0;
	bool first = true;
	int err = 0;

	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;
	memset(sum, 0, n * sizeof(*sum));
	keys = calloc(CHUNK, sizeof(*keys));
	vals = calloc((size_t)CHUNK * ncpus, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (done < n) {
		__u32 count = n - done < CHUNK ? n - done : CHUNK;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &outb, keys, vals, &count,
					   &opts) ?
			      -errno :
			      0;
		if (err && err != -ENOENT)
			break;
		for (__u32 i = 0; i < count; i++) {
			if (keys[i] >= n)
				continue;
			for (int c = 0; c < ncpus; c++) {
				sum[keys[i]].packets += vals[i * ncpus + c].packets;
				sum[keys[i]].bytes += vals[i * ncpus + c].bytes;
			}
		}
		done += count;
		if (err == -ENOENT || !count) {
			err = 0;
			break;
		}
		in = outb;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* A label value: backslash, double quote and newline escaped. */
static void label(FILE *f, const char *name, const char *v, bool comma)
{
	fprintf(f, "%s%s=\"", comma ? "," : "", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- services ------------------------------------------------------------ */

struct svc_row {
	__u32 id;
	char ns[64], name[240], port[64], proto[16];
	__u32 n_frontends, n_backends;
	__u32 maglev_size;
};

struct svc_set {
	struct svc_row *v;
	size_t n, cap;
	__u32 max_id;
	int err;
};

/* "namespace/name:port-name/PROTO" into its labels. */
static void split_name(const char *full, struct svc_row *r)
{
	const char *slash = strchr(full, '/'), *colon, *last = strrchr(full, '/');

	colon = slash ? strchr(slash, ':') : NULL;
	if (!slash || !colon || last <= colon) {
		snprintf(r->name, sizeof(r->name), "%s", full);
		return;
	}
	snprintf(r->ns, sizeof(r->ns), "%.*s", (int)(slash - full), full);
	snprintf(r->name, sizeof(r->name), "%.*s", (int)(colon - slash - 1), slash + 1);
	snprintf(r->port, sizeof(r->port), "%.*s", (int)(last - colon - 1), colon + 1);
	snprintf(r->proto, sizeof(r->proto), "%s", last + 1);
}

static void meta_cb(void *ctx, const void *key, const void *val)
{
	struct svc_set *s = ctx;
	const struct xlb_svc_meta *m = val;
	struct svc_row *r;

	/* sync marks names it could not read back with \x01: not a service */
	if (s->err || m->name[0] == '\x01')
		return;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		void *v = realloc(s->v, cap * sizeof(*s->v));

		if (!v) {
			s->err = -ENOMEM;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	r = &s->v[s->n++];
	memset(r, 0, sizeof(*r));
	r->id = *(const __u32 *)key;
	split_name(m->name, r);
	r->n_frontends = m->n_frontends;
	r->n_backends = m->n_backends;
	if (r->id > s->max_id)
		s->max_id = r->id;
}

static int cmp_row(const void *a, const void *b)
{
	const struct svc_row *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void svc_cb(void *ctx, const void *key, const void *val)
{
	struct svc_set *s = ctx;
	const struct xlb_svc *v = val;
	struct svc_row k = { .id = v->svc_id }, *r;

	r = s->n ? bsearch(&k, s->v, s->n, sizeof(*s->v), cmp_row) : NULL;
	if (r)
		r->maglev_size = v->maglev_size;
}

static void svc_labels(FILE *f, const struct svc_row *r)
{
	label(f, "namespace", r->ns, false);
	label(f, "service", r->name, true);
	label(f, "port", r->port, true);
	label(f, "protocol", r->proto, true);
}

static int render_services(struct xlb_metrics *m, FILE *f)
{
	struct svc_set s = { 0 };
	struct xlb_counter *c = NULL;
	int err;

	err = batch_each(xlb_dp_map_fd(m->o.dp, XLB_DPM_SVC_META), sizeof(__u32),
			 sizeof(struct xlb_svc_meta), meta_cb, &s);
	if (!err)
		err = s.err;
	if (err)
		goto out;
	qsort(s.v, s.n, sizeof(*s.v), cmp_row);
	err = batch_each(xlb_dp_map_fd(m->o.dp, XLB_DPM_SVC), sizeof(struct xlb_svc_key),
			 sizeof(struct xlb_svc), svc_cb, &s);
	if (err)
		goto out;
	c = calloc(s.max_id + 1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto out;
	}
	err = counters_sum(xlb_dp_map_fd(m->o.dp, XLB_DPM_SVC_STATS), s.max_id + 1, c);
	if (err)
		goto out;

	header(f, "xlb_service_packets_total", "counter",
	       "Packets the datapath handled for a Service port (both directions).");
	for (size_t i = 0; i < s.n; i++) {
		fputs("xlb_service_packets_total{", f);
		svc_labels(f, &s.v[i]);
		fprintf(f, "} %llu\n", (unsigned long long)c[s.v[i].id].packets);
	}
	header(f, "xlb_service_bytes_total", "counter",
	       "Bytes (whole frames) the datapath handled for a Service port.");
	for (size_t i = 0; i < s.n; i++) {
		fputs("xlb_service_bytes_total{", f);
		svc_labels(f, &s.v[i]);
		fprintf(f, "} %llu\n", (unsigned long long)c[s.v[i].id].bytes);
	}
	header(f, "xlb_service_frontends", "gauge",
	       "Frontends (VIPs, NodePorts) of a Service port.");
	for (size_t i = 0; i < s.n; i++) {
		fputs("xlb_service_frontends{", f);
		svc_labels(f, &s.v[i]);
		fprintf(f, "} %u\n", s.v[i].n_frontends);
	}
	header(f, "xlb_service_backends", "gauge", "Backends in a Service port's Maglev table.");
	for (size_t i = 0; i < s.n; i++) {
		fputs("xlb_service_backends{", f);
		svc_labels(f, &s.v[i]);
		fprintf(f, "} %u\n", s.v[i].n_backends);
	}
	header(f, "xlb_maglev_table_entries", "gauge",
	       "Size M of a Service port's Maglev table (0: no table).");
	for (size_t i = 0; i < s.n; i++) {
		fputs("xlb_maglev_table_entries{", f);
		svc_labels(f, &s.v[i]);
		fprintf(f, "} %u\n", s.v[i].maglev_size);
	}
out:
	free(c);
	free(s.v);
	return err;
}

/* ---- reasons ---------------------------------------------------------------- */

static int render_reasons(struct xlb_metrics *m, FILE *f)
{
	struct xlb_counter c[XLB_R_MAX];
	int err = counters_sum(xlb_dp_map_fd(m->o.dp, XLB_DPM_REASONS), XLB_R_MAX, c);

	if (err)
		return err;
	header(f, "xlb_datapath_packets_total", "counter",
	       "Packets by the verdict reason the datapath gave them.");
	for (int r = 0; r < XLB_R_MAX; r++) {
		fputs("xlb_datapath_packets_total{", f);
		label(f, "reason", xlb_reason_names[r], false);
		fprintf(f, "} %llu\n", (unsigned long long)c[r].packets);
	}
	header(f, "xlb_datapath_bytes_total", "counter",
	       "Bytes (whole frames) by the verdict reason the datapath gave them.");
	for (int r = 0; r < XLB_R_MAX; r++) {
		fputs("xlb_datapath_bytes_total{", f);
		label(f, "reason", xlb_reason_names[r], false);
		fprintf(f, "} %llu\n", (unsigned long long)c[r].bytes);
	}
	return 0;
}

/* ---- conntrack and SNAT ------------------------------------------------------ */

struct snat_be {
	__be32 addr;
	__be16 port;
};

struct ct_count {
	__u64 now;
	__u64 kind[5]; /* enum xlb_ct_kind, alive entries */
	__u64 expired;
	struct snat_be *be; /* one per live reply_snat entry */
	size_t n_be, cap_be;
	int err;
};

static void ct_cb(void *ctx, const void *key, const void *val)
{
	struct ct_count *c = ctx;
	const struct xlb_ct_key *k = key;
	const struct xlb_ct *v = val;

	if (v->expires_ns <= c->now) {
		c->expired++;
		return;
	}
	if (v->kind < 5)
		c->kind[v->kind]++;
	if (v->kind != XLB_CT_REPLY_SNAT || c->err)
		return;
	if (c->n_be == c->cap_be) {
		size_t cap = c->cap_be ? 2 * c->cap_be : 256;
		void *p = realloc(c->be, cap * sizeof(*c->be));

		if (!p) {
			c->err = -ENOMEM;
			return;
		}
		c->be = p;
		c->cap_be = cap;
	}
	/* The reply entry's key is the backend's packet: its source is the
	 * backend. */
	c->be[c->n_be++] = (struct snat_be){ .addr = k->saddr.v4, .port = k->sport };
}

static int cmp_be(const void *a, const void *b)
{
	const struct snat_be *x = a, *y = b;
	__u32 xa = ntohl(x->addr), ya = ntohl(y->addr);

	if (xa != ya)
		return xa < ya ? -1 : 1;
	return ntohs(x->port) - ntohs(y->port);
}

static int render_ct(struct xlb_metrics *m, FILE *f)
{
	static const char *const kinds[5] = {
		[XLB_CT_FWD_LOCAL] = "fwd_local",
		[XLB_CT_FWD_REMOTE] = "fwd_remote",
		[XLB_CT_REPLY_LOCAL] = "reply_local",
		[XLB_CT_REPLY_SNAT] = "reply_snat",
	};
	int fd = xlb_dp_map_fd(m->o.dp, XLB_DPM_CT);
	struct ct_count c = { 0 };
	int err;

	/* The datapath's deadlines are CLOCK_MONOTONIC (coarse). */
	c.now = xlb_mono_ns();
	err = batch_each(fd, sizeof(struct xlb_ct_key), sizeof(struct xlb_ct), ct_cb, &c);
	if (!err)
		err = c.err;
	if (err)
		goto out;
	header(f, "xlb_conntrack_entries", "gauge",
	       "Live conntrack entries by kind (expired ones wait for reuse).");
	for (int k = 1; k < 5; k++) {
		fputs("xlb_conntrack_entries{", f);
		label(f, "kind", kinds[k], false);
		fprintf(f, "} %llu\n", (unsigned long long)c.kind[k]);
	}
	header(f, "xlb_conntrack_expired_entries", "gauge",
	       "Conntrack entries past their deadline, not yet reused or evicted.");
	fprintf(f, "xlb_conntrack_expired_entries %llu\n", (unsigned long long)c.expired);
	header(f, "xlb_conntrack_entries_limit", "gauge", "Capacity of the conntrack map.");
	fprintf(f, "xlb_conntrack_entries_limit %u\n", max_entries(fd));

	header(f, "xlb_snat_ports_in_use", "gauge",
	       "SNAT ports held by live flows, per remote backend (address:port).");
	qsort(c.be, c.n_be, sizeof(*c.be), cmp_be);
	for (size_t i = 0, j; i < c.n_be; i = j) {
		char a[INET_ADDRSTRLEN], be[INET_ADDRSTRLEN + 8];

		for (j = i + 1; j < c.n_be && !cmp_be(&c.be[i], &c.be[j]); j++)
			;
		inet_ntop(AF_INET, &c.be[i].addr, a, sizeof(a));
		snprintf(be, sizeof(be), "%s:%u", a, ntohs(c.be[i].port));
		fputs("xlb_snat_ports_in_use{", f);
		label(f, "backend", be, false);
		fprintf(f, "} %zu\n", j - i);
	}
	header(f, "xlb_snat_ports_limit", "gauge",
	       "SNAT ports in the configured range (per node address and backend).");
	fprintf(f, "xlb_snat_ports_limit %u\n",
		m->o.snat_port_max >= m->o.snat_port_min && m->o.snat_port_max ?
			m->o.snat_port_max - m->o.snat_port_min + 1 :
			0);
out:
	free(c.be);
	return err;
}

/* ---- the agent -------------------------------------------------------------- */

static double bucket_le(int i)
{
	return 0.001 * (double)(1u << i);
}

/* Counters of the API watches, one series per resource. */
static void render_watches(struct xlb_metrics *m, FILE *f)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} fam[] = {
		{ "xlb_kube_watch_events_total", "Watch events received from the API server.",
		  offsetof(struct kube_reflector_counters, events) },
		{ "xlb_kube_watch_errors_total",
		  "Failed LISTs and watches and watch ERROR events (410 Gone excepted).",
		  offsetof(struct kube_reflector_counters, errors) },
		{ "xlb_kube_relists_total",
		  "LISTs applied after the first (the watch could not resume).",
		  offsetof(struct kube_reflector_counters, relists) },
	};
	struct kube_reflector_counters c[XLB_METRICS_MAX_WATCHES];

	if (!m->o.n_watches)
		return;
	for (size_t i = 0; i < m->o.n_watches; i++)
		kube_reflector_counters(m->o.watches[i], &c[i]);
	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		header(f, fam[k].name, "counter", fam[k].help);
		for (size_t i = 0; i < m->o.n_watches; i++) {
			fprintf(f, "%s{", fam[k].name);
			label(f, "resource", kube_reflector_name(m->o.watches[i]), false);
			fprintf(f, "} %llu\n",
				(unsigned long long)*(const uint64_t *)((const char *)&c[i] +
									fam[k].off));
		}
	}
}

/* Under lock. */
static void render_lb(struct xlb_metrics *m, FILE *f)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} fam[] = {
		{ "xlb_lb_vips", "LoadBalancer addresses in Service status, by pool.",
		  offsetof(struct lb_pool_row, vips) },
		{ "xlb_lb_vips_answering",
		  "Addresses this node owns and answers ARP/NDP for, by pool.",
		  offsetof(struct lb_pool_row, answering) },
		{ "xlb_lb_vips_bgp_announced",
		  "Addresses this node announces by BGP (routes handed to BIRD), by pool.",
		  offsetof(struct lb_pool_row, bgp) },
	};

	if (m->leader >= 0) {
		header(f, "xlb_lb_leader", "gauge",
		       "1 while this agent holds the allocation Lease (writes LoadBalancer status).");
		fprintf(f, "xlb_lb_leader %d\n", m->leader);
	}
	if (!m->have_lb)
		return;
	for (size_t k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		header(f, fam[k].name, "gauge", fam[k].help);
		for (size_t i = 0; i < m->n_pools; i++) {
			fprintf(f, "%s{", fam[k].name);
			label(f, "pool", m->pools[i].pool, false);
			fprintf(f, "} %u\n",
				*(const unsigned int *)((const char *)&m->pools[i] + fam[k].off));
		}
	}
}

static void render_agent(struct xlb_metrics *m, FILE *f)
{
	__u64 cum = 0;

	pthread_mutex_lock(&m->lock);
	header(f, "xlb_sync_duration_seconds", "histogram",
	       "Time to translate and write one desired state into the maps.");
	for (int i = 0; i < SYNC_BUCKETS; i++) {
		cum += m->sync_bucket[i];
		fprintf(f, "xlb_sync_duration_seconds_bucket{le=\"%g\"} %llu\n", bucket_le(i),
			(unsigned long long)cum);
	}
	fprintf(f, "xlb_sync_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)m->sync_count);
	fprintf(f, "xlb_sync_duration_seconds_sum %.9f\n", m->sync_sum);
	fprintf(f, "xlb_sync_duration_seconds_count %llu\n", (unsigned long long)m->sync_count);
	header(f, "xlb_syncs_total", "counter", "Syncs by result.");
	fprintf(f, "xlb_syncs_total{result=\"success\"} %llu\n", (unsigned long long)m->sync_ok);
	fprintf(f, "xlb_syncs_total{result=\"error\"} %llu\n", (unsigned long long)m->sync_err);
	header(f, "xlb_last_successful_sync_timestamp_seconds", "gauge",
	       "Unix time of the last sync that succeeded (0: none yet).");
	fprintf(f, "xlb_last_successful_sync_timestamp_seconds %.3f\n", m->last_ok_s);
	header(f, "xlb_health_check_servers", "gauge",
	       "healthCheckNodePort servers (LoadBalancer Services with externalTrafficPolicy Local).");
	fprintf(f, "xlb_health_check_servers %u\n", m->hc_servers);
	render_lb(m, f);
	pthread_mutex_unlock(&m->lock);
	render_watches(m, f);
}

int xlb_metrics_render(struct xlb_metrics *m, FILE *f)
{
	int err = 0;

	render_agent(m, f);
	if (!m->o.dp)
		return 0;
	err = render_services(m, f);
	if (!err)
		err = render_reasons(m, f);
	if (!err)
		err = render_ct(m, f);
	return err;
}

/* ---- HTTP --------------------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned int status, char *body,
				 size_t len, bool own)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body,
					    own ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (own)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **req)
{
	static char not_found[] = "404 page not found\n";
	struct xlb_metrics *m = cls;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (strcmp(url, "/metrics"))
		return send_text(c, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found), false);
	f = open_memstream(&buf, &len);
	if (!f)
		return MHD_NO;
	err = xlb_metrics_render(m, f);
	if (fclose(f) || err) {
		static char fail[] = "reading the datapath maps failed\n";

		pr_warn("metrics: %s\n", strerror(err ? -err : errno));
		free(buf);
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, fail, strlen(fail), false);
	}
	return send_text(c, MHD_HTTP_OK, buf, len, true);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	pr_debug("metrics: %s%s", buf, buf[0] && buf[strlen(buf) - 1] == '\n' ? "" : "\n");
}

struct xlb_metrics *xlb_metrics_new(const struct xlb_metrics_opts *o)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	struct xlb_metrics *m;
	uint16_t port;

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->o = *o;
	m->leader = -1;
	pthread_mutex_init(&m->lock, NULL);
	if (!o->bind || !*o->bind || !strcmp(o->bind, "off"))
		return m;
	if (xlb_parse_hostport(o->bind, &ss)) {
		xlb_metrics_free(m);
		errno = EINVAL;
		return NULL;
	}
	if (ss.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	errno = 0;
	/* One thread: a scrape reads maps for milliseconds; Prometheus
	 * scrapes one at a time. */
	m->d = MHD_start_daemon(flags, port, NULL, NULL, handler, m, MHD_OPTION_SOCK_ADDR,
				(const struct sockaddr *)&ss, MHD_OPTION_LISTENING_ADDRESS_REUSE,
				(unsigned int)1, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!m->d) {
		int err = errno ? errno : EADDRINUSE;

		xlb_metrics_free(m);
		errno = err;
		return NULL;
	}
	return m;
}

void xlb_metrics_free(struct xlb_metrics *m)
{
	if (!m)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);
	pthread_mutex_destroy(&m->lock);
	free(m->pools);
	free(m);
}

void xlb_metrics_sync_done(struct xlb_metrics *m, double seconds, bool ok)
{
	struct timespec ts;
	int i;

	if (!m)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < SYNC_BUCKETS && seconds > bucket_le(i); i++)
		;
	if (i < SYNC_BUCKETS)
		m->sync_bucket[i]++;
	m->sync_count++;
	m->sync_sum += seconds;
	if (ok) {
		m->sync_ok++;
		m->last_ok_s = ts.tv_sec + ts.tv_nsec / 1e9;
	} else {
		m->sync_err++;
	}
	pthread_mutex_unlock(&m->lock);
}

void xlb_metrics_set_lb(struct xlb_metrics *m, const struct xlb_vip_plan *p, int leader)
{
	struct lb_pool_row *rows = NULL;
	size_t n = 0;

	if (!m)
		return;
	if (!p) {
		/* Withdrawn: the addresses stay, this node serves none. */
		pthread_mutex_lock(&m->lock);
		for (size_t i = 0; i < m->n_pools; i++)
			m->pools[i].answering = m->pools[i].bgp = 0;
		m->leader = leader;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	if (p->n) {
		rows = calloc(p->n, sizeof(*rows));
		if (!rows)
			return; /* keep the last figures */
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct xlb_vip *v = &p->v[i];
		size_t j;

		for (j = 0; j < n && strcmp(rows[j].pool, v->pool); j++)
			;
		if (j == n)
			snprintf(rows[n++].pool, sizeof(rows[0].pool), "%s", v->pool);
		rows[j].vips++;
		rows[j].answering += v->mine;
		rows[j].bgp += v->bgp_mine;
	}
	pthread_mutex_lock(&m->lock);
	free(m->pools);
	m->pools = rows;
	m->n_pools = n;
	m->have_lb = true;
	m->leader = leader;
	pthread_mutex_unlock(&m->lock);
}

void xlb_metrics_set_health_servers(struct xlb_metrics *m, unsigned int n)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->hc_servers = n;
	pthread_mutex_unlock(&m->lock);
}

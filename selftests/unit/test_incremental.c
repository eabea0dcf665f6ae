// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The incremental control plane against the full one, on real loaded
 * datapaths (no pins). A seeded random sequence of object changes
 * (endpoints, slices moving between Services, Services changing type,
 * ports, externalIPs that collide, affinity, source ranges; Services and
 * slices coming and going) is applied two ways side by side:
 *   - incremental: the touched Services marked dirty, xlb_translate_update
 *     + xlb_sync_apply_names, or the full pass when it says -EAGAIN, as the
 *     agent does in Kubernetes mode;
 *   - reference: xlb_translate + xlb_sync_apply of the whole cache.
 * After every change the incremental desired state must equal a fresh full
 * translate field by field, and every entry of every service map (xlb_svc,
 * xlb_backends, xlb_svc_meta, xlb_src_ranges, each Maglev table) must be
 * byte-identical between the two datapaths (ids included: both follow the
 * same history). Entries of Services the change did not touch must not
 * move. At the end a third datapath gets one full sync of the final state
 * from scratch, and its maps must say the same modulo id numbering.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include <xlb/abi.h>
#include "datapath.h"
#include "k8s/cache.h"
#include "lib/log.h"
#include "sync.h"
#include "translate.h"
#include "../lib/xtest.h"

#define NSVC   24
#define NSLICE 36
#define MAXEP  6
#define TABLES 256

static const struct xlb_translate_opts topts = { .node_name = "node1" };

/* ---- the model: what each object says ------------------------------- */

struct m_ep {
	unsigned int host; /* 10.1.<slice>.<host> */
	bool ready, serving, terminating;
	bool local;
};

struct m_slice {
	bool present;
	int svc; /* kubernetes.io/service-name: s<svc>; -1: no label */
	struct m_ep ep[MAXEP];
	int n_ep;
	bool udp_port; /* also carries port b/UDP */
};

struct m_svc {
	bool present;
	int type; /* 0 NodePort, 1 LoadBalancer, 2 ClusterIP + externalIPs */
	bool local, affinity, ranges, two_ports;
	int ext_ip;   /* 198.51.100.<ext_ip>, shared on purpose: conflicts */
	int lb_ip;    /* 192.0.2.<lb_ip> */
	int nodeport; /* 30000 + nodeport: collides now and then */
};

struct model {
	struct m_svc svc[NSVC];
	struct m_slice sl[NSLICE];
	unsigned long long rng;
};

static unsigned int rnd(struct model *m, unsigned int n)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (unsigned int)(m->rng % n);
}

static int svc_yaml(const struct model *m, int i, char *buf, size_t cap)
{
	const struct m_svc *s = &m->svc[i];
	static const char *types[] = { "NodePort", "LoadBalancer", "ClusterIP" };
	int n;

	n = snprintf(buf, cap,
		     "apiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: t}\n"
		     "spec:\n  type: %s\n  clusterIP: 10.96.0.%d\n",
		     i, types[s->type], i + 1);
	if (s->type != 2 && s->local)
		n += snprintf(buf + n, cap - n, "  externalTrafficPolicy: Local\n%s",
			      s->type == 1 ? "  healthCheckNodePort: 32100\n" : "");
	if (s->type == 2 || s->ext_ip % 3 == 0)
		n += snprintf(buf + n, cap - n, "  externalIPs: [198.51.100.%d]\n", s->ext_ip);
	if (s->affinity)
		n += snprintf(buf + n, cap - n,
			      "  sessionAffinity: ClientIP\n"
			      "  sessionAffinityConfig: {clientIP: {timeoutSeconds: %d}}\n",
			      60 + i);
	if (s->ranges)
		n += snprintf(buf + n, cap - n,
			      "  loadBalancerSourceRanges: [10.%d.0.0/16, 203.0.113.0/24]\n", i);
	n += snprintf(buf + n, cap - n,
		      "  ports:\n  - {name: a, port: 80, protocol: TCP, targetPort: 8080%s",
		      s->type == 2 ? "}\n" : "");
	if (s->type != 2)
		n += snprintf(buf + n, cap - n, ", nodePort: %d}\n", 30000 + s->nodeport);
	if (s->two_ports)
		n += snprintf(buf + n, cap - n,
			      "  - {name: b, port: 53, protocol: UDP, targetPort: 5353%s}\n",
			      s->type == 2 ? "" : ", nodePort: 31000");
	if (s->type == 1)
		n += snprintf(buf + n, cap - n,
			      "status:\n  loadBalancer: {ingress: [{ip: 192.0.2.%d}]}\n", s->lb_ip);
	return n;
}

static int slice_yaml(const struct model *m, int j, char *buf, size_t cap)
{
	const struct m_slice *l = &m->sl[j];
	int n;

	n = snprintf(buf, cap,
		     "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
		     "metadata:\n  name: e%d\n  namespace: t\n",
		     j);
	if (l->svc >= 0)
		n += snprintf(buf + n, cap - n, "  labels: {kubernetes.io/service-name: s%d}\n",
			      l->svc);
	n += snprintf(buf + n, cap - n,
		      "addressType: IPv4\nports:\n- {name: a, port: 8080, protocol: TCP}\n%s"
		      "endpoints:\n",
		      l->udp_port ? "- {name: b, port: 5353, protocol: UDP}\n" : "");
	for (int k = 0; k < l->n_ep; k++) {
		const struct m_ep *e = &l->ep[k];

		n += snprintf(buf + n, cap - n,
			      "- addresses: [10.1.%d.%u]\n"
			      "  conditions: {ready: %s, serving: %s, terminating: %s}\n"
			      "  nodeName: %s\n",
			      j, e->host, e->ready ? "true" : "false",
			      e->serving ? "true" : "false", e->terminating ? "true" : "false",
			      e->local ? "node1" : "node2");
	}
	return n;
}

static int put_yaml(struct k8s_cache *c, const char *buf, size_t len)
{
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct k8s_object_list l = { 0 };
	int err = k8s_parse_buf(buf, len, "test", &l, &errs);

	if (!err && (errs.n_errors || errs.n_rejected || l.n != 1))
		err = -EBADMSG;
	if (!err)
		err = k8s_cache_put_list(c, &l, NULL);
	if (err)
		fprintf(stderr, "object not taken (%d):\n%.*s\n", err, (int)len, buf);
	k8s_object_list_free(&l);
	k8s_errors_free(&errs);
	return err;
}

/* Bring the cache's copy of Service @i / slice @j to the model. */
static int sync_svc(struct k8s_cache *c, const struct model *m, int i)
{
	char buf[4096], name[16];

	snprintf(name, sizeof(name), "s%d", i);
	if (!m->svc[i].present) {
		k8s_cache_delete(c, K8S_KIND_SERVICE, "t", name);
		return 0;
	}
	return put_yaml(c, buf, svc_yaml(m, i, buf, sizeof(buf)));
}

static int sync_slice(struct k8s_cache *c, const struct model *m, int j)
{
	char buf[4096], name[16];

	snprintf(name, sizeof(name), "e%d", j);
	if (!m->sl[j].present) {
		k8s_cache_delete(c, K8S_KIND_ENDPOINTSLICE, "t", name);
		return 0;
	}
	return put_yaml(c, buf, slice_yaml(m, j, buf, sizeof(buf)));
}

static void random_ep(struct model *m, struct m_ep *e)
{
	unsigned int r = rnd(m, 10);

	e->host = 1 + rnd(m, 8); /* duplicates across slices of a Service happen */
	e->ready = r < 7;
	e->serving = e->ready || r < 9;
	e->terminating = !e->ready && rnd(m, 2);
	e->local = rnd(m, 2);
}

static void random_svc(struct model *m, int i)
{
	struct m_svc *s = &m->svc[i];

	s->present = true;
	s->type = rnd(m, 3);
	s->local = rnd(m, 3) == 0;
	s->affinity = rnd(m, 4) == 0;
	s->ranges = rnd(m, 4) == 0;
	s->two_ports = rnd(m, 3) == 0;
	s->ext_ip = rnd(m, 8);
	s->lb_ip = rnd(m, 10);
	s->nodeport = i + (rnd(m, 12) == 0 ? 1 : 0);
}

static void random_slice(struct model *m, int j)
{
	struct m_slice *l = &m->sl[j];

	l->present = true;
	l->svc = rnd(m, 12) == 0 ? -1 : (int)rnd(m, NSVC);
	l->udp_port = rnd(m, 2);
	l->n_ep = rnd(m, MAXEP + 1);
	for (int k = 0; k < l->n_ep; k++)
		random_ep(m, &l->ep[k]);
}

/* ---- dirty keys, as the Kubernetes source collects them -------------- */

struct dirty {
	char v[8][16];
	const char *p[8];
	size_t n;
};

static void mark(struct dirty *d, int svc)
{
	if (svc < 0 || d->n == 8)
		return;
	snprintf(d->v[d->n], sizeof(d->v[0]), "t/s%d", svc);
	d->p[d->n] = d->v[d->n];
	d->n++;
}

/* One random change to the model; the objects it touches go to the cache
 * and the Services they concern into @d. */
static int mutate(struct k8s_cache *c, struct model *m, struct dirty *d)
{
	unsigned int what = rnd(m, 100);
	int i = rnd(m, NSVC), j = rnd(m, NSLICE);
	struct m_slice *l = &m->sl[j];

	if (what < 45) { /* endpoints of one slice: the common event */
		if (!l->present) {
			random_slice(m, j);
		} else if (l->n_ep && rnd(m, 3)) {
			struct m_ep *e = &l->ep[rnd(m, l->n_ep)];

			switch (rnd(m, 4)) {
			case 0:
				e->ready = !e->ready;
				e->serving = e->ready || rnd(m, 2);
				e->terminating = !e->ready;
				break;
			case 1:
				e->host = 1 + rnd(m, 8);
				break;
			case 2:
				e->local = !e->local;
				break;
			default:
				*e = l->ep[--l->n_ep];
			}
		} else if (l->n_ep < MAXEP) {
			random_ep(m, &l->ep[l->n_ep++]);
		}
		mark(d, l->svc);
		return sync_slice(c, m, j);
	}
	if (what < 55) { /* a slice moves to another Service (or loses its label) */
		mark(d, l->svc);
		if (!l->present)
			random_slice(m, j);
		else
			l->svc = rnd(m, 10) == 0 ? -1 : (int)rnd(m, NSVC);
		mark(d, l->svc);
		return sync_slice(c, m, j);
	}
	if (what < 62) { /* a slice goes */
		mark(d, l->svc);
		l->present = false;
		return sync_slice(c, m, j);
	}
	mark(d, i);
	if (what < 72) { /* affinity or source ranges: frontends stay */
		if (rnd(m, 2))
			m->svc[i].affinity = !m->svc[i].affinity;
		else
			m->svc[i].ranges = !m->svc[i].ranges;
		m->svc[i].present = true;
	} else if (what < 90) { /* frontends change: type, IPs, ports, policy */
		struct m_svc *s = &m->svc[i];

		switch (rnd(m, 5)) {
		case 0:
			s->type = rnd(m, 3);
			break;
		case 1:
			s->ext_ip = rnd(m, 8);
			break;
		case 2:
			s->lb_ip = rnd(m, 10);
			break;
		case 3:
			s->two_ports = !s->two_ports;
			break;
		default:
			s->local = !s->local;
		}
		s->present = true;
	} else if (what < 95) { /* a Service goes */
		m->svc[i].present = false;
	} else { /* a Service comes anew */
		random_svc(m, i);
	}
	return sync_svc(c, m, i);
}

/* ---- comparing desired states ------------------------------------------ */

static bool same_svcport(const struct xlb_desired_svcport *a, const struct xlb_desired_svcport *b)
{
	return !strcmp(a->name, b->name) && a->proto == b->proto && a->etp_local == b->etp_local &&
	       a->health_check_node_port == b->health_check_node_port &&
	       a->n_frontends == b->n_frontends && a->n_backends == b->n_backends &&
	       a->total_ready == b->total_ready && a->total_ready_v4 == b->total_ready_v4 &&
	       a->total_ready_v6 == b->total_ready_v6 && a->n_local_ready == b->n_local_ready &&
	       a->affinity_timeout == b->affinity_timeout &&
	       a->n_source_ranges == b->n_source_ranges &&
	       !strcmp(a->svc_namespace, b->svc_namespace) && !strcmp(a->svc_name, b->svc_name) &&
	       a->port == b->port &&
	       (!a->n_frontends ||
		!memcmp(a->frontends, b->frontends, a->n_frontends * sizeof(*a->frontends))) &&
	       (!a->n_backends ||
		!memcmp(a->backends, b->backends, a->n_backends * sizeof(*a->backends))) &&
	       (!a->n_source_ranges || !memcmp(a->source_ranges, b->source_ranges,
					       a->n_source_ranges * sizeof(*a->source_ranges)));
}

static bool same_desired(const struct xlb_desired *a, const struct xlb_desired *b)
{
	if (a->n != b->n || a->n_hc != b->n_hc)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!same_svcport(&a->svcports[i], &b->svcports[i]))
			return false;
	return !a->n_hc || !memcmp(a->hc, b->hc, a->n_hc * sizeof(*a->hc));
}

/* ---- comparing maps ------------------------------------------------------ */

/* Every entry of a map, sorted by key: key bytes then value bytes. */
struct dump {
	size_t n, ksz, vsz;
	unsigned char *buf;
};

static size_t g_esz;
static int cmp_entry(const void *a, const void *b)
{
	return memcmp(a, b, g_esz);
}

static int dump_map(int fd, bool keys_only, struct dump *d)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	unsigned char k[64], next[64];
	void *prev = NULL;

	memset(d, 0, sizeof(*d));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	d->ksz = info.key_size;
	d->vsz = keys_only ? 0 : info.value_size;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		unsigned char *e;
		void *nb = realloc(d->buf, (d->n + 1) * (d->ksz + d->vsz));

		if (!nb)
			return -ENOMEM;
		d->buf = nb;
		e = d->buf + d->n * (d->ksz + d->vsz);
		memcpy(e, next, d->ksz);
		if (d->vsz && bpf_map_lookup_elem(fd, next, e + d->ksz))
			return -errno;
		d->n++;
		memcpy(k, next, d->ksz);
		prev = k;
	}
	g_esz = d->ksz + d->vsz;
	if (d->n)
		qsort(d->buf, d->n, g_esz, cmp_entry);
	return 0;
}

static const struct {
	enum xlb_dp_map m;
	bool keys_only; /* an LPM trie's lookup is a longest match */
} service_maps[] = {
	{ XLB_DPM_SVC, false },
	{ XLB_DPM_BACKENDS, false },
	{ XLB_DPM_SVC_META, false },
	{ XLB_DPM_SRC_RANGES, true },
};

/* Byte for byte: every service map and every table slot. */
static bool same_maps(struct xlb_dp *a, struct xlb_dp *b, char *why, size_t wsz)
{
	static __u32 ta[65537], tb[65537];

	for (size_t i = 0; i < sizeof(service_maps) / sizeof(service_maps[0]); i++) {
		struct dump x, y;
		bool same;

		if (dump_map(xlb_dp_map_fd(a, service_maps[i].m), service_maps[i].keys_only, &x) ||
		    dump_map(xlb_dp_map_fd(b, service_maps[i].m), service_maps[i].keys_only, &y)) {
			snprintf(why, wsz, "dump %s", xlb_dp_map_names[service_maps[i].m]);
			return false;
		}
		same = x.n == y.n && (!x.n || !memcmp(x.buf, y.buf, x.n * (x.ksz + x.vsz)));
		if (!same)
			snprintf(why, wsz, "%s: %zu vs %zu entries, or contents differ",
				 xlb_dp_map_names[service_maps[i].m], x.n, y.n);
		free(x.buf);
		free(y.buf);
		if (!same)
			return false;
	}
	for (__u32 t = 1; t < TABLES; t++) {
		__u32 ma = 0, mb = 0;
		int ea = xlb_dp_table_get(a, t, ta, &ma, 65537);
		int eb = xlb_dp_table_get(b, t, tb, &mb, 65537);

		if (ea != eb || ma != mb || (!ea && memcmp(ta, tb, ma * sizeof(*ta)))) {
			snprintf(why, wsz, "Maglev table %u differs (%d/%d, M %u/%u)", t, ea, eb,
				 ma, mb);
			return false;
		}
	}
	return true;
}

/*
 * The maps as sorted text lines with ids replaced by what they stand for
 * (a service id by its name, a backend id by its address and port, a table
 * by its sequence of backend addresses): equal for two datapaths that hold
 * the same state through different histories.
 */
struct lines {
	char **v;
	size_t n;
};

static void add_line(struct lines *l, char *s)
{
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = s;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *svc_name_of(const struct dump *meta, __u32 id)
{
	for (size_t i = 0; i < meta->n; i++) {
		const unsigned char *e = meta->buf + i * (meta->ksz + meta->vsz);

		if (*(const __u32 *)e == id)
			return ((const struct xlb_svc_meta *)(e + meta->ksz))->name;
	}
	return "?";
}

static const struct xlb_backend *backend_of(const struct dump *be, __u32 id)
{
	for (size_t i = 0; i < be->n; i++) {
		const unsigned char *e = be->buf + i * (be->ksz + be->vsz);

		if (*(const __u32 *)e == id)
			return (const struct xlb_backend *)(e + be->ksz);
	}
	return NULL;
}

static void canonical(struct xlb_dp *dp, struct lines *out)
{
	static __u32 tbl[65537];
	struct dump svc, be, meta, rg;
	char *s;

	memset(out, 0, sizeof(*out));
	dump_map(xlb_dp_map_fd(dp, XLB_DPM_SVC), false, &svc);
	dump_map(xlb_dp_map_fd(dp, XLB_DPM_BACKENDS), false, &be);
	dump_map(xlb_dp_map_fd(dp, XLB_DPM_SVC_META), false, &meta);
	dump_map(xlb_dp_map_fd(dp, XLB_DPM_SRC_RANGES), true, &rg);
	for (size_t i = 0; i < svc.n; i++) {
		const unsigned char *e = svc.buf + i * (svc.ksz + svc.vsz);
		const struct xlb_svc_key *k = (const void *)e;
		const struct xlb_svc *v = (const void *)(e + svc.ksz);
		unsigned long long h = 0xcbf29ce484222325ull;
		__u32 m = 0;
		char fe[80];

		if (v->table_id && !xlb_dp_table_get(dp, v->table_id, tbl, &m, 65537))
			for (__u32 x = 0; x < m; x++) {
				const struct xlb_backend *b = backend_of(&be, tbl[x]);
				__u64 id = b ? ((__u64)b->addr.v4 << 16 | b->port) : 0;

				h = (h ^ id) * 0x100000001b3ull;
			}
		xlb_frontend_str(k, fe, sizeof(fe));
		asprintf(&s, "fe %s %s M=%u nb=%u nt=%u fl=%x aff=%u tbl=%u/%llx", fe,
			 svc_name_of(&meta, v->svc_id), v->maglev_size, v->backend_count,
			 v->total_count, v->flags, v->affinity_timeout, m, h);
		add_line(out, s);
	}
	for (size_t i = 0; i < be.n; i++) {
		const struct xlb_backend *b = (const void *)(be.buf + i * (be.ksz + be.vsz) +
							     be.ksz);

		asprintf(&s, "be %s %08x:%u f%u fl%x", svc_name_of(&meta, b->svc_id), b->addr.v4,
			 ntohs(b->port), b->family, b->flags);
		add_line(out, s);
	}
	for (size_t i = 0; i < meta.n; i++) {
		const struct xlb_svc_meta *v = (const void *)(meta.buf + i * (meta.ksz + meta.vsz) +
							      meta.ksz);

		asprintf(&s, "meta %s fl=%x nfe=%u nbe=%u tr=%u", v->name, v->flags, v->n_frontends,
			 v->n_backends, v->total_ready);
		add_line(out, s);
	}
	for (size_t i = 0; i < rg.n; i++) {
		const struct xlb_src_key *k = (const void *)(rg.buf + i * rg.ksz);

		asprintf(&s, "range %s %u %u.%u.%u.%u", svc_name_of(&meta, ntohl(k->id) & 0xffffff),
			 k->prefixlen, k->addr[0], k->addr[1], k->addr[2], k->addr[3]);
		add_line(out, s);
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_line);
	free(svc.buf);
	free(be.buf);
	free(meta.buf);
	free(rg.buf);
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Frontend values of Services not in @d: must not move in an
 * incremental step (ids, tables, counts). */
static bool untouched_kept(const struct dump *before, struct xlb_dp *dp, const struct dump *meta,
			   const struct dirty *d)
{
	struct dump after;
	bool ok = true;

	dump_map(xlb_dp_map_fd(dp, XLB_DPM_SVC), false, &after);
	for (size_t i = 0; ok && i < before->n; i++) {
		const unsigned char *e = before->buf + i * (before->ksz + before->vsz);
		const struct xlb_svc *v = (const void *)(e + before->ksz);
		const char *name = svc_name_of(meta, v->svc_id);
		bool touched = false;
		size_t j;

		for (size_t k = 0; k < d->n && !touched; k++) {
			size_t len = strlen(d->v[k]);

			touched = !strncmp(name, d->v[k], len) && name[len] == ':';
		}
		if (touched)
			continue;
		for (j = 0; j < after.n; j++)
			if (!memcmp(after.buf + j * (after.ksz + after.vsz), e,
				    before->ksz + before->vsz))
				break;
		ok = j < after.n;
	}
	free(after.buf);
	return ok;
}

static struct xlb_dp *load(void)
{
	struct xlb_dp_opts o = { .cfg = XLB_CFG_DEFAULT, .max_ct = 1024, .max_tables = TABLES };

	xlb_log_set_level(XLB_LOG_ERR);
	return xlb_dp_load(&o);
}

static void run_seed(unsigned long long seed, int steps)
{
	struct xlb_sync_opts so = { .maglev_min = 251, .max_tables = TABLES };
	struct xlb_dp *dp_inc = load(), *dp_ref = load(), *dp_fresh = NULL;
	struct xlb_sync *s_inc = NULL, *s_ref = NULL, *s_fresh = NULL;
	struct xlb_desired cur = { 0 }, ref = { 0 }, fresh = { 0 };
	struct model m = { .rng = seed };
	struct k8s_cache *c = k8s_cache_new();
	int n_incr = 0, n_full = 0, n_svc_moves = 0;
	struct lines la, lb;
	char why[160];
	bool ok = true;

	if (!ASSERT_TRUE(dp_inc && dp_ref && c, "load two datapaths"))
		goto out;
	s_inc = xlb_sync_new(dp_inc, &so);
	s_ref = xlb_sync_new(dp_ref, &so);
	if (!ASSERT_TRUE(s_inc && s_ref, "sync_new"))
		goto out;
	for (int i = 0; i < NSVC; i++) {
		random_svc(&m, i);
		m.svc[i].present = rnd(&m, 5) != 0;
		if (m.svc[i].present && !ASSERT_OK(sync_svc(c, &m, i), "initial Service"))
			goto out;
	}
	for (int j = 0; j < NSLICE; j++) {
		random_slice(&m, j);
		if (!ASSERT_OK(sync_slice(c, &m, j), "initial slice"))
			goto out;
	}
	/* Start: a full pass on both sides, as the agent's first sync. */
	if (!ASSERT_OK(xlb_translate(c, &topts, &cur, NULL), "first translate") ||
	    !ASSERT_OK(xlb_sync_apply(s_inc, &cur, NULL), "first sync") ||
	    !ASSERT_OK(xlb_sync_apply(s_ref, &cur, NULL), "first sync (reference)"))
		goto out;

	for (int step = 0; ok && step < steps; step++) {
		struct dirty d = { 0 };
		struct dump before, meta;
		size_t *chg = NULL, nchg = 0;
		int err;

		dump_map(xlb_dp_map_fd(dp_inc, XLB_DPM_SVC), false, &before);
		dump_map(xlb_dp_map_fd(dp_inc, XLB_DPM_SVC_META), false, &meta);
		if (!ASSERT_OK(mutate(c, &m, &d), "change applied to the cache")) {
			ok = false;
			break;
		}
		err = xlb_translate_update(c, &topts, d.p, d.n, &cur, &chg, &nchg, NULL);
		if (err == -EAGAIN) {
			/* Beyond the touched Services: the full pass. */
			xlb_desired_free(&cur);
			err = xlb_translate(c, &topts, &cur, NULL);
			err = err ?: xlb_sync_apply(s_inc, &cur, NULL);
			n_full++;
		} else if (!err) {
			const char *names[64];

			ok = ASSERT_LE(nchg, 64, "changed service ports");
			for (size_t x = 0; ok && x < nchg; x++)
				names[x] = cur.svcports[chg[x]].name;
			err = ok ? xlb_sync_apply_names(s_inc, &cur, names, nchg, NULL) : -E2BIG;
			n_incr++;
			if (!untouched_kept(&before, dp_inc, &meta, &d)) {
				fprintf(stderr,
					"step %d: a frontend of an untouched Service moved\n",
					step);
				ok = false;
			}
		}
		free(chg);
		free(before.buf);
		free(meta.buf);
		ok = ok && ASSERT_OK(err, "incremental step");

		xlb_desired_free(&ref);
		ok = ok && ASSERT_OK(xlb_translate(c, &topts, &ref, NULL), "reference translate");
		ok = ok && ASSERT_OK(xlb_sync_apply(s_ref, &ref, NULL), "reference sync");
		if (ok && !same_desired(&cur, &ref)) {
			fprintf(stderr,
				"seed %llu step %d: desired state differs from a full translate\n",
				seed, step);
			ok = false;
		}
		if (ok && !same_maps(dp_inc, dp_ref, why, sizeof(why))) {
			fprintf(stderr, "seed %llu step %d: maps differ: %s\n", seed, step, why);
			ok = false;
		}
		n_svc_moves += d.n > 1;
	}
	fprintf(stderr,
		"seed %llx: %d incremental steps, %d full passes, %d touching two Services\n", seed,
		n_incr, n_full, n_svc_moves);
	ASSERT_TRUE(ok, "every step: incremental == full, byte for byte");
	/* Both paths must have been taken many times, or this proves little. */
	ASSERT_LE(steps / 3, n_incr, "incremental steps");
	ASSERT_LE(steps / 10, n_full, "full-pass fallbacks");
	ASSERT_LE(1, n_svc_moves, "steps touching two Services");

	/* The final state from scratch: the same modulo id numbering. */
	dp_fresh = load();
	s_fresh = dp_fresh ? xlb_sync_new(dp_fresh, &so) : NULL;
	if (!ASSERT_TRUE(s_fresh, "fresh datapath") ||
	    !ASSERT_OK(xlb_translate(c, &topts, &fresh, NULL), "fresh translate") ||
	    !ASSERT_OK(xlb_sync_apply(s_fresh, &fresh, NULL), "fresh sync"))
		goto out;
	canonical(dp_inc, &la);
	canonical(dp_fresh, &lb);
	ok = la.n == lb.n;
	for (size_t i = 0; ok && i < la.n; i++)
		if (strcmp(la.v[i], lb.v[i])) {
			fprintf(stderr, "incremental: %s\nfresh:       %s\n", la.v[i], lb.v[i]);
			ok = false;
		}
	ASSERT_TRUE(ok, "final maps equal a fresh full sync (ids aside)");
	ASSERT_LE(NSVC / 4, la.n, "the final state is not empty");
	lines_free(&la);
	lines_free(&lb);
out:
	xlb_desired_free(&cur);
	xlb_desired_free(&ref);
	xlb_desired_free(&fresh);
	xlb_sync_free(s_inc);
	xlb_sync_free(s_ref);
	xlb_sync_free(s_fresh);
	xlb_dp_close(dp_inc);
	xlb_dp_close(dp_ref);
	xlb_dp_close(dp_fresh);
	k8s_cache_free(c);
}

XT_TEST(random_changes_incremental_equals_full_seed1)
{
	run_seed(0x9e3779b97f4a7c15ull, 200);
}

XT_TEST(random_changes_incremental_equals_full_seed2)
{
	run_seed(0xd1b54a32d192ed03ull, 200);
}

/* The slice index follows puts, label moves and deletes. */
XT_TEST(slice_index_by_service)
{
	struct model m = { .rng = 7 };
	struct k8s_cache *c = k8s_cache_new();
	const struct k8s_object **v = NULL;
	size_t n = 0;

	if (!ASSERT_TRUE(c, "cache"))
		return;
	for (int j = 0; j < 3; j++) {
		random_slice(&m, j);
		m.sl[j].svc = 1;
		ASSERT_OK(sync_slice(c, &m, j), "put");
	}
	ASSERT_OK(k8s_cache_slices_of(c, "t", "s1", &v, &n), "lookup");
	ASSERT_EQ(n, 3, "three slices of s1");
	if (n == 3)
		ASSERT_TRUE(!strcmp(v[0]->meta.name, "e0") && !strcmp(v[2]->meta.name, "e2"),
			    "sorted by name");
	free(v);
	m.sl[1].svc = 2; /* relabelled: moves */
	ASSERT_OK(sync_slice(c, &m, 1), "relabel");
	m.sl[2].present = false;
	ASSERT_OK(sync_slice(c, &m, 2), "delete");
	ASSERT_OK(k8s_cache_slices_of(c, "t", "s1", &v, &n), "lookup");
	ASSERT_EQ(n, 1, "s1 keeps e0");
	free(v);
	ASSERT_OK(k8s_cache_slices_of(c, "t", "s2", &v, &n), "lookup");
	ASSERT_EQ(n, 1, "s2 has e1");
	free(v);
	ASSERT_OK(k8s_cache_slices_of(c, "u", "s2", &v, &n), "lookup");
	ASSERT_EQ(n, 0, "namespaces apart");
	free(v);
	k8s_cache_free(c);
}

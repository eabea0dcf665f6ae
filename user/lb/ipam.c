// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ipam: the LoadBalancer IP allocator (see ipam.h for the rules).
 *
 * Reservations are a flat list scanned linearly: allocation runs once per
 * change on the leader over at most a few thousand LoadBalancer Services,
 * and a flat list keeps the sharing rules in one obvious place.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb/ipam.h"
#include "lib/log.h"

/* Addresses tried per block before it counts as full: IPv6 blocks can be
 * 2^64 wide and a pool is searched lowest address first. */
#define IPAM_SCAN_MAX 65536

struct resv {
	struct k8s_ip ip;
	size_t svc; /* index into svcs */
};

struct ipam {
	const struct k8s_object *const *pools; /* sorted by name */
	size_t n_pools;
	const struct k8s_object *const *svcs;
	size_t n_svcs;
	struct resv *resv;
	size_t n_resv, cap_resv;
};

/* What a Service asks for, read from its spec and annotations. */
struct request {
	struct k8s_ip ips[XLB_IPAM_MAX_IPS];
	size_t n_ips;
	const char *pool;		/* NULL: any allowed pool */
	uint8_t fams[XLB_IPAM_MAX_IPS]; /* families wanted, in order */
	size_t n_fams;
	bool need_all; /* RequireDualStack (or single-stack) */
};

static const char *ann2(const struct k8s_object *o, const char *a, const char *b)
{
	const char *v = k8s_annotation(o, a);

	return v && *v ? v : (b ? k8s_annotation(o, b) : NULL);
}

static const char *sharing_key(const struct k8s_object *o)
{
	const char *v = ann2(o, XLB_ANN_SHARED, METALLB_ANN_SHARED);

	return v && *v ? v : NULL;
}

static const char *fam_name(uint8_t f)
{
	return f == XLB_AF_INET6 ? "IPv6" : "IPv4";
}

static void fail(struct xlb_ipam_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct xlb_ipam_result *r, const char *fmt, ...)
{
	va_list ap;

	r->status = XLB_IPAM_FAILED;
	r->reason = "AllocationFailed";
	r->n_ips = 0;
	r->pool = NULL;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

/* Parse "a, b" into req->ips; a malformed list fails the Service alone. */
static int parse_ip_list(const char *list, const char *what, struct request *req,
			 struct xlb_ipam_result *r)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(list) >= sizeof(buf)) {
		fail(r, "%s: too long", what);
		return -EINVAL;
	}
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct k8s_ip ip;
		char *end;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*tok)
			continue;
		if (!k8s_parse_ip(tok, &ip)) {
			fail(r, "%s: \"%s\" is not an IP address", what, tok);
			return -EINVAL;
		}
		for (size_t i = 0; i < req->n_ips; i++) {
			if (req->ips[i].family == ip.family) {
				fail(r, "%s: at most one %s address", what, fam_name(ip.family));
				return -EINVAL;
			}
		}
		if (req->n_ips == XLB_IPAM_MAX_IPS) {
			fail(r, "%s: at most one address per family", what);
			return -EINVAL;
		}
		req->ips[req->n_ips++] = ip;
	}
	if (!req->n_ips) {
		fail(r, "%s: no address given", what);
		return -EINVAL;
	}
	return 0;
}

static int read_request(const struct k8s_object *o, struct request *req, struct xlb_ipam_result *r)
{
	const struct k8s_service *s = &o->svc;
	const char *ann = k8s_annotation(o, XLB_ANN_IPS);
	const char *which = XLB_ANN_IPS;

	memset(req, 0, sizeof(*req));
	if (!ann || !*ann) {
		ann = k8s_annotation(o, METALLB_ANN_IPS);
		which = METALLB_ANN_IPS;
	}
	if (ann && *ann && s->load_balancer_ip) {
		fail(r, "both spec.loadBalancerIP and annotation %s are set; keep one", which);
		return -EINVAL;
	}
	if (ann && *ann && parse_ip_list(ann, which, req, r))
		return -EINVAL;
	if (s->load_balancer_ip &&
	    parse_ip_list(s->load_balancer_ip, "spec.loadBalancerIP", req, r))
		return -EINVAL;
	req->pool = ann2(o, XLB_ANN_POOL, METALLB_ANN_POOL);
	if (req->pool && !*req->pool)
		req->pool = NULL;

	/* The API server fills ipFamilies; a hand-written file may not. */
	for (size_t i = 0; i < s->n_ip_families && req->n_fams < XLB_IPAM_MAX_IPS; i++)
		req->fams[req->n_fams++] = s->ip_families[i];
	if (!req->n_fams)
		req->fams[req->n_fams++] = req->n_ips ? req->ips[0].family : XLB_AF_INET;
	if (s->ip_family_policy == K8S_IPFP_SINGLE)
		req->n_fams = 1;
	req->need_all = s->ip_family_policy != K8S_IPFP_PREFER_DUAL;
	for (size_t i = 0; i < req->n_ips; i++) {
		bool ok = false;

		for (size_t j = 0; j < req->n_fams; j++)
			ok |= req->ips[i].family == req->fams[j];
		if (!ok) {
			char b[64];

			fail(r,
			     "requested IP %s is %s, but the Service's ipFamilies do not include it",
			     k8s_ip_str(&req->ips[i], b, sizeof(b)), fam_name(req->ips[i].family));
			return -EINVAL;
		}
	}
	return 0;
}

static bool block_has(const struct k8s_pool_block *b, const struct k8s_ip *ip)
{
	return b->first.family == ip->family && k8s_ip_cmp(&b->first, ip) <= 0 &&
	       k8s_ip_cmp(ip, &b->last) <= 0;
}

static bool pool_has(const struct k8s_object *pool, const struct k8s_ip *ip)
{
	for (size_t i = 0; i < pool->pool.n_blocks; i++)
		if (block_has(&pool->pool.blocks[i], ip))
			return true;
	return false;
}

static bool pool_restricted(const struct k8s_object *pool)
{
	return pool->pool.n_namespaces || pool->pool.n_svc_selector;
}

/* serviceSelector and namespaces allow this Service. */
static bool pool_allows(const struct k8s_object *pool, const struct k8s_object *svc)
{
	const struct k8s_lbpool *p = &pool->pool;
	bool ns_ok = !p->n_namespaces;

	for (size_t i = 0; i < p->n_namespaces && !ns_ok; i++)
		ns_ok = !strcmp(p->namespaces[i], svc->meta.namespace);
	return ns_ok && k8s_labels_match(p->svc_selector, p->n_svc_selector, svc->meta.labels,
					 svc->meta.n_labels);
}

static bool ports_overlap(const struct k8s_service *a, const struct k8s_service *b, char *why,
			  size_t len)
{
	for (size_t i = 0; i < a->n_ports; i++)
		for (size_t j = 0; j < b->n_ports; j++)
			if (a->ports[i].port == b->ports[j].port &&
			    a->ports[i].proto == b->ports[j].proto) {
				snprintf(why, len, "port %s/%u is used by both",
					 a->ports[i].proto == IPPROTO_UDP ? "UDP" : "TCP",
					 a->ports[i].port);
				return true;
			}
	return false;
}

static bool same_selector(const struct k8s_service *a, const struct k8s_service *b)
{
	return a->n_selector == b->n_selector &&
	       k8s_labels_match(a->selector, a->n_selector, b->selector, b->n_selector);
}

/*
 * May Service @si use @ip given what is reserved? On false, @why says who
 * holds it and why they cannot share.
 */
static bool can_use(const struct ipam *m, size_t si, const struct k8s_ip *ip, char *why, size_t len)
{
	const struct k8s_object *me = m->svcs[si];
	const char *key = sharing_key(me);

	for (size_t i = 0; i < m->n_resv; i++) {
		const struct resv *r = &m->resv[i];
		const struct k8s_object *o;
		const char *okey;
		char detail[96];

		if (r->svc == si || k8s_ip_cmp(&r->ip, ip))
			continue;
		o = m->svcs[r->svc];
		okey = sharing_key(o);
		if (!key || !okey || strcmp(key, okey))
			snprintf(detail, sizeof(detail), "no common sharing key (annotation %s)",
				 XLB_ANN_SHARED);
		else if (ports_overlap(&me->svc, &o->svc, detail, sizeof(detail)))
			;
		else if ((me->svc.external_traffic_policy == K8S_TP_LOCAL ||
			  o->svc.external_traffic_policy == K8S_TP_LOCAL) &&
			 (me->svc.external_traffic_policy != o->svc.external_traffic_policy ||
			  !same_selector(&me->svc, &o->svc)))
			snprintf(
				detail, sizeof(detail),
				"externalTrafficPolicy Local needs the same policy and selector on both");
		else
			continue;
		snprintf(why, len, "used by Service %s/%s: %s", o->meta.namespace, o->meta.name,
			 detail);
		return false;
	}
	return true;
}

static int reserve(struct ipam *m, size_t si, const struct k8s_ip *ip)
{
	if (m->n_resv == m->cap_resv) {
		size_t cap = m->cap_resv ? m->cap_resv * 2 : 64;
		struct resv *v = realloc(m->resv, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->resv = v;
		m->cap_resv = cap;
	}
	m->resv[m->n_resv++] = (struct resv){ .ip = *ip, .svc = si };
	return 0;
}

static bool buggy(const struct k8s_ip *ip)
{
	uint8_t last = ip->addr.bytes[3];

	return ip->family == XLB_AF_INET && (last == 0 || last == 255);
}

static void ip_inc(struct k8s_ip *ip)
{
	for (int i = (ip->family == XLB_AF_INET ? 4 : 16) - 1; i >= 0; i--)
		if (++ip->addr.bytes[i])
			break;
}

/*
 * An address of family @fam in @pool for Service @si: first one already
 * shared under the Service's sharing key (so a sharing pair lands on one
 * address), else the lowest free one.
 */
static bool pick(const struct ipam *m, size_t si, const struct k8s_object *pool, uint8_t fam,
		 struct k8s_ip *out)
{
	const struct k8s_lbpool *p = &pool->pool;
	const char *key = sharing_key(m->svcs[si]);
	char why[8];

	if (key) {
		for (size_t i = 0; i < m->n_resv; i++) {
			const struct resv *r = &m->resv[i];
			const char *okey = sharing_key(m->svcs[r->svc]);

			if (r->ip.family == fam && okey && !strcmp(okey, key) &&
			    pool_has(pool, &r->ip) && !(p->avoid_buggy_ips && buggy(&r->ip)) &&
			    can_use(m, si, &r->ip, why, sizeof(why))) {
				*out = r->ip;
				return true;
			}
		}
	}
	for (size_t b = 0; b < p->n_blocks; b++) {
		const struct k8s_pool_block *blk = &p->blocks[b];
		struct k8s_ip ip = blk->first;

		if (blk->first.family != fam)
			continue;
		for (size_t n = 0; n < IPAM_SCAN_MAX; n++) {
			if (!(p->avoid_buggy_ips && buggy(&ip)) &&
			    can_use(m, si, &ip, why, sizeof(why))) {
				*out = ip;
				return true;
			}
			if (!k8s_ip_cmp(&ip, &blk->last))
				break;
			ip_inc(&ip);
		}
	}
	return false;
}

static const struct k8s_object *pool_by_name(const struct ipam *m, const char *name)
{
	for (size_t i = 0; i < m->n_pools; i++)
		if (!strcmp(m->pools[i]->meta.name, name))
			return m->pools[i];
	return NULL;
}

static bool fam_wanted(const struct request *req, uint8_t fam)
{
	for (size_t i = 0; i < req->n_fams; i++)
		if (req->fams[i] == fam)
			return true;
	return false;
}

/*
 * Keep the Service's status addresses if they are all still allowed:
 * inside one pool that allows the Service (the requested one, if any),
 * of a wanted family, equal to the request if there is one, shareable.
 */
static int keep_status(struct ipam *m, size_t si, const struct request *req,
		       struct xlb_ipam_result *r)
{
	const struct k8s_service *s = &m->svcs[si]->svc;
	const struct k8s_object *pool = NULL;
	char why[160];
	size_t n = 0;

	for (size_t i = 0; i < s->n_ingress; i++) {
		const struct k8s_ip *ip = &s->ingress[i].ip;
		const struct k8s_object *p;

		if (!s->ingress[i].has_ip)
			continue;
		if (n == XLB_IPAM_MAX_IPS || !fam_wanted(req, ip->family))
			return 0;
		for (size_t j = 0; j < n; j++)
			if (r->ips[j].family == ip->family)
				return 0;
		p = xlb_ipam_pool_of(m->pools, m->n_pools, ip);
		if (!p || (pool && p != pool) || !pool_allows(p, m->svcs[si]) ||
		    (req->pool && strcmp(req->pool, p->meta.name)) ||
		    !can_use(m, si, ip, why, sizeof(why)))
			return 0;
		pool = p;
		r->ips[n++] = *ip;
	}
	if (!n)
		return 0;
	if (req->n_ips) {
		if (req->n_ips != n)
			return 0;
		for (size_t i = 0; i < n; i++) {
			bool found = false;

			for (size_t j = 0; j < n && !found; j++)
				found = !k8s_ip_cmp(&req->ips[i], &r->ips[j]);
			if (!found)
				return 0;
		}
	} else if (n < req->n_fams && req->need_all) {
		return 0; /* became dual-stack: allocate both afresh */
	}
	for (size_t i = 0; i < n; i++)
		if (reserve(m, si, &r->ips[i]))
			return -ENOMEM;
	r->status = XLB_IPAM_OK;
	r->n_ips = n;
	r->pool = pool->meta.name;
	return 1;
}

static int take_requested(struct ipam *m, size_t si, const struct request *req,
			  struct xlb_ipam_result *r)
{
	const struct k8s_object *pool = NULL;
	char b[64], why[200];

	for (size_t i = 0; i < req->n_ips; i++) {
		const struct k8s_ip *ip = &req->ips[i];
		const struct k8s_object *p = NULL;

		for (size_t j = 0; j < m->n_pools && !p; j++)
			if (pool_has(m->pools[j], ip) && pool_allows(m->pools[j], m->svcs[si]) &&
			    (!req->pool || !strcmp(req->pool, m->pools[j]->meta.name)))
				p = m->pools[j];
		if (!p) {
			if (req->pool)
				fail(r,
				     "requested IP %s is not in pool %s (or the pool does not allow this Service)",
				     k8s_ip_str(ip, b, sizeof(b)), req->pool);
			else
				fail(r,
				     "requested IP %s is outside every pool that allows this Service; add it to a LoadBalancerIPPool",
				     k8s_ip_str(ip, b, sizeof(b)));
			return 0;
		}
		if (pool && p != pool) {
			fail(r,
			     "requested IPs are in different pools (%s, %s); one pool must hold them all",
			     pool->meta.name, p->meta.name);
			return 0;
		}
		pool = p;
		if (!can_use(m, si, ip, why, sizeof(why))) {
			fail(r, "requested IP %s is %s", k8s_ip_str(ip, b, sizeof(b)), why);
			return 0;
		}
		r->ips[i] = *ip;
	}
	for (size_t i = 0; i < req->n_ips; i++)
		if (reserve(m, si, &req->ips[i]))
			return -ENOMEM;
	r->status = XLB_IPAM_OK;
	r->n_ips = req->n_ips;
	r->pool = pool->meta.name;
	return 1;
}

/* One address per wanted family from one pool: pools are tried in
 * MetalLB's order (requested pool; pools selecting this Service; then the
 * unrestricted autoAssign pools), by name within each group. */
static int take_auto(struct ipam *m, size_t si, const struct request *req,
		     struct xlb_ipam_result *r)
{
	const struct k8s_object *cands[2][m->n_pools ? m->n_pools : 1];
	size_t nc[2] = { 0, 0 };
	struct k8s_ip best[XLB_IPAM_MAX_IPS];
	const struct k8s_object *best_pool = NULL;
	size_t best_n = 0;

	if (req->pool) {
		const struct k8s_object *p = pool_by_name(m, req->pool);

		if (!p) {
			fail(r, "pool %s (annotation %s) does not exist", req->pool, XLB_ANN_POOL);
			return 0;
		}
		if (!pool_allows(p, m->svcs[si])) {
			fail(r, "pool %s does not allow Service %s/%s (namespaces/serviceSelector)",
			     req->pool, m->svcs[si]->meta.namespace, m->svcs[si]->meta.name);
			return 0;
		}
		cands[0][nc[0]++] = p;
	} else {
		for (size_t i = 0; i < m->n_pools; i++) {
			const struct k8s_object *p = m->pools[i];

			if (!p->pool.auto_assign || !pool_allows(p, m->svcs[si]))
				continue;
			if (pool_restricted(p))
				cands[0][nc[0]++] = p;
			else
				cands[1][nc[1]++] = p;
		}
	}
	if (!nc[0] && !nc[1]) {
		fail(r,
		     "no LoadBalancerIPPool with autoAssign allows Service %s/%s; create one or request a pool with %s",
		     m->svcs[si]->meta.namespace, m->svcs[si]->meta.name, XLB_ANN_POOL);
		return 0;
	}
	for (int g = 0; g < 2 && best_n < req->n_fams; g++) {
		for (size_t c = 0; c < nc[g] && best_n < req->n_fams; c++) {
			struct k8s_ip got[XLB_IPAM_MAX_IPS];
			size_t n = 0;

			for (size_t f = 0; f < req->n_fams; f++)
				if (pick(m, si, cands[g][c], req->fams[f], &got[n]))
					n++;
			if (n > best_n) {
				memcpy(best, got, sizeof(got));
				best_n = n;
				best_pool = cands[g][c];
			}
		}
	}
	if (!best_n || (req->need_all && best_n < req->n_fams)) {
		if (req->pool)
			fail(r, "pool %s is exhausted: no free %s address", req->pool,
			     req->n_fams > 1 ? "address of each family" : fam_name(req->fams[0]));
		else
			fail(r,
			     "no free %s address in any pool allowed for this Service (pools exhausted); add addresses or use a sharing key",
			     req->n_fams > 1 && req->need_all ? "dual-stack" :
								fam_name(req->fams[0]));
		return 0;
	}
	for (size_t i = 0; i < best_n; i++) {
		r->ips[i] = best[i];
		if (reserve(m, si, &best[i]))
			return -ENOMEM;
	}
	r->status = XLB_IPAM_OK;
	r->n_ips = best_n;
	r->pool = best_pool->meta.name;
	return 1;
}

static bool ours(const struct k8s_object *o, const struct xlb_ipam_opts *opts)
{
	const char *cls = o->svc.load_balancer_class;

	if (o->kind != K8S_KIND_SERVICE || o->svc.type != K8S_SVC_LOAD_BALANCER)
		return false;
	if (opts && opts->lb_class)
		return cls && !strcmp(cls, opts->lb_class);
	return !cls;
}

static bool same_as_status(const struct k8s_service *s, const struct xlb_ipam_result *r)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_ingress; i++) {
		if (!s->ingress[i].has_ip)
			return false; /* a hostname entry is not ours to keep */
		if (n >= r->n_ips || k8s_ip_cmp(&s->ingress[i].ip, &r->ips[n]))
			return false;
		n++;
	}
	return n == r->n_ips;
}

static int cmp_obj(const void *a, const void *b)
{
	const struct k8s_object *x = *(const struct k8s_object *const *)a;
	const struct k8s_object *y = *(const struct k8s_object *const *)b;
	int c = strcmp(x->meta.namespace, y->meta.namespace);

	return c ? c : strcmp(x->meta.name, y->meta.name);
}

/* Indexes into the Service array @ctx, by the Services' names. */
static int cmp_idx(const void *a, const void *b, void *ctx)
{
	const struct k8s_object *const *v = ctx;
	const struct k8s_object *x = v[*(const size_t *)a], *y = v[*(const size_t *)b];

	return cmp_obj(&x, &y);
}

const struct k8s_object *xlb_ipam_pool_of(const struct k8s_object *const *pools, size_t n_pools,
					  const struct k8s_ip *ip)
{
	const struct k8s_object *best = NULL;

	for (size_t i = 0; i < n_pools; i++)
		if (pool_has(pools[i], ip) &&
		    (!best || strcmp(pools[i]->meta.name, best->meta.name) < 0))
			best = pools[i];
	return best;
}

/*
 * Pass 1 keeps what the Services already have, pass 2 serves explicit
 * requests, pass 3 the rest; then each result says whether it differs
 * from the Service's status. Services in name order; out[order[i]] is
 * sorted Service i's result.
 */
static int allocate_passes(struct ipam *m, const struct xlb_ipam_opts *opts, struct request *req,
			   const size_t *order, struct xlb_ipam_result *out)
{
	const struct k8s_object *const *ss = m->svcs;
	size_t n_svcs = m->n_svcs;

	for (size_t i = 0; i < n_svcs; i++) {
		struct xlb_ipam_result *r = &out[order[i]];

		if (!ours(ss[i], opts))
			continue;
		if (read_request(ss[i], &req[i], r))
			continue; /* FAILED, message set */
		if (keep_status(m, i, &req[i], r) < 0)
			return -ENOMEM;
	}
	for (int pass = 2; pass <= 3; pass++) {
		for (size_t i = 0; i < n_svcs; i++) {
			struct xlb_ipam_result *r = &out[order[i]];
			int rc;

			if (!ours(ss[i], opts) || r->status != XLB_IPAM_SKIP)
				continue;
			if ((pass == 2) != (req[i].n_ips > 0))
				continue;
			rc = pass == 2 ? take_requested(m, i, &req[i], r) :
					 take_auto(m, i, &req[i], r);
			if (rc < 0)
				return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n_svcs; i++) {
		struct xlb_ipam_result *r = &out[order[i]];

		if (r->status == XLB_IPAM_OK)
			r->changed = !same_as_status(&ss[i]->svc, r);
		else if (r->status == XLB_IPAM_FAILED)
			r->changed = ss[i]->svc.n_ingress > 0;
	}
	return 0;
}

int xlb_ipam_allocate(const struct k8s_object *const *pools, size_t n_pools,
		      const struct k8s_object *const *svcs, size_t n_svcs,
		      const struct xlb_ipam_opts *opts, struct xlb_ipam_result *out)
{
	const struct k8s_object **sp = NULL, **ss = NULL;
	struct request *req = NULL;
	size_t *order = NULL;
	struct ipam m = { 0 };
	int err = -ENOMEM;

	memset(out, 0, n_svcs * sizeof(*out));
	sp = malloc((n_pools + 1) * sizeof(*sp));
	ss = malloc((n_svcs + 1) * sizeof(*ss));
	req = calloc(n_svcs + 1, sizeof(*req));
	order = malloc((n_svcs + 1) * sizeof(*order));
	if (!sp || !ss || !req || !order)
		goto out;
	memcpy(sp, pools, n_pools * sizeof(*sp));
	qsort(sp, n_pools, sizeof(*sp), cmp_obj);
	/* Work in name order so the result does not depend on input order;
	 * order[i] is where sorted Service i came from. */
	for (size_t i = 0; i < n_svcs; i++)
		order[i] = i;
	qsort_r(order, n_svcs, sizeof(*order), cmp_idx, (void *)svcs);
	for (size_t i = 0; i < n_svcs; i++)
		ss[i] = svcs[order[i]];
	m.pools = sp;
	m.n_pools = n_pools;
	m.svcs = ss;
	m.n_svcs = n_svcs;

	if (allocate_passes(&m, opts, req, order, out))
		goto out;
	err = 0;
out:
	free(m.resv);
	free(order);
	free(req);
	free(ss);
	free(sp);
	return err;
}

int xlb_ipam_apply_cache(struct k8s_cache *c, const struct xlb_ipam_opts *opts)
{
	const struct k8s_object **pools = NULL, **svcs = NULL;
	size_t n_pools = 0, n_svcs = 0;
	struct xlb_ipam_result *res = NULL;
	int err = -ENOMEM, failed = 0;

	if (k8s_cache_list(c, K8S_KIND_LBPOOL, &pools, &n_pools) ||
	    k8s_cache_list(c, K8S_KIND_SERVICE, &svcs, &n_svcs))
		goto out;
	/* No pool: xlb is not the allocator here (the addresses come from
	 * MetalLB or a hand-written status); leave every status alone. */
	if (!n_pools) {
		err = 0;
		goto out;
	}
	res = calloc(n_svcs + 1, sizeof(*res));
	if (!res || xlb_ipam_allocate(pools, n_pools, svcs, n_svcs, opts, res))
		goto out;
	for (size_t i = 0; i < n_svcs; i++) {
		const struct xlb_ipam_result *r = &res[i];
		struct k8s_object *o;
		char b[2][64];

		if (r->status == XLB_IPAM_SKIP || (r->status == XLB_IPAM_OK && !r->changed))
			continue;
		o = k8s_cache_get_mut(c, K8S_KIND_SERVICE, svcs[i]->meta.namespace,
				      svcs[i]->meta.name);
		if (!o)
			continue;
		if (r->status == XLB_IPAM_FAILED) {
			pr_warn("Service %s/%s: %s: %s\n", o->meta.namespace, o->meta.name,
				r->reason, r->message);
			failed++;
			if (k8s_svc_set_ingress(o, NULL, 0))
				goto out;
			continue;
		}
		if (k8s_svc_set_ingress(o, r->ips, r->n_ips))
			goto out;
		pr_info("Service %s/%s: IPAllocated: %s%s%s from pool %s\n", o->meta.namespace,
			o->meta.name, k8s_ip_str(&r->ips[0], b[0], sizeof(b[0])),
			r->n_ips > 1 ? "," : "",
			r->n_ips > 1 ? k8s_ip_str(&r->ips[1], b[1], sizeof(b[1])) : "", r->pool);
	}
	err = failed;
out:
	free(res);
	free(svcs);
	free(pools);
	return err;
}

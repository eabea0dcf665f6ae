// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * translate: object cache -> desired datapath state (see translate.h).
 *
 * Follows kube-proxy as written down in k8s-spec §2-§4: which Services are
 * proxied at all, which addresses are frontends, how EndpointSlices merge
 * into one endpoint set per service port, and which endpoints are chosen
 * (ready ones, else serving+terminating ones; for externalTrafficPolicy
 * Local the same rule over the local endpoints only).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translate.h"

#define LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define LABEL_PROXY_NAME   "service.kubernetes.io/service-proxy-name"
#define LABEL_HEADLESS	   "service.kubernetes.io/headless"

#define FAM_BIT(f) ((f) == XLB_AF_INET6 ? 2u : 1u)

/* One endpoint address:port offered for a service port by some slice. */
struct cand {
	union xlb_addr addr;
	uint16_t port;
	uint8_t family;
	bool ready;
	bool serving;
	bool terminating;
	bool local;
	const char *node_name;
	size_t seq; /* input order: slices by name, then index */
};

struct tctx {
	const struct xlb_translate_opts *opts;
	struct k8s_errors *errs;
	const struct k8s_object **slices; /* usable, sorted by
						 * (ns, service, name) */
	size_t n_slices;
	struct xlb_desired_svcport *v;
	size_t n;
	size_t cap;
	struct xlb_desired_hc *hc;
	size_t n_hc;
	const struct k8s_cache *cache; /* set: one Service at a time, its
					* slices from the cache's index */
};

static const char *proto_str(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "UDP" : "TCP";
}

int xlb_frontend_str(const struct xlb_svc_key *k, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (k->scope == XLB_SCOPE_NODEPORT)
		n = snprintf(buf, size, "%s:%u/%s", k->family == XLB_AF_INET6 ? "[*]" : "*",
			     ntohs(k->port), proto_str(k->proto));
	else if (!inet_ntop(k->family == XLB_AF_INET6 ? AF_INET6 : AF_INET, k->addr.bytes, a,
			    sizeof(a)))
		return -errno;
	else
		n = snprintf(buf, size, k->family == XLB_AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", a,
			     ntohs(k->port), proto_str(k->proto));
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

static void svcport_free(struct xlb_desired_svcport *sp)
{
	free(sp->frontends);
	free(sp->backends);
	free(sp->source_ranges);
	sp->frontends = NULL;
	sp->backends = NULL;
	sp->source_ranges = NULL;
}

void xlb_desired_free(struct xlb_desired *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		svcport_free(&d->svcports[i]);
	free(d->svcports);
	d->svcports = NULL;
	d->n = 0;
	free(d->hc);
	d->hc = NULL;
	d->n_hc = 0;
}

static int cmp_svcport(const void *a, const void *b)
{
	return strcmp(((const struct xlb_desired_svcport *)a)->name,
		      ((const struct xlb_desired_svcport *)b)->name);
}

const struct xlb_desired_svcport *xlb_desired_find(const struct xlb_desired *d, const char *name)
{
	struct xlb_desired_svcport key;

	if (!d || !name || strlen(name) >= sizeof(key.name) || !d->n)
		return NULL;
	strcpy(key.name, name);
	return bsearch(&key, d->svcports, d->n, sizeof(*d->svcports), cmp_svcport);
}

/* ---- slices ----------------------------------------------------------- */

static int cmp_slice(const void *a, const void *b)
{
	const struct k8s_object *x = *(const struct k8s_object *const *)a;
	const struct k8s_object *y = *(const struct k8s_object *const *)b;
	int r = strcmp(x->meta.namespace, y->meta.namespace);

	if (!r)
		r = strcmp(x->eps.service_name, y->eps.service_name);
	return r ? r : strcmp(x->meta.name, y->meta.name);
}

/* The slices of Service ns/name: [*first, *last) of t->slices. */
static void slice_range(const struct tctx *t, const char *ns, const char *name, size_t *first,
			size_t *last)
{
	size_t lo = 0, hi = t->n_slices;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct k8s_object *s = t->slices[mid];
		int r = strcmp(s->meta.namespace, ns);

		if (!r)
			r = strcmp(s->eps.service_name, name);
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (lo < t->n_slices && !strcmp(t->slices[lo]->meta.namespace, ns) &&
	       !strcmp(t->slices[lo]->eps.service_name, name))
		lo++;
	*last = lo;
}

static uint8_t slice_family(const struct k8s_object *s)
{
	return s->eps.addr_type == K8S_ADDR_IPV6 ? XLB_AF_INET6 : XLB_AF_INET;
}

static bool slice_has_usable_port(const struct k8s_object *s)
{
	for (size_t i = 0; i < s->eps.n_ports; i++)
		if (s->eps.ports[i].port)
			return true;
	return false;
}

static bool is_local(const struct tctx *t, const char *node)
{
	const char *me = t->opts->node_name;

	/* k8s-spec §3: local iff nodeName equals this node's (non-empty)
	 * name. */
	return node && me && *me && !strcmp(node, me);
}

/* ---- per-service ------------------------------------------------------ */

/*
 * The IP families the Service is proxied in: those of its cluster IPs
 * (k8s-spec §2: no clusterIP of a family, no rules in it). A Service not
 * allocated yet (a hand-written manifest in file mode has no clusterIP)
 * falls back to ipFamilies, then to IPv4.
 */
static unsigned int service_families(const struct k8s_service *s)
{
	unsigned int fams = 0;

	for (size_t i = 0; i < s->n_cluster_ips; i++)
		fams |= FAM_BIT(s->cluster_ips[i].family);
	if (!fams)
		for (size_t i = 0; i < s->n_ip_families; i++)
			fams |= FAM_BIT(s->ip_families[i]);
	return fams ? fams : FAM_BIT(XLB_AF_INET);
}

static int cmp_ip(const void *a, const void *b)
{
	const struct k8s_ip *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr.bytes, y->addr.bytes, sizeof(x->addr.bytes));
}

/*
 * k8s-spec §4.4: the health check counts distinct local endpoint IPs with
 * ready==true across all ports of the Service (terminating ones are not
 * counted even when traffic still goes to them).
 */
static int count_local_ready(const struct tctx *t, const struct k8s_object *const *sl, size_t n_sl,
			     unsigned int fams, uint32_t *out)
{
	struct k8s_ip *ips;
	size_t n = 0, total = 0;
	uint32_t distinct = 0;

	*out = 0;
	for (size_t i = 0; i < n_sl; i++)
		total += sl[i]->eps.n_endpoints;
	if (!total)
		return 0;
	ips = malloc(total * sizeof(*ips));
	if (!ips)
		return -ENOMEM;
	for (size_t i = 0; i < n_sl; i++) {
		const struct k8s_object *s = sl[i];

		if (!(fams & FAM_BIT(slice_family(s))) || !slice_has_usable_port(s))
			continue;
		for (size_t j = 0; j < s->eps.n_endpoints; j++) {
			const struct k8s_endpoint *ep = &s->eps.endpoints[j];

			if (ep->n_addrs && ep->ready && is_local(t, ep->node_name))
				ips[n++] = ep->addrs[0];
		}
	}
	qsort(ips, n, sizeof(*ips), cmp_ip);
	for (size_t i = 0; i < n; i++)
		if (!i || cmp_ip(&ips[i - 1], &ips[i]))
			distinct++;
	free(ips);
	*out = distinct;
	return 0;
}

static int cmp_frontend(const void *a, const void *b)
{
	const struct xlb_svc_key *x = a, *y = b;

	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (memcmp(x->addr.bytes, y->addr.bytes, sizeof(x->addr.bytes)))
		return memcmp(x->addr.bytes, y->addr.bytes, sizeof(x->addr.bytes));
	if (x->port != y->port)
		return ntohs(x->port) < ntohs(y->port) ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

static struct xlb_desired_frontend *add_frontend(struct xlb_desired_svcport *sp,
						 const union xlb_addr *addr, uint8_t family,
						 uint16_t port, uint8_t scope)
{
	struct xlb_desired_frontend *fe = &sp->frontends[sp->n_frontends++];
	struct xlb_svc_key *k = &fe->key;

	memset(fe, 0, sizeof(*fe)); /* pad bytes too: it is a map key */
	if (addr)
		k->addr = *addr;
	k->port = htons(port);
	k->proto = sp->proto;
	k->family = family;
	k->scope = scope;
	return fe;
}

static void __attribute__((format(printf, 4, 5)))
svc_note(struct tctx *t, enum k8s_severity sev, const struct k8s_object *so, const char *fmt, ...)
{
	char *msg;
	va_list ap;

	if (!t->errs)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0) {
		t->errs->n_dropped++;
		msg = NULL;
	}
	va_end(ap);
	if (msg)
		k8s_errors_add(t->errs, sev, "Service %s/%s: %s", so->meta.namespace, so->meta.name,
			       msg);
	free(msg);
}

/*
 * loadBalancerSourceRanges (k8s-spec §4.6) of the Service's families, host
 * bits cleared, sorted, de-duplicated. Ranges of another family are
 * dropped, as kube-proxy drops them per family.
 */
static int port_source_ranges(const struct k8s_service *s, unsigned int fams,
			      struct xlb_desired_svcport *sp)
{
	size_t w = 0;

	if (!s->n_source_ranges)
		return 0;
	sp->source_ranges = calloc(s->n_source_ranges, sizeof(*sp->source_ranges));
	if (!sp->source_ranges)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_source_ranges; i++) {
		const struct k8s_cidr *r = &s->source_ranges[i];
		struct xlb_cidr *d = &sp->source_ranges[w];

		if (!(fams & FAM_BIT(r->ip.family)))
			continue;
		d->family = r->ip.family;
		d->prefix_len = r->prefix_len;
		for (unsigned int b = 0; b < 16; b++) {
			unsigned int keep = r->prefix_len > b * 8 ? r->prefix_len - b * 8 : 0;

			d->addr.bytes[b] = keep >= 8 ?
						   r->ip.addr.bytes[b] :
						   r->ip.addr.bytes[b] & (uint8_t)(0xff00 >> keep);
		}
		w++;
	}
	qsort(sp->source_ranges, w, sizeof(*sp->source_ranges), xlb_cidr_cmp);
	sp->n_source_ranges = 0;
	for (size_t i = 0; i < w; i++)
		if (!i || xlb_cidr_cmp(&sp->source_ranges[i - 1], &sp->source_ranges[i]))
			sp->source_ranges[sp->n_source_ranges++] = sp->source_ranges[i];
	if (!sp->n_source_ranges) {
		free(sp->source_ranges);
		sp->source_ranges = NULL;
	}
	return 0;
}

/* An empty list of a family means no firewall for it (k8s-spec §4.6). */
static bool has_ranges(const struct xlb_desired_svcport *sp, uint8_t family)
{
	for (size_t i = 0; i < sp->n_source_ranges; i++)
		if (sp->source_ranges[i].family == family)
			return true;
	return false;
}

/*
 * Frontends of one service port (k8s-spec §2, §4.2, §4.8): the nodePort
 * wildcard per family for NodePort/LoadBalancer; externalIPs on any type
 * (kube-proxy honours them on ClusterIP Services too); the ingress IPs of a
 * LoadBalancer unless ipMode is Proxy or the entry has only a hostname.
 * Addresses of a family the Service is not in are dropped. Warnings are
 * given once per Service, for its first port.
 */
static int port_frontends(struct tctx *t, const struct k8s_object *so, const struct k8s_svc_port *p,
			  unsigned int fams, bool first_port, struct xlb_desired_svcport *sp)
{
	const struct k8s_service *s = &so->svc;
	size_t max = 2 + s->n_external_ips + s->n_ingress, w;
	struct xlb_desired_frontend *fe;
	char a[INET6_ADDRSTRLEN];

	sp->frontends = calloc(max, sizeof(*sp->frontends));
	if (!sp->frontends)
		return -ENOMEM;

	if ((s->type == K8S_SVC_NODE_PORT || s->type == K8S_SVC_LOAD_BALANCER) && p->node_port) {
		if (fams & FAM_BIT(XLB_AF_INET))
			add_frontend(sp, NULL, XLB_AF_INET, p->node_port, XLB_SCOPE_NODEPORT);
		if (fams & FAM_BIT(XLB_AF_INET6))
			add_frontend(sp, NULL, XLB_AF_INET6, p->node_port, XLB_SCOPE_NODEPORT);
	}
	for (size_t i = 0; i < s->n_external_ips; i++) {
		const struct k8s_ip *ip = &s->external_ips[i];

		if (!(fams & FAM_BIT(ip->family))) {
			if (first_port)
				svc_note(
					t, K8S_SEV_WARN, so,
					"externalIP %s: the Service has no cluster IP of its family, ignored",
					xlb_addr_str(ip->family, &ip->addr, a, sizeof(a)));
			continue;
		}
		add_frontend(sp, &ip->addr, ip->family, p->port, XLB_SCOPE_VIP);
	}
	for (size_t i = 0; s->type == K8S_SVC_LOAD_BALANCER && i < s->n_ingress; i++) {
		const struct k8s_lb_ingress *in = &s->ingress[i];

		if (!in->has_ip) {
			if (first_port)
				svc_note(t, K8S_SEV_DEBUG, so,
					 "ingress hostname %s without ip: no VIP",
					 in->hostname ? in->hostname : "");
			continue;
		}
		if (in->ip_mode == K8S_IP_MODE_PROXY) {
			if (first_port)
				svc_note(t, K8S_SEV_DEBUG, so,
					 "ingress %s has ipMode Proxy: no VIP",
					 xlb_addr_str(in->ip.family, &in->ip.addr, a, sizeof(a)));
			continue;
		}
		if (!(fams & FAM_BIT(in->ip.family))) {
			if (first_port)
				svc_note(
					t, K8S_SEV_WARN, so,
					"ingress %s: the Service has no cluster IP of its family, ignored",
					xlb_addr_str(in->ip.family, &in->ip.addr, a, sizeof(a)));
			continue;
		}
		fe = add_frontend(sp, &in->ip.addr, in->ip.family, p->port, XLB_SCOPE_VIP);
		fe->source_ranges = has_ranges(sp, in->ip.family);
	}

	/* The same address may be both an externalIP and an ingress IP:
	 * one frontend, firewalled if the ingress side asks for it. */
	qsort(sp->frontends, sp->n_frontends, sizeof(*sp->frontends), cmp_frontend);
	w = 0;
	for (size_t i = 0; i < sp->n_frontends; i++) {
		if (w && !memcmp(&sp->frontends[w - 1].key, &sp->frontends[i].key,
				 sizeof(sp->frontends[i].key))) {
			sp->frontends[w - 1].source_ranges |= sp->frontends[i].source_ranges;
			continue;
		}
		sp->frontends[w++] = sp->frontends[i];
	}
	sp->n_frontends = w;
	return 0;
}

static int cmp_cand(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int r;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	r = memcmp(x->addr.bytes, y->addr.bytes, sizeof(x->addr.bytes));
	if (r)
		return r;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	/* k8s-spec §3: of two copies of one IP:port, the non-terminating
	 * one wins; otherwise the first (slice name order). */
	if (x->terminating != y->terminating)
		return x->terminating ? 1 : -1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * k8s-spec §4.1 for one family: the ready endpoints, or when there is none
 * the serving+terminating ones (flagged terminating); over the local
 * endpoints only when local_only. Counts the choice into *count and, when
 * out is not NULL, appends it there.
 */
static void select_endpoints(const struct tctx *t, const struct cand *c, size_t n, bool local_only,
			     struct xlb_desired_svcport *out, uint32_t *count)
{
	bool fallback = true;

	for (size_t i = 0; i < n && fallback; i++)
		if ((!local_only || c[i].local) && c[i].ready)
			fallback = false;
	for (size_t i = 0; i < n; i++) {
		struct xlb_desired_backend *be;

		if (local_only && !c[i].local)
			continue;
		if (fallback ? !(c[i].serving && c[i].terminating) : !c[i].ready)
			continue;
		(*count)++;
		if (!out)
			continue;
		be = &out->backends[out->n_backends++];
		memset(be, 0, sizeof(*be));
		be->addr = c[i].addr;
		be->port = c[i].port;
		be->family = c[i].family;
		be->local = c[i].local;
		be->terminating = fallback;
		if (c[i].node_name)
			snprintf(be->node_name, sizeof(be->node_name), "%s", c[i].node_name);
	}
}

/*
 * Backends of one service port: the union over the Service's slices of
 * the endpoints under the slice port with the same name and protocol
 * (never matched by number, k8s-spec §3); the slice port's number is the
 * target port, which is how a named targetPort resolves.
 */
static int port_backends(struct tctx *t, const struct k8s_svc_port *p,
			 const struct k8s_object *const *sl, size_t n_sl, unsigned int fams,
			 struct xlb_desired_svcport *sp)
{
	struct cand *c;
	size_t n = 0, total = 0, w = 0;

	for (size_t i = 0; i < n_sl; i++)
		total += sl[i]->eps.n_endpoints;
	if (!total)
		return 0;
	c = calloc(total, sizeof(*c));
	sp->backends = calloc(total, sizeof(*sp->backends));
	if (!c || !sp->backends) {
		free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_sl; i++) {
		const struct k8s_object *s = sl[i];
		const struct k8s_eps_port *ep = NULL;

		if (!(fams & FAM_BIT(slice_family(s))))
			continue;
		for (size_t j = 0; j < s->eps.n_ports && !ep; j++)
			if (!strcmp(s->eps.ports[j].name, p->name) &&
			    s->eps.ports[j].proto == p->proto && s->eps.ports[j].port)
				ep = &s->eps.ports[j];
		if (!ep)
			continue;
		for (size_t j = 0; j < s->eps.n_endpoints; j++) {
			const struct k8s_endpoint *e = &s->eps.endpoints[j];

			if (!e->n_addrs) /* only addresses[0] counts */
				continue;
			c[n].addr = e->addrs[0].addr;
			c[n].family = e->addrs[0].family;
			c[n].port = ep->port;
			c[n].ready = e->ready;
			c[n].serving = e->serving;
			c[n].terminating = e->terminating;
			c[n].local = is_local(t, e->node_name);
			c[n].node_name = e->node_name;
			c[n].seq = n;
			n++;
		}
	}
	qsort(c, n, sizeof(*c), cmp_cand);
	for (size_t i = 0; i < n; i++)
		if (!w || c[w - 1].family != c[i].family || c[w - 1].port != c[i].port ||
		    memcmp(c[w - 1].addr.bytes, c[i].addr.bytes, sizeof(c[i].addr.bytes)))
			c[w++] = c[i];
	n = w;

	/* Per family (k8s-spec §4.1); c is sorted by family first. */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint32_t cluster = 0, local = 0;

		while (j < n && c[j].family == c[i].family)
			j++;
		select_endpoints(t, c + i, j - i, false, sp->etp_local ? NULL : sp, &cluster);
		if (sp->etp_local)
			select_endpoints(t, c + i, j - i, true, sp, &local);
		if (c[i].family == XLB_AF_INET6)
			sp->total_ready_v6 += cluster;
		else
			sp->total_ready_v4 += cluster;
		sp->total_ready += cluster;
		i = j;
	}
	free(c);
	return 0;
}

static int push_svcport(struct tctx *t, struct xlb_desired_svcport *sp)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct xlb_desired_svcport *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = *sp;
	return 0;
}

/* Slices translate can use: IP slices that name their Service and are not
 * meant for another proxy (the Service's labels are copied to its slices,
 * k8s-spec §3). */
static bool slice_usable(const struct k8s_object *s)
{
	return s->eps.service_name && s->eps.addr_type != K8S_ADDR_FQDN &&
	       !k8s_label(s, LABEL_PROXY_NAME) && !k8s_label(s, LABEL_HEADLESS);
}

/* The usable slices of Service @so, by name: a range of the full pass's
 * sorted array, or (incremental) from the cache's index by Service. */
static int service_slices(struct tctx *t, const struct k8s_object *so,
			  const struct k8s_object *const **sl, size_t *n,
			  const struct k8s_object ***own)
{
	size_t first, last, k = 0;
	int err;

	*own = NULL;
	if (!t->cache) {
		slice_range(t, so->meta.namespace, so->meta.name, &first, &last);
		*sl = t->slices + first;
		*n = last - first;
		return 0;
	}
	err = k8s_cache_slices_of(t->cache, so->meta.namespace, so->meta.name, own, n);
	if (err)
		return err;
	for (size_t i = 0; i < *n; i++)
		if (slice_usable((*own)[i]))
			(*own)[k++] = (*own)[i];
	*n = k;
	*sl = *own;
	return 0;
}

static int translate_service(struct tctx *t, const struct k8s_object *so)
{
	const struct k8s_service *s = &so->svc;
	const struct k8s_object *const *sl;
	const struct k8s_object **own = NULL;
	unsigned int fams;
	size_t n_sl;
	uint32_t local_ready;
	bool first_port = true;
	int err;

	/* k8s-spec §2: Services kube-proxy ignores entirely. */
	if (s->type == K8S_SVC_EXTERNAL_NAME) {
		svc_note(t, K8S_SEV_DEBUG, so, "type ExternalName: ignored");
		return 0;
	}
	if (s->headless || k8s_label(so, LABEL_HEADLESS)) {
		svc_note(t, K8S_SEV_DEBUG, so, "headless: ignored");
		return 0;
	}
	if (k8s_label(so, LABEL_PROXY_NAME)) {
		svc_note(t, K8S_SEV_DEBUG, so, "label %s=%s: served by another proxy, ignored",
			 LABEL_PROXY_NAME, k8s_label(so, LABEL_PROXY_NAME));
		return 0;
	}
	if (s->type == K8S_SVC_CLUSTER_IP && !s->n_external_ips) {
		svc_note(t, K8S_SEV_DEBUG, so, "ClusterIP without externalIPs: nothing for xlb");
		return 0;
	}

	fams = service_families(s);
	err = service_slices(t, so, &sl, &n_sl, &own);
	err = err ?: count_local_ready(t, sl, n_sl, fams, &local_ready);
	if (err)
		goto out;
	if (s->type == K8S_SVC_LOAD_BALANCER && s->external_traffic_policy == K8S_TP_LOCAL &&
	    s->health_check_node_port) {
		struct xlb_desired_hc *v = realloc(t->hc, (t->n_hc + 1) * sizeof(*v));

		err = -ENOMEM;
		if (!v)
			goto out;
		err = 0;
		t->hc = v;
		v += t->n_hc++;
		memset(v, 0, sizeof(*v));
		snprintf(v->svc_namespace, sizeof(v->svc_namespace), "%s", so->meta.namespace);
		snprintf(v->svc_name, sizeof(v->svc_name), "%s", so->meta.name);
		v->port = s->health_check_node_port;
		v->n_local_ready = local_ready;
	}

	for (size_t i = 0; i < s->n_ports; i++) {
		const struct k8s_svc_port *p = &s->ports[i];
		struct xlb_desired_svcport sp;

		memset(&sp, 0, sizeof(sp));
		/* namespace and name are DNS labels (<= 63), port name a
		 * DNS label: the name always fits. */
		snprintf(sp.name, sizeof(sp.name), "%s/%s:%s/%s", so->meta.namespace, so->meta.name,
			 p->name, proto_str(p->proto));
		snprintf(sp.svc_namespace, sizeof(sp.svc_namespace), "%s", so->meta.namespace);
		snprintf(sp.svc_name, sizeof(sp.svc_name), "%s", so->meta.name);
		sp.port = p->port;
		sp.proto = p->proto;
		/* eTP applies to NodePort, externalIP and LB VIP traffic:
		 * exactly the frontends xlb has (k8s-spec §2, §4.1). */
		sp.etp_local = s->external_traffic_policy == K8S_TP_LOCAL;
		/* Allocated only for LB + eTP Local (k8s-spec §2, §4.4). */
		if (s->type == K8S_SVC_LOAD_BALANCER && sp.etp_local)
			sp.health_check_node_port = s->health_check_node_port;
		sp.n_local_ready = local_ready;
		if (s->session_affinity == K8S_AFFINITY_CLIENT_IP)
			sp.affinity_timeout = s->affinity_timeout;

		err = port_source_ranges(s, fams, &sp);
		if (!err)
			err = port_frontends(t, so, p, fams, first_port, &sp);
		first_port = false;
		if (!err && !sp.n_frontends) {
			svcport_free(&sp);
			continue;
		}
		if (!err)
			err = port_backends(t, p, sl, n_sl, fams, &sp);
		if (!err)
			err = push_svcport(t, &sp);
		if (err) {
			svcport_free(&sp);
			goto out;
		}
	}
out:
	free(own);
	return err;
}

/* ---- frontend conflicts ----------------------------------------------- */

struct fe_ref {
	const struct xlb_svc_key *key;
	size_t sp; /* index in the sorted svcports */
	size_t fe;
};

static int cmp_fe_ref(const void *a, const void *b)
{
	const struct fe_ref *x = a, *y = b;
	int r = memcmp(x->key, y->key, sizeof(*x->key));

	if (r)
		return r;
	if (x->sp != y->sp)
		return x->sp < y->sp ? -1 : 1;
	return x->fe < y->fe ? -1 : x->fe > y->fe;
}

/*
 * Two service ports claiming one frontend: the first by name keeps it, the
 * later one loses it with an error (deterministic whatever the input
 * order). A service port left without frontends is dropped.
 */
static int resolve_conflicts(struct tctx *t)
{
	struct fe_ref *refs;
	size_t total = 0, k = 0, w = 0;
	bool any = false;

	for (size_t i = 0; i < t->n; i++)
		total += t->v[i].n_frontends;
	if (!total)
		return 0;
	refs = malloc(total * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		for (size_t j = 0; j < t->v[i].n_frontends; j++) {
			refs[k].key = &t->v[i].frontends[j].key;
			refs[k].sp = i;
			refs[k].fe = j;
			k++;
		}
	qsort(refs, total, sizeof(*refs), cmp_fe_ref);

	for (size_t i = 1, win = 0; i < total; i++) {
		char fs[INET6_ADDRSTRLEN + 16];

		if (memcmp(refs[i].key, refs[win].key, sizeof(*refs[i].key))) {
			win = i; /* first of a run: the winner */
			continue;
		}
		if (xlb_frontend_str(refs[i].key, fs, sizeof(fs)))
			snprintf(fs, sizeof(fs), "?");
		k8s_errors_add(t->errs, K8S_SEV_ERROR,
			       "Service port %s: frontend %s is already used by %s: skipped",
			       t->v[refs[i].sp].name, fs, t->v[refs[win].sp].name);
		/* Mark by zeroing the family: no real frontend has 0. The
		 * key compared against (refs[win]) is left untouched. */
		t->v[refs[i].sp].frontends[refs[i].fe].key.family = 0;
		any = true;
	}
	free(refs);
	if (!any)
		return 0;

	for (size_t i = 0; i < t->n; i++) {
		struct xlb_desired_svcport *sp = &t->v[i];
		size_t n = 0;

		for (size_t j = 0; j < sp->n_frontends; j++)
			if (sp->frontends[j].key.family)
				sp->frontends[n++] = sp->frontends[j];
		sp->n_frontends = n;
		if (!n) {
			svcport_free(sp);
			continue;
		}
		t->v[w++] = *sp;
	}
	t->n = w;
	return 0;
}

/* ---- entry ------------------------------------------------------------ */

int xlb_translate(const struct k8s_cache *c, const struct xlb_translate_opts *o,
		  struct xlb_desired *out, struct k8s_errors *errs)
{
	static const struct xlb_translate_opts no_opts;
	const struct k8s_object **svcs = NULL;
	struct tctx t = { 0 };
	size_t n_svcs = 0, k = 0;
	int err;

	if (!c || !out)
		return -EINVAL;
	out->svcports = NULL;
	out->n = 0;
	out->hc = NULL;
	out->n_hc = 0;
	t.opts = o ? o : &no_opts;
	t.errs = errs;

	err = k8s_cache_list(c, K8S_KIND_ENDPOINTSLICE, &t.slices, &t.n_slices);
	if (err)
		return err;
	for (size_t i = 0; i < t.n_slices; i++)
		if (slice_usable(t.slices[i]))
			t.slices[k++] = t.slices[i];
	t.n_slices = k;
	if (t.n_slices)
		qsort(t.slices, t.n_slices, sizeof(*t.slices), cmp_slice);

	err = k8s_cache_list(c, K8S_KIND_SERVICE, &svcs, &n_svcs);
	for (size_t i = 0; !err && i < n_svcs; i++)
		err = translate_service(&t, svcs[i]);
	if (!err && t.n)
		qsort(t.v, t.n, sizeof(*t.v), cmp_svcport);
	if (!err)
		err = resolve_conflicts(&t);
	free(svcs);
	free(t.slices);
	if (err) {
		struct xlb_desired d = { .svcports = t.v, .n = t.n, .hc = t.hc, .n_hc = t.n_hc };

		xlb_desired_free(&d);
		return err;
	}
	if (!t.n) {
		free(t.v);
		t.v = NULL;
	}
	out->svcports = t.v;
	out->n = t.n;
	out->hc = t.hc;
	out->n_hc = t.n_hc;
	return 0;
}

/* ---- incremental ------------------------------------------------------ */

/* The service ports of Service @ns/@name in @d: [*lo, *hi). Their names
 * all start with "ns/name:" (neither may hold ':'), so they are adjacent in
 * name order. */
static void svcport_range(const struct xlb_desired *d, const char *ns, const char *name, size_t *lo,
			  size_t *hi)
{
	char pfx[XLB_SVCPORT_NAME_MAX];
	size_t l = 0, h = d->n, len;

	len = (size_t)snprintf(pfx, sizeof(pfx), "%s/%s:", ns, name);
	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (strcmp(d->svcports[mid].name, pfx) < 0)
			l = mid + 1;
		else
			h = mid;
	}
	*lo = l;
	while (l < d->n && !strncmp(d->svcports[l].name, pfx, len))
		l++;
	*hi = l;
}

/* The health check entry of @ns/@name in @d (Service order), or -1. */
static ssize_t hc_find(const struct xlb_desired *d, const char *ns, const char *name)
{
	size_t l = 0, h = d->n_hc;

	while (l < h) {
		size_t mid = l + (h - l) / 2;
		int r = strcmp(d->hc[mid].svc_namespace, ns);

		if (!r)
			r = strcmp(d->hc[mid].svc_name, name);
		if (!r)
			return (ssize_t)mid;
		if (r < 0)
			l = mid + 1;
		else
			h = mid;
	}
	return -1;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Where one Service's new service ports go in @cur. */
struct upd {
	size_t cur_lo; /* first of its service ports in cur */
	size_t t_lo;   /* first of its new ones in t.v */
	size_t n;
	ssize_t hc_cur; /* its health check in cur->hc, or -1 */
	size_t hc_t;
};

/* Is the Service's new frontend set the one @cur has for it? Then no other
 * service port's conflict resolution can change, and @cur held all of its
 * frontends (it lost none to a conflict). */
static bool same_shape(const struct xlb_desired_svcport *a, const struct xlb_desired_svcport *b,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(a[i].name, b[i].name) || a[i].n_frontends != b[i].n_frontends)
			return false;
		for (size_t f = 0; f < a[i].n_frontends; f++)
			if (memcmp(&a[i].frontends[f].key, &b[i].frontends[f].key,
				   sizeof(a[i].frontends[f].key)))
				return false;
	}
	return true;
}

int xlb_translate_update(const struct k8s_cache *c, const struct xlb_translate_opts *o,
			 const char *const *keys, size_t n_keys, struct xlb_desired *cur,
			 size_t **changed, size_t *n_changed, struct k8s_errors *errs)
{
	static const struct xlb_translate_opts no_opts;
	struct tctx t = { .opts = o ? o : &no_opts, .errs = errs, .cache = c };
	const char **ks = NULL;
	struct upd *u = NULL;
	size_t nu = 0, *ch = NULL, nch = 0;
	int err = 0;

	if (!c || !cur || !changed || !n_changed)
		return -EINVAL;
	*changed = NULL;
	*n_changed = 0;
	if (!n_keys)
		return 0;
	ks = malloc(n_keys * sizeof(*ks));
	u = calloc(n_keys, sizeof(*u));
	if (!ks || !u) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(ks, keys, n_keys * sizeof(*ks));
	qsort(ks, n_keys, sizeof(*ks), cmp_key);

	/* Everything is translated and checked before @cur changes. */
	for (size_t k = 0; k < n_keys; k++) {
		char ns[64], name[256];
		const char *slash = strchr(ks[k], '/');
		const struct k8s_object *so;
		size_t lo, hi, v0 = t.n, hc0 = t.n_hc;

		if (k && !strcmp(ks[k], ks[k - 1]))
			continue;
		if (!slash || (size_t)(slash - ks[k]) >= sizeof(ns) ||
		    strlen(slash + 1) >= sizeof(name)) {
			err = -EINVAL;
			goto out;
		}
		memcpy(ns, ks[k], slash - ks[k]);
		ns[slash - ks[k]] = 0;
		strcpy(name, slash + 1);
		so = k8s_cache_get(c, K8S_KIND_SERVICE, ns, name);
		if (so) {
			err = translate_service(&t, so);
			if (err)
				goto out;
		}
		if (t.n - v0 > 1)
			qsort(t.v + v0, t.n - v0, sizeof(*t.v), cmp_svcport);
		svcport_range(cur, ns, name, &lo, &hi);
		u[nu] = (struct upd){ .cur_lo = lo,
				      .t_lo = v0,
				      .n = t.n - v0,
				      .hc_cur = hc_find(cur, ns, name),
				      .hc_t = hc0 };
		/* A service port or health check that comes or goes, or a
		 * frontend that moves, is beyond one Service: full pass. */
		if (hi - lo != t.n - v0 || !same_shape(cur->svcports + lo, t.v + v0, t.n - v0) ||
		    (u[nu].hc_cur >= 0) != (t.n_hc > hc0)) {
			err = -EAGAIN;
			goto out;
		}
		nu++;
	}
	ch = malloc((t.n + 1) * sizeof(*ch));
	if (!ch) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nu; i++) {
		for (size_t j = 0; j < u[i].n; j++) {
			svcport_free(&cur->svcports[u[i].cur_lo + j]);
			cur->svcports[u[i].cur_lo + j] = t.v[u[i].t_lo + j];
			ch[nch++] = u[i].cur_lo + j;
		}
		if (u[i].hc_cur >= 0)
			cur->hc[u[i].hc_cur] = t.hc[u[i].hc_t];
	}
	t.n = 0; /* moved into cur */
	*changed = ch;
	*n_changed = nch;
out:
	for (size_t i = 0; i < t.n; i++)
		svcport_free(&t.v[i]);
	free(t.v);
	free(t.hc);
	free(ks);
	free(u);
	return err;
}

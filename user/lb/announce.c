// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * announce: the L2 ownership plan (pure) and the announcer that applies it
 * to the datapath (see announce.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <bpf/bpf.h>
#include <openssl/sha.h>

#include "lb/announce.h"
#include "lb/ipam.h"
#include "lib/log.h"
#include "lib/util.h"

/* ---- the plan --------------------------------------------------------- */

static void rank_key(const struct k8s_ip *vip, const char *node, unsigned char *md)
{
	char ip[INET6_ADDRSTRLEN], buf[320];
	int n;

	k8s_ip_str(vip, ip, sizeof(ip));
	n = snprintf(buf, sizeof(buf), "%s#%s", node, ip);
	SHA256((const unsigned char *)buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1, md);
}

int xlb_announce_rank(const struct k8s_ip *vip, const char *const *nodes, size_t n)
{
	unsigned char best[SHA256_DIGEST_LENGTH], md[SHA256_DIGEST_LENGTH];
	int b = -1;

	for (size_t i = 0; i < n; i++) {
		int c;

		rank_key(vip, nodes[i], md);
		c = b < 0 ? -1 : memcmp(md, best, sizeof(md));
		if (c < 0 || (!c && strcmp(nodes[i], nodes[b]) < 0)) {
			memcpy(best, md, sizeof(md));
			b = (int)i;
		}
	}
	return b;
}

void xlb_vip_plan_free(struct xlb_vip_plan *p)
{
	if (!p)
		return;
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* Is EndpointSlice @s one of Service @svc's? */
static bool slice_of(const struct k8s_object *s, const struct k8s_object *svc)
{
	return s->eps.service_name && !strcmp(s->eps.service_name, svc->meta.name) &&
	       !strcmp(s->meta.namespace, svc->meta.namespace);
}

/* Does Service @svc have a ready endpoint on node @node? */
static bool ready_on(const struct k8s_object *const *slices, size_t n_slices,
		     const struct k8s_object *svc, const char *node)
{
	for (size_t i = 0; i < n_slices; i++) {
		const struct k8s_object *s = slices[i];

		if (!slice_of(s, svc))
			continue;
		for (size_t j = 0; j < s->eps.n_endpoints; j++) {
			const struct k8s_endpoint *e = &s->eps.endpoints[j];

			if (e->ready && e->n_addrs && e->node_name && !strcmp(e->node_name, node))
				return true;
		}
	}
	return false;
}

/* kube-proxy's hasEndpoints (k8s-spec §4.1): somewhere, an endpoint that
 * is ready, or serving while terminating. */
static bool usable_anywhere(const struct k8s_object *const *slices, size_t n_slices,
			    const struct k8s_object *svc)
{
	for (size_t i = 0; i < n_slices; i++) {
		const struct k8s_object *s = slices[i];

		if (!slice_of(s, svc))
			continue;
		for (size_t j = 0; j < s->eps.n_endpoints; j++) {
			const struct k8s_endpoint *e = &s->eps.endpoints[j];

			if (e->n_addrs && (e->ready || (e->serving && e->terminating)))
				return true;
		}
	}
	return false;
}

static int cmp_vip(const void *a, const void *b)
{
	return k8s_ip_cmp(&((const struct xlb_vip *)a)->ip, &((const struct xlb_vip *)b)->ip);
}

/* What one plan is made from: the cache's lists and the live nodes. */
struct plan_ctx {
	const struct k8s_object **pools, **slices;
	size_t n_pools, n_slices;
	const struct xlb_node_info *live;
	size_t n_live;
	const char *me;
	const char **cands; /* n_live + 1 slots */
	size_t cap;	    /* of out->v */
	struct xlb_vip_plan *out;
};

/* A new, zeroed entry at the end of the plan; NULL: out of memory. */
static struct xlb_vip *plan_add(struct plan_ctx *x)
{
	struct xlb_vip_plan *out = x->out;
	struct xlb_vip *v;

	if (out->n == x->cap) {
		size_t nc2 = x->cap ? x->cap * 2 : 16;
		struct xlb_vip *nv = realloc(out->v, nc2 * sizeof(*nv));

		if (!nv)
			return NULL;
		out->v = nv;
		x->cap = nc2;
	}
	v = &out->v[out->n++];
	memset(v, 0, sizeof(*v));
	return v;
}

/* Who may announce @v of Service @o from @pool, and whether this node does:
 * L2 has one owner by rank, BGP every candidate. */
static void plan_owners(struct plan_ctx *x, struct xlb_vip *v, const struct k8s_object *o,
			const struct k8s_object *pool)
{
	const struct k8s_service *s = &o->svc;
	const char *me = x->me;
	size_t nc = 0;
	int w;

	for (size_t k = 0; k < x->n_live; k++) {
		const struct xlb_node_info *n = &x->live[k];

		if (!k8s_labels_match(pool->pool.node_selector, pool->pool.n_node_selector,
				      n->labels, n->n_labels))
			continue;
		if (s->external_traffic_policy == K8S_TP_LOCAL &&
		    !ready_on(x->slices, x->n_slices, o, n->name))
			continue;
		x->cands[nc++] = n->name;
	}
	w = xlb_announce_rank(&v->ip, x->cands, nc);
	if (w >= 0)
		snprintf(v->owner, sizeof(v->owner), "%s", x->cands[w]);
	v->mine = v->l2 && w >= 0 && me && !strcmp(x->cands[w], me);
	/*
	 * BGP: no owner, every candidate announces and the router spreads
	 * flows over them (ECMP). A Cluster Service with no endpoint
	 * anywhere is announced by nobody: the datapath would only reject.
	 */
	v->bgp = pool->pool.announce == K8S_ANNOUNCE_BGP;
	for (size_t k = 0; v->bgp && me && k < nc && !v->bgp_mine; k++)
		v->bgp_mine = !strcmp(x->cands[k], me);
	if (v->bgp_mine && s->external_traffic_policy != K8S_TP_LOCAL)
		v->bgp_mine = usable_anywhere(x->slices, x->n_slices, o);
	if (v->bgp)
		v->owner[0] = 0; /* many announce, none owns */
}

/* The VIP addresses of one LoadBalancer Service not yet in the plan. */
static int plan_service(struct plan_ctx *x, const struct k8s_object *o)
{
	const struct k8s_service *s = &o->svc;

	for (size_t j = 0; j < s->n_ingress; j++) {
		const struct k8s_lb_ingress *in = &s->ingress[j];
		const struct k8s_object *pool;
		struct xlb_vip *v;
		bool dup = false;

		if (!in->has_ip || in->ip_mode != K8S_IP_MODE_VIP)
			continue;
		for (size_t k = 0; k < x->out->n && !dup; k++)
			dup = !k8s_ip_cmp(&x->out->v[k].ip, &in->ip);
		if (dup)
			continue;
		v = plan_add(x);
		if (!v)
			return -ENOMEM;
		v->ip = in->ip;
		snprintf(v->service, sizeof(v->service), "%s/%s", o->meta.namespace, o->meta.name);
		pool = xlb_ipam_pool_of(x->pools, x->n_pools, &in->ip);
		if (!pool)
			continue; /* not ours to announce */
		snprintf(v->pool, sizeof(v->pool), "%s", pool->meta.name);
		v->l2 = pool->pool.announce == K8S_ANNOUNCE_L2;
		v->interfaces = pool->pool.n_interfaces ? pool->pool.interfaces : NULL;
		v->n_interfaces = pool->pool.n_interfaces;
		plan_owners(x, v, o, pool);
	}
	return 0;
}

int xlb_announce_plan(const struct k8s_cache *c, const struct xlb_node_info *live, size_t n_live,
		      const char *me, struct xlb_vip_plan *out)
{
	struct plan_ctx x = { .live = live, .n_live = n_live, .me = me, .out = out };
	const struct k8s_object **svcs = NULL;
	size_t n_svcs = 0;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (k8s_cache_list(c, K8S_KIND_SERVICE, &svcs, &n_svcs) ||
	    k8s_cache_list(c, K8S_KIND_LBPOOL, &x.pools, &x.n_pools) ||
	    k8s_cache_list(c, K8S_KIND_ENDPOINTSLICE, &x.slices, &x.n_slices))
		goto out;
	x.cands = calloc(n_live + 1, sizeof(*x.cands));
	if (!x.cands)
		goto out;
	/* Services come sorted by name: the first owner of a shared
	 * address names it. */
	for (size_t i = 0; i < n_svcs; i++)
		if (svcs[i]->svc.type == K8S_SVC_LOAD_BALANCER && plan_service(&x, svcs[i]))
			goto out;
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_vip);
	err = 0;
out:
	if (err)
		xlb_vip_plan_free(out);
	free(x.cands);
	free(x.slices);
	free(x.pools);
	free(svcs);
	return err;
}

/* ---- the announcer ---------------------------------------------------- */

#define MAX_UPLINKS 16
/* Gratuitous ARP / unsolicited NA copies sent on takeover (one now, one at
 * the next refresh: a lost frame should not leave a stale neighbour). */
#define TAKEOVER_SENDS 2

struct l2_entry {
	struct xlb_l2_key key;
	int up; /* index into uplinks */
	int sends_left;
	__u64 deadline; /* the answer's expiry last written (CLOCK_MONOTONIC) */
};

/*
 * An entry whose deadline passed stopped answering in the datapath (a
 * frozen agent, a lost Lease), and another node may have taken its VIP and
 * moved every neighbour entry meanwhile. Answering again is a takeover like
 * a new entry's, with its gratuitous ARP/NA: the agent itself may never
 * have seen the VIP go (its Lease renewed before its plan changed).
 */
static bool lapsed(const struct l2_entry *e, __u64 now)
{
	return e->deadline <= now;
}

struct xlb_announcer {
	struct xlb_dp *dp;
	struct {
		char name[IF_NAMESIZE];
		int ifindex;
		__u8 mac[ETH_ALEN];
	} ups[MAX_UPLINKS];
	size_t n_ups;
	unsigned int hold_ms;
	int sock; /* AF_PACKET, for takeover frames */
	struct l2_entry *e;
	size_t n_e;
	struct xlb_addr_key *meta; /* rows written to xlb_vip_meta */
	size_t n_meta;
};

static int if_mac(const char *name, __u8 *mac)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return err;
}

/*
 * Take over the entries a previous agent left pinned: the VIPs it answered
 * stay answered without a gap (and without a second takeover frame) if the
 * first plan keeps them; the rest is removed by that plan.
 */
static void adopt(struct xlb_announcer *a)
{
	int fd = xlb_dp_map_fd(a->dp, XLB_DPM_L2);
	struct xlb_l2_key k, next;
	struct xlb_l2 v;
	size_t cap = 0;
	void *prev = NULL;

	while (fd >= 0 && !bpf_map_get_next_key(fd, prev, &next)) {
		int up = -1;

		k = next;
		prev = &k;
		for (size_t u = 0; u < a->n_ups && up < 0; u++)
			if (a->ups[u].ifindex == (int)k.ifindex)
				up = (int)u;
		if (a->n_e == cap) {
			size_t c = cap ? cap * 2 : 16;
			struct l2_entry *v = realloc(a->e, c * sizeof(*v));

			if (!v)
				return;
			a->e = v;
			cap = c;
		}
		if (up < 0) {
			/* not an uplink any more: it can only go */
			up = 0;
		}
		a->e[a->n_e] = (struct l2_entry){ .key = k, .up = up };
		if (!bpf_map_lookup_elem(fd, &k, &v))
			a->e[a->n_e].deadline = v.expires_ns;
		a->n_e++;
	}
}

struct xlb_announcer *xlb_announcer_new(struct xlb_dp *dp, const struct xlb_uplink *ups,
					size_t n_ups, unsigned int hold_ms)
{
	struct xlb_announcer *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->dp = dp;
	a->hold_ms = hold_ms;
	a->sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (a->sock < 0)
		pr_warn("announce: raw socket: %s; no gratuitous ARP/NA on takeover\n",
			strerror(errno));
	for (size_t i = 0; i < n_ups && a->n_ups < MAX_UPLINKS; i++) {
		int err = if_mac(ups[i].name, a->ups[a->n_ups].mac);

		if (err) {
			pr_warn("announce: MAC of %s: %s; VIPs are not announced on it\n",
				ups[i].name, strerror(-err));
			continue;
		}
		snprintf(a->ups[a->n_ups].name, IF_NAMESIZE, "%s", ups[i].name);
		a->ups[a->n_ups].ifindex = ups[i].ifindex;
		a->n_ups++;
	}
	adopt(a);
	return a;
}

static void send_frame(struct xlb_announcer *a, int up, const void *f, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = a->ups[up].ifindex,
				   .sll_halen = ETH_ALEN };

	if (a->sock < 0)
		return;
	memcpy(sll.sll_addr, f, ETH_ALEN);
	if (sendto(a->sock, f, len, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		pr_debug("announce: send on %s: %s\n", a->ups[up].name, strerror(errno));
}

static __u16 csum_add(__u32 s, const __u8 *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += p[i] << 8 | p[i + 1];
	if (len & 1)
		s += p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Gratuitous ARP request (sender = target = VIP) or unsolicited NA to all
 * nodes with the override flag: neighbours replace their entry for the
 * VIP with this uplink's MAC at once (RFC 5227 §3, RFC 4861 §7.2.6). */
static void send_takeover(struct xlb_announcer *a, const struct l2_entry *e)
{
	const __u8 *mac = a->ups[e->up].mac;
	__u8 f[86] = { 0 };

	if (e->key.family == XLB_AF_INET) {
		__u8 *arp = f + 14;

		memset(f, 0xff, 6);
		memcpy(f + 6, mac, 6);
		f[12] = 0x08, f[13] = 0x06;
		arp[1] = 1, arp[2] = 0x08, arp[4] = 6, arp[5] = 4, arp[7] = 1;
		memcpy(arp + 8, mac, 6);
		memcpy(arp + 14, &e->key.addr.v4, 4);
		memcpy(arp + 24, &e->key.addr.v4, 4);
		send_frame(a, e->up, f, 42);
	} else {
		__u8 *ip = f + 14, *nd = ip + 40;
		__u16 c;

		f[0] = 0x33, f[1] = 0x33, f[5] = 1;
		memcpy(f + 6, mac, 6);
		f[12] = 0x86, f[13] = 0xdd;
		ip[0] = 0x60, ip[5] = 32, ip[6] = 58, ip[7] = 255;
		memcpy(ip + 8, e->key.addr.bytes, 16);
		ip[24] = 0xff, ip[25] = 0x02, ip[39] = 1;
		nd[0] = 136;
		nd[4] = 0x20; /* override, not solicited */
		memcpy(nd + 8, e->key.addr.bytes, 16);
		nd[24] = 2, nd[25] = 1;
		memcpy(nd + 26, mac, 6);
		c = csum_add(csum_add(32 + 58, ip + 8, 32), nd, 32);
		c = ~c;
		nd[2] = c >> 8, nd[3] = c & 0xff;
		send_frame(a, e->up, f, 86);
	}
}

static int write_entry(struct xlb_announcer *a, struct l2_entry *e, __u64 deadline)
{
	struct xlb_l2 v = { .expires_ns = deadline };
	int err;

	memcpy(v.mac, a->ups[e->up].mac, ETH_ALEN);
	err = xlb_dp_l2_set(a->dp, &e->key, &v);
	if (!err)
		e->deadline = deadline;
	return err;
}

static bool uplink_allowed(const struct xlb_vip *v, const char *name)
{
	if (!v->interfaces)
		return true;
	for (size_t i = 0; i < v->n_interfaces; i++)
		if (!strcmp(v->interfaces[i], name))
			return true;
	return false;
}

static int find_entry(const struct l2_entry *v, size_t n, const struct xlb_l2_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(&v[i].key, k, sizeof(*k)))
			return (int)i;
	return -1;
}

static struct xlb_addr_key addr_key(const struct k8s_ip *ip)
{
	struct xlb_addr_key k = { .addr = ip->addr, .family = ip->family };

	return k;
}

/* Answer for @v on each uplink it may use: entries appended to @ne, their
 * names to @m's interfaces. *@err: the last write's result (kept as the
 * caller returned it before). true: answered somewhere. */
static bool answer_vip(struct xlb_announcer *a, const struct xlb_vip *v, struct l2_entry *ne,
		       size_t *n_ne, __u64 now, struct xlb_vip_meta *m, int *err)
{
	__u64 deadline = now + (__u64)a->hold_ms * 1000000;
	bool answering = false;

	for (size_t u = 0; u < a->n_ups; u++) {
		struct l2_entry *e = &ne[*n_ne];
		char b[64];
		int old;
		bool takeover;

		if (!uplink_allowed(v, a->ups[u].name))
			continue;
		e->key = (struct xlb_l2_key){ .addr = v->ip.addr,
					      .ifindex = a->ups[u].ifindex,
					      .family = v->ip.family };
		e->up = (int)u;
		old = find_entry(a->e, a->n_e, &e->key);
		takeover = old < 0 || lapsed(&a->e[old], now);
		e->sends_left = takeover ? TAKEOVER_SENDS : a->e[old].sends_left;
		e->deadline = old < 0 ? 0 : a->e[old].deadline;
		*err = write_entry(a, e, deadline);
		if (*err) {
			pr_err("announce %s on %s: %s\n", k8s_ip_str(&v->ip, b, sizeof(b)),
			       a->ups[u].name, strerror(-*err));
			continue;
		}
		if (takeover)
			pr_info("announce: %s (%s) %s on %s\n", k8s_ip_str(&v->ip, b, sizeof(b)),
				v->service,
				old < 0 ? "now answered here" : "answered again after a lapse",
				a->ups[u].name);
		if (e->sends_left > 0 && takeover) {
			send_takeover(a, e);
			e->sends_left--;
		}
		answering = true;
		(*n_ne)++;
		snprintf(m->interfaces + strlen(m->interfaces),
			 sizeof(m->interfaces) - strlen(m->interfaces), "%s%s",
			 *m->interfaces ? "," : "", a->ups[u].name);
	}
	return answering;
}

/* What xlbctl shows of @v: who owns it, how it is announced. */
static void set_vip_meta(struct xlb_announcer *a, const struct xlb_vip_plan *p,
			 const struct xlb_vip *v, const struct xlb_addr_key *k,
			 struct xlb_vip_meta *m, bool answering)
{
	snprintf(m->service, sizeof(m->service), "%s", v->service);
	snprintf(m->pool, sizeof(m->pool), "%s", v->pool);
	snprintf(m->owner, sizeof(m->owner), "%s", v->owner);
	m->flags = (answering ? XLB_VIP_F_ANSWERING : 0) | (v->l2 ? XLB_VIP_F_L2 : 0) |
		   (v->bgp ? XLB_VIP_F_BGP : 0) | (v->bgp_mine ? XLB_VIP_F_BGP_MINE : 0);
	m->bgp_table = v->bgp ? p->bgp_table : 0;
	xlb_dp_vip_meta_set(a->dp, k, m);
}

/* Given up: the old entries not in @ne stop answering. */
static void drop_entries(struct xlb_announcer *a, const struct l2_entry *ne, size_t n_ne)
{
	for (size_t i = 0; i < a->n_e; i++) {
		struct k8s_ip ip = { .addr = a->e[i].key.addr, .family = a->e[i].key.family };
		char b[64];

		if (find_entry(ne, n_ne, &a->e[i].key) >= 0)
			continue;
		xlb_dp_l2_del(a->dp, &a->e[i].key);
		pr_info("announce: %s no longer answered here on %s\n",
			k8s_ip_str(&ip, b, sizeof(b)), a->ups[a->e[i].up].name);
	}
}

/* The old VIPs' metadata that the plan @nm (@n) no longer has. */
static void drop_meta(struct xlb_announcer *a, const struct xlb_addr_key *nm, size_t n)
{
	for (size_t i = 0; i < a->n_meta; i++) {
		bool keep = false;

		for (size_t j = 0; j < n && !keep; j++)
			keep = !memcmp(&a->meta[i], &nm[j], sizeof(nm[j]));
		if (!keep)
			xlb_dp_vip_meta_del(a->dp, &a->meta[i]);
	}
}

int xlb_announcer_apply(struct xlb_announcer *a, const struct xlb_vip_plan *p)
{
	struct l2_entry *ne = NULL;
	struct xlb_addr_key *nm = NULL;
	size_t n_ne = 0;
	__u64 now = xlb_mono_ns();
	int err = 0;

	ne = calloc(p->n * a->n_ups + 1, sizeof(*ne));
	nm = calloc(p->n + 1, sizeof(*nm));
	if (!ne || !nm) {
		free(ne);
		free(nm);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct xlb_vip *v = &p->v[i];
		struct xlb_vip_meta m = { 0 };
		bool answering = false;

		nm[i] = addr_key(&v->ip);
		if (v->mine)
			answering = answer_vip(a, v, ne, &n_ne, now, &m, &err);
		set_vip_meta(a, p, v, &nm[i], &m, answering);
	}
	/* Stop answering before anything else changes. */
	drop_entries(a, ne, n_ne);
	drop_meta(a, nm, p->n);
	free(a->e);
	a->e = ne;
	a->n_e = n_ne;
	free(a->meta);
	a->meta = nm;
	a->n_meta = p->n;
	return err;
}

int xlb_announcer_refresh(struct xlb_announcer *a)
{
	__u64 now = xlb_mono_ns(), deadline = now + (__u64)a->hold_ms * 1000000;
	int err = 0;

	for (size_t i = 0; i < a->n_e; i++) {
		int e;

		if (lapsed(&a->e[i], now)) {
			struct k8s_ip ip = { .addr = a->e[i].key.addr,
					     .family = a->e[i].key.family };
			char b[64];

			pr_info("announce: %s answered again after a lapse on %s\n",
				k8s_ip_str(&ip, b, sizeof(b)), a->ups[a->e[i].up].name);
			a->e[i].sends_left = TAKEOVER_SENDS;
		}
		e = write_entry(a, &a->e[i], deadline);

		if (e && !err)
			err = e;
		if (a->e[i].sends_left > 0) {
			send_takeover(a, &a->e[i]);
			a->e[i].sends_left--;
		}
	}
	return err;
}

void xlb_announcer_withdraw(struct xlb_announcer *a)
{
	if (a && a->n_e) {
		pr_warn("announce: withdrawing %zu answer(s)\n", a->n_e);
		for (size_t i = 0; i < a->n_e; i++)
			xlb_dp_l2_del(a->dp, &a->e[i].key);
		a->n_e = 0;
	}
}

void xlb_announcer_free(struct xlb_announcer *a)
{
	if (!a)
		return;
	if (a->sock >= 0)
		close(a->sock);
	free(a->e);
	free(a->meta);
	free(a);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bgp: host routes in a kernel table for BIRD to learn (see bgp.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "lb/bgp.h"
#include "lib/log.h"

struct xlb_bgp {
	int fd;
	uint32_t seq;
	uint32_t table;
	struct k8s_ip *have; /* announced now, sorted */
	size_t n_have;
};

struct rt_req {
	struct nlmsghdr nh;
	struct rtmsg rt;
	char attrs[64];
};

static void add_attr(struct rt_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (void *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int nl_socket(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1, fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	/* Errors carry only the header of our request: less to read. */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Wait for the ack of request @seq: 0 or its -errno. */
static int nl_ack(int fd, uint32_t seq)
{
	char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
		}
	}
}

static int route_req(struct xlb_bgp *b, int type, const struct k8s_ip *ip)
{
	int v6 = ip->family == XLB_AF_INET6;
	struct rt_req r = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
			.nlmsg_type = type,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
			.nlmsg_seq = ++b->seq },
		.rt = { .rtm_family = v6 ? AF_INET6 : AF_INET,
			.rtm_dst_len = v6 ? 128 : 32,
			.rtm_protocol = XLB_RTPROT,
			.rtm_scope = RT_SCOPE_UNIVERSE,
			.rtm_type = RTN_BLACKHOLE,
			.rtm_table = b->table < 256 ? b->table : RT_TABLE_UNSPEC },
	};

	/* EXCL: never replace a route someone else put there. */
	if (type == RTM_NEWROUTE)
		r.nh.nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	add_attr(&r, RTA_DST, &ip->addr, v6 ? 16 : 4);
	add_attr(&r, RTA_TABLE, &b->table, sizeof(b->table));
	if (send(b->fd, &r, r.nh.nlmsg_len, 0) < 0)
		return -errno;
	return nl_ack(b->fd, r.nh.nlmsg_seq);
}

/* One route message of a dump: ours (protocol, table, host route)? */
static bool parse_route(const struct nlmsghdr *h, uint32_t table, struct k8s_ip *ip)
{
	const struct rtmsg *rt = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(*rt));
	uint32_t tbl = rt->rtm_table;
	bool dst = false;

	if (len < 0 || rt->rtm_protocol != XLB_RTPROT || rt->rtm_type != RTN_BLACKHOLE ||
	    (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6) ||
	    rt->rtm_dst_len != (rt->rtm_family == AF_INET ? 32 : 128))
		return false;
	memset(ip, 0, sizeof(*ip));
	ip->family = rt->rtm_family == AF_INET ? XLB_AF_INET : XLB_AF_INET6;
	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t alen = RTA_PAYLOAD(a);

		if (a->rta_type == RTA_TABLE && alen == sizeof(tbl))
			memcpy(&tbl, RTA_DATA(a), sizeof(tbl));
		else if (a->rta_type == RTA_DST && alen == (ip->family == XLB_AF_INET ? 4u : 16u)) {
			memcpy(&ip->addr, RTA_DATA(a), alen);
			dst = true;
		}
	}
	return dst && tbl == table;
}

static int cmp_ip(const void *a, const void *b)
{
	return k8s_ip_cmp(a, b);
}

static bool in_set(const struct k8s_ip *v, size_t n, const struct k8s_ip *ip)
{
	return n && bsearch(ip, v, n, sizeof(*v), cmp_ip);
}

int xlb_bgp_dump(uint32_t table, struct k8s_ip **out, size_t *n)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
	} r = {
		.nh = { .nlmsg_len = sizeof(r),
			.nlmsg_type = RTM_GETROUTE,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1 },
		.rt = { .rtm_family = AF_UNSPEC },
	};
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct k8s_ip *v = NULL;
	size_t cnt = 0, cap = 0;
	int fd = nl_socket(), err = 0;
	bool done = false;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return fd;
	if (send(fd, &r, sizeof(r), 0) < 0) {
		err = -errno;
		goto out;
	}
	while (!done && !err) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			struct k8s_ip ip;

			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				err = ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
				break;
			}
			if (h->nlmsg_type != RTM_NEWROUTE || !parse_route(h, table, &ip))
				continue;
			if (cnt == cap) {
				size_t c = cap ? cap * 2 : 16;
				struct k8s_ip *nv = realloc(v, c * sizeof(*nv));

				if (!nv) {
					err = -ENOMEM;
					break;
				}
				v = nv;
				cap = c;
			}
			v[cnt++] = ip;
		}
	}
out:
	close(fd);
	if (err) {
		free(v);
		return err;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_ip);
	*out = v;
	*n = cnt;
	return 0;
}

struct xlb_bgp *xlb_bgp_open(uint32_t table)
{
	struct xlb_bgp *b;
	int err;

	/* 0 is "unspecified" and 253..255 are the kernel's own tables. */
	if (!table || (table >= RT_TABLE_DEFAULT && table <= RT_TABLE_LOCAL)) {
		errno = EINVAL;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->table = table;
	b->fd = nl_socket();
	if (b->fd < 0) {
		err = b->fd;
		goto fail;
	}
	err = xlb_bgp_dump(table, &b->have, &b->n_have);
	if (err)
		goto fail;
	if (b->n_have)
		pr_info("bgp: adopted %zu route(s) in table %u\n", b->n_have, table);
	return b;
fail:
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	errno = -err;
	return NULL;
}

void xlb_bgp_close(struct xlb_bgp *b)
{
	if (!b)
		return;
	close(b->fd);
	free(b->have);
	free(b);
}

/* A route for @ip exists: ours (left by someone's earlier request) or a
 * foreign one, which is never replaced. */
static int announce_exists(struct xlb_bgp *b, const struct k8s_ip *ip)
{
	struct k8s_ip *v;
	size_t n;
	bool ours;
	int err = xlb_bgp_dump(b->table, &v, &n);

	if (err)
		return err;
	ours = in_set(v, n, ip);
	free(v);
	return ours ? 0 : -EEXIST;
}

/* Withdraw the routes we have that @w (@nw) no longer wants; what stays
 * (kept, or failed to go) is appended to @next. The first error. */
static int withdraw_unwanted(struct xlb_bgp *b, const struct k8s_ip *w, size_t nw,
			     struct k8s_ip *next, size_t *nn)
{
	int err = 0;

	for (size_t i = 0; i < b->n_have; i++) {
		const struct k8s_ip *ip = &b->have[i];
		char s[64];
		int e;

		if (in_set(w, nw, ip)) {
			next[(*nn)++] = *ip;
			continue;
		}
		e = route_req(b, RTM_DELROUTE, ip);
		if (e == -ESRCH) /* someone removed it: gone is gone */
			e = 0;
		if (e) {
			pr_err("bgp: withdraw %s from table %u: %s\n", k8s_ip_str(ip, s, sizeof(s)),
			       b->table, strerror(-e));
			next[(*nn)++] = *ip;
			err = err ? err : e;
			continue;
		}
		pr_info("bgp: %s withdrawn (table %u)\n", k8s_ip_str(ip, s, sizeof(s)), b->table);
	}
	return err;
}

/* Announce what @w (@nw) wants that we do not have yet; each new route is
 * appended to @next. The first error. */
static int announce_wanted(struct xlb_bgp *b, const struct k8s_ip *w, size_t nw,
			   struct k8s_ip *next, size_t *nn)
{
	int err = 0;

	for (size_t i = 0; i < nw; i++) {
		char s[64];
		int e;

		if (in_set(b->have, b->n_have, &w[i]))
			continue;
		e = route_req(b, RTM_NEWROUTE, &w[i]);
		if (e == -EEXIST)
			e = announce_exists(b, &w[i]);
		if (e == -EEXIST) {
			pr_err("bgp: table %u already has a route for %s that xlb did not make; not announcing it (remove it or pick another --bgp-table)\n",
			       b->table, k8s_ip_str(&w[i], s, sizeof(s)));
			err = err ? err : e;
			continue;
		}
		if (e) {
			pr_err("bgp: announce %s into table %u: %s\n",
			       k8s_ip_str(&w[i], s, sizeof(s)), b->table, strerror(-e));
			err = err ? err : e;
			continue;
		}
		next[(*nn)++] = w[i];
		pr_info("bgp: %s announced (table %u)\n", k8s_ip_str(&w[i], s, sizeof(s)),
			b->table);
	}
	return err;
}

int xlb_bgp_set(struct xlb_bgp *b, const struct k8s_ip *want, size_t n, enum xlb_bgp_phase phase)
{
	struct k8s_ip *w = NULL, *next = NULL;
	size_t nw = 0, nn = 0;
	int err = 0, e;

	w = calloc(n + 1, sizeof(*w));
	next = calloc(n + b->n_have + 1, sizeof(*next));
	if (!w || !next) {
		free(w);
		free(next);
		return -ENOMEM;
	}
	memcpy(w, want, n * sizeof(*w));
	if (n)
		qsort(w, n, sizeof(*w), cmp_ip);
	for (size_t i = 0; i < n; i++)
		if (!nw || k8s_ip_cmp(&w[nw - 1], &w[i]))
			w[nw++] = w[i];

	if (phase & XLB_BGP_WITHDRAW) {
		err = withdraw_unwanted(b, w, nw, next, &nn);
	} else {
		memcpy(next, b->have, b->n_have * sizeof(*next));
		nn = b->n_have;
	}
	if (phase & XLB_BGP_ANNOUNCE) {
		e = announce_wanted(b, w, nw, next, &nn);
		err = err ? err : e;
	}
	if (nn)
		qsort(next, nn, sizeof(*next), cmp_ip);
	free(w);
	free(b->have);
	b->have = next;
	b->n_have = nn;
	return err;
}

int xlb_bgp_withdraw_all(struct xlb_bgp *b)
{
	if (!b || !b->n_have)
		return 0;
	pr_info("bgp: withdrawing %zu route(s) from table %u\n", b->n_have, b->table);
	return xlb_bgp_set(b, NULL, 0, XLB_BGP_WITHDRAW);
}

size_t xlb_bgp_count(const struct xlb_bgp *b)
{
	return b ? b->n_have : 0;
}

uint32_t xlb_bgp_table(const struct xlb_bgp *b)
{
	return b ? b->table : 0;
}

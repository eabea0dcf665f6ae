// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * health: /healthz, /livez and healthCheckNodePort servers, see health.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "serve/health.h"
#include "lib/log.h"
#include "lib/util.h"

#define HC_MAX_ADDRS 16

struct hc_srv {
	struct xlb_health *h;
	uint16_t port;
	char ns[64], name[64];
	uint32_t count;			    /* under h->lock */
	struct MHD_Daemon *d[HC_MAX_ADDRS]; /* one per bind address */
	size_t n_d;
	bool seen;
};

struct xlb_health {
	struct xlb_health_opts o;
	struct MHD_Daemon *proxy;
	pthread_mutex_t lock;
	bool eligible;
	struct timespec last_updated; /* realtime of the last sync */
	struct hc_srv **srv;
	size_t n_srv;
	/* healthCheckNodePort addresses when restricted, else wildcard */
	bool restricted;
	struct sockaddr_storage addrs[HC_MAX_ADDRS];
	size_t n_addrs;
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	pr_debug("health: %s%s", buf, buf[0] && buf[strlen(buf) - 1] == '\n' ? "" : "\n");
}

int xlb_parse_hostport(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (void *)ss;
	struct sockaddr_in6 *sin6 = (void *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned long port;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (!s)
		return -EINVAL;
	colon = strrchr(s, ':');
	if (!colon)
		return -EINVAL;
	port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (!hl || inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -EINVAL;
}

/*
 * One daemon per port and address, each with its own epoll thread:
 * select() stops at fd 1024 (about 500 Services), and a per-port daemon
 * keeps the per-client limit per port, so one external prober checking
 * many ports at once is not refused. A client may hold HC_PER_IP idle
 * connections per port and loses them after HC_IDLE_S: a probe is one
 * GET, and 64 idle sockets from one address no longer lock others out.
 */
#define HC_PER_IP     8
#define HC_CONN_LIMIT 1024
#define HC_IDLE_S     3
#define HC_STACK      (256u << 10)

static struct MHD_Daemon *start(const struct sockaddr_storage *ss, MHD_AccessHandlerCallback fn,
				void *cls)
{
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	uint16_t port;

	if (ss->ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	}
	errno = 0;
	return MHD_start_daemon(
		flags, port, NULL, NULL, fn, cls, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)HC_IDLE_S, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HC_CONN_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HC_PER_IP,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)HC_STACK, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		NULL, MHD_OPTION_END);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *body,
			     long weight)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char w[24];

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (weight >= 0) {
		snprintf(w, sizeof(w), "%ld", weight);
		MHD_add_response_header(r, "X-Load-Balancing-Endpoint-Weight", w);
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static bool healthy_locked(struct xlb_health *h)
{
	uint64_t since, now;

	if (!h->o.pending_since)
		return true;
	since = h->o.pending_since(h->o.ctx);
	if (!since)
		return true;
	now = xlb_mono_ms();
	return now - since < (h->o.timeout_ms ? h->o.timeout_ms : 60000);
}

/* RFC 3339 with trimmed nanoseconds, as Go's time.RFC3339Nano. */
static void rfc3339(const struct timespec *ts, char *buf, size_t size)
{
	struct tm tm;
	char frac[16];
	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%09ld", ts->tv_nsec);
	for (size_t l = strlen(frac); l > 1 && frac[l - 1] == '0'; l--)
		frac[l - 1] = 0;
	snprintf(buf + n, size - n, "%sZ", frac[1] ? frac : "");
}

static enum MHD_Result proxy_handler(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version, const char *upload,
				     size_t *upload_size, void **req)
{
	struct xlb_health *h = cls;
	bool livez = !strcmp(url, "/livez"), healthy, eligible;
	struct timespec now, last;
	char body[512], t_now[48], t_last[48];

	if (!livez && strcmp(url, "/healthz"))
		return reply(c, MHD_HTTP_NOT_FOUND, "404 page not found\n", -1);
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&h->lock);
	healthy = healthy_locked(h);
	eligible = h->eligible;
	last = healthy ? now : h->last_updated;
	pthread_mutex_unlock(&h->lock);
	rfc3339(&now, t_now, sizeof(t_now));
	rfc3339(&last, t_last, sizeof(t_last));
	if (livez)
		snprintf(body, sizeof(body),
			 "{\"lastUpdated\":\"%s\",\"currentTime\":\"%s\",\"healthy\":%s,"
			 "\"status\":{\"IPv4\":{\"lastUpdated\":\"%s\",\"healthy\":%s}}}",
			 t_last, t_now, healthy ? "true" : "false", t_last,
			 healthy ? "true" : "false");
	else
		snprintf(
			body, sizeof(body),
			"{\"lastUpdated\":\"%s\",\"currentTime\":\"%s\",\"nodeEligible\":%s,"
			"\"healthy\":%s,\"status\":{\"IPv4\":{\"lastUpdated\":\"%s\",\"healthy\":%s}}}",
			t_last, t_now, eligible ? "true" : "false", healthy ? "true" : "false",
			t_last, healthy ? "true" : "false");
	return reply(c, healthy && (livez || eligible) ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
		     body, -1);
}

int xlb_health_svc_body(char *buf, size_t size, const char *ns, const char *name, uint32_t count,
			bool healthy)
{
	int n = snprintf(
		buf, size,
		"{\n\t\"service\": {\n\t\t\"namespace\": \"%s\",\n\t\t\"name\": \"%s\"\n\t},\n"
		"\t\"localEndpoints\": %u,\n\t\"serviceProxyHealthy\": %s\n}",
		ns, name, count, healthy ? "true" : "false");

	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

static enum MHD_Result svc_handler(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *upload,
				   size_t *upload_size, void **req)
{
	struct hc_srv *s = cls;
	struct xlb_health *h = s->h;
	char body[512];
	uint32_t count;
	bool healthy;

	pthread_mutex_lock(&h->lock);
	count = s->count;
	healthy = healthy_locked(h);
	xlb_health_svc_body(body, sizeof(body), s->ns, s->name, count, healthy);
	pthread_mutex_unlock(&h->lock);
	return reply(c, count && healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body, count);
}

struct xlb_health *xlb_health_new(const struct xlb_health_opts *o)
{
	struct xlb_health *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;

	if (!h)
		return NULL;
	h->o = *o;
	h->eligible = true;
	clock_gettime(CLOCK_REALTIME, &h->last_updated);
	pthread_mutex_init(&h->lock, NULL);
	if (!o->bind || !*o->bind || !strcmp(o->bind, "off"))
		return h;
	if (xlb_parse_hostport(o->bind, &ss)) {
		xlb_health_free(h);
		errno = EINVAL;
		return NULL;
	}
	h->proxy = start(&ss, proxy_handler, h);
	if (!h->proxy) {
		int err = errno ? errno : EADDRINUSE;

		xlb_health_free(h);
		errno = err;
		return NULL;
	}
	return h;
}

static void srv_free(struct hc_srv *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_d; i++)
		MHD_stop_daemon(s->d[i]);
	free(s);
}

/* Listen on s->port on every bind address (the wildcard when none). */
static int srv_listen(struct xlb_health *h, struct hc_srv *s)
{
	size_t n = h->restricted ? h->n_addrs : 1;

	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss = { .ss_family = AF_INET };
		char a[INET6_ADDRSTRLEN] = "0.0.0.0";

		if (h->restricted)
			ss = h->addrs[i];
		if (ss.ss_family == AF_INET6) {
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(s->port);
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
		} else {
			((struct sockaddr_in *)&ss)->sin_port = htons(s->port);
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
		}
		s->d[s->n_d] = start(&ss, svc_handler, s);
		if (!s->d[s->n_d]) {
			int err = errno ? errno : EADDRINUSE;

			pr_err("health: healthCheckNodePort %u of %s/%s on %s: cannot listen: %s\n",
			       s->port, s->ns, s->name, a, strerror(err));
			return -err;
		}
		s->n_d++;
	}
	return 0;
}

int xlb_health_set_bind_addrs(struct xlb_health *h, const struct sockaddr_storage *addrs, size_t n)
{
	int ret = 0;

	if (!h)
		return 0;
	if (!addrs)
		n = 0;
	if (n > HC_MAX_ADDRS)
		n = HC_MAX_ADDRS;
	if (h->restricted == !!addrs && n == h->n_addrs &&
	    !memcmp(addrs, h->addrs, n * sizeof(*h->addrs)))
		return 0;
	if (n)
		memcpy(h->addrs, addrs, n * sizeof(*addrs));
	h->n_addrs = n;
	h->restricted = addrs;
	/* Re-open the open servers on the new addresses. */
	for (size_t i = 0; i < h->n_srv; i++) {
		struct hc_srv *s = h->srv[i];
		int err;

		for (size_t j = 0; j < s->n_d; j++)
			MHD_stop_daemon(s->d[j]);
		s->n_d = 0;
		err = srv_listen(h, s);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

void xlb_health_free(struct xlb_health *h)
{
	if (!h)
		return;
	if (h->proxy)
		MHD_stop_daemon(h->proxy);
	for (size_t i = 0; i < h->n_srv; i++)
		srv_free(h->srv[i]);
	free(h->srv);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void xlb_health_set_node_eligible(struct xlb_health *h, bool eligible)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->eligible = eligible;
	pthread_mutex_unlock(&h->lock);
}

void xlb_health_synced(struct xlb_health *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	clock_gettime(CLOCK_REALTIME, &h->last_updated);
	pthread_mutex_unlock(&h->lock);
}

static struct hc_srv *find(struct xlb_health *h, uint16_t port, const char *ns, const char *name)
{
	for (size_t i = 0; i < h->n_srv; i++)
		if (h->srv[i]->port == port && !strcmp(h->srv[i]->ns, ns) &&
		    !strcmp(h->srv[i]->name, name))
			return h->srv[i];
	return NULL;
}

int xlb_health_set_services(struct xlb_health *h, const struct xlb_desired *d)
{
	int ret = 0;
	size_t j = 0;

	if (!h)
		return 0;
	for (size_t i = 0; i < h->n_srv; i++)
		h->srv[i]->seen = false;
	for (size_t i = 0; i < d->n_hc; i++) {
		const struct xlb_desired_hc *sp = &d->hc[i];
		struct hc_srv *s, **v;
		int err;

		s = find(h, sp->port, sp->svc_namespace, sp->svc_name);
		if (s) {
			pthread_mutex_lock(&h->lock);
			s->count = sp->n_local_ready;
			pthread_mutex_unlock(&h->lock);
			s->seen = true;
			continue;
		}
		s = calloc(1, sizeof(*s));
		v = realloc(h->srv, (h->n_srv + 1) * sizeof(*v));
		if (!s || !v) {
			free(s);
			if (v)
				h->srv = v;
			return -ENOMEM;
		}
		h->srv = v;
		s->h = h;
		s->port = sp->port;
		snprintf(s->ns, sizeof(s->ns), "%s", sp->svc_namespace);
		snprintf(s->name, sizeof(s->name), "%s", sp->svc_name);
		s->count = sp->n_local_ready;
		s->seen = true;
		err = srv_listen(h, s);
		if (err) {
			srv_free(s);
			if (!ret)
				ret = err;
			continue;
		}
		pr_info("health: serving healthCheckNodePort %u for %s/%s\n", s->port, s->ns,
			s->name);
		h->srv[h->n_srv++] = s;
	}
	for (size_t i = 0; i < h->n_srv; i++) {
		if (h->srv[i]->seen) {
			h->srv[j++] = h->srv[i];
			continue;
		}
		pr_info("health: closing healthCheckNodePort %u of %s/%s\n", h->srv[i]->port,
			h->srv[i]->ns, h->srv[i]->name);
		srv_free(h->srv[i]);
	}
	h->n_srv = j;
	return ret;
}

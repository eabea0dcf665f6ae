// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * monitor: the datapath's events (drops and rejects by default) from the
 * ring buffer, while this command holds the monitor switch on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>

#include <bpf/libbpf.h>

#include "xlbctl.h"

static volatile sig_atomic_t mon_stop;

static void mon_signal(int sig)
{
	mon_stop = 1;
}

struct mon_ctx {
	__u32 *svc_ids; /* --service: ids that match; NULL: any */
	size_t n_svc_ids;
	bool have_addr;
	__u8 addr_family; /* --addr */
	union xlb_addr addr;
	long count, seen; /* --count: stop after this many; 0: never */
};

/* Family 0: an event of an older datapath, IPv4. */
static __u8 key_family(const struct xlb_ct_key *k)
{
	return k->family == XLB_AF_INET6 ? XLB_AF_INET6 : XLB_AF_INET;
}

static bool key_has(const struct xlb_ct_key *k, __u8 family, const union xlb_addr *a)
{
	return key_family(k) == family &&
	       (!memcmp(&k->saddr, a, sizeof(*a)) || !memcmp(&k->daddr, a, sizeof(*a)));
}

static bool mon_match(const struct mon_ctx *m, const struct xlb_event *e)
{
	if (m->svc_ids) {
		size_t i;

		for (i = 0; i < m->n_svc_ids && m->svc_ids[i] != e->svc_id; i++)
			;
		if (i == m->n_svc_ids)
			return false;
	}
	if (m->have_addr && !key_has(&e->orig, m->addr_family, &m->addr) &&
	    !key_has(&e->out, m->addr_family, &m->addr))
		return false;
	return true;
}

static void tuple_str(const struct xlb_ct_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	bool v6 = key_family(k) == XLB_AF_INET6;

	xlb_addr_str(key_family(k), &k->saddr, a, sizeof(a));
	xlb_addr_str(key_family(k), &k->daddr, b, sizeof(b));
	if (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP)
		snprintf(buf, len, v6 ? "[%s]:%u -> [%s]:%u" : "%s:%u -> %s:%u", a, ntohs(k->sport),
			 b, ntohs(k->dport));
	else
		snprintf(buf, len, "%s -> %s", a, b);
}

static cJSON *event_doc(const struct xlb_event *e)
{
	cJSON *o = cJSON_CreateObject(), *t;
	char ifn[IF_NAMESIZE];
	const struct xlb_ct_key *ks[2] = { &e->orig, &e->out };
	const char *names[2] = { "orig", "out" };

	if (!o)
		return NULL;
	xlb_json_add_u64(o, "ts_ns", e->ts_ns);
	cJSON_AddNumberToObject(o, "cpu", e->cpu);
	cJSON_AddStringToObject(o, "hook",
				e->hook == XLB_EV_XDP ? "xdp" :
				e->hook == XLB_EV_TC  ? "tc" :
							"tc_egress");
	cJSON_AddNumberToObject(o, "ifindex", e->ifindex);
	if (if_indextoname(e->ifindex, ifn))
		cJSON_AddStringToObject(o, "iface", ifn);
	else
		cJSON_AddNullToObject(o, "iface");
	cJSON_AddStringToObject(o, "reason", ctl_reason_str(e->reason));
	cJSON_AddStringToObject(o, "action",
				e->hook == XLB_EV_XDP	     ? ctl_xdp_action_str(e->action) :
				e->action == TC_ACT_SHOT     ? "TC_ACT_SHOT" :
				e->action == TC_ACT_REDIRECT ? "TC_ACT_REDIRECT" :
							       "TC_ACT_OK");
	if (e->svc_id == XLB_EVENT_NO_SVC) {
		cJSON_AddNullToObject(o, "service");
		cJSON_AddNullToObject(o, "svc_id");
	} else {
		cJSON_AddStringToObject(o, "service", ctl_svc_name(e->svc_id));
		cJSON_AddNumberToObject(o, "svc_id", e->svc_id);
	}
	for (int i = 0; i < 2; i++) {
		const struct xlb_ct_key *k = ks[i];

		t = cJSON_AddObjectToObject(o, names[i]);
		if (!t)
			break;
		cJSON_AddStringToObject(t, "proto",
					k->proto == 1 ? "icmp" : ctl_proto_str(k->proto));
		ctl_add_addr(t, "saddr", key_family(k), &k->saddr);
		cJSON_AddNumberToObject(t, "sport", ntohs(k->sport));
		ctl_add_addr(t, "daddr", key_family(k), &k->daddr);
		cJSON_AddNumberToObject(t, "dport", ntohs(k->dport));
	}
	cJSON_AddBoolToObject(o, "translated", memcmp(&e->orig, &e->out, sizeof(e->orig)) != 0);
	cJSON_AddNumberToObject(o, "len", e->len);
	cJSON_AddNumberToObject(o, "suppressed_before", e->suppressed);
	return o;
}

/* One line per event: the text is made from the JSON object. */
static void event_line(const struct xlb_event *e, const cJSON *o)
{
	char orig[96], outs[96];
	const char *ifn = xlb_json_get_str(o, "iface"), *svc = xlb_json_get_str(o, "service");

	tuple_str(&e->orig, orig, sizeof(orig));
	tuple_str(&e->out, outs, sizeof(outs));
	printf("%llu.%06llu cpu%u %s %s %s %s %s %s%s%s svc=%s len=%u",
	       (unsigned long long)(e->ts_ns / 1000000000ull),
	       (unsigned long long)(e->ts_ns % 1000000000ull / 1000), e->cpu,
	       xlb_json_get_str(o, "hook"), ifn ? ifn : "?", xlb_json_get_str(o, "reason"),
	       xlb_json_get_str(o, "action"), ctl_proto_str(e->orig.proto), orig,
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "translated")) ? " => " : "",
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "translated")) ? outs : "",
	       svc ? svc : "-", e->len);
	if (e->suppressed)
		printf(" (%u suppressed before)", e->suppressed);
	putchar('\n');
}

static int mon_event(void *ctx, void *data, size_t size)
{
	struct mon_ctx *m = ctx;
	const struct xlb_event *e = data;
	cJSON *o;

	if (size < sizeof(*e) || !mon_match(m, e))
		return 0;
	o = event_doc(e);
	if (!o)
		return -ENOMEM;
	if (ctl.out == XLB_OUT_TABLE) {
		event_line(e, o);
	} else {
		char *s = cJSON_PrintUnformatted(o);

		if (s)
			puts(s);
		free(s);
	}
	cJSON_Delete(o);
	fflush(stdout);
	if (m->count && ++m->seen >= m->count)
		mon_stop = 1;
	return 0;
}

static void monitor_usage(FILE *f)
{
	fprintf(f, "Usage: " PROG
		   " monitor [--reason NAME]... [--all] [--service SVC] [--addr ADDR]\n"
		   "                      [--rate N] [--count N]\n"
		   "  Streams datapath events: by default every drop and reject (reasons\n"
		   "  drop_* and reject_*), --all: every verdict, --reason: only these\n"
		   "  (filtered in the kernel). --service (name prefix or svc_id) and --addr\n"
		   "  (any address of the packet before or after translation) filter here.\n"
		   "  --rate: events per second per CPU the kernel lets through (default\n"
		   "  1000; burst the same); refused ones are counted and shown on the next\n"
		   "  event. Reporting is switched on while monitor runs and off when it\n"
		   "  exits; one monitor at a time. With -j one JSON object per line.\n");
}

/* The options into @cfg and @m; 1 after `help`. */
static int parse_args(int argc, char **argv, struct xlb_monitor_cfg *cfg, struct mon_ctx *m,
		      const char **svc)
{
	bool all = false;
	__u64 mask = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "help")) {
			monitor_usage(stdout);
			return 1;
		}
		if (!strcmp(a, "--all")) {
			all = true;
			continue;
		}
		if (!v)
			return ctl_usage_error(monitor_usage, "unexpected argument '%s'", a);
		i++;
		if (!strcmp(a, "--reason")) {
			int r;

			for (r = 0; r < XLB_R_MAX && strcmp(xlb_reason_names[r], v); r++)
				;
			if (r == XLB_R_MAX)
				return ctl_usage_error(
					monitor_usage,
					"--reason: unknown reason '%s' (see xlbctl stats)", v);
			mask |= 1ull << r;
		} else if (!strcmp(a, "--service")) {
			*svc = v;
		} else if (!strcmp(a, "--addr")) {
			__u8 family;
			union xlb_addr ad;

			if (ctl_parse_addr(v, &family, &ad))
				return ctl_usage_error(monitor_usage,
						       "--addr: '%s' is not an IP address", v);
			m->have_addr = true;
			m->addr_family = family;
			m->addr = ad;
		} else if (!strcmp(a, "--rate") || !strcmp(a, "--count")) {
			char *end;
			long n = strtol(v, &end, 10);

			if (!*v || *end || n < 1 || n > 10000000)
				return ctl_usage_error(monitor_usage, "%s: '%s' is not a count", a,
						       v);
			if (a[2] == 'r')
				cfg->rate = cfg->burst = n;
			else
				m->count = n;
		} else {
			return ctl_usage_error(monitor_usage, "unexpected argument '%s'", a);
		}
	}
	if (!mask) {
		for (int r = 0; r < XLB_R_MAX; r++)
			if (all || !strncmp(xlb_reason_names[r], "drop_", 5) ||
			    !strncmp(xlb_reason_names[r], "reject_", 7))
				mask |= 1ull << r;
	}
	cfg->reason_mask = mask;
	return 0;
}

/* --service: a svc_id, and every service port whose name starts so. */
static int match_services(struct mon_ctx *m, const char *svc)
{
	char *end;
	unsigned long id = strtoul(svc, &end, 10);

	m->svc_ids = calloc(ctl.n_metas + 1, sizeof(*m->svc_ids));
	if (!m->svc_ids)
		return -ENOMEM;
	if (*svc && !*end)
		m->svc_ids[m->n_svc_ids++] = id;
	for (size_t i = 0; i < ctl.n_metas; i++)
		if (!strncmp(ctl.metas[i].v.name, svc, strlen(svc)))
			m->svc_ids[m->n_svc_ids++] = ctl.metas[i].k;
	if (!m->n_svc_ids) {
		ctl_err("--service %s: no such service port", svc);
		return -ENOENT;
	}
	return 0;
}

/* Switch reporting on, print events until a signal or --count, off. */
static int stream(struct mon_ctx *m, const struct xlb_monitor_cfg *cfg)
{
	static const struct xlb_monitor_cfg off;
	struct ring_buffer *rb;
	int err;

	rb = ring_buffer__new(ctl_map_fd(XLB_DPM_EVENTS), mon_event, m, NULL);
	if (!rb) {
		err = -errno;
		ctl_err("open the event ring %s: %s", XLB_MAP_EVENTS, strerror(-err));
		return err;
	}
	signal(SIGINT, mon_signal);
	signal(SIGTERM, mon_signal);
	signal(SIGPIPE, mon_signal);
	err = ctl_monitor_set(cfg);
	if (err) {
		ctl_err("switch the monitor on (%s): %s", XLB_MAP_MONITOR, strerror(-err));
		goto out;
	}
	if (ctl.out == XLB_OUT_TABLE)
		fprintf(stderr, PROG ": monitoring, Ctrl-C to stop\n");
	while (!mon_stop) {
		int n = ring_buffer__poll(rb, 200);

		if (n < 0 && n != -EINTR) {
			err = n;
			ctl_err("read events: %s", strerror(-n));
			break;
		}
	}
	/* Off first, then take what is already in the ring. */
	ctl_monitor_set(&off);
	if (!m->count || m->seen < m->count)
		ring_buffer__consume(rb);
out:
	ring_buffer__free(rb);
	return err;
}

int monitor_run(int argc, char **argv, cJSON **doc)
{
	struct xlb_monitor_cfg cfg = { .rate = 1000, .burst = 1000 };
	struct mon_ctx m = { 0 };
	const char *svc = NULL;
	int err;

	err = parse_args(argc, argv, &cfg, &m, &svc);
	if (err)
		return err < 0 ? err : 0;
	err = ctl_need(CTL_METAS);
	if (!err && svc)
		err = match_services(&m, svc);
	if (!err)
		err = stream(&m, &cfg);
	free(m.svc_ids);
	return err;
}

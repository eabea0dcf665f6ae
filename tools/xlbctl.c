// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlbctl: the operator's view of the datapath. It reads only the maps
 * pinned under the pin dir, so it works with the agent stopped. It writes
 * one of them, the monitor switch, while `monitor` runs; `explain` runs the
 * program in a private instance (user/explain.c) and writes no live map.
 *
 *   xlbctl [--pin-dir DIR] [-j|--json] [-p|--pretty] OBJECT [COMMAND [ARGS]]
 *
 * bpftool grammar: OBJECT and COMMAND may be abbreviated to any unambiguous
 * prefix, `help` works at every level and an OBJECT alone lists. Every
 * command builds one cJSON document; user/printer.c renders it as JSON or,
 * through the command's view, as tables, so the two cannot drift.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <netinet/in.h>

#include <net/if.h>
#include <signal.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <xlb/abi.h>
#include "lb/bgp.h"
#include "datapath.h"
#include "explain.h"
#include "log.h"
#include "printer.h"

#define PROG "xlbctl"

static const char *pin_dir = XLB_PIN_DIR_DEFAULT;
static enum xlb_out out = XLB_OUT_TABLE;
static struct xlb_dp *dp;
static bool usage_failed;	/* exit 2 rather than 1 */

#define err_msg(...) xlb_print_error(out, PROG, __VA_ARGS__)

/* ---- reading the pinned maps ------------------------------------------ */

static int open_maps(void)
{
	int err;

	if (dp)
		return 0;
	dp = xlb_dp_open_pinned(pin_dir);
	if (dp)
		return 0;
	err = -errno;
	if (err == -ENOENT) {
		char other[64];

		for (int m = 0; m < XLB_DPM_MAX; m++) {
			if (!xlb_dp_pinned_other(pin_dir, m, other, sizeof(other)))
				continue;
			err_msg("open pinned maps under %s: %s is pinned in another layout than this xlbctl's %s: use the xlbctl of the agent's build",
				pin_dir, other, xlb_dp_pin_name(m));
			return err;
		}
	}
	err_msg("open pinned maps under %s: %s%s", pin_dir, strerror(-err),
		err == -ENOENT ? " (is xlb-agent running, or --pin-dir wrong?)" :
		err == -EPERM || err == -EACCES ? " (xlbctl needs root or CAP_BPF)" : "");
	return err;
}

static int map_fd(enum xlb_dp_map m)
{
	return xlb_dp_map_fd(dp, m);
}

/* Every entry of a hash map: keys and values in two parallel arrays. */
struct dump {
	void *keys;
	void *vals;
	size_t n;
	size_t ksz, vsz;
};

static void dump_free(struct dump *d)
{
	free(d->keys);
	free(d->vals);
	d->keys = d->vals = NULL;
	d->n = 0;
}

static int dump_grow(struct dump *d, size_t cap)
{
	void *k = realloc(d->keys, cap * d->ksz);

	if (!k)
		return -ENOMEM;
	d->keys = k;
	k = realloc(d->vals, cap * d->vsz);
	if (!k)
		return -ENOMEM;
	d->vals = k;
	return 0;
}

/* Without batch ops (kernels before 5.6): walk the keys. A key deleted
 * under us restarts the walk, so stop at a bound rather than loop. */
static int dump_walk(int fd, struct dump *d)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	size_t cap = 0, limit;
	char prev[64], next[64];
	void *cur = NULL;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	limit = 2 * (size_t)info.max_entries + 16;
	while (!bpf_map_get_next_key(fd, cur, next) && d->n < limit) {
		if (d->n == cap) {
			cap = cap ? 2 * cap : 256;
			err = dump_grow(d, cap);
			if (err)
				return err;
		}
		memcpy(prev, next, d->ksz);
		cur = prev;
		if (bpf_map_lookup_elem(fd, next, (char *)d->vals + d->n * d->vsz))
			continue;	/* deleted since */
		memcpy((char *)d->keys + d->n * d->ksz, next, d->ksz);
		d->n++;
	}
	return 0;
}

static int dump_map(enum xlb_dp_map m, size_t ksz, size_t vsz, struct dump *d)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	/* Batch tokens: a u32 bucket index for hash maps. */
	__u64 in[8], outb[8];
	size_t chunk = 1024, cap = 0;
	bool first = true;
	int fd = map_fd(m), err;

	memset(d, 0, sizeof(*d));
	d->ksz = ksz;
	d->vsz = vsz;
	for (;;) {
		__u32 count;

		if (cap < d->n + chunk) {
			cap = d->n + chunk;
			err = dump_grow(d, cap);
			if (err)
				goto fail;
		}
		count = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : in, outb,
					   (char *)d->keys + d->n * ksz,
					   (char *)d->vals + d->n * vsz, &count, &opts);
		err = err ? -errno : 0;
		if (err && err != -ENOENT) {
			if (err == -ENOSPC && !count && chunk < (1u << 20)) {
				chunk *= 2;	/* a bucket larger than the chunk */
				continue;
			}
			if (first && (err == -EINVAL || err == -ENOTSUP ||
				      err == -EOPNOTSUPP)) {
				d->n = 0;
				err = dump_walk(fd, d);
				if (err)
					goto fail;
				return 0;
			}
			goto fail;
		}
		d->n += count;
		if (err == -ENOENT)
			return 0;
		memcpy(in, outb, sizeof(in));
		first = false;
	}
fail:
	err_msg("read %s under %s: %s", xlb_dp_map_names[m], pin_dir, strerror(-err));
	dump_free(d);
	return err;
}

/* The sum over CPUs of a per-CPU counter; zero when the slot is missing. */
static int counter_sum(enum xlb_dp_map m, __u32 key, struct xlb_counter *sum)
{
	int ncpus = xlb_dp_ncpus();
	struct xlb_counter *v;

	memset(sum, 0, sizeof(*sum));
	if (ncpus <= 0) {
		err_msg("count possible CPUs: %s", strerror(ncpus ? -ncpus : EINVAL));
		return ncpus ? ncpus : -EINVAL;
	}
	v = calloc(ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd(m), &key, v)) {
		int err = -errno;

		free(v);
		if (err == -ENOENT)	/* index past max_entries */
			return 0;
		err_msg("read %s[%u] under %s: %s", xlb_dp_map_names[m], key, pin_dir,
			strerror(-err));
		return err;
	}
	for (int i = 0; i < ncpus; i++) {
		sum->packets += v[i].packets;
		sum->bytes += v[i].bytes;
	}
	free(v);
	return 0;
}

/* ---- the maps as sorted arrays ------------------------------------------ */

struct meta_ent {
	__u32 id;
	char name[sizeof(((struct xlb_svc_meta *)0)->name)];
};

struct be_ent {
	__u32 id;
	struct xlb_backend b;
};

struct svc_ent {
	struct xlb_svc_key k;
	struct xlb_svc v;
	char name[sizeof(((struct xlb_svc_meta *)0)->name)];
};

struct ct_ent {
	struct xlb_ct_key k;
	struct xlb_ct v;
};

static struct meta_ent *metas;
static size_t n_metas;
static struct be_ent *bes;
static size_t n_bes;

static int cmp_u32(__u32 a, __u32 b)
{
	return a < b ? -1 : a > b;
}

static int cmp_meta(const void *a, const void *b)
{
	return cmp_u32(((const struct meta_ent *)a)->id, ((const struct meta_ent *)b)->id);
}

static int cmp_be(const void *a, const void *b)
{
	return cmp_u32(((const struct be_ent *)a)->id, ((const struct be_ent *)b)->id);
}

static int load_metas(void)
{
	struct dump d;
	int err;

	if (metas)
		return 0;
	err = dump_map(XLB_DPM_SVC_META, sizeof(__u32), sizeof(struct xlb_svc_meta), &d);
	if (err)
		return err;
	metas = calloc(d.n + 1, sizeof(*metas));
	if (!metas) {
		dump_free(&d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d.n; i++) {
		const struct xlb_svc_meta *m = (struct xlb_svc_meta *)d.vals + i;

		metas[i].id = ((__u32 *)d.keys)[i];
		memcpy(metas[i].name, m->name, sizeof(metas[i].name) - 1);
	}
	n_metas = d.n;
	dump_free(&d);
	qsort(metas, n_metas, sizeof(*metas), cmp_meta);
	return 0;
}

static int load_backends(void)
{
	struct dump d;
	int err;

	if (bes)
		return 0;
	err = dump_map(XLB_DPM_BACKENDS, sizeof(__u32), sizeof(struct xlb_backend), &d);
	if (err)
		return err;
	bes = calloc(d.n + 1, sizeof(*bes));
	if (!bes) {
		dump_free(&d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d.n; i++) {
		bes[i].id = ((__u32 *)d.keys)[i];
		bes[i].b = ((struct xlb_backend *)d.vals)[i];
	}
	n_bes = d.n;
	dump_free(&d);
	qsort(bes, n_bes, sizeof(*bes), cmp_be);
	return 0;
}

static const struct be_ent *find_backend(__u32 id)
{
	struct be_ent key = { .id = id };

	return n_bes ? bsearch(&key, bes, n_bes, sizeof(*bes), cmp_be) : NULL;
}

/* The service's name, or "svc#ID" when the agent left none. */
static const char *svc_name(__u32 id)
{
	static char buf[4][32];
	static int slot;
	struct meta_ent key = { .id = id }, *m;

	m = n_metas ? bsearch(&key, metas, n_metas, sizeof(*metas), cmp_meta) : NULL;
	if (m && m->name[0])
		return m->name;
	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "svc#%u", id);
	return buf[slot];
}

static int load_svcs(struct svc_ent **svcs, size_t *n)
{
	struct dump d;
	int err;

	err = dump_map(XLB_DPM_SVC, sizeof(struct xlb_svc_key), sizeof(struct xlb_svc), &d);
	if (err)
		return err;
	*svcs = calloc(d.n + 1, sizeof(**svcs));
	if (!*svcs) {
		dump_free(&d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d.n; i++) {
		struct svc_ent *e = &(*svcs)[i];

		e->k = ((struct xlb_svc_key *)d.keys)[i];
		e->v = ((struct xlb_svc *)d.vals)[i];
		snprintf(e->name, sizeof(e->name), "%s", svc_name(e->v.svc_id));
	}
	*n = d.n;
	dump_free(&d);
	return 0;
}

/* ---- formatting ----------------------------------------------------------- */

static const char *addr_str(__u8 family, const union xlb_addr *a, char *buf, size_t len)
{
	if (family == XLB_AF_INET6)
		return inet_ntop(AF_INET6, a->bytes, buf, len) ? buf : "?";
	if (family == XLB_AF_INET)
		return inet_ntop(AF_INET, &a->v4, buf, len) ? buf : "?";
	snprintf(buf, len, "?family%u", family);
	return buf;
}

static const char *proto_str(__u8 proto)
{
	static char buf[16];

	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	default:
		snprintf(buf, sizeof(buf), "%u", proto);
		return buf;
	}
}

static const char *kind_str(__u8 kind)
{
	static char buf[16];

	switch (kind) {
	case XLB_CT_FWD_LOCAL:   return "fwd_local";
	case XLB_CT_FWD_REMOTE:  return "fwd_remote";
	case XLB_CT_REPLY_LOCAL: return "reply_local";
	case XLB_CT_REPLY_SNAT:  return "reply_snat";
	default:
		snprintf(buf, sizeof(buf), "kind%u", kind);
		return buf;
	}
}

static void add_addr(cJSON *o, const char *key, __u8 family, const union xlb_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 16];

	cJSON_AddStringToObject(o, key, addr_str(family, a, buf, sizeof(buf)));
}

/* "addr:port", "[v6]:port"; "-" when the row has neither. */
static void endpoint(const cJSON *row, const char *ak, const char *pk, char *buf, size_t len)
{
	const char *a = xlb_json_get_str(row, ak);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(row, pk);
	char port[24];

	xlb_cell_text(p, port, sizeof(port));
	if (!a && !cJSON_IsNumber(p))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, a && strchr(a, ':') ? "[%s]:%s" : "%s:%s",
			 a ? a : "-", port);
}

static void ttl_cell(const cJSON *row, char *buf, size_t len)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "expired")))
		snprintf(buf, len, "expired");
	else
		snprintf(buf, len, "%llus", xlb_json_get_u64(row, "expires_in_s", 0));
}

static __u64 now_ns(void)
{
	struct timespec ts;

	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void add_ttl(cJSON *o, __u64 expires_ns, __u64 now)
{
	bool expired = expires_ns <= now;

	xlb_json_add_u64(o, "expires_in_s",
			 expired ? 0 : (expires_ns - now + 999999999ull) / 1000000000ull);
	cJSON_AddBoolToObject(o, "expired", expired);
}

static int emit(cJSON *doc, const struct xlb_view *view)
{
	int err;

	if (!doc) {
		err_msg("out of memory");
		return -ENOMEM;
	}
	err = xlb_print_doc(stdout, doc, out, view);
	cJSON_Delete(doc);
	if (err)
		err_msg("print: %s", strerror(-err));
	return err;
}

/* ---- usage ----------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTIONS] OBJECT [COMMAND [ARGS]]\n"
		"       " PROG " OBJECT help\n"
		"OBJECT := { service | backend | ct | snat | stats | maglev | vip | monitor | explain }\n"
		"OPTIONS := { --pin-dir DIR | -j|--json | -p|--pretty | -h|--help }\n"
		"\n"
		"  service list              frontends, their service and counters\n"
		"  backend list              backends and the service each serves\n"
		"  ct list [FILTER]          conntrack entries\n"
		"  snat list                 SNAT port bindings (reply_snat entries)\n"
		"  stats [show]              packets per verdict reason and per service\n"
		"  maglev list               Maglev table per service\n"
		"  maglev show SVC           one service's Maglev table\n"
		"  vip list                  LoadBalancer VIPs: service, pool, owner,\n"
		"                            whether this node answers ARP/NDP\n"
		"  monitor [FILTER]          stream of drops and rejects (ring buffer)\n"
		"  explain PROTO SRC DST     what the datapath does with this packet,\n"
		"                            run on the live maps without changing them\n"
		"\n"
		"An OBJECT alone lists; OBJECT and COMMAND may be abbreviated\n"
		"(`" PROG " svc l`); svc and conntrack are aliases of service and ct.\n"
		"-p implies -j. Exit status: 0 ok, 1 error, 2 usage.\n"
		"Reads the maps pinned under --pin-dir (default " XLB_PIN_DIR_DEFAULT ").\n");
}

static void usage_service(FILE *f)
{
	fprintf(f, "Usage: " PROG " service { list | help }\n"
		   "  One row per frontend (VIP or NodePort) in " XLB_MAP_SVC ".\n");
}

static void usage_vip(FILE *f)
{
	fprintf(f, "Usage: " PROG " vip { list | help }\n"
		   "  One row per LoadBalancer VIP the agent knows (" XLB_MAP_VIP_META "); ANSWERING\n"
		   "  is what the datapath does now: an " XLB_MAP_L2 " entry within its deadline.\n"
		   "  BGP is what BIRD can learn now: this node's route for the address in the\n"
		   "  agent's --bgp-table (run it in the node's network namespace); \"-\" when\n"
		   "  the pool does not announce by BGP. bgp_wanted: the agent's plan.\n");
}

static void usage_backend(FILE *f)
{
	fprintf(f, "Usage: " PROG " backend { list | help }\n");
}

static void usage_ct(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " ct { list [FILTER...] | help }\n"
		"FILTER := { --src ADDR | --dst ADDR | --port N | --proto { tcp | udp } |\n"
		"            --kind { fwd_local | fwd_remote | reply_local | reply_snat } }\n"
		"  --src/--dst match the original or the rewritten address; --port\n"
		"  matches any of the four ports. Filters combine with AND.\n");
}

static void usage_snat(FILE *f)
{
	fprintf(f, "Usage: " PROG " snat { list | help }\n"
		   "  SNAT bindings: node addr:port <-> client via frontend, backend.\n");
}

static void usage_stats(FILE *f)
{
	fprintf(f, "Usage: " PROG " stats [{ show | help }]\n");
}

static void usage_maglev(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " maglev { list | show SVC | help }\n"
		"SVC := { namespace/name:port-name/PROTO | an unambiguous prefix | svc_id }\n"
		"  show: M and each backend's entries and share; with -j also the table.\n");
}

/* A usage error: message, the object's usage on stderr, exit 2. */
static int usage_error(void (*use)(FILE *), const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(void (*use)(FILE *), const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (out != XLB_OUT_TABLE)
		xlb_print_error(out, PROG, "%s", msg);
	fprintf(stderr, PROG ": %s\n", msg);
	use(stderr);
	usage_failed = true;
	return -EINVAL;
}

/* Commands that take no arguments; `help` among them shows the help. */
static int no_args(int argc, char **argv, void (*use)(FILE *), bool *help)
{
	*help = false;
	if (argc && !strcmp(argv[0], "help")) {
		use(stdout);
		*help = true;
		return 0;
	}
	if (argc)
		return usage_error(use, "unexpected argument '%s'", argv[0]);
	return 0;
}

/* ---- service list ---------------------------------------------------------- */

static int cmp_svc(const void *a, const void *b)
{
	const struct svc_ent *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r)
		return r;
	if (x->k.scope != y->k.scope)
		return x->k.scope - y->k.scope;
	if (x->k.family != y->k.family)
		return x->k.family - y->k.family;
	r = memcmp(x->k.addr.bytes, y->k.addr.bytes, sizeof(x->k.addr));
	if (r)
		return r;
	if (x->k.port != y->k.port)
		return ntohs(x->k.port) - ntohs(y->k.port);
	return x->k.proto - y->k.proto;
}

static void frontend_str(const struct xlb_svc_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN + 16], p[16];
	const char *proto = proto_str(k->proto);
	size_t i;

	/* Kubernetes spells protocols in capitals: 80/TCP. */
	for (i = 0; i < sizeof(p) - 1 && proto[i]; i++)
		p[i] = toupper((unsigned char)proto[i]);
	p[i] = '\0';
	if (k->scope == XLB_SCOPE_NODEPORT)
		snprintf(buf, len, "*:%u/%s nodeport", ntohs(k->port), p);
	else if (k->family == XLB_AF_INET6)
		snprintf(buf, len, "[%s]:%u/%s", addr_str(k->family, &k->addr, a, sizeof(a)),
			 ntohs(k->port), p);
	else
		snprintf(buf, len, "%s:%u/%s", addr_str(k->family, &k->addr, a, sizeof(a)),
			 ntohs(k->port), p);
}

static void svc_flags_cell(const cJSON *row, char *buf, size_t len)
{
	const char *etp = xlb_json_get_str(row, "etp");
	const cJSON *aff = cJSON_GetObjectItemCaseSensitive(row, "affinity_timeout");
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(row, "source_ranges");
	int n = snprintf(buf, len, "etp=%s", etp ? etp : "-");

	if (n > 0 && (size_t)n < len && cJSON_IsNumber(aff) && aff->valueint > 0)
		n += snprintf(buf + n, len - n, ",affinity=%ds", aff->valueint);
	if (n > 0 && (size_t)n < len && cJSON_IsTrue(src))
		snprintf(buf + n, len - n, ",src_ranges");
}

static void svc_backends_cell(const cJSON *row, char *buf, size_t len)
{
	snprintf(buf, len, "%llu/%llu", xlb_json_get_u64(row, "backend_count", 0),
		 xlb_json_get_u64(row, "total_count", 0));
}

static const struct xlb_col service_cols[] = {
	{ "NAME", "name" },
	{ "FRONTEND", "frontend" },
	{ "SVC_ID", "svc_id" },
	{ "FLAGS", .cell = svc_flags_cell },
	{ "BACKENDS", .cell = svc_backends_cell },
	{ "TABLE_ID", "table_id" },
	{ "M", "maglev_size" },
	{ "PACKETS", "packets" },
	{ "BYTES", "bytes" },
	{}
};

static int do_service_list(int argc, char **argv)
{
	static const struct xlb_table tables[] = { { .cols = service_cols }, {} };
	static const struct xlb_view view = { .tables = tables };
	struct svc_ent *svcs = NULL;
	size_t n = 0;
	cJSON *doc;
	bool help;
	int err;

	err = no_args(argc, argv, usage_service, &help);
	if (err || help)
		return err;
	err = open_maps();
	if (!err)
		err = load_metas();
	if (!err)
		err = load_svcs(&svcs, &n);
	if (err)
		return err;
	qsort(svcs, n, sizeof(*svcs), cmp_svc);

	doc = cJSON_CreateArray();
	for (size_t i = 0; doc && i < n; i++) {
		const struct svc_ent *s = &svcs[i];
		struct xlb_counter c;
		char fe[INET6_ADDRSTRLEN + 48];
		cJSON *row = cJSON_CreateObject();

		if (!row || !cJSON_AddItemToArray(doc, row)) {
			cJSON_Delete(row);
			err = -ENOMEM;
			break;
		}
		err = counter_sum(XLB_DPM_SVC_STATS, s->v.svc_id, &c);
		if (err)
			break;
		frontend_str(&s->k, fe, sizeof(fe));
		cJSON_AddStringToObject(row, "name", s->name);
		cJSON_AddStringToObject(row, "frontend", fe);
		cJSON_AddStringToObject(row, "scope",
					s->k.scope == XLB_SCOPE_NODEPORT ? "nodeport" : "vip");
		if (s->k.scope == XLB_SCOPE_NODEPORT)
			cJSON_AddNullToObject(row, "address");
		else
			add_addr(row, "address", s->k.family, &s->k.addr);
		cJSON_AddNumberToObject(row, "port", ntohs(s->k.port));
		cJSON_AddStringToObject(row, "proto", proto_str(s->k.proto));
		cJSON_AddNumberToObject(row, "svc_id", s->v.svc_id);
		cJSON_AddStringToObject(row, "etp", s->v.flags & XLB_SVC_F_ETP_LOCAL ?
					"Local" : "Cluster");
		cJSON_AddNumberToObject(row, "affinity_timeout", s->v.affinity_timeout);
		cJSON_AddBoolToObject(row, "source_ranges",
				      !!(s->v.flags & XLB_SVC_F_SOURCE_RANGES));
		cJSON_AddNumberToObject(row, "backend_count", s->v.backend_count);
		cJSON_AddNumberToObject(row, "total_count", s->v.total_count);
		cJSON_AddNumberToObject(row, "table_id", s->v.table_id);
		cJSON_AddNumberToObject(row, "maglev_size", s->v.maglev_size);
		xlb_json_add_u64(row, "packets", c.packets);
		xlb_json_add_u64(row, "bytes", c.bytes);
	}
	free(svcs);
	if (err) {
		cJSON_Delete(doc);
		return err;
	}
	return emit(doc, &view);
}

/* ---- backend list ------------------------------------------------------------ */

static void be_addr_cell(const cJSON *row, char *buf, size_t len)
{
	endpoint(row, "address", "port", buf, len);
}

static void be_where_cell(const cJSON *row, char *buf, size_t len)
{
	snprintf(buf, len, "%s", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "local")) ?
		 "local" : "remote");
}

static const struct xlb_col backend_cols[] = {
	{ "ID", "id" },
	{ "ADDRESS", .cell = be_addr_cell },
	{ "NODE", .cell = be_where_cell },
	{ "SVC_ID", "svc_id" },
	{ "SERVICE", "service" },
	{}
};

static int do_backend_list(int argc, char **argv)
{
	static const struct xlb_table tables[] = { { .cols = backend_cols }, {} };
	static const struct xlb_view view = { .tables = tables };
	cJSON *doc;
	bool help;
	int err;

	err = no_args(argc, argv, usage_backend, &help);
	if (err || help)
		return err;
	err = open_maps();
	if (!err)
		err = load_metas();
	if (!err)
		err = load_backends();
	if (err)
		return err;
	doc = cJSON_CreateArray();
	for (size_t i = 0; doc && i < n_bes; i++) {
		const struct xlb_backend *b = &bes[i].b;
		cJSON *row = cJSON_CreateObject();

		if (!row || !cJSON_AddItemToArray(doc, row)) {
			cJSON_Delete(row);
			cJSON_Delete(doc);
			return emit(NULL, NULL);
		}
		cJSON_AddNumberToObject(row, "id", bes[i].id);
		add_addr(row, "address", b->family, &b->addr);
		cJSON_AddNumberToObject(row, "port", ntohs(b->port));
		cJSON_AddBoolToObject(row, "local", b->flags & XLB_BE_F_LOCAL);
		cJSON_AddNumberToObject(row, "svc_id", b->svc_id);
		cJSON_AddStringToObject(row, "service", svc_name(b->svc_id));
	}
	return emit(doc, &view);
}

/* ---- vip list ---------------------------------------------------------------- */

static const struct xlb_col vip_cols[] = {
	{ "ADDRESS", "address" },
	{ "SERVICE", "service" },
	{ "POOL", "pool" },
	{ "OWNER", "owner" },
	{ "ANSWERING", "answering" },
	{ "BGP", "bgp" },
	{ "INTERFACES", "interfaces" },
	{}
};

static int cmp_vip_row(const void *a, const void *b)
{
	const struct xlb_addr_key *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr.bytes, y->addr.bytes, 16);
}

static int do_vip_list(int argc, char **argv)
{
	static const struct xlb_table tables[] = { { .cols = vip_cols }, {} };
	static const struct xlb_view view = { .tables = tables };
	struct dump d, l2;
	struct timespec now;
	struct k8s_ip *routes = NULL;
	size_t n_routes = 0;
	__u32 rt_table = 0;
	cJSON *doc;
	bool help;
	int err;

	err = no_args(argc, argv, usage_vip, &help);
	if (err || help)
		return err;
	err = open_maps();
	if (err)
		return err;
	err = dump_map(XLB_DPM_VIP_META, sizeof(struct xlb_addr_key),
		       sizeof(struct xlb_vip_meta), &d);
	if (err)
		return err;
	err = dump_map(XLB_DPM_L2, sizeof(struct xlb_l2_key), sizeof(struct xlb_l2), &l2);
	if (err) {
		dump_free(&d);
		return err;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	doc = cJSON_CreateArray();
	/* Rows by address (a few hundred VIPs at most: selection sort of
	 * the dump in place keeps keys and values together). */
	for (size_t i = 0; doc && i < d.n; i++) {
		size_t best = i;

		for (size_t j = i + 1; j < d.n; j++)
			if (cmp_vip_row((struct xlb_addr_key *)d.keys + j,
					(struct xlb_addr_key *)d.keys + best) < 0)
				best = j;
		if (best != i) {
			struct xlb_addr_key tk = ((struct xlb_addr_key *)d.keys)[i];
			struct xlb_vip_meta tv = ((struct xlb_vip_meta *)d.vals)[i];

			((struct xlb_addr_key *)d.keys)[i] = ((struct xlb_addr_key *)d.keys)[best];
			((struct xlb_vip_meta *)d.vals)[i] = ((struct xlb_vip_meta *)d.vals)[best];
			((struct xlb_addr_key *)d.keys)[best] = tk;
			((struct xlb_vip_meta *)d.vals)[best] = tv;
		}
	}
	for (size_t i = 0; doc && i < d.n; i++) {
		const struct xlb_addr_key *k = (struct xlb_addr_key *)d.keys + i;
		const struct xlb_vip_meta *m = (struct xlb_vip_meta *)d.vals + i;
		__u64 t = (__u64)now.tv_sec * 1000000000ull + now.tv_nsec;
		cJSON *row = cJSON_CreateObject(), *ifs = cJSON_CreateArray();
		bool answering = false;
		char names[sizeof(m->interfaces) + 1], *save = NULL, *tok;

		if (!row || !ifs || !cJSON_AddItemToArray(doc, row)) {
			cJSON_Delete(row);
			cJSON_Delete(ifs);
			cJSON_Delete(doc);
			doc = NULL;
			break;
		}
		for (size_t j = 0; j < l2.n; j++) {
			const struct xlb_l2_key *lk = (struct xlb_l2_key *)l2.keys + j;
			const struct xlb_l2 *lv = (struct xlb_l2 *)l2.vals + j;

			if (lk->family == k->family && !memcmp(&lk->addr, &k->addr, 16) &&
			    lv->expires_ns > t)
				answering = true;
		}
		/* Names from the agent: xlbctl may run in another network
		 * namespace, where the ifindexes mean other devices. */
		memcpy(names, m->interfaces, sizeof(m->interfaces));
		names[sizeof(m->interfaces)] = '\0';
		for (tok = strtok_r(names, ",", &save); answering && tok;
		     tok = strtok_r(NULL, ",", &save))
			cJSON_AddItemToArray(ifs, cJSON_CreateString(tok));
		add_addr(row, "address", k->family, &k->addr);
		cJSON_AddStringToObject(row, "service", m->service);
		cJSON_AddStringToObject(row, "pool", m->pool);
		cJSON_AddStringToObject(row, "owner", m->owner);
		cJSON_AddBoolToObject(row, "answering", answering);
		if (m->flags & XLB_VIP_F_BGP && m->bgp_table) {
			struct k8s_ip ip = { .addr = k->addr, .family = k->family };
			bool routed = false;

			/* The kernel table, not the agent's word: what BIRD sees. */
			if (m->bgp_table != rt_table) {
				free(routes);
				rt_table = m->bgp_table;
				if (xlb_bgp_dump(rt_table, &routes, &n_routes))
					n_routes = 0;
			}
			for (size_t j = 0; j < n_routes && !routed; j++)
				routed = !k8s_ip_cmp(&routes[j], &ip);
			cJSON_AddBoolToObject(row, "bgp", routed);
			cJSON_AddNumberToObject(row, "bgp_table", m->bgp_table);
		} else {
			cJSON_AddNullToObject(row, "bgp");
		}
		cJSON_AddBoolToObject(row, "bgp_wanted", !!(m->flags & XLB_VIP_F_BGP_MINE));
		cJSON_AddItemToObject(row, "interfaces", ifs);
	}
	free(routes);
	dump_free(&d);
	dump_free(&l2);
	return emit(doc, &view);
}

/* ---- ct list / snat list ----------------------------------------------------- */

struct ct_filter {
	bool src, dst;
	struct { __u8 family; union xlb_addr a; } saddr, daddr;
	int port;		/* host order; -1: any */
	int proto;		/* -1: any */
	int kind;		/* -1: any */
};

static bool addr_eq(const union xlb_addr *a, const union xlb_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static bool ct_match(const struct ct_filter *f, const struct ct_ent *e)
{
	const struct xlb_ct_key *k = &e->k;
	const struct xlb_ct *v = &e->v;

	if (f->kind >= 0 && v->kind != f->kind)
		return false;
	if (f->proto >= 0 && k->proto != f->proto)
		return false;
	if (f->port >= 0 && ntohs(k->sport) != f->port && ntohs(k->dport) != f->port &&
	    ntohs(v->nat_sport) != f->port && ntohs(v->nat_dport) != f->port)
		return false;
	if (f->src && (k->family != f->saddr.family ||
		       (!addr_eq(&k->saddr, &f->saddr.a) && !addr_eq(&v->nat_saddr, &f->saddr.a))))
		return false;
	if (f->dst && (k->family != f->daddr.family ||
		       (!addr_eq(&k->daddr, &f->daddr.a) && !addr_eq(&v->nat_daddr, &f->daddr.a))))
		return false;
	return true;
}

static int cmp_ct(const void *a, const void *b)
{
	const struct ct_ent *x = a, *y = b;
	int r;

	if (x->v.kind != y->v.kind)
		return x->v.kind - y->v.kind;
	if (x->k.family != y->k.family)
		return x->k.family - y->k.family;
	if (x->k.proto != y->k.proto)
		return x->k.proto - y->k.proto;
	r = memcmp(&x->k.saddr, &y->k.saddr, sizeof(x->k.saddr));
	if (r)
		return r;
	if (x->k.sport != y->k.sport)
		return ntohs(x->k.sport) - ntohs(y->k.sport);
	r = memcmp(&x->k.daddr, &y->k.daddr, sizeof(x->k.daddr));
	if (r)
		return r;
	return ntohs(x->k.dport) - ntohs(y->k.dport);
}

/* The conntrack entries that pass @f, sorted. */
static int load_ct(const struct ct_filter *f, struct ct_ent **ents, size_t *n)
{
	struct dump d;
	int err;

	err = dump_map(XLB_DPM_CT, sizeof(struct xlb_ct_key), sizeof(struct xlb_ct), &d);
	if (err)
		return err;
	*ents = calloc(d.n + 1, sizeof(**ents));
	if (!*ents) {
		dump_free(&d);
		return -ENOMEM;
	}
	*n = 0;
	for (size_t i = 0; i < d.n; i++) {
		struct ct_ent e = {
			.k = ((struct xlb_ct_key *)d.keys)[i],
			.v = ((struct xlb_ct *)d.vals)[i],
		};

		if (ct_match(f, &e))
			(*ents)[(*n)++] = e;
	}
	dump_free(&d);
	qsort(*ents, *n, sizeof(**ents), cmp_ct);
	return 0;
}

static int parse_addr(const char *s, __u8 *family, union xlb_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->v4) == 1) {
		*family = XLB_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->bytes) == 1) {
		*family = XLB_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static int parse_ct_filter(int argc, char **argv, struct ct_filter *f, bool *help)
{
	*f = (struct ct_filter){ .port = -1, .proto = -1, .kind = -1 };
	*help = false;
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i], *val;
		char name[16];
		const char *eq = strchr(opt, '=');

		if (!strcmp(opt, "help")) {
			usage_ct(stdout);
			*help = true;
			return 0;
		}
		if (strncmp(opt, "--", 2))
			return usage_error(usage_ct, "unexpected argument '%s'", opt);
		if (eq) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - opt), opt);
			val = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", opt);
			if (i + 1 >= argc)
				return usage_error(usage_ct, "%s needs a value", opt);
			val = argv[++i];
		}
		if (!strcmp(name, "--src") || !strcmp(name, "--dst")) {
			bool src = name[2] == 's';

			if (parse_addr(val, src ? &f->saddr.family : &f->daddr.family,
				       src ? &f->saddr.a : &f->daddr.a))
				return usage_error(usage_ct, "%s: '%s' is not an IP address",
						   name, val);
			if (src)
				f->src = true;
			else
				f->dst = true;
		} else if (!strcmp(name, "--port")) {
			char *end;
			long p = strtol(val, &end, 10);

			if (!*val || *end || p < 0 || p > 65535)
				return usage_error(usage_ct, "--port: '%s' is not a port", val);
			f->port = p;
		} else if (!strcmp(name, "--proto")) {
			if (!strcasecmp(val, "tcp"))
				f->proto = IPPROTO_TCP;
			else if (!strcasecmp(val, "udp"))
				f->proto = IPPROTO_UDP;
			else
				return usage_error(usage_ct, "--proto: '%s' is not tcp or udp", val);
		} else if (!strcmp(name, "--kind")) {
			f->kind = -1;
			for (int k = XLB_CT_FWD_LOCAL; k <= XLB_CT_REPLY_SNAT; k++)
				if (!strcmp(val, kind_str(k)))
					f->kind = k;
			if (f->kind < 0)
				return usage_error(usage_ct, "--kind: unknown kind '%s'", val);
		} else {
			return usage_error(usage_ct, "unknown option '%s'", name);
		}
	}
	return 0;
}

static void ct_tuple_cell(const cJSON *row, char *buf, size_t len)
{
	char s[128], d[128];

	endpoint(row, "saddr", "sport", s, sizeof(s));
	endpoint(row, "daddr", "dport", d, sizeof(d));
	snprintf(buf, len, "%s -> %s", s, d);
}

static void ct_rewrite_cell(const cJSON *row, char *buf, size_t len)
{
	char s[128], d[128];

	endpoint(row, "nat_saddr", "nat_sport", s, sizeof(s));
	endpoint(row, "nat_daddr", "nat_dport", d, sizeof(d));
	snprintf(buf, len, "%s -> %s", s, d);
}

static const struct xlb_col ct_cols[] = {
	{ "KIND", "kind" },
	{ "PROTO", "proto" },
	{ "TUPLE", .cell = ct_tuple_cell },
	{ "REWRITE", .cell = ct_rewrite_cell },
	{ "SERVICE", "service" },
	{ "BACKEND", "backend_id" },
	{ "FLAGS", "flags" },
	{ "TTL", .cell = ttl_cell },
	{}
};

/* enum xlb_ct_flags, bit by bit. */
static const char *const ct_flag_names[] = {
	"established", "rst", "seen_reply", "fin_client", "fin_backend",
	"backend_time_wait", "rst_backend",
};

static int do_ct_list(int argc, char **argv)
{
	static const struct xlb_table tables[] = { { .cols = ct_cols }, {} };
	static const struct xlb_view view = { .tables = tables };
	struct ct_ent *ents = NULL;
	struct ct_filter f;
	size_t n = 0;
	cJSON *doc;
	bool help;
	__u64 now;
	int err;

	err = parse_ct_filter(argc, argv, &f, &help);
	if (err || help)
		return err;
	err = open_maps();
	if (!err)
		err = load_metas();
	if (!err)
		err = load_ct(&f, &ents, &n);
	if (err)
		return err;
	now = now_ns();
	doc = cJSON_CreateArray();
	for (size_t i = 0; doc && i < n; i++) {
		const struct xlb_ct_key *k = &ents[i].k;
		const struct xlb_ct *v = &ents[i].v;
		cJSON *row = cJSON_CreateObject(), *flags;

		if (!row || !cJSON_AddItemToArray(doc, row)) {
			cJSON_Delete(row);
			cJSON_Delete(doc);
			doc = NULL;
			break;
		}
		cJSON_AddStringToObject(row, "kind", kind_str(v->kind));
		cJSON_AddStringToObject(row, "proto", proto_str(k->proto));
		add_addr(row, "saddr", k->family, &k->saddr);
		cJSON_AddNumberToObject(row, "sport", ntohs(k->sport));
		add_addr(row, "daddr", k->family, &k->daddr);
		cJSON_AddNumberToObject(row, "dport", ntohs(k->dport));
		add_addr(row, "nat_saddr", k->family, &v->nat_saddr);
		cJSON_AddNumberToObject(row, "nat_sport", ntohs(v->nat_sport));
		add_addr(row, "nat_daddr", k->family, &v->nat_daddr);
		cJSON_AddNumberToObject(row, "nat_dport", ntohs(v->nat_dport));
		cJSON_AddNumberToObject(row, "svc_id", v->svc_id);
		cJSON_AddStringToObject(row, "service", svc_name(v->svc_id));
		cJSON_AddNumberToObject(row, "backend_id", v->backend_id);
		flags = cJSON_AddArrayToObject(row, "flags");
		for (size_t b = 0; b < sizeof(ct_flag_names) / sizeof(ct_flag_names[0]); b++)
			if (v->flags & (1u << b) && ct_flag_names[b])
				cJSON_AddItemToArray(flags, cJSON_CreateString(ct_flag_names[b]));
		add_ttl(row, v->expires_ns, now);
	}
	free(ents);
	return emit(doc, &view);
}

static void snat_node_cell(const cJSON *row, char *buf, size_t len)
{
	endpoint(row, "node_addr", "node_port", buf, len);
}

static void snat_client_cell(const cJSON *row, char *buf, size_t len)
{
	endpoint(row, "client_addr", "client_port", buf, len);
}

static void snat_frontend_cell(const cJSON *row, char *buf, size_t len)
{
	endpoint(row, "frontend_addr", "frontend_port", buf, len);
}

static void snat_backend_cell(const cJSON *row, char *buf, size_t len)
{
	char ep[128];

	endpoint(row, "backend_addr", "backend_port", ep, sizeof(ep));
	snprintf(buf, len, "%s #%llu", ep, xlb_json_get_u64(row, "backend_id", 0));
}

static const struct xlb_col snat_cols[] = {
	{ "PROTO", "proto" },
	{ "NODE", .cell = snat_node_cell },
	{ "CLIENT", .cell = snat_client_cell },
	{ "FRONTEND", .cell = snat_frontend_cell },
	{ "BACKEND", .cell = snat_backend_cell },
	{ "SERVICE", "service" },
	{ "TTL", .cell = ttl_cell },
	{}
};

static int cmp_snat(const void *a, const void *b)
{
	const struct ct_ent *x = a, *y = b;
	int r;

	if (x->k.family != y->k.family)
		return x->k.family - y->k.family;
	r = memcmp(&x->k.daddr, &y->k.daddr, sizeof(x->k.daddr));
	if (r)
		return r;
	if (x->k.dport != y->k.dport)
		return ntohs(x->k.dport) - ntohs(y->k.dport);
	return x->k.proto - y->k.proto;
}

/*
 * A REPLY_SNAT entry is keyed by the backend's reply as it reaches the
 * node (backend -> node addr:SNAT port) and rewrites it to come from the
 * frontend and go to the client: that is the binding of the node's port.
 */
static int do_snat_list(int argc, char **argv)
{
	static const struct xlb_table tables[] = { { .cols = snat_cols }, {} };
	static const struct xlb_view view = { .tables = tables };
	struct ct_filter f = { .port = -1, .proto = -1, .kind = XLB_CT_REPLY_SNAT };
	struct ct_ent *ents = NULL;
	size_t n = 0;
	cJSON *doc;
	bool help;
	__u64 now;
	int err;

	err = no_args(argc, argv, usage_snat, &help);
	if (err || help)
		return err;
	err = open_maps();
	if (!err)
		err = load_metas();
	if (!err)
		err = load_ct(&f, &ents, &n);
	if (err)
		return err;
	qsort(ents, n, sizeof(*ents), cmp_snat);
	now = now_ns();
	doc = cJSON_CreateArray();
	for (size_t i = 0; doc && i < n; i++) {
		const struct xlb_ct_key *k = &ents[i].k;
		const struct xlb_ct *v = &ents[i].v;
		cJSON *row = cJSON_CreateObject();

		if (!row || !cJSON_AddItemToArray(doc, row)) {
			cJSON_Delete(row);
			cJSON_Delete(doc);
			doc = NULL;
			break;
		}
		cJSON_AddStringToObject(row, "proto", proto_str(k->proto));
		add_addr(row, "node_addr", k->family, &k->daddr);
		cJSON_AddNumberToObject(row, "node_port", ntohs(k->dport));
		add_addr(row, "client_addr", k->family, &v->nat_daddr);
		cJSON_AddNumberToObject(row, "client_port", ntohs(v->nat_dport));
		add_addr(row, "frontend_addr", k->family, &v->nat_saddr);
		cJSON_AddNumberToObject(row, "frontend_port", ntohs(v->nat_sport));
		add_addr(row, "backend_addr", k->family, &k->saddr);
		cJSON_AddNumberToObject(row, "backend_port", ntohs(k->sport));
		cJSON_AddNumberToObject(row, "backend_id", v->backend_id);
		cJSON_AddNumberToObject(row, "svc_id", v->svc_id);
		cJSON_AddStringToObject(row, "service", svc_name(v->svc_id));
		add_ttl(row, v->expires_ns, now);
	}
	free(ents);
	return emit(doc, &view);
}

/* ---- stats ---------------------------------------------------------------------- */

static const struct xlb_col reason_cols[] = {
	{ "REASON", "reason" },
	{ "PACKETS", "packets" },
	{ "BYTES", "bytes" },
	{}
};

static const struct xlb_col svc_stat_cols[] = {
	{ "SVC_ID", "svc_id" },
	{ "SERVICE", "name" },
	{ "PACKETS", "packets" },
	{ "BYTES", "bytes" },
	{}
};

static void pool_backend_cell(const cJSON *row, char *buf, size_t len)
{
	endpoint(row, "backend_addr", "backend_port", buf, len);
}

/* SNAT ports in use per (backend endpoint, SNAT address): each is a pool
 * of its own. "unanswered" are those whose backend never replied (an
 * unanswered SYN flood shows there), which are reclaimed first. */
static const struct xlb_col snat_pool_cols[] = {
	{ "BACKEND", .cell = pool_backend_cell },
	{ "PROTO", "proto" },
	{ "SNAT_ADDR", "snat_addr" },
	{ "PORTS_IN_USE", "ports_in_use" },
	{ "UNANSWERED", "unanswered" },
	{}
};

static int cmp_pool(const void *a, const void *b)
{
	const struct ct_ent *x = a, *y = b;
	int r = memcmp(&x->k.saddr, &y->k.saddr, sizeof(x->k.saddr));

	if (r)
		return r;
	if (x->k.sport != y->k.sport)
		return ntohs(x->k.sport) - ntohs(y->k.sport);
	if (x->k.proto != y->k.proto)
		return x->k.proto - y->k.proto;
	return memcmp(&x->k.daddr, &y->k.daddr, sizeof(x->k.daddr));
}

static int add_snat_pools(cJSON *pools)
{
	struct ct_filter f = { .port = -1, .proto = -1, .kind = XLB_CT_REPLY_SNAT };
	struct ct_ent *ents = NULL;
	__u64 now = now_ns();
	size_t n = 0, live = 0;
	int err = load_ct(&f, &ents, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (ents[i].v.expires_ns > now)
			ents[live++] = ents[i];
	qsort(ents, live, sizeof(*ents), cmp_pool);
	for (size_t i = 0; i < live;) {
		const struct xlb_ct_key *k = &ents[i].k;
		size_t j = i, unanswered = 0;
		cJSON *row;

		for (; j < live && !cmp_pool(&ents[i], &ents[j]); j++)
			unanswered += !(ents[j].v.flags & XLB_CT_F_SEEN_REPLY);
		row = cJSON_CreateObject();
		if (!row || !cJSON_AddItemToArray(pools, row)) {
			cJSON_Delete(row);
			free(ents);
			return -ENOMEM;
		}
		add_addr(row, "backend_addr", k->family, &k->saddr);
		cJSON_AddNumberToObject(row, "backend_port", ntohs(k->sport));
		cJSON_AddStringToObject(row, "proto", k->proto == IPPROTO_TCP ? "TCP" :
					k->proto == IPPROTO_UDP ? "UDP" : "?");
		add_addr(row, "snat_addr", k->family, &k->daddr);
		cJSON_AddNumberToObject(row, "ports_in_use", (double)(j - i));
		cJSON_AddNumberToObject(row, "unanswered", (double)unanswered);
		i = j;
	}
	free(ents);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return cmp_u32(*(const __u32 *)a, *(const __u32 *)b);
}

static int do_stats_show(int argc, char **argv)
{
	static const struct xlb_table tables[] = {
		{ "reasons", NULL, reason_cols },
		{ "services", NULL, svc_stat_cols },
		{ "snat_pools", NULL, snat_pool_cols },
		{}
	};
	static const struct xlb_view view = { .tables = tables };
	struct svc_ent *svcs = NULL;
	cJSON *doc, *reasons, *services, *pools;
	size_t n = 0, nids = 0;
	__u32 *ids = NULL;
	bool help;
	int err;

	err = no_args(argc, argv, usage_stats, &help);
	if (err || help)
		return err;
	err = open_maps();
	if (!err)
		err = load_metas();
	if (!err)
		err = load_svcs(&svcs, &n);
	if (err)
		return err;

	/* Services: every svc_id a frontend or the agent's metadata names. */
	ids = calloc(n + n_metas + 1, sizeof(*ids));
	doc = cJSON_CreateObject();
	reasons = cJSON_AddArrayToObject(doc, "reasons");
	services = cJSON_AddArrayToObject(doc, "services");
	pools = cJSON_AddArrayToObject(doc, "snat_pools");
	if (!ids || !reasons || !services || !pools) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		ids[nids++] = svcs[i].v.svc_id;
	for (size_t i = 0; i < n_metas; i++)
		ids[nids++] = metas[i].id;
	qsort(ids, nids, sizeof(*ids), cmp_id);

	for (__u32 r = 0; r < XLB_R_MAX; r++) {
		struct xlb_counter c;
		cJSON *row;

		err = counter_sum(XLB_DPM_REASONS, r, &c);
		if (err)
			goto out;
		row = cJSON_CreateObject();
		if (!row || !cJSON_AddItemToArray(reasons, row)) {
			cJSON_Delete(row);
			err = -ENOMEM;
			goto out;
		}
		cJSON_AddStringToObject(row, "reason", xlb_reason_names[r]);
		xlb_json_add_u64(row, "packets", c.packets);
		xlb_json_add_u64(row, "bytes", c.bytes);
	}
	for (size_t i = 0; i < nids; i++) {
		struct xlb_counter c;
		cJSON *row;

		if (i && ids[i] == ids[i - 1])
			continue;
		err = counter_sum(XLB_DPM_SVC_STATS, ids[i], &c);
		if (err)
			goto out;
		row = cJSON_CreateObject();
		if (!row || !cJSON_AddItemToArray(services, row)) {
			cJSON_Delete(row);
			err = -ENOMEM;
			goto out;
		}
		cJSON_AddNumberToObject(row, "svc_id", ids[i]);
		cJSON_AddStringToObject(row, "name", svc_name(ids[i]));
		xlb_json_add_u64(row, "packets", c.packets);
		xlb_json_add_u64(row, "bytes", c.bytes);
	}
	err = add_snat_pools(pools);
out:
	free(ids);
	free(svcs);
	if (err) {
		cJSON_Delete(doc);
		if (err == -ENOMEM)
			err_msg("out of memory");
		return err;
	}
	return emit(doc, &view);
}

/* ---- maglev ----------------------------------------------------------------------- */

/* A svc_id from a number, or a name in xlb_svc_meta: exact, or an
 * unambiguous prefix ("default/web" when it has one port). */
static int resolve_svc(const char *arg, __u32 *id)
{
	const struct meta_ent *hit = NULL;
	char *end;
	unsigned long v;
	int nhits = 0;
	char list[512] = "";

	if (isdigit((unsigned char)arg[0])) {
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (!*end && !errno && v <= UINT32_MAX) {
			*id = v;
			return 0;
		}
	}
	if (!strncmp(arg, "svc#", 4) && isdigit((unsigned char)arg[4])) {
		v = strtoul(arg + 4, &end, 10);
		if (!*end && v <= UINT32_MAX) {
			*id = v;
			return 0;
		}
	}
	for (size_t i = 0; i < n_metas; i++) {
		if (!strcmp(metas[i].name, arg)) {
			*id = metas[i].id;
			return 0;
		}
	}
	for (size_t i = 0; i < n_metas; i++) {
		if (strncmp(metas[i].name, arg, strlen(arg)))
			continue;
		nhits++;
		hit = &metas[i];
		if (strlen(list) + strlen(metas[i].name) + 3 < sizeof(list)) {
			if (*list)
				strcat(list, ", ");
			strcat(list, metas[i].name);
		}
	}
	if (nhits == 1) {
		*id = hit->id;
		return 0;
	}
	if (nhits > 1)
		err_msg("service '%s' is ambiguous: %s", arg, list);
	else
		err_msg("no service '%s' in %s under %s (see: " PROG " service list)", arg,
			XLB_MAP_SVC_META, pin_dir);
	return nhits > 1 ? -EINVAL : -ENOENT;
}

/* Read table @table_id whole; *ids is malloc'ed. */
static int read_table(__u32 table_id, __u32 **ids, __u32 *m)
{
	int err;

	*ids = NULL;
	err = xlb_dp_table_get(dp, table_id, NULL, m, 0);
	if (err)
		return err;
	*ids = calloc(*m + 1, sizeof(**ids));
	if (!*ids)
		return -ENOMEM;
	err = xlb_dp_table_get(dp, table_id, *ids, m, *m);
	if (err) {
		free(*ids);
		*ids = NULL;
	}
	return err;
}

struct share {
	__u32 id;
	__u32 entries;
};

static int cmp_share(const void *a, const void *b)
{
	return cmp_u32(((const struct share *)a)->id, ((const struct share *)b)->id);
}

/* Entries per backend id, sorted by id; returns how many ids. */
static size_t count_shares(const __u32 *ids, __u32 m, struct share *sh)
{
	__u32 *sorted = malloc(sizeof(*sorted) * (m + 1));
	size_t n = 0;

	if (!sorted)
		return 0;
	memcpy(sorted, ids, sizeof(*sorted) * m);
	qsort(sorted, m, sizeof(*sorted), cmp_id);
	for (__u32 i = 0; i < m; i++) {
		if (n && sh[n - 1].id == sorted[i]) {
			sh[n - 1].entries++;
		} else {
			sh[n].id = sorted[i];
			sh[n].entries = 1;
			n++;
		}
	}
	free(sorted);
	qsort(sh, n, sizeof(*sh), cmp_share);
	return n;
}

static void share_cell(const cJSON *row, char *buf, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "share_pct");

	snprintf(buf, len, "%.2f%%", cJSON_IsNumber(v) ? v->valuedouble : 0.0);
}

static const struct xlb_col maglev_fields[] = {
	{ "service", "name" },
	{ "svc_id", "svc_id" },
	{ "table_id", "table_id" },
	{ "M", "m" },
	{}
};

static const struct xlb_col maglev_be_cols[] = {
	{ "ID", "id" },
	{ "ADDRESS", .cell = be_addr_cell },
	{ "ENTRIES", "entries" },
	{ "SHARE", .cell = share_cell },
	{}
};

static int do_maglev_show(int argc, char **argv)
{
	static const struct xlb_table tables[] = { { "backends", NULL, maglev_be_cols }, {} };
	static const struct xlb_view view = { .fields = maglev_fields, .tables = tables };
	const struct svc_ent *fe = NULL;
	struct svc_ent *svcs = NULL;
	struct share *sh = NULL;
	__u32 *ids = NULL, m = 0, id;
	cJSON *doc = NULL, *arr, *table;
	size_t n = 0, nsh;
	int err;

	if (argc && !strcmp(argv[0], "help")) {
		usage_maglev(stdout);
		return 0;
	}
	if (!argc)
		return usage_error(usage_maglev, "maglev show: which service?");
	if (argc > 1)
		return usage_error(usage_maglev, "unexpected argument '%s'", argv[1]);
	err = open_maps();
	if (!err)
		err = load_metas();
	if (!err)
		err = load_backends();
	if (!err)
		err = resolve_svc(argv[0], &id);
	if (!err)
		err = load_svcs(&svcs, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !fe; i++)
		if (svcs[i].v.svc_id == id)
			fe = &svcs[i];
	if (!fe) {
		err_msg("service %s (svc_id %u) has no frontend in %s", svc_name(id), id,
			XLB_MAP_SVC);
		err = -ENOENT;
		goto out;
	}
	err = read_table(fe->v.table_id, &ids, &m);
	if (err) {
		err_msg("read Maglev table %u of %s from %s: %s", fe->v.table_id,
			svc_name(id), XLB_MAP_MAGLEV, strerror(-err));
		goto out;
	}
	sh = calloc(m + 1, sizeof(*sh));
	err = -ENOMEM;
	if (!sh)
		goto out;
	nsh = count_shares(ids, m, sh);
	if (m && !nsh)
		goto out;

	doc = cJSON_CreateObject();
	if (!doc)
		goto out;
	cJSON_AddStringToObject(doc, "name", svc_name(id));
	cJSON_AddNumberToObject(doc, "svc_id", id);
	cJSON_AddNumberToObject(doc, "table_id", fe->v.table_id);
	cJSON_AddNumberToObject(doc, "m", m);
	arr = cJSON_AddArrayToObject(doc, "backends");
	for (size_t i = 0; arr && i < nsh; i++) {
		const struct be_ent *b = find_backend(sh[i].id);
		cJSON *row = cJSON_CreateObject();

		if (!row || !cJSON_AddItemToArray(arr, row)) {
			cJSON_Delete(row);
			goto out;
		}
		cJSON_AddNumberToObject(row, "id", sh[i].id);
		if (b) {
			add_addr(row, "address", b->b.family, &b->b.addr);
			cJSON_AddNumberToObject(row, "port", ntohs(b->b.port));
		} else {
			/* A table naming a backend that is gone: the datapath
			 * drops with drop_no_table. */
			cJSON_AddNullToObject(row, "address");
			cJSON_AddNullToObject(row, "port");
		}
		cJSON_AddNumberToObject(row, "entries", sh[i].entries);
		cJSON_AddNumberToObject(row, "share_pct",
					(double)(((__u64)sh[i].entries * 10000 + m / 2) / m) / 100);
	}
	table = cJSON_CreateArray();
	if (!table || !cJSON_AddItemToObject(doc, "table", table)) {
		cJSON_Delete(table);
		goto out;
	}
	for (__u32 i = 0; i < m; i++)
		if (!cJSON_AddItemToArray(table, cJSON_CreateNumber(ids[i])))
			goto out;
	err = emit(doc, &view);
	doc = NULL;
out:
	if (err == -ENOMEM)
		err_msg("out of memory");
	cJSON_Delete(doc);
	free(sh);
	free(ids);
	free(svcs);
	return err;
}

static const struct xlb_col maglev_list_cols[] = {
	{ "SVC_ID", "svc_id" },
	{ "NAME", "name" },
	{ "TABLE_ID", "table_id" },
	{ "M", "m" },
	{ "BACKENDS", "backends" },
	{}
};

static int cmp_svc_id_name(const void *a, const void *b)
{
	const struct svc_ent *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : cmp_u32(x->v.svc_id, y->v.svc_id);
}

/* One row per service port with a frontend: its table's size and the
 * distinct backends in it. */
static int do_maglev_list(int argc, char **argv)
{
	static const struct xlb_table tables[] = { { .cols = maglev_list_cols }, {} };
	static const struct xlb_view view = { .tables = tables };
	struct svc_ent *svcs = NULL;
	size_t n = 0;
	cJSON *doc;
	bool help;
	int err;

	err = no_args(argc, argv, usage_maglev, &help);
	if (err || help)
		return err;
	err = open_maps();
	if (!err)
		err = load_metas();
	if (!err)
		err = load_svcs(&svcs, &n);
	if (err)
		return err;
	qsort(svcs, n, sizeof(*svcs), cmp_svc_id_name);
	doc = cJSON_CreateArray();
	for (size_t i = 0; doc && i < n; i++) {
		struct share *sh;
		__u32 *ids, m = 0;
		cJSON *row;

		if (i && svcs[i].v.svc_id == svcs[i - 1].v.svc_id)
			continue;
		row = cJSON_CreateObject();
		if (!row || !cJSON_AddItemToArray(doc, row)) {
			cJSON_Delete(row);
			cJSON_Delete(doc);
			doc = NULL;
			break;
		}
		cJSON_AddNumberToObject(row, "svc_id", svcs[i].v.svc_id);
		cJSON_AddStringToObject(row, "name", svcs[i].name);
		cJSON_AddNumberToObject(row, "table_id", svcs[i].v.table_id);
		if (read_table(svcs[i].v.table_id, &ids, &m)) {
			cJSON_AddNullToObject(row, "m");
			cJSON_AddNullToObject(row, "backends");
			continue;
		}
		sh = calloc(m + 1, sizeof(*sh));
		cJSON_AddNumberToObject(row, "m", m);
		cJSON_AddNumberToObject(row, "backends", sh ? count_shares(ids, m, sh) : 0);
		free(sh);
		free(ids);
	}
	free(svcs);
	return emit(doc, &view);
}

/* ---- explain ------------------------------------------------------------------------- */

/* "ADDR:PORT" (IPv4) */
static int parse_endpoint(const char *s, union xlb_addr *a, __be16 *port)
{
	char buf[64];
	const char *colon = strrchr(s, ':');
	unsigned long p;
	char *end;
	__u8 family;

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", (int)(colon - s), s);
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p > 65535 || parse_addr(buf, &family, a) ||
	    family != XLB_AF_INET)
		return -EINVAL;
	*port = htons((__u16)p);
	return 0;
}

static int parse_tcp_flags(const char *s, __u8 *flags)
{
	static const struct { const char *n; __u8 f; } names[] = {
		{ "fin", 0x01 }, { "syn", 0x02 }, { "rst", 0x04 }, { "psh", 0x08 },
		{ "ack", 0x10 }, { "urg", 0x20 },
	};
	char buf[64], *tok, *save = NULL;

	*flags = 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",|+", &save); tok; tok = strtok_r(NULL, ",|+", &save)) {
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcasecmp(tok, names[i].n))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -EINVAL;
		*flags |= names[i].f;
	}
	return 0;
}

static void tcp_flags_str(__u8 f, char *buf, size_t len)
{
	static const char *const n[] = { "fin", "syn", "rst", "psh", "ack", "urg" };
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < 6; i++)
		if (f & (1 << i))
			o += snprintf(buf + o, len - o, "%s%s", o ? "," : "", n[i]);
}

static const char *xdp_action_str(__u32 a)
{
	static const char *const n[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					 "XDP_REDIRECT" };

	return a < 5 ? n[a] : "?";
}

static const char *reason_str(__u32 r)
{
	return r < XLB_R_MAX ? xlb_reason_names[r] : "?";
}

static void ep_str(const union xlb_addr *a, __be16 port, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s:%u", addr_str(XLB_AF_INET, a, s, sizeof(s)), ntohs(port));
}

/* The default ingress: the lowest-numbered interface xlb serves that
 * exists here (xlb_ifaces lists the agent's --iface interfaces). */
static __u32 default_iface(void)
{
	__u32 key, *prev = NULL, best = 0;
	char name[IF_NAMESIZE];

	while (!bpf_map_get_next_key(map_fd(XLB_DPM_IFACES), prev, &key)) {
		if ((!best || key < best) && if_indextoname(key, name))
			best = key;
		prev = &key;
	}
	return best;
}

/* The headers of the packet explain's run sent: proto, src, dst. */
static void add_out(cJSON *doc, const struct xlb_explain_res *res)
{
	const unsigned char *p = res->out;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], buf[64];
	__u32 l3 = 14, ihl;
	__u16 eth_proto;

	if (res->retval == XDP_DROP || res->out_len < l3 + 20)
		goto none;
	eth_proto = p[12] << 8 | p[13];
	if (eth_proto == 0x8100 || eth_proto == 0x88a8)
		l3 += 4;
	ihl = (p[l3] & 0xf) * 4;
	if (res->out_len < l3 + ihl + 4 || ihl < 20)
		goto none;
	inet_ntop(AF_INET, p + l3 + 12, a, sizeof(a));
	inet_ntop(AF_INET, p + l3 + 16, b, sizeof(b));
	cJSON_AddStringToObject(doc, "out_proto", p[l3 + 9] == 1 ? "icmp" : proto_str(p[l3 + 9]));
	if (p[l3 + 9] == IPPROTO_TCP || p[l3 + 9] == IPPROTO_UDP) {
		const unsigned char *l4 = p + l3 + ihl;

		snprintf(buf, sizeof(buf), "%s:%u", a, l4[0] << 8 | l4[1]);
		cJSON_AddStringToObject(doc, "out_src", buf);
		snprintf(buf, sizeof(buf), "%s:%u", b, l4[2] << 8 | l4[3]);
		cJSON_AddStringToObject(doc, "out_dst", buf);
	} else {
		cJSON_AddStringToObject(doc, "out_src", a);
		cJSON_AddStringToObject(doc, "out_dst", b);
	}
	return;
none:
	cJSON_AddNullToObject(doc, "out_proto");
	cJSON_AddNullToObject(doc, "out_src");
	cJSON_AddNullToObject(doc, "out_dst");
}

static cJSON *explain_doc(const struct xlb_explain_req *r, const struct xlb_explain_res *res)
{
	const struct xlb_trace *t = &res->trace;
	cJSON *doc = cJSON_CreateObject();
	char buf[128], ifn[IF_NAMESIZE];
	const struct be_ent *be;

	if (!doc)
		return NULL;
	cJSON_AddStringToObject(doc, "verdict", xdp_action_str(res->retval));
	cJSON_AddStringToObject(doc, "reason", reason_str(t->reason));
	cJSON_AddStringToObject(doc, "proto", proto_str(r->tuple.proto));
	ep_str(&r->tuple.saddr, r->tuple.sport, buf, sizeof(buf));
	cJSON_AddStringToObject(doc, "src", buf);
	ep_str(&r->tuple.daddr, r->tuple.dport, buf, sizeof(buf));
	cJSON_AddStringToObject(doc, "dst", buf);
	if (r->tuple.proto == IPPROTO_TCP) {
		tcp_flags_str(r->tcp_flags, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "tcp_flags", buf);
	} else {
		cJSON_AddNullToObject(doc, "tcp_flags");
	}
	if (r->ifindex && if_indextoname(r->ifindex, ifn))
		cJSON_AddStringToObject(doc, "iface", ifn);
	else
		cJSON_AddNullToObject(doc, "iface");
	if (t->flags & (XLB_TRACE_F_FRONTEND | XLB_TRACE_F_CT_HIT)) {
		cJSON_AddStringToObject(doc, "service", svc_name(t->svc.svc_id));
		cJSON_AddNumberToObject(doc, "svc_id", t->svc.svc_id);
	} else {
		cJSON_AddNullToObject(doc, "service");
		cJSON_AddNullToObject(doc, "svc_id");
	}
	cJSON_AddBoolToObject(doc, "frontend_matched", !!(t->flags & XLB_TRACE_F_FRONTEND));
	cJSON_AddStringToObject(doc, "conntrack",
				!(t->flags & XLB_TRACE_F_CT_HIT) ? "miss" :
				(t->flags & XLB_TRACE_F_NEW_FLOW) ? "hit, flow re-balanced" : "hit");
	cJSON_AddBoolToObject(doc, "new_flow", !!(t->flags & XLB_TRACE_F_NEW_FLOW));
	cJSON_AddStringToObject(doc, "choice",
				t->choice == XLB_CHOICE_CONNTRACK ? "conntrack" :
				t->choice == XLB_CHOICE_AFFINITY ? "affinity" :
				t->choice == XLB_CHOICE_MAGLEV ? "maglev" : "none");
	if (t->choice == XLB_CHOICE_MAGLEV) {
		cJSON_AddNumberToObject(doc, "maglev_slot", t->slot);
		cJSON_AddNumberToObject(doc, "maglev_size", t->svc.maglev_size);
		cJSON_AddNumberToObject(doc, "hash", t->hash);
	} else {
		cJSON_AddNullToObject(doc, "maglev_slot");
		cJSON_AddNullToObject(doc, "maglev_size");
		cJSON_AddNullToObject(doc, "hash");
	}
	be = t->choice != XLB_CHOICE_NONE ? find_backend(t->backend_id) : NULL;
	if (t->choice != XLB_CHOICE_NONE)
		cJSON_AddNumberToObject(doc, "backend_id", t->backend_id);
	else
		cJSON_AddNullToObject(doc, "backend_id");
	if (be) {
		ep_str(&be->b.addr, be->b.port, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "backend", buf);
		cJSON_AddBoolToObject(doc, "backend_local", !!(be->b.flags & XLB_BE_F_LOCAL));
	} else if (t->flags & XLB_TRACE_F_REWRITE) {
		/* A conntrack entry whose backend left: its rewrite says where. */
		ep_str(&t->ct.nat_daddr, t->ct.nat_dport, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "backend", buf);
		cJSON_AddNullToObject(doc, "backend_local");
	} else {
		cJSON_AddNullToObject(doc, "backend");
		cJSON_AddNullToObject(doc, "backend_local");
	}
	if (t->flags & XLB_TRACE_F_REWRITE) {
		cJSON_AddStringToObject(doc, "ct_kind", kind_str(t->ct.kind));
		ep_str(&t->ct.nat_saddr, t->ct.nat_sport, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "rewrite_src", buf);
		ep_str(&t->ct.nat_daddr, t->ct.nat_dport, buf, sizeof(buf));
		cJSON_AddStringToObject(doc, "rewrite_dst", buf);
	} else {
		cJSON_AddNullToObject(doc, "ct_kind");
		cJSON_AddNullToObject(doc, "rewrite_src");
		cJSON_AddNullToObject(doc, "rewrite_dst");
	}
	add_out(doc, res);
	cJSON_AddBoolToObject(doc, "conntrack_copied", res->ct_seeded);
	cJSON_AddBoolToObject(doc, "peer_copied", res->peer_seeded);
	cJSON_AddBoolToObject(doc, "affinity_copied", res->affinity_seeded);
	cJSON_AddBoolToObject(doc, "snat_port_illustrative",
			      (t->flags & XLB_TRACE_F_NEW_FLOW) && t->ct.kind == XLB_CT_FWD_REMOTE);
	return doc;
}

static const struct xlb_col explain_fields[] = {
	{ "verdict", "verdict" },
	{ "reason", "reason" },
	{ "packet", .cell = NULL, .key = "proto" },
	{ "src", "src" },
	{ "dst", "dst" },
	{ "tcp flags", "tcp_flags" },
	{ "iface", "iface" },
	{ "service", "service" },
	{ "frontend matched", "frontend_matched" },
	{ "conntrack", "conntrack" },
	{ "backend chosen by", "choice" },
	{ "maglev slot", "maglev_slot" },
	{ "maglev size", "maglev_size" },
	{ "backend id", "backend_id" },
	{ "backend", "backend" },
	{ "backend local", "backend_local" },
	{ "ct kind", "ct_kind" },
	{ "rewrite src", "rewrite_src" },
	{ "rewrite dst", "rewrite_dst" },
	{ "out", "out_proto" },
	{ "out src", "out_src" },
	{ "out dst", "out_dst" },
	{}
};

static void usage_explain(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " explain PROTO SRC:PORT DST:PORT [--iface IF] [--flags F[,F...]]\n"
		"PROTO := { tcp | udp }   F := { syn | ack | fin | rst | psh | urg } (default syn)\n"
		"  Runs the live XDP program (BPF_PROG_TEST_RUN) on this packet in a private\n"
		"  instance: it reads the live service, backend and Maglev maps and a copy of\n"
		"  the flow's conntrack and affinity entries, and writes no live map. Prints\n"
		"  the verdict, reason, frontend, backend and why, and the rewrite. A SNAT\n"
		"  port shown is one free in the copy; the live datapath may pick another.\n"
		"  --iface: ingress interface (default: the first one xlb serves here).\n");
}

static int do_explain(int argc, char **argv)
{
	static const struct xlb_view view = { .fields = explain_fields };
	struct xlb_explain_req r = { .pin_dir = pin_dir, .tcp_flags = 0x02 };
	struct xlb_explain_res res;
	const char *iface = NULL;
	char msg[512];
	int pos = 0, err;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "help")) {
			usage_explain(stdout);
			return 0;
		}
		if (!strcmp(a, "--iface") || !strcmp(a, "--flags")) {
			if (i + 1 >= argc)
				return usage_error(usage_explain, "%s needs a value", a);
			if (a[2] == 'i')
				iface = argv[++i];
			else if (parse_tcp_flags(argv[++i], &r.tcp_flags))
				return usage_error(usage_explain, "--flags: '%s': want syn,ack,fin,rst,psh,urg",
						   argv[i]);
			continue;
		}
		switch (pos++) {
		case 0:
			if (!strcasecmp(a, "tcp"))
				r.tuple.proto = IPPROTO_TCP;
			else if (!strcasecmp(a, "udp"))
				r.tuple.proto = IPPROTO_UDP;
			else
				return usage_error(usage_explain, "'%s': want tcp or udp", a);
			break;
		case 1:
		case 2:
			if (parse_endpoint(a, pos == 2 ? &r.tuple.saddr : &r.tuple.daddr,
					   pos == 2 ? &r.tuple.sport : &r.tuple.dport))
				return usage_error(usage_explain, "'%s': want IPv4ADDR:PORT", a);
			break;
		default:
			return usage_error(usage_explain, "unexpected argument '%s'", a);
		}
	}
	if (pos < 3)
		return usage_error(usage_explain, "want PROTO SRC:PORT DST:PORT");
	r.tuple.family = XLB_AF_INET;
	if (r.tuple.proto != IPPROTO_TCP)
		r.tcp_flags = 0;
	err = open_maps();
	if (!err)
		err = load_metas();
	if (!err)
		err = load_backends();
	if (err)
		return err;
	if (iface) {
		r.ifindex = if_nametoindex(iface);
		if (!r.ifindex) {
			err_msg("interface %s: %s", iface, strerror(errno));
			return -errno;
		}
	} else {
		r.ifindex = default_iface();
	}
	err = xlb_explain_run(&r, &res, msg, sizeof(msg));
	if (err) {
		err_msg("%s", msg);
		return err;
	}
	return emit(explain_doc(&r, &res), &view);
}

/* ---- monitor ------------------------------------------------------------------------- */

static volatile sig_atomic_t mon_stop;

static void mon_signal(int sig)
{
	mon_stop = 1;
}

struct mon_ctx {
	__u32 *svc_ids;		/* --service: ids that match; NULL: any */
	size_t n_svc_ids;
	bool have_addr;
	__be32 addr;		/* --addr */
	long count, seen;	/* --count: stop after this many; 0: never */
};

static bool mon_match(const struct mon_ctx *m, const struct xlb_event *e)
{
	if (m->svc_ids) {
		size_t i;

		for (i = 0; i < m->n_svc_ids && m->svc_ids[i] != e->svc_id; i++)
			;
		if (i == m->n_svc_ids)
			return false;
	}
	if (m->have_addr && e->orig.saddr.v4 != m->addr && e->orig.daddr.v4 != m->addr &&
	    e->out.saddr.v4 != m->addr && e->out.daddr.v4 != m->addr)
		return false;
	return true;
}

static void tuple_str(const struct xlb_ct_key *k, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &k->saddr.v4, a, sizeof(a));
	inet_ntop(AF_INET, &k->daddr.v4, b, sizeof(b));
	if (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP)
		snprintf(buf, len, "%s:%u -> %s:%u", a, ntohs(k->sport), b, ntohs(k->dport));
	else
		snprintf(buf, len, "%s -> %s", a, b);
}

static cJSON *event_doc(const struct xlb_event *e)
{
	cJSON *o = cJSON_CreateObject(), *t;
	char ifn[IF_NAMESIZE], buf[INET_ADDRSTRLEN];
	const struct xlb_ct_key *ks[2] = { &e->orig, &e->out };
	const char *names[2] = { "orig", "out" };

	if (!o)
		return NULL;
	xlb_json_add_u64(o, "ts_ns", e->ts_ns);
	cJSON_AddNumberToObject(o, "cpu", e->cpu);
	cJSON_AddStringToObject(o, "hook", e->hook == XLB_EV_XDP ? "xdp" :
				e->hook == XLB_EV_TC ? "tc" : "tc_egress");
	cJSON_AddNumberToObject(o, "ifindex", e->ifindex);
	if (if_indextoname(e->ifindex, ifn))
		cJSON_AddStringToObject(o, "iface", ifn);
	else
		cJSON_AddNullToObject(o, "iface");
	cJSON_AddStringToObject(o, "reason", reason_str(e->reason));
	cJSON_AddStringToObject(o, "action", e->hook == XLB_EV_XDP ? xdp_action_str(e->action) :
				e->action == TC_ACT_SHOT ? "TC_ACT_SHOT" :
				e->action == TC_ACT_REDIRECT ? "TC_ACT_REDIRECT" : "TC_ACT_OK");
	if (e->svc_id == XLB_EVENT_NO_SVC) {
		cJSON_AddNullToObject(o, "service");
		cJSON_AddNullToObject(o, "svc_id");
	} else {
		cJSON_AddStringToObject(o, "service", svc_name(e->svc_id));
		cJSON_AddNumberToObject(o, "svc_id", e->svc_id);
	}
	for (int i = 0; i < 2; i++) {
		const struct xlb_ct_key *k = ks[i];

		t = cJSON_AddObjectToObject(o, names[i]);
		if (!t)
			break;
		cJSON_AddStringToObject(t, "proto", k->proto == 1 ? "icmp" : proto_str(k->proto));
		cJSON_AddStringToObject(t, "saddr", inet_ntop(AF_INET, &k->saddr.v4, buf, sizeof(buf)));
		cJSON_AddNumberToObject(t, "sport", ntohs(k->sport));
		cJSON_AddStringToObject(t, "daddr", inet_ntop(AF_INET, &k->daddr.v4, buf, sizeof(buf)));
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
	       xlb_json_get_str(o, "action"), proto_str(e->orig.proto), orig,
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
	if (out == XLB_OUT_TABLE) {
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

static void usage_monitor(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " monitor [--reason NAME]... [--all] [--service SVC] [--addr ADDR]\n"
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

static int do_monitor(int argc, char **argv)
{
	struct xlb_monitor_cfg cfg = { .rate = 1000, .burst = 1000 };
	static const struct xlb_monitor_cfg off;
	struct mon_ctx m = { 0 };
	struct ring_buffer *rb = NULL;
	const char *svc = NULL;
	bool all = false;
	__u64 mask = 0;
	int err;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "help")) {
			usage_monitor(stdout);
			return 0;
		}
		if (!strcmp(a, "--all")) {
			all = true;
			continue;
		}
		if (!v)
			return usage_error(usage_monitor, "unexpected argument '%s'", a);
		i++;
		if (!strcmp(a, "--reason")) {
			int r;

			for (r = 0; r < XLB_R_MAX && strcmp(xlb_reason_names[r], v); r++)
				;
			if (r == XLB_R_MAX)
				return usage_error(usage_monitor, "--reason: unknown reason '%s' (see xlbctl stats)", v);
			mask |= 1ull << r;
		} else if (!strcmp(a, "--service")) {
			svc = v;
		} else if (!strcmp(a, "--addr")) {
			__u8 family;
			union xlb_addr ad;

			if (parse_addr(v, &family, &ad) || family != XLB_AF_INET)
				return usage_error(usage_monitor, "--addr: '%s' is not an IPv4 address", v);
			m.have_addr = true;
			m.addr = ad.v4;
		} else if (!strcmp(a, "--rate") || !strcmp(a, "--count")) {
			char *end;
			long n = strtol(v, &end, 10);

			if (!*v || *end || n < 1 || n > 10000000)
				return usage_error(usage_monitor, "%s: '%s' is not a count", a, v);
			if (a[2] == 'r')
				cfg.rate = cfg.burst = n;
			else
				m.count = n;
		} else {
			return usage_error(usage_monitor, "unexpected argument '%s'", a);
		}
	}
	if (!mask) {
		for (int r = 0; r < XLB_R_MAX; r++)
			if (all || !strncmp(xlb_reason_names[r], "drop_", 5) ||
			    !strncmp(xlb_reason_names[r], "reject_", 7))
				mask |= 1ull << r;
	}
	cfg.reason_mask = mask;
	err = open_maps();
	if (!err)
		err = load_metas();
	if (err)
		return err;
	if (svc) {
		char *end;
		unsigned long id = strtoul(svc, &end, 10);

		m.svc_ids = calloc(n_metas + 1, sizeof(*m.svc_ids));
		if (!m.svc_ids)
			return -ENOMEM;
		if (*svc && !*end)
			m.svc_ids[m.n_svc_ids++] = id;
		for (size_t i = 0; i < n_metas; i++)
			if (!strncmp(metas[i].name, svc, strlen(svc)))
				m.svc_ids[m.n_svc_ids++] = metas[i].id;
		if (!m.n_svc_ids) {
			free(m.svc_ids);
			err_msg("--service %s: no such service port", svc);
			return -ENOENT;
		}
	}
	rb = ring_buffer__new(map_fd(XLB_DPM_EVENTS), mon_event, &m, NULL);
	if (!rb) {
		err = -errno;
		err_msg("open the event ring %s: %s", XLB_MAP_EVENTS, strerror(-err));
		goto out;
	}
	signal(SIGINT, mon_signal);
	signal(SIGTERM, mon_signal);
	signal(SIGPIPE, mon_signal);
	err = xlb_dp_monitor_set(dp, &cfg);
	if (err) {
		err_msg("switch the monitor on (%s): %s", XLB_MAP_MONITOR, strerror(-err));
		goto out;
	}
	if (out == XLB_OUT_TABLE)
		fprintf(stderr, PROG ": monitoring, Ctrl-C to stop\n");
	while (!mon_stop) {
		int n = ring_buffer__poll(rb, 200);

		if (n < 0 && n != -EINTR) {
			err = n;
			err_msg("read events: %s", strerror(-n));
			break;
		}
	}
	/* Off first, then take what is already in the ring. */
	xlb_dp_monitor_set(dp, &off);
	if (!m.count || m.seen < m.count)
		ring_buffer__consume(rb);
out:
	ring_buffer__free(rb);
	free(m.svc_ids);
	return err;
}

/* ---- dispatch ------------------------------------------------------------------------ */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

/*
 * Run the command @argv[0] names: exactly, or as a prefix of one command
 * (aliases of one handler count once). An empty argv runs @def; so does
 * one that starts with an option, for `xlbctl ct --proto tcp`.
 */
static int dispatch(const char *what, const struct cmd *cmds, int (*def)(int, char **),
		    void (*use)(FILE *), int argc, char **argv)
{
	int (*fn)(int, char **) = NULL;
	char names[256] = "";
	bool ambiguous = false;

	if (!argc || (def && argv[0][0] == '-'))
		return def ? def(argc, argv) : usage_error(use, "%s: missing command", what);
	for (const struct cmd *c = cmds; c->name; c++)
		if (!strcmp(c->name, argv[0]))
			return c->fn(argc - 1, argv + 1);
	for (const struct cmd *c = cmds; c->name; c++) {
		if (strncmp(c->name, argv[0], strlen(argv[0])))
			continue;
		if (fn && fn != c->fn)
			ambiguous = true;
		fn = c->fn;
		if (strlen(names) + strlen(c->name) + 3 < sizeof(names)) {
			if (*names)
				strcat(names, ", ");
			strcat(names, c->name);
		}
	}
	if (ambiguous)
		return usage_error(use, "'%s' is ambiguous: %s", argv[0], names);
	if (!fn)
		return usage_error(use, "unknown %s '%s'", what, argv[0]);
	return fn(argc - 1, argv + 1);
}

static int help_service(int argc, char **argv) { usage_service(stdout); return 0; }
static int help_backend(int argc, char **argv) { usage_backend(stdout); return 0; }
static int help_ct(int argc, char **argv) { usage_ct(stdout); return 0; }
static int help_snat(int argc, char **argv) { usage_snat(stdout); return 0; }
static int help_stats(int argc, char **argv) { usage_stats(stdout); return 0; }
static int help_maglev(int argc, char **argv) { usage_maglev(stdout); return 0; }
static int help_vip(int argc, char **argv) { usage_vip(stdout); return 0; }

static int do_vip(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", do_vip_list }, { "show", do_vip_list },
		{ "help", help_vip }, {}
	};
	return dispatch("vip command", cmds, do_vip_list, usage_vip, argc, argv);
}

static int do_service(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", do_service_list }, { "show", do_service_list },
		{ "help", help_service }, {}
	};
	return dispatch("service command", cmds, do_service_list, usage_service, argc, argv);
}

static int do_backend(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", do_backend_list }, { "show", do_backend_list },
		{ "help", help_backend }, {}
	};
	return dispatch("backend command", cmds, do_backend_list, usage_backend, argc, argv);
}

static int do_ct(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", do_ct_list }, { "show", do_ct_list },
		{ "help", help_ct }, {}
	};
	return dispatch("ct command", cmds, do_ct_list, usage_ct, argc, argv);
}

static int do_snat(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", do_snat_list }, { "show", do_snat_list },
		{ "help", help_snat }, {}
	};
	return dispatch("snat command", cmds, do_snat_list, usage_snat, argc, argv);
}

static int do_stats(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_stats_show }, { "list", do_stats_show },
		{ "help", help_stats }, {}
	};
	return dispatch("stats command", cmds, do_stats_show, usage_stats, argc, argv);
}

static int do_maglev(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "show", do_maglev_show }, { "list", do_maglev_list },
		{ "help", help_maglev }, {}
	};
	return dispatch("maglev command", cmds, do_maglev_list, usage_maglev, argc, argv);
}

static const struct cmd objects[] = {
	{ "service", do_service }, { "svc", do_service },
	{ "backend", do_backend },
	{ "ct", do_ct }, { "conntrack", do_ct },
	{ "snat", do_snat },
	{ "stats", do_stats },
	{ "maglev", do_maglev },
	{ "vip", do_vip },
	{ "monitor", do_monitor },
	{ "explain", do_explain },
	{ "help", do_help },
	{}
};

/*
 * Global options may stand anywhere (`xlbctl ct list -j`): take them out
 * first and leave the rest, in order, to the commands. -h/--help become the
 * `help` keyword of the level they stand at.
 */
static int take_global_opts(int *argc, char **argv)
{
	int n = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			while (++i < *argc)
				argv[n++] = argv[i];
			break;
		}
		if (!strcmp(a, "--json")) {
			if (out == XLB_OUT_TABLE)
				out = XLB_OUT_JSON;
		} else if (!strcmp(a, "--pretty")) {
			out = XLB_OUT_JSON_PRETTY;
		} else if (a[0] == '-' && a[1] && strspn(a + 1, "jp") == strlen(a + 1)) {
			/* -j, -p, -jp */
			if (strchr(a, 'p'))
				out = XLB_OUT_JSON_PRETTY;
			else if (out == XLB_OUT_TABLE)
				out = XLB_OUT_JSON;
		} else if (!strcmp(a, "--pin-dir")) {
			if (i + 1 >= *argc)
				return usage_error(usage, "--pin-dir needs a directory");
			pin_dir = argv[++i];
		} else if (!strncmp(a, "--pin-dir=", 10)) {
			pin_dir = a + 10;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			argv[n++] = "help";
		} else {
			argv[n++] = argv[i];
		}
	}
	*argc = n;
	argv[n] = NULL;
	return 0;
}

int main(int argc, char **argv)
{
	int err;

	xlb_log_set_level(XLB_LOG_WARN);
	xlb_log_hook_libs();

	err = take_global_opts(&argc, argv);
	if (!err) {
		if (argc < 2)
			err = usage_error(usage, "missing OBJECT");
		else
			err = dispatch("object", objects, NULL, usage, argc - 1, argv + 1);
	}
	xlb_dp_close(dp);
	free(metas);
	free(bes);
	if (fflush(stdout) && !err) {
		fprintf(stderr, PROG ": write output: %s\n", strerror(errno));
		err = -EIO;
	}
	if (!err)
		return 0;
	return usage_failed ? 2 : 1;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xlbctl against a real datapath: load the programs with their maps pinned
 * on a private bpffs, write a small cluster's worth of entries, then run
 * the built `xlbctl -j ...` and check what it prints. The binary is
 * build/xlbctl relative to the repo root (where selftests/run.sh runs),
 * or $XLBCTL. XLBCTL_TEST_VERBOSE=1 logs the table output too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <cjson/cJSON.h>

#include <xlb/abi.h>
#include "datapath.h"
#include "maglev.h"
#include "../lib/xtest.h"
#include "lib/util.h"

static char tmp_dir[] = "/tmp/xlbctl-test.XXXXXX";
static bool have_tmp, mounted;
static char pin_dir[sizeof(tmp_dir) + 8];
static struct xlb_dp *dp;
static const char *xlbctl;
static char setup_err[256]; /* why there is no datapath: tests fail with it */

/* ---- the fixture ---------------------------------------------------------- */

#define SVC_WEB	 1 /* default/web:http/TCP: VIP :80 and NodePort 30080 */
#define SVC_DNS	 2 /* default/dns:dns/UDP: VIP :53, ETP Local */
#define SVC_API	 3 /* kube-system/api:https/TCP: IPv6 VIP :443 */
#define SVC_ANON 7 /* a frontend without metadata or table */
#define M	 251u

static union xlb_addr a4(const char *s)
{
	union xlb_addr a = {};

	inet_pton(AF_INET, s, &a.v4);
	return a;
}

static union xlb_addr a6(const char *s)
{
	union xlb_addr a = {};

	inet_pton(AF_INET6, s, a.bytes);
	return a;
}

static int put_meta(__u32 id, const char *name, __u32 flags)
{
	struct xlb_svc_meta m = { .flags = flags, .n_frontends = 1 };

	snprintf(m.name, sizeof(m.name), "%s", name);
	return xlb_dp_svc_meta_set(dp, id, &m);
}

static int put_backend(__u32 id, __u8 family, union xlb_addr addr, __u16 port, bool local,
		       __u32 svc_id)
{
	struct xlb_backend b = {
		.addr = addr,
		.port = htons(port),
		.family = family,
		.flags = local ? XLB_BE_F_LOCAL : 0,
		.svc_id = svc_id,
	};

	return xlb_dp_backend_set(dp, id, &b);
}

static int put_svc(__u8 family, union xlb_addr addr, __u16 port, __u8 proto, __u8 scope,
		   __u32 svc_id, __u32 table_id, __u16 n, __u16 total, __u32 flags)
{
	struct xlb_svc_key k = {
		.addr = addr,
		.port = htons(port),
		.proto = proto,
		.family = family,
		.scope = scope,
	};
	struct xlb_svc v = {
		.svc_id = svc_id,
		.table_id = table_id,
		.maglev_size = M,
		.backend_count = n,
		.total_count = total,
		.flags = flags,
	};

	return xlb_dp_svc_set(dp, &k, &v);
}

static int put_ct(__u8 family, __u8 proto, union xlb_addr s, __u16 sp, union xlb_addr d, __u16 dp_,
		  union xlb_addr ns, __u16 nsp, union xlb_addr nd, __u16 ndp, __u8 kind, __u8 flags,
		  __u32 svc_id, __u32 be_id, __u64 expires)
{
	struct xlb_ct_key k = {
		.saddr = s,
		.daddr = d,
		.sport = htons(sp),
		.dport = htons(dp_),
		.proto = proto,
		.family = family,
	};
	struct xlb_ct v = {
		.nat_saddr = ns,
		.nat_daddr = nd,
		.nat_sport = htons(nsp),
		.nat_dport = htons(ndp),
		.kind = kind,
		.flags = flags,
		.svc_id = svc_id,
		.backend_id = be_id,
		.expires_ns = expires,
	};

	return bpf_map_update_elem(xlb_dp_map_fd_rw(dp, XLB_DPM_CT), &k, &v, BPF_ANY) ? -errno : 0;
}

/* Per-CPU counter: CPU c holds (c + 1) * (packets, bytes), so the sum over
 * n CPUs is n(n+1)/2 times that. */
static int put_counter(enum xlb_dp_map m, __u32 key, __u64 packets, __u64 bytes)
{
	int ncpus = xlb_dp_ncpus(), err;
	struct xlb_counter *v = calloc(ncpus, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (int c = 0; c < ncpus; c++) {
		v[c].packets = packets * (c + 1);
		v[c].bytes = bytes * (c + 1);
	}
	err = bpf_map_update_elem(xlb_dp_map_fd_rw(dp, m), &key, v, BPF_ANY) ? -errno : 0;
	free(v);
	return err;
}

static __u64 cpu_sum(__u64 x)
{
	__u64 n = xlb_dp_ncpus();

	return x * n * (n + 1) / 2;
}

static int put_table(__u32 table_id, const char *const *keys, const __u32 *ids, size_t n)
{
	struct maglev_backend be[8];
	__u32 table[M];
	int err;

	for (size_t i = 0; i < n; i++) {
		be[i].key = keys[i];
		be[i].key_len = strlen(keys[i]);
		be[i].id = ids[i];
	}
	err = maglev_build(be, n, M, table);
	return err ? err : xlb_dp_table_set(dp, table_id, table, M);
}

static __u64 now_at_fixture;

static int write_fixture(void)
{
	static const char *const web_keys[] = { "10.244.1.5:8080", "10.244.2.7:8080",
						"10.244.2.8:8080" };
	static const __u32 web_ids[] = { 101, 102, 103 };
	static const char *const dns_keys[] = { "10.244.1.9:53" };
	static const __u32 dns_ids[] = { 201 };
	static const char *const api_keys[] = { "[fd00::5]:8443" };
	static const __u32 api_ids[] = { 301 };
	union xlb_addr none = {};
	__u64 now = now_at_fixture = xlb_mono_ns();
	int err = 0;

	err = err ?: put_meta(SVC_WEB, "default/web:http/TCP", 0);
	err = err ?: put_meta(SVC_DNS, "default/dns:dns/UDP", XLB_SVC_F_ETP_LOCAL);
	err = err ?: put_meta(SVC_API, "kube-system/api:https/TCP", 0);

	/* Backends before the tables naming them, tables before services. */
	err = err ?: put_backend(101, XLB_AF_INET, a4("10.244.1.5"), 8080, true, SVC_WEB);
	err = err ?: put_backend(102, XLB_AF_INET, a4("10.244.2.7"), 8080, false, SVC_WEB);
	err = err ?: put_backend(103, XLB_AF_INET, a4("10.244.2.8"), 8080, false, SVC_WEB);
	err = err ?: put_backend(201, XLB_AF_INET, a4("10.244.1.9"), 53, true, SVC_DNS);
	err = err ?: put_backend(301, XLB_AF_INET6, a6("fd00::5"), 8443, true, SVC_API);
	err = err ?: put_table(SVC_WEB, web_keys, web_ids, 3);
	err = err ?: put_table(SVC_DNS, dns_keys, dns_ids, 1);
	err = err ?: put_table(SVC_API, api_keys, api_ids, 1);

	err = err   ?:
		      put_svc(XLB_AF_INET, a4("192.0.2.10"), 80, IPPROTO_TCP, XLB_SCOPE_VIP,
			      SVC_WEB, SVC_WEB, 3, 3, 0);
	err = err   ?:
		      put_svc(XLB_AF_INET, none, 30080, IPPROTO_TCP, XLB_SCOPE_NODEPORT, SVC_WEB,
			      SVC_WEB, 3, 3, 0);
	err = err   ?:
		      put_svc(XLB_AF_INET, a4("192.0.2.10"), 53, IPPROTO_UDP, XLB_SCOPE_VIP,
			      SVC_DNS, SVC_DNS, 1, 2, XLB_SVC_F_ETP_LOCAL);
	err = err   ?:
		      put_svc(XLB_AF_INET6, a6("2001:db8::10"), 443, IPPROTO_TCP, XLB_SCOPE_VIP,
			      SVC_API, SVC_API, 1, 1, 0);
	err = err   ?:
		      put_svc(XLB_AF_INET, a4("192.0.2.20"), 8080, IPPROTO_TCP, XLB_SCOPE_VIP,
			      SVC_ANON, SVC_ANON, 0, 0, 0);

	/* A remote flow: client -> VIP, DNAT+SNAT to 10.244.2.7 from the
	 * node's 10.0.0.1:61000, and the reply entry of that binding. */
	err = err   ?:
		      put_ct(XLB_AF_INET, IPPROTO_TCP, a4("198.51.100.7"), 40000, a4("192.0.2.10"),
			     80, a4("10.0.0.1"), 61000, a4("10.244.2.7"), 8080, XLB_CT_FWD_REMOTE,
			     XLB_CT_F_ESTABLISHED, SVC_WEB, 102, now + 100 * 1000000000ull);
	err = err   ?:
		      put_ct(XLB_AF_INET, IPPROTO_TCP, a4("10.244.2.7"), 8080, a4("10.0.0.1"),
			     61000, a4("192.0.2.10"), 80, a4("198.51.100.7"), 40000,
			     XLB_CT_REPLY_SNAT, XLB_CT_F_ESTABLISHED | XLB_CT_F_SEEN_REPLY, SVC_WEB,
			     102, now + 100 * 1000000000ull);
	/* A local flow through the NodePort, reset. */
	err = err   ?:
		      put_ct(XLB_AF_INET, IPPROTO_TCP, a4("198.51.100.8"), 40001, a4("10.0.0.1"),
			     30080, a4("198.51.100.8"), 40001, a4("10.244.1.5"), 8080,
			     XLB_CT_FWD_LOCAL, XLB_CT_F_ESTABLISHED | XLB_CT_F_RST, SVC_WEB, 101,
			     now + 10 * 1000000000ull);
	err = err   ?:
		      put_ct(XLB_AF_INET, IPPROTO_TCP, a4("10.244.1.5"), 8080, a4("198.51.100.8"),
			     40001, a4("10.0.0.1"), 30080, a4("198.51.100.8"), 40001,
			     XLB_CT_REPLY_LOCAL, XLB_CT_F_ESTABLISHED | XLB_CT_F_RST, SVC_WEB, 101,
			     now + 10 * 1000000000ull);
	/* An expired UDP flow. */
	err = err   ?:
		      put_ct(XLB_AF_INET, IPPROTO_UDP, a4("198.51.100.9"), 5353, a4("192.0.2.10"),
			     53, a4("198.51.100.9"), 5353, a4("10.244.1.9"), 53, XLB_CT_FWD_LOCAL,
			     0, SVC_DNS, 201, now - 1000000000ull);
	/* An IPv6 flow. */
	err = err   ?:
		      put_ct(XLB_AF_INET6, IPPROTO_TCP, a6("2001:db8::99"), 50000,
			     a6("2001:db8::10"), 443, a6("2001:db8::99"), 50000, a6("fd00::5"),
			     8443, XLB_CT_FWD_LOCAL, 0, SVC_API, 301, now + 60 * 1000000000ull);

	err = err ?: put_counter(XLB_DPM_SVC_STATS, SVC_WEB, 10, 1000);
	err = err ?: put_counter(XLB_DPM_SVC_STATS, SVC_DNS, 3, 240);
	err = err ?: put_counter(XLB_DPM_REASONS, XLB_R_FWD_REMOTE, 7, 700);
	err = err ?: put_counter(XLB_DPM_REASONS, XLB_R_PASS_NOT_IP, 2, 120);
	return err;
}

int xt_setup(void)
{
	struct xlb_dp_opts o = {
		.cfg = (struct xlb_cfg)XLB_CFG_DEFAULT,
		.max_ct = 1024,
		.max_tables = 64,
		.max_services = 64,
		.max_backends = 64,
	};
	int err;

	xlbctl = getenv("XLBCTL") ?: "build/xlbctl";
	if (access(xlbctl, X_OK)) {
		snprintf(setup_err, sizeof(setup_err),
			 "%s: %s (run from the repo root after "
			 "make build/xlbctl, or set XLBCTL)",
			 xlbctl, strerror(errno));
		return 0;
	}
	if (!mkdtemp(tmp_dir)) {
		snprintf(setup_err, sizeof(setup_err), "mkdtemp: %s", strerror(errno));
		return 0;
	}
	have_tmp = true;
	/* A mount namespace of our own (inherited by xlbctl): the bpffs goes
	 * away with us even if we crash before xt_teardown(). */
	if (!unshare(CLONE_NEWNS))
		mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (mount("bpf", tmp_dir, "bpf", 0, "mode=0700")) {
		snprintf(setup_err, sizeof(setup_err), "mount bpffs on %s: %s", tmp_dir,
			 strerror(errno));
		return 0;
	}
	mounted = true;
	snprintf(pin_dir, sizeof(pin_dir), "%s/xlb", tmp_dir);
	o.pin_dir = pin_dir;
	dp = xlb_dp_load(&o);
	if (!dp) {
		snprintf(setup_err, sizeof(setup_err), "load datapath under %s: %s", pin_dir,
			 strerror(errno));
		return 0;
	}
	err = write_fixture();
	if (err)
		snprintf(setup_err, sizeof(setup_err), "write fixture: %s", strerror(-err));
	return 0;
}

void xt_teardown(void)
{
	xlb_dp_close(dp);
	dp = NULL;
	if (mounted && umount2(tmp_dir, MNT_DETACH))
		fprintf(stderr, "umount %s: %s\n", tmp_dir, strerror(errno));
	if (have_tmp && rmdir(tmp_dir))
		fprintf(stderr, "rmdir %s: %s\n", tmp_dir, strerror(errno));
}

static bool ready(void)
{
	return ASSERT_TRUE(!setup_err[0], setup_err[0] ? setup_err : "setup");
}

/* ---- running xlbctl ----------------------------------------------------------- */

struct run {
	char *out;   /* stdout (and stderr with @merge) */
	int status;  /* exit status, -1 when it did not exit */
	cJSON *json; /* stdout parsed, or NULL */
};

static void run_free(struct run *r)
{
	free(r->out);
	cJSON_Delete(r->json);
	memset(r, 0, sizeof(*r));
}

/* Run `xlbctl --pin-dir PIN ARGS`; stderr dropped unless @merge. */
static struct run run_ex(const char *pin, bool merge, const char *args)
{
	struct run r = { .status = -1 };
	size_t len = 0, cap = 4096;
	char cmd[1024];
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --pin-dir %s %s %s", xlbctl, pin, args,
		 merge ? "2>&1" : "2>/dev/null");
	r.out = malloc(cap);
	p = popen(cmd, "r");
	if (!p || !r.out)
		return r;
	for (;;) {
		size_t n;

		if (len + 1 >= cap) {
			char *bigger = realloc(r.out, cap * 2);

			if (!bigger)
				break;
			r.out = bigger;
			cap *= 2;
		}
		n = fread(r.out + len, 1, cap - len - 1, p);
		if (!n)
			break;
		len += n;
	}
	r.out[len] = '\0';
	st = pclose(p);
	r.status = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.json = cJSON_Parse(r.out);
	if (getenv("XLBCTL_TEST_VERBOSE"))
		xt_log("$ xlbctl %s  [exit %d]\n%s", args, r.status, r.out);
	return r;
}

static struct run run(const char *args)
{
	return run_ex(pin_dir, false, args);
}

static int jint(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (int)v->valuedouble : -999999;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jtrue(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The first row of @arr whose @key is the string @val. */
static const cJSON *find_row(const cJSON *arr, const char *key, const char *val)
{
	const cJSON *row;

	cJSON_ArrayForEach(row, arr)
	{
		const char *s = jstr(row, key);

		if (s && !strcmp(s, val))
			return row;
	}
	return NULL;
}

static const cJSON *find_row_int(const cJSON *arr, const char *key, int val)
{
	const cJSON *row;

	cJSON_ArrayForEach(row, arr) if (jint(row, key) == val) return row;
	return NULL;
}

/* Run and expect exit 0 with a JSON array of @n rows. */
static bool ok_array(struct run *r, int n, const char *what)
{
	return ASSERT_EQ(r->status, 0, what) &&
	       ASSERT_TRUE(cJSON_IsArray(r->json), "output is a JSON array") &&
	       ASSERT_EQ(cJSON_GetArraySize(r->json), n, what);
}

/* ---- tests -------------------------------------------------------------------------- */

XT_TEST(test_service_list)
{
	static const char *const order[] = {
		"192.0.2.10:53/UDP",	  "192.0.2.10:80/TCP",	 "*:30080/TCP nodeport",
		"[2001:db8::10]:443/TCP", "192.0.2.20:8080/TCP",
	};
	struct run r;
	const cJSON *row;
	int i = 0;

	if (!ready())
		return;
	r = run("-j service list");
	if (!ok_array(&r, 5, "service list rows"))
		goto out;
	/* Sorted by name, then frontend (VIP before NodePort). */
	cJSON_ArrayForEach(row, r.json)
		ASSERT_STREQ(jstr(row, "frontend"), order[i++], "frontend order");

	row = find_row(r.json, "frontend", "192.0.2.10:80/TCP");
	if (!ASSERT_TRUE(row, "web VIP row"))
		goto out;
	ASSERT_STREQ(jstr(row, "name"), "default/web:http/TCP", "name");
	ASSERT_STREQ(jstr(row, "scope"), "vip", "scope");
	ASSERT_STREQ(jstr(row, "address"), "192.0.2.10", "address");
	ASSERT_EQ(jint(row, "port"), 80, "port");
	ASSERT_STREQ(jstr(row, "proto"), "tcp", "proto");
	ASSERT_EQ(jint(row, "svc_id"), SVC_WEB, "svc_id");
	ASSERT_STREQ(jstr(row, "etp"), "Cluster", "etp");
	ASSERT_EQ(jint(row, "backend_count"), 3, "backend_count");
	ASSERT_EQ(jint(row, "total_count"), 3, "total_count");
	ASSERT_EQ(jint(row, "table_id"), SVC_WEB, "table_id");
	ASSERT_EQ(jint(row, "maglev_size"), M, "maglev_size");
	ASSERT_EQ(jnum(row, "packets"), cpu_sum(10), "packets summed over CPUs");
	ASSERT_EQ(jnum(row, "bytes"), cpu_sum(1000), "bytes summed over CPUs");

	row = find_row(r.json, "frontend", "*:30080/TCP nodeport");
	if (ASSERT_TRUE(row, "nodeport row")) {
		ASSERT_STREQ(jstr(row, "scope"), "nodeport", "scope");
		ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(row, "address")), "no address");
		ASSERT_EQ(jnum(row, "packets"), cpu_sum(10), "per-service counters");
	}
	row = find_row(r.json, "frontend", "192.0.2.10:53/UDP");
	if (ASSERT_TRUE(row, "dns row")) {
		ASSERT_STREQ(jstr(row, "etp"), "Local", "etp");
		ASSERT_EQ(jint(row, "total_count"), 2, "total_count");
	}
	row = find_row(r.json, "frontend", "[2001:db8::10]:443/TCP");
	if (ASSERT_TRUE(row, "IPv6 row"))
		ASSERT_STREQ(jstr(row, "address"), "2001:db8::10", "IPv6 address");
	row = find_row(r.json, "frontend", "192.0.2.20:8080/TCP");
	if (ASSERT_TRUE(row, "anonymous row")) {
		ASSERT_STREQ(jstr(row, "name"), "svc#7", "name without metadata");
		ASSERT_EQ(jnum(row, "packets"), 0, "no traffic");
	}
out:
	run_free(&r);
}

XT_TEST(test_backend_list)
{
	static const int ids[] = { 101, 102, 103, 201, 301 };
	struct run r;
	const cJSON *row;
	int i = 0;

	if (!ready())
		return;
	r = run("-j backend list");
	if (!ok_array(&r, 5, "backend rows"))
		goto out;
	cJSON_ArrayForEach(row, r.json) ASSERT_EQ(jint(row, "id"), ids[i++], "sorted by id");
	row = find_row_int(r.json, "id", 102);
	if (ASSERT_TRUE(row, "backend 102")) {
		ASSERT_STREQ(jstr(row, "address"), "10.244.2.7", "address");
		ASSERT_EQ(jint(row, "port"), 8080, "port");
		ASSERT_TRUE(!jtrue(row, "local"), "remote");
		ASSERT_EQ(jint(row, "svc_id"), SVC_WEB, "svc_id");
		ASSERT_STREQ(jstr(row, "service"), "default/web:http/TCP", "service");
	}
	row = find_row_int(r.json, "id", 301);
	if (ASSERT_TRUE(row, "backend 301")) {
		ASSERT_STREQ(jstr(row, "address"), "fd00::5", "IPv6 address");
		ASSERT_TRUE(jtrue(row, "local"), "local");
		ASSERT_STREQ(jstr(row, "service"), "kube-system/api:https/TCP", "service");
	}
out:
	run_free(&r);
}

XT_TEST(test_ct_list)
{
	struct run r;
	const cJSON *row, *flags;

	if (!ready())
		return;
	r = run("-j ct list");
	if (!ok_array(&r, 6, "all conntrack entries"))
		goto out;
	/* Sorted by kind first. */
	ASSERT_STREQ(jstr(cJSON_GetArrayItem(r.json, 0), "kind"), "fwd_local", "first kind");
	ASSERT_STREQ(jstr(cJSON_GetArrayItem(r.json, 5), "kind"), "reply_snat", "last kind");

	row = find_row(r.json, "kind", "fwd_remote");
	if (ASSERT_TRUE(row, "fwd_remote entry")) {
		ASSERT_STREQ(jstr(row, "proto"), "tcp", "proto");
		ASSERT_STREQ(jstr(row, "saddr"), "198.51.100.7", "saddr");
		ASSERT_EQ(jint(row, "sport"), 40000, "sport");
		ASSERT_STREQ(jstr(row, "daddr"), "192.0.2.10", "daddr");
		ASSERT_EQ(jint(row, "dport"), 80, "dport");
		ASSERT_STREQ(jstr(row, "nat_saddr"), "10.0.0.1", "nat_saddr");
		ASSERT_EQ(jint(row, "nat_sport"), 61000, "nat_sport");
		ASSERT_STREQ(jstr(row, "nat_daddr"), "10.244.2.7", "nat_daddr");
		ASSERT_EQ(jint(row, "nat_dport"), 8080, "nat_dport");
		ASSERT_STREQ(jstr(row, "service"), "default/web:http/TCP", "service");
		ASSERT_EQ(jint(row, "backend_id"), 102, "backend_id");
		flags = cJSON_GetObjectItem(row, "flags");
		ASSERT_EQ(cJSON_GetArraySize(flags), 1, "one flag");
		ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetArrayItem(flags, 0)), "established",
			     "flag");
		ASSERT_TRUE(!jtrue(row, "expired"), "alive");
		ASSERT_TRUE(jint(row, "expires_in_s") >= 90 && jint(row, "expires_in_s") <= 100,
			    "about 100 s left");
	}
	row = find_row(r.json, "kind", "reply_local");
	if (ASSERT_TRUE(row, "reply_local entry")) {
		flags = cJSON_GetObjectItem(row, "flags");
		ASSERT_EQ(cJSON_GetArraySize(flags), 2, "established and rst");
		ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetArrayItem(flags, 1)), "rst", "flag");
	}
	row = find_row(r.json, "proto", "udp");
	if (ASSERT_TRUE(row, "udp entry")) {
		ASSERT_TRUE(jtrue(row, "expired"), "expired");
		ASSERT_EQ(jint(row, "expires_in_s"), 0, "nothing left");
		ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(row, "flags")), 0, "no flags");
		ASSERT_STREQ(jstr(row, "service"), "default/dns:dns/UDP", "service");
	}
	row = find_row(r.json, "saddr", "2001:db8::99");
	if (ASSERT_TRUE(row, "IPv6 entry"))
		ASSERT_STREQ(jstr(row, "nat_daddr"), "fd00::5", "IPv6 rewrite");
out:
	run_free(&r);
}

XT_TEST(test_ct_filters)
{
	static const struct {
		const char *args;
		int n;
		const char *kind; /* of the first row, or NULL */
	} cases[] = {
		{ "--proto udp", 1, "fwd_local" },
		{ "--proto TCP", 5, NULL },
		{ "--kind reply_snat", 1, "reply_snat" },
		{ "--kind=fwd_remote", 1, "fwd_remote" },
		{ "--port 61000", 2, "fwd_remote" },	 /* nat_sport and dport */
		{ "--port 40000", 2, "fwd_remote" },	 /* sport and nat_dport */
		{ "--src 10.244.2.7", 1, "reply_snat" }, /* original source */
		{ "--src 10.0.0.1", 2, "fwd_remote" },	 /* rewritten source */
		{ "--dst 10.244.2.7", 1, "fwd_remote" }, /* rewritten destination */
		{ "--dst 198.51.100.7", 1, "reply_snat" },
		{ "--src 2001:db8::99", 1, "fwd_local" },
		{ "--proto tcp --port 8080", 4, NULL },
		{ "--src 198.51.100.8 --kind fwd_local", 1, "fwd_local" },
		{ "--src 203.0.113.1", 0, NULL },
	};
	char args[256];

	if (!ready())
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;

		snprintf(args, sizeof(args), "-j ct list %s", cases[i].args);
		r = run(args);
		if (ok_array(&r, cases[i].n, cases[i].args) && cases[i].kind)
			ASSERT_STREQ(jstr(cJSON_GetArrayItem(r.json, 0), "kind"), cases[i].kind,
				     cases[i].args);
		run_free(&r);
	}
	/* Bad filters are usage errors. */
	static const char *const bad[] = {
		"--proto icmp", "--port 70000", "--src nonsense",
		"--kind nope",	"--src",	"--frob 1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r;

		snprintf(args, sizeof(args), "ct list %s", bad[i]);
		r = run(args);
		ASSERT_EQ(r.status, 2, bad[i]);
		run_free(&r);
	}
}

XT_TEST(test_snat_list)
{
	struct run r;
	const cJSON *row;

	if (!ready())
		return;
	r = run("-j snat list");
	if (!ok_array(&r, 1, "one SNAT binding"))
		goto out;
	row = cJSON_GetArrayItem(r.json, 0);
	ASSERT_STREQ(jstr(row, "proto"), "tcp", "proto");
	ASSERT_STREQ(jstr(row, "node_addr"), "10.0.0.1", "node_addr");
	ASSERT_EQ(jint(row, "node_port"), 61000, "node_port");
	ASSERT_STREQ(jstr(row, "client_addr"), "198.51.100.7", "client_addr");
	ASSERT_EQ(jint(row, "client_port"), 40000, "client_port");
	ASSERT_STREQ(jstr(row, "frontend_addr"), "192.0.2.10", "frontend_addr");
	ASSERT_EQ(jint(row, "frontend_port"), 80, "frontend_port");
	ASSERT_STREQ(jstr(row, "backend_addr"), "10.244.2.7", "backend_addr");
	ASSERT_EQ(jint(row, "backend_port"), 8080, "backend_port");
	ASSERT_EQ(jint(row, "backend_id"), 102, "backend_id");
	ASSERT_STREQ(jstr(row, "service"), "default/web:http/TCP", "service");
out:
	run_free(&r);
}

XT_TEST(test_stats)
{
	struct run r;
	const cJSON *reasons, *services, *row;
	int i = 0;

	if (!ready())
		return;
	r = run("-j stats");
	if (!ASSERT_EQ(r.status, 0, "exit") || !ASSERT_TRUE(cJSON_IsObject(r.json), "object"))
		goto out;
	reasons = cJSON_GetObjectItem(r.json, "reasons");
	services = cJSON_GetObjectItem(r.json, "services");
	/* Every reason, in enum order, zero or not. */
	if (!ASSERT_EQ(cJSON_GetArraySize(reasons), XLB_R_MAX, "all reasons"))
		goto out;
	cJSON_ArrayForEach(row, reasons)
	{
		__u64 p = i == XLB_R_FWD_REMOTE	 ? cpu_sum(7) :
			  i == XLB_R_PASS_NOT_IP ? cpu_sum(2) :
						   0;
		__u64 b = i == XLB_R_FWD_REMOTE	 ? cpu_sum(700) :
			  i == XLB_R_PASS_NOT_IP ? cpu_sum(120) :
						   0;

		ASSERT_STREQ(jstr(row, "reason"), xlb_reason_names[i], "reason name");
		ASSERT_EQ(jnum(row, "packets"), p, xlb_reason_names[i]);
		ASSERT_EQ(jnum(row, "bytes"), b, xlb_reason_names[i]);
		i++;
	}
	if (!ASSERT_EQ(cJSON_GetArraySize(services), 4, "services 1, 2, 3, 7"))
		goto out;
	row = find_row_int(services, "svc_id", SVC_DNS);
	if (ASSERT_TRUE(row, "dns")) {
		ASSERT_STREQ(jstr(row, "name"), "default/dns:dns/UDP", "name");
		ASSERT_EQ(jnum(row, "packets"), cpu_sum(3), "packets");
		ASSERT_EQ(jnum(row, "bytes"), cpu_sum(240), "bytes");
	}
	row = find_row_int(services, "svc_id", SVC_ANON);
	if (ASSERT_TRUE(row, "anonymous"))
		ASSERT_STREQ(jstr(row, "name"), "svc#7", "name");
	/* The one live reply_snat entry: one port of its backend's pool. */
	services = cJSON_GetObjectItem(r.json, "snat_pools");
	if (ASSERT_EQ(cJSON_GetArraySize(services), 1, "one SNAT pool in use")) {
		row = cJSON_GetArrayItem(services, 0);
		ASSERT_STREQ(jstr(row, "backend_addr"), "10.244.2.7", "pool backend");
		ASSERT_EQ(jnum(row, "backend_port"), 8080, "pool backend port");
		ASSERT_STREQ(jstr(row, "snat_addr"), "10.0.0.1", "SNAT address");
		ASSERT_EQ(jnum(row, "ports_in_use"), 1, "ports in use");
		ASSERT_EQ(jnum(row, "unanswered"), 0, "answered (seen_reply)");
	}
out:
	run_free(&r);
}

static void check_maglev(const char *args, int svc_id, int n_backends)
{
	struct run r = run(args);
	const cJSON *be, *table, *row;
	int sum = 0, m;

	if (!ASSERT_EQ(r.status, 0, args) || !ASSERT_TRUE(cJSON_IsObject(r.json), args))
		goto out;
	ASSERT_EQ(jint(r.json, "svc_id"), svc_id, "svc_id");
	m = jint(r.json, "m");
	ASSERT_EQ(m, M, "M");
	be = cJSON_GetObjectItem(r.json, "backends");
	table = cJSON_GetObjectItem(r.json, "table");
	ASSERT_EQ(cJSON_GetArraySize(be), n_backends, "backends in the table");
	ASSERT_EQ(cJSON_GetArraySize(table), m, "full table under -j");
	cJSON_ArrayForEach(row, be)
	{
		int entries = jint(row, "entries"), seen = 0;
		const cJSON *e;

		sum += entries;
		ASSERT_TRUE(jstr(row, "address"), "backend address");
		/* Maglev balance: floor(M/n) or ceil(M/n) entries each. */
		ASSERT_LE(abs(entries - m / n_backends), 1, "balanced");
		cJSON_ArrayForEach(e, table) seen += (int)e->valuedouble == jint(row, "id");
		ASSERT_EQ(seen, entries, "entries match the table");
	}
	ASSERT_EQ(sum, m, "entries add up to M");
out:
	run_free(&r);
}

XT_TEST(test_maglev_show)
{
	struct run r;
	const cJSON *row;

	if (!ready())
		return;
	check_maglev("-j maglev show default/web:http/TCP", SVC_WEB, 3);
	check_maglev("-j maglev show default/web", SVC_WEB, 3); /* unique prefix */
	check_maglev("-j maglev show 2", SVC_DNS, 1);
	check_maglev("-j mag s kube-system/api", SVC_API, 1);

	r = run("-j maglev show default/web");
	row = find_row_int(cJSON_GetObjectItem(r.json, "backends"), "id", 102);
	if (ASSERT_TRUE(row, "backend 102")) {
		ASSERT_STREQ(jstr(row, "address"), "10.244.2.7", "address");
		ASSERT_EQ(jint(row, "port"), 8080, "port");
		ASSERT_LE(jnum(row, "share_pct") - 100.0 * jint(row, "entries") / M, 0.01, "share");
	}
	ASSERT_STREQ(jstr(r.json, "name"), "default/web:http/TCP", "name");
	run_free(&r);

	r = run("-j maglev list");
	if (ok_array(&r, 4, "maglev list")) {
		row = find_row_int(r.json, "svc_id", SVC_WEB);
		if (ASSERT_TRUE(row, "web"))
			ASSERT_EQ(jint(row, "backends"), 3, "distinct backends");
		row = find_row_int(r.json, "svc_id", SVC_ANON);
		if (ASSERT_TRUE(row, "anon"))
			ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(row, "m")), "no table");
	}
	run_free(&r);
}

static void check_error(const char *args, int status, const char *needle)
{
	struct run r = run(args);
	const char *msg = jstr(r.json, "error");

	ASSERT_EQ(r.status, status, args);
	if (ASSERT_TRUE(msg, "{\"error\": ...} on stdout") && needle)
		ASSERT_TRUE(strstr(msg, needle), needle);
	run_free(&r);
}

XT_TEST(test_errors)
{
	char bad_dir[sizeof(pin_dir) + 16];
	struct run r;

	if (!ready())
		return;
	check_error("-j maglev show nope/nothing", 1, "no service 'nope/nothing'");
	check_error("-j maglev show default/", 1, "ambiguous");
	check_error("-j maglev show 7", 1, "Maglev table"); /* no table */
	check_error("-j maglev show 42", 1, "no frontend");

	/* A pin dir without maps: JSON error, and the hint in text mode. */
	snprintf(bad_dir, sizeof(bad_dir), "%s/nowhere", tmp_dir);
	r = run_ex(bad_dir, false, "-j service list");
	ASSERT_EQ(r.status, 1, "bad pin dir exit");
	ASSERT_TRUE(jstr(r.json, "error") &&
			    strstr(jstr(r.json, "error"), "No such file or directory"),
		    "error text");
	run_free(&r);
	r = run_ex(bad_dir, true, "service list");
	ASSERT_EQ(r.status, 1, "bad pin dir exit (text)");
	ASSERT_TRUE(!strncmp(r.out, "xlbctl: open pinned maps under ", 31), "message");
	ASSERT_TRUE(strstr(r.out, "(is xlb-agent running, or --pin-dir wrong?)"), "hint");
	run_free(&r);

	/* Unknown and ambiguous commands: usage, exit 2. */
	r = run_ex(pin_dir, true, "service frobnicate");
	ASSERT_EQ(r.status, 2, "unknown command");
	ASSERT_TRUE(strstr(r.out, "Usage:"), "usage shown");
	run_free(&r);
	r = run("frobnicate");
	ASSERT_EQ(r.status, 2, "unknown object");
	run_free(&r);
	r = run("s");
	ASSERT_EQ(r.status, 2, "ambiguous object");
	run_free(&r);
	r = run("maglev show");
	ASSERT_EQ(r.status, 2, "missing argument");
	run_free(&r);
}

XT_TEST(test_grammar)
{
	static const char *const same[] = {
		"-j svc l", "-j ser", "-j service", "service list -j", "-j se sh",
	};
	struct run ref = run("-j service list"), r;
	char *want = ref.json ? cJSON_PrintUnformatted(ref.json) : NULL;

	if (!ready())
		goto out;
	ASSERT_TRUE(want, "reference output");
	for (size_t i = 0; want && i < sizeof(same) / sizeof(same[0]); i++) {
		char *got;

		r = run(same[i]);
		got = r.json ? cJSON_PrintUnformatted(r.json) : NULL;
		ASSERT_STREQ(got, want, same[i]);
		free(got);
		run_free(&r);
	}
	/* -p is pretty JSON, the same document. */
	r = run("-p service list");
	ASSERT_TRUE(r.json && strchr(r.out, '\n') != strrchr(r.out, '\n'), "multi-line");
	run_free(&r);
	/* help at every level. */
	static const char *const helps[] = {
		"help",	       "-h",	     "service help", "ct help",	     "ct list help",
		"maglev help", "stats help", "snat help",    "backend help",
	};
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
		r = run(helps[i]);
		ASSERT_EQ(r.status, 0, helps[i]);
		ASSERT_TRUE(strstr(r.out, "Usage:"), helps[i]);
		run_free(&r);
	}
out:
	free(want);
	run_free(&ref);
}

/* Text output comes from the same documents: headers, and values seen. */
XT_TEST(test_tables)
{
	static const struct {
		const char *args;
		const char *header;
		const char *needle;
	} cases[] = {
		{ "service list", "NAME", "*:30080/TCP nodeport" },
		{ "backend list", "ID", "[fd00::5]:8443" },
		{ "ct list", "KIND", "198.51.100.7:40000 -> 192.0.2.10:80" },
		{ "ct list --proto udp", "KIND", "expired" },
		{ "snat list", "PROTO", "10.0.0.1:61000" },
		{ "stats", "REASON", "drop_no_local_backend" },
		{ "maglev show default/web", "service:", "10.244.2.8:8080" },
		{ "maglev list", "SVC_ID", "svc#7" },
	};

	if (!ready())
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = run(cases[i].args);

		ASSERT_EQ(r.status, 0, cases[i].args);
		ASSERT_TRUE(r.out && strstr(r.out, cases[i].header) &&
				    strstr(r.out, cases[i].header) < strchr(r.out, '\n'),
			    cases[i].header);
		ASSERT_TRUE(r.out && strstr(r.out, cases[i].needle), cases[i].needle);
		ASSERT_TRUE(r.out && !strstr(r.out, " \n"), "no trailing blanks");
		run_free(&r);
	}
}

/* vip list: rows from xlb_vip_meta, "answering" from xlb_l2 deadlines as
 * the datapath sees them (an expired entry is not answering). */
static void vip_row(const char *ip, const char *svc, const char *pool, const char *owner,
		    const char *ifs, int ttl_ms)
{
	struct xlb_addr_key k = { .addr = a4(ip), .family = XLB_AF_INET };
	struct xlb_vip_meta m = { 0 };

	snprintf(m.service, sizeof(m.service), "%s", svc);
	snprintf(m.pool, sizeof(m.pool), "%s", pool);
	snprintf(m.owner, sizeof(m.owner), "%s", owner);
	snprintf(m.interfaces, sizeof(m.interfaces), "%s", ifs);
	ASSERT_OK(xlb_dp_vip_meta_set(dp, &k, &m), "vip meta");
	if (ttl_ms) {
		struct xlb_l2_key lk = { .addr = a4(ip), .ifindex = 1, .family = XLB_AF_INET };
		struct xlb_l2 v = { .expires_ns = xlb_mono_ns() + (__s64)ttl_ms * 1000000 };

		ASSERT_OK(xlb_dp_l2_set(dp, &lk, &v), "l2 entry");
	}
}

XT_TEST(test_vip_list)
{
	struct run r;
	const cJSON *row;

	if (!ready())
		return;
	vip_row("10.50.0.9", "shop/web", "lan", "node1", "eth0,eth1", 60000);
	vip_row("10.50.0.2", "shop/db", "lan", "node2", "", 0);
	vip_row("10.50.0.5", "shop/old", "lan", "node1", "eth0", -1000);
	r = run("-j vip list");
	if (ok_array(&r, 3, "three VIPs")) {
		/* sorted by address */
		ASSERT_STREQ(jstr(cJSON_GetArrayItem(r.json, 0), "address"), "10.50.0.2", "first");
		ASSERT_STREQ(jstr(cJSON_GetArrayItem(r.json, 2), "address"), "10.50.0.9", "last");
		row = find_row(r.json, "address", "10.50.0.9");
		ASSERT_STREQ(jstr(row, "service"), "shop/web", "service");
		ASSERT_STREQ(jstr(row, "pool"), "lan", "pool");
		ASSERT_STREQ(jstr(row, "owner"), "node1", "owner");
		ASSERT_TRUE(jtrue(row, "answering"), "live entry answers");
		ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(row, "interfaces")), 2,
			  "interfaces");
		row = find_row(r.json, "address", "10.50.0.2");
		ASSERT_TRUE(!jtrue(row, "answering"), "no entry: another node answers");
		row = find_row(r.json, "address", "10.50.0.5");
		ASSERT_TRUE(!jtrue(row, "answering"), "expired entry: not answering");
	}
	run_free(&r);
	r = run("vip");
	ASSERT_TRUE(r.status == 0 && strstr(r.out, "ADDRESS") && strstr(r.out, "shop/web") &&
			    strstr(r.out, "eth0,eth1"),
		    "table output");
	run_free(&r);
}

/* explain on the fixture: a conntrack hit takes the flow's backend, a new
 * flow to the VIP takes a Maglev slot of the web table. (The e2e test
 * checks the live maps stay untouched and a real connection agrees.) */
XT_TEST(test_explain)
{
	struct run r;

	if (!ready())
		return;
	/* The fixture's local flow lives 10 s (it was reset): on a loaded
	 * machine the tests before this one can outlast it. Renew it. */
	ASSERT_OK(put_ct(XLB_AF_INET, IPPROTO_TCP, a4("198.51.100.8"), 40001, a4("10.0.0.1"), 30080,
			 a4("198.51.100.8"), 40001, a4("10.244.1.5"), 8080, XLB_CT_FWD_LOCAL,
			 XLB_CT_F_ESTABLISHED | XLB_CT_F_RST, SVC_WEB, 101,
			 xlb_mono_ns() + 10 * 1000000000ull),
		  "renew the local flow");
	r = run("-j explain tcp 198.51.100.8:40001 10.0.0.1:30080 --flags ack");
	ASSERT_EQ(r.status, 0, "explain conntrack hit");
	ASSERT_TRUE(r.json != NULL, "explain -j is JSON");
	if (r.json) {
		ASSERT_STREQ(jstr(r.json, "conntrack"), "hit", "conntrack");
		ASSERT_STREQ(jstr(r.json, "choice"), "conntrack", "choice");
		ASSERT_STREQ(jstr(r.json, "backend"), "10.244.1.5:8080", "backend");
		ASSERT_STREQ(jstr(r.json, "reason"), "fwd_local", "reason");
		ASSERT_STREQ(jstr(r.json, "verdict"), "XDP_PASS", "verdict");
		ASSERT_STREQ(jstr(r.json, "out_dst"), "10.244.1.5:8080", "rewritten packet");
	}
	run_free(&r);
	r = run("-j explain tcp 198.51.100.50:40000 192.0.2.10:80");
	ASSERT_EQ(r.status, 0, "explain new flow");
	if (r.json) {
		ASSERT_STREQ(jstr(r.json, "conntrack"), "miss", "conntrack");
		ASSERT_STREQ(jstr(r.json, "choice"), "maglev", "choice");
		ASSERT_STREQ(jstr(r.json, "service"), "default/web:http/TCP", "service");
		ASSERT_TRUE(jstr(r.json, "backend") &&
				    !strncmp(jstr(r.json, "backend"), "10.244.", 7),
			    "a web backend");
	}
	run_free(&r);
	r = run("explain tcp 1.2.3.4 5.6.7.8:80");
	ASSERT_EQ(r.status, 2, "explain without a port is a usage error");
	run_free(&r);
}

/*
 * Dual stack in every table: an IPv6 NodePort and an IPv6 remote flow
 * with its SNAT binding, added for this test and removed after it. Tables
 * print [addr]:port, JSON plain address strings, filters take IPv6.
 */
XT_TEST(test_dual_stack_tables)
{
	static const struct {
		const char *args;
		const char *needle;
	} cases[] = {
		{ "service list", "[*]:30443/TCP nodeport" },
		{ "service list", "[2001:db8::10]:443/TCP" },
		{ "ct list", "[2001:db8::98]:50001 -> [2001:db8::10]:443" },
		{ "ct list", "[2001:db8:1::1]:61001 -> [fd00:2::7]:8443" },
		{ "snat list", "[2001:db8:1::1]:61001" },
		{ "snat list", "[fd00:2::7]:8443 #302" },
		{ "backend list", "[fd00:2::7]:8443" },
	};
	__u64 later = xlb_mono_ns() + 100 * 1000000000ull;
	struct xlb_svc_key np6 = { .port = htons(30443),
				   .proto = IPPROTO_TCP,
				   .family = XLB_AF_INET6,
				   .scope = XLB_SCOPE_NODEPORT };
	struct xlb_ct_key fwd = { .saddr = a6("2001:db8::98"),
				  .daddr = a6("2001:db8::10"),
				  .sport = htons(50001),
				  .dport = htons(443),
				  .proto = IPPROTO_TCP,
				  .family = XLB_AF_INET6 };
	struct xlb_ct_key rep = { .saddr = a6("fd00:2::7"),
				  .daddr = a6("2001:db8:1::1"),
				  .sport = htons(8443),
				  .dport = htons(61001),
				  .proto = IPPROTO_TCP,
				  .family = XLB_AF_INET6 };
	struct xlb_addr_key n4 = { .addr = a4("10.0.0.1"), .family = XLB_AF_INET };
	struct xlb_addr_key n6 = { .addr = a6("2001:db8:1::1"), .family = XLB_AF_INET6 };
	struct xlb_addr_key s6 = { .addr = a6("2001:db8:ff::1"), .family = XLB_AF_INET6 };
	struct xlb_iface ifv = { .snat4 = a4("10.0.0.1"), .snat6 = a6("2001:db8:ff::1") };
	__u32 be = 302;
	struct run r;
	const cJSON *row;

	if (!ready())
		return;
	if (!ASSERT_OK(put_svc(XLB_AF_INET6, (union xlb_addr){}, 30443, IPPROTO_TCP,
			       XLB_SCOPE_NODEPORT, SVC_API, SVC_API, 1, 1, 0),
		       "v6 NodePort") ||
	    !ASSERT_OK(put_backend(be, XLB_AF_INET6, a6("fd00:2::7"), 8443, false, SVC_API),
		       "v6 remote backend") ||
	    !ASSERT_OK(put_ct(XLB_AF_INET6, IPPROTO_TCP, fwd.saddr, 50001, fwd.daddr, 443,
			      a6("2001:db8:1::1"), 61001, a6("fd00:2::7"), 8443, XLB_CT_FWD_REMOTE,
			      XLB_CT_F_ESTABLISHED, SVC_API, be, later),
		       "v6 fwd_remote") ||
	    !ASSERT_OK(put_ct(XLB_AF_INET6, IPPROTO_TCP, rep.saddr, 8443, rep.daddr, 61001,
			      a6("2001:db8::10"), 443, a6("2001:db8::98"), 50001, XLB_CT_REPLY_SNAT,
			      XLB_CT_F_ESTABLISHED, SVC_API, be, later),
		       "v6 reply_snat"))
		goto out;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = run(cases[i].args);
		ASSERT_EQ(r.status, 0, cases[i].args);
		ASSERT_TRUE(r.out && strstr(r.out, cases[i].needle), cases[i].needle);
		run_free(&r);
	}
	r = run("-j service list");
	ASSERT_TRUE(r.json && find_row(r.json, "frontend", "[*]:30443/TCP nodeport"),
		    "v6 NodePort row");
	run_free(&r);
	r = run("-j snat list");
	row = r.json ? find_row(r.json, "node_addr", "2001:db8:1::1") : NULL;
	if (ASSERT_TRUE(row, "v6 SNAT binding")) {
		ASSERT_EQ(jint(row, "node_port"), 61001, "node_port");
		ASSERT_STREQ(jstr(row, "client_addr"), "2001:db8::98", "client_addr");
		ASSERT_STREQ(jstr(row, "frontend_addr"), "2001:db8::10", "frontend_addr");
		ASSERT_STREQ(jstr(row, "backend_addr"), "fd00:2::7", "backend_addr");
	}
	run_free(&r);
	r = run("-j ct list --src 2001:db8:1::1");
	ok_array(&r, 1, "v6 rewritten source filter");
	run_free(&r);
	r = run("-j ct list --dst 2001:db8:1::1");
	ok_array(&r, 1, "v6 original destination filter");
	run_free(&r);

	/* node list: NodePort addresses of both families, the interface's
	 * SNAT source per family, a SNAT-only IPv6 address. */
	if (!ASSERT_OK(xlb_dp_node_addr_set(dp, &n4, 0), "v4 node address") ||
	    !ASSERT_OK(xlb_dp_node_addr_set(dp, &n6, 0), "v6 node address") ||
	    !ASSERT_OK(xlb_dp_node_addr_set(dp, &s6, XLB_NA_F_SNAT_ONLY), "v6 SNAT-only") ||
	    !ASSERT_OK(xlb_dp_iface_set(dp, 1, &ifv), "iface lo"))
		goto out;
	r = run("-j node list");
	if (ok_array(&r, 3, "node addresses")) {
		row = find_row(r.json, "address", "2001:db8:1::1");
		if (ASSERT_TRUE(row, "v6 NodePort address")) {
			ASSERT_STREQ(jstr(row, "family"), "IPv6", "family");
			ASSERT_TRUE(jtrue(row, "nodeport"), "answers NodePorts");
			ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(row, "snat_interfaces")),
				  0, "not the SNAT source");
		}
		row = find_row(r.json, "address", "2001:db8:ff::1");
		if (ASSERT_TRUE(row, "v6 SNAT-only address")) {
			ASSERT_TRUE(!jtrue(row, "nodeport"), "no NodePort");
			ASSERT_TRUE(jtrue(row, "snat_only"), "snat_only");
			ASSERT_STREQ(cJSON_GetStringValue(cJSON_GetArrayItem(
					     cJSON_GetObjectItem(row, "snat_interfaces"), 0)),
				     "lo", "lo SNATs from it");
		}
		row = find_row(r.json, "address", "10.0.0.1");
		ASSERT_TRUE(row && jtrue(row, "nodeport") &&
				    cJSON_GetArraySize(
					    cJSON_GetObjectItem(row, "snat_interfaces")) == 1,
			    "v4 address: NodePort and lo's SNAT source");
	}
	run_free(&r);
	r = run("node list");
	ASSERT_TRUE(r.out && strstr(r.out, "2001:db8:ff::1") && strstr(r.out, "ADDRESS"),
		    "node list table");
	run_free(&r);
out:
	xlb_dp_node_addr_del(dp, &n4);
	xlb_dp_node_addr_del(dp, &n6);
	xlb_dp_node_addr_del(dp, &s6);
	xlb_dp_iface_del(dp, 1);
	bpf_map_delete_elem(xlb_dp_map_fd_rw(dp, XLB_DPM_CT), &fwd);
	bpf_map_delete_elem(xlb_dp_map_fd_rw(dp, XLB_DPM_CT), &rep);
	xlb_dp_svc_del(dp, &np6);
	xlb_dp_backend_del(dp, be);
}

/*
 * explain over IPv6: [ADDR]:PORT endpoints of one family, the packet
 * built as IPv6 and run through the IPv6 program: the live flow's entry
 * applied, the rewritten packet printed bracketed.
 */
XT_TEST(test_explain_ipv6)
{
	struct run r;

	if (!ready())
		return;
	r = run("explain tcp [2001:db8::99]:50000 10.0.0.1:80");
	ASSERT_EQ(r.status, 2, "mixed families are a usage error");
	run_free(&r);
	r = run("explain tcp 2001:db8::99:50000 [2001:db8::10]:443");
	ASSERT_EQ(r.status, 2, "an IPv6 endpoint without brackets is a usage error");
	run_free(&r);
	r = run("explain tcp 10.0.0.2:1 [2001:db8::10]:443");
	ASSERT_EQ(r.status, 2, "IPv4 source, IPv6 destination");
	run_free(&r);

	ASSERT_OK(put_ct(XLB_AF_INET6, IPPROTO_TCP, a6("2001:db8::99"), 50000, a6("2001:db8::10"),
			 443, a6("2001:db8::99"), 50000, a6("fd00::5"), 8443, XLB_CT_FWD_LOCAL, 0,
			 SVC_API, 301, xlb_mono_ns() + 60 * 1000000000ull),
		  "renew the IPv6 flow");
	r = run("-j explain tcp [2001:db8::99]:50000 [2001:db8::10]:443 --flags ack");
	ASSERT_EQ(r.status, 0, "explain IPv6");
	if (!ASSERT_TRUE(r.json != NULL, "JSON"))
		goto out;
	ASSERT_STREQ(jstr(r.json, "src"), "[2001:db8::99]:50000", "src");
	ASSERT_STREQ(jstr(r.json, "dst"), "[2001:db8::10]:443", "dst");
	ASSERT_STREQ(jstr(r.json, "conntrack"), "hit", "conntrack");
	ASSERT_STREQ(jstr(r.json, "backend"), "[fd00::5]:8443", "backend");
	ASSERT_STREQ(jstr(r.json, "reason"), "fwd_local", "reason");
	ASSERT_STREQ(jstr(r.json, "out_proto"), "tcp", "out proto");
	ASSERT_STREQ(jstr(r.json, "out_src"), "[2001:db8::99]:50000", "client kept");
	ASSERT_STREQ(jstr(r.json, "out_dst"), "[fd00::5]:8443", "rewritten packet");
out:
	run_free(&r);
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sync against a real loaded datapath (no pins): Kubernetes objects are
 * parsed and translated exactly as the agent does, then the maps are read
 * back and checked: frontends, their per-frontend flags, tables and their
 * contents, backends, source ranges, affinity; then changes, removal, and
 * a second sync adopting what the first one wrote.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>

#include <bpf/bpf.h>

#include <xlb/abi.h>
#include "datapath.h"
#include "k8s/cache.h"
#include "lib/log.h"
#include "sync.h"
#include "translate.h"
#include "../lib/xtest.h"

static const char *svc_yaml_port(const char *eps, const char *extra, const char *pname)
{
	static char buf[8192];

	snprintf(
		buf, sizeof(buf),
		"apiVersion: v1\n"
		"kind: Service\n"
		"metadata: {name: web, namespace: default}\n"
		"spec:\n"
		"  type: LoadBalancer\n"
		"  clusterIP: 10.96.0.10\n"
		"  ports: [{name: %s, port: 80, protocol: TCP, targetPort: 8080, nodePort: 30080}]\n"
		"%s"
		"status:\n"
		"  loadBalancer: {ingress: [{ip: 192.0.2.10}]}\n"
		"---\n"
		"apiVersion: discovery.k8s.io/v1\n"
		"kind: EndpointSlice\n"
		"metadata:\n"
		"  name: web-abc\n"
		"  namespace: default\n"
		"  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv4\n"
		"ports: [{name: %s, port: 8080, protocol: TCP}]\n"
		"endpoints:\n%s",
		pname, extra, pname, eps);
	return buf;
}

static const char *svc_yaml(const char *eps, const char *extra)
{
	return svc_yaml_port(eps, extra, "http");
}

static int desired_from(const char *yaml, struct xlb_desired *d)
{
	struct xlb_translate_opts o = { .node_name = "node1" };
	struct k8s_cache *c = NULL;
	int err;

	err = k8s_cache_load_buf(yaml, strlen(yaml), "test", &c, NULL);
	if (err)
		return err;
	err = xlb_translate(c, &o, d, NULL);
	k8s_cache_free(c);
	return err;
}

static struct xlb_dp *load_opts(const struct xlb_dp_opts *o)
{
	xlb_log_set_level(XLB_LOG_WARN);
	return xlb_dp_load(o);
}

static struct xlb_dp *load(void)
{
	struct xlb_dp_opts o = { .cfg = XLB_CFG_DEFAULT, .max_ct = 1024, .max_tables = 256 };

	return load_opts(&o);
}

static bool get_svc(struct xlb_dp *dp, __u32 addr, __u16 port, __u8 scope, struct xlb_svc *v)
{
	struct xlb_svc_key k = { .addr.v4 = addr,
				 .port = htons(port),
				 .proto = IPPROTO_TCP,
				 .family = XLB_AF_INET,
				 .scope = scope };

	return !bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_SVC), &k, v);
}

static size_t count_keys(struct xlb_dp *dp, enum xlb_dp_map m, size_t ksz)
{
	char k[64], next[64];
	void *prev = NULL;
	size_t n = 0;

	while (!bpf_map_get_next_key(xlb_dp_map_fd(dp, m), prev, next)) {
		memcpy(k, next, ksz);
		prev = k;
		n++;
	}
	return n;
}

/* Slots of xlb_maglev that hold a table (an array always has every key). */
static size_t count_tables(struct xlb_dp *dp)
{
	size_t n = 0;

	for (__u32 i = 0; i < 256; i++) {
		__u32 id;

		n += !bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_MAGLEV), &i, &id);
	}
	return n;
}

static bool range_present(struct xlb_dp *dp, __u32 svc_id, const char *net, __u8 plen)
{
	struct xlb_src_key k = { .prefixlen = 32 + plen, .id = xlb_src_id(svc_id, XLB_AF_INET) };
	__u32 v;

	inet_pton(AF_INET, net, k.addr);
	/* An exact-key lookup on an LPM trie is a longest match, so check
	 * by walking the keys instead. */
	(void)v;
	{
		struct xlb_src_key cur, next;
		void *prev = NULL;

		while (!bpf_map_get_next_key(xlb_dp_map_fd(dp, XLB_DPM_SRC_RANGES), prev, &next)) {
			if (!memcmp(&next, &k, sizeof(k)))
				return true;
			cur = next;
			prev = &cur;
		}
	}
	return false;
}

#define EP(addr, node) \
	"- addresses: [" addr "]\n  conditions: {ready: true}\n  nodeName: " node "\n"

XT_TEST(apply_change_remove)
{
	struct xlb_dp *dp = load();
	struct xlb_sync_opts so = { .maglev_min = 251, .max_tables = 256 };
	struct xlb_desired d = { 0 };
	struct xlb_sync_stats st;
	struct xlb_sync *s = NULL;
	struct xlb_svc vip, np, vip2;
	__u32 table[1], m = 0;
	int counts[2] = { 0 };

	if (!ASSERT_TRUE(dp, "load"))
		return;
	s = xlb_sync_new(dp, &so);
	if (!ASSERT_TRUE(s, "sync_new"))
		goto out;

	/* Two endpoints, source ranges and ClientIP affinity. */
	if (!ASSERT_OK(
		    desired_from(
			    svc_yaml(
				    EP("10.1.1.2", "node1") EP("10.2.1.2", "node2"),
				    "  loadBalancerSourceRanges: [10.0.0.0/30, 198.51.100.0/24]\n"
				    "  sessionAffinity: ClientIP\n"
				    "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n"),
			    &d),
		    "translate"))
		goto out;
	if (!ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_EQ(st.svc_added, 1, "services added");
	ASSERT_EQ(st.frontends_written, 2, "VIP + NodePort written");
	if (!ASSERT_TRUE(get_svc(dp, inet_addr("192.0.2.10"), 80, XLB_SCOPE_VIP, &vip),
			 "VIP frontend") ||
	    !ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &np), "NodePort frontend"))
		goto out;
	ASSERT_TRUE(vip.flags & XLB_SVC_F_SOURCE_RANGES, "VIP checks source ranges");
	ASSERT_TRUE(!(np.flags & XLB_SVC_F_SOURCE_RANGES), "NodePort bypasses source ranges");
	ASSERT_EQ(vip.affinity_timeout, 600, "affinity timeout");
	ASSERT_EQ(vip.backend_count, 2, "backend count");
	ASSERT_EQ(vip.total_count, 2, "total count");
	ASSERT_EQ(vip.table_id, np.table_id, "one table for the service port");
	ASSERT_EQ(vip.maglev_size, 251, "M for 2 backends (>= 100 per backend, at least 251)");
	ASSERT_TRUE(range_present(dp, vip.svc_id, "10.0.0.0", 30), "range 10.0.0.0/30");
	ASSERT_TRUE(range_present(dp, vip.svc_id, "198.51.100.0", 24), "range 198.51.100.0/24");
	ASSERT_EQ(count_keys(dp, XLB_DPM_BACKENDS, 4), 2, "two backends");
	if (ASSERT_OK(xlb_dp_table_get(dp, vip.table_id, table, &m, 0), "table readable")) {
		__u32 *t = calloc(m, sizeof(*t));

		if (t && !xlb_dp_table_get(dp, vip.table_id, t, &m, m)) {
			for (__u32 i = 0; i < m; i++) {
				struct xlb_backend b;

				if (bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_BACKENDS), &t[i],
							&b))
					continue;
				counts[b.addr.v4 == inet_addr("10.1.1.2") ? 0 : 1]++;
			}
		}
		free(t);
		ASSERT_EQ(counts[0] + counts[1], 251, "every table entry names a backend");
		ASSERT_LE(abs(counts[0] - counts[1]), 1, "balanced");
	}

	/* One endpoint leaves, ranges and affinity go away. */
	if (!ASSERT_OK(desired_from(svc_yaml(EP("10.1.1.2", "node1"), ""), &d), "translate 2") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply 2"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_EQ(st.tables_built, 1, "a new table");
	ASSERT_EQ(st.backends_removed, 1, "backend removed");
	get_svc(dp, inet_addr("192.0.2.10"), 80, XLB_SCOPE_VIP, &vip2);
	ASSERT_NEQ(vip2.table_id, vip.table_id, "table swapped to a fresh slot");
	ASSERT_EQ(vip2.backend_count, 1, "backend count 1");
	ASSERT_EQ(vip2.affinity_timeout, 0, "affinity off");
	ASSERT_TRUE(!(vip2.flags & XLB_SVC_F_SOURCE_RANGES), "no source ranges");
	ASSERT_EQ(count_keys(dp, XLB_DPM_SRC_RANGES, sizeof(struct xlb_src_key)), 0,
		  "ranges removed");
	ASSERT_EQ(count_tables(dp), 1, "old table slot freed");

	/* A second agent adopts the maps: same ids, nothing lost. */
	xlb_sync_free(s);
	s = xlb_sync_new(dp, &so);
	if (!ASSERT_TRUE(s, "adopt") ||
	    !ASSERT_OK(desired_from(svc_yaml(EP("10.1.1.2", "node1"), ""), &d), "translate 3") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply 3"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_EQ(st.svc_added, 0, "adopted, not added");
	ASSERT_EQ(st.backends_removed, 0, "backends kept");
	ASSERT_EQ(count_keys(dp, XLB_DPM_BACKENDS, 4), 1, "one backend");
	get_svc(dp, inet_addr("192.0.2.10"), 80, XLB_SCOPE_VIP, &vip);
	ASSERT_EQ(vip.svc_id, vip2.svc_id, "service id kept across restart");
	ASSERT_EQ(count_tables(dp), 1, "one table after adoption");

	/* Everything removed. */
	if (!ASSERT_OK(xlb_sync_apply(s, &(struct xlb_desired){ 0 }, &st), "apply empty"))
		goto out;
	ASSERT_EQ(st.svc_removed, 1, "service removed");
	ASSERT_EQ(count_keys(dp, XLB_DPM_SVC, sizeof(struct xlb_svc_key)), 0, "no frontends");
	ASSERT_EQ(count_keys(dp, XLB_DPM_BACKENDS, 4), 0, "no backends");
	ASSERT_EQ(count_tables(dp), 0, "no tables");
	ASSERT_EQ(count_keys(dp, XLB_DPM_SVC_META, 4), 0, "no names");
out:
	xlb_desired_free(&d);
	xlb_sync_free(s);
	xlb_dp_close(dp);
}

/* Renaming a port moves its frontends to another service port in one
 * apply: they must end up present (written by the new owner, not deleted
 * for the old one). */
XT_TEST(frontend_moves_between_service_ports)
{
	struct xlb_dp *dp = load();
	struct xlb_sync_opts so = { .maglev_min = 251, .max_tables = 256 };
	struct xlb_desired d = { 0 };
	struct xlb_sync *s = NULL;
	struct xlb_sync_stats st;
	struct xlb_svc v;

	if (!ASSERT_TRUE(dp, "load") || !ASSERT_TRUE(s = xlb_sync_new(dp, &so), "sync"))
		goto out;
	if (!ASSERT_OK(desired_from(svc_yaml_port(EP("10.1.1.2", "node1"), "", "http"), &d),
		       "translate") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply"))
		goto out;
	xlb_desired_free(&d);
	if (!ASSERT_OK(desired_from(svc_yaml_port(EP("10.1.1.2", "node1"), "", "web"), &d),
		       "translate renamed") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply renamed"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_EQ(st.svc_added, 1, "new service port");
	ASSERT_EQ(st.svc_removed, 1, "old service port");
	ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &v), "NodePort frontend present");
	ASSERT_TRUE(get_svc(dp, inet_addr("192.0.2.10"), 80, XLB_SCOPE_VIP, &v),
		    "VIP frontend present");
	/* And it stays present on the next, unchanged apply. */
	if (ASSERT_OK(desired_from(svc_yaml_port(EP("10.1.1.2", "node1"), "", "web"), &d),
		      "translate again") &&
	    ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply again"))
		ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &v), "still present");
out:
	xlb_desired_free(&d);
	xlb_sync_free(s);
	xlb_dp_close(dp);
}

/* A table that cannot be built (here: no table size fits) leaves the
 * service port exactly as it was: frontends on the old table, and the
 * backends that table names still in place. */
XT_TEST(failed_table_keeps_old_state)
{
	struct xlb_dp *dp = load();
	struct xlb_sync_opts so = { .maglev_min = 251, .max_tables = 256 };
	struct xlb_sync_opts bad = { .maglev_min = 200000, .max_tables = 256 };
	struct xlb_desired d = { 0 };
	struct xlb_sync *s = NULL;
	struct xlb_sync_stats st;
	struct xlb_svc before, after;
	int err;

	if (!ASSERT_TRUE(dp, "load") || !ASSERT_TRUE(s = xlb_sync_new(dp, &so), "sync"))
		goto out;
	if (!ASSERT_OK(
		    desired_from(svc_yaml(EP("10.1.1.2", "node1") EP("10.1.1.3", "node1"), ""), &d),
		    "translate") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply"))
		goto out;
	xlb_desired_free(&d);
	get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &before);
	xlb_sync_free(s);
	s = xlb_sync_new(dp, &bad);
	if (!ASSERT_TRUE(s, "sync with an impossible table size") ||
	    !ASSERT_OK(
		    desired_from(svc_yaml(EP("10.1.1.2", "node1") EP("10.1.1.4", "node1"), ""), &d),
		    "translate 2"))
		goto out;
	err = xlb_sync_apply(s, &d, &st);
	xlb_desired_free(&d);
	ASSERT_NEQ(err, 0, "apply reports the failure");
	ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &after), "frontend kept");
	ASSERT_EQ(after.table_id, before.table_id, "same table");
	ASSERT_EQ(after.backend_count, 2, "same backend count");
	ASSERT_EQ(count_keys(dp, XLB_DPM_BACKENDS, 4), 2, "the two old backends, no new one");
	ASSERT_EQ(count_tables(dp), 1, "one table");
out:
	xlb_desired_free(&d);
	xlb_sync_free(s);
	xlb_dp_close(dp);
}

/* A restart with another --ct-max keeps the pinned conntrack (and its
 * flows) instead of failing to load. */
XT_TEST(pinned_conntrack_survives_size_change)
{
	char dir[] = "/tmp/xlb-sync-test.XXXXXX", pin[64];
	struct xlb_dp_opts o = { .cfg = XLB_CFG_DEFAULT, .max_ct = 1024, .max_tables = 64 };
	struct xlb_ct_key k = { .saddr.v4 = 1, .proto = IPPROTO_TCP, .family = XLB_AF_INET };
	struct xlb_ct v = { .kind = XLB_CT_FWD_LOCAL }, got;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct xlb_dp *dp = NULL;

	/* A private mount namespace: the bpffs goes away with the process. */
	if (!ASSERT_OK(unshare(CLONE_NEWNS) ? -errno : 0, "unshare mount ns") ||
	    !ASSERT_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ? -errno : 0,
		       "private mounts") ||
	    !ASSERT_TRUE(mkdtemp(dir), "mkdtemp") ||
	    !ASSERT_OK(mount("bpf", dir, "bpf", 0, NULL) ? -errno : 0, "mount bpffs"))
		return;
	snprintf(pin, sizeof(pin), "%s/xlb", dir);
	o.pin_dir = pin;
	dp = load_opts(&o);
	if (!ASSERT_TRUE(dp, "first load"))
		goto out;
	bpf_map_update_elem(xlb_dp_map_fd_rw(dp, XLB_DPM_CT), &k, &v, BPF_ANY);
	xlb_dp_close(dp);

	o.max_ct = 4096;
	dp = load_opts(&o);
	if (!ASSERT_TRUE(dp, "load with another --ct-max"))
		goto out;
	ASSERT_OK(bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_CT), &k, &got),
		  "conntrack entry survived");
	bpf_obj_get_info_by_fd(xlb_dp_map_fd(dp, XLB_DPM_CT), &info, &len);
	ASSERT_EQ(info.max_entries, 1024, "pinned size kept");
out:
	xlb_dp_close(dp);
	xlb_dp_unpin(pin);
	umount(dir);
	rmdir(dir);
}

/* n endpoints 10.<net>.x.y on node2, as one slice (the API caps a slice at
 * 1000; the parser does not, and translate merges slices anyway). */
static char *big_yaml(int n, int net)
{
	/* svc_yaml() ends with "endpoints:\n" and has no room for 2000 */
	const char *head = svc_yaml("", "");
	size_t cap = strlen(head) + (size_t)n * 80 + 1, len = strlen(head);
	char *out = malloc(cap);

	if (!out)
		return NULL;
	memcpy(out, head, len + 1);
	for (int i = 0; i < n; i++)
		len += snprintf(out + len, cap - len, EP("10.%d.%d.%d", "node2"), net, i / 250,
				i % 250 + 1);
	return out;
}

/* Backends in the map whose address is in 10.<net>.0.0/16, and in total. */
static size_t count_backends_in(struct xlb_dp *dp, int net, size_t *total)
{
	__u32 k, *prev = NULL;
	size_t n = 0;

	*total = 0;
	while (!bpf_map_get_next_key(xlb_dp_map_fd(dp, XLB_DPM_BACKENDS), prev, &k)) {
		struct xlb_backend b;

		if (!bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_BACKENDS), &k, &b)) {
			const __u8 *a = (const __u8 *)&b.addr.v4;

			(*total)++;
			n += a[0] == 10 && a[1] == net;
		}
		prev = &k;
	}
	return n;
}

/*
 * Review finding H2: more than ~1310 backends found no table size, so a
 * big Service was never programmed, or kept its old (deleted) backends
 * forever. Now it gets the largest table, and a rolling update that
 * replaces every endpoint leaves only the new ones.
 */
XT_TEST(big_service_follows_rolling_update)
{
	struct xlb_dp_opts o = { .cfg = XLB_CFG_DEFAULT, .max_ct = 1024, .max_tables = 256 };
	struct xlb_sync_opts so = { .max_tables = 256 };
	struct xlb_desired d = { 0 };
	struct xlb_sync *s = NULL;
	struct xlb_sync_stats st;
	struct xlb_dp *dp = load_opts(&o);
	struct xlb_svc v;
	__u32 *ids = malloc(sizeof(*ids) * 131071), m = 0;
	char *y = NULL;
	size_t total;

	if (!ASSERT_TRUE(dp && ids, "load") || !ASSERT_TRUE(s = xlb_sync_new(dp, &so), "sync"))
		goto out;
	for (int round = 0; round < 2; round++) {
		int net = 20 + round;
		size_t holes = 0;

		free(y);
		y = big_yaml(2000, net);
		if (!ASSERT_TRUE(y, "yaml") || !ASSERT_OK(desired_from(y, &d), "translate") ||
		    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply 2000 endpoints"))
			goto out;
		xlb_desired_free(&d);
		ASSERT_EQ(st.tables_undersized, 1, "undersized table reported");
		if (!ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &v), "frontend"))
			goto out;
		ASSERT_EQ(v.backend_count, 2000, "all 2000 backends");
		ASSERT_EQ(v.maglev_size, 131071, "the largest table");
		ASSERT_EQ(count_backends_in(dp, net, &total), 2000, "the current endpoints");
		ASSERT_EQ(total, 2000, "and nothing else (old ones gone)");
		if (ASSERT_OK(xlb_dp_table_get(dp, v.table_id, ids, &m, 131071), "read table") &&
		    ASSERT_EQ(m, 131071, "table size")) {
			for (__u32 i = 0; i < m; i++) {
				struct xlb_backend b;

				holes += bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_BACKENDS),
							     &ids[i], &b) != 0;
			}
			ASSERT_EQ(holes, 0, "every slot names a live backend");
		}
	}
out:
	free(y);
	free(ids);
	xlb_desired_free(&d);
	xlb_sync_free(s);
	xlb_dp_close(dp);
}

/*
 * Review finding M2: a backend write that fails (map full) left the new
 * table naming a backend that is not there. Now the service port keeps its
 * previous state whole and the backends written for the new one are taken
 * back.
 */
XT_TEST(failed_backend_write_keeps_old_state)
{
	struct xlb_dp_opts o = {
		.cfg = XLB_CFG_DEFAULT, .max_ct = 1024, .max_tables = 256, .max_backends = 3
	};
	struct xlb_sync_opts so = { .max_tables = 256 };
	struct xlb_desired d = { 0 };
	struct xlb_sync *s = NULL;
	struct xlb_sync_stats st;
	struct xlb_dp *dp = load_opts(&o);
	struct xlb_svc before, after;
	size_t total;
	int err;

	if (!ASSERT_TRUE(dp, "load") || !ASSERT_TRUE(s = xlb_sync_new(dp, &so), "sync"))
		goto out;
	if (!ASSERT_OK(desired_from(svc_yaml(EP("10.30.0.1", "node2") EP("10.30.0.2", "node2"), ""),
				    &d),
		       "translate") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply"))
		goto out;
	xlb_desired_free(&d);
	get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &before);
	/* Two new backends next to the two old ones: the map holds three. */
	if (!ASSERT_OK(desired_from(svc_yaml(EP("10.31.0.1", "node2") EP("10.31.0.2", "node2"), ""),
				    &d),
		       "translate 2"))
		goto out;
	err = xlb_sync_apply(s, &d, &st);
	xlb_desired_free(&d);
	ASSERT_NEQ(err, 0, "apply reports the full map");
	ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &after), "frontend kept");
	ASSERT_EQ(after.table_id, before.table_id, "same table");
	ASSERT_EQ(after.backend_count, 2, "same backends");
	ASSERT_EQ(count_backends_in(dp, 30, &total), 2, "old backends kept");
	ASSERT_EQ(total, 2, "the new one written is taken back");
	ASSERT_EQ(count_tables(dp), 1, "no second table");
out:
	xlb_desired_free(&d);
	xlb_sync_free(s);
	xlb_dp_close(dp);
}

/* Delete every key of a hash map. */
static void clear_map(struct xlb_dp *dp, enum xlb_dp_map m, size_t ksz)
{
	char k[64];

	while (!bpf_map_get_next_key(xlb_dp_map_fd(dp, m), NULL, k))
		if (bpf_map_delete_elem(xlb_dp_map_fd_rw(dp, m), k))
			break;
	(void)ksz;
}

/*
 * Review finding L2: an upgrade that replaces xlb_svc and xlb_svc_meta
 * (another layout) leaves backends and tables nothing names, which the
 * program still attached uses. Adopting must not delete them; the first
 * apply writes the new state and then removes them.
 */
XT_TEST(adopt_keeps_unnamed_state_until_first_apply)
{
	struct xlb_dp *dp = load();
	struct xlb_sync_opts so = { .maglev_min = 251, .max_tables = 256 };
	struct xlb_desired d = { 0 };
	struct xlb_sync *s = NULL;
	struct xlb_sync_stats st;
	struct xlb_svc v;
	size_t total;

	if (!ASSERT_TRUE(dp, "load") || !ASSERT_TRUE(s = xlb_sync_new(dp, &so), "sync") ||
	    !ASSERT_OK(desired_from(svc_yaml(EP("10.40.0.1", "node2") EP("10.40.0.2", "node2"), ""),
				    &d),
		       "translate") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply"))
		goto out;
	xlb_sync_free(s);
	s = NULL;
	/* What a new agent sees when those two maps were replaced. */
	clear_map(dp, XLB_DPM_SVC, sizeof(struct xlb_svc_key));
	clear_map(dp, XLB_DPM_SVC_META, sizeof(__u32));
	if (!ASSERT_TRUE(s = xlb_sync_new(dp, &so), "adopt"))
		goto out;
	ASSERT_EQ(count_backends_in(dp, 40, &total), 2, "backends kept while adopting");
	ASSERT_EQ(count_tables(dp), 1, "table kept while adopting");
	if (!ASSERT_OK(xlb_sync_apply(s, &d, &st), "first apply"))
		goto out;
	ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &v), "frontend written");
	ASSERT_EQ(v.backend_count, 2, "its backends");
	ASSERT_EQ(count_backends_in(dp, 40, &total), 2, "the two backends of the new state");
	ASSERT_EQ(total, 2, "the unnamed old ones removed after it");
	ASSERT_EQ(count_tables(dp), 1, "the unnamed old table removed after it");
out:
	xlb_desired_free(&d);
	xlb_sync_free(s);
	xlb_dp_close(dp);
}

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

/* ---- dual stack --------------------------------------------------------- */

static const char *dual_yaml(const char *policy, const char *families, const char *cluster_ips,
			     const char *ingress, const char *eps4, const char *eps6)
{
	static char buf[8192];

	snprintf(
		buf, sizeof(buf),
		"apiVersion: v1\n"
		"kind: Service\n"
		"metadata: {name: web, namespace: default}\n"
		"spec:\n"
		"  type: LoadBalancer\n"
		"  ipFamilyPolicy: %s\n"
		"  ipFamilies: [%s]\n"
		"  clusterIPs: [%s]\n"
		"  ports: [{name: http, port: 80, protocol: TCP, targetPort: 8080, nodePort: 30080}]\n"
		"  loadBalancerSourceRanges: [10.0.0.0/30, 2001:db8:aa::/48]\n"
		"  sessionAffinity: ClientIP\n"
		"  sessionAffinityConfig: {clientIP: {timeoutSeconds: 300}}\n"
		"status:\n"
		"  loadBalancer: {ingress: [%s]}\n"
		"---\n"
		"apiVersion: discovery.k8s.io/v1\n"
		"kind: EndpointSlice\n"
		"metadata:\n"
		"  name: web-v4\n"
		"  namespace: default\n"
		"  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv4\n"
		"ports: [{name: http, port: 8080, protocol: TCP}]\n"
		"endpoints:\n%s"
		"---\n"
		"apiVersion: discovery.k8s.io/v1\n"
		"kind: EndpointSlice\n"
		"metadata:\n"
		"  name: web-v6\n"
		"  namespace: default\n"
		"  labels: {kubernetes.io/service-name: web}\n"
		"addressType: IPv6\n"
		"ports: [{name: http, port: 8080, protocol: TCP}]\n"
		"endpoints:\n%s",
		policy, families, cluster_ips, ingress, eps4, eps6);
	return buf;
}

#define DUAL_INGRESS "{ip: 192.0.2.10}, {ip: '2001:db8::10'}"
#define DUAL_EPS4    EP("10.1.1.2", "node1") EP("10.2.1.2", "node2")
#define DUAL_EPS6    EP("'fd00:1::2'", "node1") EP("'fd00:2::2'", "node2") EP("'fd00:2::3'", "node2")

static bool get_svc6(struct xlb_dp *dp, const char *addr, __u16 port, __u8 scope, struct xlb_svc *v)
{
	struct xlb_svc_key k = {
		.port = htons(port), .proto = IPPROTO_TCP, .family = XLB_AF_INET6, .scope = scope
	};

	if (addr)
		inet_pton(AF_INET6, addr, k.addr.bytes);
	return !bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_SVC), &k, v);
}

/* Every slot of @v's table names a backend of @family; returns how many
 * distinct backends it names (0 on any other family or a missing one). */
static int table_family(struct xlb_dp *dp, const struct xlb_svc *v, __u8 family)
{
	__u32 m = v->maglev_size, *t = calloc(m ? m : 1, sizeof(*t)), seen[16];
	int n = 0;

	if (!t || xlb_dp_table_get(dp, v->table_id, t, &m, m)) {
		free(t);
		return 0;
	}
	for (__u32 i = 0; i < m; i++) {
		struct xlb_backend b;
		bool dup = false;

		if (bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_BACKENDS), &t[i], &b) ||
		    b.family != family || b.svc_id != v->svc_id) {
			n = 0;
			break;
		}
		for (int j = 0; j < n; j++)
			dup |= seen[j] == t[i];
		if (!dup && n < 16)
			seen[n++] = t[i];
	}
	free(t);
	return n;
}

static bool range6_present(struct xlb_dp *dp, __u32 svc_id, const char *net, __u8 plen)
{
	struct xlb_src_key k = { .prefixlen = 32 + plen, .id = xlb_src_id(svc_id, XLB_AF_INET6) };
	struct xlb_src_key cur, next;
	void *prev = NULL;

	inet_pton(AF_INET6, net, k.addr);
	while (!bpf_map_get_next_key(xlb_dp_map_fd(dp, XLB_DPM_SRC_RANGES), prev, &next)) {
		if (!memcmp(&next, &k, sizeof(k)))
			return true;
		cur = next;
		prev = &cur;
	}
	return false;
}

static bool meta_name(struct xlb_dp *dp, __u32 svc_id, const char *want)
{
	struct xlb_svc_meta m;

	return !bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_SVC_META), &svc_id, &m) &&
	       !strcmp(m.name, want);
}

/*
 * A dual-stack Service port is two service ports in the maps: each family
 * its own frontends, table of only its family's backends, counts, source
 * ranges and name; each EndpointSlice feeds its addressType only. Then a
 * restart adopts both, and the Service going SingleStack removes the
 * IPv6 half without touching the IPv4 one.
 */
XT_TEST(dual_stack_service)
{
	struct xlb_dp *dp = load();
	struct xlb_sync_opts so = { .maglev_min = 251, .max_tables = 256 };
	struct xlb_desired d = { 0 };
	struct xlb_sync *s = NULL;
	struct xlb_sync_stats st;
	struct xlb_svc vip4, np4, vip6, np6, v;

	if (!ASSERT_TRUE(dp, "load") || !ASSERT_TRUE(s = xlb_sync_new(dp, &so), "sync"))
		goto out;
	if (!ASSERT_OK(desired_from(dual_yaml("RequireDualStack", "IPv4, IPv6",
					      "10.96.0.10, 'fd00:96::10'", DUAL_INGRESS, DUAL_EPS4,
					      DUAL_EPS6),
				    &d),
		       "translate") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_EQ(st.svc_added, 2, "one service port per family");
	ASSERT_EQ(st.frontends_written, 4, "VIP + NodePort in each family");
	ASSERT_EQ(st.tables_built, 2, "a table per family");
	if (!ASSERT_TRUE(get_svc(dp, inet_addr("192.0.2.10"), 80, XLB_SCOPE_VIP, &vip4),
			 "v4 VIP") ||
	    !ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &np4), "v4 NodePort") ||
	    !ASSERT_TRUE(get_svc6(dp, "2001:db8::10", 80, XLB_SCOPE_VIP, &vip6), "v6 VIP") ||
	    !ASSERT_TRUE(get_svc6(dp, NULL, 30080, XLB_SCOPE_NODEPORT, &np6), "v6 NodePort"))
		goto out;
	ASSERT_EQ(vip4.svc_id, np4.svc_id, "v4 frontends share a service port");
	ASSERT_EQ(vip6.svc_id, np6.svc_id, "v6 frontends share a service port");
	ASSERT_NEQ(vip4.svc_id, vip6.svc_id, "families have their own ids");
	ASSERT_NEQ(vip4.table_id, vip6.table_id, "and their own tables");
	ASSERT_EQ(vip4.backend_count, 2, "v4 backends");
	ASSERT_EQ(vip4.total_count, 2, "v4 ready cluster-wide");
	ASSERT_EQ(vip6.backend_count, 3, "v6 backends");
	ASSERT_EQ(vip6.total_count, 3, "v6 ready cluster-wide");
	ASSERT_EQ(table_family(dp, &vip4, XLB_AF_INET), 2, "v4 table: only v4 backends");
	ASSERT_EQ(table_family(dp, &vip6, XLB_AF_INET6), 3, "v6 table: only v6 backends");
	ASSERT_EQ(vip6.affinity_timeout, 300, "v6 affinity");
	ASSERT_TRUE(vip6.flags & XLB_SVC_F_SOURCE_RANGES, "v6 VIP checks source ranges");
	ASSERT_TRUE(!(np6.flags & XLB_SVC_F_SOURCE_RANGES), "v6 NodePort does not");
	ASSERT_TRUE(range_present(dp, vip4.svc_id, "10.0.0.0", 30), "v4 range under v4 id");
	ASSERT_TRUE(range6_present(dp, vip6.svc_id, "2001:db8:aa::", 48), "v6 range under v6 id");
	ASSERT_TRUE(!range6_present(dp, vip4.svc_id, "2001:db8:aa::", 48), "not under v4 id");
	ASSERT_EQ(count_keys(dp, XLB_DPM_SRC_RANGES, sizeof(struct xlb_src_key)), 2, "two ranges");
	ASSERT_TRUE(meta_name(dp, vip4.svc_id, "default/web:http/TCP"), "v4 name");
	ASSERT_TRUE(meta_name(dp, vip6.svc_id, "default/web:http/TCP" XLB_SVC_V6_SUFFIX),
		    "v6 name");

	/* A restart adopts both halves (tables are rebuilt: adopt.c does not
	 * trust them), same ids, nothing added or removed. */
	xlb_sync_free(s);
	if (!ASSERT_TRUE(s = xlb_sync_new(dp, &so), "adopt") ||
	    !ASSERT_OK(desired_from(dual_yaml("RequireDualStack", "IPv4, IPv6",
					      "10.96.0.10, 'fd00:96::10'", DUAL_INGRESS, DUAL_EPS4,
					      DUAL_EPS6),
				    &d),
		       "translate 2") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply 2"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_EQ(st.svc_added + st.svc_removed + st.backends_removed, 0, "adopted, not replaced");
	ASSERT_TRUE(get_svc6(dp, "2001:db8::10", 80, XLB_SCOPE_VIP, &v), "v6 VIP kept");
	ASSERT_EQ(v.svc_id, vip6.svc_id, "v6 id kept across restart");
	ASSERT_TRUE(get_svc(dp, inet_addr("192.0.2.10"), 80, XLB_SCOPE_VIP, &vip4), "v4 VIP kept");
	ASSERT_EQ(vip4.svc_id, np4.svc_id, "v4 id kept across restart");
	ASSERT_EQ(count_keys(dp, XLB_DPM_BACKENDS, 4), 5, "five backends");
	ASSERT_EQ(count_tables(dp), 2, "two tables");

	/* One IPv6 endpoint leaves: only the IPv6 half changes. */
	if (!ASSERT_OK(
		    desired_from(dual_yaml("RequireDualStack", "IPv4, IPv6",
					   "10.96.0.10, 'fd00:96::10'", DUAL_INGRESS, DUAL_EPS4,
					   EP("'fd00:1::2'", "node1") EP("'fd00:2::2'", "node2")),
				 &d),
		    "translate 3") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply 3"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_EQ(st.svc_changed, 1, "one half changed");
	ASSERT_EQ(st.tables_built, 1, "one table rebuilt");
	ASSERT_EQ(st.backends_removed, 1, "the v6 backend removed");
	get_svc(dp, inet_addr("192.0.2.10"), 80, XLB_SCOPE_VIP, &v);
	ASSERT_EQ(v.table_id, vip4.table_id, "v4 table untouched");
	get_svc6(dp, "2001:db8::10", 80, XLB_SCOPE_VIP, &v);
	ASSERT_EQ(v.backend_count, 2, "v6 now 2 backends");

	/* SingleStack IPv4 (the IPv6 cluster IP released): the IPv6 half goes
	 * whole, the IPv6 slice feeds nothing, the IPv4 half stays. */
	if (!ASSERT_OK(desired_from(dual_yaml("SingleStack", "IPv4", "10.96.0.10", DUAL_INGRESS,
					      DUAL_EPS4, DUAL_EPS6),
				    &d),
		       "translate 4") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply 4"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_EQ(st.svc_removed, 1, "v6 half removed");
	ASSERT_EQ(st.svc_changed + st.svc_added, 0, "v4 half untouched");
	ASSERT_TRUE(!get_svc6(dp, "2001:db8::10", 80, XLB_SCOPE_VIP, &v), "v6 VIP gone");
	ASSERT_TRUE(!get_svc6(dp, NULL, 30080, XLB_SCOPE_NODEPORT, &v), "v6 NodePort gone");
	ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &v), "v4 NodePort stays");
	ASSERT_EQ(count_keys(dp, XLB_DPM_BACKENDS, 4), 2, "only v4 backends");
	ASSERT_EQ(count_keys(dp, XLB_DPM_SRC_RANGES, sizeof(struct xlb_src_key)), 1,
		  "only the v4 range");
	ASSERT_TRUE(!meta_name(dp, vip6.svc_id, "default/web:http/TCP" XLB_SVC_V6_SUFFIX),
		    "v6 name gone");

	/* SingleStack IPv6: the IPv4 half goes, the IPv6 one comes back. */
	if (!ASSERT_OK(desired_from(dual_yaml("SingleStack", "IPv6", "'fd00:96::10'", DUAL_INGRESS,
					      DUAL_EPS4, DUAL_EPS6),
				    &d),
		       "translate 5") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply 5"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_EQ(st.svc_removed, 1, "v4 half removed");
	ASSERT_EQ(st.svc_added, 1, "v6 half added");
	ASSERT_TRUE(!get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &v), "v4 NodePort gone");
	if (ASSERT_TRUE(get_svc6(dp, NULL, 30080, XLB_SCOPE_NODEPORT, &v), "v6 NodePort")) {
		ASSERT_EQ(v.backend_count, 3, "v6 backends");
		ASSERT_EQ(table_family(dp, &v, XLB_AF_INET6), 3, "v6 table");
	}
	ASSERT_EQ(count_keys(dp, XLB_DPM_BACKENDS, 4), 3, "only v6 backends");

	/* PreferDualStack on a single-stack cluster (one cluster IP
	 * allocated): served in that family only. */
	if (!ASSERT_OK(desired_from(dual_yaml("PreferDualStack", "IPv4", "10.96.0.10", DUAL_INGRESS,
					      DUAL_EPS4, DUAL_EPS6),
				    &d),
		       "translate 6") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply 6"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &v), "v4 NodePort");
	ASSERT_TRUE(!get_svc6(dp, NULL, 30080, XLB_SCOPE_NODEPORT, &v), "no v6 NodePort");
	ASSERT_EQ(count_keys(dp, XLB_DPM_SVC, sizeof(struct xlb_svc_key)), 2, "v4 VIP + NodePort");

	/* A file without cluster IPs (not allocated by an API server):
	 * ipFamilies decide, here IPv6 first, both served. */
	if (!ASSERT_OK(desired_from(dual_yaml("PreferDualStack", "IPv6, IPv4", "", DUAL_INGRESS,
					      DUAL_EPS4, DUAL_EPS6),
				    &d),
		       "translate 7") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply 7"))
		goto out;
	xlb_desired_free(&d);
	ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &v), "v4 NodePort from ipFamilies");
	ASSERT_TRUE(get_svc6(dp, NULL, 30080, XLB_SCOPE_NODEPORT, &v),
		    "v6 NodePort from ipFamilies");
	ASSERT_EQ(count_keys(dp, XLB_DPM_SVC, sizeof(struct xlb_svc_key)), 4, "both families");
out:
	xlb_desired_free(&d);
	xlb_sync_free(s);
	xlb_dp_close(dp);
}

/*
 * A malformed IPv6 address rejects its object by name; the others are
 * applied: here the IPv6 slice is rejected (the IPv6 half has no
 * endpoints), and a second Service with a bad IPv6 externalIP is
 * rejected whole while the first is served in both families.
 */
XT_TEST(dual_stack_malformed_ipv6_rejected_by_name)
{
	struct xlb_translate_opts o = { .node_name = "node1" };
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_dp *dp = load();
	struct xlb_sync_opts so = { .maglev_min = 251, .max_tables = 256 };
	struct xlb_desired d = { 0 };
	struct xlb_sync *s = NULL;
	struct k8s_cache *c = NULL;
	struct xlb_sync_stats st;
	struct xlb_svc v;
	char yaml[12288];
	bool slice_named = false, svc_named = false;

	snprintf(yaml, sizeof(yaml),
		 "%s---\n"
		 "apiVersion: v1\n"
		 "kind: Service\n"
		 "metadata: {name: bad, namespace: default}\n"
		 "spec:\n"
		 "  type: NodePort\n"
		 "  ipFamilyPolicy: RequireDualStack\n"
		 "  ipFamilies: [IPv4, IPv6]\n"
		 "  clusterIPs: [10.96.0.11, 'fd00:96::11']\n"
		 "  externalIPs: ['2001:db8::1::2']\n"
		 "  ports: [{port: 81, protocol: TCP, targetPort: 8080, nodePort: 30081}]\n",
		 dual_yaml("RequireDualStack", "IPv4, IPv6", "10.96.0.10, 'fd00:96::10'",
			   DUAL_INGRESS, DUAL_EPS4,
			   EP("'fd00:1::2'", "node1") EP("'fd00:1::zz'", "node1")));
	if (!ASSERT_TRUE(dp, "load") || !ASSERT_TRUE(s = xlb_sync_new(dp, &so), "sync"))
		goto out;
	k8s_cache_load_buf(yaml, strlen(yaml), "test", &c, &errs);
	if (!ASSERT_TRUE(c, "cache") || !ASSERT_OK(xlb_translate(c, &o, &d, NULL), "translate") ||
	    !ASSERT_OK(xlb_sync_apply(s, &d, &st), "apply"))
		goto out;
	for (size_t i = 0; i < errs.n; i++) {
		slice_named |= strstr(errs.v[i].msg, "EndpointSlice default/web-v6") &&
			       strstr(errs.v[i].msg, "fd00:1::zz");
		svc_named |= strstr(errs.v[i].msg, "Service default/bad") &&
			     strstr(errs.v[i].msg, "2001:db8::1::2");
	}
	ASSERT_TRUE(slice_named, "the slice named with the address");
	ASSERT_TRUE(svc_named, "the Service named with the address");
	ASSERT_TRUE(!get_svc(dp, 0, 30081, XLB_SCOPE_NODEPORT, &v), "bad Service not applied");
	ASSERT_TRUE(!get_svc6(dp, NULL, 30081, XLB_SCOPE_NODEPORT, &v), "nor its v6 half");
	ASSERT_TRUE(get_svc(dp, 0, 30080, XLB_SCOPE_NODEPORT, &v), "good Service v4");
	ASSERT_EQ(v.backend_count, 2, "v4 slice applied");
	if (ASSERT_TRUE(get_svc6(dp, NULL, 30080, XLB_SCOPE_NODEPORT, &v), "good Service v6"))
		ASSERT_EQ(v.backend_count, 0, "rejected v6 slice feeds nothing");
out:
	k8s_errors_free(&errs);
	k8s_cache_free(c);
	xlb_desired_free(&d);
	xlb_sync_free(s);
	xlb_dp_close(dp);
}

/* Node addresses of both families, and each interface's SNAT source per
 * family (xlb_iface.snat6), a dedicated IPv6 one as SNAT-only; replaced
 * sets leave nothing stale. */
XT_TEST(node_addresses_both_families)
{
	struct xlb_dp *dp = load();
	struct xlb_sync_opts so = { .maglev_min = 251, .max_tables = 256 };
	struct xlb_sync *s = NULL;
	struct xlb_addr_key addrs[2] = { { .addr.v4 = inet_addr("192.0.2.1"),
					   .family = XLB_AF_INET },
					 { .family = XLB_AF_INET6 } };
	struct xlb_node_iface ifs[1] = { { .ifindex = 7, .addr4 = inet_addr("192.0.2.1") } };
	struct xlb_addr_key sk6 = { .family = XLB_AF_INET6 };
	struct xlb_node_addr na;
	struct xlb_iface v;
	union xlb_addr want;

	if (!ASSERT_TRUE(dp, "load") || !ASSERT_TRUE(s = xlb_sync_new(dp, &so), "sync"))
		goto out;
	inet_pton(AF_INET6, "2001:db8:1::1", addrs[1].addr.bytes);
	inet_pton(AF_INET6, "2001:db8:1::1", ifs[0].addr6.bytes);
	ASSERT_EQ(xlb_sync_node(s, addrs, 2, ifs, 1), 1, "written");
	ASSERT_OK(bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_NODE_ADDRS), &addrs[1], &na),
		  "IPv6 node address");
	ASSERT_EQ(na.flags, 0, "a NodePort address");
	if (ASSERT_OK(bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_IFACES), &ifs[0].ifindex, &v),
		      "iface")) {
		ASSERT_EQ(v.snat4.v4, inet_addr("192.0.2.1"), "snat4");
		ASSERT_TRUE(!memcmp(&v.snat6, &ifs[0].addr6, 16), "snat6 the first global address");
	}
	ASSERT_EQ(xlb_sync_node(s, addrs, 2, ifs, 1), 0, "unchanged");

	/* --snat-address 2001:db8:ff::1: SNAT-only, not a NodePort. */
	inet_pton(AF_INET6, "2001:db8:ff::1", ifs[0].addr6.bytes);
	ifs[0].snat6_only = 1;
	sk6.addr = ifs[0].addr6;
	ASSERT_EQ(xlb_sync_node(s, addrs, 2, ifs, 1), 1, "rewritten");
	if (ASSERT_OK(bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_NODE_ADDRS), &sk6, &na),
		      "SNAT address listed"))
		ASSERT_EQ(na.flags, XLB_NA_F_SNAT_ONLY, "as SNAT-only");
	bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_IFACES), &ifs[0].ifindex, &v);
	inet_pton(AF_INET6, "2001:db8:ff::1", want.bytes);
	ASSERT_TRUE(!memcmp(&v.snat6, &want, 16), "snat6 the dedicated address");
	ASSERT_EQ(count_keys(dp, XLB_DPM_NODE_ADDRS, sizeof(struct xlb_addr_key)), 3,
		  "v4, v6, v6 SNAT-only");

	/* The IPv6 address leaves the node: both its entries go. */
	ifs[0].snat6_only = 0;
	memset(&ifs[0].addr6, 0, sizeof(ifs[0].addr6));
	ASSERT_EQ(xlb_sync_node(s, addrs, 1, ifs, 1), 1, "IPv4 only");
	ASSERT_EQ(count_keys(dp, XLB_DPM_NODE_ADDRS, sizeof(struct xlb_addr_key)), 1,
		  "only the IPv4 address");
	bpf_map_lookup_elem(xlb_dp_map_fd(dp, XLB_DPM_IFACES), &ifs[0].ifindex, &v);
	memset(&want, 0, sizeof(want));
	ASSERT_TRUE(!memcmp(&v.snat6, &want, 16), "no IPv6 SNAT source");
out:
	xlb_sync_free(s);
	xlb_dp_close(dp);
}

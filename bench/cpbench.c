// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Control plane, in process, against a real loaded datapath (programs and
 * maps loaded, nothing pinned or attached):
 *
 *   cpbench -f services.yaml [-n changes] [-F full_changes] [-m maglev_min]
 *           [-o out.json]
 *
 * cold     k8s_cache_load_file + xlb_translate + xlb_sync_new/node/apply
 *          on empty maps: the agent's first sync from a file (each step
 *          timed).
 * full     the baseline, `full_changes` times: one EndpointSlice (service
 *          i, i spread over the file) gets one endpoint address changed;
 *          it is parsed (k8s_parse_buf), put in the cache, the whole cache
 *          translated and synced (xlb_translate + xlb_sync_apply: a full
 *          pass, what file mode, a relist and --sync-period run).
 * change   `changes` times the same change the way a watch event goes in
 *          Kubernetes mode: the slice as JSON parsed (cJSON +
 *          k8s_parse_json, as the reflector does), put in the cache, its
 *          Service marked dirty, translated and synced alone
 *          (xlb_translate_update + xlb_sync_apply_names) until the new
 *          backend and table are in the maps. p50/p99/max of the total and of translate and sync.
 *          Beside the wall clock: the thread's CPU time per change and the
 *          involuntary context switches during it (getrusage), so a tail
 *          that is the scheduler giving the CPU to other work on a shared
 *          machine is told apart from a tail in the work itself.
 * The objects are the ones bench/svcgen.py writes (namespace bench,
 * Service s<i>, slice s<i>-abcde, port p 8080/TCP).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>

#include <cjson/cJSON.h>

#include <xlb/abi.h>
#include "datapath.h"
#include "k8s/cache.h"
#include "lib/log.h"
#include "sync.h"
#include "translate.h"
#include "benchutil.h"

static double pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

static void jpct(FILE *j, const char *name, double *v, int n, bool last)
{
	qsort(v, n, sizeof(*v), cmp_d);
	fprintf(j, "\"%s\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f, \"min\": %.3f}%s", name,
		pct(v, n, 0.5), pct(v, n, 0.99), v[n - 1], v[0], last ? "" : ", ");
}

static double thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long nivcsw(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) ? 0 : ru.ru_nivcsw;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* The slice of service @i with endpoint 0 at @ep0 and the others as
 * svcgen.py writes them, as the API server sends it (JSON). */
static size_t slice_json(char *buf, size_t cap, unsigned int i, unsigned int neps, const char *ep0)
{
	size_t n = snprintf(
		buf, cap,
		"{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
		"\"addressType\":\"IPv4\",\"metadata\":{\"name\":\"s%05u-abcde\","
		"\"namespace\":\"bench\",\"labels\":{\"kubernetes.io/service-name\":\"s%05u\","
		"\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\"}},"
		"\"ports\":[{\"name\":\"p\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":[",
		i, i);

	for (unsigned int k = 0; k < neps && n < cap; k++) {
		char a[32];
		__u32 base = 0x0a400000u + i * 16 + 1 + k; /* 10.64/10 */

		if (k == 0 && ep0) {
			snprintf(a, sizeof(a), "%s", ep0);
		} else {
			struct in_addr in = { .s_addr = htonl(base) };

			inet_ntop(AF_INET, &in, a, sizeof(a));
		}
		n += snprintf(buf + n, cap - n,
			      "%s{\"addresses\":[\"%s\"],\"conditions\":{\"ready\":true,"
			      "\"serving\":true,\"terminating\":false},\"nodeName\":\"node2\"}",
			      k ? "," : "", a);
	}
	if (n < cap)
		n += snprintf(buf + n, cap - n, "]}");
	return n;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *out = NULL;
	unsigned int changes = 200, full_changes = 30, maglev_min = 251,
		     neps = 10; /* the agent's defaults */
	struct xlb_dp_opts dpo = { .cfg = XLB_CFG_DEFAULT };
	struct xlb_translate_opts to = { .node_name = "node1" };
	struct k8s_errors errs = K8S_ERRORS_INIT;
	struct xlb_desired d = { 0 };
	struct xlb_sync_stats st = { 0 };
	struct xlb_sync_opts so = { 0 };
	struct k8s_cache *c = NULL;
	struct xlb_sync *s;
	struct xlb_dp *dp;
	double t0, t_load, t_tr, t_dp, t_sync, *tot, *tr, *sy, *ftot, *ftr, *fsy, *cpu;
	unsigned int preempted = 0;
	long rss0, rss1;
	unsigned int nsvc;
	FILE *j = stdout;
	int opt, err;

	while ((opt = getopt(argc, argv, "f:n:F:m:o:e:")) != -1) {
		switch (opt) {
		case 'F':
			full_changes = atoi(optarg);
			break;
		case 'f':
			file = optarg;
			break;
		case 'n':
			changes = atoi(optarg);
			break;
		case 'm':
			maglev_min = atoi(optarg);
			break;
		case 'e':
			neps = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: cpbench -f FILE [-n changes] [-F full_changes] "
				"[-m maglev_min] [-e endpoints] [-o out.json]\n");
			return 2;
		}
	}
	if (!file || !changes || !full_changes)
		return 2;
	xlb_log_hook_libs();
	xlb_log_set_level(XLB_LOG_WARN);
	rss0 = rss_kib();

	t0 = xlb_mono_ns() / 1e6;
	err = k8s_cache_load_file(file, &c, &errs);
	t_load = xlb_mono_ns() / 1e6 - t0;
	if (err || errs.n_errors) {
		fprintf(stderr, "cpbench: %s: %s, %zu errors\n", file, strerror(-err),
			errs.n_errors);
		return 1;
	}
	k8s_errors_free(&errs);
	nsvc = k8s_cache_count(c) / 2;

	t0 = xlb_mono_ns() / 1e6;
	err = xlb_translate(c, &to, &d, &errs);
	t_tr = xlb_mono_ns() / 1e6 - t0;
	if (err)
		return 1;
	k8s_errors_free(&errs);

	t0 = xlb_mono_ns() / 1e6;
	dp = xlb_dp_load(&dpo);
	t_dp = xlb_mono_ns() / 1e6 - t0;
	if (!dp) {
		fprintf(stderr, "cpbench: xlb_dp_load: %s\n", strerror(errno));
		return 1;
	}
	so.maglev_min = maglev_min;
	t0 = xlb_mono_ns() / 1e6;
	s = xlb_sync_new(dp, &so);
	if (!s)
		return 1;
	{
		struct xlb_addr_key na = { .addr.v4 = htonl(0x0a000001), .family = XLB_AF_INET };
		struct xlb_node_iface ni = { .ifindex = 1, .addr4 = htonl(0x0a000001) };

		xlb_sync_node(s, &na, 1, &ni, 1);
	}
	err = xlb_sync_apply(s, &d, &st);
	t_sync = xlb_mono_ns() / 1e6 - t0;
	rss1 = rss_kib();
	if (err || st.errors) {
		fprintf(stderr, "cpbench: sync: %s, %u errors\n", strerror(-err), st.errors);
		return 1;
	}
	fprintf(stderr,
		"cpbench: %u services cold: load %.0f ms, translate %.0f ms, "
		"sync %.0f ms (%u tables); datapath load %.0f ms\n",
		nsvc, t_load, t_tr, t_sync, st.tables_built, t_dp);

	ftot = calloc(full_changes, sizeof(double));
	ftr = calloc(full_changes, sizeof(double));
	fsy = calloc(full_changes, sizeof(double));
	tot = calloc(changes, sizeof(double));
	tr = calloc(changes, sizeof(double));
	sy = calloc(changes, sizeof(double));
	cpu = calloc(changes, sizeof(double));
	if (!ftot || !ftr || !fsy || !tot || !tr || !sy || !cpu)
		return 1;
	/* The baseline first (full passes), then the incremental path; @d
	 * stays the current desired state throughout, as the agent keeps it. */
	for (unsigned int k = 0; k < full_changes + changes; k++) {
		static char buf[1 << 16];
		struct k8s_object_list l = { 0 };
		unsigned int i = (unsigned int)((unsigned long)k * 7919 % nsvc);
		bool full = k < full_changes;
		char ep0[32], key[64];
		const char *kp = key, **names = NULL;
		size_t *chg = NULL, nchg = 0;
		size_t len;
		double a, b, e, ca;
		cJSON *obj;
		long cs;

		/* a new address for endpoint 0 of service i */
		snprintf(ep0, sizeof(ep0), "10.%u.%u.%u", 200 + k / 65536 % 50, k / 256 % 256,
			 k % 256 + 0);
		snprintf(key, sizeof(key), "bench/s%05u", i);
		len = slice_json(buf, sizeof(buf), i, neps, ep0);
		cs = nivcsw();
		ca = thread_cpu_ms();
		a = xlb_mono_ns() / 1e6;
		obj = cJSON_ParseWithLength(buf, len);
		if (!obj || k8s_parse_json(obj, "change", NULL, &l, &errs) || errs.n_errors ||
		    k8s_cache_put_list(c, &l, &errs)) {
			fprintf(stderr, "cpbench: change %u not parsed\n", k);
			return 1;
		}
		cJSON_Delete(obj);
		memset(&st, 0, sizeof(st));
		if (full) {
			xlb_desired_free(&d);
			err = xlb_translate(c, &to, &d, &errs);
			b = xlb_mono_ns() / 1e6;
			err |= xlb_sync_apply(s, &d, &st);
		} else {
			err = xlb_translate_update(c, &to, &kp, 1, &d, &chg, &nchg, &errs);
			names = calloc(nchg + 1, sizeof(*names));
			for (size_t x = 0; names && x < nchg; x++)
				names[x] = d.svcports[chg[x]].name;
			b = xlb_mono_ns() / 1e6;
			err |= names ? xlb_sync_apply_names(s, &d, names, nchg, &st) : -ENOMEM;
		}
		e = xlb_mono_ns() / 1e6;
		free(names);
		free(chg);
		k8s_object_list_free(&l);
		k8s_errors_free(&errs);
		if (err || st.backends_added != 1 || st.tables_built != 1) {
			fprintf(stderr,
				"cpbench: change %u (%s): err %d, %u backends added, %u tables\n",
				k, full ? "full" : "incremental", err, st.backends_added,
				st.tables_built);
			return 1;
		}
		if (full) {
			ftot[k] = e - a;
			ftr[k] = b - a;
			fsy[k] = e - b;
		} else {
			tot[k - full_changes] = e - a;
			tr[k - full_changes] = b - a;
			sy[k - full_changes] = e - b;
			cpu[k - full_changes] = thread_cpu_ms() - ca;
			preempted += nivcsw() != cs;
		}
	}
	xlb_desired_free(&d);
	if (out && !(j = fopen(out, "w")))
		return 1;
	fprintf(j,
		"{\"services\": %u, \"endpoints_per_service\": %u, \"maglev_min\": %u, "
		"\"cold_ms\": {\"load_file\": %.1f, \"translate\": %.1f, \"sync\": %.1f, "
		"\"total\": %.1f, \"datapath_load\": %.1f}, \"rss_kib_before\": %ld, "
		"\"rss_kib_after_cold\": %ld, \"changes\": %u, \"full_changes\": %u, "
		"\"change_full_ms\": {",
		nsvc, neps, maglev_min, t_load, t_tr, t_sync, t_load + t_tr + t_sync, t_dp, rss0,
		rss1, changes, full_changes);
	jpct(j, "total", ftot, full_changes, false);
	jpct(j, "parse_translate", ftr, full_changes, false);
	jpct(j, "sync", fsy, full_changes, true);
	fprintf(j, "}, \"change_ms\": {");
	jpct(j, "total", tot, changes, false);
	jpct(j, "parse_translate", tr, changes, false);
	jpct(j, "sync", sy, changes, false);
	jpct(j, "cpu", cpu, changes, true);
	fprintf(j, "}, \"preempted\": %u}\n", preempted);
	if (j != stdout)
		fclose(j);
	fprintf(stderr,
		"cpbench: one-endpoint change: incremental p50 %.3f p99 %.3f ms; "
		"on CPU p50 %.3f p99 %.3f ms; %u of %u preempted; "
		"full pass p50 %.2f p99 %.2f ms\n",
		pct(tot, changes, 0.5), pct(tot, changes, 0.99), pct(cpu, changes, 0.5),
		pct(cpu, changes, 0.99), preempted, changes, pct(ftot, full_changes, 0.5),
		pct(ftot, full_changes, 0.99));
	xlb_sync_free(s);
	xlb_dp_close(dp);
	k8s_cache_free(c);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maglev table build time, balance and disruption (user/maglev.h).
 *
 *   maglevbench [-q] [-o out.json]
 *
 * For M in {16381, 65521} and n in {100, 1000} backends (keys formatted as
 * sync formats them, "10.x.y.z:8080"):
 *   build_ms     median/min/max of >= 5 builds (maglev_build)
 *   balance      most and fewest entries a backend owns (and max - min)
 *   disruption   one backend leaves; entries that changed / entries the
 *                leaving backend owned (ideal 1.0: only its own entries
 *                move). Repeated for several leaving backends spread over
 *                the set: mean and max reported.
 * Then the same at the size maglev_pick_size() picks for n (the agent's
 * choice). 65537 is not a supported size (maglev_size_ok); 65521 is the supported
 * prime next to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maglev.h"
#include "benchutil.h"

int main(int argc, char **argv)
{
	/* The sizes the issue asks for, then what maglev_pick_size() gives
	 * for these backend counts (what the agent really builds). */
	static const unsigned int ns[] = { 100, 1000 };
	unsigned int ms[3] = { 16381, 65521, 0 };
	unsigned int runs = 7, leaves = 10;
	const char *out = NULL;
	FILE *j = stdout;
	int c, first = 1;

	while ((c = getopt(argc, argv, "qo:")) != -1) {
		if (c == 'q') {
			runs = 5;
			leaves = 4;
		} else if (c == 'o') {
			out = optarg;
		} else {
			fprintf(stderr, "usage: maglevbench [-q] [-o out.json]\n");
			return 2;
		}
	}
	if (out && !(j = fopen(out, "w")))
		return 1;
	fprintf(j, "{\"runs\": %u, \"cases\": [", runs);
	for (size_t a = 0; a < 3; a++) {
		for (size_t b = 0; b < 2; b++) {
			unsigned int n = ns[b], m = a < 2 ? ms[a] : maglev_pick_size(n, 0);
			struct maglev_backend *be = calloc(n, sizeof(*be));
			char(*keys)[32] = calloc(n, sizeof(*keys));
			uint32_t *t = calloc(m, sizeof(*t)), *t2 = calloc(m, sizeof(*t2));
			unsigned int *cnt = calloc(n + 1, sizeof(*cnt)), mx = 0, mn = ~0u;
			double times[32], dsum = 0, dmax = 0;

			if (!be || !keys || !t || !t2 || !cnt)
				return 1;
			for (unsigned int i = 0; i < n; i++) {
				snprintf(keys[i], sizeof(keys[i]), "10.%u.%u.%u:8080",
					 64 + i / 65536, (i / 256) % 256, i % 256);
				be[i].key = keys[i];
				be[i].key_len = strlen(keys[i]);
				be[i].id = i + 1;
			}
			for (unsigned int r = 0; r < runs; r++) {
				double t0 = xlb_mono_ns() / 1e6;

				if (maglev_build(be, n, m, t)) {
					fprintf(stderr, "maglev_build(%u, %u) failed\n", n, m);
					return 1;
				}
				times[r] = xlb_mono_ns() / 1e6 - t0;
			}
			for (unsigned int i = 0; i < m; i++)
				cnt[t[i]]++;
			for (unsigned int i = 1; i <= n; i++) {
				if (cnt[i] > mx)
					mx = cnt[i];
				if (cnt[i] < mn)
					mn = cnt[i];
			}
			/* Disruption: backend k leaves (the last one swapped into
			 * its place; build sorts by key, so order is irrelevant). */
			for (unsigned int l = 0; l < leaves; l++) {
				unsigned int k = (unsigned int)((unsigned long)l * n / leaves);
				struct maglev_backend saved = be[k];
				unsigned int owned = 0, changed = 0;
				double d;

				be[k] = be[n - 1];
				if (maglev_build(be, n - 1, m, t2))
					return 1;
				be[n - 1] = be[k];
				be[k] = saved;
				for (unsigned int i = 0; i < m; i++) {
					owned += t[i] == saved.id;
					changed += t[i] != t2[i];
				}
				d = owned ? (double)changed / owned : 0;
				dsum += d;
				if (d > dmax)
					dmax = d;
			}
			qsort(times, runs, sizeof(double), cmp_d);
			fprintf(j,
				"%s{\"m\": %u, \"backends\": %u, \"build_ms\": {\"median\": %.3f, "
				"\"min\": %.3f, \"max\": %.3f}, \"max_entries\": %u, \"min_entries\": %u, "
				"\"disruption_mean\": %.3f, \"disruption_max\": %.3f, \"leaves_tried\": %u, "
				"\"picked\": %s}",
				first ? "" : ", ", m, n, times[runs / 2], times[0], times[runs - 1],
				mx, mn, dsum / leaves, dmax, leaves, a == 2 ? "true" : "false");
			first = 0;
			fprintf(stderr,
				"maglev M=%u n=%u: build %.2f ms, entries %u..%u, "
				"disruption mean %.3f max %.3f\n",
				m, n, times[runs / 2], mn, mx, dsum / leaves, dmax);
			free(be);
			free(keys);
			free(t);
			free(t2);
			free(cnt);
		}
	}
	fprintf(j, "]}\n");
	if (j != stdout)
		fclose(j);
	return 0;
}

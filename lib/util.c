// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lib/util.h"

__u64 xlb_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int xlb_read_file(const char *path, size_t max, char **out, size_t *len)
{
	size_t cap = max && max < 65536 ? max : 65536, n = 0;
	char *b = NULL, *nb;
	int err = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	for (;;) {
		size_t want, got;

		if (!b || n == cap) {
			if (b)
				cap = max && cap * 2 > max ? max : cap * 2;
			nb = realloc(b, cap + 1);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
		}
		want = cap - n;
		if (!want)
			break; /* max reached */
		got = fread(b + n, 1, want, f);
		n += got;
		if (got < want) {
			if (ferror(f))
				err = -EIO;
			break;
		}
	}
	fclose(f);
	if (err) {
		free(b);
		return err;
	}
	b[n] = 0;
	*out = b;
	if (len)
		*len = n;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* SNAT ports and the kernel's port sysctls: see ports.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports.h"

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		err = ferror(f) ? -EIO : (buf[0] = '\0', 0);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return err;
}

int xlb_port_range_read(const char *path, __u32 *lo, __u32 *hi)
{
	char buf[64];
	unsigned int a, b;
	int err = read_line(path, buf, sizeof(buf));

	if (err)
		return err;
	if (sscanf(buf, "%u %u", &a, &b) != 2 || a > b || b > 65535)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

bool xlb_ports_covered(const char *list, __u32 lo, __u32 hi)
{
	/* Walk the ports in order; the list is the kernel's, sorted and
	 * merged, but a hand-written one need not be: scan it per gap. */
	__u32 next = lo;
	bool moved = true;

	while (next <= hi && moved) {
		const char *p = list;

		moved = false;
		while (*p) {
			char *end;
			unsigned long a = strtoul(p, &end, 10), b = a;

			if (end == p)
				break;
			if (*end == '-')
				b = strtoul(end + 1, &end, 10);
			if (a <= next && next <= b) {
				next = (__u32)b + 1;
				moved = true;
			}
			p = *end == ',' ? end + 1 : end;
			if (*p && (*p < '0' || *p > '9'))
				break;
		}
	}
	return next > hi;
}

int xlb_ports_reserve(const char *path, __u32 lo, __u32 hi)
{
	char cur[4096], out[4200];
	FILE *f;
	int err = read_line(path, cur, sizeof(cur));

	if (err)
		return err;
	if (xlb_ports_covered(cur, lo, hi))
		return 0;
	snprintf(out, sizeof(out), "%s%s%u-%u\n", cur, *cur ? "," : "", lo, hi);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (fputs(out, f) == EOF)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err ? err : 1;
}

static bool masq_line_overlaps(const char *l, __u32 lo, __u32 hi)
{
	const char *r;
	unsigned int a, b;

	if (!strstr(l, "MASQUERADE") && !strstr(l, "masquerade"))
		return false;
	if (strstr(l, "--random-fully") || strstr(l, "fully-random"))
		return true;
	r = strstr(l, "--to-ports ");
	if (r)
		r += strlen("--to-ports ");
	else if ((r = strstr(l, "to :")))
		r += strlen("to :");
	if (!r)
		return false;
	switch (sscanf(r, "%u-%u", &a, &b)) {
	case 1:
		b = a;
		/* fall through */
	case 2:
		return a <= hi && lo <= b;
	default:
		return false;
	}
}

bool xlb_masq_overlaps(const char *ruleset, __u32 lo, __u32 hi, char *line, size_t len)
{
	const char *p = ruleset;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char buf[512];

		snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) - 1 ? n : sizeof(buf) - 1),
			 p);
		if (masq_line_overlaps(buf, lo, hi)) {
			snprintf(line, len, "%s", buf);
			return true;
		}
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

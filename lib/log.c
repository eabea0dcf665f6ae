// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "lib/log.h"

static enum xlb_log_level log_level = XLB_LOG_INFO;
static const char *const level_names[] = { "E", "W", "I", "D" };

void xlb_log_set_level(enum xlb_log_level lvl)
{
	log_level = lvl;
}

static void vlog(enum xlb_log_level lvl, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	if (lvl > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One line per message even when several threads log. */
	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ %s ", stamp, ts.tv_nsec / 1000000, level_names[lvl]);
	vfprintf(stderr, fmt, ap);
	funlockfile(stderr);
}

void xlb_log(enum xlb_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	/* One level lower: libbpf warnings are our info, its info our debug. */
	enum xlb_log_level l = lvl == LIBBPF_WARN ? XLB_LOG_INFO : XLB_LOG_DEBUG;

	vlog(l, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level lvl, const char *fmt, va_list ap)
{
	enum xlb_log_level l = lvl == LIBXDP_WARN ? XLB_LOG_INFO : XLB_LOG_DEBUG;

	vlog(l, fmt, ap);
	return 0;
}

void xlb_log_hook_libs(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}

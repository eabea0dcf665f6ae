// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Runner for XT_TEST() tests: see xtest.h. */
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "xtest.h"

#define XT_MAX_TESTS 512

static struct {
	const char *name;
	xt_fn fn;
} tests[XT_MAX_TESTS];
static int ntests;
static int cur_failed, cur_skipped;
static const char *cur_name;

__attribute__((weak)) int xt_setup(void)
{
	return 0;
}
__attribute__((weak)) void xt_teardown(void)
{
}

void xt_register(const char *name, xt_fn fn)
{
	if (ntests == XT_MAX_TESTS) {
		fprintf(stderr, "xtest: too many tests\n");
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

void xt_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	cur_failed++;
}

void xt_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "    skip: ");
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	cur_skipped = 1;
}

void xt_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "    ");
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

bool xt_repo_file(const char *rel, char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n;

	snprintf(out, size, "%s", rel);
	if (!access(out, R_OK))
		return true;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	for (int up = 0; up < 5; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			break;
		*slash = '\0';
		if (snprintf(out, size, "%s/%s", exe, rel) >= (int)size)
			return false;
		if (!access(out, R_OK))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	int passed = 0, failed = 0, skipped = 0, opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt == 't') {
			filter = optarg;
		} else {
			fprintf(stderr, "usage: %s [-t SUBSTR]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (xt_setup()) {
		printf("FAIL setup\n0 passed, 1 failed\n");
		return 1;
	}
	for (int i = 0; i < ntests; i++) {
		if (filter && !strstr(tests[i].name, filter))
			continue;
		cur_name = tests[i].name;
		cur_failed = cur_skipped = 0;
		tests[i].fn();
		if (cur_failed) {
			printf("FAIL %s\n", cur_name);
			failed++;
		} else if (cur_skipped) {
			printf("SKIP %s\n", cur_name);
			skipped++;
		} else {
			printf("ok   %s\n", cur_name);
			passed++;
		}
	}
	xt_teardown();
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

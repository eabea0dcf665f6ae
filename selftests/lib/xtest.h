/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A small test runner in the spirit of the kernel's test_progs: tests
 * register themselves with XT_TEST(), ASSERT_* macros print expected vs
 * actual and return false on failure so a test can stop early
 * (`if (!ASSERT_EQ(...)) return;`). Each binary prints one line per test
 * and a closing `N passed, N failed, N skipped` line; selftests/run.sh adds
 * the binaries' lines up. `-t SUBSTR` runs only the matching tests.
 */
#ifndef XLB_XTEST_H
#define XLB_XTEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef void (*xt_fn)(void);

void xt_register(const char *name, xt_fn fn);
void xt_fail_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Mark the running test skipped, with a reason (never counted as passed). */
void xt_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A repository file by its path from the repo root, found from the
 * working directory or from the test binary's location; false if absent. */
bool xt_repo_file(const char *rel, char *out, size_t size);
/* Optional hooks a test binary may define (weak): run before/after all. */
int xt_setup(void);
void xt_teardown(void);

#define XT_TEST(fn)                                                \
	static void fn(void);                                      \
	__attribute__((constructor)) static void xt_reg_##fn(void) \
	{                                                          \
		xt_register(#fn, fn);                              \
	}                                                          \
	static void fn(void)

#define ASSERT_TRUE(cond, what)                                                      \
	({                                                                           \
		bool ___ok = !!(cond);                                               \
		if (!___ok)                                                          \
			xt_fail_at(__FILE__, __LINE__, "%s: expected true", (what)); \
		___ok;                                                               \
	})

#define ASSERT_EQ(actual, expected, what)                                                         \
	({                                                                                        \
		long long ___a = (long long)(actual);                                             \
		long long ___e = (long long)(expected);                                           \
		bool ___ok = ___a == ___e;                                                        \
		if (!___ok)                                                                       \
			xt_fail_at(__FILE__, __LINE__,                                            \
				   "%s: expected %lld (0x%llx), got %lld (0x%llx)", (what), ___e, \
				   (unsigned long long)___e, ___a, (unsigned long long)___a);     \
		___ok;                                                                            \
	})

#define ASSERT_NEQ(actual, unexpected, what)                                                     \
	({                                                                                       \
		long long ___a = (long long)(actual);                                            \
		long long ___u = (long long)(unexpected);                                        \
		bool ___ok = ___a != ___u;                                                       \
		if (!___ok)                                                                      \
			xt_fail_at(__FILE__, __LINE__, "%s: got unexpected %lld", (what), ___a); \
		___ok;                                                                           \
	})

#define ASSERT_LE(actual, bound, what)                                                             \
	({                                                                                         \
		double ___a = (double)(actual), ___b = (double)(bound);                            \
		bool ___ok = ___a <= ___b;                                                         \
		if (!___ok)                                                                        \
			xt_fail_at(__FILE__, __LINE__, "%s: expected <= %g, got %g", (what), ___b, \
				   ___a);                                                          \
		___ok;                                                                             \
	})

#define ASSERT_OK(err, what)                                                                \
	({                                                                                  \
		long long ___r = (long long)(err);                                          \
		bool ___ok = ___r == 0;                                                     \
		if (!___ok)                                                                 \
			xt_fail_at(__FILE__, __LINE__, "%s: error %lld (%s)", (what), ___r, \
				   strerror(___r < 0 ? (int)-___r : (int)___r));            \
		___ok;                                                                      \
	})

#define ASSERT_STREQ(actual, expected, what)                                                      \
	({                                                                                        \
		const char *___a = (actual), *___e = (expected);                                  \
		bool ___ok = ___a && ___e && strcmp(___a, ___e) == 0;                             \
		if (!___ok)                                                                       \
			xt_fail_at(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"", (what), \
				   ___e ? ___e : "(null)", ___a ? ___a : "(null)");               \
		___ok;                                                                            \
	})

#define ASSERT_MEMEQ(actual, expected, len, what)                                   \
	({                                                                          \
		bool ___ok = memcmp((actual), (expected), (len)) == 0;              \
		if (!___ok)                                                         \
			xt_fail_at(__FILE__, __LINE__, "%s: bytes differ", (what)); \
		___ok;                                                              \
	})

#endif /* XLB_XTEST_H */

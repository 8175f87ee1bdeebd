/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ember's test harness. ASSERT_* macros print both values with file:line and evaluate to a bool,
 * so a test reads `if (!ASSERT_OK(err, "open")) goto cleanup;`. A test function returns
 * TEST_PASS, TEST_FAIL or TEST_SKIP; the runner exits 0, 1, or 77 (CTest's SKIP_RETURN_CODE) when
 * every test skipped. Under CI (the CI environment variable set), a skip for lack of privilege is a
 * failure: CI runs as root and must run everything for real.
 */
#ifndef EMBER_TEST_HARNESS_H
#define EMBER_TEST_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum test_result { TEST_PASS = 0, TEST_FAIL = 1, TEST_SKIP = 77 };

#define ASSERT_TRUE(cond, what)                                                                    \
	({                                                                                         \
		bool ___ok = !!(cond);                                                             \
		if (!___ok)                                                                        \
			fprintf(stderr, "%s:%d: FAIL %s: expected true: %s\n", __FILE__, __LINE__, \
				what, #cond);                                                      \
		___ok;                                                                             \
	})

#define ASSERT_OK(err, what)                                                                     \
	({                                                                                       \
		long long ___e = (long long)(err);                                               \
		bool ___ok = ___e == 0;                                                          \
		if (!___ok)                                                                      \
			fprintf(stderr, "%s:%d: FAIL %s: returned %lld (%s)\n", __FILE__,        \
				__LINE__, what, ___e, strerror((int)(___e < 0 ? -___e : ___e))); \
		___ok;                                                                           \
	})

#define ASSERT_CMP(a, op, b, what)                                                               \
	({                                                                                       \
		long long ___a = (long long)(a), ___b = (long long)(b);                          \
		bool ___ok = ___a op ___b;                                                       \
		if (!___ok)                                                                      \
			fprintf(stderr, "%s:%d: FAIL %s: expected %s %s %s, got %lld vs %lld\n", \
				__FILE__, __LINE__, what, #a, #op, #b, ___a, ___b);              \
		___ok;                                                                           \
	})

#define ASSERT_EQ(a, b, what) ASSERT_CMP(a, ==, b, what)
#define ASSERT_NEQ(a, b, what) ASSERT_CMP(a, !=, b, what)
#define ASSERT_GE(a, b, what) ASSERT_CMP(a, >=, b, what)
#define ASSERT_LE(a, b, what) ASSERT_CMP(a, <=, b, what)
#define ASSERT_GT(a, b, what) ASSERT_CMP(a, >, b, what)

#define ASSERT_STREQ(a, b, what)                                                                   \
	({                                                                                         \
		const char *___a = (a), *___b = (b);                                               \
		bool ___ok = ___a && ___b && !strcmp(___a, ___b);                                  \
		if (!___ok)                                                                        \
			fprintf(stderr, "%s:%d: FAIL %s: expected \"%s\", got \"%s\"\n", __FILE__, \
				__LINE__, what, ___b ? ___b : "(null)", ___a ? ___a : "(null)");   \
		___ok;                                                                             \
	})

#define ASSERT_NULL(p, what) ASSERT_TRUE((p) == NULL, what)
#define ASSERT_NONNULL(p, what) ASSERT_TRUE((p) != NULL, what)

/* Skips, or fails under CI: use for missing privileges or kernel features. */
static inline enum test_result test_skip(const char *why)
{
	if (getenv("CI") && *getenv("CI")) {
		fprintf(stderr, "FAIL (CI must not skip): %s\n", why);
		return TEST_FAIL;
	}
	fprintf(stderr, "SKIP: %s\n", why);
	return TEST_SKIP;
}

struct test_case {
	const char *name;
	enum test_result (*fn)(void);
};

#define TEST(fn)        \
	{               \
#fn, fn \
	}

static inline int test_run_all(const struct test_case *tests, size_t n, int argc, char **argv)
{
	size_t pass = 0, fail = 0, skip = 0;

	for (size_t i = 0; i < n; i++) {
		enum test_result r;

		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		r = tests[i].fn();
		fprintf(stderr, "%-40s %s\n", tests[i].name,
			r == TEST_PASS	 ? "ok"
			: r == TEST_SKIP ? "skipped"
					 : "FAILED");
		if (r == TEST_PASS)
			pass++;
		else if (r == TEST_SKIP)
			skip++;
		else
			fail++;
	}
	fprintf(stderr, "%zu passed, %zu failed, %zu skipped\n", pass, fail, skip);
	if (fail)
		return 1;
	return pass ? 0 : 77;
}

#define TEST_MAIN(...)                                                                    \
	int main(int argc, char **argv)                                                   \
	{                                                                                 \
		static const struct test_case tests[] = { __VA_ARGS__ };                  \
		return test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv); \
	}

#endif

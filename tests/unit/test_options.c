// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The option table: flags and config keys from one table, the file first and the command line
 * over it, lists replaced rather than merged, errors with their file:line. */
#include <stdlib.h>
#include <string.h>

#include "profiler/options.h"
#include "tests/harness.h"

struct ctx {
	long level;
	bool fast;
	int items[8];
	int nitems;
};

static int set_level(void *c, const char *v, char *why, size_t len)
{
	char *end;
	long l = strtol(v, &end, 10);

	if (*end || l < 0 || l > 9) {
		snprintf(why, len, "'%s' is not a level from 0 to 9", v);
		return -EINVAL;
	}
	((struct ctx *)c)->level = l;
	return 0;
}

static int set_fast(void *c, const char *v, char *why, size_t len)
{
	return options_parse_bool(v, &((struct ctx *)c)->fast) ? -EINVAL : 0;
}

static int set_item(void *c, const char *v, char *why, size_t len)
{
	struct ctx *x = c;

	if (!v) {
		x->nitems = 0;
		return 0;
	}
	if (x->nitems == 8)
		return -EINVAL;
	x->items[x->nitems++] = atoi(v);
	return 0;
}

static const struct option_spec specs[] = {
	{ "level", 'l', "N", 0, set_level, "a level" },
	{ "fast", 0, NULL, 0, set_fast, "go fast" },
	{ "item", 'i', "N", OPTION_LIST, set_item, "an item" },
};
static const struct options opts = {
	.cmd = "test",
	.synopsis = "Usage: test\n",
	.specs = specs,
	.nspecs = 3,
	.section = "record",
};

static char conf[64];

static void write_conf(const char *text)
{
	FILE *f = fopen(conf, "we");

	fputs(text, f);
	fclose(f);
}

static int parse(struct ctx *c, int argc, char **argv)
{
	memset(c, 0, sizeof(*c));
	return options_parse(&opts, argc, argv, c, NULL);
}

static enum test_result test_file_then_command_line(void)
{
	char *argv1[] = { "test", "--config", conf, NULL };
	char *argv2[] = { "test", "--config", conf, "-l", "7", "--item=5", "-i", "6", NULL };
	char *argv3[] = { "test", "--config", conf, "--no-config", NULL };
	struct ctx c;

	write_conf("# comment\n[top]\nwhatever = 1\n[record]\nlevel = 3\nfast = yes\n"
		   "item = 1\nitem = 2\n");
	if (!ASSERT_OK(parse(&c, 3, argv1), "file only") || !ASSERT_EQ(c.level, 3, "level") ||
	    !ASSERT_TRUE(c.fast, "fast = yes") || !ASSERT_EQ(c.nitems, 2, "the file's list") ||
	    !ASSERT_EQ(c.items[1], 2, "second item"))
		return TEST_FAIL;
	if (!ASSERT_OK(parse(&c, 8, argv2), "file and command line") ||
	    !ASSERT_EQ(c.level, 7, "the command line wins") || !ASSERT_TRUE(c.fast, "kept") ||
	    !ASSERT_EQ(c.nitems, 2, "the command line's list replaces the file's") ||
	    !ASSERT_EQ(c.items[0], 5, "first") || !ASSERT_EQ(c.items[1], 6, "second"))
		return TEST_FAIL;
	if (!ASSERT_OK(parse(&c, 4, argv3), "--no-config") || !ASSERT_EQ(c.level, 0, "no file"))
		return TEST_FAIL;
	return TEST_PASS;
}

static enum test_result test_errors(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "[record]\nlevel = 12\n", ":2: level: '12' is not a level from 0 to 9" },
		{ "[record]\n\n\nspeed = 1\n", ":4: unknown key 'speed' in [record]" },
		{ "[record]\nfast = sometimes\n", ":2: fast: 'sometimes' is not true or false" },
		{ "level = 1\n", ":1: 'level' is outside a section (put it under [record])" },
		{ "[nope]\nlevel = 1\n", ":1: unknown section [nope]" },
		{ "[record]\nlevel\n", ":2: expected 'key = value' or '[section]'" },
		{ "[record]\nlevel =\n", ":2: level: no value given" },
		{ "[record]\nlevel = 1111111111111111111111111111111111111111111111111111111111111"
		  "11111111111111111111111111111111111111111111111111111111111111111111111111111111"
		  "1"
		  "1111111111111111111111111111111111111111111111111111111111111111111111111111\n",
		  ":2: the line is too long" },
	};
	char why[600];
	struct ctx c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_conf(bad[i].text);
		memset(&c, 0, sizeof(c));
		if (!ASSERT_EQ(options_read_config(&opts, conf, &c, why, sizeof(why)), -EINVAL,
			       bad[i].why) ||
		    !ASSERT_TRUE(strstr(why, bad[i].why) != NULL, why))
			return TEST_FAIL;
	}
	/* A long comment is no error, and does not make the next line one. */
	write_conf("[record]\n# "
		   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		   "x"
		   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		   "x"
		   "\nlevel = 4\n");
	memset(&c, 0, sizeof(c));
	if (!ASSERT_OK(options_read_config(&opts, conf, &c, why, sizeof(why)), why) ||
	    !ASSERT_EQ(c.level, 4, "the key after a long comment"))
		return TEST_FAIL;
	if (!ASSERT_EQ(options_read_config(&opts, "/nonexistent/x.conf", &c, why, sizeof(why)),
		       -ENOENT, "missing file"))
		return TEST_FAIL;
	return TEST_PASS;
}

static enum test_result test_command_line_errors(void)
{
	char *unknown[] = { "test", "--no-config", "--speed", NULL };
	char *novalue[] = { "test", "--no-config", "--level", NULL };
	char *badvalue[] = { "test", "--no-config", "-l", "x", NULL };
	char *extra[] = { "test", "--no-config", "extra", NULL };
	char *missing[] = { "test", "--config", "/nonexistent/x.conf", NULL };
	struct ctx c;

	if (!ASSERT_EQ(parse(&c, 3, unknown), -EINVAL, "unknown option") ||
	    !ASSERT_EQ(parse(&c, 3, novalue), -EINVAL, "no value") ||
	    !ASSERT_EQ(parse(&c, 4, badvalue), -EINVAL, "bad value") ||
	    !ASSERT_EQ(parse(&c, 3, extra), -EINVAL, "extra argument") ||
	    !ASSERT_EQ(parse(&c, 3, missing), -ENOENT, "a named file that is missing") ||
	    !ASSERT_EQ(options_exit_code(-EINVAL), 2, "usage exit") ||
	    !ASSERT_EQ(options_exit_code(-ENOENT), 1, "run-time exit") ||
	    !ASSERT_EQ(options_exit_code(1), 0, "help exit"))
		return TEST_FAIL;
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = { TEST(test_file_then_command_line),
						  TEST(test_errors),
						  TEST(test_command_line_errors) };
	int r;

	snprintf(conf, sizeof(conf), "/tmp/ember-options-%d.conf", (int)getpid());
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	unlink(conf);
	return r;
}

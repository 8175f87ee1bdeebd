// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember symbolize`: ember's symbolizer on the addresses of one ELF file, in the manner of
 * `addr2line -e FILE -f -i`, for checking its answers against elfutils and binutils, and for
 * benchmarking it against them on the same address list (bench/symbolize.sh).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "symbolizer/symbolizer.h"

static const char usage[] =
    "Usage: ember symbolize -e FILE [options] [ADDRESS...]\n"
    "\n"
    "Prints the function and file:line of each ADDRESS (hex, an ELF virtual address of FILE), as\n"
    "`addr2line -f -e FILE` does; addresses are read from standard input, one per line, when none\n"
    "is given. Debug info is looked for in FILE, under /usr/lib/debug/.build-id and through\n"
    ".gnu_debuglink.\n"
    "\n"
    "Options:\n"
    "  -e, --exe FILE        the ELF file (required)\n"
    "  -i, --inlines         also print every inlined call, innermost first\n"
    "  -s, --stats           print cache statistics to standard error at the end\n"
    "      --answer-cache    keep resolved addresses in the cache as the collector does\n"
    "                        (by default only the latest answers are remembered)\n"
    "      --symbol-cache-mb N  bound of the symbol caches in MiB (default 256)\n"
    "  -h, --help            this text\n";

static int parse_addr(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 16);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	return end == s || *end || errno ? -EINVAL : 0;
}

static int print_one(struct symbolizer *s, struct sym_binary *b, const char *arg, bool inlines)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	uint64_t addr;
	int n;

	if (parse_addr(arg, &addr)) {
		fprintf(stderr, "ember symbolize: '%s' is not a hex address\n", arg);
		return -EINVAL;
	}
	n = symbolizer__binary_vaddr(s, b, addr, f, SYM_MAX_FRAMES);
	if (n < 0)
		return n;
	for (int i = inlines ? 0 : n - 1; i < n; i++) {
		/* Without -i, the outermost function with the innermost location, as addr2line. */
		const struct sym_frame *loc = inlines ? &f[i] : &f[0];

		char num[16], *p = num + sizeof(num);
		uint32_t line = loc->line;

		/* The _unlocked calls and a hand-made number: printf's parsing and stdio's locking
		 * were a tenth of a run over 100,000 addresses. One thread writes stdout. */
		fputs_unlocked(f[i].name ? f[i].name : "??", stdout);
		putchar_unlocked('\n');
		fputs_unlocked(loc->file ? loc->file : "??", stdout);
		*--p = '\n';
		do
			*--p = (char)('0' + line % 10);
		while (line /= 10);
		*--p = ':';
		fwrite_unlocked(p, 1, (size_t)(num + sizeof(num) - p), stdout);
	}
	return 0;
}

int cmd_symbolize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "exe", required_argument, NULL, 'e' },
		{ "inlines", no_argument, NULL, 'i' },
		{ "stats", no_argument, NULL, 's' },
		{ "symbol-cache-mb", required_argument, NULL, 'M' },
		{ "answer-cache", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	/* One pass over a list: the LRU answer cache costs more to fill than it saves unless asked
	 * for (--answer-cache); a small memo catches the addresses that repeat. */
	struct symbolizer_opts opts = { .one_pass = true };
	struct symbolizer *s;
	struct sym_binary *b;
	const char *exe = NULL;
	bool inlines = false, stats = false;
	unsigned long v;
	int c, err = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":e:ish", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			exe = optarg;
			break;
		case 'i':
			inlines = true;
			break;
		case 's':
			stats = true;
			break;
		case 'M':
			if (cli_parse_uint(optarg, 1, 1 << 20, &v))
				return cli_usage_error("symbolize",
						       "--symbol-cache-mb: '%s' is not a size in "
						       "MiB",
						       optarg);
			opts.cache_bytes = (uint64_t)v << 20;
			break;
		case 'C':
			opts.one_pass = false;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return cli_usage_error("symbolize", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("symbolize", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!exe)
		return cli_usage_error("symbolize", "-e FILE is required");
	/* Output in large blocks: one address is two lines per frame. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	opts.kallsyms_path = "/dev/null"; /* no kernel symbols needed */
	opts.modules_path = "/dev/null";
	s = symbolizer__new(&opts);
	if (!s) {
		fprintf(stderr, "ember symbolize: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	b = symbolizer__open_file(s, exe);
	if (!b) {
		err = -errno;
		fprintf(stderr, "ember symbolize: %s: %s\n", exe,
			err == -ENOEXEC ? "not an ELF file" : strerror(-err));
	} else if (optind < argc) {
		for (int i = optind; i < argc && !err; i++)
			err = print_one(s, b, argv[i], inlines);
	} else {
		char line[128];

		while (!err && fgets(line, sizeof(line), stdin))
			err = print_one(s, b, line, inlines);
	}
	if (stats) {
		struct symbolizer_stats st;

		symbolizer__stats(s, &st);
		fprintf(stderr,
			"ember symbolize: %" PRIu64 " cache hits, %" PRIu64 " misses, %" PRIu64
			" evictions, %" PRIu64 " bytes cached, %lu binaries with DWARF\n",
			st.cache_hits, st.cache_misses, st.evictions, st.cache_bytes,
			st.dwarf_binaries);
	}
	symbolizer__free(s);
	fflush(stdout);
	return err ? EXIT_RUNTIME : 0;
}

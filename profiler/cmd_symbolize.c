// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember symbolize`: ember's symbolizer on the addresses of one ELF file, in the manner of
 * `addr2line -e FILE -f -i`, for checking its answers against elfutils and binutils, and for
 * benchmarking it against them on the same address list (bench/symbolize.sh).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int parse_addr(const char *s, uint64_t *out)
{
	const char *p = s + (s[0] == '0' && (s[1] | 0x20) == 'x' ? 2 : 0);
	uint64_t v = 0;
	char *end;
	int d, n = 0;

	/* The common form, "0x" and up to 16 digits, without strtoull (2 % of a run); anything
	 * else (spaces first, a sign, more digits) as strtoull reads it. */
	for (; (d = hex_digit(*p)) >= 0 && n < 16; p++, n++)
		v = v << 4 | (uint64_t)d;
	if (n && hex_digit(*p) < 0 &&
	    (!*p || *p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p) {
			*out = v;
			return 0;
		}
	}

	errno = 0;
	*out = strtoull(s, &end, 16);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	return end == s || *end || errno ? -EINVAL : 0;
}

/*
 * Addresses are resolved in batches, in address order, and printed in input order. Random
 * addresses, each looked up as it comes, touch six to nine cold cache lines of the tables apiece
 * (the unit, its functions, line keys and rows, names); sorted, neighbours share them. The
 * answers are the same, byte for byte. A batch ends when it is full, and whenever the input has
 * nothing more to read at once: a program that writes one address and waits for its answer (as
 * with addr2line on a pipe) gets it.
 */
#define BATCH_MAX 65536

/* An address and its place in the input: sorted together, so that the sorted pass reads them in
 * order (an index into the addresses made every read a cache miss). */
struct item {
	uint64_t addr;
	uint64_t idx;
};

/* Answers are gathered in input order into a buffer this large, written whenever full. */
#define ORD_CHUNK (256u << 10)

struct batch {
	struct item item[BATCH_MAX], tmp[BATCH_MAX]; /* in input order, then sorted; scratch */
	size_t start[BATCH_MAX], len[BATCH_MAX];     /* each address's answer in out */
	char *out;				     /* the answers, as printed, in address order */
	size_t out_len, out_cap;
	char ord[ORD_CHUNK]; /* the answers in input order, as written */
	size_t n;
};

#define HUGE_PAGE (2ul << 20)
#define OUT_FIRST (16ul << 20) /* a full batch of answers with inline chains: about 11 MiB */

/* Memory written once through: huge pages save a page fault per 4 KiB (about 2 us each in a VM). */
static void *huge_alloc(size_t size)
{
	void *p = aligned_alloc(HUGE_PAGE, (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));

	if (p)
		madvise(p, size, MADV_HUGEPAGE); /* a hint: without THP it changes nothing */
	return p;
}

static struct batch *batch_new(void)
{
	struct batch *bt = huge_alloc(sizeof(*bt));

	if (!bt)
		return NULL;
	bt->n = 0;
	bt->out_len = 0;
	bt->out = huge_alloc(OUT_FIRST);
	bt->out_cap = bt->out ? OUT_FIRST : 0;
	return bt;
}

static int out_reserve(struct batch *bt, size_t more)
{
	size_t cap = bt->out_cap ? bt->out_cap : 1 << 16;
	char *p;

	if (bt->out_len + more <= bt->out_cap)
		return 0;
	while (cap < bt->out_len + more)
		cap *= 2;
	p = realloc(bt->out, cap);
	if (!p)
		return -ENOMEM;
	bt->out = p;
	bt->out_cap = cap;
	return 0;
}

static int out_str(struct batch *bt, const char *str)
{
	size_t len = strlen(str);

	if (out_reserve(bt, len + 1))
		return -ENOMEM;
	memcpy(bt->out + bt->out_len, str, len);
	bt->out[bt->out_len + len] = '\n';
	bt->out_len += len + 1;
	return 0;
}

/* Appends the answer for addr: two lines per frame, as addr2line -f [-i] prints them. */
static int format_one(struct symbolizer *s, struct sym_binary *b, struct batch *bt, uint64_t addr,
		      bool inlines)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	int n = symbolizer__binary_vaddr(s, b, addr, f, SYM_MAX_FRAMES);

	if (n < 0)
		return n;
	for (int i = inlines ? 0 : n - 1; i < n; i++) {
		/* Without -i, the outermost function with the innermost location, as addr2line. */
		const struct sym_frame *loc = inlines ? &f[i] : &f[0];
		char num[16], *p = num + sizeof(num);
		uint32_t line = loc->line;

		/* A hand-made number: printf's parsing was a tenth of a run. */
		if (out_str(bt, f[i].name ? f[i].name : "??") ||
		    out_str(bt, loc->file ? loc->file : "??"))
			return -ENOMEM;
		bt->out[bt->out_len - 1] = ':';
		*--p = '\n';
		do
			*--p = (char)('0' + line % 10);
		while (line /= 10);
		if (out_reserve(bt, (size_t)(num + sizeof(num) - p)))
			return -ENOMEM;
		memcpy(bt->out + bt->out_len, p, (size_t)(num + sizeof(num) - p));
		bt->out_len += (size_t)(num + sizeof(num) - p);
	}
	return 0;
}

/* Sorts bt->item[0..n) by address: LSD radix, a byte a pass, over the bits the batch spans. */
static void sort_batch(struct batch *bt)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	struct item *src = bt->item, *dst = bt->tmp, *t;

	for (size_t i = 0; i < bt->n; i++) {
		lo = bt->item[i].addr < lo ? bt->item[i].addr : lo;
		hi = bt->item[i].addr > hi ? bt->item[i].addr : hi;
	}
	for (unsigned int shift = 0; shift < 64 && bt->n > 1 && ((hi - lo) >> shift); shift += 8) {
		size_t count[257] = { 0 };

		for (size_t i = 0; i < bt->n; i++)
			count[((src[i].addr - lo) >> shift & 0xff) + 1]++;
		for (int d = 0; d < 256; d++)
			count[d + 1] += count[d];
		for (size_t i = 0; i < bt->n; i++)
			dst[count[(src[i].addr - lo) >> shift & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != bt->item)
		memcpy(bt->item, src, bt->n * sizeof(*src));
}

/* Writes all of buf to standard output. Returns 0 or -errno. */
static int write_all(const char *buf, size_t len)
{
	for (size_t at = 0; at < len;) {
		ssize_t got = write(STDOUT_FILENO, buf + at, len - at);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int err = -errno;

			fprintf(stderr, "ember symbolize: standard output: %s\n", strerror(errno));
			return err;
		}
		at += (size_t)got; /* a short write (a pipe): on from where it stopped */
	}
	return 0;
}

/*
 * Writes the batch's answers in input order, gathered into a buffer that stays in the cache.
 * (Through stdio each answer cost an fwrite call; with writev straight from the answers the
 * kernel's copy of 100,000 small pieces cost more than the gathering.) Returns 0 or -errno.
 */
static int write_answers(struct batch *bt)
{
	size_t at = 0;
	int err;

	fflush(stdout); /* nothing else writes there, but in order if it ever does */
	for (size_t i = 0; i < bt->n; i++) {
		const char *src = bt->out + bt->start[i];
		size_t len = bt->len[i];

		if (at + len > ORD_CHUNK) {
			if ((err = write_all(bt->ord, at)))
				return err;
			at = 0;
		}
		if (len > ORD_CHUNK) { /* an answer of 32 frames of long names: on its own */
			if ((err = write_all(src, len)))
				return err;
			continue;
		}
		memcpy(bt->ord + at, src, len);
		at += len;
	}
	return write_all(bt->ord, at);
}

/* Resolves and prints the batch; empties it. */
static int flush_batch(struct symbolizer *s, struct sym_binary *b, struct batch *bt, bool inlines)
{
	int err = 0;

	sort_batch(bt);
	bt->out_len = 0;
	for (size_t k = 0; k < bt->n && !err; k++) {
		size_t i = bt->item[k].idx;

		/* An address asked again (sampled stacks repeat): the same answer, once. */
		if (k && bt->item[k - 1].addr == bt->item[k].addr) {
			bt->start[i] = bt->start[bt->item[k - 1].idx];
			bt->len[i] = bt->len[bt->item[k - 1].idx];
			continue;
		}
		bt->start[i] = bt->out_len;
		err = format_one(s, b, bt, bt->item[k].addr, inlines);
		bt->len[i] = bt->out_len - bt->start[i];
	}
	if (!err)
		err = write_answers(bt);
	bt->n = 0;
	return err;
}

/* Queues one address (text as given); a batch full is resolved and printed. */
static int queue_one(struct symbolizer *s, struct sym_binary *b, struct batch *bt, const char *arg,
		     bool inlines)
{
	uint64_t addr;

	if (parse_addr(arg, &addr)) {
		/* What came before is answered first, as it would be one address at a time. */
		int err = flush_batch(s, b, bt, inlines);

		fprintf(stderr, "ember symbolize: '%s' is not a hex address\n", arg);
		return err ? err : -EINVAL;
	}
	bt->item[bt->n] = (struct item){ addr, bt->n };
	bt->n++;
	return bt->n == BATCH_MAX ? flush_batch(s, b, bt, inlines) : 0;
}

/* Whether standard input has nothing to read without blocking (more would have to wait). */
static bool input_idle(void)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

/* Queues every line of standard input; answers a batch before waiting for more input. */
static int read_input(struct symbolizer *s, struct sym_binary *b, struct batch *bt, bool inlines)
{
	static char buf[1 << 16];
	char line[128];
	size_t len = 0, have = 0, at = 0;
	ssize_t got;
	int err = 0;

	for (;;) {
		if (at == have) {
			if (bt->n && input_idle()) {
				if ((err = flush_batch(s, b, bt, inlines)))
					return err;
				fflush(stdout);
			}
			got = read(STDIN_FILENO, buf, sizeof(buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				err = -errno;
				fprintf(stderr, "ember symbolize: standard input: %s\n",
					strerror(errno));
				return err;
			}
			if (!got)
				break;
			have = (size_t)got;
			at = 0;
		}
		while (at < have) {
			char c = buf[at++];

			if (c == '\n') {
				line[len] = '\0';
				len = 0;
				if ((err = queue_one(s, b, bt, line, inlines)))
					return err;
				continue;
			}
			/* A longer line is no address: what fits is enough to say so. */
			if (len < sizeof(line) - 1)
				line[len++] = c;
		}
	}
	if (len) { /* the last line, without its newline */
		line[len] = '\0';
		err = queue_one(s, b, bt, line, inlines);
	}
	return err;
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
	struct batch *bt = NULL;
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
	} else if (!(bt = batch_new())) {
		err = -ENOMEM;
		fprintf(stderr, "ember symbolize: %s\n", strerror(ENOMEM));
	} else if (optind < argc) {
		for (int i = optind; i < argc && !err; i++)
			err = queue_one(s, b, bt, argv[i], inlines);
	} else {
		err = read_input(s, b, bt, inlines);
	}
	if (bt && !err)
		err = flush_batch(s, b, bt, inlines);
	if (bt)
		free(bt->out);
	free(bt);
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

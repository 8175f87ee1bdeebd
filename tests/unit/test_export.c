// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * export/: every format on a deterministic database shaped like a recording of tests/progs/chain
 * (built through storage/writer.h, so the output is stable), compared with golden files in
 * tests/golden/export; pprof decoded back with protobuf-c and its stacks and totals compared with
 * the folded output, and checked against the rules Parca's and Pyroscope's ingestion apply.
 *
 * `test_export --make-db PATH` writes the database and exits (tests/e2e/export_formats.sh runs the
 * real binary on it). EMBER_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "export/export.h"
#include "export/folded.h"
#include "profile.pb-c.h"
#include "storage/query.h"
#include "storage/storage.h"
#include "storage/writer.h"
#include "tests/harness.h"

#ifndef GOLDEN_DIR
#error "GOLDEN_DIR must name tests/golden/export"
#endif

#define T0 1733550000000000000ll
#define MS 1000000ll
#define SEC 1000000000ll

static char dir[] = "/tmp/ember-export-XXXXXX";
static char db_path[300];

/* The chain workload's frames (leaf_b calls an inlined helper), libc, and the kernel. */
enum {
	F_MAIN,
	F_RUN,
	F_MID1,
	F_MID2,
	F_LEAF_A,
	F_LEAF_B,
	F_MIX,
	F_LIBC_START,
	F_LIBC_UNK,
	F_READ_UNK,
	F_K_ENTRY,
	F_K_SYSCALL,
	F_K_READ,
	F_K_IDLE,
	F_OTHER,
	NFRAMES
};

#define CHAIN_FRAME(n, l)                                                          \
	{                                                                          \
		.kind = STORAGE_FRAME_USER, .name = n, .module = "/usr/bin/chain", \
		.file = "chain.c", .line = l,                                      \
		.build_id = "c4a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3"             \
	}
#define KFRAME(n)                                                                      \
	{                                                                              \
		.kind = STORAGE_FRAME_KERNEL, .name = n, .module = "[kernel.kallsyms]" \
	}

static const struct storage_frame frames[NFRAMES] = {
	[F_MAIN] = CHAIN_FRAME("main", 70),
	[F_RUN] = CHAIN_FRAME("chain_run", 50),
	[F_MID1] = CHAIN_FRAME("chain_mid1", 45),
	[F_MID2] = CHAIN_FRAME("chain_mid2", 39),
	[F_LEAF_A] = CHAIN_FRAME("chain_leaf_a", 24),
	[F_LEAF_B] = CHAIN_FRAME("chain_leaf_b", 33),
	[F_MIX] = { .kind = STORAGE_FRAME_USER,
		    .name = "chain_mix",
		    .module = "/usr/bin/chain",
		    .file = "chain.h",
		    .line = 7,
		    .inlined = true,
		    .build_id = "c4a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3" },
	[F_LIBC_START] = { .kind = STORAGE_FRAME_USER,
			   .name = "__libc_start_call_main",
			   .module = "/usr/lib/x86_64-linux-gnu/libc.so.6",
			   .build_id = "0f6e5d4c3b2a19080f6e5d4c3b2a190800112233" },
	[F_LIBC_UNK] = { .kind = STORAGE_FRAME_USER,
			 .module = "/usr/lib/x86_64-linux-gnu/libc.so.6",
			 .offset = 0x2724a,
			 .build_id = "0f6e5d4c3b2a19080f6e5d4c3b2a190800112233" },
	[F_READ_UNK] = { .kind = STORAGE_FRAME_USER,
			 .module = "/usr/lib/x86_64-linux-gnu/libc.so.6",
			 .offset = 0x10fe2c,
			 .build_id = "0f6e5d4c3b2a19080f6e5d4c3b2a190800112233" },
	[F_K_ENTRY] = KFRAME("entry_SYSCALL_64_after_hwframe"),
	[F_K_SYSCALL] = KFRAME("do_syscall_64"),
	[F_K_READ] = KFRAME("ksys_read"),
	[F_K_IDLE] = KFRAME("default_idle"),
	[F_OTHER] = { .kind = STORAGE_FRAME_USER, .name = "spin<&\"quoted\">", .module = "/opt/o" },
};

/* Stacks, leaf first. */
static const int stack_a[] = { F_LEAF_A, F_MID2, F_MID1, F_RUN, F_MAIN, F_LIBC_START, -1 };
static const int stack_b[] = { F_MIX, F_LEAF_B, F_MID2, F_MID1, F_RUN, F_MAIN, F_LIBC_UNK, -1 };
static const int stack_k[] = { F_K_READ, F_K_SYSCALL,  F_K_ENTRY, F_READ_UNK,
			       F_MAIN,	 F_LIBC_START, -1 };
static const int stack_idle[] = { F_K_IDLE, -1 };
static const int stack_other[] = { F_OTHER, -1 };

static int64_t put_stack(struct storage_writer *w, const int64_t *fid, const int *s)
{
	int64_t ids[16];
	size_t n = 0;

	for (; s[n] >= 0; n++)
		ids[n] = fid[s[n]];
	return storage_writer__stack(w, ids, n, STORAGE_STACK_COMPLETE);
}

/*
 * Recording 1 at 99 Hz from T0: chain's main thread (pid 100) runs leaf_a 10 times, leaf_b 20
 * times, reads 3 times (cgroup 42); its worker (tid 101) runs leaf_b 5 times after a gap of a
 * second; pid 200 "other" spins twice and pid 0 idles twice. Recording 2 at 49 Hz from T0 + 5 s:
 * the worker runs leaf_a 4 times.
 */
static int make_db(const char *path)
{
	struct storage_recording r1 = { .started_ns = T0,
					.ended_ns = T0 + 4 * SEC,
					.hz = 99,
					.ncpus = 2,
					.event = "cpu-clock" };
	struct storage_recording r2 = { .started_ns = T0 + 5 * SEC,
					.ended_ns = T0 + 7 * SEC,
					.hz = 49,
					.ncpus = 2,
					.event = "cpu-clock" };
	struct storage *db = storage__open(path, STORAGE_WRITE);
	struct storage_writer *w = db ? storage_writer__new(db) : NULL;
	int64_t fid[NFRAMES], A, B, K, I, O, th100, th101, th200, th0, t = T0;
	int err = -EIO;

	if (!w)
		goto out;
	for (int i = 0; i < NFRAMES; i++)
		fid[i] = storage_writer__frame(w, &frames[i]);
	A = put_stack(w, fid, stack_a);
	B = put_stack(w, fid, stack_b);
	K = put_stack(w, fid, stack_k);
	I = put_stack(w, fid, stack_idle);
	O = put_stack(w, fid, stack_other);
	th100 = storage_writer__thread(w, 100, 100, 5 * SEC, "chain");
	th101 = storage_writer__thread(w, 100, 101, 5 * SEC, "chain-worker");
	th200 = storage_writer__thread(w, 200, 200, 6 * SEC, "other");
	th0 = storage_writer__thread(w, 0, 0, 0, "swapper/0");
	storage_writer__process(w, 100, 5 * SEC, T0 - SEC, 1000, "chain", "/usr/bin/chain", T0);
	storage_writer__process(w, 200, 6 * SEC, T0 - SEC, 0, "other", "/opt/o", T0);
	for (int i = 0; i < 33; i++, t += 10101010)
		storage_writer__sample(w, &(struct storage_sample){ t, th100,
								    i % 11 == 10 ? K
								    : i % 3 == 0 ? A
										 : B,
								    i % 11 == 10 ? 42 : 0,
								    (uint32_t)(i % 2) });
	storage_writer__sample(w, &(struct storage_sample){ T0 + 5 * MS, th200, O, 7, 1 });
	storage_writer__sample(w, &(struct storage_sample){ T0 + 15 * MS, th200, O, 7, 1 });
	storage_writer__sample(w, &(struct storage_sample){ T0 + 25 * MS, th0, I, 1, 0 });
	storage_writer__sample(w, &(struct storage_sample){ T0 + 35 * MS, th0, I, 1, 0 });
	for (int i = 0; i < 5; i++)
		storage_writer__sample(w, &(struct storage_sample){ T0 + 1400 * MS + i * 10101010ll,
								    th101, B, 0, 1 });
	err = storage_writer__flush(w, &r1, 0, NULL);
	storage_writer__free(w);
	w = NULL;
	if (err)
		goto out;
	w = storage_writer__new(db);
	if (!w)
		goto out;
	for (int i = 0; i < 4; i++)
		storage_writer__sample(w, &(struct storage_sample){ T0 + 6 * SEC + i * 20408163ll,
								    th101, A, 0, 0 });
	err = storage_writer__flush(w, &r2, 0, NULL);
out:
	storage_writer__free(w);
	storage__close(db);
	return err;
}

/* Runs a format into memory. */
static int run(const char *format, const struct storage_filter *f,
	       const struct storage_filter *base, const struct export_options *opt, char **buf,
	       size_t *len, uint64_t *n)
{
	struct storage *db = storage__open(db_path, STORAGE_READ);
	struct storage_reader *r = db ? storage_reader__new(db) : NULL;
	struct export_job job = { .reader = r, .filter = f, .base = base, .opt = opt };
	const struct export_format *fmt = export_format_find(format);
	FILE *out = open_memstream(buf, len);
	int err = -EINVAL;

	if (r && fmt && out)
		err = fmt->write(out, &job);
	if (out)
		fclose(out);
	if (n)
		*n = job.nsamples;
	storage_reader__free(r);
	storage__close(db);
	return err;
}

/* Compares with tests/golden/export/NAME, or rewrites it under EMBER_UPDATE_GOLDEN=1. */
static bool golden(const char *name, const char *buf, size_t len)
{
	char path[512], *want = NULL;
	size_t wlen = 0;
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if (getenv("EMBER_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		ok = f && fwrite(buf, 1, len, f) == len;
		if (f)
			fclose(f);
		fprintf(stderr, "updated %s\n", path);
		return ok;
	}
	f = fopen(path, "r");
	if (!ASSERT_NONNULL(f, path))
		return false;
	want = malloc(len + 2);
	if (want)
		wlen = fread(want, 1, len + 1, f);
	fclose(f);
	ok = want && wlen == len && !memcmp(want, buf, len);
	if (!ok) {
		fprintf(stderr,
			"FAIL %s differs from the golden file (%zu bytes against %zu); "
			"EMBER_UPDATE_GOLDEN=1 rewrites it after a deliberate change\n",
			name, len, wlen);
		for (size_t i = 0; want && i < len && i < wlen; i++)
			if (buf[i] != want[i]) {
				fprintf(stderr, "first difference at byte %zu: ...%.60s\n", i,
					buf + (i > 20 ? i - 20 : 0));
				break;
			}
	}
	free(want);
	return ok;
}

static const struct storage_filter all = { 0 };

static enum test_result test_folded(void)
{
	struct export_options opt = { 0 };
	struct storage_filter cg = { .cgroups = (const uint64_t[]){ 42 }, .ncgroups = 1 };
	struct storage_filter none = { .from_ns = T0 + 100 * SEC };
	char *buf = NULL;
	size_t len;
	uint64_t n;
	bool ok;

	if (!ASSERT_OK(run("folded", &all, NULL, &opt, &buf, &len, &n), "folded") ||
	    !ASSERT_EQ(n, 46, "all samples") || !golden("chain.folded", buf, len))
		return TEST_FAIL;
	free(buf);
	opt.show_tid = opt.mark_inlined = true;
	if (!ASSERT_OK(run("folded", &all, NULL, &opt, &buf, &len, &n), "folded --show-tid") ||
	    !golden("chain-tid-inlined.folded", buf, len))
		return TEST_FAIL;
	free(buf);
	opt.show_tid = false;
	opt.show_pid = true;
	if (!ASSERT_OK(run("folded", &cg, NULL, &opt, &buf, &len, &n), "folded --cgroup 42") ||
	    !ASSERT_EQ(n, 3, "the reads"))
		return TEST_FAIL;
	ok = ASSERT_STREQ(buf,
			  "chain-100;__libc_start_call_main;main;libc.so.6+0x10fe2c;"
			  "entry_SYSCALL_64_after_hwframe_[k];do_syscall_64_[k];ksys_read_[k] 3\n",
			  "pid in the first frame");
	free(buf);
	buf = NULL;
	if (!ok ||
	    !ASSERT_EQ(run("folded", &none, NULL, &opt, &buf, &len, &n), -ENODATA, "empty range"))
		return TEST_FAIL;
	free(buf);
	return TEST_PASS;
}

static enum test_result test_perfscript(void)
{
	struct export_options opt = { 0 };
	char *buf = NULL;
	size_t len;
	uint64_t n;
	bool ok;

	ok = ASSERT_OK(run("perf-script", &all, NULL, &opt, &buf, &len, &n), "perf-script") &&
	     ASSERT_EQ(n, 46, "samples") && golden("chain.perf-script", buf, len);
	free(buf);
	return ok ? TEST_PASS : TEST_FAIL;
}

static enum test_result test_speedscope(void)
{
	struct export_options opt = { .command = "ember export --format speedscope" };
	char *buf = NULL;
	size_t len;
	uint64_t n;
	bool ok;

	ok = ASSERT_OK(run("speedscope", &all, NULL, &opt, &buf, &len, &n), "speedscope") &&
	     ASSERT_EQ(n, 46, "samples") && golden("chain.speedscope.json", buf, len);
	free(buf);
	return ok ? TEST_PASS : TEST_FAIL;
}

static enum test_result test_svg(void)
{
	struct export_options opt = { 0 };
	struct storage_filter late = { .from_ns = T0 + 150 * MS };
	struct storage_filter early = { .to_ns = T0 + 150 * MS };
	char *buf = NULL;
	size_t len;
	uint64_t n;
	bool ok;

	ok = ASSERT_OK(run("svg", &all, NULL, &opt, &buf, &len, &n), "svg") &&
	     golden("chain.svg", buf, len);
	free(buf);
	buf = NULL;
	if (!ok)
		return TEST_FAIL;
	opt = (struct export_options){
		.title = "Chain <icicle>", .width = 800, .colors = "blue", .reverse = true
	};
	ok = ASSERT_OK(run("svg", &all, NULL, &opt, &buf, &len, &n), "svg icicle") &&
	     golden("chain-icicle.svg", buf, len);
	free(buf);
	buf = NULL;
	if (!ok)
		return TEST_FAIL;
	opt = (struct export_options){ 0 };
	ok = ASSERT_OK(run("svg", &late, &early, &opt, &buf, &len, &n), "svg diff") &&
	     golden("chain-diff.svg", buf, len);
	free(buf);
	buf = NULL;
	opt.colors = "nope";
	if (!ok || !ASSERT_EQ(run("svg", &all, NULL, &opt, &buf, &len, &n), -EINVAL, "bad palette"))
		return TEST_FAIL;
	free(buf);
	return TEST_PASS;
}

/* Gunzips a whole buffer. */
static int gunzip(const char *in, size_t len, unsigned char **out, size_t *olen)
{
	z_stream z = { 0 };
	size_t cap = 1 << 16;
	int rc;

	*out = malloc(cap);
	*olen = 0;
	if (!*out || inflateInit2(&z, 31) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	do {
		if (*olen == cap) {
			unsigned char *n = realloc(*out, cap *= 2);

			if (!n)
				break;
			*out = n;
		}
		z.next_out = *out + *olen;
		z.avail_out = (uInt)(cap - *olen);
		rc = inflate(&z, Z_NO_FLUSH);
		*olen = cap - z.avail_out;
	} while (rc == Z_OK);
	inflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -EBADMSG;
}

/* Parca's and Pyroscope's ingestion checks: dense ids from 1, "" first, indexes in range. */
static bool valid_for_ingestion(const Perftools__Profiles__Profile *p)
{
	size_t ns = p->n_string_table;

	if (!ASSERT_TRUE(ns > 0 && !strcmp(p->string_table[0], ""), "string 0 is empty"))
		return false;
	for (size_t i = 0; i < p->n_mapping; i++)
		if (!ASSERT_EQ(p->mapping[i]->id, i + 1, "mapping ids dense") ||
		    !ASSERT_TRUE(p->mapping[i]->filename < (int64_t)ns &&
				     p->mapping[i]->build_id < (int64_t)ns,
				 "mapping strings"))
			return false;
	for (size_t i = 0; i < p->n_function; i++)
		if (!ASSERT_EQ(p->function[i]->id, i + 1, "function ids dense") ||
		    !ASSERT_TRUE(p->function[i]->name < (int64_t)ns &&
				     p->function[i]->filename < (int64_t)ns,
				 "function strings"))
			return false;
	for (size_t i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		if (!ASSERT_EQ(l->id, i + 1, "location ids dense") ||
		    !ASSERT_TRUE(l->mapping_id >= 1 && l->mapping_id <= p->n_mapping, "mapping id"))
			return false;
		for (size_t k = 0; k < l->n_line; k++)
			if (!ASSERT_TRUE(l->line[k]->function_id >= 1 &&
					     l->line[k]->function_id <= p->n_function,
					 "function id"))
				return false;
	}
	for (size_t i = 0; i < p->n_sample_type; i++)
		if (!ASSERT_TRUE(!strchr(p->string_table[p->sample_type[i]->type], '-'), "Pyroscope"
											 ": no '-' "
											 "in "
											 "sample "
											 "types"))
			return false;
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];

		if (!ASSERT_EQ(s->n_value, p->n_sample_type, "values per sample"))
			return false;
		for (size_t k = 0; k < s->n_location_id; k++)
			if (!ASSERT_TRUE(
				s->location_id[k] >= 1 && s->location_id[k] <= p->n_location, "loca"
											      "tion"
											      " i"
											      "d"))
				return false;
		for (size_t k = 0; k < s->n_label; k++)
			if (!ASSERT_TRUE(s->label[k]->key > 0 && s->label[k]->key < (int64_t)ns &&
					     s->label[k]->str < (int64_t)ns,
					 "label strings"))
				return false;
	}
	return true;
}

/* A sample of the decoded profile as a folded line: comm label, then frames root first. */
static void sample_line(const Perftools__Profiles__Profile *p, const Perftools__Profiles__Sample *s,
			char *buf, size_t len)
{
	const char *comm = "?";
	size_t at;

	for (size_t k = 0; k < s->n_label; k++)
		if (!strcmp(p->string_table[s->label[k]->key], "comm"))
			comm = p->string_table[s->label[k]->str];
	at = (size_t)snprintf(buf, len, "%s", comm);
	for (size_t i = s->n_location_id; i-- > 0;) {
		const Perftools__Profiles__Location *l = p->location[s->location_id[i] - 1];
		const Perftools__Profiles__Mapping *m = p->mapping[l->mapping_id - 1];
		const char *file = p->string_table[m->filename], *base = strrchr(file, '/');
		const char *k = !strcmp(file, "[kernel.kallsyms]") ? "_[k]" : "";

		if (!l->n_line)
			at += (size_t)snprintf(buf + at, len - at, ";%s+0x%llx%s",
					       base ? base + 1 : file,
					       (unsigned long long)l->address, k);
		for (size_t j = l->n_line; j-- > 0;)
			at += (size_t)snprintf(
			    buf + at, len - at, ";%s%s",
			    p->string_table[p->function[l->line[j]->function_id - 1]->name], k);
	}
}

/* pprof of the whole database at db_path, unpacked and checked for ingestion: the profile
 * (perftools__profiles__profile__free_unpacked) or NULL; *n is the samples exported. */
static Perftools__Profiles__Profile *pprof_of_db(uint64_t *n)
{
	struct export_options opt = { .command = "ember export --format pprof" };
	Perftools__Profiles__Profile *p = NULL;
	unsigned char *raw = NULL;
	size_t len, rawlen;
	char *buf = NULL;

	if (ASSERT_OK(run("pprof", &all, NULL, &opt, &buf, &len, n), "pprof") &&
	    ASSERT_OK(gunzip(buf, len, &raw, &rawlen), "gunzip")) {
		p = perftools__profiles__profile__unpack(NULL, rawlen, raw);
		if (ASSERT_NONNULL(p, "unpack") && !valid_for_ingestion(p)) {
			perftools__profiles__profile__free_unpacked(p, NULL);
			p = NULL;
		}
	}
	free(raw);
	free(buf);
	return p;
}

static enum test_result test_pprof(void)
{
	struct export_options opt = { .command = "ember export --format pprof" };
	Perftools__Profiles__Profile *p = NULL;
	struct storage *db = NULL;
	struct storage_reader *r = NULL;
	struct export_lines lines = { 0 };
	struct export_job job = { .filter = &all, .opt = &opt };
	char *dump = NULL, line[2048];
	size_t dlen;
	uint64_t n = 0, samples = 0, ns = 0, matched = 0;
	enum test_result res = TEST_FAIL;
	bool inline_chain = false, labels = false, file_names = false, build_ids = false;
	FILE *d;

	p = pprof_of_db(&n);
	if (!p || !ASSERT_EQ(n, 46, "samples"))
		goto out;
	if (!ASSERT_EQ(p->n_sample_type, 2, "two sample types") ||
	    !ASSERT_STREQ(p->string_table[p->sample_type[0]->type], "samples", "type 0") ||
	    !ASSERT_STREQ(p->string_table[p->sample_type[0]->unit], "count", "unit 0") ||
	    !ASSERT_STREQ(p->string_table[p->sample_type[1]->type], "cpu", "type 1") ||
	    !ASSERT_STREQ(p->string_table[p->sample_type[1]->unit], "nanoseconds", "unit 1") ||
	    !ASSERT_NONNULL(p->period_type, "period type") ||
	    !ASSERT_STREQ(p->string_table[p->period_type->type], "cpu", "period type") ||
	    !ASSERT_EQ(p->period, 10101010, "the period of 99 Hz") ||
	    !ASSERT_EQ(p->time_nanos, T0, "time"))
		goto out;
	/* Totals: 42 samples at 99 Hz and 4 at 49 Hz. */
	for (size_t i = 0; i < p->n_sample; i++) {
		samples += (uint64_t)p->sample[i]->value[0];
		ns += (uint64_t)p->sample[i]->value[1];
		labels |= p->sample[i]->n_label == 4;
	}
	if (!ASSERT_EQ(samples, 46, "samples") ||
	    !ASSERT_EQ(ns, 42ull * 10101010 + 4ull * 20408163, "cpu ns per recording's rate") ||
	    !ASSERT_TRUE(labels, "pid, tid, comm and cgroup labels"))
		goto out;
	for (size_t i = 0; i < p->n_location; i++)
		inline_chain |= p->location[i]->n_line == 2;
	for (size_t i = 0; i < p->n_function; i++)
		file_names |= !strcmp(p->string_table[p->function[i]->filename], "chain.h");
	for (size_t i = 0; i < p->n_mapping; i++)
		build_ids |= !strcmp(p->string_table[p->mapping[i]->build_id], "c4a1b2c3d4e5f607182"
									       "93a4b5c6d7e8f90a1b2"
									       "c3");
	if (!ASSERT_TRUE(inline_chain, "chain_mix inlined in chain_leaf_b: one location, two "
				       "lines") ||
	    !ASSERT_TRUE(file_names, "functions carry file names") ||
	    !ASSERT_TRUE(build_ids, "mappings carry build-ids"))
		goto out;

	/* Every decoded stack, summed per line, is exactly the folded output. */
	db = storage__open(db_path, STORAGE_READ);
	r = db ? storage_reader__new(db) : NULL;
	job.reader = r;
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(export_folded_lines(&job, &all, 0, 1, &lines), "folded lines"))
		goto out;
	for (size_t k = 0; k < lines.n; k++) {
		uint64_t sum = 0;

		for (size_t i = 0; i < p->n_sample; i++) {
			sample_line(p, p->sample[i], line, sizeof(line));
			if (!strcmp(line, lines.v[k].text))
				sum += (uint64_t)p->sample[i]->value[0];
		}
		if (!ASSERT_EQ(sum, lines.v[k].count, lines.v[k].text))
			goto out;
		matched += sum;
	}
	if (!ASSERT_EQ(matched, 46, "every pprof sample is a folded line"))
		goto out;

	/* A readable dump is the golden file (the gzip bytes depend on zlib's version). */
	d = open_memstream(&dump, &dlen);
	if (!d)
		goto out;
	fprintf(d, "period %lld time %lld duration %lld\n", (long long)p->period,
		(long long)p->time_nanos, (long long)p->duration_nanos);
	for (size_t i = 0; i < p->n_sample; i++) {
		sample_line(p, p->sample[i], line, sizeof(line));
		fprintf(d, "%s %lld %lld", line, (long long)p->sample[i]->value[0],
			(long long)p->sample[i]->value[1]);
		for (size_t k = 0; k < p->sample[i]->n_label; k++)
			fprintf(d, " %s=%s", p->string_table[p->sample[i]->label[k]->key],
				p->string_table[p->sample[i]->label[k]->str]);
		fputc('\n', d);
	}
	for (size_t i = 0; i < p->n_mapping; i++)
		fprintf(d, "mapping %llu %s build-id %s limit 0x%llx functions %d\n",
			(unsigned long long)p->mapping[i]->id,
			p->string_table[p->mapping[i]->filename],
			p->string_table[p->mapping[i]->build_id],
			(unsigned long long)p->mapping[i]->memory_limit,
			p->mapping[i]->has_functions);
	for (size_t i = 0; i < p->n_function; i++)
		fprintf(d, "function %llu %s %s\n", (unsigned long long)p->function[i]->id,
			p->string_table[p->function[i]->name],
			p->string_table[p->function[i]->filename]);
	fclose(d);
	if (golden("chain.pprof.txt", dump, dlen))
		res = TEST_PASS;
out:
	free(dump);
	export_lines_free(&lines);
	storage_reader__free(r);
	storage__close(db);
	perftools__profiles__profile__free_unpacked(p, NULL);
	return res;
}

/* Progress is reported, ends at 1 and never goes backwards. */
static void track(double x, void *ctx)
{
	double *last = ctx;

	if (x < last[0])
		last[1] = 1; /* went backwards */
	last[0] = x;
}

static enum test_result test_progress(void)
{
	struct export_options opt = { 0 };
	struct storage *db = storage__open(db_path, STORAGE_READ);
	struct storage_reader *r = db ? storage_reader__new(db) : NULL;
	double last[2] = { 0, 0 };
	struct export_job job = {
		.reader = r, .filter = &all, .opt = &opt, .progress = track, .progress_ctx = last
	};
	enum test_result res = TEST_FAIL;
	FILE *out = fopen("/dev/null", "w");

	for (size_t i = 0; r && out && export_formats[i]; i++) {
		last[0] = last[1] = 0;
		if (!ASSERT_OK(export_formats[i]->write(out, &job), export_formats[i]->name) ||
		    !ASSERT_TRUE(last[0] == 1 && !last[1], "progress ends at 1, monotonic"))
			goto out;
	}
	res = r && out ? TEST_PASS : TEST_FAIL;
out:
	if (out)
		fclose(out);
	storage_reader__free(r);
	storage__close(db);
	return res;
}

/*
 * A frame the writer forgot in memory and interned again is two equal rows: pprof makes one
 * location of them (it keyed locations by frame id: the same address twice in one mapping).
 */
static enum test_result test_pprof_equal_frames(void)
{
	struct storage_recording rec = { .started_ns = T0, .hz = 99, .ncpus = 1, .event = "x" };
	struct storage_frame u = { .module = "/usr/lib/libu.so", .offset = 0x40 };
	Perftools__Profiles__Profile *p = NULL;
	struct storage_writer_stats ws = { 0 };
	struct storage_writer *w = NULL;
	enum test_result res = TEST_FAIL;
	char saved[sizeof(db_path)];
	int64_t fu[2], su, th;
	size_t at40 = 0;
	struct storage *db;
	uint64_t n = 0;
	int err = 0;

	memcpy(saved, db_path, sizeof(saved));
	snprintf(db_path, sizeof(db_path), "%s/equal.db", dir);
	db = storage__open(db_path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	/* The frame sampled once, then idle flushes until the writer forgets it, then the frame
	 * again, sampled again. */
	for (int round = 0; w && !err && round < 2; round++) {
		fu[round] = storage_writer__frame(w, &u);
		su = storage_writer__stack(w, &fu[round], 1, STORAGE_STACK_COMPLETE);
		th = storage_writer__thread(w, 7, 7, SEC, "u");
		err = storage_writer__sample(w, &(struct storage_sample){ T0 + round * SEC, th, su,
									  0, 0 });
		for (int i = 0; !err && i < 2000 && (i == 0 || (!round && !ws.forgotten_frames));
		     i++) {
			err = storage_writer__flush(w, &rec, 0, NULL);
			storage_writer__stats(w, &ws);
		}
	}
	storage_writer__free(w);
	storage__close(db);
	if (!ASSERT_NONNULL(w, "writer") || !ASSERT_OK(err, "writing") ||
	    !ASSERT_GT(fu[1], fu[0], "the same frame again, a new row"))
		goto out;
	p = pprof_of_db(&n);
	if (!p || !ASSERT_EQ(n, 2, "samples"))
		goto out;
	for (size_t i = 0; i < p->n_location; i++)
		at40 += p->location[i]->address == 0x40;
	if (ASSERT_EQ(at40, 1, "one location at 0x40"))
		res = TEST_PASS;
out:
	memcpy(db_path, saved, sizeof(saved));
	perftools__profiles__profile__free_unpacked(p, NULL);
	return res;
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = {
		TEST(test_folded),
		TEST(test_perfscript),
		TEST(test_speedscope),
		TEST(test_svg),
		TEST(test_pprof),
		TEST(test_progress),
		TEST(test_pprof_equal_frames),
	};
	char cmd[400];
	int r;

	if (argc == 3 && !strcmp(argv[1], "--make-db"))
		return make_db(argv[2]) ? 1 : 0;
	if (!mkdtemp(dir))
		return 1;
	snprintf(db_path, sizeof(db_path), "%s/chain.db", dir);
	if (make_db(db_path)) {
		fprintf(stderr, "cannot build the test database\n");
		return 1;
	}
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return r;
}

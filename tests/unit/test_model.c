// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The TUI's model over a real database written with storage/writer.h: processes and threads,
 * sparklines, functions and their kinds, callers and callees, kernel-only and user-only frames,
 * idle, narrowing, filters, history ranges, the flame tree (also reversed), the heatmap, and
 * following new samples live.
 *
 * Ten seconds at 10 Hz on 2 CPUs. Stacks, leaf first:
 *   A = work, main                  pid 10 tid 10 "app"        30 samples over 0..9.9 s
 *   B = sys_read[k], helper[inl], main  pid 10 tid 11 "app-worker" 10 samples in 8..9.9 s
 *   C = jitfn[jit], main            pid 20 "other"              5 samples
 *   E = lib.so+0x10 (unknown), main pid 20 "other"              5 samples
 *   D = idle_k[k]                   pid 0 "swapper/0"          50 samples
 */
#include <stdio.h>
#include <sys/stat.h>

#include "storage/query.h"
#include "storage/storage.h"
#include "storage/writer.h"
#include "tests/harness.h"
#include "tui/model.h"

#define S 1000000000ll

static char dir[] = "/tmp/ember-model-XXXXXX";
static char path[256];
static const int64_t t0 = 1733550000000000000ll;
static int64_t tA, tB, tC, tD, tE; /* thread ids by stack */
static int64_t sA, sB, sC, sD, sE;

static char *name_of(const struct storage_frame *f, char *buf, size_t len)
{
	if (f->name)
		snprintf(buf, len, "%s%s", f->name, f->kind == STORAGE_FRAME_KERNEL ? "_[k]" : "");
	else
		snprintf(buf, len, "%s+0x%llx", f->module ? f->module : "?",
			 (unsigned long long)f->offset);
	return buf;
}

static int write_db(void)
{
	struct storage_frame fmain = { .kind = STORAGE_FRAME_USER,
				       .name = "main",
				       .module = "/app" };
	struct storage_frame fwork = { .kind = STORAGE_FRAME_USER,
				       .name = "work",
				       .module = "/app" };
	struct storage_frame fhelp = {
		.kind = STORAGE_FRAME_USER, .name = "helper", .module = "/app", .inlined = true
	};
	struct storage_frame fread = { .kind = STORAGE_FRAME_KERNEL, .name = "sys_read" };
	struct storage_frame fjit = { .kind = STORAGE_FRAME_JIT, .name = "jitfn", .module = "jit" };
	struct storage_frame funk = { .kind = STORAGE_FRAME_USER,
				      .module = "lib.so",
				      .offset = 16 };
	struct storage_frame fidle = { .kind = STORAGE_FRAME_KERNEL, .name = "idle_k" };
	struct storage_recording rec = { .started_ns = t0, .hz = 10, .ncpus = 2, .event = "x" };
	struct storage *db = storage__open(path, STORAGE_WRITE);
	struct storage_writer *w = db ? storage_writer__new(db) : NULL;
	int64_t m, wk, h, r, j, u, i;
	int err = -EIO;

	if (!w)
		goto out;
	m = storage_writer__frame(w, &fmain);
	wk = storage_writer__frame(w, &fwork);
	h = storage_writer__frame(w, &fhelp);
	r = storage_writer__frame(w, &fread);
	j = storage_writer__frame(w, &fjit);
	u = storage_writer__frame(w, &funk);
	i = storage_writer__frame(w, &fidle);
	sA = storage_writer__stack(w, (int64_t[]){ wk, m }, 2, STORAGE_STACK_COMPLETE);
	sB = storage_writer__stack(w, (int64_t[]){ r, h, m }, 3, STORAGE_STACK_COMPLETE);
	sC = storage_writer__stack(w, (int64_t[]){ j, m }, 2, STORAGE_STACK_COMPLETE);
	sE = storage_writer__stack(w, (int64_t[]){ u, m }, 2, STORAGE_STACK_COMPLETE);
	sD = storage_writer__stack(w, (int64_t[]){ i }, 1, STORAGE_STACK_NO_USER);
	tA = storage_writer__thread(w, 10, 10, 5, "app");
	tB = storage_writer__thread(w, 10, 11, 5, "app-worker");
	tC = tE = storage_writer__thread(w, 20, 20, 6, "other");
	tD = storage_writer__thread(w, 0, 0, 0, "swapper/0");
	storage_writer__process(w, 10, 5, t0 - S, 1000, "app", "/usr/bin/app", t0);
	storage_writer__process(w, 20, 6, t0 - S, 0, "other", "/opt/other", t0);
	for (int k = 0; k < 30; k++)
		storage_writer__sample(w, &(struct storage_sample){ t0 + k * S / 3, tA, sA, 1, 0 });
	for (int k = 0; k < 10; k++)
		storage_writer__sample(w, &(struct storage_sample){ t0 + 8 * S + k * S / 5, tB, sB,
								    1, 1 });
	for (int k = 0; k < 5; k++) {
		storage_writer__sample(w, &(struct storage_sample){ t0 + k * S, tC, sC, 7, 1 });
		storage_writer__sample(w, &(struct storage_sample){ t0 + k * S + S / 2, tE, sE, 7,
								    1 });
	}
	for (int k = 0; k < 50; k++)
		storage_writer__sample(w, &(struct storage_sample){ t0 + k * S / 5, tD, sD, 1, 0 });
	err = storage_writer__flush(w, &rec, 0, NULL);
out:
	storage_writer__free(w);
	storage__close(db);
	return err;
}

struct fixture {
	struct storage *db;
	struct storage_reader *r;
	struct model *m;
};

static bool open_model(struct fixture *f)
{
	f->db = storage__open(path, STORAGE_READ);
	f->r = f->db ? storage_reader__new(f->db) : NULL;
	f->m = f->r ? model__new(f->r, name_of, 10 * S) : NULL;
	return ASSERT_NONNULL(f->m, "model") && ASSERT_EQ(model__refresh(f->m), 1, "first refresh");
}

static void close_model(struct fixture *f)
{
	model__free(f->m);
	storage_reader__free(f->r);
	storage__close(f->db);
}

/* The function named `name` in the selection's functions; NULL if absent. */
static const struct model_fcount *fn(struct model *m, const char *name)
{
	size_t n;
	const struct model_fcount *v = model__functions(m, &n);

	for (size_t i = 0; v && i < n; i++)
		if (!strcmp(model__func(m, v[i].func)->name, name))
			return &v[i];
	return NULL;
}

static const struct model_task *task(struct model *m, bool by_thread, uint32_t id)
{
	size_t n;
	const struct model_task *v = model__tasks(m, by_thread, &n);

	for (size_t i = 0; v && i < n; i++)
		if ((by_thread ? v[i].tid : v[i].pid) == id)
			return &v[i];
	return NULL;
}

static enum test_result test_views(void)
{
	struct fixture f = { 0 };
	const struct model_info *info;
	const struct model_task *t;
	const struct model_fcount *c;
	enum test_result res = TEST_FAIL;
	size_t n;

	if (!open_model(&f))
		goto out;
	info = model__info(f.m);
	if (!ASSERT_TRUE(info->live, "live") || !ASSERT_EQ(info->hz, 10, "hz") ||
	    !ASSERT_EQ(info->ncpus, 2, "cpus") || !ASSERT_EQ(info->samples, 50, "busy samples") ||
	    !ASSERT_EQ(info->idle, 50, "idle") || !ASSERT_EQ(info->all, 100, "all") ||
	    !ASSERT_EQ(model__refresh(f.m), 0, "nothing new"))
		goto out;

	/* Processes: idle hidden, the busiest first, named after the main thread. */
	if (!ASSERT_NONNULL(model__tasks(f.m, false, &n), "processes") || !ASSERT_EQ(n, 2, "two"))
		goto out;
	t = model__tasks(f.m, false, &n);
	if (!ASSERT_EQ(t[0].pid, 10, "pid 10 first") || !ASSERT_EQ(t[0].samples, 40, "40") ||
	    !ASSERT_STREQ(t[0].comm, "app", "comm") || !ASSERT_EQ(t[0].uid, 1000, "uid") ||
	    !ASSERT_STREQ(t[0].exe, "/usr/bin/app", "exe") ||
	    !ASSERT_STREQ(model__func(f.m, t[0].hot_func)->name, "work", "hottest function"))
		goto out;
	/* Threads: tid 11 ran only in the last two seconds, the last two sparkline cells. */
	t = task(f.m, true, 11);
	if (!ASSERT_NONNULL(t, "tid 11") || !ASSERT_EQ(t->samples, 10, "tid 11 samples") ||
	    !ASSERT_STREQ(model__func(f.m, t->hot_func)->name, "sys_read_[k]", "its leaf") ||
	    !ASSERT_EQ(t->spark[0], 0, "idle at first") ||
	    !ASSERT_EQ(t->spark[7], 0, "until 8 s") ||
	    !ASSERT_EQ(t->spark[8] + t->spark[9], 10, "busy at the end"))
		goto out;

	/* Functions, with kinds. */
	c = fn(f.m, "main");
	if (!ASSERT_NONNULL(c, "main") || !ASSERT_EQ(c->self, 0, "main self") ||
	    !ASSERT_EQ(c->total, 50, "main total"))
		goto out;
	c = fn(f.m, "work");
	if (!ASSERT_EQ(c->self, 30, "work self") ||
	    !ASSERT_EQ(model__functions(f.m, &n)[0].func, c->func, "work leads by self"))
		goto out;
	if (!ASSERT_EQ(model__func(f.m, fn(f.m, "helper")->func)->kind, MODEL_KIND_INLINED,
		       "inlined") ||
	    !ASSERT_EQ(model__func(f.m, fn(f.m, "jitfn")->func)->kind, MODEL_KIND_JIT, "JIT") ||
	    !ASSERT_EQ(model__func(f.m, fn(f.m, "sys_read_[k]")->func)->kind, MODEL_KIND_KERNEL,
		       "kernel") ||
	    !ASSERT_NONNULL(fn(f.m, "lib.so+0x10"), "unknown frame") ||
	    !ASSERT_EQ(model__func(f.m, fn(f.m, "lib.so+0x10")->func)->kind, MODEL_KIND_UNKNOWN,
		       "unknown") ||
	    !ASSERT_NULL(fn(f.m, "idle_k_[k]"), "idle hidden"))
		goto out;
	res = TEST_PASS;
out:
	close_model(&f);
	return res;
}

static enum test_result test_modes(void)
{
	struct fixture f = { 0 };
	enum test_result res = TEST_FAIL;
	size_t n;

	if (!open_model(&f))
		goto out;
	model__set_frames(f.m, MODEL_FRAMES_KERNEL);
	if (!ASSERT_TRUE(model__stale(f.m), "stale") ||
	    !ASSERT_EQ(model__refresh(f.m), 1, "rederive") ||
	    !ASSERT_EQ(model__info(f.m)->samples, 10, "kernel samples") ||
	    !ASSERT_NULL(fn(f.m, "main"), "no user frames") ||
	    !ASSERT_EQ(fn(f.m, "sys_read_[k]")->self, 10, "sys_read") ||
	    !ASSERT_NONNULL(model__tasks(f.m, false, &n), "tasks") || !ASSERT_EQ(n, 1, "pid 10"))
		goto out;
	model__set_frames(f.m, MODEL_FRAMES_USER);
	model__refresh(f.m);
	if (!ASSERT_EQ(model__info(f.m)->samples, 50, "user samples") ||
	    !ASSERT_EQ(fn(f.m, "helper")->self, 10, "helper is B's user leaf") ||
	    !ASSERT_NULL(fn(f.m, "sys_read_[k]"), "no kernel frames"))
		goto out;
	model__set_frames(f.m, MODEL_FRAMES_ALL);
	model__show_idle(f.m, true);
	model__refresh(f.m);
	if (!ASSERT_EQ(model__info(f.m)->samples, 100, "idle shown") ||
	    !ASSERT_NONNULL(task(f.m, false, 0), "pid 0") ||
	    !ASSERT_EQ(fn(f.m, "idle_k_[k]")->self, 50, "idle function"))
		goto out;
	model__show_idle(f.m, false);
	model__narrow(f.m, 20, 0);
	model__refresh(f.m);
	if (!ASSERT_EQ(model__info(f.m)->samples, 10, "narrowed to pid 20") ||
	    !ASSERT_NULL(task(f.m, false, 10), "pid 10 gone"))
		goto out;
	model__narrow(f.m, 0, 0);
	model__set_filter(f.m, &(struct storage_filter){ .comm = "app-worker" });
	model__refresh(f.m);
	if (!ASSERT_EQ(model__info(f.m)->samples, 10, "comm filter") ||
	    !ASSERT_STREQ(model__filter(f.m)->comm, "app-worker", "filter copied"))
		goto out;
	model__set_filter(f.m, &(struct storage_filter){ 0 });
	/* A range without samples: everything empty, nothing NULL. */
	model__set_range(f.m, t0 - 100 * S, t0 - 90 * S);
	if (!ASSERT_EQ(model__refresh(f.m), 1, "empty range") ||
	    !ASSERT_EQ(model__info(f.m)->samples, 0, "no samples") ||
	    !ASSERT_NONNULL(model__tasks(f.m, false, &n), "no tasks, not NULL") ||
	    !ASSERT_EQ(n, 0, "zero tasks") ||
	    !ASSERT_NONNULL(model__functions(f.m, &n), "no functions, not NULL") ||
	    !ASSERT_EQ(n, 0, "zero functions") ||
	    !ASSERT_NONNULL(model__flame(f.m, false), "an empty flame tree") ||
	    !ASSERT_EQ(flame_tree__node(model__flame(f.m, false), FLAME_ROOT)->total, 0, "total 0"))
		goto out;
	/* History: the first two seconds hold A at 0..1.67 s (6), C at 0, 1 (2), E at 0.5, 1.5. */
	model__set_range(f.m, t0, t0 + 2 * S);
	model__refresh(f.m);
	if (!ASSERT_TRUE(!model__info(f.m)->live, "history") ||
	    !ASSERT_EQ(model__info(f.m)->samples, 10, "two seconds"))
		goto out;
	res = TEST_PASS;
out:
	close_model(&f);
	return res;
}

static enum test_result test_neighbours_flame_heatmap(void)
{
	struct fixture f = { 0 };
	struct model_fcount *up = NULL, *down = NULL;
	const struct flame_tree *t;
	const struct flame_node *root;
	enum test_result res = TEST_FAIL;
	uint64_t *counts = NULL, sum = 0;
	size_t nup, ndown, children = 0;

	if (!open_model(&f))
		goto out;
	if (!ASSERT_OK(model__neighbours(f.m, fn(f.m, "main")->func, &up, &nup, &down, &ndown),
		       "main's neighbours") ||
	    !ASSERT_EQ(nup, 1, "one caller: the root") ||
	    !ASSERT_EQ(up[0].func, MODEL_NO_FUNC, "root") ||
	    !ASSERT_EQ(up[0].self, 50, "all of main") || !ASSERT_EQ(ndown, 4, "four callees") ||
	    !ASSERT_STREQ(model__func(f.m, down[0].func)->name, "work", "work first") ||
	    !ASSERT_EQ(down[0].self, 30, "30"))
		goto out;
	free(up);
	free(down);
	up = down = NULL;
	if (!ASSERT_OK(model__neighbours(f.m, fn(f.m, "sys_read_[k]")->func, &up, &nup, &down,
					 &ndown),
		       "sys_read") ||
	    !ASSERT_STREQ(model__func(f.m, up[0].func)->name, "helper", "called by helper") ||
	    !ASSERT_EQ(down[0].func, MODEL_NO_FUNC, "a leaf: its own samples"))
		goto out;

	/* Flame: all -> command -> main -> ... */
	t = model__flame(f.m, false);
	if (!ASSERT_NONNULL(t, "flame"))
		goto out;
	root = flame_tree__node(t, FLAME_ROOT);
	for (uint32_t c = root->first_child; c != FLAME_NONE;
	     c = flame_tree__node(t, c)->next_sibling)
		children++;
	if (!ASSERT_EQ(root->total, 50, "flame total") ||
	    !ASSERT_EQ(children, 3, "three commands") ||
	    !ASSERT_STREQ(model__func(f.m, flame_tree__node(t, root->first_child)->func)->name,
			  "app", "app first") ||
	    !ASSERT_EQ(model__func(f.m, flame_tree__node(t, root->first_child)->func)->kind,
		       MODEL_KIND_PROCESS, "a command node") ||
	    !ASSERT_EQ(flame_tree__max_depth(t), 4, "app-worker;main;helper;sys_read"))
		goto out;
	t = model__flame(f.m, true);
	root = flame_tree__node(t, FLAME_ROOT);
	if (!ASSERT_STREQ(model__func(f.m, flame_tree__node(t, root->first_child)->func)->name,
			  "work", "reversed: leaves first"))
		goto out;

	/* Heatmap: 10 columns of 10 rows; the busy samples, idle hidden. */
	if (!ASSERT_OK(model__heatmap(f.m, t0, 10, 10, &counts), "heatmap"))
		goto out;
	for (int i = 0; i < 100; i++)
		sum += counts[i];
	if (!ASSERT_EQ(sum, 50, "heatmap samples") ||
	    !ASSERT_EQ(counts[0], 2, "A and C in the first 100 ms"))
		goto out;
	res = TEST_PASS;
out:
	free(counts);
	free(up);
	free(down);
	close_model(&f);
	return res;
}

/* Live: new samples move the window, and the model sees them. */
static enum test_result test_live(void)
{
	struct fixture f = { 0 };
	struct storage *db = NULL;
	struct storage_writer *w = NULL;
	struct storage_recording rec = { .started_ns = t0, .hz = 10, .ncpus = 2, .event = "x" };
	enum test_result res = TEST_FAIL;
	int64_t last;

	if (!open_model(&f))
		goto out;
	last = model__info(f.m)->last_ns;
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	for (int k = 0; k < 20; k++)
		storage_writer__sample(w, &(struct storage_sample){ t0 + 20 * S + k * S / 10, tA,
								    sA, 1, 0 });
	if (!ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush") ||
	    !ASSERT_EQ(model__refresh(f.m), 1, "new data") ||
	    !ASSERT_GT(model__info(f.m)->last_ns, last, "followed") ||
	    !ASSERT_EQ(model__info(f.m)->samples, 20, "the new window"))
		goto out;
	res = TEST_PASS;
out:
	storage_writer__free(w);
	storage__close(db);
	close_model(&f);
	return res;
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = { TEST(test_views), TEST(test_modes),
						  TEST(test_neighbours_flame_heatmap),
						  TEST(test_live) };
	char cmd[300];
	int r;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/model.db", dir);
	if (write_db()) {
		fprintf(stderr, "cannot write the test database\n");
		return 1;
	}
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return r;
}

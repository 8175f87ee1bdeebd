// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * From ring-buffer record to stored sample. Most samples repeat a stack the same process already
 * produced: a 128-bit hash of (pid, start time, raw IPs) finds its stack id without symbolizing
 * again. Only a miss walks the frames through the symbolizer and the writer's interning.
 */
#include "profiler/ingest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <xxhash.h>

#include <linux/types.h> /* the ABI header includes nothing: its types come first */

#include "bpf/ember_abi.h"

/* Beyond this many cached raw stacks the cache is emptied and refills (bounds memory). */
#define INGEST_CACHE_MAX 1000000
/* Frames of one stack once inlined calls are expanded; deeper stacks are cut at the root end. */
#define INGEST_MAX_FRAMES 512

struct raw_stack {
	XXH128_hash_t key;
	int64_t stack_id;
	UT_hash_handle hh;
};

struct ingest {
	struct storage_writer *w;
	struct symbolizer *sym;
	struct proctrack *pt;
	struct raw_stack *cache;
	unsigned long ncache;
	struct ingest_stats stats;
};

struct ingest *ingest__new(struct storage_writer *w, struct symbolizer *sym, struct proctrack *pt)
{
	struct ingest *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->w = w;
	in->sym = sym;
	in->pt = pt;
	return in;
}

/*
 * Frame granularity (docs/design.md, "Frames"): a frame is (function, file, line of the call
 * site). The line of the innermost frame of a stack, where the sample landed, is dropped: it
 * changes from sample to sample inside one function and would multiply distinct stacks by the
 * lines of every hot loop, while call-site lines are fixed per call site.
 */
static int64_t frame_id(struct ingest *in, const struct sym_frame *f, bool sampled_line)
{
	struct storage_frame sf = {
		.kind = f->kind == SYM_KIND_KERNEL ? STORAGE_FRAME_KERNEL
			: f->kind == SYM_KIND_JIT  ? STORAGE_FRAME_JIT
						   : STORAGE_FRAME_USER,
		.name = f->name,
		.module = f->module,
		.offset = f->name ? 0 : f->offset,
		.file = f->file,
		.line = sampled_line ? 0 : f->line,
		.inlined = f->inlined,
		.build_id = f->build_id,
	};

	return storage_writer__frame(in->w, &sf);
}

/*
 * Symbolizes the stack of a record: kernel frames (leaf first), then user frames (leaf first, each
 * IP expanded into its inlined calls). Every frame but the first of each part is a return address
 * and is looked up at ip - 1, so that a call at the very end of a function is not attributed to
 * the next one.
 */
static int64_t symbolize_stack(struct ingest *in, const struct ember_sample *s, struct proc *p,
			       int64_t now_ns, bool *unmapped)
{
	static int64_t ids[INGEST_MAX_FRAMES];
	size_t n = 0;

	for (unsigned int i = 0; i < s->nr_kernel; i++) {
		struct sym_frame f;
		uint64_t ip = s->ips[i] - (i > 0);

		symbolizer__kernel(in->sym, ip, &f);
		f.offset += !f.name && i > 0;
		ids[n] = frame_id(in, &f, false);
		if (ids[n] < 0)
			return ids[n];
		n++;
	}
	for (unsigned int i = 0; i < s->nr_user; i++) {
		uint64_t raw = s->ips[s->nr_kernel + i], ip = raw - (i > 0);
		const struct procmaps_entry *m = p ? proctrack__find_map(in->pt, p, ip, now_ns)
						   : NULL;

		*unmapped |= !m;
		struct sym_frame f[SYM_MAX_FRAMES];
		int nf = symbolizer__user(in->sym, p ? p->sym : NULL, m, ip, f, SYM_MAX_FRAMES);

		for (int j = 0; j < nf && n < INGEST_MAX_FRAMES; j++) {
			f[j].offset += !f[j].name && i > 0;
			ids[n] = frame_id(in, &f[j], i == 0 && j == 0);
			if (ids[n] < 0)
				return ids[n];
			n++;
		}
	}
	return storage_writer__stack(in->w, ids, n, STORAGE_STACK_UNCLASSIFIED);
}

static int64_t stack_id(struct ingest *in, const struct ember_sample *s, struct proc *p,
			int64_t now_ns)
{
	struct {
		uint64_t start;
		uint32_t pid;
		uint16_t nk, nu;
		uint32_t image, pad;
	} head = { s->proc_start_ns, s->pid, s->nr_kernel, s->nr_user, p ? p->image : 0, 0 };
	struct raw_stack *e;
	XXH128_hash_t key;
	bool unmapped = false;
	int64_t id;

	/* The process identity, its image (an exec maps other code at the same addresses) and the
	 * split seed the hash of the IPs. */
	key = XXH3_128bits_withSeed(s->ips, (s->nr_kernel + s->nr_user) * sizeof(s->ips[0]),
				    XXH3_64bits(&head, sizeof(head)));
	HASH_FIND(hh, in->cache, &key, sizeof(key), e);
	if (e) {
		in->stats.stack_cache_hits++;
		return e->stack_id;
	}
	id = symbolize_stack(in, s, p, now_ns, &unmapped);
	if (id < 0)
		return id;
	/* An IP outside every known mapping may be in a library loaded since (the maps are read
	 * again at most every PROCTRACK_REREAD_NS): do not cache that answer for good. */
	if (unmapped)
		return id;
	if (in->ncache >= INGEST_CACHE_MAX)
		ingest__clear_cache(in);
	e = malloc(sizeof(*e));
	if (!e)
		return id; /* the sample is fine; only the cache lost an entry */
	e->key = key;
	e->stack_id = id;
	HASH_ADD(hh, in->cache, key, sizeof(key), e);
	in->ncache++;
	return id;
}

int ingest__record(struct ingest *in, const void *data, size_t size, int64_t boot_to_epoch_ns,
		   int64_t now_ns)
{
	const struct ember_sample *s = data;
	struct storage_sample out;
	char comm[EMBER_TASK_COMM_LEN + 1];
	struct proc *p = NULL;
	bool is_new = false;
	int64_t id;
	int err;

	in->stats.received++;
	if (size < EMBER_SAMPLE_HEADER_SIZE || s->type != EMBER_EVENT_SAMPLE ||
	    s->nr_kernel > EMBER_MAX_KERNEL_IPS || s->nr_user > EMBER_MAX_USER_IPS ||
	    size < EMBER_SAMPLE_HEADER_SIZE + (size_t)(s->nr_kernel + s->nr_user) * 8) {
		in->stats.malformed++;
		return -EBADMSG;
	}
	memcpy(comm, s->comm, EMBER_TASK_COMM_LEN);
	comm[EMBER_TASK_COMM_LEN] = '\0';

	if (s->pid) {
		p = proctrack__get(in->pt, s->pid, s->proc_start_ns, now_ns, &is_new);
		if (!p) {
			err = -ENOMEM;
			goto fail;
		}
		if (is_new) {
			err = storage_writer__process(in->w, s->pid, (int64_t)s->proc_start_ns,
						      (int64_t)s->proc_start_ns + boot_to_epoch_ns,
						      s->uid, comm, p->exe,
						      (int64_t)s->time_ns + boot_to_epoch_ns);
			if (err)
				goto fail;
		}
	}
	out.thread = storage_writer__thread(in->w, s->pid, s->tid, (int64_t)s->proc_start_ns, comm);
	if (out.thread < 0) {
		err = (int)out.thread;
		goto fail;
	}
	id = stack_id(in, s, p, now_ns);
	if (id < 0) {
		err = (int)id;
		goto fail;
	}
	out.stack = id;
	out.time_ns = (int64_t)s->time_ns + boot_to_epoch_ns;
	out.cpu = s->cpu;
	out.cgroup = s->cgroup_id;
	err = storage_writer__sample(in->w, &out);
	if (err)
		goto fail;
	return 0;
fail:
	in->stats.errors++;
	return err;
}

int ingest__proc_event(struct ingest *in, const void *data, size_t size, int64_t boot_to_epoch_ns,
		       int64_t now_ns)
{
	const struct ember_proc_event *e = data;
	char comm[EMBER_TASK_COMM_LEN + 1];
	struct proc *p;
	bool is_new = false;
	int err;

	in->stats.received++;
	if (size < sizeof(*e) || (e->type != EMBER_EVENT_EXEC && e->type != EMBER_EVENT_EXIT) ||
	    !e->pid) {
		in->stats.malformed++;
		return -EBADMSG;
	}
	in->stats.proc_events++;
	if (e->type == EMBER_EVENT_EXIT) {
		proctrack__exit(in->pt, e->pid, e->proc_start_ns);
		return 0;
	}
	p = proctrack__exec(in->pt, e->pid, e->proc_start_ns, now_ns, &is_new);
	if (!p) {
		in->stats.errors++;
		return -ENOMEM;
	}
	if (!is_new)
		return 0;
	memcpy(comm, e->comm, EMBER_TASK_COMM_LEN);
	comm[EMBER_TASK_COMM_LEN] = '\0';
	err = storage_writer__process(in->w, e->pid, (int64_t)e->proc_start_ns,
				      (int64_t)e->proc_start_ns + boot_to_epoch_ns, e->uid, comm,
				      p->exe, (int64_t)e->time_ns + boot_to_epoch_ns);
	if (err)
		in->stats.errors++;
	return err;
}

void ingest__clear_cache(struct ingest *in)
{
	struct raw_stack *e, *tmp;

	HASH_ITER (hh, in->cache, e, tmp) {
		HASH_DEL(in->cache, e);
		free(e);
	}
	in->ncache = 0;
}

void ingest__stats(const struct ingest *in, struct ingest_stats *out)
{
	*out = in->stats;
}

void ingest__free(struct ingest *in)
{
	if (!in)
		return;
	ingest__clear_cache(in);
	free(in);
}

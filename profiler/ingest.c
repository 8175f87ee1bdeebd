// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * From ring-buffer record to stored sample. Most samples repeat a stack the same process already
 * produced: a 128-bit hash of (pid, start time, IPs) finds its stack id without symbolizing
 * again. Only a miss walks the frames through the symbolizer and the writer's interning.
 *
 * With a stack copy the raw record says nothing stable about the stack (the copy holds changing
 * locals), so the copy is unwound first and the key is the unwound user IPs, their flags and the
 * status; the unwinder's own memo spares most samples the unwinding itself (symbolizer/unwind.h).
 * Frame-pointer stacks keep the raw IPs as key and are classified only on a miss.
 */
#include "profiler/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>
#define XXH_STATIC_LINKING_ONLY /* the state types, for hashing in parts on the stack */
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
	enum storage_stack_status status;
	UT_hash_handle hh;
};

/* The user part of a stack, leaf first. */
struct user_stack {
	const uint64_t *ips;
	const uint8_t *flags; /* UNWIND_FRAME_*; NULL: every IP but the first is a return address */
	size_t n;
	enum storage_stack_status status;
};

struct ingest {
	struct storage_writer *w;
	struct symbolizer *sym;
	struct proctrack *pt;
	struct unwinder *uw;
	struct unwind_result unwound;
	struct raw_stack *cache;
	unsigned long ncache;
	struct ingest_stats stats;
	bool cmdline;
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

void ingest__set_cmdline(struct ingest *in, bool on)
{
	in->cmdline = on;
}

/*
 * Reads /proc/PID/cmdline (arguments separated by NULs) into buf as one line, arguments joined by
 * spaces, control bytes replaced. Empty for kernel threads and processes already gone.
 */
static void read_cmdline(uint32_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = buf[i] ? '?' : ' ';
	buf[n] = '\0';
}

void ingest__set_unwinder(struct ingest *in, struct unwinder *uw)
{
	in->uw = uw;
}

static enum storage_stack_status stored_status(enum unwind_status st)
{
	switch (st) {
	case UNWIND_COMPLETE:
		return STORAGE_STACK_COMPLETE;
	case UNWIND_TRUNCATED:
		return STORAGE_STACK_TRUNCATED;
	case UNWIND_NO_INFO:
		return STORAGE_STACK_NO_UNWIND_INFO;
	default:
		return STORAGE_STACK_BAD_FRAME;
	}
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
 * IP expanded into its inlined calls). Return addresses (every kernel frame but the first, user
 * frames not flagged exact) are looked up at ip - 1, so that a call at the very end of a function
 * is not attributed to the next one.
 */
static int64_t symbolize_stack(struct ingest *in, const struct ember_sample *s, struct proc *p,
			       const struct user_stack *us, int64_t now_ns, bool *unmapped)
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
	for (size_t i = 0; i < us->n; i++) {
		bool exact = us->flags ? us->flags[i] & UNWIND_FRAME_EXACT : i == 0;
		uint64_t raw = us->ips[i], ip = raw - !exact;
		const struct procmaps_entry *m = p ? proctrack__find_map(in->pt, p, ip, now_ns)
						   : NULL;

		*unmapped |= !m;
		struct sym_frame f[SYM_MAX_FRAMES];
		int nf = symbolizer__user(in->sym, p ? p->sym : NULL, m, ip, f, SYM_MAX_FRAMES);

		for (int j = 0; j < nf && n < INGEST_MAX_FRAMES; j++) {
			f[j].offset += !f[j].name && !exact;
			ids[n] = frame_id(in, &f[j], i == 0 && j == 0);
			if (ids[n] < 0)
				return ids[n];
			n++;
		}
	}
	return storage_writer__stack(in->w, ids, n, us->status);
}

/* A version of a maps snapshot that changes with its content, not with each re-read. */
static uint64_t maps_version(const struct procmaps *m)
{
	XXH64_state_t st;

	if (!m)
		return 0;
	XXH64_reset(&st, 0);
	for (size_t i = 0; i < procmaps__count(m); i++) {
		const struct procmaps_entry *e = procmaps__entry(m, i);
		uint64_t v[4] = { e->start, e->end, e->offset, e->inode };

		XXH64_update(&st, v, sizeof(v));
	}
	return XXH64_digest(&st) | 1;
}

static void unwind_sample_of(const struct ember_sample *s, const struct proc *p,
			     struct unwind_sample *us)
{
	*us = (struct unwind_sample){
		.pid = s->pid,
		.tid = s->tid,
		.start_ns = s->proc_start_ns,
		.maps = p ? p->maps : NULL,
		.maps_version = p ? maps_version(p->maps) : 0,
		.regs = (const uint64_t *)s->regs, /* __u64 is unsigned long long */
		.stack = (const uint8_t *)&s->ips[s->nr_kernel + s->nr_user],
		.stack_size = s->flags & EMBER_SAMPLE_STACK_COPY ? s->stack_copy_size : 0,
	};
}

/*
 * Finds the user part of the record's stack: unwound from the copy, or the kernel's frame-pointer
 * IPs. Returns true when `us` is final (unwound, or nothing to classify), false for a
 * frame-pointer stack that is classified only if its key misses the cache.
 */
static bool user_stack(struct ingest *in, const struct ember_sample *s, struct proc *p,
		       int64_t now_ns, struct user_stack *us)
{
	struct unwind_sample u;

	*us = (struct user_stack){ .ips = (const uint64_t *)&s->ips[s->nr_kernel],
				   .n = s->nr_user,
				   .status = STORAGE_STACK_UNCLASSIFIED };
	if (!in->uw)
		return true;
	if (!(s->flags & EMBER_SAMPLE_REGS)) {
		if (s->nr_user)
			return false;
		us->status = STORAGE_STACK_NO_USER;
		return true;
	}
	/* A sampled IP outside every known mapping re-reads the maps first (dlopen, exec). */
	if (p)
		proctrack__find_map(in->pt, p, s->regs[EMBER_REG_IP], now_ns);
	unwind_sample_of(s, p, &u);
	unwinder__unwind(in->uw, &u, &in->unwound);
	/* A return address outside every known mapping: perhaps a library loaded since the maps
	 * were read. Re-read them (at most every PROCTRACK_REREAD_NS) and, if they changed, again.
	 */
	if (p && p->maps && in->unwound.status == UNWIND_BAD_FRAME && in->unwound.n > 1 &&
	    !procmaps__find(p->maps, in->unwound.ips[in->unwound.n - 1] - 1) &&
	    proctrack__find_map(in->pt, p, in->unwound.ips[in->unwound.n - 1] - 1, now_ns) &&
	    maps_version(p->maps) != u.maps_version) {
		unwind_sample_of(s, p, &u);
		unwinder__unwind(in->uw, &u, &in->unwound);
	}
	us->ips = in->unwound.ips;
	us->flags = in->unwound.flags;
	us->n = in->unwound.n;
	us->status = stored_status(in->unwound.status);
	return true;
}

static int64_t stack_id(struct ingest *in, const struct ember_sample *s, struct proc *p,
			int64_t now_ns)
{
	struct user_stack us;
	bool final = user_stack(in, s, p, now_ns, &us);
	struct {
		uint64_t start;
		uint32_t pid;
		uint16_t nk, nu;
		uint32_t image, status;
	} head = { s->proc_start_ns, s->pid,	       s->nr_kernel,
		   (uint16_t)us.n,   p ? p->image : 0, us.status };
	XXH3_state_t st;
	struct raw_stack *e;
	XXH128_hash_t key;
	bool unmapped = false;
	int64_t id;

	/* The process identity, its image (an exec maps other code at the same addresses), the
	 * split and the status seed the hash of the IPs. */
	XXH3_128bits_reset_withSeed(&st, XXH3_64bits(&head, sizeof(head)));
	XXH3_128bits_update(&st, s->ips, s->nr_kernel * sizeof(s->ips[0]));
	XXH3_128bits_update(&st, us.ips, us.n * sizeof(us.ips[0]));
	if (us.flags)
		XXH3_128bits_update(&st, us.flags, us.n);
	key = XXH3_128bits_digest(&st);
	HASH_FIND(hh, in->cache, &key, sizeof(key), e);
	if (e) {
		in->stats.stack_cache_hits++;
		in->stats.stack_status[e->status]++;
		return e->stack_id;
	}
	if (!final) {
		/* A frame-pointer stack: complete if it passes a root (what follows is garbage). */
		struct unwind_sample u;
		size_t n = us.n;

		unwind_sample_of(s, p, &u);
		us.status = stored_status(unwinder__classify_fp(in->uw, &u, us.ips, &n));
		us.n = n;
	}
	id = symbolize_stack(in, s, p, &us, now_ns, &unmapped);
	if (id < 0)
		return id;
	in->stats.stack_status[us.status]++;
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
	e->status = us.status;
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
	    s->stack_copy_size > EMBER_STACK_COPY_MAX ||
	    size < EMBER_SAMPLE_HEADER_SIZE + (size_t)(s->nr_kernel + s->nr_user) * 8 +
		       (s->flags & EMBER_SAMPLE_STACK_COPY ? s->stack_copy_size : 0)) {
		in->stats.malformed++;
		return -EBADMSG;
	}
	memcpy(comm, s->comm, EMBER_TASK_COMM_LEN);
	comm[EMBER_TASK_COMM_LEN] = '\0';

	if (s->pid) {
		proctrack__set_record_time(in->pt, s->time_ns);
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
			if (in->cmdline) {
				char cmdline[STORAGE_CMDLINE_MAX + 1];

				read_cmdline(s->pid, cmdline, sizeof(cmdline));
				if (cmdline[0])
					storage_writer__process_cmdline(
					    in->w, s->pid, (int64_t)s->proc_start_ns, cmdline);
			}
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
	proctrack__set_record_time(in->pt, e->time_ns);
	if (e->type == EMBER_EVENT_EXIT) {
		proctrack__exit(in->pt, e->pid, e->proc_start_ns, now_ns);
		storage_writer__process_exit(in->w, e->pid, (int64_t)e->proc_start_ns);
		if (in->uw)
			unwinder__forget(in->uw, e->pid, e->proc_start_ns);
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

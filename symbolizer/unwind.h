/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The user-stack unwinder: from the user registers and the copy of the top of the user stack that
 * a sample carries, the call chain of the thread, found through the DWARF call-frame information
 * (.eh_frame, .eh_frame_hdr, .debug_frame) of the files the process maps, across shared libraries,
 * signal frames and the vdso. Every stack comes back classified: complete (the CFI marks its last
 * frame as the outermost one, as glibc does for _start, clone and clone3), truncated (the copy
 * ended first, or the frame limit), no unwind info (a frame without CFI), or bad frame (a step went
 * somewhere impossible); the frames found up to the failure are always returned.
 *
 * One interface, backends behind it (the model is perf's util/unwind.h): libdwfl from elfutils
 * (dwfl_attach_state + dwfl_getthread_frames); a build without it (-DEMBER_DWARF_UNWIND=OFF) gets
 * the stubs at the end of this header, whose unwinder__new fails with ENOTSUP so that callers fall
 * back to frame pointers.
 *
 * Unwind tables are read once per binary: the ELF files are opened once and shared, keyed by
 * (device, inode) and by build-id, by the per-process address spaces (one per process identity,
 * rebuilt when its maps change) that libdwfl needs. Files are hostile input: the caller opens them
 * (opts.open_file), a malformed .eh_frame is an error for that binary alone, and no file is ever
 * memory-mapped (a file truncated under a mapping would kill the collector with SIGBUS).
 *
 * Results are memoized per process. What makes two samples' stacks equal is their callers, not
 * where in the leaf function they were: after one step from the sampled frame, a sample whose
 * caller frame has the IP and stack pointer of an earlier one, and whose copy holds the same words
 * at every address that earlier unwind read from there on, has the same callers, taken from the
 * memo. Compute loops sample many IPs of one function under the same callers.
 */
#ifndef EMBER_UNWIND_H
#define EMBER_UNWIND_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolizer/procmaps.h"

/* Registers in DWARF x86-64 numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip. */
#define UNWIND_NR_REGS 17
#define UNWIND_REG_BP 6
#define UNWIND_REG_SP 7
#define UNWIND_REG_IP 16

/* Frames returned at most, like the kernel's default perf_event_max_stack. */
#define UNWIND_MAX_FRAMES 127

enum unwind_mode {
	UNWIND_MODE_AUTO = 0, /* CFI wherever it exists, frame pointers for frames without */
	UNWIND_MODE_DWARF,    /* CFI only: a frame without it ends the stack */
	UNWIND_MODE_FP,	      /* frame pointers, walked by the kernel (no stack copy) */
};

enum unwind_status {
	UNWIND_COMPLETE = 0, /* reached the frame the CFI marks outermost */
	UNWIND_TRUNCATED,    /* the copy of the stack ended first, or UNWIND_MAX_FRAMES */
	UNWIND_NO_INFO,	  /* a frame without CFI (and, in auto mode, a frame pointer walk failed) */
	UNWIND_BAD_FRAME, /* a step went somewhere impossible: outside every mapping, below the
			     stack pointer, or through CFI that does not evaluate */
	UNWIND_STATUS__COUNT,
};

/* Frame flags. */
#define UNWIND_FRAME_EXACT                                                 \
	1u /* the IP is where the thread was (the sampled IP, or the one a \
	      signal interrupted), not a return address: look it up as is */

struct unwind_sample {
	uint32_t pid, tid;
	uint64_t start_ns;	     /* with pid, the process's identity */
	const struct procmaps *maps; /* its executable mappings (NULL: unknown); borrowed for the
					call */
	uint64_t maps_version;	     /* must change whenever `maps` holds other mappings */
	const uint64_t *regs;	     /* UNWIND_NR_REGS user registers */
	const uint8_t *stack;	     /* a copy of [regs[SP], regs[SP] + stack_size) */
	size_t stack_size;
};

struct unwind_result {
	uint64_t ips[UNWIND_MAX_FRAMES]; /* leaf first */
	uint8_t flags[UNWIND_MAX_FRAMES];
	size_t n;
	enum unwind_status status;
};

struct unwinder_stats {
	uint64_t samples;	  /* unwind calls */
	uint64_t memo_hits;	  /* of those, whose callers came from the memo */
	uint64_t memo_mismatches; /* memo answers a fresh unwind contradicted (verify_memo) */
	uint64_t by_status[UNWIND_STATUS__COUNT];
	unsigned long processes; /* address spaces built (one per process, again after maps change)
				  */
	unsigned long binaries;	 /* distinct files opened */
	unsigned long binary_errors; /* files that could not be opened, or whose CFI is malformed */
	unsigned long binaries_freed; /* binaries no address space used, let go by expiry */
	unsigned long binaries_held;  /* now: binaries with their unwind sections in memory */
	unsigned long files_held;     /* now: (device, inode) pairs remembered */
	unsigned long procs_held;     /* now: address spaces */
};

struct unwinder_opts {
	enum unwind_mode mode; /* with UNWIND_MODE_FP only unwinder__classify_fp is of use */
	/* Opens the file behind `map` of process `pid` read-only and returns the fd (the unwinder
	 * closes it), or -errno. Required: the caller owns the policy for hostile paths. */
	int (*open_file)(void *ctx, int pid, const struct procmaps_entry *map);
	/* Called once per binary that cannot be used, with its path and a reason. Optional. */
	void (*binary_error)(void *ctx, const char *path, const char *why);
	void *ctx;
	bool no_memo;	  /* unwind every sample */
	bool verify_memo; /* unwind again after every memo answer and count mismatches (tests) */
};

struct unwinder;

#ifndef EMBER_NO_DWARF_UNWIND

/* NULL with errno: EINVAL (no open_file), ENOMEM. */
struct unwinder *unwinder__new(const struct unwinder_opts *opts);

/*
 * Unwinds one sample into *out (always filled, even when the stack stops early; n may be 0 when
 * not even the sampled IP is usable). Returns 0, or -ENOMEM (out then holds what was found).
 */
int unwinder__unwind(struct unwinder *u, const struct unwind_sample *s, struct unwind_result *out);

/*
 * Classifies a stack of `n` user IPs (leaf first) that the kernel walked by frame pointers for
 * process s (s->regs and s->stack unused): complete when one of its frames lies in a function the
 * CFI marks outermost, in which case *n is cut right after it (what follows is garbage); truncated
 * when n reached UNWIND_MAX_FRAMES; bad frame otherwise.
 */
enum unwind_status unwinder__classify_fp(struct unwinder *u, const struct unwind_sample *s,
					 const uint64_t *ips, size_t *n);

/* Forgets the address spaces and memos of processes not unwound since `cutoff_ns` (the clock of
 * the `now_ns` passed to unwinder__touch), then the binaries (their unwind sections) that no
 * address space has reported since, and the files not looked up since: memory follows the
 * processes alive and the code they run, not every binary ever met. Returns how many address
 * spaces were dropped. */
unsigned int unwinder__expire(struct unwinder *u, int64_t cutoff_ns);

/* Forgets the address space and memo of process (pid, start_ns), after its exit. */
void unwinder__forget(struct unwinder *u, uint32_t pid, uint64_t start_ns);

/* Sets the time that unwinder__expire compares against for what follows. */
void unwinder__touch(struct unwinder *u, int64_t now_ns);

void unwinder__stats(const struct unwinder *u, struct unwinder_stats *out);

/* Accepts NULL. */
void unwinder__free(struct unwinder *u);

#else /* stubs: no DWARF unwinder in this build */

static inline struct unwinder *unwinder__new(const struct unwinder_opts *opts)
{
	(void)opts;
	errno = ENOTSUP;
	return (struct unwinder *)0;
}

static inline int unwinder__unwind(struct unwinder *u, const struct unwind_sample *s,
				   struct unwind_result *out)
{
	(void)u;
	(void)s;
	out->n = 0;
	out->status = UNWIND_NO_INFO;
	return 0;
}

static inline enum unwind_status unwinder__classify_fp(struct unwinder *u,
						       const struct unwind_sample *s,
						       const uint64_t *ips, size_t *n)
{
	(void)u;
	(void)s;
	(void)ips;
	return *n >= UNWIND_MAX_FRAMES ? UNWIND_TRUNCATED : UNWIND_BAD_FRAME;
}

static inline unsigned int unwinder__expire(struct unwinder *u, int64_t cutoff_ns)
{
	(void)u;
	(void)cutoff_ns;
	return 0;
}

static inline void unwinder__forget(struct unwinder *u, uint32_t pid, uint64_t start_ns)
{
	(void)u;
	(void)pid;
	(void)start_ns;
}

static inline void unwinder__touch(struct unwinder *u, int64_t now_ns)
{
	(void)u;
	(void)now_ns;
}

static inline void unwinder__stats(const struct unwinder *u, struct unwinder_stats *out)
{
	(void)u;
	*out = (struct unwinder_stats){ 0 };
}

static inline void unwinder__free(struct unwinder *u)
{
	(void)u;
}

#endif /* EMBER_NO_DWARF_UNWIND */

#endif

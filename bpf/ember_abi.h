/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The ABI between ember's BPF sampler and user space: the record the sampler writes into the
 * ring buffer for every sample, and the per-CPU counters it keeps. This header includes nothing
 * and uses only fixed-width kernel types, so it compiles unchanged on both sides; user space
 * checks the layout with _Static_assert (profiler/sampler.c).
 */
#ifndef EMBER_ABI_H
#define EMBER_ABI_H

#define EMBER_TASK_COMM_LEN 16
/* The kernel's default perf_event_max_stack is 127: deeper chains are cut there. */
#define EMBER_MAX_KERNEL_IPS 127
#define EMBER_MAX_USER_IPS 127
#define EMBER_MAX_IPS (EMBER_MAX_KERNEL_IPS + EMBER_MAX_USER_IPS)
/* Largest copy of the user stack a sample can carry (for DWARF unwinding in user space). */
#define EMBER_STACK_COPY_MAX 65536

/* User registers in DWARF x86-64 numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip. */
#define EMBER_NR_REGS 17
#define EMBER_REG_BP 6
#define EMBER_REG_SP 7
#define EMBER_REG_IP 16

/* ember_sample.flags */
#define EMBER_SAMPLE_USER_MODE (1u << 0)  /* the sample interrupted user mode */
#define EMBER_SAMPLE_KSTACK_ERR (1u << 1) /* bpf_get_stack failed for the kernel stack */
#define EMBER_SAMPLE_USTACK_ERR (1u << 2) /* bpf_get_stack failed for the user stack */
#define EMBER_SAMPLE_REGS (1u << 3)	  /* regs[] holds the user registers */
#define EMBER_SAMPLE_STACK_COPY (1u << 4) /* stack_copy_size bytes of stack follow ips[] */
#define EMBER_SAMPLE_KTHREAD (1u << 5)	  /* a kernel thread: no user space at all */

/* Every record in the ring buffer starts with its type, so that other events (process exec and
 * exit) can share the one ring buffer and keep their order relative to samples. */
enum ember_event_type {
	EMBER_EVENT_SAMPLE = 1,
	EMBER_EVENT_EXEC = 2, /* struct ember_proc_event: a process called exec */
	EMBER_EVENT_EXIT = 3, /* struct ember_proc_event: the last thread of a process exited */
	EMBER_EVENT_FIRST_SAMPLE = 4, /* struct ember_proc_event, in `proc_notices` only: the first
					 sample of a process after its exec */
	EMBER_EVENT_MAPS = 5,	      /* struct ember_maps_event, in `proc_notices` only: the
					 executable file mappings of a process as it exits */
};

/*
 * One sample. The record is variable-sized: ips[] holds nr_kernel kernel IPs (leaf first)
 * followed by nr_user user IPs (leaf first), then stack_copy_size bytes of user stack starting at
 * regs[EMBER_REG_SP]. Only the used part is written to the ring buffer.
 */
struct ember_sample {
	__u32 type;    /* EMBER_EVENT_SAMPLE */
	__u32 flags;   /* EMBER_SAMPLE_* */
	__u64 time_ns; /* CLOCK_BOOTTIME */
	__u64 cgroup_id;
	__u64 proc_start_ns; /* the process's start time, CLOCK_BOOTTIME: (pid, start) is its
				identity */
	__u32 pid;	     /* tgid */
	__u32 tid;
	__u32 cpu;
	__u16 nr_kernel;
	__u16 nr_user;
	__u32 stack_copy_size;
	__u32 uid; /* real uid of the task */
	char comm[EMBER_TASK_COMM_LEN];
	__u64 regs[EMBER_NR_REGS];
	__u64 ips[EMBER_MAX_IPS];
	/* followed by the stack copy, when EMBER_SAMPLE_STACK_COPY is set */
};

#define EMBER_SAMPLE_HEADER_SIZE 208 /* offsetof(struct ember_sample, ips) */

/*
 * A process event, from the sched_process_exec and sched_process_exit tracepoints. It travels in
 * the same ring buffer as the samples, so that user space sees it in order: the samples before an
 * exec belong to the old image, an exit comes after every sample of the process.
 */
struct ember_proc_event {
	__u32 type; /* EMBER_EVENT_EXEC or EMBER_EVENT_EXIT */
	__u32 pid;  /* tgid */
	__u64 time_ns;
	__u64 proc_start_ns; /* identity with pid, as in struct ember_sample */
	__u32 uid;
	__u32 pad;
	char comm[EMBER_TASK_COMM_LEN]; /* after exec: the new command name */
};

#define EMBER_PROC_EVENT_SIZE 48

/*
 * The executable file mappings of a process, as the kernel holds them when its last thread exits
 * (the sched_process_exit tracepoint runs before the address space is torn down). Sent to
 * `proc_notices` before the exit event goes to `events`, so that a process gone before user space
 * could read /proc/PID/maps still has maps: the final ones, with every library the loader or a
 * dlopen added. A file is named by device and inode, and by its path as far as names_size allows:
 * a library dlopen'ed after user space last read the maps of a process that is gone by now is
 * found by that path alone. Variable-sized: nr entries of maps[] are written, then names_size
 * bytes of names (struct ember_map_name, one per file, each followed by its path).
 *
 * bpf_d_path, which prints paths, is not allowed in tracepoint programs (only in iterators, LSM
 * and a list of fentry hooks), so the program walks the dentries itself: a path comes leaf first,
 * one NUL-terminated component after another, up to the process's root (as /proc/PID/maps prints
 * it) or the root of its mount namespace. User space reverses the components.
 */
#define EMBER_MAX_EXIT_MAPS 256
#define EMBER_EXIT_NAMES_MAX 4096 /* bytes of names in one exit-time maps record */
#define EMBER_EXIT_NAME_DEPTH 32  /* components of one path at most */

/* ember_maps_event.flags */
#define EMBER_MAPS_TRUNCATED (1u << 0)	     /* more than EMBER_MAX_EXIT_MAPS executable mappings */
#define EMBER_MAPS_NAMES_TRUNCATED (1u << 1) /* some files left unnamed: no room, too deep */

struct ember_map {
	__u64 start, end; /* end exclusive */
	__u64 offset;	  /* file offset of start */
	__u64 inode;
	__u32 dev_major, dev_minor; /* as /proc/PID/maps prints them */
};

struct ember_maps_event {
	__u32 type; /* EMBER_EVENT_MAPS */
	__u32 pid;  /* tgid */
	__u64 time_ns;
	__u64 proc_start_ns; /* identity with pid, as in struct ember_sample */
	__u64 exec_ns;	     /* time of the exec that made this image; 0: before the sampler
				started. Samples older than that belong to another image. */
	__u64 vdso;	     /* start of the [vdso] text: the one entry with inode 0 */
	__u32 nr;	     /* entries of maps[] that follow */
	__u32 flags;	     /* EMBER_MAPS_* */
	__u32 names_size;    /* bytes of names after maps[nr] */
	__u32 pad;
	struct ember_map maps[EMBER_MAX_EXIT_MAPS];
	/* followed by names_size bytes of names */
};

/* The path of the file of maps[map] (and of every other entry with its device and inode): size
 * bytes of components follow, leaf first, each NUL-terminated. */
struct ember_map_name {
	__u32 map;
	__u16 size;
	__u16 depth; /* components */
};

#define EMBER_MAP_SIZE 40
#define EMBER_MAP_NAME_SIZE 8
#define EMBER_MAPS_EVENT_HEADER_SIZE 56 /* offsetof(struct ember_maps_event, maps) */

/* Per-CPU counters, index into the `stats` map. Every program run ends in exactly one of
 * EMBER_STAT_SENT, EMBER_STAT_FILTERED, EMBER_STAT_RINGBUF_FULL or EMBER_STAT_ERROR, so
 * their sum equals EMBER_STAT_RUNS. */
enum ember_stat {
	EMBER_STAT_RUNS = 0,	     /* samples the perf events delivered */
	EMBER_STAT_SENT,	     /* records written to the ring buffer */
	EMBER_STAT_FILTERED,	     /* not in the --pid set */
	EMBER_STAT_RINGBUF_FULL,     /* ring buffer had no room */
	EMBER_STAT_ERROR,	     /* scratch buffer unavailable */
	EMBER_STAT_STACK_COPY_FAULT, /* informational: stack copy cut short by a fault */
	EMBER_STAT_PROC_SENT,	     /* process events (exec, exit) written; not samples */
	EMBER_STAT_PROC_LOST,	     /* process events lost to a full ring buffer */
	EMBER_STAT_MAPS_SENT,	     /* exit-time maps sent to proc_notices */
	EMBER_STAT_MAPS_LOST,	     /* exit-time maps not sent: ring full, or the address space
					locked by someone else (the iterator only try-locks) */
	EMBER_STAT__MAX,
};

#endif /* EMBER_ABI_H */

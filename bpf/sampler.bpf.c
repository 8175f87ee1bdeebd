// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ember's sampler: a perf-event program attached to a cpu-clock (or cycles) event on every
 * online CPU. Each run writes one record (struct ember_sample) with the time, the task, and its
 * kernel and user stacks into the `events` ring buffer. There are no stack-trace maps: every
 * sample carries its own IPs, so nothing is lost to bucket collisions (-EEXIST). Each run ends in
 * exactly one counter of `stats` (sent, filtered, ring buffer full, error). Two tracepoint
 * programs add process events (exec, exit) to the same ring buffer, in order with the samples.
 *
 * User stacks come one of two ways. With `stack_copy` 0 the kernel walks frame pointers
 * (bpf_get_stack); Debian's binaries have none, so that gives garbage there. With `stack_copy` N
 * the record carries the user registers and a copy of up to N bytes of the user stack from the
 * stack pointer up instead, and user space unwinds it with the binaries' DWARF CFI
 * (symbolizer/unwind.h), as `perf --call-graph dwarf` does.
 *
 * When a process exits, the exit program also sends its executable file mappings (struct
 * ember_maps_event) to `proc_notices`, with the path of each file: the kernel's own record of what
 * was mapped where, so that a process gone before user space read /proc/PID/maps (a 50 ms process
 * on a starved host, a library it dlopen'ed at the end) still resolves.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "ember_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space between open and load. */
const volatile bool filter_pids = false; /* only tgids present in `pids` */
const volatile bool kernel_stacks = true;
const volatile bool user_stacks = true;
/* Bytes of user stack to copy per sample, at most EMBER_STACK_COPY_MAX (0: frame-pointer IPs). */
const volatile __u32 stack_copy = 0;
/* Wake the consumer only once this many bytes wait (0: on every record). The collector drains
 * the ring on a short timer as well, so a quiet host costs a few wake-ups a second, not one per
 * sample. */
const volatile __u64 wakeup_bytes = 0;
/* Send each exiting process's executable mappings (needs the task VMA iterator, kernel 6.7). */
const volatile bool exit_maps = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EMBER_STAT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pids SEC(".maps");

/*
 * Process notices for the collector's prefetch thread: a copy of every exec event, and the first
 * sample of a process after its exec (by then the dynamic loader has mapped its libraries). That
 * thread reads /proc/PID/maps and opens the mapped files at once, while even a 50 ms process still
 * lives, however busy the thread that consumes `events` is.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} proc_notices SEC(".maps");

/* Processes that exec'd and have not been sampled since. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} fresh SEC(".maps");

/* When each process last exec'd (for the exit-time maps: the image they describe). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} exec_times SEC(".maps");

/* Longest path component (NAME_MAX) with its NUL. */
#define NAME_ROOM 256

/* The exit-time maps under construction: the record (its names are copied in after maps[nr] once
 * nr is known, into `tail`), and the names as they are made. */
struct maps_buf {
	struct ember_maps_event e;
	char tail[EMBER_EXIT_NAMES_MAX];
	/* A component is read at an offset below EMBER_EXIT_NAMES_MAX (masked, for the verifier)
	 * with room for the longest name after it. */
	char names[EMBER_EXIT_NAMES_MAX + NAME_ROOM];
};

/* 18 KiB, too large for the BPF stack. Tracepoint programs of one CPU do not nest with each other
 * (bpf_prog_active), so one slot per CPU suffices. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct maps_buf);
} maps_scratch SEC(".maps");

/* The open-coded task VMA iterator (kernel 6.7). Declared here: libbpf 1.1's headers predate it.
 * Weak, so that an object loaded with exit_maps off on an older kernel needs none of them. */
extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task,
				 __u64 addr) __weak __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __weak __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __weak __ksym;

/* The stack is copied in chunks that end at page boundaries: a fault then means the page it
 * starts on is unreadable, so the copy keeps every readable byte above the stack pointer. */
#define COPY_CHUNK 4096

/* The record under construction. The stack copy starts right after the kernel IPs, inside
 * s.ips[] (no user IPs are taken with a copy); one chunk of slack lets the verifier check every
 * chunk against a constant bound. */
struct sample_buf {
	struct ember_sample s;
	__u8 copy_room[EMBER_STACK_COPY_MAX + COPY_CHUNK];
};

/* The record is assembled here: it is too large for the 512-byte BPF stack, and with the copy
 * too large for a per-CPU array (values are limited to 32 KiB), so it is a plain array with one
 * entry per possible CPU (user space sets max_entries), indexed by the CPU. Perf-event programs
 * never nest on one CPU (bpf_prog_active), and only on_sample uses it, so an entry has one user
 * at a time. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_buf);
} scratch SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);

	if (v)
		*v += 1; /* per-CPU slot, and the program does not nest on one CPU */
}

/*
 * Fills s->regs with the task's user registers (DWARF x86-64 numbering) and copies up to
 * `stack_copy` bytes of its user stack, from the stack pointer up, to `dst`. Returns the bytes
 * copied. bpf_task_pt_regs gives the registers saved at the last entry from user space, so this
 * works when the sample interrupted the kernel too.
 */
static __always_inline __u32 copy_user_stack(struct ember_sample *s, __u8 *dst)
{
	/* libbpf 1.1 declares bpf_task_pt_regs returning long; the verifier still knows the
	 * register holds a BTF pointer to struct pt_regs, so direct loads are allowed. */
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	/* 64-bit and unsigned: with 32-bit values clang emits sign extensions the verifier then
	 * reads as possibly negative sizes. */
	__u64 done = 0, len, want = stack_copy;
	__u64 sp;

	if (!r)
		return 0;
	s->regs[0] = r->ax;
	s->regs[1] = r->dx;
	s->regs[2] = r->cx;
	s->regs[3] = r->bx;
	s->regs[4] = r->si;
	s->regs[5] = r->di;
	s->regs[EMBER_REG_BP] = r->bp;
	s->regs[EMBER_REG_SP] = r->sp;
	s->regs[8] = r->r8;
	s->regs[9] = r->r9;
	s->regs[10] = r->r10;
	s->regs[11] = r->r11;
	s->regs[12] = r->r12;
	s->regs[13] = r->r13;
	s->regs[14] = r->r14;
	s->regs[15] = r->r15;
	s->regs[EMBER_REG_IP] = r->ip;
	s->flags |= EMBER_SAMPLE_REGS;
	sp = r->sp;

	for (int i = 0; i < EMBER_STACK_COPY_MAX / COPY_CHUNK + 1; i++) {
		if (done >= want)
			break;
		len = COPY_CHUNK - ((sp + done) & (COPY_CHUNK - 1));
		if (len > want - done)
			len = want - done;
		/* Never true, but the verifier loses the bound through the min() above, and clang
		 * would drop the test without the barrier. */
		barrier_var(len);
		if (len > COPY_CHUNK)
			break;
		if (bpf_probe_read_user(dst + done, len, (void *)(sp + done))) {
			count(EMBER_STAT_STACK_COPY_FAULT);
			break;
		}
		done += len;
	}
	return done;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, cpu = bpf_get_smp_processor_id(), copied = 0;
	struct sample_buf *buf;
	struct ember_sample *s;
	struct task_struct *task;
	long n, nk = 0, nu = 0;
	__u64 wake = 0;
	__u32 size;

	count(EMBER_STAT_RUNS);

	if (filter_pids && !bpf_map_lookup_elem(&pids, &tgid)) {
		count(EMBER_STAT_FILTERED);
		return 0;
	}

	buf = bpf_map_lookup_elem(&scratch, &cpu);
	if (!buf) {
		count(EMBER_STAT_ERROR);
		return 0;
	}
	s = &buf->s;

	s->type = EMBER_EVENT_SAMPLE;
	s->time_ns = bpf_ktime_get_boot_ns();
	s->cgroup_id = bpf_get_current_cgroup_id();
	s->pid = tgid;
	s->tid = (__u32)id;
	s->uid = (__u32)bpf_get_current_uid_gid();
	s->cpu = cpu;
	s->flags = 0;
	s->stack_copy_size = 0;
	bpf_get_current_comm(s->comm, sizeof(s->comm));

	/* Only full 8-byte loads of ctx->regs are allowed: test the IP, not the CS selector. */
	if ((long)PT_REGS_IP(&ctx->regs) >= 0)
		s->flags |= EMBER_SAMPLE_USER_MODE;

	task = (struct task_struct *)bpf_get_current_task();
	s->proc_start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	if (BPF_CORE_READ(task, flags) & 0x00200000 /* PF_KTHREAD, a #define BTF lacks */)
		s->flags |= EMBER_SAMPLE_KTHREAD;

	if (kernel_stacks && !(s->flags & EMBER_SAMPLE_USER_MODE)) {
		n = bpf_get_stack(ctx, s->ips, EMBER_MAX_KERNEL_IPS * sizeof(__u64), 0);
		if (n < 0)
			s->flags |= EMBER_SAMPLE_KSTACK_ERR;
		else
			nk = n / sizeof(__u64);
	}
	if (nk > EMBER_MAX_KERNEL_IPS) /* bound for the verifier */
		nk = EMBER_MAX_KERNEL_IPS;

	if (user_stacks && stack_copy && tgid && !(s->flags & EMBER_SAMPLE_KTHREAD)) {
		copied = copy_user_stack(s, (__u8 *)&s->ips[nk]);
		if (copied)
			s->flags |= EMBER_SAMPLE_STACK_COPY;
	} else if (user_stacks && tgid && !(s->flags & EMBER_SAMPLE_KTHREAD)) {
		n = bpf_get_stack(ctx, &s->ips[nk], EMBER_MAX_USER_IPS * sizeof(__u64),
				  BPF_F_USER_STACK);
		if (n < 0)
			s->flags |= EMBER_SAMPLE_USTACK_ERR;
		else
			nu = n / sizeof(__u64);
	}
	if (nu > EMBER_MAX_USER_IPS)
		nu = EMBER_MAX_USER_IPS;

	s->nr_kernel = nk;
	s->nr_user = nu;
	s->stack_copy_size = copied;
	size = EMBER_SAMPLE_HEADER_SIZE + (nk + nu) * sizeof(__u64) + copied;
	if (size > sizeof(*buf))
		size = sizeof(*buf);

	if (wakeup_bytes)
		wake = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size >= wakeup_bytes
			   ? BPF_RB_FORCE_WAKEUP
			   : BPF_RB_NO_WAKEUP;
	if (bpf_map_lookup_elem(&fresh, &tgid)) {
		struct ember_proc_event n = { .type = EMBER_EVENT_FIRST_SAMPLE, .pid = tgid };

		bpf_map_delete_elem(&fresh, &tgid);
		n.time_ns = s->time_ns;
		n.proc_start_ns = s->proc_start_ns;
		bpf_ringbuf_output(&proc_notices, &n, sizeof(n), 0);
	}
	if (bpf_ringbuf_output(&events, s, size, wake))
		count(EMBER_STAT_RINGBUF_FULL);
	else
		count(EMBER_STAT_SENT);
	return 0;
}

/* Fills and sends a process event; returns 0. */
static __always_inline int proc_event(__u32 type, __u32 tgid, __u64 flags)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct ember_proc_event e = {};

	e.type = type;
	e.pid = tgid;
	e.time_ns = bpf_ktime_get_boot_ns();
	e.proc_start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	e.uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	if (bpf_ringbuf_output(&events, &e, sizeof(e), flags))
		count(EMBER_STAT_PROC_LOST);
	else
		count(EMBER_STAT_PROC_SENT);
	if (type == EMBER_EVENT_EXEC)
		bpf_ringbuf_output(&proc_notices, &e, sizeof(e), 0);
	return 0;
}

#define VM_EXEC 0x4		 /* a #define BTF lacks */
#define FMODE_BACKING (1u << 25) /* likewise: the file is a struct backing_file (overlayfs) */

/* One path being walked, from the file's dentry up (bpf_loop's context: on the caller's stack). */
struct walk {
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *root_dentry; /* the process's root: where /proc/PID/maps stops */
	struct vfsmount *root_mnt;
	__u32 off; /* next free byte of names[] */
	__u16 depth;
	bool ok; /* reached a root */
};

static __always_inline struct mount *real_mount(struct vfsmount *m)
{
	return (struct mount *)((void *)m - bpf_core_field_offset(struct mount, mnt));
}

/*
 * One step of the walk: the name of the dentry, then its parent; at the root of a mount, its
 * mount point in the parent mount. Returns 1 to stop (a root reached: w->ok; or no room).
 * Pointers are read with probe reads: they are plain kernel pointers, not ones the verifier
 * trusts.
 */
static long walk_step(__u32 i, struct walk *w)
{
	struct dentry *d = w->dentry, *parent;
	struct mount *mnt = w->mnt, *mp;
	struct vfsmount *vm =
	    (struct vfsmount *)((void *)mnt + bpf_core_field_offset(struct mount, mnt));
	struct maps_buf *b;
	const unsigned char *name;
	__u32 zero = 0, off = w->off;
	long n;

	if (d == w->root_dentry && vm == w->root_mnt) {
		w->ok = true;
		return 1;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (d == BPF_CORE_READ(vm, mnt_root) || d == parent) {
		mp = BPF_CORE_READ(mnt, mnt_parent);
		if (mp == mnt || !mp) { /* the root of the mount namespace */
			w->ok = true;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mp;
		return 0;
	}
	b = bpf_map_lookup_elem(&maps_scratch, &zero);
	if (!b || off >= EMBER_EXIT_NAMES_MAX - NAME_ROOM)
		return 1;
	name = BPF_CORE_READ(d, d_name.name);
	n = bpf_probe_read_kernel_str(&b->names[off & (EMBER_EXIT_NAMES_MAX - 1)], NAME_ROOM, name);
	if (n <= 1) /* an error, or an empty name */
		return 1;
	w->off = off + n;
	w->depth++;
	w->dentry = parent;
	return 0;
}

/*
 * Appends the path of f, the file of maps[map], to the names; returns the new end of the names, or
 * `off` unchanged when the path did not fit or no root was reached in EMBER_EXIT_NAME_DEPTH steps.
 */
static __always_inline __u32 add_name(struct maps_buf *b, __u32 off, __u32 map, struct file *f,
				      struct walk *w)
{
	struct ember_map_name *h;
	const struct path *p;

	if (off > EMBER_EXIT_NAMES_MAX - NAME_ROOM)
		return off;
	if (BPF_CORE_READ(f, f_mode) & FMODE_BACKING)
		p = &((struct backing_file *)f)->user_path;
	else
		p = &f->f_path;
	w->dentry = BPF_CORE_READ(p, dentry);
	w->mnt = real_mount(BPF_CORE_READ(p, mnt));
	w->off = off + sizeof(*h);
	w->depth = 0;
	w->ok = false;
	/* Mount crossings take steps too: twice the depth. */
	bpf_loop(2 * EMBER_EXIT_NAME_DEPTH, walk_step, w, 0);
	if (!w->ok || !w->depth || w->off > EMBER_EXIT_NAMES_MAX)
		return off;
	h = (struct ember_map_name *)&b->names[off & (EMBER_EXIT_NAMES_MAX - 1)];
	h->map = map;
	h->size = w->off - off - sizeof(*h);
	h->depth = w->depth;
	return w->off;
}

/*
 * Sends the executable file mappings of the current (exiting) process to `proc_notices`. Device
 * and inode are those /proc/PID/maps prints: for a file of a stacking filesystem (overlayfs maps
 * the lower file, marked FMODE_BACKING) the inode the user opened, not the backing one.
 */
static __always_inline void send_maps(__u32 tgid, __u64 start_ns)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *exec_ns = bpf_map_lookup_elem(&exec_times, &tgid);
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	struct ember_maps_event *e;
	struct walk w = {};
	struct maps_buf *b;
	__u32 zero = 0, nr;
	__u64 size, names;

	b = bpf_map_lookup_elem(&maps_scratch, &zero);
	if (!b)
		return;
	e = &b->e;
	w.root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	w.root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	e->names_size = 0;
	e->type = EMBER_EVENT_MAPS;
	e->pid = tgid;
	e->time_ns = bpf_ktime_get_boot_ns();
	e->proc_start_ns = start_ns;
	e->exec_ns = exec_ns ? *exec_ns : 0;
	e->vdso = (__u64)BPF_CORE_READ(task, mm, context.vdso);
	e->flags = 0;
	/* A try-lock of the address space: -EBUSY while someone holds it (a maps reader). The
	 * iterator must be destroyed whatever new returned. */
	if (bpf_iter_task_vma_new(&it, task, 0)) {
		bpf_iter_task_vma_destroy(&it);
		count(EMBER_STAT_MAPS_LOST);
		return;
	}
	e->nr = 0;
	while ((vma = bpf_iter_task_vma_next(&it))) {
		struct ember_map *m;
		struct inode *ino;
		struct file *f;
		dev_t dev;
		/* The count lives in map memory, not in a register: the verifier then knows it only
		 * by the bound below, and the loop's states converge at once. A counter in a
		 * register makes each count a state of its own (over a million instructions
		 * explored). */
		__u32 n = e->nr;

		f = vma->vm_file;
		if (!(vma->vm_flags & VM_EXEC) || (!f && vma->vm_start != e->vdso))
			continue;
		if (n >= EMBER_MAX_EXIT_MAPS) {
			e->flags |= EMBER_MAPS_TRUNCATED;
			break;
		}
		m = &e->maps[n];
		m->start = vma->vm_start;
		m->end = vma->vm_end;
		m->offset = (__u64)vma->vm_pgoff << 12; /* PAGE_SHIFT on x86-64 */
		if (!f) {				/* the vdso */
			m->inode = 0;
			m->dev_major = m->dev_minor = 0;
			e->nr = n + 1;
			continue;
		}
		if (BPF_CORE_READ(f, f_mode) & FMODE_BACKING)
			ino = BPF_CORE_READ((struct backing_file *)f, user_path.dentry, d_inode);
		else
			ino = BPF_CORE_READ(f, f_inode);
		m->inode = BPF_CORE_READ(ino, i_ino);
		dev = BPF_CORE_READ(ino, i_sb, s_dev);
		m->dev_major = dev >> 20; /* the kernel's MAJOR()/MINOR(), not glibc's encoding */
		m->dev_minor = dev & 0xfffff;
		e->nr = n + 1;
		/* A file's executable mapping is most often its only one: name it unless the entry
		 * before is the same file. */
		if (n && e->maps[(n - 1) & (EMBER_MAX_EXIT_MAPS - 1)].inode == m->inode &&
		    e->maps[(n - 1) & (EMBER_MAX_EXIT_MAPS - 1)].dev_minor == m->dev_minor &&
		    e->maps[(n - 1) & (EMBER_MAX_EXIT_MAPS - 1)].dev_major == m->dev_major)
			continue;
		names = add_name(b, e->names_size, n, f, &w);
		if (names == e->names_size)
			e->flags |= EMBER_MAPS_NAMES_TRUNCATED;
		e->names_size = names;
	}
	bpf_iter_task_vma_destroy(&it);
	/* The names go right after maps[nr]: the record is sent in one piece. */
	nr = e->nr;
	names = e->names_size;
	if (nr > EMBER_MAX_EXIT_MAPS)
		nr = EMBER_MAX_EXIT_MAPS;
	if (names > EMBER_EXIT_NAMES_MAX)
		names = EMBER_EXIT_NAMES_MAX;
	bpf_probe_read_kernel(&e->maps[nr], names, b->names);
	size = EMBER_MAPS_EVENT_HEADER_SIZE + (__u64)nr * sizeof(struct ember_map) + names;
	if (size > sizeof(*b))
		size = sizeof(*b);
	if (bpf_ringbuf_output(&proc_notices, e, size, 0))
		count(EMBER_STAT_MAPS_LOST);
	else
		count(EMBER_STAT_MAPS_SENT);
}

/* Raw tracepoints: they need no tracefs mounted (many hosts have none), and the current task is
 * all they read. */
SEC("raw_tp/sched_process_exec")
int on_exec(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 one = 1;

	if (filter_pids && !bpf_map_lookup_elem(&pids, &tgid))
		return 0;
	bpf_map_update_elem(&fresh, &tgid, &one, BPF_ANY);
	if (exit_maps) {
		__u64 now = bpf_ktime_get_boot_ns();

		bpf_map_update_elem(&exec_times, &tgid, &now, BPF_ANY);
	}
	return proc_event(EMBER_EVENT_EXEC, tgid, 0);
}

SEC("raw_tp/sched_process_exit")
int on_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	/* The tracepoint fires for every thread; the process is gone when the last one exits
	 * (signal->live already counts this one out). Kernel threads have no maps to release. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0 ||
	    (BPF_CORE_READ(task, flags) & 0x00200000 /* PF_KTHREAD */))
		return 0;
	if (filter_pids && !bpf_map_lookup_elem(&pids, &tgid))
		return 0;
	bpf_map_delete_elem(&fresh, &tgid);
	/* Before the exit event: whoever reads that the process is gone finds its maps waiting. */
	if (exit_maps) {
		send_maps(tgid, BPF_CORE_READ(task, group_leader, start_boottime));
		bpf_map_delete_elem(&exec_times, &tgid);
	}
	return proc_event(EMBER_EVENT_EXIT, tgid, 0);
}

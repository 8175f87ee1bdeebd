// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The libdwfl backend of the unwinder. Each process gets a Dwfl whose modules are the files of its
 * maps snapshot, reported at their load addresses; the ELF behind each module is one shared,
 * reference-counted Elf per binary (libelf's elf_begin(-1, cmd, ref) hands out the same handle),
 * read with pread (ELF_C_READ) and closed after the sections unwinding needs are loaded. Threads
 * are attached with callbacks that serve the sample's registers and stack copy (memory_read); a
 * frame callback collects the frames and watches every step:
 *
 *   - libdwfl steps with CFI wherever a frame has an FDE, and falls back to frame pointers (its
 *     x86-64 backend) for frames without: allowed in auto mode for frames inside a mapping, cut
 *     in DWARF mode (no unwind info), and never from a return address into nothing (bad frame);
 *   - libdwfl ends a walk quietly, as at the outermost frame, when a frame's return address
 *     cannot be read: a stack is complete only when the CFI of its last frame really marks the
 *     return address undefined (glibc's _start, clone, clone3); otherwise the reads that failed in
 *     the last step tell a copy that ended (truncated) from an impossible address (bad frame).
 */
#include "symbolizer/unwind.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "symbolizer/ehframe.h"

/* A CFA above the stack pointer by more than this is no stack's (8 MiB is the default stack
 * limit and pthread stack size): reading there is a bad frame, not the end of the copy. */
#define UNWIND_STACK_SPAN (8ull << 20)
/* Unwind sections above this size are refused (libc's .eh_frame is about 0.2 MiB). */
#define UNWIND_SECTION_MAX (256ull << 20)
/* Words one unwind may read and still be memoized (libdwfl reads every saved register of every
 * frame: up to 7 per frame on x86-64). */
#define UNWIND_MAX_READS 1024
/* Memo entries per process and in all; past either the process's memo starts again. */
#define UNWIND_MEMO_PER_PROC 2048
#define UNWIND_MEMO_TOTAL 16384
/* Cached CFI facts per process. */
#define UNWIND_PCS_PER_PROC 16384

/* One ELF file's unwind data, shared by every process that maps it. */
struct ubinary {
	Elf *elf; /* one reference held here; NULL when unusable */
	char *path;
	uint8_t build_id[64];
	size_t build_id_len;
	GElf_Phdr *loads; /* PT_LOAD headers */
	size_t nloads;
	uint64_t lo, hi; /* the image's extent in ELF virtual addresses */
	/* Modules of live address spaces that report it: libdwfl's find_elf reads the binary
	 * through their userdata, lazily, so it lives while any does. */
	unsigned int users;
	int64_t idle_since; /* u->now when users fell to 0 */
	bool dead;	    /* being freed by unwinder__expire */
	struct ubinary *next;
	UT_hash_handle hh_id; /* by build-id */
};

struct file_key {
	uint64_t inode;
	uint32_t dev_major, dev_minor;
};

/* A (device, inode) seen in some maps, and its binary (files with one build-id share one). */
struct ufile {
	struct file_key key;
	struct ubinary *bin; /* NULL when the file could not be used */
	int64_t last_used;   /* u->now when last looked up */
	UT_hash_handle hh;
};

/* The memo is keyed at frame 1, the caller of the sampled function: samples anywhere in one
 * function called from one place share their callers' stack. */
struct umemo_key {
	uint64_t pc, sp; /* frame 1's IP and stack pointer (the CFA of frame 0) */
	uint64_t sig0;	 /* frame 0 is a signal trampoline (then frame 1's IP is exact) */
};

#define READ_FAILED (1ull << 63) /* in uread.addr: this read failed (outside the copy) */

struct uread {
	uint64_t addr, value;
};

/*
 * The frames from 1 on of a finished unwind. They are those of another sample with the same key
 * when every read they took gives the same answer in the other copy (the same word, or a failure
 * again) and, if some frame's CFA came from frame 1's frame pointer register, that register
 * matches too. Nothing else feeds those steps: each CFA comes from the stack pointer, which the
 * key fixes, or from a frame pointer, read from the stack or frame 1's register (entries that
 * would need any other register are not kept).
 */
struct umemo {
	struct umemo_key key;
	UT_hash_handle hh;
	uint64_t bp;
	bool uses_bp;
	uint16_t nreads, n;
	uint8_t status;
	uint64_t *ips;	     /* n frames from frame 1, in the same allocation */
	uint8_t *flags;	     /* n */
	struct uread *reads; /* nreads */
};

/* CFI facts about one lookup address of a process. */
#define PC_IN_MAPPING 1u /* inside an executable mapping */
#define PC_IN_MODULE 2u	 /* inside a reported file */
#define PC_HAS_CFI 4u
#define PC_OUTERMOST 8u	 /* the CFI marks the return address undefined */
#define PC_CFA_BP 16u	 /* the CFA is computed from the frame pointer */
#define PC_CFA_OTHER 32u /* ... from a register other than the stack and frame pointers */
#define PC_BP_SAVED 64u	 /* the caller's frame pointer is restored from the stack */
#define PC_BP_OTHER 128u /* ... computed some other way */
#define PC_CFA_EXPR 256u /* the CFA is more than a register plus an offset (it may read memory) */
#define PC_SIGNAL 512u	 /* a signal trampoline (the CIE says so): its caller's IP is exact */

struct upc {
	uint64_t addr;
	uint16_t info;
	UT_hash_handle hh;
};

struct ucall;

struct uproc {
	struct {
		uint64_t start_ns;
		uint32_t pid, pad;
	} key;
	Dwfl *dwfl;
	uint64_t maps_version;
	bool built;
	int64_t last_used;
	struct umemo *memo;
	unsigned int nmemo;
	struct upc *pcs;
	unsigned int npcs;
	struct ucall *call; /* the unwind in progress, for the callbacks */
	struct unwinder *u;
	UT_hash_handle hh;
};

/* One unwind in progress. The unwinder keeps one (with its 16 KiB read log) and resets the
 * header for every walk (call_start). */
struct ucall {
	const struct unwind_sample *s;
	struct unwind_result *out;
	bool use_memo;
	/* Frame 1's key, once it is reached. */
	bool keyed, memo_hit;
	struct umemo_key key;
	struct uread reads[UNWIND_MAX_READS];
	size_t nreads;
	bool reads_lost;
	struct uread kept[UNWIND_MAX_READS]; /* the reads a memo entry keeps (memo_reads) */
	/* Per frame: the reads taken before it was reached, and its stack and frame pointers. */
	struct {
		size_t read_idx;
		uint64_t sp, bp;
		bool bp_set;
	} fr[UNWIND_MAX_FRAMES];
	/* Reads that failed since the last frame was taken; beyond: one of them lay past the end of
	 * the copy (where the stack goes on), not below the stack pointer or far away. */
	bool step_fault, step_beyond;
	bool cut;
	enum unwind_status cut_status;
};

struct unwinder {
	struct unwinder_opts opts;
	struct ufile *files;
	struct ubinary *by_id, *binaries;
	struct ubinary *vdso;
	struct uproc *procs;
	unsigned int nmemo;
	struct ucall call;
	int64_t now;
	Elf *arch; /* an x86-64 ELF header: dwfl_attach_state takes the architecture from it */
	Elf64_Ehdr arch_image;
	struct unwinder_stats stats;
};

/* ---- binaries ---- */

static void binary_free(struct ubinary *b)
{
	if (!b)
		return;
	if (b->elf)
		elf_end(b->elf);
	free(b->loads);
	free(b->path);
	free(b);
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *shdr)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr))
			return NULL;
		n = elf_strptr(elf, shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* Loads a section's bytes into the Elf's memory, so they stay readable after the fd is gone. */
static Elf_Data *load_section(Elf *elf, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = find_section(elf, name, shdr);

	if (!scn || shdr->sh_type == SHT_NOBITS || shdr->sh_size > UNWIND_SECTION_MAX)
		return NULL;
	return elf_rawdata(scn, NULL);
}

/* Fills the binary's extent and load headers, and loads and checks its unwind sections.
 * 0, or -errno with a reason in why. */
static int binary_load(struct ubinary *b, char *why, size_t wl)
{
	GElf_Shdr eh_sh, hdr_sh, dbg_sh;
	Elf_Data *eh, *hdr;
	const void *id;
	size_t phnum;
	ssize_t idlen;
	int err;

	if (elf_kind(b->elf) != ELF_K_ELF || gelf_getclass(b->elf) != ELFCLASS64 ||
	    elf_getphdrnum(b->elf, &phnum)) {
		snprintf(why, wl, "not a 64-bit ELF file");
		return -ENOEXEC;
	}
	b->loads = calloc(phnum ? phnum : 1, sizeof(*b->loads));
	if (!b->loads)
		return -ENOMEM;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(b->elf, (int)i, &ph)) {
			snprintf(why, wl, "unreadable program headers");
			return -ENOEXEC;
		}
		if (ph.p_type != PT_LOAD)
			continue;
		if (!b->nloads)
			b->lo = ph.p_vaddr & -(ph.p_align ? ph.p_align : 1);
		if (ph.p_vaddr + ph.p_memsz > b->hi)
			b->hi = ph.p_vaddr + ph.p_memsz;
		b->loads[b->nloads++] = ph;
	}
	if (!b->nloads || b->hi <= b->lo) {
		snprintf(why, wl, "no loadable segment");
		return -ENOEXEC;
	}
	idlen = dwelf_elf_gnu_build_id(b->elf, &id);
	if (idlen > 0 && (size_t)idlen <= sizeof(b->build_id)) {
		memcpy(b->build_id, id, (size_t)idlen);
		b->build_id_len = (size_t)idlen;
	}
	/* What libdw's CFI readers will ask for later: the section headers and their names (read
	 * by find_section), .eh_frame, .eh_frame_hdr and .debug_frame. */
	eh = load_section(b->elf, ".eh_frame", &eh_sh);
	hdr = eh ? load_section(b->elf, ".eh_frame_hdr", &hdr_sh) : NULL;
	load_section(b->elf, ".debug_frame", &dbg_sh);
	if (eh && eh->d_size) {
		err = ehframe_check(eh->d_buf, eh->d_size, eh_sh.sh_addr, hdr ? hdr->d_buf : NULL,
				    hdr ? hdr->d_size : 0, hdr ? hdr_sh.sh_addr : 0, why, wl);
		if (err == -EBADMSG) {
			char reason[200];

			snprintf(reason, sizeof(reason), "%s", why);
			snprintf(why, wl, "malformed .eh_frame: %s", reason);
		}
		if (err)
			return err;
	}
	return 0;
}

/* Opens a binary's Elf on fd (taken: closed here in every case). NULL with why set on error. */
static struct ubinary *binary_open(int fd, const char *path, char *why, size_t wl)
{
	struct ubinary *b = calloc(1, sizeof(*b));
	int err;

	if (!b) {
		close(fd);
		snprintf(why, wl, "out of memory");
		return NULL;
	}
	b->path = strdup(path);
	/* ELF_C_READ reads with pread, never mmap: a file truncated by its owner while mapped
	 * would raise SIGBUS in the collector. */
	b->elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!b->path || !b->elf) {
		snprintf(why, wl, "%s", b->path ? elf_errmsg(-1) : "out of memory");
		err = -ENOEXEC;
	} else {
		err = binary_load(b, why, wl);
	}
	/* Everything unwinding reads is in memory now: later reads of other sections fail cleanly
	 * instead of touching a descriptor we no longer hold. */
	if (b->elf)
		elf_cntl(b->elf, ELF_C_FDDONE);
	close(fd);
	if (err) {
		binary_free(b);
		return NULL;
	}
	return b;
}

static void binary_error(struct unwinder *u, const char *path, const char *why)
{
	u->stats.binary_errors++;
	if (u->opts.binary_error)
		u->opts.binary_error(u->opts.ctx, path, why);
}

/* The binary behind a file mapping, opened on first sight. NULL when unusable (cached too). */
static struct ubinary *binary_get(struct unwinder *u, int pid, const struct procmaps_entry *m)
{
	struct file_key key = { .inode = m->inode,
				.dev_major = m->dev_major,
				.dev_minor = m->dev_minor };
	struct ubinary *b = NULL, *same = NULL;
	struct ufile *f;
	char why[256] = "";
	int fd;

	HASH_FIND(hh, u->files, &key, sizeof(key), f);
	if (f) {
		f->last_used = u->now;
		return f->bin;
	}
	fd = u->opts.open_file(u->opts.ctx, pid, m);
	/* A file known by device and inode only (exit-time maps) that nobody holds open: not an
	 * error to report, and not one to remember (a process mapping it by path may come). */
	if (fd < 0 && !m->path[0])
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	f->key = key;
	f->last_used = u->now;
	if (fd < 0)
		snprintf(why, sizeof(why), "cannot open it: %s", strerror(-fd));
	else
		b = binary_open(fd, m->path, why, sizeof(why));
	if (!b) {
		binary_error(u, m->path, why);
	} else if (b->build_id_len) {
		HASH_FIND(hh_id, u->by_id, b->build_id, b->build_id_len, same);
		if (same) {
			/* The same build under another name (a container's copy, a hard link). */
			binary_free(b);
			b = same;
		} else {
			HASH_ADD(hh_id, u->by_id, build_id, b->build_id_len, b);
		}
	}
	if (b && b != same) {
		b->idle_since = u->now;
		b->next = u->binaries;
		u->binaries = b;
		u->stats.binaries++;
	}
	f->bin = b;
	HASH_ADD(hh, u->files, key, sizeof(key), f);
	return b;
}

/* The vdso is the same image in every process on one kernel and cannot be read from a process
 * that has exited: this process's own copy serves them all. */
static struct ubinary *vdso_get(struct unwinder *u)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	struct ubinary *b;
	char why[256];
	size_t size;
	void *copy;

	if (u->vdso || !eh)
		return u->vdso;
	/* The image ends with its section headers. */
	size = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	if (size < sizeof(*eh) || size > (1u << 20))
		return NULL;
	b = calloc(1, sizeof(*b));
	copy = malloc(size);
	if (!b || !copy) {
		free(b);
		free(copy);
		return NULL;
	}
	memcpy(copy, eh, size);
	b->path = strdup("[vdso]");
	b->elf = elf_memory(copy, size);
	if (!b->path || !b->elf || binary_load(b, why, sizeof(why))) {
		binary_free(b);
		free(copy);
		return NULL;
	}
	/* elf_memory does not own the image: it is freed with the unwinder (vdso_image). */
	b->next = NULL;
	u->vdso = b;
	u->stats.binaries++;
	return b;
}

/* The load bias of binary b mapped by m: where ELF virtual address 0 lies. -ENOENT when no
 * segment of b covers the mapping's file offset. */
static int binary_bias(const struct ubinary *b, const struct procmaps_entry *m, uint64_t *bias)
{
	for (size_t i = 0; i < b->nloads; i++) {
		const GElf_Phdr *ph = &b->loads[i];
		uint64_t page = ph->p_offset & ~4095ull;

		if (m->offset >= page && m->offset < ph->p_offset + ph->p_filesz) {
			/* File offset X of this segment is at p_vaddr + X - p_offset. */
			*bias = m->start - (ph->p_vaddr + m->offset - ph->p_offset);
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- libdwfl callbacks ---- */

static int find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	struct ubinary *b = *userdata;

	/* Another reference to the shared handle; libdwfl ends it with the module. */
	*elfp = b && b->elf ? elf_begin(-1, ELF_C_READ, b->elf) : NULL;
	return -1;
}

/* No separate debug files: they would mean searching the file system or, with DEBUGINFOD_URLS
 * set, the network, on the sampling path. .debug_frame in the binary itself is used. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	return 0; /* threads are only ever asked for by tid */
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	*thread_argp = arg;
	return true;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct uproc *p = arg;
	struct ucall *c = p->call;
	const struct unwind_sample *s = c->s;
	uint64_t sp = s->regs[UNWIND_REG_SP];

	if (addr >= sp && s->stack_size >= 8 && addr - sp <= s->stack_size - 8) {
		memcpy(result, s->stack + (addr - sp), sizeof(*result));
		if (c->nreads < UNWIND_MAX_READS)
			c->reads[c->nreads++] = (struct uread){ addr, *result };
		else
			c->reads_lost = true;
		return true;
	}
	if (c->nreads < UNWIND_MAX_READS)
		c->reads[c->nreads++] = (struct uread){ addr | READ_FAILED, 0 };
	else
		c->reads_lost = true;
	c->step_fault = true;
	if (addr >= sp + s->stack_size && addr - sp < UNWIND_STACK_SPAN)
		c->step_beyond = true;
	return false;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct uproc *p = arg;
	const uint64_t *regs = p->call->s->regs;
	Dwarf_Word w[UNWIND_NR_REGS];

	for (int i = 0; i < UNWIND_NR_REGS; i++)
		w[i] = regs[i];
	if (!dwfl_thread_state_registers(thread, 0, UNWIND_NR_REGS, w))
		return false;
	dwfl_thread_state_register_pc(thread, regs[UNWIND_REG_IP]);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* ---- processes ---- */

static void memo_clear(struct unwinder *u, struct uproc *p)
{
	struct umemo *m, *tmp;

	HASH_ITER (hh, p->memo, m, tmp) {
		HASH_DEL(p->memo, m);
		free(m);
	}
	u->nmemo -= p->nmemo;
	p->nmemo = 0;
}

static void pcs_clear(struct uproc *p)
{
	struct upc *e, *tmp;

	HASH_ITER (hh, p->pcs, e, tmp) {
		HASH_DEL(p->pcs, e);
		free(e);
	}
	p->npcs = 0;
}

/* A module of an address space going away: its binary has one user less. */
static int module_unref(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			void *arg)
{
	struct unwinder *u = arg;
	struct ubinary *b = *userdata;

	if (b && b != u->vdso && b->users && !--b->users)
		b->idle_since = u->now;
	return DWARF_CB_OK;
}

static void proc_reset(struct unwinder *u, struct uproc *p)
{
	if (p->dwfl) {
		dwfl_getmodules(p->dwfl, module_unref, u, 0);
		dwfl_end(p->dwfl);
	}
	p->dwfl = NULL;
	p->built = false;
	memo_clear(u, p);
	pcs_clear(p);
}

static void proc_free(struct unwinder *u, struct uproc *p)
{
	proc_reset(u, p);
	free(p);
}

/* Reports every file of the maps snapshot as a module at its load address. */
static void proc_build(struct unwinder *u, struct uproc *p, const struct unwind_sample *s)
{
	const struct ubinary *prev = NULL;
	uint64_t prev_bias = 0;

	p->built = true;
	p->maps_version = s->maps_version;
	u->stats.processes++;
	p->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!p->dwfl)
		return;
	dwfl_report_begin(p->dwfl);
	for (size_t i = 0; s->maps && i < procmaps__count(s->maps); i++) {
		const struct procmaps_entry *m = procmaps__entry(s->maps, i);
		struct ubinary *b = NULL;
		Dwfl_Module *mod;
		uint64_t bias;
		void **ud;

		if (!strcmp(m->path, "[vdso]"))
			b = vdso_get(u);
		else if (procmaps_entry_is_file(m))
			b = binary_get(u, (int)s->pid, m);
		if (!b || binary_bias(b, m, &bias))
			continue;
		if (b == prev && bias == prev_bias)
			continue; /* another executable segment of the file just reported */
		mod = dwfl_report_module(p->dwfl, b->path, bias + b->lo, bias + b->hi);
		if (!mod)
			continue;
		dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
		*ud = b;
		if (b != u->vdso)
			b->users++;
		prev = b;
		prev_bias = bias;
	}
	dwfl_report_end(p->dwfl, NULL, NULL);
	if (!dwfl_attach_state(p->dwfl, u->arch, (pid_t)s->pid, &thread_callbacks, p)) {
		dwfl_getmodules(p->dwfl, module_unref, u, 0);
		dwfl_end(p->dwfl);
		p->dwfl = NULL;
	}
}

static struct uproc *proc_get(struct unwinder *u, const struct unwind_sample *s)
{
	struct uproc *p, key;

	memset(&key.key, 0, sizeof(key.key));
	key.key.pid = s->pid;
	key.key.start_ns = s->start_ns;
	HASH_FIND(hh, u->procs, &key.key, sizeof(key.key), p);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->key = key.key;
		p->u = u;
		HASH_ADD(hh, u->procs, key, sizeof(p->key), p);
	}
	p->last_used = u->now;
	if (p->built && p->maps_version != s->maps_version)
		proc_reset(u, p);
	if (!p->built)
		proc_build(u, p, s);
	return p;
}

/* ---- CFI facts ---- */

/* Classifies the registers in a DWARF expression: PC_CFA_BP when it uses the frame pointer,
 * PC_CFA_OTHER when it uses any register but the stack pointer, frame pointer and IP. */
static uint16_t expr_regs(const Dwarf_Op *ops, size_t nops)
{
	uint16_t info = 0;

	for (size_t i = 0; i < nops; i++) {
		unsigned int atom = ops[i].atom, reg;

		if (atom >= DW_OP_breg0 && atom <= DW_OP_breg31)
			reg = atom - DW_OP_breg0;
		else if (atom >= DW_OP_reg0 && atom <= DW_OP_reg31)
			reg = atom - DW_OP_reg0;
		else if (atom == DW_OP_bregx || atom == DW_OP_regx)
			reg = (unsigned int)ops[i].number;
		else
			continue;
		if (reg == UNWIND_REG_BP)
			info |= PC_CFA_BP;
		else if (reg != UNWIND_REG_SP && reg != UNWIND_REG_IP)
			info |= PC_CFA_OTHER;
	}
	return info;
}

/* The CFI row for addr: PC_HAS_CFI and the facts about its rules, or 0 when there is none. */
static uint16_t cfi_at(Dwarf_CFI *cfi, Dwarf_Addr addr)
{
	Dwarf_Frame *f;
	Dwarf_Op mem[3], *ops;
	size_t nops;
	uint16_t info = PC_HAS_CFI;
	bool signal = false;
	int rc;

	if (!cfi || dwarf_cfi_addrframe(cfi, addr, &f))
		return 0;
	if (dwarf_frame_info(f, NULL, NULL, &signal) >= 0 && signal)
		info |= PC_SIGNAL;
	/* "Undefined" is the one rule with no operations that points at the caller's buffer. */
	if (!dwarf_frame_register(f, UNWIND_REG_IP, mem, &ops, &nops) && nops == 0 && ops == mem)
		info |= PC_OUTERMOST;
	if (dwarf_frame_cfa(f, &ops, &nops))
		info |= PC_CFA_OTHER; /* unknown: never memoize through it */
	else
		/* A register-plus-offset rule comes back as one DW_OP_bregx. */
		info |= expr_regs(ops, nops) |
			(nops == 1 && (ops[0].atom == DW_OP_bregx ||
				       (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31))
			     ? 0
			     : PC_CFA_EXPR);
	rc = dwarf_frame_register(f, UNWIND_REG_BP, mem, &ops, &nops);
	if (rc == 0 && (nops > 0 || ops == mem))
		info |= PC_BP_SAVED; /* in memory at an address, or undefined from here on */
	else if (rc != 0 || nops > 0)
		info |= PC_BP_OTHER; /* a value expression, or an error */
	free(f);
	return info;
}

static uint16_t pc_info(struct uproc *p, const struct unwind_sample *s, uint64_t addr)
{
	struct upc *e;
	Dwfl_Module *mod;
	Dwarf_Addr lo, hi, bias;
	uint16_t info = 0;

	HASH_FIND(hh, p->pcs, &addr, sizeof(addr), e);
	if (e)
		return e->info;
	if (s->maps && procmaps__find(s->maps, addr))
		info |= PC_IN_MAPPING;
	mod = p->dwfl ? dwfl_addrmodule(p->dwfl, addr) : NULL;
	/* libdwfl may answer with a module that does not hold the address: check. */
	if (mod && dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL) && addr >= lo &&
	    addr < hi) {
		info |= PC_IN_MODULE;
		Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, &bias);
		uint16_t cf = cfi_at(cfi, addr - bias);

		if (!cf) {
			cfi = dwfl_module_dwarf_cfi(mod, &bias);
			cf = cfi_at(cfi, addr - bias);
		}
		info |= cf;
	}
	if (p->npcs >= UNWIND_PCS_PER_PROC)
		pcs_clear(p);
	e = malloc(sizeof(*e));
	if (e) {
		e->addr = addr;
		e->info = info;
		HASH_ADD(hh, p->pcs, addr, sizeof(e->addr), e);
		p->npcs++;
	}
	return info;
}

/* ---- unwinding ---- */

static enum unwind_status fault_status(const struct ucall *c)
{
	return c->step_beyond ? UNWIND_TRUNCATED : UNWIND_BAD_FRAME;
}

static uint64_t lookup_addr(const struct unwind_result *r, size_t i)
{
	return r->flags[i] & UNWIND_FRAME_EXACT ? r->ips[i] : r->ips[i] - 1;
}

static bool memo_find(struct uproc *p, struct ucall *c);

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct uproc *p = arg;
	struct ucall *c = p->call;
	struct unwind_result *r = c->out;
	size_t reads_before = c->nreads;
	Dwarf_Word sp, bp;
	Dwarf_Addr pc;
	bool activation;

	c->step_fault = c->step_beyond = false;
	/* Without asking whether this is an activation: that takes the next step at once. */
	if (!dwfl_frame_pc(state, &pc, NULL))
		return DWARF_CB_ABORT;
	/* libdwfl steps with CFI wherever a frame has an FDE (a register it cannot read is left
	 * unset: epilogues name save slots already below the stack pointer, harmlessly), and with
	 * frame pointers where none exists: not in DWARF mode, and never from a return address
	 * into nothing (whatever it finds from there is garbage). */
	if (r->n > 0) {
		uint16_t prev = pc_info(p, c->s, lookup_addr(r, r->n - 1));

		if (!(prev & PC_IN_MAPPING) ||
		    (p->u->opts.mode == UNWIND_MODE_DWARF && !(prev & PC_HAS_CFI))) {
			c->cut = true;
			c->cut_status = prev & PC_IN_MAPPING ? UNWIND_NO_INFO : UNWIND_BAD_FRAME;
			return DWARF_CB_ABORT;
		}
	}
	if (r->n == UNWIND_MAX_FRAMES) {
		c->cut = true;
		c->cut_status = UNWIND_TRUNCATED;
		return DWARF_CB_ABORT;
	}
	c->fr[r->n].read_idx = reads_before;
	c->fr[r->n].bp_set = !dwfl_frame_reg(state, UNWIND_REG_BP, &bp);
	c->fr[r->n].bp = c->fr[r->n].bp_set ? bp : 0;
	c->fr[r->n].sp = dwfl_frame_reg(state, UNWIND_REG_SP, &sp) ? 0 : sp;
	if (r->n == 1 && !dwfl_frame_reg(state, UNWIND_REG_SP, &sp)) {
		c->keyed = true;
		c->key = (struct umemo_key){ pc, sp,
					     !!(pc_info(p, c->s, lookup_addr(r, 0)) & PC_SIGNAL) };
		if (c->use_memo && memo_find(p, c))
			return DWARF_CB_ABORT;
	}
	/* Asked whether this frame is an activation, libdwfl takes the step to the next frame
	 * right away (to see whether that one is a signal frame): the reads and faults from here
	 * on belong to the step from this frame. */
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	r->ips[r->n] = pc;
	r->flags[r->n] = activation ? UNWIND_FRAME_EXACT : 0;
	r->n++;
	return DWARF_CB_OK;
}

/* How a walk that libdwfl ended by itself ended. */
static enum unwind_status end_status(struct uproc *p, struct ucall *c)
{
	const struct unwind_result *r = c->out;
	uint16_t info;

	if (!r->n)
		return UNWIND_BAD_FRAME;
	info = pc_info(p, c->s, lookup_addr(r, r->n - 1));
	if (info & PC_OUTERMOST)
		return UNWIND_COMPLETE;
	if (!(info & PC_HAS_CFI)) {
		if (!(info & PC_IN_MAPPING))
			return UNWIND_BAD_FRAME; /* a return address into nothing */
		/* In auto mode a frame-pointer step was tried: it may have run off the copy. */
		if (c->step_fault && p->u->opts.mode == UNWIND_MODE_AUTO &&
		    fault_status(c) == UNWIND_TRUNCATED)
			return UNWIND_TRUNCATED;
		return UNWIND_NO_INFO;
	}
	/* A frame with CFI that is not the outermost ends a walk only when its return address
	 * could not be had: read outside the copy, or CFI that did not evaluate. */
	return fault_status(c);
}

static bool memo_valid(const struct umemo *m, const struct ucall *c)
{
	const struct unwind_sample *s = c->s;
	uint64_t sp = s->regs[UNWIND_REG_SP];

	if (m->uses_bp && (!c->fr[1].bp_set || c->fr[1].bp != m->bp))
		return false;
	for (size_t i = 0; i < m->nreads; i++) {
		uint64_t a = m->reads[i].addr & ~READ_FAILED, v;
		bool in = a >= sp && s->stack_size >= 8 && a - sp <= s->stack_size - 8;

		if (m->reads[i].addr & READ_FAILED) {
			if (in)
				return false;
			continue;
		}
		if (!in)
			return false;
		memcpy(&v, s->stack + (a - sp), sizeof(v));
		if (v != m->reads[i].value)
			return false;
	}
	return true;
}

/* At frame 1: answers the rest of the stack from the memo. True on a hit (out is complete). */
static bool memo_find(struct uproc *p, struct ucall *c)
{
	struct unwind_result *r = c->out;
	struct umemo *m;

	HASH_FIND(hh, p->memo, &c->key, sizeof(c->key), m);
	if (!m || !memo_valid(m, c))
		return false;
	memcpy(r->ips + 1, m->ips, m->n * sizeof(uint64_t));
	memcpy(r->flags + 1, m->flags, m->n);
	r->n = 1 + m->n;
	r->status = (enum unwind_status)m->status;
	c->memo_hit = true;
	return true;
}

/*
 * Keeps of the reads from frame 1 on those the frames depend on, and says whether they depend on
 * frame 1's frame pointer register. Step j (frame j to j + 1) computes its CFA from the stack
 * pointer, or from the frame pointer (also a frame-pointer step, for a frame without CFI), and
 * reads the return address and perhaps the caller's frame pointer: the reads that matter gave
 * frame j + 1's IP, stack pointer or (when a later step needs it) frame pointer. A CFA expression
 * may read anything: such steps keep all their reads, as does the last step (its reads decide
 * how the stack ends). False when a step needs another register (the entry is not kept).
 */
static bool memo_reads(struct uproc *p, struct ucall *c, size_t *nkept, bool *uses_bp)
{
	const struct unwind_result *r = c->out;
	uint16_t info[UNWIND_MAX_FRAMES];
	bool need[UNWIND_MAX_FRAMES + 1];

	for (size_t j = 1; j < r->n; j++) {
		info[j] = pc_info(p, c->s, lookup_addr(r, j));
		if ((info[j] & PC_CFA_OTHER) || ((info[j] & PC_HAS_CFI) && (info[j] & PC_BP_OTHER)))
			return false;
	}
	/* need[j]: the frame pointer value in frame j matters to step j or a later one. */
	need[r->n] = false;
	for (size_t j = r->n - 1; j >= 1; j--) {
		bool cfi = info[j] & PC_HAS_CFI;

		need[j] = !cfi || (info[j] & PC_CFA_BP) ||
			  (!(info[j] & PC_BP_SAVED) && need[j + 1]);
	}
	*uses_bp = need[1];
	*nkept = 0;
	for (size_t j = 1; j < r->n; j++) {
		bool last = j + 1 == r->n, all = last || (info[j] & PC_CFA_EXPR);
		size_t from = c->fr[j].read_idx, to = last ? c->nreads : c->fr[j + 1].read_idx;

		for (size_t i = from; i < to; i++) {
			const struct uread *rd = &c->reads[i];
			uint64_t v = rd->value;

			if (all || (rd->addr & READ_FAILED) || v == r->ips[j + 1] ||
			    v == c->fr[j + 1].sp ||
			    (need[j + 1] && c->fr[j + 1].bp_set && v == c->fr[j + 1].bp))
				c->kept[(*nkept)++] = *rd;
		}
	}
	return true;
}

static void memo_add(struct unwinder *u, struct uproc *p, struct ucall *c)
{
	const struct unwind_result *r = c->out;
	size_t nreads, n = r->n - 1, size;
	struct umemo *m, *old;
	bool uses_bp;

	if (!c->keyed || c->reads_lost || r->n < 2 || !memo_reads(p, c, &nreads, &uses_bp) ||
	    (uses_bp && !c->fr[1].bp_set))
		return;
	if (p->nmemo >= UNWIND_MEMO_PER_PROC || u->nmemo >= UNWIND_MEMO_TOTAL)
		memo_clear(u, p);
	size = sizeof(*m) + nreads * sizeof(struct uread) + n * (sizeof(uint64_t) + 1);
	m = malloc(size);
	if (!m)
		return;
	m->key = c->key;
	m->uses_bp = uses_bp;
	m->bp = c->fr[1].bp;
	m->nreads = (uint16_t)nreads;
	m->n = (uint16_t)n;
	m->status = (uint8_t)r->status;
	m->reads = (struct uread *)(m + 1);
	m->ips = (uint64_t *)(m->reads + nreads);
	m->flags = (uint8_t *)(m->ips + n);
	memcpy(m->reads, c->kept, nreads * sizeof(struct uread));
	memcpy(m->ips, r->ips + 1, n * sizeof(uint64_t));
	memcpy(m->flags, r->flags + 1, n);
	/* Replaces an entry with the same key that no longer held. */
	HASH_FIND(hh, p->memo, &c->key, sizeof(c->key), old);
	if (old) {
		HASH_DEL(p->memo, old);
		free(old);
		p->nmemo--;
		u->nmemo--;
	}
	HASH_ADD(hh, p->memo, key, sizeof(m->key), m);
	p->nmemo++;
	u->nmemo++;
}

/* One walk of libdwfl over the sample, with or without the memo. */
static void walk(struct uproc *p, struct ucall *c)
{
	int rc;

	c->out->n = 0;
	p->call = c;
	rc =
	    dwfl_getthread_frames(p->dwfl, (pid_t)(c->s->tid ? c->s->tid : c->s->pid), on_frame, p);
	if (c->memo_hit)
		; /* status from the memo */
	else if (c->cut)
		c->out->status = c->cut_status;
	else if (rc == 0 || rc == -1)
		c->out->status = end_status(p, c);
	else
		c->out->status = UNWIND_BAD_FRAME;
	p->call = NULL;
}

static bool same_result(const struct unwind_result *a, const struct unwind_result *b)
{
	return a->n == b->n && a->status == b->status &&
	       !memcmp(a->ips, b->ips, a->n * sizeof(a->ips[0])) &&
	       !memcmp(a->flags, b->flags, a->n);
}

static void call_start(struct ucall *c, const struct unwind_sample *s, struct unwind_result *out,
		       bool use_memo)
{
	c->s = s;
	c->out = out;
	c->use_memo = use_memo;
	c->keyed = c->memo_hit = c->reads_lost = false;
	c->nreads = 0;
	c->step_fault = c->step_beyond = c->cut = false;
}

int unwinder__unwind(struct unwinder *u, const struct unwind_sample *s, struct unwind_result *out)
{
	struct ucall *c = &u->call;
	struct uproc *p;
	int err = 0;

	u->stats.samples++;
	out->n = 0;
	p = s->maps ? proc_get(u, s) : NULL;
	if (!p || !p->dwfl) {
		/* Nothing to unwind with (no maps: the process exited before it was first seen):
		 * the sampled IP alone. */
		out->ips[0] = s->regs[UNWIND_REG_IP];
		out->flags[0] = UNWIND_FRAME_EXACT;
		out->n = 1;
		out->status = UNWIND_NO_INFO;
		err = s->maps && !p ? -ENOMEM : 0;
		goto done;
	}
	call_start(c, s, out, !u->opts.no_memo);
	walk(p, c);
	if (c->memo_hit) {
		u->stats.memo_hits++;
		if (u->opts.verify_memo) {
			struct unwind_result check;

			call_start(c, s, &check, false);
			walk(p, c);
			if (!same_result(out, &check))
				u->stats.memo_mismatches++;
		}
	} else if (c->use_memo) {
		memo_add(u, p, c);
	}
done:
	u->stats.by_status[out->status]++;
	return err;
}

enum unwind_status unwinder__classify_fp(struct unwinder *u, const struct unwind_sample *s,
					 const uint64_t *ips, size_t *n)
{
	struct uproc *p = proc_get(u, s);

	for (size_t i = 0; p && p->dwfl && i < *n; i++) {
		if (pc_info(p, s, i ? ips[i] - 1 : ips[i]) & PC_OUTERMOST) {
			*n = i + 1;
			return UNWIND_COMPLETE;
		}
	}
	return *n >= UNWIND_MAX_FRAMES ? UNWIND_TRUNCATED : UNWIND_BAD_FRAME;
}

/* ---- lifetime ---- */

struct unwinder *unwinder__new(const struct unwinder_opts *opts)
{
	struct unwinder *u;

	if (!opts || !opts->open_file) {
		errno = EINVAL;
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->opts = *opts;
	elf_version(EV_CURRENT);
	memcpy(u->arch_image.e_ident, ELFMAG, SELFMAG);
	u->arch_image.e_ident[EI_CLASS] = ELFCLASS64;
	u->arch_image.e_ident[EI_DATA] = ELFDATA2LSB;
	u->arch_image.e_ident[EI_VERSION] = EV_CURRENT;
	u->arch_image.e_type = ET_EXEC;
	u->arch_image.e_machine = EM_X86_64;
	u->arch_image.e_version = EV_CURRENT;
	u->arch_image.e_ehsize = sizeof(Elf64_Ehdr);
	u->arch = elf_memory((char *)&u->arch_image, sizeof(u->arch_image));
	if (!u->arch) {
		free(u);
		errno = ENOMEM;
		return NULL;
	}
	return u;
}

void unwinder__forget(struct unwinder *u, uint32_t pid, uint64_t start_ns)
{
	struct uproc *p, key;

	memset(&key.key, 0, sizeof(key.key));
	key.key.pid = pid;
	key.key.start_ns = start_ns;
	HASH_FIND(hh, u->procs, &key.key, sizeof(key.key), p);
	if (p) {
		HASH_DEL(u->procs, p);
		proc_free(u, p);
	}
}

void unwinder__touch(struct unwinder *u, int64_t now_ns)
{
	u->now = now_ns;
}

unsigned int unwinder__expire(struct unwinder *u, int64_t cutoff_ns)
{
	struct uproc *p, *tmp;
	struct ufile *f, *tf;
	struct ubinary *b, **link;
	unsigned int n = 0;

	HASH_ITER (hh, u->procs, p, tmp) {
		if (p->last_used < cutoff_ns) {
			HASH_DEL(u->procs, p);
			proc_free(u, p);
			n++;
		}
	}
	/* Binaries no address space reports since the cutoff go, with every file naming them;
	 * files not looked up since go too (a process mapping one again opens it again). */
	for (b = u->binaries; b; b = b->next)
		b->dead = !b->users && b->idle_since < cutoff_ns;
	HASH_ITER (hh, u->files, f, tf) {
		if (f->last_used < cutoff_ns || (f->bin && f->bin->dead)) {
			HASH_DEL(u->files, f);
			free(f);
		}
	}
	for (link = &u->binaries; (b = *link);) {
		if (!b->dead) {
			link = &b->next;
			continue;
		}
		*link = b->next;
		if (b->build_id_len)
			HASH_DELETE(hh_id, u->by_id, b);
		binary_free(b);
		u->stats.binaries_freed++;
	}
	return n;
}

void unwinder__stats(const struct unwinder *u, struct unwinder_stats *out)
{
	*out = u->stats;
	out->binaries_held = 0;
	for (const struct ubinary *b = u->binaries; b; b = b->next)
		out->binaries_held++;
	out->files_held = HASH_COUNT(u->files);
	out->procs_held = HASH_COUNT(u->procs);
}

void unwinder__free(struct unwinder *u)
{
	struct uproc *p, *tp;
	struct ufile *f, *tf;
	struct ubinary *b, *next;

	if (!u)
		return;
	/* Address spaces first: their modules hold references to the binaries' Elfs. */
	HASH_ITER (hh, u->procs, p, tp) {
		HASH_DEL(u->procs, p);
		proc_free(u, p);
	}
	HASH_ITER (hh, u->files, f, tf) {
		HASH_DEL(u->files, f);
		free(f);
	}
	HASH_CLEAR(hh_id, u->by_id);
	for (b = u->binaries; b; b = next) {
		next = b->next;
		binary_free(b);
	}
	if (u->vdso) {
		char *image = u->vdso->elf ? elf_rawfile(u->vdso->elf, NULL) : NULL;

		binary_free(u->vdso);
		free(image);
	}
	elf_end(u->arch);
	free(u);
}

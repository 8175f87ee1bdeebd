// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Symbolizer facade. Mapped files are known twice: as a file (device, inode), which processes pin,
 * and as a binary (build-id, else a content hash), which owns the fd and the parsed tables, so two
 * copies of one binary are parsed once. Resolved addresses are cached by (table generation, file
 * offset): a binary's generation changes whenever its tables are dropped or improved, so a cached
 * answer never outlives the strings it points to. Everything is bounded by one byte budget,
 * evicted least-recently-used: cached addresses beyond a quarter of it first, then the tables of
 * the least recently used binaries (files still pinned keep their fd, not their tables). Tables in
 * use (touched in the last SYM_HOT_RESOLVES resolutions) are never evicted: when two binaries'
 * tables together exceed the budget and a stack runs through both, evicting one for the other
 * re-parsed DWARF for every sample (the collector stopped flushing at --symbol-cache-mb 32).
 * Within the budget, what the last SYM_IDLE_RESOLVES resolutions did not use (answers, the DWARF
 * units built for lookups, the tables of binaries not resolved through) is freed, so that a
 * long-running collector holds its working set and not everything it ever resolved or met.
 */
#include "symbolizer/symbolizer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>
#include <utlist.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "symbolizer/debuginfod.h"
#include "symbolizer/dwarfsym.h"
#include "symbolizer/elfsym.h"
#include "symbolizer/kallsyms.h"
#include "symbolizer/perfmap.h"
#include "symbolizer/safeopen.h"

#define KERNEL_MODULE "[kernel.kallsyms]"
#define JIT_MODULE "[jit]"
/* Nothing legitimate maps an executable larger than this. */
#define SYM_MAX_FILE (4ull << 30)
/* Unpinned binaries kept open at most: each holds an fd. */
#define SYM_MAX_OPEN_BINARIES 4096
/* kallsyms is read again at most this often. */
#define KERNEL_RELOAD_NS 5000000000ll
/* A missing perf map is looked for again at most this often. */
#define PERFMAP_RETRY_NS 1000000000ll

struct file_key {
	uint64_t inode;
	uint32_t dev_major, dev_minor;
};

struct bin_key {
	uint8_t len;  /* bytes of id used */
	uint8_t hash; /* 1: id is an XXH3-128 of the content (no build-id) */
	uint8_t id[ELFSYM_BUILD_ID_MAX];
};

enum dw_state { DW_UNKNOWN = 0, DW_NONE, DW_LOADED, DW_PENDING };

struct sym_binary {
	struct bin_key key;
	char build_id_hex[2 * ELFSYM_BUILD_ID_MAX + 1]; /* "" without a build-id */
	char *path;
	int fd;
	bool host_root; /* first opened in the host's root: .gnu_debuglink is looked up there */
	uint64_t gen;	/* generation of the tables: part of the address cache key */
	unsigned int refs;
	uint64_t used; /* s->resolves when last resolved through */
	struct elfsym *elf;
	bool elf_failed;
	struct dwarfsym *dw;
	struct elfsym *dbg_elf; /* the debug file's .symtab: names .dynsym lacks */
	enum dw_state dw_state;
	size_t bytes; /* tables held */
	void *priv;
	void (*release)(void *priv);
	struct sym_binary *lru_prev, *lru_next; /* utlist DL: most recent first */
	UT_hash_handle hh;
	/* The device and inode of the file fd is open on. While fd is open that inode cannot be
	 * reused, so a mapping of this (device, inode) is this file, whoever maps it, even after
	 * every process that mapped it exited: exit-time maps name files by nothing else. */
	struct file_key fkey;
	bool in_by_file;
	UT_hash_handle hh_file;
};

struct sym_file {
	struct file_key key;
	struct sym_binary *bin; /* NULL: could not be opened or identified */
	unsigned int refs;
	UT_hash_handle hh;
};

struct sym_process {
	int pid;
	int rootfd; /* O_PATH on /proc/PID/root, -1 when gone */
	int nspid;  /* the pid inside its own pid namespace (names the perf map) */
	bool host_root;
	struct sym_file **pins;
	size_t npins, cpins;
	struct perfmap *pm;
	int pm_fd;
	off_t pm_size;
	int64_t pm_retry_ns;
};

struct cached_frame {
	const char *name, *file;
	uint32_t line;
	bool inlined;
};

struct addr_key {
	uint64_t gen, offset;
};

struct addr_entry {
	struct addr_key key;
	struct addr_entry *prev, *next;
	uint64_t used; /* s->resolves when last returned */
	uint32_t n;
	struct cached_frame fr[];
};

/*
 * The address cache's index: open addressing with linear probing, keys inline, at most half full.
 * uthash's chains cost a cache miss per link, and this table is looked up on every frame.
 */
struct addr_slot {
	struct addr_key key;
	struct addr_entry *e; /* NULL: empty */
};

struct addr_table {
	struct addr_slot *v;
	size_t mask, n; /* capacity - 1 (a power of two), entries */
};

static size_t addr_hash(const struct addr_key *k, size_t mask)
{
	uint64_t h = (k->offset ^ (k->gen * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;

	return (size_t)(h ^ (h >> 29)) & mask;
}

static struct addr_entry *addr_table_find(const struct addr_table *t, const struct addr_key *k)
{
	if (!t->v)
		return NULL;
	for (size_t i = addr_hash(k, t->mask);; i = (i + 1) & t->mask) {
		const struct addr_slot *sl = &t->v[i];

		if (!sl->e)
			return NULL;
		if (sl->key.offset == k->offset && sl->key.gen == k->gen)
			return sl->e;
	}
}

static void addr_table_put(struct addr_table *t, struct addr_entry *e)
{
	size_t i = addr_hash(&e->key, t->mask);

	while (t->v[i].e)
		i = (i + 1) & t->mask;
	t->v[i].key = e->key;
	t->v[i].e = e;
	t->n++;
}

static int addr_table_add(struct addr_table *t, struct addr_entry *e)
{
	if (!t->v || (t->n + 1) * 2 > t->mask + 1) {
		struct addr_table nt = { 0 };
		size_t cap = t->v ? (t->mask + 1) * 2 : 1024;

		nt.v = calloc(cap, sizeof(*nt.v));
		if (!nt.v)
			return -ENOMEM;
		nt.mask = cap - 1;
		for (size_t i = 0; t->v && i <= t->mask; i++)
			if (t->v[i].e)
				addr_table_put(&nt, t->v[i].e);
		free(t->v);
		*t = nt;
	}
	addr_table_put(t, e);
	return 0;
}

/* Removes a key; later entries of its probe run move back so that no lookup stops early. */
static void addr_table_del(struct addr_table *t, const struct addr_key *k)
{
	size_t i = addr_hash(k, t->mask), j;

	while (t->v[i].e && (t->v[i].key.offset != k->offset || t->v[i].key.gen != k->gen))
		i = (i + 1) & t->mask;
	if (!t->v[i].e)
		return;
	t->v[i].e = NULL;
	t->n--;
	for (j = (i + 1) & t->mask; t->v[j].e; j = (j + 1) & t->mask) {
		size_t home = addr_hash(&t->v[j].key, t->mask);

		/* Move j back to the hole at i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->v[i] = t->v[j];
			t->v[j].e = NULL;
			i = j;
		}
	}
}

/*
 * One pass's memo: direct-mapped by file offset, the latest answer of up to MEMO_FRAMES frames per
 * slot (deeper ones are not kept). A slot whose key names an old generation is never read, so
 * dropped tables leave nothing dangling. No allocation, no list, no eviction: a miss costs one
 * slot's cache lines.
 */
#define MEMO_SLOTS 4096
#define MEMO_FRAMES 3

/*
 * A memo slot by file offset, in address order: `ember symbolize` resolves each batch sorted by
 * address, so consecutive lookups walk the memo forward (prefetched) instead of missing the cache
 * at a hashed slot each time (a tenth of a run over all-distinct addresses). Hot addresses of a
 * profile spread over the slots the same.
 */
static size_t memo_index(const struct addr_key *k)
{
	return (size_t)((k->offset >> 3) + k->gen * 0x9e3779b9ull) & (MEMO_SLOTS - 1);
}

struct memo_slot {
	struct addr_key key; /* gen 0: empty (generations start at 1) */
	uint32_t n;
	struct cached_frame fr[MEMO_FRAMES];
};

struct kmodule {
	const char *name; /* key: kallsyms' string */
	char *bracketed;
	UT_hash_handle hh;
};

struct symbolizer {
	struct kallsyms *ksyms;
	struct kmodule *kmodules;
	uint64_t kernel_sig;
	uint32_t bpf_max_id;
	bool kernel_stale, kernel_reloaded;
	int64_t kernel_reload_ns;
	uint64_t kernel_etext;
	struct elfsym *vdso;
	bool vdso_read;
	struct sym_file *files;	     /* by (dev, inode); only files some process pins */
	struct sym_binary *binaries; /* by build-id */
	struct sym_binary *by_file;  /* by the (dev, inode) of each binary's own fd */
	struct sym_binary *lru;	     /* most recent first; lru->lru_prev is the least recent */
	unsigned long nbinaries;
	struct addr_table addrs;     /* by (gen, offset) */
	struct addr_entry *addr_lru; /* most recent first; ->prev of the head is the tail */
	uint64_t addr_bytes, table_bytes, budget;
	uint64_t next_gen;
	uint64_t resolves;	  /* resolve_binary calls: the clock of SYM_HOT_RESOLVES */
	uint64_t idle_resolves;	  /* SYM_IDLE_RESOLVES, or the test's; 0 with one_pass: never */
	uint64_t idle_swept;	  /* s->resolves at the last sweep_idle */
	struct sym_process *self; /* pins the files symbolizer__file opens */
	struct debuginfod_worker *dbgd;
	char proc_root[256], kallsyms_path[256], modules_path[256], debug_dir[256];
	bool no_map_files;
	/* With opts.one_pass: the answer returned (SYM_MAX_FRAMES long), and the memo. */
	struct addr_entry *scratch;
	struct memo_slot *memo;
	struct symbolizer_stats stats;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- kernel ---- */

/* A signature of what can add kernel text: the module list and the newest BPF program id. */
static uint64_t kernel_signature(struct symbolizer *s)
{
	char buf[65536];
	union bpf_attr attr;
	uint64_t h = 0;
	ssize_t n;
	int fd = open(s->modules_path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		XXH3_state_t st;

		XXH3_64bits_reset(&st);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			XXH3_64bits_update(&st, buf, (size_t)n);
		h = XXH3_64bits_digest(&st);
		close(fd);
	}
	/* Walk the program ids above the newest one seen: cheap when none was loaded. */
	for (;;) {
		memset(&attr, 0, sizeof(attr));
		attr.start_id = s->bpf_max_id;
		if (syscall(__NR_bpf, BPF_PROG_GET_NEXT_ID, &attr, sizeof(attr)))
			break;
		s->bpf_max_id = attr.next_id;
	}
	return h ^ ((uint64_t)s->bpf_max_id * 0x9e3779b97f4a7c15ull);
}

static void kmodules_clear(struct symbolizer *s)
{
	struct kmodule *m, *tm;

	HASH_ITER (hh, s->kmodules, m, tm) {
		HASH_DEL(s->kmodules, m);
		free(m->bracketed);
		free(m);
	}
}

/* Loads kallsyms now; the old table stays when it fails. */
static int kernel_reload(struct symbolizer *s)
{
	struct kallsyms *k = kallsyms__load(s->kallsyms_path);
	const struct ksym *etext;

	s->kernel_reload_ns = mono_ns();
	if (!k)
		return -errno;
	kmodules_clear(s);
	kallsyms__free(s->ksyms);
	s->ksyms = k;
	s->kernel_stale = false;
	s->kernel_reloaded = true;
	s->stats.kernel_symbols = kallsyms__count(k);
	s->stats.kernel_reloads++;
	/* Core kernel text ends at _etext: beyond it live modules and BPF programs. */
	s->kernel_etext = 0;
	etext = kallsyms__lookup_name(k, "_etext");
	if (etext)
		s->kernel_etext = etext->addr;
	return 0;
}

int symbolizer__kernel_refresh(struct symbolizer *s)
{
	uint64_t sig = kernel_signature(s);
	bool reloaded;

	if (sig != s->kernel_sig) {
		s->kernel_sig = sig;
		s->kernel_stale = true;
	}
	if (!s->ksyms && s->kernel_stale)
		kernel_reload(s);
	reloaded = s->kernel_reloaded;
	s->kernel_reloaded = false;
	return reloaded;
}

static const char *kmodule_name(struct symbolizer *s, const char *module)
{
	struct kmodule *m;
	size_t len;

	HASH_FIND_PTR(s->kmodules, &module, m);
	if (m)
		return m->bracketed;
	m = calloc(1, sizeof(*m));
	len = strlen(module) + 3;
	if (m)
		m->bracketed = malloc(len);
	if (!m || !m->bracketed) {
		free(m);
		return KERNEL_MODULE;
	}
	snprintf(m->bracketed, len, "[%s]", module);
	m->name = module;
	HASH_ADD_PTR(s->kmodules, name, m);
	return m->bracketed;
}

void symbolizer__kernel(struct symbolizer *s, uint64_t ip, struct sym_frame *out)
{
	const struct ksym *k = kallsyms__find(s->ksyms, ip);

	/*
	 * Reading kallsyms costs tens of milliseconds, and hosts with BPF tooling load programs all
	 * the time: reload only when something was loaded and this address lies where new code
	 * goes (past the core kernel's text, or unknown), at most every KERNEL_RELOAD_NS.
	 */
	if (s->kernel_stale && (!k || k->module || (s->kernel_etext && ip >= s->kernel_etext)) &&
	    mono_ns() - s->kernel_reload_ns >= KERNEL_RELOAD_NS && !kernel_reload(s))
		k = kallsyms__find(s->ksyms, ip);

	memset(out, 0, sizeof(*out));
	out->kind = SYM_KIND_KERNEL;
	if (!k) {
		out->module = KERNEL_MODULE;
		out->offset = ip;
		return;
	}
	out->name = k->name;
	out->module = k->module ? kmodule_name(s, k->module) : KERNEL_MODULE;
	out->offset = ip - k->addr;
}

/* ---- binaries and the cache budget ---- */

static struct sym_binary *lru_tail(const struct symbolizer *s)
{
	return s->lru ? s->lru->lru_prev : NULL;
}

/* Moves b to the front of the LRU list (b is always on it once identified). */
static void lru_touch(struct symbolizer *s, struct sym_binary *b)
{
	if (s->lru == b)
		return;
	if (b->lru_prev)
		DL_DELETE2(s->lru, b, lru_prev, lru_next);
	DL_PREPEND2(s->lru, b, lru_prev, lru_next);
}

static void binary_account(struct symbolizer *s, struct sym_binary *b)
{
	size_t bytes = elfsym__bytes(b->elf) + dwarfsym__bytes(b->dw) + elfsym__bytes(b->dbg_elf);

	s->table_bytes += bytes - b->bytes;
	b->bytes = bytes;
}

/* Drops a binary's parsed tables (they are read again on the next miss). */
static void binary_drop_tables(struct symbolizer *s, struct sym_binary *b)
{
	elfsym__free(b->elf);
	dwarfsym__free(b->dw);
	elfsym__free(b->dbg_elf);
	b->elf = NULL;
	b->dw = NULL;
	b->dbg_elf = NULL;
	b->elf_failed = false;
	if (b->dw_state != DW_PENDING)
		b->dw_state = DW_UNKNOWN;
	b->gen = ++s->next_gen;
	binary_account(s, b);
}

static void binary_free(struct symbolizer *s, struct sym_binary *b)
{
	binary_drop_tables(s, b);
	DL_DELETE2(s->lru, b, lru_prev, lru_next);
	HASH_DEL(s->binaries, b);
	if (b->in_by_file)
		HASH_DELETE(hh_file, s->by_file, b);
	s->nbinaries--;
	if (b->release)
		b->release(b->priv);
	if (b->fd >= 0)
		close(b->fd);
	free(b->path);
	free(b);
}

/*
 * Evicts a binary: one no process maps goes altogether, one still mapped keeps its fd and loses
 * its tables. Returns whether there was anything to evict (false: mapped, tables gone already).
 */
static bool binary_evict(struct symbolizer *s, struct sym_binary *b)
{
	if (!b->refs)
		binary_free(s, b);
	else if (b->bytes)
		binary_drop_tables(s, b);
	else
		return false;
	return true;
}

static struct addr_entry *addr_tail(const struct symbolizer *s)
{
	return s->addr_lru ? s->addr_lru->prev : NULL;
}

static size_t addr_entry_bytes(uint32_t n)
{
	return sizeof(struct addr_entry) + n * sizeof(struct cached_frame);
}

/* Frees the least recently used answer; returns its bytes. */
static size_t addr_evict_one(struct symbolizer *s)
{
	struct addr_entry *e = addr_tail(s);
	size_t bytes = addr_entry_bytes(e->n);

	DL_DELETE(s->addr_lru, e);
	addr_table_del(&s->addrs, &e->key);
	s->addr_bytes -= bytes;
	free(e);
	return bytes;
}

/* Brings the caches back within budget, sparing `keep` (the binary being resolved) and `keep_e`
 * (the answer about to be returned). */
static void enforce_budget(struct symbolizer *s, struct sym_binary *keep, struct addr_entry *keep_e)
{
	struct sym_binary *b, *prev;
	bool hot = false;

	while (addr_tail(s) && addr_tail(s) != keep_e && s->addr_bytes > s->budget / 4) {
		addr_evict_one(s);
		s->stats.evictions++;
	}
	for (b = lru_tail(s); b && (s->addr_bytes + s->table_bytes > s->budget ||
				    s->nbinaries > SYM_MAX_OPEN_BINARIES);
	     b = prev) {
		/* utlist keeps the head's prev on the tail: the walk ends at the head. */
		prev = b == s->lru ? NULL : b->lru_prev;
		if (b == keep)
			continue;
		if (b->bytes && s->resolves - b->used < SYM_HOT_RESOLVES) {
			/* In use, and so is everything more recent: evicting it would read it
			 * again at once. Over budget until the working set shrinks. */
			s->stats.hot_kept++;
			hot = true;
			break;
		}
		if (binary_evict(s, b))
			s->stats.evictions++;
	}
	/* Tables in use over the budget leave the answers their quarter: emptying the answer cache
	 * on every miss would make every lookup a miss. */
	while (!hot && addr_tail(s) && addr_tail(s) != keep_e &&
	       s->addr_bytes + s->table_bytes > s->budget) {
		addr_evict_one(s);
		s->stats.evictions++;
	}
}

/*
 * Frees what the last idle_resolves resolutions did not use: answers (the LRU list's tail), the
 * DWARF units of binaries in use, and the tables of binaries not resolved through (a binary no
 * process maps any more goes altogether). The strings of answers handed out from binaries in use
 * stay (dwarfsym__forget keeps them); a binary idle that long has no answer a caller still holds.
 * Runs every eighth of idle_resolves, so nothing lives past 9/8 of it unused.
 */
static void sweep_idle(struct symbolizer *s)
{
	uint64_t before, freed = 0;
	struct sym_binary *b, *tmp;

	if (!s->idle_resolves || s->resolves - s->idle_swept < s->idle_resolves / 8 ||
	    s->resolves < s->idle_resolves)
		return;
	s->idle_swept = s->resolves;
	before = s->resolves - s->idle_resolves;
	while (addr_tail(s) && addr_tail(s)->used < before)
		freed += addr_evict_one(s);
	DL_FOREACH_SAFE2 (s->lru, b, tmp, lru_next) {
		size_t bytes = b->bytes;

		if (b->used < before) {
			/* Read again on its next miss, as after an eviction. */
			if (binary_evict(s, b)) {
				freed += bytes;
				s->stats.idle_binaries++;
			}
		} else if (b->dw) {
			freed += dwarfsym__forget(b->dw, before);
			binary_account(s, b);
		}
	}
	s->stats.idle_freed += freed;
}

static void hex(char *out, const uint8_t *id, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * len] = '\0';
}

/* XXH3-128 of the whole file: the identity of a binary without a build-id. */
static int content_hash(int fd, struct bin_key *key)
{
	static char buf[1 << 16];
	XXH3_state_t st;
	XXH128_hash_t h;
	off_t off = 0;
	ssize_t n;

	XXH3_128bits_reset(&st);
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		XXH3_128bits_update(&st, buf, (size_t)n);
		off += n;
	}
	if (n < 0)
		return -errno;
	h = XXH3_128bits_digest(&st);
	key->len = sizeof(h);
	key->hash = 1;
	memcpy(key->id, &h, sizeof(h));
	return 0;
}

/*
 * The binary for an open file: reads its ELF tables and build-id, and returns the cached binary of
 * that identity (closing fd) or a new one (taking fd). NULL with errno; fd is closed either way.
 */
static struct sym_binary *binary_identify(struct symbolizer *s, int fd, const char *path,
					  bool host_root)
{
	struct elfsym *elf = elfsym__read_fd(fd);
	struct bin_key key = { 0 };
	struct sym_binary *b;
	const uint8_t *id;
	size_t len;
	int err;

	if (!elf) {
		err = -errno;
		s->stats.elf_errors++;
		goto fail;
	}
	len = elfsym__build_id(elf, &id);
	if (len) {
		key.len = (uint8_t)len;
		memcpy(key.id, id, len);
	} else {
		err = content_hash(fd, &key);
		if (err)
			goto fail;
	}
	HASH_FIND(hh, s->binaries, &key, sizeof(key), b);
	if (b) {
		if (!b->elf) {
			/* Its tables were evicted: keep the ones just read. */
			b->elf = elf;
			b->elf_failed = false;
			elf = NULL;
			s->stats.tables_read++;
			binary_account(s, b);
		}
		elfsym__free(elf);
		close(fd);
		return b;
	}
	b = calloc(1, sizeof(*b));
	if (!b || !(b->path = strdup(path))) {
		free(b);
		err = -ENOMEM;
		goto fail;
	}
	b->key = key;
	if (!key.hash)
		hex(b->build_id_hex, key.id, key.len);
	b->fd = fd;
	b->host_root = host_root;
	b->elf = elf;
	b->gen = ++s->next_gen;
	b->used = s->resolves; /* not idle before it had the chance to be used */
	HASH_ADD(hh, s->binaries, key, sizeof(b->key), b);
	{
		struct stat st;
		struct sym_binary *other;

		if (!fstat(fd, &st)) {
			b->fkey =
			    (struct file_key){ st.st_ino, major(st.st_dev), minor(st.st_dev) };
			HASH_FIND(hh_file, s->by_file, &b->fkey, sizeof(b->fkey), other);
			if (!other) {
				HASH_ADD(hh_file, s->by_file, fkey, sizeof(b->fkey), b);
				b->in_by_file = true;
			}
		}
	}
	s->nbinaries++;
	s->stats.binaries++;
	s->stats.tables_read++;
	binary_account(s, b);
	lru_touch(s, b);
	enforce_budget(s, b, NULL);
	return b;
fail:
	elfsym__free(elf);
	close(fd);
	errno = -err;
	return NULL;
}

static bool fd_matches(int fd, const struct file_key *key)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_ino == key->inode && major(st.st_dev) == key->dev_major &&
	       minor(st.st_dev) == key->dev_minor;
}

/*
 * Opens the file behind a mapping: through map_files while the process lives (it reaches files
 * deleted or replaced since, and files of other mount namespaces), else by path inside the
 * process's root. A process first seen after it exited has no root to open (its path came from the
 * kernel's exit-time maps): the path is tried from the host's root. Either way the file must have
 * the device and inode of the maps line (the maps snapshot may be older than the mapping now at
 * that address; a path of another mount namespace may name another file on the host).
 */
static int open_mapped(struct symbolizer *s, struct sym_process *p,
		       const struct procmaps_entry *map, const struct file_key *key)
{
	char path[512];
	int fd = -ENOENT;

	if (!s->no_map_files && p->pid > 0) {
		snprintf(path, sizeof(path), "%s/%d/map_files/%llx-%llx", s->proc_root, p->pid,
			 (unsigned long long)map->start, (unsigned long long)map->end);
		fd = safeopen_path(path, SYM_MAX_FILE);
		if (fd >= 0) {
			if (fd_matches(fd, key))
				return fd;
			close(fd);
			s->stats.stale_files++;
			fd = -ESTALE;
		}
	}
	if (map->path[0] != '/' || (p->rootfd < 0 && p->pid <= 0))
		return fd;
	if (p->rootfd >= 0)
		fd = safeopen_in_root(p->rootfd, map->path, SYM_MAX_FILE);
	else
		fd = safeopen_path(map->path, SYM_MAX_FILE);
	if (fd >= 0 && !fd_matches(fd, key)) {
		close(fd);
		s->stats.stale_files++;
		return -ESTALE;
	}
	return fd;
}

static int pin_add(struct sym_process *p, struct sym_file *f)
{
	if (p->npins == p->cpins) {
		size_t ncap = p->cpins ? p->cpins * 2 : 16;
		struct sym_file **np = realloc(p->pins, ncap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		p->pins = np;
		p->cpins = ncap;
	}
	p->pins[p->npins++] = f;
	f->refs++;
	return 0;
}

static bool pinned_by(const struct sym_process *p, const struct sym_file *f)
{
	for (size_t i = 0; i < p->npins; i++)
		if (p->pins[i] == f)
			return true;
	return false;
}

static void file_unref(struct symbolizer *s, struct sym_file *f)
{
	if (--f->refs)
		return;
	HASH_DEL(s->files, f);
	if (f->bin && !--f->bin->refs)
		enforce_budget(s, NULL, NULL);
	free(f);
}

/*
 * Gives a file without a binary its binary when one can be had now: a binary of the cache holding
 * that very file open, else the file opened through p (a process that exited, known by its
 * exit-time maps, has no other way to it than the first).
 */
static void file_identify(struct symbolizer *s, struct sym_process *p,
			  const struct procmaps_entry *map, struct sym_file *f)
{
	int fd;

	HASH_FIND(hh_file, s->by_file, &f->key, sizeof(f->key), f->bin);
	if (!f->bin && map->path[0] == '/') {
		fd = open_mapped(s, p, map, &f->key);
		if (fd >= 0)
			f->bin = binary_identify(s, fd, map->path, p->host_root);
	}
	if (f->bin)
		f->bin->refs++;
}

/*
 * The file of a mapping, pinned by p: found among the pinned files, or opened now. A file that
 * failed is tried again once for each new process that maps it: another process may reach it
 * (its map_files, its root) where the first could not.
 */
static struct sym_file *file_get(struct symbolizer *s, struct sym_process *p,
				 const struct procmaps_entry *map)
{
	struct file_key key = { map->inode, map->dev_major, map->dev_minor };
	struct sym_file *f;

	HASH_FIND(hh, s->files, &key, sizeof(key), f);
	if (f) {
		if (pinned_by(p, f))
			return f;
		if (!f->bin)
			file_identify(s, p, map, f);
		return pin_add(p, f) ? NULL : f;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->key = key;
	file_identify(s, p, map, f);
	/* A file known by device and inode only that no binary holds is not one that failed. */
	if (!f->bin && map->path[0])
		s->stats.binary_errors++;
	/* Failures are pinned too: a file that did not open will not open on the next sample. */
	HASH_ADD(hh, s->files, key, sizeof(f->key), f);
	if (pin_add(p, f)) {
		f->refs = 1;
		file_unref(s, f);
		return NULL;
	}
	return f;
}

/* ---- processes ---- */

static int read_nspid(const char *proc_root, int pid)
{
	char path[300], line[256];
	int nspid = pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/status", proc_root, pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "NSpid:", 6)) {
			/* "NSpid:\t<host pid>\t...\t<innermost pid>": the last field names the map.
			 */
			char *last = strrchr(line, '\t');
			int v = last ? atoi(last + 1) : 0;

			if (v > 0)
				nspid = v;
			break;
		}
	}
	fclose(f);
	return nspid;
}

struct sym_process *symbolizer__process_new(struct symbolizer *s, int pid)
{
	struct sym_process *p = calloc(1, sizeof(*p));
	struct stat a, b;
	char path[300];

	if (!p)
		return NULL;
	p->pid = pid;
	p->pm_fd = -1;
	p->rootfd = -1;
	p->nspid = pid;
	if (pid > 0) {
		snprintf(path, sizeof(path), "%s/%d/root", s->proc_root, pid);
		p->rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		p->nspid = read_nspid(s->proc_root, pid);
	} else {
		p->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	p->host_root = p->rootfd >= 0 && !fstat(p->rootfd, &a) && !stat("/", &b) &&
		       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	return p;
}

int symbolizer__process_pin(struct symbolizer *s, struct sym_process *p,
			    const struct procmaps *maps)
{
	int failed = 0;

	for (size_t i = 0; i < procmaps__count(maps); i++) {
		const struct procmaps_entry *m = procmaps__entry(maps, i);
		struct sym_file *f;

		if (!procmaps_entry_is_file(m))
			continue;
		f = file_get(s, p, m);
		if (!f)
			return -ENOMEM;
		failed += !f->bin;
	}
	return failed;
}

int symbolizer__process_adopt(struct symbolizer *s, struct sym_process *p,
			      const struct procmaps *maps, int *fds)
{
	int failed = 0;

	for (size_t i = 0; i < procmaps__count(maps); i++) {
		const struct procmaps_entry *m = procmaps__entry(maps, i);
		struct file_key key = { m->inode, m->dev_major, m->dev_minor };
		struct sym_file *f;

		if (!procmaps_entry_is_file(m))
			continue;
		HASH_FIND(hh, s->files, &key, sizeof(key), f);
		if ((!f || !f->bin) && fds[i] >= 0 && fd_matches(fds[i], &key)) {
			bool added = !f;

			if (!f && !(f = calloc(1, sizeof(*f))))
				return -ENOMEM;
			f->key = key;
			/* An earlier failure (another process could not open it) takes this fd. */
			f->bin = binary_identify(s, fds[i], m->path, p->host_root);
			fds[i] = -1; /* taken (and closed on failure) */
			if (f->bin)
				f->bin->refs++;
			else
				s->stats.binary_errors++;
			if (added)
				HASH_ADD(hh, s->files, key, sizeof(f->key), f);
		}
		if (f) {
			if (!pinned_by(p, f) && pin_add(p, f))
				return -ENOMEM;
		} else {
			/* No fd: try the usual ways (the root may still be there). */
			f = file_get(s, p, m);
			if (!f)
				return -ENOMEM;
		}
		failed += !f->bin;
	}
	return failed;
}

void symbolizer__process_free(struct symbolizer *s, struct sym_process *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->npins; i++)
		file_unref(s, p->pins[i]);
	free(p->pins);
	perfmap__free(p->pm);
	if (p->pm_fd >= 0)
		close(p->pm_fd);
	if (p->rootfd >= 0)
		close(p->rootfd);
	free(p);
}

/* ---- debug info ---- */

static int try_debug_file(struct symbolizer *s, struct sym_binary *b, int fd, bool separate)
{
	struct elfsym *e = NULL;
	struct dwarfsym *d;

	if (fd < 0)
		return fd;
	if (separate) {
		/* A separate debug file also carries the full .symtab the binary was stripped of;
		 * a debuglink names a file, not a build: make sure it is this build's. */
		const uint8_t *id;

		e = elfsym__read_fd(fd);
		if (!e || (!b->key.hash && (elfsym__build_id(e, &id) != b->key.len ||
					    memcmp(id, b->key.id, b->key.len)))) {
			elfsym__free(e);
			close(fd);
			return -ESTALE;
		}
	}
	d = dwarfsym__open(fd);
	close(fd);
	if (!d) {
		int err = -errno;

		if (err != -ENODATA)
			s->stats.elf_errors++;
		elfsym__free(e);
		return err;
	}
	b->dw = d;
	b->dbg_elf = e;
	b->dw_state = DW_LOADED;
	s->stats.dwarf_binaries++;
	s->stats.tables_read++;
	return 0;
}

/* Finds DWARF as gdb does: in the file, by build-id under the debug directory, by debuglink. */
static void find_debug(struct symbolizer *s, struct sym_binary *b)
{
	char path[PATH_MAX];
	const char *link, *slash;
	int err;

	b->dw_state = DW_NONE;
	err = try_debug_file(s, b, fcntl(b->fd, F_DUPFD_CLOEXEC, 0), false);
	if (!err)
		return;
	if (!b->key.hash && b->key.len >= 2) {
		snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", s->debug_dir,
			 b->build_id_hex, b->build_id_hex + 2);
		if (!try_debug_file(s, b, safeopen_path(path, SYM_MAX_FILE), true))
			return;
	}
	link = b->elf ? elfsym__debuglink(b->elf) : NULL;
	slash = strrchr(b->path, '/');
	if (link && b->host_root && slash) {
		/* gdb's order: beside the binary, in .debug/ beside it, under the debug directory.
		 */
		const char *fmt[] = { "%s%.*s/%s", "%s%.*s/.debug/%s", "%s%.*s/%s" };
		const char *prefix[] = { "", "", s->debug_dir };

		for (int i = 0; i < 3; i++) {
			int n = snprintf(path, sizeof(path), fmt[i], prefix[i],
					 (int)(slash - b->path), b->path, link);

			if (n > 0 && (size_t)n < sizeof(path) &&
			    !try_debug_file(s, b, safeopen_path(path, SYM_MAX_FILE), true))
				return;
		}
	}
	if (s->dbgd && !b->key.hash && !debuginfod_worker__request(s->dbgd, b->build_id_hex))
		b->dw_state = DW_PENDING;
}

/* Picks up a debuginfod answer for a binary waiting on one. */
static void poll_debuginfod(struct symbolizer *s, struct sym_binary *b)
{
	char path[PATH_MAX];
	int r = debuginfod_worker__result(s->dbgd, b->build_id_hex, path, sizeof(path));

	if (r == 0)
		return; /* still fetching */
	b->dw_state = DW_NONE;
	if (r > 0 && !try_debug_file(s, b, safeopen_path(path, SYM_MAX_FILE), true)) {
		s->stats.debuginfod_found++;
		b->gen = ++s->next_gen; /* answers cached without DWARF are stale now */
	}
}

/* ---- resolving ---- */

static void frame_base(struct sym_frame *out, const struct sym_binary *b, const char *module,
		       uint64_t offset)
{
	memset(out, 0, sizeof(*out));
	out->kind = SYM_KIND_USER;
	out->module = module;
	out->offset = offset;
	out->build_id = b && b->build_id_hex[0] ? b->build_id_hex : NULL;
}

/* Resolves a file offset of b into cached frames; NULL with errno ENOMEM. */
static struct addr_entry *resolve_binary(struct symbolizer *s, struct sym_binary *b,
					 uint64_t file_offset)
{
	struct dwarfsym_frame df[SYM_MAX_FRAMES];
	struct addr_key key = { b->gen, file_offset };
	struct addr_entry *e;
	const char *name = NULL;
	uint64_t vaddr, symoff;
	int n = 0;

	lru_touch(s, b);
	b->used = ++s->resolves;
	sweep_idle(s);
	/* A debuginfod answer bumps the generation: cached answers without DWARF are then missed.
	 */
	if (b->dw_state == DW_PENDING) {
		poll_debuginfod(s, b);
		key.gen = b->gen;
	}
	if (s->memo) {
		struct memo_slot *m = &s->memo[memo_index(&key)];

		if (m->key.gen == key.gen && m->key.offset == key.offset) {
			s->stats.cache_hits++;
			e = s->scratch;
			e->key = key;
			e->n = m->n;
			memcpy(e->fr, m->fr, m->n * sizeof(m->fr[0]));
			return e;
		}
	}
	e = addr_table_find(&s->addrs, &key);
	if (e) {
		s->stats.cache_hits++;
		e->used = s->resolves;
		if (s->addr_lru != e) {
			DL_DELETE(s->addr_lru, e);
			DL_PREPEND(s->addr_lru, e);
		}
		return e;
	}
	s->stats.cache_misses++;
	if (!b->elf && !b->elf_failed) {
		b->elf = elfsym__read_fd(b->fd);
		b->elf_failed = !b->elf;
		s->stats.elf_errors += b->elf_failed;
		s->stats.tables_read += !b->elf_failed;
	}
	if (b->elf && !elfsym__offset_to_vaddr(b->elf, file_offset, &vaddr)) {
		if (b->dw_state == DW_UNKNOWN)
			find_debug(s, b);
		if (b->dw)
			n = dwarfsym__lookup(b->dw, vaddr, s->resolves, df, SYM_MAX_FRAMES);
		/* The ELF symbol names what DWARF does not (no unit, or a unit without a name). */
		if (!n || !df[n - 1].name) {
			if (b->dbg_elf)
				name = elfsym__lookup(b->dbg_elf, vaddr, &symoff);
			if (!name)
				name = elfsym__lookup(b->elf, vaddr, &symoff);
		}
		if (!n) {
			df[0] = (struct dwarfsym_frame){ name, NULL, 0, false };
			n = name ? 1 : 0;
		} else if (!df[n - 1].name) {
			df[n - 1].name = name;
		}
	}
	binary_account(s, b);
	key.gen = b->gen; /* a debuginfod answer may have moved it */
	e = s->scratch ? s->scratch : malloc(addr_entry_bytes((uint32_t)n));
	if (!e)
		return NULL;
	e->key = key;
	e->used = s->resolves;
	e->n = (uint32_t)n;
	for (int i = 0; i < n; i++)
		e->fr[i] =
		    (struct cached_frame){ df[i].name, df[i].file, df[i].line, df[i].inlined };
	if (s->scratch) {
		/* Not in the LRU cache: only the tables count, and the answer is valid until the
		 * next call, as the contract says anyway. */
		struct memo_slot *m = &s->memo[memo_index(&key)];

		enforce_budget(s, b, NULL);
		/* enforce_budget spares b's tables: the strings stay valid while gen does. */
		if (n <= MEMO_FRAMES) {
			m->key = key;
			m->n = (uint32_t)n;
			memcpy(m->fr, e->fr, (size_t)n * sizeof(m->fr[0]));
		}
		return e;
	}
	if (addr_table_add(&s->addrs, e)) {
		free(e);
		return NULL;
	}
	DL_PREPEND(s->addr_lru, e);
	s->addr_bytes += addr_entry_bytes(e->n);
	enforce_budget(s, b, e);
	return e;
}

static int emit(const struct addr_entry *e, const struct sym_binary *b, const char *module,
		uint64_t offset, struct sym_frame *out, int max)
{
	int n = 0;

	if (!e || !e->n) {
		frame_base(out, b, module, offset);
		return 1;
	}
	/* When cut, keep the outermost frames: the last one is the real (not inlined) function. */
	for (uint32_t i = e->n > (uint32_t)max ? e->n - (uint32_t)max : 0; i < e->n; i++) {
		frame_base(&out[n], b, module, offset);
		out[n].name = e->fr[i].name;
		out[n].file = e->fr[i].file;
		out[n].line = e->fr[i].line;
		out[n].inlined = e->fr[i].inlined;
		n++;
	}
	return n;
}

/* Parses this process's own vdso image, through a memfd so that it takes the file path. */
static struct elfsym *read_vdso(void)
{
	const void *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	const struct procmaps_entry *e;
	struct procmaps *maps;
	struct elfsym *elf = NULL;
	int fd;

	if (!base)
		return NULL;
	maps = procmaps__read(getpid());
	e = procmaps__find(maps, (uint64_t)(uintptr_t)base);
	fd = memfd_create("ember-vdso", MFD_CLOEXEC);
	if (e && fd >= 0 && write(fd, base, e->end - e->start) == (ssize_t)(e->end - e->start))
		elf = elfsym__read_fd(fd);
	if (fd >= 0)
		close(fd);
	procmaps__free(maps);
	return elf;
}

static int resolve_vdso(struct symbolizer *s, const struct procmaps_entry *map, uint64_t ip,
			struct sym_frame *out)
{
	uint64_t vaddr, off;
	const char *name;

	/* The vdso is the same image in every process on one kernel, and cannot be read back
	 * after a process exits: ours stands in for all. It is mapped whole from its first byte. */
	if (!s->vdso_read) {
		s->vdso = read_vdso();
		s->vdso_read = true;
	}
	frame_base(out, NULL, "[vdso]", ip - map->start);
	if (s->vdso && !elfsym__offset_to_vaddr(s->vdso, ip - map->start, &vaddr)) {
		name = elfsym__lookup(s->vdso, vaddr, &off);
		out->name = name;
	}
	return 1;
}

/* (Re)reads the process's perf map when it is new or has grown. */
static void perfmap_refresh(struct symbolizer *s, struct sym_process *p)
{
	char path[64], *buf;
	struct stat st;
	ssize_t n;
	size_t len = 0;

	if (p->pm_fd < 0) {
		int64_t now = mono_ns();

		if (p->rootfd < 0 || now < p->pm_retry_ns)
			return;
		p->pm_retry_ns = now + PERFMAP_RETRY_NS;
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", p->nspid);
		/* Inside the process's root: a container's /tmp, never the host's by a symlink. */
		p->pm_fd = safeopen_in_root(p->rootfd, path, PERFMAP_MAX_BYTES);
		if (p->pm_fd < 0)
			return;
	}
	if (fstat(p->pm_fd, &st) || st.st_size == p->pm_size ||
	    (uint64_t)st.st_size > PERFMAP_MAX_BYTES)
		return;
	if (!p->pm && !(p->pm = perfmap__new()))
		return;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return;
	while (len < (size_t)st.st_size &&
	       (n = pread(p->pm_fd, buf + len, (size_t)st.st_size - len, (off_t)len)) > 0)
		len += (size_t)n;
	if (!perfmap__parse(p->pm, buf, len)) {
		p->pm_size = st.st_size;
		s->stats.perfmap_reads++;
	}
	free(buf);
}

/* Names ip from the process's perf map; returns 1 with *out filled, or 0. */
static int perfmap_lookup(struct symbolizer *s, struct sym_process *p, uint64_t ip,
			  struct sym_frame *out)
{
	const char *name;
	uint64_t off;

	if (!p)
		return 0;
	name = perfmap__find(p->pm, ip, &off);
	if (!name) {
		perfmap_refresh(s, p);
		name = perfmap__find(p->pm, ip, &off);
	}
	if (!name)
		return 0;
	frame_base(out, NULL, JIT_MODULE, off);
	out->kind = SYM_KIND_JIT;
	out->name = name;
	return 1;
}

static int resolve_jit(struct symbolizer *s, struct sym_process *p,
		       const struct procmaps_entry *map, uint64_t ip, struct sym_frame *out)
{
	if (perfmap_lookup(s, p, ip, out))
		return 1;
	if (map)
		frame_base(out, NULL, map->path[0] ? map->path : "[anon]", ip - map->start);
	else
		frame_base(out, NULL, "[unknown]", ip);
	return 1;
}

int symbolizer__user(struct symbolizer *s, struct sym_process *p, const struct procmaps_entry *map,
		     uint64_t ip, struct sym_frame *out, int max)
{
	uint64_t file_offset;
	struct sym_file *f;

	if (max <= 0)
		return 0;
	if (!map || (!map->inode && map->path[0] != '['))
		return resolve_jit(s, p, map, ip, out);
	if (!strcmp(map->path, "[vdso]"))
		return resolve_vdso(s, map, ip, out);
	file_offset = ip - map->start + map->offset;
	if (!procmaps_entry_is_file(map) || !p) {
		frame_base(out, NULL, map->path, file_offset);
		return 1;
	}
	/* The hot path: a file some process pinned (symbolizer__process_pin pinned every mapping of
	 * p when its maps were read). Only a file not seen yet is opened, and pinned by p. */
	{
		struct file_key key = { map->inode, map->dev_major, map->dev_minor };

		HASH_FIND(hh, s->files, &key, sizeof(key), f);
	}
	if (!f)
		f = file_get(s, p, map);
	if (f && !f->bin && perfmap_lookup(s, p, ip, out))
		return 1; /* JIT code in a file mapping (a memfd, a double-mapped heap) */
	if (!f || !f->bin) {
		/* A file known by device and inode only, and by no binary: say so. */
		frame_base(out, NULL, map->path[0] ? map->path : "[unknown]", file_offset);
		return 1;
	}
	return emit(resolve_binary(s, f->bin, file_offset), f->bin, f->bin->path, file_offset, out,
		    max);
}

struct sym_binary *symbolizer__open_file(struct symbolizer *s, const char *path)
{
	struct procmaps_entry map = { 0 };
	char abs[PATH_MAX];
	struct sym_file *f;
	struct stat st;
	int fd;

	/* Opened like a mapped file, inside our own root: that takes an absolute path. */
	if (!realpath(path, abs))
		return NULL;
	fd = safeopen_path(abs, SYM_MAX_FILE);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	if (fstat(fd, &st)) {
		close(fd);
		return NULL;
	}
	close(fd);
	map.inode = st.st_ino;
	map.dev_major = major(st.st_dev);
	map.dev_minor = minor(st.st_dev);
	map.path = abs;
	map.end = UINT64_MAX;
	f = file_get(s, s->self, &map);
	if (!f || !f->bin) {
		errno = f ? ENOEXEC : ENOMEM;
		return NULL;
	}
	return f->bin;
}

int symbolizer__binary_vaddr(struct symbolizer *s, struct sym_binary *b, uint64_t vaddr,
			     struct sym_frame *out, int max)
{
	uint64_t off = vaddr;

	if (max <= 0)
		return 0;
	/* The cache is keyed by file offset, as for mapped files: translate through PT_LOAD. */
	if (!b->elf && !b->elf_failed) {
		b->elf = elfsym__read_fd(b->fd);
		b->elf_failed = !b->elf;
	}
	if (b->elf && elfsym__vaddr_to_offset(b->elf, vaddr, &off))
		off = vaddr;
	return emit(resolve_binary(s, b, off), b, b->path, off, out, max);
}

int symbolizer__file(struct symbolizer *s, const char *path, uint64_t vaddr, struct sym_frame *out,
		     int max)
{
	struct sym_binary *b = symbolizer__open_file(s, path);

	if (!b)
		return -errno;
	return symbolizer__binary_vaddr(s, b, vaddr, out, max);
}

/* ---- binaries for other modules ---- */

int symbolizer__open_mapped(struct symbolizer *s, int pid, const struct procmaps_entry *map)
{
	struct file_key key = { map->inode, map->dev_major, map->dev_minor };
	struct sym_process tmp = { .pid = pid, .rootfd = -1, .pm_fd = -1 };
	struct sym_binary *b = NULL;
	struct sym_file *f;
	char path[300];
	int fd;

	if (!procmaps_entry_is_file(map))
		return -ENOENT;
	/* A pinned file, or a cached binary's own: its fd is open already, and still valid after
	 * the process exited. */
	HASH_FIND(hh, s->files, &key, sizeof(key), f);
	if (f)
		b = f->bin;
	if (!b)
		HASH_FIND(hh_file, s->by_file, &key, sizeof(key), b);
	if (b) {
		fd = fcntl(b->fd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	if (!map->path[0])
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%d/root", s->proc_root, pid);
	tmp.rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fd = open_mapped(s, &tmp, map, &key);
	if (tmp.rootfd >= 0)
		close(tmp.rootfd);
	return fd;
}

struct sym_binary *symbolizer__binary(struct symbolizer *s, struct sym_process *p,
				      const struct procmaps_entry *map)
{
	struct sym_file *f;

	if (!p || !map || !procmaps_entry_is_file(map)) {
		errno = ENOENT;
		return NULL;
	}
	f = file_get(s, p, map);
	if (!f || !f->bin) {
		errno = f ? ENOEXEC : ENOMEM;
		return NULL;
	}
	return f->bin;
}

int sym_binary__fd(const struct sym_binary *b)
{
	return b->fd;
}

const char *sym_binary__path(const struct sym_binary *b)
{
	return b->path;
}

size_t sym_binary__build_id(const struct sym_binary *b, const uint8_t **id)
{
	*id = b->key.id;
	return b->key.hash ? 0 : b->key.len;
}

int sym_binary__offset_to_vaddr(const struct sym_binary *b, uint64_t file_offset, uint64_t *vaddr)
{
	struct sym_binary *mb = (struct sym_binary *)b;

	/* Tables may have been evicted: read them again (they count toward the budget). */
	if (!mb->elf && !mb->elf_failed) {
		mb->elf = elfsym__read_fd(mb->fd);
		mb->elf_failed = !mb->elf;
	}
	if (!mb->elf)
		return -ENOENT;
	return elfsym__offset_to_vaddr(mb->elf, file_offset, vaddr);
}

void sym_binary__set_priv(struct sym_binary *b, void *priv, void (*release)(void *priv))
{
	if (b->release)
		b->release(b->priv);
	b->priv = priv;
	b->release = release;
}

void *sym_binary__priv(const struct sym_binary *b)
{
	return b->priv;
}

/* ---- lifecycle ---- */

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	struct symbolizer_opts none = { 0 };

	if (!s)
		return NULL;
	if (!opts)
		opts = &none;
	snprintf(s->proc_root, sizeof(s->proc_root), "%s",
		 opts->proc_root ? opts->proc_root : "/proc");
	snprintf(s->kallsyms_path, sizeof(s->kallsyms_path), "%s",
		 opts->kallsyms_path ? opts->kallsyms_path : "/proc/kallsyms");
	snprintf(s->modules_path, sizeof(s->modules_path), "%s",
		 opts->modules_path ? opts->modules_path : "/proc/modules");
	snprintf(s->debug_dir, sizeof(s->debug_dir), "%s",
		 opts->debug_dir ? opts->debug_dir : "/usr/lib/debug");
	s->budget = opts->cache_bytes ? opts->cache_bytes : SYMBOLIZER_DEFAULT_CACHE_BYTES;
	s->no_map_files = opts->no_map_files;
	s->idle_resolves = opts->one_pass	 ? 0
			   : opts->idle_resolves ? opts->idle_resolves
						 : SYM_IDLE_RESOLVES;
	if (opts->one_pass) {
		s->scratch = malloc(addr_entry_bytes(SYM_MAX_FRAMES));
		s->memo = calloc(MEMO_SLOTS, sizeof(*s->memo));
		if (!s->scratch || !s->memo) {
			free(s->scratch);
			free(s->memo);
			free(s);
			return NULL;
		}
	}
	s->self = symbolizer__process_new(s, 0);
	if (!s->self) {
		free(s->scratch);
		free(s->memo);
		free(s);
		return NULL;
	}
	if (opts->debuginfod)
		s->dbgd = debuginfod_worker__new(); /* NULL (no URLs, no library): stays off */
	s->kernel_sig = kernel_signature(s);
	kernel_reload(s);
	s->kernel_reloaded = false;
	s->kernel_reload_ns = 0; /* the first change may reload at once */
	return s;
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	*out = s->stats;
	out->cache_bytes = s->addr_bytes + s->table_bytes;
}

void symbolizer__free(struct symbolizer *s)
{
	struct sym_binary *b, *tb;
	struct addr_entry *e, *te;

	if (!s)
		return;
	debuginfod_worker__free(s->dbgd);
	symbolizer__process_free(s, s->self);
	DL_FOREACH_SAFE (s->addr_lru, e, te)
		free(e);
	free(s->addrs.v);
	free(s->scratch);
	free(s->memo);
	HASH_ITER (hh, s->binaries, b, tb)
		binary_free(s, b);
	/* Files still pinned by processes nobody freed. */
	{
		struct sym_file *f, *tf;

		HASH_ITER (hh, s->files, f, tf) {
			HASH_DEL(s->files, f);
			free(f);
		}
	}
	kmodules_clear(s);
	elfsym__free(s->vdso);
	kallsyms__free(s->ksyms);
	free(s);
}

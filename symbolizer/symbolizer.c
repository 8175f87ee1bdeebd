// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Symbolizer facade: kallsyms for the kernel, a cache of parsed ELF files keyed by the
 * (device, inode) that /proc/PID/maps gives, and the vdso read from our own address space (it is
 * the same image in every process on one kernel, and cannot be read back after a process exits).
 */
#include "symbolizer/symbolizer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <uthash.h>

#include "symbolizer/elfsym.h"
#include "symbolizer/kallsyms.h"

#define KERNEL_MODULE "[kernel.kallsyms]"

struct binary_key {
	uint64_t inode;
	uint32_t dev_major, dev_minor;
};

struct binary {
	struct binary_key key;
	char *path;	    /* as first seen in a maps line */
	struct elfsym *elf; /* NULL when the file could not be read */
	UT_hash_handle hh;
};

/* Kernel module names are interned here as "[name]". */
struct kmodule {
	const char *name; /* key: kallsyms' string */
	char *bracketed;
	UT_hash_handle hh;
};

struct symbolizer {
	struct kallsyms *ksyms;
	struct binary *binaries;
	struct binary *vdso;
	struct kmodule *kmodules;
	char proc_root[256];
	struct symbolizer_stats stats;
};

static int open_regular(const char *path, int flags)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO planted at a mapped path must not block the collector. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | flags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int file_matches(int fd, const struct binary_key *key)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_ino == key->inode && major(st.st_dev) == key->dev_major &&
	       minor(st.st_dev) == key->dev_minor;
}

/*
 * Opens the file behind a mapping: through map_files while the process lives (it reaches files
 * that were deleted or live in another mount namespace), else by path, accepted only when the
 * device and inode still match the maps line.
 */
static int open_mapped(struct symbolizer *s, int pid, const struct procmaps_entry *map,
		       const struct binary_key *key)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%d/map_files/%llx-%llx", s->proc_root, pid,
		 (unsigned long long)map->start, (unsigned long long)map->end);
	fd = open_regular(path, 0);
	if (fd >= 0)
		return fd;
	if (map->path[0] != '/')
		return -ENOENT;
	fd = open_regular(map->path, O_NOFOLLOW);
	if (fd >= 0 && !file_matches(fd, key)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
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

struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	const char *kpath = opts && opts->kallsyms_path ? opts->kallsyms_path : "/proc/kallsyms";

	if (!s)
		return NULL;
	snprintf(s->proc_root, sizeof(s->proc_root), "%s",
		 opts && opts->proc_root ? opts->proc_root : "/proc");
	s->ksyms = kallsyms__load(kpath);
	s->stats.kernel_symbols = kallsyms__count(s->ksyms);
	return s;
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

	out->kind = SYM_KIND_KERNEL;
	if (!k) {
		out->name = NULL;
		out->module = KERNEL_MODULE;
		out->offset = ip;
		return;
	}
	out->name = k->name;
	out->module = k->module ? kmodule_name(s, k->module) : KERNEL_MODULE;
	out->offset = ip - k->addr;
}

static struct binary *binary_get(struct symbolizer *s, int pid, const struct procmaps_entry *map)
{
	struct binary_key key = { 0 };
	struct binary *b;
	int fd;

	key.inode = map->inode;
	key.dev_major = map->dev_major;
	key.dev_minor = map->dev_minor;
	HASH_FIND(hh, s->binaries, &key, sizeof(key), b);
	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->key = key;
	b->path = strdup(map->path);
	if (!b->path) {
		free(b);
		return NULL;
	}
	fd = open_mapped(s, pid, map, &key);
	if (fd >= 0) {
		b->elf = elfsym__read_fd(fd);
		close(fd);
	}
	if (b->elf)
		s->stats.binaries++;
	else
		s->stats.binary_errors++;
	/* Failures are cached too: a file that did not parse will not parse the next time. */
	HASH_ADD(hh, s->binaries, key, sizeof(key), b);
	return b;
}

static void resolve_in(const struct elfsym *elf, uint64_t file_offset, struct sym_frame *out)
{
	uint64_t vaddr, off;
	const char *name;

	if (!elf || elfsym__offset_to_vaddr(elf, file_offset, &vaddr))
		return;
	name = elfsym__lookup(elf, vaddr, &off);
	if (name) {
		out->name = name;
		out->offset = off;
	}
}

void symbolizer__user(struct symbolizer *s, int pid, const struct procmaps_entry *map, uint64_t ip,
		      struct sym_frame *out)
{
	uint64_t file_offset = ip - map->start + map->offset;
	struct binary *b;

	out->kind = SYM_KIND_USER;
	out->name = NULL;
	out->module = map->path[0] ? map->path : "[anon]";
	out->offset = file_offset;

	if (!strcmp(map->path, "[vdso]")) {
		if (!s->vdso) {
			s->vdso = calloc(1, sizeof(*s->vdso));
			if (!s->vdso)
				return;
			s->vdso->elf = read_vdso();
		}
		out->module = "[vdso]";
		/* The vdso is mapped whole from its first byte: the file offset is ip - start. */
		resolve_in(s->vdso->elf, ip - map->start, out);
		return;
	}
	if (!map->inode || map->path[0] != '/')
		return; /* anonymous memory, JIT code, [vsyscall]... */
	b = binary_get(s, pid, map);
	if (!b)
		return;
	out->module = b->path;
	resolve_in(b->elf, file_offset, out);
}

int symbolizer__open_mapped(struct symbolizer *s, int pid, const struct procmaps_entry *map)
{
	struct binary_key key = { .inode = map->inode,
				  .dev_major = map->dev_major,
				  .dev_minor = map->dev_minor };

	return open_mapped(s, pid, map, &key);
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out)
{
	*out = s->stats;
}

void symbolizer__free(struct symbolizer *s)
{
	struct binary *b, *tb;
	struct kmodule *m, *tm;

	if (!s)
		return;
	HASH_ITER (hh, s->binaries, b, tb) {
		HASH_DEL(s->binaries, b);
		elfsym__free(b->elf);
		free(b->path);
		free(b);
	}
	HASH_ITER (hh, s->kmodules, m, tm) {
		HASH_DEL(s->kmodules, m);
		free(m->bracketed);
		free(m);
	}
	if (s->vdso)
		elfsym__free(s->vdso->elf);
	free(s->vdso);
	kallsyms__free(s->ksyms);
	free(s);
}

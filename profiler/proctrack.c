// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Process tracker: a hash of (pid, start time) to maps snapshots and the symbolizer's processes. */
#include "profiler/proctrack.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

struct proc_entry {
	struct {
		uint64_t start_ns;
		uint32_t pid;
		uint32_t pad;
	} key;
	struct proc p;
	UT_hash_handle hh;
};

struct proctrack {
	struct proc_entry *procs;
	struct symbolizer *sym;
	struct prefetch *pf;
	uint64_t record_ns; /* CLOCK_BOOTTIME of the record being handled */
	int64_t now_ns;	    /* CLOCK_MONOTONIC of the last record handled */
};

void proctrack__set_record_time(struct proctrack *pt, uint64_t boot_ns)
{
	pt->record_ns = boot_ns;
}

struct proctrack *proctrack__new(struct symbolizer *sym, struct prefetch *pf)
{
	struct proctrack *pt = calloc(1, sizeof(struct proctrack));

	if (pt) {
		pt->sym = sym;
		pt->pf = pf;
	}
	return pt;
}

static void read_maps(struct proctrack *pt, struct proc *p, int64_t now_ns)
{
	struct procmaps *m = procmaps__read((int)p->pid), *named;
	struct prefetched *snap;

	p->maps_read_ns = now_ns;
	/* Empty maps: the process is exiting or a zombie (its address space is gone, the pid not
	 * yet). Not a snapshot to keep: it would replace everything we knew with nothing. */
	if (m && !procmaps__count(m)) {
		procmaps__free(m);
		m = NULL;
	}
	/* Gone: its exit-time maps were sent before its address space went away, so they wait in
	 * the notices ring if the prefetch thread has not handled them yet. */
	if (!m)
		prefetch__sync(pt->pf);
	/* A snapshot the prefetch thread took since our last maps; unused when we can read live. */
	snap = prefetch__take(pt->pf, p->pid, p->start_ns, p->maps_taken_ns, pt->record_ns);
	if (m) {
		prefetched__free(snap);
		procmaps__free(p->maps);
		p->maps = m;
		p->maps_taken_ns = now_ns;
		/* Pin the files right away: the process may exit, or unlink them, before its
		 * samples are symbolized. A file that cannot be opened resolves as module+offset.
		 */
		if (p->sym)
			symbolizer__process_pin(pt->sym, p->sym, m);
		return;
	}
	if (!snap)
		return; /* exited, or unreadable: keep what we had */
	/* Exit-time maps know some files by device and inode only: the maps we had name them. */
	if (snap->final && (named = procmaps__named(snap->maps, p->maps))) {
		procmaps__free(snap->maps);
		snap->maps = named;
	}
	procmaps__free(p->maps);
	p->maps = snap->maps;
	p->maps_taken_ns = snap->taken_ns;
	if (p->sym)
		symbolizer__process_adopt(pt->sym, p->sym, snap->maps, snap->fds);
	snap->maps = NULL; /* kept; its fds not adopted are closed */
	for (size_t i = 0; i < procmaps__count(p->maps); i++)
		if (snap->fds[i] >= 0)
			close(snap->fds[i]);
	free(snap->fds);
	free(snap);
}

static char *read_exe(uint32_t pid)
{
	char path[64], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	return strdup(target);
}

struct proc *proctrack__get(struct proctrack *pt, uint32_t pid, uint64_t start_ns, int64_t now_ns,
			    bool *is_new)
{
	struct proc_entry *e, key;

	memset(&key.key, 0, sizeof(key.key));
	key.key.pid = pid;
	key.key.start_ns = start_ns;
	pt->now_ns = now_ns;
	HASH_FIND(hh, pt->procs, &key.key, sizeof(key.key), e);
	if (e) {
		*is_new = false;
		e->p.last_seen_ns = now_ns;
		return &e->p;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = key.key;
	e->p.pid = pid;
	e->p.start_ns = start_ns;
	e->p.last_seen_ns = now_ns;
	if (pid) {
		e->p.sym = symbolizer__process_new(pt->sym, (int)pid);
		if (!e->p.sym) {
			free(e);
			return NULL;
		}
		read_maps(pt, &e->p, now_ns);
		e->p.exe = read_exe(pid);
	}
	HASH_ADD(hh, pt->procs, key, sizeof(e->key), e);
	*is_new = true;
	return &e->p;
}

const struct procmaps_entry *proctrack__find_map(struct proctrack *pt, struct proc *p, uint64_t ip,
						 int64_t now_ns)
{
	const struct procmaps_entry *m = procmaps__find(p->maps, ip);

	if (m || !p->pid || !p->sym ||
	    (!p->reread_on_miss && now_ns - p->maps_read_ns < PROCTRACK_REREAD_NS))
		return m;
	p->reread_on_miss = false;
	read_maps(pt, p, now_ns);
	return procmaps__find(p->maps, ip);
}

struct proc *proctrack__exec(struct proctrack *pt, uint32_t pid, uint64_t start_ns, int64_t now_ns,
			     bool *is_new)
{
	struct proc *p = proctrack__get(pt, pid, start_ns, now_ns, is_new);
	struct sym_process *sp;

	if (!p || !pid)
		return p;
	/* Read at exec: the dynamic loader has not mapped the libraries yet. */
	p->reread_on_miss = true;
	if (*is_new)
		return p;
	p->maps_taken_ns = 0; /* any snapshot of the new image is newer than the old maps */
	/* A new image, perhaps a new root (chroot, then exec): a new view, new pins. */
	sp = symbolizer__process_new(pt->sym, (int)pid);
	if (!sp)
		return NULL;
	symbolizer__process_free(pt->sym, p->sym);
	p->sym = sp;
	procmaps__free(p->maps);
	p->maps = NULL;
	read_maps(pt, p, now_ns);
	free(p->exe);
	p->exe = read_exe(pid);
	p->reread_on_miss = true;
	p->image++;
	return p;
}

static void proc_entry_free(struct proctrack *pt, struct proc_entry *e)
{
	symbolizer__process_free(pt->sym, e->p.sym);
	procmaps__free(e->p.maps);
	free(e->p.exe);
	free(e);
}

void proctrack__exit(struct proctrack *pt, uint32_t pid, uint64_t start_ns, int64_t now_ns)
{
	struct proc_entry *e, key;

	memset(&key.key, 0, sizeof(key.key));
	key.key.pid = pid;
	key.key.start_ns = start_ns;
	HASH_FIND(hh, pt->procs, &key.key, sizeof(key.key), e);
	pt->now_ns = now_ns;
	if (e)
		e->p.exit_ns = now_ns ? now_ns : 1;
}

unsigned int proctrack__expire(struct proctrack *pt, int64_t now_ns, int64_t cutoff_ns)
{
	struct proc_entry *e, *tmp;
	unsigned int n = 0;

	/* Time goes on when no record comes: a quiet host must still release the pins of the
	 * processes that exited before it fell quiet. */
	if (now_ns > pt->now_ns)
		pt->now_ns = now_ns;
	HASH_ITER (hh, pt->procs, e, tmp) {
		bool idle = e->p.last_seen_ns < cutoff_ns;

		if (idle || (e->p.exit_ns && e->p.exit_ns < pt->now_ns - PROCTRACK_EXIT_GRACE_NS)) {
			HASH_DEL(pt->procs, e);
			proc_entry_free(pt, e);
			n += idle;
		}
	}
	return n;
}

unsigned int proctrack__count(const struct proctrack *pt)
{
	return HASH_COUNT(pt->procs);
}

void proctrack__free(struct proctrack *pt)
{
	struct proc_entry *e, *tmp;

	if (!pt)
		return;
	HASH_ITER (hh, pt->procs, e, tmp) {
		HASH_DEL(pt->procs, e);
		proc_entry_free(pt, e);
	}
	free(pt);
}

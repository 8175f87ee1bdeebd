// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Process tracker: a hash of (pid, start time) to maps snapshots. */
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
};

struct proctrack *proctrack__new(void)
{
	return calloc(1, sizeof(struct proctrack));
}

static void read_maps(struct proc *p, int64_t now_ns)
{
	struct procmaps *m = procmaps__read((int)p->pid);

	p->maps_read_ns = now_ns;
	if (!m)
		return; /* exited, or unreadable: keep what we had */
	procmaps__free(p->maps);
	p->maps = m;
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
		read_maps(&e->p, now_ns);
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

	if (m || !p->pid || now_ns - p->maps_read_ns < PROCTRACK_REREAD_NS)
		return m;
	read_maps(p, now_ns);
	return procmaps__find(p->maps, ip);
}

static void proc_entry_free(struct proc_entry *e)
{
	procmaps__free(e->p.maps);
	free(e->p.exe);
	free(e);
}

unsigned int proctrack__expire(struct proctrack *pt, int64_t cutoff_ns)
{
	struct proc_entry *e, *tmp;
	unsigned int n = 0;

	HASH_ITER (hh, pt->procs, e, tmp) {
		if (e->p.last_seen_ns < cutoff_ns) {
			HASH_DEL(pt->procs, e);
			proc_entry_free(e);
			n++;
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
		proc_entry_free(e);
	}
	free(pt);
}

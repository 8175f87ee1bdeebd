// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The prefetch thread polls its own ring buffer (libbpf ring buffers are per consumer) and keeps
 * at most PREFETCH_MAX snapshots in a hash under a mutex; the collector's thread only takes the
 * mutex to take a snapshot. Identity: the start time read from /proc/PID/stat must match the
 * event's, so a pid reused in between never gives one process another's maps.
 *
 * Open files are shared by the waiting snapshots (one fd per device and inode, counted), and at
 * most PREFETCH_MAX_FILES are open at once: at hundreds of new processes a second, one fd per
 * mapping of each snapshot came to thousands, all on the same few libraries. A snapshot taken
 * gets its own copies (dup) of the fds; past the limit a new file gets none, and is opened later
 * the usual ways (map_files, or its path in the process's root) if the process is still there.
 */
#include "profiler/prefetch.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

#include <linux/types.h> /* the ABI header includes nothing: its types come first */

#include "bpf/ember_abi.h"

#define PREFETCH_MAX 4096
#define PREFETCH_MAX_AGE_NS (60ll * 1000000000ll)

/* A file open for the waiting snapshots, shared by those that map it. */
struct pfile {
	struct {
		uint64_t inode;
		uint32_t dev_major, dev_minor;
	} key;
	int fd;
	unsigned int refs;
	UT_hash_handle hh;
};

struct entry {
	struct {
		uint64_t start_ns;
		uint32_t pid, pad;
	} key;
	struct prefetched *snap; /* its fds are all -1 while it waits: the files hold them */
	struct pfile **files;	 /* per map entry, NULL when none; one reference each */
	UT_hash_handle hh;
};

struct prefetch {
	pthread_t thread;
	pthread_mutex_t lock;
	struct ring_buffer *rb;
	bool stop; /* __atomic: set by prefetch__free */
	struct entry *entries;
	struct pfile *files; /* under lock; only the thread adds */
	uint64_t taken, missed, unopened;
	unsigned int max_files; /* PREFETCH_MAX_FILES, or EMBER_PREFETCH_MAX_FILES (tests) */
	long ticks;		/* sysconf(_SC_CLK_TCK) */
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

void prefetched__free(struct prefetched *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->fds && i < procmaps__count(p->maps); i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	free(p->fds);
	procmaps__free(p->maps);
	free(p);
}

/* Whether /proc/PID/stat's start time (clock ticks since boot) is the event's (boot time ns). */
static bool same_process(struct prefetch *pf, uint32_t pid, uint64_t start_ns)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The command may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return false;
	/* Field 22 (starttime) is the 20th after the comm. */
	for (int i = 0; i < 20 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
		return false;
	/* One tick of tolerance: the kernel rounds the boot-time nanoseconds down to ticks. */
	return ticks * (1000000000ull / (uint64_t)pf->ticks) <= start_ns &&
	       start_ns - ticks * (1000000000ull / (uint64_t)pf->ticks) <
		   2 * (1000000000ull / (uint64_t)pf->ticks);
}

/* Drops one reference to a file; closes it with the last. Called with the lock held. */
static void pfile_unref(struct prefetch *pf, struct pfile *f)
{
	if (!f || --f->refs)
		return;
	HASH_DEL(pf->files, f);
	close(f->fd);
	free(f);
}

/* Drops a waiting snapshot and its file references. Called with the lock held. */
static void entry_free(struct prefetch *pf, struct entry *en)
{
	if (!en)
		return;
	for (size_t i = 0; en->files && i < procmaps__count(en->snap->maps); i++)
		pfile_unref(pf, en->files[i]);
	free(en->files);
	prefetched__free(en->snap);
	free(en);
}

/* The file of mapping `e` of `pid`, shared with the other snapshots: a new reference, or NULL
 * (not a regular file, gone, or PREFETCH_MAX_FILES open already). Runs on the thread only. */
static struct pfile *pfile_get(struct prefetch *pf, uint32_t pid, const struct procmaps_entry *e)
{
	struct pfile *f, key;
	char path[128];
	struct stat st;
	bool full;
	int fd;

	memset(&key.key, 0, sizeof(key.key));
	key.key.inode = e->inode;
	key.key.dev_major = e->dev_major;
	key.key.dev_minor = e->dev_minor;
	pthread_mutex_lock(&pf->lock);
	HASH_FIND(hh, pf->files, &key.key, sizeof(key.key), f);
	if (f)
		f->refs++;
	full = !f && HASH_COUNT(pf->files) >= pf->max_files;
	if (full)
		pf->unopened++;
	pthread_mutex_unlock(&pf->lock);
	if (f || full)
		return f;
	snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", pid,
		 (unsigned long long)e->start, (unsigned long long)e->end);
	/* The checks of symbolizer/safeopen.c: non-blocking, regular files, same inode. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_ino != e->inode ||
	    major(st.st_dev) != e->dev_major || minor(st.st_dev) != e->dev_minor ||
	    !(f = calloc(1, sizeof(*f)))) {
		close(fd);
		return NULL;
	}
	f->key = key.key;
	f->fd = fd;
	f->refs = 1;
	/* Only this thread adds files: nobody added this one meanwhile. */
	pthread_mutex_lock(&pf->lock);
	HASH_ADD(hh, pf->files, key, sizeof(f->key), f);
	pthread_mutex_unlock(&pf->lock);
	return f;
}

/* A snapshot of pid's maps (fds all -1) and, in *files, a reference to each mapped file. */
static struct prefetched *snapshot(struct prefetch *pf, uint32_t pid, struct pfile ***files)
{
	struct prefetched *p = calloc(1, sizeof(*p));
	size_t n;

	*files = NULL;
	if (!p)
		return NULL;
	p->taken_ns = mono_ns();
	p->maps = procmaps__read((int)pid);
	n = procmaps__count(p->maps);
	p->fds = n ? malloc(n * sizeof(*p->fds)) : NULL;
	*files = n ? calloc(n, sizeof(**files)) : NULL;
	if (!p->maps || (n && (!p->fds || !*files))) {
		free(*files);
		*files = NULL;
		prefetched__free(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct procmaps_entry *e = procmaps__entry(p->maps, i);

		p->fds[i] = -1;
		if (!e->inode || e->path[0] != '/')
			continue;
		/* One reference per file: its other mappings share it through the process
		 * tracker. */
		for (size_t j = 0; j < i; j++) {
			const struct procmaps_entry *o = procmaps__entry(p->maps, j);

			if (o->inode == e->inode && o->dev_major == e->dev_major &&
			    o->dev_minor == e->dev_minor)
				goto next;
		}
		(*files)[i] = pfile_get(pf, pid, e);
	next:;
	}
	return p;
}

static int on_notice(void *ctx, void *data, size_t size)
{
	struct prefetch *pf = ctx;
	const struct ember_proc_event *e = data;
	struct entry *en, *old = NULL, key;
	struct prefetched *snap;
	struct pfile **files;

	if (size < sizeof(*e) || !e->pid)
		return 0;
	snap = snapshot(pf, e->pid, &files);
	en = snap ? calloc(1, sizeof(*en)) : NULL;
	if (en) {
		en->snap = snap;
		en->files = files;
	}
	/* Read after the maps: if the process is still the one of the event, the maps were too. */
	if (!en || !same_process(pf, e->pid, e->proc_start_ns)) {
		pthread_mutex_lock(&pf->lock);
		if (en) {
			entry_free(pf, en);
		} else {
			for (size_t i = 0; files && i < procmaps__count(snap->maps); i++)
				pfile_unref(pf, files[i]);
			free(files);
			prefetched__free(snap);
		}
		pf->missed++;
		pthread_mutex_unlock(&pf->lock);
		return 0;
	}
	memset(&key.key, 0, sizeof(key.key));
	key.key.pid = e->pid;
	key.key.start_ns = e->proc_start_ns;
	en->key = key.key;
	pthread_mutex_lock(&pf->lock);
	pf->taken++;
	HASH_FIND(hh, pf->entries, &key.key, sizeof(key.key), old);
	if (old) {
		HASH_DEL(pf->entries, old);
		entry_free(pf, old);
	}
	if (HASH_COUNT(pf->entries) < PREFETCH_MAX)
		HASH_ADD(hh, pf->entries, key, sizeof(en->key), en);
	else
		entry_free(pf, en); /* the table is full */
	pthread_mutex_unlock(&pf->lock);
	return 0;
}

/* Drops snapshots nobody took for a minute (processes that were never sampled). */
static void expire(struct prefetch *pf, int64_t now)
{
	struct entry *en, *tmp;

	pthread_mutex_lock(&pf->lock);
	HASH_ITER (hh, pf->entries, en, tmp) {
		if (now - en->snap->taken_ns > PREFETCH_MAX_AGE_NS) {
			HASH_DEL(pf->entries, en);
			entry_free(pf, en);
		}
	}
	pthread_mutex_unlock(&pf->lock);
}

static void *thread_main(void *arg)
{
	struct prefetch *pf = arg;
	int64_t last_expire = mono_ns();

	while (!__atomic_load_n(&pf->stop, __ATOMIC_ACQUIRE)) {
		/* A short timeout: stopping takes at most this long. */
		ring_buffer__poll(pf->rb, 100);
		if (mono_ns() - last_expire > 1000000000ll) {
			last_expire = mono_ns();
			expire(pf, last_expire);
		}
	}
	return NULL;
}

struct prefetch *prefetch__new(int notices_fd)
{
	struct prefetch *pf = calloc(1, sizeof(*pf));
	int err;

	if (!pf)
		return NULL;
	/* Tests lower the limit to reach it with a few processes. */
	pf->max_files = getenv("EMBER_PREFETCH_MAX_FILES")
			    ? (unsigned int)strtoul(getenv("EMBER_PREFETCH_MAX_FILES"), NULL, 10)
			    : PREFETCH_MAX_FILES;
	if (!pf->max_files || pf->max_files > PREFETCH_MAX_FILES)
		pf->max_files = PREFETCH_MAX_FILES;
	pf->ticks = sysconf(_SC_CLK_TCK);
	if (pf->ticks <= 0)
		pf->ticks = 100;
	pthread_mutex_init(&pf->lock, NULL);
	pf->rb = ring_buffer__new(notices_fd, on_notice, pf, NULL);
	if (!pf->rb) {
		err = -errno;
		goto fail;
	}
	err = -pthread_create(&pf->thread, NULL, thread_main, pf);
	if (err)
		goto fail;
	return pf;
fail:
	ring_buffer__free(pf->rb);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
	errno = -err;
	return NULL;
}

struct prefetched *prefetch__take(struct prefetch *pf, uint32_t pid, uint64_t start_ns,
				  int64_t after_ns)
{
	struct prefetched *snap = NULL;
	struct entry *en, key;

	if (!pf)
		return NULL;
	memset(&key.key, 0, sizeof(key.key));
	key.key.pid = pid;
	key.key.start_ns = start_ns;
	pthread_mutex_lock(&pf->lock);
	HASH_FIND(hh, pf->entries, &key.key, sizeof(key.key), en);
	if (en) {
		HASH_DEL(pf->entries, en);
		if (en->snap->taken_ns > after_ns) {
			/* The caller's own fds: the shared ones stay with the other snapshots. */
			snap = en->snap;
			en->snap = NULL;
			for (size_t i = 0; en->files && i < procmaps__count(snap->maps); i++) {
				if (en->files[i])
					snap->fds[i] = fcntl(en->files[i]->fd, F_DUPFD_CLOEXEC, 0);
				pfile_unref(pf, en->files[i]);
			}
			free(en->files);
			free(en);
		} else {
			entry_free(pf, en);
		}
	}
	pthread_mutex_unlock(&pf->lock);
	return snap;
}

void prefetch__stats(struct prefetch *pf, uint64_t *taken, uint64_t *missed)
{
	pthread_mutex_lock(&pf->lock);
	*taken = pf->taken;
	*missed = pf->missed;
	pthread_mutex_unlock(&pf->lock);
}

unsigned int prefetch__open_files(struct prefetch *pf, uint64_t *unopened, unsigned int *max)
{
	unsigned int n;

	pthread_mutex_lock(&pf->lock);
	n = HASH_COUNT(pf->files);
	if (unopened)
		*unopened = pf->unopened;
	if (max)
		*max = pf->max_files;
	pthread_mutex_unlock(&pf->lock);
	return n;
}

void prefetch__free(struct prefetch *pf)
{
	struct entry *en, *tmp;

	if (!pf)
		return;
	__atomic_store_n(&pf->stop, true, __ATOMIC_RELEASE);
	pthread_join(pf->thread, NULL);
	ring_buffer__free(pf->rb);
	HASH_ITER (hh, pf->entries, en, tmp) {
		HASH_DEL(pf->entries, en);
		entry_free(pf, en);
	}
	pthread_mutex_destroy(&pf->lock);
	free(pf);
}

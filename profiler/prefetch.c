// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The prefetch thread polls its own ring buffer (libbpf ring buffers are per consumer) and keeps
 * at most PREFETCH_MAX snapshots in a hash under a mutex; the collector's thread only takes the
 * mutex to take a snapshot, and the consume lock to drain the ring itself (prefetch__sync).
 * Identity: the start time read from /proc/PID/stat must match the event's, so a pid reused in
 * between never gives one process another's maps; exit-time maps carry the identity themselves.
 *
 * The fds the waiting snapshots hold are counted, and no more than PREFETCH_MAX_FILES are opened:
 * at hundreds of new processes a second, one fd per mapped file per snapshot came to thousands.
 * Past the limit a snapshot keeps its maps without fds; the process tracker then opens the files
 * the usual ways (map_files, or the path in the process's root) while the process lives.
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
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

#include <linux/types.h> /* the ABI header includes nothing: its types come first */

#include "bpf/ember_abi.h"

#define PREFETCH_MAX 4096
#define PREFETCH_MAX_AGE_NS (60ll * 1000000000ll)

struct entry {
	struct {
		uint64_t start_ns;
		uint32_t pid, pad;
	} key;
	struct prefetched *snap;
	UT_hash_handle hh;
};

struct prefetch {
	pthread_t thread;
	pthread_mutex_t lock;	 /* entries and counters */
	pthread_mutex_t consume; /* the ring buffer: the thread and prefetch__sync */
	struct ring_buffer *rb;
	bool stop; /* __atomic: set by prefetch__free */
	struct entry *entries;
	uint64_t taken, missed, exit_maps;
	unsigned int nfds;	/* __atomic: fds of the snapshots in the table or being made */
	uint64_t unopened;	/* __atomic: files left unopened at the limit */
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

/* The fds a snapshot holds. */
static unsigned int count_fds(const struct prefetched *p)
{
	unsigned int n = 0;

	for (size_t i = 0; p && p->fds && i < procmaps__count(p->maps); i++)
		n += p->fds[i] >= 0;
	return n;
}

/* A snapshot leaves the prefetch: handed to the caller (`keep_it`) or freed. */
static void drop(struct prefetch *pf, struct prefetched *p, bool keep_it)
{
	__atomic_sub_fetch(&pf->nfds, count_fds(p), __ATOMIC_RELAXED);
	if (!keep_it)
		prefetched__free(p);
}

static struct prefetched *snapshot(struct prefetch *pf, uint32_t pid)
{
	struct prefetched *p = calloc(1, sizeof(*p));
	size_t n;

	if (!p)
		return NULL;
	p->taken_ns = mono_ns();
	p->maps = procmaps__read((int)pid);
	n = procmaps__count(p->maps);
	p->fds = n ? malloc(n * sizeof(*p->fds)) : NULL;
	if (!p->maps || (n && !p->fds)) {
		prefetched__free(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct procmaps_entry *e = procmaps__entry(p->maps, i);
		char path[128];
		struct stat st;
		int fd;

		p->fds[i] = -1;
		if (!e->inode || e->path[0] != '/')
			continue;
		/* One fd per file: its other mappings share it through the process tracker. */
		for (size_t j = 0; j < i; j++) {
			const struct procmaps_entry *o = procmaps__entry(p->maps, j);

			if (o->inode == e->inode && o->dev_major == e->dev_major &&
			    o->dev_minor == e->dev_minor)
				goto next;
		}
		if (__atomic_load_n(&pf->nfds, __ATOMIC_RELAXED) >= pf->max_files) {
			__atomic_add_fetch(&pf->unopened, 1, __ATOMIC_RELAXED);
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", pid,
			 (unsigned long long)e->start, (unsigned long long)e->end);
		/* The checks of symbolizer/safeopen.c: non-blocking, regular files, same inode. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_ino != e->inode ||
		    major(st.st_dev) != e->dev_major || minor(st.st_dev) != e->dev_minor) {
			close(fd);
			continue;
		}
		p->fds[i] = fd;
		__atomic_add_fetch(&pf->nfds, 1, __ATOMIC_RELAXED);
	next:;
	}
	return p;
}

/* The table's key of (pid, start_ns), padding zeroed: uthash compares the bytes. */
static void set_key(struct entry *key, uint32_t pid, uint64_t start_ns)
{
	memset(&key->key, 0, sizeof(key->key));
	key->key.pid = pid;
	key->key.start_ns = start_ns;
}

/* Keeps `snap` as the newest snapshot of (pid, start_ns); takes it. */
static void keep(struct prefetch *pf, uint32_t pid, uint64_t start_ns, struct prefetched *snap)
{
	struct entry *en, key;

	set_key(&key, pid, start_ns);
	pthread_mutex_lock(&pf->lock);
	HASH_FIND(hh, pf->entries, &key.key, sizeof(key.key), en);
	if (en) {
		drop(pf, en->snap, false);
		en->snap = snap;
		snap = NULL;
	} else if (HASH_COUNT(pf->entries) < PREFETCH_MAX && (en = calloc(1, sizeof(*en)))) {
		en->key = key.key;
		en->snap = snap;
		snap = NULL;
		HASH_ADD(hh, pf->entries, key, sizeof(en->key), en);
	}
	pthread_mutex_unlock(&pf->lock);
	if (snap)
		drop(pf, snap, false); /* the table was full */
}

/* Takes the waiting snapshot of (pid, start_ns) out of the table, or NULL. */
static struct prefetched *take_any(struct prefetch *pf, uint32_t pid, uint64_t start_ns)
{
	struct prefetched *snap = NULL;
	struct entry *en, key;

	set_key(&key, pid, start_ns);
	pthread_mutex_lock(&pf->lock);
	HASH_FIND(hh, pf->entries, &key.key, sizeof(key.key), en);
	if (en) {
		HASH_DEL(pf->entries, en);
		snap = en->snap;
		free(en);
	}
	pthread_mutex_unlock(&pf->lock);
	return snap;
}

/* One path from its components, leaf first, each NUL-terminated; NULL if malformed. */
static char *join_components(const char *c, size_t size, unsigned int depth)
{
	const char *comp[EMBER_EXIT_NAME_DEPTH];
	size_t len = 0, at = 0;
	char *path;

	if (!depth || depth > EMBER_EXIT_NAME_DEPTH)
		return NULL;
	for (unsigned int i = 0; i < depth; i++) {
		const char *end = at < size ? memchr(c + at, '\0', size - at) : NULL;

		/* A component is a name: not empty, no slash, not a dot entry. */
		if (!end || end == c + at || memchr(c + at, '/', (size_t)(end - (c + at))) ||
		    !strcmp(c + at, ".") || !strcmp(c + at, ".."))
			return NULL;
		comp[i] = c + at;
		len += (size_t)(end - (c + at)) + 1;
		at = (size_t)(end - c) + 1;
	}
	if (at != size || !(path = malloc(len + 1)))
		return NULL;
	len = 0;
	for (unsigned int i = depth; i-- > 0;) {
		size_t l = strlen(comp[i]);

		path[len++] = '/';
		memcpy(path + len, comp[i], l);
		len += l;
	}
	path[len] = '\0';
	return path;
}

int prefetch_exit_paths(const void *record, size_t size, char **paths, size_t n)
{
	const struct ember_maps_event *e = record;
	const char *names, *at, *end;
	int named = 0;

	if (size < EMBER_MAPS_EVENT_HEADER_SIZE || e->nr > EMBER_MAX_EXIT_MAPS ||
	    e->names_size > EMBER_EXIT_NAMES_MAX ||
	    size !=
		EMBER_MAPS_EVENT_HEADER_SIZE + (size_t)e->nr * sizeof(e->maps[0]) + e->names_size)
		return -EINVAL;
	if (n > e->nr)
		n = e->nr;
	names = (const char *)&e->maps[e->nr];
	end = names + e->names_size;
	for (at = names; at < end;) {
		struct ember_map_name h;

		if ((size_t)(end - at) < sizeof(h))
			goto bad;
		memcpy(&h, at, sizeof(h));
		at += sizeof(h);
		if (h.size > (size_t)(end - at) || h.map >= e->nr)
			goto bad;
		if (h.map < n && !paths[h.map]) {
			paths[h.map] = join_components(at, h.size, h.depth);
			named += paths[h.map] != NULL;
		}
		at += h.size;
	}
	/* The other mappings of a named file. */
	for (size_t i = 0; i < n; i++) {
		const struct ember_map *m = &e->maps[i];

		for (size_t j = 0; !paths[i] && m->inode && j < n; j++) {
			const struct ember_map *o = &e->maps[j];

			if (paths[j] && o->inode == m->inode && o->dev_major == m->dev_major &&
			    o->dev_minor == m->dev_minor) {
				paths[i] = strdup(paths[j]);
				if (!paths[i])
					return -ENOMEM;
				named++;
			}
		}
	}
	return named;
bad:
	for (size_t i = 0; i < n; i++) {
		free(paths[i]);
		paths[i] = NULL;
	}
	return -EINVAL;
}

/*
 * The maps the kernel sent as the process exited: final, with every library, files named by the
 * paths the kernel walked (some may be missing: no room). Paths the record lacks and pinned fds
 * come from the snapshot taken while it lived, when there is one; the collector and the
 * symbolizer name the rest (proctrack, symbolizer__user).
 */
static void on_exit_maps(struct prefetch *pf, const struct ember_maps_event *e, size_t size)
{
	struct procmaps_entry v[EMBER_MAX_EXIT_MAPS];
	char *paths[EMBER_MAX_EXIT_MAPS] = { 0 };
	struct prefetched *old, *snap = NULL;
	struct procmaps *raw;
	size_t n;

	if (size < EMBER_MAPS_EVENT_HEADER_SIZE || e->nr > EMBER_MAX_EXIT_MAPS ||
	    size < EMBER_MAPS_EVENT_HEADER_SIZE + (size_t)e->nr * sizeof(e->maps[0]))
		return;
	/* A record with malformed names still has its maps. */
	prefetch_exit_paths(e, size, paths, e->nr);
	n = 0;
	for (uint32_t i = 0; i < e->nr; i++) {
		const struct ember_map *m = &e->maps[i];

		if (m->end <= m->start || (!m->inode && m->start != e->vdso))
			continue;
		v[n++] = (struct procmaps_entry){ .start = m->start,
						  .end = m->end,
						  .offset = m->offset,
						  .inode = m->inode,
						  .dev_major = m->dev_major,
						  .dev_minor = m->dev_minor,
						  .path = !m->inode  ? "[vdso]"
							  : paths[i] ? paths[i]
								     : "" };
	}
	old = take_any(pf, e->pid, e->proc_start_ns);
	raw = procmaps__new(v, n);
	for (uint32_t i = 0; i < e->nr; i++)
		free(paths[i]); /* copied */
	snap = calloc(1, sizeof(*snap));
	if (!raw || !snap)
		goto fail;
	snap->taken_ns = mono_ns();
	snap->final = true;
	snap->image_ns = e->exec_ns;
	snap->maps = procmaps__named(raw, old ? old->maps : NULL);
	n = procmaps__count(snap->maps);
	snap->fds = n ? malloc(n * sizeof(*snap->fds)) : NULL;
	if (!snap->maps || (n && !snap->fds))
		goto fail;
	/* Move the pinned fds over, one per file, as snapshot() keeps them. */
	for (size_t i = 0; i < n; i++) {
		const struct procmaps_entry *me = procmaps__entry(snap->maps, i);

		snap->fds[i] = -1;
		for (size_t j = 0; old && j < procmaps__count(old->maps); j++) {
			const struct procmaps_entry *o = procmaps__entry(old->maps, j);

			if (old->fds[j] >= 0 && o->inode == me->inode &&
			    o->dev_major == me->dev_major && o->dev_minor == me->dev_minor) {
				snap->fds[i] = old->fds[j];
				old->fds[j] = -1;
				break;
			}
		}
	}
	procmaps__free(raw);
	drop(pf, old, false); /* its fds not moved over */
	pthread_mutex_lock(&pf->lock);
	pf->exit_maps++;
	pthread_mutex_unlock(&pf->lock);
	keep(pf, e->pid, e->proc_start_ns, snap);
	return;
fail:
	procmaps__free(raw);
	prefetched__free(snap); /* failed before any fd moved into it */
	if (old)		/* keep what we had */
		keep(pf, e->pid, e->proc_start_ns, old);
}

static int on_notice(void *ctx, void *data, size_t size)
{
	struct prefetch *pf = ctx;
	const struct ember_proc_event *e = data;
	struct prefetched *snap;

	if (size < sizeof(e->type))
		return 0;
	if (e->type == EMBER_EVENT_MAPS) {
		on_exit_maps(pf, data, size);
		return 0;
	}
	if (size < sizeof(*e) || !e->pid)
		return 0;
	snap = snapshot(pf, e->pid);
	/* Read after the maps: if the process is still the one of the event, the maps were too.
	 * Empty maps are those of a process exiting or a zombie: its exit-time maps follow. */
	if (!snap || !procmaps__count(snap->maps) || !same_process(pf, e->pid, e->proc_start_ns)) {
		drop(pf, snap, false);
		pthread_mutex_lock(&pf->lock);
		pf->missed++;
		pthread_mutex_unlock(&pf->lock);
		return 0;
	}
	/* After an exec the image is the exec's; at a first sample it is the one sampled. */
	snap->image_ns = e->type == EMBER_EVENT_EXEC ? e->time_ns : 0;
	pthread_mutex_lock(&pf->lock);
	pf->taken++;
	pthread_mutex_unlock(&pf->lock);
	keep(pf, e->pid, e->proc_start_ns, snap);
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
			drop(pf, en->snap, false);
			free(en);
		}
	}
	pthread_mutex_unlock(&pf->lock);
}

static void *thread_main(void *arg)
{
	struct prefetch *pf = arg;
	int64_t last_expire = mono_ns();

	int epfd = ring_buffer__epoll_fd(pf->rb);

	while (!__atomic_load_n(&pf->stop, __ATOMIC_ACQUIRE)) {
		struct epoll_event ev;

		/* A short timeout: stopping takes at most this long. The wait is ours, the consume
		 * shared with prefetch__sync (ring_buffer__poll would consume unlocked). */
		if (epoll_wait(epfd, &ev, 1, 100) > 0) {
			pthread_mutex_lock(&pf->consume);
			ring_buffer__consume(pf->rb);
			pthread_mutex_unlock(&pf->consume);
		}
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
	pf->ticks = sysconf(_SC_CLK_TCK);
	if (pf->ticks <= 0)
		pf->ticks = 100;
	/* Tests lower the limit to reach it with a few processes. */
	pf->max_files = getenv("EMBER_PREFETCH_MAX_FILES")
			    ? (unsigned int)strtoul(getenv("EMBER_PREFETCH_MAX_FILES"), NULL, 10)
			    : PREFETCH_MAX_FILES;
	if (!pf->max_files || pf->max_files > PREFETCH_MAX_FILES)
		pf->max_files = PREFETCH_MAX_FILES;
	pthread_mutex_init(&pf->lock, NULL);
	pthread_mutex_init(&pf->consume, NULL);
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
	pthread_mutex_destroy(&pf->consume);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
	errno = -err;
	return NULL;
}

struct prefetched *prefetch__take(struct prefetch *pf, uint32_t pid, uint64_t start_ns,
				  int64_t after_ns, uint64_t at_ns)
{
	struct prefetched *snap = NULL;
	struct entry *en, key;

	if (!pf)
		return NULL;
	set_key(&key, pid, start_ns);
	pthread_mutex_lock(&pf->lock);
	HASH_FIND(hh, pf->entries, &key.key, sizeof(key.key), en);
	if (en && en->snap->image_ns > at_ns)
		en = NULL; /* the maps of a later image: not for this record */
	if (en) {
		HASH_DEL(pf->entries, en);
		if (en->snap->taken_ns > after_ns)
			snap = en->snap;
		drop(pf, en->snap, snap != NULL);
		free(en);
	}
	pthread_mutex_unlock(&pf->lock);
	return snap;
}

void prefetch__sync(struct prefetch *pf)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->consume);
	ring_buffer__consume(pf->rb);
	pthread_mutex_unlock(&pf->consume);
}

void prefetch__stats(struct prefetch *pf, uint64_t *taken, uint64_t *missed, uint64_t *exit_maps)
{
	pthread_mutex_lock(&pf->lock);
	*taken = pf->taken;
	*missed = pf->missed;
	*exit_maps = pf->exit_maps;
	pthread_mutex_unlock(&pf->lock);
}

unsigned int prefetch__open_files(struct prefetch *pf, uint64_t *unopened, unsigned int *max)
{
	if (unopened)
		*unopened = __atomic_load_n(&pf->unopened, __ATOMIC_RELAXED);
	if (max)
		*max = pf->max_files;
	return __atomic_load_n(&pf->nfds, __ATOMIC_RELAXED);
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
		drop(pf, en->snap, false);
		free(en);
	}
	pthread_mutex_destroy(&pf->consume);
	pthread_mutex_destroy(&pf->lock);
	free(pf);
}

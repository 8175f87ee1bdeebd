// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * One thread, one libdebuginfod client, a list of requests guarded by a mutex. The collector's
 * thread only takes the mutex to queue a request or read an answer; the fetch itself (blocking
 * HTTP, possibly seconds) happens with the mutex released.
 *
 * libdebuginfod is loaded with dlopen when the worker starts, as libdwfl itself does: linked, it
 * pulls in libcurl, GnuTLS, Kerberos and LDAP, 27 libraries whose relocation cost every ember
 * command about 7 ms of start-up, for a feature that is off by default.
 */
#include "symbolizer/debuginfod.h"

#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum req_state { REQ_QUEUED, REQ_FOUND, REQ_MISSING };

struct request {
	struct request *next;
	enum req_state state;
	char *path;
	char build_id[];
};

/* The calls used, from the library loaded at start. */
struct debuginfod_api {
	debuginfod_client *(*begin)(void);
	int (*find_debuginfo)(debuginfod_client *c, const unsigned char *id, int len, char **path);
	void (*end)(debuginfod_client *c);
};

/*
 * Loaded once per process and never closed, as libdw does with it: libcurl's global state lives in
 * the library's data, and an unloaded library leaves it unreachable (LeakSanitizer saw it).
 */
static pthread_once_t api_once = PTHREAD_ONCE_INIT;
static struct debuginfod_api api;
static bool api_ok;

static void api_load(void)
{
	void *lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
	void *sym[3];

	if (!lib)
		return;
	sym[0] = dlsym(lib, "debuginfod_begin");
	sym[1] = dlsym(lib, "debuginfod_find_debuginfo");
	sym[2] = dlsym(lib, "debuginfod_end");
	if (!sym[0] || !sym[1] || !sym[2]) {
		dlclose(lib);
		return;
	}
	/* POSIX's way from a data pointer to a function pointer: through memcpy. */
	memcpy(&api.begin, &sym[0], sizeof(sym[0]));
	memcpy(&api.find_debuginfo, &sym[1], sizeof(sym[1]));
	memcpy(&api.end, &sym[2], sizeof(sym[2]));
	api_ok = true;
}

struct debuginfod_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct request *reqs; /* newest first */
};

static struct request *find(struct debuginfod_worker *w, const char *id)
{
	for (struct request *r = w->reqs; r; r = r->next)
		if (!strcmp(r->build_id, id))
			return r;
	return NULL;
}

static void *worker_main(void *arg)
{
	struct debuginfod_worker *w = arg;
	debuginfod_client *c = api.begin();

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		struct request *r = NULL;
		char *path = NULL;
		char id[160];
		int fd;

		for (struct request *q = w->reqs; q; q = q->next)
			if (q->state == REQ_QUEUED)
				r = q; /* the oldest queued */
		if (!r) {
			pthread_cond_wait(&w->cond, &w->lock);
			continue;
		}
		snprintf(id, sizeof(id), "%s", r->build_id);
		pthread_mutex_unlock(&w->lock);
		/* A length of 0 means: the id is a NUL-terminated hex string. */
		fd = c ? api.find_debuginfo(c, (const unsigned char *)id, 0, &path) : -ENOSYS;
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&w->lock);
		r = find(w, id);
		if (r) {
			r->state = fd >= 0 && path ? REQ_FOUND : REQ_MISSING;
			r->path = fd >= 0 ? path : NULL;
			if (fd < 0)
				free(path);
		} else {
			free(path);
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (c)
		api.end(c);
	return NULL;
}

struct debuginfod_worker *debuginfod_worker__new(void)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	struct debuginfod_worker *w;
	int err;

	if (!urls || !*urls) {
		errno = ENOENT;
		return NULL;
	}
	pthread_once(&api_once, api_load);
	if (!api_ok) {
		errno = ENOSYS;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	if (err) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		errno = err;
		return NULL;
	}
	return w;
}

int debuginfod_worker__request(struct debuginfod_worker *w, const char *build_id_hex)
{
	size_t len = strlen(build_id_hex);
	struct request *r;
	int err = 0;

	pthread_mutex_lock(&w->lock);
	if (!find(w, build_id_hex)) {
		r = calloc(1, sizeof(*r) + len + 1);
		if (r) {
			memcpy(r->build_id, build_id_hex, len + 1);
			r->next = w->reqs;
			w->reqs = r;
			pthread_cond_signal(&w->cond);
		} else {
			err = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

int debuginfod_worker__result(struct debuginfod_worker *w, const char *build_id_hex, char *path,
			      size_t len)
{
	struct request *r;
	int ret = -ENOENT;

	pthread_mutex_lock(&w->lock);
	r = find(w, build_id_hex);
	if (r && r->state == REQ_QUEUED)
		ret = 0;
	else if (r && r->state == REQ_FOUND) {
		snprintf(path, len, "%s", r->path);
		ret = 1;
	}
	pthread_mutex_unlock(&w->lock);
	return ret;
}

void debuginfod_worker__free(struct debuginfod_worker *w)
{
	struct request *r, *next;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	for (r = w->reqs; r; r = next) {
		next = r->next;
		free(r->path);
		free(r);
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

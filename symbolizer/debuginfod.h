/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Debug info from debuginfod servers ($DEBUGINFOD_URLS), fetched by a thread of its own so that
 * no network call ever runs on the sampling path: the symbolizer asks for a build-id, goes on
 * without DWARF, and picks the answer up on a later lookup. Only built when the user turns it on
 * (ember record --debuginfod).
 */
#ifndef EMBER_DEBUGINFOD_H
#define EMBER_DEBUGINFOD_H

#include <stddef.h>

struct debuginfod_worker;

/* Starts the worker, loading libdebuginfod. NULL with errno: ENOENT when DEBUGINFOD_URLS is unset
 * or empty, ENOSYS when libdebuginfod.so.1 cannot be loaded, ENOMEM, or the error of
 * pthread_create. */
struct debuginfod_worker *debuginfod_worker__new(void);

/* Queues a fetch of the debug info of `build_id_hex` (asked once per build-id; repeated requests
 * are ignored). 0, or -ENOMEM. */
int debuginfod_worker__request(struct debuginfod_worker *w, const char *build_id_hex);

/*
 * The answer for a requested build-id: 1 and the path of the downloaded file (in the client's
 * cache) copied to `path`; 0 while it is being fetched; -ENOENT when no server has it or it was
 * never requested.
 */
int debuginfod_worker__result(struct debuginfod_worker *w, const char *build_id_hex, char *path,
			      size_t len);

/* Stops the worker (waiting for a fetch in flight to end). Accepts NULL. */
void debuginfod_worker__free(struct debuginfod_worker *w);

#endif

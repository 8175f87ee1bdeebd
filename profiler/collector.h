/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The collector: `ember record`'s engine. One epoll loop over the sampler's ring buffer, a timer
 * (drain the ring, flush to the database every second, end after the duration) and a signalfd
 * (SIGINT, SIGTERM end the run cleanly; SIGHUP reloads the configuration). Once the sampler is
 * attached the collector drops every capability it no longer needs (profiler/privs.h). At the end
 * it detaches the sampler, drains what is left, writes the final flush with the run's accounting,
 * and reports it.
 */
#ifndef EMBER_COLLECTOR_H
#define EMBER_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "profiler/sampler.h"
#include "storage/storage.h"
#include "storage/writer.h"
#include "symbolizer/symbolizer.h"
#include "symbolizer/unwind.h"

struct collector_opts {
	const char *db_path;
	struct sampler_opts sampler; /* sampler.stack_copy: bytes copied in the DWARF modes */
	enum unwind_mode unwind;
	struct symbolizer_opts symbolizer;
	double duration_s;	      /* 0: until a signal */
	bool quiet;		      /* no summary at exit */
	double max_cpu;		      /* percent of one CPU for the collector itself; 0: no limit */
	struct storage_policy policy; /* retention, size limit, rollups: applied after flushes */
	bool cmdline;		      /* store command lines (they can hold secrets) */
	size_t max_pending; /* samples kept while the database refuses writes; 0: default */
	/*
	 * SIGHUP: returns the new options (valid until the next call or the end of the run), or
	 * NULL when the new configuration is invalid (the reason logged; the run goes on as it
	 * was). NULL: SIGHUP is ignored. Only what can change without reloading the BPF program
	 * (which needs the capabilities dropped at start-up) is applied; the rest is logged as
	 * needing a restart.
	 */
	const struct collector_opts *(*reload)(void *arg);
	void *reload_arg;
};

/* What one run did, as printed at exit. stored + every drop = delivered once the run ends. */
struct collector_summary {
	uint64_t delivered, stored;
	uint64_t filtered, ringbuf_full, bpf_errors;
	uint64_t ingest_errors, write_errors;
	double seconds;
	unsigned int ncpus;
	unsigned int freq;	  /* at the end (SIGHUP and --max-cpu may change it) */
	struct storage_self self; /* the collector's own cost over the last interval */
	const char *event;
	/* How user stacks were unwound (auto falls back to frame pointers where it must), the copy
	 * size, and the samples by the status of their stack (enum storage_stack_status). */
	enum unwind_mode unwind;
	uint32_t stack_copy;
	uint64_t stack_status[STORAGE_STACK_NO_USER + 1];
	uint64_t unwound, unwind_memo_hits, unwind_memo_mismatches;
};

/*
 * Runs until the duration ends or SIGINT/SIGTERM arrives. Returns 0 on a clean end (the summary
 * filled), or -errno when start-up fails (the reason already logged): the caller exits 1.
 */
int collector_run(const struct collector_opts *opts, struct collector_summary *summary);

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Dropping capabilities after start-up, with libcap-ng. */
#include "profiler/privs.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

static const int kept[] = { CAP_SYS_PTRACE, CAP_CHECKPOINT_RESTORE, CAP_DAC_READ_SEARCH,
			    CAP_SYSLOG };

uint64_t privs_kept_mask(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		m |= 1ull << kept[i];
	return m;
}

const char *privs_names(uint64_t mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int cap = 0; cap < 64 && off < len; cap++) {
		const char *name;

		if (!(mask & (1ull << cap)))
			continue;
		name = capng_capability_to_name((unsigned int)cap);
		off += (size_t)snprintf(buf + off, len - off, "%scap_%s", off ? "," : "",
					name ? name : "unknown");
	}
	if (!mask)
		snprintf(buf, len, "none");
	return buf;
}

int privs_drop(bool *bounding_narrowed, char *why, size_t len)
{
	bool bounds;
	int rc;

	if (capng_get_caps_process()) {
		snprintf(why, len, "cannot read this process's capabilities");
		return -EPERM;
	}
	/* Narrowing the bounding set needs CAP_SETPCAP in the effective set, so decide first. */
	bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	{
		int have[sizeof(kept) / sizeof(kept[0])];

		for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
			have[i] = capng_have_capability(CAPNG_PERMITTED, (unsigned int)kept[i]);
		capng_clear(bounds ? CAPNG_SELECT_ALL : (CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT));
		for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
			if (!have[i])
				continue;
			capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
				     (unsigned int)kept[i]);
			if (bounds)
				capng_update(CAPNG_ADD, CAPNG_BOUNDING_SET, (unsigned int)kept[i]);
		}
	}
	rc = capng_apply(bounds ? CAPNG_SELECT_ALL : (CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT));
	if (rc) {
		snprintf(why, len, "cannot drop capabilities (libcap-ng error %d)", rc);
		return -EPERM;
	}
	if (bounding_narrowed)
		*bounding_narrowed = bounds;
	return 0;
}

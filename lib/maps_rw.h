/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside a map handle: the writable fds. Included by lib/maps.c (which
 * hands out only the read-only ones), user/loader.c (which makes them) and
 * user/sync/write.c (which writes through them) and by nothing else:
 * `make check-writers` fails when another file includes it.
 */
#ifndef XLB_LIB_MAPS_RW_H
#define XLB_LIB_MAPS_RW_H

#include <limits.h>

#include "lib/maps.h"

struct xlb_loader;

struct xlb_dp {
	int ro[XLB_DPM_MAX];	/* what xlb_dp_map_fd() hands out */
	int rw[XLB_DPM_MAX];	/* -1 in a read-only handle (opened from pins) */
	char pin_dir[PATH_MAX]; /* "" when nothing is pinned (packet tests) */
	struct xlb_loader *ld;	/* the programs, when xlb_dp_load() made it */
	void (*unload)(struct xlb_loader *ld);
};

/* A handle with every fd -1. */
struct xlb_dp *xlb_dp_alloc(const char *pin_dir);
/* Fill dp->ro: read-only fds of the maps, from their pins under
 * dp->pin_dir or, when nothing is pinned, from dp->rw. 0 or -errno. */
int xlb_dp_ro_open(struct xlb_dp *dp);

#endif /* XLB_LIB_MAPS_RW_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The pinned maps, read-only. Every fd this header hands out is opened
 * (or duplicated) with BPF_F_RDONLY: the kernel refuses updates and
 * deletes through it, so a reader cannot write a map by mistake. (The ring
 * buffer xlb_events is the exception, see ro_flags(): its fd writes only
 * the reader's position.) Writes go through sync/write.h, the only code
 * holding writable fds.
 *
 * xlbctl, tests and the agent's readers (metrics, announce's adoption)
 * link this without the BPF skeleton: pin names come from a table
 * generated at build time from the same object (xlb_pins.h).
 */
#ifndef XLB_LIB_MAPS_H
#define XLB_LIB_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <xlb/abi.h>

enum xlb_dp_map {
	XLB_DPM_SVC,
	XLB_DPM_BACKENDS,
	XLB_DPM_MAGLEV,
	XLB_DPM_CT,
	XLB_DPM_NODE_ADDRS,
	XLB_DPM_IFACES,
	XLB_DPM_SVC_STATS,
	XLB_DPM_REASONS,
	XLB_DPM_SVC_META,
	XLB_DPM_AFFINITY,
	XLB_DPM_SRC_RANGES,
	XLB_DPM_FRAGS,
	XLB_DPM_TX_DEVS,
	XLB_DPM_PEER_DEVS,
	XLB_DPM_SOCK_REV,
	XLB_DPM_L2,
	XLB_DPM_VIP_META,
	XLB_DPM_MONITOR, /* xlbctl monitor's switch */
	XLB_DPM_EVENTS,	 /* the monitor's ring buffer */
	XLB_DPM_FRAGS6,
	XLB_DPM_SOCK_REV6,
	XLB_DPM_MAX,
};

extern const char *const xlb_dp_map_names[XLB_DPM_MAX];
/* The pin name of map @m in this build's layout: "<name>_v<layout hash>". */
const char *xlb_dp_pin_name(enum xlb_dp_map m);
/* Is @name a pin of map @m in some layout: "<map>" (before pins were
 * versioned) or "<map>_v<8 hex>"? */
bool xlb_dp_is_pin_of(const char *name, enum xlb_dp_map m);
/* 1 and its name in @buf when @pin_dir holds map @m in another layout. */
int xlb_dp_pinned_other(const char *pin_dir, enum xlb_dp_map m, char *buf, size_t n);
/* "@dir/@name" into @buf; -ENAMETOOLONG when it does not fit. */
int xlb_dp_pin_path(char *buf, size_t sz, const char *dir, const char *name);

struct xlb_dp;

/* Open the pinned maps only (xlbctl, tools): no programs. */
struct xlb_dp *xlb_dp_open_pinned(const char *pin_dir);
/* Closes any handle, also one xlb_dp_load() made. */
void xlb_dp_close(struct xlb_dp *dp);

/* A read-only fd of map @m (see above), owned by @dp. */
int xlb_dp_map_fd(const struct xlb_dp *dp, enum xlb_dp_map m);
/* Read a table back (m entries into @ids); -ENOENT when the slot is empty,
 * -EAGAIN when the table is bigger than a non-zero @cap (its slot was
 * reused). @cap 0: just the size. */
int xlb_dp_table_get(const struct xlb_dp *dp, __u32 table_id, __u32 *ids, __u32 *m, __u32 cap);
/* Number of possible CPUs (per-CPU map value count). */
int xlb_dp_ncpus(void);

#endif /* XLB_LIB_MAPS_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Small helpers every program of xlb needs once. */
#ifndef XLB_LIB_UTIL_H
#define XLB_LIB_UTIL_H

#include <stddef.h>
#include <linux/types.h>

/* CLOCK_MONOTONIC: the clock of bpf_ktime_get_ns(), so of the datapath's
 * deadlines, and of every interval the agent measures. */
__u64 xlb_mono_ns(void);

static inline __u64 xlb_mono_ms(void)
{
	return xlb_mono_ns() / 1000000;
}

/*
 * The first @max bytes of the file at @path (0: all of it) into a new
 * NUL-terminated buffer *@out (free it), its length in *@len (may be
 * NULL). 0 or -errno.
 */
int xlb_read_file(const char *path, size_t max, char **out, size_t *len);

#endif /* XLB_LIB_UTIL_H */

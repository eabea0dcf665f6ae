/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Trace records for `xlbctl explain`. Each macro is a store into the
 * private xlb_trace map guarded by the rodata flag xlb_explain: in the live
 * instance the flag is false and known to the verifier, which removes the
 * whole branch, so the datapath pays nothing for being explainable.
 */
#ifndef XLB_BPF_TRACE_H
#define XLB_BPF_TRACE_H

#include "maps.h"

static __always_inline struct xlb_trace *xlb_trace_get(void)
{
	return bpf_map_lookup_elem(&xlb_trace, &xlb_key0);
}

/* Run @stmt with `tr` pointing at the trace, in the explain instance only. */
#define XLB_TRACE(stmt)                                         \
	do {                                                    \
		if (xlb_explain) {                              \
			struct xlb_trace *tr = xlb_trace_get(); \
                                                                \
			if (tr) {                               \
				stmt;                           \
			}                                       \
		}                                               \
	} while (0)

#endif /* XLB_BPF_TRACE_H */

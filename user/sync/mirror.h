/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside sync: the mirror of what it wrote, one entry per service port,
 * shared by mirror.c (the entries and their lookups), adopt.c (the mirror
 * read back from the pinned maps at start) and apply.c (desired state ->
 * plan -> ordered writes -> the next mirror). The writes themselves are
 * write.c's.
 */
#ifndef XLB_SYNC_MIRROR_H
#define XLB_SYNC_MIRROR_H

#include "sync.h"

/* A backend as the mirror keeps it. */
struct mbe {
	union xlb_addr addr;
	__u16 port; /* host order */
	__u8 family;
	__u8 flags; /* XLB_BE_F_* */
	__u32 id;
};

/* A frontend: its key and the flags only it carries (source ranges
 * apply to LB VIPs, not to the NodePort of the same service port). */
struct mfe {
	struct xlb_svc_key key;
	__u32 flags;
};

/* A service port as the mirror keeps it. */
struct msvc {
	char name[XLB_SVCPORT_NAME_MAX];
	__u32 svc_id;
	struct xlb_svc val; /* what every frontend carries */
	struct mbe *bes;    /* sorted: family, addr, port */
	size_t n_bes;
	struct mfe *fes; /* sorted by key (memcmp) */
	size_t n_fes;
	struct xlb_cidr *ranges; /* loadBalancerSourceRanges */
	size_t n_ranges;
	struct xlb_svc_meta meta;
	__u32 extra_table; /* adopted: a second table its frontends
					 * named (crash mid-swap), to free */
	bool trusted;	   /* maps known to match this entry */
};

struct xlb_sync {
	struct xlb_dp *dp;
	struct xlb_sync_opts o;
	struct msvc *svcs; /* sorted by name */
	size_t n;
	__u8 *svc_ids; /* in-use bitmaps, max_tables bits */
	__u8 *table_ids;
	__u32 next_be_id;
	__u32 *table_buf;    /* MAGLEV_M_MAX entries */
	__u32 *stale_tables; /* adopted slots nobody names: freed
					 * by the first apply, at its end */
	size_t n_stale_tables;
	struct xlb_addr_key *addrs;
	size_t n_addrs;
	struct xlb_node_iface *ifs;
	size_t n_ifs;
};

static inline bool bit_get(const __u8 *b, __u32 i)
{
	return b[i / 8] & (1u << (i % 8));
}
static inline void bit_set(__u8 *b, __u32 i)
{
	b[i / 8] |= 1u << (i % 8);
}
static inline void bit_clr(__u8 *b, __u32 i)
{
	b[i / 8] &= ~(1u << (i % 8));
}

/* Id 0 is never handed out: a zero table_id means "no table". */
__u32 mirror_id_alloc(__u8 *bits, __u32 max);
/* Sort orders of the mirror's lists (bsearch and qsort). */
int mirror_be_cmp(const void *a, const void *b);  /* family, addr, port */
int mirror_fe_cmp(const void *a, const void *b);  /* key, memcmp */
int mirror_svc_cmp(const void *a, const void *b); /* name */
bool mirror_range_in(const struct msvc *m, const struct xlb_cidr *r);
/* The backend of @m with @b's id (lists are sorted by address, and an id
 * stands for one address within a service port). */
const struct mbe *mirror_be_find(const struct msvc *m, const struct mbe *b);
const struct mfe *mirror_fe_find(const struct msvc *m, const struct mfe *f);
void mirror_svc_release(struct msvc *m);
/* A zeroed entry at the end of s->svcs (not sorted in). */
struct msvc *mirror_add(struct xlb_sync *s);
/* Append @item (@sz bytes) to the array *@arr of *@n items. */
int mirror_push(void **arr, size_t *n, size_t sz, const void *item);
/* The mirror entry of an adopted svc id without a name, made on first use:
 * the first apply removes it like any service that went away. */
struct msvc *mirror_orphan(struct xlb_sync *s, __u32 svc_id);

/* Read back what an earlier agent left in the pinned maps (adopt.c). */
int mirror_adopt(struct xlb_sync *s);

#endif /* XLB_SYNC_MIRROR_H */

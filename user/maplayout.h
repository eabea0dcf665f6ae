/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Map layouts across versions. A pinned map is named after its layout
 * (xlb_ct_v<hash>, the hash taken over the BTF of its key and value: member
 * names, offsets and types), so a build whose struct differs pins a map of
 * another name and an older program never reads a map of a newer layout.
 * An agent that finds a map of another layout copies its entries into its
 * own, field by field *by name*, reading the old layout from the BTF the
 * kernel keeps for the old map: no table of past layouts to maintain, and
 * a downgrade migrates the same way. Pure functions; the copy loop that
 * writes maps is in loader.c.
 */
#ifndef XLB_MAPLAYOUT_H
#define XLB_MAPLAYOUT_H

#include <linux/types.h>
#include <stddef.h>

struct btf;

/* FNV-1a over the canonical text of @type_id in @btf (0: an untyped blob of
 * @size bytes), continuing from @h (start with XLB_LAYOUT_SEED). */
#define XLB_LAYOUT_SEED 2166136261u
__u32 xlb_layout_hash(const struct btf *btf, __u32 type_id, __u32 size, __u32 h);

/* One copy: @len bytes from offset @src of the old value to offset @dst of
 * the new one. */
struct xlb_copy_op {
	__u32 src, dst, len;
};

struct xlb_copy_plan {
	struct xlb_copy_op ops[64];
	int n;
	char dropped[256]; /* old fields with no place in the new layout */
	char zeroed[256];  /* new fields the old layout did not have */
};

/* Plan copying a value of old type @oid (@osz bytes) into new type @nid
 * (@nsz bytes): the same type as a whole, or structs member by member by
 * name (same size). 0, or -EINVAL when nothing carries over. */
int xlb_copy_plan(const struct btf *ob, __u32 oid, __u32 osz, const struct btf *nb, __u32 nid,
		  __u32 nsz, struct xlb_copy_plan *p);
/* dst (zeroed by the caller) from src per @p. */
void xlb_copy_apply(const struct xlb_copy_plan *p, const void *src, void *dst);

#endif /* XLB_MAPLAYOUT_H */

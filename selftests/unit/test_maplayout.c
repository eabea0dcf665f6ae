// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for map layouts across versions (user/maplayout.c): the pin
 * name's hash and the copy by field name that carries conntrack and the
 * other maps from one build's layout into another's. */
#include <errno.h>
#include <string.h>

#include <bpf/btf.h>

#include "maplayout.h"
#include "../lib/xtest.h"

struct old_v { /* what an older build pinned */
	__u32 a;
	__u16 b;
	__u16 pad;
	__u64 c;
};

struct new_v { /* a newer build: a field in front, c narrowed, d new */
	__u64 gen;
	__u32 a;
	__u16 b;
	__u16 pad;
	__u32 c;
	__u32 d;
};

/* BTF of struct "v" with members {name, bytes, byte offset}. */
struct fld {
	const char *name;
	int size, off;
};

static struct btf *make(const struct fld *f, int n, int size, __u32 *id)
{
	struct btf *b = btf__new_empty();
	int u16, u32, u64;

	if (!b)
		return NULL;
	u16 = btf__add_int(b, "u16", 2, 0);
	u32 = btf__add_int(b, "u32", 4, 0);
	u64 = btf__add_int(b, "u64", 8, 0);
	*id = btf__add_struct(b, "v", size);
	for (int i = 0; i < n; i++)
		btf__add_field(b, f[i].name,
			       f[i].size == 2 ? u16 :
			       f[i].size == 4 ? u32 :
						u64,
			       f[i].off * 8, 0);
	return b;
}

static const struct fld old_f[] = {
	{ "a", 4, 0 },
	{ "b", 2, 4 },
	{ "pad", 2, 6 },
	{ "c", 8, 8 },
};
static const struct fld new_f[] = {
	{ "gen", 8, 0 },  { "a", 4, 8 },  { "b", 2, 12 },
	{ "pad", 2, 14 }, { "c", 4, 16 }, { "d", 4, 20 },
};

XT_TEST(copy_by_field_name_across_offsets)
{
	__u32 oid, nid;
	struct btf *ob = make(old_f, 4, sizeof(struct old_v), &oid);
	struct btf *nb = make(new_f, 6, sizeof(struct new_v), &nid);
	struct old_v o = { .a = 0xa1a2a3a4, .b = 0xb1b2, .pad = 0x0102, .c = 0xc0c0c0c0c0ull };
	struct new_v n, want = { .a = o.a, .b = o.b, .pad = o.pad };
	struct xlb_copy_plan p;

	if (!ASSERT_TRUE(ob && nb, "BTF built"))
		goto out;
	if (!ASSERT_OK(xlb_copy_plan(ob, oid, sizeof(o), nb, nid, sizeof(n), &p), "plan"))
		goto out;
	ASSERT_EQ(p.n, 3, "three fields carried (a, b, pad)");
	memset(&n, 0, sizeof(n));
	xlb_copy_apply(&p, &o, &n);
	ASSERT_MEMEQ(&n, &want, sizeof(n), "new value: a, b, pad moved, the rest zero");
	ASSERT_STREQ(p.zeroed, "gen c d", "new fields (and c, whose size changed) start zero");
	ASSERT_STREQ(p.dropped, "c", "c cannot be carried (8 -> 4 bytes)");
out:
	btf__free(ob);
	btf__free(nb);
}

XT_TEST(same_layout_is_one_copy_and_one_hash)
{
	__u32 id1, id2;
	struct btf *b1 = make(old_f, 4, sizeof(struct old_v), &id1);
	struct btf *b2 = make(old_f, 4, sizeof(struct old_v), &id2);
	struct xlb_copy_plan p;

	if (!ASSERT_TRUE(b1 && b2, "BTF built"))
		goto out;
	ASSERT_EQ(xlb_layout_hash(b1, id1, 16, XLB_LAYOUT_SEED),
		  xlb_layout_hash(b2, id2, 16, XLB_LAYOUT_SEED), "same layout, same hash");
	if (ASSERT_OK(xlb_copy_plan(b1, id1, 16, b2, id2, 16, &p), "plan")) {
		ASSERT_EQ(p.n, 1, "one op");
		ASSERT_EQ(p.ops[0].len, 16u, "the whole value");
	}
out:
	btf__free(b1);
	btf__free(b2);
}

XT_TEST(layout_change_changes_the_hash)
{
	static const struct fld renamed[] = {
		{ "a", 4, 0 },
		{ "b", 2, 4 },
		{ "state", 2, 6 },
		{ "c", 8, 8 },
	};
	static const struct fld moved[] = {
		{ "b", 2, 0 },
		{ "pad", 2, 2 },
		{ "a", 4, 4 },
		{ "c", 8, 8 },
	};
	__u32 i0, i1, i2, i3;
	struct btf *b0 = make(old_f, 4, 16, &i0), *b1 = make(renamed, 4, 16, &i1);
	struct btf *b2 = make(moved, 4, 16, &i2), *b3 = make(new_f, 6, 24, &i3);
	__u32 h0;

	if (!ASSERT_TRUE(b0 && b1 && b2 && b3, "BTF built"))
		goto out;
	h0 = xlb_layout_hash(b0, i0, 16, XLB_LAYOUT_SEED);
	ASSERT_NEQ(h0, xlb_layout_hash(b1, i1, 16, XLB_LAYOUT_SEED), "a renamed field");
	ASSERT_NEQ(h0, xlb_layout_hash(b2, i2, 16, XLB_LAYOUT_SEED), "moved fields");
	ASSERT_NEQ(h0, xlb_layout_hash(b3, i3, 24, XLB_LAYOUT_SEED), "added fields");
	ASSERT_NEQ(xlb_layout_hash(NULL, 0, 4, XLB_LAYOUT_SEED),
		   xlb_layout_hash(NULL, 0, 8, XLB_LAYOUT_SEED), "untyped: by size");
out:
	btf__free(b0);
	btf__free(b1);
	btf__free(b2);
	btf__free(b3);
}

XT_TEST(nothing_in_common_is_refused)
{
	static const struct fld other[] = { { "x", 8, 0 }, { "y", 8, 8 } };
	__u32 oid, nid;
	struct btf *ob = make(old_f, 4, 16, &oid), *nb = make(other, 2, 16, &nid);
	struct xlb_copy_plan p;

	if (ASSERT_TRUE(ob && nb, "BTF built"))
		ASSERT_EQ(xlb_copy_plan(ob, oid, 16, nb, nid, 16, &p), -EINVAL,
			  "no field carries over: refused, not an empty copy");
	ASSERT_EQ(xlb_copy_plan(NULL, 0, 16, NULL, 0, 24, &p), -EINVAL,
		  "no BTF and another size: refused");
	btf__free(ob);
	btf__free(nb);
}

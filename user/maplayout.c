// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>

#include "maplayout.h"

static __u32 fnv(__u32 h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--) {
		h ^= *c++;
		h *= 16777619u;
	}
	return h;
}

static __u32 fnvf(__u32 h, const char *fmt, unsigned int a, unsigned int b)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), fmt, a, b);

	return fnv(h, buf, n > 0 ? (size_t)n : 0);
}

static __u32 canon(const struct btf *btf, __u32 id, __u32 h, int depth)
{
	const struct btf_type *t;
	int rid;

	rid = btf__resolve_type(btf, id);
	t = rid >= 0 ? btf__type_by_id(btf, rid) : NULL;
	if (!t || depth > 8)
		return fnvf(h, "?", 0, 0);
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return fnvf(h, "i%u.%u", t->size, btf_int_encoding(t));
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		return fnvf(h, "e%u", t->size, 0);
	case BTF_KIND_PTR:
		return fnvf(h, "p", 0, 0);
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);

		h = fnvf(h, "a%u[", a->nelems, 0);
		return fnvf(canon(btf, a->type, h, depth + 1), "]", 0, 0);
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		const struct btf_member *m = btf_members(t);

		h = fnvf(h, btf_is_struct(t) ? "s%u{" : "u%u{", t->size, 0);
		for (int i = 0; i < btf_vlen(t); i++, m++) {
			const char *name = btf__name_by_offset(btf, m->name_off);

			h = fnv(h, name, strlen(name));
			h = fnvf(h, "@%u:%u:", btf_member_bit_offset(t, i),
				 btf_member_bitfield_size(t, i));
			h = canon(btf, m->type, h, depth + 1);
		}
		return fnvf(h, "}", 0, 0);
	}
	default:
		return fnvf(h, "k%u", btf_kind(t), 0);
	}
}

__u32 xlb_layout_hash(const struct btf *btf, __u32 type_id, __u32 size, __u32 h)
{
	if (!btf || !type_id)
		return fnvf(h, "b%u", size, 0);
	return canon(btf, type_id, h, 0);
}

static void note(char *list, size_t n, const char *name)
{
	size_t len = strlen(list);

	snprintf(list + len, n - len, "%s%s", len ? " " : "", name);
}

static const struct btf_type *resolved(const struct btf *b, __u32 *id)
{
	int rid = b && *id ? btf__resolve_type(b, *id) : -ENOENT;

	if (rid < 0)
		return NULL;
	*id = rid;
	return btf__type_by_id(b, rid);
}

static int add_op(struct xlb_copy_plan *p, __u32 src, __u32 dst, __u32 len)
{
	if (p->n >= (int)(sizeof(p->ops) / sizeof(p->ops[0])))
		return -E2BIG;
	p->ops[p->n++] = (struct xlb_copy_op){ .src = src, .dst = dst, .len = len };
	return 0;
}

/* The member of struct @t (in @b) called @name; its byte offset in @off. */
static const struct btf_member *member(const struct btf *b, const struct btf_type *t,
				       const char *name, int *idx)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		if (!strcmp(btf__name_by_offset(b, m->name_off), name)) {
			*idx = i;
			return m;
		}
	}
	return NULL;
}

int xlb_copy_plan(const struct btf *ob, __u32 oid, __u32 osz, const struct btf *nb, __u32 nid,
		  __u32 nsz, struct xlb_copy_plan *p)
{
	const struct btf_type *ot, *nt;
	const struct btf_member *nm;
	int err;

	memset(p, 0, sizeof(*p));
	ot = resolved(ob, &oid);
	nt = resolved(nb, &nid);
	/* The same layout (or no BTF to tell, and the same size): as a whole. */
	if ((!ot || !nt) ? osz == nsz :
			   canon(ob, oid, XLB_LAYOUT_SEED, 0) == canon(nb, nid, XLB_LAYOUT_SEED, 0))
		return osz == nsz ? add_op(p, 0, 0, nsz) : -EINVAL;
	if (!ot || !nt || !btf_is_struct(ot) || !btf_is_struct(nt))
		return -EINVAL;

	nm = btf_members(nt);
	for (int i = 0; i < btf_vlen(nt); i++, nm++) {
		const char *name = btf__name_by_offset(nb, nm->name_off);
		const struct btf_member *om;
		__s64 ns, os;
		int j;

		om = *name ? member(ob, ot, name, &j) : NULL;
		if (!om) {
			note(p->zeroed, sizeof(p->zeroed), *name ? name : "(anonymous)");
			continue;
		}
		ns = btf__resolve_size(nb, nm->type);
		os = btf__resolve_size(ob, om->type);
		/* Bitfields are not in the ABI (abi.h); whole bytes only. */
		if (ns < 0 || ns != os || btf_member_bitfield_size(nt, i) ||
		    btf_member_bitfield_size(ot, j) || btf_member_bit_offset(nt, i) % 8 ||
		    btf_member_bit_offset(ot, j) % 8) {
			note(p->zeroed, sizeof(p->zeroed), name);
			note(p->dropped, sizeof(p->dropped), name);
			continue;
		}
		err = add_op(p, btf_member_bit_offset(ot, j) / 8, btf_member_bit_offset(nt, i) / 8,
			     ns);
		if (err)
			return err;
	}
	/* Old fields the new layout has no place for. */
	for (int j = 0; j < btf_vlen(ot); j++) {
		const char *name = btf__name_by_offset(ob, btf_members(ot)[j].name_off);
		int i;

		if (*name && !member(nb, nt, name, &i))
			note(p->dropped, sizeof(p->dropped), name);
	}
	return p->n ? 0 : -EINVAL;
}

void xlb_copy_apply(const struct xlb_copy_plan *p, const void *src, void *dst)
{
	for (int i = 0; i < p->n; i++)
		memcpy((char *)dst + p->ops[i].dst, (const char *)src + p->ops[i].src,
		       p->ops[i].len);
}

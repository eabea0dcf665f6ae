// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Maglev lookup-table builder: see maglev.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const uint32_t maglev_sizes[] = {
	251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
};

/*
 * Fixed SipHash keys, one per hash. They are part of the cluster-wide
 * contract (every node must derive the same permutations), so they are
 * constants, never random: "xlb-magl" "ev-offs." and "xlb-magl" "ev-skip.".
 * Two distinct keys make h1 and h2 independent functions of the key.
 */
#define MAGLEV_KEY_OFFSET_0 0x6c67616d2d626c78ull
#define MAGLEV_KEY_OFFSET_1 0x2e7366666f2d7665ull
#define MAGLEV_KEY_SKIP_0   0x6c67616d2d626c78ull
#define MAGLEV_KEY_SKIP_1   0x2e70696b732d7665ull

uint32_t maglev_pick_size_slots(size_t n, uint32_t min_m, uint32_t slots)
{
	uint64_t want, floor = (uint64_t)n * 100;

	if (slots < 100)
		slots = slots ? 100 : MAGLEV_SLOTS_DEFAULT;
	want = (uint64_t)n * slots;
	if (n >= MAGLEV_M_MAX || min_m > MAGLEV_M_MAX)
		return 0;
	if (want < min_m)
		want = min_m;
	if (floor < min_m)
		floor = min_m;
	for (size_t i = 0; i < ARRAY_SIZE(maglev_sizes); i++)
		if (maglev_sizes[i] >= want)
			return maglev_sizes[i];
	/* Past the list: the largest table, with fewer slots per backend
	 * (more disruption when the set changes) rather than no table:
	 * callers say so (maglev_undersized()). */
	(void)floor;
	return MAGLEV_M_MAX;
}

bool maglev_undersized(size_t n, uint32_t m)
{
	return n && (uint64_t)n * 100 > m;
}

uint32_t maglev_pick_size(size_t n, uint32_t min_m)
{
	return maglev_pick_size_slots(n, min_m, MAGLEV_SLOTS_DEFAULT);
}

bool maglev_size_ok(uint32_t m)
{
	for (size_t i = 0; i < ARRAY_SIZE(maglev_sizes); i++)
		if (maglev_sizes[i] == m)
			return true;
	return false;
}

static inline uint64_t rotl64(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* Reads bytes explicitly so the result is the same on any endianness. */
static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIPROUND(v0, v1, v2, v3)     \
	do {                         \
		v0 += v1;            \
		v1 = rotl64(v1, 13); \
		v1 ^= v0;            \
		v0 = rotl64(v0, 32); \
		v2 += v3;            \
		v3 = rotl64(v3, 16); \
		v3 ^= v2;            \
		v0 += v3;            \
		v3 = rotl64(v3, 21); \
		v3 ^= v0;            \
		v2 += v1;            \
		v1 = rotl64(v1, 17); \
		v1 ^= v2;            \
		v2 = rotl64(v2, 32); \
	} while (0)

uint64_t maglev_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	const uint8_t *p = data;
	size_t left = len;
	uint64_t b;

	for (; left >= 8; p += 8, left -= 8) {
		uint64_t w = load_le64(p);

		v3 ^= w;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= w;
	}

	/* Last block: the remaining bytes, the length's low byte on top. */
	b = (uint64_t)len << 56;
	for (size_t i = 0; i < left; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;

	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

void maglev_key_hash(const void *key, size_t key_len, uint64_t *h1, uint64_t *h2)
{
	*h1 = maglev_siphash24(MAGLEV_KEY_OFFSET_0, MAGLEV_KEY_OFFSET_1, key, key_len);
	*h2 = maglev_siphash24(MAGLEV_KEY_SKIP_0, MAGLEV_KEY_SKIP_1, key, key_len);
}

/* Bytewise (memcmp is unsigned char order everywhere), then shorter first. */
static int key_cmp(const struct maglev_backend *a, const struct maglev_backend *b)
{
	size_t len = a->key_len < b->key_len ? a->key_len : b->key_len;
	int r = len ? memcmp(a->key, b->key, len) : 0;

	if (r)
		return r;
	return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static int backend_ptr_cmp(const void *a, const void *b)
{
	return key_cmp(*(const struct maglev_backend *const *)a,
		       *(const struct maglev_backend *const *)b);
}

/*
 * A backend's permutation, kept as a cursor instead of an m-entry array:
 * slot j of its preference list is (offset + j * skip) % m, and next is
 * the slot it tries next (it starts at offset). m is prime, so any skip in
 * [1, m-1] visits every slot once.
 */
struct maglev_perm {
	uint32_t next;
	uint32_t skip;
	uint32_t id;
};

int maglev_build(const struct maglev_backend *be, size_t n, uint32_t m, uint32_t *table)
{
	const struct maglev_backend **order = NULL;
	struct maglev_perm *perm = NULL;
	uint8_t *used = NULL;
	uint32_t filled = 0;
	int err = 0;

	if (!be || !table || !n || n >= m || !maglev_size_ok(m))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!be[i].key && be[i].key_len)
			return -EINVAL;

	order = malloc(n * sizeof(*order));
	perm = malloc(n * sizeof(*perm));
	used = calloc(m, sizeof(*used));
	if (!order || !perm || !used) {
		err = -ENOMEM;
		goto out;
	}

	for (size_t i = 0; i < n; i++)
		order[i] = &be[i];
	qsort(order, n, sizeof(*order), backend_ptr_cmp);
	for (size_t i = 1; i < n; i++) {
		if (!key_cmp(order[i - 1], order[i])) {
			err = -EINVAL;
			goto out;
		}
	}

	for (size_t i = 0; i < n; i++) {
		uint64_t h1, h2;

		maglev_key_hash(order[i]->key, order[i]->key_len, &h1, &h2);
		perm[i].next = h1 % m;
		perm[i].skip = h2 % (m - 1) + 1;
		perm[i].id = order[i]->id;
	}

	/*
	 * Rounds over the backends in key order, each taking the next free
	 * slot of its permutation, until all m are taken: every backend
	 * gets one slot per full round, hence floor(m/n) or ceil(m/n).
	 * next < m and skip < m, so next + skip cannot overflow.
	 */
	for (;;) {
		for (size_t i = 0; i < n; i++) {
			struct maglev_perm *p = &perm[i];
			uint32_t c = p->next;

			while (used[c]) {
				c += p->skip;
				if (c >= m)
					c -= m;
			}
			used[c] = 1;
			table[c] = p->id;
			c += p->skip;
			if (c >= m)
				c -= m;
			p->next = c;
			if (++filled == m)
				goto out;
		}
	}

out:
	free(used);
	free(perm);
	free(order);
	return err;
}

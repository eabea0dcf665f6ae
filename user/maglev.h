/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maglev lookup tables (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI'16, section 3.4).
 *
 * The agent builds one table of M backend ids per service port; the
 * datapath only indexes it with a flow hash modulo M. Every node must build
 * the same table from the same set of backends, so that a flow rerouted by
 * ECMP to another node still reaches the same Pod: the result depends only
 * on the backends' keys and ids and on M, never on their order, on the
 * machine or on the run. Changing the hash below changes every table in a
 * cluster mid-upgrade; the unit tests pin it with golden values.
 */
#ifndef XLB_MAGLEV_H
#define XLB_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Supported table sizes: primes, each about twice the one before. */
#define MAGLEV_M_MIN 251u
#define MAGLEV_M_MAX 131071u

struct maglev_backend {
	const void *key; /* stable identity hashed for the permutation,
				 * e.g. "10.0.0.5:8080"; compared bytewise */
	size_t key_len;	 /* bytes in key; may be 0 */
	uint32_t id;	 /* written into the table: the backend id */
};

/*
 * Table size for n backends: the smallest supported prime (251, 509, 1021,
 * 2039, 4093, 8191, 16381, 32749, 65521, 131071) that is >= max(min_m,
 * slots * n); past the list, 131071 as long as n < 131071 (with fewer than
 * 100 slots per backend above 1310 backends: balance and stability
 * degrade, but a big Service is still served with its current backends);
 * else 0. slots (slots per backend, >= 100; 0: the default)
 * trades memory for stability. Maglev's disruption (entries that change
 * when one backend leaves, over the entries it owned; 1.0 is ideal) was
 * measured 2.4 at 163 slots per backend, 1.4 at 1310 and 1.06 at 1638
 * (test_maglev); 100 slots per backend keeps balance within 1% and costs
 * 400 bytes per backend. The default is 100: at 10,000 Services of 10
 * endpoints that is 40 MiB of tables instead of 640 MiB at 1000.
 */
#define MAGLEV_SLOTS_DEFAULT 100u
uint32_t maglev_pick_size_slots(size_t n, uint32_t min_m, uint32_t slots);
/* Fewer than 100 slots per backend: more disruption than designed for. */
bool maglev_undersized(size_t n, uint32_t m);
uint32_t maglev_pick_size(size_t n, uint32_t min_m);

/* True if m is one of the supported primes. */
bool maglev_size_ok(uint32_t m);

/*
 * Fill table[0..m-1] with the ids of the n backends. Backends are ordered
 * by key first, so the caller's order does not matter. Every backend gets
 * floor(m/n) or ceil(m/n) slots. m must be a supported size and > n; keys
 * must be distinct.
 *
 * Returns 0, -EINVAL (n == 0, n >= m, m not supported, duplicate key, NULL
 * argument) or -ENOMEM; on error the table is left unchanged.
 */
int maglev_build(const struct maglev_backend *be, size_t n, uint32_t m, uint32_t *table);

/*
 * The two independent 64-bit hashes of a key that give its permutation:
 * offset = h1 % m, skip = h2 % (m - 1) + 1. Exposed for tests and for
 * `xlbctl maglev show`.
 */
void maglev_key_hash(const void *key, size_t key_len, uint64_t *h1, uint64_t *h2);

/* SipHash-2-4 with the 128-bit key (k0, k1), k0 holding key bytes 0..7
 * little-endian; what maglev_key_hash() is built on. */
uint64_t maglev_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len);

#endif /* XLB_MAGLEV_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow hashing. Every LB node runs the same program, so the same flow hashes to
 * the same ring slot everywhere: the seed is a constant, never random.
 * Murmur3's 32-bit block and finaliser: cheap (multiplies and rotates only) and
 * well mixed, which the ring index and the outer source address both need.
 */
#ifndef LB_HASH_H
#define LB_HASH_H

#include <stdbool.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include "lb_abi.h"

#define LB_HASH_SEED 0x6c62640aU /* "lbd\n" */

static __always_inline __u32 rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 hash_mix(__u32 h, __u32 word)
{
	word *= 0xcc9e2d51U;
	word = rotl32(word, 15);
	word *= 0x1b873593U;
	h ^= word;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64U;
}

static __always_inline __u32 hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 hash_addr(__u32 h, const __be32 addr[4], __u8 family)
{
	h = hash_mix(h, addr[0]);
	if (family == LB_FAMILY_V6) {
		h = hash_mix(h, addr[1]);
		h = hash_mix(h, addr[2]);
		h = hash_mix(h, addr[3]);
	}
	return h;
}

/* The ring key of a new flow: the 5-tuple, or the client address alone. */
static __always_inline __u32 flow_hash(const struct lb_flow_key *flow, bool source_only)
{
	__u32 h = hash_addr(LB_HASH_SEED, flow->src, flow->family);

	if (!source_only) {
		h = hash_addr(h, flow->dst, flow->family);
		h = hash_mix(h, ((__u32)flow->sport << 16) | flow->dport);
		h = hash_mix(h, flow->proto);
	}
	return hash_final(h);
}

/* An address in one word: IPv6's four XORed (IPv4 uses word 0, the rest zero). */
static __always_inline __u32 addr_fold(const __be32 addr[4])
{
	return addr[0] ^ addr[1] ^ addr[2] ^ addr[3];
}

/*
 * The connection table's bucket key: the whole flow key, with a seed of its own so
 * the bucket and the ring slot of a flow are independent. Addresses are folded to a
 * word each: every packet of an established flow pays this hash, and the bucket only
 * needs spread, the key comparison decides.
 */
static __always_inline __u32 flow_key_hash(const struct lb_flow_key *flow)
{
	__u32 h = hash_mix(LB_HASH_SEED ^ 0x9e3779b9U, addr_fold(flow->src));

	h = hash_mix(h, addr_fold(flow->dst));
	h = hash_mix(h, ((__u32)flow->sport << 16) | flow->dport);
	return hash_final(hash_mix(h, (__u32)flow->proto | (__u32)flow->family << 8));
}

/* The client's address and port: stable per flow, spread across flows. */
static __always_inline __u32 client_hash(const struct lb_flow_key *flow)
{
	__u32 h = hash_addr(LB_HASH_SEED ^ 0x5bd1e995U, flow->src, flow->family);

	return hash_final(hash_mix(h, flow->sport));
}

/* The bit of an address in the VIP filter: lb_addr_hash(addr) % LB_VIP_FILTER_BITS. */
static __always_inline __u32 lb_addr_hash(const __be32 addr[4], __u8 family)
{
	return hash_final(hash_addr(LB_HASH_SEED ^ 0x2545f491U, addr, family));
}

/* Maps a 32-bit hash onto [0, n) without a division (Lemire's multiply-shift). */
static __always_inline __u32 hash_reduce(__u32 h, __u32 n)
{
	return (__u32)(((__u64)h * n) >> 32);
}

#endif

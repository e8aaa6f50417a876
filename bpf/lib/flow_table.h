/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The connection table (conn_table, lb_abi.h): set-associative buckets in one array
 * shared by all CPUs. A lookup reads the flow's bucket and compares keys; an insert
 * takes a way of that bucket: the flow's own, else an empty one, else a stale one (VIP
 * gone, or past its timeout), else an embryonic one (a SYN never answered), else the
 * least recently seen. A SYN never takes an established flow's way: finding none of
 * the others, it goes by the ring without an entry, and its flow's first other packet
 * inserts. So a SYN flood replaces only other SYNs' entries.
 *
 * Writes are plain stores that other CPUs may read half done. Every way carries a check
 * word (flow_check) over its key and the fields that route it; a way whose check does not
 * match what was read is a miss, so a torn entry sends no packet to another flow's VIP
 * or backend. The time and flags are outside the check: torn, they misjudge an age.
 */
#ifndef LB_FLOW_TABLE_H
#define LB_FLOW_TABLE_H

#include <linux/in.h>
#include "hash.h"
#include "maps.h"

#define NSEC_PER_SEC 1000000000ULL

/* Orders the way's stores for the CPUs that read it (x86 keeps stores in order). */
#define compiler_barrier() asm volatile("" ::: "memory")

static __always_inline struct lb_vip_info *vip_at(__u32 index)
{
	return bpf_map_lookup_elem(&vips, &index);
}

/*
 * How long the entry stays valid without packets: the VIP's (or the global) UDP idle
 * timeout; for TCP the linger once the client sent a FIN or an RST, else the TCP idle
 * timeout. 0: no limit.
 */
static __always_inline __u64 entry_timeout_ns(const struct lb_flow *entry, __u8 proto,
					      const struct lb_vip_info *vip,
					      const struct lb_config *cfg)
{
	__u32 timeout_s;

	if (proto == IPPROTO_UDP)
		timeout_s = vip->udp_idle_timeout_s ? vip->udp_idle_timeout_s : cfg->udp_idle_timeout_s;
	else if ((entry->flags & LB_FLOW_F_CLOSING) && cfg->tcp_linger_s)
		timeout_s = cfg->tcp_linger_s;
	else
		timeout_s = cfg->tcp_idle_timeout_s;
	return timeout_s * NSEC_PER_SEC;
}

static __always_inline bool entry_expired(const struct lb_flow *entry, __u8 proto,
					  const struct lb_vip_info *vip,
					  const struct lb_config *cfg, __u64 now)
{
	__u64 timeout = entry_timeout_ns(entry, proto, vip, cfg);

	return timeout && now - entry->last_seen_ns > timeout;
}

/* The way's check word: nonzero, a hash of the key's hash and the routing fields. */
static __always_inline __u32 flow_check(__u32 key_hash, const struct lb_flow *entry)
{
	__u32 h = hash_mix(key_hash, entry->backend);

	h = hash_mix(h, (__u32)entry->vip | (__u32)entry->vip_generation << 16);
	h = hash_final(hash_mix(h, entry->backend_generation));
	return h ? h : 1;
}

/* The ports and the client address's last word first: they tell most flows apart. */
static __always_inline bool flow_key_equal(const struct lb_flow_key *a, const struct lb_flow_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	__u32 diff, i;

	if ((x[8] ^ y[8]) | (x[3] ^ y[3]) | (x[0] ^ y[0]))
		return false;
	diff = 0;
#pragma unroll
	for (i = 0; i < sizeof(*a) / 4; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/*
 * Bit i set when way i is in use. Read before the ways are compared: the eight loads
 * are independent, so the CPU fetches the bucket's eight cache lines at once instead
 * of one after the other as each comparison fails.
 */
static __always_inline __u32 flow_ways_used(const struct lb_flow_bucket *bucket)
{
	__u32 used = 0, i;

#pragma unroll
	for (i = 0; i < LB_FLOW_WAYS; i++) {
		__u32 check = bucket->ways[i].flow.check;

		used |= ((check | -check) >> 31) << i;
	}
	return used;
}

static __always_inline struct lb_flow_bucket *flow_bucket(__u32 key_hash)
{
	__u32 index = hash_reduce(key_hash, LB_FLOW_BUCKETS(lb_limits.connection_table));

	return bpf_map_lookup_elem(&conn_table, &index);
}

/*
 * The way holding `flow`, its entry copied to `entry` as read when its check matched
 * (use the copy to route: the way may change meanwhile); NULL when none holds it.
 */
static __always_inline struct lb_flow *flow_lookup(const struct lb_flow_key *flow, __u32 key_hash,
						   struct lb_flow *entry)
{
	struct lb_flow_bucket *bucket = flow_bucket(key_hash);
	__u32 i;

	if (!bucket)
		return NULL;
	if (!flow_ways_used(bucket))
		return NULL;
#pragma unroll
	for (i = 0; i < LB_FLOW_WAYS; i++) {
		struct lb_flow_slot *slot = &bucket->ways[i];

		if (!slot->flow.check || !flow_key_equal(&slot->key, flow))
			continue;
		*entry = slot->flow;
		if (entry->check == flow_check(key_hash, entry))
			return &slot->flow;
	}
	return NULL;
}

/* A way no packet will route by: its VIP index reassigned, or past its timeout. */
static __always_inline bool flow_stale(const struct lb_flow_slot *slot, const struct lb_config *cfg,
				       __u64 now)
{
	struct lb_vip_info *vip = vip_at(slot->flow.vip);

	return !vip || (__u16)vip->generation != slot->flow.vip_generation ||
	       entry_expired(&slot->flow, slot->key.proto, vip, cfg, now);
}

/* What a way is to an insert, best first: the order flow_victim takes them in. */
enum flow_way_class {
	FLOW_WAY_EMPTY = 0,
	FLOW_WAY_STALE,
	FLOW_WAY_EMBRYONIC,
	FLOW_WAY_ESTABLISHED,
};

#define FLOW_WAY_CLASS_SHIFT 62

/*
 * A way's rank for replacement, lowest first: its class, then its age (the least
 * recently seen first). One number per way keeps the verifier's states few: it
 * tracks the best way, not one candidate per class.
 */
static __always_inline __u64 flow_way_rank(const struct lb_flow_slot *slot, const struct lb_config *cfg,
					   __u64 now)
{
	__u64 class;

	if (!slot->flow.check)
		class = FLOW_WAY_EMPTY;
	else if (flow_stale(slot, cfg, now))
		class = FLOW_WAY_STALE;
	else if (slot->flow.flags & LB_FLOW_F_EMBRYONIC)
		class = FLOW_WAY_EMBRYONIC;
	else
		class = FLOW_WAY_ESTABLISHED;
	return class << FLOW_WAY_CLASS_SHIFT | (slot->flow.last_seen_ns & ((1ULL << FLOW_WAY_CLASS_SHIFT) - 1));
}

/* flow_victim's walk over a bucket, one way per step of bpf_loop. */
struct flow_victim_scan {
	const struct lb_flow_bucket *bucket;
	const struct lb_flow_key *flow;
	const struct lb_config *cfg;
	__u64 now;
	__u64 best_rank;
	__u32 best;
	bool own; /* `best` holds the flow itself */
};

static long flow_victim_step(__u64 index, void *data)
{
	struct flow_victim_scan *scan = data;
	const struct lb_flow_slot *slot;
	__u64 rank;

	if (index >= LB_FLOW_WAYS)
		return 1;
	slot = &scan->bucket->ways[index];
	if (slot->flow.check && flow_key_equal(&slot->key, scan->flow)) {
		scan->best = index;
		scan->own = true;
		return 1;
	}
	rank = flow_way_rank(slot, scan->cfg, scan->now);
	if (rank < scan->best_rank) {
		scan->best_rank = rank;
		scan->best = index;
	}
	return 0;
}

/*
 * The way a new entry of `flow` takes in `bucket`: its own (a SYN re-picking, a stale
 * entry renewed), else an empty, stale or embryonic way in that order, else the least
 * recently seen; -1 for a SYN when only established flows' ways are left. A bpf_loop,
 * not an unrolled loop: the verifier checks one step, not every way's outcomes in
 * every combination.
 */
static __always_inline int flow_victim(const struct lb_flow_bucket *bucket, const struct lb_flow_key *flow,
				       bool syn, const struct lb_config *cfg, __u64 now)
{
	struct flow_victim_scan scan = {
		.bucket = bucket,
		.flow = flow,
		.cfg = cfg,
		.now = now,
		.best_rank = ~0ULL,
	};

	if (!flow_ways_used(bucket))
		return 0;
	bpf_loop(LB_FLOW_WAYS, flow_victim_step, &scan, 0);
	if (!scan.own && syn && scan.best_rank >> FLOW_WAY_CLASS_SHIFT == FLOW_WAY_ESTABLISHED)
		return -1;
	return scan.best;
}

/*
 * Writes `entry` (its check set here) for `flow` into the way flow_victim chooses;
 * false when there is none (a SYN, its bucket full of established flows). The check
 * is cleared first and written last, so a reader on another CPU sees the old entry,
 * a way that does not match, or the new entry.
 */
static __always_inline bool flow_insert(const struct lb_flow_key *flow, __u32 key_hash,
					struct lb_flow *entry, bool syn,
					const struct lb_config *cfg, __u64 now)
{
	struct lb_flow_bucket *bucket = flow_bucket(key_hash);
	struct lb_flow_slot *slot;
	int way;

	if (!bucket)
		return false;
	way = flow_victim(bucket, flow, syn, cfg, now);
	if (way < 0 || way >= LB_FLOW_WAYS)
		return false;
	slot = &bucket->ways[way];
	entry->check = 0;
	slot->flow.check = 0;
	compiler_barrier();
	slot->key = *flow;
	slot->flow = *entry;
	compiler_barrier();
	slot->flow.check = flow_check(key_hash, entry);
	return true;
}

#endif

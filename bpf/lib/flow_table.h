/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The connection table (conn_table, lb_abi.h): set-associative buckets in one array
 * shared by all CPUs. A bucket's first cache line holds a tag and a lease per way, so
 * a lookup reads that line and the way whose tag is its key's (two lines for a hit,
 * one for most misses), and an insert chooses from the leases alone: the flow's own
 * way, else an empty or expired one, else an embryonic one (a SYN never answered),
 * the soonest to expire first, else the established one soonest to expire. A SYN never
 * takes an established flow's way: finding none of the others, it goes by the ring
 * without an entry, and its flow's first other packet inserts. So a SYN flood replaces
 * only other SYNs' entries.
 *
 * Writes are plain stores that other CPUs may read half done. Every way carries a check
 * word (flow_check) over its key and the fields that route it; a way whose check does not
 * match what was read is a miss, so a torn entry sends no packet to another flow's VIP
 * or backend. The tags, leases, time and flags are outside the check: torn, they cost
 * a miss or misjudge an age.
 */
#ifndef LB_FLOW_TABLE_H
#define LB_FLOW_TABLE_H

#include <linux/in.h>
#include "hash.h"
#include "maps.h"
#include "parse.h"

#define NSEC_PER_SEC 1000000000ULL

/* Orders the way's stores for the CPUs that read it (x86 keeps stores in order). */
#define compiler_barrier() asm volatile("" ::: "memory")

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

/* A way's tag: never 0, the mark of an empty way. */
static __always_inline __u32 flow_tag(__u32 key_hash)
{
	return key_hash | 1;
}

/* The lease of a way holding `entry` (lb_abi.h), whose timeout is `timeout_ns` (0: none). */
static __always_inline __u32 flow_lease(const struct lb_flow *entry, __u64 timeout_ns)
{
	__u64 until = (entry->last_seen_ns + timeout_ns) >> LB_FLOW_LEASE_SHIFT;
	__u32 lease = !timeout_ns || until > LB_FLOW_LEASE_FOREVER ? LB_FLOW_LEASE_FOREVER : (__u32)until;

	return entry->flags & LB_FLOW_F_EMBRYONIC ? lease : lease | LB_FLOW_LEASE_ESTABLISHED;
}

/* A way of a bucket, as found by a lookup. */
struct flow_way {
	struct lb_flow_bucket *bucket;
	__u32 index;
};

static __always_inline struct lb_flow_bucket *flow_bucket(__u32 key_hash)
{
	__u32 index = hash_reduce(key_hash, LB_FLOW_BUCKETS(lb_limits.connection_table));

	return bpf_map_lookup_elem(&conn_table, &index);
}

/* The way of `bucket` given `flow`'s key, whatever its check says; -1 when none is. */
static __always_inline int flow_find(const struct lb_flow_bucket *bucket, const struct lb_flow_key *flow,
				     __u32 tag)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < LB_FLOW_WAYS; i++)
		if (bucket->head.tags[i] == tag && flow_key_equal(&bucket->ways[i].key, flow))
			return i;
	return -1;
}

/*
 * Finds the way holding `flow`, its entry copied to `entry` as read when its check
 * matched (use the copy to route: the way may change meanwhile); false when none holds it.
 */
static __always_inline bool flow_lookup(const struct lb_flow_key *flow, __u32 key_hash,
					struct lb_flow *entry, struct flow_way *way)
{
	struct lb_flow_bucket *bucket = flow_bucket(key_hash);
	int index;

	if (!bucket)
		return false;
	index = flow_find(bucket, flow, flow_tag(key_hash));
	if (index < 0)
		return false;
	way->bucket = bucket;
	way->index = index & (LB_FLOW_WAYS - 1);
	*entry = bucket->ways[way->index].flow;
	return entry->check && entry->check == flow_check(key_hash, entry);
}

/*
 * Records a packet of the flow in its way, `timeout_ns` its entry's timeout: any
 * packet (never a SYN) makes it established, not embryonic; the client's FIN or RST
 * starts the linger (DSR shows only the client's half of the close); otherwise the
 * time is refreshed at most every LB_FLOW_REFRESH_NS, so traffic that continues keeps
 * the entry alive and the bucket's lines are not dirtied on every packet.
 */
static __always_inline void flow_note_packet(const struct flow_way *way, __u8 proto, __u8 tcp_flags,
					     const struct lb_vip_info *vip, const struct lb_config *cfg,
					     __u64 now)
{
	__u32 index = way->index & (LB_FLOW_WAYS - 1);
	struct lb_flow *entry = &way->bucket->ways[index].flow;
	__u8 flags = entry->flags & ~LB_FLOW_F_EMBRYONIC;

	if (tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
		flags |= LB_FLOW_F_CLOSING;
	if (flags == entry->flags && now - entry->last_seen_ns <= LB_FLOW_REFRESH_NS)
		return;
	entry->flags = flags;
	entry->last_seen_ns = now;
	way->bucket->head.leases[index] = flow_lease(entry, entry_timeout_ns(entry, proto, vip, cfg));
}

/* Where flow_insert put an entry, or why it did not. */
enum flow_insert_result {
	FLOW_INSERTED,          /* the flow's own way, or one free, expired or embryonic */
	FLOW_EVICTED,           /* a live established flow's way: that flow lost its entry */
	FLOW_SYN_BUCKET_FULL,   /* none: a SYN, and only live established flows' ways left */
	FLOW_NO_BUCKET,
};

/*
 * The way a new entry takes in a bucket without the flow's own: the lowest rank, where
 * an empty way ranks 0, an expired one 1, then embryonic ways by lease, then
 * established ways by lease; `*evicts` tells an established flow's live way. The way's
 * index rides in the rank's low bits, so the verifier follows one number, not a
 * candidate per way.
 */
static __always_inline __u32 flow_victim(const struct lb_flow_bucket_head *head, __u64 now, bool *evicts)
{
	__u32 today = now >> LB_FLOW_LEASE_SHIFT;
	__u64 best = ~0ULL, rank;
	__u32 i, lease;

#pragma unroll
	for (i = 0; i < LB_FLOW_WAYS; i++) {
		lease = head->leases[i];
		if (!head->tags[i])
			lease = 0;
		else if ((lease & ~LB_FLOW_LEASE_ESTABLISHED) < today)
			lease = 1;
		rank = (__u64)lease << 3 | i;
		if (rank < best)
			best = rank;
	}
	*evicts = (best >> 3) & LB_FLOW_LEASE_ESTABLISHED;
	return best & (LB_FLOW_WAYS - 1);
}

/*
 * Writes `entry` (its check set here) for `flow`, whose timeout is `timeout_ns`, into
 * its own way or the one flow_victim chooses, except a SYN's into a live established
 * flow's. The check is cleared first and written last, so a reader on another CPU
 * sees the old entry, a way that does not match, or the new entry; the tag and lease
 * follow.
 */
static __always_inline enum flow_insert_result flow_insert(const struct lb_flow_key *flow, __u32 key_hash,
							   struct lb_flow *entry, bool syn,
							   __u64 timeout_ns, __u64 now)
{
	struct lb_flow_bucket *bucket = flow_bucket(key_hash);
	__u32 tag = flow_tag(key_hash);
	struct lb_flow_slot *slot;
	bool evicts = false;
	int way;

	if (!bucket)
		return FLOW_NO_BUCKET;
	way = flow_find(bucket, flow, tag);
	if (way < 0)
		way = flow_victim(&bucket->head, now, &evicts);
	if (evicts && syn)
		return FLOW_SYN_BUCKET_FULL;
	way &= LB_FLOW_WAYS - 1;
	slot = &bucket->ways[way];
	entry->check = 0;
	slot->flow.check = 0;
	compiler_barrier();
	slot->key = *flow;
	slot->flow = *entry;
	compiler_barrier();
	slot->flow.check = flow_check(key_hash, entry);
	bucket->head.tags[way] = tag;
	bucket->head.leases[way] = flow_lease(entry, timeout_ns);
	return evicts ? FLOW_EVICTED : FLOW_INSERTED;
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * SYN floods: the per-CPU new-flow limit (flood_config.new_flows_per_cpu). A flow over
 * it is sent by its VIP's ring without a connection entry, so a flood of spoofed SYNs
 * costs no table writes and does not churn out the entries of real handshakes (it
 * cannot evict established flows' in any case: flow_table.h). Each CPU counts in its own one-second
 * window (flood_window, per CPU: no atomics), SYNs and other new flows separately, so a
 * SYN flood leaves the budget of the handshakes' ACKs alone. Beyond the limit:
 *  - A window that ends over the limit in SYNs leaves the next one flooded: while a flood
 *    lasts no SYN gets an entry, not even the first `limit` of each second. The client's
 *    ACK, the handshake's first packet without SYN, creates it (from the other budget).
 *  - Except on a VIP whose ring this CPU saw change within LB_FLOOD_RING_HOLD_NS: ring
 *    changes come in bursts (a rolling deploy, a flapping check), and a handshake whose
 *    SYN and ACK straddle one would reach two backends. There SYNs within the limit get
 *    their entry as without a flood.
 * docs/datapath.md ("SYN floods") weighs the choices and their failure modes.
 * Reached only by packets that would create an entry; established flows never are.
 */
#ifndef LB_FLOOD_H
#define LB_FLOOD_H

#include "sources.h"
#include "stats.h"

/* A flood paused this long is over: the next window starts with SYNs getting entries. */
#define LB_FLOOD_MEMORY_NS 10000000000LL
#define LB_FLOOD_RING_HOLD_NS 1000000000ULL

static __always_inline struct lb_flood_window *flood_window_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&flood_window, &zero);
}

/*
 * Starts a new window once the current one is a second old. The next one is flooded
 * when the one that ends had more SYNs than the limit and began less than
 * LB_FLOOD_MEMORY_NS ago.
 */
static __always_inline void roll_flood_window(struct lb_flood_window *window, __u32 limit, __u64 now)
{
	__s64 age = window_age(window->start_ns, now);

	if (age < LB_FLOW_WINDOW_NS)
		return;
	window->flooded = age < LB_FLOOD_MEMORY_NS && window->syns > limit;
	window->start_ns = now;
	window->syns = 0;
	window->others = 0;
}

/*
 * Whether this CPU saw VIP `index`'s live ring change within LB_FLOOD_RING_HOLD_NS; records
 * the ring it sees. A first sight, or the index given to another VIP, is no change.
 */
static __always_inline bool ring_changed_recently(__u32 index, const struct lb_vip_info *vip, __u64 now)
{
	struct lb_flood_ring *seen = bpf_map_lookup_elem(&flood_rings, &index);
	__u8 ring = vip->ring & 1;

	if (!seen)
		return false;
	if (!seen->seen || seen->generation != vip->generation) {
		seen->seen = 1;
		seen->generation = vip->generation;
		seen->ring = ring;
		seen->changed_ns = 0;
		return false;
	}
	if (seen->ring != ring) {
		seen->ring = ring;
		seen->changed_ns = now;
	}
	return seen->changed_ns && now - seen->changed_ns < LB_FLOOD_RING_HOLD_NS;
}

/* A SYN's entry: within the limit, and outside a flood unless its VIP's ring just changed. */
static __always_inline bool syn_gets_entry(struct lb_flood_window *window, __u32 limit, __u32 index,
					   const struct lb_vip_info *vip, __u64 now)
{
	bool within = ++window->syns <= limit;

	if (within && !window->flooded)
		return true;
	/* Read even over the limit, so the CPU notices every flip while it is flooded. */
	return ring_changed_recently(index, vip, now) && within;
}

/*
 * Whether a new flow to VIP `index` may create its connection entry at `now`; false
 * (counted) when its CPU is over `cfg`'s new_flows_per_cpu (flood_settings(), may be
 * NULL): the caller sends it by the ring without one. Always true when the limit is 0.
 */
static __always_inline bool flood_admits_entry(bool syn, __u32 index, const struct lb_vip_info *vip,
					       const struct lb_flood_config *cfg, __u64 now,
					       struct lb_global_stats *stats)
{
	struct lb_flood_window *window;
	__u32 limit = cfg ? cfg->new_flows_per_cpu : 0;

	if (!limit)
		return true;
	window = flood_window_state();
	if (!window)
		return true;
	roll_flood_window(window, limit, now);
	if (syn ? syn_gets_entry(window, limit, index, vip, now) : ++window->others <= limit)
		return true;
	count(stats, syn ? LB_STAT_FLOOD_SYN : LB_STAT_FLOOD_OTHER);
	return false;
}

#endif

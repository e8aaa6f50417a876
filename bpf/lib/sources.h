/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Who opens connections: new flows counted per (VIP, client prefix) in source_flows,
 * and the optional per-prefix limit (flood_config.per_source_new_flows). Reached only
 * by packets that would create a connection entry, never by established flows; counts
 * only while flood_config has a limit or says `counting`, otherwise it reads that flag
 * and nothing more.
 */
#ifndef LB_SOURCES_H
#define LB_SOURCES_H

#include "maps.h"

/* The one-second windows new flows are counted in, per source prefix and per CPU (flood.h). */
#define LB_FLOW_WINDOW_NS 1000000000LL

static __always_inline struct lb_flood_config *flood_settings(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&flood_config, &zero);
}

/*
 * How long the window that began at `start_ns` has run at `now`; signed: a window
 * another CPU started just after `now` was read is current, not 584 years old.
 */
static __always_inline __s64 window_age(__u64 start_ns, __u64 now)
{
	return (__s64)(now - start_ns);
}

/* The top `len` bits of the four big-endian words of `addr`, the rest cleared. */
static __always_inline void mask_prefix(__be32 out[4], const __be32 addr[4], __u32 len)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		__u32 bits = len > 32 * i ? len - 32 * i : 0;

		if (bits >= 32)
			out[i] = addr[i];
		else if (bits == 0)
			out[i] = 0;
		else
			out[i] = addr[i] & bpf_htonl(~0U << (32 - bits));
	}
}

static __always_inline void source_key(const struct lb_flow_key *flow, __u32 vip, __u32 generation,
				       const struct lb_flood_config *cfg, struct lb_source_key *key)
{
	bool v4 = flow->family == LB_FAMILY_V4;
	__u32 len = v4 ? cfg->prefix_v4 : cfg->prefix_v6;

	if (len == 0 || len > (v4 ? 32U : 128U))
		len = v4 ? 24 : 64;
	key->vip = vip;
	key->vip_generation = generation;
	key->family = flow->family;
	key->prefix_len = len;
	mask_prefix(key->prefix, flow->src, len);
}

static __always_inline void count_refused_source(void)
{
	__u32 zero = 0;
	struct lb_flood_stats *stats = bpf_map_lookup_elem(&flood_stats, &zero);

	if (stats)
		stats->refused++;
}

/*
 * Counts a new flow of `flow`'s client prefix to VIP `vip` (of `generation`), arriving at
 * `now`, while `cfg` (flood_settings(), may be NULL) has counting on; false when the
 * prefix is over its limit in the current one-second window: the flow is refused and
 * counted. CPUs share an entry: the adds are atomic; a window restarted by two CPUs at
 * once can admit up to one window's worth more per CPU.
 */
static __always_inline bool admit_source(const struct lb_flow_key *flow, __u32 vip, __u32 generation,
					const struct lb_flood_config *cfg, __u64 now)
{
	struct lb_source_key key;
	struct lb_source_flows *entry;
	__u32 limit;

	if (!cfg || (!cfg->per_source_new_flows && !cfg->counting))
		return true;
	limit = cfg->per_source_new_flows;
	__builtin_memset(&key, 0, sizeof(key));
	source_key(flow, vip, generation, cfg, &key);
	entry = bpf_map_lookup_elem(&source_flows, &key);
	if (!entry) {
		struct lb_source_flows first = {
			.new_flows = 1,
			.window_flows = 1,
			.first_seen_ns = now,
			.last_seen_ns = now,
			.window_start_ns = now,
		};

		if (bpf_map_update_elem(&source_flows, &key, &first, BPF_NOEXIST) == 0)
			return true;
		/* Another CPU created it meanwhile: count on its entry. */
		entry = bpf_map_lookup_elem(&source_flows, &key);
		if (!entry)
			return true;
	}
	if (window_age(entry->window_start_ns, now) >= LB_FLOW_WINDOW_NS) {
		entry->window_start_ns = now;
		entry->window_flows = 0;
	}
	__sync_fetch_and_add(&entry->new_flows, 1);
	__sync_fetch_and_add(&entry->window_flows, 1);
	entry->last_seen_ns = now;
	if (limit && entry->window_flows > limit) {
		__sync_fetch_and_add(&entry->refused, 1);
		count_refused_source();
		return false;
	}
	return true;
}

#endif

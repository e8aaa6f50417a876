/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters; user space sums the CPUs. */
#ifndef LB_STATS_H
#define LB_STATS_H

#include "maps.h"

static __always_inline struct lb_global_stats *global_counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&global_stats, &zero);
}

static __always_inline void count(struct lb_global_stats *stats, enum lb_stat stat)
{
	if (stats && stat < LB_STAT_COUNT)
		stats->counters[stat]++;
}

static __always_inline void count_traffic(void *map, __u32 index, __u32 bytes)
{
	struct lb_traffic *traffic = bpf_map_lookup_elem(map, &index);

	if (traffic) {
		traffic->packets++;
		traffic->bytes += bytes;
	}
}

/*
 * The VIP's flow counters, counted on packets that reach the ring (SYNs and misses):
 * established flows never look them up.
 */
static __always_inline struct lb_vip_flows *vip_flow_counters(__u32 index)
{
	return bpf_map_lookup_elem(&vip_flow_stats, &index);
}

static __always_inline void count_vip_arrival(struct lb_vip_flows *flows, bool syn, enum lb_stat lookup)
{
	if (!flows)
		return;
	if (syn)
		flows->syns++;
	else if (lookup == LB_STAT_CONN_MISS_TCP || lookup == LB_STAT_CONN_MISS_UDP)
		flows->misses++;
}

#endif

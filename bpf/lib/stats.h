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

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VIP lookup and backend selection: the connection table for established flows,
 * the VIP's live Maglev ring for new ones.
 */
#ifndef LB_FLOW_H
#define LB_FLOW_H

#include "hash.h"
#include "parse.h"
#include "stats.h"

#define NSEC_PER_SEC 1000000000ULL

/* The VIP for (destination, port, protocol); a port-0 VIP catches every port. */
static __always_inline struct lb_vip_info *lookup_vip(const struct lb_flow_key *flow)
{
	struct lb_vip_key key = {
		.port = flow->dport,
		.proto = flow->proto,
		.family = flow->family,
	};
	struct lb_vip_info *vip;

	__builtin_memcpy(key.addr, flow->dst, sizeof(key.addr));
	vip = bpf_map_lookup_elem(&vip_map, &key);
	if (vip)
		return vip;
	key.port = 0;
	return bpf_map_lookup_elem(&vip_map, &key);
}

static __always_inline bool is_vip_address(const __be32 addr[4], __u8 family)
{
	struct lb_vip_addr_key key = { .family = family };

	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	return bpf_map_lookup_elem(&vip_addrs, &key) != NULL;
}

static __always_inline bool udp_entry_expired(const struct lb_flow *entry,
					      const struct lb_vip_info *vip,
					      const struct lb_config *cfg, __u64 now)
{
	__u32 timeout_s = vip->udp_idle_timeout_s ? vip->udp_idle_timeout_s
						  : cfg->udp_idle_timeout_s;

	return now - entry->last_seen_ns > timeout_s * NSEC_PER_SEC;
}

/*
 * The backend of an established flow, or LB_BACKEND_NONE. An entry whose backend
 * is down is a miss (the flow is re-picked); a draining backend is still up.
 */
static __always_inline __u32 established_backend(const struct lb_flow_key *flow,
						 const struct lb_vip_info *vip,
						 const struct lb_config *cfg,
						 struct lb_global_stats *stats)
{
	struct lb_flow *entry = bpf_map_lookup_elem(&conn_table, flow);
	struct lb_backend *backend;
	__u64 now;

	if (!entry || entry->backend == LB_BACKEND_NONE)
		goto miss;
	backend = bpf_map_lookup_elem(&backends, &entry->backend);
	if (!backend || !(backend->flags & LB_BACKEND_F_UP)) {
		count(stats, LB_STAT_CONN_RESCHEDULED);
		goto miss;
	}
	if (flow->proto == IPPROTO_UDP) {
		now = bpf_ktime_get_coarse_ns();
		if (udp_entry_expired(entry, vip, cfg, now))
			goto miss;
		entry->last_seen_ns = now;
	}
	count(stats, LB_STAT_CONN_HIT);
	return entry->backend;
miss:
	count(stats, LB_STAT_CONN_MISS);
	return LB_BACKEND_NONE;
}

/* The backend the VIP's live ring gives this flow, or LB_BACKEND_NONE. */
static __always_inline __u32 ring_backend(const struct lb_flow_key *flow,
					  const struct lb_vip_info *vip)
{
	__u32 ring_size = lb_limits.ring_size;
	__u32 slot, *backend;

	if (vip->flags & LB_VIP_F_NO_BACKEND)
		return LB_BACKEND_NONE;
	slot = (vip->index * 2 + (vip->ring & 1)) * ring_size +
	       hash_reduce(flow_hash(flow, vip->flags & LB_VIP_F_HASH_SOURCE_ONLY), ring_size);
	backend = bpf_map_lookup_elem(&rings, &slot);
	return backend ? *backend : LB_BACKEND_NONE;
}

static __always_inline void remember_flow(const struct lb_flow_key *flow, __u32 backend,
					  struct lb_global_stats *stats)
{
	struct lb_flow entry = { .backend = backend };

	if (flow->proto == IPPROTO_UDP)
		entry.last_seen_ns = bpf_ktime_get_coarse_ns();
	if (!bpf_map_update_elem(&conn_table, flow, &entry, BPF_ANY))
		count(stats, LB_STAT_NEW_FLOW);
}

/*
 * The backend for a packet of `flow`. A TCP SYN always consults the ring, so a
 * reused 5-tuple follows the current ring; an RST or a packet that only looks a
 * flow up (remember = false) never creates an entry.
 */
static __always_inline __u32 select_backend(const struct lb_flow_key *flow, __u8 tcp_flags,
					    bool remember, const struct lb_vip_info *vip,
					    const struct lb_config *cfg,
					    struct lb_global_stats *stats)
{
	bool syn = flow->proto == IPPROTO_TCP && (tcp_flags & TCP_FLAG_SYN);
	__u32 backend = LB_BACKEND_NONE;

	if (!syn)
		backend = established_backend(flow, vip, cfg, stats);
	if (backend != LB_BACKEND_NONE)
		return backend;
	backend = ring_backend(flow, vip);
	if (backend != LB_BACKEND_NONE && remember && !(tcp_flags & TCP_FLAG_RST))
		remember_flow(flow, backend, stats);
	return backend;
}

#endif

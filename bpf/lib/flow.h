/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * VIP lookup and backend selection. Established flows are served from the connection
 * table alone (it records the flow's VIP), new flows from the VIP's live Maglev ring.
 */
#ifndef LB_FLOW_H
#define LB_FLOW_H

#include "flood.h"
#include "flow_table.h"
#include "hash.h"
#include "parse.h"
#include "quic.h"
#include "sources.h"
#include "stats.h"

/* Where a flow goes: its VIP's index and the backend chosen, with its entry. */
struct route {
	__u32 vip;
	__u32 backend;
	struct lb_backend *target; /* backends[backend]; NULL when backend is LB_BACKEND_NONE */
	bool refused;              /* a new flow over its client prefix's limit: drop it */
	bool from_ring;            /* routed by the ring, not by a connection entry */
};

/* False proves `addr` carries no VIP; true means "look it up" (the filter may collide). */
static __always_inline bool may_be_vip(const __be32 addr[4], __u8 family)
{
	__u32 zero = 0, bit = lb_addr_hash(addr, family) % LB_VIP_FILTER_BITS;
	struct lb_vip_filter *filter = bpf_map_lookup_elem(&vip_filter, &zero);

	return filter && (filter->words[bit / 64] >> (bit % 64)) & 1;
}

static __always_inline bool is_vip_address(const __be32 addr[4], __u8 family)
{
	struct lb_vip_addr_key key = { .family = family };

	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	return bpf_map_lookup_elem(&vip_addrs, &key) != NULL;
}

static __always_inline struct lb_vip_info *vip_at(__u32 index)
{
	return bpf_map_lookup_elem(&vips, &index);
}

/* The VIP for (destination, port, protocol); a port-0 VIP catches every port. */
static __always_inline struct lb_vip_info *lookup_vip(const struct lb_flow_key *flow, __u32 *index)
{
	struct lb_vip_key key = {
		.port = flow->dport,
		.proto = flow->proto,
		.family = flow->family,
	};
	__u32 *found;

	__builtin_memcpy(key.addr, flow->dst, sizeof(key.addr));
	found = bpf_map_lookup_elem(&vip_map, &key);
	if (!found) {
		key.port = 0;
		found = bpf_map_lookup_elem(&vip_map, &key);
	}
	if (!found)
		return NULL;
	*index = *found;
	return vip_at(*index);
}

/* backends[index] if it has an address family to encapsulate in, up or not. */
static __always_inline struct lb_backend *backend_at(__u32 index)
{
	struct lb_backend *backend;

	if (index == LB_BACKEND_NONE)
		return NULL;
	backend = bpf_map_lookup_elem(&backends, &index);
	if (!backend || (backend->family != LB_FAMILY_V4 && backend->family != LB_FAMILY_V6))
		return NULL;
	return backend;
}

/* backends[index] if it may take packets: marked up, with an address family to encapsulate in. */
static __always_inline struct lb_backend *usable_backend(__u32 index)
{
	struct lb_backend *backend = backend_at(index);

	return backend && (backend->flags & LB_BACKEND_F_UP) ? backend : NULL;
}

/*
 * The backend an established flow may keep: its own (same generation), up, or down
 * on a VIP that keeps such flows until they end.
 */
static __always_inline struct lb_backend *entry_backend(const struct lb_flow *entry,
							const struct lb_vip_info *vip)
{
	struct lb_backend *backend = backend_at(entry->backend);

	if (!backend || backend->generation != entry->backend_generation)
		return NULL;
	if (!(backend->flags & LB_BACKEND_F_UP) && !(vip->flags & LB_VIP_F_KEEP_FLOWS_ON_DOWN))
		return NULL;
	return backend;
}

/*
 * The route of an established flow, from its connection entry, and the lookup's
 * outcome: LB_STAT_CONN_HIT when `route` is set. An entry of a VIP index since given
 * to another VIP, or one past its timeout (entry_timeout_ns), is stale: a miss. An
 * entry whose backend is down (unless its VIP keeps such flows), or whose index has
 * passed to another backend (a later generation), is rescheduled. A draining backend
 * is still up.
 */
static __always_inline enum lb_stat established_route(const struct lb_flow_key *flow, __u32 key_hash,
						      __u8 tcp_flags, const struct lb_config *cfg,
						      struct route *route)
{
	enum lb_stat miss = flow->proto == IPPROTO_TCP ? LB_STAT_CONN_MISS_TCP : LB_STAT_CONN_MISS_UDP;
	struct lb_flow entry;
	struct flow_way way;
	struct lb_vip_info *vip;
	struct lb_backend *backend;
	__u64 now;

	if (!flow_lookup(flow, key_hash, &entry, &way) || entry.backend == LB_BACKEND_NONE)
		return miss;
	vip = vip_at(entry.vip);
	if (!vip || (__u16)vip->generation != entry.vip_generation)
		return miss;
	now = bpf_ktime_get_coarse_ns();
	if (entry_expired(&entry, flow->proto, vip, cfg, now))
		return miss;
	backend = entry_backend(&entry, vip);
	if (!backend)
		return LB_STAT_CONN_RESCHEDULED;
	flow_note_packet(&way, flow->proto, tcp_flags, vip, cfg, now);
	route->vip = entry.vip;
	route->backend = entry.backend;
	route->target = backend;
	return LB_STAT_CONN_HIT;
}

/* The backend the VIP's live ring gives this flow, or LB_BACKEND_NONE. */
static __always_inline __u32 ring_backend(const struct lb_flow_key *flow,
					  const struct lb_vip_info *vip, __u32 index)
{
	__u32 ring_size = lb_limits.ring_size;
	__u32 chunks = (ring_size + LB_RING_CHUNK_SLOTS - 1) / LB_RING_CHUNK_SLOTS;
	struct lb_ring_chunk *chunk;
	__u32 slot, key;

	if (vip->flags & LB_VIP_F_NO_BACKEND)
		return LB_BACKEND_NONE;
	slot = hash_reduce(flow_hash(flow, vip->flags & LB_VIP_F_HASH_SOURCE_ONLY), ring_size);
	key = (index * 2 + (vip->ring & 1)) * chunks + slot / LB_RING_CHUNK_SLOTS;
	chunk = bpf_map_lookup_elem(&rings, &key);
	return chunk ? chunk->slots[slot % LB_RING_CHUNK_SLOTS] : LB_BACKEND_NONE;
}

/*
 * A new entry, seen at `now`: embryonic for a SYN; a FIN that finds none (its flow's
 * entry lost) creates it closing. A SYN whose bucket holds only established flows
 * creates none (flow_insert).
 */
static __always_inline void remember_flow(const struct lb_flow_key *flow, __u32 key_hash, __u8 tcp_flags,
					  const struct route *route, const struct lb_vip_info *vip,
					  const struct lb_config *cfg, __u64 now,
					  struct lb_global_stats *stats, struct lb_vip_flows *flows)
{
	bool syn = flow->proto == IPPROTO_TCP && (tcp_flags & TCP_FLAG_SYN);
	struct lb_flow entry = {
		.backend = route->backend,
		.vip = route->vip,
		.vip_generation = vip->generation,
		.last_seen_ns = now,
		.backend_generation = route->target->generation,
		.flags = syn ? LB_FLOW_F_EMBRYONIC : tcp_flags & TCP_FLAG_FIN ? LB_FLOW_F_CLOSING : 0,
	};

	switch (flow_insert(flow, key_hash, &entry, syn, entry_timeout_ns(&entry, flow->proto, vip, cfg), now)) {
	case FLOW_SYN_BUCKET_FULL:
		count(stats, LB_STAT_SYN_BUCKET_FULL);
		return;
	case FLOW_NO_BUCKET:
		return;
	case FLOW_EVICTED:
		count(stats, LB_STAT_EVICTED);
		break;
	case FLOW_INSERTED:
		break;
	}
	count(stats, LB_STAT_NEW_FLOW);
	if (flows)
		flows->new_flows++;
}

/*
 * A QUIC short header that missed the connection table goes to the backend its
 * connection ID names while that backend is up (draining included), and is never
 * remembered: the ID routes every packet. Anything else goes by the ring. A function
 * of its own (a BPF-to-BPF call): only QUIC VIPs' misses pay for it, and the hot paths
 * inlined around it keep their registers.
 */
static __noinline bool route_by_connection_id(const struct quic_packet *quic,
						   const struct lb_vip_info *vip,
						   struct lb_global_stats *stats, struct route *route)
{
	const struct lb_quic_server *server = quic_server(quic, vip, route->vip, stats);
	struct lb_backend *backend;

	if (!server)
		return false;
	backend = usable_backend(server->backend);
	if (!backend || backend->generation != server->backend_generation) {
		count(stats, LB_STAT_QUIC_FALLBACK);
		return false;
	}
	route->backend = server->backend;
	route->target = backend;
	route->from_ring = false;
	count(stats, LB_STAT_QUIC_ROUTED);
	return true;
}

/*
 * Routes a packet of `flow`; false when its destination is no VIP. A TCP SYN always
 * consults the ring, so a reused 5-tuple follows the current ring; an RST, or a
 * packet that only looks a flow up (remember = false), never creates an entry.
 * route->backend is LB_BACKEND_NONE when the VIP has no backend for a new flow, or
 * its ring names one that is not up. Every other packet to a VIP counts one lookup
 * outcome: hit, rescheduled, or a UDP or TCP miss; one that may remember it also
 * counts its SYN or miss for the VIP (vip_flow_stats). A packet that would create an
 * entry is counted for its client prefix (source_flows), and refused (route->refused)
 * when that prefix is over its new-flow limit; one its CPU is over the per-CPU limit
 * for (flood.h) goes by the ring without an entry. `quic` (NULL for a quoted flow) is
 * the packet a QUIC VIP may route by connection ID.
 */
static __always_inline bool route_flow(const struct lb_flow_key *flow, __u8 tcp_flags,
				       bool remember, const struct quic_packet *quic,
				       const struct lb_config *cfg,
				       struct lb_global_stats *stats, struct route *route)
{
	bool syn = flow->proto == IPPROTO_TCP && (tcp_flags & TCP_FLAG_SYN);
	enum lb_stat lookup = LB_STAT_COUNT; /* a SYN looks nothing up */
	struct lb_vip_flows *flows = NULL;
	__u32 key_hash = flow_key_hash(flow);
	struct lb_vip_info *vip;

	route->refused = false;
	route->from_ring = false;
	if (!syn) {
		lookup = established_route(flow, key_hash, tcp_flags, cfg, route);
		if (lookup == LB_STAT_CONN_HIT) {
			count(stats, lookup);
			return true;
		}
	}
	route->from_ring = true;
	vip = lookup_vip(flow, &route->vip);
	if (!vip)
		return false;
	count(stats, lookup);
	if (quic && (vip->flags & LB_VIP_F_QUIC) && route_by_connection_id(quic, vip, stats, route))
		return true;
	if (remember) {
		flows = vip_flow_counters(route->vip);
		count_vip_arrival(flows, syn, lookup);
	}
	route->backend = ring_backend(flow, vip, route->vip);
	route->target = usable_backend(route->backend);
	if (!route->target) {
		route->backend = LB_BACKEND_NONE;
		return true;
	}
	if (remember && !(tcp_flags & TCP_FLAG_RST)) {
		/* One clock read and one settings lookup for the source's window, the CPU's and the entry. */
		struct lb_flood_config *flood = flood_settings();
		__u64 now = bpf_ktime_get_coarse_ns();

		route->refused = !admit_source(flow, route->vip, vip->generation, flood, now);
		if (!route->refused && flood_admits_entry(syn, route->vip, vip, flood, now, stats))
			remember_flow(flow, key_hash, tcp_flags, route, vip, cfg, now, stats, flows);
	}
	return true;
}

#endif

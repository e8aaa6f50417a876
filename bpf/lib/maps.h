/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The balancer's maps. max_entries of 1 are placeholders: the loader sizes every
 * map from the configuration (struct lb_limits) before the object is loaded.
 *
 * Who writes what (the program only reads, except where it is named):
 *   vip_map, vips, rings, backends
 *       lbd's reconciler, and nothing else: its DatapathWriter calls, carried out by
 *       the daemon's KernelDatapathWriter through BalancerDatapath.
 *   quic_servers
 *       the reconciler too (DatapathWriter.writeQUICServers), after the backends it names.
 *   vip_addrs, vip_filter
 *       derived from vip_map (BalancerDatapath.syncVIPAddresses): by the reconciler's
 *       VIP installs and removals, and once when lbd starts, to repair what a daemon
 *       stopped between those writes left.
 *   config
 *       lbd at start and on reload (DatapathBootstrap.writeRuntimeConfig), from its
 *       configuration file, when the entry differs; not the reconciler, as it is no
 *       part of the services' state.
 *   conn_table
 *       the program (one way per flow, bpf/lib/flow_table.h says which); lbd only reads.
 *   vip_stats, vip_flow_stats, backend_stats
 *       the program counts; the reconciler zeroes an index's counters when the index
 *       passes to another VIP or backend (its generation changes).
 *   global_stats, source_flows, flood_stats, capture_stats, capture_scratch, capture_ring
 *       the program (source_flows only while flood_config asks for counts).
 *   flood_window, flood_rings
 *       the program, while flood_config.new_flows_per_cpu is set; nobody reads them.
 *   flood_config
 *       lbd: its grouping and limits at start and on reload, like config
 *       (BalancerDatapath.writeFloodSettings); `counting` while a sources window is
 *       open (setSourceCounting). One lock orders the two.
 *   capture_config
 *       lbd while a capture runs (PacketCapture); all zero otherwise.
 * The health checks' tunnel (healthcheck.bpf.c) reads backends and config, through the
 * balancer's descriptors, and writes nothing.
 * The loader writes lb_limits and lb_object_hash before load, and pins the maps' ABI
 * record (`abi`) before it creates the first map. Tests and benchmarks also write
 * maps directly, as fixtures.
 */
#ifndef LB_MAPS_H
#define LB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lb_abi.h"

/* Written by the loader; frozen at load, so the verifier knows the values. */
const volatile struct lb_limits lb_limits = {
	.abi_version = LB_ABI_VERSION,
	.max_vips = 1,
	.max_backends = 2,
	.ring_size = 1,
	.connection_table = 1,
};

/*
 * Written by the loader: a hash of the object file this program was loaded from. A
 * restarted lbd adopts the pinned program only when it is its own build; any other
 * (an upgrade, a downgrade) is replaced over the same maps.
 */
const volatile __u64 lb_object_hash = 0;

/* VIP key -> index into vips, vip_stats and rings. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_vip_key);
	__type(value, __u32);
	__uint(max_entries, 1);
} vip_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_vip_info);
	__uint(max_entries, 1);
} vips SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_vip_filter);
	__uint(max_entries, 1);
} vip_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_vip_addr_key);
	__type(value, __u32);
	__uint(max_entries, 1);
} vip_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_backend);
	__uint(max_entries, 1);
} backends SEC(".maps");

/* Two rings per VIP, in chunks (struct lb_ring_chunk). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_ring_chunk);
	__uint(max_entries, 1);
} rings SEC(".maps");

/*
 * The connection table: LB_FLOW_BUCKETS(connection_table) buckets of LB_FLOW_WAYS
 * ways (lb_abi.h), one table for all CPUs, managed by bpf/lib/flow_table.h. An array
 * is allocated whole at creation and an insert is a few stores into a bucket, where
 * the kernel's LRU hash took list locks and walked its lists. Mmapable for its
 * alignment only: the values then start on a page, so every way is one cache line.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct lb_flow_bucket);
	__uint(max_entries, 1);
} conn_table SEC(".maps");

/* QUIC VIPs' server ids; sized like `backends` (one id per backend of each QUIC VIP). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_quic_server_key);
	__type(value, struct lb_quic_server);
	__uint(max_entries, 1);
} quic_servers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_config);
	__uint(max_entries, 1);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_traffic);
	__uint(max_entries, 1);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_vip_flows);
	__uint(max_entries, 1);
} vip_flow_stats SEC(".maps");

/* Sized here, not by the loader: its bound is the view's, not the configuration's. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lb_source_key);
	__type(value, struct lb_source_flows);
	__uint(max_entries, LB_SOURCE_ENTRIES);
} source_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_flood_config);
	__uint(max_entries, 1);
} flood_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_flood_stats);
	__uint(max_entries, 1);
} flood_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_flood_window);
	__uint(max_entries, 1);
} flood_window SEC(".maps");

/* One entry per VIP index, sized like vips. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_flood_ring);
	__uint(max_entries, 1);
} flood_rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_capture_config);
	__uint(max_entries, 1);
} capture_config SEC(".maps");

/* Per CPU: [0] the frame as received, [1] as sent; filled only while a capture runs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_capture_record);
	__uint(max_entries, 2);
} capture_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_capture_stats);
	__uint(max_entries, 1);
} capture_stats SEC(".maps");

/* 1 MiB: about 2,000 full-size records between two reads of lbd's. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} capture_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_traffic);
	__uint(max_entries, 1);
} backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_global_stats);
	__uint(max_entries, 1);
} global_stats SEC(".maps");

#endif

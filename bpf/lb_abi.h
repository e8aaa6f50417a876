/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The contract between the XDP programs and the Swift control plane.
 *
 * Every map key and value, every flag and counter index lives here and only here.
 * The BPF programs include it directly; Swift imports it through the CLBABI module,
 * and the loader compares each struct's size with the object's BTF before use.
 * Changing a struct's layout is a datapath upgrade with a new map layout: bump
 * LB_ABI_VERSION so a daemon never adopts pinned maps it cannot read.
 */
#ifndef LB_ABI_H
#define LB_ABI_H

#include <linux/types.h>

#define LB_ABI_VERSION 6

/* Address families as stored in keys and values (not AF_*, to stay libc-free). */
#define LB_FAMILY_V4 4
#define LB_FAMILY_V6 6

/*
 * Backend index 0 is never a backend: an all-zero ring slot or connection entry
 * means "nothing chosen", which keeps zero-filled memory harmless.
 */
#define LB_BACKEND_NONE 0

/*
 * Load-time sizes, written by the loader into .rodata before the object is
 * loaded, so the verifier sees them as constants. Map sizes come from the same
 * configuration through bpf_map__set_max_entries.
 */
struct lb_limits {
	__u32 abi_version;      /* LB_ABI_VERSION: a pinned program of another ABI is never adopted */
	__u32 max_vips;
	__u32 max_backends;
	__u32 ring_size;        /* prime; every VIP owns two rings of this size */
	__u32 connection_table; /* flows the connection table holds (LB_FLOW_BUCKETS) */
};

/*
 * Rings are stored in chunks of LB_RING_CHUNK_SLOTS slots: an array map spends
 * 8 bytes on a 4-byte value, a chunk spends exactly 4 per slot. Ring r (0, 1) of
 * VIP i occupies chunks (i * 2 + r) * C .. + C - 1, C = ceil(ring_size / 16);
 * slot s is chunk s / 16, element s % 16. A slot holds a backend index.
 */
#define LB_RING_CHUNK_SLOTS 16

struct lb_ring_chunk {
	__u32 slots[LB_RING_CHUNK_SLOTS];
};

/* Addresses are stored as four big-endian words; IPv4 uses word 0, the rest zero. */
struct lb_vip_key {
	__be32 addr[4];
	__be16 port;  /* 0: every port of the address */
	__u8 proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;  /* LB_FAMILY_V4 / LB_FAMILY_V6 */
};

/* vip_map: VIP key -> index into `vips`, vip_stats and the rings. */

/* New flows hash the client address only (all connections of a client stick together). */
#define LB_VIP_F_HASH_SOURCE_ONLY (1U << 0)
/* No backend is up: new flows are dropped and counted; established flows continue. */
#define LB_VIP_F_NO_BACKEND (1U << 1)
/*
 * Established flows of a backend that is down keep it until they end (or idle out)
 * instead of being re-picked from the ring (`on_backend_down: keep`).
 */
#define LB_VIP_F_KEEP_FLOWS_ON_DOWN (1U << 2)
/*
 * A QUIC VIP (UDP): short-header packets go to the backend whose server id their
 * destination connection ID carries (QUIC-LB plaintext layout, bpf/lib/quic.h), so a
 * connection that migrates to another client address or port keeps its backend.
 */
#define LB_VIP_F_QUIC (1U << 3)

/*
 * vips[index]. `flags` and `ring` come first so that one aligned 8-byte store flips
 * the live ring and the NO_BACKEND flag together. `generation` changes whenever the
 * index is given to another VIP: connection entries of the index's previous owner no
 * longer match and are re-looked up (and passed, the VIP being gone).
 */
struct lb_vip_info {
	__u32 flags;              /* LB_VIP_F_* */
	__u32 ring;               /* 0 or 1: which of the VIP's two rings is live */
	__u32 udp_idle_timeout_s; /* 0: lb_config.udp_idle_timeout_s */
	__u32 generation;
	__u8 quic_cid_len;        /* LB_VIP_F_QUIC: length of the connection IDs its backends issue */
	__u8 quic_server_id_len;  /* ... and of the server id after their first octet (1..LB_QUIC_SERVER_ID_MAX) */
	__u16 pad;
};

/*
 * QUIC-LB plaintext connection IDs: octet 0 holds the config rotation bits (top three;
 * LB_QUIC_UNROUTABLE marks a CID the load balancer cannot route) and octets 1.. the
 * server id, big-endian. Server ids of up to 4 octets fit the map key.
 */
#define LB_QUIC_SERVER_ID_MAX 4
#define LB_QUIC_UNROUTABLE 7

/* quic_servers: (VIP index, server id) -> the backend that issued the id's connection IDs. */
struct lb_quic_server_key {
	__u32 vip;
	__u32 server_id;
};

struct lb_quic_server {
	__u32 backend;
	__u16 vip_generation;     /* vips[vip].generation (low 16 bits) when written: a reused VIP index never matches */
	__u16 backend_generation; /* backends[backend].generation when written: a reused backend index never matches */
};

/*
 * A bitmap over a hash of every VIP address (LB_VIP_FILTER_BITS, one bit each):
 * a clear bit proves the destination is no VIP, so traffic for the host passes
 * after one array read instead of hash-map lookups. A set bit may be a collision;
 * the maps decide. Bit = lb_addr_hash(address) % LB_VIP_FILTER_BITS (bpf/lib/hash.h).
 */
#define LB_VIP_FILTER_WORDS 1024
#define LB_VIP_FILTER_BITS (LB_VIP_FILTER_WORDS * 64)

struct lb_vip_filter {
	__u64 words[LB_VIP_FILTER_WORDS];
};

/*
 * Addresses that carry at least one VIP: the balancer answers ICMP echo to them and
 * owns ICMP errors sent to them. Value: number of VIPs on the address.
 */
struct lb_vip_addr_key {
	__be32 addr[4];
	__u8 family;
	__u8 pad[3];
};

/* The backend accepts flows. Cleared when the backend is down: its flows are re-picked. */
#define LB_BACKEND_F_UP (1U << 0)

/*
 * backends[index]. `generation` changes whenever the index is given to another address
 * (a cleared entry keeps it): connection entries of the index's previous backend no
 * longer match, and their flows are re-picked within their own VIP.
 */
struct lb_backend {
	__be32 addr[4];
	__u8 family;
	__u8 flags; /* LB_BACKEND_F_* */
	__u16 generation;
};

/*
 * Health checks through the tunnel (bpf/healthcheck.bpf.c): lbd marks a probe socket
 * with LB_PROBE_MARK_BASE | backend index (SO_MARK); the egress program encapsulates
 * the probe toward backends[index] as the balancer would a client's packet. The high
 * bits tell lbd's probes from every other marked packet, which passes untouched.
 */
#define LB_PROBE_MARK_BASE 0x1bd00000U
#define LB_PROBE_MARK_MASK 0xfff00000U

/* Connection table key: the client's view of the flow (src = client, dst = VIP). */
struct lb_flow_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

/* The client sent a FIN or an RST: the entry lives lb_config.tcp_linger_s past its last packet. */
#define LB_FLOW_F_CLOSING (1U << 0)
/*
 * Created by a SYN and not seen since with another packet: a handshake that may never
 * complete (a spoofed SYN), the first entry a full bucket gives up (bpf/lib/flow_table.h).
 */
#define LB_FLOW_F_EMBRYONIC (1U << 1)

/*
 * last_seen_ns is rewritten only when it is older than this: an established flow's
 * packets read their entry without dirtying its cache line on every packet. A flow is
 * therefore seen idle up to this much early (an error bound on every idle timeout).
 */
#define LB_FLOW_REFRESH_NS 1000000000ULL

struct lb_flow {
	__u32 backend;            /* LB_BACKEND_NONE: no backend */
	__u16 vip;                /* index of the flow's VIP ... */
	__u16 vip_generation;     /* ... while vips[vip].generation is still this (low 16 bits) */
	__u64 last_seen_ns;       /* bpf_ktime_get_coarse_ns() of the last packet (LB_FLOW_REFRESH_NS) */
	__u16 backend_generation; /* backends[backend].generation when the flow was given to it */
	__u8 flags;               /* LB_FLOW_F_* */
	__u8 pad;
	__u32 check;              /* 0: the way is empty; else flow_check() of the key and the routing fields */
};

/*
 * The connection table (conn_table): an array of buckets of LB_FLOW_WAYS ways, one
 * 64-byte cache line each, holding a flow's key and entry, behind one line of what a
 * lookup and an insert need first (lb_flow_bucket_head). A flow lives in the bucket
 * its key hashes to (flow_key_hash, bpf/lib/hash.h; bucket = hash_reduce(hash,
 * buckets)), in any of its ways. The table has LB_FLOW_SLOTS_PER_FLOW ways per flow of
 * lb_limits.connection_table, so that a full table's buckets rarely overflow:
 * LB_FLOW_BUCKETS(capacity) buckets. Who takes which way: bpf/lib/flow_table.h.
 */
#define LB_FLOW_WAYS 8
#define LB_FLOW_SLOTS_PER_FLOW 2
#define LB_FLOW_BUCKETS(capacity) \
	((__u32)(((__u64)(capacity) * LB_FLOW_SLOTS_PER_FLOW + LB_FLOW_WAYS - 1) / LB_FLOW_WAYS))

struct lb_flow_slot {
	struct lb_flow_key key;
	struct lb_flow flow;
};

/*
 * A way's lease: when its entry times out, in units of 2^LB_FLOW_LEASE_SHIFT ns (about
 * a second) of bpf_ktime_get_coarse_ns(), LB_FLOW_LEASE_FOREVER for an entry without a
 * timeout; LB_FLOW_LEASE_ESTABLISHED is set unless the entry is embryonic.
 */
#define LB_FLOW_LEASE_SHIFT 30
#define LB_FLOW_LEASE_FOREVER 0x7fffffffU
#define LB_FLOW_LEASE_ESTABLISHED (1U << 31)

/*
 * A bucket's first cache line, one word of each kind per way: a lookup reads only the
 * ways whose tag is its key's, an insert chooses its way by the leases alone. Hints
 * both: a way holds a flow only when its own check word says so (lb_flow.check).
 */
struct lb_flow_bucket_head {
	__u32 tags[LB_FLOW_WAYS];   /* 0: empty; else flow_tag() of the key the way was given */
	__u32 leases[LB_FLOW_WAYS]; /* the way's lease when it was written or last refreshed */
};

struct lb_flow_bucket {
	struct lb_flow_bucket_head head;
	struct lb_flow_slot ways[LB_FLOW_WAYS];
};

/* Runtime settings, one entry in the config map; changed without reloading. */
struct lb_config {
	__u8 gateway_mac[6];   /* destination MAC of every encapsulated packet */
	__u16 mtu;             /* largest outer IP packet the path to backends carries */
	__be32 encap_src_v4;   /* outer source prefix for IPv4 backends ... */
	__be32 encap_src_v4_mask; /* ... and its netmask; host bits come from the client */
	__be32 encap_src_v6[4];
	__be32 encap_src_v6_mask[4];
	__u32 udp_idle_timeout_s; /* default for VIPs that set none */
	__u32 tcp_idle_timeout_s; /* a TCP entry without packets this long is stale; 0: never */
	__u32 tcp_linger_s;       /* a closing TCP entry (LB_FLOW_F_CLOSING) is stale this long
				   * after its last packet; 0: closing entries use the idle timeout */
	__u32 pad;
};

struct lb_traffic {
	__u64 packets;
	__u64 bytes;
};

/*
 * vip_flow_stats[index] (per CPU): how clients open connections to the VIP, for
 * rate(). Counted on the packets that miss the connection table only (SYNs, misses),
 * never on an established flow's packets.
 */
struct lb_vip_flows {
	__u64 syns;      /* TCP SYNs */
	__u64 new_flows; /* connection entries created */
	__u64 misses;    /* other packets with no live entry: TCP state lost, or a new UDP flow */
};

/*
 * source_flows (an LRU hash of LB_SOURCE_ENTRIES, shared by all CPUs): new flows per
 * (VIP, client prefix), updated only where a packet would create a connection entry,
 * and only while flood_config asks for counts (a limit, or `counting`).
 * A prefix keeps its counts while it stays among the most recently active; an evicted
 * prefix that comes back starts again from zero, so every count is a lower bound,
 * exact while fewer than LB_SOURCE_ENTRIES prefixes are active (docs/metrics.md).
 */
#define LB_SOURCE_ENTRIES 16384

struct lb_source_key {
	__be32 prefix[4]; /* the client address, host bits cleared */
	__u32 vip;        /* the VIP's index */
	__u8 family;      /* LB_FAMILY_V4 / LB_FAMILY_V6 */
	__u8 prefix_len;  /* lb_flood_config.prefix_v4 or prefix_v6 when counted */
	__u16 vip_generation; /* vips[vip].generation (low 16 bits): a reused index starts afresh */
};

struct lb_source_flows {
	__u64 new_flows;       /* new flows the prefix opened, refused ones included */
	__u64 refused;         /* of those, dropped by the per-source limit */
	__u64 first_seen_ns;   /* bpf_ktime_get_coarse_ns() of the entry's first new flow */
	__u64 last_seen_ns;    /* ... and of its latest */
	__u64 window_start_ns; /* the current one-second window of the limit */
	__u64 window_flows;    /* new flows in that window, refused ones included */
};

/*
 * flood_config[0]: how sources are grouped and limited; changed without reloading.
 * All zero (a fresh map) means /24, /64, no limit and no counting: source_flows is
 * updated only while there is a limit or `counting` is set, so a new flow costs no
 * LRU update when nobody looks.
 */
struct lb_flood_config {
	__u32 per_source_new_flows; /* new flows per second per (VIP, prefix); 0: unlimited */
	__u8 prefix_v4;             /* 1..32; 0: 24 */
	__u8 prefix_v6;             /* 1..128; 0: 64 */
	__u16 counting;             /* nonzero: count without a limit (lbd sets it while a sources window is open) */
	__u32 new_flows_per_cpu;    /* connection entries a CPU creates per second, SYNs and other
				     * new flows each; above it they go by the ring (bpf/lib/flood.h); 0: unlimited */
};

/*
 * flood_window[0] (per CPU, the program's own state): this CPU's current one-second
 * window of the per-CPU new-flow limit (flood_config.new_flows_per_cpu).
 */
struct lb_flood_window {
	__u64 start_ns; /* bpf_ktime_get_coarse_ns() when the window began */
	__u32 syns;     /* TCP SYNs that asked for an entry in it */
	__u32 others;   /* other packets that asked for one: a UDP flow, a TCP packet without an entry */
	__u32 flooded;  /* the previous window ended over the limit in SYNs: no SYN gets an entry */
	__u32 pad;
};

/*
 * flood_rings[vip] (per CPU, the program's own state, read only by over-limit SYNs): the
 * VIP's live ring as this CPU last saw it, and when it saw it change.
 */
struct lb_flood_ring {
	__u64 changed_ns; /* bpf_ktime_get_coarse_ns() when this CPU saw `ring` flip; 0: never */
	__u32 generation; /* vips[vip].generation it was seen under */
	__u8 ring;        /* vips[vip].ring */
	__u8 seen;        /* nonzero once recorded */
	__u16 pad;
};

/* flood_stats[0] (per CPU): what the per-source limit did. */
struct lb_flood_stats {
	__u64 refused; /* new flows dropped: their prefix was over per_source_new_flows */
};

/*
 * Packet capture on demand (lbctl capture). capture_config[0] says what to copy; all
 * zero (`enabled` 0) when no capture runs, and then the balancer reads nothing else.
 * Matching packets go to the `capture_ring` ring buffer as one lb_capture_record each:
 * the frame as received, and for a transmitted one a second record as sent.
 */
#define LB_CAPTURE_SNAPLEN_MAX 512
#define LB_CAPTURE_ANY_VIP 0xffffffffU

/* Verdicts a capture selects (lb_capture_config.verdicts) and a record carries. */
#define LB_CAPTURE_V_TX (1U << 0)   /* encapsulated to a backend */
#define LB_CAPTURE_V_PASS (1U << 1) /* to the kernel: a VIP address's traffic the balancer does not own */
#define LB_CAPTURE_V_DROP (1U << 2)
#define LB_CAPTURE_V_MISS (1U << 3) /* routed by the ring, not a connection entry: SYNs, new and lost flows */
#define LB_CAPTURE_V_ICMP (1U << 4) /* ICMP the balancer answers, forwards or generates */

struct lb_capture_config {
	__u32 enabled;
	__u32 vip;      /* VIP index, or LB_CAPTURE_ANY_VIP */
	__u32 verdicts; /* LB_CAPTURE_V_*: a packet is copied when it has one of them */
	__u32 sample;   /* one matching packet in `sample` per CPU (0, 1: every one) */
	__u32 snaplen;  /* bytes copied per frame, at most LB_CAPTURE_SNAPLEN_MAX */
};

#define LB_CAPTURE_STAGE_RECEIVED 0
#define LB_CAPTURE_STAGE_SENT 1

struct lb_capture_record {
	__u64 timestamp_ns; /* bpf_ktime_get_ns() */
	__u32 frame_len;    /* the whole frame's length */
	__u32 copied;       /* bytes of `data` that hold it */
	__u32 vip;          /* the VIP's index, LB_CAPTURE_ANY_VIP when none was found */
	__u8 verdicts;      /* LB_CAPTURE_V_* of the packet */
	__u8 stage;         /* LB_CAPTURE_STAGE_* */
	__u16 pad;
	__u8 data[LB_CAPTURE_SNAPLEN_MAX];
};

/* capture_stats[0] (per CPU): what the running capture saw; zeroed when one starts. */
struct lb_capture_stats {
	__u64 matched; /* packets of the capture's VIP and verdicts, sampled or not */
	__u64 copied;  /* records written to capture_ring */
	__u64 lost;    /* records the ring had no room for (the reader is behind) */
};

/* Global balancer counters: indices into lb_global_stats.counters. */
enum lb_stat {
	LB_STAT_RX = 0,           /* every packet the program saw */
	LB_STAT_CONN_HIT,         /* connection table gave a live backend */
	LB_STAT_CONN_MISS_UDP,    /* UDP, no entry or a stale one: a new flow (or one idle too long) */
	LB_STAT_CONN_MISS_TCP,    /* TCP other than a SYN, no entry or a stale one: its state was lost */
	LB_STAT_CONN_RESCHEDULED, /* an entry whose backend was down or retired: re-picked */
	LB_STAT_NEW_FLOW,         /* connection entry created */
	LB_STAT_NO_BACKEND,       /* new flow to a VIP with no backend up: dropped */
	LB_STAT_ICMP_ECHO,        /* echo requests to a VIP answered */
	LB_STAT_ICMP_FORWARDED,   /* frag-needed / packet-too-big sent to the flow's backend */
	LB_STAT_ICMP_UNMATCHED,   /* ICMP error to a VIP address with no VIP flow: passed */
	LB_STAT_TOO_BIG_SENT,     /* frag-needed / packet-too-big generated for the client */
	LB_STAT_FRAGMENT,         /* IP fragment to a VIP: dropped */
	LB_STAT_IP_OPTIONS,       /* IPv4 with options to a VIP: dropped */
	LB_STAT_PARSE_ERROR,      /* truncated or malformed headers: passed to the kernel */
	LB_STAT_XDP_PASS,
	LB_STAT_XDP_TX,
	LB_STAT_XDP_DROP,
	LB_STAT_ENCAP_ERROR,      /* headroom or family mismatch: dropped */
	LB_STAT_FLOOD_SYN,        /* SYN over flood_config.new_flows_per_cpu: sent by the ring, no entry */
	LB_STAT_FLOOD_OTHER,      /* other new flow over it (UDP, TCP without an entry): the same */
	LB_STAT_QUIC_ROUTED,      /* QUIC short header sent to the backend its connection ID names */
	LB_STAT_QUIC_FALLBACK,    /* ... naming no server id of the VIP, or a backend down: by the ring */
	LB_STAT_QUIC_MALFORMED,   /* ... shorter than the VIP's connection ID: by the ring */
	LB_STAT_EVICTED,          /* a new entry took a live established flow's way (its bucket was full) */
	LB_STAT_SYN_BUCKET_FULL,  /* a SYN whose bucket held only live established flows: by the ring, no entry */
	LB_STAT_COUNT,
};

struct lb_global_stats {
	__u64 counters[LB_STAT_COUNT];
};

/*
 * Decapsulator (bpf/decap.bpf.c): outer destinations it strips, keyed like
 * lb_vip_addr_key (value unused), and its counters.
 */
enum lb_decap_stat {
	LB_DECAP_STAT_RX = 0,
	LB_DECAP_STAT_IPIP,       /* IPv4-in-IPv4 stripped */
	LB_DECAP_STAT_IP6IP6,     /* IPv6-in-IPv6 stripped */
	LB_DECAP_STAT_IP4IN6,     /* IPv4-in-IPv6 stripped */
	LB_DECAP_STAT_PASS,       /* not encapsulated to this host: untouched */
	LB_DECAP_STAT_PARSE_ERROR,/* truncated outer or inner header: dropped */
	LB_DECAP_STAT_CE_NOT_ECT, /* outer marked CE, inner not ECN-capable: dropped (RFC 6040) */
	LB_DECAP_STAT_COUNT,
};

struct lb_decap_stats {
	__u64 counters[LB_DECAP_STAT_COUNT];
};

/*
 * Benchmark harness (bpf/bench/bench.bpf.c): the frame restored before every run, so each
 * iteration of a test-run measures the same path.
 */
#define LB_BENCH_FRAME_MAX 256
/*
 * Write a per-run counter into the 4 bytes at vary_offset: every run is a new flow.
 * With a vary_mask, the template's 4 bytes there XOR (counter & vary_mask) instead:
 * the runs cycle through vary_mask + 1 flows (a power of two minus one), and bytes
 * outside the mask keep the template's value (a port can vary, the next one not).
 */
#define LB_BENCH_F_VARY (1U << 0)
/*
 * With LB_BENCH_F_VARY and no vary_mask: write the counter times an odd constant, so the
 * runs' values are still distinct but spread over all 32 bits (a spoofed flood's sources).
 * With a vary_mask: each cycle through the mask + 1 flows visits them in another order
 * (the counter times the constant, XOR the cycle's number), not the order of the cycle
 * that inserted them, as real traffic would.
 */
#define LB_BENCH_F_SCRAMBLE (1U << 1)
#define LB_BENCH_SCRAMBLE_FACTOR 0x9e3779b1U

struct lb_bench_frame {
	__u32 len;
	__u32 flags;       /* LB_BENCH_F_* */
	__u32 vary_offset;
	__u32 counter;
	__u32 vary_mask;   /* 0: the whole counter */
	__u8 data[LB_BENCH_FRAME_MAX];
};

#endif /* LB_ABI_H */

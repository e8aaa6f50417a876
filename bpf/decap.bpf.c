// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The backend side of direct server return, for hosts without the kernel's ipip /
 * ip6_tunnel modules: strips the outer IPv4 (IPIP) or IPv6 (IP6IP6, 4-in-6) header
 * of packets tunnelled to one of this host's addresses listed in decap_addrs, so
 * the inner packet (to a VIP held on lo) reaches its socket. Everything else,
 * including tunnelled packets to other destinations, passes untouched. Congestion
 * marked on the outer header reaches the inner one (RFC 6040).
 */
#include "lib/csum.h"
#include "lib/l2.h"

#define ECN_MASK 0x3
#define ECN_NOT_ECT 0x0
#define ECN_CE 0x3

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_vip_addr_key);
	__type(value, __u32);
	__uint(max_entries, 64);
} decap_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_decap_stats);
	__uint(max_entries, 1);
} decap_stats SEC(".maps");

static __always_inline void count(struct lb_decap_stats *stats, enum lb_decap_stat stat)
{
	if (stats && stat < LB_DECAP_STAT_COUNT)
		stats->counters[stat]++;
}

static __always_inline bool is_decap_destination(const void *addr, __u32 size, __u8 family)
{
	struct lb_vip_addr_key key = { .family = family };

	__builtin_memcpy(key.addr, addr, size);
	return bpf_map_lookup_elem(&decap_addrs, &key) != NULL;
}

/* The outer header to strip: its size, the inner EtherType, which counter, its ECN field. */
struct tunnel {
	__u32 outer_len;
	__be16 inner_proto;
	enum lb_decap_stat stat;
	__u8 outer_ecn;
};

static __always_inline int find_tunnel(void *data, void *data_end, __u16 l3_off,
				       __be16 eth_proto, struct tunnel *tun)
{
	__u8 inner, ecn;

	if (eth_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l3_header(data, data_end, l3_off, sizeof(*iph));

		if (!iph || iph->ihl != 5 || iph->protocol != IPPROTO_IPIP ||
		    (iph->frag_off & bpf_htons(IP_MF_OR_OFFSET)) ||
		    !is_decap_destination(&iph->daddr, sizeof(iph->daddr), LB_FAMILY_V4))
			return -1;
		*tun = (struct tunnel){ sizeof(*iph), bpf_htons(ETH_P_IP), LB_DECAP_STAT_IPIP,
					iph->tos & ECN_MASK };
		return 0;
	}
	if (eth_proto != bpf_htons(ETH_P_IPV6))
		return -1;
	struct ipv6hdr *ip6 = l3_header(data, data_end, l3_off, sizeof(*ip6));

	if (!ip6)
		return -1;
	inner = ip6->nexthdr;
	if ((inner != IPPROTO_IPV6 && inner != IPPROTO_IPIP) ||
	    !is_decap_destination(&ip6->daddr, sizeof(ip6->daddr), LB_FAMILY_V6))
		return -1;
	/* The traffic class's low bits: the high nibble of the label's first byte. */
	ecn = (ip6->flow_lbl[0] >> 4) & ECN_MASK;
	if (inner == IPPROTO_IPV6)
		*tun = (struct tunnel){ sizeof(*ip6), bpf_htons(ETH_P_IPV6), LB_DECAP_STAT_IP6IP6, ecn };
	else
		*tun = (struct tunnel){ sizeof(*ip6), bpf_htons(ETH_P_IP), LB_DECAP_STAT_IP4IN6, ecn };
	return 0;
}

/* The inner packet must at least hold its own IP header. */
static __always_inline bool inner_present(void *data, void *data_end, __u16 l3_off,
					  const struct tunnel *tun)
{
	__u32 inner_min = tun->inner_proto == bpf_htons(ETH_P_IP) ? sizeof(struct iphdr)
								  : sizeof(struct ipv6hdr);
	void *outer = l3_header(data, data_end, l3_off, 0);

	return outer && outer + tun->outer_len + inner_min <= data_end;
}

/*
 * RFC 6040 (normal mode): a CE mark the path put on the outer header is copied to the
 * inner one, so the endpoint hears of the congestion. An inner packet that is not
 * ECN-capable cannot carry it and must not arrive looking uncongested: -1, drop it.
 * The inner header is known to be present (inner_present).
 */
static __always_inline int copy_congestion_mark(void *data, void *data_end, __u16 l3_off,
						const struct tunnel *tun)
{
	void *outer = l3_header(data, data_end, l3_off, 0);
	__u8 *inner;

	if (tun->outer_ecn != ECN_CE)
		return 0;
	if (!outer)
		return -1;
	inner = outer + tun->outer_len;
	if ((void *)(inner + sizeof(struct iphdr)) > data_end)
		return -1;
	if (tun->inner_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (struct iphdr *)inner;
		__u16 old = *(__u16 *)iph;

		if ((iph->tos & ECN_MASK) == ECN_NOT_ECT)
			return -1;
		iph->tos |= ECN_CE;
		csum_replace16(&iph->check, old, *(__u16 *)iph);
		return 0;
	}
	/* IPv6: the traffic class's ECN bits are bits 5-4 of byte 1. */
	if (((inner[1] >> 4) & ECN_MASK) == ECN_NOT_ECT)
		return -1;
	inner[1] |= ECN_CE << 4;
	return 0;
}

static __always_inline int strip(struct xdp_md *ctx, struct lb_decap_stats *stats)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct packet pkt = {};
	struct tunnel tun;
	__be16 eth_proto;

	if (parse_eth(data, data_end, &pkt, &eth_proto) != PARSE_OK ||
	    find_tunnel(data, data_end, pkt.l3_off, eth_proto, &tun)) {
		count(stats, LB_DECAP_STAT_PASS);
		return XDP_PASS;
	}
	if (!inner_present(data, data_end, pkt.l3_off, &tun)) {
		count(stats, LB_DECAP_STAT_PARSE_ERROR);
		return XDP_DROP;
	}
	if (copy_congestion_mark(data, data_end, pkt.l3_off, &tun)) {
		count(stats, LB_DECAP_STAT_CE_NOT_ECT);
		return XDP_DROP;
	}
	if (l2_push_back(data, data_end, tun.outer_len, pkt.l3_off) ||
	    bpf_xdp_adjust_head(ctx, tun.outer_len)) {
		count(stats, LB_DECAP_STAT_PARSE_ERROR);
		return XDP_DROP;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	l2_set_proto(data, data_end, pkt.l3_off, tun.inner_proto);
	count(stats, tun.stat);
	return XDP_PASS;
}

SEC("xdp")
int decap(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct lb_decap_stats *stats = bpf_map_lookup_elem(&decap_stats, &zero);

	count(stats, LB_DECAP_STAT_RX);
	return strip(ctx, stats);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

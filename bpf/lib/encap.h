/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Encapsulation toward a backend for direct server return: the inner packet is kept
 * byte for byte, an outer IPv4 (IPIP) or IPv6 (IP6IP6, 4-in-6) header is put in front.
 * The outer source lies in a configured prefix with host bits taken from the client's
 * address and port, so a backend's receive-side scaling spreads flows across queues
 * while every packet of one flow keeps one outer source.
 */
#ifndef LB_ENCAP_H
#define LB_ENCAP_H

#include "csum.h"
#include "hash.h"
#include "l2.h"

#define ENCAP_TTL 64

static __always_inline __u8 inner_ip_proto(const struct packet *pkt)
{
	return pkt->flow.family == LB_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6;
}

static __always_inline __be16 outer_eth_proto(const struct lb_backend *backend)
{
	return backend->family == LB_FAMILY_V4 ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
}

static __always_inline __u32 encap_overhead(const struct lb_backend *backend)
{
	return backend->family == LB_FAMILY_V4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

static __always_inline void write_outer_ipv4(struct iphdr *iph, const struct packet *pkt,
					     const struct lb_backend *backend,
					     const struct lb_config *cfg, __u32 client)
{
	*(__u8 *)iph = 0x45; /* version 4, ihl 5 */
	iph->tos = pkt->tos;
	iph->tot_len = bpf_htons(pkt->l3_len + sizeof(*iph));
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = ENCAP_TTL;
	iph->protocol = inner_ip_proto(pkt);
	iph->saddr = (cfg->encap_src_v4 & cfg->encap_src_v4_mask) | (client & ~cfg->encap_src_v4_mask);
	iph->daddr = backend->addr[0];
	ipv4_set_csum(iph);
}

static __always_inline void write_outer_ipv6(struct ipv6hdr *ip6, const struct packet *pkt,
					     const struct lb_backend *backend,
					     const struct lb_config *cfg, __u32 client)
{
	__be32 *src = (__be32 *)&ip6->saddr;

	/* version 6, the inner traffic class, the client hash as flow label for ECMP */
	*(__be32 *)ip6 = bpf_htonl((6U << 28) | ((__u32)pkt->tos << 20) | (client & 0xfffff));
	ip6->payload_len = bpf_htons(pkt->l3_len);
	ip6->nexthdr = inner_ip_proto(pkt);
	ip6->hop_limit = ENCAP_TTL;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		/* the hash has 32 bits to give; rotating spreads them over each word */
		__u32 host = i ? rotl32(client, 8 * i) : client;

		src[i] = (cfg->encap_src_v6[i] & cfg->encap_src_v6_mask[i]) |
			 (host & ~cfg->encap_src_v6_mask[i]);
	}
	__builtin_memcpy(&ip6->daddr, backend->addr, sizeof(ip6->daddr));
}

/* The outer header at `outer`, in front of the inner packet; -1 if the frame ends first. */
static __always_inline int write_outer(void *outer, void *data_end, const struct packet *pkt,
				       const struct lb_backend *backend,
				       const struct lb_config *cfg)
{
	__u32 client = client_hash(&pkt->flow);

	if (backend->family == LB_FAMILY_V4) {
		if (outer + sizeof(struct iphdr) > data_end)
			return -1;
		write_outer_ipv4(outer, pkt, backend, cfg, client);
		return 0;
	}
	if (outer + sizeof(struct ipv6hdr) > data_end)
		return -1;
	write_outer_ipv6(outer, pkt, backend, cfg, client);
	return 0;
}

/* Grows the frame by the outer header and writes it; the caller transmits. */
static __always_inline int encapsulate(struct xdp_md *ctx, const struct packet *pkt,
				       const struct lb_backend *backend,
				       const struct lb_config *cfg)
{
	__u32 overhead = encap_overhead(backend);
	void *data, *data_end, *outer;

	if (bpf_xdp_adjust_head(ctx, -(int)overhead))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (l2_pull_front(data, data_end, overhead, pkt->l3_off))
		return -1;
	l2_to_gateway(data, cfg->gateway_mac);
	l2_set_proto(data, data_end, pkt->l3_off, outer_eth_proto(backend));
	outer = l3_header(data, data_end, pkt->l3_off, overhead);
	if (!outer)
		return -1;
	return write_outer(outer, data_end, pkt, backend, cfg);
}

#endif

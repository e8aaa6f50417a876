/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsing: Ethernet with at most one 802.1Q tag, IPv4 / IPv6, TCP / UDP.
 * Every read is preceded by a bounds check the verifier can follow; a frame that
 * fails one is reported, never read past.
 */
#ifndef LB_PARSE_H
#define LB_PARSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "lb_abi.h"

#define ETH_HLEN_VLAN (ETH_HLEN + 4)
#define IP_MF_OR_OFFSET 0x3fff
#define IP_DF 0x4000

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04

/* What the balancer needs to know about one frame. */
struct packet {
	__u16 l3_off;  /* ETH_HLEN, or ETH_HLEN_VLAN with a tag */
	__u16 l4_off;
	__u16 l3_len;  /* the IP packet's own length, header included */
	__u8 tos;      /* IPv4 TOS / IPv6 traffic class */
	__u8 tcp_flags;
	bool dont_fragment;
	struct lb_flow_key flow; /* src = client, dst = destination as received */
};

enum parse_result {
	PARSE_OK,
	PARSE_NOT_IP,     /* not IPv4/IPv6 (ARP, LLDP, QinQ…): not ours */
	PARSE_MALFORMED,  /* truncated or inconsistent headers */
	PARSE_FRAGMENT,   /* an IP fragment: no ports to balance on */
	PARSE_OPTIONS,    /* IPv4 options or IPv6 extension headers */
};

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

static __always_inline enum parse_result parse_eth(void *data, void *data_end,
						   struct packet *pkt, __be16 *proto)
{
	struct ethhdr *eth = data;
	struct vlan_tag *tag;

	if ((void *)(eth + 1) > data_end)
		return PARSE_MALFORMED;
	*proto = eth->h_proto;
	pkt->l3_off = ETH_HLEN;
	if (*proto != bpf_htons(ETH_P_8021Q))
		return PARSE_OK;
	tag = (void *)(eth + 1);
	if ((void *)(tag + 1) > data_end)
		return PARSE_MALFORMED;
	*proto = tag->proto;
	pkt->l3_off = ETH_HLEN_VLAN;
	return PARSE_OK;
}

/* The header at l3_off, if the frame holds `size` bytes there. */
static __always_inline void *l3_header(void *data, void *data_end, __u16 l3_off, __u32 size)
{
	void *hdr = data + (l3_off == ETH_HLEN_VLAN ? ETH_HLEN_VLAN : ETH_HLEN);

	if (hdr + size > data_end)
		return NULL;
	return hdr;
}

static __always_inline enum parse_result parse_ipv4(void *data, void *data_end,
						    struct packet *pkt)
{
	struct iphdr *iph = l3_header(data, data_end, pkt->l3_off, sizeof(*iph));

	if (!iph || iph->version != 4 || iph->ihl < 5)
		return PARSE_MALFORMED;
	pkt->flow.family = LB_FAMILY_V4;
	pkt->flow.proto = iph->protocol;
	pkt->flow.src[0] = iph->saddr;
	pkt->flow.dst[0] = iph->daddr;
	pkt->tos = iph->tos;
	pkt->l3_len = bpf_ntohs(iph->tot_len);
	pkt->dont_fragment = (iph->frag_off & bpf_htons(IP_DF)) != 0;
	if (pkt->l3_len < iph->ihl * 4 || data + pkt->l3_off + pkt->l3_len > data_end)
		return PARSE_MALFORMED;
	if (iph->frag_off & bpf_htons(IP_MF_OR_OFFSET))
		return PARSE_FRAGMENT;
	if (iph->ihl != 5)
		return PARSE_OPTIONS;
	pkt->l4_off = pkt->l3_off + sizeof(*iph);
	return PARSE_OK;
}

static __always_inline bool ipv6_is_extension(__u8 nexthdr)
{
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_AH:
	case IPPROTO_MH:
	case 139: /* HIP */
	case 140: /* Shim6 */
		return true;
	}
	return false;
}

static __always_inline enum parse_result parse_ipv6(void *data, void *data_end,
						    struct packet *pkt)
{
	struct ipv6hdr *ip6 = l3_header(data, data_end, pkt->l3_off, sizeof(*ip6));

	if (!ip6 || ip6->version != 6)
		return PARSE_MALFORMED;
	pkt->flow.family = LB_FAMILY_V6;
	pkt->flow.proto = ip6->nexthdr;
	__builtin_memcpy(pkt->flow.src, &ip6->saddr, sizeof(pkt->flow.src));
	__builtin_memcpy(pkt->flow.dst, &ip6->daddr, sizeof(pkt->flow.dst));
	pkt->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	pkt->l3_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	if (data + pkt->l3_off + pkt->l3_len > data_end)
		return PARSE_MALFORMED;
	if (ip6->nexthdr == IPPROTO_FRAGMENT)
		return PARSE_FRAGMENT;
	if (ipv6_is_extension(ip6->nexthdr))
		return PARSE_OPTIONS;
	pkt->l4_off = pkt->l3_off + sizeof(*ip6);
	return PARSE_OK;
}

static __always_inline enum parse_result parse_ip(void *data, void *data_end,
						  struct packet *pkt, __be16 eth_proto)
{
	if (eth_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, pkt);
	if (eth_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, pkt);
	return PARSE_NOT_IP;
}

/* The IP packet's bytes from l4_off on, as its header counts them (the frame may hold more). */
static __always_inline __u32 l4_length(const struct packet *pkt)
{
	return pkt->l3_off + pkt->l3_len - pkt->l4_off;
}

/*
 * The header at l4_off (l3_off + 20 or + 40), if the IP packet, not just the frame,
 * holds `size` bytes there: trailing bytes past the IP length are no header.
 */
static __always_inline void *l4_header(void *data, void *data_end, const struct packet *pkt,
				       __u32 size)
{
	void *hdr;

	if (size > l4_length(pkt))
		return NULL;
	switch (pkt->l4_off) {
	case ETH_HLEN + sizeof(struct iphdr):
		hdr = data + ETH_HLEN + sizeof(struct iphdr);
		break;
	case ETH_HLEN_VLAN + sizeof(struct iphdr):
		hdr = data + ETH_HLEN_VLAN + sizeof(struct iphdr);
		break;
	case ETH_HLEN + sizeof(struct ipv6hdr):
		hdr = data + ETH_HLEN + sizeof(struct ipv6hdr);
		break;
	default:
		hdr = data + ETH_HLEN_VLAN + sizeof(struct ipv6hdr);
		break;
	}
	if (hdr + size > data_end)
		return NULL;
	return hdr;
}

static __always_inline enum parse_result parse_ports(void *data, void *data_end,
						     struct packet *pkt)
{
	if (pkt->flow.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4_header(data, data_end, pkt, sizeof(*tcp));

		if (!tcp || tcp->doff < 5 || tcp->doff * 4 > l4_length(pkt))
			return PARSE_MALFORMED;
		pkt->flow.sport = tcp->source;
		pkt->flow.dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[13];
		return PARSE_OK;
	}
	struct udphdr *udp = l4_header(data, data_end, pkt, sizeof(*udp));

	if (!udp)
		return PARSE_MALFORMED;
	pkt->flow.sport = udp->source;
	pkt->flow.dport = udp->dest;
	return PARSE_OK;
}

#endif

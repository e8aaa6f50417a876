/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP the balancer answers or generates itself: echo replies for VIP addresses and
 * "fragmentation needed" / "packet too big" for packets that would not fit the path
 * to the backend once encapsulated.
 */
#ifndef LB_ICMP_H
#define LB_ICMP_H

#include <linux/icmpv6.h>
#include "csum.h"
#include "l2.h"

/* linux/icmp.h drags in libc's socket headers, which a BPF build cannot use. */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_FRAG_NEEDED 4

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
	} un;
};

#define ICMP_TTL 64

#define ICMP4_ERROR_GROWTH (sizeof(struct iphdr) + sizeof(struct icmphdr))
#define ICMP6_ERROR_GROWTH (sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr))
/*
 * What a generated error quotes of the offending packet: as much as keeps the error
 * within 576 bytes for IPv4 (RFC 1812 4.3.2.3; RFC 792's minimum is the header and 8
 * bytes) and within the minimum IPv6 MTU, 1280 bytes, for IPv6 (RFC 4443 2.4(c)).
 */
#define ICMP4_QUOTE_MAX (576 - ICMP4_ERROR_GROWTH)
#define ICMP6_QUOTE_MAX (1280 - ICMP6_ERROR_GROWTH)

/*
 * Sets the checksum of the ICMP message at `off` (its field holding 0) from the
 * message's `len` bytes and the sum of a pseudo-header.
 */
static __always_inline int icmp_set_csum(struct xdp_md *ctx, __sum16 *check, __u32 off,
					 __u32 len, __u64 pseudo)
{
	__u64 sum = pseudo;

	if (csum_packet(ctx, off, len, &sum))
		return -1;
	*check = csum_fold(sum);
	return 0;
}

static __always_inline int echo_reply_v4(struct xdp_md *ctx, const struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph = l3_header(data, data_end, pkt->l3_off, sizeof(*iph));
	struct icmphdr *icmp = l4_header(data, data_end, pkt, sizeof(*icmp));
	__be32 client;

	if (!iph || !icmp)
		return -1;
	l2_reply(data);
	client = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = client;
	iph->ttl = ICMP_TTL;
	ipv4_set_csum(iph);
	csum_replace16(&icmp->checksum, bpf_htons(ICMP_ECHO << 8), bpf_htons(ICMP_ECHOREPLY << 8));
	icmp->type = ICMP_ECHOREPLY;
	/*
	 * 0 is right unless the reply is all zeros (id 0, sequence 0, zero data): that
	 * checksum is 0xffff, which only summing the message in full can tell. The sum
	 * cannot fail (parse_ip saw the message in the frame); if it did, 0xffff passes a
	 * receiver's RFC 1071 check whichever of the two was meant.
	 */
	if (!icmp->checksum &&
	    icmp_set_csum(ctx, &icmp->checksum, pkt->l4_off, l4_length(pkt), 0))
		icmp->checksum = 0xffff;
	return 0;
}

static __always_inline int echo_reply_v6(void *data, void *data_end, const struct packet *pkt)
{
	struct ipv6hdr *ip6 = l3_header(data, data_end, pkt->l3_off, sizeof(*ip6));
	struct icmp6hdr *icmp6 = l4_header(data, data_end, pkt, sizeof(*icmp6));
	struct in6_addr client;

	if (!ip6 || !icmp6)
		return -1;
	l2_reply(data);
	/* Swapping the addresses leaves the pseudo-header sum unchanged. */
	client = ip6->saddr;
	ip6->saddr = ip6->daddr;
	ip6->daddr = client;
	ip6->hop_limit = ICMP_TTL;
	/* The pseudo-header's next header (58) keeps the sum off +0: the update is exact. */
	csum_replace16(&icmp6->icmp6_cksum, bpf_htons(ICMPV6_ECHO_REQUEST << 8),
		       bpf_htons(ICMPV6_ECHO_REPLY << 8));
	icmp6->icmp6_type = ICMPV6_ECHO_REPLY;
	return 0;
}

/* Grows the head by `growth` for the new headers and keeps the L2 header in front. */
static __always_inline int make_room(struct xdp_md *ctx, __u32 growth, __u16 l3_off)
{
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -(int)growth))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (l2_pull_front(data, data_end, growth, l3_off))
		return -1;
	l2_reply(data);
	return 0;
}

/* Cuts the frame to `len` bytes. */
static __always_inline int truncate_frame(struct xdp_md *ctx, __u32 len)
{
	__u32 current = ctx->data_end - ctx->data;

	if (current < len)
		return -1;
	return bpf_xdp_adjust_tail(ctx, (int)len - (int)current);
}

/* How much of the offending IP packet an error quotes: all of it, up to `max` bytes. */
static __always_inline __u32 quote_length(const struct packet *pkt, __u32 max)
{
	return pkt->l3_len < max ? pkt->l3_len : max;
}

/*
 * Turns an IPv4 packet that will not fit into "fragmentation needed" (type 3 code 4)
 * from the VIP to the client. The packet stays where it is, the new headers go in
 * front of it and the tail is cut after the quote: nothing is copied.
 */
static __always_inline int too_big_v4(struct xdp_md *ctx, const struct packet *pkt, __u16 mtu)
{
	__u32 quote = quote_length(pkt, ICMP4_QUOTE_MAX);
	__u32 l3_len = ICMP4_ERROR_GROWTH + quote;
	struct iphdr *iph, *quoted;
	struct icmphdr *icmp;
	void *data, *data_end;

	if (make_room(ctx, ICMP4_ERROR_GROWTH, pkt->l3_off) ||
	    truncate_frame(ctx, pkt->l3_off + l3_len))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	iph = l3_header(data, data_end, pkt->l3_off, ICMP4_ERROR_GROWTH + sizeof(*quoted));
	if (!iph)
		return -1;
	icmp = (void *)(iph + 1);
	quoted = (void *)(icmp + 1);
	*(__u8 *)iph = 0x45;
	iph->tos = 0;
	iph->tot_len = bpf_htons(l3_len);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = ICMP_TTL;
	iph->protocol = IPPROTO_ICMP;
	iph->saddr = quoted->daddr;
	iph->daddr = quoted->saddr;
	ipv4_set_csum(iph);
	icmp->type = ICMP_DEST_UNREACH;
	icmp->code = ICMP_FRAG_NEEDED;
	icmp->checksum = 0;
	icmp->un.frag.__unused = 0;
	icmp->un.frag.mtu = bpf_htons(mtu);
	return icmp_set_csum(ctx, &icmp->checksum, pkt->l3_off + sizeof(*iph), sizeof(*icmp) + quote, 0);
}

/* The IPv6 counterpart: "packet too big" (type 2) with the next-hop MTU. */
static __always_inline int too_big_v6(struct xdp_md *ctx, const struct packet *pkt, __u16 mtu)
{
	__u32 payload = sizeof(struct icmp6hdr) + quote_length(pkt, ICMP6_QUOTE_MAX);
	struct ipv6hdr *ip6, *quoted;
	struct icmp6hdr *icmp6;
	void *data, *data_end;
	__u64 pseudo;

	if (make_room(ctx, ICMP6_ERROR_GROWTH, pkt->l3_off) ||
	    truncate_frame(ctx, pkt->l3_off + sizeof(*ip6) + payload))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip6 = l3_header(data, data_end, pkt->l3_off, ICMP6_ERROR_GROWTH + sizeof(*quoted));
	if (!ip6)
		return -1;
	icmp6 = (void *)(ip6 + 1);
	quoted = (void *)(icmp6 + 1);
	*(__be32 *)ip6 = bpf_htonl(6U << 28);
	ip6->payload_len = bpf_htons(payload);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = ICMP_TTL;
	ip6->saddr = quoted->daddr;
	ip6->daddr = quoted->saddr;
	icmp6->icmp6_type = ICMPV6_PKT_TOOBIG;
	icmp6->icmp6_code = 0;
	icmp6->icmp6_cksum = 0;
	icmp6->icmp6_mtu = bpf_htonl(mtu);
	/* pseudo-header: both addresses, upper-layer length, next header */
	pseudo = (__u32)bpf_csum_diff(NULL, 0, (__be32 *)&ip6->saddr, 2 * sizeof(struct in6_addr), 0);
	/* added one by one: the two words' 32-bit sum can carry out (a length of 1240 does) */
	pseudo += bpf_htonl(payload);
	pseudo += bpf_htonl(IPPROTO_ICMPV6);
	return icmp_set_csum(ctx, &icmp6->icmp6_cksum, pkt->l3_off + sizeof(*ip6), payload, pseudo);
}

/*
 * An ICMP error to a VIP quotes a packet the backend sent (VIP -> client). The
 * client's view of that flow, which is what the connection table and ring use.
 */
static __always_inline int quoted_flow(void *data, void *data_end, const struct packet *pkt,
				       struct lb_flow_key *flow)
{
	void *icmp;
	__be16 *ports;

	flow->family = pkt->flow.family;
	if (pkt->flow.family == LB_FAMILY_V4) {
		struct iphdr *q;

		/* the ICMP header, the quoted IP header and the quoted ports */
		icmp = l4_header(data, data_end, pkt, 8 + sizeof(*q) + 4);
		if (!icmp)
			return -1;
		q = icmp + 8;
		if (q->ihl != 5)
			return -1;
		flow->proto = q->protocol;
		flow->src[0] = q->daddr;
		flow->dst[0] = q->saddr;
		ports = (void *)(q + 1);
	} else {
		struct ipv6hdr *q;

		icmp = l4_header(data, data_end, pkt, 8 + sizeof(*q) + 4);
		if (!icmp)
			return -1;
		q = icmp + 8;
		flow->proto = q->nexthdr;
		__builtin_memcpy(flow->src, &q->daddr, sizeof(flow->src));
		__builtin_memcpy(flow->dst, &q->saddr, sizeof(flow->dst));
		ports = (void *)(q + 1);
	}
	if (flow->proto != IPPROTO_TCP && flow->proto != IPPROTO_UDP)
		return -1;
	flow->sport = ports[1];
	flow->dport = ports[0];
	return 0;
}

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The ceiling reference of `make bench-e2e`: the least an IPIP load balancer must do
 * per packet. Every IPv4 frame is encapsulated to one fixed backend and sent back out
 * (XDP_TX) — no VIP lookup, no connection table, no Maglev ring, no counters. The
 * balancer's packet rate is compared with this one's on the same generator, core and
 * device. Anything that is not IPv4 goes to the kernel (XDP_PASS).
 *
 * The addresses are `const volatile`: set before load, constants to the verifier and
 * the JIT, as compile-time ones would be.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct trivial_encap_config {
	__u8 gateway_mac[ETH_ALEN];
	__u8 pad[2];
	__be32 outer_src;
	__be32 backend;
};

const volatile struct trivial_encap_config trivial_config = {
	.gateway_mac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe },
	.outer_src = bpf_htonl(0x0a710001),	/* 10.113.0.1 */
	.backend = bpf_htonl(0x0a6f6502),	/* 10.111.101.2 */
};

/* By 4- and 2-byte words, as the balancer copies MACs (frames are 2-byte aligned). */
static __always_inline void copy_mac(void *dst, const volatile void *src)
{
	*(__u32 *)dst = *(const volatile __u32 *)src;
	*(__u16 *)(dst + 4) = *(const volatile __u16 *)(src + 4);
}

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int trivial_encap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *outer, *inner;
	__u16 *words;
	__u32 sum = 0;

	if ((void *)(eth + 1) + sizeof(struct iphdr) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	outer = data + sizeof(*eth);
	inner = (void *)(outer + 1);
	if ((void *)(inner + 1) > data_end)
		return XDP_DROP;

	/* The Ethernet header moves to the new front: our MAC (the old destination) as
	 * source, the gateway as destination. */
	copy_mac(eth->h_source, (void *)eth + sizeof(struct iphdr));
	copy_mac(eth->h_dest, trivial_config.gateway_mac);
	eth->h_proto = bpf_htons(ETH_P_IP);

	*(__u8 *)outer = 0x45; /* version 4, ihl 5 */
	outer->tos = inner->tos;
	outer->tot_len = bpf_htons(bpf_ntohs(inner->tot_len) + sizeof(struct iphdr));
	outer->id = 0;
	outer->frag_off = 0;
	outer->ttl = 64;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = trivial_config.outer_src;
	outer->daddr = trivial_config.backend;
	words = (__u16 *)outer;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*outer) / 2); i++)
		sum += words[i];
	outer->check = fold(sum);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

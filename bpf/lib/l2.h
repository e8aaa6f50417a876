/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Moving the Ethernet header (and its VLAN tag) when the program grows or shrinks
 * the frame at the front, and the MAC rewrites of the frames it transmits.
 */
#ifndef LB_L2_H
#define LB_L2_H

#include "parse.h"

/*
 * Copies by 4- and 2-byte words. Frames start 2-byte aligned and the verifier allows
 * unaligned packet access where the CPU handles it (x86, arm64); __builtin_memcpy on
 * a void pointer would move one byte per instruction, on every packet.
 */
static __always_inline void copy_mac(void *dst, const void *src)
{
	*(__u32 *)dst = *(const __u32 *)src;
	*(__u16 *)(dst + 4) = *(const __u16 *)(src + 4);
}

static __always_inline void copy_l2(void *dst, const void *src, bool vlan)
{
	copy_mac(dst, src);
	copy_mac(dst + 6, src + 6);
	*(__u16 *)(dst + 12) = *(const __u16 *)(src + 12);
	if (vlan)
		*(__u32 *)(dst + 14) = *(const __u32 *)(src + 14);
}

/*
 * Copies the L2 header that sits `gap` bytes into the frame to the frame's start
 * (gap > 0, after bpf_xdp_adjust_head grew the head). The regions never overlap:
 * every gap used is at least 20 bytes, the header at most 18.
 */
static __always_inline int l2_pull_front(void *data, void *data_end, __u32 gap, __u16 l3_off)
{
	if (l3_off == ETH_HLEN_VLAN) {
		if (data + gap + ETH_HLEN_VLAN > data_end)
			return -1;
		copy_l2(data, data + gap, true);
		return 0;
	}
	if (data + gap + ETH_HLEN > data_end)
		return -1;
	copy_l2(data, data + gap, false);
	return 0;
}

/* Copies the L2 header at the frame's start `gap` bytes further in (before shrinking the head). */
static __always_inline int l2_push_back(void *data, void *data_end, __u32 gap, __u16 l3_off)
{
	if (l3_off == ETH_HLEN_VLAN) {
		if (data + gap + ETH_HLEN_VLAN > data_end)
			return -1;
		copy_l2(data + gap, data, true);
		return 0;
	}
	if (data + gap + ETH_HLEN > data_end)
		return -1;
	copy_l2(data + gap, data, false);
	return 0;
}

/* The EtherType that announces the L3 header (after the VLAN tag when there is one). */
static __always_inline void l2_set_proto(void *data, void *data_end, __u16 l3_off, __be16 proto)
{
	__be16 *field = data + (l3_off == ETH_HLEN_VLAN ? ETH_HLEN_VLAN : ETH_HLEN) - 2;

	if ((void *)(field + 1) <= data_end)
		*field = proto;
}

/* Toward the gateway: our address (the frame's old destination) becomes the source. */
static __always_inline void l2_to_gateway(struct ethhdr *eth, const __u8 gateway[ETH_ALEN])
{
	copy_mac(eth->h_source, eth->h_dest);
	copy_mac(eth->h_dest, gateway);
}

/* Back to whoever sent the frame. */
static __always_inline void l2_reply(struct ethhdr *eth)
{
	__u8 tmp[8];

	copy_mac(tmp, eth->h_source);
	copy_mac(eth->h_source, eth->h_dest);
	copy_mac(eth->h_dest, tmp);
}

#endif

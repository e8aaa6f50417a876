/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internet checksums (RFC 1071) over headers the program writes or rewrites. */
#ifndef LB_CSUM_H
#define LB_CSUM_H

#include <linux/types.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* A fresh IPv4 header checksum; the header has no options (ihl 5). */
static __always_inline void ipv4_set_csum(struct iphdr *iph)
{
	__u16 *words = (__u16 *)iph;
	__u64 sum = 0;

	iph->check = 0;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += words[i];
	iph->check = csum_fold(sum);
}

/* RFC 1624 incremental update: one 16-bit word of the covered data changed. */
static __always_inline void csum_replace16(__u16 *check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~*check + (__u16)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	*check = (__u16)~sum;
}

#endif

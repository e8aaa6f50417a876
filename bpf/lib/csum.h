/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internet checksums (RFC 1071) over what the program writes, rewrites or quotes. */
#ifndef LB_CSUM_H
#define LB_CSUM_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
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

/*
 * RFC 1624 incremental update: one 16-bit word of the covered data changed. Its
 * ones' complement arithmetic cannot tell a sum of +0 from -0, so it never yields
 * 0xffff, the checksum of all-zero data: where the covered data may be all zeros, a
 * result of 0 has to be settled by summing the data in full (csum_packet).
 */
static __always_inline void csum_replace16(__u16 *check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~*check + (__u16)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	*check = (__u16)~sum;
}

#define CSUM_CHUNK 64

/* What csum_packet sums; only `sum` changes from step to step. */
struct csum_walk {
	struct xdp_md *ctx;
	__u32 off;  /* from the frame's start */
	__u32 len;
	__u64 sum;
	bool failed;
};

/*
 * Step `index` of csum_packet: the index-th chunk, copied into a zeroed buffer because
 * bpf_csum_diff takes multiples of 4 bytes and the verifier wants bounds it can see
 * (an odd last byte then counts as the high half of a zero-padded word, RFC 1071).
 * Positions come from the index, not from state the steps carry, so the verifier
 * needs to check one step only.
 */
static long csum_chunk(__u32 index, void *arg)
{
	struct csum_walk *walk = arg;
	__u8 buf[CSUM_CHUNK + 4] = {}; /* + the padding, as far as the verifier can tell */
	__u32 done = index * CSUM_CHUNK;
	__u32 n;

	if (done >= walk->len)
		return 1;
	n = walk->len - done < CSUM_CHUNK ? walk->len - done : CSUM_CHUNK;
	/* n > 0 here, which the verifier loses in clang's code: tell it again */
	barrier_var(n);
	if (!n)
		return 1;
	if (bpf_xdp_load_bytes(walk->ctx, walk->off + done, buf, n)) {
		walk->failed = true;
		return 1;
	}
	walk->sum += (__u32)bpf_csum_diff(NULL, 0, (__be32 *)buf, (n + 3) & ~3U, 0);
	return 0;
}

/*
 * Adds the ones' complement sum, unfolded, of `len` bytes of the frame from `off` (an
 * even offset into the checksummed data) to `sum`; -1 if they pass the frame's end. A
 * bpf_loop, so the verifier checks one step whatever the length. The sum is never
 * compared, which would make the verifier track its value through every step.
 */
static __always_inline int csum_packet(struct xdp_md *ctx, __u32 off, __u32 len, __u64 *sum)
{
	struct csum_walk walk = { .ctx = ctx, .off = off, .len = len, .sum = *sum };

	bpf_loop((len + CSUM_CHUNK - 1) / CSUM_CHUNK, csum_chunk, &walk, 0);
	*sum = walk.sum;
	return walk.failed ? -1 : 0;
}

#endif

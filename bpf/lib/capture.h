/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet capture on demand: while capture_config says so, the frame as received is
 * kept in a per-CPU scratch record; once the packet's fate is known, a packet of the
 * capture's VIP and verdicts is sampled and its records written to capture_ring. With
 * no capture running the balancer reads capture_config's flag and nothing more.
 */
#ifndef LB_CAPTURE_H
#define LB_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include "maps.h"

/* What the balancer learnt about a packet, for the capture filter. */
struct capture_note {
	__u32 vip;      /* the VIP's index; LB_CAPTURE_ANY_VIP when none was found */
	__u32 verdicts; /* LB_CAPTURE_V_MISS, LB_CAPTURE_V_ICMP */
	bool for_vip;   /* addressed to a VIP (or a VIP address): only those are captured */
};

static __always_inline struct lb_capture_config *capture_settings(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&capture_config, &zero);
}

static __always_inline void note_vip(struct capture_note *note, __u32 vip)
{
	note->vip = vip;
	note->for_vip = true;
}

/*
 * Copies the first snaplen bytes of the frame into scratch record `which`. A frame that
 * could not be copied leaves the record empty (copied 0), never with an older frame's bytes.
 */
static __always_inline struct lb_capture_record *capture_copy(struct xdp_md *ctx,
							      const struct lb_capture_config *cfg,
							      __u32 which)
{
	struct lb_capture_record *record = bpf_map_lookup_elem(&capture_scratch, &which);
	__u32 frame_len = ctx->data_end - ctx->data;
	__u32 copied = frame_len < cfg->snaplen ? frame_len : cfg->snaplen;

	if (!record)
		return NULL;
	record->copied = 0;
	if (copied > LB_CAPTURE_SNAPLEN_MAX)
		copied = LB_CAPTURE_SNAPLEN_MAX;
	if (copied == 0 || bpf_xdp_load_bytes(ctx, 0, record->data, copied))
		return NULL;
	record->timestamp_ns = bpf_ktime_get_ns();
	record->frame_len = frame_len;
	record->copied = copied;
	record->stage = which;
	return record;
}

/* The frame as received, in its scratch record; NULL when it could not be copied. */
static __always_inline struct lb_capture_record *capture_received(struct xdp_md *ctx,
								  const struct lb_capture_config *cfg)
{
	return capture_copy(ctx, cfg, LB_CAPTURE_STAGE_RECEIVED);
}

static __always_inline __u32 action_verdict(int action)
{
	switch (action) {
	case XDP_TX:
		return LB_CAPTURE_V_TX;
	case XDP_DROP:
		return LB_CAPTURE_V_DROP;
	default:
		return LB_CAPTURE_V_PASS;
	}
}

static __always_inline void capture_write(struct lb_capture_record *record, const struct capture_note *note,
					  __u32 verdicts, struct lb_capture_stats *stats)
{
	__u32 size = record->copied;

	if (size == 0 || size > LB_CAPTURE_SNAPLEN_MAX)
		return;
	record->vip = note->vip;
	record->verdicts = verdicts;
	if (bpf_ringbuf_output(&capture_ring, record, offsetof(struct lb_capture_record, data) + size, 0))
		stats->lost++;
	else
		stats->copied++;
}

/*
 * After the balancer decided `action`: the packet's records, if the capture wants it;
 * `received` is capture_received's record (NULL when the frame was not copied).
 */
static __always_inline void capture_packet(struct xdp_md *ctx, const struct lb_capture_config *cfg,
					   struct lb_capture_record *received, int action,
					   const struct capture_note *note)
{
	__u32 zero = 0, verdicts = action_verdict(action) | note->verdicts;
	struct lb_capture_stats *stats = bpf_map_lookup_elem(&capture_stats, &zero);

	if (!stats || !note->for_vip || !(verdicts & cfg->verdicts))
		return;
	if (cfg->vip != LB_CAPTURE_ANY_VIP && cfg->vip != note->vip)
		return;
	stats->matched++;
	if (cfg->sample > 1 && stats->matched % cfg->sample)
		return;
	if (received)
		capture_write(received, note, verdicts, stats);
	if (action == XDP_TX) {
		struct lb_capture_record *sent = capture_copy(ctx, cfg, LB_CAPTURE_STAGE_SENT);

		if (sent)
			capture_write(sent, note, verdicts, stats);
	}
}

#endif

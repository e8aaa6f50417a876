// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Benchmark harness. bpf_prog_test_run with `repeat` hands every iteration the frame
 * the previous one left behind (already encapsulated, for the balancer), so this
 * wrapper restores the template frame first and then tail-calls the program under
 * test. bench_noop as the target measures the harness itself (the baseline). The same
 * holds for live frames (BPF_F_TEST_XDP_LIVE_FRAMES): a recycled page keeps what the
 * previous run wrote into it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lb_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lb_bench_frame);
	__uint(max_entries, 1);
} bench_frame SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 1);
} bench_target SEC(".maps");

SEC("xdp")
int bench_wrapper(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct lb_bench_frame *frame = bpf_map_lookup_elem(&bench_frame, &zero);
	__u32 len, current;

	if (!frame)
		return XDP_ABORTED;
	len = frame->len;
	if (len < 14 || len > LB_BENCH_FRAME_MAX)
		return XDP_ABORTED;
	current = ctx->data_end - ctx->data;
	if (current != len && bpf_xdp_adjust_head(ctx, (int)current - (int)len))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, frame->data, len))
		return XDP_ABORTED;
	if (frame->flags & LB_BENCH_F_VARY) {
		__u32 offset = frame->vary_offset, value;

		frame->counter++;
		value = frame->counter;
		if (frame->vary_mask) {
			if (offset > LB_BENCH_FRAME_MAX - sizeof(value))
				return XDP_ABORTED;
			__builtin_memcpy(&value, frame->data + offset, sizeof(value));
			if (frame->flags & LB_BENCH_F_SCRAMBLE)
				value ^= (frame->counter * LB_BENCH_SCRAMBLE_FACTOR ^
					  frame->counter / (frame->vary_mask + 1)) & frame->vary_mask;
			else
				value ^= frame->counter & frame->vary_mask;
		} else if (frame->flags & LB_BENCH_F_SCRAMBLE) {
			value *= LB_BENCH_SCRAMBLE_FACTOR;
		}
		if (bpf_xdp_store_bytes(ctx, offset, &value, sizeof(value)))
			return XDP_ABORTED;
	}
	bpf_tail_call(ctx, &bench_target, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int bench_noop(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_TX;
}

/* Per-CPU count of the frames bench_sink received. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} bench_sunk SEC(".maps");

/*
 * The far end of a live-frames benchmark (BPF_F_TEST_XDP_LIVE_FRAMES): attached to the
 * peer of the veth the frames are sent on, it counts and drops them. A native XDP_TX
 * into a veth needs an XDP program on the peer to be received at all.
 */
SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&bench_sunk, &zero);

	(void)ctx;
	if (count)
		*count += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

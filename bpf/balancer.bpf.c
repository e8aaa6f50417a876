// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The XDP balancer. Packets to a VIP are sent, encapsulated, to the backend the
 * connection table or the VIP's Maglev ring names (XDP_TX); everything else goes to
 * the kernel untouched (XDP_PASS).
 *
 * Documented choices:
 *  - IP fragments and IPv4 options / IPv6 extension headers addressed to a VIP
 *    address are dropped and counted (fragment, ip_options): a fragment carries no
 *    ports to balance on, and backends never see traffic the LB cannot steer.
 *  - Frames with truncated or inconsistent headers (an L4 header past the IP
 *    packet's own length included) are counted (parse_error) and passed to the
 *    kernel, which drops them as it would without the balancer.
 *  - A packet too big for the path once encapsulated is answered with ICMP
 *    fragmentation-needed / packet-too-big (next-hop MTU = mtu - overhead), with
 *    or without DF: XDP cannot fragment, and a silent drop would black-hole it.
 */
#include "lib/capture.h"
#include "lib/encap.h"
#include "lib/flow.h"
#include "lib/icmp.h"

static __always_inline struct lb_config *runtime_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config, &zero);
}

static __always_inline int send_too_big(struct xdp_md *ctx, const struct packet *pkt,
					__u16 mtu, struct lb_global_stats *stats)
{
	int err = pkt->flow.family == LB_FAMILY_V4 ? too_big_v4(ctx, pkt, mtu)
						   : too_big_v6(ctx, pkt, mtu);

	if (err) {
		count(stats, LB_STAT_ENCAP_ERROR);
		return XDP_DROP;
	}
	count(stats, LB_STAT_TOO_BIG_SENT);
	return XDP_TX;
}

/* Encapsulates to the route's backend and counts the packet for its VIP and backend. */
static __always_inline int send_to_backend(struct xdp_md *ctx, const struct packet *pkt,
					   const struct route *route, const struct lb_config *cfg,
					   struct lb_global_stats *stats, struct capture_note *note)
{
	const struct lb_backend *backend = route->target;
	__u32 overhead;

	if (!backend || (backend->family == LB_FAMILY_V4 && pkt->flow.family == LB_FAMILY_V6)) {
		count(stats, LB_STAT_ENCAP_ERROR);
		return XDP_DROP;
	}
	overhead = encap_overhead(backend);
	if (cfg->mtu && pkt->l3_len + overhead > cfg->mtu) {
		note->verdicts |= LB_CAPTURE_V_ICMP;
		return send_too_big(ctx, pkt, cfg->mtu - overhead, stats);
	}
	count_traffic(&vip_stats, route->vip, pkt->l3_len);
	count_traffic(&backend_stats, route->backend, pkt->l3_len);
	if (encapsulate(ctx, pkt, backend, cfg)) {
		count(stats, LB_STAT_ENCAP_ERROR);
		return XDP_DROP;
	}
	return XDP_TX;
}

static __always_inline int balance(struct xdp_md *ctx, const struct packet *pkt,
				   struct lb_global_stats *stats, struct capture_note *note)
{
	struct lb_config *cfg = runtime_config();
	struct quic_packet quic = { .ctx = ctx, .pkt = pkt };
	struct route route;

	if (!cfg || !route_flow(&pkt->flow, pkt->tcp_flags, true, &quic, cfg, stats, &route))
		return XDP_PASS;
	note_vip(note, route.vip);
	if (route.from_ring)
		note->verdicts |= LB_CAPTURE_V_MISS;
	if (route.refused)
		return XDP_DROP;
	if (route.backend == LB_BACKEND_NONE) {
		count(stats, LB_STAT_NO_BACKEND);
		return XDP_DROP;
	}
	return send_to_backend(ctx, pkt, &route, cfg, stats, note);
}

/*
 * Fragmentation-needed / packet-too-big about a packet a backend sent for a VIP: the
 * whole ICMP packet goes to the backend owning that flow, so its path-MTU discovery
 * works even though its replies bypass the balancer.
 */
static __always_inline int forward_icmp_error(struct xdp_md *ctx, struct packet *pkt,
					      struct lb_global_stats *stats, struct capture_note *note)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_flow_key flow = {};
	struct lb_config *cfg = runtime_config();
	struct route route;
	int action;

	if (!cfg || quoted_flow(data, data_end, pkt, &flow) ||
	    !route_flow(&flow, 0, false, NULL, cfg, stats, &route)) {
		count(stats, LB_STAT_ICMP_UNMATCHED);
		return XDP_PASS;
	}
	note_vip(note, route.vip);
	if (route.backend == LB_BACKEND_NONE) {
		count(stats, LB_STAT_NO_BACKEND);
		return XDP_DROP;
	}
	/* The outer source follows the flow's client, like the flow's own packets. */
	pkt->flow = flow;
	action = send_to_backend(ctx, pkt, &route, cfg, stats, note);
	if (action == XDP_TX)
		count(stats, LB_STAT_ICMP_FORWARDED);
	return action;
}

static __always_inline int handle_icmp(struct xdp_md *ctx, struct packet *pkt,
				       struct lb_global_stats *stats, struct capture_note *note)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *type_code = l4_header(data, data_end, pkt, 2);
	bool v4 = pkt->flow.family == LB_FAMILY_V4;

	if (!type_code) {
		count(stats, LB_STAT_PARSE_ERROR);
		return XDP_PASS;
	}
	if (!may_be_vip(pkt->flow.dst, pkt->flow.family) ||
	    !is_vip_address(pkt->flow.dst, pkt->flow.family))
		return XDP_PASS;
	note->for_vip = true;
	note->verdicts |= LB_CAPTURE_V_ICMP;
	if ((v4 && type_code[0] == ICMP_ECHO) || (!v4 && type_code[0] == ICMPV6_ECHO_REQUEST)) {
		if (v4 ? echo_reply_v4(ctx, pkt) : echo_reply_v6(data, data_end, pkt)) {
			count(stats, LB_STAT_PARSE_ERROR);
			return XDP_PASS;
		}
		count(stats, LB_STAT_ICMP_ECHO);
		return XDP_TX;
	}
	if ((v4 && type_code[0] == ICMP_DEST_UNREACH && type_code[1] == ICMP_FRAG_NEEDED) ||
	    (!v4 && type_code[0] == ICMPV6_PKT_TOOBIG))
		return forward_icmp_error(ctx, pkt, stats, note);
	return XDP_PASS;
}

/* A fragment or a packet with IP options: dropped if it is for a VIP address. */
static __always_inline int refuse_if_vip(const struct packet *pkt, enum lb_stat reason,
					 struct lb_global_stats *stats, struct capture_note *note)
{
	if (!may_be_vip(pkt->flow.dst, pkt->flow.family) ||
	    !is_vip_address(pkt->flow.dst, pkt->flow.family))
		return XDP_PASS;
	note->for_vip = true;
	count(stats, reason);
	return XDP_DROP;
}

static __always_inline int process(struct xdp_md *ctx, struct lb_global_stats *stats,
				   struct capture_note *note)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct packet pkt = {};
	__be16 eth_proto;

	if (parse_eth(data, data_end, &pkt, &eth_proto) != PARSE_OK) {
		count(stats, LB_STAT_PARSE_ERROR);
		return XDP_PASS;
	}
	switch (parse_ip(data, data_end, &pkt, eth_proto)) {
	case PARSE_OK:
		break;
	case PARSE_FRAGMENT:
		return refuse_if_vip(&pkt, LB_STAT_FRAGMENT, stats, note);
	case PARSE_OPTIONS:
		return refuse_if_vip(&pkt, LB_STAT_IP_OPTIONS, stats, note);
	case PARSE_MALFORMED:
		count(stats, LB_STAT_PARSE_ERROR);
		return XDP_PASS;
	default:
		return XDP_PASS;
	}
	if (pkt.flow.proto == IPPROTO_ICMP || pkt.flow.proto == IPPROTO_ICMPV6) {
		if ((pkt.flow.proto == IPPROTO_ICMP) != (pkt.flow.family == LB_FAMILY_V4))
			return XDP_PASS;
		return handle_icmp(ctx, &pkt, stats, note);
	}
	if (pkt.flow.proto != IPPROTO_TCP && pkt.flow.proto != IPPROTO_UDP)
		return XDP_PASS;
	if (parse_ports(data, data_end, &pkt) != PARSE_OK) {
		count(stats, LB_STAT_PARSE_ERROR);
		return XDP_PASS;
	}
	if (!may_be_vip(pkt.flow.dst, pkt.flow.family))
		return XDP_PASS;
	return balance(ctx, &pkt, stats, note);
}

static __always_inline enum lb_stat action_stat(int action)
{
	switch (action) {
	case XDP_TX:
		return LB_STAT_XDP_TX;
	case XDP_DROP:
		return LB_STAT_XDP_DROP;
	default:
		return LB_STAT_XDP_PASS;
	}
}

/* With no capture running, `capture` is read once and nothing else is done for it. */
SEC("xdp")
int balancer(struct xdp_md *ctx)
{
	struct lb_global_stats *stats = global_counters();
	struct lb_capture_config *capture = capture_settings();
	bool capturing = capture && capture->enabled;
	struct capture_note note = { .vip = LB_CAPTURE_ANY_VIP };
	struct lb_capture_record *received = NULL;
	int action;

	if (capturing)
		received = capture_received(ctx, capture);
	action = process(ctx, stats, &note);
	count(stats, LB_STAT_RX);
	count(stats, action_stat(action));
	if (capturing)
		capture_packet(ctx, capture, received, action, &note);
	return action;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Health checks through the tunnel: a tc egress program on the balancer's interface
 * that encapsulates lbd's marked probes (addressed to a VIP) toward the one backend
 * the mark names, with the outer header the balancer puts on client traffic
 * (lib/encap.h: IPIP, IP6IP6 or 4-in-6, the same outer source rule and gateway MAC).
 * The probe then crosses the backend's decapsulation, its VIP on lo and its service,
 * and the answer comes back by the DSR path, from the VIP to this host's address.
 *
 * It shares the balancer's `backends` and `config` maps (lbd hands it the balancer's
 * descriptors) and writes no map. Packets without lbd's probe mark pass untouched; a
 * probe that cannot be encapsulated is dropped, never sent to the VIP in the clear
 * (the router would give it to whichever backend the ring picks).
 */
#include <linux/pkt_cls.h>
#include "lib/encap.h"
#include "lib/maps.h"

/* The probe's inner packet, parsed as the balancer parses a client's. */
static __always_inline int parse_probe(struct __sk_buff *skb, struct packet *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__be16 eth_proto;

	if (parse_eth(data, data_end, pkt, &eth_proto) != PARSE_OK ||
	    parse_ip(data, data_end, pkt, eth_proto) != PARSE_OK ||
	    parse_ports(data, data_end, pkt) != PARSE_OK)
		return -1;
	return 0;
}

/* The outer header in front of the IP header, and the Ethernet header's new type and next hop. */
static __always_inline int encapsulate_probe(struct __sk_buff *skb, const struct packet *pkt,
					     const struct lb_backend *backend,
					     const struct lb_config *cfg)
{
	__u64 flags = backend->family == LB_FAMILY_V4 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4
						      : BPF_F_ADJ_ROOM_ENCAP_L3_IPV6;
	__u32 overhead = encap_overhead(backend);
	void *data, *data_end, *outer;

	if (bpf_skb_adjust_room(skb, overhead, BPF_ADJ_ROOM_MAC, flags))
		return -1;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ETH_HLEN > data_end)
		return -1;
	copy_mac(((struct ethhdr *)data)->h_dest, cfg->gateway_mac);
	l2_set_proto(data, data_end, pkt->l3_off, outer_eth_proto(backend));
	outer = l3_header(data, data_end, pkt->l3_off, overhead);
	if (!outer)
		return -1;
	return write_outer(outer, data_end, pkt, backend, cfg);
}

SEC("tc")
int probe_encap(struct __sk_buff *skb)
{
	__u32 index = skb->mark & ~LB_PROBE_MARK_MASK;
	__u32 zero = 0;
	struct packet pkt = {};
	struct lb_backend *backend;
	struct lb_config *cfg;

	if ((skb->mark & LB_PROBE_MARK_MASK) != LB_PROBE_MARK_BASE)
		return TC_ACT_OK;
	backend = bpf_map_lookup_elem(&backends, &index);
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!backend || !cfg || index == LB_BACKEND_NONE)
		return TC_ACT_SHOT;
	/* An IPv6 probe has no way to an IPv4 backend, like an IPv6 client's packet. */
	if (backend->family != LB_FAMILY_V6 && backend->family != LB_FAMILY_V4)
		return TC_ACT_SHOT;
	if (bpf_skb_pull_data(skb, skb->len) || parse_probe(skb, &pkt) ||
	    (pkt.flow.family == LB_FAMILY_V6 && backend->family == LB_FAMILY_V4))
		return TC_ACT_SHOT;
	if (encapsulate_probe(skb, &pkt, backend, cfg))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

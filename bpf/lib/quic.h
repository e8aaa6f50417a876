/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * QUIC connection-ID routing for VIPs flagged LB_VIP_F_QUIC. A short-header packet
 * names its connection by the destination connection ID alone, which its server chose;
 * the server writes its id into it (QUIC-LB plaintext layout: octet 0 config rotation
 * bits, then the server id), so the balancer finds the backend from the packet even
 * when the client's address or port changed (migration, NAT rebinding). Long headers
 * (Initial, 0-RTT, Handshake, Retry) carry a client-chosen ID: they go by the
 * connection table and the ring like any UDP flow.
 */
#ifndef LB_QUIC_H
#define LB_QUIC_H

#include "parse.h"
#include "stats.h"

#define QUIC_LONG_HEADER 0x80
#define QUIC_ROTATION_SHIFT 5

/* The packet a QUIC VIP routes: read only once its VIP is known to be QUIC. */
struct quic_packet {
	struct xdp_md *ctx;
	const struct packet *pkt;
};

enum quic_cid {
	QUIC_CID_SERVER,     /* a short header whose connection ID carries a server id */
	QUIC_CID_NONE,       /* a long header: no server id to route on */
	QUIC_CID_UNROUTABLE, /* a short header whose ID the LB may not route (rotation 0b111) */
	QUIC_CID_MALFORMED,  /* too short for the VIP's connection ID */
};

/*
 * The server id in the destination connection ID of `quic`'s UDP payload: octets
 * 1..server_id_len of the ID, big-endian. The payload must hold the header octet and
 * the VIP's whole connection ID (short headers carry no length: it is configured).
 */
static __always_inline enum quic_cid quic_server_id(const struct quic_packet *quic,
						    const struct lb_vip_info *vip, __u32 *id)
{
	void *data = (void *)(long)quic->ctx->data;
	void *data_end = (void *)(long)quic->ctx->data_end;
	__u8 *udp = l4_header(data, data_end, quic->pkt, sizeof(struct udphdr) + 2);
	__u8 *payload, *cid;

	if (!udp)
		return QUIC_CID_MALFORMED;
	payload = udp + sizeof(struct udphdr);
	if (payload[0] & QUIC_LONG_HEADER)
		return QUIC_CID_NONE;
	if (l4_length(quic->pkt) < sizeof(struct udphdr) + 1 + vip->quic_cid_len)
		return QUIC_CID_MALFORMED;
	cid = payload + 1;
	if (cid[0] >> QUIC_ROTATION_SHIFT == LB_QUIC_UNROUTABLE)
		return QUIC_CID_UNROUTABLE;
	*id = 0;
#pragma unroll
	for (int i = 0; i < LB_QUIC_SERVER_ID_MAX; i++) {
		if (i >= vip->quic_server_id_len)
			break;
		if (cid + 2 + i > (__u8 *)data_end)
			return QUIC_CID_MALFORMED;
		*id = *id << 8 | cid[1 + i];
	}
	return QUIC_CID_SERVER;
}

/*
 * The quic_servers entry for the server id of a short-header packet to VIP `index`,
 * or NULL (counted when the packet was a short header: malformed or fallen back).
 */
static __always_inline const struct lb_quic_server *
quic_server(const struct quic_packet *quic, const struct lb_vip_info *vip, __u32 index,
	    struct lb_global_stats *stats)
{
	struct lb_quic_server_key key = { .vip = index };
	struct lb_quic_server *server;

	switch (quic_server_id(quic, vip, &key.server_id)) {
	case QUIC_CID_NONE:
		return NULL;
	case QUIC_CID_MALFORMED:
		count(stats, LB_STAT_QUIC_MALFORMED);
		return NULL;
	case QUIC_CID_UNROUTABLE:
		count(stats, LB_STAT_QUIC_FALLBACK);
		return NULL;
	default:
		break;
	}
	server = bpf_map_lookup_elem(&quic_servers, &key);
	if (!server || server->vip_generation != (__u16)vip->generation) {
		count(stats, LB_STAT_QUIC_FALLBACK);
		return NULL;
	}
	return server;
}

#endif

// SPDX-License-Identifier: GPL-2.0
/*
 * LSMAC's fast path in C: the reference that LsmacXdpProgram, assembled instruction by instruction in Java, is held
 * against (BpfReferenceTest compiles this with clang and runs both over the same frames and maps through
 * BPF_PROG_TEST_RUN: the same verdicts, the same bytes). loadshare never loads this file; a user needs no compiler.
 *
 * For an IPv4 TCP or UDP frame of a flow the pipeline handed over, it writes the backend's MAC as destination and the
 * dispatcher's as source and transmits the frame back out (XDP_TX). With PLACEMENT, a SYN of a new flow to a service
 * whose Maglev table is published is placed here, by the same hash the pipeline uses. Everything else passes.
 *
 * Build: clang -O2 -target bpf -DDISPATCHER_MAC=0x0200000000feULL -DPLACEMENT=1 -c lsmac_xdp.c
 */
#include "fastpath.h"

#ifndef DISPATCHER_MAC
#error "DISPATCHER_MAC: the interface's MAC, as a 48-bit number"
#endif
#ifndef PLACEMENT
#define PLACEMENT 0
#endif

/* FlowHashing's constants: the golden ratio and murmur3's finaliser. */
#define GOLDEN 0x9E3779B97F4A7C15ULL
#define MIX_1 0xFF51AFD7ED558CCDULL
#define MIX_2 0xC4CEB9FE1A85EC53ULL

/* The layouts of FastPathMaps that only LSMAC uses. */
struct flow_value {
	__u32 backend;
	__u32 zero;
	__u64 last_seen;      /* CLOCK_MONOTONIC ns; 0 until a packet is carried */
};
struct vip_key {
	__u32 addr;
	__u16 port;
	__u8 protocol;
	__u8 zero;
};
struct vip {
	__u32 offset, size, service, zero;
};
struct event {
	struct flow_key key;
	__u32 backend, service;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(key_size, sizeof(struct flow_key));
	__uint(value_size, sizeof(struct flow_value));
	__uint(max_entries, 1);
} ls_flows SEC(".maps");
#if PLACEMENT
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(key_size, sizeof(struct vip_key));
	__uint(value_size, sizeof(struct vip));
	__uint(max_entries, 1);
} ls_vips SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 1);
} ls_maglev SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ls_ring SEC(".maps");
#endif

/* Destination MAC the backend's, source MAC the dispatcher's. */
static __always_inline void rewrite(__u8 *p, const struct backend *backend)
{
	__builtin_memcpy(p, backend->mac, 6);
	p[6] = (DISPATCHER_MAC >> 40) & 0xff;
	p[7] = (DISPATCHER_MAC >> 32) & 0xff;
	p[8] = (DISPATCHER_MAC >> 24) & 0xff;
	p[9] = (DISPATCHER_MAC >> 16) & 0xff;
	p[10] = (DISPATCHER_MAC >> 8) & 0xff;
	p[11] = DISPATCHER_MAC & 0xff;
}

/* Counts the frame for its backend (14 bytes of Ethernet header and the IP length) and transmits it. */
static __always_inline int count_and_transmit(const __u8 *p, __u32 backend)
{
	struct backend_stats *stats = bpf_map_lookup_elem(&ls_stats, &backend);

	if (stats) {
		stats->packets++;
		stats->bytes += 14 + bpf_ntohs(*(const __u16 *)(p + 16));
	}
	return XDP_TX;
}

#if PLACEMENT
static __always_inline __u64 mix(__u64 z)
{
	z ^= z >> 33;
	z *= MIX_1;
	z ^= z >> 33;
	z *= MIX_2;
	z ^= z >> 33;
	return z;
}

/*
 * A SYN of a flow the map does not hold: the backend is table[offset + (flowHash * size) >> 32], flowHash the low
 * 32 bits of Flow.flowHash() as the pipeline computes it. The event goes on the ring before the flow enters the
 * map: a full ring leaves the SYN to the pipeline.
 */
static __always_inline int place(__u8 *p, const struct flow_key *key)
{
	struct vip_key vip_key = { .addr = key->daddr, .port = key->dport, .protocol = IPPROTO_TCP, .zero = 0 };
	struct vip *vip = bpf_map_lookup_elem(&ls_vips, &vip_key);

	if (!vip)
		return XDP_PASS;
	__u64 addresses = (__u64)bpf_ntohl(key->saddr) << 32 | bpf_ntohl(key->daddr);
	__u64 ports = (__u64)IPPROTO_TCP << 32 | (__u64)bpf_ntohs(key->sport) << 16 | bpf_ntohs(key->dport);
	__u64 hash = mix(addresses * GOLDEN + mix(ports)) & 0xffffffff;
	__u32 slot = (__u32)((hash * vip->size >> 32) + vip->offset);
	__u32 *chosen = bpf_map_lookup_elem(&ls_maglev, &slot);

	if (!chosen)
		return XDP_PASS;
	__u32 id = *chosen;
	struct backend *backend = bpf_map_lookup_elem(&ls_backends, &id);

	if (!backend || !backend->up)
		return XDP_PASS;
	struct event event = { .key = *key, .backend = id, .service = vip->service };

	if (bpf_ringbuf_output(&ls_ring, &event, sizeof(event), BPF_RB_NO_WAKEUP))
		return XDP_PASS;
	/* Not carried yet: a SYN alone opens nothing, so the session's idleness stays the table's own. */
	struct flow_value value = { .backend = id, .zero = 0, .last_seen = 0 };

	bpf_map_update_elem(&ls_flows, key, &value, BPF_NOEXIST);
	rewrite(p, backend);
	return count_and_transmit(p, id);
}
#else
/* Without placement no SYN gets this far. */
static __always_inline int place(__u8 *p, const struct flow_key *key)
{
	return XDP_PASS;
}
#endif

SEC("xdp")
int lsmac_fastpath(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *p = data;
	struct flow_key key;
	int syn = 0;

	if (flow_of(p, end, &key))
		return XDP_PASS;
	if (key.protocol == IPPROTO_TCP) {
		__u8 flags = p[47];

		if (flags & (TCP_FIN | TCP_RST))
			return XDP_PASS;
		if (flags & TCP_SYN) {
			if (flags & TCP_ACK || !PLACEMENT)
				return XDP_PASS;
			syn = 1;
		}
	}
	struct flow_value *flow = bpf_map_lookup_elem(&ls_flows, &key);

	if (syn)
		return flow ? XDP_PASS : place(p, &key);
	if (!flow)
		return XDP_PASS;
	__u32 id = flow->backend;
	struct backend *backend = bpf_map_lookup_elem(&ls_backends, &id);

	if (!backend || !backend->up)
		return XDP_PASS;
	rewrite(p, backend);
	flow->last_seen = bpf_ktime_get_ns();
	return count_and_transmit(p, id);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * LSNAT's fast path in C (RFC 2391 section 3): the reference that LsnatTcProgram, assembled instruction by
 * instruction in Java, is held against (BpfReferenceTest compiles this with clang and runs both over the same frames
 * and maps through BPF_PROG_TEST_RUN: the same verdicts, the same bytes). loadshare never loads this file.
 *
 * On the tc ingress (tcx) of each arm, for an IPv4 TCP or UDP packet of a session the pipeline handed over, it
 * applies the rewrite the pipeline chose for that direction (addresses, ports, the TTL less one, the next hop's
 * MACs), updates the checksums as netfilter's NAT does (a partial one too) and redirects the packet out of the arm
 * it leaves by. Everything else goes on to the stack, the raw socket and the pipeline.
 *
 * Build: clang -O2 -target bpf -c lsnat_tc.c
 */
#include "fastpath.h"

/* The next program's verdict, or the stack's when there is none. */
#define TCX_NEXT (-1)
#define IP_CHECKSUM 24
#define TCP_CHECKSUM 50
#define UDP_CHECKSUM 40
/* In the flow's flags: a request, whose destination MAC is the backend's from the backends map. */
#define TO_BACKEND 1

/* LSNAT's flow entry in FastPathMaps, one per direction. */
struct nat_flow {
	__u32 backend;
	__u32 flags;
	__u64 last_seen;
	__u32 saddr, daddr;   /* the rewrite, network order */
	__u16 sport, dport;
	__u32 ifindex;        /* the arm to leave by */
	__u8 dest_mac[6];     /* replies: the client side's next hop */
	__u8 source_mac[6];   /* the arm's own */
	__u32 zero;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(key_size, sizeof(struct flow_key));
	__uint(value_size, sizeof(struct nat_flow));
	__uint(max_entries, 1);
} ls_flows SEC(".maps");

SEC("tc")
int lsnat_fastpath(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u8 *p = data;
	struct flow_key key;

	if (flow_of(p, end, &key) || (key.protocol == IPPROTO_TCP && p[47] & (TCP_FIN | TCP_SYN | TCP_RST)))
		return TCX_NEXT;
	__u8 protocol = key.protocol;

	struct nat_flow *flow = bpf_map_lookup_elem(&ls_flows, &key);

	/* A TTL that would run out, and a packet too big for the arm it leaves by, are the pipeline's to answer. */
	if (!flow || p[22] < 2)
		return TCX_NEXT;
	__u32 mtu_len = 0;

	if (bpf_check_mtu(skb, flow->ifindex, &mtu_len, 0, 0))
		return TCX_NEXT;
	__u32 id = flow->backend;
	struct backend *backend = bpf_map_lookup_elem(&ls_backends, &id);

	if (!backend || !backend->up)
		return TCX_NEXT;
	/* From here the frame changes: no way back to the pipeline. */
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	p = data;
	if (data + 42 > end)
		return TCX_NEXT;
	__builtin_memcpy(p, flow->flags & TO_BACKEND ? backend->mac : flow->dest_mac, 6);
	__builtin_memcpy(p + 6, flow->source_mac, 6);
	/* The TTL and the protocol share a 16-bit word: the checksum is updated over the word. */
	__u16 old_ttl = *(__u16 *)(p + 22);
	__u16 new_ttl = old_ttl - 1;

	*(__u16 *)(p + 22) = new_ttl;
	*(__u32 *)(p + 26) = flow->saddr;
	*(__u32 *)(p + 30) = flow->daddr;
	*(__u16 *)(p + 34) = flow->sport;
	*(__u16 *)(p + 36) = flow->dport;
	__u32 l4_checksum = protocol == IPPROTO_TCP ? TCP_CHECKSUM : UDP_CHECKSUM;
	/* A UDP checksum of zero means none, and stays so. */
	__u64 zero = protocol == IPPROTO_TCP ? 0 : BPF_F_MARK_MANGLED_0;

	flow->last_seen = bpf_ktime_get_ns();
	struct backend_stats *stats = bpf_map_lookup_elem(&ls_stats, &id);

	if (stats) {
		stats->packets++;
		stats->bytes += skb->len;
	}
	bpf_l3_csum_replace(skb, IP_CHECKSUM, key.saddr, flow->saddr, 4);
	bpf_l3_csum_replace(skb, IP_CHECKSUM, key.daddr, flow->daddr, 4);
	bpf_l3_csum_replace(skb, IP_CHECKSUM, old_ttl, new_ttl, 2);
	bpf_l4_csum_replace(skb, l4_checksum, key.saddr, flow->saddr, zero | BPF_F_PSEUDO_HDR | 4);
	bpf_l4_csum_replace(skb, l4_checksum, key.daddr, flow->daddr, zero | BPF_F_PSEUDO_HDR | 4);
	bpf_l4_csum_replace(skb, l4_checksum, key.sport, flow->sport, zero | 2);
	bpf_l4_csum_replace(skb, l4_checksum, key.dport, flow->dport, zero | 2);
	return bpf_redirect(flow->ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";

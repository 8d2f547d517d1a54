// SPDX-License-Identifier: GPL-2.0
/*
 * What both fast-path references share: the layouts of FastPathMaps, the maps both programs use, and the helpers
 * around them. The pipeline creates the maps; the sizes here only describe them (BpfReferenceTest hands over the
 * pipeline's own map descriptors).
 */
#ifndef LOADSHARE_FASTPATH_H
#define LOADSHARE_FASTPATH_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

struct flow_key {
	__u32 saddr, daddr;   /* network order */
	__u16 sport, dport;   /* network order */
	__u32 protocol;       /* the protocol, then 3 zero bytes */
};
struct backend {
	__u8 mac[6];
	__u8 up;
	__u8 zero;
};
struct backend_stats {
	__u64 packets, bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct backend));
	__uint(max_entries, 1);
} ls_backends SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct backend_stats));
	__uint(max_entries, 1);
} ls_stats SEC(".maps");

/*
 * The frame's IPv4 TCP or UDP header fields, for a frame the programs may carry: IPv4 without options, not a
 * fragment, and long enough for its transport header. Returns 0 and fills the key, or -1 for a frame to pass.
 */
static __always_inline int flow_of(__u8 *p, void *end, struct flow_key *key)
{
	if ((void *)(p + 42) > end || *(__u16 *)(p + 12) != bpf_htons(ETH_P_IP) || p[14] != 0x45
	    || *(__u16 *)(p + 20) & bpf_htons(0x3fff))
		return -1;
	__u8 protocol = p[23];

	if (protocol == IPPROTO_TCP) {
		if ((void *)(p + 54) > end)
			return -1;
	} else if (protocol != IPPROTO_UDP) {
		return -1;
	}
	key->saddr = *(__u32 *)(p + 26);
	key->daddr = *(__u32 *)(p + 30);
	key->sport = *(__u16 *)(p + 34);
	key->dport = *(__u16 *)(p + 36);
	key->protocol = protocol;
	return 0;
}

#endif

// Packet generator for the forwarding and capacity benchmarks: sends frames to one MAC on one interface, in
// sendmmsg batches of 64 with qdisc bypass, for a given number of seconds, as fast as it can or at a given rate,
// then prints what it sent.
//
// UDP mode (dev/bench-rawsocket): 60-byte frames (64 on the wire with the FCS), each the same IPv4/UDP datagram,
// 203.0.113.100:9 -> 198.51.100.1:9 with 18 bytes of payload and no UDP checksum, so that a NAT fast path sees one
// flow. RATE is in frames per second. Prints the frames sent.
//
// TCP mode (-t VIP:PORT, dev/bench-capacity): short TCP connections as a client plays them, each from its own
// address and port: SYN, ACK, a 40-byte request, FIN, ACK. The flows are 203.0.113.(1 + i % 128) port
// (1024 + i / 128) for i in 0..FLOWS-1, used in turn and again from the start (loop), so a flow comes back
// FLOWS connections later with a new initial sequence number. With -b BACKEND the backend's side is played too, as
// a NAT dispatcher must carry it: SYN-ACK, a 40-byte response and FIN from BACKEND:PORT, in between the client's
// frames, with sequence numbers a stateful firewall accepts. Connections overlap: frame k of a connection leaves
// STAGGER connections after its frame k-1 (a round trip of STAGGER / RATE seconds). RATE is in connections per
// second. When SECONDS are up no connection starts, and those open are played to their end at the same pace. -o
// numbers the first connection, so that a run continues the flows of the one before. Prints the frames sent, the
// connections started and the seconds taken. Checksums are computed; frames are padded to 60 bytes.
//
// Usage: afpacket_gen [-t VIP:PORT [-b BACKEND] [-n FLOWS] [-w STAGGER] [-o FIRST]] IFNAME DST_MAC SECONDS [RATE]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME 60
#define TCP_FRAME_MAX 128
#define PAYLOAD 40

enum { SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, FIN = 0x01 };

static void parse_mac(const char *text, unsigned char *mac) {
    if (sscanf(text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
        fprintf(stderr, "bad MAC %s\n", text);
        exit(2);
    }
}

static uint32_t parse_ip(const char *text) {
    struct in_addr a;
    if (inet_pton(AF_INET, text, &a) != 1) {
        fprintf(stderr, "bad IPv4 address %s\n", text);
        exit(2);
    }
    return ntohl(a.s_addr);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t sum16(const unsigned char *p, int len, uint32_t sum) {
    for (int i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
    if (len & 1) sum += p[len - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return ~sum & 0xffff;
}

static void put16(unsigned char *p, uint32_t v) { p[0] = v >> 8; p[1] = v; }
static void put32(unsigned char *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

struct tcp_mode {
    uint32_t vip, backend;
    int port, replies;
    unsigned long long flows, stagger, first;
    unsigned char src_mac[6], dst_mac[6];
};

// One step of a connection: who sends it, its flags, whether it carries the payload, and the sequence and
// acknowledgement numbers as offsets from the client's (c) and backend's (s) initial numbers.
struct step { int from_backend, flags, payload, seq_off, ack_off; };
static const struct step WITH_REPLIES[] = {
    {0, SYN, 0, 0, -1},
    {1, SYN | ACK, 0, 0, 1},
    {0, ACK, 0, 1, 1},
    {0, PSH | ACK, 1, 1, 1},
    {1, PSH | ACK, 1, 1, 1 + PAYLOAD},
    {0, FIN | ACK, 0, 1 + PAYLOAD, 1 + PAYLOAD},
    {1, FIN | ACK, 0, 1 + PAYLOAD, 2 + PAYLOAD},
    {0, ACK, 0, 2 + PAYLOAD, 2 + PAYLOAD},
};
// Without the backend's frames the client's acknowledgements are those it would send, the replies having gone
// straight to it.
static const struct step CLIENT_ONLY[] = {
    {0, SYN, 0, 0, -1},
    {0, ACK, 0, 1, 1},
    {0, PSH | ACK, 1, 1, 1},
    {0, FIN | ACK, 0, 1 + PAYLOAD, 1 + PAYLOAD},
    {0, ACK, 0, 2 + PAYLOAD, 2 + PAYLOAD},
};

// Writes frame `step` of connection `conn` into `f`; returns its length.
static int tcp_frame(const struct tcp_mode *m, const struct step *st, unsigned long long conn, unsigned char *f) {
    unsigned long long flow = conn % m->flows;
    uint32_t client = (203u << 24) | (0u << 16) | (113u << 8) | (uint32_t) (1 + flow % 128);
    int client_port = 1024 + (int) (flow / 128);
    // A new pair of initial numbers each time a flow comes back.
    uint32_t c_isn = (uint32_t) (conn * 2654435761u), s_isn = (uint32_t) (conn * 40503u + 0x9e3779b9u);
    uint32_t own_isn = st->from_backend ? s_isn : c_isn, peer_isn = st->from_backend ? c_isn : s_isn;
    uint32_t src = st->from_backend ? m->backend : client, dst = st->from_backend ? client : m->vip;
    int sport = st->from_backend ? m->port : client_port, dport = st->from_backend ? client_port : m->port;
    int payload = st->payload ? PAYLOAD : 0;
    int ip_len = 20 + 20 + payload;

    memset(f, 0, FRAME);
    memcpy(f, m->dst_mac, 6);
    memcpy(f + 6, m->src_mac, 6);
    f[12] = 0x08; f[13] = 0x00;
    unsigned char *ip = f + 14, *tcp = ip + 20;
    ip[0] = 0x45;
    put16(ip + 2, ip_len);
    put16(ip + 4, (uint16_t) conn);
    ip[6] = 0x40;  // don't fragment
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    put16(tcp, sport);
    put16(tcp + 2, dport);
    put32(tcp + 4, own_isn + st->seq_off);
    put32(tcp + 8, st->ack_off < 0 ? 0 : peer_isn + st->ack_off);
    tcp[12] = 5 << 4;
    tcp[13] = st->flags;
    put16(tcp + 14, 64240);
    for (int i = 0; i < payload; i++) tcp[20 + i] = 'a' + i % 26;
    uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + 20 + payload;
    put16(tcp + 16, fold(sum16(tcp, 20 + payload, pseudo)));
    int len = 14 + ip_len;
    return len < FRAME ? FRAME : len;
}

static void usage(const char *name) {
    fprintf(stderr, "usage: %s [-t VIP:PORT [-b BACKEND] [-n FLOWS] [-w STAGGER] [-o FIRST]] IFNAME DST_MAC SECONDS"
            " [RATE]\n", name);
    exit(2);
}

int main(int argc, char **argv) {
    struct tcp_mode tcp = {.flows = 131072, .stagger = 1024};
    int tcp_on = 0, opt;
    while ((opt = getopt(argc, argv, "t:b:n:w:o:")) != -1) {
        switch (opt) {
        case 't': {
            char *colon = strchr(optarg, ':');
            if (colon == NULL) usage(argv[0]);
            *colon = 0;
            tcp.vip = parse_ip(optarg);
            tcp.port = atoi(colon + 1);
            tcp_on = 1;
            break;
        }
        case 'b': tcp.backend = parse_ip(optarg); tcp.replies = 1; break;
        case 'n': tcp.flows = strtoull(optarg, NULL, 10); break;
        case 'w': tcp.stagger = strtoull(optarg, NULL, 10); break;
        case 'o': tcp.first = strtoull(optarg, NULL, 10); break;
        default: usage(argv[0]);
        }
    }
    if (argc - optind != 3 && argc - optind != 4) usage(argv[0]);
    if (tcp_on && (tcp.flows == 0 || tcp.stagger == 0 || tcp.port <= 0 || tcp.port > 65535)) usage(argv[0]);
    const char *ifname = argv[optind];
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) { perror("socket"); return 1; }
    struct sockaddr_ll addr = {0};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = if_nametoindex(ifname);
    if (addr.sll_ifindex == 0 || bind(fd, (struct sockaddr *) &addr, sizeof addr) < 0) { perror("bind"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    double seconds = atof(argv[optind + 2]);
    double rate = argc - optind == 4 ? atof(argv[optind + 3]) : 0;

    static unsigned char frames[BATCH][TCP_FRAME_MAX];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = frames[i];
        iov[i].iov_len = FRAME;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    if (!tcp_on) {
        unsigned char *frame = frames[0];
        parse_mac(argv[optind + 1], frame);
        frame[6] = 0x02; frame[11] = 0x01;
        frame[12] = 0x08; frame[13] = 0x00;
        static const unsigned char ip[20] = {0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 203, 0, 113, 100, 198, 51,
                                             100, 1};
        memcpy(frame + 14, ip, sizeof ip);
        put16(frame + 24, fold(sum16(frame + 14, 20, 0)));
        static const unsigned char udp[8] = {0, 9, 0, 9, 0, 26, 0, 0};
        memcpy(frame + 34, udp, sizeof udp);
        for (int i = 0; i < BATCH; i++) iov[i].iov_base = frame;
        double start = now(), end = start + seconds;
        unsigned long long sent = 0;
        while (now() < end) {
            if (rate > 0) {
                // The next batch is due when the frames sent so far fill the time since the start.
                while (now() < start + sent / rate) { }
                int n = sendmmsg(fd, msgs, BATCH, 0);
                if (n > 0) sent += n;
                continue;
            }
            for (int k = 0; k < 16; k++) {
                int n = sendmmsg(fd, msgs, BATCH, 0);
                if (n > 0) sent += n;
            }
        }
        printf("%llu\n", sent);
        return 0;
    }

    parse_mac(argv[optind + 1], tcp.dst_mac);
    struct ifreq ifr = {0};
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) { perror("SIOCGIFHWADDR"); return 1; }
    memcpy(tcp.src_mac, ifr.ifr_hwaddr.sa_data, 6);
    const struct step *steps = tcp.replies ? WITH_REPLIES : CLIENT_ONLY;
    int nsteps = tcp.replies ? 8 : 5;
    if (tcp.flows <= (unsigned long long) nsteps * tcp.stagger) {
        fprintf(stderr, "FLOWS must exceed %d x STAGGER, or a flow comes back while still open\n", nsteps);
        return 2;
    }
    // Connection `conn` sends its frame k at tick conn + k * stagger. A tick starts one connection until the time
    // is up; then the ticks go on at the same pace, starting none, until every connection started has ended.
    unsigned long long tick = tcp.first, stop = ~0ULL, last = ~0ULL, sent = 0;
    double start = now(), end = start + seconds;
    while (tick < last) {
        if (rate > 0) {
            while (now() < start + (tick - tcp.first) / rate) { }
        }
        if (stop == ~0ULL && now() >= end) {
            stop = tick;
            last = stop + (unsigned long long) (nsteps - 1) * tcp.stagger;
        }
        int n = 0;
        while (n + nsteps <= BATCH && tick < last) {
            for (int k = 0; k < nsteps; k++) {
                unsigned long long lag = (unsigned long long) k * tcp.stagger;
                // Connections before the first belong to an earlier run, which ended them.
                if (tick < tcp.first + lag || tick - lag >= stop) continue;
                iov[n].iov_len = tcp_frame(&tcp, &steps[k], tick - lag, frames[n]);
                n++;
            }
            tick++;
        }
        int done = 0;
        while (done < n) {
            int s = sendmmsg(fd, msgs + done, n - done, 0);
            if (s <= 0) break;
            done += s;
        }
        sent += done;
    }
    // Frames sent, connections started and the seconds it took, the closing tail included.
    printf("%llu %llu %.3f\n", sent, stop - tcp.first, now() - start);
    return 0;
}

// Packet generator for the raw-socket benchmark: sends 60-byte frames (64 on the wire with the FCS) to one MAC
// on one interface, in sendmmsg batches of 64, for a given number of seconds, as fast as it can or at a given rate
// (frames per second, paced batch by batch), then prints the count. Each frame is
// the same IPv4/UDP datagram, 203.0.113.100:9 -> 198.51.100.1:9 with 18 bytes of payload and no UDP checksum, so
// that a NAT fast path sees one flow.
// Usage: afpacket_gen IFNAME DST_MAC SECONDS [RATE]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME 60

static void parse_mac(const char *text, unsigned char *mac) {
    if (sscanf(text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
        fprintf(stderr, "bad MAC %s\n", text);
        exit(2);
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s IFNAME DST_MAC SECONDS [RATE]\n", argv[0]);
        return 2;
    }
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) { perror("socket"); return 1; }
    struct sockaddr_ll addr = {0};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = if_nametoindex(argv[1]);
    if (addr.sll_ifindex == 0 || bind(fd, (struct sockaddr *) &addr, sizeof addr) < 0) { perror("bind"); return 1; }
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);

    unsigned char frame[FRAME] = {0};
    parse_mac(argv[2], frame);
    frame[6] = 0x02; frame[11] = 0x01;
    frame[12] = 0x08; frame[13] = 0x00;
    static const unsigned char ip[20] = {0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 203, 0, 113, 100, 198, 51, 100, 1};
    memcpy(frame + 14, ip, sizeof ip);
    unsigned long sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (frame[14 + i] << 8) | frame[15 + i];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    frame[24] = ~sum >> 8; frame[25] = ~sum & 0xff;
    static const unsigned char udp[8] = {0, 9, 0, 9, 0, 26, 0, 0};
    memcpy(frame + 34, udp, sizeof udp);
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = frame;
        iov[i].iov_len = FRAME;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    double start = now();
    double end = start + atof(argv[3]);
    double rate = argc == 5 ? atof(argv[4]) : 0;
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

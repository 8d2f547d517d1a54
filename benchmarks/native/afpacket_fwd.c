// Reference forwarder for the raw-socket benchmark: the minimal C program that does what the Java channel does.
// recvmmsg a batch of frames from IN_IF, set the destination MAC to DST_MAC and the source MAC to OUT_IF's,
// sendmmsg them to OUT_IF. Runs until killed; prints the forwarded count every second on stdout.
// Usage: afpacket_fwd IN_IF OUT_IF DST_MAC   (IN_IF may be OUT_IF)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define SNAP 2048

static int open_bound(const char *name) {
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    struct sockaddr_ll addr = {0};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = if_nametoindex(name);
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
    // The receive buffer the Java transport uses by default (receive-buffer-size = 4 MiB).
    int buffer = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
    if (addr.sll_ifindex == 0 || bind(fd, (struct sockaddr *) &addr, sizeof addr) < 0) { perror("bind"); exit(1); }
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s IN_IF OUT_IF DST_MAC\n", argv[0]);
        return 2;
    }
    int in = open_bound(argv[1]);
    // One-armed (IN_IF = OUT_IF): one socket, so no second one receives and discards every frame.
    int out = strcmp(argv[1], argv[2]) == 0 ? in : open_bound(argv[2]);
    unsigned char dst[6], src[6];
    if (sscanf(argv[3], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dst[0], &dst[1], &dst[2], &dst[3], &dst[4], &dst[5]) != 6) {
        fprintf(stderr, "bad MAC\n");
        return 2;
    }
    struct ifreq ifr = {0};
    strncpy(ifr.ifr_name, argv[2], IFNAMSIZ - 1);
    if (ioctl(out, SIOCGIFHWADDR, &ifr) < 0) { perror("SIOCGIFHWADDR"); return 1; }
    memcpy(src, ifr.ifr_hwaddr.sa_data, 6);

    static unsigned char bufs[BATCH][SNAP];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = SNAP;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned long long forwarded = 0;
    time_t last = time(NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        for (int i = 0; i < BATCH; i++) iov[i].iov_len = SNAP;
        int n = recvmmsg(in, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) continue;
        for (int i = 0; i < n; i++) {
            memcpy(bufs[i], dst, 6);
            memcpy(bufs[i] + 6, src, 6);
            iov[i].iov_len = msgs[i].msg_len;
        }
        int done = 0;
        while (done < n) {
            int s = sendmmsg(out, msgs + done, n - done, 0);
            if (s <= 0) break;
            done += s;
        }
        forwarded += n;
        time_t t = time(NULL);
        if (t != last) { printf("%llu\n", forwarded); last = t; }
    }
}

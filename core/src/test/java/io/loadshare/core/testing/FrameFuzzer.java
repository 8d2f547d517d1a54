package io.loadshare.core.testing;

import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.packet.VirtioNetHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random and mutated Ethernet frames for fuzzing a pipeline: well-formed seeds (TCP in every state, UDP, ICMP
 * errors quoting flows, ARP, VLAN-tagged and IPv6 frames) towards the services and from the backends, then bit
 * flips, truncations, extensions, corrupted header fields, and a virtio-net header (as a raw socket with offloads
 * hands over) that may be random. Some frames are pure noise. Reproducible from the seed.
 */
public final class FrameFuzzer {
    private static final int ETHERNET = 14;
    private final SplittableRandom random;
    private final ByteBufAllocator allocator;
    private final List<Integer> serviceAddresses;
    private final List<Integer> backendAddresses;
    private final int port;

    /**
     * @param serviceAddresses where requests go (VIPs, and full-NAT source addresses for replies)
     * @param backendAddresses where replies come from
     */
    public FrameFuzzer(long seed, ByteBufAllocator allocator, List<Integer> serviceAddresses,
            List<Integer> backendAddresses, int port) {
        this.random = new SplittableRandom(seed);
        this.allocator = allocator;
        this.serviceAddresses = List.copyOf(serviceAddresses);
        this.backendAddresses = List.copyOf(backendAddresses);
        this.port = port;
    }

    /** The next frame, the caller's to release, with the reader index at its Ethernet header. */
    public ByteBuf next() {
        ByteBuf frame = allocator.directBuffer(VirtioNetHeader.HEADROOM + 1600);
        frame.writerIndex(VirtioNetHeader.HEADROOM).readerIndex(VirtioNetHeader.HEADROOM);
        int kind = random.nextInt(100);
        if (kind < 5) {
            noise(frame);
        } else {
            seed(frame);
            if (kind >= 35) {
                mutate(frame);
            }
        }
        if (random.nextInt(4) == 0) {
            vnetHeader(frame);
        }
        return frame;
    }

    private void noise(ByteBuf frame) {
        int length = random.nextInt(0, 1600);
        for (int i = 0; i < length; i++) {
            frame.writeByte(random.nextInt(256));
        }
    }

    private int pick(List<Integer> addresses) {
        return addresses.get(random.nextInt(addresses.size()));
    }

    /** A client in 203.0.113.0/24, a few ports each, so that flows recur and sessions live through their states. */
    private int client() {
        return 0xCB007100 | random.nextInt(1, 32);
    }

    private int clientPort() {
        return 40000 + random.nextInt(64);
    }

    private void seed(ByteBuf frame) {
        int flags = switch (random.nextInt(6)) {
            case 0 -> TcpHeader.SYN;
            case 1 -> TcpHeader.SYN | TcpHeader.ACK;
            case 2 -> TcpHeader.ACK;
            case 3 -> TcpHeader.ACK | TcpHeader.PSH;
            case 4 -> TcpHeader.FIN | TcpHeader.ACK;
            default -> TcpHeader.RST;
        };
        byte[] payload = new byte[random.nextInt(4) == 0 ? random.nextInt(1, 1400) : 0];
        random.nextBytes(payload);
        long sequence = random.nextLong(1L << 32);
        long acknowledgement = random.nextLong(1L << 32);
        switch (random.nextInt(8)) {
            case 0, 1, 2 -> Frames.tcp(frame, TestFrames.DISPATCHER_MAC, TestFrames.CLIENT_MAC, client(), clientPort(),
                    pick(serviceAddresses), port, sequence, acknowledgement, flags, payload);
            case 3, 4 -> Frames.tcp(frame, TestFrames.DISPATCHER_MAC, TestFrames.BACKEND_MAC, pick(backendAddresses),
                    port, random.nextBoolean() ? client() : pick(serviceAddresses),
                    random.nextBoolean() ? clientPort() : random.nextInt(1024, 65536), sequence, acknowledgement,
                    flags, payload);
            case 5 -> Frames.udp(frame, TestFrames.DISPATCHER_MAC, TestFrames.CLIENT_MAC, client(), clientPort(),
                    pick(serviceAddresses), random.nextBoolean() ? port : random.nextInt(65536), payload);
            case 6 -> icmpError(frame);
            default -> Frames.arp(frame, random.nextBoolean() ? MacAddress.BROADCAST : TestFrames.DISPATCHER_MAC,
                    TestFrames.BACKEND_MAC, random.nextBoolean() ? ArpHeader.REQUEST : ArpHeader.REPLY,
                    TestFrames.BACKEND_MAC, pick(backendAddresses), TestFrames.DISPATCHER_MAC,
                    pick(serviceAddresses));
        }
        if (random.nextInt(20) == 0) {
            // An 802.1Q tag after the MAC addresses, or the frame relabelled as IPv6.
            if (random.nextBoolean()) {
                byte[] rest = new byte[frame.writerIndex() - frame.readerIndex() - 12];
                frame.getBytes(frame.readerIndex() + 12, rest);
                frame.writerIndex(frame.readerIndex() + 12).writeInt(0x8100_0000 | random.nextInt(4096))
                        .writeBytes(rest);
            } else {
                frame.setShort(frame.readerIndex() + 12, 0x86DD);
            }
        }
    }

    /** ICMP "destination unreachable" or "time exceeded", quoting a datagram of a flow that may exist. */
    private void icmpError(ByteBuf frame) {
        boolean fromClient = random.nextBoolean();
        ByteBuf quoted = allocator.heapBuffer();
        try {
            if (fromClient) {
                Frames.tcp(quoted, 0, 0, pick(serviceAddresses), port, client(), clientPort(), 1, 1, TcpHeader.ACK,
                        new byte[0]);
            } else {
                Frames.tcp(quoted, 0, 0, client(), clientPort(), pick(backendAddresses), port, 1, 1, TcpHeader.ACK,
                        new byte[0]);
            }
            int source = fromClient ? client() : pick(backendAddresses);
            int destination = fromClient ? pick(serviceAddresses) : client();
            frame.writeShort((int) (TestFrames.DISPATCHER_MAC >>> 32)).writeInt((int) TestFrames.DISPATCHER_MAC);
            frame.writeShort((int) (TestFrames.CLIENT_MAC >>> 32)).writeInt((int) TestFrames.CLIENT_MAC);
            frame.writeShort(0x0800);
            int quotedLength = 28;
            frame.writeByte(0x45).writeByte(0).writeShort(20 + 8 + quotedLength).writeShort(random.nextInt(65536))
                    .writeShort(0).writeByte(64).writeByte(1).writeShort(0).writeInt(source).writeInt(destination);
            frame.writeByte(random.nextBoolean() ? 3 : 11).writeByte(random.nextInt(16)).writeShort(0).writeShort(0)
                    .writeShort(random.nextInt(576, 1500));
            frame.writeBytes(quoted, ETHERNET, quotedLength);
        } finally {
            quoted.release();
        }
    }

    private void mutate(ByteBuf frame) {
        int start = frame.readerIndex();
        int length = frame.readableBytes();
        switch (random.nextInt(6)) {
            case 0 -> {
                for (int i = random.nextInt(1, 9); i > 0 && length > 0; i--) {
                    int at = start + random.nextInt(length);
                    frame.setByte(at, frame.getByte(at) ^ 1 << random.nextInt(8));
                }
            }
            case 1 -> frame.writerIndex(start + random.nextInt(length + 1));
            case 2 -> {
                for (int i = random.nextInt(1, 64); i > 0; i--) {
                    frame.writeByte(random.nextInt(256));
                }
            }
            case 3 -> {
                // The IPv4 version and header length, total length, flags and fragment offset, or protocol.
                int[] offsets = {14, 16, 17, 20, 21, 23};
                int at = start + offsets[random.nextInt(offsets.length)];
                if (at < frame.writerIndex()) {
                    frame.setByte(at, random.nextInt(256));
                }
            }
            case 4 -> {
                // TCP data offset and flags, or UDP length, at an IHL of 5.
                int[] offsets = {38, 46, 47, 38, 39};
                int at = start + offsets[random.nextInt(offsets.length)];
                if (at < frame.writerIndex()) {
                    frame.setByte(at, random.nextInt(256));
                }
            }
            default -> {
                int at = start + random.nextInt(Math.max(1, length));
                if (at < frame.writerIndex()) {
                    frame.setByte(at, random.nextInt(256));
                }
            }
        }
    }

    /** A virtio-net header in the headroom: one a kernel could send, or random bytes. */
    private void vnetHeader(ByteBuf frame) {
        int at = frame.readerIndex() - VirtioNetHeader.HEADROOM;
        frame.setInt(at, VirtioNetHeader.TAG);
        if (random.nextBoolean()) {
            for (int i = 0; i < VirtioNetHeader.LENGTH; i++) {
                frame.setByte(at + 4 + i, random.nextInt(256));
            }
        } else {
            // NEEDS_CSUM for a TCP checksum at its usual place, maybe a GSO type and size.
            frame.setByte(at + 4, VirtioNetHeader.FLAG_NEEDS_CSUM);
            frame.setByte(at + 5, random.nextBoolean() ? VirtioNetHeader.GSO_NONE : VirtioNetHeader.GSO_TCPV4);
            frame.setShortLE(at + 6, 54);
            frame.setShortLE(at + 8, random.nextInt(1, 1500));
            frame.setShortLE(at + 10, 34);
            frame.setShortLE(at + 12, 16);
        }
    }
}

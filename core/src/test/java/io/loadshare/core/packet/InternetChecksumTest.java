package io.loadshare.core.packet;

import static io.loadshare.core.testing.TestFrames.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loadshare.core.testing.GoldenFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * RFC 1071 against scapy's checksums, and the property that RFC 1624's incremental update (and its partial-checksum
 * variant) always equals a full recomputation.
 */
class InternetChecksumTest {
    private static final int ROUNDS = 100_000;

    @Test
    void fullChecksumMatchesScapy() {
        for (String golden : new String[] {GoldenFrames.TCP_SYN, GoldenFrames.TCP_DATA_IP_OPTIONS, GoldenFrames.UDP_DNS}) {
            ByteBuf frame = hex(golden);
            Ipv4Header ip = new Ipv4Header();
            ip.wrap(frame, 14);
            int expectedIp = ip.checksum();
            ip.setChecksum(0);
            assertEquals(expectedIp, InternetChecksum.checksum(frame, 14, ip.headerLength()), golden);

            int l4 = 14 + ip.headerLength();
            int l4Length = ip.totalLength() - ip.headerLength();
            int checksumAt = l4 + (ip.protocol() == IpProtocol.TCP ? TcpHeader.CHECKSUM_OFFSET : UdpHeader.CHECKSUM_OFFSET);
            int expectedL4 = frame.getUnsignedShort(checksumAt);
            frame.setShort(checksumAt, 0);
            int sum = InternetChecksum.sum(frame, l4, l4Length, ip.pseudoHeaderSum(l4Length));
            assertEquals(expectedL4, ~sum & 0xFFFF, golden);
        }
    }

    @Test
    void oddLengthIsPaddedWithZero() {
        ByteBuf odd = Unpooled.wrappedBuffer(new byte[] {0x12, 0x34, 0x56});
        assertEquals(InternetChecksum.fold(0x1234 + 0x5600), InternetChecksum.sum(odd, 0, 3, 0));
    }

    /** Random IPv4+TCP headers; rewrite an address and a port as NAT does; compare with recomputation. */
    @Test
    void incrementalUpdateEqualsFullRecomputation() {
        SplittableRandom random = new SplittableRandom(1624);
        ByteBuf buf = Unpooled.buffer(60 + 60);
        Ipv4Header ip = new Ipv4Header();
        TcpHeader tcp = new TcpHeader();
        for (int round = 0; round < ROUNDS; round++) {
            int payload = random.nextInt(0, 41);
            randomSegment(random, buf, payload);
            ip.wrap(buf, 0);
            tcp.wrap(buf, 20);
            int l4Length = 20 + payload;
            ip.computeChecksum();
            tcp.setChecksum(0);
            tcp.setChecksum(~InternetChecksum.sum(buf, 20, l4Length, ip.pseudoHeaderSum(l4Length)) & 0xFFFF);

            int oldAddress = ip.destination();
            int newAddress = random.nextInt();
            int oldPort = tcp.destinationPort();
            int newPort = random.nextInt(0x10000);
            ip.setDestination(newAddress);
            tcp.setDestinationPort(newPort);
            int ipIncremental = InternetChecksum.update32(ip.checksum(), oldAddress, newAddress);
            int tcpIncremental = InternetChecksum.update16(
                    InternetChecksum.update32(tcp.checksum(), oldAddress, newAddress), oldPort, newPort);

            ip.computeChecksum();
            tcp.setChecksum(0);
            int tcpFull = ~InternetChecksum.sum(buf, 20, l4Length, ip.pseudoHeaderSum(l4Length)) & 0xFFFF;
            assertEquivalent(ip.checksum(), ipIncremental, "ip, round " + round);
            assertEquivalent(tcpFull, tcpIncremental, "tcp, round " + round);
        }
    }

    /** A CHECKSUM_PARTIAL field holds the pseudo-header sum; after NAT it must equal the new pseudo-header sum. */
    @Test
    void partialUpdateEqualsNewPseudoHeaderSum() {
        SplittableRandom random = new SplittableRandom(2391);
        ByteBuf buf = Unpooled.buffer(120);
        Ipv4Header ip = new Ipv4Header();
        for (int round = 0; round < ROUNDS; round++) {
            int payload = random.nextInt(0, 41);
            randomSegment(random, buf, payload);
            ip.wrap(buf, 0);
            int l4Length = 20 + payload;
            int partial = ip.pseudoHeaderSum(l4Length);
            int oldSource = ip.source();
            int newSource = random.nextInt();
            ip.setSource(newSource);
            assertEquivalent(ip.pseudoHeaderSum(l4Length), InternetChecksum.updatePartial32(partial, oldSource, newSource),
                    "round " + round);
        }
    }

    /** 0x0000 and 0xFFFF are both zero in one's complement; a receiver accepts either. */
    private static void assertEquivalent(int expected, int actual, String message) {
        if (expected != actual && !((expected == 0 || expected == 0xFFFF) && (actual == 0 || actual == 0xFFFF))) {
            assertEquals(expected, actual, message);
        }
    }

    private static void randomSegment(SplittableRandom random, ByteBuf buf, int payload) {
        buf.clear();
        byte[] bytes = new byte[40 + payload];
        random.nextBytes(bytes);
        buf.writeBytes(bytes);
        buf.setByte(0, 0x45);
        buf.setShort(2, 40 + payload);
        buf.setByte(9, IpProtocol.TCP);
        buf.setByte(32, 5 << 4);
    }
}

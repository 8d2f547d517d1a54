package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.InternetChecksum;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.Ipv4Header;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code loadshare replay}: a capture through the configured LSMAC and LSNAT pipelines, into a capture file. */
class ReplayTest {
    private static final long CLIENT_MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final long DISPATCHER_MAC = MacAddress.parse("02:00:00:00:00:fe");
    private static final int CLIENT = Ipv4Address.parse("203.0.113.5");

    @TempDir
    Path dir;

    private Path capture(String vip, int... flags) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(24).putInt(0xA1B2C3D4).putShort((short) 2).putShort((short) 4).putInt(0)
                .putInt(0).putInt(65535).putInt(1).array());
        for (int i = 0; i < flags.length; i++) {
            ByteBuf frame = Frames.tcp(Unpooled.buffer(), DISPATCHER_MAC, CLIENT_MAC, CLIENT, 40000 + i / 3,
                    Ipv4Address.parse(vip), 80, 1000, flags[i] == TcpHeader.SYN ? 0 : 5001, flags[i], new byte[0]);
            byte[] bytes = ByteBufUtil.getBytes(frame);
            frame.release();
            out.writeBytes(ByteBuffer.allocate(16).putInt(1_700_000_000).putInt(i).putInt(bytes.length)
                    .putInt(bytes.length).array());
            out.writeBytes(bytes);
        }
        return Files.write(dir.resolve("in.pcap"), out.toByteArray());
    }

    /** The frames of a classic pcap file with nanosecond timestamps, as this project writes them. */
    private static List<ByteBuf> frames(Path file) throws Exception {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.BIG_ENDIAN);
        assertEquals(0xA1B23C4D, bytes.getInt(0));
        List<ByteBuf> frames = new ArrayList<>();
        int at = 24;
        while (at < bytes.limit()) {
            int length = bytes.getInt(at + 8);
            frames.add(Unpooled.wrappedBuffer(bytes.array(), at + 16, length));
            at += 16 + length;
        }
        return frames;
    }

    private Path config(String mode, String vip) throws Exception {
        return Files.writeString(dir.resolve(mode + ".conf"), """
                loadshare {
                  mode = %s
                  admin.enabled = false
                  services = [ { name = web, address = "%s", port = 80, backends = ["192.0.2.11", "192.0.2.12"] } ]
                }
                """.formatted(mode, vip));
    }

    @Test
    void lsmacRewritesTheMacsOfEveryFrameOfTwoConnections() throws Exception {
        Path in = capture("198.51.100.10", TcpHeader.SYN, TcpHeader.ACK, TcpHeader.FIN | TcpHeader.ACK, TcpHeader.SYN,
                TcpHeader.ACK, TcpHeader.FIN | TcpHeader.ACK);
        Path out = dir.resolve("out.pcap");
        assertEquals(0, Loadshare.execute("replay", "--config", config("l2", "198.51.100.10").toString(), "--in",
                in.toString(), "--out", out.toString(), "--dispatcher-mac", "02:00:00:00:00:fe", "--backend-mac",
                "192.0.2.11=02:00:00:00:00:0b", "--backend-mac", "192.0.2.12=02:00:00:00:00:0c"));
        List<ByteBuf> frames = frames(out);
        assertEquals(6, frames.size());
        for (int i = 0; i < 6; i++) {
            long expected = i < 3 ? MacAddress.parse("02:00:00:00:00:0b") : MacAddress.parse("02:00:00:00:00:0c");
            assertEquals(expected, MacAddress.get(frames.get(i), 0), "frame " + i + " goes to its session's backend");
            assertEquals(DISPATCHER_MAC, MacAddress.get(frames.get(i), 6));
        }
    }

    @Test
    void lsnatTranslatesTheDestinationWithAValidChecksum() throws Exception {
        Path in = capture("203.0.113.10", TcpHeader.SYN, TcpHeader.ACK);
        Path out = dir.resolve("out.pcap");
        assertEquals(0, Loadshare.execute("replay", "--config", config("l3", "203.0.113.10").toString(), "--in",
                in.toString(), "--out", out.toString(), "--dispatcher-mac", "02:00:00:00:00:fe", "--backend-mac",
                "192.0.2.11=02:00:00:00:00:0b", "--backend-mac", "192.0.2.12=02:00:00:00:00:0c"));
        List<ByteBuf> tcp = frames(out).stream().filter(f -> f.getUnsignedShort(12) == EtherType.IPV4).toList();
        assertEquals(2, tcp.size(), "the gratuitous ARPs aside, both frames left");
        for (ByteBuf frame : tcp) {
            Ipv4Header ip = new Ipv4Header();
            ip.wrap(frame, 14);
            assertEquals(Ipv4Address.parse("192.0.2.11"), ip.destination());
            assertEquals(63, ip.ttl());
            assertTrue(ip.isChecksumValid());
            int tcpLength = ip.totalLength() - ip.headerLength();
            assertEquals(0xFFFF, InternetChecksum.sum(frame, 14 + ip.headerLength(), tcpLength,
                    ip.pseudoHeaderSum(tcpLength)), "TCP checksum after the translation");
        }
    }

    @Test
    void replayWithoutABackendsMacSaysWhichOne() throws Exception {
        Path in = capture("198.51.100.10", TcpHeader.SYN);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream original = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = Loadshare.execute("replay", "--config",
                    config("l2", "198.51.100.10").toString(), "--in", in.toString(), "--out",
                    dir.resolve("out.pcap").toString(), "--dispatcher-mac", "02:00:00:00:00:fe", "--backend-mac",
                    "192.0.2.11=02:00:00:00:00:0b");
        } finally {
            System.setErr(original);
        }
        assertEquals(Loadshare.CONFIG_ERROR, status);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("192.0.2.12"), err.toString(StandardCharsets.UTF_8));
    }
}

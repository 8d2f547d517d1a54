package io.loadshare.transport.pcap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.CaptureHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.testbed.NetnsTestbed;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading and writing capture files, against files and readings of the real tcpdump. */
class PcapFileChannelTest {
    @TempDir
    Path dir;
    private final EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());

    @AfterEach
    void tearDown() throws InterruptedException {
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** What a channel delivered before it closed, and how it ended. */
    static final class Recorder extends ChannelInboundHandlerAdapter {
        final List<byte[]> frames = new CopyOnWriteArrayList<>();
        final List<Long> timestamps = new CopyOnWriteArrayList<>();
        final CompletableFuture<Throwable> ended = new CompletableFuture<>();
        volatile Throwable failure;
        final boolean echo;

        Recorder(boolean echo) {
            this.echo = echo;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            frames.add(ByteBufUtil.getBytes(frame));
            timestamps.add(CaptureHeader.isPresent(frame) ? CaptureHeader.timestampNanos(frame) : -1);
            if (echo) {
                ctx.write(frame);
            } else {
                frame.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            failure = cause;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ended.complete(failure);
        }
    }

    private Recorder replay(Path in, Path out) throws Exception {
        Recorder recorder = new Recorder(out != null);
        Channel channel = new Bootstrap().group(loops).channel(PcapFileChannel.class).handler(recorder)
                .bind(new PcapFileAddress(in, out).asSocketAddress()).sync().channel();
        recorder.ended.get(10, TimeUnit.SECONDS);
        channel.closeFuture().sync();
        return recorder;
    }

    private static List<byte[]> frames(int count) {
        List<byte[]> frames = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ByteBuf frame = Frames.udp(Unpooled.buffer(), 0x0200_0000_00FEL, 0x0200_0000_0001L,
                    Ipv4Address.parse("203.0.113.5"), 5000 + i, Ipv4Address.parse("192.0.2.10"), 53, new byte[20 + i]);
            frames.add(ByteBufUtil.getBytes(frame));
            frame.release();
        }
        return frames;
    }

    /** Writes a classic pcap file by hand, microsecond or nanosecond, in either byte order. */
    private static byte[] pcap(List<byte[]> frames, boolean nanos, ByteOrder order, int snaplen) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer global = ByteBuffer.allocate(24).order(order);
        global.putInt(nanos ? 0xA1B23C4D : 0xA1B2C3D4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0)
                .putInt(snaplen).putInt(1);
        out.writeBytes(global.array());
        for (int i = 0; i < frames.size(); i++) {
            ByteBuffer record = ByteBuffer.allocate(16).order(order);
            record.putInt(1_700_000_000 + i).putInt(nanos ? 123_456_789 : 123_456).putInt(frames.get(i).length)
                    .putInt(frames.get(i).length);
            out.writeBytes(record.array());
            out.writeBytes(frames.get(i));
        }
        return out.toByteArray();
    }

    @Test
    void readsMicroAndNanoFilesInBothByteOrders() throws Exception {
        List<byte[]> frames = frames(5);
        for (boolean nanos : new boolean[] {false, true}) {
            for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
                Path file = Files.write(dir.resolve("in-" + nanos + order + ".pcap"), pcap(frames, nanos, order, 65535));
                Recorder recorder = replay(file, null);
                assertNull(recorder.failure);
                assertEquals(5, recorder.frames.size());
                for (int i = 0; i < 5; i++) {
                    assertArrayEquals(frames.get(i), recorder.frames.get(i));
                    assertEquals((1_700_000_000L + i) * 1_000_000_000L + 123_456_789L - (nanos ? 0 : 789),
                            recorder.timestamps.get(i));
                }
            }
        }
    }

    /** A minimal pcapng file (section header, Ethernet interface, enhanced packet blocks), read through libpcap. */
    @Test
    void readsPcapngThroughLibpcap() throws Exception {
        List<byte[]> frames = frames(3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN).putInt(0x0A0D0D0A).putInt(28)
                .putInt(0x1A2B3C4D).putShort((short) 1).putShort((short) 0).putLong(-1).putInt(28).array());
        out.writeBytes(ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putInt(1).putInt(20).putShort((short) 1)
                .putShort((short) 0).putInt(0).putInt(20).array());
        for (int i = 0; i < frames.size(); i++) {
            byte[] frame = frames.get(i);
            int padded = (frame.length + 3) & ~3;
            long micros = 1_700_000_000_000_000L + i;
            ByteBuffer block = ByteBuffer.allocate(32 + padded).order(ByteOrder.LITTLE_ENDIAN);
            block.putInt(6).putInt(32 + padded).putInt(0).putInt((int) (micros >>> 32)).putInt((int) micros)
                    .putInt(frame.length).putInt(frame.length).put(frame).position(28 + padded);
            block.putInt(32 + padded);
            out.writeBytes(block.array());
        }
        Path file = Files.write(dir.resolve("in.pcapng"), out.toByteArray());
        Recorder recorder = replay(file, null);
        assertNull(recorder.failure);
        assertEquals(3, recorder.frames.size());
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(frames.get(i), recorder.frames.get(i));
            assertEquals((1_700_000_000_000_000L + i) * 1_000L, recorder.timestamps.get(i));
        }
    }

    @Test
    void aFileWrittenHereIsReadByTcpdumpFrameForFrame() throws Exception {
        NetnsTestbed.requireTool("tcpdump");
        List<byte[]> frames = frames(7);
        Path in = Files.write(dir.resolve("in.pcap"), pcap(frames, false, ByteOrder.LITTLE_ENDIAN, 65535));
        Path out = dir.resolve("out.pcap");
        replay(in, out);
        List<byte[]> seen = TcpdumpHex.read(out);
        assertEquals(7, seen.size());
        for (int i = 0; i < 7; i++) {
            assertArrayEquals(frames.get(i), seen.get(i), "frame " + i);
        }
        String timestamps = NetnsTestbed.run("tcpdump", "-r", out.toString(), "-nn", "--nano", "-tt", "-c", "1");
        assertTrue(timestamps.startsWith("1700000000.123456000 "), timestamps);
    }

    @Test
    void aFileWrittenByTcpdumpIsReadFrameForFrame() throws Exception {
        try (NetnsTestbed testbed = NetnsTestbed.create()) {
            NetnsTestbed.requireTool("tcpdump");
            String a = testbed.namespace("a");
            String b = testbed.namespace("b");
            testbed.veth(a, "a0", b, "b0");
            testbed.address(a, "a0", "192.0.2.1/24");
            testbed.address(b, "b0", "192.0.2.2/24");
            Path capture = dir.resolve("tcpdump.pcap");
            dir.toFile().setWritable(true, false);
            Process tcpdump = testbed.start(b, "tcpdump", "-i", "b0", "-w", capture.toString(), "-Z", "root", "-U",
                    "-c", "5", "udp", "port", "9999");
            Thread.sleep(1000);
            for (int i = 0; i < 5; i++) {
                testbed.exec(a, "bash", "-c", "echo -n frame" + i + " > /dev/udp/192.0.2.2/9999");
            }
            assertTrue(tcpdump.waitFor(10, TimeUnit.SECONDS), "tcpdump did not see 5 frames");
            Recorder recorder = replay(capture, null);
            List<byte[]> expected = TcpdumpHex.read(capture);
            assertEquals(5, expected.size());
            assertEquals(5, recorder.frames.size());
            for (int i = 0; i < 5; i++) {
                assertArrayEquals(expected.get(i), recorder.frames.get(i), "frame " + i);
            }
        }
    }

    @Test
    void missingFileNamesIt() {
        Exception e = assertThrows(Exception.class, () -> new Bootstrap().group(loops).channel(PcapFileChannel.class)
                .handler(new Recorder(false)).bind(new PcapFileAddress(dir.resolve("nope.pcap"), null).asSocketAddress())
                .sync());
        assertEquals(dir.resolve("nope.pcap") + ": no such file", e.getMessage());
    }

    @Test
    void wrongMagicAndTruncatedHeaderAreReportedWithOffsets() throws IOException {
        Path garbage = Files.write(dir.resolve("garbage.pcap"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
            14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25});
        Exception magic = assertThrows(Exception.class, () -> open(garbage));
        assertTrue(magic.getMessage().startsWith(garbage + " at offset 0: not a pcap file: magic 0x01020304"),
                magic.getMessage());
        Path shortFile = Files.write(dir.resolve("short.pcap"), new byte[] {(byte) 0xd4, (byte) 0xc3, (byte) 0xb2,
            (byte) 0xa1, 2, 0});
        Exception truncated = assertThrows(Exception.class, () -> open(shortFile));
        assertEquals(shortFile + " at offset 0: truncated global header: 6 of 24 bytes", truncated.getMessage());
    }

    private void open(Path file) throws InterruptedException {
        new Bootstrap().group(loops).channel(PcapFileChannel.class).handler(new Recorder(false))
                .bind(new PcapFileAddress(file, null).asSocketAddress()).sync();
    }

    @Test
    void aTruncatedLastRecordIsReportedAfterTheFramesBeforeIt() throws Exception {
        List<byte[]> frames = frames(3);
        byte[] whole = pcap(frames, false, ByteOrder.LITTLE_ENDIAN, 65535);
        byte[] cut = java.util.Arrays.copyOf(whole, whole.length - 10);
        Path file = Files.write(dir.resolve("cut.pcap"), cut);
        Recorder recorder = replay(file, null);
        assertEquals(2, recorder.frames.size());
        long thirdRecord = 24 + 16 + frames.get(0).length + 16 + frames.get(1).length;
        PcapFileException e = assertInstanceOf(PcapFileException.class, recorder.failure);
        assertEquals(thirdRecord, e.offset());
        assertEquals(file + " at offset " + thirdRecord + ": truncated record: header says " + frames.get(2).length
                + " bytes, the file ends after " + (frames.get(2).length - 10), e.getMessage());
    }

    @Test
    void aCorruptRecordInTheMiddleIsReportedAfterTheFramesBeforeIt() throws Exception {
        List<byte[]> frames = frames(4);
        byte[] bytes = pcap(frames, false, ByteOrder.LITTLE_ENDIAN, 65535);
        int second = 24 + 16 + frames.get(0).length;
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(second + 8, 0x7FFF_0000);
        Path file = Files.write(dir.resolve("corrupt.pcap"), bytes);
        Recorder recorder = replay(file, null);
        assertEquals(1, recorder.frames.size());
        assertEquals(file + " at offset " + second + ": corrupt record: captured length 2147418112",
                recorder.failure.getMessage());
    }

    @Test
    void aFrameLongerThanTheSnaplenIsReported() throws Exception {
        List<byte[]> frames = frames(2);
        Path file = Files.write(dir.resolve("snap.pcap"), pcap(frames, true, ByteOrder.BIG_ENDIAN, 60));
        Recorder recorder = replay(file, null);
        assertEquals(0, recorder.frames.size());
        assertEquals(file + " at offset 24: record of " + frames.get(0).length + " bytes exceeds the file's snaplen of 60",
                recorder.failure.getMessage());
    }

    @Test
    void pacedReplayKeepsTheCaptureTiming() throws Exception {
        List<byte[]> frames = frames(3);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(pcap(List.of(), false, ByteOrder.BIG_ENDIAN, 65535));
        for (int i = 0; i < 3; i++) {
            out.writeBytes(ByteBuffer.allocate(16).putInt(1_700_000_000).putInt(i * 150_000).putInt(frames.get(i).length)
                    .putInt(frames.get(i).length).array());
            out.writeBytes(frames.get(i));
        }
        Path file = Files.write(dir.resolve("paced.pcap"), out.toByteArray());
        Recorder recorder = new Recorder(false);
        long start = System.nanoTime();
        new Bootstrap().group(loops).channel(PcapFileChannel.class).option(PcapChannelOption.PACE, true).handler(recorder)
                .bind(new PcapFileAddress(file, null).asSocketAddress()).sync();
        recorder.ended.get(10, TimeUnit.SECONDS);
        assertEquals(3, recorder.frames.size());
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(300), "the capture spans 300 ms");
    }
}

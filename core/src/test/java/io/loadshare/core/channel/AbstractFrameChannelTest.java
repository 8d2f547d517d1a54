package io.loadshare.core.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.MacAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The frame-channel base through a transport whose frames come from a queue: reads, failures, writes, connect. */
class AbstractFrameChannelTest {
    private final EventLoop loop = new DefaultEventLoop();

    @AfterEach
    void stop() throws InterruptedException {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await();
    }

    @Test
    void deliversUpToTheReadBatchThenOneReadComplete() throws Exception {
        QueueChannel channel = new QueueChannel();
        channel.config().setReadBatch(3);
        for (int i = 0; i < 5; i++) {
            channel.source.add(Unpooled.directBuffer(1).writeByte(i));
        }
        Recorder recorder = start(channel);

        assertEquals(3, onLoop(channel::deliverFrames));
        assertEquals(List.of("read 0", "read 1", "read 2", "complete"), recorder.events);
        assertEquals(2, onLoop(channel::deliverFrames));
        assertEquals(0, onLoop(channel::deliverFrames));
        assertEquals(List.of("read 0", "read 1", "read 2", "complete", "read 3", "read 4", "complete"),
                recorder.events);
        close(channel);
    }

    @Test
    void aFailedReadComesAfterTheFramesBeforeItAndClosesTheChannel() throws Exception {
        QueueChannel channel = new QueueChannel();
        channel.source.add(Unpooled.directBuffer(1).writeByte(7));
        channel.failure = new IOException("the source broke");
        Recorder recorder = start(channel);

        assertEquals(1, onLoop(channel::deliverFrames));
        channel.closeFuture().await(5, TimeUnit.SECONDS);
        // The close completes before the loop fires channelInactive, in a task of its own: wait for that task.
        onLoop(() -> 0);
        assertEquals(List.of("read 7", "complete", "exception the source broke", "inactive"), recorder.events);
        assertFalse(channel.isOpen());
        assertSame(channel.failure, channel.closeCause());
    }

    @Test
    void writesOnlyFramesAndCopiesThoseItCannotSendInPlace() throws Exception {
        QueueChannel channel = new QueueChannel();
        start(channel);
        ByteBuf heap = Unpooled.buffer(2).writeByte(1).writeByte(2);
        channel.writeAndFlush(heap).await(5, TimeUnit.SECONDS);
        assertEquals(0, heap.refCnt());
        ChannelFuture refused = channel.writeAndFlush("not a frame");
        refused.await(5, TimeUnit.SECONDS);

        assertInstanceOf(UnsupportedOperationException.class, refused.cause());
        assertEquals("a queue channel sends ByteBuf frames, not java.lang.String", refused.cause().getMessage());
        assertEquals(1, channel.sent.size());
        assertTrue(channel.sent.getFirst().directly);
        assertEquals(2, channel.stats().sentBytes());
        close(channel);
    }

    @Test
    void connectIsRefusedWithHowToBind() throws Exception {
        QueueChannel channel = new QueueChannel();
        start(channel);
        ChannelFuture connect = channel.connect(new InetSocketAddress(0));
        connect.await(5, TimeUnit.SECONDS);

        assertEquals("a queue channel does not connect; bind it to a queue", connect.cause().getMessage());
        close(channel);
    }

    private Recorder start(QueueChannel channel) throws Exception {
        Recorder recorder = new Recorder();
        channel.pipeline().addLast(recorder);
        loop.register(channel).sync();
        channel.bind(new InetSocketAddress(0)).sync();
        return recorder;
    }

    private int onLoop(java.util.concurrent.Callable<Integer> task) throws Exception {
        return loop.submit(task).get(5, TimeUnit.SECONDS);
    }

    private static void close(QueueChannel channel) throws InterruptedException {
        channel.close().await(5, TimeUnit.SECONDS);
        channel.source.forEach(ByteBuf::release);
    }

    private static final class Recorder extends ChannelInboundHandlerAdapter {
        final List<String> events = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            events.add("read " + frame.getByte(0));
            frame.release();
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            events.add("complete");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            events.add("exception " + cause.getMessage());
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            events.add("inactive");
        }
    }

    private record Sent(int length, boolean directly) {
    }

    /** Frames from a queue, then the failure if one is set; writes are recorded. */
    private static final class QueueChannel extends AbstractFrameChannel<FrameChannelStats> {
        final Deque<ByteBuf> source = new ArrayDeque<>();
        final List<Sent> sent = new ArrayList<>();
        final Config config = new Config(this);
        IOException failure;
        volatile boolean open = true;
        volatile SocketAddress local;

        QueueChannel() {
            super("a queue channel", "bind it to a queue", new FrameChannelStats());
        }

        @Override
        public Config config() {
            return config;
        }

        @Override
        protected ByteBuf nextFrame(int wanted) throws IOException {
            if (source.isEmpty() && failure != null) {
                throw failure;
            }
            return source.poll();
        }

        @Override
        public long hardwareAddress() {
            return MacAddress.UNKNOWN;
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public boolean isActive() {
            return open && local != null;
        }

        @Override
        protected SocketAddress localAddress0() {
            return local;
        }

        @Override
        protected void doBind(SocketAddress address) {
            local = address;
        }

        @Override
        protected void doClose() {
            open = false;
        }

        @Override
        protected void doBeginRead() {
        }

        @Override
        protected void doWrite(ChannelOutboundBuffer in) {
            for (Object msg; (msg = in.current()) != null; ) {
                ByteBuf frame = (ByteBuf) msg;
                sent.add(new Sent(frame.readableBytes(), frame.isDirect()));
                countSent(frame.readableBytes());
                in.remove();
            }
        }
    }

    private static final class Config extends FrameChannelConfig {
        Config(QueueChannel channel) {
            super(channel);
        }

        void setReadBatch(int frames) {
            readBatch(frames);
        }
    }
}

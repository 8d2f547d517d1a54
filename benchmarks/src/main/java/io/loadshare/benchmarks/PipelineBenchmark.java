package io.loadshare.benchmarks;

import io.loadshare.core.mode.DispatchMode;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.loadshare.dispatch.l2.L2Dispatcher;
import io.loadshare.dispatch.l2.L2Service;
import io.loadshare.core.mode.Arm;
import io.loadshare.dispatch.l3.L3Dispatcher;
import io.loadshare.dispatch.l3.L3Service;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Nanoseconds and bytes allocated per frame through a whole dispatch pipeline (decode, classify, schedule,
 * rewrite, emit) without I/O, on a hot session table: {@code sessions} established sessions, and each frame is the
 * ACK of the next one in turn, so that lookups range over the whole table as a busy dispatcher's do. The pipeline
 * runs on an {@link EmbeddedChannel} entered with {@code fireChannelRead}, and a sink at the head of the pipeline
 * takes each emitted frame where a transport would send it, and releases it, so neither EmbeddedChannel's queues
 * nor Netty's outbound buffer are measured. A read batch ends (channelReadComplete, which flushes) every
 * {@value #BATCH} frames, as a transport's read of a ring block or an epoll wake-up does. The frame is one pooled
 * direct buffer, refilled from the session's template each time because the pipeline rewrites it in place.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseParallelGC", "-Xmx2g", "--sun-misc-unsafe-memory-access=allow",
    "-Dio.netty.leakDetection.level=disabled", "-Dio.netty.recycler.chunkSize=256", "-Dio.netty.recycler.ratio=0"})
public class PipelineBenchmark {
    private static final long DISPATCHER_MAC = MacAddress.parse("02:00:00:00:00:fe");
    private static final long CLIENT_MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final int CLIENT_NET = Ipv4Address.parse("203.0.113.0");
    private static final int VIP = Ipv4Address.parse("198.51.100.10");
    private static final int BACKEND = Ipv4Address.parse("192.0.2.11");
    private static final int PORTS = 60000;
    static final int BATCH = 32;

    /** lsmac (layer 2) or lsnat (layer 3, one-armed). */
    @Param({"lsmac", "lsnat"})
    public String mode;

    /** Established sessions in the table. */
    @Param({"1000", "1000000"})
    public int sessions;

    private EmbeddedChannel channel;
    private Sink sink;
    private byte[][] templates;
    private ByteBuf frame;
    private int next;
    private long read;

    /** An embedded channel that knows its MAC, as the raw-socket and pcap channels do. */
    static final class AddressedChannel extends EmbeddedChannel implements HardwareAddressed {
        AddressedChannel(ChannelHandler handler) {
            super(handler);
        }

        @Override
        public long hardwareAddress() {
            return DISPATCHER_MAC;
        }
    }

    /** Where a transport would send: counts each emitted frame and releases it. */
    static final class Sink extends ChannelOutboundHandlerAdapter {
        long sent;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            sent++;
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void flush(ChannelHandlerContext ctx) {
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        DispatchMode dispatcher = mode.equals("lsmac")
                ? L2Dispatcher.builder()
                        .service(new L2Service("web", VIP, IpProtocol.TCP, 80, "round-robin", ConfigFactory.empty(),
                                List.of(new StaticBackend(BACKEND, 1))))
                        .pinBackendMac(BACKEND, MacAddress.parse("02:00:00:00:00:0b")).build()
                : L3Dispatcher.builder()
                        .service(L3Service.of("web", Ipv4Address.format(VIP), 80, "round-robin",
                                Ipv4Address.format(BACKEND)))
                        .pinBackendMac(BACKEND, MacAddress.parse("02:00:00:00:00:0b")).build();
        ChannelHandler initializer = dispatcher.initializer(0, Arm.BOTH);
        channel = new AddressedChannel(initializer);
        channel.runPendingTasks();
        sink = new Sink();
        channel.pipeline().addFirst("sink", sink);
        frame = PooledByteBufAllocator.DEFAULT.directBuffer(128);
        templates = new byte[sessions][];
        for (int i = 0; i < sessions; i++) {
            templates[i] = frame(i, TcpHeader.SYN);
            send(templates[i]);
            templates[i] = frame(i, TcpHeader.ACK);
            send(templates[i]);
        }
        if (sink.sent != 2L * sessions) {
            throw new IllegalStateException(mode + ": " + sink.sent + " of " + 2L * sessions + " frames were emitted");
        }
    }

    /** Session {@code i}'s frame: a client address and port of its own. */
    private static byte[] frame(int i, int flags) {
        ByteBuf built = Frames.tcp(Unpooled.buffer(), DISPATCHER_MAC, CLIENT_MAC, CLIENT_NET + 1 + i / PORTS,
                1024 + i % PORTS, VIP, 80, 1000, flags == TcpHeader.SYN ? 0 : 5001, flags, new byte[0]);
        byte[] bytes = ByteBufUtil.getBytes(built);
        built.release();
        return bytes;
    }

    private void send(byte[] bytes) {
        frame.clear().writeBytes(bytes).retain();
        channel.pipeline().fireChannelRead(frame);
        if (++read % BATCH == 0) {
            channel.pipeline().fireChannelReadComplete();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        long expected = 2L * sessions;
        frame.release();
        channel.finishAndReleaseAll();
        if (sink.sent <= expected) {
            throw new IllegalStateException(mode + ": the measured frames were not emitted");
        }
    }

    /** The ACK of the next session, through the pipeline to the sink. */
    @Benchmark
    public void forward() {
        send(templates[next]);
        if (++next == sessions) {
            next = 0;
        }
    }
}

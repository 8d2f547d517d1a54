package io.loadshare.benchmarks;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.loadshare.dispatch.l2.L2DispatchInitializer;
import io.loadshare.dispatch.l2.L2Service;
import io.loadshare.dispatch.l3.Arm;
import io.loadshare.dispatch.l3.L3Dispatcher;
import io.loadshare.dispatch.l3.L3Service;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
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
 * Nanoseconds per frame through a whole dispatch pipeline (decode, classify, schedule, rewrite, emit) on an
 * {@link EmbeddedChannel}: the ACK of an established session, as most of a connection's client frames are. The
 * frame is one pooled direct buffer, refilled from its template each time because the pipeline rewrites it in
 * place; the figure includes {@code EmbeddedChannel}'s own queueing, which a raw-socket channel does not have,
 * and its outbound-buffer entry, which Netty's recycler does not pool on a JMH thread (it does on an event loop).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseParallelGC", "--sun-misc-unsafe-memory-access=allow",
    "-Dio.netty.leakDetection.level=disabled", "-Dio.netty.recycler.chunkSize=256", "-Dio.netty.recycler.ratio=0"})
public class PipelineBenchmark {
    private static final long DISPATCHER_MAC = MacAddress.parse("02:00:00:00:00:fe");
    private static final long CLIENT_MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final int CLIENT = Ipv4Address.parse("203.0.113.5");
    private static final int VIP = Ipv4Address.parse("198.51.100.10");
    private static final int BACKEND = Ipv4Address.parse("192.0.2.11");

    /** lsmac (layer 2) or lsnat (layer 3, one-armed). */
    @Param({"lsmac", "lsnat"})
    public String mode;

    private EmbeddedChannel channel;
    private byte[] template;
    private ByteBuf frame;

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

    @Setup(Level.Trial)
    public void setUp() {
        ChannelHandler initializer;
        if (mode.equals("lsmac")) {
            initializer = L2DispatchInitializer.builder()
                    .service(new L2Service("web", VIP, IpProtocol.TCP, 80, "round-robin", ConfigFactory.empty(),
                            List.of(BACKEND)))
                    .pinBackendMac(BACKEND, MacAddress.parse("02:00:00:00:00:0b")).build();
        } else {
            initializer = L3Dispatcher.builder()
                    .service(L3Service.of("web", Ipv4Address.format(VIP), 80, "round-robin",
                            Ipv4Address.format(BACKEND)))
                    .pinBackendMac(BACKEND, MacAddress.parse("02:00:00:00:00:0b")).build().initializer(Arm.BOTH);
        }
        channel = new AddressedChannel(initializer);
        drain();
        if (send(frame(TcpHeader.SYN)) == null) {
            throw new IllegalStateException(mode + ": the SYN did not open a session");
        }
        template = frame(TcpHeader.ACK);
        frame = PooledByteBufAllocator.DEFAULT.directBuffer(template.length);
        if (forward() == null) {
            throw new IllegalStateException(mode + ": the ACK of the session was dropped");
        }
    }

    private static byte[] frame(int flags) {
        ByteBuf built = Frames.tcp(Unpooled.buffer(), DISPATCHER_MAC, CLIENT_MAC, CLIENT, 40000, VIP, 80, 1000,
                flags == TcpHeader.SYN ? 0 : 5001, flags, new byte[0]);
        byte[] bytes = ByteBufUtil.getBytes(built);
        built.release();
        return bytes;
    }

    private ByteBuf send(byte[] bytes) {
        channel.writeInbound(Unpooled.wrappedBuffer(bytes));
        ByteBuf sent = channel.readOutbound();
        if (sent != null) {
            sent.release();
        }
        drain();
        return sent;
    }

    private void drain() {
        for (Object other; (other = channel.readOutbound()) != null; ) {
            ((ByteBuf) other).release();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        frame.release();
        channel.finishAndReleaseAll();
    }

    /** Refills the frame, hands a reference to the pipeline and takes it back from the outbound queue. */
    @Benchmark
    public ByteBuf forward() {
        frame.clear().writeBytes(template).retain();
        channel.writeInbound(frame);
        ByteBuf sent = channel.readOutbound();
        if (sent != null) {
            sent.release();
        }
        return sent;
    }
}

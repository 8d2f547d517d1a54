package io.loadshare.demo;

import com.google.common.base.Ticker;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.metrics.DispatchCounters;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.DispatchPipeline;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.dispatch.l2.MacRewriter;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The LSMAC pipeline without a network: {@code clients} HTTP/1.0 connections (SYN, ACK, request, FIN+ACK, ACK)
 * from 203.0.113.0/24 to the cluster address 192.0.2.10:80 go through decode → classify → schedule → MAC
 * rewrite → emit on an embedded channel, spread over three backends by round robin. It prints where each
 * connection went, what was dropped and why, and that the session table empties once the linger has passed.
 */
public final class PipelineDemo {
    private static final int VIP = Ipv4Address.parse("192.0.2.10");
    private static final int CLIENT_NET = Ipv4Address.parse("203.0.113.0");
    private static final long CLIENT_MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final long DISPATCHER_MAC = MacAddress.parse("02:00:00:00:00:fe");
    private static final byte[] REQUEST = "GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private PipelineDemo() {
    }

    public static void main(String[] args) {
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        AtomicLong nanos = new AtomicLong();
        Ticker clock = new Ticker() {
            @Override
            public long read() {
                return nanos.get();
            }
        };
        List<Backend> backends = new ArrayList<>();
        for (int id = 1; id <= 3; id++) {
            backends.add(new Backend(id, Ipv4Address.parse("192.0.2." + (20 + id)), 0, 0x0200_0000_0B00L + id, 1,
                    BackendState.ACTIVE));
        }
        SchedulerRegistry registry = SchedulerRegistry.load();
        Service web = new Service(0, "web", VIP, IpProtocol.TCP, 80,
                () -> registry.create("round-robin", ConfigFactory.empty()), BackendPool.of(backends));
        DispatchContext context = new DispatchContext(CoreSettings.defaults(), new ServiceTable(List.of(web)), clock);
        EmbeddedChannel channel = new EmbeddedChannel();
        DispatchPipeline.install(channel.pipeline(), context, new MacRewriter(context, DISPATCHER_MAC));

        System.out.printf("LSMAC pipeline demo: %d HTTP/1.0 connections to %s:80, round robin over %d backends%n",
                clients, Ipv4Address.format(VIP), backends.size());
        long forwarded = 0;
        for (int c = 0; c < clients; c++) {
            int client = CLIENT_NET + 1 + c % 250;
            int port = 20000 + c;
            forwarded += send(channel, client, port, 0, TcpHeader.SYN, new byte[0]);
            forwarded += send(channel, client, port, 1, TcpHeader.ACK, new byte[0]);
            forwarded += send(channel, client, port, 1, TcpHeader.PSH | TcpHeader.ACK, REQUEST);
            forwarded += send(channel, client, port, 1 + REQUEST.length, TcpHeader.FIN | TcpHeader.ACK, new byte[0]);
            forwarded += send(channel, client, port, 2 + REQUEST.length, TcpHeader.ACK, new byte[0]);
            nanos.addAndGet(TimeUnit.MICROSECONDS.toNanos(100));
        }
        send(channel, CLIENT_NET + 1, 9, 1, TcpHeader.ACK, new byte[0]);
        send(channel, CLIENT_NET + 1, 9, 0, TcpHeader.SYN, new byte[0], 443);

        DispatchCounters counters = context.counters();
        System.out.printf("%nframes forwarded: %d; sessions in the table: %d%n%n", forwarded, context.sessions().size());
        System.out.printf("%-8s %-15s %-17s %9s %8s %9s%n", "backend", "address", "mac", "sessions", "packets", "bytes");
        for (Backend backend : backends) {
            System.out.printf("%-8d %-15s %-17s %9d %8d %9d%n", backend.id(), Ipv4Address.format(backend.address()),
                    MacAddress.format(backend.mac()), counters.sessionsOpened(backend.id()),
                    counters.packets(backend.id()), counters.bytes(backend.id()));
        }
        System.out.printf("%ndrops:%n");
        for (DropReason reason : DropReason.values()) {
            if (counters.drops(reason) > 0) {
                System.out.printf("  %-22s %d%n", reason.label(), counters.drops(reason));
            }
        }
        nanos.addAndGet(CoreSettings.defaults().session().tcpLinger().toNanos() + 1);
        long cycle = CoreSettings.defaults().session().sweepCycle().toNanos()
                / CoreSettings.defaults().session().sweepInterval().toNanos();
        for (long i = 0; i < cycle; i++) {
            context.sweep();
        }
        System.out.printf("%nafter the %d s linger and one sweep cycle: %d sessions in the table%n",
                CoreSettings.defaults().session().tcpLinger().toSeconds(), context.sessions().size());
        channel.finishAndReleaseAll();
    }

    private static int send(EmbeddedChannel channel, int client, int port, long sequence, int flags, byte[] payload) {
        return send(channel, client, port, sequence, flags, payload, 80);
    }

    private static int send(EmbeddedChannel channel, int client, int port, long sequence, int flags, byte[] payload,
            int destinationPort) {
        ByteBuf frame = Frames.tcp(ByteBufAllocator.DEFAULT.buffer(), DISPATCHER_MAC, CLIENT_MAC, client, port, VIP,
                destinationPort, 1000 + sequence, flags == TcpHeader.SYN ? 0 : 5001, flags, payload);
        channel.writeInbound(frame);
        int out = 0;
        for (ByteBuf sent; (sent = channel.readOutbound()) != null; ) {
            sent.release();
            out++;
        }
        return out;
    }
}

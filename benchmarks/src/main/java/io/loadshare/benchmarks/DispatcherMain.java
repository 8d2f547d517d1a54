package io.loadshare.benchmarks;

import io.loadshare.core.mode.DispatchMode;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.dispatch.l2.L2Dispatcher;
import io.loadshare.dispatch.l2.L2Service;
import io.loadshare.core.mode.Arm;
import io.loadshare.dispatch.l3.L3Dispatcher;
import io.loadshare.dispatch.l3.L3Service;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.session.SessionSettings;
import io.loadshare.offload.OffloadSettings;
import io.loadshare.offload.AttachPoint;
import io.loadshare.offload.FastPaths;
import io.loadshare.offload.KernelFlowOffload;
import io.loadshare.sync.SessionSync;
import io.loadshare.sync.SyncSettings;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.RawSocketChannelOption;
import io.loadshare.transport.rawsocket.RawSocketSettings;
import io.loadshare.transport.rawsocket.SocketFilter;
import com.typesafe.config.ConfigFactory;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The dispatcher {@code dev/bench-paper} measures: LSMAC or one-armed LSNAT on one interface, round robin over
 * the given backends, until killed. The raw socket reads with recvmmsg unless {@code -Dloadshare.bench.ring=2} (a
 * TPACKET_V2 ring) or {@code 3} (TPACKET_V3, which hands over a block per millisecond at light load).
 * With {@code -Dloadshare.bench.offload=true} the fast path carries established sessions (LSMAC's XDP program,
 * LSNAT's tc program); {@code -Dloadshare.bench.scheduler=maglev} (round robin by default) lets LSMAC's place new
 * flows too. With {@code -Dloadshare.bench.sync=LISTEN_ADDRESS,PEER_ADDRESS:PORT,KEY_FILE} it syncs its sessions to
 * that peer ({@code loadshare.sync}).
 *
 * <p>Usage: {@code DispatcherMain l2|l3 INTERFACE VIP PORT BACKEND...}
 */
public final class DispatcherMain {
    private static final String SCHEDULER = System.getProperty("loadshare.bench.scheduler", "round-robin");

    private DispatcherMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: DispatcherMain l2|l3 INTERFACE VIP PORT BACKEND...");
            System.exit(2);
        }
        String mode = args[0];
        String vip = args[2];
        int port = Integer.parseInt(args[3]);
        List<StaticBackend> backends = StaticBackend.of(Arrays.copyOfRange(args, 4, args.length));
        boolean offload = Boolean.getBoolean("loadshare.bench.offload");
        DispatchMode dispatcher = mode.equals("l2")
                ? L2Dispatcher.builder().service(new L2Service("bench", Ipv4Address.parse(vip), IpProtocol.TCP, port,
                        SCHEDULER, ConfigFactory.empty(), backends)).build()
                : L3Dispatcher.builder().service(new L3Service("bench", Ipv4Address.parse(vip), IpProtocol.TCP, port, 0,
                        SCHEDULER, ConfigFactory.empty(), backends, 0, 0)).build();
        dispatcher.checkHost(null);
        ChannelHandler initializer = dispatcher.initializer(0, Arm.BOTH);
        // LSNAT's fast path needs the data socket bound to IPv4 alone (TcFlowOffload), so ARP gets its own.
        ChannelHandler arpInitializer = offload && dispatcher.fastPathHook() == DispatchMode.FastPathHook.TC
                ? dispatcher.arpInitializer(Arm.BOTH) : null;
        DispatchContext context = dispatcher.context();
        // Before the data plane runs: the worker journals from its first session.
        SessionSync sync = sync(dispatcher);
        String ring = System.getProperty("loadshare.bench.ring", "off");
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        RawSocketChannel channel = (RawSocketChannel) new Bootstrap().group(loop).channel(RawSocketChannel.class)
                .option(RawSocketChannelOption.RX_RING, RawSocketSettings.from(ConfigFactory.parseString(
                        RawSocketSettings.ROOT + ".ring { enabled = " + !ring.equals("off") + ", version = "
                                + (ring.equals("off") ? 2 : ring) + " }"), RawSocketSettings.ROOT).ring())
                .option(RawSocketChannelOption.SOCKET_FILTER, SocketFilter.builder().acceptBroadcast(mode.equals("l3"))
                        .build())
                .option(RawSocketChannelOption.ETHER_TYPE, arpInitializer == null ? 0 : EtherType.IPV4)
                .handler(initializer)
                .bind(new RawSocketAddress(args[1])).sync().channel();
        if (arpInitializer != null) {
            new Bootstrap().group(loop).channel(RawSocketChannel.class)
                    .option(RawSocketChannelOption.SOCKET_FILTER, SocketFilter.builder().acceptBroadcast(true).build())
                    .option(RawSocketChannelOption.ETHER_TYPE, EtherType.ARP)
                    .handler(arpInitializer)
                    .bind(new RawSocketAddress(args[1])).sync();
        }
        if (offload) {
            OffloadSettings settings = OffloadSettings.from(ConfigFactory.parseString(OffloadSettings.ROOT
                    + " { mode = on, place-new-flows = true }"), OffloadSettings.ROOT);
            int maxBackendId = CoreSettings.defaults().maxBackendId();
            AttachPoint point = new AttachPoint(args[1], channel.interfaceIndex(), channel.hardwareAddress());
            KernelFlowOffload fastPath = FastPaths.attach(dispatcher, null, point, point, false, settings,
                    maxBackendId);
            System.out.println("fast path attached: " + fastPath);
        }
        if (sync != null) {
            sync.start(null);
            System.out.println("session sync: " + sync.awaitInitialSync());
        }
        System.out.println("dispatching " + mode + " " + vip + ":" + port + " over " + args[1]);
        loop.scheduleAtFixedRate(() -> System.out.println(report(context)), 1, 1, TimeUnit.SECONDS);
        loop.terminationFuture().sync();
    }

    /** Session sync as {@code -Dloadshare.bench.sync} asks for it, prepared for the mode's workers; or null. */
    private static SessionSync sync(DispatchMode dispatcher) {
        String spec = System.getProperty("loadshare.bench.sync");
        if (spec == null) {
            return null;
        }
        String[] parts = spec.split(",");
        SyncSettings settings = SyncSettings.from(ConfigFactory.parseString(SyncSettings.ROOT + " { enabled = true,"
                + " listen-address = \"" + parts[0] + "\", peers = [ \"" + parts[1] + "\" ], key-file = \""
                + parts[2] + "\", initial-sync-timeout = 1s }"), SyncSettings.ROOT);
        SessionSettings sessions = CoreSettings.defaults().session();
        return SessionSync.prepare(settings, dispatcher.contexts(), dispatcher::services, sessions,
                sessions.tcpIdleTimeout());
    }

    /** Sessions, and drops by reason, as a line of the dispatcher's log. */
    private static String report(DispatchContext context) {
        StringBuilder line = new StringBuilder("sessions=" + context.sessions().size());
        for (DropReason reason : DropReason.values()) {
            long drops = context.counters().drops(reason);
            if (drops > 0) {
                line.append(' ').append(reason.label()).append('=').append(drops);
            }
        }
        return line.toString();
    }
}

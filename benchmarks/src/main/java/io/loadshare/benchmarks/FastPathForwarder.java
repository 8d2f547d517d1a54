package io.loadshare.benchmarks;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.mode.Arm;
import io.loadshare.dispatch.l3.L3Dispatcher;
import io.loadshare.dispatch.l3.L3Service;
import io.loadshare.offload.AttachPoint;
import io.loadshare.offload.KernelFlowOffload;
import io.loadshare.offload.OffloadSettings;
import io.loadshare.offload.TcFlowOffload;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.RawSocketChannelOption;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;

/**
 * The fast path of {@code dev/bench-rawsocket}: a two-armed LSNAT dispatcher with the tc fast path, whose one UDP
 * service ({@value #VIP}:{@value #PORT}) sends to one backend ({@value #BACKEND}, its MAC given). The generator's
 * first datagram goes through the pipeline, which hands the flow to the kernel; every later one is translated and
 * forwarded in the kernel alone. Prints, once a second, the frames the pipeline and the fast path forwarded.
 *
 * <p>Usage: {@code FastPathForwarder CLIENT_IF BACKEND_IF BACKEND_MAC}
 */
public final class FastPathForwarder {
    static final String VIP = "198.51.100.1";
    static final int PORT = 9;
    static final String BACKEND = "192.0.2.11";

    private FastPathForwarder() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: FastPathForwarder CLIENT_IF BACKEND_IF BACKEND_MAC");
            System.exit(2);
        }
        L3Dispatcher lsnat = L3Dispatcher.builder()
                .service(new L3Service("bench", Ipv4Address.parse(VIP), IpProtocol.UDP, PORT, 0, "round-robin",
                        ConfigFactory.empty(), StaticBackend.of(BACKEND), 0, 0))
                .pinBackendMac(Ipv4Address.parse(BACKEND), MacAddress.parse(args[2]))
                .build();
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        RawSocketChannel backend = bind(loop, lsnat, Arm.BACKEND, args[1]);
        RawSocketChannel client = bind(loop, lsnat, Arm.CLIENT, args[0]);
        KernelFlowOffload fastPath = TcFlowOffload.attachLsnat(null,
                new AttachPoint(args[0], client.interfaceIndex(), client.hardwareAddress()),
                new AttachPoint(args[1], backend.interfaceIndex(), backend.hardwareAddress()),
                OffloadSettings.defaults(), CoreSettings.defaults().maxBackendId(), lsnat.context());
        loop.submit(() -> lsnat.context().offload(fastPath)).sync();
        int id = lsnat.services().getFirst().pool().all().getFirst().id();
        while (true) {
            Thread.sleep(1000);
            System.out.println("pipeline=" + lsnat.context().counters().packets(id) + " fast-path="
                    + fastPath.backendTraffic(id).packets());
        }
    }

    private static RawSocketChannel bind(EventLoopGroup loop, L3Dispatcher lsnat, Arm arm, String interfaceName)
            throws InterruptedException {
        return (RawSocketChannel) new Bootstrap().group(loop).channel(RawSocketChannel.class)
                .option(RawSocketChannelOption.ETHER_TYPE, EtherType.IPV4)
                .handler(lsnat.initializer(arm))
                .bind(new RawSocketAddress(interfaceName)).sync().channel();
    }
}

package io.loadshare.distribution;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.EthernetHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.Ipv4Header;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.RawSocketChannelOption;
import io.loadshare.transport.rawsocket.SocketFilter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Checks backends discovered on a cluster address one by one, which no kernel socket can: they all hold that
 * address, so a connect reaches whichever one the kernel's ARP entry names. Each probe is a TCP SYN to the cluster
 * address and service port, sent from a raw socket to one backend's MAC; a SYN-ACK acknowledging it passes (and is
 * answered by a reset, so the backend keeps no half-open connection), a reset or silence until the timeout fails.
 * This is the half-open check of a SYN scan: it shows that the backend's stack accepts connections on the port.
 *
 * <p>The probes come from the interface's own IPv4 address, which the backends answer to over the segment; each
 * pending probe has its own source port (49152 and up, RFC 6335's dynamic range) and a random initial sequence
 * number, so only the probed backend's answer can pass it. The dispatcher's kernel, which owns no such connection,
 * answers the SYN-ACK with a reset of its own to the cluster address; where it routes one, the backend has already
 * forgotten the probe.
 *
 * <p>Runs on one event loop (the health checker's): {@link #probe} must be called there. Ownership: received frames
 * are released here; a probe's frames are handed to the channel, which releases them once sent.
 */
final class SynProbe implements AutoCloseable {
    private static final int FIRST_PORT = 49152;
    private static final int PORTS = 65536 - FIRST_PORT;
    private static final byte[] NO_PAYLOAD = new byte[0];

    /** A probe waiting for its answer. */
    private record Pending(int clusterAddress, int port, long sequence, Promise<Boolean> verdict,
            ScheduledFuture<?> timeout) {
    }

    private final Channel channel;
    private final long ownMac;
    private final int sourceAddress;
    private final Map<Integer, Pending> pending = new HashMap<>();
    private final SecureRandom random = new SecureRandom();
    private int nextPort;

    /** Probes over a bound channel, from {@code ownMac} and {@code sourceAddress}; its handler joins the pipeline. */
    SynProbe(Channel channel, long ownMac, int sourceAddress) {
        this.channel = channel;
        this.ownMac = ownMac;
        this.sourceAddress = sourceAddress;
        this.nextPort = random.nextInt(PORTS);
        channel.pipeline().addLast(new ReplyHandler());
    }

    /**
     * Opens a probe socket on an interface that reads only frames from the cluster addresses to this host.
     *
     * @param vlan the VLAN the probes go out on and answers come in on, or 0
     * @throws IOException when the interface has no IPv4 address to probe from, naming it
     */
    static SynProbe open(EventLoop loop, NetworkNamespace namespace, String interfaceName, int vlan,
            List<Integer> clusterAddresses) throws IOException, InterruptedException {
        int source = interfaceAddress(namespace, interfaceName);
        RawSocketChannel channel = namespace == null ? new RawSocketChannel() : new RawSocketChannel(namespace);
        loop.register(channel).sync();
        channel.config().setOption(RawSocketChannelOption.VNET_HEADER, false);
        channel.config().setOption(RawSocketChannelOption.ETHER_TYPE, EtherType.IPV4);
        channel.config().setOption(RawSocketChannelOption.VLAN, vlan);
        channel.config().setOption(RawSocketChannelOption.SOCKET_FILTER,
                SocketFilter.builder().acceptArp(false).ipv4Sources(clusterAddresses).build());
        try {
            channel.bind(new RawSocketAddress(interfaceName)).sync();
        } catch (RuntimeException | InterruptedException e) {
            channel.close();
            throw e;
        }
        return new SynProbe(channel, channel.hardwareAddress(), source);
    }

    private static int interfaceAddress(NetworkNamespace namespace, String interfaceName) throws IOException {
        // Interfaces are looked up in the namespace of the calling thread.
        NetworkInterface nic = namespace == null ? NetworkInterface.getByName(interfaceName)
                : namespace.run(() -> NetworkInterface.getByName(interfaceName));
        if (nic != null) {
            for (InetAddress address : nic.inetAddresses().toList()) {
                if (address instanceof Inet4Address) {
                    return Ipv4Address.parse(address.getHostAddress());
                }
            }
        }
        throw new IOException("health checks of backends discovered by ARP are sent from an IPv4 address of "
                + interfaceName + ", which has " + (nic == null ? "no such interface" : "none") + "; give it the"
                + " dispatcher's address on the backends' segment");
    }

    /**
     * Sends one probe to the backend at {@code backendMac} for {@code clusterAddress:port}.
     *
     * @return true once its SYN-ACK arrives, false on a reset, a failed send or the timeout
     */
    Future<Boolean> probe(int clusterAddress, int port, long backendMac, long timeoutMillis) {
        Promise<Boolean> verdict = channel.eventLoop().newPromise();
        int sourcePort = freePort();
        if (sourcePort < 0 || !channel.isActive()) {
            return verdict.setSuccess(false);
        }
        long sequence = random.nextInt() & 0xFFFF_FFFFL;
        ScheduledFuture<?> timeout = channel.eventLoop().schedule(() -> finish(sourcePort, false), timeoutMillis,
                TimeUnit.MILLISECONDS);
        pending.put(sourcePort, new Pending(clusterAddress, port, sequence, verdict, timeout));
        ByteBuf syn = Frames.tcp(channel.alloc().directBuffer(64), backendMac, ownMac,
                sourceAddress, sourcePort, clusterAddress, port, sequence, 0, TcpHeader.SYN, NO_PAYLOAD);
        channel.writeAndFlush(syn).addListener(f -> {
            if (!f.isSuccess()) {
                finish(sourcePort, false);
            }
        });
        return verdict;
    }

    /** The next source port no probe is waiting on, or -1 when every one is (a probe per port at most). */
    private int freePort() {
        for (int i = 0; i < PORTS; i++) {
            int port = FIRST_PORT + (nextPort++ % PORTS);
            if (!pending.containsKey(port)) {
                return port;
            }
        }
        return -1;
    }

    private void finish(int sourcePort, boolean passed) {
        Pending done = pending.remove(sourcePort);
        if (done != null) {
            done.timeout().cancel(false);
            done.verdict().trySuccess(passed);
        }
    }

    /** Judges the answers to pending probes; anything else is ignored. Releases every frame. */
    private final class ReplyHandler extends ChannelInboundHandlerAdapter {
        private final EthernetHeader ethernet = new EthernetHeader();
        private final Ipv4Header ip = new Ipv4Header();
        private final TcpHeader tcp = new TcpHeader();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            try {
                judge(frame);
            } finally {
                frame.release();
                ethernet.clear();
                ip.clear();
                tcp.clear();
            }
        }

        private void judge(ByteBuf frame) {
            int start = frame.readerIndex();
            int end = frame.writerIndex();
            if (end - start < EthernetHeader.LENGTH + EthernetHeader.VLAN_TAG_LENGTH) {
                return;
            }
            ethernet.wrap(frame, start);
            int l3 = start + ethernet.headerLength();
            if (ethernet.etherType() != EtherType.IPV4 || l3 + Ipv4Header.MIN_LENGTH > end) {
                return;
            }
            ip.wrap(frame, l3);
            if (ip.version() != 4 || ip.protocol() != IpProtocol.TCP || ip.isFragment()
                    || ip.destination() != sourceAddress || l3 + ip.headerLength() + TcpHeader.MIN_LENGTH > end) {
                return;
            }
            tcp.wrap(frame, l3 + ip.headerLength());
            Pending probe = pending.get(tcp.destinationPort());
            if (probe == null || ip.source() != probe.clusterAddress() || tcp.sourcePort() != probe.port()
                    || tcp.acknowledgementNumber() != ((probe.sequence() + 1) & 0xFFFF_FFFFL)) {
                return;
            }
            int flags = tcp.flags();
            if ((flags & TcpHeader.RST) != 0) {
                finish(tcp.destinationPort(), false);
            } else if ((flags & (TcpHeader.SYN | TcpHeader.ACK)) == (TcpHeader.SYN | TcpHeader.ACK)) {
                channel.writeAndFlush(Frames.tcp(channel.alloc().directBuffer(64), ethernet.source(), ownMac,
                        sourceAddress, tcp.destinationPort(), probe.clusterAddress(),
                        probe.port(), tcp.acknowledgementNumber(), 0, TcpHeader.RST, NO_PAYLOAD));
                finish(tcp.destinationPort(), true);
            }
        }
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}

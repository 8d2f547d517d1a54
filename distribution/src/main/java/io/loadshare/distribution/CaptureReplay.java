package io.loadshare.distribution;

import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.mode.Arm;
import io.loadshare.core.mode.DispatchMode;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.transport.pcap.PcapChannelOption;
import io.loadshare.transport.pcap.PcapFileAddress;
import io.loadshare.transport.pcap.PcapFileChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a configuration's pipeline over a capture file instead of interfaces, without privileges
 * ({@code loadshare replay}): frames are read from one file, and what the dispatcher sends is written to another.
 */
final class CaptureReplay {
    private CaptureReplay() {
    }

    /**
     * Backends cannot be asked by ARP here, so their MACs are given; ARP discovery services cannot be replayed.
     *
     * @return the data-plane state after the whole file went through
     */
    static DispatchContext run(DispatcherConfig config, Path input, Path output, long dispatcherMac,
            Map<Integer, Long> backendMacs) throws InterruptedException {
        for (DispatcherConfig.ServiceConfig s : config.services()) {
            for (StaticBackend backend : s.backends()) {
                if (!backendMacs.containsKey(backend.address())) {
                    throw new IllegalArgumentException("replay needs the MAC of backend "
                            + Ipv4Address.format(backend.address()) + " (--backend-mac ADDRESS=MAC)");
                }
            }
            if (s.backends().isEmpty()) {
                throw new IllegalArgumentException("service " + s.name() + " discovers its backends by ARP, which a"
                        + " capture cannot answer; list its backends to replay it");
            }
        }
        DispatchMode mode = DispatchModes.build(config, 1, backendMacs);
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Channel channel = new Bootstrap().group(loop).channel(PcapFileChannel.class)
                    .option(PcapChannelOption.HARDWARE_ADDRESS, dispatcherMac)
                    .handler(mode.initializer(0, Arm.BOTH))
                    .bind(new PcapFileAddress(input, output).asSocketAddress()).sync()
                    .channel();
            channel.closeFuture().sync();
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        return mode.context();
    }
}

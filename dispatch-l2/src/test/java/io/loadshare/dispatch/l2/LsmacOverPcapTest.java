package io.loadshare.dispatch.l2;

import io.loadshare.core.mode.Arm;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.transport.pcap.PcapAddress;
import io.loadshare.transport.pcap.PcapChannel;
import com.typesafe.config.ConfigFactory;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The same LSMAC pipeline over the portable transport, libpcap: capture and inject on the dispatcher's interface.
 * libpcap passes no virtio-net header, so the client's veth runs with checksum and segmentation offloads off, as
 * docs/transport-pcap.md says it must.
 */
class LsmacOverPcapTest {
    @Test
    void lsmacServesRealConnectionsOverLibpcap() throws Exception {
        NetnsTestbed.requireTool("ethtool");
        try (LsmacTestbed bed = new LsmacTestbed(2, true)) {
            bed.testbed.exec(bed.client, "ethtool", "-K", "c0", "tx", "off", "tso", "off", "gso", "off");
            L2Dispatcher lsmac = L2Dispatcher.builder()
                    .service(new L2Service("web", Ipv4Address.parse(LsmacTestbed.VIP), IpProtocol.TCP, 80, "round-robin",
                            ConfigFactory.empty(), StaticBackend.of("192.0.2.11", "192.0.2.12")))
                    .settings(new L2Settings(Duration.ofMillis(200), 2, 0, L2Settings.defaults().discovery()))
                    .dispatcherMac(MacAddress.parse(bed.testbed.mac(bed.dispatcher, "d0")))
                    .build();
            Channel channel = new Bootstrap().group(bed.loop)
                    .channelFactory(() -> new PcapChannel(NetworkNamespace.named(bed.dispatcher)))
                    .handler(lsmac.initializer(Arm.BOTH)).bind(new PcapAddress("d0")).sync().channel();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (lsmac.services().get(0).pool().availableCount() < 2) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("backends never resolved: " + lsmac.services().get(0).pool());
                }
                Thread.sleep(50);
            }
            Map<String, Long> spread = bed.requests(40).stream()
                    .collect(Collectors.groupingBy(a -> a, TreeMap::new, Collectors.counting()));
            assertEquals(Map.of("b1", 20L, "b2", 20L), spread);
            channel.close().sync();
        }
    }
}

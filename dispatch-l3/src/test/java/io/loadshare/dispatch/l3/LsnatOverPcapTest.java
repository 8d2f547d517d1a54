package io.loadshare.dispatch.l3;

import static io.loadshare.dispatch.l3.LsnatTwoArmedTest.awaitPool;
import static io.loadshare.dispatch.l3.LsnatTwoArmedTest.spread;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.transport.pcap.PcapAddress;
import io.loadshare.transport.pcap.PcapChannel;
import io.loadshare.transport.pcap.PcapChannelOption;
import io.netty.bootstrap.Bootstrap;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The same two-armed LSNAT pipeline over the portable transport, libpcap, on both arms. libpcap passes no
 * virtio-net header, so the clients' and backends' veths run with checksum and segmentation offloads off, as
 * docs/transport-pcap.md says they must; the verifier checks every frame the dispatcher emits.
 */
class LsnatOverPcapTest {
    @Test
    void lsnatServesRealConnectionsOverLibpcap() throws Exception {
        NetnsTestbed.requireTool("ethtool");
        try (LsnatTestbed bed = new LsnatTestbed(2, false, true)) {
            bed.testbed.exec(bed.client, "ethtool", "-K", "c0", "tx", "off", "tso", "off", "gso", "off");
            for (String backend : bed.backends) {
                bed.testbed.exec(backend, "ethtool", "-K", "e0", "tx", "off", "tso", "off", "gso", "off");
            }
            bed.start(L3Dispatcher.builder()
                    .service(L3Service.of("web", LsnatTwoArmedTest.VIP, 80, "round-robin", "192.0.2.11", "192.0.2.12"))
                    .coreSettings(LsnatTestbed.fastLinger())
                    .settings(new L3Settings(Duration.ofMillis(300), 2, 2, 1000, 50))
                    .build(), interfaceName -> new Bootstrap().group(bed.loop)
                    .channelFactory(() -> new PcapChannel(NetworkNamespace.named(bed.dispatcher)))
                    .option(PcapChannelOption.HARDWARE_ADDRESS,
                            MacAddress.parse(bed.testbed.mac(bed.dispatcher, interfaceName)))
                    .localAddress(new PcapAddress(interfaceName)));
            awaitPool(bed.lsnat.services().get(0), pool -> pool.availableCount() == 2);
            List<String> answers = bed.requests("http://" + LsnatTwoArmedTest.VIP + "/", 40);
            assertEquals(Map.of("b1", 20L, "b2", 20L), spread(answers));
            // Usually under a second; once a CI run stalled it past 10 s (999,120 bytes by then), so: time to recover.
            long started = System.nanoTime();
            String download = bed.testbed.exec(bed.client, "sh", "-c", "curl -s --max-time 30 http://"
                    + LsnatTwoArmedTest.VIP + "/bytes?n=1000000 | wc -c").trim();
            assertEquals("1000000", download, "after " + (System.nanoTime() - started) / 1_000_000 + " ms; drops "
                    + bed.lsnat.context().counters().dropsByReason());
            assertEquals(0, bed.verifier.bad.get(), "frames with bad checksums");
        }
    }
}

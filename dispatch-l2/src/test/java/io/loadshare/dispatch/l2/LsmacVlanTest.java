package io.loadshare.dispatch.l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.TestHttpServer;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * LSMAC on an 802.1Q trunk: the dispatcher's channel serves VLAN 100 of {@code d0} (the raw socket's VLAN option),
 * so its ARP requests and forwarded frames leave tagged and it reads only VLAN 100's frames, whose tags the
 * receiving kernel has moved into packet metadata (rx-vlan-offload on). Offloads stay on: GSO frames cross the
 * trunk with their virtio-net offsets moved by the tag.
 */
class LsmacVlanTest {
    @Test
    void lsmacServesOneVlanOfATrunk() throws Exception {
        NetnsTestbed.requireTool("ethtool");
        NetnsTestbed.requireTool("tcpdump");
        try (LsmacTestbed bed = new LsmacTestbed(2, true, 100)) {
            bed.testbed.exec(bed.dispatcher, "ethtool", "-K", "d0", "rxvlan", "on");
            bed.startDispatcher(L2Dispatcher.builder()
                    .service(new L2Service("web", Ipv4Address.parse(LsmacTestbed.VIP), IpProtocol.TCP, 80, "round-robin",
                            ConfigFactory.empty(), StaticBackend.of("192.0.2.11", "192.0.2.12")))
                    .settings(new L2Settings(Duration.ofMillis(200), 2, Ipv4Address.parse(LsmacTestbed.DISPATCHER),
                            L2Settings.defaults().discovery()))
                    .build());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (bed.lsmac.services().get(0).pool().availableCount() < 2) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("backends never resolved over the trunk: "
                            + bed.lsmac.services().get(0).pool());
                }
                Thread.sleep(50);
            }
            // Everything on the trunk, both ways, while requests run: each frame must carry VLAN 100.
            Process capture = bed.testbed.start(bed.dispatcher, "tcpdump", "-l", "-nn", "-e", "-i", "d0", "-c", "40");
            BufferedReader output = new BufferedReader(new InputStreamReader(capture.getInputStream(),
                    StandardCharsets.UTF_8));
            for (String line = output.readLine(); line == null || !line.contains("listening on");
                    line = output.readLine()) {
                assertTrue(line != null, "tcpdump ended before it listened");
            }
            Map<String, Long> spread = bed.requests(40).stream()
                    .collect(Collectors.groupingBy(a -> a, TreeMap::new, Collectors.counting()));
            assertEquals(Map.of("b1", 20L, "b2", 20L), spread);
            assertTrue(capture.waitFor(10, TimeUnit.SECONDS), "tcpdump saw 40 frames on the trunk");
            List<String> frames = output.lines()
                    .filter(line -> line.matches("\\d\\d:\\d\\d:\\d\\d.*")).toList();
            assertEquals(40, frames.size(), String.join("\n", frames));
            frames.forEach(line -> assertTrue(line.contains("vlan 100"), "untagged on the trunk: " + line));

            int size = 1024 * 1024;
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (int i = 0; i < size; i++) {
                sha.update(TestHttpServer.pattern(i));
            }
            String got = bed.testbed.exec(bed.client, "sh", "-c", "head -c " + size + " /dev/zero | curl -s --max-time 10"
                    + " --data-binary @- -H 'Content-Type: application/octet-stream' http://" + LsmacTestbed.VIP
                    + "/upload");
            assertEquals("received " + size, got.trim(), "1 MB upload over the trunk (GSO frames, tagged)");
            assertEquals(0, ((RawSocketChannel) bed.channel).stats().receivedOtherVlan());
        }
    }
}

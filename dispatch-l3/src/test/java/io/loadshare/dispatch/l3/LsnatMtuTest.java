package io.loadshare.dispatch.l3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.metrics.DropReason;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.TestHttpServer;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two-armed LSNAT whose arms have different MTUs: the dispatcher itself must answer a DF datagram too large for the
 * egress arm with "fragmentation needed" (RFC 1191), or the transfer stalls in a black hole. In each case the
 * endpoint on the larger side advertises an MSS for 1500 (a route's {@code advmss}, standing in for a larger link
 * behind it) while its own path is limited to 1000, so only one direction needs the error. Offloads stay on, so
 * the too-large datagrams arrive as GSO super-frames and are judged per segment.
 *
 * <pre>
 * cli c0 203.0.113.2 ── dc 203.0.113.1 [disp] ds 192.0.2.1 ── e0 192.0.2.11 [b1]     VIP 203.0.113.10
 * </pre>
 */
class LsnatMtuTest {
    private static final String VIP = "203.0.113.10";
    private static final int SIZE = 1024 * 1024;

    @Test
    void anUploadThroughASmallerBackendArmGetsTheDispatchersOwnErrorAndCompletes() throws Exception {
        run("ds", "b1", "ip route add 203.0.113.0/24 via 192.0.2.1 dev e0 mtu 1000 advmss 1460", "cli", VIP);
    }

    @Test
    void aDownloadThroughASmallerClientArmGetsTheDispatchersOwnErrorAndCompletes() throws Exception {
        run("dc", "cli", "ip route add 203.0.113.10/32 dev c0 mtu 1000 advmss 1460", "b1", "203.0.113.2");
    }

    /**
     * @param smallArm the dispatcher's interface given an MTU of 1000
     * @param limited the endpoint whose own path is limited to 1000 by {@code route}; the other one learns from the
     *     dispatcher's error
     * @param learner the endpoint whose datagrams are too large ("cli" uploading, "b1" serving the download)
     * @param destination the address the learner must then cache a path MTU of 1000 for
     */
    private static void run(String smallArm, String limited, String route, String learner, String destination)
            throws Exception {
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        TestHttpServer server = null;
        try (NetnsTestbed testbed = NetnsTestbed.create()) {
            String client = testbed.namespace("cli");
            String dispatcher = testbed.namespace("disp");
            String backend = testbed.namespace("b1");
            testbed.veth(client, "c0", dispatcher, "dc");
            testbed.veth(dispatcher, "ds", backend, "e0");
            testbed.address(client, "c0", "203.0.113.2/24");
            testbed.address(dispatcher, "dc", "203.0.113.1/24");
            testbed.address(dispatcher, "ds", "192.0.2.1/24");
            testbed.address(backend, "e0", "192.0.2.11/24");
            testbed.exec(backend, "ip", "route", "add", "default", "via", "192.0.2.1");
            testbed.sysctl(dispatcher, "net.ipv4.ip_forward", "0");
            testbed.exec(dispatcher, "ip", "link", "set", smallArm, "mtu", "1000");
            String limitedNamespace = limited.equals("cli") ? client : backend;
            testbed.exec(limitedNamespace, route.split(" "));
            server = TestHttpServer.start(servers, backend, "0.0.0.0", 80, "b1");

            L3Dispatcher lsnat = L3Dispatcher.builder()
                    .service(L3Service.of("web", VIP, 80, "round-robin", "192.0.2.11"))
                    .settings(new L3Settings(Duration.ofMillis(200), 2, 1, 1000, 50))
                    .build();
            List<Channel> arms = LsnatTestbed.bindTwoArmed(loop, dispatcher, lsnat, "dc", "ds");

            String uploaded = testbed.exec(client, "sh", "-c", "head -c " + SIZE + " /dev/zero | tr '\\0' 'z' "
                    + "| curl -s --max-time 20 --data-binary @- -H 'Content-Type: application/octet-stream' "
                    + "http://" + VIP + "/upload");
            assertEquals("received " + SIZE, uploaded.trim(), "1 MB upload");
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (int i = 0; i < SIZE; i++) {
                sha.update(TestHttpServer.pattern(i));
            }
            String downloaded = testbed.exec(client, "sh", "-c",
                    "curl -s --max-time 20 http://" + VIP + "/bytes?n=" + SIZE + " | sha256sum").split(" ")[0];
            assertEquals(HexFormat.of().formatHex(sha.digest()), downloaded, "1 MB download, byte-exact");

            long errors = loop.next().submit(() -> lsnat.context().counters()
                    .drops(DropReason.FRAGMENTATION_NEEDED)).get(5, TimeUnit.SECONDS);
            assertTrue(errors > 0, "the dispatcher answered too-large datagrams itself");
            String pmtu = testbed.exec(learner.equals("cli") ? client : backend, "ip", "route", "get", destination);
            assertTrue(pmtu.contains("mtu 1000"), "the sender learned the path MTU from the error: " + pmtu);
            for (Channel arm : arms) {
                arm.close().sync();
            }
        } finally {
            if (server != null) {
                server.close();
            }
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}

package io.loadshare.dispatch.l3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.TestHttpServer;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Path MTU discovery through LSNAT: the backend sits behind a router whose link to it has an MTU of 1000, while the
 * backend itself advertises an MSS for 1500. A 1 MB upload from the client sends full-size segments with DF set; the
 * router answers "fragmentation needed" to the client, through the dispatcher, which must translate the error so
 * that the client recognises its own connection to the cluster address, lowers its path MTU, and completes.
 *
 * <pre>
 * cli 203.0.113.2 ── dc [disp] ds 192.0.2.1 ── r0 192.0.2.2 [rtr] r1 198.51.100.1 (mtu 1000) ── e0 198.51.100.11 [b1]
 * </pre>
 */
class LsnatPathMtuTest {
    @Test
    void fragmentationNeededReachesTheClientTranslatedAndTheUploadCompletes() throws Exception {
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        TestHttpServer server = null;
        try (NetnsTestbed testbed = NetnsTestbed.create()) {
            String client = testbed.namespace("cli");
            String dispatcher = testbed.namespace("disp");
            String router = testbed.namespace("rtr");
            String backend = testbed.namespace("b1");
            testbed.veth(client, "c0", dispatcher, "dc");
            testbed.veth(dispatcher, "ds", router, "r0");
            testbed.veth(router, "r1", backend, "e0");
            testbed.address(client, "c0", "203.0.113.2/24");
            testbed.address(dispatcher, "dc", "203.0.113.1/24");
            testbed.address(dispatcher, "ds", "192.0.2.1/24");
            testbed.address(router, "r0", "192.0.2.2/24");
            testbed.address(router, "r1", "198.51.100.1/24");
            testbed.address(backend, "e0", "198.51.100.11/24");
            testbed.exec(router, "ip", "link", "set", "r1", "mtu", "1000");
            testbed.sysctl(router, "net.ipv4.ip_forward", "1");
            testbed.exec(router, "ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.1");
            testbed.exec(backend, "ip", "route", "add", "default", "via", "198.51.100.1");
            testbed.sysctl(dispatcher, "net.ipv4.ip_forward", "0");
            server = TestHttpServer.start(servers, backend, "0.0.0.0", 80, "b1");

            L3Dispatcher lsnat = L3Dispatcher.builder()
                    .service(L3Service.of("web", "203.0.113.10", 80, "round-robin", "198.51.100.11")
                            .withGateway("192.0.2.2"))
                    .settings(new L3Settings(Duration.ofMillis(200), 2, 1, 1000, 50))
                    .build();
            L3Dispatcher.checkForwarding(NetworkNamespace.named(dispatcher));
            List<Channel> arms = LsnatTestbed.bindTwoArmed(loop, dispatcher, lsnat, "dc", "ds");

            int size = 1024 * 1024;
            String answer = testbed.exec(client, "sh", "-c", "head -c " + size + " /dev/zero | tr '\\0' 'z' "
                    + "| curl -s --max-time 20 --data-binary @- -H 'Content-Type: application/octet-stream' "
                    + "http://203.0.113.10/upload");
            assertEquals("received " + size, answer.trim());
            String pmtu = testbed.exec(client, "ip", "route", "get", "203.0.113.10");
            assertTrue(pmtu.contains("mtu 1000"), "the client learned the path MTU: " + pmtu);
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

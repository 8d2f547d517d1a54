package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loadshare connections} against real connections: a packaged dispatcher (LSMAC, round robin over two
 * backends) in namespaces, four TCP connections from the client held open, and the listing must name each one by
 * its client port with the backend that then answers on it.
 */
class ConnectionsRunTest {
    private static final int CONNECTIONS = 4;

    @TempDir
    Path dir;

    @Test
    void theListingNamesEachOpenConnectionAndItsBackend() throws Exception {
        NetnsTestbed.requireRoot();
        try (LsmacCluster cluster = new LsmacCluster(2)) {
            Path file = dir.resolve("connections.conf");
            Files.writeString(file, """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [ { name = web, address = "%s", port = 80, scheduler = round-robin,
                        backends = [ "192.0.2.11", "192.0.2.12" ] } ]
                    }
                    io.loadshare.dispatch.l2.arp.interval = 200ms
                    """.formatted(cluster.dispatcher, LsmacCluster.VIP));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 2);
                List<Socket> sockets = NetworkNamespace.named(cluster.client).run(() -> {
                    List<Socket> opened = new ArrayList<>();
                    for (int i = 0; i < CONNECTIONS; i++) {
                        opened.add(new Socket());
                        opened.getLast().connect(new InetSocketAddress(LsmacCluster.VIP, 80), 5000);
                    }
                    return opened;
                });
                try {
                    Thread.sleep(200);
                    String admin = "http://127.0.0.1:" + running.adminAddress().getPort();
                    CliRun run = CliRun.of("connections", "--admin", admin, "--client", "192.0.2.100/32",
                            "--state", "established");
                    assertEquals(0, run.exit(), run.err());
                    String listing = run.out();
                    Map<Integer, String> backendByPort = new HashMap<>();
                    run.rows().forEach(line -> {
                        String[] columns = line.split(" +");
                        backendByPort.put(Integer.parseInt(columns[3].substring(columns[3].indexOf(':') + 1)),
                                columns[6]);
                    });
                    assertEquals(CONNECTIONS, backendByPort.size(), listing);
                    for (Socket socket : sockets) {
                        socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: vip\r\nConnection: close\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
                        String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                        String listed = backendByPort.get(socket.getLocalPort());
                        assertTrue(listed != null, "port " + socket.getLocalPort() + " is listed: " + listing);
                        String answered = answer.substring(answer.lastIndexOf('b')).strip();
                        assertEquals("192.0.2.1" + answered.substring(1) + ":80", listed,
                                "the listed backend answered on port " + socket.getLocalPort() + ": " + answer);
                    }
                    System.out.print(listing);
                } finally {
                    for (Socket socket : sockets) {
                        socket.close();
                    }
                }
            }
        }
    }
}

package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.TestHttpServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code loadshare run} with a real config file, in namespaces: an LSMAC dispatcher over two static backends (VIP
 * on lo), and an LSNAT one over the same two, each serving curl through its VIP.
 */
class DispatcherRunTest {
    @TempDir
    Path dir;

    @Test
    void configuredDispatchersServeRealConnections() throws Exception {
        EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        List<TestHttpServer> httpServers = new ArrayList<>();
        try (NetnsTestbed testbed = NetnsTestbed.create()) {
            String lan = testbed.namespace("lan");
            testbed.bridge(lan, "br0");
            String client = testbed.namespace("cli");
            String dispatcher = testbed.namespace("disp");
            attach(testbed, lan, client, "c0", "pc");
            attach(testbed, lan, dispatcher, "d0", "pd");
            testbed.address(client, "c0", "192.0.2.100/24");
            testbed.address(client, "c0", "203.0.113.100/24");
            testbed.address(dispatcher, "d0", "192.0.2.1/24");
            testbed.address(dispatcher, "d0", "203.0.113.1/24");
            testbed.exec(client, "ip", "route", "add", "198.51.100.10/32", "via", "192.0.2.1", "src", "192.0.2.100");
            // A small receive window keeps a download's ACKs flowing through the dispatcher to its last byte.
            testbed.sysctl(client, "net.ipv4.tcp_rmem", "4096 16384 65536");
            testbed.exec(client, "ip", "route", "add", "198.51.100.20/32", "via", "203.0.113.1", "src", "203.0.113.100");
            List<String> backendNamespaces = new ArrayList<>();
            for (int n = 1; n <= 2; n++) {
                String backend = testbed.namespace("b" + n);
                backendNamespaces.add(backend);
                attach(testbed, lan, backend, "e0", "pb" + n);
                testbed.address(backend, "e0", "192.0.2.1" + n + "/24");
                testbed.address(backend, "lo", "198.51.100.10/32");
                testbed.sysctl(backend, "net.ipv4.conf.all.arp_ignore", "1");
                testbed.sysctl(backend, "net.ipv4.conf.all.arp_announce", "2");
                testbed.exec(backend, "ip", "route", "add", "203.0.113.0/24", "via", "192.0.2.1");
                httpServers.add(TestHttpServer.start(servers, backend, "0.0.0.0", 80, "b" + n));
            }

            for (String mode : new String[] {"l2", "l3"}) {
                String vip = mode.equals("l2") ? "198.51.100.10" : "198.51.100.20";
                // l2 ends a failed backend's sessions, l3 keeps them: each is run once.
                String failedSessions = mode.equals("l2") ? "end" : "keep";
                Path file = Files.writeString(dir.resolve(mode + ".conf"), """
                        loadshare {
                          mode = %s
                          interfaces.client = d0
                          network-namespace = "%s"
                          services = [
                            { name = web, address = "%s", port = 80, scheduler = rr,
                              backends = ["192.0.2.11", "192.0.2.12"],
                              health-check { type = http, interval = 200ms, timeout = 150ms, rise = 2, fall = 2,
                                failed-backend-sessions = %s } }
                          ]
                        }
                        loadshare.admin.port = 0
                        io.loadshare.dispatch.l2.arp.interval = 200ms
                        io.loadshare.dispatch.l3.arp.interval = 200ms
                        """.formatted(mode, dispatcher, vip, failedSessions));
                try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                    Thread.sleep(800);
                    List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "5"));
                    for (int i = 0; i < 20; i++) {
                        command.add("http://" + vip + "/");
                    }
                    Map<String, Long> spread = List.of(testbed.exec(client, command.toArray(String[]::new)).split("\n"))
                            .stream().collect(Collectors.groupingBy(a -> a, TreeMap::new, Collectors.counting()));
                    assertEquals(Map.of("b1", 10L, "b2", 10L), spread, mode);
                    assertTrue(running.context().counters().sessionsOpened(1) > 0, mode);
                    String admin = "http://127.0.0.1:" + running.adminAddress().getPort();
                    String metrics = get(admin + "/metrics");
                    assertTrue(metrics.contains("# TYPE loadshare_backend_packets_total counter"), metrics);
                    assertTrue(metrics.contains(
                            "loadshare_backend_sessions_opened_total{backend=\"192.0.2.11\",service=\"web\"} 10.0\n"),
                            metrics);
                    assertTrue(metrics.contains("loadshare_drops_total{reason=\"no-service\"}"), metrics);
                    assertTrue(metrics.contains("loadshare_control_events_total{event=\"arp-round-failed\"} 0.0"),
                            metrics);
                    assertTrue(metrics.contains("loadshare_sessions{state=\"established\"}"), metrics);
                    assertTrue(metrics.contains("loadshare_session_table_pressure 0.0"), metrics);
                    String data = "{interface=\"d0\",socket=\"data\",worker=\"0\"}";
                    assertTrue(metrics.contains("loadshare_socket_received_frames_total" + data)
                            && metrics.contains("loadshare_socket_kernel_drops_total{interface=\"d0\",socket=\"arp\","
                                    + "worker=\"0\"}"), metrics);
                    assertTrue(metrics.contains("\nloadshare_socket_frames_per_wake_up_count" + data + " ")
                            && !metrics.contains("\nloadshare_socket_frames_per_wake_up_count" + data + " 0\n"), metrics);
                    assertTrue(metrics.contains("loadshare_socket_frames_per_send_call_bucket{interface=\"d0\","
                            + "socket=\"data\",worker=\"0\",le=\"1.0\"}"), metrics);
                    for (String name : dashboardMetrics()) {
                        assertTrue(metrics.contains("\n" + name + "{") || metrics.contains("\n" + name + " "),
                                "the Grafana dashboard queries " + name + ", which /metrics lacks");
                    }
                    for (String line : metrics.split("\n")) {
                        assertTrue(line.startsWith("#") || line.matches("[a-z_]+(\\{[^}]*})? [0-9.eE+-]+"),
                                "not Prometheus text: " + line);
                    }
                    String table = StatusTable.render(get(admin + "/status"));
                    assertTrue(table.contains("TCP   " + vip + ":80"), table);
                    assertTrue(table.matches("(?s).*\nSocket d0 data: read [1-9]\\d* frames in [1-9]\\d* wake-ups .*"),
                            table);
                    assertTrue(table.matches("(?s).*-> 192\\.0\\.2\\.11 +[0-9a-f:]{17} +active +1 +\\d+ +10 +\\d+ +\\d+\n.*"), table);

                    // Drain b1 at run time: new connections all go to b2; hand it back and they spread again.
                    assertEquals(0, Loadshare.execute("backend", "--admin", admin, "--service", "web", "--address",
                            "192.0.2.11", "--state", "draining"));
                    String drained = StatusTable.render(get(admin + "/status"));
                    assertTrue(drained.matches("(?s).*-> 192\\.0\\.2\\.11 +[0-9a-f:]{17} +draining .*"), drained);
                    assertEquals(Map.of("b2", 10L), spreadOf(testbed, client, vip, 10), mode + " drained");
                    assertEquals(0, Loadshare.execute("backend", "--admin", admin, "--service", "web", "--address",
                            "192.0.2.11", "--state", "source"));
                    assertEquals(Map.of("b1", 5L, "b2", 5L), spreadOf(testbed, client, vip, 10), mode + " restored");

                    // Stop b1's server: the health check takes it out, and every new connection succeeds on b2. Its
                    // established connections outlive the listener, so with keep two slow downloads in flight
                    // (one per backend, round robin) still finish; with end b1's is cut. 400 KB at 100 KB/s take 4 s,
                    // far longer than the 0.4 s the check needs to fail b1, even on a slow CI machine.
                    // Packets, not the session count: b1's server must have accepted before its listener closes.
                    String b1Packets = "loadshare_backend_packets_total{backend=\"192.0.2.11\",service=\"web\"}";
                    double b1PacketsBefore = metric(admin, b1Packets);
                    List<Process> downloads = new ArrayList<>();
                    for (int i = 0; i < 2; i++) {
                        downloads.add(testbed.start(client, "curl", "-s", "-o", "/dev/null", "--max-time", "10",
                                "--limit-rate", "100k", "-w", "%{size_download} %{exitcode}",
                                "http://" + vip + "/bytes?n=400000"));
                    }
                    awaitMetric(admin, b1Packets, b1PacketsBefore + 10);
                    httpServers.get(0).close();
                    awaitState(admin, "192.0.2.11", failedSessions.equals("keep") ? "draining" : "down");
                    assertEquals(Map.of("b2", 10L), spreadOf(testbed, client, vip, 10), mode + " b1 failing");
                    List<String> downloaded = new ArrayList<>();
                    for (Process download : downloads) {
                        download.waitFor(15, TimeUnit.SECONDS);
                        downloaded.add(new String(download.getInputStream().readAllBytes()).trim());
                    }
                    assertEquals(failedSessions.equals("keep") ? List.of("400000 0", "400000 0") : List.of("400000 0"),
                            downloaded.stream().filter("400000 0"::equals).toList(), mode + " downloads " + downloaded);
                    if (failedSessions.equals("end")) {
                        // The cut download was reset by the dispatcher (curl: 56, receive failure), not timed out (28).
                        assertTrue(downloaded.stream().anyMatch(d -> d.endsWith(" 56")), mode + " downloads "
                                + downloaded);
                    }
                    httpServers.set(0, TestHttpServer.start(servers, backendNamespaces.get(0), "0.0.0.0", 80, "b1"));
                    awaitState(admin, "192.0.2.11", "active");
                    assertEquals(Map.of("b1", 5L, "b2", 5L), spreadOf(testbed, client, vip, 10), mode + " b1 back");
                }
            }
        } finally {
            for (TestHttpServer server : httpServers) {
                server.close();
            }
            servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static void awaitState(String admin, String backend, String state) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        String table = "";
        while (System.nanoTime() < deadline) {
            table = StatusTable.render(get(admin + "/status"));
            if (table.matches("(?s).*-> " + backend.replace(".", "\\.") + " +[0-9a-f:]{17} +" + state + " .*")) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(backend + " never became " + state + ":\n" + table);
    }

    /** The value of one series, or 0 when it is not there yet. */
    private static double metric(String admin, String series) throws Exception {
        for (String line : get(admin + "/metrics").split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1));
            }
        }
        return 0;
    }

    private static void awaitMetric(String admin, String series, double value) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (metric(admin, series) < value) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(series + " never reached " + value + ": " + metric(admin, series));
            }
            Thread.sleep(50);
        }
    }

    private static Map<String, Long> spreadOf(NetnsTestbed testbed, String client, String vip, int n) {
        List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "5"));
        for (int i = 0; i < n; i++) {
            command.add("http://" + vip + "/");
        }
        return List.of(testbed.exec(client, command.toArray(String[]::new)).split("\n")).stream()
                .collect(Collectors.groupingBy(a -> a, TreeMap::new, Collectors.counting()));
    }

    /** Every metric the shipped Grafana dashboard's queries use. */
    private static Set<String> dashboardMetrics() throws IOException {
        Set<String> names = new TreeSet<>();
        JsonNode dashboard = new ObjectMapper().readTree(Path.of("src/main/dist/grafana/loadshare.json").toFile());
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                Matcher matcher = Pattern.compile("loadshare_[a-z_]+").matcher(target.path("expr").asText());
                while (matcher.find()) {
                    names.add(matcher.group());
                }
            }
        }
        assertTrue(names.size() >= 10, "the dashboard's queries: " + names);
        return names;
    }

    private static String get(String url) throws Exception {
        try (java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient()) {
            return client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        }
    }

    private static void attach(NetnsTestbed testbed, String lan, String namespace, String inside, String port) {
        testbed.veth(namespace, inside, lan, port);
        testbed.exec(lan, "ip", "link", "set", port, "master", "br0");
    }
}

package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.testbed.Testbed;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.ClusterTestbed;
import io.loadshare.testbed.LoadGenerator;
import io.loadshare.testbed.Workload;
import io.loadshare.testbed.WorkloadServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reload under load, in namespaces, for LSMAC and LSNAT: while the project's load generator keeps 8 connections
 * at a time open through the VIP, {@code loadshare reload} swaps backends [b1, b2] for [b2, b3] and round robin for
 * wlc. No connection fails; b3 joins; b1 drains and leaves; a file with a syntax error and one that changes the
 * interface are refused, naming the problem, and the running configuration stays.
 */
class ReloadTest {
    @TempDir
    Path dir;

    @Test
    void reloadUnderLoadLosesNoConnection() throws Exception {
        NetnsTestbed.requireRoot();
        Workload.writeFiles(dir.resolve("www"));
        EventLoopGroup servers = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        List<WorkloadServer> running = new ArrayList<>();
        try (ClusterTestbed cluster = ClusterTestbed.create()) {
            for (int n = 1; n <= 3; n++) {
                running.add(WorkloadServer.start(servers, ClusterTestbed.namespace(cluster.backendNamespace(n)),
                        new InetSocketAddress("0.0.0.0", 80), dir.resolve("www")));
            }
            for (String mode : new String[] {"l2", "l3"}) {
                String vip = mode.equals("l2") ? ClusterTestbed.L2_VIP : ClusterTestbed.L3_VIP;
                Path file = dir.resolve(mode + ".conf");
                String template = """
                        loadshare {
                          mode = %s
                          interfaces.client = %s
                          network-namespace = "%s"
                          admin.port = 0
                          services = [ { name = web, address = "%s", port = 80, scheduler = %s, backends = [%s] } ]
                        }
                        io.loadshare.dispatch.l2.arp.interval = 200ms
                        io.loadshare.dispatch.l3.arp.interval = 200ms
                        # LSMAC's closed sessions end by this timeout; b1 leaves once its last one has, and a
                        # half-open one (a SYN lost under load) holds it only as long as the SYN timeout.
                        io.loadshare.core.session { tcp-half-closed-timeout = 1s, tcp-syn-timeout = 1s }
                        """;
                Files.writeString(file, template.formatted(mode, "d0", cluster.dispatcherNamespace(), vip, "rr",
                        "\"192.0.2.11\", \"192.0.2.12\""));
                try (Dispatcher dispatcher = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                    String admin = "http://127.0.0.1:" + dispatcher.adminAddress().getPort();
                    awaitPool(dispatcher, pool -> pool.availableCount() == 2, "b1 and b2 up");
                    LoadGenerator load = new LoadGenerator(new LoadGenerator.Settings(new InetSocketAddress(vip, 80),
                            Workload.TWO_KB.requests(), 8, Duration.ofSeconds(5), Duration.ofSeconds(5)));
                    CompletableFuture<LoadGenerator.Result> result = CompletableFuture.supplyAsync(() -> {
                        try {
                            return load.run(ClusterTestbed.namespace(cluster.clientNamespace()), 1);
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    });
                    Thread.sleep(1000);
                    // Read while b1 is in the pool: once it has left, its id and counters go to the next backend.
                    long b1 = dispatcher.context().counters().sessionsOpened(id(dispatcher, "192.0.2.11"));

                    Files.writeString(file, template.formatted(mode, "d0", cluster.dispatcherNamespace(), vip, "wlc",
                            "\"192.0.2.12\", \"192.0.2.13\""));
                    String answer = reload(admin, 0);
                    assertTrue(answer.contains("web: scheduler rr -> wlc"), answer);
                    assertTrue(answer.contains("web: backends [192.0.2.11, 192.0.2.12] -> [192.0.2.12, 192.0.2.13]"),
                            answer);
                    awaitPool(dispatcher, pool -> state(pool, "192.0.2.13") == BackendState.ACTIVE, "b3 joins");
                    awaitPool(dispatcher, pool -> state(pool, "192.0.2.11") == null, "b1 drains and leaves");

                    Files.writeString(file, "loadshare { mode = l2\n services = [ { name = web");
                    assertTrue(reload(admin, 1).contains(file.toString()), "a syntax error names the file");
                    Files.writeString(file, template.formatted(mode, "d1", cluster.dispatcherNamespace(), vip, "wlc",
                            "\"192.0.2.12\", \"192.0.2.13\""));
                    String refused = reload(admin, 1);
                    assertTrue(refused.contains("loadshare.interfaces.client changed (\"d0\" -> \"d1\")"), refused);
                    assertTrue(refused.contains("need a restart"), refused);

                    LoadGenerator.Result r = result.get(30, TimeUnit.SECONDS);
                    assertEquals(0, r.failureCount(), mode + ": failed connections " + r.failures());
                    assertTrue(r.connections() > 500, mode + ": only " + r.connections() + " connections");
                    long b3 = dispatcher.context().counters().sessionsOpened(id(dispatcher, "192.0.2.13"));
                    assertTrue(b1 > 0 && b3 > 0, mode + ": b1 took " + b1 + " sessions, b3 " + b3);
                    assertEquals(2, dispatcher.services().getFirst().pool().availableCount(), mode + " still runs");
                }
            }
        } finally {
            for (WorkloadServer server : running) {
                server.close();
            }
            servers.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /**
     * SIGHUP to a real {@code loadshare run} process: the file's new backend list is applied, visible in
     * {@code loadshare status}; a bad file then changes nothing and the process keeps running; SIGTERM stops it,
     * logging the final counters.
     */
    @Test
    void sighupReloadsARunningProcess() throws Exception {
        NetnsTestbed.requireRoot();
        try (ClusterTestbed cluster = ClusterTestbed.create()) {
            Path file = dir.resolve("hup.conf");
            String template = """
                    loadshare {
                      mode = l2
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 19907
                      services = [ { name = web, address = "%s", port = 80, backends = [%s] } ]
                    }
                    """;
            Files.writeString(file, template.formatted(cluster.dispatcherNamespace(), ClusterTestbed.L2_VIP,
                    "\"192.0.2.11\""));
            // SIGHUP back to its default: a JVM that starts with it ignored (under nohup) keeps it ignored.
            Process run = new ProcessBuilder("env", "--default-signal=HUP",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-Dlogback.configurationFile=src/main/resources/logback.xml",
                    "-cp", System.getProperty("java.class.path"),
                    Loadshare.class.getName(), "run", "--config", file.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("run.log").toFile()).start();
            try {
                String admin = "http://127.0.0.1:19907";
                awaitStatus(admin, status -> status.contains("192.0.2.11"), run);
                Files.writeString(file, template.formatted(cluster.dispatcherNamespace(), ClusterTestbed.L2_VIP,
                        "\"192.0.2.11\", \"192.0.2.12\""));
                Testbed.run("kill", "-HUP", Long.toString(run.pid()));
                awaitStatus(admin, status -> status.contains("192.0.2.12"), run);

                Files.writeString(file, "loadshare { mode = ");
                Testbed.run("kill", "-HUP", Long.toString(run.pid()));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (!Files.readString(dir.resolve("run.log")).contains("SIGHUP")) {
                    assertTrue(System.nanoTime() < deadline, "no SIGHUP outcome logged:\n"
                            + Files.readString(dir.resolve("run.log")));
                    Thread.sleep(50);
                }
                assertTrue(run.isAlive(), "a bad reload must not stop the dispatcher");
                assertTrue(Files.readString(dir.resolve("run.log")).contains(file.toString()), "the log names the file");
                awaitStatus(admin, status -> status.contains("192.0.2.12"), run);

                // SIGTERM: the channels close and the final counters are logged.
                run.destroy();
                assertTrue(run.waitFor(10, TimeUnit.SECONDS), "SIGTERM did not stop the dispatcher");
                String log = Files.readString(dir.resolve("run.log"));
                assertTrue(log.contains("reloaded " + file + ": web: backends [192.0.2.11] -> [192.0.2.11, 192.0.2.12]"),
                        log);
                assertTrue(log.contains("stopped web: backend 192.0.2.12: 0 sessions"), log);
                assertTrue(log.contains("stopped: "), log);
            } finally {
                run.destroy();
                run.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private void awaitStatus(String admin, Predicate<String> condition, Process run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String last = "";
        while (System.nanoTime() < deadline && run.isAlive()) {
            try (HttpClient client = HttpClient.newHttpClient()) {
                last = client.send(HttpRequest.newBuilder(URI.create(admin + "/status")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                if (condition.test(last)) {
                    return;
                }
            } catch (IOException notYet) {
                last = notYet.toString();
            }
            Thread.sleep(100);
        }
        Path log = dir.resolve("run.log");
        throw new AssertionError("status never showed what was expected (process alive: " + run.isAlive() + "): "
                + last + (Files.exists(log) ? "\nthe dispatcher's log:\n" + Files.readString(log) : ""));
    }

    /** Runs {@code loadshare reload}, expects its exit status, and returns what it printed. */
    private static String reload(String admin, int expectedStatus) {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream out = System.out;
        PrintStream err = System.err;
        PrintStream both = new PrintStream(captured, true, StandardCharsets.UTF_8);
        System.setOut(both);
        System.setErr(both);
        int status;
        try {
            status = Loadshare.execute("reload", "--admin", admin);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        String text = captured.toString(StandardCharsets.UTF_8);
        assertEquals(expectedStatus, status, text);
        return text;
    }

    private static int id(Dispatcher dispatcher, String address) {
        int ip = Ipv4Address.parse(address);
        return dispatcher.services().getFirst().pool().all().stream().filter(b -> b.address() == ip)
                .mapToInt(Backend::id).findFirst().orElseThrow();
    }

    private static BackendState state(BackendPool pool, String address) {
        int ip = Ipv4Address.parse(address);
        return pool.all().stream().filter(b -> b.address() == ip).map(Backend::state).findFirst().orElse(null);
    }

    private static void awaitPool(Dispatcher dispatcher, Predicate<BackendPool> condition, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.test(dispatcher.services().getFirst().pool())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " never happened: " + dispatcher.services().getFirst().pool().all());
            }
            Thread.sleep(20);
        }
    }
}

package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.core.session.SessionTable;
import io.netty.channel.DefaultEventLoop;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code loadshare connections} against a real admin listener over two workers' tables: every session once, with
 * its fields; each filter; a bad filter refused with its parameter named; and a million sessions streamed a slice
 * at a time, with the longest task the worker loops ran meanwhile printed (a measurement, not asserted).
 */
class ConnectionsTest {
    private static final int VIP = Ipv4Address.parse("198.51.100.10");
    private static final int CLIENT = Ipv4Address.parse("203.0.113.0");

    private final TimingLoop[] loops = {new TimingLoop(), new TimingLoop()};
    private final Service web = new Service(0, "web", VIP, IpProtocol.TCP, 80, () -> (pool, flow) -> null,
            BackendPool.of(List.of(backend(1, "192.0.2.11"), backend(2, "192.0.2.12"))));
    private final Service dns = new Service(1, "dns", VIP, IpProtocol.UDP, 53, () -> (pool, flow) -> null,
            BackendPool.of(List.of(backend(1, "192.0.2.11"), backend(2, "192.0.2.12"))));
    private final List<DispatchContext> workers = List.of(context(0, 2_000_000), context(1, 2_000_000));

    private static Backend backend(int id, String address) {
        return new Backend(id, Ipv4Address.parse(address), 0, 0x0200_0000_0000L + id, 1, BackendState.ACTIVE);
    }

    private DispatchContext context(int worker, int maxSessions) {
        DispatchContext context = new DispatchContext(CoreSettings.from(com.typesafe.config.ConfigFactory
                .parseString("io.loadshare.core.session.max-sessions = " + maxSessions)),
                new ServiceTable(List.of(web, dns)));
        context.start(loops[worker]);
        return context;
    }

    @AfterEach
    void stop() throws InterruptedException {
        for (TimingLoop loop : loops) {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** Opens {@code count} sessions on a worker from client ports 1000 up, alternating backends; TCP ones established. */
    private void open(int worker, Service service, int client, int count, boolean established, boolean offloaded)
            throws Exception {
        DispatchContext context = workers.get(worker);
        context.submit(() -> {
            SessionTable table = context.sessions();
            for (int i = 0; i < count; i++) {
                int slot = table.insert(service.protocol(), client + i / 60_000, 1000 + i % 60_000, VIP,
                        service.port(), service.index(), 1 + i % 2, context.now());
                if (established) {
                    table.continueEstablished(slot, TcpHeader.ACK, context.now());
                }
                if (offloaded) {
                    table.markOffloaded(slot);
                }
            }
        }).sync();
    }

    private CliRun list(AdminServer admin, String... filters) {
        String[] args = new String[filters.length + 3];
        args[0] = "connections";
        args[1] = "--admin";
        args[2] = "http://127.0.0.1:" + admin.address().getPort();
        System.arraycopy(filters, 0, args, 3, filters.length);
        return CliRun.of(args);
    }

    private AdminServer admin() throws InterruptedException {
        return new AdminServer(new DispatcherView(List.of(web, dns), List::of, workers, List.of(), null,
                java.util.Map::of, null), List::of, () -> "", new DispatcherConfig.Admin(true, "127.0.0.1", 0,
                Duration.ofSeconds(5)));
    }

    @Test
    void listsEverySessionOnceAndFilters() throws Exception {
        open(0, web, CLIENT + 1, 4, true, false);
        open(1, web, Ipv4Address.parse("192.0.2.200"), 2, false, true);
        open(1, dns, CLIENT + 9, 1, false, false);
        try (AdminServer admin = admin()) {
            CliRun all = list(admin);
            assertEquals(0, all.exit(), all.err());
            assertTrue(all.out().startsWith(ConnectionListing.HEADER), all.out());
            assertEquals(7, all.rows().size(), all.out());
            String[] first = all.rows().stream().filter(line -> line.contains(" 203.0.113.1:1000 ")).findFirst()
                    .orElseThrow().split(" +");
            assertEquals(List.of("tcp", "established", "203.0.113.1:1000", "web", "198.51.100.10:80", "192.0.2.11:80",
                    "0", "no"), List.of(first[0], first[1], first[3], first[4], first[5], first[6], first[7], first[8]));
            double expires = Double.parseDouble(first[2].replace("s", ""));
            assertTrue(expires > 800 && expires <= 900, "the established timeout's rest: " + first[2]);
            assertTrue(all.out().contains("203.0.113.9:1000      dns"), all.out());

            assertEquals(1, list(admin, "--service", "dns").rows().size());
            assertEquals(3, list(admin, "--backend", "192.0.2.12").rows().size(), "ports 1001 and 1003, and 1001");
            assertEquals(5, list(admin, "--client", "203.0.113.0/24").rows().size());
            assertEquals(2, list(admin, "--client", "192.0.2.200").rows().size());
            List<String> syn = list(admin, "--state", "syn-seen").rows();
            assertEquals(2, syn.size());
            assertTrue(syn.stream().allMatch(line -> line.endsWith(" 1 yes")), "worker 1, in the kernel: " + syn);
            assertEquals(2, list(admin, "--service", "web", "--backend", "192.0.2.11", "--state", "established",
                    "--client", "203.0.113.1/32").rows().size(), "the filters combine: ports 1000 and 1002");

            CliRun bad = list(admin, "--state", "open");
            assertEquals(1, bad.exit());
            assertTrue(bad.err().contains("state: expected one of [syn-seen,"), bad.err());
            assertTrue(list(admin, "--service", "mail").err().contains("no service named mail; there are [web, dns]"));
            assertTrue(list(admin, "--client", "203.0.113.0/33").err().contains("client: expected"));
        }
    }

    @Test
    void aMillionSessionsStreamInShortTasks() throws Exception {
        open(0, web, CLIENT, 500_000, true, false);
        open(1, web, CLIENT + 16, 500_000, true, false);
        try (AdminServer admin = admin()) {
            assertEquals(1_000_000, list(admin).rows().size(), "a first listing, which also compiles the code");
            for (TimingLoop loop : loops) {
                loop.reset();
            }
            long started = System.nanoTime();
            CliRun all = list(admin);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertEquals(0, all.exit(), all.err());
            assertEquals(1_000_000, all.rows().size());
            System.out.printf("connections: 1,000,000 sessions over 2 workers listed in %d ms; the longest task on"
                    + " each worker's loop meanwhile: %.3f and %.3f ms of CPU, %.3f and %.3f ms by the clock%n",
                    millis, loops[0].longestCpuNanos.get() / 1e6, loops[1].longestCpuNanos.get() / 1e6,
                    loops[0].longestNanos.get() / 1e6, loops[1].longestNanos.get() / 1e6);
        }
    }

    /**
     * An event loop that keeps the longest task it ran, by the clock and by the CPU time its thread spent on it
     * (which leaves out the other threads the machine's two cores ran meanwhile, and collector pauses).
     */
    private static final class TimingLoop extends DefaultEventLoop {
        private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
        final AtomicLong longestNanos = new AtomicLong();
        final AtomicLong longestCpuNanos = new AtomicLong();

        @Override
        public void execute(Runnable task) {
            super.execute(() -> {
                long started = System.nanoTime();
                long cpu = THREADS.getCurrentThreadCpuTime();
                task.run();
                longestCpuNanos.accumulateAndGet(THREADS.getCurrentThreadCpuTime() - cpu, Math::max);
                longestNanos.accumulateAndGet(System.nanoTime() - started, Math::max);
            });
        }

        void reset() {
            longestNanos.set(0);
            longestCpuNanos.set(0);
        }
    }
}

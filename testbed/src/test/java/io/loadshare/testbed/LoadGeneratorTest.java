package io.loadshare.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The load generator against the project's web server on loopback (no privileges): full responses count, with
 * their bytes; a missing file counts as status-404, a closed port as refused; the mix's sequence averages 108.5 KB.
 */
class LoadGeneratorTest {
    @TempDir
    Path dir;

    @Test
    void countsResponsesBytesAndFailuresByReason() throws Exception {
        Workload.writeFiles(dir);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try (WorkloadServer server = WorkloadServer.start(group, null, new InetSocketAddress("127.0.0.1", 0), dir)) {
            InetSocketAddress target = server.address();
            LoadGenerator.Result ok = run(target, List.of("/2k.html"));
            assertTrue(ok.connections() > 10, ok.toString());
            assertEquals(0, ok.failureCount(), ok.failures().toString());
            assertEquals(ok.connections() * 2048, ok.bodyBytes());
            assertTrue(ok.meanMillis() > 0 && ok.p99Millis() >= ok.meanMillis(), ok.toString());

            LoadGenerator.Result cgi = run(target, Workload.CGI.requests().subList(0, 20));
            assertTrue(cgi.connections() > 0 && cgi.failureCount() == 0, cgi.toString());

            LoadGenerator.Result missing = run(target, List.of("/no-such-file"));
            assertEquals(0, missing.connections());
            assertEquals(List.of("status-404"), List.copyOf(missing.failures().keySet()), missing.toString());
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0)) {
            closedPort = probe.getLocalPort();
        }
        LoadGenerator.Result refused = run(new InetSocketAddress("127.0.0.1", closedPort), List.of("/"));
        assertEquals(0, refused.connections());
        assertEquals(List.of("refused"), List.copyOf(refused.failures().keySet()), refused.toString());
    }

    @Test
    void theMixAveragesTheMeanThePaperGives() {
        assertEquals(Workload.MIX_MEAN_BYTES, Workload.FILE_MIX.meanBytes(), 1.0);
        assertEquals(111_104, Workload.MIX_MEAN_BYTES);
        assertEquals(Workload.FILE_MIX.requests().size(), Workload.CGI.requests().size());
    }

    private static LoadGenerator.Result run(InetSocketAddress target, List<String> paths) throws InterruptedException {
        return new LoadGenerator(new LoadGenerator.Settings(target, paths, 4, Duration.ofMillis(300),
                Duration.ofSeconds(2))).run(null, 1);
    }
}

package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Who may change a running dispatcher through its admin interface: not a browser acting for a web page (an Origin
 * header, or a Host that is not an address or localhost); reads stay open to all. A silent connection is closed
 * after the read timeout, and a reload asked for while one runs is refused.
 */
class AdminServerTest {
    private final AtomicInteger reloads = new AtomicInteger();
    private final CountDownLatch reloadMayFinish = new CountDownLatch(1);
    private AdminServer admin;
    private InetSocketAddress address;

    @BeforeEach
    void setUp() throws Exception {
        Service web = new Service(0, "web", Ipv4Address.parse("198.51.100.10"), IpProtocol.TCP, 80,
                () -> (pool, flow) -> null, BackendPool.empty());
        DispatchContext context = new DispatchContext(CoreSettings.defaults(), new ServiceTable(List.of(web)));
        admin = new AdminServer(new DispatcherView(List.of(web), List::of, List.of(context), List.of(), null,
                java.util.Map::of, null), () -> {
            reloads.incrementAndGet();
            try {
                reloadMayFinish.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return List.of();
        }, () -> "draining\n", new DispatcherConfig.Admin(true, "127.0.0.1", 0, Duration.ofMillis(300)));
        address = admin.address();
    }

    @AfterEach
    void tearDown() throws Exception {
        reloadMayFinish.countDown();
        admin.close();
    }

    /** Sends a request with exactly these headers and returns the status line. */
    private String request(String method, String path, String... headers) throws Exception {
        try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
            socket.setSoTimeout(10_000);
            StringBuilder text = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
            for (String header : headers) {
                text.append(header).append("\r\n");
            }
            text.append("Content-Length: 0\r\n\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(text.toString().getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
        }
    }

    @Test
    void browsersMayReadButNotChangeAnything() throws Exception {
        String local = "Host: 127.0.0.1:" + address.getPort();
        assertEquals("HTTP/1.1 403 Forbidden", request("POST", "/reload", local, "Origin: https://example.com"));
        assertEquals("HTTP/1.1 403 Forbidden", request("POST", "/backends/state?service=web&backend=x&state=down",
                "Host: rebound.example.com:" + address.getPort()));
        assertEquals(0, reloads.get(), "nothing refused reached the dispatcher");
        assertEquals("HTTP/1.1 200 OK", request("GET", "/metrics", local, "Origin: https://example.com"));
        assertEquals("HTTP/1.1 400 Bad Request", request("POST", "/backends/weight?service=web&backend=x&weight=2",
                "Host: localhost:" + address.getPort()), "a local client gets through (to an unknown backend)");
    }

    @Test
    void aSecondReloadWhileOneRunsIsRefused() throws Exception {
        String local = "Host: 127.0.0.1:" + address.getPort();
        CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> {
            try {
                return request("POST", "/reload", local);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (reloads.get() == 0) {
            assertTrue(System.nanoTime() < deadline, "the first reload never started");
            Thread.sleep(10);
        }
        assertEquals("HTTP/1.1 429 Too Many Requests", request("POST", "/reload", local));
        reloadMayFinish.countDown();
        assertEquals("HTTP/1.1 200 OK", first.get(10, TimeUnit.SECONDS));
        assertEquals(1, reloads.get());
    }

    /** Issue #33: an Error thrown by a reload (a plugin's ServiceConfigurationError) used to wedge every later one. */
    @Test
    void aReloadThatThrowsAnErrorDoesNotWedgeTheNext() throws Exception {
        admin.close();
        AtomicInteger tries = new AtomicInteger();
        admin = new AdminServer(new DispatcherView(List.of(), List::of, List.of(), List.of(), null,
                java.util.Map::of, null), () -> {
            if (tries.incrementAndGet() == 1) {
                throw new java.util.ServiceConfigurationError("a broken scheduler plugin");
            }
            return List.of();
        }, () -> "draining\n", new DispatcherConfig.Admin(true, "127.0.0.1", 0, Duration.ofMillis(300)));
        address = admin.address();
        String local = "Host: 127.0.0.1:" + address.getPort();
        assertEquals("HTTP/1.1 500 Internal Server Error", request("POST", "/reload", local));
        assertEquals("HTTP/1.1 200 OK", request("POST", "/reload", local), "the next reload runs");
        assertEquals(2, tries.get());
    }

    @Test
    void aConnectionThatSendsNothingIsClosed() throws Exception {
        try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
            socket.setSoTimeout(5_000);
            long start = System.nanoTime();
            assertEquals(-1, socket.getInputStream().read(), "closed by the server");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3));
        }
    }
}

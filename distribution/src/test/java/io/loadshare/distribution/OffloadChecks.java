package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.TestHttpServer;
import java.util.ArrayList;
import java.util.List;
import io.loadshare.offload.KernelFlowOffload;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** What the fast path's namespace tests share: a hashing TCP sink, paced uploads, and traffic counted per path. */
final class OffloadChecks {
    static final int SINK_PORT = 9000;

    private OffloadChecks() {
    }

    /**
     * 300 one-request connections from the client's namespace, one curl run: round robin over backends b1, b2, b3
     * must give each exactly 100.
     */
    static void roundRobin300(NetnsTestbed testbed, String client, String vip) {
        List<String> answers = requests(testbed, client, vip, 300);
        for (int n = 1; n <= 3; n++) {
            String name = "b" + n;
            assertEquals(100, answers.stream().filter(name::equals).count(), name + "'s share of 300");
        }
    }

    /** The answers to {@code count} one-request connections from the client's namespace, one curl run. */
    static List<String> requests(NetnsTestbed testbed, String client, String vip, int count) {
        List<String> command = new ArrayList<>(List.of("curl", "-s", "--max-time", "5"));
        for (int i = 0; i < count; i++) {
            command.add("http://" + vip + "/");
        }
        return testbed.exec(client, command.toArray(String[]::new)).lines().toList();
    }

    /** Frames the pipeline and the fast path forwarded to one service's backends. */
    record Traffic(long pipeline, long fastPath, long fastPathBytes) {
        static Traffic of(Dispatcher running, int service) {
            long pipeline = 0;
            long fastPath = 0;
            long bytes = 0;
            for (Backend backend : running.services().get(service).pool().all()) {
                pipeline += running.context().counters().packets(backend.id());
                KernelFlowOffload.BackendTraffic fast = running.offload().backendTraffic(backend.id());
                fastPath += fast.packets();
                bytes += fast.bytes();
            }
            return new Traffic(pipeline, fastPath, bytes);
        }

        Traffic minus(Traffic other) {
            return new Traffic(pipeline - other.pipeline, fastPath - other.fastPath,
                    fastPathBytes - other.fastPathBytes);
        }
    }

    static Backend awaitActive(Dispatcher running) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            for (Backend backend : running.services().getFirst().pool().all()) {
                if (running.context().counters().activeSessions(backend.id()) > 0) {
                    return backend;
                }
            }
            assertTrue(System.nanoTime() < deadline, "the held download never got a session");
            Thread.sleep(20);
        }
    }

    static String patternDigest(int n) throws Exception {
        byte[] bytes = new byte[n];
        for (int i = 0; i < n; i++) {
            bytes[i] = TestHttpServer.pattern(i);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /**
     * Half-closes after a short question to a sink that answers {@code delay} after the client's FIN, and checks
     * that the right answer came and came that late.
     */
    static void askSlowSink(String client, String vip, Duration delay) throws Exception {
        byte[] request = "a question that takes a while".getBytes(StandardCharsets.US_ASCII);
        long started = System.nanoTime();
        String answer = send(client, vip, request);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(request)), answer,
                "the answer, " + millis + " ms after the question");
        assertTrue(millis >= delay.toMillis(), "the sink answered late: " + millis + " ms");
    }

    /**
     * Connects to the sink service, sends a first part, stays idle for {@code idle}, sends the rest, and checks the
     * sink's answer covers both parts.
     */
    static void sendAfterIdle(String client, String vip, Duration idle) throws Exception {
        byte[] first = "before the pause, ".getBytes(StandardCharsets.US_ASCII);
        byte[] second = "and after it".getBytes(StandardCharsets.US_ASCII);
        try (SocketChannel channel = NetworkNamespace.named(client).run(() -> {
            SocketChannel opened = SocketChannel.open();
            opened.connect(new InetSocketAddress(vip, SINK_PORT));
            return opened;
        })) {
            channel.write(ByteBuffer.wrap(first));
            Thread.sleep(idle);
            channel.write(ByteBuffer.wrap(second));
            channel.shutdownOutput();
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(first);
            digest.update(second);
            assertEquals(HexFormat.of().formatHex(digest.digest()), answer(channel), "the answer after "
                    + idle.toSeconds() + " s idle");
        }
    }

    /** Sends {@code data} to the sink service from the client's namespace, 64 KiB each 15 ms; returns its answer. */
    static String send(String client, String vip, byte[] data) throws Exception {
        try (SocketChannel channel = NetworkNamespace.named(client).run(() -> {
            SocketChannel opened = SocketChannel.open();
            opened.connect(new InetSocketAddress(vip, SINK_PORT));
            return opened;
        })) {
            for (int offset = 0; offset < data.length; offset += 65536) {
                ByteBuffer chunk = ByteBuffer.wrap(data, offset, Math.min(65536, data.length - offset));
                while (chunk.hasRemaining()) {
                    channel.write(chunk);
                }
                Thread.sleep(15);
            }
            channel.shutdownOutput();
            return answer(channel);
        }
    }

    /** The sink's answer, read on another thread: an answer lost on the way must fail the test, not hang it. */
    private static String answer(SocketChannel channel) throws Exception {
        FutureTask<String> reading = new FutureTask<>(() -> {
            ByteBuffer answer = ByteBuffer.allocate(128);
            while (channel.read(answer) >= 0) {
                // until the sink closes
            }
            return new String(answer.array(), 0, answer.position(), StandardCharsets.US_ASCII).strip();
        });
        Thread.ofVirtual().start(reading);
        try {
            return reading.get(30, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no answer from the sink within 30 s of the end of the upload");
        }
    }

    static void post(Dispatcher running, String path) throws Exception {
        request(running, path, "POST");
    }

    /** The admin server's answer to a GET. */
    static String get(Dispatcher running, String path) throws Exception {
        return request(running, path, "GET");
    }

    private static String request(Dispatcher running, String path, String method) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + running.adminAddress().getPort() + path)).method(method, HttpRequest.BodyPublishers.noBody())
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode(), response.body());
            return response.body();
        }
    }

    /**
     * A TCP server in a backend's namespace that answers each connection, once the client has closed its side, with
     * the SHA-256 of all it received.
     */
    record Sink(ServerSocketChannel server, Thread acceptor) implements AutoCloseable {
        static Sink start(String namespace) throws IOException {
            return start(namespace, Duration.ZERO);
        }

        /** A sink that answers {@code delay} after the client's end of input: a slow server to a half-close. */
        static Sink start(String namespace, Duration delay) throws IOException {
            ServerSocketChannel server = NetworkNamespace.named(namespace).run(() -> {
                ServerSocketChannel opened = ServerSocketChannel.open();
                opened.bind(new InetSocketAddress("0.0.0.0", SINK_PORT));
                return opened;
            });
            Thread acceptor = Thread.ofVirtual().start(() -> {
                while (server.isOpen()) {
                    try (SocketChannel connection = server.accept()) {
                        MessageDigest digest = MessageDigest.getInstance("SHA-256");
                        ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
                        while (connection.read(buffer) >= 0) {
                            buffer.flip();
                            digest.update(buffer);
                            buffer.clear();
                        }
                        Thread.sleep(delay);
                        connection.write(ByteBuffer.wrap((HexFormat.of().formatHex(digest.digest()) + "\n")
                                .getBytes(StandardCharsets.US_ASCII)));
                    } catch (IOException | InterruptedException | java.security.NoSuchAlgorithmException e) {
                        // closed: the test is over
                    }
                }
            });
            return new Sink(server, acceptor);
        }

        @Override
        public void close() throws Exception {
            server.close();
            acceptor.join(1000);
        }
    }
}

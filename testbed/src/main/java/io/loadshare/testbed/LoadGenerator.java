package io.loadshare.testbed;

import io.loadshare.core.netns.NetworkNamespace;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;

/**
 * The project's own load generator, in the manner of WebStone: {@code concurrency} clients, each opening a
 * connection, sending one HTTP/1.0 GET, reading the whole response until the server closes, and starting over, for a
 * fixed time. A response counts when its status is 200 and its body is as long as its Content-Length says; anything
 * else is a failure, counted by reason. Response time runs from the connect to the last byte.
 *
 * <p>Its event loop threads live inside the client's network namespace, so every socket they open is there.
 */
public final class LoadGenerator {
    /**
     * @param paths requested in turn, each client starting at its own offset
     * @param timeout a connection not finished within it fails as "timeout"
     */
    public record Settings(InetSocketAddress target, List<String> paths, int concurrency, Duration duration,
            Duration timeout) {
    }

    /**
     * What a run measured.
     *
     * @param connections connections that completed with a full 200 response
     * @param failures by reason (refused, reset, timeout, status-NNN, short-body)
     * @param bodyBytes response bodies received by completed connections
     */
    public record Result(long connections, Map<String, Long> failures, long bodyBytes, double seconds,
            double meanMillis, double p99Millis) {
        public double connectionsPerSecond() {
            return connections / seconds;
        }

        /** Body throughput in megabits per second. */
        public double megabitsPerSecond() {
            return bodyBytes * 8 / seconds / 1e6;
        }

        public long failureCount() {
            return failures.values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private final Settings settings;
    private final List<ByteBuf> requests;
    private final LongAdder completed = new LongAdder();

    public LoadGenerator(Settings settings) {
        this.settings = settings;
        this.requests = settings.paths().stream().map(path -> Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(
                "GET " + path + " HTTP/1.0\r\nHost: " + settings.target().getHostString() + "\r\nUser-Agent: loadshare"
                        + "\r\n\r\n", StandardCharsets.US_ASCII).asReadOnly())).toList();
    }

    /** Connections finished so far (completed or failed), for a progress line. */
    public long finished() {
        return completed.sum();
    }

    /** Runs the load from inside {@code namespace} (null for this process's own) with {@code threads} loops. */
    public Result run(NetworkNamespace namespace, int threads) throws InterruptedException {
        return run(namespace, threads, null);
    }

    /**
     * Runs the load from inside {@code namespace} with {@code threads} loops, each pinned to {@code cpus} (null:
     * wherever the scheduler puts them).
     */
    public Result run(NetworkNamespace namespace, int threads, java.util.BitSet cpus) throws InterruptedException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, inside(namespace, cpus),
                EpollIoHandler.newFactory());
        try {
            long start = System.nanoTime();
            long deadline = start + settings.duration().toNanos();
            CountDownLatch done = new CountDownLatch(settings.concurrency());
            List<Client> clients = new ArrayList<>();
            for (int i = 0; i < settings.concurrency(); i++) {
                Client client = new Client(group.next(), i * requests.size() / settings.concurrency(), deadline, done);
                clients.add(client);
                client.loop.execute(client::next);
            }
            done.await();
            double seconds = (System.nanoTime() - start) / 1e9;
            Histogram latency = new Histogram(TimeUnit.SECONDS.toMicros(120), 3);
            Map<String, Long> failures = new TreeMap<>();
            long connections = 0;
            long bytes = 0;
            for (Client client : clients) {
                latency.add(client.latency);
                client.failures.forEach((reason, n) -> failures.merge(reason, n, Long::sum));
                connections += client.connections;
                bytes += client.bytes;
            }
            return new Result(connections, failures, bytes, seconds, latency.getMean() / 1000,
                    latency.getValueAtPercentile(99) / 1000.0);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static ThreadFactory inside(NetworkNamespace namespace, java.util.BitSet cpus) {
        return task -> new Thread(() -> {
            if (cpus != null) {
                CpuCores.pinCurrentThread(cpus);
            }
            if (namespace == null) {
                task.run();
                return;
            }
            try {
                namespace.run(() -> {
                    task.run();
                    return null;
                });
            } catch (IOException e) {
                throw new UncheckedIOException("cannot enter " + namespace, e);
            }
        }, "loadshare-load");
    }

    /** One WebStone client: a connection at a time, on one event loop; its state is that loop's alone. */
    private final class Client {
        final EventLoop loop;
        final long deadline;
        final CountDownLatch done;
        final Histogram latency = new Histogram(TimeUnit.SECONDS.toMicros(120), 3);
        final Map<String, Long> failures = new TreeMap<>();
        final Bootstrap bootstrap;
        int request;
        long connections;
        long bytes;

        Client(EventLoop loop, int firstRequest, long deadline, CountDownLatch done) {
            this.loop = loop;
            this.request = firstRequest;
            this.deadline = deadline;
            this.done = done;
            this.bootstrap = new Bootstrap().group(loop).channel(EpollSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) settings.timeout().toMillis())
                    .handler(new ChannelInboundHandlerAdapter());
        }

        void next() {
            if (System.nanoTime() >= deadline) {
                done.countDown();
                return;
            }
            ByteBuf get = requests.get(request++ % requests.size());
            Exchange exchange = new Exchange(this, get.duplicate(), System.nanoTime());
            ChannelFuture connect = bootstrap.clone().handler(exchange).connect(settings.target());
            exchange.timeout = loop.schedule(() -> {
                exchange.fail("timeout");
                connect.channel().close();
            }, settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
            connect.addListener(f -> {
                if (!f.isSuccess()) {
                    exchange.fail(f.cause() instanceof ConnectException ? "refused" : "connect-failed");
                }
            });
        }

        void finished(String failure, long started, long body) {
            completed.increment();
            if (failure == null) {
                connections++;
                bytes += body;
                latency.recordValue(Math.min(latency.getHighestTrackableValue(),
                        TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - started)));
            } else {
                failures.merge(failure, 1L, Long::sum);
            }
            next();
        }
    }

    /** One connection: sends the request, reads the status line and headers, counts the body. */
    private static final class Exchange extends ChannelInboundHandlerAdapter {
        private static final int MAX_HEAD = 8192;
        private final Client client;
        private final ByteBuf request;
        private final long started;
        private final StringBuilder head = new StringBuilder();
        private boolean headDone;
        private int status;
        private long contentLength = -1;
        private long body;
        private boolean over;
        ScheduledFuture<?> timeout;

        Exchange(Client client, ByteBuf request, long started) {
            this.client = client;
            this.request = request;
            this.started = started;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(request);
        }

        /** Reads the response; every buffer is released here. */
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf bytes = (ByteBuf) msg;
            try {
                if (headDone) {
                    body += bytes.readableBytes();
                    return;
                }
                while (bytes.isReadable() && !headDone) {
                    head.append((char) bytes.readByte());
                    headDone = head.length() >= 4 && head.charAt(head.length() - 1) == '\n'
                            && head.substring(head.length() - 4).equals("\r\n\r\n");
                    if (head.length() > MAX_HEAD) {
                        fail("bad-head");
                        ctx.close();
                        return;
                    }
                }
                if (headDone) {
                    parseHead();
                    body += bytes.readableBytes();
                }
            } finally {
                bytes.release();
            }
        }

        private void parseHead() {
            String[] lines = head.toString().split("\r\n");
            String[] statusLine = lines[0].split(" ");
            status = statusLine.length > 1 ? Integer.parseInt(statusLine[1]) : 0;
            for (String line : lines) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).equalsIgnoreCase("content-length")) {
                    contentLength = Long.parseLong(line.substring(colon + 1).trim());
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!headDone) {
                fail("no-response");
            } else if (status != 200) {
                fail("status-" + status);
            } else if (contentLength >= 0 && body != contentLength) {
                fail("short-body");
            } else {
                end(null);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(cause.getMessage() != null && cause.getMessage().contains("reset") ? "reset" : "io-error");
            ctx.close();
        }

        void fail(String reason) {
            end(reason);
        }

        private void end(String failure) {
            if (over) {
                return;
            }
            over = true;
            if (timeout != null) {
                timeout.cancel(false);
            }
            client.finished(failure, started, body);
        }
    }
}

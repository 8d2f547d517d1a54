package io.loadshare.distribution;

import com.google.common.net.InetAddresses;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.typesafe.config.ConfigException;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The admin and metrics interface, on its own event loop, away from the data path: {@code GET /metrics} in
 * Prometheus text format, {@code GET /status} as JSON, {@code GET /connections} listing the sessions
 * ({@link ConnectionListing}), and {@code POST /backends/state} to drain a backend (no new
 * sessions, existing ones continue), take it down, or hand it back to its source ({@code state=source}), and
 * {@code POST /reload} to re-read the configuration file ({@link Dispatcher#reload}), answered once it is applied or
 * refused.
 *
 * <p>Who can change the running dispatcher: whoever can connect to its address. The mutating requests refuse what
 * a browser would send on a web page's behalf (an {@code Origin} header, or a {@code Host} that is not an IP
 * address or localhost, as DNS rebinding would give), so a local user's browser cannot be used against it. A
 * connection that has not sent its request within the read timeout is closed, and a reload asked for while another
 * runs is refused rather than queued.
 */
final class AdminServer implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    /** Reloads one at a time, on a thread of their own: the common pool may be busy with anything. */
    private final ExecutorService reloads = Executors.newSingleThreadExecutor(
            new ThreadFactoryBuilder().setNameFormat("loadshare-reload").setDaemon(true).build());
    private final Channel channel;

    /** Reloads the configuration: what changed, or an exception saying why nothing did. */
    interface Reload {
        List<String> reload();
    }

    /** Starts draining the dispatcher; answers what happens. */
    interface Drain {
        String drain();
    }

    AdminServer(DispatcherView view, Reload reload, Drain drain, DispatcherConfig.Admin settings)
            throws InterruptedException {
        PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
        AtomicBoolean reloading = new AtomicBoolean();
        long readTimeout = settings.readTimeout().toMillis();
        this.channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new ReadTimeoutHandler(readTimeout, TimeUnit.MILLISECONDS),
                                new HttpServerCodec(), new HttpObjectAggregator(4096),
                                new Handler(view, reload, drain, reloads, reloading, writer));
                    }
                }).bind(new InetSocketAddress(settings.address(), settings.port())).sync().channel();
    }

    /** Where it listens (the port is chosen by the system when configured as 0). */
    InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final DispatcherView view;
        private final Reload reload;
        private final Drain drain;
        private final ExecutorService reloads;
        private final AtomicBoolean reloading;
        private final PrometheusTextFormatWriter writer;

        Handler(DispatcherView view, Reload reload, Drain drain, ExecutorService reloads, AtomicBoolean reloading,
                PrometheusTextFormatWriter writer) {
            this.view = view;
            this.reload = reload;
            this.drain = drain;
            this.reloads = reloads;
            this.reloading = reloading;
            this.writer = writer;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        /** Why a mutating request is refused, or null: browsers acting for a page may not change anything. */
        private static String browserRefusal(FullHttpRequest request) {
            String origin = request.headers().get(HttpHeaderNames.ORIGIN);
            if (origin != null) {
                return "cross-origin requests may not change the dispatcher (Origin: " + origin + ")";
            }
            String host = request.headers().get(HttpHeaderNames.HOST, "");
            String name = host.startsWith("[") ? host.substring(1, Math.max(1, host.indexOf(']')))
                    : host.replaceFirst(":\\d+$", "");
            if (!name.equals("localhost") && !InetAddresses.isInetAddress(name)) {
                return "the Host header must name the dispatcher by address or as localhost, not '" + host + "'";
            }
            return null;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) throws IOException {
            FullHttpResponse response;
            QueryStringDecoder uri = new QueryStringDecoder(request.uri());
            String refusal = request.method() == HttpMethod.POST ? browserRefusal(request) : null;
            if (refusal != null) {
                respond(ctx, text(HttpResponseStatus.FORBIDDEN, refusal + "\n", "text/plain"));
                return;
            }
            if (request.method() == HttpMethod.POST && uri.path().equals("/reload")) {
                if (!reloading.compareAndSet(false, true)) {
                    respond(ctx, text(HttpResponseStatus.TOO_MANY_REQUESTS, "a reload is running; ask again when it"
                            + " has answered\n", "text/plain"));
                    return;
                }
                // Off the admin loop: a reload reads a file and waits for the data plane to apply it.
                CompletableFuture.supplyAsync(() -> {
                    try {
                        List<String> changes = reload.reload();
                        return text(HttpResponseStatus.OK, changes.isEmpty() ? "reloaded: nothing changed\n"
                                : "reloaded:\n  " + String.join("\n  ", changes) + "\n", "text/plain");
                    } catch (ConfigException | IllegalStateException e) {
                        return text(HttpResponseStatus.CONFLICT, e.getMessage() + "\n", "text/plain");
                    }
                }, reloads).handle((answer, failure) -> {
                    // Whatever the reload threw (a plugin's ServiceConfigurationError is an Error), the next may run.
                    reloading.set(false);
                    FullHttpResponse reply = failure == null ? answer : text(HttpResponseStatus.INTERNAL_SERVER_ERROR,
                            "reload failed: " + (failure.getCause() != null ? failure.getCause() : failure) + "\n",
                            "text/plain");
                    ctx.executor().execute(() -> respond(ctx, reply));
                    return null;
                });
                return;
            }
            boolean state = uri.path().equals("/backends/state");
            if (request.method() == HttpMethod.POST && uri.path().equals("/drain")) {
                response = text(HttpResponseStatus.ACCEPTED, drain.drain(), "text/plain");
            } else if (request.method() == HttpMethod.POST && (state || uri.path().equals("/backends/weight"))) {
                String problem = state
                        ? view.setState(first(uri, "service"), first(uri, "backend"), first(uri, "state"))
                        : view.setWeight(first(uri, "service"), first(uri, "backend"), first(uri, "weight"));
                response = problem == null ? text(HttpResponseStatus.OK, view.status(), "application/json")
                        : text(HttpResponseStatus.BAD_REQUEST, problem + "\n", "text/plain");
            } else if (request.method() != HttpMethod.GET) {
                response = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "GET /metrics, GET /status, GET /connections,"
                        + " POST /reload,"
                        + " POST /drain, POST /backends/state?service=NAME&backend=ADDRESS|MAC&state=draining|down|source, or"
                        + " POST /backends/weight?service=NAME&backend=ADDRESS|MAC&weight=N|source\n", "text/plain");
            } else if (request.uri().equals("/metrics")) {
                view.refreshKernelStatistics();
                ByteBuf body = ctx.alloc().buffer();
                try (ByteBufOutputStream out = new ByteBufOutputStream(body)) {
                    writer.write(out, view.registry().scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
                }
                response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, writer.getContentType());
            } else if (request.uri().equals("/status")) {
                view.refreshKernelStatistics();
                response = text(HttpResponseStatus.OK, view.status(), "application/json");
            } else if (uri.path().equals("/connections")) {
                ConnectionListing.Filter filter;
                try {
                    filter = ConnectionListing.Filter.of(uri, view.services());
                } catch (IllegalArgumentException e) {
                    respond(ctx, text(HttpResponseStatus.BAD_REQUEST, e.getMessage() + "\n", "text/plain"));
                    return;
                }
                // A long listing outlives the read timeout, which guards only the request.
                ctx.pipeline().remove(ReadTimeoutHandler.class);
                new ConnectionListing(view.workers(), view.services(), filter).stream(ctx);
                return;
            } else {
                response = text(HttpResponseStatus.NOT_FOUND, "try /metrics, /status or /connections\n", "text/plain");
            }
            respond(ctx, response);
        }

        private static void respond(ChannelHandlerContext ctx, FullHttpResponse response) {
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
            // Said, so that a client does not send its next request on a connection this side is closing.
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }

        private static String first(QueryStringDecoder uri, String name) {
            return uri.parameters().getOrDefault(name, List.of("")).get(0);
        }

        private static FullHttpResponse text(HttpResponseStatus status, String body, String type) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, type + "; charset=utf-8");
            return response;
        }
    }

    @Override
    public void close() throws InterruptedException {
        channel.close().sync();
        reloads.shutdown();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
}

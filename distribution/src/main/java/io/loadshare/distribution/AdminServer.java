package io.loadshare.distribution;

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
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
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

/**
 * The admin and metrics interface, on its own event loop, away from the data path: {@code GET /metrics} in
 * Prometheus text format, {@code GET /status} as JSON, and {@code POST /backends/state} to drain a backend (no new
 * sessions, existing ones continue), take it down, or hand it back to its source ({@code state=source}), and
 * {@code POST /reload} to re-read the configuration file ({@link Dispatcher#reload}), answered once it is applied or
 * refused.
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

    AdminServer(DispatcherView view, Reload reload, String address, int port) throws InterruptedException {
        PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
        this.channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(4096),
                                new Handler(view, reload, reloads, writer));
                    }
                }).bind(new InetSocketAddress(address, port)).sync().channel();
    }

    /** Where it listens (the port is chosen by the system when configured as 0). */
    InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final DispatcherView view;
        private final Reload reload;
        private final ExecutorService reloads;
        private final PrometheusTextFormatWriter writer;

        Handler(DispatcherView view, Reload reload, ExecutorService reloads, PrometheusTextFormatWriter writer) {
            this.view = view;
            this.reload = reload;
            this.reloads = reloads;
            this.writer = writer;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) throws IOException {
            FullHttpResponse response;
            QueryStringDecoder uri = new QueryStringDecoder(request.uri());
            if (request.method() == HttpMethod.POST && uri.path().equals("/reload")) {
                // Off the admin loop: a reload reads a file and waits for the data plane to apply it.
                CompletableFuture.supplyAsync(() -> {
                    try {
                        List<String> changes = reload.reload();
                        return text(HttpResponseStatus.OK, changes.isEmpty() ? "reloaded: nothing changed\n"
                                : "reloaded:\n  " + String.join("\n  ", changes) + "\n", "text/plain");
                    } catch (ConfigException | IllegalStateException e) {
                        return text(HttpResponseStatus.CONFLICT, e.getMessage() + "\n", "text/plain");
                    } catch (RuntimeException e) {
                        return text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "reload failed: " + e + "\n",
                                "text/plain");
                    }
                }, reloads).thenAccept(answer -> ctx.executor().execute(() -> respond(ctx, answer)));
                return;
            }
            boolean state = uri.path().equals("/backends/state");
            if (request.method() == HttpMethod.POST && (state || uri.path().equals("/backends/weight"))) {
                String problem = state
                        ? view.setState(first(uri, "service"), first(uri, "backend"), first(uri, "state"))
                        : view.setWeight(first(uri, "service"), first(uri, "backend"), first(uri, "weight"));
                response = problem == null ? text(HttpResponseStatus.OK, view.status(), "application/json")
                        : text(HttpResponseStatus.BAD_REQUEST, problem + "\n", "text/plain");
            } else if (request.method() != HttpMethod.GET) {
                response = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "GET /metrics, GET /status, POST /reload,"
                        + " POST /backends/state?service=NAME&backend=ADDRESS|MAC&state=draining|down|source, or"
                        + " POST /backends/weight?service=NAME&backend=ADDRESS|MAC&weight=N|source\n", "text/plain");
            } else if (request.uri().equals("/metrics")) {
                ByteBuf body = ctx.alloc().buffer();
                try (ByteBufOutputStream out = new ByteBufOutputStream(body)) {
                    writer.write(out, view.registry().scrape(), EscapingScheme.UNDERSCORE_ESCAPING);
                }
                response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, writer.getContentType());
            } else if (request.uri().equals("/status")) {
                response = text(HttpResponseStatus.OK, view.status(), "application/json");
            } else {
                response = text(HttpResponseStatus.NOT_FOUND, "try /metrics or /status\n", "text/plain");
            }
            respond(ctx, response);
        }

        private static void respond(ChannelHandlerContext ctx, FullHttpResponse response) {
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
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

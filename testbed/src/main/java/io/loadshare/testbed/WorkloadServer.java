package io.loadshare.testbed;

import io.loadshare.core.netns.NetworkNamespace;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * The project's own small web server for the demo and the benchmarks: it serves the files under a root from
 * memory, one request per connection (HTTP/1.0 style: every response closes), and answers {@code /cgi/PATH} by
 * forking {@code cat ROOT/PATH} for each request, the cost a CGI program has. Listens inside a network namespace.
 */
public final class WorkloadServer implements AutoCloseable {
    private final Channel channel;
    private final ChannelGroup connections;
    private final Map<String, byte[]> files;
    private final ExecutorService cgi;

    private WorkloadServer(Channel channel, ChannelGroup connections, Map<String, byte[]> files, ExecutorService cgi) {
        this.channel = channel;
        this.connections = connections;
        this.files = files;
        this.cgi = cgi;
    }

    /**
     * Loads every file under {@code root} and listens on {@code address:port} inside {@code namespace} (null for
     * this process's own).
     */
    public static WorkloadServer start(EventLoopGroup group, NetworkNamespace namespace, InetSocketAddress address,
            Path root) throws IOException, InterruptedException {
        Map<String, byte[]> files = new HashMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                String path = "/" + root.relativize(file).toString().replace('\\', '/');
                files.put(path, Files.readAllBytes(file));
            }
        }
        ExecutorService cgi = Executors.newVirtualThreadPerTaskExecutor();
        ChannelHandler handler = new Handler(files, root, cgi);
        ChannelGroup connections = new DefaultChannelGroup(group.next());
        ServerBootstrap bootstrap = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(8192), handler);
                    }
                });
        // The listening socket belongs to the namespace of the thread that creates it, at bind().
        NetworkNamespace.Action<Channel> bind = () -> {
            try {
                return bootstrap.bind(address).sync().channel();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while binding " + address, e);
            }
        };
        Channel channel = namespace == null ? bind.run() : namespace.run(bind);
        return new WorkloadServer(channel, connections, files, cgi);
    }

    /** Where it listens. */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Answers one request; each response wraps the file's bytes and is released by the write. */
    @ChannelHandler.Sharable
    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Map<String, byte[]> files;
        private final Path root;
        private final ExecutorService cgi;

        Handler(Map<String, byte[]> files, Path root, ExecutorService cgi) {
            this.files = files;
            this.root = root;
            this.cgi = cgi;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            String path = request.uri();
            if (path.startsWith("/cgi/") && files.containsKey(path.substring(4))) {
                Path program = root.resolve(path.substring(5));
                cgi.execute(() -> {
                    ByteBuf body = fork(program);
                    ctx.executor().execute(() -> respond(ctx, body == null ? HttpResponseStatus.INTERNAL_SERVER_ERROR
                            : HttpResponseStatus.OK, body == null ? Unpooled.EMPTY_BUFFER : body));
                });
                return;
            }
            byte[] file = files.get(path);
            if (file == null) {
                respond(ctx, HttpResponseStatus.NOT_FOUND,
                        Unpooled.copiedBuffer("no such file: " + path + "\n", StandardCharsets.US_ASCII));
            } else {
                respond(ctx, HttpResponseStatus.OK, Unpooled.wrappedBuffer(file));
            }
        }

        /** Runs {@code cat FILE} and returns what it wrote, or null when it failed. */
        private static ByteBuf fork(Path file) {
            try {
                Process process = new ProcessBuilder("cat", file.toString()).redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
                byte[] output;
                try (InputStream out = process.getInputStream()) {
                    output = out.readAllBytes();
                }
                return process.waitFor() == 0 ? Unpooled.wrappedBuffer(output) : null;
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }

        private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, ByteBuf body) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_0, status, body);
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM)
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /**
     * Stops listening and closes the connections still open, releasing what they had yet to send (a client whose
     * flow broke leaves its answer stuck).
     */
    @Override
    public void close() throws InterruptedException {
        channel.close().sync();
        connections.close().sync();
        cgi.shutdownNow();
    }
}

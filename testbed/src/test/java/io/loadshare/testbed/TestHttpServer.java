package io.loadshare.testbed;

import io.loadshare.core.netns.NetworkNamespace;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
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
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A small HTTP/1.1 server for integration tests, bound inside a network namespace. {@code GET /} answers with
 * the server's name (so a test sees which backend answered); {@code GET /bytes?n=N} answers with N bytes of
 * {@link #pattern}; a {@code POST} is answered with the size of its body. Every response closes the connection, so each request is one connection.
 */
public final class TestHttpServer implements AutoCloseable {
    /** Largest request body accepted; a POST is answered with the number of bytes it carried. */
    public static final int MAX_UPLOAD = 4 * 1024 * 1024;
    private final Channel channel;

    private TestHttpServer(Channel channel) {
        this.channel = channel;
    }

    /** Starts a server inside {@code namespace}, listening on {@code address:port}. */
    public static TestHttpServer start(EventLoopGroup group, String namespace, String address, int port, String name)
            throws IOException {
        ServerBootstrap bootstrap = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_UPLOAD), new Handler(name));
                    }
                });
        // The listening socket belongs to the namespace of the thread that creates it, here at bind().
        Channel channel = NetworkNamespace.named(namespace).run(() -> {
            try {
                return bootstrap.bind(new InetSocketAddress(address, port)).sync().channel();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        });
        return new TestHttpServer(channel);
    }

    /** Byte {@code i} of every {@code /bytes} body. */
    public static byte pattern(long i) {
        return (byte) (i * 31 + (i >>> 8) * 7);
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final byte[] name;

        Handler(String name) {
            this.name = (name + "\n").getBytes(StandardCharsets.US_ASCII);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            QueryStringDecoder uri = new QueryStringDecoder(request.uri());
            ByteBuf body;
            if (request.method().name().equals("POST")) {
                body = Unpooled.copiedBuffer("received " + request.content().readableBytes() + "\n",
                        StandardCharsets.US_ASCII);
            } else if (uri.path().equals("/bytes")) {
                int n = Integer.parseInt(uri.parameters().getOrDefault("n", List.of("0")).get(0));
                // Filled as an array and wrapped: byte by byte through a paranoid leak-aware buffer takes long
                // enough to stall the loop the health checks are answered on.
                byte[] bytes = new byte[n];
                for (int i = 0; i < n; i++) {
                    bytes[i] = pattern(i);
                }
                body = Unpooled.wrappedBuffer(bytes);
            } else {
                body = Unpooled.wrappedBuffer(name);
            }
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM)
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void close() throws InterruptedException {
        channel.close().sync();
    }
}

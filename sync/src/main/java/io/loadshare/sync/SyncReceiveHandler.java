package io.loadshare.sync;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/**
 * The receiving end of a link from a peer: challenges it with a fresh nonce, then checks every message (version,
 * MAC, sequence) before applying it to the standby store. A message that fails a check is counted by
 * {@link SyncRefusal} and the link is closed; the peer connects again and sends its full table.
 *
 * <p>Ownership: each frame (the length prefix stripped by the decoder before it) is released here.
 */
final class SyncReceiveHandler extends ChannelInboundHandlerAdapter {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final SessionSync sync;
    private final SyncProtocol.Signer signer;
    private final byte[] nonce = new byte[SyncProtocol.NONCE_BYTES];
    private SyncPeer peer;
    private long expected = 1;

    SyncReceiveHandler(SessionSync sync, SyncProtocol.Signer signer) {
        this.sync = sync;
        this.signer = signer;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        peer = ctx.channel().remoteAddress() instanceof InetSocketAddress remote ? sync.peerAt(remote.getAddress())
                : null;
        if (peer == null) {
            sync.refuse(SyncRefusal.UNKNOWN_PEER, ctx.channel(), "from " + ctx.channel().remoteAddress());
            return;
        }
        RANDOM.nextBytes(nonce);
        ctx.writeAndFlush(SyncProtocol.challenge(ctx.alloc(), nonce));
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf frame = (ByteBuf) msg;
        try {
            read(ctx, frame);
        } finally {
            frame.release();
        }
    }

    private void read(ChannelHandlerContext ctx, ByteBuf frame) {
        if (peer == null || !ctx.channel().isActive()) {
            return;
        }
        if (frame.readableBytes() < SyncProtocol.HEADER_BYTES + SyncProtocol.MAC_BYTES) {
            sync.refuse(SyncRefusal.MALFORMED, ctx.channel(), frame.readableBytes() + "-byte message");
            return;
        }
        int version = frame.getUnsignedByte(frame.readerIndex());
        if (version != SyncProtocol.VERSION) {
            sync.refuse(SyncRefusal.VERSION, ctx.channel(), "version " + version);
            return;
        }
        if (!signer.verify(nonce, frame)) {
            sync.refuse(SyncRefusal.UNAUTHENTICATED, ctx.channel(), "from " + peer.address);
            return;
        }
        int type = frame.getUnsignedByte(frame.readerIndex() + 1);
        long sequence = frame.getLong(frame.readerIndex() + 4);
        if (sequence != expected) {
            sync.refuse(SyncRefusal.REPLAYED, ctx.channel(), "sequence " + sequence + ", expected " + expected);
            return;
        }
        expected++;
        sync.heard(peer);
        ByteBuf payload = frame.slice(frame.readerIndex() + SyncProtocol.HEADER_BYTES,
                frame.readableBytes() - SyncProtocol.HEADER_BYTES - SyncProtocol.MAC_BYTES);
        switch (type) {
            case SyncProtocol.HELLO -> {
                if (payload.readableBytes() < 2 || payload.readableBytes() != 2 + 4 * payload.getUnsignedShort(
                        payload.readerIndex())) {
                    sync.refuse(SyncRefusal.MALFORMED, ctx.channel(), "a hello of " + payload.readableBytes()
                            + " bytes");
                    return;
                }
                List<Integer> natAddresses = new ArrayList<>();
                for (int i = payload.readerIndex() + 2; i < payload.writerIndex(); i += 4) {
                    natAddresses.add(payload.getInt(i));
                }
                sync.peerLinked(peer, ctx.channel(), natAddresses);
            }
            case SyncProtocol.SESSIONS -> {
                int count;
                try {
                    count = SessionRecords.validate(payload);
                } catch (SessionRecords.MalformedException e) {
                    sync.refuse(SyncRefusal.MALFORMED, ctx.channel(), e.getMessage());
                    return;
                }
                sync.received(peer, payload, count);
            }
            case SyncProtocol.BULK_DONE -> sync.tableReceived(peer);
            case SyncProtocol.HEARTBEAT -> {
            }
            default -> sync.refuse(SyncRefusal.MALFORMED, ctx.channel(), "type " + type);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (peer != null) {
            sync.peerUnlinked(peer, ctx.channel());
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        sync.refuse(SyncRefusal.MALFORMED, ctx.channel(), cause.toString());
    }
}

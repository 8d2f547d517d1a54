package io.loadshare.sync;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * The sending end of a link to a peer: waits for the peer's challenge, then hands the link to {@link SessionSync},
 * which sends the full table and then the stream of changes on it. The peer sends nothing else.
 *
 * <p>Ownership: the challenge frame (length prefix stripped) is released here.
 */
final class PeerLinkHandler extends ChannelInboundHandlerAdapter {
    private final SessionSync sync;
    private final SyncPeer peer;
    private boolean challenged;

    PeerLinkHandler(SessionSync sync, SyncPeer peer) {
        this.sync = sync;
        this.peer = peer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf frame = (ByteBuf) msg;
        try {
            if (challenged || frame.readableBytes() != 4 + SyncProtocol.NONCE_BYTES
                    || frame.getUnsignedByte(frame.readerIndex()) != SyncProtocol.VERSION
                    || frame.getUnsignedByte(frame.readerIndex() + 1) != SyncProtocol.CHALLENGE) {
                sync.refuse(challenged ? SyncRefusal.MALFORMED : SyncRefusal.VERSION, ctx.channel(),
                        "from " + peer.address + ": not a challenge of version " + SyncProtocol.VERSION);
                return;
            }
            challenged = true;
            byte[] nonce = new byte[SyncProtocol.NONCE_BYTES];
            frame.getBytes(frame.readerIndex() + 4, nonce);
            sync.linkReady(peer, ctx.channel(), nonce);
        } finally {
            frame.release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        sync.linkLost(peer, ctx.channel());
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}

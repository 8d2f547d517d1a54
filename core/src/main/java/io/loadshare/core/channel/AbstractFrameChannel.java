package io.loadshare.core.channel;

import io.loadshare.core.pipeline.HardwareAddressed;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AbstractChannel;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoHandle;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.SocketAddress;

/**
 * The base of a channel whose every message is one Ethernet frame in a {@link ByteBuf}: it binds to a local
 * address and never connects, so a transport writes only how it opens, reads, sends and closes.
 *
 * <p>A transport reads by returning frames from {@link #nextFrame} and calling {@link #deliverFrames} when its
 * source is ready: up to the read batch go through the pipeline, then one {@code channelReadComplete}; a read that
 * fails is reported after the frames before it and closes the channel, and {@link #closeCause()} keeps why.
 * The pipeline owns each frame it is given. Written messages other than a {@code ByteBuf} are refused; one the
 * transport cannot send from in place is copied once into a pooled direct buffer, and the original released.
 *
 * <p>A channel whose unsafe is an {@link IoHandle} registers on an {@link IoEventLoop} that can serve it (Netty's
 * epoll loop for a descriptor); one without a handle runs on any event loop.
 *
 * @param <S> the transport's counters
 */
public abstract class AbstractFrameChannel<S extends FrameChannelStats> extends AbstractChannel
        implements HardwareAddressed {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 64);

    private final String kind;
    private final String howToBind;
    private final S stats;
    private volatile Throwable closeCause;

    /**
     * @param kind what the channel is, for errors ("a raw socket")
     * @param howToBind the advice a refused connect gives ("bind it to an interface with a RawSocketAddress")
     * @param stats the transport's counters
     */
    protected AbstractFrameChannel(String kind, String howToBind, S stats) {
        super(null);
        this.kind = kind;
        this.howToBind = howToBind;
        this.stats = stats;
    }

    @Override
    public abstract FrameChannelConfig config();

    /** This channel's receive and send counters. */
    public final S stats() {
        return stats;
    }

    /** Why the channel closed, if a read or the transport failed (an interface going down, a corrupt file). */
    public final Throwable closeCause() {
        return closeCause;
    }

    @Override
    public final ChannelMetadata metadata() {
        return METADATA;
    }

    @Override
    protected final SocketAddress remoteAddress0() {
        return null;
    }

    @Override
    protected boolean isCompatible(EventLoop loop) {
        if (!(unsafe() instanceof IoHandle handle)) {
            return true;
        }
        return loop instanceof IoEventLoop ioLoop && ioLoop.isCompatible(handle.getClass());
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new FrameUnsafe();
    }

    @Override
    protected final void doDisconnect() throws Exception {
        doClose();
    }

    @Override
    protected final Object filterOutboundMessage(Object msg) {
        if (!(msg instanceof ByteBuf frame)) {
            throw new UnsupportedOperationException(kind + " sends ByteBuf frames, not " + msg.getClass().getName());
        }
        checkWritable();
        if (sendsInPlace(frame)) {
            return frame;
        }
        ByteBuf direct = alloc().directBuffer(frame.readableBytes());
        direct.writeBytes(frame, frame.readerIndex(), frame.readableBytes());
        ReferenceCountUtil.safeRelease(frame);
        return direct;
    }

    /** Whether the transport sends {@code frame} from its own memory; otherwise it gets a direct copy. */
    protected boolean sendsInPlace(ByteBuf frame) {
        return frame.isDirect() && frame.nioBufferCount() == 1;
    }

    /** Refuses every write, with the reason, when the channel has nowhere to send (a capture file without output). */
    protected void checkWritable() {
    }

    /**
     * The next frame waiting, or null when none is (or the transport stops this batch early). {@code wanted} is
     * how many more this batch takes, for transports that read several per system call.
     */
    protected abstract ByteBuf nextFrame(int wanted) throws IOException;

    /**
     * Delivers up to {@link FrameChannelConfig#readBatch()} frames from {@link #nextFrame}, then one
     * {@code channelReadComplete} if any came. A failed read is reported (after the frames before it) through
     * {@link #failed}. Returns the frames delivered. Event loop only.
     */
    protected final int deliverFrames() {
        ChannelPipeline pipeline = pipeline();
        int budget = config().readBatch();
        int read = 0;
        IOException failure = null;
        try {
            while (read < budget) {
                ByteBuf frame = nextFrame(budget - read);
                if (frame == null) {
                    break;
                }
                read++;
                pipeline.fireChannelRead(frame);
                if (!isOpen()) {
                    break;
                }
            }
        } catch (IOException e) {
            failure = e;
        }
        if (read > 0) {
            pipeline.fireChannelReadComplete();
        }
        if (failure != null) {
            failed(failure);
        }
        return read;
    }

    /** Reports {@code cause} to the pipeline and closes the channel, keeping the first cause. Event loop only. */
    protected final void failed(Throwable cause) {
        if (closeCause == null) {
            closeCause = cause;
        }
        pipeline().fireExceptionCaught(cause);
        unsafe().close(voidPromise());
    }

    protected final void countReceived(int bytes) {
        stats.countReceived(bytes);
    }

    protected final void countReceivedOversize() {
        stats.countReceivedOversize();
    }

    protected final void countSent(int bytes) {
        stats.countSent(bytes);
    }

    protected final void countSendError(String error) {
        stats.countSendError(error);
    }

    /** The unsafe of a frame channel: {@code connect} is refused with how to bind instead. */
    protected class FrameUnsafe extends AbstractUnsafe {
        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException(kind + " does not connect; " + howToBind));
        }
    }

    @Override
    public String toString() {
        SocketAddress local = localAddress0();
        return getClass().getSimpleName() + "(" + (local == null ? "unbound" : local) + details() + ")";
    }

    /** What {@link #toString()} adds after the local address, such as {@code ", fd 7"}. */
    protected String details() {
        return "";
    }
}

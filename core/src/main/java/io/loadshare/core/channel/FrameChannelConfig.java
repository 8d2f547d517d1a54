package io.loadshare.core.channel;

import io.netty.channel.Channel;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.MaxMessagesRecvByteBufAllocator;

/** A frame channel's configuration: Netty's own, plus the read batch every transport bounds its reads by. */
public abstract class FrameChannelConfig extends DefaultChannelConfig {
    protected FrameChannelConfig(Channel channel) {
        super(channel);
    }

    /** Frames delivered per read batch, before one {@code channelReadComplete}. */
    public final int readBatch() {
        return ((MaxMessagesRecvByteBufAllocator) getRecvByteBufAllocator()).maxMessagesPerRead();
    }

    /** Sets the frames delivered per read batch; transports call it when they take their settings. */
    protected final void readBatch(int frames) {
        ((MaxMessagesRecvByteBufAllocator) getRecvByteBufAllocator()).maxMessagesPerRead(frames);
    }
}

package io.loadshare.transport.rawsocket;

import io.loadshare.core.channel.FrameChannelConfig;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import java.util.Map;

/** The configuration of a {@link RawSocketChannel}; starts from {@link RawSocketSettings#defaults()}. */
public final class RawSocketChannelConfig extends FrameChannelConfig {
    private volatile boolean vnetHeader;
    private volatile boolean ignoreOutgoing;
    private volatile SocketFilter socketFilter;
    private volatile int maxFrameSize;
    private volatile int receiveBufferSize;
    private volatile int sendBatch;
    private volatile RingSettings ring;
    private volatile int fanoutGroup;
    /** Not a HOCON setting: a dispatcher derives the program from its services. */
    private volatile FanoutSteering fanoutSteering;
    private volatile boolean qdiscBypass;
    private volatile int vlan;
    /** Not a HOCON setting: which EtherType a channel serves is the dispatcher's choice, per channel. */
    private volatile int etherType;

    RawSocketChannelConfig(RawSocketChannel channel) {
        super(channel);
        apply(RawSocketSettings.defaults());
    }

    /** Takes every setting at once, as the distribution does from HOCON. */
    public RawSocketChannelConfig apply(RawSocketSettings settings) {
        vnetHeader = settings.vnetHeader();
        ignoreOutgoing = settings.ignoreOutgoing();
        socketFilter = SocketFilter.builder().acceptBroadcast(settings.acceptBroadcast()).build();
        maxFrameSize = settings.maxFrameSize();
        receiveBufferSize = settings.receiveBufferSize();
        sendBatch = settings.sendBatch();
        ring = settings.ring();
        fanoutGroup = settings.fanoutGroup();
        qdiscBypass = settings.qdiscBypass();
        vlan = settings.vlan();
        readBatch(settings.readBatch());
        setWriteBufferWaterMark(new WriteBufferWaterMark(settings.writeBufferLow(), settings.writeBufferHigh()));
        return this;
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), RawSocketChannelOption.VNET_HEADER, RawSocketChannelOption.IGNORE_OUTGOING,
                RawSocketChannelOption.SOCKET_FILTER, RawSocketChannelOption.MAX_FRAME_SIZE,
                RawSocketChannelOption.RECEIVE_BUFFER_SIZE, RawSocketChannelOption.SEND_BATCH,
                RawSocketChannelOption.RX_RING, RawSocketChannelOption.FANOUT_GROUP, RawSocketChannelOption.QDISC_BYPASS,
                RawSocketChannelOption.VLAN, RawSocketChannelOption.ETHER_TYPE, RawSocketChannelOption.FANOUT_STEERING);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == RawSocketChannelOption.VNET_HEADER) {
            return (T) Boolean.valueOf(vnetHeader);
        }
        if (option == RawSocketChannelOption.IGNORE_OUTGOING) {
            return (T) Boolean.valueOf(ignoreOutgoing);
        }
        if (option == RawSocketChannelOption.SOCKET_FILTER) {
            return (T) socketFilter;
        }
        if (option == RawSocketChannelOption.MAX_FRAME_SIZE) {
            return (T) Integer.valueOf(maxFrameSize);
        }
        if (option == RawSocketChannelOption.RECEIVE_BUFFER_SIZE) {
            return (T) Integer.valueOf(receiveBufferSize);
        }
        if (option == RawSocketChannelOption.SEND_BATCH) {
            return (T) Integer.valueOf(sendBatch);
        }
        if (option == RawSocketChannelOption.RX_RING) {
            return (T) ring;
        }
        if (option == RawSocketChannelOption.FANOUT_GROUP) {
            return (T) Integer.valueOf(fanoutGroup);
        }
        if (option == RawSocketChannelOption.FANOUT_STEERING) {
            return (T) fanoutSteering;
        }
        if (option == RawSocketChannelOption.QDISC_BYPASS) {
            return (T) Boolean.valueOf(qdiscBypass);
        }
        if (option == RawSocketChannelOption.VLAN) {
            return (T) Integer.valueOf(vlan);
        }
        if (option == RawSocketChannelOption.ETHER_TYPE) {
            return (T) Integer.valueOf(etherType);
        }
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (channel.isActive() && option instanceof RawSocketChannelOption) {
            throw new IllegalStateException(option + " takes effect at bind; the channel is already bound");
        }
        if (option == RawSocketChannelOption.VNET_HEADER) {
            vnetHeader = (Boolean) value;
        } else if (option == RawSocketChannelOption.IGNORE_OUTGOING) {
            ignoreOutgoing = (Boolean) value;
        } else if (option == RawSocketChannelOption.SOCKET_FILTER) {
            socketFilter = (SocketFilter) value;
        } else if (option == RawSocketChannelOption.MAX_FRAME_SIZE) {
            maxFrameSize = (Integer) value;
        } else if (option == RawSocketChannelOption.RECEIVE_BUFFER_SIZE) {
            receiveBufferSize = (Integer) value;
        } else if (option == RawSocketChannelOption.SEND_BATCH) {
            int batch = (Integer) value;
            if (batch < 1 || batch > RawSocketSettings.MAX_SEND_BATCH) {
                throw new IllegalArgumentException("SEND_BATCH must be 1.." + RawSocketSettings.MAX_SEND_BATCH);
            }
            sendBatch = batch;
        } else if (option == RawSocketChannelOption.RX_RING) {
            ring = (RingSettings) value;
        } else if (option == RawSocketChannelOption.FANOUT_GROUP) {
            int group = (Integer) value;
            if (group < -1 || group > RawSocketChannel.NEW_FANOUT_GROUP) {
                throw new IllegalArgumentException("FANOUT_GROUP must be -1 (none), 0..65535 or NEW_FANOUT_GROUP");
            }
            fanoutGroup = group;
        } else if (option == RawSocketChannelOption.FANOUT_STEERING) {
            fanoutSteering = (FanoutSteering) value;
        } else if (option == RawSocketChannelOption.QDISC_BYPASS) {
            qdiscBypass = (Boolean) value;
        } else if (option == RawSocketChannelOption.VLAN) {
            int id = (Integer) value;
            if (id < 0 || id > RawSocketSettings.MAX_VLAN) {
                throw new IllegalArgumentException("VLAN must be 0 (none) or 1.." + RawSocketSettings.MAX_VLAN);
            }
            vlan = id;
        } else if (option == RawSocketChannelOption.ETHER_TYPE) {
            int type = (Integer) value;
            if (type != 0 && (type < 0x0600 || type > 0xFFFF)) {
                throw new IllegalArgumentException("ETHER_TYPE must be 0 (every one) or 0x0600..0xFFFF");
            }
            etherType = type;
        } else {
            return super.setOption(option, value);
        }
        return true;
    }

    boolean vnetHeader() {
        return vnetHeader;
    }

    boolean ignoreOutgoing() {
        return ignoreOutgoing;
    }

    SocketFilter socketFilter() {
        return socketFilter;
    }

    int maxFrameSize() {
        return maxFrameSize;
    }

    int receiveBufferSize() {
        return receiveBufferSize;
    }

    int sendBatch() {
        return sendBatch;
    }

    RingSettings ring() {
        return ring;
    }

    int fanoutGroup() {
        return fanoutGroup;
    }

    FanoutSteering fanoutSteering() {
        return fanoutSteering;
    }

    boolean qdiscBypass() {
        return qdiscBypass;
    }

    int vlan() {
        return vlan;
    }

    int etherType() {
        return etherType;
    }
}

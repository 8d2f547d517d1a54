package io.loadshare.transport.pcap;

import io.loadshare.core.channel.FrameChannelConfig;
import io.loadshare.core.packet.MacAddress;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import java.util.Map;

/** The configuration of both pcap channels; starts from {@link PcapSettings#defaults()}. */
public final class PcapChannelConfig extends FrameChannelConfig {
    private volatile int snaplen;
    private volatile boolean promiscuous;
    private volatile int bufferSize;
    private volatile String filter;
    private volatile boolean pace;
    private volatile long hardwareAddress = MacAddress.UNKNOWN;

    PcapChannelConfig(Channel channel) {
        super(channel);
        apply(PcapSettings.defaults());
    }

    /** Takes every setting at once. */
    public PcapChannelConfig apply(PcapSettings settings) {
        snaplen = settings.snaplen();
        promiscuous = settings.promiscuous();
        bufferSize = settings.bufferSize();
        filter = settings.filter();
        pace = settings.pace();
        readBatch(settings.readBatch());
        return this;
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), PcapChannelOption.SNAPLEN, PcapChannelOption.PROMISCUOUS,
                PcapChannelOption.BUFFER_SIZE, PcapChannelOption.FILTER, PcapChannelOption.PACE,
                PcapChannelOption.HARDWARE_ADDRESS);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == PcapChannelOption.SNAPLEN) {
            return (T) Integer.valueOf(snaplen);
        }
        if (option == PcapChannelOption.PROMISCUOUS) {
            return (T) Boolean.valueOf(promiscuous);
        }
        if (option == PcapChannelOption.BUFFER_SIZE) {
            return (T) Integer.valueOf(bufferSize);
        }
        if (option == PcapChannelOption.FILTER) {
            return (T) filter;
        }
        if (option == PcapChannelOption.PACE) {
            return (T) Boolean.valueOf(pace);
        }
        if (option == PcapChannelOption.HARDWARE_ADDRESS) {
            return (T) Long.valueOf(hardwareAddress);
        }
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == PcapChannelOption.SNAPLEN) {
            snaplen = (Integer) value;
        } else if (option == PcapChannelOption.PROMISCUOUS) {
            promiscuous = (Boolean) value;
        } else if (option == PcapChannelOption.BUFFER_SIZE) {
            bufferSize = (Integer) value;
        } else if (option == PcapChannelOption.FILTER) {
            filter = (String) value;
        } else if (option == PcapChannelOption.PACE) {
            pace = (Boolean) value;
        } else if (option == PcapChannelOption.HARDWARE_ADDRESS) {
            hardwareAddress = (Long) value;
        } else {
            return super.setOption(option, value);
        }
        return true;
    }

    int snaplen() {
        return snaplen;
    }

    boolean promiscuous() {
        return promiscuous;
    }

    int bufferSize() {
        return bufferSize;
    }

    String filter() {
        return filter;
    }

    long hardwareAddress() {
        return hardwareAddress;
    }

    boolean pace() {
        return pace;
    }
}

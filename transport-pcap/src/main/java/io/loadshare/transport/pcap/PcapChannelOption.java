package io.loadshare.transport.pcap;

import io.netty.channel.ChannelOption;

/** Options of the pcap channels; their defaults come from {@code reference.conf} ({@link PcapSettings}). */
public final class PcapChannelOption<T> extends ChannelOption<T> {
    /** Bytes captured per frame. */
    public static final ChannelOption<Integer> SNAPLEN = valueOf(PcapChannelOption.class, "SNAPLEN");
    /** Capture frames for other hosts too. */
    public static final ChannelOption<Boolean> PROMISCUOUS = valueOf(PcapChannelOption.class, "PROMISCUOUS");
    /** libpcap's kernel buffer, in bytes. */
    public static final ChannelOption<Integer> BUFFER_SIZE = valueOf(PcapChannelOption.class, "BUFFER_SIZE");
    /** A BPF filter expression in tcpdump syntax. */
    public static final ChannelOption<String> FILTER = valueOf(PcapChannelOption.class, "FILTER");
    /** The MAC address the channel reports as its own (a pcap channel cannot learn it), for dispatchers. */
    public static final ChannelOption<Long> HARDWARE_ADDRESS = valueOf(PcapChannelOption.class, "HARDWARE_ADDRESS");
    /** Replay a file at the pace it was captured. */
    public static final ChannelOption<Boolean> PACE = valueOf(PcapChannelOption.class, "PACE");

    @SuppressWarnings("deprecation")
    private PcapChannelOption() {
        super(null);
    }
}

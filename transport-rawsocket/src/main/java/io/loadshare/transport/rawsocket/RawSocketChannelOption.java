package io.loadshare.transport.rawsocket;

import io.netty.channel.ChannelOption;

/**
 * Options of a {@link RawSocketChannel}. They take effect when the channel binds; their defaults come from the
 * module's {@code reference.conf} ({@link RawSocketSettings}).
 */
public final class RawSocketChannelOption<T> extends ChannelOption<T> {
    /** PACKET_VNET_HDR: exchange virtio-net headers, so partial checksums and GSO frames forward correctly. */
    public static final ChannelOption<Boolean> VNET_HEADER = valueOf(RawSocketChannelOption.class, "VNET_HEADER");
    /** PACKET_IGNORE_OUTGOING: never read back frames this host sends. */
    public static final ChannelOption<Boolean> IGNORE_OUTGOING =
            valueOf(RawSocketChannelOption.class, "IGNORE_OUTGOING");
    /** SO_ATTACH_FILTER: the kernel filter that decides which frames reach user space. */
    public static final ChannelOption<SocketFilter> SOCKET_FILTER =
            valueOf(RawSocketChannelOption.class, "SOCKET_FILTER");
    /** Largest frame accepted, GSO super-frames included; larger ones are counted as oversize and dropped. */
    public static final ChannelOption<Integer> MAX_FRAME_SIZE = valueOf(RawSocketChannelOption.class, "MAX_FRAME_SIZE");
    /** SO_RCVBUF in bytes; 0 keeps the kernel's default. */
    public static final ChannelOption<Integer> RECEIVE_BUFFER_SIZE =
            valueOf(RawSocketChannelOption.class, "RECEIVE_BUFFER_SIZE");
    /** Most frames one sendmmsg call sends. */
    public static final ChannelOption<Integer> SEND_BATCH = valueOf(RawSocketChannelOption.class, "SEND_BATCH");
    /** Receive through a TPACKET_V2 or V3 ring instead of a recvmmsg per batch into a scratch area. */
    public static final ChannelOption<RingSettings> RX_RING = valueOf(RawSocketChannelOption.class, "RX_RING");
    /**
     * PACKET_FANOUT group id, {@link RawSocketChannel#NEW_FANOUT_GROUP} for a new group whose id the kernel picks
     * ({@link RawSocketChannel#fanoutGroup()} tells it once bound), or -1 for none: sockets of one group, each on
     * its own event loop, share an interface's frames, each flow always reaching the same socket.
     */
    public static final ChannelOption<Integer> FANOUT_GROUP = valueOf(RawSocketChannelOption.class, "FANOUT_GROUP");
    /**
     * How a fanout group picks a socket: null for the kernel's flow hash (PACKET_FANOUT_HASH), or a program
     * (PACKET_FANOUT_CBPF) that keys both directions of a translated flow alike.
     */
    public static final ChannelOption<FanoutSteering> FANOUT_STEERING =
            valueOf(RawSocketChannelOption.class, "FANOUT_STEERING");
    /** PACKET_QDISC_BYPASS: transmit straight to the driver, skipping the queueing discipline. */
    public static final ChannelOption<Boolean> QDISC_BYPASS = valueOf(RawSocketChannelOption.class, "QDISC_BYPASS");

    /**
     * 802.1Q VLAN id, 1..4094, to serve one VLAN of a trunk as a user-space VLAN interface (only its frames are read,
     * untagged; every frame sent is tagged); 0 for none.
     */
    public static final ChannelOption<Integer> VLAN = valueOf(RawSocketChannelOption.class, "VLAN");

    /**
     * The one EtherType the socket receives (0x0806 for ARP), or 0 for every one. A socket of its own for ARP has its
     * own receive queue: a flood of data frames cannot bury the ARP replies that keep backends up.
     */
    public static final ChannelOption<Integer> ETHER_TYPE = valueOf(RawSocketChannelOption.class, "ETHER_TYPE");

    @SuppressWarnings("deprecation")
    private RawSocketChannelOption() {
        super(null);
    }
}

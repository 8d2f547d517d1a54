package io.loadshare.core.testing;

import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

/**
 * Frames for tests that need many variants (lifecycle, fuzzing), between the test client's and the dispatcher's
 * MACs. Golden tests use scapy-made bytes instead; {@code TestFramesTest} checks {@link Frames} against them.
 */
public final class TestFrames {
    public static final long CLIENT_MAC = MacAddress.parse("02:00:00:00:00:01");
    public static final long DISPATCHER_MAC = MacAddress.parse("02:00:00:00:00:fe");
    public static final long BACKEND_MAC = MacAddress.parse("02:00:00:00:00:0b");

    private TestFrames() {
    }

    /** A buffer holding the given hex bytes. */
    public static ByteBuf hex(String hex) {
        return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
    }

    /** The hex of a buffer's readable bytes, without consuming them. */
    public static String hex(ByteBuf buf) {
        return ByteBufUtil.hexDump(buf);
    }

    /** A TCP segment from the client's MAC to the dispatcher's, as {@link Frames#tcp} writes it. */
    public static ByteBuf tcp(int source, int sourcePort, int destination, int destinationPort, int flags,
            byte[] payload) {
        return Frames.tcp(Unpooled.buffer(), DISPATCHER_MAC, CLIENT_MAC, source, sourcePort, destination,
                destinationPort, 1000, flags == TcpHeader.SYN ? 0 : 5001, flags, payload);
    }

    /** A UDP datagram from the client's MAC to the dispatcher's. */
    public static ByteBuf udp(int source, int sourcePort, int destination, int destinationPort, byte[] payload) {
        return Frames.udp(Unpooled.buffer(), DISPATCHER_MAC, CLIENT_MAC, source, sourcePort, destination,
                destinationPort, payload);
    }
}

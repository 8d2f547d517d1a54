package io.loadshare.transport.rawsocket;

import io.loadshare.core.metrics.LongCounters;

/** A raw-socket channel's own counters, written by its event loop and readable from any thread. */
public final class RawSocketStats {
    private static final int RX_FRAMES = 0;
    private static final int RX_BYTES = 1;
    private static final int RX_OVERSIZE = 2;
    private static final int TX_FRAMES = 3;
    private static final int TX_BYTES = 4;
    private static final int TX_OVERSIZE = 5;
    private static final int TX_NO_BUFFERS = 6;
    private static final int TX_ERRORS = 7;
    private static final int TX_BLOCKED = 8;
    private static final int RX_OTHER_VLAN = 9;
    private static final int KERNEL_PACKETS = 10;
    private static final int KERNEL_DROPS = 11;

    private final LongCounters counters = new LongCounters(12);

    void countReceived(int bytes) {
        counters.increment(RX_FRAMES);
        counters.add(RX_BYTES, bytes);
    }

    void countReceivedOversize() {
        counters.increment(RX_OVERSIZE);
    }

    void countReceivedOtherVlan() {
        counters.increment(RX_OTHER_VLAN);
    }

    void countKernel(long packets, long drops) {
        counters.add(KERNEL_PACKETS, packets);
        counters.add(KERNEL_DROPS, drops);
    }

    /**
     * Frames the kernel handed the socket (PACKET_STATISTICS), as of the last
     * {@link RawSocketChannel#refreshKernelStatistics}.
     */
    public long kernelPackets() {
        return counters.get(KERNEL_PACKETS);
    }

    /**
     * Frames the kernel dropped because the socket's receive queue or ring was full (PACKET_STATISTICS), as of the
     * last {@link RawSocketChannel#refreshKernelStatistics}: what a flood costs before user space sees anything.
     */
    public long kernelDrops() {
        return counters.get(KERNEL_DROPS);
    }

    void countSent(int bytes) {
        counters.increment(TX_FRAMES);
        counters.add(TX_BYTES, bytes);
    }

    void countSendOversize() {
        counters.increment(TX_OVERSIZE);
    }

    void countSendNoBuffers() {
        counters.increment(TX_NO_BUFFERS);
    }

    void countSendError() {
        counters.increment(TX_ERRORS);
    }

    void countSendBlocked() {
        counters.increment(TX_BLOCKED);
    }

    public long receivedFrames() {
        return counters.get(RX_FRAMES);
    }

    public long receivedBytes() {
        return counters.get(RX_BYTES);
    }

    /** Frames longer than max-frame-size: dropped, never truncated. */
    public long receivedOversize() {
        return counters.get(RX_OVERSIZE);
    }

    /** Frames skipped because they were not of the channel's VLAN (untagged ones included). */
    public long receivedOtherVlan() {
        return counters.get(RX_OTHER_VLAN);
    }

    public long sentFrames() {
        return counters.get(TX_FRAMES);
    }

    public long sentBytes() {
        return counters.get(TX_BYTES);
    }

    /** Frames the kernel refused as too long for the interface (EMSGSIZE). */
    public long sendOversizeDrops() {
        return counters.get(TX_OVERSIZE);
    }

    /** Frames dropped because the driver queue was full (ENOBUFS). */
    public long sendNoBufferDrops() {
        return counters.get(TX_NO_BUFFERS);
    }

    /** Frames dropped for any other send error. */
    public long sendErrors() {
        return counters.get(TX_ERRORS);
    }

    /** Times a send found the socket full and waited for EPOLLOUT. */
    public long sendBlocked() {
        return counters.get(TX_BLOCKED);
    }

    @Override
    public String toString() {
        return "rx " + receivedFrames() + " frames/" + receivedBytes() + " B (oversize " + receivedOversize()
                + "), tx " + sentFrames() + " frames/" + sentBytes() + " B (oversize " + sendOversizeDrops()
                + ", no buffers " + sendNoBufferDrops() + ", errors " + sendErrors() + ", blocked " + sendBlocked() + ")";
    }
}

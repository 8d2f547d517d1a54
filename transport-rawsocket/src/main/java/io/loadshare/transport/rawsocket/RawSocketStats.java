package io.loadshare.transport.rawsocket;

import io.loadshare.core.channel.FrameChannelStats;

/**
 * A raw-socket channel's counters: those of every frame channel, and the socket's own (send errors by errno, VLAN
 * skips, the kernel's PACKET_STATISTICS, wake-ups and system calls with their batch sizes). Written by the channel's
 * event loop, readable from any thread.
 */
public final class RawSocketStats extends FrameChannelStats {
    /** Buckets of the two batch histograms: up to 0, 1, 2, 4, ... 64 frames, and more. */
    public static final int BATCH_BUCKETS = 9;
    private static final int TX_OVERSIZE = FIRST_OWN_COUNTER;
    private static final int TX_NO_BUFFERS = FIRST_OWN_COUNTER + 1;
    private static final int TX_BLOCKED = FIRST_OWN_COUNTER + 2;
    private static final int RX_OTHER_VLAN = FIRST_OWN_COUNTER + 3;
    private static final int KERNEL_PACKETS = FIRST_OWN_COUNTER + 4;
    private static final int KERNEL_DROPS = FIRST_OWN_COUNTER + 5;
    private static final int WAKE_UPS = FIRST_OWN_COUNTER + 6;
    private static final int WAKE_UP_FRAMES = FIRST_OWN_COUNTER + 7;
    private static final int RECEIVE_CALLS = FIRST_OWN_COUNTER + 8;
    private static final int SEND_CALLS = FIRST_OWN_COUNTER + 9;
    private static final int SEND_CALL_FRAMES = FIRST_OWN_COUNTER + 10;
    /** Buckets of frames per wake-up, then of frames per send call. */
    private static final int WAKE_UP_BUCKETS = FIRST_OWN_COUNTER + 11;
    private static final int SEND_CALL_BUCKETS = WAKE_UP_BUCKETS + BATCH_BUCKETS;

    RawSocketStats() {
        super(SEND_CALL_BUCKETS + BATCH_BUCKETS - FIRST_OWN_COUNTER);
    }

    /** The largest batch bucket {@code bucket} holds: 0, 1, 2, 4, ... 64, then infinity. */
    public static double batchBucketBound(int bucket) {
        return bucket == 0 ? 0 : bucket == BATCH_BUCKETS - 1 ? Double.POSITIVE_INFINITY : 1 << (bucket - 1);
    }

    /** The bucket of a batch of {@code frames}: 0 for none, then by powers of two. */
    static int batchBucket(int frames) {
        return frames <= 0 ? 0 : Math.min(BATCH_BUCKETS - 1, 33 - Integer.numberOfLeadingZeros(frames - 1));
    }

    void countWakeUp(int frames) {
        counters.increment(WAKE_UPS);
        counters.add(WAKE_UP_FRAMES, frames);
        counters.increment(WAKE_UP_BUCKETS + batchBucket(frames));
    }

    void countReceiveCall() {
        counters.increment(RECEIVE_CALLS);
    }

    void countSendCall(int sent) {
        counters.increment(SEND_CALLS);
        counters.add(SEND_CALL_FRAMES, Math.max(0, sent));
        counters.increment(SEND_CALL_BUCKETS + batchBucket(sent));
    }

    /** Times the socket was ready to read and the event loop came to read it: each is an epoll wake-up's share. */
    public long wakeUps() {
        return counters.get(WAKE_UPS);
    }

    /** Frames read in all wake-ups together: the sum of {@link #wakeUpsReading}'s histogram. */
    public long wakeUpFrames() {
        return counters.get(WAKE_UP_FRAMES);
    }

    /** Wake-ups that read as many frames as batch bucket {@code bucket} holds (not cumulative). */
    public long wakeUpsReading(int bucket) {
        return counters.get(WAKE_UP_BUCKETS + bucket);
    }

    /** recvmmsg system calls (plain receive); a ring reads without any, but for frames too big for its slots. */
    public long receiveCalls() {
        return counters.get(RECEIVE_CALLS);
    }

    /** sendmmsg system calls, failed ones included. */
    public long sendCalls() {
        return counters.get(SEND_CALLS);
    }

    /** Frames the sendmmsg calls sent: the sum of {@link #sendCallsSending}'s histogram. */
    public long sendCallFrames() {
        return counters.get(SEND_CALL_FRAMES);
    }

    /** sendmmsg calls that sent as many frames as batch bucket {@code bucket} holds (not cumulative). */
    public long sendCallsSending(int bucket) {
        return counters.get(SEND_CALL_BUCKETS + bucket);
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

    void countSendOversize() {
        counters.increment(TX_OVERSIZE);
    }

    void countSendNoBuffers() {
        counters.increment(TX_NO_BUFFERS);
    }

    void countSendBlocked() {
        counters.increment(TX_BLOCKED);
    }

    /** Frames skipped because they were not of the channel's VLAN (untagged ones included). */
    public long receivedOtherVlan() {
        return counters.get(RX_OTHER_VLAN);
    }

    /** Frames the kernel refused as too long for the interface (EMSGSIZE). */
    public long sendOversizeDrops() {
        return counters.get(TX_OVERSIZE);
    }

    /** Frames dropped because the driver queue was full (ENOBUFS). */
    public long sendNoBufferDrops() {
        return counters.get(TX_NO_BUFFERS);
    }

    /** Times a send found the socket full and waited for EPOLLOUT. */
    public long sendBlocked() {
        return counters.get(TX_BLOCKED);
    }

    @Override
    public String toString() {
        return "rx " + receivedFrames() + " frames/" + receivedBytes() + " B (oversize " + receivedOversize()
                + "), tx " + sentFrames() + " frames/" + sentBytes() + " B (oversize " + sendOversizeDrops()
                + ", no buffers " + sendNoBufferDrops() + ", errors " + sendErrors() + ", blocked " + sendBlocked()
                + "), " + wakeUps() + " wake-ups, " + receiveCalls() + " recvmmsg, " + sendCalls() + " sendmmsg";
    }
}

package io.loadshare.core.channel;

import io.loadshare.core.metrics.LongCounters;

/**
 * The counters every frame channel keeps, written by its event loop and readable from any thread. A transport
 * that counts more extends it, with its own counters from {@link #FIRST_OWN_COUNTER} on.
 */
public class FrameChannelStats {
    private static final int RX_FRAMES = 0;
    private static final int RX_BYTES = 1;
    private static final int RX_OVERSIZE = 2;
    private static final int TX_FRAMES = 3;
    private static final int TX_BYTES = 4;
    private static final int TX_ERRORS = 5;
    /** The index of a subclass's first counter in {@link #counters}. */
    protected static final int FIRST_OWN_COUNTER = 6;

    /** The shared counters, then a subclass's own. */
    protected final LongCounters counters;
    private volatile String lastSendError = "";

    public FrameChannelStats() {
        this(0);
    }

    /** Room for {@code ownCounters} more, from {@link #FIRST_OWN_COUNTER}. */
    protected FrameChannelStats(int ownCounters) {
        this.counters = new LongCounters(FIRST_OWN_COUNTER + ownCounters);
    }

    void countReceived(int bytes) {
        counters.increment(RX_FRAMES);
        counters.add(RX_BYTES, bytes);
    }

    void countReceivedOversize() {
        counters.increment(RX_OVERSIZE);
    }

    void countSent(int bytes) {
        counters.increment(TX_FRAMES);
        counters.add(TX_BYTES, bytes);
    }

    void countSendError(String error) {
        counters.increment(TX_ERRORS);
        lastSendError = error;
    }

    public long receivedFrames() {
        return counters.get(RX_FRAMES);
    }

    public long receivedBytes() {
        return counters.get(RX_BYTES);
    }

    /** Frames longer than the channel takes (its snaplen or max frame size): dropped, never passed on cut short. */
    public long receivedOversize() {
        return counters.get(RX_OVERSIZE);
    }

    public long sentFrames() {
        return counters.get(TX_FRAMES);
    }

    public long sentBytes() {
        return counters.get(TX_BYTES);
    }

    /** Frames dropped for a send error the transport has no counter of its own for. */
    public long sendErrors() {
        return counters.get(TX_ERRORS);
    }

    /** The transport's text for the most recent of {@link #sendErrors()}, or empty. */
    public String lastSendError() {
        return lastSendError;
    }

    @Override
    public String toString() {
        return "rx " + receivedFrames() + " frames/" + receivedBytes() + " B (oversize " + receivedOversize()
                + "), tx " + sentFrames() + " frames/" + sentBytes() + " B (errors " + sendErrors() + ")";
    }
}

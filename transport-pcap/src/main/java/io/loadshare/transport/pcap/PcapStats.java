package io.loadshare.transport.pcap;

import io.loadshare.core.metrics.LongCounters;

/** A pcap channel's counters, written by its event loop and readable from any thread. */
public final class PcapStats {
    private static final int RX_FRAMES = 0;
    private static final int RX_BYTES = 1;
    private static final int RX_OVERSIZE = 2;
    private static final int TX_FRAMES = 3;
    private static final int TX_BYTES = 4;
    private static final int TX_ERRORS = 5;

    private final LongCounters counters = new LongCounters(6);
    private volatile String lastSendError = "";

    void countReceived(int bytes) {
        counters.increment(RX_FRAMES);
        counters.add(RX_BYTES, bytes);
    }

    void countOversize() {
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

    /** Frames longer than the snaplen: dropped, never passed on cut short. */
    public long receivedOversize() {
        return counters.get(RX_OVERSIZE);
    }

    public long sentFrames() {
        return counters.get(TX_FRAMES);
    }

    public long sentBytes() {
        return counters.get(TX_BYTES);
    }

    public long sendErrors() {
        return counters.get(TX_ERRORS);
    }

    /** libpcap's text for the most recent send error, or empty. */
    public String lastSendError() {
        return lastSendError;
    }
}

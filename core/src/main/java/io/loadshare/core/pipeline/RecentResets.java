package io.loadshare.core.pipeline;

import io.loadshare.core.session.Flow;

/**
 * Flows whose session {@link ClassifyHandler} ended for a gone backend, remembered for a short while so that the
 * client's answer to the reset is answered with another reset. A reset whose sequence number is in the window but
 * not exactly the next expected one draws a challenge ACK instead of closing the connection (RFC 5961 section
 * 3.2); under LSMAC the backend's data reaches the client directly and moves that number on while the reset is on
 * its way, so the first reset often misses. The challenge ACK carries the exact number, and the second reset
 * closes the connection. A flow is remembered for a linger after the last segment that drew a reset, so that
 * as long as the backend's data keeps the client talking, each segment is answered.
 *
 * <p>A direct-mapped array of a fixed size: a newer flow overwrites an older one in its slot, lookups cost one
 * probe, nothing is allocated. Used by one event loop.
 */
final class RecentResets {
    private static final int SLOTS = 1024;
    private final long[] keys = new long[SLOTS * 2];
    private final int[] deadlines = new int[SLOTS];
    private final int lifetimeMillis;

    /** @param lifetimeMillis how long a flow is remembered: the TCP linger, the time a reset session would live */
    RecentResets(int lifetimeMillis) {
        this.lifetimeMillis = Math.max(1, lifetimeMillis);
    }

    void remember(Flow flow, int now) {
        int slot = slot(flow);
        keys[slot * 2] = key0(flow);
        keys[slot * 2 + 1] = key1(flow);
        deadlines[slot] = now + lifetimeMillis;
    }

    boolean contains(Flow flow, int now) {
        int slot = slot(flow);
        return keys[slot * 2] == key0(flow) && keys[slot * 2 + 1] == key1(flow) && deadlines[slot] - now > 0;
    }

    private static int slot(Flow flow) {
        return flow.flowHash() & (SLOTS - 1);
    }

    private static long key0(Flow flow) {
        return ((long) flow.sourceAddress() << 32) | (flow.destinationAddress() & 0xFFFF_FFFFL);
    }

    private static long key1(Flow flow) {
        return 1L << 40 | (long) flow.protocol() << 32 | (flow.sourcePort() & 0xFFFFL) << 16
                | (flow.destinationPort() & 0xFFFFL);
    }
}

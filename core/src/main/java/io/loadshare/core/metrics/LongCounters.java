package io.loadshare.core.metrics;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A fixed array of counters with one writer thread and any number of readers. The writer uses plain
 * read-modify-write with an opaque store (no lock, no CAS, no fence on x86); readers see every value
 * eventually, and never a torn one.
 */
public final class LongCounters {
    private static final VarHandle ELEMENT = MethodHandles.arrayElementVarHandle(long[].class);

    private final long[] values;

    public LongCounters(int size) {
        this.values = new long[size];
    }

    public int size() {
        return values.length;
    }

    /** Writer thread only. */
    public void add(int index, long delta) {
        ELEMENT.setOpaque(values, index, (long) ELEMENT.getOpaque(values, index) + delta);
    }

    /** Writer thread only. */
    public void increment(int index) {
        add(index, 1);
    }

    /** Any thread. */
    public long get(int index) {
        return (long) ELEMENT.getOpaque(values, index);
    }
}

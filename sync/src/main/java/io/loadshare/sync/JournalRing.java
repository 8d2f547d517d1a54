package io.loadshare.sync;

import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.session.SessionJournal;
import io.loadshare.core.session.SessionTable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One worker's session changes on their way to the sync's thread: a single-producer, single-consumer ring of
 * fixed-size records in a {@code long[]}, written on the worker's loop without allocating or locking, drained by
 * the sync's thread once per batch interval. A full ring drops the change and counts it; the peers' next full
 * table repairs what they missed.
 *
 * <p>A record, four words: client address | cluster address; kind (8) | protocol (8) | state (8) | service
 * index (8) | client port (16) | cluster port (16); NAT address index (3) | backend id (16) | NAT port (16);
 * last-hop MAC.
 */
final class JournalRing implements SessionJournal {
    static final int CHANGED = 1;
    static final int CLOSED = 2;
    static final int TEMPLATE = 3;
    private static final int WORDS = 4;
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(JournalRing.class, "head", long.class);
            TAIL = lookup.findVarHandle(JournalRing.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long[] records;
    private final int mask;
    private final AtomicLong dropped = new AtomicLong();
    /** Next record the consumer reads; written by the consumer. */
    @SuppressWarnings("unused")
    private volatile long head;
    /** Next record the producer writes; written by the producer. */
    @SuppressWarnings("unused")
    private volatile long tail;
    /** The producer's last look at {@link #head}. */
    private long headSeen;

    JournalRing(int capacity) {
        this.records = new long[capacity * WORDS];
        this.mask = capacity - 1;
    }

    @Override
    public void changed(SessionTable table, int slot) {
        append(CHANGED, table, slot);
    }

    @Override
    public void closed(SessionTable table, int slot, SessionEnd end) {
        // A stopping dispatcher flushes its table: its peers keep the sessions, which live on elsewhere.
        if (end != SessionEnd.FLUSHED) {
            append(CLOSED, table, slot);
        }
    }

    @Override
    public void template(int serviceIndex, int network, int backendId, int lifetimeMillis) {
        long t = claim();
        if (t >= 0) {
            packTemplate(serviceIndex, network, backendId, lifetimeMillis, records, (int) (t & mask) * WORDS);
            TAIL.setRelease(this, t + 1);
        }
    }

    private void append(int kind, SessionTable table, int slot) {
        long t = claim();
        if (t >= 0) {
            pack(kind, table, slot, records, (int) (t & mask) * WORDS);
            TAIL.setRelease(this, t + 1);
        }
    }

    /** The next record's position, or -1 (counted) when the ring is full. */
    private long claim() {
        long t = (long) TAIL.getOpaque(this);
        if (t - headSeen > mask) {
            headSeen = (long) HEAD.getAcquire(this);
            if (t - headSeen > mask) {
                dropped.incrementAndGet();
                return -1;
            }
        }
        return t;
    }

    /**
     * Writes a persistence template as one record: the client network in the client's place, the lifetime in the
     * last-hop word. The service's protocol and address are the writer's to fill in from the service index.
     */
    static void packTemplate(int serviceIndex, int network, int backendId, int lifetimeMillis, long[] into,
            int base) {
        into[base] = (long) network << 32;
        into[base + 1] = ((long) TEMPLATE << 56) | ((long) serviceIndex << 32);
        into[base + 2] = (long) backendId << 16;
        into[base + 3] = lifetimeMillis;
    }

    /** Writes a slot's session as one record's four words at {@code into[base]}. */
    static void pack(int kind, SessionTable table, int slot, long[] into, int base) {
        into[base] = ((long) table.sourceAddress(slot) << 32) | (table.destinationAddress(slot) & 0xFFFF_FFFFL);
        into[base + 1] = ((long) kind << 56) | ((long) table.protocol(slot) << 48)
                | ((long) table.state(slot) << 40) | ((long) table.serviceIndex(slot) << 32)
                | ((long) table.sourcePort(slot) << 16) | table.destinationPort(slot);
        into[base + 2] = ((long) table.natAddress(slot) << 32) | ((long) table.backendId(slot) << 16)
                | table.natPort(slot);
        into[base + 3] = table.keepsLastHops() ? table.lastHop(slot) : 0;
    }

    /** Changes dropped because the ring was full. */
    long dropped() {
        return dropped.get();
    }

    /** Hands each pending record to {@code sink}, oldest first; the consumer's thread only. */
    int drain(RecordSink sink) {
        long h = (long) HEAD.getOpaque(this);
        long t = (long) TAIL.getAcquire(this);
        for (long i = h; i < t; i++) {
            int base = (int) (i & mask) * WORDS;
            sink.accept(records[base], records[base + 1], records[base + 2], records[base + 3]);
        }
        HEAD.setRelease(this, t);
        return (int) (t - h);
    }

    /** Takes one record's four words. */
    @FunctionalInterface
    interface RecordSink {
        void accept(long addresses, long flow, long backend, long lastHop);
    }
}

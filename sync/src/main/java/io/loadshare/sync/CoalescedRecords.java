package io.loadshare.sync;

import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.session.SessionState;
import java.util.Arrays;

/**
 * The journal records of one batch, one per flow: a flow's later change replaces its earlier one, its end replaces
 * its changes, and a TCP session that both opened and ended within the batch leaves nothing, since no peer ever heard
 * of it. Short connections, most of a web service's, then cost the tier no bytes at all; IPVS's sync daemon skips
 * them too ({@code sync_threshold}), by packet count rather than time. Templates pass as they are.
 *
 * <p>Records keep the journal's four-word layout ({@link JournalRing}) and their first arrival's order. Bounded:
 * {@link #isFull} asks the caller to take what it holds first. The sync's thread only; it allocates nothing after
 * construction.
 */
final class CoalescedRecords {
    private static final int WORDS = 4;
    private static final int KIND_SHIFT = 56;
    /** The flow's identity in a record's second word: protocol, service, ports (kind and state masked out). */
    private static final long FLOW_MASK = 0x00FF_00FF_FFFF_FFFFL;
    private static final long DEAD = 0;

    private final long[] records;
    /** Per record: whether the batch holds the flow's opening, so that its end here means nobody needs it. */
    private final boolean[] openedHere;
    /** Open addressing over record numbers plus one, 0 for empty; twice the records, so probes stay short. */
    private final int[] index;
    private final int indexMask;
    private int count;

    /** @param capacity the records one batch holds before it must be taken */
    CoalescedRecords(int capacity) {
        this.records = new long[capacity * WORDS];
        this.openedHere = new boolean[capacity];
        this.index = new int[Integer.highestOneBit(capacity * 2 - 1) << 1];
        this.indexMask = index.length - 1;
    }

    /** Takes one journal record. */
    void add(long addresses, long flow, long backend, long lastHop) {
        int kind = (int) (flow >>> KIND_SHIFT) & 0xFF;
        if (kind == JournalRing.TEMPLATE) {
            append(addresses, flow, backend, lastHop, false);
            return;
        }
        int position = home(addresses, flow);
        while (index[position] != 0) {
            int record = index[position] - 1;
            int base = record * WORDS;
            if (records[base] == addresses && (records[base + 1] & FLOW_MASK) == (flow & FLOW_MASK)
                    && kindOf(record) != JournalRing.TEMPLATE) {
                if (kind == JournalRing.CLOSED && openedHere[record]) {
                    // Kind 0, dead; the flow's words stay, so the record still names it should it open again.
                    records[base + 1] = flow & FLOW_MASK;
                    records[base + 2] = DEAD;
                    records[base + 3] = DEAD;
                    openedHere[record] = false;
                    return;
                }
                if (kind == JournalRing.CHANGED && kindOf(record) == 0) {
                    openedHere[record] = opens(flow);
                }
                records[base + 1] = flow;
                records[base + 2] = backend;
                records[base + 3] = lastHop;
                return;
            }
            position = (position + 1) & indexMask;
        }
        index[position] = append(addresses, flow, backend, lastHop, kind == JournalRing.CHANGED && opens(flow)) + 1;
    }

    /** Whether the batch cannot take another record. */
    boolean isFull() {
        return count * WORDS == records.length;
    }

    /** Hands each surviving record to {@code sink} in arrival order, then empties the batch. */
    int drainTo(JournalRing.RecordSink sink) {
        int handed = 0;
        for (int record = 0; record < count; record++) {
            if (kindOf(record) != 0) {
                int base = record * WORDS;
                sink.accept(records[base], records[base + 1], records[base + 2], records[base + 3]);
                handed++;
            }
        }
        Arrays.fill(index, 0);
        count = 0;
        return handed;
    }

    private int append(long addresses, long flow, long backend, long lastHop, boolean opened) {
        int record = count++;
        int base = record * WORDS;
        records[base] = addresses;
        records[base + 1] = flow;
        records[base + 2] = backend;
        records[base + 3] = lastHop;
        openedHere[record] = opened;
        return record;
    }

    private int kindOf(int record) {
        return (int) (records[record * WORDS + 1] >>> KIND_SHIFT) & 0xFF;
    }

    /** Whether a change is a TCP session's opening: a SYN made it, here or on the peer it was taken from. */
    private static boolean opens(long flow) {
        return ((flow >>> 48) & 0xFF) == IpProtocol.TCP && ((flow >>> 40) & 0xFF) == SessionState.SYN_SEEN;
    }

    private int home(long addresses, long flow) {
        long h = (addresses ^ Long.rotateLeft(flow & FLOW_MASK, 29)) * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h >>> 40) & indexMask;
    }
}

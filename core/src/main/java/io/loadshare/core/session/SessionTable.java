package io.loadshare.core.session;

import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.TcpHeader;

/**
 * The session table of one event loop: an open-addressing hash table over a single {@code long[]}, three words
 * per slot, with linear probing and backward-shift deletion (no tombstones). It is not thread-safe by design:
 * only its event loop touches it, so it takes no locks.
 *
 * <p>Slot layout, 24 bytes:
 * <pre>
 * word 0: source address (32) | destination address (32)
 * word 1: NAT port (16) | service index (8) | protocol (8) | source port (16) | destination port (16)
 * word 2: aux (8) | state (8) | backend id (16) | deadline, event-loop milliseconds (32)
 * </pre>
 * The table never exceeds a load factor of {@value #MAX_LOAD_PERCENT}%, so a full table costs
 * 24 / 0.{@value #MAX_LOAD_PERCENT} = 30 bytes per session, under the paper's 32. A protocol of 0 marks an empty
 * slot. Deadlines are compared wrap-safe ({@code deadline - now <= 0}), so timeouts are limited to 24 days.
 *
 * <p>Lifecycle (paper section 3.1): a TCP entry is created on SYN without ACK and ends on FIN+ACK or RST, after a
 * linger that each later packet restarts, so that retransmitted FINs and the last ACKs still reach the same
 * backend. UDP entries end by idle timeout alone. Expired entries are removed when a lookup finds them and by
 * {@link #sweep}, which visits a bounded number of slots per call.
 *
 * <p>Optionally the table keeps each session's last hop: the source MAC of the frame that created it, in a
 * parallel {@code long[]} (8 more bytes a slot). LSNAT addresses a session's replies to it, so that no later frame,
 * spoofed or not, can move where another session's replies go.
 *
 * <p>A slot index returned by {@link #lookup} or {@link #insert} stays valid until the next insert, removal or
 * sweep.
 */
public final class SessionTable {
    /** Services one table distinguishes: the index is 8 bits of the slot. */
    public static final int MAX_SERVICES = 256;
    /** Hard upper bound on {@code max-sessions}: keeps {@code 3 × slots} within one Java array. */
    public static final int MAX_SESSIONS = 500_000_000;
    static final int MAX_LOAD_PERCENT = 80;
    private static final int WORDS = 3;
    private static final long KEY_MASK = 0xFF_FFFF_FFFFL;
    private static final long DEADLINE_MASK = 0xFFFF_FFFFL;

    private final long[] words;
    /** Per slot, the session's last-hop MAC (0 until set); null unless the table keeps them. */
    private final long[] lastHops;
    private final int capacity;
    private final int maxSessions;
    private final int synTimeoutMillis;
    private final int tcpIdleMillis;
    private final int lingerMillis;
    private final int udpIdleMillis;
    private final int sweepBudget;
    private final SessionListener listener;
    private int size;
    private int sweepCursor;

    public SessionTable(SessionSettings settings, SessionListener listener) {
        this(settings, listener, false);
    }

    /** @param lastHops whether to keep each session's last-hop MAC ({@link #lastHop}) */
    public SessionTable(SessionSettings settings, SessionListener listener, boolean lastHops) {
        this.maxSessions = settings.maxSessions();
        this.capacity = (int) Math.min(Integer.MAX_VALUE / WORDS,
                ((long) maxSessions * 100 + MAX_LOAD_PERCENT - 1) / MAX_LOAD_PERCENT + 1);
        this.words = new long[capacity * WORDS];
        this.lastHops = lastHops ? new long[capacity] : null;
        this.synTimeoutMillis = millis(settings.tcpSynTimeout().toMillis());
        this.tcpIdleMillis = millis(settings.tcpIdleTimeout().toMillis());
        this.lingerMillis = millis(settings.tcpLinger().toMillis());
        this.udpIdleMillis = millis(settings.udpIdleTimeout().toMillis());
        long budget = (long) Math.ceil((double) capacity * settings.sweepInterval().toNanos()
                / settings.sweepCycle().toNanos());
        this.sweepBudget = (int) Math.max(1, Math.min(capacity, budget));
        this.listener = listener;
    }

    private static int millis(long value) {
        return (int) Math.max(1, value);
    }

    /** Sessions currently held, lingering ones included. */
    public int size() {
        return size;
    }

    public int maxSessions() {
        return maxSessions;
    }

    public boolean isFull() {
        return size >= maxSessions;
    }

    /** Slots allocated; the table's footprint is {@code 24 × capacity} bytes. */
    public int capacity() {
        return capacity;
    }

    /** Bytes held by the slot arrays. */
    public long memoryBytes() {
        return ((long) words.length + (lastHops == null ? 0 : lastHops.length)) * Long.BYTES;
    }

    /** Slots one {@link #sweep} call visits. */
    public int sweepBudget() {
        return sweepBudget;
    }

    /**
     * Finds the live session of a flow. An entry whose deadline has passed is removed (and reported) instead of
     * returned.
     *
     * @return the slot, or -1
     */
    public int lookup(Flow flow, int now) {
        return lookup(flow.protocol(), flow.sourceAddress(), flow.sourcePort(),
                flow.destinationAddress(), flow.destinationPort(), now);
    }

    /** {@link #lookup(Flow, int)} on the five fields. */
    public int lookup(int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort,
            int now) {
        long key0 = key0(sourceAddress, destinationAddress);
        long key1 = key1(protocol, sourcePort, destinationPort);
        int slot = home(key0, key1);
        while (true) {
            int base = slot * WORDS;
            long w1 = words[base + 1];
            if (w1 == 0) {
                return -1;
            }
            if ((w1 & KEY_MASK) == key1 && words[base] == key0) {
                if ((int) words[base + 2] - now <= 0) {
                    removeAt(slot, endOf(state(slot)));
                    return -1;
                }
                return slot;
            }
            slot = next(slot);
        }
    }

    /**
     * Adds a session for a flow that has none (the caller looked it up first).
     *
     * @return the slot, or -1 when the table holds {@code max-sessions} already
     */
    public int insert(Flow flow, int serviceIndex, int backendId, int now) {
        if (size >= maxSessions) {
            return -1;
        }
        long key0 = key0(flow.sourceAddress(), flow.destinationAddress());
        long key1 = key1(flow.protocol(), flow.sourcePort(), flow.destinationPort());
        int slot = home(key0, key1);
        while (words[slot * WORDS + 1] != 0) {
            slot = next(slot);
        }
        int state = flow.protocol() == IpProtocol.TCP ? SessionState.SYN_SEEN : SessionState.DATAGRAM;
        int base = slot * WORDS;
        words[base] = key0;
        words[base + 1] = key1 | ((long) (serviceIndex & 0xFF) << 40);
        words[base + 2] = packValue(now + timeoutFor(state), backendId, state, 0);
        size++;
        return slot;
    }

    /**
     * Moves a TCP session along its lifecycle for one packet with the given flags, and restarts its timer.
     */
    public void onTcpPacket(int slot, int tcpFlags, int now) {
        int state = state(slot);
        int next;
        if ((tcpFlags & TcpHeader.RST) != 0) {
            next = SessionState.RESET;
        } else if ((tcpFlags & TcpHeader.FIN) != 0 && (tcpFlags & TcpHeader.ACK) != 0) {
            next = SessionState.FIN_SEEN;
        } else if (state == SessionState.SYN_SEEN && (tcpFlags & TcpHeader.SYN) == 0) {
            next = SessionState.ESTABLISHED;
        } else {
            next = state;
        }
        if (next == SessionState.RESET && state == SessionState.RESET) {
            return;
        }
        setStateAndDeadline(slot, next, now + timeoutFor(next));
    }

    /** Restarts a UDP (or other datagram) session's idle timer. */
    public void onDatagram(int slot, int now) {
        setStateAndDeadline(slot, SessionState.DATAGRAM, now + udpIdleMillis);
    }

    /** Removes a session and reports it. */
    public void remove(int slot, SessionEnd end) {
        removeAt(slot, end);
    }

    public int state(int slot) {
        return (int) (words[slot * WORDS + 2] >>> 48) & 0xFF;
    }

    public int backendId(int slot) {
        return (int) (words[slot * WORDS + 2] >>> 32) & 0xFFFF;
    }

    public int serviceIndex(int slot) {
        return (int) (words[slot * WORDS + 1] >>> 40) & 0xFF;
    }

    /** A 16-bit port a translating mode keeps per session (full NAT's source port), 0 when unused. */
    public int natPort(int slot) {
        return (int) (words[slot * WORDS + 1] >>> 48) & 0xFFFF;
    }

    public void setNatPort(int slot, int port) {
        int base = slot * WORDS + 1;
        words[base] = (words[base] & ~(0xFFFFL << 48)) | ((long) (port & 0xFFFF) << 48);
    }

    /** The MAC the session's first frame came from, or 0 when none was recorded. Needs a table that keeps them. */
    public long lastHop(int slot) {
        return lastHops[slot];
    }

    /** Records the session's last hop; a mode calls this once, for the frame that created the session. */
    public void setLastHop(int slot, long mac) {
        lastHops[slot] = mac;
    }

    /** An 8-bit value a dispatch mode may keep per session. */
    public int aux(int slot) {
        return (int) (words[slot * WORDS + 2] >>> 56) & 0xFF;
    }

    public void setAux(int slot, int aux) {
        int base = slot * WORDS + 2;
        words[base] = (words[base] & ~(0xFFL << 56)) | ((long) (aux & 0xFF) << 56);
    }

    /** The deadline in event-loop milliseconds. */
    public int deadline(int slot) {
        return (int) words[slot * WORDS + 2];
    }

    /** The flow stored in a slot, as a value (control plane only: it allocates). */
    public FlowKey flowAt(int slot) {
        int base = slot * WORDS;
        long w0 = words[base];
        long w1 = words[base + 1];
        return new FlowKey((int) (w1 >>> 32) & 0xFF, (int) (w0 >>> 32), (int) (w1 >>> 16) & 0xFFFF, (int) w0,
                (int) w1 & 0xFFFF);
    }

    /**
     * Removes expired sessions from the next {@link #sweepBudget()} slots, continuing where the last call
     * stopped, so that the whole table is visited once per {@code sweep-cycle}.
     *
     * @return sessions removed
     */
    public int sweep(int now) {
        int removed = 0;
        int slot = sweepCursor;
        for (int visited = 0; visited < sweepBudget; visited++) {
            int base = slot * WORDS;
            // A removal shifts a later entry into this slot, so look at the same slot again.
            while (words[base + 1] != 0 && (int) words[base + 2] - now <= 0) {
                removeAt(slot, endOf(state(slot)));
                removed++;
            }
            slot = next(slot);
        }
        sweepCursor = slot;
        return removed;
    }

    /** Removes every session for which the predicate holds, such as all of a departed backend's. */
    public int removeIf(SlotPredicate predicate, SessionEnd end) {
        int removed = 0;
        for (int slot = 0; slot < capacity; slot++) {
            while (words[slot * WORDS + 1] != 0 && predicate.test(this, slot)) {
                removeAt(slot, end);
                removed++;
            }
        }
        return removed;
    }

    /** Tests one occupied slot. */
    @FunctionalInterface
    public interface SlotPredicate {
        boolean test(SessionTable table, int slot);
    }

    private void setStateAndDeadline(int slot, int state, int deadline) {
        int base = slot * WORDS + 2;
        long w2 = words[base];
        words[base] = packValue(deadline, (int) (w2 >>> 32) & 0xFFFF, state, (int) (w2 >>> 56) & 0xFF);
    }

    private int timeoutFor(int state) {
        return switch (state) {
            case SessionState.SYN_SEEN -> synTimeoutMillis;
            case SessionState.ESTABLISHED -> tcpIdleMillis;
            case SessionState.DATAGRAM -> udpIdleMillis;
            default -> lingerMillis;
        };
    }

    private static SessionEnd endOf(int state) {
        return SessionState.isClosing(state) ? SessionEnd.FINISHED : SessionEnd.IDLE_TIMEOUT;
    }

    private void removeAt(int slot, SessionEnd end) {
        int base = slot * WORDS;
        int serviceIndex = serviceIndex(slot);
        int backendId = backendId(slot);
        int natPort = natPort(slot);
        words[base] = 0;
        words[base + 1] = 0;
        words[base + 2] = 0;
        if (lastHops != null) {
            lastHops[slot] = 0;
        }
        size--;
        shiftBack(slot);
        listener.sessionClosed(serviceIndex, backendId, natPort, end);
    }

    /** Knuth's algorithm R (TAOCP 6.4): pull later members of the probe run into the hole. */
    private void shiftBack(int hole) {
        int j = hole;
        while (true) {
            j = next(j);
            int base = j * WORDS;
            if (words[base + 1] == 0) {
                return;
            }
            int home = home(words[base], words[base + 1] & KEY_MASK);
            boolean stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                int holeBase = hole * WORDS;
                words[holeBase] = words[base];
                words[holeBase + 1] = words[base + 1];
                words[holeBase + 2] = words[base + 2];
                words[base] = 0;
                words[base + 1] = 0;
                words[base + 2] = 0;
                if (lastHops != null) {
                    lastHops[hole] = lastHops[j];
                    lastHops[j] = 0;
                }
                hole = j;
            }
        }
    }

    private int next(int slot) {
        int n = slot + 1;
        return n == capacity ? 0 : n;
    }

    private int home(long key0, long key1) {
        long h = FlowHashing.mix(key0 * 0x9E37_79B9_7F4A_7C15L + key1);
        return (int) (((h >>> 32) * capacity) >>> 32);
    }

    private static long key0(int sourceAddress, int destinationAddress) {
        return ((long) sourceAddress << 32) | (destinationAddress & 0xFFFF_FFFFL);
    }

    private static long key1(int protocol, int sourcePort, int destinationPort) {
        return ((long) (protocol & 0xFF) << 32) | ((long) (sourcePort & 0xFFFF) << 16) | (destinationPort & 0xFFFF);
    }

    private static long packValue(int deadline, int backendId, int state, int aux) {
        return (deadline & DEADLINE_MASK) | ((long) (backendId & 0xFFFF) << 32) | ((long) state << 48)
                | ((long) aux << 56);
    }
}

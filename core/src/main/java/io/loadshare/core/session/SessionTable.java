package io.loadshare.core.session;

import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.metrics.LongCounters;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * The session storage of one event loop: an open-addressing hash table over a single {@code long[]}, three words
 * per slot, with linear probing and backward-shift deletion (no tombstones). It is not thread-safe by design:
 * only its event loop touches it, so it takes no locks.
 *
 * <p>Slot layout, 24 bytes:
 * <pre>
 * word 0: source address (32) | destination address (32)
 * word 1: NAT port (16) | service index (8) | protocol (8) | source port (16) | destination port (16)
 * word 2: expected ACK (8) | offloaded (1) | NAT address (3) | state (4) | backend id (16) | deadline, event-loop
 *         milliseconds (32)
 * </pre>
 * The table never exceeds a load factor of {@value #MAX_LOAD_PERCENT}%, so a full table costs
 * 24 / 0.{@value #MAX_LOAD_PERCENT} = 30 bytes per session, under the paper's 32. A protocol of 0 marks an empty
 * slot. Deadlines are compared wrap-safe ({@code deadline - now <= 0}), so timeouts are limited to 24 days.
 *
 * <p>A TCP entry is created on SYN without ACK and moves through the states {@link TcpLifecycle} decides; each state
 * lives as long as {@link ExpiryPolicy} says, each packet that keeps it restarting its timer. Expired entries are
 * removed when a lookup finds them and by {@link #sweep}, which visits a bounded number of slots per call. Above the
 * pressure watermark the sweep shortens what is there to the policy's pressure lifetimes, and in a full table
 * {@link #evictHalfOpen} makes room (IPVS's {@code drop_entry}, sampled as Redis approximates LRU).
 *
 * <p>Slot placement hashes the flow with a seed drawn per table, so nobody can choose flows that collide, and no
 * entry sits more than {@value #MAX_PROBE} slots from its home: an insert that would is refused, so a lookup never
 * walks further.
 *
 * <p>Optionally the table keeps each session's last hop: the source MAC of the frame that created it, in a
 * parallel {@code long[]} (8 more bytes a slot). LSNAT addresses a session's replies to it, so that no later frame,
 * spoofed or not, can move where another session's replies go.
 *
 * <p>A session handed to an in-kernel fast path ({@link #markOffloaded}) is taken back from it when it leaves the
 * table, and its packets may no longer reach the table: at such a session's deadline, {@link ExpiryPolicy#atDeadline}
 * decides from what the fast path saw of the flow ({@link CarriedFlows}) whether it lives on, and in which state.
 *
 * <p>A slot index returned by {@link #lookup} or {@link #insert} stays valid until the next insert, removal or
 * sweep.
 */
public final class SessionTable {
    /** An acknowledgement number that is not to be checked. */
    public static final long UNCHECKED = -1;
    /** Services one table distinguishes: the index is 8 bits of the slot. */
    public static final int MAX_SERVICES = 256;
    /** Hard upper bound on {@code max-sessions}: keeps {@code 3 × slots} within one Java array. */
    public static final int MAX_SESSIONS = 500_000_000;
    static final int MAX_LOAD_PERCENT = 80;
    /**
     * The longest probe run an entry may need. At a load of 0.8 the longest run a random hash makes grows with
     * log(slots): about 600 slots at a million sessions. This bounds a lookup, should the seed ever be guessed.
     */
    static final int MAX_PROBE = 4096;
    /** Sessions {@link #evictHalfOpen} samples for a victim, in the slots that follow a random start. */
    static final int EVICTION_SAMPLES = 16;
    /** Samples one eviction draws at most: each may ask the fast path about its victim once. */
    static final int EVICTION_TRIES = 2;
    private static final int WORDS = 3;
    private static final long KEY_MASK = 0xFF_FFFF_FFFFL;
    private static final long DEADLINE_MASK = 0xFFFF_FFFFL;
    private static final long OFFLOADED = 1L << 55;
    private static final long NAT_ADDRESS = 7L << 52;
    /** Source-NAT addresses a session may name: its service's own (0) and ones taken over from other dispatchers. */
    public static final int NAT_ADDRESSES = 8;

    private final long[] words;
    /** Per slot, the session's last-hop MAC (0 until set); null unless the table keeps them. */
    private final long[] lastHops;
    private final int capacity;
    private final int maxSessions;
    private final int pressureSize;
    private final TcpLifecycle lifecycle;
    private final ExpiryPolicy expiry;
    private final FlowSightings sightings = new FlowSightings();
    private final long seed = new SecureRandom().nextLong();
    /** Sessions by state; written by the owning loop, read by the control plane. */
    private final LongCounters byState = new LongCounters(SessionState.LIMIT);
    private long sampler = seed | 1;
    private final int sweepBudget;
    private final SessionListener listener;
    private SessionJournal journal = SessionJournal.NONE;
    private int size;
    private int sweepCursor;

    public SessionTable(SessionSettings settings, SessionListener listener) {
        this(settings, listener, false);
    }

    /**
     * @param seesReplies the mode carries both directions (LSNAT): the table keeps each session's last-hop MAC
     *     ({@link #lastHop}), and a TCP session is established only once the backend's SYN-ACK has been seen too
     */
    public SessionTable(SessionSettings settings, SessionListener listener, boolean seesReplies) {
        this.maxSessions = settings.maxSessions();
        this.capacity = (int) Math.min(Integer.MAX_VALUE / WORDS,
                ((long) maxSessions * 100 + MAX_LOAD_PERCENT - 1) / MAX_LOAD_PERCENT + 1);
        this.words = new long[capacity * WORDS];
        this.lastHops = seesReplies ? new long[capacity] : null;
        this.lifecycle = new TcpLifecycle(seesReplies);
        this.expiry = new ExpiryPolicy(settings, seesReplies);
        this.pressureSize = (int) Math.max(1, Math.min(maxSessions, Math.round(maxSessions
                * settings.pressureWatermark())));
        long budget = (long) Math.ceil((double) capacity * settings.sweepInterval().toNanos()
                / settings.sweepCycle().toNanos());
        this.sweepBudget = (int) Math.max(1, Math.min(capacity, budget));
        this.listener = listener;
    }

    /** The fast path that carries the packets of sessions marked offloaded; call on the owning loop. */
    public void offloadTo(CarriedFlows offloads) {
        sightings.flows = Objects.requireNonNull(offloads, "offloads");
    }

    /** Where the table records the changes session sync sends to the other dispatchers; call on the owning loop. */
    public void journalTo(SessionJournal journal) {
        this.journal = Objects.requireNonNull(journal, "journal");
    }

    /** Where the table records its changes; {@link SessionJournal#NONE} without session sync. */
    public SessionJournal journal() {
        return journal;
    }

    /** How long a closing (FIN or RST) session lingers, in milliseconds. */
    public int lingerMillis() {
        return expiry.lingerMillis();
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

    /**
     * Whether the table is above its pressure watermark, where half-open sessions live only briefly, and so do
     * half-closed ones in a table that sees the client alone.
     */
    public boolean underPressure() {
        return size >= pressureSize;
    }

    /** Sessions in one {@link SessionState}; any thread may read it. */
    public long sessionsIn(int state) {
        return byState.get(state);
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
        for (int probe = 0; probe < MAX_PROBE; probe++) {
            int base = slot * WORDS;
            long w1 = words[base + 1];
            if (w1 == 0) {
                return -1;
            }
            if ((w1 & KEY_MASK) == key1 && words[base] == key0) {
                if (expired(slot, now)) {
                    removeAt(slot, endOf(state(slot)));
                    return -1;
                }
                return slot;
            }
            slot = next(slot);
        }
        return -1;
    }

    /**
     * Adds a session for a flow that has none (the caller looked it up first).
     *
     * @return the slot; -1 when the table holds {@code max-sessions} already; -2 when the flow's probe run is full
     */
    public int insert(Flow flow, int serviceIndex, int backendId, int now) {
        return insert(flow.protocol(), flow.sourceAddress(), flow.sourcePort(), flow.destinationAddress(),
                flow.destinationPort(), serviceIndex, backendId, now);
    }

    /** {@link #insert(Flow, int, int, int)} on the five fields. */
    public int insert(int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort,
            int serviceIndex, int backendId, int now) {
        if (size >= maxSessions) {
            return -1;
        }
        long key0 = key0(sourceAddress, destinationAddress);
        long key1 = key1(protocol, sourcePort, destinationPort);
        int slot = home(key0, key1);
        for (int probe = 0; words[slot * WORDS + 1] != 0; probe++) {
            if (probe == MAX_PROBE - 1) {
                return -2;
            }
            slot = next(slot);
        }
        int state = protocol == IpProtocol.TCP ? SessionState.SYN_SEEN : SessionState.DATAGRAM;
        int base = slot * WORDS;
        words[base] = key0;
        words[base + 1] = key1 | ((long) (serviceIndex & 0xFF) << 40);
        words[base + 2] = packValue(now + timeoutFor(state), backendId, state, 0);
        size++;
        byState.increment(state);
        journal.changed(this, slot);
        return slot;
    }

    /**
     * Makes room in a full table: evicts the half-open session with the earliest deadline among
     * {@value #EVICTION_SAMPLES} consecutive slots from a random start (reported as {@link SessionEnd#EVICTED}). A
     * victim the fast path carries is asked about first, once: one the fast path took past its opening is promoted
     * instead, and another sample is drawn, so an eviction asks the kernel {@value #EVICTION_TRIES} times at most,
     * whatever a flood makes of the table.
     *
     * @return whether one was evicted; false when no sampled slot held a half-open session
     */
    public boolean evictHalfOpen() {
        for (int attempt = 0; attempt < EVICTION_TRIES; attempt++) {
            int victim = sampleHalfOpen();
            if (victim < 0) {
                return false;
            }
            if (!openedByFastPath(victim)) {
                removeAt(victim, SessionEnd.EVICTED);
                return true;
            }
        }
        return false;
    }

    /** The half-open session with the earliest deadline among the sampled ones, or -1. */
    private int sampleHalfOpen() {
        int victim = -1;
        int earliest = 0;
        sampler ^= sampler << 13;
        sampler ^= sampler >>> 7;
        sampler ^= sampler << 17;
        int slot = (int) (((sampler >>> 32) * capacity) >>> 32);
        // Samples sessions, not slots: a run of empty slots must not leave a full table without a victim.
        for (int seen = 0, looked = 0; seen < EVICTION_SAMPLES && looked < capacity; looked++, slot = next(slot)) {
            int base = slot * WORDS;
            if (words[base + 1] == 0) {
                continue;
            }
            seen++;
            if (SessionState.isHalfOpen(state(slot))) {
                int deadline = (int) words[base + 2];
                if (victim < 0 || deadline - earliest < 0) {
                    victim = slot;
                    earliest = deadline;
                }
            }
        }
        return victim;
    }

    /** {@link #onTcpPacket(int, int, long, int)} without checking what the ACK acknowledges. */
    public void onTcpPacket(int slot, int tcpFlags, int now) {
        onTcpPacket(slot, tcpFlags, UNCHECKED, now);
    }

    /**
     * Moves a TCP session along its lifecycle ({@link TcpLifecycle}) for one packet from the client with the given
     * flags, and restarts its timer. In a table that sees replies, the ACK that establishes a session must
     * acknowledge the backend's SYN-ACK: the low 8 bits of its sequence number + 1, kept in the slot (so a blind
     * spoofer succeeds once in 256).
     *
     * @param acknowledgement the packet's acknowledgement number, or {@link #UNCHECKED}
     */
    public void onTcpPacket(int slot, int tcpFlags, long acknowledgement, int now) {
        int next = lifecycle.onClient(state(slot), tcpFlags,
                acknowledgement == UNCHECKED || (acknowledgement & 0xFF) == expectedAck(slot));
        if (next != TcpLifecycle.KEEP) {
            setStateAndDeadline(slot, next, now + timeoutFor(next));
        }
    }

    /**
     * Makes a just-inserted TCP session established at once: it continues a flow whose handshake another
     * dispatcher saw. A FIN or RST on the segment that continues it closes it as usual.
     */
    public void continueEstablished(int slot, int tcpFlags, int now) {
        int next = lifecycle.continued(tcpFlags);
        setStateAndDeadline(slot, next, now + timeoutFor(next));
    }

    /**
     * Moves a TCP session along its lifecycle for one packet from its backend (a table that sees replies): a SYN-ACK
     * answers a SYN, and what the client's ACK must acknowledge is kept; FIN and RST close as from the client.
     *
     * @param sequence the packet's sequence number
     */
    public void onTcpReply(int slot, int tcpFlags, long sequence, int now) {
        int next = lifecycle.onBackend(state(slot), tcpFlags);
        if (next == TcpLifecycle.KEEP) {
            return;
        }
        if (next == SessionState.SYN_ANSWERED) {
            setExpectedAck(slot, (int) (sequence + 1));
        }
        setStateAndDeadline(slot, next, now + timeoutFor(next));
    }

    /** Restarts a UDP (or other datagram) session's idle timer. */
    public void onDatagram(int slot, int now) {
        setStateAndDeadline(slot, SessionState.DATAGRAM, now + timeoutFor(SessionState.DATAGRAM));
    }

    /** Removes a session and reports it. */
    public void remove(int slot, SessionEnd end) {
        removeAt(slot, end);
    }

    public int state(int slot) {
        return (int) (words[slot * WORDS + 2] >>> 48) & 0xF;
    }

    /** Whether the session was handed to the fast path (whether or not the fast path took it). */
    public boolean isOffloaded(int slot) {
        return (words[slot * WORDS + 2] & OFFLOADED) != 0;
    }

    /** Records that the session was handed to the fast path, which is told when the session ends. */
    public void markOffloaded(int slot) {
        words[slot * WORDS + 2] |= OFFLOADED;
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
        journal.changed(this, slot);
    }

    /**
     * Which source-NAT address the session's NAT port belongs to: 0 for its service's own, 1 up for an address the
     * mode took over from another dispatcher with the session ({@code SourceNatAddresses}).
     */
    public int natAddress(int slot) {
        return (int) (words[slot * WORDS + 2] >>> 52) & 7;
    }

    /** Sets {@link #natAddress}; before {@link #setNatPort}, which reports the change. */
    public void setNatAddress(int slot, int index) {
        int base = slot * WORDS + 2;
        words[base] = (words[base] & ~NAT_ADDRESS) | ((long) (index & 7) << 52);
    }

    /** The MAC the session's first frame came from, or 0 when none was recorded. Needs a table that keeps them. */
    public long lastHop(int slot) {
        return lastHops[slot];
    }

    /** Records the session's last hop; a mode calls this once, for the frame that created the session. */
    public void setLastHop(int slot, long mac) {
        lastHops[slot] = mac;
    }

    /** The low 8 bits of the acknowledgement that completes the handshake: the backend's sequence number + 1. */
    int expectedAck(int slot) {
        return (int) (words[slot * WORDS + 2] >>> 56) & 0xFF;
    }

    private void setExpectedAck(int slot, int acknowledgement) {
        int base = slot * WORDS + 2;
        words[base] = (words[base] & ~(0xFFL << 56)) | ((long) (acknowledgement & 0xFF) << 56);
    }

    /** The deadline in event-loop milliseconds. */
    public int deadline(int slot) {
        return (int) words[slot * WORDS + 2];
    }

    /** The flow stored in a slot, as a value (control plane only: it allocates). */
    public FlowKey flowAt(int slot) {
        return new FlowKey(protocol(slot), sourceAddress(slot), sourcePort(slot), destinationAddress(slot),
                destinationPort(slot));
    }

    public int protocol(int slot) {
        return (int) (words[slot * WORDS + 1] >>> 32) & 0xFF;
    }

    /** The client's address: the source of the flow's first packet. */
    public int sourceAddress(int slot) {
        return (int) (words[slot * WORDS] >>> 32);
    }

    public int sourcePort(int slot) {
        return (int) (words[slot * WORDS + 1] >>> 16) & 0xFFFF;
    }

    /** The cluster address the client sent to. */
    public int destinationAddress(int slot) {
        return (int) words[slot * WORDS];
    }

    public int destinationPort(int slot) {
        return (int) words[slot * WORDS + 1] & 0xFFFF;
    }

    /** Whether the table keeps each session's last-hop MAC ({@link #lastHop}). */
    public boolean keepsLastHops() {
        return lastHops != null;
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
        boolean pressure = underPressure();
        for (int visited = 0; visited < sweepBudget; visited++) {
            int base = slot * WORDS;
            // A removal shifts a later entry into this slot, so look at the same slot again.
            while (words[base + 1] != 0 && expired(slot, now)) {
                removeAt(slot, endOf(state(slot)));
                removed++;
            }
            // Under pressure, sessions from before it started get its shorter lifetimes too.
            if (pressure && words[base + 1] != 0) {
                int state = state(slot);
                int deadline = now + timeoutFor(state);
                if ((int) words[base + 2] - deadline > 0) {
                    setStateAndDeadline(slot, state, deadline);
                }
            }
            slot = next(slot);
        }
        sweepCursor = slot;
        return removed;
    }

    /** Removes every session for which the predicate holds, such as every session when the dispatcher stops. */
    public void removeIf(SlotPredicate predicate, SessionEnd end) {
        removeIf(0, capacity, predicate, end);
    }

    /**
     * Removes the sessions for which the predicate holds among {@code count} slots from {@code from}, wrapping at
     * the end. A removal shifts later entries back, and one may cross back over {@code from}: a caller that must
     * find every such session repeats until its own count says none is left.
     *
     * @return the slot after the last one visited, where the next call may go on
     */
    public int removeIf(int from, int count, SlotPredicate predicate, SessionEnd end) {
        int slot = from;
        for (int visited = 0; visited < count; visited++) {
            while (words[slot * WORDS + 1] != 0 && predicate.test(this, slot)) {
                removeAt(slot, end);
            }
            slot = next(slot);
        }
        return slot;
    }

    /** Tests one occupied slot. */
    @FunctionalInterface
    public interface SlotPredicate {
        boolean test(SessionTable table, int slot);
    }

    private void setStateAndDeadline(int slot, int state, int deadline) {
        int base = slot * WORDS + 2;
        long w2 = words[base];
        int previous = (int) (w2 >>> 48) & 0xF;
        if (previous != state) {
            byState.add(previous, -1);
            byState.increment(state);
        }
        words[base] = packValue(deadline, (int) (w2 >>> 32) & 0xFFFF, state, (int) (w2 >>> 56) & 0xFF)
                | (w2 & (OFFLOADED | NAT_ADDRESS));
        if (state == SessionState.ESTABLISHED && previous != state) {
            journal.changed(this, slot);
        }
    }

    /**
     * Whether a session's deadline has passed. An offloaded session's fate is the {@link ExpiryPolicy}'s, from what
     * the fast path saw of the flow; one that lives on gets the state and deadline it decides.
     */
    private boolean expired(int slot, int now) {
        long w2 = words[slot * WORDS + 2];
        if ((int) w2 - now > 0) {
            return false;
        }
        if ((w2 & OFFLOADED) == 0) {
            return true;
        }
        long kept = expiry.atDeadline(state(slot), now, underPressure(), sightingsOf(slot));
        if (kept == ExpiryPolicy.EXPIRED) {
            return true;
        }
        setStateAndDeadline(slot, (int) (kept >>> 32), (int) kept);
        return false;
    }

    /**
     * Whether a half-open session was taken past its opening by the fast path, which carried a packet from the
     * client after it took the flow over; such a session is promoted here rather than evicted as half-open.
     */
    private boolean openedByFastPath(int slot) {
        if ((words[slot * WORDS + 2] & OFFLOADED) == 0) {
            return false;
        }
        if (sightingsOf(slot).clientIdleNanos() < 0) {
            return false;
        }
        setStateAndDeadline(slot, SessionState.ESTABLISHED, deadline(slot));
        return true;
    }

    /** The fast path's sightings of the flow in a slot; one instance, refilled per question. */
    private ExpiryPolicy.Sightings sightingsOf(int slot) {
        int base = slot * WORDS;
        sightings.flow(words[base], words[base + 1]);
        return sightings;
    }

    private int timeoutFor(int state) {
        return expiry.timeout(state, underPressure());
    }

    private static SessionEnd endOf(int state) {
        return SessionState.isClosing(state) ? SessionEnd.FINISHED : SessionEnd.IDLE_TIMEOUT;
    }

    private void removeAt(int slot, SessionEnd end) {
        journal.closed(this, slot, end);
        int base = slot * WORDS;
        int serviceIndex = serviceIndex(slot);
        int backendId = backendId(slot);
        int natPort = natPort(slot);
        int natAddress = natAddress(slot);
        byState.add(state(slot), -1);
        if ((words[base + 2] & OFFLOADED) != 0) {
            sightings.forget(slot, words[base], words[base + 1]);
        }
        words[base] = 0;
        words[base + 1] = 0;
        words[base + 2] = 0;
        if (lastHops != null) {
            lastHops[slot] = 0;
        }
        size--;
        shiftBack(slot);
        listener.sessionClosed(serviceIndex, backendId, natPort, natAddress, end);
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
        long h = FlowHashing.mix((key0 * 0x9E37_79B9_7F4A_7C15L + key1) ^ seed);
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

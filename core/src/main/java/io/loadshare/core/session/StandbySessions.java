package io.loadshare.core.session;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.StampedLock;
import java.util.function.IntPredicate;

/**
 * Sessions this dispatcher does not carry but may have to: those other dispatchers of the tier hold (session sync),
 * and those the process before a restart held. A packet of such a flow that finds no session here takes it over
 * with the backend (and NAT port) it had, before any scheduler runs ({@code ClassifyHandler}).
 *
 * <p>One writer (the sync's thread) and many readers (the workers' loops). Readers never wait: they read under a
 * {@link StampedLock} optimistic stamp and, should a write have run meanwhile, try again a few times and then report
 * a miss (the client's retransmission comes back). The layout is {@link SessionTable}'s: open addressing, linear
 * probing, backward-shift deletion, a seeded hash, four words a slot plus an int deadline, 36 bytes a slot.
 *
 * <pre>
 * word 0: client address (32) | cluster address (32)
 * word 1: protocol (8) | client port (16) | cluster port (16)
 * word 2: backend address (32) | NAT port (16) | state (8) | owner (8)
 * word 3: the client's last-hop MAC (48), 0 when unknown
 * </pre>
 *
 * <p>Bounded: a full store refuses new entries (counted). Aged like the owner's sessions: while its owner is alive
 * an entry lives; once the owner is gone ({@link #sweep}'s predicate says so) it lives its state's timeout
 * ({@link ExpiryPolicy}) from then, as the session would have lived on the owner without a packet.
 */
public final class StandbySessions {
    /** The owner of entries handed over by this dispatcher's previous process. */
    public static final int PREVIOUS_PROCESS = 0;
    private static final int WORDS = 4;
    private static final int MAX_PROBE = 4096;
    private static final int READ_TRIES = 4;

    private final long[] words;
    /** Per slot, the deadline in seconds since {@link #origin}; 0 while the owner is alive. */
    private final int[] deadlines;
    private final int capacity;
    private final int maxEntries;
    private final ExpiryPolicy expiry;
    private final long seed = new SecureRandom().nextLong();
    private final StampedLock lock = new StampedLock();
    private final long origin = System.nanoTime();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong takenOver = new AtomicLong();
    private volatile int size;

    public StandbySessions(SessionSettings settings, int maxEntries) {
        if (maxEntries < 1 || maxEntries > SessionTable.MAX_SESSIONS) {
            throw new IllegalArgumentException("max standby sessions must be 1.." + SessionTable.MAX_SESSIONS
                    + ", was " + maxEntries);
        }
        this.maxEntries = maxEntries;
        this.capacity = (int) Math.min(Integer.MAX_VALUE / WORDS, (long) maxEntries * 100 / 80 + 1);
        this.words = new long[capacity * WORDS];
        this.deadlines = new int[capacity];
        this.expiry = new ExpiryPolicy(settings, true);
    }

    /** A found entry, refilled by each {@link #find}; one per reader. */
    public static final class Entry {
        private int backendAddress;
        private int natPort;
        private int state;
        private long lastHop;

        public int backendAddress() {
            return backendAddress;
        }

        /** Full NAT's source port on the backend side, 0 for none. */
        public int natPort() {
            return natPort;
        }

        /** The {@link SessionState} the owner last reported. */
        public int state() {
            return state;
        }

        /** The client's last-hop MAC, 0 when the owner had none yet. */
        public long lastHop() {
            return lastHop;
        }
    }

    /** Entries held. */
    public int size() {
        return size;
    }

    public int maxEntries() {
        return maxEntries;
    }

    /** Entries refused because the store was full. */
    public long refused() {
        return refused.get();
    }

    /** Entries a packet took over, as counted by {@link #countTakeOver}. */
    public long takenOver() {
        return takenOver.get();
    }

    /** Counts a session taken over from the store; any thread. */
    public void countTakeOver() {
        takenOver.incrementAndGet();
    }

    /**
     * Finds a flow's entry without waiting for the writer; allocation-free.
     *
     * @return whether one was found; its fields are in {@code into}
     */
    public boolean find(int protocol, int client, int clientPort, int address, int port, Entry into) {
        long key0 = key0(client, address);
        long key1 = key1(protocol, clientPort, port);
        for (int attempt = 0; attempt < READ_TRIES; attempt++) {
            long stamp = lock.tryOptimisticRead();
            if (stamp == 0) {
                Thread.onSpinWait();
                continue;
            }
            int slot = locate(key0, key1);
            long value = slot < 0 ? 0 : words[slot * WORDS + 2];
            long lastHop = slot < 0 ? 0 : words[slot * WORDS + 3];
            if (lock.validate(stamp)) {
                if (slot < 0) {
                    return false;
                }
                into.backendAddress = (int) (value >>> 32);
                into.natPort = (int) (value >>> 16) & 0xFFFF;
                into.state = (int) (value >>> 8) & 0xFF;
                into.lastHop = lastHop;
                return true;
            }
        }
        return false;
    }

    /**
     * Adds or replaces a flow's entry; the writer's thread only.
     *
     * @param owner who holds the session: a peer's number, or {@link #PREVIOUS_PROCESS}
     * @return false when the store is full or the flow's probe run is
     */
    public boolean put(int protocol, int client, int clientPort, int address, int port, int backendAddress,
            int natPort, int state, long lastHop, int owner) {
        long key0 = key0(client, address);
        long key1 = key1(protocol, clientPort, port);
        long value = ((long) backendAddress << 32) | ((long) (natPort & 0xFFFF) << 16) | ((state & 0xFF) << 8)
                | (owner & 0xFF);
        long stamp = lock.writeLock();
        try {
            int slot = locate(key0, key1);
            if (slot < 0) {
                if (size >= maxEntries) {
                    refused.incrementAndGet();
                    return false;
                }
                slot = home(key0, key1);
                for (int probe = 0; words[slot * WORDS + 1] != 0; probe++) {
                    if (probe == MAX_PROBE - 1) {
                        refused.incrementAndGet();
                        return false;
                    }
                    slot = next(slot);
                }
                words[slot * WORDS] = key0;
                words[slot * WORDS + 1] = key1;
                size++;
            }
            words[slot * WORDS + 2] = value;
            words[slot * WORDS + 3] = lastHop & 0xFFFF_FFFF_FFFFL;
            deadlines[slot] = owner == PREVIOUS_PROCESS ? deadlineFor(state) : 0;
            return true;
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    /** Removes a flow's entry, if any; the writer's thread only. */
    public boolean remove(int protocol, int client, int clientPort, int address, int port) {
        long stamp = lock.writeLock();
        try {
            int slot = locate(key0(client, address), key1(protocol, clientPort, port));
            if (slot < 0) {
                return false;
            }
            removeAt(slot);
            return true;
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    /**
     * Ages the store, a whole pass; the writer's thread only. An entry whose owner is alive lives on; one whose
     * owner just went gets its state's timeout from now; one whose deadline passed leaves.
     *
     * @param ownerAlive whether an owner still holds its sessions
     * @return entries removed
     */
    public int sweep(IntPredicate ownerAlive) {
        int now = nowSeconds();
        int removed = 0;
        long stamp = lock.writeLock();
        try {
            for (int slot = 0; slot < capacity; slot++) {
                while (words[slot * WORDS + 1] != 0) {
                    long value = words[slot * WORDS + 2];
                    int owner = (int) value & 0xFF;
                    if (owner != PREVIOUS_PROCESS && ownerAlive.test(owner)) {
                        deadlines[slot] = 0;
                        break;
                    }
                    if (deadlines[slot] == 0) {
                        deadlines[slot] = deadlineFor((int) (value >>> 8) & 0xFF);
                        break;
                    }
                    if (deadlines[slot] - now > 0) {
                        break;
                    }
                    removeAt(slot);
                    removed++;
                }
            }
        } finally {
            lock.unlockWrite(stamp);
        }
        return removed;
    }

    /** Bytes held by the store's arrays. */
    public long memoryBytes() {
        return (long) words.length * Long.BYTES + (long) deadlines.length * Integer.BYTES;
    }

    private int deadlineFor(int state) {
        int seconds = (int) Math.max(1, (expiry.timeout(state, false) + 999L) / 1000);
        int deadline = nowSeconds() + seconds;
        return deadline == 0 ? 1 : deadline;
    }

    private int nowSeconds() {
        return (int) ((System.nanoTime() - origin) / 1_000_000_000L) + 1;
    }

    private int locate(long key0, long key1) {
        int slot = home(key0, key1);
        for (int probe = 0; probe < MAX_PROBE; probe++) {
            int base = slot * WORDS;
            long w1 = words[base + 1];
            if (w1 == 0) {
                return -1;
            }
            if (w1 == key1 && words[base] == key0) {
                return slot;
            }
            slot = next(slot);
        }
        return -1;
    }

    private void removeAt(int hole) {
        size--;
        int j = hole;
        while (true) {
            j = next(j);
            int base = j * WORDS;
            if (words[base + 1] == 0) {
                break;
            }
            int home = home(words[base], words[base + 1]);
            boolean stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                System.arraycopy(words, base, words, hole * WORDS, WORDS);
                deadlines[hole] = deadlines[j];
                hole = j;
            }
        }
        Arrays.fill(words, hole * WORDS, hole * WORDS + WORDS, 0);
        deadlines[hole] = 0;
    }

    private int next(int slot) {
        int n = slot + 1;
        return n == capacity ? 0 : n;
    }

    private int home(long key0, long key1) {
        long h = FlowHashing.mix((key0 * 0x9E37_79B9_7F4A_7C15L + key1) ^ seed);
        return (int) (((h >>> 32) * capacity) >>> 32);
    }

    private static long key0(int client, int address) {
        return ((long) client << 32) | (address & 0xFFFF_FFFFL);
    }

    private static long key1(int protocol, int clientPort, int port) {
        return ((long) (protocol & 0xFF) << 32) | ((long) (clientPort & 0xFFFF) << 16) | (port & 0xFFFF);
    }
}

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
 * probing, backward-shift deletion, a seeded hash, five words a slot plus an int deadline, 44 bytes a slot.
 *
 * <pre>
 * word 0: client address (32) | cluster address (32)
 * word 1: protocol (8) | client port (16) | cluster port (16)
 * word 2: backend address (32) | NAT port (16) | state (8) | owner (8)
 * word 3: the client's last-hop MAC (48), 0 when unknown
 * word 4: source-NAT address (32), 0 without full NAT
 * </pre>
 * A full-NAT entry is also indexed by its source-NAT address, protocol and port (three words a slot), since a
 * backend's reply names its session by those alone.
 *
 * <p>Bounded: a full store refuses new entries (counted). Aged like the owner's sessions: while its owner is alive
 * an entry lives; once the owner is gone ({@link #sweep}'s predicate says so) it lives its state's timeout
 * ({@link ExpiryPolicy}) from then, as the session would have lived on the owner without a packet.
 */
public final class StandbySessions {
    /** The owner of entries handed over by this dispatcher's previous process. */
    public static final int PREVIOUS_PROCESS = 0;
    /**
     * Persistence templates are held as entries of this protocol (IANA's reserved 255, never a session's): the
     * client network in the client's place, the service's protocol in the client port's. They live until their own
     * deadline, whoever sent them.
     */
    private static final int TEMPLATE = 255;
    private static final int WORDS = 5;
    private static final int NAT_WORDS = 3;
    private static final int MAX_PROBE = 4096;
    private static final int READ_TRIES = 4;

    private final long[] words;
    /** The index by source-NAT address and port: its key, then the entry's words 0 and 1. */
    private final long[] natWords;
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
        this.natWords = new long[capacity * NAT_WORDS];
        this.deadlines = new int[capacity];
        this.expiry = new ExpiryPolicy(settings, true);
    }

    /** A found entry, refilled by each {@link #find}; one per reader. */
    public static final class Entry {
        private int client;
        private int clientPort;
        private int address;
        private int port;
        private int natAddress;
        private int backendAddress;
        private int natPort;
        private int state;
        private long lastHop;

        public int client() {
            return client;
        }

        public int clientPort() {
            return clientPort;
        }

        /** The cluster address the client sent to. */
        public int address() {
            return address;
        }

        public int port() {
            return port;
        }

        /** Full NAT's source address on the backend side, 0 for none. */
        public int natAddress() {
            return natAddress;
        }

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
        return read(key0(client, address), key1(protocol, clientPort, port), 0, into);
    }

    /**
     * Finds the persistence template another dispatcher (or the previous process) holds for a client network of a
     * service; {@link Entry#backendAddress} is its backend. Allocation-free and without waiting.
     */
    public boolean findTemplate(int protocol, int network, int address, int port, Entry into) {
        return read(key0(network, address), key1(TEMPLATE, protocol, port), 0, into);
    }

    /**
     * Adds or refreshes a persistence template for {@code lifetimeMillis} from now; the writer's thread only.
     *
     * @return false when the store is full
     */
    public boolean putTemplate(int protocol, int network, int address, int port, int backendAddress,
            int lifetimeMillis) {
        long stamp = lock.writeLock();
        try {
            int slot = store(key0(network, address), key1(TEMPLATE, protocol, port));
            if (slot < 0) {
                return false;
            }
            words[slot * WORDS + 2] = ((long) backendAddress << 32) | PREVIOUS_PROCESS;
            words[slot * WORDS + 3] = 0;
            words[slot * WORDS + 4] = 0;
            int deadline = nowSeconds() + Math.max(1, (lifetimeMillis + 999) / 1000);
            deadlines[slot] = deadline == 0 ? 1 : deadline;
            return true;
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    /**
     * Finds the full-NAT entry that holds a source-NAT address and port, as a backend's reply names it;
     * allocation-free and without waiting.
     */
    public boolean findByNat(int protocol, int natAddress, int natPort, Entry into) {
        return natPort != 0 && read(0, 0, natKey(protocol, natAddress, natPort), into);
    }

    /** Reads an entry by its flow, or (with {@code natKey} not 0) by its NAT key, under an optimistic stamp. */
    private boolean read(long key0, long key1, long natKey, Entry into) {
        for (int attempt = 0; attempt < READ_TRIES; attempt++) {
            long stamp = lock.tryOptimisticRead();
            if (stamp == 0) {
                Thread.onSpinWait();
                continue;
            }
            long k0 = key0;
            long k1 = key1;
            if (natKey != 0) {
                int n = natLocate(natKey);
                k0 = n < 0 ? 0 : natWords[n * NAT_WORDS + 1];
                k1 = n < 0 ? 0 : natWords[n * NAT_WORDS + 2];
            }
            int slot = k1 == 0 ? -1 : locate(k0, k1);
            int base = slot < 0 ? 0 : slot * WORDS;
            long w0 = words[base];
            long w1 = words[base + 1];
            long value = words[base + 2];
            long lastHop = words[base + 3];
            long nat = words[base + 4];
            if (lock.validate(stamp)) {
                if (slot < 0) {
                    return false;
                }
                into.client = (int) (w0 >>> 32);
                into.address = (int) w0;
                into.clientPort = (int) (w1 >>> 16) & 0xFFFF;
                into.port = (int) w1 & 0xFFFF;
                into.backendAddress = (int) (value >>> 32);
                into.natPort = (int) (value >>> 16) & 0xFFFF;
                into.state = (int) (value >>> 8) & 0xFF;
                into.lastHop = lastHop;
                into.natAddress = (int) nat;
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
            int natAddress, int natPort, int state, long lastHop, int owner) {
        long key0 = key0(client, address);
        long key1 = key1(protocol, clientPort, port);
        long value = ((long) backendAddress << 32) | ((long) (natPort & 0xFFFF) << 16) | ((state & 0xFF) << 8)
                | (owner & 0xFF);
        long stamp = lock.writeLock();
        try {
            int slot = store(key0, key1);
            if (slot < 0) {
                return false;
            }
            words[slot * WORDS + 2] = value;
            words[slot * WORDS + 3] = lastHop & 0xFFFF_FFFF_FFFFL;
            words[slot * WORDS + 4] = natAddress & 0xFFFF_FFFFL;
            deadlines[slot] = owner == PREVIOUS_PROCESS ? deadlineFor(state) : 0;
            if (natPort != 0) {
                natPut(natKey(protocol, natAddress, natPort), key0, key1);
            }
            return true;
        } finally {
            lock.unlockWrite(stamp);
        }
    }

    /**
     * The slot of a key, existing (its NAT key dropped, to be written again) or new; -1 when the store is full or
     * the key's probe run is. Under the write lock.
     */
    private int store(long key0, long key1) {
        int slot = locate(key0, key1);
        if (slot >= 0) {
            natRemove(slot);
            return slot;
        }
        if (size >= maxEntries) {
            refused.incrementAndGet();
            return -1;
        }
        slot = home(key0, key1);
        for (int probe = 0; words[slot * WORDS + 1] != 0; probe++) {
            if (probe == MAX_PROBE - 1) {
                refused.incrementAndGet();
                return -1;
            }
            slot = next(slot);
        }
        words[slot * WORDS] = key0;
        words[slot * WORDS + 1] = key1;
        size++;
        return slot;
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
        return (long) (words.length + natWords.length) * Long.BYTES + (long) deadlines.length * Integer.BYTES;
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
        natRemove(hole);
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

    private static long natKey(int protocol, int natAddress, int natPort) {
        return ((long) natAddress << 32) | ((long) (protocol & 0xFF) << 16) | (natPort & 0xFFFF);
    }

    private int natHome(long natKey) {
        long h = FlowHashing.mix(natKey ^ seed);
        return (int) (((h >>> 32) * capacity) >>> 32);
    }

    private int natLocate(long natKey) {
        int slot = natHome(natKey);
        for (int probe = 0; probe < MAX_PROBE; probe++) {
            long key = natWords[slot * NAT_WORDS];
            if (key == 0) {
                return -1;
            }
            if (key == natKey) {
                return slot;
            }
            slot = next(slot);
        }
        return -1;
    }

    /** Points a NAT key at an entry; a later entry of the same key takes it over. */
    private void natPut(long natKey, long key0, long key1) {
        int slot = natLocate(natKey);
        if (slot < 0) {
            slot = natHome(natKey);
            for (int probe = 0; natWords[slot * NAT_WORDS] != 0; probe++) {
                if (probe == MAX_PROBE - 1) {
                    return;
                }
                slot = next(slot);
            }
            natWords[slot * NAT_WORDS] = natKey;
        }
        natWords[slot * NAT_WORDS + 1] = key0;
        natWords[slot * NAT_WORDS + 2] = key1;
    }

    /** Drops the NAT key of the entry in {@code slot}, if it still points there. */
    private void natRemove(int slot) {
        long value = words[slot * WORDS + 2];
        int natPort = (int) (value >>> 16) & 0xFFFF;
        if (natPort == 0) {
            return;
        }
        long natKey = natKey((int) (words[slot * WORDS + 1] >>> 32), (int) words[slot * WORDS + 4], natPort);
        int hole = natLocate(natKey);
        if (hole < 0 || natWords[hole * NAT_WORDS + 1] != words[slot * WORDS]
                || natWords[hole * NAT_WORDS + 2] != words[slot * WORDS + 1]) {
            return;
        }
        int j = hole;
        while (true) {
            j = next(j);
            long key = natWords[j * NAT_WORDS];
            if (key == 0) {
                break;
            }
            int home = natHome(key);
            boolean stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                System.arraycopy(natWords, j * NAT_WORDS, natWords, hole * NAT_WORDS, NAT_WORDS);
                hole = j;
            }
        }
        Arrays.fill(natWords, hole * NAT_WORDS, hole * NAT_WORDS + NAT_WORDS, 0);
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

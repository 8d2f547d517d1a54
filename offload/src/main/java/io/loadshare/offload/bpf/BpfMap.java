package io.loadshare.offload.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A BPF map, created through {@code BPF_MAP_CREATE} and closed with its file descriptor. Keys and values travel
 * through an {@link Accessor}, which holds the segments of one thread's calls, so a lookup, update or delete
 * allocates nothing.
 */
public final class BpfMap implements AutoCloseable {
    private final int fd;
    private final int type;
    private final String name;
    private final int keySize;
    private final int valueSize;
    private final int maxEntries;
    private boolean closed;

    private BpfMap(int fd, int type, String name, int keySize, int valueSize, int maxEntries) {
        this.fd = fd;
        this.type = type;
        this.name = name;
        this.keySize = keySize;
        this.valueSize = valueSize;
        this.maxEntries = maxEntries;
    }

    /** Creates a map; {@code type} is one of the {@code Bpf.MAP_TYPE_*} constants. */
    public static BpfMap create(int type, String name, int keySize, int valueSize, int maxEntries)
            throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = Bpf.newAttr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, type);
            attr.set(ValueLayout.JAVA_INT, 4, keySize);
            attr.set(ValueLayout.JAVA_INT, 8, valueSize);
            attr.set(ValueLayout.JAVA_INT, 12, maxEntries);
            Bpf.putName(attr, 28, name);
            long fd = Bpf.call(Bpf.newErrnoSegment(arena), Bpf.MAP_CREATE, attr);
            if (fd < 0) {
                throw new BpfException("creating BPF map " + name + " (" + maxEntries + " entries of " + keySize
                        + "+" + valueSize + " bytes)", (int) -fd);
            }
            return new BpfMap((int) fd, type, name, keySize, valueSize, maxEntries);
        }
    }

    public int fd() {
        return fd;
    }

    public String name() {
        return name;
    }

    /** Bytes a lookup writes: a per-CPU map holds one 8-byte-aligned value per possible CPU. */
    public int valueBufferSize() {
        return type == Bpf.MAP_TYPE_PERCPU_ARRAY ? ((valueSize + 7) & ~7) * possibleCpus() : valueSize;
    }

    /**
     * Writes {@code values} under the keys {@code first}, {@code first + 1}, ... of an array map of 4-byte keys and
     * values, in one {@code BPF_MAP_UPDATE_BATCH}. Control plane: it allocates.
     */
    public void putAll(int first, int[] values) throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment keys = arena.allocate((long) values.length * Integer.BYTES, 8);
            MemorySegment data = arena.allocate((long) values.length * Integer.BYTES, 8);
            for (int i = 0; i < values.length; i++) {
                keys.setAtIndex(ValueLayout.JAVA_INT, i, first + i);
                data.setAtIndex(ValueLayout.JAVA_INT, i, values[i]);
            }
            MemorySegment attr = Bpf.newAttr(arena);
            attr.set(ValueLayout.JAVA_LONG, 16, keys.address());
            attr.set(ValueLayout.JAVA_LONG, 24, data.address());
            attr.set(ValueLayout.JAVA_INT, 32, values.length);
            attr.set(ValueLayout.JAVA_INT, 36, fd);
            long result = Bpf.call(Bpf.newErrnoSegment(arena), Bpf.MAP_UPDATE_BATCH, attr);
            if (result < 0) {
                throw new BpfException("writing " + values.length + " entries to BPF map " + name, (int) -result);
            }
        }
    }

    /** Segments for the calls of one thread; they live as long as {@code arena}. */
    public Accessor accessor(Arena arena) {
        return new Accessor(arena);
    }

    /** A batch of up to {@code capacity} updates and as many deletes for one thread; it lives as long as {@code arena}. */
    public Batch batch(Arena arena, int capacity) {
        return new Batch(arena, capacity);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Bpf.close(fd);
        }
    }

    /** CPUs the kernel may bring online, which sizes a per-CPU map's values ({@code /sys/devices/system/cpu/possible}). */
    public static int possibleCpus() {
        try {
            String text = Files.readString(Path.of("/sys/devices/system/cpu/possible")).trim();
            int max = 0;
            for (String range : text.split(",")) {
                String[] ends = range.split("-");
                max = Math.max(max, Integer.parseInt(ends[ends.length - 1]));
            }
            return max + 1;
        } catch (java.io.IOException | RuntimeException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    /**
     * One thread's handle on the map: fill {@link #key()} (and {@link #value()} for an update), then call. Not
     * thread-safe; each thread takes its own.
     */
    public final class Accessor {
        private final MemorySegment attr;
        private final MemorySegment errno;
        private final MemorySegment key;
        private final MemorySegment value;

        private Accessor(Arena arena) {
            attr = Bpf.newAttr(arena);
            errno = Bpf.newErrnoSegment(arena);
            key = arena.allocate(keySize, 8);
            value = arena.allocate(valueBufferSize(), 8);
            attr.set(ValueLayout.JAVA_INT, 0, fd);
            attr.set(ValueLayout.JAVA_LONG, 8, key.address());
        }

        public MemorySegment key() {
            return key;
        }

        public MemorySegment value() {
            return value;
        }

        /** Reads the key's value into {@link #value()}. @return 0, or minus errno ({@code -ENOENT}: no such key) */
        public int lookup() {
            attr.set(ValueLayout.JAVA_LONG, 16, value.address());
            attr.set(ValueLayout.JAVA_LONG, 24, 0);
            return (int) Bpf.call(errno, Bpf.MAP_LOOKUP_ELEM, attr);
        }

        /**
         * Writes {@link #value()} under the key.
         *
         * @param flags {@link Bpf#ANY} or {@link Bpf#NOEXIST}
         * @return 0, or minus errno ({@code -E2BIG}: a hash map is full)
         */
        public int update(int flags) {
            attr.set(ValueLayout.JAVA_LONG, 16, value.address());
            attr.set(ValueLayout.JAVA_LONG, 24, flags);
            return (int) Bpf.call(errno, Bpf.MAP_UPDATE_ELEM, attr);
        }

        /** Removes the key. @return 0, or minus errno ({@code -ENOENT}: no such key) */
        public int delete() {
            // The kernel refuses (EINVAL) a delete whose attribute has anything set after the key.
            attr.set(ValueLayout.JAVA_LONG, 16, 0);
            attr.set(ValueLayout.JAVA_LONG, 24, 0);
            return (int) Bpf.call(errno, Bpf.MAP_DELETE_ELEM, attr);
        }

        /** {@link #update}, failing with the map's name and the errno. */
        public void put(int flags) throws BpfException {
            int result = update(flags);
            if (result < 0) {
                throw new BpfException("writing to BPF map " + name, -result);
            }
        }
    }

    /**
     * Updates and deletes gathered from an {@link Accessor}'s segments and sent at {@link #flush} in one
     * {@code BPF_MAP_DELETE_BATCH} and one {@code BPF_MAP_UPDATE_BATCH}, instead of a system call each (a call costs
     * microseconds on a virtual machine; a short connection needs several). Deletes go first, so that a key deleted
     * and then written ends written; a delete cancels a gathered update of its key, so that a key written and then
     * deleted ends deleted. Full, it flushes before gathering more. Not thread-safe; allocates nothing.
     */
    public final class Batch {
        private final MemorySegment attr;
        private final MemorySegment errno;
        private final MemorySegment updateKeys;
        private final MemorySegment updateValues;
        private final MemorySegment deleteKeys;
        private final int capacity;
        private int updates;
        private int deletes;
        private int written;
        private int deleted;
        private int refused;
        private int lastRefusal;
        private int failedDeletes;
        private int calls;

        private Batch(Arena arena, int capacity) {
            this.capacity = capacity;
            attr = Bpf.newAttr(arena);
            errno = Bpf.newErrnoSegment(arena);
            updateKeys = arena.allocate((long) capacity * keySize, 8);
            updateValues = arena.allocate((long) capacity * valueSize, 8);
            deleteKeys = arena.allocate((long) capacity * keySize, 8);
        }

        /** Gathers a write of the accessor's value under its key (flags {@link Bpf#ANY}). */
        public void update(Accessor accessor) {
            if (updates == capacity) {
                flush();
            }
            MemorySegment.copy(accessor.key(), 0, updateKeys, (long) updates * keySize, keySize);
            MemorySegment.copy(accessor.value(), 0, updateValues, (long) updates * valueSize, valueSize);
            updates++;
        }

        /** Gathers a delete of the accessor's key, and drops a gathered update of the same key. */
        public void delete(Accessor accessor) {
            MemorySegment key = accessor.key();
            for (int i = updates - 1; i >= 0; i--) {
                if (MemorySegment.mismatch(key, 0, keySize, updateKeys, (long) i * keySize,
                        (long) (i + 1) * keySize) < 0) {
                    int last = --updates;
                    MemorySegment.copy(updateKeys, (long) last * keySize, updateKeys, (long) i * keySize, keySize);
                    MemorySegment.copy(updateValues, (long) last * valueSize, updateValues, (long) i * valueSize,
                            valueSize);
                }
            }
            if (deletes == capacity) {
                flush();
            }
            MemorySegment.copy(key, 0, deleteKeys, (long) deletes * keySize, keySize);
            deletes++;
        }

        /** Whether updates or deletes wait for {@link #flush}. */
        public boolean isEmpty() {
            return updates == 0 && deletes == 0;
        }

        /**
         * Sends the deletes, then the updates. A key already gone is skipped; a delete that fails otherwise is counted
         * ({@link #takeFailedDeletes}) and skipped. An update the kernel refuses is counted ({@link #takeRefused})
         * and skipped, and the rest are sent, unless the map is full (E2BIG): then the rest are counted as refused
         * at once, so a full map costs one system call, not one per key.
         */
        public void flush() {
            deleted += send(Bpf.MAP_DELETE_BATCH, deleteKeys, MemorySegment.NULL, deletes);
            deletes = 0;
            written += send(Bpf.MAP_UPDATE_BATCH, updateKeys, updateValues, updates);
            updates = 0;
        }

        /** Updates the kernel took since the last call, and clears the count. */
        public int takeWritten() {
            int n = written;
            written = 0;
            return n;
        }

        /** Keys deleted since the last call (not those already gone), and clears the count. */
        public int takeDeleted() {
            int n = deleted;
            deleted = 0;
            return n;
        }

        /** System calls the flushes made since the last call, and clears the count. */
        public int takeCalls() {
            int n = calls;
            calls = 0;
            return n;
        }

        /** Deletes that failed for another reason than a key already gone since the last call; clears the count. */
        public int takeFailedDeletes() {
            int n = failedDeletes;
            failedDeletes = 0;
            return n;
        }

        /** Updates refused since the last call, and clears the count; {@link #lastRefusal} says why. */
        public int takeRefused() {
            int n = refused;
            refused = 0;
            return n;
        }

        /** The errno of the last refused update. */
        public int lastRefusal() {
            return lastRefusal;
        }

        /** @return how many the kernel wrote or deleted */
        private int send(int command, MemorySegment keys, MemorySegment values, int count) {
            boolean update = command == Bpf.MAP_UPDATE_BATCH;
            int done = 0;
            int succeeded = 0;
            while (done < count) {
                attr.fill((byte) 0);
                attr.set(ValueLayout.JAVA_LONG, 16, keys.address() + (long) done * keySize);
                attr.set(ValueLayout.JAVA_LONG, 24, update ? values.address() + (long) done * valueSize : 0);
                attr.set(ValueLayout.JAVA_INT, 32, count - done);
                attr.set(ValueLayout.JAVA_INT, 36, fd);
                long result = Bpf.call(errno, command, attr);
                calls++;
                // The kernel stops at the first key it cannot write or delete and says how many it did.
                int processed = attr.get(ValueLayout.JAVA_INT, 32);
                done += processed;
                succeeded += processed;
                if (result >= 0) {
                    return succeeded;
                }
                int error = (int) -result;
                if (update) {
                    refused++;
                    lastRefusal = error;
                    if (error == Bpf.E2BIG) {
                        refused += count - done - 1;
                        return succeeded;
                    }
                } else if (error != Bpf.ENOENT) {
                    failedDeletes++;
                }
                done++;
            }
            return succeeded;
        }
    }
}

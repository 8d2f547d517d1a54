package io.loadshare.offload.bpf;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The user-space side of a {@code BPF_MAP_TYPE_RINGBUF} (the kernel's {@code kernel/bpf/ringbuf.c}): the consumer
 * page mapped writable, the producer page and the data (mapped twice in a row, so a record never wraps) read-only.
 * Each record is an 8-byte header (length, with a busy and a discard bit) and its data, 8-byte aligned; the reader
 * acquires the producer position and releases the consumer position. One reader, on one thread.
 */
public final class BpfRingBuffer implements AutoCloseable {
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int MAP_SHARED = 1;
    private static final int BUSY = 1 << 31;
    private static final int DISCARD = 1 << 30;
    private static final int HEADER = 8;
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("mmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle MUNMAP = LINKER.downcallHandle(
            LINKER.defaultLookup().find("munmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    private final MemorySegment consumer;
    private final MemorySegment producer;
    private final MemorySegment data;
    private final long mask;
    private boolean closed;

    /** Reads one record: {@code length} bytes at {@code offset} of {@code data}, valid only during the call. */
    @FunctionalInterface
    public interface Reader {
        void read(MemorySegment data, long offset, int length);
    }

    private BpfRingBuffer(MemorySegment consumer, MemorySegment producer, long size) {
        this.consumer = consumer;
        this.producer = producer;
        this.data = producer.asSlice(pageSize());
        this.mask = size - 1;
    }

    /** Maps a ring buffer map of {@code size} bytes (a power of two, a multiple of the page size). */
    public static BpfRingBuffer map(BpfMap ring, long size) throws BpfException {
        int page = pageSize();
        MemorySegment consumer = mmap(ring, page, PROT_READ | PROT_WRITE, 0);
        MemorySegment producer;
        try {
            producer = mmap(ring, page + 2 * size, PROT_READ, page);
        } catch (BpfException e) {
            munmap(consumer);
            throw e;
        }
        return new BpfRingBuffer(consumer, producer, size);
    }

    private static MemorySegment mmap(BpfMap ring, long length, int protection, long offset) throws BpfException {
        try {
            MemorySegment address = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, length, protection,
                    MAP_SHARED, ring.fd(), offset);
            if (address.address() == -1L) {
                throw new BpfException("mapping ring buffer " + ring.name(), Bpf.EINVAL);
            }
            return address.reinterpret(length);
        } catch (BpfException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mmap failed in the FFM downcall", t);
        }
    }

    private static void munmap(MemorySegment segment) {
        try {
            int ignored = (int) MUNMAP.invokeExact(segment, segment.byteSize());
        } catch (Throwable t) {
            throw new IllegalStateException("munmap failed in the FFM downcall", t);
        }
    }

    private static final MethodHandle SYSCONF = LINKER.downcallHandle(
            LINKER.defaultLookup().find("sysconf").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final int SC_PAGESIZE = 30;

    private static int pageSize() {
        try {
            return (int) (long) SYSCONF.invokeExact(SC_PAGESIZE);
        } catch (Throwable t) {
            throw new IllegalStateException("sysconf failed in the FFM downcall", t);
        }
    }

    /** Whether a record waits: two loads, no system call. */
    public boolean hasRecords() {
        return (long) LONG.getAcquire(producer, 0L) != (long) LONG.getAcquire(consumer, 0L);
    }

    /**
     * Hands every committed record to {@code reader} and frees its space.
     *
     * @return records read (discarded ones not counted)
     */
    public int drain(Reader reader) {
        long consumed = (long) LONG.getAcquire(consumer, 0L);
        long produced = (long) LONG.getAcquire(producer, 0L);
        int records = 0;
        while (consumed < produced) {
            long offset = consumed & mask;
            int header = (int) INT.getAcquire(data, offset);
            if ((header & BUSY) != 0) {
                break;
            }
            int length = header & ~(BUSY | DISCARD);
            if ((header & DISCARD) == 0) {
                reader.read(data, offset + HEADER, length);
                records++;
            }
            consumed += (HEADER + length + 7) & ~7L;
            LONG.setRelease(consumer, 0L, consumed);
        }
        return records;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            munmap(consumer);
            munmap(producer);
        }
    }
}

package io.loadshare.transport.pcap;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One {@code pcap_t}: a live capture on an interface or an offline capture file. Not thread-safe, like libpcap
 * itself: only its channel's event loop uses it. The data pointer a read returns is valid only until the next
 * read.
 */
final class PcapHandle implements AutoCloseable {
    /** {@code pcap_next_ex} results. */
    static final int READ_OK = 1;
    static final int READ_NONE = 0;
    static final int READ_ERROR = -1;
    static final int READ_EOF = -2;

    private final PcapLibrary library;
    private final MemorySegment handle;
    private final String source;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment headerPointer = arena.allocate(ValueLayout.ADDRESS);
    private final MemorySegment dataPointer = arena.allocate(ValueLayout.ADDRESS);
    /** All of the address space: libpcap's header and data are read through it without a segment per frame. */
    static final MemorySegment ALL_MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    private long header;
    private long data;
    private boolean open = true;

    private PcapHandle(PcapLibrary library, MemorySegment handle, String source) {
        this.library = library;
        this.handle = handle;
        this.source = source;
    }

    /**
     * Opens a live capture: immediate mode, nanosecond timestamps, non-blocking, inbound only, with an optional
     * BPF filter expression.
     */
    static PcapHandle live(String interfaceName, int snaplen, boolean promiscuous, int bufferSize, String filter)
            throws PcapException {
        PcapLibrary library = PcapLibrary.get();
        MemorySegment handle;
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment errbuf = temporary.allocate(PcapLibrary.ERRBUF_SIZE);
            handle = (MemorySegment) library.create.invokeExact(temporary.allocateFrom(interfaceName), errbuf);
            if (handle.address() == 0) {
                throw new PcapException("pcap_create(" + interfaceName + "): " + errbuf.getString(0));
            }
        } catch (PcapException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        PcapHandle pcap = new PcapHandle(library, handle, interfaceName);
        try {
            pcap.configure(snaplen, promiscuous, bufferSize);
            pcap.activate();
            pcap.afterActivation(filter);
            return pcap;
        } catch (PcapException | RuntimeException e) {
            pcap.close();
            throw e;
        }
    }

    /** Opens a capture file (pcap or pcapng) with nanosecond timestamps. */
    static PcapHandle offline(String path) throws PcapException {
        PcapLibrary library = PcapLibrary.get();
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment errbuf = temporary.allocate(PcapLibrary.ERRBUF_SIZE);
            MemorySegment handle = (MemorySegment) library.openOfflineWithPrecision.invokeExact(
                    temporary.allocateFrom(path), PcapLibrary.TSTAMP_PRECISION_NANO, errbuf);
            if (handle.address() == 0) {
                throw new PcapException(path + ": " + errbuf.getString(0));
            }
            return new PcapHandle(library, handle, path);
        } catch (PcapException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private void configure(int snaplen, boolean promiscuous, int bufferSize) throws PcapException {
        try {
            check("pcap_set_snaplen", (int) library.setSnaplen.invokeExact(handle, snaplen));
            check("pcap_set_promisc", (int) library.setPromisc.invokeExact(handle, promiscuous ? 1 : 0));
            check("pcap_set_immediate_mode", (int) library.setImmediateMode.invokeExact(handle, 1));
            check("pcap_set_buffer_size", (int) library.setBufferSize.invokeExact(handle, bufferSize));
            check("pcap_set_tstamp_precision",
                    (int) library.setTstampPrecision.invokeExact(handle, PcapLibrary.TSTAMP_PRECISION_NANO));
        } catch (PcapException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private void activate() throws PcapException {
        int status;
        try {
            status = (int) library.activate.invokeExact(handle);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (status < 0) {
            String detail = library.errorText(handle);
            throw new PcapException("pcap_activate(" + source + "): " + library.statusText(status)
                    + (detail.isEmpty() ? "" : " (" + detail + ")")
                    + (status == -8 ? "; live capture needs CAP_NET_RAW: run as root or grant it with setcap" : ""));
        }
    }

    private void afterActivation(String filter) throws PcapException {
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment errbuf = temporary.allocate(PcapLibrary.ERRBUF_SIZE);
            if ((int) library.setNonblock.invokeExact(handle, 1, errbuf) < 0) {
                throw new PcapException("pcap_setnonblock(" + source + "): " + errbuf.getString(0));
            }
            check("pcap_setdirection", (int) library.setDirection.invokeExact(handle, PcapLibrary.DIRECTION_IN));
            if (filter != null && !filter.isBlank()) {
                MemorySegment program = temporary.allocate(16, 8);
                if ((int) library.compile.invokeExact(handle, program, temporary.allocateFrom(filter), 1,
                        PcapLibrary.NETMASK_UNKNOWN) < 0) {
                    throw new PcapException("bad capture filter '" + filter + "': " + library.errorText(handle));
                }
                try {
                    check("pcap_setfilter", (int) library.setFilter.invokeExact(handle, program));
                } finally {
                    library.freeCode.invokeExact(program);
                }
            }
        } catch (PcapException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private void check(String call, int result) throws PcapException {
        if (result != 0) {
            throw new PcapException(call + "(" + source + "): " + library.errorText(handle) + " ("
                    + library.statusText(result) + ")");
        }
    }

    /** The descriptor to wait on for readiness. */
    int selectableFd() {
        try {
            return (int) library.selectableFd.invokeExact(handle);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Reads the next frame; on {@link #READ_OK}, the accessors describe it until the next call. */
    int next() {
        try {
            int result = (int) library.nextEx.invokeExact(handle, headerPointer, dataPointer);
            if (result == READ_OK) {
                header = headerPointer.get(ValueLayout.JAVA_LONG, 0);
                data = dataPointer.get(ValueLayout.JAVA_LONG, 0);
            }
            return result;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    long timestampNanos() {
        return ALL_MEMORY.get(ValueLayout.JAVA_LONG, header) * 1_000_000_000L
                + ALL_MEMORY.get(ValueLayout.JAVA_LONG, header + 8);
    }

    int capturedLength() {
        return ALL_MEMORY.get(ValueLayout.JAVA_INT, header + PcapLibrary.PKTHDR_CAPLEN);
    }

    int originalLength() {
        return ALL_MEMORY.get(ValueLayout.JAVA_INT, header + PcapLibrary.PKTHDR_LEN);
    }

    /** Native address of the current frame's bytes. */
    long dataAddress() {
        return data;
    }

    /** Sends one frame; returns bytes sent or -1 (see {@link #errorText()}). */
    int inject(MemorySegment frame, long length) {
        try {
            return (int) library.inject.invokeExact(handle, frame, length);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    String errorText() {
        return library.errorText(handle);
    }

    String source() {
        return source;
    }

    @Override
    public void close() {
        if (!open) {
            return;
        }
        open = false;
        try {
            library.close.invokeExact(handle);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        arena.close();
    }
}

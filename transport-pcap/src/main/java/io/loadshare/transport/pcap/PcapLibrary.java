package io.loadshare.transport.pcap;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * libpcap, loaded by soname ({@code libpcap.so.0.8}, then {@code libpcap.so.1}, then {@code libpcap.so}) and
 * bound through the FFM API. Loaded once, on first use; {@link #version()} reports what was found.
 */
public final class PcapLibrary {
    static final List<String> SONAMES = List.of("libpcap.so.0.8", "libpcap.so.1", "libpcap.so");
    static final int ERRBUF_SIZE = 256;
    static final int TSTAMP_PRECISION_NANO = 1;
    static final int DIRECTION_IN = 1;
    static final int NETMASK_UNKNOWN = 0xFFFF_FFFF;
    /** {@code struct pcap_pkthdr} on LP64: timeval (16), caplen (4), len (4). */
    static final int PKTHDR_CAPLEN = 16;
    static final int PKTHDR_LEN = 20;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout ADDRESS = ValueLayout.ADDRESS;
    private static volatile PcapLibrary instance;

    final MethodHandle libVersion;
    final MethodHandle create;
    final MethodHandle setSnaplen;
    final MethodHandle setPromisc;
    final MethodHandle setImmediateMode;
    final MethodHandle setBufferSize;
    final MethodHandle setTstampPrecision;
    final MethodHandle activate;
    final MethodHandle setNonblock;
    final MethodHandle setDirection;
    final MethodHandle compile;
    final MethodHandle setFilter;
    final MethodHandle freeCode;
    final MethodHandle selectableFd;
    final MethodHandle nextEx;
    final MethodHandle inject;
    final MethodHandle geterr;
    final MethodHandle statusToStr;
    final MethodHandle close;
    final MethodHandle openOfflineWithPrecision;
    final MethodHandle datalink;
    private final String soname;

    private PcapLibrary(SymbolLookup lookup, String soname) {
        this.soname = soname;
        Linker linker = Linker.nativeLinker();
        libVersion = bind(linker, lookup, "pcap_lib_version", FunctionDescriptor.of(ADDRESS));
        create = bind(linker, lookup, "pcap_create", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        setSnaplen = bind(linker, lookup, "pcap_set_snaplen", FunctionDescriptor.of(INT, ADDRESS, INT));
        setPromisc = bind(linker, lookup, "pcap_set_promisc", FunctionDescriptor.of(INT, ADDRESS, INT));
        setImmediateMode = bind(linker, lookup, "pcap_set_immediate_mode", FunctionDescriptor.of(INT, ADDRESS, INT));
        setBufferSize = bind(linker, lookup, "pcap_set_buffer_size", FunctionDescriptor.of(INT, ADDRESS, INT));
        setTstampPrecision = bind(linker, lookup, "pcap_set_tstamp_precision",
                FunctionDescriptor.of(INT, ADDRESS, INT));
        activate = bind(linker, lookup, "pcap_activate", FunctionDescriptor.of(INT, ADDRESS));
        setNonblock = bind(linker, lookup, "pcap_setnonblock", FunctionDescriptor.of(INT, ADDRESS, INT, ADDRESS));
        setDirection = bind(linker, lookup, "pcap_setdirection", FunctionDescriptor.of(INT, ADDRESS, INT));
        compile = bind(linker, lookup, "pcap_compile",
                FunctionDescriptor.of(INT, ADDRESS, ADDRESS, ADDRESS, INT, INT));
        setFilter = bind(linker, lookup, "pcap_setfilter", FunctionDescriptor.of(INT, ADDRESS, ADDRESS));
        freeCode = bind(linker, lookup, "pcap_freecode", FunctionDescriptor.ofVoid(ADDRESS));
        selectableFd = bind(linker, lookup, "pcap_get_selectable_fd", FunctionDescriptor.of(INT, ADDRESS));
        nextEx = bind(linker, lookup, "pcap_next_ex", FunctionDescriptor.of(INT, ADDRESS, ADDRESS, ADDRESS));
        inject = bind(linker, lookup, "pcap_inject", FunctionDescriptor.of(INT, ADDRESS, ADDRESS, ValueLayout.JAVA_LONG));
        geterr = bind(linker, lookup, "pcap_geterr", FunctionDescriptor.of(ADDRESS, ADDRESS));
        statusToStr = bind(linker, lookup, "pcap_statustostr", FunctionDescriptor.of(ADDRESS, INT));
        close = bind(linker, lookup, "pcap_close", FunctionDescriptor.ofVoid(ADDRESS));
        openOfflineWithPrecision = bind(linker, lookup, "pcap_open_offline_with_tstamp_precision",
                FunctionDescriptor.of(ADDRESS, ADDRESS, INT, ADDRESS));
        datalink = bind(linker, lookup, "pcap_datalink", FunctionDescriptor.of(INT, ADDRESS));
    }

    private static MethodHandle bind(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = lookup.find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("libpcap has no " + name + "; libpcap 1.10 or newer is needed"));
        return linker.downcallHandle(symbol, descriptor);
    }

    /**
     * The loaded library.
     *
     * @throws PcapException naming the sonames tried and the package to install
     */
    public static PcapLibrary get() throws PcapException {
        PcapLibrary loaded = instance;
        if (loaded == null) {
            synchronized (PcapLibrary.class) {
                loaded = instance;
                if (loaded == null) {
                    loaded = load();
                    instance = loaded;
                }
            }
        }
        return loaded;
    }

    private static PcapLibrary load() throws PcapException {
        for (String soname : SONAMES) {
            try {
                return new PcapLibrary(SymbolLookup.libraryLookup(soname, Arena.global()), soname);
            } catch (IllegalArgumentException notFound) {
                // try the next soname
            }
        }
        throw new PcapException("libpcap was not found (tried " + String.join(", ", SONAMES)
                + "); install it, for example with 'apt-get install libpcap0.8'");
    }

    /** libpcap's own version line, such as "libpcap version 1.10.3 (with TPACKET_V3)". */
    public String version() {
        try {
            return ((MemorySegment) libVersion.invokeExact()).reinterpret(Integer.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The soname that was loaded. */
    public String soname() {
        return soname;
    }

    String errorText(MemorySegment handle) {
        try {
            return ((MemorySegment) geterr.invokeExact(handle)).reinterpret(ERRBUF_SIZE).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    String statusText(int status) {
        try {
            return ((MemorySegment) statusToStr.invokeExact(status)).reinterpret(ERRBUF_SIZE).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}

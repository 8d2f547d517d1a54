package io.loadshare.transport.rawsocket;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The libc calls and constants the raw-socket transport uses, bound with the FFM API (no JNI). Every call
 * captures {@code errno}, so each caller passes its own capture segment ({@link #newErrnoSegment}).
 */
final class Linux {
    static final int AF_PACKET = 17;
    static final int SOCK_RAW = 3;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;
    /** {@code htons(ETH_P_ALL)}: every protocol, as the sockaddr_ll field wants it. */
    static final short ETH_P_ALL_BE = 0x0300;

    static final int SOL_SOCKET = 1;
    static final int SO_ERROR = 4;
    static final int SO_ATTACH_FILTER = 26;
    static final int SO_RCVBUFFORCE = 33;

    static final int SOL_PACKET = 263;
    static final int PACKET_RX_RING = 5;
    static final int PACKET_VERSION = 10;
    static final int PACKET_VNET_HDR = 15;
    static final int PACKET_AUXDATA = 8;
    /** struct tpacket_stats: frames the socket was offered and dropped since the last read, which resets them. */
    static final int PACKET_STATISTICS = 6;
    /** tp_status bits of tpacket_auxdata and tpacket3_hdr (linux/if_packet.h). */
    static final int TP_STATUS_VLAN_VALID = 1 << 4;
    static final int TP_STATUS_VLAN_TPID_VALID = 1 << 6;
    static final int ETH_P_8021Q = 0x8100;
    static final int PACKET_FANOUT = 18;
    static final int PACKET_FANOUT_DATA = 22;
    static final int PACKET_FANOUT_HASH = 0;
    static final int PACKET_FANOUT_CBPF = 6;
    /** With group id 0: the kernel picks a free id (Linux 4.4+). */
    static final int PACKET_FANOUT_FLAG_UNIQUEID = 0x2000;
    static final int PACKET_QDISC_BYPASS = 20;
    static final int PACKET_IGNORE_OUTGOING = 23;
    static final int TPACKET_V2 = 1;
    static final int TPACKET_V3 = 2;
    static final int PACKET_COPY_THRESH = 7;

    static final int MSG_TRUNC = 0x20;
    static final int MSG_DONTWAIT = 0x40;

    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 1;

    static final int SIOCGIFNAME = 0x8910;
    static final int SIOCGIFINDEX = 0x8933;
    static final int SIOCGIFHWADDR = 0x8927;
    static final int SIOCGIFMTU = 0x8921;
    static final int IFNAMSIZ = 16;
    static final int IFREQ_SIZE = 40;

    static final int EPERM = 1;
    static final int EINTR = 4;
    static final int ENXIO = 6;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int ENODEV = 19;
    static final int EINVAL = 22;
    static final int EMSGSIZE = 90;
    static final int ENETDOWN = 100;
    static final int ENOBUFS = 105;

    /** Whether a socket error says its interface went down or away. */
    static boolean isInterfaceGone(int errno) {
        return errno == ENETDOWN || errno == ENXIO || errno == ENODEV;
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout ADDRESS = ValueLayout.ADDRESS;

    static final MethodHandle SOCKET = downcall("socket", FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT), false);
    static final MethodHandle BIND = downcall("bind", FunctionDescriptor.of(C_INT, C_INT, ADDRESS, C_INT), false);
    static final MethodHandle SETSOCKOPT = downcall("setsockopt",
            FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, ADDRESS, C_INT), false);
    static final MethodHandle GETSOCKOPT = downcall("getsockopt",
            FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, ADDRESS, ADDRESS), false);
    static final MethodHandle IOCTL = downcall("ioctl", FunctionDescriptor.of(C_INT, C_INT, C_LONG, ADDRESS), false);
    private static final FunctionDescriptor RECVMMSG_TYPE =
            FunctionDescriptor.of(C_INT, C_INT, ADDRESS, C_INT, C_INT, ADDRESS);
    private static final FunctionDescriptor SENDMMSG_TYPE = FunctionDescriptor.of(C_INT, C_INT, ADDRESS, C_INT, C_INT);

    /**
     * The per-frame calls, as critical calls without errno capture: capturing slices the capture segment on every
     * call, an allocation per frame. After a -1 the caller reads errno from {@link #ERRNO_LOCATION} at once; a
     * critical call makes no thread-state transition in which the JVM could overwrite it.
     */
    static final MethodHandle RECVMMSG_FAST = fastDowncall("recvmmsg", RECVMMSG_TYPE);
    static final MethodHandle SENDMMSG_FAST = fastDowncall("sendmmsg", SENDMMSG_TYPE);
    /** glibc's {@code int *__errno_location(void)}: the calling thread's errno. */
    static final MethodHandle ERRNO_LOCATION = fastDowncall("__errno_location", FunctionDescriptor.of(ADDRESS));
    static final MethodHandle MMAP = downcall("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, C_LONG, C_INT, C_INT, C_INT, C_LONG), false);
    static final MethodHandle MUNMAP = downcall("munmap", FunctionDescriptor.of(C_INT, ADDRESS, C_LONG), false);
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LINKER.defaultLookup().find("strerror").orElseThrow(), FunctionDescriptor.of(ADDRESS, C_INT));

    private Linux() {
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, boolean critical) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        Linker.Option capture = Linker.Option.captureCallState("errno");
        return critical
                ? LINKER.downcallHandle(symbol, descriptor, capture, Linker.Option.critical(false))
                : LINKER.downcallHandle(symbol, descriptor, capture);
    }

    private static MethodHandle fastDowncall(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, Linker.Option.critical(false));
    }

    /** A segment to pass as the first argument of every call, from which {@link #errno} reads. */
    static MemorySegment newErrnoSegment(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    static int errno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /** libc's text for an errno value. */
    static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /** The symbolic name of the errno values this transport reports, for messages. */
    static String errnoName(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case EINTR -> "EINTR";
            case ENXIO -> "ENXIO";
            case EAGAIN -> "EAGAIN";
            case EACCES -> "EACCES";
            case ENODEV -> "ENODEV";
            case EINVAL -> "EINVAL";
            case EMSGSIZE -> "EMSGSIZE";
            case ENETDOWN -> "ENETDOWN";
            case ENOBUFS -> "ENOBUFS";
            default -> "errno " + errno;
        };
    }
}

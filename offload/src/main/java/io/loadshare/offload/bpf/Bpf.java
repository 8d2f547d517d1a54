package io.loadshare.offload.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Locale;

/**
 * The {@code bpf(2)} system call over FFM, through libc's {@code syscall}: no libbpf, no compiler. Each call takes
 * a {@code union bpf_attr} the caller filled (offsets from {@code linux/bpf.h}) and a segment that captures
 * errno.
 */
public final class Bpf {
    /** {@code sizeof(union bpf_attr)} we pass; the kernel requires any bytes beyond its own size to be zero. */
    public static final int ATTR_SIZE = 128;

    static final int MAP_CREATE = 0;
    static final int MAP_LOOKUP_ELEM = 1;
    static final int MAP_UPDATE_ELEM = 2;
    static final int MAP_DELETE_ELEM = 3;
    static final int PROG_LOAD = 5;
    static final int PROG_TEST_RUN = 10;
    static final int PROG_QUERY = 16;
    static final int MAP_UPDATE_BATCH = 26;
    static final int MAP_DELETE_BATCH = 27;
    static final int LINK_CREATE = 28;

    public static final int MAP_TYPE_HASH = 1;
    public static final int MAP_TYPE_ARRAY = 2;
    public static final int MAP_TYPE_PERCPU_ARRAY = 6;
    public static final int MAP_TYPE_LRU_HASH = 9;
    public static final int MAP_TYPE_RINGBUF = 27;

    static final int PROG_TYPE_SCHED_CLS = 3;
    static final int PROG_TYPE_XDP = 6;
    static final int ATTACH_TYPE_XDP = 37;
    static final int ATTACH_TYPE_TCX_INGRESS = 46;

    /** Update flags: create or replace, create only, replace only. */
    public static final int ANY = 0;
    public static final int NOEXIST = 1;

    static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int E2BIG = 7;
    static final int ENOMEM = 12;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int ENODEV = 19;
    public static final int EINVAL = 22;
    static final int ENOSPC = 28;
    static final int ENOSYS = 38;
    static final int EOPNOTSUPP = 95;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final long SYS_BPF = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> 321;
        case "aarch64" -> 280;
        default -> -1;
    };
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(
            LINKER.defaultLookup().find("syscall").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(
            LINKER.defaultLookup().find("close").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LINKER.defaultLookup().find("strerror").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private Bpf() {
    }

    /** A segment to capture errno in, one per thread that makes calls. */
    public static MemorySegment newErrnoSegment(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    /** A zeroed {@code union bpf_attr}. */
    public static MemorySegment newAttr(Arena arena) {
        return arena.allocate(ATTR_SIZE, 8);
    }

    /**
     * Makes one call.
     *
     * @return the kernel's result (a file descriptor for the creating commands, 0 otherwise), or minus errno
     */
    static long call(MemorySegment errno, int command, MemorySegment attr) {
        if (SYS_BPF < 0) {
            return -ENOSYS;
        }
        try {
            long result = (long) SYSCALL.invokeExact(errno, SYS_BPF, (long) command, attr, (long) ATTR_SIZE);
            return result < 0 ? -(int) ERRNO.get(errno, 0L) : result;
        } catch (Throwable t) {
            throw new IllegalStateException("bpf(2) call failed in the FFM downcall", t);
        }
    }

    static void close(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException("close(2) failed in the FFM downcall", t);
        }
    }

    /** The symbolic name and libc text of an errno value, for messages: {@code "EPERM (Operation not permitted)"}. */
    static String describe(int errno) {
        String name = switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case E2BIG -> "E2BIG";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case EBUSY -> "EBUSY";
            case EEXIST -> "EEXIST";
            case ENODEV -> "ENODEV";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC";
            case ENOSYS -> "ENOSYS";
            case EOPNOTSUPP -> "EOPNOTSUPP";
            default -> "errno " + errno;
        };
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return name + " (" + text.reinterpret(256).getString(0) + ")";
        } catch (Throwable t) {
            return name;
        }
    }

    /** An object name for the kernel (16 bytes with the terminator, alphanumerics, '_' and '.'). */
    static void putName(MemorySegment attr, long offset, String name) {
        String cleaned = name.replaceAll("[^A-Za-z0-9_.]", "_").toLowerCase(Locale.ROOT);
        byte[] bytes = cleaned.substring(0, Math.min(15, cleaned.length())).getBytes();
        MemorySegment.copy(bytes, 0, attr, ValueLayout.JAVA_BYTE, offset, bytes.length);
    }
}

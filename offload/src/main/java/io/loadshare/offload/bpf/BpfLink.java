package io.loadshare.offload.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A program attached to an interface through a BPF link ({@code BPF_LINK_CREATE}): the attachment belongs to the
 * link's file descriptor, so the kernel detaches the program when the link is closed or the process dies, crash
 * included. XDP allows one link per interface; tcx ({@code BPF_TCX_INGRESS}, Linux 6.6) allows several, so
 * {@link #attachTcIngress} refuses to share the hook itself.
 */
public final class BpfLink implements AutoCloseable {
    /** {@code XDP_FLAGS_SKB_MODE}: generic XDP, after the driver has built the socket buffer; any interface. */
    public static final int SKB_MODE = 2;
    /** {@code XDP_FLAGS_DRV_MODE}: native XDP in the driver, where the driver supports it. */
    public static final int DRV_MODE = 4;

    private final int fd;
    private boolean closed;

    private BpfLink(int fd) {
        this.fd = fd;
    }

    /**
     * Attaches an XDP program to an interface of the calling thread's network namespace.
     *
     * @param flags {@link #SKB_MODE} or {@link #DRV_MODE}
     */
    public static BpfLink attachXdp(BpfProgram program, int ifindex, String interfaceName, int flags)
            throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            long fd = create(arena, program, ifindex, Bpf.ATTACH_TYPE_XDP, flags);
            if (fd < 0) {
                int errno = (int) -fd;
                String what = "attaching XDP program " + program.name() + " to " + interfaceName + " in "
                        + (flags == DRV_MODE ? "native" : "generic") + " mode";
                throw new BpfException(what + switch (errno) {
                    case Bpf.EBUSY, Bpf.EEXIST -> " (another XDP program is attached there: a second dispatcher"
                            + " on the same interface, or another tool; `ip link show " + interfaceName
                            + "` names it)";
                    case Bpf.EOPNOTSUPP -> " (the driver has no native XDP: use attach = generic)";
                    case Bpf.EINVAL -> " (the kernel cannot attach XDP through a link here: needs Linux 5.9 or"
                            + " later)";
                    case Bpf.ENODEV -> " (no interface with index " + ifindex + ")";
                    default -> "";
                }, errno);
            }
            return new BpfLink((int) fd);
        }
    }

    /**
     * Attaches a tc program to an interface's ingress (tcx) in the calling thread's network namespace, as its only
     * program: one that finds another there (a second dispatcher, or another tool whose verdicts would come first
     * or last) detaches again and refuses.
     */
    public static BpfLink attachTcIngress(BpfProgram program, int ifindex, String interfaceName)
            throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            String what = "attaching tc program " + program.name() + " to " + interfaceName + "'s ingress (tcx)";
            long fd = create(arena, program, ifindex, Bpf.ATTACH_TYPE_TCX_INGRESS, 0);
            if (fd < 0) {
                int errno = (int) -fd;
                throw new BpfException(what + switch (errno) {
                    case Bpf.EINVAL -> " (the kernel has no tcx: needs Linux 6.6 or later)";
                    case Bpf.ENODEV -> " (no interface with index " + ifindex + ")";
                    default -> "";
                }, errno);
            }
            BpfLink link = new BpfLink((int) fd);
            MemorySegment attr = Bpf.newAttr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, ifindex);
            attr.set(ValueLayout.JAVA_INT, 4, Bpf.ATTACH_TYPE_TCX_INGRESS);
            long result = Bpf.call(Bpf.newErrnoSegment(arena), Bpf.PROG_QUERY, attr);
            int attached = attr.get(ValueLayout.JAVA_INT, 24);
            if (result < 0 || attached != 1) {
                link.close();
                throw new BpfException(what + (result < 0 ? ": cannot list the programs there"
                        : ": " + (attached - 1) + " other program(s) already attached there: a second dispatcher on"
                        + " the same interface, or another tool; `bpftool net show dev " + interfaceName
                        + "` names them"), result < 0 ? (int) -result : Bpf.EBUSY);
            }
            return link;
        }
    }

    private static long create(Arena arena, BpfProgram program, int ifindex, int attachType, int flags) {
        MemorySegment attr = Bpf.newAttr(arena);
        attr.set(ValueLayout.JAVA_INT, 0, program.fd());
        attr.set(ValueLayout.JAVA_INT, 4, ifindex);
        attr.set(ValueLayout.JAVA_INT, 8, attachType);
        attr.set(ValueLayout.JAVA_INT, 12, flags);
        return Bpf.call(Bpf.newErrnoSegment(arena), Bpf.LINK_CREATE, attr);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Bpf.close(fd);
        }
    }
}

package io.loadshare.offload.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An XDP program attached to an interface through a BPF link ({@code BPF_LINK_CREATE}): the attachment belongs to
 * the link's file descriptor, so the kernel detaches the program when the link is closed or the process dies,
 * crash included, and a second link on the same interface is refused while this one lives.
 */
public final class XdpLink implements AutoCloseable {
    /** {@code XDP_FLAGS_SKB_MODE}: generic XDP, after the driver has built the socket buffer; any interface. */
    public static final int SKB_MODE = 2;
    /** {@code XDP_FLAGS_DRV_MODE}: native XDP in the driver, where the driver supports it. */
    public static final int DRV_MODE = 4;

    private final int fd;
    private boolean closed;

    private XdpLink(int fd) {
        this.fd = fd;
    }

    /**
     * Attaches a program to an interface of the calling thread's network namespace.
     *
     * @param flags {@link #SKB_MODE} or {@link #DRV_MODE}
     */
    public static XdpLink attach(BpfProgram program, int ifindex, String interfaceName, int flags)
            throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = Bpf.newAttr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, program.fd());
            attr.set(ValueLayout.JAVA_INT, 4, ifindex);
            attr.set(ValueLayout.JAVA_INT, 8, Bpf.ATTACH_TYPE_XDP);
            attr.set(ValueLayout.JAVA_INT, 12, flags);
            long fd = Bpf.call(Bpf.newErrnoSegment(arena), Bpf.LINK_CREATE, attr);
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
            return new XdpLink((int) fd);
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Bpf.close(fd);
        }
    }
}

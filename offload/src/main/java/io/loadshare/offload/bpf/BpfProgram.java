package io.loadshare.offload.bpf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A loaded BPF program: {@code BPF_PROG_LOAD} of instructions from {@link BpfAssembler}. A program the verifier
 * rejects is loaded a second time with the verifier's log switched on, and the log goes into the exception.
 */
public final class BpfProgram implements AutoCloseable {
    private static final int LOG_SIZE = 1 << 20;
    private static final String LICENSE = "GPL";
    private final int fd;
    private final String name;
    private boolean closed;

    private BpfProgram(int fd, String name) {
        this.fd = fd;
        this.name = name;
    }

    /** Loads an XDP program. */
    public static BpfProgram loadXdp(String name, long[] instructions) throws BpfException {
        return load(Bpf.PROG_TYPE_XDP, "XDP", name, instructions);
    }

    /** Loads a tc classifier ({@code BPF_PROG_TYPE_SCHED_CLS}), for {@link BpfLink#attachTcIngress}. */
    public static BpfProgram loadTc(String name, long[] instructions) throws BpfException {
        return load(Bpf.PROG_TYPE_SCHED_CLS, "tc", name, instructions);
    }

    private static BpfProgram load(int type, String kind, String name, long[] instructions) throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment code = arena.allocate((long) instructions.length * Long.BYTES, 8);
            for (int i = 0; i < instructions.length; i++) {
                code.setAtIndex(ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN), i, instructions[i]);
            }
            MemorySegment license = arena.allocateFrom(LICENSE);
            MemorySegment errno = Bpf.newErrnoSegment(arena);
            MemorySegment attr = Bpf.newAttr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, type);
            attr.set(ValueLayout.JAVA_INT, 4, instructions.length);
            attr.set(ValueLayout.JAVA_LONG, 8, code.address());
            attr.set(ValueLayout.JAVA_LONG, 16, license.address());
            Bpf.putName(attr, 48, name);
            long fd = Bpf.call(errno, Bpf.PROG_LOAD, attr);
            if (fd >= 0) {
                return new BpfProgram((int) fd, name);
            }
            int error = (int) -fd;
            if (error == Bpf.EPERM || error == Bpf.ENOSYS) {
                throw new BpfException("loading " + kind + " program " + name, error);
            }
            MemorySegment log = arena.allocate(LOG_SIZE);
            attr.set(ValueLayout.JAVA_INT, 24, 1);
            attr.set(ValueLayout.JAVA_INT, 28, LOG_SIZE);
            attr.set(ValueLayout.JAVA_LONG, 32, log.address());
            long again = Bpf.call(errno, Bpf.PROG_LOAD, attr);
            if (again >= 0) {
                Bpf.close((int) again);
            }
            throw new BpfException("the kernel's verifier rejected " + kind + " program " + name + " (a loadshare bug:"
                    + " please report it with this log and `uname -r`)", error, log.getString(0).strip());
        }
    }

    /**
     * Runs the program once over a frame in the kernel ({@code BPF_PROG_TEST_RUN}), attached nowhere: how its
     * tests feed it golden packets.
     *
     * @return the program's verdict and the frame as the program left it
     */
    public TestRun testRun(byte[] frame) throws BpfException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocateFrom(ValueLayout.JAVA_BYTE, frame);
            MemorySegment out = arena.allocate(frame.length + 256L);
            MemorySegment attr = Bpf.newAttr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, fd);
            attr.set(ValueLayout.JAVA_INT, 8, frame.length);
            attr.set(ValueLayout.JAVA_INT, 12, (int) out.byteSize());
            attr.set(ValueLayout.JAVA_LONG, 16, in.address());
            attr.set(ValueLayout.JAVA_LONG, 24, out.address());
            attr.set(ValueLayout.JAVA_INT, 32, 1);
            long result = Bpf.call(Bpf.newErrnoSegment(arena), Bpf.PROG_TEST_RUN, attr);
            if (result < 0) {
                throw new BpfException("test run of BPF program " + name, (int) -result);
            }
            int length = attr.get(ValueLayout.JAVA_INT, 12);
            return new TestRun(attr.get(ValueLayout.JAVA_INT, 4), out.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** A test run's outcome: the program's return value and the frame it left. */
    public record TestRun(int verdict, byte[] frame) {
    }

    public int fd() {
        return fd;
    }

    public String name() {
        return name;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Bpf.close(fd);
        }
    }
}

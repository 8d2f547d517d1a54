package io.loadshare.transport.rawsocket;

import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One AF_PACKET socket: its file descriptor and the calls made on it. Created unbound with protocol 0, so it
 * receives nothing until {@link #bind}. Used from one thread at a time (the channel's event loop, or the thread
 * that opens it before registration), since it keeps one errno capture segment.
 */
final class RawSocket implements AutoCloseable {
    private static final int MAX_LISTED_INDEX = 4096;
    private final int fd;
    /** Netty's view of the descriptor: closing through it tells the epoll loop the fd is gone. */
    private final FileDescriptor descriptor;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment errno = Linux.newErrnoSegment(arena);
    private final MemorySegment scratch = arena.allocate(Linux.IFREQ_SIZE, 8);
    private Thread errnoThread;
    private MemorySegment errnoCell;
    private int sendErrno;

    private RawSocket(int fd) {
        this.fd = fd;
        this.descriptor = new FileDescriptor(fd);
    }

    /** Opens a non-blocking, close-on-exec packet socket in the calling thread's network namespace. */
    static RawSocket open() throws RawSocketException {
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment capture = Linux.newErrnoSegment(temporary);
            int fd = (int) Linux.SOCKET.invokeExact(capture, Linux.AF_PACKET,
                    Linux.SOCK_RAW | Linux.SOCK_NONBLOCK | Linux.SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw RawSocketException.of("socket(AF_PACKET, SOCK_RAW)", Linux.errno(capture), "a raw socket");
            }
            return new RawSocket(fd);
        } catch (RawSocketException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    FileDescriptor descriptor() {
        return descriptor;
    }

    boolean isOpen() {
        return descriptor.isOpen();
    }

    int errno() {
        return Linux.errno(errno);
    }

    /** Why the last {@link #sendBatch} returned -1. */
    int sendErrno() {
        return sendErrno;
    }

    /** Reads errno right after a failed critical call; the cell's address is looked up once per thread. */
    private int threadErrno() {
        Thread current = Thread.currentThread();
        if (errnoThread != current) {
            try {
                errnoCell = ((MemorySegment) Linux.ERRNO_LOCATION.invokeExact()).reinterpret(Integer.BYTES);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
            errnoThread = current;
        }
        return errnoCell.get(ValueLayout.JAVA_INT, 0);
    }

    /** The ifindex of an interface in the socket's own namespace, or an error naming the interfaces that exist. */
    int interfaceIndex(String name) throws RawSocketException {
        ifreq(name);
        if (ioctl(Linux.SIOCGIFINDEX) < 0) {
            int e = errno();
            if (e == Linux.ENODEV) {
                throw new RawSocketException("no network interface '" + name + "'; interfaces here: "
                        + String.join(", ", interfaceNames()) + " (in the socket's network namespace)", e);
            }
            throw RawSocketException.of("ioctl(SIOCGIFINDEX)", e, "interface " + name);
        }
        return scratch.get(ValueLayout.JAVA_INT, Linux.IFNAMSIZ);
    }

    /** The interface's hardware address. */
    long hardwareAddress(String name) throws RawSocketException {
        ifreq(name);
        if (ioctl(Linux.SIOCGIFHWADDR) < 0) {
            throw RawSocketException.of("ioctl(SIOCGIFHWADDR)", errno(), "interface " + name);
        }
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            mac = (mac << 8) | (scratch.get(ValueLayout.JAVA_BYTE, Linux.IFNAMSIZ + 2 + i) & 0xFF);
        }
        return mac;
    }

    /** The interface's MTU. */
    int mtu(String name) throws RawSocketException {
        ifreq(name);
        if (ioctl(Linux.SIOCGIFMTU) < 0) {
            throw RawSocketException.of("ioctl(SIOCGIFMTU)", errno(), "interface " + name);
        }
        return scratch.get(ValueLayout.JAVA_INT, Linux.IFNAMSIZ);
    }

    private void ifreq(String name) throws RawSocketException {
        byte[] bytes = name.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length >= Linux.IFNAMSIZ) {
            throw new RawSocketException("interface name '" + name + "' must be 1.." + (Linux.IFNAMSIZ - 1)
                    + " characters", Linux.EINVAL);
        }
        scratch.fill((byte) 0);
        MemorySegment.copy(bytes, 0, scratch, ValueLayout.JAVA_BYTE, 0, bytes.length);
    }

    private int ioctl(int request) {
        try {
            return (int) Linux.IOCTL.invokeExact(errno, fd, (long) request, scratch);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Names of the interfaces in the socket's own namespace, for error messages: SIOCGIFNAME over ifindexes. */
    List<String> interfaceNames() {
        List<String> names = new ArrayList<>();
        for (int index = 1; index <= MAX_LISTED_INDEX; index++) {
            scratch.fill((byte) 0);
            scratch.set(ValueLayout.JAVA_INT, Linux.IFNAMSIZ, index);
            if (ioctl(Linux.SIOCGIFNAME) == 0) {
                names.add(scratch.getString(0));
            }
        }
        return names;
    }

    /**
     * Binds to one interface: from here on the socket receives frames of {@code etherType}, or of every protocol
     * when it is 0.
     */
    void bind(int ifindex, String name, int etherType) throws RawSocketException {
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment address = temporary.allocate(20, 4);
            address.set(ValueLayout.JAVA_SHORT, 0, (short) Linux.AF_PACKET);
            address.set(ValueLayout.JAVA_SHORT, 2,
                    etherType == 0 ? Linux.ETH_P_ALL_BE : Short.reverseBytes((short) etherType));
            address.set(ValueLayout.JAVA_INT, 4, ifindex);
            int rc = (int) Linux.BIND.invokeExact(errno, fd, address, 20);
            if (rc < 0) {
                throw RawSocketException.of("bind", errno(), "interface " + name);
            }
        } catch (RawSocketException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    void setInt(int level, int option, int value, String what) throws RawSocketException {
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment v = temporary.allocateFrom(ValueLayout.JAVA_INT, value);
            setOption(level, option, v, what);
        }
    }

    void setOption(int level, int option, MemorySegment value, String what) throws RawSocketException {
        try {
            int rc = (int) Linux.SETSOCKOPT.invokeExact(errno, fd, level, option, value, (int) value.byteSize());
            if (rc < 0) {
                throw RawSocketException.of("setsockopt(" + what + ")", errno(), "a raw socket");
            }
        } catch (RawSocketException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Reads an option into {@code value}; returns the length the kernel wrote. */
    int getOption(int level, int option, MemorySegment value, String what) throws RawSocketException {
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment length = temporary.allocateFrom(ValueLayout.JAVA_INT, (int) value.byteSize());
            int rc = (int) Linux.GETSOCKOPT.invokeExact(errno, fd, level, option, value, length);
            if (rc < 0) {
                throw RawSocketException.of("getsockopt(" + what + ")", errno(), "a raw socket");
            }
            return length.get(ValueLayout.JAVA_INT, 0);
        } catch (RawSocketException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * PACKET_STATISTICS since the last call (reading resets them): frames the kernel handed the socket, and those it
     * dropped because the receive queue or ring was full, as {@code packets << 32 | drops}.
     */
    long takeKernelStatistics() throws RawSocketException {
        try (Arena temporary = Arena.ofConfined()) {
            // tpacket_stats_v3 (12 bytes) for a TPACKET_V3 ring, tpacket_stats (8) otherwise; the first two agree.
            MemorySegment value = temporary.allocate(12, 4);
            getOption(Linux.SOL_PACKET, Linux.PACKET_STATISTICS, value, "PACKET_STATISTICS");
            return ((long) value.get(ValueLayout.JAVA_INT, 0) << 32) | (value.get(ValueLayout.JAVA_INT, 4) & 0xFFFF_FFFFL);
        }
    }

    /** The pending socket error (SO_ERROR), clearing it; 0 when there is none. */
    int pendingError() throws RawSocketException {
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment value = temporary.allocate(ValueLayout.JAVA_INT);
            getOption(Linux.SOL_SOCKET, Linux.SO_ERROR, value, "SO_ERROR");
            return value.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /**
     * Receives up to {@code count} frames into prepared {@code mmsghdr}s without blocking, in one system call.
     * Each message's {@code msg_len} is its frame's full length (MSG_TRUNC), larger than its buffer when it was cut.
     *
     * @return frames received, or -1 when none is waiting
     * @throws RawSocketException for any error but EAGAIN/EINTR
     */
    int receiveBatch(MemorySegment messages, int count) throws RawSocketException {
        int n;
        try {
            n = (int) Linux.RECVMMSG_FAST.invokeExact(fd, messages, count, Linux.MSG_TRUNC | Linux.MSG_DONTWAIT,
                    MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (n >= 0) {
            return n;
        }
        int e = threadErrno();
        if (e == Linux.EAGAIN || e == Linux.EINTR) {
            return -1;
        }
        throw RawSocketException.of("recvmmsg", e, "a raw socket");
    }

    /**
     * Sends up to {@code count} prepared {@code mmsghdr}s without blocking.
     *
     * @return messages sent, or -1 with {@link #sendErrno()} set
     */
    int sendBatch(MemorySegment messages, int count) {
        int sent;
        try {
            sent = (int) Linux.SENDMMSG_FAST.invokeExact(fd, messages, count, Linux.MSG_DONTWAIT);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (sent < 0) {
            sendErrno = threadErrno();
        }
        return sent;
    }

    /** Maps {@code length} bytes of the socket's ring. */
    MemorySegment map(long length) throws RawSocketException {
        try {
            MemorySegment address = (MemorySegment) Linux.MMAP.invokeExact(errno, MemorySegment.NULL, length,
                    Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED, fd, 0L);
            if (address.address() == -1L) {
                throw RawSocketException.of("mmap", errno(), "the packet ring");
            }
            return address.reinterpret(length);
        } catch (RawSocketException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    void unmap(MemorySegment ring) {
        try {
            int ignored = (int) Linux.MUNMAP.invokeExact(errno, ring, ring.byteSize());
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void close() throws IOException {
        if (descriptor.isOpen()) {
            descriptor.close();
        }
    }

    @Override
    public String toString() {
        return "RawSocket(fd " + fd + ")";
    }

    /**
     * Sets what a channel's configuration asks before the socket is bound: virtio-net headers, ignoring what others
     * send, a forced receive buffer, and the kernel filter (for the channel's VLAN alone, on a trunk).
     */
    void configure(RawSocketChannelConfig config) throws RawSocketException {
        if (config.vnetHeader()) {
            setInt(Linux.SOL_PACKET, Linux.PACKET_VNET_HDR, 1, "PACKET_VNET_HDR");
        }
        if (config.ignoreOutgoing()) {
            setInt(Linux.SOL_PACKET, Linux.PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");
        }
        if (config.receiveBufferSize() > 0) {
            setInt(Linux.SOL_SOCKET, Linux.SO_RCVBUFFORCE, config.receiveBufferSize(), "SO_RCVBUFFORCE");
        }
        // On a trunk the kernel drops the other VLANs' frames; user space still checks the tag it restores.
        attachFilter(config.vlan() == 0 ? config.socketFilter() : config.socketFilter().onVlan(config.vlan()));
    }

    /** Attaches a classic BPF filter: the kernel drops what it refuses before copying anything up. */
    private void attachFilter(SocketFilter filter) throws RawSocketException {
        try (Arena temporary = Arena.ofConfined()) {
            setOption(Linux.SOL_SOCKET, Linux.SO_ATTACH_FILTER, ClassicBpf.sockFprog(temporary, filter.instructions()),
                    "SO_ATTACH_FILTER");
        }
    }

    /**
     * Joins a fanout group, or starts one whose id the kernel picks, steered by the kernel's flow hash or by a
     * program.
     *
     * @param group the group to join, or -1 to start one
     * @param steering the program that picks each frame's socket, or null for the kernel's hash
     * @return the group's id
     */
    int joinFanout(int group, FanoutSteering steering) throws RawSocketException {
        int type = steering == null ? Linux.PACKET_FANOUT_HASH : Linux.PACKET_FANOUT_CBPF;
        boolean fresh = group < 0;
        setInt(Linux.SOL_PACKET, Linux.PACKET_FANOUT,
                (fresh ? 0 : group) | (type | (fresh ? Linux.PACKET_FANOUT_FLAG_UNIQUEID : 0)) << 16, "PACKET_FANOUT");
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment value = temporary.allocate(ValueLayout.JAVA_INT);
            getOption(Linux.SOL_PACKET, Linux.PACKET_FANOUT, value, "PACKET_FANOUT");
            if (steering != null) {
                setOption(Linux.SOL_PACKET, Linux.PACKET_FANOUT_DATA,
                        ClassicBpf.sockFprog(temporary, steering.instructions()), "PACKET_FANOUT_DATA");
            }
            return value.get(ValueLayout.JAVA_INT, 0) & 0xFFFF;
        }
    }
}

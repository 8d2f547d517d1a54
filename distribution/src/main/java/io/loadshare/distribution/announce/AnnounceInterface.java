package io.loadshare.distribution.announce;

import io.loadshare.core.netns.NetworkNamespace;
import java.io.IOException;
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
 * A tun interface that stands for one service address towards the routing daemon: the daemon announces the address
 * while the interface is up (BIRD: a static route {@code via "lsvip0"} with {@code check link}; FRR: a static
 * route via the interface). The interface belongs to this process's file descriptor, so when the process dies,
 * crash included, the kernel removes it and the daemon withdraws the route at once; no stale announcement outlives
 * the dispatcher. It carries no address and no traffic: the kernel never treats the service address as local.
 */
final class AnnounceInterface implements AutoCloseable {
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    private static final long TUNSETIFF = 0x400454caL;
    private static final short IFF_TUN = 0x0001;
    private static final short IFF_NO_PI = 0x1000;
    private static final long SIOCGIFFLAGS = 0x8913;
    private static final long SIOCSIFFLAGS = 0x8914;
    private static final short IFF_UP = 0x1;
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;
    private static final int IFREQ_SIZE = 40;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle OPEN = downcall("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle SOCKET = downcall("socket",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle IOCTL = downcall("ioctl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    private static final MethodHandle CLOSE = downcall("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(LINKER.defaultLookup().find("strerror")
            .orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));

    private final String name;
    private final int tun;
    /** A datagram socket in the interface's namespace, for the flag ioctls. */
    private final int control;
    private boolean up;
    private boolean closed;

    private AnnounceInterface(String name, int tun, int control) {
        this.name = name;
        this.tun = tun;
        this.control = control;
    }

    private static MethodHandle downcall(String function, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(function).orElseThrow(), descriptor,
                Linker.Option.captureCallState("errno"));
    }

    /** Creates the interface, down, in a namespace (null: the process's own). */
    static AnnounceInterface create(NetworkNamespace namespace, String name) throws IOException {
        return namespace == null ? create(name) : namespace.run(() -> create(name));
    }

    private static AnnounceInterface create(String name) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = arena.allocate(CAPTURE);
            int tun = (int) OPEN.invokeExact(errno, arena.allocateFrom("/dev/net/tun"), O_RDWR | O_CLOEXEC);
            if (tun < 0) {
                throw failure("opening /dev/net/tun (the tun module; CAP_NET_ADMIN)", errno);
            }
            MemorySegment ifreq = ifreq(arena, name);
            ifreq.set(ValueLayout.JAVA_SHORT, 16, (short) (IFF_TUN | IFF_NO_PI));
            if ((int) IOCTL.invokeExact(errno, tun, TUNSETIFF, ifreq) < 0) {
                IOException e = failure("creating tun interface " + name + " (needs CAP_NET_ADMIN; a name in use"
                        + " by another interface is refused)", errno);
                int ignored = (int) CLOSE.invokeExact(errno, tun);
                throw e;
            }
            int control = (int) SOCKET.invokeExact(errno, AF_INET, SOCK_DGRAM, 0);
            if (control < 0) {
                IOException e = failure("opening a control socket for " + name, errno);
                int ignored = (int) CLOSE.invokeExact(errno, tun);
                throw e;
            }
            return new AnnounceInterface(name, tun, control);
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("FFM call failed", t);
        }
    }

    String name() {
        return name;
    }

    boolean isUp() {
        return up;
    }

    /** Brings the interface up (the daemon announces) or down (it withdraws). */
    synchronized void setUp(boolean wanted) throws IOException {
        if (closed || wanted == up) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = arena.allocate(CAPTURE);
            MemorySegment ifreq = ifreq(arena, name);
            if ((int) IOCTL.invokeExact(errno, control, SIOCGIFFLAGS, ifreq) < 0) {
                throw failure("reading the flags of " + name, errno);
            }
            short flags = ifreq.get(ValueLayout.JAVA_SHORT, 16);
            ifreq.set(ValueLayout.JAVA_SHORT, 16, (short) (wanted ? flags | IFF_UP : flags & ~IFF_UP));
            if ((int) IOCTL.invokeExact(errno, control, SIOCSIFFLAGS, ifreq) < 0) {
                throw failure("setting " + name + (wanted ? " up" : " down"), errno);
            }
            up = wanted;
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("FFM call failed", t);
        }
    }

    /** Removes the interface: the daemon withdraws the route. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            up = false;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment errno = arena.allocate(CAPTURE);
                int ignored = (int) CLOSE.invokeExact(errno, tun);
                ignored = (int) CLOSE.invokeExact(errno, control);
            } catch (Throwable t) {
                throw new IllegalStateException("FFM call failed", t);
            }
        }
    }

    private static MemorySegment ifreq(Arena arena, String name) {
        MemorySegment ifreq = arena.allocate(IFREQ_SIZE);
        byte[] bytes = name.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        MemorySegment.copy(bytes, 0, ifreq, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return ifreq;
    }

    private static IOException failure(String what, MemorySegment errno) {
        int code = (int) ERRNO.get(errno, 0L);
        String text;
        try {
            text = ((MemorySegment) STRERROR.invokeExact(code)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            text = "errno " + code;
        }
        return new IOException(what + ": " + text);
    }
}

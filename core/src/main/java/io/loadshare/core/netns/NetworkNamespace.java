package io.loadshare.core.netns;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A Linux network namespace, named as {@code ip netns} names them (a file under {@code /var/run/netns}). A
 * packet socket belongs to the namespace of the thread that creates it, so {@link #run} switches the calling
 * thread in for the duration of one action and back out. Switching needs CAP_SYS_ADMIN.
 */
public final class NetworkNamespace {
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int CLONE_NEWNET = 0x4000_0000;
    private static final Path NAMED = Path.of("/var/run/netns");
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle OPEN = libc("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle SETNS = libc("setns",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOSE = libc("close",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private static MethodHandle libc(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), descriptor,
                Linker.Option.captureCallState("errno"));
    }

    private final String name;
    private final Path path;

    private NetworkNamespace(String name, Path path) {
        this.name = name;
        this.path = path;
    }

    /** The namespace {@code ip netns add NAME} created. */
    public static NetworkNamespace named(String name) {
        Objects.requireNonNull(name, "name");
        Path path = NAMED.resolve(name);
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("no network namespace '" + name + "' (" + path + " does not exist)");
        }
        return new NetworkNamespace(name, path);
    }

    public String name() {
        return name;
    }

    /** Something to do inside the namespace. */
    @FunctionalInterface
    public interface Action<T> {
        T run() throws IOException;
    }

    /** Runs the action on this thread inside the namespace, then returns the thread to its own namespace. */
    public <T> T run(Action<T> action) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = arena.allocate(CAPTURE);
            int home = open(arena, errno, "/proc/thread-self/ns/net");
            int target = -1;
            try {
                target = open(arena, errno, path.toString());
                setns(errno, target, name);
                try {
                    return action.run();
                } finally {
                    setns(errno, home, "the thread's own namespace");
                }
            } finally {
                close(errno, home);
                if (target >= 0) {
                    close(errno, target);
                }
            }
        }
    }

    private static int open(Arena arena, MemorySegment errno, String file) throws IOException {
        try {
            int fd = (int) OPEN.invokeExact(errno, arena.allocateFrom(file), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                throw new IOException("cannot open " + file + ": errno " + (int) ERRNO.get(errno, 0L));
            }
            return fd;
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void setns(MemorySegment errno, int fd, String what) throws IOException {
        try {
            if ((int) SETNS.invokeExact(errno, fd, CLONE_NEWNET) != 0) {
                throw new IOException("setns into " + what + " failed with errno " + (int) ERRNO.get(errno, 0L)
                        + "; entering a network namespace needs CAP_SYS_ADMIN");
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void close(MemorySegment errno, int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(errno, fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public String toString() {
        return "netns " + name;
    }
}

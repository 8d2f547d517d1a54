package io.loadshare.transport.rawsocket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
            MemorySegment errno = Linux.newErrnoSegment(arena);
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
            int fd = (int) Linux.OPEN.invokeExact(errno, arena.allocateFrom(file), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                throw RawSocketException.of("open", Linux.errno(errno), file);
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
            if ((int) Linux.SETNS.invokeExact(errno, fd, CLONE_NEWNET) != 0) {
                int e = Linux.errno(errno);
                throw new RawSocketException("setns into " + what + " failed: " + Linux.errnoName(e) + " ("
                        + Linux.strerror(e) + "); entering a network namespace needs CAP_SYS_ADMIN", e);
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void close(MemorySegment errno, int fd) {
        try {
            int ignored = (int) Linux.CLOSE.invokeExact(errno, fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public String toString() {
        return "netns " + name;
    }
}

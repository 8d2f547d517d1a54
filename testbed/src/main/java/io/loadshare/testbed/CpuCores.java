package io.loadshare.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;

/**
 * The machine's cores as the demo uses them: how many there are, how busy each is ({@code /proc/stat}), and which
 * of them a thread may run on ({@code sched_setaffinity}, inherited by the threads it creates).
 */
public final class CpuCores {
    /** cpu_set_t: 1024 CPUs. */
    private static final int CPU_SET_BYTES = 128;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SCHED_SETAFFINITY = LINKER.downcallHandle(
            LINKER.defaultLookup().find("sched_setaffinity").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS));

    private CpuCores() {
    }

    /** Restricts the calling thread, and the threads it creates from now on, to {@code cpus}. */
    public static void pinCurrentThread(BitSet cpus) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = arena.allocate(CPU_SET_BYTES, 8);
            long[] words = cpus.toLongArray();
            for (int i = 0; i < words.length && i < CPU_SET_BYTES / 8; i++) {
                mask.setAtIndex(ValueLayout.JAVA_LONG, i, words[i]);
            }
            int rc = (int) SCHED_SETAFFINITY.invokeExact(0, (long) CPU_SET_BYTES, mask);
            if (rc != 0) {
                throw new IllegalStateException("sched_setaffinity to CPUs " + cpus + " failed");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The CPUs {@code /proc/stat} lists, by number. */
    public static BitSet all() {
        BitSet cpus = new BitSet();
        for (String line : stat()) {
            if (line.matches("cpu[0-9]+ .*")) {
                cpus.set(Integer.parseInt(line.substring(3, line.indexOf(' '))));
            }
        }
        return cpus;
    }

    /** Busy jiffies (user, nice, system, irq, softirq, steal) per CPU, indexed by CPU number. */
    public static long[] busyJiffies() {
        BitSet cpus = all();
        long[] busy = new long[cpus.length()];
        for (String line : stat()) {
            if (line.matches("cpu[0-9]+ .*")) {
                String[] f = line.trim().split("\\s+");
                busy[Integer.parseInt(f[0].substring(3))] = Long.parseLong(f[1]) + Long.parseLong(f[2])
                        + Long.parseLong(f[3]) + Long.parseLong(f[6]) + Long.parseLong(f[7]) + Long.parseLong(f[8]);
            }
        }
        return busy;
    }

    /**
     * Watches the machine for a second.
     *
     * @return why figures taken now could not be trusted (a core busy with something else), or null
     */
    public static String busyReason() throws InterruptedException {
        long[] before = busyJiffies();
        long started = System.nanoTime();
        Thread.sleep(1000);
        long[] after = busyJiffies();
        double seconds = (System.nanoTime() - started) / 1e9;
        // /proc/stat counts in USER_HZ, which is 100 on the architectures the JDK runs on.
        double ticks = 100;
        for (int cpu = 0; cpu < Math.min(before.length, after.length); cpu++) {
            double share = (after[cpu] - before[cpu]) / ticks / seconds;
            if (share > 0.10) {
                return String.format("core %d was %.0f %% busy with other work just before the demo", cpu,
                        100 * share);
            }
        }
        return null;
    }

    private static List<String> stat() {
        try {
            return Files.readAllLines(Path.of("/proc/stat"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

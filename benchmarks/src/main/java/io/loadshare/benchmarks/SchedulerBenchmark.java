package io.loadshare.benchmarks;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.Flow;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Nanoseconds per {@link Scheduler#pick} for every algorithm at 3, 100 and 1000 backends with weights 1..4. Each
 * pick is followed by the open/close bookkeeping a dispatcher does, with 1,000 sessions held per loop, so that
 * the connection-counting algorithms run against realistic counts.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseParallelGC"})
public class SchedulerBenchmark {
    @Param({"round-robin", "weighted-round-robin", "least-connections", "weighted-least-connections",
        "shortest-expected-delay", "never-queue", "maglev", "source-hash", "destination-hash", "two-random-choices",
        "random"})
    public String algorithm;

    @Param({"3", "100", "1000"})
    public int backends;

    private static final int OPEN = 1024;

    private Scheduler scheduler;
    private BackendPool pool;
    private final MutableFlow flow = new MutableFlow();
    private final int[] open = new int[OPEN];
    private int cursor;

    /** A flow whose source port changes per pick, without allocation. */
    static final class MutableFlow implements Flow {
        int port;

        @Override
        public int protocol() {
            return IpProtocol.TCP;
        }

        @Override
        public int sourceAddress() {
            return 0xCB00_7105 + port;
        }

        @Override
        public int sourcePort() {
            return port & 0xFFFF;
        }

        @Override
        public int destinationAddress() {
            return 0xC000_020A;
        }

        @Override
        public int destinationPort() {
            return 80;
        }
    }

    @Setup
    public void setUp() {
        List<Backend> list = new ArrayList<>();
        for (int id = 1; id <= backends; id++) {
            list.add(new Backend(id, 0xC000_0200 + id, 0, MacAddress.UNKNOWN, 1 + id % 4, BackendState.ACTIVE));
        }
        pool = BackendPool.of(list);
        scheduler = SchedulerRegistry.load().create(algorithm, ConfigFactory.parseString("seed = 1"));
        scheduler.prepare(pool);
        java.util.Arrays.fill(open, -1);
    }

    @Benchmark
    public Backend pick() {
        flow.port++;
        Backend backend = scheduler.pick(pool, flow);
        scheduler.sessionOpened(backend);
        int slot = cursor++ & (OPEN - 1);
        if (open[slot] >= 0) {
            scheduler.sessionClosed(open[slot]);
        }
        open[slot] = backend.id();
        return backend;
    }
}

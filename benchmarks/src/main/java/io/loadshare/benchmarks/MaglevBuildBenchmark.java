package io.loadshare.benchmarks;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerRegistry;
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

/** Time to build a Maglev table (what {@code Scheduler.prepare} does on a pool change); the paper reports 1.8 ms. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class MaglevBuildBenchmark {
    @Param({"65537"})
    public int tableSize;

    @Param({"100"})
    public int backends;

    @Param({"equal", "weighted"})
    public String weights;

    private Scheduler maglev;
    private BackendPool pool;

    @Setup
    public void setUp() {
        List<Backend> list = new ArrayList<>();
        for (int id = 1; id <= backends; id++) {
            int weight = weights.equals("equal") ? 1 : 1 + id % 4;
            list.add(new Backend(id, 0xC000_0200 + id, 0, MacAddress.UNKNOWN, weight, BackendState.ACTIVE));
        }
        pool = BackendPool.of(list);
        maglev = SchedulerRegistry.load().create("maglev", ConfigFactory.parseString("table-size = " + tableSize));
    }

    @Benchmark
    public Scheduler build() {
        maglev.prepare(pool);
        return maglev;
    }
}

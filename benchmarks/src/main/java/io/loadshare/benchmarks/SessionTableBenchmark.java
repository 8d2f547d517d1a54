package io.loadshare.benchmarks;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.session.SessionSettings;
import io.loadshare.core.session.SessionTable;
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
 * Nanoseconds per session-table operation on the data path, with the table holding {@code sessions} TCP sessions
 * (the default settings of reference.conf): a packet of an existing session (lookup and state update), a packet
 * of none (lookup miss), and a whole short session (insert on SYN, remove on FIN+ACK). Keys are visited in a
 * scattered order, so the larger table measures cache misses rather than a hot line.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseParallelGC", "-Xmx2g"})
public class SessionTableBenchmark {
    @Param({"1000", "500000", "1000000"})
    public int sessions;

    private SessionTable table;
    private final SchedulerBenchmark.MutableFlow flow = new SchedulerBenchmark.MutableFlow();
    private int cursor;

    @Setup
    public void setUp() {
        // Room for 2^20 sessions, so that the 1,000,000-session table still takes the short session's insert.
        SessionSettings settings = CoreSettings.from(ConfigFactory.parseString(
                "io.loadshare.core.session.max-sessions = 1048576")).session();
        table = new SessionTable(settings, (service, backend, natPort, natAddress, end) -> { });
        for (int i = 0; i < sessions; i++) {
            flow.port = i;
            table.insert(flow, 0, 1 + i % 16, 0);
        }
    }

    /** The next existing session's key, scattered over the table. */
    private void nextExisting() {
        flow.port = Math.floorMod(++cursor * 0x9E37_79B1, sessions);
    }

    @Benchmark
    public int packetOfASession() {
        nextExisting();
        int slot = table.lookup(flow, 1);
        table.onTcpPacket(slot, TcpHeader.ACK, 1);
        return slot;
    }

    @Benchmark
    public int packetOfNoSession() {
        nextExisting();
        flow.port += sessions;
        return table.lookup(flow, 1);
    }

    @Benchmark
    public int shortSession() {
        nextExisting();
        flow.port += sessions;
        int slot = table.insert(flow, 0, 1, 1);
        table.remove(slot, SessionEnd.FINISHED);
        return slot;
    }
}

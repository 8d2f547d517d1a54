package io.loadshare.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.FlowKey;
import java.util.ArrayDeque;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Over 1,000,000 flows each algorithm spreads new sessions as its definition says. Sessions close in arrival
 * order with 1,000 open at a time, so the connection-counting algorithms see a realistic steady state.
 *
 * <p>Tolerances: the deterministic algorithms (rr, wrr, lc, wlc, sed, nq) are held to 0.1% of the expected share;
 * the hashing and random ones to 1%, several standard deviations of a binomial over 1M draws plus the Maglev
 * table's own granularity (each slot is 1/65537 of the keys).
 */
class SchedulerDistributionTest {
    private static final int FLOWS = 1_000_000;
    private static final int OPEN = 1_000;
    private static final SchedulerRegistry REGISTRY = SchedulerRegistry.load();

    private static long[] run(String name, BackendPool pool) {
        Scheduler scheduler = REGISTRY.create(name, ConfigFactory.parseString("seed = 7"));
        scheduler.prepare(pool);
        SplittableRandom random = new SplittableRandom(11);
        long[] picks = new long[pool.all().size() + 1];
        ArrayDeque<Integer> open = new ArrayDeque<>();
        for (int i = 0; i < FLOWS; i++) {
            FlowKey flow = new FlowKey(IpProtocol.TCP, random.nextInt(), random.nextInt(1024, 65536), random.nextInt(), 80);
            Backend backend = scheduler.pick(pool, flow);
            picks[backend.id()]++;
            scheduler.sessionOpened(backend);
            open.add(backend.id());
            if (open.size() > OPEN) {
                scheduler.sessionClosed(open.poll());
            }
        }
        return picks;
    }

    private static void assertShares(String name, BackendPool pool, double[] expectedShares, double tolerance) {
        long[] picks = run(name, pool);
        for (int id = 1; id < picks.length; id++) {
            double share = (double) picks[id] / FLOWS;
            assertTrue(Math.abs(share - expectedShares[id - 1]) <= tolerance,
                    name + ": backend " + id + " got " + share + ", expected " + expectedShares[id - 1] + " ± "
                            + tolerance);
        }
    }

    private static final double[] THIRDS = {1 / 3.0, 1 / 3.0, 1 / 3.0};
    private static final double[] FIVE_THREE_TWO = {0.5, 0.3, 0.2};

    @ParameterizedTest
    @ValueSource(strings = {"round-robin", "weighted-round-robin", "least-connections", "weighted-least-connections",
        "shortest-expected-delay", "never-queue"})
    void deterministicAlgorithmsSpreadEqualWeightsEvenly(String name) {
        assertShares(name, Pools.equal(3), THIRDS, 0.001);
    }

    @ParameterizedTest
    @ValueSource(strings = {"maglev", "source-hash", "destination-hash", "random", "two-random-choices"})
    void hashingAndRandomAlgorithmsSpreadEqualWeightsEvenly(String name) {
        assertShares(name, Pools.equal(3), THIRDS, 0.01);
    }

    @ParameterizedTest
    @ValueSource(strings = {"weighted-round-robin", "weighted-least-connections", "shortest-expected-delay",
        "never-queue"})
    void weightedDeterministicAlgorithmsFollowWeights(String name) {
        assertShares(name, Pools.weighted(5, 3, 2), FIVE_THREE_TWO, 0.001);
    }

    @ParameterizedTest
    @ValueSource(strings = {"maglev", "source-hash", "destination-hash", "random", "two-random-choices"})
    void weightedHashingAndRandomAlgorithmsFollowWeights(String name) {
        assertShares(name, Pools.weighted(5, 3, 2), FIVE_THREE_TWO, 0.01);
    }

    /** rr and lc take weights only as on/off, as in IPVS. */
    @ParameterizedTest
    @ValueSource(strings = {"round-robin", "least-connections"})
    void unweightedAlgorithmsIgnoreRelativeWeights(String name) {
        assertShares(name, Pools.weighted(5, 3, 2), THIRDS, 0.001);
    }

    @ParameterizedTest
    @ValueSource(strings = {"round-robin", "weighted-round-robin", "least-connections", "weighted-least-connections",
        "shortest-expected-delay", "never-queue", "maglev", "source-hash", "destination-hash", "random",
        "two-random-choices"})
    void drainingDownAndZeroWeightBackendsGetNothingNew(String name) {
        BackendPool pool = Pools.equal(5);
        pool = pool.with(pool.byId(2).withState(BackendState.DRAINING));
        pool = pool.with(pool.byId(3).withState(BackendState.DOWN));
        pool = pool.with(pool.byId(4).withWeight(0));
        long[] picks = run(name, pool);
        assertEquals(0, picks[2] + picks[3] + picks[4], name);
        assertEquals(FLOWS, picks[1] + picks[5], name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"round-robin", "weighted-round-robin", "least-connections", "weighted-least-connections",
        "shortest-expected-delay", "never-queue", "maglev", "source-hash", "destination-hash", "random",
        "two-random-choices"})
    void anEmptyPoolGivesNoBackend(String name) {
        Scheduler scheduler = REGISTRY.create(name, ConfigFactory.empty());
        BackendPool pool = Pools.equal(2);
        pool = pool.with(pool.byId(1).withState(BackendState.DOWN)).with(pool.byId(2).withState(BackendState.DRAINING));
        scheduler.prepare(pool);
        assertNull(scheduler.pick(pool, new FlowKey(IpProtocol.TCP, 1, 2, 3, 4)));
    }

    @Test
    void leastConnectionsFillsTheEmptiestBackend() {
        Scheduler lc = REGISTRY.create("lc", ConfigFactory.empty());
        BackendPool pool = Pools.equal(3);
        FlowKey flow = new FlowKey(IpProtocol.TCP, 1, 2, 3, 4);
        for (int i = 0; i < 9; i++) {
            lc.sessionOpened(lc.pick(pool, flow));
        }
        lc.sessionClosed(2);
        lc.sessionClosed(2);
        assertEquals(2, lc.pick(pool, flow).id());
    }
}

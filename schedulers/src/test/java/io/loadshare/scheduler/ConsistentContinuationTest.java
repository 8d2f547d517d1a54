package io.loadshare.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.FlowKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Two dispatchers with the same backends, listed in another order and numbered differently (ids are local to a
 * dispatcher), pick the same backend for each of 1M random flows under maglev, source-hash and destination-hash,
 * which therefore continue flows; the counting and rotating schedulers do not claim to.
 */
class ConsistentContinuationTest {
    private static final int BACKENDS = 7;

    @Test
    void twoDispatchersPickTheSameBackendForEveryFlow() {
        SchedulerRegistry registry = SchedulerRegistry.load();
        BackendPool first = pool(false);
        BackendPool second = pool(true);
        for (String name : List.of("maglev", "source-hash", "destination-hash")) {
            Scheduler a = registry.create(name, ConfigFactory.empty());
            Scheduler b = registry.create(name, ConfigFactory.empty());
            assertTrue(a.continuesFlows(), name);
            a.prepare(first);
            b.prepare(second);
            SplittableRandom random = new SplittableRandom(42);
            for (int i = 0; i < 1_000_000; i++) {
                FlowKey flow = new FlowKey(IpProtocol.TCP, random.nextInt(), random.nextInt(1024, 65536),
                        0xC633_640A + random.nextInt(4), 80);
                assertEquals(a.pick(first, flow).address(), b.pick(second, flow).address(), name + " flow " + i);
            }
        }
        for (String name : List.of("round-robin", "weighted-round-robin", "least-connections", "two-random-choices")) {
            assertFalse(registry.create(name, ConfigFactory.empty()).continuesFlows(), name);
        }
    }

    /** Backends 192.0.2.11.., ids 1..n in order, or shuffled ids in reverse order. */
    private static BackendPool pool(boolean renumbered) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 1; i <= BACKENDS; i++) {
            ids.add(renumbered ? 100 + i * 3 : i);
        }
        if (renumbered) {
            Collections.shuffle(ids, new java.util.Random(1));
        }
        List<Backend> backends = new ArrayList<>();
        for (int i = 0; i < BACKENDS; i++) {
            backends.add(new Backend(ids.get(i), 0xC000_020B + i, 0, MacAddress.UNKNOWN, 1, BackendState.ACTIVE));
        }
        if (renumbered) {
            Collections.reverse(backends);
        }
        return BackendPool.of(backends);
    }
}

package io.loadshare.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.FlowKey;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WeightedRoundRobinTest {
    /** Weights 5:1:1 interleave as a a b a c a a (the smooth sequence), in both precomputed and live modes. */
    @ParameterizedTest
    @ValueSource(ints = {1_048_576, 1})
    void fiveOneOneInterleaves(int maxScheduleLength) {
        Scheduler wrr = SchedulerRegistry.load().create("wrr",
                ConfigFactory.parseString("max-schedule-length = " + maxScheduleLength));
        BackendPool pool = Pools.weighted(5, 1, 1);
        wrr.prepare(pool);
        StringBuilder order = new StringBuilder();
        for (int i = 0; i < 14; i++) {
            order.append((char) ('a' + wrr.pick(pool, new FlowKey(IpProtocol.TCP, 1, 1, 1, 1)).id() - 1));
        }
        assertEquals("aabacaaaabacaa", order.toString());
    }
}

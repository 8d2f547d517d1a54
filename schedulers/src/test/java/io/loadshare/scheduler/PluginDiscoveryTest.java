package io.loadshare.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.scheduler.UnknownSchedulerException;
import io.loadshare.core.session.FlowKey;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class PluginDiscoveryTest {
    private static final FlowKey FLOW = new FlowKey(IpProtocol.TCP, 1, 2, 3, 4);

    @Test
    void everyAlgorithmIsFoundByNameAndIpvsAlias() {
        SchedulerRegistry registry = SchedulerRegistry.load();
        assertTrue(registry.names().containsAll(List.of("round-robin", "weighted-round-robin", "least-connections",
                "weighted-least-connections", "shortest-expected-delay", "never-queue", "source-hash",
                "destination-hash", "maglev", "two-random-choices", "random")), registry.names().toString());
        for (String[] alias : new String[][] {{"rr", "round-robin"}, {"wrr", "weighted-round-robin"},
            {"lc", "least-connections"}, {"wlc", "weighted-least-connections"}, {"sed", "shortest-expected-delay"},
            {"nq", "never-queue"}, {"sh", "source-hash"}, {"dh", "destination-hash"}, {"mh", "maglev"},
            {"twos", "two-random-choices"}}) {
            assertEquals(alias[1], registry.canonicalName(alias[0]));
        }
    }

    @Test
    void aThirdPartyPluginIsFoundWithItsOwnDefaults() {
        Scheduler scheduler = SchedulerRegistry.load().create("first-available", ConfigFactory.empty());
        BackendPool pool = Pools.equal(3);
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(scheduler.pick(pool, FLOW).id());
        }
        assertEquals(List.of(1, 1, 2, 2, 3), ids);
    }

    @Test
    void unknownNameListsEveryAvailableOne() {
        UnknownSchedulerException e = assertThrows(UnknownSchedulerException.class,
                () -> SchedulerRegistry.load().create("fastest", ConfigFactory.empty()));
        assertTrue(e.getMessage().startsWith("unknown scheduler 'fastest'; available: "), e.getMessage());
        assertTrue(e.available().containsAll(List.of("first-available", "maglev", "mh", "rr", "wlc")));
    }

    @Test
    void aPluginClaimingABuiltInNameIsRejected() {
        List<SchedulerFactory> factories = new ArrayList<>();
        ServiceLoader.load(SchedulerFactory.class).forEach(factories::add);
        factories.add(new SchedulerFactory() {
            @Override
            public String name() {
                return "maglev";
            }

            @Override
            public Scheduler create(Config settings) {
                return (pool, flow) -> null;
            }
        });
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SchedulerRegistry.of(factories, ConfigFactory.defaultReference()));
        assertTrue(e.getMessage().startsWith("duplicate scheduler name 'maglev': claimed by both "
                + HashingScheduler.MaglevFactory.class.getName()), e.getMessage());
    }
}

package io.loadshare.core.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.session.FlowKey;
import io.loadshare.core.testing.CyclingSchedulerFactory;
import io.loadshare.core.testing.PipelineHarness;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SchedulerRegistryTest {
    private static final FlowKey FLOW = new FlowKey(6, 1, 2, 3, 4);

    @Test
    void findsTheServiceLoaderPluginByNameAndAlias() {
        SchedulerRegistry registry = SchedulerRegistry.load();
        assertEquals(List.of(CyclingSchedulerFactory.NAME), registry.names());
        assertEquals(List.of("tc", "test-cycle"), registry.available());
        assertEquals(CyclingSchedulerFactory.NAME, registry.canonicalName("TC"));
        assertInstanceOf(CyclingSchedulerFactory.class, registry.factory(" Test-Cycle "));
    }

    @Test
    void settingsFallBackToTheReferenceBlock() {
        SchedulerRegistry registry = SchedulerRegistry.load();
        BackendPool pool = BackendPool.of(PipelineHarness.backends(3));
        assertEquals(1, registry.create("tc", ConfigFactory.empty()).pick(pool, FLOW).id());
        assertEquals(3, registry.create("tc", ConfigFactory.parseString("start = 2")).pick(pool, FLOW).id());
    }

    @Test
    void unknownNameListsWhatExists() {
        UnknownSchedulerException e = assertThrows(UnknownSchedulerException.class,
                () -> SchedulerRegistry.load().create("maglev", ConfigFactory.empty()));
        assertEquals("unknown scheduler 'maglev'; available: tc, test-cycle", e.getMessage());
        assertEquals(List.of("tc", "test-cycle"), e.available());
    }

    @Test
    void duplicateNamesAreRejected() {
        SchedulerFactory clash = new SchedulerFactory() {
            @Override
            public String name() {
                return "other";
            }

            @Override
            public Set<String> aliases() {
                return Set.of("tc");
            }

            @Override
            public Scheduler create(Config settings) {
                return (pool, flow) -> null;
            }
        };
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SchedulerRegistry.of(List.of(new CyclingSchedulerFactory(), clash), ConfigFactory.empty()));
        assertTrue(e.getMessage().startsWith("duplicate scheduler name 'tc': claimed by both "
                + CyclingSchedulerFactory.class.getName()), e.getMessage());
    }
}

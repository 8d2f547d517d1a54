package io.loadshare.core.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.testing.PipelineHarness;
import org.junit.jupiter.api.Test;

/** Operator overrides and health verdicts on top of the pool a service's source publishes. */
class ServiceOverrideTest {
    private final Service service = new Service(0, "web", 1, IpProtocol.TCP, 80, () -> (pool, flow) -> null,
            BackendPool.of(PipelineHarness.backends(3)));

    @Test
    void aDrainOutlivesRepublicationUntilHandedBack() {
        service.override(2, BackendState.DRAINING);
        assertEquals(BackendState.DRAINING, service.pool().byId(2).state());
        service.publish(BackendPool.of(PipelineHarness.backends(3)));
        assertEquals(BackendState.DRAINING, service.pool().byId(2).state(), "a new source pool keeps the drain");
        assertEquals(2, service.pool().availableCount());
        service.override(2, null);
        assertEquals(BackendState.ACTIVE, service.pool().byId(2).state());
    }

    @Test
    void anOverrideNeverRevivesABackendItsSourceReportsDown() {
        BackendPool pool = BackendPool.of(PipelineHarness.backends(3));
        service.override(1, BackendState.DRAINING);
        service.publish(pool.with(pool.byId(1).withState(BackendState.DOWN)));
        assertEquals(BackendState.DOWN, service.pool().byId(1).state());
        assertFalse(service.override(9, BackendState.DRAINING), "no backend 9");
    }

    @Test
    void aFailingHealthCheckOutranksAnOverrideAndKeepsSessionsWhenAskedTo() {
        service.override(2, BackendState.ACTIVE);
        service.health(2, BackendState.DRAINING);
        assertEquals(BackendState.DRAINING, service.pool().byId(2).state(), "sessions kept, no new ones");
        service.health(2, BackendState.DOWN);
        assertEquals(BackendState.DOWN, service.pool().byId(2).state(), "sessions ended");
        service.health(2, null);
        assertEquals(BackendState.ACTIVE, service.pool().byId(2).state());
    }

    @Test
    void keepingSessionsNeverRevivesABackendItsSourceReportsDown() {
        BackendPool pool = BackendPool.of(PipelineHarness.backends(3));
        service.publish(pool.with(pool.byId(1).withState(BackendState.DOWN)));
        service.health(1, BackendState.DRAINING);
        assertEquals(BackendState.DOWN, service.pool().byId(1).state());
        assertThrows(IllegalArgumentException.class, () -> service.health(1, BackendState.ACTIVE));
    }

    @Test
    void aForgottenIdPassesNoOverrideOrVerdictToTheNextBackendThatTakesIt() {
        BackendPool pool = BackendPool.of(PipelineHarness.backends(3));
        service.override(2, BackendState.DRAINING);
        service.health(3, BackendState.DOWN);
        // Backends 2 and 3 leave; their ids are forgotten, then newcomers take them.
        service.publish(BackendPool.of(pool.all().subList(0, 1)));
        service.forget(2);
        service.forget(3);
        service.publish(pool);
        assertEquals(3, service.pool().availableCount(), service.pool().toString());
    }
}

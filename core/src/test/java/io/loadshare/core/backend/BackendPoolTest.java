package io.loadshare.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.MacAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackendPoolTest {
    private static Backend backend(int id, int weight, BackendState state) {
        return new Backend(id, 0xC0000214 + id, 0, MacAddress.UNKNOWN, weight, state);
    }

    @Test
    void onlyActiveWeightedBackendsAreAvailable() {
        BackendPool pool = BackendPool.of(List.of(backend(1, 5, BackendState.ACTIVE), backend(2, 1, BackendState.DRAINING),
                backend(3, 0, BackendState.ACTIVE), backend(9, 2, BackendState.DOWN), backend(4, 3, BackendState.ACTIVE)));
        assertEquals(2, pool.availableCount());
        assertEquals(1, pool.available(0).id());
        assertEquals(4, pool.available(1).id());
        assertEquals(8, pool.totalAvailableWeight());
        assertEquals(5, pool.maxAvailableWeight());
        assertEquals(BackendState.DOWN, pool.byId(9).state());
        assertNull(pool.byId(5));
        assertNull(pool.byId(100));
    }

    @Test
    void changesMakeNewerSnapshots() {
        BackendPool pool = BackendPool.of(List.of(backend(1, 1, BackendState.ACTIVE)));
        BackendPool drained = pool.with(pool.byId(1).withState(BackendState.DRAINING));
        assertTrue(drained.version() > pool.version());
        assertEquals(BackendState.ACTIVE, pool.byId(1).state());
        assertEquals(0, drained.availableCount());
        assertEquals(2, drained.with(backend(2, 1, BackendState.ACTIVE)).all().size());
        assertEquals(0, drained.without(1).all().size());
    }

    @Test
    void invalidBackendsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> backend(70_000, 1, BackendState.ACTIVE));
        assertThrows(IllegalArgumentException.class, () -> backend(1, -1, BackendState.ACTIVE));
        assertThrows(IllegalArgumentException.class,
                () -> BackendPool.of(List.of(backend(1, 1, BackendState.ACTIVE), backend(1, 2, BackendState.ACTIVE))));
    }
}

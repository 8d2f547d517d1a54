package io.loadshare.core.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The template table against a plain map under churn: puts, refreshes, expiry by lookup and by sweep, the bound. */
class PersistenceTemplatesTest {
    @Test
    void matchesAModelUnderChurn() {
        PersistenceTemplates table = new PersistenceTemplates(500);
        Map<Long, long[]> model = new HashMap<>();
        SplittableRandom random = new SplittableRandom(11);
        int now = 0;
        for (int step = 0; step < 200_000; step++) {
            now += random.nextInt(3);
            int service = random.nextInt(3);
            int network = 0xCB007100 + random.nextInt(800);
            long key = ((long) service << 32) | (network & 0xFFFF_FFFFL);
            long[] expected = model.get(key);
            if (expected != null && (int) expected[1] - now <= 0) {
                model.remove(key);
                expected = null;
            }
            if (random.nextBoolean()) {
                assertEquals(expected == null ? -1 : (int) expected[0], table.lookup(service, network, now),
                        "step " + step);
                if (expected == null) {
                    model.remove(key);
                }
            } else {
                int backend = 1 + random.nextInt(10);
                int deadline = now + 1 + random.nextInt(300);
                boolean stored = table.put(service, network, backend, deadline);
                if (stored) {
                    model.put(key, new long[] {backend, deadline});
                } else {
                    assertTrue(expected == null && table.size() == 500, "refused only when full, step " + step);
                }
            }
            if (step % 1000 == 0) {
                table.sweep(now, 700);
                int swept = now;
                model.values().removeIf(v -> (int) v[1] - swept <= 0);
                assertEquals(model.size(), table.size(), "after a whole sweep, step " + step);
            }
        }
    }

    @Test
    void aFullTableRefusesNewTemplatesButRefreshesOldOnes() {
        PersistenceTemplates table = new PersistenceTemplates(2);
        assertTrue(table.put(0, 1, 5, 100));
        assertTrue(table.put(0, 2, 6, 100));
        assertFalse(table.put(0, 3, 7, 100));
        assertTrue(table.put(0, 1, 8, 200), "a refresh needs no room");
        assertEquals(8, table.lookup(0, 1, 150));
        assertEquals(-1, table.lookup(0, 2, 150), "expired");
        assertTrue(table.put(0, 3, 7, 300), "room again");
    }

    /**
     * Issue #33: a backend id that leaves for good and goes to a new backend used to pass the old one's persistent
     * clients on to it. Removing the departed ids' templates leaves every other template, and other services', alone.
     */
    @Test
    void theTemplatesOfDepartedBackendsGoAndNoOthers() {
        PersistenceTemplates table = new PersistenceTemplates(5000);
        for (int network = 0; network < 3000; network++) {
            assertTrue(table.put(network % 2, network, 3 + network % 3, 1000));
        }
        table.removeBackends(0, java.util.Set.of(3));
        for (int network = 0; network < 3000; network++) {
            int service = network % 2;
            int backend = 3 + network % 3;
            assertEquals(service == 0 && backend == 3 ? -1 : backend, table.lookup(service, network, 1),
                    "network " + network);
        }
        assertEquals(2500, table.size(), "the 500 templates of service 0 on backend 3 went");
    }
}

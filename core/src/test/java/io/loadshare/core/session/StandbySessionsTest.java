package io.loadshare.core.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.IpProtocol;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StandbySessionsTest {
    private static final int VIP = 0xC633_640A;
    private static final int BACKEND = 0xC000_020B;

    private static SessionSettings settings(Duration idle) {
        SessionSettings d = CoreSettings.defaults().session();
        return new SessionSettings(d.maxSessions(), Duration.ofSeconds(1), d.pressureWatermark(), Duration.ofSeconds(1),
                idle, Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1), d.sweepInterval(),
                d.sweepCycle(), d.persistenceTemplates());
    }

    @Test
    void findsWhatWasPutAndForgetsWhatWasRemoved() {
        StandbySessions store = new StandbySessions(settings(Duration.ofMinutes(15)), 100);
        StandbySessions.Entry entry = new StandbySessions.Entry();
        assertTrue(store.put(IpProtocol.TCP, 0xCB00_7101, 40000, VIP, 80, BACKEND, 0, 2048,
                SessionState.ESTABLISHED, 0x0200_0000_0001L, 1));
        assertTrue(store.find(IpProtocol.TCP, 0xCB00_7101, 40000, VIP, 80, entry));
        assertEquals(BACKEND, entry.backendAddress());
        assertEquals(2048, entry.natPort());
        assertEquals(SessionState.ESTABLISHED, entry.state());
        assertEquals(0x0200_0000_0001L, entry.lastHop());
        assertFalse(store.find(IpProtocol.TCP, 0xCB00_7101, 40001, VIP, 80, entry), "another port");
        assertFalse(store.find(IpProtocol.UDP, 0xCB00_7101, 40000, VIP, 80, entry), "another protocol");
        // A later change of the same flow replaces the entry.
        assertTrue(store.put(IpProtocol.TCP, 0xCB00_7101, 40000, VIP, 80, BACKEND + 1, 0, 0, SessionState.ESTABLISHED,
                0, 2));
        assertEquals(1, store.size());
        assertTrue(store.find(IpProtocol.TCP, 0xCB00_7101, 40000, VIP, 80, entry));
        assertEquals(BACKEND + 1, entry.backendAddress());
        assertTrue(store.remove(IpProtocol.TCP, 0xCB00_7101, 40000, VIP, 80));
        assertFalse(store.find(IpProtocol.TCP, 0xCB00_7101, 40000, VIP, 80, entry));
        assertEquals(0, store.size());
    }

    @Test
    void aFullStoreRefusesAndCounts() {
        StandbySessions store = new StandbySessions(settings(Duration.ofMinutes(15)), 10);
        for (int i = 0; i < 10; i++) {
            assertTrue(store.put(IpProtocol.TCP, 0xCB00_7100 + i, 1000, VIP, 80, BACKEND, 0, 0, 2, 0, 1));
        }
        assertFalse(store.put(IpProtocol.TCP, 0xCB00_7200, 1000, VIP, 80, BACKEND, 0, 0, 2, 0, 1));
        assertEquals(1, store.refused());
        assertEquals(10, store.size());
        // Replacing an entry needs no room.
        assertTrue(store.put(IpProtocol.TCP, 0xCB00_7100, 1000, VIP, 80, BACKEND, 0, 0, 3, 0, 1));
    }

    @Test
    void manyEntriesSurviveRemovalsInBetween() {
        StandbySessions store = new StandbySessions(settings(Duration.ofMinutes(15)), 50_000);
        StandbySessions.Entry entry = new StandbySessions.Entry();
        for (int i = 0; i < 50_000; i++) {
            assertTrue(store.put(IpProtocol.TCP, 0x0A00_0000 + i, i & 0xFFFF, VIP, 80, i, 0, 0, 2, 0, 1));
        }
        for (int i = 0; i < 50_000; i += 2) {
            assertTrue(store.remove(IpProtocol.TCP, 0x0A00_0000 + i, i & 0xFFFF, VIP, 80));
        }
        for (int i = 0; i < 50_000; i++) {
            boolean found = store.find(IpProtocol.TCP, 0x0A00_0000 + i, i & 0xFFFF, VIP, 80, entry);
            assertEquals(i % 2 == 1, found, "entry " + i);
            if (found) {
                assertEquals(i, entry.backendAddress());
            }
        }
        assertEquals(25_000, store.size());
    }

    @Test
    void entriesLiveWhileTheirOwnerDoesThenAgeByTheirStatesTimeout() throws InterruptedException {
        StandbySessions store = new StandbySessions(settings(Duration.ofSeconds(1)), 100);
        StandbySessions.Entry entry = new StandbySessions.Entry();
        store.put(IpProtocol.TCP, 0xCB00_7101, 40000, VIP, 80, BACKEND, 0, 0, SessionState.ESTABLISHED, 0, 1);
        store.put(IpProtocol.TCP, 0xCB00_7102, 40000, VIP, 80, BACKEND, 0, 0, SessionState.ESTABLISHED, 0, 2);
        boolean[] firstAlive = {true};
        for (int i = 0; i < 3; i++) {
            store.sweep(owner -> owner == 1 ? firstAlive[0] : false);
            Thread.sleep(1100);
        }
        store.sweep(owner -> owner == 1 ? firstAlive[0] : false);
        assertTrue(store.find(IpProtocol.TCP, 0xCB00_7101, 40000, VIP, 80, entry), "its owner is alive");
        assertFalse(store.find(IpProtocol.TCP, 0xCB00_7102, 40000, VIP, 80, entry), "aged out after its owner left");
        firstAlive[0] = false;
        store.sweep(owner -> false);
        assertTrue(store.find(IpProtocol.TCP, 0xCB00_7101, 40000, VIP, 80, entry), "ageing starts at the loss");
        Thread.sleep(2100);
        store.sweep(owner -> false);
        assertEquals(0, store.size());
    }
}

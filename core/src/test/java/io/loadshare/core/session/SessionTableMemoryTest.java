package io.loadshare.core.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.IpProtocol;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import org.junit.jupiter.api.Test;

/**
 * Bytes per session at 1,000,000 sessions, with the default settings. The figure is a size, not a timing: the
 * table allocates all it will ever use up front, so it is deterministic. The printed line is quoted in
 * docs/session-table.md.
 */
class SessionTableMemoryTest {
    private static final int SESSIONS = 1_000_000;

    @Test
    void aMillionSessionsFitIn32BytesEach() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        long before = memory.getHeapMemoryUsage().getUsed();
        SessionTable table = new SessionTable(CoreSettings.defaults().session(), (s, b, p, a, e) -> { });
        assertEquals(SESSIONS, table.maxSessions());
        FlowKey probe = null;
        for (int i = 0; i < SESSIONS; i++) {
            // 1M distinct clients' ephemeral ports towards one VIP:80, as a busy web cluster sees them.
            FlowKey flow = new FlowKey(IpProtocol.TCP, 0xCB007100 + (i >>> 15), 1024 + (i & 0x7FFF), 0xC000020A, 80);
            table.insert(flow, 0, i & 0xFFF, 0);
            probe = flow;
        }
        System.gc();
        long after = memory.getHeapMemoryUsage().getUsed();
        assertEquals(SESSIONS, table.size());
        assertTrue(table.lookup(probe, 0) >= 0);
        double perSession = (double) table.memoryBytes() / SESSIONS;
        double heapPerSession = (double) (after - before) / SESSIONS;
        System.out.printf("session table: %d sessions, %d slots, %d bytes of slots = %.1f bytes/session "
                + "(heap grew %.1f bytes/session)%n", SESSIONS, table.capacity(), table.memoryBytes(), perSession,
                heapPerSession);
        assertTrue(perSession < 32, "bytes per session " + perSession);
    }
}

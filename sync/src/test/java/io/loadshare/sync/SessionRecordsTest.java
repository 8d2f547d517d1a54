package io.loadshare.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.core.pipeline.SourceNatAddresses;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.session.SessionState;
import io.loadshare.core.session.SessionTable;
import io.loadshare.core.session.StandbySessions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A worker's journal, as the sync's thread turns it into a message and a peer applies it: golden bytes for each
 * kind of record, and the standby store they leave behind.
 */
class SessionRecordsTest {
    private static final int VIP = Ipv4Address.parse("198.51.100.10");
    private static final int CLIENT = Ipv4Address.parse("203.0.113.100");
    private static final int BACKEND = Ipv4Address.parse("192.0.2.12");

    private final Service web = new Service(0, "web", VIP, IpProtocol.TCP, 80, () -> (pool, flow) -> null,
            BackendPool.of(List.of(new Backend(3, BACKEND, 0, 0x0200_0000_000CL, 1, BackendState.ACTIVE))));
    private final DispatchContext context = new DispatchContext(CoreSettings.defaults(),
            new ServiceTable(List.of(web)));
    private final JournalRing ring = new JournalRing(64);

    /** The ring's records as one payload, as {@code SessionSync.flush} builds it. */
    private ByteBuf drained() {
        ByteBuf payload = Unpooled.buffer();
        payload.writeInt(0);
        int[] count = {0};
        ring.drain((addresses, flow, backend, lastHop) -> {
            if (SessionRecords.write(payload, addresses, flow, backend, lastHop, List.of(web),
                    SourceNatAddresses.NONE)) {
                count[0]++;
            }
        });
        payload.setInt(0, count[0]);
        return payload;
    }

    @Test
    void aSessionsLifeAndATemplateOnTheWire() throws Exception {
        SessionTable table = context.sessions();
        table.journalTo(ring);
        int slot = table.insert(IpProtocol.TCP, CLIENT, 40000, VIP, 80, 0, 3, 0);
        table.onTcpPacket(slot, TcpHeader.ACK, 1);
        ring.template(0, CLIENT, 3, 60_000);
        ByteBuf opened = drained();
        // count 3 | opened (syn-seen) | established | template. Made by hand from the layout in SessionRecords.
        assertEquals("00000003"
                + "01060100" + "cb007164" + "c633640a" + "9c40" + "0050" + "c000020c" + "0000" + "000000000000"
                + "00000000"
                + "01060200" + "cb007164" + "c633640a" + "9c40" + "0050" + "c000020c" + "0000" + "000000000000"
                + "00000000"
                + "03060000" + "cb007164" + "c633640a" + "0000" + "0050" + "c000020c" + "0000ea60",
                ByteBufUtil.hexDump(opened));
        StandbySessions store = new StandbySessions(CoreSettings.defaults().session(), 100);
        assertEquals(3, SessionRecords.validate(opened));
        assertEquals(0, SessionRecords.apply(opened, store, 1, SourceNatAddresses.NONE));
        StandbySessions.Entry entry = new StandbySessions.Entry();
        assertTrue(store.find(IpProtocol.TCP, CLIENT, 40000, VIP, 80, entry));
        assertEquals(BACKEND, entry.backendAddress());
        assertEquals(SessionState.ESTABLISHED, entry.state());
        assertTrue(store.findTemplate(IpProtocol.TCP, CLIENT, VIP, 80, entry));
        assertEquals(BACKEND, entry.backendAddress());
        opened.release();

        table.remove(slot, SessionEnd.FINISHED);
        ByteBuf closed = drained();
        assertEquals("00000001" + "02060200" + "cb007164" + "c633640a" + "9c40" + "0050", ByteBufUtil.hexDump(closed));
        SessionRecords.validate(closed);
        SessionRecords.apply(closed, store, 1, SourceNatAddresses.NONE);
        assertFalse(store.find(IpProtocol.TCP, CLIENT, 40000, VIP, 80, entry), "an ended session leaves the peer");
        closed.release();
    }

    @Test
    void aStoppingDispatcherDoesNotReportItsFlushedSessionsAsEnded() {
        SessionTable table = context.sessions();
        table.journalTo(ring);
        table.insert(IpProtocol.TCP, CLIENT, 40000, VIP, 80, 0, 3, 0);
        ring.drain((a, f, b, l) -> { });
        table.removeIf((t, s) -> true, SessionEnd.FLUSHED);
        assertEquals(0, ring.drain((a, f, b, l) -> { }));
    }

    @Test
    void aFullRingDropsAndCounts() {
        JournalRing small = new JournalRing(64);
        SessionTable table = context.sessions();
        table.journalTo(small);
        for (int port = 1; port <= 70; port++) {
            table.insert(IpProtocol.TCP, CLIENT, port, VIP, 80, 0, 3, 0);
        }
        assertEquals(6, small.dropped());
        assertEquals(64, small.drain((a, f, b, l) -> { }));
    }

    @Test
    void aTemplateCutShortIsMalformed() {
        ByteBuf payload = Unpooled.buffer().writeInt(1).writeByte(JournalRing.TEMPLATE).writeByte(6).writeShort(0)
                .writeInt(CLIENT).writeInt(VIP).writeInt(80).writeInt(BACKEND);
        assertThrows(SessionRecords.MalformedException.class, () -> SessionRecords.validate(payload));
        payload.release();
    }
}

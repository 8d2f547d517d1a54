package io.loadshare.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.session.SessionState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A batch keeps one record per flow, the latest; a TCP session that opened and ended within it leaves nothing, one
 * opened in an earlier batch leaves its end; templates pass; order is first arrival.
 */
class CoalescedRecordsTest {
    private static final long ADDRESSES = 0xCB00_7164_C633_640AL;

    private static long flow(int kind, int protocol, int state, int clientPort) {
        return ((long) kind << 56) | ((long) protocol << 48) | ((long) state << 40) | (clientPort << 16) | 80;
    }

    private static long changed(int state, int clientPort) {
        return flow(JournalRing.CHANGED, IpProtocol.TCP, state, clientPort);
    }

    private static long closed(int clientPort) {
        return flow(JournalRing.CLOSED, IpProtocol.TCP, 0, clientPort);
    }

    /** What the batch hands on, as each record's second word. */
    private static List<Long> drain(CoalescedRecords batch) {
        List<Long> out = new ArrayList<>();
        batch.drainTo((addresses, flow, backend, lastHop) -> out.add(flow));
        return out;
    }

    @Test
    void aSessionOpenedAndEndedInOneBatchLeavesNothing() {
        CoalescedRecords batch = new CoalescedRecords(16);
        batch.add(ADDRESSES, changed(SessionState.SYN_SEEN, 1000), 1L << 16, 0);
        batch.add(ADDRESSES, changed(SessionState.ESTABLISHED, 1000), 1L << 16, 0);
        batch.add(ADDRESSES, closed(1000), 0, 0);
        assertEquals(List.of(), drain(batch));
    }

    @Test
    void laterChangesReplaceEarlierOnesInPlace() {
        CoalescedRecords batch = new CoalescedRecords(16);
        batch.add(ADDRESSES, changed(SessionState.SYN_SEEN, 1000), 1L << 16, 0);
        batch.add(ADDRESSES, changed(SessionState.SYN_SEEN, 2000), 2L << 16, 0);
        batch.add(ADDRESSES, changed(SessionState.ESTABLISHED, 1000), 1L << 16 | 4000, 0);
        List<Long> records = new ArrayList<>();
        List<Long> backends = new ArrayList<>();
        batch.drainTo((addresses, flow, backend, lastHop) -> {
            records.add(flow);
            backends.add(backend);
        });
        assertEquals(List.of(changed(SessionState.ESTABLISHED, 1000), changed(SessionState.SYN_SEEN, 2000)),
                records);
        assertEquals(1L << 16 | 4000, backends.getFirst(), "the NAT port the later change carried");
    }

    @Test
    void aSessionFromAnEarlierBatchLeavesItsEnd() {
        CoalescedRecords batch = new CoalescedRecords(16);
        batch.add(ADDRESSES, changed(SessionState.ESTABLISHED, 1000), 1L << 16, 0);
        batch.add(ADDRESSES, closed(1000), 0, 0);
        batch.add(ADDRESSES, closed(3000), 0, 0);
        assertEquals(List.of(closed(1000), closed(3000)), drain(batch));
    }

    @Test
    void aPortReusedWithinTheBatchKeepsTheNewSession() {
        CoalescedRecords batch = new CoalescedRecords(16);
        batch.add(ADDRESSES, changed(SessionState.SYN_SEEN, 1000), 1L << 16, 0);
        batch.add(ADDRESSES, closed(1000), 0, 0);
        batch.add(ADDRESSES, changed(SessionState.SYN_SEEN, 1000), 2L << 16, 0);
        assertEquals(List.of(changed(SessionState.SYN_SEEN, 1000)), drain(batch));
    }

    @Test
    void datagramsAndTemplatesPass() {
        CoalescedRecords batch = new CoalescedRecords(16);
        long datagram = flow(JournalRing.CHANGED, IpProtocol.UDP, SessionState.DATAGRAM, 53);
        long datagramEnd = flow(JournalRing.CLOSED, IpProtocol.UDP, 0, 53);
        long template = (long) JournalRing.TEMPLATE << 56;
        batch.add(ADDRESSES, datagram, 1L << 16, 0);
        batch.add(ADDRESSES, template, 1L << 16, 60_000);
        batch.add(ADDRESSES, template, 2L << 16, 60_000);
        batch.add(ADDRESSES, datagramEnd, 0, 0);
        assertEquals(List.of(datagramEnd, template, template), drain(batch),
                "a datagram flow's end replaces it (its opening is not known to be here); templates stay apart");
    }

    @Test
    void aFullBatchSaysSoAndEmptiesWhenDrained() {
        CoalescedRecords batch = new CoalescedRecords(4);
        for (int port = 1; port <= 4; port++) {
            batch.add(ADDRESSES, changed(SessionState.ESTABLISHED, port), 1L << 16, 0);
        }
        assertTrue(batch.isFull());
        assertEquals(4, drain(batch).size());
        batch.add(ADDRESSES, changed(SessionState.ESTABLISHED, 9), 1L << 16, 0);
        assertEquals(1, drain(batch).size(), "nothing of the earlier batch remains");
    }
}

package io.loadshare.core.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.TcpHeader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The table's lifecycle rules and its hashing, each against a plain model. */
class SessionTableTest {
    private static final int SYN = TcpHeader.SYN;
    private static final int ACK = TcpHeader.ACK;
    private static final int FIN_ACK = TcpHeader.FIN | TcpHeader.ACK;
    private static final int RST = TcpHeader.RST;

    private final List<String> ended = new ArrayList<>();

    private SessionTable table(int maxSessions) {
        return table(maxSessions, false);
    }

    private SessionTable table(int maxSessions, boolean seesReplies) {
        SessionSettings settings = new SessionSettings(maxSessions, Duration.ofSeconds(30), 0.5, Duration.ofSeconds(3),
                Duration.ofMinutes(15), Duration.ofSeconds(2), Duration.ofSeconds(60), Duration.ofSeconds(30),
                Duration.ofMillis(100),
                Duration.ofSeconds(2), 1024);
        return new SessionTable(settings, (service, backend, port, natAddress, end) -> ended.add(service + "/" + backend + "/" + end),
                seesReplies);
    }

    private static FlowKey tcp(int clientPort) {
        return new FlowKey(IpProtocol.TCP, 0xCB007105, clientPort, 0xC000020A, 80);
    }

    /**
     * Stands in for the kernel's flow map: what it was told to forget, and how long ago it saw each flow, either way
     * and from the client.
     */
    private static final class FakeFastPath implements CarriedFlows {
        final List<FlowKey> removed = new ArrayList<>();
        final Map<FlowKey, Long> idle = new HashMap<>();
        final Map<FlowKey, Long> clientIdle = new HashMap<>();

        @Override
        public long clientIdleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
                int destinationPort) {
            return clientIdle.getOrDefault(new FlowKey(protocol, sourceAddress, sourcePort, destinationAddress,
                    destinationPort), -1L);
        }

        @Override
        public void remove(int slot, int protocol, int sourceAddress, int sourcePort, int destinationAddress,
                int destinationPort) {
            removed.add(new FlowKey(protocol, sourceAddress, sourcePort, destinationAddress, destinationPort));
        }

        @Override
        public long idleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
                int destinationPort) {
            return idle.getOrDefault(new FlowKey(protocol, sourceAddress, sourcePort, destinationAddress,
                    destinationPort), -1L);
        }
    }

    @Test
    void anOffloadedSessionLivesWhileTheFastPathSeesItAndIsTakenBackWhenItEnds() {
        SessionTable table = table(10);
        FakeFastPath fastPath = new FakeFastPath();
        table.offloadTo(fastPath);
        FlowKey flow = tcp(40000);
        FlowKey other = tcp(40001);
        table.onTcpPacket(table.insert(flow, 0, 1, 0), ACK, 0);
        table.onTcpPacket(table.insert(other, 0, 1, 0), ACK, 0);
        int slot = table.lookup(flow, 0);
        table.markOffloaded(slot);
        assertTrue(table.isOffloaded(slot));
        assertEquals(SessionState.ESTABLISHED, table.state(slot), "the mark leaves the state alone");
        assertEquals(2, table.sessionsIn(SessionState.ESTABLISHED));

        // 15 min idle timeout: at its deadline the fast path saw the flow 1 s ago, so it lives 14m59s more.
        int deadline = 15 * 60_000;
        fastPath.idle.put(flow, 1_000_000_000L);
        assertTrue(table.lookup(flow, deadline) >= 0);
        assertEquals(-1, table.lookup(other, deadline), "a session the fast path does not carry expires");
        assertTrue(table.lookup(flow, 2 * deadline - 1001) >= 0);
        // Unseen since: it expires at the extended deadline and the fast path forgets it.
        fastPath.idle.put(flow, (long) deadline * 1_000_000);
        assertEquals(-1, table.lookup(flow, 2 * deadline - 1000));
        assertEquals(List.of(flow), fastPath.removed, "only the offloaded session is taken back");
        assertEquals(List.of("0/1/IDLE_TIMEOUT", "0/1/IDLE_TIMEOUT"), ended);
        assertEquals(0, table.sessionsIn(SessionState.ESTABLISHED));
    }

    /**
     * Issue #28: a session handed over at the backend's SYN-ACK (LSNAT) whose handshake the fast path completed, then
     * idle for 40 s with the default timeouts, lives on; the table judged its idleness against the SYN timeout before.
     */
    @Test
    void aSessionTheFastPathTookPastItsHandshakeIsEstablishedBeforeItsIdlenessIsJudged() {
        SessionTable table = table(10, true);
        FakeFastPath fastPath = new FakeFastPath();
        table.offloadTo(fastPath);
        FlowKey flow = tcp(40000);
        int slot = table.insert(flow, 0, 1, 0);
        table.onTcpReply(slot, SYN | ACK, 1000, 0);
        table.markOffloaded(slot);
        assertEquals(SessionState.SYN_ANSWERED, table.state(slot));

        // The client's ACK went through the kernel at 0.1 s; nothing since. The client's next request comes at 40 s.
        fastPath.clientIdle.put(flow, 39_900_000_000L);
        fastPath.idle.put(flow, 39_900_000_000L);
        slot = table.lookup(flow, 40_000);
        assertTrue(slot >= 0, "an idle established connection is not a half-open one");
        assertEquals(SessionState.ESTABLISHED, table.state(slot));
        assertEquals(15 * 60_000 + 100, table.deadline(slot), "it lives the established idle timeout");
        assertEquals(1, table.sessionsIn(SessionState.ESTABLISHED));
        assertEquals(0, table.sessionsIn(SessionState.SYN_ANSWERED));
        assertEquals(List.of(), ended);
    }

    @Test
    void anOffloadedHalfOpenSessionTheFastPathCarriedNothingForExpiresAtTheSynTimeout() {
        SessionTable table = table(10, true);
        FakeFastPath fastPath = new FakeFastPath();
        table.offloadTo(fastPath);
        FlowKey flow = tcp(40000);
        int slot = table.insert(flow, 0, 1, 0);
        table.onTcpReply(slot, SYN | ACK, 1000, 0);
        table.markOffloaded(slot);
        // Only the backend's retransmitted SYN-ACK went through the kernel: the client never answered.
        fastPath.idle.put(flow, 1_000_000_000L);
        assertEquals(-1, table.lookup(flow, 30_000));
        assertEquals(List.of(flow), fastPath.removed);
        assertEquals(List.of("0/1/IDLE_TIMEOUT"), ended);
    }

    @Test
    void aFullTableDoesNotEvictAnOffloadedSessionTheFastPathOpenedButPromotesIt() {
        SessionTable table = table(2, true);
        FakeFastPath fastPath = new FakeFastPath();
        table.offloadTo(fastPath);
        FlowKey opened = tcp(40000);
        FlowKey flood = tcp(40001);
        int slot = table.insert(opened, 0, 1, 0);
        table.onTcpReply(slot, SYN | ACK, 1000, 0);
        table.markOffloaded(slot);
        fastPath.clientIdle.put(opened, 0L);
        table.insert(flood, 0, 1, 1);
        assertTrue(table.evictHalfOpen(), "the half-open flood session goes");
        assertEquals(-1, table.lookup(flood, 2));
        assertEquals(SessionState.ESTABLISHED, table.state(table.lookup(opened, 2)));
        assertEquals(false, table.evictHalfOpen(), "nothing half-open is left");
    }

    @Test
    void synDataFinHalfClosedGone() {
        SessionTable table = table(10);
        FlowKey flow = tcp(40000);
        int slot = table.insert(flow, 3, 7, 0);
        assertEquals(SessionState.SYN_SEEN, table.state(slot));
        assertEquals(3, table.serviceIndex(slot));
        assertEquals(7, table.backendId(slot));
        assertEquals(flow, table.flowAt(slot));

        table.onTcpPacket(table.lookup(flow, 10), ACK, 10);
        assertEquals(SessionState.ESTABLISHED, table.state(table.lookup(flow, 10)));
        // LSMAC sees the client's FIN alone: the backend may still answer, so the half-closed timeout runs.
        table.onTcpPacket(table.lookup(flow, 20), FIN_ACK, 20);
        assertEquals(SessionState.CLIENT_CLOSED, table.state(table.lookup(flow, 20)));
        assertEquals(60_020, table.deadline(table.lookup(flow, 20)));
        // A slow answer 50 s later: the client's ACKs of it still follow, and restart the timer.
        table.onTcpPacket(table.lookup(flow, 50_020), ACK, 50_020);
        table.onTcpPacket(table.lookup(flow, 50_021), FIN_ACK, 50_021);
        assertEquals(SessionState.CLIENT_CLOSED, table.state(table.lookup(flow, 110_020)), "its FIN retransmitted");
        assertEquals(-1, table.lookup(flow, 110_021));
        assertEquals(0, table.size());
        assertEquals(List.of("3/7/FINISHED"), ended);
    }

    @Test
    void underPressureLsmacHalfClosedSessionsLiveTheLinger() {
        SessionTable table = table(4);
        FlowKey first = tcp(40000);
        table.insert(first, 0, 1, 0);
        table.onTcpPacket(table.lookup(first, 1), ACK, 1);
        table.onTcpPacket(table.lookup(first, 10), FIN_ACK, 10);
        assertEquals(60_010, table.deadline(table.lookup(first, 10)), "below the watermark");
        table.insert(tcp(40001), 0, 1, 20);
        assertTrue(table.underPressure());
        for (int swept = 0; swept < table.capacity(); swept += table.sweepBudget()) {
            table.sweep(30);
        }
        assertEquals(2_030, table.deadline(table.lookup(first, 30)), "the sweep shortens it to the linger");
        FlowKey second = tcp(40001);
        table.onTcpPacket(table.lookup(second, 40), ACK, 40);
        table.onTcpPacket(table.lookup(second, 50), FIN_ACK, 50);
        assertEquals(2_050, table.deadline(table.lookup(second, 50)), "a FIN under pressure starts the linger");

        SessionTable lsnat = table(4, true);
        lsnat.insert(first, 0, 1, 0);
        lsnat.onTcpReply(lsnat.lookup(first, 1), SYN | ACK, 99, 1);
        lsnat.onTcpPacket(lsnat.lookup(first, 2), ACK, 100, 2);
        lsnat.insert(second, 0, 1, 3);
        lsnat.onTcpPacket(lsnat.lookup(first, 10), FIN_ACK, SessionTable.UNCHECKED, 10);
        assertEquals(60_010, lsnat.deadline(lsnat.lookup(first, 10)), "LSNAT sees the backend's FIN: no need");
    }

    @Test
    void rstEndsAfterLingerWithoutRestart() {
        SessionTable table = table(10);
        FlowKey flow = tcp(40001);
        table.insert(flow, 0, 1, 0);
        table.onTcpPacket(table.lookup(flow, 5), RST, 5);
        table.onTcpPacket(table.lookup(flow, 1000), RST, 1000);
        assertEquals(SessionState.RESET, table.state(table.lookup(flow, 2004)));
        assertEquals(-1, table.lookup(flow, 2005));
        assertEquals(List.of("0/1/FINISHED"), ended);
    }

    @Test
    void synOnlySessionsExpireAtTheSynTimeout() {
        SessionTable table = table(10);
        FlowKey flow = tcp(40002);
        table.insert(flow, 0, 1, 0);
        table.onTcpPacket(table.lookup(flow, 1000), SYN, 1000);
        assertEquals(-1, table.lookup(flow, 31_000));
        assertEquals(List.of("0/1/IDLE_TIMEOUT"), ended);
    }

    @Test
    void idleExpiryBySweep() {
        SessionTable table = table(1000);
        for (int port = 1; port <= 500; port++) {
            int slot = table.insert(tcp(port), 0, 1, 0);
            table.onTcpPacket(slot, ACK, 0);
        }
        FlowKey udp = new FlowKey(IpProtocol.UDP, 1, 2, 3, 4);
        table.insert(udp, 1, 2, 0);
        int idleMillis = (int) Duration.ofMinutes(15).toMillis();
        int swept = 0;
        for (int i = 0; i < 2000 / 100; i++) {
            swept += table.sweep(31_000);
        }
        assertEquals(1, swept, "only the UDP session is past its 30 s timeout");
        assertEquals(500, table.size());
        for (int i = 0; i < 2000 / 100; i++) {
            swept += table.sweep(idleMillis);
        }
        assertEquals(501, swept, "one sweep cycle (2 s in 100 ms slices) visits every slot");
        assertEquals(0, table.size());
        assertEquals(501, ended.size());
    }

    @Test
    void fullTableRefusesNewSessions() {
        SessionTable table = table(3);
        assertTrue(table.insert(tcp(1), 0, 1, 0) >= 0);
        assertTrue(table.insert(tcp(2), 0, 1, 0) >= 0);
        assertTrue(table.insert(tcp(3), 0, 1, 0) >= 0);
        assertTrue(table.isFull());
        assertEquals(-1, table.insert(tcp(4), 0, 1, 0));
        assertEquals(3, table.size());
        table.remove(table.lookup(tcp(2), 0), SessionEnd.FLUSHED);
        assertTrue(table.insert(tcp(4), 0, 1, 0) >= 0);
    }

    @Test
    void deadlinesSurviveClockWrap() {
        SessionTable table = table(10);
        FlowKey flow = tcp(5);
        int nearWrap = Integer.MAX_VALUE - 500;
        table.insert(flow, 0, 1, nearWrap);
        int afterWrap = nearWrap + 10_000;
        assertTrue(afterWrap < 0);
        assertTrue(table.lookup(flow, afterWrap) >= 0);
        assertEquals(-1, table.lookup(flow, nearWrap + 30_000));
    }

    /** Random inserts, lookups and removals at high load, checked against a HashMap. */
    @Test
    void matchesAModelUnderChurn() {
        SessionTable table = table(4096);
        Map<FlowKey, Integer> model = new HashMap<>();
        SplittableRandom random = new SplittableRandom(7);
        List<FlowKey> keys = new ArrayList<>();
        for (int i = 0; i < 6000; i++) {
            keys.add(new FlowKey(random.nextBoolean() ? IpProtocol.TCP : IpProtocol.UDP, random.nextInt(64),
                    random.nextInt(1 << 16), random.nextInt(4), random.nextInt(3)));
        }
        for (int step = 0; step < 400_000; step++) {
            FlowKey key = keys.get(random.nextInt(keys.size()));
            int slot = table.lookup(key, 0);
            Integer backend = model.get(key);
            assertEquals(backend != null, slot >= 0, key.toString());
            if (slot >= 0) {
                assertEquals(backend.intValue(), table.backendId(slot));
                if (random.nextInt(3) == 0) {
                    table.remove(slot, SessionEnd.FLUSHED);
                    model.remove(key);
                }
            } else if (!table.isFull()) {
                int id = random.nextInt(1 << 16);
                table.insert(key, 0, id, 0);
                model.put(key, id);
            }
            assertEquals(model.size(), table.size());
        }
    }

    @Test
    void aFullTableEvictsHalfOpenSessionsAndNeverEstablishedOnes() {
        SessionTable table = table(100);
        for (int port = 1; port <= 100; port++) {
            table.insert(tcp(port), 0, 1, 0);
        }
        assertTrue(table.isFull());
        // A flood's worth of new sessions: each takes a half-open one's place.
        for (int port = 101; port <= 300; port++) {
            assertTrue(table.evictHalfOpen(), "a sampled slot of a table full of SYNs is half-open");
            assertTrue(table.insert(tcp(port), 0, 2, 0) >= 0);
        }
        assertEquals(200, ended.stream().filter(e -> e.endsWith("EVICTED")).count());

        SessionTable established = table(100);
        for (int port = 1; port <= 100; port++) {
            established.insert(tcp(port), 0, 1, 0);
            established.onTcpPacket(established.lookup(tcp(port), 0), ACK, 0);
        }
        for (int i = 0; i < 1000; i++) {
            assertTrue(!established.evictHalfOpen(), "an established session is never evicted");
        }
        assertEquals(100, established.sessionsIn(SessionState.ESTABLISHED));
    }

    @Test
    void underPressureHalfOpenSessionsLiveOnlyBriefly() {
        SessionTable table = table(100);
        for (int port = 1; port <= 49; port++) {
            table.insert(tcp(port), 0, 1, 0);
        }
        assertTrue(!table.underPressure());
        table.insert(tcp(50), 0, 1, 0);
        assertTrue(table.underPressure(), "at the watermark, half of 100");
        int fresh = table.insert(tcp(51), 0, 1, 0);
        assertEquals(3000, table.deadline(fresh), "a SYN under pressure lives 3 s, not 30");
        for (int i = 0; i < 40; i++) {
            table.sweep(0);
        }
        assertEquals(3000, table.deadline(table.lookup(tcp(1), 0)), "the sweep shortened the SYN from before");
        assertEquals(-1, table.lookup(tcp(1), 3001));
    }

    @Test
    void aTableThatSeesRepliesEstablishesOnlyAfterTheBackendAnswers() {
        SessionTable lsnat = table(10, true);
        FlowKey flow = tcp(40000);
        lsnat.insert(flow, 0, 1, 0);
        lsnat.onTcpPacket(lsnat.lookup(flow, 10), ACK, 10);
        assertEquals(SessionState.SYN_SEEN, lsnat.state(lsnat.lookup(flow, 10)), "a spoofed ACK does not establish");
        assertEquals(30_000, lsnat.deadline(lsnat.lookup(flow, 10)), "nor restart the SYN timer");
        lsnat.onTcpReply(lsnat.lookup(flow, 20), SYN | ACK, 0x1234_5678L, 20);
        assertEquals(SessionState.SYN_ANSWERED, lsnat.state(lsnat.lookup(flow, 20)));
        lsnat.onTcpPacket(lsnat.lookup(flow, 25), ACK, 0x1234_5600L, 25);
        assertEquals(SessionState.SYN_ANSWERED, lsnat.state(lsnat.lookup(flow, 25)),
                "an ACK that does not acknowledge the backend's SYN-ACK does not establish");
        lsnat.onTcpPacket(lsnat.lookup(flow, 30), ACK, 0x1234_5679L, 30);
        assertEquals(SessionState.ESTABLISHED, lsnat.state(lsnat.lookup(flow, 30)));
        assertEquals(1, lsnat.sessionsIn(SessionState.ESTABLISHED));
        assertEquals(0, lsnat.sessionsIn(SessionState.SYN_SEEN) + lsnat.sessionsIn(SessionState.SYN_ANSWERED));

        SessionTable lsmac = table(10, false);
        lsmac.insert(flow, 0, 1, 0);
        lsmac.onTcpPacket(lsmac.lookup(flow, 10), SYN, 10);
        assertEquals(SessionState.SYN_SEEN, lsmac.state(lsmac.lookup(flow, 10)), "a retransmitted SYN does not");
        lsmac.onTcpPacket(lsmac.lookup(flow, 10), ACK, 10);
        assertEquals(SessionState.ESTABLISHED, lsmac.state(lsmac.lookup(flow, 10)), "LSMAC sees only the client");
    }

    @Test
    void aTableThatSeesRepliesHalfClosesAtTheFirstFinAndLingersAtTheSecond() {
        SessionTable lsnat = table(10, true);
        FlowKey flow = tcp(40000);
        lsnat.insert(flow, 0, 1, 0);
        lsnat.onTcpReply(lsnat.lookup(flow, 1), SYN | ACK, 99, 1);
        lsnat.onTcpPacket(lsnat.lookup(flow, 2), ACK, 100, 2);
        lsnat.onTcpPacket(lsnat.lookup(flow, 10), FIN_ACK, SessionTable.UNCHECKED, 10);
        assertEquals(SessionState.CLIENT_CLOSED, lsnat.state(lsnat.lookup(flow, 10)), "the client half-closed");
        assertEquals(60_010, lsnat.deadline(lsnat.lookup(flow, 10)), "the half-closed timeout, not the linger");
        // The answer comes 50 s later: the backend's data restarts the timer.
        lsnat.onTcpReply(lsnat.lookup(flow, 50_000), ACK, 200, 50_000);
        assertEquals(110_000, lsnat.deadline(lsnat.lookup(flow, 50_000)));
        lsnat.onTcpReply(lsnat.lookup(flow, 50_001), FIN_ACK, 300, 50_001);
        assertEquals(SessionState.FIN_SEEN, lsnat.state(lsnat.lookup(flow, 50_001)), "both sides closed");
        assertEquals(52_001, lsnat.deadline(lsnat.lookup(flow, 50_001)), "now the linger");

        FlowKey other = tcp(40001);
        lsnat.insert(other, 0, 1, 0);
        lsnat.onTcpReply(lsnat.lookup(other, 1), SYN | ACK, 99, 1);
        lsnat.onTcpPacket(lsnat.lookup(other, 2), ACK, 100, 2);
        lsnat.onTcpReply(lsnat.lookup(other, 3), FIN_ACK, 300, 3);
        assertEquals(SessionState.BACKEND_CLOSED, lsnat.state(lsnat.lookup(other, 3)), "the backend closed first");
        lsnat.onTcpReply(lsnat.lookup(other, 4), FIN_ACK, 300, 4);
        assertEquals(SessionState.BACKEND_CLOSED, lsnat.state(lsnat.lookup(other, 4)), "its FIN retransmitted");
        lsnat.onTcpPacket(lsnat.lookup(other, 5), FIN_ACK, SessionTable.UNCHECKED, 5);
        assertEquals(SessionState.FIN_SEEN, lsnat.state(lsnat.lookup(other, 5)));

        SessionTable lsmac = table(10, false);
        lsmac.insert(flow, 0, 1, 0);
        lsmac.onTcpPacket(lsmac.lookup(flow, 1), ACK, 1);
        lsmac.onTcpPacket(lsmac.lookup(flow, 10), FIN_ACK, 10);
        assertEquals(SessionState.CLIENT_CLOSED, lsmac.state(lsmac.lookup(flow, 10)), "LSMAC sees the client alone");
        assertEquals(60_010, lsmac.deadline(lsmac.lookup(flow, 10)), "so the half-closed timeout ends it");
    }

    @Test
    void eachTablePlacesFlowsWithItsOwnSeed() {
        SessionTable a = table(1000);
        SessionTable b = table(1000);
        int same = 0;
        for (int port = 1; port <= 100; port++) {
            if (a.insert(tcp(port), 0, 1, 0) == b.insert(tcp(port), 0, 1, 0)) {
                same++;
            }
        }
        assertTrue(same < 10, same + " of 100 flows in the same slot of two tables");
    }
}

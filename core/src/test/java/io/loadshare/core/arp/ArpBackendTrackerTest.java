package io.loadshare.core.arp;

import io.loadshare.core.backend.StaticBackend;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendIds;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.PacketDecoder;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.testing.CyclingSchedulerFactory;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * ARP discovery that can be trusted: only answers to the dispatcher's requests count, an allow-list and a cap
 * bound who joins, ids come back when a backend leaves, and a round that throws does not end discovery.
 */
class ArpBackendTrackerTest {
    private static final int VIP = Ipv4Address.parse("198.51.100.10");
    private static final long OWN_MAC = MacAddress.parse("02:00:00:00:00:fe");
    private static final SchedulerRegistry REGISTRY = SchedulerRegistry.load();

    private final Service service = new Service(0, "web", VIP, IpProtocol.TCP, 80,
            () -> REGISTRY.create(CyclingSchedulerFactory.NAME, ConfigFactory.empty()), BackendPool.empty());
    private final EmbeddedChannel channel = new EmbeddedChannel();
    private final List<BackendPool> published = new ArrayList<>();
    private final List<ControlEvent> events = new ArrayList<>();

    @AfterEach
    void tearDown() {
        channel.finishAndReleaseAll();
    }

    private static long mac(int n) {
        return 0x0200_0000_0000L | n;
    }

    /** A discovery tracker whose publisher frees ids at once, as the dispatcher does after ending sessions. */
    private ArpBackendTracker discovery(DiscoveryLimits limits, BackendIds ids, int missLimit) {
        return new ArpBackendTracker(service, List.of(), 0, missLimit, limits, ids,
                (s, pool, removed, released) -> {
                    published.add(pool);
                    released.forEach(ids::release);
                }, events::add, id -> false);
    }

    private void tick(ArpBackendTracker tracker) {
        tracker.tick(channel, OWN_MAC, 0);
        for (Object sent; (sent = channel.readOutbound()) != null; ) {
            ((ByteBuf) sent).release();
        }
    }

    private BackendPool last() {
        return published.get(published.size() - 1);
    }

    @Test
    void aReplyBeforeAnyRequestIsIgnored() {
        ArpBackendTracker tracker = discovery(new DiscoveryLimits(Set.of(), 8), new BackendIds(100), 1);
        tracker.onReply(VIP, mac(1));
        tick(tracker);
        assertTrue(published.isEmpty(), "nothing joined on an unsolicited reply");
        tracker.onReply(VIP, mac(1));
        tick(tracker);
        assertEquals(1, last().availableCount());
    }

    @Test
    void onlyAllowedMacsJoin() {
        ArpBackendTracker tracker = discovery(new DiscoveryLimits(Set.of(mac(1)), 8), new BackendIds(100), 1);
        tick(tracker);
        tracker.onReply(VIP, mac(1));
        tracker.onReply(VIP, mac(2));
        tick(tracker);
        assertEquals(List.of(mac(1)), last().all().stream().map(Backend::mac).toList());
        assertEquals(List.of(ControlEvent.DISCOVERY_NOT_ALLOWED), events);
    }

    @Test
    void discoveryStopsAtMaxBackendsUntilOneLeaves() {
        ArpBackendTracker tracker = discovery(new DiscoveryLimits(Set.of(), 2), new BackendIds(100), 1);
        tick(tracker);
        for (int n = 1; n <= 3; n++) {
            tracker.onReply(VIP, mac(n));
        }
        tick(tracker);
        assertEquals(2, last().all().size());
        assertEquals(List.of(ControlEvent.DISCOVERY_LIMIT), events);
        // mac(1) goes quiet and leaves; mac(3) takes its place.
        tracker.onReply(VIP, mac(2));
        tick(tracker);
        tracker.onReply(VIP, mac(2));
        tracker.onReply(VIP, mac(3));
        tick(tracker);
        assertEquals(Set.of(mac(2), mac(3)), Set.copyOf(last().all().stream().map(Backend::mac).toList()));
    }

    @Test
    void idsComeBackSoChurnNeverRunsPastTheLimit() {
        BackendIds ids = new BackendIds(8);
        ArpBackendTracker tracker = discovery(new DiscoveryLimits(Set.of(), 8), ids, 1);
        tick(tracker);
        for (int n = 1; n <= 5_000; n++) {
            tracker.onReply(VIP, mac(n));
            tick(tracker);
            tick(tracker);
        }
        int highest = published.stream().flatMap(pool -> pool.all().stream()).mapToInt(Backend::id).max().orElseThrow();
        assertTrue(highest <= 8, "ids stay within max-backend-id, highest was " + highest);
        assertEquals(0, ids.inUse(), "every departed backend's id was returned");
        assertTrue(events.isEmpty(), events.toString());
    }

    @Test
    void aRoundThatThrowsIsCountedAndTheNextRoundRuns() {
        BackendIds ids = new BackendIds(100);
        boolean[] failed = {false};
        ArpBackendTracker tracker = new ArpBackendTracker(service, List.of(), 0, 1, new DiscoveryLimits(Set.of(), 8),
                ids, (s, pool, removed, released) -> {
                    if (!failed[0]) {
                        failed[0] = true;
                        throw new IllegalStateException("publisher broke");
                    }
                    published.add(pool);
                }, events::add, id -> false);
        ArpBackendTracker.startRounds(channel, List.of(tracker), Duration.ofMillis(100), () -> OWN_MAC, 0);
        channel.runPendingTasks();
        tracker.onReply(VIP, mac(1));
        channel.advanceTimeBy(100, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        assertEquals(List.of(ControlEvent.ARP_ROUND_FAILED), events);
        tracker.onReply(VIP, mac(1));
        channel.advanceTimeBy(100, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        assertEquals(1, last().availableCount(), "the rounds went on after the failure");
    }

    @Test
    void repliesNotAddressedToTheDispatcherAreDroppedAsUnsolicited() {
        DispatchContext context = new DispatchContext(CoreSettings.defaults(), new ServiceTable(List.of(service)));
        ArpBackendTracker tracker = discovery(new DiscoveryLimits(Set.of(), 8), new BackendIds(100), 1);
        tick(tracker);
        EmbeddedChannel pipeline = new EmbeddedChannel(new PacketDecoder(context),
                new ArpReplyHandler(context, List.of(tracker), () -> OWN_MAC));
        try {
            // Gratuitous: broadcast, naming nobody.
            pipeline.writeInbound(Frames.arp(Unpooled.buffer(), MacAddress.BROADCAST, mac(1), ArpHeader.REPLY, mac(1),
                    VIP, MacAddress.BROADCAST, VIP));
            // Addressed to another host.
            pipeline.writeInbound(Frames.arp(Unpooled.buffer(), mac(9), mac(2), ArpHeader.REPLY, mac(2), VIP, mac(9),
                    0));
            // The answer to the dispatcher's probe.
            pipeline.writeInbound(Frames.arp(Unpooled.buffer(), OWN_MAC, mac(3), ArpHeader.REPLY, mac(3), VIP, OWN_MAC,
                    0));
            tick(tracker);
            assertEquals(2, context.counters().drops(DropReason.UNSOLICITED_ARP));
            assertEquals(List.of(mac(3)), last().all().stream().map(Backend::mac).toList());
        } finally {
            pipeline.finishAndReleaseAll();
        }
    }

    @Test
    void aBackendThatMissesArpRoundsTakesNoNewSessionsButKeepsItsOwn() {
        boolean[] holds = {true};
        List<Set<Integer>> removedSets = new ArrayList<>();
        ArpBackendTracker tracker = new ArpBackendTracker(service, List.of(), 0, 2, new DiscoveryLimits(Set.of(), 8),
                new BackendIds(100), (s, pool, removed, released) -> {
                    published.add(pool);
                    removedSets.add(removed);
                }, events::add, id -> holds[0]);
        tick(tracker);
        tracker.onReply(VIP, mac(1));
        tick(tracker);
        assertEquals(BackendState.ACTIVE, last().all().getFirst().state());
        tick(tracker);
        tick(tracker);
        assertEquals(BackendState.DRAINING, last().all().getFirst().state(), "silent for two rounds: no new sessions");
        assertTrue(removedSets.stream().allMatch(Set::isEmpty), "no session was ended for a missed ARP reply");
        tracker.onReply(VIP, mac(1));
        tick(tracker);
        assertEquals(BackendState.ACTIVE, last().all().getFirst().state(), "answers again: new sessions again");
        tick(tracker);
        tick(tracker);
        holds[0] = false;
        tick(tracker);
        assertTrue(last().all().isEmpty(), "silent and holding no session: it leaves");
    }

    /** A tracker of one static backend at {@code address}, with a miss limit of 3. */
    private ArpBackendTracker staticBackend(int address) {
        return new ArpBackendTracker(service, List.of(new StaticBackend(address, 1)), 0, 3,
                new DiscoveryLimits(Set.of(), 8), new BackendIds(100), (s, pool, removed, released) -> published.add(pool),
                events::add, id -> true);
    }

    /**
     * Issue #33: forged replies, even ones that come right after the dispatcher's own request and before the real
     * one, never move a backend whose own MAC still answers; they are counted.
     */
    @Test
    void aForgedReplyNeverMovesABackendThatStillAnswers() {
        int backend = Ipv4Address.parse("192.0.2.11");
        ArpBackendTracker tracker = staticBackend(backend);
        tick(tracker);
        tracker.onReply(backend, mac(11));
        tick(tracker);
        assertEquals(mac(11), last().all().getFirst().mac());
        for (int round = 0; round < 10; round++) {
            tracker.onReply(backend, mac(66));
            tracker.onReply(backend, mac(11));
            tracker.onReply(backend, mac(66));
            tick(tracker);
        }
        assertEquals(mac(11), last().all().getFirst().mac(), "the real backend keeps its MAC");
        assertEquals(BackendState.ACTIVE, last().all().getFirst().state());
        assertEquals(10, events.stream().filter(e -> e == ControlEvent.ARP_MAC_CONFLICT).count(),
                "one conflict counted a round");
    }

    /** A backend whose MAC really changed (a new NIC) moves once the new MAC alone answered miss-limit rounds. */
    @Test
    void aNewMacThatAloneAnswersForMissLimitRoundsTakesOver() {
        int backend = Ipv4Address.parse("192.0.2.11");
        ArpBackendTracker tracker = staticBackend(backend);
        tick(tracker);
        tracker.onReply(backend, mac(11));
        tick(tracker);
        for (int round = 1; round <= 2; round++) {
            tracker.onReply(backend, mac(12));
            tick(tracker);
            assertEquals(mac(11), last().all().getFirst().mac(), "round " + round + ": not yet");
        }
        tracker.onReply(backend, mac(11));
        tracker.onReply(backend, mac(12));
        tick(tracker);
        tracker.onReply(backend, mac(12));
        tick(tracker);
        tracker.onReply(backend, mac(12));
        tick(tracker);
        assertEquals(mac(11), last().all().getFirst().mac(), "the old MAC answered in between: the count starts over");
        tracker.onReply(backend, mac(12));
        tick(tracker);
        assertEquals(mac(12), last().all().getFirst().mac(), "three rounds in a row: it moved");
        assertEquals(BackendState.ACTIVE, last().all().getFirst().state());
        assertEquals(1, events.stream().filter(e -> e == ControlEvent.BACKEND_MAC_MOVED).count());
    }
}

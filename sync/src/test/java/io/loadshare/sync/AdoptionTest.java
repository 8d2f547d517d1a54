package io.loadshare.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.core.pipeline.SourceNatAddresses;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Full NAT's address adoption between two real sync endpoints on loopback: the survivor adopts the address of a peer
 * that stops, the stopping one adopts nothing (its links close because it goes, not its peer), and a returning
 * peer re-announces its own address as the survivor links to it, which gives it back.
 */
class AdoptionTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final int FIRST_NAT = Ipv4Address.parse("192.0.2.101");
    private static final int SECOND_NAT = Ipv4Address.parse("192.0.2.102");

    private final EventLoop loop = new DefaultEventLoop();
    private final List<SessionSync> started = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        started.forEach(SessionSync::close);
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** What a dispatcher's source-NAT addresses were told to do, in order. */
    private static final class Recording implements SourceNatAddresses {
        final List<String> calls = new CopyOnWriteArrayList<>();
        private final int own;

        Recording(int own) {
            this.own = own;
        }

        @Override
        public int address(int serviceIndex, int index) {
            return index == 0 ? own : 0;
        }

        @Override
        public int indexOf(int serviceIndex, int address) {
            return address == own ? 0 : -1;
        }

        @Override
        public void learn(int address) {
        }

        @Override
        public List<Integer> own() {
            return List.of(own);
        }

        @Override
        public void adopt(int address) {
            calls.add("adopt " + Ipv4Address.format(address));
        }

        @Override
        public void release(int address) {
            calls.add("release " + Ipv4Address.format(address));
        }

        @Override
        public void announceOwn() {
            calls.add("announce");
        }
    }

    private SessionSync start(InetSocketAddress listen, InetSocketAddress peer, Recording nats) throws Exception {
        DispatchContext context = new DispatchContext(CoreSettings.defaults(), new ServiceTable(List.of()));
        context.sourceNats(nats);
        SyncSettings settings = new SyncSettings(true, listen, List.of(peer), KEY, Duration.ofMillis(20),
                Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(2), 1000, 64, null);
        SessionSync sync = SessionSync.prepare(settings, List.of(context), List::of, CoreSettings.defaults().session(),
                Duration.ofMinutes(1));
        context.start(loop);
        sync.start(null);
        started.add(sync);
        return sync;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(20);
        }
    }

    private static boolean linked(SessionSync sync) {
        SyncStatus.Peer peer = sync.status().peers().getFirst();
        return peer.receiving() && peer.synced();
    }

    @Test
    void theSurvivorAdoptsAndTheStoppingOneDoesNot() throws Exception {
        InetSocketAddress first = new InetSocketAddress("127.0.0.1", freePort());
        InetSocketAddress second = new InetSocketAddress("127.0.0.2", freePort());
        Recording firstNats = new Recording(FIRST_NAT);
        Recording secondNats = new Recording(SECOND_NAT);
        SessionSync one = start(first, second, firstNats);
        SessionSync two = start(second, first, secondNats);
        await("the two link", () -> linked(one) && linked(two));

        one.close();
        await("the survivor adopts the stopped one's address: " + secondNats.calls,
                () -> secondNats.calls.contains("adopt 192.0.2.101"));
        Thread.sleep(300);
        assertEquals(List.of(), firstNats.calls.stream().filter(call -> !call.equals("announce")).toList(),
                "the stopping dispatcher adopted nothing");

        Recording backNats = new Recording(FIRST_NAT);
        SessionSync back = start(first, second, backNats);
        await("the first, back, links again", () -> linked(back));
        await("and the survivor gives its address back: " + secondNats.calls,
                () -> secondNats.calls.contains("release 192.0.2.101"));
        await("the first announces its own address as the survivor links to it: " + backNats.calls,
                () -> backNats.calls.contains("announce"));
        assertEquals(List.of(), backNats.calls.stream().filter(call -> call.startsWith("adopt")).toList());
    }
}

package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.BackendState;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.LoadGenerator;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A SYN flood must not take the cluster down (issue: all backends declared down because their ARP replies sat behind
 * the flood in the one receive queue). The packaged LSMAC dispatcher runs with the strictest ARP setting
 * ({@code miss-limit = 1}, a round every 200 ms) while the project's load generator makes one-request connections
 * and a raw socket in a flood namespace sends spoofed SYNs to the VIP as fast as it can, then spoofed handshakes
 * (a SYN and its ACK from the same source, which LSMAC, seeing one direction only, must take for an opened
 * connection), then random malformed frames. Pass: no backend ever stops taking sessions, at least 99 % of the
 * connections made during the flood succeed and all made after it, and every flood frame is forwarded or counted.
 */
class FloodTest {
    private static final String VIP = LsmacCluster.VIP;

    @TempDir
    Path dir;

    @Test
    void aSynFloodNeverTakesABackendOut() throws Exception {
        NetnsTestbed.requireRoot();
        EventLoopGroup flooder = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try (LsmacCluster cluster = new LsmacCluster(4)) {
            NetnsTestbed testbed = cluster.testbed;
            String client = cluster.client;
            String dispatcher = cluster.dispatcher;
            String flood = cluster.host("fld", "f0", "192.0.2.200");
            Path file = Files.writeString(dir.resolve("flood.conf"), """
                    loadshare {
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 0
                      services = [ { name = web, address = "%s", port = 80, scheduler = rr,
                        backends = [ "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14" ] } ]
                    }
                    io.loadshare.dispatch.l2.arp { interval = 200ms, miss-limit = 1, sender-address = "192.0.2.1" }
                    """.formatted(dispatcher, VIP));
            try (Dispatcher running = Dispatcher.start(DispatcherConfig.load(file, SchedulerRegistry.load()))) {
                LsmacCluster.awaitResolved(running, 4);
                AtomicBoolean allUp = new AtomicBoolean(true);
                AtomicBoolean watching = new AtomicBoolean(true);
                ExecutorService threads = Executors.newFixedThreadPool(2);
                CompletableFuture<Void> watcher = CompletableFuture.runAsync(() -> {
                    while (watching.get()) {
                        if (running.services().getFirst().pool().all().stream()
                                .anyMatch(b -> b.state() != BackendState.ACTIVE)) {
                            allUp.set(false);
                        }
                        try {
                            Thread.sleep(10);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, threads);

                long dispatcherMac = MacAddress.parse(testbed.mac(dispatcher, "d0"));
                Channel floodChannel = new Bootstrap().group(flooder)
                        .channelFactory(() -> new RawSocketChannel(NetworkNamespace.named(flood)))
                        .handler(new ChannelInboundHandlerAdapter()).bind(new RawSocketAddress("f0")).sync().channel();
                AtomicLong sent = new AtomicLong();
                Duration floodTime = Duration.ofSeconds(3);
                CompletableFuture<LoadGenerator.Result> during = CompletableFuture.supplyAsync(() -> load(client,
                        floodTime), threads);
                long floodStart = System.nanoTime();
                flood(floodChannel, dispatcherMac, floodTime.toNanos() * 2 / 3, Flood.SYNS, sent);
                long syns = sent.get();
                System.out.printf("flood sent %d SYNs in %.1f s; drops so far %s%n", syns,
                        (System.nanoTime() - floodStart) / 1e9, running.context().counters().dropsByReason());
                flood(floodChannel, dispatcherMac, floodTime.toNanos() / 3, Flood.HANDSHAKES, sent);
                long handshakes = (sent.get() - syns) / 2;
                int[] table = running.context().eventLoop().submit(() -> new int[] {
                    running.context().sessions().size(), running.context().sessions().capacity()}).get();
                // LSMAC sees one direction: a spoofed handshake looks like a client's, and its session is kept.
                System.out.printf("then %d spoofed handshakes; the table holds %d sessions of %d%n", handshakes,
                        table[0], table[1]);
                flood(floodChannel, dispatcherMac, TimeUnit.MILLISECONDS.toNanos(500), Flood.JUNK, sent);
                LoadGenerator.Result duringFlood = during.get(30, TimeUnit.SECONDS);
                LoadGenerator.Result after = load(client, Duration.ofSeconds(1));
                watching.set(false);
                watcher.get(5, TimeUnit.SECONDS);
                threads.shutdown();
                floodChannel.close().sync();

                double success = (double) duringFlood.connections()
                        / (duringFlood.connections() + duringFlood.failureCount());
                System.out.printf("flood: %d spoofed SYNs (%.0f/s), %d handshakes and %d malformed frames; during it"
                        + " %d connections (%.2f %% succeeded, failures %s), after it %d (%d failed); drops %s%n", syns,
                        syns / (floodTime.toNanos() * 2 / 3 / 1e9), handshakes, sent.get() - syns - 2 * handshakes,
                        duringFlood.connections(),
                        100 * success, duringFlood.failures(), after.connections(), after.failureCount(),
                        running.context().counters().dropsByReason());
                assertTrue(allUp.get(), "a backend stopped taking sessions during the flood");
                assertTrue(success >= 0.99, "only " + 100 * success + " % of connections succeeded during the flood");
                assertEquals(0, after.failureCount(), "failed after the flood: " + after.failures());
                assertTrue(after.connections() > 0);
            }
        } finally {
            flooder.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static LoadGenerator.Result load(String client, Duration duration) {
        try {
            return new LoadGenerator(new LoadGenerator.Settings(new InetSocketAddress(VIP, 80), List.of("/"), 8,
                    duration, Duration.ofSeconds(10))).run(NetworkNamespace.named(client), 1);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What the flood sends. */
    private enum Flood {
        /** SYNs to the VIP from random sources and ports in 203.0.113.0/24. */
        SYNS,
        /** A SYN, then an ACK from the same source and port: the two halves of a handshake a client would make. */
        HANDSHAKES,
        /** Random bytes after an Ethernet header. */
        JUNK
    }

    /**
     * Sends frames to the dispatcher's MAC for {@code nanos} from the flood channel's own event loop, a batch per
     * task, as fast as the channel takes them. Returns when the time is up.
     */
    private static void flood(Channel channel, long dispatcherMac, long nanos, Flood kind, AtomicLong sent)
            throws Exception {
        long mac = ((RawSocketChannel) channel).hardwareAddress();
        long end = System.nanoTime() + nanos;
        SplittableRandom random = new SplittableRandom(kind.ordinal() + 1);
        CompletableFuture<Void> done = new CompletableFuture<>();
        Runnable batch = new Runnable() {
            @Override
            public void run() {
                if (System.nanoTime() >= end) {
                    done.complete(null);
                    return;
                }
                for (int i = 0; i < 64 && channel.isWritable(); i++) {
                    ByteBuf frame = channel.alloc().directBuffer(128);
                    if (kind != Flood.JUNK) {
                        int source = 0xCB007100 | random.nextInt(256);
                        int port = 1024 + random.nextInt(64_000);
                        long sequence = random.nextLong(1L << 32);
                        Frames.tcp(frame, dispatcherMac, mac, source, port, 0xC633_640A, 80, sequence, 0,
                                TcpHeader.SYN, new byte[0]);
                        if (kind == Flood.HANDSHAKES) {
                            channel.write(frame, channel.voidPromise());
                            sent.incrementAndGet();
                            frame = Frames.tcp(channel.alloc().directBuffer(128), dispatcherMac, mac, source, port,
                                    0xC633_640A, 80, sequence + 1, random.nextLong(1L << 32), TcpHeader.ACK,
                                    new byte[0]);
                        }
                    } else {
                        frame.writeShort((int) (dispatcherMac >>> 32)).writeInt((int) dispatcherMac);
                        frame.writeShort((int) (mac >>> 32)).writeInt((int) mac);
                        byte[] junk = new byte[random.nextInt(0, 100)];
                        random.nextBytes(junk);
                        frame.writeShort(random.nextBoolean() ? 0x0800 : random.nextInt(0x10000)).writeBytes(junk);
                    }
                    channel.write(frame, channel.voidPromise());
                    sent.incrementAndGet();
                }
                channel.flush();
                channel.eventLoop().execute(this);
            }
        };
        channel.eventLoop().execute(batch);
        done.get(nanos / 1_000_000 + 10_000, TimeUnit.MILLISECONDS);
    }
}

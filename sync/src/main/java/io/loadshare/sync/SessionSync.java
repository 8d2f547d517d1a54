package io.loadshare.sync;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.SourceNatAddresses;
import io.loadshare.core.session.SessionSettings;
import io.loadshare.core.session.StandbySessions;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps sessions beyond this dispatcher: streams its session changes to the other dispatchers of its tier and
 * holds theirs as {@link StandbySessions}, and hands its table to the next process when it stops. Active-active:
 * every dispatcher both sends and receives.
 *
 * <p>Each worker journals its changes into a {@link JournalRing} on its own loop; the sync's thread (one event
 * loop of its own, never a worker's) drains the rings every {@code batch-interval} into one message per peer. A
 * link to a peer starts with the whole table, read a slice at a time on each worker's loop, and the changes
 * stream on the same link meanwhile, so none is missed. A peer's link to here carries its sessions into the
 * standby store, which the workers read.
 *
 * <p>Lifecycle: {@link #prepare} before the data plane starts (it attaches the journals and the store to the
 * contexts, and takes over the hand-over file); {@link #start} once it runs; {@link #awaitInitialSync} before
 * announcing; {@link #handOver} and {@link #close} when stopping.
 */
public final class SessionSync implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SessionSync.class);
    /** Table slots read per task on a worker's loop for a full table: about 100 KB of records at most. */
    private static final int SLICE = 4096;
    /** A stream message's payload is cut here, well under the frame limit. */
    private static final int PAYLOAD_TARGET = 64 * 1024;
    /** Records coalesced at once (512 KB): a batch interval's changes at tens of thousands of sessions a second. */
    private static final int BATCH_RECORDS = 16_384;
    private static final Duration SWEEP_INTERVAL = Duration.ofSeconds(1);

    private final SyncSettings settings;
    private final List<DispatchContext> contexts;
    private final Supplier<List<Service>> services;
    private final StandbySessions store;
    private final List<JournalRing> journals = new ArrayList<>();
    private final List<SyncPeer> peers = new ArrayList<>();
    private final Map<SyncRefusal, AtomicLong> refusals = new EnumMap<>(SyncRefusal.class);
    private final Batch batch = new Batch();
    private final long handedOver;
    /** The mode's source-NAT addresses, shared by every worker. */
    private final SourceNatAddresses sourceNats;
    /** Signs what this dispatcher sends, on the sync's thread. */
    private final SyncProtocol.Signer signer;
    private EventLoopGroup group;
    private Channel listener;
    private NetworkNamespace namespace;
    private ScheduledFuture<?> flusher;
    private volatile boolean closed;

    private SessionSync(SyncSettings settings, List<DispatchContext> contexts, Supplier<List<Service>> services,
            StandbySessions store, long handedOver) {
        this.settings = settings;
        this.contexts = List.copyOf(contexts);
        this.services = services;
        this.store = store;
        this.handedOver = handedOver;
        this.sourceNats = contexts.isEmpty() ? SourceNatAddresses.NONE : contexts.getFirst().sourceNats();
        this.signer = settings.enabled() ? new SyncProtocol.Signer(settings.key()) : null;
        for (SyncRefusal reason : SyncRefusal.values()) {
            refusals.put(reason, new AtomicLong());
        }
        for (int i = 0; i < settings.peers().size(); i++) {
            peers.add(new SyncPeer(settings.peers().get(i), i + 1));
        }
    }

    /**
     * Attaches a standby store and (with sync on) a journal to every context, and takes over the sessions a
     * previous process left in the hand-over file. Call before the contexts start.
     *
     * @param services the services, in index order, with their current pools (backend ids to addresses)
     * @param sessions the table's settings: standby sessions of a gone owner age by its timeouts
     * @param maxHandoverAge a hand-over file older than this is ignored (its sessions are gone anyway)
     */
    public static SessionSync prepare(SyncSettings settings, List<DispatchContext> contexts,
            Supplier<List<Service>> services, SessionSettings sessions, Duration maxHandoverAge) {
        StandbySessions store = new StandbySessions(sessions, settings.maxStandbySessions());
        long handedOver = settings.handoverFile() == null ? 0
                : SessionHandover.take(settings.handoverFile(), store, maxHandoverAge,
                        contexts.isEmpty() ? SourceNatAddresses.NONE : contexts.getFirst().sourceNats());
        SessionSync sync = new SessionSync(settings, contexts, services, store, handedOver);
        for (DispatchContext context : contexts) {
            context.standby(store);
            if (settings.enabled()) {
                JournalRing ring = new JournalRing(settings.journalCapacity());
                sync.journals.add(ring);
                context.sessions().journalTo(ring);
            }
        }
        return sync;
    }

    /** Starts the listener and the links to the peers (with sync on), and the ageing of standby sessions. */
    public void start(NetworkNamespace namespace) throws IOException, InterruptedException {
        this.namespace = namespace;
        // Netty's own thread factory: its threads get the allocator's thread cache and the recyclers, which a plain
        // thread does not, and every message would leave garbage behind (a collector's pause stalls the workers).
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("loadshare-sync", true),
                EpollIoHandler.newFactory());
        group.scheduleAtFixedRate(() -> store.sweep(this::ownerAlive), SWEEP_INTERVAL.toMillis(),
                SWEEP_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        if (!settings.enabled()) {
            return;
        }
        ServerBootstrap server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(frames(), new SyncReceiveHandler(SessionSync.this,
                                new SyncProtocol.Signer(settings.key())));
                    }
                });
        ChannelFuture bound = inNamespace(() -> server.bind(settings.listen()));
        bound.await();
        if (!bound.isSuccess()) {
            throw new IOException("session sync cannot listen on " + settings.listen() + ": " + bound.cause(),
                    bound.cause());
        }
        listener = bound.channel();
        long interval = settings.batchInterval().toNanos();
        flusher = group.scheduleAtFixedRate(this::flush, interval, interval, TimeUnit.NANOSECONDS);
        long heartbeat = settings.peerTimeout().toNanos() / 4;
        group.scheduleAtFixedRate(this::heartbeat, heartbeat, heartbeat, TimeUnit.NANOSECONDS);
        for (SyncPeer peer : peers) {
            group.execute(() -> connect(peer));
        }
        LOG.info("session sync on {} with {} peer(s): {}", settings.listen(), peers.size(), settings.peers());
    }

    /**
     * Failback gating: waits until each peer has sent its full table or is found down, within
     * {@code initial-sync-timeout}.
     *
     * @return one line per peer saying how it ended
     */
    public List<String> awaitInitialSync() throws InterruptedException {
        List<String> lines = new ArrayList<>();
        long deadline = System.nanoTime() + settings.initialSyncTimeout().toNanos();
        for (SyncPeer peer : peers) {
            String outcome;
            try {
                outcome = peer.initialSync.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                outcome = "no full table within " + settings.initialSyncTimeout().toMillis() + "ms";
            } catch (ExecutionException e) {
                outcome = e.getCause().toString();
            }
            lines.add(peer.address + ": " + outcome);
        }
        return lines;
    }

    /** Sessions the hand-over file of the previous process brought. */
    public long handedOver() {
        return handedOver;
    }

    public StandbySessions standby() {
        return store;
    }

    /**
     * Leaves every session of every worker in the hand-over file for the next process; call while the workers
     * still run, before their tables are flushed. Nothing when no file is configured.
     *
     * @return sessions written
     */
    public long handOver() throws IOException, InterruptedException {
        if (settings.handoverFile() == null) {
            return 0;
        }
        return SessionHandover.leave(settings.handoverFile(), contexts, services.get());
    }

    /** What the sync is doing, for status and metrics. */
    public SyncStatus status() {
        List<SyncStatus.Peer> peerStatus = new ArrayList<>();
        long now = System.nanoTime();
        for (SyncPeer peer : peers) {
            peerStatus.add(new SyncStatus.Peer(peer.address.getAddress().getHostAddress() + ":"
                    + peer.address.getPort(), peer.outbound.label, peer.alive(), peer.tableReceived,
                    peer.sessionsSent, peer.sessionsReceived,
                    peer.lastReceivedNanos == 0 ? -1 : (now - peer.lastReceivedNanos) / 1_000_000, peer.linksLost,
                    peer.adopted.stream().map(Ipv4Address::format).sorted().toList()));
        }
        Map<String, Long> refused = new LinkedHashMap<>();
        refusals.forEach((reason, count) -> refused.put(reason.label(), count.get()));
        long dropped = 0;
        for (JournalRing ring : journals) {
            dropped += ring.dropped();
        }
        return new SyncStatus(settings.enabled(), peerStatus, store.size(), store.maxEntries(), store.refused(),
                store.takenOver(), handedOver, dropped, refused);
    }

    /**
     * Stops: sends what the journals still hold, then closes the links and the listener. The peers then count this
     * dispatcher as gone; it adopts none of their addresses while it goes. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (group == null) {
            return;
        }
        if (flusher != null) {
            flusher.cancel(false);
            // What the last interval journaled goes too: the peers of a dispatcher that stops keep all it opened.
            group.submit(this::flush).awaitUninterruptibly();
        }
        if (listener != null) {
            listener.close().awaitUninterruptibly();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }

    // ---- the sync's thread from here on ----

    private boolean ownerAlive(int owner) {
        return owner >= 1 && owner <= peers.size() && peers.get(owner - 1).alive();
    }

    SyncPeer peerAt(InetAddress address) {
        for (SyncPeer peer : peers) {
            if (peer.address.getAddress().equals(address)) {
                return peer;
            }
        }
        return null;
    }

    void refuse(SyncRefusal reason, Channel link, String detail) {
        long count = refusals.get(reason).incrementAndGet();
        if (count <= 10 || Long.bitCount(count) == 1) {
            LOG.warn("session sync refused a message ({}, {} so far): {}", reason.label(), count, detail);
        }
        link.close();
    }

    private void connect(SyncPeer peer) {
        if (closed) {
            return;
        }
        Bootstrap bootstrap = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(100,
                        settings.reconnectInterval().toMillis() * 2))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(frames(), new PeerLinkHandler(SessionSync.this, peer));
                    }
                });
        if (!settings.listen().getAddress().isAnyLocalAddress()) {
            bootstrap.localAddress(settings.listen().getAddress(), 0);
        }
        ChannelFuture connecting;
        try {
            connecting = inNamespace(() -> bootstrap.connect(peer.address));
        } catch (IOException e) {
            LOG.warn("session sync cannot reach {}: {}", peer.address, e.toString());
            retry(peer);
            return;
        }
        connecting.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                if (peer.outbound != SyncPeer.Outbound.DOWN) {
                    LOG.info("session sync: peer {} is down ({})", peer.address, f.cause().toString());
                }
                peer.outbound = SyncPeer.Outbound.DOWN;
                peer.initialSync.complete("down (" + f.cause().getMessage() + "), not waited for");
                reconsiderAdoptions();
                retry(peer);
            }
        });
    }

    private void retry(SyncPeer peer) {
        if (!closed) {
            group.schedule(() -> connect(peer), settings.reconnectInterval().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    void linkReady(SyncPeer peer, Channel link, byte[] nonce) {
        peer.sending = link;
        peer.sendingNonce = nonce;
        peer.sentSequence = 0;
        peer.outbound = SyncPeer.Outbound.SENDING_TABLE;
        List<Integer> own = sourceNats.own();
        ByteBuf hello = Unpooled.buffer(2 + 4 * own.size());
        hello.writeShort(own.size());
        own.forEach(hello::writeInt);
        send(peer, SyncProtocol.HELLO, hello, 0);
        hello.release();
        reconsiderAdoptions();
        LOG.info("session sync: sending the session table to {}", peer.address);
        sendTable(peer, link, 0, 0, 0);
    }

    void linkLost(SyncPeer peer, Channel link) {
        if (peer.sending == link) {
            peer.sending = null;
        }
        peer.outbound = SyncPeer.Outbound.DOWN;
        reconsiderAdoptions();
        retry(peer);
    }

    /** Sends worker {@code worker}'s slots from {@code from} on, one slice per task, then the next worker's. */
    private void sendTable(SyncPeer peer, Channel link, int worker, int from, long sent) {
        if (peer.sending != link) {
            return;
        }
        if (worker == contexts.size()) {
            send(peer, SyncProtocol.BULK_DONE, Unpooled.EMPTY_BUFFER, 0);
            peer.outbound = SyncPeer.Outbound.STREAMING;
            LOG.info("session sync: {} session(s) sent to {}, streaming changes", sent, peer.address);
            return;
        }
        DispatchContext context = contexts.get(worker);
        List<Service> current = services.get();
        context.submit(() -> {
            ByteBuf payload = Unpooled.buffer();
            payload.writeInt(0);
            int next = from + SLICE;
            boolean last = next >= context.sessions().capacity();
            int count = SessionRecords.snapshot(payload, context.sessions(), from, SLICE, current,
                    context.sourceNats()) + (last ? SessionRecords.templates(payload, context, current) : 0);
            payload.setInt(0, count);
            group.execute(() -> {
                if (count > 0) {
                    send(peer, SyncProtocol.SESSIONS, payload, count);
                }
                sendTable(peer, link, last ? worker + 1 : worker, last ? 0 : next, sent + count);
            });
        });
    }

    /**
     * Keeps the links honest: each peer gets a heartbeat on a link with nothing else to carry, and a peer silent for
     * {@code peer-timeout} is taken as gone (a dead host sends no FIN): both links to it are closed, its standby
     * sessions start to age, and this side keeps trying to reach it.
     */
    private void heartbeat() {
        long now = System.nanoTime();
        long timeout = settings.peerTimeout().toNanos();
        for (SyncPeer peer : peers) {
            if (peer.sending != null && now - peer.lastSentNanos >= timeout / 4) {
                send(peer, SyncProtocol.HEARTBEAT, Unpooled.EMPTY_BUFFER, 0);
            }
            Channel receiving = peer.receiving;
            if (receiving != null && now - peer.lastReceivedNanos > timeout) {
                LOG.warn("session sync: nothing from {} for {}ms, taking it as gone", peer.address,
                        settings.peerTimeout().toMillis());
                receiving.close();
                if (peer.sending != null) {
                    peer.sending.close();
                }
            }
        }
    }

    private void send(SyncPeer peer, int type, ByteBuf payload, int sessions) {
        Channel link = peer.sending;
        if (link == null) {
            return;
        }
        peer.lastSentNanos = System.nanoTime();
        link.writeAndFlush(signer.frame(peer.sendingNonce, type, ++peer.sentSequence, payload), link.voidPromise());
        peer.sessionsSent += sessions;
    }

    /**
     * Drains every journal and sends what it held to every peer with a link, in messages of bounded size. It
     * allocates nothing on the heap in steady state (pooled buffers, one sink): garbage here would cost the workers
     * a collector's pause, and frames with it.
     */
    private void flush() {
        batch.services = services.get();
        for (int i = 0; i < journals.size(); i++) {
            journals.get(i).drain(batch);
        }
        batch.send();
    }

    /** The records of one flush, coalesced per flow, on their way into messages; the sync's thread only. */
    private final class Batch implements JournalRing.RecordSink {
        List<Service> services;
        private final CoalescedRecords records = new CoalescedRecords(BATCH_RECORDS);
        private final JournalRing.RecordSink writer = this::write;
        private ByteBuf payload;
        private int count;

        @Override
        public void accept(long addresses, long flow, long backend, long lastHop) {
            if (records.isFull()) {
                records.drainTo(writer);
            }
            records.add(addresses, flow, backend, lastHop);
        }

        private void write(long addresses, long flow, long backend, long lastHop) {
            if (payload == null) {
                payload = PooledByteBufAllocator.DEFAULT.heapBuffer(PAYLOAD_TARGET + SessionRecords.CHANGED_BYTES);
                payload.writeInt(0);
            }
            if (SessionRecords.write(payload, addresses, flow, backend, lastHop, services, sourceNats)) {
                count++;
            }
            if (payload.readableBytes() >= PAYLOAD_TARGET) {
                send();
            }
        }

        void send() {
            records.drainTo(writer);
            if (payload == null) {
                return;
            }
            if (count > 0) {
                payload.setInt(0, count);
                for (int i = 0; i < peers.size(); i++) {
                    SessionSync.this.send(peers.get(i), SyncProtocol.SESSIONS, payload, count);
                }
            }
            payload.release();
            payload = null;
            count = 0;
        }
    }

    /** Any authenticated message from a peer, heartbeats included: it is alive. */
    void heard(SyncPeer peer) {
        peer.lastReceivedNanos = System.nanoTime();
    }

    void peerLinked(SyncPeer peer, Channel link, List<Integer> natAddresses) {
        peer.natAddresses = List.copyOf(natAddresses);
        natAddresses.forEach(sourceNats::learn);
        Channel previous = peer.receiving;
        peer.receiving = link;
        peer.tableReceived = false;
        if (previous != null && previous != link) {
            previous.close();
            // A new link from the peer may be a new process: the link to it may lead to the one that died, so
            // send on a new one (with the whole table) rather than into a socket nobody reads.
            if (peer.sending != null) {
                peer.sending.close();
            }
        }
        LOG.info("session sync: {} linked, receiving its sessions", peer.address);
        reconsiderAdoptions();
        // The peer may have adopted this dispatcher's addresses while it took it for gone: claim them back.
        sourceNats.announceOwn();
    }

    void peerUnlinked(SyncPeer peer, Channel link) {
        if (peer.receiving == link) {
            peer.receiving = null;
            peer.linksLost++;
            LOG.info("session sync: lost the link from {}; its standby sessions age from now", peer.address);
            reconsiderAdoptions();
        }
    }

    /**
     * Full NAT across a failover: the source-NAT addresses of a peer that is gone (its link to here is down and it
     * refuses links from here) are adopted by one survivor, the one with the lowest sync address among those alive,
     * so that the backends' replies to that peer's flows reach a dispatcher holding them. A peer that comes back gets
     * its addresses back: it announces them as it starts, and again as each peer links to it. A dispatcher that stops
     * adopts nothing.
     */
    private void reconsiderAdoptions() {
        if (closed) {
            // Its links close because this dispatcher stops: the peers are not gone, and their addresses stay theirs.
            return;
        }
        boolean lowest = true;
        for (SyncPeer peer : peers) {
            if (peer.alive() && compare(peer.address.getAddress(), settings.listen().getAddress()) < 0) {
                lowest = false;
            }
        }
        for (SyncPeer peer : peers) {
            boolean gone = !peer.alive() && peer.outbound == SyncPeer.Outbound.DOWN;
            for (int address : peer.natAddresses) {
                if (gone && lowest && peer.adopted.add(address)) {
                    LOG.info("session sync: {} is gone; adopting its source-NAT address {}", peer.address,
                            Ipv4Address.format(address));
                    sourceNats.adopt(address);
                } else if ((!gone || !lowest) && peer.adopted.remove(address)) {
                    LOG.info("session sync: releasing the source-NAT address {} of {}", Ipv4Address.format(address),
                            peer.address);
                    sourceNats.release(address);
                }
            }
        }
    }

    private static int compare(InetAddress a, InetAddress b) {
        return Arrays.compareUnsigned(a.getAddress(), b.getAddress());
    }

    void received(SyncPeer peer, ByteBuf payload, int count) {
        int refused = SessionRecords.apply(payload, store, peer.owner, sourceNats);
        refusals.get(SyncRefusal.STORE_FULL).addAndGet(refused);
        peer.sessionsReceived += count;
    }

    void tableReceived(SyncPeer peer) {
        peer.tableReceived = true;
        peer.initialSync.complete("synced (" + peer.sessionsReceived + " session(s) received)");
        LOG.info("session sync: full table from {} received", peer.address);
    }

    static LengthFieldBasedFrameDecoder frames() {
        return new LengthFieldBasedFrameDecoder(SyncProtocol.MAX_FRAME, 0, 4, 0, 4);
    }

    private <T> T inNamespace(NetworkNamespace.Action<T> action) throws IOException {
        return namespace == null ? action.run() : namespace.run(action);
    }
}

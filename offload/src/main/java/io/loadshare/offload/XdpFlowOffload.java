package io.loadshare.offload;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.metrics.LongCounters;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.offload.FlowOffload;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.Packet;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.session.SessionTable;
import io.loadshare.offload.bpf.BpfRingBuffer;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.loadshare.offload.bpf.Bpf;
import io.loadshare.offload.bpf.BpfException;
import io.loadshare.offload.bpf.BpfMap;
import io.loadshare.offload.bpf.BpfProgram;
import io.loadshare.offload.bpf.XdpLink;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * LSMAC's fast path on one interface: {@link LsmacXdpProgram} attached by a BPF link, and the pipeline's side of
 * its maps ({@link FastPathMaps}). Sessions are installed one {@code BPF_MAP_UPDATE_ELEM} each when the pipeline
 * hands them over and deleted one {@code BPF_MAP_DELETE_ELEM} each when they end, in the order the pipeline
 * decides them, so that a flow ended and reopened within one read batch cannot leave a stale entry behind.
 *
 * <p>The data-path methods run on the dispatch context's event loop, with segments allocated once. The counters
 * ({@link #backendTraffic}, {@link #flowEvents}) may be read from any thread.
 */
public final class XdpFlowOffload implements FlowOffload {
    /** Flow events, as indexes of {@link #flowEvents}. */
    public static final int INSTALLED = 0;
    public static final int REMOVED = 1;
    public static final int MAP_FULL = 2;
    public static final int INSTALL_FAILED = 3;
    /** Flows the program placed itself and the session table learnt of. */
    public static final int PLACED = 4;
    private static final Logger LOG = LoggerFactory.getLogger(XdpFlowOffload.class);
    private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort SHORT_BE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final long UP = 1L << 48;
    private static final long MAC_MASK = 0xFFFF_FFFF_FFFFL;

    private final String interfaceName;
    private final FastPathMaps maps;
    private final BpfProgram program;
    private final XdpLink link;
    private final BpfMap.Accessor flows;
    private final BpfMap.Accessor backends;
    /** Per backend id, the entry last written: MAC | UP, or -1 before the first write. */
    private final long[] published;
    /** Per backend id, the sync round that last found it in a pool. */
    private final int[] seenInRound;
    private int round;
    private final LongCounters events = new LongCounters(5);
    /** Per service index: where its Maglev table starts in the maglev map, or -1 when the program places none. */
    private final int[] tableOffset;
    private final int[] tableSize;
    /** Per service index: the pool and scheduler whose table was last published. */
    private final Object[] publishedPool;
    private final Object[] publishedScheduler;
    private final BpfMap.Accessor vips;
    /** Null when the program places no flow. */
    private final BpfRingBuffer ring;
    private final MutableFlow learnt = new MutableFlow();
    private final BpfRingBuffer.Reader learner = this::learnOne;
    private DispatchContext learning;
    private final AtomicBoolean closed = new AtomicBoolean();

    private XdpFlowOffload(String interfaceName, FastPathMaps maps, BpfProgram program, XdpLink link,
            int maxBackendId, Placement placement, BpfRingBuffer ring) {
        this.interfaceName = interfaceName;
        this.maps = maps;
        this.program = program;
        this.link = link;
        // Small, and freed only once unreachable: a data-path call racing close() never touches freed memory.
        Arena arena = Arena.ofAuto();
        this.flows = maps.flows().accessor(arena);
        this.backends = maps.backends().accessor(arena);
        this.vips = maps.vips().accessor(arena);
        this.published = new long[maxBackendId + 1];
        this.seenInRound = new int[maxBackendId + 1];
        Arrays.fill(published, -1);
        this.tableOffset = placement.offsets;
        this.tableSize = placement.sizes;
        this.publishedPool = new Object[tableOffset.length];
        this.publishedScheduler = new Object[tableOffset.length];
        this.ring = ring;
    }

    /**
     * Which services the program places new flows for, and where their tables go: TCP services without
     * persistence whose scheduler publishes a flow table (maglev).
     */
    private record Placement(int[] offsets, int[] sizes, int slots) {
        static Placement of(DispatchContext context, boolean enabled) {
            int[] offsets = new int[SessionTable.MAX_SERVICES];
            int[] sizes = new int[SessionTable.MAX_SERVICES];
            Arrays.fill(offsets, -1);
            int slots = 0;
            for (Service service : context.services().services()) {
                int size = context.scheduler(service).flowTableSize();
                if (enabled && size > 0 && service.protocol() == IpProtocol.TCP && service.persistence() == null) {
                    offsets[service.index()] = slots;
                    sizes[service.index()] = size;
                    slots += size;
                }
            }
            return new Placement(offsets, sizes, slots);
        }
    }

    /**
     * Creates the maps, loads LSMAC's program for an interface and attaches it.
     *
     * @param namespace where the interface is; null for the process's own network namespace
     * @param ifindex the interface's index in that namespace
     * @param mac the interface's MAC, written as the source of every frame the fast path sends
     */
    public static XdpFlowOffload attachLsmac(NetworkNamespace namespace, String interfaceName, int ifindex, long mac,
            OffloadSettings settings, int maxBackendId, DispatchContext context) throws BpfException {
        Placement placement = Placement.of(context, settings.placeNewFlows());
        FastPathMaps maps = FastPathMaps.create(settings.maxFlows(), maxBackendId, placement.slots());
        BpfProgram program = null;
        BpfRingBuffer ring = null;
        try {
            boolean places = placement.slots() > 0;
            program = BpfProgram.loadXdp("lsmac_fastpath", LsmacXdpProgram.assemble(maps, mac, places));
            ring = places ? BpfRingBuffer.map(maps.ring(), FastPathMaps.RING_SIZE) : null;
            int flags = settings.attach() == OffloadSettings.Attach.NATIVE ? XdpLink.DRV_MODE : XdpLink.SKB_MODE;
            BpfProgram loaded = program;
            XdpLink link = namespace == null ? XdpLink.attach(loaded, ifindex, interfaceName, flags)
                    : inNamespace(namespace, () -> XdpLink.attach(loaded, ifindex, interfaceName, flags));
            return new XdpFlowOffload(interfaceName, maps, program, link, maxBackendId, placement, ring);
        } catch (BpfException | RuntimeException e) {
            if (ring != null) {
                ring.close();
            }
            if (program != null) {
                program.close();
            }
            maps.close();
            throw e;
        }
    }

    /**
     * Whether LSMAC's fast path would load here: creates small maps and loads the program, attaching nothing.
     *
     * @throws BpfException what stops it, with the verifier's log or the missing capability
     */
    public static void probe() throws BpfException {
        try (FastPathMaps maps = FastPathMaps.create(16, 15, 17);
                BpfProgram ignored = BpfProgram.loadXdp("lsmac_probe", LsmacXdpProgram.assemble(maps, 0, true))) {
            // Loaded and verified: that is all a probe asks.
        }
    }

    private interface Attach {
        XdpLink attach() throws BpfException;
    }

    private static XdpLink inNamespace(NetworkNamespace namespace, Attach attach) throws BpfException {
        try {
            return namespace.run(() -> {
                try {
                    return attach.attach();
                } catch (BpfException e) {
                    throw new IOException(e);
                }
            });
        } catch (IOException e) {
            if (e.getCause() instanceof BpfException bpf) {
                throw bpf;
            }
            throw new IllegalStateException("cannot enter network namespace " + namespace.name() + " to attach the"
                    + " fast path: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean install(Packet packet) {
        Backend backend = packet.backend();
        publish(backend);
        FastPathMaps.writeKey(flows.key(), packet.protocol(), packet.sourceAddress(), packet.sourcePort(),
                packet.destinationAddress(), packet.destinationPort());
        MemorySegment value = flows.value();
        value.set(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_BACKEND, backend.id());
        value.set(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_LAST_SEEN, System.nanoTime());
        int result = flows.update(Bpf.ANY);
        if (result == 0) {
            events.increment(INSTALLED);
            return true;
        }
        events.increment(result == -Bpf.E2BIG ? MAP_FULL : INSTALL_FAILED);
        return false;
    }

    @Override
    public void remove(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        FastPathMaps.writeKey(flows.key(), protocol, sourceAddress, sourcePort, destinationAddress, destinationPort);
        if (flows.delete() == 0) {
            events.increment(REMOVED);
        }
    }

    @Override
    public long idleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        FastPathMaps.writeKey(flows.key(), protocol, sourceAddress, sourcePort, destinationAddress, destinationPort);
        if (flows.lookup() != 0) {
            return -1;
        }
        return Math.max(0, System.nanoTime() - flows.value().get(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_LAST_SEEN));
    }

    @Override
    public void sync(DispatchContext context) {
        round++;
        for (Service service : context.services().services()) {
            for (Backend backend : service.pool().all()) {
                publish(backend);
                seenInRound[backend.id()] = round;
            }
        }
        for (int id = 0; id < published.length; id++) {
            if (seenInRound[id] != round && published[id] != -1 && (published[id] & UP) != 0) {
                write(id, published[id] & ~UP);
            }
        }
        for (Service service : context.services().services()) {
            if (tableOffset[service.index()] >= 0) {
                publishTable(service, context.scheduler(service));
            }
        }
    }

    /**
     * Writes a placed service's Maglev table when its pool or scheduler changed, then its vips entry; withdraws
     * the entry when the scheduler has no table of the allocated size (a reload to another scheduler), so that
     * its SYNs go to the pipeline again.
     */
    private void publishTable(Service service, Scheduler scheduler) {
        int index = service.index();
        BackendPool pool = service.pool();
        if (publishedPool[index] == pool && publishedScheduler[index] == scheduler) {
            return;
        }
        FastPathMaps.writeVip(vips.key(), service.address(), service.port(), service.protocol());
        int[] table = scheduler.flowTableSize() == tableSize[index] ? scheduler.flowTable(pool) : null;
        try {
            if (table == null) {
                vips.delete();
            } else {
                maps.maglev().putAll(tableOffset[index], table);
                MemorySegment value = vips.value();
                value.set(ValueLayout.JAVA_INT, FastPathMaps.VIP_OFFSET, tableOffset[index]);
                value.set(ValueLayout.JAVA_INT, FastPathMaps.VIP_SIZE, table.length);
                value.set(ValueLayout.JAVA_INT, FastPathMaps.VIP_SERVICE, index);
                value.set(ValueLayout.JAVA_INT, 12, 0);
                vips.put(Bpf.ANY);
            }
            publishedPool[index] = pool;
            publishedScheduler[index] = scheduler;
        } catch (BpfException e) {
            LOG.warn("{}: cannot publish service {}'s table to the fast path, its SYNs go to the pipeline: {}",
                    interfaceName, service.name(), e.getMessage());
            vips.delete();
        }
    }

    @Override
    public void learn(DispatchContext context) {
        if (ring != null && ring.hasRecords()) {
            learning = context;
            ring.drain(learner);
            learning = null;
        }
    }

    /**
     * One flow the program placed: recorded as a half-open, offloaded session on the backend the program chose,
     * which the table promotes once the fast path has carried it past its opening. A flow the table cannot take
     * (full, or its backend already gone) is taken back from the kernel, so that its next packet reaches the
     * pipeline, which continues it.
     */
    private void learnOne(MemorySegment data, long offset, int length) {
        DispatchContext context = learning;
        learnt.set(data.get(ValueLayout.JAVA_BYTE, offset + 12) & 0xFF, data.get(INT_BE, offset),
                data.get(SHORT_BE, offset + 8) & 0xFFFF, data.get(INT_BE, offset + 4),
                data.get(SHORT_BE, offset + 10) & 0xFFFF);
        int backendId = data.get(ValueLayout.JAVA_INT_UNALIGNED, offset + 16);
        Service service = context.services().byIndex(data.get(ValueLayout.JAVA_INT_UNALIGNED, offset + 20));
        Backend backend = service == null ? null : service.pool().byId(backendId);
        SessionTable sessions = context.sessions();
        int now = context.now();
        if (sessions.lookup(learnt, now) >= 0) {
            return;
        }
        int slot = backend == null || sessions.isFull() && !sessions.evictHalfOpen() ? -1
                : sessions.insert(learnt, service.index(), backendId, now);
        if (slot < 0) {
            remove(learnt.protocol(), learnt.sourceAddress(), learnt.sourcePort(), learnt.destinationAddress(),
                    learnt.destinationPort());
            return;
        }
        sessions.markOffloaded(slot);
        context.scheduler(service).sessionOpened(backend);
        context.counters().sessionOpened(backendId);
        events.increment(PLACED);
    }

    /** Writes a backend's entry if it changed: its MAC, and up unless it is down or its MAC unknown. */
    private void publish(Backend backend) {
        boolean up = backend.state() != BackendState.DOWN && backend.mac() != MacAddress.UNKNOWN;
        long entry = (backend.mac() & MAC_MASK) | (up ? UP : 0);
        if (published[backend.id()] != entry) {
            write(backend.id(), entry);
        }
    }

    private void write(int id, long entry) {
        backends.key().set(ValueLayout.JAVA_INT, 0, id);
        FastPathMaps.writeBackend(backends.value(), entry & MAC_MASK, (entry & UP) != 0);
        if (backends.update(Bpf.ANY) == 0) {
            published[id] = entry;
        }
    }

    /** Packets and bytes the fast path sent to a backend, summed over the CPUs. Any thread; it allocates. */
    public BackendTraffic backendTraffic(int backendId) {
        try (Arena arena = Arena.ofConfined()) {
            BpfMap.Accessor stats = maps.stats().accessor(arena);
            stats.key().set(ValueLayout.JAVA_INT, 0, backendId);
            if (closed.get() || stats.lookup() != 0) {
                return new BackendTraffic(0, 0);
            }
            long packets = 0;
            long bytes = 0;
            MemorySegment values = stats.value();
            for (long offset = 0; offset < values.byteSize(); offset += FastPathMaps.STATS_SIZE) {
                packets += values.get(ValueLayout.JAVA_LONG, offset);
                bytes += values.get(ValueLayout.JAVA_LONG, offset + 8);
            }
            return new BackendTraffic(packets, bytes);
        }
    }

    /** Packets and bytes the fast path carried for one backend. */
    public record BackendTraffic(long packets, long bytes) {
    }

    /**
     * Flows installed, removed, refused for a full map, refused otherwise, and placed by the program
     * ({@link #INSTALLED} ...); any thread.
     */
    public long flowEvents(int event) {
        return events.get(event);
    }

    /** Flows the fast path holds now: installed or placed, and not yet removed. */
    public long flows() {
        return events.get(INSTALLED) + events.get(PLACED) - events.get(REMOVED);
    }

    public String interfaceName() {
        return interfaceName;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            link.close();
            program.close();
            if (ring != null) {
                ring.close();
            }
            maps.close();
        }
    }

    @Override
    public String toString() {
        return "XDP fast path on " + interfaceName;
    }
}

package io.loadshare.offload;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Packet;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.session.SessionTable;
import io.loadshare.offload.bpf.Bpf;
import io.loadshare.offload.bpf.BpfException;
import io.loadshare.offload.bpf.BpfLink;
import io.loadshare.offload.bpf.BpfMap;
import io.loadshare.offload.bpf.BpfProgram;
import io.loadshare.offload.bpf.BpfRingBuffer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LSMAC's fast path on one interface: {@link LsmacXdpProgram} attached by a BPF link, and the pipeline's side of
 * its maps ({@link FastPathMaps}). Sessions handed over and ended are gathered and sent once per read batch
 * ({@link #flush}), ending in the state the pipeline decided, so that a flow ended and reopened within one batch
 * cannot leave a stale entry behind.
 */
public final class XdpFlowOffload extends KernelFlowOffload {
    private static final Logger LOG = LoggerFactory.getLogger(XdpFlowOffload.class);
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

    private XdpFlowOffload(String interfaceName, FastPathMaps maps, BpfProgram program, BpfLink link,
            int maxBackendId, Placement placement, BpfRingBuffer ring) {
        super(interfaceName, maps, program, List.of(link), maxBackendId, 1);
        this.vips = maps.vips().accessor(Arena.ofAuto());
        this.tableOffset = placement.offsets;
        this.tableSize = placement.sizes;
        this.publishedPool = new Object[tableOffset.length];
        this.publishedScheduler = new Object[tableOffset.length];
        this.ring = ring;
    }

    private XdpFlowOffload(XdpFlowOffload attached) {
        super(attached);
        this.vips = maps.vips().accessor(Arena.ofAuto());
        this.tableOffset = new int[attached.tableOffset.length];
        Arrays.fill(tableOffset, -1);
        this.tableSize = new int[tableOffset.length];
        this.publishedPool = new Object[tableOffset.length];
        this.publishedScheduler = new Object[tableOffset.length];
        this.ring = null;
    }

    @Override
    public XdpFlowOffload forWorker(DispatchContext context) {
        if (ring != null) {
            throw new IllegalStateException("the XDP program reports the flows it places to one worker: with"
                    + " several workers, set " + OffloadSettings.ROOT + ".place-new-flows = false");
        }
        return new XdpFlowOffload(this);
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
     * @param point the interface; its MAC is written as the source of every frame the fast path sends
     */
    public static XdpFlowOffload attachLsmac(NetworkNamespace namespace, AttachPoint point,
            OffloadSettings settings, int maxBackendId, DispatchContext context) throws BpfException {
        Placement placement = Placement.of(context, settings.placeNewFlows());
        FastPathMaps maps = FastPathMaps.create(settings.maxFlows(), FastPathMaps.FLOW_SIZE, maxBackendId,
                placement.slots());
        BpfProgram program = null;
        BpfRingBuffer ring = null;
        try {
            boolean places = placement.slots() > 0;
            program = BpfProgram.loadXdp("lsmac_fastpath", LsmacXdpProgram.assemble(maps, point.mac(), places));
            ring = places ? BpfRingBuffer.map(maps.ring(), FastPathMaps.RING_SIZE) : null;
            int flags = settings.attach() == OffloadSettings.Attach.NATIVE ? BpfLink.DRV_MODE : BpfLink.SKB_MODE;
            BpfProgram loaded = program;
            BpfLink link = attachIn(namespace, () -> BpfLink.attachXdp(loaded, point.index(), point.name(), flags));
            return new XdpFlowOffload(point.name(), maps, program, link, maxBackendId, placement, ring);
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
        try (FastPathMaps maps = FastPathMaps.create(16, FastPathMaps.FLOW_SIZE, 15, 17);
                BpfProgram ignored = BpfProgram.loadXdp("lsmac_probe", LsmacXdpProgram.assemble(maps, 0, true))) {
            // Loaded and verified: that is all a probe asks.
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
        // Not seen by the kernel yet: until it forwards a packet, the session's idleness is the table's own.
        value.set(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_LAST_SEEN, 0);
        return installLater();
    }

    @Override
    public void remove(int slot, int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        removeFlow(protocol, sourceAddress, sourcePort, destinationAddress, destinationPort);
    }

    private void removeFlow(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        FastPathMaps.writeKey(flows.key(), protocol, sourceAddress, sourcePort, destinationAddress, destinationPort);
        removeLater();
    }

    /** LSMAC carries the client's side alone. */
    @Override
    public long idleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        return clientIdleNanos(protocol, sourceAddress, sourcePort, destinationAddress, destinationPort);
    }

    @Override
    public void sync(DispatchContext context) {
        syncBackends(context);
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
                    interfaceName(), service.name(), e.getMessage());
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
        learnt.set(data.get(ValueLayout.JAVA_BYTE, offset + 12) & 0xFF, data.get(FastPathMaps.INT_BE, offset),
                data.get(FastPathMaps.SHORT_BE, offset + 8) & 0xFFFF, data.get(FastPathMaps.INT_BE, offset + 4),
                data.get(FastPathMaps.SHORT_BE, offset + 10) & 0xFFFF);
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
            removeFlow(learnt.protocol(), learnt.sourceAddress(), learnt.sourcePort(), learnt.destinationAddress(),
                    learnt.destinationPort());
            return;
        }
        sessions.markOffloaded(slot);
        context.scheduler(service).sessionOpened(backend);
        context.counters().sessionOpened(backendId);
        events.increment(PLACED);
    }

    @Override
    void closeMore() {
        if (ring != null) {
            ring.close();
        }
    }

    @Override
    public String hook() {
        return "XDP";
    }

    @Override
    public String toString() {
        return hook() + " fast path on " + interfaceName();
    }
}

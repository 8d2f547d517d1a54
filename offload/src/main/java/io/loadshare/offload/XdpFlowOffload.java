package io.loadshare.offload;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.metrics.LongCounters;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.offload.FlowOffload;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.Packet;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
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
    private final LongCounters events = new LongCounters(4);
    private final AtomicBoolean closed = new AtomicBoolean();

    private XdpFlowOffload(String interfaceName, FastPathMaps maps, BpfProgram program, XdpLink link,
            int maxBackendId) {
        this.interfaceName = interfaceName;
        this.maps = maps;
        this.program = program;
        this.link = link;
        // Small, and freed only once unreachable: a data-path call racing close() never touches freed memory.
        Arena arena = Arena.ofAuto();
        this.flows = maps.flows().accessor(arena);
        this.backends = maps.backends().accessor(arena);
        this.published = new long[maxBackendId + 1];
        this.seenInRound = new int[maxBackendId + 1];
        Arrays.fill(published, -1);
    }

    /**
     * Creates the maps, loads LSMAC's program for an interface and attaches it.
     *
     * @param namespace where the interface is; null for the process's own network namespace
     * @param ifindex the interface's index in that namespace
     * @param mac the interface's MAC, written as the source of every frame the fast path sends
     */
    public static XdpFlowOffload attachLsmac(NetworkNamespace namespace, String interfaceName, int ifindex, long mac,
            OffloadSettings settings, int maxBackendId) throws BpfException {
        FastPathMaps maps = FastPathMaps.create(settings.maxFlows(), maxBackendId);
        BpfProgram program = null;
        try {
            program = BpfProgram.loadXdp("lsmac_fastpath", LsmacXdpProgram.assemble(maps, mac));
            int flags = settings.attach() == OffloadSettings.Attach.NATIVE ? XdpLink.DRV_MODE : XdpLink.SKB_MODE;
            BpfProgram loaded = program;
            XdpLink link = namespace == null ? XdpLink.attach(loaded, ifindex, interfaceName, flags)
                    : inNamespace(namespace, () -> XdpLink.attach(loaded, ifindex, interfaceName, flags));
            return new XdpFlowOffload(interfaceName, maps, program, link, maxBackendId);
        } catch (BpfException | RuntimeException e) {
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
        try (FastPathMaps maps = FastPathMaps.create(16, 15);
                BpfProgram ignored = BpfProgram.loadXdp("lsmac_probe", LsmacXdpProgram.assemble(maps, 0))) {
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
    public void syncBackends(ServiceTable services) {
        round++;
        for (Service service : services.services()) {
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

    /** Flows installed, removed, refused for a full map and refused otherwise ({@link #INSTALLED} ...); any thread. */
    public long flowEvents(int event) {
        return events.get(event);
    }

    /** Flows the fast path holds now: installed and not yet removed. */
    public long flows() {
        return events.get(INSTALLED) - events.get(REMOVED);
    }

    public String interfaceName() {
        return interfaceName;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            link.close();
            program.close();
            maps.close();
        }
    }

    @Override
    public String toString() {
        return "XDP fast path on " + interfaceName;
    }
}

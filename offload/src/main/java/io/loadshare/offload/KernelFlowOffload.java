package io.loadshare.offload;

import io.loadshare.core.pipeline.FlowOffload;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.metrics.LongCounters;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.offload.bpf.Bpf;
import io.loadshare.offload.bpf.BpfException;
import io.loadshare.offload.bpf.BpfLink;
import io.loadshare.offload.bpf.BpfMap;
import io.loadshare.offload.bpf.BpfProgram;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What both fast paths share: their maps ({@link FastPathMaps}), program and links, the backends' entries the
 * program reads (kept in line with the pools at every sweep), the flow events and the per-backend counters. LSMAC's
 * is {@link XdpFlowOffload}, LSNAT's {@link TcFlowOffload}.
 *
 * <p>The data-path methods run on the dispatch context's event loop, with segments allocated once. The counters
 * ({@link #backendTraffic}, {@link #flowEvents}) may be read from any thread.
 *
 * <p>With several workers, the first worker's fast path is attached, and each other worker gets a view of it
 * ({@link #forWorker}): the same program and maps (a flow belongs to the one worker its packets are steered to, so
 * workers never write the same key), with the worker's own segments, batch and flow events.
 */
public abstract sealed class KernelFlowOffload implements FlowOffload permits XdpFlowOffload, TcFlowOffload {
    /** Flow events, as indexes of {@link #flowEvents}. */
    public static final int INSTALLED = 0;
    public static final int REMOVED = 1;
    public static final int MAP_FULL = 2;
    public static final int INSTALL_FAILED = 3;
    /** Flows the program placed itself and the session table learnt of. */
    public static final int PLACED = 4;
    /** Entries whose delete failed for another reason than being gone already. */
    public static final int REMOVE_FAILED = 5;
    private static final long UP = 1L << 48;
    private static final long MAC_MASK = 0xFFFF_FFFF_FFFFL;
    /** Installs (and removals) gathered before a flush; a read batch of the transport is at most 64 frames. */
    private static final int BATCH = 256;

    private final String interfaceName;
    final FastPathMaps maps;
    private final BpfProgram program;
    private final List<BpfLink> links;
    /** This fast path's views, one per worker, the attached one first; they share {@link #closed} and {@link #open}. */
    private final List<KernelFlowOffload> views;
    /** Views not closed yet: the last one to close detaches the program and closes the maps. */
    private final AtomicInteger open;
    private final AtomicBoolean viewClosed = new AtomicBoolean();
    final BpfMap.Accessor flows;
    /** Installs and removals gathered from {@link #flows} until {@link #flush}. */
    private final BpfMap.Batch pending;
    /** Entries of the flows map a session takes: one, or one per direction. */
    private final int entriesPerFlow;
    private final BpfMap.Accessor backends;
    /** Per backend id, the entry last written: MAC | UP, or -1 before the first write. */
    private final long[] published;
    /** Per backend id, the sync round that last found it in a pool. */
    private final int[] seenInRound;
    private int round;
    final LongCounters events = new LongCounters(6);
    private final AtomicBoolean closed;

    KernelFlowOffload(String interfaceName, FastPathMaps maps, BpfProgram program, List<BpfLink> links,
            int maxBackendId, int entriesPerFlow) {
        this(interfaceName, maps, program, List.copyOf(links), maxBackendId, entriesPerFlow, new AtomicBoolean(),
                new CopyOnWriteArrayList<>(), new AtomicInteger());
    }

    /** Another worker's view of {@code attached}: shared program, maps and links; its own segments and counters. */
    KernelFlowOffload(KernelFlowOffload attached) {
        this(attached.interfaceName, attached.maps, attached.program, attached.links, attached.published.length - 1,
                attached.entriesPerFlow, attached.closed, attached.views, attached.open);
    }

    private KernelFlowOffload(String interfaceName, FastPathMaps maps, BpfProgram program, List<BpfLink> links,
            int maxBackendId, int entriesPerFlow, AtomicBoolean closed, List<KernelFlowOffload> views,
            AtomicInteger open) {
        this.interfaceName = interfaceName;
        this.entriesPerFlow = entriesPerFlow;
        this.maps = maps;
        this.program = program;
        this.links = links;
        this.closed = closed;
        this.views = views;
        this.open = open;
        open.incrementAndGet();
        // Small, and freed only once unreachable: a data-path call racing close() never touches freed memory.
        Arena arena = Arena.ofAuto();
        this.flows = maps.flows().accessor(arena);
        this.pending = maps.flows().batch(arena, BATCH);
        this.backends = maps.backends().accessor(arena);
        this.published = new long[maxBackendId + 1];
        this.seenInRound = new int[maxBackendId + 1];
        Arrays.fill(published, -1);
        views.add(this);
    }

    /**
     * The fast path as another worker's dispatch context uses it, for a dispatcher whose workers share the
     * interfaces ({@code PACKET_FANOUT}); hand it to that context on its event loop. The fast path stays attached
     * until every view is closed: a worker that stops first leaves the others their program and maps.
     *
     * @throws IllegalStateException when the program places new flows, which it reports to one worker only
     */
    public abstract KernelFlowOffload forWorker(DispatchContext context);

    /** An attach call that may need to run inside a network namespace. */
    interface Attach {
        BpfLink attach() throws BpfException;
    }

    /** Attaches in {@code namespace}, or in the process's own network namespace when it is null. */
    static BpfLink attachIn(NetworkNamespace namespace, Attach attach) throws BpfException {
        if (namespace == null) {
            return attach.attach();
        }
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

    /** Writes the backends' entries for the pools as they are now: MACs, and whether each takes packets. */
    final void syncBackends(DispatchContext context) {
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
    }

    /** Writes a backend's entry if it changed: its MAC, and up unless it is down or its MAC unknown. */
    final void publish(Backend backend) {
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

    /** Gathers the write of {@link #flows}'s key and value, sent at the next {@link #flush}. */
    final boolean installLater() {
        pending.update(flows);
        return true;
    }

    /** Gathers the delete of {@link #flows}'s key, sent at the next {@link #flush}. */
    final void removeLater() {
        pending.delete(flows);
    }

    /** Whether installs or removals wait for {@link #flush}. */
    final boolean hasPending() {
        return !pending.isEmpty();
    }

    /**
     * Sends the gathered removals, then the installs, in a system call each, and counts what the kernel did. A
     * flow the map refuses (full) stays in the pipeline, which carries its packets as before, and is counted.
     */
    @Override
    public final void flush() {
        if (!pending.isEmpty()) {
            pending.flush();
        }
        // Also what the batch sent when it filled up. Counted in flows; a flow with both entries refused counts once.
        int written = pending.takeWritten();
        if (written > 0) {
            events.add(INSTALLED, written / entriesPerFlow);
        }
        int deleted = pending.takeDeleted();
        if (deleted > 0) {
            events.add(REMOVED, deleted / entriesPerFlow);
        }
        int failedDeletes = pending.takeFailedDeletes();
        if (failedDeletes > 0) {
            events.add(REMOVE_FAILED, failedDeletes);
        }
        int refused = pending.takeRefused();
        if (refused > 0) {
            events.add(pending.lastRefusal() == Bpf.E2BIG ? MAP_FULL : INSTALL_FAILED,
                    (refused + entriesPerFlow - 1) / entriesPerFlow);
        }
    }

    /**
     * The client's side: the flow's own key in both programs (LSMAC's flows and LSNAT's request entries).
     */
    @Override
    public final long clientIdleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        FastPathMaps.writeKey(flows.key(), protocol, sourceAddress, sourcePort, destinationAddress, destinationPort);
        return idleOfKey();
    }

    /**
     * Nanoseconds since the flow the key segment of {@link #flows} names was last carried, or -1 when the map holds
     * no such flow or it carried none of its packets.
     */
    final long idleOfKey() {
        return flows.lookup() != 0 ? -1 : idleOfValue();
    }

    /** {@link #idleOfKey} of the entry the last lookup found. */
    final long idleOfValue() {
        long lastSeen = flows.value().get(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_LAST_SEEN);
        // 0: installed or placed, but no packet carried since.
        return lastSeen == 0 ? -1 : Math.max(0, System.nanoTime() - lastSeen);
    }

    /** Packets and bytes the fast path carried for a backend, summed over the CPUs. Any thread; it allocates. */
    public BackendTraffic backendTraffic(int backendId) {
        if (closed.get()) {
            return new BackendTraffic(0, 0);
        }
        try (Arena arena = Arena.ofConfined()) {
            long[] sums = FastPathMaps.backendStats(maps.stats().accessor(arena), backendId);
            return new BackendTraffic(sums[0], sums[1]);
        }
    }

    /** Packets and bytes the fast path carried for one backend. */
    public record BackendTraffic(long packets, long bytes) {
    }

    /**
     * Flows installed, removed, refused for a full map, refused otherwise, and placed by the program
     * ({@link #INSTALLED} ...), over every worker; any thread.
     */
    public long flowEvents(int event) {
        long sum = 0;
        for (KernelFlowOffload view : views) {
            sum += view.events.get(event);
        }
        return sum;
    }

    /** {@link #flowEvents} of this view's worker alone; any thread. */
    public long workerFlowEvents(int event) {
        return events.get(event);
    }

    /** Flows the fast path holds now: installed or placed, and not yet removed. */
    public long flows() {
        return flowEvents(INSTALLED) + flowEvents(PLACED) - flowEvents(REMOVED);
    }

    /** Where the program runs: {@code XDP} or {@code tc}. */
    public abstract String hook();

    /** The interfaces the program is attached to, comma-separated. */
    public String interfaceName() {
        return interfaceName;
    }

    /** Releases what a subclass holds beyond the maps, program and links; called once, by {@link #close}. */
    void closeMore() {
    }

    /** Closes this worker's view; the last view to close detaches the program and closes the shared maps. */
    @Override
    public final void close() {
        if (viewClosed.compareAndSet(false, true) && open.decrementAndGet() == 0 && closed.compareAndSet(false, true)) {
            links.forEach(BpfLink::close);
            program.close();
            views.getFirst().closeMore();
            maps.close();
        }
    }
}

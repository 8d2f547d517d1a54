package io.loadshare.distribution;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.session.SessionState;
import io.loadshare.offload.KernelFlowOffload;
import io.loadshare.sync.SyncStatus;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.RawSocketStats;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import java.util.function.IntToLongFunction;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * What the control plane shows of a running dispatcher: Prometheus metrics and the JSON status behind
 * {@code loadshare status}. Reads the data plane's counters and pool snapshots from its own thread, without locks:
 * counters are single-writer with opaque reads, pools immutable.
 */
final class DispatcherView {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Labels of {@link KernelFlowOffload#flowEvents}, by index. */
    private static final String[] FLOW_EVENTS = {"installed", "removed", "map-full", "failed", "placed",
        "remove-failed"};

    private final List<Service> services;
    /** Every worker's data-plane state, in worker order. */
    private final List<DispatchContext> workers;
    /** The running configuration's services, which a reload replaces. */
    private final Supplier<List<DispatcherConfig.ServiceConfig>> configs;
    private final DataPlaneTotals counters;
    private final List<Socket> sockets;
    /** The fast path, or null. */
    private final KernelFlowOffload offload;
    /** Whether each service address is announced, by address; empty when nothing is announced. */
    private final Supplier<java.util.Map<String, Boolean>> announced;
    /** Session sync's state, or null when sessions are kept nowhere else. */
    private final Supplier<SyncStatus> sync;
    private final PrometheusRegistry registry = new PrometheusRegistry();

    /** A raw socket and the worker whose event loop reads it. */
    record Socket(RawSocketChannel channel, int worker) {
    }

    DispatcherView(List<Service> services, Supplier<List<DispatcherConfig.ServiceConfig>> configs,
            List<DispatchContext> workers, List<Socket> sockets, KernelFlowOffload offload,
            Supplier<java.util.Map<String, Boolean>> announced, Supplier<SyncStatus> sync) {
        this.services = services;
        this.workers = List.copyOf(workers);
        this.sync = sync;
        this.offload = offload;
        this.announced = announced;
        this.sockets = List.copyOf(sockets);
        this.configs = configs;
        this.counters = new DataPlaneTotals(workers);
        register();
    }

    PrometheusRegistry registry() {
        return registry;
    }

    /** The services, in index order. */
    List<Service> services() {
        return services;
    }

    /** Every worker's data-plane state, in worker order: their loops own it. */
    List<DispatchContext> workers() {
        return workers;
    }

    private void register() {
        backendCounter("loadshare_backend_packets", "Frames forwarded to a backend.", counters::packets);
        backendCounter("loadshare_backend_bytes", "Bytes forwarded to a backend.", counters::bytes);
        backendCounter("loadshare_backend_sessions_opened", "Sessions given to a backend.", counters::sessionsOpened);
        GaugeWithCallback.builder().name("loadshare_backend_sessions_active").help("Sessions a backend holds now.")
                .labelNames("service", "backend").callback(cb -> eachBackend((service, backend) -> cb.call(
                        counters.activeSessions(backend.id()), service.name(), name(service, backend))))
                .register(registry);
        GaugeWithCallback.builder().name("loadshare_backend_weight")
                .help("A backend's weight: its relative share of new sessions under weighted schedulers.")
                .labelNames("service", "backend").callback(cb -> eachBackend((service, backend) -> cb.call(
                        backend.weight(), service.name(), name(service, backend)))).register(registry);
        GaugeWithCallback.builder().name("loadshare_backend_up")
                .help("1 when a backend takes new sessions (active, weight above 0), else 0.")
                .labelNames("service", "backend", "state").callback(cb -> eachBackend((service, backend) -> cb.call(
                        backend.isAvailable() ? 1 : 0, service.name(), name(service, backend),
                        backend.state().label())))
                .register(registry);
        CounterWithCallback.builder().name("loadshare_drops").help("Frames the data path dropped, by reason.")
                .labelNames("reason").callback(cb -> {
                    for (DropReason reason : DropReason.values()) {
                        cb.call(counters.drops(reason), reason.label());
                    }
                }).register(registry);
        CounterWithCallback.builder().name("loadshare_control_events")
                .help("What the dispatcher refused, held back or survived outside forwarding, by event.")
                .labelNames("event").callback(cb -> {
                    for (ControlEvent event : ControlEvent.values()) {
                        cb.call(counters.events(event), event.label());
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("loadshare_sessions").help("Sessions in the table, by state.")
                .labelNames("state").callback(cb -> {
                    for (int state = 1; state < SessionState.LIMIT; state++) {
                        cb.call(counters.sessionsIn(state), SessionState.name(state));
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("loadshare_persistence_templates")
                .help("Persistence templates held: clients (or client networks) that stick to a backend.")
                .callback(cb -> cb.call(counters.persistenceTemplates())).register(registry);
        GaugeWithCallback.builder().name("loadshare_session_table_pressure")
                .help("1 while the session table is above its pressure watermark (half-open sessions live briefly).")
                .callback(cb -> cb.call(counters.underPressure() ? 1 : 0)).register(registry);
        socketCounter("loadshare_socket_received_frames", "Frames a raw socket read.", RawSocketStats::receivedFrames);
        socketCounter("loadshare_socket_received_bytes", "Bytes a raw socket read.", RawSocketStats::receivedBytes);
        socketCounter("loadshare_socket_received_oversize", "Frames longer than max-frame-size, skipped.",
                RawSocketStats::receivedOversize);
        socketCounter("loadshare_socket_received_other_vlan", "Frames of another VLAN than the socket's, skipped.",
                RawSocketStats::receivedOtherVlan);
        socketCounter("loadshare_socket_sent_frames", "Frames a raw socket sent.", RawSocketStats::sentFrames);
        socketCounter("loadshare_socket_sent_bytes", "Bytes a raw socket sent.", RawSocketStats::sentBytes);
        socketCounter("loadshare_socket_send_oversize", "Frames the kernel refused as too long for the interface.",
                RawSocketStats::sendOversizeDrops);
        socketCounter("loadshare_socket_send_no_buffers", "Frames the kernel refused for want of buffers.",
                RawSocketStats::sendNoBufferDrops);
        socketCounter("loadshare_socket_send_errors", "Frames a send failed for another reason.",
                RawSocketStats::sendErrors);
        socketCounter("loadshare_socket_send_blocked", "Times a send found the socket's queue full and waited.",
                RawSocketStats::sendBlocked);
        socketCounter("loadshare_socket_wake_ups", "Times the event loop woke to read a raw socket.",
                RawSocketStats::wakeUps);
        socketCounter("loadshare_socket_receive_calls", "recvmmsg system calls (a ring needs none but for frames"
                + " too big for its slots).", RawSocketStats::receiveCalls);
        socketCounter("loadshare_socket_send_calls", "sendmmsg system calls, failed ones included.",
                RawSocketStats::sendCalls);
        socketHistogram("loadshare_socket_frames_per_wake_up", "Frames a raw socket read per wake-up: how many"
                + " frames share the cost of one epoll wake-up.", RawSocketStats::wakeUpFrames, stats ->
                        stats::wakeUpsReading);
        socketHistogram("loadshare_socket_frames_per_send_call", "Frames one sendmmsg call sent.",
                RawSocketStats::sendCallFrames, stats -> stats::sendCallsSending);
        socketCounter("loadshare_socket_kernel_packets", "Frames the kernel handed the socket (PACKET_STATISTICS).",
                RawSocketStats::kernelPackets);
        socketCounter("loadshare_socket_kernel_drops", "Frames the kernel dropped because the socket's queue was"
                + " full (PACKET_STATISTICS): lost before the dispatcher saw them.", RawSocketStats::kernelDrops);
        backendCounter("loadshare_offload_backend_packets", "Frames the in-kernel fast path carried for a backend"
                + " (LSNAT: both directions).",
                id -> offload == null ? 0 : offload.backendTraffic(id).packets());
        backendCounter("loadshare_offload_backend_bytes", "Bytes the in-kernel fast path carried for a backend"
                + " (LSNAT: both directions).",
                id -> offload == null ? 0 : offload.backendTraffic(id).bytes());
        CounterWithCallback.builder().name("loadshare_offload_flow_events")
                .help("Flows handed to the fast path (installed), placed by it (placed), taken back (removed), or refused"
                        + " (map-full, failed).")
                .labelNames("event").callback(cb -> {
                    for (int event = 0; event < FLOW_EVENTS.length; event++) {
                        cb.call(offload == null ? 0 : offload.flowEvents(event), FLOW_EVENTS[event]);
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("loadshare_offload_flows").help("Flows the fast path carries now.")
                .callback(cb -> cb.call(offload == null ? 0 : offload.flows())).register(registry);
        GaugeWithCallback.builder().name("loadshare_announced")
                .help("1 while a service address is announced to the routing daemon (announce.enabled), else 0.")
                .labelNames("address").callback(cb -> announced.get().forEach((address, up) -> cb.call(up ? 1 : 0,
                        address))).register(registry);
        GaugeWithCallback.builder().name("loadshare_offload_enabled")
                .help("1 when the in-kernel fast path is attached, 0 when every packet goes through the pipeline.")
                .callback(cb -> cb.call(offload == null ? 0 : 1)).register(registry);
        if (sync != null) {
            registerSync();
        }
        CounterWithCallback.builder().name("loadshare_sessions_ended").help("Sessions that ended, by how.")
                .labelNames("end").callback(cb -> {
                    for (SessionEnd end : SessionEnd.values()) {
                        cb.call(counters.sessionsEnded(end), end.label());
                    }
                }).register(registry);
    }

    private interface SocketCounter {
        long read(RawSocketStats stats);
    }

    /** A counter per raw socket, labelled by interface, by what it receives (data, or arp) and by worker. */
    private void socketCounter(String name, String help, SocketCounter counter) {
        CounterWithCallback.builder().name(name).help(help).labelNames("interface", "socket", "worker").callback(cb -> {
            for (Socket socket : sockets) {
                RawSocketChannel channel = socket.channel();
                cb.call(counter.read(channel.stats()), String.valueOf(channel.localAddress()), socketKind(channel),
                        String.valueOf(socket.worker()));
            }
        }).register(registry);
    }

    /** A histogram of batch sizes per raw socket, from the socket's own (non-cumulative) bucket counters. */
    private void socketHistogram(String name, String help, SocketCounter sum,
            java.util.function.Function<RawSocketStats, IntToLongFunction> buckets) {
        double[] bounds = new double[RawSocketStats.BATCH_BUCKETS];
        for (int i = 0; i < bounds.length; i++) {
            bounds[i] = RawSocketStats.batchBucketBound(i);
        }
        registry.register(() -> {
            HistogramSnapshot.Builder histogram = HistogramSnapshot.builder().name(name).help(help);
            for (Socket socket : sockets) {
                RawSocketChannel channel = socket.channel();
                RawSocketStats stats = channel.stats();
                IntToLongFunction bucket = buckets.apply(stats);
                long[] counts = new long[bounds.length];
                for (int i = 0; i < counts.length; i++) {
                    counts[i] = bucket.applyAsLong(i);
                }
                histogram.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
                        .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, counts))
                        .sum(sum.read(stats))
                        .labels(Labels.of("interface", String.valueOf(channel.localAddress()), "socket",
                                socketKind(channel), "worker", String.valueOf(socket.worker())))
                        .build());
            }
            return histogram.build();
        });
    }

    private static String socketKind(RawSocketChannel channel) {
        return channel.etherType() == EtherType.ARP ? "arp" : "data";
    }

    /** Brings the kernel's PACKET_STATISTICS into every open socket's counters, on each socket's event loop. */
    void refreshKernelStatistics() {
        for (Socket socket : sockets) {
            RawSocketChannel channel = socket.channel();
            if (channel.isOpen()) {
                try {
                    channel.eventLoop().submit(channel::refreshKernelStatistics).get(1, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (ExecutionException | TimeoutException e) {
                    // Closing, or a loop too busy to answer: the figures of the last scrape stay.
                }
            }
        }
    }

    private interface BackendCounter {
        long read(int backendId);
    }

    private interface BackendVisitor {
        void visit(Service service, Backend backend);
    }

    private void backendCounter(String name, String help, BackendCounter counter) {
        CounterWithCallback.builder().name(name).help(help).labelNames("service", "backend")
                .callback(cb -> eachBackend((service, backend) -> cb.call(counter.read(backend.id()), service.name(),
                        name(service, backend)))).register(registry);
    }

    private void eachBackend(BackendVisitor visitor) {
        for (Service service : services) {
            for (Backend backend : service.pool().all()) {
                visitor.visit(service, backend);
            }
        }
    }

    /**
     * How metrics, {@code status} and {@code loadshare backend} name a backend: its address (and port), or, for one
     * discovered on the cluster address, its MAC, the one thing that tells discovered backends apart (and stays
     * the same across restarts).
     */
    private static String name(Service service, Backend backend) {
        if (backend.address() == service.address()) {
            return MacAddress.format(backend.mac());
        }
        return Ipv4Address.format(backend.address()) + (backend.port() == 0 ? "" : ":" + backend.port());
    }

    /**
     * Overrides a backend's state at run time, as an operator draining it does.
     *
     * @param backend the backend's address (and port, as {@code /status} shows it)
     * @param state draining, down, or source (back to what ARP or the configuration says)
     * @return null on success, else what was wrong
     */
    String setState(String serviceName, String backend, String state) {
        BackendState target = switch (state) {
            case "draining" -> BackendState.DRAINING;
            case "down" -> BackendState.DOWN;
            case "source" -> null;
            default -> BackendState.ACTIVE;
        };
        if (target == BackendState.ACTIVE) {
            return "state must be draining, down or source, not '" + state + "'";
        }
        return onBackend(serviceName, backend, (service, found) -> service.override(found.id(), target));
    }

    /**
     * Overrides a backend's weight at run time.
     *
     * @param weight 0..65535, or source (back to the configured weight)
     * @return null on success, else what was wrong
     */
    String setWeight(String serviceName, String backend, String weight) {
        Integer target;
        try {
            target = weight.equals("source") ? null : Integer.valueOf(weight);
        } catch (NumberFormatException e) {
            target = -1;
        }
        if (target != null && (target < 0 || target > Backend.MAX_WEIGHT)) {
            return "weight must be 0.." + Backend.MAX_WEIGHT + " or source, not '" + weight + "'";
        }
        Integer value = target;
        return onBackend(serviceName, backend, (service, found) -> service.overrideWeight(found.id(), value));
    }

    private interface BackendAction {
        void apply(Service service, Backend backend);
    }

    /**
     * Finds one backend of a service, by the name {@code status} shows (address, address:port, or the MAC of a
     * discovered one), or by its MAC, and acts on it.
     */
    private String onBackend(String serviceName, String backend, BackendAction action) {
        for (Service service : services) {
            if (service.name().equals(serviceName)) {
                List<Backend> matches = service.pool().all().stream()
                        .filter(candidate -> name(service, candidate).equals(backend)
                                || MacAddress.format(candidate.mac()).equalsIgnoreCase(backend))
                        .toList();
                if (matches.size() == 1) {
                    action.apply(service, matches.getFirst());
                    return null;
                }
                return matches.isEmpty() ? "service " + serviceName + " has no backend " + backend
                        : "service " + serviceName + " has " + matches.size() + " backends at " + backend
                                + "; name one by its MAC";
            }
        }
        return "no service named '" + serviceName + "'";
    }

    /** The JSON document {@code loadshare status} prints. */
    String status() {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode serviceNodes = root.putArray("services");
        for (Service service : services) {
            ObjectNode node = serviceNodes.addObject();
            node.put("name", service.name());
            node.put("protocol", IpProtocol.name(service.protocol()));
            node.put("address", Ipv4Address.format(service.address()));
            node.put("port", service.port());
            node.put("scheduler", configs.get().get(service.index()).scheduler());
            ArrayNode backends = node.putArray("backends");
            for (Backend backend : service.pool().all()) {
                ObjectNode b = backends.addObject();
                b.put("id", backend.id());
                b.put("address", name(service, backend));
                b.put("mac", MacAddress.format(backend.mac()));
                b.put("weight", backend.weight());
                b.put("state", backend.state().label());
                b.put("active", counters.activeSessions(backend.id()));
                b.put("sessions", counters.sessionsOpened(backend.id()));
                KernelFlowOffload.BackendTraffic fast = offload == null ? new KernelFlowOffload.BackendTraffic(0, 0)
                        : offload.backendTraffic(backend.id());
                b.put("packets", counters.packets(backend.id()) + fast.packets());
                b.put("bytes", counters.bytes(backend.id()) + fast.bytes());
                b.put("fast_path_packets", fast.packets());
                b.put("fast_path_bytes", fast.bytes());
            }
        }
        java.util.Map<String, Boolean> announcements = announced.get();
        if (!announcements.isEmpty()) {
            ObjectNode announce = root.putObject("announced");
            announcements.forEach(announce::put);
        }
        if (offload != null) {
            ObjectNode fastPath = root.putObject("fast_path");
            fastPath.put("hook", offload.hook());
            fastPath.put("interface", offload.interfaceName());
            fastPath.put("flows", offload.flows());
            for (int event = 0; event < FLOW_EVENTS.length; event++) {
                fastPath.put(FLOW_EVENTS[event], offload.flowEvents(event));
            }
        }
        if (sync != null) {
            syncStatus(root.putObject("sync"), sync.get());
        }
        ArrayNode socketNodes = root.putArray("sockets");
        for (Socket each : sockets) {
            RawSocketChannel channel = each.channel();
            RawSocketStats stats = channel.stats();
            ObjectNode socket = socketNodes.addObject();
            socket.put("interface", String.valueOf(channel.localAddress()));
            socket.put("socket", socketKind(channel));
            socket.put("worker", each.worker());
            socket.put("received", stats.receivedFrames());
            socket.put("wake_ups", stats.wakeUps());
            socket.put("receive_calls", stats.receiveCalls());
            socket.put("sent", stats.sentFrames());
            socket.put("send_calls", stats.sendCalls());
            socket.put("send_blocked", stats.sendBlocked());
            socket.put("send_failed", stats.sendOversizeDrops() + stats.sendNoBufferDrops() + stats.sendErrors());
            socket.put("kernel_drops", stats.kernelDrops());
        }
        ObjectNode drops = root.putObject("drops");
        counters.dropsByReason().forEach(drops::put);
        return root.toPrettyString();
    }

    private void registerSync() {
        GaugeWithCallback.builder().name("loadshare_sync_standby_sessions")
                .help("Sessions held on standby: the peers' (session sync) and the previous process's.")
                .callback(cb -> cb.call(sync.get().standby())).register(registry);
        CounterWithCallback.builder().name("loadshare_sync_sessions_taken_over")
                .help("Standby sessions a packet took over.")
                .callback(cb -> cb.call(sync.get().takenOver())).register(registry);
        CounterWithCallback.builder().name("loadshare_sync_refused")
                .help("Sync messages refused, by reason; and standby sessions refused (store-full).")
                .labelNames("reason").callback(cb -> sync.get().refused().forEach((reason, n) -> cb.call(n, reason)))
                .register(registry);
        CounterWithCallback.builder().name("loadshare_sync_journal_dropped")
                .help("Session changes dropped because a worker's journal was full between two sends.")
                .callback(cb -> cb.call(sync.get().journalDropped())).register(registry);
        GaugeWithCallback.builder().name("loadshare_sync_peer_up")
                .help("1 while a peer's link to this dispatcher is up (its standby sessions live while it is).")
                .labelNames("peer").callback(cb -> sync.get().peers().forEach(p -> cb.call(p.receiving() ? 1 : 0,
                        p.address()))).register(registry);
        GaugeWithCallback.builder().name("loadshare_sync_peer_synced")
                .help("1 once a peer's full table has arrived on its current link.")
                .labelNames("peer").callback(cb -> sync.get().peers().forEach(p -> cb.call(p.synced() ? 1 : 0,
                        p.address()))).register(registry);
        CounterWithCallback.builder().name("loadshare_sync_sessions_sent")
                .help("Session records sent to a peer.")
                .labelNames("peer").callback(cb -> sync.get().peers().forEach(p -> cb.call(p.sessionsSent(),
                        p.address()))).register(registry);
        CounterWithCallback.builder().name("loadshare_sync_sessions_received")
                .help("Session records received from a peer.")
                .labelNames("peer").callback(cb -> sync.get().peers().forEach(p -> cb.call(p.sessionsReceived(),
                        p.address()))).register(registry);
        GaugeWithCallback.builder().name("loadshare_sync_peer_lag_seconds")
                .help("Seconds since a peer's last message (-1: never); the batch interval while it streams.")
                .labelNames("peer").callback(cb -> sync.get().peers().forEach(p -> cb.call(
                        p.lastReceivedMillis() < 0 ? -1 : p.lastReceivedMillis() / 1000.0, p.address())))
                .register(registry);
    }

    private static void syncStatus(ObjectNode node, SyncStatus status) {
        node.put("enabled", status.enabled());
        node.put("standby_sessions", status.standby());
        node.put("max_standby_sessions", status.maxStandby());
        node.put("standby_refused", status.standbyRefused());
        node.put("taken_over", status.takenOver());
        node.put("handed_over", status.handedOver());
        node.put("journal_dropped", status.journalDropped());
        ObjectNode refused = node.putObject("refused");
        status.refused().forEach(refused::put);
        ArrayNode peers = node.putArray("peers");
        for (SyncStatus.Peer peer : status.peers()) {
            ObjectNode p = peers.addObject();
            p.put("address", peer.address());
            p.put("sending", peer.sending());
            p.put("receiving", peer.receiving());
            p.put("synced", peer.synced());
            p.put("sessions_sent", peer.sessionsSent());
            p.put("sessions_received", peer.sessionsReceived());
            p.put("last_received_ms", peer.lastReceivedMillis());
            p.put("links_lost", peer.linksLost());
            ArrayNode adopted = p.putArray("adopted");
            peer.adopted().forEach(adopted::add);
        }
    }
}

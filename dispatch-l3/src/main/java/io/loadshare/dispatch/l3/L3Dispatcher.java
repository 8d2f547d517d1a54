package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import io.loadshare.core.mode.DispatchMode;
import io.loadshare.core.mode.DispatchModeBuilder;
import com.typesafe.config.Config;
import io.loadshare.core.arp.TrackedServices;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.DispatchPipeline;
import io.loadshare.core.pipeline.DropHandler;
import io.loadshare.core.pipeline.PacketDecoder;
import io.loadshare.core.pipeline.Service;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LSNAT (paper section 3.2, RFC 2391) as a {@link DispatchMode}: its services and backend trackers, and its
 * workers, each with a session table, full-NAT ports and the channels of its arms. Requests and replies both pass
 * through it: on one interface ({@link Arm#BOTH}, one-armed) or on two ({@link Arm#CLIENT} and
 * {@link Arm#BACKEND}). A worker's channels must be registered on one event loop: both directions of a session
 * meet in one session table, so it needs no locks. Build it in a few lines, as {@code L2Dispatcher}:
 *
 * <pre>{@code
 * L3Dispatcher lsnat = L3Dispatcher.builder()
 *         .service(L3Service.of("web", "203.0.113.10", 80, "round-robin", "192.0.2.11", "192.0.2.12"))
 *         .build();
 * EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
 * Bootstrap bootstrap = new Bootstrap().group(loop).channel(RawSocketChannel.class);
 * bootstrap.clone().handler(lsnat.initializer(Arm.CLIENT)).bind(new RawSocketAddress("eth0"));
 * bootstrap.clone().handler(lsnat.initializer(Arm.BACKEND)).bind(new RawSocketAddress("eth1"));
 * }</pre>
 */
public final class L3Dispatcher implements DispatchMode {
    final TrackedServices tracked;
    final DispatchContext context;
    final List<L3Service> configs;
    final L3Settings settings;
    final L3SourceNats sourceNats;
    private final List<L3Worker> workers;

    private L3Dispatcher(Builder builder) {
        this.settings = builder.settings();
        this.configs = builder.services();
        List<TrackedServices.Spec> specs = new ArrayList<>();
        for (L3Service s : configs) {
            specs.add(new TrackedServices.Spec(s.name(), s.address(), s.protocol(), s.port(), s.scheduler(),
                    s.schedulerSettings(), s.backends(), s.backendPort(), s.gateway(), s.persistence()));
        }
        // LSNAT services name their backends: nothing is discovered.
        this.tracked = new TrackedServices(specs, builder.coreSettings(), builder.registry(), settings.arpMissLimit(),
                null, builder.pinnedMacs(), true, "lsnat-control-%d", builder.workers());
        this.context = tracked.context();
        this.sourceNats = new L3SourceNats(configs.stream().mapToInt(c -> c.fullNat() ? c.sourceNatAddress() : 0)
                .toArray(), settings.gratuitousArpCount());
        for (DispatchContext each : tracked.contexts()) {
            each.sourceNats(sourceNats);
        }
        List<L3Worker> made = new ArrayList<>();
        for (int w = 0; w < builder.workers(); w++) {
            SourceNatPorts[] natPorts = new SourceNatPorts[configs.size()];
            // One pool per source-NAT address: services sharing an address must never hand out the same port.
            Map<Integer, SourceNatPorts> poolByAddress = new HashMap<>();
            for (int i = 0; i < configs.size(); i++) {
                if (configs.get(i).fullNat()) {
                    int slice = w;
                    natPorts[i] = poolByAddress.computeIfAbsent(configs.get(i).sourceNatAddress(),
                            address -> new SourceNatPorts(slice, builder.workers()));
                }
            }
            made.add(new L3Worker(this, w, tracked.contexts().get(w), natPorts));
        }
        this.workers = List.copyOf(made);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return "lsnat";
    }

    @Override
    public List<Arm> arms(boolean twoInterfaces) {
        return twoInterfaces ? List.of(Arm.CLIENT, Arm.BACKEND) : List.of(Arm.BOTH);
    }

    /** The channel initializer of one arm of the first (or only) worker. */
    public L3DispatchInitializer initializer(Arm arm) {
        return initializer(0, arm);
    }

    @Override
    public L3DispatchInitializer initializer(int worker, Arm arm) {
        return new L3DispatchInitializer(workers.get(worker), arm);
    }

    @Override
    public DispatchContext context() {
        return context;
    }

    @Override
    public List<DispatchContext> contexts() {
        return tracked.contexts();
    }

    /** Requests reach the client arm for the cluster addresses alone; the other arms carry replies too. */
    @Override
    public List<Integer> destinations(Arm arm) {
        return arm == Arm.CLIENT ? clusterAddresses() : List.of();
    }

    /** It answers for the cluster addresses to clients and for the source-NAT addresses to backends. */
    @Override
    public boolean answersArp(Arm arm) {
        return true;
    }

    @Override
    public List<Integer> clusterAddresses() {
        return configs.stream().map(L3Service::address).distinct().toList();
    }

    /** Each worker hands out its own slice of a full-NAT address's ports, and gets that slice's replies. */
    @Override
    public List<Integer> sourceNatAddresses() {
        return configs.stream().filter(L3Service::fullNat).map(L3Service::sourceNatAddress).distinct().toList();
    }

    /** tc on each arm: the program rewrites both directions, which XDP on a veth carries poorly (GSO frames). */
    @Override
    public FastPathHook fastPathHook() {
        return FastPathHook.TC;
    }

    @Override
    public List<Service> services() {
        return tracked.services();
    }

    @Override
    public Future<?> reconfigure(int serviceIndex, List<StaticBackend> backends, String scheduler,
            Config schedulerSettings) {
        return tracked.reconfigure(serviceIndex, backends, scheduler, schedulerSettings);
    }

    /**
     * Full-NAT ports in use on a service's source-NAT address (0 without full NAT), by every service that shares
     * the address, in every worker; read it on the (single) event loop.
     */
    public int natPortsInUse(int serviceIndex) {
        int used = 0;
        for (L3Worker worker : workers) {
            SourceNatPorts ports = worker.natPorts[serviceIndex];
            used += ports == null ? 0 : ports.used();
        }
        return used;
    }

    /**
     * Refuses a host set-up in which the kernel would interfere: with {@code ip_forward=1}, a kernel that does not
     * hold the cluster address forwards replies un-translated (and one that does answers with resets).
     *
     * @param namespace where the dispatcher's interfaces live, or null for this process's namespace
     * @throws IllegalStateException saying what to change
     */
    @Override
    public void checkHost(NetworkNamespace namespace) throws IOException {
        checkForwarding(namespace);
    }

    /** {@link #checkHost}, before a dispatcher is built ({@code loadshare check}). */
    public static void checkForwarding(NetworkNamespace namespace) throws IOException {
        NetworkNamespace.Action<String> read = () -> Files.readString(Path.of("/proc/sys/net/ipv4/ip_forward")).trim();
        String forwarding = namespace == null ? read.run() : namespace.run(read);
        if (!forwarding.equals("0")) {
            throw new IllegalStateException("net.ipv4.ip_forward is " + forwarding + (namespace == null ? "" : " in "
                    + namespace) + ": the kernel would forward backend replies un-translated. LSNAT translates in user"
                    + " space; set net.ipv4.ip_forward=0 (sysctl -w net.ipv4.ip_forward=0)");
        }
    }

    /** Addresses this dispatcher answers ARP for on an arm: cluster addresses to clients, NAT addresses to backends. */
    Set<Integer> ownedAddresses(Arm arm) {
        Set<Integer> owned = new LinkedHashSet<>();
        for (L3Service config : configs) {
            if (arm.facesClients()) {
                owned.add(config.address());
            }
            if (arm.facesBackends() && config.fullNat()) {
                owned.add(config.sourceNatAddress());
            }
        }
        return owned;
    }

    /** Records an arm's channel of the first worker; see {@link L3Worker#attach}. */
    void attach(Arm arm, Channel channel) {
        workers.getFirst().attach(arm, channel);
    }

    /**
     * The pipeline of an optional second channel of an arm, on the same interface and event loop, that receives only
     * ARP (a raw socket with {@code ETHER_TYPE} 0x0806): ARP then has a receive queue of its own, which no flood of
     * data frames can fill, so backends stay up and clients keep resolving the cluster address under any load. It
     * answers for the arm's addresses and hands replies to the trackers; the gratuitous announcements stay with the
     * arm's data channel. Give the data channel a filter without ARP.
     */
    @Override
    public ChannelInitializer<Channel> arpInitializer(Arm arm) {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                workers.getFirst().checkLoop(arm, ch);
                ch.pipeline().addLast(DispatchPipeline.DECODER, new PacketDecoder(context));
                ch.pipeline().addLast("arp", new ArpResponder(context, ownedAddresses(arm),
                        arm.facesBackends() ? tracked.trackers() : List.of(), 0,
                        arm.facesBackends() ? sourceNats : null));
                ch.pipeline().addLast("not-arp", new DropHandler(context, DropReason.UNSUPPORTED_ETHERTYPE));
            }
        };
    }

    void shutdown() {
        tracked.shutdown();
    }

    /** Collects the services and settings of an LSNAT dispatcher. */
    public static final class Builder extends DispatchModeBuilder<L3Service, L3Settings, Builder> {
        private Builder() {
            super(L3Settings.defaults());
        }

        public L3Dispatcher build() {
            validate("LSNAT");
            return new L3Dispatcher(this);
        }
    }
}

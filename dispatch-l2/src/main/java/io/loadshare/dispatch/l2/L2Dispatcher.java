package io.loadshare.dispatch.l2;

import com.typesafe.config.Config;
import io.loadshare.core.arp.ArpBackendTracker;
import io.loadshare.core.arp.ArpReplyHandler;
import io.loadshare.core.arp.TrackedServices;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.mode.Arm;
import io.loadshare.core.mode.DispatchMode;
import io.loadshare.core.mode.DispatchModeBuilder;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.loadshare.core.pipeline.Service;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * LSMAC (paper section 3.1) as a {@link DispatchMode}: only client-to-cluster traffic passes through; backends,
 * which hold the cluster address as an alias, reply to clients directly. Each frame goes decode → ARP → classify →
 * schedule → {@link MacRewriter} → emit, on one interface ({@link Arm#BOTH}). Backends are found and kept by ARP
 * ({@link ArpBackendTracker}), from the first worker. Build it in a few lines, as {@code L3Dispatcher}:
 * <pre>{@code
 * L2Dispatcher lsmac = L2Dispatcher.builder()
 *         .service(L2Service.discovered("web", "198.51.100.10", 80, "round-robin"))
 *         .build();
 * new Bootstrap().group(loop).channel(RawSocketChannel.class).handler(lsmac.initializer(Arm.BOTH))
 *         .bind(new RawSocketAddress("eth0"));
 * }</pre>
 */
public final class L2Dispatcher implements DispatchMode {
    final TrackedServices tracked;
    final L2Settings settings;
    final long dispatcherMac;
    private final List<L2DispatchInitializer> workers;
    private volatile Channel arpChannel;

    private L2Dispatcher(Builder builder) {
        this.settings = builder.settings();
        this.dispatcherMac = builder.dispatcherMac;
        List<TrackedServices.Spec> specs = new ArrayList<>();
        for (L2Service s : builder.services()) {
            specs.add(new TrackedServices.Spec(s.name(), s.address(), s.protocol(), s.port(), s.scheduler(),
                    s.schedulerSettings(), s.staticBackends(), 0, 0, s.persistence()));
        }
        this.tracked = new TrackedServices(specs, builder.coreSettings(), builder.registry(), settings.arpMissLimit(),
                settings.discovery(), builder.pinnedMacs(), false, "lsmac-control-%d", builder.workers());
        List<L2DispatchInitializer> all = new ArrayList<>();
        for (int w = 0; w < builder.workers(); w++) {
            all.add(new L2DispatchInitializer(this, w, tracked.contexts().get(w)));
        }
        this.workers = List.copyOf(all);
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String name() {
        return "lsmac";
    }

    /** One interface, whatever is configured: LSMAC reaches the backends on the clients' LAN. */
    @Override
    public List<Arm> arms(boolean twoInterfaces) {
        if (twoInterfaces) {
            throw new IllegalArgumentException("LSMAC serves clients and backends on one interface (the backends"
                    + " share the clients' LAN); it has no backend arm");
        }
        return List.of(Arm.BOTH);
    }

    /** The first (or only) worker's data-channel initializer. */
    public L2DispatchInitializer initializer(Arm arm) {
        return initializer(0, arm);
    }

    /**
     * Worker {@code index}'s data-channel initializer; worker 0's also runs the ARP rounds and takes the ARP
     * replies. Each serves one channel.
     */
    @Override
    public L2DispatchInitializer initializer(int worker, Arm arm) {
        requireBoth(arm);
        return workers.get(worker);
    }

    @Override
    public DispatchContext context() {
        return tracked.context();
    }

    @Override
    public List<DispatchContext> contexts() {
        return tracked.contexts();
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

    /** Only the cluster addresses' frames are dispatched. */
    @Override
    public List<Integer> destinations(Arm arm) {
        return clusterAddresses();
    }

    /** LSMAC answers no ARP request: its ARP socket takes the replies to its own requests alone. */
    @Override
    public boolean answersArp(Arm arm) {
        return false;
    }

    @Override
    public List<Integer> clusterAddresses() {
        return tracked.services().stream().map(Service::address).distinct().toList();
    }

    /** LSMAC translates no address. */
    @Override
    public List<Integer> sourceNatAddresses() {
        return List.of();
    }

    /** XDP: the program rewrites MACs and transmits the frame back out before any socket copies it. */
    @Override
    public FastPathHook fastPathHook() {
        return FastPathHook.XDP;
    }

    /**
     * The pipeline of an optional second channel on the same interface and event loop as worker 0's data channel
     * that receives only ARP (a raw socket with {@code ETHER_TYPE} 0x0806): ARP replies then have a receive queue
     * of their own, which no flood of data frames can fill, so backends stay up under any load. Give the data
     * channel a filter without ARP.
     */
    @Override
    public ChannelInitializer<Channel> arpInitializer(Arm arm) {
        requireBoth(arm);
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                if (arpChannel != null) {
                    throw new IllegalStateException("an L2Dispatcher serves one ARP channel");
                }
                sameLoop(ch, workers.getFirst().channel());
                arpChannel = ch;
                ArpReplyHandler.install(ch.pipeline(), context(), tracked.trackers(), macOf(ch));
            }
        };
    }

    /** The ARP channel, to check that worker 0's data channel shares its loop; null while there is none. */
    Channel arpChannel() {
        return arpChannel;
    }

    static void sameLoop(Channel ch, Channel other) {
        if (other != null && other.eventLoop() != ch.eventLoop()) {
            throw new IllegalStateException("the data and ARP channels of one LSMAC dispatcher must share one event"
                    + " loop: " + ch + " is on " + ch.eventLoop() + ", " + other + " on " + other.eventLoop());
        }
    }

    /** The dispatcher's MAC: the builder's, or the channel's own. */
    LongSupplier macOf(Channel ch) {
        if (dispatcherMac != MacAddress.UNKNOWN) {
            return () -> dispatcherMac;
        }
        return () -> {
            if (ch instanceof HardwareAddressed addressed) {
                return addressed.hardwareAddress();
            }
            throw new IllegalStateException(ch + " does not know its MAC address; give the builder dispatcherMac(...)");
        };
    }

    private static void requireBoth(Arm arm) {
        if (arm != Arm.BOTH) {
            throw new IllegalArgumentException("LSMAC serves one interface, Arm.BOTH; not " + arm);
        }
    }

    /** Collects the services and settings of an LSMAC dispatcher. */
    public static final class Builder extends DispatchModeBuilder<L2Service, L2Settings, Builder> {
        private long dispatcherMac = MacAddress.UNKNOWN;

        private Builder() {
            super(L2Settings.defaults());
        }

        /** The dispatcher's MAC, for channels that cannot tell it (pcap); raw-socket channels know their own. */
        public Builder dispatcherMac(long mac) {
            this.dispatcherMac = mac;
            return this;
        }

        public L2Dispatcher build() {
            validate("LSMAC");
            return new L2Dispatcher(this);
        }
    }
}

package io.loadshare.dispatch.l2;

import com.typesafe.config.Config;
import io.loadshare.core.arp.ArpBackendTracker;
import io.loadshare.core.arp.ArpReplyHandler;
import io.loadshare.core.arp.TrackedServices;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.DispatchPipeline;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The LSMAC pipeline (paper section 3.1) for one raw-packet channel: decode → ARP → classify → schedule →
 * {@link MacRewriter} → emit. Only client-to-cluster traffic passes through; backends, which hold the cluster
 * address as an alias, reply to clients directly. Backends are found and kept by ARP ({@link ArpBackendTracker}).
 *
 * <p>One initializer serves one channel: it owns that channel's {@link DispatchContext}. With
 * {@link Builder#workers workers(n)}, each further {@link #worker worker} serves a channel of its own, on its own
 * event loop, with its own context; the channels join one fanout group so that each flow always reaches the same
 * worker. Build it in a few lines:
 * <pre>{@code
 * L2DispatchInitializer lsmac = L2DispatchInitializer.builder()
 *         .service(L2Service.discovered("web", "198.51.100.10", 80, "round-robin"))
 *         .build();
 * new Bootstrap().group(loop).channel(RawSocketChannel.class).handler(lsmac)
 *         .bind(new RawSocketAddress("eth0"));
 * }</pre>
 */
public final class L2DispatchInitializer extends ChannelInitializer<Channel> {
    private static final String ARP = "arp";
    private static final String LIFECYCLE = "lifecycle";

    private final TrackedServices tracked;
    private final DispatchContext context;
    private final L2Settings settings;
    private final long dispatcherMac;
    private final List<ChannelInitializer<Channel>> workers;
    private volatile Channel channel;
    private volatile Channel arpChannel;

    private L2DispatchInitializer(Builder builder) {
        this.settings = builder.settings;
        this.dispatcherMac = builder.dispatcherMac;
        List<TrackedServices.Spec> specs = new ArrayList<>();
        for (L2Service s : builder.services) {
            specs.add(new TrackedServices.Spec(s.name(), s.address(), s.protocol(), s.port(), s.scheduler(),
                    s.schedulerSettings(), s.staticBackends(), 0, 0, s.persistence()));
        }
        this.tracked = new TrackedServices(specs, builder.coreSettings, builder.registry, settings.arpMissLimit(),
                settings.discovery(), builder.pinnedMacs, false, "lsmac-control-%d", builder.workers);
        this.context = tracked.context();
        List<ChannelInitializer<Channel>> all = new ArrayList<>(List.of(this));
        for (DispatchContext worker : tracked.contexts().subList(1, builder.workers)) {
            all.add(new Worker(worker));
        }
        this.workers = List.copyOf(all);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The data-plane state of the (first worker's) channel: sessions, counters. */
    public DispatchContext context() {
        return context;
    }

    /** Every worker's data-plane state, in worker order. */
    public List<DispatchContext> contexts() {
        return tracked.contexts();
    }

    /**
     * The initializer of worker {@code index}'s data channel; worker 0's is this one, which also runs the ARP
     * rounds and takes the ARP replies.
     */
    public ChannelInitializer<Channel> worker(int index) {
        return workers.get(index);
    }

    public List<Service> services() {
        return tracked.services();
    }

    /**
     * Applies a reload of one service on its event loop: the static backends (new ones join once resolved, dropped
     * ones drain until their last session ends) and, unless {@code scheduler} is null, a new scheduler. See
     * {@link TrackedServices#reconfigure}.
     *
     * @return completes once the event loop has applied it
     */
    public Future<?> reconfigure(int serviceIndex, List<StaticBackend> backends, String scheduler,
            Config schedulerSettings) {
        return tracked.reconfigure(serviceIndex, backends, scheduler, schedulerSettings);
    }

    @Override
    protected void initChannel(Channel ch) {
        if (channel != null) {
            throw new IllegalStateException("an L2DispatchInitializer serves one channel; build one per channel");
        }
        sameLoop(ch, arpChannel);
        channel = ch;
        LongSupplier mac = dispatcherMac != MacAddress.UNKNOWN ? () -> dispatcherMac : () -> channelMac(ch);
        DispatchPipeline.install(ch.pipeline(), context, new MacRewriter(context, mac));
        ch.pipeline().addAfter(DispatchPipeline.DECODER, ARP, new ArpReplyHandler(context, tracked.trackers(), mac));
        ch.pipeline().addFirst(LIFECYCLE, new Lifecycle(mac));
    }

    /**
     * The pipeline of an optional second channel on the same interface and event loop that receives only ARP (a
     * raw socket with {@code ETHER_TYPE} 0x0806): ARP replies then have a receive queue of their own, which no flood
     * of data frames can fill, so backends stay up under any load. Give the data channel a filter without ARP.
     */
    public ChannelInitializer<Channel> arpInitializer() {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                if (arpChannel != null) {
                    throw new IllegalStateException("an L2DispatchInitializer serves one ARP channel");
                }
                sameLoop(ch, channel);
                arpChannel = ch;
                LongSupplier mac = dispatcherMac != MacAddress.UNKNOWN ? () -> dispatcherMac : () -> channelMac(ch);
                ArpReplyHandler.install(ch.pipeline(), context, tracked.trackers(), mac);
            }
        };
    }

    private static void sameLoop(Channel ch, Channel other) {
        if (other != null && other.eventLoop() != ch.eventLoop()) {
            throw new IllegalStateException("the data and ARP channels of one LSMAC dispatcher must share one event"
                    + " loop: " + ch + " is on " + ch.eventLoop() + ", " + other + " on " + other.eventLoop());
        }
    }

    private static long channelMac(Channel ch) {
        if (ch instanceof HardwareAddressed addressed) {
            return addressed.hardwareAddress();
        }
        throw new IllegalStateException(ch + " does not know its MAC address; give the builder dispatcherMac(...)");
    }

    /** A further worker's data channel: the pipeline over its own context, without ARP, which worker 0 handles. */
    private final class Worker extends ChannelInitializer<Channel> {
        private final DispatchContext worker;
        private volatile Channel bound;

        Worker(DispatchContext worker) {
            this.worker = worker;
        }

        @Override
        protected void initChannel(Channel ch) {
            if (bound != null) {
                throw new IllegalStateException("a worker serves one channel");
            }
            bound = ch;
            LongSupplier mac = dispatcherMac != MacAddress.UNKNOWN ? () -> dispatcherMac : () -> channelMac(ch);
            DispatchPipeline.install(ch.pipeline(), worker, new MacRewriter(worker, mac));
            ch.pipeline().addFirst(LIFECYCLE, new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    worker.start(ctx.channel().eventLoop());
                    ctx.fireChannelActive();
                }

                @Override
                public void channelInactive(ChannelHandlerContext ctx) {
                    worker.stop();
                    ctx.fireChannelInactive();
                }
            });
        }
    }

    /** Starts the sweep and the ARP rounds when the channel is up; stops them when it goes. */
    private final class Lifecycle extends ChannelInboundHandlerAdapter {
        private final LongSupplier mac;
        private ScheduledFuture<?> rounds;

        Lifecycle(LongSupplier mac) {
            this.mac = mac;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            context.start(ctx.channel().eventLoop());
            rounds = ArpBackendTracker.startRounds(ctx.channel(), tracked.trackers(), settings.arpInterval(), mac,
                    settings.arpSenderAddress());
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (rounds != null) {
                rounds.cancel(false);
            }
            context.stop();
            tracked.shutdown();
            ctx.fireChannelInactive();
        }
    }

    /** Collects services and settings; every setting but the services has a default from reference.conf. */
    public static final class Builder {
        private final List<L2Service> services = new ArrayList<>();
        private CoreSettings coreSettings = CoreSettings.defaults();
        private L2Settings settings = L2Settings.defaults();
        private SchedulerRegistry registry;
        private long dispatcherMac = MacAddress.UNKNOWN;
        private final Map<Integer, Long> pinnedMacs = new HashMap<>();
        private int workers = 1;

        public Builder service(L2Service service) {
            services.add(Objects.requireNonNull(service, "service"));
            return this;
        }

        public Builder coreSettings(CoreSettings coreSettings) {
            this.coreSettings = Objects.requireNonNull(coreSettings);
            return this;
        }

        public Builder settings(L2Settings settings) {
            this.settings = Objects.requireNonNull(settings);
            return this;
        }

        /** The schedulers to choose from; by default every plugin on the class path. */
        public Builder schedulers(SchedulerRegistry registry) {
            this.registry = Objects.requireNonNull(registry);
            return this;
        }

        /** Event loops, each with its data channel and context (1 by default); see {@link #worker}. */
        public Builder workers(int workers) {
            if (workers < 1) {
                throw new IllegalArgumentException("workers must be at least 1, was " + workers);
            }
            this.workers = workers;
            return this;
        }

        /** The dispatcher's MAC, for channels that cannot tell it (pcap); raw-socket channels know their own. */
        public Builder dispatcherMac(long mac) {
            this.dispatcherMac = mac;
            return this;
        }

        /** A static backend's MAC, given rather than resolved by ARP (replaying a capture). */
        public Builder pinBackendMac(int address, long mac) {
            pinnedMacs.put(address, mac);
            return this;
        }

        public L2DispatchInitializer build() {
            if (services.isEmpty()) {
                throw new IllegalStateException("an LSMAC dispatcher needs at least one service");
            }
            if (registry == null) {
                registry = SchedulerRegistry.load();
            }
            return new L2DispatchInitializer(this);
        }
    }
}

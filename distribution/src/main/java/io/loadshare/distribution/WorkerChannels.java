package io.loadshare.distribution;

import io.loadshare.core.mode.Arm;
import io.loadshare.core.mode.DispatchMode;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.EtherType;
import io.loadshare.core.session.Persistence;
import io.loadshare.offload.AttachPoint;
import io.loadshare.transport.rawsocket.FanoutSteering;
import io.loadshare.transport.rawsocket.RawSocketAddress;
import io.loadshare.transport.rawsocket.RawSocketChannel;
import io.loadshare.transport.rawsocket.RawSocketChannelOption;
import io.loadshare.transport.rawsocket.SocketFilter;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the raw-socket channels of a {@link DispatchMode}'s workers as a configuration asks: on each arm, every
 * worker's data socket, in one fanout group per interface when there are several workers, and beside the first
 * worker's an ARP socket, so that no flood of data frames can bury the ARP replies that keep backends up (or the
 * requests that resolve the cluster address); the data sockets' filter then leaves ARP out.
 */
final class WorkerChannels {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerChannels.class);

    private final DispatcherConfig config;
    private final NetworkNamespace namespace;
    private final DispatchMode mode;
    private final FanoutSteering steering;
    private final int dataEtherType;
    private final List<Channel> channels = new ArrayList<>();
    private final List<DispatcherView.Socket> sockets = new ArrayList<>();
    /** Each arm's fanout group, which the first worker's data socket started. */
    private final Map<Arm, Integer> groups = new HashMap<>();

    /**
     * @param dataEtherType the data sockets' protocol: one EtherType, or 0 for every one but ARP
     */
    WorkerChannels(DispatcherConfig config, NetworkNamespace namespace, DispatchMode mode, int dataEtherType) {
        this.config = config;
        this.namespace = namespace;
        this.mode = mode;
        this.dataEtherType = dataEtherType;
        this.steering = steering(config, mode);
    }

    /** Opens worker {@code worker}'s channels on each arm, on its event loop. */
    void open(int worker, EventLoop loop) throws InterruptedException {
        for (Arm arm : arms()) {
            String interfaceName = interfaceOf(arm);
            int vlan = arm == Arm.BACKEND ? config.backendVlan() : config.clientVlan();
            if (worker == 0) {
                add(bind(loop, interfaceName, vlan, mode.arpInitializer(arm), SocketFilter.builder()
                        .acceptBroadcast(mode.answersArp(arm)).build(), EtherType.ARP, -1), worker);
            }
            int group = steering == null ? -1 : worker == 0 ? RawSocketChannel.NEW_FANOUT_GROUP : groups.get(arm);
            SocketFilter.Builder filter = SocketFilter.builder();
            if (!mode.destinations(arm).isEmpty()) {
                filter.ipv4Destinations(mode.destinations(arm));
            }
            RawSocketChannel data = bind(loop, interfaceName, vlan, mode.initializer(worker, arm),
                    filter.acceptBroadcast(config.rawSocket().acceptBroadcast()).acceptArp(false).build(),
                    dataEtherType, group);
            add(data, worker);
            if (steering != null) {
                groups.putIfAbsent(arm, data.fanoutGroup());
                LOG.info("worker {} reads {} in fanout group {}", worker, interfaceName, data.fanoutGroup());
            }
        }
    }

    /** The arms the configuration serves: both on the client interface, or one on each. */
    List<Arm> arms() {
        return mode.arms(!config.backendInterface().isEmpty());
    }

    /** Where a fast path attaches on an arm: the interface of the first worker's data channel there. */
    AttachPoint attachPoint(Arm arm) {
        for (DispatcherView.Socket socket : sockets) {
            RawSocketChannel channel = socket.channel();
            if (socket.worker() == 0 && channel.etherType() != EtherType.ARP
                    && channel.localAddress().interfaceName().equals(interfaceOf(arm))) {
                return new AttachPoint(interfaceOf(arm), channel.interfaceIndex(), channel.hardwareAddress());
            }
        }
        throw new IllegalStateException("the first worker has no data socket on " + interfaceOf(arm));
    }

    List<Channel> channels() {
        return List.copyOf(channels);
    }

    List<DispatcherView.Socket> sockets() {
        return List.copyOf(sockets);
    }

    /** Closes every channel opened so far: a start that failed. */
    void closeAll() {
        channels.forEach(Channel::close);
    }

    private String interfaceOf(Arm arm) {
        return arm == Arm.BACKEND ? config.backendInterface() : config.clientInterface();
    }

    private void add(RawSocketChannel channel, int worker) {
        channels.add(channel);
        sockets.add(new DispatcherView.Socket(channel, worker));
    }

    /**
     * How the workers' data sockets on an interface share its frames: with one worker, no fanout (null); else each
     * flow steered to one worker by its client side, and a full-NAT reply by its port's slice.
     */
    private static FanoutSteering steering(DispatcherConfig config, DispatchMode mode) {
        if (config.workers() == 1) {
            return null;
        }
        FanoutSteering.Builder steering = FanoutSteering.builder().requestsTo(mode.clusterAddresses())
                .portSlicesOf(mode.sourceNatAddresses());
        // A persistent client's connections must meet one worker's templates: steer by its masked address.
        config.services().stream().map(DispatcherConfig.ServiceConfig::persistence).filter(Objects::nonNull)
                .mapToInt(Persistence::netmask).reduce((a, b) -> a & b)
                .ifPresent(steering::clientAddressOnly);
        return steering.build();
    }

    private RawSocketChannel bind(EventLoop loop, String interfaceName, int vlan, ChannelHandler initializer,
            SocketFilter filter, int etherType, int fanoutGroup) throws InterruptedException {
        Bootstrap bootstrap = new Bootstrap().group(loop)
                .channelFactory(() -> namespace == null ? new RawSocketChannel() : new RawSocketChannel(namespace))
                .handler(initializer);
        RawSocketChannel channel = (RawSocketChannel) bootstrap.register().sync().channel();
        channel.config().apply(config.rawSocket());
        channel.config().setOption(RawSocketChannelOption.SOCKET_FILTER, filter);
        channel.config().setOption(RawSocketChannelOption.VLAN, vlan);
        channel.config().setOption(RawSocketChannelOption.ETHER_TYPE, etherType);
        if (fanoutGroup >= 0) {
            channel.config().setOption(RawSocketChannelOption.FANOUT_GROUP, fanoutGroup);
            channel.config().setOption(RawSocketChannelOption.FANOUT_STEERING, steering);
        }
        try {
            channel.bind(new RawSocketAddress(interfaceName)).sync();
        } catch (RuntimeException | InterruptedException e) {
            channel.close();
            throw e;
        }
        return channel;
    }
}

package io.loadshare.distribution.announce;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.Service;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps each service address announced while this dispatcher can serve it, as Maglev and GLB dispatchers announce
 * their VIPs: one {@link AnnounceInterface} per distinct address, up while at least one service on it has a
 * backend taking sessions, every worker's event loop answers ({@link Heartbeat}) and the dispatcher is not
 * draining, down otherwise. The routing daemon turns the
 * interfaces into routes (see {@link #birdConfig}); the routers spread flows over the dispatchers that announce an
 * address by ECMP, and a dispatcher that stops, drains, loses its backends or dies drops out.
 *
 * <p>Control plane only: a thread of its own looks at the pools every {@code interval}.
 */
public final class Announcer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Announcer.class);

    private final Map<Integer, Vip> vips;
    private final Heartbeat heartbeat;
    private final ScheduledExecutorService checker;
    private volatile boolean withdrawn;

    private record Vip(int address, AnnounceInterface link, List<Service> services) {
        boolean servable() {
            return services.stream().anyMatch(s -> s.pool().availableCount() > 0);
        }
    }

    private Announcer(Map<Integer, Vip> vips, Duration interval, Heartbeat heartbeat) {
        this.vips = vips;
        this.heartbeat = heartbeat;
        this.checker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "loadshare-announce");
            thread.setDaemon(true);
            return thread;
        });
        checker.scheduleWithFixedDelay(this::check, 0, interval.toNanos(), TimeUnit.NANOSECONDS);
    }

    /**
     * Creates the interfaces (down) and starts checking.
     *
     * @param namespace the dispatcher's network namespace, where the routing daemon runs; null for its own
     * @param heartbeat whether the data plane's event loops still run
     */
    public static Announcer start(NetworkNamespace namespace, String interfacePrefix, Duration interval,
            List<Service> services, Heartbeat heartbeat) throws IOException {
        Map<Integer, Vip> vips = new LinkedHashMap<>();
        try {
            for (Integer address : addresses(services)) {
                String name = interfaceName(interfacePrefix, vips.size());
                vips.put(address, new Vip(address, AnnounceInterface.create(namespace, name),
                        services.stream().filter(s -> s.address() == address).toList()));
            }
        } catch (IOException | RuntimeException e) {
            vips.values().forEach(vip -> vip.link().close());
            throw e;
        }
        return new Announcer(vips, interval, heartbeat);
    }

    /** The interface that stands for the {@code index}-th distinct service address. */
    public static String interfaceName(String prefix, int index) {
        return prefix + index;
    }

    private static List<Integer> addresses(List<Service> services) {
        List<Integer> addresses = new ArrayList<>();
        for (Service service : services) {
            if (!addresses.contains(service.address())) {
                addresses.add(service.address());
            }
        }
        return addresses;
    }

    /**
     * The BIRD 2 protocol that turns the interfaces into routes for the given service addresses, in configuration
     * order; a BGP protocol exports them with {@code export where proto = "loadshare";}.
     */
    public static String birdConfig(String interfacePrefix, List<Integer> serviceAddresses) {
        StringBuilder out = new StringBuilder("""
                # The service addresses loadshare serves, each announced while its interface is up: the dispatcher
                # brings it up while it can serve the address and takes it down (or, when it dies, away) otherwise.
                protocol static loadshare {
                  ipv4;
                  check link yes;
                """);
        List<Integer> distinct = serviceAddresses.stream().distinct().toList();
        for (int i = 0; i < distinct.size(); i++) {
            out.append("  route ").append(Ipv4Address.format(distinct.get(i))).append("/32 via \"")
                    .append(interfaceName(interfacePrefix, i)).append("\";\n");
        }
        return out.append("}\n").toString();
    }

    /** Withdraws every address for good (draining): the routers move new flows to the other dispatchers. */
    public void withdrawAll() {
        withdrawn = true;
        checker.execute(this::check);
    }

    /** Whether each address is announced now, by address. */
    public Map<String, Boolean> announced() {
        Map<String, Boolean> out = new LinkedHashMap<>();
        vips.values().forEach(vip -> out.put(Ipv4Address.format(vip.address()), vip.link().isUp()));
        return out;
    }

    private void check() {
        boolean alive = heartbeat.alive();
        for (Vip vip : vips.values()) {
            boolean wanted = !withdrawn && alive && vip.servable();
            if (wanted != vip.link().isUp()) {
                try {
                    vip.link().setUp(wanted);
                    LOG.info("{} {} ({} {})", wanted ? "announcing" : "withdrawing", Ipv4Address.format(vip.address()),
                            vip.link().name(), wanted ? "up" : withdrawn ? "down: draining" : !alive
                                    ? "down: an event loop of the data plane does not answer" : "down: no backend");
                } catch (IOException e) {
                    LOG.error("cannot {} {}: {}", wanted ? "announce" : "withdraw", Ipv4Address.format(vip.address()),
                            e.getMessage());
                }
            }
        }
    }

    /** Stops checking and removes the interfaces: every address is withdrawn. */
    @Override
    public void close() {
        checker.shutdownNow();
        try {
            checker.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        vips.values().forEach(vip -> vip.link().close());
    }
}

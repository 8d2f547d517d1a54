package io.loadshare.dispatch.l2;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.session.Persistence;
import java.util.List;
import java.util.Objects;

/**
 * One cluster address, protocol and port that LSMAC dispatches, with its scheduler and how its backends are
 * found.
 *
 * @param name label for logs and metrics
 * @param address the cluster address (VIP)
 * @param protocol tcp or udp
 * @param port the service port
 * @param scheduler a scheduler name or alias
 * @param schedulerSettings overrides of the scheduler's defaults
 * @param staticBackends backends (address and weight) whose MACs are resolved by ARP; empty means ARP discovery:
 *     every host that answers ARP for the cluster address is a backend
 * @param persistence how clients stick to their backend across connections, or null
 */
public record L2Service(String name, int address, int protocol, int port, String scheduler, Config schedulerSettings,
        List<StaticBackend> staticBackends, Persistence persistence) {

    public L2Service {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(schedulerSettings, "schedulerSettings");
        staticBackends = List.copyOf(staticBackends);
    }

    /** A service without persistence. */
    public L2Service(String name, int address, int protocol, int port, String scheduler, Config schedulerSettings,
            List<StaticBackend> staticBackends) {
        this(name, address, protocol, port, scheduler, schedulerSettings, staticBackends, null);
    }

    /** The same service, its clients sticking to their backend as {@code persistence} says. */
    public L2Service withPersistence(Persistence persistence) {
        return new L2Service(name, address, protocol, port, scheduler, schedulerSettings, staticBackends,
                persistence);
    }

    /** A TCP service whose backends are discovered by ARP for its address. */
    public static L2Service discovered(String name, String address, int port, String scheduler) {
        return new L2Service(name, Ipv4Address.parse(address), IpProtocol.TCP, port, scheduler, ConfigFactory.empty(),
                List.of());
    }

    /** A TCP service over a fixed list of backend addresses, each of weight 1. */
    public static L2Service withBackends(String name, String address, int port, String scheduler, String... backends) {
        return new L2Service(name, Ipv4Address.parse(address), IpProtocol.TCP, port, scheduler, ConfigFactory.empty(),
                StaticBackend.of(backends));
    }

    public boolean discovery() {
        return staticBackends.isEmpty();
    }
}

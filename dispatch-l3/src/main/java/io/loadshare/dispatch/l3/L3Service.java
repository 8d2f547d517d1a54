package io.loadshare.dispatch.l3;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.session.Persistence;
import java.util.List;
import java.util.Objects;

/**
 * One cluster address, protocol and port that LSNAT translates.
 *
 * @param name label for logs and metrics
 * @param address the cluster address (VIP)
 * @param protocol tcp or udp
 * @param port the virtual port
 * @param backendPort the port the backends listen on, or 0 for the virtual port (RFC 2391 port translation)
 * @param scheduler a scheduler name or alias
 * @param schedulerSettings overrides of the scheduler's defaults
 * @param backends backends (address and weight); their MACs (or their gateway's) are resolved by ARP
 * @param sourceNatAddress 0 for plain LSNAT; otherwise full NAT: clients appear to backends as this address,
 *     which the dispatcher answers ARP for, so backends need no route back to the clients
 * @param gateway 0 when the backends are on a link of the dispatcher; otherwise the router they sit behind, whose
 *     MAC every request is sent to
 * @param persistence how clients stick to their backend across connections, or null
 */
public record L3Service(String name, int address, int protocol, int port, int backendPort, String scheduler,
        Config schedulerSettings, List<StaticBackend> backends, int sourceNatAddress, int gateway,
        Persistence persistence) {

    public L3Service {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(schedulerSettings, "schedulerSettings");
        backends = List.copyOf(backends);
        if (backends.isEmpty()) {
            throw new IllegalArgumentException("service " + name + " needs at least one backend");
        }
        if (backendPort < 0 || backendPort > 0xFFFF) {
            throw new IllegalArgumentException("backend port must be 0..65535, was " + backendPort);
        }
    }

    /** A service without persistence. */
    public L3Service(String name, int address, int protocol, int port, int backendPort, String scheduler,
            Config schedulerSettings, List<StaticBackend> backends, int sourceNatAddress, int gateway) {
        this(name, address, protocol, port, backendPort, scheduler, schedulerSettings, backends, sourceNatAddress,
                gateway, null);
    }

    /** The same service, its clients sticking to their backend as {@code persistence} says. */
    public L3Service withPersistence(Persistence persistence) {
        return new L3Service(name, address, protocol, port, backendPort, scheduler, schedulerSettings, backends,
                sourceNatAddress, gateway, persistence);
    }

    /** A TCP service over backends of weight 1, without port or source translation. */
    public static L3Service of(String name, String address, int port, String scheduler, String... backends) {
        return new L3Service(name, Ipv4Address.parse(address), IpProtocol.TCP, port, 0, scheduler,
                ConfigFactory.empty(), StaticBackend.of(backends), 0, 0);
    }

    /** The same service with its backends listening on {@code port}. */
    public L3Service withBackendPort(int port) {
        return new L3Service(name, address, protocol, this.port, port, scheduler, schedulerSettings, backends,
                sourceNatAddress, gateway, persistence);
    }

    /** The same service in full-NAT mode, clients translated to {@code address}. */
    public L3Service withSourceNat(String address) {
        return new L3Service(name, this.address, protocol, port, backendPort, scheduler, schedulerSettings, backends,
                Ipv4Address.parse(address), gateway, persistence);
    }

    /** The same service with its backends behind the router at {@code address}. */
    public L3Service withGateway(String address) {
        return new L3Service(name, this.address, protocol, port, backendPort, scheduler, schedulerSettings, backends,
                sourceNatAddress, Ipv4Address.parse(address), persistence);
    }

    public boolean fullNat() {
        return sourceNatAddress != 0;
    }
}

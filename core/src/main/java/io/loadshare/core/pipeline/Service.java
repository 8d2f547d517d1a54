package io.loadshare.core.pipeline;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.session.Persistence;
import io.loadshare.core.session.SessionTable;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * A virtual service: one cluster address, protocol and port, with its backend pool. The pool is an immutable
 * snapshot that the control plane replaces with {@link #publish}; the data plane reads it with one volatile load.
 */
public final class Service {
    private final int index;
    private final String name;
    private final int address;
    private final int protocol;
    private final int port;
    private volatile Supplier<Scheduler> schedulers;
    private final List<Scheduler> created = new CopyOnWriteArrayList<>();
    private volatile BackendPool pool;
    private final Persistence persistence;
    /** The pool as its source (ARP, configuration) gave it, before operator overrides. */
    private BackendPool base;
    private final Map<Integer, BackendState> overrides = new HashMap<>();
    /** Weights an operator set at run time, over what the source says. */
    private final Map<Integer, Integer> weights = new HashMap<>();
    /** Backends an active health check currently fails, with the state each is held in. */
    private final Map<Integer, BackendState> unhealthy = new HashMap<>();

    /**
     * @param index small number, unique within a dispatcher, stored in each session
     * @param name label for logs and metrics
     * @param schedulers makes one scheduler per event loop
     */
    public Service(int index, String name, int address, int protocol, int port, Supplier<Scheduler> schedulers,
            BackendPool pool) {
        this(index, name, address, protocol, port, schedulers, pool, null);
    }

    /** @param persistence how clients stick to their backend, or null for none */
    public Service(int index, String name, int address, int protocol, int port, Supplier<Scheduler> schedulers,
            BackendPool pool, Persistence persistence) {
        if (index < 0 || index >= SessionTable.MAX_SERVICES) {
            throw new IllegalArgumentException("service index must be 0.." + (SessionTable.MAX_SERVICES - 1) + ", was "
                    + index);
        }
        if (port < 1 || port > 0xFFFF) {
            throw new IllegalArgumentException("service port must be 1..65535, was " + port);
        }
        if (protocol != IpProtocol.TCP && protocol != IpProtocol.UDP) {
            throw new IllegalArgumentException("service protocol must be tcp or udp, was " + protocol);
        }
        this.index = index;
        this.name = Objects.requireNonNull(name, "name");
        this.address = address;
        this.protocol = protocol;
        this.port = port;
        this.schedulers = Objects.requireNonNull(schedulers, "schedulers");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.base = pool;
        this.persistence = persistence;
    }

    /** How clients stick to their backend across connections, or null when they do not. */
    public Persistence persistence() {
        return persistence;
    }

    public int index() {
        return index;
    }

    public String name() {
        return name;
    }

    /** The cluster (virtual) address. */
    public int address() {
        return address;
    }

    public int protocol() {
        return protocol;
    }

    /** The virtual port. */
    public int port() {
        return port;
    }

    /** The current snapshot. */
    public BackendPool pool() {
        return pool;
    }

    /** Creates the scheduler one event loop uses for this service, prepared for the current pool. */
    public synchronized Scheduler newScheduler() {
        Scheduler scheduler = schedulers.get();
        created.add(scheduler);
        scheduler.prepare(pool);
        return scheduler;
    }

    /**
     * Makes later {@link #newScheduler} calls use another algorithm or settings (a reload); each event loop then
     * swaps its own scheduler with {@link DispatchContext#replaceScheduler}. Control plane only.
     */
    public synchronized void replaceSchedulers(Supplier<Scheduler> next) {
        schedulers = Objects.requireNonNull(next, "next");
        created.clear();
    }

    /**
     * Replaces the pool: every scheduler prepares for it first (off the data path), then the data plane sees it
     * at its next packet. Control plane only.
     */
    public synchronized void publish(BackendPool next) {
        base = Objects.requireNonNull(next, "next");
        BackendPool effective = withOverrides(next);
        for (Scheduler scheduler : created) {
            scheduler.prepare(effective);
        }
        pool = effective;
    }

    /**
     * Holds a backend in a state whatever its source says (an operator draining it, say), or, with null, lets the
     * source decide again; republishes at once. An override never revives a backend its source reports down.
     * Control plane only.
     *
     * @return false when the pool has no backend with this id
     */
    public synchronized boolean override(int backendId, BackendState state) {
        if (base.byId(backendId) == null) {
            return false;
        }
        if (state == null) {
            overrides.remove(backendId);
        } else {
            overrides.put(backendId, state);
        }
        publish(base);
        return true;
    }

    /**
     * Gives a backend another weight whatever its source says (an operator shifting load at run time), or, with
     * null, the source's weight again; republishes at once. Control plane only.
     *
     * @return false when the pool has no backend with this id
     */
    public synchronized boolean overrideWeight(int backendId, Integer weight) {
        if (base.byId(backendId) == null) {
            return false;
        }
        if (weight == null) {
            weights.remove(backendId);
        } else if (weight < 0 || weight > Backend.MAX_WEIGHT) {
            throw new IllegalArgumentException("backend weight must be 0.." + Backend.MAX_WEIGHT + ", was " + weight);
        } else {
            weights.put(backendId, weight);
        }
        publish(base);
        return true;
    }

    /**
     * Records what an active health check says of a backend. A failing one is held in {@code failing} whatever
     * any override says: {@link BackendState#DOWN} ends its sessions at their next packet, as IPVS's
     * {@code expire_nodest_conn} does; {@link BackendState#DRAINING} lets them run on, IPVS's default. A source
     * that reports it down still wins. With null, a passing check, the backend is what its source and overrides
     * say. Republishes when it changes. Control plane only.
     */
    public synchronized void health(int backendId, BackendState failing) {
        if (failing == BackendState.ACTIVE) {
            throw new IllegalArgumentException("a failing backend is held DOWN or DRAINING, not ACTIVE");
        }
        BackendState previous = failing == null ? unhealthy.remove(backendId) : unhealthy.put(backendId, failing);
        if (previous != failing) {
            publish(base);
        }
    }

    /**
     * Drops what operators and health checks said of a backend id that has left for good, before the id is handed
     * to another backend, which must not inherit it. Control plane only.
     */
    public synchronized void forget(int backendId) {
        overrides.remove(backendId);
        weights.remove(backendId);
        unhealthy.remove(backendId);
    }

    private BackendPool withOverrides(BackendPool source) {
        BackendPool result = source;
        for (Map.Entry<Integer, BackendState> entry : unhealthy.entrySet()) {
            Backend backend = result.byId(entry.getKey());
            if (backend != null && backend.state() != BackendState.DOWN) {
                result = result.with(backend.withState(entry.getValue()));
            }
        }
        for (Map.Entry<Integer, BackendState> entry : overrides.entrySet()) {
            Backend backend = result.byId(entry.getKey());
            if (backend != null && backend.state() != BackendState.DOWN && !unhealthy.containsKey(entry.getKey())) {
                result = result.with(backend.withState(entry.getValue()));
            }
        }
        for (Map.Entry<Integer, Integer> entry : weights.entrySet()) {
            Backend backend = result.byId(entry.getKey());
            if (backend != null) {
                result = result.with(backend.withWeight(entry.getValue()));
            }
        }
        return result;
    }

    @Override
    public String toString() {
        return name + " " + IpProtocol.name(protocol) + " " + Ipv4Address.format(address) + ":" + port;
    }
}

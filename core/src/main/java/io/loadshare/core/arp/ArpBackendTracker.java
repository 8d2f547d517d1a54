package io.loadshare.core.arp;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendIds;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.packet.ArpHeader;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.scheduler.Scheduler;
import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntPredicate;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one service's backend pool up to date by ARP, on the channel's event loop (paper section 3.1).
 *
 * <p>Discovery: each round the dispatcher broadcasts "who has the cluster address?"; every host that answers
 * holds the address as an alias and is a backend, known by its MAC. A host that misses {@code miss-limit} rounds
 * stops taking new sessions and leaves the pool once it holds none; a new one joins at the round after it first
 * answers, without a restart. Only answers to the
 * dispatcher's own requests count (the pipeline drops unsolicited replies), and {@link DiscoveryLimits} bound who
 * may join and how many.
 *
 * <p>Ids: each backend takes the lowest free id from {@link BackendIds} and returns it once it has left the pool
 * and its sessions have ended, so churn never exhausts the ids.
 *
 * <p>Static backends: each round asks for every backend's own address; the first answer gives its MAC. A backend
 * without an answer for {@code miss-limit} rounds takes no new sessions, with the reason logged, and takes them again
 * when it answers. Its MAC moves only once another MAC alone has answered {@code miss-limit} rounds in a row (a
 * replaced NIC, a migrated VM); another MAC that answers in a round where the backend's own answers too is ignored
 * and counted ({@code arp-mac-conflict}), so no host can move a backend that still answers, however its reply races
 * the dispatcher's request. Its sessions are never ended for want of ARP replies, which a flood can delay: an
 * active health check decides that.
 *
 * <p>Reload: {@link #reconfigure} replaces the static list and the scheduler. A backend taken out drains: it gets no
 * new sessions, keeps its MAC up to date for the sessions it holds, and leaves the pool at the first round after
 * its last session ended, so a reload cuts no connection.
 *
 * <p>Not thread-safe: {@link #onReply} and {@link #tick} run on the event loop. A changed pool is handed to the
 * {@link Publisher}, which publishes it off the loop.
 */
public final class ArpBackendTracker {
    private static final Logger LOG = LoggerFactory.getLogger(ArpBackendTracker.class);

    /**
     * Publishes a new pool for a service, ends the sessions of the backends that left it, then frees the ids of
     * those that are gone for good.
     */
    public interface Publisher {
        void publish(Service service, BackendPool pool, Set<Integer> removed, Set<Integer> released);
    }

    /** What the tracker knows of one backend. */
    private static final class Known {
        final int id;
        final int address;
        int weight;
        long mac;
        int misses;
        /** Its own MAC answered this round. */
        boolean answered;
        /** Another MAC that answered for its address this round, or {@link MacAddress#UNKNOWN}. */
        long challenger = MacAddress.UNKNOWN;
        /** Rounds in a row in which {@link #challenger} alone answered. */
        int challengerRounds;
        boolean up;
        /** Taken out of the configuration by a reload: no new sessions, gone once its last session ends. */
        boolean leaving;
        /**
         * Missed {@code miss-limit} ARP rounds after it had answered: no new sessions, but its sessions go on to its
         * last MAC. A flood can delay ARP replies; only a health check ends sessions.
         */
        boolean silent;

        Known(int id, int address, int weight, long mac) {
            this.id = id;
            this.address = address;
            this.weight = weight;
            this.mac = mac;
        }
    }

    private final Service service;
    private final boolean discovery;
    private final int backendPort;
    private int gateway;
    /** Addresses whose MACs were given, not resolved: always up, never asked for (replaying a capture). */
    private final Set<Integer> pinned = new HashSet<>();
    private final int missLimit;
    private final DiscoveryLimits limits;
    private final BackendIds ids;
    private final Publisher publisher;
    private final Consumer<ControlEvent> events;
    /** Whether a backend id still holds sessions on this tracker's loop. */
    private final IntPredicate holdsSessions;
    private final Map<Long, Known> byMac = new LinkedHashMap<>();
    private boolean macChanged;
    /** What a round could not publish (its publisher threw), carried over to the next round. */
    private boolean unpublished;
    private final Set<Integer> pendingRemoved = new HashSet<>();
    private final Set<Integer> pendingReleased = new HashSet<>();
    /** Requests have gone out: before the first round, any reply is unsolicited. */
    private boolean asking;
    /** One warning per refusal kind and round at most, however many hosts a flood brings. */
    private final Set<ControlEvent> warnedThisRound = new HashSet<>();
    private final Map<Integer, Known> byAddress = new LinkedHashMap<>();

    /**
     * @param staticBackends backend addresses to resolve; empty means discovery by ARP for the service's address
     * @param backendPort the server port of every static backend, or 0 to keep the service port
     * @param limits who may join by discovery, and how many
     * @param ids hands out backend ids, unique across the dispatcher
     * @param events counts what the tracker refuses or survives
     * @param holdsSessions whether a backend id still holds sessions; read on the event loop
     * @throws IllegalStateException when the static backends need more ids than are free
     */
    public ArpBackendTracker(Service service, List<StaticBackend> staticBackends, int backendPort, int missLimit,
            DiscoveryLimits limits, BackendIds ids, Publisher publisher, Consumer<ControlEvent> events,
            IntPredicate holdsSessions) {
        this.service = service;
        this.discovery = staticBackends.isEmpty();
        this.backendPort = backendPort;
        this.missLimit = missLimit;
        this.limits = limits;
        this.ids = ids;
        this.publisher = publisher;
        this.events = events;
        this.holdsSessions = holdsSessions;
        for (StaticBackend backend : staticBackends) {
            int id = ids.allocate();
            if (id < 0) {
                throw new IllegalStateException(service.name() + ": no backend id left for " + backend
                        + "; raise io.loadshare.core.max-backend-id (now " + ids.maxId() + ")");
            }
            byAddress.put(backend.address(), new Known(id, backend.address(), backend.weight(), MacAddress.UNKNOWN));
        }
    }

    /** The pool before any ARP answer: static backends, all down for lack of a MAC; or none. */
    public BackendPool initialPool() {
        List<Backend> backends = new ArrayList<>();
        for (Known known : byAddress.values()) {
            backends.add(new Backend(known.id, known.address, backendPort, known.mac, known.weight,
                    known.up ? BackendState.ACTIVE : BackendState.DOWN));
        }
        return BackendPool.of(backends);
    }

    /**
     * An ARP reply to the dispatcher's own request (the pipeline has checked that it is addressed to the
     * dispatcher) from {@code senderIp} at {@code senderMac}. Replies about addresses this tracker does not ask
     * for are ignored.
     */
    public void onReply(int senderIp, long senderMac) {
        if (!asking) {
            return;
        }
        if (discovery) {
            if (senderIp == service.address()) {
                discovered(senderMac);
            }
            return;
        }
        if (gateway != 0) {
            if (senderIp == gateway) {
                for (Known behind : byAddress.values()) {
                    answered(behind, senderMac);
                }
            }
            return;
        }
        Known known = byAddress.get(senderIp);
        if (known != null && !pinned.contains(senderIp)) {
            answered(known, senderMac);
        }
    }

    private void discovered(long mac) {
        Known known = byMac.get(mac);
        if (known == null) {
            if (!limits.admits(mac)) {
                refuse(ControlEvent.DISCOVERY_NOT_ALLOWED, "{}: ignoring {}, which answered for {}: not in allowed-macs",
                        MacAddress.format(mac));
                return;
            }
            if (byMac.size() >= limits.maxBackends()) {
                refuse(ControlEvent.DISCOVERY_LIMIT, "{}: ignoring {}, which answered for {}: the service has"
                        + " max-backends = " + limits.maxBackends() + " discovered backends", MacAddress.format(mac));
                return;
            }
            int id = ids.allocate();
            if (id < 0) {
                refuse(ControlEvent.BACKEND_IDS_EXHAUSTED, "{}: ignoring {}, which answered for {}: every backend id up"
                        + " to max-backend-id = " + ids.maxId() + " is in use", MacAddress.format(mac));
                return;
            }
            known = new Known(id, service.address(), 1, mac);
            byMac.put(mac, known);
        }
        known.answered = true;
    }

    private void refuse(ControlEvent event, String message, String who) {
        events.accept(event);
        if (warnedThisRound.add(event)) {
            LOG.warn(message + " (counted as {}; further ones this round are only counted)", service.name(), who,
                    Ipv4Address.format(service.address()), event.label());
        }
    }

    /**
     * A reply for a static backend's address. The first one resolves it; after that, only its own MAC counts as its
     * answer, and another MAC is a challenger that {@link #tick} lets take over only once it alone has answered for
     * {@code miss-limit} rounds in a row: no host can move a backend that still answers, whenever its forged reply
     * comes.
     */
    private void answered(Known known, long senderMac) {
        if (known.mac == MacAddress.UNKNOWN || known.mac == senderMac) {
            known.mac = senderMac;
            known.answered = true;
        } else if (known.challenger == MacAddress.UNKNOWN || known.challenger == senderMac) {
            known.challenger = senderMac;
        } else {
            // Two other MACs in one round: neither has a claim.
            known.challengerRounds = -1;
        }
    }

    /** Applies a round's challenger to a static backend: a conflict while its MAC answers, or a move. */
    private void judgeChallenger(Known known) {
        long challenger = known.challenger;
        known.challenger = MacAddress.UNKNOWN;
        if (challenger == MacAddress.UNKNOWN) {
            known.challengerRounds = 0;
            return;
        }
        if (known.answered || known.challengerRounds < 0) {
            known.challengerRounds = 0;
            refuse(ControlEvent.ARP_MAC_CONFLICT, "{}: ignoring {}, which answered for {} while the backend's own MAC"
                    + " answered too", MacAddress.format(challenger));
            return;
        }
        if (++known.challengerRounds < missLimit) {
            return;
        }
        events.accept(ControlEvent.BACKEND_MAC_MOVED);
        LOG.warn("{}: backend {} moved from {} to {}: the new MAC alone answered {} ARP rounds in a row",
                service.name(), Ipv4Address.format(known.address), MacAddress.format(known.mac),
                MacAddress.format(challenger), known.challengerRounds);
        known.challengerRounds = 0;
        known.mac = challenger;
        known.answered = true;
        macChanged |= known.up;
    }

    /**
     * Gives static backends' MACs instead of resolving them: each of this tracker's backends in {@code macs} is up
     * from the first pool on and never asked for by ARP. For replaying a capture, where nothing would answer. Call
     * before {@link #initialPool()}; addresses that are not this tracker's backends are ignored.
     */
    public void pin(Map<Integer, Long> macs) {
        for (Known known : byAddress.values()) {
            Long mac = macs.get(known.address);
            if (mac != null) {
                known.mac = mac;
                known.up = true;
                pinned.add(known.address);
            }
        }
    }

    /**
     * Static backends that sit behind a router: frames for all of them go to the router's MAC, so the router is what
     * ARP resolves, and the backends are up while it answers. Call before the first round.
     */
    public void viaGateway(int gatewayAddress) {
        this.gateway = gatewayAddress;
    }

    /** Ends a round: applies what answered, publishes a changed pool, then asks again. */
    public void tick(Channel channel, long sourceMac, int sourceIp) {
        Collection<Known> all = discovery ? byMac.values() : byAddress.values();
        if (!discovery) {
            for (Known known : all) {
                judgeChallenger(known);
            }
        }
        boolean changed = macChanged || unpublished;
        macChanged = false;
        warnedThisRound.clear();
        Set<Integer> removed = pendingRemoved;
        Set<Integer> released = pendingReleased;
        for (Iterator<Known> it = all.iterator(); it.hasNext(); ) {
            Known known = it.next();
            if (pinned.contains(known.address)) {
                continue;
            }
            if (known.leaving && !(known.up && holdsSessions.test(known.id))) {
                it.remove();
                changed = true;
                removed.add(known.id);
                released.add(known.id);
                LOG.info("{}: backend {} left the pool: no longer configured, and it holds no session",
                        service.name(), Ipv4Address.format(known.address));
                continue;
            }
            if (known.answered) {
                known.misses = 0;
                if (!known.up || known.silent) {
                    changed = true;
                    LOG.info(known.up ? "{}: backend {} at {} answers ARP again: it takes new sessions"
                            : "{}: backend {} at {} is up", service.name(), Ipv4Address.format(known.address),
                            MacAddress.format(known.mac));
                    known.up = true;
                    known.silent = false;
                }
            } else if (known.up && !known.silent && ++known.misses >= missLimit) {
                known.silent = true;
                changed = true;
                LOG.warn("{}: backend {} at {} missed {} ARP round(s): it takes no new sessions; those it holds go on"
                        + " (a failing health check ends them)", service.name(), Ipv4Address.format(known.address),
                        MacAddress.format(known.mac), known.misses);
            } else if (!known.up && !discovery && known.misses++ == missLimit) {
                LOG.warn("{}: backend {} is down: its MAC address cannot be resolved (no ARP reply)", service.name(),
                        Ipv4Address.format(known.address));
            }
            known.answered = false;
            if (discovery && known.silent && !holdsSessions.test(known.id)) {
                it.remove();
                changed = true;
                removed.add(known.id);
                released.add(known.id);
                LOG.info("{}: backend {} left the pool: silent, and it holds no session", service.name(),
                        MacAddress.format(known.mac));
            }
        }
        if (changed) {
            unpublished = true;
            publisher.publish(service, pool(), Set.copyOf(removed), Set.copyOf(released));
            unpublished = false;
            removed.clear();
            released.clear();
        }
        asking = true;
        if (discovery) {
            request(channel, sourceMac, sourceIp, service.address());
        } else if (gateway != 0) {
            request(channel, sourceMac, sourceIp, gateway);
        } else {
            for (int address : byAddress.keySet()) {
                if (!pinned.contains(address)) {
                    request(channel, sourceMac, sourceIp, address);
                }
            }
        }
        channel.flush();
    }

    private BackendPool pool() {
        List<Backend> backends = new ArrayList<>();
        Collection<Known> all = discovery ? byMac.values() : byAddress.values();
        for (Known known : all) {
            backends.add(new Backend(known.id, known.address, backendPort, known.mac, known.weight, state(known)));
        }
        return BackendPool.of(backends);
    }

    private static BackendState state(Known known) {
        if (!known.up) {
            return BackendState.DOWN;
        }
        return known.leaving || known.silent ? BackendState.DRAINING : BackendState.ACTIVE;
    }

    /**
     * Applies a reload of this service on the loop that owns {@code context}: the scheduler first (when
     * {@code schedulers} is not null), then the static backend list. New addresses join once ARP resolves them;
     * addresses no longer listed drain and leave when their last session ends. A listed address that was draining
     * comes back at once; a changed weight applies at once. A discovery service takes an empty list: only its
     * scheduler can change.
     *
     * @return completes once applied
     */
    public Future<?> reconfigure(DispatchContext context, List<StaticBackend> backends,
            Supplier<Scheduler> schedulers) {
        if (discovery != backends.isEmpty()) {
            throw new IllegalArgumentException(service.name() + ": switching between ARP discovery and a static"
                    + " backend list needs a restart");
        }
        if (schedulers != null) {
            service.replaceSchedulers(schedulers);
        }
        return context.eventLoop().submit(() -> {
            if (schedulers != null) {
                context.replaceScheduler(service);
            }
            Map<Integer, Integer> listed = new HashMap<>();
            backends.forEach(backend -> listed.put(backend.address(), backend.weight()));
            boolean changed = false;
            for (Known known : byAddress.values()) {
                boolean leaving = !listed.containsKey(known.address);
                Integer weight = listed.get(known.address);
                if (weight != null && weight != known.weight) {
                    LOG.info("{}: backend {} weight {} -> {}", service.name(), Ipv4Address.format(known.address),
                            known.weight, weight);
                    known.weight = weight;
                    changed = true;
                }
                if (known.leaving != leaving) {
                    known.leaving = leaving;
                    changed = true;
                    LOG.info("{}: backend {} {}", service.name(), Ipv4Address.format(known.address),
                            leaving ? "is no longer configured: draining" : "is configured again");
                }
            }
            for (StaticBackend backend : backends) {
                if (!byAddress.containsKey(backend.address())) {
                    int id = ids.allocate();
                    if (id < 0) {
                        events.accept(ControlEvent.BACKEND_IDS_EXHAUSTED);
                        LOG.error("{}: backend {} cannot join: every backend id up to max-backend-id = {} is in use",
                                service.name(), backend, ids.maxId());
                        continue;
                    }
                    byAddress.put(backend.address(), new Known(id, backend.address(), backend.weight(),
                            MacAddress.UNKNOWN));
                    changed = true;
                    LOG.info("{}: backend {} is configured: joins once ARP resolves it", service.name(), backend);
                }
            }
            if (changed) {
                publisher.publish(service, pool(), Set.of(), Set.of());
            }
        });
    }

    /**
     * Runs ARP rounds for {@code trackers} on the channel's event loop: one now, then one every {@code interval}.
     * A tracker whose round throws is logged and counted, and the rounds go on: an exception must never end
     * discovery for good.
     *
     * @param sourceMac read at each round: the channel's MAC is known only once it is bound
     * @param sourceIp the sender address of the requests (0.0.0.0 sends probes)
     * @return the rounds, to cancel when the channel goes
     */
    public static ScheduledFuture<?> startRounds(Channel channel, List<ArpBackendTracker> trackers, Duration interval,
            LongSupplier sourceMac, int sourceIp) {
        Runnable round = () -> {
            long mac = sourceMac.getAsLong();
            for (ArpBackendTracker tracker : trackers) {
                try {
                    tracker.tick(channel, mac, sourceIp);
                } catch (RuntimeException e) {
                    tracker.events.accept(ControlEvent.ARP_ROUND_FAILED);
                    LOG.error("{}: ARP round failed; the next round runs as usual", tracker.service.name(), e);
                }
            }
        };
        channel.eventLoop().execute(round);
        long nanos = interval.toNanos();
        return channel.eventLoop().scheduleAtFixedRate(round, nanos, nanos, TimeUnit.NANOSECONDS);
    }

    private static void request(Channel channel, long sourceMac, int sourceIp, int target) {
        channel.write(Frames.arp(channel.alloc().directBuffer(64), MacAddress.BROADCAST, sourceMac, ArpHeader.REQUEST,
                sourceMac, sourceIp, MacAddress.ZERO, target), channel.voidPromise());
    }
}

package io.loadshare.core.arp;

import com.google.common.base.Ticker;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.typesafe.config.Config;
import io.loadshare.core.backend.BackendIds;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.StaticBackend;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerRegistry;
import io.loadshare.core.session.Persistence;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.PromiseCombiner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A dispatcher's services, each with the {@link ArpBackendTracker} that keeps its pool, the data-plane contexts
 * of its workers (one per event loop, each with its own session table, counters and schedulers), and the
 * control-plane thread that publishes the pools the trackers change. The trackers live on the first worker's
 * loop. The LSMAC and LSNAT dispatchers both build one.
 */
public final class TrackedServices {
    /**
     * What a dispatch mode says of one service.
     *
     * @param backends static backends; empty means discovery by ARP for the service's address
     * @param backendPort the backends' server port, or 0 to keep the service port
     * @param gateway the router the backends sit behind, or 0 when they are on-link
     * @param persistence how clients stick to their backend, or null
     */
    public record Spec(String name, int address, int protocol, int port, String scheduler, Config schedulerSettings,
            List<StaticBackend> backends, int backendPort, int gateway, Persistence persistence) {
    }

    private final List<Service> services;
    private final List<ArpBackendTracker> trackers;
    private final List<DispatchContext> contexts;
    private final SchedulerRegistry registry;
    private final ExecutorService controlPlane;
    private final BackendIds ids;

    /**
     * @param missLimit ARP rounds a backend may miss before it goes down
     * @param discovery who may join the services that discover their backends by ARP; null when none does
     * @param pinnedMacs backend MACs given rather than resolved (replaying a capture)
     * @param seesReplies the mode carries both directions (LSNAT): see {@link DispatchContext}
     * @param controlThread the control-plane thread's name
     * @param workers data-plane contexts to make, one per event loop; the session limits are split among them
     */
    public TrackedServices(List<Spec> specs, CoreSettings coreSettings, SchedulerRegistry registry, int missLimit,
            DiscoveryLimits discovery, Map<Integer, Long> pinnedMacs, boolean seesReplies, String controlThread,
            int workers) {
        this.registry = registry;
        this.controlPlane = Executors.newSingleThreadExecutor(
                new ThreadFactoryBuilder().setNameFormat(controlThread).setDaemon(true).build());
        this.ids = new BackendIds(coreSettings.maxBackendId());
        List<Service> built = new ArrayList<>();
        List<ArpBackendTracker> trackerList = new ArrayList<>();
        for (Spec spec : specs) {
            if (spec.backends().isEmpty() && discovery == null) {
                throw new IllegalArgumentException(spec.name() + ": this dispatch mode does not discover backends;"
                        + " list them");
            }
            registry.factory(spec.scheduler());
            Service service = new Service(built.size(), spec.name(), spec.address(), spec.protocol(), spec.port(),
                    () -> registry.create(spec.scheduler(), spec.schedulerSettings()), BackendPool.empty(),
                    spec.persistence());
            ArpBackendTracker tracker = new ArpBackendTracker(service, spec.backends(), spec.backendPort(), missLimit,
                    discovery, ids, this::publish, this::count, this::holdsSessions);
            if (spec.gateway() != 0) {
                tracker.viaGateway(spec.gateway());
            }
            tracker.pin(pinnedMacs);
            service.publish(tracker.initialPool());
            built.add(service);
            trackerList.add(tracker);
        }
        this.services = List.copyOf(built);
        this.trackers = List.copyOf(trackerList);
        CoreSettings share = coreSettings.perWorker(workers);
        ServiceTable table = new ServiceTable(services);
        List<DispatchContext> made = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
            made.add(new DispatchContext(share, table, Ticker.systemTicker(), seesReplies));
        }
        this.contexts = List.copyOf(made);
    }

    public List<Service> services() {
        return services;
    }

    public List<ArpBackendTracker> trackers() {
        return trackers;
    }

    /** The first worker's data-plane state, on whose loop the trackers run and control events are counted. */
    public DispatchContext context() {
        return contexts.getFirst();
    }

    /** Every worker's data-plane state, in worker order. */
    public List<DispatchContext> contexts() {
        return contexts;
    }

    /**
     * Applies a reload of one service: the static backends on the trackers' loop (new ones join once resolved,
     * dropped ones drain until their last session ends) and, unless {@code scheduler} is null, a new scheduler on
     * every worker's loop. See {@link ArpBackendTracker#reconfigure}.
     *
     * @return completes once every event loop has applied it
     */
    public Future<?> reconfigure(int serviceIndex, List<StaticBackend> backends, String scheduler,
            Config schedulerSettings) {
        Supplier<Scheduler> schedulers = scheduler == null ? null
                : () -> registry.create(scheduler, schedulerSettings);
        Service service = services.get(serviceIndex);
        PromiseCombiner combiner = new PromiseCombiner(ImmediateEventExecutor.INSTANCE);
        combiner.add(trackers.get(serviceIndex).reconfigure(context(), backends, schedulers));
        if (schedulers != null) {
            for (DispatchContext worker : contexts.subList(1, contexts.size())) {
                combiner.add(worker.submit(() -> worker.replaceScheduler(service)));
            }
        }
        Promise<Void> all = ImmediateEventExecutor.INSTANCE.newPromise();
        combiner.finish(all);
        return all;
    }

    /**
     * Publishes off the event loop (a Maglev table takes a millisecond), then ends the departed backends' sessions
     * and, once nothing refers to them, frees the ids of those gone for good (their counters start again at 0, and
     * no override, health finding or persistence template passes to the next backend that takes the id).
     */
    private void publish(Service service, BackendPool pool, Set<Integer> removed, Set<Integer> released) {
        controlPlane.execute(() -> {
            service.publish(pool);
            if (!removed.isEmpty() || !released.isEmpty()) {
                // An id is free again once every worker has ended its sessions and cleared its counters.
                AtomicInteger workersLeft = new AtomicInteger(contexts.size());
                for (DispatchContext worker : contexts) {
                    worker.submit(() -> worker.endSessionsOf(service.index(), removed).addListener(ended -> {
                        for (int id : released) {
                            worker.counters().resetBackend(id);
                        }
                        // The next backend to take a released id must not inherit its persistent clients.
                        if (worker.templates() != null && !released.isEmpty()) {
                            worker.templates().removeBackends(service.index(), released);
                        }
                        if (workersLeft.decrementAndGet() == 0) {
                            for (int id : released) {
                                service.forget(id);
                                ids.release(id);
                            }
                        }
                    }));
                }
            }
        });
    }

    private boolean holdsSessions(int backendId) {
        for (DispatchContext worker : contexts) {
            if (worker.counters().activeSessions(backendId) > 0) {
                return true;
            }
        }
        return false;
    }

    private void count(ControlEvent event) {
        context().counters().event(event);
    }

    /** Backend ids in use across the services. */
    public int backendIdsInUse() {
        return ids.inUse();
    }

    /** Stops the control-plane thread; call when the channels are gone. */
    public void shutdown() {
        controlPlane.shutdown();
    }
}

package io.loadshare.core.pipeline;

import com.google.common.base.Ticker;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.metrics.DispatchCounters;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.session.PersistenceTemplates;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.session.SessionListener;
import io.loadshare.core.session.SessionState;
import io.loadshare.core.session.SessionTable;
import io.loadshare.core.session.SourceLimiter;
import io.loadshare.core.session.StandbySessions;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The data-plane state of one event loop: its session table, its counters, its scheduler for each service and
 * its clock. Every channel whose pipeline shares a context must be registered on the same event loop; nothing
 * here takes a lock.
 */
public final class DispatchContext implements SessionListener {
    /** Slots a backend's removal visits per task: about 400 KB of table, a fraction of a millisecond. */
    private static final int REMOVAL_SLICE = 16_384;
    private static final int MAX_REMOVAL_PASSES = 4;
    private final ServiceTable services;
    private final Scheduler[] schedulers;
    private final SessionTable sessions;
    private final SourceLimiter sourceLimiter;
    /** Null unless a service persists clients. */
    private final PersistenceTemplates templates;
    private final int templateSweepBudget;
    private final DispatchCounters counters;
    private final Ticker ticker;
    private final long originNanos;
    private final long sweepIntervalNanos;
    private ScheduledFuture<?> sweeper;
    private volatile EventExecutor loop;
    private SessionListener natPortListener;
    private FlowOffload offload = FlowOffload.NONE;
    /** Null unless sessions held elsewhere can be taken over. */
    private StandbySessions standby;
    private final StandbySessions.Entry standbyEntry = new StandbySessions.Entry();
    private SourceNatAddresses sourceNats = SourceNatAddresses.NONE;

    public DispatchContext(CoreSettings settings, ServiceTable services, Ticker ticker) {
        this(settings, services, ticker, false);
    }

    /**
     * @param seesReplies the mode carries both directions (LSNAT): sessions keep their last hop and are established
     *     only after the backend's SYN-ACK ({@link SessionTable})
     */
    public DispatchContext(CoreSettings settings, ServiceTable services, Ticker ticker, boolean seesReplies) {
        this.services = Objects.requireNonNull(services, "services");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.originNanos = ticker.read();
        this.sweepIntervalNanos = settings.session().sweepInterval().toNanos();
        this.counters = new DispatchCounters(settings.maxBackendId());
        this.sessions = new SessionTable(settings.session(), this, seesReplies);
        this.sourceLimiter = settings.sourceLimit().enabled() ? new SourceLimiter(settings.sourceLimit()) : null;
        boolean persists = services.services().stream().anyMatch(s -> s.persistence() != null);
        int templatesMax = settings.session().persistenceTemplates();
        this.templates = persists ? new PersistenceTemplates(templatesMax) : null;
        this.templateSweepBudget = (int) Math.max(1, (long) templatesMax * 4 / 3
                * settings.session().sweepInterval().toNanos() / settings.session().sweepCycle().toNanos());
        this.schedulers = new Scheduler[services.indexLimit()];
        for (Service service : services.services()) {
            schedulers[service.index()] = service.newScheduler();
        }
    }

    public DispatchContext(CoreSettings settings, ServiceTable services) {
        this(settings, services, Ticker.systemTicker());
    }

    public ServiceTable services() {
        return services;
    }

    public SessionTable sessions() {
        return sessions;
    }

    /** This loop's per-source limits on new sessions; null when they are off. */
    public SourceLimiter sourceLimiter() {
        return sourceLimiter;
    }

    /** This loop's persistence templates; null when no service persists clients. */
    public PersistenceTemplates templates() {
        return templates;
    }

    public DispatchCounters counters() {
        return counters;
    }

    /** This loop's scheduler for a service. */
    public Scheduler scheduler(Service service) {
        return schedulers[service.index()];
    }

    /**
     * Swaps this loop's scheduler for a service for a new one from {@link Service#newScheduler} (after
     * {@link Service#replaceSchedulers}), told first of the sessions every backend already holds, so that a
     * least-connections algorithm starts from the real counts. Call on the owning loop.
     */
    public void replaceScheduler(Service service) {
        Scheduler next = service.newScheduler();
        for (Backend backend : service.pool().all()) {
            for (long n = counters.activeSessions(backend.id()); n > 0; n--) {
                next.sessionOpened(backend);
            }
        }
        schedulers[service.index()] = next;
    }

    /** The sessions this loop may take over (session sync, a restart's hand-over); null when there are none. */
    public StandbySessions standby() {
        return standby;
    }

    /** This loop's holder for what {@link StandbySessions#find} found. */
    public StandbySessions.Entry standbyEntry() {
        return standbyEntry;
    }

    /** The source-NAT addresses its sessions' NAT ports belong to; {@link SourceNatAddresses#NONE} unless full NAT. */
    public SourceNatAddresses sourceNats() {
        return sourceNats;
    }

    /** Sets {@link #sourceNats}; the mode calls this once, before {@link #start}. */
    public void sourceNats(SourceNatAddresses addresses) {
        this.sourceNats = Objects.requireNonNull(addresses, "addresses");
    }

    /** Lets this loop take over the sessions in {@code store}; call before {@link #start}. */
    public void standby(StandbySessions store) {
        this.standby = Objects.requireNonNull(store, "store");
    }

    /**
     * Takes over the standby session of a flow that has none here: creates it with the backend (and NAT port and
     * last hop) its owner gave it, established unless the packet is a SYN, before any scheduler runs. A SYN on a
     * session that was closing takes nothing over. The owner
     * reported the backend by address; one that is down here, or unknown, takes nothing over.
     *
     * @param tcpFlags the flags of the packet that found no session (0 for UDP)
     * @return the new session's slot, or -1 when there is nothing to take over (or no room)
     */
    public int takeOver(Service service, int protocol, int client, int clientPort, int tcpFlags, int now) {
        if (standby == null || !standby.find(protocol, client, clientPort, service.address(), service.port(),
                standbyEntry)) {
            return -1;
        }
        if ((tcpFlags & TcpHeader.SYN) != 0 && !SessionState.isHalfOpen(standbyEntry.state())) {
            // A retransmitted SYN meets a handshake the peer saw begin; past that, the client reuses the port of a
            // connection that has ended or is ending (its end may not have reached here): a new connection.
            return -1;
        }
        return takeOverFound(service, protocol, tcpFlags, now);
    }

    /**
     * {@link #takeOver} for a full-NAT reply, which names its session by the source-NAT address and port it was
     * sent to.
     *
     * @return the new session's slot, or -1
     */
    public int takeOverByNat(Service service, int protocol, int natAddress, int natPort, int now) {
        if (standby == null || !standby.findByNat(protocol, natAddress, natPort, standbyEntry)
                || standbyEntry.address() != service.address() || standbyEntry.port() != service.port()) {
            return -1;
        }
        return takeOverFound(service, protocol, 0, now);
    }

    private int takeOverFound(Service service, int protocol, int tcpFlags, int now) {
        int natAddress = standbyEntry.natPort() == 0 ? 0 : sourceNats.indexOf(service.index(),
                standbyEntry.natAddress());
        if (natAddress < 0) {
            return -1;
        }
        Backend backend = null;
        List<Backend> backends = service.pool().all();
        for (int i = 0; i < backends.size(); i++) {
            Backend candidate = backends.get(i);
            if (candidate.address() == standbyEntry.backendAddress() && candidate.state() != BackendState.DOWN) {
                backend = candidate;
                break;
            }
        }
        if (backend == null || sessions.isFull() && !sessions.evictHalfOpen()) {
            return -1;
        }
        int slot = sessions.insert(protocol, standbyEntry.client(), standbyEntry.clientPort(), service.address(),
                service.port(), service.index(), backend.id(), now);
        if (slot < 0) {
            return -1;
        }
        if (standbyEntry.lastHop() != 0 && sessions.keepsLastHops()) {
            sessions.setLastHop(slot, standbyEntry.lastHop());
        }
        if (standbyEntry.natPort() != 0) {
            sessions.setNatAddress(slot, natAddress);
            sessions.setNatPort(slot, standbyEntry.natPort());
        }
        if (protocol == IpProtocol.TCP && (tcpFlags & TcpHeader.SYN) == 0) {
            sessions.continueEstablished(slot, tcpFlags, now);
        }
        schedulers[service.index()].sessionOpened(backend);
        counters.sessionOpened(backend.id());
        counters.event(ControlEvent.SESSION_TAKEN_OVER);
        standby.countTakeOver();
        return slot;
    }

    /** The loop this context was started on, where its state may be touched. */
    public EventExecutor eventLoop() {
        EventExecutor current = loop;
        if (current == null) {
            throw new IllegalStateException("the dispatch context has not been started on an event loop yet");
        }
        return current;
    }

    /** The fast path this loop's sessions are handed to; {@link FlowOffload#NONE} unless one was attached. */
    public FlowOffload offload() {
        return offload;
    }

    /**
     * Attaches a fast path: established sessions are handed to it from now on. Call on the owning loop; the
     * context closes it when it stops.
     */
    public void offload(FlowOffload fastPath) {
        this.offload = Objects.requireNonNull(fastPath, "fastPath");
        sessions.offloadTo(fastPath);
        fastPath.sync(this);
    }

    /** Milliseconds on this context's clock, the time base of session deadlines. */
    public int now() {
        return (int) TimeUnit.NANOSECONDS.toMillis(ticker.read() - originNanos);
    }

    /** Counts a drop and releases the message: the one way the data path discards a frame. */
    public void drop(Object msg, DropReason reason) {
        counters.drop(reason);
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void sessionClosed(int serviceIndex, int backendId, int natPort, int natAddress, SessionEnd end) {
        counters.sessionClosed(backendId, end);
        if (serviceIndex < schedulers.length && schedulers[serviceIndex] != null) {
            schedulers[serviceIndex].sessionClosed(backendId);
        }
        if (natPort != 0 && natPortListener != null) {
            natPortListener.sessionClosed(serviceIndex, backendId, natPort, natAddress, end);
        }
    }

    /** Told about every closed session that held a NAT port, so the mode can return the port to its pool. */
    public void onNatPortReleased(SessionListener listener) {
        this.natPortListener = listener;
    }

    /**
     * Ends every session of a service whose backend is in {@code backendIds} (counted as
     * {@link SessionEnd#BACKEND_GONE}), {@value #REMOVAL_SLICE} slots of the table per task, so that the loop goes on
     * forwarding between slices instead of stalling for a whole table (a million sessions take milliseconds). No
     * new session can take such a backend meanwhile. Passes repeat until the backends' active counts are 0. Call on
     * the owning loop after publishing a pool without them.
     *
     * @return completes, on the owning loop, once none of their sessions is left
     */
    public Future<?> endSessionsOf(int serviceIndex, Set<Integer> backendIds) {
        SessionTable.SlotPredicate gone = (table, slot) -> table.serviceIndex(slot) == serviceIndex
                && backendIds.contains(table.backendId(slot));
        EventExecutor current = loop;
        if (current == null) {
            sessions.removeIf(gone, SessionEnd.BACKEND_GONE);
            return ImmediateEventExecutor.INSTANCE.newSucceededFuture(null);
        }
        Promise<Void> done = current.newPromise();
        endSessionsFrom(0, 0, backendIds, gone, done);
        return done;
    }

    private void endSessionsFrom(int slot, int visited, Set<Integer> backendIds, SessionTable.SlotPredicate gone,
            Promise<Void> done) {
        boolean left = false;
        for (int id : backendIds) {
            left |= counters.activeSessions(id) > 0;
        }
        // A pass finds all but what removals shifted back over its start: a few passes at most, whatever the counts.
        if (!left || visited >= MAX_REMOVAL_PASSES * sessions.capacity()) {
            done.setSuccess(null);
            return;
        }
        int next = sessions.removeIf(slot, REMOVAL_SLICE, gone, SessionEnd.BACKEND_GONE);
        offload.flush();
        loop.execute(() -> endSessionsFrom(next, visited + REMOVAL_SLICE, backendIds, gone, done));
    }

    /** Runs one slice of the expiry sweep; the sweeper calls this every {@code sweep-interval}. */
    public int sweep() {
        int now = now();
        if (templates != null) {
            templates.sweep(now, templateSweepBudget);
        }
        offload.learn(this);
        offload.sync(this);
        int ended = sessions.sweep(now);
        offload.flush();
        return ended;
    }

    /**
     * Runs {@code task} on the owning loop; before {@link #start}, when nothing runs on this context yet, at once.
     * For the control plane, which may act on a worker whose channel is still being bound.
     */
    public Future<?> submit(Runnable task) {
        EventExecutor current = loop;
        if (current == null) {
            task.run();
            return ImmediateEventExecutor.INSTANCE.newSucceededFuture(null);
        }
        return current.submit(task);
    }

    /** Starts the periodic expiry sweep on the loop that owns this context. Idempotent. */
    public void start(EventExecutor loop) {
        this.loop = loop;
        if (sweeper == null) {
            sweeper = loop.scheduleAtFixedRate(this::sweep, sweepIntervalNanos, sweepIntervalNanos,
                    TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Stops the sweep, detaches the fast path and ends every session (counted as flushed). Call on the owning
     * loop.
     */
    public void stop() {
        if (sweeper != null) {
            sweeper.cancel(false);
            sweeper = null;
        }
        FlowOffload detached = offload;
        offload = FlowOffload.NONE;
        sessions.offloadTo(FlowOffload.NONE);
        detached.close();
        sessions.removeIf((table, slot) -> true, SessionEnd.FLUSHED);
    }
}

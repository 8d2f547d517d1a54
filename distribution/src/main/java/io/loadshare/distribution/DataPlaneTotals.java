package io.loadshare.distribution;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.Service;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.session.PersistenceTemplates;
import io.loadshare.core.session.SessionEnd;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * The data plane's figures summed over its workers, read from the control plane without locks: every counter has
 * one writer (its worker's loop) and is read opaquely.
 */
final class DataPlaneTotals {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);
    private final List<DispatchContext> workers;

    DataPlaneTotals(List<DispatchContext> workers) {
        this.workers = List.copyOf(workers);
    }

    private long sum(ToLongFunction<DispatchContext> figure) {
        long total = 0;
        for (DispatchContext worker : workers) {
            total += figure.applyAsLong(worker);
        }
        return total;
    }

    long packets(int backendId) {
        return sum(c -> c.counters().packets(backendId));
    }

    long bytes(int backendId) {
        return sum(c -> c.counters().bytes(backendId));
    }

    long sessionsOpened(int backendId) {
        return sum(c -> c.counters().sessionsOpened(backendId));
    }

    long activeSessions(int backendId) {
        return sum(c -> c.counters().activeSessions(backendId));
    }

    long drops(DropReason reason) {
        return sum(c -> c.counters().drops(reason));
    }

    long events(ControlEvent event) {
        return sum(c -> c.counters().events(event));
    }

    long sessionsEnded(SessionEnd end) {
        return sum(c -> c.counters().sessionsEnded(end));
    }

    long sessionsIn(int state) {
        return sum(c -> c.sessions().sessionsIn(state));
    }

    long persistenceTemplates() {
        return sum(c -> {
            PersistenceTemplates templates = c.templates();
            return templates == null ? 0 : templates.size();
        });
    }

    /** Whether any worker's table is above its pressure watermark. */
    boolean underPressure() {
        return sum(c -> c.sessions().underPressure() ? 1 : 0) > 0;
    }

    /** The reasons frames were dropped for so far, by label, in declaration order. */
    Map<String, Long> dropsByReason() {
        Map<String, Long> seen = new LinkedHashMap<>();
        for (DropReason reason : DropReason.values()) {
            long drops = drops(reason);
            if (drops > 0) {
                seen.put(reason.label(), drops);
            }
        }
        return seen;
    }

    long totalDrops() {
        return sum(c -> c.counters().totalDrops());
    }

    /** Sessions the data plane holds, each worker's table read on its own loop; a stopping worker counts none. */
    int sessionsHeld() throws InterruptedException {
        int held = 0;
        for (DispatchContext worker : workers) {
            try {
                held += worker.eventLoop().submit(() -> worker.sessions().size()).get(1, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException | RejectedExecutionException e) {
                // A worker that cannot answer is stopping: nothing left there.
            }
        }
        return held;
    }

    /** Logs every backend's final counters and the drops by reason, once the workers have stopped. */
    void logFinal(List<Service> services) {
        for (Service service : services) {
            for (Backend backend : service.pool().all()) {
                LOG.info("stopped {}: backend {}: {} sessions, {} packets, {} bytes", service.name(),
                        Ipv4Address.format(backend.address()), sessionsOpened(backend.id()), packets(backend.id()),
                        bytes(backend.id()));
            }
        }
        LOG.info("stopped: {} frames dropped {}", totalDrops(), dropsByReason());
    }
}

package io.loadshare.core.metrics;

import io.loadshare.core.session.SessionEnd;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The counters of one event loop: drops by reason, control events, and per backend id the packets and bytes sent
 * to it and the sessions opened and closed. Written only by that loop; read by the control plane (metrics,
 * status) at any time.
 */
public final class DispatchCounters {
    private static final int PACKETS = 0;
    private static final int BYTES = 1;
    private static final int OPENED = 2;
    private static final int CLOSED = 3;
    private static final int PER_BACKEND = 4;
    private static final DropReason[] REASONS = DropReason.values();
    private static final SessionEnd[] ENDS = SessionEnd.values();
    private static final ControlEvent[] EVENTS = ControlEvent.values();

    private final LongCounters drops = new LongCounters(REASONS.length);
    private final LongCounters ends = new LongCounters(ENDS.length);
    private final LongCounters events = new LongCounters(EVENTS.length);
    private final LongCounters backends;
    private final int maxBackendId;

    /** @param maxBackendId the largest backend id that will be counted */
    public DispatchCounters(int maxBackendId) {
        this.maxBackendId = maxBackendId;
        this.backends = new LongCounters((maxBackendId + 1) * PER_BACKEND);
    }

    public void drop(DropReason reason) {
        drops.increment(reason.ordinal());
    }

    public void forwarded(int backendId, int bytes) {
        if (backendId <= maxBackendId) {
            int base = backendId * PER_BACKEND;
            backends.increment(base + PACKETS);
            backends.add(base + BYTES, bytes);
        }
    }

    public void sessionOpened(int backendId) {
        if (backendId <= maxBackendId) {
            backends.increment(backendId * PER_BACKEND + OPENED);
        }
    }

    public void sessionClosed(int backendId, SessionEnd end) {
        ends.increment(end.ordinal());
        if (backendId <= maxBackendId) {
            backends.increment(backendId * PER_BACKEND + CLOSED);
        }
    }

    public void event(ControlEvent event) {
        events.increment(event.ordinal());
    }

    public long events(ControlEvent event) {
        return events.get(event.ordinal());
    }

    /**
     * Zeroes a backend id's counters before the id is handed to another backend. Writer thread only, once the id
     * holds no session.
     */
    public void resetBackend(int backendId) {
        if (backendId >= 0 && backendId <= maxBackendId) {
            for (int which = 0; which < PER_BACKEND; which++) {
                int index = backendId * PER_BACKEND + which;
                backends.add(index, -backends.get(index));
            }
        }
    }

    public long drops(DropReason reason) {
        return drops.get(reason.ordinal());
    }

    /** The reasons frames were dropped for so far, by label, in declaration order. Control plane only. */
    public Map<String, Long> dropsByReason() {
        Map<String, Long> seen = new LinkedHashMap<>();
        for (DropReason reason : REASONS) {
            if (drops(reason) > 0) {
                seen.put(reason.label(), drops(reason));
            }
        }
        return seen;
    }

    /** Sum of all drop reasons. */
    public long totalDrops() {
        long sum = 0;
        for (DropReason reason : REASONS) {
            sum += drops(reason);
        }
        return sum;
    }

    public long sessionsEnded(SessionEnd end) {
        return ends.get(end.ordinal());
    }

    public long packets(int backendId) {
        return backendCounter(backendId, PACKETS);
    }

    public long bytes(int backendId) {
        return backendCounter(backendId, BYTES);
    }

    public long sessionsOpened(int backendId) {
        return backendCounter(backendId, OPENED);
    }

    public long sessionsClosed(int backendId) {
        return backendCounter(backendId, CLOSED);
    }

    /** Opened minus closed: sessions this loop holds for the backend. */
    public long activeSessions(int backendId) {
        return sessionsOpened(backendId) - sessionsClosed(backendId);
    }

    public int maxBackendId() {
        return maxBackendId;
    }

    private long backendCounter(int backendId, int which) {
        return backendId >= 0 && backendId <= maxBackendId ? backends.get(backendId * PER_BACKEND + which) : 0;
    }
}

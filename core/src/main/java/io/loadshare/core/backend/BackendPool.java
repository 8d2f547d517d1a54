package io.loadshare.core.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An immutable snapshot of one service's backends. The control plane builds a new pool for every change and
 * publishes it atomically; the data plane reads whichever snapshot it loaded, without locks. The arrays behind
 * the accessors are never exposed, so a snapshot cannot change after publication.
 */
public final class BackendPool {
    private static final AtomicLong VERSIONS = new AtomicLong();
    private static final BackendPool EMPTY = new BackendPool(List.of());

    private final List<Backend> all;
    private final Backend[] available;
    private final Backend[] byId;
    private final long totalAvailableWeight;
    private final int maxAvailableWeight;
    private final long version;

    private BackendPool(List<Backend> backends) {
        this.all = List.copyOf(backends);
        int maxId = -1;
        List<Backend> up = new ArrayList<>();
        long total = 0;
        int max = 0;
        for (Backend backend : all) {
            maxId = Math.max(maxId, backend.id());
            if (backend.isAvailable()) {
                up.add(backend);
                total += backend.weight();
                max = Math.max(max, backend.weight());
            }
        }
        this.byId = new Backend[maxId + 1];
        for (Backend backend : all) {
            if (byId[backend.id()] != null) {
                throw new IllegalArgumentException("two backends share id " + backend.id() + ": " + byId[backend.id()]
                        + " and " + backend);
            }
            byId[backend.id()] = backend;
        }
        this.available = up.toArray(Backend[]::new);
        this.totalAvailableWeight = total;
        this.maxAvailableWeight = max;
        this.version = VERSIONS.incrementAndGet();
    }

    public static BackendPool of(List<Backend> backends) {
        return new BackendPool(backends);
    }

    public static BackendPool empty() {
        return EMPTY;
    }

    /** Every backend, in the order given, whatever its state. */
    public List<Backend> all() {
        return all;
    }

    /** Backends that take new sessions: active with a weight above zero. */
    public int availableCount() {
        return available.length;
    }

    /** The {@code i}-th available backend, {@code 0 <= i < availableCount()}. */
    public Backend available(int i) {
        return available[i];
    }

    /** The backend with this id, in any state, or null when the pool has none. */
    public Backend byId(int id) {
        return id >= 0 && id < byId.length ? byId[id] : null;
    }

    /** Looks a backend up by id for the control plane. */
    public Optional<Backend> find(int id) {
        return Optional.ofNullable(byId(id));
    }

    public long totalAvailableWeight() {
        return totalAvailableWeight;
    }

    public int maxAvailableWeight() {
        return maxAvailableWeight;
    }

    /** Process-wide increasing number: a newer snapshot has a larger version. */
    public long version() {
        return version;
    }

    /** A new pool with one backend replaced (matched by id) or added. */
    public BackendPool with(Backend backend) {
        List<Backend> next = new ArrayList<>(all.size() + 1);
        boolean replaced = false;
        for (Backend b : all) {
            if (b.id() == backend.id()) {
                next.add(backend);
                replaced = true;
            } else {
                next.add(b);
            }
        }
        if (!replaced) {
            next.add(backend);
        }
        return new BackendPool(next);
    }

    /** A new pool without the backend of this id. */
    public BackendPool without(int id) {
        return new BackendPool(all.stream().filter(b -> b.id() != id).toList());
    }

    @Override
    public String toString() {
        return "BackendPool v" + version + " " + all;
    }
}

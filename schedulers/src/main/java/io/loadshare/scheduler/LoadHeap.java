package io.loadshare.scheduler;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;

/**
 * An indexed binary min-heap of a pool's available backends, ordered by a connection-counting cost, so that a
 * pick is O(1) and each session open or close is O(log backends). Owned by one event loop. It holds live session
 * counts, so it is rebuilt (O(backends), no allocation once its arrays are large enough) on the event loop when
 * the pool snapshot changes, not in {@code prepare}.
 */
final class LoadHeap {
    private final LeastConnectionsScheduler.Policy policy;
    private final ActiveSessions active;
    private int[] heap = new int[0];
    private int[] weights = new int[0];
    private int[] positions = new int[0];
    private int size;
    private BackendPool pool;

    LoadHeap(LeastConnectionsScheduler.Policy policy, ActiveSessions active) {
        this.policy = policy;
        this.active = active;
    }

    /** The backend of lowest cost in {@code current}, or null when it has none available. */
    Backend min(BackendPool current) {
        if (current != pool) {
            rebuild(current);
        }
        return size == 0 ? null : current.byId(heap[0]);
    }

    /** The backend's session count went up (true) or down (false). */
    void changed(int id, boolean increased) {
        if (id >= positions.length) {
            return;
        }
        int at = positions[id];
        if (at < 0) {
            return;
        }
        if (increased) {
            siftDown(at);
        } else {
            siftUp(at);
        }
    }

    private void rebuild(BackendPool next) {
        pool = next;
        size = next.availableCount();
        int maxId = 0;
        for (int i = 0; i < size; i++) {
            maxId = Math.max(maxId, next.available(i).id());
        }
        if (heap.length < size) {
            heap = new int[size];
        }
        if (positions.length <= maxId) {
            positions = new int[maxId + 1];
            weights = new int[maxId + 1];
        }
        java.util.Arrays.fill(positions, -1);
        for (int i = 0; i < size; i++) {
            Backend backend = next.available(i);
            heap[i] = backend.id();
            positions[backend.id()] = i;
            weights[backend.id()] = backend.weight();
        }
        for (int i = size / 2 - 1; i >= 0; i--) {
            siftDown(i);
        }
    }

    /** Whether backend {@code a} costs less than backend {@code b}. */
    private boolean less(int a, int b) {
        long loadA = active.get(a);
        long loadB = active.get(b);
        return switch (policy) {
            case LEAST_CONNECTIONS -> loadA < loadB;
            case WEIGHTED_LEAST_CONNECTIONS -> loadA * weights[b] < loadB * weights[a];
            case SHORTEST_EXPECTED_DELAY -> (loadA + 1) * weights[b] < (loadB + 1) * weights[a];
            case NEVER_QUEUE -> loadA == 0 || loadB == 0
                    ? loadA == 0 && (loadB != 0 || weights[a] > weights[b])
                    : (loadA + 1) * weights[b] < (loadB + 1) * weights[a];
        };
    }

    private void siftUp(int at) {
        int id = heap[at];
        while (at > 0) {
            int parent = (at - 1) >>> 1;
            if (!less(id, heap[parent])) {
                break;
            }
            place(heap[parent], at);
            at = parent;
        }
        place(id, at);
    }

    private void siftDown(int at) {
        int id = heap[at];
        while (true) {
            int child = 2 * at + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && less(heap[child + 1], heap[child])) {
                child++;
            }
            if (!less(heap[child], id)) {
                break;
            }
            place(heap[child], at);
            at = child;
        }
        place(id, at);
    }

    private void place(int id, int at) {
        heap[at] = id;
        positions[id] = at;
    }
}

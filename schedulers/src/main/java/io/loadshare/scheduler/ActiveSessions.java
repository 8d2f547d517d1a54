package io.loadshare.scheduler;

import io.loadshare.core.backend.Backend;

/**
 * Active-session counts by backend id, for the connection-counting schedulers. Owned by one event loop, like the
 * scheduler that holds it; grows only when a larger backend id first appears.
 */
final class ActiveSessions {
    private int[] counts = new int[16];

    void opened(Backend backend) {
        int id = backend.id();
        if (id >= counts.length) {
            int[] grown = new int[Math.max(id + 1, counts.length * 2)];
            System.arraycopy(counts, 0, grown, 0, counts.length);
            counts = grown;
        }
        counts[id]++;
    }

    void closed(int backendId) {
        if (backendId < counts.length && counts[backendId] > 0) {
            counts[backendId]--;
        }
    }

    int get(int backendId) {
        return backendId < counts.length ? counts[backendId] : 0;
    }
}

package io.loadshare.scheduler;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.packet.MacAddress;
import java.util.ArrayList;
import java.util.List;

/** Backend pools for scheduler tests: ids 1..n, addresses 192.0.2.1.. then 198.51.100.x. */
final class Pools {
    private Pools() {
    }

    static BackendPool weighted(int... weights) {
        List<Backend> backends = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            backends.add(new Backend(i + 1, 0xC000_0200 + i + 1, 0, MacAddress.UNKNOWN, weights[i], BackendState.ACTIVE));
        }
        return BackendPool.of(backends);
    }

    static BackendPool equal(int n) {
        int[] weights = new int[n];
        java.util.Arrays.fill(weights, 1);
        return weighted(weights);
    }
}

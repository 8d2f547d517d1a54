package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.pipeline.Service;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the checker remembers: nothing of backends that left (issue #33: it kept a record for every one ever seen). */
class HealthCheckerTest {
    @Test
    void recordsOfBackendsThatLeftAreForgotten() throws Exception {
        Service web = new Service(0, "web", Ipv4Address.parse("127.0.0.1"), IpProtocol.TCP, 9,
                () -> (pool, flow) -> null, BackendPool.empty());
        try (HealthChecker checker = new HealthChecker(null, "lo", 0, List.of(web.address()))) {
            checker.watch(web, new HealthChecker.Settings("tcp", 20, 10, 1, 1, "/", 200, true));
            // Backends come and go (a discovery service's MACs, reloads): 20 pools of 3, each checked a few times.
            for (int generation = 0; generation < 20; generation++) {
                List<Backend> backends = new ArrayList<>();
                for (int n = 0; n < 3; n++) {
                    backends.add(new Backend(1 + n, Ipv4Address.parse("127.0.0." + (10 + 3 * generation + n)), 9,
                            0x0200_0000_0000L + n, 1, BackendState.ACTIVE));
                }
                web.publish(BackendPool.of(backends));
                Thread.sleep(100);
            }
            Thread.sleep(100);
            int held = checker.records();
            assertTrue(held >= 1 && held <= 3, "records of the current pool alone: " + held);
            checker.watch(web, null);
            Thread.sleep(50);
            assertEquals(0, checker.records(), "stopping the checks forgets the service");
        }
    }
}

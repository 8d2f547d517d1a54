package io.loadshare.offload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.testbed.NetnsTestbed;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The fast path shared by several workers (issue #33): the first worker to stop used to close the program and the
 * maps under the others. Now each worker's view closes alone, and the last one detaches the program.
 */
class FastPathViewsTest {
    @Test
    void theLastWorkerToStopDetachesTheProgram() throws Exception {
        try (NetnsTestbed testbed = NetnsTestbed.create()) {
            String namespace = testbed.namespace("disp");
            String peer = testbed.namespace("peer");
            testbed.veth(namespace, "d0", peer, "p0");
            int ifindex = Integer.parseInt(testbed.exec(namespace, "cat", "/sys/class/net/d0/ifindex").trim());
            long mac = MacAddress.parse(testbed.mac(namespace, "d0"));
            Service web = new Service(0, "web", Ipv4Address.parse("198.51.100.10"), IpProtocol.TCP, 80,
                    () -> (pool, flow) -> null, BackendPool.empty());
            DispatchContext first = new DispatchContext(CoreSettings.defaults(), new ServiceTable(List.of(web)));
            DispatchContext second = new DispatchContext(CoreSettings.defaults(), new ServiceTable(List.of(web)));
            XdpFlowOffload attached = XdpFlowOffload.attachLsmac(NetworkNamespace.named(namespace),
                    new AttachPoint("d0", ifindex, mac), OffloadSettings.defaults(), 15, first);
            KernelFlowOffload view = attached.forWorker(second);
            assertTrue(attached(testbed, namespace), "the program is on d0");

            attached.close();
            assertTrue(attached(testbed, namespace), "the second worker still runs: the program stays");
            assertEquals(0, view.backendTraffic(3).packets(), "and its maps are open");
            view.sync(second);

            view.close();
            assertFalse(attached(testbed, namespace), "the last worker stopped: the program is gone");
        }
    }

    private static boolean attached(NetnsTestbed testbed, String namespace) {
        return testbed.exec(namespace, "ip", "link", "show", "d0").contains("xdp");
    }
}

package io.loadshare.dispatch.l3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import org.junit.jupiter.api.Test;

/** Each worker's slice of a full-NAT address's ports: disjoint, together every port from 1024, each used once. */
class SourceNatPortsTest {
    @Test
    void slicesAreDisjointAndCoverEveryPort() {
        for (int workers : new int[] {1, 2, 3, 7}) {
            BitSet given = new BitSet(65536);
            int total = 0;
            for (int worker = 0; worker < workers; worker++) {
                SourceNatPorts ports = new SourceNatPorts(worker, workers);
                total += ports.capacity();
                for (int i = 0; i < ports.capacity(); i++) {
                    int port = ports.allocate(0x0A000001, i);
                    assertTrue(port >= SourceNatPorts.FIRST && port <= 65535, "port " + port);
                    assertEquals(worker, port % workers, "worker " + worker + " of " + workers + " gave " + port);
                    assertTrue(!given.get(port), "port " + port + " given twice");
                    given.set(port);
                }
                assertEquals(-1, ports.allocate(0x0A000001, 1), "a full slice refuses");
            }
            assertEquals(65536 - SourceNatPorts.FIRST, total, workers + " workers");
            assertEquals(65536 - SourceNatPorts.FIRST, given.cardinality());
        }
    }

    @Test
    void aReleasedPortIsReusedAsLateAsPossible() {
        SourceNatPorts ports = new SourceNatPorts(1, 2);
        int first = ports.allocate(1, 1);
        int second = ports.allocate(2, 2);
        assertEquals(first + 2, second);
        ports.release(first);
        assertEquals(second + 2, ports.allocate(3, 3), "the walk goes on rather than back");
        assertEquals(2, ports.clientAddress(second));
        assertEquals(2, ports.clientPort(second));
        assertTrue(!ports.isTaken(first));
    }
}

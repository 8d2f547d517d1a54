package io.loadshare.offload;

import io.loadshare.offload.bpf.Bpf;
import io.loadshare.offload.bpf.BpfException;
import io.loadshare.offload.bpf.BpfMap;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The three maps the pipeline and the XDP program share, and their layouts (fixed by {@link LsmacXdpProgram}):
 * <pre>
 * flows     hash, key 16 B:  source address, destination address (network order), source port, destination port
 *                            (network order), protocol, 3 zero bytes
 *                  value 16 B: backend id (u32), 4 zero bytes, last seen (u64, CLOCK_MONOTONIC ns)
 * backends  array by backend id, 8 B: MAC (6 bytes, network order), up (u8), 1 zero byte
 * stats     per-CPU array by backend id, 16 B: packets (u64), bytes (u64)
 * </pre>
 * Backends live apart from flows so that a backend's new MAC or its going down reaches every flow at once.
 */
final class FastPathMaps implements AutoCloseable {
    static final int KEY_SIZE = 16;
    static final int FLOW_SIZE = 16;
    static final int FLOW_BACKEND = 0;
    static final int FLOW_LAST_SEEN = 8;
    static final int BACKEND_SIZE = 8;
    static final int BACKEND_UP = 6;
    static final int STATS_SIZE = 16;
    private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort SHORT_BE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final BpfMap flows;
    private final BpfMap backends;
    private final BpfMap stats;

    private FastPathMaps(BpfMap flows, BpfMap backends, BpfMap stats) {
        this.flows = flows;
        this.backends = backends;
        this.stats = stats;
    }

    static FastPathMaps create(int maxFlows, int maxBackendId) throws BpfException {
        BpfMap flows = BpfMap.create(Bpf.MAP_TYPE_HASH, "ls_flows", KEY_SIZE, FLOW_SIZE, maxFlows);
        BpfMap backends = null;
        try {
            backends = BpfMap.create(Bpf.MAP_TYPE_ARRAY, "ls_backends", 4, BACKEND_SIZE, maxBackendId + 1);
            return new FastPathMaps(flows, backends, BpfMap.create(Bpf.MAP_TYPE_PERCPU_ARRAY, "ls_stats", 4,
                    STATS_SIZE, maxBackendId + 1));
        } catch (BpfException e) {
            flows.close();
            if (backends != null) {
                backends.close();
            }
            throw e;
        }
    }

    BpfMap flows() {
        return flows;
    }

    BpfMap backends() {
        return backends;
    }

    BpfMap stats() {
        return stats;
    }

    /** Writes a flow's key in the layout above. */
    static void writeKey(MemorySegment key, int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        key.set(INT_BE, 0, sourceAddress);
        key.set(INT_BE, 4, destinationAddress);
        key.set(SHORT_BE, 8, (short) sourcePort);
        key.set(SHORT_BE, 10, (short) destinationPort);
        key.set(ValueLayout.JAVA_INT, 12, protocol & 0xFF);
    }

    /** Writes a backend entry: its MAC, most significant byte first, and whether it takes packets. */
    static void writeBackend(MemorySegment value, long mac, boolean up) {
        for (int i = 0; i < 6; i++) {
            value.set(ValueLayout.JAVA_BYTE, i, (byte) (mac >>> (40 - 8 * i)));
        }
        value.set(ValueLayout.JAVA_BYTE, BACKEND_UP, (byte) (up ? 1 : 0));
        value.set(ValueLayout.JAVA_BYTE, 7, (byte) 0);
    }

    @Override
    public void close() {
        flows.close();
        backends.close();
        stats.close();
    }
}

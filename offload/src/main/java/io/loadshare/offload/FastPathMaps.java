package io.loadshare.offload;

import io.loadshare.offload.bpf.Bpf;
import io.loadshare.offload.bpf.BpfException;
import io.loadshare.offload.bpf.BpfMap;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The maps the pipeline and the fast path's program share, and their layouts (fixed by {@link LsmacXdpProgram}
 * and {@link LsnatTcProgram}):
 * <pre>
 * flows     LRU hash, key 16 B:  source address, destination address (network order), source port, destination port
 *                            (network order), protocol, 3 zero bytes
 *                  value 16 B: backend id (u32), 4 zero bytes, last seen (u64, CLOCK_MONOTONIC ns)
 *                  LSNAT's value 48 B, one entry per direction: backend id (u32), flags (u32: 1 = a request, its
 *                            destination MAC is the backend's), last seen (u64), then the rewrite: source and
 *                            destination address, source and destination port (network order), the ifindex to
 *                            leave by (u32), destination MAC (replies), source MAC, 4 zero bytes
 * backends  array by backend id, 8 B: MAC (6 bytes, network order), up (u8), 1 zero byte
 * stats     per-CPU array by backend id, 16 B: packets (u64), bytes (u64)
 * vips      hash, key 8 B: service address (network order), port (network order), protocol, 0
 *                  value 16 B: offset of its table in maglev (u32), table size (u32), service index (u32), 0
 * maglev    array, 4 B: backend id per slot, every placed service's Maglev table one after another
 * ring      ring buffer of events, 24 B each: flow key (16 B), backend id (u32), service index (u32)
 * </pre>
 * Backends live apart from flows so that a backend's new MAC or its going down reaches every flow at once. The
 * last three serve flows the program places itself (in-kernel placement, consistent hashing only).
 */
final class FastPathMaps implements AutoCloseable {
    static final int KEY_SIZE = 16;
    static final int FLOW_SIZE = 16;
    static final int FLOW_BACKEND = 0;
    static final int FLOW_LAST_SEEN = 8;
    static final int NAT_FLOW_SIZE = 48;
    static final int NAT_FLAGS = 4;
    /** In {@link #NAT_FLAGS}: the destination MAC is the backend's, from the backends map (a request). */
    static final int NAT_TO_BACKEND = 1;
    static final int NAT_SOURCE = 16;
    static final int NAT_DESTINATION = 20;
    static final int NAT_SOURCE_PORT = 24;
    static final int NAT_DESTINATION_PORT = 26;
    static final int NAT_IFINDEX = 28;
    static final int NAT_DESTINATION_MAC = 32;
    static final int NAT_SOURCE_MAC = 38;
    static final int BACKEND_SIZE = 8;
    static final int BACKEND_UP = 6;
    static final int STATS_SIZE = 16;
    static final int VIP_OFFSET = 0;
    static final int VIP_SIZE = 4;
    static final int VIP_SERVICE = 8;
    static final int EVENT_SIZE = 24;
    /** Ring buffer bytes: 32,768 events of 32 B with their headers, more than a sweep interval brings. */
    static final int RING_SIZE = 1 << 20;
    /** Addresses and ports, in network order as the maps hold them. */
    static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfShort SHORT_BE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final BpfMap flows;
    private final BpfMap backends;
    private final BpfMap stats;
    private final BpfMap vips;
    private final BpfMap maglev;
    private final BpfMap ring;

    private FastPathMaps(java.util.List<BpfMap> maps) {
        this.flows = maps.get(0);
        this.backends = maps.get(1);
        this.stats = maps.get(2);
        this.vips = maps.get(3);
        this.maglev = maps.get(4);
        this.ring = maps.size() > 5 ? maps.get(5) : null;
    }

    /**
     * @param flowSize {@link #FLOW_SIZE} for LSMAC's flows, {@link #NAT_FLOW_SIZE} for LSNAT's
     * @param maglevSlots room for the placed services' tables; 0 when the program places no flow, which leaves out
     *     the ring buffer too
     */
    static FastPathMaps create(int maxFlows, int flowSize, int maxBackendId, int maglevSlots) throws BpfException {
        java.util.List<BpfMap> maps = new java.util.ArrayList<>();
        try {
            // LRU: when full, the kernel makes room itself; an entry it drops sends its flow's packets back to the
            // pipeline, which still holds the session, so nothing is lost and no orphan outlives its room.
            maps.add(BpfMap.create(Bpf.MAP_TYPE_LRU_HASH, "ls_flows", KEY_SIZE, flowSize, maxFlows));
            maps.add(BpfMap.create(Bpf.MAP_TYPE_ARRAY, "ls_backends", 4, BACKEND_SIZE, maxBackendId + 1));
            maps.add(BpfMap.create(Bpf.MAP_TYPE_PERCPU_ARRAY, "ls_stats", 4, STATS_SIZE, maxBackendId + 1));
            maps.add(BpfMap.create(Bpf.MAP_TYPE_HASH, "ls_vips", 8, 16, io.loadshare.core.session.SessionTable
                    .MAX_SERVICES));
            maps.add(BpfMap.create(Bpf.MAP_TYPE_ARRAY, "ls_maglev", 4, 4, Math.max(1, maglevSlots)));
            if (maglevSlots > 0) {
                maps.add(BpfMap.create(Bpf.MAP_TYPE_RINGBUF, "ls_ring", 0, 0, RING_SIZE));
            }
            return new FastPathMaps(maps);
        } catch (BpfException e) {
            maps.forEach(BpfMap::close);
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

    BpfMap vips() {
        return vips;
    }

    BpfMap maglev() {
        return maglev;
    }

    /** Null when the program places no flow. */
    BpfMap ring() {
        return ring;
    }

    /** Writes a service's key in the vips layout. */
    static void writeVip(MemorySegment key, int address, int port, int protocol) {
        key.set(INT_BE, 0, address);
        key.set(SHORT_BE, 4, (short) port);
        key.set(ValueLayout.JAVA_BYTE, 6, (byte) protocol);
        key.set(ValueLayout.JAVA_BYTE, 7, (byte) 0);
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

    /** A backend's packets and bytes from the per-CPU stats map, summed over the CPUs; zeros without an entry. */
    static long[] backendStats(BpfMap.Accessor stats, int backendId) {
        stats.key().set(ValueLayout.JAVA_INT, 0, backendId);
        long[] sums = new long[2];
        if (stats.lookup() == 0) {
            MemorySegment values = stats.value();
            for (long offset = 0; offset < values.byteSize(); offset += STATS_SIZE) {
                sums[0] += values.get(ValueLayout.JAVA_LONG, offset);
                sums[1] += values.get(ValueLayout.JAVA_LONG, offset + 8);
            }
        }
        return sums;
    }

    /** Writes a MAC at {@code offset}, most significant byte first. */
    static void writeMac(MemorySegment segment, long offset, long mac) {
        for (int i = 0; i < 6; i++) {
            segment.set(ValueLayout.JAVA_BYTE, offset + i, (byte) (mac >>> (40 - 8 * i)));
        }
    }

    /** Writes a backend entry: its MAC, most significant byte first, and whether it takes packets. */
    static void writeBackend(MemorySegment value, long mac, boolean up) {
        writeMac(value, 0, mac);
        value.set(ValueLayout.JAVA_BYTE, BACKEND_UP, (byte) (up ? 1 : 0));
        value.set(ValueLayout.JAVA_BYTE, 7, (byte) 0);
    }

    @Override
    public void close() {
        for (BpfMap map : new BpfMap[] {flows, backends, stats, vips, maglev, ring}) {
            if (map != null) {
                map.close();
            }
        }
    }
}

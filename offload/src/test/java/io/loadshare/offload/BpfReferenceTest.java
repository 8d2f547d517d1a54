package io.loadshare.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.testing.GoldenFrames;
import io.loadshare.offload.bpf.Bpf;
import io.loadshare.offload.bpf.BpfMap;
import io.loadshare.offload.bpf.BpfProgram;
import io.loadshare.offload.bpf.BpfRingBuffer;
import io.loadshare.testbed.NetnsTestbed;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fast path's programs, assembled instruction by instruction in Java, held against their C references
 * ({@code offload/src/bpf/lsmac_xdp.c}, {@code lsnat_tc.c}) compiled by clang: both loaded through the kernel's
 * verifier, both run by {@code BPF_PROG_TEST_RUN} over the same golden frames and the same seeded random ones, each
 * on maps of its own filled alike. Every run must give the same verdict and leave the same bytes, and where the
 * programs write maps (placement) the maps and the ring must end alike.
 */
class BpfReferenceTest {
    private static final long DISPATCHER = MacAddress.parse("02:00:00:00:00:fe");
    private static final long ROUTER = MacAddress.parse("02:00:00:00:00:01");
    private static final long BACKEND_ARM = MacAddress.parse("02:00:00:00:01:fe");
    private static final int CLIENT = Ipv4Address.parse("203.0.113.5");
    private static final int VIP = Ipv4Address.parse("192.0.2.10");
    private static final int SOURCE_NAT = Ipv4Address.parse("198.51.100.1");
    private static final int[] BACKENDS = {Ipv4Address.parse("198.51.100.11"), Ipv4Address.parse("198.51.100.12"),
        Ipv4Address.parse("198.51.100.13")};
    /** Backend ids 3, 5 and 7; 7 is down. */
    private static final int[] IDS = {3, 5, 7};
    private static final int[] TABLE = {3, 5, 7, 3, 5, 3, 5, 7, 5, 3, 5};
    private static final int RANDOM_FRAMES = 3000;
    /** The loopback interface, which test runs see: LSNAT's MTU check needs an interface that exists. */
    private static final int OUT = 1;

    @TempDir
    Path dir;

    private final Arena arena = Arena.ofConfined();
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable each : open.reversed()) {
            each.close();
        }
        arena.close();
    }

    @Test
    void lsmacMatchesItsReference() throws Exception {
        compare(false);
    }

    @Test
    void lsmacWithPlacementMatchesItsReference() throws Exception {
        compare(true);
    }

    @Test
    void lsnatMatchesItsReference() throws Exception {
        NetnsTestbed.requireRoot();
        FastPathMaps javaMaps = lsnatMaps();
        FastPathMaps cMaps = lsnatMaps();
        BpfProgram java = keep(BpfProgram.loadTc("lsnat_java", LsnatTcProgram.assemble(javaMaps)));
        Path object = BpfObjectFile.compile(Path.of("src/bpf/lsnat_tc.c"), dir);
        BpfProgram c = keep(BpfProgram.loadTc("lsnat_c", BpfObjectFile.program(object, "tc", mapFds(cMaps))));
        List<byte[]> frames = new ArrayList<>(golden());
        frames.add(tcp(ROUTER, DISPATCHER, CLIENT, 40000, VIP, 80, TcpHeader.ACK | TcpHeader.PSH, "GET /"));
        frames.add(tcp(BACKEND_ARM, ROUTER, BACKENDS[0], 8080, SOURCE_NAT, 61000, TcpHeader.ACK, "200 OK"));
        frames.add(udp(ROUTER, DISPATCHER, CLIENT, 53000, VIP, 53, "query"));
        int carried = run(java, c, frames, new SplittableRandom(29), LsnatTcProgram.TC_ACT_REDIRECT);
        assertTrue(carried > RANDOM_FRAMES / 20, "the random frames exercise the rewrite: " + carried);
        assertArrayEquals(stats(javaMaps), stats(cMaps), "the same packets and bytes counted per backend");
    }

    private void compare(boolean placement) throws Exception {
        NetnsTestbed.requireRoot();
        FastPathMaps javaMaps = lsmacMaps(placement);
        FastPathMaps cMaps = lsmacMaps(placement);
        BpfProgram java = keep(BpfProgram.loadXdp("lsmac_java", LsmacXdpProgram.assemble(javaMaps, DISPATCHER,
                placement)));
        Path object = BpfObjectFile.compile(Path.of("src/bpf/lsmac_xdp.c"), dir,
                "-DDISPATCHER_MAC=0x" + Long.toHexString(DISPATCHER) + "ULL", "-DPLACEMENT=" + (placement ? 1 : 0));
        BpfProgram c = keep(BpfProgram.loadXdp("lsmac_c", BpfObjectFile.program(object, "xdp", mapFds(cMaps))));
        List<byte[]> frames = new ArrayList<>(golden());
        frames.add(tcp(DISPATCHER, ROUTER, CLIENT, 40000, VIP, 80, TcpHeader.SYN, ""));
        frames.add(tcp(DISPATCHER, ROUTER, CLIENT, 40000, VIP, 80, TcpHeader.ACK | TcpHeader.PSH, "GET /"));
        int carried = run(java, c, frames, new SplittableRandom(placement ? 31 : 37), LsmacXdpProgram.XDP_TX);
        assertTrue(carried > RANDOM_FRAMES / 20, "the random frames exercise the rewrite: " + carried);
        assertArrayEquals(stats(javaMaps), stats(cMaps), "the same packets and bytes counted per backend");
        if (placement) {
            assertEquals(flows(javaMaps), flows(cMaps), "the same flows placed, on the same backends");
            assertEquals(events(javaMaps), events(cMaps), "the same events for the session table, in order");
        }
    }

    /**
     * Runs both programs over the frames, then over random ones made from them, and compares each outcome.
     *
     * @return how many runs ended in {@code carried} (the fast path took the frame)
     */
    private static int run(BpfProgram java, BpfProgram c, List<byte[]> frames, SplittableRandom random,
            int carried) throws Exception {
        int taken = 0;
        List<byte[]> all = new ArrayList<>(frames);
        for (int i = 0; i < RANDOM_FRAMES; i++) {
            all.add(mutate(frames.get(random.nextInt(frames.size())), random));
        }
        for (byte[] frame : all) {
            String input = HexFormat.of().formatHex(frame);
            BpfProgram.TestRun expected = java.testRun(frame);
            BpfProgram.TestRun actual = c.testRun(frame);
            assertEquals(expected.verdict(), actual.verdict(), "verdict for " + input);
            assertEquals(HexFormat.of().formatHex(expected.frame()), HexFormat.of().formatHex(actual.frame()),
                    "bytes for " + input);
            taken += expected.verdict() == carried ? 1 : 0;
        }
        return taken;
    }

    /** A frame with a few bytes changed where the programs look: flags, TTL, protocol, ports, lengths, options. */
    private static byte[] mutate(byte[] frame, SplittableRandom random) {
        byte[] out = frame.clone();
        // Cut short, though never below an IPv4 header: a tc test run refuses a frame without one (EINVAL).
        if (out.length > 54 && random.nextInt(8) == 0) {
            out = java.util.Arrays.copyOf(out, 34 + random.nextInt(out.length - 34));
        }
        int[] places = {12, 13, 14, 20, 21, 22, 23, 34, 35, 36, 37, 40, 41, 47};
        for (int n = random.nextInt(3); n > 0; n--) {
            int at = places[random.nextInt(places.length)];
            if (at < out.length) {
                out[at] = switch (at) {
                    case 22 -> (byte) random.nextInt(4);
                    case 23 -> (byte) new int[] {6, 17, 1, 47}[random.nextInt(4)];
                    case 47 -> (byte) new int[] {0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01}[random.nextInt(8)];
                    case 35 -> (byte) (0x40 + random.nextInt(2));
                    default -> (byte) random.nextInt(256);
                };
            }
        }
        return out;
    }

    private static List<byte[]> golden() {
        List<byte[]> frames = new ArrayList<>();
        for (String hex : new String[] {GoldenFrames.TCP_SYN, GoldenFrames.TCP_SYN_TO_BACKEND_MAC,
            GoldenFrames.TCP_DATA_IP_OPTIONS, GoldenFrames.TCP_FIN_VLAN, GoldenFrames.UDP_DNS,
            GoldenFrames.ICMP_FRAG_NEEDED, GoldenFrames.ICMP_ECHO, GoldenFrames.ARP_WHO_HAS_VIP,
            GoldenFrames.UDP_FIRST_FRAGMENT, GoldenFrames.IPV6}) {
            frames.add(HexFormat.of().parseHex(hex));
        }
        return frames;
    }

    private FastPathMaps lsmacMaps(boolean placement) throws Exception {
        FastPathMaps maps = keep(FastPathMaps.create(4096, FastPathMaps.FLOW_SIZE, 15, placement ? TABLE.length : 0));
        backends(maps);
        BpfMap.Accessor flows = maps.flows().accessor(arena);
        for (int port = 40000; port < 40003; port++) {
            FastPathMaps.writeKey(flows.key(), IpProtocol.TCP, CLIENT, port, VIP, 80);
            flows.value().set(ValueLayout.JAVA_INT, FastPathMaps.FLOW_BACKEND, IDS[port % 3]);
            flows.value().set(ValueLayout.JAVA_INT, 4, 0);
            flows.value().set(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_LAST_SEEN, 0);
            flows.put(Bpf.ANY);
        }
        FastPathMaps.writeKey(flows.key(), IpProtocol.UDP, CLIENT, 53000, VIP, 53);
        flows.value().set(ValueLayout.JAVA_INT, FastPathMaps.FLOW_BACKEND, IDS[0]);
        flows.put(Bpf.ANY);
        if (placement) {
            maps.maglev().putAll(0, TABLE);
            BpfMap.Accessor vips = maps.vips().accessor(arena);
            FastPathMaps.writeVip(vips.key(), VIP, 80, IpProtocol.TCP);
            vips.value().set(ValueLayout.JAVA_INT, FastPathMaps.VIP_OFFSET, 0);
            vips.value().set(ValueLayout.JAVA_INT, FastPathMaps.VIP_SIZE, TABLE.length);
            vips.value().set(ValueLayout.JAVA_INT, FastPathMaps.VIP_SERVICE, 2);
            vips.value().set(ValueLayout.JAVA_INT, 12, 0);
            vips.put(Bpf.ANY);
        }
        return maps;
    }

    private FastPathMaps lsnatMaps() throws Exception {
        FastPathMaps maps = keep(FastPathMaps.create(64, FastPathMaps.NAT_FLOW_SIZE, 15, 0));
        backends(maps);
        BpfMap.Accessor flows = maps.flows().accessor(arena);
        // A full-NAT request and its reply, a plain NAT request, a UDP request, on backends up and down.
        nat(flows, IpProtocol.TCP, CLIENT, 40000, VIP, 80, IDS[0], true, SOURCE_NAT, 61000, BACKENDS[0], 8080, 0);
        nat(flows, IpProtocol.TCP, BACKENDS[0], 8080, SOURCE_NAT, 61000, IDS[0], false, VIP, 80, CLIENT, 40000,
                ROUTER);
        nat(flows, IpProtocol.TCP, CLIENT, 40001, VIP, 80, IDS[2], true, CLIENT, 40001, BACKENDS[2], 80, 0);
        nat(flows, IpProtocol.UDP, CLIENT, 53000, VIP, 53, IDS[1], true, CLIENT, 53000, BACKENDS[1], 53, 0);
        return maps;
    }

    private static void nat(BpfMap.Accessor flows, int protocol, int source, int sourcePort, int destination,
            int destinationPort, int backendId, boolean request, int newSource, int newSourcePort,
            int newDestination, int newDestinationPort, long nextHop) throws Exception {
        FastPathMaps.writeKey(flows.key(), protocol, source, sourcePort, destination, destinationPort);
        MemorySegment value = flows.value();
        value.fill((byte) 0);
        value.set(ValueLayout.JAVA_INT, FastPathMaps.FLOW_BACKEND, backendId);
        value.set(ValueLayout.JAVA_INT, FastPathMaps.NAT_FLAGS, request ? FastPathMaps.NAT_TO_BACKEND : 0);
        value.set(FastPathMaps.INT_BE, FastPathMaps.NAT_SOURCE, newSource);
        value.set(FastPathMaps.INT_BE, FastPathMaps.NAT_DESTINATION, newDestination);
        value.set(FastPathMaps.SHORT_BE, FastPathMaps.NAT_SOURCE_PORT, (short) newSourcePort);
        value.set(FastPathMaps.SHORT_BE, FastPathMaps.NAT_DESTINATION_PORT, (short) newDestinationPort);
        value.set(ValueLayout.JAVA_INT, FastPathMaps.NAT_IFINDEX, OUT);
        FastPathMaps.writeMac(value, FastPathMaps.NAT_DESTINATION_MAC, nextHop);
        FastPathMaps.writeMac(value, FastPathMaps.NAT_SOURCE_MAC, request ? BACKEND_ARM : DISPATCHER);
        flows.put(Bpf.ANY);
    }

    private void backends(FastPathMaps maps) throws Exception {
        BpfMap.Accessor backends = maps.backends().accessor(arena);
        for (int id : IDS) {
            backends.key().set(ValueLayout.JAVA_INT, 0, id);
            FastPathMaps.writeBackend(backends.value(), 0x0200_0000_0100L + id, id != 7);
            backends.put(Bpf.ANY);
        }
    }

    private static Map<String, Integer> mapFds(FastPathMaps maps) {
        Map<String, Integer> fds = new java.util.HashMap<>(Map.of("ls_flows", maps.flows().fd(), "ls_backends",
                maps.backends().fd(), "ls_stats", maps.stats().fd(), "ls_vips", maps.vips().fd(), "ls_maglev",
                maps.maglev().fd()));
        if (maps.ring() != null) {
            fds.put("ls_ring", maps.ring().fd());
        }
        return fds;
    }

    private long[] stats(FastPathMaps maps) {
        long[] all = new long[2 * IDS.length];
        for (int i = 0; i < IDS.length; i++) {
            long[] one = FastPathMaps.backendStats(maps.stats().accessor(arena), IDS[i]);
            all[2 * i] = one[0];
            all[2 * i + 1] = one[1];
        }
        return all;
    }

    /** Each flow the random frames could have placed: its backend, and whether it was carried since. */
    private List<String> flows(FastPathMaps maps) {
        List<String> flows = new ArrayList<>();
        BpfMap.Accessor accessor = maps.flows().accessor(arena);
        for (int port = 0; port < 65536; port++) {
            for (int sourcePort : new int[] {port}) {
                FastPathMaps.writeKey(accessor.key(), IpProtocol.TCP, CLIENT, sourcePort, VIP, 80);
                if (accessor.lookup() == 0) {
                    flows.add(sourcePort + " -> " + accessor.value().get(ValueLayout.JAVA_INT, 0) + (accessor.value()
                            .get(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_LAST_SEEN) == 0 ? "" : " carried"));
                }
            }
        }
        return flows;
    }

    private List<String> events(FastPathMaps maps) throws Exception {
        List<String> events = new ArrayList<>();
        try (BpfRingBuffer ring = BpfRingBuffer.map(maps.ring(), FastPathMaps.RING_SIZE)) {
            ring.drain((data, offset, length) -> events.add(HexFormat.of().formatHex(data.asSlice(offset, length)
                    .toArray(ValueLayout.JAVA_BYTE))));
        }
        return events;
    }

    private <T extends AutoCloseable> T keep(T resource) {
        open.add(resource);
        return resource;
    }

    private static byte[] tcp(long destinationMac, long sourceMac, int source, int sourcePort, int destination,
            int destinationPort, int flags, String payload) {
        return bytes(Frames.tcp(Unpooled.buffer(), destinationMac, sourceMac, source, sourcePort, destination,
                destinationPort, 1000, 2000, flags, payload.getBytes()));
    }

    private static byte[] udp(long destinationMac, long sourceMac, int source, int sourcePort, int destination,
            int destinationPort, String payload) {
        return bytes(Frames.udp(Unpooled.buffer(), destinationMac, sourceMac, source, sourcePort, destination,
                destinationPort, payload.getBytes()));
    }

    private static byte[] bytes(ByteBuf frame) {
        try {
            return ByteBufUtil.getBytes(frame);
        } finally {
            frame.release();
        }
    }
}

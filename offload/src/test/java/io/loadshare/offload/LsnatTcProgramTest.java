package io.loadshare.offload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.InternetChecksum;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.testing.GoldenFrames;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.offload.bpf.Bpf;
import io.loadshare.offload.bpf.BpfMap;
import io.loadshare.offload.bpf.BpfProgram;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * LSNAT's tc program run by the kernel over frames ({@code BPF_PROG_TEST_RUN}), attached nowhere. Golden frames:
 * the input is a frame {@link Frames} writes with full checksums, as a host sends it; the expected output is the
 * frame {@link Frames} writes for the translated addresses and ports, with the next hop's MACs and the TTL less one
 * (its IP checksum recomputed in full here). So the program's incremental checksum updates must come out equal to
 * checksums computed from scratch. Everything the pipeline must see passes untouched.
 */
class LsnatTcProgramTest {
    private static final long CLIENT_ARM = MacAddress.parse("02:00:00:00:00:fe");
    private static final long BACKEND_ARM = MacAddress.parse("02:00:00:00:01:fe");
    private static final long ROUTER = MacAddress.parse("02:00:00:00:00:01");
    private static final long BACKEND_MAC = MacAddress.parse("02:00:00:00:01:0b");
    private static final int CLIENT = Ipv4Address.parse("203.0.113.5");
    private static final int VIP = Ipv4Address.parse("192.0.2.10");
    private static final int SOURCE_NAT = Ipv4Address.parse("198.51.100.1");
    private static final int BACKEND = Ipv4Address.parse("198.51.100.11");
    private static final int BACKEND_ID = 3;
    /** The loopback interface, which test runs see: the MTU check needs an interface that exists. */
    private static final int OUT = 1;

    private final Arena arena = Arena.ofConfined();
    private FastPathMaps maps;
    private BpfProgram program;

    @BeforeEach
    void load() throws Exception {
        NetnsTestbed.requireRoot();
        maps = FastPathMaps.create(64, FastPathMaps.NAT_FLOW_SIZE, 15, 0);
        program = BpfProgram.loadTc("lsnat_test", LsnatTcProgram.assemble(maps));
        BpfMap.Accessor backends = maps.backends().accessor(arena);
        backends.key().set(ValueLayout.JAVA_INT, 0, BACKEND_ID);
        FastPathMaps.writeBackend(backends.value(), BACKEND_MAC, true);
        backends.put(Bpf.ANY);
    }

    @AfterEach
    void close() {
        if (program != null) {
            program.close();
            maps.close();
        }
        arena.close();
    }

    @Test
    void fullNatRequestGetsTheBackendAndTheSourceNatPort() throws Exception {
        install(IpProtocol.TCP, CLIENT, 40000, VIP, 80, true, SOURCE_NAT, 61000, BACKEND, 8080, 0, BACKEND_ARM);
        byte[] request = tcp(ROUTER, CLIENT_ARM, CLIENT, 40000, VIP, 80, TcpHeader.ACK | TcpHeader.PSH, "GET /");
        BpfProgram.TestRun run = program.testRun(request);
        assertEquals(LsnatTcProgram.TC_ACT_REDIRECT, run.verdict());
        assertTranslated(tcp(BACKEND_MAC, BACKEND_ARM, SOURCE_NAT, 61000, BACKEND, 8080,
                TcpHeader.ACK | TcpHeader.PSH, "GET /"), run.frame());
        assertStats(1, request.length);
    }

    @Test
    void replyGoesBackToTheClientFromTheClusterAddress() throws Exception {
        install(IpProtocol.TCP, BACKEND, 8080, SOURCE_NAT, 61000, false, VIP, 80, CLIENT, 40000, ROUTER, CLIENT_ARM);
        byte[] reply = tcp(BACKEND_ARM, BACKEND_MAC, BACKEND, 8080, SOURCE_NAT, 61000, TcpHeader.ACK, "200 OK");
        BpfProgram.TestRun run = program.testRun(reply);
        assertEquals(LsnatTcProgram.TC_ACT_REDIRECT, run.verdict());
        assertTranslated(tcp(ROUTER, CLIENT_ARM, VIP, 80, CLIENT, 40000, TcpHeader.ACK, "200 OK"), run.frame());
    }

    @Test
    void udpChecksumIsUpdatedAndAMissingOneStaysMissing() throws Exception {
        install(IpProtocol.UDP, CLIENT, 53000, VIP, 53, true, CLIENT, 53000, BACKEND, 53, 0, BACKEND_ARM);
        byte[] query = udp(ROUTER, CLIENT_ARM, CLIENT, 53000, VIP, 53, "query");
        BpfProgram.TestRun run = program.testRun(query);
        assertEquals(LsnatTcProgram.TC_ACT_REDIRECT, run.verdict());
        byte[] expected = udp(BACKEND_MAC, BACKEND_ARM, CLIENT, 53000, BACKEND, 53, "query");
        assertTranslated(expected, run.frame());

        query[40] = 0;
        query[41] = 0;
        run = program.testRun(query);
        expected[40] = 0;
        expected[41] = 0;
        assertTranslated(expected, run.frame());
    }

    @Test
    void framesThePipelineMustSeePass() throws Exception {
        install(IpProtocol.TCP, CLIENT, 40000, VIP, 80, true, CLIENT, 40000, BACKEND, 80, 0, BACKEND_ARM);
        for (int flags : new int[] {TcpHeader.SYN, TcpHeader.SYN | TcpHeader.ACK, TcpHeader.FIN | TcpHeader.ACK,
            TcpHeader.RST}) {
            assertPasses(tcp(ROUTER, CLIENT_ARM, CLIENT, 40000, VIP, 80, flags, ""), "flags " + flags);
        }
        assertPasses(tcp(ROUTER, CLIENT_ARM, CLIENT, 40001, VIP, 80, TcpHeader.ACK, ""), "another flow");
        for (String golden : new String[] {GoldenFrames.TCP_DATA_IP_OPTIONS, GoldenFrames.TCP_FIN_VLAN,
            GoldenFrames.UDP_FIRST_FRAGMENT, GoldenFrames.ICMP_ECHO, GoldenFrames.ARP_WHO_HAS_VIP,
            GoldenFrames.IPV6}) {
            assertPasses(HexFormat.of().parseHex(golden), golden);
        }
        byte[] expiring = tcp(ROUTER, CLIENT_ARM, CLIENT, 40000, VIP, 80, TcpHeader.ACK, "");
        expiring[22] = 1;
        assertPasses(expiring, "a TTL that would run out: the pipeline counts it");

        BpfMap.Accessor backends = maps.backends().accessor(arena);
        backends.key().set(ValueLayout.JAVA_INT, 0, BACKEND_ID);
        FastPathMaps.writeBackend(backends.value(), BACKEND_MAC, false);
        backends.put(Bpf.ANY);
        assertPasses(tcp(ROUTER, CLIENT_ARM, CLIENT, 40000, VIP, 80, TcpHeader.ACK, ""), "a backend marked down");
        assertStats(0, 0);
    }

    @Test
    void aFlowWhoseArmIsGonePasses() throws Exception {
        install(IpProtocol.TCP, CLIENT, 40000, VIP, 80, true, CLIENT, 40000, BACKEND, 80, 0, BACKEND_ARM);
        BpfMap.Accessor flows = maps.flows().accessor(arena);
        FastPathMaps.writeKey(flows.key(), IpProtocol.TCP, CLIENT, 40000, VIP, 80);
        assertEquals(0, flows.lookup());
        flows.value().set(ValueLayout.JAVA_INT, FastPathMaps.NAT_IFINDEX, 999_999);
        flows.put(Bpf.ANY);
        assertPasses(tcp(ROUTER, CLIENT_ARM, CLIENT, 40000, VIP, 80, TcpHeader.ACK, ""), "no such interface");
    }

    /** The output matches the expected frame but for its TTL, which must be one less, with its checksum. */
    private static void assertTranslated(byte[] expected, byte[] actual) {
        byte[] withTtl = expected.clone();
        withTtl[22]--;
        withTtl[24] = 0;
        withTtl[25] = 0;
        ByteBuf ip = Unpooled.wrappedBuffer(withTtl);
        ip.setShort(24, InternetChecksum.checksum(ip, 14, 20));
        assertEquals(HexFormat.of().formatHex(withTtl), HexFormat.of().formatHex(actual));
        assertTrue(withTtl[22] == 63, "Frames sends with TTL 64");
    }

    private void assertPasses(byte[] frame, String what) throws Exception {
        BpfProgram.TestRun run = program.testRun(frame);
        assertEquals(LsnatTcProgram.TCX_NEXT, run.verdict(), what);
        assertArrayEquals(frame, run.frame(), what + " leaves untouched");
    }

    private void install(int protocol, int source, int sourcePort, int destination, int destinationPort,
            boolean toBackend, int newSource, int newSourcePort, int newDestination, int newDestinationPort,
            long destinationMac, long sourceMac) throws Exception {
        BpfMap.Accessor flows = maps.flows().accessor(arena);
        FastPathMaps.writeKey(flows.key(), protocol, source, sourcePort, destination, destinationPort);
        MemorySegment value = flows.value();
        value.set(ValueLayout.JAVA_INT, FastPathMaps.FLOW_BACKEND, BACKEND_ID);
        value.set(ValueLayout.JAVA_INT, FastPathMaps.NAT_FLAGS, toBackend ? FastPathMaps.NAT_TO_BACKEND : 0);
        value.set(FastPathMaps.INT_BE, FastPathMaps.NAT_SOURCE, newSource);
        value.set(FastPathMaps.INT_BE, FastPathMaps.NAT_DESTINATION, newDestination);
        value.set(FastPathMaps.SHORT_BE, FastPathMaps.NAT_SOURCE_PORT, (short) newSourcePort);
        value.set(FastPathMaps.SHORT_BE, FastPathMaps.NAT_DESTINATION_PORT, (short) newDestinationPort);
        value.set(ValueLayout.JAVA_INT, FastPathMaps.NAT_IFINDEX, OUT);
        FastPathMaps.writeMac(value, FastPathMaps.NAT_DESTINATION_MAC, destinationMac);
        FastPathMaps.writeMac(value, FastPathMaps.NAT_SOURCE_MAC, sourceMac);
        flows.put(Bpf.NOEXIST);
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

    private void assertStats(long packets, long bytes) {
        long[] stats = FastPathMaps.backendStats(maps.stats().accessor(arena), BACKEND_ID);
        assertEquals(packets, stats[0], "packets counted for the backend");
        assertEquals(bytes, stats[1], "bytes counted for the backend");
    }
}

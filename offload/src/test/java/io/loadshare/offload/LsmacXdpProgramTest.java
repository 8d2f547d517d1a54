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
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.offload.bpf.Bpf;
import io.loadshare.offload.bpf.BpfMap;
import io.loadshare.offload.bpf.BpfProgram;
import io.loadshare.offload.bpf.BpfRingBuffer;
import io.loadshare.core.session.FlowKey;
import java.util.List;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * LSMAC's XDP program run by the kernel over golden frames ({@code BPF_PROG_TEST_RUN}), attached nowhere: a frame
 * of a handed-over flow leaves with the backend's and the dispatcher's MACs ({@code XDP_TX}) and is counted for
 * its backend; everything the pipeline must see passes untouched. Frames from {@link GoldenFrames} (scapy) and
 * from {@link Frames}; the expected output is the input with its first 12 bytes replaced.
 */
class LsmacXdpProgramTest {
    private static final long DISPATCHER = MacAddress.parse("02:00:00:00:00:fe");
    private static final long BACKEND = MacAddress.parse("02:00:00:00:00:0b");
    private static final int CLIENT = Ipv4Address.parse("203.0.113.5");
    private static final int VIP = Ipv4Address.parse("192.0.2.10");
    private static final int BACKEND_ID = 3;
    private static final String REWRITTEN_MACS = "02000000000b0200000000fe";
    /** A Maglev table of 11 slots over backends 3, 5 and 7 (any table will do: the program only looks it up). */
    private static final int[] TABLE = {3, 5, 7, 3, 5, 7, 3, 5, 7, 3, 5};

    private final Arena arena = Arena.ofConfined();
    private FastPathMaps maps;
    private BpfProgram program;

    @BeforeEach
    void load() throws Exception {
        NetnsTestbed.requireRoot();
        maps = FastPathMaps.create(4096, FastPathMaps.FLOW_SIZE, 15, TABLE.length);
        program = BpfProgram.loadXdp("lsmac_test", LsmacXdpProgram.assemble(maps, DISPATCHER, false));
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
    void handedOverUdpFlowIsRewrittenAndTransmitted() throws Exception {
        byte[] frame = HexFormat.of().parseHex(GoldenFrames.UDP_DNS);
        assertPasses(frame, "no flow yet");
        install(IpProtocol.UDP, 53000, 53);
        assertPasses(frame, "flow without a backend entry");
        backend(BACKEND, true);
        BpfProgram.TestRun run = program.testRun(frame);
        assertEquals(LsmacXdpProgram.XDP_TX, run.verdict());
        assertEquals(REWRITTEN_MACS + GoldenFrames.UDP_DNS.substring(24), HexFormat.of().formatHex(run.frame()));
        assertStats(1, 54);
        assertTrue(lastSeen(IpProtocol.UDP, 53000, 53) > 0, "the program records when it saw the flow");

        backend(BACKEND, false);
        assertPasses(frame, "a backend marked down: the pipeline ends the session");
        assertStats(1, 54);
    }

    @Test
    void aUdpDatagramShorterThanATcpHeaderIsCarriedToo() throws Exception {
        install(IpProtocol.UDP, 53000, 53);
        backend(BACKEND, true);
        ByteBuf small = Frames.udp(Unpooled.buffer(), DISPATCHER, MacAddress.parse("02:00:00:00:00:01"), CLIENT,
                53000, VIP, 53, "hi".getBytes());
        byte[] frame = ByteBufUtil.getBytes(small);
        small.release();
        assertEquals(44, frame.length);
        BpfProgram.TestRun run = program.testRun(frame);
        assertEquals(LsmacXdpProgram.XDP_TX, run.verdict());
        byte[] expected = frame.clone();
        System.arraycopy(HexFormat.of().parseHex(REWRITTEN_MACS), 0, expected, 0, 12);
        assertArrayEquals(expected, run.frame());
    }

    @Test
    void tcpSegmentsOfTheFlowAreTransmittedButOpeningsAndClosingsPass() throws Exception {
        install(IpProtocol.TCP, 40000, 80);
        backend(BACKEND, true);
        byte[] data = tcp(TcpHeader.ACK | TcpHeader.PSH, "GET / HTTP/1.0\r\n\r\n");
        BpfProgram.TestRun run = program.testRun(data);
        assertEquals(LsmacXdpProgram.XDP_TX, run.verdict());
        byte[] expected = data.clone();
        System.arraycopy(HexFormat.of().parseHex(REWRITTEN_MACS), 0, expected, 0, 12);
        assertArrayEquals(expected, run.frame());
        assertEquals(LsmacXdpProgram.XDP_TX, program.testRun(tcp(TcpHeader.ACK, "")).verdict());
        assertStats(2, data.length + 54);

        assertPasses(tcp(TcpHeader.SYN, ""), "SYN");
        assertPasses(tcp(TcpHeader.FIN | TcpHeader.ACK, ""), "FIN");
        assertPasses(tcp(TcpHeader.RST, ""), "RST");
        assertPasses(tcpFrom(40001, TcpHeader.ACK), "another flow");
        assertStats(2, data.length + 54);
    }

    @Test
    void framesThePipelineMustSeePass() throws Exception {
        install(IpProtocol.TCP, 40000, 80);
        install(IpProtocol.UDP, 53000, 53);
        backend(BACKEND, true);
        for (String golden : new String[] {GoldenFrames.TCP_DATA_IP_OPTIONS, GoldenFrames.TCP_FIN_VLAN,
            GoldenFrames.UDP_FIRST_FRAGMENT, GoldenFrames.ICMP_ECHO, GoldenFrames.ARP_WHO_HAS_VIP,
            GoldenFrames.IPV6, GoldenFrames.TCP_SYN}) {
            assertPasses(HexFormat.of().parseHex(golden), golden);
        }
        byte[] truncated = new byte[40];
        System.arraycopy(tcp(TcpHeader.ACK, ""), 0, truncated, 0, 40);
        assertPasses(truncated, "a frame shorter than its headers");
        assertStats(0, 0);
    }

    @Test
    void placesASynByTheMaglevTableAsThePipelineWould() throws Exception {
        program.close();
        program = BpfProgram.loadXdp("lsmac_place", LsmacXdpProgram.assemble(maps, DISPATCHER, true));
        for (int id : new int[] {3, 5, 7}) {
            backend(id, 0x0200_0000_0000L + id, true);
        }
        maps.maglev().putAll(0, TABLE);
        BpfMap.Accessor vips = maps.vips().accessor(arena);
        FastPathMaps.writeVip(vips.key(), VIP, 80, IpProtocol.TCP);
        vips.value().set(ValueLayout.JAVA_INT, FastPathMaps.VIP_OFFSET, 0);
        vips.value().set(ValueLayout.JAVA_INT, FastPathMaps.VIP_SIZE, TABLE.length);
        vips.value().set(ValueLayout.JAVA_INT, FastPathMaps.VIP_SERVICE, 2);
        vips.put(Bpf.ANY);
        try (BpfRingBuffer ring = BpfRingBuffer.map(maps.ring(), FastPathMaps.RING_SIZE)) {
            for (int port = 40000; port < 40200; port++) {
                BpfProgram.TestRun run = program.testRun(tcpFrom(port, TcpHeader.SYN, ""));
                assertEquals(LsmacXdpProgram.XDP_TX, run.verdict(), "a SYN to a placed service");
                // The pipeline's pick for the same flow: Flow.flowHash() into the same table.
                int hash = new FlowKey(IpProtocol.TCP, CLIENT, port, VIP, 80).flowHash();
                int expected = TABLE[(int) (((hash & 0xFFFF_FFFFL) * TABLE.length) >>> 32)];
                assertEquals(expected, run.frame()[5], "port " + port + ": the backend the pipeline would pick");
                List<int[]> events = new java.util.ArrayList<>();
                ring.drain((data, offset, length) -> events.add(new int[] {
                    data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), offset + 8)
                            & 0xFFFF, data.get(ValueLayout.JAVA_INT_UNALIGNED, offset + 16),
                    data.get(ValueLayout.JAVA_INT_UNALIGNED, offset + 20)}));
                assertEquals(1, events.size(), "one event for the session table");
                assertArrayEquals(new int[] {port, expected, 2}, events.getFirst());
            }
            assertEquals(0, lastSeen(IpProtocol.TCP, 40000, 80),
                    "the flow entered the map, not yet carried: the SYN alone opens nothing");
            assertPasses(tcpFrom(40000, TcpHeader.SYN, ""), "a SYN for a flow the map holds (port reuse)");
            assertEquals(LsmacXdpProgram.XDP_TX, program.testRun(tcpFrom(40000, TcpHeader.ACK, "")).verdict(),
                    "the flow's next segment follows the map");
            assertTrue(lastSeen(IpProtocol.TCP, 40000, 80) > 0, "and is carried");
            assertPasses(tcpFrom(50000, TcpHeader.SYN | TcpHeader.ACK, ""), "SYN+ACK");
            FastPathMaps.writeVip(vips.key(), VIP, 80, IpProtocol.TCP);
            assertEquals(0, vips.delete());
            assertPasses(tcpFrom(50001, TcpHeader.SYN, ""), "a SYN to a service without a table");
            assertTrue(!ring.hasRecords(), "nothing more on the ring");
        }
    }

    private void assertPasses(byte[] frame, String what) throws Exception {
        BpfProgram.TestRun run = program.testRun(frame);
        assertEquals(LsmacXdpProgram.XDP_PASS, run.verdict(), what);
        assertArrayEquals(frame, run.frame(), what + " leaves untouched");
    }

    private byte[] tcp(int flags, String payload) {
        return tcpFrom(40000, flags, payload);
    }

    private byte[] tcpFrom(int sourcePort, int flags) {
        return tcpFrom(sourcePort, flags, "");
    }

    private byte[] tcpFrom(int sourcePort, int flags, String payload) {
        ByteBuf out = Frames.tcp(Unpooled.buffer(), DISPATCHER, MacAddress.parse("02:00:00:00:00:01"), CLIENT,
                sourcePort, VIP, 80, 1000, 2000, flags, payload.getBytes());
        try {
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
        }
    }

    private void install(int protocol, int sourcePort, int destinationPort) throws Exception {
        BpfMap.Accessor flows = maps.flows().accessor(arena);
        FastPathMaps.writeKey(flows.key(), protocol, CLIENT, sourcePort, VIP, destinationPort);
        flows.value().set(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_BACKEND, BACKEND_ID);
        flows.value().set(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_LAST_SEEN, 0);
        flows.put(Bpf.NOEXIST);
    }

    private long lastSeen(int protocol, int sourcePort, int destinationPort) {
        BpfMap.Accessor flows = maps.flows().accessor(arena);
        FastPathMaps.writeKey(flows.key(), protocol, CLIENT, sourcePort, VIP, destinationPort);
        assertEquals(0, flows.lookup());
        return flows.value().get(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_LAST_SEEN);
    }

    private void backend(long mac, boolean up) throws Exception {
        backend(BACKEND_ID, mac, up);
    }

    private void backend(int id, long mac, boolean up) throws Exception {
        BpfMap.Accessor backends = maps.backends().accessor(arena);
        backends.key().set(ValueLayout.JAVA_INT, 0, id);
        FastPathMaps.writeBackend(backends.value(), mac, up);
        backends.put(Bpf.ANY);
    }

    private void assertStats(long packets, long bytes) {
        long[] stats = FastPathMaps.backendStats(maps.stats().accessor(arena), BACKEND_ID);
        assertEquals(packets, stats[0], "packets counted for the backend");
        assertEquals(bytes, stats[1], "bytes counted for the backend");
    }
}

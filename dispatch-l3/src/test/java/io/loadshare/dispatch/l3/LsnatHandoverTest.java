package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.Frames;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.testing.RecordingFastPath;
import io.loadshare.core.testing.TestFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * When the LSNAT pipeline hands a TCP session to the fast path (a recording one here): at the backend's SYN-ACK,
 * after its rewrite (the frame then goes to the client's MAC), so that the client's ACK and request stay in the
 * kernel; under pressure only at the client's ACK, which the session table checks against that SYN-ACK first.
 */
class LsnatHandoverTest {
    private static final int CLIENT = Ipv4Address.parse("203.0.113.2");
    private static final int VIP = Ipv4Address.parse("203.0.113.10");
    private static final int BACKEND = Ipv4Address.parse("192.0.2.11");
    private static final byte[] NONE = new byte[0];

    private LsnatHarness.MacChannel channel;
    private final RecordingFastPath fastPath = new RecordingFastPath();

    private void start(String core) throws Exception {
        L3Dispatcher lsnat = L3Dispatcher.builder()
                .service(L3Service.of("web", "203.0.113.10", 80, "round-robin", "192.0.2.11"))
                .coreSettings(CoreSettings.from(ConfigFactory.parseString(core)))
                .settings(new L3Settings(Duration.ofMillis(100), 2, 0, 1000, 50))
                .build();
        channel = new LsnatHarness.MacChannel(lsnat.initializer(Arm.BOTH));
        LsnatHarness.bringUp(channel, lsnat, "192.0.2.11");
        lsnat.context().offload(fastPath);
    }

    @AfterEach
    void tearDown() {
        channel.finishAndReleaseAll();
    }

    @Test
    void handedOverAtTheBackendsSynAck() throws Exception {
        start("");
        forward(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.SYN, NONE));
        assertEquals(List.of(), fastPath.events, "a SYN alone stays in the pipeline");
        forward(synAck(40000));
        assertEquals(List.of("install 80 to 02:00:00:00:00:01"), fastPath.events,
                "the backend's SYN-ACK, after its rewrite towards the client");
        forward(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.ACK, NONE));
        assertEquals(1, fastPath.events.size(), "once");
    }

    @Test
    void underPressureTheClientsAckHandsOver() throws Exception {
        start("io.loadshare.core.session { max-sessions = 8, pressure.watermark = 0.25 }");
        for (int port = 41000; port < 41003; port++) {
            forward(TestFrames.tcp(CLIENT, port, VIP, 80, TcpHeader.SYN, NONE));
        }
        forward(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.SYN, NONE));
        forward(synAck(40000));
        assertEquals(List.of(), fastPath.events, "a half-open session stays in the pipeline under pressure");
        forward(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.ACK, NONE));
        assertEquals(List.of("install 40000 to 02:00:00:00:00:0b"), fastPath.events,
                "the client's ACK of that SYN-ACK, after its rewrite towards the backend");
    }

    /** The backend's SYN-ACK to the client's SYN from {@code port}: sequence 5000, as the client's ACK expects. */
    private static ByteBuf synAck(int port) {
        return Frames.tcp(Unpooled.buffer(), TestFrames.DISPATCHER_MAC, TestFrames.BACKEND_MAC, BACKEND, 80, CLIENT,
                port, 5000, 1001, TcpHeader.SYN | TcpHeader.ACK, NONE);
    }

    private void forward(ByteBuf frame) {
        channel.writeInbound(frame);
        ByteBuf out = channel.readOutbound();
        assertTrue(out != null, "every frame is forwarded");
        out.release();
    }
}

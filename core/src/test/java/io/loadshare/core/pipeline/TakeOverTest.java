package io.loadshare.core.pipeline;

import static io.loadshare.core.testing.PipelineHarness.BACKEND_BASE;
import static io.loadshare.core.testing.PipelineHarness.CLIENT;
import static io.loadshare.core.testing.PipelineHarness.VIP;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.packet.TcpHeader;
import io.loadshare.core.session.SessionState;
import io.loadshare.core.session.StandbySessions;
import io.loadshare.core.testing.PipelineHarness;
import io.loadshare.core.testing.TestFrames;
import io.loadshare.core.testing.TestMacRewriter;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A packet without a session here follows the standby session another dispatcher reported (backend 3), where the
 * scheduler would pick backend 1: ACKs, retransmitted SYNs (a route change moved the handshake) and datagrams; a SYN
 * on a session past its handshake is a new connection (its port reused).
 */
class TakeOverTest {
    private static final byte[] NONE = new byte[0];
    private static final int PEER = 1;

    private final PipelineHarness harness = new PipelineHarness("", context -> new TestMacRewriter());
    private final StandbySessions standby = new StandbySessions(CoreSettings.defaults().session(), 16);

    TakeOverTest() {
        harness.context.standby(standby);
    }

    @AfterEach
    void close() {
        harness.close();
    }

    private void held(int protocol, int clientPort, int port, int state) {
        standby.put(protocol, CLIENT, clientPort, VIP, port, BACKEND_BASE + 3, 0, 0, state, 0, PEER);
    }

    /** The id of the backend the frame went to (TestMacRewriter writes the backend's MAC, whose last byte it is). */
    private int sentTo(ByteBuf frame) {
        harness.channel.writeInbound(frame);
        ByteBuf out = harness.channel.readOutbound();
        try {
            return out.getByte(5);
        } finally {
            out.release();
        }
    }

    @Test
    void anAckFollowsItsStandbySession() {
        held(IpProtocol.TCP, 40000, 80, SessionState.ESTABLISHED);
        assertEquals(3, sentTo(TestFrames.tcp(CLIENT, 40000, VIP, 80, TcpHeader.ACK, NONE)));
        assertEquals(SessionState.ESTABLISHED, harness.context.sessions().state(harness.context.sessions()
                .lookup(IpProtocol.TCP, CLIENT, 40000, VIP, 80, harness.context.now())));
    }

    @Test
    void aRetransmittedSynFollowsTheBackendAPeerChose() {
        held(IpProtocol.TCP, 40001, 80, SessionState.SYN_SEEN);
        assertEquals(3, sentTo(TestFrames.tcp(CLIENT, 40001, VIP, 80, TcpHeader.SYN, NONE)));
        assertEquals(1, harness.context.counters().sessionsOpened(3));
        assertEquals(0, harness.context.counters().sessionsOpened(1), "the scheduler was not asked");
    }

    @Test
    void aSynOnAnEndingOrEstablishedSessionIsANewConnection() {
        held(IpProtocol.TCP, 40002, 80, SessionState.FIN_SEEN);
        held(IpProtocol.TCP, 40004, 80, SessionState.ESTABLISHED);
        assertEquals(1, sentTo(TestFrames.tcp(CLIENT, 40002, VIP, 80, TcpHeader.SYN, NONE)));
        assertEquals(2, sentTo(TestFrames.tcp(CLIENT, 40004, VIP, 80, TcpHeader.SYN, NONE)),
                "the scheduler's next, not the standby session's backend 3");
    }

    @Test
    void aDatagramFollowsItsStandbySession() {
        held(IpProtocol.UDP, 40003, 53, SessionState.DATAGRAM);
        assertEquals(3, sentTo(TestFrames.udp(CLIENT, 40003, VIP, 53, NONE)));
    }
}

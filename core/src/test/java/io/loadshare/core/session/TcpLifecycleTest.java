package io.loadshare.core.session;

import static io.loadshare.core.session.SessionState.BACKEND_CLOSED;
import static io.loadshare.core.session.SessionState.CLIENT_CLOSED;
import static io.loadshare.core.session.SessionState.ESTABLISHED;
import static io.loadshare.core.session.SessionState.FIN_SEEN;
import static io.loadshare.core.session.SessionState.RESET;
import static io.loadshare.core.session.SessionState.SYN_ANSWERED;
import static io.loadshare.core.session.SessionState.SYN_SEEN;
import static io.loadshare.core.session.TcpLifecycle.KEEP;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loadshare.core.packet.TcpHeader;
import org.junit.jupiter.api.Test;

/** Each transition of the state machine, for a mode that sees the client alone and one that sees both sides. */
class TcpLifecycleTest {
    private static final int SYN = TcpHeader.SYN;
    private static final int ACK = TcpHeader.ACK;
    private static final int SYN_ACK = SYN | ACK;
    private static final int FIN_ACK = TcpHeader.FIN | ACK;
    private static final int RST = TcpHeader.RST;

    private final TcpLifecycle clientOnly = new TcpLifecycle(false);
    private final TcpLifecycle bothSides = new TcpLifecycle(true);

    @Test
    void theClientsAckEstablishesWhenTheModeSeesTheClientAlone() {
        assertEquals(ESTABLISHED, clientOnly.onClient(SYN_SEEN, ACK, false));
        assertEquals(KEEP, clientOnly.onClient(SYN_SEEN, SYN, true), "a repeated SYN keeps nothing alive");
        assertEquals(ESTABLISHED, clientOnly.onClient(ESTABLISHED, ACK, false), "data restarts the timer");
    }

    @Test
    void aModeThatSeesRepliesEstablishesOnlyAfterTheSynAckAndAMatchingAck() {
        assertEquals(KEEP, bothSides.onClient(SYN_SEEN, ACK, true), "no SYN-ACK yet");
        assertEquals(SYN_ANSWERED, bothSides.onBackend(SYN_SEEN, SYN_ACK));
        assertEquals(KEEP, bothSides.onBackend(SYN_SEEN, ACK), "only a SYN-ACK answers a SYN");
        assertEquals(KEEP, bothSides.onBackend(SYN_ANSWERED, SYN_ACK), "a retransmitted SYN-ACK keeps nothing");
        assertEquals(KEEP, bothSides.onClient(SYN_ANSWERED, ACK, false), "a blind ACK");
        assertEquals(ESTABLISHED, bothSides.onClient(SYN_ANSWERED, ACK, true));
    }

    @Test
    void finsHalfCloseThenClose() {
        assertEquals(CLIENT_CLOSED, clientOnly.onClient(ESTABLISHED, FIN_ACK, false));
        assertEquals(CLIENT_CLOSED, clientOnly.onClient(CLIENT_CLOSED, ACK, false), "the half-closed timer restarts");
        assertEquals(BACKEND_CLOSED, bothSides.onBackend(ESTABLISHED, FIN_ACK));
        assertEquals(FIN_SEEN, bothSides.onClient(BACKEND_CLOSED, FIN_ACK, false));
        assertEquals(FIN_SEEN, bothSides.onBackend(CLIENT_CLOSED, FIN_ACK));
        assertEquals(FIN_SEEN, bothSides.onClient(FIN_SEEN, ACK, false), "the last ACK restarts the linger");
        assertEquals(ESTABLISHED, clientOnly.onClient(ESTABLISHED, TcpHeader.FIN, false), "a FIN without ACK");
    }

    @Test
    void aResetClosesFromEitherSideAndLaterPacketsDoNotRestartItsLinger() {
        assertEquals(RESET, clientOnly.onClient(ESTABLISHED, RST, false));
        assertEquals(RESET, bothSides.onBackend(SYN_SEEN, RST));
        assertEquals(KEEP, clientOnly.onClient(RESET, RST, false));
        assertEquals(KEEP, bothSides.onBackend(RESET, RST));
        assertEquals(FIN_SEEN, bothSides.onBackend(RESET, FIN_ACK));
    }

    @Test
    void aContinuedFlowIsEstablishedUnlessItsSegmentClosesIt() {
        assertEquals(ESTABLISHED, clientOnly.continued(ACK));
        assertEquals(CLIENT_CLOSED, clientOnly.continued(FIN_ACK));
        assertEquals(RESET, clientOnly.continued(RST));
    }
}

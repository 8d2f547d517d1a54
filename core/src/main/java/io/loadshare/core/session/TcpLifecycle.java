package io.loadshare.core.session;

import io.loadshare.core.packet.TcpHeader;

/**
 * TCP's lifecycle as a dispatcher sees it (paper section 3.1, with the states of IPVS's {@code ip_vs_proto_tcp.c}):
 * which {@link SessionState} one packet moves a session to. It holds no sessions; {@link SessionTable} stores the
 * state this decides, as IPVS keeps {@code ip_vs_conn.c} apart from its protocol handlers.
 *
 * <p>A session is established only by the client's ACK after its SYN; in a mode that sees replies, only by one that
 * acknowledges the backend's SYN-ACK, so a blind spoofer cannot complete a handshake the backend never answered.
 * One side's FIN+ACK half-closes it; the other side's FIN, or an RST, closes it.
 */
final class TcpLifecycle {
    /** The packet leaves the state alone and does not restart its timer. */
    static final int KEEP = 0;

    private final boolean seesReplies;

    /** @param seesReplies the mode carries both directions (LSNAT), so the backend's SYN-ACK must come first */
    TcpLifecycle(boolean seesReplies) {
        this.seesReplies = seesReplies;
    }

    /**
     * The state a packet from the client moves a session to, or {@link #KEEP}.
     *
     * @param handshakeAcknowledged whether the packet's acknowledgement matches the backend's SYN-ACK (or is not
     *     checked); looked at only while a session that sees replies is half-open
     */
    int onClient(int state, int tcpFlags, boolean handshakeAcknowledged) {
        int next = closing(state, tcpFlags, true);
        if (next == state && SessionState.isHalfOpen(state)) {
            boolean ack = (tcpFlags & TcpHeader.SYN) == 0 && (tcpFlags & TcpHeader.ACK) != 0;
            boolean answered = !seesReplies || state == SessionState.SYN_ANSWERED && handshakeAcknowledged;
            // Until then the timer is not restarted, so repeated packets cannot keep a half-open session.
            return ack && answered ? SessionState.ESTABLISHED : KEEP;
        }
        return next == SessionState.RESET && state == SessionState.RESET ? KEEP : next;
    }

    /**
     * The state a packet from the backend moves a session to, or {@link #KEEP}: a SYN-ACK answers a SYN (the caller
     * keeps what the client's ACK must acknowledge); FIN and RST close as from the client.
     */
    int onBackend(int state, int tcpFlags) {
        int next = closing(state, tcpFlags, false);
        if (next == state && state == SessionState.SYN_SEEN
                && (tcpFlags & (TcpHeader.SYN | TcpHeader.ACK)) == (TcpHeader.SYN | TcpHeader.ACK)) {
            return SessionState.SYN_ANSWERED;
        }
        if (next == state && SessionState.isHalfOpen(state) || next == SessionState.RESET
                && state == SessionState.RESET) {
            return KEEP;
        }
        return next;
    }

    /**
     * The state of a session that continues, mid-flow, a connection whose handshake another dispatcher saw: it is
     * established, unless the segment that continues it closes it.
     */
    int continued(int tcpFlags) {
        return closing(SessionState.ESTABLISHED, tcpFlags, true);
    }

    /**
     * The state a FIN+ACK or RST from one side moves a session to, or its state unchanged. The first side's FIN
     * half-closes it, the other side's closes it. A mode that sees the client alone (LSMAC) never sees the
     * backend's FIN, so its half-closed sessions end by their timeout.
     */
    private static int closing(int state, int tcpFlags, boolean fromClient) {
        if ((tcpFlags & TcpHeader.RST) != 0) {
            return SessionState.RESET;
        }
        if ((tcpFlags & TcpHeader.FIN) == 0 || (tcpFlags & TcpHeader.ACK) == 0) {
            return state;
        }
        int closedHere = fromClient ? SessionState.CLIENT_CLOSED : SessionState.BACKEND_CLOSED;
        int closedThere = fromClient ? SessionState.BACKEND_CLOSED : SessionState.CLIENT_CLOSED;
        if (state == closedThere || state == SessionState.FIN_SEEN || state == SessionState.RESET) {
            return SessionState.FIN_SEEN;
        }
        return closedHere;
    }
}

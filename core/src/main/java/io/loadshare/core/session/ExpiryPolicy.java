package io.loadshare.core.session;

/**
 * How long a session lives in each {@link SessionState}, under pressure and not, and what becomes of a session
 * handed to a fast path when its deadline comes: the table's packets stopped at the hand-over, so the fast path's
 * sightings of the flow count as packets.
 *
 * <p>A fast path that carried a packet from the client after the hand-over carried the handshake's last ACK: the
 * session is established, whatever state the table last saw. So at the deadline of a half-open session the policy
 * first asks that, promotes the session, and only then judges its idleness, against the established timeout. (It
 * used to judge it against the SYN timeout first, and so ended every offloaded connection idle for longer than 30 s,
 * 3 s under pressure.) The fast path does not check the acknowledgement number, so with a fast path the handshake is
 * as hard to forge as the backend makes it.
 */
final class ExpiryPolicy {
    /** What {@link #atDeadline} answers for a session that has ended. */
    static final long EXPIRED = -1;

    private final int synMillis;
    private final int pressureSynMillis;
    private final int tcpIdleMillis;
    private final int lingerMillis;
    private final int halfClosedMillis;
    private final int udpIdleMillis;
    private final boolean seesReplies;

    /** @param seesReplies the mode carries both directions, so it sees when a half-closed session's other half ends */
    ExpiryPolicy(SessionSettings settings, boolean seesReplies) {
        this.synMillis = millis(settings.tcpSynTimeout().toMillis());
        this.pressureSynMillis = millis(settings.tcpSynTimeoutUnderPressure().toMillis());
        this.tcpIdleMillis = millis(settings.tcpIdleTimeout().toMillis());
        this.lingerMillis = millis(settings.tcpLinger().toMillis());
        this.halfClosedMillis = millis(settings.tcpHalfClosedTimeout().toMillis());
        this.udpIdleMillis = millis(settings.udpIdleTimeout().toMillis());
        this.seesReplies = seesReplies;
    }

    private static int millis(long value) {
        return (int) Math.max(1, value);
    }

    /** How long a closing (FIN or RST) session lingers, in milliseconds. */
    int lingerMillis() {
        return lingerMillis;
    }

    /** A state's lifetime in milliseconds, restarted by each packet that keeps the state. */
    int timeout(int state, boolean pressure) {
        return switch (state) {
            case SessionState.SYN_SEEN, SessionState.SYN_ANSWERED -> pressure ? pressureSynMillis : synMillis;
            case SessionState.ESTABLISHED -> tcpIdleMillis;
            case SessionState.DATAGRAM -> udpIdleMillis;
            // Half the connection lives on; LSMAC cannot see when the backend's half ends, so under pressure it
            // keeps the linger's worth, as before the client's FIN was taken for the end.
            case SessionState.CLIENT_CLOSED, SessionState.BACKEND_CLOSED ->
                    seesReplies || !pressure ? halfClosedMillis : lingerMillis;
            default -> lingerMillis;
        };
    }

    /**
     * Decides, at its deadline, the fate of a session whose packets a fast path carries.
     *
     * @param sightings what the fast path saw of the flow; the client's side is asked only of a half-open session
     * @return the session's state in the high 32 bits and its new deadline in the low 32, or {@link #EXPIRED}
     */
    long atDeadline(int state, int now, boolean pressure, Sightings sightings) {
        // Closed (both FINs, or a reset): what the fast path still carries, a last ACK, keeps nothing alive.
        if (state == SessionState.FIN_SEEN || state == SessionState.RESET) {
            return EXPIRED;
        }
        int kept = state;
        if (SessionState.isHalfOpen(state)) {
            // As in the table, nothing but the handshake's end keeps a half-open session: not a retransmitted SYN-ACK.
            if (sightings.clientIdleNanos() < 0) {
                return EXPIRED;
            }
            kept = SessionState.ESTABLISHED;
        }
        long idle = sightings.idleNanos();
        int timeout = timeout(kept, pressure);
        long idleMillis = idle / 1_000_000;
        if (idle < 0 || idleMillis >= timeout) {
            return EXPIRED;
        }
        return ((long) kept << 32) | ((now + (int) Math.max(1, timeout - idleMillis)) & 0xFFFF_FFFFL);
    }

    /** What the fast path saw of one flow; each call may ask the kernel. */
    interface Sightings {
        /** Nanoseconds since the fast path last carried a packet of the flow either way, -1 for none. */
        long idleNanos();

        /** Nanoseconds since the fast path last carried a packet from the client, -1 for none. */
        long clientIdleNanos();
    }
}

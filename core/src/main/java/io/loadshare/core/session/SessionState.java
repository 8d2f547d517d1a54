package io.loadshare.core.session;

/**
 * The states a session entry moves through. Stored as small ints in the table, so they are constants rather
 * than an enum.
 *
 * <pre>
 * SYN (no ACK) ──► SYN_SEEN ──client's ACK──► ESTABLISHED ──one side's FIN──► CLIENT_CLOSED or BACKEND_CLOSED
 *                     │  (a mode that sees replies:      │        ──the other side's FIN──► FIN_SEEN ──linger──► gone
 *                     │   backend's SYN-ACK ──► SYN_ANSWERED ──client's ACK──► ESTABLISHED)
 *                     │                                  │   (half-closed: gone after the half-closed timeout;
 *                     │                                  │    LSMAC never sees the backend's FIN, so it ends so)
 *                     └────────────RST─────────────┴──────RST────► RESET ──linger──► gone
 * any UDP datagram ──► DATAGRAM ──idle timeout──► gone
 * </pre>
 * Each packet restarts the timer of the state it finds.
 * SYN_SEEN and SYN_ANSWERED are half-open: they keep the SYN timeout, and a full table may evict them.
 */
public final class SessionState {
    public static final int SYN_SEEN = 1;
    public static final int ESTABLISHED = 2;
    public static final int FIN_SEEN = 3;
    public static final int RESET = 4;
    public static final int DATAGRAM = 5;
    /** The backend answered the SYN (LSNAT sees it); the client's ACK will establish the session. */
    public static final int SYN_ANSWERED = 6;
    /** The client has sent its FIN, the backend may still send. */
    public static final int CLIENT_CLOSED = 7;
    /** The backend has sent its FIN, the client may still send (a mode that sees replies). */
    public static final int BACKEND_CLOSED = 8;
    /** One more than the largest state, for arrays indexed by state. */
    public static final int LIMIT = 9;

    private SessionState() {
    }

    /** Whether a new SYN on this flow starts a new session rather than belonging to the old one. */
    public static boolean isClosing(int state) {
        return state == FIN_SEEN || state == RESET || state == CLIENT_CLOSED || state == BACKEND_CLOSED;
    }

    /** Whether the session has seen only the opening of a handshake: what a SYN flood leaves behind. */
    public static boolean isHalfOpen(int state) {
        return state == SYN_SEEN || state == SYN_ANSWERED;
    }

    public static String name(int state) {
        return switch (state) {
            case SYN_SEEN -> "syn-seen";
            case SYN_ANSWERED -> "syn-answered";
            case ESTABLISHED -> "established";
            case FIN_SEEN -> "fin-seen";
            case RESET -> "reset";
            case DATAGRAM -> "datagram";
            case CLIENT_CLOSED -> "client-closed";
            case BACKEND_CLOSED -> "backend-closed";
            default -> "unknown(" + state + ")";
        };
    }
}

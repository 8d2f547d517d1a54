package io.loadshare.core.session;

/**
 * The states a session entry moves through. Stored as small ints in the table, so they are constants rather
 * than an enum.
 *
 * <pre>
 * SYN (no ACK) ──► SYN_SEEN ──first non-SYN──► ESTABLISHED ──FIN──► FIN_SEEN ──linger──► gone
 *                     │                             │                  (each packet restarts the linger)
 *                     └────────────RST──────────────┴──────RST────► RESET ──linger──► gone
 * any UDP datagram ──► DATAGRAM ──idle timeout──► gone
 * </pre>
 */
public final class SessionState {
    public static final int SYN_SEEN = 1;
    public static final int ESTABLISHED = 2;
    public static final int FIN_SEEN = 3;
    public static final int RESET = 4;
    public static final int DATAGRAM = 5;

    private SessionState() {
    }

    /** Whether a new SYN on this flow starts a new session rather than belonging to the old one. */
    public static boolean isClosing(int state) {
        return state == FIN_SEEN || state == RESET;
    }

    public static String name(int state) {
        return switch (state) {
            case SYN_SEEN -> "syn-seen";
            case ESTABLISHED -> "established";
            case FIN_SEEN -> "fin-seen";
            case RESET -> "reset";
            case DATAGRAM -> "datagram";
            default -> "unknown(" + state + ")";
        };
    }
}

package io.loadshare.core.session;

/** Why a session left the table; each is a separate counter. */
public enum SessionEnd {
    /** FIN or RST seen, and the linger ran out. */
    FINISHED("finished"),
    /** No packet within the idle timeout of its state. */
    IDLE_TIMEOUT("idle-timeout"),
    /** A new SYN reused the four-tuple of a closing session. */
    REUSED("reused"),
    /** Its backend left the pool or went down. */
    BACKEND_GONE("backend-gone"),
    /** Removed by the control plane (flush, shutdown). */
    FLUSHED("flushed"),
    /** A half-open session (SYN only) evicted from a full table to make room for a new one. */
    EVICTED("evicted");

    private final String label;

    SessionEnd(String label) {
        this.label = label;
    }

    /** The kebab-case name used in metrics and logs. */
    public String label() {
        return label;
    }
}

package io.loadshare.core.backend;

/** Whether a backend takes new sessions. */
public enum BackendState {
    /** Takes new sessions. */
    ACTIVE,
    /** Takes no new sessions; its existing sessions continue. */
    DRAINING,
    /** Takes nothing: its existing sessions end at their next packet. */
    DOWN;

    /** The lower-case name used in config, metrics and status output. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}

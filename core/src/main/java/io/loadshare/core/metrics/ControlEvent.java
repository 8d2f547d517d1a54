package io.loadshare.core.metrics;

/** Something a dispatcher refused, held back or survived outside forwarding, counted so that an operator sees it. */
public enum ControlEvent {
    /** An ARP round threw; it was logged and the next round runs as usual. */
    ARP_ROUND_FAILED("arp-round-failed"),
    /** A host answered ARP discovery from a MAC outside {@code allowed-macs}. */
    DISCOVERY_NOT_ALLOWED("discovery-not-allowed"),
    /** A host answered ARP discovery while the service already had {@code max-backends} discovered backends. */
    DISCOVERY_LIMIT("discovery-limit"),
    /** An ICMP error the dispatcher would have originated was held back by its rate limit. */
    ICMP_RATE_LIMITED("icmp-rate-limited"),
    /** A client was scheduled without a persistence template: every one of {@code persistence-templates} was taken. */
    PERSISTENCE_FULL("persistence-full"),
    /**
     * Another MAC answered the dispatcher's request for a static backend's address in a round where the backend's
     * own MAC answered too: a forged or confused reply, ignored.
     */
    ARP_MAC_CONFLICT("arp-mac-conflict"),
    /** A static backend's MAC moved: the new one alone had answered for {@code miss-limit} rounds in a row. */
    BACKEND_MAC_MOVED("backend-mac-moved"),
    /** A backend could not join because every backend id up to {@code max-backend-id} was in use. */
    BACKEND_IDS_EXHAUSTED("backend-ids-exhausted"),
    /**
     * A TCP segment without a session here was taken as the continuation of a flow another dispatcher (or this one
     * before a restart) started, and given the backend the service's consistent hash picks.
     */
    SESSION_CONTINUED("session-continued"),
    /**
     * A packet without a session here belonged to a standby session (another dispatcher's, or this one's before a
     * restart), which it took over with the backend the session had.
     */
    SESSION_TAKEN_OVER("session-taken-over");

    private final String label;

    ControlEvent(String label) {
        this.label = label;
    }

    /** The kebab-case name used in metrics and logs. */
    public String label() {
        return label;
    }
}

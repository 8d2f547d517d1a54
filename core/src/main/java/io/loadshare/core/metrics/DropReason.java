package io.loadshare.core.metrics;

/** Why the data path dropped a frame. Every drop is counted under exactly one reason. */
public enum DropReason {
    /** Shorter than an Ethernet header (or its 802.1Q tag). */
    TRUNCATED_ETHERNET("truncated-ethernet"),
    /** Neither IPv4 nor ARP. */
    UNSUPPORTED_ETHERTYPE("unsupported-ethertype"),
    /** ARP that is not Ethernet/IPv4, or shorter than 28 bytes. */
    MALFORMED_ARP("malformed-arp"),
    /** Well-formed ARP that no handler in the pipeline wanted. */
    UNHANDLED_ARP("unhandled-arp"),
    /** An ARP reply not addressed to the dispatcher (gratuitous, or to another host): never learned from. */
    UNSOLICITED_ARP("unsolicited-arp"),
    /** Fewer bytes than the IPv4 header or its total length claims. */
    TRUNCATED_IPV4("truncated-ipv4"),
    /** Version field is not 4. */
    BAD_IP_VERSION("bad-ip-version"),
    /** IHL below 5 words. */
    BAD_IHL("bad-ihl"),
    /** Total length shorter than the header. */
    BAD_TOTAL_LENGTH("bad-total-length"),
    /** Header checksum does not verify. */
    BAD_IP_CHECKSUM("bad-ip-checksum"),
    /** An IP fragment, which the pipeline has no policy for. */
    FRAGMENT("fragment"),
    /** Not TCP, UDP or ICMP. */
    UNSUPPORTED_PROTOCOL("unsupported-protocol"),
    /** Fewer than 20 TCP header bytes. */
    TRUNCATED_TCP("truncated-tcp"),
    /** TCP data offset below 5 words or past the datagram. */
    BAD_TCP_OFFSET("bad-tcp-offset"),
    /** Fewer than 8 UDP header bytes. */
    TRUNCATED_UDP("truncated-udp"),
    /** UDP length field below 8 or past the datagram. */
    BAD_UDP_LENGTH("bad-udp-length"),
    /** ICMP header, or the datagram an ICMP error quotes, is cut short or malformed. */
    MALFORMED_ICMP("malformed-icmp"),
    /** ICMP that is not an error about a known session (echo to a cluster address, say). */
    UNHANDLED_ICMP("unhandled-icmp"),
    /** Addressed to no configured cluster address, protocol and port. */
    NO_SERVICE("no-service"),
    /** Not the start of a session, and no session exists for it. */
    NO_SESSION("no-session"),
    /** The service has no backend that takes new sessions. */
    NO_BACKEND("no-backend"),
    /** The client's source has opened new sessions faster than {@code source-limit} allows. */
    SOURCE_LIMIT("source-limit"),
    /** The session table is full and held no half-open session to evict, so a new session was refused. */
    TABLE_FULL("table-full"),
    /** The flow's run of the session table is full (it never is with a random hash), so it was refused. */
    TABLE_PROBE_LIMIT("table-probe-limit"),
    /** The backend's MAC address is not resolved (yet), so a layer-2 rewrite has no destination. */
    NO_BACKEND_MAC("no-backend-mac"),
    /** The session of a reply has no last hop recorded, so the reply has no destination MAC (LSNAT). */
    NO_NEIGHBOR("no-neighbor"),
    /** The arm a frame must leave by is not bound yet (LSNAT arms may be bound in any order). */
    ARM_NOT_READY("arm-not-ready"),
    /** Every source port of a full-NAT address is taken, so a new session was refused. */
    NAT_PORTS_EXHAUSTED("nat-ports-exhausted"),
    /** The TTL ran out at the dispatcher, which forwards as a router does (LSNAT). */
    TTL_EXPIRED("ttl-expired"),
    /** Too large for the link it must leave by, with DF set: answered with ICMP "fragmentation needed" (LSNAT). */
    FRAGMENTATION_NEEDED("fragmentation-needed"),
    /** Too large for the link it must leave by, without DF (or an ICMP error): the dispatcher does not fragment. */
    CANNOT_FRAGMENT("cannot-fragment"),
    /** The session's backend left the pool or went down. */
    BACKEND_GONE("backend-gone"),
    /**
     * The outbound channel was not writable (its queue is full). A frame the kernel then refuses to send is counted
     * by the transport (the raw socket's send failures), which alone sees why.
     */
    TX_QUEUE_FULL("tx-queue-full");

    private final String label;

    DropReason(String label) {
        this.label = label;
    }

    /** The kebab-case name used in metrics and logs. */
    public String label() {
        return label;
    }
}

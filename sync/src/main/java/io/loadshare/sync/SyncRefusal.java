package io.loadshare.sync;

/** Why a sync message was refused; each is a counter. A refused message is never applied. */
enum SyncRefusal {
    /** Did not parse: a bad length, type or record. The link is closed. */
    MALFORMED("malformed"),
    /** Its MAC did not match: not from a holder of the key, or altered. The link is closed. */
    UNAUTHENTICATED("unauthenticated"),
    /** Its sequence number was not the next one: a replay, or a message lost or reordered. The link is closed. */
    REPLAYED("replayed"),
    /** Another protocol version: a peer of another release. The link is closed. */
    VERSION("version"),
    /** From an address that is not among the peers. The link is closed before anything is read. */
    UNKNOWN_PEER("unknown-peer"),
    /** A session the standby store had no room for. */
    STORE_FULL("store-full");

    private final String label;

    SyncRefusal(String label) {
        this.label = label;
    }

    String label() {
        return label;
    }
}

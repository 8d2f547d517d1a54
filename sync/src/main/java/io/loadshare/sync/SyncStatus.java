package io.loadshare.sync;

import java.util.List;
import java.util.Map;

/**
 * What session sync is doing, for {@code status} and {@code /metrics}.
 *
 * @param standby standby sessions held now
 * @param standbyRefused standby sessions refused because the store was full
 * @param takenOver standby sessions a packet took over
 * @param handedOver sessions the previous process left in the hand-over file
 * @param journalDropped changes dropped because a worker's journal was full
 * @param refused messages refused, by reason
 */
public record SyncStatus(boolean enabled, List<Peer> peers, int standby, int maxStandby, long standbyRefused,
        long takenOver, long handedOver, long journalDropped, Map<String, Long> refused) {

    /**
     * One peer.
     *
     * @param sending how far the link this dispatcher sends on has come
     * @param receiving whether the peer's link to here is up (its standby sessions live while it is)
     * @param synced whether the peer's full table has arrived on that link
     * @param lastReceivedMillis milliseconds since its last message, -1 for never: the lag a dead link shows
     * @param adopted the peer's source-NAT addresses this dispatcher answers for while the peer is gone
     */
    public record Peer(String address, String sending, boolean receiving, boolean synced, long sessionsSent,
            long sessionsReceived, long lastReceivedMillis, long linksLost, List<String> adopted) {
    }
}

package io.loadshare.sync;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;

/**
 * One other dispatcher of the tier, as this one sees it: the link this one sends on, the link it receives on, and
 * what went over them. Touched on the sync's thread only, but for the status fields, which are volatile.
 */
final class SyncPeer {
    /** How far the link this dispatcher sends on has come. */
    enum Outbound {
        CONNECTING("connecting"), DOWN("down"), SENDING_TABLE("sending-table"), STREAMING("streaming");

        final String label;

        Outbound(String label) {
            this.label = label;
        }
    }

    final InetSocketAddress address;
    /** The peer's number as the owner of standby sessions here: 1 up. */
    final int owner;
    /** Completes once the peer's full table has arrived, or once the peer is found down (failback gating). */
    final CompletableFuture<String> initialSync = new CompletableFuture<>();

    volatile Outbound outbound = Outbound.CONNECTING;
    /** The link this dispatcher sends on, once the peer's challenge came; null otherwise. */
    Channel sending;
    byte[] sendingNonce;
    long sentSequence;
    /** The link the peer sends on, null while there is none. */
    volatile Channel receiving;
    volatile boolean tableReceived;
    volatile long sessionsSent;
    volatile long sessionsReceived;
    volatile long lastReceivedNanos;
    long lastSentNanos;
    volatile long linksLost;
    /** The peer's own source-NAT addresses, as its hello said. */
    List<Integer> natAddresses = List.of();
    /** Those of them this dispatcher adopted while the peer was gone. */
    final Set<Integer> adopted = ConcurrentHashMap.newKeySet();

    SyncPeer(InetSocketAddress address, int owner) {
        this.address = address;
        this.owner = owner;
    }

    /** Whether the peer holds its sessions: its link to here is up. */
    boolean alive() {
        Channel link = receiving;
        return link != null && link.isActive();
    }
}

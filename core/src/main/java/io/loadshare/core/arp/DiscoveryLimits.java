package io.loadshare.core.arp;

import java.util.Set;

/**
 * Who may become a backend by answering ARP discovery for a cluster address (paper section 3.1). Discovery trusts
 * the segment; these bound that trust.
 *
 * @param allowedMacs MACs that may join; empty admits any host that answers
 * @param maxBackends discovered backends one service holds at most; further hosts are refused and counted
 */
public record DiscoveryLimits(Set<Long> allowedMacs, int maxBackends) {
    public DiscoveryLimits {
        allowedMacs = Set.copyOf(allowedMacs);
        if (maxBackends < 1) {
            throw new IllegalArgumentException("discovery max-backends must be at least 1, was " + maxBackends);
        }
    }

    /** Whether a host at this MAC may join. */
    public boolean admits(long mac) {
        return allowedMacs.isEmpty() || allowedMacs.contains(mac);
    }
}

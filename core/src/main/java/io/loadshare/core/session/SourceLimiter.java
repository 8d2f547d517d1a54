package io.loadshare.core.session;

import java.security.SecureRandom;

/**
 * Limits the new sessions each source opens: a token bucket per client network (the client address under a
 * netmask), {@code rate} tokens a second up to {@code burst}, one token per new session, as iptables' hashlimit
 * does for new connections. A source without a token is refused; a TCP client retransmits its SYN and gets in once
 * its bucket has refilled.
 *
 * <p>Bounded, allocated up front, owned by one event loop (no locks, nothing allocated per packet): the buckets sit
 * in sets of {@value #WAYS}, placed by a hash with a seed drawn per limiter. A source new to a full set takes the
 * place of the bucket used longest ago, which has refilled the most. Sources that no flood of others keeps pushing
 * out are limited exactly; a pushed-out source comes back with a full bucket, so spoofed floods (every packet from
 * another address) are not what this limits: the session table's pressure defences are.
 *
 * <pre>
 * keys[i]:  1 | client network (32), or 0 for an empty bucket
 * state[i]: fill in thousandths of a session (32) | last refill, event-loop milliseconds (32)
 * </pre>
 */
public final class SourceLimiter {
    static final int WAYS = 4;
    private static final long PRESENT = 1L << 32;
    private static final long ONE = 1000;

    private final long[] keys;
    private final long[] state;
    private final int setMask;
    private final long ratePerMilli;
    private final long capacity;
    private final int netmask;
    private final int seed = new SecureRandom().nextInt();

    public SourceLimiter(SourceLimitSettings settings) {
        int sets = Integer.highestOneBit(Math.max(1, settings.sources() / WAYS));
        this.keys = new long[sets * WAYS];
        this.state = new long[sets * WAYS];
        this.setMask = sets - 1;
        // rate sessions a second = rate thousandths of a session a millisecond.
        this.ratePerMilli = settings.rate();
        this.capacity = settings.burst() * ONE;
        this.netmask = settings.netmask();
    }

    /**
     * Takes a token for a new session from {@code clientAddress}'s bucket.
     *
     * @return false when the source has none left: the session is refused
     */
    public boolean admit(int clientAddress, int now) {
        int network = clientAddress & netmask;
        long key = PRESENT | (network & 0xFFFF_FFFFL);
        int base = set(network) * WAYS;
        int oldest = base;
        for (int i = base; i < base + WAYS; i++) {
            if (keys[i] == key) {
                return take(i, refilled(state[i], now), now);
            }
            if (keys[i] == 0) {
                oldest = i;
                break;
            }
            if ((int) state[i] - (int) state[oldest] < 0) {
                oldest = i;
            }
        }
        keys[oldest] = key;
        return take(oldest, capacity, now);
    }

    private long refilled(long bucket, int now) {
        long elapsed = Math.max(0, now - (int) bucket);
        return Math.min(capacity, (bucket >>> 32) + elapsed * ratePerMilli);
    }

    private boolean take(int i, long fill, int now) {
        boolean admitted = fill >= ONE;
        state[i] = (admitted ? fill - ONE : fill) << 32 | (now & 0xFFFF_FFFFL);
        return admitted;
    }

    private int set(int network) {
        int h = (network ^ seed) * 0x9E3779B1;
        return (h ^ (h >>> 16)) & setMask;
    }
}

package io.loadshare.core.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.packet.Ipv4Address;
import org.junit.jupiter.api.Test;

class SourceLimiterTest {
    private static final int CLIENT = Ipv4Address.parse("203.0.113.7");

    private static SourceLimiter limiter(int rate, int burst, String netmask, int sources) {
        return new SourceLimiter(new SourceLimitSettings(rate, burst, Ipv4Address.parse(netmask), sources));
    }

    private static int admitted(SourceLimiter limiter, int client, int attempts, int now) {
        int admitted = 0;
        for (int i = 0; i < attempts; i++) {
            admitted += limiter.admit(client, now) ? 1 : 0;
        }
        return admitted;
    }

    @Test
    void aBurstThenTheRate() {
        SourceLimiter limiter = limiter(10, 5, "255.255.255.255", 64);
        assertEquals(5, admitted(limiter, CLIENT, 100, 0), "the burst at once");
        assertFalse(limiter.admit(CLIENT, 99), "a tenth of a second refills one token at 10/s, not before");
        assertTrue(limiter.admit(CLIENT, 100));
        // Over 10 s at most 100 more, however fast it asks.
        int later = 0;
        for (int now = 101; now <= 10_100; now++) {
            later += limiter.admit(CLIENT, now) ? 1 : 0;
        }
        assertEquals(100, later);
        // A quiet minute refills the bucket to its burst, no further.
        assertEquals(5, admitted(limiter, CLIENT, 100, 70_000));
    }

    @Test
    void sourcesAreLimitedApartUnlessTheNetmaskJoinsThem() {
        SourceLimiter hosts = limiter(1, 2, "255.255.255.255", 64);
        assertEquals(2, admitted(hosts, CLIENT, 10, 0));
        assertEquals(2, admitted(hosts, CLIENT + 1, 10, 0), "another host has its own bucket");
        SourceLimiter networks = limiter(1, 2, "255.255.255.0", 64);
        assertEquals(2, admitted(networks, CLIENT, 10, 0));
        assertEquals(0, admitted(networks, CLIENT + 1, 10, 0), "the same /24 shares one");
    }

    @Test
    void aSourcePushedOutComesBackWithAFullBucket() {
        // One set of four buckets: a fifth source takes the place of the one seen longest ago.
        SourceLimiter limiter = limiter(1, 1, "255.255.255.255", SourceLimiter.WAYS);
        assertEquals(1, admitted(limiter, CLIENT, 5, 0));
        for (int other = 1; other <= SourceLimiter.WAYS - 1; other++) {
            assertTrue(limiter.admit(CLIENT + other, 10 + other));
        }
        assertFalse(limiter.admit(CLIENT, 20), "still tracked, still empty");
        assertTrue(limiter.admit(CLIENT + 100, 30), "a new source pushes out the oldest, CLIENT + 1");
        assertTrue(limiter.admit(CLIENT + 1, 40), "which returns with a full bucket");
        assertFalse(limiter.admit(CLIENT, 50), "CLIENT, used at 20, was not pushed out");
    }

    @Test
    void badSettingsSayWhatWasExpected() {
        int all = Ipv4Address.parse("255.255.255.255");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new SourceLimitSettings(-1, 1, all, 64))
                .getMessage().contains("source-limit.rate must be 0 (off)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new SourceLimitSettings(1, 0, all, 64))
                .getMessage().contains("source-limit.burst must be 1.."));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new SourceLimitSettings(1, 1, Ipv4Address.parse("255.0.255.0"), 64)).getMessage()
                .contains("contiguous"));
        assertEquals(new SourceLimitSettings(5, 50, all, 64), new SourceLimitSettings(10, 100, all, 64).perWorker(2));
    }
}

package io.loadshare.core.session;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The lifetimes by state and pressure, and the fate of an offloaded session at its deadline. */
class ExpiryPolicyTest {
    private static final long SECOND = 1_000_000_000L;

    private static ExpiryPolicy policy(boolean seesReplies) {
        return new ExpiryPolicy(new SessionSettings(100, Duration.ofSeconds(30), 0.5, Duration.ofSeconds(3),
                Duration.ofMinutes(15), Duration.ofSeconds(2), Duration.ofSeconds(60), Duration.ofSeconds(30),
                Duration.ofMillis(100), Duration.ofSeconds(2), 1024), seesReplies);
    }

    private static ExpiryPolicy.Sightings seen(long idle, long clientIdle) {
        return new ExpiryPolicy.Sightings() {
            @Override
            public long idleNanos() {
                return idle;
            }

            @Override
            public long clientIdleNanos() {
                return clientIdle;
            }
        };
    }

    @Test
    void lifetimesByStateAndPressure() {
        ExpiryPolicy lsmac = policy(false);
        ExpiryPolicy lsnat = policy(true);
        assertEquals(30_000, lsmac.timeout(SessionState.SYN_SEEN, false));
        assertEquals(3_000, lsmac.timeout(SessionState.SYN_ANSWERED, true));
        assertEquals(900_000, lsmac.timeout(SessionState.ESTABLISHED, true), "pressure spares established sessions");
        assertEquals(30_000, lsmac.timeout(SessionState.DATAGRAM, false));
        assertEquals(60_000, lsmac.timeout(SessionState.CLIENT_CLOSED, false));
        assertEquals(2_000, lsmac.timeout(SessionState.CLIENT_CLOSED, true), "LSMAC cannot see the other half end");
        assertEquals(60_000, lsnat.timeout(SessionState.BACKEND_CLOSED, true));
        assertEquals(2_000, lsnat.timeout(SessionState.FIN_SEEN, false));
        assertEquals(2_000, lsnat.timeout(SessionState.RESET, false));
    }

    @Test
    void anEstablishedSessionSeenWithinItsTimeoutLivesTheRest() {
        long kept = policy(true).atDeadline(SessionState.ESTABLISHED, 900_000, false, seen(SECOND, -1));
        assertEquals(SessionState.ESTABLISHED, (int) (kept >>> 32));
        assertEquals(900_000 + 899_000, (int) kept);
        assertEquals(ExpiryPolicy.EXPIRED, policy(true).atDeadline(SessionState.ESTABLISHED, 900_000, false,
                seen(900 * SECOND, 900 * SECOND)));
        assertEquals(ExpiryPolicy.EXPIRED, policy(true).atDeadline(SessionState.ESTABLISHED, 900_000, false,
                seen(-1, -1)), "the fast path carried nothing");
    }

    @Test
    void aHalfOpenSessionIsPromotedOnlyByAPacketFromTheClient() {
        long kept = policy(true).atDeadline(SessionState.SYN_ANSWERED, 40_000, true, seen(39 * SECOND,
                39 * SECOND));
        assertEquals(SessionState.ESTABLISHED, (int) (kept >>> 32), "pressure does not matter once it is open");
        assertEquals(40_000 + 900_000 - 39_000, (int) kept);
        assertEquals(ExpiryPolicy.EXPIRED, policy(true).atDeadline(SessionState.SYN_ANSWERED, 30_000, false,
                seen(SECOND, -1)), "a retransmitted SYN-ACK opens nothing");
        assertEquals(ExpiryPolicy.EXPIRED, policy(false).atDeadline(SessionState.SYN_SEEN, 30_000, false,
                seen(-1, -1)), "a placed SYN alone opens nothing");
    }

    @Test
    void aClosedSessionEndsWhateverTheFastPathStillCarries() {
        assertEquals(ExpiryPolicy.EXPIRED, policy(true).atDeadline(SessionState.FIN_SEEN, 10, false, seen(0, 0)));
        assertEquals(ExpiryPolicy.EXPIRED, policy(false).atDeadline(SessionState.RESET, 10, false, seen(0, 0)));
    }
}

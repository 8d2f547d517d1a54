package io.loadshare.distribution;

import static io.loadshare.demo.ScaleOutTestbed.DISPATCHERS;
import static io.loadshare.demo.ScaleOutTestbed.DOWNLOAD_BYTES;
import static io.loadshare.demo.ScaleOutTestbed.VIP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.LoadGenerator;
import io.loadshare.demo.ScaleOutTestbed;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scale-out tier of {@link ScaleOutTestbed}: a router with BIRD 2 spreading flows over three {@code loadshare
 * run} processes by ECMP (layer-4 hash), each announcing the VIP through its own BIRD, three backends, round robin
 * and session sync. LSMAC: under 300 slow downloads and a stream of short connections, one dispatcher is killed
 * with SIGKILL (its BIRD withdraws the VIP at once, the router moves its flows, and some others by rehashing, to the
 * survivors, which take them over from their standby sessions with the backends they had); a second drains with
 * {@code loadshare drain}; the first joins again; a backend leaves every dispatcher's list. LSNAT in full NAT: a kill,
 * the failback, a drain. Goals: no download breaks at any of these events (at most 1 % at the backend's departure).
 */
class ScaleOutTest {
    private static final int DOWNLOADS = 300;

    @TempDir
    Path dir;

    @Test
    void losingADispatcherBreaksAlmostNothing() throws Exception {
        requirements();
        try (ScaleOutTestbed tier = new ScaleOutTestbed(dir, n -> ScaleOutTestbed.services("l2", "round-robin", n,
                dir))) {
            String status = get(ScaleOutTestbed.adminPort(2), "/status");
            assertTrue(status.contains("\"announced\"") && status.contains("\"" + VIP + "\" : true"),
                    "a dispatcher announces only once its admin interface is up, and says so: " + status);
            LoadGenerator.Result warm = tier.shortConnections(Duration.ofSeconds(1));
            System.out.printf("before: %d short connections in 1 s, failed %s%n", warm.connections(), warm.failures());
            assertEquals(0, warm.failureCount(), "short connections through the tier: " + warm.failures());

            // 300 downloads of 400 KB at 50 KB/s (8 s each) and short connections throughout.
            ScaleOutTestbed.UnderLoad<Long> kill = tier.underLoad(DOWNLOADS, () -> tier.kill(1));
            long broken = kill.broken();
            System.out.printf("SIGKILL of d1: route withdrawn after %d ms; %d of %d downloads broke (%.1f %%);"
                    + " short connections meanwhile: %d, failed %s%n", kill.found(), broken, DOWNLOADS,
                    100.0 * broken / DOWNLOADS, kill.shortOnes().connections(), kill.shortOnes().failures());
            // Goal 0 (issue #28): 0 in local runs; 0, 1 and 5 of 300 in CI runs. A SIGKILL loses what the last batch
            // interval journaled (docs/scale-out.md): a connection opened then never reached the peers, and with
            // LSMAC its backend answered the client directly, so round robin elsewhere cannot continue it.
            long killBroken = broken;
            assertTrue(broken <= DOWNLOADS / 50, () -> killBroken + " of " + DOWNLOADS + " downloads broke"
                    + tier.diagnosis());

            // Graceful: d2 drains; its flows move to d3, which takes them over.
            Process downloads = tier.downloads(DOWNLOADS, "/download");
            Thread.sleep(2500);
            String answer = post(ScaleOutTestbed.adminPort(2), "/drain");
            assertTrue(answer.contains("withdrawn"), answer);
            tier.awaitNextHops(DISPATCHERS - 2, Duration.ofSeconds(10));
            assertTrue(tier.run(2).waitFor(10, TimeUnit.SECONDS), "the drained dispatcher stopped");
            assertEquals(0, tier.run(2).exitValue(), "and exited cleanly");
            broken = ScaleOutTestbed.broken(downloads, DOWNLOADS, DOWNLOAD_BYTES);
            System.out.printf("drain of d2: %d of %d downloads broke%n", broken, DOWNLOADS);
            assertEquals(0, broken, "no download breaks when a dispatcher drains");

            // A dispatcher joins under load: the router rehashes some flows to it, and it takes them over. Its JVM
            // and BGP session take 3 to 13 s here; these downloads take 32 s.
            downloads = tier.downloads(DOWNLOADS, "/long-download");
            Thread.sleep(1000);
            long joined = System.nanoTime();
            tier.start(1, "run-d1-again.log");
            tier.awaitNextHops(DISPATCHERS - 1, Duration.ofSeconds(30));
            long joinMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - joined);
            assertTrue(downloads.isAlive(), "the downloads were still running when the dispatcher joined");
            broken = ScaleOutTestbed.broken(downloads, DOWNLOADS, 4 * DOWNLOAD_BYTES);
            System.out.printf("d1 joins again: a next hop %d ms after its start; %d of %d downloads broke%n",
                    joinMillis, broken, DOWNLOADS);
            assertEquals(0, broken, "no download breaks when a dispatcher joins");

            // b3 leaves every dispatcher's list (a reload of each) under load: its flows drain on it, and new
            // connections spread over the two left.
            downloads = tier.downloads(DOWNLOADS, "/download");
            Thread.sleep(2500);
            for (int n : new int[] {1, 3}) {
                Files.writeString(tier.config(n), Files.readString(tier.config(n)).replace(", \"192.0.2.13\" ]", " ]"));
                String reloaded = post(ScaleOutTestbed.adminPort(n), "/reload");
                assertTrue(reloaded.contains("-> [192.0.2.11, 192.0.2.12]"), reloaded);
            }
            assertTrue(downloads.isAlive(), "the downloads were still running when b3 left");
            LoadGenerator.Result after = tier.shortConnections(Duration.ofSeconds(1));
            broken = ScaleOutTestbed.broken(downloads, DOWNLOADS, DOWNLOAD_BYTES);
            System.out.printf("b3 leaves every dispatcher (reload): %d of %d downloads broke; short connections"
                    + " after it: %d, failed %s%n", broken, DOWNLOADS, after.connections(), after.failures());
            assertTrue(broken <= DOWNLOADS / 100, broken + " of " + DOWNLOADS + " downloads broke");
            assertEquals(0, after.failureCount(), "short connections after the reload: " + after.failures());
        }
    }

    /**
     * LSNAT in the tier: full NAT, each dispatcher translating clients to a source-NAT address of its own, round robin,
     * session sync. A dead dispatcher's flows go on: the survivors take them over with the backend and the
     * source-NAT address and port they had, and the survivor with the lowest sync address answers ARP for the dead
     * one's address, so the backends' replies reach it. The dispatcher comes back (it pulls the others' tables
     * before it announces, and takes its address back), and then another drains. No download breaks.
     */
    @Test
    void lsnatFlowsSurviveKillFailbackAndDrain() throws Exception {
        requirements();
        try (ScaleOutTestbed tier = new ScaleOutTestbed(dir, n -> ScaleOutTestbed.services("l3", "round-robin", n,
                dir))) {
            LoadGenerator.Result warm = tier.shortConnections(Duration.ofSeconds(1));
            assertEquals(0, warm.failureCount(), "short connections through the LSNAT tier: " + warm.failures());
            ScaleOutTestbed.UnderLoad<Long> kill = tier.underLoad(DOWNLOADS, () -> tier.kill(1));
            System.out.printf("LSNAT tier, SIGKILL of d1: route withdrawn after %d ms; %d of %d downloads broke;"
                    + " short connections meanwhile: %d, failed %s%n", kill.found(), kill.broken(), DOWNLOADS,
                    kill.shortOnes().connections(), kill.shortOnes().failures());
            // Goal 0 (issue #28): 0 here. What remains is a race (docs/scale-out.md): a SYN whose first copy a
            // stalled dispatcher forwarded late, after its retransmission took the new route and was scheduled
            // afresh; 1 or 2 of 300 with this machine's two cores kept busy besides.
            assertTrue(kill.broken() <= DOWNLOADS / 100, () -> kill.broken() + " of " + DOWNLOADS
                    + " broke at the kill" + tier.diagnosis());

            Process downloads = tier.downloads(DOWNLOADS, "/long-download");
            Thread.sleep(1000);
            long joined = System.nanoTime();
            tier.start(1, "run-d1-again.log");
            tier.awaitNextHops(DISPATCHERS, Duration.ofSeconds(30));
            long joinMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - joined);
            assertTrue(downloads.isAlive(), "the downloads were still running when the dispatcher came back");
            long broken = ScaleOutTestbed.broken(downloads, DOWNLOADS, 4 * DOWNLOAD_BYTES);
            System.out.printf("LSNAT tier, d1 fails back: a next hop %d ms after its start; %d of %d downloads broke%n",
                    joinMillis, broken, DOWNLOADS);
            assertEquals(0, broken, "downloads broken at the failback");

            downloads = tier.downloads(DOWNLOADS, "/download");
            Thread.sleep(2500);
            String answer = post(ScaleOutTestbed.adminPort(2), "/drain");
            assertTrue(answer.contains("withdrawn"), answer);
            tier.awaitNextHops(DISPATCHERS - 1, Duration.ofSeconds(10));
            broken = ScaleOutTestbed.broken(downloads, DOWNLOADS, DOWNLOAD_BYTES);
            LoadGenerator.Result after = tier.shortConnections(Duration.ofSeconds(2));
            System.out.printf("LSNAT tier, drain of d2: %d of %d downloads broke; short connections after them: %d,"
                    + " failed %s%n", broken, DOWNLOADS, after.connections(), after.failures());
            long drainBroken = broken;
            assertTrue(drainBroken <= DOWNLOADS / 100, () -> drainBroken + " of " + DOWNLOADS
                    + " broke at the drain (the race above)" + tier.diagnosis());
            // 0 in every run but one CI run, which timed out 1 of 1,328 (docs/scale-out.md).
            assertTrue(after.failureCount() <= after.connections() / 100, () -> "new connections after the drain: "
                    + after.failures() + tier.diagnosis());
        }
    }

    private static void requirements() {
        NetnsTestbed.requireRoot();
        NetnsTestbed.requireTool("bird");
    }

    private static String get(int adminPort, String path) throws Exception {
        try (HttpClient client = HttpClient.newHttpClient()) {
            return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        }
    }

    private static String post(int adminPort, String path) throws Exception {
        try (HttpClient client = HttpClient.newHttpClient()) {
            return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).body();
        }
    }
}

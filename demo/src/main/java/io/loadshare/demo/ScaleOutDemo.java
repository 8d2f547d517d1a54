package io.loadshare.demo;

import io.loadshare.testbed.ClusterTestbed;
import io.loadshare.testbed.LoadGenerator;
import io.loadshare.testbed.Testbed;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code loadshare demo --scale-out}: builds the {@link ScaleOutTestbed} tier (a BIRD router with ECMP, three
 * dispatchers announcing the VIP over BGP, three backends) for each mode, starts slow downloads and short
 * connections through it, kills one dispatcher with SIGKILL and, for LSMAC, drains another with {@code loadshare
 * drain}, and prints what each event cost: when the router changed its route, how many downloads broke, how the
 * short connections fared. docs/scale-out.md explains the figures.
 */
public final class ScaleOutDemo {
    /**
     * @param modes l2 (LSMAC, maglev) and/or l3 (LSNAT full NAT, a source-NAT address per dispatcher)
     * @param downloads downloads of 400 KB at 50 KB/s running through each event
     */
    public record Settings(List<String> modes, int downloads) {
    }

    private record Row(String event, ScaleOutTestbed.UnderLoad<String> cost) {
    }

    private final Settings settings;
    private final PrintStream out;

    public ScaleOutDemo(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    public void run() throws IOException, InterruptedException {
        ClusterTestbed.requireRoot();
        try {
            Testbed.run("sh", "-c", "command -v bird && command -v curl");
        } catch (IllegalStateException e) {
            throw new IllegalStateException("the scale-out demo runs BIRD 2 and curl: install them (Debian: apt-get"
                    + " install bird2 curl), or run ./loadshare demo --scale-out from the source tree, which does");
        }
        Path dir = Files.createTempDirectory("loadshare-scale-out");
        List<Row> rows = new ArrayList<>();
        for (String mode : settings.modes()) {
            boolean lsmac = mode.equals("l2");
            String name = lsmac ? "LSMAC" : "LSNAT full NAT";
            out.printf("%s: building the tier (router with BIRD and ECMP, 3 dispatchers with BIRD, 3 backends)...%n",
                    name);
            long started = System.nanoTime();
            Path tierDir = Files.createDirectories(dir.resolve(mode));
            try (ScaleOutTestbed tier = new ScaleOutTestbed(tierDir,
                    n -> ScaleOutTestbed.services(mode, "round-robin", n, tierDir))) {
                out.printf("%s: the router has 3 next hops for %s after %.1f s%n", name, ScaleOutTestbed.VIP,
                        (System.nanoTime() - started) / 1e9);
                rows.add(event(tier, name + ": SIGKILL of d1", () -> tier.kill(1) + " ms after the kill"));
                rows.add(event(tier, name + ": loadshare drain of d2", () -> {
                    long drained = System.nanoTime();
                    post(ScaleOutTestbed.adminPort(2), "/drain");
                    tier.awaitNextHops(ScaleOutTestbed.DISPATCHERS - 2, Duration.ofSeconds(10));
                    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - drained) + " ms after the drain";
                }));
            }
        }
        out.printf("%n%-38s %-28s %-18s %s%n", "event", "route withdrawn", "downloads broken",
                "short connections meanwhile");
        for (Row row : rows) {
            LoadGenerator.Result shortOnes = row.cost().shortOnes();
            out.printf("%-38s %-28s %-18s %d, failed %s%n", row.event(), row.cost().found(),
                    row.cost().broken() + " of " + settings.downloads(), shortOnes.connections(),
                    shortOnes.failures().isEmpty() ? "none" : shortOnes.failures());
        }
        out.printf("""

                Downloads: %d of 400 KB at 50 KB/s each, started 2.5 s before the event. Short connections: 4 at a time
                for 6 s, each failing after 3 s; on a small machine the downloads' own load makes some time out, event
                or not. The dispatchers schedule by round robin and sync their sessions: a survivor takes a moved flow
                over with the backend it had, and in full NAT the survivor with the lowest sync address answers for the
                dead dispatcher's source-NAT address (docs/scale-out.md#session-sync).
                Configuration files and the dispatchers' logs: %s
                """, settings.downloads(), dir);
    }

    /** Runs an event under load; the event returns when the router changed its route, for the table. */
    private Row event(ScaleOutTestbed tier, String name, ScaleOutTestbed.Event<String> event)
            throws IOException, InterruptedException {
        out.printf("%s, under %d downloads and short connections...%n", name, settings.downloads());
        return new Row(name, tier.underLoad(settings.downloads(), event));
    }

    private static void post(int adminPort, String path) throws IOException, InterruptedException {
        try (HttpClient client = HttpClient.newHttpClient()) {
            client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        }
    }
}

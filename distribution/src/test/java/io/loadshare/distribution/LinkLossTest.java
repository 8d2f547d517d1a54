package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.ClusterTestbed;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code loadshare run} process whose interface goes down: it stops with exit status 3 and says why, so that
 * the service manager (the unit restarts on any exit but a clean stop) starts it again, instead of the exit status
 * 0 that made systemd leave it stopped.
 */
class LinkLossTest {
    @TempDir
    Path dir;

    @Test
    void anInterfaceThatGoesDownStopsRunWithStatus3() throws Exception {
        NetnsTestbed.requireRoot();
        try (ClusterTestbed cluster = ClusterTestbed.create()) {
            Path file = Files.writeString(dir.resolve("link.conf"), """
                    loadshare {
                      mode = l2
                      interfaces.client = d0
                      network-namespace = "%s"
                      admin.port = 19908
                      services = [ { name = web, address = "%s", port = 80, backends = ["192.0.2.11"] } ]
                    }
                    """.formatted(cluster.dispatcherNamespace(), ClusterTestbed.L2_VIP));
            Path log = dir.resolve("run.log");
            Process run = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-Dlogback.configurationFile=src/main/resources/logback.xml",
                    "-cp", System.getProperty("java.class.path"),
                    Loadshare.class.getName(), "run", "--config", file.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!answers("http://127.0.0.1:19908/status")) {
                    assertTrue(System.nanoTime() < deadline && run.isAlive(), "never started:\n" + Files.readString(log));
                    Thread.sleep(100);
                }
                cluster.testbed().exec(cluster.dispatcherNamespace(), "ip", "link", "set", "d0", "down");
                assertTrue(run.waitFor(10, TimeUnit.SECONDS), "still running with its interface down");
                assertEquals(3, run.exitValue(), Files.readString(log));
                String output = Files.readString(log);
                assertTrue(output.contains("interface d0 went down or disappeared") && output.contains("exit status 3"),
                        output);
            } finally {
                run.destroy();
                run.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static boolean answers(String url) {
        try (HttpClient client = HttpClient.newHttpClient()) {
            return client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode() == 200;
        } catch (Exception notYet) {
            return false;
        }
    }
}

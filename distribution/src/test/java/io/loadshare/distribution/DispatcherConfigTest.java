package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.scheduler.SchedulerRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Good files and each kind of bad one: every error names the file, the line, the key and what was expected. */
class DispatcherConfigTest {
    @TempDir
    Path dir;

    private Path write(String text) throws IOException {
        return Files.writeString(dir.resolve("loadshare.conf"), text);
    }

    private DispatcherConfig load(String text) throws IOException {
        return DispatcherConfig.load(write(text), SchedulerRegistry.load());
    }

    private String error(String text) throws IOException {
        Path file = write(text);
        return assertThrows(ConfigException.class, () -> DispatcherConfig.load(file, SchedulerRegistry.load()))
                .getMessage();
    }

    @Test
    void aGoodFileWithModuleOverrides() throws IOException {
        DispatcherConfig config = load("""
                loadshare {
                  mode = l3
                  interfaces { client = dc, backend = ds }
                  services = [
                    { name = web, address = "203.0.113.10", port = 80, scheduler = mh,
                      backends = ["192.0.2.11", "192.0.2.12"], backend-port = 8080 }
                  ]
                }
                io.loadshare.core.session.tcp-linger = 500ms
                io.loadshare.transport.rawsocket.ring.enabled = true
                """);
        assertEquals(DispatcherConfig.Mode.L3, config.mode());
        assertEquals("ds", config.backendInterface());
        assertEquals(Ipv4Address.parse("203.0.113.10"), config.services().get(0).address());
        assertEquals(8080, config.services().get(0).backendPort());
        assertEquals("mh", config.services().get(0).scheduler());
        assertEquals(Duration.ofMillis(500), config.core().session().tcpLinger());
        assertTrue(config.rawSocket().ring().enabled());
    }

    /** Every {@code hocon} example in docs/ that configures the dispatcher loads as it stands. */
    @Test
    void theDocsExamplesLoad() throws IOException {
        int examples = 0;
        // The examples' sync key, as the docs tell the operator to make it.
        Path key = Files.write(dir.resolve("sync.key"), new byte[32]);
        try (var docs = Files.list(Path.of("..", "docs"))) {
            for (Path doc : docs.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
                java.util.regex.Matcher block = java.util.regex.Pattern.compile("```hocon\\n(.*?)```",
                        java.util.regex.Pattern.DOTALL).matcher(Files.readString(doc));
                while (block.find()) {
                    if (block.group(1).contains("loadshare {")) {
                        try {
                            load(block.group(1).replace("/etc/loadshare/sync.key", key.toString()));
                        } catch (ConfigException e) {
                            throw new AssertionError(doc.getFileName() + ": " + block.group(1) + e.getMessage(), e);
                        }
                        examples++;
                    }
                }
            }
        }
        assertTrue(examples >= 6, "found only " + examples + " examples");
    }

    @Test
    void syncSettingsAreChecked() throws IOException {
        String base = "loadshare.services = [ { name = web, address = \"198.51.100.10\", port = 80 } ]\n";
        Path shortKey = Files.write(dir.resolve("short.key"), new byte[16]);
        String error = error(base + "loadshare.sync { enabled = true, peers = [\"192.0.2.3:7680\"], key-file = \""
                + shortKey + "\" }");
        assertTrue(error.contains("loadshare.sync") && error.contains("key-file: expected at least 32 bytes"), error);
        error = error(base + "loadshare.sync { enabled = true, peers = [\"192.0.2.3\"], key-file = \"" + shortKey
                + "\" }");
        assertTrue(error.contains("loadshare.sync") && error.contains("'192.0.2.3' has no port"), error);
        error = error(base + "loadshare.sync { enabled = true, key-file = \"" + shortKey + "\" }");
        assertTrue(error.contains("expected at least one other dispatcher"), error);
        assertEquals(Path.of("/run/x"), load(base + "loadshare.sync.handover-file = \"/run/x\"").sync().handoverFile());
    }

    @Test
    void offloadSettingsAreCheckedByName() throws IOException {
        String error = error("""
                loadshare.services = [ { name = web, address = "198.51.100.10", port = 80 } ]
                io.loadshare.offload.mode = always
                """);
        assertTrue(error.contains("io.loadshare.offload") && error.contains("mode must be one of off, auto, on, was"
                + " always"), error);
        assertEquals(io.loadshare.offload.OffloadSettings.Mode.ON, load("""
                loadshare.services = [ { name = web, address = "198.51.100.10", port = 80 } ]
                io.loadshare.offload { mode = on, max-flows = 1000 }
                """).offload().mode());
    }

    /**
     * Issue #33: the kernel places new flows before the pipeline's source limits could see them, so the two together
     * are refused at load rather than leaving the limit silently unapplied; and the announcer's stall timeout must
     * leave room for a slow look.
     */
    @Test
    void combinationsThatCannotHoldAreRefusedAtLoad() throws IOException {
        String service = "loadshare.services = [ { name = web, address = \"198.51.100.10\", port = 80 } ]\n";
        String error = error(service + "io.loadshare.offload { mode = auto, place-new-flows = true }\n"
                + "io.loadshare.core.source-limit.rate = 50\n");
        assertTrue(error.contains("io.loadshare.offload.place-new-flows") && error.contains("source-limit"), error);
        assertTrue(load(service + "io.loadshare.offload { mode = off, place-new-flows = true }\n"
                + "io.loadshare.core.source-limit.rate = 50\n").core().sourceLimit().enabled());
        assertError(service + "loadshare.announce { interval = 1s, stall-timeout = 1s }",
                "'loadshare.announce.stall-timeout': expected at least twice announce.interval (1000ms)");
    }

    @Test
    void aTypoIsAnErrorWithItsLine() throws IOException {
        String message = error("""
                loadshare {
                  mode = l2
                  interfcaes { client = eth0 }
                  services = [ { name = web, address = "198.51.100.10", port = 80 } ]
                }
                """);
        assertTrue(message.contains("loadshare.conf: 3"), message);
        assertTrue(message.contains("loadshare.interfcaes: unknown key"), message);
    }

    @Test
    void aTypoInsideAServiceNamesItsIndex() throws IOException {
        String message = error("""
                loadshare.services = [ { name = web, address = "198.51.100.10", port = 80, shceduler = rr } ]
                """);
        assertTrue(message.contains("loadshare.services[0]"), message);
        assertTrue(message.contains("loadshare.services[0].shceduler: unknown key"), message);
    }

    @Test
    void anUnknownSchedulerListsTheAvailableOnes() throws IOException {
        String message = error("""
                loadshare.services = [ { name = web, address = "198.51.100.10", port = 80, scheduler = fastest } ]
                """);
        assertTrue(message.contains("loadshare.services[0].scheduler"), message);
        assertTrue(message.contains("unknown scheduler 'fastest'; available: "), message);
        assertTrue(message.contains("maglev"), message);
    }

    private void assertError(String text, String expected) throws IOException {
        String message = error(text);
        assertTrue(message.contains(expected), message);
    }

    @Test
    void badValuesSayWhatWasExpected() throws IOException {
        assertError("loadshare.mode = l4\nloadshare.services = [ { name = a, address = \"198.51.100.1\", port = 1 } ]", "Invalid value at 'loadshare.mode': expected l2, l3 or l3-fullnat, got 'l4'");
        assertError("loadshare.services = [ { name = a, address = \"example.com\", port = 80 } ]", "Invalid value at 'loadshare.services[0].address': not an IPv4 address: example.com");
        assertError("loadshare.services = [ { name = a, address = \"198.51.100.1\", port = 70000 } ]", "expected a port 1..65535, got 70000");
        assertError("loadshare.services = []", "expected at least one service");
        assertError("loadshare { mode = l3, services = [ { name = a, address = \"198.51.100.1\", port = 80 } ] }", "l3 needs backend addresses");
        assertError("loadshare { mode = l3-fullnat, services = [ { name = a, address = \"198.51.100.1\", port = 80,"
                + " backends = [\"192.0.2.11\"] } ] }", "l3-fullnat needs the address clients are translated to");
        assertError("loadshare.services = [ { name = a, address = \"198.51.100.1\", port = 80 } ]\n"
                + "io.loadshare.core.session.max-sessions = lots", "io.loadshare.core.session.max-sessions");
        assertError("loadshare.services = [ { name = a, address = \"198.51.100.1\", port = 80,"
                + " health-check { type = tcp, failed-backend-sessions = drop } } ]",
                "'loadshare.services[0].health-check.failed-backend-sessions': expected end or keep, got 'drop'");
        assertError("loadshare.services = [ { name = a, address = \"198.51.100.1\", port = 80,"
                + " health-check.type = http } ]", "'loadshare.services[0].health-check.type': backends discovered by"
                + " ARP all hold the service address, so each is probed by a TCP SYN sent to its MAC: expected tcp or"
                + " none, got 'http'");
    }

    @Test
    void workersAreANumberOrAuto() throws IOException {
        String service = "loadshare.services = [ { name = a, address = \"198.51.100.1\", port = 80 } ]\n";
        assertEquals(1, load(service).workers());
        assertEquals(3, load(service + "loadshare.workers = 3").workers());
        assertEquals(Runtime.getRuntime().availableProcessors(), load(service + "loadshare.workers = auto").workers());
        assertError(service + "loadshare.workers = 0",
                "Invalid value at 'loadshare.workers': expected auto or a number of event loops 1..256, got '0'");
        assertError(service + "loadshare.workers = all", "expected auto or a number of event loops 1..256, got 'all'");
    }

    @Test
    void vlansAndDiscoveryLimitsAreValidated() throws IOException {
        String service = "loadshare.services = [ { name = a, address = \"198.51.100.1\", port = 80 } ]\n";
        assertError(service + "loadshare.interfaces.client-vlan = 5000",
                "'loadshare.interfaces.client-vlan': expected 0 (none) or an 802.1Q VLAN id 1..4094, got 5000");
        assertError(service + "loadshare.interfaces.backend-vlan = 10",
                "'loadshare.interfaces.backend-vlan': there is no backend interface");
        assertError(service + "io.loadshare.transport.rawsocket.vlan = 10",
                "use loadshare.interfaces.client-vlan and backend-vlan instead");
        assertError(service + "io.loadshare.dispatch.l2.arp.discovery.allowed-macs = [\"02:00:00:00:00\"]",
                "io.loadshare.dispatch.l2");
        assertError(service + "io.loadshare.dispatch.l2.arp.discovery.max-backends = 0",
                "discovery max-backends must be at least 1, was 0");
        assertError("loadshare.services = [ { name = a, address = \"198.51.100.1\", port = 80,"
                + " persistence { timeout = 5m, netmask = \"255.0.255.0\" } } ]",
                "'loadshare.services[0].persistence': persistence netmask must be contiguous ones, was 255.0.255.0");
    }

    @Test
    void aMissingFileIsNamed() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> DispatcherConfig.load(dir.resolve("nope.conf"), SchedulerRegistry.load()));
        assertEquals(dir.resolve("nope.conf") + ": no such file", e.getMessage(), "the path once");
    }
}

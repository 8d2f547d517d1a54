package io.loadshare.distribution;

import java.util.List;
import java.time.Duration;
import io.loadshare.core.pipeline.ServiceTable;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.packet.Ipv4Address;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.config.CoreSettings;
import io.loadshare.core.backend.BackendPool;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.testbed.NetnsTestbed;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: help for every command, check's verdicts and exit codes. */
class LoadshareCliTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void everyCommandHasHelp() {
        for (String command : new String[] {"run", "check", "status", "connections", "backend", "reload", "replay",
            "demo", "serve", "workload"}) {
            CliRun help = run(command, "--help");
            assertEquals(0, help.exit(), command);
            assertTrue(help.out().contains("Usage: loadshare " + command), help.out());
        }
        assertTrue(run("--help").out().contains("Commands:"));
    }

    /** Issue #33: the admin answers a drain with 202 Accepted, which the command took for a failure. */
    @Test
    void drainExitsZeroWhenTheDispatcherAcceptsIt() throws Exception {
        Service web = new Service(0, "web", Ipv4Address.parse("198.51.100.10"), IpProtocol.TCP, 80,
                () -> (pool, flow) -> null, BackendPool.empty());
        DispatchContext context = new DispatchContext(CoreSettings.defaults(), new ServiceTable(List.of(web)));
        try (AdminServer admin = new AdminServer(new DispatcherView(List.of(web), List::of, List.of(context),
                List.of(), null, java.util.Map::of, null), List::of, () -> "withdrawn; stopping once the sessions have"
                + " ended\n", new DispatcherConfig.Admin(true, "127.0.0.1", 0, Duration.ofSeconds(5)))) {
            CliRun drained = run("drain", "--admin", "http://127.0.0.1:" + admin.address().getPort());
            assertEquals(0, drained.exit(), drained.err());
            assertTrue(drained.out().contains("withdrawn"), drained.out());
            assertEquals("", drained.err());
        }
    }

    @Test
    void checkAcceptsAGoodFileAndRefusesABadOne() throws Exception {
        Path good = Files.writeString(dir.resolve("good.conf"), """
                loadshare.services = [ { name = web, address = "198.51.100.10", port = 80 } ]
                """);
        CliRun ok = run("check", "--config", good.toString());
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(ok.out().contains("valid; l2 on eth0, 1 service(s)"), ok.out());

        Path bad = Files.writeString(dir.resolve("bad.conf"), "loadshare.mode = l4\n");
        CliRun refused = run("check", "--config", bad.toString());
        assertEquals(Loadshare.CONFIG_ERROR, refused.exit());
        assertTrue(refused.err().contains("bad configuration") && refused.err().contains("bad.conf: 1"), refused.err());
    }

    @Test
    void checkExplainsServicesThatShareASourceNatAddress() throws Exception {
        try (NetnsTestbed testbed = NetnsTestbed.create()) {
            String namespace = testbed.namespace("disp");
            testbed.sysctl(namespace, "net.ipv4.ip_forward", "0");
            Path shared = Files.writeString(dir.resolve("shared.conf"), """
                    loadshare {
                      mode = l3-fullnat
                      network-namespace = "%s"
                      services = [
                        { name = web, address = "203.0.113.10", port = 80, backends = ["192.0.2.11"],
                          source-nat-address = "192.0.2.250" }
                        { name = api, address = "203.0.113.20", port = 443, backends = ["192.0.2.12"],
                          source-nat-address = "192.0.2.250" }
                        { name = mail, address = "203.0.113.30", port = 25, backends = ["192.0.2.13"],
                          source-nat-address = "192.0.2.251" }
                      ]
                    }
                    """.formatted(namespace));
            CliRun checked = run("check", "--config", shared.toString());
            assertEquals(0, checked.exit(), checked.err());
            assertTrue(checked.out().contains("source-NAT address 192.0.2.250 is shared by services web, api: they"
                    + " draw on one pool of its 64,512 ports"), checked.out());
            assertFalse(checked.out().contains("192.0.2.251"), checked.out());
        }
    }
}

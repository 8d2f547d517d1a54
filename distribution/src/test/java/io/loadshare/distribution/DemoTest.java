package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.testbed.Testbed;
import io.loadshare.testbed.NetnsTestbed;
import io.loadshare.testbed.ClusterTestbed;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code loadshare demo}, short: it runs to completion, measures every configuration, and removes its namespaces. */
class DemoTest {
    @Test
    void demoRunsEveryConfigurationAndCleansUp() {
        NetnsTestbed.requireRoot();
        String before = Testbed.run("ip", "netns", "list");
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream out = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int status;
        try {
            status = Loadshare.execute("demo", "--seconds", "1", "--workloads", "2kb,cgi", "--concurrency", "8",
                    "--rounds", "1");
        } finally {
            System.setOut(out);
        }
        String table = captured.toString(StandardCharsets.UTF_8);
        System.out.print(table);
        assertEquals(0, status, table);
        List<String> configurations = new ArrayList<>(List.of("single server", "LSMAC 1 server", "LSMAC 2 servers",
                "LSMAC 3 servers", "LSNAT 1 server", "LSNAT 2 servers", "LSNAT 3 servers"));
        if (ClusterTestbed.hasNftables()) {
            configurations.addAll(List.of("nftables L2 3 servers", "nftables DNAT 3 servers"));
        }
        for (String row : configurations) {
            assertEquals(2, table.lines().filter(line -> line.contains(row + " ")).count(), row + " in\n" + table);
        }
        // Figures, with the method and the paper's conclusion checked; or, on a busy or one-core machine, none
        // and the reason. Every connection is checked either way.
        boolean shown = !table.contains("Figures not shown: ");
        for (String line : table.lines().filter(line -> line.contains(" server") && line.matches(".*\\d$")).toList()) {
            String[] columns = line.trim().split("\\s+");
            assertEquals("0", columns[columns.length - 1], "failed connections: " + line);
            if (shown) {
                assertTrue(Double.parseDouble(columns[columns.length - 6].replace(",", "")) > 0, "no connections: "
                        + line);
            } else {
                assertEquals("-", columns[columns.length - 6], line);
            }
        }
        if (shown) {
            assertTrue(table.contains("Method: the load generator") && table.contains("LSMAC/LSNAT with 3 servers = "),
                    table);
        }
        assertEquals(before, Testbed.run("ip", "netns", "list"), "the demo left namespaces behind");
    }
}

package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.netns.Testbed;
import io.loadshare.core.testing.NetnsTestbed;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
            status = Loadshare.execute("demo", "--seconds", "1", "--workloads", "2kb,cgi", "--concurrency", "8");
        } finally {
            System.setOut(out);
        }
        String table = captured.toString(StandardCharsets.UTF_8);
        System.out.print(table);
        assertEquals(0, status, table);
        for (String row : List.of("single server", "LSMAC 1 server", "LSMAC 2 servers", "LSMAC 3 servers",
                "LSNAT 1 server", "LSNAT 2 servers", "LSNAT 3 servers")) {
            assertEquals(2, table.lines().filter(line -> line.contains(row + " ")).count(), row + " in\n" + table);
        }
        for (String line : table.lines().filter(line -> line.contains(" server")).toList()) {
            String[] columns = line.trim().split("\\s+");
            assertEquals("0", columns[columns.length - 1], "failed connections: " + line);
            assertTrue(Double.parseDouble(columns[columns.length - 5].replace(",", "")) > 0, "no connections: " + line);
        }
        assertEquals(before, Testbed.run("ip", "netns", "list"), "the demo left namespaces behind");
    }
}

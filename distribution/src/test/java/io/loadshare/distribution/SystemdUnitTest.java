package io.loadshare.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The shipped unit restarts the dispatcher when it fails and not after a drain (issue #33: Restart=always brought a
 * drained dispatcher back 2 s later, announcing its address again). Judged by systemd.service(5)'s table of which
 * exits each Restart= setting restarts, against the exit statuses {@code loadshare run} uses.
 */
class SystemdUnitTest {
    private static final Path UNIT = Path.of("src/main/dist/systemd/loadshare.service");

    /** systemd.service(5): the Restart= settings that restart after an exit with an unclean status. */
    private static final Set<String> RESTART_ON_UNCLEAN_EXIT = Set.of("always", "on-failure");
    /** ... and after a clean one (0 or SuccessExitStatus=). */
    private static final Set<String> RESTART_ON_CLEAN_EXIT = Set.of("always", "on-success");

    private static Map<String, String> service() throws Exception {
        Map<String, String> keys = new HashMap<>();
        boolean inService = false;
        for (String line : Files.readAllLines(UNIT)) {
            if (line.startsWith("[")) {
                inService = line.equals("[Service]");
            } else if (inService && line.contains("=") && !line.startsWith("#")) {
                keys.put(line.substring(0, line.indexOf('=')), line.substring(line.indexOf('=') + 1));
            }
        }
        return keys;
    }

    private static boolean restarts(Map<String, String> unit, int status) {
        List<String> success = List.of(unit.getOrDefault("SuccessExitStatus", "").split("\\s+"));
        boolean clean = status == 0 || success.contains(String.valueOf(status));
        String restart = unit.getOrDefault("Restart", "no");
        return clean ? RESTART_ON_CLEAN_EXIT.contains(restart) : RESTART_ON_UNCLEAN_EXIT.contains(restart);
    }

    @Test
    void aFailureOrALostLinkRestartsTheDispatcherAndADrainOrAStopDoesNot() throws Exception {
        Map<String, String> unit = service();
        assertTrue(restarts(unit, Loadshare.INTERFACE_LOST), "a lost interface (exit 3) is restarted");
        assertTrue(restarts(unit, 1), "a failed start is tried again");
        assertFalse(restarts(unit, 0), "a drain ends with exit 0 and stays stopped");
        assertFalse(restarts(unit, 143), "SIGTERM (systemctl stop) is a clean stop");
        assertEquals("2s", unit.get("RestartSec"));
    }
}

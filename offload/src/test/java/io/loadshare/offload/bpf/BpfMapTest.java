package io.loadshare.offload.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.core.testing.NetnsTestbed;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** A hash map's whole life through the kernel: update, lookup, delete, a full map, a refused create. */
class BpfMapTest {
    @Test
    void updateLookupDeleteAndFull() throws Exception {
        NetnsTestbed.requireRoot();
        try (Arena arena = Arena.ofConfined(); BpfMap map = BpfMap.create(Bpf.MAP_TYPE_HASH, "ls_test", 8, 8, 2)) {
            BpfMap.Accessor access = map.accessor(arena);
            for (long key = 1; key <= 2; key++) {
                access.key().set(ValueLayout.JAVA_LONG, 0, key);
                access.value().set(ValueLayout.JAVA_LONG, 0, key * 100);
                assertEquals(0, access.update(Bpf.NOEXIST));
            }
            access.key().set(ValueLayout.JAVA_LONG, 0, 3);
            assertEquals(-Bpf.E2BIG, access.update(Bpf.ANY), "a full hash map refuses a new key");

            access.key().set(ValueLayout.JAVA_LONG, 0, 2);
            assertEquals(0, access.lookup());
            assertEquals(200, access.value().get(ValueLayout.JAVA_LONG, 0));
            assertEquals(0, access.delete());
            assertEquals(-Bpf.ENOENT, access.lookup(), "deleted");
            assertEquals(-Bpf.ENOENT, access.delete(), "deleting twice finds nothing");
            access.key().set(ValueLayout.JAVA_LONG, 0, 3);
            assertEquals(0, access.update(Bpf.ANY), "room again");
        }
        BpfException refused = assertThrows(BpfException.class,
                () -> BpfMap.create(Bpf.MAP_TYPE_HASH, "ls_test", 0, 8, 2));
        assertTrue(refused.getMessage().contains("creating BPF map ls_test") && refused.errno() == Bpf.EINVAL,
                refused.getMessage());
    }
}

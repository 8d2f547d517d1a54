package io.loadshare.offload.bpf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loadshare.testbed.NetnsTestbed;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * A hash map's whole life through the kernel: update, lookup, delete, a full map, a refused create; and a batch's
 * order, cancelling, skipping and counting.
 */
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

    @Test
    void batchDeletesFirstCancelsAndCountsRefusals() throws Exception {
        NetnsTestbed.requireRoot();
        try (Arena arena = Arena.ofConfined(); BpfMap map = BpfMap.create(Bpf.MAP_TYPE_HASH, "ls_test", 8, 8, 3)) {
            BpfMap.Accessor access = map.accessor(arena);
            BpfMap.Batch batch = map.batch(arena, 4);
            put(access, 1, 100);
            assertEquals(0, access.update(Bpf.ANY));

            key(access, 1);
            batch.delete(access);
            put(access, 1, 101);
            batch.update(access);
            put(access, 2, 200);
            batch.update(access);
            key(access, 2);
            batch.delete(access);
            key(access, 9);
            batch.delete(access);
            put(access, 3, 300);
            batch.update(access);
            assertEquals(-Bpf.ENOENT, lookup(access, 3), "nothing is sent before the flush");
            assertEquals(100, valueOf(access, 1), "nothing is sent before the flush");
            batch.flush();

            assertEquals(101, valueOf(access, 1), "deleted, then written: written");
            assertEquals(-Bpf.ENOENT, lookup(access, 2), "written, then deleted: deleted");
            assertEquals(300, valueOf(access, 3), "the missing key 9 did not stop the deletes or the writes");
            assertEquals(2, batch.takeWritten());
            assertEquals(1, batch.takeDeleted(), "key 1; key 2 was never sent, key 9 never there");
            assertEquals(0, batch.takeRefused());

            for (long key = 4; key <= 6; key++) {
                put(access, key, key * 100);
                batch.update(access);
            }
            batch.flush();
            assertEquals(1, batch.takeWritten(), "the map holds 3");
            assertEquals(2, batch.takeRefused(), "the rest were refused, not dropped silently");
            assertEquals(Bpf.E2BIG, batch.lastRefusal());
            assertTrue(batch.isEmpty());
        }
    }

    /** Issue #33: a full map used to cost one system call per key of the batch, on the event loop. */
    @Test
    void aFullMapRefusesTheWholeBatchInOneSystemCall() throws Exception {
        NetnsTestbed.requireRoot();
        try (Arena arena = Arena.ofConfined(); BpfMap map = BpfMap.create(Bpf.MAP_TYPE_HASH, "ls_test", 8, 8, 2)) {
            BpfMap.Accessor access = map.accessor(arena);
            BpfMap.Batch batch = map.batch(arena, 256);
            for (long key = 1; key <= 200; key++) {
                put(access, key, key);
                batch.update(access);
            }
            batch.flush();
            assertEquals(2, batch.takeWritten());
            assertEquals(198, batch.takeRefused(), "every key the map had no room for is counted");
            assertEquals(Bpf.E2BIG, batch.lastRefusal());
            assertEquals(1, batch.takeCalls(), "one update batch; the full map answered for the rest");
        }
    }

    private static void key(BpfMap.Accessor access, long key) {
        access.key().set(ValueLayout.JAVA_LONG, 0, key);
    }

    private static void put(BpfMap.Accessor access, long key, long value) {
        key(access, key);
        access.value().set(ValueLayout.JAVA_LONG, 0, value);
    }

    private static int lookup(BpfMap.Accessor access, long key) {
        key(access, key);
        return access.lookup();
    }

    private static long valueOf(BpfMap.Accessor access, long key) {
        assertEquals(0, lookup(access, key), "key " + key);
        return access.value().get(ValueLayout.JAVA_LONG, 0);
    }
}

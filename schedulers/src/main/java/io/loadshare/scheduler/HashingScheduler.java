package io.loadshare.scheduler;

import com.typesafe.config.Config;
import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendPool;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.scheduler.SchedulerFactory;
import io.loadshare.core.session.Flow;
import java.util.Set;

/**
 * Consistent hashing through a {@link MaglevTable}: {@code maglev} hashes the whole five-tuple (as Maglev and
 * Katran do), {@code source-hash} the client address alone (every connection of a client goes to one backend),
 * {@code destination-hash} the destination address. A pool change moves few keys, unlike IPVS's modulo-based
 * {@code sh}/{@code dh}.
 */
public final class HashingScheduler extends PreparedScheduler<MaglevTable> {
    /** Which part of the flow is hashed. */
    enum Key {
        FLOW,
        SOURCE_ADDRESS,
        DESTINATION_ADDRESS
    }

    private final Key key;
    private final int tableSize;

    HashingScheduler(Key key, int tableSize) {
        MaglevTable.requirePrime(tableSize);
        this.key = key;
        this.tableSize = tableSize;
    }

    @Override
    protected MaglevTable build(BackendPool pool) {
        return MaglevTable.build(pool, tableSize);
    }

    @Override
    public Backend pick(BackendPool pool, Flow flow) {
        MaglevTable table = derived(pool);
        if (table == null) {
            return null;
        }
        int hash = switch (key) {
            case FLOW -> flow.flowHash();
            case SOURCE_ADDRESS -> addressHash(flow.sourceAddress());
            case DESTINATION_ADDRESS -> addressHash(flow.destinationAddress());
        };
        return pool.byId(table.lookup(hash));
    }

    /** maglev's table, for a fast path that places new flows; source-hash and destination-hash hash other keys. */
    @Override
    public int[] flowTable(BackendPool pool) {
        MaglevTable table = key == Key.FLOW ? derived(pool) : null;
        if (table == null) {
            return null;
        }
        int[] slots = new int[table.size()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = table.slot(i);
        }
        return slots;
    }

    @Override
    public int flowTableSize() {
        return key == Key.FLOW ? tableSize : 0;
    }

    /** The pick is a function of the flow and the pool's addresses and weights, identical in every dispatcher. */
    @Override
    public boolean continuesFlows() {
        return true;
    }

    private static int addressHash(int address) {
        long z = (address & 0xFFFF_FFFFL) * 0x9E37_79B9_7F4A_7C15L;
        return (int) ((z ^ (z >>> 29)) >>> 32);
    }

    /** The factory of one key. */
    private abstract static class KeyFactory implements SchedulerFactory {
        private final String name;
        private final Set<String> aliases;
        private final Key key;

        KeyFactory(String name, Set<String> aliases, Key key) {
            this.name = name;
            this.aliases = aliases;
            this.key = key;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Set<String> aliases() {
            return aliases;
        }

        @Override
        public Scheduler create(Config settings) {
            return new HashingScheduler(key, settings.getInt("table-size"));
        }
    }

    /** Plugin entry: {@code maglev}, alias {@code mh} (the IPVS name). */
    public static final class MaglevFactory extends KeyFactory {
        public MaglevFactory() {
            super("maglev", Set.of("mh"), Key.FLOW);
        }
    }

    /** Plugin entry: {@code source-hash}, alias {@code sh}. */
    public static final class SourceHashFactory extends KeyFactory {
        public SourceHashFactory() {
            super("source-hash", Set.of("sh"), Key.SOURCE_ADDRESS);
        }
    }

    /** Plugin entry: {@code destination-hash}, alias {@code dh}. */
    public static final class DestinationHashFactory extends KeyFactory {
        public DestinationHashFactory() {
            super("destination-hash", Set.of("dh"), Key.DESTINATION_ADDRESS);
        }
    }
}

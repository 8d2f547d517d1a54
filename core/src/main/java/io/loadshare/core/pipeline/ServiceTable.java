package io.loadshare.core.pipeline;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * An immutable set of services, found by cluster address, protocol and port with a binary search over
 * primitive keys, and by index.
 */
public final class ServiceTable {
    private final long[] keys;
    private final Service[] sorted;
    private final Service[] byIndex;
    private final List<Service> services;

    public ServiceTable(List<Service> services) {
        this.services = List.copyOf(services);
        this.sorted = this.services.stream()
                .sorted(Comparator.comparingLong(s -> key(s.address(), s.protocol(), s.port())))
                .toArray(Service[]::new);
        this.keys = new long[sorted.length];
        int maxIndex = -1;
        for (int i = 0; i < sorted.length; i++) {
            keys[i] = key(sorted[i].address(), sorted[i].protocol(), sorted[i].port());
            if (i > 0 && keys[i] == keys[i - 1]) {
                throw new IllegalArgumentException("two services share an address, protocol and port: " + sorted[i - 1]
                        + " and " + sorted[i]);
            }
            maxIndex = Math.max(maxIndex, sorted[i].index());
        }
        this.byIndex = new Service[maxIndex + 1];
        for (Service service : sorted) {
            if (byIndex[service.index()] != null) {
                throw new IllegalArgumentException("two services share index " + service.index());
            }
            byIndex[service.index()] = service;
        }
    }

    private static long key(int address, int protocol, int port) {
        return ((long) address << 32) | ((long) (protocol & 0xFF) << 16) | (port & 0xFFFF);
    }

    /** The service for a destination, or null. */
    public Service find(int address, int protocol, int port) {
        int i = Arrays.binarySearch(keys, key(address, protocol, port));
        return i >= 0 ? sorted[i] : null;
    }

    /** The service with this index, or null. */
    public Service byIndex(int index) {
        return index >= 0 && index < byIndex.length ? byIndex[index] : null;
    }

    /** Largest index plus one. */
    public int indexLimit() {
        return byIndex.length;
    }

    public List<Service> services() {
        return services;
    }
}

package io.loadshare.dispatch.l3;

/**
 * The source ports of one full-NAT address on one worker, shared by every service that uses the address: each new
 * session takes a free port, which maps back to the client's address and port for the replies, and returns to the
 * pool when the session ends. With several workers each owns the slice of ports {@code p % workers == worker}, so
 * that a reply's destination port names the worker that holds its session. Allocation walks round from the last
 * port given, so a port is reused as late as possible (TIME_WAIT on the backends). Bounded: when the slice is all
 * taken a new session is refused, and counted, never collides.
 */
final class SourceNatPorts {
    static final int FIRST = 1024;
    private static final int LAST = 65535;

    private final int[] clientAddress = new int[LAST + 1];
    private final int[] clientPort = new int[LAST + 1];
    private final boolean[] taken = new boolean[LAST + 1];
    private final int step;
    private final int first;
    private final int count;
    private int next;
    private int used;

    /** All ports from {@value #FIRST}: one worker. */
    SourceNatPorts() {
        this(0, 1);
    }

    /** The ports {@code p >= FIRST} with {@code p % slices == slice}. */
    SourceNatPorts(int slice, int slices) {
        this.step = slices;
        this.first = FIRST + Math.floorMod(slice - FIRST, slices);
        this.count = (LAST - first) / slices + 1;
        this.next = first;
    }

    /** Takes a free port of the slice for a client, or returns -1 when none is left. */
    int allocate(int address, int port) {
        if (used == count) {
            return -1;
        }
        while (taken[next]) {
            next = advance(next);
        }
        int allocated = next;
        taken[allocated] = true;
        clientAddress[allocated] = address;
        clientPort[allocated] = port;
        used++;
        next = advance(allocated);
        return allocated;
    }

    /**
     * Takes a given port of the slice for a client, as a session taken over from a standby one needs: true when the
     * port was free or already the client's.
     */
    boolean claim(int port, int address, int clientPortOfClient) {
        if (port < first || (port - first) % step != 0 || port > LAST) {
            return false;
        }
        if (taken[port]) {
            return clientAddress[port] == address && clientPort[port] == clientPortOfClient;
        }
        taken[port] = true;
        clientAddress[port] = address;
        clientPort[port] = clientPortOfClient;
        used++;
        return true;
    }

    private int advance(int port) {
        return port + step > LAST ? first : port + step;
    }

    void release(int port) {
        if (port >= FIRST && taken[port]) {
            taken[port] = false;
            used--;
        }
    }

    boolean isTaken(int port) {
        return port >= FIRST && taken[port];
    }

    int clientAddress(int port) {
        return clientAddress[port];
    }

    int clientPort(int port) {
        return clientPort[port];
    }

    int used() {
        return used;
    }

    /** Ports in the slice. */
    int capacity() {
        return count;
    }
}

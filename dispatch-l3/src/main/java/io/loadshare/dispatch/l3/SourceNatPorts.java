package io.loadshare.dispatch.l3;

/**
 * The source ports of one full-NAT address on one event loop, shared by every service that uses the address: each new session takes a free port, which maps back
 * to the client's address and port for the replies, and returns to the pool when the session ends. Allocation
 * walks round from the last port given, so a port is reused as late as possible (TIME_WAIT on the backends).
 * Bounded: when all {@value #COUNT} ports are taken a new session is refused, and counted, never collides.
 */
final class SourceNatPorts {
    static final int FIRST = 1024;
    static final int COUNT = 65536 - FIRST;

    private final int[] clientAddress = new int[65536];
    private final int[] clientPort = new int[65536];
    private final boolean[] taken = new boolean[65536];
    private int next = FIRST;
    private int used;

    /** Takes a free port for a client, or returns -1 when none is left. */
    int allocate(int address, int port) {
        if (used == COUNT) {
            return -1;
        }
        while (taken[next]) {
            next = next == 65535 ? FIRST : next + 1;
        }
        int allocated = next;
        taken[allocated] = true;
        clientAddress[allocated] = address;
        clientPort[allocated] = port;
        used++;
        next = allocated == 65535 ? FIRST : allocated + 1;
        return allocated;
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
}

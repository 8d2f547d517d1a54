package io.loadshare.core.session;

/**
 * What a {@link SessionTable} asks of a fast path that carries some of its sessions' packets: to forget a flow
 * when its session ends, and how long ago it last carried one of the flow's packets, so that a session whose
 * packets no longer reach the table does not expire while they flow.
 */
public interface OffloadedFlows {
    /** No fast path: nothing to forget, nothing seen. */
    OffloadedFlows NONE = new OffloadedFlows() {
        @Override
        public void remove(int slot, int protocol, int sourceAddress, int sourcePort, int destinationAddress,
                int destinationPort) {
        }

        @Override
        public long idleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
                int destinationPort) {
            return -1;
        }
    };

    /**
     * Stops carrying a flow's packets; they reach the pipeline again. A fast path may gather removals and send
     * them together (see {@code FlowOffload#flush}): the session has ended, so a packet the kernel forwards
     * meanwhile goes where it went before. The session is still in the table at {@code slot} during the call, so
     * the fast path may read what else it needs of it (its backend, its source-NAT port).
     */
    void remove(int slot, int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort);

    /** Nanoseconds since the fast path last carried a packet of the flow, or -1 when it holds no such flow. */
    long idleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort);
}

package io.loadshare.core.session;

/**
 * The flows a fast path carries, as a {@link SessionTable} asks about them: to forget a flow when its session ends,
 * and how long ago the fast path last carried one of the flow's packets, so that a session whose packets no longer
 * reach the table does not expire while they flow.
 */
public interface CarriedFlows {
    /** No fast path: nothing to forget, nothing seen. */
    CarriedFlows NONE = new CarriedFlows() {
        @Override
        public void remove(int slot, int protocol, int sourceAddress, int sourcePort, int destinationAddress,
                int destinationPort) {
        }

        @Override
        public long idleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
                int destinationPort) {
            return -1;
        }

        @Override
        public long clientIdleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
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

    /**
     * Nanoseconds since the fast path last carried a packet of the flow, in either direction, or -1 when it holds
     * no such flow or has carried none of its packets since it took the flow over.
     */
    long idleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort);

    /**
     * Nanoseconds since the fast path last carried a packet of the flow from its client, or -1 when it carried
     * none since it took the flow over: a flow placed at its SYN has had none until the client's next packet.
     */
    long clientIdleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort);
}

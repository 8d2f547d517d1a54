package io.loadshare.core.pipeline;

import io.loadshare.core.session.CarriedFlows;

/**
 * An in-kernel fast path as the pipeline sees it: it repeats, for a flow's later packets, the rewrite the pipeline
 * chose, while every decision stays in the pipeline. The pipeline hands it a session once the session is
 * established ({@link OffloadHandler}); the session table takes it back when the session ends and asks it how
 * recently the flow was seen before expiring it ({@link CarriedFlows}). A backend the pools mark down is
 * withdrawn at the next sweep ({@link #sync}), so that its flows' packets reach the pipeline, which ends their
 * sessions. A fast path may also place new flows itself by a consistent-hash table the pipeline's scheduler
 * publishes ({@link io.loadshare.core.scheduler.Scheduler#flowTable}); the session table then learns of each
 * ({@link #learn}).
 *
 * <p>Every method but {@link #close} runs on the event loop that owns the dispatch context.
 */
public interface FlowOffload extends CarriedFlows, AutoCloseable {
    /** No fast path: every packet goes through the pipeline. */
    FlowOffload NONE = new FlowOffload() {
        @Override
        public boolean install(Packet packet) {
            return false;
        }

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

        @Override
        public void sync(DispatchContext context) {
        }

        @Override
        public void learn(DispatchContext context) {
        }

        @Override
        public void close() {
        }

        @Override
        public String toString() {
            return "no fast path";
        }
    };

    /**
     * Takes over the flow of a packet the pipeline has just rewritten: the fast path repeats that rewrite (read
     * from the frame itself) for the flow's later packets. The packet is a client's, or, in a mode that sees
     * replies, the backend's SYN-ACK ({@link OffloadHandler}); the fast path has seen none of the flow's packets
     * yet, so the session's idleness is the table's own until it forwards one.
     *
     * @return whether the fast path took the flow; false when it is full or cannot carry it
     */
    boolean install(Packet packet);

    /**
     * Sends to the kernel what {@link #install} and {@link #remove} gathered. The pipeline calls it at the end of
     * each read batch and after each sweep, so that a short connection costs no system call of its own; until
     * then the flow's packets reach the pipeline, which carries them as before.
     */
    default void flush() {
    }

    /**
     * Brings the fast path's view in line with the pools: the backends (their MACs, whether they take packets) and
     * the consistent-hash tables of the services it places flows for.
     */
    void sync(DispatchContext context);

    /**
     * Records in the context's session table the flows the fast path placed itself since the last call. Cheap
     * when there are none: the pipeline calls it for every packet, before classifying.
     */
    void learn(DispatchContext context);

    /** Detaches the fast path; its flows' packets reach the pipeline again. Idempotent, any thread. */
    @Override
    void close();
}

package io.loadshare.core.session;

/**
 * The five fields that identify a transport flow, read without allocation. Implemented by the {@link FlowKey}
 * value and by the data path's packet flyweight.
 */
public interface Flow {
    int protocol();

    int sourceAddress();

    int sourcePort();

    int destinationAddress();

    int destinationPort();

    /**
     * A well-mixed 32-bit hash of the five fields, identical for equal flows in every process, so that hash-based
     * schedulers agree across event loops and restarts.
     */
    default int flowHash() {
        return FlowHashing.hash(protocol(), sourceAddress(), sourcePort(), destinationAddress(), destinationPort());
    }
}

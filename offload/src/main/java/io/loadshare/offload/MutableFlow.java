package io.loadshare.offload;

import io.loadshare.core.session.Flow;

/** A {@link Flow} whose fields are set in place, so that reading the fast path's events allocates nothing. */
final class MutableFlow implements Flow {
    private int protocol;
    private int sourceAddress;
    private int sourcePort;
    private int destinationAddress;
    private int destinationPort;

    void set(int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort) {
        this.protocol = protocol;
        this.sourceAddress = sourceAddress;
        this.sourcePort = sourcePort;
        this.destinationAddress = destinationAddress;
        this.destinationPort = destinationPort;
    }

    @Override
    public int protocol() {
        return protocol;
    }

    @Override
    public int sourceAddress() {
        return sourceAddress;
    }

    @Override
    public int sourcePort() {
        return sourcePort;
    }

    @Override
    public int destinationAddress() {
        return destinationAddress;
    }

    @Override
    public int destinationPort() {
        return destinationPort;
    }
}

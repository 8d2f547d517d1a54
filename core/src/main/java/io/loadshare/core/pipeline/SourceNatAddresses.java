package io.loadshare.core.pipeline;

import java.util.List;

/**
 * The source-NAT addresses of a translating mode (full NAT), by a small index a session keeps
 * ({@link io.loadshare.core.session.SessionTable#natAddress}): 0 is a service's own address, 1 up are addresses of
 * other dispatchers, whose sessions this one took over. The data plane reads them; the control plane adds them as
 * session sync learns of them, and never removes one while the process runs, so an index stays valid.
 */
public interface SourceNatAddresses {
    /** A mode that translates no source address. */
    SourceNatAddresses NONE = new SourceNatAddresses() {
        @Override
        public int address(int serviceIndex, int index) {
            return 0;
        }

        @Override
        public int indexOf(int serviceIndex, int address) {
            return address == 0 ? 0 : -1;
        }

        @Override
        public void learn(int address) {
        }

        @Override
        public List<Integer> own() {
            return List.of();
        }

        @Override
        public void adopt(int address) {
        }

        @Override
        public void release(int address) {
        }

        @Override
        public void announceOwn() {
        }
    };

    /** The address at {@code index} for a service's session; 0 when the service translates no source. */
    int address(int serviceIndex, int index);

    /** The index of {@code address} for a service's sessions, or -1 when it is not known here. Data plane. */
    int indexOf(int serviceIndex, int address);

    /** Makes another dispatcher's address known, so its sessions can be taken over here. Control plane. */
    void learn(int address);

    /** This dispatcher's own source-NAT addresses. */
    List<Integer> own();

    /**
     * Answers for another dispatcher's address on the backend side from now on, and announces it (that dispatcher
     * is gone, and this one takes its replies). Control plane.
     */
    void adopt(int address);

    /** Stops answering for an adopted address (its dispatcher is back). Control plane. */
    void release(int address);

    /**
     * Announces this dispatcher's own addresses again: a peer that took it for gone may have adopted and announced
     * them meanwhile, and the backends would send its replies there. Control plane.
     */
    void announceOwn();
}

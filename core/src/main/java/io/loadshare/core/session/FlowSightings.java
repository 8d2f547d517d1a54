package io.loadshare.core.session;

/**
 * What a fast path saw of one flow, asked of {@link CarriedFlows} with the flow's key as a {@link SessionTable} slot
 * packs it (addresses in one word; protocol and ports in the next). One instance per table, refilled per question.
 */
final class FlowSightings implements ExpiryPolicy.Sightings {
    CarriedFlows flows = CarriedFlows.NONE;
    private long addresses;
    private long ports;

    void flow(long addresses, long ports) {
        this.addresses = addresses;
        this.ports = ports;
    }

    void forget(int slot, long addresses, long ports) {
        flows.remove(slot, (int) (ports >>> 32) & 0xFF, (int) (addresses >>> 32), (int) (ports >>> 16) & 0xFFFF,
                (int) addresses, (int) ports & 0xFFFF);
    }

    @Override
    public long idleNanos() {
        return flows.idleNanos((int) (ports >>> 32) & 0xFF, (int) (addresses >>> 32),
                (int) (ports >>> 16) & 0xFFFF, (int) addresses, (int) ports & 0xFFFF);
    }

    @Override
    public long clientIdleNanos() {
        return flows.clientIdleNanos((int) (ports >>> 32) & 0xFF, (int) (addresses >>> 32),
                (int) (ports >>> 16) & 0xFFFF, (int) addresses, (int) ports & 0xFFFF);
    }
}

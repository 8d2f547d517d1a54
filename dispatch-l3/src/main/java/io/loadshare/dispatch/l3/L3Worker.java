package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.session.SessionTable;
import io.netty.channel.Channel;
import java.util.Locale;

/**
 * One worker of an {@link L3Dispatcher}: an event loop's data-plane context, the channels of its arms, and its
 * slice of every full-NAT address's source ports. Both directions of a flow reach the same worker (the fanout
 * group's steering keys them by their client side, and a full-NAT reply by its port's slice), so its session table
 * needs no locks.
 */
final class L3Worker {
    final L3Dispatcher dispatcher;
    final int index;
    final DispatchContext context;
    /** By service index; null for services without full NAT. Services sharing an address share its slice. */
    final SourceNatPorts[] natPorts;
    /** By source-NAT address index (1 up): the ports of other dispatchers' sessions taken over here. */
    private final SourceNatPorts[] foreignPorts = new SourceNatPorts[SessionTable.NAT_ADDRESSES];
    final FragmentationNeeded fragmentationNeeded;
    volatile Channel clientChannel;
    volatile Channel backendChannel;

    L3Worker(L3Dispatcher dispatcher, int index, DispatchContext context, SourceNatPorts[] natPorts) {
        this.dispatcher = dispatcher;
        this.index = index;
        this.context = context;
        this.natPorts = natPorts;
        this.fragmentationNeeded = new FragmentationNeeded(context, dispatcher.settings.icmpRate(),
                dispatcher.settings.icmpBurst());
        context.onNatPortReleased((serviceIndex, backendId, natPort, natAddress, end) -> {
            SourceNatPorts ports = ports(serviceIndex, natAddress);
            if (ports != null) {
                ports.release(natPort);
            }
        });
    }

    /**
     * The ports of a service's source-NAT address by its index ({@link io.loadshare.core.pipeline.SourceNatAddresses}):
     * this worker's slice of its own address, or the ports of another dispatcher's address, whose sessions are only
     * ever claimed here (they keep the ports that dispatcher gave them). Null for a service without full NAT.
     */
    SourceNatPorts ports(int serviceIndex, int natAddress) {
        if (natAddress == 0 || natPorts[serviceIndex] == null) {
            return natPorts[serviceIndex];
        }
        SourceNatPorts ports = foreignPorts[natAddress];
        if (ports == null) {
            ports = new SourceNatPorts();
            foreignPorts[natAddress] = ports;
        }
        return ports;
    }

    /**
     * Records an arm's channel. Arms may be bound in any order, but on one event loop.
     *
     * @throws IllegalStateException when the other arm is on another event loop
     */
    synchronized void attach(Arm arm, Channel channel) {
        checkLoop(arm, channel);
        if (arm.facesClients()) {
            clientChannel = channel;
        }
        if (arm.facesBackends()) {
            backendChannel = channel;
        }
    }

    synchronized void checkLoop(Arm arm, Channel channel) {
        for (Channel other : new Channel[] {clientChannel, backendChannel}) {
            if (other != null && other != channel && other.eventLoop() != channel.eventLoop()) {
                throw new IllegalStateException("the arms of one LSNAT worker must share one event loop (both"
                        + " directions of a session meet in one session table): " + arm.name().toLowerCase(Locale.ROOT)
                        + " arm " + channel + " is on " + channel.eventLoop() + ", " + other + " on "
                        + other.eventLoop() + "; register every channel of a worker on the same loop");
            }
        }
    }
}

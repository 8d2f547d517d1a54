package io.loadshare.dispatch.l3;

import io.loadshare.core.mode.Arm;
import io.loadshare.core.pipeline.DispatchContext;
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
        context.onNatPortReleased((serviceIndex, backendId, natPort, end) -> {
            SourceNatPorts ports = natPorts[serviceIndex];
            if (ports != null) {
                ports.release(natPort);
            }
        });
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

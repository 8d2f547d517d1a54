package io.loadshare.core.pipeline;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.backend.BackendState;
import io.loadshare.core.metrics.ControlEvent;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.session.Persistence;
import io.loadshare.core.session.SessionTable;
import io.loadshare.core.session.StandbySessions;
import java.util.List;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Schedule: gives each packet that {@link ClassifyHandler} marked as new a backend from the service's scheduler,
 * and records the session. Packets of existing sessions pass straight through. For a service with persistence
 * (IPVS's {@code -p}), a client whose template lives goes to its template's backend, whatever the scheduler would
 * pick, and each new connection refreshes the template; a template another dispatcher of the tier holds (session
 * sync), or the process before a restart held, counts as well. A continued flow ({@link Packet#isContinuedSession})
 * starts established.
 *
 * <p>Ownership: a scheduled packet is forwarded; one that cannot get a session (table full, no backend) is
 * released here and counted under its {@link DropReason}.
 */
public final class ScheduleHandler extends ChannelInboundHandlerAdapter {
    private final DispatchContext context;

    public ScheduleHandler(DispatchContext context) {
        this.context = context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet) || !packet.isNewSession()) {
            ctx.fireChannelRead(msg);
            return;
        }
        SessionTable sessions = context.sessions();
        if (sessions.isFull() && !sessions.evictHalfOpen()) {
            context.drop(packet, DropReason.TABLE_FULL);
            return;
        }
        Service service = packet.service();
        Scheduler scheduler = context.scheduler(service);
        Persistence persistence = service.persistence();
        int now = context.now();
        Backend backend = persistence == null ? null : persistent(service, persistence, packet, now);
        if (backend == null) {
            backend = scheduler.pick(service.pool(), packet);
        }
        if (backend == null) {
            context.drop(packet, DropReason.NO_BACKEND);
            return;
        }
        int slot = sessions.insert(packet, service.index(), backend.id(), now);
        if (slot < 0) {
            context.drop(packet, DropReason.TABLE_PROBE_LIMIT);
            return;
        }
        if (persistence != null) {
            int network = persistence.network(packet.sourceAddress());
            if (context.templates().put(service.index(), network, backend.id(), now + persistence.timeoutMillis())) {
                sessions.journal().template(service.index(), network, backend.id(), persistence.timeoutMillis());
            } else {
                context.counters().event(ControlEvent.PERSISTENCE_FULL);
            }
        }
        if (packet.isContinuedSession()) {
            sessions.continueEstablished(slot, packet.tcpFlags(), now);
            context.counters().event(ControlEvent.SESSION_CONTINUED);
        }
        scheduler.sessionOpened(backend);
        context.counters().sessionOpened(backend.id());
        packet.assignSession(service, slot, backend);
        ctx.fireChannelRead(packet);
    }

    /**
     * The backend a client's template holds, if it can still take the client: a draining one keeps its persistent
     * clients until their template expires (IPVS's quiescing); a down one, or one gone from the pool, does not.
     */
    private Backend persistent(Service service, Persistence persistence, Packet packet, int now) {
        int network = persistence.network(packet.sourceAddress());
        int id = context.templates().lookup(service.index(), network, now);
        Backend held = id < 0 ? heldElsewhere(service, network) : service.pool().byId(id);
        return held == null || held.state() == BackendState.DOWN ? null : held;
    }

    /** The backend of a template another dispatcher (or the process before a restart) holds, or null. */
    private Backend heldElsewhere(Service service, int network) {
        StandbySessions standby = context.standby();
        StandbySessions.Entry entry = context.standbyEntry();
        if (standby == null || !standby.findTemplate(service.protocol(), network, service.address(), service.port(),
                entry)) {
            return null;
        }
        List<Backend> backends = service.pool().all();
        for (int i = 0; i < backends.size(); i++) {
            if (backends.get(i).address() == entry.backendAddress()) {
                return backends.get(i);
            }
        }
        return null;
    }
}

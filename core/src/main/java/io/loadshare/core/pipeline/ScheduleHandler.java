package io.loadshare.core.pipeline;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.scheduler.Scheduler;
import io.loadshare.core.session.SessionTable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Schedule: gives each packet that {@link ClassifyHandler} marked as new a backend from the service's scheduler,
 * and records the session. Packets of existing sessions pass straight through.
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
        Backend backend = scheduler.pick(service.pool(), packet);
        if (backend == null) {
            context.drop(packet, DropReason.NO_BACKEND);
            return;
        }
        int slot = sessions.insert(packet, service.index(), backend.id(), context.now());
        if (slot < 0) {
            context.drop(packet, DropReason.TABLE_PROBE_LIMIT);
            return;
        }
        scheduler.sessionOpened(backend);
        context.counters().sessionOpened(backend.id());
        packet.assignSession(service, slot, backend);
        ctx.fireChannelRead(packet);
    }
}

package io.loadshare.dispatch.l3;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.metrics.DropReason;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Packet;
import io.loadshare.core.pipeline.Service;
import io.loadshare.core.session.SessionEnd;
import io.loadshare.core.session.SessionTable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * LSNAT's classify step for the return direction (backend → client): finds the session a reply belongs to, by
 * the forward key it implies (client, client port, cluster address, virtual port) under each service, and checks
 * that the reply comes from that session's backend. A full-NAT reply is addressed to the source-NAT address; its
 * port names the client. ICMP errors about packets the dispatcher sent to a backend arrive here too: the
 * decoder gives them the flow of the datagram they quote, reversed. Requests to a cluster address pass on to the
 * core classifier. A reply that finds no session takes over its flow's standby session, if there is one
 * ({@link DispatchContext#takeOver}; a full-NAT reply, which names its client by the source-NAT address and port
 * only, by {@link DispatchContext#takeOverByNat}). Full-NAT replies may come to another dispatcher's address whose
 * sessions were taken over here ({@link L3SourceNats}). It learns nothing from a frame's addresses: a spoofed frame cannot redirect anyone's replies.
 *
 * <p>Ownership: a matched reply is forwarded, marked as a reply; a reply that matches no session is released and
 * counted as {@link DropReason#NO_SESSION}: never forwarded.
 */
final class ReplyClassifyHandler extends ChannelInboundHandlerAdapter {
    private final L3Worker worker;
    private final DispatchContext context;
    private final Service[] services;

    ReplyClassifyHandler(L3Worker worker) {
        this.worker = worker;
        this.context = worker.context;
        this.services = worker.dispatcher.services().toArray(Service[]::new);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Packet packet) || !packet.isIpv4()) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (packet.protocol() == IpProtocol.ICMP
                || context.services().find(packet.destinationAddress(), packet.protocol(), packet.destinationPort())
                        != null) {
            ctx.fireChannelRead(packet);
            return;
        }
        SessionTable sessions = context.sessions();
        int now = context.now();
        for (Service service : services) {
            int client = packet.destinationAddress();
            int clientPort = packet.destinationPort();
            SourceNatPorts ports = worker.natPorts[service.index()];
            int natAddress = 0;
            int slot = -1;
            if (ports != null) {
                natAddress = context.sourceNats().indexOf(service.index(), client);
                if (natAddress < 0) {
                    continue;
                }
                ports = worker.ports(service.index(), natAddress);
                if (!ports.isTaken(clientPort)) {
                    slot = takeOverByNat(service, ports, packet.protocol(), client, clientPort, now);
                    if (slot < 0) {
                        continue;
                    }
                }
                client = ports.clientAddress(packet.destinationPort());
                clientPort = ports.clientPort(packet.destinationPort());
            }
            if (slot < 0) {
                slot = sessions.lookup(packet.protocol(), client, clientPort, service.address(), service.port(), now);
            }
            if (slot < 0 && ports == null) {
                // A reply may be the first packet of a standby session here (the backend's data after a restart).
                slot = context.takeOver(service, packet.protocol(), client, clientPort, 0, now);
            }
            // A client may hold sessions to several services that share a source-NAT address: the port names one.
            if (slot < 0 || ports != null && (sessions.natPort(slot) != packet.destinationPort()
                    || sessions.natAddress(slot) != natAddress)) {
                continue;
            }
            Backend backend = service.pool().byId(sessions.backendId(slot));
            if (backend == null || backend.address() != packet.sourceAddress()
                    || backend.serverPort(service.port()) != packet.sourcePort()) {
                continue;
            }
            if (!packet.isIcmpError()) {
                if (packet.protocol() == IpProtocol.TCP) {
                    sessions.onTcpReply(slot, packet.tcpFlags(), packet.tcp().sequenceNumber(), now);
                } else {
                    sessions.onDatagram(slot, now);
                }
            }
            packet.markReply(service, slot, backend);
            ctx.fireChannelRead(packet);
            return;
        }
        context.drop(packet, DropReason.NO_SESSION);
    }

    /**
     * Takes over the standby session a full-NAT reply names by its address and port (another dispatcher's flow, or
     * the previous process's), and claims the port for it.
     *
     * @return the session's slot, or -1
     */
    private int takeOverByNat(Service service, SourceNatPorts ports, int protocol, int natAddress, int natPort,
            int now) {
        SessionTable sessions = context.sessions();
        int slot = context.takeOverByNat(service, protocol, natAddress, natPort, now);
        if (slot >= 0 && !ports.claim(natPort, sessions.sourceAddress(slot), sessions.sourcePort(slot))) {
            sessions.setNatPort(slot, 0);
            sessions.remove(slot, SessionEnd.FLUSHED);
            return -1;
        }
        return slot;
    }
}

package io.loadshare.offload;

import io.loadshare.core.backend.Backend;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.IpProtocol;
import io.loadshare.core.pipeline.DispatchContext;
import io.loadshare.core.pipeline.Packet;
import io.loadshare.offload.bpf.BpfException;
import io.loadshare.offload.bpf.BpfLink;
import io.loadshare.offload.bpf.BpfProgram;
import io.netty.buffer.ByteBuf;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * LSNAT's fast path: {@link LsnatTcProgram} on the ingress of each arm (one interface when one-armed), and the
 * pipeline's side of its maps. A session handed over becomes two flow entries, one per direction, each holding the
 * rewrite the pipeline applies to that direction: the handed-over packet's as the pipeline just wrote it into the
 * frame, the other direction's its inverse; replies go to the session's last hop. Both go when the session ends,
 * and a session is idle only when both directions are.
 */
public final class TcFlowOffload extends KernelFlowOffload {

    private final DispatchContext context;
    private final AttachPoint clientArm;
    private final AttachPoint backendArm;
    /**
     * Per backend id, the server address and port its sessions' replies come from; per service index, the source
     * address its requests leave with (the client's, or the source-NAT address). Written at each install, so that
     * ending a session writes both its entries' keys without asking the kernel.
     */
    private final int[] serverAddresses;
    private final int[] serverPorts;

    private TcFlowOffload(FastPathMaps maps, BpfProgram program, List<BpfLink> links, int maxBackendId,
            DispatchContext context, AttachPoint clientArm, AttachPoint backendArm) {
        super(clientArm.equals(backendArm) ? clientArm.name() : clientArm.name() + ", " + backendArm.name(), maps,
                program, links, maxBackendId, 2);
        this.context = context;
        this.clientArm = clientArm;
        this.backendArm = backendArm;
        this.serverAddresses = new int[maxBackendId + 1];
        this.serverPorts = new int[maxBackendId + 1];
    }

    private TcFlowOffload(TcFlowOffload attached, DispatchContext context) {
        super(attached);
        this.context = context;
        this.clientArm = attached.clientArm;
        this.backendArm = attached.backendArm;
        this.serverAddresses = new int[attached.serverAddresses.length];
        this.serverPorts = new int[attached.serverPorts.length];
    }

    @Override
    public TcFlowOffload forWorker(DispatchContext context) {
        return new TcFlowOffload(this, context);
    }

    /**
     * Creates the maps, loads LSNAT's program and attaches it to the ingress of both arms.
     *
     * @param namespace where the interfaces are; null for the process's own network namespace
     * @param backendArm the backend arm; equal to {@code clientArm} when one-armed
     */
    public static TcFlowOffload attachLsnat(NetworkNamespace namespace, AttachPoint clientArm, AttachPoint backendArm,
            OffloadSettings settings, int maxBackendId, DispatchContext context) throws BpfException {
        // Two entries a session: max-flows counts sessions, as for LSMAC.
        FastPathMaps maps = FastPathMaps.create(2 * settings.maxFlows(), FastPathMaps.NAT_FLOW_SIZE, maxBackendId, 0);
        BpfProgram program = null;
        List<BpfLink> links = new ArrayList<>();
        try {
            program = BpfProgram.loadTc("lsnat_fastpath", LsnatTcProgram.assemble(maps));
            BpfProgram loaded = program;
            for (AttachPoint arm : clientArm.equals(backendArm) ? List.of(clientArm) : List.of(clientArm, backendArm)) {
                links.add(attachIn(namespace, () -> BpfLink.attachTcIngress(loaded, arm.index(), arm.name())));
            }
            return new TcFlowOffload(maps, program, links, maxBackendId, context, clientArm, backendArm);
        } catch (BpfException | RuntimeException e) {
            links.forEach(BpfLink::close);
            if (program != null) {
                program.close();
            }
            maps.close();
            throw e;
        }
    }

    /**
     * Whether LSNAT's fast path would load here: creates small maps and loads the program, attaching nothing.
     *
     * @throws BpfException what stops it, with the verifier's log or the missing capability
     */
    public static void probe() throws BpfException {
        try (FastPathMaps maps = FastPathMaps.create(16, FastPathMaps.NAT_FLOW_SIZE, 15, 0);
                BpfProgram ignored = BpfProgram.loadTc("lsnat_probe", LsnatTcProgram.assemble(maps))) {
            // Loaded and verified: that is all a probe asks.
        }
    }

    /**
     * Installs both directions of the session of a packet the pipeline has just rewritten, a client's request or
     * the backend's SYN-ACK: that direction's rewrite read back from the frame, the other's its inverse. A session
     * without a last hop yet is refused.
     */
    @Override
    public boolean install(Packet packet) {
        long lastHop = context.sessions().lastHop(packet.sessionSlot());
        if (lastHop == 0) {
            events.increment(INSTALL_FAILED);
            return false;
        }
        Backend backend = packet.backend();
        publish(backend);
        ByteBuf frame = packet.ip().buffer();
        int l4 = packet.protocol() == IpProtocol.TCP ? packet.tcp().offset() : packet.udp().offset();
        // The session's four ends: as received (the packet's flow) and as sent (the frame now).
        int source = packet.ip().source();
        int destination = packet.ip().destination();
        int sourcePort = frame.getUnsignedShort(l4);
        int destinationPort = frame.getUnsignedShort(l4 + 2);
        boolean reply = packet.isReply();
        int client = reply ? destination : packet.sourceAddress();
        int clientPort = reply ? destinationPort : packet.sourcePort();
        int service = reply ? source : packet.destinationAddress();
        int servicePort = reply ? sourcePort : packet.destinationPort();
        int nat = reply ? packet.destinationAddress() : source;
        int natPort = reply ? packet.destinationPort() : sourcePort;
        int server = reply ? packet.sourceAddress() : destination;
        int serverPort = reply ? packet.sourcePort() : destinationPort;
        int protocol = packet.protocol();
        serverAddresses[backend.id()] = server;
        serverPorts[backend.id()] = serverPort;
        FastPathMaps.writeKey(flows.key(), protocol, client, clientPort, service, servicePort);
        writeRewrite(flows.value(), backend.id(), FastPathMaps.NAT_TO_BACKEND, nat, server, natPort, serverPort,
                backendArm, 0);
        installLater();
        FastPathMaps.writeKey(flows.key(), protocol, server, serverPort, nat, natPort);
        writeRewrite(flows.value(), backend.id(), 0, service, client, servicePort, clientPort, clientArm, lastHop);
        return installLater();
    }

    /** Writes one direction's entry, not yet seen by the fast path. */
    private static void writeRewrite(MemorySegment value, int backendId, int flags, int source, int destination,
            int sourcePort, int destinationPort, AttachPoint out, long destinationMac) {
        value.set(ValueLayout.JAVA_INT, FastPathMaps.FLOW_BACKEND, backendId);
        value.set(ValueLayout.JAVA_INT, FastPathMaps.NAT_FLAGS, flags);
        value.set(ValueLayout.JAVA_LONG, FastPathMaps.FLOW_LAST_SEEN, 0);
        value.set(FastPathMaps.INT_BE, FastPathMaps.NAT_SOURCE, source);
        value.set(FastPathMaps.INT_BE, FastPathMaps.NAT_DESTINATION, destination);
        value.set(FastPathMaps.SHORT_BE, FastPathMaps.NAT_SOURCE_PORT, (short) sourcePort);
        value.set(FastPathMaps.SHORT_BE, FastPathMaps.NAT_DESTINATION_PORT, (short) destinationPort);
        value.set(ValueLayout.JAVA_INT, FastPathMaps.NAT_IFINDEX, out.index());
        FastPathMaps.writeMac(value, FastPathMaps.NAT_DESTINATION_MAC, destinationMac);
        FastPathMaps.writeMac(value, FastPathMaps.NAT_SOURCE_MAC, out.mac());
        value.set(ValueLayout.JAVA_INT, FastPathMaps.NAT_SOURCE_MAC + 6, 0);
    }

    /**
     * Writes the key of the reply direction into the key segment, from the request's value the last lookup
     * left: the reply comes from the request's new destination to its new source.
     */
    private void replyKey(int protocol) {
        MemorySegment request = flows.value();
        FastPathMaps.writeKey(flows.key(), protocol, request.get(FastPathMaps.INT_BE, FastPathMaps.NAT_DESTINATION),
                request.get(FastPathMaps.SHORT_BE, FastPathMaps.NAT_DESTINATION_PORT) & 0xFFFF,
                request.get(FastPathMaps.INT_BE, FastPathMaps.NAT_SOURCE), request.get(FastPathMaps.SHORT_BE, FastPathMaps.NAT_SOURCE_PORT)
                        & 0xFFFF);
    }

    /**
     * Gathers both directions' deletes, their keys written from the session and what its install recorded: the
     * request's is the flow itself, the reply's comes from the backend's address and port to the source the request
     * left with (the client, or the source-NAT address and the session's port). So ending a session asks the kernel
     * nothing, and deletes both entries whether or not the kernel still holds either.
     */
    @Override
    public void remove(int slot, int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        int backendId = context.sessions().backendId(slot);
        int natPort = context.sessions().natPort(slot);
        FastPathMaps.writeKey(flows.key(), protocol, sourceAddress, sourcePort, destinationAddress, destinationPort);
        removeLater();
        FastPathMaps.writeKey(flows.key(), protocol, serverAddresses[backendId], serverPorts[backendId],
                natPort == 0 ? sourceAddress : context.sourceNats().address(context.sessions().serviceIndex(slot),
                        context.sessions().natAddress(slot)),
                natPort == 0 ? sourcePort : natPort);
        removeLater();
    }

    /** How long since either direction was last seen. */
    @Override
    public long idleNanos(int protocol, int sourceAddress, int sourcePort, int destinationAddress,
            int destinationPort) {
        FastPathMaps.writeKey(flows.key(), protocol, sourceAddress, sourcePort, destinationAddress, destinationPort);
        if (flows.lookup() != 0) {
            return -1;
        }
        long request = idleOfValue();
        replyKey(protocol);
        long reply = idleOfKey();
        return request < 0 ? reply : reply < 0 ? request : Math.min(request, reply);
    }

    @Override
    public void sync(DispatchContext context) {
        syncBackends(context);
    }

    /** LSNAT's program places no flow: every session starts in the pipeline. */
    @Override
    public void learn(DispatchContext context) {
    }

    @Override
    public String hook() {
        return "tc";
    }

    @Override
    public String toString() {
        return hook() + " fast path on " + interfaceName();
    }
}

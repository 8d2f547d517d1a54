package io.loadshare.transport.rawsocket;

import io.loadshare.core.channel.AbstractFrameChannel;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.VirtioNetHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.SocketAddress;

/**
 * A Netty channel over one Linux AF_PACKET socket bound to one interface: every Ethernet frame that reaches the
 * interface for this host (as the {@link SocketFilter} allows) is read as a pooled direct {@link ByteBuf}, and
 * every {@code ByteBuf} written is sent as a frame. The socket is opened through the FFM API and registered on
 * Netty's epoll {@link IoEventLoop} ({@code MultiThreadIoEventLoopGroup} with {@code EpollIoHandler}).
 *
 * <p>Receive: a {@code recvmmsg} per batch of frames, or, with {@link RawSocketChannelOption#RX_RING}, a TPACKET_V2
 * or V3 ring with no system call per frame. Either way each frame is copied once, into a buffer of its own size. With
 * virtio-net headers on (the default), the header travels in the buffer's headroom ({@link VirtioNetHeader}).
 *
 * <p>Send: frames are batched into {@code sendmmsg} calls at flush, straight from the buffers' memory. A full
 * socket (EAGAIN) waits for EPOLLOUT; a frame the kernel refuses (too long, no driver buffer) is dropped and
 * counted in {@link #stats()}, and the rest go on. Nothing spins.
 *
 * <p>An interface that goes down or disappears closes the channel with a {@link RawSocketException} saying so;
 * the pipeline sees {@code exceptionCaught}, then {@code channelInactive}.
 */
public final class RawSocketChannel extends AbstractFrameChannel<RawSocketStats> {
    /** A {@link RawSocketChannelOption#FANOUT_GROUP} value: start a new group whose id the kernel picks. */
    public static final int NEW_FANOUT_GROUP = 0x10000;

    private final RawSocketChannelConfig config;
    private final RawSocket socket;
    private final Arena arena = Arena.ofShared();

    private volatile RawSocketAddress local;
    private volatile boolean active;
    private volatile long hardwareAddress = MacAddress.UNKNOWN;
    private volatile int mtu;
    private volatile int interfaceIndex;
    private volatile int fanoutGroup = -1;
    /** The VLAN this channel serves on a trunk, or 0; fixed at bind. */
    private int vlan;
    private IoRegistration registration;
    private EpollIoOps ops = EpollIoOps.NONE;
    private boolean readPending;
    private RxRing ring;
    /** Plain receive, and frames too big for a TPACKET_V2 slot; null with a TPACKET_V3 ring. */
    private ReceiveMessages received;
    private SendMessages messages;

    /** Opens a packet socket in the calling thread's network namespace. */
    public RawSocketChannel() {
        this(openIn(null));
    }

    /** Opens a packet socket inside {@code namespace} (needs CAP_SYS_ADMIN to enter it). */
    public RawSocketChannel(NetworkNamespace namespace) {
        this(openIn(namespace));
    }

    private RawSocketChannel(RawSocket socket) {
        super("a raw socket", "bind it to an interface with a RawSocketAddress", new RawSocketStats());
        this.socket = socket;
        this.config = new RawSocketChannelConfig(this);
    }

    private static RawSocket openIn(NetworkNamespace namespace) {
        try {
            return namespace == null ? RawSocket.open() : namespace.run(RawSocket::open);
        } catch (IOException e) {
            throw new ChannelException(e.getMessage(), e);
        }
    }

    @Override
    public RawSocketChannelConfig config() {
        return config;
    }

    /** The bound interface's MAC address; valid once active. */
    @Override
    public long hardwareAddress() {
        return hardwareAddress;
    }

    /** The bound interface's index in the socket's network namespace; 0 before the channel is bound. */
    public int interfaceIndex() {
        return interfaceIndex;
    }

    /** The fanout group the socket joined at bind (the id the kernel picked for a new one), or -1. */
    public int fanoutGroup() {
        return fanoutGroup;
    }

    /** The bound interface's MTU, read when the channel is bound. */
    @Override
    public int mtu() {
        return mtu;
    }

    /**
     * Adds the kernel's PACKET_STATISTICS since the last call to {@link #stats()}: frames handed to the socket and
     * frames dropped for want of room. Call on the channel's event loop.
     */
    public void refreshKernelStatistics() {
        if (!eventLoop().inEventLoop()) {
            throw new IllegalStateException("refreshKernelStatistics runs on the channel's event loop");
        }
        if (!active) {
            return;
        }
        try {
            long taken = socket.takeKernelStatistics();
            stats().countKernel(taken >>> 32, taken & 0xFFFF_FFFFL);
        } catch (RawSocketException closing) {
            // The socket is going away; its last figures stay.
        }
    }

    /** The EtherType this channel receives, or 0 for every one. */
    public int etherType() {
        return config.etherType();
    }

    @Override
    public boolean isOpen() {
        return socket.isOpen();
    }

    @Override
    public boolean isActive() {
        return active && isOpen();
    }

    @Override
    public RawSocketAddress localAddress() {
        return (RawSocketAddress) super.localAddress();
    }

    @Override
    protected SocketAddress localAddress0() {
        return local;
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new RawSocketUnsafe();
    }

    @Override
    protected void doRegister(ChannelPromise promise) {
        ((IoEventLoop) eventLoop()).register((RawSocketUnsafe) unsafe()).addListener(f -> {
            if (f.isSuccess()) {
                registration = (IoRegistration) f.getNow();
                submitOps();
                promise.setSuccess();
            } else {
                promise.setFailure(f.cause());
            }
        });
    }

    @Override
    protected void doDeregister() {
        if (registration != null) {
            registration.cancel();
            registration = null;
        }
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        if (!(localAddress instanceof RawSocketAddress address)) {
            throw new IllegalArgumentException("a raw socket binds to a RawSocketAddress (an interface name), not "
                    + localAddress);
        }
        String name = address.interfaceName();
        int ifindex = socket.interfaceIndex(name);
        interfaceIndex = ifindex;
        hardwareAddress = socket.hardwareAddress(name);
        mtu = socket.mtu(name);
        socket.configure(config);
        vlan = config.vlan();
        int vnet = config.vnetHeader() ? VirtioNetHeader.LENGTH : 0;
        RingSettings ringSettings = config.ring();
        if (ringSettings.enabled()) {
            ring = RxRing.attach(socket, ringSettings);
        }
        // A TPACKET_V3 ring holds any frame; a V2 slot does not, and the frames too big for it are read one by one.
        int slots = !ringSettings.enabled() ? config.readBatch() : ringSettings.version() == 2 ? 1 : 0;
        if (slots > 0) {
            received = new ReceiveMessages(arena, slots, (config.maxFrameSize() + vnet + 1L + 63) & ~63L);
            // The kernel strips an 802.1Q tag into metadata before packet sockets see the frame; the tag comes back
            // in the auxiliary data (the ring's frame header carries it without asking).
            socket.setInt(Linux.SOL_PACKET, Linux.PACKET_AUXDATA, 1, "PACKET_AUXDATA");
        }
        messages = new SendMessages(arena, config.sendBatch(), vlan, config.vnetHeader());
        socket.bind(ifindex, name, config.etherType());
        if (config.fanoutGroup() >= 0) {
            fanoutGroup = socket.joinFanout(config.fanoutGroup() == NEW_FANOUT_GROUP ? -1 : config.fanoutGroup(),
                    config.fanoutSteering());
        }
        if (config.qdiscBypass()) {
            socket.setInt(Linux.SOL_PACKET, Linux.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
        }
        local = address;
        active = true;
    }

    @Override
    protected void doClose() throws Exception {
        active = false;
        try {
            if (ring != null) {
                ring.close();
                ring = null;
            }
            socket.close();
        } finally {
            if (received != null) {
                received.release();
                received = null;
            }
            if (messages != null) {
                messages.forget();
            }
            // The scratch areas and message arrays: nothing uses them once the socket is closed (this runs on the
            // event loop, their only user). Disconnecting closes too, so it may come twice.
            if (arena.scope().isAlive()) {
                arena.close();
            }
        }
    }

    @Override
    protected void doBeginRead() {
        readPending = true;
        if (!ops.contains(EpollIoOps.EPOLLIN)) {
            ops = ops.with(EpollIoOps.EPOLLIN);
            submitOps();
        }
    }

    private void submitOps() {
        if (registration != null && active) {
            registration.submit(ops);
        }
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        while (true) {
            int count = messages.collect(in);
            if (count == 0) {
                clearEpollOut();
                return;
            }
            int sent = socket.sendBatch(messages.segment(), count);
            stats().countSendCall(sent);
            if (sent > 0) {
                for (int i = 0; i < sent; i++) {
                    countSent(messages.frame(i).readableBytes());
                    in.remove();
                }
                messages.forget();
                continue;
            }
            int errno = socket.sendErrno();
            switch (errno) {
                case Linux.EAGAIN, Linux.EINTR -> {
                    if (errno == Linux.EAGAIN) {
                        stats().countSendBlocked();
                        setEpollOut();
                        messages.forget();
                        return;
                    }
                }
                case Linux.EMSGSIZE, Linux.EINVAL -> {
                    stats().countSendOversize();
                    in.remove();
                }
                case Linux.ENOBUFS -> {
                    stats().countSendNoBuffers();
                    in.remove();
                }
                case Linux.ENETDOWN, Linux.ENXIO, Linux.ENODEV -> throw interfaceGone(errno);
                default -> {
                    countSendError(Linux.errnoName(errno) + ": " + Linux.strerror(errno));
                    in.remove();
                }
            }
            messages.forget();
        }
    }

    private void setEpollOut() {
        if (!ops.contains(EpollIoOps.EPOLLOUT)) {
            ops = ops.with(EpollIoOps.EPOLLOUT);
            submitOps();
        }
    }

    private void clearEpollOut() {
        if (ops.contains(EpollIoOps.EPOLLOUT)) {
            ops = ops.without(EpollIoOps.EPOLLOUT);
            submitOps();
        }
    }

    private RawSocketException interfaceGone(int errno) {
        return new RawSocketException("interface " + local + " went down or disappeared: " + Linux.errnoName(errno)
                + " (" + Linux.strerror(errno) + ")", errno);
    }

    /** The next frame of the ring or the socket's queue; an interface gone is said so. */
    @Override
    protected ByteBuf nextFrame(int wanted) throws RawSocketException {
        ByteBuf frame;
        try {
            frame = readFrame(config.getAllocator(), wanted);
        } catch (RawSocketException e) {
            int errno = e.errno();
            throw Linux.isInterfaceGone(errno) ? interfaceGone(errno) : e;
        }
        if (frame != null) {
            readPending = false;
        }
        return frame;
    }

    /**
     * Reads one frame, or returns null when none is waiting; oversize frames are counted and skipped. A plain
     * socket receives at most {@code wanted} frames per system call, so that no frame is left over when the read
     * loop's budget runs out.
     */
    private ByteBuf readFrame(ByteBufAllocator allocator, int wanted) throws RawSocketException {
        if (ring == null) {
            return readQueued(allocator, wanted);
        }
        int vnet = config.vnetHeader() ? VirtioNetHeader.LENGTH : 0;
        while (ring.next()) {
            if (ring.copied()) {
                ring.consumed();
                // Its whole copy is the next one in the socket's queue, which holds nothing else.
                received.mayHoldMore();
                ByteBuf frame = readQueued(allocator, 1);
                if (frame != null) {
                    return frame;
                }
                continue;
            }
            int length = ring.capturedLength();
            if (length < ring.wireLength() || length > config.maxFrameSize()) {
                countReceivedOversize();
                ring.consumed();
                continue;
            }
            int vlanTag = ring.vlanTag();
            if (!ofThisVlan(vlanTag)) {
                ring.consumed();
                continue;
            }
            ByteBuf frame = FrameCopy.of(allocator, ring.memory(), ring.source(), ring.macOffset() - vnet, vnet, length,
                    restored(vlanTag));
            ring.consumed();
            countReceived(length);
            return frame;
        }
        return null;
    }

    /** Reads the next frame of the socket's queue, a batch of up to {@code wanted} per recvmmsg; null when none. */
    private ByteBuf readQueued(ByteBufAllocator allocator, int wanted) throws RawSocketException {
        int vnet = config.vnetHeader() ? VirtioNetHeader.LENGTH : 0;
        while (true) {
            if (!received.hasLeft()) {
                if (received.drained()) {
                    return null;
                }
                boolean any = received.fill(socket, wanted);
                stats().countReceiveCall();
                if (!any) {
                    return null;
                }
                continue;
            }
            int i = received.next();
            long n = received.length(i);
            int length = (int) n - vnet;
            if (n >= received.slotSize() || length > config.maxFrameSize() || length < 0) {
                countReceivedOversize();
                continue;
            }
            int vlanTag = received.vlanTag(i);
            if (!ofThisVlan(vlanTag)) {
                continue;
            }
            countReceived(length);
            return FrameCopy.of(allocator, received.scratch(), received.scratchSource(), received.offset(i), vnet,
                    length, restored(vlanTag));
        }
    }

    /** With a VLAN configured, whether a frame belongs to it (counted when not); without one, every frame does. */
    private boolean ofThisVlan(int vlanTag) {
        if (vlan == 0 || vlanTag != -1 && vlanTag >>> 16 == Linux.ETH_P_8021Q
                && (vlanTag & VlanTags.VLAN_ID_MASK) == vlan) {
            return true;
        }
        stats().countReceivedOtherVlan();
        return false;
    }

    /** The tag to put back into a frame: none when the channel is a VLAN's interface, which reads untagged. */
    private int restored(int vlanTag) {
        return vlan == 0 ? vlanTag : -1;
    }

    private final class RawSocketUnsafe extends FrameUnsafe implements EpollIoHandle {
        @Override
        public FileDescriptor fd() {
            return socket.descriptor();
        }

        @Override
        protected void flush0() {
            if (!ops.contains(EpollIoOps.EPOLLOUT)) {
                super.flush0();
            }
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            int ready = ((EpollIoEvent) event).ops().value();
            if ((ready & EpollIoOps.EPOLLERR.value()) != 0 && ring != null) {
                checkPendingError();
            }
            if ((ready & EpollIoOps.EPOLLOUT.value()) != 0 && isOpen()) {
                ops = ops.without(EpollIoOps.EPOLLOUT);
                submitOps();
                super.flush0();
            }
            if ((ready & (EpollIoOps.EPOLLIN.value() | EpollIoOps.EPOLLERR.value())) != 0 && isOpen()) {
                readReady();
            }
        }

        private void checkPendingError() {
            try {
                int errno = socket.pendingError();
                if (Linux.isInterfaceGone(errno)) {
                    failed(interfaceGone(errno));
                }
            } catch (RawSocketException e) {
                failed(e);
            }
        }

        private void readReady() {
            if (received != null) {
                received.mayHoldMore();
            }
            stats().countWakeUp(deliverFrames());
            if (isOpen() && !readPending && !config.isAutoRead() && ops.contains(EpollIoOps.EPOLLIN)) {
                ops = ops.without(EpollIoOps.EPOLLIN);
                submitOps();
            }
        }

        @Override
        public void close() {
            close(voidPromise());
        }
    }

    @Override
    protected String details() {
        return ", fd " + socket.descriptor().intValue();
    }
}

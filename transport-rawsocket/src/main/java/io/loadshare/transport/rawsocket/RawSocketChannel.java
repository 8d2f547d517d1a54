package io.loadshare.transport.rawsocket;

import io.loadshare.core.channel.AbstractFrameChannel;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.EthernetHeader;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.VirtioNetHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
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
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
    private static final int MMSGHDR = 64;
    private static final int MAC_LENGTH = 6;
    private static final int VLAN_ID_MASK = 0xFFF;
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final int MSG_IOV = 16;
    private static final int MSG_IOVLEN = 24;
    private static final int MSG_CONTROL = 32;
    private static final int MSG_CONTROLLEN = 40;
    private static final int MSG_LEN = 56;
    /** CMSG_SPACE(sizeof(struct tpacket_auxdata)): a 16-byte cmsghdr and 20 bytes of data, aligned to 8. */
    private static final int AUXDATA_SPACE = 40;
    private static final int CMSG_LEVEL = 8;
    private static final int CMSG_TYPE = 12;
    private static final int AUXDATA_STATUS = 16;
    private static final int AUXDATA_VLAN_TCI = 32;
    private static final int AUXDATA_VLAN_TPID = 34;
    private static final int IOVEC = 16;
    /** A zero virtio-net header, the MAC addresses, a VLAN tag, the rest of the frame. */
    private static final int IOVECS_PER_MESSAGE = 4;
    /** All of the address space, so that a copy into a buffer's memory needs no segment object per frame. */
    private static final MemorySegment ALL_MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final RawSocketChannelConfig config;
    private final RawSocket socket;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment zeroVnetHeader = arena.allocate(VirtioNetHeader.LENGTH);

    private volatile RawSocketAddress local;
    private volatile boolean active;
    private volatile long hardwareAddress = MacAddress.UNKNOWN;
    private volatile int mtu;
    private volatile int interfaceIndex;
    private volatile int fanoutGroup = -1;
    /** The VLAN this channel serves on a trunk, or 0; fixed at bind. */
    private int vlan;
    /** The 802.1Q tag every frame sent gets when {@link #vlan} is set. */
    private final MemorySegment vlanTag = arena.allocate(EthernetHeader.VLAN_TAG_LENGTH);

    private IoRegistration registration;
    private EpollIoOps ops = EpollIoOps.NONE;
    private boolean readPending;
    private RxRing ring;
    /** The ring's memory as a buffer, for copying into buffers that expose no address. */
    private ByteBuf ringSource;
    /** Plain receive, and frames too big for a TPACKET_V2 slot: one slot per message of a recvmmsg batch. */
    private MemorySegment receiveScratch;
    /** The scratch area as a buffer, for copying into buffers that expose no address. */
    private ByteBuf scratchSource;
    private long receiveSlot;
    private MemorySegment receiveMessages;
    /** Plain receive: one PACKET_AUXDATA control message per message of a batch, for the VLAN tag. */
    private MemorySegment receiveControl;
    private int received;
    private int nextReceived;
    /** The last batch came back short: the socket had no more, so the read loop can stop without asking again. */
    private boolean receiveDrained;
    private MemorySegment messages;
    private MemorySegment iovecs;
    /** Per message of a send batch, a virtio-net header adjusted for an inserted VLAN tag. */
    private MemorySegment vnetScratch;
    private ByteBuf[] batch;
    private final BatchCollector collector = new BatchCollector();

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
        if (config.vnetHeader()) {
            socket.setInt(Linux.SOL_PACKET, Linux.PACKET_VNET_HDR, 1, "PACKET_VNET_HDR");
        }
        if (config.ignoreOutgoing()) {
            socket.setInt(Linux.SOL_PACKET, Linux.PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");
        }
        if (config.receiveBufferSize() > 0) {
            socket.setInt(Linux.SOL_SOCKET, Linux.SO_RCVBUFFORCE, config.receiveBufferSize(), "SO_RCVBUFFORCE");
        }
        attachFilter(config.socketFilter());
        vlan = config.vlan();
        vlanTag.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 0,
                Linux.ETH_P_8021Q << 16 | vlan);
        int vnet = config.vnetHeader() ? VirtioNetHeader.LENGTH : 0;
        RingSettings ringSettings = config.ring();
        if (ringSettings.enabled()) {
            ring = RxRing.attach(socket, ringSettings);
            ringSource = Unpooled.wrappedBuffer(ring.memory().asByteBuffer());
        }
        // A TPACKET_V3 ring holds any frame; a V2 slot does not, and the frames too big for it are read one by one.
        int slots = !ringSettings.enabled() ? config.readBatch() : ringSettings.version() == 2 ? 1 : 0;
        if (slots > 0) {
            receiveSlot = (config.maxFrameSize() + vnet + 1L + 63) & ~63L;
            receiveScratch = arena.allocate(receiveSlot * slots, 64);
            receiveMessages = arena.allocate((long) MMSGHDR * slots, 8);
            receiveControl = arena.allocate((long) AUXDATA_SPACE * slots, 8);
            MemorySegment receiveIovecs = arena.allocate((long) IOVEC * slots, 8);
            // The kernel strips an 802.1Q tag into metadata before packet sockets see the frame; the tag comes back
            // in the auxiliary data (the ring's frame header carries it without asking).
            socket.setInt(Linux.SOL_PACKET, Linux.PACKET_AUXDATA, 1, "PACKET_AUXDATA");
            for (int i = 0; i < slots; i++) {
                receiveMessages.set(ValueLayout.JAVA_LONG, (long) MMSGHDR * i + MSG_CONTROL,
                        receiveControl.address() + (long) AUXDATA_SPACE * i);
                receiveIovecs.set(ValueLayout.JAVA_LONG, (long) IOVEC * i, receiveScratch.address() + receiveSlot * i);
                receiveIovecs.set(ValueLayout.JAVA_LONG, (long) IOVEC * i + 8, receiveSlot);
                receiveMessages.set(ValueLayout.JAVA_LONG, (long) MMSGHDR * i + MSG_IOV,
                        receiveIovecs.address() + (long) IOVEC * i);
                receiveMessages.set(ValueLayout.JAVA_LONG, (long) MMSGHDR * i + MSG_IOVLEN, 1);
            }
            scratchSource = Unpooled.wrappedBuffer(receiveScratch.asByteBuffer());
        }
        int sendBatch = config.sendBatch();
        messages = arena.allocate((long) MMSGHDR * sendBatch, 8);
        iovecs = arena.allocate((long) IOVEC * IOVECS_PER_MESSAGE * sendBatch, 8);
        vnetScratch = arena.allocate((long) VirtioNetHeader.LENGTH * sendBatch, 8);
        batch = new ByteBuf[sendBatch];
        socket.bind(ifindex, name, config.etherType());
        if (config.fanoutGroup() >= 0) {
            joinFanout(config.fanoutGroup(), config.fanoutSteering());
        }
        if (config.qdiscBypass()) {
            socket.setInt(Linux.SOL_PACKET, Linux.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
        }
        local = address;
        active = true;
    }

    private void attachFilter(SocketFilter filter) throws RawSocketException {
        try (Arena temporary = Arena.ofConfined()) {
            socket.setOption(Linux.SOL_SOCKET, Linux.SO_ATTACH_FILTER,
                    ClassicBpf.sockFprog(temporary, filter.instructions()), "SO_ATTACH_FILTER");
        }
    }

    /** Joins (or, for {@link #NEW_FANOUT_GROUP}, starts) a fanout group, steered by the kernel's hash or a program. */
    private void joinFanout(int group, FanoutSteering steering) throws RawSocketException {
        int type = steering == null ? Linux.PACKET_FANOUT_HASH : Linux.PACKET_FANOUT_CBPF;
        boolean fresh = group == NEW_FANOUT_GROUP;
        socket.setInt(Linux.SOL_PACKET, Linux.PACKET_FANOUT,
                (fresh ? 0 : group) | (type | (fresh ? Linux.PACKET_FANOUT_FLAG_UNIQUEID : 0)) << 16, "PACKET_FANOUT");
        try (Arena temporary = Arena.ofConfined()) {
            MemorySegment value = temporary.allocate(ValueLayout.JAVA_INT);
            socket.getOption(Linux.SOL_PACKET, Linux.PACKET_FANOUT, value, "PACKET_FANOUT");
            fanoutGroup = value.get(ValueLayout.JAVA_INT, 0) & 0xFFFF;
            if (steering != null) {
                socket.setOption(Linux.SOL_PACKET, Linux.PACKET_FANOUT_DATA,
                        ClassicBpf.sockFprog(temporary, steering.instructions()), "PACKET_FANOUT_DATA");
            }
        }
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
            if (ringSource != null) {
                ringSource.release();
                ringSource = null;
            }
            if (scratchSource != null) {
                scratchSource.release();
                scratchSource = null;
            }
            if (batch != null) {
                java.util.Arrays.fill(batch, null);
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

    /** Collects up to one batch of flushed frames without allocating. */
    private final class BatchCollector implements ChannelOutboundBuffer.MessageProcessor {
        int count;

        @Override
        public boolean processMessage(Object msg) {
            batch[count++] = (ByteBuf) msg;
            return count < batch.length;
        }
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        while (true) {
            collector.count = 0;
            in.forEachFlushedMessage(collector);
            int count = collector.count;
            if (count == 0) {
                clearEpollOut();
                return;
            }
            for (int i = 0; i < count; i++) {
                prepareMessage(i, batch[i]);
            }
            int sent = socket.sendBatch(messages, count);
            stats().countSendCall(sent);
            if (sent > 0) {
                for (int i = 0; i < sent; i++) {
                    countSent(batch[i].readableBytes());
                    batch[i] = null;
                    in.remove();
                }
                continue;
            }
            int errno = socket.sendErrno();
            switch (errno) {
                case Linux.EAGAIN, Linux.EINTR -> {
                    if (errno == Linux.EAGAIN) {
                        stats().countSendBlocked();
                        setEpollOut();
                        java.util.Arrays.fill(batch, 0, count, null);
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
            java.util.Arrays.fill(batch, 0, count, null);
        }
    }

    /**
     * Fills mmsghdr {@code i}: the frame with its own virtio-net header, or a zero one, or none; on a VLAN, with the
     * tag gathered in after the MAC addresses, so that no frame is copied to be tagged.
     */
    private void prepareMessage(int i, ByteBuf frame) {
        long message = (long) MMSGHDR * i;
        long iov = (long) IOVEC * IOVECS_PER_MESSAGE * i;
        boolean tag = vlan != 0 && frame.readableBytes() >= 2 * MAC_LENGTH;
        int iovCount = 0;
        int start = frame.readerIndex();
        int length = frame.readableBytes();
        if (config.vnetHeader()) {
            if (!VirtioNetHeader.isPresent(frame)) {
                setIovec(iov + (long) IOVEC * iovCount++, zeroVnetHeader.address(), VirtioNetHeader.LENGTH);
            } else if (!tag) {
                start -= VirtioNetHeader.LENGTH;
                length += VirtioNetHeader.LENGTH;
            } else {
                // A copy whose offsets count the tag; the frame itself stays as it is, should this send be retried.
                MemorySegment header = vnetScratch.asSlice((long) VirtioNetHeader.LENGTH * i, VirtioNetHeader.LENGTH);
                MemorySegment.copy(ALL_MEMORY, addressOf(frame, start - VirtioNetHeader.LENGTH), header, 0,
                        VirtioNetHeader.LENGTH);
                shiftVnetOffsets(header);
                setIovec(iov + (long) IOVEC * iovCount++, header.address(), VirtioNetHeader.LENGTH);
            }
        }
        if (tag) {
            setIovec(iov + (long) IOVEC * iovCount++, addressOf(frame, start), 2 * MAC_LENGTH);
            setIovec(iov + (long) IOVEC * iovCount++, vlanTag.address(), EthernetHeader.VLAN_TAG_LENGTH);
            setIovec(iov + (long) IOVEC * iovCount++, addressOf(frame, start + 2 * MAC_LENGTH), length - 2 * MAC_LENGTH);
        } else {
            setIovec(iov + (long) IOVEC * iovCount++, addressOf(frame, start), length);
        }
        // The other mmsghdr fields (name, control, flags) stay zero from allocation; the kernel writes msg_len.
        messages.set(ValueLayout.JAVA_LONG, message + MSG_IOV, iovecs.address() + iov);
        messages.set(ValueLayout.JAVA_LONG, message + MSG_IOVLEN, iovCount);
    }

    private void setIovec(long at, long address, int length) {
        iovecs.set(ValueLayout.JAVA_LONG, at, address);
        iovecs.set(ValueLayout.JAVA_LONG, at + 8, length);
    }

    private static long addressOf(ByteBuf buf, int index) {
        if (buf.hasMemoryAddress()) {
            return buf.memoryAddress() + index;
        }
        return MemorySegment.ofBuffer(buf.internalNioBuffer(index, 1)).address();
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
                receiveDrained = false;
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
            ByteBuf frame = copy(allocator, ring.memory(), ringSource, ring.macOffset() - vnet, vnet, length,
                    restored(vlanTag));
            ring.consumed();
            return frame;
        }
        return null;
    }

    /** Reads the next frame of the socket's queue, a batch of up to {@code wanted} per recvmmsg; null when none. */
    private ByteBuf readQueued(ByteBufAllocator allocator, int wanted) throws RawSocketException {
        int vnet = config.vnetHeader() ? VirtioNetHeader.LENGTH : 0;
        while (true) {
            if (nextReceived == received) {
                if (receiveDrained) {
                    return null;
                }
                int want = (int) Math.min(wanted, receiveMessages.byteSize() / MMSGHDR);
                for (int i = 0; i < want; i++) {
                    // The kernel writes back the length it used; give each message its whole space again.
                    receiveMessages.set(ValueLayout.JAVA_LONG, (long) MMSGHDR * i + MSG_CONTROLLEN, AUXDATA_SPACE);
                }
                int n = socket.receiveBatch(receiveMessages, want);
                stats().countReceiveCall();
                if (n < 0) {
                    receiveDrained = true;
                    return null;
                }
                received = n;
                nextReceived = 0;
                receiveDrained = n < want;
            }
            int i = nextReceived++;
            long n = receiveMessages.get(ValueLayout.JAVA_INT, (long) MMSGHDR * i + MSG_LEN) & 0xFFFF_FFFFL;
            int length = (int) n - vnet;
            if (n >= receiveSlot || length > config.maxFrameSize() || length < 0) {
                countReceivedOversize();
                continue;
            }
            int vlanTag = auxdataVlanTag(i);
            if (!ofThisVlan(vlanTag)) {
                continue;
            }
            return copy(allocator, receiveScratch, scratchSource, receiveSlot * i, vnet, length, restored(vlanTag));
        }
    }

    /** With a VLAN configured, whether a frame belongs to it (counted when not); without one, every frame does. */
    private boolean ofThisVlan(int vlanTag) {
        if (vlan == 0 || vlanTag != -1 && (vlanTag & VLAN_ID_MASK) == vlan) {
            return true;
        }
        stats().countReceivedOtherVlan();
        return false;
    }

    /** The tag to put back into a frame: none when the channel is a VLAN's interface, which reads untagged. */
    private int restored(int vlanTag) {
        return vlan == 0 ? vlanTag : -1;
    }

    /** The 802.1Q tag PACKET_AUXDATA reports for message {@code i} of the last batch, or -1. */
    private int auxdataVlanTag(int i) {
        long control = (long) AUXDATA_SPACE * i;
        if (receiveMessages.get(ValueLayout.JAVA_LONG, (long) MMSGHDR * i + MSG_CONTROLLEN) < AUXDATA_SPACE - 4
                || receiveControl.get(ValueLayout.JAVA_INT, control + CMSG_LEVEL) != Linux.SOL_PACKET
                || receiveControl.get(ValueLayout.JAVA_INT, control + CMSG_TYPE) != Linux.PACKET_AUXDATA) {
            return -1;
        }
        return vlanTag(receiveControl.get(ValueLayout.JAVA_INT, control + AUXDATA_STATUS),
                receiveControl.get(ValueLayout.JAVA_SHORT, control + AUXDATA_VLAN_TCI) & 0xFFFF,
                receiveControl.get(ValueLayout.JAVA_SHORT, control + AUXDATA_VLAN_TPID) & 0xFFFF);
    }

    /** {@code tpid << 16 | tci} when the status says the kernel took a tag off, else -1. */
    static int vlanTag(int status, int tci, int tpid) {
        if ((status & Linux.TP_STATUS_VLAN_VALID) == 0) {
            return -1;
        }
        return ((status & Linux.TP_STATUS_VLAN_TPID_VALID) != 0 ? tpid : Linux.ETH_P_8021Q) << 16 | tci;
    }

    /**
     * The one copy of a frame: from the ring or the scratch area into a pooled buffer of its size. A VLAN tag the
     * kernel took off goes back in after the MAC addresses, so the pipeline sees, and forwards, the frame as it was
     * on the wire; a virtio-net header's offsets move with it.
     */
    private ByteBuf copy(ByteBufAllocator allocator, MemorySegment memory, ByteBuf source, long at, int vnet,
            int length, int vlanTag) {
        int headroom = vnet == 0 ? 0 : VirtioNetHeader.HEADROOM;
        boolean tagged = vlanTag != -1 && length >= 2 * MAC_LENGTH;
        int tagLength = tagged ? EthernetHeader.VLAN_TAG_LENGTH : 0;
        ByteBuf frame = allocator.directBuffer(headroom + length + tagLength);
        if (vnet != 0) {
            frame.writeInt(VirtioNetHeader.TAG);
        }
        if (!tagged) {
            copyInto(frame, memory, source, at, vnet + length);
        } else {
            copyInto(frame, memory, source, at, vnet + 2 * MAC_LENGTH);
            frame.writeInt(vlanTag);
            copyInto(frame, memory, source, at + vnet + 2 * MAC_LENGTH, length - 2 * MAC_LENGTH);
            if (vnet != 0) {
                shiftVnetOffsets(MemorySegment.ofAddress(addressOf(frame, headroom - VirtioNetHeader.LENGTH))
                        .reinterpret(VirtioNetHeader.LENGTH));
            }
        }
        frame.readerIndex(headroom);
        countReceived(length);
        return frame;
    }

    private static void copyInto(ByteBuf frame, MemorySegment memory, ByteBuf source, long at, int length) {
        if (frame.hasMemoryAddress()) {
            // Netty's own copy paths build a temporary NIO buffer per new ByteBuf; a raw copy allocates nothing.
            MemorySegment.copy(memory, at, ALL_MEMORY, frame.memoryAddress() + frame.writerIndex(), length);
            frame.writerIndex(frame.writerIndex() + length);
        } else {
            frame.writeBytes(source, (int) at, length);
        }
    }

    /** A virtio-net header's hdr_len and csum_start count from the Ethernet header, which grew by a tag. */
    private static void shiftVnetOffsets(MemorySegment header) {
        int headerLength = header.get(LE_SHORT, 2) & 0xFFFF;
        if (headerLength != 0) {
            header.set(LE_SHORT, 2, (short) (headerLength + EthernetHeader.VLAN_TAG_LENGTH));
        }
        if ((header.get(ValueLayout.JAVA_BYTE, 0) & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0) {
            header.set(LE_SHORT, 6, (short) ((header.get(LE_SHORT, 6) & 0xFFFF) + EthernetHeader.VLAN_TAG_LENGTH));
        }
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
            receiveDrained = false;
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

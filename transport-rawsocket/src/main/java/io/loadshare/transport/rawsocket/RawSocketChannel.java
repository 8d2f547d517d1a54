package io.loadshare.transport.rawsocket;

import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.MacAddress;
import io.loadshare.core.packet.VirtioNetHeader;
import io.loadshare.core.pipeline.HardwareAddressed;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.AbstractChannel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.ReferenceCountUtil;
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
 * <p>Receive: a {@code recvmmsg} per batch of frames, or, with {@link RawSocketChannelOption#RX_RING}, a TPACKET_V3 ring
 * with no system call per frame. Either way each frame is copied once, into a buffer of its own size. With
 * virtio-net headers on (the default), the header travels in the buffer's headroom ({@link VirtioNetHeader}).
 *
 * <p>Send: frames are batched into {@code sendmmsg} calls at flush, straight from the buffers' memory. A full
 * socket (EAGAIN) waits for EPOLLOUT; a frame the kernel refuses (too long, no driver buffer) is dropped and
 * counted in {@link #stats()}, and the rest go on. Nothing spins.
 *
 * <p>An interface that goes down or disappears closes the channel with a {@link RawSocketException} saying so;
 * the pipeline sees {@code exceptionCaught}, then {@code channelInactive}.
 */
public final class RawSocketChannel extends AbstractChannel implements HardwareAddressed {
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 64);
    private static final int MMSGHDR = 64;
    private static final int MSG_IOV = 16;
    private static final int MSG_IOVLEN = 24;
    private static final int MSG_LEN = 56;
    private static final int IOVEC = 16;
    /** All of the address space, so that a copy into a buffer's memory needs no segment object per frame. */
    private static final MemorySegment ALL_MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final RawSocketChannelConfig config;
    private final RawSocket socket;
    private final RawSocketStats stats = new RawSocketStats();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment zeroVnetHeader = arena.allocate(VirtioNetHeader.LENGTH);

    private volatile RawSocketAddress local;
    private volatile boolean active;
    private volatile long hardwareAddress = MacAddress.UNKNOWN;
    private volatile int mtu;
    private volatile Throwable closeCause;

    private IoRegistration registration;
    private EpollIoOps ops = EpollIoOps.NONE;
    private boolean readPending;
    private RxRing ring;
    /** Where frames are read from: the ring, or the scratch area of plain receive. */
    private MemorySegment receiveMemory;
    /** The same memory as a buffer, for copying into buffers that expose no address. */
    private ByteBuf receiveSource;
    /** Plain receive: one slot of the scratch area per message of a recvmmsg batch. */
    private MemorySegment receiveScratch;
    private long receiveSlot;
    private MemorySegment receiveMessages;
    private int received;
    private int nextReceived;
    /** The last batch came back short: the socket had no more, so the read loop can stop without asking again. */
    private boolean receiveDrained;
    private MemorySegment messages;
    private MemorySegment iovecs;
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
        super(null);
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

    /** This channel's receive and send counters. */
    public RawSocketStats stats() {
        return stats;
    }

    /** The bound interface's MAC address; valid once active. */
    @Override
    public long hardwareAddress() {
        return hardwareAddress;
    }

    /** The bound interface's MTU, read when the channel is bound. */
    @Override
    public int mtu() {
        return mtu;
    }

    /** Why the channel closed, if it closed on an error (an interface going down, say). */
    public Throwable closeCause() {
        return closeCause;
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
    public ChannelMetadata metadata() {
        return METADATA;
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
    protected SocketAddress remoteAddress0() {
        return null;
    }

    @Override
    protected boolean isCompatible(EventLoop loop) {
        return loop instanceof IoEventLoop ioLoop && ioLoop.isCompatible(RawSocketUnsafe.class);
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
        int vnet = config.vnetHeader() ? VirtioNetHeader.LENGTH : 0;
        RingSettings ringSettings = config.ring();
        if (ringSettings.enabled()) {
            ring = RxRing.attach(socket, ringSettings.blockSize(), ringSettings.blockCount(), ringSettings.frameSize(),
                    ringSettings.blockTimeoutMillis());
            receiveMemory = ring.memory();
        } else {
            int slots = config.readBatch();
            receiveSlot = (config.maxFrameSize() + vnet + 1L + 63) & ~63L;
            receiveScratch = arena.allocate(receiveSlot * slots, 64);
            receiveMessages = arena.allocate((long) MMSGHDR * slots, 8);
            MemorySegment receiveIovecs = arena.allocate((long) IOVEC * slots, 8);
            for (int i = 0; i < slots; i++) {
                receiveIovecs.set(ValueLayout.JAVA_LONG, (long) IOVEC * i, receiveScratch.address() + receiveSlot * i);
                receiveIovecs.set(ValueLayout.JAVA_LONG, (long) IOVEC * i + 8, receiveSlot);
                receiveMessages.set(ValueLayout.JAVA_LONG, (long) MMSGHDR * i + MSG_IOV,
                        receiveIovecs.address() + (long) IOVEC * i);
                receiveMessages.set(ValueLayout.JAVA_LONG, (long) MMSGHDR * i + MSG_IOVLEN, 1);
            }
            receiveMemory = receiveScratch;
        }
        receiveSource = Unpooled.wrappedBuffer(receiveMemory.asByteBuffer());
        int sendBatch = config.sendBatch();
        messages = arena.allocate((long) MMSGHDR * sendBatch, 8);
        iovecs = arena.allocate((long) IOVEC * 2 * sendBatch, 8);
        batch = new ByteBuf[sendBatch];
        socket.bind(ifindex, name);
        if (config.fanoutGroup() >= 0) {
            socket.setInt(Linux.SOL_PACKET, Linux.PACKET_FANOUT, config.fanoutGroup(), "PACKET_FANOUT");
        }
        if (config.qdiscBypass()) {
            socket.setInt(Linux.SOL_PACKET, Linux.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
        }
        local = address;
        active = true;
    }

    private void attachFilter(SocketFilter filter) throws RawSocketException {
        try (Arena temporary = Arena.ofConfined()) {
            int n = filter.instructions().size();
            MemorySegment program = temporary.allocate(8L * n, 8);
            for (int i = 0; i < n; i++) {
                long insn = filter.instructions().get(i);
                program.set(ValueLayout.JAVA_SHORT, 8L * i, (short) (insn >>> 48));
                program.set(ValueLayout.JAVA_BYTE, 8L * i + 2, (byte) (insn >>> 40));
                program.set(ValueLayout.JAVA_BYTE, 8L * i + 3, (byte) (insn >>> 32));
                program.set(ValueLayout.JAVA_INT, 8L * i + 4, (int) insn);
            }
            MemorySegment fprog = temporary.allocate(16, 8);
            fprog.set(ValueLayout.JAVA_SHORT, 0, (short) n);
            fprog.set(ValueLayout.ADDRESS, 8, program);
            socket.setOption(Linux.SOL_SOCKET, Linux.SO_ATTACH_FILTER, fprog, "SO_ATTACH_FILTER");
        }
    }

    @Override
    protected void doDisconnect() throws Exception {
        doClose();
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
            if (receiveSource != null) {
                receiveSource.release();
                receiveSource = null;
            }
            if (batch != null) {
                java.util.Arrays.fill(batch, null);
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
    protected Object filterOutboundMessage(Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            throw new UnsupportedOperationException("a raw socket sends ByteBuf frames, not "
                    + msg.getClass().getName());
        }
        if (buf.isDirect() && buf.nioBufferCount() == 1) {
            return buf;
        }
        ByteBuf direct = alloc().directBuffer(buf.readableBytes());
        direct.writeBytes(buf, buf.readerIndex(), buf.readableBytes());
        ReferenceCountUtil.safeRelease(buf);
        return direct;
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
            if (sent > 0) {
                for (int i = 0; i < sent; i++) {
                    stats.countSent(batch[i].readableBytes());
                    batch[i] = null;
                    in.remove();
                }
                continue;
            }
            int errno = socket.sendErrno();
            switch (errno) {
                case Linux.EAGAIN, Linux.EINTR -> {
                    if (errno == Linux.EAGAIN) {
                        stats.countSendBlocked();
                        setEpollOut();
                        java.util.Arrays.fill(batch, 0, count, null);
                        return;
                    }
                }
                case Linux.EMSGSIZE, Linux.EINVAL -> {
                    stats.countSendOversize();
                    in.remove();
                }
                case Linux.ENOBUFS -> {
                    stats.countSendNoBuffers();
                    in.remove();
                }
                case Linux.ENETDOWN, Linux.ENXIO, Linux.ENODEV -> throw interfaceGone(errno);
                default -> {
                    stats.countSendError();
                    in.remove();
                }
            }
            java.util.Arrays.fill(batch, 0, count, null);
        }
    }

    /** Fills mmsghdr {@code i}: the frame with its own virtio-net header, or a zero one, or none. */
    private void prepareMessage(int i, ByteBuf frame) {
        long message = (long) MMSGHDR * i;
        long iov = (long) IOVEC * 2 * i;
        int iovCount;
        if (!config.vnetHeader()) {
            setIovec(iov, frame, frame.readerIndex(), frame.readableBytes());
            iovCount = 1;
        } else if (VirtioNetHeader.isPresent(frame)) {
            setIovec(iov, frame, frame.readerIndex() - VirtioNetHeader.LENGTH,
                    frame.readableBytes() + VirtioNetHeader.LENGTH);
            iovCount = 1;
        } else {
            iovecs.set(ValueLayout.JAVA_LONG, iov, zeroVnetHeader.address());
            iovecs.set(ValueLayout.JAVA_LONG, iov + 8, VirtioNetHeader.LENGTH);
            setIovec(iov + IOVEC, frame, frame.readerIndex(), frame.readableBytes());
            iovCount = 2;
        }
        // The other mmsghdr fields (name, control, flags) stay zero from allocation; the kernel writes msg_len.
        messages.set(ValueLayout.JAVA_LONG, message + MSG_IOV, iovecs.address() + iov);
        messages.set(ValueLayout.JAVA_LONG, message + MSG_IOVLEN, iovCount);
    }

    private void setIovec(long at, ByteBuf buf, int index, int length) {
        iovecs.set(ValueLayout.JAVA_LONG, at, addressOf(buf, index));
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

    /**
     * Reads one frame, or returns null when none is waiting; oversize frames are counted and skipped. A plain
     * socket receives at most {@code wanted} frames per system call, so that no frame is left over when the read
     * loop's budget runs out.
     */
    private ByteBuf readFrame(ByteBufAllocator allocator, int wanted) throws RawSocketException {
        int vnet = config.vnetHeader() ? VirtioNetHeader.LENGTH : 0;
        while (true) {
            if (ring != null) {
                if (!ring.next()) {
                    return null;
                }
                int length = ring.capturedLength();
                if (length < ring.wireLength() || length > config.maxFrameSize()) {
                    stats.countReceivedOversize();
                    ring.consumed();
                    continue;
                }
                ByteBuf frame = copy(allocator, (int) ring.macOffset() - vnet, vnet, length);
                ring.consumed();
                return frame;
            }
            if (nextReceived == received) {
                if (receiveDrained) {
                    return null;
                }
                int want = (int) Math.min(wanted, receiveMessages.byteSize() / MMSGHDR);
                int n = socket.receiveBatch(receiveMessages, want);
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
                stats.countReceivedOversize();
                continue;
            }
            return copy(allocator, receiveSlot * i, vnet, length);
        }
    }

    /** The one copy of a frame: from the ring or the scratch area into a pooled buffer of its size. */
    private ByteBuf copy(ByteBufAllocator allocator, long at, int vnet, int length) {
        int headroom = vnet == 0 ? 0 : VirtioNetHeader.HEADROOM;
        ByteBuf frame = allocator.directBuffer(headroom + length);
        if (vnet != 0) {
            frame.writeInt(VirtioNetHeader.TAG);
        }
        if (frame.hasMemoryAddress()) {
            // Netty's own copy paths build a temporary NIO buffer per new ByteBuf; a raw copy allocates nothing.
            MemorySegment.copy(receiveMemory, at, ALL_MEMORY, frame.memoryAddress() + frame.writerIndex(), vnet + length);
            frame.writerIndex(frame.writerIndex() + vnet + length);
        } else {
            frame.writeBytes(receiveSource, (int) at, vnet + length);
        }
        frame.readerIndex(headroom);
        stats.countReceived(length);
        return frame;
    }

    private final class RawSocketUnsafe extends AbstractUnsafe implements EpollIoHandle {
        @Override
        public FileDescriptor fd() {
            return socket.descriptor();
        }

        @Override
        public void connect(SocketAddress remoteAddress, SocketAddress localAddress, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException(
                    "a raw socket does not connect; bind it to an interface with a RawSocketAddress"));
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
                if (errno == Linux.ENETDOWN || errno == Linux.ENXIO || errno == Linux.ENODEV) {
                    failed(interfaceGone(errno));
                }
            } catch (RawSocketException e) {
                failed(e);
            }
        }

        private void readReady() {
            ChannelPipeline pipeline = pipeline();
            ByteBufAllocator allocator = config.getAllocator();
            int budget = config.readBatch();
            receiveDrained = false;
            RawSocketException failure = null;
            int read = 0;
            try {
                for (; read < budget; read++) {
                    ByteBuf frame = readFrame(allocator, budget - read);
                    if (frame == null) {
                        break;
                    }
                    readPending = false;
                    pipeline.fireChannelRead(frame);
                    if (!isOpen()) {
                        break;
                    }
                }
            } catch (RawSocketException e) {
                failure = e.errno() == Linux.ENETDOWN || e.errno() == Linux.ENXIO || e.errno() == Linux.ENODEV
                        ? interfaceGone(e.errno()) : e;
            }
            if (read > 0) {
                pipeline.fireChannelReadComplete();
            }
            if (failure != null) {
                failed(failure);
                return;
            }
            if (!readPending && !config.isAutoRead() && ops.contains(EpollIoOps.EPOLLIN)) {
                ops = ops.without(EpollIoOps.EPOLLIN);
                submitOps();
            }
        }

        private void failed(Throwable cause) {
            if (closeCause == null) {
                closeCause = cause;
            }
            pipeline().fireExceptionCaught(cause);
            close(voidPromise());
        }

        @Override
        public void close() {
            close(voidPromise());
        }
    }

    @Override
    public String toString() {
        return "RawSocketChannel(" + (local == null ? "unbound" : local) + ", fd " + socket.descriptor().intValue()
                + ")";
    }
}

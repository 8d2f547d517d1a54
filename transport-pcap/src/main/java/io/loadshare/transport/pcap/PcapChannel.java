package io.loadshare.transport.pcap;

import io.loadshare.core.channel.AbstractFrameChannel;
import io.loadshare.core.channel.FrameChannelStats;
import io.loadshare.core.netns.NetworkNamespace;
import io.loadshare.core.packet.CaptureHeader;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.concurrent.Future;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketAddress;

/**
 * Live capture on an interface through libpcap, as a Netty channel: the portable transport, and the one the
 * paper's dispatchers were built on. Binding to a {@link PcapAddress} opens the capture (immediate mode,
 * nanosecond timestamps, non-blocking, inbound only, the configured BPF filter) and registers libpcap's
 * selectable descriptor on Netty's epoll {@link IoEventLoop}; each readiness event drains {@code pcap_next_ex}.
 *
 * <p>Each frame is copied once, out of libpcap's buffer (valid only until the next read), into a pooled direct
 * {@link ByteBuf} whose headroom carries its capture time and original length ({@link CaptureHeader}). Frames
 * longer than the snaplen are counted and dropped. Written frames go out through {@code pcap_inject}, one call
 * each; a refused frame is counted and dropped, since libpcap offers no transmit back-pressure.
 */
public final class PcapChannel extends AbstractFrameChannel<FrameChannelStats> {
    private final PcapChannelConfig config = new PcapChannelConfig(this);
    private final NetworkNamespace namespace;
    private volatile PcapHandle pcap;
    private volatile PcapAddress local;
    private volatile boolean open = true;
    private FileDescriptor descriptor;
    private IoRegistration registration;
    private EpollIoOps ops = EpollIoOps.EPOLLIN;

    /** A capture in the calling process's network namespace. */
    public PcapChannel() {
        this(null);
    }

    /** A capture opened inside {@code namespace} (needs CAP_SYS_ADMIN to enter it). */
    public PcapChannel(NetworkNamespace namespace) {
        super("a pcap channel", "bind it to an interface with a PcapAddress", new FrameChannelStats());
        this.namespace = namespace;
    }

    @Override
    public PcapChannelConfig config() {
        return config;
    }

    /** The MAC set with {@link PcapChannelOption#HARDWARE_ADDRESS}, or {@code MacAddress.UNKNOWN}. */
    @Override
    public long hardwareAddress() {
        return config.hardwareAddress();
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isActive() {
        return open && pcap != null;
    }

    @Override
    protected SocketAddress localAddress0() {
        return local;
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new PcapUnsafe();
    }

    /** The descriptor exists only once the capture is open, so registration with epoll happens at bind. */
    @Override
    protected void doRegister(ChannelPromise promise) {
        promise.setSuccess();
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        if (!(localAddress instanceof PcapAddress address)) {
            throw new IllegalArgumentException("a pcap channel binds to a PcapAddress (an interface name), not "
                    + localAddress);
        }
        NetworkNamespace.Action<PcapHandle> opener = () -> PcapHandle.live(address.interfaceName(), config.snaplen(),
                config.promiscuous(), config.bufferSize(), config.filter());
        PcapHandle handle = namespace == null ? opener.run() : namespace.run(opener);
        descriptor = new FileDescriptor(handle.selectableFd());
        Future<IoRegistration> registered = ((IoEventLoop) eventLoop()).register((PcapUnsafe) unsafe());
        if (!registered.isDone()) {
            handle.close();
            throw new IllegalStateException("registering the capture with the event loop did not complete at bind");
        }
        if (!registered.isSuccess()) {
            handle.close();
            throw new PcapException("cannot register the capture with the event loop", registered.cause());
        }
        registration = registered.getNow();
        pcap = handle;
        local = address;
        registration.submit(ops);
    }

    @Override
    protected void doClose() {
        open = false;
        if (registration != null) {
            registration.cancel();
            registration = null;
        }
        PcapHandle handle = pcap;
        if (handle != null) {
            handle.close();
        }
    }

    @Override
    protected void doBeginRead() {
        // Always armed for EPOLLIN once bound: a capture that is not read only fills libpcap's buffer.
    }

    /** {@code pcap_inject} takes an address. */
    @Override
    protected boolean sendsInPlace(ByteBuf frame) {
        return frame.hasMemoryAddress();
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) {
        for (Object msg; (msg = in.current()) != null; ) {
            ByteBuf frame = (ByteBuf) msg;
            int length = frame.readableBytes();
            MemorySegment bytes = PcapHandle.ALL_MEMORY.asSlice(frame.memoryAddress() + frame.readerIndex(), length);
            if (pcap.inject(bytes, length) < 0) {
                countSendError(pcap.errorText());
            } else {
                countSent(length);
            }
            in.remove();
        }
    }

    /** The next captured frame, or null when libpcap has none; frames cut at the snaplen are counted, skipped. */
    @Override
    protected ByteBuf nextFrame(int wanted) throws PcapException {
        PcapHandle handle = pcap;
        while (true) {
            int result = handle.next();
            if (result == PcapHandle.READ_NONE) {
                return null;
            }
            if (result != PcapHandle.READ_OK) {
                throw new PcapException("capture on " + local + " failed: " + handle.errorText());
            }
            if (handle.capturedLength() < handle.originalLength()) {
                countReceivedOversize();
                continue;
            }
            ByteBuf frame = copyFrame(handle);
            countReceived(frame.readableBytes());
            return frame;
        }
    }

    private ByteBuf copyFrame(PcapHandle handle) {
        int length = handle.capturedLength();
        ByteBuf frame = config.getAllocator().directBuffer(CaptureHeader.HEADROOM + length);
        CaptureHeader.write(frame, handle.timestampNanos(), handle.originalLength());
        if (frame.hasMemoryAddress()) {
            MemorySegment.copy(PcapHandle.ALL_MEMORY, handle.dataAddress(), PcapHandle.ALL_MEMORY,
                    frame.memoryAddress() + frame.writerIndex(), length);
            frame.writerIndex(frame.writerIndex() + length);
        } else {
            for (int i = 0; i < length; i++) {
                frame.writeByte(PcapHandle.ALL_MEMORY.get(ValueLayout.JAVA_BYTE, handle.dataAddress() + i));
            }
        }
        frame.readerIndex(CaptureHeader.HEADROOM);
        return frame;
    }

    private final class PcapUnsafe extends FrameUnsafe implements EpollIoHandle {
        @Override
        public FileDescriptor fd() {
            return descriptor;
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            if (pcap != null && open) {
                deliverFrames();
            }
        }

        @Override
        public void close() {
            close(voidPromise());
        }
    }
}

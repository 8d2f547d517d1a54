package io.loadshare.transport.pcap;

import io.loadshare.core.channel.AbstractFrameChannel;
import io.loadshare.core.channel.FrameChannelStats;
import io.loadshare.core.packet.CaptureHeader;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelOutboundBuffer;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Capture files as a Netty channel, so a dispatcher runs over a recorded capture without privileges and writes
 * what it would have sent to a file that Wireshark opens. Binding to a {@link PcapFileAddress} opens the input
 * (classic pcap with micro- or nanosecond timestamps, read in Java; pcapng through libpcap) and creates the
 * output (classic pcap, nanosecond timestamps).
 *
 * <p>Frames arrive as pooled direct {@link ByteBuf}s whose headroom carries their capture time and original
 * length ({@link CaptureHeader}), as fast as the pipeline takes them or, with {@link PcapChannelOption#PACE}, at
 * the pace they were captured. Written frames are appended to the output; one that carries capture metadata
 * keeps it. The end of the input closes the channel cleanly ({@code channelInactive}), after the last read
 * batch's writes; the output is flushed and closed with it. A corrupt record is reported through
 * {@code exceptionCaught} with the file and offset, after every frame before it has been delivered, and closes
 * the channel.
 *
 * <p>Runs on any event loop: there is no descriptor to wait on.
 */
public final class PcapFileChannel extends AbstractFrameChannel<FrameChannelStats> {
    private final PcapChannelConfig config = new PcapChannelConfig(this);
    private final Runnable readTask = this::readBatch;
    private volatile boolean open = true;
    private volatile PcapFileAddress files;
    private CaptureFileReader reader;
    private PcapFileWriter writer;
    private boolean readScheduled;
    private boolean recordPending;
    private long firstTimestamp = -1;
    private long startNanos;
    private boolean inputEnded;

    public PcapFileChannel() {
        super("a pcap file channel", "bind it to a PcapFileAddress", new FrameChannelStats());
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
        return open && files != null;
    }

    @Override
    protected SocketAddress localAddress0() {
        PcapFileAddress bound = files;
        return bound == null ? null : bound.asSocketAddress();
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        if (!(localAddress instanceof PcapFileAddress.Bound bound)) {
            throw new IllegalArgumentException("a pcap file channel binds to PcapFileAddress.asSocketAddress(), not "
                    + localAddress);
        }
        PcapFileAddress address = bound.files;
        if (address.input() != null) {
            reader = openReader(address.input());
        }
        if (address.output() != null) {
            try {
                writer = PcapFileWriter.create(address.output());
            } catch (IOException e) {
                if (reader != null) {
                    reader.close();
                }
                throw new PcapFileException(address.output(), -1, "cannot create: " + e.getMessage());
            }
        }
        files = address;
    }

    private static CaptureFileReader openReader(Path input) throws IOException {
        int magic = ClassicPcapReader.magic(input);
        return magic == ClassicPcapReader.MAGIC_PCAPNG ? LibpcapFileReader.open(input) : ClassicPcapReader.open(input);
    }

    @Override
    protected void doClose() throws IOException {
        open = false;
        try {
            if (reader != null) {
                reader.close();
            }
        } finally {
            if (writer != null) {
                writer.close();
            }
        }
    }

    @Override
    protected void doBeginRead() {
        if (reader != null && !readScheduled) {
            readScheduled = true;
            eventLoop().execute(readTask);
        }
    }

    private void readBatch() {
        readScheduled = false;
        if (!isOpen()) {
            return;
        }
        deliverFrames();
        if (inputEnded) {
            unsafe().close(voidPromise());
        } else if (isOpen() && !readScheduled && config.isAutoRead()) {
            readScheduled = true;
            eventLoop().execute(readTask);
        }
    }

    /** The next record, or null at the end of the input or while pacing waits (the read is then scheduled). */
    @Override
    protected ByteBuf nextFrame(int wanted) throws IOException {
        if (!recordPending && !reader.next()) {
            inputEnded = true;
            return null;
        }
        recordPending = true;
        long wait = paceDelayNanos(reader.timestampNanos());
        if (wait > 0) {
            readScheduled = true;
            eventLoop().schedule(readTask, wait, TimeUnit.NANOSECONDS);
            return null;
        }
        ByteBuf frame = config.getAllocator().directBuffer(CaptureHeader.HEADROOM + reader.capturedLength());
        try {
            CaptureHeader.write(frame, reader.timestampNanos(), reader.originalLength());
            reader.copyFrame(frame);
        } catch (IOException | RuntimeException e) {
            frame.release();
            throw e;
        }
        recordPending = false;
        frame.readerIndex(CaptureHeader.HEADROOM);
        countReceived(frame.readableBytes());
        return frame;
    }

    /** How long to wait before delivering a frame captured at {@code timestamp}, when pacing. */
    private long paceDelayNanos(long timestamp) {
        if (!config.pace()) {
            return 0;
        }
        if (firstTimestamp < 0) {
            firstTimestamp = timestamp;
            startNanos = System.nanoTime();
            return 0;
        }
        return (timestamp - firstTimestamp) - (System.nanoTime() - startNanos);
    }

    @Override
    protected void checkWritable() {
        if (writer == null) {
            throw new UnsupportedOperationException("this pcap file channel has no output file");
        }
    }

    /** The writer copies from any buffer. */
    @Override
    protected boolean sendsInPlace(ByteBuf frame) {
        return true;
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws IOException {
        for (Object msg; (msg = in.current()) != null; ) {
            ByteBuf frame = (ByteBuf) msg;
            writer.write(frame);
            countSent(frame.readableBytes());
            in.remove();
        }
        writer.flush();
    }
}

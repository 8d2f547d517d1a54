package io.loadshare.transport.rawsocket;

import io.loadshare.core.packet.EthernetHeader;
import io.loadshare.core.packet.VirtioNetHeader;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelOutboundBuffer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A sendmmsg(2) batch (as Netty's {@code NativeDatagramPacketArray}): one {@code struct mmsghdr} per frame, each
 * gathering up to four iovecs straight from the frame's buffer: a virtio-net header (the frame's own, a zero one,
 * or a copy whose offsets count a VLAN tag), the MAC addresses, the VLAN tag, the rest of the frame. So no frame is
 * copied to be sent, tagged or not. Allocated once per channel, at bind.
 */
final class SendMessages {
    static final int MMSGHDR = 64;
    static final int MSG_IOV = 16;
    static final int MSG_IOVLEN = 24;
    static final int IOVEC = 16;
    private static final int IOVECS_PER_MESSAGE = 4;
    private static final int MAC_LENGTH = 6;

    private final MemorySegment messages;
    private final MemorySegment iovecs;
    /** Per message, a virtio-net header adjusted for an inserted VLAN tag. */
    private final MemorySegment vnetScratch;
    private final MemorySegment zeroVnetHeader;
    /** The 802.1Q tag every frame gets when {@link #vlan} is set. */
    private final MemorySegment vlanTag;
    private final int vlan;
    private final boolean vnetHeader;
    /** The frames of the batch being sent, message by message; null when none. */
    private final ByteBuf[] frames;
    private final Collector collector = new Collector();

    /**
     * @param vlan the VLAN every frame is tagged for, or 0
     * @param vnetHeader whether the socket takes a virtio-net header before each frame
     */
    SendMessages(Arena arena, int capacity, int vlan, boolean vnetHeader) {
        this.messages = arena.allocate((long) MMSGHDR * capacity, 8);
        this.iovecs = arena.allocate((long) IOVEC * IOVECS_PER_MESSAGE * capacity, 8);
        this.vnetScratch = arena.allocate((long) VirtioNetHeader.LENGTH * capacity, 8);
        this.zeroVnetHeader = arena.allocate(VirtioNetHeader.LENGTH);
        this.vlanTag = arena.allocate(EthernetHeader.VLAN_TAG_LENGTH);
        VlanTags.write(vlanTag, vlan);
        this.vlan = vlan;
        this.vnetHeader = vnetHeader;
        this.frames = new ByteBuf[capacity];
    }

    /**
     * Takes up to one batch of the flushed frames, in order, and prepares a message for each, without allocating.
     *
     * @return how many; 0 when nothing is flushed
     */
    int collect(ChannelOutboundBuffer in) throws Exception {
        collector.count = 0;
        in.forEachFlushedMessage(collector);
        for (int i = 0; i < collector.count; i++) {
            prepare(i, frames[i]);
        }
        return collector.count;
    }

    /** Frame {@code i} of the batch collected last. */
    ByteBuf frame(int i) {
        return frames[i];
    }

    /** Lets go of the batch's frames: they were sent, or stay in the outbound buffer for a later try. */
    void forget() {
        Arrays.fill(frames, null);
    }

    /** The mmsghdr array, for {@link RawSocket#sendBatch}. */
    MemorySegment segment() {
        return messages;
    }

    /**
     * Fills message {@code i}: the frame with its own virtio-net header, or a zero one, or none; on a VLAN, with the
     * tag gathered in after the MAC addresses.
     */
    private void prepare(int i, ByteBuf frame) {
        long message = (long) MMSGHDR * i;
        long iov = (long) IOVEC * IOVECS_PER_MESSAGE * i;
        boolean tag = vlan != 0 && frame.readableBytes() >= 2 * MAC_LENGTH;
        int iovCount = 0;
        int start = frame.readerIndex();
        int length = frame.readableBytes();
        if (vnetHeader) {
            if (!VirtioNetHeader.isPresent(frame)) {
                setIovec(iov + (long) IOVEC * iovCount++, zeroVnetHeader.address(), VirtioNetHeader.LENGTH);
            } else if (!tag) {
                start -= VirtioNetHeader.LENGTH;
                length += VirtioNetHeader.LENGTH;
            } else {
                // A copy whose offsets count the tag; the frame itself stays as it is, should this send be retried.
                MemorySegment header = vnetScratch.asSlice((long) VirtioNetHeader.LENGTH * i, VirtioNetHeader.LENGTH);
                MemorySegment.copy(DirectMemory.ALL, DirectMemory.addressOf(frame, start - VirtioNetHeader.LENGTH),
                        header, 0, VirtioNetHeader.LENGTH);
                VlanTags.shiftVnetOffsets(header);
                setIovec(iov + (long) IOVEC * iovCount++, header.address(), VirtioNetHeader.LENGTH);
            }
        }
        if (tag) {
            setIovec(iov + (long) IOVEC * iovCount++, DirectMemory.addressOf(frame, start), 2 * MAC_LENGTH);
            setIovec(iov + (long) IOVEC * iovCount++, vlanTag.address(), EthernetHeader.VLAN_TAG_LENGTH);
            setIovec(iov + (long) IOVEC * iovCount++, DirectMemory.addressOf(frame, start + 2 * MAC_LENGTH),
                    length - 2 * MAC_LENGTH);
        } else {
            setIovec(iov + (long) IOVEC * iovCount++, DirectMemory.addressOf(frame, start), length);
        }
        // The other mmsghdr fields (name, control, flags) stay zero from allocation; the kernel writes msg_len.
        messages.set(ValueLayout.JAVA_LONG, message + MSG_IOV, iovecs.address() + iov);
        messages.set(ValueLayout.JAVA_LONG, message + MSG_IOVLEN, iovCount);
    }

    /** Collects frames into {@link #frames} without allocating. */
    private final class Collector implements ChannelOutboundBuffer.MessageProcessor {
        int count;

        @Override
        public boolean processMessage(Object msg) {
            frames[count++] = (ByteBuf) msg;
            return count < frames.length;
        }
    }

    private void setIovec(long at, long address, int length) {
        iovecs.set(ValueLayout.JAVA_LONG, at, address);
        iovecs.set(ValueLayout.JAVA_LONG, at + 8, length);
    }
}

package io.loadshare.transport.rawsocket;

import io.loadshare.core.packet.EthernetHeader;
import io.loadshare.core.packet.VirtioNetHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.lang.foreign.MemorySegment;

/** How a received frame leaves the kernel's memory (a ring frame, or a recvmmsg slot): copied once, tag restored. */
final class FrameCopy {
    private static final int MAC_LENGTH = 6;

    private FrameCopy() {
    }

    /**
     * The one copy of a frame: from the ring or the scratch area into a pooled buffer of its size. A VLAN tag the
     * kernel took off goes back in after the MAC addresses, so the pipeline sees, and forwards, the frame as it was
     * on the wire; a virtio-net header's offsets move with it.
     */
    static ByteBuf of(ByteBufAllocator allocator, MemorySegment memory, ByteBuf source, long at, int vnet,
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
                VlanTags.shiftVnetOffsets(MemorySegment.ofAddress(DirectMemory.addressOf(frame,
                        headroom - VirtioNetHeader.LENGTH)).reinterpret(VirtioNetHeader.LENGTH));
            }
        }
        frame.readerIndex(headroom);
        return frame;
    }

    private static void copyInto(ByteBuf frame, MemorySegment memory, ByteBuf source, long at, int length) {
        if (frame.hasMemoryAddress()) {
            // Netty's own copy paths build a temporary NIO buffer per new ByteBuf; a raw copy allocates nothing.
            MemorySegment.copy(memory, at, DirectMemory.ALL, frame.memoryAddress() + frame.writerIndex(), length);
            frame.writerIndex(frame.writerIndex() + length);
        } else {
            frame.writeBytes(source, (int) at, length);
        }
    }

}

package io.loadshare.transport.rawsocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A recvmmsg(2) batch and the frames it left to hand out: one {@code struct mmsghdr} per slot of a scratch area,
 * each with one iovec over its slot and a PACKET_AUXDATA control message, where the kernel says which VLAN tag it
 * took off the frame. Allocated once per channel, at bind; frames are copied out of a slot before the next batch.
 */
final class ReceiveMessages {
    /** CMSG_SPACE(sizeof(struct tpacket_auxdata)): a 16-byte cmsghdr and 20 bytes of data, aligned to 8. */
    private static final int AUXDATA_SPACE = 40;
    private static final int MSG_CONTROL = 32;
    private static final int MSG_CONTROLLEN = 40;
    private static final int MSG_LEN = 56;
    private static final int CMSG_LEVEL = 8;
    private static final int CMSG_TYPE = 12;
    private static final int AUXDATA_STATUS = 16;
    private static final int AUXDATA_VLAN_TCI = 32;
    private static final int AUXDATA_VLAN_TPID = 34;

    private final MemorySegment messages;
    private final MemorySegment control;
    private final MemorySegment scratch;
    /** The scratch area as a buffer, for copying into buffers that expose no address. */
    private final ByteBuf scratchSource;
    private final long slotSize;
    private final int capacity;
    private int received;
    private int next;
    /** The last batch came back short: the socket had no more, so the read loop can stop without asking again. */
    private boolean drained;

    /** @param slotSize bytes per slot: the largest frame taken, with its virtio-net header, and one more */
    ReceiveMessages(Arena arena, int capacity, long slotSize) {
        this.capacity = capacity;
        this.slotSize = slotSize;
        this.scratch = arena.allocate(slotSize * capacity, 64);
        this.messages = arena.allocate((long) SendMessages.MMSGHDR * capacity, 8);
        this.control = arena.allocate((long) AUXDATA_SPACE * capacity, 8);
        MemorySegment iovecs = arena.allocate((long) SendMessages.IOVEC * capacity, 8);
        for (int i = 0; i < capacity; i++) {
            long message = (long) SendMessages.MMSGHDR * i;
            messages.set(ValueLayout.JAVA_LONG, message + MSG_CONTROL, control.address() + (long) AUXDATA_SPACE * i);
            iovecs.set(ValueLayout.JAVA_LONG, (long) SendMessages.IOVEC * i, scratch.address() + slotSize * i);
            iovecs.set(ValueLayout.JAVA_LONG, (long) SendMessages.IOVEC * i + 8, slotSize);
            messages.set(ValueLayout.JAVA_LONG, message + SendMessages.MSG_IOV,
                    iovecs.address() + (long) SendMessages.IOVEC * i);
            messages.set(ValueLayout.JAVA_LONG, message + SendMessages.MSG_IOVLEN, 1);
        }
        this.scratchSource = Unpooled.wrappedBuffer(scratch.asByteBuffer());
    }

    /** Whether a frame of the last batch is left, or the socket may hold more (not known to be drained). */
    boolean hasLeft() {
        return next < received;
    }

    boolean drained() {
        return drained;
    }

    /** The socket may hold frames again (a wake-up, or a ring frame too big for its slot). */
    void mayHoldMore() {
        drained = false;
    }

    /**
     * Receives up to {@code wanted} frames in one call.
     *
     * @return false when the socket had none
     */
    boolean fill(RawSocket socket, int wanted) throws RawSocketException {
        int want = Math.min(wanted, capacity);
        for (int i = 0; i < want; i++) {
            // The kernel writes back the length it used; give each message its whole space again.
            messages.set(ValueLayout.JAVA_LONG, (long) SendMessages.MMSGHDR * i + MSG_CONTROLLEN, AUXDATA_SPACE);
        }
        int n = socket.receiveBatch(messages, want);
        if (n < 0) {
            drained = true;
            return false;
        }
        received = n;
        next = 0;
        drained = n < want;
        return true;
    }

    /** The index of the next frame of the batch; its bytes start at {@link #offset}. */
    int next() {
        return next++;
    }

    /** The bytes message {@code i} received (the frame and any virtio-net header). */
    long length(int i) {
        return messages.get(ValueLayout.JAVA_INT, (long) SendMessages.MMSGHDR * i + MSG_LEN) & 0xFFFF_FFFFL;
    }

    long slotSize() {
        return slotSize;
    }

    long offset(int i) {
        return slotSize * i;
    }

    MemorySegment scratch() {
        return scratch;
    }

    ByteBuf scratchSource() {
        return scratchSource;
    }

    /** Releases the scratch area's buffer view; the memory itself belongs to the channel's arena. */
    void release() {
        scratchSource.release();
    }

    /** The 802.1Q tag PACKET_AUXDATA reports for message {@code i}, as {@code tpid << 16 | tci}, or -1. */
    int vlanTag(int i) {
        long at = (long) AUXDATA_SPACE * i;
        if (messages.get(ValueLayout.JAVA_LONG, (long) SendMessages.MMSGHDR * i + MSG_CONTROLLEN) < AUXDATA_SPACE - 4
                || control.get(ValueLayout.JAVA_INT, at + CMSG_LEVEL) != Linux.SOL_PACKET
                || control.get(ValueLayout.JAVA_INT, at + CMSG_TYPE) != Linux.PACKET_AUXDATA) {
            return -1;
        }
        return VlanTags.fromStatus(control.get(ValueLayout.JAVA_INT, at + AUXDATA_STATUS),
                control.get(ValueLayout.JAVA_SHORT, at + AUXDATA_VLAN_TCI) & 0xFFFF,
                control.get(ValueLayout.JAVA_SHORT, at + AUXDATA_VLAN_TPID) & 0xFFFF);
    }
}

package io.loadshare.transport.rawsocket;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A TPACKET_V3 receive ring (linux/if_packet.h): the kernel fills blocks of frames in memory shared with this
 * process, so a read costs no system call per frame. A block belongs to user space while its status has
 * TP_STATUS_USER, and goes back to the kernel when we store TP_STATUS_KERNEL; both with release/acquire
 * ordering. A block is handed over when full or when {@code retire_blk_tov} milliseconds pass.
 *
 * <p>The frames' bytes are valid only until their block is returned, so the channel copies each once into a
 * pooled buffer.
 */
final class RxRing implements AutoCloseable {
    private static final int TP_STATUS_KERNEL = 0;
    private static final int TP_STATUS_USER = 1;
    /** tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1. */
    private static final int BLOCK_STATUS = 8;
    private static final int BLOCK_PACKETS = 12;
    private static final int BLOCK_FIRST = 16;
    /** tpacket3_hdr fields. */
    private static final int FRAME_NEXT = 0;
    private static final int FRAME_SNAPLEN = 12;
    private static final int FRAME_LEN = 16;
    private static final int FRAME_STATUS = 20;
    private static final int FRAME_MAC = 24;
    private static final int FRAME_VLAN_TCI = 32;
    private static final int FRAME_VLAN_TPID = 36;
    private static final VarHandle STATUS = ValueLayout.JAVA_INT.varHandle();

    private final RawSocket socket;
    private final MemorySegment ring;
    private final int blockSize;
    private final int blockCount;
    private int block;
    private boolean held;
    private int left;
    private long frame;

    private RxRing(RawSocket socket, MemorySegment ring, int blockSize, int blockCount) {
        this.socket = socket;
        this.ring = ring;
        this.blockSize = blockSize;
        this.blockCount = blockCount;
    }

    /** Switches the socket to TPACKET_V3 and maps a ring of {@code blockCount} blocks. */
    static RxRing attach(RawSocket socket, int blockSize, int blockCount, int frameSize, int blockTimeoutMillis)
            throws RawSocketException {
        socket.setInt(Linux.SOL_PACKET, Linux.PACKET_VERSION, Linux.TPACKET_V3, "PACKET_VERSION");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment request = arena.allocate(7 * 4, 4);
            request.set(ValueLayout.JAVA_INT, 0, blockSize);
            request.set(ValueLayout.JAVA_INT, 4, blockCount);
            request.set(ValueLayout.JAVA_INT, 8, frameSize);
            request.set(ValueLayout.JAVA_INT, 12, (int) ((long) blockSize * blockCount / frameSize));
            request.set(ValueLayout.JAVA_INT, 16, blockTimeoutMillis);
            socket.setOption(Linux.SOL_PACKET, Linux.PACKET_RX_RING, request, "PACKET_RX_RING");
        }
        return new RxRing(socket, socket.map((long) blockSize * blockCount), blockSize, blockCount);
    }

    /**
     * Makes the oldest unconsumed frame current, taking the next block from the kernel if needed.
     *
     * @return false when no frame is waiting
     */
    boolean next() {
        while (!held) {
            long base = (long) block * blockSize;
            // A block retired by its timer also carries TP_STATUS_BLK_TMO, so test the bit, not the value.
            if (((int) STATUS.getAcquire(ring, base + BLOCK_STATUS) & TP_STATUS_USER) == 0) {
                return false;
            }
            left = ring.get(ValueLayout.JAVA_INT, base + BLOCK_PACKETS);
            frame = base + ring.get(ValueLayout.JAVA_INT, base + BLOCK_FIRST);
            held = true;
            if (left == 0) {
                release();
            }
        }
        return true;
    }

    /** The current frame is done with; moves past it, returning its block when it was the last. */
    void consumed() {
        if (--left == 0) {
            release();
        } else {
            frame += ring.get(ValueLayout.JAVA_INT, frame + FRAME_NEXT);
        }
    }

    private void release() {
        STATUS.setRelease(ring, (long) block * blockSize + BLOCK_STATUS, TP_STATUS_KERNEL);
        block = block + 1 == blockCount ? 0 : block + 1;
        held = false;
    }

    /** Absolute ring offset of the current frame's Ethernet header. */
    long macOffset() {
        return frame + (ring.get(ValueLayout.JAVA_SHORT, frame + FRAME_MAC) & 0xFFFF);
    }

    /** Bytes of the frame present in the ring. */
    /** The 802.1Q tag the kernel took off the current frame, as {@code tpid << 16 | tci}, or -1. */
    int vlanTag() {
        return RawSocketChannel.vlanTag(ring.get(ValueLayout.JAVA_INT, frame + FRAME_STATUS),
                ring.get(ValueLayout.JAVA_INT, frame + FRAME_VLAN_TCI) & 0xFFFF,
                ring.get(ValueLayout.JAVA_SHORT, frame + FRAME_VLAN_TPID) & 0xFFFF);
    }

    int capturedLength() {
        return ring.get(ValueLayout.JAVA_INT, frame + FRAME_SNAPLEN);
    }

    /** The frame's length on the wire; larger than {@link #capturedLength} when it did not fit. */
    int wireLength() {
        return ring.get(ValueLayout.JAVA_INT, frame + FRAME_LEN);
    }

    MemorySegment memory() {
        return ring;
    }

    @Override
    public void close() {
        socket.unmap(ring);
    }
}

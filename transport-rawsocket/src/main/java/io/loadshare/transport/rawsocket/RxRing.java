package io.loadshare.transport.rawsocket;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A receive ring (linux/if_packet.h): the kernel writes frames into memory shared with this process, so a read
 * costs no system call. A frame (TPACKET_V2) or a block of frames (TPACKET_V3) belongs to user space while its
 * status has TP_STATUS_USER, and goes back to the kernel when we store TP_STATUS_KERNEL; both with
 * release/acquire ordering.
 *
 * <p>The frames' bytes are valid only until they go back, so the channel copies each once into a pooled buffer.
 */
abstract sealed class RxRing implements AutoCloseable permits RxRing.FrameRing, RxRing.BlockRing {
    static final int TP_STATUS_KERNEL = 0;
    static final int TP_STATUS_USER = 1;
    /** TPACKET_V2: the frame did not fit its slot; the slot holds its head, the socket's queue the whole of it. */
    static final int TP_STATUS_COPY = 1 << 1;
    static final VarHandle STATUS = ValueLayout.JAVA_INT.varHandle();

    private final RawSocket socket;
    private final ByteBuf source;
    final MemorySegment ring;
    private final int fieldStatus;
    private final int fieldLength;
    private final int fieldSnaplen;
    private final int fieldMac;
    private final int fieldVlanTci;
    private final int fieldVlanTpid;
    /** Ring offset of the current frame's header. */
    long frame;

    private RxRing(RawSocket socket, MemorySegment ring, int status, int length, int snaplen, int mac, int vlanTci,
            int vlanTpid) {
        this.socket = socket;
        this.ring = ring;
        this.source = Unpooled.wrappedBuffer(ring.asByteBuffer());
        this.fieldStatus = status;
        this.fieldLength = length;
        this.fieldSnaplen = snaplen;
        this.fieldMac = mac;
        this.fieldVlanTci = vlanTci;
        this.fieldVlanTpid = vlanTpid;
    }

    /** Switches the socket to the settings' TPACKET version and maps its ring. */
    static RxRing attach(RawSocket socket, RingSettings settings) throws RawSocketException {
        boolean blocks = settings.version() == 3;
        socket.setInt(Linux.SOL_PACKET, Linux.PACKET_VERSION, blocks ? Linux.TPACKET_V3 : Linux.TPACKET_V2,
                "PACKET_VERSION");
        if (!blocks) {
            // A frame too big for a slot (a GSO super-frame) is queued whole besides its truncated slot.
            socket.setInt(Linux.SOL_PACKET, Linux.PACKET_COPY_THRESH, 1, "PACKET_COPY_THRESH");
        }
        int framesPerBlock = settings.blockSize() / settings.frameSize();
        try (Arena arena = Arena.ofConfined()) {
            // tpacket_req3; TPACKET_V2 reads only its first four fields (tpacket_req).
            MemorySegment request = arena.allocate(7 * 4, 4);
            request.set(ValueLayout.JAVA_INT, 0, settings.blockSize());
            request.set(ValueLayout.JAVA_INT, 4, settings.blockCount());
            request.set(ValueLayout.JAVA_INT, 8, settings.frameSize());
            request.set(ValueLayout.JAVA_INT, 12, framesPerBlock * settings.blockCount());
            request.set(ValueLayout.JAVA_INT, 16, settings.blockTimeoutMillis());
            socket.setOption(Linux.SOL_PACKET, Linux.PACKET_RX_RING, blocks ? request : request.asSlice(0, 4 * 4),
                    "PACKET_RX_RING");
        }
        MemorySegment memory = socket.map((long) settings.blockSize() * settings.blockCount());
        return blocks ? new BlockRing(socket, memory, settings.blockSize(), settings.blockCount())
                : new FrameRing(socket, memory, settings.blockSize(), settings.frameSize(), framesPerBlock
                        * settings.blockCount());
    }

    /**
     * Makes the oldest unconsumed frame current, taking it (or its block) from the kernel if needed.
     *
     * @return false when no frame is waiting
     */
    abstract boolean next();

    /** The current frame is done with; moves past it, giving back what the kernel may now reuse. */
    abstract void consumed();

    /**
     * Whether the current frame is only the head of one too big for its slot, the whole of which waits in the
     * socket's receive queue (TPACKET_V2 with PACKET_COPY_THRESH).
     */
    boolean copied() {
        return false;
    }

    /** Absolute ring offset of the current frame's Ethernet header. */
    final long macOffset() {
        return frame + (ring.get(ValueLayout.JAVA_SHORT, frame + fieldMac) & 0xFFFF);
    }

    /** The 802.1Q tag the kernel took off the current frame, as {@code tpid << 16 | tci}, or -1. */
    final int vlanTag() {
        return VlanTags.fromStatus(ring.get(ValueLayout.JAVA_INT, frame + fieldStatus),
                ring.get(ValueLayout.JAVA_SHORT, frame + fieldVlanTci) & 0xFFFF,
                ring.get(ValueLayout.JAVA_SHORT, frame + fieldVlanTpid) & 0xFFFF);
    }

    /** Bytes of the frame present in the ring. */
    final int capturedLength() {
        return ring.get(ValueLayout.JAVA_INT, frame + fieldSnaplen);
    }

    /** The frame's length on the wire; larger than {@link #capturedLength} when it did not fit. */
    final int wireLength() {
        return ring.get(ValueLayout.JAVA_INT, frame + fieldLength);
    }

    final MemorySegment memory() {
        return ring;
    }

    /** The ring's memory as a buffer, for copying into buffers that expose no address. */
    final ByteBuf source() {
        return source;
    }

    @Override
    public final void close() {
        source.release();
        socket.unmap(ring);
    }

    /**
     * TPACKET_V2: a slot per frame, each handed over as soon as it is written and the reader woken for it, so a
     * frame waits for nothing; the wake-up per frame is what a light load needs anyway.
     */
    static final class FrameRing extends RxRing {
        /** tpacket2_hdr fields. */
        private static final int STATUS_FIELD = 0;

        private final int blockSize;
        private final int frameSize;
        private final int framesPerBlock;
        private final int frameCount;
        private int index;
        /** The current frame's place in its block, and where that block starts: no division per frame. */
        private int inBlock;
        private long blockStart;
        private boolean held;

        private FrameRing(RawSocket socket, MemorySegment ring, int blockSize, int frameSize, int frameCount) {
            super(socket, ring, STATUS_FIELD, 4, 8, 12, 24, 26);
            this.blockSize = blockSize;
            this.frameSize = frameSize;
            this.framesPerBlock = blockSize / frameSize;
            this.frameCount = frameCount;
            this.frame = 0;
        }

        @Override
        boolean next() {
            if (!held) {
                if (((int) STATUS.getAcquire(ring, frame + STATUS_FIELD) & TP_STATUS_USER) == 0) {
                    return false;
                }
                held = true;
            }
            return true;
        }

        @Override
        void consumed() {
            STATUS.setRelease(ring, frame + STATUS_FIELD, TP_STATUS_KERNEL);
            if (++index == frameCount) {
                index = 0;
                inBlock = 0;
                blockStart = 0;
            } else if (++inBlock == framesPerBlock) {
                inBlock = 0;
                blockStart += blockSize;
            }
            frame = blockStart + (long) inBlock * frameSize;
            held = false;
        }

        @Override
        boolean copied() {
            return (ring.get(ValueLayout.JAVA_INT, frame + STATUS_FIELD) & TP_STATUS_COPY) != 0;
        }
    }

    /**
     * TPACKET_V3: blocks of frames, each handed over when full or when {@code retire_blk_tov} milliseconds pass, so
     * one wake-up brings many frames under load, and a light load waits up to the timeout.
     */
    static final class BlockRing extends RxRing {
        /** tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1. */
        private static final int BLOCK_STATUS = 8;
        private static final int BLOCK_PACKETS = 12;
        private static final int BLOCK_FIRST = 16;
        /** tpacket3_hdr: tp_next_offset. */
        private static final int FRAME_NEXT = 0;

        private final int blockSize;
        private final int blockCount;
        private int block;
        private boolean held;
        private int left;

        private BlockRing(RawSocket socket, MemorySegment ring, int blockSize, int blockCount) {
            super(socket, ring, 20, 16, 12, 24, 32, 36);
            this.blockSize = blockSize;
            this.blockCount = blockCount;
        }

        @Override
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

        @Override
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
    }
}

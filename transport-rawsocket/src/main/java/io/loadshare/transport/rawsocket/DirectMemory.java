package io.loadshare.transport.rawsocket;

import io.netty.buffer.ByteBuf;
import java.lang.foreign.MemorySegment;

/** Raw addresses of direct buffers, for gathering and copying frames without a segment object per frame. */
final class DirectMemory {
    /** All of the address space. */
    static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private DirectMemory() {
    }

    /** The address of byte {@code index} of a direct buffer. */
    static long addressOf(ByteBuf buf, int index) {
        if (buf.hasMemoryAddress()) {
            return buf.memoryAddress() + index;
        }
        return MemorySegment.ofBuffer(buf.internalNioBuffer(index, 1)).address();
    }
}

package io.loadshare.core.packet;

import io.netty.buffer.ByteBuf;

/**
 * A reusable flyweight over one header inside a {@link ByteBuf}. A view owns nothing: it reads and writes the
 * buffer at absolute indexes, never moves its reader or writer index, and is valid only while the buffer is.
 */
public abstract class HeaderView {
    protected ByteBuf buf;
    protected int offset;

    /** Points this view at the header starting at {@code offset}. */
    public void wrap(ByteBuf buf, int offset) {
        this.buf = buf;
        this.offset = offset;
    }

    /** Drops the reference to the buffer, so a view never keeps a released buffer reachable. */
    public void clear() {
        this.buf = null;
        this.offset = 0;
    }

    /** The absolute index of the first byte of this header. */
    public int offset() {
        return offset;
    }

    /** The buffer this view reads. */
    public ByteBuf buffer() {
        return buf;
    }
}

package io.loadshare.sync;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.security.GeneralSecurityException;
import io.netty.buffer.PooledByteBufAllocator;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;

/**
 * The sync's messages on a TCP link from a sender to a receiver (docs/scale-out.md#the-wire-format).
 *
 * <pre>
 * u32 length of what follows | u8 version | u8 type | u16 0 | ...
 *   CHALLENGE (receiver to sender, once, first): 16-byte nonce
 *   any other type: u64 sequence | payload | 16-byte MAC
 * </pre>
 * The MAC is HMAC-SHA256 (RFC 2104) under the tier's key, cut to 16 bytes (RFC 2104 section 5), over the
 * receiver's nonce and everything from the version byte to the end of the payload. The nonce is fresh for each
 * link, and the sequence numbers of a link start at 1 and rise by one, so a message recorded on one link is
 * refused on any other, and a message repeated on its own link is refused too.
 */
final class SyncProtocol {
    static final int VERSION = 1;
    static final int CHALLENGE = 0;
    /**
     * The sender's first message: who it is comes from the link's source address, which the MAC vouches for; its
     * payload lists the sender's own source-NAT addresses (u16 count, u32 each), which a survivor adopts if it dies.
     */
    static final int HELLO = 1;
    /** A payload of {@link SessionRecords}. */
    static final int SESSIONS = 2;
    /** The sender's full table has been sent: the receiver is synced with it. */
    static final int BULK_DONE = 3;
    /** Nothing else to send: the sender is alive ({@code peer-timeout}). */
    static final int HEARTBEAT = 4;
    static final int NONCE_BYTES = 16;
    static final int MAC_BYTES = 16;
    /** Version, type, reserved, sequence. */
    static final int HEADER_BYTES = 12;
    static final int MAX_FRAME = 1 << 20;

    private SyncProtocol() {
    }

    static ByteBuf challenge(ByteBufAllocator alloc, byte[] nonce) {
        ByteBuf frame = alloc.buffer(8 + NONCE_BYTES);
        frame.writeInt(4 + NONCE_BYTES).writeByte(VERSION).writeByte(CHALLENGE).writeShort(0).writeBytes(nonce);
        return frame;
    }

    /**
     * Builds and checks authenticated frames with one MAC instance and one scratch array, allocating nothing on the
     * heap but pooled buffers; one per thread.
     */
    static final class Signer {
        private final Mac mac;
        private final byte[] digest = new byte[32];

        Signer(byte[] key) {
            this.mac = mac(key);
        }

        /** A whole authenticated frame around {@code payload}, which stays the caller's; a pooled heap buffer. */
        ByteBuf frame(byte[] nonce, int type, long sequence, ByteBuf payload) {
            int length = HEADER_BYTES + payload.readableBytes() + MAC_BYTES;
            ByteBuf frame = PooledByteBufAllocator.DEFAULT.heapBuffer(4 + length);
            frame.writeInt(length).writeByte(VERSION).writeByte(type).writeShort(0).writeLong(sequence);
            frame.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
            sign(nonce, frame, 4, length - MAC_BYTES);
            frame.writeBytes(digest, 0, MAC_BYTES);
            return frame;
        }

        /** Whether the last {@value #MAC_BYTES} bytes of a frame (length prefix stripped) authenticate the rest. */
        boolean verify(byte[] nonce, ByteBuf frame) {
            int signed = frame.readableBytes() - MAC_BYTES;
            sign(nonce, frame, frame.readerIndex(), signed);
            // Constant time, as MessageDigest.isEqual.
            int difference = 0;
            for (int i = 0; i < MAC_BYTES; i++) {
                difference |= digest[i] ^ frame.getByte(frame.readerIndex() + signed + i);
            }
            return difference == 0;
        }

        private void sign(byte[] nonce, ByteBuf bytes, int from, int length) {
            mac.update(nonce);
            if (bytes.hasArray()) {
                mac.update(bytes.array(), bytes.arrayOffset() + from, length);
            } else {
                mac.update(bytes.nioBuffer(from, length));
            }
            try {
                mac.doFinal(digest, 0);
            } catch (ShortBufferException e) {
                throw new IllegalStateException("HMAC-SHA256 gives 32 bytes", e);
            }
        }
    }

    static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }
}

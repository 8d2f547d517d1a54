package io.loadshare.sync;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
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

    /** A whole authenticated frame around {@code payload}, which stays the caller's. */
    static ByteBuf frame(ByteBufAllocator alloc, Mac mac, byte[] nonce, int type, long sequence, ByteBuf payload) {
        int length = HEADER_BYTES + payload.readableBytes() + MAC_BYTES;
        ByteBuf frame = alloc.buffer(4 + length);
        frame.writeInt(length).writeByte(VERSION).writeByte(type).writeShort(0).writeLong(sequence);
        frame.writeBytes(payload, payload.readerIndex(), payload.readableBytes());
        frame.writeBytes(sign(mac, nonce, frame, 4, length - MAC_BYTES));
        return frame;
    }

    /** Whether the last {@value #MAC_BYTES} bytes of a frame (length prefix stripped) authenticate the rest. */
    static boolean verify(Mac mac, byte[] nonce, ByteBuf frame) {
        int signed = frame.readableBytes() - MAC_BYTES;
        byte[] expected = sign(mac, nonce, frame, frame.readerIndex(), signed);
        byte[] got = new byte[MAC_BYTES];
        frame.getBytes(frame.readerIndex() + signed, got);
        return MessageDigest.isEqual(expected, got);
    }

    private static byte[] sign(Mac mac, byte[] nonce, ByteBuf bytes, int from, int length) {
        mac.update(nonce);
        if (bytes.hasArray()) {
            mac.update(bytes.array(), bytes.arrayOffset() + from, length);
        } else {
            mac.update(bytes.nioBuffer(from, length));
        }
        byte[] full = mac.doFinal();
        byte[] cut = new byte[MAC_BYTES];
        System.arraycopy(full, 0, cut, 0, MAC_BYTES);
        return cut;
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

package io.loadshare.transport.rawsocket;

/**
 * A receive ring, or {@link #DISABLED}.
 *
 * @param version 2 (TPACKET_V2: a slot per frame, handed over at once) or 3 (TPACKET_V3: blocks of frames,
 *     handed over when full or after the block timeout)
 * @param blockSize bytes per block; a multiple of the page size
 * @param blockCount blocks in the ring
 * @param frameSize bytes per slot (version 2), or the nominal frame size the kernel divides blocks by (version 3);
 *     a multiple of 16
 * @param blockTimeoutMillis version 3: a block that is not full goes to user space after this long; version 2: 0
 */
public record RingSettings(int version, int blockSize, int blockCount, int frameSize, int blockTimeoutMillis) {
    public static final RingSettings DISABLED = new RingSettings(0, 0, 0, 0, 0);
    private static final int PAGE = 4096;

    public RingSettings {
        if (version != 0) {
            if (version != 2 && version != 3) {
                throw new IllegalArgumentException("ring version must be 2 (TPACKET_V2) or 3 (TPACKET_V3), was "
                        + version);
            }
            if (blockSize < PAGE || blockSize % PAGE != 0) {
                throw new IllegalArgumentException("ring block-size must be a positive multiple of " + PAGE
                        + " bytes, was " + blockSize);
            }
            if (blockCount < 1) {
                throw new IllegalArgumentException("ring block-count must be at least 1, was " + blockCount);
            }
            if (frameSize < 128 || frameSize % 16 != 0 || frameSize > blockSize) {
                throw new IllegalArgumentException("ring frame-size must be a multiple of 16 from 128 to block-size,"
                        + " was " + frameSize);
            }
            if (version == 3 && blockTimeoutMillis < 1) {
                throw new IllegalArgumentException("ring block-timeout must be at least 1 ms, was " + blockTimeoutMillis);
            }
        }
    }

    /** A TPACKET_V2 ring of {@code blockCount} blocks, each cut into slots of {@code frameSize} bytes. */
    public static RingSettings frames(int blockSize, int blockCount, int frameSize) {
        return new RingSettings(2, blockSize, blockCount, frameSize, 0);
    }

    /** A TPACKET_V3 ring of {@code blockCount} blocks, each handed over when full or after the timeout. */
    public static RingSettings blocks(int blockSize, int blockCount, int frameSize, int blockTimeoutMillis) {
        return new RingSettings(3, blockSize, blockCount, frameSize, blockTimeoutMillis);
    }

    public boolean enabled() {
        return version != 0;
    }
}

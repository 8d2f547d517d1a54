package io.loadshare.transport.rawsocket;

/**
 * The TPACKET_V3 receive ring, or {@link #DISABLED}.
 *
 * @param blockSize bytes per block; a multiple of the page size, larger than the largest frame
 * @param blockCount blocks in the ring
 * @param frameSize the nominal frame size the kernel divides blocks by (a multiple of 16)
 * @param blockTimeoutMillis a block that is not full goes to user space after this long
 */
public record RingSettings(int blockSize, int blockCount, int frameSize, int blockTimeoutMillis) {
    public static final RingSettings DISABLED = new RingSettings(0, 0, 0, 0);
    private static final int PAGE = 4096;

    public RingSettings {
        boolean disabled = blockSize == 0 && blockCount == 0 && frameSize == 0 && blockTimeoutMillis == 0;
        if (!disabled) {
            if (blockSize < PAGE || blockSize % PAGE != 0) {
                throw new IllegalArgumentException("ring block-size must be a positive multiple of " + PAGE
                        + " bytes, was " + blockSize);
            }
            if (blockCount < 1) {
                throw new IllegalArgumentException("ring block-count must be at least 1, was " + blockCount);
            }
            if (frameSize < 64 || frameSize % 16 != 0 || frameSize > blockSize) {
                throw new IllegalArgumentException("ring frame-size must be a multiple of 16 from 64 to block-size, was "
                        + frameSize);
            }
            if (blockTimeoutMillis < 1) {
                throw new IllegalArgumentException("ring block-timeout must be at least 1 ms, was " + blockTimeoutMillis);
            }
        }
    }

    public boolean enabled() {
        return blockSize > 0;
    }
}

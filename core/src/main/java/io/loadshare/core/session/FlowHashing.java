package io.loadshare.core.session;

/** The flow hash behind {@link Flow#flowHash()}: two 64-bit words through the murmur3 finaliser. */
final class FlowHashing {
    private FlowHashing() {
    }

    static int hash(int protocol, int sourceAddress, int sourcePort, int destinationAddress, int destinationPort) {
        long addresses = ((long) sourceAddress << 32) | (destinationAddress & 0xFFFF_FFFFL);
        long ports = ((long) protocol << 32) | ((long) (sourcePort & 0xFFFF) << 16) | (destinationPort & 0xFFFF);
        return (int) mix(addresses * 0x9E37_79B9_7F4A_7C15L + mix(ports));
    }

    public static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51_AFD7_ED55_8CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CE_B9FE_1A85_EC53L;
        return z ^ (z >>> 33);
    }
}

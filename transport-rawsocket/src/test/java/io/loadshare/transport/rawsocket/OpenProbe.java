package io.loadshare.transport.rawsocket;

/** Run in a child JVM without CAP_NET_RAW: prints what opening a channel says. */
public final class OpenProbe {
    private OpenProbe() {
    }

    public static void main(String[] args) {
        try {
            new RawSocketChannel();
            System.out.println("opened");
        } catch (RuntimeException e) {
            System.out.println(e.getMessage());
        }
    }
}

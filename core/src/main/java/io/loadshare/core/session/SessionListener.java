package io.loadshare.core.session;

/** Told, on the table's event loop, about every session that leaves the table. */
@FunctionalInterface
public interface SessionListener {
    /**
     * @param natPort the session's translated port, or 0 when its mode translates none
     * @param natAddress the index of the session's source-NAT address ({@link SessionTable#natAddress})
     */
    void sessionClosed(int serviceIndex, int backendId, int natPort, int natAddress, SessionEnd end);
}
